//! `recover`, `StreamReader::recover` and `recover_file_for_append`, for every
//! framer pair of this build: how many frames are intact, where they end, and
//! how the stream ends (clean, torn, zero-filled, corrupt).
//!
//! - A stream cut at any byte ends clean at a frame boundary, or torn at the
//!   start of the partial frame; a partial frame (or a run of whole frames and
//!   then a partial one) made only of zero bytes is a zero-filled tail.
//! - Zero bytes appended to a stream are a zero-filled tail for every framer,
//!   whether they parse as empty frames (plain, CRC-32, CRC-16: an empty
//!   payload's frame is all zeros) or as a checksum mismatch (XXH3-64). By the
//!   same rule, empty frames at the very end of a plain or CRC stream are
//!   reported as zero fill, not as frames (a FlatBuffer is never empty).
//! - Zeros followed by real frames are not a tail.
//! - A checksum mismatch or a length over the limit is a corruption, at the
//!   frame's offset and index, with the intact frames before it.
//! - The file helper truncates torn and zero-filled tails, never corruption,
//!   and appending after it (with `StreamWriter::starting_at`) continues the
//!   stream with absolute counters.
//! - A writer whose sink fails at any call leaves frames that `recover`
//!   reports exactly: the frames written before the failing one, then a clean
//!   end or a torn tail.

use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Seek, Write};

use flatstream::{
    Deframer, DeframerExt, ErrorKind, Framer, Position, StreamReader, StreamWriter, Tail, recover,
    recover_file_for_append, wire,
};

use crate::support::framers;
use crate::support::sources::{self, OneByteAtATime};
use crate::support::streams::{
    self, Ending, TempPath, Written, empty_frame_is_all_zero, summary, write_stream,
};

/// Five non-empty payloads, none of whose frames starts with a zero byte.
fn five_payloads() -> Vec<Vec<u8>> {
    vec![
        b"alpha".to_vec(),
        vec![0xC3; 300],
        b"charlie".to_vec(),
        (0..=254).collect(),
        b"echo!".to_vec(),
    ]
}

/// Payloads with an empty one in the middle and a 256-byte one, whose length
/// prefix starts with a zero byte.
fn awkward_payloads() -> Vec<Vec<u8>> {
    vec![
        b"first".to_vec(),
        Vec::new(),
        vec![0x5A; 256],
        vec![0; 3],
        b"last".to_vec(),
    ]
}

fn recover_slice<D: Deframer + Default>(bytes: &[u8]) -> (u64, u64, Ending) {
    let from_slice = summary(&recover(bytes, D::default()).expect("recover"));
    let one_byte =
        summary(&recover(OneByteAtATime { data: bytes }, D::default()).expect("recover one byte"));
    assert_eq!(from_slice, one_byte, "the source's read sizes matter not");
    from_slice
}

fn clean_stream_is_clean<F: Framer + Default, D: Deframer + Default>() {
    for payloads in [five_payloads(), awkward_payloads()] {
        let w = write_stream::<F>(&payloads);
        let len = w.bytes.len() as u64;
        assert_eq!(
            recover_slice::<D>(&w.bytes),
            (payloads.len() as u64, len, Ending::Clean)
        );
        let recovery = recover(w.bytes.as_slice(), D::default()).expect("recover");
        assert_eq!(
            recovery.end_position(),
            Position {
                offset: len,
                frame: payloads.len() as u64
            }
        );
    }
    assert_eq!(recover_slice::<D>(&[]), (0, 0, Ending::Clean));
}

/// What recovering `w.bytes[..cut]` must report: the earliest frame boundary
/// from which every byte to the cut is zero starts a zero-filled tail;
/// otherwise a clean end at a boundary, or a torn frame.
fn expected_cut_recovery(w: &Written, cut: usize) -> (u64, u64, Ending) {
    let complete = w.complete_frames_in(cut);
    // A zero frame (a length, then only zeros) is zero fill, not a frame.
    let zero_frame = |k: usize| {
        w.bytes[w.starts[k] + 4..w.starts[k + 1]]
            .iter()
            .all(|&b| b == 0)
    };
    let partial_is_zero = w.bytes[w.starts[complete]..cut].iter().all(|&b| b == 0);
    for j in 0..=complete {
        let start = w.starts[j];
        if start < cut && partial_is_zero && (j..complete).all(zero_frame) {
            return (
                j as u64,
                start as u64,
                Ending::ZeroFilled {
                    offset: start as u64,
                    len: (cut - start) as u64,
                },
            );
        }
    }
    let start = w.starts[complete];
    if start == cut {
        (complete as u64, cut as u64, Ending::Clean)
    } else {
        (
            complete as u64,
            start as u64,
            Ending::Torn {
                offset: start as u64,
                len: (cut - start) as u64,
            },
        )
    }
}

