//! `timeout`: drops all data; closes the link after `timeout` ms, or never when 0.

use serde::{Deserialize, Serialize};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::{StageExit, Stub, millis};

/// Attributes of a `timeout` toxic.
///
/// Every chunk in this direction is dropped. With `timeout > 0` the link closes that many
/// ms after the stage started (connection start, toxic added, or any change to the chain,
/// which restarts the countdown). With `0` nothing closes: the connection hangs until the
/// toxic is removed, and removing it closes the connection (data was lost, the stream is
/// unusable). An end of input does not close either; it is held like the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timeout {
    /// Milliseconds before the link closes (JSON `timeout`); 0 (default) holds forever.
    #[serde(rename = "timeout")]
    pub timeout_ms: i64,
}

// === impl Timeout ===

impl Timeout {
    pub(super) async fn pipe(&self, stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
        let deadline = (self.timeout_ms > 0).then(|| Instant::now() + millis(self.timeout_ms));
        let mut input_open = true;
        loop {
            tokio::select! {
                biased;
                () = interrupt.cancelled() => return StageExit::Interrupted,
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    return stub.close();
                }
                chunk = stub.input.recv(), if input_open => {
                    // Dropped on the floor; the end of input is held too.
                    input_open = chunk.is_some();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::advance;

    use super::*;
    use crate::faultproxy::toxics::test_stub::{chunk, stub};

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn timeout_drops_data_and_closes_after_the_timeout() {
        let (mut stub, tx, mut rx) = stub(4);
        let toxic = Timeout { timeout_ms: 500 };
        tx.send(chunk(b"lost")).await.unwrap();
        let start = Instant::now();
        let task =
            tokio::spawn(async move { toxic.pipe(&mut stub, &CancellationToken::new()).await });
        assert!(rx.recv().await.is_none(), "closed without passing data");
        assert_eq!(Instant::now() - start, Duration::from_millis(500));
        assert_eq!(task.await.unwrap(), StageExit::Closed);
        drop(tx);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn timeout_zero_holds_even_after_end_of_input_until_interrupted() {
        let (mut stub, tx, mut rx) = stub(4);
        let toxic = Timeout { timeout_ms: 0 };
        tx.send(chunk(b"lost")).await.unwrap();
        drop(tx);
        let interrupt = CancellationToken::new();
        let stage = interrupt.clone();
        let task = tokio::spawn(async move {
            let exit = toxic.pipe(&mut stub, &stage).await;
            (exit, stub)
        });
        advance(Duration::from_secs(3600)).await;
        assert!(rx.try_recv().is_err(), "nothing passed, nothing closed");
        assert!(!task.is_finished());
        interrupt.cancel();
        let (exit, stub) = task.await.unwrap();
        assert_eq!(exit, StageExit::Interrupted);
        assert!(!stub.is_closed());
    }
}
