//! The frame cursor and the readers built around it, for every framer pair
//! of this build:
//!
//! - Adapters decode exactly as the deframer they wrap: on randomly damaged
//!   streams, `D`, `D.bounded(usize::MAX)`, `D.observed(..)`,
//!   `D.validated(NoValidator)`, `Box<dyn Deframer>` and `&mut D` give the
//!   same outcomes, under every `AfterDamage`, through `StreamReader` (over a
//!   source that hands out small chunks) and through `SliceReader`.
//! - The readers agree: `StreamReader`, a hand-written driver of
//!   `FrameCursor::poll` and `SliceReader` give the same outcomes on the same
//!   damaged streams, but for the one documented difference: where an error
//!   leaves the reader where it was (a bad length, a torn tail, any damage
//!   under `AfterDamage::Stop`), `StreamReader` reports it again on every
//!   call while the slice iterator reports it once and ends.
//! - `StreamReader::process_all` (its own loop over the cursor, called again
//!   after each error) hands out the payloads and errors of `read_message`
//!   and ends at the same position; when its closure fails, the frame it
//!   was given stays consumed and the next call goes on after it.
//! - A `WouldBlock` at every byte offset of a 20-frame stream is returned,
//!   resumable, and reading again resumes: no byte lost or repeated. An
//!   `Interrupted` there is retried and never seen.
//! - A deframer whose header cannot hold the length prefix (or is longer
//!   than any header of the format) is `ErrorKind::InvalidHeaderLen` from
//!   every reader, the cursor, `decode` and recovery, on any input: never a
//!   panic, and recovery never calls such input a tail to truncate.
//! - A recovery that a `WouldBlock` suspended resumes to the result of an
//!   uninterrupted one; frames read with `read_message` in between start a
//!   new scan from where the reader then is (a frame it returned is never
//!   reported as zero fill), and the reader's own damage policy and frame
//!   limit apply to those reads.
//! - Salvage (`AfterDamage::Resync`) on a CRC-32 stream with a corrupted
//!   payload and a corrupted length reads the same through `StreamReader`,
//!   `SliceReader` and `MmapStream::frames`, and recovery's salvage report
//!   says the same.
//! - `SliceReader::typed` (and over a memory map) yields the roots that
//!   `StreamReader::process_typed` does, borrowed from the slice.
//! - A salvage read meeting a torn frame again with nothing new does not
//!   search its bytes again; with more bytes it does.

use std::io;

use flatstream::{
    AfterDamage, Deframer, DeframerExt, Error, ErrorKind, FrameCursor, Framer, NoValidator,
    Position, RecoverOptions, Recovery, SliceReader, Step, StreamHeader, StreamReader,
    StreamWriter, Tail, decode, recover, recover_file_for_append, recover_slice, recover_with,
    wire,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::framers;
use crate::support::sources::{FailsAtOffset, FailsOnce, Script, Scripted};
use crate::support::streams::{TempPath, Written, empty_frame_is_all_zero, write_stream};
use crate::telemetry::{Reading, Telemetry, write_reading};

/// Every damage policy.
const MODES: [AfterDamage; 3] = [AfterDamage::Skip, AfterDamage::Resync, AfterDamage::Stop];

// ---------------------------------------------------------------------------
// Outcomes, and the three ways of reading them
// ---------------------------------------------------------------------------

/// One outcome of a read: a payload at its frame's position, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Frame(Position, Vec<u8>),
    /// The error's kind (as `Debug`: `ErrorKind` has no `PartialEq`) and
    /// position.
    Error(String, Option<Position>),
}

fn error_event(err: &Error) -> Event {
    Event::Error(format!("{:?}", err.kind()), err.position())
}

/// The most outcomes read from a stream of `frames` frames: a reader that
/// repeats an error is cut off there.
fn step_limit(frames: usize) -> usize {
    2 * frames + 4
}

/// Reads `bytes` through a `StreamReader` over a source that hands out at
/// most `chunk` bytes per call, until a clean end or `limit` outcomes.
fn stream_events<De: Deframer>(
    bytes: &[u8],
    deframer: De,
    mode: AfterDamage,
    chunk: usize,
    limit: usize,
) -> Vec<Event> {
    let source = FailsOnce::new(bytes, chunk, None, io::ErrorKind::Other);
    let mut reader = StreamReader::new(source, deframer).with_after_damage(mode);
    let mut events = Vec::new();
    while events.len() < limit {
        let before = reader.position();
        match reader.read_message() {
            Ok(Some(payload)) => events.push(Event::Frame(before, payload.to_vec())),
            Ok(None) => break,
            Err(err) => events.push(error_event(&err)),
        }
    }
    events
}

/// Reads `bytes` through `SliceReader::positioned`, until `None` or `limit`
/// outcomes; checks that `None` stays `None`.
fn slice_events<De: Deframer>(
    bytes: &[u8],
    deframer: De,
    mode: AfterDamage,
    limit: usize,
) -> Vec<Event> {
    let mut frames = SliceReader::new(bytes, deframer)
        .with_after_damage(mode)
        .positioned();
    let mut events = Vec::new();
    while events.len() < limit {
        match frames.next() {
            Some(Ok((position, payload))) => events.push(Event::Frame(position, payload.to_vec())),
            Some(Err(err)) => events.push(error_event(&err)),
            None => {
                assert!(frames.next().is_none(), "fused: None stays None");
                break;
            }
        }
    }
    events
}

/// Where `process_all_events` puts every frame: `process_all` hands out
/// payloads, not positions.
const UNPOSITIONED: Position = Position {
    offset: u64::MAX,
    frame: u64::MAX,
};

/// `events` with every frame's position replaced by [`UNPOSITIONED`].
fn unpositioned(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .map(|event| match event {
            Event::Frame(_, payload) => Event::Frame(UNPOSITIONED, payload.clone()),
            error => error.clone(),
        })
        .collect()
}

/// Reads `bytes` through `StreamReader::process_all` over a source that hands
/// out at most `chunk` bytes per call, calling it again after each error,
/// until a clean end or `limit` outcomes; also returns where the reader
/// ends.
fn process_all_events<De: Deframer>(
    bytes: &[u8],
    deframer: De,
    mode: AfterDamage,
    chunk: usize,
    limit: usize,
) -> (Vec<Event>, Position) {
    let source = FailsOnce::new(bytes, chunk, None, io::ErrorKind::Other);
    let mut reader = StreamReader::new(source, deframer).with_after_damage(mode);
    let mut events = Vec::new();
    while events.len() < limit {
        let result = reader.process_all(|payload| {
            events.push(Event::Frame(UNPOSITIONED, payload.to_vec()));
            if events.len() < limit {
                Ok(())
            } else {
                Err(Error::custom("enough outcomes"))
            }
        });
        match result {
            Ok(()) => break,
            Err(err) if events.len() < limit => events.push(error_event(&err)),
            Err(_) => break,
        }
    }
    (events, reader.position())
}

