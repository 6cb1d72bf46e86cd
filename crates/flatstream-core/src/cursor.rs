//! The frame cursor: the one sans-IO state machine between bytes and payloads.
//!
//! Every reader (`StreamReader` over `std::io::Read`, `SliceReader` over a
//! slice, `MmapStream`, the async readers built on top of this crate) and
//! recovery drive a [`FrameCursor`]. The cursor owns the position, the stream
//! offset and frame index, consuming a frame, what happens after a rejected
//! frame, what the end of input means, and the position of every error. Its
//! driver only moves bytes: it hands the cursor its buffer, reads more when
//! the cursor asks for it, and drops the bytes the cursor has consumed.

mod chain;

use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use crate::deframer::{Parts, decode_parts};
use crate::wire::{self, DEFAULT_MAX_FRAME_LEN};
use crate::{Deframer, Error, ErrorKind, Position, Result, StreamHeader};

use self::chain::{Chain, chain_at};
pub(crate) use self::chain::{
    PlainEnding, is_zero_frame, may_start_frames, plain_chain_to_the_end,
};

/// What a cursor does after a frame it cannot return: the one place where
/// this policy is decided, for every reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AfterDamage {
    /// Skip a frame that was read whole and rejected (a checksum mismatch,
    /// a validator's refusal) and go on with the next one, trusting its
    /// declared length; stay at a frame whose declared length is over the
    /// limit, since the next frame's start is unknown. The default.
    #[default]
    Skip,
    /// Salvage: after a checksum mismatch or a declared length over the
    /// limit, scan forward for the next offset where a chain of frames
    /// verifies (long enough for the checksum in use that a false match is
    /// below about 2<sup>-40</sup>), and report the bytes skipped as one
    /// [`ErrorKind::CorruptRegion`]. Meant for checksummed framers: without
    /// a checksum a chain is only lengths that add up.
    ///
    /// After a checksum mismatch the damaged frame's declared end is
    /// trusted when a chain starts there: a payload may itself hold frames
    /// of the same format (a log bundle sent as a chunk), and those are not
    /// this stream's. Frames inside the damaged frame's declared extent are
    /// read only when its checksum verifies over the bytes up to them (its
    /// length is then what was damaged), or when no chain starts at its
    /// declared end; a declared end exactly at the end of input ends the
    /// stream there. So if damage hits both a frame's length and its bytes,
    /// and the damaged length points exactly at a later frame, the frames in
    /// between are lost with it. A frame torn at the end of input whose
    /// payload holds such frames is not told apart from a damaged length:
    /// salvage reads them (recovery refuses to truncate it).
    ///
    /// The search is bounded in work (it gives up, and reports the rest as
    /// one region, when hostile bytes would make it check more than 16 MiB
    /// plus 16 bytes per byte scanned), but a `StreamReader` holds the
    /// damaged region in its buffer until good frames or the end of input
    /// arrive: over a source that may send gigabytes of garbage, prefer
    /// `Skip` and reconnect, or bound what you read.
    Resync,
    /// Stop at the damaged frame without consuming it: every later call
    /// reports the same damage. Recovery uses this to look at what follows.
    Stop,
}

/// What [`FrameCursor::poll`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A complete, verified frame, consumed by the cursor. Its bytes are
    /// still in the buffer; see [`FrameSpan::payload`].
    Frame(FrameSpan),
    /// The stream's self-describing header: a complete, verified first
    /// frame (at stream offset 0) whose payload is a
    /// [`StreamHeader`](crate::StreamHeader), consumed by the cursor. It is
    /// a frame on the wire (it counts in frame indices and offsets) but not
    /// a payload: readers keep it apart
    /// ([`StreamHeader::decode`](crate::StreamHeader::decode) reads it).
    Header(FrameSpan),
    /// More bytes are needed to decide anything: `needed` more than the
    /// buffer holds would help (exactly what an incomplete frame lacks; a
    /// read-ahead while searching for good frames after damage). It sizes
    /// the driver's next read: read what is available and poll again, never
    /// wait for all of them. `required` is the length of the incomplete frame
    /// as far as it is known (its header length until the header is
    /// complete).
    Need {
        /// Bytes still missing.
        needed: usize,
        /// The whole frame's length, as far as it is known.
        required: usize,
    },
    /// A clean end of input: the input ended at a frame boundary.
    End,
}

/// What the cursor's inlined poll found: a frame with its payload and the
/// unread bytes after it, or any other step.
#[derive(Debug)]
pub(crate) enum Polled<'b> {
    Frame {
        span: FrameSpan,
        payload: &'b [u8],
        after: &'b [u8],
    },
    Other(Step),
}

/// Where a frame lies in the buffer handed to [`FrameCursor::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpan {
    /// Index of the first header byte.
    pub start: usize,
    /// Index of the first payload byte.
    pub payload_start: usize,
    /// Index one past the last payload byte.
    pub end: usize,
}

impl FrameSpan {
    /// The payload, out of the buffer the span was found in.
    ///
    /// # Panics
    ///
    /// Panics if `buf` is shorter than the buffer the span came from.
    #[inline]
    #[must_use]
    pub fn payload<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.payload_start..self.end]
    }

    /// The whole frame, header included.
    ///
    /// # Panics
    ///
    /// Panics if `buf` is shorter than the buffer the span came from.
    #[inline]
    #[must_use]
    pub fn frame<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.start..self.end]
    }
}

/// The sans-IO frame cursor that every reader drives.
///
/// The driver keeps a buffer that holds a window of the stream, and calls
/// [`poll`](FrameCursor::poll) with it. The cursor decodes at its position in
/// that buffer and answers with a frame (already consumed), a request for
/// more bytes, a clean end, or an error positioned at the frame concerned.
/// When the driver wants to drop consumed bytes from the front of its buffer
/// it calls [`discard`](FrameCursor::discard), which says how many bytes it
/// may drop and keeps the stream offsets right.
///
/// The rules, the same for every reader:
///
/// - `eof = false` and an incomplete frame: [`Step::Need`]; nothing consumed.
/// - `eof = true`: the end of input. At a frame boundary it is [`Step::End`];
///   inside a frame it is [`ErrorKind::UnexpectedEof`] (a torn tail), with
///   nothing consumed, so that a driver whose source grows (a file still being
///   written) can read again and go on.
/// - A damaged frame: what happens next is the cursor's [`AfterDamage`]
///   policy.
///
/// # Examples
///
/// A driver over a source that delivers bytes in pieces:
///
/// ```
/// use flatstream_core::{Deframer, ErrorKind, FrameCursor, Step};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
///
/// let pieces: [&[u8]; 3] = [&[2, 0, 0], &[0, b'h', b'i', 1, 0], &[0, 0, b'!']];
/// let mut cursor = FrameCursor::new(DefaultDeframer);
/// let mut buf = Vec::new();
/// let mut pieces = pieces.iter();
/// let mut payloads = Vec::new();
/// loop {
///     match cursor.poll(&buf, false)? {
///         Step::Frame(span) => payloads.push(span.payload(&buf).to_vec()),
///         Step::Header(_) => unreachable!("this stream has no header"),
///         Step::Need { .. } => match pieces.next() {
///             Some(piece) => {
///                 let consumed = cursor.discard();
///                 buf.drain(..consumed);
///                 buf.extend_from_slice(piece);
///             }
///             None => match cursor.poll(&buf, true)? {
///                 Step::End => break,
///                 step => unreachable!("{step:?}"),
///             },
///         },
///         Step::End => unreachable!("only at the end of input"),
///     }
/// }
/// assert_eq!(payloads, [b"hi".to_vec(), b"!".to_vec()]);
/// assert_eq!(cursor.position().offset, 11);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameCursor<D> {
    deframer: D,
    max_frame_len: usize,
    after_damage: AfterDamage,
    /// The frame limit of the hot path: `max_frame_len`, or 0 while the
    /// first frame of the stream is still to be judged (it may be the
    /// header), so that the hot path sends any frame with a payload to the
    /// cold path then, and checks nothing per frame for it.
    hot_limit: usize,
    /// The first frame of the stream is still to be judged.
    header_pending: bool,
    /// Where the cursor is. Kept apart, and handed to the cold paths by
    /// value, so that the hot loop keeps it in registers.
    at: At,
    /// A resynchronisation in progress ([`AfterDamage::Resync`]), or a
    /// torn frame's verdict ([`Resync::torn`]).
    resync: Option<Box<Resync>>,
}

