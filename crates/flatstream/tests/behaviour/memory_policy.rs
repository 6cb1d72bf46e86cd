//! Memory policies give memory back after a huge message, and only then.
//!
//! The scenario of the issue: one 64 MiB message, then 10,000 small ones (100
//! to 300 bytes). With either policy, at these parameters,
//!
//! - `ShrinkAbove::new(1 MiB, 64 KiB)`: shrink to 64 KiB once over 1 MiB;
//! - `AdaptiveWatermark::new(1 s, 64 KiB, clock)`: shrink to twice the
//!   window's high watermark, at least 64 KiB, once the capacity is over four
//!   times it; driven by a `ManualClock` moved 1 ms per message (10 s, ten
//!   windows, over the small messages), never by sleeping;
//!
//! the memory retained afterwards is at most **1 MiB** ([`BOUND`]): the
//! reader's `capacity()` and the live bytes of the test's thread (counting
//! allocator, `support/counting_alloc.rs`) for the reader, the live bytes for
//! the simple-mode writer (which has no capacity accessor), writing to
//! `io::sink()`. The bound is the 64 KiB target plus room for the small
//! message in use and the allocator's bookkeeping; the measured values are
//! printed (`--nocapture`). Without a policy, both keep at least 64 MiB, as
//! before.
//!
//! Also: `AdaptiveWatermark` does not flap (sizes alternating within a factor
//! of 3 never shrink, so the steady state allocates nothing, where
//! `ShrinkAbove` reallocates back and forth), and no policy, however
//! aggressive, shrinks below a frame in progress.
//!
//! Ignored until the library is fixed: a simple-mode message that the
//! writer refuses after building it (over a limit, refused by a validator, a
//! failed build) keeps the builder's memory for good, policy or not.
//!
//! The 64 MiB stream is built once and shared; the tests that hold 64 MiB
//! buffers take turns ([`one_big_at_a_time`]) to keep the memory of the test
//! binary reasonable.

use alloc::sync::Arc;
use core::time::Duration;
use std::io::{self, Read};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use flatstream::flatbuffers::{DefaultAllocator, FlatBufferBuilder};
use flatstream::{
    AdaptiveWatermark, DefaultDeframer, DefaultFramer, Framer, FramerExt, ManualClock,
    MemoryPolicy, ShrinkAbove, StreamReader, StreamWriter,
};

use crate::support::counting_alloc::{
    allocations_in, live_bytes_since, live_mark, peak_extra_bytes_in,
};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// The huge message.
const BIG: usize = 64 * MIB;
/// Every byte of the huge message.
const BIG_BYTE: u8 = 0xA5;
/// The small messages after it.
const SMALL_COUNT: usize = 10_000;

/// `ShrinkAbove`: shrink once over 1 MiB...
const THRESHOLD: usize = MIB;
/// ...to 64 KiB.
const TARGET: usize = 64 * KIB;
/// `AdaptiveWatermark`: windows of 1 s...
const WINDOW: Duration = Duration::from_secs(1);
/// ...never shrinking below 64 KiB.
const FLOOR: usize = 64 * KIB;
/// The manual clock moves this much per message.
const TICK: Duration = Duration::from_millis(1);

/// What a policy may retain after the small messages: 1 MiB.
const BOUND: usize = MIB;

/// Read size of the socket-like source.
const CHUNK: usize = 4 * KIB;

/// Payload length of small message `i`: 100 to 300 bytes.
fn small_len(i: usize) -> usize {
    100 + (i * 37) % 201
}

/// Small message `i`: its number, then its low byte repeated.
fn small_payload(i: usize) -> Vec<u8> {
    let mut payload = vec![i.to_le_bytes()[0]; small_len(i)];
    payload[..4].copy_from_slice(&u32::try_from(i).expect("few").to_le_bytes());
    payload
}

