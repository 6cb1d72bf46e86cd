#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod codec;
mod reader;
mod writer;

pub use crate::codec::{DEFAULT_CODEC_MAX_FRAME_LEN, FlatStreamCodec};
pub use crate::reader::{AsyncStreamReader, Frames};
pub use crate::writer::{AsyncStreamWriter, DEFAULT_WRITE_BUFFER};
