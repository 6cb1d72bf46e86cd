//! A capture into a directory of rotating segment files: [`SegmentWriter`],
//! when it starts a new segment ([`Rotation`]) and which old segments it
//! deletes ([`Retention`]).
//!
//! Each segment is a complete stream on its own: frame 0 is a
//! [`StreamHeader`] with the capture's metadata ([`META_SEQUENCE`],
//! [`META_FIRST_MESSAGE`], [`META_START`]) and the user's schema and root
//! type, then the messages. The segment being written is named `.open`; it
//! gets its final name only once it is complete and synced, so a reader
//! never sees a closed segment that is incomplete.
//!
//! Sequence and message numbers are never used twice, across restarts too:
//! a segment is never removed except by retention (one that holds no
//! message is closed like any other, its header alone a valid stream), and
//! retention never deletes the newest closed segment, whose header and
//! messages are what a restart numbers the next segment from. A follower
//! therefore never sees a sequence number vanish and come back with other
//! messages.

use core::time::Duration;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use flatstream_core::{
    Deframer, Framer, Position, StreamHeader, StreamReader, StreamWriter, encode_header_checked,
    recover_file_for_append, wire,
};

use crate::error::{Error, IoContext, Result};
use crate::index::{IndexBuilder, IndexOptions, build_index};
use crate::segment::{
    self, DirLock, META_FIRST_MESSAGE, META_SEQUENCE, META_START, Segment, format_utc,
    open_regular, sync_dir,
};
use crate::sink::{CapturePosition, CaptureSink, ChecksOnly, FILE_BUFFER};

/// The segment size at which [`SegmentOptions::new`] rotates: 256 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 256 << 20;

/// When a [`SegmentWriter`] closes its open segment and starts a new one:
/// never, or at the first of several thresholds.
///
/// A segment always takes at least one message, so a message larger than
/// the byte threshold gets a segment of its own instead of being refused.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream_capture::Rotation;
///
/// // A new segment every hour, or sooner once one holds 64 MiB.
/// let rotation = Rotation::by_age(Duration::from_secs(3600)).or_bytes(64 << 20);
/// assert_eq!(rotation.age(), Some(Duration::from_secs(3600)));
/// assert_eq!(rotation.bytes(), Some(64 << 20));
/// assert_eq!(rotation.frames(), None);
/// assert!(Rotation::never().is_never());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotation {
    /// Rotate before a frame that would make the segment longer than this.
    bytes: Option<u64>,
    /// Rotate once the segment holds this many messages.
    frames: Option<u64>,
    /// Rotate once the segment is this old.
    age: Option<Duration>,
}

impl Rotation {
    /// Never rotate on a threshold: only on [`SegmentWriter::rotate`].
    #[must_use]
    pub const fn never() -> Self {
        Rotation {
            bytes: None,
            frames: None,
            age: None,
        }
    }

    /// Rotate before a frame that would make the segment (its header frame
    /// included) longer than `n` bytes.
    #[must_use]
    pub const fn by_bytes(n: u64) -> Self {
        Self::never().or_bytes(n)
    }

    /// Rotate once the segment holds `n` messages (its header frame is not
    /// a message).
    #[must_use]
    pub const fn by_frames(n: u64) -> Self {
        Self::never().or_frames(n)
    }

    /// Rotate once the segment is `age` old (from the start time in its
    /// name): before the next message, or on [`CaptureSink::tick`] while no
    /// message arrives.
    #[must_use]
    pub const fn by_age(age: Duration) -> Self {
        Self::never().or_age(age)
    }

    /// Also rotate before a frame that would make the segment longer than
    /// `n` bytes.
    #[must_use]
    pub const fn or_bytes(mut self, n: u64) -> Self {
        self.bytes = Some(n);
        self
    }

    /// Also rotate once the segment holds `n` messages (`0` is taken as 1).
    #[must_use]
    pub const fn or_frames(mut self, n: u64) -> Self {
        self.frames = Some(if n == 0 { 1 } else { n });
        self
    }

    /// Also rotate once the segment is `age` old.
    #[must_use]
    pub const fn or_age(mut self, age: Duration) -> Self {
        self.age = Some(age);
        self
    }

    /// The byte threshold, if any.
    #[must_use]
    pub const fn bytes(&self) -> Option<u64> {
        self.bytes
    }

    /// The message threshold, if any.
    #[must_use]
    pub const fn frames(&self) -> Option<u64> {
        self.frames
    }

    /// The age threshold, if any.
    #[must_use]
    pub const fn age(&self) -> Option<Duration> {
        self.age
    }

    /// Whether no threshold is set.
    #[must_use]
    pub const fn is_never(&self) -> bool {
        self.bytes.is_none() && self.frames.is_none() && self.age.is_none()
    }

    /// Whether a segment that started at `start` is old enough at `now`
    /// (never when the clock went back).
    fn is_age_due(&self, start: SystemTime, now: impl FnOnce() -> SystemTime) -> bool {
        self.age
            .is_some_and(|age| now().duration_since(start).is_ok_and(|d| d >= age))
    }
}

