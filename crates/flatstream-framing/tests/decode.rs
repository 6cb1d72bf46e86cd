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
