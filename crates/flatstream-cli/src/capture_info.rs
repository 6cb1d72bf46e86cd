//! `flatstream info DIR`: a summary of a capture directory.
//!
//! Its segments (how many, closed and open, the sequence numbers, bytes),
//! the messages it holds (the first kept message number and the end, from
//! the segments' headers and a scan of the last segment), the time span
//! (from the segment names), whether each closed segment has a valid index
//! sidecar, whether a writer holds the directory's lock right now, and how
//! the open segment ends. A torn tail there is not damage: a writer may be
//! in the middle of a frame (or, when none holds the lock, the next writer
//! truncates it when it opens the capture).
//!
//! Only the last segment is read whole; the others cost a header read and,
//! for the index check, a scan of the frames after the sidecar's last
//! entry.

use core::fmt::Write as _;
use std::path::Path;

use flatstream::Deframer;
use flatstream_capture::SegmentIndex;
use flatstream_capture::segment::{DirLock, LOCK_FILE, META_FIRST_MESSAGE, Segment};

use crate::capture::{self, Source};
use crate::error::{Error, Result, escape, plural};
use crate::framing::{Framing, with_deframer};
use crate::input;
use crate::read::{self, End, HeaderSummary};
use crate::time::rfc3339;

/// What `info DIR` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureInfo {
    /// The directory, as given.
    pub directory: String,
    /// The framing, if there is a segment to read it from.
    pub framing: Option<Framing>,
    /// Why that framing.
    pub framing_source: Option<String>,
    /// The segment files.
    pub segments: Segments,
    /// The messages it holds, when the headers say.
    pub messages: Option<Messages>,
    /// When its first and last segments were started (their names).
    pub time: Option<TimeSpan>,
    /// The index sidecars of the closed segments.
    pub indexes: Indexes,
    /// Whether a writer holds the directory's lock.
    pub lock: Lock,
    /// The segment being written (or left open by a writer that stopped).
    pub open_segment: Option<OpenSegment>,
    /// The first segment's header: the capture's user header, plus its
    /// capture metadata.
    pub header: Option<HeaderSummary>,
}

/// The segment files of a capture.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Segments {
    /// How many.
    pub count: u64,
    /// How many are closed.
    pub closed: u64,
    /// How many are open (`.open`).
    pub open: u64,
    /// The first sequence number.
    pub first_sequence: Option<u64>,
    /// The last sequence number.
    pub last_sequence: Option<u64>,
    /// Bytes of all segment files.
    pub bytes: u64,
}

/// The capture-wide message numbers a capture holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Messages {
    /// The first message still kept (older segments may have been deleted).
    pub first: u64,
    /// One past the last complete message.
    pub end: u64,
    /// Messages between `first` and `end` that no segment holds.
    #[serde(skip_serializing_if = "is_zero")]
    pub missing: u64,
    /// Where they are missing, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<MessageGap>,
}