/// Where a cursor is: the numbers behind [`FrameCursor::position`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct At {
    /// Stream offset of index 0 of the driver's buffer.
    base: u64,
    /// Index, in the driver's buffer, of the next frame.
    pos: usize,
    /// Index of the next frame.
    frame: u64,
}

impl At {
    #[inline(always)]
    fn position(self) -> Position {
        Position {
            offset: self.base + self.pos as u64,
            frame: self.frame,
        }
    }

    /// Moves to the stream offset `offset`, which lies in the buffer.
    fn seek(&mut self, offset: u64) {
        self.pos = usize::try_from(offset.saturating_sub(self.base)).unwrap_or(usize::MAX);
    }
}

/// The damage that starts a resynchronisation.
#[derive(Debug, Clone, Copy)]
enum Cause {
    Mismatch {
        algorithm: &'static str,
        expected: u64,
        computed: u64,
    },
    TooLarge {
        declared: u64,
        limit: u64,
    },
    /// A frame that runs past the end of input: torn, unless good frames
    /// follow it (then its length is what is damaged).
    PastEnd {
        available: u64,
        required: u64,
    },
}

impl Cause {
    fn of(kind: &ErrorKind) -> Option<Cause> {
        match *kind {
            ErrorKind::ChecksumMismatch {
                algorithm,
                expected,
                computed,
            } => Some(Cause::Mismatch {
                algorithm,
                expected,
                computed,
            }),
            ErrorKind::FrameTooLarge { declared, limit } => {
                Some(Cause::TooLarge { declared, limit })
            }
            _ => None,
        }
    }

    fn into_kind(self) -> ErrorKind {
        match self {
            Cause::Mismatch {
                algorithm,
                expected,
                computed,
            } => ErrorKind::ChecksumMismatch {
                algorithm,
                expected,
                computed,
            },
            Cause::TooLarge { declared, limit } => ErrorKind::FrameTooLarge { declared, limit },
            Cause::PastEnd {
                available,
                required,
            } => ErrorKind::UnexpectedEof {
                available,
                required,
            },
        }
    }
}

/// The state of a resynchronisation after damage.
#[derive(Debug, Clone)]
struct Resync {
    /// The damage that started it, at the cursor's position (which stays at
    /// the damaged frame until the scan ends, so that polling again meets
    /// the same damage and goes on with the scan).
    cause: Cause,
    /// The stream offset of the damaged frame: a resynchronisation applies
    /// while the cursor is there (a frame that runs past the end may have
    /// become whole when a growing source delivered more).
    damage: u64,
    /// The length the damaged frame declares, if it could be read: when the
    /// chain is found exactly there, one frame was lost.
    declared_end: Option<u64>,
    /// The search for where good frames resume.
    resume: Resume,
    /// Not a resynchronisation but a salvage read's verdict on a frame
    /// that runs past the end of input: the search found no good frames in
    /// its bytes, this many. Polled again with as many (a caller retrying
    /// the resumable `UnexpectedEof`, a follower waiting at the end of a
    /// file), the frame is torn again without the same search; with more,
    /// they are searched.
    torn: Option<usize>,
}

/// A search for where good frames resume after damage at a cursor: the one
/// place where salvage reading and recovery decide it (see [`find_resume`]).
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    /// The stream offset of the next candidate frame start.
    candidate: u64,
    /// The verification work the search may still do.
    budget: Budget,
    /// After a checksum mismatch: where the damaged frame ends by its
    /// length, which is then trusted over chains elsewhere.
    trusted_end: Option<u64>,
    /// The search's verdict (never `Need`), held while the chain at
    /// `trusted_end` waits for bytes (so that it is neither searched for nor
    /// paid for again).
    searched: Option<Search>,
}

impl Resume {
    /// A search whose first candidate is the stream offset `from`, with a
    /// budget counted from `budget_from`, after damage whose frame declares
    /// `declared_end`: trusted (see [`find_resume`]) only when the damage
    /// is a checksum mismatch, where the length is probably intact.
    pub(crate) fn new(
        budget_from: u64,
        from: u64,
        declared_end: Option<u64>,
        mismatch: bool,
    ) -> Self {
        Resume {
            candidate: from,
            budget: Budget::new(budget_from),
            trusted_end: declared_end.filter(|_| mismatch),
            searched: None,
        }
    }

    /// The same search with the budget of one that runs once per stream
    /// (recovery's judgement of where its intact frames stop, which decides
    /// whether a tail may be truncated): [`Budget::ONCE_BASE`].
    pub(crate) fn searched_once(mut self) -> Self {
        self.budget.base = Budget::ONCE_BASE;
        self
    }
}

impl<D: Deframer> FrameCursor<D> {
    /// A cursor at the start of a stream, with the frame limit
    /// [`DEFAULT_MAX_FRAME_LEN`] and [`AfterDamage::Skip`].
    pub fn new(deframer: D) -> Self {
        FrameCursor {
            deframer,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            after_damage: AfterDamage::Skip,
            hot_limit: 0,
            header_pending: true,
            at: At {
                base: 0,
                pos: 0,
                frame: 0,
            },
            resync: None,
        }
    }

