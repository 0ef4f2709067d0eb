//! `/_chaos/download?bytes=N`: a body of exactly N bytes, generated chunk by chunk.
//!
//! Byte `i` of the body is `i % 256`, so a client can check content as well as length.
//! Every chunk is a slice of one static 64 KiB pattern, so a download of any size allocates
//! nothing per chunk and never holds more than hyper's write buffer.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::respond::Rejection;

const CHUNK: usize = 64 * 1024;

/// Chunk content; a multiple of 256 long so the `i % 256` pattern continues across chunks.
static PATTERN: [u8; CHUNK] = {
    let mut pattern = [0u8; CHUNK];
    let mut i = 0;
    while i < CHUNK {
        pattern[i] = (i % 256) as u8;
        i += 1;
    }
    pattern
};

/// A body of `remaining` more pattern bytes; its exact size hint becomes `content-length`.
#[derive(Debug)]
pub(crate) struct PatternBody {
    remaining: u64,
}

// === impl PatternBody ===

impl PatternBody {
    pub(crate) fn new(len: u64) -> Self {
        PatternBody { remaining: len }
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let len = usize::try_from(this.remaining).map_or(CHUNK, |remaining| remaining.min(CHUNK));
        this.remaining -= len as u64;
        let chunk = Bytes::from_static(&PATTERN).slice(..len);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// The `bytes` query parameter: required, exactly once, a non-negative integer.
pub(crate) fn requested_len(query: Option<&str>) -> Result<u64, Rejection> {
    let mut values = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("bytes="));
    match (values.next(), values.next()) {
        (Some(value), None) => value.parse().map_err(|_| Rejection::InvalidDownloadSize {
            received: Some(value.to_owned()),
        }),
        (first, _) => Err(Rejection::InvalidDownloadSize {
            received: first.map(str::to_owned),
        }),
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn pattern_body_yields_exactly_len_bytes_of_the_pattern() {
        for len in [0, 1, CHUNK as u64, CHUNK as u64 * 3 + 17] {
            let body = PatternBody::new(len);
            assert_eq!(body.size_hint().exact(), Some(len));
            let bytes = body.collect().await.unwrap().to_bytes();
            assert_eq!(bytes.len() as u64, len);
            assert!(
                bytes
                    .iter()
                    .enumerate()
                    .all(|(i, byte)| usize::from(*byte) == i % 256)
            );
        }
    }

    #[test]
    fn requested_len_reads_the_bytes_parameter() {
        assert_eq!(requested_len(Some("bytes=10")).unwrap(), 10);
        assert_eq!(requested_len(Some("x=1&bytes=0")).unwrap(), 0);
    }

    #[test]
    fn requested_len_missing_repeated_or_malformed_is_rejected() {
        for (query, received) in [
            (None, None),
            (Some("size=3"), None),
            (Some("bytes=-1"), Some("-1")),
            (Some("bytes=1k"), Some("1k")),
            (Some("bytes=1&bytes=2"), Some("1")),
        ] {
            let err = requested_len(query).unwrap_err();
            assert!(
                matches!(&err, Rejection::InvalidDownloadSize { received: r } if r.as_deref() == received),
                "{query:?}: {err:?}"
            );
        }
    }
}