fn every_cut_is_torn_or_clean<F: Framer + Default, D: Deframer + Default>() {
    // Non-empty payloads whose frames never start with a zero byte: every cut
    // inside a frame is torn, every boundary clean.
    let w = write_stream::<F>(&five_payloads());
    for cut in 0..=w.bytes.len() {
        let complete = w.complete_frames_in(cut);
        let start = w.starts[complete];
        let expected_ending = if start == cut {
            Ending::Clean
        } else {
            Ending::Torn {
                offset: start as u64,
                len: (cut - start) as u64,
            }
        };
        assert_eq!(
            recover_slice::<D>(&w.bytes[..cut]),
            (complete as u64, start as u64, expected_ending),
            "cut at {cut}"
        );
    }

    // With an empty frame and a length prefix starting with a zero byte,
    // some partial frames are all zeros: those are zero-filled tails.
    let w = write_stream::<F>(&awkward_payloads());
    let mut zero_filled = 0;
    for cut in 0..=w.bytes.len() {
        let expected = expected_cut_recovery(&w, cut);
        zero_filled += usize::from(matches!(expected.2, Ending::ZeroFilled { .. }));
        assert_eq!(
            recover_slice::<D>(&w.bytes[..cut]),
            expected,
            "cut at {cut}"
        );
    }
    // The 256-byte frame cut after its first byte at least; the empty frame
    // whole and cut, when it is all zeros.
    assert!(zero_filled >= 1);
    if empty_frame_is_all_zero::<F>() {
        assert!(zero_filled > w.header_len);
    }
}

fn zero_filled_tail_is_reported_as_such<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&five_payloads());
    let frames = w.payloads.len() as u64;
    let end = w.bytes.len() as u64;
    for zeros in (1..=40).chain([64 * 1024 + 3, 200_000]) {
        let mut bytes = w.bytes.clone();
        bytes.resize(bytes.len() + zeros, 0);
        let expected = (
            frames,
            end,
            Ending::ZeroFilled {
                offset: end,
                len: zeros as u64,
            },
        );
        if zeros <= 40 {
            assert_eq!(recover_slice::<D>(&bytes), expected, "{zeros} zeros");
        } else {
            let got = summary(&recover(bytes.as_slice(), D::default()).expect("recover"));
            assert_eq!(got, expected, "{zeros} zeros");
        }
    }
    // Only zeros: a zero-filled tail from offset 0.
    assert_eq!(
        recover_slice::<D>(&[0; 13]),
        (0, 0, Ending::ZeroFilled { offset: 0, len: 13 })
    );
}

fn trailing_empty_frames_are_zero_fill_when_all_zero<F: Framer + Default, D: Deframer + Default>() {
    let mut payloads = five_payloads();
    payloads.extend([Vec::new(), Vec::new()]);
    let w = write_stream::<F>(&payloads);
    let got = recover_slice::<D>(&w.bytes);
    if empty_frame_is_all_zero::<F>() {
        // Two empty frames are 2 * header_len zero bytes: zero fill.
        assert_eq!(
            got,
            (
                5,
                w.starts[5] as u64,
                Ending::ZeroFilled {
                    offset: w.starts[5] as u64,
                    len: 2 * w.header_len as u64
                }
            )
        );
    } else {
        // XXH3-64 of no bytes is not 0: empty frames are frames.
        assert_eq!(got, (7, w.bytes.len() as u64, Ending::Clean));
    }
}

