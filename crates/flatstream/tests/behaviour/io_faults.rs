//! The reader over awkward `Read` sources, for every framer pair of this
//! build: one byte per call, `Interrupted` every other call with short reads
//! in between, and a one-off `WouldBlock` (or other I/O error) at each call
//! position. Payloads must come out exactly as from a plain slice: none lost,
//! none repeated.

use std::io::{self, Read};

use flatstream::{Deframer, ErrorKind, Framer, Position, StreamReader, StreamWriter};

use crate::support::framers;
use crate::support::sources::{self, FailsOnce, OneByteAtATime};

/// Fails every other call with `Interrupted`; the calls in between return
/// short reads of varying sizes.
#[derive(Debug)]
struct Stuttering<'a> {
    data: &'a [u8],
    calls: usize,
}

impl Read for Stuttering<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const SIZES: [usize; 9] = [1, 2, 3, 5, 8, 13, 64, 4096, 100_000];
        self.calls += 1;
        if self.calls % 2 == 1 {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let size = SIZES[(self.calls / 2) % SIZES.len()];
        let n = buf.len().min(self.data.len()).min(size);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn sample_payloads() -> Vec<Vec<u8>> {
    vec![
        b"first".to_vec(),
        Vec::new(),
        vec![0xAB; 300],
        b"x".to_vec(),
        (0..=255).collect(),
        Vec::new(),
        b"last one".to_vec(),
    ]
}

/// A stream that also holds frames larger than the reader's 64 KiB chunk.
fn large_payloads() -> Vec<Vec<u8>> {
    let mut payloads = sample_payloads();
    payloads.insert(2, (0..70_000u32).map(|i| i.to_le_bytes()[0]).collect());
    payloads.push(vec![0x5A; 65_536]);
    payloads
}

/// Writes `payloads`, empty ones included: a stream that allows them must
/// read back like any other.
fn write_stream<F: Framer + Default>(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
    }
    writer.into_inner()
}

/// Reads to a clean end with `read_message`, panicking on any error.
fn read_all<R: Read, D: Deframer>(reader: &mut StreamReader<R, D>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(payload) = reader.read_message().expect("read_message") {
        out.push(payload.to_vec());
    }
    out
}

fn one_byte_at_a_time_reads_the_same_payloads<F: Framer + Default, D: Deframer + Default>() {
    let payloads = large_payloads();
    let bytes = write_stream::<F>(&payloads);
    let from_slice = read_all(&mut StreamReader::new(bytes.as_slice(), D::default()));
    assert_eq!(from_slice, payloads);

    let mut reader = StreamReader::new(OneByteAtATime { data: &bytes }, D::default());
    assert_eq!(read_all(&mut reader), payloads);
    assert_eq!(reader.offset(), bytes.len() as u64);
    assert_eq!(reader.frames_read(), payloads.len() as u64);

    let mut reader = StreamReader::new(OneByteAtATime { data: &bytes }, D::default());
    assert_eq!(sources::collect_with_process_all(&mut reader), payloads);
}

fn interrupted_and_short_reads_give_the_same_payloads<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let payloads = large_payloads();
    let bytes = write_stream::<F>(&payloads);

    let mut reader = StreamReader::new(
        Stuttering {
            data: &bytes,
            calls: 0,
        },
        D::default(),
    );
    assert_eq!(read_all(&mut reader), payloads);
    assert_eq!(reader.offset(), bytes.len() as u64);
    assert!(
        reader.get_ref().calls > 2 * payloads.len(),
        "the source really was called many times"
    );

    let mut reader = StreamReader::new(
        Stuttering {
            data: &bytes,
            calls: 0,
        },
        D::default(),
    );
    let mut via_messages = Vec::new();
    let mut messages = reader.messages();
    while let Some(payload) = messages.next().expect("messages") {
        via_messages.push(payload.to_vec());
    }
    assert_eq!(via_messages, payloads);
}

