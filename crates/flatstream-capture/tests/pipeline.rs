//! The capture end to end with its real parts: producers on several threads,
//! the background writer, a segment writer rotating every few kilobytes or
//! milliseconds (with retention), a follower reading the directory while it
//! is written, and seeking afterwards. Each test checks that every message
//! arrives exactly once and in order, that the counters add up exactly, and
//! what is durable is on disk.

#[path = "support/counting.rs"]
mod counting;

#[path = "support/common.rs"]
mod common;

use common::{TempDir, deframer, framer};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;
use std::fs;
use std::path::Path;
use std::sync::{Barrier, Mutex, MutexGuard, mpsc};
use std::thread;

use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, SliceReader, StreamHeader, StreamReader,
};
use flatstream_capture::segment::{self, Segment};
use flatstream_capture::{
    BackgroundWriter, Backpressure, CaptureOptions, CapturePosition, CaptureSink, Error, FileSink,
    Follower, GapMarker, IndexOptions, Producer, Result, Retention, Rotation, SegmentOptions,
    SegmentWriter, Stats, SyncPolicy, seek_to_message,
};

type Writer = SegmentWriter<ChecksumFramer<Crc32>, ChecksumDeframer<Crc32>>;

/// One test at a time: one of them counts the allocations of every thread.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_writer(dir: &Path, options: SegmentOptions) -> Writer {
    SegmentWriter::open(dir, framer(), deframer(), options).expect("open the capture directory")
}

/// The longest payload [`payload_into`] makes.
const MAX_PAYLOAD: usize = 6 + 49;

/// Message `i` of producer `p` into `buf`: `M`, the producer, the number,
/// then a filler of a length and value that depend on both (so a payload
/// read back is checked whole). Answers its length.
fn payload_into(p: u8, i: u32, buf: &mut [u8; MAX_PAYLOAD]) -> usize {
    let filler = usize::try_from(i % 50).expect("< 50");
    buf[0] = b'M';
    buf[1] = p;
    buf[2..6].copy_from_slice(&i.to_le_bytes());
    buf[6..6 + filler].fill(p.wrapping_add(1) ^ i.to_le_bytes()[0]);
    6 + filler
}

fn payload(p: u8, i: u32) -> Vec<u8> {
    let mut buf = [0; MAX_PAYLOAD];
    let len = payload_into(p, i, &mut buf);
    buf[..len].to_vec()
}

/// The producer and number of a payload, checked whole.
fn decode(frame: &[u8]) -> (u8, u32) {
    assert!(
        frame.len() >= 6 && frame[0] == b'M',
        "not a message: {frame:?}"
    );
    let (p, i) = (
        frame[1],
        u32::from_le_bytes(frame[2..6].try_into().expect("4 bytes")),
    );
    assert_eq!(frame, payload(p, i), "message {i} of producer {p} damaged");
    (p, i)
}

/// Asserts the counters' identities (exact once the writer is closed).
fn assert_counts_add_up(stats: &Stats, what: &str) {
    assert_eq!(
        stats.submitted,
        stats.queued + stats.dropped + stats.refused,
        "{what}: submitted == queued + dropped + refused: {stats:?}"
    );
    assert_eq!(
        stats.queued,
        stats.written + stats.discarded,
        "{what}: queued == written + discarded: {stats:?}"
    );
}

/// Each producer's numbers, in the order read: `0..per` each, exactly.
fn assert_each_producer_complete(seen: &[(u8, u32)], producers: u8, per: u32) {
    let mut next = vec![0u32; usize::from(producers)];
    for &(p, i) in seen {
        let expected = &mut next[usize::from(p)];
        assert_eq!(
            i, *expected,
            "producer {p}: message {i} read where {expected} was due"
        );
        *expected += 1;
    }
    assert!(
        next.iter().all(|&n| n == per),
        "messages missing: {next:?} of {per}"
    );
}

