//! What can be wrong with a [`LoadInput`](super::LoadInput): one [`SpecError`] per problem.

/// One problem with a [`LoadInput`](super::LoadInput), naming the field it is about.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct SpecError {
    /// The field, relative to the [`LoadInput`](super::LoadInput) (`mix[2].weight`); a
    /// scenario prefixes its own path.
    pub path: String,
    /// What is wrong with it.
    pub problem: SpecProblem,
}

/// What is wrong with a field of a [`LoadInput`](super::LoadInput).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecProblem {
    /// The target is not `http://host:port`.
    #[error("expected a base URL like http://127.0.0.1:8080 ({expected}), got {value:?}")]
    Target {
        /// What the URL lacks or has too much of.
        expected: &'static str,
        /// The value received.
        value: String,
    },
    /// A rate is negative, not finite, above [`MAX_RATE`](super::MAX_RATE), or 0 where it
    /// must be positive.
    #[error("expected a rate {range} requests/s, got {value}")]
    Rate {
        /// The allowed range.
        range: &'static str,
        /// The value received.
        value: f64,
    },
    /// A ramp without stages.
    #[error("expected at least one stage")]
    NoStages,
    /// A duration or timeout of zero.
    #[error("expected a duration above 0, got 0s")]
    ZeroDuration,
    /// The rate and duration plan no request, or more than [`MAX_REQUESTS`](super::MAX_REQUESTS).
    #[error("rate × duration plans {planned} requests; expected 1 to {max}")]
    RequestCount {
        /// Requests planned (rate × duration, floored).
        planned: u64,
        /// [`MAX_REQUESTS`](super::MAX_REQUESTS).
        max: u64,
    },
    /// An empty request mix.
    #[error("expected at least one request")]
    EmptyMix,
    /// A mix weight of 0.
    #[error("expected a weight of at least 1, got 0")]
    ZeroWeight,
    /// The method is not an HTTP token.
    #[error("expected an HTTP method like GET, got {value:?}")]
    Method {
        /// The value received.
        value: String,
    },
    /// The path is not an origin-form path and query.
    #[error("expected a path starting with / (query allowed), got {value:?}")]
    Path {
        /// The value received.
        value: String,
    },
    /// A header name is not a valid token.
    #[error("expected a header name, got {value:?}")]
    HeaderName {
        /// The value received.
        value: String,
    },
    /// A header value has characters a header may not carry.
    #[error("header {name} has a value with characters not allowed in a header")]
    HeaderValue {
        /// The header's name.
        name: String,
    },
    /// A header the generator sets itself.
    #[error("header {name} is set by the load generator; remove it")]
    ReservedHeader {
        /// The header's name.
        name: String,
    },
    /// An in-flight limit of 0.
    #[error("expected at least 1 request in flight, got 0")]
    ZeroInFlight,
    /// A sampling share outside `[0, 1]`.
    #[error("expected a share between 0 and 1, got {value}")]
    SampleShare {
        /// The value received.
        value: f64,
    },
}
