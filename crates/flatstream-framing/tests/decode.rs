//! The sans-IO deframers on raw bytes: every answer `decode` can give.

use flatstream_core::{Checksum, Decoded, ErrorKind, Framer, decode};
use flatstream_framing::{ChecksumDeframer, ChecksumFramer, DefaultDeframer, DefaultFramer};

/// A 2-byte checksum for tests: the byte sum and the byte count, so any single
/// byte change is caught.
#[derive(Debug, Clone, Copy, Default)]
struct SumCount;

impl Checksum for SumCount {
    const SIZE: usize = 2;
    const NAME: &'static str = "SUM-COUNT";
    fn checksum(&self, payload: &[u8]) -> u64 {
        let sum = payload.iter().fold(0u8, |acc, b| acc.wrapping_add(*b));
        let count = payload.len() as u64 & 0xFF;
        u64::from(sum) | count << 8
    }
}

fn frame<F: Framer>(mut framer: F, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    framer
        .encode_into(payload, &mut out)
        .expect("test framers accept every payload");
    out
}

#[test]
fn default_frame_is_length_then_payload() {
    assert_eq!(frame(DefaultFramer, b""), [0, 0, 0, 0]);
    assert_eq!(frame(DefaultFramer, &[7; 300])[..4], [0x2C, 0x01, 0, 0]);
}

/// A checksum of `N` bytes whose every byte differs (and depends on the
/// payload's length), so a byte written to the wrong place shows.
#[derive(Debug, Clone, Copy, Default)]
struct Wide<const N: usize>;

impl<const N: usize> Checksum for Wide<N> {
    const SIZE: usize = N;
    const NAME: &'static str = "WIDE";
    fn checksum(&self, payload: &[u8]) -> u64 {
        let bytes: [u8; 8] =
            core::array::from_fn(|k| u8::try_from((payload.len() * 8 + k + 1) % 251).unwrap_or(0));
        let value = u64::from_le_bytes(bytes);
        if N == 8 {
            value
        } else {
            value & ((1 << (8 * N)) - 1)
        }
    }
}

/// The header of every checksum width, laid out by hand: the length, then
/// the checksum's low `N` bytes, little-endian.
fn header_is_length_then_checksum<const N: usize>() {
    for len in [0usize, 1, 4, 63, 64, 255, 256, 65_536 + 7] {
        let payload = vec![0xA5; len];
        let mut expected = u32::try_from(len).expect("small").to_le_bytes().to_vec();
        expected.extend_from_slice(&Wide::<N>.checksum(&payload).to_le_bytes()[..N]);
        let framed = frame(ChecksumFramer::new(Wide::<N>), &payload);
        assert_eq!(framed[..4 + N], expected[..], "width {N}, length {len}");
        assert_eq!(framed[4 + N..], payload[..], "width {N}, length {len}");
    }
}

#[test]
fn every_checksum_width_is_laid_out_length_then_checksum() {
    header_is_length_then_checksum::<1>();
    header_is_length_then_checksum::<2>();
    header_is_length_then_checksum::<3>();
    header_is_length_then_checksum::<4>();
    header_is_length_then_checksum::<5>();
    header_is_length_then_checksum::<6>();
    header_is_length_then_checksum::<7>();
    header_is_length_then_checksum::<8>();
}

#[test]
fn checksum_frame_is_length_checksum_payload() {
    assert_eq!(
        frame(ChecksumFramer::new(SumCount), &[1, 2, 3]),
        [3, 0, 0, 0, 6, 3, 1, 2, 3]
    );
}

#[test]
fn decode_reports_missing_header_bytes() {
    for len in 0..4 {
        assert_eq!(
            decode(&mut DefaultDeframer, &[5, 0, 0, 0][..len], 1024).unwrap(),
            Decoded::Incomplete {
                needed: 4 - len,
                required: 4
            }
        );
    }
    let mut deframer = ChecksumDeframer::new(SumCount);
    assert_eq!(
        decode(&mut deframer, &[1, 0, 0, 0, 9], 1024).unwrap(),
        Decoded::Incomplete {
            needed: 1,
            required: 6
        }
    );
}

#[test]
fn decode_reports_missing_payload_bytes() {
    let bytes = frame(DefaultFramer, b"abcdef");
    assert_eq!(
        decode(&mut DefaultDeframer, &bytes[..6], 1024).unwrap(),
        Decoded::Incomplete {
            needed: 4,
            required: 10
        }
    );
    assert_eq!(
        decode(&mut DefaultDeframer, &bytes, 1024).unwrap(),
        Decoded::Frame {
            payload_start: 4,
            frame_len: 10
        }
    );
}

#[test]
fn decode_refuses_length_over_limit_before_payload_arrives() {
    let header = 1000u32.to_le_bytes();
    let err = decode(&mut DefaultDeframer, &header, 999).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::FrameTooLarge {
                declared: 1000,
                limit: 999
            }
        ),
        "{err}"
    );
    assert!(
        decode(&mut DefaultDeframer, &header, 1000).is_ok(),
        "the limit itself is allowed"
    );
    let err = decode(
        &mut ChecksumDeframer::new(SumCount),
        &[0xFF, 0xFF, 0xFF, 0xFF],
        1 << 31,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::FrameTooLarge {
                declared: 0xFFFF_FFFF,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn decode_verifies_checksum_of_complete_frame() {
    let mut bytes = frame(ChecksumFramer::new(SumCount), b"payload");
    let mut deframer = ChecksumDeframer::new(SumCount);
    assert_eq!(
        decode(&mut deframer, &bytes, 1024).unwrap(),
        Decoded::Frame {
            payload_start: 6,
            frame_len: 13
        }
    );
    bytes[8] ^= 0x10;
    let err = decode(&mut deframer, &bytes, 1024).unwrap_err();
    assert!(
        matches!(err, ErrorKind::ChecksumMismatch { algorithm: "SUM-COUNT", expected, computed } if expected != computed),
        "{err}"
    );
}

#[test]
fn unit_framers_are_zero_sized() {
    assert_eq!(size_of::<DefaultFramer>(), 0);
    assert_eq!(size_of::<DefaultDeframer>(), 0);
    assert_eq!(size_of::<ChecksumFramer<SumCount>>(), 0);
    assert_eq!(size_of::<ChecksumDeframer<SumCount>>(), 0);
}
