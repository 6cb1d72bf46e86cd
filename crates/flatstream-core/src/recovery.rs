//! Recovery: how far a stream is intact, how it ends, and what salvage
//! would save after damage.
//!
//! The scan is sans-IO, like the [`FrameCursor`] it drives: readers over a
//! `Read` source, slices and memory maps all feed it bytes, so they classify
//! a stream the same way. The rules:
//!
//! - Frames are intact while they verify. A zero frame (a length, then
//!   nothing but zeros) is never a FlatBuffer: a run of them that reaches the
//!   end is zero fill, not frames.
//! - Only a real tail is a tail. Where the frames stop (a frame that runs
//!   past the end, a checksum mismatch, a bad length, a validator's
//!   refusal), the bytes after it are searched for a chain of real frames
//!   (see `cursor::chain`). If one is found, the stop is corruption with good
//!   frames after it, reported with its region and never truncated. Without
//!   a checksum, where the frames stop at one running past the end, the
//!   search starts inside the latest intact frame (its length may be the
//!   damage), and good frames are also looked for where one of the 16
//!   intact frames before it (not counting zero frames) would end with a
//!   bit of its length flipped, when a frame read after it is not shaped
//!   like a FlatBuffer: a damaged length that stays inside the stream reads
//!   on through false frames before one runs past the end. The same look
//!   back runs before zero frames at the end are cut as fill (a damaged
//!   length can land in a payload's zeros and read them as zero frames to
//!   the end), for a chain whose last frame, shaped like a FlatBuffer,
//!   ends exactly at the end. Either is reported as a region of one frame
//!   caused by [`ErrorKind::DamagedLength`].
//! - Otherwise, if a run of zeros reaching the end starts inside the frame
//!   where the frames stop (or right after it), and zeros can explain why
//!   that frame stopped them (its checksum fails, or a validator refused
//!   bytes that no checksum vouches for), the tail is zero fill from that
//!   frame on; if that frame merely runs past the end, it is torn. A frame
//!   over the length limit, or refused although its checksum verified, is
//!   what was written: corruption, never fill. Anything else is corruption
//!   at the end.
//! - A stream whose writer may write empty or all-zero payloads keeps its
//!   frames of zeros (`Tail::EmptyOrZeroFilled`): only what follows them
//!   can be fill.

use alloc::vec::Vec;

use crate::cursor::{
    Budget, PlainEnding, Resume, Search, Settings, Step, is_zero_frame, may_start_frames,
    plain_chain_to_the_end,
};
use crate::{AfterDamage, Deframer, Error, ErrorKind, FrameCursor, Position, Result, wire};

/// Zero fill from a file system starts on a block boundary: a multiple of
/// this many bytes (every file system block size is).
const FILL_ALIGNMENT: u64 = 512;

/// How many zero bytes must follow that boundary for the run to count as
/// fill: more than a FlatBuffer's own trailing zeros.
const MIN_FILL_AFTER_BOUNDARY: u64 = 16;

/// Without a checksum: how far before the latest intact frame recovery
/// looks for good frames when the frames stop at one running past the end
/// (a damaged length earlier may have swallowed them): at most this many
/// frames before it...
const PLAIN_LOOKBACK_FRAMES: usize = 16;

/// ...that start at most this many bytes before it.
const PLAIN_LOOKBACK_BYTES: u64 = 1 << 20;

/// The frame starts a scan remembers for looking back: the latest one and
/// the [`PLAIN_LOOKBACK_FRAMES`] before it, in a ring of a power of two.
const RECENT_FRAMES: usize = (PLAIN_LOOKBACK_FRAMES + 1).next_power_of_two();

/// The most skipped regions a [`Salvage`] report lists one by one.
const MAX_LISTED_REGIONS: usize = 1024;

