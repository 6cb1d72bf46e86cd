//! Sweeps over damaged streams: the findings of the recovery issue, each
//! proven fixed for every framer pair of this build.
//!
//! The stream is 100 frames of 100-byte payloads whose bytes are all non-zero
//! (so a zeroed byte always changes a payload, no frame is a zero frame, and
//! any 4 payload bytes read as a length declare more than the whole stream).
//!
//! 1. A flipped bit in a length field is never a tail that cuts complete
//!    frames: every bit of every length field, 3,200 cases per framer,
//!    recovered from a slice; with a checksum the damage is a corruption at the
//!    damaged frame, with good frames after it, and salvage (`Resync`) reads
//!    every other payload. A subset (every 7th case, stated below) is
//!    recovered from a file, which must be left unchanged.
//! 2. Zero fill is recognised where it starts: zeros from every 512-byte
//!    boundary to the end, recovered and truncated to the first frame the
//!    zeros touch (for the plain framer, the first frame whose length prefix
//!    they touch).
//! 3. Empty payloads are refused by default; written when allowed; kept by
//!    recovery only when it is told the writer allowed them.
//! 4. One recoverer at a time: `recover_file_for_append` holds an exclusive
//!    lock, against another handle and against another process (`flock`).
//! 5. FIFOs, devices and directories are refused, without hanging.
//! 6. A frame declaring more than 2 GiB, which a writer may be allowed to
//!    write, is a torn tail at the end, not a bad length.
//! 7. A validator's refusal is a corruption, for `recover` and for
//!    `Error::is_corruption`.

use alloc::collections::BTreeSet;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};

use flatstream::{
    DefaultDeframer, DefaultFramer, Deframer, DeframerExt, ErrorKind, Framer, Position,
    RecoverOptions, Recovery, SizeValidator, StreamReader, StreamWriter, Tail, recover,
    recover_file_for_append, recover_file_for_append_with, recover_slice, recover_with, wire,
};

use crate::support::framers;
use crate::support::spawning::{no_spawning, spawning};
use crate::support::streams::{self, Ending, TempPath, Written, summary, write_stream};

/// Frames in the swept stream.
const FRAMES: usize = 100;
/// Bytes in each of its payloads.
const PAYLOAD_LEN: usize = 100;

/// The first bytes of every payload: a minimal FlatBuffer whose root is an
/// empty table (root offset 8, a 4-byte vtable at 4, the table at 8 pointing
/// back to it), so that each payload is shaped like what the library stores;
/// recovery of a plain stream judges a lone frame by that shape.
const TABLE_ROOT: [u8; 12] = [8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0];

/// 100 payloads of 100 bytes: a FlatBuffer table root, then bytes different
/// in every frame, with no zero byte (so a payload never ends in zeros).
fn hundred_payloads() -> Vec<Vec<u8>> {
    (0..FRAMES)
        .map(|i| {
            let mut payload = TABLE_ROOT.to_vec();
            payload.extend((TABLE_ROOT.len()..PAYLOAD_LEN).map(|j| {
                let v = (i * 31 + j * 7 + (i * j) % 13) % 255;
                u8::try_from(v + 1).expect("1..=255")
            }));
            payload
        })
        .collect()
}

fn hundred_frames<F: Framer + Default>() -> Written {
    let w = write_stream::<F>(&hundred_payloads());
    assert_eq!(w.bytes.len(), FRAMES * (w.header_len + PAYLOAD_LEN));
    w
}

fn offset(w: &Written, i: usize) -> u64 {
    w.starts[i] as u64
}

/// Recovers `bytes` through `recover` (a `Read` source) and `recover_slice`,
/// which must agree; returns the first.
fn recover_both<D: Deframer + Default>(bytes: &[u8], context: &str) -> Recovery {
    let recovery = recover(bytes, D::default()).expect("recover");
    let from_slice = recover_slice(bytes, D::default(), RecoverOptions::new());
    assert_eq!(
        (summary(&recovery), recovery.good_after),
        (summary(&from_slice), from_slice.good_after),
        "{context}: recover and recover_slice disagree"
    );
    recovery
}

/// The payload of every frame `bytes` holds, read strictly (no error
/// allowed).
fn read_strict<D: Deframer + Default>(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = StreamReader::new(bytes, D::default());
    let (payloads, err) = streams::read_until_error(&mut reader);
    assert!(err.is_none(), "{err:?}");
    payloads
}

// ---------------------------------------------------------------------------
// 1. A flipped length bit is not a torn tail.
// ---------------------------------------------------------------------------

/// `bytes` with bit `bit` of frame `i`'s length prefix flipped, and the
/// length it then declares.
fn flip_length_bit(w: &Written, i: usize, bit: usize) -> (Vec<u8>, u32) {
    let mut bytes = w.bytes.clone();
    bytes[w.starts[i] + bit / 8] ^= 1 << (bit % 8);
    let declared = wire::read_length_prefix(&bytes[w.starts[i]..]);
    (bytes, declared)
}

/// Whether the frame at `i` with length `declared` runs past the end of `w`.
fn runs_past_end(w: &Written, i: usize, declared: u32) -> bool {
    w.starts[i] + w.header_len + declared as usize > w.bytes.len()
}

/// What, if anything, `recovery` (of `w` with frame `i`'s length damaged)
/// loses of the frames that are complete and undamaged, or how else it
/// breaks the rule that damage with good frames after it is corruption:
///
/// - the frames before the damaged one are kept;
/// - a tail that would be truncated (torn, zero-filled) only when the damaged
///   frame is the last one and its checksum is too short to judge its length
///   by (frame 99's length running past the end cannot be told from a torn
///   frame without one; with a checksum of 32 bits or more, the length one
///   bit away verifies);
/// - otherwise a corruption, with `good_after` at a real frame start after
///   the damage and a salvage report that reads every frame from there.
fn frames_lost(w: &Written, i: usize, recovery: &Recovery) -> Option<String> {
    let got = summary(recovery);
    let last = FRAMES - 1;
    let stream_len = w.bytes.len() as u64;
    if recovery.frames < i as u64 || recovery.valid_len < offset(w, i) {
        return Some(format!("frames before the damage lost: {got:?}"));
    }
    match &recovery.tail {
        Tail::Torn { .. } | Tail::ZeroFilled { .. } if i < last => Some(format!(
            "a tail that would truncate complete frames: {got:?}"
        )),
        Tail::Torn { .. } | Tail::ZeroFilled { .. } => None,
        Tail::Clean if recovery.valid_len == stream_len => None,
        Tail::Corrupt(err) if !err.is_corruption() => Some(format!("not corruption: {err:?}")),
        Tail::Corrupt(_) if i == last => None,
        Tail::Corrupt(_) => {
            let Some(good) = recovery.good_after else {
                return Some(format!("no good_after: {got:?}"));
            };
            let Some(k) = (i + 1..FRAMES).find(|&k| offset(w, k) == good) else {
                return Some(format!(
                    "good_after {good} is no later frame start: {got:?}"
                ));
            };
            let Some(salvage) = recovery.salvage.as_ref() else {
                return Some(format!("no salvage report: {got:?}"));
            };
            let region = salvage.regions.first().map(|r| (r.offset, r.len));
            let expected = (
                (FRAMES - k) as u64,
                stream_len - good,
                1,
                false,
                Some((recovery.valid_len, good - recovery.valid_len)),
            );
            let reported = (
                salvage.frames,
                salvage.bytes,
                salvage.regions_total,
                salvage.torn_tail,
                region,
            );
            (reported != expected).then(|| {
                format!("salvage {reported:?} is not {expected:?} (frames, bytes, regions, torn, first region)")
            })
        }
        other => Some(format!("unexpected tail {other:?}")),
    }
}

/// Checks the recovery (from a slice) of `w` with bit `bit` of frame `i`'s
/// length flipped; returns what [`frames_lost`] found wrong, for the caller
/// to report with every other such case.
///
/// When the rule holds, it also asserts the exact outcome where the damage
/// shows at the damaged frame (with a checksum always; without one when its
/// length runs past the end): the intact frames stop exactly there, and
/// everything after it is salvageable.
fn check_length_flip<D: Deframer + Default>(w: &Written, i: usize, bit: usize) -> Option<String> {
    let (bytes, declared) = flip_length_bit(w, i, bit);
    let context = format!("frame {i}, bit {bit} (length 100 -> {declared})");
    let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
    let got = summary(&recovery);
    let last = FRAMES - 1;
    let stream_len = w.bytes.len() as u64;
    if let Some(what) = frames_lost(w, i, &recovery) {
        return Some(format!("{context}: {what}"));
    }

    let past_end = runs_past_end(w, i, declared);
    if w.header_len == wire::LENGTH_PREFIX_LEN && !past_end {
        // Without a checksum a shorter length is a valid frame, and a longer
        // one that stays inside the stream too: the damage shows only where
        // the next "frame" is garbage. The rule above is all there is.
        return None;
    }
    let at = w.position(i);
    let frame_len = (w.header_len + PAYLOAD_LEN) as u64;
    if i < last {
        assert_eq!(
            got,
            (i as u64, at.offset, Ending::Corrupt(Some(at))),
            "{context}"
        );
        assert_eq!(recovery.end_position(), at, "{context}");
        assert_eq!(recovery.good_after, Some(offset(w, i + 1)), "{context}");
        let Tail::Corrupt(err) = &recovery.tail else {
            unreachable!()
        };
        if past_end {
            // Running past the end with good frames after it: the damaged
            // length, reported as the region up to the next good frame.
            match err.kind() {
                ErrorKind::CorruptRegion { len, cause, .. } => {
                    assert_eq!(*len, frame_len, "{context}");
                    assert!(
                        matches!(
                            **cause,
                            ErrorKind::UnexpectedEof { available, required }
                                if available == stream_len - at.offset
                                    && required == w.header_len as u64 + u64::from(declared)
                        ),
                        "{context}: {cause:?}"
                    );
                }
                other => panic!("{context}: expected a CorruptRegion, got {other:?}"),
            }
        } else {
            assert!(
                matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
                "{context}: {err:?}"
            );
        }
        // Salvage from the next frame: the 99 - i frames after the damaged
        // one, in one region exactly as long as the damaged frame (the
        // damaged length does not lead to the next frame, so how many frames
        // the region held is not known).
        let salvage = recovery.salvage.as_ref().expect("a salvage report");
        assert_eq!(
            (salvage.frames, salvage.bytes),
            ((last - i) as u64, (last - i) as u64 * frame_len),
            "{context}"
        );
        assert_eq!(
            listed_regions(salvage),
            [(at.offset, frame_len, None)],
            "{context}"
        );
    } else if past_end && w.header_len >= wire::LENGTH_PREFIX_LEN + 4 {
        // The last frame running past the end, with a checksum of 32 bits
        // or more: it verifies over the length one bit away, so it is a
        // whole frame with a damaged length, corruption, never cut as a
        // torn tail.
        assert_eq!(
            got,
            (i as u64, at.offset, Ending::Corrupt(Some(at))),
            "{context}"
        );
        assert_eq!(recovery.good_after, None, "{context}");
        let Tail::Corrupt(err) = &recovery.tail else {
            unreachable!()
        };
        assert!(
            matches!(
                err.kind(),
                ErrorKind::CorruptRegion { len, cause, .. }
                    if *len == frame_len
                        && matches!(**cause, ErrorKind::UnexpectedEof { .. })
            ),
            "{context}: {err:?}"
        );
    } else if past_end {
        // The last frame running past the end, with no checksum or one too
        // short to judge its length by: a torn tail, and only it is lost.
        assert_eq!(
            got,
            (
                i as u64,
                at.offset,
                Ending::Torn {
                    offset: at.offset,
                    len: frame_len
                }
            ),
            "{context}"
        );
    } else {
        // A shorter last frame fails its checksum, with nothing after it.
        assert_eq!(
            got,
            (i as u64, at.offset, Ending::Corrupt(Some(at))),
            "{context}"
        );
        assert_eq!(recovery.good_after, None, "{context}");
        assert!(recovery.salvage.is_none(), "{context}");
    }
    None
}

