//! One token, checked in order from cheapest to dearest: extraction from `Authorization`,
//! size, shape (three base64url segments), header (`alg`, `kid`), then signature and
//! registered claims (`jsonwebtoken`), then `iat`.
//!
//! Everything before the signature check reads attacker-controlled bytes, so it is bounded
//! ([`MAX_TOKEN_BYTES`]) and allocation-light; nothing here logs or returns token material.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::error::AuthRejection;
use super::keys;

/// Longest token accepted (8 KiB); longer ones are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Longest encoded JOSE header accepted (a header is tens of bytes; 1 KiB leaves room for
/// `x5t`, `typ`, `cty` without letting a header dominate the token budget).
const MAX_HEADER_BYTES: usize = 1024;

/// The verified claims of a token.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// What the JOSE header says, once its `alg` is one the gateway knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TokenHead {
    /// The signing algorithm.
    pub(super) alg: Algorithm,
    /// The key id: `None` when absent; `Some(Err(()))` when present but not a safe identifier.
    pub(super) kid: Option<Result<String, ()>>,
}

#[derive(Deserialize)]
struct RawHead {
    alg: String,
    #[serde(default)]
    kid: Option<serde_json::Value>,
}

/// The bearer token of a request: the single `Authorization` header's value after the
/// case-insensitive `Bearer` scheme. No header, or another scheme, is [`AuthRejection::Missing`]
/// (RFC 6750: no bearer credentials); several headers or an empty token are malformed.
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthRejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthRejection::Missing);
    };
    if values.next().is_some() {
        return Err(AuthRejection::Malformed);
    }
    let bytes = value.as_bytes();
    let is_bearer = bytes.len() >= 7
        && bytes[..6].eq_ignore_ascii_case(b"bearer")
        && (bytes[6] == b' ' || bytes[6] == b'\t');
    if !is_bearer {
        // `Basic ...`, `Negotiate ...` or garbage: not bearer credentials.
        return Err(AuthRejection::Missing);
    }
    // Size first: an oversized header is refused before it is even read as text.
    if bytes.len() > MAX_TOKEN_BYTES + 7 + 16 {
        return Err(AuthRejection::Malformed);
    }
    let token = value
        .to_str()
        .map_err(|_| AuthRejection::Malformed)?
        .get(7..)
        .unwrap_or("")
        .trim_matches(|c| c == ' ' || c == '\t');
    if token.is_empty() {
        return Err(AuthRejection::Malformed);
    }
    Ok(token)
}

/// Checks the token's size and shape and reads its header.
pub(super) fn parse_head(token: &str) -> Result<TokenHead, AuthRejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthRejection::Malformed);
    }
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(AuthRejection::Malformed);
    };
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    // The header first, so `alg: none` (which comes with an empty signature) is reported as
    // the algorithm it is rather than as a shape error.
    if header.is_empty() || header.len() > MAX_HEADER_BYTES || !base64url(header) {
        return Err(AuthRejection::Malformed);
    }
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthRejection::Malformed)?;
    let raw: RawHead = serde_json::from_slice(&json).map_err(|_| AuthRejection::Malformed)?;
    // `none`, lowercase spellings and unknown names are all outside any allowlist.
    let alg = keys::algorithm(&raw.alg).ok_or(AuthRejection::Algorithm)?;
    if payload.is_empty() || signature.is_empty() || !base64url(payload) || !base64url(signature) {
        return Err(AuthRejection::Malformed);
    }
    let kid = raw.kid.map(|kid| match kid {
        serde_json::Value::String(s) if keys::safe_kid(&s) => Ok(s),
        _ => Err(()),
    });
    Ok(TokenHead { alg, kid })
}

/// Verifies the signature with `key` and the registered claims with `validation` (whose only
/// algorithm is the token's), then checks that `iat`, if present, is not in the future
/// beyond `leeway_secs`.
pub(super) fn verify_signed(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
    leeway_secs: u64,
) -> Result<Claims, AuthRejection> {
    let data = jsonwebtoken::decode::<Claims>(token, key, validation)
        .map_err(|e| AuthRejection::from(&e))?;
    let claims = data.claims;
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_f64().ok_or(AuthRejection::Claims)?;
        let now = jsonwebtoken::get_current_timestamp();
        if iat > now.saturating_add(leeway_secs) as f64 {
            return Err(AuthRejection::NotYetValid);
        }
    }
    Ok(claims)
}

/// The validation for tokens signed with `alg`: issuer, audiences, `exp`, `nbf`, leeway, and
/// `exp`, `iss`, `aud` required (`jsonwebtoken` would accept a token without `iss`).
pub(super) fn validation(
    alg: Algorithm,
    issuer: &str,
    audiences: &[String],
    leeway_secs: u64,
) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = leeway_secs;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.set_issuer(&[issuer]);
    v.set_audience(audiences);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn bearer_token_reads_only_the_bearer_scheme() {
        assert_eq!(bearer_token(&auth("Bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer_token(&auth("bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(
            bearer_token(&auth("Basic dXNlcjpwYXNz")),
            Err(AuthRejection::Missing)
        );
        assert_eq!(bearer_token(&HeaderMap::new()), Err(AuthRejection::Missing));
        assert_eq!(
            bearer_token(&auth("Bearer ")),
            Err(AuthRejection::Malformed)
        );
        let mut two = auth("Bearer a.b.c");
        two.append(AUTHORIZATION, HeaderValue::from_static("Bearer d.e.f"));
        assert_eq!(bearer_token(&two), Err(AuthRejection::Malformed));
    }

    #[test]
    fn parse_head_refuses_bad_shapes_before_decoding() {
        let head = encode(r#"{"alg":"HS256"}"#);
        assert!(parse_head(&format!("{head}.e30.c2ln")).is_ok());
        for bad in [
            format!("{head}.e30"),
            format!("{head}.e30.c2ln.extra"),
            format!("{head}.e30.c2ln="),
            format!("{head}.e3+0.c2ln"),
            format!("{head}..c2ln"),
            format!("{}.e30.c2ln", "A".repeat(MAX_TOKEN_BYTES)),
        ] {
            assert_eq!(parse_head(&bad), Err(AuthRejection::Malformed), "{bad}");
        }
    }

    #[test]
    fn parse_head_treats_none_and_unknown_algorithms_as_algorithm_rejections() {
        for alg in ["none", "None", "hs256", "HS1"] {
            let header = encode(&format!(r#"{{"alg":"{alg}"}}"#));
            for token in [format!("{header}.e30.c2ln"), format!("{header}.e30.")] {
                assert_eq!(parse_head(&token), Err(AuthRejection::Algorithm), "{token}");
            }
        }
    }

    #[test]
    fn parse_head_marks_unsafe_kids() {
        let token = |kid: &str| {
            format!(
                "{}.e30.c2ln",
                encode(&format!(r#"{{"alg":"RS256","kid":{kid}}}"#))
            )
        };
        assert_eq!(
            parse_head(&token(r#""k1""#)).unwrap().kid,
            Some(Ok("k1".to_owned()))
        );
        assert_eq!(parse_head(&token(r#""../k1""#)).unwrap().kid, Some(Err(())));
        assert_eq!(parse_head(&token(r#""k\"1""#)).unwrap().kid, Some(Err(())));
        assert_eq!(parse_head(&token("42")).unwrap().kid, Some(Err(())));
    }
}
