//! `SliceReader`: zero-copy frames straight out of a byte slice.

use core::marker::PhantomData;

use flatbuffers::VerifierOptions;

use crate::cursor::Polled;
use crate::typed::verify_root;
use crate::{
    AfterDamage, Deframer, FrameCursor, Position, RecoverOptions, Recovery, Result, RootType,
};
#[cfg(doc)]
use crate::{ErrorKind, wire::DEFAULT_MAX_FRAME_LEN};
use crate::{FrameSpan, Step, StreamHeader};

/// Reads frames from a byte slice, as an [`Iterator`] of payloads that borrow
/// the slice itself: no buffer, no copy, and `collect()` works.
///
/// It drives the same [`FrameCursor`] as `StreamReader` and reports the
/// same outcomes:
///
/// - the end of the slice at a frame boundary ends the iteration (`None`);
/// - an incomplete frame at the end is one `Err` with
///   [`ErrorKind::UnexpectedEof`], then `None`;
/// - a checksum mismatch (or a validator's refusal) is an `Err` for that
///   frame, and iteration continues with the next frame;
/// - a declared length over the limit is one `Err` with
///   [`ErrorKind::FrameTooLarge`], then `None`: the next frame's start is
///   unknown, and an iterator must not repeat an error forever. (A
///   `StreamReader` reports such an error again on every call instead; that
///   is the one difference, and it is the iterator's shape, not a policy.)
/// - with [`AfterDamage::Resync`] (salvage), damage is one `Err` with
///   [`ErrorKind::CorruptRegion`], then the good frames after it.
///
/// Every error carries the frame's [`Position`]; [`positioned`](SliceReader::positioned)
/// yields each payload with its position too.
///
/// It is the reader to use over a memory map or a buffer that already holds
/// the whole stream.
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind as K};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
/// use flatstream_core::{ErrorKind, SliceReader};
///
/// let stream = [1, 0, 0, 0, b'a', 2, 0, 0, 0, b'b', b'c'];
/// let payloads: Vec<&[u8]> = SliceReader::new(&stream, DefaultDeframer).collect::<Result<_, _>>()?;
/// assert_eq!(payloads, [&b"a"[..], &b"bc"[..]]);
///
/// // A torn tail is one error after the complete frames.
/// let mut frames = SliceReader::new(&stream[..8], DefaultDeframer);
/// assert_eq!(frames.next().transpose()?, Some(&b"a"[..]));
/// let err = frames.next().unwrap().unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::UnexpectedEof { available: 3, required: 4 }));
/// assert!(frames.next().is_none());
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SliceReader<'a, D> {
    data: &'a [u8],
    /// The cursor's unread bytes (`cursor.unread(data)`), carried from frame
    /// to frame so that the hot loop never slices `data` again.
    unread: &'a [u8],
    /// Everything between bytes and payloads; its buffer is `data`, whole.
    cursor: FrameCursor<D>,
    /// Set once the iteration cannot go on: the end, a torn tail, or an
    /// error that left the cursor where it was.
    done: bool,
    /// Where the stream's header is in `data`, once its first frame was
    /// one (decoded on request: nothing here needs dropping, so the hot
    /// loop keeps the reader in registers).
    header: Option<FrameSpan>,
}

