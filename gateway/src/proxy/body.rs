//! The body type on both sides of the proxy: a boxed streaming body that can carry guards
//! (the endpoint's in-flight mark, the request's spans) until it has been fully sent, so
//! least-request and P2C see a request as active, and its spans cover the whole exchange.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use smallvec::SmallVec;

use crate::errors::BoxError;
use crate::instrument::SpanEnd;
use crate::upstream::InFlight;

/// Something that marks the end of an exchange when dropped.
#[derive(Debug)]
#[expect(dead_code, reason = "the guards are held only for their Drop")]
pub(crate) enum EndGuard {
    /// The endpoint is no longer serving this request.
    InFlight(InFlight),
    /// A span ends.
    Span(SpanEnd),
}

/// A streaming body (request or response) as the gateway handles it.
#[derive(Debug)]
pub struct ProxyBody {
    inner: UnsyncBoxBody<Bytes, BoxError>,
    // Three inline slots: attempt span, in-flight mark, server span; no allocation.
    guards: SmallVec<[EndGuard; 3]>,
}

// === impl ProxyBody ===

impl ProxyBody {
    /// Wraps any body whose errors can be boxed.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self {
            inner: body.map_err(Into::into).boxed_unsync(),
            guards: SmallVec::new(),
        }
    }

    /// A body of known bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self::new(Full::new(bytes.into()))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::new(Empty::<Bytes>::new())
    }

    /// Keeps `guard` alive until this body ends or is dropped.
    pub(crate) fn with_guard(mut self, guard: EndGuard) -> Self {
        if self.inner.is_end_stream() {
            // Nothing left to send: the exchange is over as soon as the guard would start.
            drop(guard);
        } else {
            self.guards.push(guard);
        }
        self
    }
}

impl Default for ProxyBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = &polled {
            // The stream is over: release everything that waited for its end.
            self.guards.clear();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
