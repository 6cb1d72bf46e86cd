//! Opening stream files without surprises: anything but a regular file (a
//! directory, a FIFO, a device, a socket) is refused before it is opened,
//! so the command never blocks on a FIFO; on Unix the file is also opened
//! non-blocking and checked again, in case it was swapped in between.

use std::fs::{File, Metadata, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A stream file opened for reading.
#[derive(Debug)]
pub struct Input {
    /// The path as given on the command line.
    pub path: PathBuf,
    /// The open file, positioned at its start.
    pub file: File,
    /// Its length in bytes when it was opened.
    pub len: u64,
}

/// Opens `path` for reading, refusing anything but a regular file.
///
/// # Errors
///
/// A missing or unreadable file, or one that is not a regular file: one
/// line naming the file (exit code 2).
pub fn open(path: &Path) -> Result<Input> {
    let (file, len) = open_regular(path, "stream file", "cannot open")?;
    Ok(Input {
        path: path.to_owned(),
        file,
        len,
    })
}

/// Opens `path` (a `noun`, e.g. `"schema file"`) for reading, refusing
/// anything but a regular file before and after opening it (non-blocking
/// on Unix); returns the file and its length. `what` prefixes I/O errors.
///
/// # Errors
///
/// A missing or unreadable file, or one that is not a regular file (exit
/// code 2).
pub fn open_regular(path: &Path, noun: &str, what: &str) -> Result<(File, u64)> {
    let metadata = std::fs::metadata(path).map_err(|error| Error::io(path, what, &error))?;
    ensure_regular_file(path, &metadata, noun)?;
    let file = open_options()
        .read(true)
        .open(path)
        .map_err(|error| Error::io(path, what, &error))?;
    let metadata = file
        .metadata()
        .map_err(|error| Error::io(path, what, &error))?;
    ensure_regular_file(path, &metadata, noun)?;
    Ok((file, metadata.len()))
}

/// Refuses `path` unless `metadata` says it is a regular file.
///
/// # Errors
///
/// A usage error (exit code 2) naming the file and what it is instead.
pub fn ensure_regular(path: &Path, metadata: &Metadata) -> Result<()> {
    ensure_regular_file(path, metadata, "stream file")
}

/// [`ensure_regular`] for a `noun` (`"stream file"`, `"schema file"`).
fn ensure_regular_file(path: &Path, metadata: &Metadata, noun: &str) -> Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{}: is a {}, not a {noun}",
        crate::error::shown(path),
        kind_of(metadata)
    )))
}

/// What a file that is not regular is, in words.
fn kind_of(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        return "directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
    }
    "special file"
}

/// Options that never block on opening: `O_NONBLOCK` on Unix (no effect on
/// reading a regular file), so a FIFO swapped in after the check cannot hang.
fn open_options() -> OpenOptions {
    #[allow(unused_mut, reason = "mutated on Unix only")]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options
}

/// Whether `a` and `b` name the same existing file.
#[must_use]
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
        false
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_directory_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = open(dir.path()).unwrap_err();
        assert!(
            error
                .message()
                .ends_with("is a directory, not a stream file")
        );
        assert_eq!(error.exit_code(), 2);
        let error = open(&dir.path().join("missing.bin")).unwrap_err();
        assert!(error.message().ends_with("no such file or directory"));
    }

    #[test]
    fn opens_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.bin");
        std::fs::write(&path, [1, 2, 3]).unwrap();
        let input = open(&path).unwrap();
        assert_eq!(input.len, 3);
        assert!(same_file(&path, &input.path));
        assert!(!same_file(&path, dir.path()));
    }
}
