//! Telemetry capture and replay, end to end, through a file.
//!
//! This example writes `COUNT` sensor readings as `Telemetry` FlatBuffers
//! (schema: `crates/flatstream/schema/telemetry.fbs`) into a CRC-32 framed
//! stream on disk, then reads the file back and checks every message. It
//! shows:
//!
//! - expert-mode writing: one [`FlatBufferBuilder`] reused for every message,
//!   handed to [`StreamWriter::write_finished`], behind a [`BufWriter`] (the
//!   writer issues two writes per frame, so the sink must be buffered);
//! - zero-copy reading: [`StreamReader::process_all`] lends each payload
//!   straight out of its read buffer, after the CRC-32 check;
//! - verification: each payload goes through the FlatBuffers verifier
//!   (`root_as_telemetry`), then every field is compared with the reading
//!   that was written, regenerated deterministically from its index.
//!
//! The write timing covers generating, building, framing and writing each
//! reading; the read timing covers reading, the CRC check, the verifier and the
//! field comparison. The program fails (non-zero exit) on any mismatch.
//!
//! Run it with a message count (default 1,000,000) and, optionally, an output
//! path; without a path it uses a file in the temporary directory and removes it
//! afterwards:
//!
//! ```text
//! cargo run --release -p flatstream --features crc32 --example telemetry_demo -- 1000000
//! cargo run --release -p flatstream --features crc32 --example telemetry_demo -- 1000 capture.bin
//! ```

use core::error::Error;
use core::time::Duration;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flatstream::flatbuffers::FlatBufferBuilder;
use flatstream::{
    ChecksumDeframer, ChecksumFramer, Crc32, StreamHeader, StreamReader, StreamWriter,
};

#[path = "../schema/telemetry.rs"]
mod telemetry;

use telemetry::{
    check_ref, finish_telemetry_buffer, root_as_telemetry, sample_ref,
    telemetry_buffer_has_identifier,
};

const DEFAULT_COUNT: u64 = 1_000_000;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let count = match args.next() {
        Some(arg) => arg
            .replace('_', "")
            .parse::<u64>()
            .map_err(|e| format!("message count {arg:?}: {e}"))?,
        None => DEFAULT_COUNT,
    };
    let given = args.next().map(PathBuf::from);
    let path = given.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "flatstream-telemetry-demo-{}.bin",
            std::process::id()
        ))
    });

    let result = run(count, &path);
    if given.is_none() {
        // Best effort: the file may not exist if creating it failed.
        let _ = std::fs::remove_file(&path);
    }
    result
}

/// What one direction moved, and how long it took.
struct Pass {
    messages: u64,
    bytes: u64,
    elapsed: Duration,
}

fn run(count: u64, path: &Path) -> Result<(), Box<dyn Error>> {
    println!("FlatStream telemetry demo: CRC-32 framed Telemetry FlatBuffers");
    println!("file: {}", path.display());

    let write = write_stream(count, path)?;
    let file_len = std::fs::metadata(path)?.len();
    if file_len != write.bytes {
        return Err(format!(
            "file holds {file_len} bytes, the writer reported {}",
            write.bytes
        )
        .into());
    }
    println!(
        "size: {} bytes ({} messages, {:.1} bytes per frame on average)",
        grouped(file_len),
        grouped(write.messages),
        ratio(file_len, write.messages),
    );

    let read = read_stream(count, path)?;
    if read.bytes != write.bytes {
        return Err(format!("read {} bytes, wrote {}", read.bytes, write.bytes).into());
    }

    println!();
    println!(
        "{:<12} {:>10} {:>14} {:>10} {:>12} {:>9}",
        "direction", "messages", "bytes", "elapsed", "frames/s", "MB/s"
    );
    for (name, pass) in [("write", &write), ("read+verify", &read)] {
        let secs = pass.elapsed.as_secs_f64();
        println!(
            "{:<12} {:>10} {:>14} {:>8.3} s {:>12} {:>9.1}",
            name,
            grouped(pass.messages),
            grouped(pass.bytes),
            secs,
            grouped(rate(pass.messages as f64, secs)),
            pass.bytes as f64 / 1e6 / secs,
        );
    }
    println!();
    println!("all {} messages verified", grouped(read.messages));
    Ok(())
}

