//! The `flatstream` binary on capture directories (`flatstream-capture`'s
//! rotating segments): `cat` of a directory, `--from-frame`, `--from-time`,
//! `--follow` while a writer rotates segments, `index` and `info DIR`.
//! Captures are written with the capture crate's `SegmentWriter`, telemetry
//! readings built with the schema's generated code.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure there is a test failure"
)]

extern crate alloc;

use core::time::Duration;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use assert_cmd::Command;
use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamHeader};
use flatstream_capture::segment::{self, Segment};
use flatstream_capture::{
    CaptureSink as _, IndexOptions, Rotation, SegmentIndex, SegmentOptions, SegmentWriter,
};
use tempfile::TempDir;

#[path = "../../flatstream/schema/telemetry.rs"]
mod telemetry;

use telemetry::{Reading, finish_telemetry_buffer};

/// The binary, with a timeout so that nothing can hang the suite.
fn flatstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flatstream"));
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// Reading `i` as a finished `Telemetry` FlatBuffer: its `timestamp_ns` is
/// 2026-01-01T00:00:00Z plus `i` times 10 ms.
fn payload(i: u64) -> Vec<u8> {
    let mut builder = flatbuffers::FlatBufferBuilder::new();
    let root = Reading::sample(i).build(&mut builder);
    finish_telemetry_buffer(&mut builder, root);
    builder.finished_data().to_vec()
}

