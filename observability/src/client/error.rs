//! Errors of the Jaeger, Prometheus and `/metrics` clients, each naming its subject.
//!
//! Transport and response problems are [`ClientError`] (always with the request URL),
//! exposition-format problems are [`ParseError`] (with the line), and questions asked of a
//! parsed exposition that it cannot answer are [`LookupError`]. Callers match variants, never
//! message text: a drill runner tells "metrics unreachable" (`Connect`, `Timeout`) from "the
//! system answered badly" (`Status`, `Api`, `Decode`) by the variant alone.

use std::time::Duration;

/// A request to Jaeger, Prometheus or a `/metrics` endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A URL given to a client does not parse as an absolute http(s) URL.
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl {
        /// The rejected input.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The HTTP client itself could not be built (TLS backend initialisation).
    #[error("cannot build the http client")]
    Build(#[source] reqwest::Error),
    /// The query is invalid before anything is sent (for example an empty time window).
    #[error("invalid query for {url}: {reason}")]
    InvalidQuery {
        /// The endpoint the query was meant for.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No TCP connection could be made (refused, unreachable, DNS failure).
    #[error("cannot connect to {url}")]
    Connect {
        /// The request URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The whole exchange (connect, request, response body) took longer than the timeout.
    #[error("request to {url} timed out after {timeout:?}")]
    Timeout {
        /// The request URL.
        url: String,
        /// The client's configured timeout.
        timeout: Duration,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Any other transport failure (connection reset mid-response, protocol error).
    #[error("request to {url} failed")]
    Transport {
        /// The request URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The response body exceeded the client's size cap.
    #[error("response from {url} exceeds {limit_bytes} bytes")]
    BodyTooLarge {
        /// The request URL.
        url: String,
        /// The cap that was hit.
        limit_bytes: usize,
    },
    /// The server answered with an unexpected HTTP status and no structured error.
    #[error("{url} answered HTTP {status}: {body_excerpt}")]
    Status {
        /// The request URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, lossily decoded.
        body_excerpt: String,
    },
    /// The server answered with its own structured error (Prometheus `errorType`/`error`,
    /// Jaeger `{"error":{…}}` or v1 `errors[]`).
    #[error("{url} answered HTTP {status}: {}{message}", error_type.as_deref().map(|t| format!("{t}: ")).unwrap_or_default())]
    Api {
        /// The request URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// Prometheus `errorType` (e.g. `bad_data`); `None` for Jaeger.
        error_type: Option<String>,
        /// The server's error message.
        message: String,
    },
    /// The body is not JSON.
    #[error("response from {url} is not valid json: {body_excerpt}")]
    InvalidJson {
        /// The request URL.
        url: String,
        /// The start of the response body, lossily decoded.
        body_excerpt: String,
        /// The JSON syntax error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The body is JSON but a field does not have the expected shape.
    #[error("cannot decode response from {url}")]
    Decode {
        /// The request URL.
        url: String,
        /// Which field, and what was wrong with it.
        #[source]
        source: DecodeError,
    },
    /// The body of a `/metrics` response is not valid exposition text.
    #[error("cannot parse metrics from {url}")]
    Exposition {
        /// The request URL.
        url: String,
        /// The located parse error.
        #[source]
        source: ParseError,
    },
    /// Neither Jaeger API answered where one was expected.
    #[error(
        "no jaeger query api at {base_url}: /api/v3/services answered HTTP {v3_status}, \
         /api/services answered HTTP {v1_status}"
    )]
    NoJaegerApi {
        /// The client's base URL.
        base_url: String,
        /// Status of the api_v3 probe.
        v3_status: u16,
        /// Status of the v1 probe.
        v1_status: u16,
    },
}

/// A JSON field did not have the shape the client expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{path}`: {reason}")]
pub struct DecodeError {
    /// Where in the document, e.g. `result.resourceSpans[0].scopeSpans[0].spans[1].spanId`.
    pub path: String,
    /// What was wrong, e.g. `expected 16 hex digits, got "xyz"`.
    pub reason: String,
}

/// The exposition text is invalid at a line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong on that line.
    pub kind: ParseErrorKind,
}

/// Why a line of exposition text was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}")]
    InvalidMetricName(String),
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}")]
    InvalidLabelName(String),
    /// The label set is malformed (missing `=`, quote, `,` or `}`).
    #[error("malformed label set: {0}")]
    MalformedLabels(&'static str),
    /// A label value has no closing quote on its line.
    #[error("unterminated label value")]
    UnterminatedLabelValue,
    /// A backslash sequence other than the ones the format allows (the sequence as found;
    /// a lone `\` at the end of a line is reported as such).
    #[error("invalid escape sequence {0:?}")]
    InvalidEscape(String),
    /// A label name appears twice in one sample.
    #[error("duplicate label {0:?}")]
    DuplicateLabel(String),
    /// A sample line has no value.
    #[error("missing sample value")]
    MissingValue,
    /// A sample value is not a float (Go `ParseFloat` syntax, `NaN`, `+Inf`, `-Inf`).
    #[error("invalid sample value {0:?}")]
    InvalidValue(String),
    /// A timestamp is not an integer (milliseconds) or, in OpenMetrics, a float (seconds).
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// Text after the timestamp, or after a `HELP`/`TYPE` line's last token.
    #[error("unexpected trailing text {0:?}")]
    TrailingText(String),
    /// A `# TYPE` names an unknown (or unsupported OpenMetrics) type.
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    /// A second `# HELP`, `# TYPE` or `# UNIT` line for one family.
    #[error("duplicate {what} line for {family:?}")]
    DuplicateMetadata {
        /// `HELP`, `TYPE` or `UNIT`.
        what: &'static str,
        /// The family name.
        family: String,
    },
    /// A `# HELP`, `# TYPE` or `# UNIT` line after the family's first sample.
    #[error("{what} line for {family:?} after its samples")]
    MetadataAfterSamples {
        /// `HELP`, `TYPE` or `UNIT`.
        what: &'static str,
        /// The family name.
        family: String,
    },
    /// Lines of one family are not contiguous.
    #[error("metric family {0:?} is split: its lines must form one group")]
    SplitFamily(String),
    /// The same name and label set appear twice.
    #[error("duplicate series {0}")]
    DuplicateSeries(String),
    /// A histogram bucket has no `le` label, or a summary quantile no `quantile` label.
    #[error("sample {sample:?} lacks the {label:?} label")]
    MissingLabel {
        /// The sample name.
        sample: String,
        /// The missing label.
        label: &'static str,
    },
    /// An `le` or `quantile` label value is not a float.
    #[error("label {label:?} has a non-numeric value {value:?}")]
    NonNumericLabel {
        /// `le` or `quantile`.
        label: &'static str,
        /// The value found.
        value: String,
    },
    /// A histogram series breaks a bucket rule (order, cumulativity, `+Inf`, `_count`).
    #[error("histogram series {series} is invalid: {reason}")]
    InvalidHistogram {
        /// Family name and labels of the offending series.
        series: String,
        /// Which rule is broken.
        reason: &'static str,
    },
    /// An OpenMetrics exemplar (`# {…} value [timestamp]`) is malformed.
    #[error("invalid exemplar: {0}")]
    InvalidExemplar(&'static str),
    /// The text is not UTF-8 (the line is where the first bad byte is).
    #[error("invalid utf-8")]
    InvalidUtf8,
    /// Something follows the OpenMetrics `# EOF` line.
    #[error("content after # EOF")]
    ContentAfterEof,
}

/// A lookup in a parsed exposition found no single answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No sample (or histogram family) matches.
    #[error("no series {name}{labels}")]
    NotFound {
        /// The requested name.
        name: String,
        /// The label filter, rendered `{k="v",…}`.
        labels: String,
    },
    /// Several samples match where exactly one was asked for.
    #[error("{count} series match {name}{labels}; add labels to pick one")]
    Ambiguous {
        /// The requested name.
        name: String,
        /// The label filter, rendered `{k="v",…}`.
        labels: String,
        /// How many matched.
        count: usize,
    },
    /// The family exists but is not a histogram.
    #[error("metric family {0:?} is not a histogram")]
    NotAHistogram(String),
    /// The matched histogram series do not share one bucket layout, so they cannot be summed.
    #[error("histogram series of {0:?} matching the filter have different buckets")]
    MismatchedBuckets(String),
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn messages_name_the_subject_and_keep_the_cause_chain() {
        let api = ClientError::Api {
            url: "http://p:9090/api/v1/query?query=sum%28".to_owned(),
            status: 400,
            error_type: Some("bad_data".to_owned()),
            message: "parse error".to_owned(),
        };
        assert_eq!(
            api.to_string(),
            "http://p:9090/api/v1/query?query=sum%28 answered HTTP 400: bad_data: parse error"
        );
        let decode = ClientError::Decode {
            url: "http://j/api/v3/traces".to_owned(),
            source: DecodeError {
                path: "result.resourceSpans[0]".to_owned(),
                reason: "expected an object, got number 1".to_owned(),
            },
        };
        assert_eq!(
            decode.to_string(),
            "cannot decode response from http://j/api/v3/traces"
        );
        assert_eq!(
            decode.source().map(ToString::to_string).as_deref(),
            Some("field `result.resourceSpans[0]`: expected an object, got number 1")
        );
        let parse = ParseError {
            line: 3,
            kind: ParseErrorKind::InvalidEscape("\\t".to_owned()),
        };
        assert_eq!(
            parse.to_string(),
            r#"line 3: invalid escape sequence "\\t""#
        );
    }
}
