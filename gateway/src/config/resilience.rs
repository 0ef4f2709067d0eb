//! Validation of the resilience settings: failure statuses, circuit breakers, outlier
//! detection, concurrency limits, retries, fallbacks and fault injection. Each module checks
//! its own ranges; this file maps the YAML onto its settings and its errors back onto YAML
//! paths.

use std::num::NonZeroU32;
use std::path::Path;

use config_yaml::FieldPath;
use http::{HeaderName, HeaderValue};

use super::raw::{
    RawBreaker, RawDurationOrOff, RawFallback, RawFault, RawLimits, RawOutlier, RawRetry,
    RawStaticFallback, RawStatusRange,
};
use super::report::Report;
use crate::breaker::{BreakerConfig, Window};
use crate::classify::FailureStatuses;
use crate::fallback::{FallbackConfig, StaleSettings, StaticFallback};
use crate::fault::{Abort, Delay, FaultConfig, FaultSettings};
use crate::limits::LimitsConfig;
use crate::outlier::{OutlierConfig, OutlierParams};
use crate::retry::{Backoff, BudgetConfig, RetryConfig, RetryOn};

const DEFAULT_STALE_MAX_ENTRIES: usize = 10_000;
const DEFAULT_STALE_ENTRY_BYTES: usize = 64 * 1024;
const DEFAULT_STALE_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// `a.b` below `base`.
fn at(base: &FieldPath, dotted: &str) -> FieldPath {
    dotted
        .split('.')
        .filter(|s| !s.is_empty())
        .fold(base.clone(), |p, k| p.key(k))
}

/// `503` or `500-599`, within 100..=599.
fn status_range(text: &str) -> Option<(u16, u16)> {
    let (from, to) = match text.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let code = text.trim().parse().ok()?;
            (code, code)
        }
    };
    ((100..=599).contains(&from) && (100..=599).contains(&to) && from <= to).then_some((from, to))
}

/// `failure_statuses:` (default: every 5xx but 501).
pub(super) fn failure_statuses(
    report: &mut Report<'_>,
    path: FieldPath,
    raw: Option<&Vec<RawStatusRange>>,
) -> FailureStatuses {
    let Some(list) = raw else {
        return FailureStatuses::default_5xx();
    };
    let mut set = FailureStatuses::none();
    for (i, item) in list.iter().enumerate() {
        match status_range(&item.0) {
            Some((from, to)) => set.insert_range(from, to),
            None => report.invalid(
                path.index(i),
                "not a status code or range",
                "a status from 100 to 599 like 503, or a range like \"500-599\"",
            ),
        }
    }
    set
}

/// `circuit_breaker:` on an upstream or a route.
pub(super) fn breaker(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawBreaker,
) -> Option<BreakerConfig> {
    let before = report.count();
    let mut config = BreakerConfig::default();
    if let Some(window) = &raw.window {
        match (window.calls, window.duration) {
            (Some(calls), None) => match NonZeroU32::new(calls) {
                Some(n) => config.window = Window::Count(n),
                None => report.invalid(
                    path.key("window").key("calls"),
                    "a window needs at least one call",
                    "1 or more, e.g. 20",
                ),
            },
            (None, Some(d)) => config.window = Window::Time(d.get()),
            _ => report.invalid(
                path.key("window"),
                "a window is either a number of calls or a duration",
                "`{ calls: 20 }` or `{ duration: 10s }`",
            ),
        }
    }
    if let Some(p) = raw.failure_rate {
        config.failure_rate_threshold = p.ratio();
    }
    if let Some(slow) = &raw.slow_call {
        if let Some(d) = slow.over {
            config.slow_call_duration = d.get();
        }
        if let Some(p) = slow.rate {
            config.slow_call_rate_threshold = p.ratio();
        }
    }
    if let Some(n) = raw.minimum_calls {
        match NonZeroU32::new(n) {
            Some(n) => config.minimum_calls = n,
            None => report.invalid(
                path.key("minimum_calls"),
                "minimum calls must be at least 1",
                "1 or more, e.g. 10",
            ),
        }
    }
    if let Some(d) = raw.open_for {
        config.wait_in_open = d.get();
    }
    if let Some(n) = raw.half_open_calls {
        match NonZeroU32::new(n) {
            Some(n) => config.permitted_calls_in_half_open = n,
            None => report.invalid(
                path.key("half_open_calls"),
                "half-open needs at least one probe",
                "1 or more, e.g. 3",
            ),
        }
    }
    match raw.half_open_max_wait {
        None => {}
        Some(RawDurationOrOff::Off) => config.max_wait_in_half_open = None,
        Some(RawDurationOrOff::Duration(d)) => config.max_wait_in_half_open = Some(d.get()),
    }
    if let Some(auto) = raw.automatic_half_open {
        config.automatic_transition = auto;
    }
    if let Err(errors) = config.validate() {
        for e in errors {
            let field = match e.field() {
                "failure_rate_threshold" => "failure_rate",
                "slow_call_rate_threshold" => "slow_call.rate",
                "slow_call_duration" => "slow_call.over",
                "wait_in_open" => "open_for",
                "max_wait_in_half_open" => "half_open_max_wait",
                other => other,
            };
            report.error(at(path, field), e.to_string());
        }
    }
    (report.count() == before).then_some(config)
}

