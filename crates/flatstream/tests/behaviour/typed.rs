//! Typed reading: `process_typed`, the `typed_messages` loop and the unchecked
//! path hand out roots of the generated `Telemetry` type, verified (or, on
//! the unchecked path, trusted). Also: verifier limits, what an invalid
//! payload reports and that reading goes on after it, early exit from the
//! typed loop, and no allocation per message once the buffer has grown.

use flatstream::flatbuffers::{FlatBufferBuilder, VerifierOptions};
use flatstream::{
    Deframer, ErrorKind, Framer, Position, RootType, StreamReader, StreamWriter, TypedMessages,
};

use crate::support::counting_alloc::allocations_in;
use crate::support::framers;
use crate::telemetry::{self, Reading, Telemetry, check, write_reading};

// `Telemetry` is local to this crate: `main.rs` implements `RootType` on it
// directly (once for the whole crate). The other way is through a marker, as
// a crate using another crate's generated code must.
flatstream::root_type!(pub(crate) TelemetryRoot => telemetry::Telemetry);

/// Readings `0..count`, framed by `F`, in simple mode.
fn stream_of<F: Framer + Default>(count: u64) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for i in 0..count {
        write_reading(&mut writer, &Reading::sample(i)).expect("write");
    }
    writer.into_inner()
}

/// The length of frame `i` of `stream_of::<F>(..)`: its header and payload.
fn frame_len<F: Framer + Default>(i: u64) -> u64 {
    let mut builder = FlatBufferBuilder::new();
    let root = Reading::sample(i).build(&mut builder);
    telemetry::finish_telemetry_buffer(&mut builder, root);
    (F::default().header_len() + builder.finished_data().len()) as u64
}

/// Readings 0 and 1, then a frame whose payload is not a FlatBuffer, then
/// readings 2 and 3: the bad frame is frame 2, at the returned offset.
fn stream_with_garbage_at_2<F: Framer + Default>() -> (Vec<u8>, u64) {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for i in 0..2 {
        write_reading(&mut writer, &Reading::sample(i)).expect("write");
    }
    let garbage_at = writer.bytes_written();
    writer.write_payload(&[0xFF; 24]).expect("write garbage");
    for i in 2..4 {
        write_reading(&mut writer, &Reading::sample(i)).expect("write");
    }
    (writer.into_inner(), garbage_at)
}

fn process_typed_yields_verified_roots<F: Framer + Default, D: Deframer + Default>() {
    let bytes = stream_of::<F>(200);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut next = 0;
    reader
        .process_typed::<Telemetry>(|table| {
            check(&Reading::sample(next), table).map_err(flatstream::Error::custom)?;
            next += 1;
            Ok(())
        })
        .expect("process_typed");
    assert_eq!(next, 200);
    assert_eq!(reader.offset(), bytes.len() as u64);
}

fn marker_root_reads_the_same<F: Framer + Default, D: Deframer + Default>() {
    let bytes = stream_of::<F>(20);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut ids = Vec::new();
    reader
        .process_typed::<TelemetryRoot>(|table| {
            ids.push(table.sensor_id());
            Ok(())
        })
        .expect("process_typed");
    let expected: Vec<u32> = (0..20).map(|i| Reading::sample(i).sensor_id).collect();
    assert_eq!(ids, expected);
}

fn typed_loop_yields_verified_roots<F: Framer + Default, D: Deframer + Default>() {
    let bytes = stream_of::<F>(100);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut messages = reader.typed_messages::<Telemetry>();
    let mut next = 0;
    while let Some(table) = messages.next().expect("next") {
        check(&Reading::sample(next), table).expect("the reading written");
        next += 1;
    }
    assert_eq!(next, 100);
    assert!(messages.next().expect("after the end").is_none());
}

