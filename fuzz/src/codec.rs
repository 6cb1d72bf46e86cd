//! The `codec` target: arbitrary bytes through the async side of
//! FlatStream, which must behave as the blocking readers do.
//!
//! The input is the `cursor` target's ([`CursorInput`]): a deframer, a
//! damage policy, a frame limit, a chunking and the bytes. The same bytes
//! are read by a [`SliceReader`](flatstream::SliceReader) (the reference),
//! by [`FlatStreamCodec`] fed the chunks as tokio-util's `FramedRead` feeds
//! it (`decode` while bytes arrive, then `decode_eof`), and by an
//! [`AsyncStreamReader`] over a source that hands out the chunks and
//! answers `Pending` where the `cursor` target's source says `WouldBlock`.
//! Both must give the reference's outcomes (payloads at their positions,
//! errors with their kinds and positions, the end), payloads must be the
//! input's bytes at their frame, and the codec's buffer may never hold
//! more than the input plus one reserve step.

use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::io::{self, Read};

use bytes::BytesMut;
use flatstream::{AfterDamage, DefaultFramer, Deframer, Position};
use flatstream_tokio::{AsyncStreamReader, FlatStreamCodec};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::Decoder;

use crate::ChunkedSource;
use crate::cursor::{
    ByMode, CursorInput, Kind, Outcome, Outcomes, Setup, by_mode, expected_at, read_slice,
};

/// Reads the input's bytes through the codec and the async reader.
///
/// # Panics
///
/// When an invariant fails (see the module documentation).
pub fn fuzz_codec(input: &CursorInput) {
    by_mode(input, &Async);
}

/// The `codec` target's comparison: the slice reader, the codec and the
/// async reader.
struct Async;

impl ByMode for Async {
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
    let setup = Setup {
        data: &input.data,
        limit,
        after,
    };
    let (slice, _) = read_slice(setup, deframer.clone());
    let codec = read_codec(setup, &input.chunks, deframer.clone());
    assert_eq!(codec, slice, "FlatStreamCodec and SliceReader disagree");
    let async_reader = read_async(setup, &input.chunks, deframer);
    assert_eq!(
        async_reader, slice,
        "AsyncStreamReader and SliceReader disagree"
    );
}

/// Reads `setup.data` with a [`FlatStreamCodec`] fed `chunks` (chunk `c`
/// adds `(c >> 3) + 1` bytes; no chunks: everything at once), `decode`
/// while bytes remain and `decode_eof` after.
fn read_codec<D: Deframer>(setup: Setup<'_>, chunks: &[u16], mut deframer: D) -> Outcomes {
    let data = setup.data;
    let header_len = deframer.header_len();
    let first = setup.first_position(&mut deframer);
    let mut codec = FlatStreamCodec::with_framing(DefaultFramer, deframer)
        .with_max_frame_len(setup.limit)
        .with_after_damage(setup.after);
    let mut out = Outcomes::for_input(data);
    let mut buf = BytesMut::new();
    let mut delivered = 0usize;
    let mut next_chunk = 0usize;
    loop {
        assert_eq!(
            codec.position().offset as usize + buf.len(),
            delivered,
            "the codec's buffer lost or kept bytes"
        );
        let before = expected_at(codec.position(), first);
        // The buffer grows with what arrives, not with declared lengths.
        assert!(
            buf.capacity() <= 4 * (delivered + 1024 * 1024),
            "a buffer of {} bytes after {delivered} arrived",
            buf.capacity()
        );
        let eof = delivered == data.len();
        let decoded = if eof {
            codec.decode_eof(&mut buf)
        } else {
            codec.decode(&mut buf)
        };
        match decoded {
            Ok(Some(payload)) => {
                check_payload(setup, before, header_len, &payload);
                out.push(Outcome::Frame {
                    at: before,
                    len: payload.len(),
                });
            }
            Ok(None) if eof => {
                assert!(buf.is_empty(), "a clean end with bytes left");
                out.push(Outcome::End { at: before });
                break;
            }
            Ok(None) => {
                let n = match chunks.get(next_chunk % chunks.len().max(1)) {
                    Some(&c) => usize::from(c >> 3) + 1,
                    None => usize::MAX,
                };
                next_chunk = next_chunk.wrapping_add(1);
                let n = n.min(data.len() - delivered);
                buf.extend_from_slice(&data[delivered..delivered + n]);
                delivered += n;
            }
            Err(error) => {
                assert_eq!(error.position(), Some(before), "{error}");
                let kind = Kind::of(&error);
                out.push(Outcome::Error { at: before, kind });
                let moved = codec.position() != before;
                if (eof && kind.is_eof()) || !moved {
                    // Where the slice reader stops.
                    break;
                }
            }
        }
    }
    out
}

/// Reads `setup.data` with an [`AsyncStreamReader`] over a source that
/// hands out `chunks` as the `cursor` target's source does, its
/// `WouldBlock` turned into `Pending`.
fn read_async<D: Deframer>(setup: Setup<'_>, chunks: &[u16], mut deframer: D) -> Outcomes {
    let data = setup.data;
    let header_len = deframer.header_len();
    let first = setup.first_position(&mut deframer);
    let source = Pending(ChunkedSource::new(data, chunks));
    let mut reader = AsyncStreamReader::new(source, deframer)
        .with_max_frame_len(setup.limit)
        .with_after_damage(setup.after);
    let mut out = Outcomes::for_input(data);
    let mut cx = Context::from_waker(Waker::noop());
    let mut pendings = 0usize;
    loop {
        let before = expected_at(reader.position(), first);
        let result = {
            let mut read = pin!(reader.read_message());
            loop {
                match read.as_mut().poll(&mut cx) {
                    Poll::Ready(result) => break result.map(|p| p.map(|p| p.to_vec())),
                    Poll::Pending => {
                        pendings += 1;
                        assert!(pendings <= data.len() + 1, "Pending forever");
                    }
                }
            }
        };
        match result {
            Ok(Some(payload)) => {
                check_payload(setup, before, header_len, &payload);
                out.push(Outcome::Frame {
                    at: before,
                    len: payload.len(),
                });
            }
            Ok(None) => {
                assert_eq!(before.offset, data.len() as u64, "a clean end early");
                out.push(Outcome::End { at: before });
                break;
            }
            Err(error) => {
                assert_eq!(error.position(), Some(before), "{error}");
                let kind = Kind::of(&error);
                out.push(Outcome::Error { at: before, kind });
                if kind.is_eof() || reader.position() == before {
                    break;
                }
            }
        }
    }
    out
}

/// Checks that `payload` is the input's payload of the frame at `at`.
fn check_payload(setup: Setup<'_>, at: Position, header_len: usize, payload: &[u8]) {
    let start = usize::try_from(at.offset).expect("offsets fit usize") + header_len;
    assert!(payload.len() <= setup.limit, "a payload over the limit");
    assert_eq!(
        payload,
        &setup.data[start..start + payload.len()],
        "a payload that is not the input's bytes at {at}"
    );
}

/// A blocking chunked source as an async one: `WouldBlock` is `Pending`.
struct Pending<'a>(ChunkedSource<'a>);

impl AsyncRead for Pending<'_> {
    fn poll_read(
        mut self: core::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.0.read(buf.initialize_unfilled()) {
            Ok(n) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