/// What recovery found: the intact frames and how the stream ends.
#[derive(Debug)]
#[non_exhaustive]
pub struct Recovery {
    /// Frames read intact from the start of the stream.
    pub frames: u64,
    /// Byte offset just past the last intact frame: the length to keep.
    pub valid_len: u64,
    /// How the stream ends after the intact frames.
    pub tail: Tail,
    /// For a [`Tail::Corrupt`]: the offset of the first good frame after the
    /// damage, where a chain of real frames starts; `None` when nothing good
    /// follows the damage (or the tail is not corrupt).
    pub good_after: Option<u64>,
    /// For a [`Tail::Corrupt`] with good frames after it: what salvage
    /// ([`AfterDamage::Resync`]) would read from the damage to the end.
    pub salvage: Option<Salvage>,
    /// For a [`Tail::Corrupt`]: the search for good frames after the damage
    /// did more work than it may (256 MiB of checksums plus 16 bytes per
    /// byte searched) and stopped, so whether good frames follow is not
    /// known. Highly regular bytes after the damage, such as a torn frame of
    /// megabytes of small counters, make a search that costly: every offset
    /// reads as the length of a frame that fits. The stream is then
    /// corruption, never a tail to truncate, although the frame where the
    /// intact frames stop may well be torn; [`AfterDamage::Resync`] and
    /// salvage copy everything before it.
    ///
    /// Also set when that frame failed its checksum, its declared length
    /// reaches exactly the end of input, and good frames start only inside
    /// it: they may be a payload's own (a stream sent as a payload), which
    /// salvage does not read, or the frames after a frame whose length and
    /// payload were both damaged. Either way nothing is truncated.
    pub undecided: bool,
}

impl Recovery {
    /// Where the next frame goes when appending: [`valid_len`](Self::valid_len)
    /// and [`frames`](Self::frames) as a [`Position`].
    #[must_use]
    pub fn end_position(&self) -> Position {
        Position {
            offset: self.valid_len,
            frame: self.frames,
        }
    }
}

/// How a stream ends, after its intact frames.
#[derive(Debug)]
#[non_exhaustive]
pub enum Tail {
    /// The stream ends at a frame boundary.
    Clean,
    /// The stream ends inside a frame, typically a write cut short by a crash.
    /// Safe to truncate: no real frame follows it, and with a checksum of 32
    /// bits or more, the frame is not a whole one whose length lost a bit
    /// (that is [`Tail::Corrupt`]).
    Torn {
        /// Where the incomplete frame starts.
        offset: u64,
        /// Bytes of it that are present.
        len: u64,
    },
    /// From `offset` on, the stream is zero fill: space a file system
    /// allocated before a crash (common on ext4 and XFS) whose data never
    /// landed. The zeros may start inside the frame at `offset` (that frame
    /// is then incomplete or fails its checksum) or be frames made only of
    /// zeros. Safe to truncate: a FlatBuffer is never all zeros.
    ZeroFilled {
        /// Where the fill starts (a frame boundary: the first frame it
        /// touches).
        offset: u64,
        /// Bytes from `offset` to the end.
        len: u64,
    },
    /// Frames of zeros up to the end (empty payloads, or payloads of zero
    /// bytes), in a stream whose writer was allowed to write them
    /// ([`RecoverOptions::with_empty_payloads`]): they may be real frames or
    /// zero fill, and no reader can tell. They are kept (counted in
    /// [`Recovery::frames`] and [`Recovery::valid_len`]) and reported here.
    /// Zeros after them that are not a whole frame (a torn frame, fill that
    /// starts inside one) are past `valid_len`: not kept.
    EmptyOrZeroFilled {
        /// Where the frames of zeros start.
        offset: u64,
        /// Bytes from `offset` to the end.
        len: u64,
    },
    /// Damage that is not a tail: a checksum mismatch, a bad length, a
    /// refused payload, or a length running past the end with good frames
    /// after it, or over a frame whose checksum verifies at the length one
    /// bit away (a whole frame with a damaged length; judged with checksums
    /// of 32 bits or more) ([`ErrorKind::CorruptRegion`] with that cause), or
    /// a frame running past the end after which the search for good frames
    /// could not finish ([`Recovery::undecided`]), or, without a checksum,
    /// an intact frame whose length is one bit away from where good frames
    /// follow it ([`ErrorKind::DamagedLength`]: the reading went on through
    /// false frames to a torn frame or zero frames). Never truncated
    /// automatically. The error carries the damaged frame's offset
    /// and index; [`Recovery::good_after`] says where good frames resume.
    Corrupt(Error),
}

/// What salvage would read after the damage that ended the intact frames.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Salvage {
    /// Frames that verify after the damage.
    pub frames: u64,
    /// Bytes of those frames, headers included.
    pub bytes: u64,
    /// Every damaged region salvage skips, the first one included (at most
    /// 1,024 are listed; [`regions_total`](Self::regions_total) counts all).
    pub regions: Vec<Region>,
    /// How many damaged regions there are in all.
    pub regions_total: u64,
    /// Whether the stream ends in a torn frame after the salvaged frames.
    pub torn_tail: bool,
}

/// A damaged region that salvage skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Region {
    /// Where the region starts.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// How many frames it held, when that is known.
    pub frames_lost: Option<u64>,
}

