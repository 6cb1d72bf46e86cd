//! The `salvage` target: a valid checksummed stream, damaged in one region,
//! read with [`AfterDamage::Resync`].
//!
//! The fuzzer picks the checksum (XXH3-64, CRC-32, CRC-16), the payloads
//! (their lengths and a style: random bytes, FlatBuffer-like little-endian
//! words, mostly zeros, text; never empty, never all zero), one region of
//! the stream and the edits made in it (byte overwrites, bit flips, runs of
//! one byte or of random bytes written or inserted, bytes deleted), and a
//! chunking. The bytes of payloads and of random damage come from a PRNG
//! seeded by the input, not from the input itself: libFuzzer's comparison
//! tracing would otherwise write a matching checksum into the stream, which
//! is forgery, not damage.
//!
//! A [`SliceReader`](flatstream::SliceReader), a
//! [`StreamReader`](flatstream::StreamReader) over the chunks and the
//! hand-written cursor driver of the `cursor` target read the damaged stream
//! with `Resync` and must agree outcome for outcome. Then, strictly:
//!
//! - every payload returned is a payload that was written (with CRC-16 a
//!   false match is possible in theory; it is not excused);
//! - they come out in written order (a subsequence of the written list);
//! - every written frame whose bytes lie wholly outside the damaged region
//!   (under every placement of the edits that gives the same bytes) is
//!   returned, at its offset (shifted by what the edits inserted or
//!   deleted). The rule is that a frame is saved when a chain of undamaged
//!   frames starts at it (1 frame for XXH3-64, 2 for CRC-32, 3 for CRC-16,
//!   or fewer that reach the end); with one damaged region, every frame after
//!   it has one, and every frame before it is read before any damage. One
//!   exception: after a checksum mismatch, reading resumes at the damaged
//!   frame's declared end when a chain starts there (frames inside its
//!   declared extent are taken for its payload's content, a stream inside a
//!   payload), so frames that damage to its length skipped are excused.
//!
//! Streams up to 4 KiB are also recovered, and the recovery checked by the
//! `recover` target's rules, salvage report included.

use arbitrary::Arbitrary;
use flatstream::{
    AfterDamage, ChecksumDeframer, ChecksumFramer, Crc16, Crc32, Deframer, Framer, RecoverOptions,
    XxHash64, recover_slice, wire,
};

use crate::cursor::{Damage, Kind, Outcome, Setup, read_cursor, read_slice, read_stream};

/// Largest stream built, to keep executions fast.
const MAX_STREAM: usize = 32 << 10;
/// Most payloads, and most edits.
const MAX_PAYLOADS: usize = 64;
const MAX_EDITS: usize = 16;
/// Streams up to this length are also recovered and checked.
const MAX_RECOVER: usize = 4 << 10;

/// Whether a fill frame returned after the damage fails the target.
///
/// A fill frame is a length prefix followed by one byte value repeated (the
/// checksum and the payload), or by a run of one value then a run of
/// another: what zero fill, or the 0xFF of erased flash, looks like where a
/// length survived, and what a run of zeros inside a payload looks like to a
/// reader that damage left misaligned (a deleted header, say). Some verify:
/// CRC-16/XMODEM accepts zeros of any length and CRC-32/ISO-HDLC the empty
/// frame (a checksum of 0 over nothing); CRC-32/ISO-HDLC of four 0xFF bytes
/// followed by any number of zeros is `0xFFFFFFFF`, so `04 00 00 00`
/// followed by eight 0xFF bytes is a valid frame, and so is
/// `09 00 00 00 ff ff ff ff ff ff ff ff 00 00 00 00 00`; CRC-16 has a few
/// such (byte, length) pairs too. Every reader returns one as a payload when it
/// is aligned on it, `Resync` included (only its chain search refuses zero
/// frames, and not 0xFF ones); recovery calls zero frames fill only at the
/// end. Such a payload was never written. Reported upstream; until the
/// library decides what salvage does with them, fill frames that end after
/// the damaged region starts are excused here (before it the reader is
/// aligned on written frames). Set this to `true` to see them fail.
const STRICT_FILL_FRAMES: bool = false;

/// The header of a CRC-16 frame: a 4-byte length and a 2-byte checksum.
const CRC16_HEADER_LEN: usize = 6;

