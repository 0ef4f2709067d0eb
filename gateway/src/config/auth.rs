//! Validation of authentication settings: the top-level `auth.providers` and each route's
//! `auth`. Key material is read here (secrets from the environment or files, PEM and JWKS
//! files), so a bad key is a located config error rather than a rejected request; only a
//! `jwks_url` is fetched later, at run time. Messages never quote secret values.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use config_yaml::{FieldPath, units};
use http::HeaderName;

use super::raw::{RawAuth, RawProvider, RawRouteAuth};
use super::report::Report;
use crate::auth::{
    ALGORITHMS, AuthConfig, ClaimRule, DEFAULT_JWKS_MIN_REFRESH, DEFAULT_JWKS_REFRESH,
    DEFAULT_LEEWAY, JwksSource, Key, KeyKind, KeySet, KeySource, MIN_SECRET_BYTES, ProviderConfig,
    RouteAuthConfig, algorithm, algorithm_name,
};

const KEY_SOURCES: [&str; 5] = [
    "secret_env",
    "secret_file",
    "public_key_file",
    "jwks_file",
    "jwks_url",
];
const MAX_LEEWAY: Duration = Duration::from_secs(600);
/// Headers a forwarded claim may not set: framing, routing, credentials and the headers the
/// gateway itself writes.
const RESERVED_HEADERS: [&str; 15] = [
    "authorization",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-authorization",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "traceparent",
];

/// `auth:` at the top level (none: no providers).
pub(super) fn auth(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&RawAuth>,
    base_dir: &Path,
) -> AuthConfig {
    let Some(raw) = raw else {
        return AuthConfig::default();
    };
    let providers = raw
        .providers
        .iter()
        .filter_map(|(name, p)| {
            provider(report, &path.key("providers").key(name), name, p, base_dir)
        })
        .collect();
    AuthConfig { providers }
}

fn provider(
    report: &mut Report<'_>,
    path: &FieldPath,
    name: &str,
    raw: &RawProvider,
    base_dir: &Path,
) -> Option<ProviderConfig> {
    let before = report.count();
    super::validate::check_name(report, path.clone(), name, "provider name");
    let issuer = match &raw.issuer {
        Some(i) if !i.trim().is_empty() => i.clone(),
        Some(_) => {
            report.invalid(
                path.key("issuer"),
                "empty issuer",
                "the exact `iss` of the provider's tokens, e.g. https://login.example.com/",
            );
            String::new()
        }
        None => {
            report.missing(
                path,
                "issuer",
                "the exact `iss` of the provider's tokens, e.g. https://login.example.com/",
            );
            String::new()
        }
    };
    let audiences = match &raw.audiences {
        Some(list) if !list.is_empty() => {
            for (i, a) in list.iter().enumerate() {
                if a.trim().is_empty() {
                    report.invalid(
                        path.key("audiences").index(i),
                        "empty audience",
                        "an `aud` value this gateway accepts, e.g. api.example.com",
                    );
                }
            }
            list.clone()
        }
        Some(_) => {
            report.invalid(
                path.key("audiences"),
                "no audiences",
                "one or more `aud` values, e.g. [api.example.com]",
            );
            Vec::new()
        }
        None => {
            report.missing(
                path,
                "audiences",
                "a list of accepted `aud` values, e.g. `audiences: [api.example.com]`",
            );
            Vec::new()
        }
    };
    let keys = key_source(report, path, raw, base_dir);
    let algorithms = algorithms(report, path, raw.algorithms.as_ref(), keys.as_ref());
    let leeway = raw.leeway.map_or(DEFAULT_LEEWAY, units::Duration::get);
    if leeway > MAX_LEEWAY {
        report.invalid(
            path.key("leeway"),
            "leeway too large",
            format!("0s to {}", units::Duration::from(MAX_LEEWAY)),
        );
    }
    if report.count() != before {
        return None;
    }
    Some(ProviderConfig {
        name: name.to_owned(),
        issuer,
        audiences,
        algorithms,
        keys: keys?,
        leeway,
    })
}

