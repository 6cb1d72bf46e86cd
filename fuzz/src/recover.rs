//! The `recover` target: arbitrary bytes through recovery.
//!
//! Each deframer (default, XXH3-64, CRC-32, CRC-16) runs unbounded and with
//! `with_max_frame_len(SMALL_LIMIT)`. Every recovery path must give the same
//! [`Recovery`] (compared by its `Debug` text, field by field): for both,
//! [`recover_slice`] and a [`StreamReader`] over a source of short reads,
//! `Interrupted` and frequent `WouldBlock`s, whose scan each `WouldBlock`
//! suspends and the next call resumes (a single `WouldBlock` makes
//! [`recover_with`] fail with it, or is never met); with the limit given in
//! [`RecoverOptions`] instead of on the deframer, [`recover_slice`],
//! [`recover_with`] over the slice and [`SliceReader::recover`] give the
//! same as with the limit on the deframer.
//!
//! The result must obey the rules of `flatstream_core::recovery` (checked one
//! by one in [`check_recovery`]), against a plain reader with
//! [`AfterDamage::Stop`] (the model: its frames before the first error or
//! the end, and that error):
//!
//! - `valid_len <= len`, and a `SliceReader` over `data[..valid_len]` reads
//!   exactly `frames` frames and a clean end.
//! - The intact frames are the model's, except that a trailing run of zero
//!   frames (a length prefix, then only zeros) is left out of a
//!   `ZeroFilled` tail, and that without a checksum, when the model stops at
//!   a frame running past the end and good frames start inside its last
//!   frame (whose length may be the damage), that frame is the stop; or,
//!   when they start before it, a frame among the 16 before it (zero frames
//!   not counted; at most 1 MiB back) that ends there with a bit of its
//!   length flipped.
//! - `Clean`: the model ends cleanly with no trailing zero frame.
//! - `Torn`/`ZeroFilled { offset, len }`: `offset == valid_len`, they reach
//!   the end, and `ZeroFilled` ends in zeros: either zero frames up to a
//!   clean end, or, where the model stopped, a run of zeros reaching the end
//!   that starts inside the stopped frame (anywhere in its declared extent
//!   for a frame that failed its checksum, at its start for a torn one;
//!   never in a frame over the limit, whose length is what was written). A
//!   rest of nothing but zeros where the model stopped is always zero fill.
//! - "Only a real tail is a tail": where the model stopped with an error,
//!   no chain of real frames surely starts after it (after the start of its
//!   last frame, in that plain case) and before `good_after`
//!   (or the end, for `Torn`, `ZeroFilled` and a `Corrupt` without
//!   `good_after`), and one may start at `good_after` (see [`Chains`]: the
//!   bounds are computed from [`decode`] alone, and hold whatever exact rule
//!   `cursor::chain` settles on for chains that the end of input confirms).
//!   Without a checksum, where the model stopped at a frame running past
//!   the end, no chain of two frames or more to the end (three before a
//!   short remainder), none of them a zero frame, that never meets a frame
//!   the model read, starts where one of those 16 frames would end with a
//!   bit of its length flipped, before a `Torn` tail, when a frame read
//!   after that one is surely not a FlatBuffer.
//!   One exception: after a checksum mismatch, good frames resume at the
//!   damaged frame's declared end when a chain starts there (or it is the
//!   end of input), even if chains start inside it (a stream inside the
//!   payload), unless the damaged frame's checksum verifies over the bytes
//!   up to the first of them.
//! - `Corrupt(e)`: `e` is the model's error (a torn frame with good frames
//!   after it becomes a `CorruptRegion` up to `good_after`; when good frames
//!   start inside the plain frame before it, that frame's own numbers), at
//!   `valid_len`/`frames`; with `good_after = g`, `valid_len < g < len` and a
//!   `SliceReader` over `data[g..]` starts with a frame; `salvage` is the
//!   region `valid_len..g`, then what a `SliceReader` with
//!   [`AfterDamage::Resync`] reads from `g` on (its frames, their bytes, its
//!   regions, a torn tail), and when the stop is the model's, what one reads
//!   from the start after its first `frames` frames.
//! - With `with_empty_payloads(true)`, a run of zero frames at the end (or
//!   before zero fill or a torn frame of zeros) is `EmptyOrZeroFilled` and
//!   kept; otherwise nothing changes.
//! - Heap: `recover_slice` holds no more than its salvage report needs, the
//!   readers no more than the `deframe` bound (plus that report).

use std::io::{self, Read};

