//! Schemas: where they come from (`--schema`, or the stream's header) and
//! what the command line does with them (verify payloads, print them as
//! JSON), through `flatstream-reflect`.
//!
//! The root type is `--root-type` if given, otherwise the header's root
//! type, otherwise the schema's own `root_type`. A schema whose file
//! identifier differs from the one the header declares is refused as
//! mismatched; with a schema that declares a file identifier, a payload
//! carrying another one is reported (it is not this schema's).

use alloc::sync::Arc;
use std::io::{self, Read as _};
use std::path::Path;

use flatstream::StreamHeader;
use flatstream_capture::{GAP_FILE_IDENTIFIER, GapMarker, TimestampFn};
use flatstream_reflect::{IntegerField, ReflectError, Root, Schema};

use crate::error::{Error, Result};
use crate::input;

/// What the command line needs of a schema's root type.
pub trait Check {
    /// The root table's fully qualified name.
    fn name(&self) -> String;

    /// Runs the FlatBuffers verifier on `payload` as the root type.
    ///
    /// # Errors
    ///
    /// Why the payload is not a valid root table, in words.
    fn verify(&self, payload: &[u8]) -> Result<(), String>;

    /// Writes `payload` as one line of JSON (no newline).
    ///
    /// # Errors
    ///
    /// [`JsonError::Invalid`] when the payload does not verify,
    /// [`JsonError::Io`] when writing fails.
    fn write_json(&self, payload: &[u8], out: &mut dyn io::Write) -> Result<(), JsonError>;
}

/// Why a payload could not be written as JSON.
#[derive(Debug)]
pub enum JsonError {
    /// The payload is not a valid root table.
    Invalid(String),
    /// Writing failed.
    Io(io::Error),
}

/// A loaded schema and where it came from.
#[derive(Debug)]
pub struct Loaded {
    /// Where it came from, for messages: a path, or "the stream header".
    pub source: String,
    /// Shared with the timestamp function of [`Loaded::timestamp`], which
    /// outlives this borrow.
    schema: Arc<Schema>,
    /// Whether it came from the stream's header.
    from_header: bool,
}

impl Loaded {
    /// The schema.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The root type to read payloads as: `root_type` if given, otherwise
    /// the header's, otherwise the schema's own `root_type`.
    ///
    /// # Errors
    ///
    /// A root type the schema does not have (exit code 2).
    pub fn root(
        &self,
        root_type: Option<&str>,
        header: Option<&StreamHeader>,
    ) -> Result<Box<dyn Check + '_>> {
        let from_header = header
            .map(|header| header.root_type.as_str())
            .filter(|name| !name.is_empty());
        let name = root_type.or(from_header);
        let root = self.schema.root(name).map_err(|error| {
            let whose = match (root_type, from_header) {
                (Some(_), _) => "",
                (None, Some(_)) if !self.from_header => {
                    " (the root type the stream header names: the schema does not match the stream)"
                }
                (None, Some(_)) => " (the root type the stream header names)",
                (None, None) => "",
            };
            let message = format!("{}: {}{whose}", self.source, describe(&error));
            if root_type.is_none() && self.from_header {
                // The stream contradicts itself: its header names a root
                // type its own schema does not have.
                Error::damaged(message)
            } else {
                Error::usage(message)
            }
        })?;
        let identifier = self
            .schema
            .file_identifier()
            .filter(|id| id.len() == 4)
            .map(|id| {
                let mut bytes = [0u8; 4];
                bytes.copy_from_slice(id.as_bytes());
                bytes
            });
        Ok(Box::new(ReflectRoot {
            root,
            identifier,
            source: self.source.clone(),
        }))
    }
}

/// The field `--time-field` names by default: the telemetry convention of
/// nanoseconds since the Unix epoch.
pub const DEFAULT_TIME_FIELD: &str = "timestamp_ns";

impl Loaded {
    /// A message's timestamp, as `cat --from-time` and `index` read it: the
    /// top-level integer field `field` (by default [`DEFAULT_TIME_FIELD`])
    /// of the root type ([`Loaded::root`]), in nanoseconds since the Unix
    /// epoch. A payload that does not verify, or has no such value, has no
    /// timestamp.
    ///
    /// # Errors
    ///
    /// A root type the schema does not have, or a root table without that
    /// integer field (saying to pass `--time-field` when none was given).
    pub fn timestamp(
        &self,
        root_type: Option<&str>,
        header: Option<&StreamHeader>,
        field: Option<&str>,
    ) -> Result<TimestampFn> {
        let root = self.root(root_type, header)?.name();
        let name = field.unwrap_or(DEFAULT_TIME_FIELD);
        let field_ = IntegerField::new(Arc::clone(&self.schema), Some(&root), name).map_err(|error| {
            let hint = if field.is_none() {
                "; name the field that holds each message's time (nanoseconds since the Unix epoch) with --time-field NAME"
            } else {
                ""
            };
            Error::usage(format!("{}: {}{hint}", self.source, describe(&error)))
        })?;
        Ok(Arc::new(move |payload: &[u8]| {
            field_.read(payload).ok().flatten()
        }))
    }
}

/// A `flatstream-reflect` root as a [`Check`].
struct ReflectRoot<'s> {
    root: Root<'s>,
    /// The schema's file identifier, if it declares one.
    identifier: Option<[u8; 4]>,
    source: String,
}

