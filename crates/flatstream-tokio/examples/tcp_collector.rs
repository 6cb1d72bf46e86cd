//! A telemetry collector: agents stream CRC-32 framed `Telemetry`
//! FlatBuffers over TCP, and the collector writes each connection's frames
//! to a file of its own, as they arrive.
//!
//! Each connection is read by an `AsyncStreamReader` with a frame limit and
//! a memory policy, so a connection costs at most its frame limit (plus one
//! read chunk) of buffer, whatever its peer sends. A connection whose peer
//! misbehaves (a hostile length, a checksum that does not match, a frame
//! torn by a disconnect) is closed with one log line naming the connection,
//! the error and its byte offset and frame; the frames it sent before stay
//! in its file, and no other connection notices. Files are written through
//! an `AsyncStreamWriter` (CRC-32 again) and synced when their connection
//! ends. At most `max_open` connections are served at once (a further peer
//! waits in the listen queue), and a failing `accept` (out of descriptors)
//! is retried after a pause, not in a busy loop. Ctrl-C stops accepting,
//! stops every connection at its next frame boundary (a frame still
//! arriving is dropped: files hold whole frames only), flushes and syncs
//! every file, and prints a summary.
//!
//! ```sh
//! # A collector on 127.0.0.1:7070, writing to ./capture, until Ctrl-C:
//! cargo run --release -p flatstream-tokio --example tcp_collector -- serve 127.0.0.1:7070 capture
//! # The demo: a collector and 8 agents of 10,000 messages each in one
//! # process, then every file read back and every field checked:
//! cargo run --release -p flatstream-tokio --example tcp_collector -- demo 8 10000
//! ```

extern crate alloc;

#[path = "../../flatstream/schema/telemetry.rs"]
pub(crate) mod telemetry;

use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, ShrinkAbove, SliceReader, StreamHeader};
use flatstream_tokio::{AsyncStreamReader, AsyncStreamWriter};
use telemetry::{Reading, check, finish_telemetry_buffer, root_as_telemetry};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the collector treats its connections.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where each connection's file goes.
    pub(crate) out_dir: PathBuf,
    /// The largest payload a connection may send: its buffer never grows
    /// past this (plus one read chunk).
    pub(crate) max_frame_len: usize,
    /// How long one frame may take to arrive once started or awaited; a
    /// slower peer loses its connection.
    pub(crate) frame_timeout: Duration,
    /// Stop accepting after this many connections, and return once they
    /// have all ended (`None`: until shutdown).
    pub(crate) max_connections: Option<u64>,
    /// Connections served at once; a further peer waits to be accepted.
    pub(crate) max_open: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            out_dir: PathBuf::from("."),
            max_frame_len: 1 << 20,
            frame_timeout: Duration::from_secs(30),
            max_connections: None,
            max_open: 1024,
        }
    }
}

/// How one connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The peer closed the connection at a frame boundary.
    Clean,
    /// The collector shut down; the connection's frames so far are kept.
    Shutdown,
    /// The connection was closed for this reason (the error as displayed).
    Closed(String),
}

/// What one connection delivered.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The connection's number, in order of arrival.
    pub(crate) id: u64,
    /// The peer.
    pub(crate) peer: SocketAddr,
    /// The file its frames went to.
    pub(crate) path: PathBuf,
    /// Messages written to the file (the header, if any, not counted).
    pub(crate) messages: u64,
    /// Bytes written to the file.
    pub(crate) bytes: u64,
    /// The most buffer memory its reader held.
    pub(crate) peak_buffer: usize,
    /// How it ended.
    pub(crate) outcome: Outcome,
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connection {} ({}): {} messages, {} bytes to {}; ",
            self.id,
            self.peer,
            self.messages,
            self.bytes,
            self.path.display()
        )?;
        match &self.outcome {
            Outcome::Clean => write!(f, "closed by the peer"),
            Outcome::Shutdown => write!(f, "closed at shutdown"),
            Outcome::Closed(reason) => write!(f, "closed: {reason}"),
        }
    }
}