/// Writes readings `0..count` to `path` in expert mode.
fn write_stream(count: u64, path: &Path) -> Result<Pass, Box<dyn Error>> {
    let start = Instant::now();
    let file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let sink = BufWriter::with_capacity(256 * 1024, file);
    let mut writer = StreamWriter::new(sink, ChecksumFramer::new(Crc32::new()));
    // The self-describing header: tools (`flatstream cat --json`) read the
    // capture with the schema it carries, no `.fbs` needed.
    writer
        .write_header(&capture_header())
        .map_err(|e| format!("writing the header: {e}"))?;
    // One builder for the whole run: after the first few messages it has
    // grown to the largest reading and never allocates again.
    let mut builder = FlatBufferBuilder::with_capacity(1024);
    let mut scratch = [0.0; telemetry::MAX_SAMPLES];
    for i in 0..count {
        let reading = telemetry::sample_ref(i, &mut scratch);
        builder.reset();
        let root = reading.build(&mut builder);
        finish_telemetry_buffer(&mut builder, root);
        writer
            .write_finished(&mut builder)
            .map_err(|e| format!("writing message {i}: {e}"))?;
    }
    // Hands the last buffered bytes to the OS; `File::sync_data` would be
    // the next step if the capture had to survive a power cut.
    writer.flush().map_err(|e| format!("flushing: {e}"))?;
    let elapsed = start.elapsed();
    Ok(Pass {
        // The header is a frame on the wire, not a message.
        messages: writer.frames_written() - 1,
        bytes: writer.bytes_written(),
        elapsed,
    })
}

/// The capture's header: the Telemetry binary schema (`cargo xtask codegen`
/// writes `schema/telemetry.bfbs` from `schema/telemetry.fbs`), its root
/// type and file identifier, and who wrote the capture when.
fn capture_header() -> StreamHeader {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    StreamHeader::new()
        .with_schema(include_bytes!("../schema/telemetry.bfbs").to_vec())
        .with_root_type("flatstream.telemetry.Telemetry")
        .with_file_identifier("TLM1")
        .with_metadata("producer", "flatstream telemetry_demo")
        .with_metadata("start_unix_s", started.to_string())
}

/// Reads `path` back, verifying every message against `Reading::sample`.
fn read_stream(count: u64, path: &Path) -> Result<Pass, Box<dyn Error>> {
    let start = Instant::now();
    let file = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let mut reader = StreamReader::new(file, ChecksumDeframer::new(Crc32::new()));
    let header = reader
        .header()
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    if header.map(|h| h.root_type.as_str()) != Some("flatstream.telemetry.Telemetry") {
        return Err(format!("{}: no Telemetry stream header", path.display()).into());
    }
    let mut next = 0u64;
    let mut scratch = [0.0; telemetry::MAX_SAMPLES];
    reader
        .process_all(|payload| {
            let i = next;
            let bad = |what: &dyn core::fmt::Display| {
                flatstream::Error::custom(format_args!("message {i}: {what}"))
            };
            if i >= count {
                return Err(bad(&format_args!("more than the {count} messages written")));
            }
            if !telemetry_buffer_has_identifier(payload) {
                return Err(bad(&"missing the TLM1 file identifier"));
            }
            let table = root_as_telemetry(payload).map_err(|e| bad(&e))?;
            check_ref(&sample_ref(i, &mut scratch), table).map_err(|e| bad(&e))?;
            next += 1;
            Ok(())
        })
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    let elapsed = start.elapsed();
    if next != count {
        return Err(format!("read {next} messages, wrote {count}").into());
    }
    Ok(Pass {
        messages: next,
        bytes: reader.offset(),
        elapsed,
    })
}

/// `per / secs` per second, rounded down; 0 for an empty run.
fn rate(per: f64, secs: f64) -> u64 {
    if secs > 0.0 {
        // Saturating float-to-int conversion: exactly what a display needs.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let r = (per / secs) as u64;
        r
    } else {
        0
    }
}

/// `a / b` as a float; 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// `1234567` as `"1,234,567"`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
