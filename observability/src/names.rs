//! Names shared by the gateway and the chaos runner, defined once: span names, span attribute
//! keys, metric names and label keys, and the response headers drills read.
//!
//! This is the contract between the gateway (which emits) and the drill runner (which judges
//! from traces and metrics): neither side writes these strings anywhere else.
//!
//! Conventions (checked by the tests at the bottom):
//! - span names are lowercase dotted nouns, `area.event` (`upstream.attempt`);
//! - attribute keys follow OpenTelemetry semantic conventions where one exists
//!   (`http.request.method`), else `gateway.*`;
//! - metric names are snake_case with the `gateway_` prefix, base units as a plural suffix
//!   (`_seconds`), counters end in `_total` (as exported; `prometheus-client` registers them
//!   without it and appends it, see [`metric::registration_name`]);
//! - labels only take values from bounded sets (route names, upstream names, endpoint
//!   addresses from the config, status classes, enums), never ids or free text.

/// Span names.
pub mod span {
    /// The gateway's server span: one per request it receives.
    pub const REQUEST: &str = "gateway.request";
    /// The gateway's client span: one per attempt to send a request to an upstream endpoint.
    pub const UPSTREAM_ATTEMPT: &str = "upstream.attempt";
    /// An endpoint's active-health verdict changed (state-change evidence).
    pub const ENDPOINT_HEALTH: &str = "endpoint.health";
    /// A config reload was applied or rejected (state-change evidence).
    pub const CONFIG_RELOAD: &str = "config.reload";
    /// `chaos upstream`'s server span: one per request it answers.
    pub const UPSTREAM_REQUEST: &str = "upstream.request";
    /// `chaos upstream`'s client span for each callback it makes (`/_chaos/callbacks`).
    pub const UPSTREAM_CALLBACK: &str = "upstream.callback";

    /// A circuit breaker changed state (state-change evidence).
    pub const BREAKER_TRANSITION: &str = "breaker.transition";
    /// Outlier detection ejected an endpoint (state-change evidence).
    pub const ENDPOINT_EJECTED: &str = "endpoint.ejected";
    /// An ejected endpoint takes traffic again (state-change evidence).
    pub const ENDPOINT_RETURNED: &str = "endpoint.returned";

    /// State-change evidence spans: always recorded, whatever the sampling ratio, because a
    /// drill cannot judge a transition it never sees.
    pub const EVIDENCE: [&str; 5] = [
        ENDPOINT_HEALTH,
        CONFIG_RELOAD,
        BREAKER_TRANSITION,
        ENDPOINT_EJECTED,
        ENDPOINT_RETURNED,
    ];
}