fn check_small(i: usize, payload: &[u8]) {
    assert_eq!(payload.len(), small_len(i), "small message {i}");
    assert_eq!(
        payload[..4],
        u32::try_from(i).expect("few").to_le_bytes(),
        "small message {i}"
    );
    assert_eq!(
        payload[payload.len() - 1],
        i.to_le_bytes()[0],
        "small message {i}"
    );
}

/// Checks the huge payload at every MiB (a full comparison is slow in debug
/// builds).
fn check_big(payload: &[u8]) {
    assert_eq!(payload.len(), BIG);
    for at in (0..BIG).step_by(MIB).chain([BIG - 1]) {
        assert_eq!(payload[at], BIG_BYTE, "byte {at} of the huge message");
    }
}

/// The plain-framed stream: the 64 MiB message, then the small ones. Built
/// once (with `vec![x; n]`, a memset, and no per-byte loop), then shared.
fn stream() -> &'static [u8] {
    static STREAM: OnceLock<Vec<u8>> = OnceLock::new();
    STREAM.get_or_init(|| {
        let mut small = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
        for i in 0..SMALL_COUNT {
            small.write_payload(&small_payload(i)).expect("write");
        }
        let small = small.into_inner();
        let header_len = DefaultFramer.header_len();
        let mut bytes = vec![BIG_BYTE; header_len + BIG + small.len()];
        let (header, rest) = bytes.split_at_mut(header_len);
        DefaultFramer
            .encode_header(&rest[..BIG], header)
            .expect("a 64 MiB header");
        rest[BIG..].copy_from_slice(&small);
        bytes
    })
}

/// The 64 MiB payload, inside [`stream`].
fn big_payload() -> &'static [u8] {
    &stream()[DefaultFramer.header_len()..][..BIG]
}

/// Serialises the tests that hold 64 MiB buffers.
fn one_big_at_a_time() -> MutexGuard<'static, ()> {
    static BIG_TESTS: Mutex<()> = Mutex::new(());
    BIG_TESTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands out at most `chunk` bytes per `read` call, as a socket would.
#[derive(Debug)]
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// How the bytes reach the reader.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The whole stream as one slice: each read fills the whole buffer.
    Slice,
    /// At most [`CHUNK`] bytes per read.
    Chunked,
}

fn source(kind: Source) -> Box<dyn Read> {
    match kind {
        Source::Slice => Box::new(stream()),
        Source::Chunked => Box::new(Chunked {
            data: stream(),
            chunk: CHUNK,
        }),
    }
}

type Policy = Box<dyn MemoryPolicy + Send>;

/// The policies of the scenario, with the clock driving `AdaptiveWatermark`.
fn shrink_above() -> Policy {
    Box::new(ShrinkAbove::new(THRESHOLD, TARGET))
}

fn adaptive(clock: &Arc<ManualClock>) -> Policy {
    Box::new(AdaptiveWatermark::new(WINDOW, FLOOR, Arc::clone(clock)))
}

/// What a reader or writer held after the scenario.
#[derive(Debug)]
struct Retained {
    /// The reader's `capacity()` (`None` for a writer).
    capacity: Option<usize>,
    /// Live bytes of the thread, beyond those before the reader or writer
    /// was created.
    live: isize,
    /// The most the thread held at once meanwhile.
    peak: usize,
}

impl Retained {
    fn assert_within_bound(&self, what: &str) {
        println!("{what}: {self:?}");
        assert!(
            self.peak >= BIG,
            "{what}: the huge message was never held ({self:?})"
        );
        if let Some(capacity) = self.capacity {
            assert!(
                capacity <= BOUND,
                "{what}: capacity {capacity} over {BOUND}"
            );
        }
        assert!(
            self.live <= BOUND as isize,
            "{what}: {} live bytes retained, over {BOUND}",
            self.live
        );
    }