/// Accepts connections on `listener` until `shutdown` completes, then lets
/// every connection finish and returns what each delivered.
///
/// # Errors
///
/// Only errors of the listener itself; a connection's errors end that
/// connection and are in its [`Outcome`].
pub(crate) async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<Vec<Connection>> {
    std::fs::create_dir_all(&config.out_dir)?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    tokio::pin!(shutdown);
    let mut shut_down = false;
    let open = alloc::sync::Arc::new(tokio::sync::Semaphore::new(config.max_open));
    while config.max_connections.is_none_or(|max| next_id < max) {
        tokio::select! {
            () = &mut shutdown => {
                shut_down = true;
                break;
            }
            accepted = async {
                let permit = open.clone().acquire_owned().await;
                (listener.accept().await, permit)
            } => {
                let ((socket, peer), permit) = match accepted {
                    (Ok(accepted), Ok(permit)) => (accepted, permit),
                    // A connection that failed before it was accepted
                    // (reset, out of descriptors): log it, pause so that a
                    // lasting failure is not a busy loop, and go on.
                    (Err(error), _) => {
                        eprintln!("accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    (Ok(_), Err(closed)) => {
                        eprintln!("no more connections: {closed}");
                        break;
                    }
                };
                let id = next_id;
                next_id += 1;
                let (config, stopped) = (config.clone(), stopped.clone());
                tasks.spawn(async move {
                    let connection = collect(id, socket, peer, config, stopped).await;
                    drop(permit);
                    connection
                });
            }
        }
    }
    drop(listener);
    let mut connections = Vec::new();
    loop {
        let done = if shut_down {
            // Stop every connection at its next frame boundary.
            let _ = stop.send(true);
            tasks.join_next().await
        } else {
            tokio::select! {
                () = &mut shutdown => {
                    shut_down = true;
                    continue;
                }
                done = tasks.join_next() => done,
            }
        };
        match done {
            Some(Ok(connection)) => connections.push(connection),
            Some(Err(error)) => eprintln!("a connection task failed: {error}"),
            None => break,
        }
    }
    connections.sort_by_key(|c| c.id);
    Ok(connections)
}

/// Reads one connection's frames into its file until the peer closes it,
/// it misbehaves, or the collector stops.
async fn collect(
    id: u64,
    socket: TcpStream,
    peer: SocketAddr,
    config: Config,
    mut stop: watch::Receiver<bool>,
) -> Connection {
    let path = config.out_dir.join(format!("connection-{id:06}.fs"));
    let mut connection = Connection {
        id,
        peer,
        path: path.clone(),
        messages: 0,
        bytes: 0,
        peak_buffer: 0,
        outcome: Outcome::Clean,
    };
    let file = match tokio::fs::File::create(&path).await {
        Ok(file) => file,
        Err(error) => {
            connection.outcome =
                Outcome::Closed(format!("cannot create {}: {error}", path.display()));
            eprintln!("{connection}");
            return connection;
        }
    };
    let mut reader = AsyncStreamReader::new(socket, ChecksumDeframer::new(Crc32::new()))
        .with_max_frame_len(config.max_frame_len)
        // A rare huge message does not pin its buffer for the connection's life.
        .with_memory_policy(ShrinkAbove::new(256 * 1024, 64 * 1024));
    let mut writer = AsyncStreamWriter::new(file, ChecksumFramer::new(Crc32::new()));

    // The agent's header, if it sends one, goes first in the file.
    let header = tokio::select! {
        header = tokio::time::timeout(config.frame_timeout, reader.header()) => header,
        _ = stop.changed() => Ok(Ok(None)),
    };
    let outcome = match header {
        Err(_) => Some(Outcome::Closed(format!(
            "no header or first frame within {:?}",
            config.frame_timeout
        ))),
        Ok(Err(error)) => Some(Outcome::Closed(error.to_string())),
        Ok(Ok(header)) => match header.cloned() {
            Some(header) => writer
                .write_header(&header)
                .await
                .err()
                .map(|error| Outcome::Closed(format!("writing {}: {error}", path.display()))),
            None => None,
        },
    };
    let outcome = match outcome {
        Some(outcome) => outcome,
        None => {
            read_frames(
                &mut reader,
                &mut writer,
                &mut connection,
                &config,
                &mut stop,
            )
            .await
        }
    };
    connection.peak_buffer = connection.peak_buffer.max(reader.capacity());
    connection.outcome = outcome;
    let synced = async {
        writer.flush().await?;
        writer.get_mut().sync_data().await?;
        Ok::<(), flatstream::Error>(())
    };
    if let Err(error) = synced.await {
        connection.outcome = Outcome::Closed(format!("syncing {}: {error}", path.display()));
    }
    connection.bytes = writer.bytes_written();
    eprintln!("{connection}");
    connection
}

/// Copies frames from `reader` to `writer` until the peer closes the
/// connection, misbehaves, or the collector stops.
async fn read_frames(
    reader: &mut AsyncStreamReader<TcpStream, ChecksumDeframer<Crc32>>,
    writer: &mut AsyncStreamWriter<tokio::fs::File, ChecksumFramer<Crc32>>,
    connection: &mut Connection,
    config: &Config,
    stop: &mut watch::Receiver<bool>,
) -> Outcome {
    loop {
        // The buffer only grows inside a read: measured after each.
        connection.peak_buffer = connection.peak_buffer.max(reader.capacity());
        if *stop.borrow() {
            break Outcome::Shutdown;
        }
        // `read_message` is cancellation safe: stopping or timing out
        // between its awaits loses no byte of the connection.
        let read = tokio::select! {
            read = tokio::time::timeout(config.frame_timeout, reader.read_message()) => read,
            _ = stop.changed() => continue,
        };
        let payload = match read {
            Err(_) => {
                break Outcome::Closed(format!(
                    "no whole frame within {:?} (at {})",
                    config.frame_timeout,
                    reader.position()
                ));
            }
            Ok(Ok(Some(payload))) => payload,
            Ok(Ok(None)) => break Outcome::Clean,
            Ok(Err(error)) => break Outcome::Closed(error.to_string()),
        };
        if let Err(error) = writer.write_payload(payload).await {
            break Outcome::Closed(format!("writing {}: {error}", connection.path.display()));
        }
        connection.messages += 1;
    }
}

/// One agent: connects to `address` and sends a header naming it, then
/// `messages` telemetry readings, CRC-32 framed.
///
/// # Errors
///
/// The connection's or the writer's error.
pub(crate) async fn agent(
    address: SocketAddr,
    agent: u64,
    messages: u64,
) -> flatstream::Result<()> {
    let socket = TcpStream::connect(address).await?;
    let mut writer = AsyncStreamWriter::new(socket, ChecksumFramer::new(Crc32::new()));
    let header = StreamHeader::new().with_metadata("agent", agent.to_string());
    writer.write_header(&header).await?;
    let mut builder = FlatBufferBuilder::with_capacity(1024);
    for i in 0..messages {
        builder.reset();
        let root = Reading::sample(first_reading(agent) + i).build(&mut builder);
        finish_telemetry_buffer(&mut builder, root);
        writer.write_finished(&mut builder).await?;
    }
    writer.shutdown().await
}

/// The number of agent `agent`'s first reading.
pub(crate) fn first_reading(agent: u64) -> u64 {
    agent * 1_000_000_000
}

/// Reads back a collected file: the agent's header, then its readings in
/// order, every field checked. Returns the agent and the readings checked.
///
/// # Errors
///
/// What is wrong with the file, by frame.
pub(crate) fn verify(path: &Path) -> Result<(u64, u64), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut frames = SliceReader::new(&bytes, ChecksumDeframer::new(Crc32::new()));
    let header = frames
        .header()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .ok_or_else(|| format!("{}: no header", path.display()))?;
    let agent: u64 = header
        .metadata("agent")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{}: the header names no agent", path.display()))?;
    let mut count = 0;
    for payload in frames {
        let payload = payload.map_err(|e| format!("{}: {e}", path.display()))?;
        let table = root_as_telemetry(payload).map_err(|e| format!("{}: {e}", path.display()))?;
        check(&Reading::sample(first_reading(agent) + count), table)
            .map_err(|e| format!("{}: message {count}: {e}", path.display()))?;
        count += 1;
    }
    Ok((agent, count))
}

