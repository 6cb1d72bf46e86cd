//! The adapters (`bounded`, `observed`, `validated`) and validators through
//! the facade, over every framer pair of this build, with real `Telemetry`
//! FlatBuffers:
//!
//! - stacks of adapters in several orders round-trip and leave the wire
//!   format unchanged; observers count the same frames on both sides;
//! - write-side validation refuses a payload before a byte reaches the sink;
//! - read-side validation runs after the checksum: a damaged payload is a
//!   checksum mismatch, an intact but unacceptable one is `Invalid`, named;
//! - boxed framings chosen at run time from a name behave like static ones;
//! - what the structural check (`RootTableValidator`) catches and what only
//!   the typed validator (flatc's `root_as_telemetry_with_opts`) catches.

use flatstream::flatbuffers::{FlatBufferBuilder, InvalidFlatbuffer, VerifierOptions};
use flatstream::{
    Deframer, DeframerExt, Error, ErrorKind, Framer, FramerExt, NoValidator, Position,
    RootTableValidator, SizeValidator, StreamReader, StreamWriter, TypedValidator, Validator,
};

use crate::support::framers;
use crate::telemetry::{
    self, Reading, TELEMETRY_IDENTIFIER, Telemetry, finish_telemetry_buffer,
    root_as_telemetry_with_opts,
};

/// Reading `i` of the deterministic capture, as a finished `Telemetry`
/// FlatBuffer.
fn telemetry_payload(i: u64) -> Vec<u8> {
    let mut builder = FlatBufferBuilder::new();
    let root = Reading::sample(i).build(&mut builder);
    finish_telemetry_buffer(&mut builder, root);
    builder.finished_data().to_vec()
}

/// The typed validator of the `Telemetry` schema, from flatc's generated
/// verifier, with its options captured by the closure.
fn typed_telemetry() -> TypedValidator<impl FnMut(&[u8]) -> Result<(), InvalidFlatbuffer> + Clone> {
    let options = VerifierOptions {
        max_apparent_size: 1 << 20,
        ..VerifierOptions::default()
    };
    TypedValidator::new("Telemetry", move |buf| {
        root_as_telemetry_with_opts(&options, buf).map(|_| ())
    })
}

/// The structural check with the `Telemetry` file identifier.
fn structural() -> RootTableValidator {
    RootTableValidator::new().with_identifier(TELEMETRY_IDENTIFIER)
}

/// The validators a telemetry reader or writer would stack: cheap first.
fn telemetry_validators() -> impl Validator + Clone {
    (
        SizeValidator::new(8, 1 << 16),
        structural(),
        typed_telemetry(),
    )
}

fn write_all<F: Framer>(framer: F, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), framer).allow_empty_payloads(true);
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
    }
    writer.into_inner()
}

/// Reads to a clean end; every payload, or the first error.
fn read_all<D: Deframer>(deframer: D, stream: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut reader = StreamReader::new(stream, deframer);
    let mut payloads = Vec::new();
    reader.process_all(|p| {
        payloads.push(p.to_vec());
        Ok(())
    })?;
    Ok(payloads)
}

/// Reads to a clean end, going on after resumable errors: each payload as
/// `Ok`, each error as `Err((kind, position))`.
fn read_events<D: Deframer>(
    deframer: D,
    stream: &[u8],
) -> Vec<Result<Vec<u8>, (ErrorKind, Position)>> {
    let mut reader = StreamReader::new(stream, deframer);
    let mut events = Vec::new();
    loop {
        match reader.read_message() {
            Ok(Some(p)) => events.push(Ok(p.to_vec())),
            Ok(None) => return events,
            Err(err) => {
                let resumable = err.is_resumable();
                let position = err.position().expect("reader errors have a position");
                events.push(Err((err.into_kind(), position)));
                assert!(resumable, "{:?}", events.last());
            }
        }
    }
}

fn at(offset: u64, frame: u64) -> Position {
    Position { offset, frame }
}

fn invalid_name(err: &ErrorKind) -> Option<&'static str> {
    match err {
        ErrorKind::Invalid { validator, .. } => Some(validator),
        _ => None,
    }
}

