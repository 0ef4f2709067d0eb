//! `trace`: an aggregate over the spans a selector picks in a window: how many (`count`),
//! what share of the same service's spans of that name (`ratio`), or a statistic of their
//! durations (`duration`).
//!
//! `service: gateway` means the gateway's actual `service.name`. Attribute values are
//! rendered with the run's addresses (`{{upstream.NAME}}`). A count of zero is only
//! believed when the backend holds some span of the service in the window.

use std::time::Duration;

use serde_json::{Value, json};

use crate::scenario::{Interval, TraceAggregate, TraceObjective};

use super::client::{self, MIN_RATE_SAMPLES};
use super::figures;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Check, Measured, Verdict};
use super::spans::{FoundSpan, SpanFilter};

/// Judges a `trace` objective.
pub(crate) async fn judge(j: &Judge<'_>, index: usize, o: &TraceObjective) -> Verdict {
    let aggregate = match &o.aggregate {
        TraceAggregate::Count(_) => "count",
        TraceAggregate::Ratio(_) => "ratio",
        TraceAggregate::Duration(_) => "duration",
    };
    let label = format!("trace {} {aggregate} {}", o.select.name, o.window);
    let threshold = match &o.aggregate {
        TraceAggregate::Count(t) => t.to_string(),
        TraceAggregate::Ratio(t) => t.to_string(),
        TraceAggregate::Duration(t) => t.to_string(),
    };
    let window = match j.timeline.window(&o.window) {
        Ok(w) => w,
        Err(missing) => return Verdict::unjudged(index, "trace", label, threshold, &missing),
    };
    let judged = Interval {
        start: window.interval.start + o.after,
        end: window.interval.end,
    };
    let mut verdict_window = window.verdict_window();
    verdict_window.start = judged.start.min(judged.end);
    let where_ = format!("{} [{judged}]", window.name);
    let check = match select(j, o, judged, &where_).await {
        Ok((filter, selected, same_name)) => {
            let evidence = json!({
                "selector": {
                    "service": filter.service,
                    "name": filter.name,
                    "attributes": filter.attributes.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                    "status": o.select.status.map(|s| format!("{s:?}").to_lowercase()),
                },
                "selected": selected.len(),
                "trace_ids": j.trace_ids(&selected.iter().collect::<Vec<_>>()),
                "after_s": o.after.as_secs_f64(),
            });
            aggregate_check(
                &o.aggregate,
                &threshold,
                &selected,
                same_name,
                &where_,
                evidence,
            )
        }
        Err(missing) => Check::inconclusive(aggregate, &threshold, &missing, None, Value::Null),
    };
    Verdict::from_checks(
        index,
        "trace",
        label,
        Some(verdict_window),
        vec![check],
        Value::Null,
    )
}

/// The selected spans and, for a ratio, how many spans share their service and name.
async fn select(
    j: &Judge<'_>,
    o: &TraceObjective,
    range: Interval,
    where_: &str,
) -> Result<(SpanFilter, Vec<FoundSpan>, Option<usize>), MissingEvidence> {
    if range.is_empty() {
        return Err(MissingEvidence::EmptyWindow {
            window: where_.to_owned(),
        });
    }
    let source = j.spans()?;
    let service = source.service(&o.select.service);
    let topology = j.topology();
    let mut filter = SpanFilter::named(service.clone(), o.select.name.clone());
    for (key, template) in &o.select.attributes {
        let value = template
            .render(&topology)
            .map_err(|e| MissingEvidence::Placeholder {
                key: key.clone(),
                reason: e.to_string(),
            })?;
        filter = filter.with(key.clone(), value);
    }
    filter.status = o.select.status;
    let selected = source.find(&filter, range).await?;
    let same_name = match o.aggregate {
        TraceAggregate::Ratio(_) => {
            let all = SpanFilter::named(service.clone(), o.select.name.clone());
            Some(source.find(&all, range).await?.len())
        }
        _ => None,
    };
    if selected.is_empty()
        && same_name.unwrap_or(0) == 0
        && !source.service_active(&service, range).await?
    {
        return Err(MissingEvidence::NoSpans {
            service,
            window: where_.to_owned(),
        });
    }
    Ok((filter, selected, same_name))
}

fn aggregate_check(
    aggregate: &TraceAggregate,
    threshold: &str,
    selected: &[FoundSpan],
    same_name: Option<usize>,
    where_: &str,
    evidence: Value,
) -> Check {
    match aggregate {
        TraceAggregate::Count(t) => {
            let n = selected.len();
            let message = match selected.first() {
                Some(first) => format!(
                    "{n} spans selected in {where_}, the first at {} (trace {})",
                    figures::at(first.at),
                    first.span.trace_id
                ),
                None => format!("no span selected in {where_}"),
            };
            Check::judged(
                "count",
                t.op.holds(n as f64, t.value.get()),
                Measured::Count(n as u64),
                threshold,
                message,
                evidence,
            )
        }
        TraceAggregate::Ratio(t) => {
            let total = same_name.unwrap_or(0);
            let share = client::ratio(selected.len(), total);
            if total < MIN_RATE_SAMPLES {
                let missing = MissingEvidence::TooFewSpans {
                    window: where_.to_owned(),
                    found: total,
                    needed: MIN_RATE_SAMPLES,
                };
                return Check::inconclusive(
                    "ratio",
                    threshold,
                    &missing,
                    Some(Measured::Ratio(share)),
                    evidence,
                );
            }
            Check::judged(
                "ratio",
                t.holds_ratio(share),
                Measured::Ratio(share),
                threshold,
                format!("{} of {total} spans of that name selected", selected.len()),
                super::outcome::merge(evidence, json!({ "same_name": total })),
            )
        }
        TraceAggregate::Duration(t) => {
            let mut durations: Vec<Duration> = selected.iter().map(|s| s.span.duration()).collect();
            durations.sort_unstable();
            let value = client::statistic(&durations, t.stat);
            let need = client::needed(t.stat);
            let evidence = super::outcome::merge(
                evidence,
                json!({ "durations": client::latency_evidence(&durations) }),
            );
            match value {
                Some(v) if durations.len() >= need => Check::judged(
                    "duration",
                    t.holds(v),
                    Measured::Seconds(v),
                    threshold,
                    format!(
                        "{} of {} span durations: {}",
                        t.stat,
                        durations.len(),
                        figures::duration(v)
                    ),
                    evidence,
                ),
                _ => {
                    let missing = MissingEvidence::TooFewSpans {
                        window: where_.to_owned(),
                        found: durations.len(),
                        needed: need,
                    };
                    Check::inconclusive(
                        "duration",
                        threshold,
                        &missing,
                        value.map(Measured::Seconds),
                        evidence,
                    )
                }
            }
        }
    }
}
