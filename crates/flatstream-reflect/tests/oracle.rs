//! flatc as the oracle: buffers built by `flatc -b` from the JSON inputs in
//! `tests/inputs/`, printed by flatc and by this crate, compared as parsed
//! JSON (floats within 1e-6 relative).
//!
//! Each buffer is compared two ways: this crate with the schema from
//! `Schema::from_fbs` (`--bfbs-builtins`) against flatc reading the `.fbs`,
//! and this crate with a plain `flatc -b --schema` `.bfbs` against flatc
//! reading that same `.bfbs` (where bit flags print as numbers and nested
//! FlatBuffers as bytes, in both). Every buffer is also built with
//! `--force-defaults`, so that fields equal to their default are present.
//!
//! Without flatc these tests print a skip line, or fail when
//! `FLATSTREAM_REQUIRE_FLATC=1`.

#[path = "support/compare.rs"]
mod compare;
#[path = "support/flatc.rs"]
mod flatc;

#[path = "../../flatstream/schema/telemetry.rs"]
mod telemetry;

use std::path::{Path, PathBuf};

use flatc::{Flatc, crate_dir, inputs};
use flatstream_reflect::{InvalidKind, ReflectError, Schema};

/// One schema under test.
struct Case {
    /// The `.fbs`.
    fbs: PathBuf,
    /// The directory of `tests/inputs` holding its JSON inputs.
    inputs: &'static str,
    /// A root other than the schema's `root_type`, fully qualified.
    root: Option<&'static str>,
}

fn flatstream_schema(name: &str) -> PathBuf {
    crate_dir().join("../flatstream/schema").join(name)
}

fn all_features() -> PathBuf {
    crate_dir().join("tests/schemas/all_features.fbs")
}

/// Our JSON for `buf`, or the error.
fn ours(schema: &Schema, root: Option<&str>, buf: &[u8]) -> Result<String, ReflectError> {
    schema.root(root)?.to_json(buf)
}

/// Compares our JSON with flatc's for one buffer; returns the problems.
fn check(
    what: &str,
    ours: Result<String, ReflectError>,
    flatc: Result<String, String>,
) -> Vec<String> {
    let ours = match ours {
        Ok(json) => json,
        Err(err) => return vec![format!("{what}: we failed: {err}")],
    };
    let flatc = match flatc {
        Ok(json) => json,
        Err(err) => return vec![format!("{what}: flatc failed: {err}")],
    };
    let (ours_value, flatc_value) = match (compare::parse(&ours), compare::parse(&flatc)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return vec![format!("{what}: unparsable JSON: ours {a:?}, flatc {b:?}")],
    };
    assert!(!ours.ends_with('\n'), "{what}: a trailing newline");
    compare::differences(&ours_value, &flatc_value)
        .into_iter()
        .map(|d| format!("{what}: {d}\n  ours:  {ours}\n  flatc: {}", flatc.trim()))
        .collect()
}

/// Runs every input of `case` both ways; returns the number of comparisons
/// and the problems.
fn run_case(flatc: &Flatc, case: &Case) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut compared = 0;
    let with_builtins = Schema::from_fbs(&case.fbs).expect("from_fbs");
    let plain_bfbs = flatc.bfbs(&case.fbs, false);
    let plain = Schema::from_bfbs(plain_bfbs.clone()).expect("plain bfbs");
    let plain_path = flatc.file("plain.bfbs", &plain_bfbs);
    let build_root: Vec<&str> = case
        .root
        .map(|r| vec!["--root-type", r])
        .unwrap_or_default();
    for input in inputs(case.inputs) {
        for force_defaults in [false, true] {
            let mut args = build_root.clone();
            if force_defaults {
                args.push("--force-defaults");
            }
            let buf = flatc.binary(&case.fbs, &input, &args);
            let name = format!(
                "{}{}",
                input.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                if force_defaults {
                    " (force-defaults)"
                } else {
                    ""
                }
            );
            problems.extend(check(
                &format!("{name} [fbs, builtins]"),
                ours(&with_builtins, case.root, &buf),
                flatc.json(&case.fbs, &buf, case.root),
            ));
            problems.extend(check(
                &format!("{name} [plain bfbs]"),
                ours(&plain, case.root, &buf),
                flatc.json(&plain_path, &buf, case.root),
            ));
            compared += 2;
        }
    }
    (compared, problems)
}

