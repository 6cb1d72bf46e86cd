//! `flatstream-tokio` against tokio-util's `LengthDelimitedCodec`, side by
//! side in one run, over real async transports.
//!
//! Benchmark ids are `<workload>/<framer>/<size>/<transport>/<implementation>`
//! (five parts, so `cargo xtask bench`, which reads the four-part ids of
//! `comparison`, leaves them out of its table):
//!
//! - `<workload>`:
//!   - `async_read`: `count` frames read from the transport per iteration,
//!     each checked to be whole (its length) and counted;
//!   - `async_write`: `count` frames written and flushed per iteration, then
//!     the time until the peer has received every byte;
//! - `<framer>`: `none` (length prefix only) or `crc32` (CRC-32/ISO-HDLC);
//! - `<size>`: the payload size, `64B`, `1KiB`, `64KiB` or `1MiB`;
//! - `<transport>`:
//!   - `duplex`: an in-memory `tokio::io::duplex` pipe with a buffer of
//!     [`DUPLEX_BUFFER`] bytes;
//!   - `tcp`: a TCP connection over loopback (127.0.0.1, `TCP_NODELAY`),
//!     connected once per benchmark (not per iteration);
//! - `<implementation>`:
//!   - `codec`: ours, `FlatStreamCodec` in tokio-util's `FramedRead` /
//!     `FramedWrite` (items fed as `Bytes` of a static payload, as tokio's
//!     codec encodes only `Bytes`; one flush per iteration);
//!   - `reader` (`async_read`): ours, `AsyncStreamReader::read_message`;
//!   - `writer` (`async_write`): ours, `AsyncStreamWriter::write_payload`
//!     (its 64 KiB write buffer), one `flush` per iteration;
//!   - `tokio`: tokio-util's
//!     `LengthDelimitedCodec::builder().little_endian().length_field_length(4)`
//!     in the same `FramedRead` / `FramedWrite`. It has no checksums: in the
//!     `crc32` groups it reads the same CRC-32 stream with
//!     `length_adjustment(4)` (the checksum taken as 4 opaque bytes before the
//!     payload, never verified), and writes its plain frames (4 bytes fewer
//!     per frame, nothing hashed). So `crc32` rows compare ours, checksumming,
//!     with tokio not checksumming: they show what the checksum costs over
//!     tokio, they are not like for like.
//!
//! Everything runs on one current-thread runtime, created once, with
//! [`criterion::Bencher::iter_custom`] timing a `block_on` of all the
//! iterations of a sample. Every iteration handles at least
//! [`BYTES_PER_ITER`] of payload (or 4 messages), so the runtime's overhead
//! is amortised. The throughput is given in messages and in payload bytes.
//!
//! The other side of the transport is a spawned task on the same runtime
//! that does as little as it can: for `async_read`, a feeder that writes a
//! pre-generated stream (one iteration's frames, built by the blocking
//! framer) with `write_all`, once per iteration of the sample, then hands
//! the write half back; for `async_write`, a drain that reads into a
//! [`DRAIN_CHUNK`]-byte buffer and counts the bytes. Both share the thread
//! with the code under test (as a client and a server on one runtime
//! would), so their cost is in every row alike and dilutes the ratios
//! towards 1.
//!
//! Checks, so that a benchmark that reads or writes nothing fails: every
//! iteration must read exactly `count` frames of the right length (an early
//! end of input fails), after every sample the feeder must have finished and
//! the reader must hold no unread byte (exactly what was written was read);
//! every write iteration must count `count` more frames (ours) and the drain
//! must receive exactly the bytes written, no fewer and no more. Before the
//! write rows run, each writer writes a few frames into a `Vec<u8>`, which
//! must equal the blocking writer's stream.
//!
//! Run it with `cargo bench -p flatstream-benches --bench async_io`, with a
//! filter such as `-- async_read/none/64B`.

extern crate alloc;

use alloc::sync::Arc;
use core::fmt::Debug;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, DefaultDeframer, DefaultFramer, Deframer, Framer,
};
use flatstream_tokio::{AsyncStreamReader, AsyncStreamWriter, FlatStreamCodec};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_util::codec::{Decoder, FramedRead, FramedWrite, LengthDelimitedCodec};

