//! `SliceReader`, for every framer pair of this build, against `StreamReader`
//! over the same bytes: the same payloads, positions and errors.
//!
//! - Payloads borrow the input slice (their pointers lie inside it), not the
//!   reader, so `collect::<Result<Vec<_>>>()` works and payloads outlive it.
//! - `positioned()` gives each frame the offset and index `StreamReader` is at
//!   when it reads that frame.
//! - A stream cut at every byte: the complete frames, then one
//!   `UnexpectedEof` at the partial frame (as `StreamReader` reports it),
//!   then `None` for good; a cut at a frame boundary is a clean end.
//! - A corrupted payload: with a checksum, an `Err` for that frame and the
//!   next frame after it; without, whatever `StreamReader` reads. Every
//!   single-byte change to a stream reads as it does through `StreamReader`.
//! - A bad length: one `FrameTooLarge`, then `None` (a fused iterator), where
//!   `StreamReader` repeats the error.
//! - Limits: `with_max_frame_len` and a deframer's own limit, as `StreamReader`.
//! - A validator's refusal skips the frame, as `StreamReader` does.
//! - Property: any payloads, a few bytes overwritten, a cut anywhere and any
//!   limit read the same through both.

use core::iter::FusedIterator;

use flatstream::{
    Deframer, DeframerExt, Error, ErrorKind, Framer, Position, Result, SizeValidator, SliceReader,
    StreamReader,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::framers;
use crate::support::streams::{Written, write_stream};

/// Payloads with an empty one, one whose length prefix starts with a zero
/// byte, and one larger than `StreamReader`'s 64 KiB read chunk.
fn payloads() -> Vec<Vec<u8>> {
    vec![
        b"alpha".to_vec(),
        Vec::new(),
        vec![0x5A; 256],
        (0..=254).collect(),
        (0..=250u8).cycle().take(70_000).collect(),
        b"last".to_vec(),
    ]
}

/// Small payloads, for tests that try every byte of the stream.
fn small_payloads() -> Vec<Vec<u8>> {
    vec![
        b"alpha".to_vec(),
        Vec::new(),
        vec![0x5A; 40],
        b"charlie".to_vec(),
    ]
}

/// One step of a read: a payload at its position, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Frame(Position, Vec<u8>),
    /// The error's kind (as `Debug`, since `ErrorKind` has no `PartialEq`)
    /// and position.
    Error(String, Option<Position>),
}

fn error_event(err: &Error) -> Event {
    Event::Error(format!("{:?}", err.kind()), err.position())
}

/// Whether a reader can go on after `err`: only a frame rejected whole (a
/// checksum mismatch, a validator's refusal) is skipped.
fn can_go_on(err: &Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::ChecksumMismatch { .. } | ErrorKind::Invalid { .. }
    )
}

/// More events than any stream here can give: a reader that keeps going
/// past it is stuck repeating itself.
const MAX_EVENTS: usize = 10_000;

/// Reads `bytes` through `StreamReader`: each payload with the reader's
/// position before it, each error, until a clean end or an error it cannot
/// go on after.
fn stream_events<D: Deframer>(bytes: &[u8], deframer: D, max: Option<usize>) -> Vec<Event> {
    let mut reader = StreamReader::new(bytes, deframer);
    if let Some(max) = max {
        reader = reader.with_max_frame_len(max);
    }
    let mut events = Vec::new();
    while events.len() < MAX_EVENTS {
        let before = Position {
            offset: reader.offset(),
            frame: reader.frames_read(),
        };
        match reader.read_message() {
            Ok(Some(payload)) => events.push(Event::Frame(before, payload.to_vec())),
            Ok(None) => return events,
            Err(err) => {
                events.push(error_event(&err));
                if !can_go_on(&err) {
                    return events;
                }
            }
        }
    }
    panic!("StreamReader did not end: {events:?}");
}

/// Reads `bytes` through `SliceReader::positioned` until `None`, then checks
/// that it stays `None`.
fn slice_events<D: Deframer>(bytes: &[u8], deframer: D, max: Option<usize>) -> Vec<Event> {
    let mut reader = SliceReader::new(bytes, deframer);
    if let Some(max) = max {
        reader = reader.with_max_frame_len(max);
    }
    let mut frames = reader.positioned();
    let mut events = Vec::new();
    for item in frames.by_ref().take(MAX_EVENTS) {
        events.push(match item {
            Ok((position, payload)) => Event::Frame(position, payload.to_vec()),
            Err(err) => error_event(&err),
        });
    }
    assert!(events.len() < MAX_EVENTS, "SliceReader did not end");
    for _ in 0..3 {
        assert!(frames.next().is_none(), "fused: None stays None");
    }
    events
}