    fn assert_keeps_the_big_message(&self, what: &str) {
        println!("{what}: {self:?}");
        if let Some(capacity) = self.capacity {
            assert!(capacity >= BIG, "{what}: capacity {capacity} under 64 MiB");
        }
        assert!(
            self.live >= BIG as isize,
            "{what}: only {} live bytes retained",
            self.live
        );
    }
}

/// Reads the huge message and the small ones through a reader with `policy`
/// from `kind`, calling `tick` after each message, then up to the end of
/// input, and `at_end` (a few more polls, say) before measuring.
fn read_scenario(
    kind: Source,
    policy: Option<Policy>,
    mut tick: impl FnMut(),
    at_end: impl FnOnce(&mut StreamReader<Box<dyn Read>, DefaultDeframer>),
) -> Retained {
    let source = source(kind); // the stream is built before the mark
    let mark = live_mark();
    let (reader, peak) = peak_extra_bytes_in(|| {
        let mut reader = StreamReader::new(source, DefaultDeframer);
        if let Some(policy) = policy {
            reader = reader.with_memory_policy(policy);
        }
        check_big(reader.read_message().expect("read").expect("the big one"));
        tick();
        for i in 0..SMALL_COUNT {
            check_small(i, reader.read_message().expect("read").expect("small"));
            tick();
        }
        assert!(reader.read_message().expect("clean end").is_none());
        at_end(&mut reader);
        reader
    });
    let retained = Retained {
        capacity: Some(reader.capacity()),
        live: live_bytes_since(mark),
        peak,
    };
    assert_eq!(reader.frames_read(), 1 + SMALL_COUNT as u64);
    drop(reader);
    retained
}

#[test]
fn reader_with_shrink_above_gives_the_64_mib_back() {
    let _turn = one_big_at_a_time();
    for kind in [Source::Slice, Source::Chunked] {
        let retained = read_scenario(kind, Some(shrink_above()), || {}, |_| {});
        retained.assert_within_bound(&format!("reader, ShrinkAbove, {kind:?}"));
    }
}

/// With reads of a few KiB, as from a socket, the policy is consulted every
/// few messages, and the buffer shrinks two windows after the huge message:
/// the window that saw it keeps it, the next one of small messages gives it
/// back.
#[test]
fn reader_with_adaptive_watermark_gives_the_64_mib_back() {
    let _turn = one_big_at_a_time();
    let clock = Arc::new(ManualClock::default());
    let retained = read_scenario(
        Source::Chunked,
        Some(adaptive(&clock)),
        || clock.advance(TICK),
        |_| {},
    );
    retained.assert_within_bound("reader, AdaptiveWatermark, Chunked");
}

/// A whole-slice source fills the buffer in one read: the 64 MiB buffer
/// swallows every small message at once, and the policy, consulted only when
/// the reader refills, is next asked at the end of input, ten windows later.
/// That judges the window that saw the huge message (it keeps the buffer)
/// and starts a new one; a reader that polls again a window later (tailing a
/// file, say) gives the memory back.
#[test]
fn reader_with_adaptive_watermark_gives_the_64_mib_back_at_its_next_refill() {
    let _turn = one_big_at_a_time();
    let clock = Arc::new(ManualClock::default());
    let retained = read_scenario(
        Source::Slice,
        Some(adaptive(&clock)),
        || clock.advance(TICK),
        |reader| {
            clock.advance(WINDOW);
            assert!(reader.read_message().expect("clean end").is_none());
        },
    );
    retained.assert_within_bound("reader, AdaptiveWatermark, Slice, one more poll at the end");
}

#[test]
fn reader_without_a_policy_keeps_the_64_mib() {
    let _turn = one_big_at_a_time();
    for kind in [Source::Slice, Source::Chunked] {
        let retained = read_scenario(kind, None, || {}, |_| {});
        retained.assert_keeps_the_big_message(&format!("reader, no policy, {kind:?}"));
    }
}