/// `algorithms:`, each checked against what the keys can verify (when known before run time).
fn algorithms(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&Vec<String>>,
    keys: Option<&KeySource>,
) -> Vec<jsonwebtoken::Algorithm> {
    let all = ALGORITHMS.map(|(n, _)| n).join(", ");
    let Some(list) = raw.filter(|l| !l.is_empty()) else {
        report.invalid(
            path.key("algorithms"),
            "an algorithm allowlist is required",
            format!("one or more of: {all}"),
        );
        return Vec::new();
    };
    let kinds: Option<Vec<KeyKind>> = match keys {
        Some(
            KeySource::SecretEnv { key, .. }
            | KeySource::SecretFile { key, .. }
            | KeySource::PublicKeyFile { key, .. },
        ) => Some(vec![key.kind()]),
        Some(KeySource::JwksFile { keys, .. }) => Some(keys.kinds().collect()),
        Some(KeySource::JwksUrl(_)) | None => None,
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, name) in list.iter().enumerate() {
        let at = path.key("algorithms").index(i);
        let Some(alg) = algorithm(name) else {
            report.invalid(at, "unknown or refused algorithm", format!("one of: {all}"));
            continue;
        };
        if !seen.insert(name.as_str()) {
            report.invalid(at, "duplicate algorithm", "each algorithm once");
            continue;
        }
        if let Some(kinds) = &kinds
            && !kinds.iter().any(|k| k.verifies(alg))
        {
            let fitting: Vec<&str> = kinds
                .iter()
                .flat_map(|k| k.algorithms())
                .map(|a| algorithm_name(*a))
                .collect();
            let key = keys.map_or("key", KeySource::field);
            let described: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            report.invalid(
                at,
                format!(
                    "{name} cannot be verified with the `{key}` key ({})",
                    described.join(", ")
                ),
                format!("algorithms of that key: {}", fitting.join(", ")),
            );
            continue;
        }
        out.push(alg);
    }
    out
}

/// Exactly one of the key sources, read and parsed.
fn key_source(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawProvider,
    base_dir: &Path,
) -> Option<KeySource> {
    let given: Vec<&str> = [
        raw.secret_env.is_some(),
        raw.secret_file.is_some(),
        raw.public_key_file.is_some(),
        raw.jwks_file.is_some(),
        raw.jwks_url.is_some(),
    ]
    .iter()
    .zip(KEY_SOURCES)
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    let jwks_only = |report: &mut Report<'_>, field: &str, set: bool| {
        if set && raw.jwks_url.is_none() {
            report.invalid(
                path.key(field),
                format!("`{field}` only applies to `jwks_url`"),
                format!("remove `{field}`, or use `jwks_url`"),
            );
        }
    };
    jwks_only(report, "jwks_refresh", raw.jwks_refresh.is_some());
    jwks_only(report, "jwks_min_refresh", raw.jwks_min_refresh.is_some());
    match given.as_slice() {
        [] => {
            report.invalid(
                path.clone(),
                "a provider needs a key source",
                format!("one of: {}", KEY_SOURCES.join(", ")),
            );
            return None;
        }
        [_] => {}
        [_, rest @ ..] => {
            for field in rest {
                report.invalid(
                    path.key(*field),
                    "a provider has exactly one key source",
                    format!("only one of: {}", KEY_SOURCES.join(", ")),
                );
            }
            return None;
        }
    }
    let read = |report: &mut Report<'_>, field: &str, file: &str| {
        std::fs::read(base_dir.join(file))
            .map_err(|e| {
                report.invalid(
                    path.key(field),
                    format!("cannot read the file: {e}"),
                    "a readable file (relative paths are from the config file's folder)",
                );
            })
            .ok()
    };
    let key_error =
        |report: &mut Report<'_>, field: &str, e: crate::auth::KeyError, expected: &str| {
            report.invalid(path.key(field), e.to_string(), expected);
        };
    if let Some(var) = &raw.secret_env {
        let expected = format!("an environment variable holding at least {MIN_SECRET_BYTES} bytes");
        if var.is_empty() {
            report.invalid(path.key("secret_env"), "empty variable name", expected);
            return None;
        }
        let Some(secret) = std::env::var_os(var) else {
            report.invalid(
                path.key("secret_env"),
                "environment variable is not set",
                expected,
            );
            return None;
        };
        return Key::hmac(secret.as_encoded_bytes())
            .map(|key| KeySource::SecretEnv {
                var: var.clone(),
                key,
            })
            .map_err(|e| key_error(report, "secret_env", e, &expected))
            .ok();
    }
    if let Some(file) = &raw.secret_file {
        let expected = format!("a file holding a secret of at least {MIN_SECRET_BYTES} bytes");
        let mut bytes = read(report, "secret_file", file)?;
        // One trailing newline is the editor's, not the secret's.
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        return Key::hmac(&bytes)
            .map(|key| KeySource::SecretFile {
                path: file.clone(),
                key,
            })
            .map_err(|e| key_error(report, "secret_file", e, &expected))
            .ok();
    }
    if let Some(file) = &raw.public_key_file {
        let bytes = read(report, "public_key_file", file)?;
        return Key::public_pem(&bytes)
            .map(|key| KeySource::PublicKeyFile {
                path: file.clone(),
                key,
            })
            .map_err(|e| {
                key_error(
                    report,
                    "public_key_file",
                    e,
                    "a PEM `PUBLIC KEY` (RSA, EC P-256, EC P-384 or Ed25519) or `RSA PUBLIC KEY`",
                );
            })
            .ok();
    }
    if let Some(file) = &raw.jwks_file {
        let bytes = read(report, "jwks_file", file)?;
        return KeySet::from_jwks(&bytes)
            .map(|keys| KeySource::JwksFile {
                path: file.clone(),
                keys,
            })
            .map_err(|e| {
                key_error(
                    report,
                    "jwks_file",
                    e,
                    "a JWKS document (`{\"keys\": [...]}`) with at least one RSA, EC P-256/P-384, Ed25519 or oct signature key",
                );
            })
            .ok();
    }
    let url = raw.jwks_url.as_deref()?;
    let ok = url
        .parse::<http::Uri>()
        .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
    if !ok {
        report.invalid(
            path.key("jwks_url"),
            "not a JWKS URL",
            "an http(s) URL, e.g. https://login.example.com/.well-known/jwks.json",
        );
    }
    let refresh = raw
        .jwks_refresh
        .map_or(DEFAULT_JWKS_REFRESH, units::Duration::get);
    let min_refresh = raw
        .jwks_min_refresh
        .map_or(DEFAULT_JWKS_MIN_REFRESH, units::Duration::get);
    if refresh.is_zero() {
        report.invalid(
            path.key("jwks_refresh"),
            "must be above zero",
            "a positive duration, e.g. 5m",
        );
    }
    if min_refresh.is_zero() || min_refresh > refresh {
        report.invalid(
            path.key("jwks_min_refresh"),
            "out of range",
            format!(
                "above zero and at most `jwks_refresh` ({})",
                units::Duration::from(refresh)
            ),
        );
    }
    ok.then(|| {
        KeySource::JwksUrl(JwksSource {
            url: url.to_owned(),
            refresh,
            min_refresh,
        })
    })
}