/// Reads `bytes` both ways and checks that they agree; returns the events.
fn same_as_stream_reader<D: Deframer + Default>(bytes: &[u8], max: Option<usize>) -> Vec<Event> {
    let expected = stream_events(bytes, D::default(), max);
    let got = slice_events(bytes, D::default(), max);
    assert_eq!(got, expected);
    expected
}

/// The events of reading `w` whole: every frame at its position.
fn all_frames(w: &Written) -> Vec<Event> {
    w.payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| Event::Frame(w.position(i), payload.clone()))
        .collect()
}

fn is_checksummed<F: Framer + Default>() -> bool {
    F::default().header_len() > flatstream::wire::LENGTH_PREFIX_LEN
}

fn round_trip<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());

    let collected: Vec<&[u8]> = SliceReader::new(&w.bytes, D::default())
        .collect::<Result<Vec<_>>>()
        .expect("collect");
    assert_eq!(collected, w.payloads);

    let mut reader = SliceReader::new(&w.bytes, D::default());
    for (i, payload) in w.payloads.iter().enumerate() {
        assert_eq!(reader.offset(), w.starts[i]);
        assert_eq!(reader.frames_read(), i as u64);
        assert_eq!(reader.remaining(), &w.bytes[w.starts[i]..]);
        assert_eq!(
            reader.next().transpose().expect("frame"),
            Some(&payload[..])
        );
    }
    assert!(reader.next().is_none());
    assert_eq!(reader.offset(), w.bytes.len());
    assert_eq!(reader.frames_read(), w.payloads.len() as u64);
    assert!(reader.remaining().is_empty());

    assert_eq!(same_as_stream_reader::<D>(&w.bytes, None), all_frames(&w));

    // No frames at all.
    assert!(SliceReader::new(&[], D::default()).next().is_none());
    assert_eq!(same_as_stream_reader::<D>(&[], None), []);
}

/// The first payload of `bytes`: the reader is a temporary, the payload
/// outlives it, since it borrows `bytes`.
fn first_payload<D: Deframer + Default>(bytes: &[u8]) -> Option<&[u8]> {
    SliceReader::new(bytes, D::default()).next()?.ok()
}

fn payloads_borrow_the_input<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    let base = w.bytes.as_ptr() as usize;
    let frames = SliceReader::new(&w.bytes, D::default())
        .positioned()
        .collect::<Result<Vec<_>>>()
        .expect("collect");
    assert_eq!(frames.len(), w.payloads.len());
    for (i, (position, payload)) in frames.iter().enumerate() {
        assert_eq!(*position, w.position(i));
        let start = w.starts[i] + w.header_len;
        assert_eq!(
            payload.as_ptr() as usize - base,
            start,
            "payload {i} lies in the input, right after its header"
        );
        assert_eq!(payload.len(), w.starts[i + 1] - start);
    }
    assert_eq!(first_payload::<D>(&w.bytes), Some(&w.payloads[0][..]));
    let first = first_payload::<D>(&w.bytes).expect("a frame");
    assert_eq!(first.as_ptr() as usize - base, w.header_len);
}

fn positions_match_stream_reader<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    let mut stream = StreamReader::new(w.bytes.as_slice(), D::default());
    let mut slice = SliceReader::new(&w.bytes, D::default()).positioned();
    loop {
        let expected = Position {
            offset: stream.offset(),
            frame: stream.frames_read(),
        };
        match (stream.read_message().expect("stream"), slice.next()) {
            (Some(want), Some(got)) => {
                let (position, payload) = got.expect("slice");
                assert_eq!(position, expected);
                assert_eq!(payload, want);
            }
            (None, None) => break,
            (want, got) => panic!("StreamReader gave {want:?}, SliceReader {got:?}"),
        }
    }
    assert_eq!(stream.frames_read(), w.payloads.len() as u64);
}

fn every_cut<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&small_payloads());
    for cut in 0..=w.bytes.len() {
        let events = same_as_stream_reader::<D>(&w.bytes[..cut], None);

        // The complete frames, then a clean end at a boundary or one torn tail.
        let complete = w.complete_frames_in(cut);
        let mut expected = all_frames(&w);
        expected.truncate(complete);
        let start = w.starts[complete];
        if start != cut {
            let available = cut - start;
            let required = if available < w.header_len {
                w.header_len
            } else {
                w.starts[complete + 1] - start
            };
            let kind = ErrorKind::UnexpectedEof {
                available: available as u64,
                required: required as u64,
            };
            expected.push(Event::Error(
                format!("{kind:?}"),
                Some(w.position(complete)),
            ));
        }
        assert_eq!(events, expected, "cut at {cut}");
    }
}

