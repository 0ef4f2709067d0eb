//! The three breaker checks: opened within D of the fault's start, half-open no earlier
//! than the wait, closed within D of the fault's end; each from the spans, else the gauge.

use std::time::Duration;

use observability::names::metric;
use serde_json::{Value, json};

use crate::scenario::Interval;

use super::gauge::{cross_check, first_gauge, gauge_check};
use super::{ROUNDING, Transition, Views};
use crate::verdict::figures;
use crate::verdict::missing::MissingEvidence;
use crate::verdict::outcome::{Check, Measured, Status};

/// The first span transition to `to` at or after `after`.
fn first_span<'t>(list: &'t [Transition], to: &str, after: Duration) -> Option<&'t Transition> {
    list.iter().find(|t| t.to == to && t.at >= after)
}

fn next_after(list: &[Transition], t: &Transition) -> Option<Duration> {
    list.iter().find(|n| n.at > t.at).map(|n| n.at)
}

fn no_evidence(name: &str, threshold: &str, upstream: &str, spans: &MissingEvidence) -> Check {
    let missing = MissingEvidence::NoBreakerEvidence {
        upstream: upstream.to_owned(),
        reason: format!(
            "spans: {spans}; gauge: no scrape shows {}",
            metric::BREAKER_STATE
        ),
    };
    Check::inconclusive(name, threshold, &missing, None, Value::Null)
}

fn never(name: &str, threshold: &str, message: String, evidence: Value) -> Check {
    Check {
        name: name.to_owned(),
        status: Status::Fail,
        measured: "never".to_owned(),
        value: None,
        threshold: threshold.to_owned(),
        message,
        evidence,
    }
}

pub(super) fn opens(v: &Views, upstream: &str, fault: Interval, limit: Duration) -> Check {
    let name = "opens_within";
    let threshold = format!("<= {}", figures::duration(limit));
    match &v.spans {
        Ok(list) => match first_span(list, "open", fault.start) {
            Some(t) => {
                let dt = t.at - fault.start;
                let evidence = json!({
                    "source": "spans", "opened_s": figures::secs(t.at), "trace_id": t.trace_id,
                    "cause": t.cause, "cross_check": cross_check(v, t, next_after(list, t)),
                });
                Check::judged(
                    name,
                    dt <= limit,
                    Measured::Seconds(dt),
                    threshold,
                    format!(
                        "opened {} after the fault started ({})",
                        figures::duration(dt),
                        figures::at(t.at)
                    ),
                    evidence,
                )
            }
            None => never(
                name,
                &threshold,
                format!(
                    "no transition to open after the fault started ({})",
                    figures::at(fault.start)
                ),
                json!({ "source": "spans", "transitions": list.len() }),
            ),
        },
        Err(missing) => match first_gauge(&v.gauge, 1.0, fault.start) {
            Some(b) => gauge_check(
                name,
                &threshold,
                (b.lo.saturating_sub(fault.start), b.hi - fault.start),
                limit,
                true,
                missing,
                "opened",
            ),
            None if v.gauge.iter().any(|p| p.at >= fault.start) => never(
                name,
                &threshold,
                format!(
                    "the scraped gauge never showed open after {} (spans: {missing})",
                    figures::at(fault.start)
                ),
                json!({ "source": "gauge" }),
            ),
            None => no_evidence(name, &threshold, upstream, missing),
        },
    }
}

