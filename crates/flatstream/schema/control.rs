//! The `Control` schema (`control.fbs`, file identifier `CTL1`) for examples
//! and tests: commands to the sensors whose `Telemetry` readings share the
//! stream.
//!
//! The generated code lives, untouched, in `control_generated.rs`; this file
//! wraps it as `telemetry.rs` wraps its own, and adds [`ControlMessage`], an
//! owned command that builds itself into a finished `Control` FlatBuffer, with
//! a deterministic generator ([`ControlMessage::sample`]) and a field-by-field
//! comparison ([`check`]).
//!
//! Include it from an example or a test with
//! `#[path = "../schema/control.rs"] mod control;`, and regenerate
//! `control_generated.rs` after editing the schema with `cargo xtask codegen`.

#![allow(
    dead_code,
    reason = "each example or test uses a subset of these helpers"
)]

// flatc's output is not ours to lint; see `telemetry.rs`.
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::cast_lossless,
    clippy::cast_possible_truncation,
    clippy::missing_errors_doc,
    clippy::missing_panics_doc,
    clippy::std_instead_of_alloc,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    dead_code,
    deprecated,
    missing_debug_implementations,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_code,
    unsafe_op_in_unsafe_fn,
    unused_imports
)]
#[rustfmt::skip]
#[path = "control_generated.rs"]
mod control_generated;

pub(crate) use control_generated::flatstream::control::*;

use flatbuffers::{Allocator, FlatBufferBuilder, WIPOffset};

/// 2026-01-01T00:00:00Z, in nanoseconds since the Unix epoch.
const EPOCH_NS: u64 = 1_767_225_600_000_000_000;

/// One command to one sensor, owned: the Rust side of a `Control` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ControlMessage {
    pub(crate) timestamp_ns: u64,
    pub(crate) sensor_id: u32,
    pub(crate) command: Command,
    pub(crate) rate_hz: f32,
    pub(crate) issuer: String,
}

impl ControlMessage {
    /// Command number `i` of a deterministic session: the four commands in
    /// turn, to sensors 0 to 15, one every second.
    pub(crate) fn sample(i: u64) -> Self {
        let command = match i % 4 {
            0 => Command::Start,
            1 => Command::SetRate,
            2 => Command::Calibrate,
            _ => Command::Stop,
        };
        let sensor_id = u32::try_from(i % 16).unwrap_or(0);
        ControlMessage {
            timestamp_ns: EPOCH_NS + i * 1_000_000_000,
            sensor_id,
            command,
            rate_hz: if command == Command::SetRate {
                100.0
            } else {
                0.0
            },
            issuer: format!("scheduler-{}", i % 3),
        }
    }

    /// Builds this command as a `Control` table in `builder` and finishes the
    /// buffer with the `CTL1` file identifier.
    pub(crate) fn build_finished<'a, A: Allocator + 'a>(
        &self,
        builder: &mut FlatBufferBuilder<'a, A>,
    ) {
        let root = self.build(builder);
        finish_control_buffer(builder, root);
    }

    /// Builds this command as a `Control` table in `builder`, without
    /// finishing the buffer.
    pub(crate) fn build<'a, A: Allocator + 'a>(
        &self,
        builder: &mut FlatBufferBuilder<'a, A>,
    ) -> WIPOffset<Control<'a>> {
        let issuer = builder.create_string(&self.issuer);
        Control::create(
            builder,
            &ControlArgs {
                timestamp_ns: self.timestamp_ns,
                sensor_id: self.sensor_id,
                command: self.command,
                rate_hz: self.rate_hz,
                issuer: Some(issuer),
            },
        )
    }
}

/// Compares every field of `table` with `expected`; floats bit for bit.
///
/// Returns a description of the first difference.
pub(crate) fn check(expected: &ControlMessage, table: Control<'_>) -> Result<(), String> {
    let actual = ControlMessage {
        timestamp_ns: table.timestamp_ns(),
        sensor_id: table.sensor_id(),
        command: table.command(),
        rate_hz: table.rate_hz(),
        issuer: table.issuer().unwrap_or_default().to_owned(),
    };
    if actual.rate_hz.to_bits() == expected.rate_hz.to_bits() && actual == *expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, found {actual:?}"))
    }
}
