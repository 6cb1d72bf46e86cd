//! Fuzzing logic for FlatStream, shared by the one-line targets in
//! `fuzz_targets/`.
//!
//! - [`fuzz_deframe`]: arbitrary bytes through every deframer, both through a
//!   [`StreamReader`] over the slice and through [`decode`] directly.
//!   Nothing panics, the reader reserves memory only in proportion to the
//!   bytes that arrive, and the two paths agree frame for frame.
//! - [`fuzz_chunked_read`]: a valid stream built from structured input, with
//!   or without a torn tail, read through arbitrary chunk sizes with
//!   `Interrupted` and `WouldBlock` injected: no byte lost or repeated, a
//!   `WouldBlock` consumes nothing, and a torn tail is reported the same way
//!   whatever the chunking, then read on once the rest of the frame arrives.
//! - [`fuzz_roundtrip`]: payloads written with every framer by
//!   [`StreamWriter::write_payload`] read back exactly, through a source that
//!   hands out arbitrary chunks, `Interrupted` and `WouldBlock` errors.
//! - [`fuzz_recover`]: arbitrary bytes through every recovery path with
//!   every deframer: all paths agree, and the result obeys the rules of
//!   recovery, checked against a plain [`StreamReader`] with
//!   `AfterDamage::Stop`, a chain scan built from [`decode`], and a
//!   `SliceReader` with `AfterDamage::Resync` for the salvage report.
//! - [`fuzz_cursor`]: arbitrary bytes, chunking and `AfterDamage` policy
//!   through `SliceReader`, `StreamReader` and a hand-written
//!   `FrameCursor` driver: the same outcomes, bounded memory, and
//!   `Error::is_resumable` agreeing with what the next read does.
//! - [`fuzz_salvage`]: a checksummed stream damaged in one region and read
//!   with `AfterDamage::Resync`: no payload invented or reordered, and every
//!   frame outside the damage returned.
//! - [`fuzz_reflect`]: arbitrary bytes verified and printed as JSON by
//!   `flatstream-reflect`: no panic, bounded output and memory.
//!
//! This logic could move into the library behind `#[cfg(fuzzing)] pub mod
//! fuzzing`, beside the code it checks; until that module exists it lives here,
//! and uses only the public API.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::alloc::System;
use std::io::{self, Read};

mod chunked_read;
mod codec;
mod cursor;
mod recover;
mod reflect;
mod salvage;

pub use chunked_read::{ChunkedReadInput, fuzz_chunked_read};
pub use codec::fuzz_codec;
pub use cursor::{CursorInput, MAX_CURSOR_CHUNKS, fuzz_cursor};
pub use recover::fuzz_recover;
pub use reflect::fuzz_reflect;
pub use salvage::{Edit, PayloadSpec, SalvageInput, fuzz_salvage};

use arbitrary::Arbitrary;
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc16, Crc32, Decoded, DefaultDeframer, DefaultFramer,
    Deframer, ErrorKind, Framer, StreamHeader, StreamReader, StreamWriter, XxHash64, decode, wire,
};

/// Frame limits the deframe target uses: a realistic one, and one small enough
/// for fuzz inputs to cross it with frames that are otherwise complete.
const DEFRAME_LIMITS: [usize; 2] = [1 << 20, 64];

/// The reader's read size (`READ_CHUNK` in `flatstream-core`'s reader).
const READ_CHUNK: usize = 64 * 1024;

/// Largest stream the roundtrip target builds, to keep executions fast.
const MAX_ROUNDTRIP_BYTES: usize = 1 << 20;

/// Most payloads per roundtrip input.
const MAX_PAYLOADS: usize = 64;

// ---------------------------------------------------------------------------
// Allocation accounting.

