//! The `recover` target: arbitrary bytes through [`flatstream::recover`].
//!
//! Each deframer runs with the default limit and with a small
//! [`with_max_frame_len`](flatstream::DeframerExt::with_max_frame_len), over
//! the slice and over a source that returns short reads and `Interrupted`
//! (chosen from a hash of the input). The result is checked against a model
//! built from a plain [`StreamReader`]: the frames it returns before its first
//! error or clean end, and where the longest all-zero suffix that starts at a
//! frame boundary begins.

use std::io::{self, Read};

use flatstream::{
    ChecksumDeframer, Crc16, Crc32, DefaultDeframer, Deframer, DeframerExt, Error, ErrorKind,
    Position, Recovery, StreamReader, Tail, XxHash64, recover,
};

use crate::{peak_heap, reader_heap_bound};

/// The limit of the bounded runs: small enough for fuzz inputs to cross it
/// with frames that are otherwise complete.
const SMALL_LIMIT: usize = 64;

/// Recovers `data` with every deframer, unbounded and bounded.
///
/// # Panics
///
/// When an invariant fails (see the module documentation).
pub fn fuzz_recover(data: &[u8]) {
    let seed = fnv1a(data);
    recover_all(data, seed, DefaultDeframer);
    recover_all(data, seed, ChecksumDeframer::new(XxHash64::new()));
    recover_all(data, seed, ChecksumDeframer::new(Crc32::new()));
    recover_all(data, seed, ChecksumDeframer::new(Crc16::new()));
}

fn recover_all<D: Deframer + Clone>(data: &[u8], seed: u64, deframer: D) {
    recover_with(data, seed, deframer.clone());
    recover_with(data, seed, deframer.with_max_frame_len(SMALL_LIMIT));
}

/// What a recovery found, in a form that compares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Summary {
    Clean,
    Torn {
        offset: u64,
        len: u64,
    },
    ZeroFilled {
        offset: u64,
        len: u64,
    },
    /// The error's kind and position, as `Debug` prints them.
    Corrupt(String),
}

fn summarize(recovery: &Recovery) -> (u64, u64, Summary) {
    let tail = match &recovery.tail {
        Tail::Clean => Summary::Clean,
        &Tail::Torn { offset, len } => Summary::Torn { offset, len },
        &Tail::ZeroFilled { offset, len } => Summary::ZeroFilled { offset, len },
        Tail::Corrupt(e) => Summary::Corrupt(format!("{e:?}")),
        other => panic!("a tail this target does not know: {other:?}"),
    };
    (recovery.frames, recovery.valid_len, tail)
}

/// How a plain [`StreamReader`] reads `data`.
struct Model {
    /// Offsets of the frame boundaries it passed, starting with 0: `ends[i]`
    /// is where frame `i` starts, `ends[frames]` where reading stopped.
    ends: Vec<u64>,
    /// The error it stopped at, or `None` at a clean end.
    error: Option<Error>,
}

impl Model {
    fn of<D: Deframer>(data: &[u8], deframer: D) -> Self {
        let mut ends = Vec::with_capacity(data.len() / flatstream::wire::LENGTH_PREFIX_LEN + 1);
        ends.push(0);
        let mut reader = StreamReader::new(data, deframer);
        let error = loop {
            match reader.read_message() {
                Ok(Some(_)) => ends.push(reader.offset()),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        Model { ends, error }
    }

    fn frames(&self) -> u64 {
        self.ends.len() as u64 - 1
    }

    /// The recovery the documentation promises for `data`.
    fn expected(&self, data: &[u8]) -> (u64, u64, Summary) {
        let len = data.len() as u64;
        let zeros_from = self
            .ends
            .iter()
            .position(|&end| data[to_usize(end)..].iter().all(|&b| b == 0))
            .filter(|&frame| self.ends[frame] < len);
        if let Some(frame) = zeros_from {
            let offset = self.ends[frame];
            return (
                frame as u64,
                offset,
                Summary::ZeroFilled {
                    offset,
                    len: len - offset,
                },
            );
        }
        let (frames, end) = (self.frames(), self.ends[self.ends.len() - 1]);
        let tail = match &self.error {
            None => Summary::Clean,
            Some(e) if e.is_unexpected_eof() => Summary::Torn {
                offset: end,
                len: len - end,
            },
            Some(e) => Summary::Corrupt(format!("{e:?}")),
        };
        (frames, end, tail)
    }
}

fn to_usize(offset: u64) -> usize {
    usize::try_from(offset).expect("offsets fit usize")
}

fn recover_with<D: Deframer + Clone>(data: &[u8], seed: u64, deframer: D) {
    let model = Model::of(data, deframer.clone());
    let expected = model.expected(data);

    let (recovery, peak) = peak_heap(|| recover(data, deframer.clone()));
    let recovery = recovery.expect("recovering a slice cannot fail");
    check_heap(peak, data.len(), "a slice");
    check_invariants(data, &model, &recovery);
    let got = summarize(&recovery);
    assert_eq!(got, expected, "recovery differs from the model");

    // The same through short reads and `Interrupted`.
    let source = PatternSource::new(data, seed, None);
    let (chunked, peak) = peak_heap(|| recover(source, deframer.clone()));
    let chunked = chunked.expect("Interrupted is retried, and nothing else fails");
    check_heap(peak, data.len(), "a chunked source");
    assert_eq!(
        summarize(&chunked),
        expected,
        "recovery through chunks differs from recovery of the slice"
    );

    // A `WouldBlock` surfaces as itself, or is never reached.
    let would_block_at = usize::try_from(seed >> 48).expect("16 bits fit") % 8;
    let source = PatternSource::new(data, seed.rotate_left(17), Some(would_block_at));
    match recover(source, deframer) {
        Ok(recovery) => assert_eq!(summarize(&recovery), expected),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::Io(io) if io.kind() == io::ErrorKind::WouldBlock),
            "recover failed with something other than the source's WouldBlock: {e}"
        ),
    }
}

