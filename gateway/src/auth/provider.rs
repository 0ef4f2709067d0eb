//! An identity provider: whose tokens a route accepts (issuer, audiences), signed how
//! (the algorithm allowlist), verified with which keys (a secret, a public key, a JWKS file
//! or a JWKS URL), with how much clock leeway; and the verification of one token against it.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};

use super::error::AuthRejection;
use super::jwks::JwksCache;
use super::keys::{Key, KeySet};
use super::verify::{self, Claims};

/// Default clock leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Default period of JWKS refreshes.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(300);
/// Default shortest time between two JWKS refetches for unknown key ids.
pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// The validated `auth:` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthConfig {
    /// Providers, sorted by name.
    pub providers: Vec<ProviderConfig>,
}

impl AuthConfig {
    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}

/// One validated provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Its name under `auth.providers`.
    pub name: String,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// A token's `aud` must name at least one of these.
    pub audiences: Vec<String>,
    /// Algorithms accepted, each one the keys can verify.
    pub algorithms: Vec<Algorithm>,
    /// Where the verification keys come from.
    pub keys: KeySource,
    /// Clock skew allowed for `exp`, `nbf` and `iat` (whole seconds).
    pub leeway: Duration,
}

/// Where a provider's keys come from. Secrets never appear in `Debug` output.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// An HMAC secret from the environment variable `var` (read when the config loads).
    SecretEnv {
        /// The variable's name.
        var: String,
        /// The secret.
        key: Key,
    },
    /// An HMAC secret from a file (read when the config loads; trailing newline kept off).
    SecretFile {
        /// The file as written in the config.
        path: String,
        /// The secret.
        key: Key,
    },
    /// A public key PEM file.
    PublicKeyFile {
        /// The file as written in the config.
        path: String,
        /// The key.
        key: Key,
    },
    /// A JWKS document on disk (read when the config loads).
    JwksFile {
        /// The file as written in the config.
        path: String,
        /// Its usable keys.
        keys: KeySet,
    },
    /// A JWKS document fetched over HTTP(S).
    JwksUrl(JwksSource),
}

impl KeySource {
    /// The config key the source was given with (`secret_env`, `jwks_url`, ...).
    pub fn field(&self) -> &'static str {
        match self {
            Self::SecretEnv { .. } => "secret_env",
            Self::SecretFile { .. } => "secret_file",
            Self::PublicKeyFile { .. } => "public_key_file",
            Self::JwksFile { .. } => "jwks_file",
            Self::JwksUrl(_) => "jwks_url",
        }
    }
}

/// A JWKS URL and its refresh periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSource {
    /// `http://` or `https://` URL of the JWKS document.
    pub url: String,
    /// Period of refreshes. Default 5m.
    pub refresh: Duration,
    /// Shortest time between two refetches triggered by unknown key ids. Default 30s.
    pub min_refresh: Duration,
}

/// A provider as built for one config version.
#[derive(Debug)]
pub struct Provider {
    config: ProviderConfig,
    keys: ProviderKeys,
    /// One validation per allowed algorithm (`jsonwebtoken` wants one family per check).
    validations: Vec<(Algorithm, Validation)>,
    leeway_secs: u64,
}

#[derive(Debug)]
enum ProviderKeys {
    Static(Key),
    Set(KeySet),
    Remote(Arc<JwksCache>),
}

/// Why the cached keys could not verify a token, and whether fresh keys might.
enum Attempt {
    Done(Result<Claims, AuthRejection>),
    /// The token names a (safe) `kid` the remote set lacks: worth one refetch.
    UnknownRemoteKid(Arc<JwksCache>, u64),
}

impl Provider {
    /// Builds a provider; `remote` is the JWKS cache for a `jwks_url` source (ignored for the
    /// others; a `jwks_url` provider without one has no keys and rejects every token).
    pub fn new(config: ProviderConfig, remote: Option<Arc<JwksCache>>) -> Self {
        let leeway_secs = config.leeway.as_secs() + u64::from(config.leeway.subsec_nanos() > 0);
        let validations = config
            .algorithms
            .iter()
            .map(|alg| {
                (
                    *alg,
                    verify::validation(*alg, &config.issuer, &config.audiences, leeway_secs),
                )
            })
            .collect();
        let keys = match (&config.keys, remote) {
            (
                KeySource::SecretEnv { key, .. }
                | KeySource::SecretFile { key, .. }
                | KeySource::PublicKeyFile { key, .. },
                _,
            ) => ProviderKeys::Static(key.clone()),
            (KeySource::JwksFile { keys, .. }, _) => ProviderKeys::Set(keys.clone()),
            (KeySource::JwksUrl(_), Some(cache)) => ProviderKeys::Remote(cache),
            (KeySource::JwksUrl(_), None) => ProviderKeys::Set(KeySet::default()),
        };
        Self {
            config,
            keys,
            validations,
            leeway_secs,
        }
    }

    /// The provider's settings.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Verifies `token`: shape, algorithm allowlist, key, signature, registered claims. A
    /// remote key set missing the token's `kid` is refetched once (rate-limited) first.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthRejection> {
        match self.attempt(token) {
            Attempt::Done(result) => result,
            Attempt::UnknownRemoteKid(cache, generation) => {
                if !cache.refresh_for_unknown_kid(generation).await {
                    return Err(AuthRejection::UnknownKid);
                }
                match self.attempt(token) {
                    Attempt::Done(result) => result,
                    Attempt::UnknownRemoteKid(..) => Err(AuthRejection::UnknownKid),
                }
            }
        }
    }

    /// Verifies `token` with the keys at hand, never fetching (what [`Provider::verify`] does
    /// for static keys; benchmarks measure this).
    pub fn verify_cached(&self, token: &str) -> Result<Claims, AuthRejection> {
        match self.attempt(token) {
            Attempt::Done(result) => result,
            Attempt::UnknownRemoteKid(..) => Err(AuthRejection::UnknownKid),
        }
    }

    fn attempt(&self, token: &str) -> Attempt {
        let head = match verify::parse_head(token) {
            Ok(head) => head,
            Err(rejection) => return Attempt::Done(Err(rejection)),
        };
        let Some((_, validation)) = self.validations.iter().find(|(a, _)| *a == head.alg) else {
            return Attempt::Done(Err(AuthRejection::Algorithm));
        };
        let kid = match &head.kid {
            None => None,
            Some(Ok(kid)) => Some(kid.as_str()),
            // Never looked up, never refetched for.
            Some(Err(())) => return Attempt::Done(Err(AuthRejection::UnknownKid)),
        };
        let check = |key: &Key| {
            if !key.kind().verifies(head.alg) {
                return Err(AuthRejection::Algorithm);
            }
            verify::verify_signed(token, key.decoding(), validation, self.leeway_secs)
        };
        match &self.keys {
            ProviderKeys::Static(key) => Attempt::Done(check(key)),
            ProviderKeys::Set(set) => Attempt::Done(
                set.select(kid, head.alg)
                    .ok_or(AuthRejection::UnknownKid)
                    .and_then(check),
            ),
            ProviderKeys::Remote(cache) => {
                let generation = cache.generation();
                let set = cache.keys();
                match set.select(kid, head.alg) {
                    Some(key) => Attempt::Done(check(key)),
                    None if kid.is_some() || set.is_empty() => {
                        Attempt::UnknownRemoteKid(Arc::clone(cache), generation)
                    }
                    None => Attempt::Done(Err(AuthRejection::UnknownKid)),
                }
            }
        }
    }
}
