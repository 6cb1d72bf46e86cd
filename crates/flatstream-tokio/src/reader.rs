//! `AsyncStreamReader`: payloads from any tokio `AsyncRead`, zero-copy.

use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use bytes::Bytes;
use flatstream_core::flatbuffers::VerifierOptions;
use flatstream_core::{
    AfterDamage, Deframer, FrameSpan, MemoryPolicy, Position, ReadBuffer, Result, RootType,
    StreamHeader, verify_root,
};
use futures_core::Stream;
use tokio::io::{AsyncRead, ReadBuf};

/// Reads framed FlatBuffers from an [`AsyncRead`] source, zero-copy: the
/// async twin of [`StreamReader`](flatstream_core::StreamReader).
///
/// Both drive the same [`ReadBuffer`] (one reusable buffer, FlatStream's
/// frame cursor, the memory policy), so every outcome is the blocking
/// reader's: a clean end is `Ok(None)`, a torn frame at the end
/// [`ErrorKind::UnexpectedEof`], a length over the limit
/// [`ErrorKind::FrameTooLarge`] (before anything is reserved for it), a
/// checksum mismatch [`ErrorKind::ChecksumMismatch`] after which reading
/// goes on, each positioned at its frame. Payloads are `&[u8]` borrowed from
/// the buffer; once it has grown to the largest frame, reading allocates
/// nothing, and a source that has nothing ready costs no allocation either.
///
/// # Cancellation safety
///
/// Every `async fn` here is cancellation safe: its state lives in the
/// reader, and a future dropped at any `.await` point has consumed no frame
/// and lost no byte (bytes that arrived stay in the buffer). Calling again
/// resumes exactly where it stopped.
///
/// [`ErrorKind::UnexpectedEof`]: flatstream_core::ErrorKind::UnexpectedEof
/// [`ErrorKind::FrameTooLarge`]: flatstream_core::ErrorKind::FrameTooLarge
/// [`ErrorKind::ChecksumMismatch`]: flatstream_core::ErrorKind::ChecksumMismatch
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
/// use flatstream_tokio::AsyncStreamReader;
///
/// # fn main() -> flatstream::Result<()> {
/// let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
/// writer.write_payload(b"one")?;
/// writer.write_payload(b"two")?;
/// let stream = writer.into_inner();
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut reader = AsyncStreamReader::new(stream.as_slice(), ChecksumDeframer::new(Crc32::new()));
/// assert_eq!(reader.read_message().await?, Some(&b"one"[..]));
/// assert_eq!(reader.read_message().await?, Some(&b"two"[..]));
/// assert_eq!(reader.read_message().await?, None);
/// # Ok(())
/// # })
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncStreamReader<R, D> {
    inner: R,
    buffer: ReadBuffer<D>,
}

impl<R: AsyncRead + Unpin, D: Deframer> AsyncStreamReader<R, D> {
    /// Creates a reader that deframes `inner` with `deframer`, with the
    /// blocking reader's defaults (the format's largest frame as the limit:
    /// lower it for untrusted peers with
    /// [`with_max_frame_len`](Self::with_max_frame_len)).
    pub fn new(inner: R, deframer: D) -> Self {
        AsyncStreamReader {
            inner,
            buffer: ReadBuffer::new(deframer),
        }
    }

