//! The `/_chaos/callbacks` body, checked as a whole before any callback is sent.
//!
//! The shape is the W3C trace-context test harness's: a JSON array of
//! `{"url": "http://host:port/path", "arguments": [...]}`; each `arguments` is POSTed as JSON
//! to its `url`, in order. `arguments` may be left out (then `[]` is sent). Every problem is
//! reported, each with the path of the field it is about (`[1].url`).

use http::Uri;
use http::uri::Scheme;
use serde_json::{Map, Value};
use thiserror::Error;

/// Most callbacks one request may ask for; each may take up to the callback timeout.
pub(crate) const MAX_CALLBACKS: usize = 32;

/// One callback to make: POST `arguments` (a JSON array) to `url`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Callback {
    /// An absolute `http://` URL with a host.
    pub(crate) url: Uri,
    /// The JSON array sent as the body.
    pub(crate) arguments: Value,
}

/// One reason a callbacks request was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum CallbackProblem {
    /// The body does not parse as JSON.
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON, but not an array.
    #[error(
        "body must be a JSON array of callbacks, {}",
        CallbackProblem::EXPECTED
    )]
    NotArray,
    /// More elements than [`MAX_CALLBACKS`].
    #[error("at most {MAX_CALLBACKS} callbacks are allowed per request, got {0}")]
    TooMany(usize),
    /// An element that is not an object.
    #[error("[{index}] must be an object, {}", CallbackProblem::EXPECTED)]
    NotObject { index: usize },
    /// A key other than `url` and `arguments`.
    #[error("[{index}].{field} is not a callback field; allowed fields are url and arguments")]
    UnknownField { index: usize, field: String },
    /// No `url`.
    #[error("[{index}].url is missing")]
    MissingUrl { index: usize },
    /// A `url` that cannot be called.
    #[error(
        "[{index}].url {reason}, got {received}; expected an absolute http:// URL such as \"http://127.0.0.1:7777/callback\""
    )]
    InvalidUrl {
        index: usize,
        reason: &'static str,
        received: String,
    },
    /// An `arguments` that is not an array.
    #[error("[{index}].arguments must be a JSON array, got {received}")]
    ArgumentsNotArray { index: usize, received: String },
}

/// Parses and validates the body; on failure lists every problem found.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<Callback>, Vec<CallbackProblem>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| vec![CallbackProblem::NotJson(err.to_string())])?;
    let Value::Array(elements) = value else {
        return Err(vec![CallbackProblem::NotArray]);
    };
    let mut problems = Vec::new();
    if elements.len() > MAX_CALLBACKS {
        problems.push(CallbackProblem::TooMany(elements.len()));
    }
    let mut callbacks = Vec::with_capacity(elements.len());
    for (index, element) in elements.into_iter().enumerate() {
        match callback(index, element) {
            Ok(callback) => callbacks.push(callback),
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(callbacks)
    } else {
        Err(problems)
    }
}

fn callback(index: usize, element: Value) -> Result<Callback, Vec<CallbackProblem>> {
    let Value::Object(mut fields) = element else {
        return Err(vec![CallbackProblem::NotObject { index }]);
    };
    let url = fields.remove("url");
    let arguments = fields.remove("arguments");
    let mut problems = unknown_fields(index, fields);
    let url = match url {
        None => Err(CallbackProblem::MissingUrl { index }),
        Some(url) => callback_url(index, &url),
    };
    let arguments = match arguments {
        None => Ok(Value::Array(Vec::new())),
        Some(arguments @ Value::Array(_)) => Ok(arguments),
        Some(other) => Err(CallbackProblem::ArgumentsNotArray {
            index,
            received: other.to_string(),
        }),
    };
    match (url, arguments) {
        (Ok(url), Ok(arguments)) if problems.is_empty() => Ok(Callback { url, arguments }),
        (url, arguments) => {
            problems.extend(url.err());
            problems.extend(arguments.err());
            Err(problems)
        }
    }
}

fn unknown_fields(index: usize, rest: Map<String, Value>) -> Vec<CallbackProblem> {
    rest.into_iter()
        .map(|(field, _)| CallbackProblem::UnknownField { index, field })
        .collect()
}

