//! `AsyncStreamWriter`: frames onto any tokio `AsyncWrite`.

use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::io::{self, IoSlice, Write};

use flatstream_core::flatbuffers::{Allocator, FlatBufferBuilder};
use flatstream_core::{
    Error, Framer, Position, Result, StreamHeader, StreamSerialize, StreamWriter,
};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

/// The write buffer of [`AsyncStreamWriter::new`]: frames are gathered up
/// to this many bytes before they go to the sink (larger ones go straight
/// through), so small messages cost one system call per buffer, not two per
/// message.
pub const DEFAULT_WRITE_BUFFER: usize = 64 * 1024;

/// Writes framed FlatBuffers to an [`AsyncWrite`] sink: the async twin of
/// [`StreamWriter`], and that writer inside, so every check, error and
/// fault rule is the blocking writer's.
///
/// Frames go through a bounded write buffer ([`DEFAULT_WRITE_BUFFER`], or
/// the capacity given to [`with_capacity`](Self::with_capacity)): when it is
/// full, a write waits for the sink, so a slow reader slows the writer and
/// memory never grows with the backlog. [`flush`](Self::flush) hands
/// everything to the sink; [`shutdown`](Self::shutdown) flushes and shuts
/// the sink down.
///
/// # Cancellation safety
///
/// A write future dropped at an `.await` point leaves no torn frame behind
/// more frames: either nothing of its frame reached the buffer, or the
/// writer keeps the rest of that frame (copied once) and completes it first
/// on the next call, before anything else. Calling again with the same
/// payload, as the very next call, completes it instead of writing it twice
/// (any other call in between completes it first, and the same payload is
/// then a new frame). A sink error that is
/// not resumable and cuts a frame stops the writer: every later call fails
/// with [`ErrorKind::TornWrite`](flatstream_core::ErrorKind::TornWrite),
/// naming the partial frame, and [`flush_buffer`](Self::flush_buffer) still
/// hands the sink the frames the buffer holds. One that cuts no frame (the
/// buffer took none of it) leaves the writer usable.
/// [`bytes_written`](Self::bytes_written) and
/// [`frames_written`](Self::frames_written) count whole frames written to
/// the buffer; positions in errors count the same bytes.
///
/// # Examples
///
/// ```
/// use flatstream::{ChecksumFramer, Crc32};
/// use flatstream_tokio::AsyncStreamWriter;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut writer = AsyncStreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
/// writer.write_payload(b"telemetry").await?;
/// writer.flush().await?;
/// assert_eq!(writer.frames_written(), 1);
/// assert_eq!(writer.get_ref().len(), 4 + 4 + 9);
/// # Ok::<(), flatstream::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncStreamWriter<W, F> {
    writer: StreamWriter<PollWrite<BufWriter<W>>, F>,
}

impl<W: AsyncWrite + Unpin, F: Framer> AsyncStreamWriter<W, F> {
    /// Creates a writer that frames with `framer` onto `inner`, through a
    /// write buffer of [`DEFAULT_WRITE_BUFFER`] bytes.
    pub fn new(inner: W, framer: F) -> Self {
        Self::with_capacity(DEFAULT_WRITE_BUFFER, inner, framer)
    }

    /// [`new`](Self::new) with a write buffer of `capacity` bytes (0: every
    /// frame goes straight to the sink, header and payload apart).
    pub fn with_capacity(capacity: usize, inner: W, framer: F) -> Self {
        let sink = PollWrite {
            io: BufWriter::with_capacity(capacity, inner),
            waker: None,
            pending: false,
        };
        AsyncStreamWriter {
            writer: StreamWriter::new(sink, framer),
        }
    }

