//! `noop`: passes every chunk through; the hidden head of every chain, and what a toxic
//! runs instead of itself when its toxicity roll fails.

use tokio_util::sync::CancellationToken;

use super::{StageExit, Stub};

/// Forwards chunks until the input ends (then closes the output) or `interrupt` fires.
pub(super) async fn pipe(stub: &mut Stub, interrupt: &CancellationToken) -> StageExit {
    loop {
        let chunk = tokio::select! {
            biased;
            () = interrupt.cancelled() => return StageExit::Interrupted,
            chunk = stub.input.recv() => chunk,
        };
        let Some(chunk) = chunk else {
            return stub.close();
        };
        if stub.forward(chunk).await.is_err() {
            return stub.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faultproxy::toxics::test_stub::{chunk, stub};

    #[tokio::test]
    async fn noop_forwards_chunks_then_closes_on_end_of_input() {
        let (mut stub, tx, mut rx) = stub(4);
        tx.send(chunk(b"ab")).await.unwrap();
        tx.send(chunk(b"cd")).await.unwrap();
        drop(tx);
        let exit = pipe(&mut stub, &CancellationToken::new()).await;
        assert_eq!(exit, StageExit::Closed);
        assert_eq!(&rx.recv().await.unwrap().data[..], b"ab");
        assert_eq!(&rx.recv().await.unwrap().data[..], b"cd");
        assert!(
            rx.recv().await.is_none(),
            "output closed after the input ended"
        );
    }

    #[tokio::test]
    async fn noop_interrupted_returns_with_output_open() {
        let (mut stub, _tx, _rx) = stub(4);
        let interrupt = CancellationToken::new();
        interrupt.cancel();
        assert_eq!(pipe(&mut stub, &interrupt).await, StageExit::Interrupted);
        assert!(!stub.is_closed());
    }
}
