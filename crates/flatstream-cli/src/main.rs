//! `flatstream`: inspect, verify, print, recover and re-frame FlatStream
//! files. See the crate README or `flatstream --help`.

use std::io::{self, BufWriter, IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use flatstream_cli::capture_info;
use flatstream_cli::capture_verify;
use flatstream_cli::cat::{self, CatOptions, FrameRange};
use flatstream_cli::convert::{self, ConvertOptions};
use flatstream_cli::index::{self, IndexOptions};
use flatstream_cli::info::{self, InfoOptions};
use flatstream_cli::recover::{self, RecoverArgs};
use flatstream_cli::signals::Interrupt;
use flatstream_cli::time::TimeArg;
use flatstream_cli::verify::{self, VerifyOptions};
use flatstream_cli::{EXIT_DAMAGED, EXIT_OK, Error, Failure, Framing, Result};

const EXIT_CODES: &str = "\
Exit codes:
  0  success: the stream is intact, nothing was lost
  1  the stream is damaged, or data was (or would be) lost
  2  a usage error, or a file that cannot be read or written";

/// Inspect, verify, print, recover and re-frame FlatStream files: streams
/// of length-prefixed, optionally checksummed FlatBuffers frames.
///
/// The framing (plain, xxh3, crc32 or crc16) is detected from the first
/// frames unless given with --framing. Positions are byte offsets from the
/// start of the file and frame indices from 0; a stream header, when there
/// is one, is frame 0.
#[derive(Debug, Parser)]
#[command(name = "flatstream", version, after_help = EXIT_CODES)]
struct Cli {
    /// Never show progress bars (they are shown only on a terminal, for
    /// files over 256 MiB).
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Summarize a stream: framing, frames, sizes, identifiers, header, and
    /// how it ends (clean, torn tail, zero fill, corruption).
    ///
    /// For a capture directory: its segments (closed, open, sequence
    /// numbers, bytes), the messages it holds, the time span of its
    /// segment names, which closed segments have a valid index, whether a
    /// writer holds its lock, and how the open segment ends (a torn tail
    /// there is a frame being written, not damage).
    #[command(after_help = EXIT_CODES)]
    Info {
        /// The stream file, or a capture directory.
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        framing: FramingArg,
    },
    /// Check every frame's checksum and, with a schema (--schema, or the
    /// one the stream header carries), run the FlatBuffers verifier on
    /// every payload. Lists each damaged region; reads past damage.
    ///
    /// FILE is a stream file or a capture directory: every segment is
    /// verified, and messages missing between segments are damage too (the
    /// open segment's torn tail is not: a writer may be mid-frame).
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The stream file, or a capture directory.
        file: PathBuf,
        #[command(flatten)]
        framing: FramingArg,
        #[command(flatten)]
        schema: SchemaArgs,
        /// Check checksums only, even if the header carries a schema.
        #[arg(long, conflicts_with_all = ["schema", "root_type"])]
        no_schema: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print the payloads: one hex line per frame (the default), raw bytes,
    /// or one JSON object per line through the schema.
    ///
    /// FILE is a stream file or a capture directory (its segments in
    /// order). The header is never printed. Reading stops at the first
    /// damage, with an error naming the file, offset and frame (exit code
    /// 1). With --follow, it waits at the end for more, like `tail -f`,
    /// printing each message as it lands, until Ctrl-C or SIGTERM (exit
    /// code 0). Reading a directory without --follow, a torn frame at the
    /// end of its open segment (a writer may be mid-write) ends the output
    /// quietly.
    #[command(after_help = EXIT_CODES)]
    Cat {
        /// The stream file, or a capture directory.
        file: PathBuf,
        /// One line of lowercase hex per payload (the default).
        #[arg(long, group = "format")]
        hex: bool,
        /// The payloads' bytes, back to back.
        #[arg(long, group = "format")]
        raw: bool,
        /// One JSON object per payload and line (NDJSON, for jq), through
        /// --schema or the schema the stream header carries.
        /// As flatc does, a NaN or infinite float is written as bare
        /// nan/inf/-inf, which strict parsers (jq) refuse.
        #[arg(long, group = "format")]
        json: bool,
        /// Which frames of a stream file to print, by index as on the wire
        /// (a header is frame 0 and is never printed): A..B (B excluded),
        /// A..=B, A.., ..B or N.
        #[arg(long, value_name = "A..B", conflicts_with_all = ["from_frame", "from_time"])]
        frames: Option<FrameRange>,
        /// Start at message N. In a capture directory, N is the
        /// capture-wide message number (segment headers are not messages;
        /// numbers stay when old segments are deleted); in a stream file it
        /// is the wire frame index, as --frames N.. (a header is frame 0).
        #[arg(long, value_name = "N", conflicts_with = "from_time")]
        from_frame: Option<u64>,
        /// Start at the first message whose timestamp is at or after T:
        /// RFC 3339 in UTC (2026-12-02T16:00:00Z, fractional seconds
        /// allowed) or nanoseconds since the Unix epoch. Timestamps are
        /// read through the schema (--schema, or the stream header's) from
        /// --time-field.
        #[arg(long, value_name = "T")]
        from_time: Option<TimeArg>,
        /// The root table's top-level integer field holding each message's
        /// time in nanoseconds since the Unix epoch (default: timestamp_ns,
        /// if the root table has it).
        #[arg(long, value_name = "NAME", requires = "from_time")]
        time_field: Option<String>,
        /// Wait at the end for more, like `tail -f`; output is flushed after
        /// every message. Ends with Ctrl-C or SIGTERM (exit code 0).
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        framing: FramingArg,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Build the sparse index sidecars (*.fstream.idx) of a capture
    /// directory's closed segments, or of one stream file, where they are
    /// missing, damaged or stale; with --check, only check them.
    ///
    /// Prints one line per segment. An open segment is skipped: it has no
    /// index until it is closed. Entries carry timestamps when --time-field
    /// names their field, or when the schema (--schema, or the stream
    /// header's) has a root field timestamp_ns. Exit code 1 when --check
    /// finds an index missing or bad, or a segment cannot be indexed
    /// (damaged).
    #[command(after_help = EXIT_CODES)]
    Index {
        /// A capture directory, or a segment or stream file.
        path: PathBuf,
        /// Only check the indexes; change nothing.
        #[arg(long)]
        check: bool,
        /// An index entry every N messages (default: the library's, 4096;
        /// an entry is also made every MiB).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        every: Option<u64>,
        /// The root table's top-level integer field holding each message's
        /// time in nanoseconds since the Unix epoch, stored in the entries.
        #[arg(long, value_name = "NAME")]
        time_field: Option<String>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        framing: FramingArg,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Truncate a torn or zero-filled tail in place (under the file's
    /// lock), or with --salvage copy every frame that survives corruption
    /// to a new file, keeping the header.
    ///
    /// Corruption is never truncated in place: use --salvage -o OUT.
    /// Exit code 0 when nothing was (or would be) removed, 1 when bytes
    /// were (or would be) removed or lost, or corruption was refused.
    #[command(after_help = EXIT_CODES)]
    Recover {
        /// The stream file.
        file: PathBuf,
        /// Copy every good frame to OUT, skipping damaged regions.
        #[arg(long)]
        salvage: bool,
        /// Only report what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The output file of --salvage.
        #[arg(short, long, value_name = "OUT", requires = "salvage")]
        output: Option<PathBuf>,
        /// Replace OUT if it exists.
        #[arg(long, requires = "output")]
        force: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        framing: FramingArg,
    },
    /// Re-frame a stream (e.g. plain to crc32), keeping its header and every
    /// payload. The input must be intact; nothing is written otherwise.
    #[command(after_help = EXIT_CODES)]
    Convert {
        /// The input stream file.
        input: PathBuf,
        /// The output file (refused if it exists, unless --force).
        output: PathBuf,
        /// The output's framing.
        #[arg(long, value_enum)]
        framing: Framing,
        /// The input's framing (detected by default).
        #[arg(long, value_enum, value_name = "FRAMING")]
        input_framing: Option<Framing>,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// `--framing`.
#[derive(Debug, Args)]
struct FramingArg {
    /// The stream's framing; detected from the first frames by default.
    #[arg(long, value_enum)]
    framing: Option<Framing>,
}

/// `--schema` and `--root-type`.
#[derive(Debug, Args)]
struct SchemaArgs {
    /// The payloads' schema: a binary schema (.bfbs) or a .fbs file (needs
    /// flatc). By default the one the stream header carries.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// The payloads' root table (e.g. flatstream.telemetry.Telemetry); by
    /// default the header's or the schema's root_type.
    #[arg(long, value_name = "TABLE")]
    root_type: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout (exit 0); usage errors to stderr
            // (exit 2).
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) if error.failure() == Failure::BrokenPipe => ExitCode::from(EXIT_OK),
        Err(error) => {
            let _ = writeln!(io::stderr(), "flatstream: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs one subcommand; returns the exit code.
fn run(cli: Cli) -> Result<u8> {
    let progress = !cli.quiet;
    match cli.command {
        Command::Info {
            file,
            json,
            framing,
        } => {
            let text = if file.is_dir() {
                let info = capture_info::info(&file, framing.framing)?;
                if json {
                    to_json(&info)?
                } else {
                    info.to_text()
                }
            } else {
                let options = InfoOptions {
                    framing: framing.framing,
                    progress,
                };
                let info = info::info(&file, &options)?;
                if json {
                    to_json(&info)?
                } else {
                    info.to_text()
                }
            };
            print(&text)?;
            Ok(EXIT_OK)
        }
        Command::Verify {
            file,
            framing,
            schema,
            no_schema,
            json,
        } => {
            let options = VerifyOptions {
                framing: framing.framing,
                schema: schema.schema,
                root_type: schema.root_type,
                no_schema,
                progress,
            };
            if file.is_dir() {
                let report = capture_verify::verify_dir(&file, &options)?;
                print(&if json {
                    to_json(&report)?
                } else {
                    report.to_text()
                })?;
                if report.is_intact() {
                    return Ok(EXIT_OK);
                }
                return Err(Error::damaged(report.summary()));
            }
            let report = verify::verify(&file, &options)?;
            let text = if json {
                to_json(&report)?
            } else {
                report.to_text()
            };
            print(&text)?;
            if report.is_intact() {
                return Ok(EXIT_OK);
            }
            let first = report.problems.first().map_or(String::new(), |p| {
                format!(", the first at {}", p.describe())
            });
            let what = if report.frames == 0 {
                "not a FlatStream stream, or damaged from its first frame"
            } else {
                "damaged"
            };
            Err(Error::damaged(format!(
                "{}: {what}: {} problem{}{first}",
                file.display(),
                report.problems_total,
                if report.problems_total == 1 { "" } else { "s" },
            )))
        }
        Command::Cat {
            file,
            hex: _,
            raw,
            json,
            frames,
            from_frame,
            from_time,
            time_field,
            follow,
            framing,
            schema,
        } => {
            let format = if raw {
                cat::Format::Raw
            } else if json {
                cat::Format::Json
            } else {
                cat::Format::Hex
            };
            if format != cat::Format::Json
                && from_time.is_none()
                && (schema.schema.is_some() || schema.root_type.is_some())
            {
                return Err(Error::usage(
                    "--schema and --root-type go with --json or --from-time",
                ));
            }
            let interrupt = if follow {
                let interrupt = Interrupt::new();
                interrupt.on_signals().map_err(|error| {
                    Error::new(
                        Failure::Io,
                        format!("cannot catch Ctrl-C and SIGTERM: {error}"),
                    )
                })?;
                Some(interrupt)
            } else {
                None
            };
            let options = CatOptions {
                framing: framing.framing,
                format,
                schema: schema.schema,
                root_type: schema.root_type,
                frames: frames.unwrap_or_default(),
                from_frame,
                from_time,
                time_field,
                follow,
                interrupt,
            };
            if format == cat::Format::Raw && io::stdout().is_terminal() {
                return Err(Error::usage(
                    "--raw writes binary data: redirect it to a file or a pipe",
                ));
            }
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            let result = cat::cat(&file, &options, &mut out);
            // Print what was read before any error, then the error.
            let flushed = out.flush().map_err(|error| Error::stdout(&error));
            result?;
            flushed?;
            Ok(EXIT_OK)
        }
        Command::Index {
            path,
            check,
            every,
            time_field,
            json,
            framing,
            schema,
        } => {
            let options = IndexOptions {
                framing: framing.framing,
                check,
                every,
                time_field,
                schema: schema.schema,
                root_type: schema.root_type,
            };
            let report = index::index(&path, &options)?;
            let text = if json {
                to_json(&report)?
            } else {
                report.to_text()
            };
            print(&text)?;
            match report.problems() {
                0 => Ok(EXIT_OK),
                n => Err(Error::damaged(format!(
                    "{}: {n} segment{} {}",
                    path.display(),
                    if n == 1 { "" } else { "s" },
                    if check {
                        "without a valid index"
                    } else {
                        "could not be indexed"
                    }
                ))),
            }
        }
        Command::Recover {
            file,
            salvage,
            dry_run,
            output,
            force,
            json,
            framing,
        } => {
            let args = RecoverArgs {
                framing: framing.framing,
                dry_run,
                progress,
                force,
            };
            let (text, lost) = if salvage {
                let report = recover::salvage(&file, output.as_deref(), &args)?;
                let text = if json {
                    to_json(&report)?
                } else {
                    report.to_text()
                };
                (text, report.lost_data())
            } else {
                let report = recover::recover_in_place(&file, &args)?;
                let text = if json {
                    to_json(&report)?
                } else {
                    report.to_text()
                };
                (text, report.lost_data())
            };
            print(&text)?;
            Ok(if lost { EXIT_DAMAGED } else { EXIT_OK })
        }
        Command::Convert {
            input,
            output,
            framing,
            input_framing,
            force,
        } => {
            let options = ConvertOptions {
                input_framing,
                framing,
                force,
                progress,
            };
            let report = convert::convert(&input, &output, &options)?;
            print(&report.to_text())?;
            Ok(EXIT_OK)
        }
    }
}

/// `value` as one line of JSON.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    let json = serde_json::to_string(value)
        .map_err(|error| Error::new(Failure::Io, format!("cannot write JSON: {error}")))?;
    // serde_json escapes U+0000..U+001F; the other control characters (DEL,
    // C1) are escaped here too, as JSON escapes.
    let mut text = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if c.is_control() {
            text.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            text.push(c);
        }
    }
    text.push('\n');
    Ok(text)
}

/// Writes `text` (a report: text, or JSON from [`to_json`]) to stdout,
/// its control characters but line breaks escaped (JSON has none).
fn print(text: &str) -> Result<()> {
    let text = flatstream_cli::error::escape_lines(text);
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| Error::stdout(&error))
}
