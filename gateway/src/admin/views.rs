//! JSON views for the admin API.
//!
//! Views are built field by field from the validated config rather than by serializing it, so
//! a setting only appears once someone decides it may be shown: secret-bearing settings
//! (added with authentication) are redacted here by construction.

use serde_json::{Value, json};

use crate::auth::{KeySource, ProviderConfig, algorithm_name};
use crate::balance::{BalancerConfig, HashKey};
use crate::breaker::Breaker;
use crate::route::HostHeader;
use crate::routing::{HeaderRule, PathMatch, Rewrite, RouteMatch};
use crate::state::GatewayState;
use crate::tls::{ListenerTlsConfig, UpstreamTlsConfig, UpstreamVerify};
use crate::upstream::Upstream;
use crate::upstream::{PanicMode, UpstreamConfig};
use tokio::time::Instant;

pub(super) fn config(state: &GatewayState) -> Value {
    let runtime = state.runtime();
    let c = &runtime.config;
    json!({
        "version": runtime.version,
        "listen": c.listen.to_string(),
        "tls": c.tls.as_ref().map(listener_tls),
        "admin": {
            "listen": c.admin.listen.to_string(),
            // Whether a token guards /admin/*; never the token.
            "token": if c.admin.token.is_some() { "<redacted>" } else { "none" },
        },
        "limits": {
            "max_header_bytes": c.limits.max_header_bytes,
            "max_headers": c.limits.max_headers,
            "max_body_bytes": c.limits.max_body_bytes,
            "header_read_timeout": format_duration(c.limits.header_read_timeout),
            "max_connections": c.limits.max_connections,
            "http2": {
                "max_concurrent_streams": c.limits.http2_max_concurrent_streams,
                "max_pending_reset_streams": c.limits.http2_max_pending_reset_streams,
                "max_local_error_reset_streams": c.limits.http2_max_local_error_reset_streams,
            },
        },
        "shutdown": { "drain_timeout": format_duration(c.shutdown.drain_timeout) },
        "reload": { "watch": c.reload.watch, "debounce": format_duration(c.reload.debounce) },
        "upstreams": c.upstreams.iter().map(upstream_config).collect::<Vec<_>>(),
        "auth": { "providers": c.auth.providers.iter().map(auth_provider).collect::<Vec<_>>() },
        "routes": c.routes.iter().map(|r| json!({
            "name": r.name,
            "match": route_match(&r.matcher),
            "upstream": r.upstream,
            "rewrite": r.rewrite.as_ref().map(rewrite),
            "host_header": host_header(&r.host_header),
            "timeout": format_duration(r.timeout),
            "auth": r.auth.as_ref().map(|a| json!({
                "provider": a.provider,
                "required_claims": a.required_claims,
                "rules": a.rules.iter().map(|rule| json!({ "claim": rule.claim, "any_of": rule.any_of })).collect::<Vec<_>>(),
                "forward_claims": a.forward_claims.iter().map(|(claim, header)| (claim.clone(), json!(header.as_str()))).collect::<serde_json::Map<_, _>>(),
                "strip_authorization": a.strip_authorization,
            })),
        })).collect::<Vec<_>>(),
    })
}

/// A provider with its key source named but never shown: a secret's variable name or file,
/// a key file's path, a JWKS URL; never key material.
fn auth_provider(p: &ProviderConfig) -> Value {
    let key = match &p.keys {
        KeySource::SecretEnv { var, .. } => json!({ "secret_env": var }),
        KeySource::SecretFile { path, .. } => json!({ "secret_file": path }),
        KeySource::PublicKeyFile { path, .. } => json!({ "public_key_file": path }),
        KeySource::JwksFile { path, .. } => json!({ "jwks_file": path }),
        KeySource::JwksUrl(source) => json!({
            "jwks_url": source.url,
            "jwks_refresh": format_duration(source.refresh),
            "jwks_min_refresh": format_duration(source.min_refresh),
        }),
    };
    json!({
        "name": p.name,
        "issuer": p.issuer,
        "audiences": p.audiences,
        "algorithms": p.algorithms.iter().map(|a| algorithm_name(*a)).collect::<Vec<_>>(),
        "keys": key,
        "leeway": format_duration(p.leeway),
    })
}

