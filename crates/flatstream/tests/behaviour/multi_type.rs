//! Several message types in one stream: `Telemetry` (`TLM1`), `Control`
//! (`CTL1`) and `FileChunk` (`FXF1`) written interleaved, read back by
//! dispatching on each payload's FlatBuffers file identifier, then verified
//! as the type the identifier names.

use flatstream::flatbuffers::{
    self, FILE_IDENTIFIER_LENGTH, FlatBufferBuilder, SIZE_UOFFSET, VerifierOptions,
};
use flatstream::{Deframer, Framer, StreamReader, StreamWriter};

use crate::control::{self, ControlMessage};
use crate::file_transfer::{self, Chunk};
use crate::support::framers;
use crate::telemetry::{self, Reading};

flatstream::root_type!(control::Control);

/// What one frame of the test stream holds.
#[derive(Debug, Clone, PartialEq)]
enum Message {
    Telemetry(Reading),
    Control(ControlMessage),
    FileChunk(Chunk),
    /// A FlatBuffer of a type this reader does not know: a string root with
    /// the file identifier `LOG1`.
    Foreign(String),
    /// A payload too short to hold a file identifier.
    Short(Vec<u8>),
}

/// The kind of a payload, from its file identifier alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Telemetry,
    Control,
    FileChunk,
    Unknown,
}

impl Message {
    fn kind(&self) -> Kind {
        match self {
            Message::Telemetry(_) => Kind::Telemetry,
            Message::Control(_) => Kind::Control,
            Message::FileChunk(_) => Kind::FileChunk,
            Message::Foreign(_) | Message::Short(_) => Kind::Unknown,
        }
    }
}

/// Dispatches on the file identifier, bytes 4 to 8 of a FlatBuffer.
///
/// `flatbuffers::buffer_has_identifier` asserts that the payload is long
/// enough, i.e. panics on a shorter one: check the length first.
fn kind_of(payload: &[u8]) -> Kind {
    if payload.len() < SIZE_UOFFSET + FILE_IDENTIFIER_LENGTH {
        return Kind::Unknown;
    }
    if telemetry::telemetry_buffer_has_identifier(payload) {
        Kind::Telemetry
    } else if flatbuffers::buffer_has_identifier(payload, control::CONTROL_IDENTIFIER, false) {
        Kind::Control
    } else if file_transfer::file_chunk_buffer_has_identifier(payload) {
        Kind::FileChunk
    } else {
        Kind::Unknown
    }
}

/// The test session: readings, with a command every 7th message, a file
/// transfer of 3 chunks in the middle, one foreign FlatBuffer and two short
/// payloads.
fn session() -> Vec<Message> {
    let mut messages = Vec::new();
    let mut commands = 0;
    for i in 0..100 {
        messages.push(Message::Telemetry(Reading::sample(i)));
        if i % 7 == 3 {
            messages.push(Message::Control(ControlMessage::sample(commands)));
            commands += 1;
        }
        if i == 50 {
            for k in 0..3 {
                messages.push(Message::FileChunk(Chunk::sample(9, k, 3, 10_000)));
            }
        }
        if i == 60 {
            messages.push(Message::Foreign("a log line".to_owned()));
            messages.push(Message::Short(Vec::new()));
            messages.push(Message::Short(vec![8, 0, 0]));
        }
    }
    messages
}

/// Writes `messages` with one builder per type (expert mode).
fn write_session<F: Framer + Default>(messages: &[Message]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let mut telemetry_builder = FlatBufferBuilder::new();
    let mut control_builder = FlatBufferBuilder::new();
    let mut file_builder = FlatBufferBuilder::new();
    let mut other_builder = FlatBufferBuilder::new();
    for message in messages {
        match message {
            Message::Telemetry(reading) => {
                telemetry_builder.reset();
                let root = reading.build(&mut telemetry_builder);
                telemetry::finish_telemetry_buffer(&mut telemetry_builder, root);
                writer.write_finished(&mut telemetry_builder)
            }
            Message::Control(command) => {
                control_builder.reset();
                command.build_finished(&mut control_builder);
                writer.write_finished(&mut control_builder)
            }
            Message::FileChunk(chunk) => {
                file_builder.reset();
                chunk.build_finished(&mut file_builder);
                writer.write_finished(&mut file_builder)
            }
            Message::Foreign(line) => {
                other_builder.reset();
                let root = other_builder.create_string(line);
                other_builder.finish(root, Some("LOG1"));
                writer.write_finished(&mut other_builder)
            }
            Message::Short(bytes) => writer.write_payload(bytes),
        }
        .expect("write");
    }
    writer.into_inner()
}

