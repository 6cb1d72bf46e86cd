//! Crash test of a whole capture: a child process runs a background writer
//! into rotating CRC-32 segments with a sync policy, syncs now and then and
//! reports each sync on stdout ("durable N": messages `0..N` are durable),
//! and is killed with SIGKILL at a random moment. A second child restarts
//! the capture in the same directory (recovering the open segment) and goes
//! on from the next message number until it is killed too. Then the parent
//! opens the directory once more and checks:
//!
//! - every closed segment is a complete stream (`recover` calls it clean),
//!   starts with a header whose message number chains on from the segment
//!   before, and its sequence number follows the one before;
//! - the messages, read across all segments, are exactly `0..n` in order,
//!   byte-exact, none duplicated, and `n` is at least the last count each
//!   child reported durable.
//!
//! A `harness = false` test: the same binary is the parent and the child
//! (`CAPTURE_CRASH_CHILD` set). The trials are seeded (the seed is printed;
//! set `CAPTURE_CRASH_SEED` to replay one).

#[path = "support/common.rs"]
mod common;

use common::{deframer, framer};
use core::time::Duration;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use flatstream::{StreamHeader, StreamReader, Tail, recover};
use flatstream_capture::segment::{self, META_FIRST_MESSAGE, META_SEQUENCE};
use flatstream_capture::{
    BackgroundWriter, CaptureOptions, Rotation, SegmentOptions, SegmentWriter, SyncPolicy,
};

/// Set in the child: the capture directory.
const CHILD_VAR: &str = "CAPTURE_CRASH_CHILD";
/// Set in the child: the seed of its schedule.
const CHILD_SEED_VAR: &str = "CAPTURE_CRASH_CHILD_SEED";
/// Optional in the parent: the seed of the trials.
const SEED_VAR: &str = "CAPTURE_CRASH_SEED";

const DEFAULT_SEED: u64 = 0xCA97_0BE5_EED5_0001;
const TRIALS: usize = 50;
/// Children per trial: each restarts the capture after the one before was
/// killed.
const LIVES: usize = 2;
/// The longest a child may take to report its first sync.
const DEADLINE: Duration = Duration::from_secs(20);
/// The longest all the trials may take: the rest are failed after it.
const TOTAL_DEADLINE: Duration = Duration::from_secs(240);

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

/// The payload of message `i`: a marker byte, `i`, then 0 to 300 bytes
/// derived from `i`.
fn payload(i: u64) -> Vec<u8> {
    let mut rng = Rng::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x77);
    let extra = usize::try_from(rng.range(0, 300)).expect("small");
    let mut p = vec![0xA5];
    p.extend_from_slice(&i.to_le_bytes());
    p.extend((0..extra).map(|_| rng.next().to_le_bytes()[0]));
    p
}

/// The child: capture until killed.
fn child(dir: &Path, seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let rotation = Rotation::by_bytes(rng.range(4 * 1024, 64 * 1024));
    let options = SegmentOptions::new()
        .with_rotation(rotation)
        .with_header(StreamHeader::new().with_metadata("test", "crash"));
    let writer = SegmentWriter::open(dir, framer(), deframer(), options)
        .map_err(|e| format!("open: {e}"))?;
    let mut next = writer.next_message();
    let sync = match rng.range(0, 2) {
        0 => SyncPolicy::every_frames(rng.range(1, 200)),
        1 => SyncPolicy::every(Duration::from_millis(rng.range(1, 20))),
        _ => SyncPolicy::never(),
    };
    let capture = BackgroundWriter::spawn(
        writer,
        CaptureOptions::new()
            .sync_policy(sync)
            .queue_capacity(usize::try_from(rng.range(16, 4096)).expect("small")),
    )
    .map_err(|e| format!("spawn: {e}"))?;
    let mut producer = capture.producer();
    let mut out = std::io::stdout().lock();
    writeln!(out, "started {next}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    loop {
        let burst = rng.range(1, 500);
        for _ in 0..burst {
            producer
                .submit(&payload(next))
                .map_err(|e| format!("submit {next}: {e}"))?;
            next += 1;
        }
        if rng.range(0, 3) == 0 {
            producer.flush();
            capture.sync().map_err(|e| format!("sync: {e}"))?;
            writeln!(out, "durable {next}").map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
        }
    }
}

/// Runs one life of a trial: a child killed after it reported a few syncs.
/// Returns the last durable count it reported and the first message it
/// wrote.
fn life(exe: &Path, dir: &Path, seed: u64, rng: &mut Rng) -> Result<(u64, u64), String> {
    let mut child = Command::new(exe)
        .env(CHILD_VAR, dir)
        .env(CHILD_SEED_VAR, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawning the child: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let syncs_before_kill = rng.range(1, 12);
    let extra_wait = Duration::from_micros(rng.range(0, 20_000));
    let mut durable = 0;
    let mut started = None;
    let mut syncs = 0;
    let start = Instant::now();
    while syncs < syncs_before_kill {
        let Some(left) = DEADLINE.checked_sub(start.elapsed()) else {
            break;
        };
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(n) = line.strip_prefix("started ") {
                    started = Some(n.parse::<u64>().map_err(|e| e.to_string())?);
                } else if let Some(n) = line.strip_prefix("durable ") {
                    durable = n
                        .parse()
                        .map_err(|e: core::num::ParseIntError| e.to_string())?;
                    syncs += 1;
                }
            }
            Err(_) => break,
        }
    }
    std::thread::sleep(extra_wait);
    // SIGKILL on Unix: no destructor, no flush.
    let _ = child.kill();
    let status = child.wait().map_err(|e| e.to_string())?;
    // Lines that arrived before the kill still count.
    let _ = reader.join();
    while let Ok(line) = rx.try_recv() {
        if let Some(n) = line.strip_prefix("durable ") {
            durable = n
                .parse()
                .map_err(|e: core::num::ParseIntError| e.to_string())?;
        }
    }
    let started = started.ok_or_else(|| format!("the child never started ({status})"))?;
    if status.success() {
        return Err("the child exited on its own: it failed".into());
    }
    Ok((durable, started))
}

