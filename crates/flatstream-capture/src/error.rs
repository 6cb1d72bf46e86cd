//! The capture crate's error: a stream error, an I/O error, or a capture
//! condition, each naming the file it happened in.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// A specialized `Result` whose error is the capture crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What went wrong in a capture: writing, rotating, following or seeking.
///
/// Every variant that concerns a file names it; stream errors keep their
/// byte offset and frame index (see [`flatstream_core::Error`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame-level error (a torn or corrupt frame, a refused payload, an
    /// I/O error while writing frames), in the file `path` when known.
    #[error("{}{source}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Stream {
        /// The segment or file concerned.
        path: Option<PathBuf>,
        /// The error, with its position in that file.
        #[source]
        source: flatstream_core::Error,
    },
    /// An I/O error on a file or directory other than writing frames
    /// (creating, renaming, listing, syncing a directory, deleting).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Another capture (a handle in this process or another process) holds
    /// the directory's or file's lock.
    #[error("{}: locked by another capture", path.display())]
    Locked {
        /// The locked file or directory.
        path: PathBuf,
    },
    /// The queue of the background writer is full, and its backpressure
    /// policy is [`Backpressure::Error`](crate::Backpressure::Error): the
    /// message was not queued (and is counted as refused, not dropped).
    #[error("the capture queue is full ({capacity} messages waiting)")]
    QueueFull {
        /// The queue's capacity, in messages.
        capacity: usize,
    },
    /// The background writer stopped after an error; every later submit,
    /// flush or sync answers this, with the error that stopped it.
    #[error("the capture writer stopped: {0}")]
    Stopped(Arc<Error>),
    /// The capture's I/O thread panicked (in the sink, most likely): the
    /// writer stopped, and every later call answers
    /// [`Error::Stopped`] with this.
    #[error("the capture's I/O thread panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The capture was closed: nothing more can be written.
    #[error("the capture is closed")]
    Closed,
    /// Options that cannot work together (for example gap markers larger
    /// than the sink accepts), refused before anything is written.
    #[error("capture options: {0}")]
    Options(String),
    /// A directory or file that is not what a capture expects: a segment
    /// name out of order, a damaged closed segment, a bad index.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A message number outside what a capture holds: before its first
    /// kept message (older segments were deleted) or at or after its end.
    #[error(
        "message {requested} is not in the capture (it holds messages {first} to {end}, end excluded)"
    )]
    OutOfRange {
        /// The message number asked for.
        requested: u64,
        /// The first message still kept.
        first: u64,
        /// One past the last message written.
        end: u64,
    },
    /// Segments a follower had not read yet were deleted (by retention, or
    /// by hand) before it reached them: their frames are lost to it.
    #[error("segments {first} to {last} were deleted before they were read")]
    SegmentsGone {
        /// The sequence number of the first missing segment.
        first: u64,
        /// The sequence number of the last missing segment.
        last: u64,
    },
    /// A segment ended before the next one's first message: messages
    /// `first` to `end` (end excluded) are missing between them (the
    /// earlier segment was truncated, for example by a recovery that cut a
    /// damaged tail, or emptied). Reading goes on with segment `segment`.
    #[error(
        "messages {first} to {end} (end excluded) are lost: the segment before segment {segment} ends at message {first}, but segment {segment} starts at message {end}"
    )]
    MessagesLost {
        /// The sequence number of the segment after the gap.
        segment: u64,
        /// The number of the first missing message.
        first: u64,
        /// The number of the first message after the gap.
        end: u64,
    },
}

impl Error {
    /// A stream error in the file `path`.
    pub(crate) fn stream(path: impl Into<PathBuf>, source: flatstream_core::Error) -> Self {
        Error::Stream {
            path: Some(path.into()),
            source,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The frame-level error inside, if this is one (looking through
    /// [`Error::Stopped`]).
    #[must_use]
    pub fn stream_error(&self) -> Option<&flatstream_core::Error> {
        match self {
            Error::Stream { source, .. } => Some(source),
            Error::Stopped(inner) => inner.stream_error(),
            _ => None,
        }
    }
}

impl From<flatstream_core::Error> for Error {
    fn from(source: flatstream_core::Error) -> Self {
        Error::Stream { path: None, source }
    }
}

/// Attaches a path to I/O results.
pub(crate) trait IoContext<T> {
    /// Maps an I/O error to [`Error::Io`] naming `path`.
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
