//! What happens when a stream is read with the wrong deframer, asserted
//! precisely on concrete streams so the documentation can quote it.
//!
//! The seed wire format has no magic number and no framing identifier, so a
//! reader cannot recognise a stream of the wrong kind. In short:
//!
//! - A plain `DefaultDeframer` on a checksummed stream does not fail cleanly:
//!   it returns the checksum bytes as the start of the first payload, then
//!   takes payload bytes for the next length. Depending on those bytes it
//!   reports a torn tail or a frame over the limit, or — for zero-filled
//!   payloads and checksums of 4 or 8 bytes — reads the whole stream to a
//!   clean end, inventing empty frames. (CRC-16/XMODEM of zeros is 0, so its
//!   "shifted" first payload of a zero-filled stream even equals the written
//!   one.) It never panics.
//! - A `ChecksumDeframer` on a plain stream takes payload bytes for the
//!   checksum and reports a mismatch, a torn tail or a frame over the limit
//!   for the concrete streams below. It is not a guarantee: an empty payload
//!   followed by zero bytes passes CRC-16 and CRC-32 (their checksum of no
//!   bytes is 0), and payload bytes can be crafted, or happen, to match.
//! - A checksum deframer on another algorithm's stream: the same, errors for
//!   real payloads, phantom empty frames for zero-filled headers.

use flatstream::{
    Decoded, DefaultFramer, Deframer, ErrorKind, Framer, Position, StreamReader, StreamWriter,
    decode,
};
use proptest::prelude::*;

// Only the checksum scenarios read with the plain deframer by name.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
use flatstream::DefaultDeframer;

use crate::support::framers;

fn write_with<F: Framer>(framer: F, payloads: &[&[u8]]) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), framer).allow_empty_payloads(true);
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
    }
    writer.into_inner()
}

/// How a read to the end went: each payload or error in order. Reading goes
/// on after a checksum mismatch (the frame was consumed) and stops at any
/// other error or at a clean end.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Payload(Vec<u8>),
    Mismatch {
        expected: u64,
        computed: u64,
        at: Position,
    },
    Eof {
        available: u64,
        required: u64,
        at: Position,
    },
    TooLarge {
        declared: u64,
        limit: u64,
        at: Position,
    },
    CleanEnd,
}

fn at(offset: u64, frame: u64) -> Position {
    Position { offset, frame }
}

/// Reads `bytes` to the end with `deframer`, checking the reader's
/// bookkeeping on the way: every payload is the slice its frame header
/// announces at the reader's offset, and errors are positioned there.
fn read_events<D: Deframer + Clone>(bytes: &[u8], deframer: D, limit: usize) -> Vec<Event> {
    let header_len = deframer.header_len();
    let mut check = deframer.clone();
    let mut reader = StreamReader::new(bytes, deframer).with_max_frame_len(limit);
    let mut events = Vec::new();
    // Each payload or mismatch consumes at least a header, so this bounds the loop.
    for _ in 0..=bytes.len() / header_len + 1 {
        let offset = usize::try_from(reader.offset()).expect("fits");
        let here = at(reader.offset(), reader.frames_read());
        let event = match reader.read_message() {
            Ok(Some(payload)) => {
                let frame_len = header_len + payload.len();
                assert_eq!(
                    decode(&mut check, &bytes[offset..], limit).ok(),
                    Some(Decoded::Frame {
                        payload_start: header_len,
                        frame_len
                    })
                );
                assert_eq!(payload, &bytes[offset + header_len..offset + frame_len]);
                Event::Payload(payload.to_vec())
            }
            Ok(None) => {
                assert_eq!(offset, bytes.len());
                Event::CleanEnd
            }
            Err(err) => {
                assert_eq!(err.position(), Some(here), "{err}");
                match *err.kind() {
                    ErrorKind::ChecksumMismatch {
                        expected, computed, ..
                    } => Event::Mismatch {
                        expected,
                        computed,
                        at: here,
                    },
                    ErrorKind::UnexpectedEof {
                        available,
                        required,
                    } => {
                        assert_eq!(offset as u64 + available, bytes.len() as u64);
                        Event::Eof {
                            available,
                            required,
                            at: here,
                        }
                    }
                    ErrorKind::FrameTooLarge { declared, limit } => {
                        // The reader stays at the bad length.
                        assert_eq!(reader.offset(), here.offset);
                        Event::TooLarge {
                            declared,
                            limit,
                            at: here,
                        }
                    }
                    _ => panic!("unexpected error {err:?}"),
                }
            }
        };
        let last = !matches!(event, Event::Payload(_) | Event::Mismatch { .. });
        events.push(event);
        if last {
            return events;
        }
    }
    panic!("the reader did not come to an end: {events:?}");
}

