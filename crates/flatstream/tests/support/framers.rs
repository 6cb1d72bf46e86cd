//! The framer pairs of this build, shared by the integration tests through
//! `#[path = "support/framers.rs"] mod framers;`.

/// Expands `$m!(name, FramerType, DeframerType)` once for every framer pair
/// available in this build: the plain pair always, each checksum pair when its
/// feature is on.
#[allow(unused_macros, reason = "some test files need only the checksum pairs")]
macro_rules! for_each_framer_pair {
    ($m:ident) => {
        $m!(
            plain,
            ::flatstream::DefaultFramer,
            ::flatstream::DefaultDeframer
        );
        #[cfg(feature = "xxhash")]
        $m!(
            xxhash64,
            ::flatstream::ChecksumFramer<::flatstream::XxHash64>,
            ::flatstream::ChecksumDeframer<::flatstream::XxHash64>
        );
        #[cfg(feature = "crc32")]
        $m!(
            crc32,
            ::flatstream::ChecksumFramer<::flatstream::Crc32>,
            ::flatstream::ChecksumDeframer<::flatstream::Crc32>
        );
        #[cfg(feature = "crc16")]
        $m!(
            crc16,
            ::flatstream::ChecksumFramer<::flatstream::Crc16>,
            ::flatstream::ChecksumDeframer<::flatstream::Crc16>
        );
    };
}

#[allow(
    unused_imports,
    reason = "some test files need only the checksum pairs"
)]
pub(crate) use for_each_framer_pair;

/// Expands `$m!(name, FramerType, DeframerType)` once for every checksum
/// framer pair available in this build (none without checksum features).
#[allow(unused_macros, reason = "only some test files need the checksum pairs")]
macro_rules! for_each_checksum_framer_pair {
    ($m:ident) => {
        #[cfg(feature = "xxhash")]
        $m!(
            xxhash64,
            ::flatstream::ChecksumFramer<::flatstream::XxHash64>,
            ::flatstream::ChecksumDeframer<::flatstream::XxHash64>
        );
        #[cfg(feature = "crc32")]
        $m!(
            crc32,
            ::flatstream::ChecksumFramer<::flatstream::Crc32>,
            ::flatstream::ChecksumDeframer<::flatstream::Crc32>
        );
        #[cfg(feature = "crc16")]
        $m!(
            crc16,
            ::flatstream::ChecksumFramer<::flatstream::Crc16>,
            ::flatstream::ChecksumDeframer<::flatstream::Crc16>
        );
    };
}

#[allow(
    unused_imports,
    reason = "only some test files need the checksum pairs"
)]
pub(crate) use for_each_checksum_framer_pair;
