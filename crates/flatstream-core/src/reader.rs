//! `StreamReader`: deframes payloads from any `std::io::Read`, in place.

use alloc::boxed::Box;
use alloc::vec::Vec;
use std::io::{self, Read};

use crate::cursor::{FrameSpan, Step};
use crate::{
    AfterDamage, Deframer, Error, FrameCursor, MemoryPolicy, Position, Result, StreamHeader,
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
/// These are the rules of the [`FrameCursor`] that the reader drives, with
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
    /// Everything between bytes and payloads: positions, consumption, what
    /// follows damage, what the end of input means.
    cursor: FrameCursor<D>,
    /// The window of the stream read so far; `buf[..cursor.consumed()]` is
    /// consumed and dropped at the next refill.
    buf: Vec<u8>,
    /// End of the bytes read into `buf`.
    filled: usize,
    /// When to give buffer memory back; `None` keeps it (the default).
    memory: Option<Box<dyn MemoryPolicy + Send>>,
    /// A recovery scan that an I/O error interrupted, to resume.
    recovering: Option<Suspended>,
    /// While a recovery scan runs: the stream offset from which read bytes
    /// must be kept although consumed.
    keep_from: Option<u64>,
    /// The stream's header, once its first frame was one.
    header: Option<Box<StreamHeader>>,
}

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Creates a reader that deframes `inner` with `deframer`.
    ///
    /// The frame limit is [`DEFAULT_MAX_FRAME_LEN`] (2 GiB). No memory is
    /// reserved until the first read.
    pub fn new(inner: R, deframer: D) -> Self {
        StreamReader {
            inner,
            cursor: FrameCursor::new(deframer),
            buf: Vec::new(),
            filled: 0,
            memory: None,
            recovering: None,
            keep_from: None,
            header: None,
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
        self.cursor.set_max_frame_len(max_frame_len);
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
        self.cursor.set_after_damage(after_damage);
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
        match self.next_frame()? {
            Some(frame) => Ok(Some(frame.payload(&self.buf))),
            None => Ok(None),
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
        // The same cursor as `read_message`, run over everything buffered
        // before the next read, so that the loop carries its position in
        // registers instead of returning once per frame.
        let mut eof = false;
        loop {
            let buf = &self.buf[..self.filled];
            match self.cursor.run(buf, eof, &mut f)? {
                Step::Frame(frame) => f(frame.payload(buf))?,
                Step::Header(frame) => {
                    self.header = StreamHeader::decode(frame.payload(buf)).map(Box::new);
                }
                Step::End => return Ok(()),
                Step::Need { needed, .. } => eof = self.fill(needed)? == 0,
            }
        }
    }

    /// A lending iterator over payloads, for loops that may `break` early:
    /// `while let Some(payload) = messages.next()? { .. }`.
    pub fn messages(&mut self) -> Messages<'_, R, D> {
        Messages { reader: self }
    }

    /// Byte offset, from the start of the stream, of the next frame.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.cursor.position().offset
    }

    /// Frames consumed so far (returned or skipped after a checksum error).
    #[must_use]
    pub fn frames_read(&self) -> u64 {
        self.cursor.position().frame
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
        loop {
            match self.cursor.peek_header(&self.buf[..self.filled]) {
                Some(false) => break,
                Some(true) => {
                    match self.cursor.poll(&self.buf[..self.filled], false)? {
                        Step::Header(frame) => self.keep_header(frame),
                        step => debug_assert!(false, "a header frame polled as {step:?}"),
                    }
                    break;
                }
                None => {
                    let needed = self.cursor.deframer().header_len();
                    if self.fill(needed)? == 0 {
                        break;
                    }
                }
            }
        }
        Ok(self.header.as_deref())
    }

    /// The offset and index of the next frame.
    #[must_use]
    pub fn position(&self) -> Position {
        self.cursor.position()
    }

    /// The deframer.
    pub fn deframer(&self) -> &D {
        self.cursor.deframer()
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
        self.cursor.unread(&self.buf[..self.filled])
    }

    /// Returns the source. Bytes in [`buffered`](StreamReader::buffered) are
    /// dropped.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Finds, verifies and consumes the next frame, reading as needed:
    /// the byte-moving loop around the cursor.
    #[inline]
    pub(crate) fn next_frame(&mut self) -> Result<Option<FrameSpan>> {
        let mut eof = false;
        loop {
            match self.cursor.poll(&self.buf[..self.filled], eof)? {
                Step::Frame(frame) => return Ok(Some(frame)),
                Step::Header(frame) => self.keep_header(frame),
                Step::End => return Ok(None),
                Step::Need { needed, .. } => eof = self.fill(needed)? == 0,
            }
        }
    }

    /// Keeps the header the cursor found in `frame`.
    fn keep_header(&mut self, frame: FrameSpan) {
        self.header = StreamHeader::decode(frame.payload(&self.buf)).map(Box::new);
    }

    /// Reads at least once into the buffer, making room for `needed` more
    /// bytes without ever reserving more than the bytes that actually arrive
    /// (plus one read chunk). Returns the bytes read; 0 means end of input.
    ///
    /// # Errors
    ///
    /// The source's error (`Interrupted` is retried), positioned at the next
    /// frame; nothing is consumed.
    pub(crate) fn fill(&mut self, needed: usize) -> Result<usize> {
        self.make_room(needed);
        loop {
            match self.inner.read(&mut self.buf[self.filled..]) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from(e).at(self.cursor.position())),
            }
        }
    }

    /// Drops consumed bytes, applies the memory policy and grows the buffer
    /// so that at least one byte (and, memory allowing, `needed`) fits.
    fn make_room(&mut self, needed: usize) {
        let consumed = self.droppable();
        let unread = self.filled - consumed;
        if consumed > 0 && (unread == 0 || self.buf.len() - self.filled < needed) {
            // Move the partial frame to the front instead of growing.
            self.buf.copy_within(consumed..self.filled, 0);
            self.cursor.discard_front(consumed);
            self.filled = unread;
        }
        if let Some(policy) = self.memory.as_mut() {
            let in_use = unread + needed;
            if let Some(target) = policy.shrink_to(self.buf.len(), in_use) {
                let keep = target.max(in_use);
                if keep < self.buf.len() {
                    let consumed = self.droppable();
                    self.cursor.discard_front(consumed);
                    self.buf.copy_within(consumed..self.filled, 0);
                    self.filled -= consumed;
                    self.buf.truncate(keep.max(self.filled));
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
    }

    /// How many bytes at the front of the buffer may be dropped: the consumed
    /// ones, except those a recovery scan keeps.
    fn droppable(&self) -> usize {
        let consumed = self.cursor.consumed();
        // A suspended scan that the reader has moved on from is dead: its
        // bytes need not be kept (and keeping them would pin memory).
        let keep_from = self.keep_from.filter(|_| {
            self.recovering
                .as_ref()
                .is_none_or(|s| s.at() == self.position())
        });
        match keep_from {
            None => consumed,
            Some(keep) => {
                let base = self.cursor.position().offset - consumed as u64;
                consumed.min(usize::try_from(keep.saturating_sub(base)).unwrap_or(usize::MAX))
            }
        }
    }

    /// The bytes read so far that the cursor has not consumed, and the
    /// cursor: what a recovery scan drives.
    pub(crate) fn window(&mut self) -> (&[u8], &mut FrameCursor<D>) {
        (&self.buf[..self.filled], &mut self.cursor)
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
            .field("cursor", &self.cursor)
            .field("buffered", &(self.filled - self.cursor.consumed()))
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
