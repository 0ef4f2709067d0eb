//! The load generator against in-test servers on `127.0.0.1:0`: schedule accuracy, no
//! coordinated omission, drops, error kinds, mix, trace context, headers, cancellation.
//!
//! These run on real time (the generator measures elapsed time, §3.1), so timing assertions
//! carry tolerance bands on both sides; every wait is bounded by [`WAIT`].

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chaos::load::{
    self, ErrorKind, LoadGenerator, LoadInput, LoadProgress, LoadReport, LoadSpec, Outcome, Rate,
    RequestInput, RequestRecord, StatusClass,
};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use observability::names::header;
use observability::tracecontext::{TRACEPARENT, TraceId, TraceParent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

/// Upper bound on any run or wait in these tests.
const WAIT: Duration = Duration::from_secs(20);

// === test servers ===

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Arrival {
    /// 0 for the first request the server received.
    index: usize,
    path: String,
    traceparent: Option<String>,
    at: Instant,
}

/// An HTTP/1.1 server answering with `handler`; stops when dropped.
struct TestServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Arrival>>>,
    /// Most requests being handled at once.
    peak_concurrency: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Dropping the accept task's JoinSet aborts every connection task too.
        self.accept.abort();
    }
}

impl TestServer {
    async fn start<F, Fut>(handler: F) -> Self
    where
        F: Fn(Arrival) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let peak_concurrency = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let state = (Arc::clone(&seen), Arc::clone(&peak_concurrency));
        let accept = tokio::spawn(async move {
            let (seen, peak) = state;
            let current = Arc::new(AtomicUsize::new(0));
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (handler, seen, peak, current) = (
                    Arc::clone(&handler),
                    Arc::clone(&seen),
                    Arc::clone(&peak),
                    Arc::clone(&current),
                );
                let service = service_fn(move |request: Request<Incoming>| {
                    let arrival = {
                        let mut seen = seen.lock().unwrap();
                        let arrival = Arrival {
                            index: seen.len(),
                            path: request.uri().path().to_owned(),
                            traceparent: request
                                .headers()
                                .get(TRACEPARENT)
                                .map(|v| v.to_str().unwrap().to_owned()),
                            at: Instant::now(),
                        };
                        seen.push(arrival.clone());
                        arrival
                    };
                    let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let response = handler(arrival);
                    let current = Arc::clone(&current);
                    async move {
                        let response = response.await;
                        current.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, Infallible>(response)
                    }
                });
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer {
            addr,
            seen,
            peak_concurrency,
            accept,
        }
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.seen.lock().unwrap().clone()
    }
}

fn ok() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"ok")))
}

/// A raw TCP server running `connection` on each accepted stream; stops when dropped.
struct RawServer {
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl RawServer {
    async fn start<F, Fut>(connection: F) -> Self
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(connection(stream));
            }
        });
        RawServer { addr, accept }
    }
}

/// Reads until the end of the request head (the generator's test requests have no body).
async fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

// === helpers ===

fn input(addr: SocketAddr, per_second: f64, duration_ms: u64) -> LoadInput {
    let mut input = LoadInput::new(
        format!("http://{addr}"),
        Rate::Constant { per_second },
        Duration::from_millis(duration_ms),
    );
    input.mix.push(RequestInput::new("GET", "/"));
    input.seed = 7;
    input
}

async fn run(input: LoadInput) -> LoadReport {
    run_with(input, CancellationToken::new()).await
}

async fn run_with(input: LoadInput, cancel: CancellationToken) -> LoadReport {
    let spec = LoadSpec::validate(input).unwrap();
    timeout(WAIT, load::run(spec, cancel))
        .await
        .unwrap()
        .unwrap()
}

fn kinds(report: &LoadReport) -> HashMap<Option<ErrorKind>, usize> {
    let mut kinds = HashMap::new();
    for record in &report.records {
        *kinds.entry(record.outcome.error()).or_default() += 1;
    }
    kinds
}

fn within(value: Duration, low_ms: u64, high_ms: u64) -> bool {
    value >= Duration::from_millis(low_ms) && value <= Duration::from_millis(high_ms)
}

