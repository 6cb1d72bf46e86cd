//! `flatstream cat`: the payloads of a stream as hex lines, raw bytes or
//! JSON lines.
//!
//! Frames are numbered as on the wire, as in every position the command
//! line prints: when the stream has a header, it is frame 0 and the first
//! message is frame 1. The header is never printed as a payload.
//!
//! A stream file is read here; a capture directory, `--follow` and
//! `--from-time` go through the capture crate's follower
//! ([`follow`](crate::follow)), with the same output and the same policy on
//! damage.
//!
//! Reading stops at the first damage, with an error naming its offset and
//! frame; what was printed before it stays printed. Zero frames are held
//! back until a real frame follows them: at the end of the stream they are
//! zero fill, reported as damage, not printed.

use core::str::FromStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use flatstream::{AfterDamage, Deframer, ErrorKind, Position};

use crate::detect::{Detection, detect_file};
use crate::error::{Error, Result, at};
use crate::framing::{Framing, with_deframer};
use crate::info::framing_hint;
use crate::input::{self, Input};
use crate::read::{self, ZeroRun, is_zero_frame};
use crate::schema::{self, Check, JsonError};
use crate::signals::Interrupt;
use crate::time::TimeArg;

/// How `cat` prints each payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line of lowercase hex per payload (the default).
    #[default]
    Hex,
    /// The payloads' bytes, back to back, with nothing between them.
    Raw,
    /// One JSON object per line (NDJSON), through the schema.
    Json,
}

/// A range of frame indices, `start..end` (end excluded; none: to the end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameRange {
    /// The first frame printed.
    pub start: u64,
    /// The first frame not printed, if any.
    pub end: Option<u64>,
}

impl FrameRange {
    /// Whether frame `index` is in the range.
    #[must_use]
    pub fn contains(&self, index: u64) -> bool {
        index >= self.start && self.end.is_none_or(|end| index < end)
    }

    /// Whether every frame from `index` on is past the range.
    #[must_use]
    pub fn is_past(&self, index: u64) -> bool {
        self.end.is_some_and(|end| index >= end)
    }
}

impl FromStr for FrameRange {
    type Err = String;

    /// `A..B` (B excluded), `A..=B`, `A..`, `..B`, `..=B` or a single `N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = |text: &str| -> Result<u64, String> {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{text}` is not a frame index (a number from 0)"))
        };
        let Some((start, end)) = s.split_once("..") else {
            let index = number(s)?;
            // The last frame index there is: nothing after it to exclude.
            return Ok(FrameRange {
                start: index,
                end: index.checked_add(1),
            });
        };
        let start = if start.trim().is_empty() {
            0
        } else {
            number(start)?
        };
        let end = match end.strip_prefix('=') {
            // `..=u64::MAX` is `..`: no frame index is past it.
            Some(last) => number(last)?.checked_add(1),
            None if end.trim().is_empty() => None,
            None => Some(number(end)?),
        };
        if end.is_some_and(|end| end < start) {
            return Err(format!("the range `{s}` ends before it starts"));
        }
        if end == Some(start) {
            // `3..3` or `3..=2`: a request for nothing is a mistake, not a
            // quiet success that prints no frame.
            return Err(format!("the range `{s}` holds no frame"));
        }
        Ok(FrameRange { start, end })
    }
}

/// How to run `cat`.
#[derive(Debug, Clone, Default)]
pub struct CatOptions {
    /// The framing, or `None` to detect it.
    pub framing: Option<Framing>,
    /// How to print payloads.
    pub format: Format,
    /// The schema for `--json`; by default the header's.
    pub schema: Option<PathBuf>,
    /// The root type for `--json`.
    pub root_type: Option<String>,
    /// Which frames to print (a stream file's wire indices).
    pub frames: FrameRange,
    /// `--from-frame N`: in a capture directory, the capture-wide number of
    /// the first message printed; in a stream file, `--frames N..`.
    pub from_frame: Option<u64>,
    /// `--from-time T`: the first message printed is the first whose
    /// timestamp is at or after T.
    pub from_time: Option<TimeArg>,
    /// `--time-field NAME`: the root table's integer field holding each
    /// message's timestamp (by default `timestamp_ns`).
    pub time_field: Option<String>,
    /// `--follow`: wait at the end for more, like `tail -f`, flushing the
    /// output after every message.
    pub follow: bool,
    /// Ends following (SIGINT, SIGTERM); none: only the end of the process.
    pub interrupt: Option<Interrupt>,
}

