//! Golden streams: whole FlatStream streams pinned byte for byte, one per
//! framer, in `tests/data/*.hex`.
//!
//! Each stream holds three frames: an empty payload, the ASCII bytes
//! `flatstream`, and a 1 KiB `Telemetry` FlatBuffer (schema
//! `schema/telemetry.fbs`). For each framer the test
//!
//! 1. writes the stream with `StreamWriter` and compares it with the golden
//!    file (or, with `FLATSTREAM_BLESS=1`, rewrites the file first);
//! 2. reads the golden bytes back with `StreamReader` and the matching
//!    deframer and checks the three payloads;
//! 3. checks a few header bytes against values computed outside this code
//!    base, so that the files are not merely self-consistent.
//!
//! The files are written only by `cargo xtask codegen`, which runs
//! `FLATSTREAM_BLESS=1 cargo test -p flatstream --all-features --test behaviour golden::`.
//! File format: lowercase hex, 32 bytes per line; `#` starts a comment; blank
//! space is ignored.

use std::path::PathBuf;

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{DefaultDeframer, DefaultFramer, Deframer, Framer, StreamReader, StreamWriter};

use crate::telemetry::{
    self, Reading, check, finish_telemetry_buffer, root_as_telemetry, write_reading,
};

/// Set to `1` to rewrite the golden files from the current code.
const BLESS_VAR: &str = "FLATSTREAM_BLESS";

/// The short ASCII payload of the second frame.
const ASCII: &[u8] = b"flatstream";

/// Which reading of the deterministic capture the third frame holds, and
/// how many raw samples make its FlatBuffer exactly `TELEMETRY_LEN` bytes.
const TELEMETRY_INDEX: u64 = 42;
const TELEMETRY_SAMPLES: usize = 226;
const TELEMETRY_LEN: usize = 1024;

/// Bytes per line in the hex files.
const HEX_LINE_BYTES: usize = 32;

fn golden_reading() -> Reading {
    Reading::sample_with_len(TELEMETRY_INDEX, TELEMETRY_SAMPLES)
}

/// The three payloads, the FlatBuffer built in expert mode (`build` plus
/// `finish_telemetry_buffer`).
fn payloads() -> [Vec<u8>; 3] {
    let mut builder = FlatBufferBuilder::new();
    let root = golden_reading().build(&mut builder);
    finish_telemetry_buffer(&mut builder, root);
    [Vec::new(), ASCII.to_vec(), builder.finished_data().to_vec()]
}

/// The stream as `StreamWriter` writes it; the FlatBuffer goes through simple
/// mode (`StreamWriter::write_with`), so comparing it with the expert-mode
/// payloads also checks that both write paths give the same bytes.
fn write_stream<F: Framer>(framer: F) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), framer).allow_empty_payloads(true);
    writer.write_payload(b"").expect("empty payload");
    writer.write_payload(ASCII).expect("ASCII payload");
    write_reading(&mut writer, &golden_reading()).expect("Telemetry payload");
    assert_eq!(writer.frames_written(), 3);
    writer.into_inner()
}

fn data_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(file)
}

