//! Serde deserialization over the node tree, collecting every error of a document.
//!
//! Serde's derived visitors stop at the first error, and a visitor cannot be resumed once it
//! has returned one. So one attempt runs until its first new problem, which is recorded as a
//! diagnostic; the failing value is added to a skip set and the attempt unwinds
//! ([`State::Abort`]). The next attempt starts again from the root (a `DeserializeOwned` type
//! can be deserialized any number of times) and never shows the skipped values to the visitors,
//! so it gets past them and finds the next problem. A document with `n` problems therefore
//! takes `n + 1` attempts; config files are small, so that is cheap.
//!
//! Skipping a value can make its parent fail in turn: a required field that was skipped is
//! then `missing`. Such follow-on failures ([`State::Consequence`]) skip the parent without a
//! diagnostic of their own. Unknown struct fields are recorded without unwinding, since the
//! visitor never needs to see them.

mod access;
mod error;
mod node_de;

use std::cell::RefCell;
use std::collections::HashSet;

use serde::de::DeserializeOwned;

use crate::node::Node;
use crate::{Diagnostic, Diagnostics, FieldPath};

pub(crate) use error::stash_unit_error;
use error::{Error, Problem, State};
use node_de::NodeDe;

/// Problems reported before giving up: each costs one attempt over the whole document, so a
/// generated file with thousands of bad values would otherwise take quadratic time.
const MAX_PROBLEMS: usize = 100;

/// Deserializes `root` into `T`, or returns every problem found, in document order.
pub(crate) fn deserialize<T: DeserializeOwned>(
    source: &str,
    root: &Node,
) -> Result<T, Diagnostics> {
    let ctx = Ctx {
        source,
        diagnostics: RefCell::new(Diagnostics::new()),
        reported: RefCell::new(HashSet::new()),
        skipped: RefCell::new(HashSet::new()),
    };
    loop {
        let before = ctx.progress();
        let result = T::deserialize(NodeDe::new(root, FieldPath::root(), &ctx));
        let state = match result {
            Ok(value) if ctx.diagnostics.borrow().is_empty() => return Ok(value),
            Ok(_) => break,
            Err(error) => error.leaving(root, &FieldPath::root(), &ctx).into_state(),
        };
        match state {
            State::Abort if ctx.diagnostics.borrow().len() >= MAX_PROBLEMS => {
                let problem = format!("too many problems: stopped after the first {MAX_PROBLEMS}");
                let note = Diagnostic::new(source, FieldPath::root(), problem)
                    .hint("fix these and run again");
                ctx.diagnostics.borrow_mut().push(note);
            }
            // Each abort skipped one more value, so attempts are bounded by the node count;
            // the progress check only guards that invariant.
            State::Abort if ctx.progress() != before => continue,
            State::Problem(problem) => ctx.record(problem),
            State::Abort | State::Consequence => {}
        }
        break;
    }
    let mut diagnostics = ctx.diagnostics.into_inner();
    if diagnostics.is_empty() {
        // Unreachable in practice: every failure chain starts with a recorded problem.
        let problem = "the document could not be deserialized";
        diagnostics.push(Diagnostic::new(source, FieldPath::root(), problem).at(root.location));
    }
    diagnostics.sort();
    Err(diagnostics)
}

/// What one `deserialize` call shares across its attempts.
pub(crate) struct Ctx<'s> {
    source: &'s str,
    diagnostics: RefCell<Diagnostics>,
    /// `(path, problem)` of every diagnostic, so re-running an attempt does not repeat one.
    reported: RefCell<HashSet<(FieldPath, String)>>,
    /// Values that failed: collections no longer show them to visitors.
    skipped: RefCell<HashSet<FieldPath>>,
}

// === impl Ctx ===

impl Ctx<'_> {
    /// Records a located problem (once, however many attempts meet it).
    pub(crate) fn record(&self, problem: Problem) {
        let diagnostic = problem.into_diagnostic(self.source);
        let key = (diagnostic.path.clone(), diagnostic.problem.clone());
        if self.reported.borrow_mut().insert(key) {
            self.diagnostics.borrow_mut().push(diagnostic);
        }
    }

    pub(crate) fn skip(&self, path: FieldPath) {
        self.skipped.borrow_mut().insert(path);
    }

    pub(crate) fn is_skipped(&self, path: &FieldPath) -> bool {
        self.skipped.borrow().contains(path)
    }

    /// Whether a value strictly under `path` was skipped.
    pub(crate) fn has_skipped_under(&self, path: &FieldPath) -> bool {
        self.skipped
            .borrow()
            .iter()
            .any(|skipped| skipped != path && skipped.starts_with(path))
    }

    fn progress(&self) -> (usize, usize) {
        (self.skipped.borrow().len(), self.diagnostics.borrow().len())
    }
}

/// Runs `deserialize` on the collection element `node` at `path`, the point where a failure is
/// recorded and the element skipped, so the next attempt goes on without it.
pub(crate) fn collect<'de, T>(
    ctx: &'de Ctx<'de>,
    node: &'de Node,
    path: FieldPath,
    deserialize: impl FnOnce(NodeDe<'de>) -> Result<T, Error>,
) -> Result<T, Error> {
    let result = deserialize(NodeDe::new(node, path.clone(), ctx));
    let error = match result {
        Ok(value) => return Ok(value),
        Err(error) => error.leaving(node, &path, ctx),
    };
    match error.into_state() {
        State::Abort => {}
        State::Consequence => ctx.skip(path),
        State::Problem(problem) => {
            ctx.record(problem);
            ctx.skip(path);
        }
    }
    Err(Error::abort())
}
