//! `cargo xtask ci`: every CI check, in order, with a summary table.
//!
//! CI runs exactly this command (through `.ci/run` and the `xtask-ci` job of
//! `.github/workflows/ci.yml`), so a green local run means a green CI run.
//! All steps run by default and the failures are reported at the end;
//! `--fail-fast` stops at the first failure.
//!
//! First comes the setup: the tools the selected steps need (rustfmt, clippy,
//! the nightly toolchain, flatc of the committed version, cargo-fuzz; see
//! [`crate::tools`]) are checked and the missing ones installed, so a fresh
//! machine with stable Rust (through rustup) and python3 with pip needs
//! nothing else. A step whose tool cannot be installed fails without running.
//!
//! The steps, and what each runs once:
//! - `test-matrix`: per package under `crates/`, every test under
//!   `--all-features`; each other feature set runs the unit tests and checks
//!   that the other targets compile (see [`crate::test_matrix`]);
//! - `doctest`: the doctests of the workspace;
//! - `bench-smoke`: every benchmark function once, in criterion's test mode
//!   (`cargo test --bench '*'`, debug build: proves the benches compile and
//!   run, without the bench profile's LTO build);
//! - `fuzz-build`: builds the fuzz targets, then runs each one briefly, as
//!   many at a time as there are cores (two on CI's machine).

use std::time::Instant;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::metadata::Metadata;
use crate::tools::Tool;

/// How long each fuzz target runs in the `fuzz-build` step by default, in
/// seconds: enough to prove that every target starts from its seeds and to
/// catch shallow crashes, short enough for every CI run (long campaigns are
/// `cargo xtask fuzz`).
const DEFAULT_FUZZ_SECONDS: u64 = 20;

/// The package whose examples the `examples` step runs.
const EXAMPLES_PACKAGE: &str = "flatstream";
/// Set for every step: tests that need flatc fail instead of skipping.
const REQUIRE_FLATC_VAR: &str = "FLATSTREAM_REQUIRE_FLATC";

/// Command-line arguments for each example; examples not listed get none.
const EXAMPLE_ARGS: &[(&str, &[&str])] = &[("telemetry_demo", &["200000"])];

/// The arguments of `cargo xtask ci`.
#[derive(Debug)]
pub(crate) struct Options {
    /// Stop at the first failing step.
    fail_fast: bool,
    /// How long each fuzz target runs in the `fuzz-build` step, in seconds.
    fuzz_seconds: u64,
    /// The steps to run, by name; all of them when empty.
    only: Vec<String>,
}

impl Options {
    /// Parses `[STEP...] [--fail-fast] [--keep-going] [--fuzz-seconds N]`.
    ///
    /// `--keep-going` is the default and is accepted for clarity.
    ///
    /// # Errors
    ///
    /// Fails on an unknown flag or step, or a bad number.
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            fail_fast: false,
            fuzz_seconds: DEFAULT_FUZZ_SECONDS,
            only: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--fail-fast" => options.fail_fast = true,
                "--keep-going" => options.fail_fast = false,
                "--fuzz-seconds" => options.fuzz_seconds = crate::parse_u64_flag(arg, args.next())?,
                step if STEPS.iter().any(|s| s.name == step) => options.only.push(step.to_owned()),
                other => bail!(
                    "unknown argument `{other}`; the steps are: {}",
                    STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(" ")
                ),
            }
        }
        Ok(options)
    }
}

/// One CI step.
#[derive(Debug)]
struct Step {
    /// The name shown in the header and the summary.
    name: &'static str,
    /// The tools it needs beyond stable cargo and rustc.
    needs: &'static [Tool],
    /// What the step does.
    run: fn(&Shell, &Options) -> Result<()>,
}

/// Every step, in the order CI runs them.
const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        needs: &[Tool::Rustfmt],
        run: fmt,
    },
    Step {
        name: "clippy",
        needs: &[Tool::Clippy],
        run: clippy,
    },
    Step {
        name: "tidy",
        needs: &[],
        run: |sh, _| crate::tidy::run(sh),
    },
    Step {
        name: "test-matrix",
        // The reflection oracle compares with flatc's JSON.
        needs: &[Tool::Flatc],
        run: |sh, _| crate::test_matrix::run(sh),
    },
    Step {
        name: "doctest",
        needs: &[],
        run: doctest,
    },
    Step {
        name: "doc",
        needs: &[],
        run: doc,
    },
    Step {
        name: "examples",
        needs: &[],
        run: examples,
    },
    Step {
        name: "bench-smoke",
        needs: &[],
        run: bench_smoke,
    },
    Step {
        name: "fuzz-build",
        needs: &[Tool::Nightly, Tool::CargoFuzz],
        run: fuzz_build,
    },
    Step {
        name: "codegen-check",
        needs: &[Tool::Flatc],
        run: |sh, _| crate::codegen::run(sh, true),
    },
];

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// The step succeeded.
    Pass,
    /// The step failed.
    Fail,
    /// The step did not run because an earlier one failed under `--fail-fast`.
    Skip,
}