#[path = "support/payload.rs"]
mod payload;
use payload::payload;

/// Payload sizes, with the labels used in benchmark ids.
const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];

/// Payload bytes handled per iteration, at least.
const BYTES_PER_ITER: usize = 4 * 1024 * 1024;

/// Messages handled per iteration, at least.
const MIN_MESSAGES: usize = 4;

/// The buffer of the in-memory `duplex` transport.
const DUPLEX_BUFFER: usize = 256 * 1024;

/// The read buffer of the drain of the write rows.
const DRAIN_CHUNK: usize = 256 * 1024;

/// Yields without the drain making progress after which a write row fails
/// (the writer said it wrote bytes that never arrive).
const STALLED_YIELDS: u64 = 10_000_000;

/// How many messages of `size` bytes one iteration handles.
fn messages_per_iter(size: usize) -> usize {
    (BYTES_PER_ITER / size).max(MIN_MESSAGES)
}

/// `n` as a `u64`.
fn u64_of(n: usize) -> u64 {
    u64::try_from(n).expect("a size fits in u64")
}

/// `bytes` as a `Bytes` whose clones and drops cost nothing (no reference
/// count), so that feeding the same payload to a `FramedWrite` again and
/// again measures the codec, not `Bytes`' atomics (a third of the time at
/// 64 B otherwise). Leaked: a few MiB per run.
fn static_bytes(bytes: Vec<u8>) -> Bytes {
    Bytes::from_static(Box::leak(bytes.into_boxed_slice()))
}

/// One framing under test: our framer and deframer, and the header bytes.
trait Framing {
    /// The `<framer>` part of the benchmark ids.
    const NAME: &'static str;
    /// Checksum bytes after the 4-byte length.
    const SUM: usize;
    /// Our framer.
    type Framer: Framer + Clone;
    /// Our deframer.
    type Deframer: Deframer + Clone;
    fn framer() -> Self::Framer;
    fn deframer() -> Self::Deframer;
}

/// Length prefix only.
struct NoChecksum;

impl Framing for NoChecksum {
    const NAME: &'static str = "none";
    const SUM: usize = 0;
    type Framer = DefaultFramer;
    type Deframer = DefaultDeframer;
    fn framer() -> DefaultFramer {
        DefaultFramer
    }
    fn deframer() -> DefaultDeframer {
        DefaultDeframer
    }
}

/// CRC-32/ISO-HDLC.
struct Crc32Framing;

impl Framing for Crc32Framing {
    const NAME: &'static str = "crc32";
    const SUM: usize = 4;
    type Framer = ChecksumFramer<Crc32>;
    type Deframer = ChecksumDeframer<Crc32>;
    fn framer() -> Self::Framer {
        ChecksumFramer::new(Crc32::new())
    }
    fn deframer() -> Self::Deframer {
        ChecksumDeframer::new(Crc32::new())
    }
}

/// Our codec for framing `S`.
fn our_codec<S: Framing>() -> FlatStreamCodec<S::Framer, S::Deframer> {
    FlatStreamCodec::with_framing(S::framer(), S::deframer())
}

/// tokio-util's codec with the `none` framer's wire format (4-byte
/// little-endian length), reading `skip` opaque bytes after the length as
/// part of the frame (the checksum of a checksummed framing).
fn tokio_codec(skip: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .length_adjustment(isize::try_from(skip).expect("a small adjustment"))
        .new_codec()
}

/// A stream of `count` frames of `payload` in framing `S`, by the blocking
/// framer.
fn stream_of<S: Framing>(payload: &[u8], count: usize) -> Vec<u8> {
    let mut stream = Vec::with_capacity(count * (4 + S::SUM + payload.len()));
    let mut framer = S::framer();
    for _ in 0..count {
        framer
            .encode_into(payload, &mut stream)
            .expect("the payload is within the frame limit");
    }
    stream
}

// ---------------------------------------------------------------------------
// Transports.