/// `outlier_detection:`.
pub(super) fn outlier(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawOutlier,
) -> Option<OutlierConfig> {
    let params = OutlierParams {
        consecutive_failures: raw.consecutive_failures,
        base_ejection: raw.base_ejection.map(|d| d.get()),
        max_ejection: raw.max_ejection.map(|d| d.get()),
        max_ejection_percent: raw.max_ejection_percent.map(|p| p.ratio()),
        decay_interval: raw.decay_interval.map(|d| d.get()),
        uneject_on_active_check: raw.uneject_on_health_check,
    };
    params
        .validate()
        .map_err(|errors| {
            for e in errors {
                report.invalid(path.key(e.field()), e.to_string(), e.expected());
            }
        })
        .ok()
}

/// `limits:` (defaults: 1024 each).
pub(super) fn limits(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&RawLimits>,
) -> LimitsConfig {
    let mut config = LimitsConfig::default();
    let Some(raw) = raw else { return config };
    let mut positive = |field: &str, value: Option<u32>, target: &mut u32| {
        if let Some(v) = value {
            if v == 0 {
                report.invalid(
                    path.key(field),
                    "limit must be at least 1",
                    "a count of 1 or more, e.g. 1024",
                );
            }
            *target = v;
        }
    };
    positive(
        "max_connections",
        raw.max_connections,
        &mut config.max_connections,
    );
    positive("max_requests", raw.max_requests, &mut config.max_requests);
    if let Some(v) = raw.max_pending {
        config.max_pending = v;
    }
    config
}

/// `retry:` on a route; `statuses` are the route's upstream's failure statuses (a retry on a
/// status that is not a failure could never happen).
pub(super) fn retry(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawRetry,
    statuses: &FailureStatuses,
) -> Option<RetryConfig> {
    let before = report.count();
    let mut config = RetryConfig::default();
    if let Some(n) = raw.attempts {
        match NonZeroU32::new(n) {
            Some(n) => config.attempts = n,
            None => report.invalid(
                path.key("attempts"),
                "attempts must be at least 1",
                "total attempts including the first, e.g. 3",
            ),
        }
    }
    if let Some(on) = &raw.on {
        let mut retry_on = RetryOn::nothing();
        for (i, item) in on.iter().enumerate() {
            match item.0.as_str() {
                "connect_failure" => retry_on.connect_failure = true,
                "reset" => retry_on.reset = true,
                "per_try_timeout" => retry_on.per_try_timeout = true,
                text => match status_range(text) {
                    Some((from, to)) => retry_on.statuses.insert_range(from, to),
                    None => report.invalid(
                        path.key("on").index(i),
                        "not a retry condition",
                        "connect_failure, reset, per_try_timeout, a status like 503 or a range like \"502-504\"",
                    ),
                },
            }
        }
        let unclassified = retry_on.unclassified_statuses(statuses);
        if !unclassified.is_empty() {
            let list: Vec<String> = unclassified.iter().map(ToString::to_string).collect();
            report.invalid(
                path.key("on"),
                format!(
                    "statuses {} are not failures for this upstream, so they are never retried",
                    list.join(", ")
                ),
                "statuses listed in the upstream's `failure_statuses` (default: 5xx except 501)",
            );
        }
        config.retry_on = retry_on;
    }
    if let Some(b) = raw.non_idempotent {
        config.idempotent_only = !b;
    }
    if let Some(b) = raw.idempotency_key {
        config.honor_idempotency_key = b;
    }
    if let Some(backoff) = &raw.backoff {
        let defaults = Backoff::default();
        config.backoff = Backoff {
            base: backoff.base.map_or(defaults.base, |d| d.get()),
            max: backoff.max.map_or(defaults.max, |d| d.get()),
        };
    }
    if let Some(budget) = &raw.budget {
        let defaults = BudgetConfig::default();
        config.budget = BudgetConfig {
            ratio: budget.ratio.map_or(defaults.ratio, |p| p.ratio()),
            min_per_second: budget.min_per_second.unwrap_or(defaults.min_per_second),
            window: budget.window.map_or(defaults.window, |d| d.get()),
        };
    }
    if let Some(size) = raw.max_replay_body_bytes {
        config.max_replay_body_bytes = usize::try_from(size.bytes()).unwrap_or(usize::MAX);
    }
    for e in config.problems() {
        report.error(at(path, e.field()), e.to_string());
    }
    (report.count() == before).then_some(config)
}

