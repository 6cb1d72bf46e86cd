//! The `reflect` target: arbitrary bytes verified and printed as JSON by
//! `flatstream-reflect`, against the committed telemetry and all-features
//! schemas.
//!
//! The first byte picks the root (telemetry `Telemetry`, all-features
//! `Everything` or `Monster`); the rest is the buffer. `verify` and
//! `write_json` agree (same error, nothing written on error); what verifies
//! prints as UTF-8 JSON (flatc's `nan`/`inf` tokens aside) of bounded size;
//! verifying allocates nothing, and printing no more than its output.

use std::sync::LazyLock;

use flatstream_reflect::{Root, Schema};

static TELEMETRY: LazyLock<Schema> = LazyLock::new(|| {
    let bfbs = include_bytes!("../../crates/flatstream-reflect/schema/telemetry.bfbs");
    Schema::from_bfbs(bfbs.to_vec()).expect("the committed telemetry.bfbs loads")
});

static ALL_FEATURES: LazyLock<Schema> = LazyLock::new(|| {
    let bfbs = include_bytes!("../../crates/flatstream-reflect/tests/schemas/all_features.bfbs");
    Schema::from_bfbs(bfbs.to_vec()).expect("the committed all_features.bfbs loads")
});

/// The root the first input byte picks.
fn root(selector: u8) -> Root<'static> {
    match selector % 3 {
        0 => TELEMETRY.root(None),
        1 => ALL_FEATURES.root(None),
        _ => ALL_FEATURES.root(Some("Monster")),
    }
    .expect("the committed schemas have these roots")
}

/// The most JSON a buffer of `len` bytes may print (the proptest's bound):
/// verification visits at most 8 times the buffer (at least 64 KiB), and
/// each byte visited prints a few bytes.
fn json_bound(len: usize) -> usize {
    16 * (8 * len).max(64 * 1024)
}

/// Checks one input (see the module documentation).
///
/// # Panics
///
/// When an invariant fails.
pub fn fuzz_reflect(data: &[u8]) {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    let root = root(selector);
    let (verified, verify_heap) = crate::peak_heap(|| root.verify(buf));
    let mut out = Vec::new();
    let (written, write_heap) = crate::peak_heap(|| root.write_json(buf, &mut out));
    match (&verified, &written) {
        (Ok(()), Ok(())) => {
            assert_eq!(verify_heap, 0, "verify allocated {verify_heap} bytes");
            assert!(
                out.len() <= json_bound(buf.len()),
                "{} bytes of JSON",
                out.len()
            );
            assert!(
                write_heap <= 2 * out.capacity() + 4096,
                "write_json peaked at {write_heap} bytes"
            );
            let text = std::str::from_utf8(&out).expect("UTF-8 JSON");
            let json = text
                .replace("-nan", "null")
                .replace("nan", "null")
                .replace("-inf", "null")
                .replace("inf", "null");
            // The replacements may touch strings too: only the syntax matters.
            serde_json::from_str::<serde_json::Value>(&json).expect("parseable JSON");
        }
        (Err(a), Err(b)) => {
            assert!(a.is_invalid_buffer(), "{a}");
            assert_eq!(a.to_string(), b.to_string());
            assert!(out.is_empty(), "JSON written for an invalid buffer");
        }
        _ => panic!("verify {verified:?} but write_json {written:?}"),
    }
}
