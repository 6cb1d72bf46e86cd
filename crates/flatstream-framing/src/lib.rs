#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

extern crate alloc;

mod bounded;
mod checksum;
mod default;
mod ext;
mod observed;
mod validated;
mod validator;

pub use crate::bounded::Bounded;
pub use crate::checksum::{ChecksumDeframer, ChecksumFramer};
pub use crate::default::{DefaultDeframer, DefaultFramer};
pub use crate::ext::{DeframerExt, FramerExt};
pub use crate::observed::Observed;
pub use crate::validated::Validated;
pub use crate::validator::{
    NoValidator, RootTableValidator, SizeValidator, TypedValidator, Validator,
};

/// Writes the length prefix of `payload` into `header[..4]`.
///
/// The writer has checked the length against its limit, which is never above
/// `u32::MAX`; a longer payload is still refused here rather than truncated.
fn encode_length(payload: &[u8], header: &mut [u8]) -> flatstream_core::Result<()> {
    let len =
        u32::try_from(payload.len()).map_err(|_| flatstream_core::ErrorKind::FrameTooLarge {
            declared: payload.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
    header[..flatstream_core::wire::LENGTH_PREFIX_LEN].copy_from_slice(&len.to_le_bytes());
    Ok(())
}
