//! Payload bytes shared by the benches, through
//! `#[path = "support/payload.rs"] mod payload;`.

/// Deterministic, incompressible-looking payload bytes (a xorshift sequence).
pub(crate) fn payload(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}
