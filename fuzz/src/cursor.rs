//! The `cursor` target: arbitrary bytes through every reader, which must all
//! behave as the one [`FrameCursor`](flatstream::FrameCursor) they drive.
//!
//! The fuzzer picks the deframer, the [`AfterDamage`] policy, the frame
//! limit (on the reader or on the deframer), a chunking and the bytes. The
//! same bytes are read by a [`SliceReader`](flatstream::SliceReader), by a
//! [`StreamReader`](flatstream::StreamReader) over a source that hands them
//! out in the chunks (with `Interrupted` and `WouldBlock`, which the driver
//! retries), and by a hand-written driver of `FrameCursor::poll` over a `Vec`
//! that grows by the chunks and drops what the cursor consumed. All three
//! must give the same outcomes (payload positions and lengths, error kinds
//! and positions, the end) up to where the slice iterator stops; payloads
//! must be the input's bytes at their frame; `is_resumable` must agree with
//! whether the next read gets past an error; and each reader's heap stays
//! within the input's size plus a constant (see [`stream_heap_bound`]).
//!
//! The drivers live here too, shared with the `salvage` target. Every
//! driver reads until the point where a `SliceReader` stops: a clean end, a
//! torn tail, or an error that left the reader where it was (which every
//! later call would repeat). Each checks, as it goes, that payloads are the
//! input's bytes at the frame's position, that errors are positioned at the
//! frame before the call, and that [`Error::is_resumable`] says whether the
//! next read gets past the error.

use std::io;

use arbitrary::{Arbitrary, Unstructured};
use flatstream::{
    AfterDamage, ChecksumDeframer, Crc16, Crc32, Decoded, DefaultDeframer, Deframer, DeframerExt,
    Error, ErrorKind, FrameCursor, Position, SliceReader, Step, StreamHeader, StreamReader,
    XxHash64, decode, wire,
};

use crate::{ChunkedSource, READ_CHUNK, peak_heap};

/// The small frame limit: fuzz inputs cross it with complete frames.
const SMALL_LIMIT: usize = 64;

/// The input of the `cursor` target.
///
/// As bytes (see its `Arbitrary` impl): `mode`, a count `n` (taken modulo
/// 17), `n` little-endian `u16` chunks, then the stream itself, raw, so
/// that the fuzzer mutates stream bytes directly.
#[derive(Debug, Clone)]
pub struct CursorInput {
    /// Bits 0-1: the deframer (default, XXH3-64, CRC-32, CRC-16). Bits 2-3:
    /// what follows damage (`Skip`, `Resync`, `Stop`, `Resync`). Bit 4: a
    /// limit of 64 bytes instead of the default 2 GiB. Bit 5: that limit is
    /// set on the deframer (`with_max_frame_len`, a `Bounded`) rather than
    /// on the reader.
    pub mode: u8,
    /// Read sizes, used in turn: chunk `c` delivers `(c >> 3) + 1` bytes;
    /// see `ChunkedSource` and `read_cursor` for `c % 8`. None:
    /// whole reads.
    pub chunks: Vec<u16>,
    /// The stream.
    pub data: Vec<u8>,
}

/// Most chunk sizes in an input.
pub const MAX_CURSOR_CHUNKS: usize = 16;