fn dispatch_on_file_identifier<F: Framer + Default, D: Deframer + Default>() {
    let messages = session();
    let bytes = write_session::<F>(&messages);
    let options = VerifierOptions::default();

    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut expected = messages.iter();
    let mut kinds = Vec::new();
    reader
        .process_all(|payload| {
            let message = expected.next().expect("no more frames than written");
            let kind = kind_of(payload);
            kinds.push(kind);
            let fail = |e: &dyn core::fmt::Display| {
                flatstream::Error::custom(format_args!("{message:?}: {e}"))
            };
            match (kind, message) {
                (Kind::Telemetry, Message::Telemetry(reading)) => {
                    let table = telemetry::root_as_telemetry_with_opts(&options, payload)
                        .map_err(|e| fail(&e))?;
                    telemetry::check(reading, table).map_err(|e| fail(&e))
                }
                (Kind::Control, Message::Control(command)) => {
                    let table = control::root_as_control_with_opts(&options, payload)
                        .map_err(|e| fail(&e))?;
                    control::check(command, table).map_err(|e| fail(&e))
                }
                (Kind::FileChunk, Message::FileChunk(chunk)) => {
                    let table = file_transfer::root_as_file_chunk_with_opts(&options, payload)
                        .map_err(|e| fail(&e))?;
                    file_transfer::check(chunk, table).map_err(|e| fail(&e))
                }
                (Kind::Unknown, Message::Foreign(line)) => {
                    assert!(flatbuffers::buffer_has_identifier(payload, "LOG1", false));
                    let text = flatbuffers::root::<&str>(payload).map_err(|e| fail(&e))?;
                    assert_eq!(text, line);
                    Ok(())
                }
                (Kind::Unknown, Message::Short(bytes)) => {
                    assert_eq!(payload, bytes.as_slice());
                    Ok(())
                }
                (kind, _) => Err(fail(&format_args!("dispatched as {kind:?}"))),
            }
        })
        .expect("every frame dispatched to its type and verified");
    assert!(expected.next().is_none(), "every frame written was read");

    let written: Vec<Kind> = messages.iter().map(Message::kind).collect();
    assert_eq!(kinds, written);
    let count = |k: Kind| kinds.iter().filter(|&&kind| kind == k).count();
    assert_eq!(count(Kind::Telemetry), 100);
    assert_eq!(count(Kind::Control), 14);
    assert_eq!(count(Kind::FileChunk), 3);
    assert_eq!(count(Kind::Unknown), 3);
}

/// The same dispatch in a lending loop (`messages()`), verifying each
/// payload with `flatbuffers::root` as the type its identifier names.
fn lending_loop_with_identifier_dispatch<F: Framer + Default, D: Deframer + Default>() {
    let messages = session();
    let bytes = write_session::<F>(&messages);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut payloads = reader.messages();
    let mut sensor_ids = Vec::new();
    let mut issuers = Vec::new();
    while let Some(payload) = payloads.next().expect("next") {
        match kind_of(payload) {
            Kind::Telemetry => {
                let table = flatbuffers::root::<telemetry::Telemetry>(payload).expect("valid");
                sensor_ids.push(table.sensor_id());
            }
            Kind::Control => {
                let table = flatbuffers::root::<control::Control>(payload).expect("valid");
                issuers.push(table.issuer().expect("an issuer").to_owned());
            }
            Kind::FileChunk | Kind::Unknown => {}
        }
    }
    let expected_ids: Vec<u32> = (0..100).map(|i| Reading::sample(i).sensor_id).collect();
    assert_eq!(sensor_ids, expected_ids);
    let expected_issuers: Vec<String> = (0..14).map(|i| ControlMessage::sample(i).issuer).collect();
    assert_eq!(issuers, expected_issuers);
}

