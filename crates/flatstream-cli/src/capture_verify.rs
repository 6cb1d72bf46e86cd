//! `flatstream verify DIR`: every segment of a capture directory verified as
//! `verify FILE` verifies one stream, and the messages between segments
//! accounted for.
//!
//! Each segment is a whole stream with its own header; it is verified on
//! its own ([`verify::verify`], its framing detected unless forced). What
//! no single segment can show, messages lost between segments (a closed
//! segment cut short or emptied, segments deleted from the middle), comes
//! from the same walk `info DIR` makes ([`capture_info::info`]). The open
//! segment, when it is the last one, may end inside a frame or in zero
//! fill: a writer may be in the middle of a frame (or, when none holds the
//! lock, the next writer cuts that tail when it opens the capture), so
//! that is reported, not counted as damage. A segment framed unlike the
//! first one that holds a whole frame is damage (a writer frames them all
//! alike). Detection says plain where no checksum verifies, also where
//! there is no whole frame to go by (a segment a writer has just opened is
//! empty, or ends inside its header frame): so a segment detected as plain
//! is tried as the capture's, and taken when that reads it intact but for a
//! torn or zero-filled tail (the open segment's, or damage of a closed
//! one). An empty segment that no writer is writing
//! is damage (a writer closes a segment only after its header). One that
//! retention deleted after it was listed is reported, not damage.

use core::fmt::Write as _;
use std::path::Path;

use flatstream_capture::segment::Segment;

use crate::capture;
use crate::capture_info::{self, Messages};
use crate::error::{Result, escape, plural};
use crate::framing::Framing;
use crate::verify::{self, Problem, ProblemKind, VerifyOptions, VerifyReport};

/// What `verify DIR` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureVerifyReport {
    /// The directory, as given.
    pub directory: String,
    /// Each segment's report, in sequence order.
    pub segments: Vec<SegmentReport>,
    /// The capture-wide message numbers, and those no segment holds, when
    /// the segments' headers say.
    pub messages: Option<Messages>,
    /// Segments listed but deleted before they were verified (retention in
    /// a live capture): not damage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<u64>,
}

/// One segment's report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentReport {
    /// Its sequence number.
    pub sequence: u64,
    /// Whether it is the open segment (being written, or left open).
    pub open: bool,
    /// How the open segment ends when that is a torn tail or zero fill (not
    /// damage: see the module docs); then not among the report's problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_tail: Option<String>,
    /// The segment verified as a stream file.
    pub report: VerifyReport,
}

impl CaptureVerifyReport {
    /// Segments with problems.
    #[must_use]
    pub fn damaged_segments(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| !s.report.is_intact())
            .count() as u64
    }

    /// Messages between the first kept one and the end that no segment
    /// holds.
    #[must_use]
    pub fn missing(&self) -> u64 {
        self.messages.as_ref().map_or(0, |m| m.missing)
    }

    /// Whether every segment is intact and no message is missing.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.damaged_segments() == 0 && self.missing() == 0
    }

    /// The report as text: each segment's report, then one summary line.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push_str(&segment.report.to_text());
            if let Some(tail) = &segment.open_tail {
                let _ = writeln!(out, "  open segment: {tail}");
            }
        }
        if !self.deleted.is_empty() {
            let numbers: Vec<String> = self.deleted.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "deleted while verifying (retention): segment {}",
                numbers.join(", ")
            );
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// `DIR: intact: ...` or `DIR: damaged: ...`, one line. (The message
    /// numbers only when intact: past damage in the last segment the end is
    /// not known.)
    #[must_use]
    pub fn summary(&self) -> String {
        let dir = escape(&self.directory);
        let segments = plural(self.segments.len() as u64, "segment");
        if self.is_intact() {
            let messages = match &self.messages {
                Some(m) => format!("messages {} to {} (end excluded)", m.first, m.end),
                None => "no messages".to_owned(),
            };
            return format!("{dir}: intact: {segments}, {messages}");
        }
        let mut what = Vec::new();
        let damaged = self.damaged_segments();
        if damaged > 0 {
            what.push(format!("{damaged} of {segments} damaged"));
        }
        if let Some(m) = self.messages.as_ref().filter(|m| m.missing > 0) {
            what.push(format!(
                "{} missing ({})",
                plural(m.missing, "message"),
                m.where_missing()
            ));
        }
        format!("{dir}: damaged: {}", what.join(", "))
    }
}