const LIMIT: usize = flatstream::wire::DEFAULT_MAX_FRAME_LEN;

/// A frame limit over every payload `payload_lists` makes (300 bytes at
/// most), far under [`LIMIT`]: what it refuses is a misread length.
const SMALL_LIMIT: usize = 1024;

// --- (a) DefaultDeframer on a checksummed stream ---------------------------

/// The plain reader takes the `C::SIZE` checksum bytes as the start of the
/// payload, returns a payload of the right length but the wrong bytes, then
/// reads four payload bytes as the next length.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn plain_reader_on_checksummed_text<F: Framer>(framer: F, checksum: &[u8], garbage_len: u32) {
    let n = checksum.len();
    let bytes = write_with(framer, &[b"hello, world", b"second"]);
    let mut first = checksum.to_vec();
    first.extend_from_slice(&b"hello, world"[..12 - n]);
    // The garbage length is the four bytes after the 16 the plain reader took.
    assert_eq!(&bytes[16..20], &garbage_len.to_le_bytes());
    assert_eq!(
        read_events(&bytes, DefaultDeframer, LIMIT),
        [
            Event::Payload(first),
            Event::Eof {
                available: bytes.len() as u64 - 16,
                required: 4 + u64::from(garbage_len),
                at: at(16, 1)
            },
        ]
    );
    // With a sane limit the garbage length is refused up front instead.
    assert_eq!(
        read_events(&bytes, DefaultDeframer, 1024)[1],
        Event::TooLarge {
            declared: u64::from(garbage_len),
            limit: 1024,
            at: at(16, 1)
        }
    );
}

/// Two 12-byte zero payloads with a 4- or 8-byte checksum: the plain reader
/// reads the checksummed stream to a clean end, returning each payload with
/// the checksum in front and inventing one empty frame per 4 zero bytes left
/// over. No error at all.
#[cfg(any(feature = "xxhash", feature = "crc32"))]
fn plain_reader_on_checksummed_zeros_invents_empty_frames<F: Framer>(
    framer: F,
    checksum_of_12_zeros: &[u8],
) {
    let n = checksum_of_12_zeros.len();
    assert!(n == 4 || n == 8);
    let bytes = write_with(framer, &[&[0; 12], &[0; 12]]);
    let mut shifted = checksum_of_12_zeros.to_vec();
    shifted.resize(12, 0);
    let mut expected = Vec::new();
    for _ in 0..2 {
        expected.push(Event::Payload(shifted.clone()));
        for _ in 0..n / 4 {
            expected.push(Event::Payload(Vec::new()));
        }
    }
    expected.push(Event::CleanEnd);
    assert_eq!(read_events(&bytes, DefaultDeframer, LIMIT), expected);
}

// --- (b) ChecksumDeframer on a plain stream ---------------------------------

/// The plain stream `[5]hello[6]world!`, 19 bytes.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn plain_hello_world() -> Vec<u8> {
    let bytes = write_with(DefaultFramer, &[b"hello", b"world!"]);
    assert_eq!(bytes.len(), 19);
    bytes
}

