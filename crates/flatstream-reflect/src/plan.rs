//! The compiled schema: a `.bfbs` read once through the generated reflection
//! types, checked, and turned into plain Rust data that the verifier and the
//! JSON writer walk without touching the reflection buffer again.
//!
//! Everything a hostile `.bfbs` could use to make the walk panic, loop or
//! blow up is refused here: indices out of range, struct cycles or deep
//! struct nesting, overlapping struct fields, zero-sized structs, table fields
//! sharing a vtable slot, oversized bit-flag enums.

use alloc::borrow::ToOwned as _;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::ReflectError;
use crate::reflection_generated::reflection as r;

/// The deepest struct nesting accepted (a struct in a struct counts one).
const MAX_STRUCT_DEPTH: usize = 64;
/// The most values a `bit_flags` enum may have: one per bit of a `ulong`.
const MAX_BIT_FLAGS: usize = 64;
/// The largest struct alignment accepted (flatc's `force_align` limit).
const MAX_ALIGN: usize = 256;

/// A scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Scalar {
    /// Its size in bytes, which is also its alignment.
    pub(crate) const fn size(self) -> usize {
        match self {
            Scalar::Bool | Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }

    pub(crate) fn is_integer(self) -> bool {
        !matches!(self, Scalar::Bool | Scalar::F32 | Scalar::F64)
    }

    /// Whether it is a signed integer.
    pub(crate) fn is_signed(self) -> bool {
        matches!(self, Scalar::I8 | Scalar::I16 | Scalar::I32 | Scalar::I64)
    }

    fn from_base(base: r::BaseType) -> Option<Self> {
        Some(match base {
            r::BaseType::Bool => Scalar::Bool,
            r::BaseType::Byte => Scalar::I8,
            r::BaseType::UByte | r::BaseType::UType => Scalar::U8,
            r::BaseType::Short => Scalar::I16,
            r::BaseType::UShort => Scalar::U16,
            r::BaseType::Int => Scalar::I32,
            r::BaseType::UInt => Scalar::U32,
            r::BaseType::Long => Scalar::I64,
            r::BaseType::ULong => Scalar::U64,
            r::BaseType::Float => Scalar::F32,
            r::BaseType::Double => Scalar::F64,
            _ => return None,
        })
    }
}

/// What a vector or an array holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    /// A scalar, printed by name when `enumeration` is set.
    Scalar {
        scalar: Scalar,
        enumeration: Option<u32>,
    },
    String,
    Struct(u32),
    Table(u32),
    /// Union values; the types are the vector in the previous vtable slot.
    Union(u32),
}

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A scalar (union type fields are `U8` with their union enum).
    Scalar {
        scalar: Scalar,
        enumeration: Option<u32>,
    },
    String,
    Struct(u32),
    Table(u32),
    /// A union value; its type is the field in the previous vtable slot.
    Union(u32),
    Vector(Elem),
    /// A fixed-length array, in structs only.
    Array {
        elem: Elem,
        len: u16,
    },
    /// A `[ubyte]` holding a FlatBuffer whose root is this table.
    Nested(u32),
    /// Something this crate (and flatc's JSON printer) cannot read.
    Unsupported(&'static str),
}

impl Kind {
    /// Whether the field in the previous vtable slot belongs to this one: a
    /// union's type, or a union vector's types.
    pub(crate) fn has_types(self) -> bool {
        matches!(self, Kind::Union(_) | Kind::Vector(Elem::Union(_)))
    }
}

/// A field's default value, as the schema stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DefaultValue {
    Integer(i64),
    Real(f64),
}

/// One field of a table or struct.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: Box<str>,
    /// `"name":`, escaped once.
    pub(crate) json_key: Box<[u8]>,
    /// The vtable offset (tables) or the byte offset (structs).
    pub(crate) offset: u16,
    pub(crate) kind: Kind,
    pub(crate) default: DefaultValue,
    pub(crate) required: bool,
    /// An optional scalar (`= null`): absent means no value, not its
    /// default.
    pub(crate) optional: bool,
    /// A scalar key: flatc prints it even when absent.
    pub(crate) print_always: bool,
}

