//! Recovery over `std::io`: the recovery scan driven by a `StreamReader`,
//! and recovering a file for appending under an exclusive lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::StreamReader;
use crate::recovery::{RecoverScan, Scan};
use crate::{Deframer, Error, ErrorKind, Position, RecoverOptions, Recovery, Result, Tail};

/// Scans `source` with `deframer` and reports its intact frames, how it
/// ends, and what salvage would save after damage; see [`Tail`] for the
/// rules.
///
/// Unlike plain reading, recovery tells zero fill apart from frames, looks
/// past a frame that runs beyond the end to see whether good frames follow
/// (then it is corruption, not a torn tail), and reads to the end of input
/// to do so. It never changes the source; see [`recover_file_for_append`]
/// to truncate a damaged tail. The frame limit is the format's largest
/// frame, so every frame a writer was allowed to write is recoverable; use
/// [`recover_with`] to change it.
///
/// Memory: frames are read through one buffer as by any reader; from a
/// damaged frame on, the bytes up to the next good frame (or the end) are
/// held while they are searched; without a checksum, the 16 intact frames
/// before the latest one (and any zero frames among them) are held too, at
/// most 1 MiB before it, where recovery may look back for good frames. For a huge file, a memory map
/// ([`recover_slice`](crate::recover_slice)) copies nothing.
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
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
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
///
/// // A damaged length that runs past the end, with a good frame after it:
/// // corruption, not a torn tail; nothing may be cut.
/// let stream: &[u8] = &[1, 0, 0, 0, b'a', 2, 0, 1, 0, b'b', b'c', 1, 0, 0, 0, b'd', 1, 0, 0, 0, b'e'];
/// let recovery = recover(stream, DefaultDeframer)?;
/// assert!(matches!(recovery.tail, Tail::Corrupt(_)));
/// assert_eq!((recovery.valid_len, recovery.good_after), (5, Some(11)));
/// assert_eq!(recovery.salvage.map(|s| s.frames), Some(2));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub fn recover<R: Read, D: Deframer>(source: R, deframer: D) -> Result<Recovery> {
    recover_with(source, deframer, RecoverOptions::default())
}

/// [`recover`] with options: a frame limit, and whether the writer was
/// allowed to write empty payloads.
///
/// # Errors
///
/// As [`recover`].
pub fn recover_with<R: Read, D: Deframer>(
    source: R,
    deframer: D,
    options: RecoverOptions,
) -> Result<Recovery> {
    StreamReader::new(source, deframer)
        .with_max_frame_len(options.max_frame_len)
        .recover_with(options)
}

/// Opens the stream file at `path` for appending after a crash, holding an
/// exclusive lock on it.
///
/// The file (created if missing) is locked with an exclusive advisory lock
/// (`File::try_lock`: `flock` on Unix, `LockFileEx` on Windows), then
/// recovered with `deframer`. A torn or zero-filled tail is truncated away
/// (and the truncation synced to disk); the file is then positioned at
/// [`Recovery::valid_len`], ready for a `StreamWriter` (start it at
/// [`Recovery::end_position`] to keep error positions absolute). The lock
/// is held as long as the returned `File` lives, so a second recoverer, or
/// any writer that takes the same lock, is refused instead of truncating
/// under a live writer.
///
/// # Errors
///
/// - [`ErrorKind::Locked`] when another handle or process holds the lock;
/// - [`ErrorKind::NotRegularFile`] for a FIFO, a device, a directory: they
///   are refused before they are opened, so they cannot hang the call;
/// - the corruption error (with its offset and frame index) when the tail is
///   [`Tail::Corrupt`]: corruption is never truncated automatically, since
///   the bytes after it may be all that is left of data that matters.
///   Inspect it with [`recover`] and decide;
/// - I/O errors.
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind as K};
/// # #[derive(Debug, Clone, Copy)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
/// use flatstream_core::{ErrorKind, Tail, recover_file_for_append};
/// use std::io::Write;
///
/// let path = std::env::temp_dir().join(format!("flatstream-recover-doc-{}.bin", std::process::id()));
/// std::fs::write(&path, [1, 0, 0, 0, b'a', 7, 0, 0])?; // one frame, then a torn header
///
/// let (mut file, recovery) = recover_file_for_append(&path, DefaultDeframer)?;
/// assert!(matches!(recovery.tail, Tail::Torn { offset: 5, len: 3 }));
///
/// // While `file` is open, nobody else can recover (and truncate) it.
/// let err = recover_file_for_append(&path, DefaultDeframer).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Locked));
///
/// file.write_all(&[1, 0, 0, 0, b'b'])?;
/// assert_eq!(std::fs::read(&path)?, [1, 0, 0, 0, b'a', 1, 0, 0, 0, b'b']);
/// # drop(file);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn recover_file_for_append<D: Deframer>(
    path: impl AsRef<Path>,
    deframer: D,
) -> Result<(File, Recovery)> {
    recover_file_for_append_with(path, deframer, RecoverOptions::default())
}

