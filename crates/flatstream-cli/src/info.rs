//! `flatstream info`: what a stream holds and how it ends.
//!
//! One read pass counts the intact frames (sizes, identifiers, the header)
//! and stops at the first damage. A clean stream is then done: the pass has
//! read every byte once, at the library's read rate. Only when the pass
//! stopped early or saw zero frames does the library's `recover` classify
//! the end (torn, zero-filled, corrupt), and recovery is the authority on
//! which frames are intact.

use core::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use flatstream::{AfterDamage, Deframer, ErrorKind, StreamHeader};

use crate::detect::{Detection, Evidence, detect_file};
use crate::error::{Error, Result, escape, plural};
use crate::framing::{Framing, with_deframer};
use crate::input::{self, Input};
use crate::progress::{self, Progress};
use crate::read::{self, End, HeaderSummary, ZeroRun, is_zero_frame};
use crate::stats::{IdentifierCount, Identifiers, SizeStats, Summary};

/// How to run `info`.
#[derive(Debug, Clone, Default)]
pub struct InfoOptions {
    /// The framing, or `None` to detect it.
    pub framing: Option<Framing>,
    /// Whether a progress bar may be shown (on a terminal, for big files).
    pub progress: bool,
}

/// What `info` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Info {
    /// The file, as given.
    pub file: String,
    /// The framing read with.
    pub framing: Framing,
    /// Why that framing.
    pub framing_source: String,
    /// The file's length.
    pub bytes: u64,
    /// Intact frames from the start, the header included.
    pub frames: u64,
    /// Intact payload frames (the header excluded).
    pub messages: u64,
    /// Bytes of the intact frames (where an appended frame would go).
    pub valid_len: u64,
    /// Bytes of the messages' payloads.
    pub payload_bytes: u64,
    /// Payload sizes, if there is a message.
    pub payload_sizes: Option<Summary>,
    /// File identifiers seen at bytes 4..8 of the payloads, most frequent
    /// first.
    pub identifiers: Vec<IdentifierCount>,
    /// Payloads without an identifier there.
    pub without_identifier: u64,
    /// The stream's header, if it has one.
    pub header: Option<HeaderSummary>,
    /// How the stream ends.
    pub end: End,
}

/// What one counting pass saw.
#[derive(Debug, Default)]
struct Counted {
    header: Option<StreamHeader>,
    sizes: SizeStats,
    ids: Identifiers,
    messages: u64,
    /// Frames counted, header included (zero frames of `pending` not).
    frames: u64,
    /// Zero frames not counted yet.
    pending: ZeroRun,
    /// Whether the pass stopped at damage.
    damaged: bool,
    /// Zero frames followed by more data, where the pass stopped: where
    /// they start, what they are, and where the data after them starts.
    zero_gap: Option<(flatstream::Position, String, u64)>,
}

impl Counted {
    /// Counts the zero frames of `pending` as messages.
    fn count_pending(&mut self) {
        for (len, n) in self.pending.take() {
            for _ in 0..n {
                self.sizes.add(len);
                self.ids.add(&[]);
                self.messages += 1;
                self.frames += 1;
            }
        }
    }
}

