//! The adapters (`bounded`, `observed`, `validated`) and the validators on
//! raw bytes: composition in any order, what runs when, zero cost when
//! unused, and the structural check's reach.

use core::cell::RefCell;

use flatstream_core::flatbuffers::{FlatBufferBuilder, InvalidFlatbuffer, VerifierOptions};
use flatstream_core::{
    Checksum, Decoded, Deframer, ErrorKind, Framer, Result, StreamReader, StreamWriter, decode,
};
use flatstream_framing::{
    Bounded, ChecksumDeframer, ChecksumFramer, DefaultDeframer, DefaultFramer, DeframerExt,
    FramerExt, NoValidator, Observed, RootTableValidator, SizeValidator, TypedValidator, Validated,
    Validator,
};

/// A 2-byte checksum for tests: the byte sum and the byte count.
#[derive(Debug, Clone, Copy, Default)]
struct SumCount;

impl Checksum for SumCount {
    const SIZE: usize = 2;
    const NAME: &'static str = "SUM-COUNT";
    fn checksum(&self, payload: &[u8]) -> u64 {
        let sum = payload.iter().fold(0u8, |acc, b| acc.wrapping_add(*b));
        let count = payload.len() as u64 & 0xFF;
        u64::from(sum) | count << 8
    }
}

/// Records, in a shared log, each call made to it, and refuses payloads
/// that start with `refuse`.
#[derive(Debug, Clone, Copy)]
struct Probe<'a> {
    name: &'static str,
    refuse: u8,
    log: &'a RefCell<Vec<String>>,
}

impl Validator for Probe<'_> {
    fn validate(&mut self, payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        self.log
            .borrow_mut()
            .push(format!("validate {}", self.name));
        if payload.first() == Some(&self.refuse) {
            Err(ErrorKind::Invalid {
                validator: self.name,
                reason: format!("starts with {}", self.refuse),
            })
        } else {
            Ok(())
        }
    }
}

/// A framer and deframer that log their calls to the same shared log.
#[derive(Debug, Clone, Copy)]
struct Logged<'a, T> {
    inner: T,
    log: &'a RefCell<Vec<String>>,
}

impl<F: Framer> Framer for Logged<'_, F> {
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        self.log.borrow_mut().push("encode_header".into());
        self.inner.encode_header(payload, header)
    }
}

impl<D: Deframer> Deframer for Logged<'_, D> {
    fn header_len(&self) -> usize {
        self.inner.header_len()
    }
    fn verify(&mut self, header: &[u8], payload: &[u8]) -> core::result::Result<(), ErrorKind> {
        let result = self.inner.verify(header, payload);
        self.log
            .borrow_mut()
            .push(format!("verify ok={}", result.is_ok()));
        result
    }
    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }
}

/// `T::clone`, through a generic bound: proof that `T: Clone`.
fn cloned<T: Clone>(value: &T) -> T {
    value.clone()
}

fn frame<F: Framer>(mut framer: F, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    framer.encode_into(payload, &mut out).expect("framed");
    out
}

fn invalid_name(err: &ErrorKind) -> Option<&'static str> {
    match err {
        ErrorKind::Invalid { validator, .. } => Some(validator),
        _ => None,
    }
}

/// A finished FlatBuffer with an empty root table and file identifier `id`.
fn empty_table(id: Option<&str>) -> Vec<u8> {
    let mut builder = FlatBufferBuilder::new();
    let start = builder.start_table();
    let root = builder.end_table(start);
    builder.finish(root, id);
    builder.finished_data().to_vec()
}

/// A finished FlatBuffer whose root table has one scalar field.
fn one_field_table() -> Vec<u8> {
    let mut builder = FlatBufferBuilder::new();
    let start = builder.start_table();
    builder.push_slot_always::<u64>(4, 0x0102_0304_0506_0708);
    let root = builder.end_table(start);
    builder.finish(root, Some("ONE1"));
    builder.finished_data().to_vec()
}

