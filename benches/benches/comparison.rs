//! FlatStream against the floor and the peers, side by side in one run: the
//! numbers behind `cargo xtask bench` and `BENCHMARKS.md`.
//!
//! Benchmark ids are `<workload>/<framer>/<size>/<implementation>`:
//!
//! - `<workload>`:
//!   - `write`: expert mode, an already-built payload written with
//!     [`StreamWriter::write_payload`] into a pre-reserved `Vec<u8>`, cleared
//!     at the start of every iteration;
//!   - `read`: through [`std::io::Read`], [`StreamReader::process_all`] over a
//!     rewound [`Cursor`] of a pre-built stream (the reader and its buffer are
//!     reused: the steady state);
//!   - `slice`: [`SliceReader`] over the pre-built stream;
//!   - `simple`: simple mode, `write_reading` (`StreamWriter::write_with`) of
//!     the `Telemetry` table into a pre-reserved `Vec<u8>`;
//!   - `simple-null`: the same into `io::sink()`, so without the copy into
//!     the sink: what simple mode and the framing cost over a bare build;
//!   - `hash`: the checksum function alone over 1 MiB, the ceiling for
//!     checksummed framing;
//! - `<framer>`: `none` (length prefix only), `xxh3` (XXH3-64), `crc32`
//!   (CRC-32/ISO-HDLC) or `crc16` (CRC-16/XMODEM);
//! - `<size>`: the payload size, `64B`, `1KiB`, `64KiB` or `1MiB`, or
//!   `telemetry` (256 `Reading::sample` tables, 260 bytes on average);
//! - `<implementation>`:
//!   - `flatstream`: ours;
//!   - `floor`: a minimal hand-written loop doing the same framing with the
//!     same hash crate and no library (for `read`, large reads into a buffer
//!     and in-place parsing), `floor_exact` (`read` only) the other
//!     hand-written reader, one `read_exact` per header and per payload;
//!     `xtask bench` compares with the faster of the two;
//!   - `tokio`: tokio-util's `LengthDelimitedCodec` (4-byte little-endian
//!     length, the same bytes as `none`) driven synchronously: `encode` into a
//!     `BytesMut`, and for `read` the stream copied into a `BytesMut` (as a
//!     `FramedRead` would read it) and split with `decode`;
//!   - `varint`: a prost varint length (`encode_varint`, `decode_varint`)
//!     then the payload; `write` into a `Vec<u8>`, read under `slice`;
//!   - `bare` (`simple` only): the same table built and finished in a reused
//!     `FlatBufferBuilder` (reset, build, finish), without framing or sink;
//!     the floor of `simple` is that plus the hand-written framing into the
//!     `Vec`, of `simple-null` that plus the header alone;
//!   - `raw` (`hash` only).
//!
//! Every iteration handles at least 256 KiB of payload or 4 messages (4,096
//! messages of 64 B; up to 64 KiB payloads an iteration's data fits in the
//! 1 MiB L2 cache of this machine's cores, which keeps neighbours out of the
//! ratios), and `slice/none`, which never touches the payloads, at least
//! 4,096 frames (the stream parsed again). The throughput is given in
//! messages and in payload bytes ([`Throughput::ElementsAndBytes`]), which
//! `xtask bench` reads back from
//! criterion's `benchmark.json`.
//!
//! Run it through `cargo xtask bench` (which prints the table), or directly:
//! `cargo bench -p flatstream-benches --bench comparison -- write/crc32`.

use core::hint::black_box;
use core::time::Duration;
use std::io::{self, Cursor, Read};

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use flatbuffers::FlatBufferBuilder;
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc16, Crc32, DefaultDeframer, DefaultFramer, Deframer,
    Framer, SliceReader, StreamReader, StreamWriter, XxHash64,
};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

#[path = "../../crates/flatstream/schema/telemetry.rs"]
mod telemetry;

use telemetry::{Reading, finish_telemetry_buffer, write_reading};

/// Payload sizes, with the labels used in benchmark ids.
const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];

