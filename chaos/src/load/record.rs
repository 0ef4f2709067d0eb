//! What the generator keeps about each request: one [`RequestRecord`] per scheduled request,
//! sent or not.

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use observability::tracecontext::TraceId;

/// One scheduled request and what became of it.
///
/// Times are offsets from the run's start ([`LoadReport::started_at`]); latencies are measured
/// from the **intended** start, not from the moment the request left, so time a request spent
/// waiting for the generator or for a connection counts against the system (no coordinated
/// omission).
///
/// [`LoadReport::started_at`]: super::LoadReport::started_at
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Position in the schedule, from 0.
    pub seq: u64,
    /// Index of the mix entry used.
    pub template: usize,
    /// When the schedule said to start it.
    pub intended: Duration,
    /// When it was handed to the HTTP client; `None` if it was never sent
    /// ([`ErrorKind::Dropped`]). `sent - intended` is the generator's own lag.
    pub sent: Option<Duration>,
    /// Intended start to response headers; `None` without a response.
    pub latency_to_headers: Option<Duration>,
    /// Intended start to the end of the response body, or to the failure; `None` if never
    /// sent.
    pub latency_to_end: Option<Duration>,
    /// Status or error.
    pub outcome: Outcome,
    /// Response body bytes received (also when the body was cut).
    pub body_bytes: u64,
    /// The [`FALLBACK`](observability::names::header::FALLBACK) response header, if present.
    pub fallback: Option<String>,
    /// The [`UPSTREAM`](observability::names::header::UPSTREAM) response header, if present.
    pub upstream: Option<String>,
    /// The trace id sent in `traceparent`: joins this record with the gateway's traces.
    pub trace_id: TraceId,
    /// Whether `traceparent` carried the sampled flag.
    pub sampled: bool,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A complete response (headers and whole body) with this status.
    Response(StatusCode),
    /// No complete response.
    Failed {
        /// Why.
        kind: ErrorKind,
        /// The status, when headers arrived before the body failed.
        status: Option<StatusCode>,
    },
}

/// Why a request has no complete response: a bounded set, usable as a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The connection was refused (nothing listening).
    Refused,
    /// The connection was reset or closed before the response was complete.
    Reset,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection was not established within the connect timeout.
    ConnectTimeout,
    /// The target's host name did not resolve.
    Dns,
    /// The response was not valid HTTP/1.1.
    Protocol,
    /// Any other failure.
    Other,
    /// Not sent: `max_in_flight` requests were already in flight when it was due.
    Dropped,
    /// Cut by cancellation or by the run's hard stop before it completed.
    Cancelled,
}

/// Status classes, `1xx` to `5xx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusClass {
    /// 100-199.
    Informational,
    /// 200-299.
    Success,
    /// 300-399.
    Redirection,
    /// 400-499.
    ClientError,
    /// 500-599.
    ServerError,
}

// === impl RequestRecord ===

impl RequestRecord {
    /// Whether the request succeeded: a complete response with a 2xx or 3xx status (k6's
    /// `http_req_failed` rule).
    pub fn is_success(&self) -> bool {
        self.outcome.is_success()
    }

    /// `sent - intended`: how late the generator sent it; `None` if never sent.
    pub fn send_lag(&self) -> Option<Duration> {
        self.sent.map(|sent| sent.saturating_sub(self.intended))
    }
}

// === impl Outcome ===

impl Outcome {
    /// A complete 2xx or 3xx response.
    pub fn is_success(&self) -> bool {
        match self {
            Outcome::Response(status) => status.is_success() || status.is_redirection(),
            Outcome::Failed { .. } => false,
        }
    }

    /// The error kind, for a failure.
    pub fn error(&self) -> Option<ErrorKind> {
        match self {
            Outcome::Response(_) => None,
            Outcome::Failed { kind, .. } => Some(*kind),
        }
    }

    /// The status, when headers arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Outcome::Response(status) => Some(*status),
            Outcome::Failed { status, .. } => *status,
        }
    }
}

// === impl ErrorKind ===

impl ErrorKind {
    /// Every kind, in declaration order (the order of [`ErrorCounts`](super::ErrorCounts)).
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Refused,
        ErrorKind::Reset,
        ErrorKind::Timeout,
        ErrorKind::ConnectTimeout,
        ErrorKind::Dns,
        ErrorKind::Protocol,
        ErrorKind::Other,
        ErrorKind::Dropped,
        ErrorKind::Cancelled,
    ];

    /// The snake_case name, e.g. `connect_timeout`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::Dns => "dns",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Other => "other",
            ErrorKind::Dropped => "dropped",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    /// Position in [`ErrorKind::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl StatusClass ===

impl StatusClass {
    /// Every class, in order.
    pub const ALL: [StatusClass; 5] = [
        StatusClass::Informational,
        StatusClass::Success,
        StatusClass::Redirection,
        StatusClass::ClientError,
        StatusClass::ServerError,
    ];

    /// The class of `status` (`StatusCode` only holds 100-999; 600-999 count as 5xx).
    pub fn of(status: StatusCode) -> Self {
        match status.as_u16() {
            ..200 => StatusClass::Informational,
            200..300 => StatusClass::Success,
            300..400 => StatusClass::Redirection,
            400..500 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }

    /// `1xx` .. `5xx`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
        }
    }

    /// Position in [`StatusClass::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for StatusClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kind_index_matches_its_place_in_all() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind}");
        }
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "refused",
                "reset",
                "timeout",
                "connect_timeout",
                "dns",
                "protocol",
                "other",
                "dropped",
                "cancelled"
            ]
        );
    }

    #[test]
    fn status_class_covers_every_status() {
        assert_eq!(
            StatusClass::of(StatusCode::CONTINUE),
            StatusClass::Informational
        );
        assert_eq!(StatusClass::of(StatusCode::OK), StatusClass::Success);
        assert_eq!(StatusClass::of(StatusCode::FOUND), StatusClass::Redirection);
        assert_eq!(
            StatusClass::of(StatusCode::TOO_MANY_REQUESTS),
            StatusClass::ClientError
        );
        assert_eq!(
            StatusClass::of(StatusCode::GATEWAY_TIMEOUT),
            StatusClass::ServerError
        );
        for (i, class) in StatusClass::ALL.iter().enumerate() {
            assert_eq!(class.index(), i);
        }
    }

    #[test]
    fn success_is_a_complete_2xx_or_3xx() {
        assert!(Outcome::Response(StatusCode::OK).is_success());
        assert!(Outcome::Response(StatusCode::NOT_MODIFIED).is_success());
        assert!(!Outcome::Response(StatusCode::SERVICE_UNAVAILABLE).is_success());
        let cut = Outcome::Failed {
            kind: ErrorKind::Reset,
            status: Some(StatusCode::OK),
        };
        assert!(!cut.is_success());
        assert_eq!(cut.status(), Some(StatusCode::OK));
        assert_eq!(cut.error(), Some(ErrorKind::Reset));
    }
}
