//! Comparing our JSON with flatc's as parsed values, floats with a
//! tolerance. Shared through `#[path = "support/compare.rs"] mod compare;`.

#![allow(dead_code, reason = "each test file uses a subset")]

use serde_json::Value;

/// `|ours - flatc| <= TOLERANCE * (1 + |flatc|)`.
pub(crate) const TOLERANCE: f64 = 1e-6;

/// Parses JSON that may hold flatc's bare `nan`, `-nan`, `inf` and `-inf`
/// tokens (turned into the strings `"nan"`, `"-nan"`, `"inf"`, `"-inf"`).
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let mut clean = String::with_capacity(text.len() + 16);
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\\' {
                clean.push_str(&text[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else {
            let rest = &text[i..];
            let token = ["-nan", "nan", "-inf", "inf"]
                .into_iter()
                .find(|t| rest.starts_with(t));
            if let Some(token) = token {
                clean.push('"');
                clean.push_str(token);
                clean.push('"');
                i += token.len();
                continue;
            }
        }
        // Push the whole UTF-8 character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        clean.push_str(&text[i..i + len]);
        i += len;
    }
    serde_json::from_str(&clean).map_err(|e| format!("{e} in {text}"))
}

/// The differences between `ours` and `flatc`'s value, one line each.
pub(crate) fn differences(ours: &Value, flatc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("$", ours, flatc, &mut out);
    out
}

fn diff(path: &str, ours: &Value, flatc: &Value, out: &mut Vec<String>) {
    match (ours, flatc) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, x) in a {
                match b.get(key) {
                    Some(y) => diff(&format!("{path}.{key}"), x, y, out),
                    None => out.push(format!("{path}.{key}: only ours has {x}")),
                }
            }
            for (key, y) in b {
                if !a.contains_key(key) {
                    out.push(format!("{path}.{key}: only flatc has {y}"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{path}: {} elements, flatc has {}",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let same = if y.is_f64() {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                (x - y).abs() <= TOLERANCE * (1.0 + y.abs())
            } else {
                x.is_i64() == y.is_i64() && x.as_i64() == y.as_i64() && x.as_u64() == y.as_u64()
            };
            if !same {
                out.push(format!("{path}: ours {x}, flatc {y}"));
            }
        }
        (x, y) => {
            if x != y {
                out.push(format!("{path}: ours {x}, flatc {y}"));
            }
        }
    }
}
