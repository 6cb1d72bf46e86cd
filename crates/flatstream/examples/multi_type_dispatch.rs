//! Several message types in one stream, told apart by their FlatBuffers file
//! identifier.
//!
//! A capture agent writes, interleaved as they happen, sensor readings
//! (`Telemetry`, file identifier `TLM1`, schema
//! `crates/flatstream/schema/telemetry.fbs`), the commands it receives
//! (`Control`, `CTL1`, `control.fbs`) and a firmware image sent in chunks
//! (`FileChunk`, `FXF1`, `file_transfer.fbs`). One message of a type this
//! reader does not know (`LOG1`) stands for what a newer writer may add.
//!
//! The reader takes each payload as it comes (`StreamReader::messages`),
//! dispatches on its file identifier (`flatbuffers::buffer_has_identifier`
//! and flatc's generated `*_buffer_has_identifier`), verifies it as the type
//! the identifier names (`root_as_*_with_opts`), and checks every field
//! against what was written. Unknown identifiers are counted and skipped. The
//! file's chunks are reassembled and compared with the original image.
//!
//! The FlatBuffers verifier checks structure, not identity: a payload of one
//! type can verify as another when their fields happen to line up, so the
//! identifier must be checked first. `buffer_has_identifier` panics on a
//! payload shorter than 8 bytes, so its length is checked before that.
//!
//! The program fails (non-zero exit) on any mismatch. Run it with:
//!
//! ```text
//! cargo run -p flatstream --example multi_type_dispatch
//! ```

use core::error::Error;

use flatstream::flatbuffers::{
    self, FILE_IDENTIFIER_LENGTH, FlatBufferBuilder, SIZE_UOFFSET, VerifierOptions,
};
use flatstream::{DefaultDeframer, DefaultFramer, StreamReader, StreamWriter};

#[path = "../schema/control.rs"]
mod control;
#[path = "../schema/file_transfer.rs"]
mod file_transfer;
#[path = "../schema/telemetry.rs"]
mod telemetry;

use control::ControlMessage;
use file_transfer::Chunk;
use telemetry::Reading;

/// Readings in the session, one per tick.
const TICKS: u64 = 2_000;
/// A command arrives every this many ticks.
const COMMAND_EVERY: u64 = 250;
/// The file transfer starts at this tick, one chunk per tick.
const TRANSFER_AT: u64 = 1_000;
/// Chunks of the firmware image, and bytes per chunk.
const CHUNKS: u64 = 8;
const CHUNK_LEN: usize = 16 * 1024;
/// The transfer's id.
const TRANSFER_ID: u64 = 1;
/// The foreign message is written at this tick.
const FOREIGN_AT: u64 = 1_500;
/// The file identifier of the foreign message.
const FOREIGN_IDENTIFIER: &str = "LOG1";

/// The message types this reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageType {
    Telemetry,
    Control,
    FileChunk,
}

impl MessageType {
    const ALL: [MessageType; 3] = [
        MessageType::Telemetry,
        MessageType::Control,
        MessageType::FileChunk,
    ];

    /// The type whose file identifier `payload` carries, if any.
    fn of(payload: &[u8]) -> Option<Self> {
        // `buffer_has_identifier` asserts that the identifier is there.
        if payload.len() < SIZE_UOFFSET + FILE_IDENTIFIER_LENGTH {
            return None;
        }
        if telemetry::telemetry_buffer_has_identifier(payload) {
            Some(MessageType::Telemetry)
        } else if flatbuffers::buffer_has_identifier(payload, control::CONTROL_IDENTIFIER, false) {
            Some(MessageType::Control)
        } else if file_transfer::file_chunk_buffer_has_identifier(payload) {
            Some(MessageType::FileChunk)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            MessageType::Telemetry => "Telemetry",
            MessageType::Control => "Control",
            MessageType::FileChunk => "FileChunk",
        }
    }

    fn identifier(self) -> &'static str {
        match self {
            MessageType::Telemetry => telemetry::TELEMETRY_IDENTIFIER,
            MessageType::Control => control::CONTROL_IDENTIFIER,
            MessageType::FileChunk => file_transfer::FILE_CHUNK_IDENTIFIER,
        }
    }
}

