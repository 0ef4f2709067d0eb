//! `/metrics` scraper against a local stub: both exposition dialects, diffs between scrapes,
//! and every failure mode a drill must tell apart.

mod client_support;

use std::time::{Duration, Instant};

use client_support::{Answer, SilentServer, StubServer, closed_port_url};
use observability::client::{ClientError, MetricType, ParseErrorKind, Scraper, diff};

const TEXT_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8";

fn page(ok: u32, errors: u32) -> String {
    format!(
        "# HELP gateway_http_requests_total Requests handled.\n\
         # TYPE gateway_http_requests_total counter\n\
         gateway_http_requests_total{{route=\"users\",status_class=\"2xx\"}} {ok}\n\
         gateway_http_requests_total{{route=\"users\",status_class=\"5xx\"}} {errors}\n\
         # HELP gateway_breaker_state Breaker state.\n\
         # TYPE gateway_breaker_state gauge\n\
         gateway_breaker_state{{upstream=\"users\"}} 2\n"
    )
}

fn scraper() -> Scraper {
    Scraper::new(Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn scrape_parses_a_text_format_page() {
    let server =
        StubServer::start(&[("/metrics", Answer::text(200, TEXT_0_0_4, page(40, 2)))]).await;

    let set = scraper()
        .scrape(&format!("{}/metrics", server.url()))
        .await
        .unwrap();

    let ok = [("route", "users"), ("status_class", "2xx")];
    assert_eq!(set.value("gateway_http_requests_total", &ok), Ok(40.0));
    assert_eq!(
        set.sum("gateway_http_requests_total", &[("route", "users")]),
        Ok(42.0)
    );
    assert_eq!(
        set.family("gateway_breaker_state").map(|f| f.kind),
        Some(MetricType::Gauge)
    );
    assert_eq!(server.requests(), ["/metrics"]);
}

#[tokio::test]
async fn scrape_reads_openmetrics_even_when_labelled_text_plain() {
    // A common server mistake: OpenMetrics content with the 0.0.4 Content-Type.
    let body = "# TYPE gateway_http_requests counter\ngateway_http_requests_total{route=\"users\"} 7\n# EOF\n";
    let server = StubServer::start(&[("/metrics", Answer::text(200, TEXT_0_0_4, body))]).await;

    let set = scraper()
        .scrape(&format!("{}/metrics", server.url()))
        .await
        .unwrap();

    let family = set.family("gateway_http_requests_total").unwrap();
    assert_eq!(family.kind, MetricType::Counter);
    assert_eq!(
        set.value("gateway_http_requests_total", &[("route", "users")]),
        Ok(7.0)
    );
}

#[tokio::test]
async fn diff_of_two_scrapes_is_the_interval_increase() {
    let server =
        StubServer::start(&[("/metrics", Answer::text(200, TEXT_0_0_4, page(40, 2)))]).await;
    let url = format!("{}/metrics", server.url());
    let scraper = scraper();

    let before = scraper.scrape(&url).await.unwrap();
    server.set("/metrics", Answer::text(200, TEXT_0_0_4, page(100, 7)));
    let after = scraper.scrape(&url).await.unwrap();
    let delta = diff(&before, &after);

    assert_eq!(
        delta.value("gateway_http_requests_total", &[("status_class", "2xx")]),
        Ok(60.0)
    );
    assert_eq!(
        delta.value("gateway_http_requests_total", &[("status_class", "5xx")]),
        Ok(5.0)
    );
    assert!(delta.family("gateway_breaker_state").is_none());
}

#[tokio::test]
async fn non_2xx_is_a_status_error() {
    let server = StubServer::start(&[]).await;
    let err = scraper()
        .scrape(&format!("{}/metrics", server.url()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 404, body_excerpt, .. } if body_excerpt == "404 page not found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_text_reports_url_and_line() {
    let body = "# TYPE x counter\nx 1\nx{a=\"b} 2\n";
    let server = StubServer::start(&[("/metrics", Answer::text(200, TEXT_0_0_4, body))]).await;
    let url = format!("{}/metrics", server.url());
    let err = scraper().scrape(&url).await.unwrap_err();
    let ClientError::Exposition { url: got, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(got, &url);
    assert_eq!(
        (source.line, &source.kind),
        (3, &ParseErrorKind::UnterminatedLabelValue)
    );
}

#[tokio::test]
async fn non_utf8_body_reports_the_line_of_the_bad_byte() {
    let body = b"a 1\nb 2\nc{l=\"\xff\"} 3\n".to_vec();
    let server = StubServer::start(&[("/metrics", Answer::text(200, TEXT_0_0_4, body))]).await;
    let err = scraper()
        .scrape(&format!("{}/metrics", server.url()))
        .await
        .unwrap_err();
    let ClientError::Exposition { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (source.line, &source.kind),
        (3, &ParseErrorKind::InvalidUtf8)
    );
}

#[tokio::test]
async fn unreachable_target_is_a_connect_error() {
    let err = scraper()
        .scrape(&format!("{}/metrics", closed_port_url()))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn silent_target_times_out_within_the_scraper_timeout() {
    let server = SilentServer::start().await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = Scraper::new(timeout)
        .unwrap()
        .scrape(&format!("{}/metrics", server.url()))
        .await
        .unwrap_err();
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
async fn schemeless_url_is_rejected() {
    let err = scraper()
        .scrape("127.0.0.1:9090/metrics")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidUrl { .. }), "{err:?}");
}
