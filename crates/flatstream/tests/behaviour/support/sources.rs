//! Awkward `Read` sources and read-back helpers.

use std::io::{self, Read};

use flatstream::{Deframer, StreamReader};

/// Hands out at most one byte per `read` call.
#[derive(Debug)]
pub(crate) struct OneByteAtATime<'a> {
    pub(crate) data: &'a [u8],
}

impl Read for OneByteAtATime<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(1);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Reads `reader` to a clean end with `process_all`, copying every payload.
pub(crate) fn collect_with_process_all<R: Read, D: Deframer>(
    reader: &mut StreamReader<R, D>,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .process_all(|payload| {
            out.push(payload.to_vec());
            Ok(())
        })
        .expect("process_all");
    out
}

/// Returns at most `chunk` bytes per call, and fails the call with index
/// `fail_at` (counting from 0) with `fault`, consuming nothing.
#[derive(Debug)]
pub(crate) struct FailsOnce<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) chunk: usize,
    pub(crate) calls: usize,
    pub(crate) fail_at: Option<usize>,
    pub(crate) fault: io::ErrorKind,
}

impl<'a> FailsOnce<'a> {
    pub(crate) fn new(
        data: &'a [u8],
        chunk: usize,
        fail_at: Option<usize>,
        fault: io::ErrorKind,
    ) -> Self {
        FailsOnce {
            data,
            chunk,
            calls: 0,
            fail_at,
            fault,
        }
    }
}

impl Read for FailsOnce<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let call = self.calls;
        self.calls += 1;
        if self.fail_at == Some(call) {
            return Err(io::Error::from(self.fault));
        }
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Fails the first `read` made when exactly `at` bytes of `data` have been
/// handed out, once, with `fault`, consuming nothing; otherwise returns at
/// most `chunk` bytes per call and never reads past `at` before failing
/// there, so that the fault lands at that byte offset whatever the reader's
/// buffer size. `at == data.len()` fails the read that would report the end.
#[derive(Debug)]
pub(crate) struct FailsAtOffset<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) handed_out: usize,
    pub(crate) chunk: usize,
    pub(crate) at: usize,
    pub(crate) fault: io::ErrorKind,
    pub(crate) failed: bool,
}

impl<'a> FailsAtOffset<'a> {
    pub(crate) fn new(data: &'a [u8], chunk: usize, at: usize, fault: io::ErrorKind) -> Self {
        FailsAtOffset {
            data,
            handed_out: 0,
            chunk,
            at,
            fault,
            failed: false,
        }
    }
}

impl Read for FailsAtOffset<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.failed && self.handed_out == self.at {
            self.failed = true;
            return Err(io::Error::from(self.fault));
        }
        let mut n = buf.len().min(self.data.len()).min(self.chunk);
        if !self.failed && self.handed_out < self.at {
            n = n.min(self.at - self.handed_out);
        }
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.handed_out += n;
        Ok(n)
    }
}

/// One step of a [`Scripted`] source.
#[derive(Debug, Clone)]
pub(crate) enum Script {
    /// These bytes, over as many `read` calls as the reader's buffer needs.
    Bytes(Vec<u8>),
    /// One `read` call failing with this kind.
    Fail(io::ErrorKind),
}

/// Plays `steps` in order: the bytes of each `Bytes` step (a `read` never
/// spans two steps), one failure for each `Fail` step, then the end.
#[derive(Debug)]
pub(crate) struct Scripted {
    /// The steps still to play, the next one last.
    pub(crate) steps: Vec<Script>,
}

impl Scripted {
    pub(crate) fn new(steps: impl IntoIterator<Item = Script>) -> Self {
        let mut steps: Vec<Script> = steps.into_iter().collect();
        steps.reverse();
        Scripted { steps }
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.steps.last_mut() {
                None => return Ok(0),
                Some(Script::Fail(kind)) => {
                    let kind = *kind;
                    self.steps.pop();
                    return Err(io::Error::from(kind));
                }
                Some(Script::Bytes(bytes)) if bytes.is_empty() => {
                    self.steps.pop();
                }
                Some(Script::Bytes(bytes)) => {
                    let n = buf.len().min(bytes.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    bytes.drain(..n);
                    return Ok(n);
                }
            }
        }
    }
}
