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

use core::hint::black_box;
use std::io::{self, BufWriter};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flatstream::{ChecksumFramer, Crc32, StreamWriter};
use flatstream_capture::{BackgroundWriter, CaptureOptions, CapturePosition, CaptureSink, Result};

/// Messages per iteration.
const MESSAGES: u64 = 10_000;

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

criterion_group!(benches, capture);
criterion_main!(benches);