/// `(offset, len, frames_lost)` of each region a salvage report lists.
fn listed_regions(salvage: &flatstream::Salvage) -> Vec<(u64, u64, Option<u64>)> {
    salvage
        .regions
        .iter()
        .map(|r| (r.offset, r.len, r.frames_lost))
        .collect()
}

/// Panics with every case in `violations`, if any.
fn report(violations: &[String], cases: usize) {
    assert!(
        violations.is_empty(),
        "{} of {cases} cases lose complete frames:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

fn every_length_bit_flipped<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    let mut violations = Vec::new();
    for i in 0..FRAMES {
        for bit in 0..32 {
            violations.extend(check_length_flip::<D>(&w, i, bit));
        }
    }
    report(&violations, FRAMES * 32);
}

/// The issue's exact case: bit 16 of frame 50's length, 100 -> 65,636, with
/// 49 good frames after it. A torn tail there would have cut 50 frames.
fn issue_case_frame_50_bit_16<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    let (bytes, declared) = flip_length_bit(&w, 50, 16);
    assert_eq!(declared, 65_636);
    let recovery = recover(bytes.as_slice(), D::default()).expect("recover");
    let at = w.position(50);
    assert_eq!(
        summary(&recovery),
        (50, at.offset, Ending::Corrupt(Some(at)))
    );
    assert_eq!(recovery.good_after, Some(offset(&w, 51)));
    assert_eq!(recovery.salvage.as_ref().map(|s| s.frames), Some(49));
    assert_eq!(check_length_flip::<D>(&w, 50, 16), None);

    let tmp = TempPath::new("frame-50-bit-16");
    fs::write(tmp.path(), &bytes).expect("write");
    let err = recover_file_for_append(tmp.path(), D::default()).expect_err("corrupt");
    assert!(err.is_corruption(), "{err:?}");
    assert_eq!(err.position(), Some(at));
    assert_eq!(fs::read(tmp.path()).expect("read"), bytes, "unchanged");
}

/// Whether the file checks run for this case: every 29th case of the sweep
/// in order (111 of 3,200; 29 is prime to 32, so every bit position of the
/// length is among them, and every frame), plus the issue's exact case. The
/// file is read by the same scan as a slice (checked against it here); what
/// the file adds is the lock, the decision to truncate or refuse, and the
/// bytes left on disk, none of which depends on which bit was flipped. The
/// subset keeps the test fast: every case costs a file write and two reads.
fn file_case(i: usize, bit: usize) -> bool {
    (i * 32 + bit).is_multiple_of(29) || (i, bit) == (50, 16)
}

fn length_bit_flips_in_a_file<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    let _no_spawning = no_spawning();
    let tmp = TempPath::new("length-flip");
    let mut cases = BTreeSet::new();
    let mut violations = Vec::new();
    for i in 0..FRAMES {
        for bit in (0..32).filter(|&bit| file_case(i, bit)) {
            cases.insert((i, bit));
            let (bytes, declared) = flip_length_bit(&w, i, bit);
            let context = format!("frame {i}, bit {bit} (length 100 -> {declared})");
            // `recover` over a `Read` source, as the file helper scans.
            let expected = recover_both::<D>(&bytes, &context);
            fs::write(tmp.path(), &bytes).expect("write");
            match recover_file_for_append(tmp.path(), D::default()) {
                Err(err) => {
                    let Tail::Corrupt(corrupt) = &expected.tail else {
                        panic!("{context}: refused ({err:?}) a {:?}", expected.tail)
                    };
                    assert!(err.is_corruption(), "{context}: {err:?}");
                    assert_eq!(err.position(), corrupt.position(), "{context}");
                    assert_eq!(
                        fs::read(tmp.path()).expect("read"),
                        bytes,
                        "{context}: the file is unchanged"
                    );
                }
                Ok((file, recovery)) => {
                    drop(file);
                    assert_eq!(summary(&recovery), summary(&expected), "{context}");
                    let kept = usize::try_from(recovery.valid_len).expect("fits");
                    let on_disk = fs::read(tmp.path()).expect("read");
                    assert_eq!(on_disk, bytes[..kept], "{context}");
                    if i < FRAMES - 1 {
                        violations.push(format!(
                            "{context}: recovered, truncated to {kept} bytes: {:?}",
                            summary(&recovery)
                        ));
                    }
                }
            }
        }
    }
    // Every frame and every bit position is among the cases.
    assert_eq!(cases.len(), 112);
    assert_eq!(
        cases.iter().map(|&(i, _)| i).collect::<BTreeSet<_>>().len(),
        FRAMES
    );
    assert_eq!(
        cases
            .iter()
            .map(|&(_, bit)| bit)
            .collect::<BTreeSet<_>>()
            .len(),
        32
    );
    report(&violations, cases.len());
}

/// A source that hands out at most 1,000 bytes per `read` (a length no frame
/// of the sweep divides), so that the reader meets the damage, and searches
/// for good frames after it, across refills.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
struct InPieces<'a>(&'a [u8]);

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
impl Read for InPieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(1000);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Salvage of the damaged stream: every payload but the damaged frame's, in
/// order and at its own position, and errors only about the damaged frame.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn check_salvage_reads<D: Deframer + Default>(w: &Written, i: usize, bit: usize) {
    use flatstream::{AfterDamage, SliceReader};

    let (bytes, declared) = flip_length_bit(w, i, bit);
    let context = format!("frame {i}, bit {bit} (length 100 -> {declared})");
    let expected: Vec<(Position, Vec<u8>)> = (0..FRAMES)
        .filter(|&k| k != i)
        .map(|k| (w.position(k), w.payloads[k].clone()))
        .collect();

    let mut reader =
        StreamReader::new(InPieces(&bytes), D::default()).with_after_damage(AfterDamage::Resync);
    let mut from_reader = Vec::new();
    let mut reader_errors = Vec::new();
    loop {
        let at = reader.position();
        match reader.read_message() {
            Ok(Some(payload)) => from_reader.push((at, payload.to_vec())),
            Ok(None) => break,
            Err(err) => {
                // A torn tail repeats (the source may grow): stop at it.
                let last = err.is_unexpected_eof() || !err.is_resumable();
                reader_errors.push(err);
                if last || reader_errors.len() > 3 {
                    break;
                }
            }
        }
    }

    let mut from_slice = Vec::new();
    let mut slice_errors = Vec::new();
    for item in SliceReader::new(&bytes, D::default())
        .with_after_damage(AfterDamage::Resync)
        .positioned()
    {
        match item {
            Ok((at, payload)) => from_slice.push((at, payload.to_vec())),
            Err(err) => slice_errors.push(err),
        }
    }

    let frame_len = (w.header_len + PAYLOAD_LEN) as u64;
    for (reader, payloads, errors) in [
        ("StreamReader", from_reader, reader_errors),
        ("SliceReader", from_slice, slice_errors),
    ] {
        assert!(
            payloads == expected,
            "{context}, {reader}: {} payloads, not the 99 undamaged ones in order",
            payloads.len()
        );
        assert_eq!(errors.len(), 1, "{context}, {reader}: {errors:?}");
        let err = &errors[0];
        assert_eq!(err.position(), Some(w.position(i)), "{context}, {reader}");
        let covered = match err.kind() {
            ErrorKind::CorruptRegion { len, .. } => *len,
            // The last frame running past the end: a torn tail.
            ErrorKind::UnexpectedEof { available, .. } if i == FRAMES - 1 => *available,
            other => panic!("{context}, {reader}: {other:?}"),
        };
        assert_eq!(
            covered, frame_len,
            "{context}, {reader}: the error covers exactly the damaged frame"
        );
    }
}

/// A flipped length bit in the last whole frame with a torn frame after it
/// (a bit flip, then a crash in the middle of a write): the damaged frame
/// runs past the end like the torn one. With a checksum of 32 bits or more
/// it verifies over the length one bit away, so it is corruption and never
/// cut as part of the tail. With CRC-16 it is taken into the torn tail (a
/// chance match would be 2^-11; a limit, asserted so that a change to it
/// shows). Every bit, five cuts of the last frame.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn length_bit_flips_before_a_torn_frame<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    let i = FRAMES - 2;
    let at = w.position(i);
    let judged = w.header_len >= wire::LENGTH_PREFIX_LEN + 4;
    let frame_len = w.header_len + PAYLOAD_LEN;
    let mut past_end = 0;
    for cut in [
        1,
        w.header_len,
        w.header_len + 1,
        frame_len / 2,
        frame_len - 1,
    ] {
        let end = w.starts[FRAMES - 1] + cut;
        for bit in 0..32 {
            let (mut bytes, declared) = flip_length_bit(&w, i, bit);
            bytes.truncate(end);
            if w.starts[i] + w.header_len + declared as usize <= end {
                // Shorter: a checksum mismatch, swept elsewhere.
                continue;
            }
            past_end += 1;
            let context =
                format!("bit {bit} of frame {i}'s length, frame 99 cut after {cut} bytes");
            let recovery = recover_both::<D>(&bytes, &context);
            let tail = if judged {
                Ending::Corrupt(Some(at))
            } else {
                Ending::Torn {
                    offset: at.offset,
                    len: (end - w.starts[i]) as u64,
                }
            };
            assert_eq!(summary(&recovery), (i as u64, at.offset, tail), "{context}");
            assert_eq!(recovery.good_after, None, "{context}");
        }
    }
    assert!(past_end >= 5 * 20, "{past_end} cases ran past the end");
}

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn every_length_bit_flipped_salvage_reads<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    for i in 0..FRAMES {
        for bit in 0..32 {
            check_salvage_reads::<D>(&w, i, bit);
        }
    }
}

