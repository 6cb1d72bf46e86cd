//! Crash test: a child process writes frames and flushes in a loop, reporting
//! every flushed frame count on stdout, and is killed (SIGKILL on Unix) at a
//! random moment. Recovery of its file must return every frame reported
//! flushed, byte-exact, and no frame that was not written; appending after
//! `recover_file_for_append` and re-reading gives the old frames and then the
//! new ones.
//!
//! This is a `harness = false` test: the same binary is the parent (no
//! environment variable) and the child (`FLATSTREAM_CRASH_CHILD` set). The
//! trials are seeded (the seed is printed; set `FLATSTREAM_CRASH_SEED` to
//! replay one) and cycle through every framer pair of this build.
//!
//! Payloads are never empty and their lengths never a multiple of 256, so
//! that no partial frame and no whole frame is made only of zero bytes:
//! `recover` reports such bytes at the end as a zero-filled tail, which is
//! tested in `behaviour/recovery.rs`. Here every tail must be clean or torn.
//!
//! Lock trials follow (their own seeded schedule, derived from the same
//! seed): the file starts with frames and a torn frame written by the
//! parent; a child (`FLATSTREAM_CRASH_MODE=locked-writer`) opens it with
//! `recover_file_for_append`, which truncates the torn frame and holds the
//! file's exclusive lock, and goes on writing and flushing as above. While
//! it runs, the parent and then a second child (`recoverer`) call
//! `recover_file_for_append` on the same file: both must be refused with
//! `ErrorKind::Locked` and leave the file as it was (the writer only
//! appends, so what was there before must still be there after). Then the
//! writer is SIGKILLed; its lock dies with it, and the same check as for
//! the other trials must find every frame it reported flushed.

// Two helper modules of the `behaviour` test binary, of which this binary
// uses a part.
#[allow(
    unused_macros,
    unused_imports,
    reason = "only `for_each_framer_pair` is used"
)]
#[path = "behaviour/support/framers.rs"]
mod framers;
#[allow(
    dead_code,
    reason = "only the temporary files and `read_until_error` are used"
)]
#[path = "behaviour/support/streams.rs"]
mod streams;

use core::time::Duration;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use std::path::Path;

use flatstream::{
    Deframer, ErrorKind, Framer, StreamReader, StreamWriter, Tail, recover, recover_file_for_append,
};
use streams::{TempPath, read_until_error};

/// Set in the child: the path of the file to write.
const CHILD_VAR: &str = "FLATSTREAM_CRASH_CHILD";
/// Set in the child: the name of the framer pair.
const FRAMER_VAR: &str = "FLATSTREAM_CRASH_FRAMER";
/// Set in the child: the seed of its flush schedule.
const CHILD_SEED_VAR: &str = "FLATSTREAM_CRASH_CHILD_SEED";
/// Optional in the parent: the seed of the trials.
const SEED_VAR: &str = "FLATSTREAM_CRASH_SEED";
/// Set in a child of a lock trial: `locked-writer` or `recoverer`.
const MODE_VAR: &str = "FLATSTREAM_CRASH_MODE";
const LOCKED_WRITER: &str = "locked-writer";
const RECOVERER: &str = "recoverer";
/// The exit code of a recoverer child that was refused with `Locked`.
const RECOVERER_REFUSED: i32 = 0;
/// The exit code of a recoverer child that was not.
const RECOVERER_NOT_REFUSED: i32 = 3;

const DEFAULT_SEED: u64 = 0x5EED_F1A7_5743_A11D;
const TRIALS: usize = 60;
/// Lock trials, after the others.
const LOCK_TRIALS: usize = 16;
/// Mixed into the seed for the lock trials' schedule.
const LOCK_SALT: u64 = 0x10C4_ED00_F11E_0000;
/// Frames appended after recovery.
const APPENDED: u64 = 10;
/// The longest a trial may wait for the child's reports.
const DEADLINE: Duration = Duration::from_secs(10);
/// The longest all the trials may take: the rest are failed after it.
const TOTAL_DEADLINE: Duration = Duration::from_secs(120);