/// How recovery reads a stream.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RecoverOptions {
    /// The largest payload length recovery accepts; by default the largest
    /// the wire format can carry (`u32::MAX`), so that every frame a writer
    /// was allowed to write is recoverable.
    pub max_frame_len: usize,
    /// Whether the stream's writer was allowed to write empty payloads.
    pub empty_payloads: bool,
}

impl Default for RecoverOptions {
    fn default() -> Self {
        RecoverOptions {
            max_frame_len: wire::MAX_WIRE_FRAME_LEN,
            empty_payloads: false,
        }
    }
}

impl RecoverOptions {
    /// The default options: the format's largest frame, empty payloads not
    /// expected.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the largest payload length accepted.
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = max_frame_len;
        self
    }

    /// Says whether the stream's writer was allowed to write empty or
    /// all-zero payloads (`StreamWriter::allow_empty_payloads`). Then a run
    /// of frames of zeros at the end may be real, and is reported as
    /// [`Tail::EmptyOrZeroFilled`] and kept instead of truncated as zero
    /// fill.
    #[must_use]
    pub fn with_empty_payloads(mut self, empty_payloads: bool) -> Self {
        self.empty_payloads = empty_payloads;
        self
    }
}

/// Where the intact frames stopped.
#[derive(Debug)]
struct Stop {
    /// The frame where they stopped (the end of input for a clean end).
    at: Position,
    /// Why, or `None` at a clean end of input.
    error: Option<Error>,
    /// The search for good frames after it.
    resume: Resume,
}

/// The state of a recovery scan, kept across calls that an I/O error cut
/// short.
#[derive(Debug)]
pub(crate) struct RecoverScan {
    options: RecoverOptions,
    /// The settings not on the cursor now: the reader's own while the scan
    /// runs (restored when it ends), the scan's while it is suspended.
    saved: Settings,
    /// Where the latest run of zero frames started, if the latest frames are
    /// zero frames.
    zeros_from: Option<Position>,
    stop: Option<Stop>,
    /// Set once good frames were found after the damage.
    salvage: Option<(u64, Salvage)>,
    /// Whether the deframer has no checksum: then a frame whose length was
    /// damaged into a longer one still "verifies", swallows what follows,
    /// and only shows as a frame running past the end further on.
    unchecked: bool,
    /// Where the latest intact frame starts: with no checksum, good frames
    /// are searched for from just after it, since it may be that frame's
    /// length that is wrong.
    last_frame: Option<Position>,
    /// Without a checksum: the latest intact frames that are not zero
    /// frames, the latest at `(recent_frames - 1) % RECENT_FRAMES` (a ring).
    /// Good frames are also looked for inside the [`PLAIN_LOOKBACK_FRAMES`]
    /// before the latest one (and the zero frames among them), since a
    /// damaged length there may have thrown the reading off the real frames,
    /// through false ones (zero frames among them where a payload holds
    /// zeros, which do not count).
    recent: [Position; RECENT_FRAMES],
    /// How many such frames the scan read (wrapping, which only a 32-bit
    /// target reading 4 billion frames would see, and which only narrows the
    /// look back there for 16 frames).
    recent_frames: usize,
}

/// What one step of a scan came to.
#[derive(Debug)]
pub(crate) enum Scan {
    /// The driver must provide at least this many more bytes (or end of
    /// input).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Need(usize),
    Done(Recovery),
}

impl RecoverScan {
    /// A scan from the cursor's position; the cursor's frame limit and damage
    /// policy are set for the scan.
    pub(crate) fn start<D: Deframer>(cursor: &mut FrameCursor<D>, options: RecoverOptions) -> Self {
        let saved = cursor.swap_settings(Settings::new(AfterDamage::Stop, options.max_frame_len));
        RecoverScan {
            options,
            saved,
            zeros_from: None,
            stop: None,
            salvage: None,
            unchecked: cursor.deframer().header_len() == wire::LENGTH_PREFIX_LEN,
            last_frame: None,
            recent: [Position {
                offset: 0,
                frame: 0,
            }; RECENT_FRAMES],
            recent_frames: 0,
        }
    }

    /// The stream offset from which the driver must keep the bytes it has
    /// read, if any: for a deframer without a checksum, the frames recovery
    /// may look back into (see `recent`).
    #[cfg(feature = "std")]
    pub(crate) fn keep_from(&self) -> Option<u64> {
        self.lookback_from()
            .filter(|_| self.salvage.is_none())
            .map(|frame| frame.offset)
    }