/// Span attribute keys.
pub mod attr {
    /// HTTP method (semantic conventions).
    pub const HTTP_METHOD: &str = "http.request.method";
    /// Response status code (semantic conventions).
    pub const HTTP_STATUS_CODE: &str = "http.response.status_code";
    /// The route that served the request: the route's configured name.
    pub const HTTP_ROUTE: &str = "http.route";
    /// Request path as received (semantic conventions).
    pub const URL_PATH: &str = "url.path";
    /// Client address (semantic conventions).
    pub const CLIENT_ADDRESS: &str = "client.address";
    /// Address of the server a client span talks to (semantic conventions).
    pub const SERVER_ADDRESS: &str = "server.address";
    /// Low-cardinality error class of a failed operation (semantic conventions).
    pub const ERROR_TYPE: &str = "error.type";
    /// The upstream a request was sent to.
    pub const UPSTREAM: &str = "gateway.upstream";
    /// The endpoint (`host:port`) an attempt went to.
    pub const ENDPOINT: &str = "gateway.endpoint";
    /// How many upstream attempts a request took.
    pub const ATTEMPTS: &str = "gateway.attempts";
    /// Outcome of one upstream attempt (see [`outcome`](super::outcome)).
    pub const OUTCOME: &str = "gateway.outcome";
    /// New health verdict of an endpoint: `healthy` or `unhealthy`.
    pub const HEALTH: &str = "gateway.health";
    /// Why a state changed (probe failure reason, ...), short text.
    pub const REASON: &str = "gateway.reason";
    /// Config version after a reload.
    pub const CONFIG_VERSION: &str = "gateway.config.version";
    /// Reload outcome: `applied` or `rejected`.
    pub const RELOAD_OUTCOME: &str = "gateway.reload.outcome";
    /// Names of the upstreams whose settings changed in a reload (comma-separated).
    pub const RELOAD_CHANGED: &str = "gateway.reload.changed_upstreams";
    /// Breakers that start fresh after a reload (new or changed settings), comma-separated
    /// `upstream` or `upstream/route`; all others kept their state.
    pub const RELOAD_FRESH_BREAKERS: &str = "gateway.reload.fresh_breakers";
    /// State a breaker left (`closed`, `open`, `half_open`, `forced_open`, `disabled`,
    /// `metrics_only`).
    pub const BREAKER_FROM: &str = "gateway.breaker.from";
    /// State a breaker entered.
    pub const BREAKER_TO: &str = "gateway.breaker.to";
    /// Why a breaker changed state (`failure_rate`, `slow_call_rate`, `wait_elapsed`,
    /// `probes_passed`, `half_open_timeout`, `manual`).
    pub const BREAKER_CAUSE: &str = "gateway.breaker.cause";
    /// Failure rate (0.0 to 1.0) of the window when a breaker changed state.
    pub const BREAKER_FAILURE_RATE: &str = "gateway.breaker.failure_rate";
    /// Slow-call rate (0.0 to 1.0) of the window when a breaker changed state.
    pub const BREAKER_SLOW_CALL_RATE: &str = "gateway.breaker.slow_call_rate";
    /// Calls in the window when a breaker changed state.
    pub const BREAKER_CALLS: &str = "gateway.breaker.calls";
    /// The route of a route-level breaker (absent for an upstream's breaker).
    pub const ROUTE: &str = "gateway.route";
    /// How long an endpoint is ejected for, in milliseconds.
    pub const EJECTION_MS: &str = "gateway.ejection.duration_ms";
    /// How many times an endpoint has been ejected in a row (the ejection-time multiplier).
    pub const EJECTION_COUNT: &str = "gateway.ejection.count";
    /// The fallback that answered a request (`static`, `stale`).
    pub const FALLBACK: &str = "gateway.fallback";
    /// Faults injected into a request by the route's fault filter (`abort`, `delay`).
    pub const FAULT: &str = "gateway.fault";
    /// Why the gateway refused to send a request upstream (see [`reject`](super::reject)).
    pub const REJECT_REASON: &str = "gateway.reject_reason";
    /// Why a retry was made (`connect_failure`, `reset`, `per_try_timeout`, `status`).
    pub const RETRY_REASON: &str = "gateway.retry.reason";
    /// The attempt number of an upstream attempt (1 for the first).
    pub const ATTEMPT: &str = "gateway.attempt";
    /// The route's rate-limit verdict on a request (see [`rate_limit`](super::rate_limit)).
    pub const RATE_LIMIT: &str = "gateway.rate_limit";
    /// Which rate-limit backend decided: `local`, `redis`, `local_fallback`.
    pub const RATE_LIMIT_BACKEND: &str = "gateway.rate_limit.backend";
    /// On a `rate_limit.limited` event: milliseconds until a request would be admitted.
    pub const RATE_LIMIT_RETRY_AFTER_MS: &str = "gateway.rate_limit.retry_after_ms";
    /// Name of the `chaos upstream` instance that answered.
    pub const UPSTREAM_NAME: &str = "chaos.upstream.name";
    /// Absolute URL a client span requested (semantic conventions).
    pub const URL_FULL: &str = "url.full";
    /// Port of the server a client span talks to (semantic conventions).
    pub const SERVER_PORT: &str = "server.port";
    /// The auth provider a route's request was authenticated against.
    pub const AUTH_PROVIDER: &str = "gateway.auth.provider";
    /// Outcome of a route's authentication: `ok`, or the rejection reason (see
    /// [`auth_reason`](super::auth_reason)).
    pub const AUTH_OUTCOME: &str = "gateway.auth.outcome";
    /// Address (`host:port`) a client span actually connected to when that is not the server,
    /// e.g. a proxy (semantic conventions).
    pub const NETWORK_PEER_ADDRESS: &str = "network.peer.address";
}

