//! Arbitrary bytes, chunking and damage policy through `FlatStreamCodec`
//! (as `FramedRead` feeds it) and `AsyncStreamReader` (with `Pending`
//! where bytes are late): the outcomes of `SliceReader`, bounded memory.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: flatstream_fuzz::CursorInput| {
    flatstream_fuzz::fuzz_codec(&input);
});