    /// Feeds the scan the driver's buffer; `eof` says the source has ended.
    /// At the end of input the scan always finishes.
    ///
    /// # Errors
    ///
    /// None of its own: damage is reported in the [`Recovery`]. The error
    /// type is there for the drivers.
    pub(crate) fn poll<D: Deframer>(
        &mut self,
        cursor: &mut FrameCursor<D>,
        buf: &[u8],
        eof: bool,
    ) -> Result<Scan> {
        if self.stop.is_none()
            && let Some(needed) = self.count_intact(cursor, buf, eof)
        {
            return Ok(Scan::Need(needed));
        }
        let Some(stop) = self.stop.as_mut() else {
            unreachable!("set by count_intact")
        };
        // A deframer that cannot read this format finds nothing anywhere:
        // neither good frames after the stop nor zero fill can be judged.
        if let Some(error) = stop
            .error
            .take_if(|e| matches!(e.kind(), ErrorKind::InvalidHeaderLen { .. }))
        {
            return Ok(Scan::Done(self.finish_with(cursor, Tail::Corrupt(error))));
        }
        if self.salvage.is_none() {
            // Where good frames start, and the frame whose length is damaged
            // if that is not the stopped one.
            let (found, damaged) = if stop.error.is_some() {
                match cursor.find_resume(buf, eof, &mut stop.resume) {
                    Search::Need { needed, .. } => return Ok(Scan::Need(needed)),
                    Search::NotFound => match self.good_frames_looking_back(cursor, buf) {
                        Some((damaged, offset)) => (offset, Some((damaged, true))),
                        None => return Ok(Scan::Done(self.finish_without_chain(cursor, buf))),
                    },
                    // The search would cost too much (hostile, repetitive
                    // bytes), or found good frames only inside a damaged
                    // frame that reaches the end: whether good frames follow
                    // is unknown, so the stop is corruption, never a tail to
                    // truncate.
                    Search::GaveUp => {
                        let Some(error) = stop.error.take() else {
                            unreachable!("the search runs after an error only")
                        };
                        let mut recovery = self.finish_with(cursor, Tail::Corrupt(error));
                        recovery.undecided = true;
                        return Ok(Scan::Done(recovery));
                    }
                    // Good frames inside the stopped frame, or (without a
                    // checksum) inside the latest intact one.
                    Search::Found(offset) => {
                        let inside_last = self.last_frame.filter(|_| offset < stop.at.offset);
                        (offset, inside_last.map(|last| (last, false)))
                    }
                }
            } else {
                match self.good_frames_looking_back(cursor, buf) {
                    Some((damaged, offset)) => (offset, Some((damaged, true))),
                    None => return Ok(Scan::Done(self.finish(cursor))),
                }
            };
            self.resume_at(cursor, buf, found, damaged);
        }
        if let Some((_, salvage)) = self.salvage.as_mut() {
            loop {
                match cursor.poll(buf, eof) {
                    Ok(Step::Frame(span) | Step::Header(span)) => {
                        salvage.frames += 1;
                        salvage.bytes += (span.end - span.start) as u64;
                    }
                    Ok(Step::Need { needed, .. }) => return Ok(Scan::Need(needed)),
                    Ok(Step::End) => break,
                    Err(error) => match error.kind() {
                        ErrorKind::UnexpectedEof { .. } => {
                            salvage.torn_tail = true;
                            break;
                        }
                        ErrorKind::CorruptRegion {
                            len, frames_lost, ..
                        } => {
                            let offset = error.position().map_or(0, |p| p.offset);
                            record_region(salvage, offset, *len, *frames_lost);
                        }
                        _ => {
                            // A frame refused whole (by a validator) was
                            // skipped by its length.
                            let offset = error.position().map_or(0, |p| p.offset);
                            let len = cursor.position().offset - offset;
                            record_region(salvage, offset, len, Some(1));
                        }
                    },
                }
            }
        }
        Ok(Scan::Done(self.finish(cursor)))
    }