#[test]
fn adapters_over_unit_framers_are_zero_sized() {
    assert_eq!(size_of::<Validated<DefaultFramer, NoValidator>>(), 0);
    assert_eq!(size_of::<Validated<DefaultDeframer, NoValidator>>(), 0);
    assert_eq!(
        size_of::<Validated<ChecksumFramer<SumCount>, NoValidator>>(),
        0
    );
    assert_eq!(
        size_of::<Validated<ChecksumDeframer<SumCount>, NoValidator>>(),
        0
    );
    assert_eq!(
        size_of::<Validated<DefaultFramer, (NoValidator, NoValidator, NoValidator)>>(),
        0
    );
    assert_eq!(size_of::<NoValidator>(), 0);
    // A callback that captures nothing costs nothing either.
    assert_eq!(size_of_val(&DefaultFramer.observed(|_| {})), 0);
    assert_eq!(
        size_of_val(&DefaultDeframer.validated(NoValidator).observed(|_| {})),
        0
    );
    // A limit is one `usize`, a borrowed counter one pointer.
    assert_eq!(
        size_of::<Bounded<Validated<DefaultFramer, NoValidator>>>(),
        size_of::<usize>()
    );
    let mut count = 0;
    assert_eq!(
        size_of_val(&DefaultFramer.observed(|_| count += 1)),
        size_of::<usize>()
    );
}

#[test]
fn adapters_are_debug_clone_and_default_where_they_can_be() {
    let framer = DefaultFramer
        .bounded(64)
        .validated((SizeValidator::at_least(1), NoValidator))
        .observed(|_| {});
    let copy = cloned(&framer);
    let debug = format!("{copy:?}");
    assert!(
        debug.starts_with(
            "Observed { inner: Validated { inner: Bounded { inner: DefaultFramer, max_frame_len: 64 }, validator: (SizeValidator { min: 1, max: 18446744073709551615 }, NoValidator) }, observer: \""
        ),
        "{debug}"
    );
    let typed = TypedValidator::new("Thing", |_: &[u8]| Ok(()));
    let debug = format!("{:?}", cloned(&typed));
    assert!(
        debug.starts_with("TypedValidator { name: \"Thing\", verify: \""),
        "{debug}"
    );
    assert_eq!(
        format!("{:?}", RootTableValidator::new().with_identifier("TLM1")),
        format!(
            "RootTableValidator {{ options: {:?}, identifier: Some(\"TLM1\") }}",
            VerifierOptions::default()
        )
    );

    let _: Validated<DefaultFramer, NoValidator> = Default::default();
    let _: Validated<ChecksumDeframer<SumCount>, RootTableValidator> = Default::default();
    assert_eq!(SizeValidator::default(), SizeValidator::new(0, usize::MAX));
    assert_eq!(RootTableValidator::default(), RootTableValidator::new());
}

#[test]
fn bounded_and_with_max_frame_len_are_one_adapter() {
    assert_eq!(
        DefaultFramer.bounded(10),
        DefaultFramer.with_max_frame_len(10)
    );
    assert_eq!(
        DefaultDeframer.bounded(10),
        DefaultDeframer.with_max_frame_len(10)
    );
    assert_eq!(Bounded::new(DefaultFramer, 10), DefaultFramer.bounded(10));
}

