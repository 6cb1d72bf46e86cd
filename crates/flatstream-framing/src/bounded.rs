//! A frame-length limit that travels with a framer or deframer.

use flatstream_core::{Deframer, ErrorKind, Framer, Result};

/// A framer or deframer with its own frame-length limit.
///
/// Built by [`FramerExt::bounded`](crate::FramerExt::bounded) or
/// [`DeframerExt::bounded`](crate::DeframerExt::bounded) (also spelled
/// `with_max_frame_len`). The effective limit is the smaller of
/// this one and the reader's or writer's own. On reading, a declared length
/// over it is refused as soon as the length prefix is complete, before any
/// memory is reserved; on writing, a longer payload is refused before any
/// byte reaches the sink.
///
/// # Examples
///
/// ```
/// use flatstream_core::{ErrorKind, StreamReader, StreamWriter};
/// use flatstream_framing::{DefaultDeframer, DefaultFramer, DeframerExt, FramerExt};
///
/// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer.bounded(16));
/// writer.write_payload(&[1; 16])?;
/// let err = writer.write_payload(&[1; 17]).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { declared: 17, limit: 16 }));
///
/// let stream = writer.into_inner();
/// let mut reader = StreamReader::new(stream.as_slice(), DefaultDeframer.bounded(8));
/// let err = reader.read_message().unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { declared: 16, limit: 8 }));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
///
/// Limits compose: each adapter forwards its inner `max_frame_len`, so the
/// smallest limit anywhere in a stack of adapters applies, in any order.
///
/// ```
/// use flatstream_core::Framer;
/// use flatstream_framing::{DefaultFramer, FramerExt, NoValidator};
///
/// let framer = DefaultFramer.bounded(64).observed(|_| {}).validated(NoValidator).bounded(1024);
/// assert_eq!(framer.max_frame_len(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bounded<T> {
    inner: T,
    max_frame_len: usize,
}

impl<T> Bounded<T> {
    /// Wraps `inner` with the limit `max_frame_len` (payload bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::Deframer;
    /// use flatstream_framing::{Bounded, DefaultDeframer};
    ///
    /// assert_eq!(Bounded::new(DefaultDeframer, 1 << 20).max_frame_len(), 1 << 20);
    /// ```
    pub fn new(inner: T, max_frame_len: usize) -> Self {
        Bounded {
            inner,
            max_frame_len,
        }
    }

    /// The wrapped framer or deframer.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped framer or deframer, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Returns the wrapped framer or deframer.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<F: Framer> Framer for Bounded<F> {
    #[inline]
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        self.inner.encode_header(payload, header)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        self.max_frame_len.min(self.inner.max_frame_len())
    }
}

impl<D: Deframer> Deframer for Bounded<D> {
    #[inline]
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    #[inline]
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        self.inner.verify(header, payload)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        self.max_frame_len.min(self.inner.max_frame_len())
    }
}