/// Reading `i`'s timestamp.
fn timestamp(i: u64) -> u64 {
    Reading::sample(i).timestamp_ns
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex lines `cat` prints for messages `range`.
fn hex_lines(range: core::ops::Range<u64>) -> String {
    range.map(|i| hex(&payload(i)) + "\n").collect()
}

/// The user header of every segment: the telemetry schema and root type.
fn header() -> StreamHeader {
    let bfbs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flatstream/schema/telemetry.bfbs");
    StreamHeader::new()
        .with_root_type("flatstream.telemetry.Telemetry")
        .with_file_identifier("TLM1")
        .with_schema(fs::read(bfbs).unwrap())
}

type Writer = SegmentWriter<ChecksumFramer<Crc32>, ChecksumDeframer<Crc32>>;

/// A CRC-32 segment writer on `dir`, `per` messages a segment.
fn writer(dir: &Path, per: u64, header: Option<StreamHeader>, index: bool) -> Writer {
    let mut options = SegmentOptions::new().with_rotation(Rotation::by_frames(per));
    if let Some(header) = header {
        options = options.with_header(header);
    }
    if index {
        options = options.with_index(IndexOptions::new().every_messages(2));
    }
    SegmentWriter::open(
        dir,
        ChecksumFramer::new(Crc32::new()),
        ChecksumDeframer::new(Crc32::new()),
        options,
    )
    .unwrap()
}

/// A closed capture of `messages` readings, `per` a segment, with the
/// schema in its headers.
fn capture(dir: &Path, messages: u64, per: u64) {
    let mut writer = writer(dir, per, Some(header()), false);
    for i in 0..messages {
        writer.write_payload(&payload(i)).unwrap();
    }
    writer.finish().unwrap();
}

/// The segments of `dir`, in order.
fn segments(dir: &Path) -> Vec<Segment> {
    segment::list(dir).unwrap()
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Each line of stdout as JSON.
fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout_of(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs the binary with `args`; returns its output after checking its
/// exit code.
fn run(args: &[&str], code: i32) -> std::process::Output {
    let output = flatstream().args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}: stdout {:?}, stderr {:?}",
        stdout_of(&output),
        stderr_of(&output)
    );
    output
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

// ---------------------------------------------------------------- cat DIR

#[test]
fn cat_dir_prints_every_message_of_every_segment_in_order() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 23, 5);
    assert_eq!(segments(dir.path()).len(), 5);
    let d = path_str(dir.path());

    let output = run(&["cat", d], 0);
    assert_eq!(stdout_of(&output), hex_lines(0..23));
    assert!(output.stderr.is_empty());

    let output = run(&["cat", d, "--raw"], 0);
    assert_eq!(
        output.stdout,
        (0..23).flat_map(payload).collect::<Vec<u8>>()
    );

    // JSON through the schema the segment headers carry.
    let lines = json_lines(&run(&["cat", d, "--json"], 0));
    assert_eq!(lines.len(), 23);
    for (i, line) in (0..).zip(&lines) {
        assert_eq!(line["timestamp_ns"], timestamp(i), "message {i}");
        // Fields at their default (0) are left out, as flatc does.
        let sequence = line["sequence"].as_u64().unwrap_or(0);
        assert_eq!(sequence, Reading::sample(i).sequence, "message {i}");
    }

    // A capture without a segment yet (a writer opened it) is empty; a
    // directory without a capture is refused.
    let empty = TempDir::new().unwrap();
    let output = run(&["cat", path_str(empty.path())], 2);
    assert!(
        stderr_of(&output).contains("holds no capture"),
        "{}",
        stderr_of(&output)
    );
    drop(writer(empty.path(), 5, None, false));
    let output = run(&["cat", path_str(empty.path())], 0);
    assert!(output.stdout.is_empty());
    // --frames is a stream file's frame indices.
    let output = run(&["cat", d, "--frames", "1.."], 2);
    assert!(
        stderr_of(&output).contains("--from-frame"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn gap_markers_are_printed_and_counted_not_called_damage() {
    let dir = TempDir::new().unwrap();
    let mut writer = writer(dir.path(), 100, Some(header()), false);
    let gap = flatstream_capture::GapMarker {
        dropped: 7,
        first_dropped_ns: 11,
        last_dropped_ns: 12,
        producer: 3,
    };
    for i in 0..3 {
        writer.write_payload(&payload(i)).unwrap();
    }
    // What a background writer with `gap_markers(true)` writes after drops.
    writer.write_payload(&gap.encode()).unwrap();
    for i in 3..5 {
        writer.write_payload(&payload(i)).unwrap();
    }
    writer.finish().unwrap();
    let d = path_str(dir.path());

    let lines = json_lines(&run(&["cat", d, "--json"], 0));
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[3],
        serde_json::json!({"gap_marker": {"dropped": 7, "first_dropped_ns": 11, "last_dropped_ns": 12, "producer": 3}})
    );
    for (line, i) in lines[..3].iter().chain(&lines[4..]).zip(0..) {
        assert_eq!(line["timestamp_ns"], timestamp(i), "message {i}");
    }

    let segment = segments(dir.path())[0].path.clone();
    let output = run(&["verify", path_str(&segment)], 0);
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("intact: 7 frames (a header and 6 messages)")
            && stdout
                .trim_end()
                .ends_with("; 1 gap marker: 7 messages dropped by the capture writer"),
        "{stdout}"
    );
}

#[test]
fn cat_dir_stops_at_damage_naming_the_segment() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 12, 4);
    let second = segments(dir.path())[1].path.clone();
    let mut bytes = fs::read(&second).unwrap();
    // The last byte of the segment: the last payload of its last frame.
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&second, &bytes).unwrap();

    let output = run(&["cat", path_str(dir.path())], 1);
    // Messages 0..4, then 4..7 of the damaged segment, then the error.
    assert_eq!(stdout_of(&output), hex_lines(0..7));
    let stderr = stderr_of(&output);
    let frame_len = 8 + payload(7).len();
    assert!(
        stderr.starts_with(&format!(
            "flatstream: error: {}: byte offset {} (frame 4): CRC-32/ISO-HDLC checksum mismatch",
            second.display(),
            bytes.len() - frame_len
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn cat_dir_reports_messages_lost_to_a_segment_cut_at_a_frame_boundary() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 12, 4);
    // What `recover` leaves of a closed segment whose tail was damaged: its
    // last frame gone, at a frame boundary, every frame left intact.
    let second = segments(dir.path())[1].path.clone();
    let bytes = fs::read(&second).unwrap();
    let frame_len = 8 + payload(7).len();
    fs::write(&second, &bytes[..bytes.len() - frame_len]).unwrap();

    let output = run(&["cat", path_str(dir.path())], 1);
    assert_eq!(stdout_of(&output), hex_lines(0..7));
    assert_eq!(
        stderr_of(&output),
        "flatstream: error: messages 7 to 8 (end excluded) are lost: the segment before segment 2 ends at message 7, but segment 2 starts at message 8\n"
    );

    // `info` counts what is held, and says what is missing where; so for a
    // deleted segment.
    // The `messages:` line of `info DIR`.
    let messages = |dir: &Path| {
        stdout_of(&run(&["info", path_str(dir)], 0))
            .lines()
            .find(|l| l.starts_with("messages:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        messages(dir.path()),
        "messages:     0 to 12 (end excluded): 11 messages; 1 missing (7 to 8 before segment 2)"
    );
    let third = TempDir::new().unwrap();
    capture(third.path(), 12, 4);
    fs::remove_file(&segments(third.path())[1].path).unwrap();
    assert_eq!(
        messages(third.path()),
        "messages:     0 to 12 (end excluded): 8 messages; 4 missing (4 to 8 before segment 2)"
    );
    // A damaged segment is not a gap: how many of its messages read past
    // the damage is verify's to say (a flipped payload byte, then a
    // flipped header byte).
    let damaged = TempDir::new().unwrap();
    capture(damaged.path(), 12, 4);
    let middle = segments(damaged.path())[1].path.clone();
    for at in [fs::metadata(&middle).unwrap().len() - 10, 20] {
        let mut bytes = fs::read(&middle).unwrap();
        bytes[usize::try_from(at).unwrap()] ^= 0x40;
        fs::write(&middle, &bytes).unwrap();
        assert_eq!(
            messages(damaged.path()),
            "messages:     0 to 12 (end excluded): 12 messages",
            "flipped byte {at}"
        );
        bytes[usize::try_from(at).unwrap()] ^= 0x40;
        fs::write(&middle, &bytes).unwrap();
    }
    // An emptied segment holds nothing: in the middle its messages are
    // missing, at the end the capture ends before it.
    let emptied = TempDir::new().unwrap();
    capture(emptied.path(), 12, 4);
    fs::write(&segments(emptied.path())[1].path, b"").unwrap();
    assert_eq!(
        messages(emptied.path()),
        "messages:     0 to 12 (end excluded): 8 messages; 4 missing (4 to 8 before segment 2)"
    );
    fs::write(&segments(emptied.path())[2].path, b"").unwrap();
    assert_eq!(
        messages(emptied.path()),
        "messages:     0 to 4 (end excluded): 4 messages"
    );
    let output = run(&["info", "--json", path_str(third.path())], 0);
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    assert_eq!(
        json["messages"],
        serde_json::json!({"first": 0, "end": 12, "missing": 4, "gaps": [{"first": 4, "end": 8, "before_segment": 2}]})
    );
}

// ---------------------------------------------------------------- verify DIR

/// The last line of `verify DIR`'s output.
fn verify_summary(output: &std::process::Output) -> String {
    stdout_of(output).lines().last().unwrap().to_owned()
}

/// Runs `verify DIR`, checks its exit code and that its report says `what`.
fn verify_says(dir: &str, code: i32, what: &str) -> std::process::Output {
    let output = run(&["verify", dir], code);
    assert!(stdout_of(&output).contains(what), "{}", stdout_of(&output));
    output
}

#[test]
fn verify_dir_checks_every_segment_and_the_messages_between_them() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 12, 4);
    let d = path_str(dir.path());
    let output = run(&["verify", d], 0);
    let text = stdout_of(&output);
    assert_eq!(
        text.matches(": intact: 5 frames (a header and 4 messages)")
            .count(),
        3,
        "{text}"
    );
    assert_eq!(
        verify_summary(&output),
        format!("{d}: intact: 3 segments, messages 0 to 12 (end excluded)")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["verify", "--json", d], 0).stdout).unwrap();
    assert_eq!(json["segments"].as_array().unwrap().len(), 3);
    assert_eq!(json["segments"][1]["sequence"], 1);
    assert_eq!(json["segments"][1]["report"]["frames"], 5);
    assert_eq!(json["messages"]["end"], 12);

    // A damaged segment: its problems listed, the directory damaged.
    let middle = segments(dir.path())[1].path.clone();
    let intact = fs::read(&middle).unwrap();
    let mut bytes = intact.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&middle, &bytes).unwrap();
    let output = run(&["verify", d], 1);
    let text = stdout_of(&output);
    assert!(
        text.contains(&format!("{}: damaged: 1 problem", middle.display())),
        "{text}"
    );
    assert!(text.contains("checksum mismatch"), "{text}");
    let summary = format!("{d}: damaged: 1 of 3 segments damaged");
    assert_eq!(verify_summary(&output), summary);
    assert_eq!(
        stderr_of(&output),
        format!("flatstream: error: {summary}\n")
    );

    // A segment cut at a frame boundary is intact on its own: the message
    // it lost is missing between segments.
    let frame_len = 8 + payload(7).len();
    fs::write(&middle, &intact[..intact.len() - frame_len]).unwrap();
    let output = run(&["verify", d], 1);
    assert!(!stdout_of(&output).contains(": damaged: 1 problem"));
    assert_eq!(
        verify_summary(&output),
        format!("{d}: damaged: 1 message missing (7 to 8 before segment 2)")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["verify", "--json", d], 1).stdout).unwrap();
    assert_eq!(json["messages"]["missing"], 1);

    // A torn tail in a closed segment is damage (only the open segment may
    // be in the middle of a frame).
    fs::write(&middle, &intact[..intact.len() - 3]).unwrap();
    let output = verify_says(d, 1, "torn frame");
    assert!(
        verify_summary(&output) == format!("{d}: damaged: 1 of 3 segments damaged"),
        "{}",
        verify_summary(&output)
    );

    // An open segment that is not the last one is no segment being
    // written: its torn tail is damage.
    fs::write(&middle, &intact).unwrap();
    let reopened = segments(dir.path())[1].clone();
    let open_name = Segment::new(dir.path(), 1, reopened.start, true).path;
    fs::rename(&reopened.path, &open_name).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&open_name)
        .unwrap()
        .write_all(&[9, 0, 0])
        .unwrap();
    let output = run(&["verify", d], 1);
    assert!(
        !stdout_of(&output).contains("open segment:"),
        "{}",
        stdout_of(&output)
    );
    assert_eq!(
        verify_summary(&output),
        format!("{d}: damaged: 1 of 3 segments damaged")
    );
    fs::write(&open_name, &intact).unwrap();
    fs::rename(&open_name, &reopened.path).unwrap();

    // A segment framed unlike the capture is damage, whatever it holds.
    let last = segments(dir.path())[2].path.clone();
    let framed = fs::read(&last).unwrap();
    let mut reader = flatstream::StreamReader::new(framed.as_slice(), ChecksumDeframer::new(Crc32));
    let header = reader.header().unwrap().cloned().unwrap();
    let mut plain = flatstream::StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    plain.write_header(&header).unwrap();
    while let Some(payload) = reader.read_message().unwrap() {
        plain.write_payload(payload).unwrap();
    }
    fs::write(&last, plain.into_inner()).unwrap();
    let output = verify_says(d, 1, "plain framing, not the capture's crc32");
    assert_eq!(
        verify_summary(&output),
        format!("{d}: damaged: 1 of 3 segments damaged")
    );

    // A directory that holds no capture is refused.
    let empty = TempDir::new().unwrap();
    let output = run(&["verify", path_str(empty.path())], 2);
    assert!(
        stderr_of(&output).contains("holds no capture"),
        "{}",
        stderr_of(&output)
    );
}

