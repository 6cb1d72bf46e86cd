//! The self-describing header (`StreamHeader`): written as the first frame on
//! request, taken out of the payloads by every reader and exposed, a frame on
//! the wire for positions and recovery, and a plain payload anywhere else.

use flatstream::{
    Deframer, ErrorKind, Framer, Position, SliceReader, StreamHeader, StreamReader, StreamWriter,
    Tail, recover,
};

use crate::support::framers;
use crate::support::sources::{self, OneByteAtATime};

fn header() -> StreamHeader {
    StreamHeader::new()
        .with_schema(vec![7u8; 300])
        .with_root_type("flatstream.telemetry.Telemetry")
        .with_file_identifier("TLM1")
        .with_metadata("producer", "header test")
}

fn payloads() -> Vec<Vec<u8>> {
    (0..5u8).map(|i| vec![i + 1; 10 + usize::from(i)]).collect()
}

/// A stream of `payloads()`, after the header when `with_header`; returns it
/// with the length of the header frame (0 without one).
fn stream<F: Framer + Default>(with_header: bool) -> (Vec<u8>, u64) {
    let mut writer = StreamWriter::new(Vec::new(), F::default());
    if with_header {
        writer
            .write_header(&header())
            .expect("the test stream reads and writes");
    }
    let header_frame = writer.bytes_written();
    for payload in payloads() {
        writer
            .write_payload(&payload)
            .expect("the test stream reads and writes");
    }
    (writer.into_inner(), header_frame)
}

fn check_every_reader<F: Framer + Default, D: Deframer + Default>() {
    for with_header in [false, true] {
        let (bytes, header_frame) = stream::<F>(with_header);
        let expected_header = with_header.then(header);
        let first = Position {
            offset: header_frame,
            frame: u64::from(with_header),
        };

        // StreamReader: read_message after header(), with whole and
        // one-byte reads.
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        assert_eq!(
            reader
                .header()
                .expect("the test stream reads and writes")
                .cloned(),
            expected_header
        );
        assert_eq!(reader.position(), first, "header() consumes only a header");
        assert_eq!(
            reader
                .header()
                .expect("the test stream reads and writes")
                .cloned(),
            expected_header,
            "again"
        );
        let mut read = Vec::new();
        while let Some(payload) = reader
            .read_message()
            .expect("the test stream reads and writes")
        {
            read.push(payload.to_vec());
        }
        assert_eq!(read, payloads());

        let mut reader = StreamReader::new(OneByteAtATime { data: &bytes }, D::default());
        assert_eq!(
            reader
                .header()
                .expect("the test stream reads and writes")
                .cloned(),
            expected_header
        );
        assert_eq!(sources::collect_with_process_all(&mut reader), payloads());

        // StreamReader: header() after reading, through messages().
        let mut reader = StreamReader::new(bytes.as_slice(), D::default());
        let mut messages = reader.messages();
        let mut read = Vec::new();
        while let Some(payload) = messages.next().expect("the test stream reads and writes") {
            read.push(payload.to_vec());
        }
        assert_eq!(read, payloads());
        assert_eq!(
            reader
                .header()
                .expect("the test stream reads and writes")
                .cloned(),
            expected_header
        );

        // SliceReader: iteration, positions, header() before and after.
        let positioned: Vec<(Position, Vec<u8>)> = SliceReader::new(&bytes, D::default())
            .positioned()
            .map(|item| item.map(|(at, p)| (at, p.to_vec())))
            .collect::<Result<_, _>>()
            .expect("the test stream reads and writes");
        assert_eq!(positioned[0].0, first, "the first payload's frame");
        let read: Vec<Vec<u8>> = positioned.into_iter().map(|(_, p)| p).collect();
        assert_eq!(read, payloads());

        let mut slice = SliceReader::new(&bytes, D::default());
        assert_eq!(
            slice.header().expect("the test stream reads and writes"),
            expected_header
        );
        assert_eq!(slice.position(), first);
        let read: Vec<Vec<u8>> = slice
            .by_ref()
            .map(|p| p.map(<[u8]>::to_vec))
            .collect::<Result<_, _>>()
            .expect("the test stream reads and writes");
        assert_eq!(read, payloads());
        assert_eq!(
            slice.header().expect("the test stream reads and writes"),
            expected_header
        );

        // Recovery counts the header as the frame it is on the wire.
        let recovery =
            recover(bytes.as_slice(), D::default()).expect("the test stream reads and writes");
        assert!(matches!(recovery.tail, Tail::Clean), "{:?}", recovery.tail);
        assert_eq!(recovery.frames, 5 + u64::from(with_header));
        assert_eq!(recovery.valid_len, bytes.len() as u64);
    }
}

