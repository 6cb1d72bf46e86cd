//! `StreamWriter` over a failing sink, for every framer pair of this build.
//!
//! A scripted sink fails one write call, at every call position in turn, with
//! each of `WouldBlock`, `TimedOut`, `Interrupted`, a short write (every
//! length for small buffers), `Ok(0)` and `BrokenPipe`; directly and behind
//! small `BufWriter`s; large frames go as one vectored write. The caller either retries the same payload after a
//! resumable error or moves on to the next one. Whatever happens, the bytes
//! the sink accepted read back as exactly the frames the writer reports: each
//! once, whole, in order, then a clean end or (after a fatal error in the
//! middle of a frame) a torn tail at `bytes_written()`. Also: empty and
//! all-zero payloads are refused unless allowed, a message that differs from
//! the frame in flight is never taken for its retry, and a stopped writer
//! refuses everything with `TornWrite`.

use std::io::{self, BufWriter, Write};

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{
    Deframer, Error, ErrorKind, Framer, Position, StreamHeader, StreamReader, StreamWriter,
};

use crate::support::framers;
use crate::support::streams::{empty_frame_is_all_zero, read_until_error, write_stream};

/// What the scripted sink does on a given write call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Fails with this error, accepting nothing.
    Io(io::ErrorKind),
    /// Accepts at most this many bytes.
    Short(usize),
    /// Returns `Ok(0)`.
    Zero,
}

/// A sink that accepts every byte except on the calls it is scripted to
/// fail, and records the length of the buffer offered on each call.
#[derive(Debug, Default)]
struct ScriptedSink {
    written: Vec<u8>,
    /// `offered[i]` is the length of the buffer of write call `i`.
    offered: Vec<usize>,
    /// (call index, what happens on that call).
    faults: Vec<(usize, Fault)>,
    flushes: usize,
}

impl ScriptedSink {
    fn failing(faults: &[(usize, Fault)]) -> Self {
        ScriptedSink {
            faults: faults.to_vec(),
            ..ScriptedSink::default()
        }
    }
}

impl Write for ScriptedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let call = self.offered.len();
        self.offered.push(buf.len());
        let fault = self.faults.iter().find(|(at, _)| *at == call).map(|f| f.1);
        let n = match fault {
            None => buf.len(),
            Some(Fault::Io(kind)) => return Err(io::Error::from(kind)),
            Some(Fault::Short(n)) => n.min(buf.len()),
            Some(Fault::Zero) => 0,
        };
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// One call for all of `bufs`, as a sink with real vectored writes
    /// does (the faults apply to the call as to any other).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let gathered: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.write(&gathered)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }
}

/// The scripted sink, directly or behind a buffer.
trait Rig: Write {
    /// Bytes accepted so far: on the scripted sink, or held by a buffer in
    /// front of it (which would hand them on later).
    fn accepted(&self) -> usize;
    /// The accepted bytes, in order, and the offered buffer lengths.
    fn into_parts(self) -> (Vec<u8>, Vec<usize>);
}

impl Rig for ScriptedSink {
    fn accepted(&self) -> usize {
        self.written.len()
    }

    fn into_parts(self) -> (Vec<u8>, Vec<usize>) {
        (self.written, self.offered)
    }
}

impl Rig for BufWriter<ScriptedSink> {
    fn accepted(&self) -> usize {
        self.get_ref().written.len() + self.buffer().len()
    }

    fn into_parts(self) -> (Vec<u8>, Vec<usize>) {
        let (sink, buffered) = BufWriter::into_parts(self);
        let mut bytes = sink.written;
        bytes.extend_from_slice(&buffered.expect("not panicked"));
        (bytes, sink.offered)
    }
}

/// What a caller does after a resumable error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Retries the same payload until it is written.
    Retries,
    /// Goes on with the next payload.
    MovesOn,
}

/// The outcome of writing a list of payloads through a rig.
#[derive(Debug)]
struct Run {
    /// Every byte the rig accepted.
    bytes: Vec<u8>,
    /// The length of each buffer offered to the scripted sink.
    offered: Vec<usize>,
    /// The payloads that must read back: those whose write returned `Ok`,
    /// plus (for a caller that moves on) those whose frame was left in flight.
    expected: Vec<Vec<u8>>,
    /// Resumable errors returned.
    resumable: Vec<Error>,
    /// The fatal error that stopped the caller, with the payload (if any)
    /// whose write returned it.
    fatal: Option<(Error, Option<Vec<u8>>)>,
    bytes_written: u64,
    frames_written: u64,
}

