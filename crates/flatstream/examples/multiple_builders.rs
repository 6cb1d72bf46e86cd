//! The multiple-builders pattern: one `FlatBufferBuilder` per message class.
//!
//! A builder keeps the capacity of the largest message it has built:
//! `reset()` makes it ready for the next message but gives no memory back.
//! With one builder for every message, a single large file chunk leaves each
//! later 60-byte control message inside a multi-megabyte buffer, for as long
//! as the process runs.
//!
//! This example writes the same session twice, in expert mode
//! (`StreamWriter::write_finished`):
//!
//! 1. with one shared builder;
//! 2. with one builder per message class, as in the seed's README: control
//!    messages (small, frequent), telemetry (medium, periodic) and file
//!    transfers (huge, rare), the last dropped once the transfer is done.
//!
//! It prints each builder's capacity at the end (what it goes on holding)
//! and checks that both runs wrote the same bytes: the pattern changes memory
//! use, never the stream. Run it with:
//!
//! ```text
//! cargo run -p flatstream --example multiple_builders
//! ```

use core::error::Error;

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{DefaultFramer, StreamWriter};

#[path = "../schema/control.rs"]
mod control;
#[path = "../schema/file_transfer.rs"]
mod file_transfer;
#[path = "../schema/telemetry.rs"]
mod telemetry;

use control::ControlMessage;
use file_transfer::Chunk;
use telemetry::Reading;

/// Messages in the session; every 5th is a telemetry reading, the rest are
/// control messages.
const MESSAGES: u64 = 20_000;
/// The file transfer happens after this many messages.
const TRANSFER_AT: u64 = 1_000;
/// Its chunks, of `CHUNK_LEN` bytes each.
const CHUNKS: u64 = 4;
const CHUNK_LEN: usize = 1 << 20;

/// One message of the session.
#[derive(Debug)]
enum Message {
    Control(ControlMessage),
    Telemetry(Reading),
    FileTransfer(Chunk),
}

/// The session, in time order: mostly control messages, a reading every
/// fifth message, and one file transfer early on.
fn session() -> Vec<Message> {
    let mut messages = Vec::new();
    for i in 0..MESSAGES {
        if i % 5 == 0 {
            messages.push(Message::Telemetry(Reading::sample(i / 5)));
        } else {
            messages.push(Message::Control(ControlMessage::sample(i)));
        }
        if i == TRANSFER_AT {
            for k in 0..CHUNKS {
                messages.push(Message::FileTransfer(Chunk::sample(
                    1, k, CHUNKS, CHUNK_LEN,
                )));
            }
        }
    }
    messages
}

/// Builds `message` in `builder`, finished with its file identifier.
fn build(message: &Message, builder: &mut FlatBufferBuilder<'_>) {
    builder.reset();
    match message {
        Message::Control(command) => command.build_finished(builder),
        Message::Telemetry(reading) => {
            let root = reading.build(builder);
            telemetry::finish_telemetry_buffer(builder, root);
        }
        Message::FileTransfer(chunk) => chunk.build_finished(builder),
    }
}

/// The bytes a builder holds on to: its whole buffer, not just the last
/// message. (flatbuffers has no capacity accessor; `collapse` hands the
/// buffer out, consuming the builder.)
fn retained(builder: FlatBufferBuilder<'_>) -> usize {
    builder.collapse().0.len()
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("FlatStream multiple builders: memory held by FlatBufferBuilders");
    let messages = session();

    // 1. One builder for everything.
    let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    let mut shared = FlatBufferBuilder::new();
    for message in &messages {
        build(message, &mut shared);
        writer.write_finished(&mut shared)?;
    }
    let one_builder = writer.into_inner();
    let shared_capacity = retained(shared);

    // 2. One builder per message class: the seed's pattern.
    let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    let mut control_builder = FlatBufferBuilder::new(); // Small, frequent
    let mut telemetry_builder = FlatBufferBuilder::new(); // Medium, periodic
    let mut file_builder = Some(FlatBufferBuilder::new()); // Huge, rare
    let mut file_capacity = 0;
    for (i, message) in messages.iter().enumerate() {
        match message {
            Message::Control(_) => {
                build(message, &mut control_builder);
                writer.write_finished(&mut control_builder)?;
            }
            Message::Telemetry(_) => {
                build(message, &mut telemetry_builder);
                writer.write_finished(&mut telemetry_builder)?;
            }
            Message::FileTransfer(_) => {
                let builder = file_builder.get_or_insert_with(FlatBufferBuilder::new);
                build(message, builder);
                writer.write_finished(builder)?;
                // The transfer is over after its last chunk: give the
                // builder's memory back.
                let last = !matches!(messages.get(i + 1), Some(Message::FileTransfer(_)));
                if last && let Some(builder) = file_builder.take() {
                    file_capacity = retained(builder);
                }
            }
        }
    }
    let per_class = writer.into_inner();
    let control_capacity = retained(control_builder);
    let telemetry_capacity = retained(telemetry_builder);
    let per_class_total = control_capacity + telemetry_capacity;

    let count = |f: fn(&Message) -> bool| messages.iter().filter(|m| f(m)).count();
    println!(
        "session: {} control messages, {} telemetry readings, {} file chunks of {} bytes; {} bytes framed",
        count(|m| matches!(m, Message::Control(_))),
        count(|m| matches!(m, Message::Telemetry(_))),
        count(|m| matches!(m, Message::FileTransfer(_))),
        CHUNK_LEN,
        one_builder.len(),
    );
    println!();
    println!("{:<34} {:>12}", "builder", "capacity (B)");
    println!("{:<34} {:>12}", "one shared builder", shared_capacity);
    println!("{:<34} {:>12}", "per class: control", control_capacity);
    println!("{:<34} {:>12}", "per class: telemetry", telemetry_capacity);
    println!("{:<34} {:>12}", "per class: file transfer (dropped)", 0);
    println!("  (it held {file_capacity} bytes during the transfer, then gave them back)");
    println!();
    println!(
        "held after the transfer: {shared_capacity} bytes with one builder, {per_class_total} with one per class ({:.0}x less)",
        shared_capacity as f64 / per_class_total.max(1) as f64
    );

    if one_builder != per_class {
        return Err("the two runs wrote different bytes".into());
    }
    println!("both runs wrote the same {} bytes", per_class.len());
    if per_class_total >= shared_capacity {
        return Err("separate builders should hold less memory".into());
    }
    Ok(())
}