/// xorshift64*: small, seedable, good enough to pick moments.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The payload of frame `i`: 1 to about 3000 bytes, never a multiple of
/// 256 long, its content derived from `i` (its first bytes are `i`).
fn payload(i: u64) -> Vec<u8> {
    let mut rng = Rng::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xABCD);
    let mut len = usize::try_from(rng.range(1, 3000)).expect("small");
    if len % 256 == 0 {
        len += 1;
    }
    let id = i.to_le_bytes();
    (0..len)
        .map(|j| {
            id.get(j)
                .copied()
                .unwrap_or_else(|| rng.next().to_le_bytes()[3])
        })
        .collect()
}

/// One framer pair of this build, by name.
#[derive(Clone, Copy)]
struct Pair {
    name: &'static str,
    child: fn(&str, u64) -> !,
    check: fn(&Trial) -> Result<Verdict, String>,
    /// The child of a lock trial that writes under the lock.
    locked_child: fn(&str, u64) -> !,
    /// The child of a lock trial that tries to recover the locked file.
    recoverer: fn(&str) -> !,
    /// Tries to recover the file at the path: must be refused as locked.
    expect_locked: fn(&Path) -> Result<(), String>,
    /// Writes frames `0..n` and a torn frame `n` to the path, seeded.
    prefill: fn(&Path, u64, &mut Rng) -> Result<(), String>,
}

fn pairs() -> Vec<Pair> {
    let mut pairs = Vec::new();
    macro_rules! pair {
        ($name:ident, $framer:ty, $deframer:ty) => {
            pairs.push(Pair {
                name: stringify!($name),
                child: run_child::<$framer>,
                check: check_trial::<$framer, $deframer>,
                locked_child: run_locked_child::<$framer, $deframer>,
                recoverer: run_recoverer::<$deframer>,
                expect_locked: expect_locked::<$deframer>,
                prefill: prefill::<$framer>,
            });
        };
    }
    framers::for_each_framer_pair!(pair);
    pairs
}

/// The child: writes `payload(0)`, `payload(1)`, ... through a small
/// `BufWriter` (so frames are split across write calls), flushes every 1 to
/// 12 frames and prints the number of frames flushed so far. Forever, or
/// until killed; it stops by itself after a minute or 200 MiB as a safety
/// net, and when its stdout is closed.
fn run_child<F: Framer + Default>(path: &str, seed: u64) -> ! {
    let file = std::fs::File::create(path).expect("child: create");
    let mut writer = StreamWriter::new(BufWriter::with_capacity(4096, file), F::default())
        .allow_empty_payloads(true);
    let mut rng = Rng::new(seed);
    let mut stdout = std::io::stdout().lock();
    let started = Instant::now();
    let mut next_flush = rng.range(1, 12);
    for i in 0.. {
        writer.write_payload(&payload(i)).expect("child: write");
        if i + 1 == next_flush {
            writer.flush().expect("child: flush");
            if writeln!(stdout, "{}", i + 1)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
            next_flush += rng.range(1, 12);
            if started.elapsed() > Duration::from_secs(60) || writer.bytes_written() > 200 << 20 {
                break;
            }
        }
    }
    std::process::exit(0)
}

/// What a trial left behind, for `check_trial`.
struct Trial {
    path: TempPath,
    /// The highest frame count the child reported flushed.
    flushed: u64,
}

/// What the check found, for the summary.
#[derive(Debug)]
struct Verdict {
    recovered: u64,
    torn: bool,
}

