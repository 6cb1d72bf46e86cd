//! Where recovery and salvage met bytes that look like what they are not
//! (found by a hostile review), for every framer pair of this build:
//!
//! 1. Zeros explain only some refusals. A complete frame refused for its
//!    length (over the recovery limit) or by a validator although its
//!    checksum verified holds the bytes that were written: its payload may
//!    end in a long run of zeros (a zeroed vector built first) and it is
//!    still corruption, never zero fill to truncate. Swept over the length
//!    of that run, across the 512-byte boundaries zero fill starts on.
//! 2. Frames of zeros a writer was allowed to write (empty payloads, or
//!    payloads of zero bytes) are kept by a recovery told so, whatever
//!    follows them: cut at every byte, the stream keeps every whole frame.
//! 3. A stream inside a payload (a log bundle sent as a chunk) is not this
//!    stream: salvage after a damaged byte anywhere in the chunk's checksum
//!    or payload resumes at the chunk's declared end, never inside it, for
//!    every reader. A length whose damage lands exactly on a later frame
//!    boundary is told apart by the checksum, which verifies over the bytes
//!    up to the next real frame: only the damaged frame is lost.
//!    The same holds whatever the chunking and wherever the chunk lies
//!    (a long one after the damage, which the search judges late; the last
//!    frame, whose declared end is the end of input), and the search pays
//!    for the chain it found once while the declared end's bytes arrive; a
//!    live source that has sent everything holds back no frame that the
//!    checksum places.
//! 4. Without a checksum, a length that swallows the frames after it is
//!    reported in that frame's own numbers.

use std::fs;
use std::io::{self, Read};

use flatstream::{
    AfterDamage, DefaultDeframer, DefaultFramer, Deframer, DeframerExt, ErrorKind, Framer,
    RecoverOptions, SizeValidator, SliceReader, StreamReader, Tail, recover,
    recover_file_for_append, recover_file_for_append_with, recover_slice, wire,
};

use crate::support::framers;
use crate::support::sources::OneByteAtATime;
use crate::support::streams::{TempPath, Written, write_stream};

/// The start of a FlatBuffer with a table root (root offset 8, a vtable of 4
/// bytes, a table of 4): what a payload of this module begins with.
const TABLE_ROOT: [u8; 12] = [8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0];

/// A payload of `len` bytes: a table root, then bytes that are never zero.
fn payload(seed: usize, len: usize) -> Vec<u8> {
    let mut payload = TABLE_ROOT.to_vec();
    payload.extend(
        (TABLE_ROOT.len()..len)
            .map(|j| u8::try_from((seed * 31 + j * 7) % 255 + 1).expect("1..=255")),
    );
    payload
}

// ---------------------------------------------------------------------------
// 1. Refusals zeros cannot explain.
// ---------------------------------------------------------------------------

/// Two frames: 30 bytes, then a payload that ends in `zeros` zero bytes
/// (over 39 bytes in all).
fn ends_in_zeros<F: Framer + Default>(zeros: usize) -> Written {
    let mut last = payload(0, 40);
    last.resize(40 + zeros, 0);
    write_stream::<F>(&[payload(1, 30), last])
}

fn refusals_zeros_cannot_explain<F: Framer + Default, D: Deframer + Default>() {
    let hl = F::default().header_len();
    let checked = hl > wire::LENGTH_PREFIX_LEN;
    for zeros in (16..1300).step_by(23) {
        let w = ends_in_zeros::<F>(zeros);
        let context = format!("a payload ending in {zeros} zeros");
        // Over the recovery limit: the length is what was written.
        let small = RecoverOptions::new().with_max_frame_len(39);
        let recovery = recover_slice(&w.bytes, D::default(), small);
        assert_eq!(recovery.end_position(), w.position(1), "{context}");
        assert!(
            matches!(&recovery.tail, Tail::Corrupt(e) if matches!(e.kind(), ErrorKind::FrameTooLarge { .. })),
            "{context}: {:?}",
            recovery.tail
        );
        // Refused by a validator after its checksum verified.
        let validated = D::default().validated(SizeValidator::new(8, 39));
        let recovery = recover_slice(&w.bytes, validated, RecoverOptions::new());
        assert_eq!(recovery.end_position(), w.position(1), "{context}: refused");
        if checked {
            assert!(
                matches!(&recovery.tail, Tail::Corrupt(e) if matches!(e.kind(), ErrorKind::Invalid { .. })),
                "{context}: {:?}",
                recovery.tail
            );
        }
    }

    // The same in a file: refused and left as it was.
    let w = ends_in_zeros::<F>(2000);
    let tmp = TempPath::new("refusal-not-fill");
    fs::write(tmp.path(), &w.bytes).expect("write");
    let small = RecoverOptions::new().with_max_frame_len(1000);
    let result = recover_file_for_append_with(tmp.path(), D::default(), small);
    assert!(result.is_err(), "{:?}", result.map(|(_, r)| r.tail));
    assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes);
    if checked {
        let validated = D::default().validated(SizeValidator::new(8, 1000));
        let result = recover_file_for_append(tmp.path(), validated);
        assert!(result.is_err(), "{:?}", result.map(|(_, r)| r.tail));
        assert_eq!(fs::read(tmp.path()).expect("read"), w.bytes);
    }
}