// ---------------------------------------------------------------------------
// 2. Zero fill is recognised where it starts.
// ---------------------------------------------------------------------------

/// Where zero fill from `from` to the end must be reported: the first frame
/// the zeros touch. For the plain framer a frame whose length prefix is
/// whole before `from` still parses (nothing can tell that its payload was
/// zeroed) and is kept, unless its payload is now all zeros: that is a zero
/// frame, fill. `FRAMES` when every frame is kept.
fn expected_fill_start(w: &Written, zeroed: &[u8], from: usize) -> usize {
    let k = w.complete_frames_in(from);
    if k == FRAMES || w.header_len > wire::LENGTH_PREFIX_LEN {
        return k;
    }
    let payload = &zeroed[w.starts[k] + wire::LENGTH_PREFIX_LEN..w.starts[k + 1]];
    let prefix_whole = from >= w.starts[k] + wire::LENGTH_PREFIX_LEN;
    if prefix_whole && payload.iter().any(|&b| b != 0) {
        k + 1
    } else {
        k
    }
}

/// Zeros `w` from `from` to the end and checks `recover` on it, and with
/// `tmp`, `recover_file_for_append` on that file; returns the number of
/// frames kept.
fn check_zero_fill_from<D: Deframer + Default>(
    w: &Written,
    from: usize,
    tmp: Option<&TempPath>,
) -> usize {
    let mut bytes = w.bytes.clone();
    bytes[from..].fill(0);
    let context = format!("zeros from {from}");
    let keep = expected_fill_start(w, &bytes, from);
    let len = w.bytes.len() as u64;
    let start = offset(w, keep);
    let expected = if keep == FRAMES {
        (keep as u64, len, Ending::Clean)
    } else {
        (
            keep as u64,
            start,
            Ending::ZeroFilled {
                offset: start,
                len: len - start,
            },
        )
    };
    // With a checksum, zeros that start inside a payload and do not cross a
    // 512-byte block boundary before the frame's end (with 16 zero bytes
    // after it) may be a frame's own trailing zeros with a flipped bit
    // elsewhere: the frame fails, and recovery calls it corruption rather
    // than truncate it as fill. It is never kept as a frame either way.
    let run_start = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let boundary = run_start.next_multiple_of(512);
    let crosses_a_block =
        keep < FRAMES && boundary < w.starts[keep + 1] && bytes.len() - boundary >= 16;
    let unaligned_inside_payload = w.header_len > wire::LENGTH_PREFIX_LEN
        && keep < FRAMES
        && run_start > w.starts[keep] + w.header_len
        && !crosses_a_block;
    let expected = if unaligned_inside_payload {
        (keep as u64, start, Ending::Corrupt(Some(w.position(keep))))
    } else {
        expected
    };
    let recovery = recover_both::<D>(&bytes, &context);
    assert_eq!(summary(&recovery), expected, "{context}");

    if unaligned_inside_payload {
        if let Some(tmp) = tmp {
            fs::write(tmp.path(), &bytes).expect("write");
            recover_file_for_append(tmp.path(), D::default())
                .expect_err("corruption is not truncated");
            assert_eq!(
                fs::read(tmp.path()).expect("read"),
                bytes,
                "{context}: unchanged"
            );
        }
        return keep;
    }
    if let Some(tmp) = tmp {
        fs::write(tmp.path(), &bytes).expect("write");
        let (mut file, recovery) =
            recover_file_for_append(tmp.path(), D::default()).expect("zero fill is truncated");
        assert_eq!(summary(&recovery), expected, "{context}");
        assert_eq!(file.stream_position().expect("position"), start);
        drop(file);
        let on_disk = fs::read(tmp.path()).expect("read");
        assert_eq!(on_disk.len() as u64, start, "{context}: truncated there");
        assert_eq!(on_disk, bytes[..on_disk.len()], "{context}");
        let payloads = read_strict::<D>(&on_disk);
        assert_eq!(payloads.len(), keep, "{context}");
        // A checksum proves the kept frames whole; the plain framer may keep
        // the frame the zeros start in, zeroed.
        let whole = if w.header_len > wire::LENGTH_PREFIX_LEN {
            keep
        } else {
            w.complete_frames_in(from)
        };
        assert_eq!(payloads[..whole], w.payloads[..whole], "{context}");
    }
    keep
}

fn zero_fill_at_every_512_byte_boundary<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    let _no_spawning = no_spawning();
    let tmp = TempPath::new("zero-fill");
    let mut boundaries = 0;
    for from in (0..w.bytes.len()).step_by(512) {
        boundaries += 1;
        let keep = check_zero_fill_from::<D>(&w, from, Some(&tmp));
        let k = w.complete_frames_in(from);
        if w.header_len > wire::LENGTH_PREFIX_LEN {
            assert_eq!(keep, k, "checksummed: the frame the zeros start in");
        } else {
            assert!(keep == k || keep == k + 1);
        }
    }
    assert_eq!(boundaries, w.bytes.len().div_ceil(512));
}

/// Zeros starting at each byte of a frame's header (and its first payload
/// byte, and its middle): the length may survive (its high bytes were zero
/// already), then the frame is a length and zeros. CRC-16/XMODEM accepts such
/// a frame (the CRC of zeros is 0), CRC-32 and XXH3 do not: either way it is
/// fill, not a frame.
fn zero_fill_from_inside_a_frame<F: Framer + Default, D: Deframer + Default>() {
    let w = hundred_frames::<F>();
    let hl = w.header_len;
    let _no_spawning = no_spawning();
    let tmp = TempPath::new("zero-fill-header");
    for k in [0, 1, 37, 50, 98, 99] {
        for d in (0..=hl + 1).chain([hl + 50, hl + PAYLOAD_LEN - 1]) {
            let from = w.starts[k] + d;
            let file = (k == 50).then_some(&tmp);
            let keep = check_zero_fill_from::<D>(&w, from, file);
            let context = format!("zeros from {from}, {d} bytes into frame {k}");
            if hl > wire::LENGTH_PREFIX_LEN || d <= wire::LENGTH_PREFIX_LEN {
                assert_eq!(keep, k, "{context}: not kept");
            } else {
                assert_eq!(keep, k + 1, "{context}: plain, kept undetected");
            }
            if d == wire::LENGTH_PREFIX_LEN {
                // The length survived; checksum and payload are zeros.
                let mut bytes = w.bytes.clone();
                bytes[from..].fill(0);
                let frame = &bytes[w.starts[k]..w.starts[k + 1]];
                assert_eq!(wire::read_length_prefix(frame), 100, "{context}");
                assert!(frame[wire::LENGTH_PREFIX_LEN..].iter().all(|&b| b == 0));
                let verifies = D::default().verify(&frame[..hl], &frame[hl..]).is_ok();
                let crc16 = hl == wire::LENGTH_PREFIX_LEN + 2;
                assert_eq!(
                    verifies,
                    hl == wire::LENGTH_PREFIX_LEN || crc16,
                    "{context}: which checksums accept a length and zeros"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Empty payloads.
// ---------------------------------------------------------------------------

fn empty_payloads_in_a_file<F: Framer + Default, D: Deframer + Default>() {
    let hl = F::default().header_len();
    let hello_end = (hl + 5) as u64;
    let expected_bytes = write_stream::<F>(&[b"hello".to_vec(), Vec::new(), Vec::new()]).bytes;
    let mut empty_frame = Vec::new();
    F::default()
        .encode_into(&[], &mut empty_frame)
        .expect("encode_into");
    assert_eq!(empty_frame.len(), hl);
    assert_eq!(wire::read_length_prefix(&empty_frame), 0);
    let all_zero = streams::empty_frame_is_all_zero::<F>();
    // The plain framer and the CRCs (whose checksum of no bytes is 0) frame
    // an empty payload as zeros; XXH3-64 of no bytes is not 0.
    assert_eq!(all_zero, hl != wire::LENGTH_PREFIX_LEN + 8);

    let _no_spawning = no_spawning();
    let tmp = TempPath::new("empty-payloads");
    let file = fs::File::create(tmp.path()).expect("create");
    let mut writer = StreamWriter::new(file, F::default());
    writer.write_payload(b"hello").expect("hello");
    for _ in 0..2 {
        let err = writer.write_payload(b"").expect_err("refused by default");
        assert!(matches!(err.kind(), ErrorKind::EmptyPayload), "{err:?}");
        assert_eq!(
            err.position(),
            Some(Position {
                offset: hello_end,
                frame: 1
            })
        );
    }
    writer.flush().expect("flush");
    assert_eq!(
        (writer.frames_written(), writer.bytes_written()),
        (1, hello_end)
    );
    assert_eq!(
        fs::read(tmp.path()).expect("read"),
        expected_bytes[..hl + 5],
        "nothing of the refused payloads was written"
    );

    let mut writer = writer.allow_empty_payloads(true);
    writer.write_payload(b"").expect("allowed");
    writer.write_payload(b"").expect("allowed");
    writer.flush().expect("flush");
    writer.get_ref().sync_data().expect("sync_data");
    assert_eq!(writer.frames_written(), 3);
    drop(writer);
    let on_disk = fs::read(tmp.path()).expect("read");
    assert_eq!(on_disk, expected_bytes);
    assert_eq!(on_disk[hl + 5..hl + 5 + hl], empty_frame[..]);
    assert_eq!(on_disk[hl + 5 + hl..], empty_frame[..]);
    let end = on_disk.len() as u64;
    if hl == wire::LENGTH_PREFIX_LEN {
        assert_eq!(end, 17);
    }

    // Told that the writer allowed empty payloads: all three frames kept.
    let options = RecoverOptions::new().with_empty_payloads(true);
    let (mut file, recovery) =
        recover_file_for_append_with(tmp.path(), D::default(), options).expect("recover");
    assert_eq!((recovery.frames, recovery.valid_len), (3, end));
    if all_zero {
        assert!(
            matches!(
                recovery.tail,
                Tail::EmptyOrZeroFilled { offset, len } if offset == hello_end && len == 2 * hl as u64
            ),
            "{:?}",
            recovery.tail
        );
    } else {
        assert!(matches!(recovery.tail, Tail::Clean), "{:?}", recovery.tail);
    }
    assert_eq!(file.stream_position().expect("position"), end);
    drop(file);
    assert_eq!(fs::read(tmp.path()).expect("read"), expected_bytes);

    // By default: zero fill when the empty frames are zeros, frames for XXH3.
    let (mut file, recovery) = recover_file_for_append(tmp.path(), D::default()).expect("recover");
    if all_zero {
        assert_eq!(
            summary(&recovery),
            (
                1,
                hello_end,
                Ending::ZeroFilled {
                    offset: hello_end,
                    len: 2 * hl as u64
                }
            )
        );
        assert_eq!(file.stream_position().expect("position"), hello_end);
        drop(file);
        assert_eq!(
            fs::read(tmp.path()).expect("read"),
            expected_bytes[..hl + 5]
        );
    } else {
        assert_eq!(summary(&recovery), (3, end, Ending::Clean));
        drop(file);
        assert_eq!(fs::read(tmp.path()).expect("read"), expected_bytes);
    }
}

// ---------------------------------------------------------------------------
// 6. Frames over 2 GiB that a writer accepted are recoverable.
// ---------------------------------------------------------------------------

fn frame_over_2_gib_at_the_end_is_torn<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&hundred_payloads()[..5]);
    let hl = w.header_len;
    let end5 = w.bytes.len() as u64;
    for declared in [(1u32 << 31) + 10, u32::MAX] {
        // The start of such a frame: its header (the checksum field is
        // arbitrary, the payload is not all there) and 20 payload bytes.
        let mut header = vec![0xA5; hl];
        header[..4].copy_from_slice(&declared.to_le_bytes());
        for present in [4, hl, hl + 20] {
            let mut bytes = w.bytes.clone();
            bytes.extend_from_slice(&header);
            bytes.resize(w.bytes.len() + present, 0x5A);
            let context = format!("length {declared}, {present} bytes of the frame");
            let torn = (
                5,
                end5,
                Ending::Torn {
                    offset: end5,
                    len: present as u64,
                },
            );
            let recovery = recover_both::<D>(&bytes, &context);
            assert_eq!(summary(&recovery), torn, "{context}");

            // A limit below the frame makes it a bad length instead.
            let limited = recover_with(
                bytes.as_slice(),
                D::default(),
                RecoverOptions::new().with_max_frame_len(wire::DEFAULT_MAX_FRAME_LEN),
            )
            .expect("recover");
            let Tail::Corrupt(err) = &limited.tail else {
                panic!("{context}: {:?}", limited.tail)
            };
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::FrameTooLarge { declared: d, limit }
                        if *d == u64::from(declared) && *limit == wire::DEFAULT_MAX_FRAME_LEN as u64
                ),
                "{context}: {err:?}"
            );

            if present == hl + 20 {
                let tmp = TempPath::new("over-2-gib");
                fs::write(tmp.path(), &bytes).expect("write");
                let (file, recovery) =
                    recover_file_for_append(tmp.path(), D::default()).expect("torn is truncated");
                drop(file);
                assert_eq!(summary(&recovery), torn, "{context}");
                assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes, "{context}");
            }
        }
    }
    assert_eq!(
        RecoverOptions::new().max_frame_len,
        u32::MAX as usize,
        "recovery accepts every length the format carries"
    );
}