use flatstream::{
    AfterDamage, ChecksumDeframer, Crc16, Crc32, Decoded, DefaultDeframer, Deframer, DeframerExt,
    Error, ErrorKind, Position, RecoverOptions, Recovery, SliceReader, StreamReader, Tail,
    XxHash64, decode, recover_slice, recover_with, wire,
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
    let default = RecoverOptions::new();
    recover_checked(data, seed, deframer.clone(), default);
    let bounded = recover_checked(
        data,
        seed,
        deframer.clone().with_max_frame_len(SMALL_LIMIT),
        default,
    );
    // The limit in the options is the limit on the deframer, and
    // `recover_slice` and `recover_with` agree with options too.
    let small = RecoverOptions::new().with_max_frame_len(SMALL_LIMIT);
    let by_options = format!("{:?}", recover_slice(data, deframer.clone(), small));
    assert_eq!(
        by_options, bounded,
        "a limit in RecoverOptions differs from the same limit on the deframer"
    );
    let through_read = recover_with(data, deframer.clone(), small).expect("a slice cannot fail");
    assert_eq!(
        format!("{through_read:?}"),
        by_options,
        "recover_with and recover_slice disagree with a limit in the options"
    );
    let from_slice_reader = SliceReader::new(data, deframer.clone()).recover(small);
    assert_eq!(
        format!("{from_slice_reader:?}"),
        by_options,
        "SliceReader::recover and recover_slice disagree"
    );
    // Empty payloads allowed: only a clean run of empty frames at the end
    // changes (it is kept); `check_recovery` checks how. (With the small
    // limit, where recovery is cheap: empty frames are within any limit.)
    let options = small.with_empty_payloads(true);
    let empty = recover_slice(data, deframer.clone(), options);
    check_recovery(data, &deframer, options, &empty);
    let empty = format!("{empty:?}");
    if !empty.contains("EmptyOrZeroFilled") {
        assert_eq!(
            empty, bounded,
            "allowing empty payloads changed a recovery without empty frames at the end"
        );
    }
}

/// Recovers `data` every way there is, checks that they agree and that the
/// result obeys the rules; returns the result's `Debug` text.
fn recover_checked<D: Deframer + Clone>(
    data: &[u8],
    seed: u64,
    deframer: D,
    options: RecoverOptions,
) -> String {
    let (recovery, peak) = peak_heap(|| recover_slice(data, deframer.clone(), options));
    let bound = slice_heap_bound(data.len());
    assert!(
        peak <= bound,
        "recover_slice held {peak} heap bytes for {} input bytes (bound {bound})",
        data.len()
    );
    check_recovery(data, &deframer, options, &recovery);
    let expected = format!("{recovery:?}");
    let reader_bound = reader_heap_bound(data.len()) + bound;

    // One `WouldBlock`: the free function surfaces it, or never meets it.
    let would_block_at = usize::try_from(seed >> 48).expect("16 bits fit") % 8;
    let source = PatternSource::new(data, seed.rotate_left(17), Blocking::Once(would_block_at));
    match recover_with(source, deframer.clone(), options) {
        Ok(recovery) => assert_eq!(format!("{recovery:?}"), expected),
        Err(e) => assert!(
            is_would_block(&e),
            "recover failed with something other than the source's WouldBlock: {e}"
        ),
    }

    // Short reads, `Interrupted` and many `WouldBlock`s: a reader suspends
    // its scan and resumes it.
    let source = PatternSource::new(data, seed.rotate_left(31), Blocking::Often);
    let ((resumed, blocked), peak) = peak_heap(|| {
        let mut reader =
            StreamReader::new(source, deframer).with_max_frame_len(options.max_frame_len);
        let mut blocked = 0usize;
        loop {
            match reader.recover_with(options) {
                Ok(recovery) => break (recovery, blocked),
                Err(e) => {
                    assert!(is_would_block(&e), "recovery failed: {e}");
                    assert!(e.is_resumable());
                    blocked += 1;
                    assert!(blocked <= 2 * data.len() + 2, "WouldBlock forever");
                }
            }
        }
    });
    assert!(
        peak <= reader_bound,
        "recovery held {peak} heap bytes reading {} bytes in chunks (bound {reader_bound})",
        data.len()
    );
    assert_eq!(
        format!("{resumed:?}"),
        expected,
        "a recovery through chunks, resumed after {blocked} WouldBlock, differs"
    );
    expected
}

