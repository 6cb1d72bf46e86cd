//! `cargo xtask ci`: every CI check, in order, with a summary table.
//!
//! CI runs exactly this command (through `.ci/run` and the `xtask-ci` job of
//! `.github/workflows/ci.yml`), so a green local run means a green CI run.
//! All steps run by default and the failures are reported at the end;
//! `--fail-fast` stops at the first failure.

use std::time::Instant;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::metadata::Metadata;

/// How long each fuzz target runs in the `fuzz-build` step by default, in
/// seconds: a smoke run of tens of seconds per target (issue 3).
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
    /// What the step does.
    run: fn(&Shell, &Options) -> Result<()>,
}

/// Every step, in the order CI runs them.
const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        run: fmt,
    },
    Step {
        name: "clippy",
        run: clippy,
    },
    Step {
        name: "tidy",
        run: |sh, _| crate::tidy::run(sh),
    },
    Step {
        name: "test-matrix",
        run: |sh, _| crate::test_matrix::run(sh),
    },
    Step {
        name: "doctest",
        run: doctest,
    },
    Step {
        name: "doc",
        run: doc,
    },
    Step {
        name: "examples",
        run: examples,
    },
    Step {
        name: "bench-build",
        run: bench_build,
    },
    Step {
        name: "fuzz-build",
        run: fuzz_build,
    },
    Step {
        name: "codegen-check",
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
    for (index, step) in selected.iter().enumerate() {
        if stop {
            results.push((step.name, Outcome::Skip, 0.0));
            continue;
        }
        eprintln!("\n==> [{}/{}] {}", index + 1, selected.len(), step.name);
        let start = Instant::now();
        let result = (step.run)(sh, options);
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

/// Builds the benchmarks without running them.
fn bench_build(sh: &Shell, _: &Options) -> Result<()> {
    crate::run(cmd!(
        sh,
        "cargo bench --workspace --all-features --locked --no-run"
    ))
}

/// Builds the fuzz targets, then runs each one briefly.
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
