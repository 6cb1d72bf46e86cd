#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod checksum;
mod cursor;
mod deframer;
mod encode;
mod error;
mod framer;
mod header;
mod memory;
mod recovery;
mod serialize;
mod slice;
mod typed;
pub mod wire;

#[cfg(feature = "std")]
mod file;
#[cfg(feature = "mmap")]
mod mmap;
#[cfg(feature = "std")]
mod read_buffer;
#[cfg(feature = "std")]
mod reader;
#[cfg(feature = "std")]
mod writer;

pub use crate::checksum::Checksum;
pub use crate::cursor::{AfterDamage, FrameCursor, FrameSpan, Step};
pub use crate::deframer::{Decoded, Deframer, decode};
pub use crate::encode::encode_header_checked;
pub use crate::error::{Error, ErrorKind, Position, Result};
pub use crate::framer::Framer;
pub use crate::header::{HEADER_FILE_IDENTIFIER, StreamHeader};
#[cfg(feature = "std")]
pub use crate::memory::MonotonicClock;
pub use crate::memory::{AdaptiveWatermark, Clock, ManualClock, MemoryPolicy, ShrinkAbove};
#[cfg(feature = "mmap")]
#[cfg_attr(docsrs, doc(cfg(feature = "mmap")))]
pub use crate::mmap::MmapStream;
pub use crate::recovery::{RecoverOptions, Recovery, Region, Salvage, Tail, recover_slice};
pub use crate::serialize::{StreamSerialize, finished_payload};
pub use crate::slice::{Positioned, SliceReader, TypedSlice};
pub use crate::typed::{APPARENT_SIZE_FACTOR, RootType, verifier_options_for, verify_root};

#[cfg(feature = "std")]
pub use crate::file::ensure_regular_file;
#[cfg(feature = "std")]
pub use crate::read_buffer::ReadBuffer;
#[cfg(feature = "std")]
pub use crate::reader::{
    Messages, StreamReader, TypedMessages, recover, recover_file_for_append,
    recover_file_for_append_with, recover_with,
};
#[cfg(feature = "std")]
pub use crate::writer::StreamWriter;

/// The FlatBuffers crate this version of FlatStream is built against.
///
/// Using this re-export keeps your builder type identical to the one
/// [`StreamSerialize`] and [`StreamWriter::write_finished`] expect.
pub use flatbuffers;
