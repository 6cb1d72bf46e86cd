//! Steady-state reading and writing allocate nothing, for every framer pair of
//! this build. A counting global allocator counts the allocations made by the
//! current thread; each scenario warms up first (the reader's buffer and the
//! builders reach their final size), then counts the measured pass. Also: a
//! hostile length prefix costs memory only for the bytes that follow it.

// A `GlobalAlloc` impl is unsafe by definition; it only forwards to `System`.
#![allow(unsafe_code)]

#[path = "support/framers.rs"]
mod framers;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use std::alloc::System;
use std::io::{self, Cursor};

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{Deframer, Framer, StreamReader, StreamWriter};

/// `System`, counting allocations and reallocations per thread.
struct CountingAllocator;

thread_local! {
    /// Allocations (and reallocations) made by this thread so far. A `const`
    /// initialiser with no destructor: accessing it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// The largest size this thread asked for since it was last reset.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn count_one(size: usize) {
    // `try_with` fails only while the thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = LARGEST.try_with(|n| n.set(n.get().max(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one(layout.size());
        // SAFETY: forwarded with the caller's guarantees about `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one(layout.size());
        // SAFETY: forwarded with the caller's guarantees about `layout`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one(new_size);
        // SAFETY: `ptr` was allocated by `System` (through this allocator)
        // with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the number of allocations it made on
/// this thread.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (out, after - before)
}

/// Runs `f` and returns its result with the largest single allocation it
/// made on this thread.
fn largest_allocation_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|n| n.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations_in(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1);
    let (v, largest) = largest_allocation_in(|| vec![1u8; 1000]);
    assert_eq!(v.len(), 1000);
    assert!(largest >= 1000);
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

/// Payload sizes for the scenarios: empty, small, around and above the
/// reader's 64 KiB read chunk.
const SIZES: [usize; 9] = [0, 1, 17, 255, 4096, 0, 65_535, 70_000, 12];

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j).to_le_bytes()[0]).collect()
}

fn write_stream<F: Framer + Default>(rounds: usize) -> (Vec<u8>, usize) {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
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

    let mut writer = StreamWriter::new(Vec::with_capacity(total), F::default());
    let (result, n) = allocations_in(|| -> flatstream::Result<()> {
        for payload in &payloads {
            writer.write_payload(payload)?;
        }
        Ok(())
    });
    result.expect("write_payload");
    assert_eq!(n, 0, "write_payload to a reserved Vec allocated {n} times");
    assert_eq!(writer.get_ref().len(), total);

    let mut writer = StreamWriter::new(io::sink(), F::default());
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
    let mut writer = StreamWriter::new(io::sink(), F::default());
    for payload in &payloads {
        build_vector(&mut builder, payload);
        writer.write_finished(&mut builder).expect("warm-up");
    }

    // Writing alone, to a reserved Vec: the builder is finished beforehand.
    build_vector(&mut builder, &payloads[7]);
    let mut writer = StreamWriter::new(Vec::with_capacity(1 << 20), F::default());
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
    let mut writer = StreamWriter::new(io::sink(), F::default());
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
    let mut writer = StreamWriter::new(Vec::with_capacity(1 << 20), F::default());
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
        }
    };
}

framers::for_each_framer_pair!(alloc_free_tests);
