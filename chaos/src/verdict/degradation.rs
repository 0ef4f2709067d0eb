//! `degradation`: during a fault, a route answered from its fallback (share of requests with
//! the `x-gateway-fallback` header) and never with a 5xx; checked on the client records and
//! on the gateway's `gateway.request` spans of the route (`gateway.fallback`,
//! `http.response.status_code`).
//!
//! Client records do not name a route, so they are attributed by joining their trace ids
//! with the route's server spans; when there are no spans to join with and the gateway
//! config has exactly this one route, every record is the route's. Shares count every
//! request, failed ones included (a timeout is not a fallback).

use std::collections::HashSet;

use observability::client::TraceId;
use observability::names::{attr, span};
use serde_json::{Value, json};

use crate::load::RequestRecord;
use crate::scenario::Degradation;

use super::client::{self, MIN_RATE_SAMPLES, Tally};
use super::figures;
use super::gateway_config::GatewaySettings;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Check, Measured, Verdict};
use super::spans::{FoundSpan, SpanFilter, attribute_int, attribute_text};
use super::windows::Resolved;

/// Judges a `degradation` objective.
pub(crate) async fn judge(j: &Judge<'_>, index: usize, o: &Degradation) -> Verdict {
    let label = format!("degradation of route {} during {}", o.route, o.during);
    let window = match j.timeline.during(&o.during) {
        Ok(w) => w,
        Err(missing) => {
            let threshold = o.fallbacks.map(|t| t.to_string()).unwrap_or_default();
            return Verdict::unjudged(index, "degradation", label, threshold, &missing);
        }
    };
    let spans = route_spans(j, &o.route, &window).await;
    let records = attributed(j, &o.route, &window, spans.as_ref().ok());
    let mut checks = Vec::new();

    match &records {
        Ok(records) => {
            let tally = Tally::of(records.iter().copied());
            let enough = tally.count >= MIN_RATE_SAMPLES;
            let too_few = MissingEvidence::TooFewRecords {
                window: window.describe(),
                found: tally.count,
                needed: MIN_RATE_SAMPLES,
            };
            if let Some(t) = &o.fallbacks {
                let share = client::ratio(tally.fallbacks, tally.count);
                let evidence = tally.evidence();
                checks.push(if enough {
                    Check::judged(
                        "fallbacks",
                        t.holds_ratio(share),
                        Measured::Ratio(share),
                        t.to_string(),
                        format!(
                            "{} of {} requests answered by a fallback",
                            tally.fallbacks, tally.count
                        ),
                        evidence,
                    )
                } else {
                    Check::inconclusive(
                        "fallbacks",
                        t.to_string(),
                        &too_few,
                        Some(Measured::Ratio(share)),
                        evidence,
                    )
                });
            }
            if o.no_5xx {
                checks.push(if enough {
                    Check::judged(
                        "no_5xx",
                        tally.status_5xx == 0,
                        Measured::Count(tally.status_5xx as u64),
                        "0 responses 5xx",
                        format!("{} of {} responses were 5xx", tally.status_5xx, tally.count),
                        tally.evidence(),
                    )
                } else {
                    Check::inconclusive(
                        "no_5xx",
                        "0 responses 5xx",
                        &too_few,
                        None,
                        tally.evidence(),
                    )
                });
            }
        }
        Err(missing) => checks.extend(unjudged(o, "", "responses", missing)),
    }

    match &spans {
        Ok(spans) => checks.extend(span_checks(j, o, &window, spans)),
        Err(missing) => checks.extend(unjudged(o, "spans.", "spans", missing)),
    }
    Verdict::from_checks(
        index,
        "degradation",
        label,
        Some(window.verdict_window()),
        checks,
        json!({ "route": o.route }),
    )
}

/// The route's server spans in the window; an empty list only when the gateway was seen
/// working then (else the spans are missing, not absent).
async fn route_spans(
    j: &Judge<'_>,
    route: &str,
    window: &Resolved,
) -> Result<Vec<FoundSpan>, MissingEvidence> {
    let source = j.spans()?;
    let filter =
        SpanFilter::named(source.gateway_service(), span::REQUEST).with(attr::HTTP_ROUTE, route);
    let found = source.find(&filter, window.interval).await?;
    if found.is_empty()
        && !source
            .service_active(source.gateway_service(), window.interval)
            .await?
    {
        return Err(MissingEvidence::NoSpans {
            service: source.gateway_service().to_owned(),
            window: window.describe(),
        });
    }
    Ok(found)
}

