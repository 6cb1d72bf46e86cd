#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
// Threads, files and clocks: this crate needs `std` throughout, so the
// workspace's nudge towards `alloc` paths (for crates that could be
// `no_std`) does not apply.
#![allow(clippy::std_instead_of_alloc)]

mod background;
mod error;
mod follow;
mod gap;
mod index;
mod policy;
pub mod segment;
mod segments;
mod sink;

pub use crate::background::*;
pub use crate::error::{Error, Result};
pub use crate::follow::*;
pub use crate::gap::*;
pub use crate::index::*;
pub use crate::policy::{Backpressure, SyncPolicy};
pub use crate::segments::*;
pub use crate::sink::{CapturePosition, CaptureSink, FileSink};
