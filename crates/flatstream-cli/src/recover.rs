//! `flatstream recover`: cut a torn or zero-filled tail in place, or copy
//! every frame that survives corruption to a new file (`--salvage`).
//!
//! In place, the file is first scanned read-only; if its tail is torn or
//! zero-filled, `recover_file_for_append` takes the file's exclusive lock,
//! scans it again and truncates it. Corruption is never truncated in place
//! (the bytes after it may be all that is left of data that matters):
//! salvage copies the good frames instead, keeping the header.

use std::path::Path;

use flatstream::{
    AfterDamage, Deframer, ErrorKind, Framer, RecoverOptions, Recovery, StreamHeader, StreamWriter,
    recover_file_for_append_with,
};

use crate::detect::{Detection, Evidence, detect_file};
use crate::error::{Error, Failure, Result, at, describe_kind, escape, plural};
use crate::framing::{Framing, with_deframer, with_framer};
use crate::input::{self, Input};
use crate::output::Output;
use crate::progress::{self, Progress};
use crate::read::{self, End, MAX_FRAME_LEN, ZeroRun, is_zero_frame};

/// How to run `recover`.
#[derive(Debug, Clone, Default)]
pub struct RecoverArgs {
    /// The framing, or `None` to detect it.
    pub framing: Option<Framing>,
    /// Only report what would be done.
    pub dry_run: bool,
    /// Whether a progress bar may be shown (salvage).
    pub progress: bool,
    /// Replace an existing output file (salvage).
    pub force: bool,
}

/// What an in-place recovery did (or would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecoverReport {
    /// The file, as given.
    pub file: String,
    /// The framing read with.
    pub framing: Framing,
    /// Why that framing.
    pub framing_source: String,
    /// The file's length before.
    pub bytes: u64,
    /// Intact frames kept (header included).
    pub frames: u64,
    /// Bytes kept.
    pub valid_len: u64,
    /// Bytes removed (or that would be removed).
    pub removed: u64,
    /// How the stream ended.
    pub end: End,
    /// Whether nothing was changed on purpose.
    pub dry_run: bool,
}

impl RecoverReport {
    /// Whether any data was (or would be) lost: bytes removed.
    #[must_use]
    pub fn lost_data(&self) -> bool {
        self.removed > 0
    }

    /// The report as text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let kept = format!(
            "{} ({} bytes)",
            plural(self.frames, "frame"),
            self.valid_len
        );
        if self.removed == 0 {
            return format!("{}: clean: {kept}; nothing to do\n", escape(&self.file));
        }
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        format!(
            "{}: {}: kept {kept}; {verb} {} bytes from byte offset {}\n",
            escape(&self.file),
            self.end.describe(),
            self.removed,
            self.valid_len
        )
    }
}

/// Detects (or takes) the framing of `input`; with a forced framing, also
/// the detected one when it disagrees.
fn framing_of(
    input: &mut Input,
    forced: Option<Framing>,
) -> Result<(Detection, Option<Detection>)> {
    let detected = detect_file(&mut input.file, input.len)
        .map_err(|error| Error::io(&input.path, "cannot read", &error))?;
    let Some(framing) = forced else {
        return Ok((detected, None));
    };
    // The user's choice stands; detection that disagrees is only kept to
    // make sure a truncation under the forced framing does not cut frames
    // that read intact under the detected one.
    let disagrees =
        (framing != detected.framing && detected.evidence != Evidence::Empty).then_some(detected);
    Ok((Detection::forced(framing), disagrees))
}