/// Every order of the three adapters, twice bounded, on both sides: the
/// smallest limit wins wherever it sits.
#[test]
fn limits_compose_through_every_adapter_in_any_order() {
    let f1 = DefaultFramer
        .bounded(100)
        .observed(|_| {})
        .validated(NoValidator);
    let f2 = DefaultFramer
        .observed(|_| {})
        .bounded(100)
        .validated(NoValidator);
    let f3 = DefaultFramer
        .validated(NoValidator)
        .observed(|_| {})
        .bounded(100);
    let f4 = ChecksumFramer::new(SumCount)
        .bounded(1000)
        .validated(NoValidator)
        .bounded(100)
        .observed(|_| {});
    assert_eq!(
        [
            f1.max_frame_len(),
            f2.max_frame_len(),
            f3.max_frame_len(),
            f4.max_frame_len()
        ],
        [100; 4]
    );
    assert_eq!(DefaultFramer.observed(|_| {}).max_frame_len(), usize::MAX);

    let mut d1 = DefaultDeframer
        .bounded(100)
        .observed(|_| {})
        .validated(NoValidator);
    let d2 = DefaultDeframer
        .validated(NoValidator)
        .bounded(1000)
        .observed(|_| {})
        .bounded(100);
    let mut d3 = ChecksumDeframer::new(SumCount)
        .observed(|_| {})
        .validated(NoValidator)
        .bounded(100);
    assert_eq!([d1.max_frame_len(), d2.max_frame_len()], [100, 100]);
    // `decode` is the provided state machine, which applies the adapters' limit.
    let header = 101u32.to_le_bytes();
    for err in [
        decode(&mut d1, &header, usize::MAX).unwrap_err(),
        decode(&mut d3, &header, usize::MAX).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                ErrorKind::FrameTooLarge {
                    declared: 101,
                    limit: 100
                }
            ),
            "{err}"
        );
    }
    // The caller's limit still applies when it is smaller.
    assert!(matches!(
        decode(&mut d1, &header, 50).unwrap_err(),
        ErrorKind::FrameTooLarge {
            declared: 101,
            limit: 50
        }
    ));
}

#[test]
fn adapters_do_not_change_the_wire() {
    let payload = b"the same bytes";
    let plain = frame(ChecksumFramer::new(SumCount), payload);
    let adapted = frame(
        ChecksumFramer::new(SumCount)
            .validated(SizeValidator::at_least(1))
            .observed(|_| {})
            .bounded(64),
        payload,
    );
    assert_eq!(plain, adapted);
    let mut deframer = ChecksumDeframer::new(SumCount)
        .bounded(64)
        .observed(|_| {})
        .validated(SizeValidator::at_least(1));
    assert_eq!(deframer.header_len(), 6);
    assert_eq!(
        decode(&mut deframer, &plain, 1024).unwrap(),
        Decoded::Frame {
            payload_start: 6,
            frame_len: plain.len()
        }
    );
    assert_eq!(
        decode(&mut deframer, &plain[..7], 1024).unwrap(),
        Decoded::Incomplete {
            needed: plain.len() - 7,
            required: plain.len()
        }
    );
}

#[test]
fn write_side_validation_runs_before_the_inner_framer() {
    let log = RefCell::new(Vec::new());
    let probe = Probe {
        name: "probe",
        refuse: 0xEE,
        log: &log,
    };
    let mut framer = Logged {
        inner: DefaultFramer,
        log: &log,
    }
    .validated(probe);
    let mut out = Vec::new();
    let err = framer.encode_into(&[0xEE, 1], &mut out).unwrap_err();
    assert_eq!(invalid_name(err.kind()), Some("probe"));
    assert!(out.is_empty(), "nothing was appended");
    assert_eq!(*log.borrow(), ["validate probe"], "the framer never ran");

    log.borrow_mut().clear();
    framer.encode_into(&[1], &mut out).unwrap();
    assert_eq!(*log.borrow(), ["validate probe", "encode_header"]);
    assert_eq!(out, [1, 0, 0, 0, 1]);
}

