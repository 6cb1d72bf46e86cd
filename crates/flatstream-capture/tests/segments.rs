//! `SegmentWriter`: rotation, standalone segments, restart after a crash,
//! corruption, the directory lock, retention, and positions.

#[path = "support/common.rs"]
mod common;

use common::TempDir;
use core::time::Duration;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, ErrorKind, Framer, StreamHeader, StreamReader, Tail,
};
use flatstream_capture::segment::{
    self, META_FIRST_MESSAGE, META_SEQUENCE, META_START, Segment, format_utc,
};
use flatstream_capture::{
    CapturePosition, CaptureSink, Error, Follower, IndexOptions, Retention, Rotation,
    SegmentOptions, SegmentWriter,
};

type Writer = SegmentWriter<ChecksumFramer<Crc32>, ChecksumDeframer<Crc32>>;

/// Bytes of a CRC-32 frame's header: the length and the checksum.
const FRAME_HEADER: u64 = 8;

fn open(dir: &Path, options: SegmentOptions) -> Result<Writer, Error> {
    SegmentWriter::open(
        dir,
        ChecksumFramer::new(Crc32),
        ChecksumDeframer::new(Crc32),
        options,
    )
}

/// Message `i`: 16 bytes, distinct, never all zeros.
fn message(i: u64) -> Vec<u8> {
    format!("message {i:08}").into_bytes()
}

/// A segment file's header and messages, read by core's reader.
fn read_segment(path: &Path) -> (StreamHeader, Vec<Vec<u8>>) {
    let file = File::open(path).expect("open segment");
    let mut reader = StreamReader::new(file, ChecksumDeframer::new(Crc32));
    let header = reader
        .header()
        .expect("read header")
        .cloned()
        .expect("every segment starts with a header");
    let mut messages = Vec::new();
    while let Some(payload) = reader.read_message().expect("read message") {
        messages.push(payload.to_vec());
    }
    (header, messages)
}

/// What core's recovery says about a segment file.
fn recovery(path: &Path) -> flatstream::Recovery {
    let file = File::open(path).expect("open segment");
    flatstream::recover(file, ChecksumDeframer::new(Crc32)).expect("recover")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("a file name")
        .to_owned()
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}

#[test]
fn rotation_by_frames_makes_standalone_segments_whose_message_numbers_chain() {
    let dir = TempDir::absent("by-frames");
    let user = StreamHeader::new()
        .with_root_type("example.Reading")
        .with_metadata("host", "probe-7")
        .with_metadata(META_SEQUENCE, "not the writer's");
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_frames(3))
        .with_header(user)
        .with_index(IndexOptions::new());
    let mut writer = open(&dir.0, options).expect("open");
    assert_eq!(writer.open_segment(), None, "segments are created lazily");
    for i in 0..10 {
        writer.write_payload(&message(i)).expect("write");
    }
    writer.finish().expect("finish");
    assert_eq!(writer.next_message(), 10);
    drop(writer);

    let segments = segment::list(&dir.0).expect("list");
    let sequences: Vec<u64> = segments.iter().map(|s| s.sequence).collect();
    assert_eq!(sequences, [0, 1, 2, 3]);
    let names: Vec<String> = segments.iter().map(|s| file_name(&s.path)).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "names sort in the order segments were written"
    );

    let mut all = Vec::new();
    let mut next_first = 0;
    for s in &segments {
        assert!(!s.open, "{} is closed", s.path.display());
        let recovered = recovery(&s.path);
        assert!(
            matches!(recovered.tail, Tail::Clean),
            "{}",
            s.path.display()
        );
        assert_eq!(recovered.valid_len, len(&s.path));
        let (header, messages) = read_segment(&s.path);
        assert_eq!(
            recovered.frames,
            messages.len() as u64 + 1,
            "header + messages"
        );
        assert_eq!(header.root_type, "example.Reading");
        assert_eq!(header.metadata("host"), Some("probe-7"));
        assert_eq!(
            header.metadata(META_SEQUENCE),
            Some(s.sequence.to_string().as_str())
        );
        assert_eq!(
            header.metadata(META_FIRST_MESSAGE),
            Some(next_first.to_string().as_str())
        );
        assert_eq!(
            header.metadata(META_START),
            Some(format_utc(s.start).as_str())
        );
        assert!(s.index_path().exists(), "{} has an index", s.path.display());
        next_first += messages.len() as u64;
        all.extend(messages);
    }
    let lens: Vec<usize> = segments
        .iter()
        .map(|s| read_segment(&s.path).1.len())
        .collect();
    assert_eq!(lens, [3, 3, 3, 1]);
    assert_eq!(all, (0..10).map(message).collect::<Vec<_>>());
}

