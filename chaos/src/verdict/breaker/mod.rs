//! `breaker`: an upstream's breaker opened within D of the fault's start, went half-open no
//! earlier than its wait, and closed within D of the fault's end.
//!
//! Primary evidence: the gateway's `breaker.transition` spans for the upstream
//! (`gateway.upstream`, `gateway.breaker.to`), exact to the span's start. The upstream's own
//! breaker is the one without `gateway.route`; when the trace holds only route-level
//! breakers of the upstream, those are used (and the evidence says so).
//!
//! Cross-check: the scraped `gateway_breaker_state{upstream, route=""}` gauge (0 closed,
//! 1 open, 2 half-open). A span transition agrees with the gauge when the gauge shows the
//! new state at a scrape no later than one scrape interval after the span; states shorter
//! than a scrape interval may never show. Disagreements are reported, the spans decide.
//!
//! Without spans (no backend, unreachable, or no gateway span at all in the window), the
//! gauge decides alone: it only brackets a transition between two scrapes, so a check
//! passes or fails when the whole bracket is on one side of the limit, and is inconclusive
//! otherwise.
//!
//! The half-open wait must be at least `half_open_after` and at least the upstream's
//! `circuit_breaker.open_for` from the gateway config as run (default 5s when the breaker
//! is configured without it), less 1ms for timestamp rounding (Jaeger's v1 API keeps
//! microseconds).
//!
//! Files: this one (the objective, the transition spans), `checks` (the three checks),
//! `gauge` (what the scraped gauge brackets, and the cross-check).

mod checks;
mod gauge;

use std::time::Duration;

use observability::names::{attr, metric, span};
use serde_json::{Value, json};

use crate::scenario::{BreakerObjective, Interval};

use super::figures;
use super::gateway_config::GatewaySettings;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Verdict, VerdictWindow};
use super::series::{self, Point};
use super::spans::{SpanFilter, attribute_text};

use checks::{closes, half_opens, opens};

/// Slack for timestamp rounding in the half-open wait.
const ROUNDING: Duration = Duration::from_millis(1);
/// Gauge points kept in the evidence, at most.
const MAX_GAUGE_POINTS: usize = 2000;

/// One transition span.
#[derive(Debug, Clone, PartialEq)]
struct Transition {
    at: Duration,
    to: String,
    from: Option<String>,
    route: Option<String>,
    cause: Option<String>,
    trace_id: String,
}

/// Both views of the breaker.
struct Views {
    spans: Result<Vec<Transition>, MissingEvidence>,
    gauge: Vec<Point>,
    interval: Option<Duration>,
}

/// Judges a `breaker` objective.
pub(crate) async fn judge(j: &Judge<'_>, index: usize, o: &BreakerObjective) -> Verdict {
    let label = match &o.of {
        Some(fault) => format!("breaker {} on {fault}", o.upstream),
        None => format!("breaker {}", o.upstream),
    };
    let fault = match &o.of {
        Some(name) => match j.timeline.fault(name) {
            Ok(interval) => Some(interval),
            Err(missing) => {
                return Verdict::unjudged(index, "breaker", label, thresholds(o), &missing);
            }
        },
        None => None,
    };
    let origin = fault.map_or(Duration::ZERO, |f| f.start);
    let views = Views {
        spans: transitions(j, &o.upstream, origin).await,
        gauge: series::scraped(
            &j.evidence.metrics.scrapes,
            metric::BREAKER_STATE,
            &[("upstream", o.upstream.as_str()), ("route", "")],
        )
        .points,
        interval: series::scrape_interval(&j.evidence.metrics.scrapes),
    };
    let settings = j
        .evidence
        .gateway_config
        .as_deref()
        .and_then(GatewaySettings::parse);
    let configured = settings
        .as_ref()
        .and_then(|s| s.open_for.get(&o.upstream).copied().flatten());

    let mut checks = Vec::new();
    if let (Some(limit), Some(f)) = (o.opens_within, fault) {
        checks.push(opens(&views, &o.upstream, f, limit));
    }
    if let Some(after) = o.half_open_after {
        checks.push(half_opens(&views, &o.upstream, origin, after, configured));
    }
    if let (Some(limit), Some(f)) = (o.closes_within, fault) {
        checks.push(closes(&views, &o.upstream, f, limit));
    }

    let window = VerdictWindow::new(
        match &o.of {
            Some(f) => format!("{f}.start .. load.end"),
            None => "whole".to_owned(),
        },
        Interval {
            start: origin,
            end: j.end(),
        },
    );
    let transitions: Vec<Value> = match &views.spans {
        Ok(list) => list
            .iter()
            .map(|t| {
                json!({
                    "t_s": figures::secs(t.at), "to": t.to, "from": t.from,
                    "route": t.route, "cause": t.cause, "trace_id": t.trace_id,
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let gauge: Vec<Value> = views
        .gauge
        .iter()
        .take(MAX_GAUGE_POINTS)
        .map(|p| json!({ "t_s": figures::secs(p.at), "value": p.value }))
        .collect();
    Verdict::from_checks(
        index,
        "breaker",
        label,
        Some(window),
        checks,
        json!({
            "upstream": o.upstream,
            "fault": fault.map(|f| json!({ "start_s": figures::secs(f.start), "end_s": figures::secs(f.end) })),
            "configured_open_for_s": configured.map(|d| d.as_secs_f64()),
            "scrape_interval_s": views.interval.map(figures::secs),
            "spans": match &views.spans { Ok(_) => "available".to_owned(), Err(e) => e.to_string() },
            "transitions": transitions,
            "gauge": gauge,
        }),
    )
}

fn thresholds(o: &BreakerObjective) -> String {
    let mut parts = Vec::new();
    if let Some(d) = o.opens_within {
        parts.push(format!("opens <= {}", figures::duration(d)));
    }
    if let Some(d) = o.half_open_after {
        parts.push(format!("half-open >= {}", figures::duration(d)));
    }
    if let Some(d) = o.closes_within {
        parts.push(format!("closes <= {}", figures::duration(d)));
    }
    parts.join("; ")
}

/// The upstream's transition spans from the load's start, or why they are missing.
async fn transitions(
    j: &Judge<'_>,
    upstream: &str,
    origin: Duration,
) -> Result<Vec<Transition>, MissingEvidence> {
    let source = j.spans()?;
    let filter = SpanFilter::named(source.gateway_service(), span::BREAKER_TRANSITION)
        .with(attr::UPSTREAM, upstream);
    let range = Interval {
        start: Duration::ZERO,
        end: j.end(),
    };
    let found = source.find(&filter, range).await?;
    let all: Vec<Transition> = found
        .iter()
        .filter_map(|f| {
            Some(Transition {
                at: f.at,
                to: attribute_text(&f.span, attr::BREAKER_TO)?,
                from: attribute_text(&f.span, attr::BREAKER_FROM),
                route: attribute_text(&f.span, attr::ROUTE).filter(|r| !r.is_empty()),
                cause: attribute_text(&f.span, attr::BREAKER_CAUSE),
                trace_id: f.span.trace_id.to_string(),
            })
        })
        .collect();
    let own: Vec<Transition> = all.iter().filter(|t| t.route.is_none()).cloned().collect();
    let chosen = if own.is_empty() { all } else { own };
    if chosen.is_empty() {
        let live = Interval {
            start: origin,
            end: j.end(),
        };
        if !source
            .service_active(source.gateway_service(), live)
            .await?
        {
            return Err(MissingEvidence::NoSpans {
                service: source.gateway_service().to_owned(),
                window: format!("[{live}]"),
            });
        }
    }
    Ok(chosen)
}