/// A table or a struct.
#[derive(Debug)]
pub(crate) struct Object {
    /// Fully qualified, e.g. `telemetry.Event`.
    pub(crate) name: Box<str>,
    pub(crate) is_struct: bool,
    pub(crate) bytesize: usize,
    pub(crate) minalign: usize,
    /// Tables: by vtable offset (distinct); structs: by byte offset.
    pub(crate) fields: Box<[Field]>,
    /// Indices into `fields` of the fields printed even when absent.
    pub(crate) always: Box<[usize]>,
    /// Indices into `fields` of the required fields.
    pub(crate) required: Box<[usize]>,
}

impl Object {
    /// The name without its namespace.
    pub(crate) fn short_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }
}

/// What a union member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    /// `NONE`, or a value of a plain enum.
    None,
    Table(u32),
    Struct(u32),
    String,
}

/// One named value of an enum.
#[derive(Debug)]
pub(crate) struct EnumValue {
    pub(crate) value: i64,
    /// `"Name"`, escaped once.
    pub(crate) json: Box<[u8]>,
    pub(crate) name: Box<str>,
    pub(crate) member: Member,
}

/// An enum or a union.
#[derive(Debug)]
pub(crate) struct Enum {
    pub(crate) name: Box<str>,
    pub(crate) is_union: bool,
    pub(crate) bit_flags: bool,
    /// Stably sorted by value: the first of equal values wins, as in flatc.
    pub(crate) values: Box<[EnumValue]>,
    /// The underlying type is `ulong`: values order as unsigned.
    pub(crate) unsigned_64: bool,
}

impl Enum {
    /// The first value equal to `value`, as flatc's `ReverseLookup`.
    pub(crate) fn lookup(&self, value: i64) -> Option<&EnumValue> {
        let key = self.order(value);
        let at = self.values.partition_point(|v| self.order(v.value) < key);
        self.values.get(at).filter(|v| v.value == value)
    }

    /// Where `value` sorts: as the enum's underlying type orders it (a
    /// `ulong` value with the top bit set is large, not negative), as
    /// flatc sorts enum values.
    pub(crate) fn order(&self, value: i64) -> i128 {
        if self.unsigned_64 {
            i128::from(value.cast_unsigned())
        } else {
            i128::from(value)
        }
    }
}

/// The whole compiled schema.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) objects: Box<[Object]>,
    pub(crate) enums: Box<[Enum]>,
    pub(crate) root: Option<u32>,
    pub(crate) file_ident: Option<Box<str>>,
}

/// Escapes `text` as a JSON string, quotes included.
fn json_string(text: &str) -> Box<[u8]> {
    let mut out = Vec::with_capacity(text.len() + 2);
    // Writing to a Vec cannot fail.
    let _ = crate::json::write_str(&mut out, text);
    out.into_boxed_slice()
}

fn invalid(reason: String) -> ReflectError {
    ReflectError::InvalidSchema { reason }
}

/// An index from the schema, checked against the length of its table.
fn index(raw: i32, len: usize, what: &str, at: &str) -> Result<u32, ReflectError> {
    usize::try_from(raw)
        .ok()
        .filter(|&i| i < len)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| invalid(format!("{at}: {what} index {raw} out of range (0..{len})")))
}