/// A kind of connection: both ends of one, connected.
trait Transport {
    /// The `<transport>` part of the benchmark ids.
    const NAME: &'static str;
    /// One end of a connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Both ends of a new connection, bound to `rt`.
    fn pair(rt: &Runtime) -> (Self::Io, Self::Io);
}

/// `tokio::io::duplex`.
struct Duplex;

impl Transport for Duplex {
    const NAME: &'static str = "duplex";
    type Io = DuplexStream;
    fn pair(_: &Runtime) -> (DuplexStream, DuplexStream) {
        tokio::io::duplex(DUPLEX_BUFFER)
    }
}

/// TCP over loopback.
struct Tcp;

impl Transport for Tcp {
    const NAME: &'static str = "tcp";
    type Io = TcpStream;
    fn pair(rt: &Runtime) -> (TcpStream, TcpStream) {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let addr = listener.local_addr().expect("a bound address");
            // The kernel completes the handshake before `accept`.
            let client = TcpStream::connect(addr).await.expect("a connection");
            let (server, _) = listener.accept().await.expect("the connection");
            for end in [&client, &server] {
                end.set_nodelay(true).expect("TCP_NODELAY");
            }
            (server, client)
        })
    }
}

// ---------------------------------------------------------------------------
// Reading.

/// A reader under test.
trait FrameSource {
    /// Reads up to `count` frames, checking that each item is `len` bytes;
    /// the number read (fewer only at an end of input).
    async fn read_frames(&mut self, count: usize, len: usize) -> usize;
    /// Bytes read from the transport and not yet returned.
    fn leftover(&self) -> usize;
}

impl<R: AsyncRead + Unpin, D: Deframer> FrameSource for AsyncStreamReader<R, D> {
    async fn read_frames(&mut self, count: usize, len: usize) -> usize {
        let mut seen = 0;
        while seen < count {
            let Some(payload) = self.read_message().await.expect("the stream is valid") else {
                break;
            };
            assert_eq!(payload.len(), len, "a whole payload");
            black_box(payload);
            seen += 1;
        }
        seen
    }

    fn leftover(&self) -> usize {
        self.buffered().len()
    }
}

impl<R, C> FrameSource for FramedRead<R, C>
where
    R: AsyncRead + Unpin,
    C: Decoder<Item = BytesMut>,
    C::Error: Debug,
{
    async fn read_frames(&mut self, count: usize, len: usize) -> usize {
        let mut seen = 0;
        while seen < count {
            let Some(item) = self.next().await else {
                break;
            };
            let item = item.expect("the stream is valid");
            assert_eq!(item.len(), len, "a whole payload");
            black_box(&item);
            seen += 1;
        }
        seen
    }

    fn leftover(&self) -> usize {
        self.read_buffer().len()
    }
}

/// Benchmarks `<transport>/<name>`: `source`, made by `make` on one end of a
/// connection, reading `count` frames per iteration (items of `len` bytes)
/// of `stream`, written into the other end by a feeder task.
fn read_row<T: Transport, R: FrameSource>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    stream: &Bytes,
    count: usize,
    len: usize,
    make: impl FnOnce(T::Io) -> R,
) {
    let (read_half, write_half) = T::pair(rt);
    let mut source = make(read_half);
    let mut write_half = Some(write_half);
    group.bench_function(format!("{}/{name}", T::NAME), |b| {
        b.iter_custom(|iters| {
            let mut io = write_half
                .take()
                .expect("the feeder gave the write half back");
            let bytes = stream.clone();
            let feeder = rt.spawn(async move {
                for _ in 0..iters {
                    io.write_all(&bytes).await.expect("the reader reads");
                }
                io
            });
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    let seen = source.read_frames(count, len).await;
                    assert_eq!(seen, count, "every frame written is read");
                }
            });
            let elapsed = start.elapsed();
            write_half = Some(rt.block_on(feeder).expect("the feeder ran to its end"));
            assert_eq!(source.leftover(), 0, "exactly what was written was read");
            elapsed
        });
    });
}

