//! `raw` -> [`Config`]: defaults, ranges, cross-field checks; every problem reported at once,
//! each with its field path, the value received, what is allowed and file:line:col.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use config_yaml::{Diagnostics, Document, FieldPath, units};

use super::auth;
use super::report::Report;
use super::{ratelimit, resilience, server_limits, tls};
use http::header::{HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use observability::telemetry::FileSettings;

use super::raw::{
    RawBalancer, RawConfig, RawHeaderMatch, RawHealthCheck, RawHostHeader, RawMatch,
    RawPanicThreshold, RawRewrite, RawRoute, RawTelemetry, RawUpstream,
};
use super::{AdminConfig, Config, ReloadConfig, ShutdownConfig, TelemetryConfig};
use crate::balance::{BalancerConfig, HashKey};
use crate::classify::Classifier;
use crate::health::HealthCheckConfig;
use crate::route::{HostHeader, RouteConfig};
use crate::routing::{HeaderMatcher, HeaderRule, HostPattern, PathMatch, Rewrite, RouteMatch};
use crate::upstream::{EndpointConfig, PanicMode, UpstreamConfig};

const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9901);
const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(250);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_ROUTE_TIMEOUT: Duration = Duration::from_secs(15);
const DEFAULT_HC_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_HC_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_HC_THRESHOLD: u32 = 2;
const DEFAULT_EWMA_DECAY: Duration = Duration::from_secs(10);
const DEFAULT_EWMA_RTT: Duration = Duration::from_millis(30);
const MAX_WEIGHT: u32 = 1000;
const PATH_XOR_PREFIX: &str =
    "`path` and `prefix` are exclusive: `path:` for a pattern, `prefix:` for a raw string prefix";
const PATH_OR_PREFIX: &str =
    "a match needs `path` or `prefix`, e.g. `path: /api/users/**` or `prefix: /api`";
const ONE_REWRITE: &str =
    "`strip_prefix` and `replace_prefix` are exclusive: one rewrite per route";
const EMPTY_REWRITE: &str =
    "an empty rewrite: use `strip_prefix: /api` or `replace_prefix: { from: /api, to: /v2 }`";
const BALANCERS: &str =
    "round_robin, smooth_weighted_round_robin, least_request, consistent_hash, p2c_peak_ewma";