/// The open segment a writer has just created holds no whole frame yet:
/// empty, or part of its header frame. It shows no framing of its own, so
/// `verify DIR` reads it as the capture's (it used to call the empty one
/// "plain framing, not the capture's crc32", about one run in ten of the
/// live test below), and `info DIR` counts it as holding nothing.
#[test]
fn an_open_segment_without_a_whole_frame_is_read_as_the_capture_frames() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 12, 4);
    let d = path_str(dir.path());
    let closed = segments(dir.path());
    let first = fs::read(&closed[0].path).unwrap();
    let declared = u32::from_le_bytes(first[..4].try_into().unwrap()) as usize;
    let header_frame = &first[..8 + declared];
    let open = Segment::new(dir.path(), 3, closed[2].start, true).path;
    for len in [0, 1, 3, 4, 7, 8, 9, header_frame.len() - 1] {
        fs::write(&open, &header_frame[..len]).unwrap();
        let output = run(&["verify", d], 0);
        let text = stdout_of(&output);
        assert!(!text.contains("not the capture's"), "{len} bytes: {text}");
        assert_eq!(
            text.contains("open segment:"),
            len > 0,
            "{len} bytes: a torn header frame is the open segment's tail: {text}"
        );
        assert_eq!(
            verify_summary(&output),
            format!("{d}: intact: 4 segments, messages 0 to 12 (end excluded)"),
            "{len} bytes"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&run(&["verify", "--json", d], 0).stdout).unwrap();
        assert_eq!(
            json["segments"][3]["report"]["framing"], "crc32",
            "{len} bytes"
        );
        assert_eq!(json["segments"][3]["report"]["frames"], 0, "{len} bytes");
        run(&["info", d], 0);
    }
    // Frames of another framing are still damage. (One plain frame alone
    // reads as a torn CRC-32 frame: its length and a checksum, then 4
    // bytes short.)
    let mut plain = flatstream::StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    plain.write_header(&header()).unwrap();
    plain.write_payload(&payload(12)).unwrap();
    fs::write(&open, plain.into_inner()).unwrap();
    verify_says(d, 1, "plain framing, not the capture's crc32 (segment 0's)");
    // A frame another checksum verifies is not tried as the capture's.
    let mut xxh3 =
        flatstream::StreamWriter::new(Vec::new(), ChecksumFramer::new(flatstream::XxHash64::new()));
    xxh3.write_header(&header()).unwrap();
    fs::write(&open, xxh3.into_inner()).unwrap();
    verify_says(d, 1, "xxh3 framing, not the capture's crc32 (segment 0's)");
    // Nor in a plain capture, where plain reads that frame "intact" (its
    // checksum as the start of its payload, then a tail of 4 bytes).
    let plain_dir = TempDir::new().unwrap();
    let mut writer = SegmentWriter::open(
        plain_dir.path(),
        flatstream::DefaultFramer,
        flatstream::DefaultDeframer,
        SegmentOptions::new()
            .with_rotation(Rotation::by_frames(4))
            .with_header(header()),
    )
    .unwrap();
    for i in 0..8 {
        writer.write_payload(&payload(i)).unwrap();
    }
    writer.finish().unwrap();
    let plain_segments = segments(plain_dir.path());
    let plain_open = Segment::new(plain_dir.path(), 2, plain_segments[1].start, true).path;
    fs::write(&plain_open, header_frame).unwrap();
    verify_says(
        path_str(plain_dir.path()),
        1,
        "crc32 framing, not the capture's plain (segment 0's)",
    );
    // A closed segment cut short is read as the capture's: a torn frame,
    // not a segment of another capture.
    fs::remove_file(&open).unwrap();
    let intact = fs::read(&closed[2].path).unwrap();
    for len in [3, 100, header_frame.len() - 1, intact.len() - 1] {
        fs::write(&closed[2].path, &intact[..len]).unwrap();
        let output = run(&["verify", d], 1);
        let text = stdout_of(&output);
        assert!(!text.contains("not the capture's"), "{len} bytes: {text}");
        assert!(!text.contains("open segment:"), "{len} bytes: {text}");
        assert!(text.contains("torn frame"), "{len} bytes: {text}");
    }
    // An empty segment no writer is writing is damage, as `cat DIR` says.
    fs::write(&closed[2].path, b"").unwrap();
    verify_says(d, 1, "an empty segment that no writer is writing");
    run(&["cat", d], 1);
}

