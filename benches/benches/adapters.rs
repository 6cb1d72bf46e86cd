//! The cost of the framing adapters and of dynamic dispatch, against the
//! plain, statically dispatched framer and deframer.
//!
//! Benchmark ids are `adapters/<op>/<framing>/<payload size>/<variant>`:
//!
//! - `<op>` is `write` ([`StreamWriter::write_payload`] of an already-built
//!   payload into a pre-reserved `Vec<u8>`, cleared at the start of every
//!   iteration) or `read` ([`StreamReader::process_all`] over a byte slice of
//!   a pre-built stream; the reader and its buffer are reused, only the slice
//!   is reset, so this is the steady-state cost);
//! - `<framing>` is `crc32` (`ChecksumFramer::new(Crc32::new())` and its
//!   deframer) or `default` (the plain length-prefix framing, where nothing
//!   hides the per-message overhead);
//! - `<payload size>` is `64B` or `1KiB`;
//! - `<variant>` is
//!   - `static`: the framer or deframer alone;
//!   - `adapters`: `.bounded(1 << 20).observed(|_| count += 1)
//!     .validated((SizeValidator::at_most(1 << 20), NoValidator))` over it;
//!   - `dyn`: the plain framer or deframer behind a `Box<dyn Framer>` or
//!     `Box<dyn Deframer>`;
//!   - `dyn_adapters`: the adapter stack behind the same box.
//!
//! Every iteration handles [`BYTES_PER_ITER`] bytes of payload (16,384
//! messages of 64 B, 1,024 of 1 KiB), and the throughput is reported in
//! bytes; the time per message is the time per iteration divided by that
//! message count.
//!
//! Run with `cargo bench -p flatstream-benches --bench adapters`, a subset
//! with a filter such as `-- adapters/read/crc32/64B`.

use core::hint::black_box;
use core::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, DefaultDeframer, DefaultFramer, Deframer, DeframerExt,
    Framer, FramerExt, NoValidator, SizeValidator, StreamReader, StreamWriter,
};

/// Payload sizes, with the labels used in benchmark ids.
const SIZES: [(usize, &str); 2] = [(64, "64B"), (1024, "1KiB")];

/// Payload bytes handled per iteration.
const BYTES_PER_ITER: usize = 1024 * 1024;

/// The limit of the `bounded` adapter and of the size validator: never hit.
const LIMIT: usize = 1 << 20;

#[path = "support/payload.rs"]
mod payload;
use payload::payload;

/// `framer` with the adapter stack under test; `observed` counts payloads.
fn framer_with_adapters<'a, F: Framer + 'a>(framer: F, observed: &'a mut u64) -> impl Framer + 'a {
    framer
        .bounded(LIMIT)
        .observed(move |_| *observed += 1)
        .validated((SizeValidator::at_most(LIMIT), NoValidator))
}

/// `deframer` with the adapter stack under test; `observed` counts payloads.
fn deframer_with_adapters<'a, D: Deframer + 'a>(
    deframer: D,
    observed: &'a mut u64,
) -> impl Deframer + 'a {
    deframer
        .bounded(LIMIT)
        .observed(move |_| *observed += 1)
        .validated((SizeValidator::at_most(LIMIT), NoValidator))
}

/// Boxes `framer` behind an opaque pointer, so that the compiler cannot see
/// through the box and calls go through the vtable, as with a framing chosen
/// at run time.
fn dyn_framer<'a, F: Framer + 'a>(framer: F) -> Box<dyn Framer + 'a> {
    black_box(Box::new(framer))
}

/// The read-side twin of [`dyn_framer`].
fn dyn_deframer<'a, D: Deframer + 'a>(deframer: D) -> Box<dyn Deframer + 'a> {
    black_box(Box::new(deframer))
}

/// Checks that an observer saw whole iterations of `count` messages, and at
/// least one if its benchmark `ran` (a filter may skip it).
fn check_observed(observed: u64, count: usize, ran: bool) {
    let count = u64::try_from(count).expect("the message count fits in u64");
    assert!(
        observed.is_multiple_of(count) && (observed > 0) == ran,
        "the observer saw {observed} payloads (ran: {ran}), not whole iterations of {count}"
    );
}