/// Values of [`attr::ERROR_TYPE`] other than a status code (which is written as its number,
/// `"503"`, as the semantic conventions say).
pub mod error_type {
    /// `chaos upstream` answered with an error its behavior's error rate injected.
    pub const INJECTED_FAILURE: &str = "injected_failure";
    /// No complete answer within the timeout.
    pub const TIMEOUT: &str = "timeout";
    /// The connection could not be made.
    pub const CONNECT_FAILURE: &str = "connect_failure";
    /// The connection failed while the request was sent or the response read.
    pub const IO: &str = "io";

    /// Every value above, for the naming tests.
    pub const ALL: [&str; 4] = [INJECTED_FAILURE, TIMEOUT, CONNECT_FAILURE, IO];
}

/// Values of [`attr::OUTCOME`] and of the `outcome` metric label.
pub mod outcome {
    /// The endpoint answered (any status below 500).
    pub const OK: &str = "ok";
    /// The endpoint answered with a 5xx status.
    pub const HTTP_5XX: &str = "http_5xx";
    /// The endpoint answered with a 4xx status the upstream's `failure_statuses` list.
    pub const HTTP_4XX: &str = "http_4xx";
    /// The connection could not be made.
    pub const CONNECT_FAILURE: &str = "connect_failure";
    /// The connection was not made within the connect timeout.
    pub const CONNECT_TIMEOUT: &str = "connect_timeout";
    /// The connection failed before the response headers.
    pub const UPSTREAM_IO: &str = "upstream_io";
    /// No response headers within the timeout.
    pub const TIMEOUT: &str = "timeout";
}

/// Values of [`attr::REJECT_REASON`], the `reason` label of
/// [`metric::UPSTREAM_REJECTED_TOTAL`] and the [`header::REJECT_REASON`] response header.
pub mod reject {
    /// The circuit breaker is open (or forced open, or half-open with every probe placed).
    pub const BREAKER_OPEN: &str = "breaker_open";
    /// The upstream's `max_requests` limit is reached.
    pub const MAX_REQUESTS: &str = "max_requests";
    /// The upstream's `max_pending` limit is reached (every connection busy, queue full).
    pub const MAX_PENDING: &str = "max_pending";
    /// No endpoint may take traffic.
    pub const NO_HEALTHY_ENDPOINT: &str = "no_healthy_endpoint";
    /// The route's rate limit refused the request (429).
    pub const RATE_LIMITED: &str = "rate_limited";
    /// The route's Redis rate-limit backend failed and the route fails closed (503).
    pub const RATE_LIMIT_UNAVAILABLE: &str = "rate_limit_unavailable";
}

/// Values of [`attr::RATE_LIMIT`], and the span events the gateway adds to its server span.
pub mod rate_limit {
    /// Admitted by the limiter.
    pub const ADMITTED: &str = "admitted";
    /// Refused with 429.
    pub const LIMITED: &str = "limited";
    /// The Redis backend failed and the local limiter decided (`on_error: fail_open`).
    pub const FAIL_OPEN: &str = "fail_open";
    /// The Redis backend failed and the request was refused with 503 (`fail_closed`).
    pub const FAIL_CLOSED: &str = "fail_closed";
    /// Span event on the server span when a request is refused with 429.
    pub const EVENT_LIMITED: &str = "rate_limit.limited";
    /// Span event on the server span when the Redis backend could not decide.
    pub const EVENT_BACKEND_ERROR: &str = "rate_limit.backend_error";
}

/// Why authentication rejected a request: values of [`attr::AUTH_OUTCOME`] (besides
/// [`auth_reason::OK`]) and the `reason` label of [`metric::AUTH_REJECTIONS_TOTAL`].
pub mod auth_reason {
    /// The token was accepted (span attribute only, never a metric label).
    pub const OK: &str = "ok";
    /// No bearer token (no `Authorization` header, or another scheme).
    pub const MISSING: &str = "missing";
    /// Not a well-formed compact JWS: size, segments, base64url, JSON header or claims.
    pub const MALFORMED: &str = "malformed";
    /// The signature does not verify.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// `exp` is in the past (beyond the leeway).
    pub const EXPIRED: &str = "expired";
    /// `nbf` or `iat` is in the future (beyond the leeway).
    pub const NOT_YET_VALID: &str = "not_yet_valid";
    /// `iss` missing or not the provider's issuer.
    pub const ISSUER: &str = "issuer";
    /// `aud` missing or none of the provider's audiences.
    pub const AUDIENCE: &str = "audience";
    /// `alg` outside the provider's allowlist (`none` included) or not the key's.
    pub const ALGORITHM: &str = "algorithm";
    /// No key for the token's `kid` (or an unusable `kid`).
    pub const UNKNOWN_KID: &str = "unknown_kid";
    /// A claim the route requires is missing (or `exp` is).
    pub const CLAIMS: &str = "claims";
    /// A route rule on a claim failed (403).
    pub const FORBIDDEN: &str = "forbidden";

