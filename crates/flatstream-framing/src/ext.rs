//! The fluent adapter methods, the same on both sides.

use flatstream_core::{Deframer, Framer};

use crate::{Bounded, Observed, Validated, Validator};

/// Fluent adapters for every [`Framer`]: `.bounded(max)`,
/// `.observed(callback)`, `.validated(validator)`.
///
/// Adapters compose in any order and over every framer, and each is a thin
/// generic wrapper: statically dispatched, and zero-sized over a zero-sized
/// framer when its own parts are (a [`NoValidator`](crate::NoValidator), a
/// capture-less callback). [`DeframerExt`] has the same methods for reading.
///
/// # Examples
///
/// ```
/// use flatstream_core::{ErrorKind, StreamWriter};
/// use flatstream_framing::{DefaultFramer, FramerExt, SizeValidator};
///
/// let mut written = 0;
/// let framer = DefaultFramer
///     .validated(SizeValidator::at_least(4))
///     .observed(|_| written += 1)
///     .bounded(1024);
/// let mut writer = StreamWriter::new(Vec::new(), framer);
/// writer.write_payload(b"kept")?;
/// let err = writer.write_payload(b"no").unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
/// let err = writer.write_payload(&[0; 2048]).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { .. }));
/// drop(writer);
/// assert_eq!(written, 1);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub trait FramerExt: Framer + Sized {
    /// Refuses payloads longer than `max_frame_len` bytes, before any byte
    /// is written. See [`Bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::Framer;
    /// use flatstream_framing::{DefaultFramer, FramerExt};
    ///
    /// assert_eq!(DefaultFramer.bounded(4096).max_frame_len(), 4096);
    /// ```
    fn bounded(self, max_frame_len: usize) -> Bounded<Self> {
        Bounded::new(self, max_frame_len)
    }

    /// The same as [`bounded`](FramerExt::bounded).
    fn with_max_frame_len(self, max_frame_len: usize) -> Bounded<Self> {
        self.bounded(max_frame_len)
    }

    /// Calls `observer` with each payload once this framer has accepted it,
    /// just before the writer writes the frame. See [`Observed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::Framer;
    /// use flatstream_framing::{DefaultFramer, FramerExt};
    ///
    /// let mut bytes = 0;
    /// let mut framer = DefaultFramer.observed(|payload| bytes += payload.len());
    /// framer.encode_into(b"abc", &mut Vec::new())?;
    /// drop(framer);
    /// assert_eq!(bytes, 3);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    fn observed<O: FnMut(&[u8])>(self, observer: O) -> Observed<Self, O> {
        Observed::new(self, observer)
    }

    /// Runs `validator` on each payload before this framer and before any
    /// byte is written. See [`Validated`].
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::Framer;
    /// use flatstream_framing::{DefaultFramer, FramerExt, SizeValidator};
    ///
    /// let mut framer = DefaultFramer.validated(SizeValidator::at_most(2));
    /// assert!(framer.encode_into(b"abc", &mut Vec::new()).is_err());
    /// ```
    fn validated<V: Validator>(self, validator: V) -> Validated<Self, V> {
        Validated::new(self, validator)
    }
}

impl<F: Framer> FramerExt for F {}

/// Fluent adapters for every [`Deframer`]: `.bounded(max)`,
/// `.observed(callback)`, `.validated(validator)`, the read-side twins of
/// [`FramerExt`].
///
/// On reading, the adapters run from the inside out once the innermost
/// deframer has verified the frame: an observer outside a validator sees only
/// the payloads it accepted.
///
/// # Examples
///
/// ```
/// use flatstream_core::{ErrorKind, StreamReader};
/// use flatstream_framing::{DefaultDeframer, DeframerExt, SizeValidator};
///
/// let stream: &[u8] = &[2, 0, 0, 0, b'o', b'k', 0, 0, 0, 0, 1, 0, 0, 0, b'!'];
/// let (mut checked, mut accepted) = (0, 0);
/// let deframer = DefaultDeframer
///     .observed(|_| checked += 1)
///     .validated(SizeValidator::at_least(1))
///     .observed(|_| accepted += 1)
///     .bounded(1024);
/// let mut reader = StreamReader::new(stream, deframer);
/// let mut payloads = Vec::new();
/// loop {
///     match reader.read_message() {
///         Ok(Some(payload)) => payloads.push(payload.to_vec()),
///         Ok(None) => break,
///         Err(err) if matches!(err.kind(), ErrorKind::Invalid { .. }) => continue,
///         Err(err) => return Err(err),
///     }
/// }
/// drop(reader);
/// assert_eq!(payloads, [&b"ok"[..], b"!"]);
/// assert_eq!((checked, accepted), (3, 2));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub trait DeframerExt: Deframer + Sized {
    /// Refuses frames declaring more than `max_frame_len` payload bytes, as
    /// soon as the length prefix is read. See [`Bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::{ErrorKind, decode};
    /// use flatstream_framing::{DefaultDeframer, DeframerExt};
    ///
    /// let err = decode(&mut DefaultDeframer.bounded(8), &[9, 0, 0, 0], usize::MAX).unwrap_err();
    /// assert!(matches!(err, ErrorKind::FrameTooLarge { declared: 9, limit: 8 }));
    /// ```
    fn bounded(self, max_frame_len: usize) -> Bounded<Self> {
        Bounded::new(self, max_frame_len)
    }

    /// The same as [`bounded`](DeframerExt::bounded).
    fn with_max_frame_len(self, max_frame_len: usize) -> Bounded<Self> {
        self.bounded(max_frame_len)
    }

    /// Calls `observer` with each payload that passed this deframer's
    /// verification (its checksum), before the reader hands it out. See
    /// [`Observed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::decode;
    /// use flatstream_framing::{DefaultDeframer, DeframerExt};
    ///
    /// let mut seen = Vec::new();
    /// let mut deframer = DefaultDeframer.observed(|payload| seen.push(payload.to_vec()));
    /// decode(&mut deframer, &[2, 0, 0, 0, b'h', b'i'], 1024)?;
    /// drop(deframer);
    /// assert_eq!(seen, [b"hi"]);
    /// # Ok::<(), flatstream_core::ErrorKind>(())
    /// ```
    fn observed<O: FnMut(&[u8])>(self, observer: O) -> Observed<Self, O> {
        Observed::new(self, observer)
    }

    /// Runs `validator` on each payload that passed this deframer's
    /// verification (its checksum), before the reader hands it out. See
    /// [`Validated`].
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::{ErrorKind, decode};
    /// use flatstream_framing::{DefaultDeframer, DeframerExt, SizeValidator};
    ///
    /// let mut deframer = DefaultDeframer.validated(SizeValidator::at_least(4));
    /// let err = decode(&mut deframer, &[2, 0, 0, 0, b'h', b'i'], 1024).unwrap_err();
    /// assert!(matches!(err, ErrorKind::Invalid { validator: "SizeValidator", .. }));
    /// ```
    fn validated<V: Validator>(self, validator: V) -> Validated<Self, V> {
        Validated::new(self, validator)
    }
}

impl<D: Deframer> DeframerExt for D {}
