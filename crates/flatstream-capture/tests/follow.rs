//! The follower: a growing file, a rotating directory, resuming, deleted
//! segments, damage, stopping, and reading without allocating.

#[path = "support/counting.rs"]
mod counting;

#[path = "support/common.rs"]
mod common;

use common::{TempDir, deframer, framer};
use core::time::Duration;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Instant, SystemTime};

use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, ErrorKind, Position, StreamHeader, StreamWriter,
    XxHash64,
};
use flatstream_capture::segment::{
    META_FIRST_MESSAGE, META_SEQUENCE, META_START, Segment, format_utc,
};
use flatstream_capture::{CapturePosition, Error, Follower};

/// Message `i`: its number, then a filler of varying length.
fn payload(i: u64) -> Vec<u8> {
    let mut p = format!("message {i}:").into_bytes();
    let filler = b'a' + u8::try_from(i % 26).expect("< 26");
    p.extend(core::iter::repeat_n(
        filler,
        usize::try_from(i % 37).expect("< 37"),
    ));
    p
}

/// The bytes of one frame holding `payload`.
fn frame_bytes(payload: &[u8]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), framer());
    writer.write_payload(payload).expect("encode a frame");
    writer.into_inner()
}

/// Reads until `Ok(None)`, as owned payloads.
fn read_rest(follower: &mut Follower<ChecksumDeframer<Crc32>>) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    while let Some(m) = follower.next().expect("an intact capture reads") {
        got.push(m.to_vec());
    }
    got
}

fn next_owned(follower: &mut Follower<ChecksumDeframer<Crc32>>) -> Option<Vec<u8>> {
    follower
        .next_timeout(Duration::from_secs(10))
        .expect("the next message")
        .map(<[u8]>::to_vec)
}

/// A segment being written as the convention says: `.open` name, header
/// frame first, renamed to its closed name when done.
struct TestSegment {
    segment: Segment,
    writer: StreamWriter<File, ChecksumFramer<Crc32>>,
    /// The byte offset of each message's frame.
    offsets: Vec<u64>,
}

impl TestSegment {
    fn begin(dir: &Path, sequence: u64, first_message: u64) -> Self {
        let start = SystemTime::now();
        let segment = Segment::new(dir, sequence, start, true);
        let file = File::create(&segment.path).expect("create a segment");
        let mut writer = StreamWriter::new(file, framer());
        let header = StreamHeader::new()
            .with_metadata(META_SEQUENCE, sequence.to_string())
            .with_metadata(META_FIRST_MESSAGE, first_message.to_string())
            .with_metadata(META_START, format_utc(start));
        writer.write_header(&header).expect("write the header");
        TestSegment {
            segment,
            writer,
            offsets: Vec::new(),
        }
    }

    fn append(&mut self, payload: &[u8]) {
        self.offsets.push(self.writer.bytes_written());
        self.writer.write_payload(payload).expect("write a message");
        self.writer.flush().expect("flush");
    }

    /// Renames it to its closed name; returns that and the frame offsets.
    fn close(self) -> (PathBuf, Vec<u64>) {
        let closed = self.segment.closed_path();
        drop(self.writer);
        fs::rename(&self.segment.path, &closed).expect("close a segment");
        (closed, self.offsets)
    }
}

/// Writes closed segments holding `counts[s]` messages each, numbered on
/// from 0; returns each one's path and message frame offsets.
fn write_closed_segments(dir: &Path, counts: &[u64]) -> Vec<(PathBuf, Vec<u64>)> {
    let mut message = 0;
    let mut segments = Vec::new();
    for (sequence, &count) in (0..).zip(counts) {
        let mut segment = TestSegment::begin(dir, sequence, message);
        for _ in 0..count {
            segment.append(&payload(message));
            message += 1;
        }
        segments.push(segment.close());
    }
    segments
}

/// The frame-level error inside, and the file it names.
fn stream_error(error: &Error) -> (&Path, &flatstream::Error) {
    match error {
        Error::Stream {
            path: Some(path),
            source,
        } => (path, source),
        other => panic!("expected a stream error naming a file, got {other:?}"),
    }
}

