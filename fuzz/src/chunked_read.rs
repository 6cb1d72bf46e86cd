//! The `chunked_read` target: a valid stream, read through arbitrary chunks.
//!
//! The fuzzer picks a framing, the payloads, an optional torn last frame and
//! the read sizes (with `Interrupted` and `WouldBlock` injected, see
//! [`ChunkedSource`]). The reader must return every payload exactly; after
//! every call the bytes it holds are exactly the stream bytes after its
//! offset (nothing lost or repeated), a `WouldBlock` consumes nothing, and a
//! torn tail is reported at the same place with the same counts whatever the
//! chunking. When the rest of the torn frame then arrives, reading goes on
//! and returns it.

use std::io;

use arbitrary::Arbitrary;
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc16, Crc32, DefaultDeframer, DefaultFramer, Deframer,
    DeframerExt, ErrorKind, Framer, Position, StreamReader, XxHash64,
};

use crate::{ChunkedSource, Payload, expand_payloads};

/// The structured input of the `chunked_read` target.
#[derive(Debug, Arbitrary)]
pub struct ChunkedReadInput {
    /// Bits 0-1: the framing (default, XXH3-64, CRC-32, CRC-16). Bit 2: the
    /// frame limit is set on the deframer (`with_max_frame_len`, a
    /// `Bounded`) rather than on the reader.
    mode: u8,
    payloads: Vec<Payload>,
    /// 0: the stream ends cleanly. Otherwise one more frame, with a payload
    /// of `torn >> 8` bytes, is cut after `1 + (torn & 0xFF) % (frame_len - 1)`
    /// bytes: somewhere in its header or payload.
    torn: u16,
    /// Read sizes, used in turn; see [`ChunkedSource`].
    chunks: Vec<u16>,
}

impl ChunkedReadInput {
    /// The payloads of the complete frames (capped as in `roundtrip`).
    #[must_use]
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        expand_payloads(&self.payloads)
    }
}

/// Builds the input's stream and reads it back through its chunks.
///
/// # Panics
///
/// When an invariant fails (see the module documentation).
pub fn fuzz_chunked_read(input: &ChunkedReadInput) {
    let payloads = input.payloads();
    let bounded = input.mode & 4 != 0;
    let (torn, chunks) = (input.torn, input.chunks.as_slice());
    match input.mode % 4 {
        0 => chunked_with(
            &payloads,
            torn,
            chunks,
            bounded,
            DefaultFramer,
            DefaultDeframer,
        ),
        1 => chunked_with(
            &payloads,
            torn,
            chunks,
            bounded,
            ChecksumFramer::new(XxHash64::new()),
            ChecksumDeframer::new(XxHash64::new()),
        ),
        2 => chunked_with(
            &payloads,
            torn,
            chunks,
            bounded,
            ChecksumFramer::new(Crc32::new()),
            ChecksumDeframer::new(Crc32::new()),
        ),
        _ => chunked_with(
            &payloads,
            torn,
            chunks,
            bounded,
            ChecksumFramer::new(Crc16::new()),
            ChecksumDeframer::new(Crc16::new()),
        ),
    }
}

/// The stream to read and what reading it must give.
struct Expected<'p> {
    stream: Vec<u8>,
    header_len: usize,
    /// The payloads of the complete frames, then that of the torn frame.
    payloads: Vec<&'p [u8]>,
    /// Where the complete frames end.
    clean_len: usize,
    /// Bytes present of the torn frame, and its whole length.
    torn: Option<(usize, usize)>,
}

fn chunked_with<F: Framer, D: Deframer>(
    payloads: &[Vec<u8>],
    torn: u16,
    chunks: &[u16],
    bounded: bool,
    mut framer: F,
    deframer: D,
) {
    let header_len = framer.header_len();
    assert_eq!(header_len, deframer.header_len());
    let mut stream = Vec::new();
    for p in payloads {
        framer
            .encode_into(p, &mut stream)
            .expect("encoding a payload within the limit cannot fail");
    }
    let clean_len = stream.len();
    let torn_payload: Vec<u8> = (0..torn >> 8).map(|i| (i as u8) ^ 0x5A).collect();
    let torn = (torn != 0).then(|| {
        let frame_len = header_len + torn_payload.len();
        (1 + usize::from(torn & 0xFF) % (frame_len - 1), frame_len)
    });
    let mut expected_payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    if torn.is_some() {
        framer
            .encode_into(&torn_payload, &mut stream)
            .expect("encoding a payload within the limit cannot fail");
        expected_payloads.push(&torn_payload);
    }
    let limit = expected_payloads.iter().map(|p| p.len()).max().unwrap_or(0);
    let expected = Expected {
        stream,
        header_len,
        payloads: expected_payloads,
        clean_len,
        torn,
    };

    let mut source = ChunkedSource::new(&expected.stream, chunks);
    if let Some((present, _)) = torn {
        source.end = clean_len + present;
    }
    if bounded {
        read_back(
            StreamReader::new(source, deframer.with_max_frame_len(limit)),
            &expected,
        );
    } else {
        read_back(
            StreamReader::new(source, deframer).with_max_frame_len(limit),
            &expected,
        );
    }
}

