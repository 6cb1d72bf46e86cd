//! Typed reading bounds the verifier's work by the payload's size by default.
//!
//! A FlatBuffer can point at one object many times: a ~540 KB buffer whose
//! root is a vector of 4,000 offsets to one 512 KiB string has an "apparent
//! size" (what the verifier visits) of 2 GB, just under the flatbuffers
//! default limit of 2 GiB, so the verifier's defaults accept it after
//! checking the string 4,000 times. Typed reading's default options
//! (`verifier_options_for`) allow `APPARENT_SIZE_FACTOR` times the payload:
//!
//! - `process_typed`, `typed_messages` and `SliceReader::typed` refuse that
//!   buffer with `ErrorKind::Invalid` (apparent size), positioned at its
//!   frame, and go on with the next frame;
//! - `process_typed_with(&VerifierOptions::default(), ..)` (and the other
//!   `_with` forms) accept it;
//! - no false refusals: telemetry payloads, and a buffer that shares one
//!   1 KiB string ten times, pass with the defaults; sharing stays accepted
//!   up to the factor and is refused above it.
//!
//! No timings are asserted.

use flatstream::flatbuffers::{FlatBufferBuilder, ForwardsUOffset, Vector, VerifierOptions};
use flatstream::{
    APPARENT_SIZE_FACTOR, Deframer, Error, ErrorKind, Framer, Position, RootType, SliceReader,
    StreamReader, StreamWriter,
};

use crate::support::framers;
use crate::telemetry::{Reading, Telemetry, check, write_reading};

/// A FlatBuffer whose root is a vector of strings.
enum Strings {}

impl RootType for Strings {
    type Root<'buf> = Vector<'buf, ForwardsUOffset<&'buf str>>;
}

/// The length of the shared string of the hostile buffer.
const HUGE_STRING: usize = 512 * 1024;
/// How many times the hostile buffer refers to it.
const HUGE_COPIES: usize = 4_000;

/// A buffer whose root is a vector of `copies` offsets to one string of
/// `string_len` bytes.
fn shared_strings(copies: usize, string_len: usize) -> Vec<u8> {
    let mut builder = FlatBufferBuilder::with_capacity(string_len + 4 * copies + 64);
    let text: String = (0..string_len)
        .map(|i| char::from(b"abcdefghijklmnopqrstuvwxyz"[i % 26]))
        .collect();
    let shared = builder.create_string(&text);
    let offsets = vec![shared; copies];
    let root = builder.create_vector(&offsets);
    builder.finish_minimal(root);
    builder.finished_data().to_vec()
}

/// The hostile buffer: ~540 KB, an apparent size of ~2 GB.
fn hostile() -> Vec<u8> {
    let payload = shared_strings(HUGE_COPIES, HUGE_STRING);
    assert!(
        (HUGE_STRING..HUGE_STRING + 32 * 1024).contains(&payload.len()),
        "{} bytes",
        payload.len()
    );
    payload
}

/// `payloads` framed by `F`.
fn framed<F: Framer + Default>(payloads: &[&[u8]]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    for payload in payloads {
        writer.write_payload(payload).expect("write");
    }
    writer.into_inner()
}

/// A small, legitimate strings buffer: what follows the hostile one in the
/// streams here, to show that reading goes on after the refusal.
fn small() -> Vec<u8> {
    shared_strings(3, 5)
}

/// Checks that `err` is the verifier refusing the apparent size of frame 0.
fn expect_apparent_size_refusal(err: &Error) {
    match err.kind() {
        ErrorKind::Invalid { validator, reason } => {
            assert_eq!(*validator, "FlatBuffers verifier");
            assert!(
                reason.to_lowercase().contains("apparent size"),
                "refused for the apparent size: {reason}"
            );
        }
        other => panic!("expected ErrorKind::Invalid, got {other:?}"),
    }
    assert_eq!(
        err.position(),
        Some(Position {
            offset: 0,
            frame: 0
        })
    );
    assert!(err.is_resumable());
}

/// Checks a root read from the small buffer.
fn is_small(root: Vector<'_, ForwardsUOffset<&str>>) -> bool {
    root.len() == 3 && root.iter().all(|s| s == "abcde")
}

fn defaults_refuse_shared_string_bomb<F: Framer + Default, D: Deframer + Default>() {
    let hostile = hostile();
    let small = small();
    let bytes = framed::<F>(&[&hostile, &small]);

    // process_typed: refused, then the next frame is read.
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut seen = 0;
    let err = reader
        .process_typed::<Strings>(|_| {
            seen += 1;
            Ok(())
        })
        .expect_err("refused by default");
    expect_apparent_size_refusal(&err);
    assert_eq!(seen, 0);
    reader
        .process_typed::<Strings>(|root| {
            assert!(is_small(root));
            seen += 1;
            Ok(())
        })
        .expect("the frame after it");
    assert_eq!(seen, 1);

    // typed_messages: the same.
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut messages = reader.typed_messages::<Strings>();
    let err = messages.next().map(|_| ()).expect_err("refused by default");
    expect_apparent_size_refusal(&err);
    assert!(
        messages
            .next()
            .expect("the frame after it")
            .is_some_and(is_small)
    );
    assert!(messages.next().expect("the end").is_none());

    // SliceReader::typed: the same.
    let mut roots = SliceReader::new(&bytes, D::default()).typed::<Strings>();
    let err = roots
        .next()
        .expect("an item")
        .map(|_| ())
        .expect_err("refused");
    expect_apparent_size_refusal(&err);
    assert!(roots.next().expect("an item").expect("small").len() == 3);
    assert!(roots.next().is_none());
}