// === schedule and latency ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_constant_rate_sends_every_request_at_its_intended_time() {
    let server = TestServer::start(|_| async { ok() }).await;
    let report = run(input(server.addr, 200.0, 2_000)).await;

    assert_eq!(report.planned, 400);
    assert_eq!(report.records.len(), 400);
    assert_eq!(server.arrivals().len(), 400);
    for (i, record) in report.records.iter().enumerate() {
        assert_eq!(record.seq, i as u64);
        assert_eq!(record.intended, Duration::from_millis(5) * i as u32);
        assert_eq!(record.outcome, Outcome::Response(StatusCode::OK));
        assert_eq!(record.body_bytes, 2);
        let lag = record.send_lag().unwrap();
        assert!(
            lag < Duration::from_millis(50),
            "request {i} sent {lag:?} late"
        );
    }
    let lag = report.send_lag.unwrap();
    assert_eq!(lag.count, 400);
    assert!(lag.p50 < Duration::from_millis(5), "{lag:?}");
    assert_eq!(report.overall.successes, 400);
    assert_eq!(report.intervals.len(), 20);
    assert!(
        report
            .intervals
            .iter()
            .all(|i| i.count == 20 && i.successes == 20)
    );
    assert!(report.cancelled_at.is_none());
    assert!(within(report.elapsed, 1_990, 3_000), "{:?}", report.elapsed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_stalled_server_shows_latency_for_every_request_queued_behind_the_stall() {
    // From 500 ms after its first request, the server holds every request until 800 ms.
    let first: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let server = TestServer::start(move |arrival| {
        let t0 = *first.get_or_init(|| arrival.at);
        async move {
            let since = arrival.at - t0;
            if since >= Duration::from_millis(500) && since < Duration::from_millis(800) {
                sleep_until(t0 + Duration::from_millis(800)).await;
            }
            ok()
        }
    })
    .await;
    let report = run(input(server.addr, 100.0, 1_500)).await;
    assert_eq!(report.records.len(), 150);

    let latency = |r: &RequestRecord| r.latency_to_end.unwrap();
    let stalled: Vec<&RequestRecord> = report
        .records
        .iter()
        .filter(|r| latency(r) > Duration::from_millis(40))
        .collect();
    // An open model kept sending through the stall: ~30 requests queued behind it, each
    // sent on time, not one request (or max-connections) as a closed loop would.
    assert!(
        (26..=34).contains(&stalled.len()),
        "{} stalled",
        stalled.len()
    );
    let seqs: Vec<u64> = stalled.iter().map(|r| r.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "not contiguous: {seqs:?}"
    );
    assert!(
        stalled
            .iter()
            .all(|r| r.send_lag().unwrap() < Duration::from_millis(30))
    );
    // Measured from the intended start, each waited until the stall's end: intended +
    // latency is the same moment for all, and the first one waited the whole 300 ms.
    let ends: Vec<f64> = stalled
        .iter()
        .map(|r| (r.intended + latency(r)).as_secs_f64())
        .collect();
    let end_spread = ends.iter().cloned().fold(f64::MIN, f64::max)
        - ends.iter().cloned().fold(f64::MAX, f64::min);
    assert!(end_spread < 0.03, "stall ends spread over {end_spread}s");
    assert!(
        within(latency(stalled[0]), 270, 360),
        "{:?}",
        latency(stalled[0])
    );
    let latencies: Vec<Duration> = stalled.iter().map(|r| latency(r)).collect();
    assert!(
        latencies
            .windows(2)
            .all(|w| w[1] <= w[0] + Duration::from_millis(5)),
        "{latencies:?}"
    );
    // The intervals show it too: the p99 of the stalled window's intervals.
    let worst = report.intervals[5].latency.unwrap();
    assert!(within(worst.max, 270, 360), "{worst:?}");
    let calm = report.intervals[12].latency.unwrap();
    assert!(calm.max < Duration::from_millis(40), "{calm:?}");
    let window = report
        .latency_between(Duration::from_millis(500), Duration::from_millis(800))
        .unwrap();
    assert!(within(window.p50, 100, 220), "{window:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_requests_over_max_in_flight_are_dropped_with_their_intended_time() {
    let server = TestServer::start(|_| async {
        sleep(Duration::from_millis(250)).await;
        ok()
    })
    .await;
    let mut input = input(server.addr, 100.0, 1_000);
    input.max_in_flight = Some(5);
    let report = run(input).await;

    assert_eq!(report.records.len(), 100);
    let dropped: Vec<&RequestRecord> = report
        .records
        .iter()
        .filter(|r| r.outcome.error() == Some(ErrorKind::Dropped))
        .collect();
    let sent = report.records.len() - dropped.len();
    // 5 slots, 250 ms each, over ~1.25 s: about 25 sent.
    assert!((15..=30).contains(&sent), "{sent} sent");
    assert_eq!(server.arrivals().len(), sent);
    assert!(server.peak_concurrency.load(Ordering::SeqCst) <= 5);
    for record in &dropped {
        assert_eq!(
            record.intended,
            Duration::from_millis(10) * record.seq as u32
        );
        assert_eq!((record.sent, record.latency_to_end), (None, None));
        assert!(record.trace_id.is_valid());
    }
    assert_eq!(
        report.overall.errors.get(ErrorKind::Dropped),
        dropped.len() as u64
    );
    assert_eq!(report.overall.sent, sent as u64);
}

// === error kinds ===

#[tokio::test]
async fn load_closed_port_is_recorded_as_refused() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let report = run(input(addr, 50.0, 200)).await;
    assert_eq!(
        kinds(&report),
        HashMap::from([(Some(ErrorKind::Refused), 10)])
    );
    assert!(
        report
            .records
            .iter()
            .all(|r| r.latency_to_headers.is_none())
    );
    assert_eq!(report.overall.errors.get(ErrorKind::Refused), 10);
}

#[tokio::test]
async fn load_silent_server_is_recorded_as_timeout_after_the_request_timeout() {
    let server = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        sleep(WAIT).await;
    })
    .await;
    let mut input = input(server.addr, 20.0, 500);
    input.timeout = Some(Duration::from_millis(200));
    let report = run(input).await;
    assert_eq!(
        kinds(&report),
        HashMap::from([(Some(ErrorKind::Timeout), 10)])
    );
    for record in &report.records {
        assert!(
            within(record.latency_to_end.unwrap(), 200, 300),
            "{record:?}"
        );
        assert_eq!(record.latency_to_headers, None);
    }
}

