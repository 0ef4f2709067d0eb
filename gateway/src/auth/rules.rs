//! A route's authorization policy on verified claims: which claims it requires, which values
//! its rules accept, and which claims it forwards upstream as headers.

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::error::AuthRejection;
use super::verify::Claims;

/// The validated `auth:` of a route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteAuthConfig {
    /// The provider whose tokens the route accepts (validated to exist).
    pub provider: String,
    /// Claims that must be present and not `null` (401 `claims` otherwise).
    pub required_claims: Vec<String>,
    /// Rules that must all hold (403 otherwise).
    pub rules: Vec<ClaimRule>,
    /// Claims copied into request headers, in config order; these headers are always removed
    /// from the client's request first.
    pub forward_claims: Vec<(String, HeaderName)>,
    /// Remove `Authorization` before forwarding. Default true.
    pub strip_authorization: bool,
}

/// `{ claim: role, any_of: [admin, user] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRule {
    /// The claim (top level).
    pub claim: String,
    /// Values accepted.
    pub any_of: Vec<String>,
}

impl ClaimRule {
    /// Whether the claim holds one of the accepted values: a string equal to one, or holding
    /// one as a space-separated word (OAuth `scope`); an array with one as an element; a
    /// number or boolean whose JSON text is one.
    pub fn holds(&self, claims: &Claims) -> bool {
        let accepts = |s: &str| self.any_of.iter().any(|a| a == s);
        let scalar = |v: &Value| match v {
            Value::String(s) => accepts(s) || s.split(' ').any(accepts),
            Value::Number(n) => accepts(&n.to_string()),
            Value::Bool(b) => accepts(if *b { "true" } else { "false" }),
            _ => false,
        };
        match claims.get(&self.claim) {
            Some(Value::Array(items)) => items.iter().any(scalar),
            Some(v) => scalar(v),
            None => false,
        }
    }
}

impl RouteAuthConfig {
    /// Checks required claims (401) then rules (403).
    pub fn authorize(&self, claims: &Claims) -> Result<(), AuthRejection> {
        if self
            .required_claims
            .iter()
            .any(|c| claims.get(c).is_none_or(Value::is_null))
        {
            return Err(AuthRejection::Claims);
        }
        if !self.rules.iter().all(|r| r.holds(claims)) {
            return Err(AuthRejection::Forbidden);
        }
        Ok(())
    }
}

/// A claim's value as a header value: strings as they are, numbers and booleans as JSON
/// text, arrays of those joined with `,`; `None` for objects, `null`, or text a header cannot
/// carry (control characters).
pub(super) fn header_value(value: &Value) -> Option<HeaderValue> {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    let joined = match value {
        Value::Array(items) => items
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()?
            .join(","),
        v => text(v)?,
    };
    HeaderValue::from_str(&joined).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(v: Value) -> Claims {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn rule(claim: &str, any_of: &[&str]) -> ClaimRule {
        ClaimRule {
            claim: claim.into(),
            any_of: any_of.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn rules_match_strings_arrays_and_scope_words() {
        let c = claims(
            json!({"role": "admin", "groups": ["a", "b"], "scope": "read write", "level": 3}),
        );
        assert!(rule("role", &["admin", "user"]).holds(&c));
        assert!(!rule("role", &["user"]).holds(&c));
        assert!(rule("groups", &["b"]).holds(&c));
        assert!(rule("scope", &["write"]).holds(&c));
        assert!(!rule("scope", &["admin"]).holds(&c));
        assert!(rule("level", &["3"]).holds(&c));
        assert!(!rule("missing", &["x"]).holds(&c));
    }

    #[test]
    fn authorize_requires_claims_before_rules() {
        let policy = RouteAuthConfig {
            provider: "p".into(),
            required_claims: vec!["sub".into()],
            rules: vec![rule("role", &["admin"])],
            forward_claims: vec![],
            strip_authorization: true,
        };
        assert_eq!(
            policy.authorize(&claims(json!({"role": "admin"}))),
            Err(AuthRejection::Claims)
        );
        assert_eq!(
            policy.authorize(&claims(json!({"sub": null, "role": "admin"}))),
            Err(AuthRejection::Claims)
        );
        assert_eq!(
            policy.authorize(&claims(json!({"sub": "u1", "role": "user"}))),
            Err(AuthRejection::Forbidden)
        );
        assert_eq!(
            policy.authorize(&claims(json!({"sub": "u1", "role": "admin"}))),
            Ok(())
        );
    }

    #[test]
    fn header_values_refuse_objects_and_control_characters() {
        assert_eq!(header_value(&json!("u1")).unwrap(), "u1");
        assert_eq!(header_value(&json!(42)).unwrap(), "42");
        assert_eq!(header_value(&json!(["a", "b"])).unwrap(), "a,b");
        assert!(header_value(&json!({"a": 1})).is_none());
        assert!(header_value(&json!("a\r\nx-injected: 1")).is_none());
        assert!(header_value(&Value::Null).is_none());
    }
}