    /// Sets the largest payload length this reader accepts; a frame
    /// declaring more is refused before anything is reserved for it.
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.buffer.set_max_frame_len(max_frame_len);
        self
    }

    /// Sets what the reader does after a damaged frame; see [`AfterDamage`].
    #[must_use]
    pub fn with_after_damage(mut self, after_damage: AfterDamage) -> Self {
        self.buffer.set_after_damage(after_damage);
        self
    }

    /// Sets when the reader gives buffer memory back; see [`MemoryPolicy`].
    #[must_use]
    pub fn with_memory_policy<P: MemoryPolicy + Send + 'static>(mut self, policy: P) -> Self {
        self.buffer.set_memory_policy(Box::new(policy));
        self
    }

    /// Reads the next frame and returns its payload, or `None` at a clean
    /// end of input. Cancellation safe.
    ///
    /// # Errors
    ///
    /// As [`StreamReader::read_message`](flatstream_core::StreamReader::read_message).
    pub async fn read_message(&mut self) -> Result<Option<&[u8]>> {
        let frame = self.read_frame_span().await?;
        Ok(frame.map(|frame| self.buffer.payload(frame)))
    }

    /// The next frame's place in the buffer; its payload stays there until
    /// the next read. Cancellation safe.
    async fn read_frame_span(&mut self) -> Result<Option<FrameSpan>> {
        poll_fn(|cx| {
            let (inner, buffer) = (&mut self.inner, &mut self.buffer);
            buffer.poll_frame_span(read_with(inner, cx))
        })
        .await
    }

    /// [`read_message`](Self::read_message) as a poll, for hand-written
    /// futures and streams.
    ///
    /// # Errors
    ///
    /// As [`read_message`](Self::read_message).
    pub fn poll_read_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<&[u8]>>> {
        let (inner, buffer) = (&mut self.inner, &mut self.buffer);
        buffer.poll_frame(read_with(inner, cx))
    }

    /// Calls `f` with every payload until a clean end of input.
    /// Cancellation safe: payloads already given to `f` stay consumed, and
    /// calling again goes on with the next one.
    ///
    /// # Errors
    ///
    /// The first error of [`read_message`](Self::read_message) or of `f`.
    pub async fn process_all<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        poll_fn(|cx| {
            let (inner, buffer) = (&mut self.inner, &mut self.buffer);
            buffer.poll_process_all(read_with(inner, cx), &mut f)
        })
        .await
    }

    /// The next payload verified as a `T` root, with limits scaled to the
    /// payload (see [`verifier_options_for`](flatstream_core::verifier_options_for)),
    /// or `None` at a clean end of input. Cancellation safe.
    ///
    /// # Errors
    ///
    /// As [`read_message`](Self::read_message), or
    /// [`ErrorKind::Invalid`](flatstream_core::ErrorKind::Invalid) for a
    /// payload that is not a valid `T` (the frame is consumed: reading again
    /// goes on after it).
    pub async fn read_typed<T: RootType>(&mut self) -> Result<Option<T::Root<'_>>> {
        self.read_typed_with::<T>(None).await
    }

    /// [`read_typed`](Self::read_typed) with the verifier's limits set by
    /// `options` (`None`: scaled to each payload).
    ///
    /// # Errors
    ///
    /// As [`read_typed`](Self::read_typed).
    pub async fn read_typed_with<T: RootType>(
        &mut self,
        options: Option<&VerifierOptions>,
    ) -> Result<Option<T::Root<'_>>> {
        let frame = self.read_frame_span().await?;
        // The error points at the frame itself: the reader's position is
        // past it, and past the stream's header too when it came first.
        match frame {
            Some(frame) => {
                let at = self.buffer.frame_position(frame);
                verify_root::<T>(self.buffer.payload(frame), options, at).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The stream's self-describing header, if its first frame is one (see
    /// [`StreamHeader`]); it is never handed out as a payload. Before the
    /// first frame is read this reads until that frame is whole, and
    /// consumes it only if it is the header. Cancellation safe.
    ///
    /// # Errors
    ///
    /// The source's error while reading the first frame, or the damage of a
    /// first frame that looks like a header, positioned at frame 0.
    pub async fn header(&mut self) -> Result<Option<&StreamHeader>> {
        poll_fn(|cx| {
            let (inner, buffer) = (&mut self.inner, &mut self.buffer);
            buffer.poll_header(read_with(inner, cx))
        })
        .await?;
        Ok(self.buffer.header())
    }
}

impl<R: AsyncRead + Unpin, D: Deframer + Unpin> AsyncStreamReader<R, D> {
    /// A [`Stream`] of owned payloads, for code that keeps frames beyond the
    /// next read or hands them to other tasks: each payload is copied into
    /// a [`Bytes`]. (`FramedRead` with a [`FlatStreamCodec`] splits payloads
    /// off its buffer instead of copying them.)
    ///
    /// Errors are items; the stream goes on after one the reader moved past
    /// (a frame skipped after a checksum mismatch) and after a resumable
    /// I/O error (a timeout: the next item reads again), and ends after a
    /// torn tail or an error every later read would repeat
    /// ([`Error::ends_iteration`](flatstream_core::Error::ends_iteration)).
    ///
    /// [`FlatStreamCodec`]: crate::FlatStreamCodec
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream::{DefaultDeframer, DefaultFramer, StreamWriter};
    /// use flatstream_tokio::AsyncStreamReader;
    /// use futures_util::StreamExt;
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write_payload(b"kept")?;
    /// let stream = writer.into_inner();
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let frames: Vec<_> = AsyncStreamReader::new(stream.as_slice(), DefaultDeframer)
    ///     .into_stream()
    ///     .collect()
    ///     .await;
    /// assert_eq!(frames.len(), 1);
    /// assert_eq!(&frames[0].as_ref().unwrap()[..], b"kept");
    /// # });
    /// # Ok::<(), flatstream::Error>(())
    /// ```
    pub fn into_stream(self) -> Frames<R, D> {
        Frames {
            reader: self,
            done: false,
        }
    }
}

/// The [`Stream`] of [`AsyncStreamReader::into_stream`]: owned payloads.
#[derive(Debug)]
pub struct Frames<R, D> {
    reader: AsyncStreamReader<R, D>,
    done: bool,
}

impl<R, D> Frames<R, D> {
    /// The reader, to ask its position or get its source back.
    pub fn into_inner(self) -> AsyncStreamReader<R, D> {
        self.reader
    }
}

impl<R: AsyncRead + Unpin, D: Deframer + Unpin> Stream for Frames<R, D> {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let before = this.reader.position();
        match this.reader.poll_read_message(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(payload))) => {
                Poll::Ready(Some(Ok(Bytes::copy_from_slice(payload))))
            }
            Poll::Ready(Ok(None)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(error)) => {
                this.done = error.ends_iteration(this.reader.position() != before);
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}

impl<R, D> AsyncStreamReader<R, D> {
    /// The offset and index of the next frame.
    #[must_use]
    pub fn position(&self) -> Position {
        self.buffer.position()
    }

    /// Frames consumed so far (returned or skipped after damage).
    #[must_use]
    pub fn frames_read(&self) -> u64 {
        self.buffer.position().frame
    }

    /// Bytes read from the source but not yet returned as frames.
    #[must_use]
    pub fn buffered(&self) -> &[u8] {
        self.buffer.buffered()
    }

    /// Bytes the read buffer holds now.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buffer.capacity()
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

    /// Returns the source; bytes in [`buffered`](Self::buffered) are dropped.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// The read function of the buffer over an async source, in the task of
/// `cx`: `Pending` when the source has nothing ready (it wakes the task).
#[inline]
fn read_with<'a, R: AsyncRead + Unpin>(
    inner: &'a mut R,
    cx: &'a mut Context<'_>,
) -> impl FnMut(&mut [u8]) -> Poll<io::Result<usize>> + 'a {
    move |buf| {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut *inner).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}