/// Compiles a verified reflection `Schema`.
pub(crate) fn compile(schema: r::Schema<'_>) -> Result<Plan, ReflectError> {
    let objects = schema.objects();
    let enums = schema.enums();
    let n_objects = objects.len();
    let n_enums = enums.len();

    // Names: unique, so a root can be found by name; sorted with each
    // object's index, so a name is found in log time.
    let mut names: Vec<(&str, u32)> = objects
        .iter()
        .zip(0_u32..)
        .map(|(o, i)| (o.name(), i))
        .collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(format!("two objects named `{}`", w[0].0)));
    }
    let is_struct: Vec<bool> = objects.iter().map(|o| o.is_struct()).collect();

    let mut compiled_enums = Vec::with_capacity(n_enums);
    for e in enums.iter() {
        compiled_enums.push(compile_enum(e, &is_struct)?);
    }

    let mut compiled_objects = Vec::with_capacity(n_objects);
    for o in objects.iter() {
        compiled_objects.push(compile_object(o, &names, &objects, &compiled_enums)?);
    }
    check_structs(&compiled_objects)?;

    let root = match schema.root_table() {
        None => None,
        Some(root) => {
            let at = compiled_objects
                .iter()
                .position(|o| *o.name == *root.name())
                .ok_or_else(|| {
                    invalid(format!("root_table `{}` is not in objects", root.name()))
                })?;
            Some(u32::try_from(at).map_err(|_| invalid("too many objects".to_owned()))?)
        }
    };
    Ok(Plan {
        objects: compiled_objects.into_boxed_slice(),
        enums: compiled_enums.into_boxed_slice(),
        root,
        file_ident: schema
            .file_ident()
            .filter(|s| !s.is_empty())
            .map(Into::into),
    })
}

fn has_attribute(
    attributes: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<r::KeyValue<'_>>>>,
    key: &str,
) -> Option<String> {
    attributes?
        .iter()
        .find(|kv| kv.key() == key)
        .map(|kv| kv.value().unwrap_or_default().to_owned())
}

fn compile_enum(e: r::Enum<'_>, is_struct: &[bool]) -> Result<Enum, ReflectError> {
    let name = e.name();
    let underlying = e.underlying_type().base_type();
    if !Scalar::from_base(underlying).is_some_and(Scalar::is_integer) {
        return Err(invalid(format!(
            "enum `{name}`: underlying type {underlying:?} is not an integer"
        )));
    }
    let is_union = e.is_union();
    let bit_flags = has_attribute(e.attributes(), "bit_flags").is_some();
    let mut values = Vec::with_capacity(e.values().len());
    for v in e.values().iter() {
        let at = format!("enum `{name}` value `{}`", v.name());
        let member = match v.union_type() {
            Some(t) if is_union => match t.base_type() {
                r::BaseType::None => Member::None,
                r::BaseType::String => Member::String,
                r::BaseType::Obj => {
                    let i = index(t.index(), is_struct.len(), "object", &at)?;
                    if is_struct[i as usize] {
                        Member::Struct(i)
                    } else {
                        Member::Table(i)
                    }
                }
                other => return Err(invalid(format!("{at}: union member of type {other:?}"))),
            },
            _ => Member::None,
        };
        values.push(EnumValue {
            value: v.value(),
            json: json_string(v.name()),
            name: v.name().into(),
            member,
        });
    }
    if bit_flags && values.len() > MAX_BIT_FLAGS {
        return Err(invalid(format!(
            "bit_flags enum `{name}` has {} values (at most {MAX_BIT_FLAGS})",
            values.len()
        )));
    }
    let mut e = Enum {
        name: name.into(),
        is_union,
        bit_flags,
        values: Box::default(),
        unsigned_64: underlying == r::BaseType::ULong,
    };
    values.sort_by_key(|v| e.order(v.value));
    e.values = values.into_boxed_slice();
    Ok(e)
}

/// Resolves the table a `nested_flatbuffer` attribute names, as flatc looks
/// names up: in the field's namespace, then each enclosing one, then as given.
/// `names` is sorted, each with its object's index; returns that index.
fn resolve_nested(names: &[(&str, u32)], owner: &str, target: &str) -> Option<u32> {
    let find = |candidate: &str| {
        names
            .binary_search_by(|(name, _)| (*name).cmp(candidate))
            .ok()
            .map(|i| names[i].1)
    };
    let mut namespace = owner.rsplit_once('.').map(|(ns, _)| ns);
    while let Some(ns) = namespace {
        if let Some(found) = find(&format!("{ns}.{target}")) {
            return Some(found);
        }
        namespace = ns.rsplit_once('.').map(|(outer, _)| outer);
    }
    find(target)
}