/// Reads the intact frames of `source`, counting them, until the end or
/// the first damage.
fn count<R: Read, D: Deframer>(
    source: R,
    deframer: D,
    framing: Framing,
    file_len: u64,
    path: &Path,
    progress: &Progress,
) -> Result<Counted> {
    let mut reader = read::reader(source, deframer, AfterDamage::Stop, file_len);
    let mut counted = Counted::default();
    let io_error = |error: &flatstream::Error| match error.kind() {
        ErrorKind::Io(io) => Some(Error::io(path, "cannot read", io)),
        _ => None,
    };
    match reader.header() {
        Ok(header) => counted.header = header.cloned(),
        Err(error) => {
            if let Some(error) = io_error(&error) {
                return Err(error);
            }
            counted.damaged = true;
            return Ok(counted);
        }
    }
    if counted.header.is_some() {
        counted.frames = 1;
    }
    loop {
        let before = reader.position();
        match reader.read_message() {
            Ok(Some(payload)) => {
                if is_zero_frame(framing, payload) {
                    counted.pending.push(before, payload.len());
                    continue;
                }
                if let Some(start) = counted.pending.start() {
                    // Zero frames followed by more data are damage.
                    let what = counted.pending.describe_inside(before.offset);
                    counted.pending.take();
                    counted.zero_gap = Some((start, what, before.offset));
                    counted.damaged = true;
                    break;
                }
                counted.sizes.add(payload.len());
                counted.ids.add(payload);
                counted.messages += 1;
                counted.frames += 1;
                if counted.frames.is_multiple_of(progress::EVERY_FRAMES) {
                    progress.set(before.offset);
                }
            }
            Ok(None) => break,
            Err(error) => {
                if let Some(error) = io_error(&error) {
                    return Err(error);
                }
                if let Some(start) = counted.pending.start() {
                    let at = error.position().map_or(before.offset, |p| p.offset);
                    let what = counted.pending.describe_inside(at);
                    counted.pending.take();
                    counted.zero_gap = Some((start, what, at));
                }
                counted.damaged = true;
                break;
            }
        }
    }
    Ok(counted)
}

/// Runs `info` on the stream file `path`.
///
/// # Errors
///
/// A file that cannot be opened or read (exit code 2), or one that is not
/// a stream at all: no frame reads from its start (exit code 1).
pub fn info(path: &Path, options: &InfoOptions) -> Result<Info> {
    let mut input = input::open(path)?;
    let detection = match options.framing {
        Some(framing) => Detection::forced(framing),
        None => detect_file(&mut input.file, input.len)
            .map_err(|error| Error::io(path, "cannot read", &error))?,
    };
    let framing = detection.framing;
    if read::plain_start_impossible(&mut input, framing)?.is_some() {
        let end = End::Torn {
            offset: 0,
            len: input.len,
        };
        return Err(not_a_stream(&mut input, &detection, &end));
    }
    let progress = Progress::bytes(options.progress, input.len, "reading");
    let (counted, end, valid_len) = with_deframer!(framing, |deframer| inspect(
        &mut input, deframer, framing, &progress
    ))?;
    progress.finish();

    if counted.frames == 0 && input.len > 0 {
        let torn_or_corrupt = match &end {
            End::Torn { .. } | End::ZeroFilled { .. } => true,
            End::Corrupt { good_after, .. } => good_after.is_none(),
            _ => false,
        };
        if torn_or_corrupt {
            return Err(not_a_stream(&mut input, &detection, &end));
        }
    }

    Ok(Info {
        file: path.display().to_string(),
        framing,
        framing_source: detection.describe(),
        bytes: input.len,
        frames: counted.frames,
        messages: counted.messages,
        valid_len,
        payload_bytes: counted.sizes.total(),
        payload_sizes: counted.sizes.summary(),
        identifiers: counted.ids.counts(),
        without_identifier: counted.ids.without(),
        header: counted.header.as_ref().map(HeaderSummary::of),
        end,
    })
}

/// The counting pass, then recovery when the pass did not end cleanly.
fn inspect<D: Deframer + Copy>(
    input: &mut Input,
    deframer: D,
    framing: Framing,
    progress: &Progress,
) -> Result<(Counted, End, u64)> {
    let path = input.path.clone();
    let mut counted = count(
        &mut input.file,
        deframer,
        framing,
        input.len,
        &path,
        progress,
    )?;
    if !counted.damaged && counted.pending.frames() == 0 {
        let valid_len = input.len;
        return Ok((counted, End::Clean, valid_len));
    }
    if let Some((start, what, next)) = counted.zero_gap.take() {
        let end = End::Corrupt {
            offset: Some(start.offset),
            frame: Some(start.frame),
            error: what,
            good_after: Some(next),
            salvage: None,
            damaged_length: false,
            undecided: false,
        };
        return Ok((counted, end, start.offset));
    }
    // Recovery decides what is intact and how the stream ends.
    let (recovery, end) = read::recover_scan(input, deframer)?;
    let with_pending = counted.frames + counted.pending.frames();
    if recovery.frames == with_pending {
        counted.count_pending();
    } else if recovery.frames != counted.frames {
        // The intact frames are not those the pass counted (a damaged
        // length without a checksum): count exactly those.
        rewind(&mut input.file, &path)?;
        let source = (&mut input.file).take(recovery.valid_len);
        counted = count(
            source,
            deframer,
            framing,
            input.len,
            &path,
            &Progress::none(),
        )?;
        counted.count_pending();
    }
    Ok((counted, end, recovery.valid_len))
}