fn zeros_followed_by_frames_are_not_a_tail<F: Framer + Default, D: Deframer + Default>() {
    let payloads = five_payloads();
    let head = write_stream::<F>(&payloads[..2]);
    let rest = write_stream::<F>(&payloads[2..]);
    let zeros = 4 * head.header_len;
    let mut bytes = head.bytes.clone();
    bytes.resize(bytes.len() + zeros, 0);
    bytes.extend_from_slice(&rest.bytes);
    let got = recover_slice::<D>(&bytes);
    if empty_frame_is_all_zero::<F>() {
        // The zeros parse as four empty frames, and the frames after them
        // count: a zero region inside a stream is not a tail.
        assert_eq!(got, (2 + 4 + 3, bytes.len() as u64, Ending::Clean));
    } else {
        // Zeros are a checksum mismatch, with real frames after it.
        let at = head.position(2);
        assert_eq!(got, (2, at.offset, Ending::Corrupt(Some(at))));
        let recovery = recover(bytes.as_slice(), D::default()).expect("recover");
        let Tail::Corrupt(err) = recovery.tail else {
            panic!("{:?}", recovery.tail)
        };
        assert!(
            matches!(err.kind(), ErrorKind::ChecksumMismatch { expected: 0, .. }),
            "{err:?}"
        );
    }
}

/// The checksum field of frame `i` of `w`, and the checksum `F` computes over
/// `payload`.
fn stored_and_computed<F: Framer + Default>(w: &Written, i: usize, payload: &[u8]) -> (u64, u64) {
    let stored =
        wire::read_le(&w.bytes[w.starts[i] + wire::LENGTH_PREFIX_LEN..w.starts[i] + w.header_len]);
    let mut frame = Vec::new();
    F::default()
        .encode_into(payload, &mut frame)
        .expect("encode_into");
    let computed = wire::read_le(&frame[wire::LENGTH_PREFIX_LEN..w.header_len]);
    (stored, computed)
}

fn payload_flip_in_middle_frame<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&five_payloads());
    let mut bytes = w.bytes.clone();
    let at = w.starts[2] + w.header_len + 3;
    bytes[at] ^= 0x10;
    let recovery = recover(bytes.as_slice(), D::default()).expect("recover");
    if w.header_len == wire::LENGTH_PREFIX_LEN {
        // The plain framer has nothing to notice it with.
        assert_eq!(
            summary(&recovery),
            (5, bytes.len() as u64, Ending::Clean),
            "undetected"
        );
        return;
    }
    let position = w.position(2);
    assert_eq!(
        summary(&recovery),
        (2, position.offset, Ending::Corrupt(Some(position)))
    );
    assert_eq!(recovery.end_position(), position);
    let Tail::Corrupt(err) = recovery.tail else {
        unreachable!()
    };
    assert!(err.is_corruption() && err.is_resumable(), "{err:?}");
    let (stored, computed) = stored_and_computed::<F>(&w, 2, &bytes[at - 3..w.starts[3]]);
    assert_ne!(stored, computed);
    match err.kind() {
        ErrorKind::ChecksumMismatch {
            expected,
            computed: got,
            ..
        } => assert_eq!((*expected, *got), (stored, computed)),
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    // The bytes are as they were.
    assert_eq!(bytes[w.starts[3]..], w.bytes[w.starts[3]..]);
}

fn length_over_the_limit_is_corrupt<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&five_payloads());
    let position = w.position(2);
    let prefix = w.starts[2]..w.starts[2] + 4;

    // A length of 1000 against a limit of 400, on the deframer or the reader.
    let mut bytes = w.bytes.clone();
    bytes[prefix.clone()].copy_from_slice(&1000u32.to_le_bytes());
    let via_deframer =
        recover(bytes.as_slice(), D::default().with_max_frame_len(400)).expect("recover");
    let via_reader = StreamReader::new(bytes.as_slice(), D::default())
        .with_max_frame_len(400)
        .recover()
        .expect("recover");
    for recovery in [via_deframer, via_reader] {
        assert_eq!(
            summary(&recovery),
            (2, position.offset, Ending::Corrupt(Some(position)))
        );
        let Tail::Corrupt(err) = recovery.tail else {
            unreachable!()
        };
        assert!(err.is_corruption() && !err.is_resumable(), "{err:?}");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::FrameTooLarge {
                    declared: 1000,
                    limit: 400
                }
            ),
            "{err:?}"
        );
    }

    // The largest length the format carries: recovery accepts it (a writer
    // may be allowed such frames), sees it run past the end, and finds the
    // good frames after it: a damaged length, not a torn tail.
    bytes[prefix].copy_from_slice(&u32::MAX.to_le_bytes());
    let recovery = recover(bytes.as_slice(), D::default()).expect("recover");
    assert_eq!(
        summary(&recovery),
        (2, position.offset, Ending::Corrupt(Some(position)))
    );
    assert_eq!(recovery.good_after, Some(w.starts[3] as u64));
    let salvage = recovery.salvage.as_ref().expect("salvage report");
    assert_eq!((salvage.frames, salvage.regions_total), (2, 1));
    let Tail::Corrupt(err) = recovery.tail else {
        unreachable!()
    };
    assert!(
        matches!(
            err.kind(),
            ErrorKind::CorruptRegion { len, cause, .. }
                if *len == (w.starts[3] - w.starts[2]) as u64
                    && matches!(**cause, ErrorKind::UnexpectedEof { .. })
        ),
        "{err:?}"
    );
}

