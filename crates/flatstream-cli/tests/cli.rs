//! The `flatstream` binary, run as a user would: every subcommand, every
//! exit code, and bad input of every kind. Test streams are written with
//! the library, with the telemetry schema's generated code.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure there is a test failure"
)]

use core::time::Duration;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use flatstream::{
    ChecksumFramer, Crc16, Crc32, DefaultDeframer, DefaultFramer, Framer, SliceReader,
    StreamHeader, StreamWriter, XxHash64,
};
use predicates::prelude::*;
use tempfile::TempDir;

#[path = "../../flatstream/schema/telemetry.rs"]
mod telemetry;

use telemetry::{Reading, write_reading};

/// The binary, with a timeout so that nothing can hang the suite.
fn flatstream(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flatstream"));
    cmd.current_dir(dir).timeout(Duration::from_secs(30));
    cmd
}

/// The framings by name, as on the command line.
const FRAMINGS: [&str; 4] = ["plain", "xxh3", "crc32", "crc16"];

/// A written stream: its bytes and where each frame starts.
struct Stream {
    bytes: Vec<u8>,
    /// Offsets of every frame, the header's included, then the end.
    offsets: Vec<usize>,
}

impl Stream {
    /// Frame `i`'s byte range.
    fn frame(&self, i: usize) -> core::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }
}

fn header() -> StreamHeader {
    StreamHeader::new()
        .with_root_type("flatstream.telemetry.Telemetry")
        .with_file_identifier("TLM1")
        .with_metadata("producer", "flatstream-cli tests")
}

fn header_with_schema() -> StreamHeader {
    header().with_schema(fs::read(data("telemetry.bfbs")).unwrap())
}

/// A binary schema of the facade's example schemas, which `cargo xtask
/// codegen` writes and CI proves fresh.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../flatstream/schema")
        .join(name)
}

fn write_with<F: Framer>(framer: F, readings: u64, header: Option<&StreamHeader>) -> Stream {
    let mut writer = StreamWriter::new(Vec::new(), framer);
    let mut offsets = vec![0];
    if let Some(header) = header {
        writer.write_header(header).unwrap();
        offsets.push(usize::try_from(writer.bytes_written()).unwrap());
    }
    for i in 0..readings {
        write_reading(&mut writer, &Reading::sample(i)).unwrap();
        offsets.push(usize::try_from(writer.bytes_written()).unwrap());
    }
    Stream {
        bytes: writer.into_inner(),
        offsets,
    }
}

/// `readings` telemetry readings in `framing`, after `header` if given.
fn stream(framing: &str, readings: u64, header: Option<&StreamHeader>) -> Stream {
    match framing {
        "plain" => write_with(DefaultFramer, readings, header),
        "xxh3" => write_with(ChecksumFramer::new(XxHash64::new()), readings, header),
        "crc32" => write_with(ChecksumFramer::new(Crc32::new()), readings, header),
        "crc16" => write_with(ChecksumFramer::new(Crc16::new()), readings, header),
        other => panic!("no framing {other}"),
    }
}

/// The payload of every reading in `0..readings`, as written.
fn payloads(readings: u64) -> Vec<Vec<u8>> {
    let stream = stream("plain", readings, None);
    SliceReader::new(&stream.bytes, DefaultDeframer)
        .map(|payload| payload.unwrap().to_vec())
        .collect()
}

/// Every payload of a stream file, and its header.
fn read_back(path: &Path, framing: &str) -> (Option<StreamHeader>, Vec<Vec<u8>>) {
    fn read<D: flatstream::Deframer>(
        bytes: &[u8],
        deframer: D,
    ) -> (Option<StreamHeader>, Vec<Vec<u8>>) {
        let mut reader = SliceReader::new(bytes, deframer);
        #[allow(clippy::map_clone, reason = "owned or borrowed, as the API settles")]
        let header = reader.header().unwrap().map(|h| h.clone());
        let payloads = reader.map(|p| p.unwrap().to_vec()).collect();
        (header, payloads)
    }
    let bytes = fs::read(path).unwrap();
    match framing {
        "plain" => read(&bytes, DefaultDeframer),
        "xxh3" => read(&bytes, flatstream::ChecksumDeframer::new(XxHash64::new())),
        "crc32" => read(&bytes, flatstream::ChecksumDeframer::new(Crc32::new())),
        "crc16" => read(&bytes, flatstream::ChecksumDeframer::new(Crc16::new())),
        other => panic!("no framing {other}"),
    }
}

/// A temporary directory with files in it.
struct Dir(TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    fn cmd(&self) -> Command {
        flatstream(self.path())
    }
}

/// Standard error is exactly one line, starting `flatstream: error: `.
fn one_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8(stderr.to_vec()).unwrap();
    assert!(
        text.starts_with("flatstream: error: ") && text.ends_with('\n'),
        "stderr: {text:?}"
    );
    assert_eq!(text.lines().count(), 1, "stderr: {text:?}");
    text
}

fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn json_of(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&assert.get_output().stdout).unwrap()
}

/// Runs the binary in `dir` with `args`, checks its exit code and returns
/// its JSON output.
fn json_run(dir: &Dir, args: &[&str], code: i32) -> serde_json::Value {
    json_of(&dir.cmd().args(args).assert().code(code))
}

// ---------------------------------------------------------------- info

#[test]
fn info_text() {
    let dir = Dir::new();
    dir.write("capture.bin", &stream("crc32", 40, Some(&header())).bytes);
    let assert = dir.cmd().args(["info", "capture.bin"]).assert().success();
    insta::assert_snapshot!("info_text", stdout_of(&assert));
}

#[test]
fn info_json() {
    let dir = Dir::new();
    dir.write("capture.bin", &stream("crc32", 40, Some(&header())).bytes);
    let assert = dir
        .cmd()
        .args(["info", "capture.bin", "--json"])
        .assert()
        .success();
    assert_eq!(stdout_of(&assert).lines().count(), 1, "one JSON object");
    insta::assert_json_snapshot!("info_json", json_of(&assert));
}

#[test]
fn info_detects_every_framing() {
    let dir = Dir::new();
    for framing in FRAMINGS {
        let stream = stream(framing, 5, None);
        dir.write("s.bin", &stream.bytes);
        let info = json_of(
            &dir.cmd()
                .args(["info", "s.bin", "--json"])
                .assert()
                .success(),
        );
        assert_eq!(info["framing"], framing);
        assert_eq!(info["frames"], 5);
        assert_eq!(info["messages"], 5);
        assert_eq!(info["identifiers"][0]["identifier"], "TLM1");
        assert_eq!(info["identifiers"][0]["count"], 5);
        assert_eq!(info["end"]["kind"], "clean");
        assert_eq!(info["bytes"], stream.bytes.len());
    }
}

