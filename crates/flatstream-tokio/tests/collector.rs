//! The `tcp_collector` example end to end over loopback: well-behaved
//! agents' messages all arrive, in order, every field checked, while
//! beside them a peer declaring a 2 GiB frame, a peer trickling one byte
//! every 2 ms, and a peer that disconnects in the middle of a frame each
//! cost the collector only their own connection (with the error and its
//! position in that connection's outcome), and no connection's buffer grows
//! past its frame limit.

#[allow(dead_code, reason = "the example's `main` and demo are not run here")]
#[path = "../examples/tcp_collector.rs"]
mod tcp_collector;

use core::net::SocketAddr;
use core::time::Duration;

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{ChecksumFramer, Crc32, StreamHeader, StreamWriter};
use tcp_collector::telemetry::{Reading, finish_telemetry_buffer};
use tcp_collector::{Config, Outcome, agent, first_reading, serve, verify};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The agents that behave, and their messages each.
const AGENTS: u64 = 6;
const MESSAGES: u64 = 2_000;
/// The collector's frame limit.
const LIMIT: usize = 64 * 1024;

/// A CRC-32 stream as agent `agent` would send it: header, then `messages`
/// readings.
fn agent_stream(agent: u64, messages: u64) -> Vec<u8> {
    let mut writer = StreamWriter::new(Vec::new(), ChecksumFramer::new(Crc32::new()));
    let header = StreamHeader::new().with_metadata("agent", agent.to_string());
    writer.write_header(&header).expect("header");
    let mut builder = FlatBufferBuilder::new();
    for i in 0..messages {
        builder.reset();
        let reading = Reading::sample(first_reading(agent) + i);
        let root = reading.build(&mut builder);
        finish_telemetry_buffer(&mut builder, root);
        writer.write_finished(&mut builder).expect("message");
    }
    writer.into_inner()
}

/// Sends `bytes` to `address`, `pace` apart per byte when given.
async fn send_raw(address: SocketAddr, bytes: Vec<u8>, pace: Option<Duration>) {
    let mut socket = TcpStream::connect(address).await.expect("connect");
    match pace {
        None => socket.write_all(&bytes).await.expect("send"),
        Some(pace) => {
            for byte in bytes {
                socket.write_all(&[byte]).await.expect("send");
                tokio::time::sleep(pace).await;
            }
        }
    }
    socket.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_peers_cost_only_their_own_connection() {
    let out_dir =
        std::env::temp_dir().join(format!("flatstream-collector-test-{}", std::process::id()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let config = Config {
        out_dir: out_dir.clone(),
        max_frame_len: LIMIT,
        frame_timeout: Duration::from_secs(20),
        max_connections: Some(AGENTS + 3),
        max_open: 64,
    };
    let server = tokio::spawn(serve(listener, config, core::future::pending()));

    // The hostile peer: a CRC-32 frame header declaring 2 GiB - 1.
    let mut hostile = vec![0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0];
    hostile.extend_from_slice(&[0xAB; 100]);
    let hostile = tokio::spawn(send_raw(address, hostile, None));
    // The trickler: agent 100's header and 2 messages, a byte every 2 ms.
    let trickler = tokio::spawn(send_raw(
        address,
        agent_stream(100, 2),
        Some(Duration::from_millis(2)),
    ));
    // The deserter: agent 200's header, 5 messages, then half of a sixth.
    let whole = agent_stream(200, 5);
    let mut torn = agent_stream(200, 6);
    let cut = whole.len() + (torn.len() - whole.len()) / 2;
    torn.truncate(cut);
    let deserter = tokio::spawn(send_raw(address, torn, None));

    let mut agents = Vec::new();
    for agent_id in 0..AGENTS {
        agents.push(tokio::spawn(agent(address, agent_id, MESSAGES)));
    }
    for sent in agents {
        sent.await
            .expect("the agent ran")
            .expect("the agent sent everything");
    }
    hostile.await.expect("the hostile peer ran");
    trickler.await.expect("the trickler ran");
    deserter.await.expect("the deserter ran");
    let connections = server
        .await
        .expect("the collector ran")
        .expect("the listener worked");
    assert_eq!(connections.len() as u64, AGENTS + 3);

    let mut agents_seen = Vec::new();
    for connection in &connections {
        assert!(
            connection.peak_buffer <= LIMIT + 64 * 1024,
            "{connection}: buffer {} over the limit",
            connection.peak_buffer
        );
        match &connection.outcome {
            Outcome::Clean => {
                let (agent_id, count) = verify(&connection.path).expect("a verified file");
                let expected = match agent_id {
                    100 => 2,
                    _ => MESSAGES,
                };
                assert_eq!(count, expected, "{connection}");
                agents_seen.push(agent_id);
            }
            Outcome::Closed(reason) if reason.contains("exceeds the limit") => {
                assert!(reason.contains("frame 0"), "{reason}");
                assert_eq!(connection.messages, 0);
                assert!(
                    connection.peak_buffer <= 64 * 1024,
                    "nothing reserved for the declared 2 GiB: {}",
                    connection.peak_buffer
                );
            }
            Outcome::Closed(reason) if reason.contains("unexpected end") => {
                // The frames before the cut are kept, verified.
                assert_eq!(verify(&connection.path), Ok((200, 5)), "{reason}");
                assert!(
                    reason.contains("frame 6"),
                    "the torn frame is named: {reason}"
                );
            }
            other => panic!("{connection}: unexpected outcome {other:?}"),
        }
    }
    agents_seen.sort_unstable();
    let mut expected: Vec<u64> = (0..AGENTS).collect();
    expected.push(100);
    assert_eq!(agents_seen, expected, "every good agent and the trickler");
    std::fs::remove_dir_all(&out_dir).expect("clean up");
}

/// Shutdown (Ctrl-C in the example) while an agent is in the middle of its
/// stream: the collector stops at a frame boundary, and the agent's file
/// holds its header and whole messages only, synced, verified field by
/// field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_whole_frames_and_syncs() {
    let out_dir = std::env::temp_dir().join(format!(
        "flatstream-collector-shutdown-{}",
        std::process::id()
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let config = Config {
        out_dir: out_dir.clone(),
        max_frame_len: LIMIT,
        frame_timeout: Duration::from_secs(20),
        max_connections: None,
        max_open: 64,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    // Agent 7's header and 50 messages, 300 bytes every 5 ms: still
    // sending when the collector stops.
    let stream = agent_stream(7, 50);
    let sender = tokio::spawn(async move {
        let mut socket = TcpStream::connect(address).await.expect("connect");
        for piece in stream.chunks(300) {
            if socket.write_all(piece).await.is_err() {
                break; // the collector has gone
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    stop.send(()).expect("the collector is running");
    let connections = server
        .await
        .expect("the collector ran")
        .expect("the listener worked");
    sender.abort();
    assert_eq!(connections.len(), 1);
    let connection = &connections[0];
    assert_eq!(connection.outcome, Outcome::Shutdown, "{connection}");
    let (agent_id, count) = verify(&connection.path).expect("whole frames only");
    assert_eq!((agent_id, count), (7, connection.messages));
    assert!(
        (1..50).contains(&count),
        "stopped in the middle of the stream: {count} of 50"
    );
    std::fs::remove_dir_all(&out_dir).expect("clean up");
}