    /// Sets the largest payload length accepted (the smaller of it and the
    /// deframer's own limit applies).
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.set_max_frame_len(max_frame_len);
        self
    }

    /// Sets what happens after a damaged frame.
    #[must_use]
    pub fn with_after_damage(mut self, after_damage: AfterDamage) -> Self {
        self.after_damage = after_damage;
        self
    }

    /// Starts counting at `position`: the stream offset of the driver's
    /// buffer index 0 and the index of the next frame. For a reader that
    /// starts in the middle of a stream.
    #[must_use]
    pub fn starting_at(mut self, position: Position) -> Self {
        self.at.base = position.offset;
        self.at.frame = position.frame;
        if position.offset != 0 || position.frame != 0 {
            self.header_judged();
        }
        self
    }

    /// Finds the next frame in `buf` (the driver's buffer, whose consumed
    /// prefix is still there until [`discard`](FrameCursor::discard)), with
    /// `eof` telling whether the source has ended.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] at the end of input inside a frame, the
    /// damage of a frame ([`ErrorKind::ChecksumMismatch`],
    /// [`ErrorKind::FrameTooLarge`], [`ErrorKind::Invalid`],
    /// [`ErrorKind::InvalidHeaderLen`]), or, with [`AfterDamage::Resync`],
    /// [`ErrorKind::CorruptRegion`] for the bytes skipped. Every error is
    /// positioned at the frame (or region) it concerns.
    #[inline]
    pub fn poll(&mut self, buf: &[u8], eof: bool) -> Result<Step> {
        // Straight to the decoding: the position is the cursor's own, never
        // derived from the unread bytes, which are empty (and say nothing of
        // where the cursor is) when a driver hands in less than it consumed.
        match self.poll_from(buf, self.unread(buf), eof)? {
            Polled::Frame { span, .. } => Ok(Step::Frame(span)),
            Polled::Other(step) => Ok(step),
        }
    }

    /// [`poll`](FrameCursor::poll) for a driver that holds the unread bytes,
    /// `unread`, which must be [`unread(buf)`](FrameCursor::unread) (a frame
    /// hands out the next ones), so that nothing is sliced again per frame
    /// (`SliceReader`).
    #[inline(always)]
    pub(crate) fn poll_unread<'b>(
        &mut self,
        buf: &'b [u8],
        unread: &'b [u8],
        eof: bool,
    ) -> Result<Polled<'b>> {
        debug_assert!(
            core::ptr::eq(unread, self.unread(buf)),
            "the driver's unread bytes are the cursor's"
        );
        // The position is where the driver's bytes start: written here, the
        // store of the previous frame's end is dead, so a driver's loop
        // carries its unread bytes and the frame index, nothing else. (From
        // the address, not the length: the address outlives a checksum call
        // in a register anyway.)
        self.at.pos = unread.as_ptr().addr().wrapping_sub(buf.as_ptr().addr());
        self.poll_from(buf, unread, eof)
    }

    /// Hands every whole, verified frame in `buf` to `f` in a loop that
    /// keeps the position in registers, and returns the first other step
    /// (more bytes needed, the end, a header, or a frame from the cold
    /// paths, which the driver hands to `f` itself): [`poll`] in a loop,
    /// for a driver that processes everything it has buffered before it
    /// reads again (`StreamReader::process_all`). Same behaviour, one
    /// frame at a time: each frame is decoded and judged once, and after
    /// `f` fails the frame it was given stays consumed.
    ///
    /// [`poll`]: FrameCursor::poll
    #[cfg(feature = "std")]
    #[inline(always)]
    pub(crate) fn run<'b, E: From<Error>>(
        &mut self,
        buf: &'b [u8],
        eof: bool,
        mut f: impl FnMut(&'b [u8]) -> core::result::Result<(), E>,
    ) -> core::result::Result<Step, E> {
        let mut at = self.at;
        let mut unread = buf.get(at.pos..).unwrap_or_default();
        let first = loop {
            match decode_parts(&mut self.deframer, unread, self.hot_limit) {
                Ok(Parts::Frame {
                    frame_len,
                    payload,
                    after,
                    ..
                }) => {
                    at.pos += frame_len;
                    at.frame += 1;
                    if let Err(e) = f(payload) {
                        self.at = at;
                        return Err(e);
                    }
                    unread = after;
                }
                Ok(Parts::Incomplete { needed, required }) => {
                    self.at = at;
                    if !eof {
                        return Ok(Step::Need { needed, required });
                    }
                    break First::past_end(required);
                }
                Err(kind) => {
                    self.at = at;
                    break First::Damaged(kind);
                }
            }
        };
        Ok(self.poll_cold(buf, eof, first)?)
    }

    #[inline(always)]
    fn poll_from<'b>(&mut self, buf: &'b [u8], unread: &'b [u8], eof: bool) -> Result<Polled<'b>> {
        // The hot path: a whole frame that verifies, or more bytes to come.
        // Everything else (ends, damage, resynchronisation) is apart, and
        // decodes again, so that nothing here has to outlive the match.
        let mut at = self.at;
        let first = match decode_parts(&mut self.deframer, unread, self.hot_limit) {
            Ok(Parts::Frame {
                payload_start,
                frame_len,
                payload,
                after,
            }) => {
                let start = at.pos;
                at.pos = start + frame_len;
                at.frame += 1;
                self.at = at;
                return Ok(Polled::Frame {
                    span: FrameSpan {
                        start,
                        payload_start: start + payload_start,
                        end: start + frame_len,
                    },
                    payload,
                    after,
                });
            }
            Ok(Parts::Incomplete { needed, required }) => {
                if !eof {
                    return Ok(Polled::Other(Step::Need { needed, required }));
                }
                if self.ends_cleanly(unread) {
                    return Ok(Polled::Other(Step::End));
                }
                First::past_end(required)
            }
            Err(kind) => First::Damaged(kind),
        };
        self.poll_cold(buf, eof, first).map(Polled::Other)
    }

    /// Everything but a verified frame or a request for more bytes, in
    /// [`cold_step`]: `first` is what `decode` said at the cursor's position
    /// (each frame is judged once, so a validator or observer runs once per
    /// frame). What the cold paths change is moved there and back by value,
    /// and the deframer lent apart, so that a driver's loop that inlines the
    /// hot path never hands out an address inside the cursor, and keeps its
    /// position in registers. (A cold call taking `&mut self` put
    /// `SliceReader`'s state in memory: 99 instructions per 64-byte XXH3
    /// frame. Cold paths inlined into the loop kept it in registers but cost
    /// 80 and scattered the loop's blocks; out of line by value, 73.)
    #[inline(always)]
    fn poll_cold(&mut self, buf: &[u8], eof: bool, first: First) -> Result<Step> {
        let moved = Moved {
            at: self.at,
            header_pending: self.header_pending,
            resync: self.resync.take(),
        };
        let (moved, step) = cold_step(
            &mut self.deframer,
            self.max_frame_len,
            self.after_damage,
            moved,
            buf,
            eof,
            first,
        );
        self.at = moved.at;
        self.resync = moved.resync;
        if !moved.header_pending {
            self.header_judged();
        }
        step
    }

    /// Whether the end of input after `unread` (the cursor's unread bytes)
    /// is the stream's end with nothing left to decide: no byte unread, the
    /// first frame judged, no resynchronisation under way (nor a torn
    /// frame's verdict kept: the cold paths drop it once the cursor has
    /// moved on). The cold paths would say [`Step::End`] too; this spares a
    /// stream of a few large frames their call at its end.
    #[inline(always)]
    fn ends_cleanly(&self, unread: &[u8]) -> bool {
        unread.is_empty() && !self.header_pending && self.resync.is_none()
    }

    /// The first frame is judged: the hot path takes the real limit.
    fn header_judged(&mut self) {
        self.header_pending = false;
        self.hot_limit = self.max_frame_len;
    }

    /// Whether the cursor is still before the first frame of the stream,
    /// which may be a header: nothing but empty frames consumed yet.
    #[must_use]
    pub fn header_pending(&self) -> bool {
        self.header_pending
    }

    /// Whether the next frame in `buf` is the stream's header, judged
    /// without verifying it (polling does that, once): `None` while the
    /// frame is not all in `buf`. A frame that is not the first of the
    /// stream, or declares a length over the limit, is not a header.
    pub(crate) fn peek_header(&self, buf: &[u8]) -> Option<bool> {
        let at = self.position();
        if !self.header_pending || at.offset != 0 || at.frame != 0 {
            return Some(false);
        }
        let header_len = self.deframer.header_len();
        let unread = self.unread(buf);
        if let Some(prefix) = unread.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
            && usize::try_from(u32::from_le_bytes(*prefix)).unwrap_or(usize::MAX)
                > self.max_frame_len.min(self.deframer.max_frame_len())
        {
            return Some(false);
        }
        let frame_len = wire::whole_frame_len(unread, header_len)?;
        let payload = unread.get(header_len..frame_len).unwrap_or_default();
        Some(StreamHeader::is_header(payload))
    }

    /// Goes on with `resume`, a search for where good frames resume after
    /// the damaged frame at the cursor: see [`find_resume`].
    pub(crate) fn find_resume(&mut self, buf: &[u8], eof: bool, resume: &mut Resume) -> Search {
        find_resume(
            &mut self.deframer,
            self.max_frame_len,
            self.at,
            buf,
            eof,
            resume,
        )
    }

    /// Where the frame at the cursor ends by its length prefix, if that
    /// prefix is in `buf`.
    pub(crate) fn declared_end(&self, buf: &[u8]) -> Option<u64> {
        declared_end(&self.deframer, self.at, buf)
    }

    /// Moves the cursor to the stream offset `offset`, which must lie in the
    /// driver's buffer (at or after the bytes already discarded); the frame
    /// index is left to the caller.
    pub(crate) fn seek(&mut self, offset: u64) {
        self.at.seek(offset);
    }

    /// Counts one more frame (a damaged region skipped by its caller).
    pub(crate) fn count_frame(&mut self) {
        self.at.frame += 1;
    }

    /// Sets the index of the next frame (recovery stepping back one frame).
    pub(crate) fn set_frame(&mut self, frame: u64) {
        self.at.frame = frame;
    }
}

