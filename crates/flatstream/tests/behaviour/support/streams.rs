//! Written streams with their frame boundaries, read-back and recovery
//! helpers, and temporary files. `crash_recovery.rs` includes this file too.

use core::sync::atomic::{AtomicUsize, Ordering};
use std::io::Read;
use std::path::{Path, PathBuf};

use flatstream::{Deframer, Error, Framer, Position, Recovery, StreamReader, StreamWriter, Tail};

/// A stream written by a framer, with where each of its frames starts.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub(crate) bytes: Vec<u8>,
    pub(crate) payloads: Vec<Vec<u8>>,
    /// `starts[i]` is the offset of frame `i`; the last entry is the length.
    pub(crate) starts: Vec<usize>,
    pub(crate) header_len: usize,
}

impl Written {
    /// The position of frame `i` (or of the end, for `i == payloads.len()`).
    pub(crate) fn position(&self, i: usize) -> Position {
        Position {
            offset: self.starts[i] as u64,
            frame: i as u64,
        }
    }

    /// The number of frames that lie whole in `bytes[..cut]`.
    pub(crate) fn complete_frames_in(&self, cut: usize) -> usize {
        self.starts[1..].iter().filter(|&&end| end <= cut).count()
    }
}

/// Writes `payloads` with a default `F` into a `Vec`.
pub(crate) fn write_stream<F: Framer + Default>(payloads: &[Vec<u8>]) -> Written {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let header_len = writer.framer().header_len();
    let mut starts = vec![0];
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
        starts.push(usize::try_from(writer.bytes_written()).expect("fits"));
    }
    let bytes = writer.into_inner();
    assert_eq!(starts.last().copied(), Some(bytes.len()));
    Written {
        bytes,
        payloads: payloads.to_vec(),
        starts,
        header_len,
    }
}

/// Whether `F` frames an empty payload as nothing but zero bytes (true of
/// the plain framer and of CRCs, whose checksum of no bytes is 0): such a
/// frame cannot be told from zero fill.
pub(crate) fn empty_frame_is_all_zero<F: Framer + Default>() -> bool {
    let mut frame = Vec::new();
    F::default()
        .encode_into(&[], &mut frame)
        .expect("encode_into");
    frame.iter().all(|&b| b == 0)
}

/// Reads with `read_message` until the first error or a clean end, copying
/// every payload returned before it.
pub(crate) fn read_until_error<R: Read, D: Deframer>(
    reader: &mut StreamReader<R, D>,
) -> (Vec<Vec<u8>>, Option<Error>) {
    let mut payloads = Vec::new();
    loop {
        match reader.read_message() {
            Ok(Some(payload)) => payloads.push(payload.to_vec()),
            Ok(None) => return (payloads, None),
            Err(err) => return (payloads, Some(err)),
        }
    }
}

/// A comparable summary of a [`Tail`]: a corruption is summarised by where
/// it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Clean,
    Torn { offset: u64, len: u64 },
    ZeroFilled { offset: u64, len: u64 },
    Corrupt(Option<Position>),
}

pub(crate) fn ending(tail: &Tail) -> Ending {
    match tail {
        Tail::Clean => Ending::Clean,
        Tail::Torn { offset, len } => Ending::Torn {
            offset: *offset,
            len: *len,
        },
        Tail::ZeroFilled { offset, len } => Ending::ZeroFilled {
            offset: *offset,
            len: *len,
        },
        Tail::Corrupt(err) => Ending::Corrupt(err.position()),
        other => panic!("a tail this test does not know: {other:?}"),
    }
}

/// `(frames, valid_len, ending)` of a recovery.
pub(crate) fn summary(recovery: &Recovery) -> (u64, u64, Ending) {
    (recovery.frames, recovery.valid_len, ending(&recovery.tail))
}

/// A path in the system's temporary directory, unique to this process and
/// call, whose file is removed on drop.
#[derive(Debug)]
pub(crate) struct TempPath {
    path: PathBuf,
    keep: bool,
}

impl TempPath {
    pub(crate) fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "flatstream-test-{}-{n}-{tag}.bin",
            std::process::id()
        ));
        // A leftover of an earlier process with the same id.
        let _ = std::fs::remove_file(&path);
        TempPath { path, keep: false }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the file in place on drop, for a post-mortem.
    #[allow(dead_code, reason = "used by crash_recovery.rs only")]
    pub(crate) fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
