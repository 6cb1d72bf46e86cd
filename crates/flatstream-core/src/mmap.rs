//! `MmapStream`: a stream file mapped into memory, read with `SliceReader`.

use std::fs::File;
use std::path::Path;

use crate::{Deframer, RecoverOptions, Recovery, Result, SliceReader};

/// A stream file mapped into memory, read in place: every payload is a
/// `&[u8]` straight out of the mapped bytes, with no read buffer and no copy.
///
/// [`frames`](MmapStream::frames) reads the map with a [`SliceReader`], so
/// the outcomes are those of every reader: the frames, then a clean end, a
/// torn tail ([`ErrorKind::UnexpectedEof`](crate::ErrorKind::UnexpectedEof))
/// or a corruption, each error with the frame's offset and index.
/// [`recover`](MmapStream::recover) classifies the tail as
/// [`recover`](crate::recover) does.
///
/// The map covers the file as it was when it was opened. An empty file is
/// read as an empty slice (no mapping is made: a mapping of length 0 fails on
/// some platforms).
///
/// # Files that change while mapped
///
/// A memory map is a view of the file, not a copy. The operating system does
/// not stop another process (or this one) from changing the file, and what
/// the reader then sees is not an error value:
///
/// - **Truncated**: touching a mapped page that now lies past the end of the
///   file raises `SIGBUS` on Linux and the other Unix systems, which kills the
///   process unless it handles the signal. No `Err` is returned, and no
///   checksum can help. [`recover_file_for_append`](crate::recover_file_for_append)
///   truncates a torn tail, so never run it on a file that is mapped
///   elsewhere. (Windows refuses to truncate a file while it is mapped.)
/// - **Modified in place**: the new bytes show up in the map, possibly in the
///   middle of a frame, and even in a payload slice already handed out. A
///   checksum framer catches a payload changed before its frame is read (as
///   [`ErrorKind::ChecksumMismatch`](crate::ErrorKind::ChecksumMismatch)),
///   not one changed afterwards, and not a crash.
/// - **Appended to**: harmless. The map keeps the length the file had when it
///   was opened, so frames written later are not seen (open the file again to
///   see them), and a frame being written at that moment reads as a torn tail.
///
/// Rust's `&[u8]` promises that the bytes do not change while borrowed, and
/// safe code relies on it (a `&str` checked once as UTF-8 stays UTF-8). A
/// map cannot keep that promise on its own, so [`open`](MmapStream::open) and
/// [`from_file`](MmapStream::from_file) are `unsafe fn`s: their caller
/// guarantees that no one truncates or modifies the file while the map lives
/// (finished captures, rotated segments, files only ever appended to). For a
/// file that something may truncate or rewrite, copy it first
/// (`std::fs::read` and a [`SliceReader`]) or read it with `StreamReader`,
/// which copies each chunk and turns a short file into a torn tail.
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
/// use flatstream_core::{MmapStream, Position};
///
/// let path = std::env::temp_dir().join(format!("flatstream-mmap-doc-{}.bin", std::process::id()));
/// std::fs::write(&path, [1, 0, 0, 0, b'a', 2, 0, 0, 0, b'b', b'c'])?;
///
/// // SAFETY: the file was written above and nothing changes it while mapped.
/// let map = unsafe { MmapStream::open(&path)? };
/// let payloads: Vec<&[u8]> = map.frames(DefaultDeframer).collect::<Result<_, _>>()?;
/// assert_eq!(payloads, [&b"a"[..], &b"bc"[..]]);
///
/// // Each payload with its frame's offset and index.
/// let second = map.frames(DefaultDeframer).positioned().nth(1).transpose()?;
/// assert_eq!(second, Some((Position { offset: 5, frame: 1 }, &b"bc"[..])));
/// # drop(map);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MmapStream {
    /// `None` for an empty file.
    map: Option<memmap2::Mmap>,
}

impl MmapStream {
    /// Opens the file at `path` read-only and maps it into memory.
    ///
    /// The file handle is closed again; the map stays valid on its own.
    /// Anything but a regular file (a FIFO, a device, a directory) is refused
    /// before it is opened, so it cannot block the call.
    ///
    /// # Safety
    ///
    /// The caller guarantees that, as long as the returned map (or anything
    /// borrowed from it) lives, no process truncates the file or modifies its
    /// mapped bytes: the map hands out `&[u8]` that Rust assumes immutable, and
    /// a truncated file faults (`SIGBUS`) on access. Appending is harmless.
    /// See the type's documentation.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRegularFile`](crate::ErrorKind::NotRegularFile), or
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) if the file cannot be opened or
    /// mapped.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::MmapStream;
    ///
    /// let path = std::env::temp_dir().join(format!("flatstream-mmap-open-{}.bin", std::process::id()));
    /// std::fs::write(&path, [1, 0, 0, 0, b'a'])?;
    /// // SAFETY: nothing changes the file while it is mapped.
    /// let map = unsafe { MmapStream::open(&path)? };
    /// assert_eq!(map.as_bytes(), [1, 0, 0, 0, b'a']);
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        crate::file::ensure_regular_file(&std::fs::metadata(path)?)?;
        let file = File::open(path)?;
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { Self::from_file(&file) }
    }

    /// Maps an open file into memory; `file` needs to be readable.
    ///
    /// The map covers the file from its start, whatever its current seek
    /// position, and stays valid after `file` is closed.
    ///
    /// # Safety
    ///
    /// As for [`open`](MmapStream::open): no one truncates or modifies the
    /// file while the map lives.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRegularFile`](crate::ErrorKind::NotRegularFile), or
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) if the file's metadata cannot be
    /// read or the file cannot be mapped.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::MmapStream;
    /// use std::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("flatstream-mmap-file-{}.bin", std::process::id()));
    /// std::fs::write(&path, [])?;
    /// // SAFETY: nothing changes the file while it is mapped.
    /// let map = unsafe { MmapStream::from_file(&File::open(&path)?)? };
    /// assert!(map.is_empty());
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn from_file(file: &File) -> Result<Self> {
        let metadata = file.metadata()?;
        crate::file::ensure_regular_file(&metadata)?;
        if metadata.len() == 0 {
            return Ok(MmapStream { map: None });
        }
        // SAFETY: `Mmap::map` requires that the mapped file is not modified
        // or truncated while the map lives, which is exactly what our caller
        // guarantees. The map is read-only (this process never writes through
        // it), and `MmapStream` hands out only shared borrows of it that
        // cannot outlive it.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(MmapStream { map: Some(map) })
    }

    /// The mapped bytes: the whole file as it was when it was mapped.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    /// Length of the map in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the map holds no bytes (the file was empty).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// Reads the frames of the map with `deframer`: an iterator of payloads
    /// that borrow the map. Set a frame limit with
    /// [`SliceReader::with_max_frame_len`]; get each frame's position with
    /// [`SliceReader::positioned`].
    pub fn frames<D: Deframer>(&self, deframer: D) -> SliceReader<'_, D> {
        SliceReader::new(self.as_bytes(), deframer)
    }

    /// Reports the intact frames of the map and how it ends, as
    /// [`recover`](crate::recover) does for any source, reading the map in
    /// place (no copy). The file is not changed; to truncate a damaged tail,
    /// drop the map first, then use
    /// [`recover_file_for_append`](crate::recover_file_for_append).
    pub fn recover<D: Deframer>(&self, deframer: D, options: RecoverOptions) -> Recovery {
        crate::recover_slice(self.as_bytes(), deframer, options)
    }
}

impl AsRef<[u8]> for MmapStream {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}
