//! Why a fault-proxy operation failed, the HTTP status each reason maps to (decided here
//! only), and the errors of the API client.

use std::io;
use std::time::Duration;

use http::StatusCode;
use thiserror::Error;

use super::model::ProxyState;

/// A fault-proxy operation that failed; [`FaultProxyError::status`] and
/// [`FaultProxyError::api_message`] give Toxiproxy's status and error text for it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FaultProxyError {
    /// No proxy has this name.
    #[error("proxy {name:?} not found")]
    ProxyNotFound {
        /// The name asked for.
        name: String,
    },
    /// A proxy with this name exists already.
    #[error("proxy {name:?} already exists")]
    ProxyExists {
        /// The name given.
        name: String,
    },
    /// The proxy has no toxic with this name.
    #[error("toxic {toxic:?} not found on proxy {proxy:?}")]
    ToxicNotFound {
        /// The proxy.
        proxy: String,
        /// The toxic name asked for.
        toxic: String,
    },
    /// The proxy has a toxic with this name already (in either direction).
    #[error("toxic {toxic:?} already exists on proxy {proxy:?}")]
    ToxicExists {
        /// The proxy.
        proxy: String,
        /// The toxic name given or defaulted (`<type>_<stream>`).
        toxic: String,
    },
    /// A required field (`name`, `upstream`) is missing or empty.
    #[error("missing required field: {field}{}", at_proxy(*.index))]
    MissingField {
        /// The field.
        field: &'static str,
        /// For `/populate`: the 1-based position of the proxy in the list.
        index: Option<usize>,
    },
    /// `stream` is neither `upstream` nor `downstream`.
    #[error("stream {value:?} was invalid, can be either upstream or downstream")]
    InvalidStream {
        /// The value received.
        value: String,
    },
    /// `type` names no known toxic.
    #[error("invalid toxic type {value:?}")]
    InvalidToxicType {
        /// The value received.
        value: String,
    },
    /// `toxicity` is outside 0..=1 (Toxiproxy accepts it silently; we refuse it).
    #[error("toxicity must be between 0 and 1, got {value}")]
    InvalidToxicity {
        /// The value received.
        value: f32,
    },
    /// The body is not the JSON expected (syntax, or a field of the wrong type).
    #[error("bad request body")]
    BadBody(#[source] serde_json::Error),
    /// The body is larger than the API accepts.
    #[error("bad request body: larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A chain change failed unexpectedly (its task panicked).
    #[error("internal error: {0}")]
    Internal(String),
    /// A proxy's listen address could not be resolved or bound.
    #[error("listen tcp {addr}")]
    Listen {
        /// The `listen` value.
        addr: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn at_proxy(index: Option<usize>) -> String {
    index.map(|i| format!(" at proxy {i}")).unwrap_or_default()
}

// === impl FaultProxyError ===

impl FaultProxyError {
    /// The HTTP status Toxiproxy answers for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            FaultProxyError::ProxyNotFound { .. } | FaultProxyError::ToxicNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            FaultProxyError::ProxyExists { .. } | FaultProxyError::ToxicExists { .. } => {
                StatusCode::CONFLICT
            }
            FaultProxyError::MissingField { .. }
            | FaultProxyError::InvalidStream { .. }
            | FaultProxyError::InvalidToxicType { .. }
            | FaultProxyError::InvalidToxicity { .. }
            | FaultProxyError::BadBody(_)
            | FaultProxyError::BodyTooLarge { .. } => StatusCode::BAD_REQUEST,
            FaultProxyError::Listen { .. } | FaultProxyError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The `error` text of the JSON error body, worded as Toxiproxy words it (clients may
    /// match on it), so without the subject our `Display` adds.
    pub fn api_message(&self) -> String {
        match self {
            FaultProxyError::ProxyNotFound { .. } => "proxy not found".to_owned(),
            FaultProxyError::ProxyExists { .. } => "proxy already exists".to_owned(),
            FaultProxyError::ToxicNotFound { .. } => "toxic not found".to_owned(),
            FaultProxyError::ToxicExists { .. } => "toxic already exists".to_owned(),
            FaultProxyError::InvalidStream { .. } => {
                "stream was invalid, can be either upstream or downstream".to_owned()
            }
            FaultProxyError::InvalidToxicType { .. } => "invalid toxic type".to_owned(),
            FaultProxyError::BadBody(source) => format!("bad request body: {source}"),
            FaultProxyError::Listen { addr, source } => format!("listen tcp {addr}: {source}"),
            FaultProxyError::MissingField { .. }
            | FaultProxyError::Internal(_)
            | FaultProxyError::InvalidToxicity { .. }
            | FaultProxyError::BodyTooLarge { .. } => self.to_string(),
        }
    }
}

/// `/populate` stopped at an entry: the error, and the proxies applied before it (which
/// stay applied, as in Toxiproxy).
#[derive(Debug, Error)]
#[error("populate failed after {} proxies", applied.len())]
pub struct PopulateError {
    /// The proxies created or kept before the failing entry.
    pub applied: Vec<ProxyState>,
    /// Why the entry failed.
    #[source]
    pub source: FaultProxyError,
}

/// A request of [`ToxiproxyClient`](super::ToxiproxyClient) that failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL is not `http://host:port[/prefix]`.
    #[error("invalid toxiproxy base url {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request could not be sent or its answer read (connect refused, reset...).
    #[error("{method} {path}: request failed")]
    Transport {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No complete answer within the client's timeout.
    #[error("{method} {path}: no answer within {timeout:?}")]
    Timeout {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The per-attempt timeout.
        timeout: Duration,
    },
    /// The server answered with an unexpected status (after retries, for 503).
    #[error("{method} {path}: status {status}: {}", message.as_deref().unwrap_or(body))]
    Status {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The status received.
        status: StatusCode,
        /// The `error` field of a Toxiproxy error body, when the body is one.
        message: Option<String>,
        /// The raw body.
        body: String,
    },
    /// A success answer whose body is not the JSON expected.
    #[error("{method} {path}: unexpected body {body:?}")]
    Decode {
        /// The method.
        method: http::Method,
        /// The path.
        path: String,
        /// The raw body.
        body: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

// === impl ClientError ===

impl ClientError {
    /// The HTTP status, when the server answered with an unexpected one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