fn payloads() -> Vec<Vec<u8>> {
    // 20,000 bytes: over the size from which the writer sends header and
    // payload in one vectored write.
    [1usize, 7, 100, 1000, 20_000, 3, 64]
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            (0..len)
                .map(|j| (i * 37 + j * 11 + 1).to_le_bytes()[0])
                .collect()
        })
        .collect()
}

/// The frame the writer writes for `payload`.
fn frame<F: Framer + Default>(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    F::default()
        .encode_into(payload, &mut frame)
        .expect("encode_into");
    frame
}

fn expect_torn(err: &Error, written: u64, frame_len: u64, position: Position) {
    assert!(
        matches!(err.kind(), ErrorKind::TornWrite { written: w, frame_len: l } if *w == written && *l == frame_len),
        "expected TornWrite {{ {written}, {frame_len} }}, got {err:?}"
    );
    assert_eq!(err.position(), Some(position));
    assert!(!err.is_resumable());
}

/// Writes `payloads` through `rig` with `caller`'s protocol, then flushes
/// (retrying resumable errors).
fn drive<W: Rig, F: Framer + Default>(rig: W, payloads: &[Vec<u8>], caller: Caller) -> Run {
    let mut writer = StreamWriter::new(rig, F::default());
    let mut expected = Vec::new();
    let mut resumable = Vec::new();
    let mut fatal = None;
    'payloads: for payload in payloads {
        for attempt in 0.. {
            assert!(attempt < 4, "one fault cannot fail a payload this often");
            let err = match writer.write_payload(payload) {
                Ok(()) => {
                    expected.push(payload.clone());
                    break;
                }
                Err(err) => err,
            };
            assert!(matches!(err.kind(), ErrorKind::Io(_)), "{err:?}");
            assert_eq!(
                err.position(),
                Some(Position {
                    offset: writer.bytes_written(),
                    frame: writer.frames_written()
                }),
                "{err:?}"
            );
            if !err.is_resumable() {
                fatal = Some((err, Some(payload.clone())));
                break 'payloads;
            }
            resumable.push(err);
            if caller == Caller::MovesOn {
                // Part of the frame reached the sink: it is in flight, and
                // will be completed by the next call.
                if writer.get_ref().accepted() as u64 > writer.bytes_written() {
                    expected.push(payload.clone());
                }
                break;
            }
        }
    }
    if fatal.is_none() {
        for attempt in 0.. {
            assert!(attempt < 4, "one fault cannot fail a flush this often");
            match writer.flush() {
                Ok(()) => break,
                Err(err) if err.is_resumable() => resumable.push(err),
                Err(err) => {
                    fatal = Some((err, None));
                    break;
                }
            }
        }
    }
    let bytes_written = writer.bytes_written();
    let frames_written = writer.frames_written();
    let accepted = writer.get_ref().accepted() as u64;
    if let Some((_, Some(payload))) = &fatal
        && accepted > bytes_written
    {
        // Stopped: everything is refused, and nothing more is written.
        let here = Position {
            offset: bytes_written,
            frame: frames_written,
        };
        let written = accepted - bytes_written;
        let frame_len = frame::<F>(payload).len() as u64;
        let err = writer.write_payload(payload).expect_err("stopped");
        expect_torn(&err, written, frame_len, here);
        let err = writer.write_payload(b"another").expect_err("stopped");
        expect_torn(&err, written, frame_len, here);
        let err = writer.flush().expect_err("stopped");
        expect_torn(&err, written, frame_len, here);
        assert_eq!(writer.get_ref().accepted() as u64, accepted);
    }
    let (bytes, offered) = writer.into_inner().into_parts();
    Run {
        bytes,
        offered,
        expected,
        resumable,
        fatal,
        bytes_written,
        frames_written,
    }
}

