//! `flatstream index`: the sparse index sidecars (`*.fstream.idx`) of a
//! capture directory's closed segments, or of one stream file: built where
//! one is missing, stale or damaged, or (`--check`) only checked.
//!
//! A sidecar is checked as the capture crate checks it before trusting it
//! (`SegmentIndex::read`: its format and checksum; `SegmentIndex::check`:
//! the segment it describes, entry by entry) and built with `build_index`.
//! The segment being written (`.open`) has no index until it is closed and
//! is skipped. Timestamps go into the entries when `--time-field` names the
//! field that holds them, or by default when the schema (`--schema`, or
//! the stream header's) has a root field `timestamp_ns`.

use alloc::sync::Arc;
use core::fmt::Write as _;
use std::path::{Path, PathBuf};

use flatstream::Deframer;
use flatstream_capture::segment::{INDEX_SUFFIX, OPEN_SUFFIX};
use flatstream_capture::{IndexOptions as BuildOptions, SegmentIndex, TimestampFn, build_index};

use crate::capture::{self, capture_error};
use crate::error::{Error, Result, escape, plural, shown};
use crate::framing::{Framing, with_deframer};
use crate::schema::{self, DEFAULT_TIME_FIELD};

/// How to run `index`.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// The framing, or `None` to detect it.
    pub framing: Option<Framing>,
    /// Only check; build nothing.
    pub check: bool,
    /// Messages between entries (the library's default if `None`).
    pub every: Option<u64>,
    /// The root table's integer field holding each message's timestamp.
    pub time_field: Option<String>,
    /// The schema to read timestamps with; by default the header's.
    pub schema: Option<PathBuf>,
    /// The root type.
    pub root_type: Option<String>,
}

/// What `index` found and did, per segment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexReport {
    /// The directory or file, as given.
    pub path: String,
    /// Whether only checked.
    pub check: bool,
    /// One entry per segment, in sequence order.
    pub segments: Vec<SegmentIndexReport>,
}

/// One segment's index.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentIndexReport {
    /// The segment file.
    pub segment: String,
    /// What was found or done.
    pub status: IndexStatus,
}

/// What was found or done about one segment's index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndexStatus {
    /// A sidecar that describes the segment.
    Valid {
        /// Its entries.
        entries: u64,
    },
    /// No sidecar (`--check`).
    Missing,
    /// A sidecar that is damaged or does not describe the segment
    /// (`--check`).
    Bad {
        /// What is wrong.
        reason: String,
    },
    /// Built where there was none.
    Built {
        /// Its entries.
        entries: u64,
    },
    /// Built again over a damaged or stale sidecar, or one made with other
    /// options than those asked for.
    Rebuilt {
        /// Its entries.
        entries: u64,
        /// Why the old one was replaced.
        reason: String,
    },
    /// The segment is still open: it has no index until it is closed.
    Open,
    /// The segment cannot be indexed (it is damaged, or cannot be read or
    /// written).
    Failed {
        /// Why.
        error: String,
    },
}

impl IndexStatus {
    /// In words.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            IndexStatus::Valid { entries } => format!("valid ({})", entries_text(*entries)),
            IndexStatus::Missing => "missing".to_owned(),
            IndexStatus::Bad { reason } => format!("bad: {}", escape(reason)),
            IndexStatus::Built { entries } => format!("built ({})", entries_text(*entries)),
            IndexStatus::Rebuilt { entries, reason } => {
                format!("rebuilt ({}): {}", entries_text(*entries), escape(reason))
            }
            IndexStatus::Open => {
                "skipped: still open (a segment has no index until it is closed)".to_owned()
            }
            IndexStatus::Failed { error } => format!("cannot index: {}", escape(error)),
        }
    }

    /// Whether this is what `--check` fails on (or a build that failed).
    #[must_use]
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            IndexStatus::Missing | IndexStatus::Bad { .. } | IndexStatus::Failed { .. }
        )
    }
}

