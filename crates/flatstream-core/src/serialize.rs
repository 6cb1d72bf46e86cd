//! How user data becomes a FlatBuffer.

use alloc::string::String;
use flatbuffers::{Allocator, FlatBufferBuilder};

use crate::{ErrorKind, Result};

/// Serializes a value into a [`FlatBufferBuilder`] as one finished FlatBuffer.
///
/// `serialize` must finish the buffer (`builder.finish(root, ident)`); the
/// writer refuses a builder that was not finished with
/// [`ErrorKind::UnfinishedBuilder`]. The builder arrives reset and empty.
///
/// # Examples
///
/// ```
/// use flatstream_core::{Result, StreamSerialize};
/// use flatstream_core::flatbuffers::{Allocator, FlatBufferBuilder};
///
/// struct Reading {
///     sensor: String,
/// }
///
/// impl StreamSerialize for Reading {
///     fn serialize<A: Allocator>(&self, builder: &mut FlatBufferBuilder<A>) -> Result<()> {
///         let root = builder.create_string(&self.sensor);
///         builder.finish(root, None);
///         Ok(())
///     }
/// }
///
/// let mut builder = FlatBufferBuilder::new();
/// Reading { sensor: "temp_sensor_1".into() }.serialize(&mut builder)?;
/// assert!(!builder.finished_data().is_empty());
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub trait StreamSerialize {
    /// Builds `self` into `builder` and finishes it.
    ///
    /// # Errors
    ///
    /// Whatever the implementation reports, typically with
    /// [`Error::custom`](crate::Error::custom).
    fn serialize<A: Allocator>(&self, builder: &mut FlatBufferBuilder<A>) -> Result<()>;
}

/// A FlatBuffer whose root is the string itself.
impl StreamSerialize for str {
    fn serialize<A: Allocator>(&self, builder: &mut FlatBufferBuilder<A>) -> Result<()> {
        let root = builder.create_string(self);
        builder.finish(root, None);
        Ok(())
    }
}

/// The same bytes as the `str` impl.
impl StreamSerialize for String {
    fn serialize<A: Allocator>(&self, builder: &mut FlatBufferBuilder<A>) -> Result<()> {
        self.as_str().serialize(builder)
    }
}

impl<T: StreamSerialize + ?Sized> StreamSerialize for &T {
    fn serialize<A: Allocator>(&self, builder: &mut FlatBufferBuilder<A>) -> Result<()> {
        (**self).serialize(builder)
    }
}

/// Returns the finished bytes of `builder`, or an error if it is not finished.
///
/// FlatBuffers' own `finished_data` only checks this in debug builds; in
/// release builds it hands out whatever half-built bytes are there. This check
/// works in every build and catches the usual mistakes, at the cost of a few
/// comparisons:
///
/// - nothing was built since the last `reset` (empty buffer);
/// - a table was built but `finish` was not called (`finish` clears the
///   builder's vtable list, so vtables still listed mean no `finish`);
/// - the first four bytes are not a plausible root offset (a finished
///   buffer starts with a 4-byte-aligned offset pointing inside itself).
///
/// A builder that holds only strings or vectors whose first word happens to
/// look like a valid root offset cannot be told apart from a finished one
/// through FlatBuffers' public API.
///
/// # Errors
///
/// [`ErrorKind::UnfinishedBuilder`] when one of the checks above fails.
///
/// # Examples
///
/// ```
/// use flatstream_core::{ErrorKind, finished_payload};
/// use flatstream_core::flatbuffers::FlatBufferBuilder;
///
/// let mut builder = FlatBufferBuilder::new();
/// assert!(matches!(
///     finished_payload(&builder).map_err(|e| e.into_kind()),
///     Err(ErrorKind::UnfinishedBuilder)
/// ));
/// let root = builder.create_string("ready");
/// builder.finish(root, None);
/// assert_eq!(finished_payload(&builder)?, builder.finished_data());
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub fn finished_payload<'b, A: Allocator>(
    builder: &'b FlatBufferBuilder<'_, A>,
) -> Result<&'b [u8]> {
    // `unfinished_data` is the same slice as `finished_data`, without the
    // debug-build assertion that would panic on the very mistake we report.
    let data = builder.unfinished_data();
    let plausible_root = data
        .get(..4)
        .map(crate::wire::read_length_prefix)
        .and_then(|root| usize::try_from(root).ok())
        .is_some_and(|root| root % 4 == 0 && root >= 4 && root < data.len());
    if builder.num_written_vtables() > 0 || !plausible_root {
        return Err(ErrorKind::UnfinishedBuilder.into());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flatbuffers::FlatBufferBuilder;

    #[test]
    fn str_and_string_serialize_identically() {
        let mut a = FlatBufferBuilder::new();
        let mut b = FlatBufferBuilder::new();
        "telemetry".serialize(&mut a).unwrap();
        String::from("telemetry").serialize(&mut b).unwrap();
        assert_eq!(finished_payload(&a).unwrap(), finished_payload(&b).unwrap());
        assert_eq!(
            flatbuffers::root::<&str>(finished_payload(&a).unwrap()).unwrap(),
            "telemetry"
        );
    }

    #[test]
    fn table_without_finish_is_refused() {
        let mut builder = FlatBufferBuilder::new();
        let start = builder.start_table();
        builder.push_slot::<u32>(4, 7, 0);
        let _table = builder.end_table(start);
        assert!(matches!(
            finished_payload(&builder).map_err(crate::Error::into_kind),
            Err(ErrorKind::UnfinishedBuilder)
        ));
        builder.finish(_table, None);
        assert!(finished_payload(&builder).is_ok());
    }

    #[test]
    fn reset_builder_is_refused() {
        let mut builder = FlatBufferBuilder::new();
        "x".serialize(&mut builder).unwrap();
        builder.reset();
        assert!(finished_payload(&builder).is_err());
    }

    #[test]
    fn string_without_finish_is_refused_when_its_length_is_not_a_root_offset() {
        let mut builder = FlatBufferBuilder::new();
        // Length prefix 3 is not 4-aligned, so it cannot be a root offset.
        builder.create_string("abc");
        assert!(finished_payload(&builder).is_err());
    }
}