/// Counts the bytes live in the heap, to bound what a reader reserves.
struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` unchanged and only updates counters.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the most heap bytes that were live at
/// once during the call, beyond those live before it.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = f();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (result, peak)
}

/// The most heap a reader may hold, beyond what was live before it, after
/// reading `len` input bytes: a hostile length costs only what its bytes
/// deliver. Growth is geometric from one read chunk and capped by the frame's
/// needs; `Vec`'s amortised growth may double that once more.
fn reader_heap_bound(len: usize) -> usize {
    2 * READ_CHUNK + 4 * len + 4096
}

// ---------------------------------------------------------------------------
// deframe

/// One observable step of deframing a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A payload of `len` bytes in the frame starting at `offset`.
    Frame { offset: usize, len: usize },
    /// The frame starting at `offset`, `frame_len` bytes long, failed its checksum.
    Mismatch { offset: usize, frame_len: usize },
}

/// How deframing a whole input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At a frame boundary, the input exhausted.
    Clean,
    /// In a frame starting at `offset`, with `available` of `required` bytes.
    TornTail {
        offset: usize,
        available: usize,
        required: usize,
    },
    /// At a frame starting at `offset` that declares `declared` bytes.
    TooLarge { offset: usize, declared: u64 },
}

/// Everything deframing an input produced, in order.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    events: Vec<Event>,
    end: End,
}

impl Trace {
    /// A trace with room for every frame `data` can hold, so that recording
    /// events never allocates while the reader's memory is measured.
    fn for_input(data: &[u8], header_len: usize) -> Self {
        Trace {
            events: Vec::with_capacity(data.len() / header_len + 1),
            end: End::Clean,
        }
    }

    fn push(&mut self, event: Event) {
        assert!(
            self.events.len() < self.events.capacity(),
            "more frames than the input has room for: {event:?}"
        );
        self.events.push(event);
    }
}

/// Feeds `data` to every deframer, with each limit in [`DEFRAME_LIMITS`].
///
/// # Panics
///
/// When an invariant fails (see the module documentation).
pub fn fuzz_deframe(data: &[u8]) {
    for limit in DEFRAME_LIMITS {
        deframe_with(data, DefaultDeframer, limit);
        deframe_with(data, ChecksumDeframer::new(XxHash64::new()), limit);
        deframe_with(data, ChecksumDeframer::new(Crc32::new()), limit);
        deframe_with(data, ChecksumDeframer::new(Crc16::new()), limit);
    }
}

fn deframe_with<D: Deframer + Clone + core::fmt::Debug>(data: &[u8], deframer: D, limit: usize) {
    let by_decode = decode_all(data, deframer.clone(), limit);
    let by_reader = read_all(data, deframer, limit);
    assert_eq!(
        by_reader, by_decode,
        "StreamReader and Deframer::decode disagree (limit {limit})"
    );
    let returned: usize = by_decode
        .events
        .iter()
        .map(|e| match e {
            Event::Frame { len, .. } => *len,
            Event::Mismatch { .. } => 0,
        })
        .sum();
    assert!(
        returned <= data.len(),
        "{returned} payload bytes from {} input bytes",
        data.len()
    );
}

/// Deframes `data` with the sans-IO state machine alone.
fn decode_all<D: Deframer>(data: &[u8], mut deframer: D, limit: usize) -> Trace {
    let header_len = deframer.header_len();
    assert!((wire::LENGTH_PREFIX_LEN..=wire::MAX_HEADER_LEN).contains(&header_len));
    let mut trace = Trace::for_input(data, header_len);
    let mut offset = 0;
    loop {
        let rest = &data[offset..];
        match decode(&mut deframer, rest, limit) {
            Ok(Decoded::Frame {
                payload_start,
                frame_len,
            }) => {
                assert_eq!(payload_start, header_len);
                assert!(frame_len >= payload_start && frame_len <= rest.len());
                let len = frame_len - payload_start;
                assert!(
                    len <= limit,
                    "payload of {len} bytes over the limit {limit}"
                );
                assert_eq!(len as u64, u64::from(wire::read_length_prefix(rest)));
                trace.push(Event::Frame { offset, len });
                offset += frame_len;
            }
            Ok(Decoded::Incomplete { needed, required }) => {
                assert!(needed > 0, "Incomplete must ask for at least one byte");
                assert_eq!(required, rest.len() + needed);
                if rest.len() < header_len {
                    assert_eq!(required, header_len);
                }
                trace.end = if rest.is_empty() {
                    End::Clean
                } else {
                    End::TornTail {
                        offset,
                        available: rest.len(),
                        required,
                    }
                };
                return trace;
            }
            Err(ErrorKind::ChecksumMismatch {
                expected, computed, ..
            }) => {
                assert_ne!(expected, computed);
                // Verification only runs on a complete frame.
                let declared = wire::read_length_prefix(rest) as usize;
                let frame_len = header_len + declared;
                assert!(declared <= limit && frame_len <= rest.len());
                trace.push(Event::Mismatch { offset, frame_len });
                offset += frame_len;
            }
            Err(ErrorKind::FrameTooLarge {
                declared,
                limit: reported,
            }) => {
                assert_eq!(reported, limit as u64);
                assert!(declared > reported);
                assert_eq!(declared, u64::from(wire::read_length_prefix(rest)));
                trace.end = End::TooLarge { offset, declared };
                return trace;
            }
            Err(other) => panic!("unexpected error from decode at {offset}: {other:?}"),
        }
    }
}

/// Deframes `data` through a `StreamReader` over the slice, checking each
/// payload against the input bytes and the reader's memory use.
fn read_all<D: Deframer>(data: &[u8], deframer: D, limit: usize) -> Trace {
    let header_len = deframer.header_len();
    let mut trace = Trace::for_input(data, header_len);
    let ((), peak) = peak_heap(|| {
        let mut reader = StreamReader::new(data, deframer).with_max_frame_len(limit);
        // The reader keeps a self-describing header (a first frame whose
        // payload is a `StreamHeader`) apart from the payloads; on the wire,
        // and for `decode`, it is frame 0.
        match reader.header().map(|header| header.is_some()) {
            Ok(true) => {
                let end = usize::try_from(reader.offset()).expect("offset fits usize");
                assert!(StreamHeader::is_header(&data[header_len..end]));
                trace.push(Event::Frame {
                    offset: 0,
                    len: end - header_len,
                });
            }
            Ok(false) => assert_eq!(reader.offset(), 0, "header() consumed a payload"),
            Err(err) => {
                assert!(
                    matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
                    "a header that looks whole fails only its checksum: {err}"
                );
                let next = usize::try_from(reader.offset()).expect("offset fits usize");
                trace.push(Event::Mismatch {
                    offset: 0,
                    frame_len: next,
                });
            }
        }
        loop {
            let offset = usize::try_from(reader.offset()).expect("offset fits usize");
            assert!(offset <= data.len());
            match reader.read_message() {
                Ok(Some(payload)) => {
                    let len = payload.len();
                    assert!(
                        len <= limit,
                        "payload of {len} bytes over the limit {limit}"
                    );
                    let start = offset + header_len;
                    assert_eq!(
                        payload,
                        &data[start..start + len],
                        "payload differs from the input bytes of its frame at {offset}"
                    );
                    assert_eq!(reader.offset(), (start + len) as u64);
                    trace.push(Event::Frame { offset, len });
                }
                Ok(None) => {
                    assert_eq!(
                        reader.offset(),
                        data.len() as u64,
                        "clean end before the end"
                    );
                    assert!(reader.buffered().is_empty());
                    trace.end = End::Clean;
                    break;
                }
                Err(err) => {
                    let position = err.position().expect("reader errors carry a position");
                    assert_eq!(position.offset, offset as u64);
                    match *err.kind() {
                        ErrorKind::ChecksumMismatch { .. } => {
                            // The bad frame was consumed: go on with the next one.
                            let next = usize::try_from(reader.offset()).expect("fits usize");
                            assert!(next > offset, "no progress past a checksum mismatch");
                            trace.push(Event::Mismatch {
                                offset,
                                frame_len: next - offset,
                            });
                        }
                        ErrorKind::FrameTooLarge { declared, .. } => {
                            assert_eq!(
                                reader.offset(),
                                offset as u64,
                                "a bad length is never skipped"
                            );
                            trace.end = End::TooLarge { offset, declared };
                            break;
                        }
                        ErrorKind::UnexpectedEof {
                            available,
                            required,
                        } => {
                            assert!(err.is_unexpected_eof());
                            assert!(available < required);
                            trace.end = End::TornTail {
                                offset,
                                available: usize::try_from(available).expect("fits usize"),
                                required: usize::try_from(required).expect("fits usize"),
                            };
                            break;
                        }
                        _ => panic!("unexpected error from the reader at {offset}: {err}"),
                    }
                }
            }
        }
    });
    let bound = reader_heap_bound(data.len());
    assert!(
        peak <= bound,
        "reader held {peak} heap bytes for {} input bytes (bound {bound}, limit {limit})",
        data.len()
    );
    trace
}

// ---------------------------------------------------------------------------
// roundtrip

/// One payload of a roundtrip input: `bytes` repeated `repeat + 1` times, so
/// that small inputs also reach frames larger than the reader's read chunk.
#[derive(Debug, Arbitrary)]
pub struct Payload {
    bytes: Vec<u8>,
    repeat: u8,
}

/// The structured input of the roundtrip target.
#[derive(Debug, Arbitrary)]
pub struct RoundtripInput {
    payloads: Vec<Payload>,
    /// Read sizes for the source, used in turn; see [`ChunkedSource`].
    chunks: Vec<u16>,
}

impl RoundtripInput {
    /// The payloads, capped at [`MAX_PAYLOADS`] and [`MAX_ROUNDTRIP_BYTES`] in all.
    #[must_use]
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        expand_payloads(&self.payloads)
    }
}

/// Expands `payloads`, capped at [`MAX_PAYLOADS`] and [`MAX_ROUNDTRIP_BYTES`] in all.
fn expand_payloads(payloads: &[Payload]) -> Vec<Vec<u8>> {
    let mut total = 0usize;
    let mut out = Vec::new();
    for p in payloads.iter().take(MAX_PAYLOADS) {
        let len = p.bytes.len() * (usize::from(p.repeat) + 1);
        if total + len > MAX_ROUNDTRIP_BYTES {
            break;
        }
        total += len;
        out.push(not_a_header(p.bytes.repeat(usize::from(p.repeat) + 1)));
    }
    out
}

/// `payload`, changed in its identifier if it happens to be a
/// self-describing header (which readers keep apart when it comes first):
/// the targets that write payloads and read them back check framing, not
/// headers (the facade's `header` tests and the `deframe` target do).
pub(crate) fn not_a_header(mut payload: Vec<u8>) -> Vec<u8> {
    if StreamHeader::is_header(&payload) {
        payload[4] ^= 0x20;
    }
    payload
}

/// A source that hands out `data[..end]` in the chunk sizes the fuzzer chose.
///
/// Chunk value `c` reads up to `(c >> 3) + 1` bytes, except that `c % 8 == 7`
/// first fails with `Interrupted` and `c % 8 == 6` first fails with
/// `WouldBlock` (the read after an error always succeeds). No chunks: whole
/// reads. Raising `end` makes more of `data` arrive, as in a file that is
/// still being written.
struct ChunkedSource<'a> {
    data: &'a [u8],
    /// Bytes of `data` handed out so far.
    pos: usize,
    /// Bytes of `data` that have arrived: reads end there.
    end: usize,
    chunks: &'a [u16],
    next: usize,
    just_failed: bool,
}

impl<'a> ChunkedSource<'a> {
    /// All of `data`, read in `chunks`.
    fn new(data: &'a [u8], chunks: &'a [u16]) -> Self {
        ChunkedSource {
            data,
            pos: 0,
            end: data.len(),
            chunks,
            next: 0,
            just_failed: false,
        }
    }

    /// Hands out up to `max` bytes.
    fn take(&mut self, buf: &mut [u8], max: usize) -> usize {
        let n = buf.len().min(self.end - self.pos).min(max);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }
}

impl Read for ChunkedSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(&c) = self.chunks.get(self.next % self.chunks.len().max(1)) else {
            return Ok(self.take(buf, usize::MAX));
        };
        self.next = self.next.wrapping_add(1);
        if !self.just_failed && self.pos < self.end {
            match c % 8 {
                7 => {
                    self.just_failed = true;
                    return Err(io::ErrorKind::Interrupted.into());
                }
                6 => {
                    self.just_failed = true;
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                _ => {}
            }
        }
        self.just_failed = false;
        Ok(self.take(buf, usize::from(c >> 3) + 1))
    }
}

/// Writes the input's payloads with every framer and reads them back.
///
/// # Panics
///
/// When a payload does not come back exactly, or the stream does not end
/// cleanly.
pub fn fuzz_roundtrip(input: &RoundtripInput) {
    let payloads = input.payloads();
    roundtrip_with(&payloads, &input.chunks, DefaultFramer, DefaultDeframer);
    roundtrip_with(
        &payloads,
        &input.chunks,
        ChecksumFramer::new(XxHash64::new()),
        ChecksumDeframer::new(XxHash64::new()),
    );
    roundtrip_with(
        &payloads,
        &input.chunks,
        ChecksumFramer::new(Crc32::new()),
        ChecksumDeframer::new(Crc32::new()),
    );
    roundtrip_with(
        &payloads,
        &input.chunks,
        ChecksumFramer::new(Crc16::new()),
        ChecksumDeframer::new(Crc16::new()),
    );
}

fn roundtrip_with<F: Framer + Clone, D: Deframer>(
    payloads: &[Vec<u8>],
    chunks: &[u16],
    framer: F,
    deframer: D,
) {
    let header_len = framer.header_len();
    assert_eq!(
        header_len,
        deframer.header_len(),
        "framer and deframer disagree"
    );
    let largest = payloads.iter().map(Vec::len).max().unwrap_or(0);

    // Write, and check the sans-IO path produces the same bytes.
    let mut writer = StreamWriter::new(Vec::new(), framer.clone())
        .with_max_frame_len(largest)
        .allow_empty_payloads(true);
    let mut expected = Vec::new();
    let mut sans_io = framer;
    for p in payloads {
        writer
            .write_payload(p)
            .expect("writing to a Vec cannot fail");
        sans_io
            .encode_into(p, &mut expected)
            .expect("encoding a payload within the limit cannot fail");
    }
    assert_eq!(writer.frames_written(), payloads.len() as u64);
    assert_eq!(writer.bytes_written(), expected.len() as u64);
    let stream = writer.into_inner();
    assert_eq!(
        stream, expected,
        "StreamWriter and Framer::encode_into disagree"
    );
    let framed: usize = payloads.iter().map(|p| header_len + p.len()).sum();
    assert_eq!(stream.len(), framed);

    // Read back through arbitrary chunks, resuming after each WouldBlock.
    let source = ChunkedSource::new(&stream, chunks);
    let mut reader = StreamReader::new(source, deframer).with_max_frame_len(largest);
    let mut got = 0usize;
    let mut would_blocks = 0usize;
    loop {
        match reader.read_message() {
            Ok(Some(payload)) => {
                assert!(got < payloads.len(), "more payloads than were written");
                assert_eq!(payload, payloads[got].as_slice(), "payload {got} differs");
                got += 1;
            }
            Ok(None) => break,
            Err(err) => match err.kind() {
                ErrorKind::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    would_blocks += 1;
                    assert!(
                        would_blocks <= stream.len() + 1,
                        "WouldBlock without progress"
                    );
                }
                _ => panic!(
                    "reading back payload {got} of {} failed: {err}",
                    payloads.len()
                ),
            },
        }
    }
    assert_eq!(
        got,
        payloads.len(),
        "clean end before every payload came back"
    );
    assert_eq!(reader.frames_read(), payloads.len() as u64);
    assert_eq!(reader.offset(), stream.len() as u64);
    assert!(reader.buffered().is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut seeds: Vec<_> = std::fs::read_dir(dir)
            .expect("the seed corpus exists")
            .map(|e| std::fs::read(e.expect("readable entry").path()).expect("readable seed"))
            .collect();
        seeds.sort();
        seeds
    }

    /// One test, not several: the allocation counters are process-wide and
    /// tests run on parallel threads.
    #[test]
    fn seeds_and_known_cases_pass() {
        let deframe = seeds("deframe");
        assert!(!deframe.is_empty());
        for seed in &deframe {
            fuzz_deframe(seed);
        }
        let roundtrip = seeds("roundtrip");
        assert!(!roundtrip.is_empty());
        for seed in &roundtrip {
            let input = RoundtripInput::arbitrary_take_rest(arbitrary::Unstructured::new(seed))
                .expect("any bytes are an input");
            fuzz_roundtrip(&input);
        }

        let chunked_read = seeds("chunked_read");
        assert!(!chunked_read.is_empty());
        for seed in &chunked_read {
            let input = ChunkedReadInput::arbitrary_take_rest(arbitrary::Unstructured::new(seed))
                .expect("any bytes are an input");
            fuzz_chunked_read(&input);
        }
        let recover = seeds("recover");
        assert!(!recover.is_empty());
        for seed in &recover {
            fuzz_recover(seed);
        }
        let cursor = seeds("cursor");
        assert!(!cursor.is_empty());
        for seed in &cursor {
            let input = CursorInput::arbitrary_take_rest(arbitrary::Unstructured::new(seed))
                .expect("any bytes are an input");
            fuzz_cursor(&input);
        }
        for seed in &cursor {
            let input = CursorInput::arbitrary_take_rest(arbitrary::Unstructured::new(seed))
                .expect("any bytes are an input");
            fuzz_codec(&input);
        }
        let salvage = seeds("salvage");
        assert!(!salvage.is_empty());
        for seed in &salvage {
            let input = SalvageInput::arbitrary_take_rest(arbitrary::Unstructured::new(seed))
                .expect("any bytes are an input");
            fuzz_salvage(&input);
        }
        let reflect = seeds("reflect");
        assert!(!reflect.is_empty());
        for seed in &reflect {
            fuzz_reflect(seed);
        }

        // The recover seeds reach every kind of tail.
        let recovery_of = |name: &str, options: flatstream::RecoverOptions| {
            let data = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("corpus/recover")
                    .join(name),
            )
            .expect("readable seed");
            let deframer = ChecksumDeframer::new(Crc32::new());
            flatstream::recover_slice(&data, deframer, options)
        };
        let tail_of = |name: &str| recovery_of(name, flatstream::RecoverOptions::new()).tail;
        assert!(matches!(tail_of("crc32-valid"), flatstream::Tail::Clean));
        assert!(matches!(
            tail_of("crc32-torn-tail"),
            flatstream::Tail::Torn { .. }
        ));
        // A whole frame whose length lost a bit, then a torn frame.
        let damaged = recovery_of(
            "crc32-damaged-length-then-torn",
            flatstream::RecoverOptions::new(),
        );
        assert!(matches!(damaged.tail, flatstream::Tail::Corrupt(_)));
        assert_eq!((damaged.frames, damaged.good_after), (4, None));
        assert!(matches!(
            tail_of("crc32-zero-block"),
            flatstream::Tail::ZeroFilled { .. }
        ));
        assert!(matches!(
            tail_of("crc32-zeros-then-frames"),
            flatstream::Tail::Clean
        ));
        assert!(matches!(
            tail_of("crc32-corrupt-payload"),
            flatstream::Tail::Corrupt(_)
        ));
        assert!(matches!(
            tail_of("crc32-empty-frames"),
            flatstream::Tail::ZeroFilled { .. }
        ));
        assert!(matches!(
            recovery_of(
                "crc32-empty-frames",
                flatstream::RecoverOptions::new().with_empty_payloads(true)
            )
            .tail,
            flatstream::Tail::EmptyOrZeroFilled { .. }
        ));
        for damaged in [
            "crc32-corrupt-payload",
            "crc32-bad-length-then-frames",
            "crc32-garbage-then-frames",
        ] {
            let recovery = recovery_of(damaged, flatstream::RecoverOptions::new());
            assert!(
                matches!(recovery.tail, flatstream::Tail::Corrupt(_))
                    && recovery.good_after.is_some()
                    && recovery.salvage.is_some_and(|s| s.frames > 0),
                "{damaged}: good frames after the damage"
            );
        }

        // A hostile length within the limit costs no more than a read chunk.
        let hostile = [0xFF, 0xFF, 0x0F, 0x00, 1, 2, 3];
        let ((), peak) = peak_heap(|| {
            let mut reader = StreamReader::new(&hostile[..], DefaultDeframer);
            let err = reader.read_message().expect_err("a torn frame");
            assert!(err.is_unexpected_eof());
        });
        assert!(peak > 0 && peak <= READ_CHUNK + 1024, "peak {peak}");
        fuzz_deframe(&hostile);
        fuzz_recover(&hostile);
        fuzz_recover(&[0xFF, 0xFF, 0xFF, 0x7F]);
        fuzz_recover(&[0; 3]);
        fuzz_recover(&[]);
    }
}