/// A plain stream of four empty payloads: 16 zero bytes.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn plain_empties() -> Vec<u8> {
    let bytes = write_with(DefaultFramer, &[b"", b"", b"", b""]);
    assert_eq!(bytes, [0; 16]);
    bytes
}

/// A plain stream crafted to fool a checksum reader: the first payload starts
/// with the checksum of what the checksum reader will take as its payload
/// (the rest of the plain payload and the first `n` bytes after it). Returns
/// the stream and the payload the checksum reader will return, which the
/// writer never wrote.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn crafted_plain_stream(checksum: impl Fn(&[u8]) -> u64, n: usize) -> (Vec<u8>, Vec<u8>) {
    let body = b"spoofed!";
    let next: &[u8] = b"next frame";
    let mut after = u32::try_from(next.len())
        .expect("fits")
        .to_le_bytes()
        .to_vec();
    after.extend_from_slice(next);
    let mut seen = body.to_vec();
    seen.extend_from_slice(&after[..n]);
    let mut first = checksum(&seen).to_le_bytes()[..n].to_vec();
    first.extend_from_slice(body);
    (write_with(DefaultFramer, &[&first, next]), seen)
}

// --- proptest helpers --------------------------------------------------------

fn payload_lists() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let payload = prop_oneof![
        3 => Just(Vec::new()),
        6 => proptest::collection::vec(any::<u8>(), 1..=16),
        3 => proptest::collection::vec(any::<u8>(), 17..=300),
        1 => proptest::collection::vec(prop_oneof![Just(0u8), Just(0xFF), any::<u8>()], 0..=64),
    ];
    proptest::collection::vec(payload, 0..=16)
}

fn as_slices(payloads: &[Vec<u8>]) -> Vec<&[u8]> {
    payloads.iter().map(Vec::as_slice).collect()
}

/// The same payloads written with every framer of this build.
fn every_framing(payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let slices = as_slices(payloads);
    #[cfg_attr(
        not(any(feature = "xxhash", feature = "crc32", feature = "crc16")),
        allow(unused_mut)
    )]
    let mut streams = vec![write_with(DefaultFramer, &slices)];
    #[cfg(feature = "xxhash")]
    streams.push(write_with(
        flatstream::ChecksumFramer::new(flatstream::XxHash64),
        &slices,
    ));
    #[cfg(feature = "crc32")]
    streams.push(write_with(
        flatstream::ChecksumFramer::new(flatstream::Crc32),
        &slices,
    ));
    #[cfg(feature = "crc16")]
    streams.push(write_with(
        flatstream::ChecksumFramer::new(flatstream::Crc16),
        &slices,
    ));
    streams
}

macro_rules! reader_on_every_framing {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type D = $deframer;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]

                /// Any deframer on a stream of any framing of this build, its
                /// own included. Guaranteed: no panic, an end, and consistent
                /// bookkeeping. `read_events` asserts the end and, at every
                /// step, the bookkeeping: every payload returned is a frame
                /// that passes the deframer's own check (it re-decodes it), at
                /// the reader's offset, and every error is positioned there.
                /// Asserted here: a frame limit is bookkeeping too, so a read
                /// under `SMALL_LIMIT` gives the events of a read under `LIMIT`
                /// up to the first frame declaring more than `SMALL_LIMIT`, and
                /// a `TooLarge` naming that frame and `SMALL_LIMIT` instead,
                /// which ends it. NOT guaranteed for a foreign stream: that no
                /// payload comes out. A plain reader accepts any length under
                /// its limit. An empty frame followed by zero bytes passes
                /// CRC-16 and CRC-32, whose checksum of no bytes is 0. And any
                /// 2-, 4- or 8-byte window of payload can match the checksum
                /// by chance (about 2^-16 per misread frame for CRC-16), so
                /// that is not asserted.
                #[test]
                fn reader_on_any_stream_of_this_build_never_panics_and_keeps_its_bookkeeping(
                    payloads in payload_lists(),
                ) {
                    for bytes in every_framing(&payloads) {
                        let full = read_events(&bytes, D::default(), LIMIT);
                        let limited = read_events(&bytes, D::default(), SMALL_LIMIT);
                        let same = full.iter().zip(&limited).take_while(|(a, b)| a == b).count();
                        if same == limited.len() {
                            prop_assert_eq!(&limited, &full, "no length over the smaller limit");
                        } else {
                            let small = SMALL_LIMIT as u64;
                            prop_assert!(
                                matches!(
                                    limited[same],
                                    Event::TooLarge { declared, limit, .. }
                                        if limit == small && declared > small
                                ),
                                "under the smaller limit {:?}, under the default {:?}",
                                limited[same],
                                full.get(same),
                            );
                            prop_assert_eq!(
                                same + 1,
                                limited.len(),
                                "the reader goes on after a length over its limit",
                            );
                        }
                    }
                }
            }
        }
    };
}

