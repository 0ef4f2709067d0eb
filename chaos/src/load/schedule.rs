//! The open-model arrival schedule: when request `i` is meant to start, as a pure function of
//! the rate and the run's duration.
//!
//! The offered rate `r(t)` is piecewise linear. Its integral `Λ(t)` counts the requests due by
//! time `t`, and request `i` (from 0) is due at `t_i = inf { t : Λ(t) ≥ i }`. For a constant
//! rate that is `i / rate`; within a linear ramp it is the root of a quadratic. The run plans
//! `⌊Λ(duration)⌋` requests, so every `t_i` lies in `[0, duration)` and the count never
//! exceeds rate × duration.

use std::time::Duration;

use super::spec::{Rate, Stage};

/// Absolute slack when flooring `Λ(duration)`, so a product like `0.3 × 10` that lands at
/// `2.9999999999999996` still plans 3 requests. Far below one request and far above the
/// rounding error of `Λ` for the request counts a spec allows.
const COUNT_EPSILON: f64 = 1e-9;

/// When each request of a run is meant to start.
///
/// Built from a validated [`LoadSpec`](super::LoadSpec) ([`LoadSpec::schedule`]); pure and
/// cheap to query, so it can be inspected (dry runs, expected counts per window) without
/// running anything.
///
/// [`LoadSpec::schedule`]: super::LoadSpec::schedule
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    segments: Vec<Segment>,
    duration: Duration,
    /// `Λ(duration)`: requests offered over the whole run, fractional.
    offered: f64,
    /// Requests the run sends: `⌊Λ(duration)⌋`.
    len: u64,
}

/// One linear piece of the rate function, in seconds and requests per second.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    /// Start time, seconds from the run's start.
    start: f64,
    /// Length in seconds, above 0.
    length: f64,
    /// Rate at `start`.
    rate_from: f64,
    /// Rate at `start + length`.
    rate_to: f64,
    /// `Λ(start)`.
    due_before: f64,
}

// === impl Schedule ===

impl Schedule {
    /// The schedule for `rate` over `duration`. Expects validated input (finite, non-negative
    /// rates, positive lengths); see [`LoadSpec::validate`](super::LoadSpec::validate).
    ///
    /// A ramp shorter than `duration` holds its last `rate_to` until the end; a longer one is
    /// cut at `duration`.
    pub(crate) fn new(rate: &Rate, duration: Duration) -> Self {
        let end = duration.as_secs_f64();
        let pieces: Vec<(f64, f64, f64)> = match rate {
            Rate::Constant { per_second } => vec![(end, *per_second, *per_second)],
            Rate::Ramp(stages) => ramp_pieces(stages, end),
        };
        let mut segments = Vec::with_capacity(pieces.len());
        let mut start = 0.0;
        let mut due_before = 0.0;
        for (length, rate_from, rate_to) in pieces {
            if length <= 0.0 {
                continue;
            }
            let segment = Segment {
                start,
                length,
                rate_from,
                rate_to,
                due_before,
            };
            due_before += segment.integral(length);
            start += length;
            segments.push(segment);
        }
        // Truncation is the point: `⌊Λ(duration)⌋` requests. The validated spec bounds the
        // count far below 2^53, where f64 stops holding integers exactly.
        let len = (due_before + COUNT_EPSILON).floor().max(0.0) as u64;
        Schedule {
            segments,
            duration,
            offered: due_before,
            len,
        }
    }

    /// How many requests the run sends: `⌊Λ(duration)⌋`.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the run sends nothing (a validated spec always plans at least one request).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The run's duration: no request is due at or after it.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// When request `seq` (from 0) is due, as an offset from the run's start, rounded to the
    /// nanosecond; `None` past the last request.
    pub fn intended(&self, seq: u64) -> Option<Duration> {
        if seq >= self.len {
            return None;
        }
        // Exact for every count below 2^53, far more than a spec allows.
        let due = seq as f64;
        // The first segment whose end reaches `due`: for a zero-rate stretch this picks the
        // moment `Λ` reached `due` (the infimum), not the end of the stretch.
        let index = self
            .segments
            .partition_point(|s| s.due_before + s.integral(s.length) < due);
        let segment = self.segments.get(index).or(self.segments.last())?;
        let offset = segment.start + segment.solve(due - segment.due_before);
        let due_at = Duration::from_nanos((offset.max(0.0) * 1e9).round() as u64);
        // Rounding must not push the last request onto the end of the run.
        let last = self.duration.saturating_sub(Duration::from_nanos(1));
        Some(due_at.min(last))
    }

