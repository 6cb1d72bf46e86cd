//! Following a capture as it grows, like `tail -f`: one stream file, or a
//! capture directory whose segments rotate while they are read.
//!
//! The follower reads with core's [`ReadBuffer`] over a [`File`], through a
//! read function that answers [`Poll::Pending`] at the end of the file: a
//! frame the writer has not finished yet (a torn tail) is simply not
//! complete yet, nothing is consumed, and the follower looks again after
//! its poll interval. It polls (no file system notifications), so the delay
//! from a flush to the message is at most about one poll interval.
//!
//! Three things a power loss or a hand can leave under a follower are told
//! apart from messages:
//!
//! - Zero fill: a frame whose length, checksum and payload are all zero
//!   bytes, what a file system leaves after the last frame that landed
//!   (core's recovery calls it [`Tail::ZeroFilled`](flatstream_core::Tail)
//!   and truncates it). It is never a message: at the end of a file still
//!   being written it is waited at like a torn tail (nothing consumed; the
//!   next writer's recovery truncates it and closes the segment), and in a
//!   closed segment, or when not following, it is an error naming the file
//!   and the position. Zeros that start inside a frame whose length landed
//!   make that frame fail its checksum: after a checksum mismatch the
//!   follower asks core's recovery about the rest of the file
//!   (`zero_fill_at`), and zeros from a file system block boundary in the
//!   frame to the end are zero fill too, as recovery calls them. Only a
//!   frame with an empty payload or a checksum mismatch is looked at, so
//!   this costs nothing per message.
//! - A file shorter than what the follower read of it (truncated, or
//!   rewritten in place): checked when a read meets the end of the file. A
//!   file cut back no further than the follower's position (a torn tail
//!   that recovery truncated) is read again from there; one cut below it is
//!   an [`Error::Invalid`] naming the file and both lengths.
//! - An open segment whose name vanished: read to its end through the file
//!   the follower holds, then the directory decides. Its closed name means
//!   it was renamed; otherwise it was deleted (by retention once closed, by
//!   hand, or by a writer that removed it empty), and the follower stays on
//!   its sequence number until a listing shows a later segment, or another
//!   segment with that number (which is then read too: the follower never
//!   moves past a number that may still come).

use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Poll;
use core::time::Duration;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

use flatstream_core::{
    Deframer, ErrorKind, FrameSpan, Position, ReadBuffer, RecoverOptions, Recovery, StreamHeader,
    Tail, recover_slice, recover_with, wire,
};

use crate::error::{Error, IoContext, Result};
use crate::segment::{META_FIRST_MESSAGE, Segment, open_regular};
use crate::sink::CapturePosition;

/// How long a [`Follower`] waits, at the end of what was written, before it
/// looks for more: 2 ms.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Polls at the end of an open segment between two listings of the
/// directory for a later segment (an open segment that a crashed writer
/// left behind is never renamed; a later segment says it is finished).
const LIST_EVERY: u32 = 64;

/// Times a segment that a listing named may vanish before it is opened (it
/// was renamed in between) before the follower gives up on it.
const OPEN_ATTEMPTS: u32 = 3;

/// Reads a stream file, or every segment of a capture directory in
/// sequence order, frame by frame while a writer appends to it: `tail -f`
/// for FlatStream captures.
///
/// [`next`](Follower::next) blocks until the next message is complete,
/// polling every [`DEFAULT_POLL_INTERVAL`] (see
/// [`with_poll_interval`](Follower::with_poll_interval)); a frame the writer
/// is still writing is waited for, never reported as torn, and so is zero
/// fill (a frame of zero bytes, never a message: what a power loss leaves
/// after the last frame that landed, which the next writer's recovery
/// truncates, also when the zeros start inside a frame whose length
/// landed; only frames with an empty payload or a checksum mismatch are
/// looked at, so this costs nothing per message). Damage is reported, not
/// waited on: a checksum mismatch or a length over the limit is an error
/// naming the file and the frame's position, and so is a torn tail or zero
/// fill in a segment that was closed (or in anything, when not following),
/// and a file truncated below the follower's position.
///
/// In a capture directory (see [`segment`](crate::segment)), each segment's
/// header frame is kept apart ([`header`](Follower::header)) and gives the
/// capture-wide number of its first message
/// ([`next_message`](Follower::next_message)). When the open segment is
/// renamed after rotation, the follower reads it to its final end (bytes
/// may have landed after its last read), then goes on with the next
/// segment; deleted while it is read, it is read to its end all the same
/// (through the file the follower holds), and a segment later listed with
/// its number is read too. Segments deleted before the follower reached
/// them are reported once, as [`Error::SegmentsGone`], and a segment that
/// ends before the next one's first message (cut short, at a frame
/// boundary or by damage the follower reported) as [`Error::MessagesLost`],
/// naming the missing messages: nothing is skipped silently.
///
/// Once warm, reading a message allocates nothing: one buffer per segment
/// (or file) is reused.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
/// use flatstream_capture::Follower;
///
/// let path = std::env::temp_dir().join(format!("follower-doc-{}.fstream", std::process::id()));
/// let mut writer = StreamWriter::new(std::fs::File::create(&path)?, ChecksumFramer::new(Crc32));
/// writer.write_payload(b"first")?;
///
/// let mut follower = Follower::open(&path, ChecksumDeframer::new(Crc32))?;
/// assert_eq!(follower.next()?, Some(&b"first"[..]));
///
/// // Nothing more yet: waiting gives up after the timeout.
/// assert_eq!(follower.next_timeout(core::time::Duration::from_millis(5))?, None);
///
/// // The writer goes on; the follower sees the new frame.
/// writer.write_payload(b"second")?;
/// writer.flush()?;
/// assert_eq!(follower.next()?, Some(&b"second"[..]));
/// assert_eq!(follower.next_message(), 2);
/// # drop(follower);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Follower<D> {
    /// The stream file, or the capture directory.
    path: PathBuf,
    /// Whether `path` is a capture directory.
    is_dir: bool,
    /// A copy for each segment's buffer.
    deframer: D,
    /// How long to wait at the end before looking again.
    poll_interval: Duration,
    /// Whether to wait at the end (`tail -f`) or stop there (`cat`).
    follow: bool,
    /// The frame limit set on every buffer, if any.
    max_frame_len: Option<usize>,
    /// The file or segment being read; `None` between segments.
    current: Option<Current<D>>,
    /// Between segments: the sequence number to read next (`None`: the
    /// first one the directory holds).
    want: Option<u64>,
    /// The segment left last had the largest sequence number there is: no
    /// segment can follow it.
    after_last_number: bool,
    /// Where to start in segment `want`, when resuming.
    resume: Option<CapturePosition>,
    /// The position to report while no segment is being read.
    between: CapturePosition,
    /// The number of the next message while no segment is being read (and
    /// for a segment whose header does not say).
    carried: u64,
    /// An error met while entering a segment (its damaged header), which
    /// the next call returns.
    pending: Option<Error>,
    /// Polls at the end of an open segment since the directory was last
    /// listed.
    idle_polls: u32,
    /// The segment last left after its names vanished, and its header: a
    /// segment listed later with that sequence number is read unless it
    /// has the same header (the same segment under another name).
    vanished: Option<(u64, Option<StreamHeader>)>,
    /// A segment was read to its end and left: the next one entered must
    /// start at message `carried` (its header says where it starts).
    check_succession: bool,
    /// Ends waiting, from any thread.
    stop: StopHandle,
}