/// Simple mode: `payload` as the root byte string of a FlatBuffer (copied
/// whole, no per-byte loop).
fn write_bytes<F: Framer>(writer: &mut StreamWriter<impl io::Write, F>, payload: &[u8]) {
    writer
        .write_with(
            |builder: &mut FlatBufferBuilder<'static, DefaultAllocator>| {
                let root = builder.create_byte_string(payload);
                builder.finish(root, None);
                Ok(())
            },
        )
        .expect("write_with");
}

/// Writes the huge message and the small ones in simple mode to
/// `io::sink()`, through a writer with `policy`, calling `tick` after each.
fn write_scenario(policy: Option<Policy>, mut tick: impl FnMut()) -> Retained {
    let big = big_payload();
    let small: Vec<Vec<u8>> = (0..SMALL_COUNT).map(small_payload).collect();
    let mark = live_mark();
    let (writer, peak) = peak_extra_bytes_in(|| {
        let mut writer = StreamWriter::new(io::sink(), DefaultFramer).allow_empty_payloads(true);
        if let Some(policy) = policy {
            writer = writer.with_memory_policy(policy);
        }
        write_bytes(&mut writer, big);
        tick();
        for payload in &small {
            write_bytes(&mut writer, payload);
            tick();
        }
        writer
    });
    let retained = Retained {
        capacity: None,
        live: live_bytes_since(mark),
        peak,
    };
    assert_eq!(writer.frames_written(), 1 + SMALL_COUNT as u64);
    assert!(writer.bytes_written() > BIG as u64);
    drop(writer);
    retained
}

#[test]
fn simple_mode_writer_with_shrink_above_gives_the_64_mib_back() {
    let _turn = one_big_at_a_time();
    write_scenario(Some(shrink_above()), || {}).assert_within_bound("writer, ShrinkAbove");
}

#[test]
fn simple_mode_writer_with_adaptive_watermark_gives_the_64_mib_back() {
    let _turn = one_big_at_a_time();
    let clock = Arc::new(ManualClock::default());
    write_scenario(Some(adaptive(&clock)), || clock.advance(TICK))
        .assert_within_bound("writer, AdaptiveWatermark");
}

#[test]
fn simple_mode_writer_without_a_policy_keeps_the_64_mib() {
    let _turn = one_big_at_a_time();
    write_scenario(None, || {}).assert_keeps_the_big_message("writer, no policy");
}

