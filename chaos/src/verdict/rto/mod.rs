//! `rto`: recovery time from a fault's end (or start), computed from the client records and,
//! independently, from the gateway's server spans (algorithm in the `verdict` docs).
//!
//! Files: this one (the objective, both views, the verdict), `recovery` (the sliding-window
//! search on samples).

mod recovery;

use observability::client::StatusCode;
use observability::names::{attr, span};
use serde_json::{Value, json};

use crate::scenario::{Interval, Rto};

use super::client::MIN_RATE_SAMPLES;
use super::figures;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Check, Measured, Status, Verdict, VerdictWindow};
use super::spans::{SpanFilter, attribute_int};

use recovery::{Params, Recovery, Sample, StepState};

/// Steps kept in the evidence, at most (6 s of 10 ms steps).
const MAX_EVIDENCE_STEPS: usize = 600;

/// Judges an `rto` objective.
pub(crate) async fn judge(j: &Judge<'_>, index: usize, o: &Rto) -> Verdict {
    let label = format!("rto from {}", o.from);
    let threshold = format!("<= {}", figures::duration(o.max));
    let reference = match j.timeline.time(&o.from) {
        Ok(t) => t,
        Err(missing) => return Verdict::unjudged(index, "rto", label, threshold, &missing),
    };
    let params = Params {
        reference,
        window: o.window,
        hold: o.hold,
        max: o.max,
        success: &o.success,
        latency: o.latency.as_ref(),
        end: j.end(),
    };
    let range = Interval {
        start: reference.saturating_sub(o.window),
        end: j.end(),
    };

    let client_samples: Vec<Sample> = j
        .records(range)
        .into_iter()
        .map(|r| Sample {
            at: r.intended,
            success: r.is_success(),
            latency: r.sent.and(r.latency_to_end),
        })
        .collect();
    let client_check = if client_samples.is_empty() {
        let missing = MissingEvidence::TooFewRecords {
            window: format!("{} [{range}]", o.from),
            found: 0,
            needed: MIN_RATE_SAMPLES,
        };
        (
            Check::inconclusive("client", &threshold, &missing, None, Value::Null),
            None,
        )
    } else {
        let recovery = Recovery::search(&client_samples, &params);
        (
            check("client", &recovery, &params, &threshold),
            recovery.rto(reference),
        )
    };

    let spans_check = match server_samples(j, range).await {
        Ok(samples) => {
            let recovery = Recovery::search(&samples, &params);
            (
                check("spans", &recovery, &params, &threshold),
                recovery.rto(reference),
            )
        }
        Err(missing) => (
            Check::inconclusive("spans", &threshold, &missing, None, Value::Null),
            None,
        ),
    };

    let difference = match (client_check.1, spans_check.1) {
        (Some(c), Some(s)) => json!({
            "spans_minus_client": figures::difference(s, c),
            "spans_minus_client_s": s.as_secs_f64() - c.as_secs_f64(),
        }),
        _ => Value::Null,
    };
    let mut checks = vec![client_check.0, spans_check.0];
    if let (Some(c), Some(s)) = (client_check.1, spans_check.1)
        && let Some(first) = checks.first_mut()
    {
        first.message.push_str(&format!(
            " (spans: {}, difference {})",
            figures::duration(s),
            figures::difference(s, c)
        ));
    }
    let window = VerdictWindow::new(
        format!("{} .. load.end", o.from),
        Interval {
            start: reference,
            end: j.end(),
        },
    );
    Verdict::from_checks(
        index,
        "rto",
        label,
        Some(window),
        checks,
        json!({
            "reference_s": figures::secs(reference),
            "window_s": o.window.as_secs_f64(),
            "hold_s": o.hold.as_secs_f64(),
            "success": o.success.to_string(),
            "latency": o.latency.map(|l| l.to_string()),
            "difference": difference,
        }),
    )
}

