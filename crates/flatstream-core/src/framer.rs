//! The write-side framing strategy.

use crate::Result;

/// Writes the header that precedes each payload on the wire.
///
/// A framer never sees the sink and never copies the payload: the writer
/// passes the payload, the framer fills a header buffer on the stack, and the
/// writer sends header and payload to the sink one after the other. That keeps
/// framers sans-IO and the write path copy-free.
///
/// The writer checks the payload length against its limit before calling
/// [`encode_header`](Framer::encode_header), so a framer may assume the length
/// fits the `u32` length prefix.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Framer, Result, wire};
///
/// /// Length prefix only, the same bytes as `DefaultFramer`.
/// #[derive(Debug)]
/// struct LengthOnly;
///
/// impl Framer for LengthOnly {
///     fn header_len(&self) -> usize {
///         wire::LENGTH_PREFIX_LEN
///     }
///     fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
///         wire::write_le(payload.len() as u64, wire::LENGTH_PREFIX_LEN, header);
///         Ok(())
///     }
/// }
///
/// let mut frame = Vec::new();
/// LengthOnly.encode_into(b"hi", &mut frame)?;
/// assert_eq!(frame, [2, 0, 0, 0, b'h', b'i']);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub trait Framer {
    /// Number of header bytes written before every payload; at most
    /// [`wire::MAX_HEADER_LEN`](crate::wire::MAX_HEADER_LEN).
    fn header_len(&self) -> usize;

    /// Writes the header for `payload` into `header`, which is exactly
    /// [`header_len`](Framer::header_len) bytes long.
    ///
    /// # Errors
    ///
    /// Returns an error if this framer refuses the payload; nothing has been
    /// written to the sink at that point.
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()>;

    /// This framer's own limit on a payload's length; writers apply the
    /// smaller of it and their own, before any byte is written. Unlimited
    /// unless an adapter such as `Bounded` sets it; adapters forward it.
    #[inline]
    fn max_frame_len(&self) -> usize {
        usize::MAX
    }

    /// Appends one whole frame (header then payload) to `dst`.
    ///
    /// This is the sans-IO entry point for callers that assemble frames in
    /// memory; it does not check a frame-length limit.
    ///
    /// # Errors
    ///
    /// Returns the error of [`encode_header`](Framer::encode_header); `dst`
    /// is left as it was.
    fn encode_into(&mut self, payload: &[u8], dst: &mut alloc::vec::Vec<u8>) -> Result<()> {
        let mut header = [0u8; crate::wire::MAX_HEADER_LEN];
        let header = &mut header[..self.header_len()];
        self.encode_header(payload, header)?;
        dst.reserve(header.len() + payload.len());
        dst.extend_from_slice(header);
        dst.extend_from_slice(payload);
        Ok(())
    }
}

impl<F: Framer + ?Sized> Framer for &mut F {
    #[inline]
    fn header_len(&self) -> usize {
        (**self).header_len()
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        (**self).encode_header(payload, header)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }
}

/// A boxed framer is a framer, so a program can choose its framing at run
/// time: `Box<dyn Framer>` (or `Box<dyn Framer + Send>`) works wherever a
/// framer is expected. Every method is forwarded, limits included.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Framer, Result, wire};
///
/// #[derive(Debug)]
/// struct LengthOnly;
/// impl Framer for LengthOnly {
///     fn header_len(&self) -> usize { wire::LENGTH_PREFIX_LEN }
///     fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
///         wire::write_le(payload.len() as u64, wire::LENGTH_PREFIX_LEN, header);
///         Ok(())
///     }
/// }
///
/// let mut framer: Box<dyn Framer> = Box::new(LengthOnly);
/// let mut frame = Vec::new();
/// framer.encode_into(b"hi", &mut frame)?;
/// assert_eq!(frame, [2, 0, 0, 0, b'h', b'i']);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
impl<F: Framer + ?Sized> Framer for alloc::boxed::Box<F> {
    #[inline]
    fn header_len(&self) -> usize {
        (**self).header_len()
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        (**self).encode_header(payload, header)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }

    #[inline]
    fn encode_into(&mut self, payload: &[u8], dst: &mut alloc::vec::Vec<u8>) -> Result<()> {
        (**self).encode_into(payload, dst)
    }
}