fn torn_tail_once<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&small_payloads());
    let cut = w.starts[2] + w.header_len + 3;
    let mut frames = SliceReader::new(&w.bytes[..cut], D::default());
    assert!(frames.next().expect("frame 0").is_ok());
    assert!(frames.next().expect("frame 1").is_ok());
    let err = frames.next().expect("an error").expect_err("torn");
    assert!(err.is_unexpected_eof(), "{err:?}");
    assert_eq!(err.position(), Some(w.position(2)));
    assert!(frames.next().is_none());
    assert!(frames.next().is_none());
    // The reader stays at the partial frame.
    assert_eq!(frames.offset(), w.starts[2]);
    assert_eq!(frames.remaining(), &w.bytes[w.starts[2]..cut]);
}

fn corrupted_payload<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    for i in 0..w.payloads.len() {
        if w.payloads[i].is_empty() {
            continue;
        }
        let mut bytes = w.bytes.clone();
        bytes[w.starts[i] + w.header_len] ^= 0x20;
        let events = same_as_stream_reader::<D>(&bytes, None);

        let mut expected = all_frames(&w);
        if is_checksummed::<F>() {
            let Event::Error(kind, position) = &events[i] else {
                panic!("frame {i}: expected an error, got {:?}", events[i]);
            };
            assert!(kind.starts_with("ChecksumMismatch"), "{kind}");
            assert_eq!(*position, Some(w.position(i)));
            expected[i] = events[i].clone();
        } else {
            let mut payload = w.payloads[i].clone();
            payload[0] ^= 0x20;
            expected[i] = Event::Frame(w.position(i), payload);
        }
        assert_eq!(events, expected, "payload {i} corrupted");
    }
}

/// Every byte of a stream set to a few other values: `SliceReader` reads
/// exactly what `StreamReader` reads, whatever the damage.
fn every_single_byte_change<D: Deframer + Default, F: Framer + Default>() {
    let w = write_stream::<F>(&small_payloads());
    for at in 0..w.bytes.len() {
        for change in [0x01u8, 0x80, 0xFF] {
            let mut bytes = w.bytes.clone();
            bytes[at] ^= change;
            let events = same_as_stream_reader::<D>(&bytes, None);
            let frames_before = w.complete_frames_in(at);
            assert_eq!(events[..frames_before], all_frames(&w)[..frames_before]);
        }
        let mut bytes = w.bytes.clone();
        bytes[at] = 0;
        same_as_stream_reader::<D>(&bytes, None);
    }
}

fn bad_length<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&small_payloads());
    let prefix = w.starts[2]..w.starts[2] + 4;
    let mut bytes = w.bytes.clone();
    bytes[prefix.clone()].copy_from_slice(&u32::MAX.to_le_bytes());

    let events = same_as_stream_reader::<D>(&bytes, None);
    let mut expected = all_frames(&w);
    expected.truncate(2);
    let kind = ErrorKind::FrameTooLarge {
        declared: u64::from(u32::MAX),
        limit: flatstream::wire::DEFAULT_MAX_FRAME_LEN as u64,
    };
    expected.push(Event::Error(format!("{kind:?}"), Some(w.position(2))));
    assert_eq!(events, expected);

    // One error, then `None` for good: `StreamReader` would repeat the error.
    let mut frames = SliceReader::new(&bytes, D::default());
    assert!(frames.nth(1).expect("frame 1").is_ok());
    let err = frames.next().expect("an error").expect_err("bad length");
    assert!(err.is_corruption() && !err.is_resumable(), "{err:?}");
    assert_eq!(err.position(), Some(w.position(2)));
    assert!(frames.next().is_none());
    assert!(frames.next().is_none());
    assert_eq!(frames.offset(), w.starts[2]);
    fn fused<I: FusedIterator>(_: &I) {}
    fused(&frames);
    fused(&SliceReader::new(&bytes, D::default()).positioned());

    // A length that runs past the end of the stream is a torn tail there.
    let mut bytes = w.bytes.clone();
    bytes[prefix].copy_from_slice(&1000u32.to_le_bytes());
    let events = same_as_stream_reader::<D>(&bytes, None);
    assert_eq!(events[..2], all_frames(&w)[..2]);
    assert_eq!(events.len(), 3);
    assert!(
        matches!(&events[2], Event::Error(kind, Some(at))
            if kind.starts_with("UnexpectedEof") && *at == w.position(2)),
        "{:?}",
        events[2]
    );
}