/// Truncates a torn or zero-filled tail of the stream file `path` in place
/// (or, with `dry_run`, says what would be cut).
///
/// # Errors
///
/// Corruption, which is never truncated in place, or a file from whose
/// start no frame reads (exit code 1: nothing is changed); a file that
/// cannot be read, written or locked (exit code 2).
pub fn recover_in_place(path: &Path, args: &RecoverArgs) -> Result<RecoverReport> {
    let mut input = input::open(path)?;
    let (detection, disagreeing) = framing_of(&mut input, args.framing)?;
    let framing = detection.framing;
    let not_a_stream = |what: &str| {
        Error::damaged(format!(
            "{}: not a FlatStream stream ({} framing, {}): {what}; refusing to truncate it to 0 bytes",
            path.display(),
            framing,
            detection.describe()
        ))
    };
    if let Some(declared) = read::plain_start_impossible(&mut input, framing)? {
        return Err(not_a_stream(&format!(
            "no frame reads from byte offset 0 (the first frame's length {declared} runs past the end of the file)"
        )));
    }
    let (recovery, end) =
        with_deframer!(framing, |deframer| read::recover_scan(&mut input, deframer))?;
    let report = |recovery: &Recovery, end: End, bytes: u64, dry_run: bool| RecoverReport {
        file: path.display().to_string(),
        framing,
        framing_source: detection.describe(),
        bytes,
        frames: recovery.frames,
        valid_len: recovery.valid_len,
        removed: bytes.saturating_sub(recovery.valid_len),
        end,
        dry_run,
    };
    match &end {
        End::Clean | End::EmptyOrZeroFilled { .. } => {
            return Ok(report(&recovery, end, recovery.valid_len, args.dry_run));
        }
        End::Corrupt { .. } => return Err(refuse_corruption(path, &end)),
        End::Torn { .. } if recovery.frames == 0 => {
            return Err(not_a_stream("no frame reads from byte offset 0"));
        }
        End::ZeroFilled { .. } if recovery.frames == 0 => {
            return Err(not_a_stream(&format!(
                "no frame is intact: {}",
                end.describe()
            )));
        }
        End::Torn { .. } | End::ZeroFilled { .. } => {}
    }
    if let Some(detected) = disagreeing {
        let (theirs, _) = with_deframer!(detected.framing, |deframer| read::recover_scan(
            &mut input, deframer
        ))?;
        if theirs.valid_len > recovery.valid_len {
            return Err(Error::usage(format!(
                "{}: --framing {framing} disagrees with the stream ({}, {}): it would cut bytes from byte offset {} that read as intact {} frames up to byte offset {}; refusing to change it",
                path.display(),
                detected.framing,
                detected.describe(),
                recovery.valid_len,
                detected.framing,
                theirs.valid_len,
            )));
        }
    }
    if args.dry_run {
        return Ok(report(&recovery, end, input.len, true));
    }
    let bytes = input.len;
    drop(input);
    let options = RecoverOptions::new().with_max_frame_len(MAX_FRAME_LEN);
    let result = with_deframer!(framing, |deframer| {
        recover_file_for_append_with(path, deframer, options)
    });
    match result {
        Ok((file, recovery)) => {
            drop(file);
            let end = End::from_recovery(&recovery);
            Ok(report(&recovery, end, bytes, false))
        }
        Err(error) => Err(match error.kind() {
            ErrorKind::Locked => Error::new(
                Failure::Io,
                format!(
                    "{}: locked by another writer or recoverer; nothing changed",
                    path.display()
                ),
            ),
            ErrorKind::NotRegularFile { file_type } => Error::usage(format!(
                "{}: is a {file_type}, not a stream file",
                path.display()
            )),
            ErrorKind::Io(io) => Error::io(path, "cannot recover", io),
            _ if std::fs::metadata(path).is_ok_and(|now| now.len() != bytes) => {
                Error::stream(path, &error)
                    .with_hint("the file changed since it was scanned; nothing was truncated")
            }
            // The same bytes: the library's recovery, which judges the
            // whole file at the writer's frame limit, disagrees with the
            // scan. Its verdict stands.
            _ => Error::stream(path, &error).with_hint(
                "recovery refuses to truncate here although the scan took it for a tail; nothing was truncated; `flatstream recover --salvage -o OUT` copies every good frame",
            ),
        }),
    }
}

/// The refusal for corruption in place.
fn refuse_corruption(path: &Path, end: &End) -> Error {
    Error::damaged(format!(
        "{}: {}; corruption is not truncated in place: `flatstream recover --salvage -o OUT {}` copies every good frame",
        path.display(),
        end.describe(),
        path.display()
    ))
}

/// One damaged region salvage skipped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lost {
    /// Where it starts.
    pub offset: u64,
    /// The frame index there.
    pub frame: u64,
    /// Its length in bytes, when known.
    pub len: Option<u64>,
    /// What was wrong.
    pub what: String,
}

