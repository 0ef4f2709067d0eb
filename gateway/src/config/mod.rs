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
#[derive(Debug, Clone, PartialEq)]
pub struct AdminConfig {
    /// Address of the admin listener. Default `127.0.0.1:9901`.
    pub listen: SocketAddr,
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