/// What one call of `read_message` gave.
#[derive(Debug)]
enum Step {
    Payload(usize),
    End,
    WouldBlock,
    Torn(String),
}

fn read_back<D: Deframer>(mut reader: StreamReader<ChunkedSource<'_>, D>, expected: &Expected) {
    let stream = expected.stream.as_slice();
    let mut got = 0usize;
    let mut would_blocks = 0usize;
    let mut torn_seen = false;
    loop {
        let before = (reader.offset(), reader.frames_read());
        let step = match reader.read_message() {
            Ok(Some(payload)) => {
                assert!(
                    got < expected.payloads.len(),
                    "more payloads than were written"
                );
                assert_eq!(payload, expected.payloads[got], "payload {got} differs");
                Step::Payload(payload.len())
            }
            Ok(None) => Step::End,
            Err(err) => match err.kind() {
                ErrorKind::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(err.is_resumable());
                    Step::WouldBlock
                }
                &ErrorKind::UnexpectedEof {
                    available,
                    required,
                } => {
                    let (present, frame_len) = expected
                        .torn
                        .unwrap_or_else(|| panic!("a torn tail in a clean stream: {err}"));
                    assert!(!torn_seen, "torn again after the rest arrived: {err}");
                    assert_eq!(
                        got,
                        expected.payloads.len() - 1,
                        "torn before the last frame"
                    );
                    assert_eq!(
                        err.position(),
                        Some(Position {
                            offset: expected.clean_len as u64,
                            frame: got as u64,
                        })
                    );
                    assert!(err.is_resumable());
                    assert_eq!(available, present as u64);
                    let required_now = if present < expected.header_len {
                        expected.header_len
                    } else {
                        frame_len
                    };
                    assert_eq!(required, required_now as u64);
                    Step::Torn(format!("{err:?}"))
                }
                _ => panic!(
                    "reading payload {got} of {} failed: {err}",
                    expected.payloads.len()
                ),
            },
        };

        // Nothing lost or repeated: the reader holds exactly the bytes it
        // read from the source and has not consumed.
        let offset = usize::try_from(reader.offset()).expect("fits usize");
        let buffered = reader.buffered();
        assert_eq!(
            offset + buffered.len(),
            reader.get_ref().pos,
            "the reader lost or invented bytes"
        );
        assert_eq!(buffered, &stream[offset..reader.get_ref().pos]);

        match step {
            Step::Payload(len) => {
                assert_eq!(
                    reader.offset(),
                    before.0 + (expected.header_len + len) as u64
                );
                assert_eq!(reader.frames_read(), before.1 + 1);
                got += 1;
            }
            Step::WouldBlock => {
                assert_eq!(
                    (reader.offset(), reader.frames_read()),
                    before,
                    "WouldBlock consumed something"
                );
                would_blocks += 1;
                assert!(
                    would_blocks <= stream.len() + 1,
                    "WouldBlock without progress"
                );
            }
            Step::Torn(first) => {
                assert!(!torn_seen, "a torn tail reported after the rest arrived");
                assert_eq!((reader.offset(), reader.frames_read()), before);
                // Nothing more has arrived: the same error again.
                match reader.read_message() {
                    Err(again) => assert_eq!(format!("{again:?}"), first),
                    Ok(other) => panic!("a torn tail, then {other:?}"),
                }
                // The rest of the frame arrives: reading goes on.
                torn_seen = true;
                reader.get_mut().end = stream.len();
            }
            Step::End => {
                assert_eq!(
                    got,
                    expected.payloads.len(),
                    "clean end before every payload came back"
                );
                assert_eq!(torn_seen, expected.torn.is_some());
                assert_eq!(reader.offset(), stream.len() as u64);
                assert_eq!(reader.frames_read(), got as u64);
                assert!(reader.buffered().is_empty());
                return;
            }
        }
    }
}
