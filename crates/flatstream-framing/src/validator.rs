//! Payload validators, run by the [`Validated`](crate::Validated) adapter.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use flatstream_core::ErrorKind;
use flatstream_core::flatbuffers::{
    self, ForwardsUOffset, InvalidFlatbuffer, Verifiable, Verifier, VerifierOptions,
};

/// Decides whether a payload may be written or handed to user code.
///
/// A validator is run by the [`Validated`](crate::Validated) adapter: on
/// writing before the framer writes the header (so before any byte of the
/// frame reaches the sink), on reading after the deframer verified the
/// frame's checksum (so before user code sees the payload).
///
/// Validators are statically dispatched. Combine several with a tuple:
/// `(A, B)`, `(A, B, C)` and `(A, B, C, D)` are validators that run their
/// members in order, and the first refusal wins.
///
/// # Examples
///
/// A validator of your own:
///
/// ```
/// use flatstream_core::ErrorKind;
/// use flatstream_framing::Validator;
///
/// /// Refuses payloads whose length is not a multiple of 8.
/// #[derive(Debug, Clone, Copy, Default)]
/// struct Aligned8;
///
/// impl Validator for Aligned8 {
///     fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
///         if payload.len() % 8 == 0 {
///             Ok(())
///         } else {
///             Err(ErrorKind::Invalid {
///                 validator: "Aligned8",
///                 reason: format!("length {} is not a multiple of 8", payload.len()),
///             })
///         }
///     }
/// }
///
/// assert!(Aligned8.validate(&[0; 16]).is_ok());
/// let err = Aligned8.validate(&[0; 3]).unwrap_err();
/// assert_eq!(err.to_string(), "payload rejected by Aligned8: length 3 is not a multiple of 8");
/// ```
pub trait Validator {
    /// Checks one payload.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Invalid`], naming the validator and why it refused the
    /// payload. (Any other kind is passed on as it is.)
    fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind>;
}

impl<V: Validator + ?Sized> Validator for &mut V {
    #[inline]
    fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
        (**self).validate(payload)
    }
}

/// A boxed validator is a validator, so `Box<dyn Validator>` can be chosen
/// at run time.
impl<V: Validator + ?Sized> Validator for Box<V> {
    #[inline]
    fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
        (**self).validate(payload)
    }
}

macro_rules! tuple_validator {
    ($($member:ident . $index:tt),+) => {
        /// Runs each member in order; the first refusal wins and the members
        /// after it do not run.
        impl<$($member: Validator),+> Validator for ($($member,)+) {
            #[inline]
            fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
                $(self.$index.validate(payload)?;)+
                Ok(())
            }
        }
    };
}

tuple_validator!(A.0, B.1);
tuple_validator!(A.0, B.1, C.2);
tuple_validator!(A.0, B.1, C.2, D.3);

/// Accepts every payload. Zero-sized, and compiles away.
///
/// `Validated<F, NoValidator>` does exactly what `F` does, so generic code
/// can take a validator parameter and default it to this one.
///
/// # Examples
///
/// ```
/// use flatstream_framing::{DefaultFramer, NoValidator, Validated, Validator};
///
/// assert!(NoValidator.validate(b"anything").is_ok());
/// assert_eq!(size_of::<Validated<DefaultFramer, NoValidator>>(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NoValidator;

impl Validator for NoValidator {
    #[inline(always)]
    fn validate(&mut self, _payload: &[u8]) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// Refuses payloads shorter than a minimum or longer than a maximum.
///
/// Unlike [`Bounded`](crate::Bounded), which refuses an oversized frame on
/// reading as soon as its length prefix arrives (and cannot go on past it),
/// this validator looks at a whole frame whose checksum matched: its refusal
/// is an [`ErrorKind::Invalid`] and reading goes on with the next frame. It
/// also knows a minimum. Use `Bounded` against hostile lengths, this one for
/// what a well-formed message of your schema may weigh.
///
/// # Examples
///
/// ```
/// use flatstream_framing::{SizeValidator, Validator};
///
/// let mut size = SizeValidator::new(8, 1024);
/// assert!(size.validate(&[0; 8]).is_ok());
/// let err = size.validate(&[0; 3]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "payload rejected by SizeValidator: payload of 3 bytes is shorter than the minimum of 8"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SizeValidator {
    min: usize,
    max: usize,
}

impl SizeValidator {
    /// The name in this validator's errors.
    pub const NAME: &'static str = "SizeValidator";

    /// Accepts payloads of `min..=max` bytes.
    ///
    /// # Panics
    ///
    /// If `min > max`: no payload could pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_framing::SizeValidator;
    ///
    /// let size = SizeValidator::new(8, 1024);
    /// assert_eq!((size.min(), size.max()), (8, 1024));
    /// ```
    #[must_use]
    pub const fn new(min: usize, max: usize) -> Self {
        assert!(min <= max, "SizeValidator: min is above max");
        SizeValidator { min, max }
    }