fn bench_read<S: Framing>(c: &mut Criterion, rt: &Runtime) {
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = messages_per_iter(size);
        let stream = Bytes::from(stream_of::<S>(&payload, count));
        let mut group = c.benchmark_group(format!("async_read/{}/{label}", S::NAME));
        group.throughput(Throughput::ElementsAndBytes {
            elements: u64_of(count),
            bytes: u64_of(count * size),
        });
        read_transport::<S, Duplex>(&mut group, rt, &stream, count, size);
        read_transport::<S, Tcp>(&mut group, rt, &stream, count, size);
        group.finish();
    }
}

/// The read rows of one transport.
fn read_transport<S: Framing, T: Transport>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    stream: &Bytes,
    count: usize,
    size: usize,
) {
    read_row::<T, _>(group, rt, "codec", stream, count, size, |io| {
        FramedRead::new(io, our_codec::<S>())
    });
    read_row::<T, _>(group, rt, "reader", stream, count, size, |io| {
        AsyncStreamReader::new(io, S::deframer())
    });
    // tokio reads the same bytes; the checksum comes with the payload.
    read_row::<T, _>(group, rt, "tokio", stream, count, S::SUM + size, |io| {
        FramedRead::new(io, tokio_codec(S::SUM))
    });
}

// ---------------------------------------------------------------------------
// Writing.

/// A writer under test.
trait FrameSink {
    /// Writes `count` frames of `payload`, then flushes.
    async fn write_frames(&mut self, payload: &Bytes, count: usize);
}

impl<W: AsyncWrite + Unpin, F: Framer> FrameSink for AsyncStreamWriter<W, F> {
    async fn write_frames(&mut self, payload: &Bytes, count: usize) {
        let before = self.frames_written();
        for _ in 0..count {
            self.write_payload(black_box(payload))
                .await
                .expect("the sink takes it");
        }
        self.flush().await.expect("the sink takes it");
        assert_eq!(self.frames_written() - before, u64_of(count));
    }
}

impl<W: AsyncWrite + Unpin, F: Framer, D: Deframer> FrameSink
    for FramedWrite<W, FlatStreamCodec<F, D>>
{
    async fn write_frames(&mut self, payload: &Bytes, count: usize) {
        let before = self.encoder().encoded().frame;
        for _ in 0..count {
            self.feed(black_box(payload).clone())
                .await
                .expect("the sink takes it");
        }
        SinkExt::<Bytes>::flush(self)
            .await
            .expect("the sink takes it");
        assert_eq!(self.encoder().encoded().frame - before, u64_of(count));
    }
}

impl<W: AsyncWrite + Unpin> FrameSink for FramedWrite<W, LengthDelimitedCodec> {
    async fn write_frames(&mut self, payload: &Bytes, count: usize) {
        for _ in 0..count {
            self.feed(black_box(payload).clone())
                .await
                .expect("the sink takes it");
        }
        SinkExt::<Bytes>::flush(self)
            .await
            .expect("the sink takes it");
    }
}

/// Reads `io` to its end, adding the bytes to `received`.
async fn drain<R: AsyncRead + Unpin>(mut io: R, received: Arc<AtomicU64>) {
    let mut buf = vec![0u8; DRAIN_CHUNK];
    loop {
        let n = io.read(&mut buf).await.expect("the writer writes");
        if n == 0 {
            return;
        }
        received.fetch_add(u64_of(n), Ordering::Relaxed);
    }
}

/// Waits until the drain has received `expected` bytes; fails if it
/// receives more, or stops receiving before.
async fn drained(received: &AtomicU64, expected: u64) {
    let (mut last, mut stalled) = (0, 0u64);
    loop {
        let got = received.load(Ordering::Relaxed);
        if got >= expected {
            assert_eq!(got, expected, "the peer received exactly what was written");
            return;
        }
        if got == last {
            stalled += 1;
            assert!(stalled < STALLED_YIELDS, "the peer stopped receiving");
        } else {
            (last, stalled) = (got, 0);
        }
        tokio::task::yield_now().await;
    }
}