#[test]
fn a_growing_file_is_followed_frame_by_frame() {
    let dir = TempDir::new("growing");
    let path = dir.0.join("growing.fstream");
    let mut file = File::create(&path).expect("create the file");
    let mut follower = Follower::open(&path, deframer())
        .expect("open the follower")
        .with_poll_interval(Duration::from_micros(200));

    // Half a frame is a frame still being written: waited on, not an error.
    let first = frame_bytes(&payload(0));
    file.write_all(&first[..first.len() / 2]).expect("write");
    let waited = follower
        .next_timeout(Duration::from_millis(20))
        .expect("a torn tail is waited on, not an error");
    assert_eq!(waited, None);
    assert_eq!(follower.position(), CapturePosition::default());
    file.write_all(&first[first.len() / 2..]).expect("write");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));

    const MESSAGES: u64 = 400;
    let writer = thread::spawn(move || {
        for i in 1..MESSAGES {
            let bytes = frame_bytes(&payload(i));
            match i % 5 {
                // Byte by byte, so the follower meets every kind of torn
                // frame: a partial length, checksum, payload.
                0 => {
                    for (n, byte) in bytes.iter().enumerate() {
                        file.write_all(&[*byte]).expect("write");
                        file.flush().expect("flush");
                        if n % 4 == 0 {
                            thread::sleep(Duration::from_micros(50));
                        }
                    }
                }
                1 => {
                    file.write_all(&bytes[..3]).expect("write");
                    thread::sleep(Duration::from_micros(300));
                    file.write_all(&bytes[3..]).expect("write");
                }
                _ => file.write_all(&bytes).expect("write"),
            }
            if i % 10 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    for i in 1..MESSAGES {
        assert_eq!(next_owned(&mut follower), Some(payload(i)), "message {i}");
        assert_eq!(follower.next_message(), i + 1);
    }
    writer.join().expect("the writer thread");
    let nothing = follower
        .next_timeout(Duration::from_millis(30))
        .expect("waiting at the end is no error");
    assert_eq!(nothing, None, "every frame arrived exactly once");
    let len = fs::metadata(&path).expect("stat").len();
    assert_eq!(
        follower.position(),
        CapturePosition {
            segment: 0,
            frame: MESSAGES,
            offset: len
        }
    );
}

#[test]
fn not_following_stops_at_the_end_and_a_torn_tail_there_is_an_error() {
    let dir = TempDir::new("not-following");
    let path = dir.0.join("torn.fstream");
    File::create(&path).expect("create the file");

    // An empty file ends at once; a header written later is still a header.
    let mut follower = Follower::open(&path, deframer())
        .expect("open")
        .with_follow(false);
    assert_eq!(follower.next().expect("an empty file"), None);
    let mut writer = StreamWriter::new(
        OpenOptions::new().append(true).open(&path).expect("reopen"),
        framer(),
    );
    writer
        .write_header(&StreamHeader::new().with_metadata("purpose", "test"))
        .expect("header");
    for i in 0..5 {
        writer.write_payload(&payload(i)).expect("write");
    }
    writer.flush().expect("flush");
    let end = writer.bytes_written();
    drop(writer);

    for i in 0..5 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)), "message {i}");
    }
    let header = follower.header().expect("the header is kept apart");
    assert_eq!(header.metadata("purpose"), Some("test"));
    assert_eq!(follower.next_message(), 5, "the header is not a message");
    assert_eq!(follower.next().expect("the end"), None);
    assert_eq!(follower.next().expect("still the end"), None);

    // Half a frame at the end: not following, the stream is torn there.
    let torn = frame_bytes(&payload(5));
    let mut file = OpenOptions::new().append(true).open(&path).expect("reopen");
    file.write_all(&torn[..torn.len() - 3]).expect("write");
    let error = follower.next().expect_err("a torn tail is an error");
    let (named, source) = stream_error(&error);
    assert_eq!(named, path);
    assert!(source.is_unexpected_eof(), "{source:?}");
    assert_eq!(
        source.position(),
        Some(Position {
            offset: end,
            frame: 6
        })
    );
    let text = error.to_string();
    assert!(
        text.contains("torn.fstream") && text.contains(&format!("byte offset {end}")),
        "{text}"
    );

    // Nothing was consumed: completed, the frame reads.
    file.write_all(&torn[torn.len() - 3..]).expect("write");
    assert_eq!(next_owned(&mut follower), Some(payload(5)));
    assert_eq!(follower.next().expect("the end"), None);
}

#[test]
fn a_rotating_directory_is_followed_across_rotations() {
    let dir = TempDir::new("rotating");
    const LAST_SEGMENT: u64 = 60;
    let count = |sequence: u64| sequence * 7 % 9; // some segments hold no message
    let total: u64 = (0..=LAST_SEGMENT).map(count).sum();

    // Opened first: the directory has no segment yet, and is waited on.
    let mut follower = Follower::open(&dir.0, deframer())
        .expect("open the follower")
        .with_poll_interval(Duration::from_micros(200));
    assert_eq!(
        follower
            .next_timeout(Duration::from_millis(5))
            .expect("an empty directory is waited on"),
        None
    );

    let path = dir.0.clone();
    let writer = thread::spawn(move || {
        let mut message = 0;
        for sequence in 0..=LAST_SEGMENT {
            let mut segment = TestSegment::begin(&path, sequence, message);
            for _ in 0..count(sequence) {
                segment.append(&payload(message));
                message += 1;
                if message % 3 == 0 {
                    thread::sleep(Duration::from_micros(150));
                }
            }
            // The last one stays open, as a running capture's does.
            if sequence < LAST_SEGMENT {
                let _ = segment.close();
            }
        }
    });

    let mut segments_read = std::collections::HashSet::new();
    for i in 0..total {
        assert_eq!(follower.next_message(), i, "before message {i}");
        assert_eq!(next_owned(&mut follower), Some(payload(i)), "message {i}");
        segments_read.insert(follower.position().segment);
        assert_eq!(
            follower.header().and_then(|h| h.metadata(META_SEQUENCE)),
            Some(follower.position().segment.to_string().as_str())
        );
    }
    writer.join().expect("the writer thread");
    let nothing = follower
        .next_timeout(Duration::from_millis(30))
        .expect("waiting at the end is no error");
    assert_eq!(nothing, None, "every frame arrived exactly once");
    let with_messages = (0..=LAST_SEGMENT).filter(|&s| count(s) > 0).count();
    assert_eq!(segments_read.len(), with_messages);
    assert!(with_messages >= 50, "at least 50 rotations were followed");

    // Not following, the same directory reads through its open segment.
    let mut reader = Follower::open(&dir.0, deframer())
        .expect("open")
        .with_follow(false);
    assert_eq!(
        read_rest(&mut reader),
        (0..total).map(payload).collect::<Vec<_>>()
    );
}

#[test]
fn a_segment_renamed_after_the_last_look_is_read_to_its_final_end() {
    let dir = TempDir::new("final-end");
    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    let mut first = TestSegment::begin(&dir.0, 0, 0);
    first.append(&payload(0));
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    let waited = follower
        .next_timeout(Duration::from_millis(10))
        .expect("at the end of the open segment");
    assert_eq!(waited, None);

    // While the follower is not looking: two more frames, the rename, and
    // the next segment with frames of its own.
    first.append(&payload(1));
    first.append(&payload(2));
    let (closed, _) = first.close();
    let mut second = TestSegment::begin(&dir.0, 1, 3);
    second.append(&payload(3));

    for i in 1..4 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)), "message {i}");
    }
    assert_eq!(follower.position().segment, 1);
    assert_eq!(follower.next_message(), 4);
    // Errors in the renamed segment would name its closed path.
    assert!(closed.exists());
}