/// What `cat` printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatSummary {
    /// Payloads printed.
    pub printed: u64,
}

/// Prints the payloads of the stream file `path` to `out`.
///
/// # Errors
///
/// A file or schema that cannot be read, `--json` without a schema (exit
/// code 2); damage, or a payload that is not a valid root table for
/// `--json` (exit code 1); or a failed write to `out` (a broken pipe is
/// [`Failure::BrokenPipe`](crate::Failure::BrokenPipe): end quietly).
pub fn cat<W: Write>(path: &Path, options: &CatOptions, out: &mut W) -> Result<CatSummary> {
    if options.follow || options.from_time.is_some() || path.is_dir() {
        return crate::follow::cat(path, options, out);
    }
    let mut input = input::open(path)?;
    let detection = match options.framing {
        Some(framing) => Detection::forced(framing),
        None => detect_file(&mut input.file, input.len)
            .map_err(|error| Error::io(path, "cannot read", &error))?,
    };
    let framing = detection.framing;
    let header = read::read_header(&mut input, framing)?;
    let loaded = match options.format {
        Format::Json => match schema::load(path, options.schema.as_deref(), header.as_ref())? {
            Some(loaded) => Some(loaded),
            None => {
                return Err(Error::usage(format!(
                    "{}: --json needs a schema: the stream has no header carrying one; give --schema",
                    path.display()
                )));
            }
        },
        _ => None,
    };
    let check = match &loaded {
        Some(loaded) => Some(loaded.root(options.root_type.as_deref(), header.as_ref())?),
        None => None,
    };
    let mut printer = Printer {
        format: options.format,
        check: check.as_deref(),
        hex: Vec::new(),
        path: path.to_owned(),
    };
    let result = with_deframer!(framing, |deframer| {
        run(
            &mut input,
            deframer,
            framing,
            file_range(options),
            &mut printer,
            out,
        )
    });
    match result {
        Ok(summary) => Ok(summary),
        Err(Stop::Error(error)) => Err(error),
        Err(Stop::Stream(error)) => {
            let mut failure = Error::stream(path, &error);
            let at_start = error.position().is_some_and(|p| p.frame == 0);
            if at_start && let Some(hint) = framing_hint(&mut input, &detection) {
                failure = failure.with_hint(&hint);
            }
            Err(failure)
        }
    }
}

/// The frames of a stream file to print: `--frames`, or `--from-frame N`
/// as `--frames N..`.
pub(crate) fn file_range(options: &CatOptions) -> FrameRange {
    match options.from_frame {
        Some(start) => FrameRange { start, end: None },
        None => options.frames,
    }
}

/// Why printing stopped early.
enum Stop {
    /// Damage in the stream.
    Stream(flatstream::Error),
    /// Anything else.
    Error(Error),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Error(error)
    }
}

/// Prints payloads in one format.
pub(crate) struct Printer<'a> {
    pub(crate) format: Format,
    pub(crate) check: Option<&'a dyn Check>,
    pub(crate) hex: Vec<u8>,
    /// The file named when a payload is not valid for `--json`.
    pub(crate) path: PathBuf,
}

impl Printer<'_> {
    /// Prints `payload`, the frame at `at` of [`Printer::path`].
    pub(crate) fn print<W: Write>(
        &mut self,
        at: Position,
        payload: &[u8],
        out: &mut W,
    ) -> Result<()> {
        let written = match self.format {
            Format::Hex => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                self.hex.clear();
                self.hex.reserve(payload.len() * 2 + 1);
                for &b in payload {
                    self.hex.push(DIGITS[usize::from(b >> 4)]);
                    self.hex.push(DIGITS[usize::from(b & 0xF)]);
                }
                self.hex.push(b'\n');
                out.write_all(&self.hex)
            }
            Format::Raw => out.write_all(payload),
            Format::Json => {
                let Some(check) = self.check else {
                    return Err(Error::usage("--json needs a schema"));
                };
                match check.write_json(payload, out) {
                    Ok(()) => out.write_all(b"\n"),
                    Err(JsonError::Io(error)) => Err(error),
                    Err(JsonError::Invalid(why)) => {
                        return Err(Error::damaged(format!(
                            "{}: {}: {why}",
                            crate::error::shown(&self.path),
                            crate::error::at(at),
                        )));
                    }
                }
            }
        };
        written.map_err(|error| Error::stdout(&error))
    }
}