    /// Sets the scan to count what salvage reads from `found`, where good
    /// frames start after the damage: in the stopped frame, or in
    /// `damaged`, an intact frame before it whose length is then what is
    /// damaged, and the stop.
    fn resume_at<D: Deframer>(
        &mut self,
        cursor: &mut FrameCursor<D>,
        buf: &[u8],
        found: u64,
        damaged: Option<(Position, bool)>,
    ) {
        let Some(stop) = self.stop.as_mut() else {
            unreachable!("set by count_intact")
        };
        let mut frames_lost = None;
        if let Some((damaged, flipped)) = damaged {
            cursor.seek(damaged.offset);
            cursor.set_frame(damaged.frame);
            stop.at = damaged;
            let declared = cursor.declared_end(buf).map(|end| end - damaged.offset);
            let header = wire::LENGTH_PREFIX_LEN as u64;
            stop.error = declared.map(|declared| {
                let kind = if flipped {
                    // Good frames where a flipped bit of its length ends
                    // it: exactly this frame is lost.
                    frames_lost = Some(1);
                    ErrorKind::CorruptRegion {
                        len: found - damaged.offset,
                        frames_lost,
                        cause: alloc::boxed::Box::new(ErrorKind::DamagedLength {
                            declared: declared - header,
                            likely: found - damaged.offset - header,
                        }),
                    }
                } else {
                    // Good frames inside the latest intact frame: its
                    // length is damaged, and its error says so in its own
                    // numbers: it needs more bytes than lie before them.
                    ErrorKind::UnexpectedEof {
                        available: found - damaged.offset,
                        required: declared,
                    }
                };
                Error::from(kind).at(damaged)
            });
        }
        if cursor.declared_end(buf) == Some(found) {
            frames_lost = Some(1);
        }
        cursor.set_after_damage(AfterDamage::Resync);
        cursor.seek(found);
        cursor.count_frame();
        let mut salvage = Salvage::default();
        record_region(
            &mut salvage,
            stop.at.offset,
            found - stop.at.offset,
            frames_lost,
        );
        self.salvage = Some((found, salvage));
    }

    /// Counts intact frames until they stop; returns the bytes needed when
    /// the driver must read more first.
    fn count_intact<D: Deframer>(
        &mut self,
        cursor: &mut FrameCursor<D>,
        buf: &[u8],
        eof: bool,
    ) -> Option<usize> {
        loop {
            let before = cursor.position();
            match cursor.poll(buf, eof) {
                Ok(Step::Frame(span) | Step::Header(span)) => {
                    self.last_frame = Some(before);
                    let frame = span.frame(buf);
                    if is_zero_frame(frame) {
                        self.zeros_from.get_or_insert(before);
                    } else {
                        self.zeros_from = None;
                        if self.unchecked {
                            self.recent[self.recent_frames % RECENT_FRAMES] = before;
                            self.recent_frames = self.recent_frames.wrapping_add(1);
                        }
                    }
                }
                Ok(Step::Need { needed, .. }) => return Some(needed),
                Ok(Step::End) => {
                    self.stop = Some(Stop {
                        at: before,
                        error: None,
                        resume: Resume::new(before.offset, before.offset, None, false)
                            .searched_once(),
                    });
                    return None;
                }
                Err(error) => {
                    // Without a checksum, a frame running past the end may
                    // be the latest frame's damaged length: look for good
                    // frames from just after that frame's start.
                    let search = match self.last_frame {
                        Some(last) if self.unchecked && error.is_unexpected_eof() => {
                            last.offset + 1
                        }
                        _ => before.offset + 1,
                    };
                    let mismatch = matches!(error.kind(), ErrorKind::ChecksumMismatch { .. });
                    self.stop = Some(Stop {
                        at: before,
                        error: Some(error),
                        resume: Resume::new(search, search, cursor.declared_end(buf), mismatch)
                            .searched_once(),
                    });
                    return None;
                }
            }
        }
    }

    /// Without a checksum: the earliest intact frame, not a zero frame,
    /// within [`PLAIN_LOOKBACK_FRAMES`] such frames and
    /// [`PLAIN_LOOKBACK_BYTES`] bytes before the latest one, if any was read.
    fn lookback_from(&self) -> Option<Position> {
        let last = self.last_frame.filter(|_| self.recent_frames > 0)?;
        let back = (self.recent_frames - 1).min(PLAIN_LOOKBACK_FRAMES);
        (0..=back)
            .rev()
            .map(|k| self.recent[(self.recent_frames - 1 - k) % RECENT_FRAMES])
            .find(|frame| last.offset - frame.offset <= PLAIN_LOOKBACK_BYTES)
    }

