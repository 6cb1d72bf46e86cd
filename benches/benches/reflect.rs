//! `flatstream-reflect`: JSON output of telemetry readings through the
//! schema-driven printer, in bytes of FlatBuffer payload per second.
//!
//! Benchmark ids are `reflect/<op>/telemetry`:
//!
//! - `write_json`: [`Root::write_json`] (verification included) of 1024
//!   `Reading::sample` tables (8 to 64 float samples each, about 260 bytes
//!   on average) into a `Vec<u8>` cleared at the start of every iteration;
//! - `verify`: [`Root::verify`] alone, over the same readings.
//!
//! The schema is the committed `crates/flatstream-reflect/schema/telemetry.bfbs`
//! (`flatc -b --schema --bfbs-builtins` of `telemetry.fbs`). The target of
//! the issue is at least 100 MB/s of payload for `write_json` on one core.
//!
//! Run it with `cargo bench -p flatstream-benches --bench reflect`.

use core::hint::black_box;
use core::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flatstream_reflect::{Root, Schema};

#[path = "../../crates/flatstream/schema/telemetry.rs"]
mod telemetry;

use telemetry::{Reading, finish_telemetry_buffer};

/// Readings per iteration.
const READINGS: u64 = 1024;

/// `READINGS` finished `Telemetry` buffers, as the examples write them.
fn readings() -> Vec<Vec<u8>> {
    let mut builder = flatbuffers::FlatBufferBuilder::new();
    (0..READINGS)
        .map(|i| {
            builder.reset();
            let root = Reading::sample(i).build(&mut builder);
            finish_telemetry_buffer(&mut builder, root);
            builder.finished_data().to_vec()
        })
        .collect()
}

fn reflect(c: &mut Criterion) {
    let bfbs = include_bytes!("../../crates/flatstream-reflect/schema/telemetry.bfbs");
    let schema = Schema::from_bfbs(bfbs.to_vec()).expect("the committed telemetry.bfbs loads");
    let root: Root<'_> = schema.root(None).expect("the schema has a root_type");
    let buffers = readings();
    let payload: usize = buffers.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(8 * payload);

    let mut group = c.benchmark_group("reflect");
    group.throughput(Throughput::Bytes(payload as u64));
    group.bench_function("write_json/telemetry", |b| {
        b.iter(|| {
            out.clear();
            for buf in &buffers {
                root.write_json(black_box(buf), &mut out)
                    .expect("a valid reading");
                out.push(b'\n');
            }
            black_box(out.len())
        });
    });
    group.bench_function("verify/telemetry", |b| {
        b.iter(|| {
            for buf in &buffers {
                root.verify(black_box(buf)).expect("a valid reading");
            }
        });
    });
    group.finish();
}

/// Short runs, like the other benches.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = reflect
}
criterion_main!(benches);
