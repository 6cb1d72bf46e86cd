//! Checks on stream files before they are recovered, truncated or mapped.

use std::fs::Metadata;

use crate::{ErrorKind, Result};

/// Refuses anything but a regular file: a FIFO would block (or never end),
/// a device or a `/proc` file has no stable length, a directory no bytes.
///
/// What the mmap reader and [`recover_file_for_append`](crate::recover_file_for_append)
/// check before they touch a file; for other readers of stream files (a
/// capture's segments and indexes), before they open one: opening a FIFO
/// for reading blocks until a writer comes.
///
/// # Errors
///
/// [`ErrorKind::NotRegularFile`] naming what the file is instead.
///
/// # Examples
///
/// ```
/// use flatstream_core::{ErrorKind, ensure_regular_file};
///
/// let dir = std::env::temp_dir();
/// let err = ensure_regular_file(&std::fs::metadata(&dir)?).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::NotRegularFile { file_type: "directory" }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ensure_regular_file(metadata: &Metadata) -> Result<()> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    Err(ErrorKind::NotRegularFile {
        file_type: describe(&file_type),
    }
    .into())
}

#[cfg(unix)]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_symlink() {
        "symbolic link"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_symlink() {
        "symbolic link"
    } else {
        "not a regular file"
    }
}
