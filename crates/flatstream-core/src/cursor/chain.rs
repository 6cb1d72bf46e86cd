//! Chains of frames: how a reader tells real frames from bytes that only
//! look like a frame, when it resynchronises after damage and when recovery
//! decides whether what follows a damaged frame holds good frames.

use crate::wire::LENGTH_PREFIX_LEN;
use crate::{Decoded, Deframer, decode};

/// The shortest FlatBuffer: a root offset and the smallest root object.
const MIN_FLATBUFFER_LEN: usize = 8;

/// How unlikely a false chain must be: a chain of frames that verifies by
/// chance at a candidate offset has a probability below `2^-CHAIN_BITS`.
pub(crate) const CHAIN_BITS: usize = 40;

/// What a chain starting at a candidate offset turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chain {
    /// Enough frames verify in a row (or they reach the end of input
    /// exactly) that the candidate is a real frame start.
    Verified,
    /// Not a frame start.
    Broken,
    /// More bytes are needed to decide: at least this many.
    Need(usize),
}

/// Whether `frame` (header included) holds nothing but its length: checksum
/// and payload all zero. Such a frame is never a FlatBuffer (a FlatBuffer's
/// root offset is not zero); it is what a file system's zero fill looks like
/// with a length that survived, and CRC-32 or CRC-16/XMODEM accept it (the
/// CRC of empty input is 0, and CRC-16/XMODEM of any run of zeros is 0).
#[inline]
pub(crate) fn is_zero_frame(frame: &[u8]) -> bool {
    frame
        .get(LENGTH_PREFIX_LEN..)
        .is_none_or(|rest| rest.iter().all(|&b| b == 0))
}

/// How many verifying frames in a row make a chain real, for a header of
/// `header_len` bytes: enough checksum bits for [`CHAIN_BITS`]. `None` for
/// a header without a checksum, where only the end of input can confirm a
/// chain.
fn frames_for_chain(header_len: usize) -> Option<usize> {
    let bits = header_len.saturating_sub(LENGTH_PREFIX_LEN) * 8;
    Some(if bits > 0 {
        CHAIN_BITS.div_ceil(bits)
    } else {
        PLAIN_CHAIN_FRAMES
    })
}

/// Without a checksum: how many frames in a row, each of FlatBuffer size and
/// not a zero frame, whose lengths each lead exactly to the next, make a
/// chain real without reaching the end of input (which bounds the work of a
/// search in a long stream).
const PLAIN_CHAIN_FRAMES: usize = 16;