/// The file or segment a follower reads.
#[derive(Debug)]
struct Current<D> {
    /// Its sequence number (0 for a plain file).
    sequence: u64,
    /// Its path, for errors: the closed name once it was renamed.
    path: PathBuf,
    /// While it is an open segment: its description, to notice the rename.
    open: Option<Segment>,
    /// The file, read from where the buffer's position says.
    file: File,
    /// The buffer and frame cursor over the file.
    buffer: ReadBuffer<D>,
    /// No byte will be added to it: its end is final.
    closed: bool,
    /// Read to its end (or given up after damage): go on with the next
    /// segment.
    done: bool,
    /// The number of its first message, when its header does not say.
    first_message: u64,
    /// Its header, when reading resumed after it (the buffer then never
    /// reads frame 0).
    resumed_header: Option<StreamHeader>,
    /// Whether frame 0 is a message: in a plain file, unless it is a
    /// header; in a segment, whose frame 0 is its header by convention,
    /// only if it was read as a payload (a damaged header is no message).
    zero_is_message: bool,
    /// The next frame is zero fill: the buffer is empty at its start, and
    /// the file is looked at there before it is read again.
    zero_fill: bool,
    /// Its names vanished (it was deleted): its end is final once the
    /// directory shows a later segment or another one with its number.
    vanished: bool,
}

impl<D> Current<D> {
    fn header(&self) -> Option<&StreamHeader> {
        self.resumed_header
            .as_ref()
            .or_else(|| self.buffer.header())
    }

    fn position(&self) -> CapturePosition {
        let Position { offset, frame } = self.buffer.position();
        CapturePosition {
            segment: self.sequence,
            frame,
            offset,
        }
    }

    fn next_message(&self) -> u64 {
        let header = self.header();
        let first = header
            .and_then(|h| h.metadata(META_FIRST_MESSAGE))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(self.first_message);
        let frame = self.buffer.position().frame;
        let not_messages = u64::from(header.is_some() || !self.zero_is_message);
        first.saturating_add(frame.saturating_sub(not_messages))
    }
}

impl<D: Deframer + Clone> Follower<D> {
    /// Follows the stream file or capture directory at `path` from its
    /// start (a directory's first segment still there: segments deleted
    /// before the follower was opened are not reported).
    ///
    /// The follower waits at the end of what was written (see
    /// [`with_follow`](Follower::with_follow)), polling every
    /// [`DEFAULT_POLL_INTERVAL`]. A directory with no segment yet is waited
    /// on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `path` does not exist or cannot be opened or
    /// listed; [`Error::Invalid`] when the first segment's file vanishes
    /// repeatedly between listing and opening.
    pub fn open(path: impl AsRef<Path>, deframer: D) -> Result<Self> {
        Self::start(path.as_ref(), deframer, None)
    }

    /// Follows the stream file or capture directory at `path` from `at`: a
    /// position that [`position`](Follower::position) returned (or a seek
    /// found), naming the segment by sequence number (0 for a plain file),
    /// the index of the next frame in it and that frame's byte offset.
    /// Reading goes on with exactly the messages after it.
    ///
    /// In a directory the segment is found by its sequence number, open or
    /// closed. If it was deleted since, the first [`next`](Follower::next)
    /// returns [`Error::SegmentsGone`] and reading goes on with the next
    /// segment still there; if it does not exist yet, it is waited on.
    ///
    /// The position is checked against its file before anything is read
    /// from it: frame 0 starts at byte offset 0, and no other frame does; a
    /// position inside the file's first frame (its header, in a segment) is
    /// refused, and the frame right after that one is frame 1. Elsewhere, a
    /// position that is not a frame start cannot be told at once: with a
    /// checksummed framing the first frame read from it must verify like
    /// every other, so what is read there is damage (an error), never a
    /// message, and zero bytes there are zero fill (see [`Follower`]). With
    /// the plain framing nothing can tell: pass only a position that a
    /// follower or a seek returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
    /// use flatstream_capture::Follower;
    ///
    /// let path = std::env::temp_dir().join(format!("follower-resume-doc-{}.fstream", std::process::id()));
    /// let mut writer = StreamWriter::new(std::fs::File::create(&path)?, ChecksumFramer::new(Crc32));
    /// for payload in [&b"one"[..], b"two", b"three"] {
    ///     writer.write_payload(payload)?;
    /// }
    ///
    /// let mut follower = Follower::open(&path, ChecksumDeframer::new(Crc32))?.with_follow(false);
    /// assert_eq!(follower.next()?, Some(&b"one"[..]));
    /// let saved = follower.position();
    ///
    /// let mut resumed = Follower::open_at(&path, ChecksumDeframer::new(Crc32), saved)?.with_follow(false);
    /// assert_eq!(resumed.next_message(), 1);
    /// assert_eq!(resumed.next()?, Some(&b"two"[..]));
    /// assert_eq!(resumed.next()?, Some(&b"three"[..]));
    /// assert_eq!(resumed.next()?, None);
    /// # drop((follower, resumed));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `path` does not exist or cannot be opened, read
    /// or listed; [`Error::Invalid`], naming the file and the position,
    /// when `at` is refused as said above or is past the end of its file
    /// (for a segment not entered yet, from the [`next`](Follower::next)
    /// that enters it); [`Error::Stream`] when the file's header frame is
    /// damaged.
    pub fn open_at(path: impl AsRef<Path>, deframer: D, at: CapturePosition) -> Result<Self> {
        Self::start(path.as_ref(), deframer, Some(at))
    }

