//! Framing detection: which of the four framings a stream was written with.
//!
//! The file format has no magic number, so the framing is inferred from the
//! first frames. The rule:
//!
//! 1. Each checksummed framing (XXH3-64, then CRC-32, then CRC-16) walks the
//!    first frames, at most [`DETECT_FRAMES`] of them. A frame whose
//!    checksum verifies counts for the framing; one whose checksum does not
//!    match counts against it, and the walk goes on after it (its length is
//!    trusted, so a damaged payload in the first frame does not hide the
//!    frames after it). The walk stops at a frame that is incomplete, whose
//!    length is impossible, or that is all zeros (zero fill proves nothing).
//! 2. A checksummed framing is a candidate when at least one frame verifies
//!    and no more frames mismatch than verify. The candidate with the most
//!    verifying frames wins (ties go to the earlier in the order above). A
//!    chance match is about 2<sup>-16</sup> per frame for CRC-16 and far
//!    less for the others; a frame of the wrong framing is misaligned after
//!    the first, so chance matches do not chain.
//! 3. Otherwise the first length may be damaged: that throws every
//!    checksummed walk off, and the plain reading of the bytes after it may
//!    go on by chance (a FlatBuffer is full of small numbers that read as
//!    lengths). So each checksummed framing searches the bytes read for a
//!    chain of good frames after damage at the start, as salvage does; the
//!    first to find one wins. The search covers the first
//!    [`PROBE_START`] bytes, or the first MiB where the plain reading of
//!    the first frames (at most [`DETECT_FRAMES`]) reaches a length that
//!    runs past the end of the file. If none finds one, the stream is
//!    plain.
//! 4. An empty file is plain: there is nothing to read either way.
//!
//! A stream with a single frame whose checksum does not match cannot be
//! told from a plain stream: force the framing with `--framing` then.
//!
//! Detection reads at most [`PROBE_MAX`] bytes to see whole first frames,
//! and at most [`SPECULATIVE_MAX`] for a framing that has not verified a
//! frame yet (after a mismatch its next length is a guess).

use std::io::{self, Read, Seek, SeekFrom};

use flatstream::{AfterDamage, Decoded, ErrorKind, SliceReader, decode, wire};

use crate::framing::{Framing, with_deframer};

/// How many frames from the start each checksummed framing checks.
pub const DETECT_FRAMES: usize = 3;

/// Bytes read first to detect the framing.
pub const PROBE_START: usize = 64 << 10;

/// The most bytes detection reads to see [`DETECT_FRAMES`] whole frames.
pub const PROBE_MAX: usize = 16 << 20;

/// Bytes searched for good frames when the first frame's length is damaged.
pub const RESYNC_WINDOW: usize = 1 << 20;

/// The most bytes read for a framing none of whose first frames verified
/// yet: after a checksum mismatch its next length is likely a misaligned
/// guess, not worth reading megabytes for.
pub const SPECULATIVE_MAX: u64 = 256 << 10;

/// The largest frame length detection accepts: the format's largest.
const MAX_FRAME_LEN: usize = wire::MAX_WIRE_FRAME_LEN;

/// Why a framing was chosen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Given on the command line (`--framing`).
    Forced,
    /// The file is empty: plain, since there is nothing to read.
    Empty,
    /// `verified` of the first frames verify under this framing's checksum
    /// (and `mismatched` do not).
    Verified {
        /// First frames whose checksum verifies.
        frames: u64,
        /// First frames whose checksum does not match.
        mismatched: u64,
    },
    /// No checksum verifies the first frames, but good frames of this
    /// framing start at `offset`: the start is damaged (most likely the
    /// first frame's length).
    Resynced {
        /// Where the first good frame starts.
        offset: u64,
    },
    /// No checksummed framing verifies the first frames: plain.
    NoChecksum,
}

/// A framing and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Detection {
    /// The framing.
    pub framing: Framing,
    /// Why.
    pub evidence: Evidence,
}

impl Detection {
    /// A framing given on the command line.
    #[must_use]
    pub fn forced(framing: Framing) -> Self {
        Detection {
            framing,
            evidence: Evidence::Forced,
        }
    }

