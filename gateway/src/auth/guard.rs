//! A route's authentication step, applied to the request before anything else in the route
//! pipeline: remove the headers the gateway will set from claims (so a client cannot spoof
//! them), verify the bearer token with the route's provider, apply the route's policy, set
//! the forwarded claim headers, and remove `Authorization` unless told to keep it.

use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::error::AuthRejection;
use super::provider::Provider;
use super::rules::{RouteAuthConfig, header_value};
use super::verify::{Claims, bearer_token};

/// The authentication of one route, built once per config version.
#[derive(Debug)]
pub struct RouteAuth {
    provider: Arc<Provider>,
    policy: RouteAuthConfig,
}

impl RouteAuth {
    /// The route's `policy` against `provider`.
    pub fn new(provider: Arc<Provider>, policy: RouteAuthConfig) -> Self {
        Self { provider, policy }
    }

    /// The provider's name.
    pub fn provider(&self) -> &str {
        self.provider.name()
    }

    /// Authenticates and authorizes the request whose headers are `headers`, rewriting them
    /// for the upstream on success; returns the verified claims (rate-limit `claim:NAME`
    /// keys read them).
    pub async fn authenticate(&self, headers: &mut HeaderMap) -> Result<Claims, AuthRejection> {
        for (_, name) in &self.policy.forward_claims {
            headers.remove(name);
        }
        let claims = {
            let token = bearer_token(headers)?;
            self.provider.verify(token).await?
        };
        self.policy.authorize(&claims)?;
        for (claim, name) in &self.policy.forward_claims {
            if let Some(value) = claims.get(claim).and_then(header_value) {
                headers.append(name.clone(), value);
            }
        }
        if self.policy.strip_authorization {
            headers.remove(AUTHORIZATION);
        }
        Ok(claims)
    }
}
