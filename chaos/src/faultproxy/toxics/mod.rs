//! The toxics: one file per kind, each a stage that transforms one link's stream of chunks.
//!
//! A link (one direction of one connection) is a chain of stages joined by channels, like
//! Toxiproxy's chain of stubs: the socket reader feeds the head (a hidden `noop`), every
//! toxic reads its [`Stub`]'s input and writes its output, and the socket writer drains the
//! tail. A stage runs until its input ends (it then closes its output, which closes the rest
//! of the chain) or until it is interrupted, when it hands its stub back so the chain can be
//! rewired (see `link`).

mod bandwidth;
mod latency;
mod limit_data;
mod noop;
mod reset_peer;
mod slicer;
mod slow_close;
mod timeout;

use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::StdRng;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use self::bandwidth::Bandwidth;
pub use self::latency::Latency;
pub use self::limit_data::LimitData;
pub use self::reset_peer::ResetPeer;
pub use self::slicer::Slicer;
pub use self::slow_close::SlowClose;
pub use self::timeout::Timeout;

use super::connection::Sockets;

/// Channel capacity standing in for Go's unbuffered channels (tokio needs at least one slot).
pub(crate) const UNBUFFERED: usize = 1;

/// What one `read()` returned from a socket, and when it was read.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) data: Bytes,
    /// When the bytes were read; `latency` delays relative to it and moves it forward, so
    /// several latency toxics add up.
    pub(crate) at: Instant,
}

/// One stage's ends of the chain, plus the state a stage keeps across restarts.
#[derive(Debug)]
pub(crate) struct Stub {
    pub(crate) input: mpsc::Receiver<Chunk>,
    /// `None` once the stage closed its output (the rest of the chain then sees the end).
    pub(crate) output: Option<mpsc::Sender<Chunk>>,
    /// Bytes `limit_data` has let through on this link; survives restarts of the stage,
    /// starts at zero when the stage is created (connection start or toxic added).
    pub(crate) forwarded: u64,
    /// The connection's sockets, for `reset_peer`.
    pub(crate) sockets: Arc<Sockets>,
}

/// How a stage stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StageExit {
    /// Interrupted for a chain change; the stub is intact and the stage can be restarted.
    Interrupted,
    /// The stage closed its output; this link is finishing.
    Closed,
    /// The connection was killed (proxy disabled or deleted, or the connection ended).
    Killed,
}

/// The output is gone: the stage must stop.
#[derive(Debug)]
pub(crate) struct OutputClosed;

// === impl Stub ===

impl Stub {
    pub(crate) fn new(
        input: mpsc::Receiver<Chunk>,
        output: mpsc::Sender<Chunk>,
        sockets: Arc<Sockets>,
    ) -> Self {
        Stub {
            input,
            output: Some(output),
            forwarded: 0,
            sockets,
        }
    }

    /// Passes a chunk on, waiting while the next stage is full (as Go's unbuffered sends do,
    /// without watching for interrupts).
    pub(crate) async fn forward(&mut self, chunk: Chunk) -> Result<(), OutputClosed> {
        match &self.output {
            Some(output) => output.send(chunk).await.map_err(|_| OutputClosed),
            None => Err(OutputClosed),
        }
    }

    /// Closes the output, ending the link after what is already queued downstream.
    pub(crate) fn close(&mut self) -> StageExit {
        self.output = None;
        StageExit::Closed
    }

    /// Whether the output was closed.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.output.is_none()
    }
}

/// A toxic's kind and attributes, as given by the API (`type` + `attributes`).
#[derive(Debug, Clone, PartialEq)]
pub enum ToxicKind {
    /// Passes everything through; Toxiproxy accepts it as a type too.
    Noop,
    /// Delays every chunk.
    Latency(Latency),
    /// Limits the rate of bytes.
    Bandwidth(Bandwidth),
    /// Delays the close.
    SlowClose(SlowClose),
    /// Drops all data, then closes (or holds forever).
    Timeout(Timeout),
    /// Resets the connection with TCP RST on the first data.
    ResetPeer(ResetPeer),
    /// Splits chunks into small pieces.
    Slicer(Slicer),
    /// Closes after a number of bytes.
    LimitData(LimitData),
}

// === impl ToxicKind ===