    /// Whether the framing was given on the command line.
    #[must_use]
    pub fn is_forced(&self) -> bool {
        self.evidence == Evidence::Forced
    }

    /// Why, in words: `"forced"`, `"detected: the first 3 frames verify"`...
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.evidence {
            Evidence::Forced => "forced with --framing".to_owned(),
            Evidence::Empty => "empty file".to_owned(),
            Evidence::Verified {
                frames: 1,
                mismatched: 0,
            } => "detected: the first frame verifies".to_owned(),
            Evidence::Verified {
                frames,
                mismatched: 0,
            } => format!("detected: the first {frames} frames verify"),
            Evidence::Verified { frames, mismatched } => format!(
                "detected: {frames} of the first frames verif{}, {mismatched} do{} not",
                if *frames == 1 { "ies" } else { "y" },
                if *mismatched == 1 { "es" } else { "" }
            ),
            Evidence::Resynced { offset } => {
                format!("detected: good frames from byte offset {offset}")
            }
            Evidence::NoChecksum => "detected: no checksum verifies".to_owned(),
        }
    }
}

/// What one framing makes of the first frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Score {
    verified: u64,
    mismatched: u64,
    /// How many bytes from the start the walk needs to see its frames whole
    /// (the end of the last frame walked, or of the incomplete one).
    wanted: u64,
    /// Whether the walk ended exactly at the end of the data, at a frame
    /// boundary.
    at_end: bool,
}

impl Score {
    /// Whether the walk is consistent beyond its verified frames: it walked
    /// [`DETECT_FRAMES`] frames, or ended exactly at the end of the file.
    /// A verified frame followed by one that runs past the end, is not a
    /// frame, or is zeros is weak evidence: a chance match of the first
    /// frame's bytes looks like that.
    fn is_strong(&self, data_len: usize, file_len: u64) -> bool {
        self.verified + self.mismatched >= DETECT_FRAMES as u64
            || (self.at_end && data_len as u64 == file_len)
    }
}

/// What the plain reading makes of the first frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PlainWalk {
    /// Frames read (at most [`DETECT_FRAMES`]), zero frames not counted.
    frames: u64,
    /// Whether they end exactly at the end of the file.
    to_end: bool,
    /// Bytes from the start the walk needs.
    wanted: u64,
}

/// Walks the first frames of `data` (the first bytes of a file of
/// `file_len` bytes) as plain frames.
fn plain_walk(data: &[u8], file_len: u64) -> PlainWalk {
    let mut walk = PlainWalk::default();
    let mut offset = 0usize;
    for _ in 0..DETECT_FRAMES {
        let Some(rest) = data.get(offset..) else {
            break;
        };
        if rest.is_empty() {
            walk.to_end = offset as u64 == file_len;
            break;
        }
        match decode(&mut flatstream::DefaultDeframer, rest, MAX_FRAME_LEN) {
            Ok(Decoded::Frame { frame_len, .. }) => {
                let frame = rest.get(..frame_len).unwrap_or_default();
                if is_zero_frame(frame) {
                    break;
                }
                walk.frames += 1;
                offset += frame_len;
                walk.wanted = offset as u64;
                if offset == data.len() {
                    walk.to_end = offset as u64 == file_len;
                }
            }
            // Incomplete, or a length over the format's largest: where its
            // declared end is.
            Ok(Decoded::Incomplete { .. }) | Err(_) => {
                walk.wanted = rest
                    .first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
                    .map_or(offset as u64 + 4, |prefix| {
                        offset as u64 + 4 + u64::from(u32::from_le_bytes(*prefix))
                    });
                break;
            }
        }
    }
    walk
}