impl Messages {
    /// Where messages are missing: `A to B before segment N`, comma
    /// separated.
    #[must_use]
    pub fn where_missing(&self) -> String {
        self.gaps
            .iter()
            .map(|g| {
                format!(
                    "{} to {} before segment {}",
                    g.first, g.end, g.before_segment
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Messages missing between two segments: the earlier one ends before the
/// later one's first message (it was cut short, emptied, or segments
/// between them were deleted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MessageGap {
    /// The first missing message.
    pub first: u64,
    /// One past the last missing message.
    pub end: u64,
    /// The sequence number of the segment after the gap.
    pub before_segment: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Segment start times, RFC 3339 in UTC.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimeSpan {
    /// The first segment's.
    pub first_start: String,
    /// The last segment's.
    pub last_start: String,
}

/// The index sidecars of the closed segments.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Indexes {
    /// Closed segments.
    pub closed: u64,
    /// Those with a valid index.
    pub valid: u64,
    /// Those without one.
    pub missing: Vec<String>,
    /// Those whose index is damaged or stale.
    pub bad: Vec<BadIndex>,
}

/// A closed segment whose index is damaged or stale.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BadIndex {
    /// The segment file.
    pub segment: String,
    /// What is wrong.
    pub reason: String,
}

/// The directory's lock, tried once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lock {
    /// A writer holds it: the capture is being written.
    Held,
    /// Nobody holds it.
    Free,
    /// It could not be tried.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// The open segment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenSegment {
    /// Its file.
    pub file: String,
    /// Its length.
    pub bytes: u64,
    /// Its complete messages.
    pub messages: u64,
    /// How it ends: a torn tail is a frame being written, not damage.
    pub end: End,
}

/// Runs `info` on the capture directory `dir`, with `framing` forced or
/// detected from the first segment.
///
/// # Errors
///
/// A directory that holds no capture, or a directory or segment that cannot
/// be listed or read (exit code 2).
/// Damage is reported in the summary, not as an error.
pub fn info(dir: &Path, framing: Option<Framing>) -> Result<CaptureInfo> {
    // A live capture changes under the walk (retention deletes a segment
    // after it was listed, a rotation renames one): an error met while the
    // listing changed is the change, and the walk starts again.
    let listing = |dir: &Path| -> Result<Vec<(u64, bool)>> {
        Ok(capture::segments(dir)?
            .iter()
            .map(|s| (s.sequence, s.open))
            .collect())
    };
    let mut attempts = 0;
    loop {
        let before = listing(dir)?;
        match info_once(dir, framing) {
            Err(_) if attempts < 10 && listing(dir)? != before => attempts += 1,
            result => return result,
        }
    }
}

/// One walk of [`info`].
fn info_once(dir: &Path, framing: Option<Framing>) -> Result<CaptureInfo> {
    capture::ensure_capture(dir)?;
    let segments = capture::segments(dir)?;
    let source = capture::source(dir, framing, None)?;
    let mut info = CaptureInfo {
        directory: dir.display().to_string(),
        framing: source.as_ref().map(Source::framing),
        framing_source: source.as_ref().map(|s| s.detection.describe()),
        segments: Segments::default(),
        messages: None,
        time: None,
        indexes: Indexes::default(),
        lock: lock(dir),
        open_segment: None,
        header: source
            .as_ref()
            .and_then(|s| s.header.as_ref())
            .map(HeaderSummary::of),
    };
    if let (Some(first), Some(last)) = (segments.first(), segments.last()) {
        info.time = Some(TimeSpan {
            first_start: rfc3339(first.start),
            last_start: rfc3339(last.start),
        });
    }
    for segment in &segments {
        let len = std::fs::metadata(capture::current_path(segment))
            .map_err(|error| Error::io(&segment.path, "cannot read", &error))?
            .len();
        let s = &mut info.segments;
        s.count += 1;
        if segment.open {
            s.open += 1;
        } else {
            s.closed += 1;
        }
        s.first_sequence.get_or_insert(segment.sequence);
        s.last_sequence = Some(segment.sequence);
        s.bytes = s.bytes.saturating_add(len);
    }
    if let Some(source) = &source {
        let framing = source.framing();
        with_deframer!(framing, |deframer| scan(
            &mut info, &segments, deframer, framing
        ))?;
    }
    Ok(info)
}

/// Whether a writer holds the lock of `dir`, tried once and released.
fn lock(dir: &Path) -> Lock {
    // Writers create the lock file and never delete it: without one, no
    // writer holds the lock, and trying would create it.
    if !dir.join(LOCK_FILE).exists() {
        return Lock::Free;
    }
    match DirLock::acquire(dir) {
        Ok(lock) => {
            drop(lock);
            Lock::Free
        }
        Err(flatstream_capture::Error::Locked { .. }) => Lock::Held,
        Err(error) => Lock::Unknown {
            reason: capture::capture_error(&error).message().to_owned(),
        },
    }
}

/// The indexes, the message numbers and the open segment.
fn scan<D: Deframer + Copy>(
    info: &mut CaptureInfo,
    segments: &[Segment],
    deframer: D,
    framing: Framing,
) -> Result<()> {
    // Each closed segment's messages, where a valid index says (its check
    // read the segment already).
    let mut indexed = std::collections::HashMap::new();
    for segment in segments.iter().filter(|s| !s.open) {
        info.indexes.closed += 1;
        let name = segment.path.display().to_string();
        match SegmentIndex::read(&segment.index_path()) {
            Err(flatstream_capture::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                info.indexes.missing.push(name);
            }
            Err(error) => info.indexes.bad.push(BadIndex {
                segment: name,
                reason: reason(&error),
            }),
            Ok(index) => match index.check(&segment.path, deframer) {
                Ok(()) => {
                    info.indexes.valid += 1;
                    indexed.insert(segment.sequence, index.frames().saturating_sub(1));
                }
                Err(error) => info.indexes.bad.push(BadIndex {
                    segment: name,
                    reason: reason(&error),
                }),
            },
        }
    }
    let walk = walk(segments, &indexed, deframer, framing)?;
    if let Some(last) = segments.last() {
        let path = capture::current_path(last);
        let (messages, end, bytes) = count(&path, deframer)?;
        // A last segment without a header (empty: just created, or
        // emptied) holds nothing: the capture ends where the one before
        // it does.
        let last_end = match walk.last_first {
            Some(last_first) => Some(last_first.saturating_add(messages)),
            None => walk.ended_before_last,
        };
        if let (Some(first), Some(end)) = (walk.first, last_end) {
            info.messages = Some(Messages {
                first,
                end,
                missing: walk.gaps.iter().map(|g| g.end - g.first).sum(),
                gaps: walk.gaps,
            });
        }
        if last.open {
            info.open_segment = Some(OpenSegment {
                file: path.display().to_string(),
                bytes,
                messages,
                end,
            });
        }
    }
    Ok(())
}

/// What one pass over the segments' headers says of their message numbers.
struct Walk {
    /// Where a segment ends before the next one's first message.
    gaps: Vec<MessageGap>,
    /// The first segment's first message.
    first: Option<u64>,
    /// The last segment's first message.
    last_first: Option<u64>,
    /// Where the segment before the last one ends, if known.
    ended_before_last: Option<u64>,
}

/// Reads each segment's header (where it starts) and, for all but the
/// last, how many messages it holds (from a valid index, or a scan).
fn walk<D: Deframer + Copy>(
    segments: &[Segment],
    indexed: &std::collections::HashMap<u64, u64>,
    deframer: D,
    framing: Framing,
) -> Result<Walk> {
    let mut walk = Walk {
        gaps: Vec::new(),
        first: None,
        last_first: None,
        ended_before_last: None,
    };
    // Where the segments so far end; `None` when that is not known.
    let mut ended = None;
    for (k, segment) in segments.iter().enumerate() {
        let first = first_message(segment, framing)?;
        if k == 0 {
            walk.first = first;
        }
        let gaps = &mut walk.gaps;
        if let (Some(ended), Some(first)) = (ended, first)
            && ended < first
        {
            gaps.push(MessageGap {
                first: ended,
                end: first,
                before_segment: segment.sequence,
            });
        }
        if k + 1 == segments.len() {
            walk.last_first = first;
            break;
        }
        ended = match indexed.get(&segment.sequence) {
            Some(&held) => first.map(|first| first.saturating_add(held)),
            None => {
                let (held, end, len) = count(&capture::current_path(segment), deframer)?;
                match (first, end) {
                    (Some(first), End::Clean) => Some(first.saturating_add(held)),
                    // Emptied: it numbers nothing, the next one is judged
                    // against where the one before it ended.
                    (None, _) if len == 0 => ended,
                    // Damaged: how many of its messages are readable past
                    // the damage is `verify`'s to say, not a gap's.
                    _ => None,
                }
            }
        };
    }
    walk.ended_before_last = ended;
    Ok(walk)
}

/// What is wrong with an index, without the file name.
fn reason(error: &flatstream_capture::Error) -> String {
    match error {
        flatstream_capture::Error::Invalid { reason, .. } => reason.clone(),
        other => capture::capture_error(other).message().to_owned(),
    }
}

/// The number of `segment`'s first message, from its header.
fn first_message(segment: &Segment, framing: Framing) -> Result<Option<u64>> {
    let path = capture::current_path(segment);
    let mut input = input::open(&path)?;
    let header = read::read_header(&mut input, framing)?;
    Ok(header
        .as_ref()
        .and_then(|h| h.metadata(META_FIRST_MESSAGE))
        .and_then(|n| n.parse().ok()))
}

/// The complete messages of the segment `path` (its header not counted),
/// how it ends, and its length.
fn count<D: Deframer>(path: &Path, deframer: D) -> Result<(u64, End, u64)> {
    let mut input = input::open(path)?;
    let len = input.len;
    let (recovery, end) = read::recover_scan(&mut input, deframer)?;
    Ok((recovery.frames.saturating_sub(1), end, len))
}

impl CaptureInfo {
    /// The report as text, one `name: value` line per item.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |name: &str, value: &str| {
            let _ = writeln!(out, "{:<13} {value}", format!("{name}:"));
        };
        line("directory", &escape(&self.directory));
        match (&self.framing, &self.framing_source) {
            (Some(framing), Some(why)) => line("framing", &format!("{framing} ({why})")),
            _ => line("framing", "unknown (no segment)"),
        }
        let s = &self.segments;
        let mut segments = format!("{} ({} closed, {} open)", s.count, s.closed, s.open);
        if let (Some(first), Some(last)) = (s.first_sequence, s.last_sequence) {
            let _ = write!(segments, ", sequence {first} to {last}, {} bytes", s.bytes);
        }
        line("segments", &segments);
        line(
            "messages",
            &match &self.messages {
                Some(m) => {
                    let mut text = format!(
                        "{} to {} (end excluded): {}",
                        m.first,
                        m.end,
                        plural(
                            m.end.saturating_sub(m.first).saturating_sub(m.missing),
                            "message"
                        )
                    );
                    if m.missing > 0 {
                        let _ = write!(text, "; {} missing ({})", m.missing, m.where_missing());
                    }
                    text
                }
                None => "none".to_owned(),
            },
        );
        line(
            "time",
            &match &self.time {
                Some(t) => format!(
                    "{} to {} (segment start times)",
                    t.first_start, t.last_start
                ),
                None => "none".to_owned(),
            },
        );
        let i = &self.indexes;
        let mut indexes = format!(
            "{} of {} closed segments have a valid index",
            i.valid, i.closed
        );
        if !i.missing.is_empty() {
            let names: Vec<String> = i.missing.iter().map(|n| escape(n)).collect();
            let _ = write!(indexes, "; missing: {}", names.join(", "));
        }
        for bad in &i.bad {
            let _ = write!(
                indexes,
                "; bad: {}: {}",
                escape(&bad.segment),
                escape(&bad.reason)
            );
        }
        line("indexes", &indexes);
        line(
            "lock",
            &match &self.lock {
                Lock::Held => "held: a writer is capturing".to_owned(),
                Lock::Free => "free: no writer".to_owned(),
                Lock::Unknown { reason } => format!("unknown: {}", escape(reason)),
            },
        );
        match &self.open_segment {
            Some(open) => {
                let end = match &open.end {
                    End::Torn { .. } if self.lock == Lock::Held => {
                        format!("{}: a frame being written, not damage", open.end.describe())
                    }
                    End::Torn { .. } => format!(
                        "{}: left by a writer that stopped: the next writer truncates it",
                        open.end.describe()
                    ),
                    other => other.describe(),
                };
                line(
                    "open segment",
                    &format!(
                        "{}: {} bytes, {}, {end}",
                        escape(&open.file),
                        open.bytes,
                        plural(open.messages, "message")
                    ),
                );
            }
            None => line("open segment", "none"),
        }
        match &self.header {
            Some(header) => line("header", &header.describe()),
            None => line("header", "none"),
        }
        out
    }
}