fn callback_url(index: usize, value: &Value) -> Result<Uri, CallbackProblem> {
    let invalid = |reason| CallbackProblem::InvalidUrl {
        index,
        reason,
        received: value.to_string(),
    };
    let text = value.as_str().ok_or_else(|| invalid("must be a string"))?;
    let url = text
        .parse::<Uri>()
        .map_err(|_| invalid("is not a valid URL"))?;
    match url.scheme() {
        Some(scheme) if *scheme == Scheme::HTTP => {}
        Some(scheme) if *scheme == Scheme::HTTPS => {
            return Err(invalid(
                "uses https, which is not supported (callbacks are plain HTTP/1.1)",
            ));
        }
        _ => return Err(invalid("must start with http://")),
    }
    let authority = url.authority().ok_or_else(|| invalid("has no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("has no host"));
    }
    // The authority becomes the `Host` header; credentials have no place there.
    if authority.as_str().contains('@') {
        return Err(invalid("must not contain credentials"));
    }
    Ok(url)
}

// === impl CallbackProblem ===

impl CallbackProblem {
    /// The shape every refusal repeats.
    pub(crate) const EXPECTED: &str =
        r#"expected [{"url": "http://host:port/path", "arguments": [...]}, ...]"#;

    /// The path of the field the problem is about (`[1].url`), when it is about one.
    pub(crate) fn field(&self) -> Option<String> {
        match self {
            CallbackProblem::NotJson(_)
            | CallbackProblem::NotArray
            | CallbackProblem::TooMany(_) => None,
            CallbackProblem::NotObject { index } => Some(format!("[{index}]")),
            CallbackProblem::UnknownField { index, field } => Some(format!("[{index}].{field}")),
            CallbackProblem::MissingUrl { index } | CallbackProblem::InvalidUrl { index, .. } => {
                Some(format!("[{index}].url"))
            }
            CallbackProblem::ArgumentsNotArray { index, .. } => {
                Some(format!("[{index}].arguments"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(body: &Value) -> Vec<CallbackProblem> {
        parse(body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn parse_harness_shaped_body_keeps_order_urls_and_arguments() {
        let body = json!([
            {"url": "http://127.0.0.1:7777/callback/a.0", "arguments": [{"url": "http://x/y", "arguments": []}]},
            {"url": "http://127.0.0.1:7777/callback/a.1?q=1", "arguments": []},
        ]);
        let callbacks = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(callbacks.len(), 2);
        assert_eq!(callbacks[0].url, "http://127.0.0.1:7777/callback/a.0");
        assert_eq!(
            callbacks[0].arguments,
            json!([{"url": "http://x/y", "arguments": []}])
        );
        assert_eq!(callbacks[1].url, "http://127.0.0.1:7777/callback/a.1?q=1");
        assert_eq!(callbacks[1].arguments, json!([]));
    }

    #[test]
    fn parse_without_arguments_sends_an_empty_array() {
        let callbacks = parse(br#"[{"url": "http://h/"}]"#).unwrap();
        assert_eq!(callbacks[0].arguments, json!([]));
    }

    #[test]
    fn parse_empty_array_is_no_callbacks() {
        assert_eq!(parse(b"[]").unwrap(), Vec::new());
    }

    #[test]
    fn parse_not_json_or_not_array_is_one_problem() {
        let err = parse(b"{nope").unwrap_err();
        assert!(
            matches!(err.as_slice(), [CallbackProblem::NotJson(_)]),
            "{err:?}"
        );
        assert_eq!(
            problems(&json!({"url": "http://h/"})),
            vec![CallbackProblem::NotArray]
        );
        assert!(
            CallbackProblem::NotArray
                .to_string()
                .contains(r#"[{"url": "http://host:port/path", "arguments": [...]}, ...]"#)
        );
    }

    #[test]
    fn parse_more_than_max_callbacks_is_refused() {
        let one = json!({"url": "http://h/"});
        let at_max = Value::Array(vec![one.clone(); MAX_CALLBACKS]);
        assert_eq!(
            parse(at_max.to_string().as_bytes()).unwrap().len(),
            MAX_CALLBACKS
        );
        let over = Value::Array(vec![one; MAX_CALLBACKS + 1]);
        assert_eq!(
            problems(&over),
            vec![CallbackProblem::TooMany(MAX_CALLBACKS + 1)]
        );
    }

    #[test]
    fn parse_reports_every_problem_with_its_field_path() {
        let body = json!([
            "http://h/",
            {"url": "http://h/", "headers": [], "arguments": {}},
            {"arguments": []},
            {"url": 7},
        ]);
        let found = problems(&body);
        let fields: Vec<_> = found.iter().map(CallbackProblem::field).collect();
        assert_eq!(
            fields,
            [
                Some("[0]".to_owned()),
                Some("[1].headers".to_owned()),
                Some("[1].arguments".to_owned()),
                Some("[2].url".to_owned()),
                Some("[3].url".to_owned()),
            ]
        );
        assert_eq!(
            found[1].to_string(),
            "[1].headers is not a callback field; allowed fields are url and arguments"
        );
        assert_eq!(
            found[2].to_string(),
            "[1].arguments must be a JSON array, got {}"
        );
        assert_eq!(found[3], CallbackProblem::MissingUrl { index: 2 });
        assert!(
            found[4]
                .to_string()
                .starts_with("[3].url must be a string, got 7"),
            "{}",
            found[4]
        );
    }

    #[test]
    fn parse_url_that_is_not_absolute_http_is_refused_with_the_reason() {
        for (url, reason) in [
            ("https://h/cb", "uses https"),
            ("/callback", "must start with http://"),
            ("ftp://h/cb", "must start with http://"),
            ("http://user:pw@h/cb", "must not contain credentials"),
            ("http://h h/cb", "is not a valid URL"),
        ] {
            let found = problems(&json!([{ "url": url }]));
            let [
                CallbackProblem::InvalidUrl {
                    index: 0,
                    reason: got,
                    received,
                },
            ] = found.as_slice()
            else {
                panic!("{url}: {found:?}");
            };
            assert!(got.starts_with(reason), "{url}: {got}");
            assert_eq!(*received, json!(url).to_string());
        }
    }
}