fn to_hex(title: &str, bytes: &[u8]) -> String {
    let mut text = format!(
        "# FlatStream golden stream, {title}.\n\
         # Frames: empty, \"flatstream\", Telemetry FlatBuffer ({TELEMETRY_LEN} bytes). {} bytes.\n\
         # Written by `cargo xtask codegen` (FLATSTREAM_BLESS=1); do not edit.\n",
        bytes.len()
    );
    for line in bytes.chunks(HEX_LINE_BYTES) {
        for byte in line {
            text.push_str(&format!("{byte:02x}"));
        }
        text.push('\n');
    }
    text
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(str::bytes)
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    let nibble = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| format!("{:?} is not a hex digit", char::from(b)))
    };
    digits
        .chunks(2)
        .map(|pair| Ok(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Steps 1 and 2 of the module docs; returns the golden bytes for step 3.
fn golden<F: Framer, D: Deframer>(file: &str, title: &str, framer: F, deframer: D) -> Vec<u8> {
    let path = data_path(file);
    let shown = format!("tests/data/{file}");
    let actual = write_stream(framer);

    if std::env::var(BLESS_VAR).is_ok_and(|v| v == "1") {
        let text = to_hex(title, &actual);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("write golden file");
        }
    }

    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("golden file {shown} cannot be read ({e}): run `cargo xtask codegen`")
    });
    let expected =
        parse_hex(&text).unwrap_or_else(|e| panic!("golden file {shown} is not hex: {e}"));
    if expected != actual {
        let first = expected
            .iter()
            .zip(&actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        panic!(
            "golden file {shown} is stale: run `cargo xtask codegen` \
             (first difference at byte {first}; file has {} bytes, writer {})",
            expected.len(),
            actual.len()
        );
    }

    let mut reader = StreamReader::new(expected.as_slice(), deframer);
    let mut read = Vec::new();
    reader
        .process_all(|payload| {
            read.push(payload.to_vec());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("reading {shown}: {e}"));
    assert_eq!(reader.offset(), expected.len() as u64);
    assert!(read == payloads(), "{shown}: payloads differ");
    let table = root_as_telemetry(&read[2]).expect("verified Telemetry");
    check(&golden_reading(), table).expect("Telemetry fields");
    expected
}

/// Checks the frame at `at`: its length prefix, checksum bytes (given by
/// hand, little-endian) and payload. Returns where the next frame starts.
fn frame_at(stream: &[u8], at: usize, checksum: &[u8], payload: &[u8]) -> usize {
    let len = u32::try_from(payload.len()).expect("small payload");
    assert_eq!(stream[at..at + 4], len.to_le_bytes(), "length at {at}");
    let sum = at + 4;
    assert_eq!(
        &stream[sum..sum + checksum.len()],
        checksum,
        "checksum at {sum}"
    );
    let start = sum + checksum.len();
    assert_eq!(
        &stream[start..start + payload.len()],
        payload,
        "payload at {start}"
    );
    start + payload.len()
}

/// The third frame: its length, checksum width and the `TLM1` identifier.
fn telemetry_frame_at(stream: &[u8], at: usize, checksum_len: usize) {
    let len = u32::try_from(TELEMETRY_LEN).expect("1 KiB");
    assert_eq!(stream[at..at + 4], len.to_le_bytes());
    let payload = at + 4 + checksum_len;
    assert_eq!(&stream[payload + 4..payload + 8], b"TLM1");
    assert_eq!(stream.len(), payload + TELEMETRY_LEN);
}

#[test]
fn telemetry_payload_is_one_kib() {
    assert_eq!(payloads()[2].len(), TELEMETRY_LEN);
}

#[test]
fn default_framer() {
    let stream = golden(
        "default.hex",
        "DefaultFramer: [u32 LE length][payload]",
        DefaultFramer,
        DefaultDeframer,
    );
    assert_eq!(stream[..4], [0, 0, 0, 0], "an empty frame is a zero length");
    let next = frame_at(&stream, 4, &[], ASCII);
    telemetry_frame_at(&stream, next, 0);
}

#[cfg(feature = "xxhash")]
#[test]
fn xxhash_framer() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, XxHash64};
    let stream = golden(
        "xxhash.hex",
        "ChecksumFramer<XxHash64>: [u32 LE length][XXH3-64 seed 0, u64 LE][payload]",
        ChecksumFramer::new(XxHash64::new()),
        ChecksumDeframer::new(XxHash64::new()),
    );
    // Python (the `xxhash` package, bound to the reference C library):
    // hex(xxhash.xxh3_64_intdigest(b"")) == "0x2d06800538d394c2" and
    // hex(xxhash.xxh3_64_intdigest(b"flatstream")) == "0xf75fd0060a8f996".
    let next = frame_at(&stream, 0, &0x2D06_8005_38D3_94C2_u64.to_le_bytes(), b"");
    let next = frame_at(
        &stream,
        next,
        &0x0F75_FD00_60A8_F996_u64.to_le_bytes(),
        ASCII,
    );
    telemetry_frame_at(&stream, next, 8);
}

