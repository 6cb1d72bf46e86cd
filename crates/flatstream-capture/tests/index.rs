//! Sparse segment indexes and seeking: sidecars written by the builder and
//! by a scan, damaged and stale sidecars, and seeking by message number and
//! by time in capture directories, plain files and slices.

extern crate alloc;

#[path = "support/common.rs"]
mod common;

use alloc::sync::Arc;
use common::{TempDir, deframer};
use core::task::Poll;
use core::time::Duration;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, Position, ReadBuffer, StreamHeader, StreamWriter,
    XxHash64,
};
use flatstream_capture::segment::{self, META_FIRST_MESSAGE, META_SEQUENCE, META_START, Segment};
use flatstream_capture::{
    CapturePosition, Error, IndexBuilder, IndexEntry, IndexOptions, SegmentIndex, TimestampFn,
    build_index, seek_to_message, seek_to_message_in, seek_to_time,
};

/// Nanoseconds since the epoch of the default timestamps: late 2027.
const T0: u64 = 1_820_000_000_000_000_000;

/// The default timestamp of message `n`: a microsecond apart.
fn ts(n: u64) -> u64 {
    T0 + n * 1000
}

fn time(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// Message `n`'s payload: its timestamp, its number and `n % 13` bytes of
/// filler, so frames differ in size.
fn payload(n: u64, timestamp: u64) -> Vec<u8> {
    let mut p = timestamp.to_le_bytes().to_vec();
    p.extend_from_slice(format!("message {n}").as_bytes());
    p.resize(p.len() + usize::try_from(n % 13).expect("small"), b'.');
    p
}

fn timestamp_fn() -> TimestampFn {
    Arc::new(|p: &[u8]| Some(u64::from_le_bytes(p.get(..8)?.try_into().ok()?)))
}

fn options() -> IndexOptions {
    IndexOptions::new()
        .every_messages(3)
        .every_bytes(120)
        .with_timestamp(timestamp_fn())
}

/// One segment as a test wrote it.
#[derive(Debug, Clone)]
struct Written {
    segment: Segment,
    first: u64,
    count: u64,
    /// Where each message's frame starts.
    positions: Vec<Position>,
    /// Bytes of whole frames.
    len: u64,
}

/// What segment to write: its sequence number, the time in its name, and
/// its messages `first..first + count`.
#[derive(Debug, Clone, Copy)]
struct Spec {
    sequence: u64,
    name_time: u64,
    first: u64,
    count: u64,
    open: bool,
}

/// Writes a segment of `dir` the way a segment writer does: the capture
/// header, then the messages of `spec` (timestamps from `stamp`), observed
/// by `builder`; closed segments get a sidecar.
fn write_segment(
    dir: &Path,
    spec: Spec,
    builder: &mut IndexBuilder,
    stamp: &dyn Fn(u64) -> u64,
) -> Written {
    let Spec {
        sequence,
        name_time,
        first,
        count,
        open,
    } = spec;
    let start = time(name_time);
    let segment = Segment::new(dir, sequence, start, open);
    let file = File::create(&segment.path).expect("create a segment");
    let mut writer = StreamWriter::new(file, ChecksumFramer::new(Crc32));
    writer
        .write_header(
            &StreamHeader::new()
                .with_metadata(META_SEQUENCE, sequence.to_string())
                .with_metadata(META_FIRST_MESSAGE, first.to_string())
                .with_metadata(META_START, segment::format_utc(start)),
        )
        .expect("write the header");
    let mut positions = Vec::new();
    for n in first..first + count {
        let at = Position {
            offset: writer.bytes_written(),
            frame: writer.frames_written(),
        };
        let p = payload(n, stamp(n));
        writer.write_payload(&p).expect("write a payload");
        builder.observe(at, n, &p);
        positions.push(at);
    }
    writer.flush().expect("flush");
    if open {
        builder.reset();
    } else {
        builder
            .finish(
                &segment.index_path(),
                writer.bytes_written(),
                writer.frames_written(),
            )
            .expect("write the sidecar");
    }
    Written {
        segment,
        first,
        count,
        positions,
        len: writer.bytes_written(),
    }
}

/// A capture directory of six segments: 7 messages, none, 12, 1, 9, and an
/// open one with 5 and a torn frame after them. The names' start times are
/// off from the first messages' timestamps in both directions.
fn directory(dir: &Path) -> Vec<Written> {
    let mut builder = IndexBuilder::new(options());
    let counts = [7_u64, 0, 12, 1, 9, 5];
    let skews: [i64; 6] = [0, 0, 2500, -2500, 700, 0];
    let mut first = 0;
    let mut written = Vec::new();
    for (sequence, (&count, &skew)) in (0_u64..).zip(counts.iter().zip(&skews)) {
        let name_time = ts(first).checked_add_signed(skew).expect("in range");
        let open = sequence == 5;
        let spec = Spec {
            sequence,
            name_time,
            first,
            count,
            open,
        };
        written.push(write_segment(dir, spec, &mut builder, &ts));
        first += count;
    }
    // A frame being written when the test looks: its first 7 bytes.
    let mut torn = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
    torn.write_payload(&payload(first, ts(first)))
        .expect("encode");
    let open = &written[5].segment.path;
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(open)
        .expect("open");
    file.write_all(&torn.into_inner()[..7])
        .expect("append a torn frame");
    written
}

/// The payload a reader starting at `at` in `path` reads first, and where
/// it is after it.
fn read_at(path: &Path, at: CapturePosition) -> (Vec<u8>, Position) {
    let mut file = File::open(path).expect("open the segment");
    file.seek(SeekFrom::Start(at.offset)).expect("seek");
    let mut buffer = ReadBuffer::new(deframer()).starting_at(Position {
        offset: at.offset,
        frame: at.frame,
    });
    let Poll::Ready(read) = buffer.poll_frame(|buf| Poll::Ready(file.read(buf))) else {
        panic!("a file is never pending");
    };
    let payload = read
        .expect("a good frame")
        .expect("a frame, not the end")
        .to_vec();
    (payload, buffer.position())
}

/// Checks that seeking every message of `written` lands on it, and that
/// the numbers past the end are out of range.
fn assert_every_message_found(dir: &Path, written: &[Written]) {
    let first = written[0].first;
    let end = written.last().map(|w| w.first + w.count).expect("segments");
    for w in written {
        for (n, expected) in (w.first..).zip(&w.positions) {
            let at = seek_to_message(dir, deframer(), n).expect("seek");
            assert_eq!(
                at,
                CapturePosition {
                    segment: w.segment.sequence,
                    frame: expected.frame,
                    offset: expected.offset
                },
                "message {n}"
            );
            let (read, after) = read_at(&w.segment.path, at);
            assert_eq!(read, payload(n, ts(n)), "message {n}");
            assert_eq!(after.frame, at.frame + 1, "message {n}");
        }
    }
    for n in [end, end + 1, u64::MAX] {
        assert!(
            matches!(
                seek_to_message(dir, deframer(), n),
                Err(Error::OutOfRange { requested, first: f, end: e })
                    if requested == n && f == first && e == end
            ),
            "message {n}"
        );
    }
}

fn remove_sidecars(dir: &Path) {
    for entry in fs::read_dir(dir).expect("list") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "idx") {
            fs::remove_file(path).expect("remove a sidecar");
        }
    }
}