/// Payload bytes handled per iteration, at least.
const BYTES_PER_ITER: usize = 256 * 1024;

/// Messages handled per iteration, at least.
const MIN_MESSAGES: usize = 4;

/// `Telemetry` tables written per iteration of the `simple` workload.
const READINGS: u64 = 256;

/// Frames per iteration of `slice/none`, at least (see [`bench_slice`]).
const SLICE_MIN_FRAMES: usize = 4096;

/// The read chunk of the hand-written bulk reader: the same as `StreamReader`.
const FLOOR_READ_CHUNK: usize = 64 * 1024;

#[path = "support/payload.rs"]
mod payload;
use payload::payload;

/// How many messages of `size` bytes one iteration handles.
fn messages_per_iter(size: usize) -> usize {
    (BYTES_PER_ITER / size).max(MIN_MESSAGES)
}

/// `n` as a `u64`, for throughputs.
fn u64_of(n: usize) -> u64 {
    u64::try_from(n).expect("a size fits in u64")
}

/// The throughput of one iteration: `messages` messages, `bytes` payload bytes.
fn throughput(messages: usize, bytes: usize) -> Throughput {
    Throughput::ElementsAndBytes {
        elements: u64_of(messages),
        bytes: u64_of(bytes),
    }
}

/// One framing under test: our framer and deframer, and what the
/// hand-written floor needs to do the same (the checksum width and the hash
/// function of the same crate, called directly).
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
    /// The checksum of `payload`, as stored (fits in `SUM` bytes).
    fn hash(payload: &[u8]) -> u64;
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
    #[inline(always)]
    fn hash(_: &[u8]) -> u64 {
        0
    }
}

/// XXH3-64.
struct Xxh3;

impl Framing for Xxh3 {
    const NAME: &'static str = "xxh3";
    const SUM: usize = 8;
    type Framer = ChecksumFramer<XxHash64>;
    type Deframer = ChecksumDeframer<XxHash64>;
    fn framer() -> Self::Framer {
        ChecksumFramer::new(XxHash64::new())
    }
    fn deframer() -> Self::Deframer {
        ChecksumDeframer::new(XxHash64::new())
    }
    #[inline(always)]
    fn hash(payload: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(payload)
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
    #[inline(always)]
    fn hash(payload: &[u8]) -> u64 {
        u64::from(crc32fast::hash(payload))
    }
}

/// CRC-16/XMODEM with the same 16-way slicing table as `flatstream-checksum-crc16`.
struct Crc16Framing;

static CRC_16_XMODEM: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_XMODEM);

impl Framing for Crc16Framing {
    const NAME: &'static str = "crc16";
    const SUM: usize = 2;
    type Framer = ChecksumFramer<Crc16>;
    type Deframer = ChecksumDeframer<Crc16>;
    fn framer() -> Self::Framer {
        ChecksumFramer::new(Crc16::new())
    }
    fn deframer() -> Self::Deframer {
        ChecksumDeframer::new(Crc16::new())
    }
    #[inline(always)]
    fn hash(payload: &[u8]) -> u64 {
        u64::from(CRC_16_XMODEM.checksum(payload))
    }
}

// ---------------------------------------------------------------------------
// The floor: hand-written framing, no library.

/// The header length of framing `S`.
const fn header_len<S: Framing>() -> usize {
    4 + S::SUM
}

/// The header of `payload`, in the first `header_len::<S>()` bytes.
#[inline(always)]
fn floor_header<S: Framing>(payload: &[u8]) -> [u8; 12] {
    let mut header = [0u8; 12];
    let len = u32::try_from(payload.len()).expect("the payload fits the length prefix");
    header[..4].copy_from_slice(&len.to_le_bytes());
    if S::SUM > 0 {
        header[4..4 + S::SUM].copy_from_slice(&S::hash(payload).to_le_bytes()[..S::SUM]);
    }
    header
}