    fn start(path: &Path, deframer: D, at: Option<CapturePosition>) -> Result<Self> {
        let is_dir = std::fs::metadata(path).at(path)?.is_dir();
        let mut follower = Follower {
            path: path.to_path_buf(),
            is_dir,
            deframer,
            poll_interval: DEFAULT_POLL_INTERVAL,
            follow: true,
            max_frame_len: None,
            current: None,
            want: at.map(|at| at.segment),
            after_last_number: false,
            resume: at,
            between: at.unwrap_or_default(),
            carried: 0,
            pending: None,
            idle_polls: 0,
            vanished: None,
            check_succession: false,
            stop: StopHandle::new(),
        };
        if is_dir {
            // Entered now when it is there, so that the header and the
            // message numbers are known before the first read.
            let mut attempts = 0;
            let want = follower.want.unwrap_or(0);
            if let Some(segment) = first_from(path, want)?
                && (follower.want.is_none() || segment.sequence == want)
            {
                follower.enter_listed(segment, &mut attempts)?;
            }
        } else {
            let resume = at.map(|at| CapturePosition { segment: 0, ..at });
            follower.enter(0, path.to_path_buf(), None, resume)?;
        }
        Ok(follower)
    }

    /// Sets how long the follower waits at the end of what was written
    /// before it looks again: [`DEFAULT_POLL_INTERVAL`] (2 ms) unless set.
    /// A message arrives at most about one interval after it was flushed;
    /// each look at the end costs a `read` (and, at the end of an open
    /// segment, a `stat` of its name). `Duration::ZERO` looks again at
    /// once, yielding the thread in between.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream::{ChecksumDeframer, Crc32};
    /// # use flatstream_capture::Follower;
    /// # let path = std::env::temp_dir().join(format!("follower-interval-doc-{}.fstream", std::process::id()));
    /// # std::fs::write(&path, b"")?;
    /// let follower = Follower::open(&path, ChecksumDeframer::new(Crc32))?
    ///     .with_poll_interval(core::time::Duration::from_micros(500));
    /// # drop(follower);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets whether the follower waits at the end of what was written for
    /// more (`true`, the default: `tail -f`) or stops there (`false`: like
    /// `cat`, [`next`](Follower::next) returns `Ok(None)` at the end, and a
    /// torn tail there is an [`UnexpectedEof`](flatstream_core::ErrorKind::UnexpectedEof)
    /// error naming the file and position, as is zero fill, an error of its
    /// own). Not following, a directory is read through its last segment,
    /// open or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream::{ChecksumDeframer, Crc32};
    /// # use flatstream_capture::Follower;
    /// # let path = std::env::temp_dir().join(format!("follower-follow-doc-{}.fstream", std::process::id()));
    /// # std::fs::write(&path, b"")?;
    /// let mut follower = Follower::open(&path, ChecksumDeframer::new(Crc32))?.with_follow(false);
    /// assert_eq!(follower.next()?, None, "an empty file ends at once");
    /// # drop(follower);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_follow(mut self, follow: bool) -> Self {
        self.follow = follow;
        self
    }

    /// Sets the largest payload length accepted (the smaller of it and the
    /// deframer's own limit applies); a frame declaring more is an error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream::{ChecksumDeframer, Crc32};
    /// # use flatstream_capture::Follower;
    /// # let path = std::env::temp_dir().join(format!("follower-limit-doc-{}.fstream", std::process::id()));
    /// # std::fs::write(&path, b"")?;
    /// let follower = Follower::open(&path, ChecksumDeframer::new(Crc32))?.with_max_frame_len(1 << 20);
    /// # drop(follower);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_max_frame_len(mut self, n: usize) -> Self {
        self.max_frame_len = Some(n);
        if let Some(current) = self.current.as_mut() {
            current.buffer.set_max_frame_len(n);
        }
        self
    }

    /// The next message: its payload, lent until the next call.
    ///
    /// Blocks while there is none yet: at the end of what was written, at a
    /// frame the writer is still writing, at zero fill in a file still being
    /// written, and in a directory with no segment yet. Returns `Ok(None)`
    /// only when not following and the end is reached (calling again reads
    /// what was added since), or once the [`StopHandle`] was stopped (then
    /// at once, and ever after).
    ///
    /// After an error, calling again goes on where that is possible: after
    /// a checksum mismatch with the next frame; after
    /// [`Error::SegmentsGone`] with the next segment there; after a torn
    /// tail, zero fill, a length over the limit or a truncation in a closed
    /// segment, with the next segment (the rest of the damaged one cannot
    /// be read). The same damage in a file still being written (or read
    /// without following) is reported again.
    ///
    /// # Errors
    ///
    /// [`Error::Stream`] naming the file, with the frame's position in it:
    /// a checksum mismatch, a length over the limit, a torn tail or zero
    /// fill in a closed segment (or when not following), a damaged header,
    /// or a read error. [`Error::Invalid`] naming the file and both lengths
    /// when it was truncated below the follower's position, and when the
    /// position given to [`open_at`](Follower::open_at) is refused in the
    /// segment it names. [`Error::SegmentsGone`] when the next segments were
    /// deleted before they were read. [`Error::Io`] when the directory
    /// cannot be listed or a segment cannot be opened.
    #[allow(clippy::should_implement_trait)] // A lending iterator cannot be `Iterator`.
    pub fn next(&mut self) -> Result<Option<&[u8]>> {
        self.next_until(None)
    }

    /// As [`next`](Follower::next), but gives up with `Ok(None)` once
    /// `timeout` has passed without a message (trying once, without
    /// waiting, for a zero timeout).
    ///
    /// # Errors
    ///
    /// As [`next`](Follower::next).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<&[u8]>> {
        // A deadline too far to represent is no deadline.
        self.next_until(Instant::now().checked_add(timeout))
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Result<Option<&[u8]>> {
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            match self.step()? {
                Poll::Ready(Some(span)) => {
                    // `step` only returns a span of the current segment's
                    // buffer; the lookup is for the borrow checker.
                    return Ok(self.current.as_ref().map(|c| c.buffer.payload(span)));
                }
                Poll::Ready(None) => return Ok(None),
                Poll::Pending => {
                    let mut wait = self.poll_interval;
                    if let Some(deadline) = deadline {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Ok(None);
                        }
                        wait = wait.min(left);
                    }
                    self.stop.wait(wait);
                }
            }
        }
    }

    /// One attempt at the next frame, without waiting: a frame, the end
    /// (not following), or nothing yet.
    fn step(&mut self) -> Result<Poll<Option<FrameSpan>>> {
        let mut attempts = 0;
        loop {
            if let Some(error) = self.pending.take() {
                return Err(error);
            }
            let follow = self.follow;
            let Some(current) = self.current.as_mut() else {
                if self.find_next(&mut attempts)? {
                    continue;
                }
                return Ok(if follow {
                    Poll::Pending
                } else {
                    Poll::Ready(None)
                });
            };
            if current.done {
                self.leave();
                continue;
            }
            if current.zero_fill {
                // Looked at in the file, not read as a frame: the buffer
                // would consume it.
                let at = current.buffer.position().offset;
                let max_frame_len = current.buffer.cursor().max_frame_len();
                if zero_fill_at(&mut current.file, at, self.deframer.clone(), max_frame_len)
                    .at(&current.path)?
                {
                    if self.at_zero_fill()? {
                        continue;
                    }
                    return Ok(Poll::Pending);
                }
                current.zero_fill = false;
            }
            let final_end = current.closed || !follow;
            let file = &mut current.file;
            let mut read = |buf: &mut [u8]| read_file(file, buf, final_end);
            if self.check_succession && !final_end && current.buffer.cursor().header_pending() {
                // Entered before its header landed (a segment just
                // created): the header is waited for, and judged against
                // where the segment before ended before any message.
                match current.buffer.poll_header(&mut read) {
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(e)) => {
                        if self.read_again(&e)? {
                            continue;
                        }
                        return Err(self.stream_error(e));
                    }
                    Poll::Pending => {
                        if self.check_closed()? {
                            continue;
                        }
                        return Ok(Poll::Pending);
                    }
                }
                self.check_succession()?;
                continue;
            }
            if final_end && current.buffer.cursor().header_pending() {
                // At a final end, the cursor takes an empty stream as
                // judged, and would take a header written later for a
                // payload: it is only asked once there is a first frame.
                if let Poll::Ready(Err(e)) = current.buffer.poll_header(&mut read) {
                    if self.read_again(&e)? {
                        continue;
                    }
                    return Err(self.stream_error(e));
                }
                if current.buffer.cursor().header_pending() && current.buffer.buffered().is_empty()
                {
                    if current.closed {
                        current.done = true;
                        // A segment writer closes a segment only after its
                        // header: an empty closed one was emptied, and what
                        // it held is gone.
                        if self.is_dir && current.resumed_header.is_none() {
                            return Err(Error::Invalid {
                                path: current.path.clone(),
                                reason: "the closed segment is empty (not even its header is there): what it held is lost".to_owned(),
                            });
                        }
                        continue;
                    }
                    if self.check_closed()? {
                        continue;
                    }
                    return Ok(Poll::Ready(None));
                }
            }
            let before = current.buffer.position();
            match current.buffer.poll_frame_span(&mut read) {
                Poll::Ready(Ok(Some(span))) => {
                    // Only a frame without payload can be zero fill: one
                    // comparison per message.
                    if span.payload_start == span.end
                        && is_zero(current.buffer.payload(header_of(span)))
                    {
                        self.stall_at_zero_fill(before)?;
                        continue;
                    }
                    if current.buffer.position().frame == 1 {
                        current.zero_is_message = true;
                    }
                    return Ok(Poll::Ready(Some(span)));
                }
                Poll::Ready(Ok(None)) => {
                    if current.closed {
                        current.done = true;
                        continue;
                    }
                    if self.check_closed()? {
                        continue;
                    }
                    return Ok(Poll::Ready(None));
                }
                Poll::Ready(Err(e)) => {
                    if self.read_again(&e)? {
                        continue;
                    }
                    let Some(current) = self.current.as_mut() else {
                        return Err(Error::from(e));
                    };
                    let stuck = e.ends_iteration(current.buffer.position() != before);
                    if current.closed {
                        // Nothing past this point of a closed segment can
                        // be read: the next call goes on with the next one.
                        current.done |= stuck;
                        return Err(Error::stream(&current.path, e));
                    }
                    let error = Error::stream(&current.path, e);
                    // Closed since the read, the segment may have more
                    // bytes now: its final end decides.
                    if stuck && self.check_closed()? {
                        continue;
                    }
                    return Err(error);
                }
                Poll::Pending => {
                    if self.check_closed()? {
                        continue;
                    }
                    return Ok(Poll::Pending);
                }
            }
        }
    }

    /// After a read error: whether it only says to read again (`Ok(true)`),
    /// or what it is when it is not a frame's damage. The file shrank no
    /// further than the position (a torn tail truncated by recovery): the
    /// bytes read past it are stale and are read again. It shrank below the
    /// position: an error. A checksum mismatch of a frame of zero bytes
    /// (with a checksum whose value for nothing is not zero): zero fill.
    fn read_again(&mut self, e: &flatstream_core::Error) -> Result<bool> {
        let Some(current) = self.current.as_mut() else {
            return Ok(false);
        };
        let at = current.buffer.position();
        if let Some(&Shrunk { len, .. }) = shrunk(e) {
            if len >= at.offset {
                self.rewind(at)?;
                return Ok(true);
            }
            if current.closed {
                current.done = true;
            }
            return Err(Error::Invalid {
                path: current.path.clone(),
                reason: format!(
                    "it has {len} bytes, fewer than the {} the follower read up to {at}: it was \
                     truncated or rewritten under the follower",
                    at.offset
                ),
            });
        }
        if let ErrorKind::ChecksumMismatch { .. } = e.kind()
            && let Some(damaged) = e.position()
        {
            let zero_fill = zero_fill_at(
                &mut current.file,
                damaged.offset,
                self.deframer.clone(),
                current.buffer.cursor().max_frame_len(),
            )
            .at(&current.path)?;
            if zero_fill {
                self.stall_at_zero_fill(damaged)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A frame error in the current file, naming it.
    fn stream_error(&self, e: flatstream_core::Error) -> Error {
        match self.current.as_ref() {
            Some(current) => Error::stream(&current.path, e),
            None => Error::from(e),
        }
    }

    /// The frame at `at` is zero fill: un-reads it (the buffer starts over
    /// there), so that the file is looked at there again before anything
    /// is read.
    fn stall_at_zero_fill(&mut self, at: Position) -> Result<()> {
        self.rewind(at)?;
        if let Some(current) = self.current.as_mut() {
            current.zero_fill = true;
        }
        Ok(())
    }

    /// At zero fill: an error where the end is final (a closed segment,
    /// which is then left, or when not following), else waiting for the
    /// next writer's recovery to truncate it (`Ok(false)`) unless the
    /// segment was closed since (`Ok(true)`: look again).
    fn at_zero_fill(&mut self) -> Result<bool> {
        let follow = self.follow;
        let Some(current) = self.current.as_mut() else {
            return Ok(true);
        };
        if current.closed || !follow {
            current.done |= current.closed;
            return Err(zero_fill_error(&current.path, current.buffer.position()));
        }
        self.check_closed()
    }

    /// Starts the current file's buffer over at `at`, a frame start at or
    /// before its position: what was read past `at` is read again from the
    /// file. The header read already is kept.
    fn rewind(&mut self, at: Position) -> Result<()> {
        let Some(current) = self.current.as_mut() else {
            return Ok(());
        };
        current
            .file
            .seek(SeekFrom::Start(at.offset))
            .at(&current.path)?;
        if current.resumed_header.is_none() {
            current.resumed_header = current.buffer.header().cloned();
        }
        let mut buffer = ReadBuffer::new(self.deframer.clone()).starting_at(at);
        if let Some(n) = self.max_frame_len {
            buffer.set_max_frame_len(n);
        }
        current.buffer = buffer;
        Ok(())
    }

    /// Whether the current open segment was closed since the last look:
    /// then its end is final, and it is read to there before the next
    /// segment. It was closed when it was renamed (its closed name exists),
    /// or a later segment exists (a writer that crashed never renames it;
    /// looked for every [`LIST_EVERY`] polls). When both its names are
    /// gone, it was deleted: closed once a listing shows a later segment or
    /// another with its number, and not before (a writer may still be
    /// writing it, or be about to reuse its number).
    fn check_closed(&mut self) -> Result<bool> {
        let Some(current) = self.current.as_mut() else {
            return Ok(false);
        };
        let Some(open) = current.open.as_ref() else {
            return Ok(false);
        };
        self.idle_polls = self.idle_polls.wrapping_add(1);
        let list_now = self.idle_polls.is_multiple_of(LIST_EVERY);
        if exists(&open.path)? {
            let superseded = list_now
                && match current.sequence.checked_add(1) {
                    Some(next) => first_from(&self.path, next)?.is_some(),
                    None => false,
                };
            if !superseded {
                return Ok(false);
            }
        } else {
            let closed = open.closed_path();
            if exists(&closed)? {
                current.path = closed;
            } else {
                // Listed at once the first time, then as often as above.
                if current.vanished && !list_now {
                    return Ok(false);
                }
                current.vanished = true;
                if first_from(&self.path, current.sequence)?.is_none() {
                    return Ok(false);
                }
            }
        }
        current.open = None;
        current.closed = true;
        Ok(true)
    }

    /// Leaves the current segment: the next one to read is the following
    /// sequence number (or, after a segment whose names vanished, another
    /// segment with its number, if one is listed).
    fn leave(&mut self) {
        if let Some(current) = self.current.take() {
            // The furthest message reached: a segment passed over
            // unread (one renamed by hand, listed again) numbers nothing.
            self.carried = current.next_message().max(self.carried);
            self.between = current.position();
            // After `u64::MAX` nothing can follow (and wanting it again
            // would read it again).
            self.want = current.sequence.checked_add(1).or(Some(current.sequence));
            self.after_last_number = current.sequence == u64::MAX;
            self.resume = None;
            self.check_succession = self.is_dir;
            self.vanished = current
                .vanished
                .then(|| (current.sequence, current.header().cloned()));
        }
    }

    /// Between segments of a directory: enters the one to read next, if it
    /// is there (`Ok(true)`: look again). A plain file is never left.
    fn find_next(&mut self, attempts: &mut u32) -> Result<bool> {
        if !self.is_dir {
            return Ok(false);
        }
        // After a segment whose names vanished, its number is listed too: a
        // writer that reuses numbers may have written another segment with
        // it (which `enter` passes over if it is the same one, renamed).
        let vanished = self.vanished.as_ref().map(|(sequence, _)| *sequence);
        if self.after_last_number && vanished.is_none() {
            return Ok(false);
        }
        let want = self.want.unwrap_or(0);
        let from = vanished.map_or(want, |sequence| sequence.min(want));
        let Some(mut found) = first_from(&self.path, from)? else {
            return Ok(false);
        };
        if vanished == Some(found.sequence) {
            self.enter_listed(found, attempts)?;
            return Ok(true);
        }
        if let Some(want) = self.want
            && found.sequence > want
        {
            // A listing made while the wanted segment was being renamed may
            // miss it: only a second listing without it says it is gone.
            match first_from(&self.path, want)? {
                Some(again) if again.sequence == want => found = again,
                Some(later) => return Err(self.gone(want, later)),
                None => return Ok(false),
            }
        }
        self.enter_listed(found, attempts)?;
        self.check_succession()?;
        Ok(true)
    }

    /// After the segment that follows one read to its end was entered: its
    /// first message must be where that one ended, or the messages in
    /// between are lost ([`Error::MessagesLost`], reported once; reading
    /// goes on with it).
    fn check_succession(&mut self) -> Result<()> {
        let Some(current) = self.current.as_ref() else {
            // Not entered yet (renamed meanwhile): checked when it is.
            return Ok(());
        };
        if current.header().is_none() && current.buffer.cursor().header_pending() {
            // Its header has not landed yet: checked once it has (`step`).
            return Ok(());
        }
        if !core::mem::take(&mut self.check_succession) {
            return Ok(());
        }
        let Some(first) = current
            .header()
            .and_then(|h| h.metadata(META_FIRST_MESSAGE))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            return Ok(());
        };
        let ended = self.carried;
        if first > ended {
            return Err(Error::MessagesLost {
                segment: current.sequence,
                first: ended,
                end: first,
            });
        }
        if first < ended {
            return Err(Error::Invalid {
                path: current.path.clone(),
                reason: format!(
                    "its header says it starts at message {first}, but the segment before it ended at message {ended}"
                ),
            });
        }
        Ok(())
    }

    /// Segments `first` up to (not including) `later` were deleted: reads
    /// `later` next, and returns the error that says so.
    fn gone(&mut self, first: u64, later: Segment) -> Error {
        let last = later.sequence.saturating_sub(1);
        self.want = Some(later.sequence);
        self.resume = None;
        self.check_succession = false;
        self.between = CapturePosition {
            segment: later.sequence,
            frame: 0,
            offset: 0,
        };
        let mut attempts = 0;
        // Entered now so that its header numbers the messages at once; if
        // that fails, the next call tries again and reports it.
        let _ = self.enter_listed(later, &mut attempts);
        Error::SegmentsGone { first, last }
    }

    /// Enters a segment a listing named, tolerating its rename in between
    /// (up to a few times).
    fn enter_listed(&mut self, segment: Segment, attempts: &mut u32) -> Result<()> {
        let resume = self.resume.filter(|at| at.segment == segment.sequence);
        let sequence = segment.sequence;
        let path = segment.path.clone();
        let open = segment.open.then_some(segment);
        match self.enter(sequence, path, open, resume) {
            Err(Error::Io { source, .. })
                if source.kind() == io::ErrorKind::NotFound && *attempts < OPEN_ATTEMPTS =>
            {
                *attempts += 1;
                Ok(())
            }
            Err(Error::Io { path, source }) if source.kind() == io::ErrorKind::NotFound => {
                Err(Error::Invalid {
                    path,
                    reason: format!(
                        "segment {sequence} vanished {OPEN_ATTEMPTS} times between listing and opening"
                    ),
                })
            }
            other => other,
        }
    }

    /// Opens the file of a segment (or the plain file) and makes it
    /// current, resuming at `resume` if given.
    fn enter(
        &mut self,
        sequence: u64,
        path: PathBuf,
        open: Option<Segment>,
        resume: Option<CapturePosition>,
    ) -> Result<()> {
        let mut file = open_regular(&path)?;
        let mut buffer = ReadBuffer::new(self.deframer.clone());
        let mut resumed_header = None;
        if let Some(at) = resume.filter(|at| at.offset != 0 || at.frame != 0) {
            self.check_resume(&mut file, &path, at)?;
            resumed_header = read_header(&mut file, &path, self.deframer.clone())?;
            file.seek(SeekFrom::Start(at.offset)).at(&path)?;
            buffer = buffer.starting_at(Position {
                offset: at.offset,
                frame: at.frame,
            });
        }
        if let Some(n) = self.max_frame_len {
            buffer.set_max_frame_len(n);
        }
        let closed = self.is_dir && open.is_none();
        let final_end = closed || !self.follow;
        // Read now when it is there, so that `header` and `next_message`
        // say it before the first message; its damage is the next call's
        // error, as it would have been without this.
        if let Poll::Ready(Err(e)) =
            buffer.poll_header(|buf: &mut [u8]| read_file(&mut file, buf, final_end))
        {
            self.pending = Some(Error::stream(&path, e));
        }
        let mut current = Current {
            sequence,
            path,
            open,
            file,
            buffer,
            closed,
            done: false,
            first_message: self.carried,
            resumed_header,
            zero_is_message: !self.is_dir,
            zero_fill: false,
            vanished: false,
        };
        // The segment whose names vanished, listed again under another
        // name (renamed by hand): it was read to its end already.
        if let Some((vanished, header)) = self.vanished.take()
            && vanished == sequence
            && header.is_some()
            && current.header() == header.as_ref()
        {
            current.done = true;
        }
        self.current = Some(current);
        self.resume = None;
        self.idle_polls = 0;
        Ok(())
    }

    /// Refuses a position to resume at that cannot be a frame start of
    /// `file`: frame 0 anywhere but at byte offset 0 (or another frame
    /// there), a position past the end, inside the first frame, or right
    /// after it but not frame 1. Each refusal is [`Error::Invalid`] naming
    /// the file and the position.
    fn check_resume(&self, file: &mut File, path: &Path, at: CapturePosition) -> Result<()> {
        let refuse = |reason: String| Error::Invalid {
            path: path.to_path_buf(),
            reason: format!("cannot resume at {at}: {reason}"),
        };
        if at.offset == 0 || at.frame == 0 {
            return Err(refuse(
                "frame 0 starts at byte offset 0, and no other frame does".to_owned(),
            ));
        }
        let len = file.metadata().at(path)?.len();
        if at.offset > len {
            return Err(refuse(format!("the file has {len} bytes")));
        }
        let header_len = self.deframer.header_len();
        match first_frame_end(file, header_len).at(path)? {
            Some(end) if at.offset > end => Ok(()),
            Some(end) if at.offset == end && at.frame == 1 => Ok(()),
            Some(end) if at.offset == end => {
                Err(refuse(format!("frame 1 starts at byte offset {end}")))
            }
            Some(end) => Err(refuse(format!(
                "it lies inside frame 0 (the header, in a segment), bytes 0 to {end}"
            ))),
            None => Err(refuse(format!(
                "it lies inside frame 0, whose {header_len}-byte frame header is not all there"
            ))),
        }
    }
}

impl<D> Follower<D> {
    /// Where to resume: the position after the last message returned (the
    /// segment, the index of the next frame in it and its byte offset).
    /// [`open_at`](Follower::open_at) there reads exactly the messages
    /// after it.
    #[must_use]
    pub fn position(&self) -> CapturePosition {
        self.current
            .as_ref()
            .map_or(self.between, Current::position)
    }

    /// The header of the segment (or file) being read, if its first frame
    /// was one and it was read already.
    #[must_use]
    pub fn header(&self) -> Option<&StreamHeader> {
        self.current.as_ref().and_then(Current::header)
    }

    /// The capture-wide number of the next message: the segment header's
    /// [`META_FIRST_MESSAGE`] plus the messages read in the segment since
    /// (for a plain file, or a segment whose header does not say, counting
    /// on from the previous segment, from 0: the index of the next payload).
    #[must_use]
    pub fn next_message(&self) -> u64 {
        self.current
            .as_ref()
            .map_or(self.carried, Current::next_message)
    }

    /// A handle that stops the follower from another thread: see
    /// [`StopHandle::stop`].
    #[must_use]
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The stream file or capture directory being followed.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Stops a [`Follower`] from any thread.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, Crc32};
/// use flatstream_capture::Follower;
///
/// let path = std::env::temp_dir().join(format!("follower-stop-doc-{}.fstream", std::process::id()));
/// std::fs::write(&path, b"")?;
/// let mut follower = Follower::open(&path, ChecksumDeframer::new(Crc32))?;
/// let stop = follower.stop_handle();
/// let waiting = std::thread::spawn(move || follower.next().map(|m| m.is_none()));
/// stop.stop();
/// assert!(waiting.join().expect("the follower thread")?, "a stopped follower ends with None");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StopHandle {
    inner: Arc<StopInner>,
}

