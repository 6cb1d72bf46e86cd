//! Awkward `Read` sources and read-back helpers shared by the integration
//! tests through `#[path = "support/sources.rs"] mod sources;`.

#![allow(dead_code, reason = "each test file uses a subset of these helpers")]

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
