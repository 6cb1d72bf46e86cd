//! Steady-state reading and writing allocate nothing, for every framer pair of
//! this build. A counting global allocator counts the allocations made by the
//! current thread; each scenario warms up first (the reader's buffer and the
//! builders reach their final size), then counts the measured pass. Also: a
//! hostile length prefix costs memory only for the bytes that follow it: a
//! header declaring 2 GiB then the end of input costs at most 1 MiB (peak live
//! bytes, reading and recovering), 100 KiB of payload after it at most twice
//! what arrived plus 64 KiB, and a length over the limit no payload memory.
//!
//! The steady state stays allocation-free with adapters installed (the
//! framer and deframer of the pair under `.bounded(..)`, `.observed(..)` and
//! `.validated((SizeValidator, NoValidator))`, or `RootTableValidator` on
//! `Telemetry` payloads), without a memory policy (the default, as in the
//! scenarios above) and with a policy that is consulted but does not fire.
//! The counting allocator is `support/counting_alloc.rs`.

use alloc::sync::Arc;
use core::cell::Cell;
use core::time::Duration;
use std::io::{self, Cursor};

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{
    AdaptiveWatermark, Deframer, DeframerExt, Framer, FramerExt, ManualClock, MemoryPolicy,
    NoValidator, RootTableValidator, ShrinkAbove, SizeValidator, StreamReader, StreamWriter,
    Validator,
};

use crate::support::counting_alloc::{allocations_in, largest_allocation_in, peak_extra_bytes_in};
use crate::support::framers;
use crate::telemetry::{self, Reading, write_reading};

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations_in(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1);
    let (v, largest) = largest_allocation_in(|| vec![1u8; 1000]);
    assert_eq!(v.len(), 1000);
    assert!(largest >= 1000);
    // Live bytes: two blocks held at once count twice, freed ones not at all.
    let ((), peak) = peak_extra_bytes_in(|| {
        let a = vec![1u8; 1000];
        let b = vec![2u8; 3000];
        drop((a, b));
        let c = vec![3u8; 2000];
        drop(c);
    });
    assert!((4000..5000).contains(&peak), "{peak}");
    let (v, peak) = peak_extra_bytes_in(|| {
        let mut v = vec![1u8; 1000];
        v.resize(100_000, 0);
        v
    });
    assert!((100_000..102_000).contains(&peak), "{peak}");
    drop(v);
}

/// Hands out at most one byte per `read` call.
#[derive(Debug)]
struct OneByteAtATime<'a> {
    data: &'a [u8],
}

impl io::Read for OneByteAtATime<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(1);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A header declaring a payload of almost 2 GiB followed by `following`
/// bytes: the reader reserves memory only as bytes arrive (at most one 64 KiB
/// read chunk, or twice what arrived), never for the declared length.
fn hostile_length_prefix_costs_only_what_arrives<D: Deframer + Default>(following: usize) {
    let header_len = D::default().header_len();
    let mut stream = vec![0xFF, 0xFF, 0xFF, 0x7F];
    stream.resize(header_len + following, 0xA5);
    let bound = (64 * 1024).max(2 * stream.len());
    for one_byte in [false, true] {
        if one_byte && following > 100_000 {
            continue;
        }
        let (err, largest) = largest_allocation_in(|| {
            let result = if one_byte {
                StreamReader::new(OneByteAtATime { data: &stream }, D::default())
                    .read_message()
                    .map(|p| p.map(<[u8]>::len))
            } else {
                StreamReader::new(stream.as_slice(), D::default())
                    .read_message()
                    .map(|p| p.map(<[u8]>::len))
            };
            result.expect_err("a torn tail")
        });
        assert!(
            matches!(
                *err.kind(),
                flatstream::ErrorKind::UnexpectedEof { available, required }
                    if available == stream.len() as u64
                        && required == (header_len + 0x7FFF_FFFF) as u64
            ),
            "{err:?}"
        );
        assert!(
            largest <= bound,
            "{following} bytes after the header cost an allocation of {largest} bytes"
        );
    }
}