#[test]
fn an_open_segment_that_cannot_be_read_past_is_left_once_closed() {
    let dir = TempDir::new("stuck");
    let mut first = TestSegment::begin(&dir.0, 0, 0);
    first.append(&payload(0));
    let bad_at = first.writer.bytes_written();
    // A frame declaring a length over the limit: the follower cannot know
    // where the next frame starts.
    let mut bad = 0xffff_fff0_u32.to_le_bytes().to_vec();
    bad.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    first.writer.get_mut().write_all(&bad).expect("write");

    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    let open_path = first.segment.path.clone();
    for _ in 0..2 {
        let error = next_error(&mut follower, &open_path, bad_at, 2);
        assert!(
            matches!(error.kind(), ErrorKind::FrameTooLarge { .. }),
            "{error:?}"
        );
    }

    // Rotation: the writer closes it and goes on in the next segment.
    let (closed, _) = first.close();
    let mut second = TestSegment::begin(&dir.0, 1, 1);
    second.append(&payload(1));
    let error = next_error(&mut follower, &closed, bad_at, 2);
    assert!(
        matches!(error.kind(), ErrorKind::FrameTooLarge { .. }),
        "{error:?}"
    );
    assert_eq!(
        next_owned(&mut follower),
        Some(payload(1)),
        "on with the next segment"
    );
    assert_eq!(follower.position().segment, 1);
}

#[test]
fn an_empty_directory_ends_when_not_following() {
    let dir = TempDir::new("empty-dir");
    let mut follower = Follower::open(&dir.0, deframer())
        .expect("open")
        .with_follow(false);
    assert_eq!(follower.next().expect("no segment yet"), None);
    assert_eq!(follower.next_message(), 0);
    assert!(follower.header().is_none());
}

#[test]
fn resuming_at_a_saved_position_reads_exactly_the_rest() {
    let dir = TempDir::new("resume");
    let file = dir.0.join("plain.fstream");
    let segments = dir.0.join("segments");
    fs::create_dir(&segments).expect("create");
    const TOTAL: u64 = 12;

    let mut writer = StreamWriter::new(File::create(&file).expect("create"), framer());
    writer.write_header(&StreamHeader::new()).expect("header");
    for i in 0..TOTAL {
        writer.write_payload(&payload(i)).expect("write");
    }
    drop(writer);
    // An empty segment too: a boundary right after another.
    write_closed_segments(&segments, &[4, 3, 0, 5]);

    for path in [&file, &segments] {
        for cut in 0..=TOTAL {
            let mut first = Follower::open(path, deframer())
                .expect("open")
                .with_follow(false);
            for i in 0..cut {
                assert_eq!(next_owned(&mut first), Some(payload(i)));
            }
            assert_eq!(first.next_message(), cut);
            let at = first.position();

            let mut resumed = Follower::open_at(path, deframer(), at)
                .expect("resume")
                .with_follow(false);
            assert_eq!(resumed.next_message(), cut, "{} at {at}", path.display());
            assert_eq!(resumed.position(), at);
            assert_eq!(
                read_rest(&mut resumed),
                (cut..TOTAL).map(payload).collect::<Vec<_>>(),
                "{} resumed at {at}",
                path.display()
            );
        }
    }

    // A position past the end of its file is refused, not waited on.
    let len = fs::metadata(&file).expect("stat").len();
    let past = CapturePosition {
        segment: 0,
        frame: 99,
        offset: len + 1,
    };
    let error = Follower::open_at(&file, deframer(), past).expect_err("past the end");
    assert!(
        matches!(&error, Error::Invalid { path, .. } if *path == file),
        "{error:?}"
    );
}

#[test]
fn segments_deleted_before_they_were_read_are_reported_once() {
    let dir = TempDir::new("gone");
    let segments = write_closed_segments(&dir.0, &[3, 3, 3, 3, 3]);

    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    assert_eq!(next_owned(&mut follower), Some(payload(1)));
    // Retention deletes what the follower has not read yet.
    fs::remove_file(&segments[1].0).expect("delete");
    fs::remove_file(&segments[2].0).expect("delete");
    assert_eq!(next_owned(&mut follower), Some(payload(2)));
    let error = follower
        .next()
        .expect_err("the deleted segments are reported");
    assert!(
        matches!(error, Error::SegmentsGone { first: 1, last: 2 }),
        "{error:?}"
    );
    assert_eq!(
        follower.next_message(),
        9,
        "numbered by the next segment's header"
    );
    assert_eq!(follower.position().segment, 3);
    for i in 9..15 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)), "once, then on");
    }
    let nothing = follower
        .next_timeout(Duration::from_millis(20))
        .expect("the end");
    assert_eq!(nothing, None);

    // Resuming in a deleted segment says so too.
    let at = CapturePosition {
        segment: 1,
        frame: 2,
        offset: segments[1].1[1],
    };
    let mut resumed = Follower::open_at(&dir.0, deframer(), at).expect("resume");
    let error = resumed
        .next()
        .expect_err("the deleted segments are reported");
    assert!(
        matches!(error, Error::SegmentsGone { first: 1, last: 2 }),
        "{error:?}"
    );
    assert_eq!(next_owned(&mut resumed), Some(payload(9)));

    // Opened from the start, a capture starts at its first segment kept.
    fs::remove_file(&segments[0].0).expect("delete");
    let mut fresh = Follower::open(&dir.0, deframer()).expect("open");
    assert_eq!(fresh.next_message(), 9);
    assert_eq!(next_owned(&mut fresh), Some(payload(9)));
}