    /// Sets the largest payload length this writer accepts; see
    /// [`StreamWriter::with_max_frame_len`].
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.writer = self.writer.with_max_frame_len(max_frame_len);
        self
    }

    /// Allows empty and all-zero payloads; see
    /// [`StreamWriter::allow_empty_payloads`].
    #[must_use]
    pub fn allow_empty_payloads(mut self, allow: bool) -> Self {
        self.writer = self.writer.allow_empty_payloads(allow);
        self
    }

    /// Writes `payload` as one frame. Cancellation safe (see the type's
    /// documentation).
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::write_payload`]: a refused payload (too large,
    /// empty), or the sink's error, positioned.
    pub async fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        self.write_frame(|writer| writer.write_payload(payload))
            .await
    }

    /// Writes a finished builder's bytes as one frame (expert mode); the
    /// builder is not reset. Cancellation safe.
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::write_finished`].
    pub async fn write_finished<A: Allocator>(
        &mut self,
        builder: &mut FlatBufferBuilder<'_, A>,
    ) -> Result<()> {
        self.write_frame(|writer| writer.write_finished(builder))
            .await
    }

    /// Serializes `item` with the writer's internal builder and writes it
    /// (simple mode). Cancellation safe.
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::write`].
    pub async fn write<T: StreamSerialize + ?Sized>(&mut self, item: &T) -> Result<()> {
        self.write_frame(|writer| writer.write(item)).await
    }

    /// Writes the stream's self-describing header; only as the first frame.
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::write_header`].
    pub async fn write_header(&mut self, header: &StreamHeader) -> Result<()> {
        self.write_frame(|writer| writer.write_header(header)).await
    }

    /// Completes a frame in flight and hands every buffered byte to the
    /// sink, then flushes it.
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::flush`].
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.poll_with(cx, StreamWriter::flush)).await
    }

    /// Flushes, then shuts the sink down (for a socket, the write half).
    ///
    /// # Errors
    ///
    /// As [`flush`](Self::flush), or the sink's shutdown error (positioned
    /// where the next frame would go). A writer that an error stopped
    /// returns `TornWrite` from the flush and does not shut the sink down:
    /// [`flush_buffer`](Self::flush_buffer) then `get_mut().shutdown()`
    /// still can.
    pub async fn shutdown(&mut self) -> Result<()> {
        self.flush().await?;
        let here = self.sink_error_here();
        self.writer.get_mut().io.shutdown().await.map_err(here)
    }

    /// Hands everything the write buffer holds to the sink as it is, then
    /// flushes the sink, also after an error stopped the writer: the way to
    /// keep every frame whose write returned `Ok` once the sink works again.
    /// Behind the whole frames comes what the buffer took of the frame the
    /// error cut (a torn tail, which recovery cuts). For a writer that did
    /// not stop, [`flush`](Self::flush) is the call: it completes a frame in
    /// flight first.
    ///
    /// As with a blocking `StreamWriter` over a `BufWriter`, a write that
    /// returned `Ok` put its frame in the buffer; an error from the sink
    /// while the buffer drains keeps what the sink did not take, in order.
    /// An error before any byte of a frame was taken leaves the writer
    /// usable (the buffer still holds the earlier frames, whole and in
    /// order); one in the middle of a frame stops it.
    ///
    /// # Errors
    ///
    /// The sink's error, positioned where the next frame would go.
    pub async fn flush_buffer(&mut self) -> Result<()> {
        let here = self.sink_error_here();
        self.writer.get_mut().io.flush().await.map_err(here)
    }

    /// Writes one frame with `op`. A first poll that ends `Pending` with
    /// part of the frame on the sink leaves the rest in flight in the
    /// blocking writer; later polls of the same future only complete it
    /// (no second encoding, checksum or comparison of the payload).
    async fn write_frame(
        &mut self,
        mut op: impl FnMut(&mut StreamWriter<PollWrite<BufWriter<W>>, F>) -> Result<()>,
    ) -> Result<()> {
        // Whether the frame in flight is this call's own (not one that an
        // earlier, dropped call left, which `op` completes first).
        let mut ours_in_flight = false;
        poll_fn(|cx| {
            if ours_in_flight && self.writer.has_frame_in_flight() {
                return self.poll_with(cx, StreamWriter::complete_frame_in_flight);
            }
            let frames = self.writer.frames_written();
            let earlier = u64::from(self.writer.has_frame_in_flight());
            let polled = self.poll_with(cx, &mut op);
            // Ours is in flight when the earlier frame, if any, was
            // completed before it and it is now the one cut.
            ours_in_flight = polled.is_pending()
                && self.writer.has_frame_in_flight()
                && self.writer.frames_written() == frames + earlier;
            polled
        })
        .await
    }

    /// Runs `op` on the blocking writer in the task of `cx`; a sink that
    /// has nothing ready made it stop with the frame's rest kept (the
    /// writer's `WouldBlock` rule), which is `Pending` here.
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(&mut StreamWriter<PollWrite<BufWriter<W>>, F>) -> Result<T>,
    ) -> Poll<Result<T>> {
        self.writer.get_mut().enter(cx);
        let result = op(&mut self.writer);
        let pending = self.writer.get_mut().leave();
        match result {
            Err(error) if pending && error.is_resumable() => Poll::Pending,
            result => Poll::Ready(result),
        }
    }
}

impl<W: AsyncWrite + Unpin, F: Framer> AsyncStreamWriter<W, F> {
    /// Positions a sink error where the next frame goes (the counts of
    /// whole frames written).
    fn sink_error_here(&self) -> impl FnOnce(io::Error) -> Error + use<W, F> {
        let at = Position {
            offset: self.bytes_written(),
            frame: self.frames_written(),
        };
        move |e| Error::from(e).at(at)
    }

    /// Bytes of whole frames written (to the buffer or the sink).
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.writer.bytes_written()
    }

    /// Whole frames written (to the buffer or the sink).
    #[must_use]
    pub fn frames_written(&self) -> u64 {
        self.writer.frames_written()
    }

    /// The framer.
    pub fn framer(&self) -> &F {
        self.writer.framer()
    }

    /// A shared reference to the sink.
    pub fn get_ref(&self) -> &W {
        self.writer.get_ref().io.get_ref()
    }

    /// A mutable reference to the sink. Writing to it directly puts bytes
    /// between frames.
    pub fn get_mut(&mut self) -> &mut W {
        self.writer.get_mut().io.get_mut()
    }

    /// Returns the sink. Call [`flush`](Self::flush) first: buffered bytes
    /// are dropped.
    pub fn into_inner(self) -> W {
        self.writer.into_inner().io.into_inner()
    }
}

/// The blocking writer's sink over an async one: each call polls the sink
/// in the task that [`enter`](PollWrite::enter) named, and `Pending` is
/// `WouldBlock`, a resumable error on which the writer keeps the rest of
/// its frame.
#[derive(Debug)]
struct PollWrite<W> {
    io: W,
    /// The waker of the task polling the writer now.
    waker: Option<Waker>,
    /// Whether a poll of `io` answered `Pending` since `enter`.
    pending: bool,
}

impl<W> PollWrite<W> {
    /// Starts a poll of the writer in the task of `cx`.
    fn enter(&mut self, cx: &Context<'_>) {
        match &mut self.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => self.waker = Some(cx.waker().clone()),
        }
        self.pending = false;
    }

    /// Ends the poll: whether the sink answered `Pending`.
    fn leave(&mut self) -> bool {
        core::mem::take(&mut self.pending)
    }
}

impl<W: AsyncWrite + Unpin> PollWrite<W> {
    /// Polls the sink with `op` in the current task.
    fn poll<T>(
        &mut self,
        op: impl FnOnce(Pin<&mut W>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> io::Result<T> {
        let Some(waker) = self.waker.as_ref() else {
            // Only `AsyncStreamWriter` drives this, always inside a poll.
            return Err(io::Error::other("polled outside of a task"));
        };
        let mut cx = Context::from_waker(waker);
        match op(Pin::new(&mut self.io), &mut cx) {
            Poll::Ready(result) => result,
            Poll::Pending => {
                self.pending = true;
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
    }
}

impl<W: AsyncWrite + Unpin> Write for PollWrite<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.poll(|io, cx| io.poll_write(cx, buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.poll(|io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.poll(|io, cx| io.poll_flush(cx))
    }
}