#[test]
fn rotation_by_bytes_keeps_each_segment_within_the_limit() {
    let dir = TempDir::absent("by-bytes");
    let limit = 300;
    let options = SegmentOptions::new().with_rotation(Rotation::by_bytes(limit));
    let mut writer = open(&dir.0, options).expect("open");
    for i in 0..20 {
        writer.write_payload(&message(i)).expect("write");
    }
    // Larger than a segment may be: it gets a segment of its own.
    let big = vec![7u8; 1000];
    writer.write_payload(&big).expect("write big");
    writer.write_payload(&message(20)).expect("write after big");
    writer.finish().expect("finish");
    drop(writer);

    let segments = segment::list(&dir.0).expect("list");
    assert!(
        segments.len() >= 3,
        "20 messages of 24 bytes need several segments"
    );
    let frame = FRAME_HEADER + message(0).len() as u64;
    let (last, full) = segments.split_last().expect("segments");
    let (big_segment, before_big) = full.split_last().expect("segments");
    for s in before_big {
        let bytes = len(&s.path);
        assert!(bytes <= limit, "{} holds {bytes} bytes", s.path.display());
        let next_frame = if s.sequence + 1 == big_segment.sequence {
            FRAME_HEADER + big.len() as u64
        } else {
            frame
        };
        assert!(
            bytes + next_frame > limit,
            "{} rotated early",
            s.path.display()
        );
    }
    assert_eq!(
        read_segment(&big_segment.path).1,
        core::slice::from_ref(&big)
    );
    assert!(len(&big_segment.path) > limit);
    assert_eq!(read_segment(&last.path).1, [message(20)]);
    let total: usize = segments.iter().map(|s| read_segment(&s.path).1.len()).sum();
    assert_eq!(total, 22);
}

#[test]
fn rotation_by_age_happens_on_tick_without_new_messages() {
    let dir = TempDir::absent("by-age");
    let options = SegmentOptions::new().with_rotation(Rotation::by_age(Duration::from_secs(60)));
    let mut writer = open(&dir.0, options).expect("open");
    writer.write_payload(&message(0)).expect("write");
    writer.write_payload(&message(1)).expect("write");
    writer.tick(SystemTime::now()).expect("tick");
    assert!(writer.open_segment().is_some(), "not old enough yet");

    writer
        .tick(SystemTime::now() + Duration::from_secs(120))
        .expect("tick later");
    assert_eq!(writer.open_segment(), None, "the old segment was closed");
    assert_eq!(
        writer.position(),
        CapturePosition {
            segment: 1,
            frame: 0,
            offset: 0
        }
    );
    let segments = segment::list(&dir.0).expect("list");
    assert_eq!(segments.len(), 1);
    assert!(!segments[0].open);
    assert_eq!(read_segment(&segments[0].path).1, [message(0), message(1)]);

    writer.write_payload(&message(2)).expect("write");
    let open = writer.open_segment().expect("a new segment").clone();
    assert_eq!(open.sequence, 1);
    writer.sync().expect("sync");
    let (header, messages) = read_segment(&open.path);
    assert_eq!(header.metadata(META_FIRST_MESSAGE), Some("2"));
    assert_eq!(messages, [message(2)]);
}

