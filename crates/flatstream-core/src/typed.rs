//! Typed reading: verified FlatBuffers roots of a generated table type.
//!
//! flatc generates each table as a type with a lifetime, `Telemetry<'a>`,
//! that implements `Follow<'a>` for its own `'a` only. A reader hands out
//! roots borrowed from its buffer for a lifetime chosen per message, so it
//! needs the table as a *type constructor*, `'buf -> Telemetry<'buf>`:
//! [`RootType`] is that constructor, a generic associated type, and
//! [`root_type!`](crate::root_type) implements it for a generated table.

use alloc::string::String;
use core::fmt::Write as _;

use flatbuffers::{Follow, InvalidFlatbuffer, Verifiable, VerifierOptions};

use crate::{Error, ErrorKind, Position, Result};

/// The name [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) gives the FlatBuffers verifier when typed
/// reading rejects a payload.
const VERIFIER: &str = "FlatBuffers verifier";

/// A FlatBuffers root type, for any lifetime of the buffer it is read from.
///
/// `Root<'buf>` is the accessor type of the root table borrowed from a
/// buffer of lifetime `'buf`, e.g. flatc's `Telemetry<'buf>`. The trait is
/// implemented on a type that stands for every such lifetime at once, so that
/// [`StreamReader::process_typed`](crate::StreamReader::process_typed) can name it without a lifetime:
///
/// - on the generated table type itself, `impl<'a> RootType for Telemetry<'a>`,
///   which the [`root_type!`](crate::root_type) macro writes for you
///   (`root_type!(Telemetry);`, then `process_typed::<Telemetry>`); the
///   lifetime of the implementing type plays no part;
/// - or on a marker type, `root_type!(pub TelemetryRoot => Telemetry);`, when
///   the generated code lives in another crate (the orphan rule forbids
///   implementing this trait on a foreign type).
///
/// The trait is safe to implement: verified reading relies only on
/// [`Verifiable`], which flatc generates; the unchecked path relies on the
/// caller of [`StreamReader::process_typed_unchecked`](crate::StreamReader::process_typed_unchecked).
///
/// # Examples
///
/// By hand, for a root that is not a table: a FlatBuffer whose root is a
/// string (what writing a `&str` produces).
///
/// ```
/// # use flatstream_core::{Deframer, ErrorKind, Framer, Result as R};
/// # #[derive(Debug)] struct DefaultFramer;
/// # impl Framer for DefaultFramer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn encode_header(&mut self, p: &[u8], h: &mut [u8]) -> R<()> {
/// #         h.copy_from_slice(&(p.len() as u32).to_le_bytes()); Ok(())
/// #     }
/// # }
/// # #[derive(Debug)] struct DefaultDeframer;
/// # impl Deframer for DefaultDeframer {
/// #     fn header_len(&self) -> usize { 4 }
/// #     fn verify(&mut self, _: &[u8], _: &[u8]) -> Result<(), ErrorKind> { Ok(()) }
/// #     fn max_frame_len(&self) -> usize { usize::MAX }
/// # }
/// use flatstream_core::{RootType, StreamReader, StreamWriter};
///
/// /// A FlatBuffer whose root is a string.
/// enum Text {}
///
/// impl RootType for Text {
///     type Root<'buf> = &'buf str;
/// }
///
/// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
/// writer.write(&"hello")?;
/// writer.write(&"world")?;
/// let bytes = writer.into_inner();
///
/// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
/// let mut words = Vec::new();
/// reader.process_typed::<Text>(|text| {
///     words.push(text.to_uppercase());
///     Ok(())
/// })?;
/// assert_eq!(words, ["HELLO", "WORLD"]);
/// # Ok::<(), flatstream_core::Error>(())
/// ```
pub trait RootType {
    /// The root's accessor type, borrowing a buffer of lifetime `'buf`.
    type Root<'buf>: Follow<'buf, Inner = Self::Root<'buf>> + Verifiable + 'buf;
}