/// Zero fill still is fill where zeros explain the refusal: a checksum that
/// fails over a payload zeroed from a block boundary.
fn zeros_that_explain_a_mismatch_are_fill<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&[payload(1, 100), payload(2, 1400)]);
    let mut bytes = w.bytes.clone();
    bytes[1024..].fill(0);
    let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
    let hl = F::default().header_len();
    if hl > wire::LENGTH_PREFIX_LEN {
        assert!(
            matches!(recovery.tail, Tail::ZeroFilled { offset, .. } if offset == w.starts[1] as u64),
            "{:?}",
            recovery.tail
        );
        assert_eq!(recovery.end_position(), w.position(1));
    }
}

// ---------------------------------------------------------------------------
// 2. Frames of zeros a writer was allowed to write.
// ---------------------------------------------------------------------------

fn allowed_zero_frames_survive_every_cut<F: Framer + Default, D: Deframer + Default>() {
    let options = RecoverOptions::new().with_empty_payloads(true);
    for zero_payloads in [
        vec![Vec::new(), Vec::new(), Vec::new()],
        vec![vec![0; 8], Vec::new(), vec![0; 3]],
        vec![vec![0; 1]],
    ] {
        let mut payloads = vec![b"hello".to_vec()];
        payloads.extend(zero_payloads.iter().cloned());
        let w = write_stream::<F>(&payloads);
        for cut in w.starts[1]..=w.bytes.len() {
            let context = format!("{zero_payloads:?} cut at {cut}");
            let whole = w.complete_frames_in(cut);
            let recovery = recover_slice(&w.bytes[..cut], D::default(), options);
            assert_eq!(
                recovery.end_position(),
                w.position(whole),
                "{context}: a whole frame is not kept ({:?})",
                recovery.tail
            );
            assert!(
                !matches!(recovery.tail, Tail::Corrupt(_)),
                "{context}: {:?}",
                recovery.tail
            );

            // The file after a crash: whole frames kept, the rest cut.
            if cut % 3 == 0 {
                let tmp = TempPath::new("allowed-zero-frames");
                fs::write(tmp.path(), &w.bytes[..cut]).expect("write");
                let (_, recovery) = recover_file_for_append_with(tmp.path(), D::default(), options)
                    .unwrap_or_else(|e| panic!("{context}: {e}"));
                assert_eq!(recovery.end_position(), w.position(whole), "{context}");
                assert_eq!(
                    fs::read(tmp.path()).expect("read"),
                    w.bytes[..w.starts[whole]],
                    "{context}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. A stream inside a payload.
// ---------------------------------------------------------------------------

/// Four frames; frame 1 is a chunk whose payload ends in a whole stream of
/// ten frames of the same framing.
fn nested<F: Framer + Default>() -> Written {
    write_stream::<F>(&[
        payload(1, 80),
        chunk::<F>(10, 60),
        payload(2, 80),
        payload(3, 80),
    ])
}

/// What a reader hands out: payloads, and `(offset, frame, frames_lost)` of
/// each skipped region, in order.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Payload(Vec<u8>),
    Region(u64, u64, Option<u64>),
}

fn events(items: impl Iterator<Item = flatstream::Result<Vec<u8>>>) -> Vec<Event> {
    items
        .map(|item| match item {
            Ok(payload) => Event::Payload(payload),
            Err(e) => {
                let ErrorKind::CorruptRegion { frames_lost, .. } = e.kind() else {
                    panic!("salvage reported {e}");
                };
                let at = e.position().expect("positioned");
                Event::Region(at.offset, at.frame, *frames_lost)
            }
        })
        .collect()
}

/// What a `SliceReader` salvaging `bytes` hands out.
fn sliced<D: Deframer + Default>(bytes: &[u8]) -> Vec<Event> {
    events(
        SliceReader::new(bytes, D::default())
            .with_after_damage(AfterDamage::Resync)
            .map(|item| item.map(<[u8]>::to_vec)),
    )
}

/// What a `StreamReader` salvaging `source` hands out, up to its end or
/// its first `WouldBlock`.
fn streamed<D: Deframer + Default>(source: impl Read) -> Vec<Event> {
    let mut reader = StreamReader::new(source, D::default()).with_after_damage(AfterDamage::Resync);
    let mut items = Vec::new();
    loop {
        match reader.read_message() {
            Ok(Some(payload)) => items.push(Ok(payload.to_vec())),
            Ok(None) => break,
            Err(e) if matches!(e.kind(), ErrorKind::Io(io) if io.kind() == io::ErrorKind::WouldBlock) =>
            {
                break;
            }
            Err(e) => items.push(Err(e)),
        }
    }
    events(items.into_iter())
}

/// Hands out `data` in reads of at most `chunk` bytes; then, if `live`,
/// answers `WouldBlock` (a writer that has sent everything and is idle).
struct Chunks<'a> {
    data: &'a [u8],
    chunk: usize,
    live: bool,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.live && self.data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn salvage_never_reads_a_stream_inside_a_payload<F: Framer + Default, D: Deframer + Default>() {
    let w = nested::<F>();
    let expected = vec![
        Event::Payload(w.payloads[0].clone()),
        Event::Region(w.starts[1] as u64, 1, Some(1)),
        Event::Payload(w.payloads[2].clone()),
        Event::Payload(w.payloads[3].clone()),
    ];
    // Every byte of the chunk after its length prefix: the checksum, the
    // chunk's own bytes, the inner stream's headers and payloads.
    for (n, at) in (w.starts[1] + wire::LENGTH_PREFIX_LEN..w.starts[2]).enumerate() {
        let mut bytes = w.bytes.clone();
        bytes[at] ^= 1 << (n % 8);
        let context = format!("bit {} of byte {at} flipped", n % 8);
        assert_eq!(sliced::<D>(&bytes), expected, "{context}: slice");
        if n % 5 == 0 {
            // Fed a byte at a time, the search waits for the declared end.
            assert_eq!(
                streamed::<D>(OneByteAtATime { data: &bytes }),
                expected,
                "{context}: a byte at a time"
            );
        }
        let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
        assert_eq!(recovery.end_position(), w.position(1), "{context}");
        assert_eq!(
            recovery.good_after,
            Some(w.starts[2] as u64),
            "{context}: {:?}",
            recovery.tail
        );
        let salvage = recovery.salvage.as_ref().expect("salvage");
        assert_eq!(salvage.frames, 2, "{context}");
        assert_eq!(salvage.regions[0].frames_lost, Some(1), "{context}");
    }
}

/// Frames of 128 bytes, so that bit 7 of a length, flipped on, declares an
/// end exactly one frame later: a frame boundary with good frames at it.
fn length_landing_on_a_boundary_loses_only_its_frame<F: Framer + Default, D: Deframer + Default>() {
    let hl = F::default().header_len();
    let payloads: Vec<Vec<u8>> = (0..12).map(|i| payload(i, 128 - hl)).collect();
    let w = write_stream::<F>(&payloads);
    for k in 0..payloads.len() - 2 {
        let mut bytes = w.bytes.clone();
        bytes[w.starts[k]] ^= 0x80;
        assert_eq!(
            wire::read_length_prefix(&bytes[w.starts[k]..]) as usize + hl,
            256,
            "frame {k} now declares two frames"
        );
        let got = sliced::<D>(&bytes);
        let mut expected: Vec<Event> = payloads[..k].iter().cloned().map(Event::Payload).collect();
        expected.push(Event::Region(w.starts[k] as u64, k as u64, None));
        expected.extend(payloads[k + 1..].iter().cloned().map(Event::Payload));
        assert_eq!(got, expected, "frame {k}'s length damaged");
        let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
        assert_eq!(
            recovery.good_after,
            Some(w.starts[k + 1] as u64),
            "frame {k}"
        );
    }
}

/// A chunk of `inner` frames of `inner_len` bytes each, behind a 40-byte
/// table root: a stream inside a payload.
fn chunk<F: Framer + Default>(inner: usize, inner_len: usize) -> Vec<u8> {
    let payloads: Vec<Vec<u8>> = (100..100 + inner).map(|i| payload(i, inner_len)).collect();
    let mut chunk = payload(0, 40);
    chunk.extend(write_stream::<F>(&payloads).bytes);
    chunk
}

/// A damaged chunk of long inner frames, then a long frame: read in pieces,
/// the search waits at the chunk's declared end for the long frame's bytes,
/// and must not pay for the chain it found again each time.
fn a_long_wait_at_the_declared_end<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&[
        payload(1, 80),
        chunk::<F>(2, 200_000),
        payload(2, 1_000_000),
        payload(3, 80),
    ]);
    let mut bytes = w.bytes.clone();
    bytes[w.starts[1] + w.header_len + 20] ^= 1;
    let expected = vec![
        Event::Payload(w.payloads[0].clone()),
        Event::Region(w.starts[1] as u64, 1, Some(1)),
        Event::Payload(w.payloads[2].clone()),
        Event::Payload(w.payloads[3].clone()),
    ];
    assert_eq!(sliced::<D>(&bytes), expected, "slice");
    for chunk in [4096, 65536] {
        let source = Chunks {
            data: &bytes,
            chunk,
            live: false,
        };
        assert_eq!(streamed::<D>(source), expected, "{chunk}-byte reads");
        let source = Chunks {
            data: &bytes,
            chunk,
            live: false,
        };
        let recovery = recover(source, D::default()).expect("recover");
        assert_eq!(
            recovery.good_after,
            Some(w.starts[2] as u64),
            "{chunk}-byte reads"
        );
    }
}

/// A damaged length whose declared end is exactly the end of what a live
/// source has sent so far: the checksum places the next frame, and the
/// reader hands out every frame after it without waiting.
fn a_live_source_holds_back_no_placed_frame<F: Framer + Default, D: Deframer + Default>() {
    let payloads: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 100)).collect();
    let w = write_stream::<F>(&payloads);
    let mut bytes = w.bytes.clone();
    let reaching_the_end = u32::try_from(bytes.len() - w.starts[1] - w.header_len).expect("fits");
    bytes[w.starts[1]..w.starts[1] + 4].copy_from_slice(&reaching_the_end.to_le_bytes());
    let mut expected = vec![
        Event::Payload(payloads[0].clone()),
        Event::Region(w.starts[1] as u64, 1, None),
    ];
    expected.extend(payloads[2..].iter().cloned().map(Event::Payload));
    let source = Chunks {
        data: &bytes,
        chunk: usize::MAX,
        live: true,
    };
    assert_eq!(streamed::<D>(source), expected);
}