/// Checks that `run.bytes` hold exactly the expected frames, then a clean
/// end or a torn tail of the frame whose write failed fatally.
fn check<F: Framer + Default, D: Deframer + Default>(run: &Run, what: &str) {
    let clean = write_stream::<F>(&run.expected).bytes;
    assert_eq!(run.bytes_written, clean.len() as u64, "{what}");
    assert_eq!(run.frames_written, run.expected.len() as u64, "{what}");
    assert!(run.bytes.len() >= clean.len(), "{what}");
    assert!(
        run.bytes[..clean.len()] == clean[..],
        "{what}: the frames differ"
    );

    let mut reader = StreamReader::new(run.bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert_eq!(read, run.expected, "{what}: what reads back");
    let tail = &run.bytes[clean.len()..];
    if tail.is_empty() {
        assert!(err.is_none(), "{what}: {err:?}");
        return;
    }
    // A torn tail: part of the frame whose write failed fatally.
    let Some((_, Some(payload))) = &run.fatal else {
        panic!(
            "{what}: {} bytes after the frames with no fatal error",
            tail.len()
        );
    };
    let torn = frame::<F>(payload);
    assert!(
        tail.len() < torn.len() && torn.starts_with(tail),
        "{what}: the tail"
    );
    let err = err.expect("a torn tail");
    assert!(err.is_unexpected_eof(), "{what}: {err:?}");
    assert_eq!(
        err.position(),
        Some(Position {
            offset: run.bytes_written,
            frame: run.frames_written
        }),
        "{what}"
    );
}

/// The faults to inject on a call offered `len` bytes: every short length
/// for small buffers, a few for large ones.
fn faults_for(len: usize) -> Vec<Fault> {
    let mut faults = vec![
        Fault::Io(io::ErrorKind::WouldBlock),
        Fault::Io(io::ErrorKind::TimedOut),
        Fault::Io(io::ErrorKind::Interrupted),
        Fault::Io(io::ErrorKind::BrokenPipe),
        Fault::Zero,
    ];
    let shorts: Vec<usize> = if len <= 16 {
        (1..len).collect()
    } else {
        vec![1, 2, len / 2, len - 1]
    };
    faults.extend(shorts.into_iter().map(Fault::Short));
    faults
}

/// Every fault at every call position, for one rig and one caller.
fn every_fault_at_every_call<F, D, W>(make: impl Fn(ScriptedSink) -> W, caller: Caller)
where
    F: Framer + Default,
    D: Deframer + Default,
    W: Rig,
{
    let payloads = payloads();
    let clean_bytes = write_stream::<F>(&payloads).bytes;
    let clean = drive::<W, F>(make(ScriptedSink::default()), &payloads, caller);
    assert_eq!(clean.bytes, clean_bytes);
    assert!(clean.resumable.is_empty() && clean.fatal.is_none());
    let mut runs = 0;
    for (call, &len) in clean.offered.iter().enumerate() {
        for fault in faults_for(len) {
            let what = format!("{caller:?}, {fault:?} at call {call} of {len} bytes");
            let run = drive::<W, F>(
                make(ScriptedSink::failing(&[(call, fault)])),
                &payloads,
                caller,
            );
            check::<F, D>(&run, &what);
            runs += 1;
            match fault {
                Fault::Io(io::ErrorKind::BrokenPipe) | Fault::Zero => {
                    let (err, _) = run.fatal.as_ref().expect("the fault is fatal");
                    let expected = match fault {
                        Fault::Zero => io::ErrorKind::WriteZero,
                        _ => io::ErrorKind::BrokenPipe,
                    };
                    assert!(
                        matches!(err.kind(), ErrorKind::Io(e) if e.kind() == expected),
                        "{what}: {err:?}"
                    );
                    assert!(run.resumable.is_empty(), "{what}");
                }
                Fault::Io(io::ErrorKind::Interrupted) | Fault::Short(_) => {
                    // Retried or continued internally: the caller sees nothing.
                    assert!(run.fatal.is_none() && run.resumable.is_empty(), "{what}");
                    assert_eq!(run.bytes, clean_bytes, "{what}");
                }
                Fault::Io(kind) => {
                    assert!(run.fatal.is_none(), "{what}");
                    assert_eq!(run.resumable.len(), 1, "{what}");
                    let err = &run.resumable[0];
                    assert!(
                        matches!(err.kind(), ErrorKind::Io(e) if e.kind() == kind),
                        "{what}: {err:?}"
                    );
                    if caller == Caller::Retries {
                        assert_eq!(run.expected, payloads, "{what}");
                        assert_eq!(run.bytes, clean_bytes, "{what}");
                    }
                }
            }
        }
    }
    assert!(runs > 6 * 5, "every call position was tried");
}

fn faults_directly<F: Framer + Default, D: Deframer + Default>(caller: Caller) {
    every_fault_at_every_call::<F, D, _>(|sink| sink, caller);
}

fn faults_behind_a_buf_writer<F: Framer + Default, D: Deframer + Default>(caller: Caller) {
    for capacity in [8, 64] {
        every_fault_at_every_call::<F, D, _>(
            |sink| BufWriter::with_capacity(capacity, sink),
            caller,
        );
    }
}

/// The old failure: `WouldBlock` on the payload write after the header was
/// accepted, then a retry, must not leave the header twice.
fn would_block_after_the_header_then_retry_writes_one_frame<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let sink = ScriptedSink::failing(&[(3, Fault::Io(io::ErrorKind::WouldBlock))]);
    let mut writer = StreamWriter::new(sink, F::default());
    writer.write_payload(b"first").expect("first");
    let err = writer.write_payload(b"second").expect_err("blocks");
    assert!(err.is_resumable());
    let first_len = frame::<F>(b"first").len() as u64;
    assert_eq!(
        err.position(),
        Some(Position {
            offset: first_len,
            frame: 1
        })
    );
    assert_eq!(writer.frames_written(), 1);
    assert_eq!(writer.bytes_written(), first_len);
    writer.write_payload(b"second").expect("the retry");
    writer.write_payload(b"third").expect("third");
    assert_eq!(writer.frames_written(), 3);
    let bytes = writer.into_inner().written;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        read,
        [b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
    );
}