fn max_frame_len<F: Framer + Default, D: Deframer + Default>() {
    let sizes = [10usize, 100, 10];
    let w = write_stream::<F>(&sizes.map(|n| vec![7u8; n]));
    let limited = |limit: u64| {
        let kind = ErrorKind::FrameTooLarge {
            declared: 100,
            limit,
        };
        let mut expected = all_frames(&w);
        expected.truncate(1);
        expected.push(Event::Error(format!("{kind:?}"), Some(w.position(1))));
        expected
    };

    // On the reader.
    assert_eq!(same_as_stream_reader::<D>(&w.bytes, Some(99)), limited(99));
    assert_eq!(
        same_as_stream_reader::<D>(&w.bytes, Some(100)),
        all_frames(&w)
    );

    // On the deframer, and the smaller of both wins.
    let read = |deframer_limit: usize, reader_limit: Option<usize>| {
        let expected = stream_events(&w.bytes, D::default().bounded(deframer_limit), reader_limit);
        let got = slice_events(&w.bytes, D::default().bounded(deframer_limit), reader_limit);
        assert_eq!(got, expected);
        got
    };
    assert_eq!(read(50, None), limited(50));
    assert_eq!(read(50, Some(60)), limited(50));
    assert_eq!(read(60, Some(50)), limited(50));
    assert_eq!(read(100, Some(1000)), all_frames(&w));

    // The limit holds before the payload is there: a bare header is enough.
    let header_only = &w.bytes[..w.starts[1] + 4];
    let mut frames = SliceReader::new(header_only, D::default()).with_max_frame_len(99);
    assert!(frames.next().expect("frame 0").is_ok());
    let err = frames.next().expect("an error").expect_err("too large");
    assert!(matches!(
        err.kind(),
        ErrorKind::FrameTooLarge {
            declared: 100,
            limit: 99
        }
    ));
    assert!(frames.next().is_none());
}

fn validator_refusal_skips_the_frame<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&payloads());
    let deframer = || D::default().validated(SizeValidator::new(1, 1000));
    let expected = stream_events(&w.bytes, deframer(), None);
    let got = slice_events(&w.bytes, deframer(), None);
    assert_eq!(got, expected);
    let refused: Vec<Option<Position>> = got
        .iter()
        .filter_map(|event| match event {
            Event::Error(kind, position) if kind.starts_with("Invalid") => Some(*position),
            _ => None,
        })
        .collect();
    assert_eq!(refused, [Some(w.position(1)), Some(w.position(4))]);
    assert_eq!(got.len(), w.payloads.len());
}

fn payload_lists() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let payload = prop_oneof![
        2 => Just(Vec::new()),
        6 => proptest::collection::vec(any::<u8>(), 1..=16),
        2 => proptest::collection::vec(any::<u8>(), 17..=300),
    ];
    proptest::collection::vec(payload, 0..=8)
}

/// `payloads` written with `F`, then damaged: each `(at, value)` edit sets
/// one byte, and the stream is cut at `cut`.
fn damaged<F: Framer + Default>(
    payloads: &[Vec<u8>],
    edits: &[(Index, u8)],
    cut: Index,
) -> Vec<u8> {
    let mut bytes = write_stream::<F>(payloads).bytes;
    if !bytes.is_empty() {
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = *value;
        }
    }
    let cut = cut.index(bytes.len() + 1);
    bytes.truncate(cut);
    bytes
}

macro_rules! slice_reader_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn round_trip_yields_every_payload_and_collects() {
                round_trip::<F, D>();
            }

            #[test]
            fn payloads_point_into_the_input_and_outlive_the_reader() {
                payloads_borrow_the_input::<F, D>();
            }

            #[test]
            fn positions_are_those_stream_reader_is_at() {
                positions_match_stream_reader::<F, D>();
            }

            #[test]
            fn stream_cut_at_every_byte_reads_as_through_stream_reader() {
                every_cut::<F, D>();
            }

            #[test]
            fn torn_tail_is_one_error_then_none() {
                torn_tail_once::<F, D>();
            }

            #[test]
            fn corrupted_payload_reads_as_through_stream_reader() {
                corrupted_payload::<F, D>();
            }

            #[test]
            fn every_single_byte_change_reads_as_through_stream_reader() {
                every_single_byte_change::<D, F>();
            }

            #[test]
            fn bad_length_is_one_error_then_none() {
                bad_length::<F, D>();
            }

            #[test]
            fn max_frame_len_of_reader_and_deframer_as_stream_reader() {
                max_frame_len::<F, D>();
            }

            #[test]
            fn validator_refusal_skips_the_frame_as_stream_reader() {
                validator_refusal_skips_the_frame::<F, D>();
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]

                /// Any payloads, a few bytes overwritten, a cut anywhere and
                /// an optional limit: the same events as `StreamReader`.
                #[test]
                fn damaged_stream_reads_as_through_stream_reader(
                    payloads in payload_lists(),
                    edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 0..=4),
                    cut in any::<Index>(),
                    max in proptest::option::of(0usize..=320),
                ) {
                    let bytes = damaged::<F>(&payloads, &edits, cut);
                    let expected = stream_events(&bytes, D::default(), max);
                    let got = slice_events(&bytes, D::default(), max);
                    prop_assert_eq!(got, expected);
                }
            }
        }
    };
}

framers::for_each_framer_pair!(slice_reader_tests);