/// A huge message that the writer refuses (too large for its limit, refused
/// by a validator, or a build that fails half-way) has grown the builder all
/// the same; the policy must give that memory back too.
///
/// Fails today: `StreamWriter::write_with` returns on the error before it
/// records the builder's high water or consults the policy, and later small
/// messages report a high water of a few hundred bytes, so the policy never
/// learns of the 16 MiB builder. Fix (library): record
/// `builder.unfinished_data().len()` right after `build` runs, whatever the
/// outcome, and consult the policy before returning the error.
#[test]
fn simple_mode_writer_gives_back_the_memory_of_a_refused_huge_message() {
    const REFUSED: usize = 8 * MIB;
    let huge = vec![BIG_BYTE; REFUSED];
    let small: Vec<Vec<u8>> = (0..100).map(small_payload).collect();
    fn write_small<F: Framer>(writer: &mut StreamWriter<io::Sink, F>, small: &[Vec<u8>]) {
        for payload in small {
            write_bytes(writer, payload);
        }
    }
    let build_huge = |builder: &mut FlatBufferBuilder<'static, DefaultAllocator>| {
        let root = builder.create_byte_string(&huge);
        builder.finish(root, None);
        Ok(())
    };

    let mut measured = Vec::new();
    // Over the writer's own limit.
    let mark = live_mark();
    let mut writer = StreamWriter::new(io::sink(), DefaultFramer)
        .allow_empty_payloads(true)
        .with_max_frame_len(MIB)
        .with_memory_policy(shrink_above());
    let err = writer.write_with(build_huge).expect_err("too large");
    assert!(matches!(
        err.kind(),
        flatstream::ErrorKind::FrameTooLarge { .. }
    ));
    write_small(&mut writer, &small);
    measured.push(("over with_max_frame_len", live_bytes_since(mark)));
    drop(writer);

    // Refused by a validating framer.
    let mark = live_mark();
    let framer = DefaultFramer.validated(flatstream::SizeValidator::at_most(MIB));
    let mut writer = StreamWriter::new(io::sink(), framer)
        .allow_empty_payloads(true)
        .with_memory_policy(shrink_above());
    let err = writer.write_with(build_huge).expect_err("refused");
    assert!(matches!(err.kind(), flatstream::ErrorKind::Invalid { .. }));
    write_small(&mut writer, &small);
    measured.push(("refused by SizeValidator", live_bytes_since(mark)));
    drop(writer);

    // A build that fails after filling the builder.
    let mark = live_mark();
    let mut writer = StreamWriter::new(io::sink(), DefaultFramer)
        .allow_empty_payloads(true)
        .with_memory_policy(shrink_above());
    let err = writer
        .write_with(|builder| {
            builder.create_byte_string(&huge);
            Err(flatstream::Error::custom("changed my mind"))
        })
        .expect_err("the build's error");
    assert!(err.to_string().starts_with("changed my mind"), "{err}");
    write_small(&mut writer, &small);
    measured.push(("failed build", live_bytes_since(mark)));
    drop(writer);

    println!("writer after a refused 8 MiB message: {measured:?}");
    for (what, live) in measured {
        assert!(
            live <= BOUND as isize,
            "{what}: {live} live bytes retained, over {BOUND}"
        );
    }
}

// ---------------------------------------------------------------------------
// Hysteresis: sizes that wobble within a factor of 3 never shrink a buffer
// under `AdaptiveWatermark` (it shrinks only beyond four times the window's
// high watermark), so the steady state allocates nothing. `ShrinkAbove` with
// a threshold between the sizes, the control, reallocates back and forth.
// Once sizes do fall by more than four times, the same policy shrinks.

/// The window of the hysteresis tests, and the clock's move per message:
/// every window sees ten messages.
const SHORT_WINDOW: Duration = Duration::from_millis(100);
const SHORT_TICK: Duration = Duration::from_millis(10);

/// Messages before counting, and counted.
const WARM_UP: usize = 60;
const MEASURED: usize = 120;

/// Alternating sizes: 24 KiB and 64 KiB (a factor of 2.7).
fn wobbling_len(i: usize) -> usize {
    if i.is_multiple_of(2) {
        24 * KIB
    } else {
        64 * KIB
    }
}

/// Reads `WARM_UP` then `MEASURED` wobbling messages from a stream that then
/// goes on with `tail` small ones, moving `clock` per message. Returns the
/// allocations of the measured messages and the capacities after them and
/// after the tail.
fn read_wobbling(policy: Policy, clock: &ManualClock, tail: usize) -> (usize, usize, usize) {
    let mut writer = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
    for i in 0..WARM_UP + MEASURED {
        writer
            .write_payload(&vec![i.to_le_bytes()[0]; wobbling_len(i)])
            .expect("write");
    }
    for i in 0..tail {
        writer.write_payload(&small_payload(i)).expect("write");
    }
    let bytes = writer.into_inner();
    let mut reader =
        StreamReader::new(bytes.as_slice(), DefaultDeframer).with_memory_policy(policy);
    let mut next = |i: usize| {
        let payload = reader.read_message().expect("read").expect("a message");
        assert_eq!(payload.len(), wobbling_len(i));
        clock.advance(SHORT_TICK);
    };
    (0..WARM_UP).for_each(&mut next);
    let ((), allocations) = allocations_in(|| (WARM_UP..WARM_UP + MEASURED).for_each(&mut next));
    let wobbling = reader.capacity();
    for i in 0..tail {
        check_small(i, reader.read_message().expect("read").expect("small"));
        clock.advance(SHORT_TICK);
    }
    assert!(reader.read_message().expect("clean end").is_none());
    (allocations, wobbling, reader.capacity())
}