/// After a resumable error in the middle of frame A, the caller writes B:
/// A is completed first and both read back whole.
fn a_different_payload_after_a_mid_frame_error_completes_the_frame_in_flight_first<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let a = vec![0xA1; 50];
    let b = vec![0xB2; 30];
    // Header whole, 3 payload bytes, then WouldBlock; or a short header.
    let scripts = [
        vec![
            (1, Fault::Short(3)),
            (2, Fault::Io(io::ErrorKind::WouldBlock)),
        ],
        vec![
            (0, Fault::Short(2)),
            (1, Fault::Io(io::ErrorKind::TimedOut)),
        ],
    ];
    for script in scripts {
        let mut writer = StreamWriter::new(ScriptedSink::failing(&script), F::default());
        let err = writer.write_payload(&a).expect_err("blocks");
        assert!(err.is_resumable(), "{err:?}");
        assert_eq!(writer.frames_written(), 0);
        writer.write_payload(&b).expect("B");
        assert_eq!(writer.frames_written(), 2);
        let expected_len = (frame::<F>(&a).len() + frame::<F>(&b).len()) as u64;
        assert_eq!(writer.bytes_written(), expected_len);
        let bytes = writer.into_inner().written;
        assert_eq!(bytes.len() as u64, expected_len, "no phantom bytes");
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        let (read, err) = read_until_error(&mut reader);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(read, [a.clone(), b.clone()]);
    }
}

/// A frame in flight survives further resumable errors while it is being
/// completed, and `flush` completes it too.
fn frame_in_flight_survives_repeated_errors_and_flush_completes_it<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let payload = vec![0x5C; 40];
    let frame_len = frame::<F>(&payload).len() as u64;
    let here = Position {
        offset: 0,
        frame: 0,
    };
    let sink = ScriptedSink::failing(&[
        (1, Fault::Io(io::ErrorKind::WouldBlock)),
        (2, Fault::Short(5)),
        (3, Fault::Io(io::ErrorKind::TimedOut)),
        (4, Fault::Io(io::ErrorKind::WouldBlock)),
        (5, Fault::Short(1)),
        (6, Fault::Io(io::ErrorKind::WouldBlock)),
    ]);
    let mut writer = StreamWriter::new(sink, F::default());
    // call 0: header; call 1: WouldBlock.
    let err = writer.write_payload(&payload).expect_err("blocks");
    assert!(err.is_resumable());
    assert_eq!(err.position(), Some(here));
    // calls 2, 3: 5 more bytes, then TimedOut: still in flight.
    let err = writer.write_payload(&payload).expect_err("times out");
    assert!(err.is_resumable());
    assert_eq!(err.position(), Some(here));
    assert_eq!(writer.frames_written(), 0);
    // call 4: flush tries to complete it and blocks.
    let err = writer.flush().expect_err("blocks");
    assert!(err.is_resumable());
    assert_eq!(err.position(), Some(here));
    assert_eq!(
        writer.get_ref().flushes,
        0,
        "the sink is flushed only after"
    );
    // calls 5, 6: one byte, then WouldBlock; call 7: the rest.
    assert!(writer.flush().is_err());
    writer.flush().expect("completes the frame, then flushes");
    assert_eq!(writer.get_ref().flushes, 1);
    assert_eq!(writer.frames_written(), 1);
    assert_eq!(writer.bytes_written(), frame_len);
    // A retry now is a new frame: the caller asked for it twice.
    writer.write_payload(&payload).expect("a second frame");
    let bytes = writer.into_inner().written;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(read, [payload.clone(), payload]);
}