fn typed_loop_breaks_early_and_resumes<F: Framer + Default, D: Deframer + Default>() {
    let bytes = stream_of::<F>(10);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut messages = reader.typed_messages::<Telemetry>();
    while let Some(table) = messages.next().expect("next") {
        if table.sequence() == 0 && table.sensor_id() == 3 {
            break;
        }
    }
    // Readings 0 to 3 were consumed, nothing after the one that stopped us.
    assert_eq!(reader.frames_read(), 4);
    let at: u64 = (0..4).map(frame_len::<F>).sum();
    assert_eq!(reader.offset(), at);

    let mut rest = Vec::new();
    reader
        .process_typed::<Telemetry>(|table| {
            rest.push(table.sensor_id());
            Ok(())
        })
        .expect("the rest");
    assert_eq!(rest, [4, 5, 6, 7, 8, 9]);
}

fn invalid_payload_is_positioned_and_skipped<F: Framer + Default, D: Deframer + Default>() {
    let (bytes, garbage_at) = stream_with_garbage_at_2::<F>();
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut ids = Vec::new();
    let err = reader
        .process_typed::<Telemetry>(|table| {
            ids.push(table.sensor_id());
            Ok(())
        })
        .expect_err("the garbage frame");
    assert_eq!(ids, [0, 1], "the frames before it were processed");
    match err.kind() {
        ErrorKind::Invalid { validator, reason } => {
            assert_eq!(*validator, "FlatBuffers verifier");
            assert!(
                reason.starts_with("not a valid Telemetry: "),
                "names the root type: {reason}"
            );
            assert!(!reason.contains('\n'), "one line: {reason:?}");
        }
        other => panic!("expected ErrorKind::Invalid, got {other:?}"),
    }
    assert_eq!(
        err.position(),
        Some(Position {
            offset: garbage_at,
            frame: 2
        })
    );
    assert!(err.is_resumable());
    // Recovery reports a refused payload as corruption; so does the error.
    assert!(err.is_corruption());
    assert!(
        err.to_string()
            .starts_with("payload rejected by FlatBuffers verifier: not a valid Telemetry: "),
        "{err}"
    );

    // The bad frame was consumed: reading again goes on after it.
    assert_eq!(reader.frames_read(), 3);
    reader
        .process_typed::<Telemetry>(|table| {
            ids.push(table.sensor_id());
            Ok(())
        })
        .expect("the frames after it");
    assert_eq!(ids, [0, 1, 2, 3]);
}

fn typed_loop_goes_on_after_an_invalid_payload<F: Framer + Default, D: Deframer + Default>() {
    let (bytes, garbage_at) = stream_with_garbage_at_2::<F>();
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut messages = reader.typed_messages::<Telemetry>();
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    loop {
        match messages.next() {
            Ok(Some(table)) => seen.push(table.sensor_id()),
            Ok(None) => break,
            Err(err) if err.is_resumable() => errors.push(err.position()),
            Err(err) => panic!("unexpected error: {err}"),
        }
    }
    assert_eq!(seen, [0, 1, 2, 3]);
    assert_eq!(
        errors,
        [Some(Position {
            offset: garbage_at,
            frame: 2
        })]
    );
}

#[allow(unsafe_code, reason = "the unchecked path under test")]
fn unchecked_path_reads_trusted_data<F: Framer + Default, D: Deframer + Default>() {
    let bytes = stream_of::<F>(200);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut next = 0;
    // SAFETY: `bytes` holds only `Telemetry` FlatBuffers, written just above
    // by flatc's generated code.
    unsafe {
        reader.process_typed_unchecked::<Telemetry>(|table| {
            check(&Reading::sample(next), table).map_err(flatstream::Error::custom)?;
            next += 1;
            Ok(())
        })
    }
    .expect("process_typed_unchecked");
    assert_eq!(next, 200);
}

