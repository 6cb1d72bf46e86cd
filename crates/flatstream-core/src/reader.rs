//! `StreamReader`: deframes payloads from any `std::io::Read`, in place.

use alloc::boxed::Box;
use core::task::Poll;
use std::io::{self, Read};

use crate::{
    AfterDamage, Deframer, Error, MemoryPolicy, Position, ReadBuffer, Result, StreamHeader,
};
#[cfg(doc)]
use crate::{ErrorKind, wire::DEFAULT_MAX_FRAME_LEN};

mod recovery;
mod typed;

pub(crate) use self::recovery::Suspended;
pub use self::recovery::{
    recover, recover_file_for_append, recover_file_for_append_with, recover_with,
};
pub use self::typed::TypedMessages;

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
/// These are the rules of the [`FrameCursor`](crate::FrameCursor) that the reader drives, with
/// the default [`AfterDamage::Skip`]; [`with_after_damage`](StreamReader::with_after_damage)
/// chooses salvage ([`AfterDamage::Resync`]) instead.
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
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
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
    /// The buffer, the frame cursor and the memory policy: everything but
    /// the source.
    buffer: ReadBuffer<D>,
    /// A recovery scan that an I/O error interrupted, to resume.
    recovering: Option<Box<Suspended>>,
}

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Creates a reader that deframes `inner` with `deframer`.
    ///
    /// The frame limit is [`DEFAULT_MAX_FRAME_LEN`] (2 GiB). No memory is
    /// reserved until the first read.
    pub fn new(inner: R, deframer: D) -> Self {
        StreamReader {
            inner,
            buffer: ReadBuffer::new(deframer),
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
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
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
        self.buffer.set_memory_policy(Box::new(policy));
        self
    }

    /// Bytes the read buffer holds now.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buffer.capacity()
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
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
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
        self.buffer.set_max_frame_len(max_frame_len);
        self
    }

    /// Sets what the reader does after a damaged frame; see [`AfterDamage`].
    ///
    /// [`AfterDamage::Resync`] is salvage: after a checksum mismatch or a
    /// bad length the reader skips to the next offset where a chain of
    /// frames verifies and reports the skipped bytes as one
    /// [`ErrorKind::CorruptRegion`]; calling again goes on with the frames
    /// after it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind as K};
    /// # #[derive(Debug)] struct Sum8Deframer;
    /// # impl Deframer for Sum8Deframer { // a 1-byte checksum: chains of 5 frames
    /// #     fn header_len(&self) -> usize { 5 }
    /// #     fn verify(&mut self, h: &[u8], p: &[u8]) -> Result<(), K> {
    /// #         let sum = p.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    /// #         if h[4] == sum { Ok(()) } else {
    /// #             Err(K::ChecksumMismatch { algorithm: "SUM-8", expected: h[4].into(), computed: sum.into() })
    /// #         }
    /// #     }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// use flatstream_core::{AfterDamage, ErrorKind, StreamReader};
    ///
    /// let mut stream = Vec::new();
    /// for payload in [&b"one"[..], b"two", b"three"] {
    ///     let sum = payload.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    ///     stream.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    ///     stream.push(sum);
    ///     stream.extend_from_slice(payload);
    /// }
    /// stream[2] ^= 0x40; // the first frame's length is damaged: 4 MiB
    ///
    /// let mut reader = StreamReader::new(stream.as_slice(), Sum8Deframer)
    ///     .with_after_damage(AfterDamage::Resync);
    /// let err = reader.read_message().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::CorruptRegion { len: 8, .. }));
    /// assert_eq!(reader.read_message()?, Some(&b"two"[..]));
    /// assert_eq!(reader.read_message()?, Some(&b"three"[..]));
    /// assert_eq!(reader.read_message()?, None);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_after_damage(mut self, after_damage: AfterDamage) -> Self {
        self.buffer.set_after_damage(after_damage);
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
        let (inner, buffer) = (&mut self.inner, &mut self.buffer);
        blocking(buffer.poll_frame(read_from(inner)))
    }

    /// Calls `f` with every payload until a clean end of input.
    ///
    /// # Errors
    ///
    /// The first error of [`read_message`](StreamReader::read_message) or of
    /// `f`; payloads before it have been processed.
    pub fn process_all<F>(&mut self, f: F) -> Result<()>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        blocking(self.buffer.poll_process_all(read_from(&mut self.inner), f))
    }

    /// A lending iterator over payloads, for loops that may `break` early:
    /// `while let Some(payload) = messages.next()? { .. }`.
    pub fn messages(&mut self) -> Messages<'_, R, D> {
        Messages { reader: self }
    }

    /// Byte offset, from the start of the stream, of the next frame.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.buffer.position().offset
    }

    /// Frames consumed so far (returned or skipped after a checksum error).
    #[must_use]
    pub fn frames_read(&self) -> u64 {
        self.buffer.position().frame
    }

    /// The stream's self-describing header, if its first frame is one
    /// (see [`StreamHeader`]). Before the first frame is read this reads
    /// until that frame is complete, and consumes it only if it is the
    /// header; a first frame that is a payload stays for
    /// [`read_message`](StreamReader::read_message). The header is never
    /// handed out as a payload.
    ///
    /// # Errors
    ///
    /// The source's error while reading the first frame, or the damage of a
    /// first frame that looks like a header (a checksum mismatch, say),
    /// positioned at frame 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Deframer, ErrorKind as K, Framer};
    /// # #[derive(Debug)] struct DefaultDeframer;
    /// # impl Deframer for DefaultDeframer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), K> { Ok(()) }
    /// #     fn max_frame_len(&self) -> usize { usize::MAX }
    /// # }
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> flatstream_core::Result<()> {
    /// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes());
    /// #         Ok(())
    /// #     }
    /// # }
    /// use flatstream_core::{StreamHeader, StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write_header(&StreamHeader::new().with_metadata("host", "probe-7"))?;
    /// writer.write_payload(b"first")?;
    /// let stream = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(stream.as_slice(), DefaultDeframer);
    /// let header = reader.header()?.expect("the stream has a header");
    /// assert_eq!(header.metadata("host"), Some("probe-7"));
    /// assert_eq!(reader.read_message()?, Some(&b"first"[..]));
    /// assert_eq!(reader.read_message()?, None);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn header(&mut self) -> Result<Option<&StreamHeader>> {
        let (inner, buffer) = (&mut self.inner, &mut self.buffer);
        blocking(buffer.poll_header(read_from(inner)))?;
        Ok(self.buffer.header())
    }

    /// The offset and index of the next frame.
    #[must_use]
    pub fn position(&self) -> Position {
        self.buffer.position()
    }

    /// The deframer.
    pub fn deframer(&self) -> &D {
        self.buffer.cursor().deframer()
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
        self.buffer.buffered()
    }

    /// Returns the source. Bytes in [`buffered`](StreamReader::buffered) are
    /// dropped.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads at least once into the buffer, making room for `needed` more
    /// bytes. Returns the bytes read; 0 means end of input.
    ///
    /// # Errors
    ///
    /// The source's error (`Interrupted` is retried), positioned at the next
    /// frame; nothing is consumed.
    pub(crate) fn fill(&mut self, needed: usize) -> Result<usize> {
        let (inner, buffer) = (&mut self.inner, &mut self.buffer);
        blocking(buffer.poll_fill(needed, &mut read_from(inner)))
    }
}

/// The read function of a blocking source: never `Pending`.
#[inline(always)]
fn read_from<R: Read>(inner: &mut R) -> impl FnMut(&mut [u8]) -> Poll<io::Result<usize>> + '_ {
    move |buf| Poll::Ready(inner.read(buf))
}

/// The result of a poll whose read function ([`read_from`]) never answers
/// `Pending`. (Were it to, that would be a `WouldBlock` with nothing
/// consumed; its position is not kept at hand, where it would cost a
/// register in the read loop for a case that cannot happen.)
#[inline(always)]
fn blocking<T>(poll: Poll<Result<T>>) -> Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Error::from(io::Error::from(io::ErrorKind::WouldBlock))),
    }
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
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
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
            .field("cursor", self.buffer.cursor())
            .field("buffered", &self.buffer.buffered().len())
            .field("capacity", &self.buffer.capacity())
            .field("memory_policy", &self.buffer.has_memory_policy())
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