/// Every deframer of this build on every framing of this build.
mod any_stream {
    use super::*;

    framers::for_each_framer_pair!(reader_on_every_framing);
}

#[cfg(feature = "xxhash")]
mod xxhash64 {
    use super::*;
    use flatstream::{Checksum, ChecksumDeframer, ChecksumFramer, XxHash64};

    fn checksum(payload: &[u8]) -> Vec<u8> {
        XxHash64.checksum(payload).to_le_bytes().to_vec()
    }

    #[test]
    fn plain_reader_returns_checksum_prefixed_payload_then_torn_tail() {
        // "o, w" read as a length.
        plain_reader_on_checksummed_text(
            ChecksumFramer::new(XxHash64),
            &checksum(b"hello, world"),
            0x7720_2C6F,
        );
    }

    #[test]
    fn plain_reader_on_zero_payloads_reads_to_a_clean_end_with_invented_empty_frames() {
        plain_reader_on_checksummed_zeros_invents_empty_frames(
            ChecksumFramer::new(XxHash64),
            &checksum(&[0; 12]),
        );
    }

    #[test]
    fn checksum_reader_on_plain_stream_reports_mismatch_then_torn_tail() {
        let bytes = plain_hello_world();
        // Header: length 5, then "hello" [6, 0, 0] as the stored checksum;
        // payload: [0] "worl".
        assert_eq!(
            read_events(&bytes, ChecksumDeframer::new(XxHash64), LIMIT),
            [
                Event::Mismatch {
                    expected: u64::from_le_bytes(*b"hello\x06\0\0"),
                    computed: XxHash64.checksum(b"\0worl"),
                    at: at(0, 0)
                },
                Event::Eof {
                    available: 2,
                    required: 12,
                    at: at(17, 1)
                },
            ]
        );
    }

    #[test]
    fn checksum_reader_on_plain_empty_payloads_reports_mismatch() {
        // XXH3-64 of no bytes is not 0, so zero headers do not pass.
        assert_ne!(XxHash64.checksum(b""), 0);
        assert_eq!(
            read_events(&plain_empties(), ChecksumDeframer::new(XxHash64), LIMIT),
            [
                Event::Mismatch {
                    expected: 0,
                    computed: XxHash64.checksum(b""),
                    at: at(0, 0)
                },
                Event::Eof {
                    available: 4,
                    required: 12,
                    at: at(12, 1)
                },
            ]
        );
    }

    #[test]
    fn checksum_reader_accepts_a_crafted_plain_stream() {
        let (bytes, seen) = crafted_plain_stream(|p| XxHash64.checksum(p), 8);
        let events = read_events(&bytes, ChecksumDeframer::new(XxHash64), LIMIT);
        assert_eq!(events[0], Event::Payload(seen));
    }
}

#[cfg(feature = "crc32")]
mod crc32 {
    use super::*;
    use flatstream::{Checksum, ChecksumDeframer, ChecksumFramer, Crc32};