/// A route's `auth:`; `providers` are the names under `auth.providers` as written (so a
/// provider with its own errors is not also reported as unknown).
pub(super) fn route_auth(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawRouteAuth,
    providers: Option<&BTreeMap<String, RawProvider>>,
) -> Option<RouteAuthConfig> {
    let before = report.count();
    let provider = match &raw.provider {
        Some(p) if providers.is_some_and(|m| m.contains_key(p)) => p.clone(),
        Some(_) => {
            let known: Vec<&str> = providers
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let expected = if known.is_empty() {
                "a provider defined under `auth.providers` (none are)".to_owned()
            } else {
                format!("one of: {}", known.join(", "))
            };
            report.invalid(path.key("provider"), "unknown auth provider", expected);
            String::new()
        }
        None => {
            report.missing(
                path,
                "provider",
                "the name of a provider defined under `auth.providers`",
            );
            String::new()
        }
    };
    for (i, claim) in raw.required_claims.iter().enumerate() {
        if claim.trim().is_empty() {
            report.invalid(
                path.key("required_claims").index(i),
                "empty claim name",
                "a claim name, e.g. sub",
            );
        }
    }
    let mut rules = Vec::new();
    for (i, rule) in raw.rules.iter().enumerate() {
        let at = path.key("rules").index(i);
        let claim = match &rule.claim {
            Some(c) if !c.trim().is_empty() => c.clone(),
            Some(_) => {
                report.invalid(
                    at.key("claim"),
                    "empty claim name",
                    "a claim name, e.g. role",
                );
                continue;
            }
            None => {
                report.missing(&at, "claim", "the claim to check, e.g. `claim: role`");
                continue;
            }
        };
        match &rule.any_of {
            Some(values) if !values.is_empty() => rules.push(ClaimRule {
                claim,
                any_of: values.clone(),
            }),
            Some(_) => report.invalid(
                at.key("any_of"),
                "a rule needs at least one accepted value",
                "a list of values, e.g. [admin, user]",
            ),
            None => report.missing(
                &at,
                "any_of",
                "the accepted values, e.g. `any_of: [admin, user]`",
            ),
        }
    }
    let mut forward_claims = Vec::new();
    let mut headers = HashSet::new();
    for (claim, header) in &raw.forward_claims {
        let at = path.key("forward_claims").key(claim);
        let name = match HeaderName::try_from(header.as_str()) {
            Ok(name) => name,
            Err(_) => {
                report.invalid(at, "not a header name", "a header name, e.g. x-user-id");
                continue;
            }
        };
        if RESERVED_HEADERS.contains(&name.as_str()) {
            report.invalid(
                at,
                "header reserved for the gateway or the protocol",
                "an application header, e.g. x-user-id",
            );
            continue;
        }
        if !headers.insert(name.clone()) {
            report.invalid(
                at,
                "two claims forwarded in the same header",
                "a different header per claim",
            );
            continue;
        }
        forward_claims.push((claim.clone(), name));
    }
    (report.count() == before).then(|| RouteAuthConfig {
        provider,
        required_claims: raw.required_claims.clone(),
        rules,
        forward_claims,
        strip_authorization: raw.strip_authorization.unwrap_or(true),
    })
}
