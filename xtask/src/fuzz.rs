//! `cargo xtask fuzz [TARGET] [--seconds N]`: runs the cargo-fuzz targets.
//!
//! The fuzz crate lives in `fuzz/`, its own workspace, and needs nightly.
//! `cargo xtask ci` reuses [`build`] and [`smoke`] for its `fuzz-build` step;
//! its setup installs the nightly toolchain and cargo-fuzz first.

use alloc::collections::VecDeque;
use core::num::NonZeroUsize;
use std::io::{BufRead as _, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use xshell::{Shell, cmd};

use crate::tools::Tool;

/// The directory of the cargo-fuzz crate, relative to the workspace root.
const FUZZ_DIR: &str = "fuzz";
/// The memory limit handed to libFuzzer, in MiB.
const RSS_LIMIT_MB: &str = "2048";
/// The longest one input may run, in seconds, before libFuzzer reports it as
/// a hang (its default is 20 minutes). Inputs take milliseconds.
const TIMEOUT_SECONDS: &str = "10";
/// How long `cargo xtask fuzz` runs each target by default, in seconds.
const DEFAULT_SECONDS: u64 = 60;
/// How many of its last output lines a failed smoke run prints again at the
/// end, where they are not interleaved with another target's.
const FAILURE_TAIL_LINES: usize = 40;

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
    check_manifest(sh)?;
    crate::tools::require(sh, &[Tool::Nightly, Tool::CargoFuzz])?;
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

/// Builds every fuzz target (`cargo +nightly fuzz build` in `fuzz/`); the
/// nightly toolchain and cargo-fuzz must be there (`cargo xtask ci`'s setup).
///
/// # Errors
///
/// Fails if the fuzz crate is missing or the build fails.
pub(crate) fn build(sh: &Shell) -> Result<()> {
    check_manifest(sh)?;
    let _dir = sh.push_dir(FUZZ_DIR);
    crate::run(cmd!(sh, "cargo +nightly fuzz build"))
}

/// Runs every fuzz target for `seconds` seconds, as a smoke test, as many at
/// a time as there are cores (libFuzzer runs one thread). Each output line
/// is prefixed with its target's name; a failed target's last lines are
/// printed again at the end.
///
/// # Errors
///
/// Fails, naming them, if targets cannot be listed or run, or find a crash.
pub(crate) fn smoke(sh: &Shell, seconds: u64) -> Result<()> {
    let targets = list(sh)?;
    if targets.is_empty() {
        bail!("`cargo fuzz list` found no fuzz target in {FUZZ_DIR}/");
    }
    let jobs = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(targets.len());
    eprintln!(
        "fuzz smoke: {} targets, {seconds} s each, {jobs} at a time",
        targets.len()
    );
    let width = targets.iter().map(String::len).max().unwrap_or_default();
    let mut queue = VecDeque::new();
    for target in &targets {
        queue.push_back((target.as_str(), target_command(sh, target, seconds)?));
    }
    let queue = Mutex::new(queue);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some((target, command)) =
                    queue.lock().ok().and_then(|mut q| q.pop_front())
                {
                    let outcome = run_prefixed(&format!("[{target:<width$}] "), command);
                    if let Ok(mut outcomes) = outcomes.lock() {
                        outcomes.push((target, outcome));
                    }
                }
            });
        }
    });

    let outcomes = outcomes.into_inner().unwrap_or_default();
    let mut failed = Vec::new();
    for target in &targets {
        match outcomes.iter().find(|(name, _)| name == target) {
            Some((_, Ok(seconds))) => eprintln!("fuzz smoke: {target:<width$} ok ({seconds:.1} s)"),
            Some((_, Err((err, tail)))) => {
                eprintln!("\n==> fuzz target `{target}` failed: {err:#}; its last lines:");
                for line in tail {
                    eprintln!("    {line}");
                }
                failed.push(target.as_str());
            }
            None => failed.push(target.as_str()),
        }
    }
    if !failed.is_empty() {
        bail!("fuzz target(s) failed: {}", failed.join(", "));
    }
    Ok(())
}

/// The outcome of one smoke run: its seconds, or the error with the last
/// lines of output.
type SmokeOutcome = Result<f64, (anyhow::Error, VecDeque<String>)>;

/// Runs `command`, printing each line of its stdout and stderr to stderr
/// behind `prefix`.
fn run_prefixed(prefix: &str, mut command: Command) -> SmokeOutcome {
    let start = Instant::now();
    let tail = Mutex::new(VecDeque::new());
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => {
            return Err((
                anyhow::Error::new(err).context("cannot start it"),
                VecDeque::new(),
            ));
        }
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    std::thread::scope(|scope| {
        if let Some(out) = stdout {
            scope.spawn(|| print_lines(prefix, out, &tail));
        }
        if let Some(err) = stderr {
            print_lines(prefix, err, &tail);
        }
    });
    let tail = tail.into_inner().unwrap_or_default();
    match child.wait() {
        Ok(status) if status.success() => Ok(start.elapsed().as_secs_f64()),
        Ok(status) => Err((anyhow::anyhow!("it exited with {status}"), tail)),
        Err(err) => Err((anyhow::Error::new(err), tail)),
    }
}

/// Copies `pipe` to stderr line by line behind `prefix`, keeping the last
/// [`FAILURE_TAIL_LINES`] lines in `tail`.
fn print_lines(prefix: &str, pipe: impl Read, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        eprintln!("{prefix}{line}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == FAILURE_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
        }
        buf.clear();
    }
}

/// Fails unless the fuzz crate is there.
fn check_manifest(sh: &Shell) -> Result<()> {
    let manifest = format!("{FUZZ_DIR}/Cargo.toml");
    if !sh.path_exists(&manifest) {
        bail!("`{manifest}` does not exist: the fuzz crate has not been set up");
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
fn run_target(sh: &Shell, target: &str, seconds: u64) -> Result<()> {
    let mut command = target_command(sh, target, seconds)?;
    let status = command
        .status()
        .with_context(|| format!("cannot run fuzz target `{target}`"))?;
    if !status.success() {
        bail!("fuzz target `{target}` failed ({status})");
    }
    Ok(())
}

/// The command that fuzzes `target` for `seconds` seconds, echoed to stderr.
///
/// New inputs go to `fuzz/scratch/<target>` (git-ignored); the committed seeds
/// in `fuzz/corpus/<target>` are read but never written.
fn target_command(sh: &Shell, target: &str, seconds: u64) -> Result<Command> {
    let _dir = sh.push_dir(FUZZ_DIR);
    let scratch = format!("scratch/{target}");
    let seeds = format!("corpus/{target}");
    sh.create_dir(&scratch)?;
    let max_time = format!("-max_total_time={seconds}");
    let rss_limit = format!("-rss_limit_mb={RSS_LIMIT_MB}");
    let timeout = format!("-timeout={TIMEOUT_SECONDS}");
    let cmd = cmd!(
        sh,
        "cargo +nightly fuzz run {target} {scratch} {seeds} -- {max_time} {rss_limit} {timeout}"
    );
    eprintln!("$ {cmd}");
    // The conversion fixes the working directory while `_dir` holds.
    Ok(Command::from(cmd))
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
