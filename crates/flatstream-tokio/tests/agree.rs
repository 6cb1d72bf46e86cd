//! The async reader and the codec behave exactly as the blocking
//! `StreamReader`, which the facade's sweeps and property tests pin down:
//! on the same damaged streams (bit flips, cuts, rewritten lengths), under
//! every `AfterDamage` policy, they give the same payloads and the same
//! errors at the same positions, whatever the chunking of the input and
//! wherever the source answers `Pending`. The blocking reader is the
//! oracle; these tests do not restate its rules.
//!
//! Sweeps, for every framer pair: a 20-frame stream cut at every byte
//! offset; every bit of a 6-frame stream flipped; `Pending` before every
//! byte; a `read_message` future dropped at every `Pending` and started
//! again (cancellation loses and repeats nothing).

use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::io;

use bytes::BytesMut;
use flatstream::{
    AfterDamage, ChecksumDeframer, ChecksumFramer, Crc16, Crc32, DefaultDeframer, DefaultFramer,
    Deframer, Error, Framer, Position, SliceReader, StreamReader, StreamWriter, XxHash64,
};
use flatstream_tokio::{AsyncStreamReader, FlatStreamCodec};
use futures_util::StreamExt;
use proptest::prelude::*;
use proptest::sample::Index;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::Decoder;

/// Every damage policy.
const MODES: [AfterDamage; 3] = [AfterDamage::Skip, AfterDamage::Resync, AfterDamage::Stop];

/// The frame limit of every reader here (the codec's default is lower than
/// the blocking reader's; one limit keeps `FrameTooLarge` errors equal).
const LIMIT: usize = 1 << 20;

/// One outcome of a read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Frame(Position, Vec<u8>),
    /// The error's kind (as `Debug`) and position.
    Error(String, Option<Position>),
}

fn error_event(err: &Error) -> Event {
    Event::Error(format!("{:?}", err.kind()), err.position())
}

/// The most outcomes read from a stream of `frames` frames: a reader that
/// repeats an error is cut off there.
fn step_limit(frames: usize) -> usize {
    2 * frames + 4
}

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

/// Hands out at most `chunk` bytes per call; answers `Pending` (and wakes
/// its task at once) on the calls whose index `pending` accepts.
struct Scripted<'a, P> {
    data: &'a [u8],
    chunk: usize,
    calls: usize,
    pending: P,
}

impl<P: FnMut(usize) -> bool + Unpin> AsyncRead for Scripted<'_, P> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let call = self.calls;
        self.calls += 1;
        if (self.pending)(call) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = self.chunk.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

/// The blocking twin: at most `chunk` bytes per call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(self.data.len()).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

// ---------------------------------------------------------------------------
// The three readers
// ---------------------------------------------------------------------------

/// The oracle: `StreamReader` over `chunk`-byte reads.
fn blocking_events<D: Deframer>(
    bytes: &[u8],
    deframer: D,
    mode: AfterDamage,
    chunk: usize,
    limit: usize,
) -> Vec<Event> {
    let source = Chunked { data: bytes, chunk };
    let mut reader = StreamReader::new(source, deframer)
        .with_after_damage(mode)
        .with_max_frame_len(LIMIT);
    let mut events = Vec::new();
    while events.len() < limit {
        let before = reader.position();
        match reader.read_message() {
            Ok(Some(payload)) => events.push(Event::Frame(before, payload.to_vec())),
            Ok(None) => break,
            Err(err) => events.push(error_event(&err)),
        }
    }
    events
}

