//! `reset_peer`: on the first data (or end of input), waits `timeout` ms, then resets.

use serde::{Deserialize, Serialize};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::{StageExit, Stub, millis};

/// Attributes of a `reset_peer` toxic.
///
/// The first chunk (or end of input) after the stage starts is dropped; after `timeout` ms
/// both sockets of the connection get `SO_LINGER` 0 and the link closes, so both peers see
/// a TCP RST ("connection reset by peer"). Idle connections are untouched until they carry
/// data. The wait is not interruptible, as in Toxiproxy: a chain change during it waits for
/// the reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResetPeer {
    /// Milliseconds between the first data and the reset (JSON `timeout`); default 0.
    #[serde(rename = "timeout")]
    pub timeout_ms: i64,
}

// === impl ResetPeer ===

impl ResetPeer {
    pub(super) async fn pipe(&self, stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
        tokio::select! {
            biased;
            () = interrupt.cancelled() => return StageExit::Interrupted,
            _dropped = stub.input.recv() => {}
        }
        sleep(millis(self.timeout_ms)).await;
        stub.sockets.abort_on_close();
        stub.close()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::faultproxy::toxics::test_stub::{chunk, stub};

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn reset_peer_drops_first_chunk_and_closes_after_timeout() {
        let (mut stub, tx, mut rx) = stub(4);
        let toxic = ResetPeer { timeout_ms: 250 };
        tx.send(chunk(b"dropped")).await.unwrap();
        let start = Instant::now();
        let task =
            tokio::spawn(async move { toxic.pipe(&mut stub, &CancellationToken::new()).await });
        assert!(rx.recv().await.is_none());
        assert_eq!(Instant::now() - start, Duration::from_millis(250));
        assert_eq!(task.await.unwrap(), StageExit::Closed);
        drop(tx);
    }
}