/// Which closed segments a [`SegmentWriter`] deletes, oldest first, after
/// each segment it closes: none, or those over a total size or an age.
///
/// The open segment is never deleted, and neither is the newest closed
/// segment, whatever its size or age: its header carries the numbering
/// (sequence and first message) that a restart continues from, so deleting
/// it could let a restarted writer number its messages from 0 again. A
/// directory under retention therefore always keeps at least its newest
/// closed segment, which may be more than a byte limit allows.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream_capture::Retention;
///
/// // Keep at most 10 GiB, and nothing older than a week.
/// let retention = Retention::max_bytes(10 << 30).and_max_age(Duration::from_secs(7 * 86_400));
/// assert_eq!(retention.byte_limit(), Some(10 << 30));
/// assert_eq!(retention.age_limit(), Some(Duration::from_secs(7 * 86_400)));
/// assert!(Retention::keep_all().is_keep_all());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Delete while the closed segments hold more bytes than this.
    max_bytes: Option<u64>,
    /// Delete while the oldest closed segment ended longer ago than this.
    max_age: Option<Duration>,
}

impl Retention {
    /// Delete nothing (the default).
    #[must_use]
    pub const fn keep_all() -> Self {
        Retention {
            max_bytes: None,
            max_age: None,
        }
    }

    /// Delete the oldest closed segments while the closed segments' files
    /// hold more than `n` bytes in all (index sidecars not counted), but
    /// never the newest closed one.
    #[must_use]
    pub const fn max_bytes(n: u64) -> Self {
        Self::keep_all().and_max_bytes(n)
    }

    /// Delete the oldest closed segments while one ended more than `age`
    /// ago. A segment ends where the next one starts (the start time in its
    /// name); the newest closed segment is never deleted.
    #[must_use]
    pub const fn max_age(age: Duration) -> Self {
        Self::keep_all().and_max_age(age)
    }

    /// Also keep the closed segments within `n` bytes in all.
    #[must_use]
    pub const fn and_max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// Also delete closed segments that ended more than `age` ago.
    #[must_use]
    pub const fn and_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The byte limit, if any.
    #[must_use]
    pub const fn byte_limit(&self) -> Option<u64> {
        self.max_bytes
    }

    /// The age limit, if any.
    #[must_use]
    pub const fn age_limit(&self) -> Option<Duration> {
        self.max_age
    }

    /// Whether nothing is ever deleted.
    #[must_use]
    pub const fn is_keep_all(&self) -> bool {
        self.max_bytes.is_none() && self.max_age.is_none()
    }
}

/// How a [`SegmentWriter`] writes its directory: when it rotates, what it
/// keeps, the header of every segment, the sparse index, the frame limit.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream::StreamHeader;
/// use flatstream_capture::{IndexOptions, Retention, Rotation, SegmentOptions};
///
/// let options = SegmentOptions::new()
///     .with_rotation(Rotation::by_bytes(64 << 20).or_age(Duration::from_secs(3600)))
///     .with_retention(Retention::max_bytes(1 << 30))
///     .with_header(StreamHeader::new().with_root_type("flatstream.telemetry.Telemetry"))
///     .with_index(IndexOptions::new())
///     .with_max_frame_len(16 << 20);
/// assert_eq!(options.rotation().bytes(), Some(64 << 20));
/// assert_eq!(options.max_frame_len(), Some(16 << 20));
/// ```
#[derive(Clone)]
pub struct SegmentOptions {
    /// When to start a new segment.
    rotation: Rotation,
    /// Which closed segments to delete.
    retention: Retention,
    /// The user's part of every segment's header.
    header: Option<StreamHeader>,
    /// The sparse index of every closed segment, if any.
    index: Option<IndexOptions>,
    /// The writer's payload limit, if not the stream writer's default.
    max_frame_len: Option<usize>,
}

impl core::fmt::Debug for SegmentOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SegmentOptions")
            .field("rotation", &self.rotation)
            .field("retention", &self.retention)
            .field("header", &self.header)
            .field("index", &self.index.is_some())
            .field("max_frame_len", &self.max_frame_len)
            .finish()
    }
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SegmentOptions {
    /// Rotation at [`DEFAULT_SEGMENT_BYTES`], every segment kept, no user
    /// header (segments still get the capture's header), no index, and the
    /// stream writer's default frame limit.
    #[must_use]
    pub fn new() -> Self {
        SegmentOptions {
            rotation: Rotation::by_bytes(DEFAULT_SEGMENT_BYTES),
            retention: Retention::keep_all(),
            header: None,
            index: None,
            max_frame_len: None,
        }
    }

    /// Sets when to start a new segment.
    #[must_use]
    pub fn with_rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// Sets which closed segments to delete.
    #[must_use]
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Sets the user's header (schema, root type, file identifier,
    /// metadata), written at the start of every segment together with the
    /// capture's metadata keys (which replace any of the user's pairs with
    /// the same keys).
    #[must_use]
    pub fn with_header(mut self, header: StreamHeader) -> Self {
        self.header = Some(header);
        self
    }

    /// Writes a sparse index sidecar for every segment when it is closed.
    #[must_use]
    pub fn with_index(mut self, index: IndexOptions) -> Self {
        self.index = Some(index);
        self
    }

    /// Sets the largest payload accepted, as
    /// [`StreamWriter::with_max_frame_len`] does for a stream. It limits
    /// messages only: each segment's header frame (the user's header plus
    /// the capture's metadata) is held to the format's limit,
    /// [`wire::MAX_WIRE_FRAME_LEN`], so a small limit never makes the
    /// writer unable to start a segment.
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = Some(max_frame_len);
        self
    }

    /// When to start a new segment.
    #[must_use]
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    /// Which closed segments are deleted.
    #[must_use]
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The user's header, if any.
    #[must_use]
    pub fn header(&self) -> Option<&StreamHeader> {
        self.header.as_ref()
    }

    /// The index options, if segments are indexed.
    #[must_use]
    pub fn index(&self) -> Option<&IndexOptions> {
        self.index.as_ref()
    }

    /// The payload limit, if set.
    #[must_use]
    pub fn max_frame_len(&self) -> Option<usize> {
        self.max_frame_len
    }
}

