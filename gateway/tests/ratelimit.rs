//! The local rate limiter through the real `gateway` binary: 429 with `Retry-After` and the
//! RateLimit fields, buckets per key, the upstream never reached by a refused request, the
//! metric, and buckets surviving a reload that leaves the route's limit unchanged.

mod support;

use http::Method;
use support::client::request;
use support::{Gateway, TestUpstream, WAIT, empty, wait_until};

fn config(upstream: &TestUpstream, rate_limit: &str, timeout: &str) -> String {
    format!(
        "listen: 127.0.0.1:0
admin: {{ listen: 127.0.0.1:0 }}
reload: {{ watch: true, debounce: 50ms }}
telemetry: {{ access_log: false }}
upstreams:
  users:
    endpoints: [{{ address: {} }}]
routes:
  - name: users
    match: {{ path: /api/** }}
    upstream: users
    timeout: {timeout}
    rate_limit: {rate_limit}
",
        upstream.authority()
    )
}

/// The value of metric `name` with exactly `labels` (as rendered), or 0 when absent.
async fn metric(gateway: &Gateway, name: &str, labels: &str) -> f64 {
    let text = String::from_utf8_lossy(&gateway.admin_get("/metrics").await.body).into_owned();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn local_limit_refuses_with_429_retry_after_and_ratelimit_fields_without_calling_upstream() {
    let upstream = TestUpstream::start("users").await;
    // 30/m: one token every 2s, so Retry-After after the burst is 2 (1.99s rounded up).
    let gateway = Gateway::start(&config(&upstream, "{ rate: 30/m, burst: 3 }", "15s")).await;
    let url = gateway.url("/api/x");

    for remaining in [2, 1, 0] {
        let reply = gateway.http.get(&url).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("ratelimit-policy"), Some("\"users\";q=3;w=6"));
        let state = reply.header("ratelimit").unwrap_or_default();
        assert!(
            state.starts_with(&format!("\"users\";r={remaining};t=")),
            "{state}"
        );
        assert_eq!(reply.header("retry-after"), None);
    }
    let refused = gateway.http.get(&url).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("2"));
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"users\";q=3;w=6")
    );
    assert_eq!(refused.header("ratelimit"), Some("\"users\";r=0;t=6"));
    assert_eq!(
        refused.header("x-gateway-reject-reason"),
        Some("rate_limited")
    );
    assert_eq!(refused.json()["error"], "rate_limited");
    assert_eq!(
        upstream.requests(),
        3,
        "a refused request never reaches the upstream"
    );
    assert_eq!(
        metric(
            &gateway,
            "gateway_rate_limited_total",
            "route=\"users\",backend=\"local\""
        )
        .await,
        1.0
    );
    let routes = gateway.admin_json("/admin/routes").await;
    let limit = &routes["routes"][0]["rate_limit"];
    assert_eq!(limit["algorithm"], "token_bucket");
    assert_eq!(limit["local_keys"], 1);
}

#[tokio::test]
async fn header_keys_give_each_caller_its_own_bucket() {
    let upstream = TestUpstream::start("users").await;
    let gateway = Gateway::start(&config(
        &upstream,
        "{ algorithm: sliding_window, limit: 2, window: 1m, key: ['header:x-api-key'] }",
        "15s",
    ))
    .await;
    let send = |key: Option<&'static str>| {
        let mut builder = request(Method::GET, &gateway.url("/api/x"));
        if let Some(key) = key {
            builder = builder.header("x-api-key", key);
        }
        let request = builder.body(empty()).expect("request");
        let http = &gateway.http;
        async move { http.send(request).await.status.as_u16() }
    };
    let mut statuses = Vec::new();
    for key in [Some("a"), Some("a"), Some("a"), Some("b"), None, None, None] {
        statuses.push(send(key).await);
    }
    // a: 2 admitted then refused; b: its own bucket; no header: the shared "-" bucket.
    assert_eq!(statuses, [200, 200, 429, 200, 200, 200, 429]);
    assert_eq!(upstream.requests(), 5);
}

#[tokio::test]
async fn buckets_survive_a_reload_that_keeps_the_route_limit() {
    let upstream = TestUpstream::start("users").await;
    let limit = "{ rate: 1/h, burst: 2 }";
    let gateway = Gateway::start(&config(&upstream, limit, "15s")).await;
    let url = gateway.url("/api/x");
    assert_eq!(gateway.http.get(&url).await.status, 200);
    assert_eq!(gateway.http.get(&url).await.status, 200);
    assert_eq!(gateway.http.get(&url).await.status, 429);

    // Another setting of the route changes; its rate limit does not.
    let version = gateway.version().await;
    gateway.rewrite_config(&config(&upstream, limit, "10s"));
    wait_until(WAIT, "config reloaded", || async {
        gateway.version().await > version
    })
    .await;
    assert_eq!(
        gateway.http.get(&url).await.status,
        429,
        "an unchanged limit keeps its spent bucket"
    );

    // A changed limit starts fresh.
    let version = gateway.version().await;
    gateway.rewrite_config(&config(&upstream, "{ rate: 1/h, burst: 3 }", "10s"));
    wait_until(WAIT, "config reloaded", || async {
        gateway.version().await > version
    })
    .await;
    assert_eq!(gateway.http.get(&url).await.status, 200);
    assert_eq!(upstream.requests(), 3);
}