/// Checks the directory after the last crash; returns the messages found.
fn check_dir(dir: &Path) -> Result<u64, String> {
    // Reopening recovers and closes the open segment, as a restart would.
    let writer = SegmentWriter::open(dir, framer(), deframer(), SegmentOptions::new())
        .map_err(|e| format!("reopening: {e}"))?;
    drop(writer);
    let segments = segment::list(dir).map_err(|e| e.to_string())?;
    let mut next_message = 0;
    let mut last_sequence = None;
    for seg in &segments {
        let name = seg.path.display().to_string();
        if seg.open {
            return Err(format!("{name}: still open after a restart"));
        }
        if let Some(last) = last_sequence
            && seg.sequence <= last
        {
            return Err(format!("{name}: sequence {} after {last}", seg.sequence));
        }
        last_sequence = Some(seg.sequence);
        let file = File::open(&seg.path).map_err(|e| format!("{name}: {e}"))?;
        let recovery = recover(file, deframer()).map_err(|e| format!("{name}: {e}"))?;
        if !matches!(recovery.tail, Tail::Clean) {
            return Err(format!("{name}: a closed segment ends {:?}", recovery.tail));
        }
        let file = File::open(&seg.path).map_err(|e| format!("{name}: {e}"))?;
        let mut reader = StreamReader::new(file, deframer());
        let header = reader
            .header()
            .map_err(|e| format!("{name}: {e}"))?
            .cloned()
            .ok_or_else(|| format!("{name}: no header"))?;
        let first: u64 = header
            .metadata(META_FIRST_MESSAGE)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name}: no first message number"))?;
        if first != next_message {
            return Err(format!(
                "{name}: starts at message {first}, expected {next_message}"
            ));
        }
        let sequence: u64 = header
            .metadata(META_SEQUENCE)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name}: no sequence number"))?;
        if sequence != seg.sequence {
            return Err(format!("{name}: header says sequence {sequence}"));
        }
        reader
            .process_all(|p| {
                if p != payload(next_message).as_slice() {
                    return Err(flatstream::Error::custom(format_args!(
                        "message {next_message} differs"
                    )));
                }
                next_message += 1;
                Ok(())
            })
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(next_message)
}

fn trial(exe: &Path, dir: &Path, seed: u64) -> Result<String, String> {
    let mut rng = Rng::new(seed);
    let mut report = Vec::new();
    let mut durable_floor = 0;
    for life_index in 0..LIVES {
        let (durable, started) = life(exe, dir, rng.next(), &mut rng)?;
        if started < durable_floor {
            return Err(format!(
                "life {life_index} started at message {started}, but {durable_floor} were durable"
            ));
        }
        durable_floor = durable_floor.max(durable);
        report.push(format!("started {started}, durable {durable}"));
    }
    let found = check_dir(dir)?;
    if found < durable_floor {
        return Err(format!(
            "{found} messages found, {durable_floor} were reported durable"
        ));
    }
    report.push(format!("found {found}"));
    Ok(report.join("; "))
}

fn temp_dir(seed: u64, trial: usize) -> PathBuf {
    std::env::temp_dir().join(format!(
        "flatstream-capture-crash-{}-{seed:x}-{trial}",
        std::process::id()
    ))
}

fn main() -> ExitCode {
    if let Ok(dir) = std::env::var(CHILD_VAR) {
        let seed = std::env::var(CHILD_SEED_VAR)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        return match child(Path::new(&dir), seed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("child: {e}");
                // A child that stops on its own has failed: the parent
                // expects to kill it.
                ExitCode::from(3)
            }
        };
    }
    // `cargo test` passes filters and flags; a harness-less test takes none.
    if std::env::args().any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    println!("capture crash test: {TRIALS} trials, seed {seed} (set {SEED_VAR} to replay)");
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("current_exe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let mut failures = 0;
    for t in 0..TRIALS {
        let trial_seed = rng.next();
        let dir = temp_dir(seed, t);
        let _ = std::fs::remove_dir_all(&dir);
        let result = if started.elapsed() > TOTAL_DEADLINE {
            Err("skipped: the trials ran out of time".to_owned())
        } else {
            trial(&exe, &dir, trial_seed)
        };
        match result {
            Ok(report) => println!("trial {t} (seed {trial_seed}): ok: {report}"),
            Err(e) => {
                failures += 1;
                println!("trial {t} (seed {trial_seed}): FAILED: {e}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "{} of {TRIALS} trials passed in {:.1} s",
        TRIALS - failures,
        started.elapsed().as_secs_f64()
    );
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