    /// Every request's due time, in order.
    pub fn iter(&self) -> impl Iterator<Item = Duration> + '_ {
        (0..self.len).filter_map(|seq| self.intended(seq))
    }

    /// `Λ(at)`: requests offered by `at` (fractional; the run's total for `at ≥ duration`).
    /// The expected count in a window is the difference at its ends.
    pub fn offered_by(&self, at: Duration) -> f64 {
        let t = at.as_secs_f64();
        match self.segment_at(t) {
            Some(s) => s.due_before + s.integral((t - s.start).min(s.length)),
            None => 0.0,
        }
        .min(self.offered)
    }

    /// The offered rate at `at`, requests per second (0 at or after the end).
    pub fn rate_at(&self, at: Duration) -> f64 {
        if at >= self.duration {
            return 0.0;
        }
        let t = at.as_secs_f64();
        self.segment_at(t)
            .map_or(0.0, |s| s.rate(((t - s.start) / s.length).clamp(0.0, 1.0)))
    }

    /// The last segment starting at or before `t`.
    fn segment_at(&self, t: f64) -> Option<&Segment> {
        let index = self.segments.partition_point(|s| s.start <= t);
        self.segments.get(index.checked_sub(1)?)
    }
}

/// `(length, rate_from, rate_to)` pieces covering exactly `[0, end]` seconds.
fn ramp_pieces(stages: &[Stage], end: f64) -> Vec<(f64, f64, f64)> {
    let mut pieces = Vec::with_capacity(stages.len() + 1);
    let mut covered = 0.0;
    let mut last_rate = 0.0;
    for stage in stages {
        let length = stage.duration.as_secs_f64();
        if covered + length >= end {
            // Cut inside this stage: the rate at the cut is interpolated.
            let kept = end - covered;
            let rate_at_cut = stage.rate_from + (stage.rate_to - stage.rate_from) * (kept / length);
            pieces.push((kept, stage.rate_from, rate_at_cut));
            return pieces;
        }
        pieces.push((length, stage.rate_from, stage.rate_to));
        covered += length;
        last_rate = stage.rate_to;
    }
    pieces.push((end - covered, last_rate, last_rate));
    pieces
}

// === impl Segment ===

impl Segment {
    /// Rate at fraction `f` of the segment.
    fn rate(&self, f: f64) -> f64 {
        self.rate_from + (self.rate_to - self.rate_from) * f
    }

    /// `a` in `Λ(start + s) - Λ(start) = a·s² + b·s` (with `b = rate_from`).
    fn curvature(&self) -> f64 {
        (self.rate_to - self.rate_from) / (2.0 * self.length)
    }

    /// Requests due in the first `s` seconds of the segment.
    fn integral(&self, s: f64) -> f64 {
        self.curvature() * s * s + self.rate_from * s
    }

