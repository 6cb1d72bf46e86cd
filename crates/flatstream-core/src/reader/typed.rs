//! Typed reading: verified FlatBuffers roots of a generated table type.
//!
//! flatc generates each table as a type with a lifetime, `Telemetry<'a>`,
//! that implements `Follow<'a>` for its own `'a` only. A reader hands out
//! roots borrowed from its buffer for a lifetime chosen per message, so it
//! needs the table as a *type constructor*, `'buf -> Telemetry<'buf>`:
//! [`RootType`] is that constructor, a generic associated type, and
//! [`root_type!`](crate::root_type) implements it for a generated table.

use alloc::string::String;
use core::fmt::{self, Write as _};
use core::marker::PhantomData;
use std::io::Read;

use flatbuffers::{Follow, InvalidFlatbuffer, Verifiable, VerifierOptions};

use super::StreamReader;
use crate::{Deframer, Error, ErrorKind, Position, Result};

/// The name [`ErrorKind::Invalid`] gives the FlatBuffers verifier when typed
/// reading rejects a payload.
const VERIFIER: &str = "FlatBuffers verifier";

/// A FlatBuffers root type, for any lifetime of the buffer it is read from.
///
/// `Root<'buf>` is the accessor type of the root table borrowed from a
/// buffer of lifetime `'buf`, e.g. flatc's `Telemetry<'buf>`. The trait is
/// implemented on a type that stands for every such lifetime at once, so that
/// [`StreamReader::process_typed`] can name it without a lifetime:
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
/// caller of [`StreamReader::process_typed_unchecked`].
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