/// A writer's limit goes up to `u32::MAX` (and is clamped there), and no
/// framer of this build lowers it. Writing a payload that large is out of
/// reach of a test; the limit the writer checks against is what its `Debug`
/// shows.
fn writer_limit_reaches_u32_max<F: Framer + Default + core::fmt::Debug>() {
    assert_eq!(F::default().max_frame_len(), usize::MAX);
    let shows = |writer: &StreamWriter<Vec<u8>, F>, limit: u64| {
        let debug = format!("{writer:?}");
        assert!(
            debug.contains(&format!("max_frame_len: {limit},")),
            "{debug}"
        );
    };
    let default = StreamWriter::new(Vec::new(), F::default());
    shows(&default, wire::DEFAULT_MAX_FRAME_LEN as u64);
    let mut writer =
        StreamWriter::new(Vec::new(), F::default()).with_max_frame_len(u32::MAX as usize);
    shows(&writer, u64::from(u32::MAX));
    writer.write_payload(&[7; 100]).expect("write");
    let clamped = StreamWriter::new(Vec::new(), F::default()).with_max_frame_len(usize::MAX);
    shows(&clamped, u64::from(u32::MAX));
    // The check itself: a limit is enforced against the payload length.
    let mut small = StreamWriter::new(Vec::new(), F::default()).with_max_frame_len(99);
    let err = small.write_payload(&[7; 100]).expect_err("over the limit");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::FrameTooLarge {
                declared: 100,
                limit: 99
            }
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// 7. A validator's refusal.
// ---------------------------------------------------------------------------

fn validator_refusal_is_corruption<F: Framer + Default, D: Deframer + Default>() {
    let payloads: Vec<Vec<u8>> = vec![
        b"first payload".to_vec(),
        b"second payload".to_vec(),
        b"abc".to_vec(),
        b"fourth payload".to_vec(),
        b"fifth payload".to_vec(),
    ];
    let w = write_stream::<F>(&payloads);
    let deframer = || D::default().validated(SizeValidator::at_least(8));
    let at = w.position(2);

    let recovery = recover(w.bytes.as_slice(), deframer()).expect("recover");
    assert_eq!(
        summary(&recovery),
        (2, at.offset, Ending::Corrupt(Some(at)))
    );
    let Tail::Corrupt(err) = &recovery.tail else {
        unreachable!()
    };
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Invalid {
                validator: "SizeValidator",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_corruption(), "{err:?}");
    assert_eq!(recovery.good_after, Some(offset(&w, 3)));
    let salvage = recovery.salvage.as_ref().expect("salvage report");
    assert_eq!(
        (salvage.frames, salvage.bytes, salvage.regions_total),
        (2, offset(&w, 5) - offset(&w, 3), 1)
    );
    assert_eq!(
        listed_regions(salvage),
        // The refused frame's own length leads to the next good frame.
        [(at.offset, offset(&w, 3) - at.offset, Some(1))]
    );

    // The reader labels the same frame the same way.
    let mut reader = StreamReader::new(w.bytes.as_slice(), deframer());
    let (read, err) = streams::read_until_error(&mut reader);
    assert_eq!(read, payloads[..2]);
    let err = err.expect("the refusal");
    assert!(matches!(err.kind(), ErrorKind::Invalid { .. }) && err.is_corruption());
    assert_eq!(err.position(), Some(at));

    // And the file helper refuses to truncate it.
    let tmp = TempPath::new("validator");
    fs::write(tmp.path(), &w.bytes).expect("write");
    let err = recover_file_for_append(tmp.path(), deframer()).expect_err("corrupt");
    assert!(err.is_corruption(), "{err:?}");
    assert_eq!(err.position(), Some(at));
    assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes);
}

macro_rules! sweep_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn every_bit_of_every_length_flipped_never_makes_a_tail_that_cuts_frames() {
                every_length_bit_flipped::<F, D>();
            }

            #[test]
            fn issue_case_bit_16_of_frame_50_is_corruption_with_49_good_frames_after() {
                issue_case_frame_50_bit_16::<F, D>();
            }

            #[test]
            fn length_bit_flips_in_a_file_are_refused_and_leave_it_unchanged() {
                length_bit_flips_in_a_file::<F, D>();
            }

            #[test]
            fn zero_fill_from_every_512_byte_boundary_is_recognised_where_it_starts() {
                zero_fill_at_every_512_byte_boundary::<F, D>();
            }

            #[test]
            fn zero_fill_from_inside_a_frame_is_never_kept_as_a_frame() {
                zero_fill_from_inside_a_frame::<F, D>();
            }

            #[test]
            fn empty_payloads_refused_by_default_and_kept_only_when_recovery_is_told() {
                empty_payloads_in_a_file::<F, D>();
            }

            #[test]
            fn frame_declaring_over_2_gib_at_the_end_is_a_torn_tail() {
                frame_over_2_gib_at_the_end_is_torn::<F, D>();
            }

            #[test]
            fn writer_limit_goes_up_to_u32_max_and_is_clamped_there() {
                writer_limit_reaches_u32_max::<F>();
            }

            #[test]
            fn validator_refusal_is_corruption_for_recover_and_is_corruption() {
                validator_refusal_is_corruption::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(sweep_tests);

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
macro_rules! salvage_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn every_length_bit_flipped_salvage_reads_every_other_payload() {
                every_length_bit_flipped_salvage_reads::<$framer, $deframer>();
            }

            #[test]
            fn a_damaged_length_before_a_torn_frame_is_never_cut_with_it() {
                length_bit_flips_before_a_torn_frame::<$framer, $deframer>();
            }

            #[test]
            fn salvage_goes_on_through_hundreds_of_damaged_regions() {
                salvage_through_many_regions::<$framer, $deframer>();
            }

            #[test]
            fn a_high_length_bit_flipped_among_long_false_lengths_loses_one_frame() {
                high_length_bit_among_long_false_lengths::<$framer, $deframer>();
            }

            #[test]
            fn a_damaged_payload_among_long_false_lengths_loses_one_frame() {
                damaged_payload_of_long_lengths::<$framer, $deframer>();
            }

            #[test]
            fn a_length_damaged_onto_a_nested_frame_loses_one_frame() {
                length_damaged_onto_a_nested_frame::<$framer, $deframer>();
            }

            #[test]
            fn a_damaged_nested_payload_loses_one_frame() {
                damaged_nested_payload::<$framer, $deframer>();
            }

            #[test]
            fn a_length_flipped_onto_a_later_frame_start_loses_one_frame() {
                length_flipped_onto_a_later_frame::<$framer, $deframer>();
            }

            #[test]
            fn a_long_real_frame_after_damage_is_found_before_the_false_ones_inside_it() {
                long_real_frame_after_damage::<$framer, $deframer>();
            }

            #[test]
            fn few_good_frames_after_a_damaged_length_are_never_cut() {
                few_good_frames_after_a_damaged_length::<$framer, $deframer>();
            }

            #[test]
            fn a_length_flipped_onto_the_end_of_the_file_is_never_cut() {
                length_flipped_onto_the_end_is_never_cut::<$framer, $deframer>();
            }

            #[test]
            fn a_torn_frame_of_counters_is_a_torn_tail_or_says_undecided() {
                torn_frame_of_counters::<$framer, $deframer>();
            }
        }
    };
}