#[test]
fn restart_after_a_crash_truncates_the_torn_tail_and_continues_the_numbers() {
    let dir = TempDir::absent("crash");
    let options = || {
        SegmentOptions::new()
            .with_rotation(Rotation::by_frames(3))
            .with_index(IndexOptions::new())
    };
    let mut writer = open(&dir.0, options()).expect("open");
    for i in 0..5 {
        writer.write_payload(&message(i)).expect("write");
    }
    writer.sync().expect("sync");
    let synced = writer.position();
    let open_path = writer.open_segment().expect("open segment").path.clone();
    assert_eq!(synced.segment, 1, "segment 0 holds messages 0 to 2");
    assert_eq!(len(&open_path), synced.offset);

    // A crash in the middle of the next frame: its header and part of its
    // payload reached the file.
    let mut file = OpenOptions::new()
        .append(true)
        .open(&open_path)
        .expect("open file");
    file.write_all(&[100, 0, 0, 0, 1, 2, 3, 4, b'p', b'a', b'r', b't'])
        .expect("append torn frame");
    drop(file);
    // Dropping without `finish` only releases the lock.
    drop(writer);
    assert!(open_path.exists(), "dropping does not close the segment");
    assert_eq!(len(&open_path), synced.offset + 12);

    let mut writer = open(&dir.0, options()).expect("reopen");
    assert!(!open_path.exists(), "the recovered segment was closed");
    let closed = Segment::parse(&open_path)
        .expect("a segment name")
        .closed_path();
    assert_eq!(len(&closed), synced.offset, "the torn bytes are gone");
    assert!(matches!(recovery(&closed).tail, Tail::Clean));
    let (header, messages) = read_segment(&closed);
    assert_eq!(header.metadata(META_FIRST_MESSAGE), Some("3"));
    assert_eq!(
        messages,
        [message(3), message(4)],
        "every complete frame kept"
    );
    let closed_segment = Segment::parse(&closed).expect("closed name");
    assert!(
        closed_segment.index_path().exists(),
        "its index was rebuilt"
    );
    assert_eq!(writer.next_message(), 5);
    assert_eq!(
        writer.position(),
        CapturePosition {
            segment: 2,
            frame: 0,
            offset: 0
        }
    );

    writer
        .write_payload(&message(5))
        .expect("write after restart");
    writer.finish().expect("finish");
    drop(writer);
    let segments = segment::list(&dir.0).expect("list");
    assert_eq!(
        segments.iter().map(|s| s.sequence).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(segments.iter().all(|s| !s.open));
    let (header, messages) = read_segment(&segments[2].path);
    assert_eq!(header.metadata(META_SEQUENCE), Some("2"));
    assert_eq!(header.metadata(META_FIRST_MESSAGE), Some("5"));
    assert_eq!(messages, [message(5)]);
    let all: Vec<Vec<u8>> = segments
        .iter()
        .flat_map(|s| read_segment(&s.path).1)
        .collect();
    assert_eq!(
        all,
        (0..6).map(message).collect::<Vec<_>>(),
        "nothing lost or duplicated"
    );
}

/// A CRC-32 framer that refuses, in `encode_header`, payloads starting with
/// [`REFUSE`]: a refusal the segment writer cannot see coming, so the
/// segment created for such a payload holds no message.
struct Refusing(ChecksumFramer<Crc32>);

const REFUSE: &[u8] = b"refuse";

impl Framer for Refusing {
    fn header_len(&self) -> usize {
        self.0.header_len()
    }

    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> flatstream::Result<()> {
        if payload.starts_with(REFUSE) {
            return Err(ErrorKind::Custom("refused by the test framer".to_owned()).into());
        }
        self.0.encode_header(payload, header)
    }
}

type RefusingWriter = SegmentWriter<Refusing, ChecksumDeframer<Crc32>>;

fn open_refusing(dir: &Path, options: SegmentOptions) -> Result<RefusingWriter, Error> {
    SegmentWriter::open(
        dir,
        Refusing(ChecksumFramer::new(Crc32)),
        ChecksumDeframer::new(Crc32),
        options,
    )
}

fn sequences(dir: &Path) -> Vec<(u64, bool)> {
    segment::list(dir)
        .expect("list")
        .iter()
        .map(|s| (s.sequence, s.open))
        .collect()
}

#[test]
fn a_payload_the_writer_refuses_creates_no_segment_and_rotates_nothing() {
    let dir = TempDir::absent("refused-up-front");
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_frames(1))
        .with_max_frame_len(32);
    let mut writer = open(&dir.0, options).expect("open");
    writer.write_payload(&message(0)).expect("write");
    let full = writer.open_segment().expect("segment 0").clone();
    let at = writer.position();

    // Segment 0 is full: an accepted message would close it. Refused ones
    // leave it open, and nothing new in the directory.
    for refused in [&b""[..], &[0; 8][..], &[1; 33][..]] {
        let err = writer
            .write_payload(refused)
            .expect_err("refused before rotating");
        let Error::Stream {
            path: Some(path),
            source,
        } = &err
        else {
            panic!("expected a stream error, got {err:?}");
        };
        assert_eq!(path, &full.path, "names the open segment");
        assert!(
            matches!(
                source.kind(),
                ErrorKind::EmptyPayload | ErrorKind::FrameTooLarge { .. }
            ),
            "{err}"
        );
        let position = source.position().expect("the position of the next frame");
        assert_eq!((position.offset, position.frame), (at.offset, at.frame));
        assert_eq!(writer.open_segment(), Some(&full), "not rotated");
        assert_eq!(writer.position(), at);
    }
    assert_eq!(sequences(&dir.0), [(0, true)]);

    // With no segment open, a refused payload creates none: it names the
    // directory.
    writer.rotate().expect("rotate");
    let err = writer.write_payload(&[1; 33]).expect_err("over the limit");
    assert!(
        matches!(&err, Error::Stream { path: Some(path), source }
            if path == &dir.0 && matches!(source.kind(), ErrorKind::FrameTooLarge { declared: 33, limit: 32 })),
        "{err:?}"
    );
    assert_eq!(writer.open_segment(), None);
    assert_eq!(sequences(&dir.0), [(0, false)]);

    writer.write_payload(&message(1)).expect("write");
    assert_eq!(writer.open_segment().expect("segment 1").sequence, 1);
    writer.finish().expect("finish");
    drop(writer);
    assert_eq!(sequences(&dir.0), [(0, false), (1, false)]);
}

