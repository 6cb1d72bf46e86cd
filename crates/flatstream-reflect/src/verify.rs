//! The schema-driven verifier: checks a buffer against a compiled schema
//! before anything reads it, with bounded work.
//!
//! It follows the rules of the FlatBuffers verifiers (C++ and Rust): every
//! object inside the buffer and aligned, vtables well formed, strings
//! zero-terminated (and UTF-8, as Rust's verifier and flatc's printer
//! demand), required fields present, union vectors as long as their type
//! vectors, nested FlatBuffers verified as buffers of their own. The work is
//! bounded like `flatstream_core::verifier_options_for`: at most
//! [`MAX_DEPTH`] nested tables, one table per 4 bytes of buffer, and an
//! apparent size (bytes visited, a shared object once per reference) of
//! [`APPARENT_SIZE_FACTOR`] times the buffer. Nothing is allocated unless
//! verification fails.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::error::{InvalidKind, ReflectError};
use crate::plan::{Elem, Kind, Member, Object, Plan};
use crate::read;

/// The deepest nesting of tables (flatbuffers' default `max_depth`).
pub(crate) const MAX_DEPTH: usize = 64;
/// The apparent-size budget, as a multiple of the buffer's length
/// (`flatstream_core::APPARENT_SIZE_FACTOR`).
pub(crate) const APPARENT_SIZE_FACTOR: usize = 8;
/// The smallest apparent-size budget, for tiny buffers.
const MIN_APPARENT_SIZE: usize = 64 * 1024;
/// The largest apparent-size budget (flatbuffers' default).
const MAX_APPARENT_SIZE: usize = 1 << 31;
/// The most table visits (flatbuffers' default `max_tables`).
const MAX_TABLES: usize = 1_000_000;

/// The work a buffer of a given length may cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    depth: usize,
    tables: usize,
    apparent: usize,
}

impl Limits {
    /// The limits for a buffer of `len` bytes.
    pub(crate) fn for_len(len: usize) -> Self {
        Limits {
            depth: MAX_DEPTH,
            tables: (len / 4).clamp(16, MAX_TABLES),
            apparent: len
                .saturating_mul(APPARENT_SIZE_FACTOR)
                .clamp(MIN_APPARENT_SIZE, MAX_APPARENT_SIZE),
        }
    }
}

/// One step of a field path.
#[derive(Debug)]
pub(crate) enum Seg<'p> {
    Field(&'p str),
    Index(usize),
}

/// A verification failure, with its path collected while unwinding.
#[derive(Debug)]
pub(crate) struct Fail<'p> {
    offset: usize,
    kind: InvalidKind,
    /// Innermost first.
    path: Vec<Seg<'p>>,
}

impl<'p> Fail<'p> {
    fn new(offset: usize, kind: InvalidKind) -> Box<Self> {
        Box::new(Fail {
            offset,
            kind,
            path: Vec::new(),
        })
    }

    /// The public error, with the path starting at the root's name.
    pub(crate) fn into_error(self, root: &Object) -> ReflectError {
        let mut path = String::from(root.short_name());
        for seg in self.path.iter().rev() {
            // Writing to a String cannot fail.
            let _ = match seg {
                Seg::Field(name) => write!(path, ".{name}"),
                Seg::Index(i) => write!(path, "[{i}]"),
            };
        }
        ReflectError::InvalidBuffer {
            offset: self.offset,
            path,
            kind: self.kind,
        }
    }
}

type Result<'p, T> = core::result::Result<T, Box<Fail<'p>>>;

/// Adds a path step to a failure on its way out.
trait At<'p, T> {
    fn at(self, seg: Seg<'p>) -> Result<'p, T>;
}

impl<'p, T> At<'p, T> for Result<'p, T> {
    #[inline]
    fn at(self, seg: Seg<'p>) -> Result<'p, T> {
        self.map_err(|mut fail| {
            fail.path.push(seg);
            fail
        })
    }
}

/// Verifies `buf` as a FlatBuffer whose root is `plan.objects[root]`.
pub(crate) fn verify<'p>(plan: &'p Plan, root: u32, buf: &[u8]) -> Result<'p, ()> {
    let mut verifier = Verifier {
        plan,
        buf,
        base: 0,
        depth: 0,
        tables: 0,
        apparent: 0,
        limits: Limits::for_len(buf.len()),
    };
    verifier.root(root)
}