/// 100,000 frames of 270 bytes (27.8 MB) with one byte flipped every
/// 100,000 bytes: salvage loses exactly the frame of each flip and reads
/// every other payload, in order, on the slice reader and the stream
/// reader. (The search for good frames once spent its work budget on false
/// candidates whose lengths fit the buffer, one of them a false length
/// leading exactly to a real frame 17 MB on, and gave up after 40 regions,
/// reporting the rest of the stream lost.)
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn salvage_through_many_regions<F: Framer + Default, D: Deframer + Default>() {
    let Damaged {
        bytes,
        expected,
        regions,
    } = damaged_every::<F>(100_000, 100_000);
    let mut slice_read = Vec::new();
    let mut slice_regions = 0;
    for item in flatstream::SliceReader::new(&bytes, D::default())
        .with_after_damage(flatstream::AfterDamage::Resync)
    {
        match item {
            Ok(payload) => slice_read.push(payload.to_vec()),
            Err(error) => {
                assert!(
                    matches!(error.kind(), ErrorKind::CorruptRegion { .. }),
                    "{error}"
                );
                slice_regions += 1;
            }
        }
    }
    assert_eq!(slice_regions, regions, "one region per flip");
    assert!(
        slice_read == expected,
        "the slice reader reads every other payload"
    );

    let mut reader = StreamReader::new(bytes.as_slice(), D::default())
        .with_after_damage(flatstream::AfterDamage::Resync);
    let (mut read, mut found) = (Vec::new(), 0);
    loop {
        match reader.read_message() {
            Ok(Some(payload)) => read.push(payload.to_vec()),
            Ok(None) => break,
            Err(error) => {
                assert!(
                    matches!(error.kind(), ErrorKind::CorruptRegion { .. }),
                    "{error}"
                );
                found += 1;
            }
        }
    }
    assert_eq!(found, regions, "one region per flip");
    assert!(
        read == expected,
        "the stream reader reads every other payload"
    );
}

/// What one reader salvaged: its name, the payloads at their positions,
/// and the errors.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
type Salvaged = (
    &'static str,
    Vec<(Position, Vec<u8>)>,
    Vec<flatstream::Error>,
);

/// What salvage (`Resync`) reads from `bytes` with the frame limit `limit`
/// on the slice reader, the stream reader and the stream reader fed 1,000
/// bytes at a time: `(reader, payloads at their positions, errors)`. A
/// stream reader stops at a non-resumable error or after five errors.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn salvage_three_ways<D: Deframer + Default>(bytes: &[u8], limit: usize) -> Vec<Salvaged> {
    use flatstream::{AfterDamage, SliceReader};

    let (mut read, mut errors) = (Vec::new(), Vec::new());
    for item in SliceReader::new(bytes, D::default())
        .with_after_damage(AfterDamage::Resync)
        .with_max_frame_len(limit)
        .positioned()
    {
        match item {
            Ok((at, payload)) => read.push((at, payload.to_vec())),
            Err(error) => errors.push(error),
        }
    }
    let mut results = vec![("SliceReader", read, errors)];
    for (name, source) in [
        ("StreamReader", Box::new(bytes) as Box<dyn Read + '_>),
        ("StreamReader in pieces", Box::new(InPieces(bytes))),
    ] {
        let mut reader = StreamReader::new(source, D::default())
            .with_after_damage(AfterDamage::Resync)
            .with_max_frame_len(limit);
        let (mut read, mut errors) = (Vec::new(), Vec::new());
        loop {
            let at = reader.position();
            match reader.read_message() {
                Ok(Some(payload)) => read.push((at, payload.to_vec())),
                Ok(None) => break,
                Err(error) => {
                    let last = !error.is_resumable() || errors.len() > 3;
                    errors.push(error);
                    if last {
                        break;
                    }
                }
            }
        }
        results.push((name, read, errors));
    }
    results
}

/// 2,048 frames of 1,016 bytes whose payloads are little-endian words
/// between 64 KiB and 1 MiB (offsets into a large buffer, as FlatBuffers
/// hold), so that every word of a payload declares a long frame that fits
/// the stream; bit 20 of frame 10's length is flipped, so that it declares
/// 1 MiB more and the stream reader buffers past a megabyte before the
/// checksum fails. Salvage loses frame 10 alone, for the frame limit of the
/// stream's length (as the command line sets it) and the default, on the
/// slice reader, the stream reader and the stream reader fed in pieces.
/// (The search for good frames once judged each false word in the damaged
/// payload at once, a checksum over the megabyte-long frame it declares,
/// spent its budget on a few of them and skipped most of the stream; a
/// 200 MiB file of random payloads did it with a flipped bit 27.)
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn high_length_bit_among_long_false_lengths<F: Framer + Default, D: Deframer + Default>() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let payloads: Vec<Vec<u8>> = (0..2048)
        .map(|_| {
            (0..254)
                .flat_map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let word =
                        (64 << 10) + 1 + u32::try_from(state % (960 << 10)).expect("under 1 MiB");
                    word.to_le_bytes()
                })
                .collect()
        })
        .collect();
    let w = write_stream::<F>(&payloads);
    let (bytes, declared) = flip_length_bit(&w, 10, 20);
    salvage_loses_one_frame::<D>(&w, &bytes, 10, &format!("frame 10 declares {declared}"));
}

/// Asserts that salvage on every reader ([`salvage_three_ways`]), with the
/// frame limit at the stream's length and at the default, reads every
/// payload of `w` but frame `lost`'s, at its position, and reports one
/// `CorruptRegion` of exactly that frame, where `bytes` is `w` damaged in
/// that frame (as `damage` says).
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn salvage_loses_one_frame<D: Deframer + Default>(
    w: &Written,
    bytes: &[u8],
    lost: usize,
    damage: &str,
) {
    let expected: Vec<(Position, Vec<u8>)> = (0..w.payloads.len())
        .filter(|&k| k != lost)
        .map(|k| (w.position(k), w.payloads[k].clone()))
        .collect();
    let damaged = w.position(lost);
    let frame_len = (w.starts[lost + 1] - w.starts[lost]) as u64;
    for limit in [bytes.len(), wire::DEFAULT_MAX_FRAME_LEN] {
        for (reader, read, errors) in salvage_three_ways::<D>(bytes, limit) {
            let reader = format!("{reader}, limit {limit}, {damage}");
            assert!(
                read == expected,
                "{reader}: {} payloads read, not the {} undamaged ones in order",
                read.len(),
                expected.len()
            );
            assert_eq!(errors.len(), 1, "{reader}: {errors:?}");
            assert_eq!(errors[0].position(), Some(damaged), "{reader}");
            assert!(
                matches!(errors[0].kind(), ErrorKind::CorruptRegion { len, .. } if *len == frame_len),
                "{reader}: {}",
                errors[0]
            );
        }
    }
}

/// 40 frames of 70,000 bytes whose payloads are offsets into a large buffer
/// (words of 64 KiB to 1 MiB, each the length of a long frame that fits),
/// 100 random bytes written into the middle of frame 10's payload, its
/// length intact. Every reader loses frame 10 alone. (The search for a
/// chain ran through the damaged payload before it judged the frame at the
/// damaged frame's declared end: ruling out thousands of false long frames
/// cost more than its budget, so it gave up and the 29 frames after the
/// damage were lost. The chain at the declared end is now judged first.)
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn damaged_payload_of_long_lengths<F: Framer + Default, D: Deframer + Default>() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let payloads: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            (0..17_500)
                .flat_map(|_| {
                    let word = (64 << 10) + 1 + u32::try_from(next() % (960 << 10)).expect("small");
                    word.to_le_bytes()
                })
                .collect()
        })
        .collect();
    let w = write_stream::<F>(&payloads);
    let mut bytes = w.bytes.clone();
    let middle = w.starts[10] + w.header_len + 35_000;
    for byte in &mut bytes[middle..middle + 100] {
        *byte = next().to_le_bytes()[0];
    }
    salvage_loses_one_frame::<D>(&w, &bytes, 10, "100 random bytes in frame 10");
}

/// `len` bytes of xorshift64 from `state` (advanced): payload bytes that
/// differ everywhere, the same on every run.
fn xorshift_bytes(state: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A stream whose frame 3 carries, as its payload, a stream of the same
/// format (8 frames of 100 bytes), and whose frame 1's length is damaged so
/// that it declares an end exactly at the start of the third inner frame,
/// where a chain verifies. Frame 1's checksum verifies over its real bytes,
/// which says that its length was the damage: every reader reads frames 0,
/// 2, 3, 4 and 5 and loses frame 1 alone, never an inner frame. (A first
/// try at trusting the declared end searched only for chains lying wholly
/// before it, could not find frame 2, whose chain runs past it, and handed
/// out the inner frames.)
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn length_damaged_onto_a_nested_frame<F: Framer + Default, D: Deframer + Default>() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut bytes = |len: usize| xorshift_bytes(&mut state, len);
    let inner: Vec<Vec<u8>> = (0..8).map(|_| bytes(100)).collect();
    let mut payloads: Vec<Vec<u8>> = (0..6).map(|_| bytes(100)).collect();
    payloads[1] = bytes(300);
    payloads[3] = write_stream::<F>(&inner).bytes;
    let w = write_stream::<F>(&payloads);
    let inner_start = w.starts[3] + w.header_len + 2 * (w.header_len + 100);
    let declared = u32::try_from(inner_start - w.starts[1] - w.header_len).expect("small");
    let mut damaged = w.bytes.clone();
    damaged[w.starts[1]..w.starts[1] + 4].copy_from_slice(&declared.to_le_bytes());
    salvage_loses_one_frame::<D>(&w, &damaged, 1, "frame 1 declares an inner frame's start");
}

/// A stream whose frame 1 carries, as its payload, a stream of the same
/// format (1 MiB of 40-byte log lines), with one bit flipped near the end of
/// that payload. Every reader loses frame 1 alone: its declared end wins
/// over the inner chains, and its checksum is checked against a shorter
/// prefix once, not at every inner chain (which cost time growing with the
/// square of the payload, and gave CRC-16 one chance in 65,536 per inner
/// frame of resuming inside the payload).
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn damaged_nested_payload<F: Framer + Default, D: Deframer + Default>() {
    let header_len = F::default().header_len();
    let lines = (1 << 20) / (header_len + 40);
    let inner: Vec<Vec<u8>> = (0..lines)
        .map(|i| {
            let mut line = format!("log line {i:08} level=info msg=ok ").into_bytes();
            line.resize(40, b'x');
            line
        })
        .collect();
    let mut payloads: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i + 1; 100]).collect();
    payloads[1] = write_stream::<F>(&inner).bytes;
    let w = write_stream::<F>(&payloads);
    let mut damaged = w.bytes.clone();
    damaged[w.starts[2] - 2] ^= 0x10;
    salvage_loses_one_frame::<D>(&w, &damaged, 1, "a bit flipped in frame 1's inner stream");
}