/// A damaged frame, then a good chunk whose payload holds a stream: long
/// (the search defers it and finds the inner frames first) or short (read
/// in pieces that end inside it). The chunk is read whole.
fn a_nested_chunk_after_the_damage<F: Framer + Default, D: Deframer + Default>() {
    for (inner_len, pieces) in [(30_000, 4096), (60, 333), (60, 1)] {
        let w = write_stream::<F>(&[
            payload(1, 80),
            payload(5, 80),
            chunk::<F>(4, inner_len),
            payload(3, 80),
        ]);
        let mut bytes = w.bytes.clone();
        bytes[w.starts[1] + w.header_len + 20] ^= 1;
        let expected = vec![
            Event::Payload(w.payloads[0].clone()),
            Event::Region(w.starts[1] as u64, 1, Some(1)),
            Event::Payload(w.payloads[2].clone()),
            Event::Payload(w.payloads[3].clone()),
        ];
        let context = format!("inner frames of {inner_len} bytes");
        assert_eq!(sliced::<D>(&bytes), expected, "{context}: slice");
        let source = Chunks {
            data: &bytes,
            chunk: pieces,
            live: false,
        };
        assert_eq!(
            streamed::<D>(source),
            expected,
            "{context}: {pieces}-byte reads"
        );
        let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
        assert_eq!(recovery.good_after, Some(w.starts[2] as u64), "{context}");
    }
}

