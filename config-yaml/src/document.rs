//! A parsed YAML document: its tree with positions, and the entry points to deserialize and
//! locate values in it.

use serde::de::DeserializeOwned;

use crate::node::Node;
use crate::{Diagnostic, Diagnostics, FieldPath, Location, de, load};

/// One parsed YAML document, named for diagnostics (usually by its file name).
///
/// ```
/// use config_yaml::{Document, FieldPath};
///
/// let doc = Document::parse("gateway.yaml", "routes:\n  - upstream: users2\n").unwrap();
/// let path = FieldPath::root().key("routes").index(0).key("upstream");
/// let d = doc.diagnostic(path, "unknown upstream").expected("one of: users, orders");
/// assert_eq!(
///     d.to_string(),
///     r#"gateway.yaml:2:15: routes[0].upstream: unknown upstream (got "users2"; expected one of: users, orders)"#,
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Document {
    source: String,
    root: Node,
}

// === impl Document ===

impl Document {
    /// Parses YAML text; `source` names the document in diagnostics.
    ///
    /// Fails with a located diagnostic for a syntax error (with the parser's message), and for
    /// every duplicate key (at the second one), non-scalar key, merge key (`<<`), custom tag,
    /// and a second document in the stream. An empty text is a document holding null.
    pub fn parse(source: impl Into<String>, text: &str) -> Result<Self, Diagnostics> {
        let source = source.into();
        let root = load::load(&source, text)?;
        Ok(Self { source, root })
    }

    /// Deserializes the whole document into `T`, collecting every error.
    ///
    /// Returns `Ok` only if nothing at all was wrong; otherwise every problem, in document
    /// order. See the [crate docs](crate#collecting-every-error) for what is reported where.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        de::deserialize(&self.source, &self.root)
    }

    /// Where the value at `path` starts; for a path that does not exist (say, a missing
    /// field), where its nearest existing ancestor starts.
    ///
    /// Always `Some` for a document from [`Document::parse`].
    pub fn locate(&self, path: &FieldPath) -> Option<Location> {
        Some(self.root.find(path).location)
    }

    /// The document's name, as given to [`Document::parse`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Starts a diagnostic about the value at `path`, for problems found after
    /// deserialization (an unknown upstream, a duplicate name).
    ///
    /// The location comes from [`Document::locate`]. When `path` names a scalar, its value is
    /// filled in as the deserializer renders values (strings quoted, numbers bare); set
    /// another with [`Diagnostic::value`].
    pub fn diagnostic(&self, path: FieldPath, problem: impl Into<String>) -> Diagnostic {
        let value = self
            .root
            .get(&path)
            .filter(|node| node.as_scalar().is_some())
            .map(Node::describe);
        let location = self.locate(&path);
        Diagnostic {
            location,
            value,
            ..Diagnostic::new(self.source.as_str(), path, problem)
        }
    }
}
