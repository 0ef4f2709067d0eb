//! Validation of the rate-limit settings: a route's `rate_limit:` block and the top-level
//! `client_ip:` block. The algorithms check nothing themselves; every range and cross-field
//! rule lives here, each error at the YAML path of the field to fix.

use std::num::NonZeroU32;
use std::time::Duration;

use config_yaml::FieldPath;
use http::HeaderName;

use super::raw::{RawClientIp, RawRateLimit, RawRedis};
use super::report::Report;
use crate::ratelimit::config::{DEFAULT_MAX_KEYS, DEFAULT_POOL_SIZE, DEFAULT_REDIS_TIMEOUT};
use crate::ratelimit::sliding_window::SlidingWindow;
use crate::ratelimit::token_bucket::Gcra;
use crate::ratelimit::{
    Algorithm, Backend, Cidr, ClientIpConfig, KeyPart, OnError, RateLimitConfig, RedisConfig,
};

const ALGORITHMS: &str = "token_bucket, sliding_window";
const KEY_PARTS: &str = "client_ip, route, header:NAME, claim:NAME";
const MAX_POOL_SIZE: usize = 64;
const MAX_REDIS_TIMEOUT: Duration = Duration::from_secs(10);

/// `client_ip:` (default: no trusted proxies).
pub(super) fn client_ip(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&RawClientIp>,
) -> ClientIpConfig {
    let mut config = ClientIpConfig::default();
    for (i, text) in raw
        .map(|r| r.trusted_proxies.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match text.parse::<Cidr>() {
            Ok(cidr) => config.trusted_proxies.push(cidr),
            Err(e) => report.invalid(
                path.key("trusted_proxies").index(i),
                format!("not a CIDR block: {e}"),
                "an address block like 10.0.0.0/8 or fd00::/8, or one address",
            ),
        }
    }
    config
}

/// A route's `rate_limit:`.
pub(super) fn rate_limit(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawRateLimit,
) -> Option<RateLimitConfig> {
    let before = report.count();
    let algorithm = algorithm(report, path, raw);
    let key = key(report, &path.key("key"), raw.key.as_deref());
    let backend = match raw.backend.as_deref() {
        None | Some("local") => {
            if raw.redis.is_some() {
                report.invalid(
                    path.key("redis"),
                    "`redis` settings need `backend: redis`",
                    "remove `redis:`, or set `backend: redis`",
                );
            }
            Some(Backend::Local)
        }
        Some("redis") => match &raw.redis {
            Some(r) => redis(report, &path.key("redis"), r).map(Backend::Redis),
            None => {
                report.missing(
                    path,
                    "redis",
                    "`redis: { url: redis://127.0.0.1:6379 }` for `backend: redis`",
                );
                None
            }
        },
        Some(_) => {
            report.invalid(
                path.key("backend"),
                "unknown rate-limit backend",
                "local, redis",
            );
            None
        }
    };
    if let (Some(Algorithm::SlidingWindow(_)), Some(Backend::Redis(_))) = (&algorithm, &backend) {
        report.invalid(
            path.key("backend"),
            "the redis backend runs the token bucket only",
            "`algorithm: token_bucket` with `backend: redis`, or `backend: local`",
        );
    }
    let max_keys = raw.max_keys.unwrap_or(DEFAULT_MAX_KEYS);
    if max_keys == 0 {
        report.invalid(
            path.key("max_keys"),
            "must be at least 1",
            "a count like 100000",
        );
    }
    if report.count() != before {
        return None;
    }
    Some(RateLimitConfig {
        algorithm: algorithm?,
        key,
        backend: backend?,
        max_keys,
    })
}