/// The file under the stream writer: the open segment's, or none between
/// segments. One stream writer serves every segment, so the framer (which
/// need not be `Clone`) is kept across rotations.
#[derive(Debug, Default)]
struct SegmentFile {
    /// The open segment's buffered file.
    file: Option<BufWriter<File>>,
}

impl Write for SegmentFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("no segment is open")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

/// The segment being written.
#[derive(Debug)]
struct OpenSegment {
    /// Its name and start.
    segment: Segment,
    /// Messages written to it (its header not counted).
    messages: u64,
}

/// A closed segment still in the directory, for retention.
#[derive(Debug)]
struct ClosedSegment {
    /// Its name and start.
    segment: Segment,
    /// Its file's length.
    len: u64,
}

/// A capture into a directory of segment files, rotated by size, message
/// count or age, with old segments deleted by a [`Retention`] policy.
///
/// # On disk
///
/// Segments are named `{sequence}-{start}.fstream` (see
/// [`segment`](crate::segment)); the one being written ends in `.open`.
/// Each is a complete stream: a [`StreamHeader`] frame carrying
/// [`META_SEQUENCE`], [`META_FIRST_MESSAGE`] and [`META_START`] (and the
/// user's header, [`SegmentOptions::with_header`]), then messages. Messages
/// are numbered capture-wide from 0, so numbers survive retention.
///
/// A segment is created lazily, by the first message after
/// [`open`](SegmentWriter::open) or a rotation that the writer accepts (a
/// payload it refuses creates nothing); its header is synced and its name
/// made durable before that message is written. Closing a segment flushes
/// and syncs it, writes its index sidecar (if indexing), renames it to its
/// closed name and syncs the directory: a closed name always holds a
/// complete, durable segment. A segment that holds no message (its first
/// message failed to be written) is closed all the same, header only: a
/// segment is never removed except by [`Retention`], so a sequence number
/// is never used twice and never vanishes under a follower.
///
/// # Restart after a crash
///
/// [`open`](SegmentWriter::open) takes the directory's lock for the life of
/// the writer, recovers an `.open` segment left by a crash (a torn or
/// zero-filled tail is truncated; corruption is refused, never truncated;
/// a header that never reached the disk is written), rebuilds its index,
/// closes it, and goes on with the next sequence and message numbers:
/// every complete frame written before the crash is kept, none is
/// duplicated, and no number is used again.
///
/// # Dropping
///
/// Dropping the writer without [`finish`](CaptureSink::finish) does not
/// close the open segment: its buffered frames are handed to the operating
/// system (not synced), it keeps its `.open` name, and the lock is
/// released. The next [`open`](SegmentWriter::open) recovers and closes it,
/// exactly as after a crash.
///
/// # Errors and stopping
///
/// Every error names the file concerned (stream errors also the frame and
/// byte offset in it). A refused payload (over
/// [`SegmentOptions::with_max_frame_len`], empty or all zero bytes) is
/// refused before anything is done for it (no rotation, no segment
/// created), and the writer goes on. A torn frame stops the stream writer, which then
/// answers [`ErrorKind::TornWrite`](flatstream_core::ErrorKind::TornWrite)
/// to every write and refuses to close the segment. An I/O error while
/// creating, syncing or closing a segment stops the whole writer: that call
/// and every later one answers [`Error::Stopped`] with the cause, and the
/// open segment is left for the next `open` to recover.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamHeader};
/// use flatstream_capture::{CaptureSink, Rotation, SegmentOptions, SegmentWriter, segment};
///
/// let dir = std::env::temp_dir().join(format!("capture-segments-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let options = SegmentOptions::new()
///     .with_rotation(Rotation::by_frames(2))
///     .with_header(StreamHeader::new().with_root_type("example.Reading"));
/// let mut writer = SegmentWriter::open(&dir, ChecksumFramer::new(Crc32), ChecksumDeframer::new(Crc32), options)?;
/// for reading in [b"one", b"two", b"six"] {
///     writer.write_payload(reading)?;
/// }
/// writer.finish()?;
/// assert_eq!(writer.next_message(), 3);
/// drop(writer);
///
/// // Two closed segments: messages 0 and 1, then message 2.
/// let segments = segment::list(&dir)?;
/// assert_eq!(segments.len(), 2);
/// assert!(segments.iter().all(|s| !s.open));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SegmentWriter<F, D> {
    /// The capture directory.
    dir: PathBuf,
    /// What recovered the open segment at `open`.
    deframer: D,
    /// The stream writer of the open segment (also between segments, with
    /// no file). `None` only for the instant its count is reset.
    writer: Option<StreamWriter<SegmentFile, F>>,
    /// The segment being written, if any.
    open: Option<OpenSegment>,
    /// The closed segments still in the directory, oldest first.
    closed: VecDeque<ClosedSegment>,
    /// Bytes of the closed segments' files.
    closed_bytes: u64,
    /// The sequence number of the next segment.
    next_sequence: u64,
    /// A segment numbered `u64::MAX` was created: no number is left.
    numbers_used_up: bool,
    /// The capture-wide number of the next message.
    next_message: u64,
    /// The largest payload accepted: the user's limit (the stream writer
    /// holds frames to the format's, so that headers are spared it).
    max_payload_len: usize,
    /// When to rotate.
    rotation: Rotation,
    /// What to delete.
    retention: Retention,
    /// The user's part of every header.
    header: Option<StreamHeader>,
    /// The open segment's index, if indexing.
    index: Option<IndexBuilder>,
    /// Closed segments deleted by retention since `open`.
    deleted: u64,
    /// The error that stopped the writer, if one did.
    stopped: Option<Arc<Error>>,
    /// The directory's lock; declared last so that it is released after
    /// the open segment's buffer is handed to the operating system.
    _lock: DirLock,
}