pub(super) fn routes(state: &GatewayState) -> Value {
    let runtime = state.runtime();
    let routes: Vec<Value> = runtime
        .table
        .iter_by_priority()
        .enumerate()
        .map(|(priority, (matcher, route))| {
            json!({
                "priority": priority,
                "name": route.config().name,
                "match": route_match(matcher),
                "upstream": route.config().upstream,
                "rewrite": route.config().rewrite.as_ref().map(rewrite),
                "breaker": route.config().breaker.map(|_| route.pipeline.breaker().map(breaker)),
                "retry": route.pipeline.retry().map(|p| {
                    let budget = p.budget().snapshot();
                    json!({
                        "attempts": p.config().attempts.get(),
                        "budget": { "deposits": budget.deposits, "withdrawals": budget.withdrawals, "remaining": budget.remaining },
                    })
                }),
                "fallback": route.pipeline.fallback().map(|f| json!({
                    "kind": f.kind().as_str(),
                    "cache": f.cache_stats().map(|c| json!({
                        "entries": c.entries, "bytes": c.bytes, "stored": c.stored, "hits": c.hits, "misses": c.misses,
                        "expired": c.expired, "evicted_for_count": c.evicted_for_count, "evicted_for_bytes": c.evicted_for_bytes,
                    })),
                })),
                "rate_limit": route.pipeline.rate_limiter().map(rate_limit),
            })
        })
        .collect();
    json!({ "version": runtime.version, "routes": routes })
}

/// A route's limiter: its policy, backend (the Redis URL is left out: it may hold a
/// password) and the keys it tracks locally.
fn rate_limit(limiter: &crate::ratelimit::RateLimiter) -> Value {
    let config = limiter.config();
    let quota = limiter.quota();
    let backend = match &config.backend {
        crate::ratelimit::Backend::Local => json!({ "type": "local" }),
        crate::ratelimit::Backend::Redis(r) => json!({
            "type": "redis", "pool_size": r.pool_size, "timeout": format_duration(r.timeout),
            "on_error": r.on_error.as_str(),
        }),
    };
    json!({
        "algorithm": config.algorithm.as_str(),
        "quota": quota.quota,
        "window": format_duration(quota.window),
        "backend": backend,
        "local_keys": limiter.local_keys(),
    })
}

pub(super) fn upstreams(state: &GatewayState) -> Value {
    let runtime = state.runtime();
    let now = Instant::now();
    let upstreams: Vec<Value> = runtime
        .upstreams
        .values()
        .map(|u| upstream(u, now))
        .collect();
    json!({ "version": runtime.version, "upstreams": upstreams })
}

/// One upstream's live state.
pub(super) fn upstream(u: &Upstream, now: Instant) -> Value {
    let outlier = u.outlier().map(|o| o.snapshot(now));
    let endpoints: Vec<Value> = u
        .endpoints()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "address": e.address(),
                "weight": e.weight(),
                "healthy": e.is_healthy(),
                "probed": e.is_probed(),
                "in_flight": e.in_flight(),
                "outlier": outlier.as_ref().and_then(|s| s.get(i)).map(|s| json!({
                    "ejected": s.ejected,
                    "remaining": s.remaining.map(format_duration),
                    "ejection_count": s.ejection_count,
                    "ejections_total": s.ejections_total,
                    "consecutive_failures": s.consecutive_failures,
                })),
            })
        })
        .collect();
    let healthy = u.endpoints().iter().filter(|e| e.is_healthy()).count();
    let limits = u.limits();
    let config = limits.config();
    json!({
        "name": u.name(),
        "balancer": balancer(&u.config().balancer),
        "healthy_endpoints": healthy,
        "panic": u.in_panic(),
        "breaker": u.breaker().map(breaker),
        "limits": {
            "max_connections": config.max_connections,
            "max_pending": config.max_pending,
            "max_requests": config.max_requests,
            "in_flight": limits.in_flight(),
            "pending": limits.pending(),
        },
        "endpoints": endpoints,
    })
}

/// A breaker's state and window figures.
pub(super) fn breaker(b: &Breaker) -> Value {
    let s = b.snapshot();
    json!({
        "state": s.state.as_str(),
        "failure_rate": s.failure_rate,
        "slow_call_rate": s.slow_call_rate,
        "calls": s.calls,
        "failed": s.failed,
        "slow": s.slow,
        "not_permitted": s.not_permitted,
        "until_half_open": s.until_half_open.map(format_duration),
        "half_open": s.half_open.map(|h| json!({
            "permitted": h.permitted,
            "in_flight": h.in_flight,
            "completed": h.completed,
            "time_left": h.time_left.map(format_duration),
        })),
    })
}

