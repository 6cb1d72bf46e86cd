//! The read-side framing strategy and the one deframing state machine.

use crate::ErrorKind;
use crate::wire;

/// What [`decode`] found at the start of its input.
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
/// supply the header length, their frame limit and the verification of a
/// complete frame; everything else (finding frames, consuming and skipping
/// them, deciding what the end of input means) is done by [`decode`] and the
/// [`FrameCursor`](crate::FrameCursor) that every reader drives, so no
/// deframer can change it.
///
/// Every method is required: an adapter that wraps a deframer must forward
/// each one, so none of the wrapped deframer's behaviour is dropped by
/// omission.
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
    /// the smaller of it and their own. A deframer with no limit of its own
    /// returns `usize::MAX`; adapters such as `Bounded` return the minimum of
    /// theirs and the wrapped deframer's, so limits compose.
    ///
    /// This method has no default on purpose: an adapter must say what it
    /// does with the limit of what it wraps, and cannot drop it by omission.
    fn max_frame_len(&self) -> usize;
}

/// Looks for one frame at the start of `src`: the one deframing state
/// machine, shared by every reader through [`FrameCursor`](crate::FrameCursor).
///
/// A declared payload length above `max_frame_len` (or the deframer's own
/// [`max_frame_len`](Deframer::max_frame_len), if smaller) is refused as soon
/// as the 4-byte length prefix is complete, before the rest of the header or
/// the payload is awaited. It is a free function, not a trait method, so that
/// no deframer (and no adapter) can change how frames are found: a wrapped
/// deframer decodes exactly as the unwrapped one.
///
/// # Errors
///
/// [`ErrorKind::InvalidHeaderLen`] when the deframer's header cannot hold
/// the length prefix (or exceeds [`wire::MAX_HEADER_LEN`]),
/// [`ErrorKind::FrameTooLarge`] for a declared length over the limit, or the
/// error of [`Deframer::verify`].
///
/// # Examples
///
/// ```
/// use flatstream_core::{Decoded, Deframer, ErrorKind, decode, wire};
///
/// #[derive(Debug)]
/// struct LengthOnly;
/// impl Deframer for LengthOnly {
///     fn header_len(&self) -> usize { wire::LENGTH_PREFIX_LEN }
///     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
///     fn max_frame_len(&self) -> usize { usize::MAX }
/// }
///
/// let stream = [2, 0, 0, 0, b'h', b'i', 9, 0];
/// assert_eq!(
///     decode(&mut LengthOnly, &stream, 1024)?,
///     Decoded::Frame { payload_start: 4, frame_len: 6 }
/// );
/// assert_eq!(
///     decode(&mut LengthOnly, &stream[6..], 1024)?,
///     Decoded::Incomplete { needed: 2, required: 4 }
/// );
/// # Ok::<(), ErrorKind>(())
/// ```
#[inline(always)]
pub fn decode<D: Deframer + ?Sized>(
    deframer: &mut D,
    src: &[u8],
    max_frame_len: usize,
) -> Result<Decoded, ErrorKind> {
    decode_parts(deframer, src, max_frame_len).map(|parts| match parts {
        Parts::Frame {
            payload_start,
            frame_len,
            ..
        } => Decoded::Frame {
            payload_start,
            frame_len,
        },
        Parts::Incomplete { needed, required } => Decoded::Incomplete { needed, required },
    })
}

/// What [`decode_parts`] found: [`Decoded`], with the payload itself and the
/// bytes after the frame.
#[derive(Debug)]
pub(crate) enum Parts<'a> {
    Frame {
        payload_start: usize,
        frame_len: usize,
        payload: &'a [u8],
        after: &'a [u8],
    },
    Incomplete {
        needed: usize,
        required: usize,
    },
}

/// [`decode`], handing out the payload slice it checked and the bytes after
/// the frame, so that no caller slices (and bounds-checks) them again.
#[inline(always)]
pub(crate) fn decode_parts<'a, D: Deframer + ?Sized>(
    deframer: &mut D,
    src: &'a [u8],
    max_frame_len: usize,
) -> Result<Parts<'a>, ErrorKind> {
    let header_len = deframer.header_len();
    if !(wire::LENGTH_PREFIX_LEN..=wire::MAX_HEADER_LEN).contains(&header_len) {
        return Err(invalid_header_len(header_len));
    }
    let limit = max_frame_len.min(deframer.max_frame_len());
    // A frame not all there is rare next to whole frames (once per read at
    // most): the hints keep a whole frame the straight line through a
    // driver's loop (measured at 64 B: 296 instructions per CRC-16 frame
    // without them, 284 with).
    let Some(header) = src.get(..header_len) else {
        core::hint::cold_path();
        // Judge the declared length as soon as it is complete, before
        // waiting for the rest of the header or reserving anything for the
        // payload.
        if let Some(prefix) = src.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>() {
            let declared = u32::from_le_bytes(*prefix);
            if usize::try_from(declared).unwrap_or(usize::MAX) > limit {
                return Err(too_large(declared, limit));
            }
        }
        return Ok(Parts::Incomplete {
            needed: header_len - src.len(),
            required: header_len,
        });
    };
    let declared = wire::read_length_prefix(header);
    let payload_len = usize::try_from(declared).unwrap_or(usize::MAX);
    if payload_len > limit {
        return Err(too_large(declared, limit));
    }
    let frame_len = header_len.saturating_add(payload_len);
    let Some((frame, after)) = src.split_at_checked(frame_len) else {
        core::hint::cold_path();
        return Ok(Parts::Incomplete {
            needed: frame_len - src.len(),
            required: frame_len,
        });
    };
    let (header, payload) = frame.split_at(header_len);
    deframer.verify(header, payload)?;
    Ok(Parts::Frame {
        payload_start: header_len,
        frame_len,
        payload,
        after,
    })
}

#[cold]
#[inline(never)]
fn too_large(declared: u32, limit: usize) -> ErrorKind {
    ErrorKind::FrameTooLarge {
        declared: u64::from(declared),
        limit: limit as u64,
    }
}

#[cold]
#[inline(never)]
fn invalid_header_len(header_len: usize) -> ErrorKind {
    ErrorKind::InvalidHeaderLen {
        header_len,
        max: wire::MAX_HEADER_LEN,
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
}

/// A boxed deframer is a deframer, so a program can choose its framing at
/// run time: `Box<dyn Deframer>` (or `Box<dyn Deframer + Send>`) works
/// wherever a deframer is expected. Every method is forwarded, limits and
/// the limit included.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Decoded, Deframer, ErrorKind, decode, wire};
///
/// #[derive(Debug)]
/// struct LengthOnly;
/// impl Deframer for LengthOnly {
///     fn header_len(&self) -> usize { wire::LENGTH_PREFIX_LEN }
///     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
///     fn max_frame_len(&self) -> usize { usize::MAX }
/// }
///
/// let mut deframer: Box<dyn Deframer> = Box::new(LengthOnly);
/// assert_eq!(
///     decode(&mut deframer, &[2, 0, 0, 0, b'h', b'i'], 1024)?,
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
}
