//! Builds the node tree from saphyr-parser events, rejecting what a config file must not hold:
//! several documents, duplicate or non-scalar keys, merge keys and custom tags.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use crate::node::{Entry, Node, NodeKind, Scalar};
use crate::{Diagnostic, Diagnostics, FieldPath, Location};

/// Most nodes a document may hold once aliases are expanded; stops alias bombs
/// ("billion laughs") from exhausting memory.
const MAX_NODES: usize = 1_000_000;

/// Parses `text` into a tree, or every problem found before parsing had to stop.
pub(crate) fn load(source: &str, text: &str) -> Result<Node, Diagnostics> {
    let mut loader = Loader {
        source,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        nodes: 0,
        diagnostics: Diagnostics::new(),
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => {
                if loader.on_event(event, span) == Flow::Stop {
                    break;
                }
            }
            Err(error) => {
                let location = Location::from_marker(error.marker());
                let problem = format!("invalid YAML: {}", error.info());
                loader.error(loader.path(), location, problem, None);
                break;
            }
        }
    }
    if !loader.diagnostics.is_empty() {
        return Err(loader.diagnostics);
    }
    // An empty stream (nothing, or only comments) is a null document.
    Ok(loader
        .root
        .unwrap_or_else(|| Node::null(Location::new(1, 1))))
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Loader<'s> {
    source: &'s str,
    /// The collections being built, outermost first.
    stack: Vec<Frame>,
    /// Finished anchored nodes by the parser's anchor id.
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    diagnostics: Diagnostics,
}

struct Frame {
    location: Location,
    anchor: usize,
    kind: FrameKind,
}

enum FrameKind {
    Sequence(Vec<Node>),
    Mapping { entries: Vec<Entry>, key: KeySlot },
}

/// Where a mapping is between a key and its value.
enum KeySlot {
    /// The next node is a key.
    Empty,
    /// The next node is the value of this key.
    Ready(Node),
    /// The key was rejected (and reported): drop the next node, its value.
    Rejected,
}

/// Why a mapping key was rejected.
enum KeyProblem {
    NotScalar,
    Merge,
    Duplicate { first: Location },
}

// === impl Loader ===

