//! What a plain scalar means under the YAML 1.2 core schema: null, bool, int, float or string.

/// The meaning of a scalar's text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    /// `null`, `Null`, `NULL`, `~` or nothing at all.
    Null,
    /// `true`/`false` (also capitalized or upper case).
    Bool(bool),
    /// Decimal (optionally signed), `0o` octal or `0x` hexadecimal.
    Int(i128),
    /// Integer syntax, but beyond 128 bits.
    IntOutOfRange,
    /// Decimal with fraction or exponent, `.inf`, `-.inf`, `.nan`.
    Float(f64),
    /// Anything else, and every quoted or block scalar.
    Str,
}

/// Resolves a plain (unquoted) scalar.
pub(crate) fn resolve_plain(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    if let Some(digits) = text.strip_prefix("0o") {
        return radix_int(digits, 8);
    }
    if let Some(digits) = text.strip_prefix("0x") {
        return radix_int(digits, 16);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        let negative = text.starts_with('-');
        return Resolved::Float(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i128>() {
            Ok(value) => Resolved::Int(value),
            Err(_) => Resolved::IntOutOfRange,
        };
    }
    if is_float(unsigned) {
        // The grammar check above is stricter than Rust's parser, which therefore accepts it.
        return text.parse::<f64>().map_or(Resolved::Str, Resolved::Float);
    }
    Resolved::Str
}

fn radix_int(digits: &str, radix: u32) -> Resolved {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Resolved::Str;
    }
    match i128::from_str_radix(digits, radix) {
        Ok(value) => Resolved::Int(value),
        Err(_) => Resolved::IntOutOfRange,
    }
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the sign already stripped.
fn is_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(frac) => digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_plain_null_forms_are_null() {
        for text in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(text), Resolved::Null, "{text:?}");
        }
    }

    #[test]
    fn resolve_plain_bool_forms_are_bool() {
        assert_eq!(resolve_plain("true"), Resolved::Bool(true));
        assert_eq!(resolve_plain("FALSE"), Resolved::Bool(false));
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("tRUE"), Resolved::Str);
    }

    #[test]
    fn resolve_plain_int_forms_are_int() {
        assert_eq!(resolve_plain("8080"), Resolved::Int(8080));
        assert_eq!(resolve_plain("-12"), Resolved::Int(-12));
        assert_eq!(resolve_plain("+7"), Resolved::Int(7));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0o19"), Resolved::Str);
        assert_eq!(resolve_plain("0x"), Resolved::Str);
        assert_eq!(resolve_plain("1_000"), Resolved::Str);
        assert_eq!(
            resolve_plain("999999999999999999999999999999999999999999"),
            Resolved::IntOutOfRange
        );
    }

    #[test]
    fn resolve_plain_float_forms_are_float() {
        assert_eq!(resolve_plain("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("2."), Resolved::Float(2.0));
        assert_eq!(resolve_plain("-1e3"), Resolved::Float(-1000.0));
        assert_eq!(resolve_plain("1E-2"), Resolved::Float(0.01));
        assert_eq!(resolve_plain(".inf"), Resolved::Float(f64::INFINITY));
        assert_eq!(resolve_plain("-.Inf"), Resolved::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".nan"), Resolved::Float(f) if f.is_nan()));
        for text in [".", "e5", "1e", "inf", "nan", "1.2.3", "5s", "-", "+.e1"] {
            assert_eq!(resolve_plain(text), Resolved::Str, "{text:?}");
        }
    }
}