/// Appends one frame of `payload` to `out`: header on the stack, two extends.
#[inline(always)]
fn floor_encode<S: Framing>(payload: &[u8], out: &mut Vec<u8>) {
    let header = floor_header::<S>(payload);
    out.extend_from_slice(&header[..header_len::<S>()]);
    out.extend_from_slice(payload);
}

/// Whether `payload` matches the checksum stored in `header`.
#[inline(always)]
fn floor_verify<S: Framing>(header: &[u8], payload: &[u8]) -> bool {
    if S::SUM == 0 {
        return true;
    }
    let mut stored = [0u8; 8];
    stored[..S::SUM].copy_from_slice(&header[4..4 + S::SUM]);
    u64::from_le_bytes(stored) == S::hash(payload)
}

/// The payload length in a header.
#[inline(always)]
fn floor_length(header: &[u8]) -> usize {
    let mut len = [0u8; 4];
    len.copy_from_slice(&header[..4]);
    u32::from_le_bytes(len) as usize
}

/// Why a hand-written reader stopped early.
fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Parses every frame of `data` in place, calling `f` with each payload.
#[inline(always)]
fn floor_parse<S: Framing>(data: &[u8], mut f: impl FnMut(&[u8])) -> io::Result<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let Some(header) = rest.get(..header_len::<S>()) else {
            return Err(invalid("torn header"));
        };
        let frame_len = header_len::<S>() + floor_length(header);
        let Some(payload) = rest.get(header_len::<S>()..frame_len) else {
            return Err(invalid("torn payload"));
        };
        if !floor_verify::<S>(header, payload) {
            return Err(invalid("checksum mismatch"));
        }
        f(payload);
        rest = &rest[frame_len..];
    }
    Ok(())
}

/// The hand-written reader over `Read`: large reads into `buf`, frames parsed
/// in place, a partial frame moved to the front before the next read.
#[inline(always)]
fn floor_read_bulk<S: Framing, R: Read>(
    src: &mut R,
    buf: &mut Vec<u8>,
    mut f: impl FnMut(&[u8]),
) -> io::Result<()> {
    let (mut pos, mut filled) = (0usize, 0usize);
    loop {
        let needed = loop {
            let unread = &buf[pos..filled];
            let Some(header) = unread.get(..header_len::<S>()) else {
                break header_len::<S>();
            };
            let frame_len = header_len::<S>() + floor_length(header);
            let Some(payload) = unread.get(header_len::<S>()..frame_len) else {
                break frame_len;
            };
            if !floor_verify::<S>(header, payload) {
                return Err(invalid("checksum mismatch"));
            }
            f(payload);
            pos += frame_len;
        };
        if pos > 0 {
            buf.copy_within(pos..filled, 0);
            filled -= pos;
            pos = 0;
        }
        if buf.len() < needed.max(FLOOR_READ_CHUNK) {
            buf.resize(needed.max(FLOOR_READ_CHUNK), 0);
        }
        let n = src.read(&mut buf[filled..])?;
        if n == 0 {
            return if filled == 0 {
                Ok(())
            } else {
                Err(invalid("torn frame"))
            };
        }
        filled += n;
    }
}

/// The other hand-written reader over `Read`: one `read_exact` per header and
/// one per payload, into `buf`.
#[inline(always)]
fn floor_read_exact<S: Framing, R: Read>(
    src: &mut R,
    buf: &mut Vec<u8>,
    mut f: impl FnMut(&[u8]),
) -> io::Result<()> {
    let mut header = [0u8; 12];
    let header = &mut header[..header_len::<S>()];
    loop {
        let n = src.read(header)?;
        if n == 0 {
            return Ok(());
        }
        src.read_exact(&mut header[n..])?;
        let len = floor_length(header);
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let payload = &mut buf[..len];
        src.read_exact(payload)?;
        if !floor_verify::<S>(header, payload) {
            return Err(invalid("checksum mismatch"));
        }
        f(payload);
    }
}

// ---------------------------------------------------------------------------
// The workloads.