/// Frames of exactly 1,024 bytes with bit 10 of frame 5's length flipped:
/// the damaged frame now declares 2,048 bytes, so its declared end is the
/// start of frame 7, where a chain verifies. The damaged frame's checksum
/// verifies over its first 1,024 bytes, which says that its length was
/// damaged: frame 6 is read, and frame 5 alone is lost, on every reader.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn length_flipped_onto_a_later_frame<F: Framer + Default, D: Deframer + Default>() {
    let header_len = F::default().header_len();
    let payloads: Vec<Vec<u8>> = (0..20u8)
        .map(|i| {
            (0..1024 - header_len)
                .map(|j| i ^ j.to_le_bytes()[0])
                .collect()
        })
        .collect();
    let w = write_stream::<F>(&payloads);
    assert_eq!(w.starts[1], 1024);
    let (bytes, declared) = flip_length_bit(&w, 5, 10);
    assert_eq!(declared as usize + header_len, 2048);
    salvage_loses_one_frame::<D>(&w, &bytes, 5, "frame 5 declares 2048 bytes");
}

/// 12 frames of 1 MiB whose payloads are little-endian timestamps (about
/// 1.7e9, plus one per word), 100 random bytes written into the middle of
/// frame 4's payload (its length intact). The first good frame after the
/// damage is itself long, and its payload reads, at most offsets, as the
/// lengths of shorter frames that fit. Every reader loses frame 4 alone,
/// with either frame limit. (With XXH3-64 the slice reader gave up inside
/// the damaged frame and lost the 7 frames after it; once long candidates
/// were deferred on every reader, the stream reader also deferred the real
/// frame and spent its budget on the shorter false frames inside it. A
/// candidate whose lengths run on like a stream's is now judged at once.)
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn long_real_frame_after_damage<F: Framer + Default, D: Deframer + Default>() {
    let payloads: Vec<Vec<u8>> = (0..12u32)
        .map(|i| {
            (0..(1u32 << 18))
                .flat_map(|j| (1_700_000_000 + i * 1000 + j).to_le_bytes())
                .collect()
        })
        .collect();
    let w = write_stream::<F>(&payloads);
    let mut bytes = w.bytes.clone();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let middle = w.starts[4] + w.header_len + (1 << 19);
    for byte in &mut bytes[middle..middle + 100] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state.to_le_bytes()[0];
    }
    let expected: Vec<Vec<u8>> = (0..12)
        .filter(|&k| k != 4)
        .map(|k| payloads[k].clone())
        .collect();
    for limit in [bytes.len(), wire::DEFAULT_MAX_FRAME_LEN] {
        for (reader, read, errors) in salvage_three_ways::<D>(&bytes, limit) {
            let read: Vec<Vec<u8>> = read.into_iter().map(|(_, payload)| payload).collect();
            assert!(
                read == expected,
                "{reader}, limit {limit}: {} payloads, errors {errors:?}",
                read.len()
            );
        }
    }
}

/// Frame 1 (4 MB of little-endian counters) has bit 12 of its length
/// flipped, so that it declares 4,096 bytes more: exactly the two frames
/// after it, its declared end the end of the file. Its checksum fails, and
/// the search for good frames in its counters gives up. The last frame's
/// payload ends in zeros (FlatBuffer padding, a zeroed array). Recovery
/// calls it corruption (undecided) and `recover_file_for_append` refuses
/// it. (A try that took "the damaged frame reaches the end" for "nothing
/// good after it" also when the search had given up judged the tail zero
/// fill, and truncated frames 1 to 3: helper-37's review.) With a chain
/// inside such a frame (frame 2, when frame 1's payload is damaged too, so
/// that its checksum does not place it), recovery says undecided and
/// truncates nothing either (it judged that tail zero fill, and cut it).
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn length_flipped_onto_the_end_is_never_cut<F: Framer + Default, D: Deframer + Default>() {
    let header_len = F::default().header_len();
    let counters: Vec<u8> = (0..1_000_000u32).flat_map(u32::to_le_bytes).collect();
    let mut last = vec![0u8; 3088 - header_len];
    for (b, value) in last[..300].iter_mut().zip((1..=200u8).cycle()) {
        *b = value;
    }
    let payloads = vec![vec![7; 100], counters, vec![9; 1008 - header_len], last];
    let w = write_stream::<F>(&payloads);
    assert_eq!(w.starts[4] - w.starts[2], 4096);
    let (bytes, declared) = flip_length_bit(&w, 1, 12);
    assert_eq!(w.starts[1] + header_len + declared as usize, bytes.len());
    let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
    assert!(
        matches!(&recovery.tail, Tail::Corrupt(error) if error.is_corruption()),
        "{:?}",
        recovery.tail
    );
    assert_eq!(recovery.valid_len, w.starts[1] as u64);
    assert!(recovery.undecided, "the search in the counters gave up");
    assert_never_truncated::<D>(&bytes, "bit 12 of a counters frame's length");

    // Frame 1 of 100,000 varied bytes, its length flipped the same way and
    // one payload byte damaged too: the chain at frame 2 does not explain
    // the length (the checksum fails up to it as well), and it is kept.
    let varied: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    let payloads = vec![
        payloads[0].clone(),
        varied,
        payloads[2].clone(),
        payloads[3].clone(),
    ];
    let w = write_stream::<F>(&payloads);
    let (mut bytes, declared) = flip_length_bit(&w, 1, 12);
    assert_eq!(w.starts[1] + header_len + declared as usize, bytes.len());
    bytes[w.starts[1] + header_len + 50_000] ^= 0x40;
    let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
    assert!(
        matches!(&recovery.tail, Tail::Corrupt(error) if error.is_corruption()),
        "{:?}",
        recovery.tail
    );
    assert!(
        recovery.undecided,
        "a chain inside the frame is not ruled out"
    );
    assert_eq!(recovery.good_after, None);
    assert_never_truncated::<D>(&bytes, "bit 12 and a payload byte");
}

/// Asserts that `recover_file_for_append` refuses `bytes` as a file and
/// leaves it byte for byte (`what` names the case).
fn assert_never_truncated<D: Deframer + Default>(bytes: &[u8], what: &str) {
    let path = TempPath::new("never-truncated");
    fs::write(path.path(), bytes).expect("write");
    assert!(
        recover_file_for_append(path.path(), D::default()).is_err(),
        "{what}: recovered for appending"
    );
    assert_eq!(
        fs::read(path.path()).expect("read"),
        bytes,
        "{what}: truncated"
    );
}

/// Too few good frames after a damaged length for a chain, and then a torn
/// frame or zero fill: recovery never cuts them (helper-38's review; each
/// case truncated intact frames on e0e372b and 4d6c9ba). A frame that
/// verifies (two for CRC-16) after the stop, none a frame of zeros, makes
/// the tail undecided corruption.
/// - bit 20 of frame 0's length flipped, frames 1 and 2 whole, frame 3 torn;
/// - bits 20 and 21 flipped, frame 1 whole, frame 2 torn (not with CRC-16,
///   whose one frame holds 16 bits);
/// - bit 9 flipped (frame 0 now ends inside the fill), zeros from byte 512
///   to the end, frames 1 and 2 whole before them.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn few_good_frames_after_a_damaged_length<F: Framer + Default, D: Deframer + Default>() {
    let payload = |len: usize, seed: usize| -> Vec<u8> {
        (0..len)
            .map(|i| ((i * 31 + seed) | 1).to_le_bytes()[0])
            .collect()
    };
    let check = |bytes: &[u8], w: &Written, what: &str| {
        let recovery = recover_slice(bytes, D::default(), RecoverOptions::new());
        assert!(
            matches!(&recovery.tail, Tail::Corrupt(_)),
            "{what}: {:?}, valid_len {}",
            recovery.tail,
            recovery.valid_len
        );
        assert_eq!(recovery.valid_len, w.starts[0] as u64, "{what}");
        assert_never_truncated::<D>(bytes, what);
    };
    let w = write_stream::<F>(&(0..4).map(|i| payload(20, i)).collect::<Vec<_>>());
    let (bytes, _) = flip_length_bit(&w, 0, 20);
    check(
        &bytes[..w.starts[3] + 10],
        &w,
        "bit 20, frames 1 and 2 whole",
    );

    // One good frame is 16 bits with CRC-16: a chance match in a genuine
    // torn frame of regular bytes would refuse it too often to judge by.
    if w.header_len >= wire::LENGTH_PREFIX_LEN + 4 {
        let w = write_stream::<F>(&(0..3).map(|i| payload(20, i)).collect::<Vec<_>>());
        let (mut bytes, _) = flip_length_bit(&w, 0, 20);
        bytes[w.starts[0] + 2] ^= 1 << 5;
        check(
            &bytes[..w.starts[2] + 10],
            &w,
            "bits 20 and 21, frame 1 whole",
        );
    }

    let w = write_stream::<F>(&[
        payload(100, 0),
        payload(100, 1),
        payload(100, 2),
        payload(1000, 3),
    ]);
    let (mut bytes, _) = flip_length_bit(&w, 0, 9);
    bytes[512..].fill(0);
    assert!(w.starts[3] <= 512, "frames 1 and 2 lie before the fill");
    check(&bytes, &w, "bit 9, zero fill from 512");
}