/// Benchmarks `<transport>/<name>`: `sink`, made by `make` on one end of a
/// connection, writing `count` frames of `payload` per iteration
/// (`frame_bytes` on the wire), read by a drain task at the other end.
fn write_row<T: Transport, W: FrameSink>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    payload: &Bytes,
    count: usize,
    frame_bytes: usize,
    make: impl FnOnce(T::Io) -> W,
) {
    let (write_half, read_half) = T::pair(rt);
    let mut sink = make(write_half);
    let received = Arc::new(AtomicU64::new(0));
    let drain = rt.spawn(drain(read_half, Arc::clone(&received)));
    let per_iter = u64_of(count * frame_bytes);
    let mut expected = 0u64;
    group.bench_function(format!("{}/{name}", T::NAME), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    sink.write_frames(payload, count).await;
                }
                expected += iters * per_iter;
                drained(&received, expected).await;
            });
            start.elapsed()
        });
    });
    // Closing the write half ends the drain.
    drop(sink);
    rt.block_on(drain).expect("the drain ran to its end");
    assert_eq!(received.load(Ordering::Relaxed), expected);
}

/// Each writer's bytes for a few frames, into a `Vec<u8>`: ours must be the
/// blocking writer's stream, tokio's the plain one.
fn check_writers<S: Framing>(rt: &Runtime, payload: &Bytes) {
    const FRAMES: usize = 3;
    let ours = stream_of::<S>(payload, FRAMES);
    let plain = stream_of::<NoChecksum>(payload, FRAMES);
    rt.block_on(async {
        let mut writer = AsyncStreamWriter::new(Vec::new(), S::framer());
        writer.write_frames(payload, FRAMES).await;
        assert_eq!(*writer.get_ref(), ours, "AsyncStreamWriter's bytes");

        let mut codec = FramedWrite::new(Vec::new(), our_codec::<S>());
        codec.write_frames(payload, FRAMES).await;
        assert_eq!(*codec.get_ref(), ours, "FlatStreamCodec's bytes");

        let mut tokio = FramedWrite::new(Vec::new(), tokio_codec(0));
        tokio.write_frames(payload, FRAMES).await;
        assert_eq!(*tokio.get_ref(), plain, "LengthDelimitedCodec's bytes");
    });
}

fn bench_write<S: Framing>(c: &mut Criterion, rt: &Runtime) {
    for (size, label) in SIZES {
        let payload = static_bytes(payload(size));
        check_writers::<S>(rt, &payload);
        let count = messages_per_iter(size);
        let mut group = c.benchmark_group(format!("async_write/{}/{label}", S::NAME));
        group.throughput(Throughput::ElementsAndBytes {
            elements: u64_of(count),
            bytes: u64_of(count * size),
        });
        write_transport::<S, Duplex>(&mut group, rt, &payload, count);
        write_transport::<S, Tcp>(&mut group, rt, &payload, count);
        group.finish();
    }
}

/// The write rows of one transport.
fn write_transport<S: Framing, T: Transport>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    payload: &Bytes,
    count: usize,
) {
    let ours = 4 + S::SUM + payload.len();
    write_row::<T, _>(group, rt, "codec", payload, count, ours, |io| {
        FramedWrite::new(io, our_codec::<S>())
    });
    write_row::<T, _>(group, rt, "writer", payload, count, ours, |io| {
        AsyncStreamWriter::new(io, S::framer())
    });
    // tokio writes its plain frames, with nothing to hash.
    write_row::<T, _>(
        group,
        rt,
        "tokio",
        payload,
        count,
        4 + payload.len(),
        |io| FramedWrite::new(io, tokio_codec(0)),
    );
}

fn async_io(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a current-thread runtime");
    bench_read::<NoChecksum>(c, &rt);
    bench_read::<Crc32Framing>(c, &rt);
    bench_write::<NoChecksum>(c, &rt);
    bench_write::<Crc32Framing>(c, &rt);
}

/// Short runs: 96 benchmarks, 4 MiB of payload per iteration.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = async_io
}
criterion_main!(benches);
