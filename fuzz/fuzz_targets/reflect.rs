//! Arbitrary bytes verified and printed as JSON with `flatstream-reflect`:
//! no panic, `verify` and `write_json` agree, bounded output and memory.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flatstream_fuzz::fuzz_reflect(data));
