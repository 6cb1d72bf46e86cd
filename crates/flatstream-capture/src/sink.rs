//! Where a capture's frames go: the [`CaptureSink`] trait the background
//! writer drives, the position a sink reports, and [`FileSink`], a capture
//! into one file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flatstream_core::{Deframer, Framer, StreamHeader, StreamWriter, recover_file_for_append};

use crate::error::{Error, IoContext, Result};

/// A place in a capture: a segment, and a frame boundary in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapturePosition {
    /// The segment's sequence number (0 for a capture into one file).
    pub segment: u64,
    /// The index, in that segment, of the next frame (a header frame counts
    /// as frame 0, as every reader counts it).
    pub frame: u64,
    /// The byte offset of the next frame in that segment.
    pub offset: u64,
}

impl core::fmt::Display for CapturePosition {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "segment {}, frame {} at byte offset {}",
            self.segment, self.frame, self.offset
        )
    }
}

/// A destination of frames that the [`BackgroundWriter`](crate::BackgroundWriter)
/// drives from its I/O thread: a file ([`FileSink`]) or a directory of
/// rotating segments ([`SegmentWriter`](crate::SegmentWriter)).
///
/// The writer calls [`write_payload`](CaptureSink::write_payload) per
/// message, [`sync`](CaptureSink::sync) as its [`SyncPolicy`](crate::SyncPolicy)
/// says, [`tick`](CaptureSink::tick) when idle, and
/// [`finish`](CaptureSink::finish) once at the end.
pub trait CaptureSink: Send {
    /// Writes `payload` as one frame (rotating first, if the sink rotates
    /// and the frame would not fit its segment).
    ///
    /// # Errors
    ///
    /// The writer's refusal of the payload (too large, empty), or an I/O
    /// error, naming the file and position.
    fn write_payload(&mut self, payload: &[u8]) -> Result<()>;

    /// Hands buffered bytes to the operating system.
    ///
    /// # Errors
    ///
    /// An I/O error, naming the file.
    fn flush(&mut self) -> Result<()>;

    /// Flushes, then makes everything written so far durable (`sync_data`).
    /// Afterwards [`position`](CaptureSink::position) is durable.
    ///
    /// # Errors
    ///
    /// An I/O error, naming the file.
    fn sync(&mut self) -> Result<()>;

    /// Where the next frame goes: the end of every frame written so far.
    fn position(&self) -> CapturePosition;

    /// The largest payload [`write_payload`](CaptureSink::write_payload)
    /// accepts. The [`BackgroundWriter`](crate::BackgroundWriter) refuses
    /// larger ones in `Producer::submit`, so that a payload the sink would
    /// refuse never reaches its I/O thread (where an error stops the
    /// writer). No limit by default.
    fn max_payload_len(&self) -> usize {
        usize::MAX
    }

    /// Lets a sink act on time while no frames arrive (rotate a segment
    /// whose age is up). Called by the writer thread when idle, at least as
    /// often as its sync interval, if any.
    ///
    /// # Errors
    ///
    /// An I/O error, naming the file.
    fn tick(&mut self, now: SystemTime) -> Result<()> {
        let _ = now;
        Ok(())
    }

    /// Flushes and syncs everything, and closes what is open (a segment
    /// writer closes and renames its open segment). Called once, last.
    ///
    /// # Errors
    ///
    /// An I/O error, naming the file.
    fn finish(&mut self) -> Result<()>;
}

impl<S: CaptureSink + ?Sized> CaptureSink for Box<S> {
    fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        (**self).write_payload(payload)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn sync(&mut self) -> Result<()> {
        (**self).sync()
    }
    fn position(&self) -> CapturePosition {
        (**self).position()
    }
    fn max_payload_len(&self) -> usize {
        (**self).max_payload_len()
    }
    fn tick(&mut self, now: SystemTime) -> Result<()> {
        (**self).tick(now)
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
}

/// Bytes of the buffer between a sink's stream writer and its file.
pub(crate) const FILE_BUFFER: usize = 256 * 1024;

/// A framer that writes nothing: `encode_header_checked` with it is the
/// writers' payload checks alone, so a payload can be refused exactly as a
/// stream writer would refuse it before anything is done for it (queued,
/// or a segment created).
#[derive(Debug)]
pub(crate) struct ChecksOnly;

impl Framer for ChecksOnly {
    fn header_len(&self) -> usize {
        0
    }

    fn encode_header(
        &mut self,
        _payload: &[u8],
        _header: &mut [u8],
    ) -> flatstream_core::Result<()> {
        Ok(())
    }
}

/// A capture into one file, appended to across restarts: opening recovers
/// the file (truncating a torn or zero-filled tail, under an exclusive lock
/// held while the sink lives) and goes on after its last intact frame.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};
/// use flatstream_capture::{CaptureSink, FileSink};
///
/// let path = std::env::temp_dir().join(format!("capture-file-sink-{}.fstream", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let mut sink = FileSink::open(&path, ChecksumFramer::new(Crc32), ChecksumDeframer::new(Crc32), None)?;
/// sink.write_payload(b"first")?;
/// sink.finish()?;
/// drop(sink);
///
/// // Reopened, it goes on after the frames already there.
/// let mut sink = FileSink::open(&path, ChecksumFramer::new(Crc32), ChecksumDeframer::new(Crc32), None)?;
/// assert_eq!(sink.position().frame, 1);
/// sink.write_payload(b"second")?;
/// sink.finish()?;
/// # drop(sink);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileSink<F> {
    /// The file's path, for errors.
    path: PathBuf,
    /// The stream writer over the (locked) file.
    writer: StreamWriter<BufWriter<File>, F>,
}

impl<F: Framer> FileSink<F> {
    /// Opens (or creates) the stream file at `path` for appending, after
    /// recovering it with `deframer`. `header` is written first when the
    /// file is new (empty).
    ///
    /// # Errors
    ///
    /// As [`recover_file_for_append`]: the file is locked by another
    /// capture ([`flatstream_core::ErrorKind::Locked`]), is not a regular
    /// file, or is corrupt (never truncated automatically); or an I/O
    /// error. Each names `path`.
    pub fn open<D: Deframer>(
        path: impl AsRef<Path>,
        framer: F,
        deframer: D,
        header: Option<&StreamHeader>,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (file, recovery) =
            recover_file_for_append(&path, deframer).map_err(|e| Error::stream(&path, e))?;
        let mut writer = StreamWriter::new(BufWriter::with_capacity(FILE_BUFFER, file), framer)
            .starting_at(recovery.end_position());
        if let Some(header) = header
            && recovery.valid_len == 0
        {
            writer
                .write_header(header)
                .map_err(|e| Error::stream(&path, e))?;
        }
        Ok(FileSink { path, writer })
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl<F: Framer + Send> CaptureSink for FileSink<F> {
    fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        self.writer
            .write_payload(payload)
            .map_err(|e| Error::stream(&self.path, e))
    }

    fn flush(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| Error::stream(&self.path, e))
    }

    fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.writer.get_ref().get_ref().sync_data().at(&self.path)
    }

    fn position(&self) -> CapturePosition {
        CapturePosition {
            segment: 0,
            frame: self.writer.frames_written(),
            offset: self.writer.bytes_written(),
        }
    }

    fn max_payload_len(&self) -> usize {
        self.writer.max_payload_len()
    }

    fn finish(&mut self) -> Result<()> {
        self.sync()
    }
}
