//! The JSON writer: prints a verified buffer as `flatc --json --strict-json`
//! does, streaming into an `io::Write` through serde_json's `Formatter`.
//!
//! flatc's rules (`src/idl_gen_text.cpp`, 25.12.19), followed here:
//! - A table prints the fields present in its vtable, whatever their value
//!   (flatc's builder leaves fields at their default out, so they do not
//!   show), plus scalar `key` fields, which print their default when
//!   absent. Fields print in vtable order (their `id` order).
//! - Structs print every field; fixed arrays print all their elements.
//! - Enums print the name of the first value equal to the number, else the
//!   number. A `bit_flags` enum (when the schema keeps the attribute, see
//!   [`Schema::from_fbs`](crate::Schema::from_fbs)) prints a non-zero value
//!   whose bits are all named as one string of space-separated names.
//! - A union prints its `_type` field (an enum) and the member value; a
//!   union vector its `_type` vector and its values. A union whose type is
//!   NONE or unknown prints no value (flatc fails there), and such an
//!   element of a union vector prints `null`.
//! - `nested_flatbuffer` fields (when the schema keeps the attribute) print
//!   the nested root table; an empty one prints `[]` (flatc crashes there).
//! - Floats print the shortest representation that reads back exactly
//!   (flatc prints 6 or 12 decimals); NaN and infinities print as flatc's
//!   bare `nan`, `-nan`, `inf` and `-inf` tokens, which are not JSON.
//! - Strings are escaped as JSON requires (flatc also escapes non-ASCII as
//!   `\u` sequences; the parsed value is the same).

use std::io;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter as _};

use crate::plan::{DefaultValue, Elem, Field, Kind, Member, Plan, Scalar};
use crate::read;

/// A failure while printing: the output failed, or the buffer is not what
/// the verifier saw (which cannot happen for a verified buffer), at an offset.
#[derive(Debug)]
pub(crate) enum PrintError {
    Io(io::Error),
    Inconsistent(usize),
}

impl From<io::Error> for PrintError {
    fn from(err: io::Error) -> Self {
        PrintError::Io(err)
    }
}

type Result<T = ()> = core::result::Result<T, PrintError>;

/// Writes `text` as a JSON string, quotes included.
pub(crate) fn write_str<W: ?Sized + io::Write>(out: &mut W, text: &str) -> io::Result<()> {
    let mut f = CompactFormatter;
    f.begin_string(out)?;
    write_str_contents(out, text)?;
    f.end_string(out)
}

/// Writes the escaped contents of a JSON string, without quotes.
fn write_str_contents<W: ?Sized + io::Write>(out: &mut W, text: &str) -> io::Result<()> {
    let mut f = CompactFormatter;
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = match byte {
            b'"' => CharEscape::Quote,
            b'\\' => CharEscape::ReverseSolidus,
            b'\n' => CharEscape::LineFeed,
            b'\r' => CharEscape::CarriageReturn,
            b'\t' => CharEscape::Tab,
            0x08 => CharEscape::Backspace,
            0x0C => CharEscape::FormFeed,
            0x00..=0x1F => CharEscape::AsciiControl(byte),
            _ => continue,
        };
        if start < i {
            out.write_all(&bytes[start..i])?;
        }
        f.write_char_escape(out, escape)?;
        start = i + 1;
    }
    if start < bytes.len() {
        out.write_all(&bytes[start..])?;
    }
    Ok(())
}

/// Prints the verified buffer `buf` whose root is `plan.objects[root]`.
pub(crate) fn write<W: io::Write>(plan: &Plan, root: u32, buf: &[u8], out: &mut W) -> Result {
    let mut printer = Printer {
        plan,
        buf,
        base: 0,
        out,
        f: CompactFormatter,
    };
    printer.root(root)
}

struct Printer<'p, 'b, 'w, W> {
    plan: &'p Plan,
    /// The buffer being printed: the whole one, or a nested FlatBuffer.
    buf: &'b [u8],
    /// Where `buf` starts in the outer buffer, for error offsets.
    base: usize,
    out: &'w mut W,
    f: CompactFormatter,
}