/// A driver of `FrameCursor::poll` written from its documentation: a buffer
/// grown `chunk` bytes at a time, consumed bytes dropped with `discard()`
/// before each refill, `eof` once the whole input is in the buffer. Reads
/// until a clean end or `limit` outcomes.
fn cursor_events<De: Deframer>(
    bytes: &[u8],
    deframer: De,
    mode: AfterDamage,
    chunk: usize,
    limit: usize,
) -> Vec<Event> {
    let mut cursor = FrameCursor::new(deframer).with_after_damage(mode);
    let mut buf: Vec<u8> = Vec::new();
    let mut rest = bytes;
    let mut events = Vec::new();
    // Bounds the refills too, so that a cursor asking for bytes forever
    // fails the test instead of hanging it.
    let mut polls = 0usize;
    while events.len() < limit {
        polls += 1;
        assert!(
            polls < 4 * (bytes.len() + limit) + 16,
            "the cursor makes no progress"
        );
        let before = cursor.position();
        let consumed = cursor.consumed();
        match cursor.poll(&buf, rest.is_empty()) {
            // The readers keep the header apart; so does this driver.
            Ok(Step::Header(span)) => {
                assert_eq!(before.offset, 0, "a header only at the start");
                assert!(StreamHeader::is_header(span.payload(&buf)));
            }
            Ok(Step::Frame(span)) => {
                assert_eq!(
                    span.start, consumed,
                    "the frame starts where the cursor was"
                );
                events.push(Event::Frame(before, span.payload(&buf).to_vec()));
            }
            Ok(Step::Need { needed, required }) => {
                assert!(!rest.is_empty(), "Need at the end of input");
                assert!(needed > 0 && required > 0, "Need {needed} of {required}");
                let consumed = cursor.discard();
                buf.drain(..consumed);
                let n = chunk.min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
            Ok(Step::End) => {
                assert!(rest.is_empty(), "End before the end of input");
                break;
            }
            Err(err) => events.push(error_event(&err)),
        }
    }
    events
}

// ---------------------------------------------------------------------------
// Damaged streams
// ---------------------------------------------------------------------------

/// A length written over a frame's length prefix.
#[derive(Debug, Clone)]
enum Length {
    /// Any value.
    Any(u32),
    /// The real length, plus this.
    Delta(i32),
}

/// One way to damage a written stream.
#[derive(Debug, Clone)]
enum Damage {
    /// Flip one bit of one byte.
    Flip(Index, u8),
    /// Cut the stream there.
    Cut(Index),
    /// Overwrite one frame's length prefix.
    Length(Index, Length),
}

fn damages() -> impl Strategy<Value = Vec<Damage>> {
    let damage = prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip(at, bit)),
        2 => any::<Index>().prop_map(Damage::Cut),
        2 => (any::<Index>(), any::<u32>()).prop_map(|(i, v)| Damage::Length(i, Length::Any(v))),
        2 => (any::<Index>(), -6i32..=6).prop_map(|(i, d)| Damage::Length(i, Length::Delta(d))),
    ];
    proptest::collection::vec(damage, 0..=3)
}

fn payload_lists() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let payload = prop_oneof![
        1 => Just(Vec::new()),
        1 => proptest::collection::vec(Just(0u8), 1..=12),
        6 => proptest::collection::vec(any::<u8>(), 1..=40),
    ];
    proptest::collection::vec(payload, 1..=8)
}

/// `w`'s bytes with `damages` applied: bits flipped and lengths overwritten
/// first, then the shortest cut.
fn damaged(w: &Written, damages: &[Damage]) -> Vec<u8> {
    let mut bytes = w.bytes.clone();
    let mut cut = bytes.len();
    for damage in damages {
        match damage {
            Damage::Flip(at, bit) => {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] ^= 1 << bit;
                }
            }
            Damage::Cut(at) => cut = cut.min(at.index(w.bytes.len() + 1)),
            Damage::Length(frame, length) => {
                let i = frame.index(w.payloads.len());
                let real = u32::try_from(w.payloads[i].len()).expect("small");
                let value = match length {
                    Length::Any(value) => *value,
                    Length::Delta(delta) => real.wrapping_add_signed(*delta),
                };
                let start = w.starts[i];
                bytes[start..start + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
    }
    bytes.truncate(cut);
    bytes
}

fn is_checksummed<F: Framer + Default>() -> bool {
    F::default().header_len() > wire::LENGTH_PREFIX_LEN
}

// ---------------------------------------------------------------------------
// 1. Adapters read exactly as the deframer they wrap
// ---------------------------------------------------------------------------

fn adapters_read_as_the_deframer<F: Framer + Default, D: Deframer + Default + 'static>(
    payloads: &[Vec<u8>],
    damage: &[Damage],
    chunk: usize,
) {
    let w = write_stream::<F>(payloads);
    let bytes = damaged(&w, damage);
    let limit = step_limit(payloads.len());
    for mode in MODES {
        let stream = stream_events(&bytes, D::default(), mode, chunk, limit);
        let slice = slice_events(&bytes, D::default(), mode, limit);
        let check = |name: &str, got_stream: Vec<Event>, got_slice: Vec<Event>| {
            assert_eq!(got_stream, stream, "{name}, {mode:?}, StreamReader");
            assert_eq!(got_slice, slice, "{name}, {mode:?}, SliceReader");
        };
        check(
            "bounded(usize::MAX)",
            stream_events(&bytes, D::default().bounded(usize::MAX), mode, chunk, limit),
            slice_events(&bytes, D::default().bounded(usize::MAX), mode, limit),
        );
        check(
            "observed(|_| {})",
            stream_events(&bytes, D::default().observed(|_| {}), mode, chunk, limit),
            slice_events(&bytes, D::default().observed(|_| {}), mode, limit),
        );
        check(
            "validated(NoValidator)",
            stream_events(
                &bytes,
                D::default().validated(NoValidator),
                mode,
                chunk,
                limit,
            ),
            slice_events(&bytes, D::default().validated(NoValidator), mode, limit),
        );
        let boxed = || -> Box<dyn Deframer> { Box::new(D::default()) };
        check(
            "Box<dyn Deframer>",
            stream_events(&bytes, boxed(), mode, chunk, limit),
            slice_events(&bytes, boxed(), mode, limit),
        );
        let (mut a, mut b) = (D::default(), D::default());
        check(
            "&mut D",
            stream_events(&bytes, &mut a, mode, chunk, limit),
            slice_events(&bytes, &mut b, mode, limit),
        );
    }
}

// ---------------------------------------------------------------------------
// 2. StreamReader, a cursor driver and SliceReader agree
// ---------------------------------------------------------------------------

/// Checks that the three readers agree on `bytes`; returns `StreamReader`'s
/// outcomes.
fn readers_agree<D: Deframer + Default>(
    bytes: &[u8],
    mode: AfterDamage,
    chunk: usize,
    limit: usize,
) -> Vec<Event> {
    let stream = stream_events(bytes, D::default(), mode, chunk, limit);
    let driver = cursor_events(bytes, D::default(), mode, chunk, limit);
    assert_eq!(
        driver, stream,
        "{mode:?}: the cursor driver vs StreamReader"
    );
    // Whole input at once: the driver's chunking plays no part.
    let whole = cursor_events(bytes, D::default(), mode, usize::MAX, limit);
    assert_eq!(
        whole, stream,
        "{mode:?}: the cursor over all bytes vs StreamReader"
    );

    let (all, end) = process_all_events(bytes, D::default(), mode, chunk, limit);
    assert_eq!(
        all,
        unpositioned(&stream),
        "{mode:?}: process_all vs read_message"
    );
    if stream.len() < limit {
        let mut reader = StreamReader::new(bytes, D::default()).with_after_damage(mode);
        while !matches!(reader.read_message(), Ok(None)) {}
        assert_eq!(end, reader.position(), "{mode:?}: where process_all ends");
    }

    let slice = slice_events(bytes, D::default(), mode, limit);
    // The documented difference: an error that leaves the reader where it
    // was is reported again by every `read_message`, but only once by the
    // slice iterator, which then ends.
    let repeated = stream
        .windows(2)
        .position(|pair| matches!(pair[0], Event::Error(..)) && pair[0] == pair[1]);
    match repeated {
        Some(i) => {
            assert!(
                stream[i..].iter().all(|event| *event == stream[i]),
                "{mode:?}: StreamReader repeats the error at {i} and only it: {stream:?}"
            );
            let Event::Error(kind, _) = &stream[i] else {
                unreachable!()
            };
            assert!(
                kind.starts_with("FrameTooLarge")
                    || kind.starts_with("UnexpectedEof")
                    || mode == AfterDamage::Stop,
                "{mode:?}: only a bad length, a torn tail or a stop repeats: {kind}"
            );
            assert_eq!(
                slice,
                stream[..=i],
                "{mode:?}: SliceReader reports the repeated error once, then ends"
            );
        }
        None => assert_eq!(slice, stream, "{mode:?}: SliceReader vs StreamReader"),
    }
    stream
}