/// Listener TLS: files and names, never key material.
fn listener_tls(t: &ListenerTlsConfig) -> Value {
    json!({
        "certificates": t.certificates.iter().map(|c| json!({
            "cert": c.cert.display().to_string(),
            "key": c.key.display().to_string(),
            "server_names": c.server_names,
        })).collect::<Vec<_>>(),
        "min_version": t.min_version.as_str(),
        "alpn": t.alpn.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "handshake_timeout": format_duration(t.handshake_timeout),
    })
}

fn upstream_tls(t: &UpstreamTlsConfig) -> Value {
    let (verify, ca_file) = match &t.verify {
        UpstreamVerify::CaFile { path, .. } => ("ca_file", Some(path.display().to_string())),
        UpstreamVerify::System => ("system_roots", None),
        UpstreamVerify::Insecure => ("off", None),
    };
    json!({
        "server_name": t.server_name.as_ref().map(|n| n.to_str().into_owned()),
        "verify": verify,
        "ca_file": ca_file,
    })
}

fn upstream_config(u: &UpstreamConfig) -> Value {
    json!({
        "name": u.name,
        "endpoints": u.endpoints.iter().map(|e| json!({ "address": e.address, "weight": e.weight })).collect::<Vec<_>>(),
        "balancer": balancer(&u.balancer),
        "connect_timeout": format_duration(u.connect_timeout),
        "tls": u.tls.as_ref().map(upstream_tls),
        "health_check": u.health_check.as_ref().map(|h| json!({
            "path": h.path,
            "interval": format_duration(h.interval),
            "timeout": format_duration(h.timeout),
            "unhealthy_after": h.unhealthy_after,
            "healthy_after": h.healthy_after,
        })),
        "panic_threshold": match u.panic {
            PanicMode::Off => json!("off"),
            PanicMode::Below { threshold } => json!(format!("{}%", threshold * 100.0)),
        },
    })
}

fn balancer(b: &BalancerConfig) -> Value {
    match b {
        BalancerConfig::RoundRobin => json!({ "type": "round_robin" }),
        BalancerConfig::SmoothWeightedRoundRobin => {
            json!({ "type": "smooth_weighted_round_robin" })
        }
        BalancerConfig::LeastRequest => json!({ "type": "least_request" }),
        BalancerConfig::ConsistentHash { key } => json!({
            "type": "consistent_hash",
            "hash_key": match key { HashKey::ClientIp => "client_ip".to_owned(), HashKey::Header(h) => format!("header:{h}") },
        }),
        BalancerConfig::P2cPeakEwma { decay, default_rtt } => json!({
            "type": "p2c_peak_ewma", "decay": format_duration(*decay), "default_rtt": format_duration(*default_rtt),
        }),
    }
}

fn route_match(m: &RouteMatch) -> Value {
    let (key, path) = match &m.path {
        PathMatch::Pattern(p) => ("path", p.to_string()),
        PathMatch::Prefix(p) => ("prefix", p.clone()),
    };
    let mut v = json!({
        "hosts": m.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "methods": m.methods.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "headers": m.headers.iter().map(|h| match &h.rule {
            HeaderRule::Exact(v) => json!({ "name": h.name.as_str(), "exact": v }),
            HeaderRule::Prefix(v) => json!({ "name": h.name.as_str(), "prefix": v }),
            HeaderRule::Present => json!({ "name": h.name.as_str(), "present": true }),
            HeaderRule::Absent => json!({ "name": h.name.as_str(), "present": false }),
        }).collect::<Vec<_>>(),
    });
    v[key] = json!(path);
    v
}

fn rewrite(r: &Rewrite) -> Value {
    match r {
        Rewrite::StripPrefix(p) => json!({ "strip_prefix": p }),
        Rewrite::ReplacePrefix { from, to } => {
            json!({ "replace_prefix": { "from": from, "to": to } })
        }
    }
}

fn host_header(h: &HostHeader) -> Value {
    match h {
        HostHeader::Preserve => json!("preserve"),
        HostHeader::Endpoint => json!("endpoint"),
        HostHeader::Set(v) => json!({ "set": v.to_str().unwrap_or_default() }),
    }
}

/// Durations in the config file's own notation (`250ms`, `2s`).
fn format_duration(d: std::time::Duration) -> String {
    config_yaml::units::Duration::from(d).to_string()
}
