//! A callback that sees every payload a framer or deframer lets through.

use core::fmt;

use flatstream_core::{Deframer, ErrorKind, Framer, Result};

/// A framer or deframer that calls `observer` with each payload it lets
/// through: for metrics, tracing or tapping a stream.
///
/// Built by [`FramerExt::observed`](crate::FramerExt::observed) or
/// [`DeframerExt::observed`](crate::DeframerExt::observed). The observer is a
/// plain `FnMut(&[u8])`, so it may count into a local variable without a
/// `Cell`; it cannot fail and cannot change the payload.
///
/// When it is called, exactly:
///
/// - **Writing**: from [`encode_header`](Framer::encode_header), once the
///   inner framer has accepted the payload and written its header, and
///   before the writer writes the frame. By then the writer's limit and
///   every validator inside *or outside* this adapter have accepted it, so
///   the observer sees each payload that is about to be written, once. (If
///   the sink then fails, the observer has already seen that payload.)
/// - **Reading**: from [`verify`](Deframer::verify), once the inner
///   deframer has verified the frame (its checksum matched), before the
///   reader hands the payload out. Here the order matters: a
///   [`Validated`](crate::Validated) *inside* this adapter has run already,
///   so the observer sees only valid payloads; one *outside* runs after it,
///   so the observer also sees payloads that validator then refuses.
///   Frames refused for their length never reach the observer.
///
/// # Examples
///
/// ```
/// use flatstream_core::{StreamReader, StreamWriter};
/// use flatstream_framing::{DefaultDeframer, DefaultFramer, DeframerExt, FramerExt};
///
/// let (mut written, mut written_bytes) = (0, 0);
/// let mut writer = StreamWriter::new(
///     Vec::new(),
///     DefaultFramer.observed(|payload| {
///         written += 1;
///         written_bytes += payload.len();
///     }),
/// );
/// writer.write_payload(b"first")?;
/// writer.write_payload(b"second")?;
/// let stream = writer.into_inner(); // ends the borrow of the counters
/// assert_eq!((written, written_bytes), (2, 11));
///
/// let mut read = 0;
/// let mut reader = StreamReader::new(stream.as_slice(), DefaultDeframer.observed(|_| read += 1));
/// reader.process_all(|_| Ok(()))?;
/// drop(reader);
/// assert_eq!(read, 2);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Observed<T, O> {
    inner: T,
    observer: O,
}

impl<T, O: FnMut(&[u8])> Observed<T, O> {
    /// Wraps `inner`, calling `observer` with each payload it lets through.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::Framer;
    /// use flatstream_framing::{DefaultFramer, Observed};
    ///
    /// let mut seen = Vec::new();
    /// let mut framer = Observed::new(DefaultFramer, |payload: &[u8]| seen.push(payload.len()));
    /// framer.encode_into(b"abc", &mut Vec::new())?;
    /// drop(framer);
    /// assert_eq!(seen, [3]);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn new(inner: T, observer: O) -> Self {
        Observed { inner, observer }
    }
}

impl<T, O> Observed<T, O> {
    /// The wrapped framer or deframer.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped framer or deframer, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// Returns the wrapped framer or deframer.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// Returns the wrapped framer or deframer and the observer.
    pub fn into_parts(self) -> (T, O) {
        (self.inner, self.observer)
    }
}

impl<T: fmt::Debug, O> fmt::Debug for Observed<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observed")
            .field("inner", &self.inner)
            .field("observer", &core::any::type_name::<O>())
            .finish()
    }
}

impl<F: Framer, O: FnMut(&[u8])> Framer for Observed<F, O> {
    #[inline]
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        self.inner.encode_header(payload, header)?;
        (self.observer)(payload);
        Ok(())
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }
}

impl<D: Deframer, O: FnMut(&[u8])> Deframer for Observed<D, O> {
    #[inline]
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    #[inline]
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        self.inner.verify(header, payload)?;
        (self.observer)(payload);
        Ok(())
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }
}