    /// Every rejection reason (the bounded label set).
    pub const ALL: [&str; 11] = [
        MISSING,
        MALFORMED,
        BAD_SIGNATURE,
        EXPIRED,
        NOT_YET_VALID,
        ISSUER,
        AUDIENCE,
        ALGORITHM,
        UNKNOWN_KID,
        CLAIMS,
        FORBIDDEN,
    ];
}

/// Metric names, as exported.
pub mod metric {
    /// Requests received, by route, method and status class. Counter.
    pub const HTTP_REQUESTS_TOTAL: &str = "gateway_http_requests_total";
    /// Request duration from receipt to response headers, by route. Histogram, seconds.
    pub const HTTP_REQUEST_DURATION_SECONDS: &str = "gateway_http_request_duration_seconds";
    /// Requests being served, by route. Gauge.
    pub const HTTP_REQUESTS_IN_FLIGHT: &str = "gateway_http_requests_in_flight";
    /// Upstream attempts, by upstream and outcome. Counter.
    pub const UPSTREAM_REQUESTS_TOTAL: &str = "gateway_upstream_requests_total";
    /// Upstream attempt duration to response headers, by upstream. Histogram, seconds.
    pub const UPSTREAM_REQUEST_DURATION_SECONDS: &str = "gateway_upstream_request_duration_seconds";
    /// Active-health verdict per endpoint: 1 healthy, 0 unhealthy. Gauge.
    pub const ENDPOINT_HEALTHY: &str = "gateway_endpoint_healthy";
    /// Health verdict changes, by upstream, endpoint and new state. Counter.
    pub const ENDPOINT_HEALTH_TRANSITIONS_TOTAL: &str = "gateway_endpoint_health_transitions_total";
    /// Config reloads, by outcome (`applied`, `rejected`). Counter.
    pub const CONFIG_RELOADS_TOTAL: &str = "gateway_config_reloads_total";
    /// Version of the running config. Gauge.
    pub const CONFIG_VERSION: &str = "gateway_config_version";
    /// Incoming `traceparent`/`tracestate` headers that were invalid and ignored, by reason.
    /// Counter.
    pub const TRACE_CONTEXT_INVALID_TOTAL: &str = "gateway_trace_context_invalid_total";
    /// Finished spans not exported, by reason (`queue_full`, `export_failed`). Counter.
    pub const TELEMETRY_SPANS_DROPPED_TOTAL: &str = "gateway_telemetry_spans_dropped_total";
    /// Finished spans exported. Counter.
    pub const TELEMETRY_SPANS_EXPORTED_TOTAL: &str = "gateway_telemetry_spans_exported_total";
    /// Circuit breaker state by upstream and route (route empty for an upstream's breaker):
    /// 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled, 5 metrics only. Gauge.
    pub const BREAKER_STATE: &str = "gateway_breaker_state";
    /// Breaker transitions by upstream, route and new state. Counter.
    pub const BREAKER_TRANSITIONS_TOTAL: &str = "gateway_breaker_transitions_total";
    /// Requests the gateway refused to send upstream, by upstream and reason. Counter.
    pub const UPSTREAM_REJECTED_TOTAL: &str = "gateway_upstream_rejected_total";
    /// Retries made, by route and reason. Counter.
    pub const RETRIES_TOTAL: &str = "gateway_retries_total";
    /// Retries refused because the route's retry budget was spent, by route. Counter.
    pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "gateway_retry_budget_exhausted_total";
    /// Outlier ejections by upstream and endpoint. Counter.
    pub const ENDPOINT_EJECTIONS_TOTAL: &str = "gateway_endpoint_ejections_total";
    /// Whether an endpoint is ejected by outlier detection (1) or not (0). Gauge.
    pub const ENDPOINT_EJECTED: &str = "gateway_endpoint_ejected";
    /// Responses served by a fallback, by route and kind. Counter.
    pub const FALLBACKS_TOTAL: &str = "gateway_fallbacks_total";
    /// Faults injected by a route's fault filter, by route and kind. Counter.
    pub const FAULTS_INJECTED_TOTAL: &str = "gateway_faults_injected_total";
    /// Failed TLS handshakes on the data-plane listener, by reason (see
    /// [`tls_handshake_error`](super::tls_handshake_error)). Counter.
    pub const TLS_HANDSHAKE_ERRORS_TOTAL: &str = "gateway_tls_handshake_errors_total";

