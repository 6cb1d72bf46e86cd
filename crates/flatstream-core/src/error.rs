//! The one error type of FlatStream.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

/// A specialized `Result` whose error is FlatStream's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Where in a stream an error happened.
///
/// `offset` is the byte offset, from the start of the stream, of the first
/// byte of the frame concerned (its length prefix); `frame` is that frame's
/// zero-based index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Byte offset of the start of the frame.
    pub offset: u64,
    /// Zero-based index of the frame.
    pub frame: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {} at byte offset {}", self.frame, self.offset)
    }
}

/// What went wrong. Each kind carries the data a caller needs to act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A frame's declared payload length is above the configured limit.
    ///
    /// On reading this is raised before any memory is reserved for the
    /// payload. The reader cannot tell where the next frame starts (the length
    /// itself may be what is corrupt), so it does not skip the frame: reading
    /// again reports the same error. On writing, nothing was written.
    #[error("frame length {declared} exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The length the frame declares (or the payload has, when writing).
        declared: u64,
        /// The configured limit.
        limit: u64,
    },

    /// The checksum stored in a frame does not match its payload.
    ///
    /// The whole frame has been consumed: reading again continues with the
    /// next frame.
    #[error("{algorithm} checksum mismatch (stored {expected:#x}, computed {computed:#x})")]
    ChecksumMismatch {
        /// Name of the checksum algorithm, e.g. `"CRC-32/ISO-HDLC"`.
        algorithm: &'static str,
        /// The checksum stored in the frame header.
        expected: u64,
        /// The checksum computed over the payload that was read.
        computed: u64,
    },

    /// The input ended inside a frame: a torn tail.
    ///
    /// Every complete frame before it has been returned. The position names
    /// where the incomplete frame starts.
    #[error(
        "unexpected end of stream: incomplete frame has {available} of at least {required} bytes"
    )]
    UnexpectedEof {
        /// Bytes of the incomplete frame that were read.
        available: u64,
        /// Bytes the frame needs: its header length while the header itself is
        /// incomplete, the whole frame length once the header is known.
        required: u64,
    },

    /// A frame's length prefix is damaged: recovery, without a checksum,
    /// found good frames where the frame would end with one bit of its
    /// length flipped, after the frames read past it went wrong. Only ever
    /// the cause of a [`CorruptRegion`](ErrorKind::CorruptRegion) covering
    /// that frame.
    #[error(
        "damaged length: the frame declares {declared} bytes of payload, and good frames follow it as if it declared {likely}"
    )]
    DamagedLength {
        /// The payload length the frame declares.
        declared: u64,
        /// The length one bit away at whose end good frames start.
        likely: u64,
    },

    /// A builder was handed to the writer before `finish()` was called on it.
    ///
    /// Nothing was written.
    #[error("the FlatBufferBuilder was not finished; call `finish` before writing it")]
    UnfinishedBuilder,

    /// An error raised by user code, such as a [`StreamSerialize`] impl or a
    /// `process_all` callback.
    ///
    /// [`StreamSerialize`]: crate::StreamSerialize
    #[error("{0}")]
    Custom(String),

    /// A validator refused a payload (`flatstream-framing`'s `Validated`
    /// adapter and its `Validator`s raise this).
    ///
    /// On writing it is raised before any byte of the frame reaches the sink.
    /// On reading it is raised after the frame's checksum matched and before
    /// the payload is handed out; the whole frame has been consumed, so
    /// reading again continues with the next frame.
    #[error("payload rejected by {validator}: {reason}")]
    Invalid {
        /// Name of the validator that refused the payload, e.g.
        /// `"SizeValidator"` or the name given to a typed validator.
        validator: &'static str,
        /// Why the payload was refused.
        reason: String,
    },

    /// Salvage skipped a damaged region of the stream: the bytes from the
    /// error's position up to the next offset where a chain of frames
    /// verifies (or up to the end of input).
    ///
    /// Reading goes on after the region. What was in it is lost: one frame
    /// when the damaged frame's own length led exactly to the next good
    /// frame (`frames_lost` is `Some(1)`), an unknown number otherwise.
    #[error("skipped {len} damaged bytes ({cause})")]
    CorruptRegion {
        /// Length of the skipped region in bytes.
        len: u64,
        /// How many frames the region held, when that is known.
        frames_lost: Option<u64>,
        /// The damage found at the start of the region.
        cause: alloc::boxed::Box<ErrorKind>,
    },

    /// A payload that is empty or all zero bytes was handed to a writer that
    /// refuses them (the default).
    ///
    /// Such a payload is never a FlatBuffer (whose first 4 bytes, the root
    /// offset, are never all zero). With the plain framer, and with checksum
    /// framers whose checksum of such bytes is zero (CRC-16; CRC-32 for an
    /// empty payload), its frame is a length followed by only zero bytes,
    /// which recovery cannot tell apart from the zero fill a file system
    /// leaves after a power loss, and deletes. Nothing was written. Allow such
    /// payloads explicitly on the writer if your stream needs them (see
    /// `StreamWriter::allow_empty_payloads`).
    #[error(
        "payload refused: it is empty or all zero bytes, and its frame could not be told apart from zero fill"
    )]
    EmptyPayload,

    /// A stream header was written after frames: it can only be the first
    /// frame of a stream (see `StreamWriter::write_header`). Nothing was
    /// written.
    #[error(
        "stream header refused: it must be the first frame, and {frames_written} frames were written"
    )]
    HeaderNotFirst {
        /// Frames the writer had written (or started its count at).
        frames_written: u64,
    },

    /// An earlier I/O error left a frame partly written, and the writer
    /// cannot complete it: it refuses every later write.
    ///
    /// The error's position names the partial frame; the sink holds
    /// `written` of its `frame_len` bytes. Everything before that offset is
    /// whole. Recover the stream (truncating the partial frame) before
    /// writing to it again.
    #[error(
        "writer stopped: an earlier error left a frame with {written} of {frame_len} bytes written"
    )]
    TornWrite {
        /// Bytes of the partial frame that reached the sink.
        written: u64,
        /// Length of the whole frame, header included.
        frame_len: u64,
    },

    /// A deframer whose header cannot hold this format's 4-byte length
    /// prefix (or is longer than any header of the format family).
    #[error("deframer header length {header_len} is outside 4..={max}")]
    InvalidHeaderLen {
        /// The header length the deframer declared.
        header_len: usize,
        /// The longest header of the format family.
        max: usize,
    },

    /// Another process (or handle) holds the lock on the stream file: it is
    /// being written or recovered there.
    #[error("the stream file is locked by another writer or recoverer")]
    Locked,

    /// The file is not a regular file (a FIFO, a device, a directory, a
    /// `/proc` file): it cannot be recovered, truncated or mapped.
    #[error("not a regular file: {file_type}")]
    NotRegularFile {
        /// What it is instead, e.g. `"FIFO"`.
        file_type: &'static str,
    },

    /// An I/O error from the underlying reader or writer.
    #[cfg(feature = "std")]
    #[error("i/o error: {0}")]
    Io(std::io::Error),
}