/// Runs `producers` threads submitting `per` messages each through clones
/// of `producer`'s capture; answers when all are done.
fn produce(capture: &BackgroundWriter, producers: u8, per: u32) {
    thread::scope(|s| {
        for p in 0..producers {
            let mut producer = capture.producer();
            s.spawn(move || {
                let mut buf = [0; MAX_PAYLOAD];
                for i in 0..per {
                    let len = payload_into(p, i, &mut buf);
                    producer.submit(&buf[..len]).expect("submit");
                }
            });
        }
    });
}

#[test]
fn a_live_follower_sees_every_message_once_across_many_rotations_and_seeks_agree() {
    let _serial = serial();
    let dir = TempDir::new("live");
    const PRODUCERS: u8 = 4;
    const PER: u32 = 2500;
    let total = u64::from(PRODUCERS) * u64::from(PER);
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_bytes(4096).or_age(Duration::from_millis(10)))
        .with_header(StreamHeader::new().with_root_type("test.Pipeline"))
        .with_index(IndexOptions::new().every_messages(8));
    let writer = open_writer(&dir.0, options);
    let capture = BackgroundWriter::spawn(
        writer,
        CaptureOptions::new()
            .queue_capacity(128)
            .batch_bytes(512)
            .sync_policy(SyncPolicy::every(Duration::from_millis(2)).or_frames(64)),
    )
    .expect("spawn");

    // The follower reads while the capture is written, from the start.
    let follower_dir = dir.0.clone();
    let reader = thread::spawn(move || {
        let mut follower = Follower::open(&follower_dir, deframer())
            .expect("follow")
            .with_poll_interval(Duration::from_micros(200));
        let mut seen = Vec::new();
        let mut segments = Vec::new();
        while (seen.len() as u64) < total {
            let message = follower
                .next_timeout(Duration::from_secs(10))
                .expect("an intact capture")
                .map(<[u8]>::to_vec)
                .expect("the next message within 10 s");
            seen.push(message);
            assert_eq!(
                follower.next_message(),
                seen.len() as u64,
                "the follower's message numbers run on across segments"
            );
            let segment = follower.position().segment;
            if segments.last() != Some(&segment) {
                segments.push(segment);
            }
        }
        // Nothing more, nothing twice.
        assert_eq!(
            follower
                .next_timeout(Duration::from_millis(50))
                .expect("the end")
                .map(<[u8]>::to_vec),
            None
        );
        (seen, segments)
    });

    produce(&capture, PRODUCERS, PER);
    let stats = capture.close().expect("close");
    let (seen, follower_segments) = reader.join().expect("the follower");

    // Every message once, in order per producer, as the follower saw it.
    let decoded: Vec<(u8, u32)> = seen.iter().map(|m| decode(m)).collect();
    assert_each_producer_complete(&decoded, PRODUCERS, PER);
    assert_counts_add_up(&stats, "live");
    assert_eq!(
        (
            stats.submitted,
            stats.written,
            stats.dropped,
            stats.refused,
            stats.discarded
        ),
        (total, total, 0, 0, 0)
    );
    assert_eq!(stats.gap_markers, 0);
    let payload_bytes: u64 = seen.iter().map(|m| m.len() as u64).sum();
    assert_eq!(stats.bytes_written, payload_bytes);
    assert!(stats.syncs > 0);

    // Many rotations, each segment closed, indexed, and read in order.
    let segments = segment::list(&dir.0).expect("list");
    assert!(segments.len() >= 20, "only {} segments", segments.len());
    assert!(segments.iter().all(|s| !s.open && s.index_path().exists()));
    let sequences: Vec<u64> = segments.iter().map(|s| s.sequence).collect();
    assert_eq!(
        follower_segments, sequences,
        "the follower read every segment in order"
    );
    // Closed: everything is durable, up to the next segment's start.
    let next = CapturePosition {
        segment: sequences.last().expect("segments") + 1,
        frame: 0,
        offset: 0,
    };
    assert_eq!(stats.durable, next, "closed: everything durable");
    // What the follower saw is what is on disk, in the same order.
    let on_disk: Vec<Vec<u8>> = segments
        .iter()
        .flat_map(|s| read_segment(&s.path))
        .collect();
    assert!(
        on_disk == seen,
        "the follower's order differs from the files'"
    );

    // Seeking, then following from there, gives exactly messages n..
    let mut samples: Vec<u64> = vec![0, 1, 7, 8, 9, 63, 64, 65, total / 2, total - 2, total - 1];
    samples.extend((0..total).step_by(613));
    for (k, &n) in samples.iter().enumerate() {
        let at = seek_to_message(&dir.0, deframer(), n).expect("seek");
        let mut from = Follower::open_at(&dir.0, deframer(), at)
            .expect("open_at")
            .with_follow(false);
        assert_eq!(from.next_message(), n, "numbered from {at}");
        let expected = &seen[usize::try_from(n).expect("small")..];
        // The whole rest for a few, the next messages for the others.
        let check = if k % 4 == 0 {
            expected.len()
        } else {
            expected.len().min(20)
        };
        for (j, want) in expected[..check].iter().enumerate() {
            let got = from.next().expect("read").map(<[u8]>::to_vec);
            assert_eq!(
                got.as_ref(),
                Some(want),
                "message {} after seeking to {n}",
                n + j as u64
            );
        }
        if check == expected.len() {
            assert_eq!(from.next().expect("the end").map(<[u8]>::to_vec), None);
        }
    }
    assert!(matches!(
        seek_to_message(&dir.0, deframer(), total),
        Err(Error::OutOfRange { requested, first: 0, end }) if requested == total && end == total
    ));
}