/// A cursor's settings and resynchronisation state, swapped out while a
/// recovery scan borrows the cursor.
#[derive(Debug)]
pub(crate) struct Settings {
    after_damage: AfterDamage,
    max_frame_len: usize,
    resync: Option<Box<Resync>>,
}

impl Settings {
    /// Settings with no resynchronisation in progress.
    pub(crate) fn new(after_damage: AfterDamage, max_frame_len: usize) -> Self {
        Settings {
            after_damage,
            max_frame_len,
            resync: None,
        }
    }
}

impl<D> FrameCursor<D> {
    /// Puts `settings` on the cursor and returns the ones it had.
    pub(crate) fn swap_settings(&mut self, settings: Settings) -> Settings {
        let old = Settings {
            after_damage: core::mem::replace(&mut self.after_damage, settings.after_damage),
            max_frame_len: self.max_frame_len,
            resync: core::mem::replace(&mut self.resync, settings.resync),
        };
        self.set_max_frame_len(settings.max_frame_len);
        old
    }

    /// Changes the frame limit of a cursor in use.
    pub fn set_max_frame_len(&mut self, max_frame_len: usize) {
        self.max_frame_len = max_frame_len;
        // A torn frame's verdict depends on the limit.
        self.resync.take_if(|resync| resync.torn.is_some());
        if !self.header_pending {
            self.hot_limit = max_frame_len;
        }
    }

    /// Changes the damage policy of a cursor in use. A resynchronisation in
    /// progress is abandoned; the cursor stays at the damaged frame.
    pub fn set_after_damage(&mut self, after_damage: AfterDamage) {
        self.after_damage = after_damage;
        self.resync = None;
    }

    /// The frame limit set on the cursor (the deframer's own may be smaller).
    #[must_use]
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// The damage policy.
    #[must_use]
    pub fn after_damage(&self) -> AfterDamage {
        self.after_damage
    }

    /// The stream offset and index of the next frame.
    #[inline]
    #[must_use]
    pub fn position(&self) -> Position {
        self.at.position()
    }

    /// The position of the frame that the last poll returned as `span`.
    #[inline(always)]
    pub(crate) fn position_of(&self, span: &FrameSpan) -> Position {
        Position {
            offset: self.at.base + span.start as u64,
            frame: self.at.frame - 1,
        }
    }

    /// Index, in the driver's buffer, of the next frame: the bytes before it
    /// are consumed.
    #[inline]
    #[must_use]
    pub fn consumed(&self) -> usize {
        self.at.pos
    }

    /// The bytes of `buf` not consumed yet.
    #[inline]
    #[must_use]
    pub fn unread<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        buf.get(self.at.pos..).unwrap_or_default()
    }

    /// Tells the cursor that the driver drops the consumed bytes from the
    /// front of its buffer; returns how many that is. After this call the
    /// next frame is at index 0 of the driver's buffer.
    #[inline]
    pub fn discard(&mut self) -> usize {
        let consumed = self.at.pos;
        self.at.base += consumed as u64;
        self.at.pos = 0;
        consumed
    }

    /// [`discard`](FrameCursor::discard) of the first `n` consumed bytes
    /// only (at most all of them): a driver that keeps some consumed bytes.
    #[cfg(feature = "std")]
    pub(crate) fn discard_front(&mut self, n: usize) {
        let dropped = self.at.pos.min(n);
        self.at.base += dropped as u64;
        self.at.pos -= dropped;
    }

    /// The deframer.
    pub fn deframer(&self) -> &D {
        &self.deframer
    }

    /// The deframer, mutably.
    pub fn deframer_mut(&mut self) -> &mut D {
        &mut self.deframer
    }

    /// Returns the deframer.
    pub fn into_deframer(self) -> D {
        self.deframer
    }
}

/// What the cold paths change of a [`FrameCursor`], moved into
/// [`cold_step`] and back.
struct Moved {
    at: At,
    header_pending: bool,
    resync: Option<Box<Resync>>,
}

/// The cursor's cold paths, out of line: the first frame of the stream, the
/// end of input, damage and resynchronisation. `moved` is the cursor's
/// state, returned with the step.
#[cold]
#[inline(never)]
fn cold_step<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    after_damage: AfterDamage,
    mut moved: Moved,
    buf: &[u8],
    eof: bool,
    first: First,
) -> (Moved, Result<Step>) {
    let first = if moved.header_pending {
        let (judged, at, pending) = first_frame(deframer, max_frame_len, moved.at, buf, eof);
        moved.at = at;
        moved.header_pending = pending;
        match judged {
            Judged::Step(step) => return (moved, Ok(step)),
            Judged::Cold(first) => first,
        }
    } else {
        first
    };
    let mut cold = Cold {
        deframer,
        resync: moved.resync,
        max_frame_len,
        after_damage,
        at: moved.at,
    };
    let step = cold.poll(buf, eof, first);
    moved.at = cold.at;
    moved.resync = cold.resync;
    (moved, step)
}

/// Judges the first frame of the stream, which the hot path sent to the
/// cold path with a limit of 0 (so what it decoded says nothing): a header,
/// a frame, more bytes to wait for, or, for the cold path, what decoding it
/// with the real limit says. Returns that, the new position, and whether
/// the first frame is still pending (only while waiting for its bytes).
#[inline(always)]
fn first_frame<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    mut at: At,
    buf: &[u8],
    eof: bool,
) -> (Judged, At, bool) {
    let at_start = at.frame == 0 && at.position().offset == 0;
    let unread = buf.get(at.pos..).unwrap_or_default();
    let judged = match decode_parts(deframer, unread, max_frame_len) {
        Ok(Parts::Incomplete { needed, required }) if !eof => {
            return (Judged::Step(Step::Need { needed, required }), at, at_start);
        }
        Ok(Parts::Frame {
            payload_start,
            frame_len,
            payload,
            ..
        }) => {
            let start = at.pos;
            let span = FrameSpan {
                start,
                payload_start: start + payload_start,
                end: start + frame_len,
            };
            at.pos = span.end;
            at.frame += 1;
            Judged::Step(if at_start && StreamHeader::is_header(payload) {
                Step::Header(span)
            } else {
                Step::Frame(span)
            })
        }
        Ok(Parts::Incomplete { required, .. }) => Judged::Cold(First::past_end(required)),
        Err(kind) => Judged::Cold(First::Damaged(kind)),
    };
    (judged, at, false)
}

/// What judging the first frame of a stream came to.
#[derive(Debug)]
enum Judged {
    /// The step to return.
    Step(Step),
    /// What the cold path goes on with.
    Cold(First),
}

/// What the hot path found when it did not find a frame or a need.
#[derive(Debug)]
enum First {
    /// The end of input inside a frame (or at a boundary). `_fill` writes
    /// the words that `Damaged` uses: a variant that left them unwritten
    /// would make a driver's loop carry the last error's words from frame
    /// to frame (in registers, or spilled around the checksum call), which
    /// cost the slice reader 4-5 instructions per frame.
    PastEnd { required: usize, _fill: [usize; 3] },
    /// The deframer refused what is at the cursor.
    Damaged(ErrorKind),
}

impl First {
    /// [`First::PastEnd`], every word written.
    #[inline(always)]
    fn past_end(required: usize) -> First {
        First::PastEnd {
            required,
            _fill: [0; 3],
        }
    }
}

/// The cursor's cold paths after the first frame: the end of input, damage,
/// resynchronisation, on the parts of the cursor that [`cold_step`] holds.
struct Cold<'c, D> {
    deframer: &'c mut D,
    resync: Option<Box<Resync>>,
    max_frame_len: usize,
    after_damage: AfterDamage,
    at: At,
}