/// Prints a line on stdout; a reader that went away (`| head`) is not an
/// error of the collector's.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tcp_collector: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The command line: `serve [ADDR] [DIR]` or `demo [AGENTS] [MESSAGES]`.
async fn run() -> Result<(), Box<dyn core::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let address = args.get(1).map_or("127.0.0.1:7070", String::as_str);
            let out_dir = PathBuf::from(args.get(2).map_or("capture", String::as_str));
            let listener = TcpListener::bind(address)
                .await
                .map_err(|e| format!("cannot listen on {address}: {e}"))?;
            eprintln!(
                "collecting on {} into {} (Ctrl-C stops)",
                listener.local_addr()?,
                out_dir.display()
            );
            let config = Config {
                out_dir,
                ..Config::default()
            };
            let ctrl_c = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let connections = serve(listener, config, ctrl_c).await?;
            let messages: u64 = connections.iter().map(|c| c.messages).sum();
            say!(
                "{} connections, {messages} messages, every file synced",
                connections.len()
            );
            Ok(())
        }
        Some("demo") | None => {
            let number = |at: usize, default: u64, what: &str| {
                args.get(at).map_or(Ok(default), |a| {
                    a.parse()
                        .map_err(|e| format!("{what} must be a whole number, not {a:?}: {e}"))
                })
            };
            let agents = number(1, 8, "AGENTS")?;
            let messages = number(2, 10_000, "MESSAGES")?;
            demo(agents, messages).await
        }
        Some(other) => Err(format!(
            "unknown command {other:?}: use `serve [ADDR] [DIR]` or `demo [AGENTS] [MESSAGES]`"
        )
        .into()),
    }
}