    /// The smallest `s` in `[0, length]` with `integral(s) = due`.
    fn solve(&self, due: f64) -> f64 {
        if due <= 0.0 {
            return 0.0;
        }
        let a = self.curvature();
        let b = self.rate_from;
        let s = if a == 0.0 {
            if b > 0.0 { due / b } else { 0.0 }
        } else {
            // `2x / (b + √(b² + 4ax))` is the quadratic's root without the cancellation of
            // `(-b + √…) / 2a` when `a` is small. Rounding can push the discriminant a hair
            // below 0 at the end of a downward ramp.
            let denominator = b + (b * b + 4.0 * a * due).max(0.0).sqrt();
            if denominator > 0.0 {
                2.0 * due / denominator
            } else {
                0.0
            }
        };
        s.clamp(0.0, self.length)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn constant(per_second: f64, duration_ms: u64) -> Schedule {
        Schedule::new(
            &Rate::Constant { per_second },
            Duration::from_millis(duration_ms),
        )
    }

    fn stage(rate_from: f64, rate_to: f64, seconds: u64) -> Stage {
        Stage {
            rate_from,
            rate_to,
            duration: Duration::from_secs(seconds),
        }
    }

    fn ramp(stages: Vec<Stage>, duration_ms: u64) -> Schedule {
        Schedule::new(&Rate::Ramp(stages), Duration::from_millis(duration_ms))
    }

    fn nanos(seconds: f64) -> i128 {
        (seconds * 1e9).round() as i128
    }

    #[test]
    fn constant_rate_is_due_every_period_exactly() {
        let schedule = constant(200.0, 2_000);
        assert_eq!(schedule.len(), 400);
        for (seq, due) in schedule.iter().enumerate() {
            assert_eq!(due, Duration::from_millis(5) * seq as u32, "request {seq}");
        }
        assert_eq!(schedule.intended(400), None);
        assert_eq!(schedule.rate_at(Duration::from_millis(1_999)), 200.0);
        assert_eq!(schedule.rate_at(Duration::from_secs(2)), 0.0);
    }

    #[test]
    fn constant_rate_count_is_floor_of_rate_times_duration() {
        // 0.3 × 10 rounds to 2.9999999999999996 in f64: still 3 requests.
        assert_eq!(constant(0.3, 10_000).len(), 3);
        assert_eq!(constant(3.0, 1_000).len(), 3);
        assert_eq!(constant(2.5, 1_000).len(), 2);
        assert_eq!(
            constant(7.0, 1_000).iter().last(),
            Some(Duration::from_nanos(857_142_857))
        );
    }

    #[test]
    fn linear_ramp_inverts_its_integral_exactly() {
        // r(t) = 10·t over 10 s: Λ(t) = 5t², so request i is due at √(i/5).
        let schedule = ramp(vec![stage(0.0, 100.0, 10)], 10_000);
        assert_eq!(schedule.len(), 500);
        for seq in 0..500u64 {
            let want = nanos((seq as f64 / 5.0).sqrt());
            let got = schedule.intended(seq).map(|d| d.as_nanos() as i128);
            assert!(
                got.is_some_and(|g| (g - want).abs() <= 1),
                "request {seq}: {got:?} vs {want}"
            );
        }
        // Requests due in each whole second match the integral: 5(k+1)² - 5k².
        let times: Vec<Duration> = schedule.iter().collect();
        for k in 0..10u64 {
            let inside = times.iter().filter(|t| t.as_secs() == k).count() as u64;
            assert_eq!(inside, 5 * (2 * k + 1), "second {k}");
        }
    }

    #[test]
    fn ramp_down_and_plateau_integrate_piecewise() {
        // Up 0→100 in 10 s (500), hold 100 for 5 s (500), down 100→0 in 10 s (500).
        let schedule = ramp(
            vec![
                stage(0.0, 100.0, 10),
                stage(100.0, 100.0, 5),
                stage(100.0, 0.0, 10),
            ],
            25_000,
        );
        assert_eq!(schedule.len(), 1_500);
        assert_eq!(schedule.intended(500), Some(Duration::from_secs(10)));
        assert_eq!(schedule.intended(750), Some(Duration::from_millis(12_500)));
        assert_eq!(schedule.intended(1_000), Some(Duration::from_secs(15)));
        // Downward: Λ(15 + s) = 1000 + 100s - 5s², so request 1000 + x is due at
        // 15 + 10 - √(100 - x/5)·... solved directly: s = (100 - √(10000 - 20x)) / 10.
        for x in [1u64, 100, 250, 499] {
            let s = (100.0 - (10_000.0 - 20.0 * x as f64).sqrt()) / 10.0;
            let got = schedule.intended(1_000 + x).map(|d| d.as_nanos() as i128);
            assert!(
                got.is_some_and(|g| (g - nanos(15.0 + s)).abs() <= 1),
                "x = {x}: {got:?}"
            );
        }
        assert!((schedule.offered_by(Duration::from_secs(10)) - 500.0).abs() < 1e-9);
        assert_eq!(schedule.rate_at(Duration::from_millis(20_000)), 50.0);
    }

    #[test]
    fn zero_rate_stretch_delays_the_next_request_to_its_end() {
        // 10/s for 1 s (10 requests), silence for 2 s, 10/s for 1 s.
        let schedule = ramp(
            vec![
                stage(10.0, 10.0, 1),
                stage(0.0, 0.0, 2),
                stage(10.0, 10.0, 1),
            ],
            4_000,
        );
        assert_eq!(schedule.len(), 20);
        assert_eq!(schedule.intended(9), Some(Duration::from_millis(900)));
        // Λ reaches 10 at t = 1 s, the start of the silence: the infimum.
        assert_eq!(schedule.intended(10), Some(Duration::from_secs(1)));
        assert_eq!(schedule.intended(11), Some(Duration::from_millis(3_100)));
    }

    #[test]
    fn ramp_shorter_than_duration_holds_its_last_rate() {
        let schedule = ramp(vec![stage(0.0, 20.0, 1)], 3_000);
        // 10 in the ramp, then 20/s for 2 s.
        assert_eq!(schedule.len(), 50);
        assert_eq!(schedule.rate_at(Duration::from_millis(2_500)), 20.0);
    }

    #[test]
    fn ramp_longer_than_duration_is_cut() {
        let schedule = ramp(vec![stage(0.0, 100.0, 10)], 2_000);
        // Λ(2) = 5·4 = 20.
        assert_eq!(schedule.len(), 20);
        assert!(schedule.iter().all(|t| t < Duration::from_secs(2)));
    }

    proptest! {
        #[test]
        fn due_times_increase_and_stay_inside_the_run(
            stages in prop::collection::vec((0.0f64..500.0, 0.0f64..500.0, 1u64..4), 1..5),
            duration_ms in 100u64..8_000,
        ) {
            let stages = stages
                .into_iter()
                .map(|(from, to, secs)| stage(from, to, secs))
                .collect();
            let schedule = ramp(stages, duration_ms);
            let duration = Duration::from_millis(duration_ms);
            let mut previous = None;
            for due in schedule.iter() {
                prop_assert!(due < duration, "{due:?} not before {duration:?}");
                if let Some(previous) = previous {
                    prop_assert!(due >= previous, "{due:?} < {previous:?}");
                }
                previous = Some(due);
            }
            prop_assert!(schedule.len() as f64 <= schedule.offered_by(duration) + COUNT_EPSILON);
            prop_assert!(schedule.len() as f64 > schedule.offered_by(duration) - 1.0);
        }
    }
}
