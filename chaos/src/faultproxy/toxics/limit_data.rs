//! `limit_data`: lets `bytes` bytes through on the link, then closes it.

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{StageExit, Stub};

/// Attributes of a `limit_data` toxic.
///
/// Forwards at most `bytes` bytes per link (one direction of one connection), cutting the
/// chunk that crosses the limit, then closes. The count survives restarts of the stage and
/// starts over when the toxic is added again or on a new connection. As in Toxiproxy the
/// limit is checked when a chunk arrives, so `bytes: 0` closes on the first data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitData {
    /// Bytes let through before the close (JSON `bytes`); default 0.
    #[serde(rename = "bytes")]
    pub bytes: i64,
}

// === impl LimitData ===

impl LimitData {
    pub(super) async fn pipe(&self, stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
        let limit = u64::try_from(self.bytes).unwrap_or(0);
        loop {
            let chunk = tokio::select! {
                biased;
                () = interrupt.cancelled() => return StageExit::Interrupted,
                chunk = stub.input.recv() => chunk,
            };
            let Some(mut chunk) = chunk else {
                return stub.close();
            };
            let remaining = limit.saturating_sub(stub.forwarded);
            if remaining < chunk.data.len() as u64 {
                // `remaining` is below a `usize` length here, so the cast is lossless.
                chunk.data.truncate(remaining as usize);
            }
            if !chunk.data.is_empty() {
                let len = chunk.data.len() as u64;
                if stub.forward(chunk).await.is_err() {
                    return stub.close();
                }
                stub.forwarded += len;
            }
            if stub.forwarded >= limit {
                return stub.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faultproxy::toxics::test_stub::{chunk, stub};

    #[tokio::test]
    async fn limit_data_forwards_exactly_the_limit_then_closes() {
        let (mut stub, tx, mut rx) = stub(8);
        tx.send(chunk(b"abcd")).await.unwrap();
        tx.send(chunk(b"efgh")).await.unwrap();
        tx.send(chunk(b"ijkl")).await.unwrap();
        let exit = LimitData { bytes: 6 }
            .pipe(&mut stub, &CancellationToken::new())
            .await;
        assert_eq!(exit, StageExit::Closed);
        assert_eq!(stub.forwarded, 6);
        assert_eq!(&rx.recv().await.unwrap().data[..], b"abcd");
        assert_eq!(&rx.recv().await.unwrap().data[..], b"ef");
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn limit_data_count_survives_a_restart() {
        let (mut stub, tx, mut rx) = stub(8);
        let toxic = LimitData { bytes: 5 };
        let interrupt = CancellationToken::new();
        tx.send(chunk(b"abc")).await.unwrap();
        let stage = interrupt.clone();
        let first = tokio::spawn(async move {
            let exit = toxic.pipe(&mut stub, &stage).await;
            (exit, stub)
        });
        assert_eq!(&rx.recv().await.unwrap().data[..], b"abc");
        interrupt.cancel();
        let (exit, mut stub) = first.await.unwrap();
        assert_eq!(exit, StageExit::Interrupted);
        tx.send(chunk(b"defg")).await.unwrap();
        let exit = toxic.pipe(&mut stub, &CancellationToken::new()).await;
        assert_eq!(exit, StageExit::Closed);
        assert_eq!(&rx.recv().await.unwrap().data[..], b"de");
    }

    #[tokio::test]
    async fn limit_data_zero_closes_on_first_data() {
        let (mut stub, tx, mut rx) = stub(8);
        tx.send(chunk(b"x")).await.unwrap();
        let exit = LimitData { bytes: 0 }
            .pipe(&mut stub, &CancellationToken::new())
            .await;
        assert_eq!(exit, StageExit::Closed);
        assert!(rx.recv().await.is_none());
    }
}
