//! Segment files in a capture directory: their names, listing them, and the
//! directory's lock.
//!
//! A segment is named `{sequence}-{start}.fstream`, the sequence number
//! zero-padded to twelve digits and the start time in UTC with nanoseconds
//! (`000000000042-20261202T163012.123456789Z.fstream`), so names sort in
//! the order they were written. The segment being written has `.open`
//! appended; it loses the suffix (an atomic rename) once it is complete and
//! synced. Its sparse index, when there is one, is the closed name plus
//! `.idx`. The directory's lock is the file `capture.lock`.

use core::time::Duration;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result};

/// The extension of a closed segment.
pub const SEGMENT_EXTENSION: &str = "fstream";
/// What the name of the segment being written ends with, after the closed
/// name.
pub const OPEN_SUFFIX: &str = ".open";
/// What a segment's index sidecar ends with, after the closed name.
pub const INDEX_SUFFIX: &str = ".idx";
/// The name of a capture directory's lock file.
pub const LOCK_FILE: &str = "capture.lock";

/// The header metadata key, in every segment's first frame, that holds the
/// segment's sequence number (decimal).
pub const META_SEQUENCE: &str = "flatstream.capture.sequence";
/// The header metadata key that holds the capture-wide number of the
/// segment's first message (decimal): messages (payload frames, headers not
/// counted) are numbered from 0 across all segments of a capture, and the
/// numbers stay when retention deletes old segments.
pub const META_FIRST_MESSAGE: &str = "flatstream.capture.first_message";
/// The header metadata key that holds the segment's start time (as in its
/// name, [`format_utc`]).
pub const META_START: &str = "flatstream.capture.start";

/// Digits of a sequence number in a name (more are read, never written
/// fewer).
const SEQUENCE_DIGITS: usize = 12;

/// One segment of a capture directory, as its name describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its sequence number: segments are written in increasing order.
    pub sequence: u64,
    /// When it was started (UTC, to the nanosecond).
    pub start: SystemTime,
    /// Whether it is still being written (its name ends with `.open`).
    pub open: bool,
    /// Its path (the `.open` name while it is open).
    pub path: PathBuf,
}

impl Segment {
    /// A segment of `dir` with this sequence number and start time, open or
    /// closed.
    #[must_use]
    pub fn new(dir: &Path, sequence: u64, start: SystemTime, open: bool) -> Self {
        let mut name = closed_name(sequence, start);
        if open {
            name.push_str(OPEN_SUFFIX);
        }
        Segment {
            sequence,
            start,
            open,
            path: dir.join(name),
        }
    }

    /// The path it has (or will have) once closed.
    #[must_use]
    pub fn closed_path(&self) -> PathBuf {
        self.path
            .with_file_name(closed_name(self.sequence, self.start))
    }

    /// The path of its index sidecar.
    #[must_use]
    pub fn index_path(&self) -> PathBuf {
        let mut name = closed_name(self.sequence, self.start);
        name.push_str(INDEX_SUFFIX);
        self.path.with_file_name(name)
    }

    /// Reads a segment's description from its file name; `None` for a name
    /// that is not a segment's (an index, the lock, anything else).
    #[must_use]
    pub fn parse(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let (name, open) = match name.strip_suffix(OPEN_SUFFIX) {
            Some(closed) => (closed, true),
            None => (name, false),
        };
        let stem = name.strip_suffix(SEGMENT_EXTENSION)?.strip_suffix('.')?;
        let (sequence, start) = stem.split_once('-')?;
        if sequence.is_empty() || !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let sequence = sequence.parse().ok()?;
        let start = parse_utc(start)?;
        Some(Segment {
            sequence,
            start,
            open,
            path: path.to_path_buf(),
        })
    }
}

/// The closed name of a segment.
fn closed_name(sequence: u64, start: SystemTime) -> String {
    format!(
        "{sequence:0SEQUENCE_DIGITS$}-{}.{SEGMENT_EXTENSION}",
        format_utc(start)
    )
}

