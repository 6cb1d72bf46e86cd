//! The checksum strategy.

use core::fmt::Debug;

/// A checksum algorithm that protects a frame's payload.
///
/// Implementations live in one crate per algorithm (`flatstream-checksum-xxhash`,
/// `-crc32`, `-crc16`) and plug into `ChecksumFramer` / `ChecksumDeframer`,
/// which are monomorphised per algorithm: no dynamic dispatch on the hot path.
///
/// # Examples
///
/// A custom algorithm only needs its wire width, a name and the function:
///
/// ```
/// use flatstream_core::Checksum;
///
/// /// An 8-bit sum of all bytes; for illustration only.
/// #[derive(Debug, Clone, Copy, Default)]
/// struct Sum8;
///
/// impl Checksum for Sum8 {
///     const SIZE: usize = 1;
///     const NAME: &'static str = "SUM-8";
///     fn checksum(&self, payload: &[u8]) -> u64 {
///         u64::from(payload.iter().fold(0u8, |acc, b| acc.wrapping_add(*b)))
///     }
/// }
///
/// assert_eq!(Sum8.checksum(b"\x01\x02\x03"), 6);
/// ```
pub trait Checksum: Clone + Debug {
    /// Width of the checksum on the wire, in bytes (at most
    /// [`wire::MAX_CHECKSUM_LEN`](crate::wire::MAX_CHECKSUM_LEN)).
    const SIZE: usize;

    /// The algorithm's catalogue name, used in error messages.
    const NAME: &'static str;

    /// Computes the checksum of `payload`.
    ///
    /// The value must fit in [`SIZE`](Checksum::SIZE) bytes; framers write
    /// only its low `SIZE` bytes.
    fn checksum(&self, payload: &[u8]) -> u64;
}