impl ReflectRoot<'_> {
    /// The capture writer's own record of dropped messages (identifier
    /// `"FSGP"`), in a stream of another schema's messages: not a message
    /// of the schema, and not damage.
    fn gap_marker(&self, payload: &[u8]) -> Option<GapMarker> {
        if self
            .identifier
            .is_some_and(|id| id[..] == *GAP_FILE_IDENTIFIER.as_bytes())
        {
            return None;
        }
        GapMarker::decode(payload)
    }

    /// Refuses a payload that carries another file identifier than the
    /// schema's.
    fn check_identifier(&self, payload: &[u8]) -> Result<(), String> {
        let Some(expected) = self.identifier else {
            return Ok(());
        };
        match payload.get(4..8) {
            Some(found) if found == expected => Ok(()),
            found => Err(format!(
                "file identifier {} is not the schema's {} ({})",
                found.map_or_else(|| "missing".to_owned(), shown),
                shown(&expected),
                self.source,
            )),
        }
    }
}

/// Four identifier bytes as text: `"TLM1"`, or escaped.
fn shown(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

impl Check for ReflectRoot<'_> {
    fn name(&self) -> String {
        self.root.name().to_owned()
    }

    fn verify(&self, payload: &[u8]) -> Result<(), String> {
        if self.gap_marker(payload).is_some() {
            return Ok(());
        }
        self.check_identifier(payload)?;
        self.root
            .verify(payload)
            .map_err(|error| format!("not a valid {}: {}", self.root.name(), describe(&error)))
    }

    fn write_json(&self, payload: &[u8], mut out: &mut dyn io::Write) -> Result<(), JsonError> {
        if let Some(gap) = self.gap_marker(payload) {
            return write!(
                out,
                "{{\"gap_marker\":{{\"dropped\":{},\"first_dropped_ns\":{},\"last_dropped_ns\":{},\"producer\":{}}}}}",
                gap.dropped, gap.first_dropped_ns, gap.last_dropped_ns, gap.producer
            )
            .map_err(JsonError::Io);
        }
        self.check_identifier(payload).map_err(JsonError::Invalid)?;
        self.root
            .write_json(payload, &mut out)
            .map_err(|error| match error {
                ReflectError::Io(io) => JsonError::Io(io),
                other => JsonError::Invalid(format!(
                    "not a valid {}: {}",
                    self.root.name(),
                    describe(&other)
                )),
            })
    }
}

/// A reflect error on one line.
fn describe(error: &ReflectError) -> String {
    error.to_string().replace('\n', " ")
}

/// The largest schema file read: a binary schema is a few KiB to a few
/// MiB; a larger file is refused before it is read.
pub const MAX_SCHEMA_LEN: u64 = 64 << 20;

/// Loads the schema file `path` (`.bfbs`, or `.fbs` through flatc), refusing
/// anything but a regular file (a FIFO would block, a device never ends)
/// and files over [`MAX_SCHEMA_LEN`].
fn load_file(path: &Path) -> Result<Schema> {
    let (file, len) = input::open_regular(path, "schema file", "cannot read the schema")?;
    let too_large = || {
        Error::usage(format!(
            "{}: the schema file is larger than {} MiB: not a schema",
            crate::error::shown(path),
            MAX_SCHEMA_LEN >> 20
        ))
    };
    if len > MAX_SCHEMA_LEN {
        return Err(too_large());
    }
    let invalid = |error: ReflectError| match error {
        ReflectError::ReadSchema { source, .. } => {
            Error::io(path, "cannot read the schema", &source)
        }
        other => Error::usage(format!(
            "{}: {}",
            crate::error::shown(path),
            describe(&other)
        )),
    };
    if path.extension().is_some_and(|ext| ext == "fbs") {
        drop(file);
        return Schema::from_fbs(path).map_err(invalid);
    }
    let mut bytes = Vec::new();
    file.take(MAX_SCHEMA_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| Error::io(path, "cannot read the schema", &error))?;
    if bytes.len() as u64 > MAX_SCHEMA_LEN {
        return Err(too_large());
    }
    Schema::from_bfbs(bytes).map_err(invalid)
}

/// Loads the schema for the stream `stream`: `schema` if given, otherwise
/// the one the stream's `header` carries; `None` when there is neither.
///
/// # Errors
///
/// A schema that cannot be read or parsed, or whose file identifier is not
/// the one the header declares (exit code 2).
pub fn load(
    stream: &Path,
    schema: Option<&Path>,
    header: Option<&StreamHeader>,
) -> Result<Option<Loaded>> {
    let loaded = match schema {
        Some(path) => {
            let schema = load_file(path)?;
            Loaded {
                source: path.display().to_string(),
                schema: Arc::new(schema),
                from_header: false,
            }
        }
        None => {
            let Some(bfbs) = header
                .map(|header| &header.schema)
                .filter(|bfbs| !bfbs.is_empty())
            else {
                return Ok(None);
            };
            let schema = Schema::from_bfbs(bfbs.clone()).map_err(|error| {
                Error::damaged(format!(
                    "{}: byte offset 0 (frame 0): the schema in the stream header is not usable: {}",
                    crate::error::shown(stream),
                    describe(&error)
                ))
            })?;
            Loaded {
                source: format!(
                    "{}: byte offset 0 (frame 0): the stream header's schema",
                    crate::error::shown(stream)
                ),
                schema: Arc::new(schema),
                from_header: true,
            }
        }
    };
    if let Some(header) = header
        && !loaded.from_header
        && !header.file_identifier.is_empty()
        && let Some(ours) = loaded.schema.file_identifier()
        && ours != header.file_identifier
    {
        return Err(Error::usage(format!(
            "{}: mismatched schema: its file identifier is {}, the stream header's is {}",
            loaded.source,
            shown(ours.as_bytes()),
            shown(header.file_identifier.as_bytes())
        )));
    }
    Ok(Some(loaded))
}
