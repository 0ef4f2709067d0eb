//! The HTTP exchange all three clients share: one bounded GET, errors classified once.
//!
//! Classification order matters: reqwest marks a connect timeout as both `is_timeout` and
//! `is_connect`; we call that a timeout, because the caller's question is "did the server fail
//! to answer within the budget", and a refused connection is never a timeout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::ClientError;

/// Responses larger than this are refused rather than buffered: a trace search or a
/// `/metrics` page of this size means a misdirected query, not evidence.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How much of an unexpected body goes into an error message.
const EXCERPT_CHARS: usize = 512;

/// A reqwest client with one overall timeout per request.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    timeout: Duration,
}

/// A fully read response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) url: Url,
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
}

// === impl Transport ===

impl Transport {
    /// `timeout` bounds connect, request and the whole body read.
    pub(crate) fn new(timeout: Duration) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(ClientError::Build)?;
        Ok(Self { http, timeout })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs `url` and reads the body (up to [`MAX_BODY_BYTES`]), whatever the status.
    pub(crate) async fn get(
        &self,
        url: Url,
        accept: &'static str,
    ) -> Result<Response, ClientError> {
        let result = self
            .http
            .get(url.clone())
            .header(ACCEPT, HeaderValue::from_static(accept))
            .send()
            .await;
        let mut response = result.map_err(|e| self.classify(&url, e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&url, e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ClientError::BodyTooLarge {
                    url: url.to_string(),
                    limit_bytes: MAX_BODY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(%url, status, bytes = body.len(), "Fetched");
        Ok(Response {
            url,
            status,
            content_type,
            body: body.freeze(),
        })
    }

    fn classify(&self, url: &Url, source: reqwest::Error) -> ClientError {
        let url = url.to_string();
        if source.is_timeout() {
            ClientError::Timeout {
                url,
                timeout: self.timeout,
                source,
            }
        } else if source.is_connect() {
            ClientError::Connect { url, source }
        } else {
            ClientError::Transport { url, source }
        }
    }
}

// === impl Response ===

impl Response {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn excerpt(&self) -> String {
        excerpt(&self.body)
    }

    /// The error for a status the caller did not expect, with the start of the body.
    pub(crate) fn status_error(&self) -> ClientError {
        ClientError::Status {
            url: self.url.to_string(),
            status: self.status,
            body_excerpt: self.excerpt(),
        }
    }

    /// Parses the body as JSON, whatever the Content-Type (Jaeger sends JSON error bodies as
    /// `text/plain`).
    pub(crate) fn json(&self) -> Result<serde_json::Value, ClientError> {
        serde_json::from_slice(&self.body).map_err(|source| ClientError::InvalidJson {
            url: self.url.to_string(),
            body_excerpt: self.excerpt(),
            source,
        })
    }
}

/// The first [`EXCERPT_CHARS`] characters of a body, lossily decoded and trimmed.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Parses a client's base URL: an absolute http(s) URL without query or fragment.
pub(crate) fn parse_base_url(input: &str) -> Result<Url, ClientError> {
    let url = parse_url(input)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::InvalidUrl {
            url: input.to_owned(),
            reason: "a base url takes no query or fragment".to_owned(),
        });
    }
    Ok(url)
}

/// Parses an absolute http(s) URL; nothing else makes sense for these clients.
pub(crate) fn parse_url(input: &str) -> Result<Url, ClientError> {
    let invalid = |reason: String| ClientError::InvalidUrl {
        url: input.to_owned(),
        reason,
    };
    let url = Url::parse(input).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid("no host".to_owned()));
    }
    Ok(url)
}

/// `base` with `segments` appended as escaped path segments, so a base path prefix (Jaeger's
/// `--query.base-path`) is kept and a service name or id can never inject `/` or `?`.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// A time as RFC 3339 in UTC with as many fraction digits as needed, the form both Jaeger
/// api_v3 and Prometheus accept. (`OffsetDateTime::from(SystemTime)` panics out of range,
/// hence the checked construction.)
pub(crate) fn rfc3339(time: SystemTime) -> Result<String, String> {
    let nanos = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).ok(),
        Err(before) => i128::try_from(before.duration().as_nanos())
            .ok()
            .map(|n| -n),
    };
    nanos
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| format!("time {time:?} has no RFC 3339 form"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_base_path_and_escapes_segments() {
        let base = parse_base_url("http://127.0.0.1:16686/jaeger/").unwrap();
        let url = endpoint(&base, &["api", "services", "a/b?c"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:16686/jaeger/api/services/a%2Fb%3Fc"
        );
    }

    #[test]
    fn base_url_without_http_scheme_is_rejected() {
        let err = parse_base_url("localhost:9090").unwrap_err();
        assert!(matches!(err, ClientError::InvalidUrl { .. }), "{err}");
        let err = parse_base_url("http://h:1/?x=1").unwrap_err();
        assert!(matches!(err, ClientError::InvalidUrl { .. }), "{err}");
    }

    #[test]
    fn rfc3339_keeps_nanoseconds_and_rejects_far_future() {
        let t = UNIX_EPOCH + Duration::new(1_706_678_909, 209_712_001);
        assert_eq!(rfc3339(t).unwrap(), "2024-01-31T05:28:29.209712001Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1)).unwrap(),
            "1970-01-01T00:00:01Z"
        );
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert!(rfc3339(far).unwrap_err().contains("no RFC 3339 form"));
    }

    #[test]
    fn excerpt_is_cut_at_a_char_boundary() {
        let body = "é".repeat(600);
        let cut = excerpt(body.as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
