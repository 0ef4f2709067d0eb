//! Prometheus HTTP API client: instant and range PromQL queries decoded into typed values.
//!
//! Requests are GETs with the expression in the query string, the evaluation times in RFC
//! 3339, and the client timeout passed as Prometheus's own `timeout` parameter so the server
//! abandons the evaluation when the client does. Sample values arrive as strings
//! (`"NaN"`, `"+Inf"`, `"-Inf"` included) and are decoded to `f64`.

use std::time::{Duration, SystemTime};

use reqwest::Url;

use super::error::{ClientError, DecodeError};
use super::exposition::Labels;
use super::json::Node;
use super::transport::{Response, Transport, endpoint, parse_base_url, rfc3339};

/// One sample from the query API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Unix time in seconds (millisecond resolution).
    pub timestamp: f64,
    /// The value; may be NaN or ±Inf.
    pub value: f64,
}

/// One series of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// The series labels (`__name__` included when the expression keeps it).
    pub labels: Labels,
    /// The sample at the evaluation time.
    pub point: Point,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series labels.
    pub labels: Labels,
    /// Samples in time order, one per step where the series had data.
    pub points: Vec<Point>,
}

/// The result of a query, by Prometheus `resultType`.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `vector`: one sample per series.
    Vector(Vec<VectorSample>),
    /// `matrix`: a list of samples per series.
    Matrix(Vec<RangeSeries>),
    /// `scalar`: a single number.
    Scalar(Point),
    /// `string`: a string literal.
    String {
        /// Evaluation time, Unix seconds.
        timestamp: f64,
        /// The string.
        value: String,
    },
}

/// A successful answer: the value plus any warnings Prometheus attached.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResponse {
    /// The result.
    pub value: QueryValue,
    /// `warnings` and `infos` (newer servers), in that order.
    pub warnings: Vec<String>,
}

/// Prometheus HTTP API client.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    transport: Transport,
    base: Url,
}

// === impl QueryResponse ===

impl QueryResponse {
    /// The series, if the result is a vector.
    pub fn vector(&self) -> Option<&[VectorSample]> {
        match &self.value {
            QueryValue::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The series, if the result is a matrix.
    pub fn matrix(&self) -> Option<&[RangeSeries]> {
        match &self.value {
            QueryValue::Matrix(m) => Some(m),
            _ => None,
        }
    }

    /// The sample, if the result is a scalar.
    pub fn scalar(&self) -> Option<Point> {
        match &self.value {
            QueryValue::Scalar(p) => Some(*p),
            _ => None,
        }
    }
}

// === impl PrometheusClient ===

impl PrometheusClient {
    /// A client for the Prometheus server at `base_url` (e.g. `http://127.0.0.1:9090`, with
    /// any `--web.route-prefix`). `timeout` bounds each request, body included.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            transport: Transport::new(timeout)?,
            base: parse_base_url(base_url)?,
        })
    }

    /// Evaluates `expr` at `at` (`GET /api/v1/query`).
    pub async fn query(&self, expr: &str, at: SystemTime) -> Result<QueryResponse, ClientError> {
        let url = endpoint(&self.base, &["api", "v1", "query"]);
        let time = rfc3339(at).map_err(|reason| invalid(&url, reason))?;
        self.run(url, &[("query", expr), ("time", &time)]).await
    }

    /// Evaluates `expr` at every `step` from `start` to `end` inclusive
    /// (`GET /api/v1/query_range`).
    pub async fn query_range(
        &self,
        expr: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
    ) -> Result<QueryResponse, ClientError> {
        let url = endpoint(&self.base, &["api", "v1", "query_range"]);
        if step.is_zero() {
            return Err(invalid(&url, "step must be positive".to_owned()));
        }
        if end < start {
            return Err(invalid(&url, "end is before start".to_owned()));
        }
        let start = rfc3339(start).map_err(|reason| invalid(&url, reason))?;
        let end = rfc3339(end).map_err(|reason| invalid(&url, reason))?;
        let step = step.as_secs_f64().to_string();
        self.run(
            url,
            &[
                ("query", expr),
                ("start", &start),
                ("end", &end),
                ("step", &step),
            ],
        )
        .await
    }

    async fn run(
        &self,
        mut url: Url,
        params: &[(&str, &str)],
    ) -> Result<QueryResponse, ClientError> {
        let timeout = self.transport.timeout().as_secs_f64().to_string();
        url.query_pairs_mut()
            .extend_pairs(params)
            .append_pair("timeout", &timeout);
        let response = self.transport.get(url, "application/json").await?;
        let doc = match response.json() {
            Ok(doc) => doc,
            // A proxy's HTML error page is a status problem, not a decoding one.
            Err(_) if !response.is_success() => return Err(response.status_error()),
            Err(e) => return Err(e),
        };
        let root = Node::root(&doc);
        if doc.get("status").and_then(|s| s.as_str()) == Some("error") {
            let (error_type, message) =
                api_error(&root).map_err(|source| decode_error(&response, source))?;
            return Err(ClientError::Api {
                url: response.url.to_string(),
                status: response.status,
                error_type: Some(error_type),
                message,
            });
        }
        if !response.is_success() {
            return Err(response.status_error());
        }
        decode_success(&root).map_err(|source| decode_error(&response, source))
    }
}

