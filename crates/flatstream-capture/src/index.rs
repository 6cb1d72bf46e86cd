//! Sparse segment indexes, and seeking by message number or by time.
//!
//! A closed segment may have a sidecar, its closed name plus `.idx`, that
//! lists a few of its messages with where they are: one entry for the first
//! message, then one whenever [`IndexOptions`]' message count or byte count
//! since the last entry is reached. A seek reads at most one header per
//! probe of a binary search over the segments, the target segment's
//! sidecar, and then scans forward from the nearest entry to the next one
//! (or to the segment's end): one interval of frames.
//!
//! A sidecar is only a hint, and a seek uses it only as far as the segment
//! confirms it. It names the segment length and frame count it describes
//! and carries a CRC-32, so a damaged index, or a stale one (of a segment
//! that was rewritten or recovered since), is detected at once and
//! ignored, and [`build_index`] writes a fresh one; its first entry must be
//! the segment's first message, where the header ends. The entry a seek
//! starts from is then checked by the scan from it: every frame verifies,
//! the message there fits the entry (for [`seek_to_time`], its timestamp is
//! the entry's), and the scan reaches the next entry, or the end of the
//! segment the index names, exactly: a frame ends at that byte offset, at
//! that frame index. Only then is what it found taken; anything else, and
//! the seek scans from the segment's header instead (slower, never wrong).
//! What a seek does not read it cannot check: a sidecar forged to agree
//! with its segment wherever a seek looks (every entry from some point on,
//! and the frame count, shifted alike) is caught by
//! [`SegmentIndex::check`], which reads the whole segment.
//!
//! Zero fill (a frame of zero bytes, what a power loss leaves after the
//! last frame that landed, or zeros from a block boundary inside a frame
//! whose length landed, to the end, as core's recovery judges it: one rule
//! with the follower's) is never a message: in a segment still being
//! written, a plain file or a slice (which may be growing) it is where the
//! messages end, as a torn frame is; in a closed segment it is an error
//! naming the file and the position.
//!
//! # Sidecar format (version 1)
//!
//! All integers are little-endian.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | magic `FSIX` |
//! | 4 | 2 | version: 1 |
//! | 6 | 2 | flags: bit 0 set when entries carry timestamps; other bits 0 |
//! | 8 | 8 | length in bytes of the segment described |
//! | 16 | 8 | frames in that segment, its header frame included |
//! | 24 | 8 | the options' interval in messages |
//! | 32 | 8 | the options' interval in bytes |
//! | 40 | 8 | `n`, the number of entries |
//! | 48 | 32 `n` | entries, each: message number, frame index, byte offset of the frame, timestamp (nanoseconds since the Unix epoch; `u64::MAX` for none) |
//! | 48 + 32 `n` | 4 | CRC-32/ISO-HDLC of every byte before it |
//!
//! Entries are in increasing order of message, frame and offset, and since
//! every frame of a segment but its header is a message, message numbers
//! and frame indices advance together. A reader refuses anything else, any
//! other length, and any checksum mismatch, as [`Error::Invalid`].
//!
//! # Messages and positions
//!
//! Messages are payload frames; a stream's header frame is not one, though
//! it counts as frame 0. In a capture directory, a segment's header says
//! the capture-wide number of its first message
//! ([`META_FIRST_MESSAGE`](crate::segment::META_FIRST_MESSAGE)); in a plain
//! stream file messages are numbered from 0 (or from that key, if its
//! header has it). A seek answers a [`CapturePosition`]: the segment's
//! sequence number (from its header for a single file, else 0), the index
//! of the frame in that segment and its byte offset, where a reader that
//! starts there finds the message asked for first.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Poll;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use flatstream_core::{
    Deframer, ErrorKind, FrameCursor, Position, ReadBuffer, SliceReader, Step, StreamHeader,
    StreamReader,
};

use crate::error::{Error, IoContext, Result};
use crate::follow::{
    header_of, is_zero, zero_fill_at, zero_fill_error, zero_fill_in, zero_frame_at,
};
use crate::segment::{self, META_FIRST_MESSAGE, META_SEQUENCE, OPEN_SUFFIX, Segment, open_regular};
use crate::sink::CapturePosition;

/// A message's timestamp, read from its payload: nanoseconds since the Unix
/// epoch, or `None` when the payload has none.
///
/// It is called by an [`IndexBuilder`] only for the messages it indexes,
/// and by [`seek_to_time`] for the messages it scans; it should be cheap
/// and must not panic.
pub type TimestampFn = Arc<dyn Fn(&[u8]) -> Option<u64> + Send + Sync>;

/// Bytes of a sidecar before its entries.
const HEADER_LEN: usize = 48;
/// Bytes of one entry.
const ENTRY_LEN: usize = 32;
/// Bytes of the trailing checksum.
const CRC_LEN: usize = 4;
/// The first bytes of every sidecar.
const MAGIC: [u8; 4] = *b"FSIX";
/// The format version written and read.
const VERSION: u16 = 1;
/// Flag: the entries carry timestamps.
const FLAG_TIMESTAMPS: u16 = 1;
/// An entry's timestamp field when it has none.
const NO_TIMESTAMP: u64 = u64::MAX;
/// Default interval in messages.
const DEFAULT_EVERY_MESSAGES: u64 = 4096;
/// Default interval in bytes.
const DEFAULT_EVERY_BYTES: u64 = 1 << 20;

/// How dense an index is, and how to read a message's timestamp.
///
/// An entry is made for a segment's first message, then for the first
/// message at least [`every_messages`](IndexOptions::every_messages)
/// messages or [`every_bytes`](IndexOptions::every_bytes) bytes after the
/// last entry, whichever comes first. A seek scans at most about that many
/// messages or bytes.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use flatstream_capture::IndexOptions;
///
/// // Payloads that start with their timestamp, as 8 little-endian bytes.
/// let options = IndexOptions::new()
///     .every_messages(1000)
///     .every_bytes(256 * 1024)
///     .with_timestamp(Arc::new(|payload: &[u8]| {
///         Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?))
///     }));
/// assert_eq!(options.interval_messages(), 1000);
/// ```
#[derive(Clone)]
pub struct IndexOptions {
    /// Messages between entries, at least 1.
    every_messages: u64,
    /// Bytes between entries, at least 1.
    every_bytes: u64,
    /// How to read a message's timestamp, if entries carry them.
    timestamp: Option<TimestampFn>,
}

impl IndexOptions {
    /// An entry every 4096 messages or every MiB, whichever comes first; no
    /// timestamps.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = flatstream_capture::IndexOptions::new();
    /// assert_eq!((options.interval_messages(), options.interval_bytes()), (4096, 1 << 20));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        IndexOptions {
            every_messages: DEFAULT_EVERY_MESSAGES,
            every_bytes: DEFAULT_EVERY_BYTES,
            timestamp: None,
        }
    }

    /// An entry at least every `n` messages (0 counts as 1; `u64::MAX`
    /// leaves it to the byte interval).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = flatstream_capture::IndexOptions::new().every_messages(100);
    /// assert_eq!(options.interval_messages(), 100);
    /// ```
    #[must_use]
    pub fn every_messages(mut self, n: u64) -> Self {
        self.every_messages = n.max(1);
        self
    }

    /// An entry at least every `n` bytes of the segment (0 counts as 1;
    /// `u64::MAX` leaves it to the message interval).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = flatstream_capture::IndexOptions::new().every_bytes(64 * 1024);
    /// assert_eq!(options.interval_bytes(), 64 * 1024);
    /// ```
    #[must_use]
    pub fn every_bytes(mut self, n: u64) -> Self {
        self.every_bytes = n.max(1);
        self
    }

    /// Records, in each entry, the timestamp that `f` reads from the
    /// entry's payload, so that [`seek_to_time`] can jump near a time. A
    /// timestamp of `u64::MAX` is recorded as none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let options = flatstream_capture::IndexOptions::new()
    ///     .with_timestamp(Arc::new(|payload: &[u8]| Some(payload.len() as u64)));
    /// assert!(options.timestamp().is_some());
    /// ```
    #[must_use]
    pub fn with_timestamp(mut self, f: TimestampFn) -> Self {
        self.timestamp = Some(f);
        self
    }

    /// The interval in messages.
    #[must_use]
    pub fn interval_messages(&self) -> u64 {
        self.every_messages
    }

    /// The interval in bytes.
    #[must_use]
    pub fn interval_bytes(&self) -> u64 {
        self.every_bytes
    }

    /// The timestamp function, if any.
    #[must_use]
    pub fn timestamp(&self) -> Option<&TimestampFn> {
        self.timestamp.as_ref()
    }
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions::new()
    }
}

impl fmt::Debug for IndexOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexOptions")
            .field("every_messages", &self.every_messages)
            .field("every_bytes", &self.every_bytes)
            .field(
                "timestamp",
                &self.timestamp.as_ref().map(|_| "Fn(&[u8]) -> Option<u64>"),
            )
            .finish()
    }
}