/// Simple and expert mode recognise their retry too.
fn simple_and_expert_mode_retries_write_one_frame<F: Framer + Default, D: Deframer + Default>() {
    let mut builder = FlatBufferBuilder::new();
    let root = builder.create_string("expert mode message");
    builder.finish(root, None);
    let sink = ScriptedSink::failing(&[
        (1, Fault::Short(4)),
        (2, Fault::Io(io::ErrorKind::WouldBlock)),
        (5, Fault::Io(io::ErrorKind::WouldBlock)),
        (8, Fault::Io(io::ErrorKind::WouldBlock)),
    ]);
    let mut writer = StreamWriter::new(sink, F::default());
    // calls 0, 1, 2: header, 4 bytes, WouldBlock; retried with `write`.
    writer.write("simple mode").expect_err("blocks");
    writer.write("simple mode").expect("retry");
    // calls 4, 5: header, WouldBlock; retried with `write_finished`.
    writer.write_finished(&mut builder).expect_err("blocks");
    writer.write_finished(&mut builder).expect("retry");
    // calls 7, 8: header, WouldBlock; retried with `write_with`.
    let build = |b: &mut FlatBufferBuilder<'static>| -> flatstream::Result<()> {
        let root = b.create_string("closure");
        b.finish(root, None);
        Ok(())
    };
    writer.write_with(build).expect_err("blocks");
    writer.write_with(build).expect("retry");
    assert_eq!(writer.frames_written(), 3);
    let bytes = writer.into_inner().written;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    let strings: Vec<&str> = read
        .iter()
        .map(|p| flatstream::flatbuffers::root::<&str>(p).expect("a string"))
        .collect();
    assert_eq!(strings, ["simple mode", "expert mode message", "closure"]);
}

/// A refused message while a frame is in flight: the frame in flight is
/// completed, and the refusal names the position after it.
fn a_refusal_while_in_flight_completes_the_frame_first<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let sink = ScriptedSink::failing(&[(1, Fault::Io(io::ErrorKind::WouldBlock))]);
    let mut writer = StreamWriter::new(sink, F::default()).with_max_frame_len(100);
    writer.write_payload(b"in flight").expect_err("blocks");
    let after = Position {
        offset: frame::<F>(b"in flight").len() as u64,
        frame: 1,
    };
    let err = writer.write_payload(&[7; 101]).expect_err("too large");
    assert!(
        matches!(err.kind(), ErrorKind::FrameTooLarge { .. }),
        "{err:?}"
    );
    assert_eq!(err.position(), Some(after));
    assert_eq!(writer.frames_written(), 1);
    let err = writer.write_payload(b"").expect_err("empty");
    assert!(matches!(err.kind(), ErrorKind::EmptyPayload), "{err:?}");
    assert_eq!(err.position(), Some(after));
    let bytes = writer.into_inner().written;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(read, [b"in flight".to_vec()]);
}

/// After a fatal error in the middle of a frame, every write and flush
/// returns `TornWrite` at the torn frame, and nothing more reaches the sink.
fn a_stopped_writer_refuses_everything_with_torn_write<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let header_len = F::default().header_len();
    for (fault, kind) in [
        (
            Fault::Io(io::ErrorKind::BrokenPipe),
            io::ErrorKind::BrokenPipe,
        ),
        (Fault::Zero, io::ErrorKind::WriteZero),
        (
            Fault::Io(io::ErrorKind::StorageFull),
            io::ErrorKind::StorageFull,
        ),
    ] {
        // Frame 1: header (call 2), 3 payload bytes (call 3), then the fault.
        let sink = ScriptedSink::failing(&[(3, Fault::Short(3)), (4, fault)]);
        let mut writer = StreamWriter::new(sink, F::default());
        writer.write_payload(b"whole").expect("frame 0");
        let here = Position {
            offset: writer.bytes_written(),
            frame: 1,
        };
        let torn_payload = b"torn payload";
        let err = writer.write_payload(torn_payload).expect_err("fatal");
        assert!(
            matches!(err.kind(), ErrorKind::Io(e) if e.kind() == kind),
            "{err:?}"
        );
        assert_eq!(err.position(), Some(here));
        assert!(!err.is_resumable());
        let written = (header_len + 3) as u64;
        let frame_len = (header_len + torn_payload.len()) as u64;
        let calls = writer.get_ref().offered.len();

        let torn = |err: Error| expect_torn(&err, written, frame_len, here);
        torn(writer.write_payload(torn_payload).expect_err("stopped"));
        torn(writer.write_payload(b"other").expect_err("stopped"));
        torn(writer.write_payload(b"").expect_err("stopped"));
        torn(writer.write("simple").expect_err("stopped"));
        let mut built = false;
        torn(
            writer
                .write_with(|_| {
                    built = true;
                    Ok(())
                })
                .expect_err("stopped"),
        );
        assert!(!built, "a stopped writer does not build");
        let mut builder = FlatBufferBuilder::new();
        let root = builder.create_string("expert");
        builder.finish(root, None);
        torn(writer.write_finished(&mut builder).expect_err("stopped"));
        torn(
            writer
                .write_finished(&mut FlatBufferBuilder::new())
                .expect_err("stopped"),
        );
        torn(writer.flush().expect_err("stopped"));
        torn(writer.flush().expect_err("still stopped"));
        assert_eq!(writer.get_ref().offered.len(), calls, "no more write calls");
        assert_eq!(writer.get_ref().flushes, 0, "no flush");
        assert_eq!(writer.bytes_written(), here.offset);
        assert_eq!(writer.frames_written(), 1);
        let message = writer.write_payload(b"x").expect_err("stopped").to_string();
        assert!(
            message.contains(&format!("{written} of {frame_len} bytes")),
            "{message}"
        );

        let bytes = writer.into_inner().written;
        assert_eq!(bytes.len() as u64, here.offset + written);
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        let (read, err) = read_until_error(&mut reader);
        assert_eq!(read, [b"whole".to_vec()]);
        let err = err.expect("a torn tail");
        assert!(err.is_unexpected_eof(), "{err:?}");
        assert_eq!(err.position(), Some(here));
    }
}

