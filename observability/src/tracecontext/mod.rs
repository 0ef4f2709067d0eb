//! W3C Trace Context: reading and writing `traceparent`/`tracestate`, and the gateway's
//! sampling decision.
//!
//! This module owns the header codec of the [W3C Trace Context Recommendation] (Level 1, with
//! the Level 2 notes that matter). opentelemetry's `TraceContextPropagator` is not used for it:
//! it reads only the first header, checks no field lengths, drops flags other than `sampled`
//! and truncates an over-long `tracestate` where the spec's test suite expects it discarded
//! (DEPENDENCIES.md, trap 7). Its span types remain fine; the ids convert with `From`.
//!
//! # Request path
//!
//! ```text
//! incoming headers ──extract──▶ Extracted ──continue_or_start(sampler, rng)──▶ TraceContext
//!                                  │  Valid { context, discarded_state }          │ (our span)
//!                                  │  Missing | Invalid(reason) ─▶ new trace      │
//!                                  └─ invalid_reason(): metric label              ▼
//!                                                                inject ──▶ downstream headers
//! ```
//!
//! ```
//! use http::HeaderMap;
//! use observability::tracecontext::{self, Extracted, Sampler};
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
//! );
//! incoming.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
//!
//! let extracted = tracecontext::extract(&incoming);
//! assert!(matches!(extracted, Extracted::Valid { .. }));
//! let sampler = Sampler::parent_based(0.1).unwrap();
//! let ours = extracted.continue_or_start(&sampler, &mut rand::rng());
//!
//! let mut outgoing = HeaderMap::new();
//! tracecontext::inject(&ours, &mut outgoing);
//! let sent = outgoing["traceparent"].to_str().unwrap();
//! assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! assert!(sent.ends_with("-01"));
//! assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE");
//! ```
//!
//! # Decisions on the spec's open points
//!
//! - **Invalid `traceparent` starts a new trace.** The spec: vendors "MUST ignore the
//!   `traceparent`" when an id is invalid, and restart the trace when the version cannot be
//!   parsed. [`Extracted::continue_or_start`] then draws a new trace id and span id and lets
//!   the [`Sampler`] decide as for any new trace. The `tracestate` is discarded too: "if the
//!   vendor failed to parse `traceparent`, it MUST NOT attempt to parse `tracestate`", and
//!   "vendors SHOULD clean up `tracestate`" on a restart. The same holds for a `tracestate`
//!   without `traceparent` ([`Extracted::Missing`]).
//! - **Several `traceparent` headers are invalid** ([`InvalidTraceParent::Duplicate`]), even if
//!   identical: combining them per RFC 9110 gives a value no version accepts, and the W3C suite
//!   expects a new trace id.
//! - **OWS.** Spaces and tabs around the `traceparent` value and around each `tracestate`
//!   member are ignored (hyper already strips them around header values; a `HeaderMap` built
//!   by hand may still hold them). Inside a `tracestate` value leading spaces are kept.
//! - **Versions.** `00` must be exactly 55 characters. `01`–`fe` are read by their first four
//!   fields at fixed positions and may carry more after a `-`, which is never interpreted; `ff`
//!   is invalid. Whatever was received, `00` is written: a vendor builds the new header "with
//!   the highest version of the specification known to the implementation".
//! - **Flags** are parsed as hex and kept whole; only `sampled` and the Level 2
//!   `random-trace-id` bit are sent, other bits are zeroed (see [`TraceFlags`]). A trace this
//!   gateway starts gets `random-trace-id`, since its ids come from a random generator.
//! - **`tracestate` is all or nothing.** Multiple headers are joined in order; empty members
//!   are skipped; a bad key or value, a duplicate key or a 33rd member discards the whole list
//!   (never truncates it). A bad `tracestate` never invalidates the `traceparent`: the trace
//!   continues with an empty state and [`Extracted::Valid::discarded_state`] says why. Length
//!   is not limited on input; on output the list is cut to 512 characters by the spec's rule
//!   ([`TraceState::truncated`]).
//! - **Mutations.** The gateway forwards the trace with its own span id as `parent-id` (the
//!   spec's default mutation; [`TraceContext::child`]), keeps the `tracestate` and may add its
//!   own entry at the front with [`TraceState::with_entry`].
//!
//! [W3C Trace Context Recommendation]: https://www.w3.org/TR/trace-context/

mod ids;
mod sampler;
mod traceparent;
mod tracestate;

#[cfg(test)]
mod tests;

use http::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;

pub use ids::{ParseIdError, SpanId, TraceId};
pub use sampler::{InvalidRatio, Sampler};
pub use traceparent::{InvalidTraceParent, TraceFlags, TraceParent};
pub use tracestate::{InvalidTraceState, TraceState};

/// The `traceparent` header name (lowercase, as the spec says to send it).
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The `tracestate` header name.
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// What travels to the next hop: a valid `traceparent` and its (possibly empty) `tracestate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// Trace id, the id of the span that made the call, and flags.
    pub parent: TraceParent,
    /// Vendor entries; empty when absent or discarded.
    pub state: TraceState,
}

