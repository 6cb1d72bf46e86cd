#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod checksum;
mod deframer;
mod error;
mod framer;
mod memory;
mod serialize;
mod slice;
pub mod wire;

#[cfg(feature = "mmap")]
mod mmap;
#[cfg(feature = "std")]
mod reader;
#[cfg(feature = "std")]
mod writer;

pub use crate::checksum::Checksum;
pub use crate::deframer::{Decoded, Deframer};
pub use crate::error::{Error, ErrorKind, Position, Result};
pub use crate::framer::Framer;
#[cfg(feature = "std")]
pub use crate::memory::MonotonicClock;
pub use crate::memory::{AdaptiveWatermark, Clock, ManualClock, MemoryPolicy, ShrinkAbove};
#[cfg(feature = "mmap")]
#[cfg_attr(docsrs, doc(cfg(feature = "mmap")))]
pub use crate::mmap::MmapStream;
pub use crate::serialize::{StreamSerialize, finished_payload};
pub use crate::slice::{Positioned, SliceReader};

#[cfg(feature = "std")]
pub use crate::reader::{Messages, Recovery, StreamReader, Tail, recover, recover_file_for_append};
#[cfg(feature = "std")]
pub use crate::reader::{RootType, TypedMessages};
#[cfg(feature = "std")]
pub use crate::writer::StreamWriter;

/// The FlatBuffers crate this version of FlatStream is built against.
///
/// Using this re-export keeps your builder type identical to the one
/// [`StreamSerialize`] and [`StreamWriter::write_finished`] expect.
pub use flatbuffers;