impl<D: Deframer> Cold<'_, D> {
    /// Everything [`FrameCursor::poll`] does not do inline: `decoded` is
    /// what `decode` said at the cursor's position.
    #[inline(always)]
    fn poll(&mut self, buf: &[u8], eof: bool, first: First) -> Result<Step> {
        let available = buf.len().saturating_sub(self.at.pos);
        let here = self.at.position().offset;
        if self
            .resync
            .as_deref()
            .is_some_and(|resync| resync.damage != here)
        {
            self.resync = None;
        }
        match first {
            // A resynchronisation in progress: the cursor is still at the
            // damaged frame, and meets its damage again.
            _ if self
                .resync
                .as_deref()
                .is_some_and(|resync| resync.torn.is_none()) =>
            {
                self.poll_resync(buf, eof)
            }
            First::PastEnd { .. } if available == 0 => Ok(Step::End),
            First::PastEnd { required, .. } => self.past_end(buf, available, required),
            First::Damaged(kind) => self.damaged(buf, eof, kind),
        }
    }

    /// The end of input inside a frame: a torn tail or, when salvaging and
    /// good frames follow, a damaged length.
    #[inline(always)]
    fn past_end(&mut self, buf: &[u8], available: usize, required: usize) -> Result<Step> {
        let at = self.at.position();
        let torn = ErrorKind::UnexpectedEof {
            available: available as u64,
            required: required as u64,
        };
        let cause = Cause::PastEnd {
            available: available as u64,
            required: required as u64,
        };
        // A verdict kept here (`poll` dropped any other) on as many bytes.
        if self.resync.as_deref().and_then(|resync| resync.torn) == Some(available) {
            return Err(Error::from(torn).at(at));
        }
        self.resync = None;
        if self.after_damage != AfterDamage::Resync {
            return Err(Error::from(torn).at(at));
        }
        let mut budget = Budget::new(at.offset);
        let found = matches!(
            find_chain(
                self.deframer,
                self.max_frame_len,
                self.at,
                buf,
                at.offset + 1,
                true,
                &mut budget,
            ),
            Search::Found(_)
        );
        self.resync = Some(Box::new(Resync {
            cause,
            damage: at.offset,
            declared_end: None,
            resume: Resume::new(at.offset, at.offset + 1, None, false),
            torn: (!found).then_some(available),
        }));
        if found {
            return self.poll_resync(buf, true);
        }
        Err(Error::from(torn).at(at))
    }

    /// What happens after a frame the deframer refused.
    #[inline(always)]
    fn damaged(&mut self, buf: &[u8], eof: bool, kind: ErrorKind) -> Result<Step> {
        let at = self.at.position();
        let unread = buf.get(self.at.pos..).unwrap_or_default();
        let header_len = self.deframer.header_len();
        match (self.after_damage, Cause::of(&kind)) {
            (AfterDamage::Resync, Some(cause)) => {
                let declared_end = declared_end(self.deframer, self.at, buf);
                let mismatch = matches!(cause, Cause::Mismatch { .. });
                self.resync = Some(Box::new(Resync {
                    cause,
                    damage: at.offset,
                    declared_end,
                    resume: Resume::new(at.offset, at.offset + 1, declared_end, mismatch),
                    torn: None,
                }));
                self.poll_resync(buf, eof)
            }
            (AfterDamage::Stop, _) => Err(Error::from(kind).at(at)),
            (AfterDamage::Skip | AfterDamage::Resync, _) => {
                // A frame refused by `verify` was read whole: skip it, so
                // that the caller may go on. A bad length is never skipped:
                // the next frame's start is unknown.
                if !matches!(
                    kind,
                    ErrorKind::FrameTooLarge { .. } | ErrorKind::InvalidHeaderLen { .. }
                ) && let Some(frame_len) = wire::whole_frame_len(unread, header_len)
                {
                    self.at.pos += frame_len;
                    self.at.frame += 1;
                }
                Err(Error::from(kind).at(at))
            }
        }
    }

    /// Goes on with a resynchronisation: tries candidate frame starts after
    /// the damaged frame until a chain of frames verifies there.
    #[inline(always)]
    fn poll_resync(&mut self, buf: &[u8], eof: bool) -> Result<Step> {
        let Some(mut resync) = self.resync.take() else {
            return Ok(Step::End);
        };
        let found = match find_resume(
            self.deframer,
            self.max_frame_len,
            self.at,
            buf,
            eof,
            &mut resync.resume,
        ) {
            Search::Found(offset) => offset,
            // Nothing good up to the end, or a search that would cost too
            // much (hostile, repetitive bytes): the rest is one region.
            Search::NotFound | Search::GaveUp => self.at.base + buf.len() as u64,
            Search::Need { needed, .. } => {
                self.resync = Some(resync);
                return Ok(Step::Need {
                    needed,
                    required: needed,
                });
            }
        };
        self.resync = Some(resync);
        let at = self.at.position();
        let Some(resync) = self.resync.take() else {
            unreachable!("checked above")
        };
        let frames_lost = (resync.declared_end == Some(found)).then_some(1);
        self.at.seek(found);
        self.at.frame += 1;
        Err(Error::from(ErrorKind::CorruptRegion {
            len: found.saturating_sub(at.offset),
            frames_lost,
            cause: Box::new(resync.cause.into_kind()),
        })
        .at(at))
    }
}

/// The verification work a search for good frames may do: every byte that
/// candidate frames make the deframer check counts, and the search gives up
/// once it has checked more than [`Budget::BASE`] bytes (16 MiB) plus
/// [`Budget::PER_BYTE`] (16) per byte it has moved past the damage. Real damage
/// (bit flips, zero fill, torn writes) costs a small multiple of its length;
/// hostile, repetitive bytes whose every offset declares a large frame would
/// otherwise cost the square of their length.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    /// Where the search started.
    start: u64,
    /// Bytes checked so far.
    spent: u64,
    /// Bytes the search may check before it has moved at all.
    base: u64,
    /// The look-ahead past a candidate that waits for more bytes (see
    /// `look_ahead`): that candidate, how far later ones have been tried,
    /// and where the first frame of the earliest waiting one among them ends.
    waiting: u64,
    looked_ahead: u64,
    pending_end: u64,
    /// Bytes the look-ahead has checked, for the candidate that waits.
    ahead_spent: u64,
    /// Candidates with a long first frame, judged once the search has
    /// passed its end (see [`find_chain`]). Kept here, with the rest of the
    /// search's state, so that a search that waits for bytes goes on with
    /// them.
    deferred: Deferred,
}

impl Budget {
    const BASE: u64 = 16 << 20;
    const PER_BYTE: u64 = 16;
    /// The base of a search that runs once per stream: deciding whether a
    /// frame that runs past the end is a torn tail must rule out good frames
    /// in megabytes of regular payload bytes (small counters, offsets),
    /// where most offsets read as a frame that fits (a torn 64 KiB frame of
    /// counters costs 88 MB of checksums; spending the whole of it took
    /// about a tenth of a second here, CRC-16 included). A salvage read
    /// searches once per damaged region and keeps [`Budget::BASE`].
    const ONCE_BASE: u64 = 256 << 20;

    pub(crate) fn new(start: u64) -> Self {
        Budget {
            start,
            spent: 0,
            base: Self::BASE,
            waiting: u64::MAX,
            looked_ahead: 0,
            pending_end: u64::MAX,
            ahead_spent: 0,
            deferred: Deferred::default(),
        }
    }

    /// Whether this is recovery's one judgement of where its intact frames
    /// stop ([`Resume::searched_once`]), not a salvage read.
    fn runs_once(&self) -> bool {
        self.base == Self::ONCE_BASE
    }