/// Verifies every segment of the capture directory `dir` and the messages
/// between them.
///
/// # Errors
///
/// A directory that holds no capture (exit code 2), or what
/// [`verify::verify`] and [`capture_info::info`] refuse. Damage is not an
/// error here: it is in the report.
pub fn verify_dir(dir: &Path, options: &VerifyOptions) -> Result<CaptureVerifyReport> {
    capture::ensure_capture(dir)?;
    let info = capture_info::info(dir, options.framing)?;
    let listed = capture::segments(dir)?;
    let last = listed.last().map(|s| s.sequence);
    // The framing every segment must share, and the segment it was read
    // from: the first that holds a whole frame.
    let mut capture: Option<(Framing, u64)> = None;
    let mut segments = Vec::new();
    let mut deleted = Vec::new();
    for segment in listed {
        // Only the last segment may be being written (a writer refuses a
        // directory where an open segment has later ones).
        let being_written = segment.open && Some(segment.sequence) == last;
        let Some(mut report) = verify_segment(&segment, options)? else {
            deleted.push(segment.sequence);
            continue;
        };
        match capture {
            None if report.frames > 0 => capture = Some((report.framing, segment.sequence)),
            Some((framing, first)) if report.framing != framing => {
                // Detection takes a checksummed framing only where a
                // checksum verifies; elsewhere it says plain, also where
                // there is no whole frame to go by (a segment a writer has
                // just opened: empty, or ending inside its header frame).
                // So a segment detected as plain is tried as the capture's:
                // when that reads it intact but for a torn or zero-filled
                // tail, it is the capture's, and the tail is the open
                // segment's or damage.
                let as_captures = if report.framing == Framing::Plain {
                    let as_capture = VerifyOptions {
                        framing: Some(framing),
                        ..options.clone()
                    };
                    let Some(as_captures) = verify_segment(&segment, &as_capture)? else {
                        deleted.push(segment.sequence);
                        continue;
                    };
                    Some(as_captures)
                        .filter(|r| r.is_intact() || (r.problems_total == 1 && ends_in_a_tail(r)))
                } else {
                    None
                };
                if let Some(mut as_captures) = as_captures {
                    as_captures.framing_source =
                        format!("the capture's (segment {first}'s): nothing verifies another");
                    report = as_captures;
                } else {
                    // A writer frames every segment alike: this one is of
                    // another capture, or was rewritten. (Its messages are
                    // not numbered in the capture's walk either.)
                    report.problems.insert(
                        0,
                        Problem {
                            offset: 0,
                            frame: 0,
                            kind: ProblemKind::Other,
                            what: format!(
                                "{} framing, not the capture's {framing} (segment {first}'s): a segment of another capture, or rewritten",
                                report.framing
                            ),
                        },
                    );
                    report.problems_total += 1;
                }
            }
            _ => {}
        }
        if report.bytes == 0 && !being_written {
            // Read as any framing, an empty file is intact; but a writer
            // closes a segment only after its header.
            report.problems.push(Problem {
                offset: 0,
                frame: 0,
                kind: ProblemKind::Other,
                what: "an empty segment that no writer is writing: a writer closes a segment only after its header".to_owned(),
            });
            report.problems_total += 1;
        }
        let open_tail = if being_written {
            take_open_tail(&mut report)
        } else {
            None
        };
        segments.push(SegmentReport {
            sequence: segment.sequence,
            open: segment.open,
            open_tail,
            report,
        });
    }
    Ok(CaptureVerifyReport {
        directory: dir.display().to_string(),
        segments,
        messages: info.messages,
        deleted,
    })
}

/// Verifies a listed segment under its current name, or under its final
/// name when it was closed (renamed) since it was listed; `None` when
/// retention deleted it since.
fn verify_segment(segment: &Segment, options: &VerifyOptions) -> Result<Option<VerifyReport>> {
    let path = capture::current_path(segment);
    let closed = segment.closed_path();
    match verify::verify(&path, options) {
        Ok(report) => Ok(Some(report)),
        Err(_) if !path.exists() && path != closed && closed.exists() => {
            verify::verify(&closed, options).map(Some)
        }
        Err(_) if !path.exists() && !closed.exists() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Whether the report's last problem is a torn tail or zero fill, and the
/// last of all: how a segment being written may end.
fn ends_in_a_tail(report: &VerifyReport) -> bool {
    // A listed problem past MAX_LISTED may not be the last of all.
    report.problems.len() as u64 == report.problems_total
        && report
            .problems
            .last()
            .is_some_and(|p| matches!(p.kind, ProblemKind::TornTail | ProblemKind::ZeroFill))
}

/// Takes a torn tail or zero fill, the open segment's last problem, out of
/// its report, and says what it was.
fn take_open_tail(report: &mut VerifyReport) -> Option<String> {
    if !ends_in_a_tail(report) {
        return None;
    }
    let tail = report.problems.pop()?;
    report.problems_total -= 1;
    Some(format!(
        "{}; a writer may be in the middle of a frame, or the next one cuts it",
        tail.describe()
    ))
}
