//! Writes the seed corpora of every fuzz target, under `corpus/<target>/`.
//!
//! Run from `fuzz/` with `cargo run --example gen_seeds`.
//!
//! `deframe` and `recover` take raw bytes. Their seeds are small binary
//! streams: valid streams for every framer, the ways a stream goes wrong
//! (torn tail, checksum mismatch, length over the limit, a damaged length or
//! garbage with good frames after it), and the zero-filled tails a crash
//! leaves on ext4 or XFS (after a frame boundary, after a torn frame, empty
//! frames and zero frames with a length up to the end, and zeros between
//! frames that are not a tail). Golden frame files
//! (`../crates/flatstream/tests/data/*.hex`), when present, are converted too:
//! hex digits are kept, `#` comments and whitespace dropped.
//!
//! `cursor` takes a mode byte, a count of chunk sizes, the sizes, then the
//! stream raw (`CursorInput::to_bytes`): each framing, clean, torn, with a
//! checksum mismatch, a damaged length or a zeroed hole, under each damage
//! policy.
//!
//! `chunked_read`, `roundtrip` and `salvage` take structured inputs, encoded the way
//! `arbitrary` 1.x decodes them (a collection is a sequence of "one more"
//! bytes with the low bit set, each followed by an element, then a byte with
//! it clear; integers are little-endian; the last field takes the rest of the
//! input). Each is decoded again and checked, so a change in that encoding
//! fails loudly here.

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use flatstream::{
    ChecksumFramer, Crc16, Crc32, DefaultFramer, Framer, Result, StreamWriter, XxHash64,
};
use flatstream_fuzz::{
    ChunkedReadInput, CursorInput, Edit, PayloadSpec, RoundtripInput, SalvageInput,
};

/// Payloads of the valid seed streams: empty, tiny, a FlatBuffer-sized one.
fn payloads() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"hi".to_vec(),
        (0u8..=255).cycle().take(300).collect(),
        vec![0xFF; 7],
    ]
}

fn stream<F: Framer>(framer: F) -> Result<Vec<u8>> {
    let mut writer = StreamWriter::new(Vec::new(), framer).allow_empty_payloads(true);
    for p in payloads() {
        writer.write_payload(&p)?;
    }
    Ok(writer.into_inner())
}

fn write_variants(dir: &Path, name: &str, header_len: usize, valid: &[u8]) -> std::io::Result<()> {
    fs::write(dir.join(format!("{name}-valid")), valid)?;
    // Torn tail: the last frame loses its last byte.
    fs::write(
        dir.join(format!("{name}-torn-tail")),
        &valid[..valid.len() - 1],
    )?;
    // Torn header: only part of a header after the frames.
    let mut torn_header = valid.to_vec();
    torn_header.extend_from_slice(&valid[..header_len - 1]);
    fs::write(dir.join(format!("{name}-torn-header")), torn_header)?;
    // A flipped payload byte in the second frame ("hi"): a checksum mismatch
    // for the checksummed framings, a different payload for the default one.
    let mut corrupt = valid.to_vec();
    corrupt[2 * header_len] ^= 0x20;
    fs::write(dir.join(format!("{name}-corrupt-payload")), corrupt)?;
    // A length over every limit the target uses, after one good frame.
    let mut too_large = valid[..header_len].to_vec();
    too_large.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F]);
    too_large.resize(too_large.len() + header_len, 0);
    fs::write(dir.join(format!("{name}-too-large")), too_large)?;
    // Zero-filled tails after the last frame: a short run, and up to a
    // file-system block.
    let mut zero_tail = valid.to_vec();
    zero_tail.resize(valid.len() + 3 * header_len + 1, 0);
    fs::write(dir.join(format!("{name}-zero-tail")), zero_tail)?;
    let mut zero_block = valid.to_vec();
    zero_block.resize(4096, 0);
    fs::write(dir.join(format!("{name}-zero-block")), zero_block)?;
    // The end of the last frame zeroed, then zeros: a damaged frame (or, for
    // the default framing, a different payload) before a zero tail.
    let mut zeroed_last = valid[..valid.len() - 3].to_vec();
    zeroed_last.resize(valid.len() + 64, 0);
    fs::write(dir.join(format!("{name}-zeroed-last-frame")), zeroed_last)?;
    // Zeros between frames are not a tail: a frame follows them.
    let mut zeros_inside = vec![0; 2 * header_len];
    zeros_inside.extend_from_slice(valid);
    fs::write(dir.join(format!("{name}-zeros-then-frames")), zeros_inside)?;
    // Empty frames (headers of zeros) up to the end: zero fill, or kept
    // when empty payloads are allowed.
    let mut empty_frames = valid.to_vec();
    empty_frames.resize(valid.len() + 2 * header_len, 0);
    fs::write(dir.join(format!("{name}-empty-frames")), empty_frames)?;
    // Zero frames with a length (the plain framing and CRC-16 accept them).
    let mut zero_frames = valid.to_vec();
    for len in [3u8, 1] {
        zero_frames.push(len);
        zero_frames.resize(zero_frames.len() + header_len - 1 + usize::from(len), 0);
    }
    fs::write(dir.join(format!("{name}-zero-frames")), zero_frames)?;
    // The second frame's length damaged so that it runs past the end, with
    // good frames after it: corruption, not a torn tail.
    let mut bad_length = valid.to_vec();
    bad_length[header_len + 2] = 0x40;
    fs::write(
        dir.join(format!("{name}-bad-length-then-frames")),
        bad_length,
    )?;
    // Garbage between the first and the later frames.
    let mut garbage = valid[..header_len].to_vec();
    garbage.extend((0u8..29).map(|i| i.wrapping_mul(97) ^ 0x5C));
    garbage.extend_from_slice(&valid[header_len..]);
    fs::write(dir.join(format!("{name}-garbage-then-frames")), garbage)?;
    Ok(())
}

