//! `failover`: while a fault is on, clients barely notice (error rate) and the gateway stops
//! sending attempts to the failed endpoint within a grace time.
//!
//! "Reaching" an endpoint is judged from the gateway's `upstream.attempt` spans whose
//! `gateway.endpoint` is one of the target's addresses as the gateway used them
//! (`Evidence::endpoints`): none may start in `[fault start + within, fault end)`. When
//! client records carry `x-upstream` (builtin upstreams), responses answered by the target
//! instance in that range are counted too, as a second view.

use std::time::Duration;

use observability::names::{attr, span};
use serde_json::{Value, json};

use crate::scenario::{Failover, Interval, Target};

use super::client;
use super::figures;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Check, Measured, Verdict};
use super::spans::{FoundSpan, SpanFilter};

/// Judges a `failover` objective.
pub(crate) async fn judge(j: &Judge<'_>, index: usize, o: &Failover) -> Verdict {
    let label = format!("failover during {}", o.during);
    let window = match j.timeline.during(&o.during) {
        Ok(w) => w,
        Err(missing) => {
            let threshold = o.errors.map(|t| t.to_string()).unwrap_or_default();
            return Verdict::unjudged(index, "failover", label, threshold, &missing);
        }
    };
    let mut checks = Vec::new();
    if let Some(errors) = &o.errors {
        let records = j.records(window.interval);
        checks.push(client::errors_check(
            "errors",
            &window.describe(),
            &records,
            errors,
        ));
    }
    if let Some(target) = &o.stops_reaching {
        let after = Interval {
            start: window.interval.start + o.within,
            end: window.interval.end,
        };
        checks.push(stops_reaching(j, target, window.interval, after, o.within).await);
        if let Some(check) = client_stops_reaching(j, target, after, o.within) {
            checks.push(check);
        }
    }
    Verdict::from_checks(
        index,
        "failover",
        label,
        Some(window.verdict_window()),
        checks,
        json!({ "within_s": o.within.as_secs_f64() }),
    )
}

fn target_name(t: &Target) -> String {
    match t.replica {
        Some(r) => format!("{}.{r}", t.upstream),
        None => t.upstream.clone(),
    }
}

/// The addresses of the target, as the gateway used them.
fn addresses(j: &Judge<'_>, t: &Target) -> Result<Vec<String>, MissingEvidence> {
    let missing = || MissingEvidence::NoEndpoints {
        upstream: target_name(t),
    };
    let all = j.evidence.endpoints.get(&t.upstream).ok_or_else(missing)?;
    let chosen: Vec<String> = match t.replica {
        Some(r) => all.get(r as usize).cloned().into_iter().collect(),
        None => all.clone(),
    };
    if chosen.is_empty() {
        return Err(missing());
    }
    Ok(chosen)
}

async fn stops_reaching(
    j: &Judge<'_>,
    target: &Target,
    fault: Interval,
    after: Interval,
    within: Duration,
) -> Check {
    let name = "stops_reaching";
    let threshold = format!(
        "0 attempts to {} after +{}",
        target_name(target),
        figures::duration(within)
    );
    match attempts(j, target, fault, after).await {
        Err(missing) => Check::inconclusive(name, threshold, &missing, None, Value::Null),
        Ok((addresses, found)) => {
            let late: Vec<&FoundSpan> = found.iter().filter(|f| f.at >= after.start).collect();
            let last = found.last().map(|f| f.at - fault.start);
            let evidence = json!({
                "addresses": addresses,
                "attempts_during_fault": found.len(),
                "attempts_after_grace": late.len(),
                "last_attempt_after_fault_start_s": last.map(figures::secs),
                "late_trace_ids": j.trace_ids(&late),
            });
            let message = match (late.first(), last) {
                (Some(first), _) => format!(
                    "{} attempts reached {} after the grace time, the first at {} (trace {})",
                    late.len(),
                    target_name(target),
                    figures::at(first.at),
                    first.span.trace_id
                ),
                (None, Some(last)) => format!(
                    "the last attempt reached {} {} after the fault started",
                    target_name(target),
                    figures::duration(last)
                ),
                (None, None) => format!(
                    "no attempt reached {} during the fault",
                    target_name(target)
                ),
            };
            Check::judged(
                name,
                late.is_empty(),
                Measured::Count(late.len() as u64),
                threshold,
                message,
                evidence,
            )
        }
    }
}

/// The attempt spans to the target during the fault, after proving the trace backend saw
/// the gateway working after the grace time.
async fn attempts(
    j: &Judge<'_>,
    target: &Target,
    fault: Interval,
    after: Interval,
) -> Result<(Vec<String>, Vec<FoundSpan>), MissingEvidence> {
    if after.is_empty() {
        return Err(MissingEvidence::EmptyWindow {
            window: format!("[{after}] (the fault is not longer than `within`)"),
        });
    }
    let addresses = addresses(j, target)?;
    let source = j.spans()?;
    let mut found = Vec::new();
    for address in &addresses {
        let filter = SpanFilter::named(source.gateway_service(), span::UPSTREAM_ATTEMPT)
            .with(attr::ENDPOINT, address.clone());
        found.extend(source.find(&filter, fault).await?);
    }
    found.sort_by_key(|f| f.at);
    let late = found.iter().any(|f| f.at >= after.start);
    if !late
        && !source
            .service_active(source.gateway_service(), after)
            .await?
    {
        return Err(MissingEvidence::NoSpans {
            service: source.gateway_service().to_owned(),
            window: format!("[{after}]"),
        });
    }
    Ok((addresses, found))
}

/// Responses answered by the target instance after the grace time, from `x-upstream`; `None`
/// when no record of the run carries that header.
fn client_stops_reaching(
    j: &Judge<'_>,
    target: &Target,
    after: Interval,
    within: Duration,
) -> Option<Check> {
    if !j.evidence.records.iter().any(|r| r.upstream.is_some()) {
        return None;
    }
    let upstream = j.plan.system.upstreams.get(&target.upstream)?;
    let names: Vec<String> = match target.replica {
        Some(r) => vec![upstream.instance_name(r)],
        None => (0..upstream.instances())
            .map(|r| upstream.instance_name(r))
            .collect(),
    };
    let records = j.records(after);
    let late: Vec<_> = records
        .iter()
        .filter(|r| r.upstream.as_ref().is_some_and(|u| names.contains(u)))
        .collect();
    let threshold = format!(
        "0 responses from {} after +{}",
        names.join(", "),
        figures::duration(within)
    );
    let message = match late.first() {
        Some(first) => format!(
            "{} responses came from {} after the grace time, the first due at {}",
            late.len(),
            names.join(", "),
            figures::at(first.intended)
        ),
        None => format!(
            "no response came from {} after the grace time",
            names.join(", ")
        ),
    };
    Some(Check::judged(
        "client_upstream",
        late.is_empty(),
        Measured::Count(late.len() as u64),
        threshold,
        message,
        json!({
            "instances": names,
            "requests_after_grace": records.len(),
            "late_seqs": late.iter().take(j.options.evidence_ids).map(|r| r.seq).collect::<Vec<_>>(),
        }),
    ))
}
