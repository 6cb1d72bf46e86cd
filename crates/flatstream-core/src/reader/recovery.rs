//! Recovery: how far a stream is intact, and how it ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::StreamReader;
use crate::{Deframer, Error, ErrorKind, Position, Result};

/// What [`recover`] found: the intact frames and how the stream ends.
#[derive(Debug)]
#[non_exhaustive]
pub struct Recovery {
    /// Frames read intact from the start of the stream.
    pub frames: u64,
    /// Byte offset just past the last intact frame: the length to keep.
    pub valid_len: u64,
    /// How the stream ends after the intact frames.
    pub tail: Tail,
}

impl Recovery {
    /// Where the next frame goes when appending: [`valid_len`](Self::valid_len)
    /// and [`frames`](Self::frames) as a [`Position`].
    #[must_use]
    pub fn end_position(&self) -> Position {
        Position {
            offset: self.valid_len,
            frame: self.frames,
        }
    }
}

/// How a stream ends, after its intact frames.
#[derive(Debug)]
#[non_exhaustive]
pub enum Tail {
    /// The stream ends at a frame boundary.
    Clean,
    /// The stream ends inside a frame, typically a write cut short by a crash.
    /// Safe to truncate: it holds no complete frame.
    Torn {
        /// Where the incomplete frame starts.
        offset: u64,
        /// Bytes of it that are present.
        len: u64,
    },
    /// Every byte from `offset` to the end is zero: space a file system
    /// allocated before a crash (common on ext4 and XFS) rather than frames.
    /// Safe to truncate. (An all-zero frame is never a FlatBuffer: a
    /// FlatBuffer starts with a non-zero root offset.)
    ZeroFilled {
        /// Where the zeros start (a frame boundary).
        offset: u64,
        /// How many zero bytes follow.
        len: u64,
    },
    /// A frame that cannot be trusted, with bytes other than zeros after it:
    /// a checksum mismatch or a length over the limit. Never truncated
    /// automatically; the error carries the frame's offset and index.
    Corrupt(Error),
}

/// Scans `source` with `deframer` and reports its intact frames and how it ends.
///
/// Unlike plain reading, recovery tells a zero-filled tail apart from a run of
/// empty frames, and reads to the end of input to do so. It never changes the
/// source; see [`recover_file_for_append`] to truncate a damaged tail.
///
/// # Errors
///
/// Only I/O errors of `source` (retrying `Interrupted`); damage is reported
/// in [`Recovery::tail`], not as an error.
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind as K};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
/// # }
/// use flatstream_core::{Tail, recover};
///
/// // Two frames, then a crash left a partial header.
/// let stream: &[u8] = &[1, 0, 0, 0, b'a', 2, 0, 0, 0, b'b', b'c', 9, 0];
/// let recovery = recover(stream, DefaultDeframer)?;
/// assert_eq!((recovery.frames, recovery.valid_len), (2, 11));
/// assert!(matches!(recovery.tail, Tail::Torn { offset: 11, len: 2 }));
///
/// // Two frames, then zeros that the file system left behind.
/// let stream: &[u8] = &[1, 0, 0, 0, b'a', 2, 0, 0, 0, b'b', b'c', 0, 0, 0, 0, 0, 0, 0, 0];
/// let recovery = recover(stream, DefaultDeframer)?;
/// assert!(matches!(recovery.tail, Tail::ZeroFilled { offset: 11, len: 8 }));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub fn recover<R: Read, D: Deframer>(source: R, deframer: D) -> Result<Recovery> {
    StreamReader::new(source, deframer).recover()
}

