//! The plain framing is tokio-util's little-endian 4-byte
//! `LengthDelimitedCodec`, byte for byte and over a real TCP socket on
//! 127.0.0.1, in both directions; and the codec works unchanged in
//! `FramedRead`, `FramedWrite` and `Framed`, headers included.

use bytes::{Bytes, BytesMut};
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, DefaultDeframer, DefaultFramer, ErrorKind,
    StreamHeader,
};
use flatstream_tokio::{AsyncStreamReader, AsyncStreamWriter, FlatStreamCodec};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Encoder, Framed, FramedRead, FramedWrite, LengthDelimitedCodec};

fn tokio_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .new_codec()
}

/// Payloads from 1 byte to 100 KB, none all zero.
fn payloads() -> Vec<Vec<u8>> {
    let mut payloads: Vec<Vec<u8>> = (1..=64usize)
        .map(|n| {
            (0..n)
                .map(|i| u8::try_from(i % 250 + 1).expect("fits"))
                .collect()
        })
        .collect();
    payloads.push(vec![9; 100_000]);
    payloads.push(vec![1; 65_536]);
    payloads
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
    (client.expect("connect"), accepted.expect("accept").0)
}

#[test]
fn plain_framing_is_tokios_length_delimited_codec_byte_for_byte() {
    let mut ours = FlatStreamCodec::new();
    let mut theirs = tokio_codec();
    let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
    for payload in payloads() {
        ours.encode(payload.as_slice(), &mut a).expect("ours");
        theirs.encode(Bytes::from(payload), &mut b).expect("theirs");
    }
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_writer_to_tokios_reader_over_tcp() {
    let (client, server) = tcp_pair().await;
    let send = tokio::spawn(async move {
        let mut writer = AsyncStreamWriter::new(client, DefaultFramer);
        for payload in payloads() {
            writer.write_payload(&payload).await.expect("write");
        }
        writer.shutdown().await.expect("shutdown");
    });
    let mut frames = FramedRead::new(server, tokio_codec());
    let mut read = Vec::new();
    while let Some(frame) = frames.next().await {
        read.push(frame.expect("tokio reads our frames").to_vec());
    }
    send.await.expect("the sender ran");
    assert_eq!(read, payloads());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokios_writer_to_our_readers_over_tcp() {
    for reader_kind in ["AsyncStreamReader", "FramedRead<FlatStreamCodec>"] {
        let (client, server) = tcp_pair().await;
        let send = tokio::spawn(async move {
            let mut sink = FramedWrite::new(client, tokio_codec());
            for payload in payloads() {
                sink.send(Bytes::from(payload)).await.expect("send");
            }
            SinkExt::<Bytes>::close(&mut sink).await.expect("close");
        });
        let mut read = Vec::new();
        if reader_kind == "AsyncStreamReader" {
            let mut reader = AsyncStreamReader::new(server, DefaultDeframer);
            while let Some(payload) = reader.read_message().await.expect("we read tokio's frames") {
                read.push(payload.to_vec());
            }
        } else {
            let mut frames = FramedRead::new(server, FlatStreamCodec::new());
            while let Some(frame) = frames.next().await {
                read.push(frame.expect("we read tokio's frames").to_vec());
            }
        }
        send.await.expect("the sender ran");
        assert_eq!(read, payloads(), "{reader_kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksummed_frames_over_tcp_with_a_header_through_framed() {
    let (client, server) = tcp_pair().await;
    let codec = || {
        FlatStreamCodec::with_framing(
            ChecksumFramer::new(Crc32::new()),
            ChecksumDeframer::new(Crc32::new()),
        )
    };
    let send = tokio::spawn(async move {
        let mut framed = Framed::new(client, codec());
        let header = StreamHeader::new().with_metadata("agent", "probe-7");
        framed.send(&header).await.expect("header");
        for payload in payloads() {
            framed.send(payload.as_slice()).await.expect("send");
        }
        // A header after frames is refused, and nothing is sent for it.
        let refused = framed.send(&header).await.expect_err("not first");
        assert!(matches!(refused.kind(), ErrorKind::HeaderNotFirst { .. }));
        SinkExt::<&[u8]>::close(&mut framed).await.expect("close");
    });
    let mut frames = FramedRead::new(server, codec());
    let mut read = Vec::new();
    while let Some(frame) = frames.next().await {
        read.push(frame.expect("a whole stream").to_vec());
    }
    send.await.expect("the sender ran");
    assert_eq!(read, payloads(), "the header is not an item");
    let header = frames.decoder().header().expect("the header was kept");
    assert_eq!(header.metadata("agent"), Some("probe-7"));
}

#[tokio::test]
async fn a_torn_frame_at_the_end_is_an_error_not_a_clean_end() {
    let mut wire = BytesMut::new();
    FlatStreamCodec::new()
        .encode(&b"whole"[..], &mut wire)
        .expect("encode");
    FlatStreamCodec::new()
        .encode(&b"torn frame"[..], &mut wire)
        .expect("encode");
    wire.truncate(wire.len() - 3);
    let mut frames = FramedRead::new(&wire[..], FlatStreamCodec::new());
    let first = frames.next().await.expect("one frame").expect("whole");
    assert_eq!(&first[..], b"whole");
    let err = frames.next().await.expect("an error").expect_err("torn");
    assert!(err.is_unexpected_eof(), "{err}");
    assert_eq!(err.position().map(|p| (p.offset, p.frame)), Some((9, 1)));
    assert!(
        frames.next().await.is_none(),
        "FramedRead ends after an error"
    );
}