impl<R: Read, D: Deframer> StreamReader<R, D> {
    /// Calls `f` with the verified root of every payload until a clean end of
    /// input, with the verifier's default limits.
    ///
    /// Each payload goes through the FlatBuffers verifier before `f` sees it:
    /// `f` gets the generated accessor type (`Telemetry<'_>`), and no field
    /// access can read out of bounds. The verifier checks structure, not the
    /// file identifier: in a stream that mixes message types, dispatch on
    /// [`flatbuffers::buffer_has_identifier`] with
    /// [`process_all`](StreamReader::process_all) instead.
    ///
    /// Name the root with [`root_type!`](crate::root_type):
    /// `root_type!(Telemetry);`, then `reader.process_typed::<Telemetry>(..)`.
    ///
    /// # Errors
    ///
    /// As [`process_all`](StreamReader::process_all), plus
    /// [`ErrorKind::Invalid`] when the verifier rejects a payload, positioned
    /// at that frame. The frame has been consumed: calling again continues
    /// with the next frame.
    ///
    /// # Examples
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
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::{Position, StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write(&"one")?;
    /// writer.write_payload(&[0xFF; 3])?; // not a FlatBuffer
    /// writer.write(&"two")?;
    /// let bytes = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let mut seen = Vec::new();
    /// let err = reader
    ///     .process_typed::<Text>(|text| Ok(seen.push(text.to_owned())))
    ///     .unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
    /// assert_eq!(err.position(), Some(Position { offset: 16, frame: 1 }));
    /// assert!(err.is_resumable());
    /// reader.process_typed::<Text>(|text| Ok(seen.push(text.to_owned())))?;
    /// assert_eq!(seen, ["one", "two"]);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn process_typed<T: RootType>(
        &mut self,
        f: impl FnMut(T::Root<'_>) -> Result<()>,
    ) -> Result<()> {
        self.process_typed_with::<T>(&VerifierOptions::default(), f)
    }

    /// [`process_typed`](StreamReader::process_typed) with the verifier's
    /// limits set by `options`: the maximum table depth, number of tables and
    /// apparent size (the size of the buffer if shared objects were
    /// duplicated), which bound the work a hostile payload can cause.
    ///
    /// # Errors
    ///
    /// As [`process_typed`](StreamReader::process_typed); a payload over a
    /// limit is [`ErrorKind::Invalid`].
    ///
    /// # Examples
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
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::flatbuffers::VerifierOptions;
    /// use flatstream_core::{StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write(&"x".repeat(100))?;
    /// let bytes = writer.into_inner();
    ///
    /// let strict = VerifierOptions { max_apparent_size: 64, ..VerifierOptions::default() };
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let err = reader.process_typed_with::<Text>(&strict, |_| Ok(())).unwrap_err();
    /// assert!(err.to_string().contains("Apparent size too large"));
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn process_typed_with<T: RootType>(
        &mut self,
        options: &VerifierOptions,
        mut f: impl FnMut(T::Root<'_>) -> Result<()>,
    ) -> Result<()> {
        while let Some(root) = self.read_typed::<T>(options)? {
            f(root)?;
        }
        Ok(())
    }

    /// A lending iterator over verified roots, with the verifier's default
    /// limits, for loops that may `break` early:
    /// `while let Some(root) = messages.next()? { .. }`.
    ///
    /// # Examples
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
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::{StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// for word in ["a", "b", "stop", "c"] {
    ///     writer.write(&word)?;
    /// }
    /// let bytes = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let mut messages = reader.typed_messages::<Text>();
    /// let mut seen = String::new();
    /// while let Some(word) = messages.next()? {
    ///     if word == "stop" {
    ///         break;
    ///     }
    ///     seen.push_str(word);
    /// }
    /// assert_eq!(seen, "ab");
    /// assert_eq!(reader.frames_read(), 3);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    pub fn typed_messages<T: RootType>(&mut self) -> TypedMessages<'_, T, R, D> {
        self.typed_messages_with::<T>(VerifierOptions::default())
    }

    /// [`typed_messages`](StreamReader::typed_messages) with the verifier's
    /// limits set by `options`, as in
    /// [`process_typed_with`](StreamReader::process_typed_with).
    pub fn typed_messages_with<T: RootType>(
        &mut self,
        options: VerifierOptions,
    ) -> TypedMessages<'_, T, R, D> {
        TypedMessages {
            reader: self,
            options,
            root: PhantomData,
        }
    }

    /// Calls `f` with the root of every payload, **without verifying it**,
    /// until a clean end of input.
    ///
    /// This skips the FlatBuffers verifier, whose cost grows with the number
    /// of tables, vectors and strings in a message. It is meant for data this
    /// process or a trusted peer wrote and nothing can have altered since (a
    /// checksum framer catches corruption at rest or in transit, but not a
    /// writer that wrote the wrong type). On any other data, use
    /// [`process_typed`](StreamReader::process_typed).
    ///
    /// # Safety
    ///
    /// Every payload this call reads must be a valid FlatBuffer whose root
    /// is `T::Root`, including every table, vector and string it refers to
    /// (an empty or truncated payload is not). Reading fields of an invalid
    /// buffer through the accessors is undefined behaviour: FlatBuffers'
    /// accessors follow offsets without bounds checks.
    ///
    /// # Errors
    ///
    /// As [`process_all`](StreamReader::process_all): the first error of
    /// [`read_message`](StreamReader::read_message) or of `f`.
    ///
    /// # Examples
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
    /// # }
    /// # enum Text {}
    /// # impl flatstream_core::RootType for Text { type Root<'buf> = &'buf str; }
    /// use flatstream_core::{StreamReader, StreamWriter};
    ///
    /// let mut writer = StreamWriter::new(Vec::new(), DefaultFramer);
    /// writer.write(&"trusted")?;
    /// let bytes = writer.into_inner();
    ///
    /// let mut reader = StreamReader::new(bytes.as_slice(), DefaultDeframer);
    /// let mut total = 0;
    /// // SAFETY: `bytes` was written just above, one string root per frame.
    /// unsafe {
    ///     reader.process_typed_unchecked::<Text>(|text| {
    ///         total += text.len();
    ///         Ok(())
    ///     })?;
    /// }
    /// assert_eq!(total, 7);
    /// # Ok::<(), flatstream_core::Error>(())
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn process_typed_unchecked<T: RootType>(
        &mut self,
        mut f: impl FnMut(T::Root<'_>) -> Result<()>,
    ) -> Result<()> {
        while let Some(payload) = self.read_message()? {
            // SAFETY: the caller guarantees that every payload this call
            // reads is a valid FlatBuffer whose root is `T::Root`, which is
            // all `root_unchecked` requires. The root borrows `payload` and
            // cannot outlive this iteration.
            let root = unsafe { flatbuffers::root_unchecked::<T::Root<'_>>(payload) };
            f(root)?;
        }
        Ok(())
    }

    /// Reads the next frame and verifies its payload as a `T::Root`.
    #[inline]
    fn read_typed<T: RootType>(
        &mut self,
        options: &VerifierOptions,
    ) -> Result<Option<T::Root<'_>>> {
        // The frame `read_message` returns starts here; it is consumed
        // before verification, so an invalid payload can be skipped.
        let at = Position {
            offset: self.offset(),
            frame: self.frames_read(),
        };
        let Some(payload) = self.read_message()? else {
            return Ok(None);
        };
        match flatbuffers::root_with_opts::<T::Root<'_>>(options, payload) {
            Ok(root) => Ok(Some(root)),
            Err(err) => Err(invalid(core::any::type_name::<T::Root<'static>>(), &err).at(at)),
        }
    }
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

/// A lending iterator over the verified roots of a [`StreamReader`]'s
/// payloads.
///
/// Created by [`StreamReader::typed_messages`] and
/// [`StreamReader::typed_messages_with`].
pub struct TypedMessages<'r, T, R, D> {
    reader: &'r mut StreamReader<R, D>,
    options: VerifierOptions,
    root: PhantomData<fn() -> T>,
}

impl<T: RootType, R: Read, D: Deframer> TypedMessages<'_, T, R, D> {
    /// The next verified root, or `None` at a clean end of input.
    ///
    /// # Errors
    ///
    /// As [`StreamReader::read_message`], plus [`ErrorKind::Invalid`] when
    /// the verifier rejects a payload; that frame has been consumed and the
    /// next call continues with the frame after it.
    #[allow(clippy::should_implement_trait)] // A lending iterator cannot be `Iterator`.
    #[inline]
    pub fn next(&mut self) -> Result<Option<T::Root<'_>>> {
        self.reader.read_typed::<T>(&self.options)
    }

    /// The verifier's limits this loop applies.
    #[must_use]
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }
}

impl<T, R, D: fmt::Debug> fmt::Debug for TypedMessages<'_, T, R, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedMessages")
            .field("root", &core::any::type_name::<T>())
            .field("options", &self.options)
            .field("reader", &self.reader)
            .finish()
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

    /// Core denies `unsafe_code`; the exceptions are the unchecked typed
    /// path (`typed.rs`) and the memory map (`mmap.rs`), one `allow` each. A
    /// new `allow` elsewhere must be a deliberate change to this test.
    #[test]
    fn unsafe_code_is_allowed_only_at_the_known_sites() {
        fn visit(dir: &std::path::Path, found: &mut alloc::vec::Vec<(String, usize)>) {
            for entry in std::fs::read_dir(dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read");
                    let allows = text.matches(concat!("allow(", "unsafe_code)")).count();
                    if allows > 0 {
                        let name = path.file_name().expect("name").to_string_lossy().into();
                        found.push((name, allows));
                    }
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
        assert!(lib.contains("#![deny(unsafe_code)]"));
        let mut found = alloc::vec::Vec::new();
        visit(&src, &mut found);
        found.sort();
        assert_eq!(
            found,
            [(String::from("mmap.rs"), 1), (String::from("typed.rs"), 1)]
        );
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
