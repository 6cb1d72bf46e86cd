//! Memory policies: when a long-running reader or writer gives memory back.
//!
//! A `StreamReader` keeps one buffer, and a `StreamWriter` in simple mode one
//! `FlatBufferBuilder`; both grow to the largest message seen and, by default,
//! keep that capacity forever. That is the fastest choice for uniform
//! messages, and the wrong one for an agent that runs for months and sees one
//! 64 MiB message among millions of small ones. A [`MemoryPolicy`], opted
//! into with `with_memory_policy`, decides when to shrink.
//!
//! Policies are consulted rarely: a reader asks before it refills its buffer
//! (once per read chunk, not per message), a writer after each simple-mode
//! message. Without a policy nothing is consulted and nothing changes.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

/// Decides whether a reusable buffer should give memory back.
pub trait MemoryPolicy {
    /// Called with the buffer's current `capacity` and the bytes `in_use`
    /// right now (the message being assembled or just written). Returns the
    /// capacity to shrink to, or `None` to keep the buffer as it is. A target
    /// below `in_use` is raised to `in_use`.
    fn shrink_to(&mut self, capacity: usize, in_use: usize) -> Option<usize>;
}

impl<P: MemoryPolicy + ?Sized> MemoryPolicy for alloc::boxed::Box<P> {
    fn shrink_to(&mut self, capacity: usize, in_use: usize) -> Option<usize> {
        (**self).shrink_to(capacity, in_use)
    }
}

/// Shrinks to `target` bytes as soon as the capacity exceeds `threshold`
/// and the message in use fits in `target`.
///
/// Simple and predictable: after a huge message, memory returns at the next
/// small one. A workload that alternates huge and small messages reallocates
/// each time; use [`AdaptiveWatermark`] there.
///
/// # Examples
///
/// ```
/// use flatstream_core::{MemoryPolicy, ShrinkAbove};
///
/// let mut policy = ShrinkAbove::new(1 << 20, 64 << 10);
/// assert_eq!(policy.shrink_to(64 << 20, 300), Some(64 << 10)); // after a 64 MiB message
/// assert_eq!(policy.shrink_to(64 << 10, 300), None); // already small
/// assert_eq!(policy.shrink_to(64 << 20, 32 << 20), None); // the big message is still in use
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkAbove {
    threshold: usize,
    target: usize,
}

impl ShrinkAbove {
    /// Shrink to `target` bytes whenever capacity exceeds `threshold`.
    #[must_use]
    pub fn new(threshold: usize, target: usize) -> Self {
        ShrinkAbove {
            threshold,
            target: target.min(threshold),
        }
    }
}

impl MemoryPolicy for ShrinkAbove {
    #[inline]
    fn shrink_to(&mut self, capacity: usize, in_use: usize) -> Option<usize> {
        (capacity > self.threshold && in_use <= self.target).then_some(self.target)
    }
}

/// A monotonic clock, injectable so that time-based policies are testable
/// without sleeping.
pub trait Clock {
    /// Time elapsed since an arbitrary fixed origin.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// The system's monotonic clock (`std::time::Instant`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl MonotonicClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        MonotonicClock {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to, for tests and simulations.
///
/// Share it with a policy through `&ManualClock` or `Arc<ManualClock>`.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream_core::{Clock, ManualClock};
///
/// let clock = ManualClock::default();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Duration::from_secs(2));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// Shrinks to twice the recent high watermark, with hysteresis.
///
/// The policy tracks the largest `in_use` over a time window. At the end of
/// each window, if the capacity is more than four times that watermark (and
/// above `floor`), it shrinks to twice the watermark (never below `floor`),
/// then starts a new window. The factor-of-two gap between "shrink when" and
/// "shrink to" is the hysteresis: a workload whose sizes wobble does not
/// reallocate back and forth, and a rare huge message costs its memory for
/// about one window after it, counted at the points where the policy is
/// consulted (a reader's refills, a writer's simple-mode messages).
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream_core::{AdaptiveWatermark, ManualClock, MemoryPolicy};
///
/// let clock = ManualClock::default();
/// let mut policy = AdaptiveWatermark::new(Duration::from_secs(10), 64 << 10, &clock);
/// // A 64 MiB message, then small ones: nothing happens within the window...
/// assert_eq!(policy.shrink_to(64 << 20, 64 << 20), None);
/// assert_eq!(policy.shrink_to(64 << 20, 300), None);
/// // ...the window with the big message ends, still nothing (it was in use)...
/// clock.advance(Duration::from_secs(10));
/// assert_eq!(policy.shrink_to(64 << 20, 300), None);
/// // ...and after a whole window of small messages the memory goes back.
/// clock.advance(Duration::from_secs(10));
/// assert_eq!(policy.shrink_to(64 << 20, 300), Some(64 << 10));
/// ```
#[derive(Debug, Clone)]
pub struct AdaptiveWatermark<C> {
    window: Duration,
    floor: usize,
    clock: C,
    window_start: Duration,
    watermark: usize,
}

impl<C: Clock> AdaptiveWatermark<C> {
    /// Tracks usage over windows of `window`, never shrinking below `floor`
    /// bytes, with time from `clock`.
    pub fn new(window: Duration, floor: usize, clock: C) -> Self {
        let window_start = clock.now();
        AdaptiveWatermark {
            window,
            floor,
            clock,
            window_start,
            watermark: 0,
        }
    }
}

impl<C: Clock> MemoryPolicy for AdaptiveWatermark<C> {
    fn shrink_to(&mut self, capacity: usize, in_use: usize) -> Option<usize> {
        let now = self.clock.now();
        if now.saturating_sub(self.window_start) < self.window {
            self.watermark = self.watermark.max(in_use);
            return None;
        }
        // The window is over: judge it, then start the next with this message.
        let watermark = self.watermark.max(in_use);
        self.window_start = now;
        self.watermark = in_use;
        let target = watermark.saturating_mul(2).max(self.floor);
        (capacity > watermark.saturating_mul(4) && capacity > target).then_some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_above_keeps_target_under_threshold() {
        let policy = ShrinkAbove::new(100, 1000);
        assert_eq!(policy, ShrinkAbove::new(100, 100));
    }

    #[test]
    fn watermark_hysteresis_does_not_flap() {
        let clock = ManualClock::default();
        let window = Duration::from_millis(100);
        let mut policy = AdaptiveWatermark::new(window, 0, &clock);
        // Sizes wobbling between 1 and 3 KiB in a 8 KiB buffer never shrink it:
        // 8 KiB is not more than four times the 3 KiB watermark.
        for round in 0..50 {
            let in_use = if round % 2 == 0 { 1024 } else { 3 * 1024 };
            assert_eq!(policy.shrink_to(8 * 1024, in_use), None, "round {round}");
            clock.advance(window / 2);
        }
        // A buffer over four times the watermark shrinks to twice it, once the
        // window is over.
        let mut policy = AdaptiveWatermark::new(window, 0, &clock);
        assert_eq!(policy.shrink_to(64 * 1024, 1024), None);
        clock.advance(window);
        assert_eq!(policy.shrink_to(64 * 1024, 1024), Some(2 * 1024));
        // The floor wins over twice a tiny watermark.
        let mut policy = AdaptiveWatermark::new(window, 4096, &clock);
        clock.advance(window);
        assert_eq!(policy.shrink_to(64 * 1024, 10), Some(4096));
    }
}