    fn checksum(payload: &[u8]) -> Vec<u8> {
        Crc32.checksum(payload).to_le_bytes()[..4].to_vec()
    }

    #[test]
    fn plain_reader_returns_checksum_prefixed_payload_then_torn_tail() {
        // "orld" read as a length.
        plain_reader_on_checksummed_text(
            ChecksumFramer::new(Crc32),
            &checksum(b"hello, world"),
            0x646C_726F,
        );
    }

    #[test]
    fn plain_reader_on_zero_payloads_reads_to_a_clean_end_with_invented_empty_frames() {
        plain_reader_on_checksummed_zeros_invents_empty_frames(
            ChecksumFramer::new(Crc32),
            &checksum(&[0; 12]),
        );
    }

    #[test]
    fn checksum_reader_on_plain_stream_reports_mismatch_then_torn_tail() {
        // Header: length 5, then "hell" as the stored checksum;
        // payload: "o" [6, 0, 0, 0].
        assert_eq!(
            read_events(&plain_hello_world(), ChecksumDeframer::new(Crc32), LIMIT),
            [
                Event::Mismatch {
                    expected: u64::from(u32::from_le_bytes(*b"hell")),
                    computed: Crc32.checksum(b"o\x06\0\0\0"),
                    at: at(0, 0)
                },
                Event::Eof {
                    available: 6,
                    required: 8,
                    at: at(13, 1)
                },
            ]
        );
    }

    #[test]
    fn checksum_reader_on_plain_empty_payloads_returns_half_as_many_empty_payloads() {
        // CRC-32 of no bytes is 0: each 8 zero bytes (two plain empty
        // frames) pass as one empty frame, and the stream ends cleanly.
        assert_eq!(Crc32.checksum(b""), 0);
        assert_eq!(
            read_events(&plain_empties(), ChecksumDeframer::new(Crc32), LIMIT),
            [
                Event::Payload(Vec::new()),
                Event::Payload(Vec::new()),
                Event::CleanEnd
            ]
        );
    }

    #[test]
    fn checksum_reader_accepts_a_crafted_plain_stream() {
        let (bytes, seen) = crafted_plain_stream(|p| Crc32.checksum(p), 4);
        // The payload is "spoofed!" plus the next plain frame's length prefix.
        assert_eq!(seen, b"spoofed!\x0a\0\0\0");
        let events = read_events(&bytes, ChecksumDeframer::new(Crc32), LIMIT);
        assert_eq!(events[0], Event::Payload(seen));
    }
}

#[cfg(feature = "crc16")]
mod crc16 {
    use super::*;
    use flatstream::{Checksum, ChecksumDeframer, ChecksumFramer, Crc16};

    fn checksum(payload: &[u8]) -> Vec<u8> {
        Crc16.checksum(payload).to_le_bytes()[..2].to_vec()
    }

    #[test]
    fn plain_reader_returns_checksum_prefixed_payload_then_torn_tail() {
        // "ld" and the next frame's length [6, 0] read as a length.
        plain_reader_on_checksummed_text(
            ChecksumFramer::new(Crc16),
            &checksum(b"hello, world"),
            0x0006_646C,
        );
    }

    #[test]
    fn plain_reader_on_zero_payloads_returns_the_zeros_then_torn_tail() {
        // CRC-16/XMODEM (initial value 0, no final xor) of zero bytes is 0,
        // so the plain reader's first "payload" (checksum then ten payload
        // bytes) is twelve zeros: by coincidence exactly what was written.
        // Then the two zero bytes left over and the next frame's length
        // [12, 0] make a length of 12 << 16, and the stream is a torn tail.
        assert_eq!(checksum(&[0; 12]), [0, 0]);
        let bytes = write_with(ChecksumFramer::new(Crc16), &[&[0; 12], &[0; 12]]);
        assert_eq!(bytes.len(), 36);
        assert_eq!(
            read_events(&bytes, DefaultDeframer, LIMIT),
            [
                Event::Payload(vec![0; 12]),
                Event::Eof {
                    available: 20,
                    required: 4 + (12 << 16),
                    at: at(16, 1)
                },
            ]
        );
    }