    /// The work a search that runs once ([`Budget::ONCE_BASE`]) may do
    /// over `searched` bytes: recovery's other checks of a tail keep to it.
    pub(crate) fn once_allowance(searched: u64) -> u64 {
        Self::ONCE_BASE.saturating_add(Self::PER_BYTE.saturating_mul(searched))
    }

    fn exhausted(&self, candidate: u64) -> bool {
        let allowed = self
            .base
            .saturating_add(Self::PER_BYTE.saturating_mul(candidate.saturating_sub(self.start)));
        self.spent > allowed
    }
}

/// Where the frame at `at` ends by its length prefix, if that prefix is in
/// `buf`.
fn declared_end<D: Deframer>(deframer: &D, at: At, buf: &[u8]) -> Option<u64> {
    let prefix = buf
        .get(at.pos..)?
        .first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()?;
    let header_len = deframer.header_len() as u64;
    Some(at.position().offset + header_len + u64::from(u32::from_le_bytes(*prefix)))
}

/// Where good frames resume after the damaged frame at `at`: the first
/// offset after it where a chain of real frames starts ([`find_chain`]),
/// except after a checksum mismatch, when `resume.trusted_end` is the
/// damaged frame's declared end.
///
/// A mismatch usually means damaged payload bytes under an intact length,
/// and a payload may itself hold frames of the same format (a log bundle
/// sent as a chunk): chains inside it are not this stream's. So the
/// declared end wins whenever a chain starts there, wherever the search
/// found one (before it, or after it, past a long frame it deferred), and
/// also when the search found none or gave up (payloads of regular bytes,
/// counters or offsets, read as frames that fit at most offsets, which a
/// search through them cannot afford to rule out), unless the damaged
/// frame's checksum verifies over the bytes up to an earlier chain: then
/// its length is what was damaged, and that chain is where the next frame
/// starts, decided without waiting for more bytes. That check is made once,
/// on the first chain the search finds (a damaged length's real end is the
/// first real frame start after it; checking every chain would also give a
/// weak checksum one chance per chain of matching a shorter prefix). A
/// declared end exactly at the end of input counts as a chain there, with
/// nothing after it. The search's verdict is kept while the chain at the
/// declared end waits for bytes, so that it is not searched for (or paid
/// for) again.
fn find_resume<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    at: At,
    buf: &[u8],
    eof: bool,
    resume: &mut Resume,
) -> Search {
    let searched = match resume.searched {
        Some(searched) => searched,
        None => match find_chain(
            deframer,
            max_frame_len,
            at,
            buf,
            resume.candidate,
            eof,
            &mut resume.budget,
        ) {
            Search::Need { needed, candidate } => {
                resume.candidate = candidate;
                return Search::Need { needed, candidate };
            }
            searched => searched,
        },
    };
    let Some(end) = resume.trusted_end else {
        return searched;
    };
    let index = |offset: u64| usize::try_from(offset - at.base).unwrap_or(usize::MAX);
    let found = match searched {
        Search::Found(found) => Some(found),
        _ => None,
    };
    if found == Some(end) {
        return searched;
    }
    if let Some(found) = found.filter(|&found| found < end) {
        let header_len = deframer.header_len();
        let length_damaged = buf
            .get(at.pos..index(found))
            .and_then(|frame| frame.split_at_checked(header_len))
            .is_some_and(|(header, payload)| {
                resume.budget.spent = resume.budget.spent.saturating_add(payload.len() as u64);
                deframer.verify(header, payload).is_ok()
            });
        if length_damaged {
            return searched;
        }
    }
    if eof && index(end) == buf.len() {
        // The damaged frame reaches exactly the end: nothing good after it,
        // and a chain inside it is not this stream's, for a salvage read.
        // Recovery, which decides what may be truncated, cannot rule that
        // chain out (the frame's length and payload may both be damaged,
        // and the chain be the frames after it): undecided, as when the
        // search gave up, so that the frame is corruption, never a tail to
        // cut.
        return match found {
            Some(_) if resume.budget.runs_once() => Search::GaveUp,
            Some(_) => Search::NotFound,
            None => searched,
        };
    }
    let mut cost = 0;
    match chain_at(deframer, buf, index(end), eof, max_frame_len, &mut cost) {
        Chain::Need(needed) => {
            resume.searched = Some(searched);
            Search::Need {
                needed: needed.max(SEARCH_READ_AHEAD),
                candidate: found.unwrap_or(end),
            }
        }
        chain => {
            resume.budget.spent = resume.budget.spent.saturating_add(cost);
            resume.searched = None;
            if chain == Chain::Verified {
                Search::Found(end)
            } else {
                searched
            }
        }
    }
}

/// Looks for the first offset at or after `from` (a stream offset within or
/// at the end of `buf`, whose index 0 is at `at.base`) where a chain of real
/// frames starts.
///
/// Candidates are judged in order, except that one whose first frame is
/// long (over [`DEFER_FRAMES_OVER`]) and all in `buf` is judged once the
/// search has passed that frame's end, and not at all when a chain inside
/// the frame verifies first, unless its lengths run on like a stream of
/// long frames ([`defer_long`]). The state that outlives a
/// call (deferred candidates, the look-ahead's progress, the work done) is
/// in `budget`, so that a search that waits for bytes goes on where it was.
#[inline(always)]
fn find_chain<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    at: At,
    buf: &[u8],
    from: u64,
    eof: bool,
    budget: &mut Budget,
) -> Search {
    let mut candidate = usize::try_from(from.saturating_sub(at.base)).unwrap_or(usize::MAX);
    // A candidate whose first frame is long is judged after the candidates
    // inside that frame: a chain verifying there rules it out (good frames
    // inside a real payload would be a < 2^-40 accident), and is found
    // without a checksum over the long frame. False lengths that happen to
    // fit the buffer would otherwise each cost a checksum over megabytes
    // (a slice or a map holds everything; a stream's buffer holds at least
    // the damaged frame, whose length a flipped high bit may have made
    // huge), and a few spend the budget before the search reaches the real
    // frame a few bytes on.
    loop {
        let due = budget
            .deferred
            .due(at.base + candidate.min(buf.len()) as u64);
        if let Some((long, end)) = due {
            match judge_deferred(deframer, max_frame_len, at, buf, (long, end), eof, budget) {
                // Every candidate still deferred started before `long` and
                // its first frame holds `long`: ruled out.
                Chain::Verified => return Search::Found(long),
                Chain::Broken => continue,
                // Its chain goes on past the buffer: it is still the
                // earliest candidate not ruled out, so it waits for them.
                Chain::Need(needed) => {
                    return Search::Need {
                        needed: needed.max(SEARCH_READ_AHEAD),
                        candidate: at.base + candidate as u64,
                    };
                }
            }
        }
        if candidate >= buf.len() {
            return if eof {
                Search::NotFound
            } else {
                Search::Need {
                    needed: SEARCH_READ_AHEAD,
                    candidate: at.base + buf.len() as u64,
                }
            };
        }
        if budget.exhausted(at.base + candidate as u64) {
            return Search::GaveUp;
        }
        match defer_long(deframer, max_frame_len, at, buf, candidate, eof, budget) {
            Long::Judge => {}
            Long::Next => {
                candidate += 1;
                continue;
            }
            Long::Return(search) => return search,
        }
        // Only a final verdict's work counts: a candidate that waits for
        // more bytes is checked again when they come, and what that costs
        // depends on how the bytes arrive, which must not change the
        // outcome.
        let mut cost = 0;
        let chain = chain_at(deframer, buf, candidate, eof, max_frame_len, &mut cost);
        if !matches!(chain, Chain::Need(_)) {
            budget.spent = budget.spent.saturating_add(cost);
        }
        match chain {
            Chain::Verified => return Search::Found(at.base + candidate as u64),
            Chain::Broken => candidate += 1,
            Chain::Need(needed) => {
                // This candidate waits for bytes that may be far away (its
                // length may be garbage). A later candidate inside its first
                // declared frame whose chain verifies rules it out (good
                // frames inside a real payload would be a < 2^-40 accident):
                // try those already here, so that good frames in the buffer
                // are not held back behind a length that may never arrive.
                if let Some(found) = look_ahead(deframer, max_frame_len, at, buf, candidate, budget)
                {
                    return Search::Found(found);
                }
                return Search::Need {
                    needed: needed.max(SEARCH_READ_AHEAD),
                    candidate: at.base + candidate as u64,
                };
            }
        }
    }
}