/// A segment's messages, its header skipped.
fn read_segment(path: &Path) -> Vec<Vec<u8>> {
    let mut reader = StreamReader::new(fs::File::open(path).expect("open"), deframer());
    reader.header().expect("the header");
    let mut messages = Vec::new();
    while let Some(m) = reader.read_message().expect("an intact segment") {
        messages.push(m.to_vec());
    }
    messages
}

#[test]
fn retention_under_a_slow_follower_reports_what_was_deleted_and_never_repeats() {
    let _serial = serial();
    let dir = TempDir::new("retention");
    const N: u32 = 3000;
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_bytes(1024))
        .with_retention(Retention::max_bytes(4096));
    let writer = open_writer(&dir.0, options);
    let capture = BackgroundWriter::spawn(
        writer,
        CaptureOptions::new()
            .queue_capacity(64)
            .sync_policy(SyncPolicy::every(Duration::from_millis(1))),
    )
    .expect("spawn");

    let (done_tx, done_rx) = mpsc::channel::<()>();
    let follower_dir = dir.0.clone();
    let reader = thread::spawn(move || {
        let mut follower = Follower::open(&follower_dir, deframer())
            .expect("follow")
            .with_poll_interval(Duration::from_micros(200));
        // (message number, payload number, segment) of each message read,
        // and each report of deleted segments with the number read before.
        let mut seen: Vec<(u64, u32, u64)> = Vec::new();
        let mut gone: Vec<(u64, u64, usize)> = Vec::new();
        let mut waited = false;
        while seen.last().is_none_or(|&(_, i, _)| i != N - 1) {
            // Slow at first, then stuck until the writer is done: retention
            // deletes what it has not read yet (and what it is reading).
            if seen.len() < 100 {
                thread::sleep(Duration::from_micros(300));
            } else if !waited {
                done_rx.recv().expect("the writer's end");
                waited = true;
            }
            match follower.next_timeout(Duration::from_secs(10)) {
                Ok(Some(m)) => {
                    let (p, i) = decode(m);
                    assert_eq!(p, 0);
                    let number = follower.next_message() - 1;
                    seen.push((number, i, follower.position().segment));
                }
                Ok(None) => panic!("nothing for 10 s after {:?}", seen.last()),
                Err(Error::SegmentsGone { first, last }) => gone.push((first, last, seen.len())),
                Err(e) => panic!("{e}"),
            }
        }
        (seen, gone)
    });

    produce(&capture, 1, N);
    let stats = capture.close().expect("close");
    done_tx.send(()).expect("the follower waits");
    let (seen, gone) = reader.join().expect("the follower");

    assert_counts_add_up(&stats, "retention");
    assert_eq!(stats.written, u64::from(N));
    assert!(
        !gone.is_empty(),
        "retention deleted segments the follower had not read"
    );
    // One producer: payload number == message number. Each message read is
    // the one its number says, numbers only increase, and they skip only
    // right after a report of deleted segments, into the segment after them.
    let mut reports = gone.iter().peekable();
    for (k, &(number, i, segment)) in seen.iter().enumerate() {
        assert_eq!(number, u64::from(i), "message number and payload agree");
        // Every report made just before this message.
        let mut here = Vec::new();
        while let Some(report) = reports.next_if(|&&(_, _, at)| at == k) {
            here.push(*report);
        }
        if k == 0 {
            assert_eq!(number, 0);
            continue;
        }
        let (previous, _, previous_segment) = seen[k - 1];
        match (here.first(), here.last()) {
            (Some(&(first, _, _)), Some(&(_, last, _))) => {
                assert!(
                    first <= last && first > previous_segment,
                    "{first}..={last}"
                );
                assert_eq!(
                    segment,
                    last + 1,
                    "read on right after the deleted segments"
                );
                assert!(
                    number > previous + 1,
                    "a report, but nothing skipped at {k}"
                );
            }
            _ => assert_eq!(number, previous + 1, "a skip without a report at {k}"),
        }
    }
    assert!(
        reports.next().is_none(),
        "a report of deleted segments with no message after it"
    );
    // The newest segments are kept: the last messages were read.
    assert_eq!(seen.last().map(|s| s.1), Some(N - 1));
}