/// Walks the first frames of `data` under `framing`.
fn score(framing: Framing, data: &[u8]) -> Score {
    with_deframer!(framing, |deframer| {
        let mut deframer = deframer;
        let header_len = framing.header_len();
        let mut score = Score::default();
        let mut offset = 0usize;
        for _ in 0..DETECT_FRAMES {
            let Some(rest) = data.get(offset..) else {
                break;
            };
            if rest.is_empty() {
                score.at_end = true;
                break;
            }
            let declared = rest
                .first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
                .map(|prefix| u64::from(u32::from_le_bytes(*prefix)));
            let frame_end = declared.map(|len| offset as u64 + header_len as u64 + len);
            match decode(&mut deframer, rest, MAX_FRAME_LEN) {
                Ok(Decoded::Frame { frame_len, .. }) => {
                    let frame = rest.get(..frame_len).unwrap_or_default();
                    if is_zero_frame(frame) {
                        break;
                    }
                    score.verified += 1;
                    offset += frame_len;
                    score.wanted = offset as u64;
                }
                Ok(Decoded::Incomplete { .. }) => {
                    let wanted = frame_end.unwrap_or(offset as u64 + header_len as u64);
                    score.wanted = if score.verified == 0 && score.mismatched > 0 {
                        wanted.min(SPECULATIVE_MAX)
                    } else {
                        wanted
                    };
                    break;
                }
                Err(ErrorKind::ChecksumMismatch { .. }) => {
                    let Some(end) = frame_end.and_then(|end| usize::try_from(end).ok()) else {
                        break;
                    };
                    score.mismatched += 1;
                    offset = end;
                    score.wanted = end as u64;
                }
                Err(_) => break,
            }
        }
        score
    })
}

/// Whether every byte of `frame` after its length prefix is zero.
fn is_zero_frame(frame: &[u8]) -> bool {
    frame
        .get(wire::LENGTH_PREFIX_LEN..)
        .is_none_or(|rest| rest.iter().all(|&b| b == 0))
}

/// How many bytes from the start detection wants to see, given the first
/// bytes `prefix` of a file of `file_len` bytes: enough for the first
/// frames of every framing, at most [`PROBE_MAX`] and the file.
#[must_use]
pub fn bytes_wanted(prefix: &[u8], file_len: u64) -> u64 {
    let scores = Framing::CHECKSUMMED.map(|framing| score(framing, prefix));
    // A framing whose first frames all verify cannot be beaten (the most
    // verifying frames win, and it has them all): the other framings'
    // readings, garbage lengths included, need no more bytes.
    if scores
        .iter()
        .any(|score| score.verified >= DETECT_FRAMES as u64 && score.mismatched == 0)
    {
        return (prefix.len() as u64).min(file_len);
    }
    let wanted = scores.iter().map(|score| score.wanted).max().unwrap_or(0);
    // The plain reading rebuts a checksummed framing's weak evidence: see
    // enough of it too, when a checksum verified something but not enough.
    // (Strong evidence needs no plain reading, whose garbage lengths could
    // otherwise make detection read megabytes of a checksummed stream.)
    let weak = scores
        .iter()
        .any(|score| score.verified > 0 && !score.is_strong(prefix.len(), file_len));
    let plain = if weak {
        plain_walk(prefix, file_len).wanted
    } else {
        0
    };
    wanted.max(plain).min(PROBE_MAX as u64).min(file_len)
}

/// Whether the plain reading of the first frames (at most
/// [`DETECT_FRAMES`]) reaches a length that runs past the end of a file of
/// `file_len` bytes: then one of those lengths may be damaged, in a stream
/// of a checksummed framing whose first frame no checksum verifies.
fn plain_runs_past_the_end(prefix: &[u8], file_len: u64) -> bool {
    let walk = plain_walk(prefix, file_len);
    walk.frames < DETECT_FRAMES as u64 && walk.wanted > file_len
}