/// Decides whether a chain of real frames starts at `buf[at..]`.
///
/// The chain is real when:
/// - enough frames in a row verify that chance is ruled out (1 for XXH3-64,
///   2 for CRC-32, 3 for CRC-16), none of them a zero frame; or
/// - at the end of input, its frames end exactly at the end (one frame is
///   enough, but without a checksum a lone frame's payload must be long
///   enough to be a FlatBuffer, 8 bytes), or leave less than a header there
///   (a torn remainder) after at least two frames.
///
/// A zero frame, a refused frame or a length over `max_frame_len` breaks the
/// chain. Without a checksum a chain is confirmed by 16 frames of FlatBuffer
/// size in a row or by the end of input, so the plain framer's chains are as
/// strong as "these lengths add up exactly": enough to refuse truncating
/// frames that may be real, which is the side to err on.
#[inline(always)]
pub(crate) fn chain_at<D: Deframer + ?Sized>(
    deframer: &mut D,
    buf: &[u8],
    at: usize,
    eof: bool,
    max_frame_len: usize,
    spent: &mut u64,
) -> Chain {
    let header_len = deframer.header_len();
    let needed_frames = frames_for_chain(header_len);
    let unchecked = header_len <= LENGTH_PREFIX_LEN;
    let mut frames = 0usize;
    let mut long_frames = 0usize;
    // Without a checksum, a lone frame reaching the end counts only if its
    // payload looks like a FlatBuffer with a table root: small numbers are
    // everywhere in FlatBuffers, and one of them may happen to point exactly
    // at the end of a torn frame.
    let mut short = false;
    let mut first_plausible = false;
    if !unchecked
        && let Some(frames) = needed_frames
        && frames > 1
    {
        match walk_lengths(buf, at, header_len, frames, eof, max_frame_len) {
            Walk::Broken => return Chain::Broken,
            Walk::Whole { mut frames, count } => {
                let chain = &mut frames[..count];
                return verify_shortest_first(deframer, buf, chain, max_frame_len, spent);
            }
            Walk::Undecided => {}
        }
    }
    let mut pos = at;
    loop {
        let rest = buf.get(pos..).unwrap_or_default();
        if eof && rest.is_empty() {
            let enough =
                frames >= 2 || (frames == 1 && (!unchecked || (!short && first_plausible)));
            return if enough {
                Chain::Verified
            } else {
                Chain::Broken
            };
        }
        if let Some(frame_len) = crate::wire::whole_frame_len(rest, header_len) {
            // The deframer checks this whole frame (if its length passes).
            *spent = spent.saturating_add(frame_len as u64);
        }
        match decode(deframer, rest, max_frame_len) {
            Ok(Decoded::Frame {
                payload_start,
                frame_len,
            }) => {
                if is_zero_frame(&rest[..frame_len]) {
                    return Chain::Broken;
                }
                let is_short = frame_len - payload_start < MIN_FLATBUFFER_LEN;
                if frames == 0 {
                    first_plausible = looks_like_a_table_root(&rest[payload_start..frame_len]);
                }
                short |= is_short;
                frames += 1;
                long_frames += usize::from(!is_short);
                // Without a checksum, short frames count for less: a chain
                // needs 16 of FlatBuffer size, or four times as many in all.
                let counted = if unchecked {
                    long_frames.max(frames / 4)
                } else {
                    frames
                };
                if needed_frames.is_some_and(|n| counted >= n) {
                    return Chain::Verified;
                }
                pos += frame_len;
            }
            Ok(Decoded::Incomplete { needed, .. }) => {
                if !eof {
                    return Chain::Need(needed);
                }
                let torn_remainder = rest.len() < header_len;
                return if torn_remainder && frames >= 2 {
                    Chain::Verified
                } else {
                    Chain::Broken
                };
            }
            Err(_) => return Chain::Broken,
        }
    }
}

/// For recovery's decision to truncate a tail: whether `buf[at..]` starts
/// frames a writer could have written, by a rule weaker than [`chain_at`]'s:
/// enough whole frames in a row to hold 32 checksum bits (one for XXH3-64
/// or CRC-32, two for CRC-16), none a zero frame, whatever follows them. A
/// chain of real frames too short for [`chain_at`] (one good frame after a
/// damaged length, before a torn frame or zero fill) passes, and a false
/// one passes at a given offset with a chance below 2^-32: refusing to
/// truncate a genuine torn tail for it is the side to err on. Never true
/// without a checksum. Adds the bytes checked to `spent`.
pub(crate) fn may_start_frames<D: Deframer + ?Sized>(
    deframer: &mut D,
    buf: &[u8],
    at: usize,
    max_frame_len: usize,
    spent: &mut u64,
) -> bool {
    let header_len = deframer.header_len();
    let bits = header_len.saturating_sub(LENGTH_PREFIX_LEN) * 8;
    if bits == 0 {
        return false;
    }
    let needed = WEAK_CHAIN_BITS.div_ceil(bits);
    // Lengths first, at no cost: every frame must be whole and within the
    // limit.
    let mut pos = at;
    for _ in 0..needed {
        let rest = buf.get(pos..).unwrap_or_default();
        match crate::wire::whole_frame_len(rest, header_len) {
            Some(frame_len) if frame_len - header_len <= max_frame_len => pos += frame_len,
            _ => return false,
        }
    }
    let mut pos = at;
    for _ in 0..needed {
        let rest = &buf[pos..];
        if let Some(frame_len) = crate::wire::whole_frame_len(rest, header_len) {
            *spent = spent.saturating_add(frame_len as u64);
        }
        match decode(deframer, rest, max_frame_len) {
            Ok(Decoded::Frame { frame_len, .. }) if !is_zero_frame(&rest[..frame_len]) => {
                pos += frame_len;
            }
            _ => return false,
        }
    }
    true
}

/// Where a chain of lengths ends, for [`plain_chain_to_the_end`]: with no
/// checksum a chain is judged by how it ends and how many frames it holds
/// (counted up to two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// A length over the limit or past the end, a frame of zeros, or onto
    /// the frames that were read (which end in the frame running past the
    /// end).
    Broken,
    /// Exactly at the end of input, after this many frames.
    AtTheEnd(u8),
    /// Less than a header before the end (a torn remainder), after this
    /// many frames.
    Torn(u8),
}

