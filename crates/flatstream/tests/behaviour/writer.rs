//! `StreamWriter` behaviour for every framer pair of this build: unfinished
//! builders are refused before a byte is written, the frame limit is enforced
//! up front, write errors keep their I/O kind and name the frame being
//! written, and the sink accessors and `StreamSerialize` impls behave.
//! Faults in the middle of a frame (frames in flight, a stopped writer) and
//! empty payloads are covered in depth by `writer_faults.rs`.

use std::io::{self, BufWriter, Write};

use flatstream::flatbuffers::{self, Allocator, FlatBufferBuilder, ForwardsUOffset, Vector};
use flatstream::{
    Deframer, Error, ErrorKind, Framer, Position, StreamReader, StreamSerialize, StreamWriter,
};

use crate::support::framers;

/// A sink that fails the write call with index `fail_at` (from 0) with
/// `fault`, accepts at most `max_per_call` bytes per call, and can fail every
/// other call with `Interrupted`.
#[derive(Debug, Default)]
struct TestSink {
    written: Vec<u8>,
    calls: usize,
    fail_at: Option<usize>,
    fault: Option<io::ErrorKind>,
    max_per_call: Option<usize>,
    interrupt_every_other_call: bool,
    flushes: usize,
    fail_flush: bool,
}

impl Write for TestSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let call = self.calls;
        self.calls += 1;
        if self.fail_at == Some(call) {
            return Err(io::Error::from(
                self.fault.unwrap_or(io::ErrorKind::BrokenPipe),
            ));
        }
        if self.interrupt_every_other_call && call.is_multiple_of(2) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = buf.len().min(self.max_per_call.unwrap_or(usize::MAX));
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        if self.fail_flush {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        Ok(())
    }
}

fn read_all<D: Deframer + Default>(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = StreamReader::new(bytes, D::default());
    let mut out = Vec::new();
    reader
        .process_all(|p| {
            out.push(p.to_vec());
            Ok(())
        })
        .expect("read back");
    out
}

fn expect_unfinished(err: &Error, position: Position) {
    assert!(
        matches!(err.kind(), ErrorKind::UnfinishedBuilder),
        "expected UnfinishedBuilder, got {err:?}"
    );
    assert_eq!(err.position(), Some(position));
}

/// A writer that has written one frame `b"first"`, and that frame's length.
fn writer_with_one_frame<F: Framer + Default>() -> (StreamWriter<Vec<u8>, F>, u64) {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    writer.write_payload(b"first").expect("write_payload");
    let len = writer.bytes_written();
    (writer, len)
}

fn assert_nothing_more_written<F: Framer>(writer: &StreamWriter<Vec<u8>, F>, len: u64) {
    assert_eq!(writer.get_ref().len() as u64, len, "bytes reached the sink");
    assert_eq!(writer.bytes_written(), len);
    assert_eq!(writer.frames_written(), 1);
}

