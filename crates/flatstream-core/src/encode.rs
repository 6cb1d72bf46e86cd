//! What every writer checks before the first byte of a frame is written,
//! and the frame's header: one place for the blocking writer, the codec and
//! any other encoder.

use crate::{Error, ErrorKind, Framer, Result};

/// Checks `payload` as every FlatStream writer does before any byte of its
/// frame is written, then encodes its header into `header` (the framer's
/// [`header_len`](Framer::header_len) bytes).
///
/// The checks: the payload is at most `max_frame_len` bytes and within the
/// framer's own [`max_frame_len`](Framer::max_frame_len)
/// ([`ErrorKind::FrameTooLarge`]); and, unless `allow_empty`, it is not
/// empty or all zero bytes ([`ErrorKind::EmptyPayload`]: such a frame reads
/// like zero fill, which recovery removes; a FlatBuffer never is one).
/// Errors carry no position: the caller knows where the frame would go.
///
/// # Errors
///
/// The refusals above, or the framer's error.
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Framer, Result};
/// # #[derive(Debug)] struct DefaultFramer;
/// # impl Framer for DefaultFramer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> Result<()> {
/// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes());
/// #         Ok(())
/// #     }
/// # }
/// use flatstream_core::{ErrorKind, encode_header_checked};
///
/// let mut header = [0u8; 4];
/// encode_header_checked(&mut DefaultFramer, b"hello", 1024, false, &mut header)?;
/// assert_eq!(header, [5, 0, 0, 0]);
///
/// let err = encode_header_checked(&mut DefaultFramer, &[0; 8], 1024, false, &mut header);
/// assert!(matches!(err.unwrap_err().kind(), ErrorKind::EmptyPayload));
/// let err = encode_header_checked(&mut DefaultFramer, b"hello", 4, false, &mut header);
/// assert!(matches!(err.unwrap_err().kind(), ErrorKind::FrameTooLarge { declared: 5, limit: 4 }));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[inline]
pub fn encode_header_checked<F: Framer + ?Sized>(
    framer: &mut F,
    payload: &[u8],
    max_frame_len: usize,
    allow_empty: bool,
    header: &mut [u8],
) -> Result<()> {
    let limit = max_frame_len.min(framer.max_frame_len());
    if payload.len() > limit {
        return Err(too_large(payload.len(), limit));
    }
    // A FlatBuffer starts with a non-zero root offset, so the whole payload
    // is scanned only when its first 4 bytes are zero.
    let zero_head = payload
        .first_chunk::<4>()
        .is_none_or(|head| *head == [0; 4]);
    if zero_head && !allow_empty && is_all_zero(payload) {
        return Err(Error::from(ErrorKind::EmptyPayload));
    }
    framer.encode_header(payload, header)
}

/// The error for a payload over the limit; out of line, so the write path
/// stays small enough to inline.
#[cold]
#[inline(never)]
fn too_large(len: usize, limit: usize) -> Error {
    Error::from(ErrorKind::FrameTooLarge {
        declared: len as u64,
        limit: limit as u64,
    })
}

/// Whether every byte of `payload` is zero (true when it is empty). Called
/// only when its first bytes are zero, which a FlatBuffer's never are.
#[cold]
#[inline(never)]
fn is_all_zero(payload: &[u8]) -> bool {
    payload.iter().all(|&b| b == 0)
}