fn is_would_block(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

/// The heap `recover_slice` may hold: a few errors, and the salvage report's
/// list of regions (at most 1,024 of 32 bytes; each region is at least one
/// byte, and `Vec` growth may double the list).
fn slice_heap_bound(len: usize) -> usize {
    let regions = (2 * len).clamp(4, 1024);
    4096 + regions * core::mem::size_of::<flatstream::Region>()
}

fn to_usize(offset: u64) -> usize {
    usize::try_from(offset).expect("offsets fit usize")
}

/// How a plain reader with [`AfterDamage::Stop`] reads `data`.
struct Model {
    /// Frame boundaries it passed, starting with 0: frame `i` is
    /// `ends[i]..ends[i + 1]`, and `ends[frames]` is where reading stopped.
    ends: Vec<u64>,
    /// The error it stopped at, or `None` at a clean end.
    error: Option<Error>,
    /// Where the trailing run of zero frames starts (a frame index; `frames`
    /// when the last frame is not a zero frame).
    zeros_from: usize,
}

impl Model {
    fn of<D: Deframer>(data: &[u8], deframer: D, limit: usize) -> Self {
        let mut ends = Vec::with_capacity(data.len() / wire::LENGTH_PREFIX_LEN + 1);
        ends.push(0);
        let mut reader = StreamReader::new(data, deframer)
            .with_max_frame_len(limit)
            .with_after_damage(AfterDamage::Stop);
        // A self-describing header is a frame on the wire, kept apart by
        // the reader: its end is a frame end too.
        if let Ok(Some(_)) = reader.header() {
            ends.push(reader.offset());
        }
        let error = loop {
            match reader.read_message() {
                Ok(Some(_)) => ends.push(reader.offset()),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let frames = ends.len() - 1;
        let mut zeros_from = frames;
        while zeros_from > 0 {
            let frame = &data[to_usize(ends[zeros_from - 1])..to_usize(ends[zeros_from])];
            if !is_zero_frame(frame) {
                break;
            }
            zeros_from -= 1;
        }
        Model {
            ends,
            error,
            zeros_from,
        }
    }

    fn frames(&self) -> usize {
        self.ends.len() - 1
    }

    /// Where the frames stopped.
    fn stop(&self) -> Position {
        Position {
            offset: self.ends[self.frames()],
            frame: self.frames() as u64,
        }
    }

    /// Without a checksum: the frames before the last one where recovery
    /// looks back for good frames: from the 16th frame that is not a zero
    /// frame before the latest such frame (or the earliest of them that
    /// starts at most 1 MiB before the last frame's start) on.
    fn lookback_frames(&self, data: &[u8]) -> Vec<usize> {
        let Some(last) = self.frames().checked_sub(1) else {
            return Vec::new();
        };
        let frame = |j: usize| &data[to_usize(self.ends[j])..to_usize(self.ends[j + 1])];
        let not_zero: Vec<usize> = (0..=last).filter(|&j| !is_zero_frame(frame(j))).collect();
        let window = &not_zero[not_zero.len().saturating_sub(17)..];
        let Some(&from) = window
            .iter()
            .find(|&&j| self.ends[last] - self.ends[j] <= 1 << 20)
        else {
            return Vec::new();
        };
        (from..last).collect()
    }

    /// Where the trailing run of zero frames starts.
    fn zeros_start(&self) -> Position {
        Position {
            offset: self.ends[self.zeros_from],
            frame: self.zeros_from as u64,
        }
    }
}

/// A frame whose bytes after the length prefix are all zero.
fn is_zero_frame(frame: &[u8]) -> bool {
    frame[wire::LENGTH_PREFIX_LEN..].iter().all(|&b| b == 0)
}

/// Where the plain frame at `offset` would end with each bit of its length
/// flipped in turn.
fn flipped_ends(data: &[u8], offset: u64) -> Vec<u64> {
    let declared = wire::read_length_prefix(&data[to_usize(offset)..]);
    (0..u32::BITS)
        .map(|bit| offset + wire::LENGTH_PREFIX_LEN as u64 + u64::from(declared ^ (1 << bit)))
        .collect()
}

/// Without a checksum: the first offset, among the ends with a flipped
/// length bit of [`Model::lookback_frames`] that lie before the last
/// frame's start, from which plain frames (none a zero frame, none at a
/// frame start the model read) surely reach the end: two or more exactly,
/// three or more before less than a header.
fn sure_chain_looking_back(data: &[u8], model: &Model, limit: usize) -> Option<u64> {
    let len = data.len() as u64;
    let last = *model.ends.get(model.frames().checked_sub(1)?)?;
    let sure = |mut at: u64| {
        let mut frames = 0usize;
        loop {
            if at == len {
                return frames >= 2;
            }
            if model.ends.contains(&at) {
                return false;
            }
            let rest = &data[to_usize(at)..];
            let Some(prefix) = rest.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>() else {
                return frames >= 3;
            };
            let payload = u64::from(u32::from_le_bytes(*prefix));
            let next = at + wire::LENGTH_PREFIX_LEN as u64 + payload;
            if payload > limit as u64
                || next > len
                || is_zero_frame(&data[to_usize(at)..to_usize(next)])
            {
                return false;
            }
            frames += 1;
            at = next;
        }
    };
    // Recovery looks back from a frame only when a frame read after it (up
    // to the last) is not shaped like a FlatBuffer; these surely are not.
    let frames = model.frames();
    let frame = |j: usize| &data[to_usize(model.ends[j])..to_usize(model.ends[j + 1])];
    let derailed_after = |k: usize| (k + 1..frames).any(|j| surely_not_a_flatbuffer(frame(j)));
    model
        .lookback_frames(data)
        .into_iter()
        .filter(|&k| derailed_after(k))
        .flat_map(|k| flipped_ends(data, model.ends[k]))
        .filter(|&at| at < last && sure(at))
        .min()
}

/// Whether the plain `frame`'s payload is surely not a FlatBuffer: shorter
/// than 8 bytes, or a root offset that is not a multiple of 4 of at least
/// 4 with a table inside the payload.
fn surely_not_a_flatbuffer(frame: &[u8]) -> bool {
    let payload = &frame[wire::LENGTH_PREFIX_LEN..];
    match payload.first_chunk::<4>() {
        Some(root) if payload.len() >= 8 => {
            let root = u64::from(u32::from_le_bytes(*root));
            root < 4 || root % 4 != 0 || root + 4 > payload.len() as u64
        }
        _ => true,
    }
}

/// How a run of frames from some offset ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunEnd {
    /// Exactly at the end of input.
    End,
    /// In an incomplete frame; `short` when less than a header is left.
    Torn { short: bool },
    /// At a zero frame, a refused frame or a length over the limit.
    Broken,
}

/// What follows each offset of `from..data.len()`: whether a chain of real
/// frames surely starts there, and whether one may.
///
/// `cursor::chain` decides where a chain starts, and its rule for chains
/// that the end of input confirms is being tuned; these two bounds hold
/// under every version of it. A chain surely starts where the frames that
/// follow one another from there (none of them a zero frame) number at least
/// the chain length for the checksum's width (1 for 64 bits, 2 for 32, 3 for
/// 16), or at least 2 ending exactly at the end, or at least 3 leaving less
/// than a header at the end. One may start only where at least one such
/// frame does.
struct Chains {
    from: usize,
    /// `(sure, may)` per offset.
    at: Vec<(bool, bool)>,
}

impl Chains {
    fn scan<D: Deframer>(data: &[u8], deframer: &mut D, limit: usize, from: usize) -> Self {
        let header_len = deframer.header_len();
        let checksum_bits = (header_len - wire::LENGTH_PREFIX_LEN) * 8;
        let needed = (checksum_bits > 0).then(|| 40usize.div_ceil(checksum_bits));
        let len = data.len();
        let from = from.min(len);
        // runs[i]: the frames from `from + i` on, and how they end.
        let mut runs = vec![(0usize, RunEnd::End); len - from + 1];
        for p in (from..len).rev() {
            runs[p - from] = match decode(deframer, &data[p..], limit) {
                Ok(Decoded::Frame { frame_len, .. }) if !is_zero_frame(&data[p..p + frame_len]) => {
                    let (frames, end) = runs[p + frame_len - from];
                    (frames.saturating_add(1), end)
                }
                Ok(Decoded::Frame { .. }) | Err(_) => (0, RunEnd::Broken),
                Ok(Decoded::Incomplete { .. }) => (
                    0,
                    RunEnd::Torn {
                        short: len - p < header_len,
                    },
                ),
            };
        }
        let at = runs[..len - from]
            .iter()
            .map(|&(frames, end)| {
                let sure = needed.is_some_and(|n| frames >= n)
                    || match end {
                        RunEnd::End => frames >= 2,
                        RunEnd::Torn { short } => short && frames >= 3,
                        RunEnd::Broken => false,
                    };
                (sure, frames >= 1)
            })
            .collect();
        Chains { from, at }
    }

    /// The first offset in `from..to` where a chain surely starts.
    fn first_sure(&self, to: usize) -> Option<usize> {
        let to = to.clamp(self.from, self.from + self.at.len());
        self.at[..to - self.from]
            .iter()
            .position(|&(sure, _)| sure)
            .map(|i| self.from + i)
    }

    fn may_start(&self, offset: usize) -> bool {
        offset
            .checked_sub(self.from)
            .and_then(|i| self.at.get(i))
            .is_some_and(|&(_, may)| may)
    }
}

/// Checks `recovery` of `data` against the rules (see the module
/// documentation).
pub(crate) fn check_recovery<D: Deframer + Clone>(
    data: &[u8],
    deframer: &D,
    options: RecoverOptions,
    recovery: &Recovery,
) {
    let len = data.len() as u64;
    let limit = options.max_frame_len;
    let header_len = deframer.header_len();
    let valid_len = recovery.valid_len;
    assert!(valid_len <= len, "valid_len {valid_len} past the end {len}");
    assert_eq!(
        recovery.end_position(),
        Position {
            offset: valid_len,
            frame: recovery.frames,
        }
    );

    // The intact prefix reads back alone: its frames, then a clean end.
    let prefix = &data[..to_usize(valid_len)];
    let mut intact = 0u64;
    for frame in SliceReader::new(prefix, deframer.clone())
        .with_max_frame_len(limit)
        .with_after_damage(AfterDamage::Stop)
    {
        if let Err(e) = frame {
            panic!("the intact prefix of {valid_len} bytes fails to read: {e}");
        }
        intact += 1;
    }
    assert_eq!(
        intact, recovery.frames,
        "the intact prefix holds other frames"
    );

    let model = Model::of(data, deframer.clone(), limit);
    let stop = model.stop();
    // Without a checksum, a frame running past the end may be the latest
    // intact frame's damaged length: good frames are searched for from just
    // after that frame's start, and if they start inside it, it is the stop.
    let last_frame = (header_len == wire::LENGTH_PREFIX_LEN
        && model.error.as_ref().is_some_and(Error::is_unexpected_eof)
        && model.frames() > 0)
        .then(|| Position {
            offset: model.ends[model.frames() - 1],
            frame: model.frames() as u64 - 1,
        });
    let search_from = last_frame.map_or(stop.offset, |last| last.offset) + 1;
    let inside_last = recovery.good_after.is_some_and(|good| good < stop.offset);
    // Without a checksum, recovery also looks back into the frames read
    // for good frames where one would end with a bit of its length flipped:
    // before the latest intact frame, or before zero frames at the end.
    let ends_in_zero_frames = model.zeros_from < model.frames();
    let looked_back = recovery.good_after.filter(|&good| {
        header_len == wire::LENGTH_PREFIX_LEN
            && (last_frame.is_some_and(|last| good < last.offset)
                || (model.error.is_none() && ends_in_zero_frames))
    });
    let kept = match &recovery.tail {
        Tail::ZeroFilled { .. } => model.zeros_start(),
        Tail::Corrupt(_) if looked_back.is_some() => {
            let good = looked_back.expect("checked");
            let damaged = recovery.end_position();
            let k = to_usize(damaged.frame);
            assert!(
                model.lookback_frames(data).contains(&k)
                    && damaged.offset == model.ends[k]
                    && flipped_ends(data, model.ends[k]).contains(&good),
                "good frames at {good}, but frame {damaged} read does not end there \
                 with a bit flipped"
            );
            damaged
        }
        Tail::Corrupt(_) if inside_last => {
            last_frame.expect("good frames before the stop only inside a plain frame")
        }
        _ => stop,
    };
    assert_eq!(
        recovery.end_position(),
        kept,
        "the intact frames are not those a plain reader reads (it stops at {stop}, \
         zero frames from {}, good_after {:?})",
        model.zeros_start(),
        recovery.good_after
    );

    // Where the frames stopped with an error: what follows it.
    let chains = model
        .error
        .as_ref()
        .map(|_| Chains::scan(data, &mut deframer.clone(), limit, to_usize(search_from)));
    // The first offset from where the search starts up to `to` where good
    // frames surely start.
    let sure_chain_before = |to: u64| chains.as_ref().and_then(|c| c.first_sure(to_usize(to)));
    let fill = model
        .error
        .as_ref()
        .map(|e| fill_rule(data, header_len, stop, e));
    let rest_all_zero = data[to_usize(stop.offset)..].iter().all(|&b| b == 0);

    let good_after_expected = match &recovery.tail {
        Tail::Corrupt(_) => recovery.good_after.is_some(),
        _ => false,
    };
    assert_eq!(
        recovery.good_after.is_some(),
        good_after_expected,
        "good_after with a {:?} tail",
        recovery.tail
    );
    assert_eq!(
        recovery.salvage.is_some(),
        recovery.good_after.is_some(),
        "a salvage report without good frames after the damage, or none with them"
    );

    match &recovery.tail {
        Tail::Clean => {
            assert!(
                model.error.is_none(),
                "clean, but a plain reader stops with {:?}",
                model.error
            );
            assert_eq!(
                model.zeros_from,
                model.frames(),
                "clean, but ends in zero frames"
            );
            assert_eq!(valid_len, len, "clean, but not at the end");
        }
        &Tail::Torn { offset, len: torn } => {
            assert_eq!(offset, valid_len);
            assert_eq!(offset + torn, len, "a torn tail that stops before the end");
            assert!(torn > 0, "an empty torn tail");
            let error = model
                .error
                .as_ref()
                .expect("torn, but a plain reader ends cleanly");
            assert!(
                error.is_unexpected_eof(),
                "torn, but a plain reader stops with {error}"
            );
            assert!(!rest_all_zero, "a torn tail of zeros is zero fill");
            assert_eq!(
                sure_chain_before(len),
                None,
                "good frames after a torn tail"
            );
            // (After zero frames a chain must end in a frame shaped like a
            // FlatBuffer, which this target does not model.)
            if last_frame.is_some() && (options.empty_payloads || !ends_in_zero_frames) {
                assert_eq!(
                    sure_chain_looking_back(data, &model, limit),
                    None,
                    "good frames before a torn tail, where a frame read ends with a bit flipped"
                );
            }
            assert!(
                !whole_but_for_a_length_bit(data, deframer, stop.offset),
                "a whole frame with a damaged length cut as a torn tail"
            );
            assert!(
                !frame_a_writer_could_have_written(data, deframer, limit, stop.offset),
                "a frame a writer could have written cut with a torn tail"
            );
        }
        &Tail::ZeroFilled { offset, len: zeros } => {
            assert_eq!(offset, valid_len);
            assert_eq!(offset + zeros, len, "a zero-filled tail that stops early");
            assert!(zeros > 0, "an empty zero-filled tail");
            assert_eq!(
                data.last(),
                Some(&0),
                "zero fill that does not end in zeros"
            );
            match &model.error {
                None => {
                    assert!(
                        model.zeros_from < model.frames(),
                        "zero fill without zero frames"
                    );
                    assert!(
                        !options.empty_payloads,
                        "zero frames at the end taken for fill though the writer may write them"
                    );
                }
                Some(error) => {
                    assert!(
                        !(options.empty_payloads && model.zeros_from < model.frames()),
                        "zero frames before fill taken for fill though the writer may write them"
                    );
                    assert_eq!(
                        fill,
                        Some(true),
                        "zero fill that does not start in the frame at {stop} ({error})"
                    );
                    assert!(
                        !frame_a_writer_could_have_written(data, deframer, limit, stop.offset),
                        "a frame a writer could have written cut with zero fill"
                    );
                    assert_eq!(sure_chain_before(len), None, "good frames after zero fill");
                }
            }
        }
        Tail::EmptyOrZeroFilled { offset, len: empty } => {
            assert!(
                options.empty_payloads,
                "EmptyOrZeroFilled without empty payloads allowed"
            );
            assert!(model.zeros_from < model.frames(), "no zero frames");
            assert_eq!(*offset, model.zeros_start().offset);
            assert_eq!(offset + empty, len);
            assert_eq!(valid_len, stop.offset, "zero frames that are not kept");
            if let Some(error) = &model.error {
                assert_eq!(
                    fill,
                    Some(true),
                    "zeros after the zero frames that are not fill at {stop} ({error})"
                );
                assert_eq!(sure_chain_before(len), None, "good frames after zero fill");
            }
        }
        Tail::Corrupt(e) if looked_back.is_some() => {
            // The damaged frame (checked above) is the region, one frame,
            // and its declared length is one bit away from where the good
            // frames start.
            let good = looked_back.expect("checked");
            let declared = u64::from(wire::read_length_prefix(&data[to_usize(valid_len)..]));
            let likely = good - valid_len - wire::LENGTH_PREFIX_LEN as u64;
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::CorruptRegion { len, frames_lost: Some(1), cause }
                        if *len == good - valid_len
                            && matches!(
                                **cause,
                                ErrorKind::DamagedLength { declared: d, likely: l }
                                    if (d, l) == (declared, likely)
                                        && (d ^ l).is_power_of_two()
                            )
                ),
                "good frames found looking back reported as {e:?}"
            );
            assert_eq!(e.position(), Some(kept));
            assert_frame_at(data, deframer, limit, good);
            check_salvage(data, deframer, limit, recovery, good, stop, true);
        }
        Tail::Corrupt(e) => {
            let error = model
                .error
                .as_ref()
                .expect("corrupt, but a plain reader ends cleanly");
            assert_eq!(
                e.position(),
                Some(kept),
                "the corruption is not where the frames stopped"
            );
            assert!(e.is_corruption(), "corrupt, but not corruption: {e}");
            match recovery.good_after {
                None if error.is_unexpected_eof() => {
                    // Only a whole frame whose length lost a bit: the region
                    // from it to the end, caused by the model's error.
                    assert!(
                        whole_but_for_a_length_bit(data, deframer, stop.offset)
                            || (recovery.undecided
                                && frame_a_writer_could_have_written(
                                    data,
                                    deframer,
                                    limit,
                                    stop.offset
                                )),
                        "a torn frame reported as corruption: {e}"
                    );
                    let ErrorKind::CorruptRegion {
                        len: region, cause, ..
                    } = e.kind()
                    else {
                        panic!("a whole frame with a damaged length reported as {e}")
                    };
                    assert_eq!(*region, len - valid_len);
                    assert_eq!(format!("{cause:?}"), format!("{:?}", error.kind()));
                }
                None => {
                    assert_eq!(format!("{e:?}"), format!("{error:?}"));
                    assert!(!rest_all_zero, "corruption at the end that is all zeros");
                    // Chains inside a last frame that failed its checksum
                    // and declares exactly the rest are its payload's.
                    let to_the_end = matches!(error.kind(), ErrorKind::ChecksumMismatch { .. })
                        && declared_end(data, header_len, stop.offset) == Some(len);
                    match sure_chain_before(len) {
                        None => {}
                        Some(inside) if to_the_end => {
                            assert_inside_not_placed(data, deframer, stop, inside);
                        }
                        Some(inside) => {
                            panic!(
                                "good frames at {inside} after the damage, but good_after is None"
                            )
                        }
                    }
                }
                Some(good) => {
                    assert!(
                        good >= search_from && good > valid_len && good < len,
                        "good_after {good} outside {valid_len}..{len}"
                    );
                    // After a checksum mismatch, chains inside the damaged
                    // frame give way to one at its declared end, unless its
                    // checksum verifies up to the first of them.
                    let stop_end = declared_end(data, header_len, stop.offset);
                    let mismatch = matches!(error.kind(), ErrorKind::ChecksumMismatch { .. });
                    match sure_chain_before(good) {
                        None => {}
                        Some(inside) if mismatch && stop_end == Some(good) => {
                            assert_inside_not_placed(data, deframer, stop, inside);
                        }
                        Some(inside) => {
                            panic!("good frames start at {inside}, before good_after {good}")
                        }
                    }
                    assert!(
                        chains.as_ref().is_some_and(|c| c.may_start(to_usize(good))),
                        "no good frame at good_after {good}"
                    );
                    assert_frame_at(data, deframer, limit, good);
                    match error.kind() {
                        &ErrorKind::UnexpectedEof {
                            available,
                            required,
                        } => {
                            // Good frames inside the plain frame before the
                            // stop: its length is the damage, in its numbers.
                            let (available, required) = if inside_last {
                                let end = declared_end(data, header_len, valid_len)
                                    .expect("a whole frame");
                                (good - valid_len, end - valid_len)
                            } else {
                                (available, required)
                            };
                            match e.kind() {
                                ErrorKind::CorruptRegion {
                                    len: region,
                                    frames_lost: None,
                                    cause,
                                } => {
                                    assert_eq!(*region, good - valid_len);
                                    assert!(matches!(
                                        **cause,
                                        ErrorKind::UnexpectedEof { available: a, required: r }
                                            if (a, r) == (available, required)
                                    ));
                                }
                                other => {
                                    panic!("a torn frame before good frames reported as {other:?}")
                                }
                            }
                        }
                        _ => assert_eq!(format!("{e:?}"), format!("{error:?}")),
                    }
                    check_salvage(data, deframer, limit, recovery, good, stop, false);
                }
            }
        }
        other => panic!("a tail this target does not know: {other:?}"),
    }
}