/// Opens (or creates) the stream file at `path` for appending after a crash.
///
/// The file is recovered with `deframer`. A torn or zero-filled tail is
/// truncated away (and the truncation synced to disk); the file is then
/// positioned at [`Recovery::valid_len`], ready for a `StreamWriter`
/// (start it at [`Recovery::end_position`] to keep error positions absolute).
///
/// # Errors
///
/// I/O errors, and the corruption error (with its offset and frame index)
/// when the tail is [`Tail::Corrupt`]: corruption is never truncated
/// automatically, since the bytes after it may be all that is left of data
/// that matters. Inspect it with [`recover`] and decide.
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind as K};
/// # #[derive(Debug, Clone, Copy)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
/// # }
/// use flatstream_core::{Tail, recover_file_for_append};
/// use std::io::Write;
///
/// let path = std::env::temp_dir().join(format!("flatstream-recover-doc-{}.bin", std::process::id()));
/// std::fs::write(&path, [1, 0, 0, 0, b'a', 7, 0, 0])?; // one frame, then a torn header
///
/// let (mut file, recovery) = recover_file_for_append(&path, DefaultDeframer)?;
/// assert!(matches!(recovery.tail, Tail::Torn { offset: 5, len: 3 }));
/// file.write_all(&[1, 0, 0, 0, b'b'])?;
/// assert_eq!(std::fs::read(&path)?, [1, 0, 0, 0, b'a', 1, 0, 0, 0, b'b']);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn recover_file_for_append<D: Deframer>(
    path: impl AsRef<Path>,
    deframer: D,
) -> Result<(File, Recovery)> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let recovery = recover(&mut file, deframer)?;
    match &recovery.tail {
        Tail::Clean => {}
        Tail::Torn { .. } | Tail::ZeroFilled { .. } => {
            file.set_len(recovery.valid_len)?;
            file.sync_data()?;
        }
        Tail::Corrupt(_) => {
            let Tail::Corrupt(error) = recovery.tail else {
                unreachable!("matched above")
            };
            return Err(error);
        }
    }
    file.seek(SeekFrom::Start(recovery.valid_len))?;
    Ok((file, recovery))
}

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Reads the rest of the stream as [`recover`] does, from the current
    /// position: intact frames are counted (not returned) and the tail
    /// classified. Offsets in the result are absolute stream offsets. The
    /// source is read to its end (or to the first non-zero byte after a
    /// damaged frame), so the reader is spent afterwards.
    ///
    /// # Errors
    ///
    /// Only I/O errors of the source.
    pub fn recover(&mut self) -> Result<Recovery> {
        // The scan state lives in the reader, so that a `WouldBlock` (or any
        // I/O error) can be retried and the scan resumes where it stopped.
        let mut scan = self
            .recovering
            .take()
            .unwrap_or_else(|| RecoverScan::new(self.position()));
        let result = self.recover_with(&mut scan);
        if let Err(error) = &result {
            if error.is_resumable() {
                self.recovering = Some(scan);
            }
        }
        result
    }

    fn recover_with(&mut self, scan: &mut RecoverScan) -> Result<Recovery> {
        // Count the intact frames, noting where the latest run of all-zero
        // frames started: it may turn out to be a zero-filled tail.
        while scan.ending.is_none() {
            let before = self.position();
            match self.next_frame() {
                Ok(Some(frame)) => {
                    if self.buf[frame.start..frame.end].iter().all(|&b| b == 0) {
                        scan.zeros_from.get_or_insert(before);
                    } else {
                        scan.zeros_from = None;
                    }
                    scan.intact = self.position();
                }
                Ok(None) => scan.ending = Some(None),
                Err(rejected) => match rejected.error.kind() {
                    ErrorKind::Io(_) => return Err(rejected.error),
                    _ => scan.ending = Some(Some(rejected.error)),
                },
            }
        }

        // Everything after the intact frames: all zeros (and how many), or not?
        let zeros_to_end = self
            .zero_run_to_end(&mut scan.zeros_read)
            .map_err(|e| Error::from(e).at(self.position()))?;
        let mut intact = scan.intact;
        let ending = scan.ending.take().unwrap_or(None);
        let tail = match (scan.zeros_from, zeros_to_end, ending) {
            // Zero frames, then nothing but zeros: a zero-filled tail, not frames.
            (Some(zeros), Some(rest), _) => {
                let len = self.offset() - zeros.offset + rest;
                intact = zeros;
                Tail::ZeroFilled {
                    offset: zeros.offset,
                    len,
                }
            }
            (_, _, None) => Tail::Clean,
            // A torn or rejected frame made only of zeros, up to the end.
            (None, Some(rest), Some(_)) => Tail::ZeroFilled {
                offset: intact.offset,
                len: rest,
            },
            (_, _, Some(error)) => match error.kind() {
                ErrorKind::UnexpectedEof { available, .. } => Tail::Torn {
                    offset: intact.offset,
                    len: *available,
                },
                _ => Tail::Corrupt(error),
            },
        };
        Ok(Recovery {
            frames: intact.frame,
            valid_len: intact.offset,
            tail,
        })
    }

    /// Reads what is left of the source. Returns how many bytes remain after
    /// the read position (buffered and unread) if all of them are zero, or
    /// `None` at the first non-zero byte. `zeros_read` counts the zero bytes
    /// read past the buffer so far, across calls interrupted by I/O errors.
    fn zero_run_to_end(&mut self, zeros_read: &mut u64) -> io::Result<Option<u64>> {
        if self.buffered().iter().any(|&b| b != 0) {
            return Ok(None);
        }
        let buffered = (self.filled - self.pos) as u64;
        // The buffer past `filled` serves as scratch space.
        if self.buf.len() - self.filled < super::READ_CHUNK {
            self.buf.resize(self.filled + super::READ_CHUNK, 0);
        }
        loop {
            let scratch = &mut self.buf[self.filled..];
            let n = match self.inner.read(scratch) {
                Ok(0) => return Ok(Some(buffered + *zeros_read)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if scratch[..n].iter().any(|&b| b != 0) {
                return Ok(None);
            }
            *zeros_read += n as u64;
        }
    }
}

/// The state of a recovery scan, kept across calls that an I/O error cut short.
#[derive(Debug)]
pub(super) struct RecoverScan {
    /// Where the intact frames end.
    intact: Position,
    /// Where the latest run of all-zero frames started, if the latest frames are zeros.
    zeros_from: Option<Position>,
    /// How the frames ended: `None` while still scanning, then `Some(None)` at
    /// a clean end or `Some(Some(error))`.
    ending: Option<Option<Error>>,
    /// Zero bytes read past the buffer while checking the tail.
    zeros_read: u64,
}

impl RecoverScan {
    fn new(start: Position) -> Self {
        RecoverScan {
            intact: start,
            zeros_from: None,
            ending: None,
            zeros_read: 0,
        }
    }
}
