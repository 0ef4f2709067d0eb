//! Active probes: one task per health-checked endpoint, sending `GET path` every interval on
//! a fresh connection and feeding the result to the endpoint's [`HealthCounter`].
//!
//! Probes use fresh connections (no pool) on purpose: a process that still holds old
//! connections open but no longer accepts new ones must fail its probe.

use std::sync::Arc;

use http::{HeaderValue, Request, header};
use http_body_util::BodyExt;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span};

use super::{HealthCheckConfig, HealthCounter, Transition};
use crate::proxy::body::ProxyBody;
use crate::proxy::client::{HttpClient, http_client};
use crate::upstream::{Endpoint, Upstream};

/// Starts probing every endpoint of every upstream that has a health check, until `cancel`.
pub(crate) fn spawn_checkers<'a>(
    upstreams: impl Iterator<Item = &'a Arc<Upstream>>,
    cancel: &CancellationToken,
) {
    for upstream in upstreams {
        let Some(config) = upstream.config().health_check.clone() else {
            continue;
        };
        let client = http_client(config.timeout, false);
        for endpoint in upstream.endpoints() {
            let span = info_span!("health_check", upstream = %upstream.name(), endpoint = %endpoint.address());
            let task = check_endpoint(
                Arc::clone(endpoint),
                config.clone(),
                client.clone(),
                cancel.clone(),
            );
            tokio::spawn(task.instrument(span));
        }
    }
}

async fn check_endpoint(
    endpoint: Arc<Endpoint>,
    config: HealthCheckConfig,
    client: HttpClient,
    cancel: CancellationToken,
) {
    let mut counter = HealthCounter::new(
        endpoint.is_healthy(),
        config.healthy_after,
        config.unhealthy_after,
    );
    let mut ticker = tokio::time::interval(config.interval);
    // After a slow probe, wait a full interval rather than probing in a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let outcome = tokio::select! {
            () = cancel.cancelled() => return,
            outcome = probe(&client, &endpoint, &config) => outcome,
        };
        if let Err(reason) = &outcome {
            debug!(%reason, "Probe failed");
        }
        endpoint.mark_probed();
        match counter.record(outcome.is_ok()) {
            Some(Transition::BecameUnhealthy) => {
                endpoint.set_healthy(false);
                let reason = outcome.err().unwrap_or_default();
                info!(%reason, failures = config.unhealthy_after, "Endpoint marked unhealthy");
            }
            Some(Transition::BecameHealthy) => {
                endpoint.set_healthy(true);
                info!(successes = config.healthy_after, "Endpoint marked healthy");
            }
            None => {}
        }
    }
}

/// One probe: `Ok` on a 2xx or 3xx answer within the timeout, else why not.
async fn probe(
    client: &HttpClient,
    endpoint: &Endpoint,
    config: &HealthCheckConfig,
) -> Result<(), String> {
    let uri = format!("http://{}{}", endpoint.address(), config.path);
    let mut request = Request::get(uri)
        .body(ProxyBody::empty())
        .map_err(|e| format!("bad probe request: {e}"))?;
    request.headers_mut().insert(
        header::USER_AGENT,
        HeaderValue::from_static("gateway-health-check"),
    );
    let response = tokio::time::timeout(config.timeout, client.request(request))
        .await
        .map_err(|_| format!("no answer within {:?}", config.timeout))?
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    // Drain the body so the probe's connection closes cleanly; its content is ignored.
    let _ = tokio::time::timeout(config.timeout, response.into_body().collect()).await;
    if status.is_success() || status.is_redirection() {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}