/// A sink slowed down by a sleep per frame.
#[derive(Debug)]
struct SlowSink<S> {
    inner: S,
    per_frame: Duration,
}

impl<S: CaptureSink> CaptureSink for SlowSink<S> {
    fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        thread::sleep(self.per_frame);
        self.inner.write_payload(payload)
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
    fn sync(&mut self) -> Result<()> {
        self.inner.sync()
    }
    fn position(&self) -> CapturePosition {
        self.inner.position()
    }
    fn tick(&mut self, now: std::time::SystemTime) -> Result<()> {
        self.inner.tick(now)
    }
    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}

#[test]
fn producers_outrunning_a_slow_sink_under_each_policy_stay_bounded_and_count_exactly() {
    let _serial = serial();
    const PRODUCERS: u8 = 4;
    const PER: u32 = 2500;
    const WARM: u32 = 500;
    const CAPACITY: usize = 64;
    for policy in [
        Backpressure::Block,
        Backpressure::DropNewest,
        Backpressure::Error,
    ] {
        let what = format!("{policy:?}");
        let dir = TempDir::new(&format!("slow-{what}"));
        let path = dir.0.join("capture.fstream");
        let sink = SlowSink {
            inner: FileSink::open(&path, framer(), deframer(), None).expect("open"),
            per_frame: Duration::from_micros(30),
        };
        let capture = BackgroundWriter::spawn(
            sink,
            CaptureOptions::new()
                .queue_capacity(CAPACITY)
                .batch_bytes(256)
                .backpressure(policy)
                .gap_markers(true)
                .sync_policy(SyncPolicy::every(Duration::from_millis(5))),
        )
        .expect("spawn");

        // Producers warm up, then the allocations of every thread are
        // counted until they are done.
        let warm = Barrier::new(usize::from(PRODUCERS) + 1);
        let end = Barrier::new(usize::from(PRODUCERS) + 1);
        let finished = AtomicUsize::new(0);
        let (allocations, results) = thread::scope(|s| {
            let handles: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let mut producer = capture.producer();
                    let (warm, end, finished) = (&warm, &end, &finished);
                    s.spawn(move || {
                        let mut buf = [0; MAX_PAYLOAD];
                        let mut accepted = Vec::with_capacity(PER as usize + 1);
                        let mut full = 0u64;
                        for i in 0..PER {
                            if i == WARM {
                                warm.wait();
                            }
                            let len = payload_into(p, i, &mut buf);
                            match producer.submit(&buf[..len]) {
                                Ok(()) => accepted.push(i),
                                Err(Error::QueueFull { capacity }) => {
                                    assert_eq!(capacity, CAPACITY);
                                    full += 1;
                                }
                                Err(e) => panic!("{e}"),
                            }
                        }
                        finished.fetch_add(1, Ordering::SeqCst);
                        end.wait();
                        (producer, accepted, full)
                    })
                })
                .collect();
            warm.wait();
            counting::start_counting_all();
            // Queued and not yet written never exceeds the capacity (a
            // snapshot reads `queued` first, so it cannot overstate it).
            while finished.load(Ordering::SeqCst) < usize::from(PRODUCERS) {
                let stats = capture.stats();
                let waiting = stats.queued.saturating_sub(stats.written + stats.discarded);
                assert!(
                    waiting <= CAPACITY as u64,
                    "{what}: {waiting} queued: {stats:?}"
                );
                thread::yield_now();
            }
            end.wait();
            let allocations = counting::stop_counting_all();
            let results: Vec<(Producer, Vec<u32>, u64)> = handles
                .into_iter()
                .map(|h| h.join().expect("producer"))
                .collect();
            (allocations, results)
        });
        // Nothing grew with the messages: batches are recycled, dropped and
        // refused messages cost nothing. At most every batch that can be in
        // flight at once (one message each, plus one filling per producer)
        // is new, with a few allocations each: far below one per message.
        let bound = 4 * (CAPACITY as u64 + u64::from(PRODUCERS)) + 64;
        assert!(
            allocations < bound,
            "{what}: {allocations} allocations for {} messages once warm",
            u64::from(PRODUCERS) * u64::from(PER - WARM)
        );

        // Each producer's last message, once the queue is empty, carries the
        // gap markers of whatever it dropped before.
        capture.flush().expect("flush");
        let mut accepted = Vec::new();
        let mut full = 0;
        for (p, (mut producer, mut ok, refused)) in (0u8..).zip(results) {
            producer
                .submit(&payload(p, PER))
                .expect("room for the last message");
            ok.push(PER);
            accepted.push(ok);
            full += refused;
        }
        let stats = capture.close().expect("close");
        let submitted = u64::from(PRODUCERS) * u64::from(PER + 1);
        assert_counts_add_up(&stats, &what);
        assert_eq!(stats.submitted, submitted, "{what}");
        assert_eq!(stats.discarded, 0, "{what}");
        assert_eq!(
            stats.refused, full,
            "{what}: every refusal was an Err(QueueFull)"
        );
        match policy {
            Backpressure::Block => assert_eq!((stats.dropped, stats.refused), (0, 0)),
            Backpressure::DropNewest => {
                assert_eq!(stats.refused, 0);
                assert!(stats.dropped > 0, "the sink was outrun");
            }
            _ => {
                assert_eq!(stats.dropped, 0);
                assert!(stats.refused > 0, "the sink was outrun");
            }
        }

        // The file: every message accepted (for DropNewest: not dropped)
        // once, in order, each run of drops announced by gap markers that
        // count it exactly.
        let mut reader = StreamReader::new(fs::File::open(&path).expect("open"), deframer());
        let mut next = vec![0u32; usize::from(PRODUCERS)];
        let mut pending = vec![0u64; usize::from(PRODUCERS)];
        let mut written = vec![Vec::new(); usize::from(PRODUCERS)];
        let (mut messages, mut markers, mut marked) = (0u64, 0u64, 0u64);
        while let Some(frame) = reader.read_message().expect("an intact file") {
            if let Some(gap) = GapMarker::decode(frame) {
                let p = usize::try_from(gap.producer).expect("small");
                assert!(gap.dropped > 0 && gap.first_dropped_ns <= gap.last_dropped_ns);
                pending[p] += gap.dropped;
                markers += 1;
                marked += gap.dropped;
                continue;
            }
            let (p, i) = decode(frame);
            let p = usize::from(p);
            // Dropped messages are announced; refused ones the producer
            // was told about (and are checked against `accepted` below).
            if policy == Backpressure::DropNewest {
                assert_eq!(
                    u64::from(i),
                    u64::from(next[p]) + pending[p],
                    "{what}: producer {p}'s message {i} after {} and gap markers for {}",
                    next[p],
                    pending[p]
                );
            }
            assert!(i >= next[p], "{what}: producer {p} out of order");
            next[p] = i + 1;
            pending[p] = 0;
            written[p].push(i);
            messages += 1;
        }
        assert_eq!(messages, stats.written, "{what}");
        assert_eq!(
            (markers, marked),
            (stats.gap_markers, stats.dropped),
            "{what}"
        );
        for p in 0..usize::from(PRODUCERS) {
            assert_eq!(next[p], PER + 1, "{what}: producer {p}");
            if policy != Backpressure::DropNewest {
                assert_eq!(written[p], accepted[p], "{what}: producer {p}");
            }
        }
    }
}

