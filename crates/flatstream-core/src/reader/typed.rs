//! Typed reading on `StreamReader`: verified FlatBuffers roots.

use core::fmt;
use core::marker::PhantomData;
use std::io::Read;

use flatbuffers::VerifierOptions;

use super::{StreamReader, blocking, read_from};
use crate::typed::verify_root;
use crate::{Deframer, Result, RootType};

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Calls `f` with the verified root of every payload until a clean end of
    /// input, with the verifier's default limits.
    ///
    /// Each payload goes through the FlatBuffers verifier before `f` sees it:
    /// `f` gets the generated accessor type (`Telemetry<'_>`), and no field
    /// access can read out of bounds. The verifier checks structure, not the
    /// file identifier: in a stream that mixes message types, dispatch on
    /// [`flatbuffers::buffer_has_identifier`] with
    /// [`process_all`](StreamReader::process_all) instead.
    ///
    /// Name the root with [`root_type!`](crate::root_type):
    /// `root_type!(Telemetry);`, then `reader.process_typed::<Telemetry>(..)`.
    ///
    /// # Errors
    ///
    /// As [`process_all`](StreamReader::process_all), plus
    /// [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) when the verifier rejects a payload, positioned
    /// at that frame. The frame has been consumed: calling again continues
    /// with the next frame.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind, Framer, Result as R};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> R<()> {
    /// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes()); Ok(())
    /// #     }
    /// # }
    /// # #[derive(Debug)] struct DefaultDeframer;
    /// # impl Deframer for DefaultDeframer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::{Position, StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write(&"one")?;
    /// writer.write_payload(&[0xFF; 3])?; // not a FlatBuffer
    /// writer.write(&"two")?;
    /// let bytes = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let mut seen = Vec::new();
    /// let err = reader
    ///     .process_typed::<Text>(|text| Ok(seen.push(text.to_owned())))
    ///     .unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
    /// assert_eq!(err.position(), Some(Position { offset: 16, frame: 1 }));
    /// assert!(err.is_resumable());
    /// reader.process_typed::<Text>(|text| Ok(seen.push(text.to_owned())))?;
    /// assert_eq!(seen, ["one", "two"]);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn process_typed<T: RootType>(
        &mut self,
        mut f: impl FnMut(T::Root<'_>) -> Result<()>,
    ) -> Result<()> {
        while let Some(root) = self.read_typed::<T>(None)? {
            f(root)?;
        }
        Ok(())
    }

    /// [`process_typed`](StreamReader::process_typed) with the verifier's
    /// limits set by `options`: the maximum table depth, number of tables and
    /// apparent size (the size of the buffer if shared objects were
    /// duplicated), which bound the work a hostile payload can cause.
    ///
    /// # Errors
    ///
    /// As [`process_typed`](StreamReader::process_typed); a payload over a
    /// limit is [`ErrorKind::Invalid`](crate::ErrorKind::Invalid).
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind, Framer, Result as R};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> R<()> {
    /// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes()); Ok(())
    /// #     }
    /// # }
    /// # #[derive(Debug)] struct DefaultDeframer;
    /// # impl Deframer for DefaultDeframer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::flatbuffers::VerifierOptions;
    /// use flatstream_core::{StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write(&"x".repeat(100))?;
    /// let bytes = writer.into_inner();
    ///
    /// let strict = VerifierOptions { max_apparent_size: 64, ..VerifierOptions::default() };
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let err = reader.process_typed_with::<Text>(&strict, |_| Ok(())).unwrap_err();
    /// assert!(err.to_string().contains("Apparent size too large"));
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn process_typed_with<T: RootType>(
        &mut self,
        options: &VerifierOptions,
        mut f: impl FnMut(T::Root<'_>) -> Result<()>,
    ) -> Result<()> {
        while let Some(root) = self.read_typed::<T>(Some(options))? {
            f(root)?;
        }
        Ok(())
    }

    /// A lending iterator over verified roots, with the verifier's default
    /// limits, for loops that may `break` early:
    /// `while let Some(root) = messages.next()? { .. }`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind, Framer, Result as R};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> R<()> {
    /// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes()); Ok(())
    /// #     }
    /// # }
    /// # #[derive(Debug)] struct DefaultDeframer;
    /// # impl Deframer for DefaultDeframer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::{StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// for word in ["a", "b", "stop", "c"] {
    ///     writer.write(&word)?;
    /// }
    /// let bytes = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let mut messages = reader.typed_messages::<Text>();
    /// let mut seen = String::new();
    /// while let Some(word) = messages.next()? {
    ///     if word == "stop" {
    ///         break;
    ///     }
    ///     seen.push_str(word);
    /// }
    /// assert_eq!(seen, "ab");
    /// assert_eq!(reader.frames_read(), 3);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn typed_messages<T: RootType>(&mut self) -> TypedMessages<'_, T, R, D> {
        TypedMessages {
            reader: self,
            options: None,
            root: PhantomData,
        }
    }

    /// [`typed_messages`](StreamReader::typed_messages) with the verifier's
    /// limits set by `options`, as in
    /// [`process_typed_with`](StreamReader::process_typed_with).
    pub fn typed_messages_with<T: RootType>(
        &mut self,
        options: VerifierOptions,
    ) -> TypedMessages<'_, T, R, D> {
        TypedMessages {
            reader: self,
            options: Some(options),
            root: PhantomData,
        }
    }

    /// Calls `f` with the root of every payload, **without verifying it**,
    /// until a clean end of input.
    ///
    /// This skips the FlatBuffers verifier, whose cost grows with the number
    /// of tables, vectors and strings in a message. It is meant for data this
    /// process or a trusted peer wrote and nothing can have altered since (a
    /// checksum framer catches corruption at rest or in transit, but not a
    /// writer that wrote the wrong type). On any other data, use
    /// [`process_typed`](StreamReader::process_typed).
    ///
    /// # Safety
    ///
    /// Every payload this call reads must be a valid FlatBuffer whose root
    /// is `T::Root`, including every table, vector and string it refers to
    /// (an empty or truncated payload is not). Reading fields of an invalid
    /// buffer through the accessors is undefined behaviour: FlatBuffers'
    /// accessors follow offsets without bounds checks.
    ///
    /// # Errors
    ///
    /// As [`process_all`](StreamReader::process_all): the first error of
    /// [`read_message`](StreamReader::read_message) or of `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind, Framer, Result as R};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> R<()> {
    /// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes()); Ok(())
    /// #     }
    /// # }
    /// # #[derive(Debug)] struct DefaultDeframer;
    /// # impl Deframer for DefaultDeframer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::{StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write(&"trusted")?;
    /// let bytes = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let mut total = 0;
    /// // SAFETY: `bytes` was written just above, one string root per frame.
    /// unsafe {
    ///     reader.process_typed_unchecked::<Text>(|text| {
    ///         total += text.len();
    ///         Ok(())
    ///     })?;
    /// }
    /// assert_eq!(total, 7);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn process_typed_unchecked<T: RootType>(
        &mut self,
        mut f: impl FnMut(T::Root<'_>) -> Result<()>,
    ) -> Result<()> {
        while let Some(payload) = self.read_message()? {
            // SAFETY: the caller guarantees that every payload this call
            // reads is a valid FlatBuffer whose root is `T::Root`, which is
            // all `root_unchecked` requires. The root borrows `payload` and
            // cannot outlive this iteration.
            let root = unsafe { flatbuffers::root_unchecked::<T::Root<'_>>(payload) };
            f(root)?;
        }
        Ok(())
    }

    /// Reads the next frame and verifies its payload as a `T::Root`.
    #[inline]
    fn read_typed<T: RootType>(
        &mut self,
        options: Option<&VerifierOptions>,
    ) -> Result<Option<T::Root<'_>>> {
        // The frame is consumed before verification, so that an invalid
        // payload can be skipped; an error points at the frame itself (not
        // at where the reader was: a header may have come first).
        let (inner, buffer) = (&mut self.inner, &mut self.buffer);
        let Some(frame) = blocking(buffer.poll_frame_span(read_from(inner)))? else {
            return Ok(None);
        };
        let at = self.buffer.frame_position(frame);
        verify_root::<T>(self.buffer.payload(frame), options, at).map(Some)
    }
}

