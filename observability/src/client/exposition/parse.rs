//! The exposition text parser: one pass over the lines, then per-family checks; every error
//! carries the line it is about.
//!
//! Strictness follows the text format 0.0.4 spec and Go's `expfmt` parser: names and label
//! names must be valid, label values use only the `\\`, `\"`, `\n` escapes, `# HELP`/`# TYPE`
//! appear at most once per family and before its samples, a family's lines form one group,
//! a name + label set appears once, and histogram buckets are increasing, cumulative and end
//! in `le="+Inf"` equal to `_count`. Blank lines and other `#` comments are ignored; blanks
//! and tabs separate tokens.

use std::collections::{HashMap, HashSet};

use super::super::error::{ParseError, ParseErrorKind};
use super::line::{
    Cursor, Dialect, is_blank, metric_name, parse_float, parse_sample, trailing, unescape_help,
};
use super::{MetricFamily, MetricSet, MetricType, Sample, render_series};

/// A family's declared type while parsing; OpenMetrics `info` only becomes a gauge at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
    Info,
}

#[derive(Debug, Clone, Copy)]
enum Meta {
    Help,
    Type,
    Unit,
}

/// A family being read, with the line of each sample for later checks.
struct Builder {
    name: String,
    help: Option<String>,
    unit: Option<String>,
    kind: Option<Kind>,
    samples: Vec<Sample>,
    lines: Vec<usize>,
}

struct Parser {
    dialect: Dialect,
    families: Vec<Builder>,
    /// Every family name started so far, to catch a family whose lines are split.
    seen: HashMap<String, Kind>,
    series: HashSet<String>,
    eof: bool,
}

pub(super) fn parse(text: &str) -> Result<MetricSet, ParseError> {
    let dialect = if text.split('\n').any(|line| line == "# EOF") {
        Dialect::OpenMetrics
    } else {
        Dialect::Text
    };
    let mut parser = Parser {
        dialect,
        families: Vec::new(),
        seen: HashMap::new(),
        series: HashSet::new(),
        eof: false,
    };
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.trim_start_matches(is_blank);
        parser.line(index + 1, line).map_err(|kind| ParseError {
            line: index + 1,
            kind,
        })?;
    }
    let families = parser
        .families
        .into_iter()
        .map(|builder| finish(builder, dialect))
        .collect::<Result<_, _>>()?;
    Ok(MetricSet { families })
}

// === impl Parser ===

impl Parser {
    fn line(&mut self, number: usize, line: &str) -> Result<(), ParseErrorKind> {
        if line.trim_end_matches(is_blank).is_empty() {
            return Ok(());
        }
        if self.eof {
            return Err(ParseErrorKind::ContentAfterEof);
        }
        match line.strip_prefix('#') {
            Some(comment) => self.comment(comment),
            None => self.sample(number, line),
        }
    }

    fn comment(&mut self, comment: &str) -> Result<(), ParseErrorKind> {
        let mut c = Cursor::new(comment);
        c.skip_blanks();
        let meta = match (c.take_until(is_blank), self.dialect) {
            ("HELP", _) => Meta::Help,
            ("TYPE", _) => Meta::Type,
            ("UNIT", Dialect::OpenMetrics) => Meta::Unit,
            ("EOF", Dialect::OpenMetrics) if c.rest().trim_matches(is_blank).is_empty() => {
                self.eof = true;
                return Ok(());
            }
            _ => return Ok(()), // an ordinary comment
        };
        c.skip_blanks();
        let name = metric_name(c.take_until(is_blank))?;
        let has_text = c.skip_blanks();
        let dialect = self.dialect;
        let builder = self.metadata_target(name, meta)?;
        match meta {
            Meta::Help => {
                let text = if has_text {
                    unescape_help(c.rest(), dialect)?
                } else {
                    String::new()
                };
                builder.help = Some(text);
            }
            Meta::Type => {
                let kind = parse_kind(c.take_until(is_blank), dialect)?;
                trailing(&mut c)?;
                builder.kind = Some(kind);
                self.seen.insert(name.to_owned(), kind);
            }
            Meta::Unit => {
                builder.unit = Some(c.take_until(is_blank).to_owned());
                trailing(&mut c)?;
            }
        }
        Ok(())
    }

    /// The family a `# HELP`/`# TYPE`/`# UNIT` line for `name` applies to.
    fn metadata_target(&mut self, name: &str, meta: Meta) -> Result<&mut Builder, ParseErrorKind> {
        let what = match meta {
            Meta::Help => "HELP",
            Meta::Type => "TYPE",
            Meta::Unit => "UNIT",
        };
        if self.families.last().is_none_or(|b| b.name != name) {
            if self.seen.contains_key(name) {
                return Err(ParseErrorKind::SplitFamily(name.to_owned()));
            }
            self.start(name);
        }
        let builder = self
            .families
            .last_mut()
            .ok_or(ParseErrorKind::SplitFamily(name.to_owned()))?;
        let family = builder.name.clone();
        if !builder.samples.is_empty() {
            return Err(ParseErrorKind::MetadataAfterSamples { what, family });
        }
        let duplicate = match meta {
            Meta::Help => builder.help.is_some(),
            Meta::Type => builder.kind.is_some(),
            Meta::Unit => builder.unit.is_some(),
        };
        if duplicate {
            return Err(ParseErrorKind::DuplicateMetadata { what, family });
        }
        Ok(builder)
    }