macro_rules! header_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            #[test]
            fn every_reader_keeps_the_header_apart_and_exposes_it() {
                super::check_every_reader::<$framer, $deframer>();
            }

            #[test]
            fn a_torn_header_is_a_torn_tail_and_never_a_payload() {
                super::check_torn_header::<$framer, $deframer>();
            }
        }
    };
}

framers::for_each_framer_pair!(header_tests);

fn check_torn_header<F: Framer + Default, D: Deframer + Default>() {
    let (bytes, header_frame) = stream::<F>(true);
    for cut in 0..usize::try_from(header_frame).expect("the test stream reads and writes") {
        let cut = &bytes[..cut];
        let mut reader = StreamReader::new(cut, D::default());
        assert_eq!(
            reader.header().expect("the test stream reads and writes"),
            None,
            "cut at {}",
            cut.len()
        );
        match reader.read_message() {
            Ok(None) => assert!(cut.is_empty()),
            Err(error) => assert!(error.is_unexpected_eof(), "{error}"),
            Ok(Some(payload)) => panic!("a torn header read as a payload of {}", payload.len()),
        }
        let items: Vec<_> = SliceReader::new(cut, D::default()).collect();
        assert!(items.iter().all(Result::is_err), "cut at {}", cut.len());
    }
}

#[test]
fn write_header_is_refused_after_a_frame_and_nothing_is_written() {
    let mut writer = StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    writer.write_payload(b"first").unwrap();
    let error = writer.write_header(&header()).unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::HeaderNotFirst { frames_written: 1 }
    ));
    assert_eq!(
        error.position(),
        Some(Position {
            offset: 9,
            frame: 1
        })
    );
    assert!(error.is_resumable(), "the writer goes on");
    writer.write_payload(b"second").unwrap();
    assert_eq!(writer.frames_written(), 2);
    assert_eq!(writer.get_ref().len(), 9 + 10);

    let appending =
        StreamWriter::new(Vec::new(), flatstream::DefaultFramer).starting_at(Position {
            offset: 9,
            frame: 1,
        });
    let mut appending = appending;
    assert!(matches!(
        appending.write_header(&header()).unwrap_err().kind(),
        ErrorKind::HeaderNotFirst { .. }
    ));
    assert!(appending.get_ref().is_empty());
}

#[test]
fn a_header_anywhere_but_first_is_an_ordinary_payload() {
    let encoded = header().encode();
    let mut writer = StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    writer.write_payload(b"first").unwrap();
    writer.write_payload(&encoded).unwrap();
    let bytes = writer.into_inner();
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    assert_eq!(reader.header().unwrap(), None);
    assert_eq!(reader.read_message().unwrap(), Some(&b"first"[..]));
    assert_eq!(reader.read_message().unwrap(), Some(encoded.as_slice()));
    let read: Vec<&[u8]> = SliceReader::new(&bytes, flatstream::DefaultDeframer)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(read, [&b"first"[..], encoded.as_slice()]);
}

#[test]
fn a_first_frame_that_is_not_a_header_stays_for_read_message() {
    // Identifier FSHD, but not a valid header table.
    let mut fake = vec![0u8; 32];
    fake[..4].copy_from_slice(&100u32.to_le_bytes());
    fake[4..8].copy_from_slice(b"FSHD");
    let mut writer = StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    writer.write_payload(&fake).unwrap();
    let bytes = writer.into_inner();
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    assert_eq!(reader.header().unwrap(), None);
    assert_eq!(reader.read_message().unwrap(), Some(fake.as_slice()));
}

#[cfg(feature = "crc32")]
#[test]
fn a_damaged_header_is_reported_at_frame_zero_and_reading_goes_on() {
    use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32};
    let (bytes, header_frame) = stream::<ChecksumFramer<Crc32>>(true);
    // Byte 12 is in the payload's identifier (no longer a header), the last
    // one in its schema bytes (still a header table, but the CRC fails).
    for damaged in [12, usize::try_from(header_frame).unwrap() - 1] {
        let mut bytes = bytes.clone();
        bytes[damaged] ^= 0x40;
        let mut reader = StreamReader::new(bytes.as_slice(), ChecksumDeframer::new(Crc32::new()));
        let error = match reader.header() {
            Ok(None) => reader.read_message().unwrap_err(),
            Err(error) => error,
            Ok(Some(header)) => panic!("byte {damaged}: a damaged header read as {header:?}"),
        };
        assert!(error.is_corruption(), "byte {damaged}: {error}");
        assert_eq!(
            error.position(),
            Some(Position {
                offset: 0,
                frame: 0
            })
        );
        let mut read = Vec::new();
        while let Some(payload) = reader.read_message().unwrap() {
            read.push(payload.to_vec());
        }
        assert_eq!(read, payloads(), "byte {damaged}");
        assert_eq!(reader.header().unwrap(), None);
    }
}