fn write_finished_refuses_unfinished_builders<F: Framer + Default, D: Deframer + Default>() {
    let (mut writer, len) = writer_with_one_frame::<F>();
    let here = Position {
        offset: len,
        frame: 1,
    };

    // A table built, `finish` never called.
    let mut builder = FlatBufferBuilder::new();
    let start = builder.start_table();
    builder.push_slot::<u32>(4, 7, 0);
    let table = builder.end_table(start);
    let err = writer.write_finished(&mut builder).expect_err("a table");
    expect_unfinished(&err, here);
    assert_nothing_more_written(&writer, len);
    // Once finished, the same builder is accepted.
    builder.finish(table, None);
    writer.write_finished(&mut builder).expect("finished");
    let expected = builder.finished_data().to_vec();

    // A builder reset after a finished message.
    let (mut writer, len) = writer_with_one_frame::<F>();
    let mut builder = FlatBufferBuilder::new();
    let root = builder.create_string("done");
    builder.finish(root, None);
    builder.reset();
    let err = writer.write_finished(&mut builder).expect_err("reset");
    expect_unfinished(&err, here);
    assert_nothing_more_written(&writer, len);

    // A builder that never built anything.
    let err = writer
        .write_finished(&mut FlatBufferBuilder::new())
        .expect_err("empty");
    expect_unfinished(&err, here);
    assert_nothing_more_written(&writer, len);

    // A string without `finish` whose length prefix (3) cannot be a root offset.
    let mut builder = FlatBufferBuilder::new();
    builder.create_string("abc");
    let err = writer.write_finished(&mut builder).expect_err("a string");
    expect_unfinished(&err, here);
    assert_nothing_more_written(&writer, len);

    // The refusals left the stream intact.
    let mut builder = FlatBufferBuilder::new();
    let start = builder.start_table();
    builder.push_slot::<u32>(4, 7, 0);
    let table = builder.end_table(start);
    builder.finish(table, None);
    writer.write_finished(&mut builder).expect("finished");
    assert_eq!(
        read_all::<D>(writer.get_ref()),
        [b"first".to_vec(), expected]
    );
}

/// `finished_payload` documents this limit of its detection: a builder
/// holding only a string whose length prefix looks like a root offset (a
/// multiple of 4, pointing inside the buffer) passes for finished, and the
/// half-built bytes are written as a frame.
fn unfinished_string_with_aligned_length_is_not_detected<F: Framer + Default>() {
    let mut builder = FlatBufferBuilder::new();
    builder.create_string("abcd");
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    writer
        .write_finished(&mut builder)
        .expect("not detected, as documented");
    assert_eq!(writer.frames_written(), 1);
    let header_len = writer.framer().header_len();
    let payload = &writer.get_ref()[header_len..];
    assert_eq!(&payload[..8], b"\x04\0\0\0abcd");
}

/// Forgets to call `finish`, in one of several ways.
enum Forgetful {
    Table,
    String,
    Nothing,
}

impl StreamSerialize for Forgetful {
    fn serialize<A: Allocator>(
        &self,
        builder: &mut FlatBufferBuilder<A>,
    ) -> flatstream::Result<()> {
        match self {
            Forgetful::Table => {
                let start = builder.start_table();
                builder.push_slot::<u16>(4, 1, 0);
                builder.end_table(start);
            }
            Forgetful::String => {
                builder.create_string("xyz");
            }
            Forgetful::Nothing => {}
        }
        Ok(())
    }
}

/// Fails with a custom error after building half a message.
struct Failing;

impl StreamSerialize for Failing {
    fn serialize<A: Allocator>(
        &self,
        builder: &mut FlatBufferBuilder<A>,
    ) -> flatstream::Result<()> {
        builder.create_string("half");
        Err(Error::custom("sensor 7 has no reading"))
    }
}

fn simple_mode_refuses_a_serializer_that_forgets_finish<F: Framer + Default>() {
    for forgetful in [Forgetful::Table, Forgetful::String, Forgetful::Nothing] {
        let (mut writer, len) = writer_with_one_frame::<F>();
        let err = writer.write(&forgetful).expect_err("not finished");
        expect_unfinished(
            &err,
            Position {
                offset: len,
                frame: 1,
            },
        );
        assert_nothing_more_written(&writer, len);
        // The writer's builder is reset for the next message.
        writer.write("fine").expect("next write");
        assert_eq!(writer.frames_written(), 2);
    }

    let (mut writer, len) = writer_with_one_frame::<F>();
    let err = writer.write(&Failing).expect_err("custom error");
    assert!(
        matches!(err.kind(), ErrorKind::Custom(m) if m == "sensor 7 has no reading"),
        "{err:?}"
    );
    assert_nothing_more_written(&writer, len);
}

