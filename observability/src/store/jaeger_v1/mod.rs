//! Jaeger's v1 HTTP JSON API (`/api/...`, what the Jaeger UI reads): the UI model types, the
//! OTLP → UI conversion, and the route handlers.
//!
//! The model types are public so clients can read answers from this store or from a real
//! Jaeger with the same code:
//!
//! ```
//! use observability::store::jaeger_v1::{Response, Trace};
//!
//! let body = r#"{"data":[],"total":0,"limit":0,"offset":0,"errors":null}"#;
//! let answer: Response<Vec<Trace>> = serde_json::from_str(body).unwrap();
//! assert!(answer.data.is_empty());
//! ```

mod convert;
pub(crate) mod handler;
mod model;

pub use self::model::{
    KeyValue, Log, Operation, Process, RefType, Reference, Response, ResponseError, Span, TagValue,
    Trace,
};