    /// Accepts payloads of at least `min` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_framing::{SizeValidator, Validator};
    ///
    /// // A FlatBuffer is at least a root offset and a vtable: 8 bytes or more.
    /// let mut size = SizeValidator::at_least(8);
    /// assert!(size.validate(&[]).is_err());
    /// ```
    #[must_use]
    pub const fn at_least(min: usize) -> Self {
        Self::new(min, usize::MAX)
    }

    /// Accepts payloads of at most `max` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_framing::{SizeValidator, Validator};
    ///
    /// let mut size = SizeValidator::at_most(4);
    /// assert!(size.validate(b"12345").is_err());
    /// ```
    #[must_use]
    pub const fn at_most(max: usize) -> Self {
        Self::new(0, max)
    }

    /// The smallest length accepted.
    #[must_use]
    pub const fn min(&self) -> usize {
        self.min
    }

    /// The largest length accepted.
    #[must_use]
    pub const fn max(&self) -> usize {
        self.max
    }
}

impl Default for SizeValidator {
    /// Accepts every length: `0..=usize::MAX`.
    fn default() -> Self {
        Self::new(0, usize::MAX)
    }
}

impl Validator for SizeValidator {
    #[inline]
    fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
        let len = payload.len();
        if len < self.min {
            Err(invalid(
                Self::NAME,
                alloc::format!(
                    "payload of {len} bytes is shorter than the minimum of {}",
                    self.min
                ),
            ))
        } else if len > self.max {
            Err(invalid(
                Self::NAME,
                alloc::format!(
                    "payload of {len} bytes is longer than the maximum of {}",
                    self.max
                ),
            ))
        } else {
            Ok(())
        }
    }
}

/// A structural check, schema-free: the payload is a FlatBuffer whose root is
/// a table with an in-bounds vtable, and optionally it carries a given file
/// identifier.
///
/// It runs the `flatbuffers` crate's own [`Verifier`] over the root table
/// only (the root offset is followed, then the table's signed offset to its
/// vtable, whose length and extent are checked), then checks what can be
/// checked of that one table without a schema: the table does not overlap
/// the root offset, its inline bytes as the vtable declares them lie in the
/// buffer, and each field offset in the vtable lies inside them. It knows no
/// schema, so it is cheap (a few reads, whatever the payload's size) and
/// serves every message type; that is also the limit of what it can see.
///
/// **It catches** (as [`ErrorKind::Invalid`]):
/// - a buffer too short for a root offset, or a garbage root offset (outside
///   the buffer, misaligned, or pointing into itself, as in a payload of
///   zeros);
/// - a root table whose vtable offset points outside the buffer, or whose
///   vtable is truncated, has an odd length or is shorter than its header;
/// - a root table whose inline bytes run past the end of the buffer, or
///   whose vtable places a field outside the table;
/// - a truncated buffer, when the cut reaches into the root table or its
///   vtable;
/// - with [`with_identifier`](Self::with_identifier), a message of another
///   type (another file identifier) or one without an identifier;
/// - the verifier's limits in [`VerifierOptions`] (e.g. `max_apparent_size`).
///
/// **It cannot see**, because it does not know the schema:
/// - anything a field points to: child tables, strings, vectors, unions. A
///   corrupted offset to a nested string passes this check, and so does a
///   truncated buffer whose cut spares the root table (flatc's builders put
///   the root table near the front and the data it points to behind it);
/// - field types and values: a field that starts inside the table but is
///   wider than the bytes left, UTF-8 of strings, enum ranges, required
///   fields;
/// - which table type the root is, unless a file identifier is checked, and
///   even then it only trusts those four bytes.
///
/// For those, use a [`TypedValidator`] built from flatc's generated
/// `root_as_*_with_opts`, which walks the whole buffer against the schema;
/// combine both in a tuple to run the cheap check first. Neither makes a
/// payload *correct*: a well-formed message with wrong values passes both.
///
/// # Examples
///
/// ```
/// use flatstream_core::flatbuffers::FlatBufferBuilder;
/// use flatstream_framing::{RootTableValidator, Validator};
///
/// let mut builder = FlatBufferBuilder::new();
/// let start = builder.start_table();
/// let root = builder.end_table(start);
/// builder.finish(root, Some("DEMO"));
/// let payload = builder.finished_data();
///
/// assert!(RootTableValidator::new().validate(payload).is_ok());
/// assert!(RootTableValidator::new().with_identifier("DEMO").validate(payload).is_ok());
///
/// let err = RootTableValidator::new().with_identifier("TLM1").validate(payload).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"payload rejected by RootTableValidator: file identifier is "DEMO", expected "TLM1""#
/// );
/// // A root offset pointing far past the end of the buffer:
/// assert!(RootTableValidator::new().validate(&[0xFF, 0xFF, 0, 0, 0, 0, 0, 0]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootTableValidator {
    options: VerifierOptions,
    identifier: Option<&'static str>,
}

