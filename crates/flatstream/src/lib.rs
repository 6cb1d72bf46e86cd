#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

#[doc(inline)]
pub use flatstream_core::{
    Checksum, Decoded, Deframer, Error, ErrorKind, Framer, Messages, Position, Result,
    StreamReader, StreamSerialize, StreamWriter, finished_payload, flatbuffers, wire,
};
#[doc(inline)]
pub use flatstream_framing::{ChecksumDeframer, ChecksumFramer, DefaultDeframer, DefaultFramer};

#[cfg(feature = "xxhash")]
#[cfg_attr(docsrs, doc(cfg(feature = "xxhash")))]
#[doc(inline)]
pub use flatstream_checksum_xxhash::XxHash64;

#[cfg(feature = "crc32")]
#[cfg_attr(docsrs, doc(cfg(feature = "crc32")))]
#[doc(inline)]
pub use flatstream_checksum_crc32::Crc32;

#[cfg(feature = "crc16")]
#[cfg_attr(docsrs, doc(cfg(feature = "crc16")))]
#[doc(inline)]
pub use flatstream_checksum_crc16::Crc16;

/// The project README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ProjectReadme;
