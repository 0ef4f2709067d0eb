//! Why a unit-bearing value did not parse, with what is allowed and how to fix it.

use std::fmt;

/// A unit-bearing value that did not parse: the error of every `FromStr` in [`crate::units`].
///
/// Displays as one line, e.g.
/// ``invalid duration "5": missing unit (expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; hint: add a unit, e.g. `5s`)``.
/// In YAML documents the same parts fill a [`Diagnostic`](crate::Diagnostic)'s `problem`,
/// `expected` and `hint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    kind: &'static str,
    input: String,
    problem: String,
    expected: &'static str,
    hint: Option<String>,
}

// === impl UnitError ===

impl UnitError {
    pub(super) fn new(
        kind: &'static str,
        expected: &'static str,
        input: &str,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            input: input.to_owned(),
            problem: problem.into(),
            expected,
            hint: None,
        }
    }

    pub(super) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// What was being parsed: `duration`, `percentage`, `rate` or `byte size`.
    pub fn kind(&self) -> &str {
        self.kind
    }

    /// The text that did not parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it, e.g. `missing unit`.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// What is allowed.
    pub fn expected(&self) -> &str {
        self.expected
    }

    /// How to fix it, when that is obvious.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            kind,
            input,
            problem,
            expected,
            ..
        } = self;
        write!(
            f,
            "invalid {kind} {input:?}: {problem} (expected {expected}"
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnitError {}