/// Validates a deserialized config; `document` locates each problem in the file.
pub(super) fn validate(document: &Document, raw: RawConfig) -> Result<Config, Diagnostics> {
    let mut report = Report::new(document);
    // Files named in the config (fallback bodies) are relative to the config file.
    let base_dir = Path::new(document.source())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let root = FieldPath::root();

    let listen = match &raw.listen {
        Some(text) => socket_addr(&mut report, root.key("listen"), text),
        None => {
            report.missing(
                &root,
                "listen",
                "the data-plane address, e.g. `listen: 127.0.0.1:8080`",
            );
            None
        }
    };
    let admin_listen = match raw.admin.as_ref().and_then(|a| a.listen.as_deref()) {
        Some(text) => socket_addr(&mut report, root.key("admin").key("listen"), text),
        None => Some(DEFAULT_ADMIN_LISTEN),
    };
    if let (Some(data), Some(admin)) = (listen, admin_listen)
        && data == admin
        && data.port() != 0
    {
        report.invalid(
            root.key("admin").key("listen"),
            "the admin listener must not share the data-plane address",
            "a different address or port than `listen`",
        );
    }
    let shutdown = ShutdownConfig {
        drain_timeout: duration_or(
            raw.shutdown.as_ref().and_then(|s| s.drain_timeout),
            DEFAULT_DRAIN_TIMEOUT,
        ),
    };
    let reload = ReloadConfig {
        watch: raw.reload.as_ref().and_then(|r| r.watch).unwrap_or(true),
        debounce: duration_or(
            raw.reload.as_ref().and_then(|r| r.debounce),
            DEFAULT_DEBOUNCE,
        ),
    };

    let telemetry = telemetry(&mut report, root.key("telemetry"), raw.telemetry.as_ref());
    let listener_tls = raw
        .tls
        .as_ref()
        .and_then(|t| tls::listener(&mut report, &root.key("tls"), t, &base_dir));
    let client_ip =
        ratelimit::client_ip(&mut report, &root.key("client_ip"), raw.client_ip.as_ref());
    let auth = auth::auth(&mut report, &root.key("auth"), raw.auth.as_ref(), &base_dir);
    let limits = server_limits::limits(&mut report, &root.key("limits"), raw.limits.as_ref());
    let admin_token = server_limits::admin_token(
        &mut report,
        &root.key("admin"),
        raw.admin.as_ref(),
        &base_dir,
    );

    let upstreams: Vec<UpstreamConfig> = raw
        .upstreams
        .iter()
        .filter_map(|(name, up)| {
            upstream(
                &mut report,
                root.key("upstreams").key(name),
                name,
                up,
                &base_dir,
            )
        })
        .collect();

    let mut routes = Vec::with_capacity(raw.routes.len());
    let mut names = HashSet::new();
    for (i, r) in raw.routes.iter().enumerate() {
        let path = root.key("routes").index(i);
        if let Some(name) = &r.name
            && !names.insert(name.as_str())
        {
            report.invalid(
                path.key("name"),
                "duplicate route name",
                "a name no other route uses",
            );
        }
        if let Some(route) = route(&mut report, &path, r, &raw, &upstreams, &base_dir) {
            routes.push(route);
        }
    }

    match (listen, admin_listen) {
        (Some(listen), Some(admin)) if report.diagnostics.is_empty() => Ok(Config {
            listen,
            tls: listener_tls,
            admin: AdminConfig {
                listen: admin,
                token: admin_token,
            },
            limits,
            shutdown,
            reload,
            telemetry,
            client_ip,
            upstreams,
            routes,
            auth,
        }),
        // Every `None` above was reported, so the list is never empty here.
        _ => {
            let mut diagnostics: Diagnostics = report.diagnostics.into_iter().collect();
            // Upstreams are visited by name, routes in order: report in file order.
            diagnostics.sort();
            Err(diagnostics)
        }
    }
}

fn telemetry(
    report: &mut Report<'_>,
    path: FieldPath,
    raw: Option<&RawTelemetry>,
) -> TelemetryConfig {
    let Some(raw) = raw else {
        return TelemetryConfig {
            traces: FileSettings::default(),
            access_log: true,
        };
    };
    if let Some(url) = &raw.otlp_endpoint {
        let ok = url
            .parse::<http::Uri>()
            .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if !ok {
            report.invalid(
                path.key("otlp_endpoint"),
                "not an OTLP/HTTP URL",
                "an http(s) URL, e.g. http://127.0.0.1:4318",
            );
        }
    }
    if let Some(ratio) = raw.sampling_ratio
        && !(0.0..=1.0).contains(&ratio)
    {
        report.invalid(
            path.key("sampling_ratio"),
            "sampling ratio out of range",
            "a number from 0.0 to 1.0",
        );
    }
    if let Some(name) = &raw.service_name
        && name.trim().is_empty()
    {
        report.invalid(
            path.key("service_name"),
            "empty service name",
            "a non-empty name, e.g. gateway",
        );
    }
    if let Some(d) = raw.export_interval {
        positive(report, path.key("export_interval"), d.get(), "1s");
    }
    if raw.max_queue_spans == Some(0) {
        report.invalid(
            path.key("max_queue_spans"),
            "queue size out of range",
            "at least 1 span",
        );
    }
    TelemetryConfig {
        traces: FileSettings {
            otlp_endpoint: raw.otlp_endpoint.clone(),
            service_name: raw.service_name.clone(),
            sampling_ratio: raw.sampling_ratio,
            export_interval: raw.export_interval.map(units::Duration::get),
            max_queue_spans: raw.max_queue_spans,
        },
        access_log: raw.access_log.unwrap_or(true),
    }
}

fn duration_or(value: Option<units::Duration>, default: Duration) -> Duration {
    value.map_or(default, units::Duration::get)
}

fn socket_addr(report: &mut Report<'_>, path: FieldPath, text: &str) -> Option<SocketAddr> {
    let parsed = text.parse().ok();
    if parsed.is_none() {
        report.invalid(
            path,
            "not a socket address",
            "IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
        );
    }
    parsed
}

