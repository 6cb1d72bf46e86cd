//! `flatstream verify`: every checksum and, with a schema, the FlatBuffers
//! verifier on every payload; each damaged region listed.
//!
//! One pass reads the stream in salvage mode (`AfterDamage::Resync`): a
//! damaged frame is reported with its position and the reader goes on at
//! the next chain of good frames, so every damaged region is found in one
//! read. Only when damage or zero frames were seen does the library's
//! `recover` tell a zero-filled tail apart from other damage.

use core::fmt::Write as _;
use std::path::{Path, PathBuf};

use flatstream::{AfterDamage, Deframer, ErrorKind, Position};

use crate::detect::{Detection, detect_file};
use crate::error::{Error, Result, at, describe_kind, escape, plural};
use crate::framing::{Framing, with_deframer};
use crate::input::{self, Input};
use crate::progress::{self, Progress};
use crate::read::{self, End, ZeroRun, is_zero_frame};
use crate::schema::{self, Check};
use flatstream_capture::GapMarker;

/// The most problems a report lists one by one; all are counted.
pub const MAX_LISTED: usize = 1000;

/// How to run `verify`.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The framing, or `None` to detect it.
    pub framing: Option<Framing>,
    /// A schema (`.bfbs`, or `.fbs` compiled with flatc) to verify every
    /// payload with; by default the one the stream's header carries.
    pub schema: Option<PathBuf>,
    /// The root table to verify payloads as; by default the schema's (or
    /// the header's) root type.
    pub root_type: Option<String>,
    /// Verify checksums only, even if the header carries a schema.
    pub no_schema: bool,
    /// Whether a progress bar may be shown.
    pub progress: bool,
}

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A damaged region the reader skipped (bad checksum or length).
    Corrupt,
    /// The stream ends inside a frame.
    TornTail,
    /// The stream ends in zero fill.
    ZeroFill,
    /// A payload the FlatBuffers verifier refused.
    Schema,
    /// Anything else the reader refused.
    Other,
}

/// One damaged place in a stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where the damaged frame (or region) starts.
    pub offset: u64,
    /// Its frame index.
    pub frame: u64,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong, in words.
    pub what: String,
}

impl Problem {
    fn new(at: Position, kind: ProblemKind, what: String) -> Self {
        Problem {
            offset: at.offset,
            frame: at.frame,
            kind,
            what,
        }
    }

    /// `byte offset X (frame N): what`.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "{}: {}",
            at(Position {
                offset: self.offset,
                frame: self.frame
            }),
            self.what
        )
    }
}

/// What `verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// The file, as given.
    pub file: String,
    /// The framing read with.
    pub framing: Framing,
    /// Why that framing.
    pub framing_source: String,
    /// The file's length.
    pub bytes: u64,
    /// Frames that read intact (header included).
    pub frames: u64,
    /// Whether the stream has a header.
    pub header: bool,
    /// The root type payloads were verified as, if a schema was used.
    pub schema: Option<String>,
    /// Where the schema came from.
    pub schema_source: Option<String>,
    /// The problems found, in stream order (at most [`MAX_LISTED`]).
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub problems_total: u64,
    /// Gap markers among the frames: the capture writer's records of
    /// messages it dropped (not damage).
    pub gap_markers: u64,
    /// Messages the gap markers say were dropped.
    pub dropped: u64,
}

impl VerifyReport {
    /// Whether the stream is intact.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.problems_total == 0
    }

    /// The report as text: one summary line, then one line per problem.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let checks = match (self.framing.checksum(), &self.schema) {
            (Some(sum), Some(root)) => format!("{sum} checksums and schema {root} verified"),
            (Some(sum), None) => format!("{sum} checksums verified"),
            (None, Some(root)) => format!("no checksums (plain framing), schema {root} verified"),
            (None, None) => "no checksums (plain framing): frame lengths only".to_owned(),
        };
        let frames = match self.header {
            true => format!(
                "{} (a header and {})",
                plural(self.frames, "frame"),
                plural(self.frames.saturating_sub(1), "message")
            ),
            false => plural(self.frames, "frame"),
        };
        let gaps = match self.gap_markers {
            0 => String::new(),
            n => format!(
                "; {}: {} dropped by the capture writer",
                plural(n, "gap marker"),
                plural(self.dropped, "message")
            ),
        };
        if self.is_intact() {
            let _ = writeln!(
                out,
                "{}: intact: {frames}, {} bytes; {checks}{gaps}",
                escape(&self.file),
                self.bytes
            );
            return out;
        }
        let _ = writeln!(
            out,
            "{}: damaged: {} problem{} ({frames} intact; {} framing, {})",
            escape(&self.file),
            self.problems_total,
            if self.problems_total == 1 { "" } else { "s" },
            self.framing,
            self.framing_source
        );
        for problem in &self.problems {
            let _ = writeln!(out, "  {}", problem.describe());
        }
        let listed = self.problems.len() as u64;
        if self.problems_total > listed {
            let _ = writeln!(out, "  ... and {} more", self.problems_total - listed);
        }
        out
    }
}

