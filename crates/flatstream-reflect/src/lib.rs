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

use alloc::sync::Arc;
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

/// An integer field of a schema's table, looked up by name once, then read
/// from buffers whose root is that table: a message's timestamp, sequence
/// number or sensor id.
///
/// It shares its schema through an [`Arc`], so it can live in a `'static`
/// closure (such as a capture index's timestamp function) while the schema
/// is loaded once.
///
/// [`read`](IntegerField::read) verifies the whole buffer first, as
/// [`Root::verify`] does: nothing is read from a buffer that does not
/// verify.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use flatstream_reflect::{IntegerField, Schema};
///
/// let bfbs = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/telemetry.bfbs"));
/// let schema = Arc::new(Schema::from_bfbs(bfbs.to_vec())?);
/// let timestamp = IntegerField::new(Arc::clone(&schema), None, "timestamp_ns")?;
///
/// // A `Telemetry` buffer with `timestamp_ns` (field 0, vtable slot 4).
/// let mut builder = flatbuffers::FlatBufferBuilder::new();
/// let table = builder.start_table();
/// builder.push_slot::<u64>(4, 1_767_225_600_000_000_000, 0);
/// let table = builder.end_table(table);
/// builder.finish(table, Some("TLM1"));
/// assert_eq!(timestamp.read(builder.finished_data())?, Some(1_767_225_600_000_000_000));
///
/// // Garbage is refused, not read.
/// assert!(timestamp.read(&[1, 2, 3, 4, 5, 6, 7, 8]).is_err());
/// // A field that is not an integer is refused when it is looked up.
/// assert!(IntegerField::new(schema, None, "label").is_err());
/// # Ok::<(), flatstream_reflect::ReflectError>(())
/// ```
#[derive(Clone)]
pub struct IntegerField {
    schema: Arc<Schema>,
    /// The table, an index into the schema's objects.
    table: u32,
    /// The field, an index into the table's fields.
    field: usize,
}

impl core::fmt::Debug for IntegerField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IntegerField")
            .field("table", &self.table_name())
            .field("name", &self.name())
            .finish()
    }
}

impl IntegerField {
    /// The integer field `name` (of any integer type, enums included) of
    /// the table `root` names, as [`Schema::root`] finds it: the schema's
    /// `root_type` for `None`.
    ///
    /// # Errors
    ///
    /// The errors of [`Schema::root`], and
    /// [`ReflectError::NoIntegerField`] when the table has no field `name`
    /// (listing its integer fields) or that field is not an integer (a
    /// bool, a float, a string...).
    pub fn new(schema: Arc<Schema>, root: Option<&str>, name: &str) -> Result<Self, ReflectError> {
        let (table, field) = {
            let table = schema.root(root)?.table;
            let object = &schema.plan.objects[table as usize];
            let no = |reason: String| ReflectError::NoIntegerField {
                table: object.name.to_string(),
                field: name.to_owned(),
                reason,
            };
            let Some(field) = object.fields.iter().position(|f| *f.name == *name) else {
                let integers: Vec<String> = object
                    .fields
                    .iter()
                    .filter(|f| integer(f.kind).is_some())
                    .map(|f| format!("`{}`", f.name))
                    .collect();
                return Err(no(if integers.is_empty() {
                    "the table has no field of that name, and no integer field".to_owned()
                } else {
                    format!(
                        "the table has no field of that name (its integer fields: {})",
                        integers.join(", ")
                    )
                }));
            };
            let kind = object.fields[field].kind;
            if integer(kind).is_none() {
                return Err(no(format!("it is {}", describe_kind(kind))));
            }
            (table, field)
        };
        Ok(IntegerField {
            schema,
            table,
            field,
        })
    }