    /// Without a checksum, where the frames stopped at one running past the
    /// end and no good frames follow it, or ended in zero frames (zero fill
    /// about to be cut): the intact frame, since
    /// [`lookback_from`](Self::lookback_from), whose length has one bit
    /// flipped, and where the good frames it swallowed start (see
    /// [`plain_chain_to_the_end`]).
    fn good_frames_looking_back<D>(
        &self,
        cursor: &FrameCursor<D>,
        buf: &[u8],
    ) -> Option<(Position, u64)> {
        let stop = self.stop.as_ref()?;
        let base = cursor.position().offset - cursor.consumed() as u64;
        let index = |offset: u64| usize::try_from(offset.checked_sub(base)?).ok();
        let torn = stop.error.as_ref().map(Error::is_unexpected_eof);
        let ending = match (torn, self.zeros_from) {
            // Zero frames at the end (then at most a torn frame): zero fill,
            // or zeros of a payload read as frames. (Frames of zeros that may
            // be real are kept, not cut.)
            (None | Some(true), Some(zeros)) if !self.options.empty_payloads => {
                PlainEnding::ZeroFrames {
                    zeros: index(zeros.offset)?,
                }
            }
            (Some(true), _) => PlainEnding::Stopped {
                last: index(self.last_frame?.offset)?,
                stop: index(stop.at.offset)?,
            },
            _ => return None,
        };
        let from = self.lookback_from()?;
        let (damaged, frames, found) =
            plain_chain_to_the_end(buf, index(from.offset)?, ending, self.options.max_frame_len)?;
        let damaged = Position {
            offset: base + damaged as u64,
            frame: from.frame + frames,
        };
        Some((damaged, base + found as u64))
    }

    /// The end of a scan that found no good frame after where the intact
    /// frames stopped: zero fill, a torn tail, or corruption at the end.
    fn finish_without_chain<D: Deframer>(
        &mut self,
        cursor: &mut FrameCursor<D>,
        buf: &[u8],
    ) -> Recovery {
        let Some(stop) = self.stop.as_mut() else {
            unreachable!("only called after the frames stopped")
        };
        // The cursor stays at the stopped frame, so the whole rest is in `buf`.
        let rest = cursor.unread(buf);
        let zeros_start = rest.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let header_len = cursor.deframer().header_len();
        let stop_frame_end = rest
            .first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
            .and_then(|prefix| usize::try_from(u32::from_le_bytes(*prefix)).ok())
            .map_or(rest.len(), |len| {
                header_len.saturating_add(len).min(rest.len())
            });
        let total = rest.len() as u64;
        let error = stop.error.take();
        // Zero fill touches the stopped frame: every byte of a frame that
        // runs past the end is zero (a torn frame's bytes are data, and a
        // length's high bytes are often zero); or, in a complete frame that
        // failed, the zeros cover its whole payload, or cross a file system
        // block boundary (a multiple of 512 bytes) before its end and go on
        // for at least 16 bytes. A FlatBuffer often ends in a few zero bytes
        // of its own (a string's NUL, padding), so a short run of zeros at
        // the end of a frame that fails its checksum is damage, not fill.
        let zeros_at = stop.at.offset + zeros_start as u64;
        let end = stop.at.offset + total;
        let boundary = zeros_at.next_multiple_of(FILL_ALIGNMENT);
        let frame_end = stop.at.offset + stop_frame_end as u64;
        let from_a_block = boundary < frame_end && end - boundary >= MIN_FILL_AFTER_BOUNDARY;
        // Only a refusal that zeros can cause: a checksum that does not
        // match, or, where nothing checks the bytes (no checksum, or a zero
        // frame that a CRC accepts), a validator's refusal. A length over
        // the limit or a refused frame whose checksum verified holds the
        // bytes that were written, zeros and all.
        let fill_may_cause = |kind: &ErrorKind| match kind {
            ErrorKind::ChecksumMismatch { .. } => true,
            ErrorKind::Invalid { .. } => self.unchecked || is_zero_frame(&rest[..stop_frame_end]),
            _ => false,
        };
        let fill_reach = match &error {
            Some(error) if error.is_unexpected_eof() => 0,
            Some(error) if !fill_may_cause(error.kind()) => 0,
            _ if zeros_start <= header_len || from_a_block => stop_frame_end,
            _ => 0,
        };
        let zero_filled = zeros_start < rest.len() && zeros_start <= fill_reach;
        let truncating = zero_filled || error.as_ref().is_some_and(Error::is_unexpected_eof);
        if truncating
            && frames_may_follow(cursor, rest, self.options.max_frame_len)
            && let Some(error) = error
        {
            // A frame a writer could have written starts after the stop: too
            // few frames for a chain (one good frame after a damaged length,
            // before a torn frame or zero fill), but never cut.
            let error = if error.is_unexpected_eof() {
                region_of(error, total, stop.at)
            } else {
                error
            };
            self.zeros_from = None;
            let mut recovery = self.finish_with(cursor, Tail::Corrupt(error));
            recovery.undecided = true;
            return recovery;
        }
        if zero_filled {
            let zeros = self.zeros_from.take();
            let from = zeros.unwrap_or(stop.at);
            let (offset, len) = (from.offset, cursor.position().offset - from.offset + total);
            let tail = if zeros.is_some() && self.options.empty_payloads {
                // Zero frames before the stopped one, in a stream that may
                // hold real ones: kept, and the ambiguity reported; the
                // stopped frame and everything after it are cut.
                Tail::EmptyOrZeroFilled { offset, len }
            } else {
                // The zero frames before the stopped one, then everything
                // after.
                stop.at = from;
                Tail::ZeroFilled { offset, len }
            };
            stop.error = None;
            return self.finish_with(cursor, tail);
        }
        let tail = match error {
            Some(error)
                if error.is_unexpected_eof()
                    && whole_but_for_a_length_bit(cursor.deframer_mut(), rest) =>
            {
                // Not a write cut short: a whole frame whose length is damaged.
                Tail::Corrupt(region_of(error, total, stop.at))
            }
            Some(error) if error.is_unexpected_eof() => Tail::Torn {
                offset: stop.at.offset,
                len: total,
            },
            Some(error) => Tail::Corrupt(error),
            None => Tail::Clean,
        };
        self.finish_with(cursor, tail)
    }