impl RootTableValidator {
    /// The name in this validator's errors.
    pub const NAME: &'static str = "RootTableValidator";

    /// Checks the root table with the `flatbuffers` crate's default
    /// [`VerifierOptions`], and no file identifier.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_framing::{RootTableValidator, Validator};
    ///
    /// let err = RootTableValidator::new().validate(&[1, 2]).unwrap_err();
    /// assert!(err.to_string().starts_with("payload rejected by RootTableValidator: "));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also requires the 4-byte file identifier `identifier` (as given to
    /// `FlatBufferBuilder::finish`, or flatc's generated `*_IDENTIFIER`).
    ///
    /// # Panics
    ///
    /// If `identifier` is not exactly 4 bytes long.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_framing::RootTableValidator;
    ///
    /// let validator = RootTableValidator::new().with_identifier("TLM1");
    /// assert_eq!(validator.identifier(), Some("TLM1"));
    /// ```
    #[must_use]
    pub fn with_identifier(mut self, identifier: &'static str) -> Self {
        assert_eq!(
            identifier.len(),
            flatbuffers::FILE_IDENTIFIER_LENGTH,
            "a FlatBuffers file identifier is 4 bytes"
        );
        self.identifier = Some(identifier);
        self
    }

    /// Uses `options` for the verifier's limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_core::flatbuffers::VerifierOptions;
    /// use flatstream_framing::RootTableValidator;
    ///
    /// let options = VerifierOptions { max_apparent_size: 1 << 20, ..Default::default() };
    /// let validator = RootTableValidator::new().with_options(options);
    /// assert_eq!(validator.options().max_apparent_size, 1 << 20);
    /// ```
    #[must_use]
    pub fn with_options(mut self, options: VerifierOptions) -> Self {
        self.options = options;
        self
    }

    /// The verifier's limits.
    #[must_use]
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }

    /// The file identifier required, if any.
    #[must_use]
    pub fn identifier(&self) -> Option<&'static str> {
        self.identifier
    }
}

