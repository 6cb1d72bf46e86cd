//! Single-bit flips: every bit of a five-frame stream (one payload empty) is
//! flipped in turn, and the stream read to its first error or clean end.
//!
//! With a checksum (every checksum pair of this build), no flip yields a
//! payload that differs from what was written: every payload returned before
//! the first error is the one written at that index, and every flip ends in
//! an error at the flipped frame — a checksum mismatch for a flip in the
//! payload or in the checksum field, and for a flip in the length prefix a
//! mismatch, a torn tail or a length over the limit (the length is not
//! covered by the checksum; the exact counts are pinned below).
//!
//! With the plain framer, a flip in a payload goes unnoticed: the stream
//! reads to a clean end with exactly that payload differing in that bit (all
//! 192 payload bits). A flip in a length prefix desynchronises the reader:
//! the flipped frame never comes out as written; the reader either stops at
//! it (torn: the length now runs past the end; or over 2 GiB) or returns a
//! payload of the wrong length there and reads garbage after it. On this
//! stream all 160 length flips end in an error (22 of them after a wrong
//! payload); in general garbage can also read to a clean end with invented
//! frames (see `mismatched_framers.rs`). Never a panic.

use alloc::collections::BTreeMap;

use flatstream::{Deframer, ErrorKind, Framer, StreamReader, wire};

use crate::support::streams::{Written, read_until_error, write_stream};

fn payloads() -> Vec<Vec<u8>> {
    vec![
        b"alpha".to_vec(),
        Vec::new(),
        b"bravo!".to_vec(),
        vec![0xFF, 0x00, 0x55],
        b"delta-echo".to_vec(),
    ]
}

/// The header field a bit lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Length,
    Checksum,
    Payload,
}

/// How a read of a flipped stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Clean,
    ChecksumMismatch,
    FrameTooLarge,
    Torn,
}

/// What one flip did: where the bit was, whether any payload that differs
/// from the written one was returned, and how the read ended.
type Outcome = (Field, bool, End);

/// Frame index and field of byte `at` of `w`.
fn locate(w: &Written, at: usize) -> (usize, Field) {
    let frame = w.complete_frames_in(at);
    let within = at - w.starts[frame];
    let field = if within < wire::LENGTH_PREFIX_LEN {
        Field::Length
    } else if within < w.header_len {
        Field::Checksum
    } else {
        Field::Payload
    };
    (frame, field)
}

/// Flips every bit of the stream of `F`, checks what must hold for every
/// framer, and counts the outcomes.
fn sweep<F: Framer + Default, D: Deframer + Default>(
    mut check: impl FnMut(&Written, usize, &[u8], &[Vec<u8>], Option<&flatstream::Error>),
) -> BTreeMap<Outcome, usize> {
    let w = write_stream::<F>(&payloads());
    let mut counts = BTreeMap::new();
    let mut bytes = w.bytes.clone();
    for bit in 0..bytes.len() * 8 {
        let at = bit / 8;
        bytes[at] ^= 1 << (bit % 8);
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        let (got, err) = read_until_error(&mut reader);
        let (frame, field) = locate(&w, at);

        // Frames before the flipped one always come out as written.
        assert_eq!(
            got[..frame.min(got.len())],
            w.payloads[..frame.min(got.len())],
            "bit {bit}"
        );
        check(&w, bit, &bytes, &got, err.as_ref());

        let wrong = got
            .iter()
            .zip(&w.payloads)
            .any(|(got, written)| got != written)
            || got.len() > w.payloads.len()
            || (err.is_none() && got.len() != w.payloads.len());
        let end = match err.as_ref().map(|e| e.kind()) {
            None => End::Clean,
            Some(ErrorKind::ChecksumMismatch { .. }) => End::ChecksumMismatch,
            Some(ErrorKind::FrameTooLarge { .. }) => End::FrameTooLarge,
            Some(ErrorKind::UnexpectedEof { .. }) => End::Torn,
            Some(other) => panic!("bit {bit}: unexpected error {other:?}"),
        };
        *counts.entry((field, wrong, end)).or_insert(0) += 1;
        bytes[at] ^= 1 << (bit % 8);
    }
    assert_eq!(bytes, w.bytes);
    counts
}

