//! Framing with a checksum of the payload.

use flatstream_core::{Checksum, Deframer, ErrorKind, Framer, Result, wire};

/// Frames each payload with its length and a checksum:
/// `[u32 LE length][C::SIZE bytes LE checksum][payload]`.
///
/// The checksum covers the payload only. `ChecksumFramer<C>` is
/// monomorphised per algorithm and is zero-sized for the unit checksum types.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Checksum, Framer};
/// use flatstream_framing::ChecksumFramer;
///
/// # #[derive(Debug, Clone, Copy, Default)]
/// # struct Sum8;
/// # impl Checksum for Sum8 {
/// #     const SIZE: usize = 1;
/// #     const NAME: &'static str = "SUM-8";
/// #     fn checksum(&self, p: &[u8]) -> u64 { u64::from(p.iter().fold(0u8, |a, b| a.wrapping_add(*b))) }
/// # }
/// let mut framer = ChecksumFramer::new(Sum8);
/// let mut frame = Vec::new();
/// framer.encode_into(&[1, 2, 3], &mut frame)?;
/// assert_eq!(frame, [3, 0, 0, 0, 6, 1, 2, 3]);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChecksumFramer<C> {
    checksum: C,
}

impl<C: Checksum> ChecksumFramer<C> {
    /// Creates a framer that protects payloads with `checksum`.
    pub fn new(checksum: C) -> Self {
        ChecksumFramer { checksum }
    }

    /// The checksum algorithm.
    pub fn checksum(&self) -> &C {
        &self.checksum
    }
}

impl<C: Checksum> Framer for ChecksumFramer<C> {
    #[inline]
    fn header_len(&self) -> usize {
        wire::LENGTH_PREFIX_LEN + C::SIZE
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        crate::encode_length(payload, header)?;
        let value = self.checksum.checksum(payload);
        if C::SIZE >= 4 {
            // The length and the checksum's first 4 bytes go out as one
            // 8-byte store. A writer copies the header with 8-byte loads,
            // and a load that straddles two narrower stores still in flight
            // cannot take its bytes from them: the CPU waits for both to
            // reach the cache (a store-forwarding stall of ~10 cycles per
            // frame, half the cost of a 64-byte XXH3 frame).
            let prefix = wire::read_le(&header[..wire::LENGTH_PREFIX_LEN]);
            wire::write_le(prefix | (value << 32), 8, header);
            wire::write_le(value >> 32, C::SIZE - 4, &mut header[8..]);
        } else {
            wire::write_le(value, C::SIZE, &mut header[wire::LENGTH_PREFIX_LEN..]);
        }
        Ok(())
    }
}

/// Reads and verifies frames written by [`ChecksumFramer`] with the same `C`.
///
/// A payload whose checksum does not match is reported as
/// [`ErrorKind::ChecksumMismatch`] with the stored and the computed value;
/// the frame is consumed, so reading can go on with the next one. The length
/// prefix is not covered by the checksum: a corrupted length shows up as a
/// mismatch, a frame over the limit, or a torn tail, never as a payload.
///
/// Read against a stream written by [`DefaultFramer`](crate::DefaultFramer)
/// (or with another algorithm) it takes payload bytes for the checksum and
/// usually reports a mismatch, a bad length or a torn tail. It is not a
/// format detector: runs of zero bytes parse as empty frames whose CRC is 0,
/// and a crafted stream can pass. Pair each deframer with its own framer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChecksumDeframer<C> {
    checksum: C,
}

impl<C: Checksum> ChecksumDeframer<C> {
    /// Creates a deframer that verifies payloads with `checksum`.
    pub fn new(checksum: C) -> Self {
        ChecksumDeframer { checksum }
    }

    /// The checksum algorithm.
    pub fn checksum(&self) -> &C {
        &self.checksum
    }
}

impl<C: Checksum> Deframer for ChecksumDeframer<C> {
    #[inline]
    fn header_len(&self) -> usize {
        wire::LENGTH_PREFIX_LEN + C::SIZE
    }

    #[inline]
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        // The stored checksum is read after the call, from the header in
        // memory: kept in a register across it, it would be one more value
        // for the driver's loop to spill (measured: 4 instructions and about
        // a cycle per 64-byte frame on the slice reader).
        let computed = wire::truncate_to(self.checksum.checksum(payload), C::SIZE);
        let expected = wire::read_le(&header[wire::LENGTH_PREFIX_LEN..]);
        if expected == computed {
            Ok(())
        } else {
            // Rare: the hint lays out a verified frame as the straight line
            // (without it, XXH3 at 64 B took two jumps more per frame and 77
            // instructions instead of 73).
            core::hint::cold_path();
            Err(ErrorKind::ChecksumMismatch {
                algorithm: C::NAME,
                expected,
                computed,
            })
        }
    }

    /// No limit of its own: readers apply theirs (2 GiB by default); add one
    /// with `.bounded(n)`.
    #[inline]
    fn max_frame_len(&self) -> usize {
        usize::MAX
    }
}
