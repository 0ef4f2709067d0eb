//! The document tree: scalars, sequences and mappings, each with the location it starts at.

use crate::path::Segment;
use crate::scalar::{Resolved, resolve_plain};
use crate::{FieldPath, Location};

/// The longest scalar text shown in a diagnostic before it is cut with `…`.
const MAX_SHOWN_CHARS: usize = 40;

/// One value of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) location: Location,
    pub(crate) kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<Entry>),
}

/// A scalar's text and whether it was written plain (so the core schema applies).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    /// Quoted, block (`|`, `>`) or tagged `!!str`: always a string.
    pub(crate) quoted: bool,
}

/// One key/value pair of a mapping; the loader only builds entries whose key is a scalar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: Node,
    pub(crate) value: Node,
}

// === impl Node ===

impl Node {
    /// An empty plain scalar, which means null.
    pub(crate) fn null(location: Location) -> Self {
        let scalar = Scalar {
            text: String::new(),
            quoted: false,
        };
        Self {
            location,
            kind: NodeKind::Scalar(scalar),
        }
    }

    pub(crate) fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// Whether this is a plain scalar meaning null.
    pub(crate) fn is_null(&self) -> bool {
        self.as_scalar()
            .is_some_and(|s| s.resolve() == Resolved::Null)
    }

    /// The value as a diagnostic shows it: see [`crate::Diagnostic::value`].
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Scalar(scalar) => scalar.describe(),
            NodeKind::Sequence(_) => "a sequence".to_owned(),
            NodeKind::Mapping(_) => "a mapping".to_owned(),
        }
    }

    /// How many nodes this tree holds, counting mapping keys.
    pub(crate) fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(_) => 1,
            NodeKind::Sequence(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            NodeKind::Mapping(entries) => {
                1 + entries.iter().map(|e| 1 + e.value.size()).sum::<usize>()
            }
        }
    }

    /// The node at `path`, or its deepest ancestor that exists.
    pub(crate) fn find(&self, path: &FieldPath) -> &Node {
        let mut node = self;
        for segment in path.segments() {
            let child = match (segment, &node.kind) {
                (Segment::Key(key), NodeKind::Mapping(entries)) => entries
                    .iter()
                    .find(|e| e.key_text() == key)
                    .map(|e| &e.value),
                (Segment::Index(index), NodeKind::Sequence(items)) => items.get(*index),
                _ => None,
            };
            match child {
                Some(child) => node = child,
                None => break,
            }
        }
        node
    }

    /// The node at exactly `path`, if it exists.
    pub(crate) fn get(&self, path: &FieldPath) -> Option<&Node> {
        let mut node = self;
        for segment in path.segments() {
            node = match (segment, &node.kind) {
                (Segment::Key(key), NodeKind::Mapping(entries)) => {
                    &entries.iter().find(|e| e.key_text() == key)?.value
                }
                (Segment::Index(index), NodeKind::Sequence(items)) => items.get(*index)?,
                _ => return None,
            };
        }
        Some(node)
    }
}

// === impl Scalar ===

impl Scalar {
    /// The scalar's meaning: quoted scalars are always strings.
    pub(crate) fn resolve(&self) -> Resolved {
        if self.quoted {
            Resolved::Str
        } else {
            resolve_plain(&self.text)
        }
    }

    /// Strings quoted (`"users2"`), other plain scalars as written (`8080`), null as `null`.
    fn describe(&self) -> String {
        match self.resolve() {
            Resolved::Null => "null".to_owned(),
            Resolved::Str => {
                let first_line = self.text.lines().next().unwrap_or_default();
                let mut shown: String = first_line.chars().take(MAX_SHOWN_CHARS).collect();
                if shown.len() < self.text.trim_end_matches('\n').len() {
                    shown.push('…');
                }
                format!("{shown:?}")
            }
            _ => self.text.clone(),
        }
    }
}

// === impl Entry ===

impl Entry {
    /// The key's text.
    pub(crate) fn key_text(&self) -> &str {
        self.key.as_scalar().map_or("", |s| s.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str, quoted: bool) -> Node {
        Node {
            location: Location::new(1, 1),
            kind: NodeKind::Scalar(Scalar {
                text: text.to_owned(),
                quoted,
            }),
        }
    }

    #[test]
    fn describe_scalars_quotes_strings_only() {
        assert_eq!(scalar("8080", false).describe(), "8080");
        assert_eq!(scalar("8080", true).describe(), r#""8080""#);
        assert_eq!(scalar("users2", false).describe(), r#""users2""#);
        assert_eq!(scalar("", false).describe(), "null");
        assert_eq!(scalar("", true).describe(), r#""""#);
        assert_eq!(scalar("true", false).describe(), "true");
    }

    #[test]
    fn describe_long_or_multiline_string_is_cut() {
        let long = "x".repeat(50);
        assert_eq!(
            scalar(&long, true).describe(),
            format!("\"{}…\"", "x".repeat(40))
        );
        assert_eq!(scalar("a\nb\n", true).describe(), "\"a…\"");
    }
}
