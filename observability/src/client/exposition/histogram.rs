//! Histogram views of parsed families: the bucket rules the parser enforces, a summed bucket
//! list for a label filter, and quantiles estimated exactly as PromQL's `histogram_quantile`.

use super::super::error::{LookupError, ParseError, ParseErrorKind};
use super::line::parse_float;
use super::{Labels, MetricSet, MetricType, Sample, matches_labels, not_found, render_series};

/// One cumulative bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Inclusive upper bound (`le`); the last bucket's is `+Inf`.
    pub upper_bound: f64,
    /// Observations ≤ `upper_bound`.
    pub cumulative_count: f64,
}

/// A classic histogram: buckets in increasing `le` order, `_sum` and `_count`.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Buckets as exposed (cumulative).
    pub buckets: Vec<Bucket>,
    /// `_count` (the `+Inf` bucket when `_count` is missing).
    pub count: f64,
    /// `_sum` (NaN when missing).
    pub sum: f64,
}

// === impl Histogram ===

impl Histogram {
    /// The `q`-quantile (0 ≤ q ≤ 1), computed as Prometheus 2.42's `histogram_quantile` does
    /// for classic buckets, so a local estimate equals what a PromQL objective reports:
    ///
    /// - buckets are sorted, equal bounds merged, and counts made monotonic (max so far);
    /// - NaN without a `+Inf` bucket, with fewer than two buckets, or with no observations;
    ///   `-Inf` for q < 0, `+Inf` for q > 1;
    /// - the rank `q × count` is located in the first bucket whose cumulative count reaches
    ///   it, and interpolated linearly inside that bucket, assuming evenly spread
    ///   observations; the lowest bucket starts at 0 (or is returned as is when its bound is
    ///   ≤ 0); a rank in the `+Inf` bucket yields the highest finite bound.
    pub fn quantile(&self, q: f64) -> f64 {
        if q.is_nan() {
            return f64::NAN;
        }
        if q < 0.0 {
            return f64::NEG_INFINITY;
        }
        if q > 1.0 {
            return f64::INFINITY;
        }
        let mut sorted: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|b| (b.upper_bound, b.cumulative_count))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        if sorted.last().is_none_or(|b| b.0 != f64::INFINITY) {
            return f64::NAN;
        }
        let mut buckets: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
        for (bound, count) in sorted {
            match buckets.last_mut() {
                Some(last) if last.0 == bound => last.1 += count,
                _ => buckets.push((bound, count)),
            }
        }
        let mut max = f64::NEG_INFINITY;
        for bucket in &mut buckets {
            max = max.max(bucket.1);
            bucket.1 = max;
        }
        let n = buckets.len();
        let (Some(&(_, observations)), true) = (buckets.last(), n >= 2) else {
            return f64::NAN;
        };
        if observations == 0.0 {
            return f64::NAN;
        }
        let rank = q * observations;
        let finite = buckets.get(..n - 1).unwrap_or_default();
        let Some(b) = finite.iter().position(|&(_, count)| count >= rank) else {
            return buckets.get(n - 2).map_or(f64::NAN, |bucket| bucket.0);
        };
        let Some(&(end, count)) = buckets.get(b) else {
            return f64::NAN;
        };
        if b == 0 && end <= 0.0 {
            return end;
        }
        let (start, below) = b
            .checked_sub(1)
            .and_then(|i| buckets.get(i))
            .copied()
            .unwrap_or((0.0, 0.0));
        start + (end - start) * ((rank - below) / (count - below))
    }
}

// === impl MetricSet ===

