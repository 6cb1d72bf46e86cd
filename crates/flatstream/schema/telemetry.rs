//! The `Telemetry` schema (`telemetry.fbs`) for examples and tests.
//!
//! The generated code lives, untouched, in `telemetry_generated.rs`; this file
//! wraps it in a module with the lints it trips turned off and adds a few
//! helpers:
//!
//! - [`Reading`], an owned reading that builds itself into a `Telemetry`
//!   FlatBuffer, and [`write_reading`], which writes one in simple mode
//!   (`StreamWriter::write_with`);
//! - [`Reading::sample`], a deterministic generator, so that writers and
//!   readers agree on message `i` without sharing state;
//! - [`check`], a field-by-field comparison of a reading with a table;
//! - [`sample_ref`] and [`check_ref`], the same without heap allocation, for
//!   hot loops that should measure FlatStream rather than the generator.
//!
//! Include it from an example or a test with
//! `#[path = "../schema/telemetry.rs"] mod telemetry;`.
//!
//! Regenerate `telemetry_generated.rs` after editing the schema with
//! `flatc --rust -o crates/flatstream/schema crates/flatstream/schema/telemetry.fbs`.

#![allow(
    dead_code,
    reason = "each example or test uses a subset of these helpers"
)]

// flatc's output is not ours to lint. It trips `unreachable_pub`, `unsafe_code`,
// `clippy::unwrap_used` and `clippy::extra_unused_lifetimes` today; the rest
// cover what other schemas or flatc versions may generate.
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
#[path = "telemetry_generated.rs"]
mod telemetry_generated;

pub(crate) use telemetry_generated::flatstream::telemetry::*;

use flatbuffers::{Allocator, FlatBufferBuilder, WIPOffset};

/// Samples per reading from [`Reading::sample`]: `MIN_SAMPLES` plus
/// `0..SAMPLES_SPREAD`, i.e. 8 to 64.
const MIN_SAMPLES: usize = 8;
const SAMPLES_SPREAD: u64 = 57;
/// The most samples [`Reading::sample`] gives a reading.
pub(crate) const MAX_SAMPLES: usize = 64;
const _: () = assert!(MAX_SAMPLES as u64 == MIN_SAMPLES as u64 + SAMPLES_SPREAD - 1);
const _: () = assert!(MAX_SAMPLES <= MAX_WINDOW);

/// 2026-01-01T00:00:00Z, in nanoseconds since the Unix epoch.
const EPOCH_NS: u64 = 1_767_225_600_000_000_000;

/// Sensors that [`Reading::sample`] cycles through (one label each).
const SENSORS: u64 = 16;
const _: () = assert!(LABELS.len() as u64 == SENSORS);

/// Where a reading's window of raw samples may start in [`NOISE`].
const NOISE_STARTS: usize = 4096;
/// The longest window of raw samples a reading can have (the golden files
/// use 226).
const MAX_WINDOW: usize = 256;

/// The raw samples readings draw from: -1.0 ..= 1.0 in steps of 1/32768,
/// hashed from their index. A reading's samples are a window of it, so
/// generating them copies nothing and checking them is one pass.
static NOISE: [f32; NOISE_STARTS + MAX_WINDOW] = {
    let mut table = [0.0; NOISE_STARTS + MAX_WINDOW];
    let mut k = 0;
    while k < table.len() {
        let [a, b, ..] = mix(k as u64).to_le_bytes();
        // `From` is not `const`; an `i16` converts to `f32` exactly.
        #[allow(clippy::cast_lossless)]
        let value = i16::from_le_bytes([a, b]) as f32 / 32768.0;
        table[k] = value;
        k += 1;
    }
    table
};

/// Each sensor's label: `line-{sensor / 4}/sensor-{sensor:02}`.
const LABELS: [&str; 16] = [
    "line-0/sensor-00",
    "line-0/sensor-01",
    "line-0/sensor-02",
    "line-0/sensor-03",
    "line-1/sensor-04",
    "line-1/sensor-05",
    "line-1/sensor-06",
    "line-1/sensor-07",
    "line-2/sensor-08",
    "line-2/sensor-09",
    "line-2/sensor-10",
    "line-2/sensor-11",
    "line-3/sensor-12",
    "line-3/sensor-13",
    "line-3/sensor-14",
    "line-3/sensor-15",
];

/// One sensor reading, owned: the Rust side of a `Telemetry` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    pub(crate) timestamp_ns: u64,
    pub(crate) sensor_id: u32,
    pub(crate) sequence: u64,
    pub(crate) temperature_c: f32,
    pub(crate) pressure_kpa: f64,
    pub(crate) humidity_pct: f32,
    pub(crate) battery_v: f32,
    pub(crate) status: Status,
    pub(crate) label: String,
    pub(crate) samples: Vec<f32>,
}

