//! Metric evidence as time series: the runner's `/metrics` scrapes turned into series
//! (offset, value), PromQL range queries through the Prometheus client, and the rules for
//! judging a series against a threshold, optionally held for a duration.
//!
//! - A scraped series is the **sum** of every sample matching the name and label matchers
//!   in one scrape (as PromQL `sum(...)` would give); a label matcher with an empty value
//!   also matches a sample without that label. A scrape without any matching sample adds no
//!   point.
//! - A PromQL query is evaluated with `query_range` over the window at [`PROMQL_STEP`];
//!   every series it returns is judged.
//! - Without a hold time, every point in the window must satisfy the threshold; the
//!   measured value is the worst point. With one, some run of consecutive satisfying points
//!   must span at least the hold time (measured from its first to its last point, which
//!   under-counts by at most one scrape interval, never over-counts).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use observability::client::{MetricSet, PrometheusClient};

use crate::scenario::{Comparison, Interval, Number, Threshold};

use super::missing::MissingEvidence;

/// The step of PromQL range queries.
pub(crate) const PROMQL_STEP: Duration = Duration::from_secs(1);

/// One value at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    /// Offset from the load's start.
    pub(crate) at: Duration,
    /// The value.
    pub(crate) value: f64,
}

/// A named series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// `name{labels}` of what it is.
    pub(crate) name: String,
    /// Points in time order.
    pub(crate) points: Vec<Point>,
}

/// How a series fared against a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Judged {
    /// Whether it held.
    pub(crate) holds: bool,
    /// The point that decided (worst point; or the start of the longest satisfying run).
    pub(crate) point: Option<Point>,
    /// With a hold time: the longest run of satisfying points.
    pub(crate) longest: Option<Duration>,
}

/// `name{k="v",...}`.
pub(crate) fn selector(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", parts.join(","))
}

/// The series of `name{labels}` over every scrape (see the module docs for matching).
pub(crate) fn scraped(
    scrapes: &[(Duration, MetricSet)],
    name: &str,
    labels: &[(&str, &str)],
) -> Series {
    let points = scrapes
        .iter()
        .filter_map(|(at, set)| {
            let mut matched = false;
            let mut sum = 0.0;
            for sample in set.families.iter().flat_map(|f| &f.samples) {
                if sample.name == name && labels_match(&sample.labels, labels) {
                    matched = true;
                    sum += sample.value;
                }
            }
            matched.then_some(Point {
                at: *at,
                value: sum,
            })
        })
        .collect();
    Series {
        name: selector(name, labels),
        points,
    }
}

fn labels_match(
    labels: &std::collections::BTreeMap<String, String>,
    wanted: &[(&str, &str)],
) -> bool {
    wanted.iter().all(|(k, v)| match labels.get(*k) {
        Some(actual) => actual == v,
        None => v.is_empty(),
    })
}

/// The points of `series` in `interval`, or why there are none.
pub(crate) fn in_window(
    scrapes: &[(Duration, MetricSet)],
    series: &Series,
    interval: Interval,
    window: &str,
) -> Result<Vec<Point>, MissingEvidence> {
    let inside = |at: Duration| at >= interval.start && at < interval.end;
    if !scrapes.iter().any(|(at, _)| inside(*at)) {
        return Err(MissingEvidence::NoScrapes {
            window: window.to_owned(),
        });
    }
    let points: Vec<Point> = series
        .points
        .iter()
        .copied()
        .filter(|p| inside(p.at))
        .collect();
    if points.is_empty() {
        return Err(MissingEvidence::SeriesAbsent {
            series: series.name.clone(),
            window: window.to_owned(),
        });
    }
    Ok(points)
}

/// The typical time between scrapes (the median gap); `None` with fewer than two.
pub(crate) fn scrape_interval(scrapes: &[(Duration, MetricSet)]) -> Option<Duration> {
    let mut gaps: Vec<Duration> = scrapes
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(b.0.saturating_sub(a.0)),
            _ => None,
        })
        .collect();
    gaps.sort_unstable();
    gaps.get(gaps.len() / 2).copied()
}

/// Runs `expr` over `interval` (offsets from `origin`) and returns every series.
pub(crate) async fn promql(
    client: &PrometheusClient,
    expr: &str,
    origin: SystemTime,
    interval: Interval,
) -> Result<Vec<Series>, MissingEvidence> {
    let response = client
        .query_range(
            expr,
            origin + interval.start,
            origin + interval.end,
            PROMQL_STEP,
        )
        .await
        .map_err(MissingEvidence::prometheus)?;
    let origin_s = origin
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let offset = |timestamp: f64| Duration::try_from_secs_f64(timestamp - origin_s).ok();
    let series = match &response.value {
        observability::client::QueryValue::Matrix(matrix) => matrix
            .iter()
            .map(|s| Series {
                name: selector_of(&s.labels),
                points: s
                    .points
                    .iter()
                    .filter_map(|p| {
                        Some(Point {
                            at: offset(p.timestamp)?,
                            value: p.value,
                        })
                    })
                    .collect(),
            })
            .collect(),
        observability::client::QueryValue::Vector(vector) => vector
            .iter()
            .map(|s| Series {
                name: selector_of(&s.labels),
                points: offset(s.point.timestamp)
                    .map(|at| Point {
                        at,
                        value: s.point.value,
                    })
                    .into_iter()
                    .collect(),
            })
            .collect(),
        observability::client::QueryValue::Scalar(p) => vec![Series {
            name: expr.to_owned(),
            points: offset(p.timestamp)
                .map(|at| Point { at, value: p.value })
                .into_iter()
                .collect(),
        }],
        observability::client::QueryValue::String { .. } => Vec::new(),
    };
    Ok(series
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .collect())
}