fn assert_cases(test: &str, cases: &[Case]) {
    let Some(flatc) = Flatc::find(test) else {
        return;
    };
    let mut problems = Vec::new();
    let mut compared = 0;
    for case in cases {
        let (n, p) = run_case(&flatc, case);
        compared += n;
        problems.extend(p);
    }
    assert!(compared >= 8, "only {compared} comparisons");
    assert!(
        problems.is_empty(),
        "{} of {compared} comparisons differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("{test}: {compared} comparisons with flatc agree");
}

#[test]
fn flatstream_schemas_match_flatc() {
    assert_cases(
        "flatstream_schemas_match_flatc",
        &[
            Case {
                fbs: flatstream_schema("telemetry.fbs"),
                inputs: "telemetry",
                root: None,
            },
            Case {
                fbs: flatstream_schema("control.fbs"),
                inputs: "control",
                root: None,
            },
            Case {
                fbs: flatstream_schema("file_transfer.fbs"),
                inputs: "file_transfer",
                root: None,
            },
        ],
    );
}

#[test]
fn all_features_match_flatc() {
    assert_cases(
        "all_features_match_flatc",
        &[
            Case {
                fbs: all_features(),
                inputs: "all_features",
                root: None,
            },
            Case {
                fbs: all_features(),
                inputs: "all_features_monster",
                root: Some("af.Monster"),
            },
        ],
    );
}

/// Beyond agreeing with flatc: the features really are exercised, and the
/// two kinds of `.bfbs` really print differently.
#[test]
fn all_features_print_what_flatc_prints() {
    let Some(flatc) = Flatc::find("all_features_print_what_flatc_prints") else {
        return;
    };
    let fbs = all_features();
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    let plain = Schema::from_bfbs(flatc.bfbs(&fbs, false)).expect("plain bfbs");
    let json = |schema: &Schema, input: &str| {
        let buf = flatc.binary(
            &fbs,
            &crate_dir().join("tests/inputs/all_features").join(input),
            &[],
        );
        schema
            .root(None)
            .and_then(|r| r.to_json(&buf))
            .expect("prints")
    };
    assert_eq!(json(&schema, "empty.json"), "{}");
    assert_eq!(
        json(&schema, "defaults.json"),
        "{}",
        "fields at their default are absent"
    );
    assert_eq!(
        json(&schema, "enums_unknown.json"),
        r#"{"color":55,"level":12345,"flags":8}"#
    );
    let enums = json(&schema, "enums.json");
    assert!(enums.contains(r#""flags":"A D""#), "{enums}");
    assert!(
        enums.contains(r#""v_flags":["A","B C",8,"A B",0,"A B C D","A B C D"]"#),
        "{enums}"
    );
    let enums_plain = json(&plain, "enums.json");
    assert!(enums_plain.contains(r#""flags":32769"#), "{enums_plain}");
    let nested = json(&schema, "nested.json");
    assert!(
        nested.contains(r#""inner":{"text":"inside","values":[1,2,3],"flags":"B C"}"#),
        "{nested}"
    );
    let nested_plain = json(&plain, "nested.json");
    assert!(
        nested_plain.contains(r#""inner":[16,0,0,0,"#),
        "bytes: {nested_plain}"
    );
    let vectors = json(&schema, "vectors.json");
    assert!(
        vectors.contains(r#""keyed":{"id":0}"#),
        "keys print when absent: {vectors}"
    );
    assert!(
        vectors.contains(r#""v_u64":[0,18446744073709551615,9007199254740993]"#),
        "{vectors}"
    );
    assert!(
        vectors.contains(r#""v_i64":[-9223372036854775808,9223372036854775807,0]"#),
        "{vectors}"
    );
    let floats = json(&schema, "floats_special.json");
    assert!(floats.contains(r#""v_f32":[nan,inf,-inf,0.5]"#), "{floats}");
    let unions = json(&schema, "union_vector.json");
    assert!(
        unions.contains(r#""inventory_type":["Weapon","Monster","Vec3","Spare","Weapon"]"#),
        "{unions}"
    );
    let strings = json(&schema, "strings.json");
    assert!(strings.contains(r#"nul \u0000 bell \u0007"#), "{strings}");
    assert!(strings.contains("日本語"), "{strings}");
    assert_eq!(
        json(&schema, "deprecated.json"),
        r#"{"i32":1,"old":5}"#,
        "a deprecated field present in the buffer prints, as in flatc"
    );
}

/// `Schema::from_fbs` is `flatc -b --schema --bfbs-builtins`, byte for byte.
#[test]
fn from_fbs_is_flatc_with_builtins() {
    let Some(flatc) = Flatc::find("from_fbs_is_flatc_with_builtins") else {
        return;
    };
    for fbs in [all_features(), flatstream_schema("telemetry.fbs")] {
        let schema = Schema::from_fbs(&fbs).expect("from_fbs");
        assert_eq!(
            schema.bfbs(),
            flatc.bfbs(&fbs, true).as_slice(),
            "{}",
            fbs.display()
        );
        let loaded = Schema::load(&fbs).expect("load .fbs");
        assert_eq!(loaded.bfbs(), schema.bfbs());
    }
    // The committed binary schemas are current (`cargo xtask codegen --check`
    // says the same).
    let committed = [
        ("schema/telemetry.bfbs", flatstream_schema("telemetry.fbs")),
        ("tests/schemas/all_features.bfbs", all_features()),
    ];
    for (path, fbs) in committed {
        let bytes = std::fs::read(crate_dir().join(path)).expect("committed bfbs");
        assert_eq!(
            bytes,
            flatc.bfbs(&fbs, true),
            "{path} is stale: run `cargo xtask codegen`"
        );
    }
}

/// A reading as `crates/flatstream/schema/telemetry.rs` builds them.
fn telemetry_buffer(i: u64) -> Vec<u8> {
    use telemetry::{Status, Telemetry, TelemetryArgs, finish_telemetry_buffer};
    let mut builder = flatbuffers::FlatBufferBuilder::new();
    let label = builder.create_string(&format!("line-{}/sensor-{:02}", i % 4, i % 16));
    let samples: Vec<f32> = (0..(i % 70))
        .map(|k| ((i * 31 + k * 17) % 65_536) as f32 / 32_768.0 - 1.0)
        .collect();
    let samples = builder.create_vector(&samples);
    let status = match i % 7 {
        0 => Status::Fault,
        1 | 2 => Status::Degraded,
        3 => Status(9),
        _ => Status::Ok,
    };
    let root = Telemetry::create(
        &mut builder,
        &TelemetryArgs {
            timestamp_ns: 1_767_225_600_000_000_000 + i * 10_000_000,
            sensor_id: (i % 16) as u32,
            sequence: i / 16,
            temperature_c: 15.0 + (i % 2000) as f32 / 100.0,
            pressure_kpa: 95.0 + (i % 10_000) as f64 / 1000.0,
            humidity_pct: if i.is_multiple_of(5) {
                0.0
            } else {
                20.0 + (i % 600) as f32 / 10.0
            },
            battery_v: 3.0 + (i % 600) as f32 / 1000.0,
            status,
            label: (!i.is_multiple_of(3)).then_some(label),
            samples: (!i.is_multiple_of(11)).then_some(samples),
        },
    );
    finish_telemetry_buffer(&mut builder, root);
    builder.finished_data().to_vec()
}

/// Buffers built by Rust code (not by flatc) print as flatc prints them.
#[test]
fn rust_built_telemetry_matches_flatc() {
    let Some(flatc) = Flatc::find("rust_built_telemetry_matches_flatc") else {
        return;
    };
    let fbs = flatstream_schema("telemetry.fbs");
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    let root = schema.root(None).expect("root");
    let bufs: Vec<Vec<u8>> = (0..300).map(telemetry_buffer).collect();
    let refs: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
    let expected = flatc
        .json_many(&fbs, &refs, None)
        .expect("flatc prints them");
    let mut problems = Vec::new();
    for (i, (buf, flatc_json)) in bufs.iter().zip(expected).enumerate() {
        problems.extend(check(
            &format!("reading {i}"),
            root.to_json(buf),
            Ok(flatc_json),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Finds `needle` in `haystack` (it must occur once).
fn find_once(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} occurs {} times", hits.len());
    hits[0]
}

/// A NaN with its sign bit set prints as `-nan`, as flatc prints it.
#[test]
fn negative_nan_matches_flatc() {
    let Some(flatc) = Flatc::find("negative_nan_matches_flatc") else {
        return;
    };
    let fbs = all_features();
    let input = flatc.file("x.json", br#"{ "f32": 1.25, "f64": 2.5, "v_f32": [0.75] }"#);
    let mut buf = flatc.binary(&fbs, &input, &[]);
    let at = find_once(&buf, &1.25_f32.to_le_bytes());
    buf[at..at + 4].copy_from_slice(&0xFFC0_0000_u32.to_le_bytes());
    let at = find_once(&buf, &2.5_f64.to_le_bytes());
    buf[at..at + 8].copy_from_slice(&0xFFF8_0000_0000_0001_u64.to_le_bytes());
    let at = find_once(&buf, &0.75_f32.to_le_bytes());
    buf[at..at + 4].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    let ours_json = ours(&schema, None, &buf).expect("prints");
    assert!(ours_json.contains(r#""f32":-nan"#), "{ours_json}");
    assert!(ours_json.contains(r#""f64":-nan"#), "{ours_json}");
    let problems = check("negative nan", Ok(ours_json), flatc.json(&fbs, &buf, None));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A string that is not UTF-8: flatc refuses to print it, and so do we,
/// saying where.
#[test]
fn invalid_utf8_is_refused_like_flatc() {
    let Some(flatc) = Flatc::find("invalid_utf8_is_refused_like_flatc") else {
        return;
    };
    let fbs = all_features();
    let input = flatc.file("x.json", br#"{ "v_string": ["fine", "bXd"] }"#);
    let mut buf = flatc.binary(&fbs, &input, &[]);
    let at = find_once(&buf, b"bXd");
    buf[at + 1] = 0xFF;
    let flatc_result = flatc.json(&fbs, &buf, None);
    assert!(
        flatc_result.as_ref().is_err_and(|e| e.contains("non-utf8")),
        "flatc: {flatc_result:?}"
    );
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    let err = ours(&schema, None, &buf).expect_err("refused");
    match &err {
        ReflectError::InvalidBuffer { offset, path, kind } => {
            assert_eq!(*offset, at + 1, "{err}");
            assert_eq!(path, "Everything.v_string[1]", "{err}");
            assert_eq!(*kind, InvalidKind::InvalidUtf8 { valid_up_to: 1 });
        }
        other => panic!("unexpected {other}"),
    }
}

/// A buffer built with an older schema in which a field now `required` did
/// not exist: flatc's own verifier would refuse it, and so do we.
#[test]
fn missing_required_field_is_refused() {
    let Some(flatc) = Flatc::find("missing_required_field_is_refused") else {
        return;
    };
    let dir = flatc.dir();
    let old = dir.join("old.fbs");
    let text = std::fs::read_to_string(all_features()).expect("schema");
    std::fs::write(
        &old,
        text.replace("name: string (required);", "name: string;"),
    )
    .expect("write");
    let input = flatc.file("x.json", br#"{ "monster": { "hp": 3 } }"#);
    let buf = flatc.binary(&old, &input, &[]);
    let schema = Schema::from_fbs(&all_features()).expect("from_fbs");
    let err = ours(&schema, None, &buf).expect_err("refused");
    assert_eq!(err.path(), Some("Everything.monster.name"), "{err}");
    assert!(matches!(
        err,
        ReflectError::InvalidBuffer {
            kind: InvalidKind::MissingRequired,
            ..
        }
    ));
    // The old schema reads it.
    let old_schema = Schema::from_fbs(&old).expect("old schema");
    assert_eq!(
        ours(&old_schema, None, &buf).expect("prints"),
        r#"{"monster":{"hp":3}}"#
    );
}

/// An empty nested FlatBuffer prints as `[]` (flatc crashes on it).
#[test]
fn empty_nested_flatbuffer_prints_as_empty_array() {
    let Some(flatc) = Flatc::find("empty_nested_flatbuffer_prints_as_empty_array") else {
        return;
    };
    let fbs = all_features();
    let input = flatc.file("x.json", br#"{ "inner": [], "i8": 1 }"#);
    let buf = flatc.binary(&fbs, &input, &["--json-nested-bytes"]);
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    assert_eq!(
        ours(&schema, None, &buf).expect("prints"),
        r#"{"i8":1,"inner":[]}"#
    );
    // Bytes that are not a FlatBuffer of the nested root are refused.
    let input = flatc.file("y.json", br#"{ "inner": [1, 2, 3, 4, 5, 6, 7, 8] }"#);
    let buf = flatc.binary(&fbs, &input, &["--json-nested-bytes"]);
    let err = ours(&schema, None, &buf).expect_err("refused");
    assert!(
        err.path()
            .is_some_and(|p| p.starts_with("Everything.inner")),
        "{err}"
    );
}

/// The schema path helper works from any directory flatc is given.
#[test]
fn from_fbs_resolves_relative_paths() {
    let Some(_flatc) = Flatc::find("from_fbs_resolves_relative_paths") else {
        return;
    };
    let relative = Path::new("tests/schemas/all_features.fbs");
    // Tests run in the crate's directory.
    let schema = Schema::from_fbs(relative).expect("relative path");
    assert_eq!(schema.root_type_name(), Some("af.Everything"));
    assert_eq!(schema.file_identifier(), Some("ALLF"));
}

/// `tests/data/<set>/<input>.allf` is what `flatc -b` builds from
/// `tests/inputs/<set>/<input>.json` (the proptest and the fuzz seeds use
/// them without flatc). `FLATSTREAM_BLESS=1` rewrites them.
#[test]
fn committed_buffers_are_flatc_output() {
    let Some(flatc) = Flatc::find("committed_buffers_are_flatc_output") else {
        return;
    };
    let bless = std::env::var("FLATSTREAM_BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (set, root) in [
        ("all_features", None),
        ("all_features_monster", Some("af.Monster")),
    ] {
        let args: Vec<&str> = root.map(|r| vec!["--root-type", r]).unwrap_or_default();
        for input in inputs(set) {
            let fresh = flatc.binary(&all_features(), &input, &args);
            let stem = input.file_stem().and_then(|s| s.to_str()).expect("a name");
            let path = crate_dir()
                .join("tests/data")
                .join(set)
                .join(format!("{stem}.allf"));
            if bless {
                std::fs::write(&path, &fresh).expect("write");
            } else if std::fs::read(&path).ok().as_deref() != Some(fresh.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale (rerun with FLATSTREAM_BLESS=1 and commit): {}",
        stale.join(", ")
    );
}

/// Found by a hostile review, each printed exactly as flatc prints it
/// (compared as text, not within a tolerance): the flags of a `ulong`
/// `bit_flags` enum with bit 63 set list in unsigned order, and an absent
/// `float` field prints its default rounded to a `float` (16777217 is
/// 16777216, 1e39 is inf).
#[test]
fn ulong_flags_and_float_defaults_print_as_flatc_prints_them() {
    let Some(flatc) = Flatc::find("ulong_flags_and_float_defaults_print_as_flatc_prints_them")
    else {
        return;
    };
    let fbs = flatc.file(
        "edges.fbs",
        br#"
        enum F : ulong (bit_flags) { A, B, Z = 63 }
        table KF { k: float = 16777217 (key); }
        table KG { k: float = 1e39 (key); }
        table T { f: F; vf: [F]; a: KF; b: KG; }
        root_type T;
        "#,
    );
    let input = flatc.file(
        "edges.json",
        br#"{ "f": "A Z", "vf": ["Z B", "A"], "a": {}, "b": {} }"#,
    );
    let buf = flatc.binary(&fbs, &input, &[]);
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    let problems = check(
        "edges",
        ours(&schema, None, &buf),
        flatc.json(&fbs, &buf, None),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let ours = ours(&schema, None, &buf).expect("prints");
    assert!(ours.contains(r#""f":"A Z""#), "{ours}");
    assert!(ours.contains(r#""vf":["B Z","A"]"#), "{ours}");
    assert!(ours.contains(r#""a":{"k":16777216.0}"#), "{ours}");
    assert!(ours.contains(r#""b":{"k":inf}"#), "{ours}");
}

/// A union whose type names a member but that has no value is refused, as
/// flatbuffers' reflection verifier refuses it (it used to print as
/// `{"u_type":"W"}`).
#[test]
fn a_union_type_without_its_value_is_refused() {
    let Some(flatc) = Flatc::find("a_union_type_without_its_value_is_refused") else {
        return;
    };
    let fbs = flatc.file(
        "u.fbs",
        b"table W { d: int; } union U { W } table T { u: U; } root_type T;",
    );
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    // Root offset 12; vtable at 4 (6 bytes: itself, the table's 8 bytes,
    // the type at +4, no value); the table at 12 (its vtable 8 back), the
    // type byte 1 (W).
    let mut buf = Vec::new();
    buf.extend_from_slice(&12_u32.to_le_bytes());
    for half in [6_u16, 8, 4] {
        buf.extend_from_slice(&half.to_le_bytes());
    }
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&8_i32.to_le_bytes());
    buf.extend_from_slice(&[1, 0, 0, 0]);
    let err = ours(&schema, None, &buf).expect_err("refused");
    assert!(
        matches!(
            err,
            ReflectError::InvalidBuffer {
                kind: InvalidKind::UnionValueMissing,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.path(), Some("T.u"), "{err}");
    // The same bytes with the type NONE (0) print, without a value.
    let last = buf.len() - 4;
    buf[last] = 0;
    assert_eq!(
        ours(&schema, None, &buf).expect("prints"),
        r#"{"u_type":"NONE"}"#
    );

    // A union vector's types without its values (flatc builds it from
    // JSON) are refused as well: both vectors, or neither.
    let fbs = flatc.file(
        "uv.fbs",
        b"table A { x: int; } union U { A } table T { pad: int; uv: [U]; } root_type T;",
    );
    let input = flatc.file("uv.json", br#"{ "pad": 1, "uv_type": ["A"] }"#);
    let buf = flatc.binary(&fbs, &input, &[]);
    let schema = Schema::from_fbs(&fbs).expect("from_fbs");
    let err = ours(&schema, None, &buf).expect_err("refused");
    assert!(
        matches!(
            err,
            ReflectError::InvalidBuffer {
                kind: InvalidKind::UnionTypesMissing,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.path(), Some("T.uv"), "{err}");
}