/// Where the table being printed is, for union types.
#[derive(Clone, Copy)]
struct TableAt {
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'b, W: io::Write> Printer<'_, 'b, '_, W> {
    #[cold]
    fn inconsistent(&self, pos: usize) -> PrintError {
        PrintError::Inconsistent(self.base.saturating_add(pos))
    }

    #[inline]
    fn u16_at(&self, pos: usize) -> Result<u16> {
        read::u16_at(self.buf, pos).ok_or_else(|| self.inconsistent(pos))
    }

    #[inline]
    fn u32_at(&self, pos: usize) -> Result<u32> {
        read::u32_at(self.buf, pos).ok_or_else(|| self.inconsistent(pos))
    }

    #[inline]
    fn deref(&self, pos: usize) -> Result<usize> {
        Ok(pos.saturating_add(self.u32_at(pos)? as usize))
    }

    #[inline]
    fn bytes(&self, pos: usize, len: usize) -> Result<&'b [u8]> {
        let buf: &'b [u8] = self.buf;
        pos.checked_add(len)
            .and_then(|end| buf.get(pos..end))
            .ok_or_else(|| self.inconsistent(pos))
    }

    fn root(&mut self, table: u32) -> Result {
        let pos = self.deref(0)?;
        self.table(table, pos)
    }