/// Asserts that a frame starts at `good`, where recovery says good frames
/// resume.
fn assert_frame_at<D: Deframer + Clone>(data: &[u8], deframer: &D, limit: usize, good: u64) {
    let first = SliceReader::new(&data[to_usize(good)..], deframer.clone())
        .with_max_frame_len(limit)
        .next();
    assert!(
        matches!(first, Some(Ok(_))),
        "no frame at good_after {good}: {first:?}"
    );
}

/// Asserts that good frames found at `inside`, within the frame at `stop`
/// that failed its checksum, are not where that frame ends by its checksum
/// (which would make its length the damage and `inside` the next frame).
fn assert_inside_not_placed<D: Deframer + Clone>(
    data: &[u8],
    deframer: &D,
    stop: Position,
    inside: usize,
) {
    let frame = &data[to_usize(stop.offset)..inside];
    // A chain inside the header: the checksum cannot end there.
    assert!(
        frame
            .split_at_checked(deframer.header_len())
            .is_none_or(|(header, payload)| deframer.clone().verify(header, payload).is_err()),
        "good frames at {inside}, where the damaged frame at {stop} ends by its checksum, \
         passed over for its declared end"
    );
}

/// Where the frame at `offset` ends by its length prefix, if the prefix is
/// there.
/// Whether the frame at `offset`, which runs past the end, is whole but
/// for one bit of its length: its checksum, of 32 bits or more, verifies
/// over a non-empty payload one bit shorter in length. Recovery calls such
/// a frame corruption, never a torn tail.
fn whole_but_for_a_length_bit<D: Deframer + Clone>(data: &[u8], deframer: &D, offset: u64) -> bool {
    let mut deframer = deframer.clone();
    let header_len = deframer.header_len();
    let rest = &data[to_usize(offset)..];
    if header_len < wire::LENGTH_PREFIX_LEN + 4 || rest.len() < header_len {
        return false;
    }
    let (header, payload) = rest.split_at(header_len);
    let declared = u64::from(u32::from_le_bytes(
        header[..wire::LENGTH_PREFIX_LEN]
            .try_into()
            .expect("4 bytes"),
    ));
    (0..32)
        .map(|bit| declared ^ (1 << bit))
        .filter(|&len| len > 0 && len < declared && len <= payload.len() as u64)
        .any(|len| deframer.verify(header, &payload[..to_usize(len)]).is_ok())
}