#[test]
fn adaptive_watermark_does_not_flap_on_the_reader() {
    let clock = Arc::new(ManualClock::default());
    let policy = Box::new(AdaptiveWatermark::new(SHORT_WINDOW, 0, Arc::clone(&clock)));
    let (allocations, wobbling, after) = read_wobbling(policy, &clock, 1000);
    println!(
        "reader, AdaptiveWatermark: {allocations} allocations, capacity {wobbling} then {after}"
    );
    assert_eq!(allocations, 0, "{MEASURED} wobbling messages reallocated");
    assert!(wobbling >= 64 * KIB, "capacity {wobbling}");
    assert!(
        after <= 4 * KIB,
        "small messages only: capacity {after} should have shrunk"
    );

    // The control: a threshold between the sizes flaps.
    let policy = Box::new(ShrinkAbove::new(32 * KIB, 32 * KIB));
    let (allocations, _, _) = read_wobbling(policy, &clock, 0);
    println!("reader, ShrinkAbove(32 KiB): {allocations} allocations");
    assert!(allocations > 0, "the counter sees flapping");
}

/// Writes `WARM_UP` then `MEASURED` messages alternating 1 and 3 KiB, then
/// `tail` small ones of 100 to 300 bytes, in simple mode, moving `clock` per
/// message. Returns the allocations of the measured messages, and the live
/// bytes of the writer after them and after the tail.
fn write_wobbling(policy: Policy, clock: &ManualClock, tail: usize) -> (usize, isize, isize) {
    let wobbling: Vec<Vec<u8>> = (0..2)
        .map(|i| vec![0x5A; if i == 0 { KIB } else { 3 * KIB }])
        .collect();
    let small: Vec<Vec<u8>> = (0..tail).map(small_payload).collect();
    let mark = live_mark();
    let mut writer = StreamWriter::new(io::sink(), DefaultFramer)
        .allow_empty_payloads(true)
        .with_memory_policy(policy);
    let mut next = |i: usize| {
        write_bytes(&mut writer, &wobbling[i % 2]);
        clock.advance(SHORT_TICK);
    };
    (0..WARM_UP).for_each(&mut next);
    let ((), allocations) = allocations_in(|| (WARM_UP..WARM_UP + MEASURED).for_each(&mut next));
    let live_wobbling = live_bytes_since(mark);
    for payload in &small {
        write_bytes(&mut writer, payload);
        clock.advance(SHORT_TICK);
    }
    let live_after = live_bytes_since(mark);
    drop(writer);
    (allocations, live_wobbling, live_after)
}

#[test]
fn adaptive_watermark_does_not_flap_on_the_writer() {
    let clock = Arc::new(ManualClock::default());
    let policy = Box::new(AdaptiveWatermark::new(SHORT_WINDOW, 0, Arc::clone(&clock)));
    let (allocations, wobbling, after) = write_wobbling(policy, &clock, 1000);
    println!("writer, AdaptiveWatermark: {allocations} allocations, live {wobbling} then {after}");
    assert_eq!(allocations, 0, "{MEASURED} wobbling messages reallocated");
    assert!(
        after < wobbling,
        "small messages only: {after} live bytes should be under {wobbling}"
    );

    // The control: a threshold between the sizes flaps.
    let policy = Box::new(ShrinkAbove::new(2 * KIB, 2 * KIB));
    let (allocations, _, _) = write_wobbling(policy, &clock, 0);
    println!("writer, ShrinkAbove(2 KiB): {allocations} allocations");
    assert!(allocations > 0, "the counter sees flapping");
}