impl<F, D> core::fmt::Debug for SegmentWriter<F, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SegmentWriter")
            .field("dir", &self.dir)
            .field("open", &self.open)
            .field("closed_segments", &self.closed.len())
            .field("next_sequence", &self.next_sequence)
            .field("next_message", &self.next_message)
            .field("deleted", &self.deleted)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// What a segment's file says about its messages.
struct Summary {
    /// Its header, if its first frame is one.
    header: Option<StreamHeader>,
    /// Its messages (payload frames after the header).
    messages: u64,
}

impl<F: Framer, D: Deframer + Clone> SegmentWriter<F, D> {
    /// Opens the capture directory `dir` (created if missing) for writing,
    /// with `framer` for new frames and `deframer` to recover and count
    /// what is there.
    ///
    /// Takes the directory's lock, held while the writer lives. If the last
    /// segment is `.open` (the previous writer crashed or was dropped), it
    /// is recovered with [`recover_file_for_append`]: a torn or zero-filled
    /// tail is truncated and the truncation synced; if not even its header
    /// reached the disk (the file is empty, or its header was torn), the
    /// header is written (its sequence number from its name, its first
    /// message the next one); its index is rebuilt (if indexing); it is
    /// synced and renamed to its closed name, whether or not it holds a
    /// message. Retention is then applied, and the next segment (created by
    /// the next message) continues the sequence and message numbers.
    ///
    /// # Errors
    ///
    /// - [`Error::Locked`] when another writer holds the directory;
    /// - [`Error::Stream`] naming the `.open` segment when it is corrupt
    ///   (a checksum mismatch, a bad length before good frames): nothing is
    ///   truncated, and the file is left for you to inspect with
    ///   [`recover`](flatstream_core::recover);
    /// - [`Error::Invalid`] for segment names out of order, or a last
    ///   segment without the capture's header;
    /// - [`Error::Io`] or [`Error::Stream`] for I/O errors, naming the file
    ///   or directory.
    pub fn open(
        dir: impl AsRef<Path>,
        framer: F,
        deframer: D,
        options: SegmentOptions,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).at(&dir)?;
        let lock = DirLock::acquire(&dir)?;
        let mut segments = segment::list(&dir)?;
        let last_open = segments.pop_if(|s| s.open);

        let mut closed = VecDeque::with_capacity(segments.len() + 1);
        let mut closed_bytes = 0u64;
        for segment in segments {
            let len = std::fs::metadata(&segment.path).at(&segment.path)?.len();
            closed_bytes = closed_bytes.saturating_add(len);
            closed.push_back(ClosedSegment { segment, len });
        }

