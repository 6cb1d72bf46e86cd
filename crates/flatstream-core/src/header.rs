//! The self-describing header: an optional first frame that carries what a
//! reader needs to understand the stream (the payloads' binary schema, root
//! type and file identifier, and free metadata).
//!
//! It is itself a FlatBuffer with the file identifier `"FSHD"`, defined in
//! `schema/stream_header.fbs`, so a reader that does not know it sees one
//! more frame and nothing breaks. Writers add it on request
//! ([`StreamWriter::write_header`](crate::StreamWriter::write_header));
//! every reader takes it out of the payloads (the [`FrameCursor`] reports it
//! as [`Step::Header`]) and exposes it.
//!
//! [`FrameCursor`]: crate::FrameCursor
//! [`Step::Header`]: crate::Step::Header

use alloc::string::String;
use alloc::vec::Vec;

use flatbuffers::FlatBufferBuilder;

use crate::typed::verifier_options_for;

// flatc's output is not ours to lint (and not ours to format); its accessors
// are sound once the verifier has accepted the buffer, which is the only way
// this module reaches them.
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
#[path = "../schema/stream_header_generated.rs"]
mod generated;

use generated::flatstream::header as fb;

/// The file identifier of a header frame's payload (bytes 4..8).
pub const HEADER_FILE_IDENTIFIER: &str = "FSHD";

/// The self-describing header of a stream: its optional first frame.
///
/// Every field may be empty. Build one with the `with_` methods, write it
/// with [`StreamWriter::write_header`](crate::StreamWriter::write_header)
/// before the first frame, and read it back from any reader's `header()`.
///
/// # Examples
///
/// ```
/// use flatstream_core::StreamHeader;
///
/// let header = StreamHeader::new()
///     .with_root_type("flatstream.telemetry.Telemetry")
///     .with_metadata("producer", "sensor-agent 1.4");
/// let payload = header.encode();
/// assert_eq!(&payload[4..8], b"FSHD");
/// assert_eq!(StreamHeader::decode(&payload), Some(header));
/// assert_eq!(StreamHeader::decode(b"not a header"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamHeader {
    /// The binary schema of the payloads, as `flatc --binary --schema`
    /// writes it (a `.bfbs`).
    pub schema: Vec<u8>,
    /// Fully qualified name of the payloads' root table, e.g.
    /// `"flatstream.telemetry.Telemetry"`.
    pub root_type: String,
    /// The payloads' file identifier (4 characters), if they carry one.
    pub file_identifier: String,
    /// Free metadata (producer, host, start time, ...), in the order given.
    pub metadata: Vec<(String, String)>,
}

impl StreamHeader {
    /// An empty header.
    #[must_use]
    pub fn new() -> Self {
        StreamHeader::default()
    }

    /// Sets the binary schema (`.bfbs` bytes).
    #[must_use]
    pub fn with_schema(mut self, bfbs: impl Into<Vec<u8>>) -> Self {
        self.schema = bfbs.into();
        self
    }

    /// Sets the fully qualified name of the payloads' root table.
    #[must_use]
    pub fn with_root_type(mut self, root_type: impl Into<String>) -> Self {
        self.root_type = root_type.into();
        self
    }

    /// Sets the payloads' file identifier.
    #[must_use]
    pub fn with_file_identifier(mut self, file_identifier: impl Into<String>) -> Self {
        self.file_identifier = file_identifier.into();
        self
    }

