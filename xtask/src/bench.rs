//! `cargo xtask bench [ARGS...]`: runs the criterion benchmarks.

use anyhow::Result;
use xshell::{Shell, cmd};

/// Runs `cargo bench -p flatstream-benches --all-features -- ARGS...`; the
/// arguments (such as `--save-baseline NAME` or a filter) go to criterion.
///
/// # Errors
///
/// Fails if the benchmarks fail to build or run.
pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    crate::run(cmd!(
        sh,
        "cargo bench -p flatstream-benches --all-features -- {args...}"
    ))
}