/// Frames and payload bytes read of one type.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    frames: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, payload: &[u8]) {
        self.frames += 1;
        self.bytes += payload.len() as u64;
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("FlatStream multi-type dispatch: one stream, several message types");

    let stream = write_session()?;
    println!("wrote {} bytes", stream.len());

    let mut reader = StreamReader::new(stream.as_slice(), DefaultDeframer);
    let options = VerifierOptions::default();
    let mut tallies = [Tally::default(); 3];
    let mut unknown = Tally::default();
    let mut unknown_identifiers = Vec::new();
    let (mut readings, mut commands) = (0u64, 0u64);
    let mut image = vec![0u8; usize::try_from(CHUNKS)? * CHUNK_LEN];

    let mut messages = reader.messages();
    while let Some(payload) = messages.next()? {
        let Some(kind) = MessageType::of(payload) else {
            unknown.add(payload);
            let identifier = payload
                .get(SIZE_UOFFSET..SIZE_UOFFSET + FILE_IDENTIFIER_LENGTH)
                .map_or_else(
                    || "(none)".to_owned(),
                    |id| String::from_utf8_lossy(id).into(),
                );
            unknown_identifiers.push(identifier);
            continue;
        };
        tallies[kind as usize].add(payload);
        match kind {
            MessageType::Telemetry => {
                let table = telemetry::root_as_telemetry_with_opts(&options, payload)?;
                telemetry::check(&Reading::sample(readings), table)
                    .map_err(|e| format!("reading {readings}: {e}"))?;
                readings += 1;
            }
            MessageType::Control => {
                let table = control::root_as_control_with_opts(&options, payload)?;
                control::check(&ControlMessage::sample(commands), table)
                    .map_err(|e| format!("command {commands}: {e}"))?;
                commands += 1;
            }
            MessageType::FileChunk => {
                let chunk = file_transfer::root_as_file_chunk_with_opts(&options, payload)?;
                let data = chunk.data().ok_or("a chunk without data")?.bytes();
                let at = usize::try_from(chunk.offset())?;
                image
                    .get_mut(at..at + data.len())
                    .ok_or("a chunk beyond the end of the file")?
                    .copy_from_slice(data);
            }
        }
    }

    println!();
    println!(
        "{:<10} {:<10} {:>7} {:>10}",
        "type", "identifier", "frames", "bytes"
    );
    for kind in MessageType::ALL {
        let tally = tallies[kind as usize];
        println!(
            "{:<10} {:<10} {:>7} {:>10}",
            kind.name(),
            kind.identifier(),
            tally.frames,
            tally.bytes
        );
    }
    println!(
        "{:<10} {:<10} {:>7} {:>10}",
        "unknown",
        unknown_identifiers.join(","),
        unknown.frames,
        unknown.bytes
    );

    // What was read is what was written.
    let expect = |what: &str, got: u64, want: u64| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: read {got}, wrote {want}"))
        }
    };
    expect("readings", readings, TICKS)?;
    expect("commands", commands, TICKS.div_ceil(COMMAND_EVERY))?;
    expect(
        "file chunks",
        tallies[MessageType::FileChunk as usize].frames,
        CHUNKS,
    )?;
    expect("unknown messages", unknown.frames, 1)?;
    if unknown_identifiers != [FOREIGN_IDENTIFIER] {
        return Err(format!("unknown identifiers {unknown_identifiers:?}").into());
    }
    let original: Vec<u8> = (0..CHUNKS)
        .flat_map(|k| Chunk::sample(TRANSFER_ID, k, CHUNKS, CHUNK_LEN).data)
        .collect();
    if image != original {
        return Err("the reassembled file differs from the original".into());
    }
    println!();
    println!(
        "all {} frames dispatched, verified and checked; file of {} bytes reassembled",
        reader.frames_read(),
        image.len()
    );
    Ok(())
}

/// Writes the session, interleaved in time order, with one builder per
/// message type (see the `multiple_builders` example for why).
fn write_session() -> Result<Vec<u8>, Box<dyn Error>> {
    let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    let mut telemetry_builder = FlatBufferBuilder::with_capacity(1024);
    let mut control_builder = FlatBufferBuilder::with_capacity(256);
    let mut file_builder = FlatBufferBuilder::new();
    let mut other_builder = FlatBufferBuilder::new();
    let mut commands = 0;

    for tick in 0..TICKS {
        if tick % COMMAND_EVERY == 0 {
            control_builder.reset();
            ControlMessage::sample(commands).build_finished(&mut control_builder);
            writer.write_finished(&mut control_builder)?;
            commands += 1;
        }

        telemetry_builder.reset();
        let root = Reading::sample(tick).build(&mut telemetry_builder);
        telemetry::finish_telemetry_buffer(&mut telemetry_builder, root);
        writer.write_finished(&mut telemetry_builder)?;

        if (TRANSFER_AT..TRANSFER_AT + CHUNKS).contains(&tick) {
            let chunk = Chunk::sample(TRANSFER_ID, tick - TRANSFER_AT, CHUNKS, CHUNK_LEN);
            file_builder.reset();
            chunk.build_finished(&mut file_builder);
            writer.write_finished(&mut file_builder)?;
        }

        if tick == FOREIGN_AT {
            // A message type from a newer writer: a string root under its
            // own identifier.
            other_builder.reset();
            let line = other_builder.create_string("sensor 3: firmware updated");
            other_builder.finish(line, Some(FOREIGN_IDENTIFIER));
            writer.write_finished(&mut other_builder)?;
        }
    }
    Ok(writer.into_inner())
}
