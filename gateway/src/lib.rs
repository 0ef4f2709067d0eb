//! A production HTTP API gateway.
//!
//! Components (one module each):
//! - [`config`]: YAML -> raw -> validated [`Config`], every problem located.
//! - [`auth`]: JWT providers (keys, JWKS caches) and per-route authentication.
//! - [`routing`]: host, path pattern, method and header matching with deterministic priority.
//! - [`balance`]: round robin, smooth weighted round robin, least request, consistent hash,
//!   P2C with peak EWMA.
//! - [`upstream`]: endpoints and their live state; `health`: active probes.
//! - `proxy`: request preparation, pooled upstream client, streaming bodies.
//! - `stack`: the only place a `Config` becomes services; `state`: the current version,
//!   swapped atomically by `reload`.
//! - `server`: accept loop and graceful drain; `admin`: the admin listener.
//! - [`tls`]: listener TLS (SNI certificates, ALPN, handshake timeout) and upstream https.
//! - [`ratelimit`]: per-route rate limits (GCRA token bucket, sliding-window counter), local
//!   or in Redis, keyed by client IP, header, route or JWT claim.
//! - `errors`: typed request-path errors and the single error -> status mapping.
//! - `instrument` and `metrics`: server and client spans with W3C propagation, the access log,
//!   state-change evidence, and the Prometheus families served on the admin `/metrics`.
//!
//! Request path:
//!
//! ```text
//! accept (TCP, or TLS when `tls:` is set; HTTP/1.1 + HTTP/2 on one port) -> service::handle
//!   -> route table lookup (404 when nothing matches)
//!   -> proxy::prepare: rewrite, hop-by-hop removal, X-Forwarded-*, Host
//!   -> route stack (stack.rs): authentication (401 / 403), fault filter, fallback, retries
//!      -> Forward: healthy endpoints (or all, in panic mode)
//!      -> balancer pick -> pooled client, response timeout -> streamed response
//!   -> errors::respond for any failure (401 / 403 / 502 / 503 / 504 ...)
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod admin;
pub mod auth;
pub mod balance;
pub mod breaker;
pub mod classify;
pub mod config;
mod errors;
pub mod fallback;
pub mod fault;
mod health;
mod instrument;
pub mod limits;
mod metrics;
pub mod outlier;
mod proxy;
pub mod ratelimit;
mod reload;
mod retained;
pub mod retry;
pub mod route;
pub mod routing;
mod server;
mod service;
mod stack;
mod state;
pub mod tls;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use observability::telemetry::{Settings, Telemetry};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use config::{Config, LoadError, load_file};
pub use errors::{ProxyError, error_chain};
pub use health::HealthCheckConfig;
pub use proxy::body::ProxyBody;
pub use server::DrainOutcome;

