//! Toxic semantics on real traffic through the fault proxy (loopback sockets, real time).
//!
//! Real sleepers pay in tolerance bands: every delay is bounded on both sides, the upper
//! bound leaving room for a loaded 2-core CI machine.

mod faultproxy_support;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use chaos::faultproxy::{
    Bandwidth, FaultProxy, Latency, LimitData, NewToxic, ResetPeer, Slicer, SlowClose, Stream,
    Timeout, ToxicKind,
};
use faultproxy_support::{
    Behavior, Harness, Upstream, WAIT, addr, closed_within, config, connect, pattern, quantile,
    read_to_end, round_trip,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn latency(ms: i64, jitter: i64) -> ToxicKind {
    ToxicKind::Latency(Latency {
        latency_ms: ms,
        jitter_ms: jitter,
    })
}

async fn add(harness: &Harness, proxy: &str, toxic: NewToxic) {
    harness.proxy.add_toxic(proxy, toxic).await.unwrap();
}

/// `rounds` echo round trips of 16 bytes on each of `connections` parallel connections.
async fn round_trips(
    proxy: std::net::SocketAddr,
    connections: usize,
    rounds: usize,
) -> Vec<Duration> {
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = connect(proxy).await;
                let mut samples = Vec::new();
                for _ in 0..rounds {
                    samples.push(round_trip(&mut stream, b"0123456789abcdef").await);
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_200ms_downstream_adds_200_to_230ms_at_p50_and_p99() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    add(
        &harness,
        "echo",
        NewToxic::new(Stream::Downstream, latency(200, 0)),
    )
    .await;

    let mut samples = round_trips(proxy, 10, 5).await;
    assert_eq!(samples.len(), 50);
    let (p50, p99) = (quantile(&mut samples, 0.5), quantile(&mut samples, 0.99));
    let min = samples[0];
    eprintln!("latency 200ms: min {min:?} p50 {p50:?} p99 {p99:?}");
    assert!(min >= MS(200), "never below the latency: {min:?}");
    assert!(p50 <= MS(215), "p50 {p50:?}");
    assert!(p99 <= MS(230), "p99 {p99:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_on_both_streams_adds_twice_the_latency() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    add(
        &harness,
        "echo",
        NewToxic::new(Stream::Downstream, latency(100, 0)),
    )
    .await;
    add(
        &harness,
        "echo",
        NewToxic::new(Stream::Upstream, latency(100, 0)),
    )
    .await;

    let mut samples = round_trips(proxy, 4, 3).await;
    let (min, max) = (quantile(&mut samples, 0.0), quantile(&mut samples, 1.0));
    assert!(min >= MS(200) && max <= MS(240), "{min:?}..{max:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_jitter_spreads_round_trips_over_the_range() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(7).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    add(
        &harness,
        "echo",
        NewToxic::new(Stream::Downstream, latency(100, 50)),
    )
    .await;

    let mut samples = round_trips(proxy, 10, 4).await;
    let (min, max) = (quantile(&mut samples, 0.0), quantile(&mut samples, 1.0));
    eprintln!("latency 100±50ms: min {min:?} max {max:?}");
    // Delays are uniform in [50, 150) ms: the spread must show on both sides.
    assert!(min >= MS(50) && min < MS(80), "min {min:?}");
    assert!(max > MS(120) && max < MS(175), "max {max:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_limits_throughput_to_the_rate() {
    let upstream = Upstream::start(Behavior::Send(1_000_000)).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("bulk", upstream.addr).await);
    let rate = ToxicKind::Bandwidth(Bandwidth {
        rate_kb_per_s: 1000,
    });
    add(&harness, "bulk", NewToxic::new(Stream::Downstream, rate)).await;

    let start = Instant::now();
    let mut stream = connect(proxy).await;
    let (data, _) = read_to_end(&mut stream).await;
    let elapsed = start.elapsed();
    assert_eq!(data, pattern(1_000_000));
    // 1 MB at 1000 KB/s is 1 s.
    let mb_per_s = 1.0 / elapsed.as_secs_f64();
    eprintln!("bandwidth 1000 KB/s: {elapsed:?}, {mb_per_s:.3} MB/s");
    assert!(elapsed >= MS(950) && elapsed <= MS(1250), "{elapsed:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_close_delivers_data_at_once_and_delays_the_close() {
    let upstream = Upstream::start(Behavior::SendBytes(b"bye")).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("closer", upstream.addr).await);
    let slow = ToxicKind::SlowClose(SlowClose { delay_ms: 300 });
    add(&harness, "closer", NewToxic::new(Stream::Downstream, slow)).await;

    let start = Instant::now();
    let mut stream = connect(proxy).await;
    let mut bye = [0u8; 3];
    timeout(WAIT, stream.read_exact(&mut bye))
        .await
        .unwrap()
        .unwrap();
    let data_at = start.elapsed();
    assert_eq!(&bye, b"bye");
    let (rest, _) = read_to_end(&mut stream).await;
    let closed_at = start.elapsed();
    assert!(rest.is_empty());
    assert!(data_at < MS(100), "data at {data_at:?}");
    assert!(
        closed_at >= MS(300) && closed_at <= MS(400),
        "closed at {closed_at:?}"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_drops_data_then_closes_after_the_timeout() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let cut = ToxicKind::Timeout(Timeout { timeout_ms: 300 });
    add(&harness, "echo", NewToxic::new(Stream::Upstream, cut)).await;

    let start = Instant::now();
    let mut stream = connect(proxy).await;
    stream.write_all(b"lost").await.unwrap();
    let (data, _) = read_to_end(&mut stream).await;
    let closed_at = start.elapsed();
    assert!(data.is_empty(), "no byte got through: {data:?}");
    assert!(
        closed_at >= MS(300) && closed_at <= MS(400),
        "{closed_at:?}"
    );
    harness.stop().await;
    // Nothing reached the upstream.
    assert!(upstream.received().iter().all(Vec::is_empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_zero_holds_until_removed_and_removal_closes_the_connection() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let mut stream = connect(proxy).await;
    round_trip(&mut stream, b"ok").await;
    let hang = ToxicKind::Timeout(Timeout { timeout_ms: 0 });
    add(
        &harness,
        "echo",
        NewToxic::new(Stream::Downstream, hang).named("hang"),
    )
    .await;

    stream.write_all(b"held").await.unwrap();
    let mut byte = [0u8; 1];
    let read = timeout(MS(500), stream.read(&mut byte)).await;
    assert!(
        read.is_err(),
        "no answer and no close while the toxic stays"
    );

    let removed_at = Instant::now();
    harness.proxy.remove_toxic("echo", "hang").await.unwrap();
    assert!(
        closed_within(&mut stream, MS(500)).await,
        "removal closes it"
    );
    assert!(removed_at.elapsed() < MS(500));
    // New connections are clean again.
    let mut fresh = connect(proxy).await;
    assert!(round_trip(&mut fresh, b"again").await < MS(100));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_peer_resets_the_client_after_the_timeout() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let reset = ToxicKind::ResetPeer(ResetPeer { timeout_ms: 200 });
    add(&harness, "echo", NewToxic::new(Stream::Downstream, reset)).await;

    let start = Instant::now();
    let mut stream = connect(proxy).await;
    stream.write_all(b"hello").await.unwrap();
    let (data, ended) = read_to_end(&mut stream).await;
    let reset_at = start.elapsed();
    assert!(data.is_empty(), "the echo was dropped: {data:?}");
    let err = ended.expect_err("a reset, not a clean EOF");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(reset_at >= MS(200) && reset_at <= MS(300), "{reset_at:?}");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slicer_delivers_many_small_reads_with_the_data_intact() {
    let upstream = Upstream::start(Behavior::Send(2000)).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("sliced", upstream.addr).await);
    let slicer = ToxicKind::Slicer(Slicer {
        average_size_bytes: 20,
        size_variation_bytes: 5,
        delay_us: 1000,
    });
    add(
        &harness,
        "sliced",
        NewToxic::new(Stream::Downstream, slicer),
    )
    .await;

    let mut stream = connect(proxy).await;
    let mut data = Vec::new();
    let mut reads = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = timeout(WAIT, stream.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        reads.push(n);
        data.extend_from_slice(&buffer[..n]);
    }
    assert_eq!(data, pattern(2000));
    // About 2000 / 20 pieces 1 ms apart; a slow reader may merge a few.
    assert!(reads.len() >= 40, "{} reads: {reads:?}", reads.len());
    reads.sort_unstable();
    let median = reads[reads.len() / 2];
    assert!(median <= 25, "median read {median} bytes");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_data_downstream_delivers_exactly_n_bytes_then_closes() {
    let upstream = Upstream::start(Behavior::Send(5000)).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("limited", upstream.addr).await);
    let limit = ToxicKind::LimitData(LimitData { bytes: 1000 });
    add(
        &harness,
        "limited",
        NewToxic::new(Stream::Downstream, limit),
    )
    .await;

    let mut stream = connect(proxy).await;
    let (data, _) = read_to_end(&mut stream).await;
    assert_eq!(data, pattern(1000));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_data_upstream_cuts_what_the_server_receives() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let proxy = addr(&harness.proxy_to("echo", upstream.addr).await);
    let limit = ToxicKind::LimitData(LimitData { bytes: 3 });
    add(&harness, "echo", NewToxic::new(Stream::Upstream, limit)).await;

    let mut stream = connect(proxy).await;
    stream.write_all(b"abcdef").await.unwrap();
    let (_, _) = read_to_end(&mut stream).await;
    // The server got exactly 3 bytes before its socket was closed.
    let deadline = Instant::now() + WAIT;
    while upstream.received().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(MS(10)).await;
    }
    assert_eq!(upstream.received(), vec![b"abc".to_vec()]);
    harness.stop().await;
}

/// Which of `n` sequential connections `limit_data` (bytes 1, toxicity 0.5) cut short.
async fn cut_connections(seed: u64, n: usize) -> Vec<bool> {
    let upstream = Upstream::start(Behavior::Echo).await;
    let proxies = FaultProxy::new(seed);
    let state = proxies
        .create_proxy(config("coin", upstream.addr))
        .await
        .unwrap();
    let limit = ToxicKind::LimitData(LimitData { bytes: 1 });
    let toxic = NewToxic::new(Stream::Downstream, limit).with_toxicity(0.5);
    proxies.add_toxic("coin", toxic).await.unwrap();
    let mut cut = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = connect(addr(&state)).await;
        stream.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        let full = matches!(timeout(WAIT, stream.read_exact(&mut back)).await, Ok(Ok(_)));
        cut.push(!full);
    }
    proxies.shutdown().await;
    cut
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxicity_half_hits_a_binomial_share_of_connections_reproducibly() {
    const N: usize = 200;
    let first = cut_connections(11, N).await;
    let hits = first.iter().filter(|&&cut| cut).count();
    // Binomial(200, 0.5): mean 100, sd 7.07; 4.5 sd either side.
    assert!((68..=132).contains(&hits), "{hits} of {N}");
    // Per-connection draws: the same seed gives the same connections the toxic.
    assert_eq!(cut_connections(11, N).await, first);
    assert_ne!(cut_connections(12, N).await, first);
}
