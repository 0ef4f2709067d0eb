//! Located problems: one [`Diagnostic`] per problem, collected into [`Diagnostics`].

use std::fmt;

use crate::{FieldPath, Location};

/// One problem in a document: where it is, what is wrong, what was received, what is allowed.
///
/// Displays on one line (see the [crate docs](crate#diagnostic-format)):
///
/// ```text
/// gateway.yaml:12:7: routes[2].upstream: unknown upstream (got "users2"; expected one of: users, orders)
/// ```
///
/// The fields are public so callers can fill them directly; the builder methods
/// ([`value`](Diagnostic::value), [`expected`](Diagnostic::expected),
/// [`hint`](Diagnostic::hint)) read better in a chain, usually started from
/// [`Document::diagnostic`](crate::Document::diagnostic), which fills in the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The name of the document, usually its file name.
    pub source: String,
    /// Where the offending value starts, if known.
    pub location: Option<Location>,
    /// The path of the offending value.
    pub path: FieldPath,
    /// What is wrong, lowercase, without a final period (e.g. `unknown upstream`).
    pub problem: String,
    /// The value received, rendered as written: strings quoted (`"users2"`), other scalars bare
    /// (`8080`, `true`, `null`), collections described (`a mapping`, `a sequence`).
    pub value: Option<String>,
    /// What is allowed (e.g. `one of: users, orders`, `u32`).
    pub expected: Option<String>,
    /// How to fix it, when that is obvious (e.g. ``did you mean `timeout`?``).
    pub hint: Option<String>,
}

// === impl Diagnostic ===

impl Diagnostic {
    /// A diagnostic with no location, value, expectation or hint.
    pub fn new(source: impl Into<String>, path: FieldPath, problem: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            location: None,
            path,
            problem: problem.into(),
            value: None,
            expected: None,
            hint: None,
        }
    }

    /// Sets the location.
    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Sets the value received, shown verbatim: quote strings yourself (`format!("{name:?}")`)
    /// to match the deserializer's rendering.
    #[must_use]
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sets what is allowed.
    #[must_use]
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Sets how to fix it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// `source:line:column: path: problem (got value; expected expected; hint: hint)`, leaving out
/// the location when unknown and the parenthesis parts that are absent.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(location) = self.location {
            write!(f, ":{location}")?;
        }
        write!(f, ": {}: {}", self.path, self.problem)?;
        let details = [
            self.value.as_ref().map(|v| format!("got {v}")),
            self.expected.as_ref().map(|e| format!("expected {e}")),
            self.hint.as_ref().map(|h| format!("hint: {h}")),
        ];
        let mut details = details.iter().flatten();
        if let Some(first) = details.next() {
            write!(f, " ({first}")?;
            for detail in details {
                write!(f, "; {detail}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Every problem found in a document; the error type of this crate.
///
/// Displays one diagnostic per line. Built by [`Document::parse`](crate::Document::parse) and
/// [`Document::deserialize`](crate::Document::deserialize) in document order; callers adding
/// their own (e.g. from a validation step) can [`push`](Diagnostics::push) then
/// [`sort`](Diagnostics::sort).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

// === impl Diagnostics ===

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one diagnostic at the end.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// How many diagnostics there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics, in their current order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Sorts into document order: by location, unlocated ones last; ties keep their order.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| (d.location.is_none(), d.location));
    }

    /// `Ok(value)` if there are no diagnostics, else `Err(self)`: the end of a validation step.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The diagnostics as a vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

/// One diagnostic per line, no trailing newline.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self(diagnostics)
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