#[cfg(feature = "crc32")]
#[test]
fn crc32_framer() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};
    let stream = golden(
        "crc32.hex",
        "ChecksumFramer<Crc32>: [u32 LE length][CRC-32/ISO-HDLC, u32 LE][payload]",
        ChecksumFramer::new(Crc32::new()),
        ChecksumDeframer::new(Crc32::new()),
    );
    let next = frame_at(&stream, 0, &[0, 0, 0, 0], b"");
    // Python: hex(zlib.crc32(b"flatstream")) == "0xc0692553".
    let next = frame_at(&stream, next, &0xC069_2553_u32.to_le_bytes(), ASCII);
    telemetry_frame_at(&stream, next, 4);
}

#[cfg(feature = "crc16")]
#[test]
fn crc16_framer() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc16};
    let stream = golden(
        "crc16.hex",
        "ChecksumFramer<Crc16>: [u32 LE length][CRC-16/XMODEM, u16 LE][payload]",
        ChecksumFramer::new(Crc16::new()),
        ChecksumDeframer::new(Crc16::new()),
    );
    let next = frame_at(&stream, 0, &[0, 0], b"");
    // Python: hex(binascii.crc_hqx(b"flatstream", 0)) == "0xbf3b" (XMODEM).
    let next = frame_at(&stream, next, &0xBF3B_u16.to_le_bytes(), ASCII);
    telemetry_frame_at(&stream, next, 2);
}

#[test]
fn simple_and_expert_mode_write_the_same_bytes() {
    let mut expert = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
    let mut simple = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
    let mut builder = FlatBufferBuilder::new();
    for i in 0..100 {
        let reading = Reading::sample(i);
        assert!((8..=64).contains(&reading.samples.len()));
        builder.reset();
        let root = reading.build(&mut builder);
        finish_telemetry_buffer(&mut builder, root);
        expert.write_finished(&mut builder).unwrap();
        write_reading(&mut simple, &reading).unwrap();
        let table = root_as_telemetry(builder.finished_data()).unwrap();
        check(&reading, table).unwrap();
        assert_eq!(Reading::sample(i), reading, "deterministic");
    }
    assert_eq!(expert.into_inner(), simple.into_inner());
}

#[test]
fn the_allocation_free_generator_gives_the_same_readings() {
    let (mut owned, mut borrowed) = (FlatBufferBuilder::new(), FlatBufferBuilder::new());
    for i in 0..10_000 {
        let reading = Reading::sample(i);
        let by_ref = telemetry::sample_ref(i);
        assert_eq!(reading.as_ref(), by_ref, "reading {i}");
        owned.reset();
        let root = reading.build(&mut owned);
        finish_telemetry_buffer(&mut owned, root);
        borrowed.reset();
        let root = by_ref.build(&mut borrowed);
        finish_telemetry_buffer(&mut borrowed, root);
        assert_eq!(
            owned.finished_data(),
            borrowed.finished_data(),
            "reading {i}"
        );
        let table = root_as_telemetry(borrowed.finished_data()).unwrap();
        telemetry::check_ref(&by_ref, table).unwrap();
        if i > 0 {
            let other = telemetry::sample_ref(i - 1);
            assert!(
                telemetry::check_ref(&other, table).is_err(),
                "reading {i} is not {}",
                i - 1
            );
        }
    }
}

#[test]
fn check_ref_names_every_sample_that_differs() {
    let expected = Reading::sample(7);
    let mut builder = FlatBufferBuilder::new();
    for k in 0..expected.samples.len() {
        for bit in [0, 22, 31] {
            let mut changed = expected.clone();
            changed.samples[k] = f32::from_bits(changed.samples[k].to_bits() ^ (1 << bit));
            builder.reset();
            let root = changed.build(&mut builder);
            finish_telemetry_buffer(&mut builder, root);
            let table = root_as_telemetry(builder.finished_data()).unwrap();
            let err = telemetry::check_ref(&expected.as_ref(), table).unwrap_err();
            assert!(
                err.starts_with(&format!("samples[{k}]: ")),
                "sample {k}, bit {bit}: {err}"
            );
        }
    }
}

