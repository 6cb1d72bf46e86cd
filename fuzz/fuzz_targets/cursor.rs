//! Arbitrary bytes, chunking and damage policy through `SliceReader`,
//! `StreamReader` and a hand-written `FrameCursor` driver: the same outcomes,
//! bounded memory, and `is_resumable` telling the truth.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: flatstream_fuzz::CursorInput| {
    flatstream_fuzz::fuzz_cursor(&input);
});