/// Reads `bytes` in `chunk`-byte reads with `fault` injected at call
/// `fail_at`, retrying after each error; returns the payloads and the errors'
/// positions.
fn read_through_one_fault<D: Deframer + Default>(
    bytes: &[u8],
    chunk: usize,
    fail_at: Option<usize>,
    fault: io::ErrorKind,
) -> (Vec<Vec<u8>>, Vec<Option<Position>>, usize) {
    let source = FailsOnce {
        data: bytes,
        chunk,
        calls: 0,
        fail_at,
        fault,
    };
    let mut reader = StreamReader::new(source, D::default());
    let mut payloads = Vec::new();
    let mut errors = Vec::new();
    loop {
        let frames_before = reader.frames_read();
        let offset_before = reader.offset();
        match reader.read_message() {
            Ok(Some(payload)) => payloads.push(payload.to_vec()),
            Ok(None) => break,
            Err(err) => {
                match err.kind() {
                    ErrorKind::Io(io_err) => assert_eq!(io_err.kind(), fault, "{err}"),
                    other => panic!("expected an I/O error, got {other:?}"),
                }
                // Nothing was consumed by the failed call.
                assert_eq!(reader.frames_read(), frames_before);
                assert_eq!(reader.offset(), offset_before);
                errors.push(err.position());
                assert!(errors.len() <= 1, "the fault was injected once");
            }
        }
    }
    assert_eq!(reader.offset(), bytes.len() as u64);
    let calls = reader.get_ref().calls;
    (payloads, errors, calls)
}

fn would_block_at_every_call_position_loses_and_repeats_nothing<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let payloads = sample_payloads();
    let bytes = write_stream::<F>(&payloads);
    for chunk in [1, 3, 7, 64 * 1024] {
        let (clean, errors, calls) =
            read_through_one_fault::<D>(&bytes, chunk, None, io::ErrorKind::WouldBlock);
        assert_eq!(clean, payloads);
        assert!(errors.is_empty());
        // Every call of the clean run, the final end-of-input read included,
        // is a position at which to fail.
        for fail_at in 0..calls {
            for fault in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
                let (got, errors, _) =
                    read_through_one_fault::<D>(&bytes, chunk, Some(fail_at), fault);
                assert_eq!(got, payloads, "chunk {chunk}, fault at call {fail_at}");
                assert_eq!(errors.len(), 1, "chunk {chunk}, fault at call {fail_at}");
            }
        }
    }
}

fn process_all_resumes_after_would_block<F: Framer + Default, D: Deframer + Default>() {
    let payloads = sample_payloads();
    let bytes = write_stream::<F>(&payloads);
    let source = FailsOnce {
        data: &bytes,
        chunk: 5,
        calls: 0,
        fail_at: Some(4),
        fault: io::ErrorKind::WouldBlock,
    };
    let mut reader = StreamReader::new(source, D::default());
    let mut got = Vec::new();
    let err = reader
        .process_all(|payload| {
            got.push(payload.to_vec());
            Ok(())
        })
        .expect_err("the source blocks once");
    assert!(
        matches!(err.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::WouldBlock),
        "{err:?}"
    );
    assert!(got.len() < payloads.len());
    reader
        .process_all(|payload| {
            got.push(payload.to_vec());
            Ok(())
        })
        .expect("the second call finishes the stream");
    assert_eq!(got, payloads);
}

/// `read_message` documents "each with the position of the frame concerned"
/// for `ErrorKind::Io`, but an I/O error from the source is returned with no
/// position: `read_message` converts it with `?` instead of `.at(position)`.
fn io_error_while_reading_carries_the_position_of_the_frame<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let payloads = sample_payloads();
    let bytes = write_stream::<F>(&payloads);
    let first_frame_len = D::default().header_len() + payloads[0].len();
    // 1-byte reads: call `first_frame_len` asks for the first byte of frame 1.
    let (_, errors, _) =
        read_through_one_fault::<D>(&bytes, 1, Some(first_frame_len), io::ErrorKind::WouldBlock);
    assert_eq!(
        errors,
        [Some(Position {
            offset: first_frame_len as u64,
            frame: 1
        })]
    );
}

macro_rules! io_fault_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn read_one_byte_at_a_time_gives_same_payloads() {
                one_byte_at_a_time_reads_the_same_payloads::<F, D>();
            }

            #[test]
            fn interrupted_every_other_call_and_short_reads_give_same_payloads() {
                interrupted_and_short_reads_give_the_same_payloads::<F, D>();
            }

            #[test]
            fn would_block_at_any_call_surfaces_once_then_reading_resumes_exactly() {
                would_block_at_every_call_position_loses_and_repeats_nothing::<F, D>();
            }

            #[test]
            fn process_all_called_again_after_would_block_finishes_the_stream() {
                process_all_resumes_after_would_block::<F, D>();
            }

            #[test]
            fn io_error_while_reading_is_positioned_at_the_frame_being_read() {
                io_error_while_reading_carries_the_position_of_the_frame::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(io_fault_tests);