/// A collector and `agents` agents in one process, then every file checked.
async fn demo(agents: u64, messages: u64) -> Result<(), Box<dyn core::error::Error>> {
    let out_dir = std::env::temp_dir().join(format!("flatstream-collector-{}", std::process::id()));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    say!("collector on {address}, {agents} agents x {messages} CRC-32 telemetry messages");
    let config = Config {
        out_dir: out_dir.clone(),
        max_connections: Some(agents),
        ..Config::default()
    };
    let server = tokio::spawn(serve(listener, config, core::future::pending()));
    let start = Instant::now();
    let mut senders = JoinSet::new();
    for agent_id in 0..agents {
        senders.spawn(agent(address, agent_id, messages));
    }
    while let Some(sent) = senders.join_next().await {
        sent??;
    }
    let connections = server.await??;
    let elapsed = start.elapsed();
    let total: u64 = connections.iter().map(|c| c.messages).sum();
    let bytes: u64 = connections.iter().map(|c| c.bytes).sum();
    say!(
        "collected {total} messages ({bytes} bytes) in {:.2} s: {:.0} messages/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    let mut seen = Vec::new();
    for connection in &connections {
        let (agent_id, count) = verify(&connection.path)?;
        if count != messages {
            return Err(format!("agent {agent_id}: {count} of {messages} messages").into());
        }
        seen.push(agent_id);
    }
    seen.sort_unstable();
    if seen != (0..agents).collect::<Vec<_>>() {
        return Err(format!("agents collected: {seen:?}").into());
    }
    say!("every file verified: {agents} agents, {messages} messages each, every field checked");
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}