/// What salvage kept and lost.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SalvageReport {
    /// The file, as given.
    pub file: String,
    /// The output file, unless a dry run.
    pub output: Option<String>,
    /// The framing read and written with.
    pub framing: Framing,
    /// Why that framing.
    pub framing_source: String,
    /// The input's length.
    pub bytes: u64,
    /// Frames kept, header included.
    pub frames: u64,
    /// Whether the header was kept.
    pub header: bool,
    /// Bytes of the frames kept.
    pub kept_bytes: u64,
    /// The damaged regions skipped.
    pub lost: Vec<Lost>,
    /// Zero frames dropped at the end (zero fill).
    pub zero_frames_dropped: u64,
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
}

impl SalvageReport {
    /// Whether any data was lost.
    #[must_use]
    pub fn lost_data(&self) -> bool {
        !self.lost.is_empty() || self.zero_frames_dropped > 0
    }

    /// The report as text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let target = match (&self.output, self.dry_run) {
            (Some(output), false) => format!(" -> {}", escape(output)),
            _ => " (dry run)".to_owned(),
        };
        let verb = if self.dry_run { "would keep" } else { "kept" };
        let header = if self.header { ", header included" } else { "" };
        let mut out = format!(
            "{}{target}: {verb} {} frames ({} bytes{header})",
            escape(&self.file),
            self.frames,
            self.kept_bytes
        );
        if self.lost_data() {
            let regions = self.lost.len();
            out.push_str(&format!(
                "; lost {regions} damaged region{}",
                if regions == 1 { "" } else { "s" }
            ));
            if self.zero_frames_dropped > 0 {
                out.push_str(&format!(
                    " and {} zero frames of zero fill",
                    self.zero_frames_dropped
                ));
            }
            out.push('\n');
            for lost in &self.lost {
                let len = lost
                    .len
                    .map_or(String::new(), |len| format!(", {len} bytes"));
                out.push_str(&format!(
                    "  {}{len}: {}\n",
                    at(flatstream::Position {
                        offset: lost.offset,
                        frame: lost.frame
                    }),
                    lost.what
                ));
            }
        } else {
            out.push_str("; nothing lost\n");
        }
        out
    }
}

/// Copies every frame of the stream file `path` that survives damage to
/// `output` (with the same framing, header kept); with `dry_run` (and no
/// output) only reports what would be kept.
///
/// # Errors
///
/// Files that cannot be read or written, an existing output without
/// `force`, or no output and no dry run (exit code 2).
pub fn salvage(path: &Path, output: Option<&Path>, args: &RecoverArgs) -> Result<SalvageReport> {
    let mut input = input::open(path)?;
    let (detection, _) = framing_of(&mut input, args.framing)?;
    let framing = detection.framing;
    let mut sink = match (output, args.dry_run) {
        (_, true) => None,
        (Some(output), false) => Some(Output::create(output, path, args.force)?),
        (None, false) => {
            return Err(Error::usage(
                "--salvage needs an output file: -o OUT (or --dry-run)",
            ));
        }
    };
    let progress = Progress::bytes(args.progress, input.len, "salvaging");
    let mut report = SalvageReport {
        file: path.display().to_string(),
        output: output.map(|p| p.display().to_string()),
        framing,
        framing_source: detection.describe(),
        bytes: input.len,
        frames: 0,
        header: false,
        kept_bytes: 0,
        lost: Vec::new(),
        zero_frames_dropped: 0,
        dry_run: args.dry_run,
    };
    if let Some(declared) = read::plain_start_impossible(&mut input, framing)? {
        // No frame reads from the start, and without checksums nothing
        // after it can be told from garbage: nothing to keep.
        report.lost.push(Lost {
            offset: 0,
            frame: 0,
            len: Some(input.len),
            what: format!(
                "the first frame's length {declared} runs past the end of the file: not a FlatStream stream, or its first length is damaged"
            ),
        });
        if let Some(sink) = sink {
            sink.commit()?;
        }
        return Ok(report);
    }
    let written = with_deframer!(framing, |deframer| {
        with_framer!(framing, |framer| {
            copy(
                &mut input,
                deframer,
                framer,
                framing,
                sink.as_mut(),
                &progress,
                &mut report,
            )
        })
    });
    progress.finish();
    written?;
    if let Some(sink) = sink {
        sink.commit()?;
    }
    Ok(report)
}

