//! Prometheus exposition text as a typed model: families of samples, lookups, histogram
//! quantiles and counter deltas.
//!
//! [`MetricSet::parse`] reads text format 0.0.4 strictly, and the OpenMetrics 1.0 text that
//! `prometheus_client::encoding::text::encode` emits. A document is OpenMetrics when it has a
//! `# EOF` line (which OpenMetrics requires last and 0.0.4 never emits); the parsed model is
//! then normalised to what Prometheus stores, so lookups do not depend on the dialect:
//!
//! - a `counter` family `x` (samples `x_total`) becomes family `x_total`;
//! - an `info` family `x` (samples `x_info`) becomes gauge family `x_info`;
//! - `unknown` becomes [`MetricType::Untyped`];
//! - `_created` samples are dropped (start times; useless as drill evidence);
//! - timestamps (seconds) are stored as milliseconds, and exemplars are kept;
//! - `# UNIT` is kept in [`MetricFamily::unit`]; `stateset` and `gaugehistogram` are rejected.
//!
//! [`MetricSet`]'s `Display` writes text 0.0.4 (without units and exemplars, which that format
//! cannot carry); parsing that output gives back an equal set.

mod diff;
mod histogram;
mod line;
mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use diff::diff;
pub use histogram::{Bucket, Histogram};

use super::error::{LookupError, ParseError};

/// Label names to values.
pub type Labels = BTreeMap<String, String>;

/// The parsed content of one exposition document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSet {
    /// Families in document order.
    pub families: Vec<MetricFamily>,
}

/// A metric family: the samples under one `# TYPE`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// Family name (for histograms and summaries, without `_bucket`/`_sum`/`_count`).
    pub name: String,
    /// `# HELP` text, unescaped.
    pub help: Option<String>,
    /// OpenMetrics `# UNIT`.
    pub unit: Option<String>,
    /// `# TYPE`, [`MetricType::Untyped`] when absent.
    pub kind: MetricType,
    /// Samples in document order.
    pub samples: Vec<Sample>,
}

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// Monotonic count.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Cumulative buckets plus `_sum` and `_count`.
    Histogram,
    /// Quantiles plus `_sum` and `_count`.
    Summary,
    /// No type given (OpenMetrics `unknown`).
    Untyped,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Full sample name (e.g. `x_bucket`, `x_total`).
    pub name: String,
    /// Labels (for buckets including `le`, for summaries `quantile`).
    pub labels: Labels,
    /// The value; may be NaN or ±Inf.
    pub value: f64,
    /// Optional timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// OpenMetrics exemplar.
    pub exemplar: Option<Exemplar>,
}

/// An OpenMetrics exemplar (`# {trace_id="…"} 0.25 1700000000.5`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Exemplar labels.
    pub labels: Labels,
    /// Exemplar value.
    pub value: f64,
    /// Optional timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
}

// === impl MetricSet ===

impl MetricSet {
    /// Parses exposition text (see the module docs for the dialects).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse::parse(text)
    }

    /// The family named `name` (for OpenMetrics counters, the `_total` name).
    pub fn family(&self, name: &str) -> Option<&MetricFamily> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Samples named `name` whose labels include every `(label, value)` of `labels`.
    pub fn samples<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.families
            .iter()
            .flat_map(|f| &f.samples)
            .filter(move |s| s.name == name && matches_labels(&s.labels, labels))
    }

    /// The value of the one sample matching `name` and `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Result<f64, LookupError> {
        let mut matches = self.samples(name, labels);
        match (matches.next(), matches.next()) {
            (Some(sample), None) => Ok(sample.value),
            (None, _) => Err(not_found(name, labels)),
            (Some(_), Some(_)) => Err(LookupError::Ambiguous {
                name: name.to_owned(),
                labels: render_filter(labels),
                count: 2 + matches.count(),
            }),
        }
    }

    /// The sum over all samples matching `name` and `labels` (at least one must match).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Result<f64, LookupError> {
        let mut matched = false;
        let sum = self.samples(name, labels).fold(0.0, |acc, s| {
            matched = true;
            acc + s.value
        });
        if matched {
            Ok(sum)
        } else {
            Err(not_found(name, labels))
        }
    }
}

impl FromStr for MetricSet {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, ParseError> {
        Self::parse(text)
    }
}

/// Writes text format 0.0.4.
impl fmt::Display for MetricSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.families
            .iter()
            .try_for_each(|family| write!(f, "{family}"))
    }
}

// === impl MetricFamily ===

/// Writes text format 0.0.4: `# HELP` (if any), `# TYPE`, then one line per sample.
impl fmt::Display for MetricFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(help) = &self.help {
            let help = help.replace('\\', "\\\\").replace('\n', "\\n");
            writeln!(f, "# HELP {} {help}", self.name)?;
        }
        writeln!(f, "# TYPE {} {}", self.name, self.kind)?;
        for sample in &self.samples {
            write!(f, "{}", render_series(&sample.name, &sample.labels))?;
            write!(f, " {}", format_value(sample.value))?;
            if let Some(ts) = sample.timestamp_ms {
                write!(f, " {ts}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

// === impl MetricType ===

impl MetricType {
    /// The `# TYPE` keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn matches_labels(labels: &Labels, filter: &[(&str, &str)]) -> bool {
    filter
        .iter()
        .all(|(k, v)| labels.get(*k).is_some_and(|actual| actual == v))
}

fn not_found(name: &str, labels: &[(&str, &str)]) -> LookupError {
    LookupError::NotFound {
        name: name.to_owned(),
        labels: render_filter(labels),
    }
}

fn render_filter(labels: &[(&str, &str)]) -> String {
    let labels: Labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    render_series("", &labels)
}

/// `name{k="v",…}` with label values escaped; just `name` without labels.
pub(crate) fn render_series(name: &str, labels: &Labels) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let body: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{name}{{{}}}", body.join(","))
}

/// Shortest text that parses back to the same float, in a form Go's `ParseFloat` accepts:
/// plain decimals for everyday magnitudes, exponent form for the extremes.
pub(crate) fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if value == 0.0 || (1e-4..1e15).contains(&value.abs()) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_value_round_trips_extremes() {
        for v in [
            0.0,
            -0.0,
            1.5,
            42.0,
            1e-300,
            5e-324,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            123_456.789,
        ] {
            let text = format_value(v);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{v} -> {text}"
            );
        }
        assert_eq!(format_value(42.0), "42");
        assert_eq!(format_value(1e300), "1e300");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }
}