/// Reads and prints the frames in `range`.
fn run<D: Deframer, W: Write>(
    input: &mut Input,
    deframer: D,
    framing: Framing,
    range: FrameRange,
    printer: &mut Printer<'_>,
    out: &mut W,
) -> Result<CatSummary, Stop> {
    let path = input.path.clone();
    let mut reader = read::reader(&mut input.file, deframer, AfterDamage::Stop, input.len);
    let mut summary = CatSummary::default();
    let mut zeros = ZeroRun::default();
    let stream_error = |error: flatstream::Error| match error.kind() {
        ErrorKind::Io(io) => Stop::Error(Error::io(&path, "cannot read", io)),
        _ => Stop::Stream(error),
    };
    reader.header().map_err(stream_error)?;
    loop {
        let before = reader.position();
        if range.is_past(before.frame) {
            break;
        }
        let payload = match reader.read_message() {
            Ok(Some(payload)) => payload,
            Ok(None) => break,
            Err(error) => return Err(stream_error(error)),
        };
        if is_zero_frame(framing, payload) {
            zeros.push(before, payload.len());
            continue;
        }
        if let Some(start) = zeros.start() {
            // Zero frames followed by a real one are damage, not payloads.
            return Err(Stop::Error(Error::damaged(format!(
                "{}: {}: {}",
                crate::error::shown(&path),
                at(start),
                zeros.describe_inside(before.offset)
            ))));
        }
        if range.contains(before.frame) {
            printer.print(before, payload, out)?;
            summary.printed += 1;
        }
    }
    if let Some(start) = zeros.start()
        && range.contains(start.frame)
    {
        return Err(Stop::Error(Error::damaged(format!(
            "{}: {}: zero-filled tail ({} zero frames); `flatstream recover` truncates it",
            path.display(),
            at(start),
            zeros.frames()
        ))));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let range = |s: &str| s.parse::<FrameRange>();
        assert_eq!(
            range("2..5"),
            Ok(FrameRange {
                start: 2,
                end: Some(5)
            })
        );
        assert_eq!(
            range("2..=5"),
            Ok(FrameRange {
                start: 2,
                end: Some(6)
            })
        );
        assert_eq!(
            range("3.."),
            Ok(FrameRange {
                start: 3,
                end: None
            })
        );
        assert_eq!(
            range("..4"),
            Ok(FrameRange {
                start: 0,
                end: Some(4)
            })
        );
        assert_eq!(
            range("7"),
            Ok(FrameRange {
                start: 7,
                end: Some(8)
            })
        );
        assert_eq!(range(".."), Ok(FrameRange::default()));
        assert!(range("5..2").is_err());
        // Empty ranges, exclusive or inclusive, say so.
        for empty in ["3..3", "3..=2", "..0"] {
            assert_eq!(
                range(empty),
                Err(format!("the range `{empty}` holds no frame"))
            );
        }
        assert_eq!(
            range("0..=0"),
            Ok(FrameRange {
                start: 0,
                end: Some(1)
            })
        );
        // The last frame index there is holds a frame, however it is asked.
        let max = u64::MAX;
        for last in [
            format!("{max}"),
            format!("{max}..={max}"),
            format!("{max}.."),
        ] {
            let r = range(&last).expect("the last index");
            assert_eq!(
                r,
                FrameRange {
                    start: max,
                    end: None
                },
                "{last}"
            );
            assert!(r.contains(max) && !r.is_past(max), "{last}");
        }
        assert_eq!(range(&format!("..={max}")), Ok(FrameRange::default()));
        assert!(range("a..b").is_err());
        assert!(range("-1").is_err());
        let r = FrameRange {
            start: 2,
            end: Some(4),
        };
        assert!(!r.contains(1) && r.contains(2) && r.contains(3) && !r.contains(4));
        assert!(r.is_past(4) && !r.is_past(3));
    }
}
