//! One lock between starting child processes and recovering a file again.
//!
//! A child starts with a copy of every open file of this process and keeps it
//! until it `exec`s; a lock taken through a handle this process has just
//! closed can live on in that copy for a moment, and the next recovery of the
//! same file would find it locked. The tests of every module share this
//! process, so any test that starts a child holds [`spawning`] meanwhile, and
//! a test that recovers the same file again after closing it holds
//! [`no_spawning`].

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static SPAWNING: RwLock<()> = RwLock::new(());

/// Held by a test that recovers the same file again after closing it.
pub(crate) fn no_spawning() -> RwLockReadGuard<'static, ()> {
    SPAWNING.read().unwrap_or_else(PoisonError::into_inner)
}

/// Held while a child process is started.
pub(crate) fn spawning() -> RwLockWriteGuard<'static, ()> {
    SPAWNING.write().unwrap_or_else(PoisonError::into_inner)
}
