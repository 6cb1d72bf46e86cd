#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

#[doc(inline)]
pub use flatstream_core::{
    APPARENT_SIZE_FACTOR, AdaptiveWatermark, AfterDamage, Checksum, Clock, Decoded, Deframer,
    Error, ErrorKind, FrameCursor, FrameSpan, Framer, HEADER_FILE_IDENTIFIER, ManualClock,
    MemoryPolicy, Messages, MonotonicClock, Position, Positioned, ReadBuffer, RecoverOptions,
    Recovery, Region, Result, RootType, Salvage, ShrinkAbove, SliceReader, Step, StreamHeader,
    StreamReader, StreamSerialize, StreamWriter, Tail, TypedMessages, TypedSlice, decode,
    encode_header_checked, ensure_regular_file, finished_payload, flatbuffers, recover,
    recover_file_for_append, recover_file_for_append_with, recover_slice, recover_with, root_type,
    verifier_options_for, verify_root, wire,
};
#[doc(inline)]
pub use flatstream_framing::{
    Bounded, ChecksumDeframer, ChecksumFramer, DefaultDeframer, DefaultFramer, DeframerExt,
    FramerExt, NoValidator, Observed, RootTableValidator, SizeValidator, TypedValidator, Validated,
    Validator,
};

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

#[cfg(feature = "mmap")]
#[cfg_attr(docsrs, doc(cfg(feature = "mmap")))]
#[doc(inline)]
pub use flatstream_core::MmapStream;

/// The project README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ProjectReadme;