/// Whether a frame a writer could have written starts anywhere after the
/// first byte at `offset`: whole frames in a row holding 32 checksum bits
/// (one of XXH3-64 or CRC-32, two of CRC-16), within `limit`, none with
/// nothing but zeros after its length. Recovery never cuts such bytes as a
/// torn or zero-filled tail: it calls them undecided corruption.
fn frame_a_writer_could_have_written<D: Deframer + Clone>(
    data: &[u8],
    deframer: &D,
    limit: usize,
    offset: u64,
) -> bool {
    let mut deframer = deframer.clone();
    let bits = deframer
        .header_len()
        .saturating_sub(wire::LENGTH_PREFIX_LEN)
        * 8;
    if bits == 0 {
        return false;
    }
    let needed = 32usize.div_ceil(bits);
    let rest = &data[to_usize(offset)..];
    (1..rest.len()).any(|at| {
        let mut pos = at;
        (0..needed).all(|_| match decode(&mut deframer, &rest[pos..], limit) {
            Ok(Decoded::Frame { frame_len, .. })
                if rest[pos + wire::LENGTH_PREFIX_LEN..pos + frame_len]
                    .iter()
                    .any(|&b| b != 0) =>
            {
                pos += frame_len;
                true
            }
            _ => false,
        })
    })
}