macro_rules! typed_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            #[test]
            fn process_typed_yields_verified_roots() {
                super::process_typed_yields_verified_roots::<$framer, $deframer>();
            }
            #[test]
            fn marker_root_reads_the_same() {
                super::marker_root_reads_the_same::<$framer, $deframer>();
            }
            #[test]
            fn typed_loop_yields_verified_roots() {
                super::typed_loop_yields_verified_roots::<$framer, $deframer>();
            }
            #[test]
            fn typed_loop_breaks_early_and_resumes() {
                super::typed_loop_breaks_early_and_resumes::<$framer, $deframer>();
            }
            #[test]
            fn invalid_payload_is_positioned_and_skipped() {
                super::invalid_payload_is_positioned_and_skipped::<$framer, $deframer>();
            }
            #[test]
            fn typed_loop_goes_on_after_an_invalid_payload() {
                super::typed_loop_goes_on_after_an_invalid_payload::<$framer, $deframer>();
            }
            #[test]
            fn unchecked_path_reads_trusted_data() {
                super::unchecked_path_reads_trusted_data::<$framer, $deframer>();
            }
        }
    };
}

framers::for_each_framer_pair!(typed_tests);

/// Reads the first message of `bytes` (plain framing) with `options`.
fn first_with(bytes: &[u8], options: &VerifierOptions) -> flatstream::Result<u32> {
    let mut reader = StreamReader::new(bytes, flatstream::DefaultDeframer);
    let mut messages = reader.typed_messages_with::<Telemetry>(options.clone());
    assert_eq!(messages.options(), Some(options));
    Ok(messages.next()?.expect("one message").sensor_id())
}

fn invalid_reason(err: &flatstream::Error) -> &str {
    match err.kind() {
        ErrorKind::Invalid { reason, .. } => reason,
        other => panic!("expected ErrorKind::Invalid, got {other:?}"),
    }
}

#[test]
fn verifier_limits_apply() {
    let bytes = stream_of::<flatstream::DefaultFramer>(1);
    let payload_len =
        usize::try_from(frame_len::<flatstream::DefaultFramer>(0)).expect("small") - 4;
    let default = VerifierOptions::default();
    assert_eq!(first_with(&bytes, &default).expect("default limits"), 0);

    // A `Telemetry` is one table (its label and samples are a string and a
    // vector, not tables), one level deep.
    let one_table = VerifierOptions {
        max_tables: 1,
        max_depth: 1,
        ..default.clone()
    };
    first_with(&bytes, &one_table).expect("exactly at the limits");

    let no_table = VerifierOptions {
        max_tables: 0,
        ..default.clone()
    };
    let err = first_with(&bytes, &no_table).expect_err("max_tables = 0");
    assert_eq!(
        invalid_reason(&err),
        "not a valid Telemetry: Too many tables"
    );
    assert_eq!(
        err.position(),
        Some(Position {
            offset: 0,
            frame: 0
        })
    );

    let flat = VerifierOptions {
        max_depth: 0,
        ..default.clone()
    };
    let err = first_with(&bytes, &flat).expect_err("max_depth = 0");
    assert_eq!(
        invalid_reason(&err),
        "not a valid Telemetry: Nested table depth limit reached"
    );

    let small = VerifierOptions {
        max_apparent_size: payload_len / 2,
        ..default.clone()
    };
    let err = first_with(&bytes, &small).expect_err("max_apparent_size");
    assert_eq!(
        invalid_reason(&err),
        "not a valid Telemetry: Apparent size too large"
    );
    // The apparent size counts every range the verifier visits, some (the
    // vtable) more than once, so a payload needs a little more than its own
    // length.
    let threshold = (0..=2 * payload_len)
        .find(|&max_apparent_size| {
            let options = VerifierOptions {
                max_apparent_size,
                ..default.clone()
            };
            first_with(&bytes, &options).is_ok()
        })
        .expect("twice the payload is enough");
    // (168 bytes need 178 with flatbuffers 25.12.19.)
    assert!(
        (payload_len..2 * payload_len).contains(&threshold),
        "a payload of {payload_len} bytes needs max_apparent_size >= {threshold}"
    );
}