/// A crash in the middle of a frame of little-endian counters (0, 1, 2, ...,
/// a column of sequence numbers): every word of its payload reads as the
/// length of a frame that fits, so ruling out good frames in the torn bytes
/// costs checksums over tens of megabytes. A 64 KiB frame cut anywhere is a
/// torn tail, and `recover_file_for_append` truncates it (recovery gave up
/// and called it corruption past a third of the frame: 23 MB of checksums
/// at half of it, 88 MB near its end, over a budget of 17 MB). A 1 MiB frame
/// cut near its end would cost gigabytes: recovery stops, says corruption
/// and [`Recovery::undecided`], and never truncates.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn torn_frame_of_counters<F: Framer + Default, D: Deframer + Default>() {
    let counters = |bytes: usize| -> Vec<u8> {
        (0..u32::try_from(bytes / 4).expect("small"))
            .flat_map(u32::to_le_bytes)
            .collect()
    };
    let mut payloads: Vec<Vec<u8>> = (1..=10u8).map(|i| vec![i; 1016]).collect();
    payloads.push(counters(64 << 10));
    let w = write_stream::<F>(&payloads);
    let torn_at = w.starts[10];
    // From the third byte of the length prefix on (before it, the bytes
    // present are zeros: zero fill), every 4,099th cut and the last.
    for cut in (torn_at + 3..w.bytes.len())
        .step_by(4099)
        .chain([w.bytes.len() - 1])
    {
        let recovery = recover_slice(&w.bytes[..cut], D::default(), RecoverOptions::new());
        // A cut after the high zero bytes of a counter ends in zeros: zero
        // fill from the same frame on, cut at the same place.
        assert!(
            matches!(recovery.tail, Tail::Torn { offset, .. } | Tail::ZeroFilled { offset, .. }
                if offset == torn_at as u64),
            "cut at {cut}: {:?}",
            recovery.tail
        );
        assert!(!recovery.undecided, "cut at {cut}");
    }
    let path = TempPath::new("counters");
    fs::write(path.path(), &w.bytes[..w.bytes.len() - 100]).expect("write");
    let (_file, recovery) =
        recover_file_for_append(path.path(), D::default()).expect("a torn tail is recovered");
    assert_eq!(recovery.valid_len, torn_at as u64);
    assert_eq!(
        fs::metadata(path.path()).expect("stat").len(),
        torn_at as u64,
        "truncated to the last whole frame"
    );

    payloads[10] = counters(1 << 20);
    let w = write_stream::<F>(&payloads);
    let cut = w.bytes.len() - 1000;
    let recovery = recover_slice(&w.bytes[..cut], D::default(), RecoverOptions::new());
    assert!(
        matches!(&recovery.tail, Tail::Corrupt(error) if error.is_unexpected_eof()),
        "{:?}",
        recovery.tail
    );
    assert!(recovery.undecided, "the search gave up, and says so");
    assert_eq!(recovery.valid_len, w.starts[10] as u64);
    assert!(recovery.good_after.is_none());
}

/// A stream with flipped bytes, and what salvage must read from it.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
struct Damaged {
    bytes: Vec<u8>,
    /// The payloads of the undamaged frames, in order.
    expected: Vec<Vec<u8>>,
    /// Damaged frames, one region each.
    regions: usize,
}

/// `frames` payloads of 270 bytes written with `F`, one byte flipped every
/// `every` bytes.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
fn damaged_every<F: Framer + Default>(frames: usize, every: usize) -> Damaged {
    let payloads: Vec<Vec<u8>> = (0..frames)
        .map(|i| {
            (0..270)
                .map(|j| u8::try_from((i * 31 + j) % 251 + 1).expect("small"))
                .collect()
        })
        .collect();
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    let mut starts = Vec::with_capacity(frames + 1);
    for payload in &payloads {
        starts.push(writer.bytes_written());
        writer.write_payload(payload).expect("write");
    }
    starts.push(writer.bytes_written());
    let mut bytes = writer.into_inner();
    let mut damaged = BTreeSet::new();
    let mut at = every / 2;
    while at < bytes.len() {
        bytes[at] ^= 0x55;
        damaged.insert(starts.partition_point(|&s| s <= at as u64) - 1);
        at += every;
    }
    let expected: Vec<Vec<u8>> = payloads
        .iter()
        .enumerate()
        .filter(|(i, _)| !damaged.contains(i))
        .map(|(_, p)| p.clone())
        .collect();
    Damaged {
        bytes,
        expected,
        regions: damaged.len(),
    }
}

/// Without a checksum, a damaged length that stays inside the stream reads
/// on through false frames, and the frames stop at a false one running past
/// the end, after the real frames that the damaged frame swallowed started
/// (helper-38's review: on 2cb5ee1 recovery called that a torn tail there and
/// cut them). The real frames chain exactly to the end of the file: never
/// cut.
mod plain_chains {
    use super::*;
    use crate::support::sources::OneByteAtATime;

    /// The reviewer's stream: frame 1 holds a small number (a false length
    /// of 1) and then bytes that declare more than the stream; frame 0's
    /// length 8 becomes 24, which lands inside frame 1.
    #[test]
    fn a_damaged_length_read_on_through_false_frames_is_never_cut() {
        let mut middle = b"hello world!".to_vec();
        middle.extend([1, 0, 0, 0, b'x', 0xff, 0xff, 0xff, 0x7f]);
        middle.extend(b"tail");
        let payloads = vec![b"AAAAAAAA".to_vec(), middle, b"second frame".to_vec()];
        let w = write_stream::<DefaultFramer>(&payloads);
        let (bytes, declared) = flip_length_bit(&w, 0, 4);
        assert_eq!(declared, 24);
        let recovery = recover_both::<DefaultDeframer>(&bytes, "bit 4 of frame 0");
        assert!(
            matches!(&recovery.tail, Tail::Corrupt(error) if error.is_corruption()),
            "{:?}",
            recovery.tail
        );
        assert_eq!((recovery.frames, recovery.valid_len), (0, 0));
        assert_eq!(recovery.good_after, Some(w.starts[1] as u64));
        // The damaged frame, in its own numbers: it declares 24 bytes, and
        // the good frames follow it as if it declared 8, one bit away.
        let Tail::Corrupt(error) = &recovery.tail else {
            unreachable!("checked above")
        };
        assert!(
            matches!(
                error.kind(),
                ErrorKind::CorruptRegion { len: 12, frames_lost: Some(1), cause }
                    if matches!(**cause, ErrorKind::DamagedLength { declared: 24, likely: 8 })
            ),
            "{error:?}"
        );
        let salvage = recovery.salvage.expect("a salvage report");
        assert_eq!((salvage.frames, salvage.torn_tail), (2, false));
        assert_eq!(listed_regions(&salvage), [(0, 12, Some(1))]);
        assert_never_truncated::<DefaultDeframer>(&bytes, "bit 4 of frame 0");
    }

    /// Two frames whose lengths, each with one bit flipped, end at the same
    /// good frame: frame 1 (20 bytes, bit 6) and frame 3 (32 bytes, damaged
    /// to 48 by bit 4). The damaged frame is the later one, after which the
    /// reading went off the real frames; frame 1's chain would jump over two
    /// real frames that were read (helper-40's review: the earliest one was
    /// blamed, and its region said one frame lost where three were).
    #[test]
    fn of_two_frames_a_flipped_bit_explains_the_later_one_is_damaged() {
        let filler = |len: usize| -> Vec<u8> {
            let mut payload = TABLE_ROOT.to_vec();
            payload.extend(
                (0..len - TABLE_ROOT.len()).map(|i| u8::try_from(i % 200 + 20).expect("small")),
            );
            payload
        };
        let mut frame_4 = TABLE_ROOT.to_vec();
        frame_4.extend([4, 0, 0, 0, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f]);
        frame_4.extend(filler(40));
        // The last payload is text: alone, it does not confirm a chain, so
        // the search after the stop finds nothing.
        let payloads = vec![
            filler(40),
            filler(20),
            filler(24),
            filler(32),
            frame_4,
            b"the last reading, as text".to_vec(),
        ];
        let w = write_stream::<DefaultFramer>(&payloads);
        let (bytes, declared) = flip_length_bit(&w, 3, 4);
        assert_eq!(declared, 48);
        assert_eq!(
            w.starts[1] + 4 + (20 ^ 64),
            w.starts[4],
            "frame 1 with bit 6 flipped ends there too"
        );
        let recovery = recover_both::<DefaultDeframer>(&bytes, "frames 1 and 3");
        let Tail::Corrupt(error) = &recovery.tail else {
            panic!("{:?}", recovery.tail)
        };
        assert_eq!(error.position(), Some(w.position(3)), "{error}");
        assert!(
            matches!(error.kind(), ErrorKind::CorruptRegion { len: 36, frames_lost: Some(1), cause }
                if matches!(**cause, ErrorKind::DamagedLength { declared: 48, likely: 32 })),
            "{error:?}"
        );
        assert_eq!(recovery.good_after, Some(w.starts[4] as u64));
        assert_never_truncated::<DefaultDeframer>(&bytes, "frames 1 and 3");
    }

    /// Payloads shaped like FlatBuffers, full of small numbers (offsets,
    /// lengths, counts: each reads as the length of a frame that fits), and
    /// real FlatBuffers with a vector of zeros in the middle (which a
    /// misread length turns into runs of up to 40 empty false frames) or at
    /// the end (where a misread length reads zero frames to the end of the
    /// file, which looks like zero fill), and every bit of every length
    /// flipped: a tail that would be truncated
    /// only ever cuts the damaged frame, the last one, and a damaged length
    /// found looking back is the damaged frame's. Recovery from a
    /// slice, from a `Read` source and from one handing out a byte per call
    /// agree (the stream reader keeps the frames it may look back into).
    #[test]
    fn every_length_bit_flipped_among_small_numbers_never_cuts_a_complete_frame() {
        for (what, payloads) in payload_families() {
            let w = write_stream::<DefaultFramer>(&payloads);
            let last = w.payloads.len() - 1;
            let mut violations = Vec::new();
            for i in 0..=last {
                for bit in 0..32 {
                    let (bytes, declared) = flip_length_bit(&w, i, bit);
                    let context = format!("{what}: frame {i}, bit {bit} (length -> {declared})");
                    let recovery = recover_both::<DefaultDeframer>(&bytes, &context);
                    let byte_by_byte =
                        recover(OneByteAtATime { data: &bytes }, DefaultDeframer).expect("recover");
                    assert_eq!(
                        (summary(&byte_by_byte), byte_by_byte.good_after),
                        (summary(&recovery), recovery.good_after),
                        "{context}: read a byte at a time"
                    );
                    let cut = matches!(recovery.tail, Tail::Torn { .. } | Tail::ZeroFilled { .. });
                    if cut && (i < last || recovery.valid_len < w.starts[i] as u64) {
                        violations.push(format!("{context}: {:?}", summary(&recovery)));
                    }
                    // Found looking back: the damaged frame is the one named.
                    if let Tail::Corrupt(error) = &recovery.tail
                        && matches!(error.kind(), ErrorKind::CorruptRegion { cause, .. }
                            if matches!(**cause, ErrorKind::DamagedLength { .. }))
                        && error.position() != Some(w.position(i))
                    {
                        violations.push(format!("{context}: blames {:?}", error.position()));
                    }
                }
            }
            report(&violations, w.payloads.len() * 32);
        }
    }