fn declared_end(data: &[u8], header_len: usize, offset: u64) -> Option<u64> {
    data[to_usize(offset)..]
        .first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
        .map(|prefix| offset + header_len as u64 + u64::from(u32::from_le_bytes(*prefix)))
}

/// Whether zero fill may start where the frames stopped with `error` at
/// `stop`: a run of zeros reaching the end starts inside the stopped frame.
/// A torn frame must be zeros from its start (its bytes are data); a frame
/// that was read whole and failed its checksum may hold data before the
/// zeros, up to its declared end; a frame over the limit, never. (A
/// necessary condition for a `ZeroFilled` tail after an error; a rest of
/// nothing but zeros is always fill.)
fn fill_rule(data: &[u8], header_len: usize, stop: Position, error: &Error) -> bool {
    let rest = &data[to_usize(stop.offset)..];
    let zeros_start = rest.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if zeros_start == rest.len() {
        return false;
    }
    // A length over the limit is what was written: zeros cannot explain it.
    let reach = if error.is_unexpected_eof()
        || matches!(error.kind(), ErrorKind::FrameTooLarge { .. })
    {
        0
    } else {
        rest.first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
            .map_or(rest.len(), |prefix| {
                let declared = usize::try_from(u32::from_le_bytes(*prefix)).unwrap_or(usize::MAX);
                header_len.saturating_add(declared).min(rest.len())
            })
    };
    zeros_start <= reach
}