fn reader_recover_continues_from_where_it_is<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&five_payloads());
    let cut = w.starts[4] + 2;
    let mut reader = StreamReader::new(&w.bytes[..cut], D::default());
    assert_eq!(reader.read_message().expect("frame 0"), Some(&b"alpha"[..]));
    reader.read_message().expect("frame 1");
    let recovery = reader.recover().expect("recover");
    let at = w.position(4);
    assert_eq!(
        summary(&recovery),
        (
            4,
            at.offset,
            Ending::Torn {
                offset: at.offset,
                len: 2
            }
        ),
        "offsets and counts are absolute"
    );
}

fn read_file(path: &std::path::Path) -> Vec<u8> {
    fs::read(path).expect("read the file")
}

fn file_helper_truncates_torn_and_zero_tails_only<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&five_payloads());
    let end4 = w.starts[4] as u64;

    // Clean: untouched, positioned at the end.
    let tmp = TempPath::new("clean");
    fs::write(tmp.path(), &w.bytes).expect("write");
    let (mut file, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("clean");
    assert_eq!(summary(&recovery), (5, w.bytes.len() as u64, Ending::Clean));
    assert_eq!(
        file.stream_position().expect("position"),
        w.bytes.len() as u64
    );
    drop(file);
    assert_eq!(read_file(tmp.path()), w.bytes);

    // Torn: truncated to the last whole frame.
    let tmp = TempPath::new("torn");
    fs::write(tmp.path(), &w.bytes[..w.bytes.len() - 1]).expect("write");
    let (mut file, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("torn");
    let torn_len = (w.bytes.len() - 1) as u64 - end4;
    assert_eq!(
        summary(&recovery),
        (
            4,
            end4,
            Ending::Torn {
                offset: end4,
                len: torn_len
            }
        )
    );
    assert_eq!(file.stream_position().expect("position"), end4);
    drop(file);
    assert_eq!(read_file(tmp.path()), w.bytes[..w.starts[4]]);

    // Zero-filled: truncated to the end of the frames.
    let tmp = TempPath::new("zeros");
    let mut bytes = w.bytes.clone();
    bytes.resize(bytes.len() + 4096, 0);
    fs::write(tmp.path(), &bytes).expect("write");
    let (mut file, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("zeros");
    let end = w.bytes.len() as u64;
    assert_eq!(
        summary(&recovery),
        (
            5,
            end,
            Ending::ZeroFilled {
                offset: end,
                len: 4096
            }
        )
    );
    assert_eq!(file.stream_position().expect("position"), end);
    drop(file);
    assert_eq!(read_file(tmp.path()), w.bytes);

    // Corrupt (a length over the limit; for checksum framers also a payload
    // flip): an error, and the file is left exactly as it was.
    let mut too_long = w.bytes.clone();
    too_long[w.starts[2]..w.starts[2] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut flipped = w.bytes.clone();
    flipped[w.starts[2] + w.header_len] ^= 1;
    let mut cases = vec![too_long];
    if w.header_len > wire::LENGTH_PREFIX_LEN {
        cases.push(flipped);
    }
    for corrupt in cases {
        let tmp = TempPath::new("corrupt");
        fs::write(tmp.path(), &corrupt).expect("write");
        let err = recover_file_for_append(tmp.path(), D::default()).expect_err("corrupt");
        assert!(err.is_corruption(), "{err:?}");
        assert_eq!(err.position(), Some(w.position(2)));
        assert_eq!(read_file(tmp.path()), corrupt, "the file is unchanged");
        // Plain recovery reads it without changing it either.
        let file = fs::File::open(tmp.path()).expect("open");
        let recovery = recover(file, D::default()).expect("recover");
        assert_eq!(recovery.end_position(), w.position(2));
        assert_eq!(read_file(tmp.path()), corrupt);
    }

    // A missing file is created, empty and clean.
    let tmp = TempPath::new("missing");
    let (_, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("missing");
    assert_eq!(summary(&recovery), (0, 0, Ending::Clean));
    assert!(read_file(tmp.path()).is_empty());
}

fn read_all_strict<D: Deframer + Default>(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = StreamReader::new(bytes, D::default());
    let (payloads, err) = streams::read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    payloads
}

fn append_after_recovery_continues_the_stream<F: Framer + Default, D: Deframer + Default>() {
    let old = five_payloads();
    let new: Vec<Vec<u8>> = vec![b"new one".to_vec(), vec![7; 1000], b"new three".to_vec()];
    let w = write_stream::<F>(&old);
    let appended = write_stream::<F>(&new);

    for (tag, damage) in [("clean", 0usize), ("torn", 3), ("zeros", 100)] {
        let tmp = TempPath::new(tag);
        let mut bytes = w.bytes.clone();
        let kept = match tag {
            "torn" => {
                // The last frame torn: it is lost, the first four stay.
                bytes.truncate(w.bytes.len() - damage);
                4
            }
            "zeros" => {
                bytes.resize(bytes.len() + damage, 0);
                5
            }
            _ => 5,
        };
        fs::write(tmp.path(), &bytes).expect("write");

        let (file, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("recover");
        assert_eq!(recovery.frames, kept as u64, "{tag}");
        let start = recovery.end_position();
        let mut writer = StreamWriter::new(BufWriter::new(file), F::default())
            .allow_empty_payloads(true)
            .starting_at(start)
            .with_max_frame_len(2000);
        for payload in &new {
            writer.write_payload(payload).expect("append");
        }
        assert_eq!(writer.frames_written(), (kept + new.len()) as u64, "{tag}");
        assert_eq!(
            writer.bytes_written(),
            start.offset + appended.bytes.len() as u64,
            "{tag}"
        );
        // Error positions are absolute too.
        let err = writer.write_payload(&[0; 2001]).expect_err("too large");
        assert_eq!(
            err.position(),
            Some(Position {
                offset: writer.bytes_written(),
                frame: writer.frames_written()
            })
        );
        writer.flush().expect("flush");
        drop(writer);

        let on_disk = read_file(tmp.path());
        let expected: Vec<Vec<u8>> = old[..kept].iter().chain(&new).cloned().collect();
        assert_eq!(read_all_strict::<D>(&on_disk), expected, "{tag}");
        assert_eq!(
            summary(&recover(on_disk.as_slice(), D::default()).expect("recover")),
            (expected.len() as u64, on_disk.len() as u64, Ending::Clean)
        );
        // Byte-exact: the kept prefix, then the new frames as a fresh writer
        // would frame them.
        assert_eq!(on_disk[..w.starts[kept]], w.bytes[..w.starts[kept]]);
        assert_eq!(on_disk[w.starts[kept]..], appended.bytes[..]);
    }

    // Appending through `OpenOptions::append` after recovery works as well.
    let tmp = TempPath::new("append-mode");
    fs::write(tmp.path(), &w.bytes[..w.bytes.len() - 1]).expect("write");
    let (file, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("recover");
    drop(file);
    let file = OpenOptions::new()
        .append(true)
        .open(tmp.path())
        .expect("open for append");
    let mut writer = StreamWriter::new(file, F::default())
        .allow_empty_payloads(true)
        .starting_at(recovery.end_position());
    writer.write_payload(b"tail").expect("append");
    let on_disk = read_file(tmp.path());
    let mut expected = old[..4].to_vec();
    expected.push(b"tail".to_vec());
    assert_eq!(read_all_strict::<D>(&on_disk), expected);
}

/// A sink that accepts at most `chunk` bytes per call and fails call number
/// `fail_at` (counting from 1) with `fault`; the calls after it fail too.
#[derive(Debug)]
struct FailingSink {
    written: Vec<u8>,
    calls: usize,
    chunk: usize,
    fail_at: Option<usize>,
    fault: io::ErrorKind,
}

impl Write for FailingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.fail_at.is_some_and(|n| self.calls >= n) {
            return Err(io::Error::new(self.fault, "injected"));
        }
        let n = buf.len().min(self.chunk);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn writer_fault_at_every_call_recovers_exactly<F: Framer + Default, D: Deframer + Default>() {
    let payloads = five_payloads();
    let w = write_stream::<F>(&payloads);
    for chunk in [usize::MAX, 3, 64] {
        // How many write calls the whole stream takes with this chunk size.
        let mut clean = FailingSink {
            written: Vec::new(),
            calls: 0,
            chunk,
            fail_at: None,
            fault: io::ErrorKind::BrokenPipe,
        };
        let mut writer = StreamWriter::new(&mut clean, F::default()).allow_empty_payloads(true);
        for payload in &payloads {
            writer.write_payload(payload).expect("clean run");
        }
        assert_eq!(clean.written, w.bytes);
        let calls = clean.calls;

        for fail_at in 1..=calls {
            for fault in [
                io::ErrorKind::BrokenPipe,
                io::ErrorKind::StorageFull,
                io::ErrorKind::WouldBlock,
            ] {
                let context = format!("chunk {chunk}, fault {fault:?} at call {fail_at}");
                let mut sink = FailingSink {
                    written: Vec::new(),
                    calls: 0,
                    chunk,
                    fail_at: Some(fail_at),
                    fault,
                };
                let mut writer =
                    StreamWriter::new(&mut sink, F::default()).allow_empty_payloads(true);
                let mut failed = None;
                for (i, payload) in payloads.iter().enumerate() {
                    if let Err(err) = writer.write_payload(payload) {
                        failed = Some((i, err));
                        break;
                    }
                }
                let (i, err) = failed.unwrap_or_else(|| panic!("{context}: no error"));
                match err.kind() {
                    ErrorKind::Io(e) => assert_eq!(e.kind(), fault, "{context}"),
                    other => panic!("{context}: expected an I/O error, got {other:?}"),
                }
                assert!(!err.is_corruption());
                assert_eq!(err.position(), Some(w.position(i)), "{context}");
                assert_eq!(writer.frames_written(), i as u64, "{context}");
                assert_eq!(writer.bytes_written(), w.starts[i] as u64, "{context}");

                // The sink holds a prefix of the stream: the frames before
                // the failing one and perhaps part of it.
                let on_sink = sink.written.as_slice();
                assert!(on_sink.len() < w.starts[i + 1], "{context}");
                assert!(on_sink.len() >= w.starts[i], "{context}");
                assert_eq!(on_sink, &w.bytes[..on_sink.len()], "{context}");
                let start = w.starts[i] as u64;
                let expected = if on_sink.len() as u64 == start {
                    Ending::Clean
                } else {
                    Ending::Torn {
                        offset: start,
                        len: on_sink.len() as u64 - start,
                    }
                };
                assert_eq!(
                    recover_slice::<D>(on_sink),
                    (i as u64, start, expected),
                    "{context}"
                );
            }
        }
    }
}

/// Recovers through a source that fails once with `fault` at call
/// `fail_at`, calling `StreamReader::recover` again after the error.
fn recover_through_one_fault<D: Deframer + Default>(
    bytes: &[u8],
    chunk: usize,
    fail_at: Option<usize>,
    fault: io::ErrorKind,
) -> ((u64, u64, Ending), usize, usize) {
    let mut reader = StreamReader::new(
        sources::FailsOnce::new(bytes, chunk, fail_at, fault),
        D::default(),
    );
    let mut errors = 0;
    let recovery = loop {
        match reader.recover() {
            Ok(recovery) => break recovery,
            Err(err) => {
                assert!(
                    matches!(err.kind(), ErrorKind::Io(e) if e.kind() == fault),
                    "{err:?}"
                );
                assert!(err.is_resumable());
                errors += 1;
                assert_eq!(errors, 1, "the fault was injected once");
            }
        }
    };
    (summary(&recovery), errors, reader.get_ref().calls)
}

/// The streams to recover through a fault: clean, torn, corrupt; or (with
/// `zero_tail`) with 40 zero bytes after the frames.
fn streams_to_recover<F: Framer + Default>(zero_tail: bool) -> Vec<(&'static str, Vec<u8>)> {
    let w = write_stream::<F>(&five_payloads());
    if zero_tail {
        let mut bytes = w.bytes.clone();
        bytes.resize(bytes.len() + 40, 0);
        return vec![("zero tail", bytes)];
    }
    let mut corrupt = w.bytes.clone();
    corrupt[w.starts[2]..w.starts[2] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    vec![
        ("clean", w.bytes.clone()),
        ("torn", w.bytes[..w.bytes.len() - 3].to_vec()),
        ("corrupt", corrupt),
    ]
}

/// `StreamReader::recover`, called again after a `WouldBlock` (or
/// `TimedOut`) injected at each call position, gives what recovering without
/// the fault gives.
///
/// LIBRARY BUG (reported, the zero-tail case fails): `recover` keeps its scan
/// state in locals, so a second call after an I/O error forgets (1) the
/// all-zero frames it consumed before the fault, which then count as intact
/// frames and move the zero-filled tail after them, and (2) the zero bytes
/// `zero_run_to_end` had read into its scratch space, so the tail's `len`
/// comes out short.
fn recover_resumes_after_would_block<F: Framer + Default, D: Deframer + Default>(zero_tail: bool) {
    let cases = streams_to_recover::<F>(zero_tail);
    for (name, bytes) in &cases {
        for chunk in [7, 64 * 1024] {
            let (expected, errors, calls) =
                recover_through_one_fault::<D>(bytes, chunk, None, io::ErrorKind::WouldBlock);
            assert_eq!(errors, 0);
            assert_eq!(expected, recover_slice::<D>(bytes), "{name}");
            for fail_at in 0..calls {
                for fault in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
                    let (got, errors, _) =
                        recover_through_one_fault::<D>(bytes, chunk, Some(fail_at), fault);
                    assert_eq!(
                        errors, 1,
                        "{name}, chunk {chunk}, {fault:?} at call {fail_at}"
                    );
                    assert_eq!(
                        got, expected,
                        "{name}, chunk {chunk}, {fault:?} at call {fail_at}"
                    );
                }
            }
        }
    }
}

macro_rules! recovery_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn clean_stream_recovers_every_frame_with_a_clean_tail() {
                clean_stream_is_clean::<F, D>();
            }

            #[test]
            fn stream_cut_at_every_byte_is_torn_at_the_partial_frame_or_clean_at_a_boundary() {
                every_cut_is_torn_or_clean::<F, D>();
            }

            #[test]
            fn zero_bytes_appended_are_a_zero_filled_tail_not_frames() {
                zero_filled_tail_is_reported_as_such::<F, D>();
            }

            #[test]
            fn trailing_empty_frames_made_of_zeros_are_zero_fill() {
                trailing_empty_frames_are_zero_fill_when_all_zero::<F, D>();
            }

            #[test]
            fn zeros_followed_by_real_frames_are_not_a_zero_tail() {
                zeros_followed_by_frames_are_not_a_tail::<F, D>();
            }

            #[test]
            fn payload_flip_in_the_middle_frame_is_corrupt_there_when_checksummed() {
                payload_flip_in_middle_frame::<F, D>();
            }

            #[test]
            fn length_over_the_limit_is_corrupt_at_that_frame() {
                length_over_the_limit_is_corrupt::<F, D>();
            }

            #[test]
            fn stream_reader_recover_counts_from_the_start_of_the_stream() {
                reader_recover_continues_from_where_it_is::<F, D>();
            }

            #[test]
            fn recover_called_again_after_would_block_gives_the_same_result() {
                recover_resumes_after_would_block::<F, D>(false);
            }

            /// Fails until the library bug described at
            /// `recover_resumes_after_would_block` is fixed.
            #[test]
            fn recover_called_again_after_would_block_in_a_zero_tail_gives_the_same_result() {
                recover_resumes_after_would_block::<F, D>(true);
            }

            #[test]
            fn file_helper_truncates_torn_and_zero_tails_and_never_corruption() {
                file_helper_truncates_torn_and_zero_tails_only::<F, D>();
            }

            #[test]
            fn append_after_recovery_reads_old_then_new_with_absolute_counters() {
                append_after_recovery_continues_the_stream::<F, D>();
            }

            #[test]
            fn writer_fault_at_every_call_leaves_the_frames_before_it_and_a_clean_or_torn_tail() {
                writer_fault_at_every_call_recovers_exactly::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(recovery_tests);
