//! `cat` through the capture crate's [`Follower`]: a capture directory (its
//! segments in order), `--follow` (waiting at the end like `tail -f`) and
//! `--from-frame` / `--from-time` seeks, on a directory or a stream file.
//!
//! The output and the policy on damage are those of `cat` on a file: every
//! payload in the chosen format, headers never; reading stops at the first
//! damage with an error naming the file, byte offset and frame (exit code
//! 1); zero frames are never printed (followed by data they are damage, at
//! the end zero fill). Two things differ, because a writer may be at work:
//! following, a frame still being written is waited for, not reported as
//! torn; and reading a directory without following, a torn frame at the end
//! of its open segment (`.open`: a writer may be mid-write) ends the output
//! quietly.
//!
//! In a directory, `--from-frame N` is the capture-wide message number (the
//! number segment headers give their first message; headers are not
//! messages), found by `seek_to_message`; `--from-time T` is found by
//! `seek_to_time`, reading timestamps through the schema. Following,
//! output is flushed after every message; otherwise it stays buffered.

use std::io::Write;
use std::path::{Path, PathBuf};

use flatstream::{Deframer, Position};
use flatstream_capture::segment::OPEN_SUFFIX;
use flatstream_capture::{CapturePosition, Follower, TimestampFn, seek_to_message, seek_to_time};

use crate::capture::{self, capture_error};
use crate::cat::{CatOptions, CatSummary, Format, FrameRange, Printer, file_range};
use crate::error::{Error, Result, at, shown};
use crate::framing::{Framing, with_deframer};
use crate::read::{self, ZeroRun, is_zero_frame};
use crate::schema;
use crate::signals::Interrupt;

/// Prints the payloads of the capture directory or stream file `path`
/// through a [`Follower`]: see the module documentation.
///
/// # Errors
///
/// As [`cat`](crate::cat::cat); and a usage error (exit code 2) for a
/// directory that holds no capture (unless following), for `--frames` on a
/// directory, for a `--from-frame` before the first message
/// a directory still holds, and for `--from-time` without a schema or a
/// time field.
pub(crate) fn cat<W: Write>(path: &Path, options: &CatOptions, out: &mut W) -> Result<CatSummary> {
    let is_dir = path.is_dir();
    if is_dir && options.frames != FrameRange::default() {
        return Err(Error::usage(format!(
            "{}: --frames takes the frame indices of one stream file; in a capture directory, \
             --from-frame N starts at message N",
            shown(path)
        )));
    }
    // Following, an empty directory is waited on: a capture may start.
    if is_dir && !options.follow {
        capture::ensure_capture(path)?;
    }
    let interrupt = options.interrupt.clone().unwrap_or_default();
    let wait = options.follow.then_some(&interrupt);
    let Some(source) = capture::source(path, options.framing, wait)? else {
        // An empty directory, or interrupted while waiting for a first
        // frame: nothing to print.
        return Ok(CatSummary::default());
    };
    let header = source.header.as_ref();
    let needs_schema = options.format == Format::Json || options.from_time.is_some();
    let loaded = if needs_schema {
        schema::load(&source.first, options.schema.as_deref(), header)?
    } else {
        None
    };
    let no_schema = |what: &str| {
        Error::usage(format!(
            "{what} needs a schema: {} has no stream header carrying one; give --schema",
            shown(&source.first)
        ))
    };
    let check = match (options.format, &loaded) {
        (Format::Json, Some(loaded)) => Some(loaded.root(options.root_type.as_deref(), header)?),
        (Format::Json, None) => return Err(no_schema("--json")),
        _ => None,
    };
    let timestamp = match (options.from_time, &loaded) {
        (Some(_), Some(loaded)) => Some(loaded.timestamp(
            options.root_type.as_deref(),
            header,
            options.time_field.as_deref(),
        )?),
        (Some(_), None) => return Err(no_schema("--from-time (to read each message's time)")),
        (None, _) => None,
    };
    let mut reading = Reading {
        path,
        is_dir,
        framing: source.framing(),
        options,
        interrupt: &interrupt,
        printer: Printer {
            format: options.format,
            check: check.as_deref(),
            hex: Vec::new(),
            path: source.first.clone(),
        },
        names: Names {
            sequence: None,
            path: source.first.clone(),
        },
        timestamp: timestamp.as_ref(),
    };
    with_deframer!(source.framing(), |deframer| reading.run(deframer, out))
}