impl MetricSet {
    /// The histogram family `name` (without `_bucket`), restricted to series whose labels
    /// include `labels` and summed bucket by bucket across them (like `sum by (le)`). The
    /// matched series must share one bucket layout.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Result<Histogram, LookupError> {
        let family = self.family(name).ok_or_else(|| not_found(name, labels))?;
        if family.kind != MetricType::Histogram {
            return Err(LookupError::NotAHistogram(name.to_owned()));
        }
        let (bucket, sum, count) = (
            format!("{name}_bucket"),
            format!("{name}_sum"),
            format!("{name}_count"),
        );
        let mut series: Vec<Series> = Vec::new();
        for sample in family
            .samples
            .iter()
            .filter(|s| matches_labels(&s.labels, labels))
        {
            let key = without_label(&sample.labels, "le");
            let index = series
                .iter()
                .position(|s| s.labels == key)
                .unwrap_or_else(|| {
                    series.push(Series {
                        labels: key,
                        buckets: Vec::new(),
                        sum: None,
                        count: None,
                    });
                    series.len() - 1
                });
            let Some(entry) = series.get_mut(index) else {
                continue;
            };
            if sample.name == bucket {
                let bound = sample.labels.get("le").and_then(|le| parse_float(le));
                entry.buckets.push(Bucket {
                    upper_bound: bound.unwrap_or(f64::NAN),
                    cumulative_count: sample.value,
                });
            } else if sample.name == sum {
                entry.sum = Some(sample.value);
            } else if sample.name == count {
                entry.count = Some(sample.value);
            }
        }
        let mut series = series.into_iter();
        let first = series.next().ok_or_else(|| not_found(name, labels))?;
        let mut total = Histogram {
            count: first.count(),
            sum: first.sum.unwrap_or(f64::NAN),
            buckets: first.buckets,
        };
        for other in series {
            let same_layout = other.buckets.len() == total.buckets.len()
                && other
                    .buckets
                    .iter()
                    .zip(&total.buckets)
                    .all(|(a, b)| a.upper_bound == b.upper_bound);
            if !same_layout {
                return Err(LookupError::MismatchedBuckets(name.to_owned()));
            }
            for (into, from) in total.buckets.iter_mut().zip(&other.buckets) {
                into.cumulative_count += from.cumulative_count;
            }
            total.count += other.count();
            total.sum += other.sum.unwrap_or(f64::NAN);
        }
        Ok(total)
    }
}

/// One labelled series of a histogram family while it is being collected.
struct Series {
    labels: Labels,
    buckets: Vec<Bucket>,
    sum: Option<f64>,
    count: Option<f64>,
}

impl Series {
    /// `_count`, or the `+Inf` bucket when the series has no `_count`.
    fn count(&self) -> f64 {
        self.count
            .or_else(|| self.buckets.last().map(|b| b.cumulative_count))
            .unwrap_or(f64::NAN)
    }
}