fn plain_payload_flips_go_unnoticed_and_length_flips_desynchronise() {
    type F = flatstream::DefaultFramer;
    type D = flatstream::DefaultDeframer;
    let counts = sweep::<F, D>(|w, bit, bytes, got, err| {
        let at = bit / 8;
        let (frame, field) = locate(w, at);
        match field {
            Field::Payload => {
                // Undetected: a clean end, every frame, the flipped payload
                // differing in exactly that bit.
                assert!(err.is_none(), "bit {bit}: {err:?}");
                assert_eq!(got.len(), w.payloads.len(), "bit {bit}");
                for (i, (got, written)) in got.iter().zip(&w.payloads).enumerate() {
                    if i == frame {
                        let start = w.starts[frame] + w.header_len;
                        assert_eq!(got[..], bytes[start..w.starts[frame + 1]], "bit {bit}");
                        assert_ne!(got, written, "bit {bit}");
                    } else {
                        assert_eq!(got, written, "bit {bit}");
                    }
                }
            }
            Field::Length => {
                // The flipped frame never comes out as written: either an
                // error at it, or a payload of another length.
                match got.get(frame) {
                    None => assert_eq!(
                        err.and_then(flatstream::Error::position),
                        Some(w.position(frame)),
                        "bit {bit}"
                    ),
                    Some(payload) => assert_ne!(payload.len(), w.payloads[frame].len()),
                }
            }
            Field::Checksum => unreachable!("the plain framer has no checksum"),
        }
    });
    println!("plain: {counts:?}");

    let payload_bits: usize = payloads().iter().map(|p| 8 * p.len()).sum();
    let wrong_without_error: usize = counts
        .iter()
        .filter(|((_, wrong, end), _)| *wrong && *end == End::Clean)
        .map(|(_, n)| n)
        .sum();
    let payload_wrong_without_error = counts
        .get(&(Field::Payload, true, End::Clean))
        .copied()
        .unwrap_or(0);
    assert_eq!(payload_wrong_without_error, payload_bits);
    // Every payload flip is undetected, and nothing else happens to them.
    assert_eq!(
        counts
            .iter()
            .filter(|((field, _, _), _)| *field == Field::Payload)
            .map(|(_, n)| n)
            .sum::<usize>(),
        payload_bits
    );
    // Pinned: what the 160 length-prefix flips of this stream do.
    let length: BTreeMap<(bool, End), usize> = counts
        .iter()
        .filter(|((field, _, _), _)| *field == Field::Length)
        .map(|(&(_, wrong, end), &n)| ((wrong, end), n))
        .collect();
    assert_eq!(
        length.values().sum::<usize>(),
        8 * 5 * wire::LENGTH_PREFIX_LEN
    );
    assert_eq!(
        length,
        BTreeMap::from(PLAIN_LENGTH_OUTCOMES),
        "plain length flips"
    );
    assert_eq!(
        wrong_without_error,
        payload_bits + length.get(&(true, End::Clean)).copied().unwrap_or(0)
    );
}

/// What the length-prefix flips of the plain stream do: `((a wrong payload
/// was returned, how the read ended), flips)`. Bit 31 of a non-empty frame's length makes it over 2 GiB; of the empty
/// frame's, exactly 2 GiB (accepted, then torn). Other flips lengthen a frame
/// past the end (torn) or shorten it, returning a wrong payload and reading
/// garbage after it.
const PLAIN_LENGTH_OUTCOMES: [((bool, End), usize); 4] = [
    ((false, End::FrameTooLarge), 4),
    ((false, End::Torn), 134),
    ((true, End::FrameTooLarge), 1),
    ((true, End::Torn), 21),
];

#[test]
fn plain_framer_payload_flips_go_undetected_and_length_flips_desynchronise() {
    plain_payload_flips_go_unnoticed_and_length_flips_desynchronise();
}

/// The checksum pairs of this build.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
mod checksummed {
    use super::*;

