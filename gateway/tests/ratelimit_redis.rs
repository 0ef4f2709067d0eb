//! The Redis rate-limit backend with a real `redis-server` (started by each test on a free
//! loopback port) and real `gateway` processes: two gateways share one bucket; Redis dying
//! under load either hands decisions to the local limiter (`fail_open`: no client errors) or
//! refuses with 503 (`fail_closed`).
//!
//! Needs `redis-server` on PATH (scripts/test.sh installs it); a test fails with that message
//! where it is missing rather than skipping silently.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use support::client::request;
use support::{Gateway, Http, TestUpstream, WAIT, empty, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A `redis-server` with no persistence on a free loopback port; killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    async fn start() -> Self {
        // Ask the kernel for a free port, then hand it to redis-server (it cannot report the
        // port it bound for `--port 0`).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH (apt-get install redis-server; scripts/test.sh does)");
        let server = Self { child, port };
        wait_until(WAIT, "redis-server answers PING", || server.ping()).await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && stream.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }

    async fn kill(&mut self) {
        self.child.kill().await.expect("kill redis-server");
    }
}

fn config(
    upstream: &TestUpstream,
    redis: &RedisServer,
    rate: &str,
    burst: u32,
    on_error: &str,
) -> String {
    format!(
        "listen: 127.0.0.1:0
admin: {{ listen: 127.0.0.1:0 }}
telemetry: {{ access_log: false }}
upstreams:
  users:
    endpoints: [{{ address: {} }}]
routes:
  - name: users
    match: {{ path: /api/** }}
    upstream: users
    rate_limit:
      rate: {rate}
      burst: {burst}
      key: [route]
      backend: redis
      redis: {{ url: '{}', timeout: 100ms, on_error: {on_error} }}
",
        upstream.authority(),
        redis.url()
    )
}

async fn metric(gateway: &Gateway, name: &str, labels: &str) -> f64 {
    let text = String::from_utf8_lossy(&gateway.admin_get("/metrics").await.body).into_owned();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Counts of one load run.
#[derive(Debug, Default)]
struct Tally {
    ok: AtomicU64,
    limited: AtomicU64,
    unavailable: AtomicU64,
    /// Transport errors and any other status: what a client would call an error.
    errors: AtomicU64,
}

/// `workers` closed-loop clients against `url` until `stop` is set, `deadline` passes or each
/// has sent `max_each` requests.
async fn load(
    url: String,
    workers: usize,
    max_each: u64,
    deadline: Instant,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (url, stop, tally) = (url.clone(), Arc::clone(&stop), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            let http = Http::http1();
            for _ in 0..max_each {
                if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                    return;
                }
                let req = request(Method::GET, &url).body(empty()).expect("request");
                let counter = match http.try_send(req, Duration::from_secs(5)).await {
                    Ok(r) if r.status == 200 => &tally.ok,
                    Ok(r) if r.status == 429 => &tally.limited,
                    Ok(r)
                        if r.status == 503
                            && r.header("x-gateway-reject-reason")
                                == Some("rate_limit_unavailable") =>
                    {
                        &tally.unavailable
                    }
                    _ => &tally.errors,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("load worker");
    }
}

#[tokio::test]
async fn two_gateways_sharing_redis_admit_the_limit_between_them() {
    let redis = RedisServer::start().await;
    let upstream = TestUpstream::start("users").await;
    let (rate, burst) = (100.0, 20u32);
    let yaml = config(&upstream, &redis, "100/s", burst, "fail_closed");
    let a = Gateway::start(&yaml).await;
    let b = Gateway::start(&yaml).await;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(3);
    tokio::join!(
        load(
            a.url("/api/x"),
            4,
            20_000,
            deadline,
            Arc::clone(&stop),
            Arc::clone(&tally)
        ),
        load(
            b.url("/api/x"),
            4,
            20_000,
            deadline,
            Arc::clone(&stop),
            Arc::clone(&tally)
        ),
    );
    let elapsed = started.elapsed().as_secs_f64();

    let admitted = tally.ok.load(Ordering::Relaxed) as f64;
    let limited = tally.limited.load(Ordering::Relaxed);
    let expected = f64::from(burst) + rate * elapsed;
    assert_eq!(tally.errors.load(Ordering::Relaxed), 0, "{tally:?}");
    assert_eq!(tally.unavailable.load(Ordering::Relaxed), 0, "{tally:?}");
    assert!(
        limited > admitted as u64,
        "load must exceed the limit: {tally:?}"
    );
    assert!(
        (admitted - expected).abs() <= expected * 0.05,
        "admitted {admitted} vs limit {expected:.0} over {elapsed:.2}s: {tally:?}"
    );
    assert_eq!(upstream.requests() as f64, admitted);
    let refused_a = metric(
        &a,
        "gateway_rate_limited_total",
        "route=\"users\",backend=\"redis\"",
    )
    .await;
    let refused_b = metric(
        &b,
        "gateway_rate_limited_total",
        "route=\"users\",backend=\"redis\"",
    )
    .await;
    assert!(
        refused_a > 0.0 && refused_b > 0.0,
        "both gateways refused: {refused_a} {refused_b}"
    );
    assert_eq!((refused_a + refused_b) as u64, limited);
}

/// Drives load until `after_kill` responses were seen after Redis died (bounded by time).
async fn load_across_redis_death(
    on_error: &str,
) -> (Arc<Tally>, Arc<Tally>, Gateway, TestUpstream) {
    let mut redis = RedisServer::start().await;
    let upstream = TestUpstream::start("users").await;
    let gateway = Gateway::start(&config(&upstream, &redis, "200/s", 20, on_error)).await;
    let url = gateway.url("/api/x");
    let deadline = Instant::now() + Duration::from_secs(20);

    let before = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(load(
        url.clone(),
        4,
        50_000,
        deadline,
        Arc::clone(&stop),
        Arc::clone(&before),
    ));
    wait_until(WAIT, "traffic decided by redis", || async {
        before.ok.load(Ordering::Relaxed) >= 50 && before.limited.load(Ordering::Relaxed) >= 50
    })
    .await;
    redis.kill().await;
    stop.store(true, Ordering::Relaxed);
    running.await.expect("load before the kill");

    let after = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(load(
        url,
        4,
        50_000,
        deadline,
        Arc::clone(&stop),
        Arc::clone(&after),
    ));
    wait_until(WAIT, "500 responses after redis died", || async {
        let t = &after;
        t.ok.load(Ordering::Relaxed)
            + t.limited.load(Ordering::Relaxed)
            + t.unavailable.load(Ordering::Relaxed)
            + t.errors.load(Ordering::Relaxed)
            >= 500
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    running.await.expect("load after the kill");
    (before, after, gateway, upstream)
}

#[tokio::test]
async fn redis_dying_under_load_with_fail_open_costs_clients_nothing() {
    let (before, after, gateway, _upstream) = load_across_redis_death("fail_open").await;
    assert_eq!(before.errors.load(Ordering::Relaxed), 0, "{before:?}");
    assert_eq!(
        after.errors.load(Ordering::Relaxed),
        0,
        "no client errors: {after:?}"
    );
    assert_eq!(after.unavailable.load(Ordering::Relaxed), 0, "{after:?}");
    assert!(
        after.ok.load(Ordering::Relaxed) > 0,
        "the local fallback admits: {after:?}"
    );
    let fell_back = metric(
        &gateway,
        "gateway_rate_limit_backend_errors_total",
        "route=\"users\",outcome=\"fail_open\"",
    )
    .await;
    assert!(
        fell_back >= 500.0,
        "every decision after the kill fell back: {fell_back}"
    );
}

#[tokio::test]
async fn redis_dying_under_load_with_fail_closed_refuses_with_503() {
    let (before, after, gateway, upstream) = load_across_redis_death("fail_closed").await;
    assert_eq!(before.errors.load(Ordering::Relaxed), 0, "{before:?}");
    assert_eq!(after.errors.load(Ordering::Relaxed), 0, "{after:?}");
    let unavailable = after.unavailable.load(Ordering::Relaxed);
    assert!(unavailable >= 490, "refused once redis is gone: {after:?}");
    // Requests in flight when Redis died were refused too (counted before the kill's end).
    let refused = before.unavailable.load(Ordering::Relaxed) + unavailable;
    let admitted = before.ok.load(Ordering::Relaxed) + after.ok.load(Ordering::Relaxed);
    assert_eq!(
        upstream.requests(),
        admitted,
        "a refused request never reaches the upstream"
    );
    let closed = metric(
        &gateway,
        "gateway_rate_limit_backend_errors_total",
        "route=\"users\",outcome=\"fail_closed\"",
    )
    .await;
    assert_eq!(closed as u64, refused);
}