fn positive(report: &mut Report<'_>, path: FieldPath, value: Duration, example: &str) {
    if value.is_zero() {
        report.invalid(
            path,
            "must be above zero",
            format!("a positive duration, e.g. {example}"),
        );
    }
}

fn upstream(
    report: &mut Report<'_>,
    path: FieldPath,
    name: &str,
    raw: &RawUpstream,
    base_dir: &Path,
) -> Option<UpstreamConfig> {
    let before = report.count();
    check_name(report, path.clone(), name, "upstream name");
    let mut endpoints = Vec::new();
    match &raw.endpoints {
        None => report.missing(
            &path,
            "endpoints",
            "a list of `{ address: HOST:PORT, weight: N }`",
        ),
        Some(list) if list.is_empty() => {
            report.invalid(
                path.key("endpoints"),
                "an upstream needs at least one endpoint",
                "one or more endpoints",
            );
        }
        Some(list) => {
            let mut seen = HashSet::new();
            for (i, e) in list.iter().enumerate() {
                let at = path.key("endpoints").index(i);
                if !valid_authority(&e.address) {
                    report.invalid(
                        at.key("address"),
                        "not a HOST:PORT address",
                        "HOST:PORT with a non-zero port, e.g. 127.0.0.1:9101 or users.internal:80",
                    );
                } else if !seen.insert(e.address.as_str()) {
                    report.invalid(
                        at.key("address"),
                        "duplicate endpoint in this upstream",
                        "each address once (use `weight` to send it more traffic)",
                    );
                }
                let weight = e.weight.unwrap_or(1);
                if !(1..=MAX_WEIGHT).contains(&weight) {
                    report.invalid(
                        at.key("weight"),
                        "weight out of range",
                        format!("1 to {MAX_WEIGHT}"),
                    );
                }
                endpoints.push(EndpointConfig {
                    address: e.address.clone(),
                    weight,
                });
            }
        }
    }
    let balancer = match &raw.balancer {
        None => Some(BalancerConfig::SmoothWeightedRoundRobin),
        Some(b) => balancer(report, path.key("balancer"), b),
    };
    let health_check = raw
        .health_check
        .as_ref()
        .and_then(|h| health_check(report, path.key("health_check"), h));
    let panic = match &raw.panic_threshold {
        None => PanicMode::Below { threshold: 0.0 },
        Some(RawPanicThreshold::Off) => PanicMode::Off,
        Some(RawPanicThreshold::Percent(p)) => PanicMode::Below {
            threshold: p.ratio(),
        },
    };
    let connect_timeout = duration_or(raw.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    positive(report, path.key("connect_timeout"), connect_timeout, "2s");
    let statuses = resilience::failure_statuses(
        report,
        path.key("failure_statuses"),
        raw.failure_statuses.as_ref(),
    );
    let breaker = raw
        .circuit_breaker
        .as_ref()
        .and_then(|b| resilience::breaker(report, &path.key("circuit_breaker"), b));
    let outlier = raw
        .outlier_detection
        .as_ref()
        .and_then(|o| resilience::outlier(report, &path.key("outlier_detection"), o));
    let limits = resilience::limits(report, &path.key("limits"), raw.limits.as_ref());
    let upstream_tls = raw
        .tls
        .as_ref()
        .and_then(|t| tls::upstream(report, &path.key("tls"), t, base_dir));
    if report.count() != before {
        return None;
    }
    if let Some(t) = &upstream_tls {
        tls::warn_insecure(name, t);
    }
    Some(UpstreamConfig {
        name: name.to_owned(),
        endpoints,
        balancer: balancer?,
        connect_timeout,
        health_check,
        panic,
        classifier: Classifier::new(statuses),
        breaker,
        outlier,
        limits,
        tls: upstream_tls,
    })
}

fn balancer(report: &mut Report<'_>, path: FieldPath, raw: &RawBalancer) -> Option<BalancerConfig> {
    let kind = raw.kind.as_str();
    let mut only_for = |field: &str, set: bool, owner: &str| {
        if set && kind != owner {
            report.invalid(
                path.key(field),
                format!("`{field}` only applies to the {owner} balancer"),
                format!("remove `{field}`, or use `type: {owner}`"),
            );
        }
    };
    only_for("hash_key", raw.hash_key.is_some(), "consistent_hash");
    only_for("decay", raw.decay.is_some(), "p2c_peak_ewma");
    only_for("default_rtt", raw.default_rtt.is_some(), "p2c_peak_ewma");
    match kind {
        "round_robin" => Some(BalancerConfig::RoundRobin),
        "smooth_weighted_round_robin" => Some(BalancerConfig::SmoothWeightedRoundRobin),
        "least_request" => Some(BalancerConfig::LeastRequest),
        "consistent_hash" => {
            let key = match raw.hash_key.as_deref() {
                None | Some("client_ip") => HashKey::ClientIp,
                Some(text) => match text.strip_prefix("header:").map(HeaderName::try_from) {
                    Some(Ok(name)) => HashKey::Header(name),
                    _ => {
                        report.invalid(
                            path.key("hash_key"),
                            "not a hash key",
                            "`client_ip` or `header:NAME`, e.g. header:x-user-id",
                        );
                        return None;
                    }
                },
            };
            Some(BalancerConfig::ConsistentHash { key })
        }
        "p2c_peak_ewma" => {
            let decay = duration_or(raw.decay, DEFAULT_EWMA_DECAY);
            positive(report, path.key("decay"), decay, "10s");
            Some(BalancerConfig::P2cPeakEwma {
                decay,
                default_rtt: duration_or(raw.default_rtt, DEFAULT_EWMA_RTT),
            })
        }
        _ => {
            // The name is either the whole value or the mapping's `type`.
            let at = if raw.from_mapping {
                path.key("type")
            } else {
                path
            };
            report.invalid(at, "unknown balancer", BALANCERS);
            None
        }
    }
}

fn health_check(
    report: &mut Report<'_>,
    path: FieldPath,
    raw: &RawHealthCheck,
) -> Option<HealthCheckConfig> {
    let before = report.count();
    let probe_path = match &raw.path {
        Some(p) if p.starts_with('/') && PathAndQuery::try_from(p.as_str()).is_ok() => p.clone(),
        Some(_) => {
            report.invalid(
                path.key("path"),
                "not a request path",
                "a path starting with `/`, e.g. /healthz",
            );
            String::new()
        }
        None => {
            report.missing(&path, "path", "the path to probe, e.g. `path: /healthz`");
            String::new()
        }
    };
    let interval = duration_or(raw.interval, DEFAULT_HC_INTERVAL);
    let timeout = duration_or(raw.timeout, DEFAULT_HC_TIMEOUT.min(interval));
    positive(report, path.key("interval"), interval, "5s");
    if timeout.is_zero() || timeout > interval {
        report.invalid(
            path.key("timeout"),
            "timeout out of range",
            format!(
                "above zero and at most the interval ({})",
                units::Duration::from(interval)
            ),
        );
    }
    let mut threshold = |field: &str, value: Option<u32>| {
        let v = value.unwrap_or(DEFAULT_HC_THRESHOLD);
        if !(1..=100).contains(&v) {
            report.invalid(
                path.key(field),
                "threshold out of range",
                "1 to 100 consecutive probes",
            );
        }
        v
    };
    let unhealthy_after = threshold("unhealthy_after", raw.unhealthy_after);
    let healthy_after = threshold("healthy_after", raw.healthy_after);
    (report.count() == before).then_some(HealthCheckConfig {
        path: probe_path,
        interval,
        timeout,
        unhealthy_after,
        healthy_after,
    })
}

fn route(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawRoute,
    config: &RawConfig,
    upstreams: &[UpstreamConfig],
    base_dir: &Path,
) -> Option<RouteConfig> {
    let before = report.count();
    let name = match &raw.name {
        Some(n) => {
            check_name(report, path.key("name"), n, "route name");
            n.clone()
        }
        None => {
            report.missing(
                path,
                "name",
                "a unique name, used in logs, metrics and the admin API",
            );
            String::new()
        }
    };
    let matcher = match &raw.matcher {
        Some(m) => route_match(report, path.key("match"), m),
        None => {
            report.missing(
                path,
                "match",
                "at least `path:` or `prefix:`, e.g. `match: { path: /api/** }`",
            );
            None
        }
    };
    let upstream = match &raw.upstream {
        Some(u) if config.upstreams.contains_key(u) => u.clone(),
        Some(_) => {
            let known: Vec<&str> = config.upstreams.keys().map(String::as_str).collect();
            let expected = if known.is_empty() {
                "an upstream defined under `upstreams` (none are)".to_owned()
            } else {
                format!("one of: {}", known.join(", "))
            };
            report.invalid(path.key("upstream"), "unknown upstream", expected);
            String::new()
        }
        None => {
            report.missing(
                path,
                "upstream",
                "the name of an upstream defined under `upstreams`",
            );
            String::new()
        }
    };
    let rewrite = raw
        .rewrite
        .as_ref()
        .and_then(|r| rewrite(report, path.key("rewrite"), r));
    if let (Some(rw), Some(m)) = (&rewrite, &matcher)
        && let Err(why) = rw.check_against(&m.path)
    {
        report.error(
            path.key("rewrite"),
            format!("rewrite does not fit the route's path: {why}"),
        );
    }
    let host_header = match &raw.host_header {
        None => HostHeader::Preserve,
        Some(RawHostHeader::Named(n)) if n == "preserve" => HostHeader::Preserve,
        Some(RawHostHeader::Named(n)) if n == "endpoint" => HostHeader::Endpoint,
        Some(RawHostHeader::Named(_)) => {
            report.invalid(
                path.key("host_header"),
                "unknown host header mode",
                "`preserve`, `endpoint`, or `{ set: HOST }`",
            );
            HostHeader::Preserve
        }
        Some(RawHostHeader::Set(v)) => match HeaderValue::from_str(v) {
            Ok(value) if !v.is_empty() => HostHeader::Set(value),
            _ => {
                report.invalid(
                    path.key("host_header").key("set"),
                    "not a valid Host value",
                    "a non-empty host, e.g. users.internal",
                );
                HostHeader::Preserve
            }
        },
    };
    let timeout = duration_or(raw.timeout, DEFAULT_ROUTE_TIMEOUT);
    positive(report, path.key("timeout"), timeout, "15s");
    let per_try_timeout = raw.per_try_timeout.map(units::Duration::get);
    if let Some(per_try) = per_try_timeout {
        positive(report, path.key("per_try_timeout"), per_try, "2s");
        if per_try > timeout {
            report.invalid(
                path.key("per_try_timeout"),
                "per-try timeout above the route timeout",
                format!("at most `timeout` ({})", units::Duration::from(timeout)),
            );
        }
    }
    let statuses = upstreams
        .iter()
        .find(|u| u.name == upstream)
        .map(|u| u.classifier.statuses().clone())
        .unwrap_or_default();
    let retry = raw
        .retry
        .as_ref()
        .and_then(|r| resilience::retry(report, &path.key("retry"), r, &statuses));
    let breaker = raw
        .circuit_breaker
        .as_ref()
        .and_then(|b| resilience::breaker(report, &path.key("circuit_breaker"), b));
    let fallback = raw
        .fallback
        .as_ref()
        .and_then(|f| resilience::fallback(report, &path.key("fallback"), f, base_dir));
    let fault = raw
        .fault
        .as_ref()
        .and_then(|f| resilience::fault(report, &path.key("fault"), f));
    let rate_limit = raw
        .rate_limit
        .as_ref()
        .and_then(|r| ratelimit::rate_limit(report, &path.key("rate_limit"), r));
    let auth = raw.auth.as_ref().and_then(|a| {
        auth::route_auth(
            report,
            &path.key("auth"),
            a,
            config.auth.as_ref().map(|c| &c.providers),
        )
    });
    if report.count() != before {
        return None;
    }
    Some(RouteConfig {
        name,
        matcher: matcher?,
        upstream,
        rewrite,
        host_header,
        timeout,
        per_try_timeout,
        retry,
        breaker,
        fallback,
        fault,
        rate_limit,
        auth,
    })
}

fn route_match(report: &mut Report<'_>, path: FieldPath, raw: &RawMatch) -> Option<RouteMatch> {
    let before = report.count();
    let mut hosts = Vec::new();
    for (i, h) in raw.hosts.iter().enumerate() {
        match h.parse::<HostPattern>() {
            Ok(p) => hosts.push(p),
            Err(e) => {
                report.error(path.key("hosts").index(i), e.to_string());
            }
        }
    }
    let path_match = match (&raw.path, &raw.prefix) {
        (Some(p), None) => PathMatch::pattern(p).map_err(|e| (path.key("path"), e.to_string())),
        (None, Some(p)) => PathMatch::prefix(p).map_err(|e| (path.key("prefix"), e.to_string())),
        (Some(_), Some(_)) => Err((path.key("prefix"), PATH_XOR_PREFIX.to_owned())),
        (None, None) => Err((path.clone(), PATH_OR_PREFIX.to_owned())),
    };
    let path_match = path_match
        .map_err(|(at, problem)| report.error(at, problem))
        .ok();
    let mut methods = Vec::new();
    for (i, m) in raw.methods.iter().enumerate() {
        match http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(method) => methods.push(method),
            Err(_) => report.invalid(
                path.key("methods").index(i),
                "not an HTTP method",
                "a method token, e.g. GET, POST, PUT, DELETE",
            ),
        }
    }
    let mut headers = Vec::new();
    for (i, h) in raw.headers.iter().enumerate() {
        if let Some(m) = header_match(report, path.key("headers").index(i), h) {
            headers.push(m);
        }
    }
    if report.count() != before {
        return None;
    }
    Some(RouteMatch {
        hosts,
        path: path_match?,
        methods,
        headers,
    })
}