/// [`recover_file_for_append`] with options. With
/// [`RecoverOptions::with_empty_payloads`], trailing frames of zeros (empty
/// or all-zero payloads) are kept and reported as
/// [`Tail::EmptyOrZeroFilled`]; zeros after them that are not a whole frame
/// are truncated away.
///
/// # Errors
///
/// As [`recover_file_for_append`].
pub fn recover_file_for_append_with<D: Deframer>(
    path: impl AsRef<Path>,
    deframer: D,
    options: RecoverOptions,
) -> Result<(File, Recovery)> {
    let path = path.as_ref();
    if let Ok(metadata) = std::fs::metadata(path) {
        crate::file::ensure_regular_file(&metadata)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    crate::file::ensure_regular_file(&file.metadata()?)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(ErrorKind::Locked.into()),
        Err(TryLockError::Error(e)) => return Err(e.into()),
    }
    let recovery = recover_with(&mut file, deframer, options)?;
    match recovery.tail {
        Tail::Clean => {}
        // Frames of zeros up to the end: all kept.
        Tail::EmptyOrZeroFilled { offset, len } if offset + len == recovery.valid_len => {}
        // Or kept, with zeros after them that are not a whole frame.
        Tail::Torn { .. } | Tail::ZeroFilled { .. } | Tail::EmptyOrZeroFilled { .. } => {
            file.set_len(recovery.valid_len)?;
            file.sync_data()?;
        }
        Tail::Corrupt(error) => return Err(error),
    }
    file.seek(SeekFrom::Start(recovery.valid_len))?;
    Ok((file, recovery))
}

/// A recovery scan suspended by an I/O error, and where the reader was then.
#[derive(Debug)]
pub(crate) struct Suspended {
    scan: RecoverScan,
    at: Position,
}

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Reads the rest of the stream as [`recover`] does, from the current
    /// position: intact frames are counted (not returned) and the tail
    /// classified. Offsets in the result are absolute stream offsets. The
    /// source is read to its end, so the reader is spent afterwards.
    ///
    /// The scan uses the reader's frame limit (the free function [`recover`]
    /// uses the format's largest frame); see [`RecoverOptions`].
    ///
    /// An I/O error (such as `WouldBlock`) suspends the scan: calling again
    /// resumes it, unless frames were read in between, which starts a new
    /// scan from where the reader is then.
    ///
    /// # Errors
    ///
    /// Only I/O errors of the source.
    pub fn recover(&mut self) -> Result<Recovery> {
        let limit = self.buffer.cursor().max_frame_len();
        self.recover_with(RecoverOptions::default().with_max_frame_len(limit))
    }

    /// [`recover`](StreamReader::recover) with options.
    ///
    /// # Errors
    ///
    /// Only I/O errors of the source.
    pub fn recover_with(&mut self, options: RecoverOptions) -> Result<Recovery> {
        let here = self.position();
        let mut scan = match self.recovering.take() {
            Some(mut suspended) if suspended.at == here => {
                suspended.scan.swap_settings(self.buffer.cursor_mut());
                suspended.scan
            }
            _ => {
                self.buffer.keep_from(None);
                RecoverScan::start(self.buffer.cursor_mut(), options)
            }
        };
        let mut eof = false;
        loop {
            let (buf, cursor) = self.buffer.window();
            match scan.poll(cursor, buf, eof)? {
                Scan::Done(recovery) => {
                    self.buffer.keep_from(None);
                    return Ok(recovery);
                }
                Scan::Need(needed) => {
                    let keep = scan.keep_from();
                    self.buffer.keep_from(keep.map(|offset| (offset, None)));
                    match self.fill(needed) {
                        Ok(read) => eof = read == 0,
                        Err(error) => {
                            self.suspend(scan, keep, &error);
                            return Err(error);
                        }
                    }
                }
            }
        }
    }

    /// Keeps a scan that a resumable error cut short, giving the reader its
    /// own settings back meanwhile, and the bytes it still needs for as
    /// long as the reader stays where it is (reading a frame in between
    /// starts a new scan, and frees them); any other error ends the scan.
    fn suspend(&mut self, mut scan: RecoverScan, keep: Option<u64>, error: &Error) {
        scan.swap_settings(self.buffer.cursor_mut());
        if error.is_resumable() {
            let at = self.position();
            self.buffer.keep_from(keep.map(|offset| (offset, Some(at))));
            self.recovering = Some(alloc::boxed::Box::new(Suspended { scan, at }));
        } else {
            self.buffer.keep_from(None);
        }
    }
}