/// Writes `count` copies of `payload` with `framer` per iteration; returns
/// whether the benchmark ran (a filter may skip it).
fn write_variant<F: Framer>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    variant: &str,
    framer: F,
    payload: &[u8],
    count: usize,
) -> bool {
    let capacity = count * (framer.header_len() + payload.len());
    let mut writer = StreamWriter::new(Vec::with_capacity(capacity), framer);
    let reserved = writer.get_ref().capacity();
    group.bench_function(variant, |b| {
        b.iter(|| {
            writer.get_mut().clear();
            for _ in 0..count {
                writer
                    .write_payload(black_box(payload))
                    .expect("writing to a Vec cannot fail");
            }
            black_box(writer.get_ref().len())
        });
    });
    let ran = !writer.get_ref().is_empty();
    if ran {
        assert_eq!(writer.get_ref().len(), capacity, "every frame was written");
    }
    assert_eq!(
        writer.get_ref().capacity(),
        reserved,
        "the sink must not grow during the benchmark"
    );
    ran
}

/// Reads the `count` frames of `stream` with `deframer` per iteration;
/// returns whether the benchmark ran (a filter may skip it).
fn read_variant<D: Deframer>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    variant: &str,
    deframer: D,
    stream: &[u8],
    count: usize,
) -> bool {
    // One reader per variant: it keeps its buffer from one iteration to the next.
    let mut reader = StreamReader::new(stream, deframer);
    group.bench_function(variant, |b| {
        b.iter(|| {
            *reader.get_mut() = black_box(stream);
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
    reader.frames_read() > 0
}

fn bench_write<F: Framer + Clone>(c: &mut Criterion, name: &str, framer: &F) {
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = BYTES_PER_ITER / size;
        let (mut observed, mut observed_dyn) = (0u64, 0u64);
        let mut group = c.benchmark_group(format!("adapters/write/{name}/{label}"));
        group.throughput(Throughput::Bytes((count * size) as u64));
        write_variant(&mut group, "static", framer.clone(), &payload, count);
        let ran = write_variant(
            &mut group,
            "adapters",
            framer_with_adapters(framer.clone(), &mut observed),
            &payload,
            count,
        );
        write_variant(
            &mut group,
            "dyn",
            dyn_framer(framer.clone()),
            &payload,
            count,
        );
        let ran_dyn = write_variant(
            &mut group,
            "dyn_adapters",
            dyn_framer(framer_with_adapters(framer.clone(), &mut observed_dyn)),
            &payload,
            count,
        );
        group.finish();
        check_observed(observed, count, ran);
        check_observed(observed_dyn, count, ran_dyn);
    }
}

fn bench_read<F: Framer, D: Deframer + Clone>(
    c: &mut Criterion,
    name: &str,
    mut framer: F,
    deframer: &D,
) {
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = BYTES_PER_ITER / size;
        let mut stream = Vec::with_capacity(count * (framer.header_len() + size));
        for _ in 0..count {
            framer
                .encode_into(&payload, &mut stream)
                .expect("the payload is within the frame limit");
        }
        let (mut observed, mut observed_dyn) = (0u64, 0u64);
        let mut group = c.benchmark_group(format!("adapters/read/{name}/{label}"));
        group.throughput(Throughput::Bytes((count * size) as u64));
        read_variant(&mut group, "static", deframer.clone(), &stream, count);
        let ran = read_variant(
            &mut group,
            "adapters",
            deframer_with_adapters(deframer.clone(), &mut observed),
            &stream,
            count,
        );
        read_variant(
            &mut group,
            "dyn",
            dyn_deframer(deframer.clone()),
            &stream,
            count,
        );
        let ran_dyn = read_variant(
            &mut group,
            "dyn_adapters",
            dyn_deframer(deframer_with_adapters(deframer.clone(), &mut observed_dyn)),
            &stream,
            count,
        );
        group.finish();
        check_observed(observed, count, ran);
        check_observed(observed_dyn, count, ran_dyn);
    }
}

fn adapters(c: &mut Criterion) {
    bench_write(c, "crc32", &ChecksumFramer::new(Crc32::new()));
    bench_write(c, "default", &DefaultFramer);

    bench_read(
        c,
        "crc32",
        ChecksumFramer::new(Crc32::new()),
        &ChecksumDeframer::new(Crc32::new()),
    );
    bench_read(c, "default", DefaultFramer, &DefaultDeframer);
}

/// Short runs: the whole file finishes in about two minutes.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = adapters
}
criterion_main!(benches);
