//! Untrusted bytes: valid buffers flipped, overwritten, truncated, spliced
//! and replaced by noise, and garbled schemas. `verify` and `write_json`
//! return `Ok` or `Err`, never panic; they agree with each other; whatever
//! verifies prints as parseable JSON of bounded size.

#[path = "support/compare.rs"]
mod compare;

#[path = "../../flatstream/schema/telemetry.rs"]
mod telemetry;

use std::path::PathBuf;
use std::sync::LazyLock;

use flatstream_reflect::{Root, Schema};
use proptest::prelude::*;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

static TELEMETRY: LazyLock<Schema> = LazyLock::new(|| {
    Schema::load(&crate_dir().join("schema/telemetry.bfbs")).expect("committed telemetry.bfbs")
});
static ALL_FEATURES: LazyLock<Schema> = LazyLock::new(|| {
    Schema::load(&crate_dir().join("tests/schemas/all_features.bfbs"))
        .expect("committed all_features.bfbs")
});

/// Valid buffers to start from, with the root they belong to (0: telemetry,
/// 1: all_features `Everything`, 2: all_features `Monster`).
static BASES: LazyLock<Vec<(usize, Vec<u8>)>> = LazyLock::new(|| {
    let mut bases: Vec<(usize, Vec<u8>)> = (0..8).map(|i| (0, reading(i))).collect();
    for (set, root) in [("all_features", 1), ("all_features_monster", 2)] {
        let dir = crate_dir().join("tests/data").join(set);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("committed buffers")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        bases.extend(
            files
                .iter()
                .map(|f| (root, std::fs::read(f).expect("readable"))),
        );
    }
    bases
});

fn roots() -> [Root<'static>; 3] {
    [
        TELEMETRY.root(None).expect("root"),
        ALL_FEATURES.root(None).expect("root"),
        ALL_FEATURES.root(Some("Monster")).expect("root"),
    ]
}

/// Reading `i`, as the telemetry examples build them.
fn reading(i: u64) -> Vec<u8> {
    use telemetry::{Status, Telemetry, TelemetryArgs, finish_telemetry_buffer};
    let mut b = flatbuffers::FlatBufferBuilder::new();
    let label = b.create_string(&format!("line-{i}/sensor-{i:02}"));
    let samples: Vec<f32> = (0..i * 5).map(|k| k as f32 / 7.0).collect();
    let samples = b.create_vector(&samples);
    let root = Telemetry::create(
        &mut b,
        &TelemetryArgs {
            timestamp_ns: i << 40,
            sensor_id: u32::try_from(i).expect("small"),
            sequence: i,
            temperature_c: i as f32,
            status: Status(u8::try_from(i % 4).expect("small")),
            label: i.is_multiple_of(2).then_some(label),
            samples: (!i.is_multiple_of(3)).then_some(samples),
            ..Default::default()
        },
    );
    finish_telemetry_buffer(&mut b, root);
    b.finished_data().to_vec()
}

/// The most JSON a buffer of `len` bytes may print: every byte visited (at
/// most 8 times the buffer, at least 64 KiB) costs a few bytes of JSON,
/// plus key fields printed for absent fields.
fn json_bound(len: usize) -> usize {
    16 * (8 * len).max(64 * 1024)
}

/// The invariants, for one buffer and one root.
fn check(root: Root<'_>, buf: &[u8]) -> Result<(), TestCaseError> {
    let verified = root.verify(buf);
    let mut out = Vec::new();
    let written = root.write_json(buf, &mut out);
    match (&verified, &written) {
        (Ok(()), Ok(())) => {
            prop_assert!(
                out.len() <= json_bound(buf.len()),
                "{} bytes of JSON",
                out.len()
            );
            let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let parsed = compare::parse(&text);
            prop_assert!(parsed.is_ok(), "unparsable: {parsed:?}");
        }
        (Err(a), Err(b)) => {
            prop_assert!(a.is_invalid_buffer(), "{a}");
            prop_assert_eq!(a.to_string(), b.to_string());
            prop_assert!(out.is_empty());
        }
        _ => prop_assert!(false, "verify {verified:?} but write_json {written:?}"),
    }
    Ok(())
}

