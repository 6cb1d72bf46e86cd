//! `StreamWriter`: frames payloads onto any `std::io::Write`.

use alloc::boxed::Box;
use flatbuffers::{Allocator, DefaultAllocator, FlatBufferBuilder};
use std::io::Write;

use crate::wire::{DEFAULT_MAX_FRAME_LEN, MAX_HEADER_LEN};
use crate::{
    Error, ErrorKind, Framer, MemoryPolicy, Position, Result, StreamSerialize, finished_payload,
};

/// Writes framed FlatBuffers to a [`Write`] sink.
///
/// Three ways to write, all copy-free (the header is built on the stack and
/// the payload goes from the builder straight to the sink):
///
/// - simple mode, [`write`](StreamWriter::write): the writer owns one
///   [`FlatBufferBuilder`] and reuses it for every message;
/// - expert mode, [`write_finished`](StreamWriter::write_finished): you own
///   the builders, e.g. one per message size class;
/// - raw, [`write_payload`](StreamWriter::write_payload): any bytes.
///
/// Each call issues two `write_all` calls (header, then payload), so give it a
/// buffered sink such as [`std::io::BufWriter`]; an unbuffered `File` or
/// `TcpStream` costs two system calls per message.
///
/// # What is on the sink after an error
///
/// A refused payload (too large, unfinished builder, a framer's refusal) is
/// refused before any byte is written. An I/O error can leave part of the
/// frame on the sink; readers report such a torn frame as
/// [`ErrorKind::UnexpectedEof`] after every complete frame before it.
///
/// # Examples
///
/// ```
/// use flatstream_core::StreamWriter;
/// # use flatstream_core::{Framer, Result, wire};
/// # #[derive(Debug)] struct DefaultFramer;
/// # impl Framer for DefaultFramer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> Result<()> {
/// #         wire::write_le(p.len() as u64, 4, h); Ok(())
/// #     }
/// # }
///
/// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
/// writer.write(&"Hello, world!")?;
/// writer.write_payload(b"raw bytes")?;
/// assert_eq!(writer.frames_written(), 2);
/// let bytes = writer.into_inner();
/// assert_eq!(&bytes[..4], &24u32.to_le_bytes()); // a 24-byte FlatBuffer
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub struct StreamWriter<W, F> {
    sink: FrameSink<W, F>,
    builder: FlatBufferBuilder<'static, DefaultAllocator>,
    /// The largest message built by `builder` since it was created: what it
    /// holds on to.
    builder_high_water: usize,
    /// When to give the builder's memory back; `None` keeps it (the default).
    memory: Option<Box<dyn MemoryPolicy + Send>>,
}

/// The sink half of a writer, apart from the internal builder so that the
/// builder can lend its bytes while the sink is borrowed mutably.
struct FrameSink<W, F> {
    inner: W,
    framer: F,
    max_frame_len: usize,
    bytes_written: u64,
    frames_written: u64,
}

impl<W: Write, F: Framer> StreamWriter<W, F> {
    /// Creates a writer that frames with `framer` onto `inner`.
    ///
    /// The payload limit is [`DEFAULT_MAX_FRAME_LEN`] (2 GiB).
    pub fn new(inner: W, framer: F) -> Self {
        StreamWriter {
            sink: FrameSink {
                inner,
                framer,
                max_frame_len: DEFAULT_MAX_FRAME_LEN,
                bytes_written: 0,
                frames_written: 0,
            },
            builder: FlatBufferBuilder::new(),
            builder_high_water: 0,
            memory: None,
        }
    }