/// A reading whose label and samples are borrowed: what [`Reading::sample`]
/// gives, without a heap allocation ([`sample_ref`]), for hot loops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ReadingRef<'a> {
    pub(crate) timestamp_ns: u64,
    pub(crate) sensor_id: u32,
    pub(crate) sequence: u64,
    pub(crate) temperature_c: f32,
    pub(crate) pressure_kpa: f64,
    pub(crate) humidity_pct: f32,
    pub(crate) battery_v: f32,
    pub(crate) status: Status,
    pub(crate) label: &'a str,
    pub(crate) samples: &'a [f32],
}

/// Reading number `i`, as [`Reading::sample`] gives it, borrowed: its
/// samples are a window of a static table, so nothing is allocated or
/// copied. For hot loops.
pub(crate) fn sample_ref(i: u64) -> ReadingRef<'static> {
    sample_ref_with_len(i, sample_len(i))
}

/// How many samples reading `i` has.
fn sample_len(i: u64) -> usize {
    MIN_SAMPLES + usize::from(low_u16(mix(!i) % SAMPLES_SPREAD))
}

/// Where the samples of reading `i` start in [`NOISE`].
fn window_start(i: u64) -> usize {
    usize::from(low_u16(mix(i))) % NOISE_STARTS
}

/// Reading `i` with `min(n_samples, MAX_WINDOW)` samples.
fn sample_ref_with_len(i: u64, n_samples: usize) -> ReadingRef<'static> {
    let h = mix(i);
    let sensor_id = u32::from(low_u16(i % SENSORS));
    let status = match h % 100 {
        0 => Status::Fault,
        1..=4 => Status::Degraded,
        _ => Status::Ok,
    };
    let start = window_start(i);
    ReadingRef {
        timestamp_ns: EPOCH_NS + i * 10_000_000,
        sensor_id,
        sequence: i / SENSORS,
        // 15.00 ..= 34.99 °C
        temperature_c: 15.0 + f32::from(low_u16(h % 2000)) / 100.0,
        // 95.000 ..= 104.999 kPa
        pressure_kpa: 95.0 + f64::from(low_u16((h >> 16) % 10_000)) / 1000.0,
        // 20.0 ..= 79.9 %
        humidity_pct: 20.0 + f32::from(low_u16((h >> 32) % 600)) / 10.0,
        // 3.000 ..= 3.599 V
        battery_v: 3.0 + f32::from(low_u16((h >> 48) % 600)) / 1000.0,
        status,
        label: LABELS[sensor_id as usize],
        samples: &NOISE[start..start + n_samples.min(MAX_WINDOW)],
    }
}

impl Reading {
    /// Reading number `i` of a deterministic capture: 16 sensors sampled in
    /// turn, one reading every 10 ms, each with 8 to 64 raw samples.
    ///
    /// Every value comes from integer arithmetic and correctly rounded
    /// float operations, so it is bit-identical on every platform.
    pub(crate) fn sample(i: u64) -> Self {
        Self::sample_with_len(i, sample_len(i))
    }

    /// Reading number `i`, as [`Reading::sample`], with exactly `n_samples`
    /// raw samples (the noise table wraps around for long ones).
    pub(crate) fn sample_with_len(i: u64, n_samples: usize) -> Self {
        let r = sample_ref_with_len(i, n_samples);
        let start = window_start(i);
        let samples = (0..n_samples)
            .map(|k| NOISE[(start + k) % NOISE.len()])
            .collect();
        Reading {
            timestamp_ns: r.timestamp_ns,
            sensor_id: r.sensor_id,
            sequence: r.sequence,
            temperature_c: r.temperature_c,
            pressure_kpa: r.pressure_kpa,
            humidity_pct: r.humidity_pct,
            battery_v: r.battery_v,
            status: r.status,
            label: r.label.to_owned(),
            samples,
        }
    }

    /// This reading, borrowed.
    pub(crate) fn as_ref(&self) -> ReadingRef<'_> {
        ReadingRef {
            timestamp_ns: self.timestamp_ns,
            sensor_id: self.sensor_id,
            sequence: self.sequence,
            temperature_c: self.temperature_c,
            pressure_kpa: self.pressure_kpa,
            humidity_pct: self.humidity_pct,
            battery_v: self.battery_v,
            status: self.status,
            label: &self.label,
            samples: &self.samples,
        }
    }

    /// Builds this reading as a `Telemetry` table in `builder`, without
    /// finishing the buffer.
    ///
    /// Finish it with [`finish_telemetry_buffer`] (file identifier `TLM1`),
    /// as [`write_reading`] does.
    pub(crate) fn build<'a, A: Allocator + 'a>(
        &self,
        builder: &mut FlatBufferBuilder<'a, A>,
    ) -> WIPOffset<Telemetry<'a>> {
        self.as_ref().build(builder)
    }
}

