//! Round trips through every framer pair of this build: what the writer writes
//! (raw payloads, simple mode, expert mode) the reader returns, byte for byte
//! and in order, through both `process_all` and `messages()`, with the
//! writer's and reader's counters agreeing with the stream's length.

use flatstream::flatbuffers::{self, FlatBufferBuilder};
use flatstream::{Deframer, Framer, StreamReader, StreamSerialize, StreamWriter};
use proptest::prelude::*;

use crate::support::framers;
use crate::support::sources;

/// Deterministic pseudo-random bytes (xorshift64*), so that a 64 KiB payload
/// costs the strategy one `u64` instead of 65 536 value trees.
fn bytes_from_seed(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes()[7]
        })
        .collect()
}

/// A string of `chars` characters, mixing 1- to 4-byte UTF-8 and NUL.
fn text_from_seed(chars: usize, seed: u64) -> String {
    const ALPHABET: [char; 8] = ['a', 'Z', '0', ' ', '\0', 'é', '€', '🦀'];
    bytes_from_seed(chars, seed)
        .into_iter()
        .map(|b| ALPHABET[usize::from(b % 8)])
        .collect()
}

/// Payload sizes from 0 to 64 KiB, mostly small.
fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..=64,
        3 => 65usize..=4096,
        1 => 4097usize..=65536,
    ]
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(
        (payload_len(), any::<u64>()).prop_map(|(len, seed)| bytes_from_seed(len, seed)),
        0..=16,
    )
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        (payload_len(), any::<u64>()).prop_map(|(len, seed)| text_from_seed(len / 2, seed)),
        0..=16,
    )
}

/// The finished FlatBuffer simple mode writes for `item`.
fn serialized<T: StreamSerialize + ?Sized>(item: &T) -> Vec<u8> {
    let mut builder = FlatBufferBuilder::new();
    item.serialize(&mut builder).expect("serialize");
    builder.finished_data().to_vec()
}

/// Reads `bytes` to a clean end with `process_all`.
fn read_with_process_all<D: Deframer + Default>(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = StreamReader::new(bytes, D::default());
    let out = sources::collect_with_process_all(&mut reader);
    assert_eq!(
        reader.offset(),
        bytes.len() as u64,
        "offset after process_all"
    );
    assert_eq!(reader.frames_read(), out.len() as u64);
    assert!(reader.buffered().is_empty());
    out
}

/// Reads `bytes` to a clean end with `messages()`.
fn read_with_messages<D: Deframer + Default>(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = StreamReader::new(bytes, D::default());
    let mut out = Vec::new();
    let mut messages = reader.messages();
    while let Some(payload) = messages.next().expect("messages") {
        out.push(payload.to_vec());
    }
    // A clean end stays a clean end.
    assert_eq!(messages.next().expect("after the end"), None);
    assert_eq!(
        reader.offset(),
        bytes.len() as u64,
        "offset after messages()"
    );
    assert_eq!(reader.frames_read(), out.len() as u64);
    out
}

/// Checks a written stream: its length, the writer's counters and both ways of
/// reading it back.
fn check_stream<F: Framer, D: Deframer + Default>(
    writer: StreamWriter<Vec<u8>, F>,
    expected: &[Vec<u8>],
) {
    let header_len = D::default().header_len();
    assert_eq!(header_len, writer.framer().header_len());
    let frames_written = writer.frames_written();
    let bytes_written = writer.bytes_written();
    let bytes = writer.into_inner();
    let expected_len: usize = expected.iter().map(|p| header_len + p.len()).sum();
    assert_eq!(bytes.len(), expected_len, "stream length");
    assert_eq!(bytes_written, bytes.len() as u64, "bytes_written");
    assert_eq!(frames_written, expected.len() as u64, "frames_written");
    assert_eq!(read_with_process_all::<D>(&bytes), expected, "process_all");
    assert_eq!(read_with_messages::<D>(&bytes), expected, "messages()");
}

fn raw_round_trip<F: Framer + Default, D: Deframer + Default>(payloads: &[Vec<u8>]) {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
    }
    check_stream::<F, D>(writer, payloads);
}

fn simple_mode_round_trip<F: Framer + Default, D: Deframer + Default>(texts: &[String]) {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for text in texts {
        writer.write(text).expect("write");
    }
    let expected: Vec<Vec<u8>> = texts.iter().map(serialized).collect();
    let bytes = writer.get_ref().clone();
    check_stream::<F, D>(writer, &expected);
    let decoded: Vec<String> = read_with_process_all::<D>(&bytes)
        .iter()
        .map(|p| {
            flatbuffers::root::<&str>(p)
                .expect("a string root")
                .to_owned()
        })
        .collect();
    assert_eq!(decoded, texts);
}