/// A fatal error before the sink took any byte of the frame leaves nothing
/// behind: the writer is not stopped.
fn a_fatal_error_before_any_byte_does_not_stop_the_writer<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    for fault in [Fault::Io(io::ErrorKind::BrokenPipe), Fault::Zero] {
        let sink = ScriptedSink::failing(&[(2, fault)]);
        let mut writer = StreamWriter::new(sink, F::default());
        writer.write_payload(b"one").expect("frame 0");
        let err = writer.write_payload(b"two").expect_err("fails");
        assert!(!err.is_resumable(), "{err:?}");
        assert_eq!(
            writer.get_ref().written.len() as u64,
            writer.bytes_written()
        );
        writer.write_payload(b"three").expect("not stopped");
        writer.flush().expect("flush");
        let bytes = writer.into_inner().written;
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        let (read, err) = read_until_error(&mut reader);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(read, [b"one".to_vec(), b"three".to_vec()]);
    }
}

/// Empty payloads: refused by default before any byte is written; written
/// when allowed, as the seed format's bytes.
fn empty_payloads_are_refused_unless_allowed<F: Framer + Default, D: Deframer + Default>() {
    let mut writer = StreamWriter::new(ScriptedSink::default(), F::default());
    writer.write_payload(b"before").expect("before");
    let here = Position {
        offset: writer.bytes_written(),
        frame: 1,
    };
    let err = writer.write_payload(b"").expect_err("refused");
    assert!(matches!(err.kind(), ErrorKind::EmptyPayload), "{err:?}");
    assert_eq!(err.position(), Some(here));
    assert!(err.is_resumable(), "the writer goes on");
    assert_eq!(writer.get_ref().offered.len(), 2, "no write call");
    assert_eq!(writer.frames_written(), 1);
    assert_eq!(writer.bytes_written(), here.offset);
    writer.write_payload(b"after").expect("after");
    let bytes = writer.into_inner().written;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(read, [b"before".to_vec(), b"after".to_vec()]);

    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    writer.write_payload(b"").expect("allowed");
    writer.write_payload(b"x").expect("x");
    writer.write_payload(b"").expect("allowed");
    assert_eq!(writer.frames_written(), 3);
    let bytes = writer.into_inner();
    let empty = frame::<F>(b"");
    let header_len = F::default().header_len();
    assert_eq!(empty.len(), header_len, "length and checksum only");
    assert_eq!(&bytes[..header_len], &empty[..]);
    assert_eq!(&bytes[bytes.len() - header_len..], &empty[..]);
    assert_eq!(&empty[..4], &[0, 0, 0, 0], "a length of 0");
    // The checksum of empty input: 0 for the CRCs (and no checksum for the
    // plain framer), so the frame is all zeros; XXH3-64 of nothing is not 0.
    match header_len {
        12 => assert_eq!(empty[4..], 0x2D06_8005_38D3_94C2u64.to_le_bytes()),
        _ => assert!(empty_frame_is_all_zero::<F>() && empty.iter().all(|&b| b == 0)),
    }
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(read, [Vec::new(), b"x".to_vec(), Vec::new()]);
}