        // Headers are held to the format's limit only: the user's limit is
        // for messages, checked in `write_payload` (a small one must not
        // make the capture's own header frame unwritable).
        let writer = StreamWriter::new(SegmentFile::default(), framer)
            .with_max_frame_len(wire::MAX_WIRE_FRAME_LEN);
        let max_payload_len = options
            .max_frame_len
            .unwrap_or(wire::DEFAULT_MAX_FRAME_LEN)
            .min(wire::MAX_WIRE_FRAME_LEN);
        let mut this = SegmentWriter {
            dir,
            deframer,
            writer: Some(writer),
            open: None,
            closed,
            closed_bytes,
            next_sequence: 0,
            numbers_used_up: false,
            next_message: 0,
            max_payload_len,
            rotation: options.rotation,
            retention: options.retention,
            header: options.header,
            index: options.index.map(IndexBuilder::new),
            deleted: 0,
            stopped: None,
            _lock: lock,
        };
        // The numbers go on after the newest segment, which the recovered
        // `.open` one becomes if there is one.
        match last_open {
            Some(last) => this.recover_open(&last)?,
            None => (this.next_sequence, this.next_message) = this.numbers_after_closed()?,
        }
        this.apply_retention(SystemTime::now())?;
        Ok(this)
    }

    /// The sequence and message numbers that follow the newest closed
    /// segment, from its header and its messages; `(0, 0)` without one.
    fn numbers_after_closed(&self) -> Result<(u64, u64)> {
        let Some(last) = self.closed.back() else {
            return Ok((0, 0));
        };
        let path = &last.segment.path;
        let summary = summarize(path, self.deframer.clone())?;
        let Some(header) = &summary.header else {
            return Err(Error::Invalid {
                path: path.clone(),
                reason: "the segment has no capture header".to_owned(),
            });
        };
        let first = first_message(header, path)?;
        after(path, last.segment.sequence, first, summary.messages)
    }

    /// Recovers the `.open` segment `last` left by a crash: truncates a
    /// torn tail, writes its header if none reached the disk (its first
    /// message then the one after the newest closed segment), closes it
    /// (sync, rename, directory sync, index), and sets the next numbers
    /// after it. A segment without messages is closed like any other:
    /// removing it would let its sequence number be used again.
    fn recover_open(&mut self, last: &Segment) -> Result<()> {
        let path = &last.path;
        let (mut file, recovery) = recover_file_for_append(path, self.deframer.clone())
            .map_err(|e| Error::stream(path, e))?;
        let summary = summarize(path, self.deframer.clone())?;
        let first = match &summary.header {
            Some(header) => first_message(header, path)?,
            None if summary.messages > 0 || recovery.valid_len > 0 => {
                return Err(Error::Invalid {
                    path: path.clone(),
                    reason: "the segment has frames but no capture header".to_owned(),
                });
            }
            // Created, but its header never (fully) reached the disk: the
            // file is empty now (recovery truncated a torn header). Its name
            // is all it has; the header makes it a segment like the others,
            // so its sequence number is not used again.
            None => {
                let (_, next_message) = self.numbers_after_closed()?;
                self.next_message = next_message;
                self.begin_segment_file(file, last)?;
                file = self.take_file(path)?;
                next_message
            }
        };
        // Frames written before the crash may never have been synced.
        file.sync_data().at(path)?;
        let len = file.metadata().at(path)?.len();
        drop(file);
        let closed = Segment {
            open: false,
            path: last.closed_path(),
            ..last.clone()
        };
        std::fs::rename(path, &closed.path).at(path)?;
        sync_dir(&self.dir)?;
        // Indexed once closed: an index describes a segment that no longer
        // grows. A crash before this leaves a closed segment without an
        // index, which readers scan instead (and `build_index` can add).
        if let Some(index) = &self.index {
            build_index(&closed.path, self.deframer.clone(), index.options())?;
        }
        (self.next_sequence, self.next_message) =
            after(&closed.path, closed.sequence, first, summary.messages)?;
        self.closed_bytes = self.closed_bytes.saturating_add(len);
        self.closed.push_back(ClosedSegment {
            segment: closed,
            len,
        });
        Ok(())
    }

    /// Closes the open segment now (flush, sync, index, rename, directory
    /// sync), then applies retention; the next message starts a new
    /// segment. Nothing happens when no segment is open; an open segment
    /// that holds no message is closed all the same (header only).
    ///
    /// # Errors
    ///
    /// As for closing on rotation: a flush error (the segment stays open,
    /// and a later call may succeed), [`Error::Stopped`] for a sync, index,
    /// rename or directory error (or an earlier one), or a retention error
    /// (the segment was closed; deleting is tried again after the next
    /// close).
    pub fn rotate(&mut self) -> Result<()> {
        self.check_running()?;
        self.close_open(SystemTime::now())
    }

    /// The capture directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segment being written, if one is open (none after `open`, a
    /// rotation or `finish`, until the next message).
    #[must_use]
    pub fn open_segment(&self) -> Option<&Segment> {
        self.open.as_ref().map(|open| &open.segment)
    }

    /// The capture-wide number of the next message.
    #[must_use]
    pub fn next_message(&self) -> u64 {
        self.next_message
    }

    /// How many closed segments retention deleted since this writer was
    /// opened.
    #[must_use]
    pub fn deleted_segments(&self) -> u64 {
        self.deleted
    }

    /// The deframer the writer recovered the directory with.
    #[must_use]
    pub fn deframer(&self) -> &D {
        &self.deframer
    }

    /// The stream writer. It is only ever missing for the moment its count
    /// is reset, which cannot fail; this answers an error rather than
    /// panicking anyway.
    fn stream(&mut self) -> Result<&mut StreamWriter<SegmentFile, F>> {
        self.writer.as_mut().ok_or_else(|| Error::Invalid {
            path: self.dir.clone(),
            reason: "the segment writer lost its stream writer".to_owned(),
        })
    }

    /// The path of the open segment, or the directory when none is open.
    fn open_path(&self) -> PathBuf {
        self.open
            .as_ref()
            .map_or_else(|| self.dir.clone(), |open| open.segment.path.clone())
    }

    /// Refuses every operation once an error stopped the writer.
    fn check_running(&self) -> Result<()> {
        match &self.stopped {
            Some(cause) => Err(Error::Stopped(Arc::clone(cause))),
            None => Ok(()),
        }
    }

    /// The largest message: the user's limit or the framer's, if smaller.
    fn payload_limit(&self) -> usize {
        let framer = self
            .writer
            .as_ref()
            .map_or(usize::MAX, |w| w.framer().max_frame_len());
        self.max_payload_len.min(framer)
    }

    /// Refuses `payload` as the stream writer would (too large for the
    /// user's limit or the framer's, empty or all zero bytes), before any
    /// rotation or new segment is done for it: a refused message must leave
    /// no trace, not even an empty segment.
    fn check_payload(&mut self, payload: &[u8]) -> Result<()> {
        let limit = self.payload_limit();
        let writer = self.stream()?;
        let at = Position {
            offset: writer.bytes_written(),
            frame: writer.frames_written(),
        };
        match encode_header_checked(&mut ChecksOnly, payload, limit, false, &mut []) {
            Ok(()) => Ok(()),
            Err(e) if self.open.is_some() => Err(Error::stream(self.open_path(), e.at(at))),
            Err(e) => Err(Error::stream(&self.dir, e)),
        }
    }

    /// Stops the writer with `cause`, and answers it.
    fn stop(&mut self, cause: Error) -> Error {
        let cause = Arc::new(cause);
        self.stopped = Some(Arc::clone(&cause));
        Error::Stopped(cause)
    }

    /// Whether the open segment must be closed before a frame of
    /// `frame_len` bytes is written at `now`.
    fn rotation_due(&self, frame_len: u64, now: impl FnOnce() -> SystemTime) -> bool {
        let (Some(open), Some(writer)) = (&self.open, &self.writer) else {
            return false;
        };
        if open.messages == 0 {
            return false;
        }
        let rotation = &self.rotation;
        rotation
            .bytes
            .is_some_and(|max| writer.bytes_written().saturating_add(frame_len) > max)
            || rotation.frames.is_some_and(|max| open.messages >= max)
            || rotation.is_age_due(open.segment.start, now)
    }

    /// The header frame of the segment `segment`, whose first message is
    /// the next one.
    fn segment_header(&self, segment: &Segment) -> StreamHeader {
        let mut header = self.header.clone().unwrap_or_default();
        header.metadata.retain(|(key, _)| {
            key != META_SEQUENCE && key != META_FIRST_MESSAGE && key != META_START
        });
        header
            .with_metadata(META_SEQUENCE, segment.sequence.to_string())
            .with_metadata(META_FIRST_MESSAGE, self.next_message.to_string())
            .with_metadata(META_START, format_utc(segment.start))
    }

    /// Creates the next segment, started at `now`, with its header frame
    /// written and synced and its name durable.
    fn create_segment(&mut self, now: SystemTime) -> Result<()> {
        if self.numbers_used_up {
            return Err(Error::Invalid {
                path: self.dir.clone(),
                reason: format!(
                    "a segment numbered {} (the largest sequence number) was written: no segment can follow it",
                    u64::MAX
                ),
            });
        }
        let segment = Segment::new(&self.dir, self.next_sequence, now, true);
        let path = segment.path.clone();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        self.open = Some(OpenSegment {
            segment,
            messages: 0,
        });
        match self.next_sequence.checked_add(1) {
            Some(next) => self.next_sequence = next,
            None => self.numbers_used_up = true,
        }
        // The name exists from here on: whatever fails leaves a file that
        // only recovery can judge, so it stops the writer.
        match self.start_segment(file, &path) {
            Ok(()) => Ok(()),
            Err(cause) => Err(self.stop(cause)),
        }
    }

    /// Locks the new segment's `file` at `path`, writes its header frame,
    /// syncs it and makes its name durable. A segment whose header is not
    /// durable could not say, after a crash, which message it starts with.
    fn start_segment(&mut self, file: File, path: &Path) -> Result<()> {
        // The lock `recover_file_for_append` takes: nobody recovers (and
        // truncates) the segment while it is written.
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        let segment = match &self.open {
            Some(open) => open.segment.clone(),
            None => return Ok(()),
        };
        self.begin_segment_file(file, &segment)?;
        sync_dir(&self.dir)
    }

    /// Puts the empty `file` of `segment` under the stream writer (counting
    /// from the segment's start, with a fresh index), writes the segment's
    /// header frame (its first message the next one), flushes and syncs it.
    fn begin_segment_file(&mut self, file: File, segment: &Segment) -> Result<()> {
        let path = &segment.path;
        let header = self.segment_header(segment);
        if let Some(writer) = self.writer.take() {
            self.writer = Some(writer.starting_at(Position {
                offset: 0,
                frame: 0,
            }));
        }
        if let Some(index) = &mut self.index {
            index.reset();
        }
        let writer = self.stream()?;
        writer.get_mut().file = Some(BufWriter::with_capacity(FILE_BUFFER, file));
        writer
            .write_header(&header)
            .map_err(|e| Error::stream(path, e))?;
        writer.flush().map_err(|e| Error::stream(path, e))?;
        if let Some(file) = &writer.get_ref().file {
            file.get_ref().sync_data().at(path)?;
        }
        Ok(())
    }

    /// Takes the file of the segment at `path` back from the stream writer,
    /// its buffer flushed.
    fn take_file(&mut self, path: &Path) -> Result<File> {
        match self.stream()?.get_mut().file.take() {
            Some(buffered) => buffered
                .into_inner()
                .map_err(|e| Error::io(path, e.into_error())),
            None => Err(Error::Invalid {
                path: path.to_path_buf(),
                reason: "the segment writer lost the segment's file".to_owned(),
            }),
        }
    }

    /// Closes the open segment (one without messages too), then applies
    /// retention at `now`.
    fn close_open(&mut self, now: SystemTime) -> Result<()> {
        let Some(open) = &self.open else {
            return Ok(());
        };
        let path = open.segment.path.clone();
        // A flush error keeps every frame in the buffer: the segment stays
        // open and the writer usable.
        self.stream()?
            .flush()
            .map_err(|e| Error::stream(&path, e))?;
        match self.seal() {
            Ok(()) => {}
            Err(cause) => return Err(self.stop(cause)),
        }
        self.apply_retention(now)
    }

    /// Syncs and renames the flushed open segment, with its index. One that
    /// holds no message is closed too, header only: removing it would let
    /// its sequence number be used again under a follower that saw it.
    fn seal(&mut self) -> Result<()> {
        // The segment stays the open one until it is closed, so that after a
        // failure `position` still says where its frames end.
        let Some(open) = &self.open else {
            return Ok(());
        };
        let segment = open.segment.clone();
        let path = &segment.path;
        let writer = self.stream()?;
        let (len, frames) = (writer.bytes_written(), writer.frames_written());
        if let Some(buffered) = writer.get_mut().file.take() {
            let file = buffered
                .into_inner()
                .map_err(|e| Error::io(path, e.into_error()))?;
            file.sync_data().at(path)?;
        }
        if let Some(index) = &mut self.index {
            index.finish(&segment.index_path(), len, frames)?;
        }
        let closed_path = segment.closed_path();
        std::fs::rename(path, &closed_path).at(path)?;
        self.open = None;
        sync_dir(&self.dir)?;
        self.closed_bytes = self.closed_bytes.saturating_add(len);
        self.closed.push_back(ClosedSegment {
            segment: Segment {
                open: false,
                path: closed_path,
                ..segment
            },
            len,
        });
        Ok(())
    }

    /// Deletes the oldest closed segments (with their index sidecars) that
    /// the retention policy no longer keeps at `now`, then syncs the
    /// directory. The newest closed segment is never deleted.
    fn apply_retention(&mut self, now: SystemTime) -> Result<()> {
        let mut deleted_any = false;
        let result = loop {
            // The newest closed segment stays whatever the policy says: its
            // header and messages are what a restart numbers the next
            // segment from; without it a restart would start at 0 again.
            let (Some(oldest), Some(next)) = (self.closed.front(), self.closed.get(1)) else {
                break Ok(());
            };
            let over_bytes = self
                .retention
                .max_bytes
                .is_some_and(|max| self.closed_bytes > max);
            // A segment ends where the next one starts.
            let end = next.segment.start;
            let too_old = self
                .retention
                .max_age
                .is_some_and(|age| now.duration_since(end).is_ok_and(|d| d > age));
            if !over_bytes && !too_old {
                break Ok(());
            }
            // The sidecar first: a crash in between leaves a segment
            // without an index (rebuilt or scanned), never an orphan index
            // that nothing would delete.
            let index = oldest.segment.index_path();
            if let Err(e) = remove_if_present(&index) {
                break Err(e);
            }
            let path = oldest.segment.path.clone();
            if let Err(e) = remove_if_present(&path) {
                break Err(e);
            }
            let len = oldest.len;
            self.closed.pop_front();
            self.closed_bytes = self.closed_bytes.saturating_sub(len);
            self.deleted = self.deleted.saturating_add(1);
            deleted_any = true;
        };
        if deleted_any {
            sync_dir(&self.dir)?;
        }
        result
    }
}