/// The problems of a pass, listed up to [`MAX_LISTED`].
#[derive(Debug, Default)]
struct Problems {
    listed: Vec<Problem>,
    total: u64,
}

impl Problems {
    fn push(&mut self, problem: Problem) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(problem);
        }
    }
}

/// What the pass saw.
#[derive(Debug, Default)]
struct Pass {
    frames: u64,
    header: bool,
    problems: Problems,
    /// Zero frames at the end so far.
    zeros: ZeroRun,
    /// Whether damage (not a schema problem) was seen.
    damaged: bool,
    /// Gap markers (the capture writer's records of dropped messages).
    gap_markers: u64,
    /// Messages those markers say were dropped.
    dropped: u64,
}

/// Runs `verify` on the stream file `path`.
///
/// # Errors
///
/// A file or schema that cannot be read, or a root type the schema does
/// not have (exit code 2). Damage is not an error: it is in the report.
pub fn verify(path: &Path, options: &VerifyOptions) -> Result<VerifyReport> {
    let mut input = input::open(path)?;
    let detection = match options.framing {
        Some(framing) => Detection::forced(framing),
        None => detect_file(&mut input.file, input.len)
            .map_err(|error| Error::io(path, "cannot read", &error))?,
    };
    let framing = detection.framing;
    let header = read::read_header(&mut input, framing)?;
    let loaded = if options.no_schema {
        None
    } else {
        schema::load(path, options.schema.as_deref(), header.as_ref())?
    };
    let check = match &loaded {
        Some(loaded) => Some(loaded.root(options.root_type.as_deref(), header.as_ref())?),
        None if options.root_type.is_some() => {
            return Err(Error::usage(format!(
                "{}: --root-type needs a schema: the stream has no header carrying one; give --schema",
                crate::error::shown(path)
            )));
        }
        None => None,
    };
    let check: Option<&dyn Check> = check.as_deref();

    let progress = Progress::bytes(options.progress, input.len, "verifying");
    let mut pass = if let Some(declared) = read::plain_start_impossible(&mut input, framing)? {
        // No frame reads from the start: judged without reading it all.
        let mut pass = Pass::default();
        pass.problems.push(Problem::new(
            Position {
                offset: 0,
                frame: 0,
            },
            ProblemKind::Corrupt,
            format!(
                "the first frame's length {declared} runs past the end of the file ({} bytes): not a FlatStream stream, or its first length is damaged",
                input.len
            ),
        ));
        pass
    } else {
        with_deframer!(framing, |deframer| {
            run(&mut input, deframer, framing, check, &progress)
        })?
    };
    progress.finish();

    if pass.damaged || pass.zeros.frames() > 0 {
        let (end, intact) = with_deframer!(framing, |deframer| recover_end(&mut input, deframer))?;
        explain_end(&mut pass, &end, intact);
    }

    Ok(VerifyReport {
        file: path.display().to_string(),
        framing,
        framing_source: detection.describe(),
        bytes: input.len,
        frames: pass.frames,
        header: pass.header,
        schema: check.map(Check::name),
        schema_source: loaded.as_ref().map(|loaded| loaded.source.clone()),
        problems_total: pass.problems.total,
        problems: pass.problems.listed,
        gap_markers: pass.gap_markers,
        dropped: pass.dropped,
    })
}

/// The salvage-mode pass over the whole stream.
fn run<D: Deframer>(
    input: &mut Input,
    deframer: D,
    framing: Framing,
    check: Option<&dyn Check>,
    progress: &Progress,
) -> Result<Pass> {
    let path = input.path.clone();
    let mut reader = read::reader(&mut input.file, deframer, AfterDamage::Resync, input.len);
    let mut pass = Pass::default();
    // The position of the latest error with no frame read since: an error
    // there again would repeat forever.
    let mut stuck_at: Option<Position> = None;
    match reader.header() {
        Ok(Some(_)) => {
            pass.header = true;
            pass.frames = 1;
        }
        Ok(None) => {}
        Err(error) => {
            let before = Position {
                offset: 0,
                frame: 0,
            };
            if !problem(&mut pass, &error, before, &path)? {
                return Ok(pass);
            }
            stuck_at = Some(reader.position());
        }
    }
    loop {
        let before = reader.position();
        match reader.read_message() {
            Ok(Some(payload)) => {
                stuck_at = None;
                if is_zero_frame(framing, payload) {
                    pass.zeros.push(before, payload.len());
                    continue;
                }
                if let Some(start) = pass.zeros.start() {
                    // Zero frames followed by real ones are damage.
                    let what = pass.zeros.describe_inside(before.offset);
                    pass.zeros.take();
                    pass.damaged = true;
                    pass.problems
                        .push(Problem::new(start, ProblemKind::Corrupt, what));
                }
                pass.frames += 1;
                if let Some(gap) = GapMarker::decode(payload) {
                    pass.gap_markers += 1;
                    pass.dropped = pass.dropped.saturating_add(gap.dropped);
                }
                if let Some(check) = check
                    && let Err(why) = check.verify(payload)
                {
                    pass.problems
                        .push(Problem::new(before, ProblemKind::Schema, why));
                }
                if pass.frames.is_multiple_of(progress::EVERY_FRAMES) {
                    progress.set(before.offset);
                }
            }
            Ok(None) => break,
            Err(error) => {
                if stuck_at == Some(reader.position()) {
                    break;
                }
                if !problem(&mut pass, &error, before, &path)? {
                    break;
                }
                stuck_at = Some(reader.position());
            }
        }
    }
    Ok(pass)
}