pub(super) fn half_opens(
    v: &Views,
    upstream: &str,
    origin: Duration,
    after: Duration,
    configured: Option<Duration>,
) -> Check {
    let name = "half_open_after";
    let required = configured.map_or(after, |c| c.max(after));
    let mut threshold = format!(">= {}", figures::duration(required));
    if let Some(c) = configured {
        threshold.push_str(&format!(" (open_for {})", figures::duration(c)));
    }
    match &v.spans {
        Ok(list) => {
            let Some(open) = first_span(list, "open", origin) else {
                return never(
                    name,
                    &threshold,
                    format!("the breaker never opened after {}", figures::at(origin)),
                    json!({ "source": "spans" }),
                );
            };
            match list.iter().find(|t| t.to == "half_open" && t.at > open.at) {
                Some(half) => {
                    let waited = half.at - open.at;
                    Check::judged(
                        name,
                        waited + ROUNDING >= required,
                        Measured::Seconds(waited),
                        threshold,
                        format!(
                            "half-open {} after opening ({} -> {})",
                            figures::duration(waited),
                            figures::at(open.at),
                            figures::at(half.at)
                        ),
                        json!({
                            "source": "spans", "opened_s": figures::secs(open.at),
                            "half_open_s": figures::secs(half.at), "trace_id": half.trace_id,
                            "cross_check": cross_check(v, half, next_after(list, half)),
                        }),
                    )
                }
                None => never(
                    name,
                    &threshold,
                    format!(
                        "opened at {} and never went half-open",
                        figures::at(open.at)
                    ),
                    json!({ "source": "spans", "opened_s": figures::secs(open.at) }),
                ),
            }
        }
        Err(missing) => {
            let open = first_gauge(&v.gauge, 1.0, origin);
            let half = open.and_then(|o| first_gauge(&v.gauge, 2.0, o.hi));
            match (open, half) {
                (Some(o), Some(h)) => gauge_check(
                    name,
                    &threshold,
                    (h.lo.saturating_sub(o.hi), h.hi - o.lo),
                    required.saturating_sub(ROUNDING),
                    false,
                    missing,
                    "half-open",
                ),
                _ => no_evidence(name, &threshold, upstream, missing),
            }
        }
    }
}

pub(super) fn closes(v: &Views, upstream: &str, fault: Interval, limit: Duration) -> Check {
    let name = "closes_within";
    let threshold = format!("<= {}", figures::duration(limit));
    let end = fault.end;
    match &v.spans {
        Ok(list) => {
            let opened = list
                .iter()
                .any(|t| t.to == "open" && t.at >= fault.start && t.at <= end);
            let state = list
                .iter()
                .rev()
                .find(|t| t.at <= end)
                .map_or("closed", |t| t.to.as_str());
            if state == "closed" {
                let message = if opened {
                    format!("closed again before the fault ended ({})", figures::at(end))
                } else {
                    "never opened during the fault: closed throughout".to_owned()
                };
                return Check::judged(
                    name,
                    true,
                    Measured::Seconds(Duration::ZERO),
                    threshold,
                    message,
                    json!({ "source": "spans", "state_at_fault_end": state }),
                );
            }
            match list.iter().find(|t| t.to == "closed" && t.at > end) {
                Some(t) => {
                    let dt = t.at - end;
                    Check::judged(
                        name,
                        dt <= limit,
                        Measured::Seconds(dt),
                        threshold,
                        format!(
                            "closed {} after the fault ended ({})",
                            figures::duration(dt),
                            figures::at(t.at)
                        ),
                        json!({
                            "source": "spans", "state_at_fault_end": state,
                            "closed_s": figures::secs(t.at), "trace_id": t.trace_id,
                            "cross_check": cross_check(v, t, next_after(list, t)),
                        }),
                    )
                }
                None => never(
                    name,
                    &threshold,
                    format!(
                        "still {state} at the end of the load after the fault ended ({})",
                        figures::at(end)
                    ),
                    json!({ "source": "spans", "state_at_fault_end": state }),
                ),
            }
        }
        Err(missing) => {
            let at_end = v.gauge.iter().rev().find(|p| p.at <= end).map(|p| p.value);
            if at_end == Some(0.0) {
                return Check::judged(
                    name,
                    true,
                    Measured::Seconds(Duration::ZERO),
                    threshold,
                    format!(
                        "the scraped gauge showed closed at the fault's end (spans: {missing})"
                    ),
                    json!({ "source": "gauge" }),
                );
            }
            match first_gauge(&v.gauge, 0.0, end) {
                Some(b) => gauge_check(
                    name,
                    &threshold,
                    (b.lo.saturating_sub(end), b.hi - end),
                    limit,
                    true,
                    missing,
                    "closed",
                ),
                None if v.gauge.iter().any(|p| p.at > end) => never(
                    name,
                    &threshold,
                    format!(
                        "the scraped gauge never showed closed after {} (spans: {missing})",
                        figures::at(end)
                    ),
                    json!({ "source": "gauge" }),
                ),
                None => no_evidence(name, &threshold, upstream, missing),
            }
        }
    }
}
