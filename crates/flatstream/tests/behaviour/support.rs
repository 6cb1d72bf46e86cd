//! Helpers shared by the modules of this test binary. `crash_recovery.rs`
//! includes `framers.rs` and `streams.rs` too, through `#[path]`.

pub(crate) mod counting_alloc;
pub(crate) mod framers;
pub(crate) mod sources;
pub(crate) mod spawning;
pub(crate) mod streams;
