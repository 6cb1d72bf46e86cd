//! Frame-length limits, for every framer pair of this build: on the reader
//! (`StreamReader::with_max_frame_len`), on the deframer (`DeframerExt`), on
//! the writer and on the framer (`FramerExt`).
//!
//! - A declared length over the limit is `FrameTooLarge` naming the declared
//!   length, the limit, the frame's offset and index; the effective limit is
//!   the smallest of those set; a length equal to the limit is accepted.
//! - It is raised as soon as the 4-byte length prefix is in, before the rest
//!   of the frame is read or any room is made for it.
//! - It is not resumable: reading again reports it again, at the same place
//!   (the reader cannot know where the next frame starts). A checksum
//!   mismatch is resumable: reading goes on with the next frame.
//! - The default limit is FlatBuffers' 2 GiB, on both sides; a writer refuses
//!   a payload over its limit with the same error kind before writing a byte.

use std::io::{self, Read};

use flatstream::{
    Deframer, DeframerExt, Error, ErrorKind, Framer, FramerExt, Position, StreamReader,
    StreamWriter, wire,
};

use crate::support::framers;
use crate::support::streams::{Written, read_until_error, write_stream};

/// The start of a stream.
const START: Position = Position {
    offset: 0,
    frame: 0,
};

/// Frames of 10, 20, 100 and 5 bytes.
fn payloads() -> Vec<Vec<u8>> {
    [10usize, 20, 100, 5]
        .iter()
        .enumerate()
        .map(|(i, &len)| vec![u8::try_from(i + 1).expect("small"); len])
        .collect()
}

/// Checks a `FrameTooLarge` error; `is_corruption` is left to the reading
/// tests (a writer's refusal is not damage in a stream).
fn assert_too_large_kind(err: &Error, declared: u64, limit: u64, position: Position) {
    match *err.kind() {
        ErrorKind::FrameTooLarge {
            declared: d,
            limit: l,
        } => assert_eq!((d, l), (declared, limit), "{err:?}"),
        _ => panic!("expected FrameTooLarge, got {err:?}"),
    }
    assert_eq!(err.position(), Some(position), "{err:?}");
    assert!(!err.is_resumable(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "frame length {declared} exceeds the limit of {limit} bytes (frame {} at byte offset {})",
            position.frame, position.offset
        )
    );
}

/// A length over the limit found on reading: also a corruption.
fn assert_too_large(err: &Error, declared: u64, limit: u64, position: Position) {
    assert_too_large_kind(err, declared, limit, position);
    assert!(err.is_corruption(), "{err:?}");
}

/// Reads `w` until the first error, which must be `FrameTooLarge` for frame
/// 2 (100 bytes) with `limit`.
fn third_frame_is_too_large<R: Read, D: Deframer>(
    w: &Written,
    reader: &mut StreamReader<R, D>,
    limit: u64,
) {
    let (got, err) = read_until_error(reader);
    assert_eq!(got, w.payloads[..2]);
    let err = err.expect("frame 2 is over the limit");
    assert_too_large(&err, 100, limit, w.position(2));
}

fn reader_and_deframer_limits_name_everything<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());

    let mut reader = StreamReader::new(w.bytes.as_slice(), D::default()).with_max_frame_len(50);
    third_frame_is_too_large(&w, &mut reader, 50);

    let mut reader = StreamReader::new(w.bytes.as_slice(), D::default().with_max_frame_len(50));
    third_frame_is_too_large(&w, &mut reader, 50);

    // A limit equal to the largest frame admits the whole stream.
    for (on_reader, on_deframer) in [(100, usize::MAX), (usize::MAX, 100), (100, 100)] {
        let mut reader = StreamReader::new(
            w.bytes.as_slice(),
            D::default().with_max_frame_len(on_deframer),
        )
        .with_max_frame_len(on_reader);
        let (got, err) = read_until_error(&mut reader);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got, w.payloads);
    }
}

fn effective_limit_is_the_smallest<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    for (on_reader, on_deframer, nested) in [
        (60, 80, usize::MAX),
        (80, 60, usize::MAX),
        (80, usize::MAX, 60),
        (99, 99, 99),
        (usize::MAX, 70, 99),
        (usize::MAX, 99, 70),
    ] {
        let limit = on_reader.min(on_deframer).min(nested) as u64;
        let deframer = D::default()
            .with_max_frame_len(nested)
            .with_max_frame_len(on_deframer);
        let mut reader =
            StreamReader::new(w.bytes.as_slice(), deframer).with_max_frame_len(on_reader);
        third_frame_is_too_large(&w, &mut reader, limit);
    }
}

