//! `chaos upstream`: the demo upstream used by examples, tests and drills.
//!
//! One process is one named upstream. It echoes every request as JSON and misbehaves on
//! demand through a runtime behavior switch, so a drill can turn an endpoint slow, failing,
//! hanging or unhealthy without restarting it.
//!
//! | path                         | answer                                   | behavior applied      |
//! |------------------------------|------------------------------------------|-----------------------|
//! | `/_chaos/behavior` GET/POST  | current / updated behavior               | never                 |
//! | `/_chaos/download?bytes=N`   | N streamed bytes                         | never                 |
//! | `GET /healthz`               | 200 ok or 503 unhealthy                  | hang, latency         |
//! | anything else                | 200 JSON echo of the request             | hang, latency, errors |
//!
//! Files: `server` (accept loop, drain), `router` (path dispatch, behavior applied),
//! `control` (`/_chaos/*`), `behavior` (the switch's state and its JSON update), `faults`
//! (hang, latency, seeded error draws), `echo`, `download`, `respond` (every response built),
//! `name`, `error`.

mod behavior;
mod control;
mod download;
mod echo;
mod error;
mod faults;
mod name;
mod respond;
mod router;
mod server;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;

pub(crate) use self::behavior::{Behavior, ErrorRate, ErrorStatus};
pub(crate) use self::error::UpstreamError;
pub(crate) use self::name::UpstreamName;
pub use self::respond::UPSTREAM_HEADER;

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
        }
    }
}

/// Binds, announces the bound address on stdout, serves until SIGTERM/SIGINT, then drains.
pub(crate) async fn run(settings: Settings) -> Result<(), UpstreamError> {
    // Handlers first, so a stop signal sent right after the announcement is never lost.
    let stop = signal::stop_signal().map_err(UpstreamError::Signal)?;
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
        "Listening"
    );

    let upstream = Arc::new(Upstream::new(
        settings.name,
        settings.behavior,
        settings.seed,
    ));
    server::serve(listener, upstream, stop, settings.drain_timeout).await;
    Ok(())
}

/// Writes the one line parents wait for, flushed at once: stdout is a pipe when spawned by
/// tests or `chaos run`, and a pipe is block-buffered.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}
