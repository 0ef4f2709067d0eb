//! `slicer`: splits each chunk into pieces of about `average_size` bytes, `delay` µs apart.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::{Chunk, StageExit, Stub};

/// Attributes of a `slicer` toxic.
///
/// Each chunk is split in two around its middle (± a random offset under `size_variation`),
/// recursively, until a piece is at most `average_size + size_variation` bytes; the pieces
/// leave in order with a `delay` µs pause after each. Guards Toxiproxy lacks: an
/// `average_size` below 1 counts as 1, and `size_variation` is clamped below
/// `average_size` so the split always makes progress. The pause is a tokio sleep: below
/// 1 ms it rounds up to the timer's 1 ms resolution; 0 means no pause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Slicer {
    /// Target piece size in bytes (JSON `average_size`); default 0 (treated as 1).
    #[serde(rename = "average_size")]
    pub average_size_bytes: i64,
    /// Random spread of the split point in bytes (JSON `size_variation`); default 0.
    #[serde(rename = "size_variation")]
    pub size_variation_bytes: i64,
    /// Pause after each piece in microseconds (JSON `delay`); default 0.
    #[serde(rename = "delay")]
    pub delay_us: i64,
}

// === impl Slicer ===

impl Slicer {
    /// Piece boundaries `(start, end)` covering `0..len`, in order.
    pub(crate) fn pieces(&self, len: usize, rng: &mut StdRng) -> Vec<(usize, usize)> {
        let average = usize::try_from(self.average_size_bytes.max(1)).unwrap_or(usize::MAX);
        let variation = usize::try_from(self.size_variation_bytes.max(0))
            .unwrap_or(usize::MAX)
            .min(average - 1);
        let mut pieces = Vec::new();
        split(0, len, average, variation, rng, &mut pieces);
        pieces
    }

    pub(super) async fn pipe(
        &self,
        stub: &mut Stub,
        interrupt: &CancellationToken,
        rng: &mut StdRng,
    ) -> StageExit {
        let delay = Duration::from_micros(u64::try_from(self.delay_us).unwrap_or(0));
        loop {
            let chunk = tokio::select! {
                biased;
                () = interrupt.cancelled() => return StageExit::Interrupted,
                chunk = stub.input.recv() => chunk,
            };
            let Some(chunk) = chunk else {
                return stub.close();
            };
            for (start, end) in self.pieces(chunk.data.len(), rng) {
                let piece = Chunk {
                    data: chunk.data.slice(start..end),
                    at: chunk.at,
                };
                if stub.forward(piece).await.is_err() {
                    return stub.close();
                }
                if delay.is_zero() {
                    continue;
                }
                let interrupted = tokio::select! {
                    biased;
                    () = interrupt.cancelled() => true,
                    () = sleep(delay) => false,
                };
                if interrupted {
                    // The rest of the chunk goes on in one piece rather than being dropped.
                    let rest = Chunk {
                        data: chunk.data.slice(end..),
                        at: chunk.at,
                    };
                    if !rest.data.is_empty() {
                        let _ = stub.forward(rest).await;
                    }
                    return StageExit::Interrupted;
                }
            }
        }
    }
}

/// Toxiproxy's recursive halving; the guards in [`Slicer::pieces`] keep `mid` strictly
/// inside `start..end`, so it terminates.
fn split(
    start: usize,
    end: usize,
    average: usize,
    variation: usize,
    rng: &mut StdRng,
    pieces: &mut Vec<(usize, usize)>,
) {
    let len = end - start;
    if len <= average + variation {
        if len > 0 {
            pieces.push((start, end));
        }
        return;
    }
    let mut mid = start + len / 2;
    if variation > 0 {
        mid = mid + rng.random_range(0..2 * variation) - variation;
    }
    split(start, mid, average, variation, rng, pieces);
    split(mid, end, average, variation, rng, pieces);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use rand::SeedableRng;
    use tokio::time::Instant;

    use super::*;
    use crate::faultproxy::toxics::test_stub::stub;

    #[test]
    fn slicer_pieces_cover_the_chunk_in_order_within_size_bounds() {
        let toxic = Slicer {
            average_size_bytes: 10,
            size_variation_bytes: 4,
            delay_us: 0,
        };
        let mut rng = StdRng::seed_from_u64(3);
        for len in [1, 13, 14, 15, 100, 4096] {
            let pieces = toxic.pieces(len, &mut rng);
            let mut next = 0;
            for &(start, end) in &pieces {
                assert_eq!(start, next, "contiguous");
                assert!(end > start && end - start <= 14, "{len}: {start}..{end}");
                next = end;
            }
            assert_eq!(next, len);
        }
        assert!(toxic.pieces(4096, &mut rng).len() >= 4096 / 14);
    }

    #[test]
    fn slicer_zero_average_and_oversized_variation_still_terminate() {
        let toxic = Slicer {
            average_size_bytes: 0,
            size_variation_bytes: 50,
            delay_us: 0,
        };
        let pieces = toxic.pieces(64, &mut StdRng::seed_from_u64(1));
        assert_eq!(pieces.len(), 64, "pieces of one byte");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn slicer_emits_small_pieces_with_the_delay_between() {
        let (mut stub, tx, mut rx) = stub(64);
        let toxic = Slicer {
            average_size_bytes: 4,
            size_variation_bytes: 0,
            delay_us: 2_000,
        };
        let start = Instant::now();
        let data = Bytes::from_static(b"0123456789abcdef");
        tx.send(Chunk { data, at: start }).await.unwrap();
        drop(tx);
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0);
            toxic
                .pipe(&mut stub, &CancellationToken::new(), &mut rng)
                .await
        });
        let mut received = Vec::new();
        let mut times = Vec::new();
        while let Some(piece) = rx.recv().await {
            assert_eq!(piece.data.len(), 4);
            received.extend_from_slice(&piece.data);
            times.push(Instant::now() - start);
        }
        assert_eq!(received, b"0123456789abcdef");
        let ms = Duration::from_millis;
        assert_eq!(times, vec![ms(0), ms(2), ms(4), ms(6)]);
    }
}