fn readers_agree_on_damaged<F: Framer + Default, D: Deframer + Default>(
    payloads: &[Vec<u8>],
    damage: &[Damage],
    chunk: usize,
) {
    let w = write_stream::<F>(payloads);
    let bytes = damaged(&w, damage);
    for mode in MODES {
        readers_agree::<D>(&bytes, mode, chunk, step_limit(payloads.len()));
    }
}

/// `process_all` whose closure fails at the `k`-th payload, for every `k`:
/// the error comes back with that frame consumed, and the next call hands
/// out exactly the frames after it, over whole and one-byte reads.
fn process_all_resumes_after_its_closure_fails<F: Framer + Default, D: Deframer + Default>() {
    let payloads = twenty_payloads();
    let w = write_stream::<F>(&payloads);
    for chunk in [1, 7, usize::MAX] {
        for k in 0..payloads.len() {
            let source = FailsOnce::new(&w.bytes, chunk, None, io::ErrorKind::Other);
            let mut reader = StreamReader::new(source, D::default());
            let mut seen = Vec::new();
            let err = reader
                .process_all(|payload| {
                    seen.push(payload.to_vec());
                    if seen.len() == k + 1 {
                        Err(Error::custom("stop here"))
                    } else {
                        Ok(())
                    }
                })
                .expect_err("the closure fails");
            assert_eq!(err.to_string(), "stop here", "chunk {chunk}, k {k}");
            assert_eq!(seen, payloads[..=k], "chunk {chunk}, k {k}");
            assert_eq!(
                reader.position(),
                w.position(k + 1),
                "chunk {chunk}, k {k}: the failed frame is consumed"
            );
            reader
                .process_all(|payload| {
                    seen.push(payload.to_vec());
                    Ok(())
                })
                .expect("the rest reads");
            assert_eq!(
                seen, payloads,
                "chunk {chunk}, k {k}: nothing lost or repeated"
            );
        }
    }
}