    /// Counter: requests refused by a route's rate limit, by route and deciding backend
    /// (`local`, `redis`, `local_fallback`).
    pub const RATE_LIMITED_TOTAL: &str = "gateway_rate_limited_total";
    /// Counter: Redis rate-limit decisions that failed or timed out, by route and what the
    /// route did about it (`outcome`: `fail_open` or `fail_closed`).
    pub const RATE_LIMIT_BACKEND_ERRORS_TOTAL: &str = "gateway_rate_limit_backend_errors_total";

    /// Requests rejected by a route's authentication, by route and reason (see
    /// [`auth_reason`](super::auth_reason)). Counter.
    pub const AUTH_REJECTIONS_TOTAL: &str = "gateway_auth_rejections_total";

    /// Every metric name above, for the naming tests and for documentation.
    pub const ALL: [&str; 25] = [
        HTTP_REQUESTS_TOTAL,
        HTTP_REQUEST_DURATION_SECONDS,
        HTTP_REQUESTS_IN_FLIGHT,
        UPSTREAM_REQUESTS_TOTAL,
        UPSTREAM_REQUEST_DURATION_SECONDS,
        ENDPOINT_HEALTHY,
        ENDPOINT_HEALTH_TRANSITIONS_TOTAL,
        CONFIG_RELOADS_TOTAL,
        CONFIG_VERSION,
        TRACE_CONTEXT_INVALID_TOTAL,
        TELEMETRY_SPANS_DROPPED_TOTAL,
        TELEMETRY_SPANS_EXPORTED_TOTAL,
        BREAKER_STATE,
        BREAKER_TRANSITIONS_TOTAL,
        UPSTREAM_REJECTED_TOTAL,
        RETRIES_TOTAL,
        RETRY_BUDGET_EXHAUSTED_TOTAL,
        ENDPOINT_EJECTIONS_TOTAL,
        ENDPOINT_EJECTED,
        FALLBACKS_TOTAL,
        FAULTS_INJECTED_TOTAL,
        TLS_HANDSHAKE_ERRORS_TOTAL,
        RATE_LIMITED_TOTAL,
        RATE_LIMIT_BACKEND_ERRORS_TOTAL,
        AUTH_REJECTIONS_TOTAL,
    ];

    /// The name to register a metric under with `prometheus-client`, which appends `_total`
    /// to counters itself (and panics in debug builds when the name already has it).
    pub fn registration_name(exported: &str) -> &str {
        exported.strip_suffix("_total").unwrap_or(exported)
    }
}

/// `reason` values of the TLS handshake error counter: a bounded set.
pub mod tls_handshake_error {
    /// The client did not finish the handshake within `tls.handshake_timeout`.
    pub const TIMEOUT: &str = "timeout";
    /// The client closed or reset the connection during the handshake.
    pub const CLOSED: &str = "closed";
    /// The bytes received are not TLS (a plaintext HTTP client on the TLS port, a scanner).
    pub const NOT_TLS: &str = "not_tls";
    /// No common protocol version, cipher suite or signature scheme.
    pub const INCOMPATIBLE: &str = "incompatible";
    /// The client offered ALPN protocols, none of them configured.
    pub const NO_ALPN: &str = "no_alpn";
    /// The client aborted with an alert (typically: it does not trust the certificate).
    pub const ALERT_RECEIVED: &str = "alert_received";
    /// Anything else.
    pub const OTHER: &str = "other";
    /// Every reason.
    pub const ALL: [&str; 7] = [
        TIMEOUT,
        CLOSED,
        NOT_TLS,
        INCOMPATIBLE,
        NO_ALPN,
        ALERT_RECEIVED,
        OTHER,
    ];
}

