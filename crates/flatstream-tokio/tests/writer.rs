//! `AsyncStreamWriter`: cancellation, sink faults and backpressure.
//!
//! - A write future dropped at every point where the sink answers `Pending`
//!   (bare sink and behind the write buffer, for every framer): calling
//!   again with the same payload writes it once; going on with the next
//!   payload completes the dropped frame first if any of it reached the
//!   sink. The stream always reads back whole, with no frame torn,
//!   duplicated or invented.
//! - A write that returned `Ok` is always on the wire: `Pending` at every
//!   pair of consecutive sink calls, the first dropping a write mid-frame,
//!   the second met by the next write while it completes the dropped frame.
//! - Property test: random writes (4 B to 70 KB) over a sink that answers
//!   `Pending`, `Interrupted` and short or vectored writes at random, each
//!   future polled a few times then dropped or finished: every write that
//!   returned `Ok` arrives, in order, each frame at most once, and the
//!   writer's counts are the stream's.
//! - A sink error in the middle of a frame stops the writer: every later
//!   write is `TornWrite`, and what reached the sink is the frames before;
//!   behind the write buffer, `flush_buffer` still hands the sink every
//!   frame whose write returned `Ok`.
//! - Backpressure: a writer into a pipe that nobody reads waits once the
//!   pipe and its write buffer are full, and goes on when the reader reads.

use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::io;

use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc16, Crc32, DefaultDeframer, DefaultFramer, Deframer,
    ErrorKind, Framer, SliceReader, XxHash64,
};
use flatstream_tokio::{AsyncStreamReader, AsyncStreamWriter};
use tokio::io::AsyncWrite;

/// A sink that takes at most `max_per_call` bytes per call, answers
/// `Pending` on the calls whose index is in `pending_at`, and fails every
/// call from `fail_from` on.
#[derive(Debug, Default)]
struct Sink {
    out: Vec<u8>,
    max_per_call: usize,
    calls: usize,
    pending_at: Vec<usize>,
    fail_from: Option<usize>,
    /// `poll_shutdown` fails.
    shutdown_fails: bool,
}

impl AsyncWrite for Sink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let call = self.calls;
        self.calls += 1;
        if self.fail_from.is_some_and(|from| call >= from) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if self.pending_at.contains(&call) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = buf.len().min(self.max_per_call);
        self.out.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shutdown_fails {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Poll::Ready(Ok(()))
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

fn payloads() -> Vec<Vec<u8>> {
    (0..8u8)
        .map(|i| vec![i + 1; 1 + usize::from(i) * 5])
        .collect()
}

fn read_back<D: Deframer + Default>(bytes: &[u8]) -> Vec<Vec<u8>> {
    SliceReader::new(bytes, D::default())
        .map(|payload| payload.expect("the stream reads back whole").to_vec())
        .collect()
}

/// What a test does after a write future was dropped at `Pending`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    /// Calls `write_payload` again with the same payload.
    Retry,
    /// Goes on with the next payload.
    Next,
}

/// Writes `payloads` with a `Pending` at sink call `pending_at`, dropping
/// the future there and going on as `after` says. Returns the sink's bytes,
/// and the index of the dropped payload with whether any of its frame had
/// reached the sink then (`None`: no call of the run was `Pending`).
fn write_with_drop<F: Framer + Default>(
    capacity: usize,
    max_per_call: usize,
    pending_at: usize,
    after: After,
) -> (Vec<u8>, Option<(usize, bool)>) {
    let sink = Sink {
        max_per_call,
        pending_at: vec![pending_at],
        ..Sink::default()
    };
    let mut writer = AsyncStreamWriter::with_capacity(capacity, sink, F::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut dropped = None;
    for (i, payload) in payloads().iter().enumerate() {
        let before = (writer.bytes_written(), writer.get_ref().out.len());
        let mut future = Box::pin(writer.write_payload(payload));
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(result) => result.expect("the sink takes everything"),
            Poll::Pending => {
                drop(future);
                assert_eq!(writer.bytes_written(), before.0, "no whole frame counted");
                // With no write buffer, bytes of the frame on the sink mean
                // it is in flight.
                let started = writer.get_ref().out.len() > before.1;
                dropped = Some((i, started));
                if after == After::Retry {
                    block_on(writer.write_payload(payload)).expect("the retry completes");
                }
            }
        }
    }
    block_on(writer.flush()).expect("flush");
    assert_eq!(
        usize::try_from(writer.bytes_written()).expect("fits"),
        writer.get_ref().out.len(),
        "every byte on the sink belongs to a counted frame"
    );
    (writer.into_inner().out, dropped)
}

