//! Where a node starts in the source text: a 1-based line and column.

use std::fmt;

/// A position in the source text, both numbers 1-based; columns count characters, not bytes.
///
/// Orders by line, then column, so sorting diagnostics by location puts them in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

// === impl Location ===

impl Location {
    /// A location from 1-based line and column numbers.
    pub fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }

    /// Converts a parser marker (1-based line, 0-based column) to a location.
    pub(crate) fn from_marker(marker: &saphyr_parser::Marker) -> Self {
        Self::new(marker.line(), marker.col() + 1)
    }
}

/// Renders as `line:column`, e.g. `12:7`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}