#[test]
fn read_side_validation_runs_after_the_checksum() {
    let log = RefCell::new(Vec::new());
    let probe = Probe {
        name: "probe",
        refuse: 0xEE,
        log: &log,
    };
    let mut deframer = Logged {
        inner: ChecksumDeframer::new(SumCount),
        log: &log,
    }
    .validated(probe);

    // A damaged payload: the checksum catches it and the validator never runs.
    let mut damaged = frame(ChecksumFramer::new(SumCount), &[1, 2, 3]);
    damaged[7] ^= 0x40;
    let err = decode(&mut deframer, &damaged, 1024).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::ChecksumMismatch {
                algorithm: "SUM-COUNT",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(*log.borrow(), ["verify ok=false"]);

    // Intact but unacceptable: the checksum passes, then the validator refuses.
    log.borrow_mut().clear();
    let refused = frame(ChecksumFramer::new(SumCount), &[0xEE, 2, 3]);
    let err = decode(&mut deframer, &refused, 1024).unwrap_err();
    assert_eq!(invalid_name(&err), Some("probe"));
    assert_eq!(
        err.to_string(),
        "payload rejected by probe: starts with 238"
    );
    assert_eq!(*log.borrow(), ["verify ok=true", "validate probe"]);

    // An incomplete frame runs neither.
    log.borrow_mut().clear();
    assert!(matches!(
        decode(&mut deframer, &refused[..8], 1024).unwrap(),
        Decoded::Incomplete { .. }
    ));
    assert!(log.borrow().is_empty());
}

#[test]
fn stacked_validators_run_outermost_first_on_write_and_innermost_first_on_read() {
    let log = RefCell::new(Vec::new());
    let probe = |name, refuse| Probe {
        name,
        refuse,
        log: &log,
    };
    let mut framer = DefaultFramer
        .validated(probe("inner", 1))
        .validated(probe("outer", 2));
    framer.encode_into(&[0], &mut Vec::new()).unwrap();
    assert_eq!(*log.borrow(), ["validate outer", "validate inner"]);

    log.borrow_mut().clear();
    let mut deframer = DefaultDeframer
        .validated(probe("inner", 1))
        .validated(probe("outer", 2));
    decode(&mut deframer, &frame(DefaultFramer, &[0]), 64).unwrap();
    assert_eq!(*log.borrow(), ["validate inner", "validate outer"]);

    // The first refusal wins, and later validators do not run.
    log.borrow_mut().clear();
    let err = decode(&mut deframer, &frame(DefaultFramer, &[1]), 64).unwrap_err();
    assert_eq!(invalid_name(&err), Some("inner"));
    assert_eq!(*log.borrow(), ["validate inner"]);
}

#[test]
fn tuple_validators_run_in_order_and_the_first_refusal_wins() {
    let log = RefCell::new(Vec::new());
    let probe = |name, refuse| Probe {
        name,
        refuse,
        log: &log,
    };
    let mut four = (probe("a", 1), probe("b", 2), probe("c", 3), probe("d", 4));
    four.validate(&[0]).unwrap();
    assert_eq!(
        *log.borrow(),
        ["validate a", "validate b", "validate c", "validate d"]
    );
    log.borrow_mut().clear();
    assert_eq!(invalid_name(&four.validate(&[3]).unwrap_err()), Some("c"));
    assert_eq!(
        *log.borrow(),
        ["validate a", "validate b", "validate c"],
        "d did not run"
    );

    let mut two = (SizeValidator::at_least(2), probe("b", 2));
    assert_eq!(
        invalid_name(&two.validate(&[2]).unwrap_err()),
        Some("SizeValidator")
    );
    let mut three = (NoValidator, SizeValidator::at_most(8), probe("c", 3));
    assert_eq!(invalid_name(&three.validate(&[3]).unwrap_err()), Some("c"));
    // Nested tuples are validators too, and so are `&mut V` and `Box<dyn Validator>`.
    let mut nested = ((NoValidator, NoValidator), &mut two);
    assert!(nested.validate(&[0, 0]).is_ok());
    let mut boxed: Box<dyn Validator> = Box::new(SizeValidator::at_most(1));
    assert!(boxed.validate(&[0, 0]).is_err());
}

#[test]
fn write_side_observer_sees_each_accepted_payload_in_any_order() {
    let mut seen_outside = Vec::new();
    let mut seen_inside = Vec::new();
    {
        // Observer outside the validator, and observer inside it.
        let mut outside = DefaultFramer
            .validated(SizeValidator::at_least(1))
            .observed(|p| seen_outside.push(p.to_vec()));
        let mut inside = DefaultFramer
            .observed(|p| seen_inside.push(p.to_vec()))
            .validated(SizeValidator::at_least(1));
        for payload in [&b"a"[..], b"", b"bc"] {
            let mut sink = Vec::new();
            let _ = outside.encode_into(payload, &mut sink);
            let _ = inside.encode_into(payload, &mut sink);
        }
    }
    assert_eq!(seen_outside, [b"a".to_vec(), b"bc".to_vec()]);
    assert_eq!(
        seen_inside, seen_outside,
        "order does not matter on writing"
    );
}

#[test]
fn read_side_observer_order_decides_whether_it_sees_refused_payloads() {
    let stream: Vec<u8> = [&b"a"[..], b"", b"bc"]
        .iter()
        .flat_map(|p| frame(ChecksumFramer::new(SumCount), p))
        .collect();
    let (mut all, mut valid) = (0, 0);
    let mut deframer = ChecksumDeframer::new(SumCount)
        .observed(|_| all += 1)
        .validated(SizeValidator::at_least(1))
        .observed(|_| valid += 1);
    let mut rest = &stream[..];
    let mut results = Vec::new();
    while !rest.is_empty() {
        let frame_len = 6 + rest[0] as usize;
        results.push(decode(&mut deframer, rest, 64).map(|_| ()).map_err(|e| {
            invalid_name(&e).expect("only the validator refuses");
        }));
        rest = &rest[frame_len..];
    }
    assert_eq!(results, [Ok(()), Err(()), Ok(())]);
    assert_eq!((all, valid), (3, 2));
}

#[test]
fn read_side_observer_never_sees_damaged_or_oversized_frames() {
    let mut seen = 0;
    let mut deframer = ChecksumDeframer::new(SumCount)
        .observed(|_| seen += 1)
        .bounded(4);
    let mut damaged = frame(ChecksumFramer::new(SumCount), b"abc");
    damaged[6] ^= 1;
    assert!(decode(&mut deframer, &damaged, 64).is_err());
    let big = frame(ChecksumFramer::new(SumCount), b"abcde");
    assert!(decode(&mut deframer, &big, 64).is_err());
    assert!(
        decode(
            &mut deframer,
            &frame(ChecksumFramer::new(SumCount), b"ok"),
            64
        )
        .is_ok()
    );
    assert_eq!(seen, 1);
}

#[test]
fn observer_counts_agree_across_a_stream_round_trip() {
    let payloads: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; usize::from(i)]).collect();
    let (mut frames_out, mut bytes_out) = (0u64, 0usize);
    let mut writer = StreamWriter::new(
        Vec::new(),
        ChecksumFramer::new(SumCount)
            .observed(|p| {
                frames_out += 1;
                bytes_out += p.len();
            })
            .bounded(1024),
    )
    .allow_empty_payloads(true);
    for p in &payloads {
        writer.write_payload(p).unwrap();
    }
    let (frames_written, stream) = (writer.frames_written(), writer.into_inner());
    let (mut frames_in, mut bytes_in) = (0u64, 0usize);
    let mut reader = StreamReader::new(
        stream.as_slice(),
        ChecksumDeframer::new(SumCount).bounded(1024).observed(|p| {
            frames_in += 1;
            bytes_in += p.len();
        }),
    );
    let mut read = Vec::new();
    reader
        .process_all(|p| {
            read.push(p.to_vec());
            Ok(())
        })
        .unwrap();
    let frames_read = reader.frames_read();
    drop(reader);
    assert_eq!(read, payloads);
    assert_eq!(frames_out, frames_written);
    assert_eq!((frames_in, bytes_in), (frames_out, bytes_out));
    assert_eq!(frames_in, frames_read);
    assert_eq!(bytes_out, (0..50).sum::<usize>());
}

