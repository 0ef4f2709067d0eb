//! Gateway configuration: the YAML file, its validation into a typed [`Config`], and loading.
//!
//! `raw` mirrors the file; `validate` alone turns it into a [`Config`], reporting every problem
//! at once with its field path and file:line:col; `load` reads a file through both. Nothing
//! else constructs a `Config`, so a `Config` is always valid.

mod auth;
mod load;
mod ratelimit;
mod raw;
mod report;
mod resilience;
mod server_limits;
mod tls;
mod validate;

use std::net::SocketAddr;
use std::time::Duration;

pub use load::{LoadError, load_file, load_str};

use crate::route::RouteConfig;
use crate::upstream::UpstreamConfig;

/// A validated gateway configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Data-plane listener (HTTP/1.1 and HTTP/2 on one port; cleartext unless `tls`).
    pub listen: SocketAddr,
    /// TLS on the data-plane listener; `None`: cleartext (HTTP/1.1 and h2c prior knowledge).
    pub tls: Option<crate::tls::ListenerTlsConfig>,
    /// Admin listener settings.
    pub admin: AdminConfig,
    /// Graceful shutdown settings.
    pub shutdown: ShutdownConfig,
    /// Hot-reload settings.
    pub reload: ReloadConfig,
    /// Traces and access logs.
    pub telemetry: TelemetryConfig,
    /// What one client connection and one request may use.
    pub limits: ServerLimits,
    /// How the client address is found (rate-limit `client_ip` keys).
    pub client_ip: crate::ratelimit::ClientIpConfig,
    /// Upstreams, sorted by name.
    pub upstreams: Vec<UpstreamConfig>,
    /// Routes in declaration order (the route table orders them by priority).
    pub routes: Vec<RouteConfig>,
    /// Authentication providers routes may refer to.
    pub auth: crate::auth::AuthConfig,
}

/// The admin listener (`/healthz`, `/readyz`, `/admin/*`).
#[derive(Clone, PartialEq)]
pub struct AdminConfig {
    /// Address of the admin listener. Default `127.0.0.1:9901`.
    pub listen: SocketAddr,
    /// Bearer token `/admin/*` requires, from `token_env` or `token_file`; `None`: open
    /// (loopback by default). `/healthz`, `/readyz` and `/metrics` stay open.
    pub token: Option<String>,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token never reaches logs or `/admin/config`.
        f.debug_struct("AdminConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Limits on client connections and requests (`limits:`), with safe defaults.
///
/// Read when the listener starts, except `max_body_bytes`, which every request reads from
/// the config version it started on; a reload that changes the others logs a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLimits {
    /// Largest request head (start line and headers, HTTP/1.1; header list, HTTP/2): 431
    /// beyond it. Default 64 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in an HTTP/1.1 request: 431 beyond it. Default 100.
    pub max_headers: usize,
    /// Largest request body, checked against `Content-Length` up front and counted while
    /// streaming: 413 beyond it. `None`: unlimited. Default 64 MiB.
    pub max_body_bytes: Option<u64>,
    /// Time a client has to send a request's headers, counted from the first byte or, on a
    /// kept-alive HTTP/1.1 connection, from the end of the previous response (so it also
    /// closes idle connections). Default 10s.
    pub header_read_timeout: Duration,
    /// Most client connections open at once; further ones wait in the listen backlog until
    /// one closes. `None`: unlimited. Default 10000.
    pub max_connections: Option<usize>,
    /// Most concurrent streams per HTTP/2 connection. Default 200.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 streams reset by the client before the gateway accepted them, pending at once:
    /// beyond it the connection gets GOAWAY (CVE-2023-44487, "rapid reset"). Default 20.
    pub http2_max_pending_reset_streams: usize,
    /// HTTP/2 streams the gateway may reset for protocol errors on one connection before it
    /// closes the connection (the 2025 "MadeYouReset" attack). Default 1024.
    pub http2_max_local_error_reset_streams: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: Some(64 * 1024 * 1024),
            header_read_timeout: Duration::from_secs(10),
            max_connections: Some(10_000),
            http2_max_concurrent_streams: 200,
            http2_max_pending_reset_streams: 20,
            http2_max_local_error_reset_streams: 1024,
        }
    }
}

/// What happens on SIGTERM / SIGINT.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownConfig {
    /// How long in-flight requests may take to finish after the listener closes. Default 30s.
    pub drain_timeout: Duration,
}

/// Hot reload of the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadConfig {
    /// Reload when the file changes (SIGHUP always reloads). Default true.
    pub watch: bool,
    /// Quiet time after the last file event before reloading. Default 250ms.
    pub debounce: Duration,
}

/// Traces and access logs. Applied at start; a reload that changes them warns.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// Trace export settings as written; unset values fall back to the `OTEL_*` environment
    /// variables, then to defaults (see `observability::telemetry::Settings::resolve`).
    pub traces: observability::telemetry::FileSettings,
    /// One log line per request (target `access`). Default true.
    pub access_log: bool,
}

impl Config {
    /// The upstream with this name.
    pub fn upstream(&self, name: &str) -> Option<&UpstreamConfig> {
        self.upstreams.iter().find(|u| u.name == name)
    }
}

#[cfg(test)]
mod tests;
