#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

pub use flatstream_core::Checksum;
pub use flatstream_framing::{ChecksumDeframer, ChecksumFramer};

/// CRC-32/ISO-HDLC (the CRC-32 of zlib, gzip and Ethernet), via `crc32fast`.
///
/// 4 bytes on the wire; check value `0xCBF4_3926` for `"123456789"`.
///
/// # Examples
///
/// ```
/// use flatstream_checksum_crc32::{Checksum, Crc32};
///
/// assert_eq!(Crc32::new().checksum(b"123456789"), 0xCBF4_3926);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Crc32;

impl Crc32 {
    /// Creates the checksum; it has no state.
    #[must_use]
    pub const fn new() -> Self {
        Crc32
    }
}

impl Checksum for Crc32 {
    const SIZE: usize = 4;
    const NAME: &'static str = "CRC-32/ISO-HDLC";

    /// `crc32fast::hash`: with `std`, the CPU's fastest CRC-32 instructions
    /// (found once, at the first call: crc32fast caches its detection since
    /// 1.5.6, which made the cache this crate kept, and its dispatch on each
    /// call, slower than calling it); without `std`, the instructions the
    /// target was compiled for.
    #[inline]
    fn checksum(&self, payload: &[u8]) -> u64 {
        u64::from(crc32fast::hash(payload))
    }
}