/// Runs the selected steps and prints the summary table.
///
/// # Errors
///
/// Fails if any step failed.
pub(crate) fn run(sh: &Shell, options: &Options) -> Result<()> {
    // Tests that compare with flatc (the reflection oracle) skip without it
    // for a newcomer's `cargo test`; in CI a missing flatc fails them.
    sh.set_var(REQUIRE_FLATC_VAR, "1");
    let selected: Vec<&Step> = STEPS
        .iter()
        .filter(|step| options.only.is_empty() || options.only.iter().any(|name| name == step.name))
        .collect();
    let mut results = Vec::new();
    let mut stop = false;

    let needed: Vec<Tool> = selected
        .iter()
        .flat_map(|step| step.needs.iter().copied())
        .collect();
    let mut missing = Vec::new();
    if !needed.is_empty() {
        eprintln!("\n==> setup");
        let start = Instant::now();
        missing = crate::tools::ensure(sh, &needed);
        let outcome = if missing.is_empty() {
            Outcome::Pass
        } else {
            stop = options.fail_fast;
            Outcome::Fail
        };
        results.push(("setup", outcome, start.elapsed().as_secs_f64()));
    }

    for (index, step) in selected.iter().enumerate() {
        if stop {
            results.push((step.name, Outcome::Skip, 0.0));
            continue;
        }
        eprintln!("\n==> [{}/{}] {}", index + 1, selected.len(), step.name);
        let start = Instant::now();
        let unavailable: Vec<&str> = missing
            .iter()
            .filter(|(tool, _)| step.needs.contains(tool))
            .map(|(tool, _)| tool.name())
            .collect();
        let result = if unavailable.is_empty() {
            (step.run)(sh, options)
        } else {
            Err(anyhow::anyhow!(
                "not run: needs {}, which setup could not install (see above)",
                unavailable.join(", ")
            ))
        };
        let seconds = start.elapsed().as_secs_f64();
        let outcome = match result {
            Ok(()) => Outcome::Pass,
            Err(err) => {
                eprintln!("==> {} FAILED: {err:#}", step.name);
                stop = options.fail_fast;
                Outcome::Fail
            }
        };
        results.push((step.name, outcome, seconds));
    }

    println!("\n{:<16} {:<6} {:>9}", "step", "result", "seconds");
    for (name, outcome, seconds) in &results {
        let outcome = match outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        };
        println!("{name:<16} {outcome:<6} {seconds:>9.1}");
    }
    let total: f64 = results.iter().map(|(_, _, seconds)| seconds).sum();
    println!("{:<16} {:<6} {total:>9.1}", "total", "");

    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, outcome, _)| *outcome == Outcome::Fail)
        .map(|(name, _, _)| *name)
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} CI steps failed: {}",
            failed.len(),
            results.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// `cargo fmt --all --check`.
fn fmt(sh: &Shell, _: &Options) -> Result<()> {
    crate::run(cmd!(sh, "cargo fmt --all --check"))
}

/// Clippy on every target and feature, with warnings denied.
fn clippy(sh: &Shell, _: &Options) -> Result<()> {
    crate::run(cmd!(
        sh,
        "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings"
    ))
}

/// The doctests, once for the whole workspace (the test matrix skips them).
fn doctest(sh: &Shell, _: &Options) -> Result<()> {
    crate::run(cmd!(
        sh,
        "cargo test --doc --workspace --all-features --locked"
    ))
}

/// The API docs, with rustdoc warnings (such as broken links) denied.
fn doc(sh: &Shell, _: &Options) -> Result<()> {
    crate::run_with_env(
        cmd!(
            sh,
            "cargo doc --workspace --all-features --no-deps --locked"
        ),
        &[("RUSTDOCFLAGS", "-D warnings")],
    )
}

/// Runs every example of the facade crate, in release mode, with its
/// arguments from [`EXAMPLE_ARGS`].
fn examples(sh: &Shell, _: &Options) -> Result<()> {
    let metadata = Metadata::load(sh)?;
    let names: Vec<&str> = metadata
        .package(EXAMPLES_PACKAGE)?
        .targets_of_kind("example")
        .collect();
    if names.is_empty() {
        eprintln!("no examples in `{EXAMPLES_PACKAGE}`");
    }
    for name in names {
        let args = EXAMPLE_ARGS
            .iter()
            .find(|(example, _)| *example == name)
            .map_or(&[][..], |(_, args)| *args);
        crate::run(cmd!(
            sh,
            "cargo run --release --locked -p {EXAMPLES_PACKAGE} --all-features --example {name} -- {args...}"
        ))?;
    }
    Ok(())
}

/// Runs every benchmark function once: criterion's test mode, which
/// `cargo test` selects by not passing `--bench`. A debug build: it proves
/// that the benches compile and run, while `cargo xtask bench` measures.
fn bench_smoke(sh: &Shell, _: &Options) -> Result<()> {
    crate::run(cmd!(
        sh,
        "cargo test --workspace --all-features --locked --bench *"
    ))
}

/// Builds the fuzz targets, then runs each one briefly, in parallel.
fn fuzz_build(sh: &Shell, options: &Options) -> Result<()> {
    crate::fuzz::build(sh)?;
    crate::fuzz::smoke(sh, options.fuzz_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|&a| a.to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn steps_have_unique_names_and_only_fuzzing_needs_nightly() {
        for (index, step) in STEPS.iter().enumerate() {
            assert!(STEPS[..index].iter().all(|s| s.name != step.name));
            assert_eq!(
                step.needs.contains(&Tool::Nightly),
                step.name == "fuzz-build",
                "{}",
                step.name
            );
        }
    }

    #[test]
    fn fuzz_smoke_runs_twenty_seconds_per_target_by_default() -> Result<()> {
        assert_eq!(parse(&[])?.fuzz_seconds, 20);
        let options = parse(&["fuzz-build", "--fuzz-seconds", "5"])?;
        assert_eq!(options.fuzz_seconds, 5);
        assert_eq!(options.only, ["fuzz-build"]);
        assert!(parse(&["--fuzz-seconds"]).is_err());
        assert!(parse(&["no-such-step"]).is_err());
        Ok(())
    }
}
