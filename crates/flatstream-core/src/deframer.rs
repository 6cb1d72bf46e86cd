//! The read-side framing strategy and the one deframing state machine.

use crate::ErrorKind;
use crate::wire;

/// What [`Deframer::decode`] found at the start of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// A complete, verified frame: its payload is `src[payload_start..frame_len]`
    /// and the frame occupies `src[..frame_len]`.
    Frame {
        /// Offset of the payload within the input (the header length).
        payload_start: usize,
        /// Length of the whole frame, header included.
        frame_len: usize,
    },
    /// The input holds only part of a frame.
    Incomplete {
        /// How many bytes are needed to make progress: to complete the header
        /// while it is incomplete, otherwise to complete the whole frame.
        needed: usize,
        /// How many bytes the frame needs in all, as far as is known yet: the
        /// header length while the header is incomplete, then the frame length.
        required: usize,
    },
}

/// Parses and verifies frames: the read-side twin of [`Framer`](crate::Framer).
///
/// Deframers are sans-IO: they look at bytes and never read. Implementors
/// supply the header length and the verification of a complete frame; the
/// provided [`decode`](Deframer::decode) is the one state machine that every
/// reader (`std::io`, slices, memory maps) drives.
pub trait Deframer {
    /// Number of header bytes before every payload.
    fn header_len(&self) -> usize;

    /// Checks a complete frame, e.g. its checksum. `header` is exactly
    /// [`header_len`](Deframer::header_len) bytes.
    ///
    /// # Errors
    ///
    /// Returns the reason the frame is not acceptable, such as
    /// [`ErrorKind::ChecksumMismatch`].
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> Result<(), ErrorKind>;

    /// This deframer's own limit on a frame's payload length; readers apply
    /// the smaller of it and their own. Unlimited unless an adapter such as
    /// `Bounded` sets it; adapters forward it, so limits compose.
    #[inline]
    fn max_frame_len(&self) -> usize {
        usize::MAX
    }

    /// Looks for one frame at the start of `src`.
    ///
    /// A declared payload length above `max_frame_len` (or this deframer's
    /// own [`max_frame_len`](Deframer::max_frame_len), if smaller) is refused as soon as
    /// the 4-byte length prefix is complete, before the rest of the header or
    /// the payload is awaited. Every header of this format family starts with
    /// that prefix, so `header_len` must be at least
    /// [`wire::LENGTH_PREFIX_LEN`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::FrameTooLarge`] for a declared length over the limit, or
    /// the error of [`verify`](Deframer::verify).
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::{Decoded, Deframer, ErrorKind, wire};
    ///
    /// #[derive(Debug)]
    /// struct LengthOnly;
    /// impl Deframer for LengthOnly {
    ///     fn header_len(&self) -> usize { wire::LENGTH_PREFIX_LEN }
    ///     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
    /// }
    ///
    /// let stream = [2, 0, 0, 0, b'h', b'i', 9, 0];
    /// assert_eq!(
    ///     LengthOnly.decode(&stream, 1024)?,
    ///     Decoded::Frame { payload_start: 4, frame_len: 6 }
    /// );
    /// assert_eq!(
    ///     LengthOnly.decode(&stream[6..], 1024)?,
    ///     Decoded::Incomplete { needed: 2, required: 4 }
    /// );
    /// # Ok::<(), ErrorKind>(())
    /// ```
    #[inline]
    fn decode(&mut self, src: &[u8], max_frame_len: usize) -> Result<Decoded, ErrorKind> {
        let header_len = self.header_len();
        let max_frame_len = max_frame_len.min(self.max_frame_len());
        let Some(prefix) = src.get(..wire::LENGTH_PREFIX_LEN) else {
            return Ok(Decoded::Incomplete {
                needed: header_len - src.len(),
                required: header_len,
            });
        };
        // Judge the declared length as soon as it is complete, before waiting
        // for the rest of the header or reserving anything for the payload.
        let declared = wire::read_length_prefix(prefix);
        let payload_len = usize::try_from(declared).unwrap_or(usize::MAX);
        if payload_len > max_frame_len {
            return Err(ErrorKind::FrameTooLarge {
                declared: u64::from(declared),
                limit: max_frame_len as u64,
            });
        }
        let Some(header) = src.get(..header_len) else {
            return Ok(Decoded::Incomplete {
                needed: header_len - src.len(),
                required: header_len,
            });
        };
        let frame_len = header_len.saturating_add(payload_len);
        let Some(payload) = src.get(header_len..frame_len) else {
            return Ok(Decoded::Incomplete {
                needed: frame_len - src.len(),
                required: frame_len,
            });
        };
        self.verify(header, payload)?;
        Ok(Decoded::Frame {
            payload_start: header_len,
            frame_len,
        })
    }
}

impl<D: Deframer + ?Sized> Deframer for &mut D {
    #[inline]
    fn header_len(&self) -> usize {
        (**self).header_len()
    }

    #[inline]
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> Result<(), ErrorKind> {
        (**self).verify(header, payload)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }

    #[inline]
    fn decode(&mut self, src: &[u8], max_frame_len: usize) -> Result<Decoded, ErrorKind> {
        (**self).decode(src, max_frame_len)
    }
}

/// A boxed deframer is a deframer, so a program can choose its framing at
/// run time: `Box<dyn Deframer>` (or `Box<dyn Deframer + Send>`) works
/// wherever a deframer is expected. Every method is forwarded, limits and
/// [`decode`](Deframer::decode) included.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Decoded, Deframer, ErrorKind, wire};
///
/// #[derive(Debug)]
/// struct LengthOnly;
/// impl Deframer for LengthOnly {
///     fn header_len(&self) -> usize { wire::LENGTH_PREFIX_LEN }
///     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
/// }
///
/// let mut deframer: Box<dyn Deframer> = Box::new(LengthOnly);
/// assert_eq!(
///     deframer.decode(&[2, 0, 0, 0, b'h', b'i'], 1024)?,
///     Decoded::Frame { payload_start: 4, frame_len: 6 }
/// );
/// # Ok::<(), ErrorKind>(())
/// ```
impl<D: Deframer + ?Sized> Deframer for alloc::boxed::Box<D> {
    #[inline]
    fn header_len(&self) -> usize {
        (**self).header_len()
    }

    #[inline]
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> Result<(), ErrorKind> {
        (**self).verify(header, payload)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }

    #[inline]
    fn decode(&mut self, src: &[u8], max_frame_len: usize) -> Result<Decoded, ErrorKind> {
        (**self).decode(src, max_frame_len)
    }
}

// `Deframer` must stay object safe: `Box<dyn Deframer>` is part of the API.
// This line stops compiling if a change to the trait breaks that.
const _: Option<&dyn Deframer> = None;