/// Checks that everything before `at` is on disk: the segment named (and
/// every earlier one, closed) holds exactly `at.frame` whole frames in its
/// first `at.offset` bytes. `checked` are the earlier segments seen whole.
fn assert_durable_on_disk(
    dir: &Path,
    single: Option<&Path>,
    at: CapturePosition,
    checked: &mut u64,
) {
    let path = match single {
        Some(path) => path.to_path_buf(),
        None => {
            let segments = segment::list(dir).expect("list");
            let from = *checked;
            for s in segments
                .iter()
                .filter(|s| s.sequence >= from && s.sequence < at.segment)
            {
                assert!(
                    !s.open,
                    "segment {} before the durable one is still open",
                    s.sequence
                );
                read_segment(&s.path);
                *checked = s.sequence + 1;
            }
            match segments
                .iter()
                .find(|s: &&Segment| s.sequence == at.segment)
            {
                Some(s) => s.path.clone(),
                None => {
                    assert_eq!((at.frame, at.offset), (0, 0), "segment of {at} missing");
                    return;
                }
            }
        }
    };
    // The file may have been renamed since the listing: retry by sequence.
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(_) => {
            let closed = Segment::parse(&path).expect("a segment").closed_path();
            fs::read(closed).expect("read the renamed segment")
        }
    };
    let durable = usize::try_from(at.offset).expect("small");
    assert!(
        bytes.len() >= durable,
        "{at} is past the file's {} bytes",
        bytes.len()
    );
    let mut reader = SliceReader::new(&bytes[..durable], deframer());
    let header = reader.header().expect("the header");
    // A segment's header is durable before its first message.
    assert_eq!(header.is_some(), single.is_none() && at.frame > 0, "{at}");
    let mut frames = reader.position().frame;
    for m in reader.by_ref() {
        decode(m.expect("every frame before the durable position is whole"));
        frames += 1;
    }
    assert_eq!(frames, at.frame, "{at}");
}