/// `AsyncStreamReader` over a source that hands out `chunk` bytes per call
/// and answers `Pending` where `pending` says.
fn async_events<D: Deframer>(
    bytes: &[u8],
    deframer: D,
    mode: AfterDamage,
    chunk: usize,
    pending: impl FnMut(usize) -> bool + Unpin,
    limit: usize,
) -> Vec<Event> {
    let source = Scripted {
        data: bytes,
        chunk,
        calls: 0,
        pending,
    };
    let mut reader = AsyncStreamReader::new(source, deframer)
        .with_after_damage(mode)
        .with_max_frame_len(LIMIT);
    block_on(async {
        let mut events = Vec::new();
        while events.len() < limit {
            let before = reader.position();
            match reader.read_message().await {
                Ok(Some(payload)) => events.push(Event::Frame(before, payload.to_vec())),
                Ok(None) => break,
                Err(err) => events.push(error_event(&err)),
            }
        }
        events
    })
}

/// `FlatStreamCodec` driven as `FramedRead` drives it (`decode` while bytes
/// arrive `chunk` at a time, then `decode_eof`), but going on after errors.
fn codec_events<D: Deframer>(
    bytes: &[u8],
    deframer: D,
    mode: AfterDamage,
    chunk: usize,
    limit: usize,
) -> Vec<Event> {
    let mut codec = FlatStreamCodec::with_framing(DefaultFramer, deframer)
        .with_after_damage(mode)
        .with_max_frame_len(LIMIT);
    let mut buf = BytesMut::new();
    let mut rest = bytes;
    let mut events = Vec::new();
    while events.len() < limit {
        let before = codec.position();
        let eof = rest.is_empty();
        let decoded = if eof {
            codec.decode_eof(&mut buf)
        } else {
            codec.decode(&mut buf)
        };
        match decoded {
            Ok(Some(payload)) => events.push(Event::Frame(before, payload.to_vec())),
            Ok(None) if eof => {
                assert!(buf.is_empty(), "a clean end leaves nothing in the buffer");
                break;
            }
            Ok(None) => {
                let n = chunk.min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
            Err(err) => events.push(error_event(&err)),
        }
    }
    events
}

/// An item of an iteration: a payload, or an error's kind and position.
type Item = Result<Vec<u8>, (String, Option<Position>)>;

fn item(result: flatstream::Result<&[u8]>) -> Item {
    result
        .map(<[u8]>::to_vec)
        .map_err(|err| (format!("{:?}", err.kind()), err.position()))
}

/// The items of `SliceReader`, which ends after an error it cannot move
/// past: the reference for every iteration.
fn slice_items<D: Deframer>(bytes: &[u8], deframer: D, mode: AfterDamage) -> Vec<Item> {
    SliceReader::new(bytes, deframer)
        .with_after_damage(mode)
        .with_max_frame_len(LIMIT)
        .map(item)
        .collect()
}

/// The items of `AsyncStreamReader::into_stream`, `Pending` on every
/// other read.
fn stream_items<D: Deframer + Unpin>(
    bytes: &[u8],
    deframer: D,
    mode: AfterDamage,
    chunk: usize,
) -> Vec<Item> {
    let source = Scripted {
        data: bytes,
        chunk,
        calls: 0,
        pending: |call: usize| call.is_multiple_of(2),
    };
    let frames = AsyncStreamReader::new(source, deframer)
        .with_after_damage(mode)
        .with_max_frame_len(LIMIT)
        .into_stream();
    block_on(
        frames
            .map(|r| match r {
                Ok(payload) => item(Ok(&payload)),
                Err(err) => item(Err(err)),
            })
            .collect(),
    )
}

/// Checks that the async reader (plain, and with `Pending` on every other
/// call) and the codec give the oracle's outcomes on `bytes`, and that the
/// stream of owned frames gives the slice iterator's items.
fn agree<D: Deframer + Default + Unpin>(
    bytes: &[u8],
    mode: AfterDamage,
    chunk: usize,
    frames: usize,
) {
    let limit = step_limit(frames);
    let oracle = blocking_events(bytes, D::default(), mode, chunk, limit);
    let ready = async_events(bytes, D::default(), mode, chunk, |_| false, limit);
    assert_eq!(ready, oracle, "{mode:?}, chunk {chunk}: async reader");
    let every_other = async_events(
        bytes,
        D::default(),
        mode,
        chunk,
        |call| call.is_multiple_of(2),
        limit,
    );
    assert_eq!(
        every_other, oracle,
        "{mode:?}, chunk {chunk}: async reader, Pending on every other read"
    );
    let codec = codec_events(bytes, D::default(), mode, chunk, limit);
    assert_eq!(codec, oracle, "{mode:?}, chunk {chunk}: codec");
    assert_eq!(
        stream_items(bytes, D::default(), mode, chunk),
        slice_items(bytes, D::default(), mode),
        "{mode:?}, chunk {chunk}: into_stream vs SliceReader"
    );
}

// ---------------------------------------------------------------------------
// Streams and damage
// ---------------------------------------------------------------------------

fn write_stream<F: Framer + Default>(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    let mut starts = vec![0];
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
        starts.push(usize::try_from(writer.bytes_written()).expect("fits"));
    }
    (writer.into_inner(), starts)
}

