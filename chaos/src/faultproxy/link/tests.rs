//! Chain rewiring on a live link, with paused time and the link's channel ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::LinkChain;
use crate::faultproxy::connection::{LinkEnds, Sockets};
use crate::faultproxy::model::{Stream, Toxic};
use crate::faultproxy::toxics::{Chunk, Latency, Timeout, ToxicKind};

fn toxic(name: &str, toxicity: f32, kind: ToxicKind) -> Arc<Toxic> {
    Arc::new(Toxic {
        name: name.into(),
        stream: Stream::Downstream,
        toxicity,
        kind,
    })
}

fn head() -> Arc<Toxic> {
    toxic("", 1.0, ToxicKind::Noop)
}

fn latency(ms: i64) -> ToxicKind {
    ToxicKind::Latency(Latency {
        latency_ms: ms,
        jitter_ms: 0,
    })
}

fn start(chain: &[Arc<Toxic>]) -> (LinkChain, LinkEnds) {
    LinkChain::start(
        chain,
        Arc::new(Sockets::detached()),
        CancellationToken::new(),
        1,
    )
}

async fn send(ends: &LinkEnds, data: &'static [u8]) {
    let chunk = Chunk {
        data: Bytes::from_static(data),
        at: Instant::now(),
    };
    ends.input.send(chunk).await.unwrap();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn link_added_latency_applies_to_later_chunks() {
    let (mut link, mut ends) = start(&[head()]);
    send(&ends, b"before").await;
    let start = Instant::now();
    assert_eq!(&ends.output.recv().await.unwrap().data[..], b"before");
    assert_eq!(Instant::now(), start);

    link.add(toxic("slow", 1.0, latency(100))).await;
    send(&ends, b"after").await;
    assert_eq!(&ends.output.recv().await.unwrap().data[..], b"after");
    assert_eq!(Instant::now() - start, Duration::from_millis(100));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn link_toxic_with_zero_toxicity_runs_as_noop() {
    let (_link, mut ends) = start(&[head(), toxic("slow", 0.0, latency(100))]);
    let start = Instant::now();
    send(&ends, b"x").await;
    ends.output.recv().await.unwrap();
    assert_eq!(Instant::now(), start);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn link_removed_latency_releases_held_chunks_at_once() {
    let (mut link, mut ends) = start(&[head(), toxic("slow", 1.0, latency(10_000))]);
    let start = Instant::now();
    send(&ends, b"a").await;
    send(&ends, b"b").await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The removal flushes into the output, so drain it meanwhile as the socket writer does.
    let removal = tokio::spawn(async move {
        link.remove(1).await;
        link
    });
    assert_eq!(&ends.output.recv().await.unwrap().data[..], b"a");
    assert_eq!(&ends.output.recv().await.unwrap().data[..], b"b");
    assert!(Instant::now() - start < Duration::from_millis(20));
    let _link = removal.await.unwrap();
    // The chain still works without the toxic.
    send(&ends, b"c").await;
    assert_eq!(&ends.output.recv().await.unwrap().data[..], b"c");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn link_updated_latency_uses_new_attributes() {
    let (mut link, mut ends) = start(&[head(), toxic("slow", 1.0, latency(100))]);
    link.update(1, toxic("slow", 1.0, latency(300))).await;
    let start = Instant::now();
    send(&ends, b"x").await;
    ends.output.recv().await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_millis(300));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn link_removed_timeout_closes_the_link() {
    let hang = ToxicKind::Timeout(Timeout { timeout_ms: 0 });
    let (mut link, mut ends) = start(&[head(), toxic("hang", 1.0, hang)]);
    send(&ends, b"lost").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(ends.output.try_recv().is_err(), "held, nothing passed");
    link.remove(1).await;
    assert!(
        ends.output.recv().await.is_none(),
        "link closed by the removal"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn link_end_of_input_closes_output_through_the_chain() {
    let (_link, mut ends) = start(&[head(), toxic("slow", 1.0, latency(50))]);
    send(&ends, b"last").await;
    drop(ends.input);
    assert_eq!(&ends.output.recv().await.unwrap().data[..], b"last");
    assert!(ends.output.recv().await.is_none());
}