pub(super) fn without_label(labels: &Labels, name: &str) -> Labels {
    labels
        .iter()
        .filter(|(k, _)| *k != name)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The bucket rules of a histogram family; samples and their line numbers run in parallel.
pub(super) fn validate(
    family: &str,
    samples: &[Sample],
    lines: &[usize],
) -> Result<(), ParseError> {
    struct Check {
        labels: Labels,
        last_bucket: Option<(f64, f64)>,
        inf: Option<f64>,
        count: Option<(f64, usize)>,
        last_line: usize,
    }
    let invalid = |line: usize, labels: &Labels, reason: &'static str| ParseError {
        line,
        kind: ParseErrorKind::InvalidHistogram {
            series: render_series(family, labels),
            reason,
        },
    };
    let (bucket_name, count_name) = (format!("{family}_bucket"), format!("{family}_count"));
    let mut checks: Vec<Check> = Vec::new();
    for (sample, &line) in samples.iter().zip(lines) {
        let labels = without_label(&sample.labels, "le");
        let check = match checks.iter_mut().position(|c| c.labels == labels) {
            Some(i) => checks.get_mut(i),
            None => {
                checks.push(Check {
                    labels,
                    last_bucket: None,
                    inf: None,
                    count: None,
                    last_line: line,
                });
                checks.last_mut()
            }
        };
        let Some(check) = check else { continue };
        check.last_line = line;
        if sample.name == bucket_name {
            let bound = sample
                .labels
                .get("le")
                .and_then(|le| parse_float(le))
                .unwrap_or(f64::NAN);
            if let Some((last_bound, last_count)) = check.last_bucket {
                if bound.partial_cmp(&last_bound) != Some(std::cmp::Ordering::Greater) {
                    return Err(invalid(
                        line,
                        &check.labels,
                        "bucket bounds are not increasing",
                    ));
                }
                if sample.value < last_count {
                    return Err(invalid(line, &check.labels, "bucket counts decrease"));
                }
            }
            check.last_bucket = Some((bound, sample.value));
            if bound == f64::INFINITY {
                check.inf = Some(sample.value);
            }
        } else if sample.name == count_name {
            check.count = Some((sample.value, line));
        }
    }
    for check in &checks {
        let Some(inf) = check.inf else {
            return Err(invalid(
                check.last_line,
                &check.labels,
                "no le=\"+Inf\" bucket",
            ));
        };
        if let Some((count, line)) = check.count
            && count != inf
            && !(count.is_nan() && inf.is_nan())
        {
            return Err(invalid(
                line,
                &check.labels,
                "_count differs from the le=\"+Inf\" bucket",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(buckets: &[(f64, f64)]) -> Histogram {
        Histogram {
            buckets: buckets
                .iter()
                .map(|&(upper_bound, cumulative_count)| Bucket {
                    upper_bound,
                    cumulative_count,
                })
                .collect(),
            count: buckets.last().map_or(0.0, |b| b.1),
            sum: 0.0,
        }
    }

    #[test]
    fn quantile_interpolates_linearly_within_the_bucket() {
        // 10 observations ≤ 0.1, 10 more ≤ 0.5: the median is the top of the first bucket,
        // the 0.75 quantile half-way through the second.
        let h = histogram(&[(0.1, 10.0), (0.5, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(h.quantile(0.5), 0.1);
        assert!((h.quantile(0.75) - 0.3).abs() < 1e-12);
        assert!((h.quantile(0.25) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn quantile_in_the_inf_bucket_is_the_highest_finite_bound() {
        let h = histogram(&[(0.1, 1.0), (0.5, 2.0), (f64::INFINITY, 10.0)]);
        assert_eq!(h.quantile(0.99), 0.5);
    }

    #[test]
    fn quantile_edge_cases_follow_prometheus() {
        let h = histogram(&[(0.1, 1.0), (f64::INFINITY, 1.0)]);
        assert_eq!(h.quantile(-0.1), f64::NEG_INFINITY);
        assert_eq!(h.quantile(1.1), f64::INFINITY);
        assert!(h.quantile(f64::NAN).is_nan());
        assert!(
            histogram(&[(0.1, 1.0), (1.0, 1.0)]).quantile(0.5).is_nan(),
            "no +Inf bucket"
        );
        assert!(
            histogram(&[(f64::INFINITY, 3.0)]).quantile(0.5).is_nan(),
            "one bucket"
        );
        assert!(
            histogram(&[(0.1, 0.0), (f64::INFINITY, 0.0)])
                .quantile(0.5)
                .is_nan(),
            "empty"
        );
        // A non-positive lowest bound is returned as is rather than interpolated from 0.
        assert_eq!(
            histogram(&[(-1.0, 5.0), (f64::INFINITY, 5.0)]).quantile(0.5),
            -1.0
        );
    }

    #[test]
    fn quantile_repairs_non_monotonic_and_merges_equal_bounds() {
        // The dip at 0.5 is raised to 10 (max so far) before ranking.
        let h = histogram(&[(0.1, 10.0), (0.5, 5.0), (1.0, 20.0), (f64::INFINITY, 20.0)]);
        assert!((h.quantile(0.75) - 0.75).abs() < 1e-12);
        let merged = histogram(&[(0.1, 5.0), (0.1, 5.0), (1.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(merged.quantile(0.5), 0.1);
    }
}
