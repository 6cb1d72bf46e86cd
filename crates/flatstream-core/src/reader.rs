//! `StreamReader`: deframes payloads from any `std::io::Read`, in place.

use alloc::boxed::Box;
use alloc::vec::Vec;
use std::io::{self, Read};

use crate::wire::DEFAULT_MAX_FRAME_LEN;
use crate::{Decoded, Deframer, Error, ErrorKind, MemoryPolicy, Position, Result};

mod recovery;
mod typed;

pub use self::recovery::{Recovery, Tail, recover, recover_file_for_append};
pub use self::typed::{RootType, TypedMessages};

/// Bytes asked of the source per read once the buffer has room: large reads
/// keep system calls rare, and frames are deframed where they land.
const READ_CHUNK: usize = 64 * 1024;

/// Reads framed FlatBuffers from a [`Read`] source, zero-copy.
///
/// The reader keeps one buffer, fills it with large reads and deframes in
/// place: each payload is a `&[u8]` borrowed from that buffer, valid until the
/// next read. Once the buffer has grown to fit the largest frame, reading
/// allocates nothing. The reader does its own buffering, so a
/// [`BufReader`](std::io::BufReader) around the source adds nothing.
///
/// # End of input
///
/// - A clean end at a frame boundary is `Ok(None)`.
/// - An incomplete frame at the end (a torn tail) is
///   [`ErrorKind::UnexpectedEof`], positioned at the start of that frame,
///   after every complete frame before it was returned.
/// - A declared length over the limit is [`ErrorKind::FrameTooLarge`], raised
///   before any memory is reserved for the payload. The reader cannot know
///   where the next frame starts and stays at the bad frame.
/// - A checksum mismatch is [`ErrorKind::ChecksumMismatch`]; the bad frame has
///   been consumed and reading again continues with the next frame.
///
/// Reads that fail with [`io::ErrorKind::Interrupted`] are retried. Any other
/// I/O error, `WouldBlock` included, is returned with nothing consumed, so a
/// later call resumes exactly where this one stopped.
///
/// # Examples
///
/// ```
/// use flatstream_core::StreamReader;
/// # use flatstream_core::{Deframer, ErrorKind};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
/// # }
///
/// let stream: &[u8] = &[2, 0, 0, 0, b'h', b'i', 0, 0, 0, 0];
/// let mut reader = StreamReader::new(stream, DefaultDeframer);
/// let mut lengths = Vec::new();
/// reader.process_all(|payload| {
///     lengths.push(payload.len());
///     Ok(())
/// })?;
/// assert_eq!(lengths, [2, 0]);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub struct StreamReader<R, D> {
    inner: R,
    deframer: D,
    buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    pos: usize,
    /// End of the bytes read into `buf`.
    filled: usize,
    /// Stream offset of `buf[pos]`.
    offset: u64,
    /// Frames consumed so far.
    frames: u64,
    max_frame_len: usize,
    /// When to give buffer memory back; `None` keeps it (the default).
    memory: Option<Box<dyn MemoryPolicy + Send>>,
    /// A recovery scan that an I/O error interrupted, to resume.
    recovering: Option<recovery::RecoverScan>,
}

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Creates a reader that deframes `inner` with `deframer`.
    ///
    /// The frame limit is [`DEFAULT_MAX_FRAME_LEN`] (2 GiB). No memory is
    /// reserved until the first read.
    pub fn new(inner: R, deframer: D) -> Self {
        StreamReader {
            inner,
            deframer,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            offset: 0,
            frames: 0,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            memory: None,
            recovering: None,
        }
    }

    /// Lets `policy` decide when the read buffer gives memory back.
    ///
    /// Without a policy the buffer keeps the size of the largest frame seen.
    /// The policy is consulted before each refill of the buffer (once per
    /// read chunk, not per message).
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
    /// use flatstream_core::{ShrinkAbove, StreamReader};
    ///
    /// let mut stream = Vec::new();
    /// for len in [4 << 20, 10, 10] {
    ///     stream.extend_from_slice(&(len as u32).to_le_bytes());
    ///     stream.resize(stream.len() + len, 7);
    /// }
    /// let mut reader = StreamReader::new(stream.as_slice(), DefaultDeframer)
    ///     .with_memory_policy(ShrinkAbove::new(1 << 20, 64 << 10));
    /// while reader.read_message()?.is_some() {}
    /// assert!(reader.capacity() <= 64 << 10, "the 4 MiB buffer was given back");
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_memory_policy<P: MemoryPolicy + Send + 'static>(mut self, policy: P) -> Self {
        self.memory = Some(Box::new(policy));
        self
    }

    /// Bytes the read buffer holds now.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Sets the largest payload length this reader accepts.
    ///
    /// A frame declaring more is refused with [`ErrorKind::FrameTooLarge`]
    /// before anything is reserved for it.
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
    /// use flatstream_core::{ErrorKind, Position, StreamReader};
    ///
    /// let hostile: &[u8] = &[0xFF, 0xFF, 0xFF, 0x7F]; // declares 2 GiB - 1
    /// let mut reader = StreamReader::new(hostile, DefaultDeframer).with_max_frame_len(1 << 20);
    /// let err = reader.read_message().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { limit: 1048576, .. }));
    /// assert_eq!(err.position(), Some(Position { offset: 0, frame: 0 }));
    /// ```
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = max_frame_len;
        self
    }

    /// Reads the next frame and returns its payload, or `None` at a clean end
    /// of input.
    ///
    /// # Errors
    ///
    /// See the type's documentation: [`ErrorKind::UnexpectedEof`] for a torn
    /// tail, [`ErrorKind::FrameTooLarge`], [`ErrorKind::ChecksumMismatch`], and
    /// [`ErrorKind::Io`]; each with the position of the frame concerned.
    #[inline]
    pub fn read_message(&mut self) -> Result<Option<&[u8]>> {
        match self.next_frame() {
            Ok(Some(frame)) => Ok(Some(&self.buf[frame.payload_start..frame.end])),
            Ok(None) => Ok(None),
            Err(rejected) => {
                // A frame rejected by `verify` (a checksum mismatch, say) was
                // read whole: consume it so that the caller may go on. A bad
                // length is never skipped: the next frame's start is unknown.
                if let Some(frame_len) = rejected.whole_frame_len {
                    self.consume(frame_len);
                }
                Err(rejected.error)
            }
        }
    }

    /// Calls `f` with every payload until a clean end of input.
    ///
    /// # Errors
    ///
    /// The first error of [`read_message`](StreamReader::read_message) or of
    /// `f`; payloads before it have been processed.
    pub fn process_all<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        while let Some(payload) = self.read_message()? {
            f(payload)?;
        }
        Ok(())
    }

    /// A lending iterator over payloads, for loops that may `break` early:
    /// `while let Some(payload) = messages.next()? { .. }`.
    pub fn messages(&mut self) -> Messages<'_, R, D> {
        Messages { reader: self }
    }

    /// Byte offset, from the start of the stream, of the next frame.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Frames consumed so far (returned or skipped after a checksum error).
    #[must_use]
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The deframer.
    pub fn deframer(&self) -> &D {
        &self.deframer
    }

    /// A shared reference to the source.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// A mutable reference to the source. Reading from it directly skips
    /// bytes the reader has not seen.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Bytes read from the source but not yet returned as frames.
    #[must_use]
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// Returns the source. Bytes in [`buffered`](StreamReader::buffered) are
    /// dropped.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Finds, verifies and consumes the next frame, reading as needed.
    ///
    /// Returns the frame's span in `buf`, `None` at a clean end, or the
    /// rejection; a rejected frame is never consumed here.
    #[inline]
    pub(crate) fn next_frame(&mut self) -> core::result::Result<Option<FrameSpan>, Rejected> {
        loop {
            let unread = &self.buf[self.pos..self.filled];
            match self.deframer.decode(unread, self.max_frame_len) {
                Ok(Decoded::Frame {
                    payload_start,
                    frame_len,
                }) => {
                    let start = self.pos;
                    self.consume(frame_len);
                    return Ok(Some(FrameSpan {
                        start,
                        payload_start: start + payload_start,
                        end: start + frame_len,
                    }));
                }
                Ok(Decoded::Incomplete { needed, required }) => {
                    let read = self.fill(needed).map_err(|e| Rejected {
                        error: Error::from(e).at(self.position()),
                        whole_frame_len: None,
                    })?;
                    if read == 0 {
                        return self.end_of_input(required).map(|()| None).map_err(|error| {
                            Rejected {
                                error,
                                whole_frame_len: None,
                            }
                        });
                    }
                }
                Err(kind) => {
                    let whole_frame_len = match kind {
                        ErrorKind::FrameTooLarge { .. } => None,
                        _ => self.buffered_frame_len(),
                    };
                    return Err(Rejected {
                        error: Error::from(kind).at(self.position()),
                        whole_frame_len,
                    });
                }
            }
        }
    }

    fn position(&self) -> Position {
        Position {
            offset: self.offset,
            frame: self.frames,
        }
    }

    /// Length of the frame at the read position, if it is wholly buffered.
    fn buffered_frame_len(&self) -> Option<usize> {
        crate::wire::whole_frame_len(&self.buf[self.pos..self.filled], self.deframer.header_len())
    }

    fn consume(&mut self, frame_len: usize) {
        self.pos += frame_len;
        self.offset += frame_len as u64;
        self.frames += 1;
    }

    /// A clean end when nothing is buffered, otherwise a torn tail.
    fn end_of_input(&self, required: usize) -> Result<()> {
        let available = self.filled - self.pos;
        if available == 0 {
            return Ok(());
        }
        Err(Error::from(ErrorKind::UnexpectedEof {
            available: available as u64,
            required: required as u64,
        })
        .at(self.position()))
    }

    /// Reads at least once into the buffer, making room for `needed` more
    /// bytes without ever reserving more than the bytes that actually arrive
    /// (plus one read chunk). Returns the bytes read; 0 means end of input.
    fn fill(&mut self, needed: usize) -> io::Result<usize> {
        let unread = self.filled - self.pos;
        if self.pos > 0 && (unread == 0 || self.buf.len() - self.filled < needed) {
            // Move the partial frame to the front instead of growing.
            self.buf.copy_within(self.pos..self.filled, 0);
            self.pos = 0;
            self.filled = unread;
        }
        if let Some(policy) = self.memory.as_mut() {
            let in_use = self.filled - self.pos + needed;
            if let Some(target) = policy.shrink_to(self.buf.len(), in_use) {
                let keep = target.max(in_use);
                if keep < self.buf.len() {
                    let unread = self.filled - self.pos;
                    self.buf.copy_within(self.pos..self.filled, 0);
                    self.pos = 0;
                    self.filled = unread;
                    self.buf.truncate(keep);
                    self.buf.shrink_to_fit();
                }
            }
        }
        if self.filled == self.buf.len() {
            // Grow geometrically, never past what the frame needs, so a
            // hostile length prefix costs only what its bytes deliver.
            let target = self.filled.saturating_add(needed);
            // At least one read chunk, so small frames are read many at a
            // time and deframed in place, not one read and one copy each.
            let grown = self.buf.len().saturating_mul(2).min(target).max(READ_CHUNK);
            let grown = grown.max(self.filled + 1);
            // Exactly: `grown` is already geometric, and `resize` alone would
            // round the last step up to twice the buffer.
            self.buf.reserve_exact(grown - self.buf.len());
            self.buf.resize(grown, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.filled..]) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Where a frame lies in the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameSpan {
    /// First byte of the header.
    pub(crate) start: usize,
    /// First byte of the payload.
    pub(crate) payload_start: usize,
    /// One past the last byte of the payload.
    pub(crate) end: usize,
}

/// A frame the reader could not return, and whether it lies whole in the
/// buffer (a frame that `verify` rejected), so that it can be skipped.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub(crate) error: Error,
    pub(crate) whole_frame_len: Option<usize>,
}

