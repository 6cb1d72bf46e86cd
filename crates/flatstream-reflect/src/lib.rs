#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

extern crate alloc;

mod error;
mod flatc;
mod json;
mod plan;
mod read;
mod verify;

// flatc's output for `schema/reflection.fbs`, committed byte for byte
// (`cargo xtask codegen --check` proves it fresh). It is not ours to lint.
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::cast_lossless,
    clippy::cast_possible_truncation,
    clippy::missing_errors_doc,
    clippy::missing_panics_doc,
    clippy::std_instead_of_alloc,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    dead_code,
    deprecated,
    missing_debug_implementations,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_code,
    unsafe_op_in_unsafe_fn,
    unused_imports
)]
#[rustfmt::skip]
mod reflection_generated;

use std::io;
use std::path::Path;

pub use crate::error::{InvalidKind, ReflectError};

use crate::plan::Plan;
use crate::reflection_generated::reflection;

/// A FlatBuffers schema, loaded from a binary schema (`.bfbs`).
///
/// It owns the `.bfbs` bytes, verified and compiled once when loaded; after
/// that, choosing a [`Root`] and printing buffers never reads the reflection
/// data again.
///
/// How flatc compiled the schema matters for two features: flatc keeps the
/// `bit_flags` and `nested_flatbuffer` attributes in a `.bfbs` only with
/// `--bfbs-builtins`. Without them, bit flags print as numbers and nested
/// FlatBuffers as arrays of bytes, exactly as flatc itself prints them with
/// such a `.bfbs`. [`Schema::from_fbs`] passes `--bfbs-builtins`.
pub struct Schema {
    bfbs: Vec<u8>,
    plan: Plan,
}

impl core::fmt::Debug for Schema {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Schema")
            .field("bfbs_len", &self.bfbs.len())
            .field("root_type", &self.root_type_name())
            .field("file_identifier", &self.file_identifier())
            .field("objects", &self.plan.objects.len())
            .field("enums", &self.plan.enums.len())
            .finish()
    }
}

impl Schema {
    /// Loads a binary schema (the output of `flatc -b --schema`).
    ///
    /// # Errors
    ///
    /// [`ReflectError::InvalidSchema`] if the bytes are not a verifiable
    /// reflection `Schema` with the `BFBS` file identifier, or describe
    /// something inconsistent (an index out of range, a struct that contains
    /// itself or whose fields overlap, two table fields in one vtable slot…).
    pub fn from_bfbs(bytes: Vec<u8>) -> Result<Schema, ReflectError> {
        // (`schema_buffer_has_identifier` panics on fewer than 8 bytes.)
        if bytes.len() < 8 || !reflection::schema_buffer_has_identifier(&bytes) {
            return Err(ReflectError::InvalidSchema {
                reason: "no `BFBS` file identifier: not a binary schema \
                         (make one with `flatc -b --schema`)"
                    .to_owned(),
            });
        }
        let schema =
            reflection::root_as_schema(&bytes).map_err(|err| ReflectError::InvalidSchema {
                reason: format!("the reflection data does not verify: {err}"),
            })?;
        let plan = plan::compile(schema)?;
        Ok(Schema { bfbs: bytes, plan })
    }

    /// Compiles a schema source (`.fbs`) with `flatc -b --schema
    /// --bfbs-builtins`, in a temporary directory, and loads the result.
    ///
    /// `flatc` must be on `PATH`; see [`Schema::from_fbs_with_flatc`] to name
    /// the program. Includes are searched in the schema's directory.
    ///
    /// # Errors
    ///
    /// [`ReflectError::FlatcNotFound`] if flatc cannot be started,
    /// [`ReflectError::Flatc`] if it refuses the schema, and the errors of
    /// [`Schema::from_bfbs`].
    pub fn from_fbs(path: &Path) -> Result<Schema, ReflectError> {
        Self::from_fbs_with_flatc(Path::new("flatc"), path)
    }

    /// [`Schema::from_fbs`] with the flatc program to run.
    ///
    /// # Errors
    ///
    /// As [`Schema::from_fbs`].
    pub fn from_fbs_with_flatc(flatc: &Path, path: &Path) -> Result<Schema, ReflectError> {
        Self::from_bfbs(flatc::compile(flatc, path)?)
    }