/// One entry of a segment index: a message and where its frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// The message's capture-wide number.
    pub message: u64,
    /// The index of its frame in the segment (the header is frame 0).
    pub frame: u64,
    /// The byte offset of its frame in the segment.
    pub offset: u64,
    /// Its timestamp (nanoseconds since the Unix epoch), when the index
    /// was built with a timestamp function that found one.
    pub timestamp: Option<u64>,
}

impl IndexEntry {
    /// Where its frame starts, as core's readers count.
    fn position(&self) -> Position {
        Position {
            offset: self.offset,
            frame: self.frame,
        }
    }
}

/// Builds the index of the segment being written, one message at a time,
/// and writes its sidecar when the segment is finished.
///
/// # Examples
///
/// What a segment writer does: observe every message as it is written,
/// finish once the segment is closed.
///
/// ```
/// use flatstream::{ChecksumFramer, Crc32, Position, StreamWriter};
/// use flatstream_capture::{IndexBuilder, IndexOptions, SegmentIndex};
///
/// let dir = std::env::temp_dir().join(format!("capture-index-builder-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
/// let mut index = IndexBuilder::new(IndexOptions::new().every_messages(10));
/// for message in 0..25_u64 {
///     let at = Position { offset: writer.bytes_written(), frame: writer.frames_written() };
///     let payload = format!("message {message}");
///     writer.write_payload(payload.as_bytes())?;
///     index.observe(at, message, payload.as_bytes());
/// }
/// let sidecar = dir.join("stream.fstream.idx");
/// index.finish(&sidecar, writer.bytes_written(), writer.frames_written())?;
///
/// let read = SegmentIndex::read(&sidecar)?;
/// let indexed: Vec<u64> = read.entries().iter().map(|e| e.message).collect();
/// assert_eq!(indexed, [0, 10, 20]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct IndexBuilder {
    /// Intervals and the timestamp function.
    options: IndexOptions,
    /// The entries of the current segment so far.
    entries: Vec<IndexEntry>,
    /// The message number from which the next entry is due.
    next_message: u64,
    /// The byte offset from which the next entry is due.
    next_offset: u64,
}

impl IndexBuilder {
    /// A builder for segments indexed as `options` say.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_capture::{IndexBuilder, IndexOptions};
    /// let builder = IndexBuilder::new(IndexOptions::new());
    /// assert!(builder.entries().is_empty());
    /// ```
    #[must_use]
    pub fn new(options: IndexOptions) -> Self {
        IndexBuilder {
            options,
            entries: Vec::new(),
            next_message: 0,
            next_offset: 0,
        }
    }

    /// Notes a message written to the current segment: `at` is where its
    /// frame starts (the writer's position before writing it), `message`
    /// its capture-wide number. Call it for every message, in order.
    ///
    /// Two comparisons per message; the timestamp function runs only for
    /// the messages that become entries.
    #[inline]
    pub fn observe(&mut self, at: Position, message: u64, payload: &[u8]) {
        if message >= self.next_message || at.offset >= self.next_offset {
            self.add(at, message, payload);
        }
    }

    /// Makes `message` an entry and sets when the next one is due.
    #[cold]
    fn add(&mut self, at: Position, message: u64, payload: &[u8]) {
        let timestamp = self
            .options
            .timestamp
            .as_ref()
            .and_then(|f| f(payload))
            .filter(|&t| t != NO_TIMESTAMP);
        self.entries.push(IndexEntry {
            message,
            frame: at.frame,
            offset: at.offset,
            timestamp,
        });
        self.next_message = message.saturating_add(self.options.every_messages);
        self.next_offset = at.offset.saturating_add(self.options.every_bytes);
    }

    /// The entries of the current segment so far.
    #[must_use]
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &IndexOptions {
        &self.options
    }

    /// Writes the sidecar of the finished segment to `index_path`, saying
    /// that it describes a segment of `segment_len` bytes and `frames`
    /// frames (the header included), and starts over for the next segment
    /// (also when writing fails).
    ///
    /// The sidecar is written to a temporary file beside it, synced and
    /// renamed over `index_path`, so a reader sees the old sidecar, the new
    /// one, or none, never a partial one. The directory is not synced here:
    /// the segment writer syncs it once it has closed the segment, and a
    /// sidecar lost in a crash is rebuilt with [`build_index`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming `index_path` when the observed positions do
    /// not fit a segment of that length and frame count, or are not in
    /// increasing order; [`Error::Io`] when the file cannot be written,
    /// synced or renamed (the temporary file is then removed).
    pub fn finish(&mut self, index_path: &Path, segment_len: u64, frames: u64) -> Result<()> {
        let index = SegmentIndex {
            entries: core::mem::take(&mut self.entries),
            segment_len,
            frames,
            every_messages: self.options.every_messages,
            every_bytes: self.options.every_bytes,
            timestamps: self.options.timestamp.is_some(),
        };
        self.reset();
        index.write(index_path)
    }

    /// Forgets the entries of the current segment, to start another.
    pub fn reset(&mut self) {
        self.entries.clear();
        self.next_message = 0;
        self.next_offset = 0;
    }
}

/// The path of the sidecar of the stream file `path`: its closed name plus
/// `.idx`; `None` for an open segment, which has none.
fn sidecar_path(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    if name.to_str().is_some_and(|n| n.ends_with(OPEN_SUFFIX)) {
        return None;
    }
    let mut name = name.to_os_string();
    name.push(segment::INDEX_SUFFIX);
    Some(path.with_file_name(name))
}

/// Scans the closed segment (or plain stream file) `segment` and writes its
/// sidecar (the path with `.idx` appended) as an [`IndexBuilder`] would
/// have while writing it: after crash recovery, after a change of options,
/// or for a file that never had one. Its messages are numbered from its
/// header's [`META_FIRST_MESSAGE`], or from 0.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
/// use flatstream_capture::{IndexOptions, SegmentIndex, build_index};
///
/// let path = std::env::temp_dir().join(format!("capture-build-index-{}.fstream", std::process::id()));
/// let mut writer = StreamWriter::new(std::fs::File::create(&path)?, ChecksumFramer::new(Crc32));
/// for message in 0..100 {
///     writer.write_payload(format!("message {message}").as_bytes())?;
/// }
/// drop(writer);
///
/// build_index(&path, ChecksumDeframer::new(Crc32), &IndexOptions::new().every_messages(16))?;
/// let sidecar = path.with_extension("fstream.idx");
/// let index = SegmentIndex::read(&sidecar)?;
/// index.check(&path, ChecksumDeframer::new(Crc32))?;
/// assert_eq!(index.entries().len(), 7); // messages 0, 16, ..., 96
/// # std::fs::remove_file(&path)?;
/// # std::fs::remove_file(&sidecar)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] for an open segment (still being written: it has no
/// index) or a header whose [`META_FIRST_MESSAGE`] is not a number;
/// [`Error::Stream`] when a frame is torn or damaged, or is zero fill (a
/// frame of zero bytes, what a power loss leaves: recover the segment
/// first); [`Error::Io`] when a file cannot be read or written. Each names
/// the file concerned.
pub fn build_index<D: Deframer>(segment: &Path, deframer: D, options: &IndexOptions) -> Result<()> {
    let index_path = sidecar_path(segment).ok_or_else(|| Error::Invalid {
        path: segment.to_path_buf(),
        reason: "an open segment has no index: it is still being written".to_owned(),
    })?;
    let mut deframer = deframer;
    let mut stats = SeekStats::default();
    let head =
        file_head(segment, &mut deframer, None, &mut stats)?.ok_or_else(|| Error::Invalid {
            path: segment.to_path_buf(),
            reason: "no header could be read".to_owned(),
        })?;
    let mut builder = IndexBuilder::new(options.clone());
    let mut frames = FileFrames {
        path: segment,
        deframer: &mut deframer,
        torn_is_end: false,
    };
    let end = frames.scan(head.after, head.first_message, &mut stats, &mut |seen| {
        builder.observe(seen.at, seen.message, seen.payload);
        false
    })?;
    builder.finish(&index_path, end.at.offset, end.at.frame)
}

/// A segment's index, read back from its sidecar: the entries, and the
/// segment length and frame count it describes.
///
/// The sidecar (version 1) is little-endian: the magic `FSIX`, a 2-byte
/// version and 2 bytes of flags (bit 0: entries carry timestamps), then
/// the segment's length, its frame count, the two intervals and the number
/// of entries (8 bytes each), the entries (message number, frame index,
/// byte offset and timestamp, 8 bytes each; a timestamp of `u64::MAX` is
/// none), and a CRC-32/ISO-HDLC of everything before it. Anything else,
/// a checksum mismatch, or entries out of order, is refused.
///
/// # Examples
///
/// See [`IndexBuilder`] and [`build_index`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentIndex {
    /// The entries, in increasing order.
    entries: Vec<IndexEntry>,
    /// The length of the segment described.
    segment_len: u64,
    /// The frames of the segment described, its header included.
    frames: u64,
    /// The interval in messages it was built with.
    every_messages: u64,
    /// The interval in bytes it was built with.
    every_bytes: u64,
    /// Whether it was built with a timestamp function.
    timestamps: bool,
}

