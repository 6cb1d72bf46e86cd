//! Telemetry capture, end to end: producers, a background writer into
//! rotating CRC-32 segments with a durability policy, a follower replaying
//! the capture as it is written, and a replay afterwards.
//!
//! This example generates `COUNT` sensor readings as `Telemetry`
//! FlatBuffers (schema: `crates/flatstream/schema/telemetry.fbs`) on
//! producer threads and hands them to a [`BackgroundWriter`], which frames
//! them with CRC-32 and writes them on its own I/O thread into a directory
//! of segment files (a new one every 64 MiB, each with a self-describing
//! header that carries the schema, and a sparse index with timestamps),
//! syncing every 100 ms ([`SyncPolicy`]). While it runs, a [`Follower`]
//! tails the directory, verifies every message (the FlatBuffers verifier,
//! then every field against the reading that was written, regenerated from
//! its index), and checks that each producer's messages arrive exactly once
//! and in order. Afterwards the closed segments are replayed once more at
//! full speed, a thread per core, each taking whole segments.
//!
//! It prints the throughput of each part and a per-stage breakdown:
//! generate, build, submit (the queue), frame+write and sync (the I/O
//! thread), read and verify (the replay). Stage times are sampled on
//! every 16th message and scaled, so that the clock does not cost more than
//! the work it measures. They are wall-clock times: while more threads are
//! busy than there are cores (producers, the I/O thread and the follower on
//! two cores), they include the time a thread waited for a core, so they add
//! up to more than the elapsed time. The program fails (non-zero exit) on
//! any mismatch.
//!
//! ```text
//! cargo run --release -p flatstream --features crc32 --example telemetry_demo -- 1000000
//! cargo run --release -p flatstream --features crc32 --example telemetry_demo -- 1000000 capture-dir --producers 2
//! ```
//!
//! Without a directory it uses one in the temporary directory and removes it
//! afterwards. `flatstream info DIR` and `flatstream cat --json DIR` read a
//! kept capture.

extern crate alloc;

use alloc::sync::Arc;
use core::error::Error;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamHeader};
use flatstream_capture::{
    BackgroundWriter, CaptureOptions, Follower, IndexOptions, Rotation, SegmentOptions,
    SegmentWriter, Stats, SyncPolicy, segment,
};
use indicatif::{ProgressBar, ProgressStyle};

#[path = "../schema/telemetry.rs"]
mod telemetry;

use telemetry::{
    check_ref, finish_telemetry_buffer, root_as_telemetry, sample_ref,
    telemetry_buffer_has_identifier,
};

const DEFAULT_COUNT: u64 = 1_000_000;
/// The size at which the writer starts a new segment.
const SEGMENT_BYTES: u64 = 64 << 20;
/// The group commit: every frame is durable at most this long after it was
/// written.
const SYNC_EVERY: Duration = Duration::from_millis(100);
/// Stage times are measured on one message in this many.
const SAMPLE_EVERY: u64 = 16;
/// Readings per sensor cycle: message `i` is sensor `i % 16`, sequence
/// `i / 16` (see `Reading::sample`).
const SENSORS: u64 = 16;