// ---------------------------------------------------------------- --from-frame

#[test]
fn from_frame_prints_exactly_the_messages_from_n() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 7, 3);
    let d = path_str(dir.path());
    for n in 0..=9_u64 {
        let output = run(&["cat", d, "--from-frame", &n.to_string()], 0);
        assert_eq!(
            stdout_of(&output),
            hex_lines(n.min(7)..7),
            "--from-frame {n}"
        );
    }

    // In a stream file (the second segment: a header, then messages 3, 4
    // and 5), N is the wire frame index, as --frames N.. : the header is
    // frame 0.
    let file = segments(dir.path())[1].path.clone();
    let f = path_str(&file);
    for n in 0..=5_u64 {
        let output = run(&["cat", f, "--from-frame", &n.to_string()], 0);
        let first = 3 + n.max(1) - 1;
        assert_eq!(
            stdout_of(&output),
            hex_lines(first.min(6)..6),
            "file --from-frame {n}"
        );
        let frames = run(&["cat", f, "--frames", &format!("{n}..")], 0);
        assert_eq!(frames.stdout, output.stdout, "file --frames {n}..");
    }

    // Messages whose segment was deleted are no longer there.
    let first = segments(dir.path())[0].path.clone();
    fs::remove_file(first).unwrap();
    let output = run(&["cat", d, "--from-frame", "3"], 0);
    assert_eq!(stdout_of(&output), hex_lines(3..7));
    let output = run(&["cat", d, "--from-frame", "1"], 2);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("message 1 is no longer in the capture: it holds messages 3 to 7"),
        "{stderr}"
    );

    // Not a number.
    for bad in ["--from-frame=-1", "--from-frame=x", "--from-frame="] {
        let output = run(&["cat", d, bad], 2);
        assert!(
            stderr_of(&output).contains("invalid value"),
            "{bad}: {}",
            stderr_of(&output)
        );
    }
    // --from-frame and --frames are one choice.
    run(&["cat", f, "--from-frame", "1", "--frames", "2"], 2);
}