fn max_frame_len_is_enforced_before_writing<F: Framer + Default, D: Deframer + Default>() {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).with_max_frame_len(40);
    let header_len = writer.framer().header_len() as u64;

    let err = writer.write_payload(&[1; 41]).expect_err("too large");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::FrameTooLarge {
                declared: 41,
                limit: 40
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.position(),
        Some(Position {
            offset: 0,
            frame: 0
        })
    );
    assert!(writer.get_ref().is_empty());
    assert_eq!(writer.frames_written(), 0);

    writer.write_payload(&[2; 40]).expect("at the limit");
    let after_one = header_len + 40;
    let here = Position {
        offset: after_one,
        frame: 1,
    };

    // Simple mode: a 64-character string makes a FlatBuffer of over 64 bytes.
    let long = "s".repeat(64);
    let err = writer.write(&long).expect_err("too large");
    assert!(
        matches!(err.kind(), ErrorKind::FrameTooLarge { declared, limit: 40 } if *declared > 64),
        "{err:?}"
    );
    assert_eq!(err.position(), Some(here));

    // Expert mode.
    let mut builder = FlatBufferBuilder::new();
    let root = builder.create_vector(&[3u8; 100]);
    builder.finish(root, None);
    let err = writer.write_finished(&mut builder).expect_err("too large");
    assert!(
        matches!(err.kind(), ErrorKind::FrameTooLarge { limit: 40, .. }),
        "{err:?}"
    );
    assert_eq!(err.position(), Some(here));

    assert_eq!(writer.get_ref().len() as u64, after_one, "nothing written");
    assert_eq!(writer.bytes_written(), after_one);
    assert_eq!(read_all::<D>(writer.get_ref()), [vec![2; 40]]);

    // A limit of 0 admits only empty payloads (when they are allowed).
    let mut writer = StreamWriter::new(Vec::new(), F::default())
        .with_max_frame_len(0)
        .allow_empty_payloads(true);
    writer.write_payload(b"").expect("empty");
    assert!(writer.write_payload(b"x").is_err());
    assert_eq!(writer.get_ref().len() as u64, header_len);
}

/// Payloads whose frames take 2, 2, 1 (empty payload: no payload write) and
/// 2 write calls. The empty one needs `allow_empty_payloads(true)`.
const PAYLOADS: [&[u8]; 4] = [b"zero", b"one!", b"", b"three"];

fn write_error_is_positioned_at_the_frame_being_written<F: Framer + Default>() {
    let header_len = F::default().header_len();
    let frame_lens: Vec<usize> = PAYLOADS.iter().map(|p| header_len + p.len()).collect();
    // (frame index, whether the header got through) of each write call.
    let calls = [
        (0, false),
        (0, true),
        (1, false),
        (1, true),
        (2, false),
        (3, false),
        (3, true),
    ];
    for (fail_at, &(frame, header_written)) in calls.iter().enumerate() {
        for fault in [io::ErrorKind::BrokenPipe, io::ErrorKind::WouldBlock] {
            let sink = TestSink {
                fail_at: Some(fail_at),
                fault: Some(fault),
                ..TestSink::default()
            };
            let mut writer = StreamWriter::new(sink, F::default()).allow_empty_payloads(true);
            let mut failed = None;
            for (i, payload) in PAYLOADS.iter().enumerate() {
                if let Err(err) = writer.write_payload(payload) {
                    failed = Some((i, err));
                    break;
                }
            }
            let (i, err) = failed.expect("the sink fails");
            assert_eq!(i, frame, "call {fail_at}");
            match err.kind() {
                ErrorKind::Io(e) => assert_eq!(e.kind(), fault),
                other => panic!("expected an I/O error, got {other:?}"),
            }
            let offset: usize = frame_lens[..frame].iter().sum();
            assert_eq!(
                err.position(),
                Some(Position {
                    offset: offset as u64,
                    frame: frame as u64
                }),
                "call {fail_at}"
            );
            // Converting back to io::Error gives the sink's error.
            assert_eq!(io::Error::from(err).kind(), fault);
            // Counters cover complete frames only; the sink holds those, plus
            // the header when the payload write failed.
            assert_eq!(writer.frames_written(), frame as u64);
            assert_eq!(writer.bytes_written(), offset as u64);
            let on_sink = offset + if header_written { header_len } else { 0 };
            assert_eq!(writer.get_ref().written.len(), on_sink, "call {fail_at}");

            // What the next call does: the header on the sink makes the
            // frame torn after BrokenPipe, in flight after WouldBlock.
            let next = writer.write_payload(PAYLOADS[frame]);
            match (header_written, fault) {
                (true, io::ErrorKind::BrokenPipe) => {
                    let err = next.expect_err("stopped");
                    assert!(
                        matches!(err.kind(), ErrorKind::TornWrite { written, frame_len }
                            if *written == header_len as u64
                                && *frame_len == frame_lens[frame] as u64),
                        "{err:?}"
                    );
                    assert_eq!(
                        err.position(),
                        Some(Position {
                            offset: offset as u64,
                            frame: frame as u64
                        })
                    );
                    assert_eq!(writer.get_ref().written.len(), on_sink, "nothing more");
                }
                _ => {
                    next.expect("the retry writes the frame");
                    assert_eq!(writer.frames_written(), frame as u64 + 1);
                    assert_eq!(writer.bytes_written(), (offset + frame_lens[frame]) as u64);
                    assert_eq!(writer.get_ref().written.len(), offset + frame_lens[frame]);
                }
            }
        }
    }
}

