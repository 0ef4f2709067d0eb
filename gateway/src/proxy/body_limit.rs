//! The request-body limit (`limits.max_body_bytes`). A declared `Content-Length` above it is
//! refused before anything is sent ([`declared_too_large`]); a body is also counted while it
//! streams ([`LimitedBody`]), and the frame that passes the limit ends it with
//! [`BodyTooLarge`], which the forwarder turns into the same 413: the upstream sees an
//! aborted request, never the bytes beyond the limit.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::errors::BoxError;

/// The body passed the limit while streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("request body larger than {limit} bytes")]
pub(crate) struct BodyTooLarge {
    /// The limit.
    pub(crate) limit: u64,
}

/// Whether `headers` declare a body longer than `limit`.
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: u64) -> bool {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|length| length > limit)
}

/// The first [`BodyTooLarge`] in `error`'s source chain.
pub(crate) fn too_large_in(error: &(dyn std::error::Error + 'static)) -> Option<BodyTooLarge> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<BodyTooLarge>() {
            return Some(*found);
        }
        current = e.source();
    }
    None
}

pin_project! {
    /// `inner`, failing with [`BodyTooLarge`] once more than `limit` data bytes went through
    /// (no limit: `None`).
    pub(crate) struct LimitedBody<B> {
        #[pin]
        inner: B,
        seen: u64,
        limit: Option<u64>,
    }
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: Option<u64>) -> Self {
        LimitedBody {
            inner,
            seen: 0,
            limit,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let (Some(data), Some(limit)) = (frame.data_ref(), *this.limit) {
                    *this.seen = this.seen.saturating_add(data.len() as u64);
                    if *this.seen > limit {
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge { limit }))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full, StreamBody};

    use super::*;

    #[tokio::test]
    async fn body_within_the_limit_passes_whole() {
        let body = LimitedBody::new(Full::new(Bytes::from_static(b"0123456789")), Some(10));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, Bytes::from_static(b"0123456789"));
    }

    #[tokio::test]
    async fn body_passing_the_limit_fails_at_the_frame_that_passes_it() {
        let chunks = futures_util::stream::iter(
            ["0123", "4567", "89ab"]
                .map(|c| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(c)))),
        );
        let mut body = LimitedBody::new(StreamBody::new(chunks), Some(10));
        assert!(body.frame().await.unwrap().is_ok());
        assert!(body.frame().await.unwrap().is_ok());
        let error = body.frame().await.unwrap().unwrap_err();
        assert_eq!(too_large_in(&*error), Some(BodyTooLarge { limit: 10 }));
    }

    #[test]
    fn declared_length_above_the_limit_is_too_large() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_LENGTH, "11".parse().unwrap());
        assert!(declared_too_large(&headers, 10));
        assert!(!declared_too_large(&headers, 11));
        assert!(!declared_too_large(&HeaderMap::new(), 0));
    }
}