// ---------------------------------------------------------------- --from-time

/// RFC 3339 of reading `i`'s timestamp, plus `plus_ns`.
fn time_of(i: u64, plus_ns: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_nanos(timestamp(i) + plus_ns);
    flatstream_cli::time::rfc3339(t)
}

#[test]
fn from_time_before_between_and_after() {
    let dir = TempDir::new().unwrap();
    capture(dir.path(), 10, 4);
    let d = path_str(dir.path());
    let file = segments(dir.path())[1].path.clone();
    let f = path_str(&file);
    let cases: [(String, core::ops::Range<u64>, core::ops::Range<u64>); 6] = [
        // Before everything.
        ("2025-12-31T23:59:59Z".to_owned(), 0..10, 4..8),
        ("0".to_owned(), 0..10, 4..8),
        // Exactly a message's time, and between two messages.
        (time_of(5, 0), 5..10, 5..8),
        (time_of(4, 1), 5..10, 5..8),
        // As nanoseconds since the epoch.
        ((timestamp(6) - 1).to_string(), 6..10, 6..8),
        // After everything: nothing.
        ("2026-01-02T00:00:00Z".to_owned(), 10..10, 8..8),
    ];
    for (time, in_dir, in_file) in cases {
        let output = run(&["cat", d, "--from-time", &time], 0);
        assert_eq!(
            stdout_of(&output),
            hex_lines(in_dir),
            "dir --from-time {time}"
        );
        let output = run(&["cat", f, "--from-time", &time], 0);
        assert_eq!(
            stdout_of(&output),
            hex_lines(in_file),
            "file --from-time {time}"
        );
        let output = run(
            &[
                "cat",
                d,
                "--from-time",
                &time,
                "--time-field",
                "timestamp_ns",
                "--json",
            ],
            0,
        );
        assert_eq!(
            output.stdout.iter().filter(|&&b| b == b'\n').count(),
            in_dir_len(&time)
        );
    }

    // Another integer field: `sequence` is i / 16, so 0 for every message.
    let output = run(
        &["cat", d, "--from-time", "1", "--time-field", "sequence"],
        0,
    );
    assert_eq!(stdout_of(&output), "", "no sequence is at or after 1 ns");

    // Bad values and fields: exit code 2, saying why.
    for (args, says) in [
        (vec!["--from-time", "yesterday"], "is not a time"),
        (vec!["--from-time", "2026-02-30T00:00:00Z"], "has no day 30"),
        (vec!["--from-time", "2026-01-01T00:00:00"], "expected `Z`"),
        (
            vec!["--from-time", "0", "--time-field", "label"],
            "no integer field `label`: it is a string",
        ),
        (
            vec!["--from-time", "0", "--time-field", "nope"],
            "its integer fields: `timestamp_ns`, `sensor_id`, `sequence`",
        ),
        (vec!["--time-field", "timestamp_ns"], "--from-time"),
        (
            vec!["--from-time", "0", "--from-frame", "1"],
            "cannot be used with",
        ),
    ] {
        let mut all = vec!["cat", d];
        all.extend(args.iter().copied());
        let output = run(&all, 2);
        let stderr = stderr_of(&output);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }

    // Without a schema there is no time to read.
    let bare = TempDir::new().unwrap();
    let mut w = writer(bare.path(), 4, None, false);
    w.write_payload(&payload(0)).unwrap();
    w.finish().unwrap();
    let output = run(&["cat", path_str(bare.path()), "--from-time", "0"], 2);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("--from-time (to read each message's time) needs a schema"),
        "{stderr}"
    );
    // With --schema it reads; a root table without timestamp_ns needs
    // --time-field.
    let bfbs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flatstream/schema/telemetry.bfbs");
    let output = run(
        &[
            "cat",
            path_str(bare.path()),
            "--from-time",
            "0",
            "--schema",
            path_str(&bfbs),
        ],
        0,
    );
    assert_eq!(stdout_of(&output), hex_lines(0..1));
    let chunks =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../flatstream/schema/file_transfer.bfbs");
    let output = run(
        &[
            "cat",
            path_str(bare.path()),
            "--from-time",
            "0",
            "--schema",
            path_str(&chunks),
        ],
        2,
    );
    assert!(
        stderr_of(&output).contains("--time-field NAME"),
        "{}",
        stderr_of(&output)
    );
}

/// How many messages of the 10-message capture are at or after `time`.
fn in_dir_len(time: &str) -> usize {
    let t: flatstream_cli::time::TimeArg = time.parse().unwrap();
    (0..10).filter(|&i| timestamp(i) >= t.nanos).count()
}

// ---------------------------------------------------------------- --follow

/// A child `flatstream` process whose stdout is read line by line on a
/// thread, so that a test can wait for a line with a timeout.
struct Followed {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Followed {
    fn spawn(args: &[&str]) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flatstream"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Followed { child, lines }
    }

    /// The next line of its stdout, waiting at most 30 s. If the follower
    /// ended instead, the panic says how, with its stderr.
    fn line(&mut self) -> String {
        match self.lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("no line from the follower within 30 s"),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let (code, stderr, _) = self.wait();
                panic!(
                    "the follower ended (exit code {code:?}) instead of printing a line: {stderr}"
                )
            }
        }
    }

    /// Sends `signal` (by name, as `kill -s` takes it).
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits at most 30 s for it to end; its exit code, its stderr, and
    /// the lines it printed that were not taken.
    fn wait(&mut self) -> (Option<i32>, String, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("the follower did not end within 30 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let rest = self.lines.try_iter().collect();
        (status.code(), stderr, rest)
    }
}