/// A header declaring exactly 2 GiB (the default limit, so the length is
/// accepted and the reader waits for the payload): the length prefix alone,
/// or the whole header (a zero checksum), then `following` payload bytes.
fn header_declaring_2_gib<D: Deframer + Default>(whole_header: bool, following: usize) -> Vec<u8> {
    let mut stream = (1u32 << 31).to_le_bytes().to_vec();
    if whole_header {
        stream.resize(D::default().header_len(), 0);
    }
    stream.resize(stream.len() + following, 0xA5);
    stream
}

/// Reads `stream` (through `reader`) to its torn end with `read_message`,
/// and with `recover`, checking the torn tail and that neither held more
/// than `bound` bytes of memory at once.
fn torn_2_gib_frame_costs_at_most<D: Deframer + Default>(stream: &[u8], bound: usize) {
    let header_len = D::default().header_len();
    let required = if stream.len() < header_len {
        header_len
    } else {
        header_len + (1 << 31)
    } as u64;
    for one_byte in [false, true] {
        let (err, peak) = peak_extra_bytes_in(|| {
            let result = if one_byte {
                StreamReader::new(OneByteAtATime { data: stream }, D::default())
                    .read_message()
                    .map(|p| p.map(<[u8]>::len))
            } else {
                StreamReader::new(stream, D::default())
                    .read_message()
                    .map(|p| p.map(<[u8]>::len))
            };
            result.expect_err("a torn tail")
        });
        assert!(
            matches!(
                *err.kind(),
                flatstream::ErrorKind::UnexpectedEof { available, required: r }
                    if available == stream.len() as u64 && r == required
            ),
            "{err:?}"
        );
        assert!(
            peak <= bound,
            "{} bytes (one byte per read: {one_byte}) held {peak} bytes at once, over {bound}",
            stream.len()
        );

        let (recovery, peak) = peak_extra_bytes_in(|| {
            if one_byte {
                flatstream::recover(OneByteAtATime { data: stream }, D::default())
            } else {
                flatstream::recover(stream, D::default())
            }
            .expect("recover")
        });
        assert!(
            matches!(
                recovery.tail,
                flatstream::Tail::Torn { offset: 0, len } if len == stream.len() as u64
            ),
            "{recovery:?}"
        );
        assert!(
            peak <= bound,
            "recovering {} bytes (one byte per read: {one_byte}) held {peak} bytes at once",
            stream.len()
        );
    }
}

/// A 2 GiB header and then the end of input: at most 1 MiB, whatever the
/// source's read sizes.
fn two_gib_header_then_end_of_input_costs_at_most_1_mib<D: Deframer + Default>() {
    for whole_header in [false, true] {
        torn_2_gib_frame_costs_at_most::<D>(&header_declaring_2_gib::<D>(whole_header, 0), 1 << 20);
    }
}

/// A 2 GiB header and 100 KiB of payload bytes: memory follows the bytes
/// that arrived, at most twice them plus one 64 KiB read chunk.
fn payload_after_2_gib_header_costs_twice_what_arrived<D: Deframer + Default>() {
    let stream = header_declaring_2_gib::<D>(true, 100 * 1024);
    torn_2_gib_frame_costs_at_most::<D>(&stream, 2 * stream.len() + 64 * 1024);
}

/// A length over the limit is refused before anything is reserved for the
/// payload: reading costs no more than the reader's first read chunk
/// (64 KiB, reserved before anything is known about the stream).
fn over_the_limit_costs_no_payload_memory<D: Deframer + Default>() {
    let mut stream = u32::MAX.to_le_bytes().to_vec();
    stream.resize(D::default().header_len() + 100, 0xA5);
    let (err, peak) = peak_extra_bytes_in(|| {
        StreamReader::new(stream.as_slice(), D::default())
            .read_message()
            .map(|p| p.map(<[u8]>::len))
            .expect_err("too large")
    });
    assert!(
        matches!(err.kind(), flatstream::ErrorKind::FrameTooLarge { .. }),
        "{err:?}"
    );
    assert!(
        peak <= 64 * 1024 + 1024,
        "a refused length held {peak} bytes"
    );
}