/// One change to a buffer.
#[derive(Debug, Clone)]
enum Edit {
    FlipBit(prop::sample::Index, u8),
    SetByte(prop::sample::Index, u8),
    /// A little-endian u32 at an offset: lengths and offsets.
    SetU32(prop::sample::Index, u32),
    Truncate(prop::sample::Index),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
    /// Copies a range over another: shared or crossed objects.
    Copy(prop::sample::Index, prop::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        (index(), 0..8_u8).prop_map(|(i, bit)| Edit::FlipBit(i, bit)),
        (index(), any::<u8>()).prop_map(|(i, v)| Edit::SetByte(i, v)),
        (
            index(),
            prop_oneof![
                Just(0_u32),
                Just(4),
                Just(0x7FFF_FFFF),
                Just(u32::MAX),
                0..256_u32,
                any::<u32>()
            ]
        )
            .prop_map(|(i, v)| Edit::SetU32(i, v)),
        index().prop_map(Edit::Truncate),
        (index(), 1..16_usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (index(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Edit::Insert(i, v)),
        (index(), index(), 1..32_usize).prop_map(|(a, b, n)| Edit::Copy(a, b, n)),
    ]
}

fn apply(buf: &mut Vec<u8>, edit: &Edit) {
    if buf.is_empty() {
        return;
    }
    match edit {
        Edit::FlipBit(i, bit) => {
            let at = i.index(buf.len());
            buf[at] ^= 1 << bit;
        }
        Edit::SetByte(i, v) => {
            let at = i.index(buf.len());
            buf[at] = *v;
        }
        Edit::SetU32(i, v) => {
            let at = i.index(buf.len()) & !3;
            for (k, byte) in v.to_le_bytes().into_iter().enumerate() {
                if let Some(b) = buf.get_mut(at + k) {
                    *b = byte;
                }
            }
        }
        Edit::Truncate(i) => buf.truncate(i.index(buf.len())),
        Edit::Delete(i, n) => {
            let at = i.index(buf.len());
            let end = (at + n).min(buf.len());
            buf.drain(at..end);
        }
        Edit::Insert(i, bytes) => {
            let at = i.index(buf.len());
            buf.splice(at..at, bytes.iter().copied());
        }
        Edit::Copy(from, to, n) => {
            let (from, to) = (from.index(buf.len()), to.index(buf.len()));
            let n = (*n).min(buf.len() - from).min(buf.len() - to);
            buf.copy_within(from..from + n, to);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn damaged_buffers_never_panic(
        base in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let (root, original) = &BASES[base.index(BASES.len())];
        let mut buf = original.clone();
        for e in &edits {
            apply(&mut buf, e);
        }
        let roots = roots();
        check(roots[*root], &buf)?;
        // The same bytes read with another root.
        check(roots[(*root + 1) % roots.len()], &buf)?;
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for root in roots() {
            check(root, &bytes)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn damaged_schemas_never_panic(
        which in any::<bool>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let schema = if which { &*ALL_FEATURES } else { &*TELEMETRY };
        let mut bytes = schema.bfbs().to_vec();
        for e in &edits {
            apply(&mut bytes, e);
        }
        let Ok(damaged) = Schema::from_bfbs(bytes) else {
            return Ok(());
        };
        let names: Vec<String> = damaged.table_names().map(str::to_owned).collect();
        for name in names.iter().map(|n| Some(n.as_str())).chain([None]) {
            let Ok(root) = damaged.root(name) else { continue };
            for (_, buf) in BASES.iter().take(12) {
                check(root, buf)?;
            }
        }
    }
}

/// Every committed buffer verifies and prints; every prefix and every
/// single-byte change of it behaves.
#[test]
fn every_prefix_and_byte_of_the_bases() {
    let roots = roots();
    for (root, buf) in BASES.iter() {
        let root = roots[*root];
        root.verify(buf).expect("a committed buffer verifies");
        for len in 0..buf.len() {
            check(root, &buf[..len]).expect("prefix");
        }
        for at in 0..buf.len() {
            for value in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                let mut changed = buf.clone();
                changed[at] = value;
                check(root, &changed).expect("one byte changed");
            }
        }
    }
}
