//! Writing a new stream file safely: into a temporary file beside the
//! target, synced, then moved into place only when everything was written.
//! A failed run leaves no half-written output. Without `--force` an
//! existing file is never replaced (the move refuses it, atomically).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::same_file;

/// A stream file being written.
#[derive(Debug)]
pub struct Output {
    path: PathBuf,
    temp: PathBuf,
    force: bool,
    file: Option<BufWriter<File>>,
}

impl Output {
    /// Starts writing `path`, the output of reading `input`. With `force`
    /// an existing `path` is replaced when done; without, it is refused.
    ///
    /// # Errors
    ///
    /// A usage error if `path` is `input`, exists (without `force`) or is
    /// not a regular file; an I/O error if the temporary file cannot be
    /// created (exit code 2 for both).
    pub fn create(path: &Path, input: &Path, force: bool) -> Result<Self> {
        if same_file(path, input) {
            return Err(Error::usage(format!(
                "{}: the output is the input file; write to another file",
                path.display()
            )));
        }
        if let Ok(metadata) = std::fs::symlink_metadata(path) {
            if !metadata.is_file() {
                return Err(Error::usage(format!(
                    "{}: exists and is not a regular file",
                    path.display()
                )));
            }
            if !force {
                return Err(Error::usage(format!(
                    "{}: already exists; use --force to replace it",
                    path.display()
                )));
            }
        }
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| Error::usage(format!("{}: not a file name", path.display())))?;
        let temp = path.with_file_name(format!(".{name}.flatstream-{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|error| Error::io(path, "cannot create", &error))?;
        Ok(Output {
            path: path.to_owned(),
            temp,
            force,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The final path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer, until [`commit`](Output::commit) takes it.
    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the output was committed"))
    }

    /// Flushes and syncs the file, then moves it into place.
    ///
    /// # Errors
    ///
    /// I/O errors (exit code 2), or the target appearing meanwhile without
    /// `force`.
    pub fn commit(mut self) -> Result<()> {
        let io = |what: &str, error: std::io::Error| Error::io(&self.path, what, &error);
        if let Some(writer) = self.file.take() {
            let file = writer
                .into_inner()
                .map_err(|error| io("cannot write", error.into_error()))?;
            file.sync_all().map_err(|error| io("cannot write", error))?;
        }
        if self.force {
            std::fs::rename(&self.temp, &self.path).map_err(|error| io("cannot create", error))?;
        } else {
            // A hard link fails if the target exists: no file is replaced.
            std::fs::hard_link(&self.temp, &self.path)
                .map_err(|error| io("cannot create", error))?;
            let _ = std::fs::remove_file(&self.temp);
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not committed (or committed: the temporary name is gone or
        // is a second link): remove the temporary file.
        drop(self.file.take());
        let _ = std::fs::remove_file(&self.temp);
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_atomically_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.bin");
        std::fs::write(&input, b"in").unwrap();
        let out = dir.path().join("out.bin");

        let mut output = Output::create(&out, &input, false).unwrap();
        output.write_all(b"data").unwrap();
        output.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"data");

        // Exists: refused without --force.
        let error = Output::create(&out, &input, false).unwrap_err();
        assert!(error.message().contains("already exists"));
        // The input itself: refused even with --force.
        assert!(Output::create(&input, &input, true).is_err());

        // Dropped without commit: nothing left behind.
        let other = dir.path().join("other.bin");
        let mut output = Output::create(&other, &input, false).unwrap();
        output.write_all(b"partial").unwrap();
        drop(output);
        assert!(!other.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "{names:?}");

        let mut output = Output::create(&out, &input, true).unwrap();
        output.write_all(b"new").unwrap();
        output.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
    }
}