impl CursorInput {
    /// The input's encoding: what `arbitrary_take_rest` decodes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        assert!(self.chunks.len() <= MAX_CURSOR_CHUNKS);
        let mut out = vec![self.mode, self.chunks.len() as u8];
        for c in &self.chunks {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

impl<'a> Arbitrary<'a> for CursorInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mode = u.arbitrary()?;
        let n = usize::from(u.arbitrary::<u8>()?) % (MAX_CURSOR_CHUNKS + 1);
        let chunks = (0..n)
            .map(|_| u.arbitrary())
            .collect::<arbitrary::Result<_>>()?;
        Ok(CursorInput {
            mode,
            chunks,
            data: u.arbitrary()?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let mode = u.arbitrary().unwrap_or(0);
        let n = usize::from(u.arbitrary::<u8>().unwrap_or(0)) % (MAX_CURSOR_CHUNKS + 1);
        let mut chunks = Vec::with_capacity(n);
        for _ in 0..n {
            match u.bytes(2) {
                Ok(&[lo, hi]) => chunks.push(u16::from_le_bytes([lo, hi])),
                _ => break,
            }
        }
        Ok(CursorInput {
            mode,
            chunks,
            data: u.take_rest().to_vec(),
        })
    }
}

/// Reads the input's bytes through every reader.
///
/// # Panics
///
/// When an invariant fails (see the module documentation).
pub fn fuzz_cursor(input: &CursorInput) {
    by_mode(input, &Readers);
}

/// A target that compares readers on the reading an input's `mode` sets up
/// (see [`by_mode`]).
pub(crate) trait ByMode {
    /// Compares the readers on `input.data` with these settings.
    fn compare<D: Deframer + Clone>(
        &self,
        input: &CursorInput,
        after: AfterDamage,
        limit: usize,
        deframer: D,
    );
}

/// Calls `target` with the deframer, damage policy and frame limit (on the
/// reader, or on the deframer as a `Bounded`) that `input.mode` picks: the
/// one decoding of a mode, for every target that takes a [`CursorInput`].
pub(crate) fn by_mode(input: &CursorInput, target: &impl ByMode) {
    let after = match (input.mode >> 2) % 4 {
        0 => AfterDamage::Skip,
        2 => AfterDamage::Stop,
        _ => AfterDamage::Resync,
    };
    match input.mode % 4 {
        0 => with_limit(input, after, DefaultDeframer, target),
        1 => with_limit(input, after, ChecksumDeframer::new(XxHash64::new()), target),
        2 => with_limit(input, after, ChecksumDeframer::new(Crc32::new()), target),
        _ => with_limit(input, after, ChecksumDeframer::new(Crc16::new()), target),
    }
}

fn with_limit<D: Deframer + Clone>(
    input: &CursorInput,
    after: AfterDamage,
    deframer: D,
    target: &impl ByMode,
) {
    let small = input.mode & 0x10 != 0;
    let on_deframer = input.mode & 0x20 != 0;
    match (small, on_deframer) {
        (true, true) => target.compare(
            input,
            after,
            wire::DEFAULT_MAX_FRAME_LEN,
            deframer.with_max_frame_len(SMALL_LIMIT),
        ),
        (true, false) => target.compare(input, after, SMALL_LIMIT, deframer),
        (false, _) => target.compare(input, after, wire::DEFAULT_MAX_FRAME_LEN, deframer),
    }
}

/// The `cursor` target's comparison: slice, stream and cursor driver.
struct Readers;

impl ByMode for Readers {
    fn compare<D: Deframer + Clone>(
        &self,
        input: &CursorInput,
        after: AfterDamage,
        limit: usize,
        deframer: D,
    ) {
        compare(input, after, limit, deframer);
    }
}

fn compare<D: Deframer + Clone>(
    input: &CursorInput,
    after: AfterDamage,
    limit: usize,
    deframer: D,
) {
    let data = input.data.as_slice();
    let setup = Setup { data, limit, after };
    let (slice, peak) = read_slice(setup, deframer.clone());
    assert!(
        peak <= SLICE_HEAP_BOUND,
        "SliceReader held {peak} heap bytes (bound {SLICE_HEAP_BOUND})"
    );
    let (stream, peak) = read_stream(setup, &input.chunks, deframer.clone());
    let bound = stream_heap_bound(data.len());
    assert!(
        peak <= bound,
        "StreamReader held {peak} heap bytes for {} input bytes (bound {bound})",
        data.len()
    );
    assert_eq!(stream, slice, "StreamReader and SliceReader disagree");
    let (cursor, peak) = read_cursor(setup, &input.chunks, deframer);
    let bound = cursor_heap_bound(data.len());
    assert!(
        peak <= bound,
        "the cursor driver held {peak} heap bytes for {} input bytes (bound {bound})",
        data.len()
    );
    assert_eq!(cursor, slice, "the cursor driver and SliceReader disagree");
}

// ---------------------------------------------------------------------------
// The drivers, and what they produce.

/// One observable result of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A payload of `len` bytes in the frame at `at` (its bytes were checked
    /// against the input there).
    Frame { at: Position, len: usize },
    /// An error positioned at `at`.
    Error { at: Position, kind: Kind },
    /// A clean end of input; `at` is the end.
    End { at: Position },
}

/// An [`ErrorKind`] a reader returns, without its allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Damage(Damage),
    /// [`ErrorKind::CorruptRegion`].
    Region {
        len: u64,
        frames_lost: Option<u64>,
        cause: Damage,
    },
}

