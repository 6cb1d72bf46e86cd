//! Arbitrary bytes through every recovery path with every deframer: no
//! panic, bounded memory, the same result every way, and the rules of
//! recovery (intact prefix, real tails only, zero fill, salvage report).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flatstream_fuzz::fuzz_recover(data));