/// Payload sizes for the scenarios: empty, small, around and above the
/// reader's 64 KiB read chunk.
const SIZES: [usize; 9] = [0, 1, 17, 255, 4096, 0, 65_535, 70_000, 12];

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j).to_le_bytes()[0]).collect()
}

fn write_stream<F: Framer + Default>(rounds: usize) -> (Vec<u8>, usize) {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let mut frames = 0;
    for i in 0..rounds {
        for (k, &len) in SIZES.iter().enumerate() {
            writer.write_payload(&payload(i + k, len)).expect("write");
            frames += 1;
        }
    }
    (writer.into_inner(), frames)
}

fn reading_allocates_nothing_after_warm_up<F: Framer + Default, D: Deframer + Default>() {
    let (bytes, frames) = write_stream::<F>(3);
    let mut reader = StreamReader::new(Cursor::new(bytes.as_slice()), D::default());

    // Warm-up: the reader's buffer grows to fit the largest frame, which the
    // counter sees.
    let mut seen = 0usize;
    let (result, n) = allocations_in(|| {
        reader.process_all(|_| {
            seen += 1;
            Ok(())
        })
    });
    result.expect("warm-up");
    assert!(n > 0, "the first pass allocates the reader's buffer");
    assert_eq!(seen, frames);

    // Measured: the same stream again (the source rewound), with process_all.
    reader.get_mut().set_position(0);
    let mut total = 0usize;
    let (result, n) = allocations_in(|| {
        reader.process_all(|payload| {
            total += payload.len();
            Ok(())
        })
    });
    result.expect("process_all");
    assert_eq!(n, 0, "process_all allocated {n} times");
    assert_eq!(total, frames / SIZES.len() * SIZES.iter().sum::<usize>());

    // Measured: and with messages().
    reader.get_mut().set_position(0);
    let (count, n) = allocations_in(|| {
        let mut count = 0usize;
        let mut messages = reader.messages();
        while let Some(payload) = messages.next().expect("messages") {
            count += usize::from(payload.len() < usize::MAX);
        }
        count
    });
    assert_eq!(n, 0, "messages() allocated {n} times");
    assert_eq!(count, frames);
    assert_eq!(reader.frames_read(), 3 * frames as u64);
}

fn raw_writes_allocate_nothing<F: Framer + Default>() {
    let payloads: Vec<Vec<u8>> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &len)| payload(i, len))
        .collect();
    let total: usize = payloads
        .iter()
        .map(|p| F::default().header_len() + p.len())
        .sum();

    let mut writer =
        StreamWriter::new(Vec::with_capacity(total), F::default()).allow_empty_payloads(true);
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            writer.write_payload(payload)?;
        }
        Ok(())
    });
    result.expect("write_payload");
    assert_eq!(n, 0, "write_payload to a reserved Vec allocated {n} times");
    assert_eq!(writer.get_ref().len(), total);

    let mut writer = StreamWriter::new(io::sink(), F::default()).allow_empty_payloads(true);
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            writer.write_payload(payload)?;
        }
        writer.flush()
    });
    result.expect("write_payload");
    assert_eq!(n, 0, "write_payload to io::sink() allocated {n} times");
    assert_eq!(writer.bytes_written(), total as u64);
}

fn build_vector(builder: &mut FlatBufferBuilder<'_>, payload: &[u8]) {
    builder.reset();
    let root = builder.create_vector(payload);
    builder.finish(root, None);
}

