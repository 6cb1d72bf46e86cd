//! `Framer` and `Deframer` are object safe, and boxed trait objects are
//! framers and deframers in their own right, forwarding every method (limits
//! included), so a program can pick its framing at run time.

use flatstream_core::{Decoded, Deframer, ErrorKind, Framer, Result, decode, wire};

/// Length prefix only, with an optional limit of its own.
#[derive(Debug, Clone, Copy)]
struct LengthOnly {
    limit: usize,
}

impl Framer for LengthOnly {
    fn header_len(&self) -> usize {
        wire::LENGTH_PREFIX_LEN
    }
    fn encode_header(&mut self, payload: &[u8], header: &mut [u8]) -> Result<()> {
        wire::write_le(payload.len() as u64, wire::LENGTH_PREFIX_LEN, header);
        Ok(())
    }
    fn max_frame_len(&self) -> usize {
        self.limit
    }
}

impl Deframer for LengthOnly {
    fn header_len(&self) -> usize {
        wire::LENGTH_PREFIX_LEN
    }
    fn verify(&mut self, _: &[u8], _: &[u8]) -> core::result::Result<(), ErrorKind> {
        Ok(())
    }
    fn max_frame_len(&self) -> usize {
        self.limit
    }
}

/// Compiles only while both traits are object safe: `Box<dyn Framer>` and
/// `Box<dyn Deframer>` are part of the API. The crate's one check of it.
fn _object_safe(_: &dyn Framer, _: &dyn Deframer) {}

/// Compiles only while boxed trait objects implement the traits.
fn _boxes_implement_the_traits<F: Framer, D: Deframer>() {}
const _: fn() = _boxes_implement_the_traits::<Box<dyn Framer>, Box<dyn Deframer>>;
const _: fn() = _boxes_implement_the_traits::<Box<dyn Framer + Send>, Box<dyn Deframer + Send>>;
const _: fn() = _boxes_implement_the_traits::<Box<LengthOnly>, Box<LengthOnly>>;

#[test]
fn boxed_framer_forwards_every_method() {
    let mut framer: Box<dyn Framer + Send> = Box::new(LengthOnly { limit: 16 });
    assert_eq!(framer.header_len(), 4);
    assert_eq!(framer.max_frame_len(), 16);
    let mut frame = Vec::new();
    framer.encode_into(b"abc", &mut frame).unwrap();
    assert_eq!(frame, [3, 0, 0, 0, b'a', b'b', b'c']);
}

#[test]
fn boxed_deframer_forwards_every_method_and_its_limit_applies_in_decode() {
    let mut deframer: Box<dyn Deframer> = Box::new(LengthOnly { limit: 2 });
    assert_eq!(deframer.header_len(), 4);
    assert_eq!(deframer.max_frame_len(), 2);
    assert_eq!(
        decode(&mut deframer, &[2, 0, 0, 0, b'h', b'i'], 1024).unwrap(),
        Decoded::Frame {
            payload_start: 4,
            frame_len: 6
        }
    );
    let err = decode(&mut deframer, &[3, 0, 0, 0], 1024).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::FrameTooLarge {
                declared: 3,
                limit: 2
            }
        ),
        "{err}"
    );
}

#[cfg(feature = "std")]
#[test]
fn boxed_framing_drives_the_stream_engines() {
    use flatstream_core::{StreamReader, StreamWriter};

    let mut writer = StreamWriter::new(
        Vec::new(),
        Box::new(LengthOnly { limit: 4 }) as Box<dyn Framer>,
    );
    writer.write_payload(b"abcd").unwrap();
    let err = writer.write_payload(b"abcde").unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::FrameTooLarge {
            declared: 5,
            limit: 4
        }
    ));
    let bytes = writer.into_inner();
    let deframer: Box<dyn Deframer> = Box::new(LengthOnly { limit: 4 });
    let mut reader = StreamReader::new(bytes.as_slice(), deframer);
    assert_eq!(reader.read_message().unwrap(), Some(&b"abcd"[..]));
    assert_eq!(reader.read_message().unwrap(), None);
}