fn dropped_write_futures<F: Framer + Default, D: Deframer + Default>() {
    let payloads = payloads();
    for (capacity, max_per_call) in [(0, usize::MAX), (0, 3), (16, 5), (64 * 1024, usize::MAX)] {
        // The calls of an uninterrupted run bound the sweep.
        let calls = {
            let sink = Sink {
                max_per_call,
                ..Sink::default()
            };
            let mut writer = AsyncStreamWriter::with_capacity(capacity, sink, F::default());
            for payload in &payloads {
                block_on(writer.write_payload(payload)).expect("write");
            }
            block_on(writer.flush()).expect("flush");
            writer.get_ref().calls
        };
        for pending_at in 0..calls {
            let context = format!(
                "capacity {capacity}, {max_per_call} per call, Pending at call {pending_at}"
            );
            let (bytes, _) = write_with_drop::<F>(capacity, max_per_call, pending_at, After::Retry);
            assert_eq!(
                read_back::<D>(&bytes),
                payloads,
                "{context}, retried: each once"
            );

            let (bytes, dropped_next) =
                write_with_drop::<F>(capacity, max_per_call, pending_at, After::Next);
            let read = read_back::<D>(&bytes);
            match dropped_next {
                // The Pending came from the final flush: nothing dropped.
                None => assert_eq!(read, payloads, "{context}"),
                Some((i, started)) => {
                    let mut without = payloads.clone();
                    without.remove(i);
                    if capacity == 0 && started {
                        assert_eq!(read, payloads, "{context}: a started frame is completed");
                    } else {
                        assert!(
                            read == payloads || read == without,
                            "{context}: the dropped payload {i} whole or absent: {read:?}"
                        );
                    }
                }
            }
        }
    }
}

fn a_sink_error_mid_frame_stops_the_writer<F: Framer + Default, D: Deframer + Default>() {
    let payloads = payloads();
    // No write buffer, 3 bytes per call: the sink fails from the second
    // call of frame 2 on, inside that frame.
    let header_len = F::default().header_len();
    let calls = |len: usize| header_len.div_ceil(3) + len.div_ceil(3);
    let sink = Sink {
        max_per_call: 3,
        fail_from: Some(calls(payloads[0].len()) + calls(payloads[1].len()) + 1),
        ..Sink::default()
    };
    let mut writer = AsyncStreamWriter::with_capacity(0, sink, F::default());
    let mut results = Vec::new();
    for payload in &payloads {
        results.push(block_on(writer.write_payload(payload)));
    }
    let ok = results.iter().take_while(|r| r.is_ok()).count();
    assert_eq!(ok, 2, "frames 0 and 1 are written");
    let failed = results[ok].as_ref().expect_err("the failing write");
    assert!(matches!(failed.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::BrokenPipe));
    for later in &results[ok + 1..] {
        let err = later.as_ref().expect_err("refused after the stop");
        assert!(matches!(err.kind(), ErrorKind::TornWrite { .. }), "{err}");
        assert_eq!(err.position().map(|p| p.frame), Some(ok as u64));
    }
    let out = writer.into_inner().out;
    let frames: Vec<Vec<u8>> = SliceReader::new(&out, D::default())
        .map_while(Result::ok)
        .map(|p| p.to_vec())
        .collect();
    assert_eq!(frames, payloads[..ok], "the frames before the error, whole");
}

