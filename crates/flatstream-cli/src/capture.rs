//! What `cat`, `index` and `info` share about capture directories (see
//! `flatstream-capture`): listing segments while a writer may be rotating
//! them, finding the framing and the header of a capture, and the capture
//! crate's errors in the command line's words.
//!
//! A capture directory holds segment files named
//! `{sequence:012}-{UTC start}.fstream` (`.open` appended while written),
//! each a standalone stream whose frame 0 is a header saying the
//! capture-wide number of its first message.

use core::time::Duration;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use flatstream::{StreamHeader, wire};
use flatstream_capture::segment::{self, LOCK_FILE, Segment};

use crate::detect::{Detection, Evidence, detect_file};
use crate::error::{Error, Result, describe_stream, shown};
use crate::framing::Framing;
use crate::input;
use crate::read;
use crate::signals::Interrupt;

/// How often a command waiting for a capture's first frame looks again.
const WAIT_STEP: Duration = Duration::from_millis(20);

/// The segments of the capture directory `dir`, by sequence number, as
/// [`segment::list_live`] lists a directory being written.
///
/// # Errors
///
/// The directory cannot be listed (exit code 2).
pub fn segments(dir: &Path) -> Result<Vec<Segment>> {
    segment::list_live(dir).map_err(|error| capture_error(&error))
}

/// Refuses a directory that holds no capture: no segment file and no
/// `capture.lock` (a writer creates the lock when it opens a capture, and
/// its first segment only with the first message).
///
/// # Errors
///
/// A usage error (exit code 2) naming the directory; or it cannot be
/// listed.
pub fn ensure_capture(dir: &Path) -> Result<()> {
    if !segments(dir)?.is_empty() || dir.join(LOCK_FILE).exists() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{}: is a directory, not a stream file, and holds no capture (no segment files, no {LOCK_FILE})",
        shown(dir)
    )))
}

/// The path of a segment as it is now: its closed name once it was renamed
/// (the name it was listed under may be gone).
#[must_use]
pub fn current_path(segment: &Segment) -> PathBuf {
    if segment.open && !segment.path.exists() {
        segment.closed_path()
    } else {
        segment.path.clone()
    }
}

/// The framing and header of a capture directory or stream file, read from
/// its first file.
#[derive(Debug)]
pub struct Source {
    /// The file they were read from (a directory's first segment).
    pub first: PathBuf,
    /// The framing and why.
    pub detection: Detection,
    /// The header of that file, if its first frame is one.
    pub header: Option<StreamHeader>,
}

impl Source {
    /// The framing.
    #[must_use]
    pub fn framing(&self) -> Framing {
        self.detection.framing
    }
}

/// The framing (`forced`, or detected) and the header of the capture
/// directory or stream file `path`, from its first file; `None` for a
/// directory without a segment.
///
/// With `wait` (following), it waits until the first file holds a complete
/// first frame (a directory may have no segment yet, a segment no header
/// yet); `None` when `wait` is triggered first.
///
/// # Errors
///
/// A file that cannot be opened or read, or that is not a regular file
/// (exit code 2).
pub fn source(
    path: &Path,
    forced: Option<Framing>,
    wait: Option<&Interrupt>,
) -> Result<Option<Source>> {
    loop {
        let found = try_source(path, forced, wait.is_some())?;
        let Some(interrupt) = wait else {
            return Ok(found);
        };
        if found.is_some() {
            return Ok(found);
        }
        if interrupt.sleep(WAIT_STEP) {
            return Ok(None);
        }
    }
}

/// Times a first segment may vanish between listing and opening (renamed
/// when closed, or deleted by retention) before that is an error.
const OPEN_ATTEMPTS: u32 = 3;

/// One attempt of [`source`]; `None` when there is nothing (ready, if
/// `wait`) to read yet.
fn try_source(path: &Path, forced: Option<Framing>, wait: bool) -> Result<Option<Source>> {
    let mut attempts = 0;
    let (first, mut input) = loop {
        let first = if path.is_dir() {
            let Some(segment) = segments(path)?.into_iter().next() else {
                return Ok(None);
            };
            current_path(&segment)
        } else {
            path.to_owned()
        };
        match input::open(&first) {
            Ok(input) => break (first, input),
            Err(_) if first != path && !first.exists() && attempts < OPEN_ATTEMPTS => {
                attempts += 1;
            }
            Err(error) => return Err(error),
        }
    };
    let detection = match forced {
        Some(framing) => Detection::forced(framing),
        None => detect_file(&mut input.file, input.len)
            .map_err(|error| Error::io(&first, "cannot read", &error))?,
    };
    if wait && !first_frame_complete(&mut input, &detection)? {
        return Ok(None);
    }
    let header = read::read_header(&mut input, detection.framing)?;
    Ok(Some(Source {
        first,
        detection,
        header,
    }))
}

/// Whether the first frame of `input` is all there under `detection`'s
/// framing: only then are the framing and the header known. Detected
/// without a checksum verifying (plain), it takes room for the longest
/// frame header more: a checksummed first frame still being written reads
/// as a plain one a few bytes early.
fn first_frame_complete(input: &mut input::Input, detection: &Detection) -> Result<bool> {
    if detection.evidence == Evidence::Empty {
        return Ok(false);
    }
    let path = input.path.clone();
    let io = |error: std::io::Error| Error::io(&path, "cannot read", &error);
    let mut prefix = [0u8; wire::LENGTH_PREFIX_LEN];
    input.file.seek(SeekFrom::Start(0)).map_err(io)?;
    let read = input.file.read_exact(&mut prefix);
    input.file.seek(SeekFrom::Start(0)).map_err(io)?;
    if read.is_err() {
        return Ok(false);
    }
    let mut needed = detection.framing.header_len() as u64 + u64::from(u32::from_le_bytes(prefix));
    if detection.evidence == Evidence::NoChecksum {
        needed += wire::MAX_HEADER_LEN as u64;
    }
    Ok(input.len >= needed)
}

/// A capture crate error as the command line reports it: damage (exit
/// code 1) naming the file, byte offset and frame; an I/O error (exit code
/// 2) naming the file.
#[must_use]
pub fn capture_error(error: &flatstream_capture::Error) -> Error {
    use flatstream_capture::Error as E;
    match error {
        E::Stream {
            path: Some(path),
            source,
        } => Error::stream(path, source),
        E::Stream { path: None, source } => Error::damaged(describe_stream(source)),
        E::Io { path, source } => Error::io(path, "cannot read", source),
        E::Invalid { path, reason } => {
            Error::damaged(format!("{}: {}", shown(path), crate::error::escape(reason)))
        }
        E::MessagesLost { .. } => Error::damaged(error.to_string()),
        E::SegmentsGone { first, last } => Error::damaged(format!(
            "segments {first} to {last} were deleted (by retention, or by hand) before they were read: their messages are lost to this reader"
        )),
        other => Error::new(crate::Failure::Io, other.to_string()),
    }
}
