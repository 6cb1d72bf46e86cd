//! The `flatstream` command line as a library: each subcommand is a
//! function that returns a report, so that tests and benchmarks can call
//! them without a process.
//!
//! - [`info`](info::info): what a stream holds and how it ends;
//! - [`verify`](verify::verify): every checksum (and, with a schema, the
//!   FlatBuffers verifier on every payload), listing each damaged region;
//! - [`cat`](cat::cat): payloads as hex, raw bytes or JSON lines;
//! - [`recover`](recover::recover_in_place) and
//!   [`salvage`](recover::salvage): cut a torn or zero-filled tail, or copy
//!   every frame that survives corruption;
//! - [`convert`](convert::convert): re-frame a stream;
//! - [`index`](index::index): the index sidecars of a capture directory;
//! - [`capture_info`](capture_info::info): `info` of a capture directory;
//! - [`capture_verify`](capture_verify::verify_dir): `verify` of a capture
//!   directory.
//!
//! `cat` reads capture directories, follows (`--follow`) and seeks
//! (`--from-frame`, `--from-time`) through `flatstream-capture`; see
//! [`follow`].
//!
//! The framing is detected unless forced; see [`detect`].

extern crate alloc;

pub mod capture;
pub mod capture_info;
pub mod capture_verify;
pub mod cat;
pub mod convert;
pub mod detect;
pub mod error;
pub mod follow;
pub mod framing;
pub mod index;
pub mod info;
pub mod input;
pub mod output;
pub mod progress;
pub mod read;
pub mod recover;
pub mod schema;
pub mod signals;
pub mod stats;
pub mod time;
pub mod verify;

pub use crate::error::{EXIT_DAMAGED, EXIT_OK, EXIT_USAGE, Error, Failure, Result};
pub use crate::framing::Framing;