    fn checksummed_flips_never_yield_a_wrong_payload<F: Framer + Default, D: Deframer + Default>(
        name: &str,
        expected_length_outcomes: [(End, usize); 3],
    ) {
        let counts = sweep::<F, D>(|w, bit, bytes, got, err| {
            let at = bit / 8;
            let (frame, field) = locate(w, at);
            // Nothing but written payloads, and an error at the flipped frame.
            assert_eq!(got, &w.payloads[..got.len()], "bit {bit}");
            let err = err.unwrap_or_else(|| panic!("bit {bit}: read to a clean end"));
            assert_eq!(got.len(), frame, "bit {bit}: {err:?}");
            assert_eq!(err.position(), Some(w.position(frame)), "bit {bit}");

            let checksum_field =
                w.starts[frame] + wire::LENGTH_PREFIX_LEN..w.starts[frame] + w.header_len;
            let stored = wire::read_le(&w.bytes[checksum_field.clone()]);
            match field {
                Field::Length => {}
                Field::Checksum => {
                    let flipped = wire::read_le(&bytes[checksum_field.clone()]);
                    assert_eq!(flipped, stored ^ (1u64 << (bit - 8 * checksum_field.start)));
                    assert!(
                        matches!(*err.kind(), ErrorKind::ChecksumMismatch { expected, computed, .. }
                            if expected == flipped && computed == stored),
                        "bit {bit}: {err:?}"
                    );
                }
                Field::Payload => {
                    let payload = &bytes[w.starts[frame] + w.header_len..w.starts[frame + 1]];
                    let mut reframed = Vec::new();
                    F::default()
                        .encode_into(payload, &mut reframed)
                        .expect("encode_into");
                    let computed = wire::read_le(&reframed[wire::LENGTH_PREFIX_LEN..w.header_len]);
                    assert!(
                        matches!(*err.kind(), ErrorKind::ChecksumMismatch { expected, computed: c, .. }
                            if expected == stored && c == computed),
                        "bit {bit}: {err:?}"
                    );
                }
            }
        });
        println!("{name}: {counts:?}");

        let w = write_stream::<F>(&payloads());
        let payload_bits: usize = payloads().iter().map(|p| 8 * p.len()).sum();
        let frames = payloads().len();
        let checksum_bits = 8 * frames * (w.header_len - wire::LENGTH_PREFIX_LEN);
        let length_bits = 8 * frames * wire::LENGTH_PREFIX_LEN;
        let mut expected = BTreeMap::from([
            ((Field::Payload, false, End::ChecksumMismatch), payload_bits),
            (
                (Field::Checksum, false, End::ChecksumMismatch),
                checksum_bits,
            ),
        ]);
        for (end, n) in expected_length_outcomes {
            if n > 0 {
                expected.insert((Field::Length, false, end), n);
            }
        }
        assert_eq!(counts, expected, "{name}");
        assert_eq!(
            counts.values().sum::<usize>(),
            payload_bits + checksum_bits + length_bits
        );
    }

    macro_rules! bit_flip_tests {
        ($name:ident, $framer:ty, $deframer:ty) => {
            mod $name {
                use super::*;

                #[test]
                fn no_single_bit_flip_yields_a_payload_that_differs_without_an_error() {
                    checksummed_flips_never_yield_a_wrong_payload::<$framer, $deframer>(
                        stringify!($name),
                        expected_length_outcomes::$name,
                    );
                }
            }
        };
    }

    /// What the length-prefix flips of each checksummed stream do:
    /// `(how the read ended, flips)`, all at the flipped frame.
    #[allow(non_upper_case_globals, reason = "named after the framer modules")]
    mod expected_length_outcomes {
        use super::super::End;

        // Of the 160 length bits: bit 31 of the four non-empty frames is over
        // 2 GiB; flips that lengthen a frame past the end of the stream are torn;
        // the rest shorten a frame or lengthen it into the next one's bytes, and
        // its checksum no longer matches.
        #[cfg(feature = "xxhash")]
        pub(super) const xxhash64: [(End, usize); 3] = [
            (End::ChecksumMismatch, 26),
            (End::FrameTooLarge, 4),
            (End::Torn, 130),
        ];
        #[cfg(feature = "crc32")]
        pub(super) const crc32: [(End, usize); 3] = [
            (End::ChecksumMismatch, 24),
            (End::FrameTooLarge, 4),
            (End::Torn, 132),
        ];
        #[cfg(feature = "crc16")]
        pub(super) const crc16: [(End, usize); 3] = [
            (End::ChecksumMismatch, 24),
            (End::FrameTooLarge, 4),
            (End::Torn, 132),
        ];
    }

    crate::support::framers::for_each_checksum_framer_pair!(bit_flip_tests);
}
