//! `slow_close`: data passes; the end of the stream is passed on `delay` ms late.

use serde::{Deserialize, Serialize};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::{StageExit, Stub, millis};

/// Attributes of a `slow_close` toxic.
///
/// Data passes unchanged; when the source closes, the close reaches the other side `delay`
/// ms later. An interrupt during the wait restarts it with the stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlowClose {
    /// Delay of the close in milliseconds (JSON `delay`); default 0.
    #[serde(rename = "delay")]
    pub delay_ms: i64,
}

// === impl SlowClose ===

impl SlowClose {
    pub(super) async fn pipe(&self, stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
        loop {
            let chunk = tokio::select! {
                biased;
                () = interrupt.cancelled() => return StageExit::Interrupted,
                chunk = stub.input.recv() => chunk,
            };
            let Some(chunk) = chunk else {
                return tokio::select! {
                    biased;
                    () = interrupt.cancelled() => StageExit::Interrupted,
                    () = sleep(millis(self.delay_ms)) => stub.close(),
                };
            };
            if stub.forward(chunk).await.is_err() {
                return stub.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::faultproxy::toxics::test_stub::{chunk, stub};

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn slow_close_passes_data_at_once_and_delays_the_close() {
        let (mut stub, tx, mut rx) = stub(4);
        let toxic = SlowClose { delay_ms: 300 };
        tx.send(chunk(b"x")).await.unwrap();
        drop(tx);
        let start = Instant::now();
        let task =
            tokio::spawn(async move { toxic.pipe(&mut stub, &CancellationToken::new()).await });
        assert_eq!(&rx.recv().await.unwrap().data[..], b"x");
        assert_eq!(Instant::now(), start);
        assert!(rx.recv().await.is_none());
        assert_eq!(Instant::now() - start, Duration::from_millis(300));
        assert_eq!(task.await.unwrap(), StageExit::Closed);
    }
}
