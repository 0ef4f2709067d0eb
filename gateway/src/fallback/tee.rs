//! Recording good responses for the stale fallback without touching the client's stream.
//!
//! [`Recorder::record`] decides from the status and headers whether a response may be kept,
//! and if so wraps its body in a [`TeeBody`]. The tee hands every frame to the client in the
//! same poll it arrives (no buffering, no delay) and copies data frames aside until the body
//! ends; only then, and only if the body ended cleanly within `max_entry_bytes`, is the copy
//! stored. Past the limit the copy is dropped at once and the rest streams through untouched.
//!
//! "Good" means (decided here, in one place):
//! - status 2xx except 206 (a partial body is not the resource);
//! - no `Cache-Control: no-store` or `private` (the origin forbids shared reuse);
//! - no `Set-Cookie` (a session cookie replayed to another client would hand it that session;
//!   such responses are not stored at all rather than stored without the cookie, since the
//!   body is usually personalised too);
//! - body at most `max_entry_bytes`, no trailers (gRPC carries its status there), no error
//!   and not abandoned by the client.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::cache::{CacheKey, Skipped, StaleCache, StoredResponse};
use crate::proxy::body::ProxyBody;

/// Records one request's response into a [`StaleCache`]; made by
/// [`Fallback::recorder`](super::Fallback::recorder) before the request is forwarded.
#[derive(Debug)]
pub struct Recorder {
    pub(super) cache: Arc<StaleCache>,
    pub(super) key: CacheKey,
    pub(super) max_entry_bytes: usize,
}

pin_project! {
    /// A body that streams `inner` unchanged while copying it, up to a limit, into the stale
    /// cache; the copy is stored when `inner` ends cleanly.
    #[derive(Debug)]
    pub struct TeeBody<B> {
        #[pin]
        inner: B,
        capture: Option<Capture>,
    }
}

/// The copy in progress. Dropped unsettled (client gone, body error), it counts as
/// incomplete.
#[derive(Debug)]
struct Capture {
    cache: Arc<StaleCache>,
    key: CacheKey,
    status: StatusCode,
    headers: HeaderMap,
    stored_at: Instant,
    copy: BytesMut,
    limit: usize,
    settled: bool,
}

// === impl Recorder ===

impl Recorder {
    /// Returns `response` with its body teed into the cache when the response is good (see
    /// the module docs), otherwise unchanged. `now` is when the response headers arrived;
    /// the stored entry's age counts from it.
    pub fn record(self, response: Response<ProxyBody>, now: Instant) -> Response<ProxyBody> {
        if !storable(response.status(), response.headers()) {
            return response;
        }
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_entry_bytes as u64) {
            // Known to be too large: do not even start copying.
            self.cache.skipped(Skipped::Oversize);
            return response;
        }
        let (parts, body) = response.into_parts();
        let mut capture = Capture {
            cache: self.cache,
            key: self.key,
            status: parts.status,
            headers: parts.headers.clone(),
            stored_at: now,
            copy: BytesMut::new(),
            limit: self.max_entry_bytes,
            settled: false,
        };
        if body.is_end_stream() {
            // An empty body (HEAD, 204) may never be polled: store now.
            capture.commit();
            return Response::from_parts(parts, body);
        }
        let lower = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
        capture.copy.reserve(lower.min(capture.limit));
        let tee = TeeBody {
            inner: body,
            capture: Some(capture),
        };
        Response::from_parts(parts, ProxyBody::new(tee))
    }
}

/// Whether a response with this status and these headers may be stored.
fn storable(status: StatusCode, headers: &HeaderMap) -> bool {
    status.is_success()
        && status != StatusCode::PARTIAL_CONTENT
        && !headers.contains_key(header::SET_COOKIE)
        && !has_directive(headers, &["no-store", "private"])
}

/// Whether any `Cache-Control` value carries one of `directives` (case-insensitive; a
/// directive may have an argument, as in `private="set-cookie"`).
pub(super) fn has_directive(headers: &HeaderMap, directives: &[&str]) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.split('=').next().unwrap_or_default().trim())
        .any(|d| directives.iter().any(|x| d.eq_ignore_ascii_case(x)))
}

// === impl TeeBody ===

impl<B> Body for TeeBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(capture) = this.capture.as_mut() {
            let keep = match &polled {
                Some(Ok(frame)) => match frame.data_ref() {
                    Some(data) => capture.push(data),
                    // Trailers: the replay could not carry them (see module docs).
                    None => false,
                },
                Some(Err(_)) => false,
                None => {
                    capture.commit();
                    false
                }
            };
            // Some servers stop polling once `is_end_stream` says so, without a final `None`.
            if keep && this.inner.is_end_stream() {
                capture.commit();
            }
            if !keep || capture.settled {
                *this.capture = None;
            }
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

// === impl Capture ===

impl Capture {
    /// Copies `data`; false (and counted) when that would pass the limit.
    fn push(&mut self, data: &Bytes) -> bool {
        if self.copy.len().saturating_add(data.len()) > self.limit {
            self.settled = true;
            self.cache.skipped(Skipped::Oversize);
            return false;
        }
        self.copy.extend_from_slice(data);
        true
    }

    /// Stores the copy.
    fn commit(&mut self) {
        self.settled = true;
        let entry = StoredResponse::new(
            &self.key,
            self.status,
            std::mem::take(&mut self.headers),
            self.copy.split().freeze(),
            self.stored_at,
        );
        self.cache.insert(self.key.clone(), entry);
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if !self.settled {
            self.cache.skipped(Skipped::Incomplete);
        }
    }
}