impl Drop for Followed {
    /// A test that fails leaves no process behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes messages `range` to `writer`, flushing each so that a follower
/// sees it, with a short pause between them.
fn write_slowly(writer: &mut Writer, range: core::ops::Range<u64>) {
    for i in range {
        writer.write_payload(&payload(i)).unwrap();
        writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn follow_prints_every_message_once_while_segments_rotate() {
    for signal in ["TERM", "INT"] {
        let dir = TempDir::new().unwrap();
        let path = dir.path().to_owned();
        // Started before the capture: it waits for the first segment.
        let mut follower = Followed::spawn(&["cat", "--follow", path_str(&path)]);
        std::thread::sleep(Duration::from_millis(50));
        let writing = std::thread::spawn(move || {
            let mut writer = writer(&path, 7, Some(header()), true);
            write_slowly(&mut writer, 0..60);
            writer
        });
        for i in 0..60 {
            assert_eq!(
                follower.line(),
                hex(&payload(i)),
                "message {i}, SIG{signal}"
            );
        }
        let mut writer = writing.join().unwrap();
        assert!(segments(dir.path()).len() >= 8, "the writer rotated");
        // Nothing more: the follower waits, then the signal ends it.
        assert!(
            follower
                .lines
                .recv_timeout(Duration::from_millis(100))
                .is_err()
        );
        follower.signal(signal);
        let (code, stderr, rest) = follower.wait();
        assert_eq!(code, Some(0), "SIG{signal}: {stderr}");
        assert_eq!(stderr, "", "SIG{signal}");
        assert!(rest.is_empty(), "SIG{signal}: {rest:?}");
        writer.finish().unwrap();
    }
}

/// `verify DIR` and `info DIR` on a capture that a writer keeps rotating
/// while retention deletes its oldest segments: a segment renamed or
/// deleted after it was listed is neither damage nor an error (they used to
/// fail with exit 2 about a third of the time). Each run races the writer
/// differently; none may fail.
#[test]
fn verify_and_info_dir_on_a_live_capture_with_retention_never_fail() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().to_owned();
    let stop = alloc::sync::Arc::new(core::sync::atomic::AtomicBool::new(false));
    let writing = {
        let stop = alloc::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let options = SegmentOptions::new()
                .with_rotation(Rotation::by_frames(20))
                .with_retention(flatstream_capture::Retention::max_bytes(20_000));
            let mut writer = SegmentWriter::open(
                &path,
                ChecksumFramer::new(Crc32::new()),
                ChecksumDeframer::new(Crc32::new()),
                options,
            )
            .unwrap();
            let mut i = 0;
            while !stop.load(core::sync::atomic::Ordering::Relaxed) {
                writer.write_payload(&payload(i)).unwrap();
                writer.flush().unwrap();
                i += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            writer.finish().unwrap();
            i
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let d = path_str(dir.path());
    for round in 0..120 {
        let command = if round % 2 == 0 { "verify" } else { "info" };
        let output = flatstream().args([command, d]).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command} round {round}: stdout {:?}, stderr {:?}",
            stdout_of(&output),
            stderr_of(&output)
        );
    }
    stop.store(true, core::sync::atomic::Ordering::Relaxed);
    let written = writing.join().unwrap();
    assert!(written > 60, "the writer rotated: {written}");
}

#[test]
fn follow_ends_quietly_when_stdout_closes() {
    let dir = TempDir::new().unwrap();
    let mut writer = writer(dir.path(), 5, Some(header()), false);
    write_slowly(&mut writer, 0..3);
    let mut follower = Followed::spawn(&["cat", "--follow", path_str(dir.path())]);
    assert_eq!(follower.line(), hex(&payload(0)));
    // Like `head -n 1` exiting: the reading thread ends at its next line,
    // closing the pipe; the line after that finds it closed.
    follower.lines = mpsc::channel().1;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 3;
    while follower.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the follower did not end");
        write_slowly(&mut writer, i..i + 1);
        i += 1;
    }
    let (code, stderr, _) = follower.wait();
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    writer.finish().unwrap();
}

#[test]
fn follow_starts_where_a_seek_says() {
    let dir = TempDir::new().unwrap();
    let mut writer = writer(dir.path(), 4, Some(header()), true);
    write_slowly(&mut writer, 0..10);
    let d = path_str(dir.path()).to_owned();

    // By message number, by time, and past the end (waiting for it).
    let mut by_number = Followed::spawn(&["cat", "--follow", "--from-frame", "6", &d]);
    let mut by_time = Followed::spawn(&["cat", "-f", "--from-time", &time_of(7, 0), &d]);
    let mut ahead = Followed::spawn(&["cat", "-f", "--from-frame", "12", &d]);
    for i in 6..10 {
        assert_eq!(
            by_number.line(),
            hex(&payload(i)),
            "--from-frame 6: message {i}"
        );
    }
    for i in 7..10 {
        assert_eq!(by_time.line(), hex(&payload(i)), "--from-time: message {i}");
    }
    write_slowly(&mut writer, 10..15);
    for i in 10..15 {
        assert_eq!(
            by_number.line(),
            hex(&payload(i)),
            "--from-frame 6: message {i}"
        );
        assert_eq!(by_time.line(), hex(&payload(i)), "--from-time: message {i}");
    }
    for i in 12..15 {
        assert_eq!(
            ahead.line(),
            hex(&payload(i)),
            "--from-frame 12: message {i}"
        );
    }
    for mut follower in [by_number, by_time, ahead] {
        follower.signal("INT");
        let (code, stderr, rest) = follower.wait();
        assert_eq!((code, stderr.as_str()), (Some(0), ""));
        assert!(rest.is_empty(), "{rest:?}");
    }
    writer.finish().unwrap();
}

#[test]
fn follow_from_a_time_past_the_end_holds_later_messages_to_it() {
    let dir = TempDir::new().unwrap();
    let mut writer = writer(dir.path(), 4, Some(header()), true);
    write_slowly(&mut writer, 0..10);
    let d = path_str(dir.path()).to_owned();
    // No message is that late yet: the seek lands at the end, and the
    // messages that arrive before the time are not printed either.
    let mut follower = Followed::spawn(&["cat", "-f", "--from-time", &time_of(13, 0), &d]);
    std::thread::sleep(Duration::from_millis(100));
    write_slowly(&mut writer, 10..16);
    for i in 13..16 {
        assert_eq!(follower.line(), hex(&payload(i)), "message {i}");
    }
    follower.signal("INT");
    let (code, stderr, rest) = follower.wait();
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert!(rest.is_empty(), "{rest:?}");
    writer.finish().unwrap();
}

#[test]
fn follow_a_stream_file_from_a_frame() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.fstream");
    let mut writer = flatstream::StreamWriter::new(
        fs::File::create(&path).unwrap(),
        ChecksumFramer::new(Crc32::new()),
    );
    writer.write_header(&header()).unwrap();
    for i in 0..3 {
        writer.write_payload(&payload(i)).unwrap();
    }
    writer.flush().unwrap();
    // Frame 2 is message 1: the header is frame 0.
    let mut follower = Followed::spawn(&["cat", "-f", "--from-frame", "2", path_str(&path)]);
    for i in 1..3 {
        assert_eq!(follower.line(), hex(&payload(i)));
    }
    for i in 3..6 {
        writer.write_payload(&payload(i)).unwrap();
        writer.flush().unwrap();
        assert_eq!(follower.line(), hex(&payload(i)));
    }
    follower.signal("TERM");
    let (code, stderr, _) = follower.wait();
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
}

