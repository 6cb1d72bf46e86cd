//! "Core plus one checksum crate" is a complete setup: this test names items
//! of `flatstream-core` and `flatstream-checksum-xxhash` only (besides `flatbuffers` and `std`)
//! and writes, reads and verifies a XXH3-64 stream.

use flatbuffers::FlatBufferBuilder;
use flatstream_checksum_xxhash::{ChecksumDeframer, ChecksumFramer, XxHash64};
use flatstream_core::{ErrorKind, StreamReader, StreamWriter};

fn build_label(builder: &mut FlatBufferBuilder<'_>, label: &str) {
    builder.reset();
    let root = builder.create_string(label);
    builder.finish(root, None);
}

#[test]
fn writes_and_reads_a_checksummed_stream() {
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(XxHash64::new()));
    let mut builder = FlatBufferBuilder::new();
    for i in 0..100 {
        build_label(&mut builder, &format!("sensor_{i}"));
        writer.write_finished(&mut builder).unwrap();
    }
    writer.write(&"simple mode").unwrap();
    let bytes = writer.into_inner();

    let mut reader = StreamReader::new(bytes.as_slice(), ChecksumDeframer::new(XxHash64::new()));
    let mut labels = Vec::new();
    reader
        .process_all(|payload| {
            labels.push(flatbuffers::root::<&str>(payload).unwrap().to_owned());
            Ok(())
        })
        .unwrap();
    assert_eq!(labels.len(), 101);
    assert_eq!(labels[42], "sensor_42");
    assert_eq!(labels[100], "simple mode");
}

#[test]
fn header_is_length_then_8_byte_checksum() {
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(XxHash64::new()));
    writer.write_payload(b"123456789").unwrap();
    let bytes = writer.into_inner();
    assert_eq!(&bytes[..4], &9u32.to_le_bytes());
    let check: u64 = 0x72DC_B18B_67A1_7DFF;
    assert_eq!(&bytes[4..4 + 8], &check.to_le_bytes()[..8]);
    assert_eq!(&bytes[4 + 8..], b"123456789");
}

#[test]
fn corrupted_payload_is_reported_and_skipped() {
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(XxHash64::new()));
    writer.write_payload(b"first").unwrap();
    writer.write_payload(b"second").unwrap();
    let mut bytes = writer.into_inner();
    let last = 4 + 8 + 5 - 1;
    bytes[last] ^= 0x01; // flip a bit in the first payload

    let mut reader = StreamReader::new(bytes.as_slice(), ChecksumDeframer::new(XxHash64::new()));
    let err = reader.read_message().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ChecksumMismatch {
                algorithm: "XXH3-64",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.position().map(|p| (p.offset, p.frame)), Some((0, 0)));
    assert_eq!(reader.read_message().unwrap(), Some(&b"second"[..]));
    assert_eq!(reader.read_message().unwrap(), None);
}
