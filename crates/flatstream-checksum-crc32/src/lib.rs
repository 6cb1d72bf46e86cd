#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

#[cfg(feature = "std")]
extern crate std;

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

    #[inline]
    fn checksum(&self, payload: &[u8]) -> u64 {
        let mut hasher = new_hasher();
        hasher.update(payload);
        u64::from(hasher.finalize())
    }
}

/// A hasher set to the CPU's fastest CRC-32 instructions. `crc32fast::hash`
/// asks the CPU's features afresh on every call (about 20 instructions,
/// more than a tenth of a 64-byte frame's checksum): with `std`, that is
/// asked once and the answer is cloned.
#[cfg(feature = "std")]
#[inline]
fn new_hasher() -> crc32fast::Hasher {
    static DETECTED: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    DETECTED.get_or_init(crc32fast::Hasher::new).clone()
}

/// Without `std`, `crc32fast` chooses its instructions at compile time:
/// a new hasher costs nothing to make.
#[cfg(not(feature = "std"))]
#[inline]
fn new_hasher() -> crc32fast::Hasher {
    crc32fast::Hasher::new()
}
