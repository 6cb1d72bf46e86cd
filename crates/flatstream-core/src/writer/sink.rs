//! The sink half of [`StreamWriter`](crate::StreamWriter): one frame at a
//! time onto an `io::Write`, knowing exactly how much of the current frame
//! the sink accepted, and what to do when it accepted only part of it.
//!
//! The hot path is a header `write` and a payload `write` that each return
//! the full length. Everything else (short writes, `Interrupted`, errors, a
//! frame left in flight by an earlier error, a stopped writer) is out of line.

use alloc::vec::Vec;
use std::io::{self, Write};

use crate::wire::{DEFAULT_MAX_FRAME_LEN, MAX_HEADER_LEN};
use crate::{Error, ErrorKind, Framer, Position, Result};

/// The sink half of a writer, apart from the internal builder so that the
/// builder can lend its bytes while the sink is borrowed mutably.
pub(super) struct FrameSink<W, F> {
    pub(super) inner: W,
    pub(super) framer: F,
    pub(super) max_frame_len: usize,
    pub(super) allow_empty: bool,
    pub(super) bytes_written: u64,
    pub(super) frames_written: u64,
    /// Whether an earlier error left a frame partly written.
    state: State,
    /// The unwritten remainder of the frame in flight (header tail, then
    /// payload tail). Allocated only when a resumable error cuts a frame;
    /// its capacity is kept for the next time.
    rest: Vec<u8>,
}

/// What an earlier I/O error left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Every frame the sink accepted any byte of is whole.
    Clean,
    /// A resumable error cut a frame: its first `frame_len - rest.len()`
    /// bytes are on the sink, the remainder is in `rest`. `header` is the
    /// whole header of that frame, to recognise a retry.
    InFlight {
        header: [u8; MAX_HEADER_LEN],
        header_len: usize,
        frame_len: u64,
    },
    /// A non-resumable error cut a frame: `written` of its `frame_len` bytes
    /// are on the sink, and the writer refuses everything from now on.
    Stopped { written: u64, frame_len: u64 },
}

impl<W, F> FrameSink<W, F> {
    /// What an earlier I/O error left behind.
    pub(super) fn state(&self) -> State {
        self.state
    }
}

impl<W: Write, F: Framer> FrameSink<W, F> {
    pub(super) fn new(inner: W, framer: F) -> Self {
        FrameSink {
            inner,
            framer,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            allow_empty: false,
            bytes_written: 0,
            frames_written: 0,
            state: State::Clean,
            rest: Vec::new(),
        }
    }

    /// Where the next frame starts (or the frame in flight, when there is one).
    #[inline]
    pub(super) fn position(&self) -> Position {
        Position {
            offset: self.bytes_written,
            frame: self.frames_written,
        }
    }

    /// Whether a non-resumable error stopped the writer.
    #[inline]
    pub(super) fn is_stopped(&self) -> bool {
        matches!(self.state, State::Stopped { .. })
    }

