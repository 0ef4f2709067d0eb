//! The body type on both sides of the proxy: a boxed streaming body, optionally holding the
//! in-flight guard of the endpoint it comes from so least-request and P2C see a request as
//! active until its response body has been fully sent.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};

use crate::errors::BoxError;
use crate::upstream::InFlight;

/// A streaming body (request or response) as the gateway handles it.
#[derive(Debug)]
pub struct ProxyBody {
    inner: UnsyncBoxBody<Bytes, BoxError>,
    guard: Option<InFlight>,
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
            guard: None,
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
    pub(crate) fn with_guard(mut self, guard: InFlight) -> Self {
        self.guard = Some(guard);
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
            // The stream is over: the endpoint is no longer serving this request.
            self.guard = None;
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