fn expert_mode_writes_allocate_nothing_after_warm_up<F: Framer + Default>() {
    let payloads: Vec<Vec<u8>> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &len)| payload(i, len))
        .collect();
    let mut builder = FlatBufferBuilder::new();
    // Warm-up: the builder grows to the largest message.
    let mut writer = StreamWriter::new(io::sink(), F::default()).allow_empty_payloads(true);
    for payload in &payloads {
        build_vector(&mut builder, payload);
        writer.write_finished(&mut builder).expect("warm-up");
    }

    // Writing alone, to a reserved Vec: the builder is finished beforehand.
    build_vector(&mut builder, &payloads[7]);
    let mut writer =
        StreamWriter::new(Vec::with_capacity(1 << 20), F::default()).allow_empty_payloads(true);
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for _ in 0..10 {
            writer.write_finished(&mut builder)?;
        }
        Ok(())
    });
    result.expect("write_finished");
    assert_eq!(n, 0, "write_finished allocated {n} times");
    assert_eq!(writer.frames_written(), 10);

    // Building and writing, to io::sink(): the warmed-up builder reuses its
    // capacity.
    let mut writer = StreamWriter::new(io::sink(), F::default()).allow_empty_payloads(true);
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            build_vector(&mut builder, payload);
            writer.write_finished(&mut builder)?;
        }
        Ok(())
    });
    result.expect("build and write_finished");
    assert_eq!(n, 0, "build + write_finished allocated {n} times");
}

fn simple_mode_writes_allocate_nothing_after_warm_up<F: Framer + Default>() {
    let texts: Vec<String> = SIZES.iter().map(|&len| "é".repeat(len / 2) + "!").collect();
    let mut writer =
        StreamWriter::new(Vec::with_capacity(1 << 20), F::default()).allow_empty_payloads(true);
    // Warm-up: the internal builder grows to the largest message.
    for text in &texts {
        writer.write(text.as_str()).expect("warm-up");
    }
    let warm = writer.bytes_written();

    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for text in &texts {
            writer.write(text.as_str())?;
            writer.write(text)?;
        }
        Ok(())
    });
    result.expect("write");
    assert_eq!(n, 0, "simple mode write allocated {n} times");
    assert_eq!(writer.bytes_written(), 3 * warm);
}

// ---------------------------------------------------------------------------
// With adapters installed: `bounded`, `observed` and `validated`, stacked over
// the framer or deframer of the pair, allocate nothing in the steady state.

/// The limit of the adapter stacks below, for `Bounded` and `SizeValidator`.
const ADAPTER_LIMIT: usize = 1 << 20;

/// `framer` under the stack: bounded, observed (summing payload
/// lengths into `observed`) and validated by a size check and `validator`.
fn framer_stack<F: Framer, V: Validator>(
    framer: F,
    observed: &Cell<usize>,
    validator: V,
) -> impl Framer {
    framer
        .bounded(ADAPTER_LIMIT)
        .observed(move |payload: &[u8]| observed.set(observed.get() + payload.len()))
        .validated((SizeValidator::at_most(ADAPTER_LIMIT), validator))
}

/// The same stack over a deframer.
fn deframer_stack<D: Deframer, V: Validator>(
    deframer: D,
    observed: &Cell<usize>,
    validator: V,
) -> impl Deframer {
    deframer
        .bounded(ADAPTER_LIMIT)
        .observed(move |payload: &[u8]| observed.set(observed.get() + payload.len()))
        .validated((SizeValidator::at_most(ADAPTER_LIMIT), validator))
}

