//! The background writer over a scripted sink: every backpressure policy
//! with producers outrunning the sink, counts that add up exactly, order per
//! producer, gap markers, errors reaching producers, sync policies, and no
//! allocation per message in the steady state.

use core::time::Duration;
extern crate alloc;

#[path = "support/counting.rs"]
mod counting;

#[path = "support/common.rs"]
mod common;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use flatstream_capture::{
    BackgroundWriter, Backpressure, CaptureOptions, CapturePosition, CaptureSink, Error, GapMarker,
    Result, SyncPolicy,
};

/// Serialises the tests that count allocations against the others.
static ALLOC_TEST: Mutex<()> = Mutex::new(());

/// What the scripted sink saw.
#[derive(Debug, Default)]
struct Seen {
    frames: Vec<Vec<u8>>,
    syncs: u64,
    flushes: u64,
    /// Frames written when each sync happened.
    synced_at: Vec<u64>,
    finished: bool,
}

/// A sink that records frames, can be slow, and can fail at a frame.
#[derive(Debug, Clone)]
struct ScriptedSink {
    seen: Arc<Mutex<Seen>>,
    per_frame: Duration,
    fail_at: Option<u64>,
    keep: bool,
    count: u64,
}

impl ScriptedSink {
    fn new() -> Self {
        ScriptedSink {
            seen: Arc::default(),
            per_frame: Duration::ZERO,
            fail_at: None,
            keep: true,
            count: 0,
        }
    }
}

impl CaptureSink for ScriptedSink {
    fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        if self.fail_at == Some(self.count) {
            return Err(
                flatstream_core::Error::from(std::io::Error::other("disk on fire"))
                    .at(flatstream_core::Position {
                        offset: self.count * 10,
                        frame: self.count,
                    })
                    .into(),
            );
        }
        if !self.per_frame.is_zero() {
            thread::sleep(self.per_frame);
        }
        self.count += 1;
        if self.keep {
            self.seen
                .lock()
                .expect("sink")
                .frames
                .push(payload.to_vec());
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.seen.lock().expect("sink").flushes += 1;
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        let mut seen = self.seen.lock().expect("sink");
        seen.syncs += 1;
        seen.synced_at.push(self.count);
        Ok(())
    }
    fn position(&self) -> CapturePosition {
        CapturePosition {
            segment: 0,
            frame: self.count,
            offset: self.count * 10,
        }
    }
    fn finish(&mut self) -> Result<()> {
        self.seen.lock().expect("sink").finished = true;
        self.sync()
    }
}

/// Payload `i` of producer `p`: recognisable, never all zeros.
fn payload(p: u8, i: u32) -> Vec<u8> {
    let mut v = vec![p + 1];
    v.extend_from_slice(&i.to_le_bytes());
    v
}

fn decode(frame: &[u8]) -> (u8, u32) {
    (
        frame[0] - 1,
        u32::from_le_bytes(frame[1..5].try_into().expect("5 bytes")),
    )
}

/// Every producer's messages appear in the order submitted, each once.
fn assert_in_order_per_producer(frames: &[Vec<u8>], producers: u8) -> Vec<Vec<u32>> {
    let mut per: Vec<Vec<u32>> = vec![Vec::new(); usize::from(producers)];
    for frame in frames {
        if GapMarker::decode(frame).is_some() {
            continue;
        }
        let (p, i) = decode(frame);
        per[usize::from(p)].push(i);
    }
    for (p, seq) in per.iter().enumerate() {
        assert!(
            seq.windows(2).all(|w| w[0] < w[1]),
            "producer {p}'s messages out of order or repeated"
        );
    }
    per
}

#[test]
fn block_never_drops_and_bounds_the_queue() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = ScriptedSink::new();
    sink.per_frame = Duration::from_micros(20);
    let seen = Arc::clone(&sink.seen);
    let capacity = 64;
    let options = CaptureOptions::new()
        .queue_capacity(capacity)
        .batch_bytes(40)
        .backpressure(Backpressure::Block);
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let done = AtomicBool::new(false);
    let max_waiting = AtomicU64::new(0);
    thread::scope(|s| {
        let mut handles = Vec::new();
        for p in 0..3u8 {
            let mut producer = capture.producer();
            handles.push(s.spawn(move || {
                for i in 0..2000 {
                    producer
                        .submit(&payload(p, i))
                        .expect("block never refuses");
                }
            }));
        }
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                let stats = capture.stats();
                // `queued` is read before `written`: the difference can only
                // understate what waited, never overstate it.
                let waiting = stats.queued.saturating_sub(stats.written + stats.discarded);
                max_waiting.fetch_max(waiting, Ordering::AcqRel);
                thread::sleep(Duration::from_micros(200));
            }
        });
        for h in handles {
            h.join().expect("producer");
        }
        done.store(true, Ordering::Release);
    });
    let stats = capture.close().expect("close");
    assert_eq!(stats.submitted, 6000);
    assert_eq!((stats.queued, stats.written), (6000, 6000));
    assert_eq!((stats.dropped, stats.refused, stats.discarded), (0, 0, 0));
    let waiting = max_waiting.load(Ordering::Acquire);
    assert!(
        waiting <= capacity as u64,
        "{waiting} messages waited in a queue of {capacity}"
    );
    let seen = seen.lock().expect("sink");
    assert!(seen.finished);
    let per = assert_in_order_per_producer(&seen.frames, 3);
    assert!(per.iter().all(|seq| seq.len() == 2000));
}