#[derive(Debug)]
struct StopInner {
    /// Set once, never cleared.
    stopped: AtomicBool,
    /// Held while deciding to wait, so that a stop between the check and
    /// the wait is not missed.
    lock: Mutex<()>,
    /// Wakes a waiting follower.
    wake: Condvar,
}

impl StopHandle {
    fn new() -> Self {
        StopHandle {
            inner: Arc::new(StopInner {
                stopped: AtomicBool::new(false),
                lock: Mutex::new(()),
                wake: Condvar::new(),
            }),
        }
    }

    /// Stops the follower: a [`next`](Follower::next) waiting for a message
    /// returns `Ok(None)` at once (not after its poll interval), and so
    /// does every later call. Its [`position`](Follower::position) stays
    /// where to resume.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        let _guard = self
            .inner
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.inner.wake.notify_all();
    }

    /// Whether [`stop`](StopHandle::stop) was called.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    /// Waits for `timeout`, or less once stopped.
    fn wait(&self, timeout: Duration) {
        if timeout.is_zero() {
            std::thread::yield_now();
            return;
        }
        let guard = self
            .inner
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.is_stopped() {
            return;
        }
        // Woken early (spuriously, or by the stop) is fine: the caller
        // looks at the file and at the stop again.
        drop(self.inner.wake.wait_timeout(guard, timeout));
    }
}

