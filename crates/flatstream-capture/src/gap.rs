//! Gap markers: frames that say where a capture dropped messages and how
//! many.

use flatbuffers::FlatBufferBuilder;
use flatstream_core::verifier_options_for;

// flatc's output is not ours to lint (and not ours to format); its accessors
// are reached only through the verifier.
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
#[path = "../schema/gap_marker_generated.rs"]
mod generated;

use generated::flatstream::capture as fb;

/// The file identifier of a gap marker's payload (bytes 4..8).
pub const GAP_FILE_IDENTIFIER: &str = "FSGP";

/// A frame that stands where a producer's messages were dropped: how many,
/// and when. A capture with
/// [`gap_markers`](crate::CaptureOptions::gap_markers) on writes one before
/// the next message of a producer that dropped some
/// ([`Backpressure::DropNewest`](crate::Backpressure::DropNewest)).
///
/// Its payload is a FlatBuffer with the file identifier
/// [`GAP_FILE_IDENTIFIER`] (`schema/gap_marker.fbs`); readers that dispatch
/// on file identifiers recognise it with [`GapMarker::decode`].
///
/// # Examples
///
/// ```
/// use flatstream_capture::GapMarker;
///
/// let gap = GapMarker { dropped: 12, first_dropped_ns: 5, last_dropped_ns: 9, producer: 1 };
/// let payload = gap.encode();
/// assert_eq!(&payload[4..8], b"FSGP");
/// assert_eq!(GapMarker::decode(&payload), Some(gap));
/// assert_eq!(GapMarker::decode(b"a telemetry payload"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GapMarker {
    /// How many messages were dropped.
    pub dropped: u64,
    /// When the first of them was dropped (ns since the Unix epoch).
    pub first_dropped_ns: u64,
    /// When the last of them was dropped (ns since the Unix epoch).
    pub last_dropped_ns: u64,
    /// The producer that dropped them.
    pub producer: u32,
}

impl GapMarker {
    /// The marker as a frame payload.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut builder = FlatBufferBuilder::with_capacity(64);
        self.encode_into(&mut builder);
        builder.finished_data().to_vec()
    }

    /// Builds the marker in `builder` (reset first) and finishes it.
    pub(crate) fn encode_into(&self, builder: &mut FlatBufferBuilder<'_>) {
        builder.reset();
        let marker = fb::GapMarker::create(
            builder,
            &fb::GapMarkerArgs {
                dropped: self.dropped,
                first_dropped_ns: self.first_dropped_ns,
                last_dropped_ns: self.last_dropped_ns,
                producer: self.producer,
            },
        );
        builder.finish(marker, Some(GAP_FILE_IDENTIFIER));
    }

    /// The size of the largest marker payload (every field at its largest):
    /// a sink must accept payloads this large for markers to be written.
    #[must_use]
    pub fn max_len() -> usize {
        GapMarker {
            dropped: u64::MAX,
            first_dropped_ns: u64::MAX,
            last_dropped_ns: u64::MAX,
            producer: u32::MAX,
        }
        .encode()
        .len()
    }

    /// Reads a gap marker's payload; `None` if `payload` is not one (no
    /// `"FSGP"` identifier, or not a valid marker under verifier limits
    /// scaled to its size).
    #[must_use]
    pub fn decode(payload: &[u8]) -> Option<GapMarker> {
        // Not `flatbuffers::buffer_has_identifier`, which panics on short input.
        if payload.get(4..8) != Some(GAP_FILE_IDENTIFIER.as_bytes()) {
            return None;
        }
        let marker =
            fb::root_as_gap_marker_with_opts(&verifier_options_for(payload.len()), payload).ok()?;
        Some(GapMarker {
            dropped: marker.dropped(),
            first_dropped_ns: marker.first_dropped_ns(),
            last_dropped_ns: marker.last_dropped_ns(),
            producer: marker.producer(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_never_panics_on_damaged_markers() {
        let payload = GapMarker {
            dropped: 3,
            first_dropped_ns: 1,
            last_dropped_ns: 2,
            producer: 7,
        }
        .encode();
        for cut in 0..payload.len() {
            let _ = GapMarker::decode(&payload[..cut]);
        }
        for bit in 0..payload.len() * 8 {
            let mut damaged = payload.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let _ = GapMarker::decode(&damaged);
        }
        assert_eq!(GapMarker::decode(&[]), None);
    }

    #[test]
    fn no_marker_is_longer_than_max_len() {
        let max = GapMarker::max_len();
        for value in [0, 1, 255, 256, 65_536, u64::from(u32::MAX), u64::MAX] {
            let producer = u32::try_from(value).unwrap_or(u32::MAX);
            for marker in [
                GapMarker {
                    dropped: value,
                    ..GapMarker::default()
                },
                GapMarker {
                    first_dropped_ns: value,
                    last_dropped_ns: value,
                    ..GapMarker::default()
                },
                GapMarker {
                    dropped: value,
                    first_dropped_ns: value,
                    last_dropped_ns: value,
                    producer,
                },
            ] {
                assert!(marker.encode().len() <= max, "{marker:?}");
            }
        }
    }
}