fn algorithm(report: &mut Report<'_>, path: &FieldPath, raw: &RawRateLimit) -> Option<Algorithm> {
    let only = |report: &mut Report<'_>, field: &str, set: bool, algorithm: &str| {
        if set {
            report.invalid(
                path.key(field),
                format!("`{field}` does not apply to this algorithm"),
                format!("only with `algorithm: {algorithm}`"),
            );
        }
    };
    match raw.algorithm.as_deref().unwrap_or("token_bucket") {
        "token_bucket" => {
            only(report, "limit", raw.limit.is_some(), "sliding_window");
            only(report, "window", raw.window.is_some(), "sliding_window");
            let Some(rate) = raw.rate else {
                report.missing(path, "rate", "the refill rate, e.g. `rate: 100/s`");
                return None;
            };
            let per_second = rate.per_second();
            // Default burst: one second's worth of tokens (at least one).
            let burst = raw
                .burst
                .unwrap_or_else(|| per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
            let Some(burst) = NonZeroU32::new(burst) else {
                report.invalid(
                    path.key("burst"),
                    "burst must be at least 1",
                    "1 or more, e.g. 20",
                );
                return None;
            };
            if per_second > 1_000_000.0 {
                report.invalid(
                    path.key("rate"),
                    "rate above 1000000/s",
                    "at most 1000000/s",
                );
                return None;
            }
            Some(Algorithm::TokenBucket(Gcra::new(per_second, burst)))
        }
        "sliding_window" => {
            only(report, "rate", raw.rate.is_some(), "token_bucket");
            only(report, "burst", raw.burst.is_some(), "token_bucket");
            let limit = match raw.limit {
                None => {
                    report.missing(path, "limit", "requests per window, e.g. `limit: 100`");
                    None
                }
                Some(n) => NonZeroU32::new(n).or_else(|| {
                    report.invalid(
                        path.key("limit"),
                        "limit must be at least 1",
                        "1 or more, e.g. 100",
                    );
                    None
                }),
            };
            let window = match raw.window.map(config_yaml::units::Duration::get) {
                None => {
                    report.missing(path, "window", "the window length, e.g. `window: 1s`");
                    None
                }
                Some(w) if w < Duration::from_millis(1) => {
                    report.invalid(
                        path.key("window"),
                        "window below 1ms",
                        "1ms or more, e.g. 1s",
                    );
                    None
                }
                Some(w) => Some(w),
            };
            Some(Algorithm::SlidingWindow(SlidingWindow::new(
                limit?, window?,
            )))
        }
        _ => {
            report.invalid(
                path.key("algorithm"),
                "unknown rate-limit algorithm",
                ALGORITHMS,
            );
            None
        }
    }
}

fn key(report: &mut Report<'_>, path: &FieldPath, raw: Option<&[String]>) -> Vec<KeyPart> {
    let Some(raw) = raw else {
        return vec![KeyPart::ClientIp];
    };
    if raw.is_empty() {
        report.invalid(path.clone(), "a key needs at least one part", KEY_PARTS);
    }
    let mut parts = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        let part = match text.split_once(':') {
            None if text == "client_ip" => Some(KeyPart::ClientIp),
            None if text == "route" => Some(KeyPart::Route),
            Some(("header", name)) => HeaderName::from_bytes(name.as_bytes())
                .ok()
                .map(KeyPart::Header),
            Some(("claim", name)) if !name.is_empty() => Some(KeyPart::Claim(name.to_owned())),
            _ => None,
        };
        match part {
            Some(p) if parts.contains(&p) => {
                report.invalid(path.index(i), "duplicate key part", "each part once");
            }
            Some(p) => parts.push(p),
            None => report.invalid(path.index(i), "not a key part", KEY_PARTS),
        }
    }
    parts
}

fn redis(report: &mut Report<'_>, path: &FieldPath, raw: &RawRedis) -> Option<RedisConfig> {
    let before = report.count();
    let url = match &raw.url {
        None => {
            report.missing(path, "url", "e.g. `url: redis://127.0.0.1:6379/0`");
            String::new()
        }
        Some(url) => {
            if redis::Client::open(url.as_str()).is_err() || !url.starts_with("redis://") {
                report.invalid(
                    path.key("url"),
                    "not a Redis URL",
                    "redis://[USER:PASSWORD@]HOST:PORT[/DB] (TLS is not supported)",
                );
            }
            url.clone()
        }
    };
    let pool_size = raw.pool_size.unwrap_or(DEFAULT_POOL_SIZE);
    if !(1..=MAX_POOL_SIZE).contains(&pool_size) {
        report.invalid(
            path.key("pool_size"),
            "pool size out of range",
            "1 to 64, e.g. 2",
        );
    }
    let timeout = raw
        .timeout
        .map_or(DEFAULT_REDIS_TIMEOUT, config_yaml::units::Duration::get);
    if timeout.is_zero() || timeout > MAX_REDIS_TIMEOUT {
        report.invalid(
            path.key("timeout"),
            "timeout out of range",
            "above 0 and at most 10s, e.g. 50ms",
        );
    }
    let on_error = match raw.on_error.as_deref() {
        None | Some("fail_open") => OnError::FailOpen,
        Some("fail_closed") => OnError::FailClosed,
        Some(_) => {
            report.invalid(
                path.key("on_error"),
                "unknown failure mode",
                "fail_open, fail_closed",
            );
            OnError::FailOpen
        }
    };
    (report.count() == before).then_some(RedisConfig {
        url,
        pool_size,
        timeout,
        on_error,
    })
}