impl SegmentIndex {
    /// Reads the sidecar at `index_path`, checking its magic, version,
    /// length, checksum and the order of its entries. Memory is bounded by
    /// the file's size.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the file, saying what is wrong, when it is
    /// not a sidecar of this version or is damaged in any way;
    /// [`Error::Io`] when it cannot be read (it does not exist, say).
    pub fn read(index_path: &Path) -> Result<Self> {
        let invalid = |reason: String| Error::Invalid {
            path: index_path.to_path_buf(),
            reason,
        };
        let mut file = open_regular(index_path)?;
        let len = file.metadata().at(index_path)?.len();
        let min = (HEADER_LEN + CRC_LEN) as u64;
        if len < min {
            return Err(invalid(format!(
                "{len} bytes is too short for a segment index (at least {min})"
            )));
        }
        let mut bytes = vec![0; HEADER_LEN];
        read_all(&mut file, &mut bytes, index_path)?;
        let declared = declared_len(&bytes).map_err(&invalid)?;
        if declared != len {
            return Err(invalid(format!(
                "the file has {len} bytes, but its entry count says {declared}"
            )));
        }
        // The declared length is the file's, so this allocates no more than
        // the file holds.
        let len = usize::try_from(len)
            .map_err(|_| invalid(format!("{len} bytes is too large to read")))?;
        bytes.resize(len, 0);
        read_all(&mut file, &mut bytes[HEADER_LEN..], index_path)?;
        SegmentIndex::decode(&bytes).map_err(invalid)
    }

    /// Checks that this index describes the segment (or stream file) at
    /// `segment`, by reading all of it: its length, and every frame
    /// (verified with `deframer`), so that each entry is confirmed to name
    /// a message by its number, frame index and byte offset, and the frame
    /// count is the segment's. It costs one sequential read of the segment,
    /// as [`build_index`] does; a seek checks only what it uses (see
    /// [`seek_to_message`]). Timestamps are not checked: the index does
    /// not carry the function that read them.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the segment and saying what differs;
    /// [`Error::Stream`] when a frame of the segment is torn, damaged or
    /// zero fill; [`Error::Io`] when it cannot be read.
    pub fn check<D: Deframer>(&self, segment: &Path, mut deframer: D) -> Result<()> {
        let invalid = |reason: String| Error::Invalid {
            path: segment.to_path_buf(),
            reason,
        };
        let len = fs::metadata(segment).at(segment)?.len();
        if len != self.segment_len {
            return Err(invalid(format!(
                "the index describes a segment of {} bytes, this one has {len}",
                self.segment_len
            )));
        }
        let mut stats = SeekStats::default();
        let head = file_head(segment, &mut deframer, None, &mut stats)?
            .ok_or_else(|| invalid("the stream has no complete first frame".to_owned()))?;
        match self.entries.first() {
            Some(first)
                if (first.message, first.position()) != (head.first_message, head.after) =>
            {
                return Err(invalid(format!(
                    "the index starts with message {} at frame {}, byte offset {}; the segment's \
                     first message is {} at frame {}, byte offset {}",
                    first.message,
                    first.frame,
                    first.offset,
                    head.first_message,
                    head.after.frame,
                    head.after.offset
                )));
            }
            _ => {}
        }
        let mut frames = FileFrames {
            path: segment,
            deframer: &mut deframer,
            torn_is_end: false,
        };
        // Each entry is compared with the first frame that starts at or
        // after its offset: the same message, frame and offset, or wrong.
        let mut next_entry = 0;
        let mut wrong = None;
        let end = frames.scan(head.after, head.first_message, &mut stats, &mut |seen| {
            let Some(entry) = self.entries.get(next_entry) else {
                return false;
            };
            if entry.offset > seen.at.offset {
                return false;
            }
            if (entry.message, entry.position()) != (seen.message, seen.at) {
                wrong = Some((seen.message, seen.at));
                return true;
            }
            next_entry += 1;
            false
        })?;
        if let Some(entry) = self.entries.get(next_entry) {
            let what = wrong.map_or_else(
                || "lies past the segment's last frame".to_owned(),
                |(message, at)| {
                    format!(
                        "is not in the segment, whose message {message} is frame {} at byte \
                         offset {}",
                        at.frame, at.offset
                    )
                },
            );
            return Err(invalid(format!(
                "index entry {next_entry} (message {}, frame {}, byte offset {}) {what}",
                entry.message, entry.frame, entry.offset
            )));
        }
        if end.at != self.end() {
            return Err(invalid(format!(
                "the index describes {} frames in {} bytes; the segment has {} frames in {} bytes",
                self.frames, self.segment_len, end.at.frame, end.at.offset
            )));
        }
        Ok(())
    }

    /// The entries, in increasing order of message, frame and offset.
    #[must_use]
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// The length in bytes of the segment it describes.
    #[must_use]
    pub fn segment_len(&self) -> u64 {
        self.segment_len
    }

    /// The frames of the segment it describes, its header included.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The interval in messages it was built with.
    #[must_use]
    pub fn interval_messages(&self) -> u64 {
        self.every_messages
    }

    /// The interval in bytes it was built with.
    #[must_use]
    pub fn interval_bytes(&self) -> u64 {
        self.every_bytes
    }

    /// Whether it was built with a timestamp function (entries may still
    /// lack a timestamp, when the function found none).
    #[must_use]
    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// The end of the segment it describes.
    fn end(&self) -> Position {
        Position {
            offset: self.segment_len,
            frame: self.frames,
        }
    }

    /// Whether it may describe the stream of `len` bytes whose first
    /// message is as `head` says: a stale or foreign index is not used.
    fn fits(&self, len: u64, head: &Head) -> bool {
        self.segment_len == len
            && self
                .entries
                .first()
                .is_none_or(|e| e.message == head.first_message && e.position() == head.after)
    }

