//! What every subcommand shares about reading a stream: the reader's
//! settings, zero frames, the header, and how a stream ends.

use std::io::{Read, Seek, SeekFrom};

use flatstream::{
    AfterDamage, Deframer, ErrorKind, Framer, Position, RecoverOptions, Recovery, StreamHeader,
    StreamReader, Tail, wire,
};

use crate::error::{Error, Result, at, describe_kind};
use crate::framing::{Framing, with_deframer, with_framer};
use crate::input::Input;

/// The largest frame the command line reads: the largest the format
/// carries, as recovery does, so that every frame a writer was allowed to
/// write is readable.
pub const MAX_FRAME_LEN: usize = wire::MAX_WIRE_FRAME_LEN;

/// The frame limit for a file of `file_len` bytes: a payload longer than
/// the file cannot be complete, so a length over it is judged at once as
/// damage (the reader never buffers up to the end of the file for it, and
/// salvage resyncs past it), and at most the format's largest.
#[must_use]
pub fn frame_limit(file_len: u64) -> usize {
    usize::try_from(file_len).map_or(MAX_FRAME_LEN, |len| len.min(MAX_FRAME_LEN))
}

/// A reader over the first `file_len` bytes of `source`, with the command
/// line's frame limit ([`frame_limit`]) and `after` as its policy after
/// damage.
pub(crate) fn reader<R: Read, D: Deframer>(
    source: R,
    deframer: D,
    after: AfterDamage,
    file_len: u64,
) -> StreamReader<std::io::Take<R>, D> {
    // The file as it was when its length was taken: a file that a writer
    // grows meanwhile would otherwise show frames longer than the limit
    // derived from that length, and be called damaged.
    StreamReader::new(source.take(file_len), deframer)
        .with_max_frame_len(frame_limit(file_len))
        .with_after_damage(after)
}

/// The first frame's declared payload length, when `framing` is plain and
/// that length runs past the end of the file: then no frame reads from the
/// start, and without checksums nothing after it can be told from garbage.
/// The file is judged at once, without reading (and buffering) it all in
/// search of frames.
///
/// # Errors
///
/// I/O errors.
pub(crate) fn plain_start_impossible(input: &mut Input, framing: Framing) -> Result<Option<u64>> {
    if framing != Framing::Plain {
        return Ok(None);
    }
    let path = input.path.clone();
    let io = |error: std::io::Error| Error::io(&path, "cannot read", &error);
    input.file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut prefix = [0u8; wire::LENGTH_PREFIX_LEN];
    let read = input.file.read_exact(&mut prefix);
    input.file.seek(SeekFrom::Start(0)).map_err(io)?;
    if read.is_err() {
        return Ok(None);
    }
    let declared = u64::from(u32::from_le_bytes(prefix));
    Ok((wire::LENGTH_PREFIX_LEN as u64 + declared > input.len).then_some(declared))
}

/// The most bytes of a tail that [`recover_scan`] reads to judge a frame
/// longer than the file: beyond it, such a frame is taken as torn.
pub(crate) const TAIL_JUDGED_MAX: u64 = 16 << 20;

/// The library's recovery scan of the stream file `input`, with the frame
/// limit [`frame_limit`], and how the stream ends.
///
/// A length longer than the file is then damage at once (the scan never
/// buffers the rest of the file for it), and recovery looks for good frames
/// after it. When there are none, the frame runs past the end: the tail
/// from it (up to [`TAIL_JUDGED_MAX`] bytes) is judged by the library's
/// recovery alone, a torn frame, or a whole frame whose length is damaged.
///
/// # Errors
///
/// I/O errors of the file.
pub(crate) fn recover_scan<D: Deframer>(
    input: &mut Input,
    mut deframer: D,
) -> Result<(Recovery, End)> {
    let path = input.path.clone();
    let io = |error: std::io::Error| Error::io(&path, "cannot read", &error);
    input.file.seek(SeekFrom::Start(0)).map_err(io)?;
    let options = RecoverOptions::new().with_max_frame_len(frame_limit(input.len));
    let source = (&mut input.file).take(input.len);
    let recovery = flatstream::recover_with(source, &mut deframer, options)
        .map_err(|e| Error::stream(&path, &e))?;
    let mut end = End::from_recovery(&recovery);
    if let Tail::Corrupt(error) = &recovery.tail
        && recovery.good_after.is_none()
        && let ErrorKind::FrameTooLarge { declared, .. } = error.kind()
        && let Some(at) = error.position()
        && at.offset + deframer.header_len() as u64 + declared > input.len
    {
        end = judge_tail(input, &mut deframer, at)?;
    }
    Ok((recovery, end))
}