/// Reads `bytes` (`frames` frames, `payload_bytes` bytes of payload) three
/// times through `deframer`: a warm-up, then `process_all` and `messages()`,
/// counted. `observed` is the counter of the deframer's observer.
fn read_three_times_allocating_nothing_after_warm_up<D: Deframer>(
    bytes: &[u8],
    frames: usize,
    payload_bytes: usize,
    deframer: D,
    observed: &Cell<usize>,
) {
    let mut reader = StreamReader::new(Cursor::new(bytes), deframer);
    let mut seen = 0usize;
    reader
        .process_all(|_| {
            seen += 1;
            Ok(())
        })
        .expect("warm-up");
    assert_eq!(seen, frames);
    assert_eq!(observed.get(), payload_bytes);

    reader.get_mut().set_position(0);
    let mut total = 0usize;
    let (result, n) = allocations_in(|| {
        reader.process_all(|payload| {
            total += payload.len();
            Ok(())
        })
    });
    result.expect("process_all");
    assert_eq!(n, 0, "process_all through the adapters allocated {n} times");
    assert_eq!(total, payload_bytes);
    assert_eq!(observed.get(), 2 * payload_bytes);

    reader.get_mut().set_position(0);
    let (count, n) = allocations_in(|| {
        let mut count = 0usize;
        let mut messages = reader.messages();
        while let Some(payload) = messages.next().expect("messages") {
            count += usize::from(payload.len() < usize::MAX);
        }
        count
    });
    assert_eq!(n, 0, "messages() through the adapters allocated {n} times");
    assert_eq!(count, frames);
    assert_eq!(observed.get(), 3 * payload_bytes);
}

fn reading_through_adapters_allocates_nothing_after_warm_up<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let (bytes, frames) = write_stream::<F>(3);
    let payload_bytes = frames / SIZES.len() * SIZES.iter().sum::<usize>();
    let observed = Cell::new(0);
    let deframer = deframer_stack(D::default(), &observed, NoValidator);
    read_three_times_allocating_nothing_after_warm_up(
        &bytes,
        frames,
        payload_bytes,
        deframer,
        &observed,
    );
}

fn writing_through_adapters_allocates_nothing<F: Framer + Default>() {
    let payloads: Vec<Vec<u8>> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &len)| payload(i, len))
        .collect();
    let payload_bytes: usize = payloads.iter().map(Vec::len).sum();
    let total: usize = payloads
        .iter()
        .map(|p| F::default().header_len() + p.len())
        .sum();
    let observed = Cell::new(0);

    // Raw payloads, to a reserved Vec and to io::sink(): nothing to warm up.
    let framer = framer_stack(F::default(), &observed, NoValidator);
    let mut writer =
        StreamWriter::new(Vec::with_capacity(total), framer).allow_empty_payloads(true);
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            writer.write_payload(payload)?;
        }
        Ok(())
    });
    result.expect("write_payload");
    assert_eq!(
        n, 0,
        "write_payload through the adapters allocated {n} times"
    );
    assert_eq!(writer.get_ref().len(), total);
    assert_eq!(observed.get(), payload_bytes);

    let framer = framer_stack(F::default(), &observed, NoValidator);
    let mut writer = StreamWriter::new(io::sink(), framer).allow_empty_payloads(true);
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            writer.write_payload(payload)?;
        }
        writer.flush()
    });
    result.expect("write_payload");
    assert_eq!(n, 0, "write_payload to io::sink() allocated {n} times");
    assert_eq!(writer.bytes_written(), total as u64);
    assert_eq!(observed.get(), 2 * payload_bytes);

    // Expert mode: a warmed-up builder, built and written in the loop.
    let mut builder = FlatBufferBuilder::new();
    let framer = framer_stack(F::default(), &observed, NoValidator);
    let mut writer = StreamWriter::new(io::sink(), framer).allow_empty_payloads(true);
    for payload in &payloads {
        build_vector(&mut builder, payload);
        writer.write_finished(&mut builder).expect("warm-up");
    }
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            build_vector(&mut builder, payload);
            writer.write_finished(&mut builder)?;
        }
        Ok(())
    });
    result.expect("build and write_finished");
    assert_eq!(
        n, 0,
        "write_finished through the adapters allocated {n} times"
    );
    assert_eq!(writer.frames_written(), 2 * payloads.len() as u64);

    // Simple mode: the internal builder, warmed up.
    let texts: Vec<String> = SIZES.iter().map(|&len| "é".repeat(len / 2) + "!").collect();
    let framer = framer_stack(F::default(), &observed, NoValidator);
    let mut writer = StreamWriter::new(io::sink(), framer).allow_empty_payloads(true);
    for text in &texts {
        writer.write(text.as_str()).expect("warm-up");
    }
    let warm = writer.bytes_written();
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for text in &texts {
            writer.write(text.as_str())?;
        }
        Ok(())
    });
    result.expect("write");
    assert_eq!(
        n, 0,
        "simple mode write through the adapters allocated {n} times"
    );
    assert_eq!(writer.bytes_written(), 2 * warm);
}

