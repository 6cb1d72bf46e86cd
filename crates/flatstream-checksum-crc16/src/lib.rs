#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

pub use flatstream_core::Checksum;
pub use flatstream_framing::{ChecksumDeframer, ChecksumFramer};

/// CRC-16/XMODEM with a 16-way slicing table (8 KiB, built at compile time).
static CRC_16_XMODEM: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_XMODEM);

/// CRC-16/XMODEM, via the `crc` crate with a 16-way slicing table.
///
/// 2 bytes on the wire; check value `0x31C3` for `"123456789"`.
///
/// # Examples
///
/// ```
/// use flatstream_checksum_crc16::{Checksum, Crc16};
///
/// assert_eq!(Crc16::new().checksum(b"123456789"), 0x31C3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Crc16;

impl Crc16 {
    /// Creates the checksum; it has no state.
    #[must_use]
    pub const fn new() -> Self {
        Crc16
    }
}

impl Checksum for Crc16 {
    const SIZE: usize = 2;
    const NAME: &'static str = "CRC-16/XMODEM";

    #[inline]
    fn checksum(&self, payload: &[u8]) -> u64 {
        u64::from(CRC_16_XMODEM.checksum(payload))
    }
}
