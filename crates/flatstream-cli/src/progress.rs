//! Progress bars on stderr, only for long work and only on a terminal:
//! never in a pipe, a log or CI.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files shorter than this get no progress bar: they are read in well
/// under a second.
pub const MIN_LEN: u64 = 256 << 20;

/// How often (in frames) a pass updates its progress bar.
pub const EVERY_FRAMES: u64 = 1 << 14;

/// A progress bar over the bytes of a file, or nothing.
#[derive(Debug, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No progress bar.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// A progress bar for `len` bytes of `what` (e.g. `"verifying"`), if
    /// `enabled`, stderr is a terminal and the work is long enough.
    #[must_use]
    pub fn bytes(enabled: bool, len: u64, what: &str) -> Self {
        if !enabled || len < MIN_LEN || !std::io::stderr().is_terminal() {
            return Self::none();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Progress { bar: Some(bar) }
    }

    /// Sets how many bytes are done.
    #[inline]
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