/// `Telemetry` readings `0..count`, prepared outside any measurement (a
/// `Reading` owns a `String` and a `Vec`).
fn readings(count: u64) -> Vec<Reading> {
    (0..count).map(Reading::sample).collect()
}

/// The structural check of `Telemetry` roots, with their file identifier.
fn telemetry_validator() -> RootTableValidator {
    RootTableValidator::new().with_identifier(telemetry::TELEMETRY_IDENTIFIER)
}

fn telemetry_through_validating_adapters_allocates_nothing<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    const COUNT: u64 = 300;
    let readings = readings(COUNT);
    let observed = Cell::new(0);

    // Writing, simple mode with flatc's builders, every payload checked by
    // `RootTableValidator` before it is written.
    let framer = framer_stack(F::default(), &observed, telemetry_validator());
    let mut writer =
        StreamWriter::new(Vec::with_capacity(1 << 20), framer).allow_empty_payloads(true);
    for reading in &readings {
        write_reading(&mut writer, reading).expect("warm-up");
    }
    let warm = writer.bytes_written();
    let payload_bytes = observed.get();
    assert!(payload_bytes > 0, "the observer saw every payload");
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for reading in &readings {
            write_reading(&mut writer, reading)?;
        }
        Ok(())
    });
    result.expect("write_reading");
    assert_eq!(
        n, 0,
        "writing Telemetry through RootTableValidator allocated {n} times"
    );
    assert_eq!(writer.bytes_written(), 2 * warm);
    assert_eq!(observed.get(), 2 * payload_bytes);
    let bytes = writer.into_inner();

    // Reading it back (both passes: 600 frames), every payload checked.
    let observed = Cell::new(0);
    let deframer = deframer_stack(D::default(), &observed, telemetry_validator());
    read_three_times_allocating_nothing_after_warm_up(
        &bytes,
        2 * readings.len(),
        2 * payload_bytes,
        deframer,
        &observed,
    );
}

// ---------------------------------------------------------------------------
// Memory policies: the tests above run without one (the default), so the
// steady state without a policy is still allocation-free. A policy that is
// consulted but does not fire costs no allocation either. (When they fire,
// see `memory_policy.rs`.)

/// The policies of the tests below: neither fires on these streams, whose
/// buffers stay far below 1 MiB and whose sizes vary within a factor of 4.
fn quiet_policies(clock: &Arc<ManualClock>) -> [Box<dyn MemoryPolicy + Send>; 2] {
    [
        Box::new(ShrinkAbove::new(1 << 20, 64 << 10)),
        Box::new(AdaptiveWatermark::new(WINDOW, 0, Arc::clone(clock))),
    ]
}

/// The window of the `AdaptiveWatermark` policies; the tests move their clock
/// by one window before each pass, so that each pass ends a window.
const WINDOW: Duration = Duration::from_secs(1);

fn reading_with_a_quiet_policy_allocates_nothing_after_warm_up<
    F: Framer + Default,
    D: Deframer + Default,
>() {
    let (bytes, frames) = write_stream::<F>(3);
    let clock = Arc::new(ManualClock::default());
    for policy in quiet_policies(&clock) {
        let mut reader = StreamReader::new(Cursor::new(bytes.as_slice()), D::default())
            .with_memory_policy(policy);
        let mut seen = 0usize;
        reader
            .process_all(|_| {
                seen += 1;
                Ok(())
            })
            .expect("warm-up");
        assert_eq!(seen, frames);
        let capacity = reader.capacity();
        for pass in 0..3 {
            clock.advance(WINDOW);
            reader.get_mut().set_position(0);
            let mut total = 0usize;
            let (result, n) = allocations_in(|| {
                reader.process_all(|payload| {
                    total += payload.len();
                    Ok(())
                })
            });
            result.expect("process_all");
            assert_eq!(n, 0, "pass {pass} allocated {n} times");
            assert_eq!(total, frames / SIZES.len() * SIZES.iter().sum::<usize>());
            assert_eq!(reader.capacity(), capacity);
        }
    }
}