#[test]
fn size_validator_bounds_are_inclusive() {
    let mut size = SizeValidator::new(2, 4);
    assert_eq!((size.min(), size.max()), (2, 4));
    for (len, ok) in [(1, false), (2, true), (4, true), (5, false)] {
        assert_eq!(size.validate(&vec![0; len]).is_ok(), ok, "length {len}");
    }
    assert_eq!(
        size.validate(&[0; 5]).unwrap_err().to_string(),
        "payload rejected by SizeValidator: payload of 5 bytes is longer than the maximum of 4"
    );
    assert_eq!(
        SizeValidator::at_least(3),
        SizeValidator::new(3, usize::MAX)
    );
    assert_eq!(SizeValidator::at_most(3), SizeValidator::new(0, 3));
    assert!(std::panic::catch_unwind(|| SizeValidator::new(5, 4)).is_err());
}

#[test]
fn root_table_validator_accepts_real_flatbuffers() {
    let mut check = RootTableValidator::new();
    check.validate(&empty_table(None)).unwrap();
    check.validate(&empty_table(Some("ABCD"))).unwrap();
    check.validate(&one_field_table()).unwrap();
    let mut with_id = RootTableValidator::new().with_identifier("ONE1");
    with_id.validate(&one_field_table()).unwrap();
}