/// The read function of a follower's buffer: at the end of the file,
/// `Pending` (more may come), unless the end is final. There, and only
/// there, the file's length is compared with what was read of it: a
/// [`Shrunk`] error when it is shorter.
fn read_file(file: &mut File, buf: &mut [u8], final_end: bool) -> Poll<io::Result<usize>> {
    match file.read(buf) {
        Ok(0) => match shrunk_below(file) {
            Ok(Some(shrunk)) => Poll::Ready(Err(io::Error::other(shrunk))),
            Ok(None) if final_end => Poll::Ready(Ok(0)),
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        },
        other => Poll::Ready(other),
    }
}

/// What the read function answers when the file is shorter than what was
/// read of it: it was truncated (or rewritten in place) under the reader.
#[derive(Debug)]
struct Shrunk {
    /// The file's length now.
    len: u64,
    /// The bytes read of it.
    read: u64,
}

impl core::fmt::Display for Shrunk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the file has {} bytes, fewer than the {} read of it",
            self.len, self.read
        )
    }
}

impl core::error::Error for Shrunk {}

/// `file`, read to its end, is shorter than what was read of it.
fn shrunk_below(file: &mut File) -> io::Result<Option<Shrunk>> {
    let read = file.stream_position()?;
    let len = file.metadata()?.len();
    Ok((len < read).then_some(Shrunk { len, read }))
}