/// Tests that run once per framer pair.
macro_rules! adapter_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            fn framer() -> $framer {
                <$framer>::default()
            }

            fn deframer() -> $deframer {
                <$deframer>::default()
            }

            #[test]
            fn adapter_stacks_in_any_order_round_trip_and_keep_the_wire() {
                let payloads: Vec<Vec<u8>> = (0..40).map(telemetry_payload).collect();
                let expected = write_all(framer(), &payloads);
                let mut written = [0usize; 3];
                let [w0, w1, w2] = &mut written;
                let streams = [
                    write_all(
                        framer()
                            .bounded(1 << 16)
                            .observed(|_| *w0 += 1)
                            .validated(telemetry_validators()),
                        &payloads,
                    ),
                    write_all(
                        framer()
                            .validated(telemetry_validators())
                            .bounded(1 << 16)
                            .observed(|_| *w1 += 1),
                        &payloads,
                    ),
                    write_all(
                        framer()
                            .observed(|_| *w2 += 1)
                            .validated(structural())
                            .bounded(1 << 16)
                            .validated(typed_telemetry()),
                        &payloads,
                    ),
                ];
                assert_eq!(written, [payloads.len(); 3]);
                for stream in &streams {
                    assert_eq!(stream, &expected, "adapters do not change the wire");
                }

                let mut read = [0usize; 3];
                let [r0, r1, r2] = &mut read;
                let results = [
                    read_all(
                        deframer()
                            .bounded(1 << 16)
                            .observed(|_| *r0 += 1)
                            .validated(telemetry_validators()),
                        &expected,
                    ),
                    read_all(
                        deframer()
                            .validated(telemetry_validators())
                            .observed(|_| *r1 += 1)
                            .bounded(1 << 16),
                        &expected,
                    ),
                    read_all(
                        deframer()
                            .observed(|_| *r2 += 1)
                            .validated(typed_telemetry())
                            .bounded(1 << 16)
                            .validated(structural()),
                        &expected,
                    ),
                ];
                assert_eq!(read, [payloads.len(); 3]);
                for result in results {
                    assert_eq!(result.unwrap(), payloads);
                }
            }

            #[test]
            fn write_validation_refuses_before_any_byte_reaches_the_sink() {
                let mut observed = 0;
                let mut writer = StreamWriter::new(
                    Vec::new(),
                    framer()
                        .validated(telemetry_validators())
                        .observed(|_| observed += 1),
                )
                .allow_empty_payloads(true);
                // Raw payload: not a FlatBuffer.
                let err = writer.write_payload(b"not a flatbuffer").unwrap_err();
                assert_eq!(
                    invalid_name(err.kind()),
                    Some("RootTableValidator"),
                    "{err}"
                );
                assert_eq!(err.position(), Some(at(0, 0)));
                assert!(err.is_resumable());
                // Simple mode: a FlatBuffer of another type.
                let err = writer
                    .write_with(|builder| {
                        let start = builder.start_table();
                        let root = builder.end_table(start);
                        builder.finish(root, Some("XXXX"));
                        Ok(())
                    })
                    .unwrap_err();
                assert_eq!(
                    invalid_name(err.kind()),
                    Some("RootTableValidator"),
                    "{err}"
                );
                // Too small for the size validator.
                let err = writer.write_payload(&[1, 2, 3]).unwrap_err();
                assert_eq!(invalid_name(err.kind()), Some("SizeValidator"), "{err}");
                assert!(writer.get_ref().is_empty(), "nothing reached the sink");
                assert_eq!((writer.bytes_written(), writer.frames_written()), (0, 0));

                // The writer goes on: the next valid payload is frame 0.
                let good = telemetry_payload(7);
                writer.write_payload(&good).unwrap();
                let mut corrupt_child = good.clone();
                set_label_offset(&mut corrupt_child, 0x7FFF_0000);
                let err = writer.write_payload(&corrupt_child).unwrap_err();
                assert_eq!(invalid_name(err.kind()), Some("Telemetry"), "{err}");
                let frame_len = writer.bytes_written();
                assert_eq!(err.position(), Some(at(frame_len, 1)));
                let stream = writer.into_inner();
                assert_eq!(observed, 1, "the observer saw only what was written");
                assert_eq!(stream, write_all(framer(), &[good]));
            }

            #[test]
            fn read_validation_runs_after_the_checksum() {
                let payloads = vec![
                    telemetry_payload(0),
                    b"intact, but not a FlatBuffer".to_vec(),
                    telemetry_payload(1),
                    telemetry_payload(2),
                ];
                // A plain writer lets the bad payload through.
                let mut stream = write_all(framer(), &payloads);
                let header_len = framer().header_len() as u64;
                let offsets: Vec<u64> = payloads
                    .iter()
                    .scan(0, |offset, p| {
                        let start = *offset;
                        *offset += header_len + p.len() as u64;
                        Some(start)
                    })
                    .collect();
                // Damage the last frame's payload: a byte of its label.
                let label = label_range(&payloads[3]);
                let damaged = usize::try_from(offsets[3] + header_len).unwrap() + label.start;
                stream[damaged] = 0xFF;

                let (mut verified, mut valid) = (0, 0);
                let events = read_events(
                    deframer()
                        .observed(|_| verified += 1)
                        .validated(telemetry_validators())
                        .observed(|_| valid += 1),
                    &stream,
                );
                assert_eq!(events.len(), 4);
                assert_eq!(events[0].as_ref().ok(), Some(&payloads[0]));
                let Err((kind, position)) = &events[1] else {
                    panic!("{:?}", events[1])
                };
                assert_eq!(invalid_name(kind), Some("RootTableValidator"), "{kind}");
                assert_eq!(*position, at(offsets[1], 1));
                assert_eq!(events[2].as_ref().ok(), Some(&payloads[2]));
                let Err((kind, position)) = &events[3] else {
                    panic!("{:?}", events[3])
                };
                assert_eq!(*position, at(offsets[3], 3));
                let checksummed = header_len > 4;
                if checksummed {
                    // The checksum catches the damage; the validator never sees it.
                    assert!(matches!(kind, ErrorKind::ChecksumMismatch { .. }), "{kind}");
                    assert_eq!(verified, 3);
                } else {
                    // Without a checksum, only the typed validator notices.
                    assert_eq!(invalid_name(kind), Some("Telemetry"), "{kind}");
                    assert!(kind.to_string().contains("Utf8"), "{kind}");
                    assert_eq!(verified, 4);
                }
                assert_eq!(valid, 2);
            }

            #[test]
            fn limits_apply_through_every_stack() {
                let mut writer = StreamWriter::new(
                    Vec::new(),
                    framer()
                        .validated(NoValidator)
                        .bounded(100)
                        .observed(|_| {}),
                )
                .allow_empty_payloads(true);
                let err = writer.write_payload(&[0; 101]).unwrap_err();
                assert!(matches!(
                    err.kind(),
                    ErrorKind::FrameTooLarge {
                        declared: 101,
                        limit: 100
                    }
                ));
                writer.write_payload(&[0; 80]).unwrap();
                let stream = writer.into_inner();

                let mut seen = 0;
                let mut reader = StreamReader::new(
                    stream.as_slice(),
                    deframer()
                        .observed(|_| seen += 1)
                        .bounded(50)
                        .validated(NoValidator),
                )
                .with_max_frame_len(1000);
                let err = reader.read_message().unwrap_err();
                assert!(matches!(
                    err.kind(),
                    ErrorKind::FrameTooLarge {
                        declared: 80,
                        limit: 50
                    }
                ));
                drop(reader);
                assert_eq!(seen, 0);
            }

            #[test]
            fn boxed_adapters_and_adapters_over_boxes_round_trip() {
                let payloads: Vec<Vec<u8>> = (0..10).map(telemetry_payload).collect();
                let expected = write_all(framer(), &payloads);
                let boxed: Box<dyn Framer> =
                    Box::new(framer().bounded(1 << 16).validated(telemetry_validators()));
                assert_eq!(boxed.max_frame_len(), 1 << 16);
                assert_eq!(write_all(boxed, &payloads), expected);
                let over_box = (Box::new(framer()) as Box<dyn Framer + Send>)
                    .validated(typed_telemetry())
                    .bounded(1 << 16);
                assert_eq!(write_all(over_box, &payloads), expected);

                let boxed: Box<dyn Deframer> = Box::new(
                    deframer()
                        .validated(telemetry_validators())
                        .bounded(1 << 16),
                );
                assert_eq!(boxed.max_frame_len(), 1 << 16);
                assert_eq!(read_all(boxed, &expected).unwrap(), payloads);
                let over_box = (Box::new(deframer()) as Box<dyn Deframer + Send>)
                    .bounded(1 << 16)
                    .validated(structural());
                assert_eq!(read_all(over_box, &expected).unwrap(), payloads);
            }
        }
    };
}