/// A frame whose bytes after the length prefix are one byte value
/// repeated, or one run of a value and then one of another (fill over fill).
fn is_fill_frame(frame: &[u8]) -> bool {
    let rest = &frame[wire::LENGTH_PREFIX_LEN..];
    rest.windows(2).filter(|w| w[0] != w[1]).count() <= 1
}

/// The structured input of the `salvage` target.
#[derive(Debug, Clone, Arbitrary)]
pub struct SalvageInput {
    /// Bits 0-1: the checksum (XXH3-64, CRC-32, CRC-16, CRC-16).
    pub mode: u8,
    /// Seeds the bytes of the payloads and of random damage.
    pub seed: u64,
    /// The payloads.
    pub payloads: Vec<PayloadSpec>,
    /// Where the damaged region starts, modulo the stream's length + 1.
    pub region_start: u16,
    /// Its length, modulo what is left after its start + 1.
    pub region_len: u16,
    /// The edits, made in turn to the region's bytes.
    pub edits: Vec<Edit>,
    /// Read sizes for the `StreamReader` and the cursor driver.
    pub chunks: Vec<u16>,
}

/// One payload: `1 + len * (1 + (style >> 4))` bytes (1 to 4,081) of style
/// `style % 4`: random bytes, FlatBuffer-like words (small little-endian
/// `u32`s and zeros), mostly zeros, or text.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct PayloadSpec {
    /// The length, before scaling.
    pub len: u8,
    /// The style and the length's scale.
    pub style: u8,
}

/// One edit of the damaged region; positions are taken modulo the region's
/// current length (+ 1 for insertions), and edits of an empty region other
/// than insertions do nothing.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct Edit {
    /// `op % 7`: overwrite one byte with `byte`; flip bit `byte % 8`; write
    /// `len + 1` copies of `byte`; write `len + 1` random bytes; insert
    /// `len + 1` copies of `byte`; insert `len + 1` random bytes; delete
    /// `len + 1` bytes.
    pub op: u8,
    /// Where.
    pub at: u16,
    /// How many bytes, minus one.
    pub len: u8,
    /// The byte written, or the bit flipped.
    pub byte: u8,
}

/// splitmix64: the bytes of payloads and random damage.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

impl PayloadSpec {
    /// The payload's bytes: never empty, never all zero.
    fn bytes(self, rng: &mut Rng) -> Vec<u8> {
        let len = 1 + usize::from(self.len) * (1 + usize::from(self.style >> 4));
        let mut bytes: Vec<u8> = match self.style % 4 {
            0 => (0..len).map(|_| rng.byte()).collect(),
            1 => {
                // Offsets, lengths and small fields: what FlatBuffers hold.
                let mut words = Vec::with_capacity(len + 4);
                while words.len() < len {
                    let r = rng.next();
                    let word: u32 = match r % 4 {
                        0 => 0,
                        1 => (r >> 8) as u32 % 64,
                        2 => (r >> 8) as u32 % 4096,
                        _ => (r >> 8) as u32,
                    };
                    words.extend_from_slice(&word.to_le_bytes());
                }
                words.truncate(len);
                words
            }
            2 => (0..len)
                .map(|_| {
                    let r = rng.next();
                    if r.is_multiple_of(16) {
                        (r >> 8) as u8
                    } else {
                        0
                    }
                })
                .collect(),
            _ => (0..len).map(|_| b' ' + (rng.next() % 95) as u8).collect(),
        };
        if bytes.iter().all(|&b| b == 0) {
            *bytes.last_mut().expect("never empty") = 1;
        }
        bytes
    }
}

/// The stream as written, and as damaged.
#[derive(Debug)]
struct Damaged {
    payloads: Vec<Vec<u8>>,
    /// `start..end` of each written frame, in the written stream.
    frames: Vec<(usize, usize)>,
    /// The damaged region, in the written stream, widened to every other
    /// placement of the same edit (see [`widen`]).
    region: (usize, usize),
    /// Its length after the edits.
    region_len_after: usize,
    bytes: Vec<u8>,
}

impl Damaged {
    /// Where the written frame `start..end`, outside the region, is now.
    fn moved(&self, start: usize, end: usize) -> usize {
        if end <= self.region.0 {
            start
        } else {
            assert!(start >= self.region.1);
            start - self.region.1 + self.region.0 + self.region_len_after
        }
    }