/// The refusal is typed reading's default, not the verifier's: with the
/// flatbuffers defaults the same buffer is accepted, through every reader.
#[test]
fn verifier_defaults_accept_the_shared_string_buffer() {
    type F = flatstream::DefaultFramer;
    type D = flatstream::DefaultDeframer;
    let hostile = hostile();
    let bytes = framed::<F>(&[&hostile]);
    let defaults = VerifierOptions::default();
    let check_root = |root: Vector<'_, ForwardsUOffset<&str>>| {
        assert_eq!(root.len(), HUGE_COPIES);
        for i in [0, HUGE_COPIES / 2, HUGE_COPIES - 1] {
            let s = root.get(i);
            assert_eq!(s.len(), HUGE_STRING);
            assert!(s.starts_with("abcdefghijklmnopqrstuvwxyzabc"));
        }
    };

    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut seen = 0;
    reader
        .process_typed_with::<Strings>(&defaults, |root| {
            check_root(root);
            seen += 1;
            Ok(())
        })
        .expect("accepted with VerifierOptions::default()");
    assert_eq!(seen, 1);

    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut messages = reader.typed_messages_with::<Strings>(defaults.clone());
    check_root(messages.next().expect("accepted").expect("a root"));
    assert!(messages.next().expect("the end").is_none());

    let roots: Vec<_> = SliceReader::new(&bytes, D::default())
        .typed_with::<Strings>(defaults)
        .collect::<flatstream::Result<_>>()
        .expect("accepted");
    assert_eq!(roots.len(), 1);
    check_root(roots[0]);
}

fn telemetry_passes_with_defaults<F: Framer + Default, D: Deframer + Default>() {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    // Readings with the fewest and the most samples, and a long label.
    let mut readings: Vec<Reading> = (0..50).map(Reading::sample).collect();
    readings.push(Reading::sample_with_len(50, 0));
    readings.push(Reading::sample_with_len(51, 4096));
    let mut long = Reading::sample(52);
    long.label = "x".repeat(10_000);
    readings.push(long);
    for reading in &readings {
        write_reading(&mut writer, reading).expect("write");
    }
    let bytes = writer.into_inner();

    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut next = 0;
    reader
        .process_typed::<Telemetry>(|table| {
            check(&readings[next], table).map_err(Error::custom)?;
            next += 1;
            Ok(())
        })
        .expect("no false refusal");
    assert_eq!(next, readings.len());

    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let mut messages = reader.typed_messages::<Telemetry>();
    let mut next = 0;
    while let Some(table) = messages.next().expect("no false refusal") {
        check(&readings[next], table).expect("the reading written");
        next += 1;
    }
    assert_eq!(next, readings.len());

    let tables: Vec<Telemetry<'_>> = SliceReader::new(&bytes, D::default())
        .typed::<Telemetry>()
        .collect::<flatstream::Result<_>>()
        .expect("no false refusal");
    assert_eq!(tables.len(), readings.len());
    for (reading, table) in readings.iter().zip(tables) {
        check(reading, table).expect("the reading written");
    }
}

/// Reads `payload` framed by `F` with each default typed reader; returns
/// whether each accepted it (all three must agree).
fn accepted_by_defaults<F: Framer + Default, D: Deframer + Default>(payload: &[u8]) -> bool {
    let bytes = framed::<F>(&[payload]);
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let by_process = reader.process_typed::<Strings>(|_| Ok(())).is_ok();
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    let by_messages = reader.typed_messages::<Strings>().next().is_ok();
    let by_slice = SliceReader::new(&bytes, D::default())
        .typed::<Strings>()
        .all(|item| item.is_ok());
    assert_eq!(
        (by_process, by_messages),
        (by_slice, by_slice),
        "the typed readers disagree"
    );
    by_slice
}

fn legitimate_sharing_passes_with_defaults<F: Framer + Default, D: Deframer + Default>() {
    // Ten references to one 1 KiB string.
    let payload = shared_strings(10, 1024);
    assert!(accepted_by_defaults::<F, D>(&payload));
    let bytes = framed::<F>(&[&payload]);
    let roots: Vec<_> = SliceReader::new(&bytes, D::default())
        .typed::<Strings>()
        .collect::<flatstream::Result<_>>()
        .expect("accepted");
    assert_eq!(roots[0].len(), 10);
    assert!(roots[0].iter().all(|s| s.len() == 1024));

    // Sharing up to the factor passes; above it, it is refused. A 100 KB
    // string: the payload is just over 100 KB, the budget just over 800 KB.
    let below = shared_strings(APPARENT_SIZE_FACTOR - 1, 100_000);
    assert!(
        accepted_by_defaults::<F, D>(&below),
        "{} references",
        APPARENT_SIZE_FACTOR - 1
    );
    let above = shared_strings(APPARENT_SIZE_FACTOR + 1, 100_000);
    assert!(
        !accepted_by_defaults::<F, D>(&above),
        "{} references",
        APPARENT_SIZE_FACTOR + 1
    );
}

macro_rules! typed_limits_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn defaults_refuse_a_buffer_that_shares_one_string_4000_times() {
                defaults_refuse_shared_string_bomb::<F, D>();
            }

            #[test]
            fn telemetry_passes_with_the_defaults() {
                telemetry_passes_with_defaults::<F, D>();
            }

            #[test]
            fn legitimate_sharing_passes_with_the_defaults() {
                legitimate_sharing_passes_with_defaults::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(typed_limits_tests);