/// Reads `input` in salvage mode, writing each good frame to `sink`.
fn copy<D: Deframer, F: Framer>(
    input: &mut Input,
    deframer: D,
    framer: F,
    framing: Framing,
    sink: Option<&mut Output>,
    progress: &Progress,
    report: &mut SalvageReport,
) -> Result<()> {
    let path = input.path.clone();
    let mut reader = read::reader(&mut input.file, deframer, AfterDamage::Resync, input.len);
    let mut copier = Copier {
        writer: sink.map(|sink| {
            StreamWriter::new(sink, framer)
                .with_max_frame_len(MAX_FRAME_LEN)
                .allow_empty_payloads(true)
        }),
        header_len: framing.header_len() as u64,
        zeros: ZeroRun::default(),
    };
    // The position of the latest error with no frame read since: an error
    // there again would repeat forever.
    let mut stuck_at = None;
    match reader.header() {
        Ok(Some(header)) => {
            let header: StreamHeader = header.clone();
            if let Some(writer) = copier.writer.as_mut() {
                writer.write_header(&header).map_err(|e| write_error(&e))?;
            }
            report.header = true;
            report.frames += 1;
            report.kept_bytes = reader.position().offset;
        }
        Ok(None) => {}
        Err(error) => {
            if !lost(report, &error, &path)? {
                return copier.finish();
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
                    copier.zeros.push(before, payload.len());
                    continue;
                }
                copier.drop_zeros(report, before.offset);
                copier.write(payload, report)?;
                if report.frames.is_multiple_of(progress::EVERY_FRAMES) {
                    progress.set(before.offset);
                }
            }
            Ok(None) => break,
            Err(error) => {
                if stuck_at == Some(reader.position()) {
                    break;
                }
                // Zero frames before damage are damage too, not a tail.
                let at = error.position().map_or(before.offset, |p| p.offset);
                copier.drop_zeros(report, at);
                if !lost(report, &error, &path)? {
                    break;
                }
                stuck_at = Some(reader.position());
            }
        }
    }
    report.zero_frames_dropped = copier.zeros.frames();
    copier.finish()
}

/// Writes what salvage keeps.
struct Copier<'o, F> {
    writer: Option<StreamWriter<&'o mut Output, F>>,
    header_len: u64,
    /// Zero frames held back: frames if a real frame follows, fill if not.
    zeros: ZeroRun,
}

impl<F: Framer> Copier<'_, F> {
    fn write(&mut self, payload: &[u8], report: &mut SalvageReport) -> Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            writer.write_payload(payload).map_err(|e| write_error(&e))?;
        }
        report.frames += 1;
        report.kept_bytes += self.header_len + payload.len() as u64;
        Ok(())
    }

    /// Drops the zero frames held back, more data following them at
    /// `next`: they are a damaged region, not frames.
    fn drop_zeros(&mut self, report: &mut SalvageReport, next: u64) {
        let Some(start) = self.zeros.start() else {
            return;
        };
        report.lost.push(Lost {
            offset: start.offset,
            frame: start.frame,
            len: Some(next.saturating_sub(start.offset)),
            what: self.zeros.describe_inside(next),
        });
        self.zeros.take();
    }

    fn finish(self) -> Result<()> {
        if let Some(mut writer) = self.writer {
            writer.flush().map_err(|e| write_error(&e))?;
        }
        Ok(())
    }
}

/// An error writing the output.
fn write_error(error: &flatstream::Error) -> Error {
    Error::new(
        Failure::Io,
        format!(
            "cannot write the output: {}",
            crate::error::describe_stream(error)
        ),
    )
}

/// Records a region salvage skipped; returns whether reading goes on.
fn lost(report: &mut SalvageReport, error: &flatstream::Error, path: &Path) -> Result<bool> {
    let at = error.position().unwrap_or(flatstream::Position {
        offset: 0,
        frame: report.frames,
    });
    let (len, what, go_on) = match error.kind() {
        ErrorKind::Io(io) => return Err(Error::io(path, "cannot read", io)),
        ErrorKind::CorruptRegion {
            len,
            frames_lost,
            cause,
        } => {
            let lost = match frames_lost {
                Some(1) => "; 1 frame lost".to_owned(),
                Some(n) => format!("; {n} frames lost"),
                None => String::new(),
            };
            (Some(*len), format!("{}{lost}", describe_kind(cause)), true)
        }
        ErrorKind::UnexpectedEof { available, .. } => {
            (Some(*available), describe_kind(error.kind()), false)
        }
        other => (None, describe_kind(other), error.is_resumable()),
    };
    report.lost.push(Lost {
        offset: at.offset,
        frame: at.frame,
        len,
        what,
    });
    Ok(go_on)
}