/// The sink fails once while the write buffer drains, in the middle of a
/// frame, then works again: the writer stops, and `flush_buffer` still
/// hands the sink every frame whose write returned `Ok` (behind them, the
/// cut frame's bytes the buffer took: a torn tail). The sink's shutdown
/// error names where the next frame would go.
#[test]
fn a_stopped_writer_still_hands_its_buffered_frames_to_the_sink() {
    let sink = Sink {
        max_per_call: usize::MAX,
        fail_from: Some(0),
        shutdown_fails: true,
        ..Sink::default()
    };
    // Three 20-byte frames fill 60 of 64 bytes; the fourth's header fills
    // the buffer, and its payload makes it drain into the failing sink.
    let mut writer = AsyncStreamWriter::with_capacity(64, sink, DefaultFramer);
    for i in 0..3_u8 {
        block_on(writer.write_payload(&[i + 1; 16])).expect("buffered");
    }
    let err = block_on(writer.write_payload(&[9; 16])).expect_err("the sink fails");
    assert!(matches!(err.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::BrokenPipe));
    let err = block_on(writer.flush()).expect_err("stopped");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::TornWrite {
                written: 4,
                frame_len: 20
            }
        ),
        "{err}"
    );
    assert!(
        writer.get_ref().out.is_empty(),
        "nothing reached the sink yet"
    );

    writer.get_mut().fail_from = None;
    block_on(writer.flush_buffer()).expect("the sink works again");
    let out = &writer.get_ref().out;
    assert_eq!(out.len(), 64);
    let mut reader = SliceReader::new(out, DefaultDeframer);
    for i in 0..3_u8 {
        let payload = reader.next().expect("a frame").expect("whole");
        assert_eq!(payload, [i + 1; 16]);
    }
    let torn = reader.next().expect("the tail").expect_err("torn");
    assert!(torn.is_unexpected_eof(), "{torn}");

    let err = block_on(writer.shutdown()).expect_err("stopped");
    assert!(matches!(err.kind(), ErrorKind::TornWrite { .. }), "{err}");
    let mut fresh = AsyncStreamWriter::new(
        Sink {
            max_per_call: usize::MAX,
            shutdown_fails: true,
            ..Sink::default()
        },
        DefaultFramer,
    );
    block_on(fresh.write_payload(b"one")).expect("written");
    let err = block_on(fresh.shutdown()).expect_err("the sink's shutdown fails");
    assert!(matches!(err.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::ConnectionReset));
    assert_eq!(
        err.position(),
        Some(flatstream::Position {
            offset: 7,
            frame: 1
        })
    );
}

/// A write dropped at `Pending` mid-frame, then the next payload's write
/// meeting `Pending` while it completes the dropped frame and polled on:
/// for `Pending` at every pair of consecutive sink calls, every payload
/// whose write returned `Ok` reads back, once, in order (the dropped one at
/// most once, in its place), and nothing is torn.
fn ok_writes_always_arrive<F: Framer + Default, D: Deframer + Default>() {
    let payloads = payloads();
    for max_per_call in [3, 7] {
        for first in 0..60 {
            let sink = Sink {
                max_per_call,
                pending_at: vec![first, first + 1],
                ..Sink::default()
            };
            let mut writer = AsyncStreamWriter::with_capacity(0, sink, F::default());
            let mut cx = Context::from_waker(Waker::noop());
            let mut dropped = false;
            let mut returned_ok = Vec::new();
            for (i, payload) in payloads.iter().enumerate() {
                let mut future = Box::pin(writer.write_payload(payload));
                loop {
                    match future.as_mut().poll(&mut cx) {
                        Poll::Ready(result) => {
                            result.expect("the sink takes everything");
                            returned_ok.push(i);
                            break;
                        }
                        // The first `Pending` of the run: drop the write.
                        Poll::Pending if !dropped => {
                            dropped = true;
                            break;
                        }
                        Poll::Pending => {}
                    }
                }
            }
            block_on(writer.flush()).expect("flush");
            let read = read_back::<D>(&writer.into_inner().out);
            let context = format!(
                "{max_per_call} per call, Pending at calls {first} and {}",
                first + 1
            );
            let mut at = 0;
            for i in returned_ok.iter().copied() {
                let found = read[at..].iter().position(|p| *p == payloads[i]);
                let Some(found) = found else {
                    panic!("{context}: payload {i} returned Ok but is not on the wire: {read:?}");
                };
                at += found + 1;
            }
            assert!(
                read.len() <= returned_ok.len() + 1,
                "{context}: more frames than writes: {}",
                read.len()
            );
        }
    }
}