fn interrupted_and_short_writes_give_the_same_bytes<F: Framer + Default>() {
    let mut plain = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let sink = TestSink {
        max_per_call: Some(3),
        interrupt_every_other_call: true,
        ..TestSink::default()
    };
    let mut stuttering = StreamWriter::new(sink, F::default()).allow_empty_payloads(true);
    for payload in PAYLOADS {
        plain.write_payload(payload).expect("Vec");
        stuttering.write_payload(payload).expect("retried");
    }
    assert_eq!(stuttering.get_ref().written, *plain.get_ref());
    assert_eq!(stuttering.bytes_written(), plain.bytes_written());
}

fn flush_and_sink_accessors_behave<F: Framer + Default, D: Deframer + Default>() {
    // flush reaches the sink; its error keeps the kind and the position.
    let mut writer = StreamWriter::new(TestSink::default(), F::default());
    writer.write_payload(b"abc").expect("write");
    writer.flush().expect("flush");
    assert_eq!(writer.get_ref().flushes, 1);
    writer.get_mut().fail_flush = true;
    let err = writer.flush().expect_err("flush fails");
    assert!(
        matches!(err.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::StorageFull),
        "{err:?}"
    );
    assert_eq!(
        err.position(),
        Some(Position {
            offset: writer.bytes_written(),
            frame: 1
        })
    );

    // get_mut writes past the writer: whole frames keep the stream valid,
    // and the writer's counters do not include them.
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    writer.write_payload(b"one").expect("write");
    F::default()
        .encode_into(b"by hand", writer.get_mut())
        .expect("encode_into");
    writer.write_payload(b"three").expect("write");
    assert_eq!(writer.frames_written(), 2);
    assert!(writer.bytes_written() < writer.get_ref().len() as u64);
    assert_eq!(
        read_all::<D>(writer.get_ref()),
        [b"one".to_vec(), b"by hand".to_vec(), b"three".to_vec()]
    );
    let bytes = writer.into_inner();
    assert_eq!(read_all::<D>(&bytes).len(), 3);

    // into_inner does not flush: the frame is still in the BufWriter.
    let mut writer = StreamWriter::new(BufWriter::new(Vec::new()), F::default());
    writer.write_payload(b"buffered").expect("write");
    assert!(writer.get_ref().get_ref().is_empty());
    let len = usize::try_from(writer.bytes_written()).expect("fits");
    let buffered = writer.into_inner();
    assert_eq!(buffered.buffer().len(), len);
    assert!(buffered.get_ref().is_empty());
    let bytes = buffered.into_inner().expect("flushed by into_inner");
    assert_eq!(read_all::<D>(&bytes), [b"buffered".to_vec()]);

    // flush hands the BufWriter's bytes to its sink.
    let mut writer = StreamWriter::new(BufWriter::new(Vec::new()), F::default());
    writer.write_payload(b"flushed").expect("write");
    writer.flush().expect("flush");
    assert_eq!(
        read_all::<D>(writer.get_ref().get_ref()),
        [b"flushed".to_vec()]
    );
}