    /// The field's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.plan_field().map_or("", |f| &f.name)
    }

    /// The table's name, fully qualified.
    #[must_use]
    pub fn table_name(&self) -> &str {
        self.schema
            .plan
            .objects
            .get(self.table as usize)
            .map_or("", |o| &o.name)
    }

    /// Verifies `buf` as a FlatBuffer whose root is the field's table
    /// ([`Root::verify`]), then reads the field: its value, or its default
    /// when it is absent (FlatBuffers builders leave out fields at their
    /// default).
    ///
    /// `None` when the value is not a `u64`: an optional scalar (`= null`)
    /// that is absent, or a negative value of a signed field. (flatc
    /// stores a `ulong` default above `i64::MAX` as 0 in a binary schema,
    /// so such a field reads as 0 when it is absent.)
    ///
    /// # Errors
    ///
    /// [`ReflectError::InvalidBuffer`] when `buf` does not verify.
    pub fn read(&self, buf: &[u8]) -> Result<Option<u64>, ReflectError> {
        let root = Root {
            schema: &self.schema,
            table: self.table,
        };
        root.verify(buf)?;
        let internal = |offset: usize| ReflectError::InvalidBuffer {
            offset,
            path: format!("{}.{}", root.name(), self.name()),
            kind: InvalidKind::Internal,
        };
        let field = self.plan_field().ok_or_else(|| internal(0))?;
        let scalar = integer(field.kind).ok_or_else(|| internal(0))?;
        let size = scalar.size();
        // The buffer verified: every read below is in bounds. A `None`
        // would be a bug, reported rather than trusted.
        let bits = match field_position(buf, field.offset).ok_or_else(|| internal(0))? {
            Some(pos) => match size {
                1 => read::u8_at(buf, pos).map(u64::from),
                2 => read::u16_at(buf, pos).map(u64::from),
                4 => read::u32_at(buf, pos).map(u64::from),
                _ => read::u64_at(buf, pos),
            }
            .ok_or_else(|| internal(pos))?,
            None if field.optional => return Ok(None),
            None => match field.default {
                // Truncated to the field's width, as flatc stores it.
                plan::DefaultValue::Integer(v) => v.cast_unsigned() & width_mask(size),
                plan::DefaultValue::Real(_) => return Err(internal(0)),
            },
        };
        if !scalar.is_signed() {
            return Ok(Some(bits));
        }
        // Sign-extended from the field's width.
        let shift = 64 - 8 * u32::try_from(size).unwrap_or(8);
        let value = (bits << shift).cast_signed() >> shift;
        Ok(u64::try_from(value).ok())
    }

    /// The field in the compiled schema.
    fn plan_field(&self) -> Option<&plan::Field> {
        self.schema
            .plan
            .objects
            .get(self.table as usize)?
            .fields
            .get(self.field)
    }
}

/// The scalar type of an integer field (enums included); `None` for any
/// other kind.
fn integer(kind: plan::Kind) -> Option<plan::Scalar> {
    match kind {
        plan::Kind::Scalar { scalar, .. } if scalar.is_integer() => Some(scalar),
        _ => None,
    }
}

/// A field's kind in words, for errors: `a float`, `a string`...
fn describe_kind(kind: plan::Kind) -> &'static str {
    use plan::{Kind, Scalar};
    match kind {
        Kind::Scalar {
            scalar: Scalar::Bool,
            ..
        } => "a bool",
        Kind::Scalar {
            scalar: Scalar::F32,
            ..
        } => "a float",
        Kind::Scalar {
            scalar: Scalar::F64,
            ..
        } => "a double",
        Kind::Scalar { .. } => "an integer",
        Kind::String => "a string",
        Kind::Struct(_) => "a struct",
        Kind::Table(_) => "a table",
        Kind::Union(_) => "a union",
        Kind::Vector(_) => "a vector",
        Kind::Array { .. } => "an array",
        Kind::Nested(_) => "a nested FlatBuffer",
        Kind::Unsupported(what) => what,
    }
}

/// The low `size` bytes of a `u64`.
fn width_mask(size: usize) -> u64 {
    match size {
        8.. => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    }
}