fn compile_object(
    o: r::Object<'_>,
    sorted_names: &[(&str, u32)],
    objects: &flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<r::Object<'_>>>,
    enums: &[Enum],
) -> Result<Object, ReflectError> {
    let name = o.name();
    let is_struct = o.is_struct();
    let minalign = usize::try_from(o.minalign()).unwrap_or(0);
    let bytesize = usize::try_from(o.bytesize()).unwrap_or(0);
    if is_struct {
        if !minalign.is_power_of_two() || minalign > MAX_ALIGN {
            return Err(invalid(format!("struct `{name}`: alignment {minalign}")));
        }
        if bytesize == 0 {
            return Err(invalid(format!("struct `{name}` has size 0")));
        }
    }
    let object_kind = |raw: i32, at: &str| -> Result<(u32, bool), ReflectError> {
        let i = index(raw, objects.len(), "object", at)?;
        Ok((i, objects.get(i as usize).is_struct()))
    };
    let enum_of = |raw: i32, at: &str| -> Result<Option<u32>, ReflectError> {
        if raw < 0 {
            Ok(None)
        } else {
            index(raw, enums.len(), "enum", at).map(Some)
        }
    };
    let union_of = |raw: i32, at: &str| -> Result<u32, ReflectError> {
        let i = index(raw, enums.len(), "enum", at)?;
        if enums[i as usize].is_union {
            Ok(i)
        } else {
            Err(invalid(format!(
                "{at}: enum `{}` is not a union",
                enums[i as usize].name
            )))
        }
    };

    let mut fields = Vec::with_capacity(o.fields().len());
    for f in o.fields().iter() {
        let at = format!("`{name}.{}`", f.name());
        let t = f.type_();
        let scalar_elem = |base: r::BaseType| -> Result<Option<Elem>, ReflectError> {
            Ok(match Scalar::from_base(base) {
                Some(scalar) => Some(Elem::Scalar {
                    scalar,
                    enumeration: if base == r::BaseType::UType {
                        Some(union_of(t.index(), &at)?)
                    } else {
                        enum_of(t.index(), &at)?
                    },
                }),
                None => None,
            })
        };
        let elem_of = |base: r::BaseType| -> Result<Elem, ReflectError> {
            if let Some(elem) = scalar_elem(base)? {
                return Ok(elem);
            }
            Ok(match base {
                r::BaseType::String => Elem::String,
                r::BaseType::Obj => match object_kind(t.index(), &at)? {
                    (i, true) => Elem::Struct(i),
                    (i, false) => Elem::Table(i),
                },
                r::BaseType::Union => Elem::Union(union_of(t.index(), &at)?),
                other => return Err(invalid(format!("{at}: vector of {other:?}"))),
            })
        };
        let base = t.base_type();
        let mut kind = match base {
            r::BaseType::String => Kind::String,
            r::BaseType::Obj => match object_kind(t.index(), &at)? {
                (i, true) => Kind::Struct(i),
                (i, false) => Kind::Table(i),
            },
            r::BaseType::Union => Kind::Union(union_of(t.index(), &at)?),
            r::BaseType::Vector => Kind::Vector(elem_of(t.element())?),
            r::BaseType::Array => {
                let elem = elem_of(t.element())?;
                if !matches!(elem, Elem::Scalar { .. } | Elem::Struct(_)) {
                    return Err(invalid(format!("{at}: array of {:?}", t.element())));
                }
                if t.fixed_length() == 0 {
                    return Err(invalid(format!("{at}: array of length 0")));
                }
                Kind::Array {
                    elem,
                    len: t.fixed_length(),
                }
            }
            r::BaseType::Vector64 => Kind::Unsupported("64-bit vectors (`vector64`)"),
            other => match scalar_elem(other)? {
                Some(Elem::Scalar {
                    scalar,
                    enumeration,
                }) => Kind::Scalar {
                    scalar,
                    enumeration,
                },
                _ => return Err(invalid(format!("{at}: field of type {other:?}"))),
            },
        };
        if f.offset64() && matches!(kind, Kind::String | Kind::Vector(_)) {
            kind = Kind::Unsupported("64-bit offsets (`offset64`)");
        }
        if let Some(target) = has_attribute(f.attributes(), "nested_flatbuffer") {
            if kind
                != (Kind::Vector(Elem::Scalar {
                    scalar: Scalar::U8,
                    enumeration: None,
                }))
            {
                return Err(invalid(format!(
                    "{at}: nested_flatbuffer on a field that is not [ubyte]"
                )));
            }
            let table = resolve_nested(sorted_names, name, &target).ok_or_else(|| {
                invalid(format!(
                    "{at}: nested_flatbuffer `{target}` is not in the schema"
                ))
            })?;
            if objects.get(table as usize).is_struct() {
                return Err(invalid(format!(
                    "{at}: nested_flatbuffer `{target}` is a struct"
                )));
            }
            kind = Kind::Nested(table);
        }
        match (is_struct, kind) {
            (true, Kind::Scalar { .. } | Kind::Struct(_) | Kind::Array { .. }) => {}
            (true, _) => return Err(invalid(format!("{at}: struct field of a non-inline type"))),
            (false, Kind::Array { .. }) => {
                return Err(invalid(format!("{at}: fixed-length array in a table")));
            }
            (false, _) => {}
        }
        let default = match kind {
            Kind::Scalar {
                scalar: Scalar::F32 | Scalar::F64,
                ..
            } => DefaultValue::Real(f.default_real()),
            _ => DefaultValue::Integer(f.default_integer()),
        };
        fields.push(Field {
            name: f.name().into(),
            json_key: {
                let mut key = json_string(f.name()).into_vec();
                key.push(b':');
                key.into_boxed_slice()
            },
            offset: f.offset(),
            kind,
            default,
            required: f.required(),
            optional: f.optional(),
            print_always: f.key() && !is_struct && matches!(kind, Kind::Scalar { .. }),
        });
    }
    fields.sort_by_key(|f| f.offset);
    if !is_struct {
        for f in &fields {
            if f.offset < 4 || !f.offset.is_multiple_of(2) {
                return Err(invalid(format!(
                    "`{name}.{}`: vtable offset {} (must be even, at least 4)",
                    f.name, f.offset
                )));
            }
        }
        if let Some(w) = fields.windows(2).find(|w| w[0].offset == w[1].offset) {
            return Err(invalid(format!(
                "`{name}`: fields `{}` and `{}` share vtable offset {}",
                w[0].name, w[1].name, w[0].offset
            )));
        }
    }
    let always = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.print_always)
        .map(|(i, _)| i)
        .collect();
    let required = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.required && !is_struct)
        .map(|(i, _)| i)
        .collect();
    Ok(Object {
        name: name.into(),
        is_struct,
        bytesize,
        minalign: minalign.max(1),
        fields: fields.into_boxed_slice(),
        always,
        required,
    })
}

