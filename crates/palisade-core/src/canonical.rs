//! Canonical JSON encoding of ledger event bodies (RFC 8785, "JCS"), restricted to the subset
//! Palisade events use: objects, arrays, strings, booleans, null and integers of magnitude at most
//! 2^53 − 1. Floating-point numbers are refused, so every number has exactly one spelling.
//!
//! The rules (see `docs/ledger-format.md`):
//! - no insignificant whitespace;
//! - object members sorted by their keys' UTF-16 code units;
//! - strings escaped as ECMAScript's `JSON.stringify` does: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
//!   `\t`, other control characters as `\u00xx` (lower-case hex), everything else literal UTF-8;
//! - integers in plain decimal.

use serde_json::Value;

/// Largest integer that an IEEE 754 double (and so any JCS implementation) represents exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("floating-point number {0} has no canonical encoding in ledger format v1")]
    Float(String),
    #[error("integer {0} is outside ±(2^53−1) and has no exact canonical encoding")]
    IntegerOutOfRange(String),
}

/// Encode `value` canonically.
pub fn to_canonical(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Serialize any `Serialize` type to canonical JSON.
pub fn to_canonical_from<T: serde::Serialize>(value: &T) -> Result<String, CanonicalError> {
    let v = serde_json::to_value(value).map_err(|e| CanonicalError::Float(e.to_string()))?;
    to_canonical(&v)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u > MAX_SAFE_INTEGER {
                    return Err(CanonicalError::IntegerOutOfRange(n.to_string()));
                }
                out.push_str(&u.to_string());
            } else if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > MAX_SAFE_INTEGER {
                    return Err(CanonicalError::IntegerOutOfRange(n.to_string()));
                }
                out.push_str(&i.to_string());
            } else {
                return Err(CanonicalError::Float(n.to_string()));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, &map[key])?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn check(input: Value, expect: &str) {
        assert_eq!(to_canonical(&input).unwrap(), expect);
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        check(
            json!({"b": 1, "a": [true, null, "x"], "c": {"z": 0, "y": -5}}),
            r#"{"a":[true,null,"x"],"b":1,"c":{"y":-5,"z":0}}"#,
        );
    }

    #[test]
    fn escapes_like_json_stringify() {
        check(
            json!("quote\" back\\ nl\n tab\t bell\u{7} del\u{7f} é €"),
            "\"quote\\\" back\\\\ nl\\n tab\\t bell\\u0007 del\u{7f} é €\"",
        );
    }

    #[test]
    fn key_order_is_utf16_not_utf8() {
        // U+E000 sorts after U+1F600 in UTF-8 byte order but before it in UTF-16 order,
        // because U+1F600 is encoded with a surrogate pair starting 0xD83D.
        let v = json!({"\u{e000}": 1, "\u{1f600}": 2});
        assert_eq!(
            to_canonical(&v).unwrap(),
            "{\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
    }

    #[test]
    fn refuses_floats_and_unsafe_integers() {
        assert!(matches!(
            to_canonical(&json!(1.5)),
            Err(CanonicalError::Float(_))
        ));
        assert!(matches!(
            to_canonical(&json!(1u64 << 53)),
            Err(CanonicalError::IntegerOutOfRange(_))
        ));
        assert_eq!(
            to_canonical(&json!(MAX_SAFE_INTEGER)).unwrap(),
            "9007199254740991"
        );
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(MAX_SAFE_INTEGER as i64)..=(MAX_SAFE_INTEGER as i64)).prop_map(|i| json!(i)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Parsing the canonical text gives back the same value, and encoding that again gives
        /// byte-identical text: the encoding is a fixed point.
        #[test]
        fn round_trips(v in arb_value()) {
            let text = to_canonical(&v).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(to_canonical(&back).unwrap(), text);
        }
    }
}