/// A length over the limit in the middle of a stream: `StreamReader` (and a
/// cursor driver) report `FrameTooLarge` at that frame on every call, the
/// slice iterator once, then it ends.
fn frame_too_large_repeats_only_in_stream_reader<F: Framer + Default, D: Deframer + Default>() {
    let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i + 1; 10]).collect();
    let w = write_stream::<F>(&payloads);
    let mut bytes = w.bytes.clone();
    bytes[w.starts[2]..w.starts[2] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let too_large = Event::Error(
        format!(
            "{:?}",
            ErrorKind::FrameTooLarge {
                declared: u64::from(u32::MAX),
                limit: wire::DEFAULT_MAX_FRAME_LEN as u64,
            }
        ),
        Some(w.position(2)),
    );
    let limit = step_limit(payloads.len());
    for mode in [AfterDamage::Skip, AfterDamage::Stop] {
        for chunk in [1, 3, usize::MAX] {
            let stream = readers_agree::<D>(&bytes, mode, chunk, limit);
            let mut expected = vec![
                Event::Frame(w.position(0), payloads[0].clone()),
                Event::Frame(w.position(1), payloads[1].clone()),
            ];
            expected.resize(limit, too_large.clone());
            assert_eq!(stream, expected, "{mode:?}, chunk {chunk}");
            let slice = slice_events(&bytes, D::default(), mode, limit);
            assert_eq!(slice, expected[..3], "{mode:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// 3. WouldBlock (and Interrupted) at every byte offset
// ---------------------------------------------------------------------------

/// The low byte of `n`: test data made of counters.
fn low_byte(n: usize) -> u8 {
    n.to_le_bytes()[0]
}

/// 20 payloads of 0 to 39 bytes.
fn twenty_payloads() -> Vec<Vec<u8>> {
    (0..20)
        .map(|i: usize| (0..i * 7 % 40).map(|j| low_byte(i * 31 + j)).collect())
        .collect()
}

fn fault_at_every_byte<F: Framer + Default, D: Deframer + Default>() {
    let w = write_stream::<F>(&twenty_payloads());
    for fault in [io::ErrorKind::WouldBlock, io::ErrorKind::Interrupted] {
        for chunk in [usize::MAX, 7] {
            for at in 0..=w.bytes.len() {
                let case = format!("{fault:?} at byte {at}, chunks of {chunk}");
                let source = FailsAtOffset::new(&w.bytes, chunk, at, fault);
                let mut reader = StreamReader::new(source, D::default());
                let mut payloads = Vec::new();
                let mut errors = 0;
                for _ in 0..100 {
                    let before = reader.position();
                    match reader.read_message() {
                        Ok(Some(payload)) => payloads.push(payload.to_vec()),
                        Ok(None) => break,
                        Err(err) => {
                            assert!(
                                matches!(err.kind(), ErrorKind::Io(e) if e.kind() == fault),
                                "{case}: {err}"
                            );
                            assert!(err.is_resumable(), "{case}");
                            assert_eq!(err.position(), Some(before), "{case}");
                            assert_eq!(reader.position(), before, "{case}: nothing consumed");
                            errors += 1;
                        }
                    }
                }
                assert!(reader.get_ref().failed, "{case}: the fault was reached");
                // Interrupted is retried by the reader, never returned.
                let expected_errors = usize::from(fault == io::ErrorKind::WouldBlock);
                assert_eq!(errors, expected_errors, "{case}");
                assert_eq!(payloads, w.payloads, "{case}");
                assert_eq!(reader.offset(), w.bytes.len() as u64, "{case}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 4. A header that cannot hold the length prefix
// ---------------------------------------------------------------------------

/// A deframer declaring any header length, accepting every frame.
#[derive(Debug, Clone, Copy)]
struct HeaderOf(usize);

impl Deframer for HeaderOf {
    fn header_len(&self) -> usize {
        self.0
    }

    fn verify(&mut self, _header: &[u8], _payload: &[u8]) -> Result<(), ErrorKind> {
        Ok(())
    }

    fn max_frame_len(&self) -> usize {
        usize::MAX
    }
}

/// Checks that `err` is `InvalidHeaderLen` for `header_len`, at the start.
fn expect_invalid_header_len(err: &Error, header_len: usize) -> Result<(), String> {
    match err.kind() {
        ErrorKind::InvalidHeaderLen {
            header_len: got,
            max,
        } if *got == header_len && *max == wire::MAX_HEADER_LEN => {}
        other => return Err(format!("expected InvalidHeaderLen, got {other:?}")),
    }
    if err.position() != Some(START) {
        return Err(format!("positioned at {:?}", err.position()));
    }
    Ok(())
}

/// The start of a stream.
const START: Position = Position {
    offset: 0,
    frame: 0,
};

/// Checks that a recovery with a bad header length failed with it, or
/// reported it as the tail with nothing intact: never a tail to truncate.
fn expect_invalid_recovered(
    recovery: flatstream::Result<Recovery>,
    header_len: usize,
) -> Result<(), String> {
    match recovery {
        Ok(recovery) => expect_invalid_recovery(&recovery, header_len),
        Err(err) => expect_invalid_header_len(&err, header_len),
    }
}

/// Checks that a recovery with a bad header length reports it as the tail,
/// with nothing intact.
fn expect_invalid_recovery(recovery: &Recovery, header_len: usize) -> Result<(), String> {
    if (recovery.frames, recovery.valid_len) != (0, 0) {
        return Err(format!("intact frames in {recovery:?}"));
    }
    match &recovery.tail {
        Tail::Corrupt(err) => expect_invalid_header_len(err, header_len),
        other => Err(format!(
            "tail {other:?}, expected Corrupt(InvalidHeaderLen)"
        )),
    }
}

/// Inputs of `n` bytes: zeros, a plausible length prefix (n) then zeros,
/// and bytes counting up from 1.
fn odd_inputs(n: usize) -> Vec<Vec<u8>> {
    let mut prefixed = vec![0u8; n];
    if let Some(first) = prefixed.first_mut() {
        *first = low_byte(n);
    }
    vec![vec![0; n], prefixed, (1..=n).map(low_byte).collect()]
}

/// Runs `check`, turning a panic into a failure.
fn no_panic(check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    std::panic::catch_unwind(core::panic::AssertUnwindSafe(check)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        Err(format!("panicked: {message}"))
    })
}

/// The checks of a header of `header_len` bytes over `input`, by name:
/// every reader, the cursor, `decode`, and recovery.
fn bad_header_checks(header_len: usize, input: &[u8]) -> Vec<(&'static str, Result<(), String>)> {
    let mut results = Vec::new();
    results.push((
        "decode",
        no_panic(
            || match decode(&mut HeaderOf(header_len), input, usize::MAX) {
                Err(ErrorKind::InvalidHeaderLen { header_len: h, .. }) if h == header_len => Ok(()),
                other => Err(format!("{other:?}")),
            },
        ),
    ));
    results.push((
        "StreamReader::read_message",
        no_panic(|| {
            for mode in MODES {
                let mut reader =
                    StreamReader::new(input, HeaderOf(header_len)).with_after_damage(mode);
                for call in 0..3 {
                    match reader.read_message() {
                        Err(err) => expect_invalid_header_len(&err, header_len)
                            .map_err(|e| format!("{mode:?}, call {call}: {e}"))?,
                        Ok(got) => return Err(format!("{mode:?}, call {call}: {got:?}")),
                    }
                }
            }
            Ok(())
        }),
    ));
    results.push((
        "SliceReader",
        no_panic(|| {
            for mode in MODES {
                let mut slice =
                    SliceReader::new(input, HeaderOf(header_len)).with_after_damage(mode);
                match slice.next() {
                    Some(Err(err)) => expect_invalid_header_len(&err, header_len)
                        .map_err(|e| format!("{mode:?}: {e}"))?,
                    other => return Err(format!("{mode:?}: {other:?}")),
                }
                if let Some(item) = slice.next() {
                    return Err(format!("{mode:?}: goes on with {item:?}"));
                }
            }
            Ok(())
        }),
    ));
    results.push((
        "FrameCursor::poll",
        no_panic(|| {
            for mode in MODES {
                for eof in [false, true] {
                    let mut cursor = FrameCursor::new(HeaderOf(header_len)).with_after_damage(mode);
                    for call in 0..2 {
                        match cursor.poll(input, eof) {
                            Err(err) => expect_invalid_header_len(&err, header_len)
                                .map_err(|e| format!("{mode:?}, eof {eof}, call {call}: {e}"))?,
                            Ok(step) => {
                                return Err(format!("{mode:?}, eof {eof}, call {call}: {step:?}"));
                            }
                        }
                    }
                    if cursor.position() != START {
                        return Err(format!("{mode:?}: moved to {:?}", cursor.position()));
                    }
                }
            }
            Ok(())
        }),
    ));
    results.push((
        "recover",
        no_panic(|| expect_invalid_recovered(recover(input, HeaderOf(header_len)), header_len)),
    ));
    results.push((
        "recover_slice",
        no_panic(|| {
            let recovery = recover_slice(input, HeaderOf(header_len), RecoverOptions::new());
            expect_invalid_recovery(&recovery, header_len)
        }),
    ));
    results.push((
        "StreamReader::recover",
        no_panic(|| {
            let recovery = StreamReader::new(input, HeaderOf(header_len)).recover();
            expect_invalid_recovered(recovery, header_len)
        }),
    ));
    results.push((
        "SliceReader::recover",
        no_panic(|| {
            let recovery =
                SliceReader::new(input, HeaderOf(header_len)).recover(RecoverOptions::new());
            expect_invalid_recovery(&recovery, header_len)
        }),
    ));
    // A file is neither recovered nor truncated with such a deframer.
    results.push((
        "recover_file_for_append",
        no_panic(|| {
            let path = TempPath::new(&format!("bad-header-{header_len}-{}", input.len()));
            std::fs::write(path.path(), input).map_err(|e| e.to_string())?;
            let outcome = match recover_file_for_append(path.path(), HeaderOf(header_len)) {
                Err(err) => expect_invalid_header_len(&err, header_len),
                Ok((_, recovery)) => Err(format!("accepted: {recovery:?}")),
            };
            let after = std::fs::read(path.path()).map_err(|e| e.to_string())?;
            if after != input {
                return Err(format!(
                    "{}; the file was changed to {after:?}",
                    outcome.err().unwrap_or_default()
                ));
            }
            outcome
        }),
    ));
    results
}

#[test]
fn header_len_outside_the_format_is_an_error_never_a_panic() {
    // Failing cases by check, in the order of the checks.
    let mut failures: Vec<(&'static str, Vec<String>)> = Vec::new();
    let mut total = 0;
    for header_len in [0, 1, 2, 3, 13] {
        for n in 0..=8 {
            for input in odd_inputs(n) {
                for (check, result) in bad_header_checks(header_len, &input) {
                    if let Err(problem) = result {
                        total += 1;
                        let case = format!("header_len {header_len}, input {input:?}: {problem}");
                        match failures.iter_mut().find(|(name, _)| *name == check) {
                            Some((_, cases)) => cases.push(case),
                            None => failures.push((check, vec![case])),
                        }
                    }
                }
            }
        }
    }
    // Every failing check, with how many cases and the first few.
    let report: Vec<String> = failures
        .iter()
        .map(|(check, cases)| {
            let shown = cases.len().min(4);
            format!(
                "{check}: {} cases, e.g.\n    {}",
                cases.len(),
                cases[..shown].join("\n    ")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{total} failing cases:\n{}",
        report.join("\n")
    );
}

// ---------------------------------------------------------------------------
// 5. A recovery that WouldBlock suspended
// ---------------------------------------------------------------------------

/// `Debug` of a recovery: its frames, length, tail (with the error's kind
/// and position), where good frames resume and the salvage report.
fn recovery_text(recovery: &Recovery) -> String {
    format!("{recovery:?}")
}

/// Streams whose recovery ends every way: clean, torn, zero-filled, zero
/// frames then zeros, a damaged payload, a damaged length, a length over
/// the limit.
fn recovery_streams<F: Framer + Default>() -> Vec<(&'static str, Vec<u8>)> {
    let payloads: Vec<Vec<u8>> = (1..=8u8)
        .map(|i| {
            (0..usize::from(i) * 5)
                .map(|j| i ^ low_byte(j) | 1)
                .collect()
        })
        .collect();
    let w = write_stream::<F>(&payloads);
    let payload_at = |i: usize| w.starts[i] + w.header_len;
    let mut streams = vec![("clean", w.bytes.clone())];
    streams.push(("torn", w.bytes[..w.bytes.len() - 3].to_vec()));
    let mut zeros = w.bytes.clone();
    zeros.resize(w.bytes.len() + 37, 0);
    streams.push(("zero-filled", zeros));
    let mut with_empty = payloads.clone();
    with_empty.extend([Vec::new(), Vec::new()]);
    let mut empty_then_zeros = write_stream::<F>(&with_empty).bytes;
    empty_then_zeros.resize(empty_then_zeros.len() + 11, 0);
    streams.push(("empty frames then zeros", empty_then_zeros));
    let mut payload = w.bytes.clone();
    payload[payload_at(3) + 2] ^= 0x10;
    streams.push(("damaged payload", payload));
    let mut length = w.bytes.clone();
    length[w.starts[3]] = length[w.starts[3]].wrapping_add(1);
    streams.push(("damaged length", length));
    let mut too_large = w.bytes.clone();
    too_large[w.starts[3] + 3] = 0xFF;
    streams.push(("length over the limit", too_large));
    streams
}

fn resumed_recovery_equals_uninterrupted<F: Framer + Default, D: Deframer + Default>() {
    const CHUNK: usize = 5;
    for (name, bytes) in recovery_streams::<F>() {
        let mut reader = StreamReader::new(
            FailsOnce::new(&bytes, CHUNK, None, io::ErrorKind::Other),
            D::default(),
        );
        let expected = recovery_text(&reader.recover().expect("uninterrupted"));
        // `StreamReader::recover` scans with the reader's frame limit.
        let options = RecoverOptions::new().with_max_frame_len(wire::DEFAULT_MAX_FRAME_LEN);
        assert_eq!(
            expected,
            recovery_text(&recover_with(bytes.as_slice(), D::default(), options).expect("recover")),
            "{name}: StreamReader::recover vs recover_with"
        );
        let calls = reader.get_ref().calls;
        for fail_at in 0..calls {
            let case = format!("{name}: WouldBlock at read call {fail_at} of {calls}");
            let source = FailsOnce::new(&bytes, CHUNK, Some(fail_at), io::ErrorKind::WouldBlock);
            let mut reader = StreamReader::new(source, D::default());
            let err = reader.recover().expect_err(&case);
            assert!(
                matches!(err.kind(), ErrorKind::Io(e) if e.kind() == io::ErrorKind::WouldBlock),
                "{case}: {err}"
            );
            assert!(err.is_resumable(), "{case}");
            let resumed = reader
                .recover()
                .unwrap_or_else(|e| panic!("{case}: resumed: {e}"));
            assert_eq!(recovery_text(&resumed), expected, "{case}");

            // A `read_message` between the two: the second recovery is the
            // one of a reader that read the same way up to there.
            let source = FailsOnce::new(&bytes, CHUNK, Some(fail_at), io::ErrorKind::WouldBlock);
            let mut reader = StreamReader::new(source, D::default());
            reader.recover().expect_err(&case);
            let suspended_at = reader.position();
            let read = reader.read_message().map(|p| p.map(<[u8]>::to_vec));
            let here = reader.position();
            let recovery = reader
                .recover()
                .unwrap_or_else(|e| panic!("{case}: after read_message: {e}"));
            let case = format!("{case}, then read_message: {read:?}");
            if here == suspended_at {
                // Nothing consumed: the suspended scan resumes.
                assert_eq!(recovery_text(&recovery), expected, "{case}");
            } else {
                // A new scan from where the reader is: nothing behind it.
                assert!(
                    recovery.valid_len >= here.offset && recovery.frames >= here.frame,
                    "{case}: a recovery behind the reader at {here:?}: {recovery:?}"
                );
                let mut reference = StreamReader::new(bytes.as_slice(), D::default());
                for _ in 0..64 {
                    if reference.position() == here || matches!(reference.read_message(), Ok(None))
                    {
                        break;
                    }
                }
                assert_eq!(
                    reference.position(),
                    here,
                    "{case}: a plain reader gets there"
                );
                let reference = reference.recover().expect("recover");
                assert_eq!(
                    recovery_text(&recovery),
                    recovery_text(&reference),
                    "{case}"
                );
            }
        }
    }
}

/// The frames of a script: `frames[i]` is frame `i` of `w`.
fn frame_bytes(w: &Written, range: core::ops::Range<usize>) -> Vec<u8> {
    w.bytes[w.starts[range.start]..w.starts[range.end]].to_vec()
}

/// A frame, zero frames, and a frame between: `A, Z1, C, Z2, Z3`, where
/// each Z is an empty frame (all zero bytes with this framer). The source
/// delivers `A Z1`, blocks, then `C`, then `Z2 Z3`. `recover()` counts
/// `A` and `Z1` and blocks; `read_message` returns `C`; `recover()` again
/// must scan from after `C`: the zero frames after it are zero fill, and
/// `C` (which was handed out) is not part of it. The earlier design resumed
/// its old scan, whose zero run started at `Z1`, and reported
/// `ZeroFilled` from `Z1`: `C` as zero fill, and a `valid_len` behind the
/// reader.
fn read_between_suspended_recoveries<F: Framer + Default, D: Deframer + Default>() {
    if !empty_frame_is_all_zero::<F>() {
        return;
    }
    let payloads = vec![
        b"alpha".to_vec(),
        Vec::new(),
        b"charlie".to_vec(),
        Vec::new(),
        Vec::new(),
    ];
    let w = write_stream::<F>(&payloads);
    let script = [
        Script::Bytes(frame_bytes(&w, 0..2)),
        Script::Fail(io::ErrorKind::WouldBlock),
        Script::Bytes(frame_bytes(&w, 2..3)),
        Script::Bytes(frame_bytes(&w, 3..5)),
    ];
    let mut reader = StreamReader::new(Scripted::new(script.clone()), D::default());
    let err = reader.recover().expect_err("blocks after Z1");
    assert!(err.is_resumable());
    assert_eq!(
        reader.read_message().expect("C").map(<[u8]>::to_vec),
        Some(b"charlie".to_vec())
    );
    let here = reader.position();
    assert_eq!(here, w.position(3));
    let recovery = reader.recover().expect("recover after read_message");
    assert!(
        recovery.valid_len >= here.offset && recovery.frames >= here.frame,
        "recovery behind the reader at {here:?}: {recovery:?}"
    );
    assert_eq!(
        (recovery.frames, recovery.valid_len),
        (3, w.starts[3] as u64),
        "{recovery:?}"
    );
    assert!(
        matches!(recovery.tail, Tail::ZeroFilled { offset, len }
            if offset == w.starts[3] as u64 && len == (w.starts[5] - w.starts[3]) as u64),
        "{recovery:?}"
    );
    // The same as an uninterrupted recovery of the whole stream.
    let whole = recover(w.bytes.as_slice(), D::default()).expect("recover");
    assert_eq!(recovery_text(&recovery), recovery_text(&whole));

    // Without the read in between, the suspended scan resumes: same result.
    let mut reader = StreamReader::new(Scripted::new(script), D::default());
    reader.recover().expect_err("blocks after Z1");
    let resumed = reader.recover().expect("resumed");
    assert_eq!(recovery_text(&resumed), recovery_text(&whole));
}

/// `A, Z1, Z2, Z3`: `recover()` counts `A` and `Z1` and blocks;
/// `read_message` hands out `Z2` (an empty payload); `recover()` again
/// scans from after `Z2`: only `Z3` is zero fill. An uninterrupted recovery
/// would call `Z1` on zero fill, but `Z2` was handed out and `Z1` was before
/// it: the result must not reach behind the reader.
fn zero_frame_read_between_suspended_recoveries<F: Framer + Default, D: Deframer + Default>() {
    if !empty_frame_is_all_zero::<F>() {
        return;
    }
    let payloads = vec![b"alpha".to_vec(), Vec::new(), Vec::new(), Vec::new()];
    let w = write_stream::<F>(&payloads);
    let script = [
        Script::Bytes(frame_bytes(&w, 0..2)),
        Script::Fail(io::ErrorKind::WouldBlock),
        Script::Bytes(frame_bytes(&w, 2..3)),
        Script::Bytes(frame_bytes(&w, 3..4)),
    ];
    let mut reader = StreamReader::new(Scripted::new(script), D::default());
    reader.recover().expect_err("blocks after Z1");
    assert_eq!(
        reader.read_message().expect("Z2").map(<[u8]>::to_vec),
        Some(Vec::new())
    );
    let here = reader.position();
    assert_eq!(here, w.position(3));
    let recovery = reader.recover().expect("recover after read_message");
    assert_eq!(
        (recovery.frames, recovery.valid_len),
        (3, w.starts[3] as u64),
        "{recovery:?}"
    );
    assert!(
        matches!(recovery.tail, Tail::ZeroFilled { offset, len }
            if offset == w.starts[3] as u64 && len == (w.starts[4] - w.starts[3]) as u64),
        "{recovery:?}"
    );
}

/// `A, B, C` with `B`'s payload damaged, read by a reader with the default
/// policy (`Skip`): `recover()` counts `A` and blocks; then `read_message`
/// reports `B`'s checksum mismatch and, as the reader's policy says, goes on
/// with `C`. The suspended scan must not leave its own policy (`Stop`) on
/// the reader.
fn reader_policy_applies_after_suspended_recovery<F: Framer + Default, D: Deframer + Default>() {
    if !is_checksummed::<F>() {
        return;
    }
    let payloads = vec![b"alpha".to_vec(), b"bravo".to_vec(), b"charlie".to_vec()];
    let w = write_stream::<F>(&payloads);
    let mut bytes = w.bytes.clone();
    bytes[w.starts[1] + w.header_len] ^= 0x01;
    let script = [
        Script::Bytes(bytes[..w.starts[1]].to_vec()),
        Script::Fail(io::ErrorKind::WouldBlock),
        Script::Bytes(bytes[w.starts[1]..].to_vec()),
    ];

    // The reference: the same reads without the recovery.
    let mut plain = StreamReader::new(bytes.as_slice(), D::default());
    assert_eq!(plain.read_message().expect("A"), Some(&b"alpha"[..]));
    let err = plain.read_message().expect_err("B");
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_eq!(plain.read_message().expect("C"), Some(&b"charlie"[..]));

    let mut reader = StreamReader::new(Scripted::new(script), D::default());
    reader.recover().expect_err("blocks after A");
    assert_eq!(reader.position(), w.position(1));
    let err = reader.read_message().expect_err("B is damaged");
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.position(), Some(w.position(1)));
    match reader.read_message() {
        Ok(Some(payload)) => assert_eq!(payload, b"charlie"),
        other => panic!(
            "after a suspended recover(), read_message repeats the damaged frame instead of \
             skipping it (AfterDamage::Skip): {other:?}"
        ),
    }
}

/// A reader limited to 64-byte frames: a suspended `recover_with` (whose
/// options allow any frame) must not leave its limit on the reader, so that
/// `read_message` in between still refuses a 1,000-byte frame.
fn reader_limit_applies_after_suspended_recovery<F: Framer + Default, D: Deframer + Default>() {
    let payloads = vec![b"alpha".to_vec(), vec![0x5A; 1000], b"charlie".to_vec()];
    let w = write_stream::<F>(&payloads);
    let script = [
        Script::Bytes(frame_bytes(&w, 0..1)),
        Script::Fail(io::ErrorKind::WouldBlock),
        Script::Bytes(frame_bytes(&w, 1..3)),
    ];
    let mut reader = StreamReader::new(Scripted::new(script), D::default()).with_max_frame_len(64);
    reader
        .recover_with(RecoverOptions::new())
        .expect_err("blocks after A");
    assert_eq!(reader.position(), w.position(1));
    match reader.read_message() {
        Err(err) if matches!(err.kind(), ErrorKind::FrameTooLarge { limit: 64, .. }) => {}
        other => panic!(
            "after a suspended recover_with(), the reader's limit of 64 no longer applies: \
             {:?}",
            other.map(|p| p.map(<[u8]>::len))
        ),
    }
}

// ---------------------------------------------------------------------------
// 6. Salvage on every reader
// ---------------------------------------------------------------------------

/// Payload `i` of the salvage stream: 20 to 69 bytes, never zero.
#[cfg(feature = "crc32")]
fn salvage_payload(i: usize) -> Vec<u8> {
    (0..20 + i * 13 % 50)
        .map(|j| low_byte(i * 7 + j) | 0x80)
        .collect()
}

/// What a salvaging reader reports: a payload, or a skipped region.
#[cfg(feature = "crc32")]
#[derive(Debug, Clone, PartialEq, Eq)]
enum Salvaged {
    Frame(Position, Vec<u8>),
    Region {
        at: Position,
        len: u64,
        frames_lost: Option<u64>,
    },
}

#[cfg(feature = "crc32")]
fn salvaged(item: flatstream::Result<(Position, &[u8])>) -> Salvaged {
    match item {
        Ok((at, payload)) => Salvaged::Frame(at, payload.to_vec()),
        Err(err) => match err.kind() {
            ErrorKind::CorruptRegion {
                len, frames_lost, ..
            } => Salvaged::Region {
                at: err.position().expect("positioned"),
                len: *len,
                frames_lost: *frames_lost,
            },
            other => panic!(
                "expected CorruptRegion, got {other:?} at {:?}",
                err.position()
            ),
        },
    }
}

#[cfg(feature = "crc32")]
mod salvage {
    use super::*;

    type F = flatstream::ChecksumFramer<flatstream::Crc32>;
    type D = flatstream::ChecksumDeframer<flatstream::Crc32>;

    /// Ways to damage frame 20's length: past the end of input (1 GiB more),
    /// over the reader's limit, and one byte longer (a checksum mismatch).
    /// Damages a length prefix in place.
    type Mangle = fn(&mut [u8]);

    const LENGTH_DAMAGE: [(&str, Mangle); 3] = [
        ("past the end", |prefix| prefix[3] ^= 0x40),
        ("over the limit", |prefix| prefix[3] ^= 0x80),
        ("one longer", |prefix| prefix[0] = prefix[0].wrapping_add(1)),
    ];

    /// 30 frames, frame 10's payload and frame 20's length damaged.
    fn damaged_stream(length: Mangle) -> (Written, Vec<u8>) {
        let w = write_stream::<F>(&(0..30).map(salvage_payload).collect::<Vec<_>>());
        let mut bytes = w.bytes.clone();
        bytes[w.starts[10] + w.header_len + 5] ^= 0x21;
        length(&mut bytes[w.starts[20]..w.starts[20] + 4]);
        (w, bytes)
    }

    fn expected(w: &Written) -> Vec<Salvaged> {
        let mut expected = Vec::new();
        for i in 0..30 {
            let len = (w.starts[i + 1] - w.starts[i]) as u64;
            expected.push(match i {
                // The length led to the next frame: exactly one lost.
                10 => Salvaged::Region {
                    at: w.position(i),
                    len,
                    frames_lost: Some(1),
                },
                // The length is what is damaged: how many frames the
                // region held is not known.
                20 => Salvaged::Region {
                    at: w.position(i),
                    len,
                    frames_lost: None,
                },
                _ => Salvaged::Frame(w.position(i), w.payloads[i].clone()),
            });
        }
        expected
    }

    fn stream_reader(bytes: &[u8], chunk: usize) -> Vec<Salvaged> {
        let source = FailsOnce::new(bytes, chunk, None, io::ErrorKind::Other);
        let mut reader =
            StreamReader::new(source, D::default()).with_after_damage(AfterDamage::Resync);
        let mut out = Vec::new();
        for _ in 0..100 {
            let before = reader.position();
            match reader.read_message() {
                Ok(Some(payload)) => out.push(Salvaged::Frame(before, payload.to_vec())),
                Ok(None) => return out,
                Err(err) => out.push(salvaged(Err(err))),
            }
        }
        panic!("StreamReader did not end: {out:?}");
    }

    fn slice_reader(bytes: &[u8]) -> Vec<Salvaged> {
        SliceReader::new(bytes, D::default())
            .with_after_damage(AfterDamage::Resync)
            .positioned()
            .take(100)
            .map(salvaged)
            .collect()
    }

    /// Recovery's salvage report: frame 10 stops the intact frames; salvage
    /// would save the 18 good frames after it and skip two regions.
    fn check_recovery(what: &str, w: &Written, recovery: &Recovery) {
        assert_eq!(
            (recovery.frames, recovery.valid_len),
            (10, w.starts[10] as u64),
            "{what}"
        );
        match &recovery.tail {
            Tail::Corrupt(err) => {
                assert!(
                    matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
                    "{what}: {err}"
                );
                assert_eq!(err.position(), Some(w.position(10)), "{what}");
            }
            other => panic!("{what}: tail {other:?}"),
        }
        assert_eq!(recovery.good_after, Some(w.starts[11] as u64), "{what}");
        let salvage = recovery.salvage.as_ref().expect("a salvage report");
        assert_eq!(salvage.frames, 18, "{what}: {salvage:?}");
        let good_bytes: usize = (11..30)
            .filter(|&i| i != 20)
            .map(|i| w.starts[i + 1] - w.starts[i])
            .sum();
        assert_eq!(salvage.bytes, good_bytes as u64, "{what}: {salvage:?}");
        assert_eq!(salvage.regions_total, 2, "{what}: {salvage:?}");
        let regions: Vec<(u64, u64, Option<u64>)> = salvage
            .regions
            .iter()
            .map(|r| (r.offset, r.len, r.frames_lost))
            .collect();
        assert_eq!(
            regions,
            [
                (
                    w.starts[10] as u64,
                    (w.starts[11] - w.starts[10]) as u64,
                    Some(1)
                ),
                (
                    w.starts[20] as u64,
                    (w.starts[21] - w.starts[20]) as u64,
                    None
                ),
            ],
            "{what}"
        );
        assert!(!salvage.torn_tail, "{what}");
    }

    #[test]
    fn salvage_reads_the_same_through_every_reader() {
        for (name, length) in LENGTH_DAMAGE {
            let (w, bytes) = damaged_stream(length);
            let expected = expected(&w);
            for chunk in [1, 13, usize::MAX] {
                assert_eq!(
                    stream_reader(&bytes, chunk),
                    expected,
                    "{name}: StreamReader, chunks of {chunk}"
                );
            }
            assert_eq!(slice_reader(&bytes), expected, "{name}: SliceReader");
            let good: Vec<&Vec<u8>> = expected
                .iter()
                .filter_map(|s| match s {
                    Salvaged::Frame(_, payload) => Some(payload),
                    Salvaged::Region { .. } => None,
                })
                .collect();
            assert_eq!(good.len(), 28, "{name}");

            check_recovery(
                name,
                &w,
                &recover(bytes.as_slice(), D::default()).expect("recover"),
            );
            check_recovery(
                name,
                &w,
                &recover_slice(&bytes, D::default(), RecoverOptions::new()),
            );
            #[cfg(feature = "mmap")]
            {
                let path = TempPath::new("cursor-salvage");
                std::fs::write(path.path(), &bytes).expect("write");
                let map = super::open_map(path.path());
                let through_map: Vec<Salvaged> = map
                    .frames(D::default())
                    .with_after_damage(AfterDamage::Resync)
                    .positioned()
                    .take(100)
                    .map(salvaged)
                    .collect();
                assert_eq!(through_map, expected, "{name}: MmapStream::frames");
                check_recovery(name, &w, &map.recover(D::default(), RecoverOptions::new()));
            }
        }
    }
}

/// Maps the file at `path`.
#[cfg(feature = "mmap")]
#[allow(unsafe_code)]
fn open_map(path: &std::path::Path) -> flatstream::MmapStream {
    // SAFETY: the file is this test's own temporary file; nothing writes to
    // or truncates it while it is mapped.
    unsafe { flatstream::MmapStream::open(path) }.expect("map")
}

// ---------------------------------------------------------------------------
// 7. Typed reading on SliceReader and MmapStream
// ---------------------------------------------------------------------------

/// Readings 0..40, with a frame that is not a FlatBuffer as frame 7.
fn telemetry_stream<F: Framer + Default>() -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    for i in 0..40 {
        if i == 7 {
            writer.write_payload(&[0xEE; 24]).expect("garbage");
        }
        write_reading(&mut writer, &Reading::sample(i)).expect("write");
    }
    writer.into_inner()
}

/// A root, by every field, or an error by kind and position.
fn typed_event(
    item: flatstream::Result<Telemetry<'_>>,
) -> Result<String, (String, Option<Position>)> {
    match item {
        Ok(table) => Ok(format!("{table:?}")),
        Err(err) => Err((format!("{:?}", err.kind()), err.position())),
    }
}

/// Whether `inner` lies within `outer`.
fn lies_within(inner: &[u8], outer: &[u8]) -> bool {
    let outer = outer.as_ptr_range();
    let inner = inner.as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}

fn typed_slice_yields_process_typed_roots<F: Framer + Default, D: Deframer + Default>() {
    let bytes = telemetry_stream::<F>();

    // StreamReader: process_typed, resumed after the garbage frame.
    let mut expected = Vec::new();
    let mut reader = StreamReader::new(bytes.as_slice(), D::default());
    loop {
        match reader.process_typed::<Telemetry>(|table| {
            expected.push(Ok(format!("{table:?}")));
            Ok(())
        }) {
            Ok(()) => break,
            Err(err) => {
                assert!(err.is_resumable(), "{err}");
                expected.push(typed_event(Err(err)));
            }
        }
    }
    assert_eq!(expected.len(), 41);
    assert!(expected[7].is_err());

    let got: Vec<_> = SliceReader::new(&bytes, D::default())
        .typed::<Telemetry>()
        .map(|item| {
            if let Ok(table) = &item {
                assert!(
                    lies_within(table._tab.buf(), &bytes),
                    "the root borrows the slice"
                );
            }
            typed_event(item)
        })
        .collect();
    assert_eq!(got, expected, "SliceReader::typed vs process_typed");

    #[cfg(feature = "mmap")]
    {
        let path = TempPath::new("cursor-typed");
        std::fs::write(path.path(), &bytes).expect("write");
        let map = open_map(path.path());
        let got: Vec<_> = map
            .frames(D::default())
            .typed::<Telemetry>()
            .map(|item| {
                if let Ok(table) = &item {
                    assert!(
                        lies_within(table._tab.buf(), map.as_bytes()),
                        "the root borrows the map"
                    );
                }
                typed_event(item)
            })
            .collect();
        assert_eq!(got, expected, "MmapStream typed vs process_typed");
    }
}

// ---------------------------------------------------------------------------
// Every framer pair
// ---------------------------------------------------------------------------

macro_rules! cursor_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn frame_too_large_repeats_in_stream_reader_once_in_slice_reader() {
                frame_too_large_repeats_only_in_stream_reader::<F, D>();
            }

            #[test]
            fn process_all_resumes_after_its_closure_fails() {
                super::process_all_resumes_after_its_closure_fails::<F, D>();
            }

            #[test]
            fn would_block_or_interrupted_at_every_byte_loses_nothing() {
                fault_at_every_byte::<F, D>();
            }

            #[test]
            fn resumed_recovery_equals_an_uninterrupted_one() {
                resumed_recovery_equals_uninterrupted::<F, D>();
            }

            #[test]
            fn recovery_after_read_message_starts_where_the_reader_is() {
                read_between_suspended_recoveries::<F, D>();
            }

            #[test]
            fn zero_frame_read_between_recoveries_is_not_zero_fill() {
                zero_frame_read_between_suspended_recoveries::<F, D>();
            }

            #[test]
            fn reader_policy_applies_between_suspended_recovery_and_read() {
                reader_policy_applies_after_suspended_recovery::<F, D>();
            }

            #[test]
            fn reader_limit_applies_between_suspended_recovery_and_read() {
                reader_limit_applies_after_suspended_recovery::<F, D>();
            }

            #[test]
            fn typed_slice_and_map_yield_the_roots_of_process_typed() {
                typed_slice_yields_process_typed_roots::<F, D>();
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(32))]

                /// Every adapter, `Box<dyn Deframer>` and `&mut D` read a
                /// damaged stream exactly as `D`, under every policy, through
                /// both readers.
                #[test]
                fn adapters_read_damaged_streams_as_the_deframer(
                    payloads in payload_lists(),
                    damage in damages(),
                    chunk in 1usize..=48,
                ) {
                    adapters_read_as_the_deframer::<F, D>(&payloads, &damage, chunk);
                }

                /// StreamReader, a cursor driver and SliceReader agree on a
                /// damaged stream, but for the documented repetition.
                #[test]
                fn readers_agree_on_damaged_streams(
                    payloads in payload_lists(),
                    damage in damages(),
                    chunk in 1usize..=48,
                ) {
                    readers_agree_on_damaged::<F, D>(&payloads, &damage, chunk);
                }
            }
        }
    };
}

framers::for_each_framer_pair!(cursor_tests);

/// Found by the `cursor` fuzz target: salvage over a source that delivers
/// 35 bytes per read skipped a good frame whose length prefix had not all
/// arrived when the look-ahead past a waiting candidate reached it. Every
/// chunking must read what the slice reads.
#[cfg(feature = "xxhash")]
#[test]
fn salvage_look_ahead_never_skips_a_frame_whose_length_is_still_arriving() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, XxHash64};
    let mut framer = ChecksumFramer::new(XxHash64::new());
    let mut data = vec![0u8; 34];
    framer
        .encode_into(b"hi", &mut data)
        .expect("frame at 34..48");
    data.resize(140, 0);
    framer
        .encode_into(&[0xff; 7], &mut data)
        .expect("frame at 140..159");
    for i in [27, 31, 62, 66, 97, 101, 134, 135, 136, 137, 138, 139] {
        data[i] = 0xff;
    }
    let deframer = || ChecksumDeframer::new(XxHash64::new());
    let expected = slice_events(&data, deframer(), AfterDamage::Resync, 64);
    assert!(
        expected
            .iter()
            .any(|e| matches!(e, Event::Frame(_, payload) if payload == b"hi")),
        "{expected:?}"
    );
    for chunk in 1..=64 {
        let got = stream_events(&data, deframer(), AfterDamage::Resync, chunk, 64);
        assert_eq!(got, expected, "StreamReader, {chunk} bytes per read");
        let got = cursor_events(&data, deframer(), AfterDamage::Resync, chunk, 64);
        assert_eq!(got, expected, "FrameCursor, {chunk} bytes per read");
    }
    let recovered = recover_with(
        FailsOnce::new(&data, 35, None, io::ErrorKind::Other),
        deframer(),
        RecoverOptions::new(),
    )
    .expect("recover");
    assert_eq!(recovered.good_after, Some(34));
}

// ---------------------------------------------------------------------------
// 8. A torn frame met again
// ---------------------------------------------------------------------------

/// A deframer that counts the payload bytes it is asked to verify.
#[cfg(feature = "xxhash")]
struct Counted<D> {
    inner: D,
    verified: alloc::rc::Rc<core::cell::Cell<u64>>,
}

#[cfg(feature = "xxhash")]
impl<D: Deframer> Deframer for Counted<D> {
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }

    fn verify(&mut self, header: &[u8], payload: &[u8]) -> Result<(), ErrorKind> {
        self.verified
            .set(self.verified.get() + payload.len() as u64);
        self.inner.verify(header, payload)
    }

    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }
}