/// The segments of `dir`, by sequence number; other files are ignored.
///
/// # Errors
///
/// [`Error::Io`] when the directory cannot be listed;
/// [`Error::Invalid`] when two segments share a sequence number, or an open
/// segment is not the last one.
pub fn list(dir: &Path) -> Result<Vec<Segment>> {
    let segments = read_segments(dir)?;
    for pair in segments.windows(2) {
        if pair[0].sequence == pair[1].sequence {
            return Err(Error::Invalid {
                path: pair[1].path.clone(),
                reason: format!(
                    "sequence number {} is also used by {}",
                    pair[1].sequence,
                    pair[0].path.display()
                ),
            });
        }
    }
    if let Some(open) = segments.iter().rev().skip(1).find(|s| s.open) {
        return Err(Error::Invalid {
            path: open.path.clone(),
            reason: "an open segment is followed by later segments".to_owned(),
        });
    }
    Ok(segments)
}

/// The segments of `dir` as a reader of a directory being written must see
/// them, by sequence number: a segment listed under both its open and its
/// closed name while it is renamed is kept once, under its closed (final)
/// name, a copy of a closed segment under another closed name (the same
/// bytes) is kept once,
/// and an open segment that a crashed writer left before later ones is
/// listed with them. Other files are ignored.
///
/// # Errors
///
/// [`Error::Io`] when the directory cannot be listed; [`Error::Invalid`]
/// when two different closed segments share a sequence number (reading
/// either one alone would skip the other's messages).
pub fn list_live(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = read_segments(dir)?;
    // Closed sorts before open for one sequence number: the closed name is
    // the one kept.
    segments.sort_by_key(|s| (s.sequence, s.open));
    for pair in segments.windows(2) {
        let [a, b] = pair else { continue };
        if a.sequence == b.sequence && !a.open && !b.open && !is_copy(&a.path, &b.path)? {
            return Err(Error::Invalid {
                path: b.path.clone(),
                reason: format!(
                    "sequence number {} is also used by {}, a different segment",
                    b.sequence,
                    a.path.display()
                ),
            });
        }
    }
    segments.dedup_by_key(|s| s.sequence);
    Ok(segments)
}

