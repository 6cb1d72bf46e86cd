//! What the capture crate's test binaries share: a directory of its own per
//! test, and the CRC-32 framing their captures use.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::fs;
use std::path::{Path, PathBuf};

use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};

/// A directory of its own under the temp dir (named after the test binary,
/// the process and the test), removed at the end.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// The directory, created empty.
    pub(crate) fn new(test: &str) -> Self {
        let dir = Self::absent(test);
        fs::create_dir_all(&dir.0).expect("create the test directory");
        dir
    }

    /// The directory's path, with nothing there yet (for code that must
    /// create it).
    pub(crate) fn absent(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "flatstream-capture-{}-{}-{test}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// A file in the directory.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn framer() -> ChecksumFramer<Crc32> {
    ChecksumFramer::new(Crc32)
}

pub(crate) fn deframer() -> ChecksumDeframer<Crc32> {
    ChecksumDeframer::new(Crc32)
}