/// One `cat` through a follower.
struct Reading<'a> {
    /// The directory or file, as given.
    path: &'a Path,
    is_dir: bool,
    framing: Framing,
    options: &'a CatOptions,
    interrupt: &'a Interrupt,
    printer: Printer<'a>,
    /// The path of the segment being read, for messages.
    names: Names,
    /// How to read a message's time, for `--from-time`.
    timestamp: Option<&'a TimestampFn>,
}

/// Where reading starts.
enum Start {
    /// At the first message there is.
    Beginning,
    /// At a position a seek found.
    At(CapturePosition),
    /// Nowhere: nothing asked for is there, and nothing will come.
    Nothing,
}

impl Reading<'_> {
    fn run<D: Deframer + Clone, W: Write>(
        &mut self,
        deframer: D,
        out: &mut W,
    ) -> Result<CatSummary> {
        let mut summary = CatSummary::default();
        let follow = self.options.follow;
        let start = self.start(&deframer)?;
        let opened = match start {
            Start::Beginning => Follower::open(self.path, deframer),
            Start::At(position) => Follower::open_at(self.path, deframer, position),
            Start::Nothing => return Ok(summary),
        };
        let mut follower = opened
            .map_err(|error| capture_error(&error))?
            .with_follow(follow)
            .with_max_frame_len(read::MAX_FRAME_LEN);
        if follow {
            self.interrupt.attach(follower.stop_handle());
        }
        // In a directory, `--from-frame` past the end (following) waits for
        // that message; in a file it is a range of wire frame indices.
        let skip_below = self.options.from_frame.filter(|_| self.is_dir);
        // `--from-time`: the seek lands on the first message at or after
        // the time, or at the end when there is none yet; following, the
        // messages that arrive later are held to it as well, until the
        // first one that passes.
        let mut before_time = self.options.from_time.zip(self.timestamp.cloned());
        let range = if self.is_dir {
            FrameRange::default()
        } else {
            file_range(self.options)
        };
        let header_len = self.framing.header_len() as u64;
        let mut payload = Vec::new();
        let mut zeros = ZeroRun::default();
        // The segment of the zero run and where it ends.
        let mut zeros_at = (0, 0);
        // The segment `printer.path` names.
        let mut printer_segment = None;
        loop {
            if range.is_past(follower.position().frame) {
                break;
            }
            // Copied out, so that the follower can say where it was.
            match follower.next() {
                Ok(Some(next)) => {
                    payload.clear();
                    payload.extend_from_slice(next);
                }
                Ok(None) => break,
                Err(error) => {
                    if !follow && self.is_dir && torn_open_tail(&error) {
                        break;
                    }
                    return Err(capture_error(&error));
                }
            }
            let after = follower.position();
            let number = follower.next_message().saturating_sub(1);
            let frame_at = Position {
                offset: after
                    .offset
                    .saturating_sub(header_len + payload.len() as u64),
                frame: after.frame.saturating_sub(1),
            };
            if is_zero_frame(self.framing, &payload) {
                if zeros.start().is_none() {
                    zeros_at.0 = after.segment;
                }
                zeros_at.1 = after.offset;
                zeros.push(frame_at, payload.len());
                continue;
            }
            if let Some(start) = zeros.start() {
                // Zero frames followed by a real one are damage, not
                // payloads.
                return Err(Error::damaged(format!(
                    "{}: {}: {}",
                    shown(self.segment_path(zeros_at.0)),
                    at(start),
                    zeros.describe_inside(zeros_at.1)
                )));
            }
            if skip_below.is_some_and(|n| number < n) || !range.contains(frame_at.frame) {
                continue;
            }
            if let Some((time, timestamp)) = &before_time {
                if timestamp(&payload).is_none_or(|ts| ts < time.nanos) {
                    continue;
                }
                before_time = None;
            }
            if self.is_dir && printer_segment != Some(after.segment) {
                self.printer.path = self.segment_path(after.segment).to_owned();
                printer_segment = Some(after.segment);
            }
            self.printer.print(frame_at, &payload, out)?;
            summary.printed += 1;
            if follow {
                out.flush().map_err(|error| Error::stdout(&error))?;
            }
        }
        if let Some(start) = zeros.start()
            && !self.interrupt.is_triggered()
        {
            return Err(Error::damaged(format!(
                "{}: {}: zero-filled tail ({} zero frames); `flatstream recover` truncates it",
                shown(self.segment_path(zeros_at.0)),
                at(start),
                zeros.frames()
            )));
        }
        Ok(summary)
    }

    /// Where to start reading: the seek `--from-frame` (in a directory) or
    /// `--from-time` asks for.
    fn start<D: Deframer + Clone>(&self, deframer: &D) -> Result<Start> {
        if let (Some(time), Some(timestamp)) = (self.options.from_time, self.timestamp) {
            let position = seek_to_time(self.path, deframer.clone(), time.system_time(), timestamp)
                .map_err(|error| capture_error(&error))?;
            return Ok(Start::At(position));
        }
        let Some(n) = self.options.from_frame.filter(|_| self.is_dir) else {
            return Ok(Start::Beginning);
        };
        match seek_to_message(self.path, deframer.clone(), n) {
            Ok(position) => Ok(Start::At(position)),
            Err(flatstream_capture::Error::OutOfRange { first, end, .. }) if n < first => {
                Err(Error::usage(format!(
                    "{}: message {n} is no longer in the capture: it holds messages {first} to {end} \
                     (end excluded); the segments before were deleted",
                    shown(self.path)
                )))
            }
            // Past the end: nothing, or (following) wait for message n,
            // reading on from the last message there is.
            Err(flatstream_capture::Error::OutOfRange { first, end, .. }) => {
                if !self.options.follow {
                    Ok(Start::Nothing)
                } else if end > first {
                    seek_to_message(self.path, deframer.clone(), end - 1)
                        .map(Start::At)
                        .map_err(|error| capture_error(&error))
                } else {
                    Ok(Start::Beginning)
                }
            }
            Err(error) => Err(capture_error(&error)),
        }
    }

    /// The path of segment `sequence` (the file itself when reading one),
    /// for messages: looked up once per segment.
    fn segment_path(&mut self, sequence: u64) -> &Path {
        if self.is_dir && self.names.sequence != Some(sequence) {
            let found = capture::segments(self.path)
                .ok()
                .and_then(|segments| segments.into_iter().find(|s| s.sequence == sequence))
                .map(|segment| capture::current_path(&segment));
            self.names = Names {
                sequence: Some(sequence),
                path: found.unwrap_or_else(|| self.path.join(format!("segment {sequence}"))),
            };
        }
        if !self.is_dir {
            return self.path;
        }
        &self.names.path
    }
}

/// The path of the segment last named.
struct Names {
    sequence: Option<u64>,
    path: PathBuf,
}

/// Whether `error` is a torn frame at the end of an open segment: a writer
/// may be writing it right now, so reading without following ends there.
fn torn_open_tail(error: &flatstream_capture::Error) -> bool {
    matches!(
        error,
        flatstream_capture::Error::Stream { path: Some(path), source }
            if source.is_unexpected_eof()
                && path.to_str().is_some_and(|p| p.ends_with(OPEN_SUFFIX))
    )
}