impl<F: Framer + Send, D: Deframer + Clone + Send> CaptureSink for SegmentWriter<F, D> {
    /// Writes `payload` as the next message, rotating first when the open
    /// segment holds a message and the rotation policy says so, and
    /// creating a segment when none is open.
    ///
    /// # Errors
    ///
    /// - the refusal of a payload over
    ///   [`SegmentOptions::with_max_frame_len`] (or the framer's own limit)
    ///   or empty or all zero bytes, as every FlatStream writer refuses it,
    ///   naming the open segment and the position of the next frame (the
    ///   directory when no segment is open): nothing was done, no rotation
    ///   and no new segment, and the writer goes on;
    /// - the framer's refusal or the stream writer's I/O error, naming the
    ///   segment and the position;
    /// - an error of rotation or retention (the message was not written);
    /// - [`Error::Stopped`] after an error that stopped the writer.
    fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        self.check_running()?;
        self.check_payload(payload)?;
        let header_len = self.stream()?.framer().header_len();
        let frame_len = (header_len as u64).saturating_add(payload.len() as u64);
        // The clock is read only when a decision needs it: per message, it
        // would cost a good part of what writing the frame costs.
        if self.rotation_due(frame_len, SystemTime::now) {
            self.close_open(SystemTime::now())?;
        }
        if self.open.is_none() {
            self.create_segment(SystemTime::now())?;
        }
        let writer = self.stream()?;
        let at = Position {
            offset: writer.bytes_written(),
            frame: writer.frames_written(),
        };
        if let Err(e) = writer.write_payload(payload) {
            return Err(Error::stream(self.open_path(), e));
        }
        if let Some(open) = &mut self.open {
            open.messages = open.messages.saturating_add(1);
        }
        if let Some(index) = &mut self.index {
            index.observe(at, self.next_message, payload);
        }
        self.next_message = self.next_message.saturating_add(1);
        Ok(())
    }

    /// Hands the open segment's buffered frames to the operating system
    /// (nothing to do when none is open).
    ///
    /// # Errors
    ///
    /// The stream writer's I/O error, naming the segment.
    fn flush(&mut self) -> Result<()> {
        self.check_running()?;
        if self.open.is_none() {
            return Ok(());
        }
        let path = self.open_path();
        self.stream()?.flush().map_err(|e| Error::stream(&path, e))
    }

    /// Flushes, then syncs the open segment's data: afterwards
    /// [`position`](CaptureSink::position) is durable. `Ok` when no segment
    /// is open (closed segments are synced when they are closed).
    ///
    /// # Errors
    ///
    /// A flush error naming the segment; a failed `sync_data` stops the
    /// writer ([`Error::Stopped`]), since what reached the disk is then
    /// unknown.
    fn sync(&mut self) -> Result<()> {
        self.flush()?;
        let path = self.open_path();
        let synced = match self.writer.as_ref().and_then(|w| w.get_ref().file.as_ref()) {
            Some(file) => file.get_ref().sync_data().at(&path),
            None => Ok(()),
        };
        synced.map_err(|cause| self.stop(cause))
    }

    /// The open segment's sequence number, and the frame index and byte
    /// offset of its next frame; with no segment open, where the next
    /// segment starts: its sequence number, frame 0, offset 0.
    /// The limit of [`SegmentOptions::with_max_frame_len`] (2 GiB by
    /// default), or the framer's own if smaller.
    fn max_payload_len(&self) -> usize {
        self.payload_limit()
    }

    fn position(&self) -> CapturePosition {
        match (&self.open, &self.writer) {
            (Some(open), Some(writer)) => CapturePosition {
                segment: open.segment.sequence,
                frame: writer.frames_written(),
                offset: writer.bytes_written(),
            },
            _ => CapturePosition {
                segment: self.next_sequence,
                frame: 0,
                offset: 0,
            },
        }
    }

    /// Closes the open segment if it holds a message and its age is up at
    /// `now` (age rotation), then deletes closed segments that are too old
    /// at `now` (age retention).
    ///
    /// # Errors
    ///
    /// As [`rotate`](SegmentWriter::rotate).
    fn tick(&mut self, now: SystemTime) -> Result<()> {
        self.check_running()?;
        if let Some(open) = &self.open
            && open.messages > 0
            && self.rotation.is_age_due(open.segment.start, || now)
        {
            self.close_open(now)?;
        }
        if self.retention.max_age.is_some() {
            self.apply_retention(now)?;
        }
        Ok(())
    }

    /// Closes the open segment (with its index) as
    /// [`rotate`](SegmentWriter::rotate) does, and syncs the directory.
    ///
    /// # Errors
    ///
    /// As [`rotate`](SegmentWriter::rotate), or the directory's sync error.
    fn finish(&mut self) -> Result<()> {
        self.check_running()?;
        self.close_open(SystemTime::now())?;
        sync_dir(&self.dir)
    }
}