/// Whether the closed segments `a` and `b` are copies of one segment: the
/// same bytes, all of them (compared only when two closed names share a
/// number, which a writer never leaves). One that vanished meanwhile
/// (retention) is no conflict; one that is not a regular file (a FIFO, a
/// directory) is not a copy, and is never opened for reading.
fn is_copy(a: &Path, b: &Path) -> Result<bool> {
    // `None`: vanished; `Some(None)`: not a regular file.
    let open = |path: &Path| -> Result<Option<Option<(u64, File)>>> {
        match open_regular(path) {
            Ok(file) => Ok(Some(Some((file.metadata().at(path)?.len(), file)))),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(Error::Io { path, source }) => Err(Error::Io { path, source }),
            Err(_) => Ok(Some(None)),
        }
    };
    let (Some(a_file), Some(b_file)) = (open(a)?, open(b)?) else {
        return Ok(true);
    };
    let (Some((len_a, mut file_a)), Some((len_b, mut file_b))) = (a_file, b_file) else {
        return Ok(false);
    };
    if len_a != len_b {
        return Ok(false);
    }
    let (mut chunk_a, mut chunk_b) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
    loop {
        let n = read_full(&mut file_a, &mut chunk_a).at(a)?;
        let m = read_full(&mut file_b, &mut chunk_b).at(b)?;
        if chunk_a[..n] != chunk_b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends; returns how many bytes.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read as _;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The files of `dir` that are segments, sorted by sequence number.
fn read_segments(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        if let Some(segment) = Segment::parse(&entry.path()) {
            segments.push(segment);
        }
    }
    segments.sort_by_key(|s| s.sequence);
    Ok(segments)
}

/// The exclusive lock of a capture directory, held while the value lives.
#[derive(Debug)]
pub struct DirLock {
    /// The locked file; dropping it releases the lock.
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir` (creating its lock file), without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] when another handle or process holds it;
    /// [`Error::Io`] when the lock file cannot be created.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked {
                path: dir.to_path_buf(),
            }),
            Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
        }
    }
}

/// Opens a segment or sidecar for reading, if it is a regular file: a FIFO
/// would block the open until a writer came (and a follower would hang on
/// it), a device has no end. The file is judged again once open, in case
/// it was replaced in between.
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    let refuse = |e: flatstream_core::Error| Error::stream(path, e);
    flatstream_core::ensure_regular_file(&std::fs::metadata(path).at(path)?).map_err(refuse)?;
    let file = File::open(path).at(path)?;
    flatstream_core::ensure_regular_file(&file.metadata().at(path)?).map_err(refuse)?;
    Ok(file)
}

/// Makes the entries of `dir` (created, renamed, removed files) durable.
///
/// # Errors
///
/// [`Error::Io`] when the directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened as files here; renames are durable
        // once the renamed file was synced on these systems' file systems.
        let _ = dir;
        Ok(())
    }
}

/// `t` in UTC as `YYYYMMDDTHHMMSS.nnnnnnnnnZ` (times before 1970 print as
/// 1970).
#[must_use]
pub fn format_utc(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_nanos()
    )
}

/// The inverse of [`format_utc`]; `None` for anything else.
#[must_use]
pub fn parse_utc(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 26 || b[8] != b'T' || b[15] != b'.' || b[25] != b'Z' {
        return None;
    }
    let num = |range: core::ops::Range<usize>| -> Option<u64> {
        let digits = s.get(range)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let nanos = num(16..25)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_since_epoch(
        i64::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    )?;
    let days = u64::try_from(days).ok()?;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::new(secs, u32::try_from(nanos).ok()?))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (negative before 1970); `None` for a month or a day that does not
/// exist. Howard Hinnant's `days_from_civil`.
#[must_use]
pub fn days_since_epoch(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    let (month, day) = (i64::from(month), i64::from(day));
    let year = year.checked_sub(i64::from(month <= 2))?;
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.checked_mul(146_097)?.checked_add(doe - 719_468)
}

/// Days since 1970-01-01 to (year, month, day), for dates from 1970 on
/// (Howard Hinnant's `civil_from_days`, unsigned).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_round_trips_and_matches_known_dates() {
        assert_eq!(format_utc(UNIX_EPOCH), "19700101T000000.000000000Z");
        // 2026-12-02T16:22:21.5Z, checked with `date -u -d @1796228541`.
        let t = UNIX_EPOCH + Duration::new(1_796_228_541, 500_000_000);
        assert_eq!(format_utc(t), "20261202T162221.500000000Z");
        // 2000-02-29 (a leap day of a year divisible by 400).
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_utc(leap), "20000229T000000.000000000Z");
        for secs in (0..4_102_444_800_u64).step_by(86_400 * 7 + 3_599) {
            let t = UNIX_EPOCH + Duration::new(secs, 123_456_789);
            assert_eq!(parse_utc(&format_utc(t)), Some(t), "{secs}");
        }
    }

    #[test]
    fn parse_utc_refuses_malformed_times() {
        for bad in [
            "",
            "20261302T000000.000000000Z",
            "20260230T000000.000000000Z",
            "20261202T240000.000000000Z",
            "20261202T000000.000000000",
            "2026120xT000000.000000000Z",
            "20261202T000000.+00000000Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_live_listing_keeps_a_segment_caught_mid_rename_once() {
        let dir = std::env::temp_dir().join(format!("capture-list-live-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_228_541);
        let renaming = Segment::new(&dir, 1, t, true);
        for path in [
            Segment::new(&dir, 0, t, true).path,
            renaming.path.clone(),
            renaming.closed_path(),
            Segment::new(&dir, 2, t, true).path,
            dir.join("capture.lock"),
        ] {
            std::fs::write(&path, b"").expect("file");
        }
        let live = list_live(&dir).expect("list");
        let seen: Vec<(u64, bool)> = live.iter().map(|s| (s.sequence, s.open)).collect();
        assert_eq!(seen, [(0, true), (1, false), (2, true)]);
        assert!(
            list(&dir).is_err(),
            "the strict listing refuses the same directory"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn names_sort_by_sequence_and_parse_back() {
        let dir = Path::new("/captures");
        let t = UNIX_EPOCH + Duration::new(1_796_228_541, 7);
        let open = Segment::new(dir, 42, t, true);
        assert_eq!(
            open.path,
            dir.join("000000000042-20261202T162221.000000007Z.fstream.open")
        );
        assert_eq!(Segment::parse(&open.path), Some(open.clone()));
        let closed = Segment::parse(&open.closed_path()).expect("closed name parses");
        assert!(!closed.open);
        assert_eq!(closed.sequence, 42);
        assert_eq!(
            open.index_path(),
            dir.join("000000000042-20261202T162221.000000007Z.fstream.idx")
        );
        for other in [
            "capture.lock",
            "x.fstream",
            "-20261202T162221.000000007Z.fstream",
            "12-now.fstream",
        ] {
            assert_eq!(Segment::parse(Path::new(other)), None, "{other}");
        }
        assert_eq!(Segment::parse(&open.index_path()), None);
    }
}
