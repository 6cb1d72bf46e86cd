//! The plain length-prefixed framing.

use flatstream_core::{Deframer, ErrorKind, Framer, Result, wire};

/// Frames each payload with its length only: `[u32 LE length][payload]`.
///
/// Four bytes of overhead and no integrity check. Corruption of a payload
/// goes unnoticed, and corruption of a length desynchronises the stream;
/// use [`ChecksumFramer`](crate::ChecksumFramer) where that matters.
///
/// # Examples
///
/// ```
/// use flatstream_core::Framer;
/// use flatstream_framing::DefaultFramer;
///
/// let mut frame = Vec::new();
/// DefaultFramer.encode_into(b"abc", &mut frame)?;
/// assert_eq!(frame, [3, 0, 0, 0, b'a', b'b', b'c']);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DefaultFramer;

impl Framer for DefaultFramer {
    #[inline]
    fn header_len(&self) -> usize {
        wire::LENGTH_PREFIX_LEN
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        crate::encode_length(payload, header)
    }
}

/// Reads frames written by [`DefaultFramer`].
///
/// It accepts every frame whose length is within the reader's limit. Read
/// against a checksummed stream it does not fail cleanly: it takes the
/// checksum bytes as the start of the payload and the last bytes of each
/// payload as the next length, so it returns wrong payloads, then usually
/// reports a bad length or a torn tail (zero-filled payloads can even read to
/// a clean end). Pair each deframer with its own framer.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Decoded, decode};
/// use flatstream_framing::DefaultDeframer;
///
/// let frame = [3, 0, 0, 0, b'a', b'b', b'c'];
/// assert_eq!(
///     decode(&mut DefaultDeframer, &frame, 1024)?,
///     Decoded::Frame { payload_start: 4, frame_len: 7 }
/// );
/// # Ok::<(), flatstream_core::ErrorKind>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DefaultDeframer;

impl Deframer for DefaultDeframer {
    #[inline]
    fn header_len(&self) -> usize {
        wire::LENGTH_PREFIX_LEN
    }

    #[inline]
    fn verify(&mut self, _header: &[u8], _payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        Ok(())
    }

    /// No limit of its own: readers apply theirs (2 GiB by default); add one
    /// with `.bounded(n)`.
    #[inline]
    fn max_frame_len(&self) -> usize {
        usize::MAX
    }
}
