//! Torn tails, for every framer pair of this build: a stream cut at every byte
//! offset yields exactly the frames complete in the prefix, then either a clean
//! end (cut at a frame boundary) or `UnexpectedEof` naming the partial frame:
//! its start, its index, the bytes it has and the bytes it needs. Never a
//! clean end inside a frame, never a payload from a partial frame.

use std::io::Read;

use flatstream::{Deframer, ErrorKind, Framer, Position, StreamReader, StreamWriter};

use crate::support::framers;
use crate::support::sources::OneByteAtATime;

/// A written stream and where each of its frames starts.
struct Stream {
    bytes: Vec<u8>,
    payloads: Vec<Vec<u8>>,
    /// `starts[i]` is the offset of frame `i`; the last entry is the length.
    starts: Vec<usize>,
    header_len: usize,
}

fn write_stream<F: Framer + Default>(payloads: Vec<Vec<u8>>) -> Stream {
    let mut writer = StreamWriter::new(Vec::new(), F::default()).allow_empty_payloads(true);
    let header_len = writer.framer().header_len();
    let mut starts = vec![0];
    for payload in &payloads {
        writer.write_payload(payload).expect("write_payload");
        starts.push(usize::try_from(writer.bytes_written()).expect("fits"));
    }
    let bytes = writer.into_inner();
    assert_eq!(starts.last().copied(), Some(bytes.len()));
    Stream {
        bytes,
        payloads,
        starts,
        header_len,
    }
}

/// What reading `stream.bytes[..cut]` must give after its complete frames.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Clean,
    Torn {
        position: Position,
        available: u64,
        required: u64,
    },
}

fn expected_end(stream: &Stream, cut: usize) -> (usize, End) {
    let complete = stream.starts[1..].iter().filter(|&&end| end <= cut).count();
    let start = stream.starts[complete];
    if start == cut {
        return (complete, End::Clean);
    }
    let available = cut - start;
    let required = if available < stream.header_len {
        stream.header_len
    } else {
        stream.header_len + stream.payloads[complete].len()
    };
    let end = End::Torn {
        position: Position {
            offset: start as u64,
            frame: complete as u64,
        },
        available: available as u64,
        required: required as u64,
    };
    (complete, end)
}

/// Reads to the end of `reader`, returning the payloads and how it ended.
fn read_to_end<R: Read, D: Deframer>(reader: &mut StreamReader<R, D>) -> (Vec<Vec<u8>>, End) {
    let mut payloads = Vec::new();
    let end = loop {
        match reader.read_message() {
            Ok(Some(payload)) => payloads.push(payload.to_vec()),
            Ok(None) => break End::Clean,
            Err(err) => match *err.kind() {
                ErrorKind::UnexpectedEof {
                    available,
                    required,
                } => {
                    assert!(err.is_unexpected_eof());
                    break End::Torn {
                        position: err.position().expect("a torn tail has a position"),
                        available,
                        required,
                    };
                }
                _ => panic!("expected a clean end or a torn tail, got {err:?}"),
            },
        }
    };
    // Asking again changes nothing: still no payload, the same ending.
    match (&end, reader.read_message()) {
        (End::Clean, Ok(None)) => {}
        (End::Torn { .. }, Err(err)) => assert!(err.is_unexpected_eof(), "{err:?}"),
        (end, again) => panic!("after {end:?}, reading again gave {again:?}"),
    }
    (payloads, end)
}

fn check_every_cut<F: Framer + Default, D: Deframer + Default>(
    payloads: Vec<Vec<u8>>,
    one_byte_source: bool,
) {
    let stream = write_stream::<F>(payloads);
    for cut in 0..=stream.bytes.len() {
        let prefix = &stream.bytes[..cut];
        let (complete, expected) = expected_end(&stream, cut);
        let (got, end) = if one_byte_source {
            let mut reader = StreamReader::new(OneByteAtATime { data: prefix }, D::default());
            read_to_end(&mut reader)
        } else {
            let mut reader = StreamReader::new(prefix, D::default());
            read_to_end(&mut reader)
        };
        assert_eq!(got, stream.payloads[..complete], "cut at {cut}");
        assert_eq!(end, expected, "cut at {cut}");
    }
}