/// The result of reading a request's trace context headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extracted {
    /// A valid `traceparent`, with the `tracestate` when that was valid too.
    Valid {
        /// The caller's context.
        context: TraceContext,
        /// Why the `tracestate` was discarded (the context then has an empty state); `None`
        /// when it was valid or absent.
        discarded_state: Option<InvalidTraceState>,
    },
    /// No `traceparent` header (any `tracestate` is ignored).
    Missing,
    /// The `traceparent` was invalid and is ignored, with any `tracestate`.
    Invalid(InvalidTraceParent),
}

/// Reads the trace context from request headers; never fails, see [`Extracted`].
pub fn extract(headers: &HeaderMap) -> Extracted {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Extracted::Missing,
        (Some(_), Some(_)) => return Extracted::Invalid(InvalidTraceParent::Duplicate),
        (Some(value), None) => value,
    };
    let parent = match TraceParent::parse(value.as_bytes()) {
        Ok(parent) => parent,
        Err(reason) => return Extracted::Invalid(reason),
    };
    let states = headers
        .get_all(TRACESTATE)
        .iter()
        .map(HeaderValue::as_bytes);
    let (state, discarded_state) = match TraceState::parse_header_values(states) {
        Ok(state) => (state, None),
        Err(reason) => (TraceState::new(), Some(reason)),
    };
    Extracted::Valid {
        context: TraceContext { parent, state },
        discarded_state,
    }
}

/// Writes `context` into `headers`, replacing any `traceparent`/`tracestate` already there (e.g.
/// copied from the incoming request): `traceparent` as version `00` in lowercase, `tracestate`
/// joined with `,` and truncated to 512 characters, or removed when empty.
pub fn inject(context: &TraceContext, headers: &mut HeaderMap) {
    // Both values are built from lowercase hex, '-', and tracestate characters (0x20-0x7E), all
    // legal in a header value, so the conversions cannot fail; if one did, the header is left
    // out rather than sent malformed.
    match HeaderValue::try_from(context.parent.to_string()) {
        Ok(value) => {
            headers.insert(TRACEPARENT, value);
        }
        Err(_) => {
            headers.remove(TRACEPARENT);
            headers.remove(TRACESTATE);
            return;
        }
    }
    let state = context.state.header_value().map(HeaderValue::try_from);
    match state {
        Some(Ok(value)) => {
            headers.insert(TRACESTATE, value);
        }
        Some(Err(_)) | None => {
            headers.remove(TRACESTATE);
        }
    }
}

// === impl TraceContext ===

impl TraceContext {
    /// A context with this parent and state.
    pub fn new(parent: TraceParent, state: TraceState) -> Self {
        TraceContext { parent, state }
    }

    /// The context for a downstream call made from span `span_id`: same trace id and state,
    /// `parent-id` = `span_id`, flags kept (undefined bits cleared), version `00`.
    ///
    /// Fails with [`InvalidTraceParent::ParentIdZero`] for the invalid span id.
    pub fn child(&self, span_id: SpanId) -> Result<Self, InvalidTraceParent> {
        Ok(TraceContext {
            parent: self.parent.child(span_id)?,
            state: self.state.clone(),
        })
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.parent.trace_id()
    }
}

// === impl Extracted ===

impl Extracted {
    /// The caller's context, if its `traceparent` was valid.
    pub fn context(&self) -> Option<&TraceContext> {
        match self {
            Extracted::Valid { context, .. } => Some(context),
            Extracted::Missing | Extracted::Invalid(_) => None,
        }
    }

    /// The `reason` label to count in `gateway_trace_context_invalid_total` when a header was
    /// ignored: the `traceparent` reason, or the `tracestate` one when only that was discarded.
    pub fn invalid_reason(&self) -> Option<&'static str> {
        match self {
            Extracted::Invalid(reason) => Some(reason.as_str()),
            Extracted::Valid {
                discarded_state, ..
            } => discarded_state.map(InvalidTraceState::as_str),
            Extracted::Missing => None,
        }
    }

    /// The gateway's own context: a new span in the caller's trace when the `traceparent` was
    /// valid, else the root of a new trace.
    ///
    /// The returned `parent_id` is the gateway's new span id, ready to [`inject`]. Sampling is
    /// [`Sampler::should_sample`]: the caller's flag, or the ratio for a new trace. A new trace
    /// has an empty `tracestate` and the `random-trace-id` flag.
    pub fn continue_or_start<R: Rng + ?Sized>(
        &self,
        sampler: &Sampler,
        rng: &mut R,
    ) -> TraceContext {
        match self.context() {
            Some(caller) => {
                let sampled = sampler.should_sample(Some(&caller.parent), caller.trace_id());
                TraceContext::new(
                    caller.parent.child_from_rng(rng, sampled),
                    caller.state.clone(),
                )
            }
            None => {
                let parent = TraceParent::root_from_rng(rng, |trace_id| {
                    sampler.should_sample(None, trace_id)
                });
                TraceContext::new(parent, TraceState::new())
            }
        }
    }
}

/// Strips the spec's OWS (spaces and tabs) from both ends.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}
