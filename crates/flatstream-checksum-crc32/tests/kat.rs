//! Known-answer tests: the catalogue check values pin the algorithm, which
//! is part of the wire format and must never change.

use flatstream_checksum_crc32::{Checksum, Crc32};

#[test]
fn check_value_of_123456789() {
    assert_eq!(Crc32::new().checksum(b"123456789"), 0xCBF4_3926);
}

#[test]
fn empty_input() {
    assert_eq!(Crc32::new().checksum(b""), 0x0);
}

#[test]
fn value_fits_the_wire_width() {
    assert_eq!(Crc32::SIZE, 4);
    assert_eq!(Crc32::NAME, "CRC-32/ISO-HDLC");
    let mut input = [0u8; 1024];
    for (i, byte) in input.iter_mut().enumerate() {
        *byte = u8::try_from(i * 31 % 251).unwrap();
    }
    for len in 0..input.len() {
        let value = Crc32::new().checksum(&input[..len]);
        assert!(
            4 == 8 || value >> (4 * 8) == 0,
            "value {value:#x} is wider than 4 bytes"
        );
    }
}

#[test]
fn unit_type_is_zero_sized() {
    assert_eq!(core::mem::size_of::<Crc32>(), 0);
    assert_eq!(
        core::mem::size_of::<flatstream_checksum_crc32::ChecksumFramer<Crc32>>(),
        0
    );
}

/// The hasher made once and cloned (with `std`) gives what a fresh
/// `crc32fast` hash gives, at every length and alignment around the SIMD
/// block sizes, and from threads racing to make it first.
#[test]
fn same_value_as_a_fresh_crc32fast_hash() {
    let mut input = [0u8; 600];
    for (i, byte) in input.iter_mut().enumerate() {
        *byte = u8::try_from(i * 131 % 253).unwrap();
    }
    let check = |data: &[u8]| {
        for start in 0..16 {
            for end in start..data.len() {
                let slice = &data[start..end];
                assert_eq!(
                    Crc32::new().checksum(slice),
                    u64::from(crc32fast::hash(slice)),
                    "bytes {start}..{end}"
                );
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| check(&input));
        }
    });
}
