//! The behavior switch's state: its fields, their valid ranges, and partial JSON updates.
//!
//! JSON shape (GET and POST `/_chaos/behavior` answer the full object; POST accepts any
//! subset of the fields):
//!
//! ```json
//! {"latency":"5ms","error_rate":0.0,"error_status":500,"hang":false,"healthy":true}
//! ```
//!
//! Updates are validated as a whole before anything changes: an update with one bad field
//! changes nothing, and every problem is reported, not only the first.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::cli::parse_duration;

/// Every field of the behavior, in the order they are reported.
pub(crate) const FIELDS: [&str; 5] = ["latency", "error_rate", "error_status", "hang", "healthy"];

/// How the upstream treats requests right now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Behavior {
    /// Added before answering the echo and `/healthz`.
    pub(crate) latency: Duration,
    /// Fraction of echo requests answered with `error_status`.
    pub(crate) error_rate: ErrorRate,
    /// Status of injected errors.
    pub(crate) error_status: ErrorStatus,
    /// Hold echo and `/healthz` requests unanswered until this turns false.
    pub(crate) hang: bool,
    /// Whether `/healthz` answers 200 (true) or 503 (false).
    pub(crate) healthy: bool,
}

/// A fraction of requests, from 0.0 to 1.0 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct ErrorRate(f64);

/// An HTTP status from 400 to 599 inclusive, the range that reads as failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ErrorStatus(StatusCode);

/// A validated partial update: `None` leaves the field as it is.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct BehaviorUpdate {
    latency: Option<Duration>,
    error_rate: Option<ErrorRate>,
    error_status: Option<ErrorStatus>,
    hang: Option<bool>,
    healthy: Option<bool>,
}

/// A value outside the range its type allows.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{field} must be {expected}, got {received}")]
pub(crate) struct InvalidValue {
    field: &'static str,
    expected: &'static str,
    received: String,
}

/// One reason a behavior update was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum UpdateProblem {
    /// The body does not parse as JSON.
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON, but not an object.
    #[error("body must be a JSON object with some of the fields {}", FIELDS.join(", "))]
    NotObject,
    /// A key that is not a behavior field.
    #[error("unknown field `{0}`; allowed fields are {fields}", fields = FIELDS.join(", "))]
    UnknownField(String),
    /// A known field with a value of the wrong type or out of range.
    #[error(transparent)]
    InvalidValue(InvalidValue),
}

const LATENCY_EXPECTED: &str = "a duration string with a unit, such as \"250ms\" or \"2s\"";
const BOOL_EXPECTED: &str = "true or false";

// === impl Behavior ===

impl Behavior {
    /// The JSON shape documented at the top of this module.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            // Whole milliseconds, the same unit the parser accepts.
            "latency": format!("{}ms", self.latency.as_millis()),
            "error_rate": self.error_rate.get(),
            "error_status": self.error_status.get().as_u16(),
            "hang": self.hang,
            "healthy": self.healthy,
        })
    }

    /// Replaces the fields the update sets and keeps the others.
    pub(crate) fn apply(&mut self, update: &BehaviorUpdate) {
        if let Some(latency) = update.latency {
            self.latency = latency;
        }
        if let Some(error_rate) = update.error_rate {
            self.error_rate = error_rate;
        }
        if let Some(error_status) = update.error_status {
            self.error_status = error_status;
        }
        if let Some(hang) = update.hang {
            self.hang = hang;
        }
        if let Some(healthy) = update.healthy {
            self.healthy = healthy;
        }
    }
}

// === impl ErrorRate ===

impl ErrorRate {
    const EXPECTED: &str = "a number from 0.0 to 1.0";

    pub(crate) fn new(rate: f64) -> Option<Self> {
        // `contains` is false for NaN, so NaN is rejected too.
        (0.0..=1.0).contains(&rate).then_some(ErrorRate(rate))
    }

    pub(crate) fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for ErrorRate {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse()
            .ok()
            .and_then(ErrorRate::new)
            .ok_or_else(|| InvalidValue::new("error rate", ErrorRate::EXPECTED, text))
    }
}

// === impl ErrorStatus ===

impl ErrorStatus {
    const EXPECTED: &str = "an integer from 400 to 599";

    pub(crate) fn new(status: u16) -> Option<Self> {
        let status = StatusCode::from_u16(status).ok()?;
        (status.is_client_error() || status.is_server_error()).then_some(ErrorStatus(status))
    }

