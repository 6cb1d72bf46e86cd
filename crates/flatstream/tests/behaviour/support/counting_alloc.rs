//! A counting global allocator, for the tests that measure memory
//! (`alloc_free`, `memory_policy`, `typed`).
//!
//! Its `#[global_allocator]` static makes it the allocator of the whole test
//! binary: every test of every module runs on it, measuring or not.
//!
//! It is `System`, counting per thread (each test runs on its own thread, and
//! what other threads do is not counted, so tests running in parallel do not
//! disturb each other's measurements): allocations (and reallocations), the
//! largest single request, live bytes (requested minus freed) and their
//! peak. Counting touches only `const`-initialised thread-local `Cell`s with
//! no destructor, so it never allocates itself.

// A `GlobalAlloc` impl is unsafe by definition; it only forwards to `System`.
// The allowance stays in this module: the other modules stay free of
// `unsafe` unless they say otherwise.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use std::alloc::System;

/// `System`, counting allocations and reallocations per thread.
struct CountingAllocator;

thread_local! {
    /// Allocations (and reallocations) made by this thread so far. A `const`
    /// initialiser with no destructor: accessing it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// The largest size this thread asked for since it was last reset.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread (it may free what
    /// others allocated, hence wrapping arithmetic; only differences count).
    static LIVE: Cell<usize> = const { Cell::new(0) };
    /// The highest `LIVE` since it was last reset.
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn count_one(size: usize) {
    // `try_with` fails only while the thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = LARGEST.try_with(|n| n.set(n.get().max(size)));
    let _ = LIVE.try_with(|live| {
        let now = live.get().wrapping_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            // Compared as distances from zero in the wrapping sense.
            if now.wrapping_sub(peak.get()) as isize > 0 {
                peak.set(now);
            }
        });
    });
}

fn free_one(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().wrapping_sub(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; counting touches only thread-local `Cell`s and
// never allocates, so the allocator is not re-entered.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one(layout.size());
        // SAFETY: forwarded with the caller's guarantees about `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one(layout.size());
        // SAFETY: forwarded with the caller's guarantees about `layout`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a new block before the old one is freed: a moving
        // `realloc` holds both for a moment.
        count_one(new_size);
        free_one(layout.size());
        // SAFETY: `ptr` was allocated by `System` (through this allocator)
        // with `layout`, and `new_size` is valid for it, as the caller
        // guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        free_one(layout.size());
        // SAFETY: `ptr` was allocated by `System` (through this allocator)
        // with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the number of allocations (and
/// reallocations) it made on this thread.
pub(crate) fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (out, after - before)
}

/// Runs `f` and returns its result with the largest single allocation it
/// made on this thread.
pub(crate) fn largest_allocation_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|n| n.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// Runs `f` and returns its result with the most memory it held at once on
/// this thread, beyond what was live before (the peak of live bytes).
pub(crate) fn peak_extra_bytes_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let out = f();
    (out, PEAK.with(Cell::get).wrapping_sub(before))
}

/// This thread's live bytes now, as a mark for [`live_bytes_since`]. The
/// value itself means nothing (threads free each other's memory); only
/// differences do.
pub(crate) fn live_mark() -> usize {
    LIVE.with(Cell::get)
}

/// Bytes this thread allocated and did not free since `mark` (from
/// [`live_mark`]); negative if it freed more than it allocated.
pub(crate) fn live_bytes_since(mark: usize) -> isize {
    LIVE.with(Cell::get).wrapping_sub(mark) as isize
}