impl<'a, D: Deframer> SliceReader<'a, D> {
    /// Reads the frames of `data` with `deframer`; the frame limit is
    /// [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new(data: &'a [u8], deframer: D) -> Self {
        SliceReader {
            data,
            unread: data,
            cursor: FrameCursor::new(deframer),
            done: false,
            header: None,
        }
    }

    /// Sets the largest payload length accepted.
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.cursor.set_max_frame_len(max_frame_len);
        self
    }

    /// Sets what the reader does after a damaged frame; see [`AfterDamage`].
    /// With [`AfterDamage::Resync`] (salvage) each damaged region is one
    /// `Err` with [`ErrorKind::CorruptRegion`], and iteration goes on with
    /// the good frames after it.
    #[must_use]
    pub fn with_after_damage(mut self, after_damage: AfterDamage) -> Self {
        self.cursor.set_after_damage(after_damage);
        self
    }

    /// Byte offset of the next frame (the end of the frames read so far).
    #[must_use]
    pub fn offset(&self) -> usize {
        self.cursor.consumed()
    }

    /// Frames consumed so far (returned, or skipped after a checksum error).
    #[must_use]
    pub fn frames_read(&self) -> u64 {
        self.cursor.position().frame
    }

    /// The offset and index of the next frame.
    #[must_use]
    pub fn position(&self) -> Position {
        self.cursor.position()
    }

    /// The bytes not read yet.
    #[must_use]
    pub fn remaining(&self) -> &'a [u8] {
        self.unread
    }

    /// The stream's self-describing header, if its first frame is one
    /// (see [`StreamHeader`]); it is never handed out as a payload. Before
    /// the first frame is read this looks at it, and consumes it only if it
    /// is the header.
    ///
    /// # Errors
    ///
    /// The damage of a first frame that looks like a header (a checksum
    /// mismatch, say), positioned at frame 0; the frame is then passed over
    /// as the reader's [`AfterDamage`] policy says.
    pub fn header(&mut self) -> Result<Option<StreamHeader>> {
        if self.cursor.peek_header(self.data) == Some(true) {
            let polled = self.cursor.poll(self.data, true);
            self.unread = self.cursor.unread(self.data);
            if let Step::Header(frame) = polled? {
                self.header = Some(frame);
            }
        }
        Ok(self
            .header
            .and_then(|frame| StreamHeader::decode(frame.payload(self.data))))
    }

    /// The deframer.
    pub fn deframer(&self) -> &D {
        self.cursor.deframer()
    }

    /// An iterator of `(Position, payload)`: each payload with the byte
    /// offset and index of its frame.
    pub fn positioned(self) -> Positioned<'a, D> {
        Positioned { reader: self }
    }

    /// An iterator of verified FlatBuffers roots of type `T`, borrowing the
    /// slice: typed reading without a copy. Each payload goes through the
    /// FlatBuffers verifier with limits scaled to its size
    /// ([`verifier_options_for`](crate::verifier_options_for)); a payload it
    /// rejects is an `Err` with [`ErrorKind::Invalid`], and iteration goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind as K};
    /// # #[derive(Debug)] struct DefaultDeframer;
    /// # impl Deframer for DefaultDeframer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// use flatstream_core::{RootType, SliceReader};
    ///
    /// /// A FlatBuffer whose root is a string.
    /// enum Text {}
    /// impl RootType for Text {
    ///     type Root<'buf> = &'buf str;
    /// }
    ///
    /// let mut builder = flatstream_core::flatbuffers::FlatBufferBuilder::new();
    /// let hello = builder.create_string("hello");
    /// builder.finish_minimal(hello);
    /// let payload = builder.finished_data();
    /// let mut stream = (payload.len() as u32).to_le_bytes().to_vec();
    /// stream.extend_from_slice(payload);
    ///
    /// let words: Vec<&str> = SliceReader::new(&stream, DefaultDeframer)
    ///     .typed::<Text>()
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(words, ["hello"]);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn typed<T: RootType>(self) -> TypedSlice<'a, T, D> {
        TypedSlice {
            reader: self,
            options: None,
            root: PhantomData,
        }
    }

    /// [`typed`](SliceReader::typed) with the verifier's limits set by
    /// `options` for every payload.
    pub fn typed_with<T: RootType>(self, options: VerifierOptions) -> TypedSlice<'a, T, D> {
        TypedSlice {
            reader: self,
            options: Some(options),
            root: PhantomData,
        }
    }

    /// Reports the intact frames from the reader's position to the end of
    /// the slice and how it ends, as [`recover`](crate::recover) does, without
    /// copying. The reader is spent afterwards.
    pub fn recover(&mut self, options: RecoverOptions) -> Recovery {
        self.done = true;
        let recovery = crate::recovery::recover_slice_with(&mut self.cursor, self.data, options);
        self.unread = self.cursor.unread(self.data);
        recovery
    }

    #[inline(always)]
    fn next_frame(&mut self) -> Option<Result<(Position, &'a [u8])>> {
        loop {
            if self.done {
                return None;
            }
            let (start, frame) = (self.unread.as_ptr(), self.cursor.position().frame);
            let span = match self.cursor.poll_unread(self.data, self.unread, true) {
                Ok(Polled::Frame {
                    span,
                    payload,
                    after,
                }) => {
                    self.unread = after;
                    return Some(Ok((self.cursor.position_of(&span), payload)));
                }
                // The first frame of the stream, judged apart.
                Ok(Polled::Other(Step::Frame(span))) => span,
                Ok(Polled::Other(Step::Header(span))) => {
                    self.unread = self.cursor.unread(self.data);
                    self.header = Some(span);
                    continue;
                }
                Ok(Polled::Other(Step::End | Step::Need { .. })) => {
                    self.done = true;
                    return None;
                }
                Err(error) => {
                    self.unread = self.cursor.unread(self.data);
                    // The end of a slice is final, and an error that left the
                    // cursor where it was would repeat forever: both end the
                    // iteration after being reported once.
                    let stuck = core::ptr::eq(self.unread.as_ptr(), start)
                        && self.cursor.position().frame == frame;
                    if error.ends_iteration(!stuck) {
                        self.done = true;
                    }
                    return Some(Err(error));
                }
            };
            self.unread = self.cursor.unread(self.data);
            return Some(Ok((
                self.cursor.position_of(&span),
                span.payload(self.data),
            )));
        }
    }
}

