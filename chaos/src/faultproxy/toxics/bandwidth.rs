//! `bandwidth`: paces bytes to `rate` KB/s (1 KB = 1000 bytes).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use super::{Chunk, StageExit, Stub};

/// Longest a piece waits: chunks bigger than 100 ms worth of bytes leave in 100 ms slices.
const SLICE: Duration = Duration::from_millis(100);

/// Attributes of a `bandwidth` toxic.
///
/// Each chunk is held `len / rate` ms after the previous one left (Toxiproxy's pacing:
/// oversleep is paid back on the next chunk; idle time earns no credit). A chunk bigger
/// than 100 ms worth of bytes leaves in 100 ms slices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bandwidth {
    /// Rate in KB/s, 1 KB = 1000 bytes (JSON `rate`); 0 or less means unlimited.
    #[serde(rename = "rate")]
    pub rate_kb_per_s: i64,
}

// === impl Bandwidth ===

impl Bandwidth {
    pub(super) async fn pipe(&self, stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
        // Signed nanoseconds still owed; negative after an oversleep.
        let mut owed: i128 = 0;
        loop {
            let chunk = tokio::select! {
                biased;
                () = interrupt.cancelled() => return StageExit::Interrupted,
                chunk = stub.input.recv() => chunk,
            };
            let Some(mut chunk) = chunk else {
                return stub.close();
            };
            let rate = self.rate_kb_per_s;
            if rate <= 0 {
                owed = 0;
            } else {
                // rate KB/s is `rate` bytes per millisecond.
                owed += chunk.data.len() as i128 * 1_000_000 / i128::from(rate);
                let slice_bytes = usize::try_from(rate.saturating_mul(100)).unwrap_or(usize::MAX);
                while chunk.data.len() > slice_bytes {
                    if wait(interrupt, SLICE).await {
                        return flush(stub, chunk).await;
                    }
                    let piece = Chunk {
                        data: chunk.data.split_to(slice_bytes),
                        at: chunk.at,
                    };
                    if stub.forward(piece).await.is_err() {
                        return stub.close();
                    }
                    owed -= SLICE.as_nanos() as i128;
                }
            }
            let start = Instant::now();
            let nap = Duration::from_nanos(u64::try_from(owed.max(0)).unwrap_or(u64::MAX));
            if wait(interrupt, nap).await {
                return flush(stub, chunk).await;
            }
            owed -= start.elapsed().as_nanos() as i128;
            if stub.forward(chunk).await.is_err() {
                return stub.close();
            }
        }
    }
}

/// Sleeps `duration`; true when interrupted first.
async fn wait(interrupt: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        biased;
        () = interrupt.cancelled() => true,
        () = sleep(duration) => false,
    }
}

/// On interrupt the rest of the chunk goes on at once rather than being dropped.
async fn flush(stub: &mut Stub, chunk: Chunk) -> StageExit {
    let _ = stub.forward(chunk).await;
    StageExit::Interrupted
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::faultproxy::toxics::test_stub::stub;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn bandwidth_paces_bytes_to_the_rate() {
        let (mut stub, tx, mut rx) = stub(16);
        let toxic = Bandwidth { rate_kb_per_s: 10 };
        let start = Instant::now();
        for _ in 0..4 {
            let data = Bytes::from(vec![0u8; 500]);
            tx.send(Chunk { data, at: start }).await.unwrap();
        }
        drop(tx);
        let task =
            tokio::spawn(async move { toxic.pipe(&mut stub, &CancellationToken::new()).await });
        let mut arrivals = Vec::new();
        while let Some(chunk) = rx.recv().await {
            assert_eq!(chunk.data.len(), 500);
            arrivals.push(Instant::now() - start);
        }
        // 500 bytes at 10 bytes/ms: 50 ms each.
        let expected: Vec<_> = (1..=4).map(|i| Duration::from_millis(50 * i)).collect();
        assert_eq!(arrivals, expected);
        assert_eq!(task.await.unwrap(), StageExit::Closed);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn bandwidth_splits_big_chunks_into_100ms_slices() {
        let (mut stub, tx, mut rx) = stub(16);
        let toxic = Bandwidth { rate_kb_per_s: 1 };
        let start = Instant::now();
        let data = Bytes::from(vec![0u8; 250]);
        tx.send(Chunk { data, at: start }).await.unwrap();
        drop(tx);
        tokio::spawn(async move { toxic.pipe(&mut stub, &CancellationToken::new()).await });
        let mut pieces = Vec::new();
        while let Some(chunk) = rx.recv().await {
            pieces.push((chunk.data.len(), Instant::now() - start));
        }
        let ms = Duration::from_millis;
        assert_eq!(pieces, vec![(100, ms(100)), (100, ms(200)), (50, ms(250))]);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn bandwidth_zero_rate_is_unlimited() {
        let (mut stub, tx, mut rx) = stub(4);
        let toxic = Bandwidth { rate_kb_per_s: 0 };
        let start = Instant::now();
        let data = Bytes::from(vec![0u8; 1 << 20]);
        tx.send(Chunk { data, at: start }).await.unwrap();
        drop(tx);
        tokio::spawn(async move { toxic.pipe(&mut stub, &CancellationToken::new()).await });
        assert_eq!(rx.recv().await.unwrap().data.len(), 1 << 20);
        assert_eq!(Instant::now(), start);
    }
}