impl Ending {
    /// The ending of a frame whose next frame starts where `self` was
    /// found.
    fn one_frame_more(self) -> Ending {
        match self {
            Ending::Broken => Ending::Broken,
            Ending::AtTheEnd(frames) => Ending::AtTheEnd(frames.saturating_add(1).min(2)),
            Ending::Torn(frames) => Ending::Torn(frames.saturating_add(1).min(2)),
        }
    }
}

/// How the frames that recovery read, without a checksum, ended after the
/// ones it looks back into (see [`plain_chain_to_the_end`]; offsets are
/// indices in the buffer).
#[derive(Debug, Clone, Copy)]
pub(crate) enum PlainEnding {
    /// At a frame running past the end at `stop`, after the latest intact
    /// frame at `last`, from inside which the search after the stop looked
    /// for good frames and found none.
    Stopped { last: usize, stop: usize },
    /// In zero frames from `zeros` to the end of input.
    ZeroFrames { zeros: usize },
}

/// For recovery without a checksum, where the frames read from `from` (a
/// frame start) on ended as `ending` says: whether one of the frames read
/// has a length one bit away from the one it declares that ends where a
/// chain of lengths starts that ends the way [`chain_at`] accepts at the end
/// of input (exactly at the end, two frames or one that looks like a
/// FlatBuffer; or before a torn remainder, two frames), without passing
/// through a frame that was read. Returns that frame (its index in `buf` and
/// how many frames after `from` it is) and its earliest such end; of several
/// frames, the latest at or before the first frame read that is not shaped
/// like a FlatBuffer, else the latest. `buf`
/// holds the input to its end; `from` and the other offsets are indices in
/// it.
///
/// A damaged length that stays inside the stream puts the reading off the
/// real frames: it goes on through false frames to one that runs past the
/// end (or, inside a payload's zeros, through zero frames to the end), and
/// the real frames start inside the frames read, where the search after the
/// stop does not look. The small numbers of FlatBuffer payloads chain to the
/// end by chance, so only where a flipped bit would put the real frames, and
/// only after a frame whose reading went off the real frames: a frame read
/// after it is not shaped like a FlatBuffer (real frames of a FlatStream
/// stream all are; zero frames are not). Measured on genuine torn tails
/// (streams cut at every byte): looking from every offset took 2% more of
/// them for good frames, looking at every flipped bit 1-7% more, this rule
/// none more on streams of FlatBuffers (payloads that are not FlatBuffers
/// give it no shape to go by: 1.4% -> 3.1% on raw 4-byte records). After a stop, the chains from inside the latest intact frame
/// on are the search's: it found none, so a frame from there on ends a
/// chain here only if it is the last one (it ends at the end or before a
/// torn remainder); before zero frames, only a frame shaped like a
/// FlatBuffer ends a chain, exactly at the end (the real frame whose zeros
/// were read as zero frames; zero fill after a torn tail is reached, if at
/// all, by a false frame), and a chain that meets a zero frame is broken.
/// One pass from the end backwards, two bytes of state per byte looked
/// into.
pub(crate) fn plain_chain_to_the_end(
    buf: &[u8],
    from: usize,
    ending: PlainEnding,
    max_frame_len: usize,
) -> Option<(usize, u64, usize)> {
    let end = buf.len();
    // The frames looked into end where the frames read are judged apart.
    let read_until = match ending {
        PlainEnding::Stopped { last, .. } => last,
        PlainEnding::ZeroFrames { zeros } => zeros,
    };
    if from >= read_until || read_until > end {
        return None;
    }
    let frame_end = |at: usize| -> Option<usize> {
        let payload_len = usize::try_from(crate::wire::read_length_prefix(
            buf.get(at..)?.get(..LENGTH_PREFIX_LEN)?,
        ))
        .ok()?;
        if payload_len > max_frame_len {
            return None;
        }
        let next = at
            .checked_add(LENGTH_PREFIX_LEN)?
            .checked_add(payload_len)?;
        (next <= end && !is_zero_frame(&buf[at..next])).then_some(next)
    };
    // How a chain from `at`, at or after `read_until`, ends.
    let ending_beyond = |at: usize| -> Ending {
        if at == end {
            return Ending::AtTheEnd(0);
        }
        let torn_remainder = end - at < LENGTH_PREFIX_LEN;
        match ending {
            PlainEnding::Stopped { last, stop } if at != last && at != stop => {
                if torn_remainder {
                    return Ending::Torn(0);
                }
                match frame_end(at) {
                    Some(next) if next == end => Ending::AtTheEnd(1),
                    Some(next) if end - next < LENGTH_PREFIX_LEN => Ending::Torn(1),
                    _ => Ending::Broken,
                }
            }
            _ => Ending::Broken,
        }
    };
    // The frames that were read chain on to where they ended: a chain that
    // meets one is the read one.
    let mut read = alloc::vec![from];
    while let Some(&at) = read.last().filter(|&&at| at < read_until) {
        match crate::wire::whole_frame_len(&buf[at..], LENGTH_PREFIX_LEN) {
            Some(frame_len) => read.push(at + frame_len),
            None => break,
        }
    }
    read.retain(|&at| at < read_until);
    let mut endings = alloc::vec![None; read_until - from];
    for &at in &read {
        endings[at - from] = Some(Ending::Broken);
    }
    for at in (from + 1..read_until).rev() {
        if endings[at - from].is_some() {
            continue;
        }
        let ending = match frame_end(at) {
            None => Ending::Broken,
            Some(next) if next < read_until => endings[next - from].unwrap_or(Ending::Broken),
            // Over the zero frames: only the last real frame, which holds the
            // zeros they were read from, ending at the end.
            Some(next)
                if matches!(ending, PlainEnding::ZeroFrames { .. })
                    && !looks_like_a_flatbuffer(&buf[at..next]) =>
            {
                Ending::Broken
            }
            Some(next) => ending_beyond(next),
        };
        endings[at - from] = Some(ending.one_frame_more());
    }
    let accepted = |at: usize| match endings[at - from] {
        Some(Ending::AtTheEnd(2) | Ending::Torn(2)) => true,
        Some(Ending::AtTheEnd(1)) => looks_like_a_flatbuffer(&buf[at..end]),
        _ => false,
    };
    // Whether each frame read is shaped like a FlatBuffer, and whether the
    // reading went off the real frames after it: a frame read after it is
    // not.
    let shaped: alloc::vec::Vec<bool> = read
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let frame_end = read.get(i + 1).copied().unwrap_or(read_until);
            looks_like_a_flatbuffer(&buf[at..frame_end])
        })
        .collect();
    let mut derailed_after = alloc::vec![false; read.len()];
    let mut derailed = match ending {
        PlainEnding::Stopped { last, stop } => !looks_like_a_flatbuffer(&buf[last..stop.min(end)]),
        PlainEnding::ZeroFrames { .. } => true,
    };
    for i in (0..read.len()).rev() {
        derailed_after[i] = derailed;
        derailed |= !shaped[i];
    }
    // Every frame read before the damaged one is real: the damaged frame is
    // at or before the first one that is not shaped like a FlatBuffer. Of
    // the frames whose flipped end starts good frames, the latest such one
    // is taken (an earlier one's chain jumps over real frames that were
    // read), else the latest one (payloads that are not FlatBuffers).
    let first_unshaped = shaped
        .iter()
        .position(|&shaped| !shaped)
        .unwrap_or(read.len());
    read.iter()
        .enumerate()
        .filter(|&(i, _)| derailed_after[i])
        .filter_map(|(i, &at)| {
            let declared = crate::wire::read_length_prefix(&buf[at..]);
            // This frame's earliest flipped end that starts good frames.
            let next = (0..u32::BITS)
                .filter_map(|bit| {
                    let len = usize::try_from(declared ^ (1 << bit)).ok()?;
                    (at + LENGTH_PREFIX_LEN).checked_add(len)
                })
                .filter(|&next| next < read_until && accepted(next))
                .min()?;
            Some((at, i, next))
        })
        .max_by_key(|&(_, i, _)| (i <= first_unshaped, i))
        .map(|(at, i, next)| (at, i as u64, next))
}