    fn start(&mut self, name: &str) {
        self.seen.insert(name.to_owned(), Kind::Untyped);
        self.families.push(Builder {
            name: name.to_owned(),
            help: None,
            unit: None,
            kind: None,
            samples: Vec::new(),
            lines: Vec::new(),
        });
    }

    fn sample(&mut self, number: usize, line: &str) -> Result<(), ParseErrorKind> {
        let sample = parse_sample(line, self.dialect)?;
        let dialect = self.dialect;
        let fits = |b: &Builder| {
            accepts(
                b.kind.unwrap_or(Kind::Untyped),
                &b.name,
                &sample.name,
                dialect,
            )
        };
        if !self.families.last().is_some_and(fits) {
            if let Some(owner) = self.owner(&sample.name) {
                return Err(ParseErrorKind::SplitFamily(owner));
            }
            self.start(&sample.name);
        }
        let key = render_series(&sample.name, &sample.labels);
        let builder = self
            .families
            .last_mut()
            .ok_or(ParseErrorKind::SplitFamily(key.clone()))?;
        let suffix = sample.name.strip_prefix(builder.name.as_str());
        match (builder.kind, suffix) {
            (Some(Kind::Histogram), Some("_bucket")) => numeric_label(&sample, "le")?,
            (Some(Kind::Summary), Some("")) => numeric_label(&sample, "quantile")?,
            _ => {}
        }
        if !self.series.insert(key.clone()) {
            return Err(ParseErrorKind::DuplicateSeries(key));
        }
        builder.samples.push(sample);
        builder.lines.push(number);
        Ok(())
    }

    /// An earlier family that `sample_name` belongs to, if any.
    fn owner(&self, sample_name: &str) -> Option<String> {
        if self.seen.contains_key(sample_name) {
            return Some(sample_name.to_owned());
        }
        ["_bucket", "_sum", "_count", "_total", "_created", "_info"]
            .iter()
            .filter_map(|suffix| sample_name.strip_suffix(suffix))
            .find(|base| {
                self.seen
                    .get(*base)
                    .is_some_and(|kind| accepts(*kind, base, sample_name, self.dialect))
            })
            .map(str::to_owned)
    }
}

/// Whether a sample named `name` belongs to family `family` of type `kind`.
fn accepts(kind: Kind, family: &str, name: &str, dialect: Dialect) -> bool {
    let Some(suffix) = name.strip_prefix(family) else {
        return false;
    };
    let om = dialect == Dialect::OpenMetrics;
    match kind {
        Kind::Counter if om => matches!(suffix, "_total" | "_created"),
        Kind::Counter | Kind::Gauge | Kind::Untyped => suffix.is_empty(),
        Kind::Info => suffix == "_info",
        Kind::Histogram => {
            matches!(suffix, "_bucket" | "_sum" | "_count") || (om && suffix == "_created")
        }
        Kind::Summary => matches!(suffix, "" | "_sum" | "_count") || (om && suffix == "_created"),
    }
}

fn parse_kind(token: &str, dialect: Dialect) -> Result<Kind, ParseErrorKind> {
    Ok(match (token, dialect) {
        ("counter", _) => Kind::Counter,
        ("gauge", _) => Kind::Gauge,
        ("histogram", _) => Kind::Histogram,
        ("summary", _) => Kind::Summary,
        ("untyped", Dialect::Text) | ("unknown", Dialect::OpenMetrics) => Kind::Untyped,
        ("info", Dialect::OpenMetrics) => Kind::Info,
        _ => return Err(ParseErrorKind::UnknownType(token.to_owned())),
    })
}

fn numeric_label(sample: &Sample, label: &'static str) -> Result<(), ParseErrorKind> {
    let value = sample
        .labels
        .get(label)
        .ok_or_else(|| ParseErrorKind::MissingLabel {
            sample: sample.name.clone(),
            label,
        })?;
    match parse_float(value) {
        Some(v) if !v.is_nan() => Ok(()),
        _ => Err(ParseErrorKind::NonNumericLabel {
            label,
            value: value.clone(),
        }),
    }
}

/// Checks a finished family and normalises OpenMetrics naming (see the module docs).
fn finish(builder: Builder, dialect: Dialect) -> Result<MetricFamily, ParseError> {
    let kind = builder.kind.unwrap_or(Kind::Untyped);
    if kind == Kind::Histogram {
        super::histogram::validate(&builder.name, &builder.samples, &builder.lines)?;
    }
    let mut name = builder.name;
    let mut samples = builder.samples;
    if dialect == Dialect::OpenMetrics {
        let created = format!("{name}_created");
        samples.retain(|s| s.name != created);
        match kind {
            Kind::Counter => name.push_str("_total"),
            Kind::Info => name.push_str("_info"),
            _ => {}
        }
    }
    Ok(MetricFamily {
        name,
        help: builder.help,
        unit: builder.unit,
        kind: match kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge | Kind::Info => MetricType::Gauge,
            Kind::Histogram => MetricType::Histogram,
            Kind::Summary => MetricType::Summary,
            Kind::Untyped => MetricType::Untyped,
        },
        samples,
    })
}
