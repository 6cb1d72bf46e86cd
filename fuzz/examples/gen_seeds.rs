//! Writes the seed corpus of the `deframe` target to `corpus/deframe/`.
//!
//! Run from `fuzz/` with `cargo run --example gen_seeds`. Each seed is a small
//! binary stream: valid streams for every framer, and the three ways a stream
//! goes wrong (torn tail, checksum mismatch, length over the limit). Golden
//! frame files (`../crates/flatstream/tests/data/*.hex`), when present, are
//! converted too: hex digits are kept, `#` comments and whitespace dropped.
//!
//! It also writes the seeds of the `roundtrip` target to `corpus/roundtrip/`:
//! structured inputs, encoded the way `arbitrary` 1.x decodes them (a
//! collection is a sequence of "one more" bytes with the low bit set, each
//! followed by an element, then a byte with it clear; integers are
//! little-endian; the last field takes the rest of the input). Each is decoded
//! again and checked, so a change in that encoding fails loudly here.

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use flatstream::{
    ChecksumFramer, Crc16, Crc32, DefaultFramer, Framer, Result, StreamWriter, XxHash64,
};
use flatstream_fuzz::RoundtripInput;

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
    let mut writer = StreamWriter::new(Vec::new(), framer);
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

/// Encodes a `RoundtripInput` of payloads and chunk values.
fn roundtrip_seed(payloads: &[Payload], chunks: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    for (bytes, repeat) in payloads {
        out.push(1);
        for b in bytes {
            out.extend_from_slice(&[1, *b]);
        }
        out.extend_from_slice(&[0, *repeat]);
    }
    out.push(0);
    for c in chunks {
        out.push(1);
        out.extend_from_slice(&c.to_le_bytes());
    }
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

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new("corpus/deframe");
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

    let dir = Path::new("corpus/roundtrip");
    fs::create_dir_all(dir)?;
    write_roundtrip_seeds(dir)?;
    Ok(())
}