/// `n` payloads of assorted lengths, none all zero.
fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = 1 + (i * 7) % 23;
            (0..len)
                .map(|j| u8::try_from((i * 31 + j) % 251 + 1).expect("fits"))
                .collect()
        })
        .collect()
}

/// One way to damage a written stream.
#[derive(Debug, Clone)]
enum Damage {
    /// Flip one bit of one byte.
    Flip(Index, u8),
    /// Cut the stream there.
    Cut(Index),
    /// Overwrite one frame's length prefix.
    Length(Index, u32),
}

fn damages() -> impl Strategy<Value = Vec<Damage>> {
    let damage = prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip(at, bit)),
        2 => any::<Index>().prop_map(Damage::Cut),
        2 => (any::<Index>(), prop_oneof![any::<u32>(), 0u32..64]).prop_map(|(i, v)| Damage::Length(i, v)),
    ];
    proptest::collection::vec(damage, 0..4)
}

fn damaged(bytes: &[u8], starts: &[usize], damages: &[Damage]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for damage in damages {
        if bytes.is_empty() {
            break;
        }
        match damage {
            Damage::Flip(at, bit) => {
                let i = at.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Damage::Cut(at) => bytes.truncate(at.index(bytes.len())),
            Damage::Length(frame, value) => {
                let start = starts[frame.index(starts.len() - 1)];
                if let Some(prefix) = bytes.get_mut(start..start + 4) {
                    prefix.copy_from_slice(&value.to_le_bytes());
                }
            }
        }
    }
    bytes
}

// ---------------------------------------------------------------------------
// Sweeps
// ---------------------------------------------------------------------------

/// A 20-frame stream cut at every byte offset.
fn every_cut<F: Framer + Default, D: Deframer + Default + Unpin>() {
    let (bytes, _) = write_stream::<F>(&payloads(20));
    for cut in 0..=bytes.len() {
        for chunk in [1, 13, usize::MAX] {
            agree::<D>(&bytes[..cut], AfterDamage::Skip, chunk, 20);
        }
    }
}

/// Every bit of a 6-frame stream flipped, under every policy.
fn every_bit<F: Framer + Default, D: Deframer + Default + Unpin>() {
    let (bytes, _) = write_stream::<F>(&payloads(6));
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << bit;
            for mode in MODES {
                agree::<D>(&flipped, mode, 7, 6);
            }
        }
    }
}

/// `Pending` before every read of a one-byte-per-read source: before every
/// byte of the stream.
fn pending_before_every_byte<F: Framer + Default, D: Deframer + Default>() {
    let (bytes, _) = write_stream::<F>(&payloads(20));
    let oracle = blocking_events(&bytes, D::default(), AfterDamage::Skip, 1, step_limit(20));
    let events = async_events(
        &bytes,
        D::default(),
        AfterDamage::Skip,
        1,
        |call| call.is_multiple_of(2),
        step_limit(20),
    );
    assert_eq!(events, oracle);
    assert_eq!(events.len(), 20);
}

