//! `StreamWriter`: frames payloads onto any `std::io::Write`.

mod sink;

use alloc::boxed::Box;
use flatbuffers::{Allocator, DefaultAllocator, FlatBufferBuilder};
use std::io::Write;

use self::sink::{FrameSink, State};
use crate::{
    Error, ErrorKind, Framer, MemoryPolicy, Position, Result, StreamHeader, StreamSerialize,
    finished_payload,
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
/// Each frame costs two [`Write::write`] calls (header, then payload) when
/// the sink takes them whole, so give it a buffered sink such as
/// [`std::io::BufWriter`]; an unbuffered `File` or `TcpStream` costs two
/// system calls per message. Short writes are continued and `Interrupted` is
/// retried internally; `Ok(0)` from the sink is an
/// [`io::ErrorKind::WriteZero`] error.
///
/// # What is on the sink after an error
///
/// The writer counts exactly how many bytes of each frame the sink accepted,
/// so every frame reaches the sink exactly once: whole, or (after an error
/// in the middle of it) as the last, partial thing on it until it is
/// completed. [`bytes_written`](StreamWriter::bytes_written) and
/// [`frames_written`](StreamWriter::frames_written) count complete frames
/// only, and every error names the frame concerned (its offset and index).
///
/// - **A refused payload** (too large, empty or all zero bytes unless
///   [allowed](StreamWriter::allow_empty_payloads), an unfinished builder, a
///   framer's refusal) is refused before any byte of it is written.
/// - **An I/O error before the sink took any byte of the frame** leaves
///   nothing behind: call again with the same message, or another one.
/// - **A resumable I/O error** (`WouldBlock`, `TimedOut`; see
///   [`Error::is_resumable`]) **in the middle of a frame** leaves that frame
///   *in flight*: the writer keeps a copy of the whole frame (made only
///   then, in a buffer whose capacity it keeps) and how much of it the sink
///   took. The next write call, or [`flush`](StreamWriter::flush),
///   completes it before anything else. Retrying the same message is the
///   natural thing to do: the writer recognises it (the same header and the
///   same whole payload, compared byte for byte), completes the frame and
///   returns `Ok`, and the frame appears once. A different message is
///   written after the frame in flight is completed from the copy, so both
///   appear, whole. If completing fails again resumably, the frame stays in
///   flight with what is still unwritten.
/// - **Any other I/O error in the middle of a frame** (`BrokenPipe`,
///   `WriteZero`, a full disk, ...) stops the writer: the sink ends in a torn
///   frame, which readers report as [`ErrorKind::UnexpectedEof`] after every
///   complete frame before it, and recovery truncates. Every later write or
///   flush returns [`ErrorKind::TornWrite`] positioned at the torn frame
///   (its offset is `bytes_written()`).
///
/// [`io::ErrorKind::WriteZero`]: std::io::ErrorKind::WriteZero
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
///
/// A non-blocking sink that fills up in the middle of a frame: the retry
/// completes the frame, which appears once.
///
/// ```
/// use std::io::{self, Write};
///
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
/// /// Takes up to `room` bytes, then would block.
/// struct Pipe {
///     bytes: Vec<u8>,
///     room: usize,
/// }
///
/// impl Write for Pipe {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
///         if self.room == 0 {
///             return Err(io::ErrorKind::WouldBlock.into());
///         }
///         let n = buf.len().min(self.room);
///         self.bytes.extend_from_slice(&buf[..n]);
///         self.room -= n;
///         Ok(n)
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         Ok(())
///     }
/// }
///
/// let mut writer = StreamWriter::new(Pipe { bytes: Vec::new(), room: 6 }, DefaultFramer);
/// let err = writer.write_payload(b"hello world").unwrap_err();
/// assert!(err.is_resumable()); // WouldBlock, with 6 of the 15 bytes on the sink
/// assert_eq!(writer.frames_written(), 0);
///
/// writer.get_mut().room = 1024; // the reader on the other end caught up
/// writer.write_payload(b"hello world")?; // the retry completes the frame
/// assert_eq!(writer.frames_written(), 1);
/// assert_eq!(writer.bytes_written(), 15);
/// assert_eq!(writer.get_ref().bytes, b"\x0b\0\0\0hello world");
/// # Ok::<(), flatstream_core::Error>(())
/// ```
///
/// [`ErrorKind::TornWrite`]: crate::ErrorKind::TornWrite
/// [`ErrorKind::UnexpectedEof`]: crate::ErrorKind::UnexpectedEof
pub struct StreamWriter<W, F> {
    sink: FrameSink<W, F>,
    builder: FlatBufferBuilder<'static, DefaultAllocator>,
    /// The largest message built by `builder` since it was created: what it
    /// holds on to.
    builder_high_water: usize,
    /// When to give the builder's memory back; `None` keeps it (the default).
    memory: Option<Box<dyn MemoryPolicy + Send>>,
}

impl<W: Write, F: Framer> StreamWriter<W, F> {
    /// Creates a writer that frames with `framer` onto `inner`.
    ///
    /// The payload limit is [`DEFAULT_MAX_FRAME_LEN`](crate::wire::DEFAULT_MAX_FRAME_LEN) (2 GiB), and
    /// payloads that are empty or all zero bytes are refused (see
    /// [`allow_empty_payloads`](StreamWriter::allow_empty_payloads)).
    pub fn new(inner: W, framer: F) -> Self {
        StreamWriter {
            sink: FrameSink::new(inner, framer),
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

    /// The largest payload [`write_payload`](StreamWriter::write_payload)
    /// accepts: the smaller of the limit set with
    /// [`with_max_frame_len`](StreamWriter::with_max_frame_len) (2 GiB by
    /// default) and the framer's own [`max_frame_len`](Framer::max_frame_len).
    /// For a writer fed from elsewhere (a queue) to refuse a payload where
    /// it is handed over, not where it is written.
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
    /// let writer = StreamWriter::new(Vec::new(), DefaultFramer).with_max_frame_len(8);
    /// assert_eq!(writer.max_payload_len(), 8);
    /// ```
    #[must_use]
    pub fn max_payload_len(&self) -> usize {
        self.sink
            .max_frame_len
            .min(self.sink.framer.max_frame_len())
    }

    /// Whether to write payloads that are empty or all zero bytes (`false` by
    /// default: they are refused with [`ErrorKind::EmptyPayload`], before any
    /// byte is written).
    ///
    /// Such a payload is never a FlatBuffer (a FlatBuffer starts with a
    /// non-zero root offset, so the check looks at its first 4 bytes and
    /// scans further only when they are zero). Its frame can be a length
    /// followed by only zero bytes: with the plain framer always, and with
    /// checksum framers whose checksum of those bytes is 0 (CRC-16; CRC-32
    /// and CRC-16 for an empty payload, whose whole frame is zeros). That is
    /// what recovery takes for the zero fill a file system leaves behind when
    /// it extended a file whose data never landed, and truncates; in a stream
    /// that allows such payloads a run of zeros may be real frames, so
    /// recovery reports the ambiguity instead of truncating. Allow them only
    /// if your stream needs them.
    ///
    /// A frame that is written has the wire format's bytes: the length and
    /// the framer's checksum of the payload.
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
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// let err = writer.write_payload(b"").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::EmptyPayload));
    /// let err = writer.write_payload(&0u32.to_le_bytes()).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::EmptyPayload));
    /// assert!(writer.get_ref().is_empty(), "nothing reaches the sink");
    /// writer.write_payload(&1u32.to_le_bytes())?; // not all zero: written
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer).allow_empty_payloads(true);
    /// writer.write_payload(b"")?;
    /// writer.write_payload(&[0; 2])?;
    /// assert_eq!(writer.into_inner(), [0, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    ///
    /// [`ErrorKind::EmptyPayload`]: crate::ErrorKind::EmptyPayload
    #[must_use]
    pub fn allow_empty_payloads(mut self, allow: bool) -> Self {
        self.sink.allow_empty = allow;
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
    /// After a resumable I/O error, call again with the same `item`: if part
    /// of its frame reached the sink, the call completes that frame (see
    /// [What is on the sink after an error](StreamWriter#what-is-on-the-sink-after-an-error)).
    ///
    /// # Errors
    ///
    /// The error of `item.serialize`, [`ErrorKind::UnfinishedBuilder`] if it
    /// did not finish the builder, and the errors of
    /// [`write_payload`](StreamWriter::write_payload).
    ///
    /// [`ErrorKind::UnfinishedBuilder`]: crate::ErrorKind::UnfinishedBuilder
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
    /// `build` runs before a frame left in flight by an earlier error is
    /// completed, so if it builds the same message, its frame is recognised
    /// as the retry. A stopped writer does not call `build`.
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
    ///
    /// [`ErrorKind::UnfinishedBuilder`]: crate::ErrorKind::UnfinishedBuilder
    pub fn write_with<B>(&mut self, build: B) -> Result<()>
    where
        B: FnOnce(&mut FlatBufferBuilder<'static, DefaultAllocator>) -> Result<()>,
    {
        if self.sink.is_stopped() {
            return self.sink.settle();
        }
        self.builder.reset();
        let result = match build(&mut self.builder) {
            Ok(()) => match finished_payload(&self.builder) {
                Ok(payload) => self.sink.write_frame(payload),
                Err(e) => Err(self.sink.refuse(e)),
            },
            Err(e) => Err(self.sink.refuse_keeping_position(e)),
        };
        // Whatever the outcome, the builder has grown to what `build` wrote:
        // record it and let the policy judge, refused messages included.
        let used = self.builder.unfinished_data().len();
        self.builder_high_water = self.builder_high_water.max(used);
        if let Some(policy) = self.memory.as_mut()
            && let Some(target) = policy.shrink_to(self.builder_high_water, used)
        {
            let keep = target.max(used);
            if keep < self.builder_high_water {
                self.builder = FlatBufferBuilder::with_capacity(keep);
                self.builder_high_water = keep;
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
    ///
    /// [`ErrorKind::UnfinishedBuilder`]: crate::ErrorKind::UnfinishedBuilder
    pub fn write_finished<A: Allocator>(
        &mut self,
        builder: &mut FlatBufferBuilder<'_, A>,
    ) -> Result<()> {
        match finished_payload(builder) {
            Ok(payload) => self.sink.write_frame(payload),
            Err(e) => Err(self.sink.refuse(e)),
        }
    }

    /// Writes `header` as the stream's first frame: the self-describing
    /// header that readers take out of the payloads and expose (see
    /// [`StreamHeader`]). It counts as a frame in
    /// [`frames_written`](StreamWriter::frames_written) and in positions, as
    /// it does on the wire.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::HeaderNotFirst`] if the writer has written a frame (or
    /// starts its count after frames, when appending), or a resumable error
    /// left another first frame in flight, with nothing written; otherwise as
    /// [`write_payload`](StreamWriter::write_payload). The same header
    /// again after a resumable error cut it is a retry: it completes the
    /// header frame, once.
    ///
    /// [`ErrorKind::HeaderNotFirst`]: crate::ErrorKind::HeaderNotFirst
    pub fn write_header(&mut self, header: &StreamHeader) -> Result<()> {
        let at = self.sink.position();
        let refused =
            |frames_written| Err(Error::from(ErrorKind::HeaderNotFirst { frames_written }).at(at));
        if at.offset != 0 || at.frame != 0 {
            return refused(at.frame);
        }
        let encoded = header.encode();
        match self.sink.state() {
            State::Clean => self.sink.write_frame(&encoded),
            State::Stopped { .. } => self.sink.settle(),
            // A first frame cut by a resumable error: this header again is
            // a retry, completed; another frame stays first (completed, as
            // before any refused message).
            State::InFlight { .. } => match self.sink.complete_if_retry(&encoded) {
                Some(completed) => completed,
                None => {
                    self.sink.settle()?;
                    let at = self.sink.position();
                    Err(Error::from(ErrorKind::HeaderNotFirst {
                        frames_written: at.frame,
                    })
                    .at(at))
                }
            },
        }
    }

    /// Writes `payload` as one frame, whatever its bytes (one that is empty
    /// or all zero bytes only if [allowed](StreamWriter::allow_empty_payloads)).
    ///
    /// If an earlier resumable error left a frame in flight, that frame is
    /// completed first; if `payload` is the payload of that frame (a retry),
    /// completing it is all this call does. See
    /// [What is on the sink after an error](StreamWriter#what-is-on-the-sink-after-an-error).
    ///
    /// # Errors
    ///
    /// Each with the position of the frame concerned (its offset is
    /// [`bytes_written`](StreamWriter::bytes_written)):
    ///
    /// - [`ErrorKind::FrameTooLarge`] when the payload exceeds the limit,
    ///   [`ErrorKind::EmptyPayload`] when it is empty or all zero bytes and
    ///   such payloads are not allowed, or the framer's refusal: nothing of this payload was
    ///   written (a frame in flight was completed first, if it could be);
    /// - [`ErrorKind::Io`] from the sink; resumable or not as
    ///   [`Error::is_resumable`] says, and if it was not, the writer is now
    ///   stopped when part of the frame reached the sink;
    /// - [`ErrorKind::TornWrite`] when an earlier error stopped the writer.
    ///
    /// [`ErrorKind::EmptyPayload`]: crate::ErrorKind::EmptyPayload
    /// [`ErrorKind::FrameTooLarge`]: crate::ErrorKind::FrameTooLarge
    /// [`ErrorKind::Io`]: crate::ErrorKind::Io
    /// [`ErrorKind::TornWrite`]: crate::ErrorKind::TornWrite
    pub fn write_payload(&mut self, payload: &[u8]) -> Result<()> {
        self.sink.write_frame(payload)
    }

    /// Whether an earlier resumable error (`WouldBlock`, `TimedOut`,
    /// `Interrupted`) left a frame partly written. The writer keeps the rest
    /// of that frame and writes it before anything else; see
    /// [`complete_frame_in_flight`](StreamWriter::complete_frame_in_flight).
    #[must_use]
    pub fn has_frame_in_flight(&self) -> bool {
        matches!(self.sink.state(), State::InFlight { .. })
    }

    /// Writes the rest of a frame that an earlier resumable error left
    /// partly written, without writing anything else (the next write would
    /// complete it too, first). `Ok` when no frame is in flight.
    ///
    /// # Errors
    ///
    /// The sink's error: a resumable one leaves the frame in flight, any
    /// other stops the writer; [`ErrorKind::TornWrite`](crate::ErrorKind::TornWrite)
    /// when an earlier error stopped it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use flatstream_core::{Framer, Result};
    /// # #[derive(Debug)] struct DefaultFramer;
    /// # impl Framer for DefaultFramer {
    /// #     fn header_len(&self) -> usize { 4 }
    /// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> Result<()> {
    /// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes());
    /// #         Ok(())
    /// #     }
    /// # }
    /// use std::io::{self, Write};
    /// use flatstream_core::StreamWriter;
    ///
    /// /// Takes 6 bytes, then says `WouldBlock` once.
    /// struct Slow(Vec<u8>, bool);
    /// impl Write for Slow {
    ///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    ///         if self.0.len() >= 6 && !self.1 {
    ///             self.1 = true;
    ///             return Err(io::ErrorKind::WouldBlock.into());
    ///         }
    ///         let n = buf.len().min(6usize.saturating_sub(self.0.len()).max(usize::from(self.1) * buf.len()));
    ///         self.0.extend_from_slice(&buf[..n]);
    ///         Ok(n)
    ///     }
    ///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
    /// }
    ///
    /// let mut writer = StreamWriter::new(Slow(Vec::new(), false), DefaultFramer);
    /// let err = writer.write_payload(b"hello").unwrap_err();
    /// assert!(err.is_resumable());
    /// assert!(writer.has_frame_in_flight());
    /// writer.complete_frame_in_flight()?;
    /// assert!(!writer.has_frame_in_flight());
    /// assert_eq!(writer.get_ref().0, b"\x05\0\0\0hello");
    /// assert_eq!(writer.frames_written(), 1);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn complete_frame_in_flight(&mut self) -> Result<()> {
        self.sink.settle()
    }

    /// Completes a frame left in flight by an earlier resumable error, if
    /// any, then flushes the sink.
    ///
    /// This hands buffered bytes to the operating system; it does not make
    /// them durable. For durability call `File::sync_data` on the file after
    /// a flush, at the points where you need it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] from the sink (completing the frame in flight, which
    /// then stays in flight if the error is resumable, or flushing), and
    /// [`ErrorKind::TornWrite`] when an earlier error stopped the writer; a
    /// stopped writer does not flush the sink (`get_mut().flush()` still
    /// can, handing on the torn frame's bytes too).
    ///
    /// [`ErrorKind::Io`]: crate::ErrorKind::Io
    /// [`ErrorKind::TornWrite`]: crate::ErrorKind::TornWrite
    pub fn flush(&mut self) -> Result<()> {
        self.sink.settle()?;
        let position = self.sink.position();
        self.sink
            .inner
            .flush()
            .map_err(|e| Error::from(e).at(position))
    }

    /// Bytes of the frames this writer has written completely (plus the
    /// starting offset, see [`starting_at`](StreamWriter::starting_at)): the
    /// stream offset of the next frame. After an I/O error in the middle of a
    /// frame the sink holds more: the part of that frame it accepted, which
    /// the writer completes (a resumable error) or leaves torn (any other).
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
    /// stream unless you write whole frames, and only while no frame is in
    /// flight (after a resumable error, the writer's next call completes the
    /// frame it was writing).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.sink.inner
    }

    /// Returns the sink, without flushing it.
    ///
    /// A frame left in flight by a resumable error is not completed: the
    /// sink then ends in a torn frame, at [`bytes_written`](StreamWriter::bytes_written).
    /// Call [`flush`](StreamWriter::flush) first to complete it.
    pub fn into_inner(self) -> W {
        self.sink.inner
    }
}

impl<W, F: core::fmt::Debug> core::fmt::Debug for StreamWriter<W, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("framer", &self.sink.framer)
            .field("max_frame_len", &self.sink.max_frame_len)
            .field("bytes_written", &self.sink.bytes_written)
            .field("frames_written", &self.sink.frames_written)
            .field("allow_empty_payloads", &self.sink.allow_empty)
            .field("state", &self.sink.state())
            .finish_non_exhaustive()
    }
}