fn check_trial<F: Framer + Default, D: Deframer + Default>(
    trial: &Trial,
) -> Result<Verdict, String> {
    let path = trial.path.path();
    let bytes = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
    let recovery = recover(bytes.as_slice(), D::default()).map_err(|e| format!("recover: {e}"))?;
    let torn = match recovery.tail {
        Tail::Clean => {
            if recovery.valid_len != bytes.len() as u64 {
                return Err(format!("clean, but {recovery:?} of {} bytes", bytes.len()));
            }
            false
        }
        Tail::Torn { offset, len } => {
            if offset != recovery.valid_len || offset + len != bytes.len() as u64 {
                return Err(format!("torn tail {recovery:?} of {} bytes", bytes.len()));
            }
            true
        }
        ref other => return Err(format!("tail {other:?} ({recovery:?})")),
    };
    if recovery.frames < trial.flushed {
        return Err(format!(
            "{} frames reported flushed, {} recovered",
            trial.flushed, recovery.frames
        ));
    }

    // Every recovered frame is the one written, byte for byte.
    let valid_len = usize::try_from(recovery.valid_len).map_err(|e| e.to_string())?;
    let mut reader = StreamReader::new(&bytes[..valid_len], D::default());
    let (payloads, err) = read_until_error(&mut reader);
    if let Some(err) = err {
        return Err(format!("re-reading the recovered frames: {err}"));
    }
    if payloads.len() as u64 != recovery.frames {
        return Err(format!("{} frames re-read, {recovery:?}", payloads.len()));
    }
    if let Some(i) =
        (0..recovery.frames).find(|&i| payloads[usize::try_from(i).expect("fits")] != payload(i))
    {
        return Err(format!("frame {i} differs from what was written"));
    }

    // Recover the file for appending, append, and read it all back.
    let (file, for_append) =
        recover_file_for_append(path, D::default()).map_err(|e| format!("recover file: {e}"))?;
    if (for_append.frames, for_append.valid_len) != (recovery.frames, recovery.valid_len) {
        return Err(format!(
            "the file helper found {for_append:?}, not {recovery:?}"
        ));
    }
    let mut writer = StreamWriter::new(BufWriter::new(file), F::default())
        .allow_empty_payloads(true)
        .starting_at(for_append.end_position());
    for i in recovery.frames..recovery.frames + APPENDED {
        writer
            .write_payload(&payload(i))
            .map_err(|e| format!("append: {e}"))?;
    }
    writer.flush().map_err(|e| format!("flush: {e}"))?;
    let total = recovery.frames + APPENDED;
    if writer.frames_written() != total {
        return Err(format!(
            "the writer counts {} frames",
            writer.frames_written()
        ));
    }
    drop(writer);

    let bytes = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (payloads, err) = read_until_error(&mut reader);
    if let Some(err) = err {
        return Err(format!("re-reading after the append: {err}"));
    }
    let expected: Vec<Vec<u8>> = (0..total).map(payload).collect();
    if payloads != expected {
        return Err(format!(
            "after the append: {} frames, {} expected, or a payload differs",
            payloads.len(),
            expected.len()
        ));
    }
    let after = recover(bytes.as_slice(), D::default()).map_err(|e| format!("recover: {e}"))?;
    if !matches!(after.tail, Tail::Clean) || after.frames != total {
        return Err(format!("after the append: {after:?}"));
    }
    Ok(Verdict {
        recovered: recovery.frames,
        torn,
    })
}

/// Spawns the child for `pair`, lets it report `reports` flushes, waits a
/// little, kills it, and collects every count it reported.
fn run_trial(pair: Pair, rng: &mut Rng, n: usize) -> Result<Trial, String> {
    let path = TempPath::new(&format!("crash-{n}-{}", pair.name));
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .env(CHILD_VAR, path.path())
        .env(FRAMER_VAR, pair.name)
        .env(CHILD_SEED_VAR, rng.next().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = child.stdout.take().expect("piped");

    // A thread reads the reports, so that the wait for them can time out.
    // Only whole lines count: a line is printed after the flush it reports.
    let (tx, rx) = mpsc::channel::<Result<u64, String>>();
    let lines = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            let report = match stdout.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if !line.ends_with('\n') => break,
                Ok(_) => line
                    .trim_end()
                    .parse::<u64>()
                    .map_err(|e| format!("report {line:?}: {e}")),
                Err(e) => Err(e.to_string()),
            };
            if tx.send(report).is_err() {
                break;
            }
        }
    });

    let mut flushed = 0;
    let mut problem = None;
    let mut take = |report: Result<u64, String>, problem: &mut Option<String>| match report {
        Ok(count) if count > flushed => flushed = count,
        Ok(count) => {
            *problem = problem
                .take()
                .or(Some(format!("count {count} after {flushed}")))
        }
        Err(e) => *problem = problem.take().or(Some(e)),
    };
    let reports = rng.range(1, 25);
    let deadline = Instant::now() + DEADLINE;
    for _ in 0..reports {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(report) => take(report, &mut problem),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                problem = Some(format!("no report within {DEADLINE:?}"));
                break;
            }
            // The child stopped by itself: it is checked all the same.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Kill it at a random moment: right away, or after up to 2 ms.
    let pause = rng.range(0, 3000);
    if pause >= 1000 {
        std::thread::sleep(Duration::from_micros(pause - 1000));
    }
    let _ = child.kill();
    child.wait().map_err(|e| format!("wait: {e}"))?;
    lines
        .join()
        .map_err(|_| "the report reader panicked".to_owned())?;
    // The counts reported between the last one read and the kill.
    for report in rx.try_iter() {
        take(report, &mut problem);
    }
    match problem {
        Some(problem) => Err(problem),
        None => Ok(Trial { path, flushed }),
    }
}

