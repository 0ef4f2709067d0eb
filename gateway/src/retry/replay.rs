//! A request body that can be sent again: it streams the client's body to the first attempt
//! while keeping a copy, up to a limit, for the retries.
//!
//! # Design
//!
//! Buffering happens lazily, as the first attempt reads: nothing waits for the whole body
//! before the first attempt starts, and a body is replayable exactly as long as every byte
//! read from it so far is kept. The state lives behind an `Arc<Mutex<_>>` shared by the
//! original [`ReplayBody`] and its clones (one per attempt):
//!
//! - the client's body (`source`), polled only by the attempt at the *live edge*;
//! - the chunks read so far (`Bytes`, so a replay copies no data), with their byte count, and
//!   the trailers if the body had any;
//! - `capped`: set as soon as a chunk would take the kept bytes over the limit, or at the
//!   first chunk when the size hint already says the body is larger. The kept chunks are
//!   dropped at once (memory never exceeds the limit), the attempt that is reading continues
//!   to stream the rest straight from the source, and no clone can be made any more.
//!
//! Each clone has its own cursor. Polling a clone first replays the kept chunks in order,
//! then reads on from the source, keeping what it reads (unless capped), so a retry that
//! started before the body was complete still gets every byte once, in order.
//!
//! Attempts are sequential: [`ReplayBody::try_clone`] makes the new clone the only one that
//! may read, and an older clone fails with [`ReplayError::Superseded`] on its next poll. This
//! ends an abandoned attempt's upload (e.g. a body still being sent after a 503 arrived)
//! instead of letting two attempts race for the source, whose waker could only wake one.
//!
//! A source error goes to the attempt that read it, and marks the body failed: later clones
//! cannot be made, and any other clone reading fails with [`ReplayError::SourceFailed`].
//!
//! This follows the idea of linkerd2-proxy's `ReplayBody` (lazy buffering shared between
//! clones, a cap that turns replay off mid-stream); the supersede rule and the per-clone
//! cursors over one shared chunk list are ours.
//!
//! NOTE: the limit counts payload bytes. A chunk may be a slice of a larger allocation
//! (hyper's read buffer), so memory held can exceed the count by the size of those buffers.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use crate::errors::BoxError;

/// Why a [`ReplayBody`] clone cannot yield its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A newer attempt took over the body; this attempt was abandoned.
    #[error("request body was taken over by a newer attempt")]
    Superseded,
    /// The body outgrew the replay buffer after this clone was made.
    #[error("request body exceeded the replay buffer and cannot be sent again")]
    NotReplayable,
    /// The client's body failed while an earlier attempt was reading it.
    #[error("request body failed during an earlier attempt")]
    SourceFailed,
}

/// A request body that can be sent again (see the module docs).
///
/// Keep the value returned by [`ReplayBody::new`] as the request's handle and give every
/// attempt, the first included, its own [`ReplayBody::try_clone`]: the handle itself is
/// never sent, so it stays available to make the next attempt's body.
pub struct ReplayBody<B> {
    shared: Arc<Mutex<Shared<B>>>,
    cursor: Cursor,
}

/// One clone's position in the body.
#[derive(Debug, Default)]
struct Cursor {
    /// This clone's number; only the newest may read.
    generation: u64,
    /// Index of the next chunk this clone yields.
    next_chunk: usize,
    /// Bytes this clone has yielded (for its size hint).
    yielded: u64,
    /// Whether this clone has yielded the trailers.
    trailers_sent: bool,
}

struct Shared<B> {
    /// The client's body until it ends or fails.
    source: Option<B>,
    state: SourceState,
    /// The chunks read so far, in order; empty once capped.
    chunks: Vec<Bytes>,
    /// Chunks read from the source so far (kept or not).
    chunks_read: usize,
    /// Bytes read from the source so far (kept or not).
    bytes_read: u64,
    trailers: Option<HeaderMap>,
    max_bytes: u64,
    capped: bool,
    /// Generation of the newest clone.
    newest: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceState {
    Reading,
    Ended,
    Failed,
}

// === impl ReplayBody ===

impl<B> ReplayBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    /// Wraps `body`, keeping up to `max_bytes` of it for replay. Use 0 for a request that may
    /// only be retried when the connection failed (it then stays replayable until its first
    /// data is sent, and an empty body always is).
    pub fn new(body: B, max_bytes: usize) -> Self {
        let max_bytes = u64::try_from(max_bytes).unwrap_or(u64::MAX);
        let shared = Shared {
            source: Some(body),
            state: SourceState::Reading,
            chunks: Vec::new(),
            chunks_read: 0,
            bytes_read: 0,
            trailers: None,
            max_bytes,
            capped: false,
            newest: 0,
        };
        Self {
            shared: Arc::new(Mutex::new(shared)),
            cursor: Cursor::default(),
        }
    }

    /// Whether the request can still be sent again: every byte read so far is kept, and the
    /// source has not failed.
    pub fn is_replayable(&self) -> bool {
        lock(&self.shared).replayable()
    }