fn selector_of(labels: &observability::client::Labels) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<(&str, &str)> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    selector(&name, &rest)
}

/// Judges points (in time order, at least one) against `threshold`.
pub(crate) fn judge(
    points: &[Point],
    threshold: &Threshold<Number>,
    hold_for: Option<Duration>,
) -> Judged {
    let ok = |p: &Point| threshold.op.holds(p.value, threshold.value.get());
    match hold_for {
        None => {
            let holds = points.iter().all(ok);
            Judged {
                holds,
                point: worst(points, threshold),
                longest: None,
            }
        }
        Some(hold) => {
            let mut best: Option<(Point, Duration)> = None;
            let mut run: Option<Point> = None;
            for p in points {
                if ok(p) {
                    let first = *run.get_or_insert(*p);
                    let span = p.at.saturating_sub(first.at);
                    if best.is_none_or(|(_, b)| span > b) {
                        best = Some((first, span));
                    }
                } else {
                    run = None;
                }
            }
            Judged {
                holds: best.is_some_and(|(_, span)| span >= hold),
                point: best.map(|(p, _)| p).or_else(|| worst(points, threshold)),
                longest: Some(best.map_or(Duration::ZERO, |(_, span)| span)),
            }
        }
    }
}

/// The point furthest on the wrong side of the threshold (the first one for `==`/`!=`
/// violations; the first point when all hold for those).
fn worst(points: &[Point], threshold: &Threshold<Number>) -> Option<Point> {
    let limit = threshold.value.get();
    let by = |f: fn(&Point, &Point) -> std::cmp::Ordering| points.iter().copied().max_by(f);
    match threshold.op {
        Comparison::Lt | Comparison::Le => by(|a, b| a.value.total_cmp(&b.value)),
        Comparison::Gt | Comparison::Ge => by(|a, b| b.value.total_cmp(&a.value)),
        Comparison::Eq => points
            .iter()
            .copied()
            .max_by(|a, b| (a.value - limit).abs().total_cmp(&(b.value - limit).abs())),
        Comparison::Ne => points
            .iter()
            .copied()
            .find(|p| p.value == limit)
            .or_else(|| points.first().copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(values: &[(u64, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|(ms, v)| Point {
                at: Duration::from_millis(*ms),
                value: *v,
            })
            .collect()
    }

    fn t(text: &str) -> Threshold<Number> {
        text.parse().unwrap()
    }

    #[test]
    fn judge_without_hold_needs_every_point_and_reports_the_worst() {
        let p = pts(&[(0, 0.0), (1000, 2.0), (2000, 1.0)]);
        let j = judge(&p, &t("< 1"), None);
        assert!(!j.holds);
        assert_eq!(j.point.unwrap().value, 2.0);
        let j = judge(&p, &t("<= 2"), None);
        assert!(j.holds, "exactly at the limit holds");
        let j = judge(&p, &t(">= 1"), None);
        assert_eq!(j.point.unwrap().value, 0.0);
    }

    #[test]
    fn judge_with_hold_needs_a_long_enough_satisfying_run() {
        let p = pts(&[(0, 1.0), (1000, 0.0), (2000, 0.0), (3000, 0.0), (4000, 1.0)]);
        let j = judge(&p, &t("== 0"), Some(Duration::from_secs(2)));
        assert!(j.holds);
        assert_eq!(j.longest, Some(Duration::from_secs(2)));
        assert_eq!(j.point.unwrap().at, Duration::from_secs(1));
        let j = judge(&p, &t("== 0"), Some(Duration::from_millis(2001)));
        assert!(!j.holds);
    }

    #[test]
    fn scraped_sums_matching_samples_and_empty_matcher_matches_absent_label() {
        let a = MetricSet::parse(
            "# TYPE gateway_breaker_state gauge\n\
             gateway_breaker_state{upstream=\"users\",route=\"\"} 1\n\
             gateway_breaker_state{upstream=\"users\",route=\"r\"} 2\n\
             gateway_breaker_state{upstream=\"orders\"} 0\n",
        )
        .unwrap();
        let b = MetricSet::parse("# TYPE other gauge\nother 1\n").unwrap();
        let scrapes = vec![(Duration::from_secs(1), a), (Duration::from_secs(2), b)];
        let s = scraped(
            &scrapes,
            "gateway_breaker_state",
            &[("upstream", "users"), ("route", "")],
        );
        assert_eq!(s.points, pts(&[(1000, 1.0)]));
        let s = scraped(&scrapes, "gateway_breaker_state", &[("upstream", "users")]);
        assert_eq!(s.points[0].value, 3.0);
        let s = scraped(
            &scrapes,
            "gateway_breaker_state",
            &[("upstream", "orders"), ("route", "")],
        );
        assert_eq!(s.points[0].value, 0.0);
        assert_eq!(
            s.name,
            "gateway_breaker_state{upstream=\"orders\",route=\"\"}"
        );
        assert_eq!(scrape_interval(&scrapes), Some(Duration::from_secs(1)));
        let window = Interval {
            start: Duration::from_millis(1500),
            end: Duration::from_secs(3),
        };
        let err = in_window(&scrapes, &s, window, "w").unwrap_err();
        assert_eq!(err.code(), "series_absent");
    }
}