/// The writer child of a lock trial: opens the file with
/// `recover_file_for_append` (truncating the torn frame the parent left,
/// and holding the lock), reports the frame count it recovered, then writes
/// `payload(n)`, `payload(n + 1)`, ... and reports flushes as `run_child`.
fn run_locked_child<F: Framer + Default, D: Deframer + Default>(path: &str, seed: u64) -> ! {
    let (file, recovery) =
        recover_file_for_append(path, D::default()).expect("locked child: recover");
    let mut writer = StreamWriter::new(BufWriter::with_capacity(4096, file), F::default())
        .allow_empty_payloads(true)
        .starting_at(recovery.end_position());
    let mut rng = Rng::new(seed);
    let mut stdout = std::io::stdout().lock();
    let started = Instant::now();
    // The first report: the lock is held, and the file holds this many frames.
    if writeln!(stdout, "{}", recovery.frames)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
    let mut next_flush = recovery.frames + rng.range(1, 12);
    for i in recovery.frames.. {
        writer
            .write_payload(&payload(i))
            .expect("locked child: write");
        if i + 1 == next_flush {
            writer.flush().expect("locked child: flush");
            if writeln!(stdout, "{}", i + 1)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
            next_flush += rng.range(1, 12);
            if started.elapsed() > Duration::from_secs(60) || writer.bytes_written() > 200 << 20 {
                break;
            }
        }
    }
    std::process::exit(0)
}

/// The recoverer child of a lock trial: tries to recover the file, and
/// exits with `RECOVERER_REFUSED` if it was refused as locked.
fn run_recoverer<D: Deframer + Default>(path: &str) -> ! {
    match expect_locked::<D>(Path::new(path)) {
        Ok(()) => std::process::exit(RECOVERER_REFUSED),
        Err(problem) => {
            eprintln!("crash_recovery: recoverer child: {problem}");
            std::process::exit(RECOVERER_NOT_REFUSED)
        }
    }
}

/// Tries to recover the file at `path` for appending: it must be refused
/// with `ErrorKind::Locked`.
fn expect_locked<D: Deframer + Default>(path: &Path) -> Result<(), String> {
    match recover_file_for_append(path, D::default()) {
        Err(err) if matches!(err.kind(), ErrorKind::Locked) => Ok(()),
        Err(err) => Err(format!("expected ErrorKind::Locked, got: {err}")),
        Ok((_, recovery)) => Err(format!("recovered a locked file: {recovery:?}")),
    }
}

/// Writes frames `payload(0..frames)` to `path` and the start of frame
/// `frames`, cut inside it at a random point: what a crashed writer left.
fn prefill<F: Framer + Default>(path: &Path, frames: u64, rng: &mut Rng) -> Result<(), String> {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    for i in 0..frames {
        writer
            .write_payload(&payload(i))
            .map_err(|e| format!("prefill: {e}"))?;
    }
    let start = writer.bytes_written();
    writer
        .write_payload(&payload(frames))
        .map_err(|e| format!("prefill: {e}"))?;
    let end = writer.bytes_written();
    let mut bytes = writer.into_inner();
    let cut = start + rng.range(1, end - start - 1);
    bytes.truncate(usize::try_from(cut).map_err(|e| e.to_string())?);
    std::fs::write(path, &bytes).map_err(|e| format!("prefill: {e}"))
}

/// Reads the file at `path`; checks that it still begins with `before`.
fn still_begins_with(path: &Path, before: &[u8], who: &str) -> Result<(), String> {
    let after = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
    if after.len() < before.len() || after[..before.len()] != *before {
        return Err(format!(
            "the file changed under the writer after {who} tried to recover it: {} bytes before, \
             {} after",
            before.len(),
            after.len()
        ));
    }
    Ok(())
}