/// Detects the framing of a stream from its first bytes `prefix` (all of
/// the file, or at least what [`bytes_wanted`] asks for) and the length of
/// the whole file. See the module documentation for the rule.
#[must_use]
pub fn detect(prefix: &[u8], file_len: u64) -> Detection {
    if file_len == 0 {
        return Detection {
            framing: Framing::Plain,
            evidence: Evidence::Empty,
        };
    }
    let mut best: Option<(Framing, Score)> = None;
    for framing in Framing::CHECKSUMMED {
        let score = score(framing, prefix);
        let mut candidate = score.verified >= 1 && score.verified >= score.mismatched;
        if candidate && !score.is_strong(prefix.len(), file_len) {
            // Weak evidence loses to a plain reading that goes further.
            let plain = plain_walk(prefix, file_len);
            if plain.to_end || plain.frames > score.verified {
                candidate = false;
            }
        }
        if candidate && best.is_none_or(|(_, b)| score.verified > b.verified) {
            best = Some((framing, score));
        }
    }
    if let Some((framing, score)) = best {
        return Detection {
            framing,
            evidence: Evidence::Verified {
                frames: score.verified,
                mismatched: score.mismatched,
            },
        };
    }
    // No checksum verifies the first frames: a damaged first length throws
    // every checksummed walk off, and the plain reading of the bytes after
    // it may go on by chance (a FlatBuffer is full of small numbers that
    // read as lengths). Good frames after damage at the start decide it,
    // searched for in the first PROBE_START bytes (a few milliseconds on a
    // plain stream), or in all read when the plain reading itself breaks.
    let window = if plain_runs_past_the_end(prefix, file_len) {
        prefix
    } else {
        prefix.get(..PROBE_START).unwrap_or(prefix)
    };
    for framing in Framing::CHECKSUMMED {
        if let Some(offset) = resync(framing, window) {
            return Detection {
                framing,
                evidence: Evidence::Resynced { offset },
            };
        }
    }
    Detection {
        framing: Framing::Plain,
        evidence: Evidence::NoChecksum,
    }
}

/// Where salvage under `framing` finds the first good frame after damage at
/// the start of `data`, if it does.
fn resync(framing: Framing, data: &[u8]) -> Option<u64> {
    with_deframer!(framing, |deframer| {
        let frames = SliceReader::new(data, deframer)
            .with_after_damage(AfterDamage::Resync)
            .with_max_frame_len(MAX_FRAME_LEN)
            .positioned();
        let mut damaged = false;
        for frame in frames.take(4) {
            match frame {
                Err(error) if matches!(error.kind(), ErrorKind::CorruptRegion { .. }) => {
                    damaged = true;
                }
                Ok((position, payload)) if damaged && payload.iter().any(|&b| b != 0) => {
                    return Some(position.offset);
                }
                _ => return None,
            }
        }
        None
    })
}