macro_rules! writer_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn a_write_future_dropped_at_every_pending_leaves_no_torn_frame() {
                dropped_write_futures::<$framer, $deframer>();
            }

            #[test]
            fn a_write_that_returns_ok_always_arrives() {
                ok_writes_always_arrive::<$framer, $deframer>();
            }

            #[test]
            fn a_sink_error_mid_frame_stops_the_writer() {
                super::a_sink_error_mid_frame_stops_the_writer::<$framer, $deframer>();
            }
        }
    };
}

writer_tests!(plain, DefaultFramer, DefaultDeframer);
writer_tests!(crc32, ChecksumFramer<Crc32>, ChecksumDeframer<Crc32>);
writer_tests!(xxh3, ChecksumFramer<XxHash64>, ChecksumDeframer<XxHash64>);
writer_tests!(crc16, ChecksumFramer<Crc16>, ChecksumDeframer<Crc16>);

#[test]
fn a_slow_reader_slows_the_writer() {
    block_on(async {
        let (client, server) = tokio::io::duplex(4 * 1024);
        let mut writer = AsyncStreamWriter::with_capacity(16 * 1024, client, DefaultFramer);
        let payload = vec![7u8; 1000];
        // 100 KB into 4 KiB of pipe and 16 KiB of write buffer, nobody reading.
        let stalled = tokio::time::timeout(Duration::from_millis(200), async {
            for _ in 0..100 {
                writer.write_payload(&payload).await?;
            }
            writer.flush().await
        })
        .await;
        assert!(stalled.is_err(), "the writer waits for the reader");
        let written = writer.bytes_written();
        assert!(
            written <= (4 + 16 + 2) * 1024,
            "no more than the pipe and the buffer hold: {written}"
        );

        // The reader drains; the writer goes on, nothing lost or torn. The
        // timed-out write was dropped mid-frame: the next call completes it.
        let reader = tokio::spawn(async move {
            let mut reader = AsyncStreamReader::new(server, DefaultDeframer);
            let mut frames = 0u64;
            while let Some(p) = reader.read_message().await.expect("a whole stream") {
                assert_eq!(p, [7u8; 1000]);
                frames += 1;
            }
            frames
        });
        let before = writer.frames_written();
        for _ in before..100 {
            writer.write_payload(&payload).await.expect("write");
        }
        writer.shutdown().await.expect("shutdown");
        let frames = reader.await.expect("the reader ran");
        assert_eq!(frames, writer.frames_written());
        assert!(frames >= 100, "every frame arrived: {frames}");
    });
}

/// A sink whose every call is decided by a seeded generator: `Pending`
/// (`pending` percent of calls), `Interrupted` (3 %), or a write of a random
/// part of what it is offered; vectored writes take from several buffers at
/// once when `vectored`.
struct Random {
    out: Vec<u8>,
    state: u64,
    pending: u64,
    vectored: bool,
}