/// What the command line asked for.
struct Args {
    count: u64,
    dir: Option<PathBuf>,
    producers: u64,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        count: DEFAULT_COUNT,
        dir: None,
        producers: 1,
    };
    let mut positional = 0;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if arg == "--producers" {
            let n = it.next().ok_or("--producers needs a number")?;
            args.producers = n
                .parse::<u64>()
                .ok()
                .filter(|&p| (1..=64).contains(&p))
                .ok_or_else(|| format!("--producers {n:?}: a number from 1 to 64"))?;
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg:?}").into());
        } else if positional == 0 {
            args.count = arg
                .replace('_', "")
                .parse::<u64>()
                .map_err(|e| format!("message count {arg:?}: {e}"))?;
            positional += 1;
        } else if positional == 1 {
            args.dir = Some(PathBuf::from(arg));
            positional += 1;
        } else {
            return Err(format!("unexpected argument {arg:?}").into());
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("flatstream-telemetry-demo-{}", std::process::id()))
    });
    if args.dir.is_none() {
        // Best effort: a directory left by a crashed run of the same pid.
        let _ = std::fs::remove_dir_all(&dir);
    }
    let result = run(&args, &dir);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match result {
        // A closed stdout (`| head`) ends the report, not the program's
        // success: the capture itself was done and verified.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Nanoseconds spent in each stage, on the sampled messages.
#[derive(Default)]
struct StageClock {
    generate: AtomicU64,
    build: AtomicU64,
    submit: AtomicU64,
    read: AtomicU64,
    verify: AtomicU64,
}

fn add(counter: &AtomicU64, from: Instant, to: Instant) {
    let ns = u64::try_from(to.duration_since(from).as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(ns, Ordering::Relaxed);
}

fn run(args: &Args, dir: &Path) -> Result<(), Box<dyn Error>> {
    let count = args.count;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "FlatStream telemetry capture: CRC-32 framed Telemetry FlatBuffers"
    )?;
    writeln!(
        out,
        "directory: {} (segments of {} MiB, sync every {} ms, {} producer thread{})",
        dir.display(),
        SEGMENT_BYTES >> 20,
        SYNC_EVERY.as_millis(),
        args.producers,
        if args.producers == 1 { "" } else { "s" }
    )?;
    let timestamp: flatstream_capture::TimestampFn =
        Arc::new(|payload: &[u8]| root_as_telemetry(payload).ok().map(|t| t.timestamp_ns()));
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_bytes(SEGMENT_BYTES))
        .with_header(capture_header())
        .with_index(IndexOptions::new().with_timestamp(timestamp));
    let writer = SegmentWriter::open(dir, framer(), deframer(), options)
        .map_err(|e| format!("opening the capture: {e}"))?;
    if writer.next_message() != 0 {
        return Err(format!(
            "{} already holds a capture (next message {}): give an empty directory",
            dir.display(),
            writer.next_message()
        )
        .into());
    }
    let capture = BackgroundWriter::spawn(
        writer,
        CaptureOptions::new().sync_policy(SyncPolicy::every(SYNC_EVERY)),
    )?;
    let clock = StageClock::default();
    let progress = progress_bar(count);

    let start = Instant::now();
    let (write_elapsed, stats, follow) = std::thread::scope(|s| {
        let follower = s.spawn(|| follow(dir, count, args.producers, &progress));
        let mut producers = Vec::new();
        for p in 0..args.producers {
            let mut producer = capture.producer();
            let clock = &clock;
            producers.push(s.spawn(move || -> Result<(), String> {
                let mut builder = FlatBufferBuilder::with_capacity(1024);
                for i in (p..count).step_by(usize::try_from(args.producers).unwrap_or(1)) {
                    if i % SAMPLE_EVERY == 0 {
                        let t0 = Instant::now();
                        let reading = sample_ref(i);
                        let t1 = Instant::now();
                        builder.reset();
                        let root = reading.build(&mut builder);
                        finish_telemetry_buffer(&mut builder, root);
                        let t2 = Instant::now();
                        producer
                            .submit_finished(&builder)
                            .map_err(|e| format!("message {i}: {e}"))?;
                        let t3 = Instant::now();
                        add(&clock.generate, t0, t1);
                        add(&clock.build, t1, t2);
                        add(&clock.submit, t2, t3);
                    } else {
                        let reading = sample_ref(i);
                        builder.reset();
                        let root = reading.build(&mut builder);
                        finish_telemetry_buffer(&mut builder, root);
                        producer
                            .submit_finished(&builder)
                            .map_err(|e| format!("message {i}: {e}"))?;
                    }
                }
                Ok(())
            }));
        }
        let mut produced = Ok(());
        for producer in producers {
            let result = producer
                .join()
                .unwrap_or_else(|_| Err("a producer panicked".to_owned()));
            produced = produced.and(result);
        }
        // Everything submitted is written and durable when `close` returns;
        // if it fails, the counts say how far the capture got.
        let (stats, closed) = capture.close_with_stats();
        let closed = closed.map(|()| stats).map_err(|e| {
            format!(
                "{e} ({} of {} messages written, {} durable)",
                stats.written, stats.submitted, stats.synced
            )
        });
        let write_elapsed = start.elapsed();
        let follow = follower
            .join()
            .unwrap_or_else(|_| Err("the follower panicked".to_owned()));
        (write_elapsed, produced.and(closed), follow)
    });
    progress.finish_and_clear();
    let stats = stats?;
    let follow = follow?;
    let segments = segment::list(dir)?;
    let bytes: u64 = segments
        .iter()
        .map(|s| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
        .sum();
    let replay = replay(dir, count, &clock)?;
    report(
        &mut out,
        args,
        &Report {
            write_elapsed,
            stats,
            follow,
            replay,
            segments: segments.len(),
            bytes,
        },
        &clock,
    )?;
    Ok(())
}

fn framer() -> ChecksumFramer<Crc32> {
    ChecksumFramer::new(Crc32::new())
}

fn deframer() -> ChecksumDeframer<Crc32> {
    ChecksumDeframer::new(Crc32::new())
}

/// The header of every segment: the Telemetry binary schema (`cargo xtask
/// codegen` writes `schema/telemetry.bfbs` from `schema/telemetry.fbs`),
/// its root type and file identifier, and who wrote the capture. The
/// segment writer adds the capture's own keys (sequence, first message,
/// start time).
fn capture_header() -> StreamHeader {
    StreamHeader::new()
        .with_schema(include_bytes!("../schema/telemetry.bfbs").to_vec())
        .with_root_type("flatstream.telemetry.Telemetry")
        .with_file_identifier("TLM1")
        .with_metadata("producer", "flatstream telemetry_demo")
}

/// What the follower saw.
struct Followed {
    messages: u64,
    elapsed: Duration,
}

/// Tails the capture until `count` messages arrived, verifying each: the
/// reading it holds (its index, from sensor and sequence) is the next one of
/// the producer that wrote it.
fn follow(
    dir: &Path,
    count: u64,
    producers: u64,
    progress: &ProgressBar,
) -> Result<Followed, String> {
    let start = Instant::now();
    let mut follower =
        Follower::open(dir, deframer()).map_err(|e| format!("following {}: {e}", dir.display()))?;
    let mut expected: Vec<u64> = (0..producers).collect();
    let mut seen = 0;
    while seen < count {
        let payload = follower
            .next()
            .map_err(|e| format!("following: {e}"))?
            .ok_or("the follower stopped")?;
        let i = verify(payload).map_err(|e| format!("message {seen}: {e}"))?;
        let producer = usize::try_from(i % producers).unwrap_or(0);
        if expected[producer] != i {
            return Err(format!(
                "message {seen} holds reading {i}, producer {producer} was at {}",
                expected[producer]
            ));
        }
        expected[producer] += producers;
        seen += 1;
        if seen % 65_536 == 0 {
            progress.set_position(seen);
        }
    }
    Ok(Followed {
        messages: seen,
        elapsed: start.elapsed(),
    })
}

/// Verifies one payload; returns the index of the reading it holds.
fn verify(payload: &[u8]) -> Result<u64, String> {
    if !telemetry_buffer_has_identifier(payload) {
        return Err("missing the TLM1 file identifier".to_owned());
    }
    let table = root_as_telemetry(payload).map_err(|e| e.to_string())?;
    let i = table
        .sequence()
        .checked_mul(SENSORS)
        .and_then(|i| i.checked_add(u64::from(table.sensor_id())))
        .ok_or("sequence out of range")?;
    check_ref(&sample_ref(i), table)?;
    Ok(i)
}

/// Reads the finished capture once more, as fast as it goes: its closed
/// segments are standalone streams, so one thread per core takes the next
/// segment until none is left. Every reading must turn up exactly once.
fn replay(dir: &Path, count: u64, clock: &StageClock) -> Result<Followed, String> {
    let start = Instant::now();
    let segments = segment::list(dir).map_err(|e| format!("replaying: {e}"))?;
    let next = AtomicU64::new(0);
    let seen: Vec<AtomicU64> = (0..count.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let read: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| replay_segments(&segments, &next, &seen, count, clock)))
            .collect();
        workers.into_iter().try_fold(0, |total, worker| {
            let n = worker
                .join()
                .unwrap_or_else(|_| Err("a replay thread panicked".to_owned()))?;
            Ok::<u64, String>(total + n)
        })
    })?;
    let missing = count
        - seen
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum::<u64>();
    if read != count || missing != 0 {
        return Err(format!(
            "replay read {read} messages, {count} were written, {missing} readings missing"
        ));
    }
    Ok(Followed {
        messages: read,
        elapsed: start.elapsed(),
    })
}