#[test]
fn root_table_validator_catches_a_garbage_root_offset() {
    let mut buffer = one_field_table();
    buffer[..4].copy_from_slice(&0x00FF_FF00u32.to_le_bytes());
    let err = RootTableValidator::new().validate(&buffer).unwrap_err();
    assert_eq!(invalid_name(&err), Some("RootTableValidator"));
    assert!(err.to_string().contains("out of bounds"), "{err}");

    // A misaligned root offset (tables start on 4 bytes).
    let mut buffer = one_field_table();
    let root = u32::from_le_bytes(buffer[..4].try_into().unwrap());
    buffer[..4].copy_from_slice(&(root + 1).to_le_bytes());
    let err = RootTableValidator::new().validate(&buffer).unwrap_err();
    assert!(err.to_string().contains("unaligned"), "{err}");
}

#[test]
fn root_table_validator_catches_truncated_buffers() {
    let buffer = one_field_table();
    let root = u32::from_le_bytes(buffer[..4].try_into().unwrap()) as usize;
    let mut check = RootTableValidator::new();
    // Too short for a root offset, and cut inside the root table.
    for len in [0, 3, root, root + 3] {
        let err = check.validate(&buffer[..len]).unwrap_err();
        assert_eq!(
            invalid_name(&err),
            Some("RootTableValidator"),
            "cut at {len}"
        );
    }
}

#[test]
fn root_table_validator_catches_a_vtable_out_of_bounds() {
    let buffer = one_field_table();
    let (root, vtable) = root_and_vtable(&buffer);
    // The table's signed offset to its vtable, pointing outside the buffer.
    let mut far = buffer.clone();
    far[root..root + 4].copy_from_slice(&(-0x10000i32).to_le_bytes());
    let err = RootTableValidator::new().validate(&far).unwrap_err();
    assert!(err.to_string().contains("points out of bounds"), "{err}");
    // A vtable whose declared length runs past the end of the buffer.
    let mut long = buffer.clone();
    long[vtable..vtable + 2].copy_from_slice(&0x7FFEu16.to_le_bytes());
    let err = RootTableValidator::new().validate(&long).unwrap_err();
    assert!(err.to_string().contains("out of bounds"), "{err}");
}

/// The root offset must not point into itself: a payload of zeros (a
/// zero-filled frame, say) passes the `flatbuffers` verifier's root check,
/// but not this one.
#[test]
fn root_table_validator_catches_a_payload_of_zeros() {
    let mut check = RootTableValidator::new();
    for len in [4, 8, 64] {
        let err = check.validate(&vec![0; len]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "payload rejected by RootTableValidator: root offset 0 points into the root offset itself"
        );
    }
}