/// What [`find_chain`] does with a candidate, as far as the length of its
/// first frame decides.
enum Long {
    /// Judge it now.
    Judge,
    /// Go on with the next candidate: this one is deferred or no frame.
    Next,
    /// The search ends (or waits) with this.
    Return(Search),
}

/// Defers the candidate at `buf[candidate..]` if its first frame is long
/// and all in `buf` (see [`find_chain`]), unless its lengths run on like a
/// stream of long frames ([`chain::lengths_run_on`]): that is most likely
/// the real frame after the damage, judged at once so that the shorter
/// false frames its payload reads as do not come first.
///
/// A long frame running past `buf` is no frame at the end of input; before
/// it, the candidate is judged now: it waits for bytes at no cost while
/// [`look_ahead`] tries the candidates inside its frame, and is deferred
/// once its frame has arrived. With no slot left, the deferred candidate
/// with the shortest first frame (this one or one in a slot) is judged
/// first, the cheapest: if it verifies it is the answer, since every
/// candidate deferred before it holds it in its first frame (one that ended
/// before it would have been due) and the ones after it come later.
fn defer_long<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    at: At,
    buf: &[u8],
    candidate: usize,
    eof: bool,
    budget: &mut Budget,
) -> Long {
    let Some(frame_len) = declared_frame_len(deframer, &buf[candidate..], max_frame_len)
        .filter(|&len| len > DEFER_FRAMES_OVER)
    else {
        return Long::Judge;
    };
    if frame_len > buf.len() - candidate {
        return if eof { Long::Next } else { Long::Judge };
    }
    // Lengths after it that break its chain: no frame, at no cost and
    // without taking a slot.
    if chain::lengths_break(deframer, buf, candidate, eof, max_frame_len) {
        return Long::Next;
    }
    // Lengths that run on like a stream of long frames (four whole ones, or
    // to the end of input): most likely the real frame after the damage,
    // whose payload may read as many shorter false frames that a deferral
    // would have judged first. Judged now, as the frames before it were.
    // (Short frames after it prove nothing: a false length that fits lands
    // on one of a stream of short frames often.)
    let limit = max_frame_len.min(deframer.max_frame_len());
    let header_len = deframer.header_len();
    if chain::lengths_run_on(header_len, buf, candidate, eof, limit, DEFER_FRAMES_OVER) {
        return Long::Judge;
    }
    let start = at.base + candidate as u64;
    let end = start + frame_len as u64;
    if budget.deferred.push(start, end) {
        return Long::Next;
    }
    let Some(cheaper) = budget.deferred.take_shorter_than(frame_len as u64) else {
        return Long::Judge;
    };
    match judge_deferred(deframer, max_frame_len, at, buf, cheaper, eof, budget) {
        Chain::Verified => Long::Return(Search::Found(cheaper.0)),
        Chain::Broken => {
            budget.deferred.push(start, end);
            Long::Next
        }
        Chain::Need(needed) => Long::Return(Search::Need {
            needed: needed.max(SEARCH_READ_AHEAD),
            candidate: start,
        }),
    }
}

/// Judges `(long, end)`, a deferred candidate (a stream offset in `buf`)
/// and the end of its first frame, taken out of `budget.deferred`, paying
/// for a final verdict; one that needs more bytes goes back among the
/// deferred.
fn judge_deferred<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    at: At,
    buf: &[u8],
    (long, end): (u64, u64),
    eof: bool,
    budget: &mut Budget,
) -> Chain {
    let index = usize::try_from(long - at.base).unwrap_or(usize::MAX);
    let mut cost = 0;
    let chain = chain_at(deframer, buf, index, eof, max_frame_len, &mut cost);
    if let Chain::Need(_) = chain {
        budget.deferred.push(long, end);
    } else {
        budget.spent = budget.spent.saturating_add(cost);
    }
    chain
}

/// A candidate whose first frame is longer than this is judged after the
/// candidates inside that frame (see [`find_chain`]).
const DEFER_FRAMES_OVER: usize = 64 << 10;

/// The length of the frame at the start of `bytes` by its length prefix,
/// header included, if the prefix is there and the frame is within
/// `max_frame_len` (a longer one breaks a chain at no cost).
fn declared_frame_len<D: Deframer>(
    deframer: &D,
    bytes: &[u8],
    max_frame_len: usize,
) -> Option<usize> {
    let prefix = bytes.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()?;
    let payload_len = usize::try_from(u32::from_le_bytes(*prefix)).ok()?;
    (payload_len <= max_frame_len.min(deframer.max_frame_len()))
        .then(|| payload_len.saturating_add(deframer.header_len()))
}

/// Candidates with a long first frame, judged once the search has passed
/// the end of that frame: stream offsets (which stay true when the driver
/// discards bytes from the front of its buffer), at most [`Deferred::MAX`]
/// (64 KiB of memory, allocated as candidates come); with no slot left the
/// cheapest is judged at once (see [`defer_long`]).
#[derive(Debug, Clone, Default)]
struct Deferred {
    /// `(end of its first frame, candidate)`, the earliest end first.
    by_end: BinaryHeap<Reverse<(u64, u64)>>,
}

impl Deferred {
    /// Enough for the false candidates between a damaged frame and the next
    /// real one when the frame limit is large: in a payload of offsets into
    /// a big buffer every fourth byte declares a long frame that fits, and
    /// with a frame limit of 200 MiB one byte in twenty does in random
    /// bytes.
    const MAX: usize = 4096;

    /// Where the first frame of the deferred candidate that ends first
    /// ends, if any is deferred.
    fn first_end(&self) -> Option<u64> {
        self.by_end.peek().map(|&Reverse((end, _))| end)
    }

    /// Takes out the deferred candidate with the shortest first frame, if
    /// that frame is shorter than `len`: `(candidate, end of its frame)`.
    /// Linear, and only called when every slot is taken.
    fn take_shorter_than(&mut self, len: u64) -> Option<(u64, u64)> {
        let &Reverse((end, candidate)) = self
            .by_end
            .iter()
            .min_by_key(|&&Reverse((end, candidate))| (end - candidate, candidate))?;
        if end - candidate >= len {
            return None;
        }
        self.by_end
            .retain(|&Reverse(entry)| entry != (end, candidate));
        Some((candidate, end))
    }

    /// Defers `candidate`, whose first frame ends at `end`; false if full.
    fn push(&mut self, candidate: u64, end: u64) -> bool {
        if self.by_end.len() >= Self::MAX {
            return false;
        }
        self.by_end.push(Reverse((end, candidate)));
        true
    }

    /// Takes the deferred candidate due at `position` (the end of its first
    /// frame reached), the one whose frame ends first (then the earliest):
    /// `(candidate, end of its frame)`.
    fn due(&mut self, position: u64) -> Option<(u64, u64)> {
        let &Reverse((end, _)) = self.by_end.peek()?;
        if end > position {
            return None;
        }
        self.by_end
            .pop()
            .map(|Reverse((end, candidate))| (candidate, end))
    }
}

/// The most bytes past a waiting candidate that [`look_ahead`] tries.
const LOOK_AHEAD: usize = 1 << 20;

/// The most bytes [`look_ahead`] checks for one waiting candidate.
const LOOK_AHEAD_BUDGET: u64 = 16 << 20;