/// The [`Shrunk`] inside a read error, if that is what it is.
fn shrunk(e: &flatstream_core::Error) -> Option<&Shrunk> {
    match e.kind() {
        ErrorKind::Io(io) => io.get_ref()?.downcast_ref(),
        _ => None,
    }
}

/// The span of the header of `span`'s frame (all of it, when its payload
/// is empty), as a span whose "payload" [`ReadBuffer::payload`] lends.
pub(crate) fn header_of(span: FrameSpan) -> FrameSpan {
    FrameSpan {
        start: span.start,
        payload_start: span.start,
        end: span.payload_start,
    }
}

/// Whether `bytes`, a frame's header, are all zero (and there): with an
/// empty payload, a frame of zero fill.
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| b == 0)
}

/// Whether a frame of zero fill starts at `offset` of `file`: its
/// `header_len` bytes there are all there and all zero. The file's position
/// is kept.
pub(crate) fn zero_frame_at(file: &mut File, offset: u64, header_len: usize) -> io::Result<bool> {
    let back = file.stream_position()?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = [0_u8; wire::MAX_HEADER_LEN];
    let want = header_len.min(bytes.len());
    let got = read_up_to(file, &mut bytes[..want]);
    file.seek(SeekFrom::Start(back))?;
    Ok(got? == want && is_zero(&bytes[..want]))
}