/// Implements [`RootType`] for a flatc-generated table type.
///
/// Two forms:
///
/// - `root_type!(Telemetry);` implements it on the table type itself, for
///   every lifetime: read with `process_typed::<Telemetry>`. The table type
///   must be defined in the calling crate.
/// - `root_type!(pub TelemetryRoot => path::to::Telemetry);` defines an
///   uninhabited marker type, `pub enum TelemetryRoot {}`, and implements it
///   there: read with `process_typed::<TelemetryRoot>`. This form works for
///   tables generated in another crate. The visibility is optional.
///
/// The table type is named by its path without its lifetime; the macro
/// supplies it.
///
/// # Examples
///
/// ```
/// // Stands in for flatc's output: a table type with one lifetime.
/// mod generated {
///     use flatstream_core::flatbuffers::{self, Follow, Verifiable, Verifier};
///
///     #[derive(Clone, Copy)]
///     pub struct Greeting<'a> {
///         pub _tab: flatbuffers::Table<'a>,
///     }
///     impl<'a> Follow<'a> for Greeting<'a> {
///         type Inner = Greeting<'a>;
///         unsafe fn follow(buf: &'a [u8], loc: usize) -> Self::Inner {
///             // SAFETY: forwarded with the caller's guarantee.
///             Greeting { _tab: unsafe { flatbuffers::Table::new(buf, loc) } }
///         }
///     }
///     impl Verifiable for Greeting<'_> {
///         fn run_verifier(
///             v: &mut Verifier<'_, '_>,
///             pos: usize,
///         ) -> Result<(), flatbuffers::InvalidFlatbuffer> {
///             v.visit_table(pos)?.finish();
///             Ok(())
///         }
///     }
/// }
///
/// // The table is local: implement `RootType` on it directly.
/// flatstream_core::root_type!(generated::Greeting);
///
/// // Or through a marker, as for a table generated in another crate.
/// flatstream_core::root_type!(pub GreetingRoot => generated::Greeting);
///
/// fn assert_root<T: flatstream_core::RootType>() {}
/// assert_root::<generated::Greeting>();
/// assert_root::<GreetingRoot>();
/// ```
#[macro_export]
macro_rules! root_type {
    ($vis:vis $marker:ident => $($table:ident)::+ $(,)?) => {
        #[doc = ::core::concat!(
            "The FlatBuffers root type `", ::core::stringify!($($table)::+), "`, for typed reading."
        )]
        #[derive(Debug)]
        $vis enum $marker {}

        impl $crate::RootType for $marker {
            type Root<'buf> = $($table)::+<'buf>;
        }
    };
    ($($table:ident)::+ $(,)?) => {
        impl $crate::RootType for $($table)::+<'_> {
            type Root<'buf> = $($table)::+<'buf>;
        }
    };
}

/// How much verification work a payload may cost by default, as a multiple
/// of its length: the verifier's "apparent size" (the bytes it visits,
/// counting a shared object once per reference) may be at most this many
/// times the payload. A buffer without shared objects has an apparent size
/// close to its length; one that points at the same large string thousands
/// of times is refused quickly instead of costing thousands of times its size.
pub const APPARENT_SIZE_FACTOR: usize = 8;

/// The smallest apparent-size budget, for tiny payloads.
const MIN_APPARENT_SIZE: usize = 64 * 1024;

/// The verifier options typed reading uses by default for a payload of
/// `payload_len` bytes: flatbuffers' defaults, with the apparent size bounded
/// by [`APPARENT_SIZE_FACTOR`] times the payload (at least 64 KiB) and the
/// table count by the payload length (a table takes at least 4 bytes).
///
/// # Examples
///
/// ```
/// let options = flatstream_core::verifier_options_for(540_000);
/// assert_eq!(options.max_apparent_size, 8 * 540_000);
/// ```
#[must_use]
pub fn verifier_options_for(payload_len: usize) -> VerifierOptions {
    let defaults = VerifierOptions::default();
    VerifierOptions {
        max_apparent_size: payload_len
            .saturating_mul(APPARENT_SIZE_FACTOR)
            .max(MIN_APPARENT_SIZE)
            .min(defaults.max_apparent_size),
        max_tables: (payload_len / 4).clamp(16, defaults.max_tables),
        ..defaults
    }
}