/// The size and alignment a struct field takes inline.
fn inline_layout(objects: &[Object], kind: Kind) -> (usize, usize) {
    let elem_layout = |elem: Elem| match elem {
        Elem::Scalar { scalar, .. } => (scalar.size(), scalar.size()),
        Elem::Struct(i) => (objects[i as usize].bytesize, objects[i as usize].minalign),
        _ => (0, 1),
    };
    match kind {
        Kind::Scalar { scalar, .. } => (scalar.size(), scalar.size()),
        Kind::Struct(i) => elem_layout(Elem::Struct(i)),
        Kind::Array { elem, len } => {
            let (size, align) = elem_layout(elem);
            (size.saturating_mul(usize::from(len)), align)
        }
        _ => (0, 1),
    }
}

/// Checks every struct: fields inside it, aligned, not overlapping, and
/// nesting acyclic and at most [`MAX_STRUCT_DEPTH`] deep.
fn check_structs(objects: &[Object]) -> Result<(), ReflectError> {
    for o in objects.iter().filter(|o| o.is_struct) {
        let mut end = 0;
        for f in &o.fields {
            let (size, align) = inline_layout(objects, f.kind);
            let start = usize::from(f.offset);
            if start < end
                || !start.is_multiple_of(align)
                || start.saturating_add(size) > o.bytesize
            {
                return Err(invalid(format!(
                    "struct `{}`: field `{}` at {start} ({size} bytes, alignment {align}) \
                     overlaps, is misaligned or runs past the struct's {} bytes",
                    o.name, f.name, o.bytesize
                )));
            }
            end = start + size;
        }
    }
    // Depth of each struct: 0 unknown, else depth + 1; cycles show as depth.
    let mut depth = alloc::vec![0_usize; objects.len()];
    for i in 0..objects.len() {
        if objects[i].is_struct {
            struct_depth(objects, i, &mut depth, 0)?;
        }
    }
    Ok(())
}