/// Whether zero fill starts at `offset` of `file`, a frame that failed its
/// checksum or has an empty payload: a frame of zero bytes
/// ([`zero_frame_at`]), or zeros from a file system block boundary inside
/// the frame to the end of the file, as core's recovery judges it
/// ([`Tail::ZeroFilled`] at that frame: what a power loss leaves when the
/// frame's length landed and its last blocks did not). The one rule every
/// reader of segments asks; the second case reads to the end of the file.
/// The file's position is kept.
pub(crate) fn zero_fill_at<D: Deframer>(
    file: &mut File,
    offset: u64,
    deframer: D,
    max_frame_len: usize,
) -> io::Result<bool> {
    if zero_frame_at(file, offset, deframer.header_len())? {
        return Ok(true);
    }
    let back = file.stream_position()?;
    file.seek(SeekFrom::Start(offset))?;
    let recovery = recover_with(&mut *file, deframer, recover_options(max_frame_len));
    file.seek(SeekFrom::Start(back))?;
    Ok(zero_filled_from_start(&recovery.map_err(io::Error::other)?))
}

/// [`zero_fill_at`] for a frame at `offset` of `data`, a whole file read
/// or mapped.
pub(crate) fn zero_fill_in<D: Deframer>(
    data: &[u8],
    offset: u64,
    deframer: D,
    max_frame_len: usize,
) -> bool {
    let header_len = deframer.header_len();
    let Some(rest) = usize::try_from(offset).ok().and_then(|at| data.get(at..)) else {
        return false;
    };
    if rest.get(..header_len).is_some_and(is_zero) {
        return true;
    }
    zero_filled_from_start(&recover_slice(
        rest,
        deframer,
        recover_options(max_frame_len),
    ))
}

