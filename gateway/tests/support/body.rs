//! A body of a given length produced chunk by chunk, for upload and download tests that must
//! not hold the whole payload in memory on either side.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Size of each frame: one shared buffer, sliced, so producing a frame never allocates.
const CHUNK: usize = 64 * 1024;

/// `len` bytes of `x`, as frames of at most 64 KiB.
#[derive(Debug)]
pub struct GeneratedBody {
    remaining: u64,
    chunk: Bytes,
    /// Whether the size hint is exact (hyper sends `Content-Length`) or unknown (chunked).
    sized: bool,
}

impl GeneratedBody {
    /// With an exact size hint: sent with `Content-Length`.
    pub fn new(len: u64) -> Self {
        Self {
            remaining: len,
            chunk: Bytes::from(vec![b'x'; CHUNK]),
            sized: true,
        }
    }

    /// Without a size hint: HTTP/1.1 sends it with `Transfer-Encoding: chunked`.
    pub fn unknown_length(len: u64) -> Self {
        Self {
            sized: false,
            ..Self::new(len)
        }
    }
}

impl Body for GeneratedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        // At most CHUNK, so the conversion back to usize cannot truncate.
        let len = self.remaining.min(CHUNK as u64) as usize;
        self.remaining -= len as u64;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..len)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.sized {
            SizeHint::with_exact(self.remaining)
        } else {
            SizeHint::default()
        }
    }
}