framers::for_each_framer_pair!(adapter_tests);

type DynFraming = (Box<dyn Framer + Send>, Box<dyn Deframer + Send>);
type MakeFraming = fn() -> DynFraming;

/// The framings of this build, by the name a configuration file would use.
fn framings() -> Vec<(&'static str, MakeFraming)> {
    let mut list: Vec<(&'static str, MakeFraming)> = Vec::new();
    macro_rules! add {
        ($name:ident, $framer:ty, $deframer:ty) => {
            list.push((stringify!($name), || {
                (
                    Box::new(<$framer>::default()),
                    Box::new(<$deframer>::default()),
                )
            }));
        };
    }
    framers::for_each_framer_pair!(add);
    list
}

fn framing_by_name(name: &str) -> Option<DynFraming> {
    framings()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, make)| make())
}

#[test]
fn framing_chosen_at_run_time_from_a_name_round_trips() {
    let config = "# one framing per line\nplain\nxxhash64\ncrc32\ncrc16\n";
    let available: Vec<&str> = framings().iter().map(|(n, _)| *n).collect();
    assert!(available.contains(&"plain"));
    assert!(framing_by_name("sha256").is_none());
    let payloads: Vec<Vec<u8>> = (0..25).map(telemetry_payload).collect();
    let mut tried = 0;
    for name in config.lines().filter(|l| !l.starts_with('#')) {
        let Some((framer, deframer)) = framing_by_name(name) else {
            assert!(!available.contains(&name));
            continue;
        };
        tried += 1;
        let header_len = framer.header_len();
        // Adapters stack on the boxes, chosen at run time too.
        let mut written = 0;
        let stream = write_all(
            framer
                .validated(telemetry_validators())
                .observed(|_| written += 1),
            &payloads,
        );
        assert_eq!(written, payloads.len());
        assert_eq!(
            stream.len(),
            payloads.iter().map(|p| header_len + p.len()).sum::<usize>()
        );
        let mut read = 0;
        let result = read_all(
            deframer
                .bounded(1 << 16)
                .validated(telemetry_validators())
                .observed(|_| read += 1),
            &stream,
        );
        assert_eq!(result.unwrap(), payloads, "{name}");
        assert_eq!(read, payloads.len());
    }
    assert_eq!(tried, available.len());
}

