//! `metric`: a metric's value over a window, from the scraped `/metrics` samples or from a
//! PromQL query, compared with a threshold at every point, or held for a duration (rules
//! in `series`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::scenario::{MetricObjective, MetricSource};

use super::figures;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Check, Measured, Verdict};
use super::series::{self, Judged, Point, Series};
use super::windows::Resolved;

/// Series kept in the evidence, at most.
const MAX_SERIES: usize = 50;
/// Points per series kept in the evidence, at most.
const MAX_POINTS: usize = 600;

/// Judges a `metric` objective.
pub(crate) async fn judge(j: &Judge<'_>, index: usize, o: &MetricObjective) -> Verdict {
    let what = match &o.source {
        MetricSource::Query(q) => q.clone(),
        MetricSource::Sample { name, labels } => {
            let labels: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            series::selector(name, &labels)
        }
    };
    let label = format!("metric {what} {}", o.window);
    let mut threshold = o.value.to_string();
    if let Some(hold) = o.hold_for {
        threshold.push_str(&format!(" for {}", figures::duration(hold)));
    }
    let window = match j.timeline.window(&o.window) {
        Ok(w) => w,
        Err(missing) => return Verdict::unjudged(index, "metric", label, threshold, &missing),
    };
    let check = match collect(j, o, &window).await {
        Ok(all) => judge_series(o, &threshold, &all, &window),
        Err(missing) => Check::inconclusive("value", &threshold, &missing, None, Value::Null),
    };
    Verdict::from_checks(
        index,
        "metric",
        label,
        Some(window.verdict_window()),
        vec![check],
        json!({ "source": match &o.source { MetricSource::Query(_) => "prometheus", MetricSource::Sample { .. } => "scrape" } }),
    )
}

/// The series in the window, each with at least one point.
async fn collect(
    j: &Judge<'_>,
    o: &MetricObjective,
    window: &Resolved,
) -> Result<Vec<Series>, MissingEvidence> {
    match &o.source {
        MetricSource::Sample { name, labels } => {
            let labels: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let scrapes = &j.evidence.metrics.scrapes;
            let all = series::scraped(scrapes, name, &labels);
            let points = series::in_window(scrapes, &all, window.interval, &window.describe())?;
            Ok(vec![Series {
                name: all.name,
                points,
            }])
        }
        MetricSource::Query(query) => {
            let client = j.prometheus()?;
            let found =
                series::promql(client, query, j.evidence.load_started_at, window.interval).await?;
            if found.is_empty() {
                return Err(MissingEvidence::EmptyQuery {
                    query: query.clone(),
                    window: window.describe(),
                });
            }
            Ok(found)
        }
    }
}

fn judge_series(o: &MetricObjective, threshold: &str, all: &[Series], window: &Resolved) -> Check {
    let judged: Vec<(&Series, Judged)> = all
        .iter()
        .map(|s| (s, series::judge(&s.points, &o.value, o.hold_for)))
        .collect();
    let evidence = json!({
        "series": judged.iter().take(MAX_SERIES).map(|(s, r)| json!({
            "name": s.name,
            "holds": r.holds,
            "points": s.points.iter().take(MAX_POINTS).map(|p| json!([figures::secs(p.at), p.value])).collect::<Vec<_>>(),
            "longest_hold_s": r.longest.map(figures::secs),
        })).collect::<Vec<_>>(),
        "series_count": all.len(),
    });
    let failing = judged.iter().find(|(_, r)| !r.holds);
    let (series, result) = match failing.or(judged.first()) {
        Some((s, r)) => (*s, *r),
        None => {
            let missing = MissingEvidence::SeriesAbsent {
                series: o.value.to_string(),
                window: window.describe(),
            };
            return Check::inconclusive("value", threshold, &missing, None, evidence);
        }
    };
    match o.hold_for {
        None => {
            let point = result.point.unwrap_or(Point {
                at: Duration::ZERO,
                value: f64::NAN,
            });
            let message = if failing.is_some() {
                format!(
                    "{} was {} at {} ({} points)",
                    series.name,
                    figures::number(point.value),
                    figures::at(point.at),
                    series.points.len()
                )
            } else {
                format!(
                    "every point of {} series held (worst {} at {})",
                    all.len(),
                    figures::number(point.value),
                    figures::at(point.at)
                )
            };
            Check::judged(
                "value",
                failing.is_none(),
                Measured::Number(point.value),
                threshold,
                message,
                evidence,
            )
        }
        Some(hold) => {
            let longest = result.longest.unwrap_or_default();
            let covered = match (series.points.first(), series.points.last()) {
                (Some(a), Some(b)) => b.at - a.at,
                _ => Duration::ZERO,
            };
            if failing.is_some() && covered < hold {
                let missing = MissingEvidence::TooShortForHold {
                    window: window.describe(),
                    spanned_ms: u64::try_from(covered.as_millis()).unwrap_or(u64::MAX),
                    hold_ms: u64::try_from(hold.as_millis()).unwrap_or(u64::MAX),
                };
                return Check::inconclusive(
                    "value",
                    threshold,
                    &missing,
                    Some(Measured::Seconds(longest)),
                    evidence,
                );
            }
            let from = result.point.map(|p| figures::at(p.at)).unwrap_or_default();
            Check::judged(
                "value",
                failing.is_none(),
                Measured::Seconds(longest),
                threshold,
                format!(
                    "{} held {} for at most {} (from {from})",
                    series.name,
                    o.value,
                    figures::duration(longest)
                ),
                evidence,
            )
            .with_measured(format!("held {}", figures::duration(longest)))
        }
    }
}
