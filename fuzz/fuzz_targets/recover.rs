//! Arbitrary bytes through `recover` with every deframer: no panic, bounded
//! memory, and the same frames and tail as a plain reader says there are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flatstream_fuzz::fuzz_recover(data));
