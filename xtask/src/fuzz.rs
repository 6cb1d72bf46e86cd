//! `cargo xtask fuzz [TARGET] [--seconds N]`: runs the cargo-fuzz targets.
//!
//! The fuzz crate lives in `fuzz/`, its own workspace, and needs nightly.
//! `cargo xtask ci` reuses [`build`] and [`smoke`] for its `fuzz-build` step.

use anyhow::{Context as _, Result, bail};
use xshell::{Shell, cmd};

/// The directory of the cargo-fuzz crate, relative to the workspace root.
const FUZZ_DIR: &str = "fuzz";
/// The memory limit handed to libFuzzer, in MiB.
const RSS_LIMIT_MB: &str = "2048";
/// The longest one input may run, in seconds, before libFuzzer reports it as
/// a hang (its default is 20 minutes). Inputs take milliseconds.
const TIMEOUT_SECONDS: &str = "10";
/// How long `cargo xtask fuzz` runs each target by default, in seconds.
const DEFAULT_SECONDS: u64 = 60;

/// The arguments of `cargo xtask fuzz`.
#[derive(Debug)]
pub(crate) struct Options {
    /// The one target to run; all of them when `None`.
    target: Option<String>,
    /// How long to run each target, in seconds.
    seconds: u64,
}

impl Options {
    /// Parses `[TARGET] [--seconds N]`.
    ///
    /// # Errors
    ///
    /// Fails on an unknown flag, a second target or a bad number.
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            target: None,
            seconds: DEFAULT_SECONDS,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => options.seconds = crate::parse_u64_flag(arg, args.next())?,
                flag if flag.starts_with('-') => {
                    bail!("unknown flag `{flag}`; usage: cargo xtask fuzz [TARGET] [--seconds N]")
                }
                target if options.target.is_none() => options.target = Some(target.to_owned()),
                extra => bail!(
                    "unexpected argument `{extra}`; usage: cargo xtask fuzz [TARGET] [--seconds N]"
                ),
            }
        }
        Ok(options)
    }
}

/// Fuzzes the chosen target, or every target in turn.
///
/// # Errors
///
/// Fails if the setup is missing, the target is unknown or a target finds a crash.
pub(crate) fn run(sh: &Shell, options: &Options) -> Result<()> {
    prepare(sh)?;
    let targets = list(sh)?;
    let targets = match &options.target {
        Some(target) if targets.contains(target) => vec![target.clone()],
        Some(target) => bail!(
            "unknown fuzz target `{target}`; the targets are: {}",
            targets.join(", ")
        ),
        None => targets,
    };
    for target in &targets {
        run_target(sh, target, options.seconds)?;
    }
    Ok(())
}

/// Builds every fuzz target (`cargo +nightly fuzz build` in `fuzz/`).
///
/// # Errors
///
/// Fails if the setup is missing or the build fails.
pub(crate) fn build(sh: &Shell) -> Result<()> {
    prepare(sh)?;
    let _dir = sh.push_dir(FUZZ_DIR);
    crate::run(cmd!(sh, "cargo +nightly fuzz build"))
}

/// Runs every fuzz target for `seconds` seconds, as a smoke test.
///
/// # Errors
///
/// Fails if a target cannot be listed or run, or finds a crash.
pub(crate) fn smoke(sh: &Shell, seconds: u64) -> Result<()> {
    let targets = list(sh)?;
    if targets.is_empty() {
        bail!("`cargo fuzz list` found no fuzz target in {FUZZ_DIR}/");
    }
    for target in &targets {
        run_target(sh, target, seconds)?;
    }
    Ok(())
}

/// Checks for `fuzz/Cargo.toml` and the nightly toolchain, and installs
/// cargo-fuzz when it is missing.
fn prepare(sh: &Shell) -> Result<()> {
    let manifest = format!("{FUZZ_DIR}/Cargo.toml");
    if !sh.path_exists(&manifest) {
        bail!("`{manifest}` does not exist: the fuzz crate has not been set up");
    }
    if !crate::succeeds(cmd!(sh, "rustup run nightly rustc --version")) {
        bail!("fuzzing needs the nightly toolchain: run `rustup toolchain install nightly`");
    }
    if !crate::succeeds(cmd!(sh, "cargo fuzz --version")) {
        eprintln!("cargo-fuzz is missing; installing it");
        crate::run(cmd!(sh, "cargo install cargo-fuzz --locked"))
            .context("cannot install cargo-fuzz")?;
    }
    Ok(())
}

/// The names printed by `cargo +nightly fuzz list`.
fn list(sh: &Shell) -> Result<Vec<String>> {
    let _dir = sh.push_dir(FUZZ_DIR);
    let output = crate::read(cmd!(sh, "cargo +nightly fuzz list"))?;
    Ok(output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Fuzzes one target for `seconds` seconds.
///
/// New inputs go to `fuzz/scratch/<target>` (git-ignored); the committed seeds
/// in `fuzz/corpus/<target>` are read but never written.
fn run_target(sh: &Shell, target: &str, seconds: u64) -> Result<()> {
    let _dir = sh.push_dir(FUZZ_DIR);
    let scratch = format!("scratch/{target}");
    let seeds = format!("corpus/{target}");
    sh.create_dir(&scratch)?;
    let max_time = format!("-max_total_time={seconds}");
    let rss_limit = format!("-rss_limit_mb={RSS_LIMIT_MB}");
    let timeout = format!("-timeout={TIMEOUT_SECONDS}");
    crate::run(cmd!(
        sh,
        "cargo +nightly fuzz run {target} {scratch} {seeds} -- {max_time} {rss_limit} {timeout}"
    ))
    .with_context(|| format!("fuzz target `{target}` failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|&a| a.to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_target_and_seconds() -> Result<()> {
        let all = parse(&[])?;
        assert_eq!((all.target, all.seconds), (None, DEFAULT_SECONDS));
        let one = parse(&["recover", "--seconds", "600"])?;
        assert_eq!((one.target.as_deref(), one.seconds), (Some("recover"), 600));
        assert!(parse(&["recover", "deframe"]).is_err());
        assert!(parse(&["--minutes", "3"]).is_err());
        assert!(parse(&["--seconds", "soon"]).is_err());
        Ok(())
    }
}