    pub(crate) fn get(self) -> StatusCode {
        self.0
    }
}

impl FromStr for ErrorStatus {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse()
            .ok()
            .and_then(ErrorStatus::new)
            .ok_or_else(|| InvalidValue::new("error status", ErrorStatus::EXPECTED, text))
    }
}

// === impl BehaviorUpdate ===

impl BehaviorUpdate {
    /// Parses and validates a POST body; on failure lists every problem found.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, Vec<UpdateProblem>> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|err| vec![UpdateProblem::NotJson(err.to_string())])?;
        let Value::Object(fields) = value else {
            return Err(vec![UpdateProblem::NotObject]);
        };
        Self::from_fields(fields)
    }

    fn from_fields(fields: Map<String, Value>) -> Result<Self, Vec<UpdateProblem>> {
        let mut update = BehaviorUpdate::default();
        let mut problems = Vec::new();
        for (field, value) in fields {
            let outcome = match field.as_str() {
                "latency" => latency(&value).map(|v| update.latency = Some(v)),
                "error_rate" => error_rate(&value).map(|v| update.error_rate = Some(v)),
                "error_status" => error_status(&value).map(|v| update.error_status = Some(v)),
                "hang" => boolean("hang", &value).map(|v| update.hang = Some(v)),
                "healthy" => boolean("healthy", &value).map(|v| update.healthy = Some(v)),
                _ => Err(UpdateProblem::UnknownField(field)),
            };
            if let Err(problem) = outcome {
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            Ok(update)
        } else {
            Err(problems)
        }
    }
}

fn latency(value: &Value) -> Result<Duration, UpdateProblem> {
    value
        .as_str()
        .and_then(|text| parse_duration(text).ok())
        .ok_or_else(|| invalid("latency", LATENCY_EXPECTED, value))
}

fn error_rate(value: &Value) -> Result<ErrorRate, UpdateProblem> {
    value
        .as_f64()
        .and_then(ErrorRate::new)
        .ok_or_else(|| invalid("error_rate", ErrorRate::EXPECTED, value))
}

fn error_status(value: &Value) -> Result<ErrorStatus, UpdateProblem> {
    value
        .as_u64()
        .and_then(|status| u16::try_from(status).ok())
        .and_then(ErrorStatus::new)
        .ok_or_else(|| invalid("error_status", ErrorStatus::EXPECTED, value))
}

fn boolean(field: &'static str, value: &Value) -> Result<bool, UpdateProblem> {
    value
        .as_bool()
        .ok_or_else(|| invalid(field, BOOL_EXPECTED, value))
}

fn invalid(field: &'static str, expected: &'static str, received: &Value) -> UpdateProblem {
    UpdateProblem::InvalidValue(InvalidValue::new(field, expected, received))
}

// === impl UpdateProblem ===

impl UpdateProblem {
    /// The field the problem is about, when it is about one.
    pub(crate) fn field(&self) -> Option<&str> {
        match self {
            UpdateProblem::NotJson(_) | UpdateProblem::NotObject => None,
            UpdateProblem::UnknownField(field) => Some(field),
            UpdateProblem::InvalidValue(invalid) => Some(invalid.field),
        }
    }
}

// === impl InvalidValue ===