#[test]
fn a_segment_without_messages_is_closed_not_removed_and_its_number_never_reused() {
    let dir = TempDir::absent("empty-closed");
    let options = || {
        SegmentOptions::new()
            .with_rotation(Rotation::never())
            .with_index(IndexOptions::new())
    };
    let mut writer = open_refusing(&dir.0, options()).expect("open");
    writer.write_payload(&message(0)).expect("write");
    writer.rotate().expect("rotate");
    // The framer refuses it after segment 1 was created for it.
    writer
        .write_payload(REFUSE)
        .expect_err("the framer refuses it");
    let empty = writer.open_segment().expect("segment 1 is open").clone();
    assert_eq!(empty.sequence, 1);

    // Rotated: closed with its header alone, not removed.
    writer.rotate().expect("rotate");
    assert!(!empty.path.exists());
    let (header, messages) = read_segment(&empty.closed_path());
    assert!(messages.is_empty());
    assert_eq!(header.metadata(META_SEQUENCE), Some("1"));
    assert_eq!(header.metadata(META_FIRST_MESSAGE), Some("1"));
    assert!(matches!(recovery(&empty.closed_path()).tail, Tail::Clean));
    assert!(empty.index_path().exists(), "indexed like any other");
    assert_eq!(writer.position().segment, 2, "number 1 is not used again");
    writer.write_payload(&message(1)).expect("write");
    assert_eq!(writer.open_segment().expect("segment 2").sequence, 2);

    // Another one at `finish`.
    writer.rotate().expect("rotate");
    writer.write_payload(REFUSE).expect_err("refused");
    writer.finish().expect("finish");
    drop(writer);
    assert_eq!(
        sequences(&dir.0),
        [(0, false), (1, false), (2, false), (3, false)]
    );

    // And one left `.open` by a crash: closed at restart.
    let mut writer = open_refusing(&dir.0, options()).expect("reopen");
    writer.write_payload(REFUSE).expect_err("refused");
    let crashed = writer.open_segment().expect("segment 4").clone();
    assert_eq!(crashed.sequence, 4);
    drop(writer);
    let mut writer = open_refusing(&dir.0, options()).expect("reopen");
    assert!(!crashed.path.exists());
    let (header, messages) = read_segment(&crashed.closed_path());
    assert_eq!(header.metadata(META_FIRST_MESSAGE), Some("2"));
    assert!(messages.is_empty());
    assert_eq!(writer.next_message(), 2);
    assert_eq!(writer.position().segment, 5, "its number is not used again");
    writer.write_payload(&message(2)).expect("write");
    writer.finish().expect("finish");
    drop(writer);

    let segments = segment::list(&dir.0).expect("list");
    let firsts: Vec<(u64, String, usize)> = segments
        .iter()
        .map(|s| {
            let (header, messages) = read_segment(&s.path);
            let first = header
                .metadata(META_FIRST_MESSAGE)
                .expect("first")
                .to_owned();
            (s.sequence, first, messages.len())
        })
        .collect();
    let expected: Vec<(u64, String, usize)> = [
        (0, 0, 1),
        (1, 1, 0),
        (2, 1, 1),
        (3, 2, 0),
        (4, 2, 0),
        (5, 2, 1),
    ]
    .into_iter()
    .map(|(s, f, n)| (s, f.to_string(), n))
    .collect();
    assert_eq!(firsts, expected);
}

