//! FlatStream's project automation, run as `cargo xtask <subcommand>`.
//!
//! The alias lives in `.cargo/config.toml`. Each subcommand is one module;
//! `cargo xtask help` lists them. Dependencies stay few and small (`xshell`,
//! `anyhow`, and `serde` with `serde_json` and `toml` for reading `cargo metadata`
//! and manifests), so the tool compiles quickly on a fresh clone.

extern crate alloc;

mod bench;
mod ci;
mod codegen;
mod fuzz;
mod metadata;
mod test_matrix;
mod tidy;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use xshell::{Cmd, Shell};

/// The text printed by `cargo xtask help`.
const HELP: &str = "\
cargo xtask <SUBCOMMAND>

SUBCOMMANDS:
    ci [STEP...] [--fail-fast] [--keep-going] [--fuzz-seconds N]
                        Install the tools the steps need (rustfmt, clippy, nightly,
                        flatc, cargo-fuzz) when missing, then run every CI step
                        (or only the named ones) and print a summary.
                        Steps: fmt clippy tidy test-matrix doctest doc examples
                               bench-smoke fuzz-build codegen-check
                        All steps run by default; --fail-fast stops at the first failure.
                        --fuzz-seconds sets the smoke run per fuzz target (default 20).
    test-matrix         Per package: every test under --all-features, unit tests and
                        a build check for each other feature combination.
    codegen [--check]   Regenerate the flatc output and the golden frames;
                        --check verifies that the committed files are up to date.
    tidy                Check the workspace conventions (README, CHANGELOG, manifests,
                        the Code Map, unsafe code sites, no tracker numbers in comments).
    bench [--rounds N] [--report-only] [ARGS...]
                        Run the criterion benchmarks and print the comparison table;
                        --rounds N keeps each benchmark's fastest of N rounds;
                        --report-only prints the table of the last results;
                        ARGS go to criterion.
    fuzz [TARGET] [--seconds N]
                        Fuzz every target (or TARGET) for N seconds each (default 60).
    help                Print this message.
";

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Print the cause chain without anyhow's backtrace, which CI's
            // `RUST_BACKTRACE` would otherwise add to every failure.
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Dispatches on the subcommand.
fn try_main() -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    // `cargo install` and `pip install --user` put programs where a bare
    // shell may not look; every command xtask runs looks there.
    tools::add_tool_dirs_to_path(&sh);

    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((subcommand, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(());
    };
    match subcommand.as_str() {
        "ci" => ci::run(&sh, &ci::Options::parse(rest)?),
        "test-matrix" => {
            no_arguments(subcommand, rest)?;
            test_matrix::run(&sh)
        }
        "codegen" => {
            let check = codegen::parse_check_flag(rest)?;
            tools::require(&sh, &[tools::Tool::Flatc])?;
            codegen::run(&sh, check)
        }
        "tidy" => {
            no_arguments(subcommand, rest)?;
            tidy::run(&sh)
        }
        "bench" => bench::run(&sh, rest),
        "fuzz" => fuzz::run(&sh, &fuzz::Options::parse(rest)?),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprint!("{HELP}");
            bail!("unknown subcommand `{other}`")
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

/// Fails if a subcommand that takes no arguments got some.
fn no_arguments(subcommand: &str, rest: &[String]) -> Result<()> {
    if let Some(extra) = rest.first() {
        bail!("`cargo xtask {subcommand}` takes no arguments, got `{extra}`");
    }
    Ok(())
}

/// Parses the value that follows a flag such as `--seconds N`.
///
/// # Errors
///
/// Fails if the value is missing or is not a non-negative integer.
pub(crate) fn parse_u64_flag(flag: &str, value: Option<&String>) -> Result<u64> {
    let value = value.with_context(|| format!("`{flag}` needs a value"))?;
    value
        .parse()
        .with_context(|| format!("`{flag}` expects a whole number of seconds, got `{value}`"))
}

/// Prints `$ ENV=value... command` to stderr, then runs the command with those
/// environment variables set, inheriting stdout and stderr.
///
/// # Errors
///
/// Fails if the command cannot be started or exits with a non-zero status.
pub(crate) fn run_with_env(cmd: Cmd<'_>, env: &[(&str, &str)]) -> Result<()> {
    let prefix: String = env
        .iter()
        .map(|(key, value)| format!("{key}={value:?} "))
        .collect();
    eprintln!("$ {prefix}{cmd}");
    let cmd = env
        .iter()
        .fold(cmd, |cmd, (key, value)| cmd.env(key, value));
    cmd.quiet().run()?;
    Ok(())
}

/// Prints `$ command` to stderr, then runs it, inheriting stdout and stderr.
///
/// # Errors
///
/// Fails if the command cannot be started or exits with a non-zero status.
pub(crate) fn run(cmd: Cmd<'_>) -> Result<()> {
    run_with_env(cmd, &[])
}

/// Prints `$ command` to stderr, then runs it and returns its stdout.
///
/// # Errors
///
/// Fails if the command cannot be started, exits with a non-zero status or
/// prints something that is not UTF-8.
pub(crate) fn read(cmd: Cmd<'_>) -> Result<String> {
    eprintln!("$ {cmd}");
    Ok(cmd.quiet().read()?)
}