impl ToxicKind {
    /// The `type` string of this kind, as Toxiproxy spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Noop => "noop",
            ToxicKind::Latency(_) => "latency",
            ToxicKind::Bandwidth(_) => "bandwidth",
            ToxicKind::SlowClose(_) => "slow_close",
            ToxicKind::Timeout(_) => "timeout",
            ToxicKind::ResetPeer(_) => "reset_peer",
            ToxicKind::Slicer(_) => "slicer",
            ToxicKind::LimitData(_) => "limit_data",
        }
    }

    /// The kind named `type_name` with every attribute at its default (0); `None` for an
    /// unknown type.
    pub fn with_defaults(type_name: &str) -> Option<Self> {
        Some(match type_name {
            "noop" => ToxicKind::Noop,
            "latency" => ToxicKind::Latency(Latency::default()),
            "bandwidth" => ToxicKind::Bandwidth(Bandwidth::default()),
            "slow_close" => ToxicKind::SlowClose(SlowClose::default()),
            "timeout" => ToxicKind::Timeout(Timeout::default()),
            "reset_peer" => ToxicKind::ResetPeer(ResetPeer::default()),
            "slicer" => ToxicKind::Slicer(Slicer::default()),
            "limit_data" => ToxicKind::LimitData(LimitData::default()),
            _ => return None,
        })
    }

    /// Capacity of this stage's input channel: latency buffers 1024 chunks (so chunks read
    /// while one is held queue up and are pipelined), the others are unbuffered.
    pub(crate) fn buffer_size(&self) -> usize {
        match self {
            ToxicKind::Latency(_) => latency::BUFFER_SIZE,
            _ => UNBUFFERED,
        }
    }

    /// Whether removing this toxic closes the link instead of rewiring it (Toxiproxy's
    /// `CleanupToxic`): a removed `timeout` dropped data, so the stream is unusable.
    pub(crate) fn closes_on_removal(&self) -> bool {
        matches!(self, ToxicKind::Timeout(_))
    }

    /// Runs the toxic on `stub` until its input ends, it closes, or `interrupt` fires.
    pub(crate) async fn pipe(
        &self,
        stub: &mut Stub,
        interrupt: &CancellationToken,
        rng: &mut StdRng,
    ) -> StageExit {
        match self {
            ToxicKind::Noop => noop::pipe(stub, interrupt).await,
            ToxicKind::Latency(toxic) => toxic.pipe(stub, interrupt, rng).await,
            ToxicKind::Bandwidth(toxic) => toxic.pipe(stub, interrupt).await,
            ToxicKind::SlowClose(toxic) => toxic.pipe(stub, interrupt).await,
            ToxicKind::Timeout(toxic) => toxic.pipe(stub, interrupt).await,
            ToxicKind::ResetPeer(toxic) => toxic.pipe(stub, interrupt).await,
            ToxicKind::Slicer(toxic) => toxic.pipe(stub, interrupt, rng).await,
            ToxicKind::LimitData(toxic) => toxic.pipe(stub, interrupt).await,
        }
    }
}

/// Milliseconds from an attribute (negative means zero).
pub(crate) fn millis(value: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(value).unwrap_or(0))
}

/// Runs a stage that passes everything through (Toxiproxy's noop), for a toxic whose
/// toxicity roll failed.
pub(crate) async fn pipe_noop(stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
    noop::pipe(stub, interrupt).await
}

#[cfg(test)]
pub(crate) mod test_stub {
    //! A stub wired to test channels, for the toxics' unit tests.

    use std::sync::Arc;

    use bytes::Bytes;
    use tokio::sync::mpsc;
    use tokio::time::Instant;

    use super::{Chunk, Stub};
    use crate::faultproxy::connection::Sockets;

    /// The stub plus the test's ends: `tx` feeds its input, `rx` reads its output.
    pub(crate) fn stub(capacity: usize) -> (Stub, mpsc::Sender<Chunk>, mpsc::Receiver<Chunk>) {
        let (tx, input) = mpsc::channel(capacity);
        let (output, rx) = mpsc::channel(capacity);
        let stub = Stub::new(input, output, Arc::new(Sockets::detached()));
        (stub, tx, rx)
    }

    pub(crate) fn chunk(data: &'static [u8]) -> Chunk {
        Chunk {
            data: Bytes::from_static(data),
            at: Instant::now(),
        }
    }
}