    #[test]
    fn checksum_reader_on_plain_stream_reports_mismatch_then_torn_tail() {
        // Header: length 5, then "he" as the stored checksum; payload:
        // "llo" [6, 0]. Then [0, 0] "wo" is read as a length.
        assert_eq!(
            read_events(&plain_hello_world(), ChecksumDeframer::new(Crc16), LIMIT),
            [
                Event::Mismatch {
                    expected: u64::from(u16::from_le_bytes(*b"he")),
                    computed: Crc16.checksum(b"llo\x06\0"),
                    at: at(0, 0)
                },
                Event::Eof {
                    available: 8,
                    required: 6 + u64::from(u32::from_le_bytes(*b"\0\0wo")),
                    at: at(11, 1)
                },
            ]
        );
    }

    #[test]
    fn checksum_reader_on_plain_empty_payloads_returns_empty_payloads_then_torn_tail() {
        // CRC-16/XMODEM of no bytes is 0: each 6 zero bytes pass as an empty
        // frame; 16 bytes make two such frames and a 4-byte torn tail.
        assert_eq!(Crc16.checksum(b""), 0);
        assert_eq!(
            read_events(&plain_empties(), ChecksumDeframer::new(Crc16), LIMIT),
            [
                Event::Payload(Vec::new()),
                Event::Payload(Vec::new()),
                Event::Eof {
                    available: 4,
                    required: 6,
                    at: at(12, 2)
                },
            ]
        );
    }

    #[test]
    fn checksum_reader_accepts_a_crafted_plain_stream() {
        let (bytes, seen) = crafted_plain_stream(|p| Crc16.checksum(p), 2);
        assert_eq!(seen, b"spoofed!\x0a\0");
        let events = read_events(&bytes, ChecksumDeframer::new(Crc16), LIMIT);
        assert_eq!(events[0], Event::Payload(seen));
    }
}

// --- (c) one checksum's reader on another checksum's stream ----------------

/// Real (non-empty) payloads written with one checksum and read with
/// another: errors only, never a payload.
#[cfg(any(
    all(feature = "xxhash", feature = "crc32"),
    all(feature = "xxhash", feature = "crc16"),
    all(feature = "crc32", feature = "crc16"),
))]
fn cross_read<F: Framer, D: Deframer + Clone>(framer: F, deframer: D) -> Vec<Event> {
    let bytes = write_with(
        framer,
        &[b"hello, world", b"second", &[0x42; 200], b"the end"],
    );
    let events = read_events(&bytes, deframer, LIMIT);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Payload(_))),
        "{events:?}"
    );
    events
}

/// Reads a stream written with `framer` through `deframer` of another
/// algorithm: the first frame must be a mismatch, and no payload may appear.
#[cfg(any(
    all(feature = "xxhash", feature = "crc32"),
    all(feature = "xxhash", feature = "crc16"),
    all(feature = "crc32", feature = "crc16"),
))]
fn assert_cross_read_rejects_first_frame<F: Framer, D: Deframer + Clone>(framer: F, deframer: D) {
    let events = cross_read(framer, deframer);
    assert!(
        matches!(
            events[0],
            Event::Mismatch {
                at: Position {
                    offset: 0,
                    frame: 0
                },
                ..
            }
        ),
        "{events:?}"
    );
}

#[cfg(all(feature = "xxhash", feature = "crc32"))]
mod xxhash64_and_crc32 {
    use super::*;
    use flatstream::{Checksum, ChecksumDeframer, ChecksumFramer, Crc32, XxHash64};

