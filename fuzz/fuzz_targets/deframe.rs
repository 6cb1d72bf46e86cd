//! Arbitrary bytes through every deframer: no panic, bounded memory, and the
//! `StreamReader` agrees with `Deframer::decode` frame for frame.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flatstream_fuzz::fuzz_deframe(data));