/// Serves `data`, then records any further call (and fails it).
#[derive(Debug)]
struct ThenNothing<'a> {
    data: &'a [u8],
    chunk: usize,
    calls_past_end: usize,
}

impl Read for ThenNothing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            self.calls_past_end += 1;
            return Err(io::Error::other("read past the length prefix"));
        }
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn too_large_is_raised_at_the_prefix_before_reading_on<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    // A first header declaring 2 GiB - 1, against a 1 KiB limit: only the
    // four length bytes exist (not even the checksum field of the header).
    let hostile = [0xFF, 0xFF, 0xFF, 0x7F];
    for chunk in [1, 4, 64] {
        for via_deframer in [false, true] {
            let source = ThenNothing {
                data: &hostile,
                chunk,
                calls_past_end: 0,
            };
            let mut reader = if via_deframer {
                StreamReader::new(source, D::default().with_max_frame_len(1024))
            } else {
                StreamReader::new(source, D::default().with_max_frame_len(usize::MAX))
                    .with_max_frame_len(1024)
            };
            let err = reader.read_message().expect_err("too large");
            assert_too_large(&err, 0x7FFF_FFFF, 1024, START);
            assert_eq!(reader.get_ref().calls_past_end, 0, "read past the prefix");
            assert_eq!(reader.buffered(), hostile, "nothing more was read");
            assert_eq!((reader.offset(), reader.frames_read()), (0, 0));
        }
    }

    // The same after whole frames: the position is that of the bad frame.
    let w = write_stream::<F>(&payloads()[..2]);
    let mut bytes = w.bytes.clone();
    bytes.extend_from_slice(&hostile);
    let source = ThenNothing {
        data: &bytes,
        chunk: 7,
        calls_past_end: 0,
    };
    let mut reader = StreamReader::new(source, D::default()).with_max_frame_len(1024);
    let (got, err) = read_until_error(&mut reader);
    assert_eq!(got, w.payloads);
    assert_too_large(&err.expect("too large"), 0x7FFF_FFFF, 1024, w.position(2));
    assert_eq!(reader.get_ref().calls_past_end, 0);
}

fn bad_length_is_reported_again_without_skipping<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    let mut reader = StreamReader::new(w.bytes.as_slice(), D::default().with_max_frame_len(50));
    let (got, err) = read_until_error(&mut reader);
    assert_eq!(got.len(), 2);
    assert_too_large(&err.expect("too large"), 100, 50, w.position(2));
    for _ in 0..3 {
        let err = reader.read_message().expect_err("the same error again");
        assert_too_large(&err, 100, 50, w.position(2));
        assert_eq!(reader.offset(), w.starts[2] as u64, "nothing skipped");
        assert_eq!(reader.frames_read(), 2);
    }
    let err = reader.process_all(|_| Ok(())).expect_err("process_all too");
    assert_too_large(&err, 100, 50, w.position(2));
    let err = reader.messages().next().expect_err("messages too");
    assert_too_large(&err, 100, 50, w.position(2));
}

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn checksum_mismatch_is_resumable<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    let mut bytes = w.bytes.clone();
    bytes[w.starts[1] + w.header_len + 4] ^= 0x80;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    assert_eq!(
        reader.read_message().expect("frame 0"),
        Some(w.payloads[0].as_slice())
    );
    let err = reader.read_message().expect_err("frame 1 is damaged");
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(err.position(), Some(w.position(1)));
    assert!(err.is_resumable() && err.is_corruption(), "{err:?}");
    // The damaged frame was consumed whole: reading goes on after it.
    assert_eq!(reader.offset(), w.starts[2] as u64);
    assert_eq!(reader.frames_read(), 2);
    let (rest, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(rest, w.payloads[2..]);
}