#[test]
fn a_header_over_the_reader_limit_is_not_read_into_memory() {
    let big = StreamHeader::new().with_schema(vec![1u8; 4096]);
    let mut writer = StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    writer.write_header(&big).unwrap();
    let bytes = writer.into_inner();
    let mut reader =
        StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer).with_max_frame_len(1024);
    assert_eq!(reader.header().unwrap(), None);
    assert!(matches!(
        reader.read_message().unwrap_err().kind(),
        ErrorKind::FrameTooLarge { .. }
    ));
}

/// The same damaged header under salvage (`AfterDamage::Resync`), read one
/// byte at a time: `header()` reports the damage (it used to trip an
/// internal assertion when salvage asked for more bytes) and every payload
/// after it is read.
#[cfg(feature = "crc32")]
#[test]
fn a_damaged_header_under_salvage_is_reported_and_reading_goes_on() {
    use flatstream::{AfterDamage, ChecksumDeframer, ChecksumFramer, Crc32};
    let (bytes, header_frame) = stream::<ChecksumFramer<Crc32>>(true);
    let mut bytes = bytes.clone();
    bytes[usize::try_from(header_frame).unwrap() - 1] ^= 0x40;
    for whole in [true, false] {
        let source: Box<dyn std::io::Read> = if whole {
            Box::new(bytes.as_slice())
        } else {
            Box::new(OneByteAtATime { data: &bytes })
        };
        let mut reader = StreamReader::new(source, ChecksumDeframer::new(Crc32::new()))
            .with_after_damage(AfterDamage::Resync);
        let mut read = Vec::new();
        match reader.header() {
            Ok(None) => {}
            Err(error) => assert!(error.is_corruption(), "{error}"),
            Ok(Some(header)) => panic!("a damaged header read as {header:?}"),
        }
        loop {
            match reader.read_message() {
                Ok(Some(payload)) => read.push(payload.to_vec()),
                Ok(None) => break,
                Err(error) => assert!(error.is_corruption(), "{error}"),
            }
        }
        assert_eq!(read, payloads(), "whole reads: {whole}");
    }
}

/// A header written after a first frame that an error cut is refused: that
/// frame is still the first, and a header after it would be read as a
/// payload.
#[test]
fn write_header_is_refused_while_the_first_frame_is_in_flight() {
    use std::io::{self, Write};

    /// Takes 3 bytes, then says `WouldBlock` once, then takes everything.
    struct Slow(Vec<u8>, bool);
    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0.len() >= 3 && !self.1 {
                self.1 = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = if self.1 {
                buf.len()
            } else {
                buf.len().min(3 - self.0.len())
            };
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    let mut writer = StreamWriter::new(Slow(Vec::new(), false), flatstream::DefaultFramer);
    let cut = writer.write_payload(b"first").unwrap_err();
    assert!(cut.is_resumable(), "{cut}");
    assert!(writer.has_frame_in_flight());
    let refused = writer.write_header(&header()).unwrap_err();
    assert!(
        matches!(refused.kind(), ErrorKind::HeaderNotFirst { .. }),
        "{refused}"
    );
    writer.flush().unwrap();
    let bytes = writer.into_inner().0;
    let mut reader = StreamReader::new(bytes.as_slice(), flatstream::DefaultDeframer);
    assert_eq!(reader.header().unwrap(), None);
    assert_eq!(reader.read_message().unwrap(), Some(&b"first"[..]));
    assert_eq!(reader.read_message().unwrap(), None);
}

/// `header()` on a first frame of 1 MiB that is not a header reads it in a
/// few large reads, not a header's worth of bytes per read.
#[test]
fn header_reads_a_large_first_frame_in_large_reads() {
    use std::io::{self, Read};

    /// Counts its read calls.
    struct Counting<'a>(&'a [u8], usize);
    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 += 1;
            self.0.read(buf)
        }
    }

    let mut writer = StreamWriter::new(Vec::new(), flatstream::DefaultFramer);
    writer.write_payload(&vec![5u8; 1 << 20]).unwrap();
    let bytes = writer.into_inner();
    let mut reader = StreamReader::new(Counting(&bytes, 0), flatstream::DefaultDeframer);
    assert_eq!(reader.header().unwrap(), None);
    let reads = reader.get_ref().1;
    assert!(reads <= 40, "{reads} reads for one 1 MiB frame");
    assert_eq!(
        reader.read_message().unwrap().map(<[u8]>::len),
        Some(1 << 20)
    );
}