    /// Sets the largest payload this writer accepts (at most `u32::MAX`, the
    /// largest length the wire format can carry).
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Framer, Result, wire};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> Result<()> {
    /// #         wire::write_le(p.len() as u64, 4, h); Ok(())
    /// #     }
    /// # }
    /// use flatstream_core::{ErrorKind, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer).with_max_frame_len(8);
    /// let err = writer.write_payload(&[0; 9]).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { declared: 9, limit: 8 }));
    /// assert!(writer.get_ref().is_empty(), "nothing reaches the sink");
    /// ```
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.sink.max_frame_len = max_frame_len.min(u32::MAX as usize);
        self
    }

    /// Starts this writer's count at `position`, for appending to a stream
    /// that already holds frames (see `recover_file_for_append`): error
    /// positions and [`bytes_written`](StreamWriter::bytes_written) /
    /// [`frames_written`](StreamWriter::frames_written) are then absolute.
    #[must_use]
    pub fn starting_at(mut self, position: Position) -> Self {
        self.sink.bytes_written = position.offset;
        self.sink.frames_written = position.frame;
        self
    }

    /// Lets `policy` decide when the simple-mode builder gives memory back.
    ///
    /// Without a policy the internal builder keeps the capacity of the largest
    /// message it has built. The policy is consulted after each simple-mode
    /// message ([`write`](StreamWriter::write), [`write_with`](StreamWriter::write_with));
    /// shrinking replaces the builder with a smaller one. Expert mode builders
    /// are yours to manage.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Framer, Result, wire};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> Result<()> {
    /// #         wire::write_le(p.len() as u64, 4, h); Ok(())
    /// #     }
    /// # }
    /// use flatstream_core::{ShrinkAbove, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(std::io::sink(), DefaultFramer)
    ///     .with_memory_policy(ShrinkAbove::new(1 << 20, 16 << 10));
    /// writer.write(&"x".repeat(8 << 20))?; // the builder grows to 8 MiB...
    /// writer.write(&"small")?; // ...and shrinks back here
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_memory_policy<P: MemoryPolicy + Send + 'static>(mut self, policy: P) -> Self {
        self.memory = Some(Box::new(policy));
        self
    }

    /// Simple mode: serializes `item` with the writer's internal builder and
    /// writes it as one frame.
    ///
    /// The builder is reset and reused for every call, so its capacity stays
    /// at the largest message written so far.
    ///
    /// # Errors
    ///
    /// The error of `item.serialize`, [`ErrorKind::UnfinishedBuilder`] if it
    /// did not finish the builder, and the errors of
    /// [`write_payload`](StreamWriter::write_payload).
    pub fn write<T: StreamSerialize + ?Sized>(&mut self, item: &T) -> Result<()> {
        self.write_with(|builder| item.serialize(builder))
    }

    /// Simple mode with a closure: `build` fills the writer's internal builder
    /// (reset and empty) and must finish it; the result is written as one frame.
    ///
    /// The builder is a `FlatBufferBuilder<'static>`, so flatc-generated
    /// builders (`Telemetry::create`, `finish_telemetry_buffer`, ...), which
    /// need `A: 'fbb`, can be used here; a generic
    /// [`StreamSerialize::serialize`] cannot call them.
    ///
    /// # Errors
    ///
    /// The error of `build`, [`ErrorKind::UnfinishedBuilder`] if it did not
    /// finish the builder, and the errors of
    /// [`write_payload`](StreamWriter::write_payload).
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Framer, Result, wire};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> Result<()> {
    /// #         wire::write_le(p.len() as u64, 4, h); Ok(())
    /// #     }
    /// # }
    /// use flatstream_core::StreamWriter;
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// for sensor in ["temp", "pressure"] {
    ///     writer.write_with(|builder| {
    ///         let label = builder.create_string(sensor);
    ///         builder.finish(label, None);
    ///         Ok(())
    ///     })?;
    /// }
    /// assert_eq!(writer.frames_written(), 2);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn write_with<B>(&mut self, build: B) -> Result<()>
    where
        B: FnOnce(&mut FlatBufferBuilder<'static, DefaultAllocator>) -> Result<()>,
    {
        let position = self.sink.position();
        self.builder.reset();
        let result = build(&mut self.builder)
            .map_err(|e| match e.position() {
                Some(_) => e,
                None => e.at(position),
            })
            .and_then(|()| finished_payload(&self.builder).map_err(|e| e.at(position)))
            .and_then(|payload| self.sink.write_frame(payload));
        // Whatever the outcome, the builder has grown to what `build` wrote:
        // record it and let the policy judge, refused messages included.
        let used = self.builder.unfinished_data().len();
        self.builder_high_water = self.builder_high_water.max(used);
        if let Some(policy) = self.memory.as_mut() {
            if let Some(target) = policy.shrink_to(self.builder_high_water, used) {
                let keep = target.max(used);
                if keep < self.builder_high_water {
                    self.builder = FlatBufferBuilder::with_capacity(keep);
                    self.builder_high_water = keep;
                }
            }
        }
        result
    }

    /// Expert mode: writes the finished FlatBuffer held by `builder`.
    ///
    /// The builder is left as it is; call `builder.reset()` before building
    /// the next message.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnfinishedBuilder`] if `finish` was not called (see
    /// [`finished_payload`] for exactly what is detected), and the errors of
    /// [`write_payload`](StreamWriter::write_payload).
    pub fn write_finished<A: Allocator>(
        &mut self,
        builder: &mut FlatBufferBuilder<'_, A>,
    ) -> Result<()> {
        let payload = finished_payload(builder).map_err(|e| e.at(self.sink.position()))?;
        self.sink.write_frame(payload)
    }

    /// Writes `payload` as one frame, whatever its bytes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::FrameTooLarge`] when the payload exceeds the limit, the
    /// framer's refusal (both before any byte is written), or
    /// [`ErrorKind::Io`] from the sink, with the position of the frame.
    pub fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        self.sink.write_frame(payload)
    }

    /// Flushes the sink.
    ///
    /// This hands buffered bytes to the operating system; it does not make
    /// them durable. For durability call `File::sync_data` on the file after
    /// a flush, at the points where you need it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] from the sink.
    pub fn flush(&mut self) -> Result<()> {
        let position = self.sink.position();
        self.sink
            .inner
            .flush()
            .map_err(|e| Error::from(e).at(position))
    }

    /// Bytes of the frames this writer has written completely (plus the
    /// starting offset, see [`starting_at`](StreamWriter::starting_at)): the
    /// stream offset of the next frame. After an I/O error in the middle of a frame
    /// the sink may hold more (part of the failed frame).
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.sink.bytes_written
    }

    /// Frames this writer has written completely (plus the starting count,
    /// see [`starting_at`](StreamWriter::starting_at)).
    #[must_use]
    pub fn frames_written(&self) -> u64 {
        self.sink.frames_written
    }

    /// The framer.
    pub fn framer(&self) -> &F {
        &self.sink.framer
    }

    /// A shared reference to the sink.
    pub fn get_ref(&self) -> &W {
        &self.sink.inner
    }

    /// A mutable reference to the sink. Writing to it directly corrupts the
    /// stream unless you write whole frames.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.sink.inner
    }

    /// Returns the sink, without flushing it.
    pub fn into_inner(self) -> W {
        self.sink.inner
    }
}