// ---------------------------------------------------------------------------
// The structural check and the typed validator: what each catches.
// ---------------------------------------------------------------------------

fn u32_at(buf: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]])
}

/// The position of the root table's field at vtable offset `vt`.
fn field_position(buf: &[u8], vt: u16) -> usize {
    let root = u32_at(buf, 0) as usize;
    let soffset = i32::from_le_bytes(u32_at(buf, root).to_le_bytes());
    let vtable = root
        .checked_add_signed(-(soffset as isize))
        .expect("vtable");
    let vt = usize::from(vt);
    let field = u16::from_le_bytes([buf[vtable + vt], buf[vtable + vt + 1]]);
    assert_ne!(field, 0, "the field is present");
    root + usize::from(field)
}

/// Where the bytes of the `label` string lie in a `Telemetry` buffer.
fn label_range(buf: &[u8]) -> core::ops::Range<usize> {
    let field = field_position(buf, Telemetry::VT_LABEL);
    let string = field + u32_at(buf, field) as usize;
    let len = u32_at(buf, string) as usize;
    string + 4..string + 4 + len
}

/// Overwrites the offset from the `label` field to its string.
fn set_label_offset(buf: &mut [u8], offset: u32) {
    let field = field_position(buf, Telemetry::VT_LABEL);
    buf[field..field + 4].copy_from_slice(&offset.to_le_bytes());
}

/// Structural check, then typed validator, on one payload.
fn both(payload: &[u8]) -> (Result<(), ErrorKind>, Result<(), ErrorKind>) {
    (
        structural().validate(payload),
        typed_telemetry().validate(payload),
    )
}

/// Both checks accept `payload`.
fn assert_both_accept(payload: &[u8], what: &str) {
    let (structural, typed) = both(payload);
    assert!(structural.is_ok(), "{what}: {structural:?}");
    assert!(typed.is_ok(), "{what}: {typed:?}");
}

#[test]
fn structural_and_typed_checks_accept_every_real_telemetry_buffer() {
    for i in 0..2000 {
        assert_both_accept(&telemetry_payload(i), &format!("reading {i}"));
    }
    // Readings with no samples and no label: a different vtable shape.
    let mut builder = FlatBufferBuilder::new();
    let root = Telemetry::create(&mut builder, &telemetry::TelemetryArgs::default());
    finish_telemetry_buffer(&mut builder, root);
    assert_both_accept(builder.finished_data(), "an empty reading");
}