/// A stream of `count` frames of `payload` in framing `S`.
fn stream_of<S: Framing>(payload: &[u8], count: usize) -> Vec<u8> {
    let mut stream = Vec::with_capacity(count * (header_len::<S>() + payload.len()));
    let mut framer = S::framer();
    for _ in 0..count {
        framer
            .encode_into(payload, &mut stream)
            .expect("the payload is within the frame limit");
    }
    let mut floor = Vec::new();
    for _ in 0..count {
        floor_encode::<S>(payload, &mut floor);
    }
    assert_eq!(
        stream,
        floor,
        "the floor writes the same bytes as {}",
        S::NAME
    );
    stream
}

/// A group named `<workload>/<framer>/<size>` with the given throughput.
fn group<'a>(
    c: &'a mut Criterion,
    workload: &str,
    framer: &str,
    size: &str,
    throughput: Throughput,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(format!("{workload}/{framer}/{size}"));
    group.throughput(throughput);
    group
}

fn bench_write<S: Framing>(c: &mut Criterion) {
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = messages_per_iter(size);
        let capacity = count * (header_len::<S>() + size);
        let mut group = group(c, "write", S::NAME, label, throughput(count, count * size));

        let mut writer = StreamWriter::new(Vec::with_capacity(capacity), S::framer());
        group.bench_function("flatstream", |b| {
            b.iter(|| {
                writer.get_mut().clear();
                for _ in 0..count {
                    writer
                        .write_payload(black_box(&payload))
                        .expect("writing to a Vec cannot fail");
                }
                black_box(writer.get_ref().len())
            });
        });
        assert_eq!(
            writer.get_ref().capacity(),
            capacity,
            "the sink never grows"
        );

        let mut out = Vec::with_capacity(capacity);
        group.bench_function("floor", |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..count {
                    floor_encode::<S>(black_box(&payload), &mut out);
                }
                black_box(out.len())
            });
        });
        assert_eq!(out.capacity(), capacity, "the sink never grows");

        if S::SUM == 0 {
            bench_write_peers(&mut group, &payload, count);
        }
        group.finish();
    }
}

/// tokio-util's codec and the varint loop, writing the same payloads.
fn bench_write_peers(group: &mut BenchmarkGroup<'_, WallTime>, payload: &[u8], count: usize) {
    let mut codec = tokio_codec();
    let mut dst = BytesMut::with_capacity(count * (4 + payload.len()));
    group.bench_function("tokio", |b| {
        b.iter(|| {
            dst.clear();
            for _ in 0..count {
                codec
                    .encode(black_box(payload), &mut dst)
                    .expect("the payload is within the frame limit");
            }
            black_box(dst.len())
        });
    });

    let mut out = Vec::with_capacity(count * (10 + payload.len()));
    group.bench_function("varint", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..count {
                let payload = black_box(payload);
                prost::encoding::encode_varint(u64_of(payload.len()), &mut out);
                out.extend_from_slice(payload);
            }
            black_box(out.len())
        });
    });
}

/// tokio-util's length-delimited codec with the `none` framer's wire format:
/// a 4-byte little-endian length, and no limit below 2 GiB.
fn tokio_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_type::<u32>()
        .little_endian()
        .max_frame_length(flatstream::wire::DEFAULT_MAX_FRAME_LEN)
        .new_codec()
}

