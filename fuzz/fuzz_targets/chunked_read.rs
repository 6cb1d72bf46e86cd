//! A valid stream, with or without a torn tail, read through arbitrary chunks
//! with `Interrupted` and `WouldBlock`: nothing lost, repeated or invented.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: flatstream_fuzz::ChunkedReadInput| {
    flatstream_fuzz::fuzz_chunked_read(&input);
});