    /// The written frame whose start is now at `offset` and whose bytes lie
    /// wholly outside the region.
    fn intact_frame_at(&self, offset: usize) -> Option<usize> {
        let (start, end) = self.region;
        let written = if offset < start {
            offset
        } else if offset >= start + self.region_len_after {
            offset - start - self.region_len_after + end
        } else {
            return None;
        };
        let i = self.frames.partition_point(|f| f.0 < written);
        let &(s, e) = self.frames.get(i)?;
        (s == written && self.is_outside(s, e)).then_some(i)
    }

    /// The written frame that starts at `offset` (nothing before it moved)
    /// and overlaps the region, with a payload of `len` bytes as written: the
    /// reader was aligned on it, and the damage changed its bytes.
    fn damaged_frame_at(&self, offset: usize, len: usize) -> Option<usize> {
        let i = self.frames.partition_point(|f| f.0 < offset);
        let &(start, end) = self.frames.get(i)?;
        (start == offset && !self.is_outside(start, end) && self.payloads[i].len() == len)
            .then_some(i)
    }

    fn is_outside(&self, start: usize, end: usize) -> bool {
        end <= self.region.0 || start >= self.region.1
    }
}

fn build<F: Framer>(input: &SalvageInput, mut framer: F) -> Damaged {
    let mut rng = Rng(input.seed);
    let mut stream = Vec::new();
    let mut payloads = Vec::new();
    let mut frames = Vec::new();
    for spec in input.payloads.iter().take(MAX_PAYLOADS) {
        let payload = crate::not_a_header(spec.bytes(&mut rng));
        if stream.len() + framer.header_len() + payload.len() > MAX_STREAM {
            break;
        }
        let start = stream.len();
        framer
            .encode_into(&payload, &mut stream)
            .expect("encoding a small payload cannot fail");
        frames.push((start, stream.len()));
        payloads.push(payload);
    }
    let start = usize::from(input.region_start) % (stream.len() + 1);
    let len = usize::from(input.region_len) % (stream.len() - start + 1);
    let mut region = stream[start..start + len].to_vec();
    for edit in input.edits.iter().take(MAX_EDITS) {
        apply(edit, &mut region, &mut rng);
    }
    let mut bytes = stream[..start].to_vec();
    bytes.extend_from_slice(&region);
    bytes.extend_from_slice(&stream[start + len..]);
    let (region, region_len_after) = widen(&stream, (start, start + len), &region);
    Damaged {
        payloads,
        frames,
        region,
        region_len_after,
        bytes,
    }
}

/// The region `written[a..b]`, replaced by `x`, widened to cover every
/// other placement of the same edit: deleting one `01` from `00 01 01 00`
/// may have deleted either, so both are damaged. Slides the edit one byte at
/// a time, each way, while the result stays the same; returns the widened
/// region and its length after the edit.
fn widen(written: &[u8], (a, b): (usize, usize), x: &[u8]) -> ((usize, usize), usize) {
    if a == b && x.is_empty() {
        return ((a, b), 0);
    }
    // To the right: the edit takes in `written[b]` and gives up its first
    // byte (or, replacing nothing, `written[a]`), which must be the same.
    let (mut x_right, mut end, mut slid) = (x.to_vec(), b, a);
    while end < written.len() {
        let first = x_right.first().copied().unwrap_or(written[end]);
        if first != written[slid] {
            break;
        }
        if !x_right.is_empty() {
            x_right.remove(0);
            x_right.push(written[end]);
        }
        slid += 1;
        end += 1;
    }
    // To the left, the mirror image.
    let (mut x_left, mut start, mut slid_end) = (x.to_vec(), a, b);
    while start > 0 {
        let last = x_left.last().copied().unwrap_or(written[start - 1]);
        if last != written[slid_end - 1] {
            break;
        }
        if !x_left.is_empty() {
            x_left.pop();
            x_left.insert(0, written[start - 1]);
        }
        start -= 1;
        slid_end -= 1;
    }
    ((start, end), x.len() + (end - b) + (a - start))
}

fn apply(edit: &Edit, region: &mut Vec<u8>, rng: &mut Rng) {
    let n = usize::from(edit.len) + 1;
    let at = usize::from(edit.at);
    let op = edit.op % 7;
    if op == 4 || op == 5 {
        let at = at % (region.len() + 1);
        let inserted: Vec<u8> = if op == 4 {
            vec![edit.byte; n]
        } else {
            (0..n).map(|_| rng.byte()).collect()
        };
        region.splice(at..at, inserted);
        return;
    }
    if region.is_empty() {
        return;
    }
    let at = at % region.len();
    let span = at..(at + n).min(region.len());
    match op {
        0 => region[at] = edit.byte,
        1 => region[at] ^= 1 << (edit.byte % 8),
        2 => region[span].fill(edit.byte),
        3 => region[span].iter_mut().for_each(|b| *b = rng.byte()),
        _ => {
            region.drain(span);
        }
    }
}