/// The error type of every fallible FlatStream operation.
///
/// It is one pointer wide. [`kind`](Error::kind) says what went wrong and
/// [`position`](Error::position) where, when a stream position applies.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Error, ErrorKind, Position};
///
/// let err = Error::from(ErrorKind::FrameTooLarge { declared: 1 << 40, limit: 1 << 31 })
///     .at(Position { offset: 96, frame: 3 });
/// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { .. }));
/// assert_eq!(err.position().map(|p| p.frame), Some(3));
/// assert_eq!(
///     err.to_string(),
///     "frame length 1099511627776 exceeds the limit of 2147483648 bytes (frame 3 at byte offset 96)"
/// );
/// ```
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    position: Option<Position>,
}

impl Error {
    /// Creates an error of the given kind, with no position.
    #[must_use]
    pub fn new(kind: ErrorKind) -> Self {
        Error(Box::new(Inner {
            kind,
            position: None,
        }))
    }

    /// Creates an [`ErrorKind::Custom`] error from a message.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = flatstream_core::Error::custom("sensor 7 reported no timestamp");
    /// assert_eq!(err.to_string(), "sensor 7 reported no timestamp");
    /// ```
    #[must_use]
    pub fn custom(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Custom(alloc::format!("{message}")))
    }

    /// Returns this error with its stream position set.
    #[must_use]
    pub fn at(mut self, position: Position) -> Self {
        self.0.position = Some(position);
        self
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Consumes the error, returning its kind.
    #[must_use]
    pub fn into_kind(self) -> ErrorKind {
        self.0.kind
    }

    /// Where in the stream it went wrong, when that is known.
    #[must_use]
    pub fn position(&self) -> Option<Position> {
        self.0.position
    }

    /// Whether reading again can go on past this error.
    ///
    /// - [`ErrorKind::ChecksumMismatch`]: yes, the bad frame was consumed and
    ///   the next read starts at the next frame.
    /// - [`ErrorKind::UnexpectedEof`]: yes, if more bytes arrive (a file still
    ///   being written); nothing was consumed.
    /// - [`ErrorKind::Invalid`]: yes. On reading, the refused frame was read
    ///   whole and consumed; on writing, nothing was written.
    /// - [`ErrorKind::Io`] with `WouldBlock`, `Interrupted` or `TimedOut`:
    ///   yes, nothing was consumed; call again when the source is ready.
    /// - [`ErrorKind::FrameTooLarge`] on reading: no. The length may itself be
    ///   the corruption, and without a sync marker the start of the next frame
    ///   is unknown; reading again reports the same error rather than guess.
    /// - Anything else: no.
    #[must_use]
    pub fn is_resumable(&self) -> bool {
        match &self.0.kind {
            ErrorKind::ChecksumMismatch { .. }
            | ErrorKind::UnexpectedEof { .. }
            | ErrorKind::CorruptRegion { .. } => true,
            ErrorKind::Invalid { .. }
            | ErrorKind::EmptyPayload
            | ErrorKind::HeaderNotFirst { .. } => true,
            #[cfg(feature = "std")]
            ErrorKind::Io(err) => matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
            ),
            _ => false,
        }
    }

    /// Whether the stream is damaged at this point: a checksum mismatch, a
    /// declared length over the limit, a payload a validator refused, or a
    /// region that salvage skipped. Recovery reports exactly these as
    /// `Tail::Corrupt` when they are not at the end.
    /// (On writing, [`ErrorKind::Invalid`] means a payload was refused
    /// before anything was written.)
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::ChecksumMismatch { .. }
                | ErrorKind::FrameTooLarge { .. }
                | ErrorKind::CorruptRegion { .. }
                | ErrorKind::DamagedLength { .. }
                | ErrorKind::Invalid { .. }
        )
    }

    /// Whether the input ended inside a frame (a torn tail).
    #[must_use]
    pub fn is_unexpected_eof(&self) -> bool {
        matches!(self.0.kind, ErrorKind::UnexpectedEof { .. })
    }

    /// Whether an iteration over frames (an `Iterator` or a `Stream` that
    /// hands out each error as an item) ends after this error: at a torn
    /// tail; after the source's I/O error unless it is resumable (a
    /// `WouldBlock`, `Interrupted` or `TimedOut` says to read again, and the
    /// next item does); after damage that the reader did not move past
    /// (`moved` is false), as after a length over the limit, where every
    /// later read would return the same error. The rule of
    /// [`SliceReader`](crate::SliceReader) and of every such iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::{Error, ErrorKind};
    ///
    /// let torn = Error::from(ErrorKind::UnexpectedEof { available: 3, required: 8 });
    /// assert!(torn.ends_iteration(false));
    /// let skipped = Error::from(ErrorKind::ChecksumMismatch {
    ///     algorithm: "CRC-32/ISO-HDLC",
    ///     expected: 1,
    ///     computed: 2,
    /// });
    /// assert!(!skipped.ends_iteration(true), "the reader went on past the frame");
    /// assert!(skipped.ends_iteration(false));
    ///
    /// # #[cfg(feature = "std")] {
    /// use std::io;
    /// let timeout = Error::from(io::Error::from(io::ErrorKind::TimedOut));
    /// assert!(!timeout.ends_iteration(false), "the next read may succeed");
    /// let reset = Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
    /// assert!(reset.ends_iteration(false));
    /// # }
    /// ```
    #[must_use]
    pub fn ends_iteration(&self, moved: bool) -> bool {
        match &self.0.kind {
            ErrorKind::UnexpectedEof { .. } => true,
            // The source's error leaves the reader where it was: whether it
            // repeats is what `is_resumable` says.
            #[cfg(feature = "std")]
            ErrorKind::Io(_) => !self.is_resumable(),
            _ => !moved,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("position", &self.0.position)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.kind, f)?;
        if let Some(position) = self.0.position {
            write!(f, " ({position})")?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.0.kind {
            #[cfg(feature = "std")]
            ErrorKind::Io(err) => err.source(),
            _ => None,
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

#[cfg(feature = "std")]
impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io(err))
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    /// Converts to an `io::Error`: an I/O error is returned as it was, a torn
    /// tail becomes `UnexpectedEof`, anything else `InvalidData`.
    fn from(err: Error) -> Self {
        use std::io::ErrorKind as Io;
        match err.0.kind {
            ErrorKind::Io(inner) => inner,
            ErrorKind::UnexpectedEof { .. } => std::io::Error::new(Io::UnexpectedEof, err),
            _ => std::io::Error::new(Io::InvalidData, err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(core::mem::size_of::<Error>(), core::mem::size_of::<usize>());
        assert_eq!(
            core::mem::size_of::<Result<()>>(),
            core::mem::size_of::<usize>()
        );
    }

    #[test]
    fn display_names_kind_and_position() {
        let err = Error::from(ErrorKind::ChecksumMismatch {
            algorithm: "CRC-16/XMODEM",
            expected: 0x31c3,
            computed: 0x1234,
        })
        .at(Position {
            offset: 10,
            frame: 1,
        });
        assert_eq!(
            alloc::string::ToString::to_string(&err),
            "CRC-16/XMODEM checksum mismatch (stored 0x31c3, computed 0x1234) (frame 1 at byte offset 10)"
        );
    }

    #[test]
    fn invalid_names_validator_and_reason_and_is_resumable() {
        let err = Error::from(ErrorKind::Invalid {
            validator: "SizeValidator",
            reason: alloc::string::String::from("payload of 3 bytes is below the minimum of 8"),
        })
        .at(Position {
            offset: 0,
            frame: 0,
        });
        assert_eq!(
            alloc::string::ToString::to_string(&err),
            "payload rejected by SizeValidator: payload of 3 bytes is below the minimum of 8 (frame 0 at byte offset 0)"
        );
        assert!(err.is_resumable());
        assert!(err.is_corruption());
    }

    #[cfg(feature = "std")]
    #[test]
    fn converts_to_io_error_by_kind() {
        let eof = Error::from(ErrorKind::UnexpectedEof {
            available: 1,
            required: 4,
        });
        assert_eq!(
            std::io::Error::from(eof).kind(),
            std::io::ErrorKind::UnexpectedEof
        );
        let io = Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(
            std::io::Error::from(io).kind(),
            std::io::ErrorKind::BrokenPipe
        );
        let bad = Error::from(ErrorKind::UnfinishedBuilder);
        assert_eq!(
            std::io::Error::from(bad).kind(),
            std::io::ErrorKind::InvalidData
        );
    }
}
