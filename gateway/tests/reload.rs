//! Hot reload through the real binary: under load (SIGHUP, file change, `POST /admin/reload`),
//! rejection of an invalid config, file-watch pickup, and health state kept across a reload.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;
use support::client::request;
use support::{Gateway, Http, Signal, TestUpstream, WAIT, empty, wait_until};
use tokio::time::MissedTickBehavior;

/// Number of reloads in the load test.
const RELOADS: u64 = 20;
/// Upper bound on requests per load loop (100 per second for a minute).
const MAX_REQUESTS_PER_LOOP: u64 = 6_000;

/// Revision `revision` of the load test's config: the weights swap between revisions and a
/// route `rev-N` serves `/rev/N/**`, so every revision changes both routes and weights.
///
/// NOTE(debounce): 500ms, not less. A SIGHUP or admin reload re-reads the file even when it
/// is unchanged and always makes a new version; if the file watcher's debounced reload of the
/// same write ran first, one write would make two versions. The watcher reads only after
/// 500ms of quiet, by when the forced reload of that write has long finished, so each write
/// makes exactly one version.
fn load_config(a: &TestUpstream, b: &TestUpstream, revision: u64) -> String {
    let (wa, wb) = if revision.is_multiple_of(2) {
        (1, 2)
    } else {
        (2, 1)
    };
    format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  debounce: 500ms
upstreams:
  pool:
    endpoints:
      - address: {a}
        weight: {wa}
      - address: {b}
        weight: {wb}
routes:
  - name: load
    match:
      path: /load/**
    upstream: pool
  - name: rev-{revision}
    match:
      path: /rev/{revision}/**
    upstream: pool
",
        a = a.authority(),
        b = b.authority(),
    )
}

/// Outcome of one background load loop.
#[derive(Debug, Default)]
struct LoadStats {
    ok: AtomicU64,
    failures: std::sync::Mutex<Vec<String>>,
}

/// Sends `GET url` every 10ms (sequentially, so at most 100 per second) until `stop` or
/// [`MAX_REQUESTS_PER_LOOP`]; every answer other than a 200 echo is a failure.
async fn load_loop(http: Http, url: String, stop: Arc<AtomicBool>, stats: Arc<LoadStats>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for i in 0..MAX_REQUESTS_PER_LOOP {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        ticker.tick().await;
        let sent = http
            .try_send(request(Method::GET, &url).body(empty()).unwrap(), WAIT)
            .await;
        match sent {
            Ok(reply) if reply.status == StatusCode::OK => {
                stats.ok.fetch_add(1, Ordering::SeqCst);
            }
            Ok(reply) => stats
                .failures
                .lock()
                .unwrap()
                .push(format!("request {i}: {reply:?}")),
            Err(error) => stats
                .failures
                .lock()
                .unwrap()
                .push(format!("request {i}: {error}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_20_times_under_load_fails_no_request() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    let gw = Gateway::start(&load_config(&a, &b, 0)).await;
    let stop = Arc::new(AtomicBool::new(false));
    // One loop reuses keep-alive connections, the other opens one per request.
    let mut loops: Vec<_> = [Http::http1(), Http::http1_fresh_connections()]
        .into_iter()
        .map(|http| {
            let stats = Arc::new(LoadStats::default());
            let task = tokio::spawn(load_loop(
                http,
                gw.url("/load/item"),
                Arc::clone(&stop),
                Arc::clone(&stats),
            ));
            (task, stats)
        })
        .collect();
    wait_until(WAIT, "both load loops are running", || async {
        loops.iter().all(|(_, s)| s.ok.load(Ordering::SeqCst) >= 10)
    })
    .await;
    let ok_before: Vec<u64> = loops
        .iter()
        .map(|(_, s)| s.ok.load(Ordering::SeqCst))
        .collect();

    let mut route_checks = 0;
    for revision in 1..=RELOADS {
        gw.rewrite_config(&load_config(&a, &b, revision));
        match revision % 3 {
            0 => gw.signal(Signal::SIGHUP),
            1 => {} // the file watcher picks it up
            _ => {
                let reply = gw
                    .http
                    .send(
                        request(Method::POST, &gw.admin_url("/admin/reload"))
                            .body(empty())
                            .unwrap(),
                    )
                    .await;
                assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
                let body = reply.json();
                assert_eq!(body["status"], "applied", "{body}");
                assert_eq!(body["version"], revision + 1, "{body}");
            }
        }
        let what = format!("version {} after reload {revision}", revision + 1);
        wait_until(WAIT, &what, || async { gw.version().await > revision }).await;
        assert_eq!(gw.version().await, revision + 1, "one version per reload");
        // The new route serves at once; the previous revision's route is gone.
        let new = gw.http.get(&gw.url(&format!("/rev/{revision}/x"))).await;
        assert_eq!(new.status, StatusCode::OK, "{new:?}");
        let old = gw
            .http
            .get(&gw.url(&format!("/rev/{}/x", revision - 1)))
            .await;
        assert_eq!(old.status, StatusCode::NOT_FOUND, "{old:?}");
        route_checks += 1;
    }
    let ok_after: Vec<u64> = loops
        .iter()
        .map(|(_, s)| s.ok.load(Ordering::SeqCst))
        .collect();
    stop.store(true, Ordering::SeqCst);
    for (task, _) in &mut loops {
        // Each loop ends within one request after `stop`.
        tokio::time::timeout(WAIT, task)
            .await
            .expect("load loop stopped in time")
            .expect("load loop did not panic");
    }

    let mut total_ok = 0;
    for (i, (_, stats)) in loops.iter().enumerate() {
        let failures = stats.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "loop {i}: {} failed: {failures:#?}",
            failures.len()
        );
        total_ok += stats.ok.load(Ordering::SeqCst);
        assert!(
            ok_after[i] - ok_before[i] >= 20,
            "loop {i} made only {} requests while reloading",
            ok_after[i] - ok_before[i]
        );
    }
    assert_eq!(a.requests() + b.requests(), total_ok + route_checks);
    let config = gw.admin_json("/admin/config").await;
    assert_eq!(config["version"], RELOADS + 1);
    let weights: Vec<&Value> = config["upstreams"][0]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["weight"])
        .collect();
    assert_eq!(weights, [1, 2], "revision {RELOADS} weights");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_invalid_config_via_admin_is_rejected_and_old_version_serves() {
    let a = TestUpstream::start("a").await;
    let valid = format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  watch: false
upstreams:
  a:
    endpoints:
      - address: {a}
routes:
  - name: all
    match:
      path: /**
    upstream: a
",
        a = a.authority()
    );
    let gw = Gateway::start(&valid).await;
    // Two problems on known lines: the weight (line 10) and the upstream name (line 15).
    gw.rewrite_config(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  watch: false
upstreams:
  a:
    endpoints:
      - address: {a}
        weight: 0
routes:
  - name: all
    match:
      path: /**
    upstream: b
",
        a = a.authority()
    ));
    let reload = || {
        let (http, url) = (gw.http.clone(), gw.admin_url("/admin/reload"));
        async move {
            http.send(request(Method::POST, &url).body(empty()).unwrap())
                .await
        }
    };

    let rejected = reload().await;

    assert_eq!(
        rejected.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{rejected:?}"
    );
    let body = rejected.json();
    assert_eq!(body["status"], "rejected", "{body}");
    let file = gw.config_path().display().to_string();
    assert_eq!(
        body["problems"],
        serde_json::json!([
            format!(
                "{file}:10:17: upstreams.a.endpoints[0].weight: weight out of range \
                 (got 0; expected 1 to 1000)"
            ),
            format!(
                "{file}:15:15: routes[0].upstream: unknown upstream \
                 (got \"b\"; expected one of: a)"
            ),
        ]),
        "{body}"
    );
    assert_eq!(gw.version().await, 1);
    assert_eq!(
        gw.http.get(&gw.url("/still/served")).await.echo().upstream,
        "a"
    );

    // Once fixed, the same trigger applies it.
    gw.rewrite_config(&valid.replace("path: /**", "path: /fixed/**"));
    let applied = reload().await;
    assert_eq!(applied.status, StatusCode::OK, "{applied:?}");
    assert_eq!(applied.json()["version"], 2);
    assert_eq!(gw.version().await, 2);
    let old_path = gw.http.get(&gw.url("/still/served")).await;
    assert_eq!(old_path.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gw.http.get(&gw.url("/fixed/x")).await.echo().path,
        "/fixed/x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_file_rewrite_applies_the_new_route() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    let config = |extra_route: &str| {
        format!(
            "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  debounce: 100ms
upstreams:
  a:
    endpoints:
      - address: {a}
  b:
    endpoints:
      - address: {b}
routes:
  - name: old
    match:
      path: /old/**
    upstream: a
{extra_route}",
            a = a.authority(),
            b = b.authority(),
        )
    };
    let gw = Gateway::start(&config("")).await;
    let before = gw.http.get(&gw.url("/new/x")).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);

    gw.rewrite_config(&config(
        "  - name: new\n    match:\n      path: /new/**\n    upstream: b\n",
    ));

    wait_until(WAIT, "/admin/config lists route `new`", || async {
        let config = gw.admin_json("/admin/config").await;
        config["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "new")
    })
    .await;
    assert_eq!(gw.version().await, 2);
    assert_eq!(gw.http.get(&gw.url("/new/x")).await.echo().upstream, "b");
    assert_eq!(gw.http.get(&gw.url("/old/x")).await.echo().upstream, "a");
    assert_eq!((a.requests(), b.requests()), (1, 1));
}

/// The watcher watches the config's folder (to catch editors' and ConfigMaps' file swaps) and
/// waits for `debounce` of quiet before reading. Writes to other files in that folder (a log
/// next to the config, a sidecar's state file) are not config changes and must not hold the
/// reload off: here another file is written every 50ms, four times per 200ms debounce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_file_watch_is_not_starved_by_writes_to_other_files_in_the_folder() {
    let a = TestUpstream::start("a").await;
    let config = |extra_route: &str| {
        format!(
            "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  debounce: 200ms
upstreams:
  a:
    endpoints:
      - address: {a}
routes:
  - name: old
    match:
      path: /old/**
    upstream: a
{extra_route}",
            a = a.authority(),
        )
    };
    let gw = Gateway::start(&config("")).await;
    let writes = Arc::new(AtomicU64::new(0));
    let neighbour = tokio::spawn({
        let (writes, log) = (Arc::clone(&writes), gw.config_dir().join("neighbour.log"));
        async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(50));
            // Bounded: at most 100 seconds of writes, though the test aborts it long before.
            for line in 0..2_000 {
                ticker.tick().await;
                std::fs::write(&log, format!("line {line}\n")).unwrap();
                writes.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    gw.rewrite_config(&config(
        "  - name: new\n    match:\n      path: /new/**\n    upstream: a\n",
    ));

    let took = wait_until(Duration::from_secs(5), "route `new` applied", || async {
        gw.version().await == 2
    })
    .await;
    neighbour.abort();
    let writes = writes.load(Ordering::SeqCst);
    assert!(
        writes >= 2,
        "the neighbour file was written {writes} times in {took:?}"
    );
    assert_eq!(gw.http.get(&gw.url("/new/x")).await.echo().path, "/new/x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_health_state_of_unchanged_endpoint() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    // Three failed probes mark unhealthy (three, so a scheduler stall on a loaded machine does
    // not fail the healthy one); a hundred good ones (twenty seconds) to recover, so the
    // verdict cannot legitimately flip back while the test looks at it.
    let config = |b_weight: u32, extra_route: &str| {
        format!(
            "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  watch: false
upstreams:
  pool:
    balancer: round_robin
    endpoints:
      - address: {a}
      - address: {b}
        weight: {b_weight}
    health_check:
      path: /healthz
      interval: 200ms
      timeout: 200ms
      unhealthy_after: 3
      healthy_after: 100
routes:
  - name: all
    match:
      path: /**
    upstream: pool
{extra_route}",
            a = a.authority(),
            b = b.authority(),
        )
    };
    let gw = Gateway::start(&config(1, "")).await;
    gw.wait_ready().await;
    b.set_healthy(false);
    gw.wait_endpoint_health("pool", &b.authority(), false).await;
    // From now on b passes every probe: only a lost verdict could make it healthy soon.
    b.set_healthy(true);
    let ok_before = b.probes_ok();
    let reload = |yaml: String| {
        gw.rewrite_config(&yaml);
        let (http, url) = (gw.http.clone(), gw.admin_url("/admin/reload"));
        async move {
            let reply = http
                .send(request(Method::POST, &url).body(empty()).unwrap())
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            reply.json()["version"].as_u64().unwrap()
        }
    };
    let extra = "  - name: extra\n    match:\n      path: /extra/**\n    upstream: pool\n";

    // Same endpoint (address and weight): the very same live state is kept.
    let kept = reload(config(1, extra)).await;
    let same = gw.endpoint("pool", &b.authority()).await;
    // Weight changed: a new endpoint that inherits the verdict.
    let reweighted = reload(config(3, extra)).await;
    let inherited = gw.endpoint("pool", &b.authority()).await;

    assert!(
        b.probes_ok() - ok_before < 100,
        "b passed {} probes: it may have recovered legitimately",
        b.probes_ok() - ok_before
    );
    assert_eq!((kept, reweighted), (2, 3));
    assert_eq!(same["healthy"], false, "{same}");
    assert_eq!(same["probed"], true, "{same}");
    assert_eq!(inherited["healthy"], false, "{inherited}");
    assert_eq!(inherited["weight"], 3, "{inherited}");
    let control = gw.endpoint("pool", &a.authority()).await;
    assert_eq!(
        control["healthy"], true,
        "control endpoint a (overloaded machine?): {control}"
    );
    let (a_before, b_before) = (a.requests(), b.requests());
    for path in ["/x", "/extra/y"].repeat(5) {
        assert_eq!(gw.http.get(&gw.url(path)).await.echo().upstream, "a");
    }
    assert_eq!((a.requests() - a_before, b.requests() - b_before), (10, 0));
}