    /// Loads `path` as a schema source if its extension is `fbs`, else as a
    /// binary schema.
    ///
    /// # Errors
    ///
    /// [`ReflectError::ReadSchema`] if the file cannot be read, and the
    /// errors of [`Schema::from_fbs`] or [`Schema::from_bfbs`].
    pub fn load(path: &Path) -> Result<Schema, ReflectError> {
        if path.extension().is_some_and(|ext| ext == "fbs") {
            return Self::from_fbs(path);
        }
        let bytes = std::fs::read(path).map_err(|source| ReflectError::ReadSchema {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bfbs(bytes)
    }

    /// The binary schema, as loaded.
    #[must_use]
    pub fn bfbs(&self) -> &[u8] {
        &self.bfbs
    }

    /// The schema's `root_type`, fully qualified (e.g. `telemetry.Event`).
    #[must_use]
    pub fn root_type_name(&self) -> Option<&str> {
        let root = self.plan.root?;
        Some(&self.plan.objects[root as usize].name)
    }

    /// The schema's `file_identifier`, if it declares one.
    #[must_use]
    pub fn file_identifier(&self) -> Option<&str> {
        self.plan.file_ident.as_deref()
    }

    /// The tables of the schema, fully qualified, in the schema's order
    /// (flatc sorts them by name).
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.plan
            .objects
            .iter()
            .filter(|o| !o.is_struct)
            .map(|o| &*o.name)
    }

    /// A table of the schema, as the root of the buffers to read: the
    /// schema's `root_type` for `None`, else the table named, fully qualified
    /// (`telemetry.Event`) or by a suffix that is unambiguous (`Event`).
    ///
    /// # Errors
    ///
    /// [`ReflectError::NoRootType`], [`ReflectError::UnknownTable`],
    /// [`ReflectError::AmbiguousTable`] (each listing the candidates),
    /// [`ReflectError::NotATable`] for a struct, and
    /// [`ReflectError::Unsupported`] if the table reaches a field this crate
    /// cannot read (64-bit offsets).
    pub fn root(&self, name: Option<&str>) -> Result<Root<'_>, ReflectError> {
        let tables = || self.table_names().map(str::to_owned).collect();
        let index = match name {
            None => self
                .plan
                .root
                .ok_or_else(|| ReflectError::NoRootType { tables: tables() })?,
            Some(name) => self.find(name)?,
        };
        let object = &self.plan.objects[index as usize];
        if object.is_struct {
            return Err(ReflectError::NotATable {
                name: object.name.to_string(),
            });
        }
        plan::check_reachable(&self.plan, index)?;
        Ok(Root {
            schema: self,
            table: index,
        })
    }

    /// The object named `name`: fully qualified, or by a unique suffix.
    fn find(&self, name: &str) -> Result<u32, ReflectError> {
        let objects = &self.plan.objects;
        let position = |p: usize| u32::try_from(p).ok();
        if let Some(exact) = objects.iter().position(|o| *o.name == *name) {
            return position(exact).ok_or_else(|| ReflectError::UnknownTable {
                name: name.to_owned(),
                candidates: Vec::new(),
            });
        }
        let name = name.trim_start_matches('.');
        let matches: Vec<usize> = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                o.name
                    .strip_suffix(name)
                    .is_some_and(|head| head.ends_with('.'))
            })
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [one] => position(*one).ok_or_else(|| ReflectError::UnknownTable {
                name: name.to_owned(),
                candidates: Vec::new(),
            }),
            [] => Err(ReflectError::UnknownTable {
                name: name.to_owned(),
                candidates: self.table_names().map(str::to_owned).collect(),
            }),
            several => Err(ReflectError::AmbiguousTable {
                name: name.to_owned(),
                candidates: several
                    .iter()
                    .map(|&i| objects[i].name.to_string())
                    .collect(),
            }),
        }
    }
}

/// A table of a [`Schema`] chosen as the root of buffers: verifies them and
/// prints them as JSON.
#[derive(Clone, Copy)]
pub struct Root<'s> {
    schema: &'s Schema,
    table: u32,
}

impl core::fmt::Debug for Root<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Root").field("name", &self.name()).finish()
    }
}

