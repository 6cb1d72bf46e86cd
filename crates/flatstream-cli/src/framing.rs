//! The four framings of the FlatStream format, chosen at run time, and the
//! macros that turn that choice into a concrete (monomorphised) deframer or
//! framer.

use core::fmt;

/// One of the four framings of the format: a length prefix, then a checksum
/// of 0, 8, 4 or 2 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Length prefix only (`DefaultFramer`).
    Plain,
    /// XXH3-64 checksums, 8 bytes per frame (`ChecksumFramer<XxHash64>`).
    Xxh3,
    /// CRC-32/ISO-HDLC checksums, 4 bytes per frame (`ChecksumFramer<Crc32>`).
    Crc32,
    /// CRC-16/XMODEM checksums, 2 bytes per frame (`ChecksumFramer<Crc16>`).
    Crc16,
}

impl Framing {
    /// Every framing, the plain one first.
    pub const ALL: [Framing; 4] = [
        Framing::Plain,
        Framing::Xxh3,
        Framing::Crc32,
        Framing::Crc16,
    ];

    /// The checksummed framings, in the order detection tries them.
    pub const CHECKSUMMED: [Framing; 3] = [Framing::Xxh3, Framing::Crc32, Framing::Crc16];

    /// The name used on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Framing::Plain => "plain",
            Framing::Xxh3 => "xxh3",
            Framing::Crc32 => "crc32",
            Framing::Crc16 => "crc16",
        }
    }

    /// Bytes of each frame's header: the 4-byte length and the checksum.
    #[must_use]
    pub fn header_len(self) -> usize {
        match self {
            Framing::Plain => 4,
            Framing::Xxh3 => 12,
            Framing::Crc32 => 8,
            Framing::Crc16 => 6,
        }
    }

    /// The checksum algorithm's full name, if the framing has one.
    #[must_use]
    pub fn checksum(self) -> Option<&'static str> {
        match self {
            Framing::Plain => None,
            Framing::Xxh3 => Some("XXH3-64"),
            Framing::Crc32 => Some("CRC-32/ISO-HDLC"),
            Framing::Crc16 => Some("CRC-16/XMODEM"),
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Evaluates `$body` with `$d` bound to the deframer of `$framing`: one
/// monomorphised copy of `$body` per framing.
macro_rules! with_deframer {
    ($framing:expr, |$d:ident| $body:expr) => {
        match $framing {
            $crate::framing::Framing::Plain => {
                let $d = ::flatstream::DefaultDeframer;
                $body
            }
            $crate::framing::Framing::Xxh3 => {
                let $d = ::flatstream::ChecksumDeframer::new(::flatstream::XxHash64::new());
                $body
            }
            $crate::framing::Framing::Crc32 => {
                let $d = ::flatstream::ChecksumDeframer::new(::flatstream::Crc32::new());
                $body
            }
            $crate::framing::Framing::Crc16 => {
                let $d = ::flatstream::ChecksumDeframer::new(::flatstream::Crc16::new());
                $body
            }
        }
    };
}

/// Evaluates `$body` with `$f` bound to the framer of `$framing`.
macro_rules! with_framer {
    ($framing:expr, |$f:ident| $body:expr) => {
        match $framing {
            $crate::framing::Framing::Plain => {
                let $f = ::flatstream::DefaultFramer;
                $body
            }
            $crate::framing::Framing::Xxh3 => {
                let $f = ::flatstream::ChecksumFramer::new(::flatstream::XxHash64::new());
                $body
            }
            $crate::framing::Framing::Crc32 => {
                let $f = ::flatstream::ChecksumFramer::new(::flatstream::Crc32::new());
                $body
            }
            $crate::framing::Framing::Crc16 => {
                let $f = ::flatstream::ChecksumFramer::new(::flatstream::Crc16::new());
                $body
            }
        }
    };
}

pub(crate) use {with_deframer, with_framer};

#[cfg(test)]
mod tests {
    use flatstream::{Deframer, Framer};

    use super::*;

    #[test]
    fn header_lengths_match_the_library() {
        for framing in Framing::ALL {
            let deframer_len = with_deframer!(framing, |d| d.header_len());
            let framer_len = with_framer!(framing, |f| f.header_len());
            assert_eq!(deframer_len, framing.header_len(), "{framing}");
            assert_eq!(framer_len, framing.header_len(), "{framing}");
        }
    }
}