/// `fallback:` on a route; `base_dir` resolves `body_file`.
pub(super) fn fallback(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawFallback,
    base_dir: &Path,
) -> Option<FallbackConfig> {
    match (&raw.static_response, &raw.stale) {
        (Some(s), None) => {
            static_fallback(report, &path.key("static"), s, base_dir).map(FallbackConfig::Static)
        }
        (None, Some(stale)) => {
            let stale_path = path.key("stale");
            let before = report.count();
            let Some(max_age) = stale.max_age else {
                report.missing(
                    &stale_path,
                    "max_age",
                    "the oldest response that may be served, e.g. `max_age: 30s`",
                );
                return None;
            };
            let mut key_headers = Vec::new();
            for (i, name) in stale.key_headers.iter().enumerate() {
                match HeaderName::try_from(name.as_str()) {
                    Ok(h) => key_headers.push(h),
                    Err(_) => report.invalid(
                        stale_path.key("key_headers").index(i),
                        "not a header name",
                        "an HTTP header name, e.g. accept-language",
                    ),
                }
            }
            let then = stale.then.as_ref().and_then(|t| {
                static_fallback(
                    report,
                    &stale_path.key("then").key("static"),
                    &t.static_response,
                    base_dir,
                )
            });
            if report.count() != before {
                return None;
            }
            let bytes = |v: Option<config_yaml::units::ByteSize>, default: usize| {
                v.map_or(default, |b| {
                    usize::try_from(b.bytes()).unwrap_or(usize::MAX)
                })
            };
            let settings = StaleSettings {
                max_age: max_age.get(),
                key_headers,
                max_entries: stale.max_entries.unwrap_or(DEFAULT_STALE_MAX_ENTRIES),
                max_entry_bytes: bytes(stale.max_entry_bytes, DEFAULT_STALE_ENTRY_BYTES),
                max_total_bytes: bytes(stale.max_total_bytes, DEFAULT_STALE_TOTAL_BYTES),
                then,
            };
            FallbackConfig::stale(settings)
                .map_err(|errors| {
                    for e in errors {
                        report.error(stale_path.key(e.field()), e.to_string());
                    }
                })
                .ok()
        }
        (Some(_), Some(_)) => {
            report.error(path.clone(), "`static` and `stale` are exclusive: use `stale` with `then: { static: ... }` for both");
            None
        }
        (None, None) => {
            report.error(
                path.clone(),
                "an empty fallback: use `static: { status, body }` or `stale: { max_age }`",
            );
            None
        }
    }
}

fn static_fallback(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawStaticFallback,
    base_dir: &Path,
) -> Option<StaticFallback> {
    let before = report.count();
    let status = raw.status.unwrap_or(200);
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            _ => report.invalid(
                path.key("headers").key(name),
                "not a valid header",
                "a header name and a printable value",
            ),
        }
    }
    if report.count() != before {
        return None;
    }
    let built = match (&raw.body, &raw.body_file) {
        (Some(body), None) => StaticFallback::new(status, headers, body.clone().into_bytes()),
        (None, Some(file)) => StaticFallback::from_file(status, headers, &base_dir.join(file)),
        (None, None) => StaticFallback::new(status, headers, Vec::new()),
        (Some(_), Some(_)) => {
            report.error(
                path.key("body_file"),
                "`body` and `body_file` are exclusive",
            );
            return None;
        }
    };
    built
        .map_err(|errors| {
            for e in errors {
                report.error(path.key(e.field()), crate::errors::error_chain(&e));
            }
        })
        .ok()
}

/// `fault:` on a route.
pub(super) fn fault(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawFault,
) -> Option<FaultConfig> {
    let abort = match &raw.abort {
        None => None,
        Some(a) => match http::StatusCode::from_u16(a.status) {
            Ok(status) => Some(Abort {
                status,
                ratio: a.percent.map_or(1.0, |p| p.ratio()),
            }),
            Err(_) => {
                report.invalid(
                    path.key("abort").key("status"),
                    "not an HTTP status",
                    "a status from 200 to 599, e.g. 503",
                );
                return None;
            }
        },
    };
    let settings = FaultSettings {
        abort,
        delay: raw.delay.as_ref().map(|d| Delay {
            duration: d.duration.get(),
            ratio: d.percent.map_or(1.0, |p| p.ratio()),
        }),
        header_control: raw.header_control.unwrap_or(false),
        max_active: raw.max_active,
        seed: raw.seed.unwrap_or(1),
    };
    settings
        .validate()
        .map_err(|errors| {
            for e in errors {
                let field = match e.field() {
                    "abort.ratio" => "abort.percent",
                    "delay.ratio" => "delay.percent",
                    other => other,
                };
                report.error(at(path, field), e.to_string());
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::status_range;

    #[test]
    fn status_range_accepts_codes_and_ordered_ranges_only() {
        assert_eq!(status_range("503"), Some((503, 503)));
        assert_eq!(status_range("500-599"), Some((500, 599)));
        assert_eq!(status_range("599-500"), None);
        assert_eq!(status_range("99"), None);
        assert_eq!(status_range("5xx"), None);
    }
}
