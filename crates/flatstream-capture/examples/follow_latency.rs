//! The delay from a writer's flush to a follower's `next`, for the default
//! poll interval and for 0.5 ms.
//!
//! A writer thread writes frames at irregular gaps (so that writes do not
//! fall into step with the polls), each payload carrying the time it was
//! written in nanoseconds since a shared `Instant`; the follower reads them
//! and notes the time it got each. Prints the percentiles of the delay.
//!
//! ```text
//! cargo run --release -p flatstream-capture --example follow_latency
//! ```

use core::error::Error;
use core::time::Duration;
use std::fs::File;
use std::time::Instant;

use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamWriter};
use flatstream_capture::{DEFAULT_POLL_INTERVAL, Follower};

/// Frames per run.
const MESSAGES: u64 = 2000;

fn main() -> Result<(), Box<dyn Error>> {
    println!("{MESSAGES} frames per run, written 0.2 to 1.8 ms apart, flushed each");
    println!(
        "{:>14} {:>10} {:>10} {:>10} {:>10}",
        "poll interval", "p50", "p90", "p99", "max"
    );
    for interval in [DEFAULT_POLL_INTERVAL, Duration::from_micros(500)] {
        let mut delays = measure(interval)?;
        delays.sort_unstable();
        let at = |percent: usize| delays[(delays.len() - 1) * percent / 100];
        println!(
            "{:>14} {:>10} {:>10} {:>10} {:>10}",
            format!("{interval:?}"),
            format!("{:.1?}", at(50)),
            format!("{:.1?}", at(90)),
            format!("{:.1?}", at(99)),
            format!("{:.1?}", at(100)),
        );
    }
    Ok(())
}

/// The delay of each of [`MESSAGES`] frames, following with `interval`.
fn measure(interval: Duration) -> Result<Vec<Duration>, Box<dyn Error>> {
    let path = std::env::temp_dir().join(format!(
        "flatstream-follow-latency-{}-{}.fstream",
        std::process::id(),
        interval.as_micros()
    ));
    let file = File::create(&path)?;
    let mut follower =
        Follower::open(&path, ChecksumDeframer::new(Crc32))?.with_poll_interval(interval);
    let base = Instant::now();

    let writer = std::thread::spawn(move || -> flatstream::Result<()> {
        let mut writer = StreamWriter::new(file, ChecksumFramer::new(Crc32));
        // A small linear congruential generator: irregular, repeatable gaps.
        let mut state = 0x2545_f491_u32;
        let mut payload = [0x5a_u8; 64];
        for i in 0..MESSAGES {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            std::thread::sleep(Duration::from_micros(200 + u64::from(state >> 16) % 1600));
            let written = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
            payload[..8].copy_from_slice(&written.to_le_bytes());
            payload[8..16].copy_from_slice(&i.to_le_bytes());
            writer.write_payload(&payload)?;
            writer.flush()?;
        }
        Ok(())
    });

    let mut delays = Vec::with_capacity(usize::try_from(MESSAGES)?);
    for i in 0..MESSAGES {
        let message = follower.next()?.ok_or("the follower ended early")?;
        let read = base.elapsed();
        let written = u64::from_le_bytes(message[..8].try_into()?);
        let index = u64::from_le_bytes(message[8..16].try_into()?);
        if index != i {
            return Err(format!("frame {index} arrived where {i} was due").into());
        }
        delays.push(read.saturating_sub(Duration::from_nanos(written)));
    }
    writer.join().map_err(|_| "the writer thread panicked")??;
    drop(follower);
    std::fs::remove_file(&path)?;
    Ok(delays)
}