/// One replay thread: reads whole segments, taken in turn from `next`,
/// marking each reading in `seen` (a second sighting is an error).
fn replay_segments(
    segments: &[segment::Segment],
    next: &AtomicU64,
    seen: &[AtomicU64],
    count: u64,
    clock: &StageClock,
) -> Result<u64, String> {
    let mut read = 0;
    while let Some(seg) = usize::try_from(next.fetch_add(1, Ordering::Relaxed))
        .ok()
        .and_then(|k| segments.get(k))
    {
        let name = seg.path.display();
        let mut follower = Follower::open(&seg.path, deframer())
            .map_err(|e| format!("replaying {name}: {e}"))?
            .with_follow(false);
        loop {
            let sampled = read % SAMPLE_EVERY == 0;
            let t0 = sampled.then(Instant::now);
            let Some(payload) = follower
                .next()
                .map_err(|e| format!("replaying {name}: {e}"))?
            else {
                break;
            };
            let t1 = sampled.then(Instant::now);
            let i =
                verify(payload).map_err(|e| format!("replaying {name}, message {read}: {e}"))?;
            if let (Some(t0), Some(t1)) = (t0, t1) {
                add(&clock.read, t0, t1);
                add(&clock.verify, t1, Instant::now());
            }
            let word = seen
                .get(usize::try_from(i / 64).unwrap_or(usize::MAX))
                .filter(|_| i < count)
                .ok_or_else(|| format!("{name}: reading {i} was never written"))?;
            let bit = 1 << (i % 64);
            if word.fetch_or(bit, Ordering::Relaxed) & bit != 0 {
                return Err(format!("{name}: reading {i} read twice"));
            }
            read += 1;
        }
    }
    Ok(read)
}

