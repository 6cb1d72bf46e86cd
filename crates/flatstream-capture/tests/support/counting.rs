//! A counting global allocator for this crate's tests (each test binary that
//! includes this module installs it): it counts the allocations of each
//! thread, and of all threads together while asked to.

// A `GlobalAlloc` impl is unsafe by definition; it only forwards to `System`.
#![allow(unsafe_code)]
#![allow(dead_code, reason = "each test binary uses a part")]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::alloc::System;

thread_local! {
    /// A `const` initialiser with no destructor: counting never allocates.
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Whether allocations of every thread are counted in [`ALL`].
static COUNTING_ALL: AtomicBool = AtomicBool::new(false);
static ALL: AtomicU64 = AtomicU64::new(0);

struct Counting;

fn count() {
    let _ = THREAD.try_with(|n| n.set(n.get() + 1));
    if COUNTING_ALL.load(Ordering::Relaxed) {
        ALL.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments;
// counting touches only a thread-local `Cell` and atomics, and never
// allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations this thread made so far.
pub(crate) fn thread_allocations() -> u64 {
    THREAD.with(Cell::get)
}

/// Starts counting the allocations of every thread, from zero.
pub(crate) fn start_counting_all() {
    ALL.store(0, Ordering::SeqCst);
    COUNTING_ALL.store(true, Ordering::SeqCst);
}

/// Stops counting every thread's allocations; returns how many there were.
pub(crate) fn stop_counting_all() -> u64 {
    COUNTING_ALL.store(false, Ordering::SeqCst);
    ALL.load(Ordering::SeqCst)
}