    fn table(&mut self, table: u32, pos: usize) -> Result {
        let plan = self.plan;
        let object = &plan.objects[table as usize];
        let soffset = read::i32_at(self.buf, pos).ok_or_else(|| self.inconsistent(pos))?;
        let vtable = i64::try_from(pos)
            .ok()
            .map(|p| p - i64::from(soffset))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.inconsistent(pos))?;
        let vtable_len = usize::from(self.u16_at(vtable)?);
        let at = TableAt {
            pos,
            vtable,
            vtable_len,
        };
        self.out.write_all(b"{")?;
        let mut first = true;
        for field in &object.fields {
            let slot = usize::from(field.offset);
            if slot + 2 > vtable_len {
                break; // sorted by slot: the rest are absent
            }
            let field_offset = self.u16_at(vtable + slot)?;
            if field_offset == 0 {
                if field.print_always {
                    self.key(&mut first, field)?;
                    self.default(field)?;
                }
                continue;
            }
            self.field(field, pos + usize::from(field_offset), at, &mut first)?;
        }
        for &i in &object.always {
            let field = &object.fields[i];
            if usize::from(field.offset) + 2 > vtable_len {
                self.key(&mut first, field)?;
                self.default(field)?;
            }
        }
        self.out.write_all(b"}")?;
        Ok(())
    }

    #[inline]
    fn key(&mut self, first: &mut bool, field: &Field) -> Result {
        if !*first {
            self.out.write_all(b",")?;
        }
        *first = false;
        self.out.write_all(&field.json_key)?;
        Ok(())
    }

    /// The type byte of a union, or the position of a union vector's types:
    /// the field in the previous vtable slot, if present.
    fn types(&self, field: &Field, at: TableAt) -> Result<Option<usize>> {
        let slot = usize::from(field.offset) - 2;
        if slot < 4 || slot + 2 > at.vtable_len {
            return Ok(None);
        }
        Ok(match self.u16_at(at.vtable + slot)? {
            0 => None,
            offset => Some(at.pos + usize::from(offset)),
        })
    }

    fn member(&self, union: u32, ty: u8) -> Member {
        if ty == 0 {
            return Member::None;
        }
        self.plan.enums[union as usize]
            .lookup(i64::from(ty))
            .map_or(Member::None, |v| v.member)
    }

    fn field(&mut self, field: &Field, pos: usize, at: TableAt, first: &mut bool) -> Result {
        match field.kind {
            Kind::Scalar {
                scalar,
                enumeration,
            } => {
                self.key(first, field)?;
                self.scalar(scalar, enumeration, pos)
            }
            Kind::String => {
                self.key(first, field)?;
                let target = self.deref(pos)?;
                self.string(target)
            }
            Kind::Struct(i) => {
                self.key(first, field)?;
                self.inline_struct(i, pos)
            }
            Kind::Table(i) => {
                self.key(first, field)?;
                let target = self.deref(pos)?;
                self.table(i, target)
            }
            Kind::Union(e) => {
                let member = match self.types(field, at)? {
                    Some(type_pos) => {
                        let ty = read::u8_at(self.buf, type_pos)
                            .ok_or_else(|| self.inconsistent(type_pos))?;
                        self.member(e, ty)
                    }
                    None => Member::None,
                };
                if member == Member::None {
                    return Ok(()); // NONE or unknown: no value to print
                }
                self.key(first, field)?;
                let target = self.deref(pos)?;
                self.member_at(member, target)
            }
            Kind::Vector(elem) => {
                self.key(first, field)?;
                let target = self.deref(pos)?;
                let types = match elem {
                    Elem::Union(_) => self.types(field, at)?,
                    _ => None,
                };
                self.vector(elem, target, types)
            }
            Kind::Nested(i) => {
                self.key(first, field)?;
                let target = self.deref(pos)?;
                let len = self.u32_at(target)? as usize;
                if len == 0 {
                    self.out.write_all(b"[]")?;
                    return Ok(());
                }
                let data = target + 4;
                self.bytes(data, len)?;
                let (outer, base) = (self.buf, self.base);
                self.buf = &outer[data..data + len];
                self.base = base + data;
                let result = self.root(i);
                self.buf = outer;
                self.base = base;
                result
            }
            Kind::Array { .. } | Kind::Unsupported(_) => Err(self.inconsistent(pos)),
        }
    }

    fn member_at(&mut self, member: Member, pos: usize) -> Result {
        match member {
            Member::None => {
                self.out.write_all(b"null")?;
                Ok(())
            }
            Member::Table(i) => self.table(i, pos),
            Member::Struct(i) => self.inline_struct(i, pos),
            Member::String => self.string(pos),
        }
    }

    fn string(&mut self, pos: usize) -> Result {
        let len = self.u32_at(pos)? as usize;
        let bytes = self.bytes(pos + 4, len)?;
        let text = core::str::from_utf8(bytes).map_err(|_| self.inconsistent(pos))?;
        write_str(self.out, text)?;
        Ok(())
    }

    fn inline_struct(&mut self, i: u32, pos: usize) -> Result {
        let plan = self.plan;
        let object = &plan.objects[i as usize];
        self.out.write_all(b"{")?;
        let mut first = true;
        for field in &object.fields {
            self.key(&mut first, field)?;
            let at = pos + usize::from(field.offset);
            match field.kind {
                Kind::Scalar {
                    scalar,
                    enumeration,
                } => self.scalar(scalar, enumeration, at)?,
                Kind::Struct(j) => self.inline_struct(j, at)?,
                Kind::Array { elem, len } => self.elements(elem, at, usize::from(len))?,
                _ => return Err(self.inconsistent(at)),
            }
        }
        self.out.write_all(b"}")?;
        Ok(())
    }

    fn vector(&mut self, elem: Elem, pos: usize, types: Option<usize>) -> Result {
        let len = self.u32_at(pos)? as usize;
        let data = pos + 4;
        match elem {
            Elem::Scalar { .. } | Elem::Struct(_) => self.elements(elem, data, len),
            Elem::String | Elem::Table(_) => {
                self.out.write_all(b"[")?;
                for k in 0..len {
                    if k > 0 {
                        self.out.write_all(b",")?;
                    }
                    let at = data + 4 * k;
                    let target = self.deref(at)?;
                    match elem {
                        Elem::Table(i) => self.table(i, target)?,
                        _ => self.string(target)?,
                    }
                }
                self.out.write_all(b"]")?;
                Ok(())
            }
            Elem::Union(e) => {
                let types = match types {
                    Some(at) => self.deref(at)? + 4,
                    None => return Err(self.inconsistent(pos)),
                };
                let types = self.bytes(types, len)?;
                self.out.write_all(b"[")?;
                for (k, &ty) in types.iter().enumerate() {
                    if k > 0 {
                        self.out.write_all(b",")?;
                    }
                    let member = self.member(e, ty);
                    let target = match member {
                        Member::None => 0,
                        _ => self.deref(data + 4 * k)?,
                    };
                    self.member_at(member, target)?;
                }
                self.out.write_all(b"]")?;
                Ok(())
            }
        }
    }

    /// Prints `len` inline elements (scalars or structs) starting at `pos`,
    /// as a JSON array.
    fn elements(&mut self, elem: Elem, pos: usize, len: usize) -> Result {
        self.out.write_all(b"[")?;
        match elem {
            Elem::Scalar {
                scalar: Scalar::F32,
                enumeration: None,
            } => {
                let bytes = self.bytes(pos, len.saturating_mul(4))?;
                for (k, chunk) in bytes.chunks_exact(4).enumerate() {
                    if k > 0 {
                        self.out.write_all(b",")?;
                    }
                    let mut raw = [0; 4];
                    raw.copy_from_slice(chunk);
                    self.f32(f32::from_le_bytes(raw))?;
                }
            }
            Elem::Scalar {
                scalar: Scalar::U8,
                enumeration: None,
            } => {
                let bytes = self.bytes(pos, len)?;
                for (k, &byte) in bytes.iter().enumerate() {
                    if k > 0 {
                        self.out.write_all(b",")?;
                    }
                    self.f.write_u8(self.out, byte)?;
                }
            }
            Elem::Scalar {
                scalar,
                enumeration,
            } => {
                let size = scalar.size();
                self.bytes(pos, len.saturating_mul(size))?;
                for k in 0..len {
                    if k > 0 {
                        self.out.write_all(b",")?;
                    }
                    self.scalar(scalar, enumeration, pos + k * size)?;
                }
            }
            Elem::Struct(i) => {
                let size = self.plan.objects[i as usize].bytesize;
                self.bytes(pos, len.saturating_mul(size))?;
                for k in 0..len {
                    if k > 0 {
                        self.out.write_all(b",")?;
                    }
                    self.inline_struct(i, pos + k * size)?;
                }
            }
            Elem::String | Elem::Table(_) | Elem::Union(_) => return Err(self.inconsistent(pos)),
        }
        self.out.write_all(b"]")?;
        Ok(())
    }

    #[inline]
    fn f32(&mut self, value: f32) -> Result {
        if value.is_finite() {
            self.f.write_f32(self.out, value)?;
        } else {
            self.out
                .write_all(non_finite(value.is_nan(), value.is_sign_negative()))?;
        }
        Ok(())
    }

    #[inline]
    fn f64(&mut self, value: f64) -> Result {
        if value.is_finite() {
            self.f.write_f64(self.out, value)?;
        } else {
            self.out
                .write_all(non_finite(value.is_nan(), value.is_sign_negative()))?;
        }
        Ok(())
    }

    /// Prints the scalar at `pos`.
    fn scalar(&mut self, scalar: Scalar, enumeration: Option<u32>, pos: usize) -> Result {
        let bytes = self.bytes(pos, scalar.size())?;
        let mut raw = [0_u8; 8];
        raw[..bytes.len()].copy_from_slice(bytes);
        let bits = u64::from_le_bytes(raw);
        match scalar {
            Scalar::F32 => self.f32(f32::from_bits(low_u32(bits))),
            Scalar::F64 => self.f64(f64::from_bits(bits)),
            _ => self.integer(scalar, enumeration, bits),
        }
    }

    /// Prints a field's default value (for a scalar key that is absent).
    fn default(&mut self, field: &Field) -> Result {
        let Kind::Scalar {
            scalar,
            enumeration,
        } = field.kind
        else {
            return Err(self.inconsistent(0));
        };
        match (scalar, field.default) {
            // A `float` field reads its default as a `float`, as flatc does
            // (`16777217` is `16777216`, `1e39` is `inf`).
            #[allow(
                clippy::cast_possible_truncation,
                reason = "rounded to the field's type"
            )]
            (Scalar::F32, DefaultValue::Real(v)) => self.f32(v as f32),
            (Scalar::F64, DefaultValue::Real(v)) => self.f64(v),
            (_, DefaultValue::Integer(v)) => {
                // Truncated to the field's width, as flatc reads it.
                let bits = v.cast_unsigned() & mask(scalar.size());
                self.integer(scalar, enumeration, bits)
            }
            (_, DefaultValue::Real(v)) => self.f64(v),
        }
    }

    /// Prints an integer (or bool) of type `scalar` whose little-endian bytes,
    /// zero-extended, are `bits`: by enum name when it has one.
    fn integer(&mut self, scalar: Scalar, enumeration: Option<u32>, bits: u64) -> Result {
        // flatc's `static_cast<int64_t>(value)`: sign-extended for signed types.
        let value: i64 = match scalar {
            Scalar::Bool => {
                let text: &[u8] = if bits != 0 { b"true" } else { b"false" };
                self.out.write_all(text)?;
                return Ok(());
            }
            Scalar::I8 => i64::from(low_u8(bits).cast_signed()),
            Scalar::I16 => i64::from(low_u16(bits).cast_signed()),
            Scalar::I32 => i64::from(low_u32(bits).cast_signed()),
            _ => bits.cast_signed(),
        };
        if let Some(e) = enumeration
            && self.enum_name(e, value)?
        {
            return Ok(());
        }
        match scalar {
            Scalar::I8 | Scalar::I16 | Scalar::I32 | Scalar::I64 => {
                self.f.write_i64(self.out, value)?;
            }
            _ => self.f.write_u64(self.out, bits)?,
        }
        Ok(())
    }

    /// Prints `value` by name, as flatc's `PrintScalar`; false when it has none.
    fn enum_name(&mut self, e: u32, value: i64) -> Result<bool> {
        let plan = self.plan;
        let enumeration = &plan.enums[e as usize];
        if let Some(v) = enumeration.lookup(value) {
            self.out.write_all(&v.json)?;
            return Ok(true);
        }
        if value == 0 || !enumeration.bit_flags {
            return Ok(false);
        }
        let bits = value.cast_unsigned();
        let mut covered = 0_u64;
        for v in &enumeration.values {
            let flag = v.value.cast_unsigned();
            if flag & bits != 0 {
                covered |= flag;
            }
        }
        if covered == 0 || covered != bits {
            return Ok(false);
        }
        self.out.write_all(b"\"")?;
        let mut first = true;
        for v in &enumeration.values {
            if v.value.cast_unsigned() & bits != 0 {
                if !first {
                    self.out.write_all(b" ")?;
                }
                first = false;
                write_str_contents(self.out, &v.name)?;
            }
        }
        self.out.write_all(b"\"")?;
        Ok(true)
    }
}

/// flatc's spelling of a non-finite float (C++ iostreams).
fn non_finite(nan: bool, negative: bool) -> &'static [u8] {
    match (nan, negative) {
        (true, false) => b"nan",
        (true, true) => b"-nan",
        (false, false) => b"inf",
        (false, true) => b"-inf",
    }
}

/// All ones in the low `size` bytes.
fn mask(size: usize) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1_u64 << (8 * size)) - 1
    }
}

fn low_u8(bits: u64) -> u8 {
    bits.to_le_bytes()[0]
}

fn low_u16(bits: u64) -> u16 {
    let [a, b, ..] = bits.to_le_bytes();
    u16::from_le_bytes([a, b])
}

fn low_u32(bits: u64) -> u32 {
    let [a, b, c, d, ..] = bits.to_le_bytes();
    u32::from_le_bytes([a, b, c, d])
}
