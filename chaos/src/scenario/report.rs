//! Collecting located diagnostics while validating one scenario, in the format config_yaml
//! uses for its own (`FILE:LINE:COL: path: problem (got ...; expected ...; hint: ...)`).

use config_yaml::units::UnitError;
use config_yaml::{Diagnostic, Diagnostics, Document, FieldPath, Location};

/// Collects diagnostics against one document (and the files it names, such as the gateway
/// config template).
pub(crate) struct Report<'a> {
    document: &'a Document,
    diagnostics: Vec<Diagnostic>,
}

// === impl Report ===

impl<'a> Report<'a> {
    pub(crate) fn new(document: &'a Document) -> Self {
        Self {
            document,
            diagnostics: Vec::new(),
        }
    }

    /// A problem at `path`; the value written there, if a scalar, is shown as `got`.
    pub(crate) fn error(&mut self, path: FieldPath, problem: impl Into<String>) -> &mut Diagnostic {
        let diagnostic = self.document.diagnostic(path, problem);
        self.push(diagnostic)
    }

    /// An invalid value at `path`: what is wrong and what is allowed.
    pub(crate) fn invalid(
        &mut self,
        path: FieldPath,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> &mut Diagnostic {
        let diagnostic = self.error(path, problem);
        diagnostic.expected = Some(expected.into());
        diagnostic
    }

    /// A required key `field` absent from the mapping at `parent`.
    pub(crate) fn missing(
        &mut self,
        parent: &FieldPath,
        field: &str,
        expected: impl Into<String>,
    ) -> &mut Diagnostic {
        self.invalid(
            parent.key(field),
            format!("missing field `{field}`"),
            expected,
        )
    }

    /// A value that did not parse as a unit-bearing type, worded as config_yaml words it.
    pub(crate) fn unit(&mut self, path: FieldPath, error: &UnitError) -> &mut Diagnostic {
        let problem = format!("invalid {}: {}", error.kind(), error.problem());
        let diagnostic = self.invalid(path, problem, error.expected());
        diagnostic.hint = error.hint().map(str::to_owned);
        diagnostic
    }

    /// A problem in another file (`source`), located there; `path` names the scenario field
    /// that led to it.
    pub(crate) fn elsewhere(
        &mut self,
        source: &str,
        location: Location,
        path: FieldPath,
        problem: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Diagnostic::new(source, path, problem).at(location))
    }

    /// Adds a diagnostic made elsewhere (e.g. parse errors of the template).
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) -> &mut Diagnostic {
        self.diagnostics.push(diagnostic);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// Diagnostics so far: lets a step tell whether it added any.
    pub(crate) fn count(&self) -> usize {
        self.diagnostics.len()
    }

    /// Every diagnostic: this document's in document order, then other files' in order.
    pub(crate) fn finish(self) -> Diagnostics {
        let source = self.document.source().to_owned();
        let (mut own, mut others): (Vec<_>, Vec<_>) = self
            .diagnostics
            .into_iter()
            .partition(|d| d.source == source);
        own.sort_by_key(|d| (d.location.is_none(), d.location));
        own.dedup();
        // Other files (the gateway config template) follow, each in its own line order.
        others.sort_by(|a, b| (&a.source, a.location).cmp(&(&b.source, b.location)));
        own.extend(others);
        own.into()
    }
}

/// `one of: a, b, c`, or `none are defined` for an empty list.
pub(crate) fn one_of<'n>(names: impl IntoIterator<Item = &'n str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        "none are defined".to_owned()
    } else {
        format!("one of: {}", names.join(", "))
    }
}

pub(crate) use config_yaml::did_you_mean;

/// Whether `name` is 1-64 characters of `a-z 0-9 - _`: scenario, upstream, fault and guard
/// names (no `.`, which separates replicas and time references).
pub(crate) fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// What [`is_name`] accepts, for messages.
pub(crate) const NAME_RULE: &str = "1 to 64 characters from a-z 0-9 - _";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_picks_the_closest_near_choice() {
        let kinds = ["kill", "pause", "latency"];
        assert_eq!(
            did_you_mean("kil", kinds).as_deref(),
            Some("did you mean `kill`?")
        );
        assert_eq!(did_you_mean("bandwidth", kinds), None);
    }

    #[test]
    fn is_name_accepts_lowercase_digits_dash_underscore() {
        assert!(is_name("users-a_1"));
        for bad in ["", "Users", "a.b", "a b", &"x".repeat(65)] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }
}