/// A lending iterator over the verified roots of a [`StreamReader`]'s
/// payloads.
///
/// Created by [`StreamReader::typed_messages`] and
/// [`StreamReader::typed_messages_with`].
pub struct TypedMessages<'r, T, R, D> {
    reader: &'r mut StreamReader<R, D>,
    /// `None`: options scaled to each payload (`verifier_options_for`).
    options: Option<VerifierOptions>,
    root: PhantomData<fn() -> T>,
}

impl<T: RootType, R: Read, D: Deframer> TypedMessages<'_, T, R, D> {
    /// The next verified root, or `None` at a clean end of input.
    ///
    /// # Errors
    ///
    /// As [`StreamReader::read_message`], plus [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) when
    /// the verifier rejects a payload; that frame has been consumed and the
    /// next call continues with the frame after it.
    #[allow(clippy::should_implement_trait)] // A lending iterator cannot be `Iterator`.
    #[inline]
    pub fn next(&mut self) -> Result<Option<T::Root<'_>>> {
        self.reader.read_typed::<T>(self.options.as_ref())
    }

    /// The verifier's limits this loop applies.
    #[must_use]
    pub fn options(&self) -> Option<&VerifierOptions> {
        self.options.as_ref()
    }
}

impl<T, R, D: fmt::Debug> fmt::Debug for TypedMessages<'_, T, R, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedMessages")
            .field("root", &core::any::type_name::<T>())
            .field("options", &self.options)
            .field("reader", &self.reader)
            .finish()
    }
}
