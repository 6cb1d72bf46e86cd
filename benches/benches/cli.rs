//! The command line's `info` and `verify` against the library's own read rate
//! on the same file: they are the library plus counting, and the target is
//! at least 0.8x of `StreamReader` reading the file.
//!
//! Benchmark ids are `cli/<framing>/<task>`, with throughput in bytes of the
//! file, for a capture of 100,000 telemetry readings (about 27 MB, in the
//! page cache after the first pass):
//!
//! - `library`: `StreamReader` over the `File`, `process_all` counting frames;
//! - `info`: `flatstream_cli::info::info` (detection, sizes, identifiers);
//! - `verify`: `flatstream_cli::verify::verify`, checksums only (the stream
//!   has no header, so no schema).
//!
//! Run it with `cargo bench -p flatstream-benches --bench cli`.

use core::time::Duration;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, DefaultDeframer, DefaultFramer, Deframer, Framer,
    StreamReader, StreamWriter, XxHash64,
};
use flatstream_cli::info::{InfoOptions, info};
use flatstream_cli::verify::{VerifyOptions, verify};

#[path = "../../crates/flatstream/schema/telemetry.rs"]
mod telemetry;

/// Readings in the capture.
const READINGS: u64 = 100_000;

/// The capture, removed when dropped.
struct Capture(PathBuf);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn capture<F: Framer>(name: &str, framer: F) -> Capture {
    let path = std::env::temp_dir().join(format!(
        "flatstream-bench-cli-{name}-{}.bin",
        std::process::id()
    ));
    let file = File::create(&path).expect("create the capture");
    let mut writer = StreamWriter::new(BufWriter::new(file), framer);
    for i in 0..READINGS {
        telemetry::write_reading(&mut writer, &telemetry::Reading::sample(i))
            .expect("write a reading");
    }
    writer.flush().expect("flush the capture");
    Capture(path)
}

fn library_read<D: Deframer>(path: &Path, deframer: D) -> u64 {
    let mut reader = StreamReader::new(File::open(path).expect("open"), deframer);
    let mut frames = 0;
    reader
        .process_all(|_| {
            frames += 1;
            Ok(())
        })
        .expect("the capture reads");
    frames
}

fn bench_framing<D: Deframer + Clone>(c: &mut Criterion, name: &str, path: &Path, deframer: D) {
    let len = std::fs::metadata(path).expect("stat").len();
    let mut group = c.benchmark_group(format!("cli/{name}"));
    group.throughput(Throughput::Bytes(len));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("library", |b| {
        b.iter(|| assert_eq!(library_read(path, deframer.clone()), READINGS));
    });
    let info_options = InfoOptions {
        framing: None,
        progress: false,
    };
    group.bench_function("info", |b| {
        b.iter(|| info(path, &info_options).expect("info"));
    });
    let verify_options = VerifyOptions::default();
    group.bench_function("verify", |b| {
        b.iter(|| verify(path, &verify_options).expect("verify"));
    });
    group.finish();
}

fn cli(c: &mut Criterion) {
    let plain = capture("plain", DefaultFramer);
    bench_framing(c, "plain", &plain.0, DefaultDeframer);
    let crc32 = capture("crc32", ChecksumFramer::new(Crc32::new()));
    bench_framing(c, "crc32", &crc32.0, ChecksumDeframer::new(Crc32::new()));
    let xxh3 = capture("xxh3", ChecksumFramer::new(XxHash64::new()));
    bench_framing(c, "xxh3", &xxh3.0, ChecksumDeframer::new(XxHash64::new()));
}

criterion_group!(benches, cli);
criterion_main!(benches);