/// Tries the candidates after `waiting` (an index in `buf` whose chain needs
/// more bytes) that lie inside its first declared frame and in `buf`, up to
/// [`LOOK_AHEAD`] bytes, and before the end of every deferred candidate's
/// first frame; returns the stream offset of the first whose chain
/// verifies. Candidates with a long first frame all in `buf` are left to
/// the main search, as it defers them. Remembers how far it got in
/// `budget`, so that each byte is tried once however often more bytes
/// arrive.
fn look_ahead<D: Deframer>(
    deframer: &mut D,
    max_frame_len: usize,
    at: At,
    buf: &[u8],
    waiting: usize,
    budget: &mut Budget,
) -> Option<u64> {
    let header_len = deframer.header_len() as u64;
    let first_frame_end = |index: usize| {
        buf.get(index..)
            .and_then(|rest| rest.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>())
            .map_or(u64::MAX, |prefix| {
                at.base + index as u64 + header_len + u64::from(u32::from_le_bytes(*prefix))
            })
    };
    let waiting_at = at.base + waiting as u64;
    if budget.waiting != waiting_at {
        budget.waiting = waiting_at;
        budget.looked_ahead = waiting_at + 1;
        budget.pending_end = first_frame_end(waiting);
        budget.ahead_spent = 0;
    }
    let in_buf = at.base + buf.len() as u64;
    let reach = waiting_at + LOOK_AHEAD as u64;
    // A candidate deferred before the waiting one is ruled out only by good
    // frames inside its first frame too.
    let deferred_end = budget.deferred.first_end().unwrap_or(u64::MAX);
    while budget.looked_ahead < budget.pending_end.min(deferred_end).min(in_buf).min(reach) {
        let later = budget.looked_ahead;
        // The look-ahead has a budget of its own, so that it never changes
        // when the main search gives up (that would depend on how the bytes
        // arrived); running out only stops looking ahead.
        if budget.ahead_spent > LOOK_AHEAD_BUDGET {
            return None;
        }
        let index = usize::try_from(later - at.base).unwrap_or(usize::MAX);
        if declared_frame_len(deframer, &buf[index..], max_frame_len)
            .is_some_and(|len| len > DEFER_FRAMES_OVER && len <= buf.len() - index)
        {
            // A long first frame, left to the main search as it defers it:
            // frames after it rule the waiting candidate out only inside
            // this one's first frame too.
            budget.pending_end = budget.pending_end.min(first_frame_end(index));
            budget.looked_ahead += 1;
            continue;
        }
        match chain_at(
            deframer,
            buf,
            index,
            false,
            max_frame_len,
            &mut budget.ahead_spent,
        ) {
            // Inside the first frame of every candidate still waiting before
            // it: none of them can be real.
            Chain::Verified => return Some(later),
            // The main search tries it again when more bytes come; good
            // frames after it must also lie inside its first frame to rule
            // it out.
            Chain::Need(_) => {
                let end = first_frame_end(index);
                if end == u64::MAX {
                    // Its length is not all here yet: nothing after it can
                    // be judged against it. Look again when more comes.
                    return None;
                }
                budget.pending_end = budget.pending_end.min(end);
                budget.looked_ahead += 1;
            }
            Chain::Broken => budget.looked_ahead += 1,
        }
    }
    None
}

/// How many more bytes a search asks for at a time: asking for the one byte
/// it strictly needs would have a driver read one byte per call through a
/// long run of candidates (a zero-filled tail, say). A request for more
/// bytes than needed only sizes the driver's next read; it never makes it
/// wait for them.
const SEARCH_READ_AHEAD: usize = 64 * 1024;

/// What a search for a chain of real frames found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Search {
    /// A chain of real frames starts at this stream offset.
    Found(u64),
    /// No chain starts anywhere up to the end of input.
    NotFound,
    /// The search used up its [`Budget`] before it found a chain, or, for
    /// recovery, found chains only inside a damaged frame that reaches the
    /// end of input: what follows is not known to hold no good frames.
    GaveUp,
    /// More bytes are needed to judge the candidate at this stream offset.
    Need { needed: usize, candidate: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Sum8;

    impl Deframer for Sum8 {
        fn header_len(&self) -> usize {
            5
        }
        fn verify(&mut self, header: &[u8], payload: &[u8]) -> core::result::Result<(), ErrorKind> {
            let sum = payload.iter().fold(0u8, |a, b| a.wrapping_add(*b));
            if header[4] == sum {
                Ok(())
            } else {
                Err(ErrorKind::ChecksumMismatch {
                    algorithm: "SUM-8",
                    expected: header[4].into(),
                    computed: sum.into(),
                })
            }
        }
        fn max_frame_len(&self) -> usize {
            usize::MAX
        }
    }

    /// Every fifth offset of a repeating pattern declares a 64 KiB frame
    /// whose chain of lengths is whole in the buffer (each frame's length a
    /// multiple of the pattern) and whose first frame fails its checksum:
    /// each such candidate would cost 64 KiB of checking. The search stops
    /// when its budget is spent instead of checking every offset.
    #[test]
    fn a_search_through_hostile_repetition_gives_up_within_its_budget() {
        let buf: alloc::vec::Vec<u8> = (0..1 << 20).map(|i| [4u8, 0, 1, 0, 7][i % 5]).collect();
        let at = At {
            base: 0,
            pos: 0,
            frame: 0,
        };
        let mut budget = Budget {
            base: 1 << 20,
            ..Budget::new(0)
        };
        let search = find_chain(&mut Sum8, usize::MAX, at, &buf, 1, true, &mut budget);
        assert_eq!(search, Search::GaveUp);
        // It stopped after about its base (1 MiB) and 16 bytes per byte
        // moved, far from the 64 KiB x 960 Ki candidates a full scan costs.
        assert!(budget.spent < 3 << 20, "{}", budget.spent);

        // Damage of an ordinary cost (a 256-byte frame declared at every
        // twelfth offset of 60 KiB, lengths past the end elsewhere) is
        // searched to the end within the default budget, and found to hold
        // nothing; cheaply, since the lengths after those frames cannot make
        // a chain and are judged before any checksum.
        let pattern = [0u8, 1, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
        let ordinary: alloc::vec::Vec<u8> = (0..60 << 10).map(|i| pattern[i % 12]).collect();
        let mut budget = Budget::new(0);
        assert_eq!(
            find_chain(&mut Sum8, usize::MAX, at, &ordinary, 1, true, &mut budget),
            Search::NotFound
        );
        assert!(budget.spent < 1 << 10, "{}", budget.spent);
    }

    /// A buffer shorter than what the cursor consumed (a driver breaking
    /// the rule that the consumed prefix stays until `discard`) ends the
    /// input there, and leaves the position as it was: polled again with
    /// the whole buffer, the cursor goes on with the next frame.
    #[test]
    fn a_buffer_shorter_than_the_consumed_bytes_leaves_the_position_alone() {
        let frame = |payload: &[u8]| {
            let len = u32::try_from(payload.len()).expect("a short payload");
            let mut f = len.to_le_bytes().to_vec();
            f.push(payload.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
            f.extend_from_slice(payload);
            f
        };
        let mut buf = frame(b"ab");
        buf.extend(frame(b"cd"));
        let mut cursor = FrameCursor::new(Sum8);
        assert!(matches!(cursor.poll(&buf, false), Ok(Step::Frame(span)) if span.end == 7));
        let after_first = Position {
            offset: 7,
            frame: 1,
        };
        for short in 0..7 {
            assert!(matches!(cursor.poll(&buf[..short], true), Ok(Step::End)));
            assert_eq!(cursor.position(), after_first, "polled with {short} bytes");
        }
        assert!(matches!(cursor.poll(&buf, true), Ok(Step::Frame(span)) if span.start == 7));
        assert_eq!(
            cursor.position(),
            Position {
                offset: 14,
                frame: 2
            }
        );
    }
}