fn bench_read<S: Framing>(c: &mut Criterion) {
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = messages_per_iter(size);
        let stream = stream_of::<S>(&payload, count);
        let mut group = group(c, "read", S::NAME, label, throughput(count, count * size));

        // One reader per size: it keeps its buffer from one iteration to the next.
        let mut reader = StreamReader::new(Cursor::new(stream.as_slice()), S::deframer());
        group.bench_function("flatstream", |b| {
            b.iter(|| {
                reader.get_mut().set_position(0);
                let mut seen = 0usize;
                reader
                    .process_all(|payload| {
                        black_box(payload);
                        seen += 1;
                        Ok(())
                    })
                    .expect("the stream is valid");
                assert_eq!(seen, count);
            });
        });

        let mut source = Cursor::new(stream.as_slice());
        let mut buf = Vec::new();
        group.bench_function("floor", |b| {
            b.iter(|| {
                source.set_position(0);
                let mut seen = 0usize;
                floor_read_bulk::<S, _>(&mut source, &mut buf, |payload| {
                    black_box(payload);
                    seen += 1;
                })
                .expect("the stream is valid");
                assert_eq!(seen, count);
            });
        });

        let mut buf = Vec::new();
        group.bench_function("floor_exact", |b| {
            b.iter(|| {
                source.set_position(0);
                let mut seen = 0usize;
                floor_read_exact::<S, _>(&mut source, &mut buf, |payload| {
                    black_box(payload);
                    seen += 1;
                })
                .expect("the stream is valid");
                assert_eq!(seen, count);
            });
        });

        if S::SUM == 0 {
            bench_read_tokio(&mut group, &stream, count);
        }
        group.finish();
    }
}

/// tokio-util's codec: the stream copied into the `BytesMut` (as a
/// `FramedRead` reads into it), then split into frames.
fn bench_read_tokio(group: &mut BenchmarkGroup<'_, WallTime>, stream: &[u8], count: usize) {
    let mut codec = tokio_codec();
    let mut src = BytesMut::with_capacity(stream.len());
    group.bench_function("tokio", |b| {
        b.iter(|| {
            src.clear();
            src.extend_from_slice(black_box(stream));
            let mut seen = 0usize;
            while let Some(frame) = codec.decode(&mut src).expect("the stream is valid") {
                black_box(&frame);
                seen += 1;
            }
            assert_eq!(seen, count);
        });
    });
}

fn bench_slice<S: Framing>(c: &mut Criterion) {
    for (size, label) in SIZES {
        let payload = payload(size);
        let count = messages_per_iter(size);
        let stream = stream_of::<S>(&payload, count);
        // Without a checksum the payloads are never touched: a pass over 4
        // frames of 1 MiB takes nanoseconds, so parse the stream again until
        // an iteration has seen enough frames to time.
        let passes = if S::SUM == 0 {
            (SLICE_MIN_FRAMES / count).max(1)
        } else {
            1
        };
        let frames = count * passes;
        let mut group = group(
            c,
            "slice",
            S::NAME,
            label,
            throughput(frames, frames * size),
        );

        group.bench_function("flatstream", |b| {
            b.iter(|| {
                let mut seen = 0usize;
                for _ in 0..passes {
                    for payload in SliceReader::new(black_box(stream.as_slice()), S::deframer()) {
                        black_box(payload.expect("the stream is valid"));
                        seen += 1;
                    }
                }
                assert_eq!(seen, frames);
            });
        });

        group.bench_function("floor", |b| {
            b.iter(|| {
                let mut seen = 0usize;
                for _ in 0..passes {
                    floor_parse::<S>(black_box(stream.as_slice()), |payload| {
                        black_box(payload);
                        seen += 1;
                    })
                    .expect("the stream is valid");
                }
                assert_eq!(seen, frames);
            });
        });

        if S::SUM == 0 {
            let mut varint = Vec::with_capacity(count * (10 + size));
            for _ in 0..count {
                prost::encoding::encode_varint(u64_of(size), &mut varint);
                varint.extend_from_slice(&payload);
            }
            group.bench_function("varint", |b| {
                b.iter(|| {
                    let mut seen = 0usize;
                    for _ in 0..passes {
                        let mut rest: &[u8] = black_box(varint.as_slice());
                        while !rest.is_empty() {
                            let len = prost::encoding::decode_varint(&mut rest)
                                .expect("the stream is valid");
                            let len = usize::try_from(len).expect("the length fits in usize");
                            let (payload, tail) =
                                rest.split_at_checked(len).expect("a whole payload");
                            black_box(payload);
                            rest = tail;
                            seen += 1;
                        }
                    }
                    assert_eq!(seen, frames);
                });
            });
        }
        group.finish();
    }
}

