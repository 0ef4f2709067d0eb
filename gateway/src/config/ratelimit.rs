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
    if let (Some(Algorithm::SlidingWindow(_)), Some("redis")) = (&algorithm, raw.backend.as_deref())
    {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Config, LoadError, load_str};
    use crate::ratelimit::{Algorithm, Backend, KeyPart, OnError};

    fn config(rate_limit: &str, top: &str) -> String {
        format!(
            "listen: 127.0.0.1:8080\n{top}upstreams:\n  users:\n    endpoints: [{{ address: 127.0.0.1:9101 }}]\nroutes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n    rate_limit: {rate_limit}\n"
        )
    }

    fn load(text: &str) -> Config {
        match load_str("gw.yaml", text) {
            Ok(c) => c,
            Err(e) => panic!("{e}: {:?}", e.diagnostics().map(|d| d.to_string())),
        }
    }

    fn problems(text: &str) -> Vec<String> {
        match load_str("gw.yaml", text) {
            Ok(_) => panic!("expected an invalid config"),
            Err(LoadError::Invalid(d)) => d.iter().map(ToString::to_string).collect(),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn token_bucket_defaults_to_local_client_ip_and_one_second_of_burst() {
        let c = load(&config("{ rate: 100/s }", ""));
        let rl = c.routes[0].rate_limit.as_ref().unwrap();
        let Algorithm::TokenBucket(g) = rl.algorithm else {
            panic!("token bucket expected")
        };
        assert_eq!(g.burst().get(), 100);
        assert_eq!(g.interval(), Duration::from_millis(10));
        assert_eq!(rl.key, vec![KeyPart::ClientIp]);
        assert_eq!(rl.backend, Backend::Local);
        assert_eq!(rl.max_keys, 100_000);
        assert!(c.client_ip.trusted_proxies.is_empty());
    }

    #[test]
    fn full_redis_settings_and_trusted_proxies_are_read() {
        let c = load(&config(
            "{ algorithm: token_bucket, rate: 30/m, burst: 5, key: [client_ip, 'header:x-api-key', route, 'claim:sub'], backend: redis, redis: { url: 'redis://127.0.0.1:6379/0', pool_size: 4, timeout: 20ms, on_error: fail_closed } }",
            "client_ip: { trusted_proxies: [10.0.0.0/8, 'fd00::/8', 192.0.2.1] }\n",
        ));
        let rl = c.routes[0].rate_limit.as_ref().unwrap();
        assert_eq!(rl.key.len(), 4);
        let Backend::Redis(r) = &rl.backend else {
            panic!("redis expected")
        };
        assert_eq!(
            (r.pool_size, r.timeout, r.on_error),
            (4, Duration::from_millis(20), OnError::FailClosed)
        );
        assert_eq!(c.client_ip.trusted_proxies.len(), 3);
    }

    #[test]
    fn every_rate_limit_problem_is_reported_at_its_field() {
        let p = problems(&config(
            "{ algorithm: token_bucket, rate: 10/s, burst: 0, window: 1s, key: [client_ip, client_ip, 'cookie:x'], redis: { url: 'redis://h:1' } }",
            "client_ip: { trusted_proxies: [10.1.0.0/8] }\n",
        ));
        let text = p.join("\n");
        for needle in [
            "client_ip.trusted_proxies[0]: not a CIDR block",
            "routes[0].rate_limit.window: `window` does not apply",
            "routes[0].rate_limit.burst: burst must be at least 1",
            "routes[0].rate_limit.key[1]: duplicate key part",
            "routes[0].rate_limit.key[2]: not a key part",
            "routes[0].rate_limit.redis: `redis` settings need `backend: redis`",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(
            p.iter().all(|l| l.starts_with("gw.yaml:")),
            "located: {text}"
        );
    }

    #[test]
    fn redis_backend_needs_its_block_a_url_and_the_token_bucket() {
        let text = problems(&config("{ algorithm: sliding_window, limit: 10, window: 1s, backend: redis, redis: { url: 'http://x', timeout: 0s, on_error: maybe, pool_size: 0 } }", "")).join("\n");
        for needle in [
            "rate_limit.backend: the redis backend runs the token bucket only",
            "rate_limit.redis.url: not a Redis URL",
            "rate_limit.redis.timeout: timeout out of range",
            "rate_limit.redis.on_error: unknown failure mode",
            "rate_limit.redis.pool_size: pool size out of range",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        let missing = problems(&config("{ rate: 1/s, backend: redis }", "")).join("\n");
        assert!(
            missing.contains("rate_limit.redis: missing field `redis`"),
            "{missing}"
        );
    }

    #[test]
    fn sliding_window_needs_limit_and_window_and_refuses_bucket_fields() {
        let text = problems(&config("{ algorithm: sliding_window, burst: 3 }", "")).join("\n");
        for needle in [
            "rate_limit.burst: `burst` does not apply",
            "rate_limit.limit: missing field `limit`",
            "rate_limit.window: missing field `window`",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        let unknown = problems(&config("{ algorithm: leaky }", "")).join("\n");
        assert!(
            unknown.contains("rate_limit.algorithm: unknown rate-limit algorithm"),
            "{unknown}"
        );
    }
}
