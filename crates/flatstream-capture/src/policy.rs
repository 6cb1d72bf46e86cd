//! What the background writer does when it cannot keep up, and when it
//! makes data durable.

use core::time::Duration;

/// What [`Producer::submit`](crate::Producer::submit) does when the queue
/// of the background writer is full.
///
/// Whatever the choice, nothing is dropped without being counted: the
/// [`Stats`](crate::Stats) say how many messages were queued, written,
/// dropped and refused, and `queued == written + dropped_at_stop` once the
/// writer is closed, with dropped and refused messages never queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backpressure {
    /// Wait until there is room: a slow disk slows the producers, and
    /// nothing is lost (the default).
    #[default]
    Block,
    /// Drop the message being submitted, count it, and (with
    /// [`gap markers`](crate::CaptureOptions::gap_markers)) write a
    /// [`GapMarker`](crate::GapMarker) before that producer's next message
    /// that says how many were dropped.
    DropNewest,
    /// Refuse the message with [`Error::QueueFull`](crate::Error::QueueFull)
    /// and count it as refused; the caller decides.
    Error,
}

/// When the background writer makes written frames durable (`sync_data`):
/// never, or at the first of several thresholds (group commit).
///
/// Between syncs, frames are handed to the operating system (flushed) when
/// the writer is idle and at least every
/// [`flush_interval`](crate::CaptureOptions::flush_interval), so a crash of
/// the process loses only what was still queued; a power loss can lose
/// anything after the last sync.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream_capture::SyncPolicy;
///
/// // Sync every 100 ms, or sooner once 64 MiB are waiting.
/// let policy = SyncPolicy::every(Duration::from_millis(100)).or_bytes(64 << 20);
/// assert_eq!(policy.interval(), Some(Duration::from_millis(100)));
/// assert_eq!(policy.bytes(), Some(64 << 20));
/// assert_eq!(policy.frames(), None);
/// assert!(SyncPolicy::never().is_never());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncPolicy {
    /// Sync once this many frames were written since the last sync.
    frames: Option<u64>,
    /// Sync once this many bytes were written since the last sync.
    bytes: Option<u64>,
    /// Sync once the oldest frame not yet synced is this old.
    interval: Option<Duration>,
}

impl SyncPolicy {
    /// Never sync on a policy: only on [`BackgroundWriter::sync`](crate::BackgroundWriter::sync),
    /// on rotation, and when the writer closes.
    #[must_use]
    pub const fn never() -> Self {
        SyncPolicy {
            frames: None,
            bytes: None,
            interval: None,
        }
    }

    /// Sync after every frame: each submitted message is durable before the
    /// next one is written (slow: one `sync_data` per frame).
    #[must_use]
    pub const fn every_frame() -> Self {
        Self::never().or_frames(1)
    }

    /// Sync once `n` frames were written since the last sync.
    #[must_use]
    pub const fn every_frames(n: u64) -> Self {
        Self::never().or_frames(n)
    }

    /// Sync once `n` bytes were written since the last sync.
    #[must_use]
    pub const fn every_bytes(n: u64) -> Self {
        Self::never().or_bytes(n)
    }

    /// Sync once the oldest unsynced frame is `interval` old.
    #[must_use]
    pub const fn every(interval: Duration) -> Self {
        Self::never().or_every(interval)
    }

    /// Also sync once `n` frames were written since the last sync (`0` is
    /// taken as 1).
    #[must_use]
    pub const fn or_frames(mut self, n: u64) -> Self {
        self.frames = Some(if n == 0 { 1 } else { n });
        self
    }

    /// Also sync once `n` bytes were written since the last sync (`0` is
    /// taken as 1).
    #[must_use]
    pub const fn or_bytes(mut self, n: u64) -> Self {
        self.bytes = Some(if n == 0 { 1 } else { n });
        self
    }

    /// Also sync once the oldest unsynced frame is `interval` old.
    #[must_use]
    pub const fn or_every(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// The frame threshold, if any.
    #[must_use]
    pub const fn frames(&self) -> Option<u64> {
        self.frames
    }

    /// The byte threshold, if any.
    #[must_use]
    pub const fn bytes(&self) -> Option<u64> {
        self.bytes
    }

    /// The time threshold, if any.
    #[must_use]
    pub const fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Whether no threshold is set.
    #[must_use]
    pub const fn is_never(&self) -> bool {
        self.frames.is_none() && self.bytes.is_none() && self.interval.is_none()
    }

    /// Whether a sync is due after `frames` frames and `bytes` bytes written
    /// since the last one, the oldest of them written `age` ago.
    #[must_use]
    pub fn is_due(&self, frames: u64, bytes: u64, age: Duration) -> bool {
        if frames == 0 {
            return false;
        }
        self.frames.is_some_and(|n| frames >= n)
            || self.bytes.is_some_and(|n| bytes >= n)
            || self.interval.is_some_and(|t| age >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_threshold_makes_a_sync_due_on_its_own() {
        let ms = Duration::from_millis;
        let policy = SyncPolicy::every_frames(3).or_bytes(100).or_every(ms(10));
        assert!(
            !policy.is_due(0, 1000, ms(100)),
            "nothing written, nothing to sync"
        );
        assert!(!policy.is_due(2, 99, ms(9)));
        assert!(policy.is_due(3, 0, ms(0)));
        assert!(policy.is_due(1, 100, ms(0)));
        assert!(policy.is_due(1, 0, ms(10)));
        assert!(!SyncPolicy::never().is_due(u64::MAX, u64::MAX, Duration::MAX));
        assert!(SyncPolicy::every_frame().is_due(1, 0, ms(0)));
        assert_eq!(SyncPolicy::every_frames(0).frames(), Some(1));
    }
}
