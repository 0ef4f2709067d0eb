//! Validated fallback settings: a static response (body inline or read from a file at load
//! time) or a stale-response cache with an optional static response behind it.
//!
//! The config module parses YAML into its raw types, fills [`StaleSettings`] or calls the
//! static constructors, and maps each [`FallbackConfigError`] to a diagnostic at
//! `<route path>.fallback.<`[`FallbackConfigError::field`]`>`. Every constructor reports all
//! problems at once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::FALLBACK_HEADER;

/// Largest static body, inline or from a file (1 MiB): a degraded answer is a small page or
/// JSON document, and every route holds its body in memory.
pub const MAX_STATIC_BODY_BYTES: usize = 1024 * 1024;

/// Headers a static fallback may not set: hop-by-hop headers (the server manages the
/// connection), `content-length` (computed from the body) and the fallback marker itself.
const RESERVED_HEADERS: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::CONTENT_LENGTH,
    HeaderName::from_static(FALLBACK_HEADER),
];

/// A validated fallback: what a route answers when it cannot get a good upstream response.
#[derive(Debug, Clone, PartialEq)]
pub enum FallbackConfig {
    /// Always the same configured response.
    Static(StaticFallback),
    /// The last good response for the same request, if young enough; else `then`.
    Stale(StaleFallback),
}

/// A validated static response: status, headers and body.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticFallback {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Stale-response settings before validation (filled from the raw config).
#[derive(Debug, Clone, PartialEq)]
pub struct StaleSettings {
    /// Oldest stored response that may be served (since it was received). Above zero.
    pub max_age: Duration,
    /// Request headers whose values are part of the cache key, besides method, path and
    /// query. No duplicates. Listing `authorization` or `cookie` makes credentialed requests
    /// cacheable (per credential); otherwise they are neither stored nor served.
    pub key_headers: Vec<HeaderName>,
    /// Most responses kept. At least 1.
    pub max_entries: usize,
    /// Largest body stored, in bytes; larger responses reach the client but are not kept.
    /// 1 to `max_total_bytes`.
    pub max_entry_bytes: usize,
    /// Total bytes kept (bodies, headers and request targets). At least `max_entry_bytes`.
    pub max_total_bytes: usize,
    /// Answer when nothing young enough is stored; `None` lets the caller return its error.
    pub then: Option<StaticFallback>,
}

/// Validated stale-response settings; see [`StaleSettings`] for each field's meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleFallback {
    pub(super) max_age: Duration,
    pub(super) key_headers: Vec<HeaderName>,
    pub(super) max_entries: usize,
    pub(super) max_entry_bytes: usize,
    pub(super) max_total_bytes: usize,
    pub(super) then: Option<StaticFallback>,
}

/// A fallback setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FallbackConfigError {
    /// The body file could not be opened or read.
    #[error("cannot read fallback body file {}", path.display())]
    ReadBody {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The body (inline or from `path`) is over [`MAX_STATIC_BODY_BYTES`].
    #[error("fallback body{} is over the {limit} byte limit", in_file(path.as_deref()))]
    BodyTooLarge {
        /// The file, when the body came from one.
        path: Option<PathBuf>,
        /// The limit in bytes.
        limit: usize,
    },
    /// The status is not a final status.
    #[error("fallback status {status} is not a final status (200 to 599)")]
    Status {
        /// The status received.
        status: u16,
    },
    /// The status forbids a body but one is configured.
    #[error("fallback status {status} cannot carry a body")]
    BodyNotAllowed {
        /// The status (204 or 304).
        status: u16,
    },
    /// The header is managed by the gateway.
    #[error("fallback header {name} is managed by the gateway and cannot be set")]
    ReservedHeader {
        /// The header.
        name: HeaderName,
    },
    /// A count, size or age that must be above zero is zero.
    #[error("stale fallback {field} must be above zero")]
    Zero {
        /// The setting.
        field: &'static str,
    },
    /// The total byte budget cannot hold one entry of the largest size.
    #[error("stale fallback max_total_bytes ({total}) is below max_entry_bytes ({entry})")]
    TotalBelowEntry {
        /// `max_total_bytes`.
        total: usize,
        /// `max_entry_bytes`.
        entry: usize,
    },
    /// A key header is listed twice.
    #[error("stale fallback key header {name} is listed twice")]
    DuplicateKeyHeader {
        /// The header.
        name: HeaderName,
    },
}

fn in_file(path: Option<&Path>) -> String {
    path.map(|p| format!(" file {}", p.display()))
        .unwrap_or_default()
}

// === impl FallbackConfigError ===

impl FallbackConfigError {
    /// The config key the problem is about, relative to the fallback block.
    pub fn field(&self) -> &'static str {
        match self {
            Self::ReadBody { .. } => "body_file",
            Self::BodyTooLarge { path: Some(_), .. } => "body_file",
            Self::BodyTooLarge { path: None, .. } | Self::BodyNotAllowed { .. } => "body",
            Self::Status { .. } => "status",
            Self::ReservedHeader { .. } => "headers",
            Self::Zero { field } => field,
            Self::TotalBelowEntry { .. } => "max_total_bytes",
            Self::DuplicateKeyHeader { .. } => "key_headers",
        }
    }
}