impl ReadingRef<'_> {
    /// As [`Reading::build`].
    pub(crate) fn build<'a, A: Allocator + 'a>(
        &self,
        builder: &mut FlatBufferBuilder<'a, A>,
    ) -> WIPOffset<Telemetry<'a>> {
        let label = builder.create_string(self.label);
        let samples = builder.create_vector(self.samples);
        Telemetry::create(
            builder,
            &TelemetryArgs {
                timestamp_ns: self.timestamp_ns,
                sensor_id: self.sensor_id,
                sequence: self.sequence,
                temperature_c: self.temperature_c,
                pressure_kpa: self.pressure_kpa,
                humidity_pct: self.humidity_pct,
                battery_v: self.battery_v,
                status: self.status,
                label: Some(label),
                samples: Some(samples),
            },
        )
    }
}

/// Simple mode: builds and finishes `reading` in the writer's own builder,
/// with flatc's generated `Telemetry::create` and [`finish_telemetry_buffer`].
pub(crate) fn write_reading<W: std::io::Write, F: flatstream::Framer>(
    writer: &mut flatstream::StreamWriter<W, F>,
    reading: &Reading,
) -> flatstream::Result<()> {
    writer.write_with(|builder| {
        let root = reading.build(builder);
        finish_telemetry_buffer(builder, root);
        Ok(())
    })
}

/// Compares every field of `table` with `expected`; floats bit for bit.
///
/// Returns a description of the first difference.
pub(crate) fn check(expected: &Reading, table: Telemetry<'_>) -> Result<(), String> {
    check_ref(&expected.as_ref(), table)
}

/// As [`check`], for a borrowed reading; allocates only to describe a
/// difference.
pub(crate) fn check_ref(expected: &ReadingRef<'_>, table: Telemetry<'_>) -> Result<(), String> {
    fn same<T: PartialEq + core::fmt::Debug>(
        field: &str,
        expected: T,
        actual: T,
    ) -> Result<(), String> {
        if expected == actual {
            Ok(())
        } else {
            Err(format!("{field}: expected {expected:?}, found {actual:?}"))
        }
    }
    same("timestamp_ns", expected.timestamp_ns, table.timestamp_ns())?;
    same("sensor_id", expected.sensor_id, table.sensor_id())?;
    same("sequence", expected.sequence, table.sequence())?;
    same(
        "temperature_c",
        expected.temperature_c.to_bits(),
        table.temperature_c().to_bits(),
    )?;
    same(
        "pressure_kpa",
        expected.pressure_kpa.to_bits(),
        table.pressure_kpa().to_bits(),
    )?;
    same(
        "humidity_pct",
        expected.humidity_pct.to_bits(),
        table.humidity_pct().to_bits(),
    )?;
    same(
        "battery_v",
        expected.battery_v.to_bits(),
        table.battery_v().to_bits(),
    )?;
    same("status", expected.status, table.status())?;
    same("label", Some(expected.label), table.label())?;
    let samples = table.samples().ok_or("samples: missing")?;
    same("samples.len()", expected.samples.len(), samples.len())?;
    // One pass over the raw little-endian bytes, bit for bit and without an
    // early exit; the slower element-wise walk runs only to name the first
    // difference.
    let (words, _) = samples.bytes().as_chunks::<4>();
    let differ = words
        .iter()
        .zip(expected.samples)
        .fold(0, |differ, (got, want)| {
            differ | (u32::from_le_bytes(*got) ^ want.to_bits())
        });
    if differ == 0 {
        return Ok(());
    }
    for (k, (want, got)) in expected.samples.iter().zip(samples.iter()).enumerate() {
        if want.to_bits() != got.to_bits() {
            return Err(format!("samples[{k}]: expected {want:?}, found {got:?}"));
        }
    }
    Err("samples: differ".to_owned())
}

/// SplitMix64's output function: a cheap, well-spread hash of `x`.
const fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The low 16 bits of `x`, without a truncating cast.
fn low_u16(x: u64) -> u16 {
    let [a, b, ..] = x.to_le_bytes();
    u16::from_le_bytes([a, b])
}
