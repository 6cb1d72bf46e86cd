//! The background writer of `flatstream-capture` against writing the same
//! frames on the producer's own thread, in one run.
//!
//! Benchmark ids are `capture/<size>/<implementation>` (three parts, so
//! `cargo xtask bench`, which reads the four-part ids of `comparison`,
//! leaves them out of its table):
//!
//! - `<size>`: the payload size, `64B` or `256B` (telemetry sized);
//! - `<implementation>`:
//!   - `direct`: `StreamWriter::write_payload` with CRC-32 framing on the
//!     measuring thread, into a `BufWriter` over `io::sink()`, one flush per
//!     iteration: the cost of framing with no queue at all;
//!   - `background`: one `Producer::submit` per message to a
//!     `BackgroundWriter` whose I/O thread frames them the same way into
//!     the same kind of sink, then `BackgroundWriter::flush` per iteration
//!     (which returns once every message is framed and written): the queue,
//!     the batches and the hand-over between threads, with framing moved
//!     off the producer's thread.
//!
//! Each iteration handles [`MESSAGES`] messages; the throughput is given in
//! messages. Checks: every iteration must leave the writer's counters
//! exactly [`MESSAGES`] frames further, and the background writer's stats
//! must add up (nothing dropped, refused or discarded).
//!
//! `telemetry/<stage>` times, on one thread and with hot caches, what each
//! stage of the main job (`telemetry_demo`) costs per message, over the
//! demo's own readings ([`STAGE_READINGS`] of them, 262 bytes on average):
//! `generate` (`sample_ref`), `build` (generating, building and finishing
//! the FlatBuffer), `crc32` (the checksum of a payload), `verifier` (the
//! FlatBuffers verifier, `root_as_telemetry`) and `check` (verifier plus
//! comparing every field with the regenerated reading, what the demo's
//! follower and replay do per message). The sum bounds how many messages
//! per second the demo can capture on a given number of cores.

use core::hint::black_box;
use std::io::{self, BufWriter};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{Checksum, ChecksumFramer, Crc32, StreamWriter};
use flatstream_capture::{BackgroundWriter, CaptureOptions, CapturePosition, CaptureSink, Result};

#[path = "../../crates/flatstream/schema/telemetry.rs"]
mod telemetry;

use telemetry::{check_ref, finish_telemetry_buffer, root_as_telemetry, sample_ref};

/// Messages per iteration.
const MESSAGES: u64 = 10_000;

/// The readings per iteration of the `telemetry/<stage>` rows.
const STAGE_READINGS: u64 = 4096;

/// A sink that frames with CRC-32 into a `BufWriter` over `io::sink()`.
struct NullSink(StreamWriter<BufWriter<io::Sink>, ChecksumFramer<Crc32>>);

impl NullSink {
    fn new() -> Self {
        NullSink(StreamWriter::new(
            BufWriter::with_capacity(256 * 1024, io::sink()),
            ChecksumFramer::new(Crc32::new()),
        ))
    }
}

impl CaptureSink for NullSink {
    fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        Ok(self.0.write_payload(payload)?)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(self.0.flush()?)
    }
    fn sync(&mut self) -> Result<()> {
        self.flush()
    }
    fn position(&self) -> CapturePosition {
        CapturePosition {
            segment: 0,
            frame: self.0.frames_written(),
            offset: self.0.bytes_written(),
        }
    }
    fn finish(&mut self) -> Result<()> {
        self.flush()
    }
}

fn payload(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| u8::try_from(i % 251).unwrap_or(0) + 1)
        .collect()
}

fn capture(c: &mut Criterion) {
    for (name, size) in [("64B", 64), ("256B", 256)] {
        let payload = payload(size);
        let mut group = c.benchmark_group(format!("capture/{name}"));
        group.throughput(Throughput::Elements(MESSAGES));

        let mut direct = NullSink::new();
        group.bench_function("direct", |b| {
            b.iter(|| {
                let before = direct.0.frames_written();
                for _ in 0..MESSAGES {
                    direct.0.write_payload(black_box(&payload)).expect("write");
                }
                direct.0.flush().expect("flush");
                assert_eq!(direct.0.frames_written() - before, MESSAGES);
            });
        });

        let writer =
            BackgroundWriter::spawn(NullSink::new(), CaptureOptions::new()).expect("spawn");
        let mut producer = writer.producer();
        group.bench_function("background", |b| {
            b.iter(|| {
                let before = writer.stats().written;
                for _ in 0..MESSAGES {
                    producer.submit(black_box(&payload)).expect("submit");
                }
                producer.flush();
                writer.flush().expect("flush");
                assert_eq!(writer.stats().written - before, MESSAGES);
            });
        });
        drop(producer);
        let stats = writer.close().expect("close");
        assert_eq!(stats.queued, stats.written);
        assert_eq!((stats.dropped, stats.refused, stats.discarded), (0, 0, 0));
        group.finish();
    }
}

/// Builds reading `i` in `builder` and finishes it.
fn build(builder: &mut FlatBufferBuilder<'_>, i: u64) {
    builder.reset();
    let root = sample_ref(i).build(builder);
    finish_telemetry_buffer(builder, root);
}

fn stages(c: &mut Criterion) {
    let mut group = c.benchmark_group("telemetry");
    group.throughput(Throughput::Elements(STAGE_READINGS));
    let mut builder = FlatBufferBuilder::with_capacity(1024);
    let payloads: Vec<Vec<u8>> = (0..STAGE_READINGS)
        .map(|i| {
            build(&mut builder, i);
            builder.finished_data().to_vec()
        })
        .collect();

    group.bench_function("generate", |b| {
        b.iter(|| {
            for i in 0..STAGE_READINGS {
                black_box(sample_ref(black_box(i)));
            }
        });
    });
    group.bench_function("build", |b| {
        b.iter(|| {
            for i in 0..STAGE_READINGS {
                build(&mut builder, black_box(i));
                black_box(builder.finished_data());
            }
        });
    });
    group.bench_function("crc32", |b| {
        b.iter(|| {
            for payload in &payloads {
                black_box(Crc32.checksum(black_box(payload)));
            }
        });
    });
    group.bench_function("verifier", |b| {
        b.iter(|| {
            for payload in &payloads {
                black_box(root_as_telemetry(black_box(payload)).expect("a valid Telemetry"));
            }
        });
    });
    group.bench_function("check", |b| {
        b.iter(|| {
            for (i, payload) in (0..).zip(&payloads) {
                let table = root_as_telemetry(black_box(payload)).expect("a valid Telemetry");
                check_ref(&sample_ref(i), table).expect("the reading that was built");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, capture, stages);
criterion_main!(benches);
