//! `FlatStreamCodec`: FlatStream framing as a tokio-util codec.

use bytes::{Buf, Bytes, BytesMut};
use flatstream_core::flatbuffers::{Allocator, FlatBufferBuilder};
use flatstream_core::wire::MAX_HEADER_LEN;
use flatstream_core::{
    AfterDamage, Deframer, Error, ErrorKind, FrameCursor, Framer, Position, Result, Step,
    StreamHeader, encode_header_checked, finished_payload,
};
use flatstream_framing::{DefaultDeframer, DefaultFramer};
use tokio_util::codec::{Decoder, Encoder};

/// The codec's default frame limit, 8 MiB: sized for messages over a
/// network, like tokio-util's `LengthDelimitedCodec`. Files written by the
/// blocking writer may hold frames up to the format's limit; raise it with
/// [`FlatStreamCodec::with_max_frame_len`] to read those.
pub const DEFAULT_CODEC_MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

/// How far ahead of the bytes that arrived room is asked for an incomplete
/// frame: a frame up to this size is read into one allocation, and a larger
/// one grows with its bytes, so a length prefix alone never asks for more
/// than this (nor more than the frame limit, which it is checked against
/// first).
const RESERVE_AHEAD: usize = 1024 * 1024;

/// FlatStream framing for tokio-util's [`FramedRead`], [`FramedWrite`] and
/// [`Framed`]: the same wire format, frame cursor and errors as the
/// blocking readers and writer.
///
/// Decoding drives FlatStream's frame cursor over the read buffer. Each item
/// is the payload as a [`BytesMut`] split off that buffer (no copy). A torn
/// frame at the end of input is [`ErrorKind::UnexpectedEof`], a clean end is
/// the end of the stream, a length over the limit is
/// [`ErrorKind::FrameTooLarge`] before anything is reserved for it, and a
/// checksum mismatch is [`ErrorKind::ChecksumMismatch`]; every error is
/// positioned (byte offset and frame index in the decoded stream). A
/// stream's [header](StreamHeader) is kept apart ([`header`](Self::header)),
/// never handed out as an item. `FramedRead` ends after its first error;
/// drive [`Decoder::decode`] yourself to go on after a skipped frame
/// ([`AfterDamage`]). While a frame is incomplete, room for it is asked at
/// most 1 MiB ahead of the bytes that arrived, and never past the frame
/// limit, which a length is checked against first; `BytesMut` may round an
/// allocation up to twice its size, so the buffer holds at most about four
/// times the bytes received (or a few MiB), whatever a length prefix
/// declares. With [`AfterDamage::Resync`] the bytes searched for a resumption
/// point stay buffered until one is found: salvage is for trusted captures,
/// not for untrusted peers.
///
/// Encoding takes `&[u8]`, [`Bytes`], [`BytesMut`] or a finished
/// [`FlatBufferBuilder`] and makes the checks of the blocking writer first
/// (frame limit, no empty or all-zero payload unless allowed), so nothing
/// is appended for a refused payload. A [`StreamHeader`] encodes only as
/// the first frame.
///
/// What `FramedWrite` does with the encoded bytes is tokio-util's: an I/O
/// error of its sink reaches you unpositioned (the codec never sees the
/// socket), and a `send` that fails on flushing may already have queued its
/// frame, which a later flush then writes. For "every write that returned
/// `Ok` is on the wire, and nothing else", with positions in errors, use
/// [`AsyncStreamWriter`](crate::AsyncStreamWriter).
///
/// The plain framing ([`FlatStreamCodec::new`]) is byte for byte the
/// framing of tokio-util's
/// `LengthDelimitedCodec::builder().little_endian().length_field_length(4)`.
///
/// [`FramedRead`]: tokio_util::codec::FramedRead
/// [`FramedWrite`]: tokio_util::codec::FramedWrite
/// [`Framed`]: tokio_util::codec::Framed
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use flatstream_tokio::FlatStreamCodec;
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = FlatStreamCodec::new();
/// let mut wire = BytesMut::new();
/// codec.encode(&b"hello"[..], &mut wire)?;
/// assert_eq!(&wire[..], b"\x05\0\0\0hello");
///
/// let payload = codec.decode(&mut wire)?.expect("a whole frame");
/// assert_eq!(&payload[..], b"hello");
/// assert!(codec.decode_eof(&mut wire)?.is_none());
/// # Ok::<(), flatstream_core::Error>(())
/// ```
#[derive(Debug)]
pub struct FlatStreamCodec<F = DefaultFramer, D = DefaultDeframer> {
    framer: F,
    cursor: FrameCursor<D>,
    /// The largest payload encoded (the decoding limit is the cursor's).
    max_frame_len: usize,
    allow_empty: bool,
    /// Frames and bytes encoded so far: where an encoding error is.
    encoded: Position,
    /// The header of the decoded stream, once its first frame was one.
    header: Option<Box<StreamHeader>>,
}

