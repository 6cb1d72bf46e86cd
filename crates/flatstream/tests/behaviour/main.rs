//! The facade's behaviour tests, in one test binary: one module per area
//! (each says what it covers), most of them run over every framer pair of
//! this build (`support::framers`).
//!
//! One binary rather than one per file: each test file used to be a crate of
//! its own, compiled and linked once per feature set. Consequences of
//! sharing one process:
//!
//! - The counting allocator of `support/counting_alloc.rs` is the global
//!   allocator of every test here; it counts per thread, so a test measures
//!   only its own allocations.
//! - A test that starts a child process, or recovers the same file twice,
//!   takes the lock of `support/spawning.rs`.
//! - Test names start with their module: run one area with
//!   `cargo test -p flatstream --all-features --test behaviour golden::`.
//! - proptest keeps the regression seeds of module `m` in
//!   `tests/proptest-regressions/m.txt`: with a `main.rs` to find, its
//!   default persistence uses a directory parallel to this one.
//!
//! `tests/crash_recovery.rs`, which has its own `main` and re-executes itself
//! as child processes, stays a binary of its own.

extern crate alloc;

mod support;

#[path = "../../schema/control.rs"]
mod control;
#[path = "../../schema/file_transfer.rs"]
mod file_transfer;
#[path = "../../schema/telemetry.rs"]
mod telemetry;

// `Telemetry` is local to this crate, so `RootType` is implemented on it
// directly; once for the whole crate, as impls are.
flatstream::root_type!(telemetry::Telemetry);

mod adapters;
mod alloc_free;
mod bit_flips;
mod cursor;
mod golden;
mod header;
mod io_faults;
mod limits;
mod memory_policy;
mod mismatched_framers;
#[cfg(feature = "mmap")]
mod mmap_reader;
mod multi_type;
mod recovery;
mod recovery_edges;
mod roundtrip;
mod slice_reader;
mod sweeps;
mod truncation;
mod typed;
mod typed_limits;
mod writer;
mod writer_faults;
