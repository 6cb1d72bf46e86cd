//! Known-answer tests: the catalogue check values pin the algorithm, which
//! is part of the wire format and must never change.

use flatstream_checksum_xxhash::{Checksum, XxHash64};

#[test]
fn check_value_of_123456789() {
    assert_eq!(
        XxHash64::new().checksum(b"123456789"),
        0x72DC_B18B_67A1_7DFF
    );
}

#[test]
fn empty_input() {
    assert_eq!(XxHash64::new().checksum(b""), 0x2D06_8005_38D3_94C2);
}

#[test]
fn value_fits_the_wire_width() {
    assert_eq!(XxHash64::SIZE, 8);
    assert_eq!(XxHash64::NAME, "XXH3-64");
    let mut input = [0u8; 1024];
    for (i, byte) in input.iter_mut().enumerate() {
        *byte = u8::try_from(i * 31 % 251).unwrap();
    }
    for len in 0..input.len() {
        let value = XxHash64::new().checksum(&input[..len]);
        assert!(
            8 == 8 || value >> (8 * 8) == 0,
            "value {value:#x} is wider than 8 bytes"
        );
    }
}

#[test]
fn unit_type_is_zero_sized() {
    assert_eq!(core::mem::size_of::<XxHash64>(), 0);
    assert_eq!(
        core::mem::size_of::<flatstream_checksum_xxhash::ChecksumFramer<XxHash64>>(),
        0
    );
}
