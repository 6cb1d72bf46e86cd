//! What every writer checks before the first byte of a frame is written,
//! and the frame's header: one place for the blocking writer, the codec and
//! any other encoder.

use crate::{Error, ErrorKind, Framer, Result};

/// Checks `payload` as every FlatStream writer does before any byte of its
/// frame is written, then encodes its header into `header` (the framer's
/// [`header_len`](Framer::header_len) bytes).
///
/// The checks: the payload is at most `max_frame_len` bytes, within the
/// framer's own [`max_frame_len`](Framer::max_frame_len) and within what
/// the u32 length prefix can hold ([`ErrorKind::FrameTooLarge`]); and, unless `allow_empty`, it is not
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
    // The length prefix is a u32 whatever the limits say; bounding the limit
    // by it also tells the compiler that the framer's own length conversion
    // cannot fail.
    let limit = max_frame_len
        .min(framer.max_frame_len())
        .min(u32::MAX as usize);
    if payload.len() > limit {
        return Err(too_large(payload.len(), limit));
    }
    // A FlatBuffer starts with a non-zero root offset, so the whole payload
    // is looked at (out of line) only when its first 4 bytes are zero.
    let zero_head = payload
        .first_chunk::<4>()
        .is_none_or(|head| *head == [0; 4]);
    if zero_head {
        refuse_empty(payload, allow_empty)?;
    }
    framer.encode_header(payload, header)
}

/// [`ErrorKind::EmptyPayload`] for an empty or all-zero payload unless
/// `allow_empty`. Called only when its first bytes are zero, which a
/// FlatBuffer's never are.
#[cold]
#[inline(never)]
fn refuse_empty(payload: &[u8], allow_empty: bool) -> Result<()> {
    if !allow_empty && payload.iter().all(|&b| b == 0) {
        return Err(Error::from(ErrorKind::EmptyPayload));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    /// A framer with a 4-byte header (the length, little-endian) and a
    /// limit of its own.
    struct Plain(usize);

    impl Framer for Plain {
        fn header_len(&self) -> usize {
            4
        }
        fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
            let len = u32::try_from(payload.len()).map_err(|_| ErrorKind::EmptyPayload)?;
            header.copy_from_slice(&len.to_le_bytes());
            Ok(())
        }
        fn max_frame_len(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn only_empty_and_all_zero_payloads_are_refused_and_only_unless_allowed() {
        for len in 0..=12 {
            // `None`: all zero; `Some(k)`: byte `k` is the only non-zero one.
            for one in core::iter::once(None).chain((0..len).map(Some)) {
                let mut payload = vec![0u8; len];
                if let Some(k) = one {
                    payload[k] = 0x80;
                }
                for allow_empty in [false, true] {
                    let mut header = [0xAA; 4];
                    let result = encode_header_checked(
                        &mut Plain(64),
                        &payload,
                        64,
                        allow_empty,
                        &mut header,
                    );
                    if one.is_none() && !allow_empty {
                        let err = result.expect_err("all zero");
                        assert!(matches!(err.kind(), ErrorKind::EmptyPayload), "{err:?}");
                        assert_eq!(header, [0xAA; 4], "nothing encoded");
                    } else {
                        result.expect("accepted");
                        assert_eq!(header, u32::try_from(len).unwrap().to_le_bytes());
                    }
                }
            }
        }
    }

    #[test]
    fn the_limit_is_the_smaller_of_the_callers_and_the_framers() {
        let payload = [1u8; 10];
        for (max, framer_max, limit) in [
            (10, 64, None),
            (9, 64, Some(9)),
            (64, 10, None),
            (64, 9, Some(9)),
            (usize::MAX, usize::MAX, None),
        ] {
            let result =
                encode_header_checked(&mut Plain(framer_max), &payload, max, false, &mut [0; 4]);
            match limit {
                None => result.expect("within every limit"),
                Some(limit) => {
                    let err = result.expect_err("too large");
                    assert!(
                        matches!(err.kind(), ErrorKind::FrameTooLarge { declared: 10, limit: l } if *l == limit),
                        "{err:?}"
                    );
                }
            }
        }
    }
}