/// Whether a frame of `framing` with this payload is a zero frame: every
/// byte after its length prefix (checksum and payload) is zero. Such a
/// frame is never a FlatBuffer; it is what zero fill looks like, and
/// writers refuse to write one unless told to.
#[inline]
#[must_use]
pub fn is_zero_frame(framing: Framing, payload: &[u8]) -> bool {
    // A FlatBuffer's first bytes (its root offset) are not all zero: this
    // is decided at the first byte for every real payload.
    if !payload.iter().all(|&b| b == 0) {
        return false;
    }
    zero_checksum(framing, payload)
}

/// Whether the checksum bytes `framing` writes for `payload` are all zero.
#[cold]
fn zero_checksum(framing: Framing, payload: &[u8]) -> bool {
    let mut header = [0u8; wire::MAX_HEADER_LEN];
    let Some(header) = header.get_mut(..framing.header_len()) else {
        return false;
    };
    let encoded = with_framer!(framing, |framer| {
        let mut framer = framer;
        framer.encode_header(payload, header)
    });
    encoded.is_ok()
        && header
            .get(wire::LENGTH_PREFIX_LEN..)
            .is_some_and(|checksum| checksum.iter().all(|&b| b == 0))
}

/// A run of zero frames, held back until a real frame follows it (then they
/// are frames: recovery keeps them) or the stream ends (then they are zero
/// fill). Kept run-length encoded by length: zero fill can be millions of
/// empty frames.
#[derive(Debug, Default)]
pub(crate) struct ZeroRun {
    start: Option<Position>,
    lens: Vec<(usize, u64)>,
    frames: u64,
}

impl ZeroRun {
    /// Adds a zero frame at `at` whose payload has `len` bytes.
    pub(crate) fn push(&mut self, at: Position, len: usize) {
        self.start.get_or_insert(at);
        self.frames += 1;
        match self.lens.last_mut() {
            Some((last, n)) if *last == len => *n += 1,
            _ => self.lens.push((len, 1)),
        }
    }

    /// Where the run starts, if there is one.
    pub(crate) fn start(&self) -> Option<Position> {
        self.start
    }

    /// Zero frames in the run.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// The damage a run followed by more data is: zero frames inside a
    /// stream are not messages (an empty payload is never a FlatBuffer; a
    /// zeroed region of a CRC-32 stream reads as empty frames).
    pub(crate) fn describe_inside(&self, next: u64) -> String {
        let start = self.start.map_or(next, |s| s.offset);
        let frames = self.frames;
        format!(
            "{frames} zero frame{} ({} bytes of zeros) inside the stream: damage, not messages",
            if frames == 1 { "" } else { "s" },
            next.saturating_sub(start)
        )
    }

    /// Empties the run, returning the payload lengths in order, each with
    /// how many frames in a row have it.
    pub(crate) fn take(&mut self) -> Vec<(usize, u64)> {
        self.start = None;
        self.frames = 0;
        core::mem::take(&mut self.lens)
    }
}

/// The header of the stream in `input`, if its first frame is one and
/// reads intact; the file is left at its start. Damage at the first frame
/// is not reported here: the pass that reads the stream reports it.
///
/// # Errors
///
/// I/O errors.
pub(crate) fn read_header(input: &mut Input, framing: Framing) -> Result<Option<StreamHeader>> {
    let path = input.path.clone();
    let rewind = |file: &mut std::fs::File| {
        file.seek(SeekFrom::Start(0))
            .map(drop)
            .map_err(|error| Error::io(&path, "cannot read", &error))
    };
    rewind(&mut input.file)?;
    let header = with_deframer!(framing, |deframer| {
        let mut reader = reader(&mut input.file, deframer, AfterDamage::Stop, input.len);
        match reader.header() {
            Ok(header) => header.cloned(),
            Err(error) => {
                if let flatstream::ErrorKind::Io(io) = error.kind() {
                    return Err(Error::io(&path, "cannot read", io));
                }
                None
            }
        }
    });
    rewind(&mut input.file)?;
    Ok(header)
}

/// What salvage would read after damage, in a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SalvageSummary {
    /// Frames that verify after the damage.
    pub frames: u64,
    /// Bytes of those frames, headers included.
    pub bytes: u64,
    /// Damaged regions salvage would skip, the first one included.
    pub regions: u64,
    /// Whether the stream ends in a torn frame after them.
    pub torn_tail: bool,
}