    /// The end of a scan that reached the end of input through intact
    /// frames, or found good frames after the damage.
    fn finish<D: Deframer>(&mut self, cursor: &mut FrameCursor<D>) -> Recovery {
        let Some(stop) = self.stop.as_mut() else {
            unreachable!("only called after the frames stopped")
        };
        match stop.error.take() {
            // Good frames follow the damage: corruption, never a tail.
            Some(error) => {
                let (good, salvage) = self.salvage.take().unwrap_or_default();
                let error = match error.kind() {
                    ErrorKind::UnexpectedEof { .. } => {
                        region_of(error, good - stop.at.offset, stop.at)
                    }
                    _ => error,
                };
                let mut recovery = self.finish_with(cursor, Tail::Corrupt(error));
                recovery.good_after = Some(good);
                recovery.salvage = Some(salvage);
                recovery
            }
            None => match self.zeros_from.take() {
                Some(from) => {
                    let len = stop.at.offset - from.offset;
                    if self.options.empty_payloads {
                        self.finish_with(
                            cursor,
                            Tail::EmptyOrZeroFilled {
                                offset: from.offset,
                                len,
                            },
                        )
                    } else {
                        stop.at = from;
                        self.finish_with(
                            cursor,
                            Tail::ZeroFilled {
                                offset: from.offset,
                                len,
                            },
                        )
                    }
                }
                None => self.finish_with(cursor, Tail::Clean),
            },
        }
    }

    /// Swaps the reader's settings and the scan's on the cursor: called when
    /// an I/O error suspends the scan (the reader gets its own back) and
    /// when it resumes.
    #[cfg(feature = "std")]
    pub(crate) fn swap_settings<D>(&mut self, cursor: &mut FrameCursor<D>) {
        let saved = core::mem::replace(&mut self.saved, Settings::new(AfterDamage::Stop, 0));
        self.saved = cursor.swap_settings(saved);
    }

    fn finish_with<D: Deframer>(&mut self, cursor: &mut FrameCursor<D>, tail: Tail) -> Recovery {
        let saved = core::mem::replace(&mut self.saved, Settings::new(AfterDamage::Stop, 0));
        cursor.swap_settings(saved);
        let at = self.stop.as_ref().map_or(cursor.position(), |stop| stop.at);
        Recovery {
            frames: at.frame,
            valid_len: at.offset,
            tail,
            good_after: None,
            salvage: None,
            undecided: false,
        }
    }
}

/// A frame running past the end (`error`, at `at`) that is not a torn tail
/// after all: a damaged region of `len` bytes from `at`, caused by it.
fn region_of(error: Error, len: u64, at: Position) -> Error {
    Error::from(ErrorKind::CorruptRegion {
        len,
        frames_lost: None,
        cause: alloc::boxed::Box::new(error.into_kind()),
    })
    .at(at)
}