fn invalid(url: &Url, reason: String) -> ClientError {
    ClientError::InvalidQuery {
        url: url.to_string(),
        reason,
    }
}

fn decode_error(response: &Response, source: DecodeError) -> ClientError {
    ClientError::Decode {
        url: response.url.to_string(),
        source,
    }
}

/// `errorType` and `error` of a `{"status":"error",…}` body.
fn api_error(root: &Node<'_>) -> Result<(String, String), DecodeError> {
    Ok((
        root.str_of("errorType")?.to_owned(),
        root.str_of("error")?.to_owned(),
    ))
}

fn decode_success(root: &Node<'_>) -> Result<QueryResponse, DecodeError> {
    let status = root.field("status")?;
    if status.str()? != "success" {
        return Err(status.error("expected \"success\" or \"error\""));
    }
    let data = root.field("data")?;
    let result_type = data.field("resultType")?;
    let result = data.field("result")?;
    let value = match result_type.str()? {
        "vector" => QueryValue::Vector(
            result
                .items()?
                .iter()
                .map(|item| {
                    Ok(VectorSample {
                        labels: labels(&item.field("metric")?)?,
                        point: point(&item.field("value")?)?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        ),
        "matrix" => QueryValue::Matrix(
            result
                .items()?
                .iter()
                .map(|item| {
                    Ok(RangeSeries {
                        labels: labels(&item.field("metric")?)?,
                        points: item
                            .field("values")?
                            .items()?
                            .iter()
                            .map(point)
                            .collect::<Result<_, _>>()?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        ),
        "scalar" => QueryValue::Scalar(point(&result)?),
        "string" => {
            let (timestamp, value) = pair(&result)?;
            QueryValue::String {
                timestamp: timestamp.f64()?,
                value: value.str()?.to_owned(),
            }
        }
        other => return Err(result_type.error(format!("unknown resultType {other:?}"))),
    };
    let mut warnings = Vec::new();
    for key in ["warnings", "infos"] {
        for warning in root.items_of(key)? {
            warnings.push(warning.str()?.to_owned());
        }
    }
    Ok(QueryResponse { value, warnings })
}

fn labels(node: &Node<'_>) -> Result<Labels, DecodeError> {
    node.entries()?
        .into_iter()
        .map(|(k, v)| Ok((k.to_owned(), v.str()?.to_owned())))
        .collect()
}

/// `[<unix seconds>, "<value>"]`.
fn point(node: &Node<'_>) -> Result<Point, DecodeError> {
    let (timestamp, value) = pair(node)?;
    let text = value.str()?;
    Ok(Point {
        timestamp: timestamp.f64()?,
        value: text
            .parse()
            .map_err(|_| value.error(format!("expected a float, got {text:?}")))?,
    })
}

fn pair<'a>(node: &Node<'a>) -> Result<(Node<'a>, Node<'a>), DecodeError> {
    let mut items = node.items()?.into_iter();
    match (items.next(), items.next(), items.next()) {
        (Some(first), Some(second), None) => Ok((first, second)),
        _ => Err(node.error("expected [timestamp, value]")),
    }
}