fn default_limit_is_2_gib<F: Framer + Default + core::fmt::Debug, D: Deframer + Default>() {
    assert_eq!(wire::DEFAULT_MAX_FRAME_LEN, 1 << 31);
    let header_len = D::default().header_len();
    let header = |declared: u32| {
        let mut bytes = declared.to_le_bytes().to_vec();
        bytes.resize(header_len, 0);
        bytes
    };

    // Exactly 2 GiB is accepted: the reader waits for the payload, which
    // never comes (a torn tail, not an over-limit length).
    let at_limit = header(1 << 31);
    let err = StreamReader::new(at_limit.as_slice(), D::default())
        .read_message()
        .expect_err("torn");
    assert!(
        matches!(
            *err.kind(),
            ErrorKind::UnexpectedEof { available, required }
                if available == header_len as u64 && required == header_len as u64 + (1 << 31)
        ),
        "{err:?}"
    );
    // One byte more, or the largest u32, is refused.
    for declared in [(1u32 << 31) + 1, u32::MAX] {
        let over = header(declared);
        let err = StreamReader::new(over.as_slice(), D::default())
            .read_message()
            .expect_err("too large");
        assert_too_large(&err, u64::from(declared), 1 << 31, START);
    }

    // The writer's default limit is the same.
    let writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    assert!(
        format!("{writer:?}").contains("max_frame_len: 2147483648"),
        "{writer:?}"
    );
    // And a framer claims no limit of its own unless bounded.
    assert_eq!(F::default().max_frame_len(), usize::MAX);
    assert_eq!(F::default().with_max_frame_len(9).max_frame_len(), 9);
}

fn writer_refuses_over_the_limit_before_writing<F: Framer + Default, D: Deframer + Default>() {
    // (limit on the writer, limit on the framer); the effective limit is the
    // smaller.
    for (on_writer, on_framer) in [
        (None, Some(16)),
        (Some(16), None),
        (Some(16), Some(30)),
        (Some(30), Some(16)),
        (Some(16), Some(16)),
    ] {
        let limit = on_writer
            .unwrap_or(usize::MAX)
            .min(on_framer.unwrap_or(usize::MAX));
        let framer = F::default().with_max_frame_len(on_framer.unwrap_or(usize::MAX));
        let mut writer = StreamWriter::new(Vec::new(), framer).allow_empty_payloads(true);
        if let Some(on_writer) = on_writer {
            writer = writer.with_max_frame_len(on_writer);
        }
        writer.write_payload(&[1; 16]).expect("at the limit");
        let len = writer.get_ref().len();
        let err = writer.write_payload(&[2; 17]).expect_err("over the limit");
        assert_too_large_kind(
            &err,
            17,
            limit as u64,
            Position {
                offset: len as u64,
                frame: 1,
            },
        );
        assert_eq!(writer.get_ref().len(), len, "not a byte written");
        assert_eq!(
            (writer.frames_written(), writer.bytes_written()),
            (1, len as u64)
        );
        // Simple mode too: a FlatBuffer of a 40-byte string is over 40 bytes.
        let err = writer.write(&"x".repeat(40)).expect_err("over the limit");
        assert!(
            matches!(*err.kind(), ErrorKind::FrameTooLarge { declared, limit: l } if declared > 40 && l == limit as u64),
            "{err:?}"
        );
        assert_eq!(writer.get_ref().len(), len, "not a byte written");
        // The refusals left a readable stream.
        writer.write_payload(&[3; 5]).expect("small");
        let mut reader = StreamReader::new(writer.get_ref().as_slice(), D::default());
        let (got, err) = read_until_error(&mut reader);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got, [vec![1; 16], vec![3; 5]]);
    }
}

macro_rules! limit_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn reader_and_deframer_limits_name_declared_length_limit_offset_and_frame() {
                reader_and_deframer_limits_name_everything::<F, D>();
            }

            #[test]
            fn effective_limit_is_the_smallest_of_reader_and_deframers() {
                effective_limit_is_the_smallest::<F, D>();
            }

            #[test]
            fn too_large_is_raised_at_the_length_prefix_without_reading_further() {
                too_large_is_raised_at_the_prefix_before_reading_on::<F, D>();
            }

            #[test]
            fn bad_length_is_not_resumable_and_is_reported_again_without_skipping() {
                bad_length_is_reported_again_without_skipping::<F, D>();
            }

            #[test]
            fn default_limit_is_2_gib_on_reading_and_writing() {
                default_limit_is_2_gib::<F, D>();
            }

            #[test]
            fn writer_and_framer_limits_refuse_a_larger_payload_before_writing_a_byte() {
                writer_refuses_over_the_limit_before_writing::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(limit_tests);

/// Checksum pairs only: the plain framer has no checksum to mismatch.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
mod checksummed {
    use super::*;

    macro_rules! checksum_limit_tests {
        ($name:ident, $framer:ty, $deframer:ty) => {
            mod $name {
                use super::*;

                #[test]
                fn checksum_mismatch_is_resumable_and_reading_continues_with_the_next_frame() {
                    checksum_mismatch_is_resumable::<$framer, $deframer>();
                }
            }
        };
    }

    framers::for_each_checksum_framer_pair!(checksum_limit_tests);
}