#[test]
fn a_closed_segment_cut_at_a_frame_boundary_is_reported_as_lost_messages() {
    // Segments of 3, 4 and 3 messages (0-2, 3-6, 7-9); the middle one is cut
    // after each of its frames in turn (after its header: all 4 lost; 0
    // bytes: emptied, header and all).
    let layout = TempDir::new("cut-layout");
    let segments = write_closed_segments(&layout.0, &[3, 4, 3]);
    let middle = fs::read(&segments[1].0).expect("read");
    let mut cuts: Vec<(u64, u64)> = segments[1].1.iter().copied().zip(3..).collect();
    cuts.push((0, 3));
    for (cut, kept_until) in cuts {
        let dir = TempDir::new("cut");
        let paths = write_closed_segments(&dir.0, &[3, 4, 3]);
        fs::write(&paths[1].0, &middle[..usize::try_from(cut).expect("small")]).expect("cut");

        let mut follower = Follower::open(&dir.0, deframer())
            .expect("open")
            .with_follow(false);
        let mut got = Vec::new();
        let mut error = loop {
            match follower.next() {
                Ok(Some(m)) => got.push(m.to_vec()),
                Ok(None) => panic!("cut at {cut}: the loss was not reported"),
                Err(error) => break error,
            }
        };
        if cut == 0 {
            // Emptied: said first, then what it cost.
            assert!(
                matches!(&error, Error::Invalid { reason, .. } if reason.contains("the closed segment is empty")),
                "{error:?}"
            );
            error = follower.next().expect_err("the count follows");
        }
        let expected: Vec<_> = (0..kept_until).map(payload).collect();
        assert_eq!(got, expected, "cut at {cut}: every message before the cut");
        assert!(
            matches!(error, Error::MessagesLost { segment: 2, first, end: 7 } if first == kept_until),
            "cut at {cut}: {error:?}"
        );
        let shown = error.to_string();
        assert!(
            shown.contains(&format!(
                "messages {kept_until} to 7 (end excluded) are lost"
            )),
            "{shown}"
        );
        // Reported once; then the rest, numbered by the next header.
        assert_eq!(follower.next_message(), 7);
        assert_eq!(
            read_rest(&mut follower),
            (7..10).map(payload).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_gap_before_a_segment_entered_before_its_header_landed_is_reported_too() {
    let dir = TempDir::new("gap-before-empty");
    // Segment 0 holds messages 0-2; segment 1 will say it starts at 10.
    let mut first = TestSegment::begin(&dir.0, 0, 0);
    for i in 0..3 {
        first.append(&payload(i));
    }
    first.close();
    // Segment 1 created, its header not written yet (as between a writer's
    // create and its first flush).
    let second = Segment::new(&dir.0, 1, SystemTime::now(), true);
    File::create(&second.path).expect("create");
    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    for i in 0..3 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)));
    }
    assert_eq!(
        follower
            .next_timeout(Duration::from_millis(50))
            .expect("waiting for the header"),
        None
    );
    // The header and a message land.
    let mut writer = StreamWriter::new(
        OpenOptions::new()
            .append(true)
            .open(&second.path)
            .expect("open"),
        framer(),
    );
    let header = StreamHeader::new()
        .with_metadata(META_SEQUENCE, "1")
        .with_metadata(META_FIRST_MESSAGE, "10")
        .with_metadata(META_START, format_utc(second.start));
    writer.write_header(&header).expect("header");
    writer.write_payload(&payload(10)).expect("message");
    writer.flush().expect("flush");
    next_lost(&mut follower, 1, 3, 10);
    assert_eq!(next_owned(&mut follower), Some(payload(10)));
}