#[test]
fn a_follower_inside_a_segment_without_messages_reads_on_into_its_successor() {
    let dir = TempDir::absent("empty-followed");
    let options = SegmentOptions::new().with_rotation(Rotation::never());
    let mut writer = open_refusing(&dir.0, options).expect("open");
    writer.write_payload(&message(0)).expect("write");
    writer.rotate().expect("rotate");
    writer
        .write_payload(REFUSE)
        .expect_err("refused by the framer");
    writer.flush().expect("flush");

    let mut follower = Follower::open(&dir.0, ChecksumDeframer::new(Crc32)).expect("follow");
    assert_eq!(follower.next().expect("read"), Some(&message(0)[..]));
    assert_eq!(
        follower
            .next_timeout(Duration::from_millis(20))
            .expect("wait"),
        None
    );
    assert_eq!(follower.position().segment, 1, "inside the empty segment");

    // Segment 1 is closed (not removed), and 2 holds the next messages.
    writer.rotate().expect("rotate");
    writer.write_payload(&message(1)).expect("write");
    writer.write_payload(&message(2)).expect("write");
    writer.flush().expect("flush");
    let mut got = Vec::new();
    while got.len() < 2 {
        let next = follower
            .next_timeout(Duration::from_secs(5))
            .expect("read")
            .expect("a message within 5 s");
        got.push(next.to_vec());
    }
    assert_eq!(got, [message(1), message(2)]);
    assert_eq!(follower.position().segment, 2);
}

#[test]
fn restart_gives_an_open_segment_whose_header_never_reached_the_disk_its_header() {
    // The bytes of a header frame, from a segment written for the purpose.
    let reference = TempDir::absent("torn-header-reference");
    let mut writer = open(&reference.0, SegmentOptions::new()).expect("open");
    writer.write_payload(&message(0)).expect("write");
    writer.finish().expect("finish");
    drop(writer);
    let bytes = std::fs::read(&segment::list(&reference.0).expect("list")[0].path).expect("read");

    let options = || {
        SegmentOptions::new()
            .with_rotation(Rotation::never())
            .with_index(IndexOptions::new())
    };
    // Nothing, then a header cut after 10 bytes; with and without closed
    // segments before it.
    for (case, content) in [("empty", &bytes[..0]), ("torn", &bytes[..10])] {
        for earlier in [0u64, 3] {
            let dir = TempDir::absent(&format!("headerless-{case}-{earlier}"));
            std::fs::create_dir_all(&dir.0).expect("create");
            if earlier > 0 {
                let mut writer = open(&dir.0, options()).expect("open");
                for i in 0..earlier {
                    writer.write_payload(&message(i)).expect("write");
                }
                writer.finish().expect("finish");
            }
            let sequence = 7;
            let start = SystemTime::now();
            let crashed = Segment::new(&dir.0, sequence, start, true);
            std::fs::write(&crashed.path, content).expect("write the crashed segment");

            let mut writer = open(&dir.0, options()).expect("reopen");
            assert!(!crashed.path.exists(), "{case}/{earlier}: closed");
            let closed = crashed.closed_path();
            assert!(
                matches!(recovery(&closed).tail, Tail::Clean),
                "{case}/{earlier}"
            );
            let (header, messages) = read_segment(&closed);
            assert!(messages.is_empty());
            assert_eq!(
                header.metadata(META_SEQUENCE),
                Some("7"),
                "{case}/{earlier}"
            );
            assert_eq!(
                header.metadata(META_FIRST_MESSAGE),
                Some(earlier.to_string().as_str()),
                "{case}/{earlier}"
            );
            assert_eq!(
                header.metadata(META_START),
                Some(format_utc(start).as_str())
            );
            assert!(crashed.index_path().exists(), "{case}/{earlier}: indexed");
            assert_eq!(writer.next_message(), earlier);
            assert_eq!(writer.position().segment, 8, "{case}/{earlier}");
            writer.write_payload(&message(earlier)).expect("write");
            writer.finish().expect("finish");
            drop(writer);
            let last = segment::list(&dir.0)
                .expect("list")
                .pop()
                .expect("a segment");
            assert_eq!(last.sequence, 8);
            let (header, messages) = read_segment(&last.path);
            assert_eq!(
                header.metadata(META_FIRST_MESSAGE),
                Some(earlier.to_string().as_str())
            );
            assert_eq!(messages, [message(earlier)]);
        }
    }
}

