//! `flatstream convert`: re-frames a stream (e.g. plain to CRC-32), keeping
//! its header and every payload byte for byte.
//!
//! The input must be intact: conversion stops at the first damage and
//! writes nothing (recover or salvage it first). The output is written to a
//! temporary file and moved into place only when complete.

use std::path::Path;

use flatstream::{AfterDamage, Deframer, ErrorKind, Framer, StreamWriter};

use crate::detect::{Detection, detect_file};
use crate::error::{Error, Failure, Result, at, describe_stream, escape};
use crate::framing::{Framing, with_deframer, with_framer};
use crate::info::framing_hint;
use crate::input::{self, Input};
use crate::output::Output;
use crate::progress::{self, Progress};
use crate::read::{self, MAX_FRAME_LEN, ZeroRun, is_zero_frame};

/// How to run `convert`.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The input's framing, or `None` to detect it.
    pub input_framing: Option<Framing>,
    /// The output's framing.
    pub framing: Framing,
    /// Replace an existing output file.
    pub force: bool,
    /// Whether a progress bar may be shown.
    pub progress: bool,
}

/// What `convert` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertReport {
    /// The input, as given.
    pub input: String,
    /// The output, as given.
    pub output: String,
    /// The input's framing.
    pub from: Framing,
    /// Why that framing.
    pub from_source: String,
    /// The output's framing.
    pub to: Framing,
    /// Frames written, header included.
    pub frames: u64,
    /// Whether the stream has a header.
    pub header: bool,
    /// The input's length.
    pub bytes_in: u64,
    /// The output's length.
    pub bytes_out: u64,
}

impl ConvertReport {
    /// The report as text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let header = if self.header { ", header included" } else { "" };
        format!(
            "{} ({}, {} bytes) -> {} ({}, {} bytes): {} frames{header}\n",
            escape(&self.input),
            self.from,
            self.bytes_in,
            escape(&self.output),
            self.to,
            self.bytes_out,
            self.frames
        )
    }
}

/// Re-frames the stream file `input_path` into `output_path`.
///
/// # Errors
///
/// Damage in the input (exit code 1, nothing written); files that cannot
/// be read or written, an existing output without `force`, the input as
/// output (exit code 2).
pub fn convert(
    input_path: &Path,
    output_path: &Path,
    options: &ConvertOptions,
) -> Result<ConvertReport> {
    let mut input = input::open(input_path)?;
    let detection = match options.input_framing {
        Some(framing) => Detection::forced(framing),
        None => detect_file(&mut input.file, input.len)
            .map_err(|error| Error::io(input_path, "cannot read", &error))?,
    };
    let from = detection.framing;
    let to = options.framing;
    let mut output = Output::create(output_path, input_path, options.force)?;
    let progress = Progress::bytes(options.progress, input.len, "converting");
    let copied = with_deframer!(from, |deframer| {
        with_framer!(to, |framer| copy(
            &mut input,
            deframer,
            from,
            framer,
            &mut output,
            &progress
        ))
    });
    progress.finish();
    let (frames, header, bytes_out) = match copied {
        Ok(copied) => copied,
        Err(Stop::Error(error)) => return Err(error),
        Err(Stop::Stream(error)) => {
            let failure = Error::stream(input_path, &error);
            let at_start = error.position().is_some_and(|p| p.frame == 0);
            let hint = at_start
                .then(|| framing_hint(&mut input, &detection))
                .flatten();
            return Err(match hint {
                Some(hint) => failure.with_hint(&hint).with_hint("nothing was written"),
                None => {
                    failure.with_hint("nothing was written; recover or salvage the input first")
                }
            });
        }
    };
    output.commit()?;
    Ok(ConvertReport {
        input: input_path.display().to_string(),
        output: output_path.display().to_string(),
        from,
        from_source: detection.describe(),
        to,
        frames,
        header,
        bytes_in: input.len,
        bytes_out,
    })
}

/// Why copying stopped.
enum Stop {
    Stream(flatstream::Error),
    Error(Error),
}

/// Copies every frame; returns the frames written, whether there was a
/// header, and the bytes written.
fn copy<D: Deframer, F: Framer>(
    input: &mut Input,
    deframer: D,
    from: Framing,
    framer: F,
    output: &mut Output,
    progress: &Progress,
) -> Result<(u64, bool, u64), Stop> {
    let path = input.path.clone();
    let out_path = output.path().to_owned();
    let mut reader = read::reader(&mut input.file, deframer, AfterDamage::Stop, input.len);
    let mut writer = StreamWriter::new(output, framer)
        .with_max_frame_len(MAX_FRAME_LEN)
        .allow_empty_payloads(true);
    let read_error = |error: flatstream::Error| match error.kind() {
        ErrorKind::Io(io) => Stop::Error(Error::io(&path, "cannot read", io)),
        _ => Stop::Stream(error),
    };
    let write_error = |error: flatstream::Error| {
        Stop::Error(match error.kind() {
            ErrorKind::Io(io) => Error::io(&out_path, "cannot write", io),
            _ => Error::new(
                Failure::Io,
                format!(
                    "{}: cannot write: {}",
                    out_path.display(),
                    describe_stream(&error)
                ),
            ),
        })
    };
    let header = reader.header().map_err(read_error)?.cloned();
    if let Some(header) = &header {
        writer.write_header(header).map_err(write_error)?;
    }
    let mut zeros = ZeroRun::default();
    loop {
        let before = reader.position();
        let payload = match reader.read_message() {
            Ok(Some(payload)) => payload,
            Ok(None) => break,
            Err(error) => return Err(read_error(error)),
        };
        if is_zero_frame(from, payload) {
            zeros.push(before, payload.len());
            continue;
        }
        if let Some(start) = zeros.start() {
            return Err(Stop::Error(Error::damaged(format!(
                "{}: {}: {}; nothing was written: salvage the input first",
                crate::error::shown(&path),
                at(start),
                zeros.describe_inside(before.offset)
            ))));
        }
        writer.write_payload(payload).map_err(write_error)?;
        if writer
            .frames_written()
            .is_multiple_of(progress::EVERY_FRAMES)
        {
            progress.set(before.offset);
        }
    }
    if let Some(start) = zeros.start() {
        return Err(Stop::Error(Error::damaged(format!(
            "{}: {}: zero-filled tail ({} zero frames); nothing was written: run `flatstream recover` on it first",
            path.display(),
            at(start),
            zeros.frames()
        ))));
    }
    writer.flush().map_err(write_error)?;
    Ok((
        writer.frames_written(),
        header.is_some(),
        writer.bytes_written(),
    ))
}