// ---------------------------------------------------------------------------
// No policy shrinks below a frame in progress: a large frame arriving in
// small reads is read whole and intact, however aggressive the policy.

/// The most aggressive policy possible: shrink to nothing, every time.
#[derive(Debug)]
struct AlwaysShrink;

impl MemoryPolicy for AlwaysShrink {
    fn shrink_to(&mut self, _capacity: usize, _in_use: usize) -> Option<usize> {
        Some(0)
    }
}

/// `AlwaysShrink`; `ShrinkAbove::new(0, 0)`, which in fact never fires (it
/// waits for a message in use that fits in 0 bytes, and a reader always
/// needs at least one more byte, a writer's FlatBuffer is never empty);
/// `ShrinkAbove::new(16, 16)`, which shrinks between frames to 16 bytes.
fn aggressive_policies() -> [(&'static str, Policy); 3] {
    [
        ("AlwaysShrink", Box::new(AlwaysShrink)),
        ("ShrinkAbove(0, 0)", Box::new(ShrinkAbove::new(0, 0))),
        ("ShrinkAbove(16, 16)", Box::new(ShrinkAbove::new(16, 16))),
    ]
}

/// Payloads of `lens`, each byte different from its neighbours.
fn varied_payloads(lens: &[usize]) -> Vec<Vec<u8>> {
    lens.iter()
        .enumerate()
        .map(|(i, &len)| {
            (0..len)
                .map(|j| (i * 7 + j * 13).to_le_bytes()[0])
                .collect()
        })
        .collect()
}

fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
    for payload in payloads {
        writer.write_payload(payload).expect("write");
    }
    writer.into_inner()
}

#[test]
fn aggressive_policies_never_shrink_below_a_frame_in_progress() {
    // Large frames in 1000-byte reads, a smaller one in 1-byte reads.
    let cases = [
        (vec![10, MIB, 0, 3, 300 * KIB, 10], 1000),
        (vec![10, 20 * KIB, 3, 10], 1),
    ];
    for (lens, chunk) in cases {
        let payloads = varied_payloads(&lens);
        let bytes = framed(&payloads);
        for (name, policy) in aggressive_policies() {
            let source = Chunked {
                data: &bytes,
                chunk,
            };
            let mut reader = StreamReader::new(source, DefaultDeframer).with_memory_policy(policy);
            for (i, expected) in payloads.iter().enumerate() {
                let payload = reader
                    .read_message()
                    .unwrap_or_else(|e| panic!("{name}, {chunk}-byte reads, frame {i}: {e}"))
                    .expect("a frame");
                assert!(
                    payload == expected.as_slice(),
                    "{name}, {chunk}-byte reads: frame {i} differs"
                );
            }
            assert!(reader.read_message().expect("clean end").is_none());
            println!(
                "{name}, {chunk}-byte reads: capacity {} at the end",
                reader.capacity()
            );
        }
    }
}

#[test]
fn aggressive_policies_write_the_same_bytes() {
    let payloads = varied_payloads(&[10, MIB, 0, 3, 300 * KIB, 10]);
    let write_all = |policy: Option<Policy>| {
        let mut writer = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
        if let Some(policy) = policy {
            writer = writer.with_memory_policy(policy);
        }
        for payload in &payloads {
            write_bytes(&mut writer, payload);
        }
        writer.into_inner()
    };
    let expected = write_all(None);
    for (name, policy) in aggressive_policies() {
        assert!(write_all(Some(policy)) == expected, "{name}");
    }
    // And they read back.
    let mut reader =
        StreamReader::new(expected.as_slice(), DefaultDeframer).with_memory_policy(AlwaysShrink);
    for expected in &payloads {
        let payload = reader.read_message().expect("read").expect("a frame");
        let root =
            flatstream::flatbuffers::root::<flatstream::flatbuffers::Vector<'_, u8>>(payload)
                .expect("a byte vector");
        assert!(root.bytes() == expected.as_slice());
    }
}