/// Makes a FIFO at `path` (replacing what is there).
#[cfg(unix)]
fn make_fifo(path: &Path) {
    let _ = fs::remove_file(path);
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A FIFO where a segment or a sidecar index belongs is refused at once,
/// naming it: opening one for reading would block until a writer came.
#[cfg(unix)]
#[test]
fn a_fifo_in_a_capture_directory_is_refused_not_waited_on() {
    let dir = TempDir::new("fifo");
    let segments = write_closed_segments(&dir.0, &[3, 3, 3]);
    let listed = flatstream_capture::segment::list(&dir.0).expect("list");
    // A sidecar that is a FIFO: the seek reads the segment instead.
    make_fifo(&listed[1].index_path());
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.0.clone();
    thread::spawn(move || {
        let _ = tx.send(
            flatstream_capture::seek_to_message(&path, deframer(), 4).map_err(|e| e.to_string()),
        );
    });
    let at = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the seek does not hang on the FIFO")
        .expect("seek by scanning");
    assert_eq!((at.segment, at.offset), (1, segments[1].1[1]));
    // A segment that is a FIFO: an error naming it, promptly.
    make_fifo(&segments[1].0);
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.0.clone();
    thread::spawn(move || {
        let mut follower = Follower::open(&path, deframer())
            .expect("open")
            .with_follow(false);
        let mut read = 0;
        let error = loop {
            match follower.next() {
                Ok(Some(_)) => read += 1,
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
        };
        let _ = tx.send((read, error.map(|e| e.to_string())));
    });
    let (read, error) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the follower does not hang on the FIFO");
    assert_eq!(read, 3, "the segment before it");
    let error = error.expect("an error");
    assert!(
        error.contains(&segments[1].0.display().to_string()) && error.contains("FIFO"),
        "{error}"
    );
}

#[test]
fn damage_in_a_segment_is_an_error_naming_that_file() {
    let dir = TempDir::new("damage");
    let closed = write_closed_segments(&dir.0, &[3, 3, 3, 3, 3]);
    let mut open = TestSegment::begin(&dir.0, 5, 15);
    for i in 15..18 {
        open.append(&payload(i));
    }

    let patch = |path: &Path, offset: u64, bytes: &[u8]| {
        let mut file = OpenOptions::new().write(true).open(path).expect("open");
        file.seek(SeekFrom::Start(offset)).expect("seek");
        file.write_all(bytes).expect("patch");
    };
    let frame_len = |i: u64| frame_bytes(&payload(i)).len() as u64;
    // Segment 1: its header frame's checksum has a flipped bit (its payload
    // still reads as a header).
    let (seg1, _) = &closed[1];
    let mut crc = [0_u8; 1];
    let mut file = File::open(seg1).expect("open");
    file.seek(SeekFrom::Start(4)).expect("seek");
    std::io::Read::read_exact(&mut file, &mut crc).expect("read");
    patch(seg1, 4, &[crc[0] ^ 1]);
    // Segment 2: message 7 (its frame 2) has a flipped payload byte.
    let (seg2, offsets2) = &closed[2];
    patch(seg2, offsets2[1] + frame_len(7) - 1, b"#");
    // Segment 3: message 10 declares a length over the limit.
    let (seg3, offsets3) = &closed[3];
    patch(seg3, offsets3[1], &0xffff_fff0_u32.to_le_bytes());
    // Segment 4: closed with its last frame torn.
    let (seg4, offsets4) = &closed[4];
    let len4 = fs::metadata(seg4).expect("stat").len();
    OpenOptions::new()
        .write(true)
        .open(seg4)
        .expect("open")
        .set_len(len4 - 3)
        .expect("truncate");
    // Segment 5, still open: message 16 has a flipped payload byte.
    patch(
        &open.segment.path,
        open.offsets[1] + frame_len(16) - 1,
        b"#",
    );

    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    let read = |follower: &mut Follower<_>, messages: core::ops::Range<u64>| {
        for i in messages {
            assert_eq!(next_owned(follower), Some(payload(i)), "message {i}");
        }
    };
    read(&mut follower, 0..3);
    let header = next_error(&mut follower, seg1, 0, 0);
    assert!(
        matches!(header.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{header:?}"
    );
    assert_eq!(follower.next_message(), 3, "a damaged header is no message");
    read(&mut follower, 3..7);
    let mismatch = next_error(&mut follower, seg2, offsets2[1], 2);
    assert!(
        matches!(mismatch.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{mismatch:?}"
    );
    // On after the damaged frame.
    read(&mut follower, 8..10);
    let too_large = next_error(&mut follower, seg3, offsets3[1], 2);
    assert!(
        matches!(too_large.kind(), ErrorKind::FrameTooLarge { .. }),
        "{too_large:?}"
    );
    // The rest of segment 3 cannot be found: on with segment 4, whose
    // header says how many messages that cost.
    next_lost(&mut follower, 4, 10, 12);
    read(&mut follower, 12..14);
    let torn = next_error(&mut follower, seg4, offsets4[2], 3);
    assert!(
        torn.is_unexpected_eof(),
        "a torn tail in a closed segment: {torn:?}"
    );
    next_lost(&mut follower, 5, 14, 15);
    read(&mut follower, 15..16);
    let in_open = next_error(&mut follower, &open.segment.path, open.offsets[1], 2);
    assert!(
        matches!(in_open.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{in_open:?}"
    );
    read(&mut follower, 17..18);
    let nothing = follower
        .next_timeout(Duration::from_millis(20))
        .expect("the end of the open segment");
    assert_eq!(nothing, None);
}

/// The next call's error: [`Error::MessagesLost`] before segment `segment`,
/// messages `first` to `end` (end excluded).
fn next_lost(follower: &mut Follower<ChecksumDeframer<Crc32>>, segment: u64, first: u64, end: u64) {
    let lost = follower.next().expect_err("the messages lost are counted");
    assert!(
        matches!(lost, Error::MessagesLost { segment: s, first: f, end: e } if (s, f, e) == (segment, first, end)),
        "{lost:?}"
    );
}

/// The next call's error: promptly, a stream error naming `path`, at
/// `offset` and frame `frame`, in its words too.
fn next_error(
    follower: &mut Follower<ChecksumDeframer<Crc32>>,
    path: &Path,
    offset: u64,
    frame: u64,
) -> flatstream::Error {
    let started = Instant::now();
    let error = follower.next().expect_err("damage is an error");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "reported, not waited on"
    );
    let text = error.to_string();
    let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
    assert!(
        text.contains(name) && text.contains(&format!("frame {frame} at byte offset {offset}")),
        "{text}"
    );
    match error {
        Error::Stream {
            path: Some(named),
            source,
        } => {
            assert_eq!(named, path);
            assert_eq!(source.position(), Some(Position { offset, frame }));
            source
        }
        other => panic!("expected a stream error naming a file, got {other:?}"),
    }
}

#[test]
fn stop_ends_a_blocked_next_from_another_thread() {
    let dir = TempDir::new("stop");
    // A poll interval far longer than the test: only the stop can end the
    // wait in time.
    let mut follower = Follower::open(&dir.0, deframer())
        .expect("open")
        .with_poll_interval(Duration::from_secs(600));
    let stop = follower.stop_handle();
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let result = follower.next().map(|m| m.map(<[u8]>::to_vec));
        let _ = done.send((result.expect("stopping is no error"), follower));
    });
    assert!(
        finished.recv_timeout(Duration::from_millis(50)).is_err(),
        "next() blocks while there is nothing"
    );
    assert!(!stop.is_stopped());
    stop.stop();
    let (result, mut follower) = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the stop ends the wait long before the poll interval");
    assert_eq!(result, None);
    // Stopped for good, even with messages there.
    write_closed_segments(&dir.0, &[2]);
    assert_eq!(follower.next().expect("stopped").map(<[u8]>::to_vec), None);
}

#[test]
fn reading_allocates_nothing_once_warm() {
    let dir = TempDir::new("alloc");
    let path = dir.0.join("alloc.fstream");
    let mut file = File::create(&path).expect("create");
    let mut follower = Follower::open(&path, deframer())
        .expect("open")
        .with_poll_interval(Duration::from_micros(100));
    const MESSAGES: u64 = 2000;
    let frames: Vec<Vec<u8>> = (0..MESSAGES).map(|i| frame_bytes(&payload(i))).collect();
    let writer = thread::spawn(move || {
        for (i, frame) in frames.iter().enumerate() {
            file.write_all(frame).expect("write");
            if i % 50 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    for i in 0..100 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)));
    }
    // Counted on this thread only: the writer's allocations do not count.
    let before = counting::thread_allocations();
    for i in 100..MESSAGES {
        let message = follower.next().expect("read").expect("a message");
        // Checked against a prefix formatted on the stack: no allocation.
        let mut expected = [0_u8; 32];
        let mut rest = &mut expected[..];
        write!(rest, "message {i}:").expect("fits");
        let len = 32 - rest.len();
        assert!(message.starts_with(&expected[..len]), "message {i}");
    }
    let allocated = counting::thread_allocations() - before;
    writer.join().expect("the writer thread");
    assert_eq!(
        allocated, 0,
        "allocations while reading, waiting at the end included"
    );
}

#[test]
fn a_segment_deleted_while_read_is_read_to_its_end_and_a_reused_number_is_read_too() {
    let dir = TempDir::new("vanished");
    let mut first = TestSegment::begin(&dir.0, 0, 0);
    first.append(&payload(0));
    first.append(&payload(1));
    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    assert_eq!(next_owned(&mut follower), Some(payload(1)));

    // Deleted under both names while its writer still writes it: the
    // follower reads on through the file it holds, and waits there while
    // no later segment says the writer moved on.
    fs::remove_file(&first.segment.path).expect("delete");
    first.append(&payload(2));
    assert_eq!(next_owned(&mut follower), Some(payload(2)));
    let waited = follower
        .next_timeout(Duration::from_millis(20))
        .expect("waiting is no error");
    assert_eq!(waited, None);
    drop(first);

    // A writer that reuses numbers: another segment 0 (another start time),
    // then segment 1. Both are read, nothing is reported missing.
    let mut again = TestSegment::begin(&dir.0, 0, 3);
    again.append(&payload(3));
    again.append(&payload(4));
    again.close();
    let mut next = TestSegment::begin(&dir.0, 1, 5);
    next.append(&payload(5));
    for i in 3..6 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)), "message {i}");
    }
    assert_eq!(
        (follower.position().segment, follower.next_message()),
        (1, 6)
    );
}