fn check_process_all_on_every_cut<F: Framer + Default, D: Deframer + Default>(
    payloads: Vec<Vec<u8>>,
) {
    let stream = write_stream::<F>(payloads);
    for cut in 0..=stream.bytes.len() {
        let (complete, expected) = expected_end(&stream, cut);
        let mut reader = StreamReader::new(&stream.bytes[..cut], D::default());
        let mut got = Vec::new();
        let result = reader.process_all(|payload| {
            got.push(payload.to_vec());
            Ok(())
        });
        assert_eq!(got, stream.payloads[..complete], "cut at {cut}");
        match (result, expected) {
            (Ok(()), End::Clean) => {}
            (Err(err), End::Torn { position, .. }) => {
                assert!(err.is_unexpected_eof(), "cut at {cut}: {err:?}");
                assert_eq!(err.position(), Some(position), "cut at {cut}");
            }
            (result, expected) => panic!("cut at {cut}: got {result:?}, expected {expected:?}"),
        }
        assert_eq!(reader.frames_read(), complete as u64);
        assert_eq!(reader.offset(), stream.starts[complete] as u64);
    }
}

fn small_payloads() -> Vec<Vec<u8>> {
    vec![
        b"alpha".to_vec(),
        Vec::new(),
        b"b".to_vec(),
        (0u8..=99).collect(),
        Vec::new(),
        b"the last frame".to_vec(),
    ]
}

/// Cuts of a stream with frames over the reader's 64 KiB chunk: around every
/// frame boundary and header end, and inside the large payloads.
fn check_large_frames_at_selected_cuts<F: Framer + Default, D: Deframer + Default>() {
    let payloads = vec![
        b"small".to_vec(),
        vec![0x11; 100_000],
        Vec::new(),
        vec![0x22; 65_536],
        b"tail".to_vec(),
    ];
    let stream = write_stream::<F>(payloads);
    let mut cuts = Vec::new();
    for &start in &stream.starts {
        for delta in [
            0,
            1,
            2,
            stream.header_len - 1,
            stream.header_len,
            stream.header_len + 1,
        ] {
            cuts.extend([start.saturating_sub(delta), start + delta]);
        }
    }
    cuts.extend([40_000, 65_536, 65_537, 100_000, 131_072, 150_000]);
    cuts.retain(|&cut| cut <= stream.bytes.len());
    for cut in cuts {
        let (complete, expected) = expected_end(&stream, cut);
        let mut reader = StreamReader::new(&stream.bytes[..cut], D::default());
        let (got, end) = read_to_end(&mut reader);
        assert_eq!(got.len(), complete, "cut at {cut}");
        assert_eq!(got, stream.payloads[..complete], "cut at {cut}");
        assert_eq!(end, expected, "cut at {cut}");
    }
}

macro_rules! truncation_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            use super::*;

            type F = $framer;
            type D = $deframer;

            #[test]
            fn slice_cut_at_every_offset_gives_complete_frames_then_clean_end_or_torn_tail() {
                check_every_cut::<F, D>(small_payloads(), false);
            }

            #[test]
            fn one_byte_source_cut_at_every_offset_gives_complete_frames_then_clean_end_or_torn_tail()
             {
                check_every_cut::<F, D>(small_payloads(), true);
            }

            #[test]
            fn stream_of_empty_payloads_cut_at_every_offset_is_never_a_clean_end_inside_a_header()
             {
                check_every_cut::<F, D>(vec![Vec::new(); 4], false);
                check_every_cut::<F, D>(vec![Vec::new(); 4], true);
            }

            #[test]
            fn process_all_on_a_cut_stream_processes_complete_frames_then_reports_the_torn_tail() {
                check_process_all_on_every_cut::<F, D>(small_payloads());
            }

            #[test]
            fn large_frames_cut_near_boundaries_and_inside_payloads_are_torn_tails() {
                check_large_frames_at_selected_cuts::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(truncation_tests);