#[test]
fn hex_format_round_trips() {
    let bytes: Vec<u8> = (0..=255).collect();
    let text = to_hex("test", &bytes);
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.len() == 64)
    );
    assert_eq!(parse_hex(&text).unwrap(), bytes);
    assert_eq!(parse_hex("# c\n0a FF\r\n").unwrap(), [0x0a, 0xff]);
    assert!(parse_hex("abc").is_err());
    assert!(parse_hex("+f").is_err());
}

/// The self-describing header, pinned: a CRC-32 stream of the header of
/// [`golden_header`] and the ASCII frame. Layout: `schema/stream_header.fbs`
/// in `flatstream-core`; the payload's bytes 4..8 are the identifier `FSHD`.
#[cfg(feature = "crc32")]
#[test]
fn header_frame() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};
    let file = "header.hex";
    let shown = format!("tests/data/{file}");
    let path = data_path(file);
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
    writer.write_header(&golden_header()).expect("header");
    writer.write_payload(ASCII).expect("ASCII payload");
    let actual = writer.into_inner();
    if std::env::var(BLESS_VAR).is_ok_and(|v| v == "1") {
        let mut text = format!(
            "# FlatStream golden stream, a self-describing header (CRC-32 framing).\n\
             # Frames: StreamHeader (FSHD), \"flatstream\". {} bytes.\n\
             # Written by `cargo xtask codegen` (FLATSTREAM_BLESS=1); do not edit.\n",
            actual.len()
        );
        for line in actual.chunks(HEX_LINE_BYTES) {
            for byte in line {
                text.push_str(&format!("{byte:02x}"));
            }
            text.push('\n');
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("write golden file");
        }
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("golden file {shown} cannot be read ({e}): run `cargo xtask codegen`")
    });
    let expected = parse_hex(&text).unwrap_or_else(|e| panic!("{shown} is not hex: {e}"));
    assert!(
        expected == actual,
        "golden file {shown} is stale: run `cargo xtask codegen`"
    );

    // The header frame: a length, a CRC-32, then a FlatBuffer whose
    // identifier is FSHD; an old reader sees it as one more frame.
    let header_len = u32::from_le_bytes(expected[..4].try_into().unwrap()) as usize;
    assert_eq!(&expected[8 + 4..8 + 8], b"FSHD");
    let next = frame_at(
        &expected,
        8 + header_len,
        &0xC069_2553_u32.to_le_bytes(),
        ASCII,
    );
    assert_eq!(next, expected.len());
    let old_reader: Vec<Vec<u8>> =
        flatstream::SliceReader::new(&expected, ChecksumDeframer::new(Crc32::new()))
            .map(|p| p.map(<[u8]>::to_vec))
            .collect::<Result<_, _>>()
            .expect("reads");
    assert_eq!(old_reader, [ASCII.to_vec()], "the header is not a payload");

    let mut reader = StreamReader::new(expected.as_slice(), ChecksumDeframer::new(Crc32::new()));
    assert_eq!(reader.header().expect("reads"), Some(&golden_header()));
    assert_eq!(reader.read_message().expect("reads"), Some(ASCII));
    assert_eq!(reader.read_message().expect("reads"), None);
}

#[cfg(feature = "crc32")]
fn golden_header() -> flatstream::StreamHeader {
    flatstream::StreamHeader::new()
        .with_schema((0u8..16).collect::<Vec<_>>())
        .with_root_type("flatstream.telemetry.Telemetry")
        .with_file_identifier("TLM1")
        .with_metadata("producer", "flatstream golden")
        .with_metadata("host", "golden")
}