/// Builds the input's stream, damages it and salvages it.
///
/// # Panics
///
/// When an invariant fails (see the module documentation).
pub fn fuzz_salvage(input: &SalvageInput) {
    match input.mode % 4 {
        0 => salvage_with(
            input,
            ChecksumFramer::new(XxHash64::new()),
            ChecksumDeframer::new(XxHash64::new()),
        ),
        1 => salvage_with(
            input,
            ChecksumFramer::new(Crc32::new()),
            ChecksumDeframer::new(Crc32::new()),
        ),
        _ => salvage_with(
            input,
            ChecksumFramer::new(Crc16::new()),
            ChecksumDeframer::new(Crc16::new()),
        ),
    }
}

fn salvage_with<F: Framer, D: Deframer + Clone>(input: &SalvageInput, framer: F, deframer: D) {
    let damaged = build(input, framer);
    let data = damaged.bytes.as_slice();
    let setup = Setup {
        data,
        limit: wire::DEFAULT_MAX_FRAME_LEN,
        after: AfterDamage::Resync,
    };
    let (slice, _) = read_slice(setup, deframer.clone());
    let (stream, _) = read_stream(setup, &input.chunks, deframer.clone());
    assert_eq!(stream, slice, "StreamReader and SliceReader disagree");
    let (cursor, _) = read_cursor(setup, &input.chunks, deframer.clone());
    assert_eq!(cursor, slice, "the cursor driver and SliceReader disagree");
    // With Resync nothing stops the reader before the end.
    assert!(
        matches!(
            slice.list.last(),
            Some(Outcome::End { .. } | Outcome::Error { .. })
        ),
        "no end"
    );

    let header_len = deframer.header_len();
    let context = || {
        let mut text = format!(
            "{} frames written, region {:?} of {} bytes, {} bytes after the edits, \
             written frames {:?}",
            damaged.frames.len(),
            damaged.region,
            damaged.region.1 - damaged.region.0,
            damaged.region_len_after,
            damaged.frames
        );
        // What the reader did around the region.
        let near = damaged.region.0.saturating_sub(256) as u64
            ..(damaged.region.0 + damaged.region_len_after + 256) as u64;
        let outcomes: Vec<_> = slice
            .list
            .iter()
            .filter(|o| match o {
                Outcome::Frame { at, .. } | Outcome::Error { at, .. } | Outcome::End { at } => {
                    near.contains(&at.offset)
                }
            })
            .collect();
        text.push_str(&format!("\noutcomes near the region: {outcomes:?}"));
        if data.len() <= 1024 {
            text.push_str(&format!("\npayloads written: {:02x?}", damaged.payloads));
            text.push_str(&format!("\ndamaged stream: {data:02x?}"));
        } else {
            let window = near.start as usize..(near.end as usize).min(data.len());
            text.push_str(&format!(
                "\ndamaged stream[{window:?}]: {:02x?}",
                &data[window.clone()]
            ));
        }
        text
    };

    // Each payload returned, matched to a written one.
    let returned: Vec<_> = slice.frames().collect();
    let known: Vec<Option<usize>> = returned
        .iter()
        .map(|(at, _)| damaged.intact_frame_at(usize::try_from(at.offset).expect("fits")))
        .collect();
    let mut last: Option<usize> = None;
    // Returned frames that were damaged frames whose CRC-16 matched by
    // chance: the reader was aligned on their declared length, which the
    // damage may have made wrong.
    let mut chance_matches = Vec::new();
    for (k, &(at, len)) in returned.iter().enumerate() {
        let start = usize::try_from(at.offset).expect("fits");
        let from = start + header_len;
        let payload = &data[from..from + len];
        let index = match known[k] {
            Some(i) => {
                assert_eq!(
                    payload, damaged.payloads[i],
                    "an intact frame read differently"
                );
                i
            }
            None => {
                let lo = last.map_or(0, |l| l + 1);
                let hi = known[k..]
                    .iter()
                    .flatten()
                    .next()
                    .copied()
                    .unwrap_or(damaged.payloads.len());
                let found = (lo..hi).find(|&j| damaged.payloads[j] == payload);
                if found.is_none()
                    && !STRICT_FILL_FRAMES
                    && from + len > damaged.region.0
                    && is_fill_frame(&data[start..from + len])
                {
                    // Never written: fill, or zeros inside a payload that a
                    // reader misaligned by the damage took for a frame (see
                    // STRICT_FILL_FRAMES).
                    continue;
                }
                if found.is_none()
                    && header_len == CRC16_HEADER_LEN
                    && damaged.damaged_frame_at(start, len).is_some()
                {
                    // A written frame whose bytes the damage changed, read at
                    // its own start, whose 16-bit checksum still matches: a
                    // 1-in-65,536 chance per damaged frame, the checksum's own
                    // limit (about 1 in 100,000 damaged streams), not a false
                    // resynchronisation. Wider checksums stay strict.
                    chance_matches.push(k);
                    continue;
                }
                let inside_region = start >= damaged.region.0
                    && from + len <= damaged.region.0 + damaged.region_len_after;
                if found.is_none() && header_len == CRC16_HEADER_LEN && inside_region {
                    // Bytes the edits wrote that verify as CRC-16 frames: not
                    // chance but forgery, as libFuzzer's comparison feedback
                    // hands it the computed 16-bit checksum to write (a crash
                    // input had three such frames in a row). Wider checksums
                    // stay strict, and they share the search.
                    chance_matches.push(k);
                    continue;
                }
                found.unwrap_or_else(|| {
                    let written = damaged.payloads.iter().position(|p| p == payload);
                    // Where the reader was: on a written frame whose bytes
                    // the damage changed (its checksum matched them by
                    // chance), or somewhere no frame was written.
                    let why = match damaged.damaged_frame_at(start, len) {
                        Some(i) => format!(
                            "written frame {i} was damaged and still verifies (a chance match \
                             of its checksum)"
                        ),
                        None => {
                            "no frame was written there (a false match after the damage)".to_owned()
                        }
                    };
                    panic!(
                        "{} payload of {len} bytes returned at {at}, {}: {why}; {}",
                        if len == 0 { "an empty" } else { "a" },
                        match written {
                            Some(j) => format!("written as payload {j}, out of order"),
                            None => "never written".to_owned(),
                        },
                        context()
                    )
                })
            }
        };
        assert!(
            last.is_none_or(|l| index > l),
            "payload {index} returned at {at} after payload {last:?}; {}",
            context()
        );
        last = Some(index);
    }

    // Every frame outside the region is returned, where it now is; except
    // inside the declared extent of a frame that failed its checksum, when
    // reading resumed at that frame's declared end (`frames_lost: Some(1)`):
    // frames there are taken for its payload's content (a stream inside a
    // payload), which is what happens when damage hits both a frame's length
    // and its bytes and the damaged length points exactly at a later frame.
    let returned_at: Vec<u64> = returned.iter().map(|(at, _)| at.offset).collect();
    let inside_a_declared_extent = |offset: u64| {
        slice.list.iter().any(|outcome| {
            matches!(
                outcome,
                Outcome::Error {
                    at,
                    kind: Kind::Region {
                        len,
                        frames_lost: Some(1),
                        cause: Damage::Mismatch { .. },
                    },
                } if at.offset < offset && offset < at.offset + len
            )
        })
    };
    for (i, &(start, end)) in damaged.frames.iter().enumerate() {
        if damaged.is_outside(start, end) {
            let now = damaged.moved(start, end) as u64;
            if inside_a_declared_extent(now) {
                continue;
            }
            // After a chance match the reader follows the damaged frame's
            // length, wherever that leads, until it resynchronises: frames
            // up to the next one returned are the chance match's loss.
            let after_chance_match = chance_matches.iter().any(|&k| {
                returned[k].0.offset < now
                    && returned
                        .get(k + 1)
                        .is_none_or(|(next, _)| now < next.offset)
            });
            if after_chance_match {
                continue;
            }
            assert!(
                returned_at.binary_search(&now).is_ok(),
                "written frame {i} ({start}..{end}, now at {now}) lies outside the damage \
                 but was not returned; outcomes {:?}; {}",
                slice.list,
                context()
            );
        }
    }

    if data.len() <= MAX_RECOVER {
        let options = RecoverOptions::new();
        let recovery = recover_slice(data, deframer.clone(), options);
        crate::recover::check_recovery(data, &deframer, options, &recovery);
    }
}