/// Reports from a child, read on a thread so that waiting for them can time
/// out; only whole lines count (a line is printed after what it reports).
struct Reports {
    rx: mpsc::Receiver<Result<u64, String>>,
    /// Taken when joined.
    thread: Option<std::thread::JoinHandle<()>>,
    /// The highest count reported.
    flushed: u64,
    /// The first problem seen.
    problem: Option<String>,
}

impl Reports {
    fn new(stdout: std::process::ChildStdout) -> Self {
        let (tx, rx) = mpsc::channel::<Result<u64, String>>();
        let thread = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                let report = match stdout.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) if !line.ends_with('\n') => break,
                    Ok(_) => line
                        .trim_end()
                        .parse::<u64>()
                        .map_err(|e| format!("report {line:?}: {e}")),
                    Err(e) => Err(e.to_string()),
                };
                if tx.send(report).is_err() {
                    break;
                }
            }
        });
        Reports {
            rx,
            thread: Some(thread),
            flushed: 0,
            problem: None,
        }
    }

    fn take(&mut self, report: Result<u64, String>) {
        match report {
            Ok(count) if count > self.flushed => self.flushed = count,
            Ok(count) => {
                let flushed = self.flushed;
                self.problem
                    .get_or_insert_with(|| format!("count {count} after {flushed}"));
            }
            Err(e) => {
                self.problem.get_or_insert(e);
            }
        }
    }

    /// Waits for `count` more reports, until `deadline`. Returns whether
    /// they came (false: the child stopped, or the deadline passed, which is
    /// a problem).
    fn wait_for(&mut self, count: u64, deadline: Instant) -> bool {
        for _ in 0..count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(report) => self.take(report),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.problem
                        .get_or_insert_with(|| format!("no report within {DEADLINE:?}"));
                    return false;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
        true
    }

    /// After the child is dead: the reports it made before it died.
    fn finish(mut self) -> Result<u64, String> {
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|_| "the report reader panicked".to_owned())?;
        }
        while let Ok(report) = self.rx.try_recv() {
            self.take(report);
        }
        match self.problem {
            Some(problem) => Err(problem),
            None => Ok(self.flushed),
        }
    }
}

/// A lock trial: prefill, a writer child under the lock, two refused
/// recoveries while it writes, a SIGKILL; returns what `check_trial` checks.
fn run_lock_trial(pair: Pair, rng: &mut Rng, n: usize) -> Result<Trial, String> {
    let path = TempPath::new(&format!("crash-locked-{n}-{}", pair.name));
    let prefilled = rng.range(1, 20);
    (pair.prefill)(path.path(), prefilled, rng)?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut writer = Command::new(&exe)
        .env(CHILD_VAR, path.path())
        .env(FRAMER_VAR, pair.name)
        .env(CHILD_SEED_VAR, rng.next().to_string())
        .env(MODE_VAR, LOCKED_WRITER)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut reports = Reports::new(writer.stdout.take().expect("piped"));
    let deadline = Instant::now() + DEADLINE;
    let outcome = (|| {
        // The first report says the lock is held; a few flushes more.
        let before = rng.range(1, 8);
        if !reports.wait_for(before, deadline) {
            return Err("the writer stopped before the recovery attempts".to_owned());
        }
        if reports.flushed < prefilled {
            return Err(format!(
                "the writer recovered {} of the {prefilled} frames written before it",
                reports.flushed
            ));
        }

        // This process tries to recover the file under the writer.
        let snapshot = std::fs::read(path.path()).map_err(|e| format!("read: {e}"))?;
        (pair.expect_locked)(path.path()).map_err(|e| format!("the parent: {e}"))?;
        still_begins_with(path.path(), &snapshot, "the parent")?;

        // So does another process.
        let snapshot = std::fs::read(path.path()).map_err(|e| format!("read: {e}"))?;
        let status = Command::new(&exe)
            .env(CHILD_VAR, path.path())
            .env(FRAMER_VAR, pair.name)
            .env(MODE_VAR, RECOVERER)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| format!("spawn the recoverer: {e}"))?;
        if status.code() != Some(RECOVERER_REFUSED) {
            return Err(format!("the recoverer child was not refused: {status}"));
        }
        still_begins_with(path.path(), &snapshot, "the recoverer child")?;

        // The writer goes on after both.
        let after = rng.range(1, 8);
        if !reports.wait_for(after, deadline) {
            return Err("the writer stopped after the recovery attempts".to_owned());
        }
        Ok(())
    })();
    // Kill it at a random moment: right away, or after up to 2 ms.
    let pause = rng.range(0, 3000);
    if pause >= 1000 {
        std::thread::sleep(Duration::from_micros(pause - 1000));
    }
    let _ = writer.kill();
    writer.wait().map_err(|e| format!("wait: {e}"))?;
    let flushed = reports.finish()?;
    outcome?;
    Ok(Trial { path, flushed })
}