/// The damaged frame is the last, and its payload holds a stream: its
/// declared end is the end of input, and nothing after it is good.
fn a_nested_last_frame<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&[payload(1, 80), chunk::<F>(6, 60)]);
    let mut bytes = w.bytes.clone();
    bytes[w.starts[1] + w.header_len + 20] ^= 1;
    let expected = vec![
        Event::Payload(w.payloads[0].clone()),
        Event::Region(w.starts[1] as u64, 1, Some(1)),
    ];
    assert_eq!(sliced::<D>(&bytes), expected, "slice");
    assert_eq!(
        streamed::<D>(OneByteAtATime { data: &bytes }),
        expected,
        "a byte at a time"
    );
    let recovery = recover_slice(&bytes, D::default(), RecoverOptions::new());
    assert_eq!(recovery.good_after, None);
    assert!(
        matches!(recovery.tail, Tail::Corrupt(_)),
        "{:?}",
        recovery.tail
    );
    assert_eq!(recovery.end_position(), w.position(1));
}

// ---------------------------------------------------------------------------
// 4. A plain length that swallows frames.
// ---------------------------------------------------------------------------

#[test]
fn a_swallowing_plain_length_is_reported_in_its_own_numbers() {
    let payloads: Vec<Vec<u8>> = (0..30).map(|i| payload(i, 100)).collect();
    let w = write_stream::<DefaultFramer>(&payloads);
    let (mut checked, mut swallowing) = (0, 0);
    for k in 0..payloads.len() - 1 {
        for bit in 8..13 {
            let mut bytes = w.bytes.clone();
            bytes[w.starts[k] + bit / 8] ^= 1 << (bit % 8);
            let declared_end =
                w.starts[k] + 4 + wire::read_length_prefix(&bytes[w.starts[k]..]) as usize;
            let recovery = recover_slice(&bytes, DefaultDeframer, RecoverOptions::new());
            let Tail::Corrupt(e) = &recovery.tail else {
                continue;
            };
            let Some(good) = recovery.good_after else {
                continue;
            };
            let ErrorKind::CorruptRegion { cause, .. } = e.kind() else {
                continue;
            };
            let context = format!("frame {k}, length bit {bit}: {e}");
            let at = e.position().expect("positioned");
            let ErrorKind::UnexpectedEof {
                available,
                required,
            } = **cause
            else {
                panic!("{context}");
            };
            // The frame where the damage is: a length that runs past the
            // end, or one that swallows good frames inside the file.
            assert_eq!(at.offset, w.starts[k] as u64, "{context}");
            assert_eq!(required, (declared_end - w.starts[k]) as u64, "{context}");
            let before = if declared_end > bytes.len() {
                bytes.len() as u64
            } else {
                swallowing += 1;
                good
            };
            assert_eq!(available, before - at.offset, "{context}");
            assert!(available < required, "{context}");
            checked += 1;
        }
    }
    assert!(
        checked >= 60 && swallowing >= 20,
        "only {checked} damaged lengths met, {swallowing} swallowing"
    );
}