#[test]
fn process_typed_with_applies_its_limits_to_every_frame() {
    let bytes = stream_of::<flatstream::DefaultFramer>(3);
    let no_table = VerifierOptions {
        max_tables: 0,
        ..VerifierOptions::default()
    };
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let mut rejected = Vec::new();
    while reader.offset() < bytes.len() as u64 {
        let err = reader
            .process_typed_with::<Telemetry>(&no_table, |_| panic!("no root passes"))
            .expect_err("every frame is rejected");
        rejected.push(err.position().expect("positioned").frame);
    }
    assert_eq!(rejected, [0, 1, 2]);
}

#[test]
fn field_level_damage_is_caught_and_named() {
    // Without a checksum, a flipped byte inside the label reaches the
    // verifier, which names the field.
    let reading = Reading::sample(5);
    let bytes = stream_of::<flatstream::DefaultFramer>(6);
    let start: u64 = (0..5).map(frame_len::<flatstream::DefaultFramer>).sum();
    let mut damaged = bytes.clone();
    let frame = &mut damaged[usize::try_from(start).expect("small")..];
    let label_at = frame
        .windows(reading.label.len())
        .position(|w| w == reading.label.as_bytes())
        .expect("the label is in the frame");
    frame[label_at] = 0xFF; // not UTF-8

    let mut reader = StreamReader::new(damaged.as_slice(), flatstream::DefaultDeframer);
    let mut count = 0;
    let err = reader
        .process_typed::<Telemetry>(|_| {
            count += 1;
            Ok(())
        })
        .expect_err("the damaged label");
    assert_eq!(count, 5);
    assert_eq!(
        err.position(),
        Some(Position {
            offset: start,
            frame: 5
        })
    );
    let reason = invalid_reason(&err);
    assert!(reason.contains("Utf8 error"), "{reason}");
    assert!(
        reason.contains("while verifying table field `label`"),
        "{reason}"
    );
}

/// With a checksum, the same damage never reaches the verifier: the frame is
/// refused by its checksum first.
#[cfg(feature = "crc32")]
#[test]
fn checksum_is_checked_before_the_verifier() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};
    let bytes = stream_of::<ChecksumFramer<Crc32>>(1);
    let mut damaged = bytes.clone();
    *damaged.last_mut().expect("non-empty") ^= 0xFF;
    let mut reader = StreamReader::new(damaged.as_slice(), ChecksumDeframer::new(Crc32::new()));
    let err = reader
        .process_typed::<Telemetry>(|_| panic!("no root passes"))
        .expect_err("checksum mismatch");
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
}

#[test]
fn empty_and_short_payloads_are_invalid_not_panics() {
    let mut writer =
        StreamWriter::new(Vec::new(), flatstream::DefaultFramer).allow_empty_payloads(true);
    writer.write_payload(&[]).expect("empty");
    writer.write_payload(&[1, 2, 3]).expect("short");
    writer
        .write_payload(&[4, 0, 0, 0])
        .expect("an offset to nowhere");
    let bytes = writer.into_inner();
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let mut messages = reader.typed_messages::<Telemetry>();
    for frame in 0..3 {
        let err = messages.next().expect_err("not a FlatBuffer");
        assert_eq!(err.position().map(|p| p.frame), Some(frame));
        invalid_reason(&err);
    }
    assert!(messages.next().expect("clean end").is_none());
}

#[test]
fn errors_of_the_callback_stop_processing() {
    let bytes = stream_of::<flatstream::DefaultFramer>(5);
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let mut seen = 0;
    let err = reader
        .process_typed::<Telemetry>(|table| {
            seen += 1;
            if table.sensor_id() == 2 {
                return Err(flatstream::Error::custom("stop at sensor 2"));
            }
            Ok(())
        })
        .expect_err("the callback's error");
    assert_eq!(err.to_string(), "stop at sensor 2");
    assert_eq!(seen, 3);
    assert_eq!(reader.frames_read(), 3);
}