/// Detects the framing of the stream `file` of `file_len` bytes, reading
/// its first bytes (at most [`PROBE_MAX`], or [`RESYNC_WINDOW`] when the
/// first frame is damaged), and seeks it back to the start.
///
/// # Errors
///
/// I/O errors of `file`.
pub fn detect_file<F: Read + Seek>(file: &mut F, file_len: u64) -> io::Result<Detection> {
    file.seek(SeekFrom::Start(0))?;
    let mut prefix = Vec::new();
    read_up_to(file, &mut prefix, (PROBE_START as u64).min(file_len))?;
    loop {
        let wanted = bytes_wanted(&prefix, file_len);
        if wanted <= prefix.len() as u64 || !read_up_to(file, &mut prefix, wanted)? {
            break;
        }
    }
    let mut detection = detect(&prefix, file_len);
    if detection.evidence == Evidence::NoChecksum
        && plain_runs_past_the_end(&prefix, file_len)
        && (prefix.len() as u64) < file_len.min(RESYNC_WINDOW as u64)
    {
        read_up_to(file, &mut prefix, file_len.min(RESYNC_WINDOW as u64))?;
        detection = detect(&prefix, file_len);
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(detection)
}

/// Reads from `file` until `buf` holds `len` bytes or the file ends;
/// returns whether anything was read.
fn read_up_to<F: Read>(file: &mut F, buf: &mut Vec<u8>, len: u64) -> io::Result<bool> {
    let before = buf.len();
    let more = len.saturating_sub(before as u64);
    file.take(more).read_to_end(buf)?;
    Ok(buf.len() > before)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use flatstream::StreamWriter;

    use super::*;
    use crate::framing::with_framer;

    /// A FlatBuffer-like payload: a root offset and some distinct bytes.
    fn payload(i: u8, len: usize) -> Vec<u8> {
        let mut p = vec![12, 0, 0, 0];
        p.extend((0..len).map(|k| i.wrapping_mul(31).wrapping_add(k.to_le_bytes()[0]) | 1));
        p
    }

    fn stream(framing: Framing, frames: u8) -> Vec<u8> {
        with_framer!(framing, |framer| {
            let mut writer = StreamWriter::new(Vec::new(), framer);
            for i in 0..frames {
                writer
                    .write_payload(&payload(i, 40 + usize::from(i)))
                    .unwrap();
            }
            writer.into_inner()
        })
    }

    fn detected(data: &[u8]) -> Detection {
        detect(data, data.len() as u64)
    }

    #[test]
    fn each_framing_is_detected() {
        for framing in Framing::ALL {
            for frames in [1, 2, 3, 10] {
                let data = stream(framing, frames);
                let detection = detected(&data);
                assert_eq!(detection.framing, framing, "{framing}, {frames} frames");
                if framing != Framing::Plain {
                    let expected = u64::from(frames).min(DETECT_FRAMES as u64);
                    assert_eq!(
                        detection.evidence,
                        Evidence::Verified {
                            frames: expected,
                            mismatched: 0
                        }
                    );
                }
            }
        }
    }

    /// A plain stream of `frames` frames whose first frame's first two
    /// payload bytes are the CRC-16 of what the CRC-16 reading takes as its
    /// payload: the first frame "verifies" as CRC-16 by chance.
    pub(crate) fn plain_passing_as_crc16(frames: u8) -> Vec<u8> {
        use flatstream::Framer as _;
        let payloads: Vec<Vec<u8>> = (0..frames).map(|i| payload(i, 40)).collect();
        let mut first = payloads[0].clone();
        // As CRC-16: the payload is the plain payload after 2 bytes, then the
        // next frame's first 2 length bytes.
        let next_len = u32::try_from(payloads[1].len()).unwrap().to_le_bytes();
        let mut as_crc16 = first[2..].to_vec();
        as_crc16.extend_from_slice(&next_len[..2]);
        let mut header = [0u8; 6];
        with_framer!(Framing::Crc16, |framer| {
            let mut framer = framer;
            framer.encode_header(&as_crc16, &mut header).unwrap();
        });
        first[..2].copy_from_slice(&header[4..6]);
        let mut data = Vec::new();
        for p in core::iter::once(&first).chain(&payloads[1..]) {
            data.extend_from_slice(&u32::try_from(p.len()).unwrap().to_le_bytes());
            data.extend_from_slice(p);
        }
        data
    }

    #[test]
    fn a_chance_crc16_match_does_not_beat_a_plain_stream() {
        let data = plain_passing_as_crc16(200);
        // The first frame does verify as CRC-16...
        assert_eq!(score(Framing::Crc16, &data).verified, 1);
        // ...but the plain reading goes to the end: plain.
        let detection = detected(&data);
        assert_eq!(detection.framing, Framing::Plain, "{detection:?}");
        // Two frames only: plain reads both to the end of the file.
        assert_eq!(detected(&plain_passing_as_crc16(2)).framing, Framing::Plain);
        // A real CRC-16 stream of one frame, then a torn one, stays CRC-16.
        let mut torn = stream(Framing::Crc16, 2);
        torn.truncate(torn.len() - 5);
        assert_eq!(detected(&torn).framing, Framing::Crc16);
        // A file read partially still sees enough of the plain reading.
        let mut file = Cursor::new(data.clone());
        let detection = detect_file(&mut file, data.len() as u64).unwrap();
        assert_eq!(detection.framing, Framing::Plain);
    }

    #[test]
    fn empty_file_is_plain() {
        let detection = detected(&[]);
        assert_eq!(detection.framing, Framing::Plain);
        assert_eq!(detection.evidence, Evidence::Empty);
        assert_eq!(detection.describe(), "empty file");
    }

    #[test]
    fn tiny_files_are_plain() {
        for data in [&[1][..], &[1, 0], &[0, 0, 0, 0], &[1, 0, 0, 0, 7]] {
            assert_eq!(detected(data).framing, Framing::Plain, "{data:?}");
        }
    }

    #[test]
    fn zero_fill_is_no_evidence() {
        // CRC-16 and CRC-32 accept frames of zeros; they prove nothing.
        let zeros = vec![0u8; 4096];
        let detection = detected(&zeros);
        assert_eq!(detection.framing, Framing::Plain);
        assert_eq!(detection.evidence, Evidence::NoChecksum);
    }

    #[test]
    fn damaged_first_payload_is_outvoted() {
        for framing in Framing::CHECKSUMMED {
            let mut data = stream(framing, 5);
            // A bit of the first payload flipped: its checksum mismatches.
            data[framing.header_len() + 6] ^= 0x10;
            let detection = detected(&data);
            assert_eq!(detection.framing, framing);
            assert_eq!(
                detection.evidence,
                Evidence::Verified {
                    frames: 2,
                    mismatched: 1
                }
            );
        }
    }

    #[test]
    fn damaged_first_length_is_found_by_resync() {
        for framing in Framing::CHECKSUMMED {
            let mut data = stream(framing, 8);
            data[3] = 0x40; // the first frame declares 1 GiB
            let detection = detected(&data);
            assert_eq!(detection.framing, framing, "{detection:?}");
            let second = framing.header_len() as u64 + payload(0, 40).len() as u64;
            assert_eq!(detection.evidence, Evidence::Resynced { offset: second });
        }
    }

    #[test]
    fn one_damaged_frame_alone_reads_as_plain() {
        // Nothing verifies and the plain reading is possible: no evidence.
        let mut data = stream(Framing::Crc32, 1);
        data[12] ^= 1;
        assert_eq!(detected(&data).framing, Framing::Plain);
    }

    #[test]
    fn text_is_plain() {
        let text = b"hello, this is not a FlatStream stream at all\n".repeat(10);
        let detection = detected(&text);
        assert_eq!(detection.framing, Framing::Plain);
        assert_eq!(detection.evidence, Evidence::NoChecksum);
    }

    /// A file that counts the bytes read from it.
    struct Counting {
        inner: Cursor<Vec<u8>>,
        read: u64,
    }

    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Counting {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn detecting_a_long_checksummed_stream_reads_only_its_start() {
        for framing in Framing::CHECKSUMMED {
            let data = with_framer!(framing, |framer| {
                let mut writer = StreamWriter::new(Vec::new(), framer);
                for i in 0..20_000u32 {
                    writer
                        .write_payload(&payload(i.to_le_bytes()[0], 200))
                        .unwrap();
                }
                writer.into_inner()
            });
            let len = data.len() as u64;
            let mut file = Counting {
                inner: Cursor::new(data),
                read: 0,
            };
            let detection = detect_file(&mut file, len).unwrap();
            assert_eq!(detection.framing, framing);
            assert!(
                file.read <= PROBE_START as u64,
                "{framing}: read {} of {len} bytes to detect",
                file.read
            );
        }
    }

    #[test]
    fn detect_file_reads_large_first_frames_and_rewinds() {
        // First frames larger than the first probe.
        let data = with_framer!(Framing::Crc32, |framer| {
            let mut writer = StreamWriter::new(Vec::new(), framer);
            for i in 0..3 {
                writer.write_payload(&payload(i, 100_000)).unwrap();
            }
            writer.into_inner()
        });
        let mut file = Cursor::new(data.clone());
        let detection = detect_file(&mut file, data.len() as u64).unwrap();
        assert_eq!(
            detection.evidence,
            Evidence::Verified {
                frames: 3,
                mismatched: 0
            }
        );
        assert_eq!(file.position(), 0);
        // The XXH3 reading of the first frame (12-byte header) wants the most.
        assert_eq!(bytes_wanted(&data[..100], data.len() as u64), 12 + 100_004);
    }

    #[test]
    fn descriptions() {
        let verified = |frames, mismatched| Detection {
            framing: Framing::Xxh3,
            evidence: Evidence::Verified { frames, mismatched },
        };
        assert_eq!(
            verified(1, 0).describe(),
            "detected: the first frame verifies"
        );
        assert_eq!(
            verified(3, 0).describe(),
            "detected: the first 3 frames verify"
        );
        assert_eq!(
            verified(2, 1).describe(),
            "detected: 2 of the first frames verify, 1 does not"
        );
        assert_eq!(
            Detection::forced(Framing::Crc16).describe(),
            "forced with --framing"
        );
    }
}