fn simple_mode_with_a_quiet_policy_allocates_nothing_after_warm_up<F: Framer + Default>() {
    let texts: Vec<String> = SIZES.iter().map(|&len| "é".repeat(len / 2) + "!").collect();
    let clock = Arc::new(ManualClock::default());
    for policy in quiet_policies(&clock) {
        let mut writer = StreamWriter::new(io::sink(), F::default())
            .allow_empty_payloads(true)
            .with_memory_policy(policy);
        for text in &texts {
            writer.write(text.as_str()).expect("warm-up");
        }
        let warm = writer.bytes_written();
        for pass in 0..3 {
            clock.advance(WINDOW);
            let (result, n) = allocations_in(|| -> flatstream::Result<()> {
                for text in &texts {
                    writer.write(text.as_str())?;
                }
                Ok(())
            });
            result.expect("write");
            assert_eq!(n, 0, "pass {pass} allocated {n} times");
        }
        assert_eq!(writer.bytes_written(), 4 * warm);
    }
}

macro_rules! alloc_free_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn process_all_and_messages_allocate_nothing_after_warm_up() {
                reading_allocates_nothing_after_warm_up::<F, D>();
            }

            #[test]
            fn write_payload_to_reserved_vec_or_sink_allocates_nothing() {
                raw_writes_allocate_nothing::<F>();
            }

            #[test]
            fn write_finished_allocates_nothing_after_warm_up() {
                expert_mode_writes_allocate_nothing_after_warm_up::<F>();
            }

            #[test]
            fn hostile_length_prefix_reserves_memory_only_as_bytes_arrive() {
                for following in [0, 10, 70_000, 3_000_000] {
                    hostile_length_prefix_costs_only_what_arrives::<D>(following);
                }
            }

            #[test]
            fn simple_mode_write_allocates_nothing_after_warm_up() {
                simple_mode_writes_allocate_nothing_after_warm_up::<F>();
            }

            #[test]
            fn header_declaring_2_gib_then_end_of_input_costs_at_most_1_mib() {
                two_gib_header_then_end_of_input_costs_at_most_1_mib::<D>();
            }

            #[test]
            fn payload_bytes_after_a_2_gib_header_cost_at_most_twice_what_arrived() {
                payload_after_2_gib_header_costs_twice_what_arrived::<D>();
            }

            #[test]
            fn length_over_the_limit_is_refused_before_reserving_payload_memory() {
                over_the_limit_costs_no_payload_memory::<D>();
            }

            #[test]
            fn reading_through_bounded_observed_validated_allocates_nothing() {
                reading_through_adapters_allocates_nothing_after_warm_up::<F, D>();
            }

            #[test]
            fn writing_through_bounded_observed_validated_allocates_nothing() {
                writing_through_adapters_allocates_nothing::<F>();
            }

            #[test]
            fn telemetry_through_root_table_validator_allocates_nothing() {
                telemetry_through_validating_adapters_allocates_nothing::<F, D>();
            }

            #[test]
            fn reading_with_a_policy_that_does_not_fire_allocates_nothing() {
                reading_with_a_quiet_policy_allocates_nothing_after_warm_up::<F, D>();
            }

            #[test]
            fn simple_mode_with_a_policy_that_does_not_fire_allocates_nothing() {
                simple_mode_with_a_quiet_policy_allocates_nothing_after_warm_up::<F>();
            }
        }
    };
}

framers::for_each_framer_pair!(alloc_free_tests);
