//! The framer pairs of this build, as macros that generate a module of tests
//! per pair: `framers::for_each_framer_pair!(my_tests);`.

/// Expands `$m!(name, FramerType, DeframerType)` once for every framer pair
/// available in this build: the plain pair always, each checksum pair when its
/// feature is on.
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

pub(crate) use for_each_framer_pair;

/// Expands `$m!(name, FramerType, DeframerType)` once for every checksum
/// framer pair available in this build. Defined only in builds with a
/// checksum feature, like the tests that use it.
#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
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

#[cfg(any(feature = "xxhash", feature = "crc32", feature = "crc16"))]
pub(crate) use for_each_checksum_framer_pair;
