#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod checksum;
mod deframer;
mod error;
mod framer;
mod serialize;
pub mod wire;

#[cfg(feature = "std")]
mod reader;
#[cfg(feature = "std")]
mod writer;

pub use crate::checksum::Checksum;
pub use crate::deframer::{Decoded, Deframer};
pub use crate::error::{Error, ErrorKind, Position, Result};
pub use crate::framer::Framer;
pub use crate::serialize::{StreamSerialize, finished_payload};

#[cfg(feature = "std")]
pub use crate::reader::{Messages, StreamReader};
#[cfg(feature = "std")]
pub use crate::writer::StreamWriter;

/// The FlatBuffers crate this version of FlatStream is built against.
///
/// Using this re-export keeps your builder type identical to the one
/// [`StreamSerialize`] and [`StreamWriter::write_finished`] expect.
pub use flatbuffers;