    #[test]
    fn crc32_reader_on_xxhash64_stream_reports_mismatch_never_a_payload() {
        let events = cross_read(ChecksumFramer::new(XxHash64), ChecksumDeframer::new(Crc32));
        // It reads the low half of the XXH3 value as the CRC and the high
        // half as the start of the payload.
        let xxh = XxHash64.checksum(b"hello, world").to_le_bytes();
        let mut payload = xxh[4..].to_vec();
        payload.extend_from_slice(b"hello, w");
        assert_eq!(
            events[0],
            Event::Mismatch {
                expected: u64::from(u32::from_le_bytes([xxh[0], xxh[1], xxh[2], xxh[3]])),
                computed: Crc32.checksum(&payload),
                at: at(0, 0)
            }
        );
    }

    #[test]
    fn xxhash64_reader_on_crc32_stream_reports_mismatch_never_a_payload() {
        assert_cross_read_rejects_first_frame(
            ChecksumFramer::new(Crc32),
            ChecksumDeframer::new(XxHash64),
        );
    }
}

#[cfg(all(feature = "xxhash", feature = "crc16"))]
mod xxhash64_and_crc16 {
    use super::*;
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc16, XxHash64};

    #[test]
    fn crc16_reader_on_xxhash64_stream_reports_mismatch_never_a_payload() {
        assert_cross_read_rejects_first_frame(
            ChecksumFramer::new(XxHash64),
            ChecksumDeframer::new(Crc16),
        );
    }

    #[test]
    fn xxhash64_reader_on_crc16_stream_reports_mismatch_never_a_payload() {
        assert_cross_read_rejects_first_frame(
            ChecksumFramer::new(Crc16),
            ChecksumDeframer::new(XxHash64),
        );
    }
}

#[cfg(all(feature = "crc32", feature = "crc16"))]
mod crc32_and_crc16 {
    use super::*;
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc16, Crc32};

    #[test]
    fn crc16_reader_on_crc32_stream_reports_mismatch_never_a_payload() {
        assert_cross_read_rejects_first_frame(
            ChecksumFramer::new(Crc32),
            ChecksumDeframer::new(Crc16),
        );
    }

    #[test]
    fn crc32_reader_on_crc16_stream_reports_mismatch_never_a_payload() {
        assert_cross_read_rejects_first_frame(
            ChecksumFramer::new(Crc16),
            ChecksumDeframer::new(Crc32),
        );
    }

    #[test]
    fn crc16_reader_on_crc32_stream_of_empty_payloads_returns_phantom_empty_payloads() {
        // An empty CRC-32 frame is 8 zero bytes; CRC-16 of no bytes is 0 too,
        // so the CRC-16 reader sees 6-byte empty frames in the zeros: 16 bytes
        // give two empty payloads (for two written, by coincidence of sizes)
        // and a 4-byte torn tail.
        let bytes = write_with(ChecksumFramer::new(Crc32), &[b"", b""]);
        assert_eq!(bytes, [0; 16]);
        assert_eq!(
            read_events(&bytes, ChecksumDeframer::new(Crc16), LIMIT),
            [
                Event::Payload(Vec::new()),
                Event::Payload(Vec::new()),
                Event::Eof {
                    available: 4,
                    required: 6,
                    at: at(12, 2)
                },
            ]
        );
    }

    #[test]
    fn crc32_reader_on_crc16_stream_of_empty_payloads_returns_a_phantom_empty_payload() {
        // Two empty CRC-16 frames are 12 zero bytes: one 8-byte empty CRC-32
        // frame and a 4-byte torn tail.
        let bytes = write_with(ChecksumFramer::new(Crc16), &[b"", b""]);
        assert_eq!(bytes, [0; 12]);
        assert_eq!(
            read_events(&bytes, ChecksumDeframer::new(Crc32), LIMIT),
            [
                Event::Payload(Vec::new()),
                Event::Eof {
                    available: 4,
                    required: 8,
                    at: at(8, 1)
                },
            ]
        );
    }
}