/// Verifies `payload` as a `T::Root`, with `options` or, when `None`, the
/// options [`verifier_options_for`] the payload's length, as every typed
/// reader does; an error is [`ErrorKind::Invalid`](crate::ErrorKind::Invalid),
/// positioned `at` the payload's frame.
///
/// # Errors
///
/// The verifier's refusal, named after the root type.
#[inline]
pub fn verify_root<'b, T: RootType>(
    payload: &'b [u8],
    options: Option<&VerifierOptions>,
    at: Position,
) -> Result<T::Root<'b>> {
    let scaled;
    let options = match options {
        Some(options) => options,
        None => {
            scaled = verifier_options_for(payload.len());
            &scaled
        }
    };
    flatbuffers::root_with_opts::<T::Root<'b>>(options, payload)
        .map_err(|err| invalid(core::any::type_name::<T::Root<'static>>(), &err).at(at))
}

/// The error for a payload the verifier rejected as the root type named
/// `root` (from [`core::any::type_name`]). Not generic: one copy serves every
/// root type.
#[cold]
#[inline(never)]
fn invalid(root: &str, err: &InvalidFlatbuffer) -> Error {
    let mut reason = String::from("not a valid ");
    push_short_type_name(&mut reason, root);
    reason.push_str(": ");
    // The verifier's messages span lines (the error, then a trace of where
    // it was found, one line each) and end in periods; make them one line.
    let mut detail = String::new();
    let _ = write!(detail, "{err}");
    let mut lines = detail
        .lines()
        .map(|line| line.trim().trim_end_matches('.'))
        .filter(|line| !line.is_empty());
    if let Some(first) = lines.next() {
        reason.push_str(first);
    }
    for line in lines {
        reason.push_str("; ");
        reason.push_str(line);
    }
    Error::from(ErrorKind::Invalid {
        validator: VERIFIER,
        reason,
    })
}

/// Appends `full`, a type's name from [`core::any::type_name`], without its
/// module paths and lifetimes: `a::b::Telemetry<'_>` becomes `Telemetry`,
/// `&str` stays `&str`.
fn push_short_type_name(out: &mut String, full: &str) {
    let is_path = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut rest = full;
    while !rest.is_empty() {
        if let Some(lifetime) = rest.strip_prefix('\'') {
            // A lifetime (`'_`, `&'static str`): drop it with the separator
            // after it, and the brackets if it was the only argument.
            let len = lifetime
                .find(|c: char| !is_path(c))
                .unwrap_or(lifetime.len());
            rest = &lifetime[len..];
            if let Some(after) = rest.strip_prefix(", ").or_else(|| rest.strip_prefix(' ')) {
                rest = after;
            } else if out.ends_with('<') && rest.starts_with('>') {
                out.pop();
                rest = &rest[1..];
            }
            continue;
        }
        let path_len = rest.find(|c: char| !is_path(c)).unwrap_or(rest.len());
        let (path, tail) = rest.split_at(path_len);
        out.push_str(path.rsplit("::").next().unwrap_or(path));
        let mut tail = tail.chars();
        if let Some(c) = tail.next() {
            out.push(c);
        }
        rest = tail.as_str();
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn short(full: &str) -> String {
        let mut out = String::new();
        push_short_type_name(&mut out, full);
        out
    }

    #[test]
    fn short_type_names_drop_module_paths() {
        assert_eq!(short("a::b::Telemetry"), "Telemetry");
        assert_eq!(short("Telemetry"), "Telemetry");
        assert_eq!(short("&str"), "&str");
        assert_eq!(
            short("flatbuffers::vector::Vector<x::Status>"),
            "Vector<Status>"
        );
        assert_eq!(short("x::Telemetry<'_>"), "Telemetry");
        assert_eq!(short("&'static str"), "&str");
        assert_eq!(short("flatbuffers::vector::Vector<'_, u32>"), "Vector<u32>");
        assert_eq!(short("A<'a, 'b>"), "A");
        assert_eq!(short("A<B<'_>, C>"), "A<B, C>");
        assert_eq!(short(""), "");
    }
}