macro_rules! multi_type_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            #[test]
            fn dispatch_on_file_identifier() {
                super::dispatch_on_file_identifier::<$framer, $deframer>();
            }
            #[test]
            fn lending_loop_with_identifier_dispatch() {
                super::lending_loop_with_identifier_dispatch::<$framer, $deframer>();
            }
        }
    };
}

framers::for_each_framer_pair!(multi_type_tests);

#[test]
fn identifiers_are_distinct_and_exclusive() {
    let ids = [
        telemetry::TELEMETRY_IDENTIFIER,
        control::CONTROL_IDENTIFIER,
        file_transfer::FILE_CHUNK_IDENTIFIER,
    ];
    assert_eq!(ids, ["TLM1", "CTL1", "FXF1"]);
    let messages = session();
    let bytes = write_session::<flatstream::DefaultFramer>(&messages);
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    reader
        .process_all(|payload| {
            if payload.len() >= SIZE_UOFFSET + FILE_IDENTIFIER_LENGTH {
                let matching = ids
                    .iter()
                    .filter(|id| flatbuffers::buffer_has_identifier(payload, id, false))
                    .count();
                assert!(matching <= 1, "one identifier per payload at most");
            }
            Ok(())
        })
        .expect("read");
}

/// The reason for the length check in `kind_of`: flatbuffers asserts that
/// the payload is long enough, so a short (or empty) frame would panic a
/// dispatcher that trusted the stream.
#[test]
fn buffer_has_identifier_panics_on_short_payloads() {
    for short in [&[][..], &[1, 2, 3], &[8, 0, 0, 0, b'T', b'L', b'M']] {
        let result = std::panic::catch_unwind(|| {
            flatbuffers::buffer_has_identifier(short, telemetry::TELEMETRY_IDENTIFIER, false)
        });
        assert!(result.is_err(), "{short:?}");
        assert_eq!(kind_of(short), Kind::Unknown);
    }
}

/// Typed reading verifies structure, not identity: a `Control` whose fields
/// happen to line up with `Telemetry`'s (a timestamp, then a sensor id) passes
/// as a `Telemetry`. This is why mixed streams dispatch on the identifier
/// first.
#[test]
fn the_verifier_does_not_check_the_file_identifier() {
    let mut builder = FlatBufferBuilder::new();
    let root = control::Control::create(
        &mut builder,
        &control::ControlArgs {
            timestamp_ns: 42,
            sensor_id: 7,
            ..control::ControlArgs::default()
        },
    );
    control::finish_control_buffer(&mut builder, root);
    let mut writer =
        StreamWriter::new(Vec::new(), flatstream::DefaultFramer).allow_empty_payloads(true);
    writer.write_finished(&mut builder).expect("write");
    let bytes = writer.into_inner();

    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let mut seen = Vec::new();
    reader
        .process_typed::<telemetry::Telemetry>(|table| {
            seen.push((table.timestamp_ns(), table.sensor_id()));
            Ok(())
        })
        .expect("this Control verifies as a Telemetry");
    assert_eq!(seen, [(42, 7)]);

    // Its identifier says what it is.
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let payload = reader.read_message().expect("read").expect("a frame");
    assert_eq!(kind_of(payload), Kind::Control);
}

/// Most payloads of another type do not verify, but that is luck, not a
/// check: here the `Control`'s issuer string sits where a `Telemetry` has its
/// `f64` pressure.
#[test]
fn a_payload_of_another_type_usually_fails_verification() {
    let mut builder = FlatBufferBuilder::new();
    ControlMessage::sample(0).build_finished(&mut builder);
    let mut writer =
        StreamWriter::new(Vec::new(), flatstream::DefaultFramer).allow_empty_payloads(true);
    writer.write_finished(&mut builder).expect("write");
    let bytes = writer.into_inner();

    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let err = reader
        .process_typed::<telemetry::Telemetry>(|_| panic!("not a Telemetry"))
        .expect_err("verification fails");
    match err.kind() {
        flatstream::ErrorKind::Invalid { reason, .. } => {
            assert!(reason.contains("pressure_kpa"), "{reason}");
        }
        other => panic!("expected ErrorKind::Invalid, got {other:?}"),
    }
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    reader
        .process_typed::<control::Control>(|table| {
            assert_eq!(table.issuer(), Some("scheduler-0"));
            Ok(())
        })
        .expect("a valid Control");
}