fn u32_at(buf: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]])
}

fn root_and_vtable(buffer: &[u8]) -> (usize, usize) {
    let root = u32_at(buffer, 0) as usize;
    let soffset = i32::from_le_bytes(u32_at(buffer, root).to_le_bytes());
    let vtable = root
        .checked_add_signed(-(soffset as isize))
        .expect("vtable");
    (root, vtable)
}

#[test]
fn root_table_validator_catches_a_table_or_field_outside_the_buffer() {
    let buffer = one_field_table();
    let (_, vtable) = root_and_vtable(&buffer);
    // vtable: [vtable len][table len][field 0 offset] ...
    let mut long_table = buffer.clone();
    long_table[vtable + 2..vtable + 4].copy_from_slice(&0x7000u16.to_le_bytes());
    let err = RootTableValidator::new().validate(&long_table).unwrap_err();
    assert!(err.to_string().contains("past the end"), "{err}");

    let mut far_field = buffer.clone();
    far_field[vtable + 4..vtable + 6].copy_from_slice(&0x7000u16.to_le_bytes());
    let err = RootTableValidator::new().validate(&far_field).unwrap_err();
    assert!(
        err.to_string()
            .contains("field 0 of the root table is at offset 28672"),
        "{err}"
    );

    let mut short_vtable = buffer.clone();
    short_vtable[vtable..vtable + 2].copy_from_slice(&2u16.to_le_bytes());
    let err = RootTableValidator::new()
        .validate(&short_vtable)
        .unwrap_err();
    assert!(err.to_string().contains("less than their headers"), "{err}");
}

/// What the structural check cannot see, without a schema: field values and
/// widths. A field whose offset lies inside the table passes, whatever its
/// bytes; here the 8-byte field is moved to the table's last byte.
#[test]
fn root_table_validator_cannot_see_field_widths_or_values() {
    let buffer = one_field_table();
    let (_, vtable) = root_and_vtable(&buffer);
    let table_len = usize::from(u16::from_le_bytes(
        buffer[vtable + 2..vtable + 4].try_into().unwrap(),
    ));
    let mut straddling = buffer.clone();
    let last = u16::try_from(table_len - 1).unwrap();
    straddling[vtable + 4..vtable + 6].copy_from_slice(&last.to_le_bytes());
    RootTableValidator::new()
        .validate(&straddling)
        .expect("the structural check does not know the field is 8 bytes wide");
}