/// The review's case: m1 and m2 differ only in the part of m1 already on the
/// sink (header whole, then 60 payload bytes, then `WouldBlock`). Writing m2
/// next is not a retry of m1: m1 is completed from the writer's copy, then
/// m2 follows, and both read back.
fn a_message_differing_only_in_the_sent_bytes_is_not_a_retry<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let m1 = [&[0xAA; 60][..], b"tail"].concat();
    let m2 = [&[0xBB; 60][..], b"tail"].concat();
    let script = [
        (1, Fault::Short(60)),
        (2, Fault::Io(io::ErrorKind::WouldBlock)),
    ];
    let mut writer = StreamWriter::new(ScriptedSink::failing(&script), F::default());
    let err = writer.write_payload(&m1).expect_err("blocks");
    assert!(err.is_resumable(), "{err:?}");
    assert_eq!(writer.frames_written(), 0);
    let header_len = F::default().header_len();
    assert_eq!(writer.get_ref().written.len(), header_len + 60);
    writer.write_payload(&m2).expect("m2");
    assert_eq!(writer.frames_written(), 2);
    let expected_len = (frame::<F>(&m1).len() + frame::<F>(&m2).len()) as u64;
    assert_eq!(writer.bytes_written(), expected_len);
    let bytes = writer.into_inner().written;
    assert_eq!(bytes.len() as u64, expected_len, "no phantom bytes");
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(read, [m1, m2]);
}

/// A frame in flight cut again and again (one byte per call, `WouldBlock`
/// in between) is completed from the writer's copy, by retries of the same
/// message or by a different one, and appears once.
fn a_frame_cut_at_every_byte_is_completed_once<F: Framer + Default, D: Deframer + Default>() {
    let m1 = [&[0xAA; 60][..], b"tail"].concat();
    let m2 = b"next".to_vec();
    for retry in [true, false] {
        // Call 0 takes the header; then each call takes 1 byte and the one
        // after it would block, until the frame is whole; then no faults.
        let mut script = vec![(1, Fault::Short(1))];
        for k in 1..m1.len() {
            script.push((2 * k, Fault::Io(io::ErrorKind::WouldBlock)));
            script.push((2 * k + 1, Fault::Short(1)));
        }
        let mut writer = StreamWriter::new(ScriptedSink::failing(&script), F::default());
        let mut blocked = 0;
        let mut result = writer.write_payload(&m1);
        while let Err(err) = result {
            assert!(err.is_resumable(), "{err:?}");
            assert_eq!(writer.frames_written(), 0);
            blocked += 1;
            result = if retry {
                writer.write_payload(&m1)
            } else {
                writer.write_payload(&m2)
            };
        }
        assert!(blocked > 1, "cut more than once");
        let expected: Vec<Vec<u8>> = if retry {
            vec![m1.clone()]
        } else {
            vec![m1.clone(), m2.clone()]
        };
        assert_eq!(writer.frames_written(), expected.len() as u64);
        let bytes = writer.into_inner().written;
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        let (read, err) = read_until_error(&mut reader);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(read, expected);
    }
}

/// Payloads of only zero bytes frame as zero fill: refused like empty ones
/// unless allowed; one non-zero byte is enough to be written.
fn all_zero_payloads_are_refused_unless_allowed<F: Framer + Default, D: Deframer + Default>() {
    let mut writer = StreamWriter::new(ScriptedSink::default(), F::default());
    writer.write_payload(b"before").expect("before");
    let here = Position {
        offset: writer.bytes_written(),
        frame: 1,
    };
    for zeros in [&[0u8; 1][..], &[0; 3], &[0; 4], &[0; 16], &[0; 1000]] {
        let err = writer.write_payload(zeros).expect_err("refused");
        assert!(matches!(err.kind(), ErrorKind::EmptyPayload), "{err:?}");
        assert_eq!(err.position(), Some(here));
        assert!(err.is_resumable(), "the writer goes on");
        assert_eq!(writer.get_ref().offered.len(), 2, "no write call");
        assert_eq!(writer.frames_written(), 1);
        assert_eq!(writer.bytes_written(), here.offset);
    }
    let mut zeros_then_one = vec![0u8; 1000];
    zeros_then_one[999] = 1;
    let accepted = [vec![0, 0, 0, 1], vec![1, 0, 0, 0], zeros_then_one];
    for payload in &accepted {
        writer.write_payload(payload).expect("not all zero");
    }
    assert_eq!(writer.frames_written(), 4);
    let bytes = writer.into_inner().written;
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    let mut expected = vec![b"before".to_vec()];
    expected.extend(accepted.iter().cloned());
    assert_eq!(read, expected);

    let all_zero = [
        vec![],
        vec![0u8; 4],
        vec![0; 16],
        vec![0; 1000],
        vec![0, 0, 0, 1],
    ];
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for payload in &all_zero {
        writer.write_payload(payload).expect("allowed");
    }
    assert_eq!(writer.frames_written(), all_zero.len() as u64);
    let bytes = writer.into_inner();
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let (read, err) = read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(read, all_zero);
}

