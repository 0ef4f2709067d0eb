//! `latency`: holds each chunk until `latency ± jitter` ms after it was read.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::{StageExit, Stub, millis};

/// Chunks buffered in front of a latency stage (Toxiproxy's 1024), so reading goes on
/// while one chunk is held: a multi-chunk response is delayed about once, not per chunk.
pub(super) const BUFFER_SIZE: usize = 1024;

/// Attributes of a `latency` toxic.
///
/// Each chunk (one socket read) is released `latency ± jitter` ms after it was read: the
/// delay is drawn per chunk, uniform over whole milliseconds in
/// `[latency - jitter, latency + jitter)`, and a negative delay means none. Chunks keep
/// their order. The release time becomes the chunk's new read time, so a second latency
/// toxic adds its delay on top.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    /// Base delay in milliseconds (JSON `latency`); default 0.
    #[serde(rename = "latency")]
    pub latency_ms: i64,
    /// Spread around the base delay in milliseconds (JSON `jitter`); default 0, no spread.
    #[serde(rename = "jitter")]
    pub jitter_ms: i64,
}

// === impl Latency ===

impl Latency {
    /// One draw of the delay for a chunk.
    pub(crate) fn delay(&self, rng: &mut StdRng) -> Duration {
        let mut delay = self.latency_ms;
        if self.jitter_ms > 0 {
            let spread = self.jitter_ms.saturating_mul(2);
            delay = delay.saturating_add(rng.random_range(0..spread) - self.jitter_ms);
        }
        millis(delay)
    }

    pub(super) async fn pipe(
        &self,
        stub: &mut Stub,
        interrupt: &CancellationToken,
        rng: &mut StdRng,
    ) -> StageExit {
        loop {
            let chunk = tokio::select! {
                biased;
                () = interrupt.cancelled() => return StageExit::Interrupted,
                chunk = stub.input.recv() => chunk,
            };
            let Some(mut chunk) = chunk else {
                return stub.close();
            };
            let release = chunk.at + self.delay(rng);
            let interrupted = tokio::select! {
                biased;
                () = interrupt.cancelled() => true,
                () = sleep_until(release) => false,
            };
            if interrupted {
                // A chain change releases the held chunk at once rather than drop it.
                let _ = stub.forward(chunk).await;
                return StageExit::Interrupted;
            }
            chunk.at = release;
            if stub.forward(chunk).await.is_err() {
                return stub.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use tokio::time::{Instant, advance};

    use super::*;
    use crate::faultproxy::toxics::test_stub::{chunk, stub};

    #[test]
    fn latency_delay_with_jitter_stays_in_half_open_range() {
        let toxic = Latency {
            latency_ms: 100,
            jitter_ms: 10,
        };
        let mut rng = StdRng::seed_from_u64(7);
        let draws: Vec<_> = (0..2000).map(|_| toxic.delay(&mut rng)).collect();
        let min = draws.iter().min().unwrap();
        let max = draws.iter().max().unwrap();
        assert_eq!(*min, Duration::from_millis(90));
        assert_eq!(*max, Duration::from_millis(109));
    }

    #[test]
    fn latency_delay_negative_is_zero() {
        let toxic = Latency {
            latency_ms: -5,
            jitter_ms: 0,
        };
        assert_eq!(toxic.delay(&mut StdRng::seed_from_u64(0)), Duration::ZERO);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn latency_holds_each_chunk_from_its_read_time_and_pipelines() {
        let (mut stub, tx, mut rx) = stub(BUFFER_SIZE);
        let toxic = Latency {
            latency_ms: 200,
            jitter_ms: 0,
        };
        let start = Instant::now();
        tx.send(chunk(b"a")).await.unwrap();
        advance(Duration::from_millis(50)).await;
        tx.send(chunk(b"b")).await.unwrap();
        drop(tx);
        let task = tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0);
            toxic
                .pipe(&mut stub, &CancellationToken::new(), &mut rng)
                .await
        });
        let first = rx.recv().await.unwrap();
        assert_eq!(first.at - start, Duration::from_millis(200));
        assert_eq!(Instant::now() - start, Duration::from_millis(200));
        let second = rx.recv().await.unwrap();
        // Read 50 ms later, so released 50 ms later: pipelined, not 400 ms.
        assert_eq!(Instant::now() - start, Duration::from_millis(250));
        assert_eq!(&second.data[..], b"b");
        assert_eq!(task.await.unwrap(), StageExit::Closed);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn latency_interrupted_releases_the_held_chunk_at_once() {
        let (mut stub, tx, mut rx) = stub(BUFFER_SIZE);
        let toxic = Latency {
            latency_ms: 10_000,
            jitter_ms: 0,
        };
        tx.send(chunk(b"held")).await.unwrap();
        let interrupt = CancellationToken::new();
        let stage = interrupt.clone();
        let start = Instant::now();
        let task = tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0);
            toxic.pipe(&mut stub, &stage, &mut rng).await
        });
        advance(Duration::from_millis(5)).await;
        interrupt.cancel();
        assert_eq!(task.await.unwrap(), StageExit::Interrupted);
        assert_eq!(&rx.recv().await.unwrap().data[..], b"held");
        assert!(Instant::now() - start < Duration::from_millis(10));
    }
}