#[test]
fn the_durable_position_is_never_ahead_of_the_files() {
    let _serial = serial();
    for single in [false, true] {
        let dir = TempDir::new(if single {
            "durable-file"
        } else {
            "durable-dir"
        });
        let file = dir.0.join("capture.fstream");
        let sink: Box<dyn CaptureSink> = if single {
            Box::new(FileSink::open(&file, framer(), deframer(), None).expect("open"))
        } else {
            Box::new(open_writer(
                &dir.0,
                SegmentOptions::new().with_rotation(Rotation::by_bytes(8192)),
            ))
        };
        let capture = BackgroundWriter::spawn(
            sink,
            CaptureOptions::new()
                .queue_capacity(256)
                .sync_policy(SyncPolicy::every_frames(100)),
        )
        .expect("spawn");
        let done = AtomicBool::new(false);
        let mut checked = 0;
        let mut syncs = 0;
        let mut last = CapturePosition::default();
        thread::scope(|s| {
            let (capture, done) = (&capture, &done);
            s.spawn(move || {
                produce(capture, 2, 4000);
                done.store(true, Ordering::SeqCst);
            });
            // While the producers run (and a few times after).
            while !done.load(Ordering::SeqCst) || syncs < 20 {
                let at = capture.sync().expect("sync");
                syncs += 1;
                let later = capture.durable_position();
                let order = |p: &CapturePosition| (p.segment, p.frame, p.offset);
                assert!(
                    order(&at) >= order(&last),
                    "durable went back: {last} then {at}"
                );
                assert!(
                    order(&later) >= order(&at),
                    "durable_position {later} before {at}"
                );
                assert_durable_on_disk(&dir.0, single.then_some(file.as_path()), at, &mut checked);
                assert_durable_on_disk(
                    &dir.0,
                    single.then_some(file.as_path()),
                    later,
                    &mut checked,
                );
                last = later;
            }
        });
        let stats = capture.close().expect("close");
        assert_counts_add_up(&stats, "durable");
        assert_eq!(stats.written, 8000);
        if single {
            assert_eq!(stats.durable, stats.position);
            assert_durable_on_disk(&dir.0, Some(&file), stats.durable, &mut checked);
        } else {
            // Closed: every segment is, and holds its messages.
            let all: usize = segment::list(&dir.0)
                .expect("list")
                .iter()
                .map(|s| {
                    assert!(!s.open);
                    read_segment(&s.path).len()
                })
                .sum();
            assert_eq!(all, 8000);
        }
    }
}