#[test]
fn info_reports_how_streams_end() {
    let dir = Dir::new();
    let s = stream("crc32", 10, Some(&header()));

    // Torn: the last frame cut short.
    let cut = s.offsets[10] + 7;
    dir.write("torn.bin", &s.bytes[..cut]);
    let info = json_of(
        &dir.cmd()
            .args(["info", "torn.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["end"]["kind"], "torn");
    assert_eq!(info["end"]["offset"], s.offsets[10]);
    assert_eq!(info["frames"], 10, "the header and 9 readings");
    assert_eq!(info["valid_len"], s.offsets[10]);
    let text = stdout_of(&dir.cmd().args(["info", "torn.bin"]).assert().success());
    assert!(
        text.contains(&format!(
            "end:         torn tail at byte offset {}",
            s.offsets[10]
        )),
        "{text}"
    );

    // Zero-filled: the file system's zeros after the frames.
    let mut filled = s.bytes.clone();
    filled.resize(filled.len() + 4096, 0);
    dir.write("filled.bin", &filled);
    let info = json_of(
        &dir.cmd()
            .args(["info", "filled.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["end"]["kind"], "zero_filled");
    assert_eq!(info["end"]["offset"], s.bytes.len());
    assert_eq!(info["frames"], 11);
    assert_eq!(info["messages"], 10);

    // Corrupt: a payload byte flipped in frame 4, good frames after it.
    let mut corrupt = s.bytes.clone();
    corrupt[s.frame(4).end - 3] ^= 0x55;
    dir.write("corrupt.bin", &corrupt);
    let info = json_of(
        &dir.cmd()
            .args(["info", "corrupt.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["end"]["kind"], "corrupt");
    assert_eq!(info["end"]["offset"], s.offsets[4]);
    assert_eq!(info["end"]["frame"], 4);
    assert_eq!(info["end"]["good_after"], s.offsets[5]);
    assert_eq!(info["frames"], 4);
    let text = stdout_of(&dir.cmd().args(["info", "corrupt.bin"]).assert().success());
    assert!(
        text.contains(&format!(
            "corruption at byte offset {} (frame 4): CRC-32/ISO-HDLC checksum mismatch",
            s.offsets[4]
        )),
        "{text}"
    );
}

#[test]
fn info_on_an_empty_file() {
    let dir = Dir::new();
    dir.write("empty.bin", b"");
    let info = json_of(
        &dir.cmd()
            .args(["info", "empty.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["frames"], 0);
    assert_eq!(info["end"]["kind"], "clean");
    assert_eq!(info["framing_source"], "empty file");
}

#[test]
fn info_refuses_what_is_not_a_stream() {
    let dir = Dir::new();
    dir.write("notes.txt", b"these are notes, not a FlatStream stream\n");
    let assert = dir.cmd().args(["info", "notes.txt"]).assert().code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(
        line.contains("notes.txt: not a FlatStream stream"),
        "{line}"
    );
    assert!(line.contains("byte offset 0 (frame 0)"), "{line}");
}

#[test]
fn wrong_framing_forced_says_so() {
    let dir = Dir::new();
    dir.write("s.bin", &stream("xxh3", 6, None).bytes);
    for command in [&["info"][..], &["cat"], &["verify"]] {
        let assert = dir
            .cmd()
            .args(command)
            .args(["s.bin", "--framing", "crc32"])
            .assert()
            .code(1);
        let line = one_error_line(&assert.get_output().stderr);
        assert!(
            line.contains("byte offset 0 (frame 0)"),
            "{command:?}: {line}"
        );
        if command != ["verify"] {
            assert!(
                line.contains("the framing detected is xxh3"),
                "{command:?}: {line}"
            );
        }
    }
}

#[test]
fn bad_files_are_one_line_and_exit_2() {
    let dir = Dir::new();
    fs::create_dir(dir.path().join("a-directory")).unwrap();
    let fifo = dir.path().join("a-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|status| status.success());
    let mut cases = vec![
        (
            "missing.bin",
            "missing.bin: cannot open: no such file or directory",
        ),
        (
            "a-directory",
            "a-directory: is a directory, not a stream file",
        ),
    ];
    if made {
        cases.push(("a-fifo", "a-fifo: is a FIFO, not a stream file"));
    }
    for (file, message) in cases {
        for command in ["info", "verify", "cat", "recover"] {
            let assert = dir.cmd().args([command, file]).assert().code(2);
            let line = one_error_line(&assert.get_output().stderr);
            assert!(line.contains(message), "{command} {file}: {line}");
        }
        let assert = dir
            .cmd()
            .args(["convert", file, "out.bin", "--framing", "crc32"])
            .assert()
            .code(2);
        one_error_line(&assert.get_output().stderr);
    }
    assert!(!dir.path().join("out.bin").exists());
}

#[test]
fn usage_errors_exit_2() {
    let dir = Dir::new();
    dir.write("s.bin", &stream("crc32", 2, None).bytes);
    dir.cmd().args(["info"]).assert().code(2);
    dir.cmd().args(["frobnicate", "s.bin"]).assert().code(2);
    dir.cmd()
        .args(["info", "s.bin", "--framing", "md5"])
        .assert()
        .code(2);
    dir.cmd()
        .args(["cat", "s.bin", "--hex", "--raw"])
        .assert()
        .code(2);
    dir.cmd()
        .args(["cat", "s.bin", "--frames", "5..2"])
        .assert()
        .code(2);
    let assert = dir
        .cmd()
        .args(["cat", "s.bin", "--frames", "3..=2"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("the range `3..=2` holds no frame"),
        "{stderr}"
    );
    dir.cmd()
        .args(["convert", "s.bin", "o.bin"])
        .assert()
        .code(2);
    let assert = dir.cmd().args(["cat", "s.bin", "--json"]).assert().code(2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("--json needs a schema"), "{line}");
    let assert = dir
        .cmd()
        .args(["recover", "s.bin", "--salvage"])
        .assert()
        .code(2);
    one_error_line(&assert.get_output().stderr);
}

#[test]
fn help_is_there() {
    let dir = Dir::new();
    let assert = dir.cmd().arg("--help").assert().success();
    let help = stdout_of(&assert);
    for command in ["info", "verify", "cat", "recover", "convert"] {
        assert!(help.contains(command), "{help}");
        let assert = dir.cmd().args([command, "--help"]).assert().success();
        assert!(stdout_of(&assert).contains("Exit codes:"));
    }
    dir.cmd().arg("--version").assert().success();
}

// ---------------------------------------------------------------- verify

#[test]
fn verify_intact() {
    let dir = Dir::new();
    for framing in FRAMINGS {
        dir.write("s.bin", &stream(framing, 8, Some(&header())).bytes);
        let assert = dir.cmd().args(["verify", "s.bin"]).assert().success();
        let out = stdout_of(&assert);
        assert!(
            out.starts_with("s.bin: intact: 9 frames (a header and 8 messages)"),
            "{out}"
        );
        assert!(assert.get_output().stderr.is_empty());
    }
    dir.write("empty.bin", b"");
    dir.cmd().args(["verify", "empty.bin"]).assert().success();
}

#[test]
fn verify_lists_every_damaged_region() {
    let dir = Dir::new();
    let s = stream("xxh3", 30, None);
    let mut bytes = s.bytes.clone();
    bytes[s.frame(3).end - 5] ^= 1; // a payload bit
    bytes[s.offsets[12] + 2] ^= 0x40; // a length
    bytes[s.frame(25).end - 1] ^= 0x80; // another payload bit
    dir.write("damaged.bin", &bytes);
    let assert = dir.cmd().args(["verify", "damaged.bin"]).assert().code(1);
    let out = stdout_of(&assert);
    assert!(out.starts_with("damaged.bin: damaged: 3 problems"), "{out}");
    for frame in [3, 12, 25] {
        let place = format!("byte offset {} (frame {frame}):", s.offsets[frame]);
        assert!(out.contains(&place), "{place}\n{out}");
    }
    let line = one_error_line(&assert.get_output().stderr);
    assert!(
        line.contains(&format!(
            "the first at byte offset {} (frame 3)",
            s.offsets[3]
        )),
        "{line}"
    );

    let report = json_of(
        &dir.cmd()
            .args(["verify", "damaged.bin", "--json"])
            .assert()
            .code(1),
    );
    assert_eq!(report["problems_total"], 3);
    assert_eq!(report["frames"], 27);
    assert_eq!(report["problems"][1]["offset"], s.offsets[12]);
}

#[test]
fn verify_names_tails() {
    let dir = Dir::new();
    let s = stream("crc32", 5, None);
    dir.write("torn.bin", &s.bytes[..s.bytes.len() - 3]);
    let assert = dir.cmd().args(["verify", "torn.bin"]).assert().code(1);
    let out = stdout_of(&assert);
    assert!(
        out.contains(&format!(
            "byte offset {} (frame 4): torn frame",
            s.offsets[4]
        )),
        "{out}"
    );

    for framing in ["crc32", "xxh3", "plain"] {
        let s = stream(framing, 5, None);
        let mut filled = s.bytes.clone();
        filled.resize(s.bytes.len() + 1000, 0);
        dir.write("filled.bin", &filled);
        let assert = dir.cmd().args(["verify", "filled.bin"]).assert().code(1);
        let out = stdout_of(&assert);
        assert!(out.contains("1 problem"), "{framing}: {out}");
        assert!(
            out.contains(&format!(
                "byte offset {} (frame 5): zero-filled tail (1000 bytes)",
                s.bytes.len()
            )),
            "{framing}: {out}"
        );
    }
}

/// One frame of `payload` in `framing`.
fn one_frame(framing: &str, payload: &[u8]) -> Vec<u8> {
    fn frame<F: Framer>(framer: F, payload: &[u8]) -> Vec<u8> {
        let mut writer = StreamWriter::new(Vec::new(), framer);
        writer.write_payload(payload).unwrap();
        writer.into_inner()
    }
    match framing {
        "plain" => frame(DefaultFramer, payload),
        "xxh3" => frame(ChecksumFramer::new(XxHash64::new()), payload),
        "crc32" => frame(ChecksumFramer::new(Crc32::new()), payload),
        "crc16" => frame(ChecksumFramer::new(Crc16::new()), payload),
        other => panic!("no framing {other}"),
    }
}

/// A last frame cut short whose declared length runs past the end of the
/// file (a large message being written) is a torn tail, as `info` and
/// `recover` say: `verify` used to call its length impossible, damage.
/// Every framing, cut inside the length prefix, the checksum and across
/// the payload.
#[test]
fn verify_calls_a_last_frame_longer_than_the_file_a_torn_tail() {
    let dir = Dir::new();
    for framing in FRAMINGS {
        let s = stream(framing, 3, Some(&header()));
        let big = one_frame(framing, &[0xa5; 10_000]);
        let cuts = (1..=12).chain((13..big.len()).step_by(331));
        for cut in cuts {
            let mut bytes = s.bytes.clone();
            bytes.extend_from_slice(&big[..cut]);
            dir.write("t.bin", &bytes);
            let args = ["--framing", framing, "--json"];
            let verify = json_run(&dir, &[&["verify", "t.bin"][..], &args].concat(), 1);
            let at = format!("{framing}, {cut} bytes of the last frame: {verify}");
            assert_eq!(verify["problems_total"], 1, "{at}");
            assert_eq!(verify["problems"][0]["kind"], "torn_tail", "{at}");
            assert_eq!(verify["problems"][0]["offset"], s.bytes.len(), "{at}");
            assert_eq!(verify["problems"][0]["frame"], 4, "{at}");
            assert_eq!(verify["frames"], 4, "{at}");
            let info = json_run(&dir, &[&["info", "t.bin"][..], &args].concat(), 0);
            assert_eq!(info["end"]["kind"], "torn", "{at}: {info}");
            assert_eq!(info["end"]["offset"], s.bytes.len(), "{at}: {info}");
        }
    }
}

/// A flipped bit in the last whole frame's length, then a frame torn by a
/// crash: with CRC-32 or XXH3 the damaged frame verifies at the length one
/// bit away, so `info`, `verify` and `recover` all call it corruption at
/// its offset, and `recover` leaves the file as it was (it used to cut the
/// whole frame with the torn one). Every bit that makes it run past the end.
#[test]
fn a_damaged_length_before_a_torn_frame_is_corruption_to_every_command() {
    let dir = Dir::new();
    for framing in ["xxh3", "crc32"] {
        let s = stream(framing, 5, Some(&header()));
        let big = one_frame(framing, &[0xa5; 10_000]);
        let last = s.offsets[5];
        let header_len = big.len() - 10_000;
        for bit in 0..32 {
            let mut bytes = s.bytes.clone();
            bytes[last + bit / 8] ^= 1 << (bit % 8);
            let declared = u32::from_le_bytes(bytes[last..last + 4].try_into().unwrap());
            bytes.extend_from_slice(&big[..100]);
            if last + header_len + declared as usize <= bytes.len() {
                // Shorter: a checksum mismatch, not a frame running past
                // the end.
                continue;
            }
            let path = dir.write("d.bin", &bytes);
            let at = format!("{framing}, bit {bit}");
            let args = ["--framing", framing, "--json"];
            let verify = json_run(&dir, &[&["verify", "d.bin"][..], &args].concat(), 1);
            assert_eq!(verify["problems"][0]["kind"], "corrupt", "{at}: {verify}");
            assert_eq!(verify["problems"][0]["offset"], last, "{at}: {verify}");
            let info = json_run(&dir, &[&["info", "d.bin"][..], &args].concat(), 0);
            assert_eq!(info["end"]["kind"], "corrupt", "{at}: {info}");
            assert_eq!(info["end"]["offset"], last, "{at}: {info}");
            dir.cmd()
                .args(["recover", "d.bin", "--framing", framing])
                .assert()
                .code(1);
            assert_eq!(fs::read(&path).unwrap(), bytes, "{at}");
        }
    }
}

#[test]
fn verify_of_garbage_is_not_a_stream() {
    let dir = Dir::new();
    dir.write("notes.txt", &b"lorem ipsum dolor sit amet ".repeat(20));
    let assert = dir.cmd().args(["verify", "notes.txt"]).assert().code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("not a FlatStream stream"), "{line}");
}

// ---------------------------------------------------------------- cat

#[test]
fn cat_hex_is_the_default() {
    let dir = Dir::new();
    dir.write("s.bin", &stream("crc16", 6, Some(&header())).bytes);
    let expected: String = payloads(6)
        .iter()
        .map(|p| p.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    dir.cmd()
        .args(["cat", "s.bin"])
        .assert()
        .success()
        .stdout(expected.clone());
    dir.cmd()
        .args(["cat", "s.bin", "--hex"])
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn cat_raw_and_frame_ranges() {
    let dir = Dir::new();
    dir.write("s.bin", &stream("xxh3", 10, Some(&header())).bytes);
    let all = payloads(10);
    dir.cmd()
        .args(["cat", "s.bin", "--raw"])
        .assert()
        .success()
        .stdout(all.concat());
    // Frame 0 is the header: frames 2..5 are readings 1, 2 and 3.
    dir.cmd()
        .args(["cat", "s.bin", "--raw", "--frames", "2..5"])
        .assert()
        .success()
        .stdout(all[1..4].concat());
    dir.cmd()
        .args(["cat", "s.bin", "--raw", "--frames", "0..=1"])
        .assert()
        .success()
        .stdout(all[0].clone());
    dir.cmd()
        .args(["cat", "s.bin", "--raw", "--frames", "9.."])
        .assert()
        .success()
        .stdout(all[8..].concat());
    dir.cmd()
        .args(["cat", "s.bin", "--raw", "--frames", "0"])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn cat_into_head_ends_quietly() {
    let dir = Dir::new();
    dir.write("big.bin", &stream("crc32", 20_000, None).bytes);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flatstream"))
        .current_dir(dir.path())
        .args(["cat", "big.bin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.len() > 100);
    drop(stdout); // like `head -n 1` exiting
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cat_stops_at_damage() {
    let dir = Dir::new();
    let s = stream("crc32", 8, None);
    let mut bytes = s.bytes.clone();
    bytes[s.frame(5).end - 2] ^= 4;
    dir.write("d.bin", &bytes);
    let assert = dir.cmd().args(["cat", "d.bin", "--raw"]).assert().code(1);
    assert_eq!(assert.get_output().stdout, payloads(5).concat());
    let line = one_error_line(&assert.get_output().stderr);
    assert!(
        line.contains(&format!(
            "d.bin: byte offset {} (frame 5): CRC-32/ISO-HDLC checksum mismatch",
            s.offsets[5]
        )),
        "{line}"
    );

    // A zero-filled tail is damage too, and no zero payload is printed.
    let mut filled = s.bytes.clone();
    filled.resize(filled.len() + 64, 0);
    dir.write("z.bin", &filled);
    let assert = dir.cmd().args(["cat", "z.bin", "--raw"]).assert().code(1);
    assert_eq!(assert.get_output().stdout, payloads(8).concat());
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("zero-filled tail"), "{line}");
}

// ---------------------------------------------------------------- recover

#[test]
fn recover_truncates_a_torn_tail_in_place() {
    let dir = Dir::new();
    let s = stream("crc32", 10, Some(&header()));
    let torn = &s.bytes[..s.offsets[10] + 9];
    let path = dir.write("torn.bin", torn);

    // A dry run changes nothing, and says what would be lost.
    let assert = dir
        .cmd()
        .args(["recover", "torn.bin", "--dry-run"])
        .assert()
        .code(1);
    assert!(
        stdout_of(&assert).contains("would remove 9 bytes"),
        "{}",
        stdout_of(&assert)
    );
    assert_eq!(fs::read(&path).unwrap(), torn);

    let assert = dir.cmd().args(["recover", "torn.bin"]).assert().code(1);
    let out = stdout_of(&assert);
    assert!(
        out.contains(&format!(
            "kept 10 frames ({} bytes); removed 9 bytes from byte offset {}",
            s.offsets[10], s.offsets[10]
        )),
        "{out}"
    );
    assert_eq!(fs::read(&path).unwrap(), &s.bytes[..s.offsets[10]]);

    // Now clean: nothing to do, exit 0.
    let assert = dir.cmd().args(["recover", "torn.bin"]).assert().success();
    assert!(stdout_of(&assert).contains("clean"));
}

#[test]
fn recover_truncates_zero_fill() {
    let dir = Dir::new();
    let s = stream("crc16", 7, None);
    let mut filled = s.bytes.clone();
    filled.resize(filled.len() + 3000, 0);
    let path = dir.write("z.bin", &filled);
    let report = json_of(
        &dir.cmd()
            .args(["recover", "z.bin", "--json"])
            .assert()
            .code(1),
    );
    assert_eq!(report["end"]["kind"], "zero_filled");
    assert_eq!(report["removed"], 3000);
    assert_eq!(fs::read(&path).unwrap(), s.bytes);
}

#[test]
fn recover_refuses_corruption_in_place_and_salvages() {
    let dir = Dir::new();
    let s = stream("xxh3", 12, Some(&header()));
    let mut bytes = s.bytes.clone();
    bytes[s.frame(4).end - 4] ^= 0x20;
    let path = dir.write("c.bin", &bytes);

    let assert = dir.cmd().args(["recover", "c.bin"]).assert().code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("--salvage"), "{line}");
    assert!(
        line.contains(&format!("byte offset {} (frame 4)", s.offsets[4])),
        "{line}"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes, "unchanged");

    let assert = dir
        .cmd()
        .args(["recover", "c.bin", "--salvage", "-o", "saved.bin"])
        .assert()
        .code(1);
    let out = stdout_of(&assert);
    assert!(out.contains("kept 12 frames"), "{out}");
    assert!(out.contains("lost 1 damaged region"), "{out}");
    let (kept_header, kept) = read_back(&dir.path().join("saved.bin"), "xxh3");
    assert_eq!(kept_header, Some(header()));
    let mut expected = payloads(12);
    expected.remove(3); // reading 3 was frame 4
    assert!(kept == expected, "salvage kept the wrong payloads");

    // The output exists now: refused without --force.
    dir.cmd()
        .args(["recover", "c.bin", "--salvage", "-o", "saved.bin"])
        .assert()
        .code(2);
    dir.cmd()
        .args([
            "recover",
            "c.bin",
            "--salvage",
            "-o",
            "saved.bin",
            "--force",
        ])
        .assert()
        .code(1);

    // Salvage of an intact stream loses nothing.
    dir.write("ok.bin", &s.bytes);
    let assert = dir
        .cmd()
        .args(["recover", "ok.bin", "--salvage", "--dry-run"])
        .assert()
        .success();
    assert!(stdout_of(&assert).contains("nothing lost"));
}

#[test]
fn recover_refuses_to_cut_what_is_not_a_stream() {
    let dir = Dir::new();
    let text = b"a text file that recover must never truncate\n".repeat(3);
    let path = dir.write("notes.txt", &text);
    let assert = dir.cmd().args(["recover", "notes.txt"]).assert().code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("refusing to truncate"), "{line}");
    assert_eq!(fs::read(&path).unwrap(), text);

    // Nor with a framing that the stream contradicts.
    let s = stream("crc32", 4, None);
    let path = dir.write("s.bin", &s.bytes);
    let assert = dir
        .cmd()
        .args(["recover", "s.bin", "--framing", "plain"])
        .assert()
        .code(2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("disagrees"), "{line}");
    assert_eq!(fs::read(&path).unwrap(), s.bytes);
}

#[test]
fn recover_respects_the_lock() {
    let dir = Dir::new();
    let s = stream("crc32", 3, None);
    let path = dir.write("locked.bin", &s.bytes[..s.bytes.len() - 2]);
    let file = fs::File::open(&path).unwrap();
    file.try_lock().unwrap();
    let assert = dir.cmd().args(["recover", "locked.bin"]).assert().code(2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("locked"), "{line}");
    assert_eq!(fs::read(&path).unwrap().len(), s.bytes.len() - 2);
}

// ---------------------------------------------------------------- convert

#[test]
fn convert_round_trips() {
    let dir = Dir::new();
    dir.write("plain.bin", &stream("plain", 25, Some(&header())).bytes);
    let mut from = "plain".to_owned();
    for to in ["crc32", "xxh3", "crc16", "plain"] {
        let out = format!("{to}.out");
        let assert = dir
            .cmd()
            .args(["convert", &format!("{from}.bin"), &out, "--framing", to])
            .assert()
            .success();
        assert!(stdout_of(&assert).contains("26 frames, header included"));
        let (header_back, payloads_back) = read_back(&dir.path().join(&out), to);
        assert_eq!(header_back, Some(header()), "{from} -> {to}");
        assert_eq!(payloads_back, payloads(25), "{from} -> {to}");
        let info = json_of(&dir.cmd().args(["info", &out, "--json"]).assert().success());
        assert_eq!(info["framing"], to);
        fs::rename(dir.path().join(&out), dir.path().join(format!("{to}.bin"))).unwrap();
        from = to.to_owned();
    }
    assert_eq!(
        fs::read(dir.path().join("plain.bin")).unwrap(),
        stream("plain", 25, Some(&header())).bytes,
        "back to the same bytes"
    );
}

#[test]
fn convert_refuses_damage_and_overwrites() {
    let dir = Dir::new();
    let s = stream("crc32", 6, None);
    let mut bytes = s.bytes.clone();
    bytes[s.frame(2).end - 1] ^= 1;
    dir.write("d.bin", &bytes);
    let assert = dir
        .cmd()
        .args(["convert", "d.bin", "out.bin", "--framing", "xxh3"])
        .assert()
        .code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(
        line.contains("(frame 2)") && line.contains("nothing was written"),
        "{line}"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no output left behind"
    );

    dir.write("s.bin", &s.bytes);
    dir.write("exists.bin", b"keep me");
    dir.cmd()
        .args(["convert", "s.bin", "exists.bin", "--framing", "xxh3"])
        .assert()
        .code(2);
    assert_eq!(fs::read(dir.path().join("exists.bin")).unwrap(), b"keep me");
    dir.cmd()
        .args(["convert", "s.bin", "s.bin", "--framing", "xxh3", "--force"])
        .assert()
        .code(2);
    assert_eq!(fs::read(dir.path().join("s.bin")).unwrap(), s.bytes);
    dir.cmd()
        .args([
            "convert",
            "s.bin",
            "exists.bin",
            "--framing",
            "xxh3",
            "--force",
        ])
        .assert()
        .success();
    assert_eq!(
        read_back(&dir.path().join("exists.bin"), "xxh3").1,
        payloads(6)
    );
}

#[test]
fn quiet_is_accepted_everywhere() {
    let dir = Dir::new();
    dir.write("s.bin", &stream("crc32", 3, None).bytes);
    dir.cmd().args(["-q", "info", "s.bin"]).assert().success();
    dir.cmd()
        .args(["verify", "s.bin", "--quiet"])
        .assert()
        .success();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("s.bin"))
        .unwrap();
    file.write_all(&[1, 2]).unwrap();
    dir.cmd()
        .args(["verify", "s.bin", "--quiet"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("torn"));
}

// ---------------------------------------------------------------- schemas

#[test]
fn cat_json_through_the_header_schema() {
    let dir = Dir::new();
    dir.write(
        "s.bin",
        &stream("crc32", 5, Some(&header_with_schema())).bytes,
    );
    let assert = dir
        .cmd()
        .args(["cat", "s.bin", "--json"])
        .assert()
        .success();
    let out = stdout_of(&assert);
    assert_eq!(out.lines().count(), 5, "{out}");
    for (i, line) in out.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let reading = Reading::sample(i as u64);
        // Like flatc, fields at their default value (0) are left out.
        let number = |field: &str| value.get(field).map_or(0, |v| v.as_u64().unwrap());
        assert_eq!(number("sensor_id"), u64::from(reading.sensor_id), "{line}");
        assert_eq!(number("sequence"), reading.sequence, "{line}");
        assert_eq!(number("timestamp_ns"), reading.timestamp_ns, "{line}");
        assert_eq!(value["label"], reading.label.as_str(), "{line}");
    }
    // --frames selects lines; frame 0 is the header.
    let assert = dir
        .cmd()
        .args(["cat", "s.bin", "--json", "--frames", "3..=3"])
        .assert()
        .success();
    let value: serde_json::Value = serde_json::from_str(stdout_of(&assert).trim()).unwrap();
    assert_eq!(value["label"], Reading::sample(2).label.as_str());
}

#[test]
fn cat_json_with_a_schema_file() {
    let dir = Dir::new();
    dir.write("s.bin", &stream("plain", 3, None).bytes);
    let schema = data("telemetry.bfbs");
    let schema = schema.to_str().unwrap();
    for root in [
        None,
        Some("Telemetry"),
        Some("flatstream.telemetry.Telemetry"),
    ] {
        let mut cmd = dir.cmd();
        cmd.args(["cat", "s.bin", "--json", "--schema", schema]);
        if let Some(root) = root {
            cmd.args(["--root-type", root]);
        }
        let out = stdout_of(&cmd.assert().success());
        assert_eq!(out.lines().count(), 3, "{root:?}: {out}");
    }
}

#[test]
fn verify_with_a_schema() {
    let dir = Dir::new();
    dir.write(
        "good.bin",
        &stream("crc32", 6, Some(&header_with_schema())).bytes,
    );
    let assert = dir.cmd().args(["verify", "good.bin"]).assert().success();
    assert!(
        stdout_of(&assert).contains("checksums and schema flatstream.telemetry.Telemetry verified"),
        "{}",
        stdout_of(&assert)
    );

    // A frame whose checksum is right but whose payload is not a Telemetry.
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
    writer.write_header(&header_with_schema()).unwrap();
    let mut offsets = Vec::new();
    for i in 0..4 {
        offsets.push(writer.bytes_written());
        if i == 2 {
            writer
                .write_payload(b"\x08\0\0\0TLM1 garbage that is no table")
                .unwrap();
        } else {
            write_reading(&mut writer, &Reading::sample(i)).unwrap();
        }
    }
    dir.write("bad.bin", &writer.into_inner());
    let assert = dir.cmd().args(["verify", "bad.bin"]).assert().code(1);
    let out = stdout_of(&assert);
    assert!(
        out.contains(&format!(
            "byte offset {} (frame 3): not a valid flatstream.telemetry.Telemetry",
            offsets[2]
        )),
        "{out}"
    );
    one_error_line(&assert.get_output().stderr);
    // Checksums alone find nothing wrong.
    dir.cmd()
        .args(["verify", "bad.bin", "--no-schema"])
        .assert()
        .success();
    // cat --json stops there.
    let assert = dir
        .cmd()
        .args(["cat", "bad.bin", "--json"])
        .assert()
        .code(1);
    assert_eq!(stdout_of(&assert).lines().count(), 2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("(frame 3): not a valid"), "{line}");
}

#[test]
fn schema_errors_are_one_line() {
    let dir = Dir::new();
    dir.write("h.bin", &stream("crc32", 3, Some(&header())).bytes);
    dir.write("n.bin", &stream("crc32", 3, None).bytes);
    dir.write("notes.txt", b"not a schema");
    let telemetry = data("telemetry.bfbs").to_str().unwrap().to_owned();
    let control = data("control.bfbs").to_str().unwrap().to_owned();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["verify", "n.bin", "--schema", "missing.bfbs"],
            2,
            "missing.bfbs: cannot read the schema: no such file or directory",
        ),
        (
            vec!["cat", "n.bin", "--json", "--schema", "notes.txt"],
            2,
            "notes.txt: invalid binary schema",
        ),
        (
            vec![
                "verify",
                "n.bin",
                "--schema",
                &telemetry,
                "--root-type",
                "Nope",
            ],
            2,
            "no table `Nope` in the schema",
        ),
        (
            vec!["verify", "h.bin", "--schema", &control],
            2,
            "mismatched schema: its file identifier is \"CTL1\", the stream header's is \"TLM1\"",
        ),
        (
            vec!["cat", "n.bin", "--json", "--schema", &control],
            1,
            "n.bin: byte offset 0 (frame 0): file identifier \"TLM1\" is not the schema's \"CTL1\"",
        ),
        (
            vec!["cat", "n.bin", "--raw", "--schema", &telemetry],
            2,
            "--schema and --root-type go with --json",
        ),
    ];
    for (args, code, message) in cases {
        let assert = dir.cmd().args(&args).assert().code(code);
        let line = one_error_line(&assert.get_output().stderr);
        assert!(line.contains(message), "{args:?}: {line}");
    }
    // A mismatched schema without a header: every payload is reported.
    let assert = dir
        .cmd()
        .args(["verify", "n.bin", "--schema", &control])
        .assert()
        .code(1);
    assert!(stdout_of(&assert).contains("3 problems"));
}

#[test]
fn info_shows_the_header_schema() {
    let dir = Dir::new();
    dir.write(
        "s.bin",
        &stream("xxh3", 2, Some(&header_with_schema())).bytes,
    );
    let info = json_of(
        &dir.cmd()
            .args(["info", "s.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(
        info["header"]["schema_bytes"],
        fs::read(data("telemetry.bfbs")).unwrap().len()
    );
    assert_eq!(
        info["header"]["root_type"],
        "flatstream.telemetry.Telemetry"
    );
}

// ---------------------------------------------------------------- robustness

/// Truncations and byte flips all over a small stream with a header, in
/// every framing, through the library functions behind the subcommands:
/// nothing panics, and every outcome is a report or a clean error.
#[test]
fn damage_anywhere_never_panics() {
    use flatstream_cli::cat::{CatOptions, cat};
    use flatstream_cli::info::{InfoOptions, info};
    use flatstream_cli::recover::{RecoverArgs, salvage};
    use flatstream_cli::verify::{VerifyOptions, verify};

    let dir = Dir::new();
    let path = dir.path().join("s.bin");
    let mut runs = 0;
    for framing in FRAMINGS {
        let s = stream(framing, 3, Some(&header_with_schema()));
        // Cut at and around every frame boundary, and every 37 bytes; a
        // byte changed every 41 bytes. (Debug builds are slow here: the
        // library's own tests sweep every byte.)
        let mut cuts: Vec<usize> = s
            .offsets
            .iter()
            .flat_map(|&o| [o.saturating_sub(1), o, o + 1, o + 5])
            .chain((0..s.bytes.len()).step_by(37))
            .filter(|&n| n <= s.bytes.len())
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut variants: Vec<Vec<u8>> = cuts.iter().map(|&n| s.bytes[..n].to_vec()).collect();
        for at in (0..s.bytes.len()).step_by(41) {
            let mut flipped = s.bytes.clone();
            flipped[at] ^= 0xA5;
            variants.push(flipped);
        }
        for bytes in variants {
            fs::write(&path, &bytes).unwrap();
            let info = info(&path, &InfoOptions::default());
            let verified = verify(&path, &VerifyOptions::default());
            let mut out = Vec::new();
            let printed = cat(&path, &CatOptions::default(), &mut out);
            let salvaged = salvage(
                &path,
                None,
                &RecoverArgs {
                    dry_run: true,
                    ..RecoverArgs::default()
                },
            );
            for error in [info.err(), verified.err(), printed.err(), salvaged.err()]
                .into_iter()
                .flatten()
            {
                assert!(!error.message().contains('\n'), "{}", error.message());
                assert!(error.exit_code() == 1 || error.exit_code() == 2);
            }
            runs += 1;
        }
    }
    assert!(runs > 200);
}

// ---------------------------------------------------------------- red-team fixes

/// A plain stream of telemetry payloads whose first frame's first two
/// payload bytes equal the CRC-16 the CRC-16 reading expects there.
fn plain_passing_as_crc16() -> Vec<u8> {
    let mut payloads = payloads(200);
    let next_len = u32::try_from(payloads[1].len()).unwrap().to_le_bytes();
    let mut as_crc16 = payloads[0][2..].to_vec();
    as_crc16.extend_from_slice(&next_len[..2]);
    let mut header = [0u8; 6];
    ChecksumFramer::new(Crc16::new())
        .encode_header(&as_crc16, &mut header)
        .unwrap();
    payloads[0][..2].copy_from_slice(&header[4..6]);
    let mut bytes = Vec::new();
    for p in &payloads {
        bytes.extend_from_slice(&u32::try_from(p.len()).unwrap().to_le_bytes());
        bytes.extend_from_slice(p);
    }
    bytes
}

#[test]
fn recover_never_cuts_a_plain_stream_on_a_chance_crc16_match() {
    let dir = Dir::new();
    let bytes = plain_passing_as_crc16();
    let path = dir.write("p.bin", &bytes);
    let info = json_of(
        &dir.cmd()
            .args(["info", "p.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["framing"], "plain");
    assert_eq!(info["frames"], 200);
    dir.cmd().args(["recover", "p.bin"]).assert().success();
    dir.cmd()
        .args(["recover", "p.bin", "--framing", "plain"])
        .assert()
        .success();
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

/// A flipped bit in one of the first frames' lengths of a checksummed
/// stream: detection must not fall back to plain and let `recover` cut the
/// good frames after it as a torn tail (it cut a CRC-32 stream of a header
/// and five readings to its first frame). Every bit of the first three
/// lengths, every checksummed framing: `recover` never removes a byte of a
/// whole frame; it cuts nothing, or refuses.
#[test]
fn a_flipped_bit_in_an_early_length_never_lets_recover_cut_good_frames() {
    let dir = Dir::new();
    for framing in ["xxh3", "crc32", "crc16"] {
        let s = stream(framing, 5, Some(&header()));
        for frame in 0..3 {
            for bit in 0..32 {
                let mut bytes = s.bytes.clone();
                bytes[s.offsets[frame] + bit / 8] ^= 1 << (bit % 8);
                let path = dir.write("f.bin", &bytes);
                let output = dir.cmd().args(["recover", "f.bin"]).output().unwrap();
                let at = format!(
                    "{framing}, bit {bit} of frame {frame}'s length: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                assert_eq!(fs::read(&path).unwrap(), bytes, "{at}");
            }
        }
    }
}

/// A high length bit flipped in a file whose payloads are full of words
/// that read as lengths of long frames that fit the file (FlatBuffer
/// offsets into a big buffer): `verify`, `info` and `recover --salvage`
/// lose the damaged frame alone. (They used to give up the search for good
/// frames after a few of those words and report most of the file lost; a
/// 200 MiB file of random payloads did it with bit 27.)
#[test]
fn a_high_length_bit_among_long_false_lengths_loses_one_frame() {
    let dir = Dir::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
    for _ in 0..2048 {
        let payload: Vec<u8> = (0..254)
            .flat_map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((64 << 10) + 1 + u32::try_from(state % (960 << 10)).unwrap()).to_le_bytes()
            })
            .collect();
        writer.write_payload(&payload).unwrap();
    }
    let mut bytes = writer.into_inner();
    let frame_len = 8 + 1016;
    bytes[10 * frame_len + 2] ^= 0x10; // bit 20 of frame 10's length
    dir.write("f.bin", &bytes);
    let report = json_run(&dir, &["verify", "f.bin", "--json"], 1);
    assert_eq!(report["problems_total"], 1, "{report}");
    assert_eq!(report["problems"][0]["offset"], 10 * frame_len, "{report}");
    assert_eq!(report["frames"], 2047, "{report}");
    let info = json_run(&dir, &["info", "f.bin", "--json"], 0);
    assert_eq!(info["end"]["good_after"], 11 * frame_len, "{info}");
    assert_eq!(info["end"]["salvage"]["frames"], 2037, "{info}");
    let salvage = json_run(
        &dir,
        &["recover", "f.bin", "--salvage", "--dry-run", "--json"],
        1,
    );
    assert_eq!(salvage["frames"], 2047, "{salvage}");
}

/// A crash in the middle of a frame of little-endian counters, where most
/// offsets read as a frame that fits: 64 KiB of them is a torn tail that
/// `recover` truncates (the search for good frames in it used to give up,
/// the scan then said torn, and the truncation refused with "the file
/// changed since it was scanned"); 1 MiB of them is more than the search
/// may do, and every command says corruption, undecided, and leaves it.
#[test]
fn a_torn_frame_of_counters_is_truncated_or_undecided_never_a_false_hint() {
    let dir = Dir::new();
    let file = |counters: u32| {
        let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
        for i in 1..=10u8 {
            writer.write_payload(&[i; 1016]).unwrap();
        }
        let payload: Vec<u8> = (0..counters).flat_map(u32::to_le_bytes).collect();
        writer.write_payload(&payload).unwrap();
        writer.into_inner()
    };
    let small = file(16 << 10);
    let path = dir.write("small.bin", &small[..10 * 1024 + 40_000]);
    let report = json_run(&dir, &["recover", "small.bin", "--json"], 1);
    assert_eq!(report["end"]["kind"], "torn", "{report}");
    assert_eq!(fs::metadata(&path).unwrap().len(), 10 * 1024);

    let large = file(256 << 10);
    let cut = &large[..large.len() - 1000];
    let path = dir.write("large.bin", cut);
    let info = json_run(&dir, &["info", "large.bin", "--json"], 0);
    assert_eq!(info["end"]["kind"], "corrupt", "{info}");
    assert_eq!(info["end"]["undecided"], true, "{info}");
    assert_eq!(info["end"]["offset"], 10 * 1024, "{info}");
    let report = json_run(&dir, &["verify", "large.bin", "--json"], 1);
    assert_eq!(report["problems_total"], 1, "{report}");
    assert!(
        report["problems"][0]["what"]
            .as_str()
            .is_some_and(|what| what.contains("undecided")),
        "{report}"
    );
    let assert = dir.cmd().args(["recover", "large.bin"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("undecided"), "{stderr}");
    assert!(!stderr.contains("changed since"), "{stderr}");
    assert_eq!(fs::read(&path).unwrap(), cut, "nothing truncated");
}

#[test]
fn a_length_past_the_end_mid_file_is_damage_not_a_torn_tail() {
    let dir = Dir::new();
    let s = stream("crc32", 60, None);
    let mut bytes = s.bytes.clone();
    bytes[s.offsets[50] + 3] = 0x10;
    dir.write("l.bin", &bytes);
    let report = json_of(
        &dir.cmd()
            .args(["verify", "l.bin", "--json"])
            .assert()
            .code(1),
    );
    assert_eq!(report["problems_total"], 1, "{report}");
    assert_eq!(report["problems"][0]["offset"], s.offsets[50]);
    assert_eq!(report["frames"], 59);
    let salvage = json_of(
        &dir.cmd()
            .args(["recover", "l.bin", "--salvage", "--dry-run", "--json"])
            .assert()
            .code(1),
    );
    assert_eq!(salvage["frames"], 59);
    // A genuinely torn last frame is still a torn tail.
    dir.write("t.bin", &s.bytes[..s.bytes.len() - 9]);
    let info = json_of(
        &dir.cmd()
            .args(["info", "t.bin", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["end"]["kind"], "torn");
    // A first length far past the end: judged at once.
    let mut garbage = vec![0xff; 4];
    garbage.extend((0..200_000u32).map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[2]));
    dir.write("g.bin", &garbage);
    for command in ["info", "verify", "cat"] {
        let assert = dir.cmd().args([command, "g.bin"]).assert().code(1);
        one_error_line(&assert.get_output().stderr);
    }
    let path = dir.path().join("g.bin");
    dir.cmd().args(["recover", "g.bin"]).assert().code(1);
    assert_eq!(fs::read(path).unwrap(), garbage);
}

#[cfg(unix)]
#[test]
fn schema_files_must_be_regular() {
    let dir = Dir::new();
    dir.write("n.bin", &stream("crc32", 3, None).bytes);
    let fifo = dir.path().join("schema.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    for schema in [fifo.to_str().unwrap(), "/dev/zero"] {
        let assert = dir
            .cmd()
            .args(["verify", "n.bin", "--schema", schema])
            .timeout(Duration::from_secs(10))
            .assert()
            .code(2);
        let line = one_error_line(&assert.get_output().stderr);
        assert!(line.contains("not a schema file"), "{line}");
    }
}

#[test]
fn recover_never_cuts_an_all_zero_file_to_nothing() {
    let dir = Dir::new();
    let path = dir.write("z.bin", &[0u8; 100_000]);
    for args in [
        &["recover", "z.bin"][..],
        &["recover", "z.bin", "--dry-run"],
    ] {
        let assert = dir.cmd().args(args).assert().code(1);
        let line = one_error_line(&assert.get_output().stderr);
        assert!(line.contains("not a FlatStream stream"), "{line}");
    }
    assert_eq!(fs::read(&path).unwrap().len(), 100_000);
    let assert = dir.cmd().args(["info", "z.bin"]).assert().code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("not a FlatStream stream"), "{line}");
}

#[test]
fn zero_frames_inside_a_stream_are_damage() {
    let dir = Dir::new();
    for (framing, zeros) in [("plain", 16), ("crc32", 4096)] {
        let s = stream(framing, 20, None);
        let mut bytes = s.bytes[..s.offsets[10]].to_vec();
        bytes.extend(vec![0u8; zeros]);
        bytes.extend_from_slice(&s.bytes[s.offsets[10]..]);
        dir.write("z.bin", &bytes);
        let report = json_of(
            &dir.cmd()
                .args(["verify", "z.bin", "--json"])
                .assert()
                .code(1),
        );
        assert_eq!(report["problems"][0]["offset"], s.offsets[10], "{framing}");
        let assert = dir.cmd().args(["cat", "z.bin"]).assert().code(1);
        assert_eq!(stdout_of(&assert).lines().count(), 10, "{framing}");
        one_error_line(&assert.get_output().stderr);
        dir.cmd()
            .args(["convert", "z.bin", "o.bin", "--framing", "xxh3"])
            .assert()
            .code(1);
        assert!(!dir.path().join("o.bin").exists());
        let report = json_of(
            &dir.cmd()
                .args([
                    "recover",
                    "z.bin",
                    "--salvage",
                    "-o",
                    "s.bin",
                    "--force",
                    "--json",
                ])
                .assert()
                .code(1),
        );
        let (_, kept) = read_back(&dir.path().join("s.bin"), framing);
        assert_eq!(kept.len(), 20, "{framing}");
        assert_eq!(report["frames"], 20, "{framing}");
    }
}

#[test]
fn untrusted_text_is_escaped() {
    let dir = Dir::new();
    let header = StreamHeader::new()
        .with_root_type("evil\u{1b}[2J\nforged: line")
        .with_metadata("k\r", "v\u{7}");
    dir.write("e.bin", &stream("crc32", 2, Some(&header)).bytes);
    let text = stdout_of(&dir.cmd().args(["info", "e.bin"]).assert().success());
    assert!(!text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{7}'));
    assert!(text.contains("evil\\u{1b}[2J\\nforged: line"), "{text}");
    dir.write("bad\nname\u{1b}.bin", b"not a stream at all, just text\n");
    let assert = dir
        .cmd()
        .args(["info", "bad\nname\u{1b}.bin"])
        .assert()
        .code(1);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("bad\\nname\\u{1b}.bin"), "{line}");
}

#[test]
fn root_type_without_a_schema_is_a_usage_error() {
    let dir = Dir::new();
    dir.write("n.bin", &stream("crc32", 3, None).bytes);
    let assert = dir
        .cmd()
        .args(["verify", "n.bin", "--root-type", "X"])
        .assert()
        .code(2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("--root-type needs a schema"), "{line}");
    // Singular where there is one.
    dir.write("one.bin", &stream("crc32", 1, None).bytes);
    let text = stdout_of(&dir.cmd().args(["verify", "one.bin"]).assert().success());
    assert!(text.contains("1 frame,"), "{text}");
}

#[test]
fn a_forced_framing_never_cuts_what_the_detected_one_reads_intact() {
    let dir = Dir::new();
    let bytes = plain_passing_as_crc16();
    let path = dir.write("p.bin", &bytes);
    let assert = dir
        .cmd()
        .args(["recover", "p.bin", "--framing", "crc16"])
        .assert()
        .code(2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("disagrees"), "{line}");
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_header_whose_root_type_its_schema_lacks_is_damage_named_at_frame_0() {
    let dir = Dir::new();
    let bad = header_with_schema().with_root_type("flatstream.telemetry.Missing");
    dir.write("h.bin", &stream("crc32", 3, Some(&bad)).bytes);
    for args in [&["verify", "h.bin"][..], &["cat", "h.bin", "--json"][..]] {
        let assert = dir.cmd().args(args).assert().code(1);
        let line = one_error_line(&assert.get_output().stderr);
        assert!(
            line.contains("h.bin: byte offset 0 (frame 0): the stream header's schema"),
            "{args:?}: {line}"
        );
    }
    // Naming a root type the schema lacks is the user's mistake: usage.
    let good = header_with_schema();
    dir.write("g.bin", &stream("crc32", 3, Some(&good)).bytes);
    let assert = dir
        .cmd()
        .args([
            "verify",
            "g.bin",
            "--root-type",
            "flatstream.telemetry.Missing",
        ])
        .assert()
        .code(2);
    let line = one_error_line(&assert.get_output().stderr);
    assert!(line.contains("g.bin"), "{line}");
}
