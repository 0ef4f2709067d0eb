//! Prometheus client against a real Prometheus (the Debian `prometheus` 2.42 package, which CI
//! installs) scraping a static `/metrics` page served by this test, plus offline error cases.
//!
//! Starting Prometheus costs ~6 s (its target discovery publishes after 5 s), so one test
//! starts one server and checks every server-backed behaviour in named steps.

mod client_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client_support::{Answer, SilentServer, StubServer, closed_port_url};
use e2e_tests::Prometheus;
use observability::client::{
    ClientError, Labels, MetricSet, Point, PrometheusClient, QueryValue, RangeSeries, VectorSample,
};

/// What a gateway exposes mid-drill: counters, a gauge and a histogram, with labels.
const METRICS: &str = "\
# HELP gateway_http_requests_total Requests handled, by route, method and status class.
# TYPE gateway_http_requests_total counter
gateway_http_requests_total{route=\"users\",method=\"GET\",status_class=\"2xx\"} 42
gateway_http_requests_total{route=\"users\",method=\"GET\",status_class=\"5xx\"} 3
gateway_http_requests_total{route=\"orders\",method=\"POST\",status_class=\"2xx\"} 17
# HELP gateway_breaker_state Circuit breaker state per upstream (0 closed, 1 half-open, 2 open).
# TYPE gateway_breaker_state gauge
gateway_breaker_state{upstream=\"users\"} 0
gateway_breaker_state{upstream=\"orders\"} 2
# HELP gateway_http_request_duration_seconds Request latency by route.
# TYPE gateway_http_request_duration_seconds histogram
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.005\"} 1
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.01\"} 4
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.025\"} 10
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.05\"} 20
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.1\"} 30
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.25\"} 38
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.5\"} 43
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"1\"} 44
gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"+Inf\"} 45
gateway_http_request_duration_seconds_sum{route=\"users\"} 4.2
gateway_http_request_duration_seconds_count{route=\"users\"} 45
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.005\"} 0
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.01\"} 0
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.025\"} 2
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.05\"} 5
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.1\"} 9
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.25\"} 15
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"0.5\"} 16
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"1\"} 17
gateway_http_request_duration_seconds_bucket{route=\"orders\",le=\"+Inf\"} 17
gateway_http_request_duration_seconds_sum{route=\"orders\"} 2.1
gateway_http_request_duration_seconds_count{route=\"orders\"} 17
";

/// Prometheus accepts sub-second intervals (100 ms was verified with 2.42); 200 ms keeps the
/// wait for the first scrape short without loading the machine.
const SCRAPE_INTERVAL: Duration = Duration::from_millis(200);
const STARTUP_BUDGET: Duration = Duration::from_secs(30);

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Polls `up` until the test target has been scraped successfully; returns the query time
/// that saw it (every series of that scrape has a sample at or before it).
async fn wait_for_first_scrape(client: &PrometheusClient, prometheus: &Prometheus) -> SystemTime {
    let deadline = Instant::now() + STARTUP_BUDGET;
    while Instant::now() < deadline {
        let at = SystemTime::now();
        let up = client.query("up", at).await.unwrap();
        if up.vector().unwrap().iter().any(|s| s.point.value == 1.0) {
            return at;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "target never up after {STARTUP_BUDGET:?}:\n{}",
        prometheus.log()
    );
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// `t` truncated to whole milliseconds, Prometheus's time resolution.
fn whole_millis(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_query_api_decodes_into_typed_values() {
    let target = StubServer::start(&[(
        "/metrics",
        Answer::text(200, "text/plain; version=0.0.4; charset=utf-8", METRICS),
    )])
    .await;
    let prometheus = Prometheus::start(target.addr, SCRAPE_INTERVAL).await;
    let client = PrometheusClient::new(prometheus.url(), Duration::from_secs(10)).unwrap();
    let scraped_at = whole_millis(wait_for_first_scrape(&client, &prometheus).await);
    let instance = target.addr.to_string();

    // Step 1: the `up` series carries Prometheus's target labels.
    let up = client.query("up", scraped_at).await.unwrap();
    assert_eq!(
        up.value,
        QueryValue::Vector(vec![VectorSample {
            labels: labels(&[
                ("__name__", "up"),
                ("instance", &instance),
                ("job", "target")
            ]),
            point: Point {
                timestamp: unix_seconds(scraped_at),
                value: 1.0
            },
        }])
    );
    assert!(up.warnings.is_empty());

    // Step 2: an instant vector returns every scraped series with its labels and value.
    let requests = client
        .query("gateway_http_requests_total", scraped_at)
        .await
        .unwrap();
    let mut got: Vec<(Labels, f64)> = requests
        .vector()
        .unwrap()
        .iter()
        .map(|s| (s.labels.clone(), s.point.value))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let series = |route: &str, method: &str, class: &str, value: f64| {
        let pairs = [
            ("__name__", "gateway_http_requests_total"),
            ("instance", instance.as_str()),
            ("job", "target"),
            ("method", method),
            ("route", route),
            ("status_class", class),
        ];
        (labels(&pairs), value)
    };
    assert_eq!(
        got,
        // Sorted by label set: `method` compares before `route`.
        [
            series("users", "GET", "2xx", 42.0),
            series("users", "GET", "5xx", 3.0),
            series("orders", "POST", "2xx", 17.0)
        ]
    );
    let by_route = client
        .query("sum by (route) (gateway_http_requests_total)", scraped_at)
        .await
        .unwrap();
    let mut by_route: Vec<(Labels, f64)> = by_route
        .vector()
        .unwrap()
        .iter()
        .map(|s| (s.labels.clone(), s.point.value))
        .collect();
    by_route.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_route,
        [
            (labels(&[("route", "orders")]), 17.0),
            (labels(&[("route", "users")]), 45.0)
        ]
    );

    // Step 3: scalars, strings and the special float values arrive typed.
    let scalar = client
        .query("scalar(sum(gateway_breaker_state))", scraped_at)
        .await
        .unwrap();
    assert_eq!(
        scalar.scalar(),
        Some(Point {
            timestamp: unix_seconds(scraped_at),
            value: 2.0
        })
    );
    let string = client.query("\"evidence\"", scraped_at).await.unwrap();
    assert_eq!(
        string.value,
        QueryValue::String {
            timestamp: unix_seconds(scraped_at),
            value: "evidence".to_owned()
        }
    );
    for (expr, check) in [
        (
            "vector(1) / 0",
            (|v: f64| v == f64::INFINITY) as fn(f64) -> bool,
        ),
        ("vector(-1) / 0", |v| v == f64::NEG_INFINITY),
        ("vector(0) / 0", f64::is_nan),
    ] {
        let answer = client.query(expr, scraped_at).await.unwrap();
        let [sample] = answer.vector().unwrap() else {
            panic!("{expr}: {answer:?}")
        };
        assert!(check(sample.point.value), "{expr}: {sample:?}");
        assert_eq!(sample.labels, BTreeMap::new(), "{expr}");
    }

    // Step 4: histogram_quantile on the server equals the local estimate from the same text.
    let local = MetricSet::parse(METRICS).unwrap();
    let name = "gateway_http_request_duration_seconds";
    for q in [0.5, 0.9, 0.99] {
        for (filter, promql) in [
            (
                &[("route", "users")][..],
                format!("histogram_quantile({q}, {name}_bucket{{route=\"users\"}})"),
            ),
            (
                &[][..],
                format!("histogram_quantile({q}, sum by (le) ({name}_bucket))"),
            ),
        ] {
            let expected = local.histogram(name, filter).unwrap().quantile(q);
            let answer = client.query(&promql, scraped_at).await.unwrap();
            let [sample] = answer.vector().unwrap() else {
                panic!("{promql}: {answer:?}")
            };
            assert!(expected.is_finite(), "{promql}: {expected}");
            assert!(
                (sample.point.value - expected).abs() < 1e-9,
                "{promql}: server {} local {expected}",
                sample.point.value
            );
        }
    }

    // Step 5: invalid PromQL is a typed `bad_data` error with Prometheus's message.
    let err = client.query("sum(", scraped_at).await.unwrap_err();
    let ClientError::Api {
        status,
        error_type,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*status, error_type.as_deref()), (400, Some("bad_data")));
    assert!(message.contains("parse error"), "{message}");

    // Step 6: a range query yields one point per step from start to end inclusive.
    let step = Duration::from_millis(200);
    let end = scraped_at + Duration::from_secs(1);
    if let Ok(wait) = end.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await; // the range must lie in the past to be complete
    }
    let expr = "gateway_http_requests_total{route=\"users\",status_class=\"2xx\"}";
    let range = client
        .query_range(expr, scraped_at, end, step)
        .await
        .unwrap();
    let [
        RangeSeries {
            labels: got_labels,
            points,
        },
    ] = range.matrix().unwrap()
    else {
        panic!("{range:?}")
    };
    assert_eq!(got_labels, &series("users", "GET", "2xx", 0.0).0);
    let start = unix_seconds(scraped_at);
    let timestamps: Vec<f64> = points.iter().map(|p| p.timestamp).collect();
    let expected: Vec<f64> = (0..=5).map(|k| start + 0.2 * f64::from(k)).collect();
    assert_eq!(timestamps.len(), expected.len(), "{timestamps:?}");
    for (got, want) in timestamps.iter().zip(&expected) {
        assert!((got - want).abs() < 1e-6, "{timestamps:?} vs {expected:?}");
    }
    assert!(points.iter().all(|p| p.value == 42.0), "{points:?}");
}

#[tokio::test]
async fn range_arguments_are_checked_before_sending() {
    // A closed port proves no request is made.
    let client = PrometheusClient::new(&closed_port_url(), Duration::from_secs(1)).unwrap();
    let now = SystemTime::now();
    let err = client
        .query_range("up", now, now, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::InvalidQuery { reason, .. } if reason.contains("step")),
        "{err:?}"
    );
    let err = client
        .query_range(
            "up",
            now,
            now - Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::InvalidQuery { reason, .. } if reason.contains("before start")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_prometheus_is_a_connect_error() {
    let client = PrometheusClient::new(&closed_port_url(), Duration::from_secs(5)).unwrap();
    let err = client.query("up", SystemTime::now()).await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn silent_prometheus_times_out_within_the_client_timeout() {
    let server = SilentServer::start().await;
    let timeout = Duration::from_millis(300);
    let client = PrometheusClient::new(&server.url(), timeout).unwrap();
    let started = Instant::now();
    let err = client.query("up", SystemTime::now()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(err, ClientError::Timeout { timeout: t, .. } if t == timeout),
        "{err:?}"
    );
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(1),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn proxy_error_page_is_a_status_error_and_bad_sample_names_its_field() {
    let server = StubServer::start(&[
        ("/api/v1/query", Answer::text(502, "text/html", "<html>Bad Gateway</html>")),
        (
            "/api/v1/query_range",
            Answer::json(200, r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"],[1700000001,"x"]]}]}}"#),
        ),
    ])
    .await;
    let client = PrometheusClient::new(&server.url(), Duration::from_secs(5)).unwrap();
    let now = SystemTime::now();

    let err = client.query("up", now).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 502, body_excerpt, .. } if body_excerpt.contains("Bad Gateway")),
        "{err:?}"
    );

    let err = client
        .query_range("up", now, now, Duration::from_secs(1))
        .await
        .unwrap_err();
    let ClientError::Decode { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.path, "data.result[0].values[1][1]");
    let params = server.params_of("/api/v1/query");
    let keys: Vec<&str> = params[0].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["query", "time", "timeout"]);
    assert_eq!(
        params[0][2].1, "5",
        "the client timeout is passed on to Prometheus"
    );
}