    /// The sidecar's bytes.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + ENTRY_LEN * self.entries.len() + CRC_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let flags = if self.timestamps { FLAG_TIMESTAMPS } else { 0 };
        out.extend_from_slice(&flags.to_le_bytes());
        for value in [
            self.segment_len,
            self.frames,
            self.every_messages,
            self.every_bytes,
            self.entries.len() as u64,
        ] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        for e in &self.entries {
            for value in [
                e.message,
                e.frame,
                e.offset,
                e.timestamp.unwrap_or(NO_TIMESTAMP),
            ] {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a whole sidecar; the error says what is wrong with it.
    fn decode(bytes: &[u8]) -> core::result::Result<Self, String> {
        let declared = declared_len(bytes)?;
        if declared != bytes.len() as u64 {
            return Err(format!(
                "the file has {} bytes, but its entry count says {declared}",
                bytes.len()
            ));
        }
        let (body, crc) = bytes
            .split_last_chunk::<CRC_LEN>()
            .ok_or_else(|| "too short for its checksum".to_owned())?;
        let stored = u32::from_le_bytes(*crc);
        let computed = crc32fast::hash(body);
        if stored != computed {
            return Err(format!(
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the index is damaged"
            ));
        }
        let mut le = Le(body.get(6..).unwrap_or_default());
        let flags = le.u16()?;
        if flags & !FLAG_TIMESTAMPS != 0 {
            return Err(format!("unknown flags {flags:#06x}"));
        }
        let segment_len = le.u64()?;
        let frames = le.u64()?;
        let every_messages = le.u64()?;
        let every_bytes = le.u64()?;
        let count = le.u64()?;
        let mut entries = Vec::with_capacity(body.len().saturating_sub(HEADER_LEN) / ENTRY_LEN);
        for _ in 0..count {
            let (message, frame, offset, timestamp) = (le.u64()?, le.u64()?, le.u64()?, le.u64()?);
            entries.push(IndexEntry {
                message,
                frame,
                offset,
                timestamp: (timestamp != NO_TIMESTAMP).then_some(timestamp),
            });
        }
        let index = SegmentIndex {
            entries,
            segment_len,
            frames,
            every_messages,
            every_bytes,
            timestamps: flags & FLAG_TIMESTAMPS != 0,
        };
        index.validate()?;
        Ok(index)
    }

    /// Checks what an index says of itself; the error says what is wrong.
    fn validate(&self) -> core::result::Result<(), String> {
        if self.every_messages == 0 || self.every_bytes == 0 {
            return Err("an interval of 0".to_owned());
        }
        for (i, e) in self.entries.iter().enumerate() {
            if e.offset >= self.segment_len || e.frame >= self.frames {
                return Err(format!(
                    "entry {i} (frame {}, byte offset {}) lies past the end of the segment \
                     ({} frames, {} bytes)",
                    e.frame, e.offset, self.frames, self.segment_len
                ));
            }
            if e.timestamp.is_some() && !self.timestamps {
                return Err(format!("entry {i} has a timestamp, but the index has none"));
            }
        }
        for (i, pair) in self.entries.windows(2).enumerate() {
            let [a, b] = pair else { continue };
            let increasing = a.message < b.message && a.frame < b.frame && a.offset < b.offset;
            // Every frame after a segment's header is a message.
            if !increasing || b.message - a.message != b.frame - a.frame {
                return Err(format!(
                    "entries {i} and {} are out of order (messages {} and {}, frames {} and {}, \
                     byte offsets {} and {})",
                    i + 1,
                    a.message,
                    b.message,
                    a.frame,
                    b.frame,
                    a.offset,
                    b.offset
                ));
            }
        }
        Ok(())
    }

    /// Writes the sidecar atomically: a temporary file beside it, synced,
    /// then renamed.
    fn write(&self, index_path: &Path) -> Result<()> {
        self.validate().map_err(|reason| Error::Invalid {
            path: index_path.to_path_buf(),
            reason: format!("the observed positions make no index: {reason}"),
        })?;
        let bytes = self.encode();
        let temp = temp_path(index_path);
        let written = File::create(&temp)
            .and_then(|mut f| {
                f.write_all(&bytes)?;
                f.sync_all()
            })
            .at(&temp)
            .and_then(|()| fs::rename(&temp, index_path).at(index_path));
        if written.is_err() {
            // The temporary file is garbage either way; a failure to remove
            // it changes nothing the caller can act on.
            let _ = fs::remove_file(&temp);
        }
        written
    }
}

/// A name beside `index_path` for writing it, unique to this process and
/// call, so that two builders of the same sidecar never share one.
fn temp_path(index_path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = index_path.as_os_str().to_os_string();
    name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    PathBuf::from(name)
}

/// The length a sidecar declares, from its first [`HEADER_LEN`] bytes.
fn declared_len(bytes: &[u8]) -> core::result::Result<u64, String> {
    let mut le = Le(bytes);
    let magic = le.take::<4>()?;
    if magic != MAGIC {
        return Err(format!(
            "not a segment index: it starts with {magic:02x?}, not {MAGIC:02x?} (\"FSIX\")"
        ));
    }
    let version = le.u16()?;
    if version != VERSION {
        return Err(format!(
            "index version {version}; this build reads version {VERSION}"
        ));
    }
    let count = Le(bytes.get(40..).unwrap_or_default()).u64()?;
    count
        .checked_mul(ENTRY_LEN as u64)
        .and_then(|n| n.checked_add((HEADER_LEN + CRC_LEN) as u64))
        .ok_or_else(|| format!("{count} entries cannot be"))
}

/// Reads exactly `buf.len()` bytes; a file that ends early is a damaged
/// sidecar (or one replaced while read).
fn read_all(file: &mut File, buf: &mut [u8], path: &Path) -> Result<()> {
    file.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Invalid {
                path: path.to_path_buf(),
                reason: "the file is shorter than it says".to_owned(),
            }
        } else {
            Error::io(path, e)
        }
    })
}

/// Little-endian fields read off the front of a slice.
struct Le<'a>(&'a [u8]);

impl Le<'_> {
    fn take<const N: usize>(&mut self) -> core::result::Result<[u8; N], String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| "the file ends inside a field".to_owned())?;
        self.0 = rest;
        Ok(*head)
    }

    fn u16(&mut self) -> core::result::Result<u16, String> {
        self.take().map(u16::from_le_bytes)
    }

    fn u64(&mut self) -> core::result::Result<u64, String> {
        self.take().map(u64::from_le_bytes)
    }
}

/// What seeking costs: counted, so a test can show it is logarithmic.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SeekStats {
    /// Stream headers read (one per segment looked into).
    pub(crate) headers_read: u64,
    /// Sidecars read.
    pub(crate) indexes_read: u64,
    /// Frames read while scanning.
    pub(crate) frames_scanned: u64,
}

/// What a stream's header says, and where its first message starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    /// The sequence number, for positions.
    sequence: u64,
    /// The number of its first message.
    first_message: u64,
    /// Where the first frame after the header (if any) starts.
    after: Position,
}

/// The decimal number under `key` in `header`, if there is one.
fn meta_u64(header: &StreamHeader, key: &str, path: &Path) -> Result<Option<u64>> {
    header
        .metadata(key)
        .map(|value| {
            value.parse().map_err(|_| Error::Invalid {
                path: path.to_path_buf(),
                reason: format!("its header's {key} is {value:?}, not a number"),
            })
        })
        .transpose()
}

/// What a header says of its stream; `segment` when it is a capture
/// segment, whose header must carry its first message number and, if it
/// carries a sequence number, its name's.
fn head_of(
    header: Option<&StreamHeader>,
    segment: Option<&Segment>,
    path: &Path,
    after: Position,
) -> Result<Head> {
    let invalid = |reason: String| Error::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let (first, sequence) = match header {
        Some(h) => (
            meta_u64(h, META_FIRST_MESSAGE, path)?,
            meta_u64(h, META_SEQUENCE, path)?,
        ),
        None => (None, None),
    };
    let Some(segment) = segment else {
        return Ok(Head {
            sequence: sequence.unwrap_or(0),
            first_message: first.unwrap_or(0),
            after,
        });
    };
    if header.is_none() {
        return Err(invalid("the segment has no capture header".to_owned()));
    }
    let first = first.ok_or_else(|| invalid(format!("its header has no {META_FIRST_MESSAGE}")))?;
    if let Some(sequence) = sequence
        && sequence != segment.sequence
    {
        return Err(invalid(format!(
            "its header says sequence {sequence}, its name {}",
            segment.sequence
        )));
    }
    Ok(Head {
        sequence: segment.sequence,
        first_message: first,
        after,
    })
}

/// Reads the header of the stream file at `path`. `None` only for an open
/// segment whose header is not all on disk yet (it holds no message yet).
fn file_head<D: Deframer>(
    path: &Path,
    deframer: &mut D,
    segment: Option<&Segment>,
    stats: &mut SeekStats,
) -> Result<Option<Head>> {
    stats.headers_read += 1;
    let header_len = deframer.header_len();
    let file = open_regular(path)?;
    let mut reader = StreamReader::new(file, deframer);
    let found = reader
        .header()
        .map_err(|e| Error::stream(path, e))?
        .is_some();
    let after = reader.position();
    if found || segment.is_none() {
        let header = reader.header().map_err(|e| Error::stream(path, e))?;
        return head_of(header, segment, path, after).map(Some);
    }
    // A segment without a header: one still being written, or a broken one.
    // Zero fill where its header goes is a header that has not landed.
    let zero_fill = || {
        let mut file = open_regular(path)?;
        zero_frame_at(&mut file, 0, header_len).at(path)
    };
    let incomplete = match reader.read_message() {
        Ok(None) => true,
        Err(e) if e.is_unexpected_eof() => true,
        Ok(Some(payload)) => payload.is_empty() && zero_fill()?,
        Err(e) if is_mismatch(&e) && zero_fill()? => true,
        Err(e) => return Err(Error::stream(path, e)),
    };
    match segment {
        Some(s) if s.open && incomplete => Ok(None),
        _ => head_of(None, segment, path, after).map(Some),
    }
}

/// What a scan found: the first frame it was asked for, or the end.
#[derive(Debug, Clone, Copy)]
struct Scanned {
    /// Whether the frame was found (else the scan reached the end).
    found: bool,
    /// Where that frame starts, or where the stream ends.
    at: Position,
    /// That frame's message number, or the number the next message will
    /// have.
    message: u64,
}

/// A message a scan met.
#[derive(Debug, Clone, Copy)]
struct Seen<'p> {
    /// Its number.
    message: u64,
    /// Where its frame starts.
    at: Position,
    /// Where its frame ends: the next frame's start.
    next: Position,
    /// Its payload.
    payload: &'p [u8],
}

