//! The command line's one error type, and the exit codes it maps to.
//!
//! Every failure is one line on stderr, `flatstream: error: FILE: ...`,
//! naming the file and, where it matters, the byte offset and frame index.
//! Its [`Failure`] decides the exit code:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: the stream is intact, nothing was lost |
//! | 1 | the stream is damaged, or data was (or would be) lost |
//! | 2 | a usage error, or a file that cannot be read or written |

use core::fmt;
use std::io;
use std::path::Path;

use flatstream::{ErrorKind, Position};

/// Exit code: success, nothing lost.
pub const EXIT_OK: u8 = 0;
/// Exit code: the stream is damaged, or data was (or would be) lost.
pub const EXIT_DAMAGED: u8 = 1;
/// Exit code: a usage error, or a file that cannot be read or written.
pub const EXIT_USAGE: u8 = 2;

/// What kind of failure an [`Error`] is: it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The arguments do not make sense together (exit code 2).
    Usage,
    /// A file cannot be opened, read or written (exit code 2).
    Io,
    /// The stream's contents are damaged or not a stream (exit code 1).
    Damaged,
    /// Standard output was closed early (e.g. piped into `head`): not an
    /// error, the program ends quietly with exit code 0.
    BrokenPipe,
}

/// An error of the command line: a [`Failure`] and one line of text.
#[derive(Debug)]
pub struct Error {
    failure: Failure,
    message: String,
}

/// A `Result` whose error is the command line's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// An error of the given kind with `message` (one line, no trailing
    /// period needed).
    #[must_use]
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        Error {
            failure,
            message: message.into(),
        }
    }

    /// A usage error (exit code 2).
    #[must_use]
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Failure::Usage, message)
    }

    /// Damaged contents (exit code 1).
    #[must_use]
    pub fn damaged(message: impl Into<String>) -> Self {
        Self::new(Failure::Damaged, message)
    }

    /// An I/O error on `path` while doing `what` (e.g. `"cannot read"`).
    /// A broken pipe becomes [`Failure::BrokenPipe`].
    #[must_use]
    pub fn io(path: &Path, what: &str, error: &io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            return Self::new(Failure::BrokenPipe, "broken pipe");
        }
        Self::new(
            Failure::Io,
            format!("{}: {what}: {}", path.display(), describe_io(error)),
        )
    }

    /// An error writing to standard output.
    #[must_use]
    pub fn stdout(error: &io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Self::new(Failure::BrokenPipe, "broken pipe")
        } else {
            Self::new(
                Failure::Io,
                format!("cannot write to standard output: {}", describe_io(error)),
            )
        }
    }

    /// An error of the FlatStream library while reading the stream file
    /// `path`: an I/O error (exit code 2) or damage (exit code 1), with its
    /// position.
    #[must_use]
    pub fn stream(path: &Path, error: &flatstream::Error) -> Self {
        if let ErrorKind::Io(io) = error.kind() {
            return Self::io(path, "cannot read", io);
        }
        Self::damaged(format!("{}: {}", path.display(), describe_stream(error)))
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn failure(&self) -> Failure {
        self.failure
    }

    /// The one-line message, without the `flatstream: error: ` prefix.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self.failure {
            Failure::Usage | Failure::Io => EXIT_USAGE,
            Failure::Damaged => EXIT_DAMAGED,
            Failure::BrokenPipe => EXIT_OK,
        }
    }

    /// This error with `hint` appended to its message (`"...; hint"`).
    #[must_use]
    pub fn with_hint(mut self, hint: &str) -> Self {
        self.message.push_str("; ");
        self.message.push_str(hint);
        self
    }
}

impl fmt::Display for Error {
    /// The message with control characters escaped: always one line, and
    /// nothing in it (a file name, a header's text) can drive the terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.message))
    }
}

/// `text` with every control character escaped as Rust writes it (`\n`,
/// `\t`, `\u{1b}`): untrusted text (file names, a header's root type and
/// metadata) printed for a human can neither break a line nor send
/// terminal escape sequences. Other characters are kept as they are.
#[must_use]
pub fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Human-readable `text` of several lines: each line [`escape`]d, the
/// line breaks kept.
#[must_use]
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

/// `n` and `noun`, plural unless `n` is 1: `1 frame`, `2 frames`.
#[must_use]
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A path as printed in messages: [`escape`]d.
#[must_use]
pub fn shown(path: &Path) -> String {
    escape(&path.display().to_string())
}

impl core::error::Error for Error {}

/// `byte offset X (frame N)`: how every message names a place in a stream.
#[must_use]
pub fn at(position: Position) -> String {
    format!("byte offset {} (frame {})", position.offset, position.frame)
}

/// A library error as `byte offset X (frame N): what` (or just `what` when
/// it has no position).
#[must_use]
pub fn describe_stream(error: &flatstream::Error) -> String {
    let what = describe_kind(error.kind());
    match error.position() {
        Some(position) => format!("{}: {what}", at(position)),
        None => what,
    }
}

/// A library error kind in words, with the library's own text where it is
/// clear and plainer words where it is not.
#[must_use]
pub fn describe_kind(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::UnexpectedEof {
            available,
            required,
        } => format!("torn frame: the file ends after {available} of its {required} bytes"),
        ErrorKind::FrameTooLarge { declared, .. } => format!(
            "frame length {declared} is impossible here (damaged length prefix, or not a FlatStream stream)"
        ),
        ErrorKind::Io(error) => format!("i/o error: {}", describe_io(error)),
        other => other.to_string(),
    }
}

/// An I/O error in words, without the `(os error N)` suffix for the common
/// kinds.
#[must_use]
pub fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::AlreadyExists => "already exists".to_owned(),
        io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Error::usage("x").exit_code(), EXIT_USAGE);
        assert_eq!(Error::damaged("x").exit_code(), EXIT_DAMAGED);
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(Error::stdout(&pipe).exit_code(), EXIT_OK);
        let missing = io::Error::from(io::ErrorKind::NotFound);
        let error = Error::io(Path::new("a.bin"), "cannot open", &missing);
        assert_eq!(error.exit_code(), EXIT_USAGE);
        assert_eq!(
            error.message(),
            "a.bin: cannot open: no such file or directory"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain é 日本"), "plain é 日本");
        assert_eq!(escape("a\nb\u{1b}[2Jc\t"), "a\\nb\\u{1b}[2Jc\\t");
        assert_eq!(escape_lines("x\u{1b}\ny\n"), "x\\u{1b}\ny\n");
        let error = Error::damaged("bad\nname.bin: damaged");
        assert_eq!(error.to_string(), "bad\\nname.bin: damaged");
    }

    #[test]
    fn stream_errors_name_the_offset() {
        let error = flatstream::Error::from(ErrorKind::UnexpectedEof {
            available: 3,
            required: 8,
        })
        .at(Position {
            offset: 40,
            frame: 2,
        });
        let error = Error::stream(Path::new("c.bin"), &error);
        assert_eq!(error.exit_code(), EXIT_DAMAGED);
        assert_eq!(
            error.message(),
            "c.bin: byte offset 40 (frame 2): torn frame: the file ends after 3 of its 8 bytes"
        );
    }
}