/// How the stream ends at `at`, where a frame runs past the end of the
/// file with no good frame after it: the library's recovery of the tail
/// alone says whether it is torn, a whole frame whose length is damaged, or
/// undecided (the search for good frames in it stopped at its work limit).
/// A tail over [`TAIL_JUDGED_MAX`] bytes is taken as torn.
fn judge_tail<D: Deframer>(input: &mut Input, deframer: &mut D, at: Position) -> Result<End> {
    let len = input.len - at.offset;
    let torn = End::Torn {
        offset: at.offset,
        len,
    };
    if len > TAIL_JUDGED_MAX {
        return Ok(torn);
    }
    let io = |error: std::io::Error| Error::io(&input.path, "cannot read", &error);
    let mut tail = Vec::new();
    input.file.seek(SeekFrom::Start(at.offset)).map_err(io)?;
    (&input.file).take(len).read_to_end(&mut tail).map_err(io)?;
    let options = RecoverOptions::new().with_max_frame_len(MAX_FRAME_LEN);
    Ok(
        match End::from_recovery(&flatstream::recover_slice(&tail, deframer, options)) {
            End::Corrupt {
                error,
                damaged_length,
                undecided,
                ..
            } if damaged_length || undecided => End::Corrupt {
                offset: Some(at.offset),
                frame: Some(at.frame),
                error,
                good_after: None,
                salvage: None,
                damaged_length,
                undecided,
            },
            _ => torn,
        },
    )
}

/// How a stream ends after its intact frames: [`Tail`] as a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum End {
    /// At a frame boundary.
    Clean,
    /// Inside a frame that runs past the end: a write cut short.
    Torn {
        /// Where the incomplete frame starts.
        offset: u64,
        /// Its bytes present.
        len: u64,
    },
    /// Zeros a file system left after a crash.
    ZeroFilled {
        /// Where the fill starts.
        offset: u64,
        /// Bytes from there to the end.
        len: u64,
    },
    /// Empty frames to the end that may be real or zero fill.
    EmptyOrZeroFilled {
        /// Where they start.
        offset: u64,
        /// Bytes from there to the end.
        len: u64,
    },
    /// Damage that is not a tail.
    Corrupt {
        /// Where the damaged frame starts.
        offset: Option<u64>,
        /// Its index.
        frame: Option<u64>,
        /// What is wrong.
        error: String,
        /// Where good frames resume after it, if they do.
        good_after: Option<u64>,
        /// What salvage would read after it.
        salvage: Option<SalvageSummary>,
        /// Whether it is a whole frame whose length is damaged: it runs past
        /// the end, but its checksum verifies at a length one bit away from
        /// its own (judged with checksums of 32 bits or more), so it is no
        /// torn frame.
        #[serde(skip_serializing_if = "core::ops::Not::not")]
        damaged_length: bool,
        /// Whether the library's recovery could not tell if good frames
        /// follow it (`Recovery::undecided`): the search for them stopped at
        /// its work limit (highly regular bytes, such as megabytes of small
        /// counters, where most offsets read as a frame that fits), or found
        /// them only inside a damaged frame reaching the end of the file. It
        /// may well be torn, but good frames after it are not ruled out, so
        /// it is never truncated.
        #[serde(skip_serializing_if = "core::ops::Not::not")]
        undecided: bool,
    },
}

impl End {
    /// How `recovery` says the stream ends.
    #[must_use]
    pub fn from_recovery(recovery: &Recovery) -> Self {
        match &recovery.tail {
            Tail::Clean => End::Clean,
            Tail::Torn { offset, len } => End::Torn {
                offset: *offset,
                len: *len,
            },
            Tail::ZeroFilled { offset, len } => End::ZeroFilled {
                offset: *offset,
                len: *len,
            },
            Tail::EmptyOrZeroFilled { offset, len } => End::EmptyOrZeroFilled {
                offset: *offset,
                len: *len,
            },
            Tail::Corrupt(error) => {
                // The library's only corruption from a frame that runs past
                // the end with nothing good after it.
                let damaged_length = recovery.good_after.is_none()
                    && matches!(error.kind(), ErrorKind::CorruptRegion { cause, .. }
                        if matches!(**cause, ErrorKind::UnexpectedEof { .. }));
                End::Corrupt {
                    offset: error.position().map(|p| p.offset),
                    frame: error.position().map(|p| p.frame),
                    error: if damaged_length {
                        "a whole frame whose length is damaged: it runs past the end of the file, but its checksum verifies at a length one bit away".to_owned()
                    } else if recovery.undecided {
                        format!(
                            "{}; whether good frames follow it is undecided: the search for them stopped at its work limit (its bytes are too regular: most offsets read as a frame that fits), or found them only inside this frame (a payload's own frames, or frames after a damaged length)",
                            describe_kind(error.kind())
                        )
                    } else {
                        describe_kind(error.kind())
                    },
                    good_after: recovery.good_after,
                    salvage: recovery.salvage.as_ref().map(|s| SalvageSummary {
                        frames: s.frames,
                        bytes: s.bytes,
                        regions: s.regions_total,
                        torn_tail: s.torn_tail,
                    }),
                    damaged_length,
                    undecided: recovery.undecided,
                }
            }
            // A tail this version does not know: say so rather than guess.
            other => End::Corrupt {
                offset: Some(recovery.valid_len),
                frame: Some(recovery.frames),
                error: format!("{other:?}"),
                good_after: None,
                salvage: None,
                damaged_length: false,
                undecided: false,
            },
        }
    }