#[test]
fn typed_messages_is_debug() {
    let bytes = stream_of::<flatstream::DefaultFramer>(1);
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    let messages: TypedMessages<'_, Telemetry<'_>, _, _> = reader.typed_messages::<Telemetry>();
    let debug = format!("{messages:?}");
    assert!(debug.starts_with("TypedMessages {"), "{debug}");
    assert!(debug.contains("Telemetry"), "{debug}");
    assert!(debug.contains("options: None"), "{debug}");
}

/// `RootType` names the table for every lifetime at once: the type it is
/// implemented on carries none that matters.
#[test]
fn root_type_is_lifetime_free() {
    fn root_of<T: RootType>(payload: &[u8]) -> Option<T::Root<'_>> {
        flatstream::flatbuffers::root::<T::Root<'_>>(payload).ok()
    }
    let mut builder = FlatBufferBuilder::new();
    let root = Reading::sample(7).build(&mut builder);
    telemetry::finish_telemetry_buffer(&mut builder, root);
    let local = builder.finished_data().to_vec();
    let by_table = root_of::<Telemetry<'static>>(&local).expect("valid");
    let by_marker = root_of::<TelemetryRoot>(&local).expect("valid");
    assert_eq!(by_table.sensor_id(), 7);
    assert_eq!(by_marker.sensor_id(), 7);
}

// ---------------------------------------------------------------------------
// Zero allocations per message in the typed steady state, counted by the
// allocator of `support/counting_alloc.rs`.

/// Every field of a root, folded into a number, so that nothing is optimised
/// away and every accessor runs.
fn touch(table: Telemetry<'_>) -> u64 {
    let samples = table
        .samples()
        .map_or(0.0, |s| s.iter().map(f64::from).sum::<f64>());
    table.timestamp_ns()
        ^ u64::from(table.sensor_id())
        ^ table.sequence()
        ^ u64::from(table.temperature_c().to_bits())
        ^ table.pressure_kpa().to_bits()
        ^ u64::from(table.humidity_pct().to_bits())
        ^ u64::from(table.battery_v().to_bits())
        ^ u64::from(table.status().0)
        ^ table.label().map_or(0, |l| l.len() as u64)
        ^ samples.to_bits()
}

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations_in(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1);
}

fn typed_reading_allocates_nothing_per_message<F: Framer + Default, D: Deframer + Default>() {
    const WARM_UP: u64 = 500;
    let bytes = stream_of::<F>(2 * WARM_UP);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());

    let mut messages = reader.typed_messages::<Telemetry>();
    let mut acc = 0u64;
    for _ in 0..WARM_UP {
        acc ^= touch(messages.next().expect("next").expect("a root"));
    }
    let ((count, acc), allocations) = allocations_in(|| {
        let mut count = 0u64;
        while let Some(table) = messages.next().expect("next") {
            acc ^= touch(table);
            count += 1;
        }
        (count, acc)
    });
    assert_eq!(count, WARM_UP);
    assert_eq!(allocations, 0, "typed loop, steady state (acc {acc})");

    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut warm = 0u64;
    let mut messages = reader.typed_messages::<Telemetry>();
    for _ in 0..WARM_UP {
        warm ^= touch(messages.next().expect("next").expect("a root"));
    }
    let (result, allocations) = allocations_in(|| {
        reader.process_typed::<Telemetry>(|table| {
            warm ^= touch(table);
            Ok(())
        })
    });
    result.expect("process_typed");
    assert_eq!(allocations, 0, "process_typed, steady state (acc {warm})");
}

mod alloc_free {
    macro_rules! alloc_tests {
        ($name:ident, $framer:ty, $deframer:ty) => {
            mod $name {
                #[test]
                fn typed_reading_allocates_nothing_per_message() {
                    super::super::typed_reading_allocates_nothing_per_message::<$framer, $deframer>(
                    );
                }
            }
        };
    }

    crate::support::framers::for_each_framer_pair!(alloc_tests);
}
