//! `chaos traces`: the embedded trace backend standalone, on Jaeger's default ports.
//!
//! Two listeners share one bounded store (`observability::store`): OTLP/HTTP ingest
//! (`POST /v1/traces`, default 127.0.0.1:4318) and Jaeger's query API (`/api/...` and
//! `/api/v3/...`, default 127.0.0.1:16686). Exporters and query clients configured for a real
//! Jaeger work unchanged against it.
//!
//! ```text
//! bind both (exit 3 on failure) -> "listening otlp=ADDR query=ADDR" on stdout
//!   -> serve until SIGTERM/SIGINT -> both listeners drain (bounded) -> exit 0
//! ```

mod error;

use std::io::{self, Write};
use std::net::SocketAddr;

use observability::store::{
    OtlpReceiver, QueryApi, ReceiverConfig, StoreLimits, TraceStore, serve_otlp, serve_query,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

pub(crate) use self::error::TracesError;

use crate::cli::TracesArgs;
use crate::signal;

/// Everything `run` needs, typed and validated (by clap).
#[derive(Debug)]
pub(crate) struct Settings {
    otlp_listen: SocketAddr,
    query_listen: SocketAddr,
    limits: StoreLimits,
}

impl From<TracesArgs> for Settings {
    fn from(args: TracesArgs) -> Self {
        Settings {
            otlp_listen: args.otlp_listen,
            query_listen: args.query_listen,
            limits: StoreLimits::new(args.max_spans, args.max_bytes),
        }
    }
}

/// Binds both listeners, announces them on stdout, serves until SIGTERM/SIGINT, then drains.
pub(crate) async fn run(settings: Settings) -> Result<(), TracesError> {
    // Handlers first, so a stop signal sent right after the announcement is never lost.
    let stop = signal::stop_signal().map_err(TracesError::Signal)?;
    let otlp = bind("otlp", settings.otlp_listen).await?;
    let query = bind("query", settings.query_listen).await?;
    let otlp_addr = otlp.local_addr().map_err(TracesError::LocalAddr)?;
    let query_addr = query.local_addr().map_err(TracesError::LocalAddr)?;
    announce(otlp_addr, query_addr).map_err(TracesError::Announce)?;
    info!(
        otlp = %otlp_addr,
        query = %query_addr,
        max_spans = settings.limits.max_spans(),
        max_bytes = settings.limits.max_bytes(),
        "Listening"
    );

    let store = TraceStore::new(settings.limits);
    // One signal stops both listeners: a watch channel fans the stop out.
    let (stopping, stopped) = watch::channel(false);
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        // An error means the sender is gone, which only happens once we are stopping anyway.
        let _ = stopped.wait_for(|&stop| stop).await;
    };
    let receiver = OtlpReceiver::new(store.clone(), ReceiverConfig::default());
    let ingest = serve_otlp(otlp, receiver, until_stopped(stopped.clone()));
    let queries = serve_query(query, QueryApi::new(store.clone()), until_stopped(stopped));
    let signal = async move {
        let signal = stop.await;
        info!(%signal, "Stopping");
        let _ = stopping.send(true);
    };
    tokio::join!(ingest, queries, signal);

    let stats = store.stats();
    info!(
        spans_stored = stats.spans_stored,
        spans_accepted_total = stats.spans_accepted_total,
        spans_evicted_total = stats.spans_evicted_total,
        spans_rejected_total = stats.spans_rejected_total,
        "Stopped"
    );
    Ok(())
}

async fn bind(role: &'static str, addr: SocketAddr) -> Result<TcpListener, TracesError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| TracesError::Bind { role, addr, source })
}

/// Writes the one line parents wait for, flushed at once (stdout is a pipe when spawned).
fn announce(otlp: SocketAddr, query: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening otlp={otlp} query={query}")?;
    out.flush()
}
