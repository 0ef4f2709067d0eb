//! Jaeger query client: searches and fetches traces through api_v3, or through the v1 JSON
//! API when a query service predates api_v3.
//!
//! # Which API
//!
//! On first use the client probes `GET /api/v3/services` (the one api_v3 route that never
//! answers 404 for an empty store) and caches the outcome for its lifetime (clones share it):
//!
//! - 2xx with a `{"services": [...]}` body → api_v3.
//! - 404, 405, 501, or 2xx with any other body (old query services serve the UI's
//!   `index.html` for unknown paths) → probe `GET /api/services`; a 2xx v1 envelope → v1,
//!   anything else → [`ClientError::NoJaegerApi`].
//! - any other status or a transport error → that error, and nothing is cached, so a Jaeger
//!   that is still starting is probed again next time.
//!
//! [`JaegerClient::with_api_version`] skips the probe.
//!
//! Because the probe proved the v3 routes exist, a 404 from `GET /api/v3/traces` means "no
//! traces match" (that is how api_v3 reports an empty result) and a 404 from a fetch by id
//! means "no such trace".
//!
//! How a [`TraceQuery`] is encoded for each API is documented on [`TraceQuery`].

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::Url;

use super::error::{ClientError, DecodeError};
use super::jaeger_model::{
    self, Operation, SpanKind, Trace, TraceId, decode_traces_data, decode_v1_traces, group_by_trace,
};
use super::json::Node;
use super::transport::{Response, Transport, endpoint, parse_base_url};

mod query;

pub use query::TraceQuery;

const ACCEPT_JSON: &str = "application/json";

/// Which Jaeger query API a [`JaegerClient`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/api/v3/*`, OTLP-JSON payloads (Jaeger v2 and recent v1 query services).
    V3,
    /// `/api/*`, the UI JSON model (its search routes are being removed after Jaeger 2.20).
    V1,
}

/// Jaeger query client. Cheap to clone; clones share the API decision.
#[derive(Debug, Clone)]
pub struct JaegerClient {
    transport: Transport,
    base: Url,
    api: Arc<OnceLock<ApiVersion>>,
    raw_traces: bool,
}

// === impl JaegerClient ===

