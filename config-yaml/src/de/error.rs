//! The deserializer's error: a problem on its way to the node it belongs to, or a signal to
//! unwind the current attempt.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, Expected, Unexpected};

use crate::node::Node;
use crate::suggest::{did_you_mean, one_of};
use crate::units::UnitError;
use crate::{Diagnostic, FieldPath, Location};

use super::Ctx;

/// Boxed so `Result<T, Error>` stays one pointer wide on the happy path.
pub(crate) struct Error(Box<State>);

pub(crate) enum State {
    /// A diagnostic was recorded and the failing node skipped: abandon this attempt.
    Abort,
    /// This node failed only because a descendant was skipped (e.g. `missing field` for a field
    /// that was present but invalid): skip it without a diagnostic of its own.
    Consequence,
    /// A new problem, located by the innermost node it passes through.
    Problem(Problem),
}

pub(crate) struct Problem {
    pub(crate) cause: Cause,
    pub(crate) problem: String,
    pub(crate) value: Value,
    pub(crate) expected: Option<String>,
    pub(crate) hint: Option<String>,
    pub(crate) at: Option<(FieldPath, Location)>,
}

/// What the problem is, where that matters for suppressing follow-on errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    MissingField(&'static str),
    Other,
}

/// How to show the value received.
pub(crate) enum Value {
    /// Already rendered (by us, or from serde's `Unexpected`).
    Given(String),
    /// The located node, if it is a scalar (for custom errors, whose value serde does not give).
    ScalarNode,
    None,
}

thread_local! {
    /// A unit error on its way through `de::Error::custom`, which only carries a message: the
    /// units visitor parks the structured error here and `custom` picks it up when the message
    /// matches, so the diagnostic keeps its `expected` and `hint` apart.
    static PENDING_UNIT_ERROR: RefCell<Option<UnitError>> = const { RefCell::new(None) };
}

/// Parks `error` for the `de::Error::custom` call that immediately follows.
pub(crate) fn stash_unit_error(error: UnitError) {
    PENDING_UNIT_ERROR.with(|pending| *pending.borrow_mut() = Some(error));
}

fn take_unit_error(message: &str) -> Option<UnitError> {
    PENDING_UNIT_ERROR
        .with(|pending| pending.borrow_mut().take())
        .filter(|error| error.to_string() == message)
}

// === impl Error ===

impl Error {
    pub(crate) fn abort() -> Self {
        Self(Box::new(State::Abort))
    }

    pub(crate) fn problem(problem: Problem) -> Self {
        Self(Box::new(State::Problem(problem)))
    }

    pub(crate) fn into_state(self) -> State {
        *self.0
    }

    /// Attributes this error, as it leaves the deserialization of `node` at `path`.
    ///
    /// An unlocated problem belongs to `node`, unless it is a consequence of skipping one of
    /// the node's descendants; located problems and unwind signals pass through.
    pub(crate) fn leaving(self, node: &Node, path: &FieldPath, ctx: &Ctx<'_>) -> Self {
        let problem = match *self.0 {
            State::Problem(problem) if problem.at.is_none() => problem,
            state => return Self(Box::new(state)),
        };
        let consequence = match problem.cause {
            Cause::MissingField(field) => ctx.is_skipped(&path.key(field)),
            Cause::Other => ctx.has_skipped_under(path),
        };
        if consequence {
            return Self(Box::new(State::Consequence));
        }
        Self::problem(problem.located(node, path))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            State::Abort => f.write_str("deserialization abandoned after a recorded error"),
            State::Consequence => f.write_str("deserialization failed after a skipped value"),
            State::Problem(problem) => f.write_str(&problem.problem),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        let message = message.to_string();
        if let Some(unit) = take_unit_error(&message) {
            return Self::problem(Problem {
                problem: format!("invalid {}: {}", unit.kind(), unit.problem()),
                expected: Some(unit.expected().to_owned()),
                hint: unit.hint().map(str::to_owned),
                ..Problem::new(Value::ScalarNode, String::new())
            });
        }
        Self::problem(Problem::new(Value::ScalarNode, message))
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        let value = Value::Given(render_unexpected(&unexpected));
        Self::problem(Problem::new(value, "invalid type").expected(expected))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        let value = Value::Given(render_unexpected(&unexpected));
        Self::problem(Problem::new(value, "invalid value").expected(expected))
    }

    fn invalid_length(len: usize, expected: &dyn Expected) -> Self {
        let problem = format!("wrong number of elements ({len})");
        Self::problem(Problem::new(Value::None, problem).expected(expected))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::problem(Problem::unknown("variant", variant, expected))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::problem(Problem::unknown("field", field, expected))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::problem(Problem {
            cause: Cause::MissingField(field),
            ..Problem::new(Value::None, format!("missing field `{field}`"))
        })
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::problem(Problem::new(
            Value::None,
            format!("duplicate field `{field}`"),
        ))
    }
}

// === impl Problem ===

impl Problem {
    pub(crate) fn new(value: Value, problem: impl Into<String>) -> Self {
        Self {
            cause: Cause::Other,
            problem: problem.into(),
            value,
            expected: None,
            hint: None,
            at: None,
        }
    }

    /// ``unknown field `x` `` with the allowed names and the closest one as a hint.
    pub(crate) fn unknown(what: &str, name: &str, allowed: &[&str]) -> Self {
        Self {
            expected: Some(one_of(allowed)),
            hint: did_you_mean(name, allowed.iter().copied()),
            ..Self::new(Value::None, format!("unknown {what} `{name}`"))
        }
    }

    pub(crate) fn expected(mut self, expected: &dyn Expected) -> Self {
        self.expected = Some(expected.to_string());
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Locates the problem at `node`, filling in a value that is still to be rendered.
    pub(crate) fn located(mut self, node: &Node, path: &FieldPath) -> Self {
        if let Value::ScalarNode = self.value {
            self.value = match node.as_scalar() {
                Some(_) => Value::Given(node.describe()),
                None => Value::None,
            };
        }
        self.at = Some((path.clone(), node.location));
        self
    }

    pub(crate) fn into_diagnostic(self, source: &str) -> Diagnostic {
        let (path, location) = match self.at {
            Some((path, location)) => (path, Some(location)),
            None => (FieldPath::root(), None),
        };
        Diagnostic {
            source: source.to_owned(),
            location,
            path,
            problem: self.problem,
            value: match self.value {
                Value::Given(value) => Some(value),
                Value::ScalarNode | Value::None => None,
            },
            expected: self.expected,
            hint: self.hint,
        }
    }
}

/// Renders serde's description of a received value the way [`Node::describe`] renders nodes.
fn render_unexpected(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(b) => b.to_string(),
        Unexpected::Unsigned(n) => n.to_string(),
        Unexpected::Signed(n) => n.to_string(),
        Unexpected::Float(n) => n.to_string(),
        Unexpected::Char(c) => format!("{:?}", c.to_string()),
        Unexpected::Str(s) => format!("{s:?}"),
        Unexpected::Unit | Unexpected::Option => "null".to_owned(),
        Unexpected::Seq => "a sequence".to_owned(),
        Unexpected::Map => "a mapping".to_owned(),
        other => other.to_string(),
    }
}