    /// Whether the stream ends cleanly.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(self, End::Clean)
    }

    /// In words: `clean`, `torn tail at byte offset X (N bytes)`, ...
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            End::Clean => "clean".to_owned(),
            End::Torn { offset, len } => {
                format!("torn tail at byte offset {offset} ({len} bytes of an incomplete frame)")
            }
            End::ZeroFilled { offset, len } => {
                format!("zero-filled tail at byte offset {offset} ({len} bytes)")
            }
            End::EmptyOrZeroFilled { offset, len } => {
                format!("empty frames or zero fill at byte offset {offset} ({len} bytes)")
            }
            End::Corrupt {
                offset,
                frame,
                error,
                good_after,
                salvage,
                undecided,
                ..
            } => {
                let place = match (offset, frame) {
                    (Some(offset), Some(frame)) => at(Position {
                        offset: *offset,
                        frame: *frame,
                    }),
                    _ => "an unknown position".to_owned(),
                };
                let mut text = format!("corruption at {place}: {error}");
                match (good_after, salvage) {
                    (Some(good), Some(salvage)) => text.push_str(&format!(
                        "; good frames resume at byte offset {good} (salvage would read {} more frames past {} damaged region{}{})",
                        salvage.frames,
                        salvage.regions,
                        if salvage.regions == 1 { "" } else { "s" },
                        if salvage.torn_tail { ", then a torn tail" } else { "" }
                    )),
                    (Some(good), None) => {
                        text.push_str(&format!("; good frames resume at byte offset {good}"));
                    }
                    _ if *undecided => {}
                    _ => text.push_str("; no good frame after it"),
                }
                text
            }
        }
    }

    /// Where the damage or tail starts, if the stream does not end cleanly.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            End::Clean => None,
            End::Torn { offset, .. }
            | End::ZeroFilled { offset, .. }
            | End::EmptyOrZeroFilled { offset, .. } => Some(*offset),
            End::Corrupt { offset, .. } => *offset,
        }
    }
}

/// A summary of a stream header for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeaderSummary {
    /// The payloads' root table, fully qualified.
    pub root_type: String,
    /// The payloads' file identifier.
    pub file_identifier: String,
    /// Bytes of the binary schema it carries (0: none).
    pub schema_bytes: usize,
    /// Its metadata, in order.
    pub metadata: Vec<Metadata>,
}

/// One metadata pair of a header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Metadata {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl HeaderSummary {
    /// The summary of `header`.
    #[must_use]
    pub fn of(header: &StreamHeader) -> Self {
        HeaderSummary {
            root_type: header.root_type.clone(),
            file_identifier: header.file_identifier.clone(),
            schema_bytes: header.schema.len(),
            metadata: header
                .metadata
                .iter()
                .map(|(key, value)| Metadata {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }

    /// In words, on one line.
    #[must_use]
    pub fn describe(&self) -> String {
        let or_none = |s: &str| {
            if s.is_empty() {
                "none".to_owned()
            } else {
                crate::error::escape(s)
            }
        };
        let schema = if self.schema_bytes == 0 {
            "no schema".to_owned()
        } else {
            format!("schema {} bytes", self.schema_bytes)
        };
        format!(
            "root type {}, file identifier {}, {schema}, {} metadata entr{}",
            or_none(&self.root_type),
            or_none(&self.file_identifier),
            self.metadata.len(),
            if self.metadata.len() == 1 { "y" } else { "ies" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_frames_per_framing() {
        let zeros = [0u8; 16];
        assert!(is_zero_frame(Framing::Plain, &zeros));
        assert!(is_zero_frame(Framing::Plain, &[]));
        assert!(is_zero_frame(Framing::Crc16, &zeros));
        // CRC-32 of empty input is 0; of zero bytes it is not.
        assert!(is_zero_frame(Framing::Crc32, &[]));
        assert!(!is_zero_frame(Framing::Crc32, &zeros));
        assert!(!is_zero_frame(Framing::Xxh3, &[]));
        assert!(!is_zero_frame(Framing::Plain, &[12, 0, 0, 0]));
    }

    #[test]
    fn zero_runs_are_run_length_encoded() {
        let mut run = ZeroRun::default();
        assert_eq!(run.start(), None);
        for frame in 0..5 {
            run.push(
                Position {
                    offset: frame * 4,
                    frame,
                },
                0,
            );
        }
        run.push(
            Position {
                offset: 20,
                frame: 5,
            },
            3,
        );
        assert_eq!(run.start().map(|p| p.offset), Some(0));
        assert_eq!(run.frames(), 6);
        assert_eq!(run.take(), [(0, 5), (3, 1)]);
        assert_eq!(run.start(), None);
    }
}
