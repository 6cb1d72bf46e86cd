//! `SliceReader`: zero-copy frames straight out of a byte slice.

use crate::wire::DEFAULT_MAX_FRAME_LEN;
use crate::{Decoded, Deframer, Error, ErrorKind, Position, Result};

/// Reads frames from a byte slice, as an [`Iterator`] of payloads that borrow
/// the slice itself: no buffer, no copy, and `collect()` works.
///
/// It drives the same [`Deframer::decode`] as `StreamReader` and reports the
/// same outcomes:
///
/// - the end of the slice at a frame boundary ends the iteration (`None`);
/// - an incomplete frame at the end is one `Err` with
///   [`ErrorKind::UnexpectedEof`], then `None`;
/// - a checksum mismatch (or a validator's refusal) is an `Err` for that
///   frame, and iteration continues with the next frame;
/// - a declared length over the limit is one `Err` with
///   [`ErrorKind::FrameTooLarge`], then `None`: the next frame's start is
///   unknown, and an iterator must not repeat an error forever.
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
    deframer: D,
    /// The bytes from the next frame on; its offset is
    /// `data.len() - rest.len()`, which keeps the parse loop to one pointer.
    rest: &'a [u8],
    /// Frames consumed so far.
    frames: u64,
    max_frame_len: usize,
    /// Set once the iteration cannot go on (end, torn tail, bad length).
    done: bool,
}

impl<'a, D: Deframer> SliceReader<'a, D> {
    /// Reads the frames of `data` with `deframer`; the frame limit is
    /// [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new(data: &'a [u8], deframer: D) -> Self {
        SliceReader {
            data,
            deframer,
            rest: data,
            frames: 0,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            done: false,
        }
    }

    /// Sets the largest payload length accepted.
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = max_frame_len;
        self
    }

    /// Byte offset of the next frame (the end of the frames read so far).
    #[must_use]
    pub fn offset(&self) -> usize {
        self.data.len() - self.rest.len()
    }

    /// Frames consumed so far (returned, or skipped after a checksum error).
    #[must_use]
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The bytes not read yet.
    #[must_use]
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// The deframer.
    pub fn deframer(&self) -> &D {
        &self.deframer
    }

    /// An iterator of `(Position, payload)`: each payload with the byte
    /// offset and index of its frame.
    pub fn positioned(self) -> Positioned<'a, D> {
        Positioned { reader: self }
    }

    fn frame_position(&self) -> Position {
        Position {
            offset: self.offset() as u64,
            frame: self.frames,
        }
    }

    #[inline]
    fn next_frame(&mut self) -> Option<Result<(Position, &'a [u8])>> {
        if self.done {
            return None;
        }
        let unread = self.rest;
        let position = self.frame_position();
        match self.deframer.decode(unread, self.max_frame_len) {
            Ok(Decoded::Frame {
                payload_start,
                frame_len,
            }) => {
                let payload = &unread[payload_start..frame_len];
                self.rest = &unread[frame_len..];
                self.frames += 1;
                Some(Ok((position, payload)))
            }
            Ok(Decoded::Incomplete { required, .. }) => {
                self.done = true;
                if unread.is_empty() {
                    return None;
                }
                let kind = ErrorKind::UnexpectedEof {
                    available: unread.len() as u64,
                    required: required as u64,
                };
                Some(Err(Error::from(kind).at(position)))
            }
            Err(kind) => {
                match kind {
                    ErrorKind::FrameTooLarge { .. } => self.done = true,
                    // Rejected by `verify`: the frame is whole; go on after it.
                    _ => match crate::wire::whole_frame_len(unread, self.deframer.header_len()) {
                        Some(frame_len) => {
                            self.rest = &unread[frame_len..];
                            self.frames += 1;
                        }
                        None => self.done = true,
                    },
                }
                Some(Err(Error::from(kind).at(position)))
            }
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