fn main() -> ExitCode {
    let pairs = pairs();
    if let Ok(path) = std::env::var(CHILD_VAR) {
        let name = std::env::var(FRAMER_VAR).expect("child: framer");
        let seed = std::env::var(CHILD_SEED_VAR)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let pair = pairs
            .iter()
            .find(|p| p.name == name)
            .expect("child: known framer");
        match std::env::var(MODE_VAR).ok().as_deref() {
            None => (pair.child)(&path, seed),
            Some(LOCKED_WRITER) => (pair.locked_child)(&path, seed),
            Some(RECOVERER) => (pair.recoverer)(&path),
            Some(other) => panic!("child: unknown mode {other:?}"),
        }
    }

    // Listing (`cargo test -- --list`): this binary is one test, not listed.
    if std::env::args().any(|arg| arg == "--list") {
        return ExitCode::SUCCESS;
    }

    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let names: Vec<&str> = pairs.iter().map(|p| p.name).collect();
    println!("crash_recovery: seed {seed}, {TRIALS} trials over {names:?}");
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let (mut passed, mut failed, mut torn, mut frames) = (0, 0, 0, 0);
    for n in 0..TRIALS {
        let pair = pairs[n % pairs.len()];
        if started.elapsed() > TOTAL_DEADLINE {
            failed += TRIALS - n;
            eprintln!("crash_recovery: out of time after {n} trials");
            break;
        }
        let outcome = run_trial(pair, &mut rng, n).and_then(|trial| {
            let verdict = (pair.check)(&trial);
            if verdict.is_err() {
                let mut trial = trial;
                trial.path.keep();
                eprintln!("crash_recovery: kept {}", trial.path.path().display());
            }
            verdict
        });
        match outcome {
            Ok(verdict) => {
                passed += 1;
                torn += usize::from(verdict.torn);
                frames += verdict.recovered;
            }
            Err(problem) => {
                failed += 1;
                eprintln!(
                    "crash_recovery: trial {n} ({}) failed: {problem}",
                    pair.name
                );
            }
        }
    }
    println!(
        "crash_recovery: {passed} passed, {failed} failed ({torn} torn tails, {frames} frames recovered, {:.1?})",
        started.elapsed()
    );

    let lock_started = Instant::now();
    let mut rng = Rng::new(seed ^ LOCK_SALT);
    let (mut lock_passed, mut lock_frames) = (0, 0);
    for n in 0..LOCK_TRIALS {
        let pair = pairs[n % pairs.len()];
        if started.elapsed() > TOTAL_DEADLINE {
            failed += LOCK_TRIALS - n;
            eprintln!("crash_recovery: out of time after {n} lock trials");
            break;
        }
        let outcome = run_lock_trial(pair, &mut rng, n).and_then(|trial| {
            let verdict = (pair.check)(&trial);
            if verdict.is_err() {
                let mut trial = trial;
                trial.path.keep();
                eprintln!("crash_recovery: kept {}", trial.path.path().display());
            }
            verdict
        });
        match outcome {
            Ok(verdict) => {
                lock_passed += 1;
                lock_frames += verdict.recovered;
            }
            Err(problem) => {
                failed += 1;
                eprintln!(
                    "crash_recovery: lock trial {n} ({}) failed: {problem}",
                    pair.name
                );
            }
        }
    }
    println!(
        "crash_recovery: {lock_passed} of {LOCK_TRIALS} lock trials passed ({lock_frames} frames recovered, {:.1?})",
        lock_started.elapsed()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