impl InvalidValue {
    fn new(field: &'static str, expected: &'static str, received: impl fmt::Display) -> Self {
        InvalidValue {
            field,
            expected,
            received: received.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn initial() -> Behavior {
        Behavior {
            latency: Duration::from_millis(5),
            error_rate: ErrorRate::new(0.1).unwrap(),
            error_status: ErrorStatus::new(500).unwrap(),
            hang: false,
            healthy: true,
        }
    }

    fn update(body: &str) -> Result<BehaviorUpdate, Vec<UpdateProblem>> {
        BehaviorUpdate::from_json(body.as_bytes())
    }

    #[test]
    fn behavior_to_json_has_every_field() {
        let json = initial().to_json();
        assert_eq!(
            json,
            json!({"latency":"5ms","error_rate":0.1,"error_status":500,"hang":false,"healthy":true})
        );
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields = FIELDS.to_vec();
        // Sorted: key order follows serde_json's map, which a feature flag can change.
        keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(keys, fields);
    }

    #[test]
    fn update_with_some_fields_changes_only_those() {
        let mut behavior = initial();
        behavior.apply(&update(r#"{"error_rate":0.3,"hang":true}"#).unwrap());
        assert_eq!(
            behavior,
            Behavior {
                error_rate: ErrorRate::new(0.3).unwrap(),
                hang: true,
                ..initial()
            }
        );
    }

    #[test]
    fn update_with_every_field_replaces_all() {
        let mut behavior = initial();
        let body =
            r#"{"latency":"2s","error_rate":1.0,"error_status":503,"hang":true,"healthy":false}"#;
        behavior.apply(&update(body).unwrap());
        assert_eq!(
            behavior,
            Behavior {
                latency: Duration::from_secs(2),
                error_rate: ErrorRate::new(1.0).unwrap(),
                error_status: ErrorStatus::new(503).unwrap(),
                hang: true,
                healthy: false,
            }
        );
    }

    #[test]
    fn update_empty_object_changes_nothing() {
        let mut behavior = initial();
        behavior.apply(&update("{}").unwrap());
        assert_eq!(behavior, initial());
    }

    #[test]
    fn update_with_unknown_field_is_rejected_naming_it() {
        let problems = update(r#"{"latency":"1ms","colour":"red"}"#).unwrap_err();
        assert_eq!(problems, vec![UpdateProblem::UnknownField("colour".into())]);
        assert_eq!(problems[0].field(), Some("colour"));
        let message = problems[0].to_string();
        assert!(message.contains("`colour`"), "{message}");
        assert!(
            message.contains("latency, error_rate, error_status, hang, healthy"),
            "{message}"
        );
    }

    #[test]
    fn update_with_several_bad_fields_reports_all() {
        let problems =
            update(r#"{"latency":5,"error_rate":1.5,"error_status":200,"hang":"yes","x":1}"#)
                .unwrap_err();
        let mut fields: Vec<_> = problems.iter().filter_map(UpdateProblem::field).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["error_rate", "error_status", "hang", "latency", "x"]
        );
    }

    #[test]
    fn update_latency_without_unit_is_rejected() {
        let problems = update(r#"{"latency":"5"}"#).unwrap_err();
        assert_eq!(
            problems,
            vec![invalid("latency", LATENCY_EXPECTED, &json!("5"))]
        );
        assert_eq!(
            problems[0].to_string(),
            r#"latency must be a duration string with a unit, such as "250ms" or "2s", got "5""#
        );
    }

    #[test]
    fn update_error_rate_out_of_range_is_rejected() {
        for bad in ["-0.1", "1.01", "\"0.5\"", "null"] {
            let problems = update(&format!(r#"{{"error_rate":{bad}}}"#)).unwrap_err();
            assert_eq!(
                problems[0].to_string(),
                format!("error_rate must be a number from 0.0 to 1.0, got {bad}")
            );
        }
    }

    #[test]
    fn update_error_status_outside_400_to_599_is_rejected() {
        for bad in ["399", "600", "500.5", "70000"] {
            let problems = update(&format!(r#"{{"error_status":{bad}}}"#)).unwrap_err();
            assert_eq!(problems[0].field(), Some("error_status"), "{bad}");
        }
        assert_eq!(
            update(r#"{"error_status":400}"#).unwrap().error_status,
            ErrorStatus::new(400)
        );
        assert_eq!(
            update(r#"{"error_status":599}"#).unwrap().error_status,
            ErrorStatus::new(599)
        );
    }

    #[test]
    fn update_body_not_an_object_is_rejected() {
        assert_eq!(update("[1]").unwrap_err(), vec![UpdateProblem::NotObject]);
        let problems = update("{nope").unwrap_err();
        assert!(
            matches!(problems.as_slice(), [UpdateProblem::NotJson(_)]),
            "{problems:?}"
        );
    }

    #[test]
    fn error_rate_from_str_accepts_only_zero_to_one() {
        assert_eq!("0".parse::<ErrorRate>().unwrap().get(), 0.0);
        assert_eq!("1.0".parse::<ErrorRate>().unwrap().get(), 1.0);
        for bad in ["-0.5", "1.5", "NaN", "x"] {
            let err = bad.parse::<ErrorRate>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("error rate must be a number from 0.0 to 1.0, got {bad}")
            );
        }
    }

    #[test]
    fn error_status_from_str_accepts_only_400_to_599() {
        assert_eq!(
            "503".parse::<ErrorStatus>().unwrap().get(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        for bad in ["200", "399", "600", "x"] {
            let err = bad.parse::<ErrorStatus>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("error status must be an integer from 400 to 599, got {bad}")
            );
        }
    }
}