/// A source that hands out what has been appended to it so far, and then
/// end of input: a file that a writer is still appending to.
#[cfg(feature = "xxhash")]
struct Growing {
    data: alloc::rc::Rc<core::cell::RefCell<Vec<u8>>>,
    read: usize,
}

#[cfg(feature = "xxhash")]
impl io::Read for Growing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.data.borrow();
        let n = buf.len().min(data.len() - self.read);
        buf[..n].copy_from_slice(&data[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}

/// A salvage read (`AfterDamage::Resync`) that meets a frame running past
/// the end of input searches the bytes inside it for good frames (its
/// length may be the damage) once for what it has: polling again with
/// nothing new (a caller retrying the resumable `UnexpectedEof`, a follower
/// at the end of a file) gives the same error without the same search, and
/// more bytes are searched again. (Each retry searched again: 1,000 retries
/// over a torn 1 MiB frame took 9.9 s.) The torn frame holds little-endian
/// counters, so that the search has frames that fit to check.
#[cfg(feature = "xxhash")]
#[test]
fn a_torn_frame_met_again_with_nothing_new_is_not_searched_again() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, XxHash64};

    let payloads: Vec<Vec<u8>> = vec![
        vec![7; 1000],
        vec![9; 1000],
        (0..1u32 << 18).flat_map(u32::to_le_bytes).collect(),
    ];
    let w = write_stream::<ChecksumFramer<XxHash64>>(&payloads);
    let torn_at = w.starts[2];
    let data = alloc::rc::Rc::new(core::cell::RefCell::new(
        w.bytes[..torn_at + (1 << 19)].to_vec(),
    ));
    let verified = alloc::rc::Rc::new(core::cell::Cell::new(0));
    let deframer = Counted {
        inner: ChecksumDeframer::new(XxHash64::new()),
        verified: verified.clone(),
    };
    let source = Growing {
        data: data.clone(),
        read: 0,
    };
    let mut reader = StreamReader::new(source, deframer).with_after_damage(AfterDamage::Resync);
    for payload in &payloads[..2] {
        let read = reader.read_message().expect("read").expect("a frame");
        assert_eq!(read, payload.as_slice());
    }
    let torn = |reader: &mut StreamReader<Growing, Counted<ChecksumDeframer<XxHash64>>>| {
        let error = reader.read_message().expect_err("a torn frame");
        assert!(error.is_unexpected_eof() && error.is_resumable(), "{error}");
        assert_eq!(error.position().map(|p| p.offset), Some(torn_at as u64));
        error.to_string()
    };
    let before = verified.get();
    let first = torn(&mut reader);
    let searched = verified.get();
    assert!(searched > before, "the search checked no candidate");
    for retry in 0..10 {
        assert_eq!(torn(&mut reader), first, "retry {retry}");
        assert_eq!(verified.get(), searched, "retry {retry} searched again");
    }
    data.borrow_mut()
        .extend_from_slice(&w.bytes[torn_at + (1 << 19)..torn_at + (1 << 19) + 4096]);
    assert_ne!(torn(&mut reader), first, "more bytes, the same error");
    assert!(verified.get() > searched, "more bytes were not searched");
    data.borrow_mut()
        .extend_from_slice(&w.bytes[torn_at + (1 << 19) + 4096..]);
    let read = reader.read_message().expect("read").expect("the frame");
    assert_eq!(read, payloads[2].as_slice());
    assert_eq!(reader.read_message().expect("end"), None);
}