/// The files of `dir`, by name.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn builder_sidecar_reads_back_and_equals_a_scan() {
    let dir = TempDir::new("round-trip");
    // Frames of 28 to 40 bytes: entries are due after 2 frames when they
    // are large, after 3 messages otherwise.
    let options = IndexOptions::new()
        .every_messages(3)
        .every_bytes(70)
        .with_timestamp(timestamp_fn());
    let mut builder = IndexBuilder::new(options.clone());
    let mut observed = Vec::new();
    let mut spy = IndexBuilder::new(options.clone());
    let w = write_segment(
        dir.path(),
        Spec {
            sequence: 4,
            name_time: T0,
            first: 1000,
            count: 60,
            open: false,
        },
        &mut spy,
        &ts,
    );
    for (n, at) in (w.first..).zip(&w.positions) {
        builder.observe(*at, n, &payload(n, ts(n)));
        observed.push(*at);
    }
    let mut expected = Vec::new();
    let mut last: Option<(u64, u64)> = None;
    for (n, at) in (w.first..).zip(&observed) {
        if last.is_none_or(|(m, o)| n - m >= 3 || at.offset - o >= 70) {
            expected.push(IndexEntry {
                message: n,
                frame: at.frame,
                offset: at.offset,
                timestamp: Some(ts(n)),
            });
            last = Some((n, at.offset));
        }
    }
    let gaps: Vec<u64> = expected
        .windows(2)
        .map(|p| p[1].message - p[0].message)
        .collect();
    assert!(
        gaps.contains(&2),
        "the byte interval made some entries: {gaps:?}"
    );
    assert!(
        gaps.contains(&3),
        "the message interval made some entries: {gaps:?}"
    );
    assert_eq!(builder.entries(), expected.as_slice());

    let from_builder = SegmentIndex::read(&w.segment.index_path()).expect("read the sidecar");
    assert_eq!(from_builder.entries(), expected.as_slice());
    assert_eq!(from_builder.segment_len(), w.len);
    assert_eq!(from_builder.frames(), w.count + 1);
    assert_eq!(
        (
            from_builder.interval_messages(),
            from_builder.interval_bytes()
        ),
        (3, 70)
    );
    assert!(from_builder.has_timestamps());
    from_builder
        .check(&w.segment.path, deframer())
        .expect("the sidecar describes its segment");

    // Written by a scan of the closed segment instead: the same index.
    fs::remove_file(w.segment.index_path()).expect("remove the sidecar");
    build_index(&w.segment.path, deframer(), &options).expect("build the index");
    let from_scan = SegmentIndex::read(&w.segment.index_path()).expect("read the rebuilt sidecar");
    assert_eq!(from_scan, from_builder);

    // Other options, another index; no temporary file left behind.
    build_index(
        &w.segment.path,
        deframer(),
        &IndexOptions::new().every_messages(25),
    )
    .expect("rebuild");
    let sparse = SegmentIndex::read(&w.segment.index_path()).expect("read");
    let messages: Vec<u64> = sparse.entries().iter().map(|e| e.message).collect();
    assert_eq!(messages, [1000, 1025, 1050]);
    assert!(sparse.entries().iter().all(|e| e.timestamp.is_none()));
    assert!(!sparse.has_timestamps());
    let segment_name = w.segment.path.file_name().expect("name").to_string_lossy();
    assert_eq!(
        names(dir.path()),
        [segment_name.to_string(), format!("{segment_name}.idx")]
    );

    // A builder's finish resets it for the next segment.
    builder
        .finish(&dir.path().join("again.idx"), w.len, w.count + 1)
        .expect("finish");
    assert!(builder.entries().is_empty());
    builder.observe(observed[5], 1005, &payload(1005, ts(1005)));
    assert_eq!(
        builder.entries().len(),
        1,
        "the first message after a reset is an entry"
    );
}