#[test]
fn drop_newest_counts_every_drop_and_marks_every_gap() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = ScriptedSink::new();
    sink.per_frame = Duration::from_micros(50);
    let seen = Arc::clone(&sink.seen);
    let options = CaptureOptions::new()
        .queue_capacity(16)
        .batch_bytes(20)
        .backpressure(Backpressure::DropNewest)
        .gap_markers(true);
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    // Both producers stop submitting before either drains the queue: a
    // producer still submitting could fill it again and drop the other's
    // last message.
    let both_done = std::sync::Barrier::new(2);
    thread::scope(|s| {
        for p in 0..2u8 {
            let mut producer = capture.producer();
            let capture = &capture;
            let both_done = &both_done;
            s.spawn(move || {
                for i in 0..3000 {
                    producer.submit(&payload(p, i)).expect("drop never refuses");
                }
                // Once the queue drained, one last message carries the
                // marker of the drops before it.
                producer.flush();
                both_done.wait();
                capture.flush().expect("flush");
                producer.submit(&payload(p, 3000)).expect("last");
            });
        }
    });
    let stats = capture.close().expect("close");
    assert_eq!(stats.submitted, 6002);
    assert_eq!(stats.submitted, stats.queued + stats.dropped);
    assert_eq!(stats.queued, stats.written);
    assert!(stats.dropped > 0, "a slow sink must make producers drop");
    let seen = seen.lock().expect("sink");
    let markers: Vec<GapMarker> = seen
        .frames
        .iter()
        .filter_map(|f| GapMarker::decode(f))
        .collect();
    assert_eq!(markers.len() as u64, stats.gap_markers);
    assert_eq!(
        markers.iter().map(|m| m.dropped).sum::<u64>(),
        stats.dropped,
        "the markers account for every drop"
    );
    assert_eq!(seen.frames.len() as u64, stats.written + stats.gap_markers);
    let per = assert_in_order_per_producer(&seen.frames, 2);
    // Per producer: messages written plus those its markers say it dropped
    // is everything it submitted.
    for (p, seq) in per.iter().enumerate() {
        let dropped: u64 = markers
            .iter()
            .filter(|m| m.producer as usize == p)
            .map(|m| m.dropped)
            .sum();
        assert_eq!(seq.len() as u64 + dropped, 3001, "producer {p}");
        assert_eq!(seq.last(), Some(&3000));
    }
}