impl FlatStreamCodec {
    /// A codec for the plain framing (length prefix only) with the default
    /// limit of [`DEFAULT_CODEC_MAX_FRAME_LEN`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_framing(DefaultFramer, DefaultDeframer)
    }
}

impl Default for FlatStreamCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Framer, D: Deframer> FlatStreamCodec<F, D> {
    /// A codec that encodes with `framer` and decodes with `deframer`, such
    /// as `ChecksumFramer::new(Crc32::new())` and its deframer.
    pub fn with_framing(framer: F, deframer: D) -> Self {
        let mut cursor = FrameCursor::new(deframer);
        cursor.set_max_frame_len(DEFAULT_CODEC_MAX_FRAME_LEN);
        FlatStreamCodec {
            framer,
            cursor,
            max_frame_len: DEFAULT_CODEC_MAX_FRAME_LEN,
            allow_empty: false,
            encoded: Position {
                offset: 0,
                frame: 0,
            },
            header: None,
        }
    }

    /// Sets the largest payload length, in both directions.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use flatstream_core::ErrorKind;
    /// use flatstream_tokio::FlatStreamCodec;
    /// use tokio_util::codec::Decoder;
    ///
    /// let mut codec = FlatStreamCodec::new().with_max_frame_len(1024);
    /// let mut hostile = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0x7F][..]); // 2 GiB - 1
    /// let err = codec.decode(&mut hostile).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::FrameTooLarge { limit: 1024, .. }));
    /// assert!(hostile.capacity() < 64 * 1024, "nothing reserved for it");
    /// ```
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = max_frame_len;
        self.cursor.set_max_frame_len(max_frame_len);
        self
    }

    /// Sets what decoding does after a damaged frame; see [`AfterDamage`].
    #[must_use]
    pub fn with_after_damage(mut self, after_damage: AfterDamage) -> Self {
        self.cursor.set_after_damage(after_damage);
        self
    }

    /// Allows empty and all-zero payloads, which are refused by default
    /// ([`ErrorKind::EmptyPayload`]) as the blocking writer refuses them:
    /// their frames read like zero fill.
    #[must_use]
    pub fn allow_empty_payloads(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// The offset and index of the next frame to decode.
    #[must_use]
    pub fn position(&self) -> Position {
        self.cursor.position()
    }

    /// Frames and bytes encoded so far.
    #[must_use]
    pub fn encoded(&self) -> Position {
        self.encoded
    }

    /// The header of the decoded stream, once its first frame was one.
    #[must_use]
    pub fn header(&self) -> Option<&StreamHeader> {
        self.header.as_deref()
    }

    /// Decodes the next frame of `src`, with `eof` telling whether more
    /// bytes can come.
    fn decode_from(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<BytesMut>> {
        loop {
            let step = self.cursor.poll(src, eof);
            // The cursor's consumed bytes leave `src` with each step, so
            // its indices start again at 0.
            let consumed = self.cursor.discard();
            match step {
                Ok(Step::Frame(frame)) => {
                    src.advance(frame.payload_start);
                    return Ok(Some(src.split_to(consumed - frame.payload_start)));
                }
                Ok(Step::Header(frame)) => {
                    let header = src.get(frame.payload_start..frame.end).unwrap_or_default();
                    self.header = StreamHeader::decode(header).map(Box::new);
                    src.advance(consumed);
                }
                Ok(Step::End) => {
                    src.advance(consumed);
                    return Ok(None);
                }
                Ok(Step::Need { needed, .. }) => {
                    src.advance(consumed);
                    // Room for what the frame still needs, but never more
                    // than the bytes already here (or the reserve ahead).
                    src.reserve(needed.min(src.len().max(RESERVE_AHEAD)));
                    return Ok(None);
                }
                Err(error) => {
                    src.advance(consumed);
                    return Err(error);
                }
            }
        }
    }

    /// Appends the frame of `payload` to `dst`, after the writer's checks.
    #[inline]
    fn encode_payload(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<()> {
        let mut header = [0u8; MAX_HEADER_LEN];
        let header = &mut header[..self.framer.header_len()];
        encode_header_checked(
            &mut self.framer,
            payload,
            self.max_frame_len,
            self.allow_empty,
            header,
        )
        .map_err(|error| error.at(self.encoded))?;
        dst.reserve(header.len() + payload.len());
        dst.extend_from_slice(header);
        dst.extend_from_slice(payload);
        self.encoded.offset += (header.len() + payload.len()) as u64;
        self.encoded.frame += 1;
        Ok(())
    }
}

impl<F: Framer, D: Deframer> Decoder for FlatStreamCodec<F, D> {
    type Item = BytesMut;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>> {
        self.decode_from(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>> {
        self.decode_from(src, true)
    }
}

impl<F: Framer, D: Deframer> Encoder<&[u8]> for FlatStreamCodec<F, D> {
    type Error = Error;

    #[inline]
    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<()> {
        self.encode_payload(payload, dst)
    }
}

impl<F: Framer, D: Deframer> Encoder<Bytes> for FlatStreamCodec<F, D> {
    type Error = Error;

    #[inline]
    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<()> {
        self.encode_payload(&payload, dst)
    }
}

impl<F: Framer, D: Deframer> Encoder<BytesMut> for FlatStreamCodec<F, D> {
    type Error = Error;

    #[inline]
    fn encode(&mut self, payload: BytesMut, dst: &mut BytesMut) -> Result<()> {
        self.encode_payload(&payload, dst)
    }
}

/// A finished builder's bytes; an unfinished builder is refused
/// ([`ErrorKind::Invalid`]), never encoded.
impl<F: Framer, D: Deframer, A: Allocator> Encoder<&FlatBufferBuilder<'_, A>>
    for FlatStreamCodec<F, D>
{
    type Error = Error;

    fn encode(&mut self, builder: &FlatBufferBuilder<'_, A>, dst: &mut BytesMut) -> Result<()> {
        let payload = finished_payload(builder).map_err(|error| error.at(self.encoded))?;
        self.encode_payload(payload, dst)
    }
}

/// The stream's header, only as its first frame
/// ([`ErrorKind::HeaderNotFirst`] after any frame).
impl<F: Framer, D: Deframer> Encoder<&StreamHeader> for FlatStreamCodec<F, D> {
    type Error = Error;

    fn encode(&mut self, header: &StreamHeader, dst: &mut BytesMut) -> Result<()> {
        if self.encoded.frame != 0 {
            let kind = ErrorKind::HeaderNotFirst {
                frames_written: self.encoded.frame,
            };
            return Err(Error::from(kind).at(self.encoded));
        }
        self.encode_payload(&header.encode(), dst)
    }
}
