//! A checksummed stream damaged in one region, read with `AfterDamage::Resync`:
//! nothing invented, nothing reordered, every frame outside the damage saved.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: flatstream_fuzz::SalvageInput| {
    flatstream_fuzz::fuzz_salvage(&input);
});
