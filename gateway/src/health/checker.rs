//! Active probes: one task per health-checked endpoint, sending `GET path` every interval on
//! a fresh connection and feeding the result to the endpoint's [`HealthCounter`].
//!
//! Probes use fresh connections (no pool) on purpose: a process that still holds old
//! connections open but no longer accepts new ones must fail its probe.

use std::sync::Arc;

use http::{HeaderValue, Request, header};
use http_body_util::BodyExt;
use observability::names::{attr, span};
use opentelemetry::KeyValue;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span};

use super::{HealthCheckConfig, HealthCounter, Transition};
use crate::errors::error_chain;
use crate::instrument::Instruments;
use crate::metrics::{EndpointLabels, TransitionLabels};
use crate::proxy::body::ProxyBody;
use crate::proxy::client::{HttpClient, http_client};
use crate::upstream::{Endpoint, Upstream};

/// Starts probing every endpoint of every upstream that has a health check, until `cancel`.
pub(crate) fn spawn_checkers<'a>(
    upstreams: impl Iterator<Item = &'a Arc<Upstream>>,
    cancel: &CancellationToken,
    instruments: &Arc<Instruments>,
) {
    for upstream in upstreams {
        let Some(config) = upstream.config().health_check.clone() else {
            continue;
        };
        let client = http_client(config.timeout, false, upstream.config().tls.as_ref());
        for (index, endpoint) in upstream.endpoints().iter().enumerate() {
            let span = info_span!("health_check", upstream = %upstream.name(), endpoint = %endpoint.address());
            let checker = Checker {
                upstream: Arc::clone(upstream),
                index,
                endpoint: Arc::clone(endpoint),
                config: config.clone(),
                client: client.clone(),
                instruments: Arc::clone(instruments),
            };
            tokio::spawn(checker.run(cancel.clone()).instrument(span));
        }
    }
}

/// The probe loop of one endpoint and what it records.
struct Checker {
    upstream: Arc<Upstream>,
    /// The endpoint's position in the upstream (outlier detection is indexed by it).
    index: usize,
    endpoint: Arc<Endpoint>,
    config: HealthCheckConfig,
    client: HttpClient,
    instruments: Arc<Instruments>,
}

impl Checker {
    async fn run(self, cancel: CancellationToken) {
        let (endpoint, config) = (&self.endpoint, &self.config);
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
                outcome = probe(&self.client, endpoint, config, self.upstream.config().tls.is_some()) => outcome,
            };
            if let Err(reason) = &outcome {
                debug!(%reason, "Probe failed");
            }
            endpoint.mark_probed();
            // A passing probe ends an outlier ejection early (Envoy's
            // `successful_active_health_check_uneject_host`).
            if outcome.is_ok()
                && let Some(returned) = self
                    .upstream
                    .outlier()
                    .and_then(|o| o.on_active_check_passed(self.index, tokio::time::Instant::now()))
            {
                self.instruments.returned(&self.upstream, &returned);
            }
            if let Some(transition) = counter.record(outcome.is_ok()) {
                endpoint.set_healthy(transition == Transition::BecameHealthy);
                self.record(transition, outcome.as_ref().err().map(String::as_str));
            }
        }
    }

    /// A verdict change is visible three ways: the gauge, the transitions counter and an
    /// evidence span (plus the INFO log line, which carries the span's trace id).
    fn record(&self, transition: Transition, reason: Option<&str>) {
        let healthy = transition == Transition::BecameHealthy;
        let to = if healthy { "healthy" } else { "unhealthy" };
        let address = self.endpoint.address().to_owned();
        let metrics = &self.instruments.metrics;
        metrics
            .endpoint_healthy
            .get_or_create(&EndpointLabels {
                upstream: self.upstream.label(),
                endpoint: address.clone(),
            })
            .set(i64::from(healthy));
        metrics
            .health_transitions
            .get_or_create(&TransitionLabels {
                upstream: self.upstream.label(),
                endpoint: address.clone(),
                to,
            })
            .inc();
        let mut attributes = vec![
            KeyValue::new(attr::UPSTREAM, self.upstream.name().to_owned()),
            KeyValue::new(attr::ENDPOINT, address),
            KeyValue::new(attr::HEALTH, to),
        ];
        if let Some(reason) = reason {
            attributes.push(KeyValue::new(attr::REASON, reason.to_owned()));
        }
        let evidence = self
            .instruments
            .state_change(span::ENDPOINT_HEALTH, attributes);
        let trace_id = evidence.trace_id();
        if healthy {
            info!(successes = self.config.healthy_after, %trace_id, "Endpoint marked healthy");
        } else {
            info!(reason = reason.unwrap_or(""), failures = self.config.unhealthy_after, %trace_id, "Endpoint marked unhealthy");
        }
    }
}

/// One probe: `Ok` on a 2xx or 3xx answer within the timeout, else why not.
async fn probe(
    client: &HttpClient,
    endpoint: &Endpoint,
    config: &HealthCheckConfig,
    tls: bool,
) -> Result<(), String> {
    let scheme = if tls { "https" } else { "http" };
    let uri = format!("{scheme}://{}{}", endpoint.address(), config.path);
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
        .map_err(|e| error_chain(&e))?;
    let status = response.status();
    // Drain the body so the probe's connection closes cleanly; its content is ignored.
    let _ = tokio::time::timeout(config.timeout, response.into_body().collect()).await;
    if status.is_success() || status.is_redirection() {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}