impl<'a, D: Deframer> Iterator for SliceReader<'a, D> {
    type Item = Result<&'a [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame()
            .map(|frame| frame.map(|(_, payload)| payload))
    }
}

impl<D: Deframer> core::iter::FusedIterator for SliceReader<'_, D> {}

/// A [`SliceReader`] that yields each payload with its frame's [`Position`].
///
/// Created by [`SliceReader::positioned`].
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind as K};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
/// use flatstream_core::{Position, SliceReader};
///
/// let stream = [1, 0, 0, 0, b'a', 2, 0, 0, 0, b'b', b'c'];
/// let mut frames = SliceReader::new(&stream, DefaultDeframer).positioned();
/// assert_eq!(frames.next().transpose()?, Some((Position { offset: 0, frame: 0 }, &b"a"[..])));
/// assert_eq!(frames.next().transpose()?, Some((Position { offset: 5, frame: 1 }, &b"bc"[..])));
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Positioned<'a, D> {
    reader: SliceReader<'a, D>,
}

impl<'a, D: Deframer> Iterator for Positioned<'a, D> {
    type Item = Result<(Position, &'a [u8])>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next_frame()
    }
}

impl<D: Deframer> core::iter::FusedIterator for Positioned<'_, D> {}

/// Verified FlatBuffers roots out of a [`SliceReader`], borrowing the slice.
///
/// Created by [`SliceReader::typed`].
#[derive(Debug, Clone)]
pub struct TypedSlice<'a, T, D> {
    reader: SliceReader<'a, D>,
    /// `None`: options scaled to each payload.
    options: Option<VerifierOptions>,
    root: PhantomData<fn() -> T>,
}

impl<'a, T: RootType, D: Deframer> Iterator for TypedSlice<'a, T, D> {
    type Item = Result<T::Root<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (at, payload) = match self.reader.next_frame()? {
            Ok(frame) => frame,
            Err(error) => return Some(Err(error)),
        };
        Some(verify_root::<T>(payload, self.options.as_ref(), at))
    }
}

impl<T: RootType, D: Deframer> core::iter::FusedIterator for TypedSlice<'_, T, D> {}