/// Whether `frame` (header included) holds a payload shaped like a
/// FlatBuffer: 8 bytes or more, with a table root, or the same after a
/// size prefix that matches (`finish_size_prefixed`).
fn looks_like_a_flatbuffer(frame: &[u8]) -> bool {
    let shaped =
        |payload: &[u8]| payload.len() >= MIN_FLATBUFFER_LEN && looks_like_a_table_root(payload);
    frame.get(LENGTH_PREFIX_LEN..).is_some_and(|payload| {
        shaped(payload)
            || payload
                .split_first_chunk::<4>()
                .is_some_and(|(size, rest)| {
                    usize::try_from(u32::from_le_bytes(*size)).is_ok_and(|size| size == rest.len())
                        && shaped(rest)
                })
    })
}

/// The checksum bits of [`may_start_frames`]'s weaker chains.
const WEAK_CHAIN_BITS: usize = 32;

/// Whether the length prefixes of a chain starting at `buf[at..]` already
/// break it, before any checksum: what [`chain_at`] would conclude at no
/// cost, for a checksum that needs two frames or more (one frame's length
/// says nothing about a chain).
pub(crate) fn lengths_break<D: Deframer + ?Sized>(
    deframer: &D,
    buf: &[u8],
    at: usize,
    eof: bool,
    max_frame_len: usize,
) -> bool {
    let header_len = deframer.header_len();
    match frames_for_chain(header_len) {
        Some(frames) if frames > 1 && header_len > LENGTH_PREFIX_LEN => matches!(
            walk_lengths(buf, at, header_len, frames, eof, max_frame_len),
            Walk::Broken
        ),
        _ => false,
    }
}