struct Verifier<'p, 'b> {
    plan: &'p Plan,
    /// The buffer being verified: the whole one, or a nested FlatBuffer.
    buf: &'b [u8],
    /// Where `buf` starts in the outer buffer, for error offsets.
    base: usize,
    depth: usize,
    tables: usize,
    apparent: usize,
    limits: Limits,
}

impl<'p> Verifier<'p, '_> {
    fn fail<T>(&self, pos: usize, kind: InvalidKind) -> Result<'p, T> {
        Err(Fail::new(self.base.saturating_add(pos), kind))
    }

    /// Checks that `size` bytes at `pos` are in the buffer, and counts them.
    fn range(&mut self, pos: usize, size: usize, what: &'static str) -> Result<'p, ()> {
        if pos.checked_add(size).is_none_or(|end| end > self.buf.len()) {
            return self.fail(
                pos,
                InvalidKind::OutOfBounds {
                    what,
                    size,
                    buffer_len: self.buf.len(),
                },
            );
        }
        self.apparent = self.apparent.saturating_add(size);
        if self.apparent > self.limits.apparent {
            return self.fail(
                pos,
                InvalidKind::ApparentSizeLimit {
                    limit: self.limits.apparent,
                },
            );
        }
        Ok(())
    }

    fn align(&self, pos: usize, align: usize, what: &'static str) -> Result<'p, ()> {
        if pos.is_multiple_of(align) {
            Ok(())
        } else {
            self.fail(pos, InvalidKind::Unaligned { what, align })
        }
    }

    fn out_of_bounds<T>(&self, pos: usize, what: &'static str, size: usize) -> Result<'p, T> {
        self.fail(
            pos,
            InvalidKind::OutOfBounds {
                what,
                size,
                buffer_len: self.buf.len(),
            },
        )
    }

    fn u32_at(&self, pos: usize, what: &'static str) -> Result<'p, u32> {
        match read::u32_at(self.buf, pos) {
            Some(v) => Ok(v),
            None => self.out_of_bounds(pos, what, 4),
        }
    }

    fn u16_at(&self, pos: usize, what: &'static str) -> Result<'p, u16> {
        match read::u16_at(self.buf, pos) {
            Some(v) => Ok(v),
            None => self.out_of_bounds(pos, what, 2),
        }
    }

    /// Follows the offset at `pos` (aligned, in the buffer) to its target,
    /// which must be in the buffer too.
    fn deref(&self, pos: usize, what: &'static str) -> Result<'p, usize> {
        self.align(pos, 4, "offset")?;
        let offset = self.u32_at(pos, "offset")?;
        let target = pos.saturating_add(offset as usize);
        if target >= self.buf.len() {
            return self.out_of_bounds(target, what, 1);
        }
        Ok(target)
    }

    fn root(&mut self, table: u32) -> Result<'p, ()> {
        if self.buf.len() < 4 {
            return self.out_of_bounds(0, "root offset", 4);
        }
        let pos = self.deref(0, "root table")?;
        self.table(table, pos)
    }

    fn table(&mut self, table: u32, pos: usize) -> Result<'p, ()> {
        self.depth += 1;
        if self.depth > self.limits.depth {
            return self.fail(
                pos,
                InvalidKind::DepthLimit {
                    limit: self.limits.depth,
                },
            );
        }
        self.tables += 1;
        if self.tables > self.limits.tables {
            return self.fail(
                pos,
                InvalidKind::TableLimit {
                    limit: self.limits.tables,
                },
            );
        }
        self.align(pos, 4, "table")?;
        let soffset = self.u32_at(pos, "table")?.cast_signed();
        let vtable = i64::try_from(pos)
            .ok()
            .map(|p| p - i64::from(soffset))
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v < self.buf.len());
        let Some(vtable) = vtable else {
            return self.fail(
                pos,
                InvalidKind::BadVtable("vtable offset points outside the buffer"),
            );
        };
        self.align(vtable, 2, "vtable")?;
        let vtable_len = usize::from(self.u16_at(vtable, "vtable")?);
        let table_len = usize::from(self.u16_at(vtable + 2, "vtable")?);
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return self.fail(
                vtable,
                InvalidKind::BadVtable("vtable length is odd or below 4"),
            );
        }
        if table_len < 4 {
            return self.fail(vtable, InvalidKind::BadVtable("table length below 4"));
        }
        self.range(vtable, vtable_len, "vtable")?;
        self.range(pos, table_len, "table")?;

        let plan = self.plan;
        let object = &plan.objects[table as usize];
        for field in &object.fields {
            let slot = usize::from(field.offset);
            let field_offset = if slot + 2 > vtable_len {
                0
            } else {
                self.u16_at(vtable + slot, "vtable")?
            };
            // A union's type, or a union vector's types: the field in the
            // previous vtable slot (slots start at 4).
            let types = if field.kind.has_types() && (6..=vtable_len).contains(&slot) {
                match self.u16_at(vtable + slot - 2, "vtable")? {
                    0 => None,
                    offset => Some(pos + usize::from(offset)),
                }
            } else {
                None
            };
            if field_offset == 0 {
                if field.required {
                    return self
                        .fail(pos, InvalidKind::MissingRequired)
                        .at(Seg::Field(&field.name));
                }
                self.absent_union(field.kind, pos, types)
                    .at(Seg::Field(&field.name))?;
                if slot + 2 > vtable_len {
                    break; // fields are sorted by slot: the rest are absent
                }
                continue;
            }
            self.field(field.kind, pos + usize::from(field_offset), types)
                .at(Seg::Field(&field.name))?;
        }
        for &i in &object.required {
            let field = &object.fields[i];
            if usize::from(field.offset) + 2 > vtable_len {
                return self
                    .fail(pos, InvalidKind::MissingRequired)
                    .at(Seg::Field(&field.name));
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An absent field of the table at `pos` of kind `kind`, whose type
    /// field (a union's, or a union vector's) is at `types`, if present: a
    /// union's type must not name a member (a type byte of a member that is
    /// not in the schema is read as NONE), and a union vector's types must be
    /// absent too (as flatbuffers' verifiers require of both vectors).
    fn absent_union(&mut self, kind: Kind, pos: usize, types: Option<usize>) -> Result<'p, ()> {
        let Some(type_pos) = types else {
            return Ok(());
        };
        match kind {
            Kind::Union(e) => {
                self.range(type_pos, 1, "union type")?;
                if self.member(e, self.buf[type_pos]) == Member::None {
                    return Ok(());
                }
                self.fail(pos, InvalidKind::UnionValueMissing)
            }
            Kind::Vector(Elem::Union(_)) => self.fail(pos, InvalidKind::UnionTypesMissing),
            _ => Ok(()),
        }
    }

    /// Verifies a field at `pos` of a table; `types` is where the field in
    /// the previous vtable slot is (a union's type or type vector).
    fn field(&mut self, kind: Kind, pos: usize, types: Option<usize>) -> Result<'p, ()> {
        match kind {
            Kind::Scalar { scalar, .. } => {
                self.align(pos, scalar.size(), "scalar")?;
                self.range(pos, scalar.size(), "scalar")
            }
            Kind::Struct(i) => self.inline_struct(i, pos),
            Kind::String => {
                let target = self.deref(pos, "string")?;
                self.string(target)
            }
            Kind::Table(i) => {
                let target = self.deref(pos, "table")?;
                self.table(i, target)
            }
            Kind::Union(e) => {
                let Some(type_pos) = types else {
                    return Ok(()); // NONE: the value is ignored
                };
                self.range(type_pos, 1, "union type")?;
                let member = self.member(e, self.buf[type_pos]);
                if member == Member::None {
                    return Ok(()); // NONE or unknown: not read
                }
                let target = self.deref(pos, "union value")?;
                self.member_at(member, target)
            }
            Kind::Vector(elem) => {
                let target = self.deref(pos, "vector")?;
                self.vector(elem, target, types)
            }
            Kind::Nested(i) => {
                let target = self.deref(pos, "vector")?;
                let (len, data) = self.vector_header(target, 1, 1)?;
                if len == 0 {
                    return Ok(());
                }
                self.nested(i, data, len)
            }
            Kind::Array { .. } => self.fail(pos, InvalidKind::BadVtable("array field in a table")),
            Kind::Unsupported(what) => self.fail(pos, InvalidKind::BadVtable(what)),
        }
    }

    /// The union member of type byte `ty` (`None` for NONE and unknown).
    fn member(&self, union: u32, ty: u8) -> Member {
        if ty == 0 {
            return Member::None;
        }
        self.plan.enums[union as usize]
            .lookup(i64::from(ty))
            .map_or(Member::None, |v| v.member)
    }

    fn member_at(&mut self, member: Member, pos: usize) -> Result<'p, ()> {
        match member {
            Member::None => Ok(()),
            Member::Table(i) => self.table(i, pos),
            Member::Struct(i) => self.inline_struct(i, pos),
            Member::String => self.string(pos),
        }
    }

    fn inline_struct(&mut self, i: u32, pos: usize) -> Result<'p, ()> {
        let object = &self.plan.objects[i as usize];
        self.align(pos, object.minalign, "struct")?;
        self.range(pos, object.bytesize, "struct")
    }

    /// Checks a vector's length and element range; returns (length, start).
    fn vector_header(
        &mut self,
        pos: usize,
        elem_size: usize,
        elem_align: usize,
    ) -> Result<'p, (usize, usize)> {
        self.align(pos, 4, "vector")?;
        let len = self.u32_at(pos, "vector length")? as usize;
        let data = pos + 4;
        if len > 0 {
            // flatc leaves empty vectors of 8-byte scalars unaligned; the
            // C++ verifier checks only the length's alignment.
            self.align(data, elem_align.max(1), "vector elements")?;
        }
        let size = len.saturating_mul(elem_size);
        self.range(data, size, "vector")?;
        Ok((len, data))
    }

    fn vector(&mut self, elem: Elem, pos: usize, types: Option<usize>) -> Result<'p, ()> {
        match elem {
            Elem::Scalar { scalar, .. } => {
                self.vector_header(pos, scalar.size(), scalar.size())?;
            }
            Elem::Struct(i) => {
                let object = &self.plan.objects[i as usize];
                self.vector_header(pos, object.bytesize, object.minalign)?;
            }
            Elem::String => {
                let (len, data) = self.vector_header(pos, 4, 4)?;
                for k in 0..len {
                    let target = self.deref(data + 4 * k, "string").at(Seg::Index(k))?;
                    self.string(target).at(Seg::Index(k))?;
                }
            }
            Elem::Table(i) => {
                let (len, data) = self.vector_header(pos, 4, 4)?;
                for k in 0..len {
                    let target = self.deref(data + 4 * k, "table").at(Seg::Index(k))?;
                    self.table(i, target).at(Seg::Index(k))?;
                }
            }
            Elem::Union(e) => {
                let (len, data) = self.vector_header(pos, 4, 4)?;
                let Some(types) = types else {
                    return self.fail(pos, InvalidKind::UnionTypesMissing);
                };
                let types = self.deref(types, "union type vector")?;
                let (types_len, types_data) = self.vector_header(types, 1, 1)?;
                if types_len != len {
                    return self.fail(
                        pos,
                        InvalidKind::UnionLengthMismatch {
                            values: len,
                            types: types_len,
                        },
                    );
                }
                for k in 0..len {
                    let member = self.member(e, self.buf[types_data + k]);
                    if member == Member::None {
                        continue;
                    }
                    let target = self.deref(data + 4 * k, "union value").at(Seg::Index(k))?;
                    self.member_at(member, target).at(Seg::Index(k))?;
                }
            }
        }
        Ok(())
    }

    fn string(&mut self, pos: usize) -> Result<'p, ()> {
        self.align(pos, 4, "string")?;
        let len = self.u32_at(pos, "string length")? as usize;
        let data = pos + 4;
        self.range(data, len.saturating_add(1), "string")?;
        if self.buf[data + len] != 0 {
            return self.fail(data + len, InvalidKind::MissingTerminator);
        }
        if let Err(err) = core::str::from_utf8(&self.buf[data..data + len]) {
            return self.fail(
                data + err.valid_up_to(),
                InvalidKind::InvalidUtf8 {
                    valid_up_to: err.valid_up_to(),
                },
            );
        }
        Ok(())
    }

    /// Verifies the `len` bytes at `data` as a FlatBuffer of their own.
    fn nested(&mut self, table: u32, data: usize, len: usize) -> Result<'p, ()> {
        let outer = self.buf;
        let base = self.base;
        self.buf = &outer[data..data + len];
        self.base = base + data;
        let result = self.root(table);
        self.buf = outer;
        self.base = base;
        result
    }
}