/// A user type: a sensor name and value as a vector of two strings.
struct Reading<'a> {
    sensor: &'a str,
    value: i32,
}

impl StreamSerialize for Reading<'_> {
    fn serialize<A: Allocator>(
        &self,
        builder: &mut FlatBufferBuilder<A>,
    ) -> flatstream::Result<()> {
        let sensor = builder.create_string(self.sensor);
        let value = builder.create_string(&self.value.to_string());
        let root = builder.create_vector(&[sensor, value]);
        builder.finish(root, None);
        Ok(())
    }
}

fn stream_serialize_impls_write_what_they_build<F: Framer + Default, D: Deframer + Default>() {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    let owned = String::from("owned");
    writer.write("str").expect("str");
    writer.write(&"&str").expect("&str");
    writer.write(&owned).expect("String");
    writer.write(&&owned).expect("&String");
    writer
        .write(&Reading {
            sensor: "temp_1",
            value: -40,
        })
        .expect("user type");

    let payloads = read_all::<D>(writer.get_ref());
    assert_eq!(payloads.len(), 5);
    let strings: Vec<&str> = payloads[..4]
        .iter()
        .map(|p| flatbuffers::root::<&str>(p).expect("a string root"))
        .collect();
    assert_eq!(strings, ["str", "&str", "owned", "owned"]);
    // `String` and `&str` serialize to the same bytes.
    let mut builder = FlatBufferBuilder::new();
    "owned".serialize(&mut builder).expect("serialize");
    assert_eq!(payloads[2], builder.finished_data());
    let reading = flatbuffers::root::<Vector<'_, ForwardsUOffset<&str>>>(&payloads[4])
        .expect("a [string] root");
    assert_eq!(reading.iter().collect::<Vec<_>>(), ["temp_1", "-40"]);
}

macro_rules! writer_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn write_finished_refuses_unfinished_reset_and_empty_builders_writing_nothing() {
                write_finished_refuses_unfinished_builders::<F, D>();
            }

            #[test]
            fn unfinished_string_whose_length_looks_like_a_root_offset_is_not_detected() {
                unfinished_string_with_aligned_length_is_not_detected::<F>();
            }

            #[test]
            fn simple_mode_refuses_a_serializer_that_forgets_finish_writing_nothing() {
                simple_mode_refuses_a_serializer_that_forgets_finish::<F>();
            }

            #[test]
            fn max_frame_len_refuses_larger_payloads_before_writing_a_byte() {
                max_frame_len_is_enforced_before_writing::<F, D>();
            }

            #[test]
            fn write_error_keeps_io_kind_and_names_the_frame_being_written() {
                write_error_is_positioned_at_the_frame_being_written::<F>();
            }

            #[test]
            fn interrupted_and_short_writes_give_the_same_bytes_as_a_vec() {
                interrupted_and_short_writes_give_the_same_bytes::<F>();
            }

            #[test]
            fn flush_get_ref_get_mut_and_into_inner_behave() {
                flush_and_sink_accessors_behave::<F, D>();
            }

            #[test]
            fn str_string_and_user_types_serialize_and_read_back() {
                stream_serialize_impls_write_what_they_build::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(writer_tests);