    /// A body for the next attempt, replaying from the start; `None` when not replayable.
    /// From now on, only the returned clone may read.
    pub fn try_clone(&self) -> Option<Self> {
        let mut shared = lock(&self.shared);
        if !shared.replayable() {
            return None;
        }
        shared.newest = shared.newest.saturating_add(1);
        Some(Self {
            shared: Arc::clone(&self.shared),
            cursor: Cursor {
                generation: shared.newest,
                ..Cursor::default()
            },
        })
    }
}

impl<B> Body for ReplayBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Self { shared, cursor } = self.get_mut();
        cursor.poll(&mut lock(shared), cx)
    }

    fn is_end_stream(&self) -> bool {
        let shared = lock(&self.shared);
        // A superseded or failed clone is not at its end: it must be polled to see its error,
        // or the upstream would take a truncated body for a complete one.
        if shared.newest != self.cursor.generation || self.cursor.next_chunk < shared.chunks_read {
            return false;
        }
        match shared.state {
            SourceState::Failed => false,
            SourceState::Ended => self.cursor.trailers_sent || shared.trailers.is_none(),
            SourceState::Reading => shared.source.as_ref().is_none_or(Body::is_end_stream),
        }
    }

    fn size_hint(&self) -> SizeHint {
        let shared = lock(&self.shared);
        if shared.newest != self.cursor.generation || shared.state == SourceState::Failed {
            return SizeHint::default();
        }
        let replay = shared.bytes_read.saturating_sub(self.cursor.yielded);
        match (&shared.state, &shared.source) {
            (SourceState::Reading, Some(source)) => {
                let inner = source.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower().saturating_add(replay));
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper.saturating_add(replay));
                }
                hint
            }
            _ => SizeHint::with_exact(replay),
        }
    }
}

impl<B> std::fmt::Debug for ReplayBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = lock(&self.shared);
        f.debug_struct("ReplayBody")
            .field("generation", &self.cursor.generation)
            .field("newest", &shared.newest)
            .field("bytes_read", &shared.bytes_read)
            .field("capped", &shared.capped)
            .field("state", &shared.state)
            .finish()
    }
}

// === impl Cursor ===

impl Cursor {
    fn poll<B>(
        &mut self,
        shared: &mut Shared<B>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Into<BoxError>,
    {
        if shared.newest != self.generation {
            return Poll::Ready(Some(Err(ReplayError::Superseded.into())));
        }
        // Behind the live edge: replay what an earlier attempt read.
        if self.next_chunk < shared.chunks_read {
            let Some(chunk) = shared
                .chunks
                .get(self.next_chunk)
                .filter(|_| !shared.capped)
            else {
                return Poll::Ready(Some(Err(ReplayError::NotReplayable.into())));
            };
            self.next_chunk += 1;
            self.yielded = self.yielded.saturating_add(chunk.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(chunk.clone()))));
        }
        match shared.state {
            SourceState::Failed => return Poll::Ready(Some(Err(ReplayError::SourceFailed.into()))),
            SourceState::Ended => return Poll::Ready(self.take_trailers(shared).map(Ok)),
            SourceState::Reading => {}
        }
        let Some(source) = shared.source.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = match Pin::new(source).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(polled) => polled,
        };
        match polled {
            None => {
                shared.state = SourceState::Ended;
                shared.source = None;
                Poll::Ready(None)
            }
            Some(Err(error)) => {
                shared.state = SourceState::Failed;
                shared.source = None;
                shared.chunks = Vec::new();
                Poll::Ready(Some(Err(error.into())))
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    shared.keep(&data);
                    self.next_chunk = shared.chunks_read;
                    self.yielded = shared.bytes_read;
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        if !shared.capped {
                            shared.trailers = Some(trailers.clone());
                        }
                        self.trailers_sent = true;
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
            },
        }
    }

    /// The trailers, once per clone, after the data of an ended source.
    fn take_trailers<B>(&mut self, shared: &Shared<B>) -> Option<Frame<Bytes>> {
        if self.trailers_sent {
            return None;
        }
        self.trailers_sent = true;
        shared.trailers.clone().map(Frame::trailers)
    }
}

// === impl Shared ===

impl<B: Body> Shared<B> {
    fn replayable(&self) -> bool {
        !self.capped && self.state != SourceState::Failed
    }

    /// Counts a chunk read from the source and keeps it while under the limit.
    fn keep(&mut self, data: &Bytes) {
        let len = data.len() as u64;
        self.chunks_read = self.chunks_read.saturating_add(1);
        self.bytes_read = self.bytes_read.saturating_add(len);
        if self.capped {
            return;
        }
        // Cap as soon as the body is known to outgrow the limit: by what was read, or by
        // what the source still announces (Content-Length), so no memory is spent on a body
        // that could never be replayed. Nothing read yet means nothing lost yet.
        let remaining = self
            .source
            .as_ref()
            .map_or(0, |source| source.size_hint().lower());
        if self.bytes_read > 0 && self.bytes_read.saturating_add(remaining) > self.max_bytes {
            self.capped = true;
            self.chunks = Vec::new();
            self.trailers = None;
        } else {
            self.chunks.push(data.clone());
        }
    }
}

/// Locks the shared state. Nothing panics while it is held (only the source's `poll_frame`
/// runs under it, and a panic there fails the request anyway), so a poisoned lock is used
/// as is.
fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