#[test]
fn root_table_validator_checks_the_file_identifier() {
    let mut check = RootTableValidator::new().with_identifier("TLM1");
    assert_eq!(check.identifier(), Some("TLM1"));
    let err = check.validate(&empty_table(Some("ABCD"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"payload rejected by RootTableValidator: file identifier is "ABCD", expected "TLM1""#
    );
    // Without an identifier, bytes 4..8 are whatever the table holds.
    assert!(check.validate(&empty_table(None)).is_err());
    check.validate(&empty_table(Some("TLM1"))).unwrap();
    // Short buffers are refused, never a panic in
    // `flatbuffers::buffer_has_identifier` (which asserts 8 bytes).
    for len in 0..12 {
        assert!(check.validate(&empty_table(Some("TLM1"))[..len]).is_err());
    }
    assert!(std::panic::catch_unwind(|| RootTableValidator::new().with_identifier("TLM")).is_err());
}

#[test]
fn root_table_validator_applies_its_verifier_options() {
    let tight = VerifierOptions {
        max_apparent_size: 4,
        ..Default::default()
    };
    let mut check = RootTableValidator::new().with_options(tight.clone());
    assert_eq!(check.options(), &tight);
    let err = check.validate(&one_field_table()).unwrap_err();
    assert!(err.to_string().contains("Apparent size too large"), "{err}");
}

#[test]
fn typed_validator_takes_closures_with_state_and_names_itself() {
    let mut calls = 0;
    let options = VerifierOptions::default();
    let mut typed = TypedValidator::new("Greeting", |buf: &[u8]| {
        calls += 1;
        flatstream_core::flatbuffers::root_with_opts::<&str>(&options, buf).map(|_| ())
    });
    assert_eq!(typed.name(), "Greeting");
    let mut builder = FlatBufferBuilder::new();
    let hello = builder.create_string("hello");
    builder.finish_minimal(hello);
    typed.validate(builder.finished_data()).unwrap();
    let err = typed.validate(&[8, 0, 0, 0]).unwrap_err();
    assert_eq!(invalid_name(&err), Some("Greeting"));
    let message = err.to_string();
    assert!(
        !message.contains('\n') && !message.contains('\t'),
        "{message:?}"
    );
    assert_eq!(calls, 2);

    // A plain function works as well.
    fn never(_: &[u8]) -> core::result::Result<(), InvalidFlatbuffer> {
        Err(InvalidFlatbuffer::DepthLimitReached)
    }
    let err = TypedValidator::new("Never", never)
        .validate(b"")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "payload rejected by Never: Nested table depth limit reached."
    );
}

/// Choose the framing at run time: boxed framers and deframers (adapters
/// included) drive the stream engines like the static ones.
#[test]
fn boxed_framing_chosen_at_run_time_round_trips() {
    fn framing(name: &str) -> Option<(Box<dyn Framer>, Box<dyn Deframer>)> {
        Some(match name {
            "plain" => (Box::new(DefaultFramer), Box::new(DefaultDeframer)),
            "sum" => (
                Box::new(ChecksumFramer::new(SumCount)),
                Box::new(ChecksumDeframer::new(SumCount)),
            ),
            "sum-bounded-validated" => (
                Box::new(
                    ChecksumFramer::new(SumCount)
                        .bounded(64)
                        .validated(SizeValidator::at_least(1)),
                ),
                Box::new(
                    ChecksumDeframer::new(SumCount)
                        .validated(SizeValidator::at_least(1))
                        .bounded(64),
                ),
            ),
            _ => return None,
        })
    }
    assert!(framing("nope").is_none());
    for name in ["plain", "sum", "sum-bounded-validated"] {
        let (framer, deframer) = framing(name).unwrap();
        let mut writer = StreamWriter::new(Vec::new(), framer).allow_empty_payloads(true);
        writer.write_payload(b"one").unwrap();
        writer.write_payload(b"two").unwrap();
        let limited = name.ends_with("validated");
        assert_eq!(writer.write_payload(&[0; 65]).is_err(), limited, "{name}");
        assert_eq!(writer.write_payload(b"").is_err(), limited, "{name}");
        let stream = writer.into_inner();
        // Adapters on top of a box work too.
        let mut seen = 0;
        let mut reader = StreamReader::new(stream.as_slice(), deframer.observed(|_| seen += 1));
        let mut read = Vec::new();
        reader
            .process_all(|p| {
                read.push(p.to_vec());
                Ok(())
            })
            .unwrap();
        drop(reader);
        let expected: &[&[u8]] = if limited {
            &[b"one", b"two"]
        } else {
            &[b"one", b"two", &[0; 65], b""]
        };
        assert_eq!(read, expected, "{name}");
        assert_eq!(seen, expected.len());
    }
}

#[test]
fn adapters_expose_their_parts() {
    let mut framer = DefaultFramer.observed(|_| {}).validated(NoValidator);
    let _: &mut Observed<DefaultFramer, _> = framer.get_mut();
    let _: &NoValidator = framer.validator();
    let _: &mut NoValidator = framer.validator_mut();
    let (observed, NoValidator) = framer.into_parts();
    let (DefaultFramer, _observer) = observed.into_parts();
    let bounded = DefaultDeframer.bounded(9);
    assert_eq!(*bounded.get_ref(), DefaultDeframer);
    assert_eq!(bounded.into_inner(), DefaultDeframer);
}