/// A `read_message` future polled once (a source that answers `Pending`
/// on every other call) and dropped, at every such point of a 20-frame
/// stream read one byte at a time: nothing is lost or read twice.
fn dropped_futures_lose_nothing<F: Framer + Default, D: Deframer + Default>() {
    let payloads = payloads(20);
    let (bytes, starts) = write_stream::<F>(&payloads);
    let source = Scripted {
        data: &bytes,
        chunk: 1,
        calls: 0,
        pending: |call: usize| call.is_multiple_of(2),
    };
    let mut reader = AsyncStreamReader::new(source, D::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut seen = Vec::new();
    let mut drops = 0;
    loop {
        let before = reader.position();
        let mut future = Box::pin(reader.read_message());
        match future.as_mut().poll(&mut cx) {
            Poll::Pending => {
                // Dropped mid-frame: the bytes read so far stay buffered.
                drop(future);
                drops += 1;
                assert_eq!(
                    reader.position(),
                    before,
                    "a dropped read consumed no frame"
                );
            }
            Poll::Ready(Ok(Some(payload))) => {
                seen.push((before, payload.to_vec()));
            }
            Poll::Ready(Ok(None)) => break,
            Poll::Ready(Err(err)) => panic!("no error on an intact stream: {err}"),
        }
        assert!(drops <= 4 * bytes.len(), "no progress");
    }
    let expected: Vec<(Position, Vec<u8>)> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let position = Position {
                offset: starts[i] as u64,
                frame: i as u64,
            };
            (position, p.clone())
        })
        .collect();
    assert_eq!(seen, expected);
    assert!(drops >= bytes.len(), "a drop at every byte: {drops}");
}

macro_rules! agree_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn every_cut_reads_as_the_blocking_reader() {
                every_cut::<F, D>();
            }

            #[test]
            fn every_bit_flip_reads_as_the_blocking_reader() {
                every_bit::<F, D>();
            }

            #[test]
            fn pending_before_every_byte_reads_every_frame() {
                pending_before_every_byte::<F, D>();
            }

            #[test]
            fn a_read_future_dropped_at_every_pending_loses_nothing() {
                dropped_futures_lose_nothing::<F, D>();
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                /// Random damage, chunking and `Pending` points.
                #[test]
                fn damaged_streams_read_as_the_blocking_reader(
                    n in 0usize..12,
                    damage in damages(),
                    chunk in 1usize..=40,
                ) {
                    let (bytes, starts) = write_stream::<F>(&payloads(n));
                    let bytes = damaged(&bytes, &starts, &damage);
                    for mode in MODES {
                        agree::<D>(&bytes, mode, chunk, n);
                    }
                }
            }
        }
    };
}

agree_tests!(plain, DefaultFramer, DefaultDeframer);
agree_tests!(crc32, ChecksumFramer<Crc32>, ChecksumDeframer<Crc32>);
agree_tests!(xxh3, ChecksumFramer<XxHash64>, ChecksumDeframer<XxHash64>);
agree_tests!(crc16, ChecksumFramer<Crc16>, ChecksumDeframer<Crc16>);

// ---------------------------------------------------------------------------
// Where the readers' own loops could differ
// ---------------------------------------------------------------------------

/// Hands out at most `chunk` bytes per call, and answers `fail`'s error once,
/// on call `at`.
struct FailsOnce<'a> {
    data: &'a [u8],
    chunk: usize,
    calls: usize,
    at: usize,
    fail: io::ErrorKind,
}

impl AsyncRead for FailsOnce<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let call = self.calls;
        self.calls += 1;
        if call == self.at {
            return Poll::Ready(Err(io::Error::from(self.fail)));
        }
        let n = self.chunk.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