/// Metric label keys.
pub mod label {
    /// Route name.
    pub const ROUTE: &str = "route";
    /// HTTP method (bounded: standard methods, anything else is `other`).
    pub const METHOD: &str = "method";
    /// Status class: `1xx` .. `5xx`.
    pub const STATUS_CLASS: &str = "status_class";
    /// Upstream name.
    pub const UPSTREAM: &str = "upstream";
    /// Endpoint address from the config.
    pub const ENDPOINT: &str = "endpoint";
    /// Outcome (see [`outcome`](super::outcome)).
    pub const OUTCOME: &str = "outcome";
    /// New state of a transition.
    pub const TO: &str = "to";
    /// Reason from a bounded set.
    pub const REASON: &str = "reason";
    /// Kind from a bounded set (fallback kind, fault kind).
    pub const KIND: &str = "kind";
    /// Rate-limit backend that decided: `local`, `redis`, `local_fallback`.
    pub const BACKEND: &str = "backend";
}

/// Response headers.
pub mod header {
    /// Set by `chaos upstream` on every response: the name of the instance that answered, so
    /// client records can attribute each response to an endpoint.
    pub const UPSTREAM: &str = "x-upstream";
    /// Set by the gateway on a response it served from a fallback instead of the upstream:
    /// the kind of fallback, so client records can count degraded answers.
    pub const FALLBACK: &str = "x-gateway-fallback";
    /// Set by the gateway on a 503 (or a rate-limit 429) it answered without asking the
    /// upstream: why (see [`reject`](super::reject)).
    pub const REJECT_REASON: &str = "x-gateway-reject-reason";
    /// Set by the gateway on a response its fault filter touched: `abort`, `delay`.
    pub const FAULT: &str = "x-gateway-fault";
    /// Request header asking the fault filter for an abort with this status (routes with
    /// `fault.header_control`).
    pub const FAULT_ABORT: &str = "x-fault-abort-request";
    /// Request header: share (0-100) of such requests to abort.
    pub const FAULT_ABORT_PERCENTAGE: &str = "x-fault-abort-request-percentage";
    /// Request header asking the fault filter for a delay in milliseconds.
    pub const FAULT_DELAY: &str = "x-fault-delay-request";
    /// Request header: share (0-100) of such requests to delay.
    pub const FAULT_DELAY_PERCENTAGE: &str = "x-fault-delay-request-percentage";
    /// The route's rate-limit policy (draft-ietf-httpapi-ratelimit-headers-11):
    /// `"ROUTE";q=QUOTA;w=WINDOW_SECONDS`.
    pub const RATE_LIMIT_POLICY: &str = "ratelimit-policy";
    /// The request's rate-limit state (same draft): `"ROUTE";r=REMAINING;t=RESET_SECONDS`.
    pub const RATE_LIMIT: &str = "ratelimit";
}

/// Response header set by `chaos upstream` naming the instance that answered.
pub const HEADER_UPSTREAM: &str = header::UPSTREAM;

#[cfg(test)]
mod tests {
    use super::*;

    fn snake_case(name: &str) -> bool {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !name.starts_with('_')
            && !name.ends_with('_')
            && !name.contains("__")
    }

    #[test]
    fn metric_names_follow_prometheus_conventions() {
        let units = ["_seconds", "_bytes", "_ratio"];
        let abbreviated = ["ms", "sec", "secs", "kb", "mb", "millis", "us"];
        for name in metric::ALL {
            assert!(name.starts_with("gateway_"), "{name}: application prefix");
            assert!(snake_case(name), "{name}: snake_case");
            for word in name.split('_') {
                assert!(
                    !abbreviated.contains(&word),
                    "{name}: abbreviated unit {word}"
                );
            }
            // A counter ends in _total, after its unit if it has one.
            if let Some(base) = name.strip_suffix("_total") {
                assert!(!base.ends_with("_total"), "{name}");
            }
            let has_unit = units.iter().any(|u| name.ends_with(u));
            if name.contains("duration") {
                assert!(has_unit, "{name}: durations carry a unit");
            }
        }
    }