macro_rules! edge_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn a_length_over_the_limit_or_a_verified_refusal_is_never_zero_fill() {
                refusals_zeros_cannot_explain::<$framer, $deframer>();
            }

            #[test]
            fn zeros_that_explain_a_mismatch_are_still_zero_fill() {
                zeros_that_explain_a_mismatch_are_fill::<$framer, $deframer>();
            }

            #[test]
            fn allowed_frames_of_zeros_survive_a_cut_at_every_byte() {
                allowed_zero_frames_survive_every_cut::<$framer, $deframer>();
            }
        }
    };
}

framers::for_each_framer_pair!(edge_tests);

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
macro_rules! nesting_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn salvage_resumes_at_the_declared_end_never_inside_a_nested_stream() {
                salvage_never_reads_a_stream_inside_a_payload::<$framer, $deframer>();
            }

            #[test]
            fn a_length_landing_on_a_frame_boundary_loses_only_its_frame() {
                length_landing_on_a_boundary_loses_only_its_frame::<$framer, $deframer>();
            }

            #[test]
            fn waiting_at_the_declared_end_costs_the_found_chain_once() {
                a_long_wait_at_the_declared_end::<$framer, $deframer>();
            }

            #[test]
            fn a_live_source_holds_back_no_frame_the_checksum_places() {
                a_live_source_holds_back_no_placed_frame::<$framer, $deframer>();
            }

            #[test]
            fn a_nested_chunk_after_the_damage_is_read_whole_by_every_reader() {
                a_nested_chunk_after_the_damage::<$framer, $deframer>();
            }

            #[test]
            fn a_nested_last_frame_hands_out_nothing_from_inside() {
                a_nested_last_frame::<$framer, $deframer>();
            }
        }
    };
}

mod nesting {
    use super::*;

    #[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
    framers::for_each_checksum_framer_pair!(nesting_tests);
}