    /// The one write path: checks, header on the stack, then two writes.
    #[inline]
    pub(super) fn write_frame(&mut self, payload: &[u8]) -> Result<()> {
        if !matches!(self.state, State::Clean) {
            return self.write_frame_after_fault(payload);
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let header_len = self.framer.header_len();
        let header = &mut header[..header_len];
        self.encode(payload, header)?;
        self.send(header, payload)
    }

    /// Checks `payload` against the limits and fills `header` for it.
    #[inline]
    fn encode(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        let limit = self.max_frame_len.min(self.framer.max_frame_len());
        if payload.len() > limit || (payload.is_empty() && !self.allow_empty) {
            return Err(refused(payload.len(), limit, self.position()));
        }
        if let Err(e) = self.framer.encode_header(payload, header) {
            return Err(positioned(e, self.position()));
        }
        Ok(())
    }

    /// Writes one frame, with nothing in flight before it.
    #[inline]
    fn send(&mut self, header: &[u8], payload: &[u8]) -> Result<()> {
        match self.inner.write(header) {
            Ok(n) if n == header.len() => {}
            first => return self.send_slow(header, payload, 0, first),
        }
        if !payload.is_empty() {
            match self.inner.write(payload) {
                Ok(n) if n == payload.len() => {}
                first => return self.send_slow(header, payload, header.len(), first),
            }
        }
        self.bytes_written += (header.len() + payload.len()) as u64;
        self.frames_written += 1;
        Ok(())
    }

    /// The rest of [`send`](FrameSink::send) after a write that did not take
    /// its whole slice: `accepted` bytes of the frame were on the sink before
    /// the call that returned `result`. Loops on short writes and
    /// `Interrupted`; on any other error records what is left.
    #[cold]
    #[inline(never)]
    fn send_slow(
        &mut self,
        header: &[u8],
        payload: &[u8],
        mut accepted: usize,
        mut result: io::Result<usize>,
    ) -> Result<()> {
        let frame_len = header.len() + payload.len();
        loop {
            let asked = frame_len - accepted;
            match result {
                Ok(0) => {
                    return self.cut(header, payload, accepted, io::ErrorKind::WriteZero.into());
                }
                Ok(n) => accepted += n.min(asked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.cut(header, payload, accepted, e),
            }
            if accepted == frame_len {
                self.bytes_written += frame_len as u64;
                self.frames_written += 1;
                return Ok(());
            }
            let next = match header.get(accepted..) {
                Some(tail) if !tail.is_empty() => tail,
                _ => &payload[accepted - header.len()..],
            };
            result = self.inner.write(next);
        }
    }

    /// Handles `error` after `accepted` bytes of the frame reached the sink,
    /// and returns it positioned at the frame.
    #[cold]
    #[inline(never)]
    fn cut(
        &mut self,
        header: &[u8],
        payload: &[u8],
        accepted: usize,
        error: io::Error,
    ) -> Result<()> {
        let error = Error::from(error).at(self.position());
        if accepted == 0 {
            // Nothing of the frame is on the sink: nothing to remember.
        } else if error.is_resumable() {
            self.rest.clear();
            self.rest
                .extend_from_slice(header.get(accepted..).unwrap_or_default());
            self.rest
                .extend_from_slice(&payload[accepted.saturating_sub(header.len())..]);
            let mut saved = [0u8; MAX_HEADER_LEN];
            saved[..header.len()].copy_from_slice(header);
            self.state = State::InFlight {
                header: saved,
                header_len: header.len(),
                frame_len: (header.len() + payload.len()) as u64,
            };
        } else {
            self.state = State::Stopped {
                written: accepted as u64,
                frame_len: (header.len() + payload.len()) as u64,
            };
        }
        Err(error)
    }

    /// [`write_frame`](FrameSink::write_frame) when an earlier error left a
    /// frame in flight or stopped the writer.
    #[cold]
    #[inline(never)]
    fn write_frame_after_fault(&mut self, payload: &[u8]) -> Result<()> {
        if self.is_stopped() {
            return Err(self.torn());
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let header = &mut header[..self.framer.header_len()];
        if let Err(refusal) = self.encode(payload, header) {
            // The new payload is refused; the frame in flight still goes first.
            return Err(self.refuse(refusal));
        }
        if self.is_retry(header, payload) {
            return self.complete_in_flight();
        }
        self.complete_in_flight()?;
        self.send(header, payload)
    }

    /// Whether `header` + `payload` is the frame in flight: the same header
    /// and length, and the same bytes where the remainder is.
    fn is_retry(&self, header: &[u8], payload: &[u8]) -> bool {
        let State::InFlight {
            header: saved,
            header_len,
            frame_len,
        } = &self.state
        else {
            return false;
        };
        let hl = *header_len;
        if header != &saved[..hl] || (hl + payload.len()) as u64 != *frame_len {
            return false;
        }
        let written = hl + payload.len() - self.rest.len();
        let (header_tail, payload_tail) = self.rest.split_at(hl.saturating_sub(written));
        header_tail == &header[written.min(hl)..]
            && payload_tail == &payload[written.saturating_sub(hl)..]
    }

    /// Lets the frame in flight, if any, go first, then returns `error`
    /// (a refusal of the next message) positioned where that message would
    /// have gone; or the error of completing the frame in flight.
    #[cold]
    #[inline(never)]
    pub(super) fn refuse(&mut self, error: Error) -> Error {
        if let Err(e) = self.settle() {
            return e;
        }
        error.at(self.position())
    }

    /// Like [`refuse`](FrameSink::refuse), keeping a position `error`
    /// already has (an error raised by user code may name its own).
    #[cold]
    #[inline(never)]
    pub(super) fn refuse_keeping_position(&mut self, error: Error) -> Error {
        if let Err(e) = self.settle() {
            return e;
        }
        match error.position() {
            Some(_) => error,
            None => error.at(self.position()),
        }
    }

    /// Completes the frame in flight, if any: `Ok` once nothing is in flight,
    /// [`ErrorKind::TornWrite`] if the writer is stopped.
    #[inline]
    pub(super) fn settle(&mut self) -> Result<()> {
        match self.state {
            State::Clean => Ok(()),
            State::InFlight { .. } => self.complete_in_flight(),
            State::Stopped { .. } => Err(self.torn()),
        }
    }

    /// Writes what is left of the frame in flight. On a resumable error the
    /// frame stays in flight with what is still unwritten; on any other the
    /// writer stops.
    #[cold]
    #[inline(never)]
    fn complete_in_flight(&mut self) -> Result<()> {
        let State::InFlight { frame_len, .. } = self.state else {
            return self.settle();
        };
        let mut done = 0;
        let result = loop {
            let Some(tail) = self.rest.get(done..).filter(|t| !t.is_empty()) else {
                break Ok(());
            };
            match self.inner.write(tail) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n.min(tail.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.rest.drain(..done);
        match result {
            Ok(()) => {
                self.state = State::Clean;
                self.bytes_written += frame_len;
                self.frames_written += 1;
                Ok(())
            }
            Err(e) => {
                let error = Error::from(e).at(self.position());
                if !error.is_resumable() {
                    self.state = State::Stopped {
                        written: frame_len - self.rest.len() as u64,
                        frame_len,
                    };
                }
                Err(error)
            }
        }
    }

    /// The error of a stopped writer, positioned at the partial frame.
    #[cold]
    #[inline(never)]
    fn torn(&self) -> Error {
        let (written, frame_len) = match self.state {
            State::Stopped { written, frame_len } => (written, frame_len),
            _ => (0, 0),
        };
        Error::from(ErrorKind::TornWrite { written, frame_len }).at(self.position())
    }
}

/// The error for a payload over the limit, or an empty one the writer
/// refuses; out of line, so the write path stays small enough to inline.
#[cold]
#[inline(never)]
fn refused(len: usize, limit: usize, position: Position) -> Error {
    let kind = if len == 0 {
        ErrorKind::EmptyPayload
    } else {
        ErrorKind::FrameTooLarge {
            declared: len as u64,
            limit: limit as u64,
        }
    };
    Error::from(kind).at(position)
}

/// `error` at `position`; out of line for the same reason as [`refused`].
#[cold]
#[inline(never)]
fn positioned(error: Error, position: Position) -> Error {
    error.at(position)
}