fn bench_simple<S: Framing>(c: &mut Criterion) {
    let readings: Vec<Reading> = (0..READINGS).map(Reading::sample).collect();
    let mut builder = FlatBufferBuilder::new();
    let mut bytes = 0usize;
    let mut frames = Vec::new();
    for reading in &readings {
        builder.reset();
        let root = reading.build(&mut builder);
        finish_telemetry_buffer(&mut builder, root);
        bytes += builder.finished_data().len();
        floor_encode::<S>(builder.finished_data(), &mut frames);
    }
    let capacity = frames.len();
    let mut simple = group(
        c,
        "simple",
        S::NAME,
        "telemetry",
        throughput(readings.len(), bytes),
    );

    let mut writer = StreamWriter::new(Vec::with_capacity(capacity), S::framer());
    simple.bench_function("flatstream", |b| {
        b.iter(|| {
            writer.get_mut().clear();
            for reading in &readings {
                write_reading(&mut writer, black_box(reading)).expect("writing cannot fail");
            }
            black_box(writer.get_ref().len())
        });
    });
    assert_eq!(
        writer.get_ref().capacity(),
        capacity,
        "the sink never grows"
    );
    if !writer.get_ref().is_empty() {
        assert_eq!(*writer.get_ref(), frames, "the floor writes the same bytes");
    }

    simple.bench_function("bare", |b| {
        b.iter(|| {
            for reading in &readings {
                builder.reset();
                let root = black_box(reading).build(&mut builder);
                finish_telemetry_buffer(&mut builder, root);
                black_box(builder.finished_data());
            }
        });
    });

    let mut out = Vec::with_capacity(capacity);
    simple.bench_function("floor", |b| {
        b.iter(|| {
            out.clear();
            for reading in &readings {
                builder.reset();
                let root = black_box(reading).build(&mut builder);
                finish_telemetry_buffer(&mut builder, root);
                floor_encode::<S>(builder.finished_data(), &mut out);
            }
            black_box(out.len())
        });
    });
    assert_eq!(out.capacity(), capacity, "the sink never grows");
    simple.finish();

    // The same into `io::sink()`: the cost of simple mode and of the framing
    // alone, without the copy into the sink that the `Vec` rows pay.
    let mut group = group(
        c,
        "simple-null",
        S::NAME,
        "telemetry",
        throughput(readings.len(), bytes),
    );
    let mut writer = StreamWriter::new(io::sink(), S::framer());
    group.bench_function("flatstream", |b| {
        b.iter(|| {
            for reading in &readings {
                write_reading(&mut writer, black_box(reading)).expect("writing cannot fail");
            }
        });
    });
    group.bench_function("floor", |b| {
        b.iter(|| {
            for reading in &readings {
                builder.reset();
                let root = black_box(reading).build(&mut builder);
                finish_telemetry_buffer(&mut builder, root);
                let payload = builder.finished_data();
                black_box((floor_header::<S>(payload), payload));
            }
        });
    });
    group.finish();
}

fn bench_hash<S: Framing>(c: &mut Criterion) {
    let data = payload(1024 * 1024);
    let mut group = group(c, "hash", S::NAME, "1MiB", throughput(1, data.len()));
    group.bench_function("raw", |b| b.iter(|| S::hash(black_box(&data))));
    group.finish();
}

fn framing<S: Framing>(c: &mut Criterion) {
    bench_write::<S>(c);
    bench_read::<S>(c);
    bench_slice::<S>(c);
    bench_simple::<S>(c);
    if S::SUM > 0 {
        bench_hash::<S>(c);
    }
}

fn comparison(c: &mut Criterion) {
    framing::<NoChecksum>(c);
    framing::<Xxh3>(c);
    framing::<Crc32Framing>(c);
    framing::<Crc16Framing>(c);
}

/// Short runs: about 150 benchmarks of about 1.5 s each.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = comparison
}
criterion_main!(benches);
