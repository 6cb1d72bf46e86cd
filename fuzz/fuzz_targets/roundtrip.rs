//! Payloads written with every framer read back exactly, through a source that
//! returns data in arbitrary chunks.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: flatstream_fuzz::RoundtripInput| {
    flatstream_fuzz::fuzz_roundtrip(&input);
});