/// A stream whose frames can be scanned from a frame boundary.
trait Frames {
    /// Scans from `from`, a frame boundary where message `message` starts,
    /// until `stop` says so of a message, or the end. Zero fill (a frame of
    /// zero bytes, never a message) is the end where a torn frame would be
    /// (a stream still being written), and an error anywhere else.
    fn scan(
        &mut self,
        from: Position,
        message: u64,
        stats: &mut SeekStats,
        stop: &mut dyn FnMut(&Seen<'_>) -> bool,
    ) -> Result<Scanned>;
}

/// The start of the frame that ends at `end` and spans `len` bytes.
fn frame_start(end: Position, len: usize) -> Position {
    Position {
        offset: end.offset.saturating_sub(len as u64),
        frame: end.frame.saturating_sub(1),
    }
}

/// Whether `e` is a checksum mismatch: where a frame of zero bytes fails a
/// checksum whose value for nothing is not zero, or zeros start inside the
/// frame, it may be zero fill all the same (asked of `zero_fill_at`).
fn is_mismatch(e: &flatstream_core::Error) -> bool {
    matches!(e.kind(), ErrorKind::ChecksumMismatch { .. })
}

/// One frame of a scan, the same for every kind of source: counts it and
/// asks `stop` about it; `Some` when the scan ends there, otherwise the
/// message number moves on.
fn visit(
    stats: &mut SeekStats,
    stop: &mut dyn FnMut(&Seen<'_>) -> bool,
    message: &mut u64,
    at: Position,
    next: Position,
    payload: &[u8],
) -> Option<Scanned> {
    stats.frames_scanned += 1;
    let seen = Seen {
        message: *message,
        at,
        next,
        payload,
    };
    if stop(&seen) {
        return Some(Scanned {
            found: true,
            at,
            message: *message,
        });
    }
    *message = message.saturating_add(1);
    None
}

/// The frames of a file, read through core's [`ReadBuffer`].
struct FileFrames<'a, D> {
    path: &'a Path,
    deframer: &'a mut D,
    /// Whether a torn last frame (or zero fill) is the end (a file still
    /// being written) rather than damage.
    torn_is_end: bool,
}

impl<D: Deframer> Frames for FileFrames<'_, D> {
    fn scan(
        &mut self,
        from: Position,
        message: u64,
        stats: &mut SeekStats,
        stop: &mut dyn FnMut(&Seen<'_>) -> bool,
    ) -> Result<Scanned> {
        let path = self.path;
        let torn_is_end = self.torn_is_end;
        let zero_fill = |at: Position, message: u64| {
            if torn_is_end {
                Ok(Scanned {
                    found: false,
                    at,
                    message,
                })
            } else {
                Err(zero_fill_error(path, at))
            }
        };
        let mut file = open_regular(path)?;
        file.seek(SeekFrom::Start(from.offset)).at(path)?;
        let mut buffer = ReadBuffer::new(&mut *self.deframer).starting_at(from);
        let mut message = message;
        loop {
            let polled = match buffer.poll_frame_span(|buf: &mut [u8]| Poll::Ready(file.read(buf)))
            {
                Poll::Ready(polled) => polled,
                // A file's read function is never pending.
                Poll::Pending => Err(io::Error::from(io::ErrorKind::WouldBlock).into()),
            };
            match polled {
                Ok(Some(span)) => {
                    let next = buffer.position();
                    let at = frame_start(next, span.end - span.start);
                    // Only a frame without payload can be zero fill: one
                    // comparison per frame.
                    if span.payload_start == span.end && is_zero(buffer.payload(header_of(span))) {
                        return zero_fill(at, message);
                    }
                    let payload = buffer.payload(span);
                    if let Some(found) = visit(stats, stop, &mut message, at, next, payload) {
                        return Ok(found);
                    }
                }
                Ok(None) => {
                    return Ok(Scanned {
                        found: false,
                        at: buffer.position(),
                        message,
                    });
                }
                Err(e) if torn_is_end && e.is_unexpected_eof() => {
                    return Ok(Scanned {
                        found: false,
                        at: buffer.position(),
                        message,
                    });
                }
                Err(e) => {
                    let max_frame_len = buffer.cursor().max_frame_len();
                    drop(buffer);
                    if is_mismatch(&e)
                        && let Some(at) = e.position()
                        && zero_fill_at(&mut file, at.offset, &mut *self.deframer, max_frame_len)
                            .at(path)?
                    {
                        return zero_fill(at, message);
                    }
                    return Err(Error::stream(path, e));
                }
            }
        }
    }
}

/// The frames of a slice (or memory map), read through core's cursor. A
/// torn last frame, or zero fill, is the end: the slice may map a file
/// still being written.
struct SliceFrames<'a, D> {
    data: &'a [u8],
    deframer: &'a mut D,
}

