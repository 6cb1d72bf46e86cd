//! `ReadBuffer`: the buffer half of every reader of a byte stream.
//!
//! A reader of a byte stream (`StreamReader` over `std::io::Read`, the async
//! reader over tokio's `AsyncRead`) is a source plus this: one reusable
//! buffer, the frame cursor that finds frames in it, the memory policy that
//! sizes it, and the stream's header once it was read. The readers differ
//! only in how bytes arrive, which they say with a read function that may
//! answer [`Poll::Pending`]; how far the buffer grows, what is dropped, and
//! every decision about frames is made here and in the cursor, once.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::task::Poll;
use std::io;

use crate::cursor::{FrameSpan, Step};
use crate::{
    AfterDamage, Deframer, Error, FrameCursor, MemoryPolicy, Position, Result, StreamHeader,
};

/// Bytes asked of the source per read once the buffer has room: large reads
/// keep system calls rare, and frames are deframed where they land.
const READ_CHUNK: usize = 64 * 1024;

/// The buffer, frame cursor and memory policy of a reader of a byte stream,
/// driven by a read function: the part of [`StreamReader`](crate::StreamReader)
/// that does not depend on how bytes arrive, for readers of other kinds of
/// sources (an async one, say) that must behave exactly like it.
///
/// A read function gets the free part of the buffer and answers like
/// [`Read::read`](std::io::Read::read) (`Ok(0)` is the end of input), or
/// [`Poll::Pending`] when no byte is ready (the caller arranges to be woken
/// and polls again: nothing was consumed, and the next poll resumes exactly
/// there). Reads that fail with [`io::ErrorKind::Interrupted`] are retried;
/// any other error is returned, positioned at the next frame, with nothing
/// consumed.
///
/// The buffer grows only as bytes arrive (at most doubling per read, never
/// past what the current frame needs plus one read chunk), and a declared
/// length is checked against the frame limit before anything is reserved
/// for it.
///
/// # Examples
///
/// A reader over a source that sometimes has nothing ready:
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind};
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
/// use core::task::Poll;
/// use flatstream_core::ReadBuffer;
///
/// let mut arriving: Vec<&[u8]> = vec![&[2, 0, 0], &[0, b'h', b'i'], &[]];
/// let mut ready = true; // every chunk arrives after one `Pending`
/// let mut read = |buf: &mut [u8]| {
///     ready = !ready;
///     if !ready {
///         return Poll::Pending;
///     }
///     let chunk = arriving.remove(0);
///     buf[..chunk.len()].copy_from_slice(chunk);
///     Poll::Ready(Ok(chunk.len()))
/// };
/// let mut buffer = ReadBuffer::new(DefaultDeframer);
/// let mut polls = 0;
/// let payload = loop {
///     polls += 1;
///     if let Poll::Ready(result) = buffer.poll_frame(&mut read) {
///         break result?.map(<[u8]>::to_vec);
///     }
/// };
/// assert_eq!(payload.as_deref(), Some(&b"hi"[..]));
/// assert_eq!(polls, 3);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub struct ReadBuffer<D> {
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
    /// The stream offset from which read bytes are kept although consumed
    /// (a recovery scan still needs them), and, when set, the position that
    /// the reader must still be at for that to hold.
    keep: Option<(u64, Option<Position>)>,
    /// The stream's header, once its first frame was one.
    header: Option<Box<StreamHeader>>,
}

impl<D: Deframer> ReadBuffer<D> {
    /// An empty buffer whose cursor deframes with `deframer`.
    pub fn new(deframer: D) -> Self {
        ReadBuffer {
            cursor: FrameCursor::new(deframer),
            buf: Vec::new(),
            filled: 0,
            memory: None,
            keep: None,
            header: None,
        }
    }

    /// Starts counting at `position`: the stream offset of the first byte
    /// the read function delivers and the index of the next frame, for a
    /// reader that resumes in the middle of a stream (its source already
    /// positioned there). Call it before the first read. Unless `position`
    /// is the start, the first frame read is never taken for the stream's
    /// header.
    #[must_use]
    pub fn starting_at(mut self, position: Position) -> Self {
        self.cursor = self.cursor.starting_at(position);
        self
    }

    /// Sets when to give buffer memory back; see [`MemoryPolicy`].
    pub fn set_memory_policy(&mut self, policy: Box<dyn MemoryPolicy + Send>) {
        self.memory = Some(policy);
    }

    /// Sets the largest payload length accepted; see
    /// [`FrameCursor::set_max_frame_len`].
    pub fn set_max_frame_len(&mut self, max_frame_len: usize) {
        self.cursor.set_max_frame_len(max_frame_len);
    }