/// Whether a frame that a writer could have written starts anywhere after
/// the first byte of `rest` (the bytes from where the intact frames stopped
/// to the end of input), by [`may_start_frames`]'s weaker rule; also true
/// when checking would cost more than recovery's search may
/// ([`Budget::once_allowance`]: 256 MiB plus 16 per byte), the side to err
/// on.
fn frames_may_follow<D: Deframer>(
    cursor: &mut FrameCursor<D>,
    rest: &[u8],
    max_frame_len: usize,
) -> bool {
    let allowed = Budget::once_allowance(rest.len() as u64);
    let mut spent = 0u64;
    let deframer = cursor.deframer_mut();
    (1..rest.len()).any(|at| {
        spent > allowed || may_start_frames(deframer, rest, at, max_frame_len, &mut spent)
    })
}

/// The fewest checksum bytes with which [`whole_but_for_a_length_bit`]
/// judges: at most 31 lengths are tried, so a chance match is at most
/// 31 x 2^-32 (about 2^-27) for CRC-32, and 2^-59 for XXH3-64. With CRC-16
/// it would be 2^-11, one genuine torn tail in 2,000 called corruption.
const MIN_CHECKSUM_LEN_TO_JUDGE_A_LENGTH: usize = 4;

/// Whether the frame at the start of `rest`, which runs past the end of
/// input, is a whole frame whose length has one bit flipped: its checksum
/// verifies over a shorter, non-empty length one bit away from the declared
/// one. Then cutting it as a torn tail would lose a frame that was written
/// completely. (A write cut short leaves a checksum of the whole payload,
/// which no shorter prefix matches but by chance.) Framings with a
/// checksum shorter than [`MIN_CHECKSUM_LEN_TO_JUDGE_A_LENGTH`] bytes, and
/// the plain framer, are never judged so.
fn whole_but_for_a_length_bit<D: Deframer>(deframer: &mut D, rest: &[u8]) -> bool {
    let header_len = deframer.header_len();
    if header_len < wire::LENGTH_PREFIX_LEN + MIN_CHECKSUM_LEN_TO_JUDGE_A_LENGTH {
        return false;
    }
    let Some((header, after)) = rest.split_at_checked(header_len) else {
        return false;
    };
    let Some(prefix) = header.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>() else {
        return false;
    };
    let declared = u32::from_le_bytes(*prefix);
    (0..u32::BITS)
        .map(|bit| declared ^ (1 << bit))
        .filter(|&len| len > 0 && len < declared)
        .filter_map(|len| after.get(..usize::try_from(len).ok()?))
        .any(|payload| deframer.verify(header, payload).is_ok())
}

fn record_region(salvage: &mut Salvage, offset: u64, len: u64, frames_lost: Option<u64>) {
    salvage.regions_total += 1;
    if salvage.regions.len() < MAX_LISTED_REGIONS {
        salvage.regions.push(Region {
            offset,
            len,
            frames_lost,
        });
    }
}

/// Recovers the stream held whole in `data` (a slice, a memory map): the
/// scan of [`recover`](crate::recover), without copying.
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind as K};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
/// use flatstream_core::{RecoverOptions, Tail, recover_slice};
///
/// let stream = [1, 0, 0, 0, b'a', 2, 0, 0, 0, b'b', b'c', 9, 0];
/// let recovery = recover_slice(&stream, DefaultDeframer, RecoverOptions::new());
/// assert_eq!((recovery.frames, recovery.valid_len), (2, 11));
/// assert!(matches!(recovery.tail, Tail::Torn { offset: 11, len: 2 }));
/// ```
pub fn recover_slice<D: Deframer>(data: &[u8], deframer: D, options: RecoverOptions) -> Recovery {
    let mut cursor = FrameCursor::new(deframer);
    recover_slice_with(&mut cursor, data, options)
}

/// Recovers `data` from `cursor`'s position.
pub(crate) fn recover_slice_with<D: Deframer>(
    cursor: &mut FrameCursor<D>,
    data: &[u8],
    options: RecoverOptions,
) -> Recovery {
    let mut scan = RecoverScan::start(cursor, options);
    match scan.poll(cursor, data, true) {
        Ok(Scan::Done(recovery)) => recovery,
        // At the end of input neither the cursor nor the search asks for
        // more bytes, and a slice has no I/O to fail; were either to happen,
        // the cursor's position is the most that is known to be intact.
        Ok(Scan::Need(_)) | Err(_) => {
            let at = cursor.position();
            Recovery {
                frames: at.frame,
                valid_len: at.offset,
                tail: Tail::Clean,
                good_after: None,
                salvage: None,
                undecided: false,
            }
        }
    }
}
