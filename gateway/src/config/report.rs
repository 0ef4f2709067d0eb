//! Collecting located diagnostics while validating one document.

use config_yaml::{Diagnostic, Document, FieldPath};

/// Collects diagnostics against one document.
pub(super) struct Report<'a> {
    document: &'a Document,
    pub(super) diagnostics: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    pub(super) fn new(document: &'a Document) -> Self {
        Self {
            document,
            diagnostics: Vec::new(),
        }
    }

    /// A problem at `path`; the value written there, if a scalar, is quoted automatically.
    pub(super) fn error(&mut self, path: FieldPath, problem: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics
            .push(self.document.diagnostic(path, problem));
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// An invalid value at `path`: what is wrong and what is allowed.
    pub(super) fn invalid(
        &mut self,
        path: FieldPath,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.error(path, problem).expected = Some(expected.into());
    }

    /// A required field `field` absent from the mapping at `parent`.
    pub(super) fn missing(&mut self, parent: &FieldPath, field: &str, expected: impl Into<String>) {
        self.invalid(
            parent.key(field),
            format!("missing field `{field}`"),
            expected,
        );
    }

    pub(super) fn count(&self) -> usize {
        self.diagnostics.len()
    }
}