    /// Sets what follows a damaged frame; see [`AfterDamage`].
    pub fn set_after_damage(&mut self, after_damage: AfterDamage) {
        self.cursor.set_after_damage(after_damage);
    }

    /// The next payload, or `None` at a clean end of input, reading through
    /// `read` as needed.
    ///
    /// # Errors
    ///
    /// As [`StreamReader::read_message`](crate::StreamReader::read_message):
    /// a torn tail, a frame over the limit, a checksum mismatch, or the read
    /// function's error, each positioned.
    #[inline]
    pub fn poll_frame<F>(&mut self, read: F) -> Poll<Result<Option<&[u8]>>>
    where
        F: FnMut(&mut [u8]) -> Poll<io::Result<usize>>,
    {
        match self.poll_frame_span(read) {
            Poll::Ready(Ok(Some(frame))) => Poll::Ready(Ok(Some(frame.payload(&self.buf)))),
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(None)),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// [`poll_frame`](ReadBuffer::poll_frame), answering where the frame is
    /// in the buffer instead of lending its payload: for a driver that polls
    /// in a loop of its own (an `async fn` around `poll_fn`, say) and lends
    /// the payload, through [`payload`](ReadBuffer::payload), once the loop
    /// is done.
    ///
    /// # Errors
    ///
    /// As [`poll_frame`](ReadBuffer::poll_frame).
    #[inline]
    pub fn poll_frame_span<F>(&mut self, mut read: F) -> Poll<Result<Option<FrameSpan>>>
    where
        F: FnMut(&mut [u8]) -> Poll<io::Result<usize>>,
    {
        let mut eof = false;
        loop {
            match self.cursor.poll(&self.buf[..self.filled], eof)? {
                Step::Frame(frame) => return Poll::Ready(Ok(Some(frame))),
                Step::Header(frame) => self.keep_header(frame),
                Step::End => return Poll::Ready(Ok(None)),
                Step::Need { needed, .. } => match self.poll_fill(needed, &mut read) {
                    Poll::Ready(Ok(n)) => eof = n == 0,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// Calls `f` with every payload until a clean end of input, reading
    /// through `read` as needed. After `Pending`, polling again goes on
    /// with the next payload.
    ///
    /// # Errors
    ///
    /// As [`poll_frame`](ReadBuffer::poll_frame), or the first error of `f`
    /// (the payload it was given stays consumed).
    pub fn poll_process_all<F, P>(&mut self, mut read: F, mut f: P) -> Poll<Result<()>>
    where
        F: FnMut(&mut [u8]) -> Poll<io::Result<usize>>,
        P: FnMut(&[u8]) -> Result<()>,
    {
        // The same cursor as `poll_frame`, run over everything buffered
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
                Step::End => return Poll::Ready(Ok(())),
                Step::Need { needed, .. } => match self.poll_fill(needed, &mut read) {
                    Poll::Ready(Ok(n)) => eof = n == 0,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// Reads, through `read`, until it is known whether the stream's first
    /// frame is its header, and consumes that frame if it is; see
    /// [`StreamReader::header`](crate::StreamReader::header). The header is
    /// then [`header`](ReadBuffer::header).
    ///
    /// # Errors
    ///
    /// The read function's error, or the damage of a first frame that looks
    /// like a header, positioned at frame 0.
    pub fn poll_header<F>(&mut self, mut read: F) -> Poll<Result<()>>
    where
        F: FnMut(&mut [u8]) -> Poll<io::Result<usize>>,
    {
        let mut eof = false;
        loop {
            match self.cursor.peek_header(&self.buf[..self.filled]) {
                Some(false) => break,
                Some(true) => {
                    // A damaged header under `AfterDamage::Resync` asks for
                    // more bytes to find where good frames go on: read them
                    // until the cursor says what the frame was.
                    match self.cursor.poll(&self.buf[..self.filled], eof)? {
                        Step::Header(frame) => self.keep_header(frame),
                        Step::Need { needed, .. } => {
                            match self.poll_fill(needed, &mut read) {
                                Poll::Ready(Ok(n)) => eof = n == 0,
                                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                                Poll::Pending => return Poll::Pending,
                            }
                            continue;
                        }
                        // A header frame is only ever one of the above, or
                        // an error; nothing is consumed here otherwise.
                        Step::Frame(_) | Step::End => {}
                    }
                    break;
                }
                None => {
                    // The whole first frame, once its length is known: not
                    // one header's worth of bytes per read.
                    let header_len = self.cursor.deframer().header_len();
                    let unread = self.cursor.unread(&self.buf[..self.filled]);
                    let needed = match unread.first_chunk::<{ crate::wire::LENGTH_PREFIX_LEN }>() {
                        Some(prefix) => usize::try_from(u32::from_le_bytes(*prefix))
                            .unwrap_or(usize::MAX)
                            .saturating_add(header_len)
                            .saturating_sub(unread.len())
                            .max(1),
                        None => header_len - unread.len().min(header_len),
                    };
                    match self.poll_fill(needed, &mut read) {
                        Poll::Ready(Ok(0)) => break,
                        Poll::Ready(Ok(_)) => {}
                        Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Keeps the header the cursor found in `frame`.
    fn keep_header(&mut self, frame: FrameSpan) {
        self.header = StreamHeader::decode(frame.payload(&self.buf)).map(Box::new);
    }

    /// Reads at least once into the buffer through `read`, making room for
    /// `needed` more bytes without ever reserving more than the bytes that
    /// actually arrive (plus one read chunk). Returns the bytes read; 0
    /// means end of input.
    ///
    /// # Errors
    ///
    /// The read function's error (`Interrupted` is retried), positioned at
    /// the next frame; nothing is consumed.
    pub(crate) fn poll_fill<F>(&mut self, needed: usize, read: &mut F) -> Poll<Result<usize>>
    where
        F: FnMut(&mut [u8]) -> Poll<io::Result<usize>>,
    {
        self.make_room(needed);
        loop {
            match read(&mut self.buf[self.filled..]) {
                Poll::Ready(Ok(n)) => {
                    // A read function that claims more than it was given is
                    // a bug in it; the bytes it names are not there.
                    let n = n.min(self.buf.len() - self.filled);
                    self.filled += n;
                    return Poll::Ready(Ok(n));
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(Error::from(e).at(self.cursor.position())));
                }
                Poll::Pending => return Poll::Pending,
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
        let keep_from = self
            .keep
            .filter(|(_, at)| at.is_none_or(|at| at == self.cursor.position()));
        match keep_from {
            None => consumed,
            Some((keep, _)) => {
                let base = self.cursor.position().offset - consumed as u64;
                consumed.min(usize::try_from(keep.saturating_sub(base)).unwrap_or(usize::MAX))
            }
        }
    }

    /// Keeps the bytes read from stream offset `from` on, although
    /// consumed, while the cursor is at `while_at` (or always, for `None`);
    /// `None` keeps nothing.
    pub(crate) fn keep_from(&mut self, keep: Option<(u64, Option<Position>)>) {
        self.keep = keep;
    }

    /// The bytes read so far that the cursor has not consumed, and the
    /// cursor: what a recovery scan drives.
    pub(crate) fn window(&mut self) -> (&[u8], &mut FrameCursor<D>) {
        (&self.buf[..self.filled], &mut self.cursor)
    }

    /// The cursor, to change its settings.
    pub(crate) fn cursor_mut(&mut self) -> &mut FrameCursor<D> {
        &mut self.cursor
    }
}

impl<D> ReadBuffer<D> {
    /// The frame cursor.
    pub fn cursor(&self) -> &FrameCursor<D> {
        &self.cursor
    }

    /// The offset and index of the next frame.
    #[must_use]
    pub fn position(&self) -> Position {
        self.cursor.position()
    }

    /// Bytes the buffer holds now.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes read but not yet returned as frames.
    #[must_use]
    pub fn buffered(&self) -> &[u8] {
        self.cursor.unread(&self.buf[..self.filled])
    }

    /// The stream's header, if it was read already.
    #[must_use]
    pub fn header(&self) -> Option<&StreamHeader> {
        self.header.as_deref()
    }

    /// The stream offset and index of `frame`, the span that the last
    /// [`poll_frame_span`](ReadBuffer::poll_frame_span) returned: where an
    /// error about its payload points. (The reader's
    /// [`position`](ReadBuffer::position) is past it by then, and past the
    /// stream's header too when the frame came right after it.)
    #[must_use]
    pub fn frame_position(&self, frame: FrameSpan) -> Position {
        self.cursor.position_of(&frame)
    }

    /// The payload of `frame`, a span that
    /// [`poll_frame_span`](ReadBuffer::poll_frame_span) returned since the
    /// last poll that read; empty if the span lies outside the buffer.
    #[must_use]
    pub fn payload(&self, frame: FrameSpan) -> &[u8] {
        self.buf
            .get(frame.payload_start..frame.end)
            .unwrap_or_default()
    }

    /// Whether a memory policy is set.
    pub(crate) fn has_memory_policy(&self) -> bool {
        self.memory.is_some()
    }
}

impl<D: core::fmt::Debug> core::fmt::Debug for ReadBuffer<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadBuffer")
            .field("cursor", &self.cursor)
            .field("buffered", &(self.filled - self.cursor.consumed()))
            .field("capacity", &self.buf.capacity())
            .field("memory_policy", &self.memory.is_some())
            .finish_non_exhaustive()
    }
}