/// Records the reader's `error`; returns whether reading can go on.
fn problem(
    pass: &mut Pass,
    error: &flatstream::Error,
    before: Position,
    path: &Path,
) -> Result<bool> {
    let at = error.position().unwrap_or(before);
    pass.damaged = true;
    // Zero frames before damage are damage too; they are not a tail.
    if let Some(start) = pass.zeros.start() {
        let what = pass.zeros.describe_inside(at.offset);
        pass.zeros.take();
        pass.problems
            .push(Problem::new(start, ProblemKind::Corrupt, what));
    }
    let (kind, what, go_on) = match error.kind() {
        ErrorKind::Io(io) => return Err(Error::io(path, "cannot read", io)),
        ErrorKind::CorruptRegion {
            len,
            frames_lost,
            cause,
        } => {
            let lost = match frames_lost {
                Some(1) => ", 1 frame lost".to_owned(),
                Some(n) => format!(", {n} frames lost"),
                None => String::new(),
            };
            let what = format!("{}; {len} bytes skipped{lost}", describe_kind(cause));
            (ProblemKind::Corrupt, what, true)
        }
        ErrorKind::UnexpectedEof { .. } => {
            (ProblemKind::TornTail, describe_kind(error.kind()), false)
        }
        ErrorKind::ChecksumMismatch { .. } | ErrorKind::FrameTooLarge { .. } => (
            ProblemKind::Corrupt,
            describe_kind(error.kind()),
            error.is_resumable(),
        ),
        other => (
            ProblemKind::Other,
            describe_kind(other),
            error.is_resumable(),
        ),
    };
    pass.problems.push(Problem::new(at, kind, what));
    Ok(go_on)
}

/// How the stream ends, by the library's recovery scan, and where its
/// intact frames end.
fn recover_end<D: Deframer>(input: &mut Input, deframer: D) -> Result<(End, Position)> {
    let (recovery, end) = read::recover_scan(input, deframer)?;
    Ok((end, recovery.end_position()))
}

/// Replaces what the pass saw of a tail that recovery calls zero fill
/// (damage from where the fill starts, zero frames at the end), or a torn
/// frame whose length runs past the end of the file (damage to a reader
/// whose limit is the file's length), by one problem that says so; and a
/// torn frame that recovery calls a whole frame with a damaged length by a
/// corruption: the same ends `info` and `recover` report.
fn explain_end(pass: &mut Pass, end: &End, intact: Position) {
    // Recovery ends the intact frames where the tail starts.
    let tail_at = |offset| Position {
        offset,
        frame: intact.frame,
    };
    let ends_torn_at = |pass: &Pass, offset: u64| {
        pass.problems
            .listed
            .last()
            .is_some_and(|p| p.kind == ProblemKind::TornTail && p.offset == offset)
    };
    match *end {
        End::ZeroFilled { offset, len } => {
            pass.zeros.take();
            replace_from(
                pass,
                Problem::new(
                    tail_at(offset),
                    ProblemKind::ZeroFill,
                    format!("zero-filled tail ({len} bytes); `flatstream recover` truncates it"),
                ),
            );
            return;
        }
        End::Torn { offset, len } if !ends_torn_at(pass, offset) => {
            replace_from(
                pass,
                Problem::new(
                    tail_at(offset),
                    ProblemKind::TornTail,
                    format!(
                        "torn frame: the file ends {len} bytes into it, before the end its length declares"
                    ),
                ),
            );
        }
        End::Corrupt {
            offset: Some(offset),
            damaged_length,
            undecided,
            ref error,
            ..
        } if damaged_length || undecided => {
            // The frame runs past the end (the pass saw it torn, or longer
            // than the file), but recovery found it whole, or could not
            // rule out good frames after it.
            replace_from(
                pass,
                Problem::new(tail_at(offset), ProblemKind::Corrupt, error.clone()),
            );
        }
        _ => {}
    }
    if let Some(start) = pass.zeros.start() {
        // Zero frames at the end that recovery does not call fill.
        let frames = pass.zeros.frames();
        pass.zeros.take();
        pass.problems.push(Problem::new(
            start,
            ProblemKind::ZeroFill,
            format!("{frames} zero frames at the end (zero fill)"),
        ));
    }
}

/// Drops the listed problems at or after `tail`'s offset (not a schema's:
/// those are payloads that read whole) and records `tail` instead.
fn replace_from(pass: &mut Pass, tail: Problem) {
    let listed = &mut pass.problems.listed;
    let before = listed.len();
    listed.retain(|p| p.kind == ProblemKind::Schema || p.offset < tail.offset);
    pass.problems.total -= (before - listed.len()) as u64;
    pass.problems.push(tail);
}
