//! What counts as a failed upstream call: one classifier shared by the circuit breaker,
//! retries, outlier detection and metrics, so "failure" means one thing everywhere.
//!
//! A call fails when the endpoint could not be reached (connect failure or connect timeout),
//! the connection broke before the response headers (reset, EOF), no response headers came in
//! time (per-try timeout), or the response status is one of the failure statuses (default:
//! every 5xx except 501 Not Implemented, which is a permanent answer about the request, not a
//! sign of an unhealthy endpoint).

use std::fmt;

use http::StatusCode;
use observability::names::outcome;

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The TCP connection could not be made (refused, unreachable).
    ConnectFailure,
    /// The TCP connection was not made within the connect timeout.
    ConnectTimeout,
    /// The connection broke before the response headers (reset, EOF, protocol error).
    Reset,
    /// No response headers within the per-try timeout.
    Timeout,
    /// The response status is a failure status.
    Status(StatusCode),
}

impl Failure {
    /// The bounded label used for `outcome` in metrics and spans.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConnectFailure => outcome::CONNECT_FAILURE,
            Self::ConnectTimeout => outcome::CONNECT_TIMEOUT,
            Self::Reset => outcome::UPSTREAM_IO,
            Self::Timeout => outcome::TIMEOUT,
            Self::Status(_) => outcome::HTTP_5XX,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "status {}", s.as_u16()),
            other => f.write_str(other.label()),
        }
    }
}

/// The verdict on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// The endpoint answered with a status that is not a failure status.
    Success,
    /// See [`Failure`].
    Failure(Failure),
}

impl CallOutcome {
    /// Whether the call failed.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failure(_))
    }
}

/// Which response statuses count as failures (validated config). Statuses 100..=599 as a bit
/// set, so a lookup is one shift.
#[derive(Clone, PartialEq, Eq)]
pub struct FailureStatuses {
    bits: [u64; 10],
}

impl FailureStatuses {
    /// No status is a failure (only transport errors are).
    pub fn none() -> Self {
        Self { bits: [0; 10] }
    }

    /// The default: 500 and 502..=599 (every 5xx but 501).
    pub fn default_5xx() -> Self {
        let mut set = Self::none();
        set.insert_range(500, 599);
        set.remove(501);
        set
    }

    /// Adds `from..=to` (clamped to 100..=599).
    pub fn insert_range(&mut self, from: u16, to: u16) {
        for code in from.max(100)..=to.min(599) {
            let i = usize::from(code - 100);
            if let Some(word) = self.bits.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
    }

    /// Removes one status.
    pub fn remove(&mut self, code: u16) {
        if (100..=599).contains(&code) {
            let i = usize::from(code - 100);
            if let Some(word) = self.bits.get_mut(i / 64) {
                *word &= !(1 << (i % 64));
            }
        }
    }

    /// Whether `status` is a failure.
    pub fn contains(&self, status: StatusCode) -> bool {
        let code = status.as_u16();
        if !(100..=599).contains(&code) {
            return false;
        }
        let i = usize::from(code - 100);
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The statuses in the set, as compact ranges (`500, 502-599`), for the admin API.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for code in 100..=599u16 {
            if !self.contains(StatusCode::from_u16(code).unwrap_or(StatusCode::OK)) {
                continue;
            }
            match out.last_mut() {
                Some((_, end)) if *end + 1 == code => *end = code,
                _ => out.push((code, code)),
            }
        }
        out
    }
}

impl Default for FailureStatuses {
    fn default() -> Self {
        Self::default_5xx()
    }
}

impl fmt::Debug for FailureStatuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .ranges()
            .into_iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        write!(f, "FailureStatuses[{}]", parts.join(", "))
    }
}

/// Classifies responses and transport errors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classifier {
    statuses: FailureStatuses,
}

impl Classifier {
    /// A classifier with these failure statuses.
    pub fn new(statuses: FailureStatuses) -> Self {
        Self { statuses }
    }

    /// The failure statuses.
    pub fn statuses(&self) -> &FailureStatuses {
        &self.statuses
    }

    /// The verdict on a response with `status`.
    pub fn response(&self, status: StatusCode) -> CallOutcome {
        if self.statuses.contains(status) {
            CallOutcome::Failure(Failure::Status(status))
        } else {
            CallOutcome::Success
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn classifier_default_fails_every_5xx_except_501() {
        let c = Classifier::default();
        for code in [500, 502, 503, 504, 599] {
            assert_eq!(
                c.response(status(code)),
                CallOutcome::Failure(Failure::Status(status(code))),
                "{code}"
            );
        }
        for code in [200, 204, 301, 400, 404, 429, 501] {
            assert_eq!(c.response(status(code)), CallOutcome::Success, "{code}");
        }
    }

    #[test]
    fn failure_statuses_ranges_are_compact_and_round_trip() {
        let set = FailureStatuses::default_5xx();
        assert_eq!(set.ranges(), vec![(500, 500), (502, 599)]);
        let mut custom = FailureStatuses::none();
        custom.insert_range(429, 429);
        custom.insert_range(502, 504);
        assert_eq!(custom.ranges(), vec![(429, 429), (502, 504)]);
        assert!(custom.contains(status(429)));
        assert!(!custom.contains(status(500)));
        assert_eq!(format!("{custom:?}"), "FailureStatuses[429, 502-504]");
    }

    #[test]
    fn failure_labels_are_the_shared_outcome_names() {
        assert_eq!(Failure::ConnectFailure.label(), "connect_failure");
        assert_eq!(Failure::Reset.label(), "upstream_io");
        assert_eq!(Failure::Timeout.label(), "timeout");
        assert_eq!(Failure::Status(status(503)).label(), "http_5xx");
        assert_eq!(Failure::Status(status(503)).to_string(), "status 503");
    }
}