    /// Appends one key/value pair of metadata.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The value of the first metadata pair with `key`.
    #[must_use]
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The header as a frame payload: a FlatBuffer with the file identifier
    /// [`HEADER_FILE_IDENTIFIER`].
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut builder = FlatBufferBuilder::with_capacity(self.schema.len() + 256);
        let schema = (!self.schema.is_empty()).then(|| builder.create_vector(&self.schema));
        let root_type =
            (!self.root_type.is_empty()).then(|| builder.create_string(&self.root_type));
        let file_identifier = (!self.file_identifier.is_empty())
            .then(|| builder.create_string(&self.file_identifier));
        let metadata = (!self.metadata.is_empty()).then(|| {
            let pairs: Vec<_> = self
                .metadata
                .iter()
                .map(|(key, value)| {
                    let key = builder.create_string(key);
                    let value = builder.create_string(value);
                    fb::KeyValue::create(
                        &mut builder,
                        &fb::KeyValueArgs {
                            key: Some(key),
                            value: Some(value),
                        },
                    )
                })
                .collect();
            builder.create_vector(&pairs)
        });
        let header = fb::StreamHeader::create(
            &mut builder,
            &fb::StreamHeaderArgs {
                version: 1,
                schema,
                root_type,
                file_identifier,
                metadata,
            },
        );
        builder.finish(header, Some(HEADER_FILE_IDENTIFIER));
        builder.finished_data().to_vec()
    }

    /// Reads a header frame's payload; `None` if `payload` is not one (no
    /// `"FSHD"` identifier, or not a valid header table under the verifier
    /// limits scaled to its size).
    #[must_use]
    pub fn decode(payload: &[u8]) -> Option<StreamHeader> {
        let header = verified(payload)?;
        Some(StreamHeader {
            schema: header
                .schema()
                .map(|v| v.bytes().to_vec())
                .unwrap_or_default(),
            root_type: header.root_type().unwrap_or_default().into(),
            file_identifier: header.file_identifier().unwrap_or_default().into(),
            metadata: header
                .metadata()
                .map(|pairs| {
                    pairs
                        .iter()
                        .map(|pair| (pair.key().into(), pair.value().unwrap_or_default().into()))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Whether `payload` is a header frame's payload (what
    /// [`decode`](StreamHeader::decode) accepts), without copying it.
    #[must_use]
    pub fn is_header(payload: &[u8]) -> bool {
        verified(payload).is_some()
    }
}

/// The header table of `payload`, if it has the identifier and verifies.
fn verified(payload: &[u8]) -> Option<fb::StreamHeader<'_>> {
    // Not `flatbuffers::buffer_has_identifier`, which panics on short input.
    if payload.get(4..8) != Some(HEADER_FILE_IDENTIFIER.as_bytes()) {
        return None;
    }
    fb::root_as_stream_header_with_opts(&verifier_options_for(payload.len()), payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StreamHeader {
        StreamHeader::new()
            .with_schema(b"BFBS bytes".to_vec())
            .with_root_type("a.b.Root")
            .with_file_identifier("TLMY")
            .with_metadata("producer", "test")
            .with_metadata("host", "")
    }

    #[test]
    fn round_trips_full_and_empty_headers() {
        for header in [full(), StreamHeader::new()] {
            let payload = header.encode();
            assert!(StreamHeader::is_header(&payload));
            assert_eq!(StreamHeader::decode(&payload), Some(header));
        }
    }

    #[test]
    fn looks_up_metadata_by_key() {
        let header = full();
        assert_eq!(header.metadata("producer"), Some("test"));
        assert_eq!(header.metadata("host"), Some(""));
        assert_eq!(header.metadata("missing"), None);
    }

    #[test]
    fn refuses_every_truncation_and_other_identifiers() {
        let header = full();
        let payload = header.encode();
        for len in 0..payload.len() {
            // Cutting only the alignment padding at the end leaves the same
            // header; any other cut is refused.
            let decoded = StreamHeader::decode(&payload[..len]);
            assert!(
                decoded.is_none() || decoded.as_ref() == Some(&header) && len + 8 > payload.len(),
                "a header cut to {len} bytes read as {decoded:?}"
            );
        }
        assert!(!StreamHeader::is_header(&payload[..payload.len() - 8]));
        let mut other = payload.clone();
        other[4..8].copy_from_slice(b"FSHE");
        assert!(!StreamHeader::is_header(&other));
    }

    #[test]
    fn a_bit_flip_never_panics_and_a_flipped_identifier_is_refused() {
        let payload = full().encode();
        for bit in 0..payload.len() * 8 {
            let mut flipped = payload.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let decoded = StreamHeader::decode(&flipped);
            if (4..8).contains(&(bit / 8)) {
                assert_eq!(decoded, None, "bit {bit} is in the identifier");
            }
        }
    }
}