    /// The same streams cut at every byte (genuine torn tails), and with
    /// 4 KiB of zero fill after every byte: recovery never looks back into
    /// the intact frames for good frames (they are all shaped like
    /// FlatBuffers, so the reading did not go off them). Looking back after
    /// any frame took up to twice as many of these tails for corruption
    /// (helper-39's review).
    #[test]
    fn a_genuine_torn_tail_is_never_taken_for_swallowed_frames() {
        for (what, payloads) in payload_families() {
            let w = write_stream::<DefaultFramer>(&payloads);
            let mut looked_back = Vec::new();
            for cut in 1..w.bytes.len() {
                let recovery =
                    recover_slice(&w.bytes[..cut], DefaultDeframer, RecoverOptions::new());
                let torn_frame = w.complete_frames_in(cut);
                let latest_intact = w.starts[torn_frame.saturating_sub(1)] as u64;
                if recovery.good_after.is_some_and(|good| good < latest_intact) {
                    looked_back.push(format!("{what}: cut {cut}: {:?}", summary(&recovery)));
                }
                // Zero fill after the cut: frames then zero frames, never
                // good frames found looking back.
                let mut filled = w.bytes[..cut].to_vec();
                filled.resize(cut + 4096, 0);
                let recovery = recover_slice(&filled, DefaultDeframer, RecoverOptions::new());
                if recovery.good_after.is_some() {
                    looked_back.push(format!(
                        "{what}: zeros from {cut}: {:?}",
                        summary(&recovery)
                    ));
                }
            }
            assert!(looked_back.is_empty(), "{}", looked_back.join("\n"));
        }
    }
}

/// The plain sweeps' payloads, 60 frames of each kind: shaped like
/// FlatBuffers and full of small numbers, and real FlatBuffers with a
/// vector of zeros inside or at the end.
fn payload_families() -> [(&'static str, Vec<Vec<u8>>); 3] {
    [
        ("small numbers", small_number_payloads(60)),
        ("zeros inside", flatbuffers_with_zeros(60, Zeros::Inside)),
        (
            "zeros at the end",
            flatbuffers_with_zeros(60, Zeros::AtTheEnd),
        ),
    ]
}

/// Where [`flatbuffers_with_zeros`] puts the vector of zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zeros {
    Inside,
    AtTheEnd,
}

/// `count` real FlatBuffers (a table of a timestamp, a vector of zeros of
/// up to 160 bytes, a vector of counters and a name), the same on every
/// run. The vector built first ends the buffer.
fn flatbuffers_with_zeros(count: usize, zeros: Zeros) -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut builder = flatstream::flatbuffers::FlatBufferBuilder::new();
    (0..count)
        .map(|i| {
            let random = xorshift_bytes(&mut state, 16);
            builder.reset();
            let zero_bytes = vec![0u8; usize::from(random[10] % 160)];
            let zeros_first =
                (zeros == Zeros::AtTheEnd).then(|| builder.create_vector(&zero_bytes));
            let name = builder.create_string(&format!("sensor-{}", random[0] % 50));
            let counters: Vec<u32> = (0..=random[1] % 8)
                .map(|k| 1000 + u32::from(random[2 + usize::from(k)]))
                .collect();
            let counters = builder.create_vector(&counters);
            let zeros = zeros_first.unwrap_or_else(|| builder.create_vector(&zero_bytes));
            let table = builder.start_table();
            builder.push_slot::<u64>(4, 1_700_000_000_000 + i as u64 * 10, 0);
            builder.push_slot_always(6, zeros);
            builder.push_slot_always(8, counters);
            builder.push_slot_always(10, name);
            let root = builder.end_table(table);
            builder.finish_minimal(root);
            builder.finished_data().to_vec()
        })
        .collect()
}

/// `count` payloads shaped like FlatBuffers: a table root, then 4-byte
/// words of which most are small numbers (as offsets, lengths and counts
/// are), 28 to 152 bytes each, the same on every run.
fn small_number_payloads(count: usize) -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..count)
        .map(|_| {
            let random = xorshift_bytes(&mut state, 4 + 4 * 40);
            let words = 4 + usize::from(random[0] % 32);
            let mut payload = TABLE_ROOT.to_vec();
            for word in random[4..].chunks_exact(4).take(words) {
                let value = match word[0] % 4 {
                    0 | 1 => u32::from(word[1] % 200),
                    2 => u32::from(word[1]) * 4 + 4,
                    _ => u32::from_le_bytes([word[0], word[1], word[2], word[3]]),
                };
                payload.extend(value.to_le_bytes());
            }
            payload
        })
        .collect()
}

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
mod salvage {
    use super::*;

    framers::for_each_checksum_framer_pair!(salvage_tests);
}

/// The issue's exact case: CRC-32, zeros from 4096, inside frame 37
/// (3,996..4,104): the file is truncated to frame 37's start.
#[cfg(feature = "crc32")]
#[test]
fn crc32_zeros_from_4096_truncate_to_the_start_of_frame_37() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};

    let w = hundred_frames::<ChecksumFramer<Crc32>>();
    assert_eq!((w.starts[37], w.starts[38]), (3996, 4104));
    let tmp = TempPath::new("crc32-4096");
    let keep = check_zero_fill_from::<ChecksumDeframer<Crc32>>(&w, 4096, Some(&tmp));
    assert_eq!(keep, 37);
    assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes[..3996]);
}

// ---------------------------------------------------------------------------
// 4. One recoverer at a time.
// ---------------------------------------------------------------------------

/// The whole file, read through `file` (another handle could not read it on
/// Windows, where the lock is mandatory); the position is left at the end.
fn contents(file: &mut fs::File) -> Vec<u8> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).expect("seek");
    file.read_to_end(&mut bytes).expect("read");
    bytes
}

#[test]
fn a_second_recoverer_is_locked_out_while_the_first_file_lives() {
    let w = write_stream::<DefaultFramer>(&hundred_payloads()[..5]);
    let end5 = w.bytes.len() as u64;
    let partial = &w.bytes[w.starts[1]..w.starts[1] + 9];
    let mut torn = w.bytes.clone();
    torn.extend_from_slice(&w.bytes[..7]);
    let _no_spawning = no_spawning();
    let tmp = TempPath::new("lock");
    fs::write(tmp.path(), &torn).expect("write");

    let (mut a, recovery) = recover_file_for_append(tmp.path(), DefaultDeframer).expect("A");
    assert_eq!(
        summary(&recovery),
        (
            5,
            end5,
            Ending::Torn {
                offset: end5,
                len: 7
            }
        )
    );
    // A appends, and the write is cut: the file has a torn tail again.
    a.write_all(partial).expect("append");
    let before = contents(&mut a);
    assert_eq!(before.len() as u64, end5 + 9);

    for attempt in 0..2 {
        let err = if attempt == 0 {
            recover_file_for_append(tmp.path(), DefaultDeframer)
        } else {
            recover_file_for_append_with(tmp.path(), DefaultDeframer, RecoverOptions::new())
        }
        .expect_err("locked");
        assert!(matches!(err.kind(), ErrorKind::Locked), "{err:?}");
        assert!(!err.is_corruption());
        assert_eq!(contents(&mut a), before, "not truncated under A");
    }
    drop(a);

    let (b, recovery) = recover_file_for_append(tmp.path(), DefaultDeframer).expect("B");
    assert_eq!(
        summary(&recovery),
        (
            5,
            end5,
            Ending::Torn {
                offset: end5,
                len: 9
            }
        )
    );
    drop(b);
    assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes);
}

/// Whether `flock(1)` is installed.
fn flock_available() -> bool {
    let _spawning = spawning();
    std::process::Command::new("which")
        .arg("flock")
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn a_recoverer_is_locked_out_while_another_process_holds_flock() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    if !flock_available() {
        eprintln!("note: flock(1) not found; skipping the process-level lock check");
        return;
    }
    let w = write_stream::<DefaultFramer>(&hundred_payloads()[..5]);
    let mut torn = w.bytes.clone();
    torn.extend_from_slice(&w.bytes[..7]);
    let tmp = TempPath::new("flock");
    fs::write(tmp.path(), &torn).expect("write");

    // flock holds the lock until its shell reads end of input.
    let spawning = spawning();
    let mut child = Command::new("flock")
        .arg("-x")
        .arg(tmp.path())
        .arg("-c")
        .arg("echo locked; read line || true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn flock");
    drop(spawning);
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line.trim(), "locked");

    let result = recover_file_for_append(tmp.path(), DefaultDeframer).map(|(_, r)| summary(&r));
    drop(child.stdin.take());
    let status = child.wait().expect("wait for flock");
    let err = result.expect_err("locked by flock");
    assert!(matches!(err.kind(), ErrorKind::Locked), "{err:?}");
    assert!(status.success(), "{status}");
    assert_eq!(fs::read(tmp.path()).expect("read"), torn, "unchanged");

    let (file, recovery) = recover_file_for_append(tmp.path(), DefaultDeframer).expect("free");
    drop(file);
    assert!(matches!(recovery.tail, Tail::Torn { len: 7, .. }));
    assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes);
}

// ---------------------------------------------------------------------------
// 5. Non-regular files.
// ---------------------------------------------------------------------------

/// Runs `recover_file_for_append` on `path` in a thread and expects it to
/// refuse the file as `file_type` within a few seconds.
#[cfg(unix)]
fn refused_as(path: &std::path::Path, file_type: &str) {
    use core::time::Duration;
    use std::sync::mpsc;

    let (tx, rx) = mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let result = recover_file_for_append(&owned, DefaultDeframer).map(|(_, r)| summary(&r));
        let _ = tx.send(result);
    });
    let result = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{}: recover_file_for_append hangs", path.display()));
    let err = result.expect_err("not a regular file");
    assert!(
        matches!(err.kind(), ErrorKind::NotRegularFile { file_type: t } if *t == file_type),
        "{}: {err:?}",
        path.display()
    );
}

#[cfg(unix)]
#[test]
fn fifo_device_and_directory_are_refused_without_hanging() {
    use std::os::unix::fs::FileTypeExt;

    let tmp = TempPath::new("fifo");
    let made = {
        let _spawning = spawning();
        std::process::Command::new("mkfifo")
            .arg(tmp.path())
            .status()
    };
    match made {
        Ok(status) if status.success() => {
            refused_as(tmp.path(), "FIFO");
            let metadata = fs::metadata(tmp.path()).expect("still there");
            assert!(metadata.file_type().is_fifo(), "still a FIFO");
        }
        other => eprintln!("note: mkfifo failed ({other:?}); skipping the FIFO check"),
    }

    refused_as(std::path::Path::new("/dev/null"), "character device");

    let dir = TempPath::new("dir");
    fs::create_dir(dir.path()).expect("create_dir");
    refused_as(dir.path(), "directory");
    fs::remove_dir(dir.path()).expect("remove_dir");
}