/// The kinds of damage a reader reports (and the cause of a region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Damage {
    Mismatch { expected: u64, computed: u64 },
    TooLarge { declared: u64, limit: u64 },
    Eof { available: u64, required: u64 },
}

impl Damage {
    fn of(kind: &ErrorKind) -> Option<Self> {
        match *kind {
            ErrorKind::ChecksumMismatch {
                expected, computed, ..
            } => Some(Damage::Mismatch { expected, computed }),
            ErrorKind::FrameTooLarge { declared, limit } => {
                Some(Damage::TooLarge { declared, limit })
            }
            ErrorKind::UnexpectedEof {
                available,
                required,
            } => Some(Damage::Eof {
                available,
                required,
            }),
            _ => None,
        }
    }
}

impl Kind {
    /// The kind of a reader's error.
    ///
    /// # Panics
    ///
    /// For a kind no deframer of this crate makes a reader return.
    pub(crate) fn of(error: &Error) -> Self {
        if let Some(damage) = Damage::of(error.kind()) {
            return Kind::Damage(damage);
        }
        match error.kind() {
            ErrorKind::CorruptRegion {
                len,
                frames_lost,
                cause,
            } => Kind::Region {
                len: *len,
                frames_lost: *frames_lost,
                cause: Damage::of(cause)
                    .unwrap_or_else(|| panic!("a region caused by something else: {error}")),
            },
            _ => panic!("a reader returned an error it has no reason to: {error:?}"),
        }
    }

    pub(crate) fn is_eof(self) -> bool {
        matches!(self, Kind::Damage(Damage::Eof { .. }))
    }
}

/// The outcomes of one read, in order, in room reserved before reading so
/// that recording allocates nothing while the reader's heap is measured.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Outcomes {
    pub(crate) list: Vec<Outcome>,
}

impl Outcomes {
    /// Room for every outcome `data` can produce: each frame or error that
    /// moves the reader consumes at least one byte, and one more ends it.
    pub(crate) fn for_input(data: &[u8]) -> Self {
        Outcomes {
            list: Vec::with_capacity(data.len() + 2),
        }
    }

    pub(crate) fn push(&mut self, outcome: Outcome) {
        assert!(
            self.list.len() < self.list.capacity(),
            "more outcomes than the input has bytes: {outcome:?}"
        );
        self.list.push(outcome);
    }

    /// The payloads, with their positions.
    pub(crate) fn frames(&self) -> impl Iterator<Item = (Position, usize)> + '_ {
        self.list.iter().filter_map(|o| match *o {
            Outcome::Frame { at, len } => Some((at, len)),
            _ => None,
        })
    }
}

/// How a read is set up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup<'a> {
    pub(crate) data: &'a [u8],
    /// The reader's frame limit.
    pub(crate) limit: usize,
    pub(crate) after: AfterDamage,
}

impl Setup<'_> {
    /// Where the first outcome of a read is: after the stream's header when
    /// the input's first frame is one (whole, verified, within the limit,
    /// and [`StreamHeader::is_header`]), which every reader keeps apart,
    /// else at the start.
    pub(crate) fn first_position<D: Deframer>(&self, deframer: &mut D) -> Position {
        if let Ok(Decoded::Frame {
            payload_start,
            frame_len,
        }) = decode(deframer, self.data, self.limit)
            && StreamHeader::is_header(&self.data[payload_start..frame_len])
        {
            return Position {
                offset: frame_len as u64,
                frame: 1,
            };
        }
        Position {
            offset: 0,
            frame: 0,
        }
    }

    /// Checks that `payload` is the payload of the frame at `at` in the input.
    fn check_payload(&self, at: Position, header_len: usize, payload: &[u8]) {
        let start = to_usize(at.offset);
        let declared = wire::read_length_prefix(&self.data[start..]);
        assert_eq!(payload.len() as u64, u64::from(declared), "length at {at}");
        assert!(payload.len() <= self.limit, "a payload over the limit");
        let from = start + header_len;
        assert_eq!(
            payload,
            &self.data[from..from + payload.len()],
            "a payload that is not the input's bytes at {at}"
        );
    }

    /// Checks that [`Error::is_resumable`] agrees with what the reader did:
    /// `moved` says whether the error left the reader past where it was.
    fn check_resumable(&self, error: &Error, moved: bool) {
        if self.after == AfterDamage::Stop {
            assert!(!moved, "AfterDamage::Stop moved past {error}");
        }
        if moved {
            assert!(
                error.is_resumable(),
                "reading goes on past {error}, which says it is not resumable"
            );
        } else if error.is_unexpected_eof() {
            // Resumable once more bytes arrive; there are none here.
            assert!(error.is_resumable(), "a torn tail that is not resumable");
        } else if self.after != AfterDamage::Stop {
            assert!(
                !error.is_resumable(),
                "{error} says it is resumable, but reading again repeats it"
            );
        }
        // With AfterDamage::Stop every damage repeats, but `is_resumable`
        // describes the error alone: a checksum mismatch says "resumable"
        // there too. Only that it repeats is checked.
    }
}

