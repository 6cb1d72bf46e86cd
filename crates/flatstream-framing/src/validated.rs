//! A validator that guards a framer or deframer.

use flatstream_core::{Deframer, ErrorKind, Framer, Result};

use crate::Validator;

/// A framer or deframer that runs a [`Validator`] on every payload.
///
/// Built by [`FramerExt::validated`](crate::FramerExt::validated) or
/// [`DeframerExt::validated`](crate::DeframerExt::validated).
///
/// - **Writing**: the validator runs first, in
///   [`encode_header`](Framer::encode_header) before the inner framer; the
///   writers call `encode_header` before they write anything, so a refused
///   payload leaves the sink untouched. The error is an
///   [`ErrorKind::Invalid`] at the position the frame would have had, and
///   the writer can go on with the next payload.
/// - **Reading**: the inner deframer verifies the frame first (its
///   checksum), then the validator runs, before the reader hands the payload
///   out. A damaged payload is therefore reported as
///   [`ErrorKind::ChecksumMismatch`], never as `Invalid`; `Invalid` means
///   the bytes are those that were written, and they are not acceptable.
///   The refused frame has been consumed, so reading can go on.
///
/// Stacked `Validated` adapters run outermost first on writing and
/// innermost first on reading; the first refusal wins.
///
/// # Examples
///
/// ```
/// use flatstream_core::{ErrorKind, StreamReader, StreamWriter};
/// use flatstream_framing::{
///     DefaultDeframer, DefaultFramer, DeframerExt, FramerExt, SizeValidator,
/// };
///
/// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer.validated(SizeValidator::at_least(2)));
/// writer.write_payload(b"ok")?;
/// let err = writer.write_payload(b"x").unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Invalid { validator: "SizeValidator", .. }));
/// assert_eq!(writer.get_ref().len(), 6, "the refused payload wrote nothing");
///
/// // A plain writer lets it through; a validating reader refuses it and goes on.
/// let mut plain = StreamWriter::new(writer.into_inner(), DefaultFramer);
/// plain.write_payload(b"x")?;
/// plain.write_payload(b"fine")?;
/// let stream = plain.into_inner();
/// let mut reader = StreamReader::new(
///     stream.as_slice(),
///     DefaultDeframer.validated(SizeValidator::at_least(2)),
/// );
/// assert_eq!(reader.read_message()?, Some(&b"ok"[..]));
/// let err = reader.read_message().unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }) && err.is_resumable());
/// assert_eq!(reader.read_message()?, Some(&b"fine"[..]));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Validated<T, V> {
    inner: T,
    validator: V,
}

impl<T, V: Validator> Validated<T, V> {
    /// Wraps `inner`, running `validator` on every payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::{ErrorKind, Framer};
    /// use flatstream_framing::{DefaultFramer, SizeValidator, Validated};
    ///
    /// let mut framer = Validated::new(DefaultFramer, SizeValidator::at_most(2));
    /// let mut frame = Vec::new();
    /// let err = framer.encode_into(b"abc", &mut frame).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
    /// assert!(frame.is_empty());
    /// ```
    pub fn new(inner: T, validator: V) -> Self {
        Validated { inner, validator }
    }
}

impl<T, V> Validated<T, V> {
    /// The wrapped framer or deframer.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped framer or deframer, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The validator.
    pub fn validator(&self) -> &V {
        &self.validator
    }

    /// The validator, mutably.
    pub fn validator_mut(&mut self) -> &mut V {
        &mut self.validator
    }

    /// Returns the wrapped framer or deframer.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// Returns the wrapped framer or deframer and the validator.
    pub fn into_parts(self) -> (T, V) {
        (self.inner, self.validator)
    }
}

impl<F: Framer, V: Validator> Framer for Validated<F, V> {
    #[inline]
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    #[inline]
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        self.validator.validate(payload)?;
        self.inner.encode_header(payload, header)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }
}

impl<D: Deframer, V: Validator> Deframer for Validated<D, V> {
    #[inline]
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    #[inline]
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        self.inner.verify(header, payload)?;
        self.validator.validate(payload)
    }

    #[inline]
    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }
}
