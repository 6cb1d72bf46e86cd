#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

pub use flatstream_core::Checksum;
pub use flatstream_framing::{ChecksumDeframer, ChecksumFramer};

/// XXH3-64 with seed 0 (the 64-bit XXH3 hash).
///
/// 8 bytes on the wire; check value `0x72DC_B18B_67A1_7DFF` for `"123456789"`.
///
/// # Examples
///
/// ```
/// use flatstream_checksum_xxhash::{Checksum, XxHash64};
///
/// assert_eq!(XxHash64::new().checksum(b"123456789"), 0x72DC_B18B_67A1_7DFF);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct XxHash64;

impl XxHash64 {
    /// Creates the checksum; it has no state.
    #[must_use]
    pub const fn new() -> Self {
        XxHash64
    }
}

impl Checksum for XxHash64 {
    const SIZE: usize = 8;
    const NAME: &'static str = "XXH3-64";

    #[inline]
    fn checksum(&self, payload: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(payload)
    }
}