#[test]
fn structural_check_catches_a_garbage_root_offset() {
    let mut payload = telemetry_payload(3);
    payload[..4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let (structural, typed) = both(&payload);
    let err = structural.unwrap_err();
    assert_eq!(invalid_name(&err), Some("RootTableValidator"));
    assert!(err.to_string().contains("out of bounds"), "{err}");
    assert!(typed.is_err());
}

#[test]
fn structural_check_catches_a_buffer_cut_into_its_root_table() {
    let payload = telemetry_payload(3);
    let root = u32_at(&payload, 0) as usize;
    for len in [0, 3, 7, root, root + 2] {
        let (structural, typed) = both(&payload[..len]);
        assert_eq!(
            invalid_name(&structural.unwrap_err()),
            Some("RootTableValidator"),
            "cut at {len}"
        );
        assert!(typed.is_err());
    }
}

#[test]
fn structural_check_catches_a_vtable_out_of_bounds() {
    let mut payload = telemetry_payload(3);
    let root = u32_at(&payload, 0) as usize;
    payload[root..root + 4].copy_from_slice(&i32::MIN.to_le_bytes());
    let (structural, typed) = both(&payload);
    let err = structural.unwrap_err();
    assert!(err.to_string().contains("points out of bounds"), "{err}");
    assert!(typed.is_err());
}

#[test]
fn structural_check_catches_another_message_type_by_its_identifier() {
    let mut payload = telemetry_payload(3);
    payload[4..8].copy_from_slice(b"CTL1");
    let (structural, typed) = both(&payload);
    assert_eq!(
        structural.unwrap_err().to_string(),
        r#"payload rejected by RootTableValidator: file identifier is "CTL1", expected "TLM1""#
    );
    // flatc's verifier does not look at the identifier.
    assert!(typed.is_ok());
}

/// The structural check cannot see inside child objects: an offset from the
/// `label` field to its string, pointing far outside the buffer, passes it.
/// The typed validator follows the offset and refuses the buffer.
#[test]
fn structural_check_cannot_see_a_corrupt_child_offset_but_the_typed_validator_can() {
    let mut payload = telemetry_payload(3);
    set_label_offset(&mut payload, 0x7FFF_0000);
    let (structural, typed) = both(&payload);
    assert!(structural.is_ok(), "{structural:?}");
    let err = typed.unwrap_err();
    assert_eq!(invalid_name(&err), Some("Telemetry"));
    let message = err.to_string();
    assert!(message.contains("`label`"), "{message}");
    assert!(!message.contains('\n'), "one line: {message:?}");
}

/// The structural check cannot check field types: a string that is not
/// UTF-8 passes it. The typed validator knows `label` is a string.
#[test]
fn structural_check_cannot_see_a_bad_string_but_the_typed_validator_can() {
    let mut payload = telemetry_payload(3);
    let label = label_range(&payload);
    payload[label.start] = 0xFF;
    let (structural, typed) = both(&payload);
    assert!(structural.is_ok(), "{structural:?}");
    let err = typed.unwrap_err();
    assert!(err.to_string().contains("Utf8 error"), "{err}");
}

/// flatc's builder puts the root table near the front and what it points to
/// behind it, so cutting the tail spares the root table: the structural
/// check passes, the typed validator finds the string or vector cut off.
#[test]
fn structural_check_cannot_see_a_cut_that_spares_the_root_table() {
    let payload = telemetry_payload(3);
    let cut = &payload[..payload.len() - 8];
    let (structural, typed) = both(cut);
    assert!(structural.is_ok(), "{structural:?}");
    assert_eq!(invalid_name(&typed.unwrap_err()), Some("Telemetry"));
}

/// Without a file identifier neither check knows what type the root is: a
/// table of another schema with none of its fields set passes both (every
/// `Telemetry` field is optional). Only the identifier check refuses it.
#[test]
fn without_an_identifier_neither_check_knows_the_root_type() {
    let mut builder = FlatBufferBuilder::new();
    let start = builder.start_table();
    let root = builder.end_table(start);
    builder.finish_minimal(root);
    let payload = builder.finished_data();
    assert!(RootTableValidator::new().validate(payload).is_ok());
    assert!(typed_telemetry().validate(payload).is_ok());
    assert!(structural().validate(payload).is_err());
}