/// Why the gateway could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] LoadError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({listener})")]
    Bind {
        /// Which listener.
        listener: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// The trace pipeline could not start (bad `OTEL_*` variable, bad endpoint, ...).
    #[error("cannot start telemetry")]
    Telemetry(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A reload trigger (signal handler or file watcher) could not be installed.
    #[error("cannot install the {trigger} reload trigger")]
    Reload {
        /// SIGHUP or file watch.
        trigger: &'static str,
        /// The error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The addresses a running gateway listens on (useful when the config says port 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundAddrs {
    /// Data-plane listener.
    pub data: SocketAddr,
    /// Admin listener.
    pub admin: SocketAddr,
}

/// Runs the gateway from the config file at `path` until `shutdown` resolves, then drains.
///
/// `on_bound` is called once both listeners are bound, before any request is served.
pub async fn run(
    path: &Path,
    shutdown: impl Future<Output = ()>,
    on_bound: impl FnOnce(BoundAddrs),
) -> Result<DrainOutcome, RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let config = config::load_str(&path.display().to_string(), &text)?;
    let bind = |listener: &'static str, addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| RunError::Bind {
                listener,
                addr,
                source,
            })
    };
    let data = bind("data", config.listen).await?;
    let admin = bind("admin", config.admin.listen).await?;
    let bound = BoundAddrs {
        data: data.local_addr().map_err(|source| RunError::Bind {
            listener: "data",
            addr: config.listen,
            source,
        })?,
        admin: admin.local_addr().map_err(|source| RunError::Bind {
            listener: "admin",
            addr: config.admin.listen,
            source,
        })?,
    };

    let reload_settings = config.reload.clone();
    let settings = Settings::resolve(&config.telemetry.traces, "gateway", |k| {
        std::env::var(k).ok()
    })
    .map_err(|e| RunError::Telemetry(Box::new(e)))?;
    let telemetry = Telemetry::start(&settings).map_err(|e| RunError::Telemetry(Box::new(e)))?;
    info!(
        endpoint = settings.traces_endpoint.as_deref().unwrap_or("none"),
        service = %settings.service_name,
        sampling_ratio = settings.sampling_ratio,
        "Trace export configured"
    );
    let instruments = Arc::new(instrument::Instruments::new(
        telemetry,
        config.telemetry.access_log,
    ));
    let state = state::GatewayState::new(config, Arc::clone(&instruments));
    let reloader = Arc::new(reload::Reloader::new(path, Arc::clone(&state), &text));
    let background = CancellationToken::new();
    reload::spawn_sighup(Arc::clone(&reloader), background.clone()).map_err(|e| {
        RunError::Reload {
            trigger: "SIGHUP",
            source: Box::new(e),
        }
    })?;
    if reload_settings.watch {
        reload::spawn_watcher(
            Arc::clone(&reloader),
            reload_settings.debounce,
            background.clone(),
        )
        .map_err(|e| RunError::Reload {
            trigger: "file watch",
            source: Box::new(e),
        })?;
    }

    let admin_stop = CancellationToken::new();
    let admin_task = {
        let (state, reloader, stop) = (
            Arc::clone(&state),
            Arc::clone(&reloader),
            admin_stop.clone(),
        );
        tokio::spawn(server::serve(
            "admin",
            admin,
            config::ServerLimits::default(),
            None,
            move |request, _peer| admin::handle(Arc::clone(&state), Arc::clone(&reloader), request),
            async move { stop.cancelled().await },
            || std::time::Duration::from_secs(1),
        ))
    };

    info!(data = %bound.data, admin = %bound.admin, "Listening");
    on_bound(bound);
    let data_state = Arc::clone(&state);
    let drain_state = Arc::clone(&state);
    let timeout_state = Arc::clone(&state);
    // TLS or not is decided at start (like the address); reloads swap the certificates and
    // settings, read from the current version at each accept.
    let tls = state.runtime().config.tls.is_some().then(|| {
        let tls_state = Arc::clone(&state);
        tls::server::TlsTerminator::new(
            Arc::new(move || {
                tls_state
                    .runtime()
                    .config
                    .tls
                    .as_ref()
                    .map(|t| tls::server::ServerTls {
                        config: Arc::clone(&t.server),
                        handshake_timeout: t.handshake_timeout,
                    })
            }),
            state.instruments().metrics.tls_handshake_errors.clone(),
        )
    });
    // Listener limits are read once, like the address (`max_body_bytes` is read per request).
    let limits = state.runtime().config.limits.clone();
    let outcome = server::serve(
        "data",
        data,
        limits,
        tls,
        move |request, peer| service::handle(Arc::clone(&data_state), request, peer),
        async move {
            shutdown.await;
            // Readiness fails first so load balancers stop sending while we drain.
            drain_state.start_draining();
            info!("Shutdown requested");
        },
        move || timeout_state.runtime().config.shutdown.drain_timeout,
    )
    .await;

    background.cancel();
    state.runtime().retire();
    admin_stop.cancel();
    if admin_task.await.is_err() {
        warn!("Admin listener task failed");
    }
    // Export the last spans (the drained requests' included) before exiting.
    let shutdown = tokio::task::spawn_blocking(move || instruments.telemetry.shutdown()).await;
    if let Ok(Err(error)) = shutdown {
        warn!(%error, "Trace export did not complete at shutdown");
    }
    info!(?outcome, "Stopped");
    Ok(outcome)
}