/// The stream's header cut by `WouldBlock` after every byte, then written
/// again: the retry completes it, once, and the stream reads back with its
/// header and the payload after it. Another header while one is in flight
/// is refused once the one in flight is completed, first.
fn a_header_cut_at_every_byte_is_completed_by_writing_it_again<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let header = StreamHeader::new().with_root_type("test.Reading");
    let other = StreamHeader::new().with_root_type("test.Other");
    let frame_len = F::default().header_len() + header.encode().len();
    for cut in 1..frame_len {
        for retry in [true, false] {
            let sink = ScriptedSink::failing(&[
                (0, Fault::Short(cut)),
                (1, Fault::Io(io::ErrorKind::WouldBlock)),
            ]);
            let mut writer = StreamWriter::new(sink, F::default());
            let err = writer.write_header(&header).expect_err("cut");
            assert!(err.is_resumable(), "cut at {cut}: {err}");
            if retry {
                writer
                    .write_header(&header)
                    .expect("the retry completes it");
            } else {
                let refused = writer.write_header(&other).expect_err("another header");
                assert!(
                    matches!(
                        refused.kind(),
                        ErrorKind::HeaderNotFirst { frames_written: 1 }
                    ),
                    "cut at {cut}: {refused}"
                );
            }
            assert_eq!(writer.frames_written(), 1, "cut at {cut}, retry {retry}");
            writer.write_payload(b"after").expect("a payload");
            let bytes = writer.into_inner().written;
            let mut reader = StreamReader::new(bytes.as_slice(), D::default());
            let (read, err) = read_until_error(&mut reader);
            assert!(err.is_none(), "cut at {cut}: {err:?}");
            assert_eq!(read, [b"after".to_vec()], "cut at {cut}");
            let kept = reader.header().expect("a header").cloned();
            assert_eq!(kept, Some(header.clone()), "cut at {cut}");
        }
    }
}

macro_rules! writer_fault_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn every_fault_at_every_call_with_retries_reads_back_exactly_the_ok_frames() {
                faults_directly::<F, D>(Caller::Retries);
            }

            #[test]
            fn every_fault_at_every_call_moving_on_completes_frames_in_flight_first() {
                faults_directly::<F, D>(Caller::MovesOn);
            }

            #[test]
            fn every_fault_behind_a_small_buf_writer_with_retries_reads_back_exactly() {
                faults_behind_a_buf_writer::<F, D>(Caller::Retries);
            }

            #[test]
            fn every_fault_behind_a_small_buf_writer_moving_on_reads_back_exactly() {
                faults_behind_a_buf_writer::<F, D>(Caller::MovesOn);
            }

            #[test]
            fn would_block_after_the_header_then_retry_writes_the_frame_once() {
                would_block_after_the_header_then_retry_writes_one_frame::<F, D>();
            }

            #[test]
            fn a_different_payload_after_a_mid_frame_error_follows_the_completed_frame() {
                a_different_payload_after_a_mid_frame_error_completes_the_frame_in_flight_first::<
                    F,
                    D,
                >();
            }

            #[test]
            fn frame_in_flight_survives_repeated_errors_and_flush_completes_it() {
                super::frame_in_flight_survives_repeated_errors_and_flush_completes_it::<F, D>();
            }

            #[test]
            fn simple_and_expert_mode_retries_write_the_frame_once() {
                simple_and_expert_mode_retries_write_one_frame::<F, D>();
            }

            #[test]
            fn a_refused_message_while_in_flight_completes_the_frame_first() {
                a_refusal_while_in_flight_completes_the_frame_first::<F, D>();
            }

            #[test]
            fn after_a_fatal_mid_frame_error_every_write_and_flush_is_torn_write() {
                a_stopped_writer_refuses_everything_with_torn_write::<F, D>();
            }

            #[test]
            fn a_header_cut_at_every_byte_is_completed_by_writing_it_again() {
                super::a_header_cut_at_every_byte_is_completed_by_writing_it_again::<F, D>();
            }

            #[test]
            fn a_fatal_error_before_any_byte_of_the_frame_does_not_stop_the_writer() {
                a_fatal_error_before_any_byte_does_not_stop_the_writer::<F, D>();
            }

            #[test]
            fn a_message_differing_only_in_the_bytes_already_sent_is_not_taken_for_a_retry() {
                a_message_differing_only_in_the_sent_bytes_is_not_a_retry::<F, D>();
            }

            #[test]
            fn a_frame_cut_at_every_byte_is_completed_once_by_retries_or_the_next_message() {
                a_frame_cut_at_every_byte_is_completed_once::<F, D>();
            }

            #[test]
            fn all_zero_payloads_are_refused_by_default_and_written_when_allowed() {
                all_zero_payloads_are_refused_unless_allowed::<F, D>();
            }

            #[test]
            fn empty_payloads_are_refused_by_default_and_written_as_the_seed_bytes_when_allowed() {
                empty_payloads_are_refused_unless_allowed::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(writer_fault_tests);
