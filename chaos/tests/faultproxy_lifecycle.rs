//! Proxy lifecycle on live traffic: disable/enable, delete, reset, toxic changes reaching
//! open connections, upstream failures, listen changes.

mod faultproxy_support;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use chaos::faultproxy::{Latency, NewToxic, ProxyUpdate, Stream, ToxicKind, ToxicUpdate};
use faultproxy_support::{
    Behavior, Harness, Upstream, WAIT, addr, closed_within, connect, read_to_end, round_trip,
};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn latency(ms: i64) -> ToxicKind {
    ToxicKind::Latency(Latency {
        latency_ms: ms,
        jitter_ms: 0,
    })
}

fn enabled(on: bool) -> ProxyUpdate {
    ProxyUpdate {
        enabled: Some(on),
        ..ProxyUpdate::default()
    }
}

async fn refused(addr: std::net::SocketAddr) -> bool {
    matches!(
        timeout(WAIT, TcpStream::connect(addr)).await,
        Ok(Err(err)) if err.kind() == ErrorKind::ConnectionRefused
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_refuses_connects_and_closes_live_connections_enable_restores() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let mut live = connect(proxy).await;
    round_trip(&mut live, b"before").await;

    let state = harness
        .proxy
        .update_proxy("echo", enabled(false))
        .await
        .unwrap();
    assert!(!state.enabled);
    assert!(
        closed_within(&mut live, MS(500)).await,
        "live connection closed"
    );
    assert!(refused(proxy).await, "new connects refused");

    let state = harness
        .proxy
        .update_proxy("echo", enabled(true))
        .await
        .unwrap();
    assert!(state.enabled);
    assert_eq!(addr(&state), proxy, "listens on the same address again");
    let mut again = connect(proxy).await;
    round_trip(&mut again, b"after").await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxics_survive_disable_and_enable() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let toxic = NewToxic::new(Stream::Downstream, latency(100));
    harness.proxy.add_toxic("echo", toxic).await.unwrap();
    harness
        .proxy
        .update_proxy("echo", enabled(false))
        .await
        .unwrap();
    let state = harness
        .proxy
        .update_proxy("echo", enabled(true))
        .await
        .unwrap();
    assert_eq!(state.toxics.len(), 1);
    let mut stream = connect(proxy).await;
    let elapsed = round_trip(&mut stream, b"x").await;
    assert!(elapsed >= MS(100) && elapsed < MS(150), "{elapsed:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_closes_live_connections_and_the_listener() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let mut live = connect(proxy).await;
    round_trip(&mut live, b"x").await;
    harness.proxy.delete_proxy("echo").await.unwrap();
    assert!(closed_within(&mut live, MS(500)).await);
    assert!(refused(proxy).await);
    assert!(harness.proxy.proxies().await.is_empty());
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxic_added_updated_and_removed_applies_to_an_open_connection() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let mut stream = connect(proxy).await;
    assert!(round_trip(&mut stream, b"a").await < MS(50));

    let toxic = NewToxic::new(Stream::Downstream, latency(150)).named("slow");
    harness.proxy.add_toxic("echo", toxic).await.unwrap();
    let added = round_trip(&mut stream, b"b").await;
    assert!(added >= MS(150) && added < MS(200), "added: {added:?}");

    let update = ToxicUpdate {
        toxicity: None,
        attributes: json!({"latency": 300}).as_object().unwrap().clone(),
    };
    harness
        .proxy
        .update_toxic("echo", "slow", update)
        .await
        .unwrap();
    let updated = round_trip(&mut stream, b"c").await;
    assert!(
        updated >= MS(300) && updated < MS(350),
        "updated: {updated:?}"
    );

    harness.proxy.remove_toxic("echo", "slow").await.unwrap();
    assert!(round_trip(&mut stream, b"d").await < MS(50), "removed");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_latency_releases_a_held_answer_at_once() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let toxic = NewToxic::new(Stream::Downstream, latency(5000)).named("slow");
    harness.proxy.add_toxic("echo", toxic).await.unwrap();
    let mut stream = connect(proxy).await;
    let start = Instant::now();
    stream.write_all(b"held").await.unwrap();
    tokio::time::sleep(MS(100)).await;
    let proxies = harness.proxy.clone();
    let remove = tokio::spawn(async move { proxies.remove_toxic("echo", "slow").await });
    let mut back = [0u8; 4];
    timeout(
        WAIT,
        tokio::io::AsyncReadExt::read_exact(&mut stream, &mut back),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(&back, b"held");
    assert!(start.elapsed() < MS(1000), "{:?}", start.elapsed());
    remove.await.unwrap().unwrap();
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_enables_every_proxy_and_removes_every_toxic() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    harness.proxy_to("other", upstream.addr).await;
    let toxic = NewToxic::new(Stream::Upstream, latency(500));
    harness.proxy.add_toxic("echo", toxic).await.unwrap();
    harness
        .proxy
        .update_proxy("other", enabled(false))
        .await
        .unwrap();

    harness.proxy.reset().await.unwrap();
    let states = harness.proxy.proxies().await;
    assert_eq!(states.len(), 2, "proxies are kept");
    assert!(
        states
            .values()
            .all(|state| state.enabled && state.toxics.is_empty())
    );
    let mut stream = connect(proxy).await;
    assert!(round_trip(&mut stream, b"x").await < MS(100));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_gives_a_connect_then_eof_not_a_refusal() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("dead", dead).await);
    let mut stream = connect(proxy).await;
    let (data, _) = read_to_end(&mut stream).await;
    assert!(data.is_empty());
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_change_moves_the_proxy_and_drops_its_connections() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let old = addr(&harness.proxy_to("echo", upstream.addr).await);
    let mut live = connect(old).await;
    round_trip(&mut live, b"x").await;
    let update = ProxyUpdate {
        listen: Some("127.0.0.1:0".into()),
        ..ProxyUpdate::default()
    };
    let state = harness.proxy.update_proxy("echo", update).await.unwrap();
    let new = addr(&state);
    assert_ne!(new, old);
    assert!(state.enabled);
    assert!(closed_within(&mut live, MS(500)).await);
    assert!(refused(old).await);
    round_trip(&mut connect(new).await, b"y").await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_proxied_connection() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut stream = connect(proxy).await;
        round_trip(&mut stream, b"x").await;
        streams.push(stream);
    }
    harness.proxy.shutdown().await;
    for stream in &mut streams {
        assert!(closed_within(stream, MS(200)).await);
    }
    assert!(refused(proxy).await);
    harness.stop().await;
}