#[test]
fn a_small_frame_limit_holds_messages_to_it_but_not_the_segment_header() {
    let dir = TempDir::absent("small-limit");
    // A header frame of well over 16 bytes.
    let user = StreamHeader::new().with_root_type("example.telemetry.a.rather.long.RootType");
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_frames(2))
        .with_header(user)
        .with_max_frame_len(16);
    let mut writer = open(&dir.0, options).expect("open");
    for i in 0..3 {
        writer
            .write_payload(&message(i))
            .expect("16 bytes: at the limit");
    }
    let err = writer.write_payload(&[7; 17]).expect_err("over the limit");
    assert!(
        matches!(
            err.stream_error().map(flatstream::Error::kind),
            Some(ErrorKind::FrameTooLarge {
                declared: 17,
                limit: 16
            })
        ),
        "{err}"
    );
    writer.finish().expect("finish");
    drop(writer);
    let segments = segment::list(&dir.0).expect("list");
    assert_eq!(segments.len(), 2);
    let all: Vec<Vec<u8>> = segments
        .iter()
        .flat_map(|s| read_segment(&s.path).1)
        .collect();
    assert_eq!(all, (0..3).map(message).collect::<Vec<_>>());
}

#[test]
fn corruption_in_the_open_segment_is_refused_naming_the_file_and_nothing_is_truncated() {
    let dir = TempDir::absent("corrupt");
    let options = || SegmentOptions::new().with_rotation(Rotation::never());
    let mut writer = open(&dir.0, options()).expect("open");
    for i in 0..5 {
        writer.write_payload(&message(i)).expect("write");
    }
    writer.sync().expect("sync");
    let open_path = writer.open_segment().expect("open segment").path.clone();
    drop(writer);

    // Flip a byte of the checksum of message 2 (frame 3), in the middle.
    let mut bytes = std::fs::read(&open_path).expect("read");
    let header_len = u64::from(u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")));
    let frame = FRAME_HEADER + message(0).len() as u64;
    let at = usize::try_from(FRAME_HEADER + header_len + 2 * frame + 4).expect("offset");
    bytes[at] ^= 0x40;
    std::fs::write(&open_path, &bytes).expect("write back");

    let err = open(&dir.0, options()).expect_err("corruption is refused");
    match &err {
        Error::Stream { path, source } => {
            assert_eq!(path.as_deref(), Some(open_path.as_path()));
            assert!(source.is_corruption(), "{source}");
        }
        other => panic!("expected a stream error, got {other:?}"),
    }
    assert!(err.to_string().contains(&file_name(&open_path)), "{err}");
    assert_eq!(
        std::fs::read(&open_path).expect("read"),
        bytes,
        "nothing truncated"
    );
    assert!(
        !Segment::parse(&open_path)
            .expect("name")
            .closed_path()
            .exists()
    );
    // The refused open released the lock.
    let again = open(&dir.0, options()).expect_err("still corrupt");
    assert!(matches!(again, Error::Stream { .. }), "{again}");
}

#[test]
fn a_second_writer_on_the_same_directory_is_locked_out() {
    let dir = TempDir::absent("locked");
    let first = open(&dir.0, SegmentOptions::new()).expect("open");
    match open(&dir.0, SegmentOptions::new()) {
        Err(Error::Locked { path }) => assert_eq!(path, dir.0),
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(first);
    open(&dir.0, SegmentOptions::new()).expect("free once the first is dropped");
}

/// Writes `n` messages, one segment each, into `dir`: the last segment stays
/// open. Answers the writer.
fn one_message_per_segment(dir: &Path, retention: Retention, n: u64) -> Writer {
    let options = SegmentOptions::new()
        .with_rotation(Rotation::by_frames(1))
        .with_retention(retention)
        .with_index(IndexOptions::new());
    let mut writer = open(dir, options).expect("open");
    for i in 0..n {
        writer.write_payload(&message(i)).expect("write");
    }
    writer
}

#[test]
fn retention_by_bytes_deletes_exactly_the_oldest_closed_segments() {
    // The sizes of the segments, from a capture that keeps everything (the
    // same messages make the same segment sizes).
    let reference = TempDir::absent("retention-bytes-reference");
    let mut writer = one_message_per_segment(&reference.0, Retention::keep_all(), 8);
    writer.finish().expect("finish");
    drop(writer);
    let sizes: Vec<u64> = segment::list(&reference.0)
        .expect("list")
        .iter()
        .map(|s| len(&s.path))
        .collect();
    assert_eq!(sizes.len(), 8);

    // Closed are 0..=6; keep the newest whose total fits the limit.
    let limit = sizes[4] + sizes[5] + sizes[6] + 1;
    let mut kept_total = 0;
    let mut expected: Vec<u64> = Vec::new();
    for sequence in (0..7).rev() {
        if kept_total + sizes[sequence] > limit {
            break;
        }
        kept_total += sizes[sequence];
        expected.insert(0, sequence as u64);
    }
    assert_eq!(expected, [4, 5, 6]);

    let dir = TempDir::absent("retention-bytes");
    let writer = one_message_per_segment(&dir.0, Retention::max_bytes(limit), 8);
    let open = writer.open_segment().expect("segment 7 is open").clone();
    assert_eq!(open.sequence, 7);
    assert_eq!(writer.deleted_segments(), 4);
    let segments = segment::list(&dir.0).expect("list");
    let closed: Vec<u64> = segments
        .iter()
        .filter(|s| !s.open)
        .map(|s| s.sequence)
        .collect();
    assert_eq!(closed, expected);
    assert!(open.path.exists(), "the open segment is never deleted");
    let idx: Vec<String> = std::fs::read_dir(&dir.0)
        .expect("read dir")
        .map(|e| file_name(&e.expect("entry").path()))
        .filter(|n| n.ends_with(".idx"))
        .collect();
    assert_eq!(
        idx.len(),
        3,
        "the deleted segments' indexes are gone: {idx:?}"
    );
    for s in segments.iter().filter(|s| !s.open) {
        assert!(s.index_path().exists());
    }
    drop(writer);

    // A limit no closed segment fits: every closed one goes but the newest
    // (it carries the numbering a restart continues), the open one stays.
    let all = TempDir::absent("retention-bytes-zero");
    let writer = one_message_per_segment(&all.0, Retention::max_bytes(0), 3);
    assert_eq!(sequences(&all.0), [(1, false), (2, true)]);
    assert_eq!(writer.deleted_segments(), 1);
}

#[test]
fn retention_never_deletes_the_newest_closed_segment_so_a_restart_keeps_the_numbers() {
    let dir = TempDir::absent("retention-newest");
    let options = || {
        SegmentOptions::new()
            .with_rotation(Rotation::by_frames(1))
            .with_retention(Retention::max_bytes(1).and_max_age(Duration::from_nanos(1)))
    };
    let mut writer = open(&dir.0, options()).expect("open");
    for i in 0..3 {
        writer.write_payload(&message(i)).expect("write");
    }
    writer.finish().expect("finish");
    // Long after: still the newest closed segment.
    writer
        .tick(SystemTime::now() + Duration::from_secs(86_400))
        .expect("tick");
    assert_eq!(writer.deleted_segments(), 2);
    drop(writer);
    assert_eq!(sequences(&dir.0), [(2, false)]);

    let mut writer = open(&dir.0, options()).expect("reopen");
    assert_eq!(sequences(&dir.0), [(2, false)], "kept at open too");
    assert_eq!(writer.next_message(), 3);
    assert_eq!(writer.position().segment, 3);
    writer.write_payload(&message(3)).expect("write");
    writer.sync().expect("sync");
    let open_path = writer.open_segment().expect("segment 3").path.clone();
    let (header, _) = read_segment(&open_path);
    assert_eq!(header.metadata(META_FIRST_MESSAGE), Some("3"));
    assert_eq!(header.metadata(META_SEQUENCE), Some("3"));
}

#[test]
fn retention_by_age_deletes_exactly_the_segments_that_ended_too_long_ago() {
    let hour = Duration::from_secs(3600);
    let dir = TempDir::absent("retention-age");
    let mut writer = one_message_per_segment(&dir.0, Retention::max_age(hour), 4);
    let segments = segment::list(&dir.0).expect("list");
    assert_eq!(
        segments.iter().map(|s| s.sequence).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(segments[3].open);
    let starts: Vec<SystemTime> = segments.iter().map(|s| s.start).collect();
    assert!(starts[1] < starts[2] && starts[2] < starts[3], "{starts:?}");

    // Segment 0 ended when 1 started, over an hour before; segment 1 ended
    // exactly an hour before: kept.
    writer.tick(starts[2] + hour).expect("tick");
    assert_eq!(writer.deleted_segments(), 1);
    assert!(!segments[0].path.exists());
    assert!(!segments[0].index_path().exists());
    assert!(segments[1].path.exists() && segments[1].index_path().exists());

    // Long after everything: every closed segment goes but the newest, and
    // the open one stays.
    writer
        .tick(starts[3] + hour + Duration::from_nanos(1))
        .expect("tick");
    assert_eq!(writer.deleted_segments(), 2);
    let left = segment::list(&dir.0).expect("list");
    assert_eq!(left.len(), 2);
    assert_eq!(left[0].path, segments[2].path);
    assert_eq!(left[1].path, segments[3].path);
    assert!(!segments[1].index_path().exists());
    assert!(segments[2].index_path().exists());
    assert_eq!(writer.next_message(), 4);
}

#[test]
fn position_after_sync_matches_what_a_reader_finds_on_disk() {
    let dir = TempDir::absent("position");
    let mut writer = open(&dir.0, SegmentOptions::new()).expect("open");
    assert_eq!(
        writer.position(),
        CapturePosition::default(),
        "before segment 0"
    );
    for i in 0..7u8 {
        let payload = vec![i + 1; 10 + usize::from(i) * 13];
        writer.write_payload(&payload).expect("write");
    }
    writer.sync().expect("sync");
    let position = writer.position();
    let path = writer.open_segment().expect("open segment").path.clone();
    assert_eq!(position.segment, 0);
    assert_eq!(position.frame, 8, "the header and 7 messages");

    let mut reader = StreamReader::new(
        File::open(&path).expect("open"),
        ChecksumDeframer::new(Crc32),
    );
    reader.header().expect("header");
    while reader.read_message().expect("read").is_some() {}
    let end = reader.position();
    assert_eq!((end.offset, end.frame), (position.offset, position.frame));
    assert_eq!(len(&path), position.offset);

    writer.rotate().expect("rotate");
    assert_eq!(
        writer.position(),
        CapturePosition {
            segment: 1,
            frame: 0,
            offset: 0
        }
    );
}

/// A sequence number is never used twice, also at the end of the range:
/// after the segment numbered `u64::MAX` the writer refuses to start
/// another (it used to number three segments `u64::MAX`, and the directory
/// could no longer be listed).
#[test]
fn no_segment_follows_the_one_numbered_u64_max() {
    let dir = TempDir::new("largest-sequence");
    let start = SystemTime::now() - Duration::from_secs(60);
    let before = Segment::new(&dir.0, u64::MAX - 1, start, false);
    let mut old = flatstream::StreamWriter::new(
        File::create(&before.path).expect("create"),
        ChecksumFramer::new(Crc32),
    );
    old.write_header(
        &StreamHeader::new()
            .with_metadata(META_SEQUENCE, (u64::MAX - 1).to_string())
            .with_metadata(META_FIRST_MESSAGE, "0")
            .with_metadata(META_START, format_utc(start)),
    )
    .expect("header");
    for i in 0..2 {
        old.write_payload(&message(i)).expect("write");
    }
    drop(old);

    let options = SegmentOptions::new().with_rotation(Rotation::by_frames(1));
    let mut writer = open(&dir.0, options).expect("open");
    writer.write_payload(&message(2)).expect("segment u64::MAX");
    for i in 3..5 {
        let error = writer
            .write_payload(&message(i))
            .expect_err("no number is left");
        assert!(
            error.to_string().contains("no segment can follow it"),
            "{error}"
        );
    }
    writer.finish().expect("finish");
    let segments = segment::list(&dir.0).expect("every number used once");
    let sequences: Vec<u64> = segments.iter().map(|s| s.sequence).collect();
    assert_eq!(sequences, [u64::MAX - 1, u64::MAX]);
    let (_, messages) = read_segment(&segments[1].path);
    assert_eq!(messages, [message(2)]);
}