/// A lending iterator over the payloads of a [`StreamReader`].
///
/// Created by [`StreamReader::messages`].
///
/// # Examples
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
/// # }
/// use flatstream_core::StreamReader;
///
/// let stream: &[u8] = &[1, 0, 0, 0, b'a', 1, 0, 0, 0, b'!', 1, 0, 0, 0, b'b'];
/// let mut reader = StreamReader::new(stream, DefaultDeframer);
/// let mut messages = reader.messages();
/// let mut seen = Vec::new();
/// while let Some(payload) = messages.next()? {
///     if payload == b"!" {
///         break;
///     }
///     seen.push(payload.to_vec());
/// }
/// assert_eq!(seen, [b"a"]);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub struct Messages<'r, R, D> {
    reader: &'r mut StreamReader<R, D>,
}

impl<R: Read, D: Deframer> Messages<'_, R, D> {
    /// The next payload, or `None` at a clean end of input.
    ///
    /// # Errors
    ///
    /// As [`StreamReader::read_message`].
    #[allow(clippy::should_implement_trait)] // A lending iterator cannot be `Iterator`.
    #[inline]
    pub fn next(&mut self) -> Result<Option<&[u8]>> {
        self.reader.read_message()
    }
}

impl<R, D: core::fmt::Debug> core::fmt::Debug for StreamReader<R, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamReader")
            .field("deframer", &self.deframer)
            .field("max_frame_len", &self.max_frame_len)
            .field("offset", &self.offset)
            .field("frames", &self.frames)
            .field("buffered", &(self.filled - self.pos))
            .field("capacity", &self.buf.capacity())
            .field("memory_policy", &self.memory.is_some())
            .finish_non_exhaustive()
    }
}

impl<R, D: core::fmt::Debug> core::fmt::Debug for Messages<'_, R, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Messages")
            .field("reader", &self.reader)
            .finish()
    }
}