impl Validator for RootTableValidator {
    fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
        let mut verifier = Verifier::new(&self.options, payload);
        <ForwardsUOffset<AnyTable>>::run_verifier(&mut verifier, 0)
            .map_err(|err| invalid(Self::NAME, describe(&err)))?;
        check_root_table(payload).map_err(|reason| invalid(Self::NAME, reason))?;
        if let Some(expected) = self.identifier {
            let id_range = flatbuffers::SIZE_UOFFSET
                ..flatbuffers::SIZE_UOFFSET + flatbuffers::FILE_IDENTIFIER_LENGTH;
            let Some(found) = payload.get(id_range) else {
                return Err(invalid(
                    Self::NAME,
                    alloc::format!(
                        "payload of {} bytes is too short for file identifier \"{expected}\"",
                        payload.len()
                    ),
                ));
            };
            if !flatbuffers::buffer_has_identifier(payload, expected, false) {
                return Err(invalid(
                    Self::NAME,
                    alloc::format!(
                        "file identifier is \"{}\", expected \"{expected}\"",
                        found.escape_ascii()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What the `flatbuffers` verifier leaves to the schema, checked without one
/// on a root table whose vtable it found in bounds: the root table does not
/// overlap the root offset, the vtable holds at least its own 4-byte header,
/// the table's inline bytes (as the vtable declares them) lie in the buffer,
/// and every field offset in the vtable lies inside those bytes.
///
/// A payload of zeros passes the verifier (root offset 0 names a table at 0
/// whose vtable is itself, 0 bytes long); it does not pass this.
fn check_root_table(payload: &[u8]) -> Result<(), String> {
    let u16_at = |pos: usize| {
        let bytes = payload.get(pos..pos.checked_add(2)?)?;
        Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
    };
    let u32_at = |pos: usize| {
        let bytes = payload.get(pos..pos.checked_add(4)?)?;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    };
    let out_of_bounds = || String::from("root table out of bounds");

    let root = usize::try_from(u32::from_le_bytes(u32_at(0).ok_or_else(out_of_bounds)?))
        .map_err(|_| out_of_bounds())?;
    if root < flatbuffers::SIZE_UOFFSET {
        return Err(alloc::format!(
            "root offset {root} points into the root offset itself"
        ));
    }
    let soffset = i32::from_le_bytes(u32_at(root).ok_or_else(out_of_bounds)?);
    let vtable = i64::try_from(root)
        .ok()
        .and_then(|root| usize::try_from(root - i64::from(soffset)).ok())
        .ok_or_else(out_of_bounds)?;
    let vtable_len = u16_at(vtable).ok_or_else(out_of_bounds)?;
    let table_len = u16_at(vtable + 2).unwrap_or(0);
    if vtable_len < 4 || table_len < flatbuffers::SIZE_SOFFSET {
        return Err(alloc::format!(
            "vtable at {vtable} declares {vtable_len} bytes and a table of {table_len} bytes, \
             less than their headers"
        ));
    }
    if root.saturating_add(table_len) > payload.len() {
        return Err(alloc::format!(
            "root table at {root} declares {table_len} bytes, past the end of the {}-byte buffer",
            payload.len()
        ));
    }
    for (index, slot) in (vtable + 4..vtable + vtable_len).step_by(2).enumerate() {
        let field = u16_at(slot).ok_or_else(out_of_bounds)?;
        if field != 0 && (field < flatbuffers::SIZE_SOFFSET || field >= table_len) {
            return Err(alloc::format!(
                "field {index} of the root table is at offset {field}, outside the table's \
                 {table_len} bytes"
            ));
        }
    }
    Ok(())
}

/// A table of unknown type: the verifier checks its vtable and nothing else.
struct AnyTable;

impl Verifiable for AnyTable {
    #[inline]
    fn run_verifier(v: &mut Verifier<'_, '_>, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?.finish();
        Ok(())
    }
}

/// A validator from a verifying function: typically flatc's generated
/// `root_as_*_with_opts` for your schema, which walks the whole buffer
/// (every field, child table, string and vector) against the schema.
///
/// `verify` is any `FnMut(&[u8]) -> Result<(), InvalidFlatbuffer>`: a
/// closure can capture its [`VerifierOptions`] or count what it sees. Its
/// error becomes [`ErrorKind::Invalid`] with `name` as the validator.
///
/// # Examples
///
/// ```
/// use flatstream_core::flatbuffers::{self, FlatBufferBuilder, VerifierOptions};
/// use flatstream_framing::{TypedValidator, Validator};
///
/// // With flatc's generated code for a `Telemetry` root this is
/// // `|buf| root_as_telemetry_with_opts(&options, buf).map(|_| ())`; here the
/// // root is a plain string, which the verifier checks for UTF-8.
/// let options = VerifierOptions { max_apparent_size: 1 << 20, ..Default::default() };
/// let mut greeting = TypedValidator::new("Greeting", move |buf: &[u8]| {
///     flatbuffers::root_with_opts::<&str>(&options, buf).map(|_| ())
/// });
///
/// let mut builder = FlatBufferBuilder::new();
/// let hello = builder.create_string("hello");
/// builder.finish_minimal(hello);
/// let mut payload = builder.finished_data().to_vec();
/// assert!(greeting.validate(&payload).is_ok());
///
/// let o = payload.iter().position(|&b| b == b'o').unwrap();
/// payload[o] = 0xFF; // "hell\xFF" is not UTF-8
/// let err = greeting.validate(&payload).unwrap_err();
/// assert!(err.to_string().starts_with("payload rejected by Greeting: Utf8 error"), "{err}");
/// ```
#[derive(Clone, Copy)]
pub struct TypedValidator<F> {
    name: &'static str,
    verify: F,
}

impl<F> TypedValidator<F>
where
    F: FnMut(&[u8]) -> Result<(), InvalidFlatbuffer>,
{
    /// A validator named `name` (the message type, say) that runs `verify`.
    ///
    /// # Examples
    ///
    /// ```
    /// use flatstream_framing::TypedValidator;
    ///
    /// let typed = TypedValidator::new("Telemetry", |_buf: &[u8]| Ok(()));
    /// assert_eq!(typed.name(), "Telemetry");
    /// ```
    pub fn new(name: &'static str, verify: F) -> Self {
        TypedValidator { name, verify }
    }
}

impl<F> TypedValidator<F> {
    /// The name in this validator's errors.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Returns the verifying function.
    pub fn into_inner(self) -> F {
        self.verify
    }
}

impl<F> fmt::Debug for TypedValidator<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedValidator")
            .field("name", &self.name)
            .field("verify", &core::any::type_name::<F>())
            .finish()
    }
}

impl<F> Validator for TypedValidator<F>
where
    F: FnMut(&[u8]) -> Result<(), InvalidFlatbuffer>,
{
    #[inline]
    fn validate(&mut self, payload: &[u8]) -> Result<(), ErrorKind> {
        (self.verify)(payload).map_err(|err| invalid(self.name, describe(&err)))
    }
}

fn invalid(validator: &'static str, reason: String) -> ErrorKind {
    ErrorKind::Invalid { validator, reason }
}

/// The verifier's message on one line: its text, then its trace (`while
/// verifying table field ...`), without the line breaks and tabs it uses.
fn describe(err: &InvalidFlatbuffer) -> String {
    let text = alloc::format!("{err}");
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}