/// Where the field in vtable slot `slot` of the root table of the verified
/// `buf` is: `Some(None)` when it is absent, `None` when `buf` is not what
/// the verifier saw.
fn field_position(buf: &[u8], slot: u16) -> Option<Option<usize>> {
    let table = usize::try_from(read::u32_at(buf, 0)?).ok()?;
    let soffset = i64::from(read::i32_at(buf, table)?);
    let vtable = usize::try_from(i64::try_from(table).ok()? - soffset).ok()?;
    let vtable_len = usize::from(read::u16_at(buf, vtable)?);
    let slot = usize::from(slot);
    if slot + 2 > vtable_len {
        return Some(None);
    }
    match read::u16_at(buf, vtable + slot)? {
        0 => Some(None),
        offset => Some(Some(table.checked_add(usize::from(offset))?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// flatc's binary schema of `tests/schemas/all_features.fbs`.
    fn all_features() -> Arc<Schema> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let bfbs = std::fs::read(dir.join("tests/schemas/all_features.bfbs")).expect("the schema");
        Arc::new(Schema::from_bfbs(bfbs).expect("a binary schema"))
    }

    /// A buffer flatc made from `tests/inputs/all_features/{name}.json`.
    fn buffer(name: &str) -> Vec<u8> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read(dir.join(format!("tests/data/all_features/{name}.allf"))).expect("a buffer")
    }

    fn read(schema: &Arc<Schema>, field: &str, buf: &[u8]) -> Option<u64> {
        IntegerField::new(Arc::clone(schema), None, field)
            .expect("an integer field")
            .read(buf)
            .expect("a valid buffer")
    }

    #[test]
    fn integer_fields_read_what_flatc_wrote() {
        let schema = all_features();
        let extreme = buffer("scalars_extreme");
        assert_eq!(read(&schema, "u8", &extreme), Some(255));
        assert_eq!(read(&schema, "u16", &extreme), Some(65_535));
        assert_eq!(read(&schema, "u32", &extreme), Some(4_294_967_295));
        assert_eq!(read(&schema, "u64", &extreme), Some(u64::MAX));
        // Negative values are no u64.
        for signed in ["i8", "i16", "i32", "i64"] {
            assert_eq!(read(&schema, signed, &extreme), None, "{signed}");
        }

        // Absent fields read as their defaults, truncated to their width.
        let empty = buffer("empty");
        assert_eq!(read(&schema, "u64", &empty), Some(0));
        assert_eq!(read(&schema, "d_i32", &empty), Some(42));
        assert_eq!(read(&schema, "d_u16", &empty), Some(65_535));
        // flatc stores a `ulong` default above `i64::MAX` as 0 in a binary
        // schema (its reflection field is a `long`): that is what it says.
        assert_eq!(read(&schema, "d_u64", &empty), Some(0));
        assert_eq!(read(&schema, "d_i8", &empty), None, "default -5");
        // An enum is an integer; Blue is 2.
        assert_eq!(read(&schema, "color", &empty), Some(2));
        // Written with values other than their defaults.
        let non_defaults = buffer("non_defaults");
        assert_eq!(read(&schema, "d_i32", &non_defaults), Some(0));
        assert_eq!(read(&schema, "d_u64", &non_defaults), Some(0));
        assert_eq!(read(&schema, "d_i8", &non_defaults), Some(0));

        // Optional scalars: present (even at 0) or absent.
        let optional = buffer("optional");
        assert_eq!(read(&schema, "o_i32", &optional), Some(0));
        assert_eq!(read(&schema, "o_u64", &optional), Some(u64::MAX));
        let null = buffer("optional_null");
        assert_eq!(read(&schema, "o_i32", &null), None);
        assert_eq!(read(&schema, "o_u64", &null), None);
    }

    #[test]
    fn integer_fields_refuse_other_fields_and_bad_buffers() {
        let schema = all_features();
        for (name, why) in [
            ("f64", "it is a double"),
            ("b", "it is a bool"),
            ("text", "it is a string"),
            ("pos", "it is a struct"),
            ("v_u64", "it is a vector"),
            (
                "missing",
                "no field of that name (its integer fields: `i8`,",
            ),
        ] {
            let error = IntegerField::new(Arc::clone(&schema), None, name).expect_err(name);
            assert!(
                matches!(&error, ReflectError::NoIntegerField { table, field, .. }
                    if table == "af.Everything" && field == name),
                "{error:?}"
            );
            assert!(error.to_string().contains(why), "{name}: {error}");
        }
        // Another root, by name.
        let hp = IntegerField::new(Arc::clone(&schema), Some("Monster"), "hp").expect("hp");
        assert_eq!(hp.table_name(), "af.Monster");
        assert_eq!(hp.name(), "hp");

        // Nothing is read from a buffer that does not verify.
        let field = IntegerField::new(schema, None, "u64").expect("u64");
        let mut bad = buffer("scalars_extreme");
        bad.truncate(bad.len() / 2);
        assert!(field.read(&bad).is_err_and(|e| e.is_invalid_buffer()));
        assert!(field.read(&[]).is_err_and(|e| e.is_invalid_buffer()));
    }
}