/// Whether the length prefixes from `buf[at..]` on chain like a stream of
/// long frames: [`LIKELY_FRAMES`] whole frames of `min_len` bytes or more
/// (header included) and within `max_frame_len`, in a row, or, at the end
/// of input, such frames that end exactly there (or leave less than a
/// header after two of them). A false frame start passes rarely: each
/// further length must fit, and be long, so a false length that happens to
/// lead onto real short frames does not pass. A real long frame followed by
/// real long frames always does, once they are in `buf`. Lengths only, no
/// checksum.
pub(crate) fn lengths_run_on(
    header_len: usize,
    buf: &[u8],
    at: usize,
    eof: bool,
    max_frame_len: usize,
    min_len: usize,
) -> bool {
    // The same walk as a chain's, for more frames and with a floor on
    // their length.
    match walk_lengths(buf, at, header_len, LIKELY_FRAMES, eof, max_frame_len) {
        Walk::Whole { frames, count } => frames[..count].iter().all(|&(_, len)| len >= min_len),
        Walk::Broken | Walk::Undecided => false,
    }
}

/// How many whole frames in a row make [`lengths_run_on`] true.
const LIKELY_FRAMES: usize = 4;

/// The most frames a chain needs (a 1-byte checksum: 40 bits in 5 frames).
const MAX_CHAIN_FRAMES: usize = 8;

/// What the length prefixes of a candidate chain say before any checksum.
#[derive(Debug)]
enum Walk {
    /// One of them breaks the chain: a length over the limit, or, at the end
    /// of input, one running past the end with a whole header there.
    Broken,
    /// The chain's frames are whole in the buffer, all of them or, at the end
    /// of input, enough of them: `(start, length)` of each, in order, in the
    /// first `count` slots (no allocation).
    Whole {
        frames: [(usize, usize); MAX_CHAIN_FRAMES],
        count: usize,
    },
    /// A header is incomplete and more bytes may come: the checks in order
    /// decide (they ask for the bytes once the frames before verify).
    Undecided,
}

/// Walks the length prefixes of a chain of `frames` frames from
/// `buf[at..]` on, without computing any checksum: exactly the verdicts the
/// checks in order would reach on lengths and on the end of input, and,
/// when the frames to verify are all in the buffer, their layout. A false candidate's first length often fits a
/// large buffer (a slice or a map) and would cost a checksum over megabytes,
/// but rarely do two lengths in a row fit.
fn walk_lengths(
    buf: &[u8],
    at: usize,
    header_len: usize,
    frames: usize,
    eof: bool,
    max_frame_len: usize,
) -> Walk {
    if frames > MAX_CHAIN_FRAMES {
        return Walk::Undecided;
    }
    let mut layout = [(0, 0); MAX_CHAIN_FRAMES];
    let mut pos = at;
    for (walked, slot) in layout[..frames].iter_mut().enumerate() {
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(header) = rest.get(..header_len) else {
            if !eof {
                return Walk::Undecided;
            }
            // The end of input after `walked` frames: exactly at the end one
            // checksummed frame is enough, before a torn remainder two are.
            let enough = if rest.is_empty() {
                walked >= 1
            } else {
                walked >= 2
            };
            return if enough {
                Walk::Whole {
                    frames: layout,
                    count: walked,
                }
            } else {
                Walk::Broken
            };
        };
        let declared = crate::wire::read_length_prefix(header);
        let payload_len = usize::try_from(declared).unwrap_or(usize::MAX);
        if payload_len > max_frame_len {
            return Walk::Broken;
        }
        let frame_len = header_len.saturating_add(payload_len);
        if frame_len > rest.len() {
            return if eof { Walk::Broken } else { Walk::Undecided };
        }
        *slot = (pos, frame_len);
        pos += frame_len;
    }
    Walk::Whole {
        frames: layout,
        count: frames,
    }
}