impl<'s> Root<'s> {
    /// The root table's name, fully qualified.
    #[must_use]
    pub fn name(&self) -> &'s str {
        &self.schema.plan.objects[self.table as usize].name
    }

    /// The schema this root belongs to.
    #[must_use]
    pub fn schema(&self) -> &'s Schema {
        self.schema
    }

    /// Verifies `buf` as a FlatBuffer with this root, against the schema.
    ///
    /// The rules are those of the FlatBuffers verifiers: every object in the
    /// buffer and aligned, well-formed vtables, zero-terminated UTF-8
    /// strings, required fields present, union vectors as long as their type
    /// vectors, nested FlatBuffers valid on their own. The file identifier is
    /// not checked. The work is bounded: tables nest at most 64 deep, at most
    /// one table visit per 4 bytes of buffer, and at most 8 times the
    /// buffer's length (at least 64 KiB) in bytes visited, a shared object
    /// counting once per reference, as `flatstream_core::verifier_options_for`.
    /// Nothing is allocated unless it fails.
    ///
    /// # Errors
    ///
    /// [`ReflectError::InvalidBuffer`], with the byte offset, the field path
    /// (`Event.readings[3].value`) and an [`InvalidKind`].
    pub fn verify(&self, buf: &[u8]) -> Result<(), ReflectError> {
        let root = &self.schema.plan.objects[self.table as usize];
        verify::verify(&self.schema.plan, self.table, buf).map_err(|fail| fail.into_error(root))
    }

    /// Verifies `buf` ([`Root::verify`]), then writes it to `out` as one
    /// compact JSON object, without a trailing newline: the JSON that
    /// `flatc --json --strict-json --raw-binary` prints for the same buffer
    /// and binary schema, parsed.
    ///
    /// That is: the fields present in each table (flatc's builder leaves out
    /// fields at their default value, so those do not appear) plus scalar
    /// `key` fields, which always print; structs and fixed arrays in full;
    /// enums by name, or as numbers when no name matches; `bit_flags` values
    /// as one string of space-separated names; unions as a `<name>_type`
    /// field and the value; `nested_flatbuffer` fields as the nested table;
    /// 64-bit integers exactly; `[ubyte]` as arrays of numbers; strings
    /// escaped as JSON needs (a string that is not UTF-8 makes the buffer
    /// invalid: flatc refuses to print it too). Where this differs from
    /// flatc:
    /// - floats print the shortest text that reads back as the same value
    ///   (flatc prints 6 decimals for `float`, 12 for `double`);
    /// - NaN and infinities print as flatc's `nan`, `-nan`, `inf`, `-inf`,
    ///   which are not strict JSON (flatc can read them back);
    /// - non-ASCII text is written as UTF-8, not as `\u` escapes;
    /// - where flatc fails or crashes, this prints something readable: a
    ///   union whose type is NONE or unknown prints no value (in a union
    ///   vector, `null`), an empty nested FlatBuffer prints `[]`;
    /// - `flexbuffer` fields print as arrays of bytes.
    ///
    /// Write into something buffered (a `Vec<u8>`, a `BufWriter`): the JSON
    /// is written in many small pieces.
    ///
    /// # Errors
    ///
    /// [`ReflectError::InvalidBuffer`] if `buf` does not verify (nothing has
    /// been written then), and [`ReflectError::Io`] if writing fails
    /// (part of the JSON may have been written).
    pub fn write_json<W: io::Write>(&self, buf: &[u8], out: &mut W) -> Result<(), ReflectError> {
        self.verify(buf)?;
        json::write(&self.schema.plan, self.table, buf, out).map_err(|err| match err {
            json::PrintError::Io(err) => ReflectError::Io(err),
            json::PrintError::Inconsistent(offset) => ReflectError::InvalidBuffer {
                offset,
                path: self.schema.plan.objects[self.table as usize]
                    .short_name()
                    .to_owned(),
                kind: InvalidKind::Internal,
            },
        })
    }

    /// [`Root::write_json`] into a `String`.
    ///
    /// # Errors
    ///
    /// [`ReflectError::InvalidBuffer`] if `buf` does not verify.
    pub fn to_json(&self, buf: &[u8]) -> Result<String, ReflectError> {
        let mut out = Vec::with_capacity(buf.len().saturating_mul(2));
        self.write_json(buf, &mut out)?;
        String::from_utf8(out)
            .map_err(|err| ReflectError::Io(io::Error::new(io::ErrorKind::InvalidData, err)))
    }
}