/// The invariants of the target's contract, stated one by one (the model
/// comparison implies them, but a failure here says which one broke).
fn check_invariants(data: &[u8], model: &Model, recovery: &Recovery) {
    let len = data.len() as u64;
    let valid_len = recovery.valid_len;
    assert!(valid_len <= len, "valid_len {valid_len} past the end {len}");
    assert_eq!(
        recovery.end_position(),
        Position {
            offset: valid_len,
            frame: recovery.frames,
        }
    );
    let frames = to_usize(recovery.frames);
    assert!(
        frames < model.ends.len(),
        "{frames} intact frames, but a plain reader returns {}",
        model.frames()
    );
    assert_eq!(
        model.ends[frames], valid_len,
        "valid_len is not the end of frame {frames}"
    );
    match &recovery.tail {
        Tail::Clean => {
            assert_eq!(valid_len, len, "clean, but not at the end");
            assert_eq!(recovery.frames, model.frames());
            assert!(model.error.is_none(), "clean, but a plain reader fails");
        }
        &Tail::Torn { offset, len: torn } => {
            assert_eq!(offset, valid_len);
            assert_eq!(offset + torn, len, "a torn tail that stops before the end");
            assert!(torn > 0, "an empty torn tail");
            assert_eq!(recovery.frames, model.frames());
            assert!(
                model.error.as_ref().is_some_and(Error::is_unexpected_eof),
                "torn, but a plain reader ends with {:?}",
                model.error
            );
        }
        &Tail::ZeroFilled { offset, len: zeros } => {
            assert_eq!(offset, valid_len);
            assert_eq!(offset + zeros, len, "a zero-filled tail that stops early");
            assert!(zeros > 0, "an empty zero-filled tail");
            assert!(
                data[to_usize(offset)..].iter().all(|&b| b == 0),
                "a zero-filled tail with a non-zero byte"
            );
            assert!(recovery.frames <= model.frames());
        }
        Tail::Corrupt(e) => {
            assert!(e.is_corruption(), "corrupt, but not corruption: {e}");
            assert_eq!(
                e.is_resumable(),
                matches!(e.kind(), ErrorKind::ChecksumMismatch { .. }),
                "only a checksum mismatch can be read past: {e}"
            );
            assert_eq!(
                e.position(),
                Some(recovery.end_position()),
                "the corruption is not where the intact frames end"
            );
            assert_eq!(recovery.frames, model.frames());
            assert!(
                data[to_usize(valid_len)..].iter().any(|&b| b != 0),
                "corruption followed by nothing but zeros"
            );
        }
        other => panic!("a tail this target does not know: {other:?}"),
    }
}

fn check_heap(peak: usize, len: usize, source: &str) {
    let bound = reader_heap_bound(len);
    assert!(
        peak <= bound,
        "recover held {peak} heap bytes reading {len} bytes from {source} (bound {bound})"
    );
}

/// FNV-1a: a cheap hash of the input, seeding the read pattern.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A source returning `data` in short reads from a seeded pattern, failing
/// some reads with `Interrupted` first, and optionally the read number
/// `would_block_at` with `WouldBlock`.
struct PatternSource<'a> {
    data: &'a [u8],
    state: u64,
    calls: usize,
    would_block_at: Option<usize>,
}

impl<'a> PatternSource<'a> {
    fn new(data: &'a [u8], seed: u64, would_block_at: Option<usize>) -> Self {
        PatternSource {
            data,
            state: seed | 1,
            calls: 0,
            would_block_at,
        }
    }

    /// xorshift64.
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
}

impl Read for PatternSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let call = self.calls;
        self.calls += 1;
        if self.would_block_at == Some(call) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let r = self.next();
        if r.is_multiple_of(8) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        // Mostly a few bytes (within headers), sometimes up to 4 KiB.
        let max = if r & 0x70 == 0 {
            (r >> 8) % 4096
        } else {
            (r >> 8) % 16
        };
        let n = buf
            .len()
            .min(self.data.len())
            .min(usize::try_from(max).expect("small") + 1);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