/// Bytes a [`SliceReader`] may hold on the heap: its errors and a
/// resynchronisation in progress, nothing in proportion to the input.
pub(crate) const SLICE_HEAP_BOUND: usize = 4096;

/// Bytes a [`StreamReader`] may hold after reading `len` input bytes: one read
/// chunk, or twice the bytes read (geometric growth), plus its errors.
pub(crate) fn stream_heap_bound(len: usize) -> usize {
    READ_CHUNK.max(2 * len) + 4096
}

/// Bytes the hand-written cursor driver may hold: its buffer never holds more
/// than the input, and `Vec` growth may double that.
pub(crate) fn cursor_heap_bound(len: usize) -> usize {
    2 * len + 4096
}

/// Where the next outcome of a reader at `at` is: at `first` (past the
/// header) while the reader has not consumed anything, which it does as part
/// of its first call.
pub(crate) fn expected_at(at: Position, first: Position) -> Position {
    if at.offset == 0 && at.frame == 0 {
        first
    } else {
        at
    }
}

fn to_usize(offset: u64) -> usize {
    usize::try_from(offset).expect("offsets fit usize")
}

fn is_would_block(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Reads `setup.data` with a [`SliceReader`]; returns the outcomes and the
/// reader's peak heap.
pub(crate) fn read_slice<D: Deframer>(setup: Setup<'_>, mut deframer: D) -> (Outcomes, usize) {
    let data = setup.data;
    let header_len = deframer.header_len();
    let first = setup.first_position(&mut deframer);
    let mut out = Outcomes::for_input(data);
    let ((), peak) = peak_heap(|| {
        let mut reader = SliceReader::new(data, deframer)
            .with_max_frame_len(setup.limit)
            .with_after_damage(setup.after);
        loop {
            assert_eq!(reader.position().offset, reader.offset() as u64);
            let before = expected_at(reader.position(), first);
            match reader.next() {
                Some(Ok(payload)) => {
                    // The payload borrows the slice itself, at its frame.
                    let at = payload.as_ptr() as usize - data.as_ptr() as usize;
                    assert_eq!(at as u64, before.offset + header_len as u64);
                    setup.check_payload(before, header_len, payload);
                    out.push(Outcome::Frame {
                        at: before,
                        len: payload.len(),
                    });
                    assert_eq!(
                        reader.position(),
                        Position {
                            offset: (at + payload.len()) as u64,
                            frame: before.frame + 1,
                        }
                    );
                }
                Some(Err(error)) => {
                    assert_eq!(error.position(), Some(before), "{error}");
                    let kind = Kind::of(&error);
                    out.push(Outcome::Error { at: before, kind });
                    let moved = reader.position() != before;
                    setup.check_resumable(&error, moved);
                    if kind.is_eof() || !moved {
                        assert!(reader.next().is_none(), "the slice goes on after {error}");
                        break;
                    }
                    assert!(reader.position().offset > before.offset);
                }
                None => {
                    assert_eq!(before.offset, data.len() as u64, "a clean end early");
                    out.push(Outcome::End { at: before });
                    assert!(reader.next().is_none());
                    break;
                }
            }
        }
    });
    (out, peak)
}

/// Reads `setup.data` with a [`StreamReader`] over a source that hands it
/// out in `chunks` (see [`ChunkedSource`]), retrying every `WouldBlock`.
pub(crate) fn read_stream<D: Deframer>(
    setup: Setup<'_>,
    chunks: &[u16],
    mut deframer: D,
) -> (Outcomes, usize) {
    let data = setup.data;
    let header_len = deframer.header_len();
    let first = setup.first_position(&mut deframer);
    let mut out = Outcomes::for_input(data);
    let ((), peak) = peak_heap(|| {
        let source = ChunkedSource::new(data, chunks);
        let mut reader = StreamReader::new(source, deframer)
            .with_max_frame_len(setup.limit)
            .with_after_damage(setup.after);
        // Each `WouldBlock` is followed by a read that delivers.
        let mut would_blocks = 0usize;
        loop {
            let before = expected_at(reader.position(), first);
            match next_message(&mut reader, setup, first, &mut would_blocks) {
                Ok(Some(len)) => {
                    let end = before.offset + (header_len + len) as u64;
                    out.push(Outcome::Frame { at: before, len });
                    assert_eq!(
                        reader.position(),
                        Position {
                            offset: end,
                            frame: before.frame + 1,
                        }
                    );
                }
                Ok(None) => {
                    assert_eq!(before.offset, data.len() as u64, "a clean end early");
                    assert_eq!(reader.position(), before);
                    assert!(reader.buffered().is_empty());
                    out.push(Outcome::End { at: before });
                    break;
                }
                Err(error) => {
                    assert_eq!(error.position(), Some(before), "{error}");
                    let kind = Kind::of(&error);
                    out.push(Outcome::Error { at: before, kind });
                    let moved = reader.position() != before;
                    setup.check_resumable(&error, moved);
                    if kind.is_eof() || !moved {
                        // Nothing more arrives: the same error again.
                        match next_message(&mut reader, setup, first, &mut would_blocks) {
                            Err(again) => assert_eq!(
                                (Kind::of(&again), again.position()),
                                (kind, Some(before)),
                                "a repeated read after {error} gave {again}"
                            ),
                            Ok(other) => panic!("{error}, then {other:?}"),
                        }
                        assert_eq!(reader.position(), before);
                        break;
                    }
                }
            }
        }
    });
    (out, peak)
}

/// The next payload's length (its bytes checked), retrying `WouldBlock`.
fn next_message<D: Deframer>(
    reader: &mut StreamReader<ChunkedSource<'_>, D>,
    setup: Setup<'_>,
    first: Position,
    would_blocks: &mut usize,
) -> Result<Option<usize>, Error> {
    let header_len = reader.deframer().header_len();
    loop {
        let before = expected_at(reader.position(), first);
        match reader.read_message() {
            Ok(Some(payload)) => {
                setup.check_payload(before, header_len, payload);
                return Ok(Some(payload.len()));
            }
            Ok(None) => return Ok(None),
            Err(error) if is_would_block(&error) => {
                assert!(error.is_resumable());
                // Where the reader is: before the header while it is not
                // yet judged (`before` is past it), past it once it is.
                assert_eq!(error.position(), Some(reader.position()));
                *would_blocks += 1;
                assert!(*would_blocks <= setup.data.len() + 1, "WouldBlock forever");
            }
            Err(error) => return Err(error),
        }
        assert_eq!(
            expected_at(reader.position(), first),
            before,
            "WouldBlock consumed something"
        );
    }
}

/// Reads `setup.data` the way the [`FrameCursor`] documentation's driver
/// does: a `Vec` that grows by `chunks` (chunk `c` adds `(c >> 3) + 1`
/// bytes), dropping what the cursor says is consumed (except for chunks with
/// `c % 8 == 5`, which keep it) and polling again without new bytes for
/// chunks with `c % 8 == 6` (what a `WouldBlock` looks like to the cursor).
pub(crate) fn read_cursor<D: Deframer>(
    setup: Setup<'_>,
    chunks: &[u16],
    mut deframer: D,
) -> (Outcomes, usize) {
    let data = setup.data;
    let header_len = deframer.header_len();
    let first = setup.first_position(&mut deframer);
    let mut out = Outcomes::for_input(data);
    let ((), peak) = peak_heap(|| {
        let mut cursor = FrameCursor::new(deframer)
            .with_max_frame_len(setup.limit)
            .with_after_damage(setup.after);
        let mut buf: Vec<u8> = Vec::new();
        let mut delivered = 0usize;
        let mut next_chunk = 0usize;
        let mut eof = false;
        loop {
            let before = cursor.position();
            // The buffer holds the stream from its offset `base` on.
            let base = before.offset - cursor.consumed() as u64;
            assert_eq!(
                base as usize + buf.len(),
                delivered,
                "the buffer lost bytes"
            );
            let consumed = cursor.consumed();
            match cursor.poll(&buf, eof) {
                // The readers keep the header apart; so does this driver.
                Ok(Step::Header(span)) => {
                    assert_eq!((before.offset, before.frame), (0, 0), "a header only first");
                    assert!(StreamHeader::is_header(span.payload(&buf)));
                    assert_eq!(
                        (span.end as u64, 1),
                        (first.offset, first.frame),
                        "a header the other readers do not see"
                    );
                }
                Ok(Step::Frame(span)) => {
                    assert_eq!(span.start, consumed);
                    assert_eq!(span.payload_start, span.start + header_len);
                    let payload = span.payload(&buf);
                    setup.check_payload(before, header_len, payload);
                    assert_eq!(span.frame(&buf).len(), header_len + payload.len());
                    out.push(Outcome::Frame {
                        at: before,
                        len: payload.len(),
                    });
                    assert_eq!(cursor.consumed(), span.end);
                    assert_eq!(
                        cursor.position(),
                        Position {
                            offset: base + span.end as u64,
                            frame: before.frame + 1,
                        }
                    );
                }
                Ok(Step::Need { needed, required }) => {
                    assert!(!eof, "Need at the end of input");
                    assert!(needed > 0, "Need for nothing");
                    assert!(required >= needed);
                    assert_eq!(cursor.position(), before, "Need consumed something");
                    if delivered == data.len() {
                        eof = true;
                        continue;
                    }
                    let c = chunks
                        .get(next_chunk % chunks.len().max(1))
                        .copied()
                        .unwrap_or(u16::MAX);
                    next_chunk = next_chunk.wrapping_add(1);
                    if c % 8 == 6 {
                        // Nothing arrived: asking again changes nothing.
                        let again = cursor.poll(&buf, false);
                        assert!(
                            matches!(again, Ok(Step::Need { needed: n, required: r }) if (n, r) == (needed, required)),
                            "polling again without new bytes gave {again:?}"
                        );
                        assert_eq!(cursor.position(), before);
                    }
                    if c % 8 != 5 {
                        let drop = cursor.discard();
                        assert_eq!(drop, consumed);
                        buf.drain(..drop);
                        assert_eq!(cursor.consumed(), 0);
                        assert_eq!(cursor.position(), before);
                    }
                    let n = (usize::from(c >> 3) + 1).min(data.len() - delivered);
                    buf.extend_from_slice(&data[delivered..delivered + n]);
                    delivered += n;
                }
                Ok(Step::End) => {
                    assert!(eof, "End before the end of input");
                    assert_eq!(before.offset, data.len() as u64, "a clean end early");
                    assert!(cursor.unread(&buf).is_empty());
                    out.push(Outcome::End { at: before });
                    break;
                }
                Err(error) => {
                    assert_eq!(error.position(), Some(before), "{error}");
                    let kind = Kind::of(&error);
                    out.push(Outcome::Error { at: before, kind });
                    let moved = cursor.position() != before;
                    setup.check_resumable(&error, moved);
                    if moved {
                        assert!(cursor.position().offset > before.offset);
                    } else {
                        // The same bytes, the same answer.
                        match cursor.poll(&buf, eof) {
                            Err(again) => assert_eq!(
                                (Kind::of(&again), again.position()),
                                (kind, Some(before)),
                                "polling again after {error} gave {again}"
                            ),
                            Ok(step) => panic!("{error}, then {step:?}"),
                        }
                        assert_eq!(cursor.position(), before);
                        break;
                    }
                    assert!(!kind.is_eof(), "a torn tail that moved the cursor");
                }
            }
        }
    });
    (out, peak)
}