impl<W: Write, F: Framer> FrameSink<W, F> {
    fn position(&self) -> Position {
        Position {
            offset: self.bytes_written,
            frame: self.frames_written,
        }
    }

    /// The one write path: limit check, header on the stack, then two writes.
    #[inline]
    fn write_frame(&mut self, payload: &[u8]) -> Result<()> {
        let limit = self.max_frame_len.min(self.framer.max_frame_len());
        if payload.len() > limit {
            return Err(too_large(payload.len(), limit, self.position()));
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let header = &mut header[..self.framer.header_len()];
        if let Err(e) = self.framer.encode_header(payload, header) {
            return Err(positioned(e, self.position()));
        }
        if let Err(e) = self.inner.write_all(header) {
            return Err(positioned(e.into(), self.position()));
        }
        if let Err(e) = self.inner.write_all(payload) {
            return Err(positioned(e.into(), self.position()));
        }
        self.bytes_written += (header.len() + payload.len()) as u64;
        self.frames_written += 1;
        Ok(())
    }
}

/// The error for a payload over the limit; out of line, so the write path
/// stays small enough to inline.
#[cold]
#[inline(never)]
fn too_large(len: usize, limit: usize, position: Position) -> Error {
    Error::from(ErrorKind::FrameTooLarge {
        declared: len as u64,
        limit: limit as u64,
    })
    .at(position)
}

/// `error` at `position`; out of line for the same reason as [`too_large`].
#[cold]
#[inline(never)]
fn positioned(error: Error, position: Position) -> Error {
    error.at(position)
}

impl<W, F: core::fmt::Debug> core::fmt::Debug for StreamWriter<W, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("framer", &self.sink.framer)
            .field("max_frame_len", &self.sink.max_frame_len)
            .field("bytes_written", &self.sink.bytes_written)
            .field("frames_written", &self.sink.frames_written)
            .finish_non_exhaustive()
    }
}