#[tokio::test]
async fn load_server_closing_mid_request_is_recorded_as_reset() {
    // Closes after reading the request: EOF before any response.
    let eof = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
    })
    .await;
    let report = run(input(eof.addr, 50.0, 200)).await;
    assert_eq!(
        kinds(&report),
        HashMap::from([(Some(ErrorKind::Reset), 10)])
    );

    // Resets (RST) after reading the request.
    let rst = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        stream.set_zero_linger().unwrap();
    })
    .await;
    let report = run(input(rst.addr, 50.0, 200)).await;
    assert_eq!(
        kinds(&report),
        HashMap::from([(Some(ErrorKind::Reset), 10)])
    );

    // Sends the head and part of the body, then closes.
    let cut = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        let partial = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789";
        let _ = stream.write_all(partial).await;
    })
    .await;
    let report = run(input(cut.addr, 50.0, 200)).await;
    for record in &report.records {
        let cut_body = Outcome::Failed {
            kind: ErrorKind::Reset,
            status: Some(StatusCode::OK),
        };
        assert_eq!(record.outcome, cut_body);
        assert_eq!(record.body_bytes, 10);
        assert!(record.latency_to_headers.is_some());
    }
    assert_eq!(report.records.len(), 10);
}

#[tokio::test]
async fn load_garbage_response_is_recorded_as_protocol() {
    let server = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.write_all(b"SMTP ready\r\n\r\n").await;
    })
    .await;
    let report = run(input(server.addr, 50.0, 100)).await;
    assert_eq!(
        kinds(&report),
        HashMap::from([(Some(ErrorKind::Protocol), 5)])
    );
}