#[test]
fn finish_refuses_positions_outside_the_segment() {
    let dir = TempDir::new("finish-refuses");
    let mut builder = IndexBuilder::new(IndexOptions::new());
    builder.observe(
        Position {
            offset: 500,
            frame: 3,
        },
        0,
        b"late",
    );
    let path = dir.path().join("x.fstream.idx");
    let err = builder
        .finish(&path, 400, 10)
        .expect_err("offset 500 of 400 bytes");
    assert!(
        matches!(&err, Error::Invalid { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(builder.entries().is_empty(), "reset after a failed finish");
    assert!(
        names(dir.path()).is_empty(),
        "nothing written: {:?}",
        names(dir.path())
    );
}

#[test]
fn every_damaged_sidecar_is_invalid() {
    let dir = TempDir::new("damaged");
    let mut builder = IndexBuilder::new(
        IndexOptions::new()
            .every_messages(4)
            .with_timestamp(timestamp_fn()),
    );
    let w = write_segment(
        dir.path(),
        Spec {
            sequence: 0,
            name_time: T0,
            first: 0,
            count: 20,
            open: false,
        },
        &mut builder,
        &ts,
    );
    let good = fs::read(w.segment.index_path()).expect("read the sidecar");
    assert_eq!(good.len(), 48 + 5 * 32 + 4);
    let bad = dir.path().join("bad.idx");
    let assert_invalid = |bytes: &[u8], what: &str| {
        fs::write(&bad, bytes).expect("write");
        match SegmentIndex::read(&bad) {
            Err(Error::Invalid { path, reason }) => {
                assert_eq!(path, bad, "{what}");
                assert!(!reason.is_empty(), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
    };
    for i in 0..good.len() {
        for mask in [1_u8, 2, 4, 8, 16, 32, 64, 128, 0xff] {
            let mut bytes = good.clone();
            bytes[i] ^= mask;
            assert_invalid(&bytes, &format!("byte {i} ^ {mask:#x}"));
        }
    }
    for len in 0..good.len() {
        assert_invalid(&good[..len], &format!("cut to {len} bytes"));
    }
    let mut longer = good.clone();
    longer.push(0);
    assert_invalid(&longer, "a byte appended");

    // Well-formed, with a correct checksum, but not an index: entries out of
    // order, past the end, or not one message per frame.
    let with_crc = |mut bytes: Vec<u8>| {
        let n = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        bytes
    };
    let entry = |i: usize, field: usize| 48 + i * 32 + field * 8;
    let set = |bytes: &mut Vec<u8>, at: usize, value: u64| {
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    };
    let mut swapped = good.clone();
    let (a, b) = (
        good[entry(1, 0)..entry(2, 0)].to_vec(),
        good[entry(2, 0)..entry(3, 0)].to_vec(),
    );
    swapped[entry(1, 0)..entry(2, 0)].copy_from_slice(&b);
    swapped[entry(2, 0)..entry(3, 0)].copy_from_slice(&a);
    assert_invalid(&with_crc(swapped), "entries swapped");
    let mut past_end = good.clone();
    set(&mut past_end, entry(4, 2), w.len);
    assert_invalid(&with_crc(past_end), "an offset at the segment's end");
    let mut skipped = good.clone();
    set(&mut skipped, entry(4, 1), w.positions[16].frame + 1);
    assert_invalid(&with_crc(skipped), "frames and messages apart");
    let mut zero_interval = good.clone();
    set(&mut zero_interval, 24, 0);
    assert_invalid(&with_crc(zero_interval), "an interval of 0");
    let mut flags = good.clone();
    flags[7] = 0x80;
    assert_invalid(&with_crc(flags), "an unknown flag");
    assert!(SegmentIndex::read(&w.segment.index_path()).is_ok());
}

#[test]
fn check_refuses_the_index_of_another_segment() {
    let dir = TempDir::new("check");
    let mut builder = IndexBuilder::new(IndexOptions::new().every_messages(4));
    // Segment 0 and its look-alikes, each in a directory of its own.
    let make = |name: &str,
                first: u64,
                count: u64,
                stamp: &dyn Fn(u64) -> u64,
                builder: &mut IndexBuilder| {
        let sub = dir.path().join(name);
        fs::create_dir_all(&sub).expect("create");
        write_segment(
            &sub,
            Spec {
                sequence: 0,
                name_time: T0,
                first,
                count,
                open: false,
            },
            builder,
            stamp,
        )
    };
    let a = make("a", 10, 20, &ts, &mut builder);
    let longer = make("longer", 10, 25, &ts, &mut builder);
    let shorter = make("shorter", 10, 15, &ts, &mut builder);
    // Numbered from 36: the same filler (n % 13) and digits, the same length.
    let renumbered = make("renumbered", 36, 20, &|n| ts(n - 26), &mut builder);
    assert_eq!(
        fs::metadata(&renumbered.segment.path).expect("stat").len(),
        fs::metadata(&a.segment.path).expect("stat").len()
    );
    // The same length, but frames elsewhere: message n of it has message
    // (29 - n)'s filler.
    let moved = {
        let sub = dir.path().join("moved");
        fs::create_dir_all(&sub).expect("create");
        let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
        writer
            .write_header(
                &StreamHeader::new()
                    .with_metadata(META_SEQUENCE, "0")
                    .with_metadata(META_FIRST_MESSAGE, "10")
                    .with_metadata(META_START, segment::format_utc(time(T0))),
            )
            .expect("header");
        for n in 10..30 {
            writer
                .write_payload(&payload(29 - (n - 10), ts(n)))
                .expect("payload");
        }
        let path = sub.join(a.segment.path.file_name().expect("name"));
        fs::write(&path, writer.into_inner()).expect("write");
        path
    };
    assert_eq!(
        fs::metadata(&moved).expect("stat").len(),
        fs::metadata(&a.segment.path).expect("stat").len()
    );

    let index = SegmentIndex::read(&a.segment.index_path()).expect("read");
    index
        .check(&a.segment.path, deframer())
        .expect("its own segment");
    for (what, other) in [
        ("longer", &longer.segment.path),
        ("shorter", &shorter.segment.path),
        ("renumbered", &renumbered.segment.path),
        ("moved", &moved),
    ] {
        match index.check(other, deframer()) {
            Err(Error::Invalid { path, reason }) => {
                assert_eq!(path, *other, "{what}");
                assert!(!reason.is_empty());
            }
            other => panic!("{what}: {other:?}"),
        }
    }

    // A sidecar of the same length whose entries are not at frames: the
    // scan from an entry fails, and is redone from the header.
    let data = fs::read(&moved).expect("read");
    let mut offsets = Vec::new();
    let mut reader = flatstream::SliceReader::new(&data, deframer());
    reader.header().expect("the header");
    for frame in reader.positioned() {
        offsets.push(frame.expect("a good frame").0);
    }
    assert!(
        index.entries()[1..]
            .iter()
            .all(|e| offsets.iter().all(|p| p.offset != e.offset)),
        "no entry but the first is at a frame of the moved segment"
    );
    for (n, at) in (10..).zip(&offsets) {
        let found = seek_to_message_in(&data, deframer(), Some(&index), n).expect("seek");
        assert_eq!(
            (found.frame, found.offset),
            (at.frame, at.offset),
            "message {n}"
        );
    }

    // Seeking passes a stale sidecar over: each look-alike given segment
    // 0's sidecar still finds every message.
    for w in [&longer, &shorter, &renumbered] {
        fs::copy(a.segment.index_path(), w.segment.index_path()).expect("copy the sidecar");
        let dir = w.segment.path.parent().expect("dir");
        for (n, at) in (w.first..).zip(&w.positions) {
            let found = seek_to_message(dir, deframer(), n).expect("seek");
            assert_eq!(
                (found.frame, found.offset),
                (at.frame, at.offset),
                "message {n}"
            );
            let data = fs::read(&w.segment.path).expect("read");
            let found_in = seek_to_message_in(&data, deframer(), Some(&index), n).expect("seek");
            assert_eq!(found_in, found, "message {n} in a slice");
        }
    }
}

#[test]
fn seek_to_message_finds_every_message_of_a_directory() {
    let dir = TempDir::new("directory");
    let written = directory(dir.path());
    assert_every_message_found(dir.path(), &written);

    // Damaged and stale sidecars are passed over.
    let sidecar = |i: usize| written[i].segment.index_path();
    fs::copy(sidecar(0), sidecar(2)).expect("a stale sidecar");
    let mut bytes = fs::read(sidecar(4)).expect("read");
    bytes[60] ^= 1;
    fs::write(sidecar(4), bytes).expect("a damaged sidecar");
    assert_every_message_found(dir.path(), &written);

    remove_sidecars(dir.path());
    assert_every_message_found(dir.path(), &written);
}

#[test]
fn seek_after_retention_and_across_a_missing_segment() {
    let dir = TempDir::new("retention");
    let written = directory(dir.path());
    fs::remove_file(&written[0].segment.path).expect("delete the oldest segment");
    fs::remove_file(written[0].segment.index_path()).expect("and its sidecar");
    let kept = &written[1..];
    assert_every_message_found(dir.path(), kept);
    for n in 0..7 {
        assert!(
            matches!(
                seek_to_message(dir.path(), deframer(), n),
                Err(Error::OutOfRange { requested, first: 7, end: 34 }) if requested == n
            ),
            "message {n}"
        );
    }

    // Message 19 was the only one of segment 3.
    fs::remove_file(&written[3].segment.path).expect("delete a middle segment");
    match seek_to_message(dir.path(), deframer(), 19) {
        Err(Error::Invalid { path, reason }) => {
            assert_eq!(path, written[2].segment.path);
            assert!(reason.contains("message 19 is missing"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        seek_to_message(dir.path(), deframer(), 20)
            .expect("seek")
            .segment,
        4
    );

    // Nothing at all.
    let empty = TempDir::new("retention-empty");
    assert!(matches!(
        seek_to_message(empty.path(), deframer(), 0),
        Err(Error::OutOfRange {
            requested: 0,
            first: 0,
            end: 0
        })
    ));
}

#[test]
fn a_segment_without_a_capture_header_is_invalid() {
    let dir = TempDir::new("no-header");
    let segment = Segment::new(dir.path(), 0, time(T0), false);
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
    writer.write_payload(b"not a header").expect("write");
    fs::write(&segment.path, writer.into_inner()).expect("write");
    match seek_to_message(dir.path(), deframer(), 0) {
        Err(Error::Invalid { path, .. }) => assert_eq!(path, segment.path),
        other => panic!("{other:?}"),
    }

    // An open segment whose header is not on disk yet holds nothing yet.
    let open_dir = TempDir::new("no-header-open");
    let open = Segment::new(open_dir.path(), 0, time(T0), true);
    File::create(&open.path).expect("create");
    assert!(matches!(
        seek_to_message(open_dir.path(), deframer(), 0),
        Err(Error::OutOfRange {
            requested: 0,
            first: 0,
            end: 0
        })
    ));
}

#[test]
fn seek_to_message_in_a_plain_file() {
    let dir = TempDir::new("plain");
    for with_header in [false, true] {
        let path = dir.path().join(format!("plain-{with_header}.fstream"));
        let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
        if with_header {
            writer
                .write_header(&StreamHeader::new().with_metadata("host", "probe-7"))
                .expect("header");
        }
        let mut positions = Vec::new();
        for n in 0..50 {
            positions.push(Position {
                offset: writer.bytes_written(),
                frame: writer.frames_written(),
            });
            writer.write_payload(&payload(n, ts(n))).expect("payload");
        }
        fs::write(&path, writer.into_inner()).expect("write");
        for sidecar in [false, true] {
            if sidecar {
                build_index(&path, deframer(), &options()).expect("index the file");
            }
            for (n, at) in (0..).zip(&positions) {
                let found = seek_to_message(&path, deframer(), n).expect("seek");
                assert_eq!(
                    found,
                    CapturePosition {
                        segment: 0,
                        frame: at.frame,
                        offset: at.offset
                    },
                    "message {n}, header {with_header}, sidecar {sidecar}"
                );
                assert_eq!(read_at(&path, found).0, payload(n, ts(n)));
            }
            assert!(matches!(
                seek_to_message(&path, deframer(), 50),
                Err(Error::OutOfRange {
                    requested: 50,
                    first: 0,
                    end: 50
                })
            ));
        }
    }
    assert!(matches!(
        seek_to_message(&dir.path().join("missing.fstream"), deframer(), 0),
        Err(Error::Io { .. })
    ));
}

#[test]
fn seek_to_message_in_a_slice() {
    let dir = TempDir::new("slice");
    let written = directory(dir.path());
    let w = &written[2];
    let data = fs::read(&w.segment.path).expect("read");
    let index = SegmentIndex::read(&w.segment.index_path()).expect("read the sidecar");
    let foreign = SegmentIndex::read(&written[4].segment.index_path()).expect("read");
    for index in [None, Some(&index), Some(&foreign)] {
        for (n, at) in (w.first..).zip(&w.positions) {
            let found = seek_to_message_in(&data, deframer(), index, n).expect("seek");
            assert_eq!(
                found,
                CapturePosition {
                    segment: 2,
                    frame: at.frame,
                    offset: at.offset
                },
                "message {n}"
            );
            assert_eq!(
                found,
                seek_to_message(dir.path(), deframer(), n).expect("seek")
            );
        }
        for n in [6, 19, 100] {
            assert!(
                matches!(
                    seek_to_message_in(&data, deframer(), index, n),
                    Err(Error::OutOfRange { requested, first: 7, end: 19 }) if requested == n
                ),
                "message {n}"
            );
        }
    }
    // A slice that ends inside a frame: it ends before that frame.
    let cut = &data[..usize::try_from(w.positions[11].offset).expect("small") + 5];
    assert!(matches!(
        seek_to_message_in(cut, deframer(), Some(&index), 18),
        Err(Error::OutOfRange {
            requested: 18,
            first: 7,
            end: 18
        })
    ));
    assert_eq!(
        seek_to_message_in(cut, deframer(), Some(&index), 17)
            .expect("seek")
            .offset,
        w.positions[10].offset
    );
}

/// The position of message `n` of `written`.
fn position_of(written: &[Written], n: u64) -> CapturePosition {
    let w = written
        .iter()
        .find(|w| (w.first..w.first + w.count).contains(&n))
        .expect("a message of the capture");
    let at = w.positions[usize::try_from(n - w.first).expect("small")];
    CapturePosition {
        segment: w.segment.sequence,
        frame: at.frame,
        offset: at.offset,
    }
}

#[test]
fn seek_to_time_before_between_at_and_after_messages() {
    let dir = TempDir::new("time");
    let written = directory(dir.path());
    let timestamp = timestamp_fn();
    let end_of_capture = {
        let last = &written[5];
        CapturePosition {
            segment: 5,
            frame: last.count + 1,
            offset: last.len,
        }
    };
    for sidecars in [true, false] {
        if !sidecars {
            remove_sidecars(dir.path());
        }
        for n in 0..34 {
            let at = position_of(&written, n);
            let seek =
                |t: u64| seek_to_time(dir.path(), deframer(), time(t), &timestamp).expect("seek");
            assert_eq!(
                seek(ts(n)),
                at,
                "at message {n}'s time, sidecars {sidecars}"
            );
            assert_eq!(
                seek(ts(n) - 500),
                at,
                "just before message {n}, sidecars {sidecars}"
            );
            assert_eq!(
                seek(ts(n) - 999),
                at,
                "just after message {}, sidecars {sidecars}",
                n.wrapping_sub(1)
            );
        }
        for before in [UNIX_EPOCH, time(T0 - 1), time(T0 - 3_600_000_000_000)] {
            assert_eq!(
                seek_to_time(dir.path(), deframer(), before, &timestamp).expect("seek"),
                position_of(&written, 0)
            );
        }
        for after in [ts(33) + 1, ts(33) + 3_600_000_000_000] {
            assert_eq!(
                seek_to_time(dir.path(), deframer(), time(after), &timestamp).expect("seek"),
                end_of_capture,
                "after the last message: the end"
            );
        }
    }
}

#[test]
fn seek_to_time_finds_equal_timestamps_across_segments() {
    // Messages 5 to 12 share one timestamp; segment 1 starts at message 8,
    // named at exactly that time.
    let dir = TempDir::new("time-equal");
    let stamp = |n: u64| if (5..=12).contains(&n) { ts(5) } else { ts(n) };
    let mut builder = IndexBuilder::new(options());
    let written = [
        write_segment(
            dir.path(),
            Spec {
                sequence: 0,
                name_time: ts(0),
                first: 0,
                count: 8,
                open: false,
            },
            &mut builder,
            &stamp,
        ),
        write_segment(
            dir.path(),
            Spec {
                sequence: 1,
                name_time: ts(5),
                first: 8,
                count: 10,
                open: false,
            },
            &mut builder,
            &stamp,
        ),
    ];
    let timestamp = timestamp_fn();
    for sidecars in [true, false] {
        if !sidecars {
            remove_sidecars(dir.path());
        }
        let seek =
            |t: u64| seek_to_time(dir.path(), deframer(), time(t), &timestamp).expect("seek");
        let at = |n: u64| {
            let w = &written[usize::from(n >= 8)];
            let p = w.positions[usize::try_from(n - w.first).expect("small")];
            CapturePosition {
                segment: w.segment.sequence,
                frame: p.frame,
                offset: p.offset,
            }
        };
        assert_eq!(seek(ts(5)), at(5), "sidecars {sidecars}");
        assert_eq!(seek(ts(5) - 1), at(5), "sidecars {sidecars}");
        assert_eq!(seek(ts(5) + 1), at(13), "sidecars {sidecars}");
        assert_eq!(seek(ts(13)), at(13), "sidecars {sidecars}");
    }
}

#[test]
fn seek_to_time_in_a_plain_file() {
    let dir = TempDir::new("time-plain");
    let path = dir.path().join("plain.fstream");
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
    let mut positions = Vec::new();
    for n in 0..40 {
        positions.push(writer.bytes_written());
        writer
            .write_payload(&payload(n, ts(n * 10)))
            .expect("payload");
    }
    let len = writer.bytes_written();
    fs::write(&path, writer.into_inner()).expect("write");
    let timestamp = timestamp_fn();
    for sidecar in [false, true] {
        if sidecar {
            build_index(&path, deframer(), &options()).expect("index");
        }
        for n in 0..40_u64 {
            for t in [ts(n * 10), ts(n * 10) - 5000] {
                let at = seek_to_time(&path, deframer(), time(t), &timestamp).expect("seek");
                assert_eq!(
                    (at.frame, at.offset),
                    (n, positions[usize::try_from(n).expect("small")])
                );
            }
        }
        let end = seek_to_time(&path, deframer(), time(ts(400)), &timestamp).expect("seek");
        assert_eq!((end.segment, end.frame, end.offset), (0, 40, len));
    }
}

#[test]
fn build_index_refuses_open_and_torn_segments() {
    let dir = TempDir::new("build-refuses");
    let written = directory(dir.path());
    let open = &written[5].segment.path;
    assert!(matches!(
        build_index(open, deframer(), &options()),
        Err(Error::Invalid { path, .. }) if path == *open
    ));
    // The open segment closed as it is, torn frame and all.
    let closed = written[5].segment.closed_path();
    fs::rename(open, &closed).expect("rename");
    match build_index(&closed, deframer(), &options()) {
        Err(Error::Stream {
            path: Some(path),
            source,
        }) => {
            assert_eq!(path, closed);
            assert!(source.is_unexpected_eof());
            assert_eq!(source.position().map(|p| p.offset), Some(written[5].len));
        }
        other => panic!("{other:?}"),
    }
    // Once recovered, it is indexed, and the capture seeks through it.
    let (file, _) = flatstream::recover_file_for_append(&closed, deframer()).expect("recover");
    drop(file);
    build_index(&closed, deframer(), &options()).expect("index the recovered segment");
    SegmentIndex::read(&written[5].segment.index_path())
        .expect("read")
        .check(&closed, deframer())
        .expect("it fits");
    assert_eq!(
        seek_to_message(dir.path(), deframer(), 33).expect("seek"),
        position_of(&written, 33)
    );
}

/// `n` zero bytes appended to `path`: what a file system leaves after a
/// power loss when the data of the last writes never landed.
fn append_zeros(path: &Path, n: usize) {
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open");
    file.write_all(&vec![0; n]).expect("zero fill");
}

#[test]
fn zero_fill_ends_a_growing_stream_and_is_an_error_in_a_closed_segment() {
    let dir = TempDir::new("zero-fill");
    /// Five messages, then zero fill.
    fn messages<F: flatstream::Framer>(framer: F) -> (Vec<u8>, u64) {
        let mut writer = StreamWriter::new(Vec::new(), framer);
        for n in 0..5 {
            writer.write_payload(&payload(n, ts(n))).expect("write");
        }
        let end = writer.bytes_written();
        let mut data = writer.into_inner();
        data.extend_from_slice(&[0; 64]);
        (data, end)
    }
    let out_of_range = |result: Result<CapturePosition, Error>| {
        matches!(
            result,
            Err(Error::OutOfRange {
                requested: 5,
                first: 0,
                end: 5
            })
        )
    };

    // A slice and a plain file (either may be a stream still being
    // written) end where the fill starts: no empty messages.
    let (data, end) = messages(ChecksumFramer::new(Crc32));
    assert!(out_of_range(seek_to_message_in(&data, deframer(), None, 5)));
    let plain = dir.path().join("plain.fstream");
    fs::write(&plain, &data).expect("write");
    assert!(out_of_range(seek_to_message(&plain, deframer(), 5)));
    let after_all = seek_to_time(&plain, deframer(), time(ts(99)), &timestamp_fn()).expect("seek");
    assert_eq!((after_all.frame, after_all.offset), (5, end));
    // XXH64 of nothing is not zero: there a frame of zero bytes fails its
    // checksum instead of passing for an empty payload. Zero fill all the
    // same.
    let (data, _) = messages(ChecksumFramer::new(XxHash64));
    assert!(out_of_range(seek_to_message_in(
        &data,
        ChecksumDeframer::new(XxHash64),
        None,
        5
    )));

    // A closed segment with zero fill is damaged (recovery truncates it):
    // indexing and seeking through it say where.
    let w = closed_segment_of_five(dir.path());
    append_zeros(&w.segment.path, 64);
    assert_zero_fill_after_five(&w, build_index(&w.segment.path, deframer(), &options()));
    assert_zero_fill_after_five(&w, seek_to_message(dir.path(), deframer(), 5).map(|_| ()));
}

/// A closed segment of messages 0 to 4 in `dir`.
fn closed_segment_of_five(dir: &Path) -> Written {
    let spec = Spec {
        sequence: 0,
        name_time: T0,
        first: 0,
        count: 5,
        open: false,
    };
    write_segment(dir, spec, &mut IndexBuilder::new(options()), &ts)
}

/// `result` is the zero fill error naming `w`'s segment, where its five
/// messages end.
fn assert_zero_fill_after_five(w: &Written, result: Result<(), Error>) {
    match result {
        Err(Error::Stream {
            path: Some(path),
            source,
        }) => {
            assert_eq!(path, w.segment.path);
            assert_eq!(
                source.position(),
                Some(Position {
                    offset: w.len,
                    frame: 6
                })
            );
            assert!(source.to_string().contains("zero fill"), "{source}");
        }
        other => panic!("{other:?}"),
    }
}

/// `bytes` with every byte from the first 512-byte boundary inside the
/// frame that starts at `frame_start` (past its 8-byte header) set to zero,
/// and `more` zeros after: a power loss that kept the frame's length and
/// lost its last blocks.
fn zero_inside_frame(bytes: &mut Vec<u8>, frame_start: u64, more: usize) {
    let boundary = (frame_start + 9).next_multiple_of(512);
    let boundary = usize::try_from(boundary).expect("small");
    assert!(
        boundary < bytes.len(),
        "the boundary is inside the last frame"
    );
    bytes[boundary..].fill(0);
    bytes.resize(bytes.len() + more, 0);
}

#[test]
fn zero_fill_starting_inside_a_frame_is_zero_fill_for_seeks_too() {
    let dir = TempDir::new("zero-fill-inside");
    // Five messages, then a sixth of 1,000 bytes whose end the zeros took.
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
    for n in 0..5 {
        writer.write_payload(&payload(n, ts(n))).expect("write");
    }
    let end = writer.bytes_written();
    let mut big = payload(5, ts(5));
    big.resize(1000, b'.');
    writer.write_payload(&big).expect("write");
    let mut data = writer.into_inner();
    zero_inside_frame(&mut data, end, 100);
    // What core's recovery says of these bytes: the rule both follow.
    let recovery = flatstream::recover_slice(&data, deframer(), flatstream::RecoverOptions::new());
    assert_eq!(recovery.frames, 5);
    assert!(
        matches!(recovery.tail, flatstream::Tail::ZeroFilled { offset, .. } if offset == end),
        "{:?}",
        recovery.tail
    );

    // A slice and a plain file end where the frame the zeros start in
    // starts: five messages, no checksum error.
    let out_of_range = |result: Result<CapturePosition, Error>| match result {
        Err(Error::OutOfRange {
            requested: 5,
            first: 0,
            end: 5,
        }) => {}
        other => panic!("{other:?}"),
    };
    out_of_range(seek_to_message_in(&data, deframer(), None, 5));
    let plain = dir.path().join("plain.fstream");
    fs::write(&plain, &data).expect("write");
    out_of_range(seek_to_message(&plain, deframer(), 5));
    let after_all = seek_to_time(&plain, deframer(), time(ts(99)), &timestamp_fn()).expect("seek");
    assert_eq!((after_all.frame, after_all.offset), (5, end));

    // In a closed segment it is zero fill, named so, at that frame.
    let w = closed_segment_of_five(dir.path());
    let mut bytes = fs::read(&w.segment.path).expect("read");
    let mut tail = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32));
    tail.write_payload(&big).expect("write");
    bytes.extend_from_slice(&tail.into_inner());
    zero_inside_frame(&mut bytes, w.len, 100);
    fs::write(&w.segment.path, &bytes).expect("write");
    assert_zero_fill_after_five(&w, build_index(&w.segment.path, deframer(), &options()));
    assert_zero_fill_after_five(&w, seek_to_message(dir.path(), deframer(), 5).map(|_| ()));
}

/// Writes a sidecar for `w` with the entries given (message, where its
/// frame starts, the timestamp it claims) and frame count, as a builder
/// would: well-formed and checksummed, whatever it says.
fn forge_sidecar(w: &Written, entries: &[(u64, Position, u64)], frames: u64) {
    let options = IndexOptions::new()
        .every_messages(1)
        .with_timestamp(timestamp_fn());
    let mut builder = IndexBuilder::new(options);
    for &(message, at, stamp) in entries {
        builder.observe(at, message, &payload(message, stamp));
    }
    builder
        .finish(&w.segment.index_path(), w.len, frames)
        .expect("a well-formed sidecar");
}

#[test]
fn a_sidecar_is_used_only_as_far_as_its_segment_confirms_it() {
    let dir = TempDir::new("forged-positions");
    let mut builder = IndexBuilder::new(IndexOptions::new().every_messages(10));
    let spec = Spec {
        sequence: 0,
        name_time: T0,
        first: 0,
        count: 40,
        open: false,
    };
    let w = write_segment(dir.path(), spec, &mut builder, &ts);
    let p = w.positions.clone();
    let data = fs::read(&w.segment.path).expect("read");
    let written = [w.clone()];
    let shifted = Position {
        offset: p[10].offset,
        frame: 26,
    };

    // Entry 1 says message 25 (frame 26) where message 10 starts, with the
    // honest frame count: the scan from it does not end where the segment
    // does.
    forge_sidecar(&w, &[(0, p[0], ts(0)), (25, shifted, ts(10))], 41);
    let index = SegmentIndex::read(&w.segment.index_path()).expect("read");
    for n in [0, 10, 24, 25, 30, 39] {
        let i = usize::try_from(n).expect("small");
        let at = seek_to_message_in(&data, deframer(), Some(&index), n).expect("seek");
        assert_eq!((at.frame, at.offset), (p[i].frame, p[i].offset), "{n}");
        let at = seek_to_message(dir.path(), deframer(), n).expect("seek");
        assert_eq!(at, position_of(&written, n), "{n}");
    }
    assert!(matches!(
        index.check(&w.segment.path, deframer()),
        Err(Error::Invalid { .. })
    ));

    // The same lie with the frame count shifted alike agrees with the
    // segment everywhere a seek from entry 1 looks; `check` reads all of
    // the segment and refuses it.
    forge_sidecar(&w, &[(0, p[0], ts(0)), (25, shifted, ts(10))], 56);
    let index = SegmentIndex::read(&w.segment.index_path()).expect("read");
    match index.check(&w.segment.path, deframer()) {
        Err(Error::Invalid { path, reason }) => {
            assert_eq!(path, w.segment.path);
            assert!(reason.contains("index entry 1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Still fine where it is confirmed.
    let at = seek_to_message(dir.path(), deframer(), 5).expect("seek");
    assert_eq!(at, position_of(&written, 5));
}

#[test]
fn sidecar_timestamps_are_checked_against_their_messages() {
    let dir = TempDir::new("forged-times");
    let mut builder = IndexBuilder::new(options());
    // Segment 0's last message has the timestamp of segment 1's first.
    let stamp = |n: u64| ts(if n == 19 { 20 } else { n });
    let spec = |sequence: u64, name_time: u64, first: u64| Spec {
        sequence,
        name_time,
        first,
        count: 20,
        open: false,
    };
    let written = [
        write_segment(dir.path(), spec(0, T0, 0), &mut builder, &stamp),
        write_segment(dir.path(), spec(1, ts(20), 20), &mut builder, &stamp),
    ];
    let timestamp = timestamp_fn();
    let seek = |t: u64| seek_to_time(dir.path(), deframer(), time(t), &timestamp).expect("seek");
    assert_eq!(seek(ts(20)), position_of(&written, 19));
    assert_eq!(seek(ts(8)), position_of(&written, 8));

    // Segment 1's first entry claims an earlier time than its message has:
    // taken for true, the search would not step back to segment 0.
    let w1 = &written[1];
    forge_sidecar(
        w1,
        &[(20, w1.positions[0], ts(0)), (30, w1.positions[10], ts(30))],
        21,
    );
    assert_eq!(seek(ts(20)), position_of(&written, 19));
    // Segment 0's entry at message 10 claims an earlier time than its
    // message has: taken for true, a seek to message 8's time would start
    // after message 8.
    let w0 = &written[0];
    forge_sidecar(
        w0,
        &[(0, w0.positions[0], ts(0)), (10, w0.positions[10], ts(5))],
        21,
    );
    assert_eq!(seek(ts(8)), position_of(&written, 8));
}
