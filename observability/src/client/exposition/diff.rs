//! Counter deltas between two scrapes of one target: what happened during a drill interval.

use std::collections::HashMap;

use super::histogram::without_label;
use super::{Labels, MetricFamily, MetricSet, MetricType, Sample};

/// How much every cumulative series grew from `before` to `after`, as a [`MetricSet`] so the
/// same lookups (and [`MetricSet::histogram`] quantiles over just the interval) apply.
///
/// Included: counter samples, histogram buckets/`_sum`/`_count`, summary `_sum`/`_count`.
/// Gauges, untyped families and summary quantiles have no meaningful delta and are left
/// out. Families come from `after`, so series that vanished are dropped.
///
/// - A series absent from `before` counts from 0: it was created during the interval
///   (client libraries create labelled series on first use).
/// - A series that went down was reset (process restart); its delta is its `after` value,
///   as Prometheus's `increase()` assumes. Histogram and summary series reset as a whole
///   when any of their samples went down, so buckets stay consistent with each other.
pub fn diff(before: &MetricSet, after: &MetricSet) -> MetricSet {
    let previous: HashMap<(&str, &Labels), f64> = before
        .families
        .iter()
        .flat_map(|f| &f.samples)
        .map(|s| ((s.name.as_str(), &s.labels), s.value))
        .collect();
    let prior = |s: &Sample| previous.get(&(s.name.as_str(), &s.labels)).copied();
    let delta = |s: &Sample, reset: bool| match prior(s) {
        Some(b) if !reset && s.value >= b => s.value - b,
        _ => s.value,
    };

    let mut families = Vec::new();
    for family in &after.families {
        let samples: Vec<Sample> = match family.kind {
            MetricType::Counter => family
                .samples
                .iter()
                .map(|s| delta_sample(s, delta(s, false)))
                .collect(),
            MetricType::Histogram | MetricType::Summary => {
                // Summary quantiles carry the family's bare name; they are not cumulative.
                let cumulative: Vec<&Sample> = family
                    .samples
                    .iter()
                    .filter(|s| family.kind == MetricType::Histogram || s.name != family.name)
                    .collect();
                let series_of = |s: &Sample| without_label(&s.labels, "le");
                let reset: Vec<Labels> = cumulative
                    .iter()
                    .filter(|s| prior(s).is_some_and(|b| s.value < b))
                    .map(|s| series_of(s))
                    .collect();
                cumulative
                    .iter()
                    .map(|s| delta_sample(s, delta(s, reset.contains(&series_of(s)))))
                    .collect()
            }
            MetricType::Gauge | MetricType::Untyped => continue,
        };
        families.push(MetricFamily {
            name: family.name.clone(),
            help: family.help.clone(),
            unit: family.unit.clone(),
            kind: family.kind,
            samples,
        });
    }
    MetricSet { families }
}

fn delta_sample(sample: &Sample, value: f64) -> Sample {
    Sample {
        name: sample.name.clone(),
        labels: sample.labels.clone(),
        value,
        timestamp_ms: None,
        exemplar: None,
    }
}