// === mix, trace context, headers ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_weighted_mix_reaches_the_server_in_proportion_and_repeats_for_a_seed() {
    let server = TestServer::start(|_| async { ok() }).await;
    let mixed = |seed| {
        let mut input = input(server.addr, 500.0, 1_000);
        input.seed = seed;
        input.mix = vec![
            RequestInput::new("GET", "/a"),
            RequestInput::new("GET", "/b"),
        ];
        input.mix[1].weight = 4;
        input
    };
    let first = run(mixed(11)).await;
    let templates = |r: &LoadReport| r.records.iter().map(|r| r.template).collect::<Vec<_>>();
    let ids = |r: &LoadReport| r.records.iter().map(|r| r.trace_id).collect::<Vec<_>>();

    // Proportion 4/5 within four standard deviations of a binomial(500, 0.8).
    let heavy = templates(&first).iter().filter(|&&t| t == 1).count() as f64;
    let sigma = (500.0f64 * 0.8 * 0.2).sqrt();
    assert!((heavy - 400.0).abs() < 4.0 * sigma, "{heavy} of 500");
    // The server saw the same paths as the records say.
    let on_b = server.arrivals().iter().filter(|a| a.path == "/b").count();
    assert_eq!(on_b as f64, heavy);

    let again = run(mixed(11)).await;
    assert_eq!(templates(&again), templates(&first));
    assert_eq!(ids(&again), ids(&first));
    let other = run(mixed(12)).await;
    assert_ne!(templates(&other), templates(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_every_request_carries_a_valid_unique_traceparent_matching_its_record() {
    let server = TestServer::start(|_| async { ok() }).await;
    let mut input = input(server.addr, 400.0, 1_000);
    input.sample_traces = Some(0.5);
    let report = run(input).await;

    let sent: HashMap<TraceId, TraceParent> = server
        .arrivals()
        .iter()
        .map(|a| {
            let parent: TraceParent = a.traceparent.as_deref().unwrap().parse().unwrap();
            (parent.trace_id(), parent)
        })
        .collect();
    assert_eq!(sent.len(), 400, "trace ids are unique");
    let recorded: HashSet<TraceId> = report.records.iter().map(|r| r.trace_id).collect();
    assert_eq!(recorded, sent.keys().copied().collect());
    for record in &report.records {
        let parent = &sent[&record.trace_id];
        assert_eq!(parent.version(), 0);
        assert!(parent.parent_id().is_valid());
        assert_eq!(parent.flags().is_sampled(), record.sampled);
    }
    let sampled = report.records.iter().filter(|r| r.sampled).count() as f64;
    let sigma = (400.0f64 * 0.25).sqrt();
    assert!(
        (sampled - 200.0).abs() < 4.0 * sigma,
        "{sampled} of 400 sampled"
    );
}

#[tokio::test]
async fn load_fallback_and_upstream_headers_are_recorded() {
    let server = TestServer::start(|arrival| async move {
        let mut response = ok();
        let headers = response.headers_mut();
        headers.insert(header::UPSTREAM, "blue".parse().unwrap());
        if arrival.path == "/degraded" {
            headers.insert(header::FALLBACK, "stale".parse().unwrap());
        }
        response
    })
    .await;
    let mut input = input(server.addr, 100.0, 500);
    input.mix.push(RequestInput::new("GET", "/degraded"));
    let report = run(input).await;

    assert_eq!(report.records.len(), 50);
    for record in &report.records {
        assert_eq!(record.upstream.as_deref(), Some("blue"));
        let expected = (record.template == 1).then_some("stale");
        assert_eq!(record.fallback.as_deref(), expected);
    }
    let degraded = report.records.iter().filter(|r| r.template == 1).count() as u64;
    assert!(degraded > 0 && degraded < 50);
    assert_eq!(report.overall.fallbacks, degraded);
    let per_interval: u64 = report.intervals.iter().map(|i| i.fallbacks).sum();
    assert_eq!(per_interval, degraded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_interval_figures_add_up_to_the_run_totals() {
    // Every third request gets a 503, every fifth a 404.
    let server = TestServer::start(|arrival| async move {
        let mut response = ok();
        if arrival.index % 3 == 0 {
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        } else if arrival.index % 5 == 0 {
            *response.status_mut() = StatusCode::NOT_FOUND;
        }
        response
    })
    .await;
    let report = run(input(server.addr, 300.0, 1_000)).await;

    let overall = &report.overall;
    assert_eq!(overall.count, 300);
    assert_eq!(overall.statuses.get(StatusClass::ServerError), 100);
    assert_eq!(overall.statuses.get(StatusClass::ClientError), 40);
    assert_eq!(overall.successes, 160);
    let sum = |f: fn(&load::IntervalStats) -> u64| report.intervals.iter().map(f).sum::<u64>();
    assert_eq!(sum(|i| i.count), overall.count);
    assert_eq!(sum(|i| i.successes), overall.successes);
    for class in StatusClass::ALL {
        let per_interval: u64 = report.intervals.iter().map(|i| i.statuses.get(class)).sum();
        assert_eq!(per_interval, overall.statuses.get(class), "{class}");
    }
    let samples: u64 = report
        .intervals
        .iter()
        .filter_map(|i| i.latency)
        .map(|l| l.count)
        .sum();
    assert_eq!(samples, 300);
    assert_eq!(overall.latency.map(|l| l.count), Some(300));
}

// === cancellation and progress ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_cancellation_stops_scheduling_at_once_and_cuts_in_flight_requests() {
    // The server cancels the run when its 30th request arrives, and never answers.
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let server = TestServer::start(move |arrival| {
        if arrival.index == 29 {
            trigger.cancel();
        }
        async {
            sleep(WAIT).await;
            ok()
        }
    })
    .await;
    let mut input = input(server.addr, 100.0, 30_000);
    input.timeout = Some(Duration::from_secs(10));
    input.cancel_drain = Some(Duration::from_millis(200));
    let started = Instant::now();
    let report = run_with(input, cancel).await;
    let took = started.elapsed();

    // ~300 ms of schedule, then at most the 200 ms drain.
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
    let cancelled_at = report.cancelled_at.unwrap();
    assert!(within(cancelled_at, 280, 400), "{cancelled_at:?}");
    assert!(
        (30..=33).contains(&report.records.len()),
        "{}",
        report.records.len()
    );
    assert!(report.records.iter().all(|r| r.intended <= cancelled_at));
    let cancelled = kinds(&report)[&Some(ErrorKind::Cancelled)];
    assert_eq!(cancelled, report.records.len());
    for record in &report.records {
        let waited = record.latency_to_end.unwrap() - (cancelled_at - record.intended);
        assert!(within(waited, 150, 400), "{record:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_progress_reports_live_counts_while_running() {
    // The server takes a snapshot when its 50th request arrives (~490 ms in).
    let seen_at_50: Arc<OnceLock<LoadProgress>> = Arc::new(OnceLock::new());
    let handle_slot: Arc<OnceLock<load::ProgressHandle>> = Arc::new(OnceLock::new());
    let (slot, seen) = (Arc::clone(&handle_slot), Arc::clone(&seen_at_50));
    let server = TestServer::start(move |arrival| {
        if arrival.index == 49 {
            let _ = seen.set(slot.get().unwrap().snapshot());
        }
        async { ok() }
    })
    .await;
    let spec = LoadSpec::validate(input(server.addr, 100.0, 1_000)).unwrap();
    let generator = LoadGenerator::new(spec).unwrap();
    let _ = handle_slot.set(generator.progress());
    let before = handle_slot.get().unwrap().snapshot();
    assert_eq!(
        (before.planned, before.sent, before.elapsed),
        (100, 0, Duration::ZERO)
    );
    let report = timeout(WAIT, generator.run(CancellationToken::new()))
        .await
        .unwrap();

    let mid = seen_at_50.get().unwrap();
    assert!((50..=51).contains(&mid.sent), "{mid:?}");
    assert!((45..=50).contains(&mid.completed), "{mid:?}");
    assert!(within(mid.elapsed, 480, 600), "{mid:?}");
    assert!((80.0..=110.0).contains(&mid.finished_per_second), "{mid:?}");
    assert_eq!((mid.dropped, mid.failure_ratio), (0, 0.0));
    let after = handle_slot.get().unwrap().snapshot();
    assert_eq!(
        (after.sent, after.completed, after.in_flight),
        (100, 100, 0)
    );
    assert_eq!(report.overall.successes, 100);
}

// === measurement ===

/// The generator's send lag at 1000 req/s; run on demand:
/// `cargo test -p chaos --test load send_lag -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, prints the send lag"]
async fn load_send_lag_at_1000_requests_per_second() {
    let server = TestServer::start(|_| async { ok() }).await;
    let report = run(input(server.addr, 1_000.0, 5_000)).await;
    let lag = report.send_lag.unwrap();
    println!("send lag over {} requests: {lag:?}", lag.count);
    assert_eq!(report.overall.successes, 5_000);
    assert!(lag.p99 < Duration::from_millis(10), "{lag:?}");
}

#[tokio::test]
async fn load_full_accept_queue_is_recorded_as_connect_timeout() {
    // A listener that never accepts, its queue filled: the kernel drops further SYNs, so a
    // connect neither succeeds nor is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) = timeout(Duration::from_millis(100), TcpStream::connect(addr)).await
        {
            fillers.push(stream);
        }
    }
    let mut input = input(addr, 50.0, 100);
    input.connect_timeout = Some(Duration::from_millis(150));
    input.timeout = Some(Duration::from_secs(2));
    let report = run(input).await;
    assert_eq!(
        kinds(&report),
        HashMap::from([(Some(ErrorKind::ConnectTimeout), 5)])
    );
    for record in &report.records {
        assert!(
            within(record.latency_to_end.unwrap(), 150, 400),
            "{record:?}"
        );
    }
    drop(listener);
}