/// The client records of the route in the window (module docs).
fn attributed<'a>(
    j: &Judge<'a>,
    route: &str,
    window: &Resolved,
    spans: Option<&Vec<FoundSpan>>,
) -> Result<Vec<&'a RequestRecord>, MissingEvidence> {
    let records = j.records(window.interval);
    if let Some(spans) = spans.filter(|s| !s.is_empty()) {
        let ids: HashSet<TraceId> = spans.iter().map(|s| s.span.trace_id).collect();
        return Ok(records
            .into_iter()
            .filter(|r| ids.contains(&TraceId(u128::from_be_bytes(r.trace_id.to_bytes()))))
            .collect());
    }
    let routes = j
        .evidence
        .gateway_config
        .as_deref()
        .and_then(GatewaySettings::parse)
        .map(|s| s.routes)
        .unwrap_or_default();
    if routes.len() == 1 && routes.iter().any(|r| r == route) {
        return Ok(records);
    }
    Err(MissingEvidence::RouteUnattributable {
        route: route.to_owned(),
        routes: routes.len(),
    })
}

fn span_checks(
    j: &Judge<'_>,
    o: &Degradation,
    window: &Resolved,
    spans: &[FoundSpan],
) -> Vec<Check> {
    let total = spans.len();
    let fallbacks: Vec<&FoundSpan> = spans
        .iter()
        .filter(|s| attribute_text(&s.span, attr::FALLBACK).is_some_and(|f| !f.is_empty()))
        .collect();
    let five_xx: Vec<&FoundSpan> = spans
        .iter()
        .filter(|s| attribute_int(&s.span, attr::HTTP_STATUS_CODE).is_some_and(|c| c >= 500))
        .collect();
    let too_few = MissingEvidence::TooFewSpans {
        window: window.describe(),
        found: total,
        needed: MIN_RATE_SAMPLES,
    };
    let mut checks = Vec::new();
    if let Some(t) = &o.fallbacks {
        let share = client::ratio(fallbacks.len(), total);
        let evidence = json!({ "spans": total, "fallback_spans": fallbacks.len(), "trace_ids": j.trace_ids(&fallbacks) });
        checks.push(if total >= MIN_RATE_SAMPLES {
            Check::judged(
                "spans.fallbacks",
                t.holds_ratio(share),
                Measured::Ratio(share),
                t.to_string(),
                format!(
                    "{} of {total} server spans carry {} ({})",
                    fallbacks.len(),
                    attr::FALLBACK,
                    figures::ratio(share)
                ),
                evidence,
            )
        } else {
            Check::inconclusive(
                "spans.fallbacks",
                t.to_string(),
                &too_few,
                Some(Measured::Ratio(share)),
                evidence,
            )
        });
    }
    if o.no_5xx {
        let evidence = json!({ "spans": total, "spans_5xx": five_xx.len(), "trace_ids": j.trace_ids(&five_xx) });
        checks.push(if total >= MIN_RATE_SAMPLES {
            Check::judged(
                "spans.no_5xx",
                five_xx.is_empty(),
                Measured::Count(five_xx.len() as u64),
                "0 spans 5xx",
                format!("{} of {total} server spans answered 5xx", five_xx.len()),
                evidence,
            )
        } else {
            Check::inconclusive("spans.no_5xx", "0 spans 5xx", &too_few, None, evidence)
        });
    }
    checks
}

/// The checks of one view that could not be judged: `prefix` names the view in the check
/// names (`spans.`), `what` in the `no_5xx` threshold (`0 spans 5xx`).
fn unjudged(o: &Degradation, prefix: &str, what: &str, missing: &MissingEvidence) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(t) = &o.fallbacks {
        checks.push(Check::inconclusive(
            format!("{prefix}fallbacks"),
            t.to_string(),
            missing,
            None,
            Value::Null,
        ));
    }
    if o.no_5xx {
        checks.push(Check::inconclusive(
            format!("{prefix}no_5xx"),
            format!("0 {what} 5xx"),
            missing,
            None,
            Value::Null,
        ));
    }
    checks
}