/// The items of `into_stream` over `bytes` in `chunk`-byte reads, the
/// source failing once with `fail` on read call `at`.
fn stream_items_failing_once(
    bytes: &[u8],
    chunk: usize,
    at: usize,
    fail: io::ErrorKind,
) -> Vec<Item> {
    let source = FailsOnce {
        data: bytes,
        chunk,
        calls: 0,
        at,
        fail,
    };
    let stream = AsyncStreamReader::new(source, ChecksumDeframer::new(Crc32::new())).into_stream();
    block_on(
        stream
            .map(|next| match next {
                Ok(payload) => Ok(payload.to_vec()),
                Err(err) => Err((format!("{:?}", err.kind()), err.position())),
            })
            .collect(),
    )
}

/// A timeout or `WouldBlock` from the source says to read again: the stream
/// of owned payloads reports it and goes on, wherever it comes, so nothing
/// written is lost. An error that is not resumable ends the stream, after
/// the frames read before it and nothing else.
#[test]
fn the_stream_goes_on_after_a_resumable_io_error_at_every_read_call() {
    let payloads = payloads(8);
    let (bytes, _) = write_stream::<ChecksumFramer<Crc32>>(&payloads);
    let chunk = 16;
    let calls = bytes.len().div_ceil(chunk) + 1;
    for at in 0..=calls {
        for fail in [io::ErrorKind::TimedOut, io::ErrorKind::WouldBlock] {
            let items = stream_items_failing_once(&bytes, chunk, at, fail);
            let read: Vec<_> = items.iter().filter_map(|item| item.clone().ok()).collect();
            assert_eq!(read, payloads, "{fail:?} on read call {at}");
            let errors = items.len() - read.len();
            assert_eq!(
                errors,
                usize::from(at < calls),
                "{fail:?} on read call {at}: {items:?}"
            );
        }
        let items = stream_items_failing_once(&bytes, chunk, at, io::ErrorKind::ConnectionReset);
        if at < calls {
            let (last, frames) = items.split_last().expect("the error is an item");
            assert!(last.is_err(), "read call {at}: {items:?}");
            let read: Vec<_> = frames
                .iter()
                .map(|item| item.clone().expect("one error, the last item"))
                .collect();
            assert_eq!(read, payloads[..read.len()], "read call {at}");
        }
    }
}

/// A payload that is not the root type it is read as.
enum Text {}

impl flatstream::RootType for Text {
    type Root<'buf> = &'buf str;
}

/// A typed reader's `Invalid` points at the frame that holds the payload,
/// also when the stream's header came before it (which the reader consumed
/// on the way): every reader, the same position.
#[test]
fn typed_errors_point_at_the_frame_after_a_header() {
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
    writer
        .write_header(&flatstream::StreamHeader::new().with_root_type("x.Text"))
        .expect("the header is written");
    let header_end = writer.bytes_written();
    writer.write_payload(&[0xFF; 3]).expect("written");
    let bytes = writer.into_inner();
    let frame = Some(Position {
        offset: header_end,
        frame: 1,
    });
    let deframer = || ChecksumDeframer::new(Crc32::new());

    let mut slice = SliceReader::new(&bytes, deframer()).typed::<Text>();
    let err = slice.next().expect("an item").expect_err("not a string");
    assert_eq!(err.position(), frame, "SliceReader::typed: {err}");

    let mut reader = StreamReader::new(bytes.as_slice(), deframer());
    let err = reader
        .process_typed::<Text>(|_| Ok(()))
        .expect_err("not a string");
    assert_eq!(err.position(), frame, "StreamReader::process_typed: {err}");

    let mut reader = StreamReader::new(bytes.as_slice(), deframer());
    let err = reader
        .typed_messages::<Text>()
        .next()
        .expect_err("not a string");
    assert_eq!(err.position(), frame, "StreamReader::typed_messages: {err}");

    let mut reader = AsyncStreamReader::new(bytes.as_slice(), deframer());
    let err = block_on(async { reader.read_typed::<Text>().await.map(|_| ()) })
        .expect_err("not a string");
    assert_eq!(
        err.position(),
        frame,
        "AsyncStreamReader::read_typed: {err}"
    );
}