impl Random {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// `Pending`, an error, or how many of `offered` bytes to take.
    fn decide(&mut self, cx: &Context<'_>, offered: usize) -> Poll<io::Result<usize>> {
        let roll = self.next() % 100;
        if roll < self.pending {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if roll < self.pending + 3 {
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        if offered == 0 || self.next().is_multiple_of(2) {
            return Poll::Ready(Ok(offered));
        }
        let part =
            usize::try_from(self.next() % u64::try_from(offered).expect("fits")).expect("fits");
        Poll::Ready(Ok(1 + part))
    }
}

impl AsyncWrite for Random {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let decided = self.decide(cx, buf.len());
        if let Poll::Ready(Ok(n)) = decided {
            self.out.extend_from_slice(&buf[..n]);
        }
        decided
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if !self.vectored {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            return self.poll_write(cx, first);
        }
        let total = bufs.iter().map(|b| b.len()).sum();
        let decided = self.decide(cx, total);
        if let Poll::Ready(Ok(n)) = decided {
            let mut left = n;
            for buf in bufs {
                let take = left.min(buf.len());
                self.out.extend_from_slice(&buf[..take]);
                left -= take;
            }
        }
        decided
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.decide(cx, 0) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Payload `id`: its id in the first 4 bytes, then a length from 4 bytes
/// to 70 KB (past the vectored size and the write buffer) by `class`.
fn numbered(id: u32, class: u8) -> Vec<u8> {
    let len = match class % 4 {
        0 => 4 + id as usize % 20,
        1 => 100 + id as usize * 37 % 3000,
        2 => 16 * 1024 + id as usize % 2000,
        _ => 60_000 + id as usize * 101 % 10_000,
    };
    let mut payload = vec![u8::try_from(id % 200).expect("fits") + 1; len];
    payload[..4].copy_from_slice(&id.to_le_bytes());
    payload
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

    /// Random writes over a sink that answers `Pending`, `Interrupted` and
    /// short writes at random, with write futures polled a few times and
    /// then dropped or polled to the end: every write that returned `Ok`
    /// reads back, in order, each frame at most once, nothing torn, and
    /// the writer's counts are the stream's.
    #[test]
    fn random_drops_and_sink_behaviour_never_lose_an_ok_write(
        seed in 1u64..,
        pending in 0u64..40,
        vectored: bool,
        capacity in proptest::sample::select(vec![0usize, 7, 4096, 65_536]),
        ops in proptest::collection::vec((0u8..4, 1usize..4, proptest::bool::ANY), 1..24),
    ) {
        let sink = Random { out: Vec::new(), state: seed, pending, vectored };
        let mut writer = AsyncStreamWriter::with_capacity(capacity, sink, DefaultFramer);
        let mut cx = Context::from_waker(Waker::noop());
        let mut ok = Vec::new();
        for (id, (class, polls, drop_it)) in ops.iter().enumerate() {
            let id = u32::try_from(id).expect("fits") + 1;
            let payload = numbered(id, *class);
            let mut future = Box::pin(writer.write_payload(&payload));
            let mut polled = 0;
            loop {
                match future.as_mut().poll(&mut cx) {
                    Poll::Ready(result) => {
                        result.expect("no fatal sink error here");
                        ok.push(id);
                        break;
                    }
                    Poll::Pending => {
                        polled += 1;
                        if polled >= *polls && *drop_it {
                            break;
                        }
                        proptest::prop_assert!(polled < 100_000, "a write that never ends");
                    }
                }
            }
        }
        let mut flush = Box::pin(writer.flush());
        let mut polled = 0;
        while flush.as_mut().poll(&mut cx).is_pending() {
            polled += 1;
            proptest::prop_assert!(polled < 100_000, "a flush that never ends");
        }
        drop(flush);
        let (frames, bytes) = (writer.frames_written(), writer.bytes_written());
        let out = writer.into_inner().out;
        proptest::prop_assert_eq!(bytes, out.len() as u64, "bytes_written is the stream");
        let read: Vec<u32> = SliceReader::new(&out, DefaultDeframer)
            .map(|payload| {
                let payload = payload.expect("the stream reads back whole");
                u32::from_le_bytes(payload[..4].try_into().expect("an id"))
            })
            .collect();
        proptest::prop_assert_eq!(read.len() as u64, frames, "frames_written is the stream");
        proptest::prop_assert!(read.windows(2).all(|w| w[0] < w[1]), "in order, once each: {:?}", read);
        for id in &ok {
            proptest::prop_assert!(read.contains(id), "write {} returned Ok but is missing: {:?}", id, read);
        }
    }
}
