//! `chaos upstream`: the demo upstream used by examples, tests and drills.
//!
//! One process is one named upstream. It echoes every request as JSON and misbehaves on
//! demand through a runtime behavior switch, so a drill can turn an endpoint slow, failing,
//! hanging or unhealthy without restarting it.
//!
//! | path                         | answer                                   | behavior applied      |
//! |------------------------------|------------------------------------------|-----------------------|
//! | `/_chaos/behavior` GET/POST  | current / updated behavior               | never                 |
//! | `GET /_chaos/stats`          | requests received, total and per path    | never                 |
//! | `POST /_chaos/callbacks`     | makes the callbacks, 200 with a summary  | never                 |
//! | `/_chaos/download?bytes=N`   | N streamed bytes                         | never                 |
//! | `GET /healthz`               | 200 ok or 503 unhealthy                  | hang, latency         |
//! | anything else                | 200 JSON echo of the request             | hang, latency, errors |
//!
//! Every request but `/_chaos/behavior` and `/_chaos/stats` gets a server span
//! `upstream.request` continuing the caller's W3C trace context; spans go out over OTLP when
//! an endpoint is configured.
//!
//! Files: `server` (accept loop, drain), `router` (path dispatch, behavior applied),
//! `control` (`/_chaos/*`), `callbacks` (`/_chaos/callbacks`), `behavior` (the switch's state
//! and its JSON update), `faults` (hang, latency, seeded error draws), `trace` (server and
//! callback spans, trace context), `export` (OTLP pipeline and final flush), `echo`,
//! `download`, `stats` (request counts), `respond` (every response built), `name`, `error`.

mod behavior;
mod callbacks;
mod control;
mod download;
mod echo;
mod error;
mod export;
mod faults;
mod name;
mod respond;
mod router;
mod server;
mod stats;
mod trace;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;

pub(crate) use self::behavior::{Behavior, ErrorRate, ErrorStatus};
pub(crate) use self::callbacks::ViaAddress;
pub(crate) use self::error::UpstreamError;
pub(crate) use self::export::{ExportSettings, OtlpEndpoint, SamplingRatio};
pub(crate) use self::name::UpstreamName;
pub use self::respond::UPSTREAM_HEADER;

use self::callbacks::Callbacks;
use self::router::Upstream;
use crate::cli::UpstreamArgs;
use crate::signal;

/// Everything `run` needs, typed and validated (by clap, through the value types' `FromStr`).
#[derive(Debug)]
pub(crate) struct Settings {
    listen: SocketAddr,
    name: UpstreamName,
    behavior: Behavior,
    seed: u64,
    drain_timeout: Duration,
    export: ExportSettings,
    via: Option<ViaAddress>,
    callback_timeout: Duration,
}

impl From<UpstreamArgs> for Settings {
    fn from(args: UpstreamArgs) -> Self {
        Settings {
            listen: args.listen,
            seed: args.seed.unwrap_or_else(|| args.name.default_seed()),
            name: args.name,
            behavior: Behavior {
                latency: args.latency,
                error_rate: args.error_rate,
                error_status: args.error_status,
                hang: false,
                healthy: true,
            },
            drain_timeout: args.drain_timeout,
            export: ExportSettings {
                otlp: args.otlp,
                interval: args.otlp_interval,
                sampling_ratio: args.sampling_ratio,
            },
            via: args.via,
            callback_timeout: args.callback_timeout,
        }
    }
}

/// Starts span export, binds, announces the bound address on stdout, serves until
/// SIGTERM/SIGINT, drains, then flushes the spans of every answered request.
pub(crate) async fn run(settings: Settings) -> Result<(), UpstreamError> {
    // Handlers first, so a stop signal sent right after the announcement is never lost.
    let stop = signal::stop_signal().map_err(UpstreamError::Signal)?;
    // Before binding: unusable `OTEL_*` variables are input errors, reported before anything
    // listens.
    let telemetry = export::start(&settings.export, &settings.name, |key| {
        std::env::var(key).ok()
    })?;
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| UpstreamError::Bind {
                addr: settings.listen,
                source,
            })?;
    let local = listener.local_addr().map_err(UpstreamError::LocalAddr)?;
    announce(local).map_err(UpstreamError::Announce)?;
    info!(
        upstream = %settings.name,
        address = %local,
        seed = settings.seed,
        behavior = %settings.behavior.to_json(),
        via = settings.via.as_ref().map(tracing::field::display),
        "Listening"
    );

    let tracer = telemetry.tracer().clone();
    let callbacks = Callbacks::new(tracer.clone(), settings.via, settings.callback_timeout);
    let upstream = Arc::new(Upstream::new(
        settings.name,
        settings.behavior,
        settings.seed,
        tracer,
        callbacks,
    ));
    server::serve(listener, upstream, stop, settings.drain_timeout).await;
    // Every drained request has ended its span by now; requests cut off by the drain
    // timeout end theirs when their tasks are dropped, too late to be exported.
    export::stop(telemetry).await;
    Ok(())
}

/// Writes the one line parents wait for, flushed at once: stdout is a pipe when spawned by
/// tests or `chaos run`, and a pipe is block-buffered.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}
