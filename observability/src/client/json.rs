//! A JSON reader that knows where it is, so every decode error names the offending field.
//!
//! Responses are parsed into `serde_json::Value` first and walked by hand instead of derived
//! `Deserialize` structs: serde_json's own errors give a line and column but not the field
//! path, and the wire formats here need lenient scalars anyway (OTLP-JSON and Jaeger write
//! 64-bit integers as strings or numbers; proto3 JSON writes `NaN` and `Infinity` as strings).

use serde_json::Value;

use super::error::DecodeError;

/// A value plus its path from the document root, e.g. `result.resourceSpans[0].resource`.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    value: &'a Value,
    path: String,
}

// === impl Node ===

impl<'a> Node<'a> {
    pub(crate) fn root(value: &'a Value) -> Self {
        Self {
            value,
            path: String::new(),
        }
    }

    pub(crate) fn error(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            path: if self.path.is_empty() {
                "$".to_owned()
            } else {
                self.path.clone()
            },
            reason: reason.into(),
        }
    }

    fn expected(&self, what: &str) -> DecodeError {
        self.error(format!("expected {what}, got {}", describe(self.value)))
    }

    fn child(&self, key: &str, value: &'a Value) -> Node<'a> {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Node { value, path }
    }

    /// The field `key`, or `None` when it is absent or `null` (proto3 JSON omits defaults).
    pub(crate) fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(self.child(key, value)),
        }
    }

    /// The field `key`, which must be present and not `null`.
    pub(crate) fn field(&self, key: &str) -> Result<Node<'a>, DecodeError> {
        if !self.value.is_object() {
            return Err(self.expected("an object"));
        }
        self.get(key)
            .ok_or_else(|| self.child(key, &Value::Null).error("missing field"))
    }

    /// The elements of this array.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, DecodeError> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.expected("an array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// The elements of the array field `key`; absent or `null` reads as empty.
    pub(crate) fn items_of(&self, key: &str) -> Result<Vec<Node<'a>>, DecodeError> {
        self.get(key).map_or(Ok(Vec::new()), |n| n.items())
    }

    /// The members of this object, in document order.
    pub(crate) fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>, DecodeError> {
        let object = self
            .value
            .as_object()
            .ok_or_else(|| self.expected("an object"))?;
        Ok(object
            .iter()
            .map(|(k, v)| (k.as_str(), self.child(k, v)))
            .collect())
    }

    pub(crate) fn is_string(&self) -> bool {
        self.value.is_string()
    }

    pub(crate) fn str(&self) -> Result<&'a str, DecodeError> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    /// The string field `key`; absent or `null` reads as `""` (the proto3 default).
    pub(crate) fn str_of(&self, key: &str) -> Result<&'a str, DecodeError> {
        self.get(key).map_or(Ok(""), |n| n.str())
    }

    pub(crate) fn bool(&self) -> Result<bool, DecodeError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.expected("a boolean"))
    }

    /// A non-negative integer written as a JSON number or a decimal string.
    pub(crate) fn u64(&self) -> Result<u64, DecodeError> {
        match self.value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| self.expected("an unsigned integer (number or decimal string)"))
    }

    /// A signed integer written as a JSON number or a decimal string.
    pub(crate) fn i64(&self) -> Result<i64, DecodeError> {
        match self.value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| self.expected("a 64-bit integer (number or decimal string)"))
    }

    /// A float written as a JSON number or a string (`"NaN"`, `"Infinity"`, `"-Infinity"`,
    /// `"+Inf"`, decimal).
    pub(crate) fn f64(&self) -> Result<f64, DecodeError> {
        match self.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| self.expected("a float (number or string)"))
    }

    /// Bytes written as base64 (standard or URL-safe alphabet, padding optional).
    pub(crate) fn base64(&self) -> Result<Vec<u8>, DecodeError> {
        let text = self.str()?;
        decode_base64(text).ok_or_else(|| self.expected("base64 data"))
    }
}

/// A short rendering of a value for error messages.
fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null (or nothing)".to_owned(),
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{kind} {}…", text.get(..cut).unwrap_or_default()),
        None => format!("{kind} {text}"),
    }
}

/// Decodes base64 as Go's `[]byte` JSON encoding and proto3 JSON write it. `None` on any
/// invalid character or impossible length.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // One leftover sextet cannot encode a byte; 2 or 4 leftover bits are padding.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_padded_unpadded_and_url_safe() {
        assert_eq!(decode_base64("AAAwOQ==").unwrap(), vec![0, 0, 0x30, 0x39]);
        assert_eq!(decode_base64("AAAwOQ").unwrap(), vec![0, 0, 0x30, 0x39]);
        assert_eq!(decode_base64("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_base64("").unwrap(), Vec::<u8>::new());
        assert_eq!(decode_base64("A"), None);
        assert_eq!(decode_base64("AA*A"), None);
    }

    #[test]
    fn errors_carry_the_full_field_path() {
        let doc: Value = serde_json::json!({"a": [{"b": "x"}, {"b": 5}]});
        let root = Node::root(&doc);
        let items = root.field("a").unwrap().items().unwrap();
        let [first, second] = items.as_slice() else {
            panic!("two items")
        };
        let err = second.field("b").unwrap().str().unwrap_err();
        assert_eq!(err.path, "a[1].b");
        assert_eq!(err.reason, "expected a string, got number 5");
        let err = first.field("c").unwrap_err();
        assert_eq!(err.path, "a[0].c");
        assert_eq!(err.reason, "missing field");
    }

    #[test]
    fn integers_accept_numbers_and_decimal_strings() {
        let doc = serde_json::json!({"n": 7, "s": "1706678909209712000", "bad": "1.5"});
        let root = Node::root(&doc);
        assert_eq!(root.field("n").unwrap().u64().unwrap(), 7);
        assert_eq!(
            root.field("s").unwrap().u64().unwrap(),
            1_706_678_909_209_712_000
        );
        let err = root.field("bad").unwrap().i64().unwrap_err();
        assert_eq!(err.path, "bad");
    }
}