impl IndexReport {
    /// The segments with a problem ([`IndexStatus::is_problem`]).
    #[must_use]
    pub fn problems(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| s.status.is_problem())
            .count()
    }

    /// One line per segment, then a summary.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            let _ = writeln!(
                out,
                "{}: {}",
                escape(&segment.segment),
                segment.status.describe()
            );
        }
        let count =
            |f: fn(&IndexStatus) -> bool| self.segments.iter().filter(|s| f(&s.status)).count();
        let mut parts = Vec::new();
        for (n, what) in [
            (count(|s| matches!(s, IndexStatus::Valid { .. })), "valid"),
            (count(|s| matches!(s, IndexStatus::Built { .. })), "built"),
            (
                count(|s| matches!(s, IndexStatus::Rebuilt { .. })),
                "rebuilt",
            ),
            (count(|s| matches!(s, IndexStatus::Missing)), "missing"),
            (count(|s| matches!(s, IndexStatus::Bad { .. })), "bad"),
            (count(|s| matches!(s, IndexStatus::Failed { .. })), "failed"),
            (count(|s| matches!(s, IndexStatus::Open)), "open, skipped"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let _ = writeln!(
            out,
            "{}: {}{}{}",
            escape(&self.path),
            plural(self.segments.len() as u64, "segment"),
            if parts.is_empty() { "" } else { ": " },
            parts.join(", ")
        );
        out
    }
}

/// A segment (or stream file) to index.
struct Target {
    path: PathBuf,
    /// Still being written.
    open: bool,
}

/// Runs `index` on the capture directory or stream file `path`.
///
/// # Errors
///
/// A path that cannot be listed or read, a directory that holds no
/// capture, a schema or time field that does not fit (exit code 2). Damaged segments and bad indexes are reported per
/// segment, not as errors: see [`IndexReport::problems`].
pub fn index(path: &Path, options: &IndexOptions) -> Result<IndexReport> {
    let targets = if path.is_dir() {
        capture::ensure_capture(path)?;
        capture::segments(path)?
            .iter()
            .map(|segment| Target {
                path: capture::current_path(segment),
                open: segment.open,
            })
            .collect()
    } else {
        crate::input::open(path)?;
        let open = path.to_str().is_some_and(|p| p.ends_with(OPEN_SUFFIX));
        vec![Target {
            path: path.to_owned(),
            open,
        }]
    };
    let mut report = IndexReport {
        path: path.display().to_string(),
        check: options.check,
        segments: Vec::with_capacity(targets.len()),
    };
    // The framing and the header of the first closed segment: a capture is
    // written with one framer and one user header.
    let first_closed = targets.iter().find(|t| !t.open);
    let setup = match first_closed {
        Some(target) => {
            let source = capture::source(&target.path, options.framing, None)?;
            match source {
                Some(source) => {
                    let timestamp = timestamp(options, &source)?;
                    Some((source.framing(), timestamp))
                }
                None => None,
            }
        }
        None => None,
    };
    let mut build = BuildOptions::new();
    if let Some(every) = options.every {
        build = build.every_messages(every);
    }
    if let Some((_, Some(timestamp))) = &setup {
        build = build.with_timestamp(Arc::clone(timestamp));
    }
    for target in &targets {
        let status = match (&setup, target.open) {
            (_, true) => IndexStatus::Open,
            (Some((framing, _)), false) => {
                let framing = *framing;
                with_deframer!(framing, |deframer| one(
                    &target.path,
                    deframer,
                    options,
                    &build
                ))
            }
            // Unreachable: a closed segment makes a setup.
            (None, false) => IndexStatus::Failed {
                error: "no framing".to_owned(),
            },
        };
        report.segments.push(SegmentIndexReport {
            segment: target.path.display().to_string(),
            status,
        });
    }
    Ok(report)
}