/// Checks the salvage report: its first region is `valid_len..good`, and the
/// rest is what a `SliceReader` with [`AfterDamage::Resync`] reads from
/// `good` on (its frames, their bytes, the regions it skips, a torn tail).
/// When the stop is where a plain reader stops, a `Resync` reader from the
/// start reads the same: the intact frames, then the first region, then the
/// rest.
fn check_salvage<D: Deframer + Clone>(
    data: &[u8],
    deframer: &D,
    limit: usize,
    recovery: &Recovery,
    good: u64,
    stop: Position,
    flipped: bool,
) {
    let salvage = recovery.salvage.as_ref().expect("checked by the caller");
    let valid_len = recovery.valid_len;
    let header_len = deframer.header_len() as u64;

    // The first region: the damaged frame's own length leads exactly to the
    // good frames when one frame was lost; or a flipped bit of it does, when
    // recovery looked back for them.
    let declared_end = data[to_usize(valid_len)..]
        .first_chunk::<{ wire::LENGTH_PREFIX_LEN }>()
        .map(|prefix| valid_len + header_len + u64::from(u32::from_le_bytes(*prefix)));
    let mut regions = vec![(
        valid_len,
        good - valid_len,
        (flipped || declared_end == Some(good)).then_some(1),
    )];
    let (mut frames, mut bytes, mut torn) = (0u64, 0u64, false);
    for item in SliceReader::new(&data[to_usize(good)..], deframer.clone())
        .with_max_frame_len(limit)
        .with_after_damage(AfterDamage::Resync)
        .positioned()
    {
        match item {
            Ok((_, payload)) => {
                frames += 1;
                bytes += header_len + payload.len() as u64;
            }
            Err(e) => match e.kind() {
                ErrorKind::CorruptRegion {
                    len, frames_lost, ..
                } => {
                    let at = e.position().expect("reader errors carry a position");
                    regions.push((good + at.offset, *len, *frames_lost));
                }
                ErrorKind::UnexpectedEof { .. } => torn = true,
                _ => panic!("Resync returned {e}"),
            },
        }
    }
    assert_eq!(
        salvage.frames, frames,
        "salvage counts other frames than Resync reads"
    );
    assert_eq!(
        salvage.bytes, bytes,
        "salvage counts other bytes than Resync reads"
    );
    assert_eq!(
        salvage.regions_total,
        regions.len() as u64,
        "salvage counts other regions"
    );
    let listed: Vec<_> = salvage
        .regions
        .iter()
        .map(|r| (r.offset, r.len, r.frames_lost))
        .collect();
    assert_eq!(
        listed,
        regions[..regions.len().min(1024)],
        "salvage lists other regions than Resync skips"
    );
    assert_eq!(
        salvage.torn_tail, torn,
        "salvage and Resync disagree on a torn tail"
    );

    if valid_len != stop.offset {
        return;
    }
    // From the start: the frames before valid_len, then the same.
    let (mut before, mut after, mut from_start) = (0u64, 0u64, Vec::new());
    for item in SliceReader::new(data, deframer.clone())
        .with_max_frame_len(limit)
        .with_after_damage(AfterDamage::Resync)
        .positioned()
    {
        match item {
            Ok((at, _)) if at.offset < valid_len => {
                assert!(
                    from_start.is_empty(),
                    "a frame before valid_len after the damage"
                );
                before += 1;
            }
            Ok(_) => after += 1,
            Err(e) => {
                let at = e.position().expect("reader errors carry a position");
                if let ErrorKind::CorruptRegion {
                    len, frames_lost, ..
                } = e.kind()
                {
                    from_start.push((at.offset, *len, *frames_lost));
                }
            }
        }
    }
    assert_eq!(before, recovery.frames, "Resync reads other intact frames");
    assert_eq!(
        after, salvage.frames,
        "Resync from the start saves other frames"
    );
    assert_eq!(
        from_start, regions,
        "Resync from the start skips other regions"
    );
}

/// FNV-1a: a cheap hash of the input, seeding the read pattern.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// When a [`PatternSource`] fails with `WouldBlock`.
#[derive(Debug, Clone, Copy)]
enum Blocking {
    /// Read number `n` (counting from 0).
    Once(usize),
    /// About one read in four, never twice in a row.
    Often,
}

/// A source returning `data` in short reads from a seeded pattern, failing
/// some reads with `Interrupted` first, and some with `WouldBlock`.
struct PatternSource<'a> {
    data: &'a [u8],
    state: u64,
    calls: usize,
    blocking: Blocking,
    just_blocked: bool,
}

impl<'a> PatternSource<'a> {
    fn new(data: &'a [u8], seed: u64, blocking: Blocking) -> Self {
        PatternSource {
            data,
            state: seed | 1,
            calls: 0,
            blocking,
            just_blocked: false,
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
        let r = self.next();
        let block = match self.blocking {
            Blocking::Once(at) => call == at,
            Blocking::Often => !self.just_blocked && r >> 60 < 4,
        };
        self.just_blocked = block;
        if block {
            return Err(io::ErrorKind::WouldBlock.into());
        }
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
