//! Hand-made binary schemas (including nonsensical ones), built with the
//! crate's generated reflection code. Shared through
//! `#[path = "support/reflection.rs"] mod reflection;`.

#![allow(dead_code, reason = "each test file uses a subset")]

// flatc's output for reflection.fbs, as the crate compiles it.
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::cast_lossless,
    clippy::cast_possible_truncation,
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
#[path = "../../src/reflection_generated.rs"]
mod reflection_generated;

use reflection_generated::reflection as r;
pub(crate) use reflection_generated::reflection::BaseType;

/// A field: name, type, vtable or struct offset.
#[derive(Debug, Clone)]
pub(crate) struct F {
    pub(crate) name: &'static str,
    pub(crate) base: BaseType,
    pub(crate) element: BaseType,
    pub(crate) index: i32,
    pub(crate) fixed_length: u16,
    pub(crate) offset: u16,
}

impl F {
    /// A field of type `base` at `offset`.
    pub(crate) fn new(name: &'static str, base: BaseType, offset: u16) -> Self {
        F {
            name,
            base,
            element: BaseType::None,
            index: -1,
            fixed_length: 0,
            offset,
        }
    }

    /// The same, referring to object or enum `index`.
    pub(crate) fn index(mut self, index: i32) -> Self {
        self.index = index;
        self
    }

    /// The same, with `element` for vectors and arrays.
    pub(crate) fn element(mut self, element: BaseType, fixed_length: u16) -> Self {
        self.element = element;
        self.fixed_length = fixed_length;
        self
    }
}

/// A table or struct.
#[derive(Debug, Clone)]
pub(crate) struct O {
    pub(crate) name: &'static str,
    pub(crate) is_struct: bool,
    pub(crate) bytesize: i32,
    pub(crate) minalign: i32,
    pub(crate) fields: Vec<F>,
}

impl O {
    pub(crate) fn table(name: &'static str, fields: Vec<F>) -> Self {
        O {
            name,
            is_struct: false,
            bytesize: 0,
            minalign: 1,
            fields,
        }
    }

    pub(crate) fn structure(
        name: &'static str,
        bytesize: i32,
        minalign: i32,
        fields: Vec<F>,
    ) -> Self {
        O {
            name,
            is_struct: true,
            bytesize,
            minalign,
            fields,
        }
    }
}

/// A `.bfbs` with these objects (in this order), no enums, and
/// `objects[root]` as the root table.
pub(crate) fn bfbs(objects: &[O], root: Option<usize>) -> Vec<u8> {
    let mut b = flatbuffers::FlatBufferBuilder::new();
    let mut offsets = Vec::new();
    for o in objects {
        let mut fields = Vec::new();
        for (id, f) in o.fields.iter().enumerate() {
            let name = b.create_string(f.name);
            let type_ = r::Type::create(
                &mut b,
                &r::TypeArgs {
                    base_type: f.base,
                    element: f.element,
                    index: f.index,
                    fixed_length: f.fixed_length,
                    ..Default::default()
                },
            );
            fields.push(r::Field::create(
                &mut b,
                &r::FieldArgs {
                    name: Some(name),
                    type_: Some(type_),
                    id: u16::try_from(id).expect("few fields"),
                    offset: f.offset,
                    ..Default::default()
                },
            ));
        }
        let fields = b.create_vector(&fields);
        let name = b.create_string(o.name);
        offsets.push(r::Object::create(
            &mut b,
            &r::ObjectArgs {
                name: Some(name),
                fields: Some(fields),
                is_struct: o.is_struct,
                minalign: o.minalign,
                bytesize: o.bytesize,
                ..Default::default()
            },
        ));
    }
    let objects = b.create_vector(&offsets);
    let enums = b.create_vector::<flatbuffers::WIPOffset<r::Enum>>(&[]);
    let schema = r::Schema::create(
        &mut b,
        &r::SchemaArgs {
            objects: Some(objects),
            enums: Some(enums),
            root_table: root.map(|i| offsets[i]),
            ..Default::default()
        },
    );
    r::finish_schema_buffer(&mut b, schema);
    b.finished_data().to_vec()
}