#[test]
fn error_policy_refuses_when_full_and_counts_it() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = ScriptedSink::new();
    sink.per_frame = Duration::from_micros(200);
    let seen = Arc::clone(&sink.seen);
    let options = CaptureOptions::new()
        .queue_capacity(8)
        .backpressure(Backpressure::Error);
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let mut producer = capture.producer();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for i in 0..500 {
        match producer.submit(&payload(0, i)) {
            Ok(()) => accepted.push(i),
            Err(Error::QueueFull { capacity: 8 }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    drop(producer);
    let stats = capture.close().expect("close");
    assert!(refused > 0);
    assert_eq!(stats.refused, refused);
    assert_eq!(stats.queued, accepted.len() as u64);
    assert_eq!(stats.written, stats.queued);
    let seen = seen.lock().expect("sink");
    let written: Vec<u32> = seen.frames.iter().map(|f| decode(f).1).collect();
    assert_eq!(written, accepted, "exactly the accepted messages, in order");
}

#[test]
fn a_sink_error_reaches_producers_and_stops_in_a_defined_state() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = ScriptedSink::new();
    sink.fail_at = Some(100);
    let seen = Arc::clone(&sink.seen);
    let options = CaptureOptions::new().batch_bytes(50);
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let mut producer = capture.producer();
    let mut first_error = None;
    for i in 0..100_000 {
        if let Err(e) = producer.submit(&payload(0, i)) {
            first_error = Some(e);
            break;
        }
        if i % 64 == 0 {
            producer.flush();
        }
    }
    let error = first_error.expect("the producer learns of the failure");
    let text = error.to_string();
    assert!(text.contains("disk on fire"), "{text}");
    assert!(
        text.contains("frame 100"),
        "the error keeps its position: {text}"
    );
    assert!(matches!(error, Error::Stopped(_)));
    assert!(matches!(capture.flush(), Err(Error::Stopped(_))));
    assert!(matches!(capture.sync(), Err(Error::Stopped(_))));
    drop(producer);
    let Err(Error::Stopped(_)) = capture.close() else {
        panic!("close reports the error");
    };
    let seen = seen.lock().expect("sink");
    assert_eq!(seen.frames.len(), 100);
    assert!(!seen.finished, "a stopped writer does not finish its sink");
}

/// The counters add up after the sink failed, and a close that fails
/// still says what reached the sink and what was lost.
#[test]
fn stats_add_up_after_an_error_and_survive_a_failed_close() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = ScriptedSink::new();
    sink.fail_at = Some(10);
    let seen = Arc::clone(&sink.seen);
    // One batch, handed over when the producer is dropped: a producer
    // descheduled between submits must not let the I/O thread take a
    // partial batch, fail at frame 10 and stop before the last submits.
    let options = CaptureOptions::new()
        .batch_bytes(1 << 20)
        .max_batch_delay(Duration::from_secs(600));
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let mut producer = capture.producer();
    for i in 0..50 {
        producer
            .submit(&payload(0, i))
            .expect("queued before the failure");
    }
    drop(producer);
    let stats = {
        let _ = capture.flush();
        capture.stats()
    };
    assert_eq!(stats.queued, 50);
    assert_eq!(stats.written, 10);
    assert_eq!(stats.discarded, 40);
    let (closed, result) = capture.close_with_stats();
    let Err(Error::Stopped(error)) = result else {
        panic!("the sink's failure is the close's error: {result:?}");
    };
    assert!(error.to_string().contains("disk on fire"), "{error}");
    assert_eq!(seen.lock().expect("sink").frames.len(), 10);
    assert_eq!(closed.written, 10, "{closed:?}");
    assert_eq!(closed.discarded, 40, "{closed:?}");
    assert_eq!(closed.position.frame, 10, "{closed:?}");
}

#[test]
fn sync_policies_sync_when_due_and_report_the_durable_position() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let sink = ScriptedSink::new();
    let seen = Arc::clone(&sink.seen);
    let options = CaptureOptions::new()
        .sync_policy(SyncPolicy::every_frames(100))
        .max_batch_delay(Duration::ZERO);
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let mut producer = capture.producer();
    for i in 0..1000 {
        producer.submit(&payload(0, i)).expect("submit");
    }
    let durable = capture.sync().expect("sync");
    assert_eq!(
        durable.frame, 1000,
        "sync returns once everything is durable"
    );
    assert_eq!(capture.durable_position(), durable);
    {
        let seen = seen.lock().expect("sink");
        // Every sync of the policy came within one batch of its threshold.
        let policy_syncs: Vec<u64> = seen.synced_at[..seen.synced_at.len() - 1].to_vec();
        assert!(!policy_syncs.is_empty());
        let mut last = 0;
        for at in &policy_syncs {
            assert!(at - last >= 100, "synced after {} frames", at - last);
            last = *at;
        }
    }
    let stats = capture.close().expect("close");
    assert_eq!(stats.synced, 1000);
    assert_eq!(stats.durable.frame, 1000);
}

#[test]
fn sync_by_time_without_more_messages() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let sink = ScriptedSink::new();
    let seen = Arc::clone(&sink.seen);
    let options = CaptureOptions::new().sync_policy(SyncPolicy::every(Duration::from_millis(20)));
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let mut producer = capture.producer();
    producer.submit(b"one").expect("submit");
    // No flush, no more messages: the batch delay and the sync interval
    // alone must make it durable.
    let start = Instant::now();
    while capture.durable_position().frame < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "a lone message never became durable"
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(seen.lock().expect("sink").frames, vec![b"one".to_vec()]);
    drop(producer);
    capture.close().expect("close");
}

#[test]
fn closing_refuses_later_submits_and_loses_nothing_queued() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let sink = ScriptedSink::new();
    let seen = Arc::clone(&sink.seen);
    let capture = BackgroundWriter::spawn(sink, CaptureOptions::new()).expect("spawn");
    let mut early = capture.producer();
    let mut late = early.clone();
    early.submit(b"kept").expect("submit");
    let stats = capture.close().expect("close");
    assert_eq!(stats.written, 1);
    assert!(matches!(late.submit(b"too late"), Err(Error::Closed)));
    assert!(matches!(early.submit(b"too late"), Err(Error::Closed)));
    assert_eq!(seen.lock().expect("sink").frames, vec![b"kept".to_vec()]);
}