/// The sequence and message numbers after the segment at `path`, numbered
/// `sequence`, whose first message is `first` and which holds `messages`.
fn after(path: &Path, sequence: u64, first: u64, messages: u64) -> Result<(u64, u64)> {
    match (sequence.checked_add(1), first.checked_add(messages)) {
        (Some(sequence), Some(message)) => Ok((sequence, message)),
        _ => Err(Error::Invalid {
            path: path.to_path_buf(),
            reason: "the segment's sequence or message numbers are at their limit".to_owned(),
        }),
    }
}

/// Reads the segment at `path`: its header, and how many messages follow.
fn summarize<D: Deframer>(path: &Path, deframer: D) -> Result<Summary> {
    let file = open_regular(path)?;
    let mut reader = StreamReader::new(file, deframer).with_max_frame_len(wire::MAX_WIRE_FRAME_LEN);
    let header = reader
        .header()
        .map_err(|e| Error::stream(path, e))?
        .cloned();
    let mut messages = 0u64;
    while reader
        .read_message()
        .map_err(|e| Error::stream(path, e))?
        .is_some()
    {
        messages += 1;
    }
    Ok(Summary { header, messages })
}

/// The number of the first message of the segment at `path`, from its
/// header.
fn first_message(header: &StreamHeader, path: &Path) -> Result<u64> {
    let value = header
        .metadata(META_FIRST_MESSAGE)
        .ok_or_else(|| Error::Invalid {
            path: path.to_path_buf(),
            reason: format!("the segment's header has no {META_FIRST_MESSAGE}"),
        })?;
    value.parse().map_err(|_| Error::Invalid {
        path: path.to_path_buf(),
        reason: format!("the segment's header has {META_FIRST_MESSAGE} = {value:?}, not a number"),
    })
}

/// Removes the file at `path`; one that is already gone is fine.
fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}
