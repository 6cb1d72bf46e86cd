//! The wire format shared by every framer in the seed format family.
//!
//! ```text
//! +----------------+-------------------------+----------------------+
//! | length: u32 LE | checksum: N bytes LE    | payload: length bytes|
//! +----------------+-------------------------+----------------------+
//!   4 bytes          N = Checksum::SIZE (0, 2, 4 or 8)
//! ```
//!
//! The checksum covers the payload only. All integers are little-endian on
//! every platform.

/// Width of the payload length prefix that starts every frame.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// The widest checksum any framer in this format family writes (XXH3-64).
pub const MAX_CHECKSUM_LEN: usize = 8;

/// The longest header any framer in this format family writes.
pub const MAX_HEADER_LEN: usize = LENGTH_PREFIX_LEN + MAX_CHECKSUM_LEN;

/// Default limit on a frame's payload length: FlatBuffers' own 2 GiB maximum.
///
/// Readers refuse a declared length above their limit before reserving any
/// memory for it, and writers refuse to write such a payload.
pub const DEFAULT_MAX_FRAME_LEN: usize = flatbuffers::FLATBUFFERS_MAX_BUFFER_SIZE;

/// The largest payload length the wire format can carry: its length prefix
/// is a `u32`. Recovery accepts frames up to this length by default, so that
/// every frame a writer was allowed to write can be recovered.
pub const MAX_WIRE_FRAME_LEN: usize = u32::MAX as usize;

/// Reads the little-endian payload length at the start of a header.
///
/// # Panics
///
/// Panics if `header` is shorter than [`LENGTH_PREFIX_LEN`].
#[inline]
#[must_use]
pub fn read_length_prefix(header: &[u8]) -> u32 {
    let mut len = [0u8; LENGTH_PREFIX_LEN];
    len.copy_from_slice(&header[..LENGTH_PREFIX_LEN]);
    u32::from_le_bytes(len)
}

/// Writes `value` as `width` little-endian bytes into `out[..width]`.
///
/// Bytes of `value` above `width` are dropped, so a 16-bit checksum carried in
/// a `u64` is written as exactly two bytes.
///
/// # Panics
///
/// Panics if `width` exceeds 8 or `out` is shorter than `width`.
#[inline]
pub fn write_le(value: u64, width: usize, out: &mut [u8]) {
    out[..width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// Reads `bytes` (at most 8 of them) as a little-endian unsigned integer.
///
/// # Panics
///
/// Panics if `bytes` is longer than 8.
#[inline]
#[must_use]
pub fn read_le(bytes: &[u8]) -> u64 {
    let mut value = [0u8; 8];
    value[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(value)
}

/// Keeps the low `width` bytes of `value`: what survives a trip through a
/// `width`-byte checksum field.
#[inline]
#[must_use]
pub const fn truncate_to(value: u64, width: usize) -> u64 {
    if width >= 8 {
        value
    } else {
        value & ((1u64 << (width * 8)) - 1)
    }
}

/// Length of the frame at the start of `unread` (header of `header_len`
/// bytes, then the payload its length prefix declares), if all of it is there.
pub(crate) fn whole_frame_len(unread: &[u8], header_len: usize) -> Option<usize> {
    let declared = usize::try_from(read_length_prefix(unread.get(..header_len)?)).ok()?;
    let frame_len = header_len.checked_add(declared)?;
    (frame_len <= unread.len()).then_some(frame_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_helpers_round_trip_each_width() {
        for width in [0usize, 2, 4, 8] {
            let value = 0x0123_4567_89AB_CDEF_u64;
            let mut out = [0u8; 8];
            write_le(value, width, &mut out);
            assert_eq!(read_le(&out[..width]), truncate_to(value, width));
        }
        assert_eq!(
            read_length_prefix(&[0x78, 0x56, 0x34, 0x12, 0xFF]),
            0x1234_5678
        );
        assert_eq!(truncate_to(0x1_2345, 2), 0x2345);
        assert_eq!(truncate_to(0xFFFF_FFFF_FFFF, 0), 0);
    }
}
