//! The limit key: which requests share one bucket, built from the parts a route's
//! `rate_limit.key` lists (client IP, a request header, the route, a JWT claim).
//!
//! A part that is absent (no such header, no claims, no such claim) becomes `-`, so requests
//! without it share one bucket rather than escaping the limit.

use std::net::IpAddr;

use http::HeaderName;

/// Verified JWT claims, put in the request extensions by the authentication layer for later
/// layers (`claim:NAME` keys read them).
///
/// ```
/// use gateway::ratelimit::AuthClaims;
///
/// let claims: serde_json::Map<String, serde_json::Value> =
///     serde_json::from_str(r#"{"sub": "alice", "tier": 2}"#).unwrap();
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(AuthClaims(claims));
/// assert!(request.extensions().get::<AuthClaims>().is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthClaims(pub serde_json::Map<String, serde_json::Value>);

/// One part of a limit key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    /// The client address (see `client_ip.trusted_proxies`).
    ClientIp,
    /// A request header's value (the first one, if repeated); `-` when absent or not text.
    Header(HeaderName),
    /// The route: one bucket for all the route's requests.
    Route,
    /// A top-level claim of [`AuthClaims`]: strings as is, other JSON values as JSON text;
    /// `-` when there are no claims or no such claim.
    Claim(String),
}

/// What a key is built from, per request.
#[derive(Debug)]
pub struct KeySource<'a> {
    /// The route's name.
    pub route: &'a str,
    /// The client address, already resolved through trusted proxies.
    pub client_ip: IpAddr,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The verified claims, if authentication ran.
    pub claims: Option<&'a AuthClaims>,
}

/// Separates key parts: a byte that cannot occur in header values, so two different
/// requests never build the same key.
const SEPARATOR: char = '\u{1f}';
const ABSENT: &str = "-";

/// The key for `source` from `parts`, prefixed with the route (routes never share buckets).
pub fn build(parts: &[KeyPart], source: &KeySource<'_>) -> String {
    let mut key = String::with_capacity(64);
    key.push_str(source.route);
    for part in parts {
        key.push(SEPARATOR);
        match part {
            KeyPart::ClientIp => {
                use std::fmt::Write as _;
                let _ = write!(key, "{}", source.client_ip);
            }
            KeyPart::Header(name) => key.push_str(
                source
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(ABSENT),
            ),
            KeyPart::Route => {}
            KeyPart::Claim(name) => match source.claims.and_then(|c| c.0.get(name)) {
                Some(serde_json::Value::String(s)) => key.push_str(s),
                Some(other) => key.push_str(&other.to_string()),
                None => key.push_str(ABSENT),
            },
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;

    use super::*;

    fn source<'a>(headers: &'a HeaderMap, claims: Option<&'a AuthClaims>) -> KeySource<'a> {
        KeySource {
            route: "users",
            client_ip: "192.0.2.1".parse().unwrap(),
            headers,
            claims,
        }
    }

    #[test]
    fn key_joins_route_and_parts_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "k1".parse().unwrap());
        let parts = [
            KeyPart::ClientIp,
            KeyPart::Header(HeaderName::from_static("x-api-key")),
        ];
        assert_eq!(
            build(&parts, &source(&headers, None)),
            "users\u{1f}192.0.2.1\u{1f}k1"
        );
        assert_eq!(
            build(&[KeyPart::Route], &source(&headers, None)),
            "users\u{1f}"
        );
    }

    #[test]
    fn missing_header_and_missing_claim_become_a_dash() {
        let headers = HeaderMap::new();
        let parts = [
            KeyPart::Header(HeaderName::from_static("x-api-key")),
            KeyPart::Claim("sub".into()),
        ];
        assert_eq!(
            build(&parts, &source(&headers, None)),
            "users\u{1f}-\u{1f}-"
        );
        let claims = AuthClaims(serde_json::Map::new());
        assert_eq!(
            build(&parts, &source(&headers, Some(&claims))),
            "users\u{1f}-\u{1f}-"
        );
    }

    #[test]
    fn claims_key_strings_as_text_and_other_values_as_json() {
        let headers = HeaderMap::new();
        let claims = AuthClaims(
            serde_json::from_str(r#"{"sub": "alice", "tier": 2, "org": {"id": 7}}"#).unwrap(),
        );
        let parts = [
            KeyPart::Claim("sub".into()),
            KeyPart::Claim("tier".into()),
            KeyPart::Claim("org".into()),
        ];
        assert_eq!(
            build(&parts, &source(&headers, Some(&claims))),
            "users\u{1f}alice\u{1f}2\u{1f}{\"id\":7}"
        );
    }
}