fn progress_bar(count: u64) -> ProgressBar {
    // Hidden when stderr is not a terminal (CI, pipes).
    let bar = ProgressBar::new(count);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} followed {pos}/{len} messages {wide_bar} {per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

struct Report {
    write_elapsed: Duration,
    stats: Stats,
    follow: Followed,
    replay: Followed,
    segments: usize,
    bytes: u64,
}

fn report(
    out: &mut impl Write,
    args: &Args,
    r: &Report,
    clock: &StageClock,
) -> std::io::Result<()> {
    let stats = &r.stats;
    writeln!(
        out,
        "wrote {} messages ({} payload bytes, {} bytes in {} segment{}); {} syncs, durable up to {}",
        grouped(stats.written),
        grouped(stats.bytes_written),
        grouped(r.bytes),
        r.segments,
        if r.segments == 1 { "" } else { "s" },
        stats.syncs,
        stats.durable,
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:>10} {:>10} {:>13} {:>9}",
        "part", "messages", "elapsed", "messages/s", "MB/s"
    )?;
    for (name, messages, elapsed, bytes) in [
        ("capture (write)", stats.written, r.write_elapsed, r.bytes),
        (
            "follow (concurrent)",
            r.follow.messages,
            r.follow.elapsed,
            r.bytes,
        ),
        (
            "replay (read+verify)",
            r.replay.messages,
            r.replay.elapsed,
            r.bytes,
        ),
    ] {
        let secs = elapsed.as_secs_f64();
        writeln!(
            out,
            "{:<20} {:>10} {:>8.3} s {:>13} {:>9.1}",
            name,
            grouped(messages),
            secs,
            grouped(rate(messages as f64, secs)),
            bytes as f64 / 1e6 / secs.max(f64::MIN_POSITIVE),
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "stage breakdown (wall time per message, sampled; includes waiting for a core):"
    )?;
    let sampled = |c: &AtomicU64| {
        Duration::from_nanos(c.load(Ordering::Relaxed)).mul_f64(SAMPLE_EVERY as f64)
    };
    let per = |d: Duration| d.as_secs_f64() * 1e9 / (args.count.max(1) as f64);
    for (name, thread, total) in [
        ("generate", "producers", sampled(&clock.generate)),
        ("build", "producers", sampled(&clock.build)),
        ("submit (queue)", "producers", sampled(&clock.submit)),
        ("frame+write", "I/O thread", stats.write_time),
        ("sync", "I/O thread", stats.sync_time),
        ("read", "replay", sampled(&clock.read)),
        ("verify", "replay", sampled(&clock.verify)),
    ] {
        writeln!(
            out,
            "  {:<16} {:>8.3} s {:>8.1} ns   ({thread})",
            name,
            total.as_secs_f64(),
            per(total)
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "all {} messages verified, each exactly once and in order per producer",
        grouped(r.follow.messages)
    )?;
    Ok(())
}

/// `per / secs` per second, rounded down; 0 for an empty run.
fn rate(per: f64, secs: f64) -> u64 {
    if secs > 0.0 {
        // Saturating float-to-int conversion: exactly what a display needs.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let r = (per / secs) as u64;
        r
    } else {
        0
    }
}

/// `1234567` as `"1,234,567"`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
