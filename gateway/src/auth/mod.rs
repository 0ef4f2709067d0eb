//! JWT authentication for routes: providers (issuer, audiences, algorithm allowlist, keys),
//! per-route policies (required claims, rules, forwarded claims), and the step that applies
//! them to a request before anything else in the route's pipeline.
//!
//! One file per concept:
//! - `provider`: a provider's settings and the verification of one token against it;
//! - `keys`: key kinds (which algorithms a key verifies), secrets, public key PEMs, JWKS sets;
//! - `jwks`: remote JWKS caches, refreshed periodically and (rate-limited) on unknown `kid`;
//! - `verify`: token extraction, size and shape checks, header parsing, signature and claims;
//! - `rules`: a route's required claims, rules and forwarded claim headers;
//! - `guard`: the per-route step (strip spoofable headers, verify, authorize, forward);
//! - `error`: the bounded rejection reasons and the RFC 6750 challenge each earns.
//!
//! Statuses and headers are decided in `errors::respond` (401 with `WWW-Authenticate:
//! Bearer realm="gateway"` and `error="invalid_token"` unless the token is missing; 403 with
//! `error="insufficient_scope"`). Tokens are never logged, echoed or counted by value.

mod error;
mod guard;
mod jwks;
mod keys;
mod provider;
mod rules;
mod verify;

pub use error::{AuthRejection, Challenge};
pub use guard::RouteAuth;
pub use jwks::{FETCH_TIMEOUT, JwksCache, JwksRegistry, MAX_JWKS_BYTES};
pub use keys::{
    ALGORITHMS, Key, KeyError, KeyKind, KeySet, MIN_SECRET_BYTES, algorithm, algorithm_name,
};
pub use provider::{
    AuthConfig, DEFAULT_JWKS_MIN_REFRESH, DEFAULT_JWKS_REFRESH, DEFAULT_LEEWAY, JwksSource,
    KeySource, Provider, ProviderConfig,
};
pub use rules::{ClaimRule, RouteAuthConfig};
pub use verify::{Claims, MAX_TOKEN_BYTES};

#[cfg(test)]
mod tests {
    /// jsonwebtoken 12 compiles with no or two crypto features and panics at the first
    /// verification; the workspace enables exactly `aws_lc_rs`.
    #[test]
    fn jsonwebtoken_has_exactly_one_crypto_provider() {
        assert!(jsonwebtoken::crypto::CryptoProvider::try_get_default().is_some());
    }
}