#[test]
fn a_followed_segment_renamed_by_hand_under_its_number_is_not_read_twice() {
    let dir = TempDir::new("renamed-same-number");
    let mut first = TestSegment::begin(&dir.0, 0, 0);
    first.append(&payload(0));
    first.append(&payload(1));
    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    assert_eq!(next_owned(&mut follower), Some(payload(1)));
    // Not its own closed name: another start time in it. The follower finds
    // the number listed again, with the header it read.
    let elsewhere = Segment::new(
        &dir.0,
        0,
        first.segment.start + Duration::from_secs(1),
        false,
    );
    fs::rename(&first.segment.path, &elsewhere.path).expect("rename");
    drop(first);
    let mut second = TestSegment::begin(&dir.0, 1, 2);
    second.append(&payload(2));
    assert_eq!(next_owned(&mut follower), Some(payload(2)), "once each");
}

/// `n` zero bytes appended to `path`: what a file system leaves after a
/// power loss when the data of the last writes never landed.
fn append_zeros(path: &Path, n: usize) {
    let mut file = OpenOptions::new().append(true).open(path).expect("open");
    file.write_all(&vec![0; n]).expect("zero fill");
}

#[test]
fn zero_fill_is_waited_at_while_written_and_an_error_once_closed() {
    let dir = TempDir::new("zero-fill");
    // Segment 0, closed with zero fill after its two messages.
    let closed = write_closed_segments(&dir.0, &[2]);
    let (seg0, _) = &closed[0];
    let end0 = fs::metadata(seg0).expect("stat").len();
    append_zeros(seg0, 40);
    // Segment 1, open, its writer cut off by a power loss.
    let mut open = TestSegment::begin(&dir.0, 1, 2);
    open.append(&payload(2));
    open.append(&payload(3));
    let end1 = open.writer.bytes_written();
    append_zeros(&open.segment.path, 64);

    let mut follower = Follower::open(&dir.0, deframer()).expect("open");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    assert_eq!(next_owned(&mut follower), Some(payload(1)));
    let error = next_error(&mut follower, seg0, end0, 3);
    assert!(error.to_string().contains("zero fill"), "{error}");
    assert_eq!(
        next_owned(&mut follower),
        Some(payload(2)),
        "on with segment 1"
    );
    assert_eq!(next_owned(&mut follower), Some(payload(3)));
    // Waited at, as a torn tail is: no message, no error, nothing consumed.
    let waited = follower
        .next_timeout(Duration::from_millis(20))
        .expect("waiting is no error");
    assert_eq!(waited, None);
    let at = CapturePosition {
        segment: 1,
        frame: 3,
        offset: end1,
    };
    assert_eq!(follower.position(), at);
    // Not following, it is an error, every time.
    let mut reader = Follower::open_at(&dir.0, deframer(), at)
        .expect("open")
        .with_follow(false);
    for _ in 0..2 {
        let error = next_error(&mut reader, &open.segment.path, end1, 3);
        assert!(error.to_string().contains("zero fill"), "{error}");
    }

    // The next writer's recovery truncates it and closes the segment: the
    // follower goes on with the next one.
    OpenOptions::new()
        .write(true)
        .open(&open.segment.path)
        .expect("open")
        .set_len(end1)
        .expect("truncate");
    open.close();
    let mut next = TestSegment::begin(&dir.0, 2, 4);
    next.append(&payload(4));
    assert_eq!(next_owned(&mut follower), Some(payload(4)));
}