// === impl FallbackConfig ===

impl FallbackConfig {
    /// A static fallback with an inline body.
    pub fn static_response(
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: impl Into<Bytes>,
    ) -> Result<Self, Vec<FallbackConfigError>> {
        StaticFallback::new(status, headers, body).map(Self::Static)
    }

    /// A static fallback whose body is read from `path` now (config load), not per request.
    pub fn static_from_file(
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        path: &Path,
    ) -> Result<Self, Vec<FallbackConfigError>> {
        StaticFallback::from_file(status, headers, path).map(Self::Static)
    }

    /// A stale-response fallback.
    pub fn stale(settings: StaleSettings) -> Result<Self, Vec<FallbackConfigError>> {
        settings.validate().map(Self::Stale)
    }
}

// === impl StaticFallback ===

impl StaticFallback {
    /// Validates a static response with an inline body.
    pub fn new(
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: impl Into<Bytes>,
    ) -> Result<Self, Vec<FallbackConfigError>> {
        let body = body.into();
        let mut errors = Vec::new();
        if body.len() > MAX_STATIC_BODY_BYTES {
            errors.push(FallbackConfigError::BodyTooLarge {
                path: None,
                limit: MAX_STATIC_BODY_BYTES,
            });
        }
        Self::build(status, headers, body, errors)
    }

    /// Validates a static response whose body is the content of `path`, read once here.
    pub fn from_file(
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        path: &Path,
    ) -> Result<Self, Vec<FallbackConfigError>> {
        let mut errors = Vec::new();
        let body = match read_bounded(path) {
            Ok(body) => body,
            Err(error) => {
                errors.push(error);
                Bytes::new()
            }
        };
        Self::build(status, headers, body, errors)
    }

    fn build(
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Bytes,
        mut errors: Vec<FallbackConfigError>,
    ) -> Result<Self, Vec<FallbackConfigError>> {
        let status = match StatusCode::from_u16(status) {
            Ok(s) if (200..=599).contains(&s.as_u16()) => Some(s),
            _ => {
                errors.push(FallbackConfigError::Status { status });
                None
            }
        };
        if let Some(s) = status
            && !body.is_empty()
            && matches!(s, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED)
        {
            errors.push(FallbackConfigError::BodyNotAllowed { status: s.as_u16() });
        }
        let mut map = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if RESERVED_HEADERS.contains(&name) {
                errors.push(FallbackConfigError::ReservedHeader { name });
            } else {
                // `append`: a header listed twice is sent twice (e.g. two `link` values).
                map.append(name, value);
            }
        }
        match status {
            Some(status) if errors.is_empty() => Ok(Self {
                status,
                headers: map,
                body,
            }),
            _ => Err(errors),
        }
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The configured headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body (cheap to clone).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// Reads at most one byte over the limit, so a huge or endless file (a FIFO, `/dev/zero`)
/// cannot stall or exhaust the config load.
fn read_bounded(path: &Path) -> Result<Bytes, FallbackConfigError> {
    let read_error = |source| FallbackConfigError::ReadBody {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut body = Vec::new();
    file.take(MAX_STATIC_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(read_error)?;
    if body.len() > MAX_STATIC_BODY_BYTES {
        return Err(FallbackConfigError::BodyTooLarge {
            path: Some(path.to_path_buf()),
            limit: MAX_STATIC_BODY_BYTES,
        });
    }
    Ok(Bytes::from(body))
}

// === impl StaleSettings ===

impl StaleSettings {
    /// Checks ranges and cross-field rules; every problem is reported.
    pub fn validate(self) -> Result<StaleFallback, Vec<FallbackConfigError>> {
        let mut errors = Vec::new();
        let mut zero = |field, is_zero| {
            if is_zero {
                errors.push(FallbackConfigError::Zero { field });
            }
        };
        zero("max_age", self.max_age.is_zero());
        zero("max_entries", self.max_entries == 0);
        zero("max_entry_bytes", self.max_entry_bytes == 0);
        zero("max_total_bytes", self.max_total_bytes == 0);
        if self.max_total_bytes != 0 && self.max_total_bytes < self.max_entry_bytes {
            errors.push(FallbackConfigError::TotalBelowEntry {
                total: self.max_total_bytes,
                entry: self.max_entry_bytes,
            });
        }
        for (i, name) in self.key_headers.iter().enumerate() {
            if self
                .key_headers
                .get(..i)
                .is_some_and(|seen| seen.contains(name))
            {
                errors.push(FallbackConfigError::DuplicateKeyHeader { name: name.clone() });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(StaleFallback {
            max_age: self.max_age,
            key_headers: self.key_headers,
            max_entries: self.max_entries,
            max_entry_bytes: self.max_entry_bytes,
            max_total_bytes: self.max_total_bytes,
            then: self.then,
        })
    }
}

// === impl StaleFallback ===

impl StaleFallback {
    /// Oldest stored response that may be served.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Largest body stored, in bytes.
    pub fn max_entry_bytes(&self) -> usize {
        self.max_entry_bytes
    }

    /// The static answer used when nothing is stored.
    pub fn then(&self) -> Option<&StaticFallback> {
        self.then.as_ref()
    }
}