fn header_match(
    report: &mut Report<'_>,
    path: FieldPath,
    raw: &RawHeaderMatch,
) -> Option<HeaderMatcher> {
    let rule = match (&raw.exact, &raw.prefix, raw.present) {
        (Some(v), None, None) => HeaderRule::Exact(v.clone()),
        (None, Some(v), None) => HeaderRule::Prefix(v.clone()),
        (None, None, Some(true)) => HeaderRule::Present,
        (None, None, Some(false)) => HeaderRule::Absent,
        _ => {
            report.invalid(
                path,
                "a header matcher needs exactly one rule",
                "one of `exact: VALUE`, `prefix: VALUE`, `present: true|false`",
            );
            return None;
        }
    };
    HeaderMatcher::new(&raw.name, rule)
        .map_err(|e| report.error(path.key("name"), e.to_string()))
        .ok()
}

fn rewrite(report: &mut Report<'_>, path: FieldPath, raw: &RawRewrite) -> Option<Rewrite> {
    let built = match (&raw.strip_prefix, &raw.replace_prefix) {
        (Some(p), None) => {
            Rewrite::strip_prefix(p).map_err(|e| (path.key("strip_prefix"), e.to_string()))
        }
        (None, Some(r)) => Rewrite::replace_prefix(&r.from, &r.to)
            .map_err(|e| (path.key("replace_prefix"), e.to_string())),
        (Some(_), Some(_)) => Err((path, ONE_REWRITE.to_owned())),
        (None, None) => Err((path, EMPTY_REWRITE.to_owned())),
    };
    built
        .map_err(|(at, problem)| report.error(at, problem))
        .ok()
}

pub(super) fn check_name(report: &mut Report<'_>, path: FieldPath, name: &str, what: &str) {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        report.invalid(
            path,
            format!("invalid {what}"),
            "1 to 64 characters from A-Z a-z 0-9 - _ .",
        );
    }
}

/// `host:port` with a non-zero port (an IP, a bracketed IPv6 address or a DNS name), and no
/// user information.
fn valid_authority(text: &str) -> bool {
    match text.parse::<http::uri::Authority>() {
        Ok(a) => {
            a.port_u16().is_some_and(|p| p != 0) && !a.host().is_empty() && !text.contains('@')
        }
        Err(_) => false,
    }
}
