//! Ending `cat --follow` cleanly: SIGINT (Ctrl-C) and SIGTERM stop the
//! follower, which returns at once; what was printed is flushed and the
//! command exits 0, as `tail -f` users expect.
//!
//! The signals are caught by `signal-hook`'s safe iterator on a thread of
//! its own (no `unsafe` handler here), which triggers an [`Interrupt`]. Only
//! `cat --follow` installs it: every other command keeps the default
//! action, which ends the process at once.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use flatstream_capture::StopHandle;

/// A stop request that can come from another thread (a signal), shared by
/// clones: it stops every follower attached to it, and waits in between
/// end early.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Set once, never cleared.
    triggered: AtomicBool,
    /// The followers to stop.
    handles: Mutex<Vec<StopHandle>>,
}

/// How often [`Interrupt::sleep`] looks at the flag.
const SLEEP_STEP: Duration = Duration::from_millis(10);

impl Interrupt {
    /// An interrupt that nothing triggered yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers it: every attached follower stops (now, or when attached).
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::Release);
        let handles = self
            .inner
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for handle in handles.iter() {
            handle.stop();
        }
    }

    /// Whether it was triggered.
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Acquire)
    }

    /// Stops the follower of `handle` when this is triggered (at once if it
    /// was already).
    pub fn attach(&self, handle: StopHandle) {
        let mut handles = self
            .inner
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock that `trigger` takes after setting the
        // flag: a trigger in between cannot miss this handle.
        if self.is_triggered() {
            handle.stop();
        }
        handles.push(handle);
    }

    /// Sleeps for `duration`, or less once triggered; returns whether it
    /// was triggered.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        loop {
            if self.is_triggered() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(SLEEP_STEP));
        }
    }

    /// Triggers this on SIGINT and SIGTERM, from a thread that waits for
    /// them for the rest of the process (Unix; elsewhere nothing is
    /// installed and Ctrl-C ends the process as usual).
    ///
    /// # Errors
    ///
    /// The signal handlers or the thread cannot be set up.
    pub fn on_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
            let interrupt = self.clone();
            std::thread::Builder::new()
                .name("flatstream-signals".to_owned())
                .spawn(move || {
                    for _ in signals.forever() {
                        interrupt.trigger();
                    }
                })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_followers_attached_before_and_after() {
        let path =
            std::env::temp_dir().join(format!("flatstream-cli-interrupt-{}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let open =
            || flatstream_capture::Follower::open(&path, flatstream::DefaultDeframer).unwrap();
        let interrupt = Interrupt::new();
        let mut before = open();
        interrupt.attach(before.stop_handle());
        let waiting = std::thread::spawn(move || before.next().map(|m| m.is_none()));
        assert!(!interrupt.sleep(Duration::from_millis(20)));
        interrupt.trigger();
        assert!(waiting.join().unwrap().unwrap(), "stopped while waiting");
        assert!(interrupt.sleep(Duration::from_secs(60)), "returns at once");
        let mut after = open();
        interrupt.attach(after.stop_handle());
        assert_eq!(after.next().unwrap(), None, "stopped when attached");
        std::fs::remove_file(&path).unwrap();
    }
}