/// Verifies the whole chain `frames` (`(start, length)` pairs) shortest
/// frame first: the verdict is the same in any order (every frame must
/// verify and none be a zero frame), and a false chain is almost always
/// refused by its cheapest frame.
fn verify_shortest_first<D: Deframer + ?Sized>(
    deframer: &mut D,
    buf: &[u8],
    frames: &mut [(usize, usize)],
    max_frame_len: usize,
    spent: &mut u64,
) -> Chain {
    frames.sort_unstable_by_key(|&(_, len)| len);
    for &mut (start, len) in frames {
        let frame = &buf[start..start + len];
        *spent = spent.saturating_add(len as u64);
        if is_zero_frame(frame) {
            return Chain::Broken;
        }
        match decode(deframer, frame, max_frame_len) {
            Ok(Decoded::Frame { frame_len, .. }) if frame_len == len => {}
            _ => return Chain::Broken,
        }
    }
    Chain::Verified
}

/// Whether `payload` could be a FlatBuffer whose root is a table: a root
/// offset inside it, 4-aligned, to a table whose vtable lies inside it with
/// sane sizes. Offsets and sizes that happen to line up in other bytes pass
/// rarely; a torn frame's bytes read from a wrong offset almost never do.
fn looks_like_a_table_root(payload: &[u8]) -> bool {
    let u16_at = |i: usize| {
        payload
            .get(i..i + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |i: usize| {
        payload
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let Some(root) = u32_at(0).and_then(|r| usize::try_from(r).ok()) else {
        return false;
    };
    if root < 4 || root % 4 != 0 {
        return false;
    }
    let Some(soffset) = u32_at(root) else {
        return false;
    };
    // The table's first field is a signed offset back to its vtable.
    let soffset = i64::from(soffset.cast_signed());
    let Ok(vtable) = usize::try_from(i64::try_from(root).unwrap_or(i64::MAX) - soffset) else {
        return false;
    };
    match (u16_at(vtable), u16_at(vtable + 2)) {
        (Some(vtable_len), Some(table_len)) => {
            vtable % 2 == 0
                && vtable_len >= 4
                && vtable_len % 2 == 0
                && vtable + vtable_len <= payload.len()
                && table_len >= 4
                && root + table_len <= payload.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_lengths_rule_out_chance_per_checksum_width() {
        assert_eq!(frames_for_chain(4), Some(16)); // plain: lengths only
        assert_eq!(frames_for_chain(12), Some(1)); // XXH3-64: 64 bits
        assert_eq!(frames_for_chain(8), Some(2)); // CRC-32: 2 x 32 bits
        assert_eq!(frames_for_chain(6), Some(3)); // CRC-16: 3 x 16 bits
    }

    #[test]
    fn table_roots_look_like_flatbuffers_and_bytes_do_not() {
        // root offset 8; vtable at 4 (4 bytes, table of 4); table at 8
        // pointing back 4 bytes to it.
        let table = [8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0, 1, 2, 3];
        assert!(looks_like_a_table_root(&table));
        assert!(!looks_like_a_table_root(&[20, 0, 0, 0, 9, 9, 9, 9]));
        assert!(!looks_like_a_table_root(&[7; 100]));
        assert!(!looks_like_a_table_root(&[]));
    }

    #[test]
    fn zero_frames_are_length_then_zeros() {
        assert!(is_zero_frame(&[0, 0, 0, 0]));
        assert!(is_zero_frame(&[9, 0, 0, 0, 0, 0]));
        assert!(is_zero_frame(&[1, 2]));
        assert!(!is_zero_frame(&[1, 0, 0, 0, 7]));
    }
}