impl<D: Deframer> Frames for SliceFrames<'_, D> {
    fn scan(
        &mut self,
        from: Position,
        message: u64,
        stats: &mut SeekStats,
        stop: &mut dyn FnMut(&Seen<'_>) -> bool,
    ) -> Result<Scanned> {
        let data = self.data;
        let buf = usize::try_from(from.offset)
            .ok()
            .and_then(|start| data.get(start..))
            .ok_or_else(|| {
                flatstream_core::Error::custom("a scan starts past the end of the slice").at(from)
            })?;
        let mut cursor = FrameCursor::new(&mut *self.deframer).starting_at(from);
        let mut message = message;
        loop {
            let end = |at: Position, message: u64| Scanned {
                found: false,
                at,
                message,
            };
            match cursor.poll(buf, true) {
                Ok(Step::Frame(span)) => {
                    let next = cursor.position();
                    let at = frame_start(next, span.end - span.start);
                    // Only a frame without payload can be zero fill.
                    if span.payload_start == span.end && is_zero(span.frame(buf)) {
                        return Ok(end(at, message));
                    }
                    let payload = span.payload(buf);
                    if let Some(found) = visit(stats, stop, &mut message, at, next, payload) {
                        return Ok(found);
                    }
                }
                Ok(Step::Header(_)) => {}
                Ok(Step::End | Step::Need { .. }) => return Ok(end(cursor.position(), message)),
                Err(e) if e.is_unexpected_eof() => return Ok(end(cursor.position(), message)),
                Err(e) => {
                    let max_frame_len = cursor.max_frame_len();
                    drop(cursor);
                    if is_mismatch(&e)
                        && let Some(at) = e.position()
                        && zero_fill_in(data, at.offset, &mut *self.deframer, max_frame_len)
                    {
                        return Ok(end(at, message));
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// Scans `frames` from entry `start` of `index`, or from the header
/// without one (or when the segment does not confirm the entry: see
/// [`scan_checked`]). `entry_ok` says whether the entry fits its own
/// message's payload.
fn scan_from<F: Frames>(
    frames: &mut F,
    index: Option<&SegmentIndex>,
    start: Option<usize>,
    head: &Head,
    stats: &mut SeekStats,
    entry_ok: &dyn Fn(&IndexEntry, &[u8]) -> bool,
    stop: &mut dyn FnMut(&Seen<'_>) -> bool,
) -> Result<Scanned> {
    if let (Some(index), Some(start)) = (index, start)
        && let Some(scanned) = scan_checked(frames, index, start, stats, entry_ok, stop)
    {
        return Ok(scanned);
    }
    frames.scan(head.after, head.first_message, stats, stop)
}

/// The scan from entry `start` of `index`, if the segment confirms the
/// index as far as the scan goes; `None` if not.
///
/// The entry is a hint until then: the scan from it must verify frame by
/// frame, its first message must fit the entry (`entry_ok`), and every
/// later entry it passes, and the segment's end the index names, must be
/// reached exactly (a frame ends at that byte offset, with that frame
/// index). What the scan looks for is taken only once the next of these
/// checkpoints is reached, or if it starts at one reached already: a scan
/// costs at most one interval of the index more than the scan itself.
fn scan_checked<F: Frames>(
    frames: &mut F,
    index: &SegmentIndex,
    start: usize,
    stats: &mut SeekStats,
    entry_ok: &dyn Fn(&IndexEntry, &[u8]) -> bool,
    stop: &mut dyn FnMut(&Seen<'_>) -> bool,
) -> Option<Scanned> {
    let entries = index.entries();
    let entry = *entries.get(start)?;
    let end = index.end();
    // The later entries, then the end.
    let checkpoint = |k: usize| match entries.get(start + 1 + k) {
        Some(e) => Some(e.position()),
        None => (start + 1 + k == entries.len()).then_some(end),
    };
    let mut next_checkpoint = 0;
    let mut reached = None;
    let mut found = None;
    let mut confirmed = false;
    let mut wrong = false;
    let scanned = frames.scan(entry.position(), entry.message, stats, &mut |seen| {
        if seen.at == entry.position() && !entry_ok(&entry, seen.payload) {
            wrong = true;
            return true;
        }
        if found.is_none() && stop(seen) {
            found = Some((seen.message, seen.at));
            if reached == Some(seen.at) {
                confirmed = true;
                return true;
            }
        }
        match checkpoint(next_checkpoint) {
            Some(at) if seen.next.offset < at.offset => false,
            Some(at) if seen.next == at => {
                next_checkpoint += 1;
                reached = Some(at);
                confirmed = found.is_some();
                confirmed
            }
            // A frame across a checkpoint, at another frame index, or past
            // the end.
            _ => {
                wrong = true;
                true
            }
        }
    });
    let scanned = scanned.ok()?;
    if wrong {
        return None;
    }
    match found {
        Some((message, at)) if confirmed => Some(Scanned {
            found: true,
            at,
            message,
        }),
        None if reached == Some(end) && scanned.at == end => Some(scanned),
        _ => None,
    }
}

/// Message `n` of one stream, or its end; `n` is at least its first.
fn find_message<F: Frames>(
    frames: &mut F,
    head: &Head,
    index: Option<&SegmentIndex>,
    n: u64,
    stats: &mut SeekStats,
) -> Result<Scanned> {
    let start = index.and_then(|index| {
        index
            .entries()
            .partition_point(|e| e.message <= n)
            .checked_sub(1)
    });
    scan_from(
        frames,
        index,
        start,
        head,
        stats,
        &|_, _| true,
        &mut |seen| seen.message >= n,
    )
}

/// The first message of one stream whose timestamp is at least `t`, or its
/// end.
fn find_time<F: Frames>(
    frames: &mut F,
    head: &Head,
    index: Option<&SegmentIndex>,
    t: u64,
    timestamp: &TimestampFn,
    stats: &mut SeekStats,
) -> Result<Scanned> {
    // The last entry before t: every message before it is earlier still,
    // timestamps being non-decreasing. Entries without one are passed over.
    let start = index.and_then(|index| {
        let mut start = None;
        for (i, e) in index.entries().iter().enumerate() {
            match e.timestamp {
                Some(ts) if ts >= t => break,
                Some(_) => start = Some(i),
                None => {}
            }
        }
        start
    });
    // The entry's timestamp is its message's, as the builder read it.
    let entry_ok = |e: &IndexEntry, payload: &[u8]| {
        timestamp(payload).filter(|&ts| ts != NO_TIMESTAMP) == e.timestamp
    };
    scan_from(frames, index, start, head, stats, &entry_ok, &mut |seen| {
        timestamp(seen.payload).is_some_and(|ts| ts >= t)
    })
}

/// `t` in nanoseconds since the Unix epoch (0 before it, `u64::MAX` past
/// what 64 bits hold).
fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The position of `at` in the stream `head` describes.
fn capture_position(head: &Head, at: Position) -> CapturePosition {
    CapturePosition {
        segment: head.sequence,
        frame: at.frame,
        offset: at.offset,
    }
}

/// Reads the sidecar of `path` if there is one that fits the stream of
/// `len` bytes that `head` describes.
fn usable_index(path: &Path, len: u64, head: &Head, stats: &mut SeekStats) -> Option<SegmentIndex> {
    let sidecar = sidecar_path(path)?;
    stats.indexes_read += 1;
    // Missing, unreadable, damaged or stale: the scan from the header is
    // always right, only slower.
    SegmentIndex::read(&sidecar)
        .ok()
        .filter(|index| index.fits(len, head))
}

/// A single stream file: its head, sidecar and frames.
struct Single<'a, D> {
    head: Head,
    index: Option<SegmentIndex>,
    frames: FileFrames<'a, D>,
}

impl<'a, D: Deframer> Single<'a, D> {
    fn open(path: &'a Path, deframer: &'a mut D, stats: &mut SeekStats) -> Result<Self> {
        let head = file_head(path, deframer, None, stats)?.ok_or_else(|| Error::Invalid {
            path: path.to_path_buf(),
            reason: "no header could be read".to_owned(),
        })?;
        let len = fs::metadata(path).at(path)?.len();
        let closed_segment = Segment::parse(path).is_some_and(|s| !s.open);
        let index = usable_index(path, len, &head, stats);
        Ok(Single {
            head,
            index,
            frames: FileFrames {
                path,
                deframer,
                // A plain file may be one a capture is still appending to.
                torn_is_end: !closed_segment,
            },
        })
    }
}

/// What a segment's first message says of time.
enum FirstTime {
    /// The segment holds no message (yet).
    Nothing,
    /// Its first message has no timestamp.
    Untimed,
    /// Its first message's timestamp.
    At(u64),
}

/// Times a seek in a directory starts over on a fresh listing when a
/// segment it listed vanished before it was read.
const SEEK_ATTEMPTS: u32 = 1000;

/// Runs `seek` over a listing of `dir`; again, on a fresh listing, when a
/// segment of the listing vanished before it was read: an open segment
/// renamed when its writer closed it, or a segment deleted by retention
/// (up to [`SEEK_ATTEMPTS`] times, then that is the error).
fn seek_listed<D: Deframer, T>(
    dir: &Path,
    deframer: &mut D,
    stats: &mut SeekStats,
    mut seek: impl FnMut(Capture<'_, D>) -> Result<T>,
) -> Result<T> {
    let mut attempt = 1;
    loop {
        match Capture::open(dir, deframer, stats).and_then(&mut seek) {
            Err(Error::Io { source, .. })
                if source.kind() == io::ErrorKind::NotFound && attempt < SEEK_ATTEMPTS =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A capture directory being searched: its segments, and what was read of
/// them so far (each header and sidecar at most once).
struct Capture<'a, D> {
    dir: &'a Path,
    segments: Vec<Segment>,
    heads: Vec<Option<Option<Head>>>,
    indexes: Vec<Option<Option<SegmentIndex>>>,
    deframer: &'a mut D,
    stats: &'a mut SeekStats,
}

impl<'a, D: Deframer> Capture<'a, D> {
    fn open(dir: &'a Path, deframer: &'a mut D, stats: &'a mut SeekStats) -> Result<Self> {
        let segments = segment::list(dir)?;
        Ok(Capture {
            dir,
            heads: vec![None; segments.len()],
            indexes: vec![None; segments.len()],
            segments,
            deframer,
            stats,
        })
    }

    /// Segment `i`'s head; `None` for an open last segment whose header is
    /// not on disk yet.
    fn head(&mut self, i: usize) -> Result<Option<Head>> {
        if let Some(Some(head)) = self.heads.get(i) {
            return Ok(*head);
        }
        let Some(segment) = self.segments.get(i) else {
            return Ok(None);
        };
        let head = file_head(&segment.path, self.deframer, Some(segment), self.stats)?;
        self.heads[i] = Some(head);
        Ok(head)
    }

    /// The number of segment `i`'s first message (`u64::MAX` while it has
    /// none: it can only be the last).
    fn first(&mut self, i: usize) -> Result<u64> {
        Ok(self.head(i)?.map_or(u64::MAX, |h| h.first_message))
    }

    /// Segment `i`'s sidecar, when it is closed and has one that fits.
    fn index(&mut self, i: usize, head: &Head) -> Result<Option<&SegmentIndex>> {
        if self.indexes[i].is_none() {
            let segment = &self.segments[i];
            let index = if segment.open {
                None
            } else {
                let len = fs::metadata(&segment.path).at(&segment.path)?.len();
                usable_index(&segment.path, len, head, self.stats)
            };
            self.indexes[i] = Some(index);
        }
        Ok(self.indexes[i].as_ref().and_then(Option::as_ref))
    }

    /// Runs `find` over segment `i`, with its sidecar if it has one.
    fn find_in(
        &mut self,
        i: usize,
        head: &Head,
        find: impl FnOnce(
            &mut FileFrames<'_, D>,
            Option<&SegmentIndex>,
            &mut SeekStats,
        ) -> Result<Scanned>,
    ) -> Result<Scanned> {
        self.index(i, head)?;
        let index = self.indexes[i].as_ref().and_then(Option::as_ref);
        let segment = &self.segments[i];
        let mut frames = FileFrames {
            path: &segment.path,
            deframer: &mut *self.deframer,
            torn_is_end: segment.open,
        };
        find(&mut frames, index, self.stats)
    }

    /// The number of the first message kept, and one past the last.
    fn range(&mut self) -> Result<(u64, u64)> {
        let mut last = self.segments.len();
        while last > 0 {
            let Some(head) = self.head(last - 1)? else {
                last -= 1;
                continue;
            };
            let end = self.find_in(last - 1, &head, |frames, index, stats| {
                find_message(frames, &head, index, u64::MAX, stats)
            })?;
            let first = self.first(0)?;
            return Ok((first, end.message));
        }
        Ok((0, 0))
    }

    fn seek_message(&mut self, n: u64) -> Result<CapturePosition> {
        let out_of_range = |(first, end): (u64, u64)| Error::OutOfRange {
            requested: n,
            first,
            end,
        };
        // The first segment whose first message is after n: O(log segments)
        // header reads.
        let (mut lo, mut hi) = (0, self.segments.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.first(mid)? <= n {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let Some(c) = lo.checked_sub(1) else {
            return Err(out_of_range(self.range()?));
        };
        let Some(head) = self.head(c)? else {
            return Err(out_of_range(self.range()?));
        };
        let found = self.find_in(c, &head, |frames, index, stats| {
            find_message(frames, &head, index, n, stats)
        })?;
        if found.found {
            return Ok(capture_position(&head, found.at));
        }
        if let Some(next) = self.head(c + 1)? {
            return Err(Error::Invalid {
                path: self.segments[c].path.clone(),
                reason: format!(
                    "it holds messages {} to {} (end excluded), but the next segment, {}, starts \
                     at message {}: message {n} is missing",
                    head.first_message,
                    found.message,
                    self.segments[c + 1].path.display(),
                    next.first_message
                ),
            });
        }
        let first = self.first(0)?;
        Err(out_of_range((first, found.message)))
    }

    /// What segment `i`'s first message says of time.
    fn first_time(&mut self, i: usize, timestamp: &TimestampFn) -> Result<FirstTime> {
        let Some(head) = self.head(i)? else {
            return Ok(FirstTime::Nothing);
        };
        // Read from the message itself, not from a sidecar's first entry:
        // a timestamp the segment does not confirm would steer the search.
        let segment = &self.segments[i];
        let mut frames = FileFrames {
            path: &segment.path,
            deframer: &mut *self.deframer,
            torn_is_end: segment.open,
        };
        let mut first = None;
        let scanned = frames.scan(head.after, head.first_message, self.stats, &mut |seen| {
            first = Some(timestamp(seen.payload));
            true
        })?;
        Ok(match first {
            Some(Some(ts)) if scanned.found => FirstTime::At(ts),
            Some(_) if scanned.found => FirstTime::Untimed,
            _ => FirstTime::Nothing,
        })
    }

    fn seek_time(&mut self, t: SystemTime, timestamp: &TimestampFn) -> Result<CapturePosition> {
        let t_ns = nanos(t);
        // The names' start times are the writer's clock at rotation, the
        // timestamps the payloads'; they differ by queueing and clock skew,
        // so the segment named is checked against its first message (and
        // the search walks back, or on, as far as the timestamps say).
        let mut c = self
            .segments
            .partition_point(|s| s.start <= t)
            .saturating_sub(1);
        while c > 0 {
            match self.first_time(c, timestamp)? {
                FirstTime::Nothing => c -= 1,
                FirstTime::At(ts) if ts >= t_ns => c -= 1,
                FirstTime::At(_) | FirstTime::Untimed => break,
            }
        }
        let mut end = None;
        for i in c..self.segments.len() {
            let Some(head) = self.head(i)? else { break };
            let found = self.find_in(i, &head, |frames, index, stats| {
                find_time(frames, &head, index, t_ns, timestamp, stats)
            })?;
            let at = capture_position(&head, found.at);
            if found.found {
                return Ok(at);
            }
            end = Some(at);
        }
        end.ok_or_else(|| Error::Invalid {
            path: self.dir.to_path_buf(),
            reason: "the capture has no segment with a complete header yet".to_owned(),
        })
    }
}

/// The position of message number `message` in the capture directory or
/// stream file at `path`: a reader that starts there (in that segment, at
/// that frame and byte offset) reads message `message` first.
///
/// In a directory it takes O(log segments) header reads (a binary search
/// on the segments' first message numbers), then the target segment's
/// sidecar, if it has one that fits its current length (an open segment
/// has none; a stale or damaged one is ignored), and a forward scan from
/// the nearest entry before the message to the next entry (one index
/// interval), or from the segment's header without one. The sidecar is
/// used only as far as the segment confirms it: the scan from the entry
/// must verify frame by frame and reach the next entry (or the segment's
/// end the sidecar names) exactly, at the byte offset and frame index the
/// sidecar says; else the seek scans from the header. A sidecar forged to
/// agree with its segment wherever a seek looks is caught only by
/// [`SegmentIndex::check`], which reads the whole segment. A segment still
/// being written may end in a torn frame or zero fill: its end is taken to
/// be before it; and while its header is not all on disk, it holds no
/// message yet. A segment renamed (closed by its writer) or deleted
/// (retention) between the listing and the reading is looked for again in
/// a fresh listing (up to 1,000 times: a listing costs microseconds, and a
/// capture rotating faster than a seek reads would otherwise never be
/// sought in).
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamHeader, StreamWriter};
/// use flatstream_capture::segment::{META_FIRST_MESSAGE, META_SEQUENCE, Segment};
/// use flatstream_capture::{Error, seek_to_message};
///
/// let dir = std::env::temp_dir().join(format!("capture-seek-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// // Two segments of 10 messages each; the second is still open.
/// for sequence in 0..2_u64 {
///     let segment = Segment::new(&dir, sequence, SystemTime::now(), sequence == 1);
///     let file = std::fs::File::create(&segment.path)?;
///     let mut writer = StreamWriter::new(file, ChecksumFramer::new(Crc32));
///     writer.write_header(
///         &StreamHeader::new()
///             .with_metadata(META_SEQUENCE, sequence.to_string())
///             .with_metadata(META_FIRST_MESSAGE, (sequence * 10).to_string()),
///     )?;
///     for message in sequence * 10..sequence * 10 + 10 {
///         writer.write_payload(format!("message {message}").as_bytes())?;
///     }
/// }
///
/// let at = seek_to_message(&dir, ChecksumDeframer::new(Crc32), 13)?;
/// assert_eq!((at.segment, at.frame), (1, 4)); // the header is frame 0
/// assert!(matches!(
///     seek_to_message(&dir, ChecksumDeframer::new(Crc32), 20),
///     Err(Error::OutOfRange { requested: 20, first: 0, end: 20 })
/// ));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::OutOfRange`] when `message` is before the first message kept
/// (older segments were deleted) or at or after the end; [`Error::Invalid`]
/// for a segment without a proper capture header, or when messages are
/// missing between two segments; [`Error::Stream`] for a damaged frame on
/// the way (naming the segment, frame and byte offset); [`Error::Io`].
pub fn seek_to_message<D: Deframer>(
    path: &Path,
    deframer: D,
    message: u64,
) -> Result<CapturePosition> {
    let mut deframer = deframer;
    seek_message(path, &mut deframer, message, &mut SeekStats::default())
}

/// [`seek_to_message`], counting what it reads.
pub(crate) fn seek_message<D: Deframer>(
    path: &Path,
    deframer: &mut D,
    message: u64,
    stats: &mut SeekStats,
) -> Result<CapturePosition> {
    if path.is_dir() {
        return seek_listed(path, deframer, stats, |mut capture| {
            capture.seek_message(message)
        });
    }
    let mut single = Single::open(path, deframer, stats)?;
    let head = single.head;
    let end = |single: &mut Single<'_, D>, stats: &mut SeekStats| {
        find_message(
            &mut single.frames,
            &head,
            single.index.as_ref(),
            u64::MAX,
            stats,
        )
    };
    if message < head.first_message {
        return Err(Error::OutOfRange {
            requested: message,
            first: head.first_message,
            end: end(&mut single, stats)?.message,
        });
    }
    let found = find_message(
        &mut single.frames,
        &head,
        single.index.as_ref(),
        message,
        stats,
    )?;
    if found.found {
        return Ok(capture_position(&head, found.at));
    }
    Err(Error::OutOfRange {
        requested: message,
        first: head.first_message,
        end: found.message,
    })
}

/// The position of the first message whose timestamp, as `timestamp` reads
/// it, is at or after `t`, in the capture directory or stream file at
/// `path`; when every message is earlier, the end: where the next message
/// will go (after the last complete frame of the last segment).
///
/// Timestamps are assumed non-decreasing through the capture (messages
/// without one are passed over). In a directory the search starts at the
/// segment whose name's start time is the last at or before `t` (no reads),
/// steps back while that segment's first message (read, not taken from a
/// sidecar) is already at or after `t` (the names and the payloads' clocks
/// may differ), then uses the sidecar's timestamps to jump near `t`
/// (the entry's timestamp checked against its message, and the scan from
/// it against the next entry, as for [`seek_to_message`]) and scans
/// forward, on into later segments if need be.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, UNIX_EPOCH};
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
/// use flatstream_capture::{TimestampFn, seek_to_time};
///
/// // A plain file whose payloads start with their timestamp (ns, LE).
/// let path = std::env::temp_dir().join(format!("capture-seek-time-{}.fstream", std::process::id()));
/// let mut writer = StreamWriter::new(std::fs::File::create(&path)?, ChecksumFramer::new(Crc32));
/// for second in 1_800_000_000..1_800_000_010_u64 {
///     writer.write_payload(&(second * 1_000_000_000).to_le_bytes())?;
/// }
/// drop(writer);
/// let timestamp: TimestampFn =
///     Arc::new(|p: &[u8]| Some(u64::from_le_bytes(p.get(..8)?.try_into().ok()?)));
///
/// let t = UNIX_EPOCH + Duration::from_millis(1_800_000_002_500);
/// let at = seek_to_time(&path, ChecksumDeframer::new(Crc32), t, &timestamp)?;
/// assert_eq!(at.frame, 3); // the message of second 1_800_000_003
/// let later = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
/// let end = seek_to_time(&path, ChecksumDeframer::new(Crc32), later, &timestamp)?;
/// assert_eq!((end.frame, end.offset), (10, std::fs::metadata(&path)?.len()));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] for a directory without a readable segment, or a
/// segment without a proper capture header; [`Error::Stream`] for a
/// damaged frame on the way; [`Error::Io`].
pub fn seek_to_time<D: Deframer>(
    path: &Path,
    deframer: D,
    t: SystemTime,
    timestamp: &TimestampFn,
) -> Result<CapturePosition> {
    let mut deframer = deframer;
    seek_time(path, &mut deframer, t, timestamp, &mut SeekStats::default())
}

/// [`seek_to_time`], counting what it reads.
pub(crate) fn seek_time<D: Deframer>(
    path: &Path,
    deframer: &mut D,
    t: SystemTime,
    timestamp: &TimestampFn,
    stats: &mut SeekStats,
) -> Result<CapturePosition> {
    if path.is_dir() {
        return seek_listed(path, deframer, stats, |mut capture| {
            capture.seek_time(t, timestamp)
        });
    }
    let mut single = Single::open(path, deframer, stats)?;
    let head = single.head;
    let found = find_time(
        &mut single.frames,
        &head,
        single.index.as_ref(),
        nanos(t),
        timestamp,
        stats,
    )?;
    Ok(capture_position(&head, found.at))
}

/// [`seek_to_message`] in one stream held in memory (a slice, or a memory
/// map of a segment or stream file), with its index if the caller read
/// one: used only if it fits the data (same length, same first message),
/// and only as far as the data confirms it (see [`seek_to_message`]).
/// A torn last frame, or zero fill, is taken for the end: the data may map
/// a file still being written.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
/// use flatstream_capture::seek_to_message_in;
///
/// let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
/// for message in 1..=5_u32 {
///     writer.write_payload(&message.to_le_bytes())?;
/// }
/// let data = writer.into_inner();
/// let at = seek_to_message_in(&data, ChecksumDeframer::new(Crc32), None, 3)?;
/// // Messages are numbered from 0 in a plain stream; frames of 8 header
/// // bytes and 4 payload bytes.
/// assert_eq!((at.frame, at.offset), (3, 3 * 12));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::OutOfRange`] when `message` is not in the data;
/// [`Error::Stream`] (without a path) for a damaged frame on the way;
/// [`Error::Invalid`] (with an empty path) when its header's capture
/// metadata is not a number.
pub fn seek_to_message_in<D: Deframer>(
    data: &[u8],
    deframer: D,
    index: Option<&SegmentIndex>,
    message: u64,
) -> Result<CapturePosition> {
    let mut deframer = deframer;
    let mut stats = SeekStats::default();
    let mut reader = SliceReader::new(data, &mut deframer);
    let header = reader.header()?;
    let head = head_of(header.as_ref(), None, Path::new(""), reader.position())?;
    let index = index.filter(|index| index.fits(data.len() as u64, &head));
    let mut frames = SliceFrames {
        data,
        deframer: &mut deframer,
    };
    let target = message.max(head.first_message);
    let found = find_message(&mut frames, &head, index, target, &mut stats)?;
    if found.found && target == message {
        return Ok(capture_position(&head, found.at));
    }
    let end = if found.found {
        find_message(&mut frames, &head, index, u64::MAX, &mut stats)?.message
    } else {
        found.message
    };
    Err(Error::OutOfRange {
        requested: message,
        first: head.first_message,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};

    use crate::segment::META_START;

    /// A fresh directory under the system's temporary one, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "flatstream-capture-index-unit-{}-{name}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create the test directory");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const T0: u64 = 1_800_000_000_000_000_000;

    fn payload(message: u64) -> Vec<u8> {
        let mut p = (T0 + message * 1000).to_le_bytes().to_vec();
        p.extend_from_slice(format!("message {message}").as_bytes());
        p
    }

    fn timestamp() -> TimestampFn {
        Arc::new(|p: &[u8]| Some(u64::from_le_bytes(p.get(..8)?.try_into().ok()?)))
    }

    /// `segments` closed segments of `per` messages each, indexed every
    /// `every` messages when `every` is set.
    fn capture(dir: &Path, segments: u64, per: u64, every: Option<u64>) {
        let options = IndexOptions::new()
            .every_messages(every.unwrap_or(1))
            .with_timestamp(timestamp());
        let mut builder = IndexBuilder::new(options);
        for sequence in 0..segments {
            let first = sequence * per;
            let start = UNIX_EPOCH + Duration::from_nanos(T0 + first * 1000);
            let segment = Segment::new(dir, sequence, start, false);
            let file = File::create(&segment.path).expect("create a segment");
            let mut writer = StreamWriter::new(file, ChecksumFramer::new(Crc32));
            writer
                .write_header(
                    &StreamHeader::new()
                        .with_metadata(META_SEQUENCE, sequence.to_string())
                        .with_metadata(META_FIRST_MESSAGE, first.to_string())
                        .with_metadata(META_START, segment::format_utc(start)),
                )
                .expect("write a header");
            for message in first..first + per {
                let at = Position {
                    offset: writer.bytes_written(),
                    frame: writer.frames_written(),
                };
                let p = payload(message);
                writer.write_payload(&p).expect("write a payload");
                builder.observe(at, message, &p);
            }
            if every.is_some() {
                builder
                    .finish(
                        &segment.index_path(),
                        writer.bytes_written(),
                        writer.frames_written(),
                    )
                    .expect("write the sidecar");
            }
            builder.reset();
        }
    }

    #[test]
    fn search_is_logarithmic_plus_a_short_scan() {
        const SEGMENTS: u64 = 64;
        const PER: u64 = 40;
        const EVERY: u64 = 8;
        let dir = TempDir::new("logarithmic");
        capture(&dir.0, SEGMENTS, PER, Some(EVERY));
        let mut worst = SeekStats::default();
        for n in (0..SEGMENTS * PER).step_by(3) {
            let mut stats = SeekStats::default();
            let mut deframer = ChecksumDeframer::new(Crc32);
            let at = seek_message(&dir.0, &mut deframer, n, &mut stats).expect("seek");
            assert_eq!(
                (at.segment, at.frame),
                (n / PER, n % PER + 1),
                "message {n}"
            );
            // log2(64) probes, the header of the segment found is among them.
            assert!(stats.headers_read <= 7, "message {n}: {stats:?}");
            assert_eq!(stats.indexes_read, 1, "message {n}: {stats:?}");
            assert!(stats.frames_scanned <= EVERY, "message {n}: {stats:?}");
            worst.headers_read = worst.headers_read.max(stats.headers_read);
            worst.frames_scanned = worst.frames_scanned.max(stats.frames_scanned);
        }
        assert_eq!(worst.frames_scanned, EVERY, "the scan covers one interval");

        let timestamp = timestamp();
        for n in (0..SEGMENTS * PER).step_by(7) {
            let mut stats = SeekStats::default();
            let mut deframer = ChecksumDeframer::new(Crc32);
            let t = UNIX_EPOCH + Duration::from_nanos(T0 + n * 1000);
            let at = seek_time(&dir.0, &mut deframer, t, &timestamp, &mut stats).expect("seek");
            assert_eq!(
                (at.segment, at.frame),
                (n / PER, n % PER + 1),
                "time of message {n}"
            );
            // The search over names costs no reads: the named segment's
            // header, its first message (read, not taken from the sidecar,
            // to see whether to step back), its sidecar and one interval
            // (from the entry before the first at t, as messages before it
            // may be at t too); and, when the segment's first message is at
            // t, the header, first message and sidecar of the segment
            // before.
            assert!(stats.headers_read <= 2, "time of message {n}: {stats:?}");
            assert!(stats.indexes_read <= 2, "time of message {n}: {stats:?}");
            let first_messages = if n % PER == 0 { 2 } else { 1 };
            assert!(
                stats.frames_scanned <= EVERY + 1 + first_messages,
                "time of message {n}: {stats:?}"
            );
            if n % PER != 0 {
                assert_eq!(stats.headers_read, 1, "time of message {n}: {stats:?}");
            }
        }
    }

    #[test]
    fn without_sidecars_the_scan_covers_one_segment() {
        const PER: u64 = 40;
        let dir = TempDir::new("no-sidecars");
        capture(&dir.0, 32, PER, None);
        for n in (0..32 * PER).step_by(3) {
            let mut stats = SeekStats::default();
            let mut deframer = ChecksumDeframer::new(Crc32);
            let at = seek_message(&dir.0, &mut deframer, n, &mut stats).expect("seek");
            assert_eq!(
                (at.segment, at.frame),
                (n / PER, n % PER + 1),
                "message {n}"
            );
            assert!(stats.headers_read <= 6, "message {n}: {stats:?}");
            assert_eq!(stats.frames_scanned, n % PER + 1, "message {n}: {stats:?}");
        }
    }
}
