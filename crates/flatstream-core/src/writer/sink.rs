//! The sink half of [`StreamWriter`](crate::StreamWriter): one frame at a
//! time onto an `io::Write`, knowing exactly how much of the current frame
//! the sink accepted, and what to do when it accepted only part of it.
//!
//! The hot path is a header `write` and a payload `write` that each return
//! the full length. Everything else (short writes, `Interrupted`, errors, a
//! frame left in flight by an earlier error, a stopped writer) is out of line.

use alloc::vec::Vec;
use std::io::{self, IoSlice, Write};

use crate::wire::{DEFAULT_MAX_FRAME_LEN, MAX_HEADER_LEN};
use crate::{Error, ErrorKind, Framer, Position, Result, encode_header_checked};

/// Payloads from this size on go out with the header in one vectored write.
const VECTORED_FROM: usize = 16 * 1024;

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
    /// The whole frame in flight (header, then payload), copied once when a
    /// resumable error cuts a frame; empty otherwise. Its capacity is kept
    /// for the next time.
    frame: Vec<u8>,
}

/// What an earlier I/O error left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Every frame the sink accepted any byte of is whole.
    Clean,
    /// A resumable error cut a frame: the whole frame is in `frame` (its
    /// first `header_len` bytes are the header), and its first `sent` bytes
    /// are on the sink.
    InFlight { header_len: usize, sent: usize },
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
            frame: Vec::new(),
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
        match encode_header_checked(
            &mut self.framer,
            payload,
            self.max_frame_len,
            self.allow_empty,
            header,
        ) {
            Ok(()) => Ok(()),
            Err(e) => Err(positioned(e, self.position())),
        }
    }

    /// Writes one frame, with nothing in flight before it.
    #[inline]
    fn send(&mut self, header: &[u8], payload: &[u8]) -> Result<()> {
        if payload.len() >= VECTORED_FROM {
            return self.send_vectored(header, payload);
        }
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

    /// Writes a large frame with one vectored write (one system call for a
    /// sink that supports them, such as a file or a socket behind a
    /// `BufWriter` too small for the frame); a sink that does not takes the
    /// header alone, and the rest goes as in [`send`](FrameSink::send).
    #[cold]
    #[inline(never)]
    fn send_vectored(&mut self, header: &[u8], payload: &[u8]) -> Result<()> {
        let frame_len = header.len() + payload.len();
        match self
            .inner
            .write_vectored(&[IoSlice::new(header), IoSlice::new(payload)])
        {
            Ok(n) if n == frame_len => {
                self.bytes_written += frame_len as u64;
                self.frames_written += 1;
                Ok(())
            }
            first => self.send_slow(header, payload, 0, first),
        }
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
            // The one copy of the frame: later errors only move `sent`.
            self.frame.clear();
            self.frame.extend_from_slice(header);
            self.frame.extend_from_slice(payload);
            self.state = State::InFlight {
                header_len: header.len(),
                sent: accepted,
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

    /// Completes the frame in flight if `payload` is its payload (a retry),
    /// and returns how that went; `None` if it is not (nothing written).
    #[cold]
    #[inline(never)]
    pub(super) fn complete_if_retry(&mut self, payload: &[u8]) -> Option<Result<()>> {
        let mut header = [0u8; MAX_HEADER_LEN];
        let header = &mut header[..self.framer.header_len()];
        self.encode(payload, header).ok()?;
        self.is_retry(header, payload)
            .then(|| self.complete_in_flight())
    }

    /// Whether `header` + `payload` is the frame in flight: the same header,
    /// then the same payload length, then the same payload bytes, all of them.
    fn is_retry(&self, header: &[u8], payload: &[u8]) -> bool {
        let State::InFlight { header_len, .. } = self.state else {
            return false;
        };
        let (saved_header, saved_payload) = self.frame.split_at(header_len);
        header == saved_header && payload.len() == saved_payload.len() && payload == saved_payload
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
        let State::InFlight {
            header_len,
            mut sent,
        } = self.state
        else {
            return self.settle();
        };
        let result = loop {
            let Some(tail) = self.frame.get(sent..).filter(|t| !t.is_empty()) else {
                break Ok(());
            };
            match self.inner.write(tail) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => sent += n.min(tail.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let frame_len = self.frame.len() as u64;
        match result {
            Ok(()) => {
                self.state = State::Clean;
                self.frame.clear();
                self.bytes_written += frame_len;
                self.frames_written += 1;
                Ok(())
            }
            Err(e) => {
                let error = Error::from(e).at(self.position());
                self.state = if error.is_resumable() {
                    State::InFlight { header_len, sent }
                } else {
                    self.frame.clear();
                    State::Stopped {
                        written: sent as u64,
                        frame_len,
                    }
                };
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

/// `error` at `position`; out of line, so the write path stays small enough
/// to inline.
#[cold]
#[inline(never)]
fn positioned(error: Error, position: Position) -> Error {
    error.at(position)
}