fn struct_depth(
    objects: &[Object],
    i: usize,
    memo: &mut [usize],
    level: usize,
) -> Result<usize, ReflectError> {
    if memo[i] != 0 {
        return Ok(memo[i]);
    }
    if level > MAX_STRUCT_DEPTH {
        return Err(invalid(format!(
            "struct `{}` is nested more than {MAX_STRUCT_DEPTH} deep, or contains itself",
            objects[i].name
        )));
    }
    let mut deepest = 0;
    for f in &objects[i].fields {
        let inner = match f.kind {
            Kind::Struct(j)
            | Kind::Array {
                elem: Elem::Struct(j),
                ..
            } => j as usize,
            _ => continue,
        };
        deepest = deepest.max(struct_depth(objects, inner, memo, level + 1)?);
    }
    memo[i] = deepest + 1;
    Ok(memo[i])
}

/// Checks that the tables reachable from `root` use nothing unsupported.
pub(crate) fn check_reachable(plan: &Plan, root: u32) -> Result<(), ReflectError> {
    let mut seen = alloc::vec![false; plan.objects.len()];
    let mut stack = alloc::vec![root];
    let mut visit = |i: u32, stack: &mut Vec<u32>| {
        if !core::mem::replace(&mut seen[i as usize], true) {
            stack.push(i);
        }
    };
    while let Some(i) = stack.pop() {
        let object = &plan.objects[i as usize];
        for f in &object.fields {
            let elem = match f.kind {
                Kind::Unsupported(what) => {
                    return Err(ReflectError::Unsupported {
                        what,
                        field: format!("{}.{}", object.name, f.name),
                    });
                }
                Kind::Scalar { .. } | Kind::String => continue,
                Kind::Struct(j) | Kind::Table(j) | Kind::Nested(j) => {
                    visit(j, &mut stack);
                    continue;
                }
                Kind::Union(e) => Elem::Union(e),
                Kind::Vector(elem) | Kind::Array { elem, .. } => elem,
            };
            match elem {
                Elem::Struct(j) | Elem::Table(j) => visit(j, &mut stack),
                Elem::Union(e) => {
                    for v in &plan.enums[e as usize].values {
                        if let Member::Table(j) | Member::Struct(j) = v.member {
                            visit(j, &mut stack);
                        }
                    }
                }
                Elem::Scalar { .. } | Elem::String => {}
            }
        }
    }
    Ok(())
}