/// A CRC-32 stream of `sizes.len()` payloads of those sizes (bytes that
/// are never zero), and the offset of each frame.
fn crc32_file(path: &Path, sizes: &[usize]) -> Vec<u64> {
    let mut writer = StreamWriter::new(File::create(path).expect("create"), framer());
    let mut offsets = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        offsets.push(writer.bytes_written());
        let fill = u8::try_from(i % 200).expect("< 200") + 1;
        writer.write_payload(&vec![fill; size]).expect("write");
    }
    writer.flush().expect("flush");
    offsets
}

/// Zeros over `path` from `from` to its end, and `more` zeros after it.
fn zero_from(path: &Path, from: u64, more: usize) {
    let mut file = OpenOptions::new().write(true).open(path).expect("open");
    let len = file.metadata().expect("stat").len();
    file.seek(SeekFrom::Start(from)).expect("seek");
    let n = usize::try_from(len - from).expect("small") + more;
    file.write_all(&vec![0; n]).expect("zeros");
}

#[test]
fn zero_fill_starting_inside_a_frame_is_zero_fill_as_recovery_says() {
    let dir = TempDir::new("zero-fill-inside");
    let path = dir.0.join("inside.fstream");
    // Frame 2 runs over the 2,048-byte boundary; the zeros start there, so
    // its length survived and its checksum fails.
    let offsets = crc32_file(&path, &[700, 700, 700]);
    let boundary = offsets[2].next_multiple_of(512);
    assert!(boundary > offsets[2] + 8 && boundary < offsets[2] + 708);
    zero_from(&path, boundary, 300);
    let fill = offsets[2];
    // What core's recovery says of the same bytes: the one rule.
    let recovery =
        flatstream::recover(File::open(&path).expect("open"), deframer()).expect("recover");
    assert_eq!(recovery.frames, 2);
    assert!(
        matches!(recovery.tail, flatstream::Tail::ZeroFilled { offset, .. } if offset == fill),
        "{:?}",
        recovery.tail
    );

    // Followed: the two messages, then waiting at the fill, nothing consumed.
    let mut follower = Follower::open(&path, deframer()).expect("open");
    for size in [700, 700] {
        let got = next_owned(&mut follower).expect("a message");
        assert_eq!(got.len(), size);
    }
    let waited = follower
        .next_timeout(Duration::from_millis(20))
        .expect("zero fill is waited at, no error");
    assert_eq!(waited, None);
    assert_eq!(follower.position().offset, fill);
    // Not following: an error that says zero fill, at frame 2.
    let mut reader = Follower::open(&path, deframer())
        .expect("open")
        .with_follow(false);
    next_owned(&mut reader);
    next_owned(&mut reader);
    let error = next_error(&mut reader, &path, fill, 2);
    assert!(error.to_string().contains("zero fill"), "{error}");

    // Recovery truncates it and a writer goes on: the follower reads on.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(fill)
        .expect("truncate");
    let mut writer = StreamWriter::new(
        OpenOptions::new().append(true).open(&path).expect("open"),
        framer(),
    );
    writer.write_payload(&payload(7)).expect("write");
    writer.flush().expect("flush");
    assert_eq!(next_owned(&mut follower), Some(payload(7)));
}