fn convert_golden(dir: &Path) -> std::io::Result<()> {
    let golden = Path::new("../crates/flatstream/tests/data");
    let Ok(entries) = fs::read_dir(golden) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "hex") {
            continue;
        }
        let text = fs::read_to_string(&path)?;
        let digits: String = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect();
        let bytes: Option<Vec<u8>> = (0..digits.len())
            .step_by(2)
            .map(|i| {
                digits
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("golden");
        match bytes {
            Some(bytes) => fs::write(dir.join(format!("golden-{stem}")), bytes)?,
            None => eprintln!("skipping {}: not plain hex", path.display()),
        }
    }
    Ok(())
}

/// A roundtrip payload: bytes, repeated `1 + repeat` times.
type Payload = (Vec<u8>, u8);

/// A named roundtrip seed: its payloads and its chunk values.
type Seed = (&'static str, Vec<Payload>, Vec<u16>);

/// A named chunked_read seed: mode, payloads, torn-tail value, chunk values.
type ChunkedSeed = (String, u8, Vec<Payload>, u16, Vec<u16>);

/// Encodes a `Vec<Payload>`.
fn encode_payloads(payloads: &[Payload], out: &mut Vec<u8>) {
    for (bytes, repeat) in payloads {
        out.push(1);
        for b in bytes {
            out.extend_from_slice(&[1, *b]);
        }
        out.extend_from_slice(&[0, *repeat]);
    }
    out.push(0);
}

/// Encodes a `Vec<u16>` of chunk values (the last field of both inputs).
fn encode_chunks(chunks: &[u16], out: &mut Vec<u8>) {
    for c in chunks {
        out.push(1);
        out.extend_from_slice(&c.to_le_bytes());
    }
}

/// Encodes a `RoundtripInput` of payloads and chunk values.
fn roundtrip_seed(payloads: &[Payload], chunks: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_payloads(payloads, &mut out);
    encode_chunks(chunks, &mut out);
    out
}

/// Encodes a `ChunkedReadInput`.
fn chunked_read_seed(mode: u8, payloads: &[Payload], torn: u16, chunks: &[u16]) -> Vec<u8> {
    let mut out = vec![mode];
    encode_payloads(payloads, &mut out);
    out.extend_from_slice(&torn.to_le_bytes());
    encode_chunks(chunks, &mut out);
    out
}

/// Chunk value for a plain read of `len` bytes (1..=8192).
fn read(len: u16) -> u16 {
    (len - 1) << 3
}

/// Chunk values that first fail with `Interrupted` / `WouldBlock`, then read `len`.
fn interrupted(len: u16) -> u16 {
    read(len) | 7
}

fn would_block(len: u16) -> u16 {
    read(len) | 6
}

fn write_roundtrip_seeds(dir: &Path) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let counting: Vec<u8> = (0u8..=255).collect();
    let seeds: Vec<Seed> = vec![
        ("empty", vec![], vec![]),
        (
            "one-payload-whole-reads",
            vec![(b"hello".to_vec(), 0)],
            vec![],
        ),
        (
            "empty-payloads-byte-reads",
            vec![(vec![], 0), (b"ab".to_vec(), 2), (vec![], 0)],
            vec![read(1)],
        ),
        (
            // 64 KiB + 256 bytes: larger than the reader's read chunk.
            "large-frame-interrupted",
            vec![(counting, 255), (b"tail".to_vec(), 0)],
            vec![read(1000), interrupted(3), read(8192)],
        ),
        (
            "many-small-would-block",
            (0u8..20).map(|i| (vec![i; 3], 0)).collect(),
            vec![read(5), would_block(2), read(7), interrupted(1)],
        ),
    ];
    for (name, payloads, chunks) in seeds {
        let bytes = roundtrip_seed(&payloads, &chunks);
        let input = RoundtripInput::arbitrary_take_rest(Unstructured::new(&bytes))?;
        let expected: Vec<Vec<u8>> = payloads
            .iter()
            .map(|(b, r)| b.repeat(usize::from(*r) + 1))
            .collect();
        assert_eq!(
            input.payloads(),
            expected,
            "seed {name} decodes differently"
        );
        fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// Torn-tail value of a `ChunkedReadInput`: a last frame with a payload of
/// `payload_len` bytes, cut after `1 + cut % (frame_len - 1)` bytes.
fn torn(payload_len: u8, cut: u8) -> u16 {
    u16::from(payload_len) << 8 | u16::from(cut)
}

fn write_chunked_read_seeds(dir: &Path) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let counting: Vec<u8> = (0u8..=255).collect();
    let small: Vec<Payload> = vec![(b"hi".to_vec(), 0), (vec![], 0), (vec![0xAB; 7], 3)];
    let mut seeds: Vec<ChunkedSeed> = Vec::new();
    for (mode, name) in ["default", "xxhash", "crc32", "crc16"].iter().enumerate() {
        let mode = u8::try_from(mode)?;
        seeds.extend([
            (
                format!("{name}-clean-byte-reads"),
                mode,
                small.clone(),
                0,
                vec![read(1)],
            ),
            (
                format!("{name}-torn-header-would-block"),
                mode,
                small.clone(),
                torn(0, 2),
                vec![read(3), would_block(2)],
            ),
            (
                format!("{name}-torn-payload-interrupted"),
                mode | 4,
                small.clone(),
                torn(40, 30),
                vec![interrupted(5), read(11)],
            ),
            (
                // Cut after 5 bytes: inside the checksum of the checksummed framings.
                format!("{name}-torn-checksum"),
                mode,
                small.clone(),
                torn(10, 4),
                vec![read(2), read(7)],
            ),
            (
                // 64 KiB + 256 bytes: larger than the reader's read chunk.
                format!("{name}-large-frame-bounded"),
                mode | 4,
                vec![(counting.clone(), 255), (b"after".to_vec(), 0)],
                0,
                vec![read(4096), would_block(1000), interrupted(8192)],
            ),
        ]);
    }
    for (name, mode, payloads, torn, chunks) in seeds {
        let bytes = chunked_read_seed(mode, &payloads, torn, &chunks);
        let input = ChunkedReadInput::arbitrary_take_rest(Unstructured::new(&bytes))?;
        let expected: Vec<Vec<u8>> = payloads
            .iter()
            .map(|(b, r)| b.repeat(usize::from(*r) + 1))
            .collect();
        assert_eq!(
            input.payloads(),
            expected,
            "seed {name} decodes differently"
        );
        fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// Writes the raw-byte seeds shared by `deframe` and `recover` into `dir`.
fn write_stream_seeds(dir: &Path) -> std::result::Result<(), Box<dyn std::error::Error>> {
    fs::create_dir_all(dir)?;
    write_variants(
        dir,
        "default",
        DefaultFramer.header_len(),
        &stream(DefaultFramer)?,
    )?;
    let xxhash = ChecksumFramer::new(XxHash64::new());
    write_variants(dir, "xxhash", xxhash.header_len(), &stream(xxhash)?)?;
    let crc32 = ChecksumFramer::new(Crc32::new());
    write_variants(dir, "crc32", crc32.header_len(), &stream(crc32)?)?;
    let crc16 = ChecksumFramer::new(Crc16::new());
    write_variants(dir, "crc16", crc16.header_len(), &stream(crc16)?)?;
    // The all-zero tail: parses as empty frames for every framing.
    fs::write(dir.join("zeros"), [0u8; 48])?;
    convert_golden(dir)?;
    Ok(())
}

/// Writes the `cursor` seeds: streams of every framing, clean and damaged,
/// under each damage policy and a few chunkings.
fn write_cursor_seeds(dir: &Path) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let framings: [(&str, Vec<u8>, usize); 4] = [
        (
            "default",
            stream(DefaultFramer)?,
            DefaultFramer.header_len(),
        ),
        ("xxhash", stream(ChecksumFramer::new(XxHash64::new()))?, 12),
        ("crc32", stream(ChecksumFramer::new(Crc32::new()))?, 8),
        ("crc16", stream(ChecksumFramer::new(Crc16::new()))?, 6),
    ];
    // Mode bits 2-3: Skip, Resync, Stop; bit 4: a 64-byte limit; bit 5: on
    // the deframer.
    const SKIP: u8 = 0;
    const RESYNC: u8 = 1 << 2;
    const STOP: u8 = 2 << 2;
    const SMALL: u8 = 1 << 4;
    const ON_DEFRAMER: u8 = 1 << 5;
    for (framing, (name, valid, header_len)) in framings.iter().enumerate() {
        let framing = u8::try_from(framing)?;
        let mut corrupt = valid.clone();
        corrupt[2 * header_len] ^= 0x20;
        let mut bad_length = valid.clone();
        bad_length[header_len + 2] = 0x40;
        let torn = valid[..valid.len() - 1].to_vec();
        let mut zero_hole = valid.clone();
        zero_hole[*header_len..2 * header_len + 2].fill(0);
        let cases: [(&str, u8, &[u8], Vec<u16>); 8] = [
            ("valid-byte-reads", SKIP, valid, vec![read(1)]),
            ("torn-stop", STOP, &torn, vec![read(3), would_block(5)]),
            ("corrupt-skip", SKIP, &corrupt, vec![read(7), 5]),
            (
                "corrupt-resync",
                RESYNC,
                &corrupt,
                vec![read(2), would_block(9)],
            ),
            ("corrupt-stop", STOP, &corrupt, vec![]),
            ("too-large-resync", RESYNC | SMALL, valid, vec![read(64)]),
            (
                "bad-length-resync",
                RESYNC | SMALL | ON_DEFRAMER,
                &bad_length,
                vec![read(5), 5],
            ),
            ("zero-hole-resync", RESYNC, &zero_hole, vec![read(4)]),
        ];
        for (case, mode, data, chunks) in cases {
            let input = CursorInput {
                mode: mode | framing,
                chunks,
                data: data.to_vec(),
            };
            let bytes = input.to_bytes();
            let decoded = CursorInput::arbitrary_take_rest(Unstructured::new(&bytes))?;
            assert_eq!(
                format!("{decoded:?}"),
                format!("{input:?}"),
                "cursor seed {name}-{case}"
            );
            fs::write(dir.join(format!("{name}-{case}")), bytes)?;
        }
    }
    Ok(())
}

/// A named salvage seed: payloads, region start and length, edits, chunks.
type SalvageCase<'a> = (
    &'static str,
    &'a Vec<PayloadSpec>,
    u16,
    u16,
    Vec<Edit>,
    Vec<u16>,
);

/// Encodes a `SalvageInput` the way `arbitrary` decodes it.
fn salvage_seed(input: &SalvageInput) -> Vec<u8> {
    let mut out = vec![input.mode];
    out.extend_from_slice(&input.seed.to_le_bytes());
    for p in &input.payloads {
        out.extend_from_slice(&[1, p.len, p.style]);
    }
    out.push(0);
    out.extend_from_slice(&input.region_start.to_le_bytes());
    out.extend_from_slice(&input.region_len.to_le_bytes());
    for e in &input.edits {
        out.extend_from_slice(&[1, e.op]);
        out.extend_from_slice(&e.at.to_le_bytes());
        out.extend_from_slice(&[e.len, e.byte]);
    }
    out.push(0);
    encode_chunks(&input.chunks, &mut out);
    out
}

/// Writes the `salvage` seeds: each checksum, payloads of every style, and
/// each kind of edit.
fn write_salvage_seeds(dir: &Path) -> std::result::Result<(), Box<dyn std::error::Error>> {
    // Payload styles (low bits): random, FlatBuffer-like, mostly zeros, text;
    // `len` bytes, scaled by `1 + (style >> 4)`.
    let spec = |len: u8, style: u8| PayloadSpec { len, style };
    let mixed: Vec<PayloadSpec> = (0u8..12).map(|i| spec(i * 7 + 3, i % 4)).collect();
    let flatbuffers: Vec<PayloadSpec> = (0u8..16).map(|i| spec(20 + i, 1)).collect();
    let large: Vec<PayloadSpec> = vec![
        spec(200, 0x31),
        spec(90, 0x12),
        spec(255, 0x40),
        spec(40, 3),
    ];
    let edit = |op: u8, at: u16, len: u8, byte: u8| Edit { op, at, len, byte };
    // Ops: 0 overwrite, 1 flip, 2 fill, 3 random run, 4 insert run, 5 insert
    // random, 6 delete.
    let cases: Vec<SalvageCase<'_>> = vec![
        ("bit-flip", &mixed, 40, 1, vec![edit(1, 0, 0, 3)], vec![]),
        (
            "overwrite-length",
            &mixed,
            0,
            200,
            vec![edit(0, 2, 0, 0x7F)],
            vec![read(9)],
        ),
        (
            "zero-hole",
            &mixed,
            30,
            120,
            vec![edit(2, 0, 119, 0)],
            vec![read(33)],
        ),
        (
            "random-run",
            &flatbuffers,
            100,
            64,
            vec![edit(3, 0, 63, 0)],
            vec![read(5), would_block(20)],
        ),
        (
            "insert-between",
            &flatbuffers,
            300,
            0,
            vec![edit(5, 0, 17, 0)],
            vec![read(64)],
        ),
        (
            "insert-fill",
            &mixed,
            77,
            10,
            vec![edit(4, 3, 40, 0xFF)],
            vec![interrupted(7)],
        ),
        (
            "delete",
            &large,
            500,
            300,
            vec![edit(6, 10, 200, 0)],
            vec![read(4096)],
        ),
        (
            "many-edits",
            &flatbuffers,
            50,
            400,
            vec![
                edit(1, 3, 0, 1),
                edit(6, 90, 4, 0),
                edit(5, 200, 9, 0),
                edit(2, 300, 30, 0),
            ],
            vec![read(3), read(300)],
        ),
    ];
    for (mode, checksum) in ["xxhash", "crc32", "crc16"].iter().enumerate() {
        for (i, (case, payloads, region_start, region_len, edits, chunks)) in
            cases.iter().enumerate()
        {
            let input = SalvageInput {
                mode: u8::try_from(mode)?,
                seed: 0x5EED_0000 + i as u64,
                payloads: (*payloads).clone(),
                region_start: *region_start,
                region_len: *region_len,
                edits: edits.clone(),
                chunks: chunks.clone(),
            };
            let bytes = salvage_seed(&input);
            let decoded = SalvageInput::arbitrary_take_rest(Unstructured::new(&bytes))?;
            assert_eq!(
                format!("{decoded:?}"),
                format!("{input:?}"),
                "salvage seed {checksum}-{case}"
            );
            fs::write(dir.join(format!("{checksum}-{case}")), bytes)?;
        }
    }
    Ok(())
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    write_stream_seeds(Path::new("corpus/deframe"))?;
    write_stream_seeds(Path::new("corpus/recover"))?;

    let dir = Path::new("corpus/chunked_read");
    fs::create_dir_all(dir)?;
    write_chunked_read_seeds(dir)?;

    let dir = Path::new("corpus/roundtrip");
    fs::create_dir_all(dir)?;
    write_roundtrip_seeds(dir)?;

    let dir = Path::new("corpus/cursor");
    fs::create_dir_all(dir)?;
    write_cursor_seeds(dir)?;

    let dir = Path::new("corpus/salvage");
    fs::create_dir_all(dir)?;
    write_salvage_seeds(dir)?;
    Ok(())
}