#[test]
fn bad_payloads_are_refused_at_submit() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let capture =
        BackgroundWriter::spawn(ScriptedSink::new(), CaptureOptions::new().max_frame_len(8))
            .expect("spawn");
    let mut producer = capture.producer();
    for bad in [&b""[..], &[0u8; 4][..], &[1u8; 9][..]] {
        let err = producer.submit(bad).expect_err("refused");
        assert!(err.stream_error().is_some(), "{err}");
    }
    producer.submit(&[1u8; 8]).expect("at the limit");
    drop(producer);
    let stats = capture.close().expect("close");
    assert_eq!((stats.submitted, stats.written), (1, 1));
}

/// A payload over the sink's own limit (here a segment writer's) is
/// refused at `submit` like one over the writer's: on the I/O thread it
/// would stop the capture and lose everything after it.
#[test]
fn payloads_the_sink_would_refuse_are_refused_at_submit() {
    use flatstream_capture::{Follower, SegmentOptions, SegmentWriter};
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::TempDir::new("sink-limit");
    let sink = SegmentWriter::open(
        dir.path(),
        common::framer(),
        common::deframer(),
        SegmentOptions::new().with_max_frame_len(100),
    )
    .expect("open");
    assert_eq!(sink.max_payload_len(), 100);
    let capture = BackgroundWriter::spawn(sink, CaptureOptions::new()).expect("spawn");
    let mut producer = capture.producer();
    let mut kept = Vec::new();
    for i in 0..20u8 {
        let payload = vec![i + 1; if i % 3 == 1 { 101 } else { 100 }];
        match producer.submit(&payload) {
            Ok(()) => kept.push(payload),
            Err(err) => {
                assert_eq!(payload.len(), 101, "{err}");
                assert!(
                    matches!(
                        err.stream_error().map(flatstream::Error::kind),
                        Some(flatstream::ErrorKind::FrameTooLarge {
                            declared: 101,
                            limit: 100
                        })
                    ),
                    "{err}"
                );
            }
        }
    }
    drop(producer);
    let stats = capture.close().expect("nothing stopped the capture");
    assert_eq!(kept.len(), 13, "7 of the 20 are over the limit");
    assert_eq!((stats.submitted, stats.written), (13, 13));
    let mut follower = Follower::open(dir.path(), common::deframer())
        .expect("follow")
        .with_follow(false);
    let mut read = Vec::new();
    while let Some(m) = follower.next().expect("an intact capture") {
        read.push(m.to_vec());
    }
    assert_eq!(read, kept);

    // Gap markers the sink would refuse are refused when the writer starts.
    let small = common::TempDir::new("sink-limit-gaps");
    let open_small = |limit| {
        SegmentWriter::open(
            small.path(),
            common::framer(),
            common::deframer(),
            SegmentOptions::new().with_max_frame_len(limit),
        )
        .expect("open")
    };
    let max = GapMarker::max_len();
    let err = BackgroundWriter::spawn(open_small(max - 1), CaptureOptions::new().gap_markers(true))
        .expect_err("markers would not fit");
    assert!(
        matches!(&err, Error::Options(why) if why.contains(&format!("up to {max} bytes"))),
        "{err}"
    );
    let fits = BackgroundWriter::spawn(open_small(max), CaptureOptions::new().gap_markers(true))
        .expect("markers fit");
    fits.close().expect("close");
    let off = BackgroundWriter::spawn(
        open_small(max - 1),
        CaptureOptions::new().gap_markers(false),
    )
    .expect("no markers");
    off.close().expect("close");
}

#[test]
fn the_steady_state_allocates_nothing_per_message() {
    let _serial = ALLOC_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = ScriptedSink::new();
    sink.keep = false;
    // A queue of 1,024 messages holds at most 1,024 batches: the pool's
    // peak is bounded, and the warm-up gets near it.
    let options = CaptureOptions::new().batch_bytes(4096).queue_capacity(1024);
    let capture = BackgroundWriter::spawn(sink, options).expect("spawn");
    let mut producer = capture.producer();
    let message = [7u8; 100];
    // Warm up: batches reach their size, the pool fills.
    for _ in 0..50_000 {
        producer.submit(&message).expect("submit");
    }
    capture.flush().expect("flush");
    counting::start_counting_all();
    for _ in 0..100_000 {
        producer.submit(&message).expect("submit");
    }
    let allocations = counting::stop_counting_all();
    drop(producer);
    let stats = capture.close().expect("close");
    assert_eq!(stats.written, 150_000);
    // Batches come from the pool; it may still grow to a new peak of
    // batches in flight, but a message never costs an allocation.
    assert!(
        allocations < 100,
        "{allocations} allocations for 100,000 messages"
    );
}