/// A seek in a live capture lists the segments, then reads them; the
/// writer may close (rename) the open one in between. The seek lists again
/// instead of failing on the name that vanished.
#[test]
fn seeks_while_segments_rotate_never_trip_over_a_renamed_segment() {
    /// Seeks that must run while the writer rotates: it goes on writing
    /// until they have (on a loaded machine the seeking thread may be
    /// starved until the first 3,000 messages are written).
    const SEEKS: usize = 20;
    let _serial = serial();
    let dir = TempDir::new("seek-rotation");
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_bytes(4096))
        .with_header(StreamHeader::new().with_root_type("test.Pipeline"));
    let mut writer = open_writer(&dir.0, options);
    writer.write_payload(&payload(0, 0)).expect("write");
    writer.flush().expect("flush");
    let done = AtomicBool::new(false);
    let seeks = AtomicUsize::new(0);
    let rotated_while_seeking = thread::scope(|scope| {
        let writing = scope.spawn(|| {
            let mut rotated = 0;
            let mut i = 1;
            while i < 3000 || seeks.load(Ordering::Acquire) < SEEKS {
                let before = writer.open_segment().map(|s| s.sequence);
                writer.write_payload(&payload(0, i)).expect("write");
                writer.flush().expect("flush");
                if seeks.load(Ordering::Acquire) > 0
                    && writer.open_segment().map(|s| s.sequence) != before
                {
                    rotated += 1;
                }
                if i % 16 == 0 {
                    thread::yield_now();
                }
                i += 1;
            }
            done.store(true, Ordering::Release);
            rotated
        });
        while !done.load(Ordering::Acquire) {
            // Past the end: the seek reads up to the open segment's end.
            match seek_to_message(&dir.0, deframer(), u64::MAX) {
                Err(Error::OutOfRange { .. }) => {
                    seeks.fetch_add(1, Ordering::Release);
                }
                other => panic!("a seek during rotation: {other:?}"),
            }
        }
        writing.join().expect("the writer")
    });
    assert!(
        rotated_while_seeking > 0,
        "no rotation while {} seeks ran",
        seeks.into_inner()
    );
    writer.finish().expect("finish");
}
