//! Tokenising one line of exposition text: metric and label names, label sets with their
//! escapes, values, timestamps, OpenMetrics exemplars and `# HELP` docstrings.

use super::super::error::ParseErrorKind;
use super::{Exemplar, Labels, Sample};

/// Which text format a document is in; decides escapes, types and timestamp units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// Text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text (detected by its `# EOF` line).
    OpenMetrics,
}

/// A sample line: `name[{labels}] value [timestamp] [# exemplar]`.
pub(super) fn parse_sample(line: &str, dialect: Dialect) -> Result<Sample, ParseErrorKind> {
    let mut c = Cursor::new(line);
    let name = metric_name(c.take_until(|ch| is_blank(ch) || ch == '{'))?.to_owned();
    c.skip_blanks();
    let labels = if c.eat('{') {
        parse_labels(&mut c)?
    } else {
        Labels::new()
    };
    c.skip_blanks();
    let text = c.take_until(is_blank);
    if text.is_empty() {
        return Err(ParseErrorKind::MissingValue);
    }
    let value = parse_float(text).ok_or_else(|| ParseErrorKind::InvalidValue(text.to_owned()))?;
    c.skip_blanks();
    let om = dialect == Dialect::OpenMetrics;
    let mut timestamp_ms = None;
    if !(c.at_end() || om && c.peek() == Some('#')) {
        let text = c.take_until(is_blank);
        timestamp_ms = Some(
            parse_timestamp(text, dialect)
                .ok_or_else(|| ParseErrorKind::InvalidTimestamp(text.to_owned()))?,
        );
        c.skip_blanks();
    }
    let exemplar = if om && c.eat('#') {
        Some(parse_exemplar(&mut c)?)
    } else {
        None
    };
    trailing(&mut c)?;
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
        exemplar,
    })
}

/// After `{`: `name="value"` pairs separated by `,` (a trailing `,` is allowed), then `}`.
fn parse_labels(c: &mut Cursor<'_>) -> Result<Labels, ParseErrorKind> {
    let mut labels = Labels::new();
    loop {
        c.skip_blanks();
        if c.at_end() {
            return Err(ParseErrorKind::MalformedLabels("label set is not closed"));
        }
        if c.eat('}') {
            return Ok(labels);
        }
        let name = c.take_until(|ch| is_blank(ch) || matches!(ch, '=' | ',' | '}' | '"'));
        if !is_label_name(name) {
            return Err(ParseErrorKind::InvalidLabelName(name.to_owned()));
        }
        c.skip_blanks();
        if !c.eat('=') {
            return Err(ParseErrorKind::MalformedLabels(
                "expected '=' after a label name",
            ));
        }
        c.skip_blanks();
        if !c.eat('"') {
            return Err(ParseErrorKind::MalformedLabels(
                "expected '\"' to open a label value",
            ));
        }
        let value = quoted(c)?;
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(ParseErrorKind::DuplicateLabel(name.to_owned()));
        }
        c.skip_blanks();
        if c.eat('}') {
            return Ok(labels);
        }
        if !c.eat(',') {
            return Err(ParseErrorKind::MalformedLabels(
                "expected ',' or '}' after a label value",
            ));
        }
    }
}

/// A label value after its opening quote, through the closing quote.
fn quoted(c: &mut Cursor<'_>) -> Result<String, ParseErrorKind> {
    let mut out = String::new();
    loop {
        match c.bump() {
            None => return Err(ParseErrorKind::UnterminatedLabelValue),
            Some('"') => return Ok(out),
            Some('\\') => match c.bump() {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                Some(other) => return Err(ParseErrorKind::InvalidEscape(format!("\\{other}"))),
                None => return Err(ParseErrorKind::UnterminatedLabelValue),
            },
            Some(ch) => out.push(ch),
        }
    }
}

/// After the `#` that follows a value: ` {labels} value [timestamp]`.
fn parse_exemplar(c: &mut Cursor<'_>) -> Result<Exemplar, ParseErrorKind> {
    if !c.skip_blanks() || !c.eat('{') {
        return Err(ParseErrorKind::InvalidExemplar("expected ' {' after '#'"));
    }
    let labels = parse_labels(c)?;
    c.skip_blanks();
    let value = parse_float(c.take_until(is_blank))
        .ok_or(ParseErrorKind::InvalidExemplar("invalid value"))?;
    c.skip_blanks();
    let timestamp_ms = if c.at_end() {
        None
    } else {
        let text = c.take_until(is_blank);
        Some(
            parse_timestamp(text, Dialect::OpenMetrics)
                .ok_or(ParseErrorKind::InvalidExemplar("invalid timestamp"))?,
        )
    };
    Ok(Exemplar {
        labels,
        value,
        timestamp_ms,
    })
}

pub(super) fn unescape_help(text: &str, dialect: Dialect) -> Result<String, ParseErrorKind> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if dialect == Dialect::OpenMetrics => out.push('"'),
            Some(other) => return Err(ParseErrorKind::InvalidEscape(format!("\\{other}"))),
            None => return Err(ParseErrorKind::InvalidEscape("\\".to_owned())),
        }
    }
    Ok(out)
}

pub(super) fn trailing(c: &mut Cursor<'_>) -> Result<(), ParseErrorKind> {
    c.skip_blanks();
    if c.at_end() {
        Ok(())
    } else {
        Err(ParseErrorKind::TrailingText(c.rest().to_owned()))
    }
}

/// Go `strconv.ParseFloat` syntax as far as it matters here: decimals, exponents, `NaN`,
/// `Inf`/`Infinity` with optional sign, any case.
pub(super) fn parse_float(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// 0.0.4: integer milliseconds. OpenMetrics: float seconds, stored as milliseconds.
fn parse_timestamp(text: &str, dialect: Dialect) -> Option<i64> {
    match dialect {
        Dialect::Text => text.parse().ok(),
        Dialect::OpenMetrics => {
            let ms = (text.parse::<f64>().ok()? * 1000.0).round();
            // i64 holds ±9.22e18; anything beyond is not a real timestamp.
            (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
        }
    }
}

pub(super) fn metric_name(token: &str) -> Result<&str, ParseErrorKind> {
    let mut chars = token.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(token)
    } else {
        Err(ParseErrorKind::InvalidMetricName(token.to_owned()))
    }
}

fn is_label_name(token: &str) -> bool {
    let mut chars = token.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn is_blank(ch: char) -> bool {
    ch == ' ' || ch == '\t'
}

/// A position in one line.
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

// === impl Cursor ===

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    pub(super) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += ch.len_utf8();
        Some(ch)
    }

    pub(super) fn eat(&mut self, expected: char) -> bool {
        let hit = self.peek() == Some(expected);
        if hit {
            self.pos += expected.len_utf8();
        }
        hit
    }

    /// Skips blanks and tabs; true if there were any.
    pub(super) fn skip_blanks(&mut self) -> bool {
        !self.take_until(|ch| !is_blank(ch)).is_empty()
    }

    pub(super) fn take_until(&mut self, stop: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(stop).unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or_default()
    }
}