// ---------------------------------------------------------------- index

#[test]
fn index_builds_checks_and_rebuilds() {
    let dir = TempDir::new().unwrap();
    let mut w = writer(dir.path(), 6, Some(header()), false);
    for i in 0..20 {
        w.write_payload(&payload(i)).unwrap();
    }
    w.flush().unwrap();
    // Dropped without finishing: the last segment stays open.
    drop(w);
    let all = segments(dir.path());
    assert_eq!(all.len(), 4);
    assert!(all[3].open && all[..3].iter().all(|s| !s.open));
    let d = path_str(dir.path());

    let output = run(&["index", "--check", d], 1);
    let stdout = stdout_of(&output);
    assert_eq!(stdout.matches(": missing").count(), 3, "{stdout}");
    assert!(stdout.contains("skipped: still open"), "{stdout}");
    assert!(stderr_of(&output).contains("3 segments without a valid index"));

    let output = run(&["index", d, "--every", "4"], 0);
    let stdout = stdout_of(&output);
    // 6 messages, an entry every 4: messages 0 and 4.
    assert_eq!(stdout.matches(": built (2 entries)").count(), 3, "{stdout}");
    assert!(
        stdout.ends_with(": 4 segments: 3 built, 1 open, skipped\n"),
        "{stdout}"
    );
    for segment in &all[..3] {
        let index = SegmentIndex::read(&segment.index_path()).unwrap();
        index
            .check(&segment.path, ChecksumDeframer::new(Crc32::new()))
            .unwrap();
        assert_eq!(index.interval_messages(), 4);
        // The header's schema has `timestamp_ns`: entries carry it.
        assert!(index.has_timestamps());
        let first = index.entries()[0];
        assert_eq!(first.timestamp, Some(timestamp(first.message)));
    }
    let output = run(&["index", "--check", d], 0);
    assert_eq!(stdout_of(&output).matches(": valid (2 entries)").count(), 3);
    // Checked against another interval, they are what `index --every 2`
    // would rebuild: bad, and nothing changes.
    let output = run(&["index", "--check", d, "--every", "2"], 1);
    assert_eq!(
        stdout_of(&output)
            .matches(": bad: it was built with an entry every 4 messages, not 2")
            .count(),
        3,
        "{}",
        stdout_of(&output)
    );
    let output = run(&["index", "--check", d, "--every", "4"], 0);
    assert_eq!(stdout_of(&output).matches(": valid (2 entries)").count(), 3);

    // A flipped byte in a sidecar: --check fails, index rebuilds it.
    let sidecar = all[1].index_path();
    let mut bytes = fs::read(&sidecar).unwrap();
    bytes[60] ^= 1;
    fs::write(&sidecar, &bytes).unwrap();
    let output = run(&["index", "--check", d], 1);
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains(&format!(
            "{}: bad: checksum mismatch",
            all[1].path.display()
        )),
        "{stdout}"
    );
    assert!(stderr_of(&output).contains("1 segment without a valid index"));
    let output = run(&["index", d], 0);
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains(&format!(
            "{}: rebuilt (1 entry): checksum mismatch",
            all[1].path.display()
        )),
        "the library's default interval this time: {stdout}"
    );
    run(&["index", "--check", d], 0);

    // One segment file, and options asked for that differ.
    let f = path_str(&all[0].path);
    let output = run(&["index", f, "--every", "3"], 0);
    assert!(
        stdout_of(&output)
            .contains("rebuilt (2 entries): it was built with an entry every 4 messages, not 3")
    );
    let output = run(&["index", f, "--json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["segments"][0]["status"]["kind"], "valid");

    // A damaged segment cannot be indexed.
    let mut bytes = fs::read(&all[2].path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&all[2].path, &bytes).unwrap();
    fs::remove_file(all[2].index_path()).unwrap();
    let output = run(&["index", d], 1);
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("cannot index:") && stdout.contains("checksum mismatch"),
        "{stdout}"
    );
    assert!(stderr_of(&output).contains("1 segment could not be indexed"));
}