fn rewind(file: &mut File, path: &Path) -> Result<()> {
    file.seek(SeekFrom::Start(0))
        .map(drop)
        .map_err(|error| Error::io(path, "cannot read", &error))
}

/// The error for a file from whose start no frame reads: it is not a
/// stream of this framing (or only a torn first frame).
pub(crate) fn not_a_stream(input: &mut Input, detection: &Detection, end: &End) -> Error {
    let path = &input.path;
    let mut message = format!(
        "{}: not a FlatStream stream ({} framing, {}): ",
        path.display(),
        detection.framing,
        detection.describe()
    );
    match end {
        End::Torn { len, .. } => {
            let declared =
                first_length(input).map_or(String::new(), |len| format!(" ({len} bytes)"));
            let _ = write!(
                message,
                "byte offset 0 (frame 0): the first frame's length{declared} runs past the end of the file ({len} bytes)"
            );
        }
        other => message.push_str(&other.describe()),
    }
    let error = Error::damaged(message);
    match framing_hint(input, detection) {
        Some(hint) if detection.is_forced() => error.with_hint(&hint),
        _ => error,
    }
}

/// The first frame's declared length.
fn first_length(input: &mut Input) -> Option<u32> {
    let mut prefix = [0u8; 4];
    input.file.seek(SeekFrom::Start(0)).ok()?;
    input.file.read_exact(&mut prefix).ok()?;
    Some(u32::from_le_bytes(prefix))
}

/// The hint for damage at frame 0: a forced framing that detection
/// disagrees with, or a file in which no checksum verified anything.
pub(crate) fn framing_hint(input: &mut Input, detection: &Detection) -> Option<String> {
    if detection.evidence == Evidence::NoChecksum {
        return Some("not a FlatStream stream, or its first frame is damaged".to_owned());
    }
    if !detection.is_forced() {
        return None;
    }
    let detected = detect_file(&mut input.file, input.len).ok()?;
    (detected.framing != detection.framing).then(|| {
        format!(
            "is --framing right? the framing detected is {}",
            detected.framing
        )
    })
}

impl Info {
    /// The report as text, one `name: value` line per item.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |name: &str, value: &str| {
            let _ = writeln!(out, "{:<12} {value}", format!("{name}:"));
        };
        line("file", &crate::error::escape(&self.file));
        line(
            "framing",
            &format!("{} ({})", self.framing, self.framing_source),
        );
        line("size", &format!("{} bytes", self.bytes));
        let frames = match (&self.header, self.messages) {
            (Some(_), n) => format!("{} (a header and {})", self.frames, plural(n, "message")),
            (None, _) => self.frames.to_string(),
        };
        line("frames", &frames);
        line(
            "payloads",
            &match self.payload_sizes {
                Some(s) => format!(
                    "{} bytes; sizes min {}, median {}, p99 {}, max {}",
                    self.payload_bytes, s.min, s.median, s.p99, s.max
                ),
                None => "none".to_owned(),
            },
        );
        let mut ids: Vec<String> = self
            .identifiers
            .iter()
            .map(|id| format!("{} ({})", id.identifier, id.count))
            .collect();
        if self.without_identifier > 0 {
            ids.push(format!("none ({})", self.without_identifier));
        }
        line(
            "identifiers",
            &if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            },
        );
        match &self.header {
            Some(header) => {
                line("header", &header.describe());
                for entry in &header.metadata {
                    line(
                        "metadata",
                        &format!("{} = {}", escape(&entry.key), escape(&entry.value)),
                    );
                }
            }
            None => line("header", "none"),
        }
        if self.valid_len != self.bytes {
            line("intact", &format!("{} bytes", self.valid_len));
        }
        line("end", &self.end.describe());
        out
    }
}