impl JaegerClient {
    /// A client for the query service at `base_url` (e.g. `http://127.0.0.1:16686`, with any
    /// `--query.base-path` prefix). `timeout` bounds each request, body included.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            transport: Transport::new(timeout)?,
            base: parse_base_url(base_url)?,
            api: Arc::new(OnceLock::new()),
            raw_traces: false,
        })
    }

    /// Uses `api` without probing. The probe is what makes a v3 404 mean "no traces", so
    /// only skip it when the server is known (a wrong base path would then read as empty).
    pub fn with_api_version(self, api: ApiVersion) -> Self {
        Self {
            api: Arc::new(OnceLock::from(api)),
            ..self
        }
    }

    /// Asks Jaeger to skip its query-side adjusters (dedup, clock-skew correction) so times
    /// are as recorded; default off.
    pub fn with_raw_traces(mut self, raw: bool) -> Self {
        self.raw_traces = raw;
        self
    }

    /// The API in use, probing once if not yet known (see the module docs).
    pub async fn api_version(&self) -> Result<ApiVersion, ClientError> {
        if let Some(api) = self.api.get() {
            return Ok(*api);
        }
        let api = self.detect().await?;
        tracing::debug!(base_url = %self.base, ?api, "Jaeger query API detected");
        // A concurrent probe may have won; both saw the same server, so keep the first.
        Ok(*self.api.get_or_init(|| api))
    }

    async fn detect(&self) -> Result<ApiVersion, ClientError> {
        let v3 = self.get(&["api", "v3", "services"], &[]).await?;
        let v3_missing = matches!(v3.status, 404 | 405 | 501);
        if v3.is_success() {
            let is_v3 = v3
                .json()
                .is_ok_and(|doc| doc.get("services").is_some_and(|s| s.is_array()));
            if is_v3 {
                return Ok(ApiVersion::V3);
            }
        } else if !v3_missing {
            return Err(api_error(&v3));
        }
        let v1 = self.get(&["api", "services"], &[]).await?;
        if v1.is_success() && v1.json().is_ok_and(|doc| doc.get("data").is_some()) {
            return Ok(ApiVersion::V1);
        }
        if v1.is_success() || matches!(v1.status, 404 | 405 | 501) {
            return Err(ClientError::NoJaegerApi {
                base_url: self.base.to_string(),
                v3_status: v3.status,
                v1_status: v1.status,
            });
        }
        Err(api_error(&v1))
    }

    /// Service names known to Jaeger.
    pub async fn services(&self) -> Result<Vec<String>, ClientError> {
        let (response, key) = match self.api_version().await? {
            ApiVersion::V3 => (self.get(&["api", "v3", "services"], &[]).await?, "services"),
            ApiVersion::V1 => (self.get(&["api", "services"], &[]).await?, "data"),
        };
        if !response.is_success() {
            return Err(api_error(&response));
        }
        decode(&response, |root| {
            root.items_of(key)?
                .iter()
                .map(|n| n.str().map(str::to_owned))
                .collect()
        })
    }

    /// Operations of `service`, optionally only those of one span kind.
    pub async fn operations(
        &self,
        service: &str,
        span_kind: Option<SpanKind>,
    ) -> Result<Vec<Operation>, ClientError> {
        let kind = span_kind.map(SpanKind::as_str).filter(|k| !k.is_empty());
        let response = match self.api_version().await? {
            ApiVersion::V3 => {
                let mut params = vec![("service", service)];
                params.extend(kind.map(|k| ("span_kind", k)));
                self.get(&["api", "v3", "operations"], &params).await?
            }
            ApiVersion::V1 => {
                let mut params = vec![("service", service)];
                params.extend(kind.map(|k| ("spanKind", k)));
                self.get(&["api", "operations"], &params).await?
            }
        };
        if !response.is_success() {
            return Err(api_error(&response));
        }
        decode(&response, |root| {
            let items = match root.get("operations") {
                Some(operations) => operations.items()?,
                None => root.items_of("data")?,
            };
            jaeger_model::decode_operations(&items)
        })
    }

    /// Traces matching `query`, in the order Jaeger returned their first spans. No match is
    /// an empty list, whichever API answered.
    pub async fn find_traces(&self, query: &TraceQuery) -> Result<Vec<Trace>, ClientError> {
        let api = self.api_version().await?;
        let segments: &[&str] = match api {
            ApiVersion::V3 => &["api", "v3", "traces"],
            ApiVersion::V1 => &["api", "traces"],
        };
        let invalid = |reason: String| ClientError::InvalidQuery {
            url: endpoint(&self.base, segments).to_string(),
            reason,
        };
        let params = query.params(api, self.raw_traces).map_err(invalid)?;
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = self.get(segments, &params).await?;
        self.decode_traces(api, &response)
            .map(|traces| traces.unwrap_or_default())
    }

    /// The trace with id `trace_id`, or `None` if Jaeger does not have it.
    pub async fn trace(&self, trace_id: TraceId) -> Result<Option<Trace>, ClientError> {
        let api = self.api_version().await?;
        let id = trace_id.to_string();
        let response = match api {
            ApiVersion::V3 => {
                let raw = self.raw_traces.then_some(("raw_traces", "true"));
                self.get(&["api", "v3", "traces", &id], raw.as_slice())
                    .await?
            }
            ApiVersion::V1 => {
                let raw = self.raw_traces.then_some(("raw", "true"));
                self.get(&["api", "traces", &id], raw.as_slice()).await?
            }
        };
        let traces = self.decode_traces(api, &response)?.unwrap_or_default();
        Ok(traces.into_iter().find(|t| t.trace_id == trace_id))
    }

    /// Traces from a search or fetch answer; `None` for the 404 both APIs use for "nothing".
    fn decode_traces(
        &self,
        api: ApiVersion,
        response: &Response,
    ) -> Result<Option<Vec<Trace>>, ClientError> {
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(api_error(response));
        }
        let spans = decode(response, |root| match api {
            ApiVersion::V3 => decode_traces_data(&root.field("result")?),
            ApiVersion::V1 => decode_v1_traces(&root.items_of("data")?),
        })?;
        Ok(Some(group_by_trace(spans)))
    }

    async fn get(
        &self,
        segments: &[&str],
        params: &[(&str, &str)],
    ) -> Result<Response, ClientError> {
        let mut url = endpoint(&self.base, segments);
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        self.transport.get(url, ACCEPT_JSON).await
    }
}

/// Runs a decoder over the JSON body, attaching the URL to any error. A structured error in
/// a 2xx body (v1 reports partial failures in `errors` next to `data`) fails the whole
/// answer rather than hand back part of the evidence.
fn decode<T>(
    response: &Response,
    f: impl FnOnce(&Node<'_>) -> Result<T, DecodeError>,
) -> Result<T, ClientError> {
    let doc = response.json()?;
    if let Some(message) = structured_error(&doc) {
        return Err(ClientError::Api {
            url: response.url.to_string(),
            status: response.status,
            error_type: None,
            message,
        });
    }
    f(&Node::root(&doc)).map_err(|source| ClientError::Decode {
        url: response.url.to_string(),
        source,
    })
}

/// The error for a non-success answer: Jaeger's structured message when the body has one,
/// else the status with the start of the body.
fn api_error(response: &Response) -> ClientError {
    match response.json().ok().as_ref().and_then(structured_error) {
        Some(message) => ClientError::Api {
            url: response.url.to_string(),
            status: response.status,
            error_type: None,
            message,
        },
        None => response.status_error(),
    }
}

/// `{"error":{"message"}}` (api_v3) or the first of a non-empty `{"errors":[{"msg"}]}` (v1).
fn structured_error(doc: &serde_json::Value) -> Option<String> {
    let v3 = doc.pointer("/error/message");
    let v1 = doc.pointer("/errors/0/msg");
    v3.or(v1).and_then(|m| m.as_str()).map(str::to_owned)
}
