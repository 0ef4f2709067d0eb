//! Field paths such as `routes[2].match.path`: how a diagnostic names the value it is about.

use std::fmt;

/// One step from a node to a child: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// The value under this key of a mapping.
    Key(String),
    /// The element at this 0-based position of a sequence.
    Index(usize),
}

/// The path from the document root to a value, e.g. `upstreams.users.endpoints[0].weight`.
///
/// Built with [`FieldPath::root`] and the non-consuming [`key`](FieldPath::key) and
/// [`index`](FieldPath::index), so one parent path can spawn many children:
///
/// ```
/// use config_yaml::FieldPath;
///
/// let route = FieldPath::root().key("routes").index(2);
/// assert_eq!(route.key("upstream").to_string(), "routes[2].upstream");
/// assert_eq!(route.key("match").key("path").to_string(), "routes[2].match.path");
/// assert_eq!(FieldPath::root().to_string(), "(root)");
/// ```
///
/// Keys made only of ASCII letters, digits, `_` and `-` are written bare; any other key is
/// quoted in brackets so the path stays unambiguous: `upstreams["users.v2"].weight`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Vec<Segment>);

// === impl FieldPath ===

impl FieldPath {
    /// The path of the document root.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path followed by a mapping key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        self.child(Segment::Key(key.into()))
    }

    /// This path followed by a sequence index (0-based).
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.child(Segment::Index(index))
    }

    /// The steps from the root, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The enclosing path, or `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        let (_, parent) = self.0.split_last()?;
        Some(Self(parent.to_vec()))
    }

    /// Whether `self` is `ancestor` or lies under it.
    pub fn starts_with(&self, ancestor: &FieldPath) -> bool {
        self.0.starts_with(&ancestor.0)
    }

    fn child(&self, segment: Segment) -> Self {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        Self(segments)
    }
}

impl FromIterator<Segment> for FieldPath {
    fn from_iter<I: IntoIterator<Item = Segment>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Renders as `routes[2].match.path`; the root renders as `(root)`.
impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_bare(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// Whether a key can be written without quotes and still read back unambiguously.
fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_with_keys_and_indexes_displays_dotted() {
        let path = FieldPath::root()
            .key("upstreams")
            .key("users")
            .key("endpoints")
            .index(0)
            .key("weight");
        assert_eq!(path.to_string(), "upstreams.users.endpoints[0].weight");
    }

    #[test]
    fn path_with_special_key_displays_quoted_in_brackets() {
        let path = FieldPath::root()
            .key("upstreams")
            .key("users.v2")
            .key("weight");
        assert_eq!(path.to_string(), r#"upstreams["users.v2"].weight"#);
        assert_eq!(FieldPath::root().key("").to_string(), r#"[""]"#);
    }

    #[test]
    fn path_starting_with_index_displays_without_dot() {
        assert_eq!(FieldPath::root().index(3).key("a").to_string(), "[3].a");
    }

    #[test]
    fn path_parent_of_root_is_none() {
        let path = FieldPath::root().key("a").index(1);
        assert_eq!(path.parent(), Some(FieldPath::root().key("a")));
        assert_eq!(FieldPath::root().parent(), None);
        assert!(path.starts_with(&FieldPath::root().key("a")));
        assert!(!FieldPath::root().key("a").starts_with(&path));
    }
}