/// The timestamp function for the entries: `--time-field` (a schema is
/// then required), or by default the schema's root field `timestamp_ns` if
/// there is a schema and it has one.
fn timestamp(options: &IndexOptions, source: &capture::Source) -> Result<Option<TimestampFn>> {
    let header = source.header.as_ref();
    let explicit = options.time_field.is_some() || options.schema.is_some();
    let loaded = match schema::load(&source.first, options.schema.as_deref(), header) {
        Ok(loaded) => loaded,
        Err(error) if explicit => return Err(error),
        // Timestamps were not asked for: a header schema that cannot be
        // used only means entries without them.
        Err(_) => None,
    };
    let root_type = options.root_type.as_deref();
    match (&options.time_field, loaded) {
        (Some(field), Some(loaded)) => loaded.timestamp(root_type, header, Some(field)).map(Some),
        (Some(_), None) => Err(Error::usage(format!(
            "--time-field needs a schema: {} has no stream header carrying one; give --schema",
            shown(&source.first)
        ))),
        // Timestamps when the schema has the conventional field, else none.
        (None, Some(loaded)) => Ok(loaded
            .timestamp(root_type, header, Some(DEFAULT_TIME_FIELD))
            .ok()),
        (None, None) => Ok(None),
    }
}

/// The sidecar of the closed segment or stream file `path`.
fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(INDEX_SUFFIX);
    PathBuf::from(name)
}

/// Checks, and unless `--check` builds, the index of one closed segment.
fn one<D: Deframer + Clone>(
    path: &Path,
    deframer: D,
    options: &IndexOptions,
    build: &BuildOptions,
) -> IndexStatus {
    let sidecar = sidecar(path);
    // Why the sidecar is not usable as it is, if it is not.
    let problem = match SegmentIndex::read(&sidecar) {
        Err(flatstream_capture::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            None
        }
        // The library says what is wrong with the sidecar itself.
        Err(error) => Some(reason(&error)),
        Ok(index) => match index.check(path, deframer.clone()) {
            Err(error) => Some(format!(
                "the index does not describe the segment: {}",
                reason(&error)
            )),
            Ok(()) => {
                let entries = index.entries().len() as u64;
                let other_interval = options
                    .every
                    .filter(|&every| every != index.interval_messages());
                let wants_timestamps = options.time_field.is_some() && !index.has_timestamps();
                // With `--check` these are what makes the sidecar bad, as
                // they are what a run without it rebuilds.
                match (other_interval, wants_timestamps) {
                    (Some(every), _) => Some(format!(
                        "it was built with an entry every {} messages, not {every}",
                        index.interval_messages()
                    )),
                    (None, true) => Some("it was built without timestamps".to_owned()),
                    (None, false) => return IndexStatus::Valid { entries },
                }
            }
        },
    };
    if options.check {
        return match problem {
            None => IndexStatus::Missing,
            Some(reason) => IndexStatus::Bad { reason },
        };
    }
    if let Err(error) = build_index(path, deframer, build) {
        return IndexStatus::Failed {
            error: capture_error(&error).message().to_owned(),
        };
    }
    let entries = match SegmentIndex::read(&sidecar) {
        Ok(index) => index.entries().len() as u64,
        Err(error) => {
            return IndexStatus::Failed {
                error: capture_error(&error).message().to_owned(),
            };
        }
    };
    match problem {
        None => IndexStatus::Built { entries },
        Some(reason) => IndexStatus::Rebuilt { entries, reason },
    }
}

/// What is wrong, without the file name the line already gives when it is
/// the segment's or its sidecar's.
fn reason(error: &flatstream_capture::Error) -> String {
    match error {
        flatstream_capture::Error::Invalid { reason, .. } => reason.clone(),
        other => capture_error(other).message().to_owned(),
    }
}

/// `1 entry`, `2 entries`.
fn entries_text(n: u64) -> String {
    if n == 1 {
        "1 entry".to_owned()
    } else {
        format!("{n} entries")
    }
}
