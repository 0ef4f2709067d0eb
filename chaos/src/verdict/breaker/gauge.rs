//! The scraped `gateway_breaker_state` gauge as breaker evidence: where it brackets a
//! transition, whether a bracket decides a limit, and how it agrees with a span.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Transition, Views};
use crate::verdict::figures;
use crate::verdict::missing::MissingEvidence;
use crate::verdict::outcome::{Check, Measured};
use crate::verdict::series::Point;

/// Where a gauge saw a state begin: somewhere in `(lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bracket {
    pub(super) lo: Duration,
    pub(super) hi: Duration,
}

/// The gauge's value for a state name.
pub(super) fn gauge_value(state: &str) -> f64 {
    match state {
        "closed" => 0.0,
        "open" => 1.0,
        "half_open" => 2.0,
        "forced_open" => 3.0,
        "disabled" => 4.0,
        _ => 5.0,
    }
}

/// Where the gauge first shows `value` at or after `after`: between the previous scrape and
/// that one.
pub(super) fn first_gauge(points: &[Point], value: f64, after: Duration) -> Option<Bracket> {
    let mut previous: Option<&Point> = None;
    for p in points {
        if p.at >= after && p.value == value && previous.is_none_or(|q| q.value != value) {
            let lo = previous.map_or(Duration::ZERO, |q| q.at);
            return Some(Bracket { lo, hi: p.at });
        }
        previous = Some(p);
    }
    None
}

/// What the gauge says about a span transition.
pub(super) fn cross_check(v: &Views, t: &Transition, next_change: Option<Duration>) -> Value {
    if v.gauge.is_empty() {
        return json!({ "gauge": "no scrapes of the gauge" });
    }
    let value = gauge_value(&t.to);
    let seen = v.gauge.iter().find(|p| p.at >= t.at && p.value == value);
    let interval = v.interval.unwrap_or_default();
    match seen {
        Some(p) if next_change.is_none_or(|n| p.at <= n + interval) => {
            let lag = p.at - t.at;
            json!({
                "gauge_seen_s": figures::secs(p.at),
                "lag_s": figures::secs(lag),
                "agrees": lag <= interval,
            })
        }
        _ => {
            let lasted = next_change.map(|n| n.saturating_sub(t.at));
            let brief = lasted.is_some_and(|d| d < interval);
            json!({
                "gauge_seen_s": null,
                "agrees": brief,
                "note": if brief {
                    "state shorter than a scrape interval: not seen by the gauge"
                } else {
                    "the gauge never showed this state"
                },
            })
        }
    }
}

/// `dt` in `(lo, hi]` against `limit`: `Some(true)` certain pass, `Some(false)` certain
/// fail, `None` undecided. `at_most`: the check is `dt <= limit`, else `dt >= limit`.
fn decide(lo: Duration, hi: Duration, limit: Duration, at_most: bool) -> Option<bool> {
    if at_most {
        if hi <= limit {
            Some(true)
        } else if lo >= limit {
            Some(false)
        } else {
            None
        }
    } else if lo >= limit {
        Some(true)
    } else if hi < limit {
        Some(false)
    } else {
        None
    }
}

pub(super) fn gauge_check(
    name: &str,
    threshold: &str,
    (lo, hi): (Duration, Duration),
    limit: Duration,
    at_most: bool,
    spans_missing: &MissingEvidence,
    what: &str,
) -> Check {
    let evidence =
        json!({ "source": "gauge", "from_s": figures::secs(lo), "to_s": figures::secs(hi) });
    let text = format!(
        "{} to {} (gauge)",
        figures::duration(lo),
        figures::duration(hi)
    );
    match decide(lo, hi, limit, at_most) {
        Some(holds) => Check::judged(
            name,
            holds,
            Measured::Seconds(hi),
            threshold,
            format!(
                "{what} between {} and {} (from the scraped gauge; spans: {spans_missing})",
                figures::duration(lo),
                figures::duration(hi)
            ),
            evidence,
        )
        .with_measured(text),
        None => {
            let missing = MissingEvidence::Imprecise {
                from_ms: u64::try_from(lo.as_millis()).unwrap_or(u64::MAX),
                to_ms: u64::try_from(hi.as_millis()).unwrap_or(u64::MAX),
            };
            Check::inconclusive(
                name,
                threshold,
                &missing,
                Some(Measured::Seconds(hi)),
                evidence,
            )
            .with_measured(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn decide_needs_the_whole_bracket_on_one_side() {
        assert_eq!(decide(ms(200), ms(900), ms(1000), true), Some(true));
        assert_eq!(decide(ms(200), ms(1000), ms(1000), true), Some(true));
        assert_eq!(decide(ms(1000), ms(1900), ms(1000), true), Some(false));
        assert_eq!(decide(ms(500), ms(1500), ms(1000), true), None);
        assert_eq!(decide(ms(5000), ms(6000), ms(5000), false), Some(true));
        assert_eq!(decide(ms(3000), ms(4999), ms(5000), false), Some(false));
        assert_eq!(decide(ms(4000), ms(6000), ms(5000), false), None);
    }

    #[test]
    fn first_gauge_brackets_the_change() {
        let points: Vec<Point> = [(0, 0.0), (1000, 0.0), (2000, 1.0), (3000, 1.0), (4000, 2.0)]
            .iter()
            .map(|(t, v)| Point {
                at: ms(*t),
                value: *v,
            })
            .collect();
        assert_eq!(
            first_gauge(&points, 1.0, ms(500)),
            Some(Bracket {
                lo: ms(1000),
                hi: ms(2000)
            })
        );
        assert_eq!(
            first_gauge(&points, 2.0, ms(0)),
            Some(Bracket {
                lo: ms(3000),
                hi: ms(4000)
            })
        );
        assert_eq!(first_gauge(&points, 0.0, ms(2500)), None);
    }
}
