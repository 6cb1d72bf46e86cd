//! The `FileTransfer` schema (`file_transfer.fbs`, root table `FileChunk`,
//! file identifier `FXF1`) for examples and tests: files sent in large, rare
//! chunks over the same stream as telemetry and control messages.
//!
//! The generated code lives, untouched, in `file_transfer_generated.rs`; this
//! file wraps it as `telemetry.rs` wraps its own, and adds [`Chunk`], an owned
//! chunk that builds itself into a finished `FileChunk` FlatBuffer, with a
//! deterministic generator ([`Chunk::sample`]) and a comparison ([`check`]).
//!
//! Include it from an example or a test with
//! `#[path = "../schema/file_transfer.rs"] mod file_transfer;`, and regenerate
//! `file_transfer_generated.rs` after editing the schema with
//! `cargo xtask codegen`.

#![allow(
    dead_code,
    reason = "each example or test uses a subset of these helpers"
)]

// flatc's output is not ours to lint; see `telemetry.rs`.
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
#[path = "file_transfer_generated.rs"]
mod file_transfer_generated;

pub(crate) use file_transfer_generated::flatstream::file_transfer::*;

use flatbuffers::{Allocator, FlatBufferBuilder, WIPOffset};

/// One chunk of one file, owned: the Rust side of a `FileChunk` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunk {
    pub(crate) transfer_id: u64,
    pub(crate) name: String,
    pub(crate) offset: u64,
    pub(crate) total_len: u64,
    pub(crate) data: Vec<u8>,
}

impl Chunk {
    /// Chunk `index` of transfer `transfer_id`: a file of `chunks` chunks of
    /// `chunk_len` bytes each, whose bytes are a function of their position.
    pub(crate) fn sample(transfer_id: u64, index: u64, chunks: u64, chunk_len: usize) -> Self {
        let len = chunk_len as u64;
        let offset = index * len;
        let data = (0..len)
            .map(|k| {
                let [byte, ..] = (offset + k)
                    .wrapping_mul(31)
                    .wrapping_add(transfer_id)
                    .to_le_bytes();
                byte
            })
            .collect();
        Chunk {
            transfer_id,
            name: format!("firmware-{transfer_id}.bin"),
            offset,
            total_len: chunks * len,
            data,
        }
    }

    /// Builds this chunk as a `FileChunk` table in `builder` and finishes the
    /// buffer with the `FXF1` file identifier.
    pub(crate) fn build_finished<'a, A: Allocator + 'a>(
        &self,
        builder: &mut FlatBufferBuilder<'a, A>,
    ) {
        let root = self.build(builder);
        finish_file_chunk_buffer(builder, root);
    }

    /// Builds this chunk as a `FileChunk` table in `builder`, without
    /// finishing the buffer.
    pub(crate) fn build<'a, A: Allocator + 'a>(
        &self,
        builder: &mut FlatBufferBuilder<'a, A>,
    ) -> WIPOffset<FileChunk<'a>> {
        let name = builder.create_string(&self.name);
        let data = builder.create_vector(&self.data);
        FileChunk::create(
            builder,
            &FileChunkArgs {
                transfer_id: self.transfer_id,
                name: Some(name),
                offset: self.offset,
                total_len: self.total_len,
                data: Some(data),
            },
        )
    }
}

/// Compares every field of `table` with `expected`.
///
/// Returns a description of the first difference.
pub(crate) fn check(expected: &Chunk, table: FileChunk<'_>) -> Result<(), String> {
    let same = table.transfer_id() == expected.transfer_id
        && table.name() == Some(expected.name.as_str())
        && table.offset() == expected.offset
        && table.total_len() == expected.total_len
        && table.data().map(|d| d.bytes()) == Some(expected.data.as_slice());
    if same {
        Ok(())
    } else {
        Err(format!(
            "chunk of transfer {} at offset {}: expected {} bytes of {:?}, found a different chunk",
            expected.transfer_id,
            expected.offset,
            expected.data.len(),
            expected.name
        ))
    }
}
