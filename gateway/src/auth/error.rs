//! Why authentication rejected a request: one bounded reason per check, the RFC 6750 challenge
//! it earns, and the label it is counted under.
//!
//! A rejection carries no token material and no claim values: it is logged (at debug) and
//! counted by reason, while the client only sees a generic 401 or 403 (`errors::respond`).

use observability::names::auth_reason;

/// Why a request did not pass its route's authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthRejection {
    /// No bearer token: no `Authorization` header, or another scheme (`Basic`).
    #[error("no bearer token")]
    Missing,
    /// Not a well-formed compact JWS (too large, wrong segment count, bad base64url, bad JSON).
    #[error("malformed token")]
    Malformed,
    /// The signature does not verify with the selected key.
    #[error("signature does not verify")]
    BadSignature,
    /// `exp` is in the past, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future, beyond the leeway.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is missing or not the provider's issuer.
    #[error("issuer not accepted")]
    Issuer,
    /// `aud` is missing or names none of the provider's audiences.
    #[error("audience not accepted")]
    Audience,
    /// `alg` is outside the provider's allowlist (`none` included) or does not fit the key.
    #[error("algorithm not accepted")]
    Algorithm,
    /// No key matches the token's `kid` (or the `kid` is not a safe identifier).
    #[error("no key for the token's key id")]
    UnknownKid,
    /// A required claim is missing (or `exp` is, or a registered claim has the wrong type).
    #[error("required claim missing")]
    Claims,
    /// A route rule on a claim did not match.
    #[error("claims do not satisfy the route's rules")]
    Forbidden,
}

/// The `error` attribute of the `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// 401 without an error attribute: the request carried no bearer credentials.
    Missing,
    /// 401 `error="invalid_token"`.
    InvalidToken,
    /// 403 `error="insufficient_scope"`.
    InsufficientScope,
}

impl AuthRejection {
    /// The bounded `reason` label and span attribute value.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => auth_reason::MISSING,
            Self::Malformed => auth_reason::MALFORMED,
            Self::BadSignature => auth_reason::BAD_SIGNATURE,
            Self::Expired => auth_reason::EXPIRED,
            Self::NotYetValid => auth_reason::NOT_YET_VALID,
            Self::Issuer => auth_reason::ISSUER,
            Self::Audience => auth_reason::AUDIENCE,
            Self::Algorithm => auth_reason::ALGORITHM,
            Self::UnknownKid => auth_reason::UNKNOWN_KID,
            Self::Claims => auth_reason::CLAIMS,
            Self::Forbidden => auth_reason::FORBIDDEN,
        }
    }

    /// Which challenge the response carries.
    pub fn challenge(self) -> Challenge {
        match self {
            Self::Missing => Challenge::Missing,
            Self::Forbidden => Challenge::InsufficientScope,
            _ => Challenge::InvalidToken,
        }
    }
}

impl From<&jsonwebtoken::errors::Error> for AuthRejection {
    /// Maps a `jsonwebtoken` verification error; anything about the token's encoding is
    /// `Malformed`, anything about the key or signature is `BadSignature`.
    fn from(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::Issuer,
            ErrorKind::InvalidAudience => Self::Audience,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::UnsupportedAlgorithm => Self::Algorithm,
            ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
                match claim.as_str() {
                    "iss" => Self::Issuer,
                    "aud" => Self::Audience,
                    _ => Self::Claims,
                }
            }
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => Self::Malformed,
            _ => Self::BadSignature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_reasons_are_the_bounded_label_set() {
        let all = [
            AuthRejection::Missing,
            AuthRejection::Malformed,
            AuthRejection::BadSignature,
            AuthRejection::Expired,
            AuthRejection::NotYetValid,
            AuthRejection::Issuer,
            AuthRejection::Audience,
            AuthRejection::Algorithm,
            AuthRejection::UnknownKid,
            AuthRejection::Claims,
            AuthRejection::Forbidden,
        ];
        let reasons: Vec<&str> = all.iter().map(|r| r.reason()).collect();
        assert_eq!(reasons, auth_reason::ALL);
    }

    #[test]
    fn only_missing_token_has_no_error_attribute_and_only_rules_are_403() {
        assert_eq!(AuthRejection::Missing.challenge(), Challenge::Missing);
        assert_eq!(
            AuthRejection::Forbidden.challenge(),
            Challenge::InsufficientScope
        );
        assert_eq!(AuthRejection::Expired.challenge(), Challenge::InvalidToken);
    }
}