// ---------------------------------------------------------------- info DIR

/// `text` with `dir` and segment times replaced, for snapshots.
fn redacted(text: &str, dir: &Path) -> String {
    let text = text.replace(path_str(dir), "[DIR]");
    // Segment names and RFC 3339 times carry the writer's clock.
    let mut out = String::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A compact segment time: 8 digits, `T`, 6 digits, `.`, 9 digits, `Z`.
        let compact = bytes.get(i..i + 26).is_some_and(|b| {
            b[..8].iter().all(u8::is_ascii_digit) && b[8] == b'T' && b[15] == b'.' && b[25] == b'Z'
        });
        // RFC 3339 with nanoseconds: 2026-01-01T00:00:00.000000000Z.
        let long = bytes
            .get(i..i + 30)
            .is_some_and(|b| b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[29] == b'Z');
        if compact {
            out.push_str("[TIME]");
            i += 26;
        } else if long {
            out.push_str("[TIME]");
            i += 30;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn info_dir_while_a_writer_is_mid_frame() {
    let dir = TempDir::new().unwrap();
    let mut w = writer(dir.path(), 5, Some(header()), true);
    for i in 0..13 {
        w.write_payload(&payload(i)).unwrap();
    }
    w.flush().unwrap();
    let open = segments(dir.path()).pop().unwrap();
    assert!(open.open);
    // A frame the writer is in the middle of: its first 10 bytes.
    let complete = fs::metadata(&open.path).unwrap().len();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&open.path)
        .unwrap();
    let frame = {
        let mut sw = flatstream::StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
        sw.write_payload(&payload(13)).unwrap();
        sw.into_inner()
    };
    file.write_all(&frame[..10]).unwrap();
    drop(file);

    let d = path_str(dir.path());
    let output = run(&["info", d], 0);
    let text = stdout_of(&output);
    assert!(
        text.contains(&format!(
            "torn tail at byte offset {complete} (10 bytes of an incomplete frame): a frame being written, not damage"
        )),
        "{text}"
    );
    insta::assert_snapshot!("info_dir_text", redacted(&text, dir.path()));

    let output = run(&["info", d, "--json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["lock"]["state"], "held");
    assert_eq!(json["segments"]["count"], 3);
    assert_eq!(json["segments"]["closed"], 2);
    assert_eq!(json["segments"]["open"], 1);
    assert_eq!(json["messages"]["first"], 0);
    assert_eq!(json["messages"]["end"], 13);
    assert_eq!(json["indexes"]["valid"], 2);
    assert_eq!(json["open_segment"]["messages"], 3);
    assert_eq!(json["open_segment"]["end"]["kind"], "torn");
    assert_eq!(json["open_segment"]["end"]["offset"], complete);
    assert_eq!(json["framing"], "crc32");

    // `cat` without following ends at the torn frame, quietly.
    let output = run(&["cat", d], 0);
    assert_eq!(stdout_of(&output), hex_lines(0..13));

    // `verify` says how the open segment ends, and does not call it
    // damage; the same tail in a closed segment is.
    let output = run(&["verify", d], 0);
    let text = stdout_of(&output);
    assert!(
        text.contains(&format!(
            "  open segment: byte offset {complete} (frame 4): torn frame: the file ends after 10 of its"
        )),
        "{text}"
    );
    assert_eq!(
        verify_summary(&output),
        format!("{d}: intact: 3 segments, messages 0 to 13 (end excluded)")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["verify", d, "--json"], 0).stdout).unwrap();
    assert_eq!(json["segments"][2]["open"], true);
    assert!(json["segments"][2]["open_tail"].is_string(), "{json}");
    assert!(json["segments"][1].get("open_tail").is_none(), "{json}");

    // The writer gone: the lock is free, the torn tail left for the next
    // writer; a missing index is listed.
    drop(w);
    let first = segments(dir.path())[0].clone();
    fs::remove_file(first.index_path()).unwrap();
    let output = run(&["info", d], 0);
    let text = stdout_of(&output);
    assert!(text.contains("lock:         free: no writer"), "{text}");
    assert!(
        text.contains("left by a writer that stopped: the next writer truncates it"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "1 of 2 closed segments have a valid index; missing: {}",
            first.path.display()
        )),
        "{text}"
    );
    let output = run(&["info", d, "--json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["lock"]["state"], "free");

    // A directory without a capture is refused, and nothing is created
    // in it; a capture without a segment yet is empty.
    let empty = TempDir::new().unwrap();
    let output = run(&["info", path_str(empty.path())], 2);
    assert!(
        stderr_of(&output).contains("holds no capture"),
        "{}",
        stderr_of(&output)
    );
    assert!(
        !empty.path().join(segment::LOCK_FILE).exists(),
        "info creates nothing"
    );
    drop(writer(empty.path(), 5, None, false));
    let output = run(&["info", path_str(empty.path())], 0);
    let text = stdout_of(&output);
    assert!(
        text.contains("segments:     0 (0 closed, 0 open)"),
        "{text}"
    );
    assert!(text.contains("lock:         free: no writer"), "{text}");
}