/// The gateway's server spans as samples.
async fn server_samples(j: &Judge<'_>, range: Interval) -> Result<Vec<Sample>, MissingEvidence> {
    let source = j.spans()?;
    let filter = SpanFilter::named(source.gateway_service(), span::REQUEST);
    let spans = source.find(&filter, range).await?;
    if spans.is_empty() {
        return Err(MissingEvidence::NoSpans {
            service: source.gateway_service().to_owned(),
            window: format!("[{range}] ({} spans)", span::REQUEST),
        });
    }
    Ok(spans
        .iter()
        .map(|f| Sample {
            at: f.at,
            success: f.span.status.code != StatusCode::Error
                && attribute_int(&f.span, attr::HTTP_STATUS_CODE).is_some_and(|c| c < 500),
            latency: Some(f.span.duration()),
        })
        .collect())
}

/// The check of one view.
fn check(name: &str, r: &Recovery, p: &Params<'_>, threshold: &str) -> Check {
    // Recovery at `max` is confirmed by windows until `max + hold`, each `window` long.
    let deadline = p.reference + p.max + p.hold + p.window;
    let undecided = r.undecided_until(deadline);
    let evidence = evidence(r, p);
    match r.rto(p.reference) {
        Some(rto) => {
            let holds = rto <= p.max;
            let message = format!(
                "recovered {} after {} (every {} window from {} on, for {}, met the thresholds)",
                figures::duration(rto),
                figures::at(p.reference),
                figures::duration(p.window),
                figures::at(p.reference + rto),
                figures::duration(p.hold),
            );
            let judged = Check::judged(
                name,
                holds,
                Measured::Seconds(rto),
                threshold,
                message,
                evidence,
            );
            if !holds && undecided > 0 {
                let missing = MissingEvidence::UndecidedWindows {
                    undecided,
                    needed: MIN_RATE_SAMPLES,
                };
                return Check::inconclusive(
                    name,
                    threshold,
                    &missing,
                    Some(Measured::Seconds(rto)),
                    judged.evidence,
                );
            }
            judged
        }
        None => {
            let best = describe_best(r);
            if undecided > 0 {
                let missing = MissingEvidence::UndecidedWindows {
                    undecided,
                    needed: MIN_RATE_SAMPLES,
                };
                return Check::inconclusive(name, threshold, &missing, None, evidence);
            }
            if p.end < deadline {
                let missing = MissingEvidence::EndedTooEarly {
                    reason: format!(
                        "no recovery by {} and the load ended at {}, before {} + max + hold \
                         + window ({}); {best}",
                        figures::at(p.end),
                        figures::at(p.end),
                        figures::at(p.reference),
                        figures::at(deadline),
                    ),
                };
                return Check::inconclusive(name, threshold, &missing, None, evidence);
            }
            let observed = p.end.saturating_sub(p.reference);
            Check::judged(
                name,
                false,
                Measured::Seconds(observed),
                threshold,
                format!("not recovered by the end ({}); {best}", figures::at(p.end)),
                evidence,
            )
            .with_measured(format!("not recovered in {}", figures::duration(observed)))
            .with_status(Status::Fail)
        }
    }
}

fn describe_best(r: &Recovery) -> String {
    let longest = match r.longest_good() {
        Some((start, len)) => format!(
            "longest good stretch {} from {}",
            figures::duration(len),
            figures::at(start)
        ),
        None => "no good window".to_owned(),
    };
    match r.best_ratio() {
        Some(step) => format!(
            "{longest}; best window {} at {}",
            figures::ratio(step.ratio),
            figures::at(step.at)
        ),
        None => longest,
    }
}

fn evidence(r: &Recovery, p: &Params<'_>) -> Value {
    let rto = r.rto(p.reference);
    let steps: Vec<Value> = r
        .steps
        .iter()
        .take(MAX_EVIDENCE_STEPS)
        .map(|s| {
            json!({
                "t_s": figures::secs(s.at),
                "n": s.samples,
                "ratio": (s.ratio * 1e4).round() / 1e4,
                "latency_s": s.latency.map(figures::secs),
                "state": match s.state {
                    StepState::Good => "good",
                    StepState::Bad => "bad",
                    StepState::Undecided => "undecided",
                },
            })
        })
        .collect();
    json!({
        "rto_s": rto.map(figures::secs),
        "recovered_at_s": r.recovered_at.map(figures::secs),
        "step_s": figures::secs(recovery::STEP),
        "steps_evaluated": r.steps.len(),
        "undecided_steps": r.steps.iter().filter(|s| s.state == StepState::Undecided).count(),
        "steps": steps,
    })
}