fn expert_mode_round_trip<F: Framer + Default, D: Deframer + Default>(payloads: &[Vec<u8>]) {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let mut builder = FlatBufferBuilder::new();
    let mut expected = Vec::new();
    for payload in payloads {
        builder.reset();
        let root = builder.create_vector(payload);
        builder.finish(root, None);
        writer.write_finished(&mut builder).expect("write_finished");
        expected.push(builder.finished_data().to_vec());
    }
    let bytes = writer.get_ref().clone();
    check_stream::<F, D>(writer, &expected);
    let decoded: Vec<Vec<u8>> = read_with_messages::<D>(&bytes)
        .iter()
        .map(|p| {
            flatbuffers::root::<flatbuffers::Vector<'_, u8>>(p)
                .expect("a [ubyte] root")
                .bytes()
                .to_vec()
        })
        .collect();
    assert_eq!(decoded, payloads);
}

fn mixed_modes_round_trip<F: Framer + Default, D: Deframer + Default>(
    payloads: &[Vec<u8>],
    texts: &[String],
) {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let mut builder = FlatBufferBuilder::new();
    let mut expected = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        writer.write_payload(payload).expect("write_payload");
        expected.push(payload.clone());
        if let Some(text) = texts.get(i) {
            writer.write(text.as_str()).expect("write");
            expected.push(serialized(text.as_str()));
            builder.reset();
            let root = builder.create_string(text);
            builder.finish(root, None);
            writer.write_finished(&mut builder).expect("write_finished");
            expected.push(builder.finished_data().to_vec());
        }
    }
    check_stream::<F, D>(writer, &expected);
}

/// Two writers' streams, one after the other, read as one stream.
fn concatenated_round_trip<F: Framer + Default, D: Deframer + Default>(
    first: &[Vec<u8>],
    second: &[String],
) {
    let mut a = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for payload in first {
        a.write_payload(payload).expect("write_payload");
    }
    let mut b = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    for text in second {
        b.write(text).expect("write");
    }
    let total = a.bytes_written() + b.bytes_written();
    let mut bytes = a.into_inner();
    bytes.extend_from_slice(b.get_ref());
    assert_eq!(bytes.len() as u64, total);

    let mut expected = first.to_vec();
    expected.extend(second.iter().map(serialized));
    assert_eq!(read_with_process_all::<D>(&bytes), expected);
    assert_eq!(read_with_messages::<D>(&bytes), expected);
}

macro_rules! round_trip_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                #[test]
                fn write_payload_round_trips_exact_payloads_in_order(payloads in payloads()) {
                    raw_round_trip::<F, D>(&payloads);
                }

                #[test]
                fn simple_mode_write_round_trips_strings(texts in texts()) {
                    simple_mode_round_trip::<F, D>(&texts);
                }

                #[test]
                fn expert_mode_write_finished_round_trips_vectors(payloads in payloads()) {
                    expert_mode_round_trip::<F, D>(&payloads);
                }

                #[test]
                fn all_three_write_modes_interleave_in_one_stream(
                    payloads in payloads(),
                    texts in texts(),
                ) {
                    mixed_modes_round_trip::<F, D>(&payloads, &texts);
                }

                #[test]
                fn reader_reads_two_writers_streams_concatenated(
                    first in payloads(),
                    second in texts(),
                ) {
                    concatenated_round_trip::<F, D>(&first, &second);
                }
            }

            #[test]
            fn empty_stream_is_a_clean_end_with_no_frames() {
                raw_round_trip::<F, D>(&[]);
            }

            #[test]
            fn empty_payloads_round_trip() {
                raw_round_trip::<F, D>(&[Vec::new(), Vec::new(), vec![7], Vec::new()]);
            }

            #[test]
            fn payloads_of_exactly_64_kib_and_more_round_trip() {
                // Larger than the reader's 64 KiB read chunk, so the buffer
                // has to grow and to move partial frames to its front.
                raw_round_trip::<F, D>(&[
                    bytes_from_seed(65_536, 1),
                    bytes_from_seed(65_535, 2),
                    bytes_from_seed(3, 3),
                    bytes_from_seed(200_000, 4),
                    bytes_from_seed(65_537, 5),
                ]);
            }
        }
    };
}

framers::for_each_framer_pair!(round_trip_tests);