fn recover_options(max_frame_len: usize) -> RecoverOptions {
    RecoverOptions::default().with_max_frame_len(max_frame_len)
}

/// Whether recovery of the bytes from a frame on found no frame, only zero
/// fill starting at that frame.
fn zero_filled_from_start(recovery: &Recovery) -> bool {
    recovery.frames == 0 && matches!(recovery.tail, Tail::ZeroFilled { offset: 0, .. })
}

/// The error for zero fill at `at` of `path`, where it cannot be waited
/// at: a closed segment, or a file read without following.
pub(crate) fn zero_fill_error(path: &Path, at: Position) -> Error {
    Error::stream(
        path,
        flatstream_core::Error::custom(
            "zero fill: a frame of zero bytes, never a message, where the frames written end \
             (what a power loss leaves; recovery truncates it)",
        )
        .at(at),
    )
}

/// Reads into all of `buf` unless the file ends first; the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Where the first frame of `file` ends, as its length prefix says;
/// `None` while its frame header is not all there. The file's position is
/// left anywhere.
fn first_frame_end(file: &mut File, header_len: usize) -> io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = [0_u8; wire::MAX_HEADER_LEN];
    let want = header_len.clamp(wire::LENGTH_PREFIX_LEN, bytes.len());
    if read_up_to(file, &mut bytes[..want])? < want {
        return Ok(None);
    }
    let declared = u64::from(wire::read_length_prefix(&bytes));
    Ok(Some(declared.saturating_add(header_len as u64)))
}

/// Whether `path` exists (a dangling name counts).
fn exists(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The header in the first frame of `file` (read from its start), if that
/// frame is one; the file's position is left anywhere.
fn read_header<D: Deframer>(
    file: &mut File,
    path: &Path,
    deframer: D,
) -> Result<Option<StreamHeader>> {
    file.seek(SeekFrom::Start(0)).at(path)?;
    let mut buffer = ReadBuffer::new(deframer);
    match buffer.poll_header(|buf: &mut [u8]| Poll::Ready(file.read(buf))) {
        Poll::Ready(Err(e)) => Err(Error::stream(path, e)),
        // A read function that is never `Pending` makes it never so.
        Poll::Ready(Ok(())) | Poll::Pending => Ok(buffer.header().cloned()),
    }
}

/// The segment of `dir` with the smallest sequence number at or after
/// `from`, if any, as [`segment::list_live`](crate::segment::list_live)
/// lists a directory being written (a segment caught mid-rename once, under
/// its closed name; an open segment a crashed writer left before later
/// ones).
fn first_from(dir: &Path, from: u64) -> Result<Option<Segment>> {
    Ok(crate::segment::list_live(dir)?
        .into_iter()
        .find(|segment| segment.sequence >= from))
}
