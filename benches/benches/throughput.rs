//! Write and read throughput of every framer, plus the raw checksum speed.
//!
//! Benchmark ids are `<op>/<framing>/<payload size>`:
//!
//! - `write/<framing>/<size>`: expert-mode style, [`StreamWriter::write_payload`]
//!   of an already-built payload into a pre-reserved `Vec<u8>` that is cleared
//!   at the start of every iteration;
//! - `read/<framing>/<size>`: [`StreamReader::process_all`] over a
//!   [`Cursor`] of a pre-built stream; the reader and its buffer are reused
//!   (the cursor is rewound), so this is the steady-state cost;
//! - `checksum/<algorithm>/1MiB`: the algorithm alone over 1 MiB, the ceiling
//!   for the checksummed framings.
//!
//! `<framing>` is `default`, `xxhash`, `crc32` or `crc16`. Every iteration
//! handles many messages (at least 1 MiB of payload, or 4 messages), so the
//! per-message cost shows in the throughput of the small sizes.
//!
//! Run everything with `cargo bench -p flatstream-benches`, a subset with a
//! filter such as `cargo bench -p flatstream-benches -- read/crc32`, and a quick
//! pass with `-- --quick`.

use core::hint::black_box;
use core::time::Duration;
use std::io::Cursor;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flatstream::{
    Checksum, ChecksumDeframer, ChecksumFramer, Crc16, Crc32, DefaultDeframer, DefaultFramer,
    Deframer, Framer, StreamReader, StreamWriter, XxHash64,
};

/// Payload sizes, with the labels used in benchmark ids.
const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];

/// Payload bytes handled per iteration, at least.
const BYTES_PER_ITER: usize = 1024 * 1024;

/// Messages handled per iteration, at least.
const MIN_MESSAGES: usize = 4;

#[path = "support/payload.rs"]
mod payload;
use payload::payload;

/// How many messages of `size` bytes one iteration handles.
fn messages_per_iter(size: usize) -> usize {
    (BYTES_PER_ITER / size).max(MIN_MESSAGES)
}

fn bench_write<F: Framer + Clone>(c: &mut Criterion, name: &str, framer: &F) {
    let mut group = c.benchmark_group(format!("write/{name}"));
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = messages_per_iter(size);
        let capacity = count * (framer.header_len() + size);
        let mut writer = StreamWriter::new(Vec::with_capacity(capacity), framer.clone());
        let reserved = writer.get_ref().capacity();
        group.throughput(Throughput::Bytes((count * size) as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                writer.get_mut().clear();
                for _ in 0..count {
                    writer
                        .write_payload(black_box(&payload))
                        .expect("writing to a Vec cannot fail");
                }
                black_box(writer.get_ref().len())
            });
        });
        assert_eq!(
            writer.get_ref().capacity(),
            reserved,
            "the sink must not grow during the benchmark"
        );
    }
    group.finish();
}

fn bench_read<F: Framer, D: Deframer + Clone>(
    c: &mut Criterion,
    name: &str,
    mut framer: F,
    deframer: &D,
) {
    let mut group = c.benchmark_group(format!("read/{name}"));
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = messages_per_iter(size);
        let mut stream = Vec::with_capacity(count * (framer.header_len() + size));
        for _ in 0..count {
            framer
                .encode_into(&payload, &mut stream)
                .expect("the payload is within the frame limit");
        }
        // One reader per size: it keeps its buffer from one iteration to the next.
        let mut reader = StreamReader::new(Cursor::new(stream.as_slice()), deframer.clone());
        group.throughput(Throughput::Bytes((count * size) as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                reader.get_mut().set_position(0);
                let mut seen = 0usize;
                reader
                    .process_all(|payload| {
                        black_box(payload);
                        seen += 1;
                        Ok(())
                    })
                    .expect("the stream is valid");
                assert_eq!(seen, count);
            });
        });
    }
    group.finish();
}

fn bench_checksum<C: Checksum>(c: &mut Criterion, name: &str, checksum: &C) {
    let data = payload(1024 * 1024);
    let mut group = c.benchmark_group("checksum");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::new(name, "1MiB"), |b| {
        b.iter(|| checksum.checksum(black_box(&data)));
    });
    group.finish();
}

fn framers(c: &mut Criterion) {
    bench_write(c, "default", &DefaultFramer);
    bench_write(c, "xxhash", &ChecksumFramer::new(XxHash64::new()));
    bench_write(c, "crc32", &ChecksumFramer::new(Crc32::new()));
    bench_write(c, "crc16", &ChecksumFramer::new(Crc16::new()));

    bench_read(c, "default", DefaultFramer, &DefaultDeframer);
    bench_read(
        c,
        "xxhash",
        ChecksumFramer::new(XxHash64::new()),
        &ChecksumDeframer::new(XxHash64::new()),
    );
    bench_read(
        c,
        "crc32",
        ChecksumFramer::new(Crc32::new()),
        &ChecksumDeframer::new(Crc32::new()),
    );
    bench_read(
        c,
        "crc16",
        ChecksumFramer::new(Crc16::new()),
        &ChecksumDeframer::new(Crc16::new()),
    );
}

fn checksums(c: &mut Criterion) {
    bench_checksum(c, "xxhash", &XxHash64::new());
    bench_checksum(c, "crc32", &Crc32::new());
    bench_checksum(c, "crc16", &Crc16::new());
}

/// Short runs: the whole suite finishes in a few minutes.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = framers, checksums
}
criterion_main!(benches);
