//! Reading query strings the way Jaeger (a Go server) reads them: `url.Values` decoding, and
//! Go's integer, boolean and duration syntax with Go's error texts, so our 400 messages match
//! what a client sees from a real Jaeger.

use std::time::Duration;

use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A malformed parameter value, worded like the Go function Jaeger calls.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum ParamError {
    /// `strconv.ParseInt` refused the text.
    #[error("strconv.ParseInt: parsing {0:?}: invalid syntax")]
    Int(String),
    /// `strconv.ParseInt` read a number outside the type's range.
    #[error("strconv.ParseInt: parsing {0:?}: value out of range")]
    IntRange(String),
    /// `strconv.ParseBool` refused the text.
    #[error("strconv.ParseBool: parsing {0:?}: invalid syntax")]
    Bool(String),
    /// `time.ParseDuration` found no valid number/unit sequence.
    #[error("time: invalid duration {0:?}")]
    Duration(String),
    /// `time.ParseDuration` found a number without a unit.
    #[error("time: missing unit in duration {0:?}")]
    DurationUnitMissing(String),
    /// `time.ParseDuration` found an unknown unit.
    #[error("time: unknown unit {unit:?} in duration {text:?}")]
    DurationUnit {
        /// The unit as written.
        unit: String,
        /// The whole value.
        text: String,
    },
    /// Not an RFC 3339 timestamp.
    #[error("parsing time {text:?} as RFC 3339: {reason}")]
    Rfc3339 {
        /// The value.
        text: String,
        /// What the parser disliked.
        reason: String,
    },
    /// A negative duration where only positive ones make sense (search bounds).
    #[error("time: negative duration {0:?}")]
    NegativeDuration(String),
}

/// Decoded query parameters in arrival order, with Go's `url.Values` semantics.
#[derive(Debug, Default, Clone)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

// === impl QueryParams ===

impl QueryParams {
    /// Decodes `a=1&b=%20x+y`; like Go's `url.Query()`, pairs with a bad escape are dropped.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|part| !part.is_empty())
            .filter_map(|part| {
                let (key, value) = part.split_once('=').unwrap_or((part, ""));
                Some((unescape(key)?, unescape(value)?))
            })
            .collect();
        Self { pairs }
    }

    /// The first non-empty value of `key`, which is what Go's `Values.Get` gives after the
    /// handler treats `""` as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `key`, in order.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value among `names` (canonical name first, then aliases), with the
    /// name that supplied it, as Jaeger's api_v3 parameter resolver does.
    pub(crate) fn resolve(&self, names: &[&'static str]) -> Option<(&'static str, &str)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
    }
}

/// Percent-decodes a query component, `+` meaning space (Go's `QueryUnescape`).
pub(crate) fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Go's `strconv.ParseInt(text, 10, 64)`.
pub(crate) fn parse_i64(text: &str) -> Result<i64, ParamError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::Int(text.to_owned()));
    }
    text.parse()
        .map_err(|_| ParamError::IntRange(text.to_owned()))
}

/// Go's `strconv.ParseBool`: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
pub(crate) fn parse_bool(text: &str) -> Result<bool, ParamError> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(ParamError::Bool(text.to_owned())),
    }
}

/// Go's `time.ParseDuration` for non-negative values: a sequence of decimal numbers with
/// units `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h` (`1.5s`, `1h30m`, `0`).
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, ParamError> {
    let invalid = || ParamError::Duration(text.to_owned());
    let rest = match text.strip_prefix('-') {
        Some(rest) if rest.trim_start_matches('0').is_empty() && !rest.is_empty() => {
            return Ok(Duration::ZERO);
        }
        Some(_) => return Err(ParamError::NegativeDuration(text.to_owned())),
        None => text.strip_prefix('+').unwrap_or(text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_ns: f64 = 0.0;
    let mut remaining = rest;
    while !remaining.is_empty() {
        let number_len = remaining
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(remaining.len());
        let (number, after) = remaining.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "" => return Err(ParamError::DurationUnitMissing(text.to_owned())),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => {
                return Err(ParamError::DurationUnit {
                    unit: other.to_owned(),
                    text: text.to_owned(),
                });
            }
        };
        total_ns += value * scale;
        remaining = next;
    }
    if total_ns > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total_ns.round() as u64))
}

/// An RFC 3339 timestamp (Go's `time.RFC3339Nano` layout) as nanoseconds since the Unix
/// epoch, clamped to zero for earlier instants.
pub(crate) fn parse_rfc3339_ns(text: &str) -> Result<u64, ParamError> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| ParamError::Rfc3339 {
        text: text.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(u64::try_from(parsed.unix_timestamp_nanos()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode_escapes_and_keep_repeats() {
        let q = QueryParams::parse(Some("tag=a%3Ab&tag=c:d+e&x=&bad=%zz&service=gw"));
        assert_eq!(q.all("tag").collect::<Vec<_>>(), ["a:b", "c:d e"]);
        assert_eq!(q.get("x"), None);
        assert_eq!(q.get("bad"), None);
        assert_eq!(q.get("service"), Some("gw"));
    }

    #[test]
    fn query_params_resolve_prefers_the_canonical_name() {
        let q = QueryParams::parse(Some("query.service_name=old&query.serviceName=new"));
        assert_eq!(
            q.resolve(&["query.serviceName", "query.service_name"]),
            Some(("query.serviceName", "new"))
        );
        let q = QueryParams::parse(Some("query.service_name=old"));
        assert_eq!(
            q.resolve(&["query.serviceName", "query.service_name"]),
            Some(("query.service_name", "old"))
        );
    }

    #[test]
    fn go_ints_and_bools_parse_with_go_errors() {
        assert_eq!(parse_i64("-42"), Ok(-42));
        assert_eq!(
            parse_i64("4x").unwrap_err().to_string(),
            r#"strconv.ParseInt: parsing "4x": invalid syntax"#
        );
        assert!(matches!(
            parse_i64("99999999999999999999"),
            Err(ParamError::IntRange(_))
        ));
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }

    #[test]
    fn go_durations_parse_every_unit_and_compound_values() {
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_go_duration("3us"), Ok(Duration::from_micros(3)));
        assert_eq!(parse_go_duration("3µs"), Ok(Duration::from_micros(3)));
        assert_eq!(parse_go_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn go_durations_reject_like_go() {
        assert_eq!(
            parse_go_duration("5").unwrap_err().to_string(),
            r#"time: missing unit in duration "5""#
        );
        assert_eq!(
            parse_go_duration("5d").unwrap_err().to_string(),
            r#"time: unknown unit "d" in duration "5d""#
        );
        assert_eq!(
            parse_go_duration("abc").unwrap_err().to_string(),
            r#"time: invalid duration "abc""#
        );
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("-1s").is_err());
    }

    #[test]
    fn rfc3339_parses_nanos_and_offsets() {
        assert_eq!(
            parse_rfc3339_ns("1970-01-01T00:00:01.5Z"),
            Ok(1_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("1970-01-01T01:00:01+01:00"),
            Ok(1_000_000_000)
        );
        assert!(parse_rfc3339_ns("yesterday").is_err());
    }
}