impl Loader<'_> {
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Flow {
        let location = Location::from_marker(&span.start);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    let problem = "multiple documents are not supported".to_owned();
                    let hint = "keep one document per file: remove the `---` separator";
                    self.error(FieldPath::root(), location, problem, Some(hint.to_owned()));
                    return Flow::Stop;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let quoted =
                    style != ScalarStyle::Plain || self.is_str_tag(tag.as_deref(), location);
                let scalar = Scalar {
                    text: text.into_owned(),
                    quoted,
                };
                let node = Node {
                    location,
                    kind: NodeKind::Scalar(scalar),
                };
                return self.finish(node, anchor, 1);
            }
            Event::SequenceStart(anchor, tag) => {
                self.is_str_tag(tag.as_deref(), location);
                self.open(location, anchor, FrameKind::Sequence(Vec::new()));
            }
            Event::MappingStart(anchor, tag) => {
                self.is_str_tag(tag.as_deref(), location);
                let kind = FrameKind::Mapping {
                    entries: Vec::new(),
                    key: KeySlot::Empty,
                };
                self.open(location, anchor, kind);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let kind = match frame.kind {
                        FrameKind::Sequence(items) => NodeKind::Sequence(items),
                        FrameKind::Mapping { entries, .. } => NodeKind::Mapping(entries),
                    };
                    let node = Node {
                        location: frame.location,
                        kind,
                    };
                    return self.finish(node, frame.anchor, 0);
                }
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some(anchored) => anchored.clone(),
                    None => {
                        // The parser rejects unknown anchors; an anchor not yet finished means
                        // the alias sits inside the very node it names.
                        let problem = "alias refers to the node that contains it".to_owned();
                        self.error(self.path(), location, problem, None);
                        Node::null(location)
                    }
                };
                let size = node.size();
                return self.finish(node, 0, size);
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Flow::Continue
    }

    fn open(&mut self, location: Location, anchor: usize, kind: FrameKind) {
        self.nodes += 1;
        self.stack.push(Frame {
            location,
            anchor,
            kind,
        });
    }

    /// Records a finished node under its anchor and attaches it to its parent.
    fn finish(&mut self, node: Node, anchor: usize, new_nodes: usize) -> Flow {
        self.nodes += new_nodes;
        if self.nodes > MAX_NODES {
            let problem = format!(
                "document too large: more than {MAX_NODES} values once aliases are expanded"
            );
            self.error(self.path(), node.location, problem, None);
            return Flow::Stop;
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.attach(node);
        Flow::Continue
    }

    fn attach(&mut self, node: Node) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        let (entries, key) = match &mut frame.kind {
            FrameKind::Sequence(items) => {
                items.push(node);
                return;
            }
            FrameKind::Mapping { entries, key } => (entries, key),
        };
        match std::mem::replace(key, KeySlot::Empty) {
            KeySlot::Ready(key) => entries.push(Entry { key, value: node }),
            KeySlot::Rejected => {}
            KeySlot::Empty => match check_key(entries, &node) {
                Ok(()) => *key = KeySlot::Ready(node),
                Err(problem) => {
                    *key = KeySlot::Rejected;
                    self.reject_key(&node, problem);
                }
            },
        }
    }

    fn reject_key(&mut self, key: &Node, problem: KeyProblem) {
        let mapping = self.path();
        let (path, problem, hint) = match (problem, key.as_scalar()) {
            (KeyProblem::Duplicate { first }, Some(scalar)) => (
                mapping.key(scalar.text.as_str()),
                format!("duplicate key `{}`", scalar.text),
                format!(
                    "the first `{}` is at line {}; keep one",
                    scalar.text, first.line
                ),
            ),
            (KeyProblem::Merge, _) => (
                mapping,
                "merge keys (`<<`) are not supported".to_owned(),
                "write the keys out, or alias the whole mapping".to_owned(),
            ),
            _ => (
                mapping,
                format!("mapping keys must be scalars, not {}", key.describe()),
                "use a plain string as the key".to_owned(),
            ),
        };
        self.error(path, key.location, problem, Some(hint));
    }

    /// Whether `tag` makes a scalar a string (`!!str`); reports tags outside the core schema.
    fn is_str_tag(&mut self, tag: Option<&Tag>, location: Location) -> bool {
        match tag {
            None => false,
            Some(tag) if tag.is_yaml_core_schema() => tag.suffix == "str",
            Some(tag) => {
                let problem = format!("tag `{tag}` is not supported");
                let hint = "remove the tag".to_owned();
                self.error(self.path(), location, problem, Some(hint));
                false
            }
        }
    }

    /// The path of the value being parsed now, from the open collections.
    fn path(&self) -> FieldPath {
        let mut path = FieldPath::root();
        for frame in &self.stack {
            path = match &frame.kind {
                FrameKind::Sequence(items) => path.index(items.len()),
                FrameKind::Mapping {
                    key: KeySlot::Ready(key),
                    ..
                } => match key.as_scalar() {
                    Some(scalar) => path.key(scalar.text.as_str()),
                    None => path,
                },
                FrameKind::Mapping { .. } => path,
            };
        }
        path
    }

    fn error(
        &mut self,
        path: FieldPath,
        location: Location,
        problem: String,
        hint: Option<String>,
    ) {
        let mut diagnostic = Diagnostic::new(self.source, path, problem).at(location);
        diagnostic.hint = hint;
        self.diagnostics.push(diagnostic);
    }
}

fn check_key(entries: &[Entry], key: &Node) -> Result<(), KeyProblem> {
    let Some(scalar) = key.as_scalar() else {
        return Err(KeyProblem::NotScalar);
    };
    if !scalar.quoted && scalar.text == "<<" {
        return Err(KeyProblem::Merge);
    }
    match entries.iter().find(|e| e.key_text() == scalar.text) {
        Some(first) => Err(KeyProblem::Duplicate {
            first: first.key.location,
        }),
        None => Ok(()),
    }
}