    #[test]
    fn metric_names_are_unique() {
        let mut names = metric::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), metric::ALL.len());
    }

    #[test]
    fn registration_name_strips_only_a_final_total() {
        assert_eq!(
            metric::registration_name("gateway_http_requests_total"),
            "gateway_http_requests"
        );
        assert_eq!(
            metric::registration_name("gateway_config_version"),
            "gateway_config_version"
        );
    }

    #[test]
    fn label_keys_are_snake_case() {
        for key in [
            label::ROUTE,
            label::METHOD,
            label::STATUS_CLASS,
            label::UPSTREAM,
            label::ENDPOINT,
            label::OUTCOME,
            label::TO,
            label::REASON,
            label::KIND,
        ] {
            assert!(snake_case(key), "{key}");
        }
    }

    #[test]
    fn span_names_are_dotted_lowercase_nouns() {
        for name in [
            span::REQUEST,
            span::UPSTREAM_ATTEMPT,
            span::ENDPOINT_HEALTH,
            span::CONFIG_RELOAD,
            span::UPSTREAM_REQUEST,
            span::UPSTREAM_CALLBACK,
            span::BREAKER_TRANSITION,
            span::ENDPOINT_EJECTED,
            span::ENDPOINT_RETURNED,
        ] {
            let parts: Vec<&str> = name.split('.').collect();
            assert_eq!(parts.len(), 2, "{name}: area.event");
            assert!(parts.iter().all(|p| snake_case(p)), "{name}");
        }
    }

    #[test]
    fn attribute_keys_are_dotted_snake_case() {
        let keys = [
            attr::HTTP_METHOD,
            attr::HTTP_STATUS_CODE,
            attr::HTTP_ROUTE,
            attr::URL_PATH,
            attr::CLIENT_ADDRESS,
            attr::SERVER_ADDRESS,
            attr::ERROR_TYPE,
            attr::UPSTREAM,
            attr::ENDPOINT,
            attr::ATTEMPTS,
            attr::OUTCOME,
            attr::BREAKER_FROM,
            attr::BREAKER_TO,
            attr::BREAKER_CAUSE,
            attr::BREAKER_FAILURE_RATE,
            attr::BREAKER_SLOW_CALL_RATE,
            attr::BREAKER_CALLS,
            attr::ROUTE,
            attr::EJECTION_MS,
            attr::EJECTION_COUNT,
            attr::FALLBACK,
            attr::FAULT,
            attr::REJECT_REASON,
            attr::RETRY_REASON,
            attr::ATTEMPT,
            attr::HEALTH,
            attr::REASON,
            attr::CONFIG_VERSION,
            attr::RELOAD_OUTCOME,
            attr::RELOAD_CHANGED,
            attr::RELOAD_FRESH_BREAKERS,
            attr::UPSTREAM_NAME,
            attr::RATE_LIMIT,
            attr::RATE_LIMIT_BACKEND,
            attr::RATE_LIMIT_RETRY_AFTER_MS,
            rate_limit::EVENT_LIMITED,
            rate_limit::EVENT_BACKEND_ERROR,
            attr::URL_FULL,
            attr::SERVER_PORT,
            attr::NETWORK_PEER_ADDRESS,
            attr::AUTH_PROVIDER,
            attr::AUTH_OUTCOME,
        ];
        for key in keys {
            assert!(key.split('.').all(snake_case), "{key}");
        }
    }

    #[test]
    fn auth_reasons_are_snake_case_and_unique() {
        let mut reasons = auth_reason::ALL.to_vec();
        for reason in &reasons {
            assert!(snake_case(reason), "{reason}");
        }
        assert!(!reasons.contains(&auth_reason::OK));
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), auth_reason::ALL.len());
    }

    #[test]
    fn error_type_values_are_snake_case() {
        for value in error_type::ALL {
            assert!(snake_case(value), "{value}");
        }
    }

    #[test]
    fn header_names_are_lowercase_tokens() {
        for name in [
            header::UPSTREAM,
            header::FALLBACK,
            header::REJECT_REASON,
            header::FAULT,
            header::FAULT_ABORT,
            header::FAULT_ABORT_PERCENTAGE,
            header::FAULT_DELAY,
            header::FAULT_DELAY_PERCENTAGE,
            header::RATE_LIMIT_POLICY,
            header::RATE_LIMIT,
        ] {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
        }
    }
}