#[test]
fn zeros_that_recovery_calls_damage_stay_a_checksum_mismatch() {
    let dir = TempDir::new("zero-fill-not");
    let path = dir.0.join("short-zeros.fstream");
    let offsets = crc32_file(&path, &[700, 700, 700]);
    // Zeros over the last 10 bytes only, no block boundary crossed: a
    // FlatBuffer may end in zeros of its own, so this is damage.
    let len = fs::metadata(&path).expect("stat").len();
    assert!(
        (len - 10).next_multiple_of(512) >= len,
        "no boundary in the zeros"
    );
    zero_from(&path, len - 10, 0);
    let recovery =
        flatstream::recover(File::open(&path).expect("open"), deframer()).expect("recover");
    assert!(
        matches!(recovery.tail, flatstream::Tail::Corrupt(_)),
        "{:?}",
        recovery.tail
    );
    let mut follower = Follower::open(&path, deframer()).expect("open");
    next_owned(&mut follower);
    next_owned(&mut follower);
    let error = next_error(&mut follower, &path, offsets[2], 2);
    assert!(
        matches!(error.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{error}"
    );
}

#[test]
fn zero_fill_that_fails_its_checksum_is_zero_fill_too() {
    // XXH64 of nothing is not zero: a frame of zero bytes fails its
    // checksum instead of passing for an empty payload.
    let dir = TempDir::new("zero-fill-xxh");
    let path = dir.0.join("xxh.fstream");
    let mut writer = StreamWriter::new(
        File::create(&path).expect("create"),
        ChecksumFramer::new(XxHash64),
    );
    writer.write_payload(&payload(0)).expect("write");
    let end = writer.bytes_written();
    append_zeros(&path, 48);
    let next = |follower: &mut Follower<ChecksumDeframer<XxHash64>>| {
        follower
            .next_timeout(Duration::from_millis(20))
            .map(|m| m.map(<[u8]>::to_vec))
    };

    let mut follower = Follower::open(&path, ChecksumDeframer::new(XxHash64)).expect("open");
    assert_eq!(next(&mut follower).expect("read"), Some(payload(0)));
    assert_eq!(next(&mut follower).expect("waited at, no error"), None);
    assert_eq!(follower.position().offset, end);
    // Not following, the error says zero fill, not a checksum mismatch.
    let mut reader = Follower::open(&path, ChecksumDeframer::new(XxHash64))
        .expect("open")
        .with_follow(false);
    assert_eq!(next(&mut reader).expect("read"), Some(payload(0)));
    let error = next(&mut reader).expect_err("zero fill");
    assert!(error.to_string().contains("zero fill"), "{error}");

    // Truncated (as recovery does) and written on: the follower reads on.
    writer.get_ref().set_len(end).expect("truncate");
    writer.write_payload(&payload(1)).expect("write");
    let mut got = None;
    for _ in 0..100 {
        got = next(&mut follower).expect("read");
        if got.is_some() {
            break;
        }
    }
    assert_eq!(got, Some(payload(1)));
}

#[test]
fn a_truncated_torn_tail_is_read_again_and_a_deeper_cut_is_an_error() {
    let dir = TempDir::new("shrunk");
    let path = dir.0.join("shrunk.fstream");
    let mut file = File::create(&path).expect("create");
    file.write_all(&frame_bytes(&payload(0))).expect("write");
    let end = file.stream_position().expect("position");
    let torn = frame_bytes(&payload(1));
    file.write_all(&torn[..torn.len() / 2]).expect("write");
    let mut follower = Follower::open(&path, deframer()).expect("open");
    assert_eq!(next_owned(&mut follower), Some(payload(0)));
    let waited = follower
        .next_timeout(Duration::from_millis(20))
        .expect("a torn tail is waited at");
    assert_eq!(waited, None);

    // Recovery truncates the torn frame, and the writer writes another one
    // there: the bytes of the torn one the follower read are not used.
    file.set_len(end).expect("truncate");
    let waited = follower
        .next_timeout(Duration::from_millis(20))
        .expect("cut back no further than the follower's position: no error");
    assert_eq!(waited, None);
    file.seek(SeekFrom::Start(end)).expect("seek");
    file.write_all(&frame_bytes(&payload(7))).expect("write");
    assert_eq!(next_owned(&mut follower), Some(payload(7)));

    // Cut below the follower's position: an error naming the file and both
    // lengths.
    let position = follower.position().offset;
    file.set_len(3).expect("truncate");
    match follower.next_timeout(Duration::from_millis(50)) {
        Err(Error::Invalid {
            path: named,
            reason,
        }) => {
            assert_eq!(named, path);
            assert!(
                reason.contains("3 bytes") && reason.contains(&format!("{position}")),
                "{reason}"
            );
        }
        other => panic!("{:?}", other.map(|m| m.map(<[u8]>::to_vec))),
    }
}

#[test]
fn positions_that_cannot_be_frame_starts_are_refused_naming_the_file() {
    let dir = TempDir::new("refused");
    let segments = write_closed_segments(&dir.0, &[3]);
    let (path, offsets) = &segments[0];
    let header_end = offsets[0];
    let len = fs::metadata(path).expect("stat").len();
    let position = |frame, offset| CapturePosition {
        segment: 0,
        frame,
        offset,
    };
    for at in [
        position(0, offsets[1]),
        position(2, 0),
        position(1, 5),
        position(1, header_end - 1),
        position(2, header_end),
        position(5, len + 1),
    ] {
        for target in [path.as_path(), dir.0.as_path()] {
            match Follower::open_at(target, deframer(), at) {
                Err(Error::Invalid {
                    path: named,
                    reason,
                }) => {
                    assert_eq!(&named, path);
                    assert!(reason.contains(&at.to_string()), "{reason}");
                }
                other => panic!("{at} in {}: {other:?}", target.display()),
            }
        }
    }
    // Frame starts are taken: the header's end as frame 1, and the end.
    for (at, first) in [
        (position(1, header_end), Some(payload(0))),
        (position(3, offsets[2]), Some(payload(2))),
        (position(4, len), None),
    ] {
        let mut follower = Follower::open_at(path, deframer(), at)
            .expect("a frame start")
            .with_follow(false);
        assert_eq!(follower.next().expect("read").map(<[u8]>::to_vec), first);
    }
}

/// The largest sequence number ends a capture: the follower reads the
/// segment numbered `u64::MAX` once and stops (it used to enter it again
/// and again, repeating its messages). Following, it waits at its end.
#[test]
fn a_segment_numbered_u64_max_is_read_once_and_ends_the_capture() {
    let dir = TempDir::new("largest-sequence");
    let mut message = 0;
    for sequence in [u64::MAX - 1, u64::MAX] {
        let mut segment = TestSegment::begin(&dir.0, sequence, message);
        for _ in 0..2 {
            segment.append(&payload(message));
            message += 1;
        }
        segment.close();
    }
    let mut follower = Follower::open(&dir.0, deframer())
        .expect("open")
        .with_follow(false);
    let read = read_rest(&mut follower);
    assert_eq!(read, (0..4).map(payload).collect::<Vec<_>>());
    assert_eq!(follower.next().expect("the end"), None);

    let mut follower = Follower::open(&dir.0, deframer())
        .expect("open")
        .with_poll_interval(Duration::from_millis(1));
    for i in 0..4 {
        assert_eq!(next_owned(&mut follower), Some(payload(i)));
    }
    let waited = follower
        .next_timeout(Duration::from_millis(50))
        .expect("waiting at the end is not an error")
        .map(<[u8]>::to_vec);
    assert_eq!(waited, None, "nothing follows segment u64::MAX");
}
