//! Exposition text parsing, formatting, lookups, histogram quantiles and counter diffs.

use observability::client::{
    Bucket, Exemplar, Labels, LookupError, MetricFamily, MetricSet, MetricType, ParseError,
    ParseErrorKind, Sample, diff,
};
use proptest::prelude::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sample(name: &str, pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: labels(pairs),
        value,
        timestamp_ms: None,
        exemplar: None,
    }
}

fn family(name: &str, kind: MetricType, help: Option<&str>, samples: Vec<Sample>) -> MetricFamily {
    MetricFamily {
        name: name.to_owned(),
        help: help.map(str::to_owned),
        unit: None,
        kind,
        samples,
    }
}

/// Values compared bit for bit, with every NaN equal (`NaN != NaN` would fail equal sets).
fn canonical(set: &MetricSet) -> String {
    let mut out = String::new();
    for f in &set.families {
        out += &format!("{}|{:?}|{:?}|{:?}\n", f.name, f.help, f.unit, f.kind);
        for s in &f.samples {
            let bits = if s.value.is_nan() {
                None
            } else {
                Some(s.value.to_bits())
            };
            out += &format!(
                "  {}|{:?}|{bits:?}|{:?}|{:?}\n",
                s.name, s.labels, s.timestamp_ms, s.exemplar
            );
        }
    }
    out
}

#[test]
fn text_format_parses_every_type_escape_and_optional_part() {
    let text = concat!(
        "# A comment that is not metadata.\n",
        "# HELP http_requests_total Requests; a backslash \\\\ and a\\nnewline.\n",
        "# TYPE http_requests_total counter\n",
        "http_requests_total{method=\"GET\",code=\"200\"} 1027 1395066363000\n",
        "http_requests_total{method=\"POST\",code=\"400\"}    3\t-12\n",
        "\n",
        "# TYPE temperature_celsius gauge\n",
        "temperature_celsius{room=\"a \\\"quoted\\\" \\\\ path\\nline\"} -Inf\n",
        "temperature_celsius { room = \"b\" , } NaN\n",
        "# HELP rpc_duration_seconds\n",
        "# TYPE rpc_duration_seconds summary\n",
        "rpc_duration_seconds{quantile=\"0.5\"} 4773\n",
        "rpc_duration_seconds{quantile=\"0.99\"} +Inf\n",
        "rpc_duration_seconds_sum 1.7560473e+07\n",
        "rpc_duration_seconds_count 2693\n",
        "# TYPE request_duration_seconds histogram\n",
        "request_duration_seconds_bucket{le=\"0.05\"} 24054\n",
        "request_duration_seconds_bucket{le=\"0.1\"} 33444\n",
        "request_duration_seconds_bucket{le=\"+Inf\"} 144320\n",
        "request_duration_seconds_sum 53423\n",
        "request_duration_seconds_count 144320\n",
        "\tmetric_without_type_or_labels 12.47\n",
    );

    let set = MetricSet::parse(text).unwrap();

    let mut timestamped = sample(
        "http_requests_total",
        &[("method", "GET"), ("code", "200")],
        1027.0,
    );
    timestamped.timestamp_ms = Some(1_395_066_363_000);
    let mut negative_ts = sample(
        "http_requests_total",
        &[("method", "POST"), ("code", "400")],
        3.0,
    );
    negative_ts.timestamp_ms = Some(-12);
    let expected = MetricSet {
        families: vec![
            family(
                "http_requests_total",
                MetricType::Counter,
                Some("Requests; a backslash \\ and a\nnewline."),
                vec![timestamped, negative_ts],
            ),
            family(
                "temperature_celsius",
                MetricType::Gauge,
                None,
                vec![
                    sample(
                        "temperature_celsius",
                        &[("room", "a \"quoted\" \\ path\nline")],
                        f64::NEG_INFINITY,
                    ),
                    sample("temperature_celsius", &[("room", "b")], f64::NAN),
                ],
            ),
            family(
                "rpc_duration_seconds",
                MetricType::Summary,
                Some(""),
                vec![
                    sample("rpc_duration_seconds", &[("quantile", "0.5")], 4773.0),
                    sample(
                        "rpc_duration_seconds",
                        &[("quantile", "0.99")],
                        f64::INFINITY,
                    ),
                    sample("rpc_duration_seconds_sum", &[], 1.756_047_3e7),
                    sample("rpc_duration_seconds_count", &[], 2693.0),
                ],
            ),
            family(
                "request_duration_seconds",
                MetricType::Histogram,
                None,
                vec![
                    sample(
                        "request_duration_seconds_bucket",
                        &[("le", "0.05")],
                        24054.0,
                    ),
                    sample("request_duration_seconds_bucket", &[("le", "0.1")], 33444.0),
                    sample(
                        "request_duration_seconds_bucket",
                        &[("le", "+Inf")],
                        144_320.0,
                    ),
                    sample("request_duration_seconds_sum", &[], 53423.0),
                    sample("request_duration_seconds_count", &[], 144_320.0),
                ],
            ),
            family(
                "metric_without_type_or_labels",
                MetricType::Untyped,
                None,
                vec![sample("metric_without_type_or_labels", &[], 12.47)],
            ),
        ],
    };
    assert_eq!(canonical(&set), canonical(&expected));
}

#[test]
fn each_syntax_rule_violation_is_rejected_at_its_line() {
    type Check = fn(&ParseErrorKind) -> bool;
    let histogram = "# TYPE h histogram\n";
    let cases: Vec<(&str, String, usize, Check)> = vec![
        (
            "metric name",
            "1abc 1\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidMetricName(n) if n == "1abc"),
        ),
        (
            "label name",
            "x{1a=\"b\"} 1\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidLabelName(n) if n == "1a"),
        ),
        ("missing =", "x{a \"b\"} 1\n".into(), 1, |k| {
            matches!(k, ParseErrorKind::MalformedLabels(_))
        }),
        ("unquoted value", "x{a=b} 1\n".into(), 1, |k| {
            matches!(k, ParseErrorKind::MalformedLabels(_))
        }),
        ("missing }", "x{a=\"b\" 1\n".into(), 1, |k| {
            matches!(k, ParseErrorKind::MalformedLabels(_))
        }),
        ("unclosed set", "x{a=\"b\",\n".into(), 1, |k| {
            matches!(k, ParseErrorKind::MalformedLabels(_))
        }),
        ("unterminated value", "x{a=\"b} 1\n".into(), 1, |k| {
            matches!(k, ParseErrorKind::UnterminatedLabelValue)
        }),
        (
            "bad label escape",
            "x{a=\"\\t\"} 1\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidEscape(e) if e == "\\t"),
        ),
        (
            "duplicate label",
            "x{a=\"1\",a=\"2\"} 1\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::DuplicateLabel(n) if n == "a"),
        ),
        ("missing value", "ok 1\nx{a=\"1\"}\n".into(), 2, |k| {
            matches!(k, ParseErrorKind::MissingValue)
        }),
        (
            "bad value",
            "x 1.2.3\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidValue(v) if v == "1.2.3"),
        ),
        (
            "float timestamp",
            "x 1 12.5\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidTimestamp(t) if t == "12.5"),
        ),
        (
            "trailing text",
            "x 1 100 extra\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::TrailingText(t) if t == "extra"),
        ),
        (
            "unknown type",
            "# TYPE x histogramm\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::UnknownType(t) if t == "histogramm"),
        ),
        (
            "OM type in 0.0.4",
            "# TYPE x info\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::UnknownType(t) if t == "info"),
        ),
        (
            "type trailing text",
            "# TYPE x gauge extra\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::TrailingText(_)),
        ),
        (
            "bad help escape",
            "# HELP x tab\\there\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidEscape(e) if e == "\\t"),
        ),
        (
            "help trailing backslash",
            "# HELP x end\\\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidEscape(e) if e == "\\"),
        ),
        (
            "duplicate help",
            "# HELP x a\n# HELP x b\n".into(),
            2,
            |k| matches!(k, ParseErrorKind::DuplicateMetadata { what: "HELP", .. }),
        ),
        (
            "duplicate type",
            "# TYPE x gauge\n# TYPE x gauge\n".into(),
            2,
            |k| matches!(k, ParseErrorKind::DuplicateMetadata { what: "TYPE", .. }),
        ),
        (
            "type after samples",
            "x 1\n# TYPE x gauge\n".into(),
            2,
            |k| matches!(k, ParseErrorKind::MetadataAfterSamples { what: "TYPE", .. }),
        ),
        (
            "split family",
            "a 1\nb 1\na{x=\"y\"} 2\n".into(),
            3,
            |k| matches!(k, ParseErrorKind::SplitFamily(f) if f == "a"),
        ),
        (
            "split histogram",
            format!("{histogram}h_bucket{{le=\"+Inf\"}} 1\nh_count 1\ng 1\nh_sum 3\n"),
            5,
            |k| matches!(k, ParseErrorKind::SplitFamily(f) if f == "h"),
        ),
        (
            "duplicate series",
            "x{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\n".into(),
            2,
            |k| matches!(k, ParseErrorKind::DuplicateSeries(s) if s == "x{a=\"1\",b=\"2\"}"),
        ),
        (
            "bucket without le",
            format!("{histogram}h_bucket 1\n"),
            2,
            |k| matches!(k, ParseErrorKind::MissingLabel { label: "le", .. }),
        ),
        (
            "non-numeric le",
            format!("{histogram}h_bucket{{le=\"x\"}} 1\n"),
            2,
            |k| matches!(k, ParseErrorKind::NonNumericLabel { label: "le", .. }),
        ),
        (
            "quantile missing",
            "# TYPE s summary\ns 1\n".into(),
            2,
            |k| {
                matches!(
                    k,
                    ParseErrorKind::MissingLabel {
                        label: "quantile",
                        ..
                    }
                )
            },
        ),
        (
            "bounds not increasing",
            format!(
                "{histogram}h_bucket{{le=\"1\"}} 1\nh_bucket{{le=\"0.5\"}} 1\nh_bucket{{le=\"+Inf\"}} 1\n"
            ),
            3,
            |k| matches!(k, ParseErrorKind::InvalidHistogram { reason, .. } if reason.contains("not increasing")),
        ),
        (
            "counts decrease",
            format!("{histogram}h_bucket{{le=\"1\"}} 5\nh_bucket{{le=\"+Inf\"}} 4\n"),
            3,
            |k| matches!(k, ParseErrorKind::InvalidHistogram { reason, .. } if reason.contains("decrease")),
        ),
        (
            "no +Inf bucket",
            format!(
                "{histogram}h_bucket{{le=\"1\",r=\"a\"}} 5\nh_sum{{r=\"a\"}} 2\nh_count{{r=\"a\"}} 5\n"
            ),
            4,
            |k| matches!(k, ParseErrorKind::InvalidHistogram { series, reason } if series == "h{r=\"a\"}" && reason.contains("+Inf")),
        ),
        (
            "count differs from +Inf",
            format!("{histogram}h_bucket{{le=\"+Inf\"}} 5\nh_count 6\n"),
            3,
            |k| matches!(k, ParseErrorKind::InvalidHistogram { reason, .. } if reason.contains("_count")),
        ),
        ("content after EOF", "x 1\n# EOF\ny 2\n".into(), 3, |k| {
            matches!(k, ParseErrorKind::ContentAfterEof)
        }),
        (
            "bad exemplar",
            "c_total 1 # {a=\"b\"} nope\n# EOF\n".into(),
            1,
            |k| matches!(k, ParseErrorKind::InvalidExemplar(_)),
        ),
    ];
    for (rule, text, line, check) in cases {
        let err: ParseError = MetricSet::parse(&text).expect_err(rule);
        assert_eq!(err.line, line, "{rule}: {err}");
        assert!(check(&err.kind), "{rule}: unexpected {err:?}");
    }
}

#[test]
fn openmetrics_is_normalised_to_prometheus_names() {
    let text = concat!(
        "# HELP requests Requests.\n",
        "# TYPE requests counter\n",
        "requests_total{route=\"a\"} 5 1700000000.25 # {trace_id=\"4bf92f3577b34da6\"} 1 1700000000.125\n",
        "requests_created{route=\"a\"} 1699999000\n",
        "# TYPE latency_seconds histogram\n",
        "# UNIT latency_seconds seconds\n",
        "# HELP latency_seconds Latency with a \\\"quote\\\".\n",
        "latency_seconds_sum 0.5\n",
        "latency_seconds_count 2\n",
        "latency_seconds_bucket{le=\"0.1\"} 1\n",
        "latency_seconds_bucket{le=\"+Inf\"} 2\n",
        "# TYPE build info\n",
        "build_info{version=\"1.2\"} 1\n",
        "# TYPE mystery unknown\n",
        "mystery 3\n",
        "# EOF\n",
    );
    let set = MetricSet::parse(text).unwrap();

    let names: Vec<(&str, MetricType)> = set
        .families
        .iter()
        .map(|f| (f.name.as_str(), f.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("requests_total", MetricType::Counter),
            ("latency_seconds", MetricType::Histogram),
            ("build_info", MetricType::Gauge),
            ("mystery", MetricType::Untyped),
        ]
    );
    let requests = set.family("requests_total").unwrap();
    let mut expected = sample("requests_total", &[("route", "a")], 5.0);
    expected.timestamp_ms = Some(1_700_000_000_250);
    expected.exemplar = Some(Exemplar {
        labels: labels(&[("trace_id", "4bf92f3577b34da6")]),
        value: 1.0,
        timestamp_ms: Some(1_700_000_000_125),
    });
    assert_eq!(requests.samples, [expected], "_created is dropped");
    let latency = set.family("latency_seconds").unwrap();
    assert_eq!(latency.unit.as_deref(), Some("seconds"));
    assert_eq!(latency.help.as_deref(), Some("Latency with a \"quote\"."));
    assert_eq!(set.value("build_info", &[("version", "1.2")]), Ok(1.0));
}

/// Builds the registry the gateway will expose (same crate, same shapes).
fn gateway_registry() -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::{Registry, Unit};
    type L = Vec<(String, String)>;
    let l = |pairs: &[(&str, &str)]| -> L {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };

    let mut registry = Registry::default();
    let requests = Family::<L, Counter>::default();
    registry.register(
        "gateway_http_requests",
        "Requests handled",
        requests.clone(),
    );
    requests
        .get_or_create(&l(&[
            ("route", "users"),
            ("method", "GET"),
            ("status_class", "2xx"),
        ]))
        .inc_by(3);
    requests
        .get_or_create(&l(&[
            ("route", "users"),
            ("method", "GET"),
            ("status_class", "5xx"),
        ]))
        .inc();
    let breaker = Family::<L, Gauge>::default();
    registry.register(
        "gateway_breaker_state",
        "Breaker state (0 closed, 1 half-open, 2 open)",
        breaker.clone(),
    );
    breaker.get_or_create(&l(&[("upstream", "users")])).set(2);
    let ratio: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    registry.register(
        "gateway_load_ratio",
        "Share of capacity in use",
        ratio.clone(),
    );
    ratio.set(0.75);
    let latency = Family::<L, Histogram, fn() -> Histogram>::new_with_constructor(|| {
        Histogram::new([0.005, 0.01, 0.1, 1.0])
    });
    registry.register_with_unit(
        "gateway_http_request_duration",
        "Request latency",
        Unit::Seconds,
        latency.clone(),
    );
    for v in [0.003, 0.02, 0.2, 2.0] {
        latency.get_or_create(&l(&[("route", "users")])).observe(v);
    }
    registry
}

fn assert_gateway_metrics(set: &MetricSet) {
    let requests = set.family("gateway_http_requests_total").unwrap();
    assert_eq!(
        (requests.kind, requests.help.as_deref()),
        (MetricType::Counter, Some("Requests handled."))
    );
    let ok = [("route", "users"), ("status_class", "2xx")];
    assert_eq!(set.value("gateway_http_requests_total", &ok), Ok(3.0));
    assert_eq!(
        set.sum("gateway_http_requests_total", &[("route", "users")]),
        Ok(4.0)
    );
    assert_eq!(
        set.value("gateway_breaker_state", &[("upstream", "users")]),
        Ok(2.0)
    );
    assert_eq!(set.value("gateway_load_ratio", &[]), Ok(0.75));
    let h = set
        .histogram(
            "gateway_http_request_duration_seconds",
            &[("route", "users")],
        )
        .unwrap();
    let bucket = |upper_bound, cumulative_count| Bucket {
        upper_bound,
        cumulative_count,
    };
    assert_eq!(
        h.buckets,
        [
            bucket(0.005, 1.0),
            bucket(0.01, 1.0),
            bucket(0.1, 2.0),
            bucket(1.0, 3.0),
            bucket(f64::INFINITY, 4.0)
        ]
    );
    assert_eq!(h.count, 4.0);
    assert!((h.sum - 2.223).abs() < 1e-12, "{}", h.sum);
    // Rank 2 of 4 is the top of the (0.01, 0.1] bucket.
    assert_eq!(h.quantile(0.5), 0.1);
}

#[test]
fn prometheus_client_openmetrics_output_parses() {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &gateway_registry()).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");

    let set = MetricSet::parse(&text).unwrap();

    assert_gateway_metrics(&set);
    let latency = set.family("gateway_http_request_duration_seconds").unwrap();
    assert_eq!(latency.unit.as_deref(), Some("seconds"));
}

#[test]
fn prometheus_client_text_0_0_4_output_parses_to_the_same_values() {
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &gateway_registry()).unwrap();
    assert!(!text.contains("# EOF"), "{text}");

    let set = MetricSet::parse(&text).unwrap();

    assert_gateway_metrics(&set);
}

fn lookup_fixture() -> MetricSet {
    MetricSet::parse(concat!(
        "# TYPE req_total counter\n",
        "req_total{route=\"a\",code=\"200\"} 10\n",
        "req_total{route=\"a\",code=\"500\"} 2\n",
        "req_total{route=\"b\",code=\"200\"} 5\n",
        "# TYPE lat histogram\n",
        "lat_bucket{route=\"a\",le=\"0.1\"} 10\n",
        "lat_bucket{route=\"a\",le=\"1\"} 20\n",
        "lat_bucket{route=\"a\",le=\"+Inf\"} 20\n",
        "lat_sum{route=\"a\"} 7\n",
        "lat_count{route=\"a\"} 20\n",
        "lat_bucket{route=\"b\",le=\"0.1\"} 0\n",
        "lat_bucket{route=\"b\",le=\"1\"} 10\n",
        "lat_bucket{route=\"b\",le=\"+Inf\"} 20\n",
        "lat_sum{route=\"b\"} 30\n",
        "lat_count{route=\"b\"} 20\n",
        "# TYPE odd histogram\n",
        "odd_bucket{route=\"a\",le=\"1\"} 1\n",
        "odd_bucket{route=\"a\",le=\"+Inf\"} 1\n",
        "odd_bucket{route=\"b\",le=\"2\"} 1\n",
        "odd_bucket{route=\"b\",le=\"+Inf\"} 1\n",
    ))
    .unwrap()
}

#[test]
fn value_requires_exactly_one_match_and_sum_at_least_one() {
    let set = lookup_fixture();
    assert_eq!(
        set.value("req_total", &[("route", "a"), ("code", "500")]),
        Ok(2.0)
    );
    assert_eq!(set.sum("req_total", &[("code", "200")]), Ok(15.0));
    assert_eq!(set.samples("req_total", &[("route", "a")]).count(), 2);
    assert_eq!(
        set.value("req_total", &[("route", "a")]),
        Err(LookupError::Ambiguous {
            name: "req_total".into(),
            labels: "{route=\"a\"}".into(),
            count: 2
        })
    );
    assert_eq!(
        set.value("req_total", &[("route", "c")]),
        Err(LookupError::NotFound {
            name: "req_total".into(),
            labels: "{route=\"c\"}".into()
        })
    );
    assert!(matches!(
        set.sum("nope", &[]),
        Err(LookupError::NotFound { .. })
    ));
}

#[test]
fn histogram_sums_matching_series_bucket_by_bucket() {
    let set = lookup_fixture();
    let a = set.histogram("lat", &[("route", "a")]).unwrap();
    assert_eq!((a.count, a.sum, a.quantile(0.75)), (20.0, 7.0, 0.55));
    let all = set.histogram("lat", &[]).unwrap();
    let counts: Vec<f64> = all.buckets.iter().map(|b| b.cumulative_count).collect();
    assert_eq!(
        (counts, all.count, all.sum),
        (vec![10.0, 30.0, 40.0], 40.0, 37.0)
    );
    // Rank 20 of 40 lies half-way into (0.1, 1]: 0.1 + 0.9 × 10/20.
    assert!((all.quantile(0.5) - 0.55).abs() < 1e-12);
    assert_eq!(
        set.histogram("odd", &[]),
        Err(LookupError::MismatchedBuckets("odd".into()))
    );
    assert_eq!(
        set.histogram("req_total", &[]),
        Err(LookupError::NotAHistogram("req_total".into()))
    );
    assert!(matches!(
        set.histogram("lat", &[("route", "z")]),
        Err(LookupError::NotFound { .. })
    ));
}

#[test]
fn diff_reports_counter_growth_new_series_and_resets() {
    let before = MetricSet::parse(concat!(
        "# TYPE req_total counter\n",
        "req_total{route=\"a\"} 10\n",
        "req_total{route=\"b\"} 50\n",
        "# TYPE up gauge\n",
        "up 1\n",
        "# TYPE lat histogram\n",
        "lat_bucket{le=\"0.1\"} 5\n",
        "lat_bucket{le=\"+Inf\"} 10\n",
        "lat_sum 2\n",
        "lat_count 10\n",
    ))
    .unwrap();
    let after = MetricSet::parse(concat!(
        "# TYPE req_total counter\n",
        "req_total{route=\"a\"} 25\n",
        "req_total{route=\"b\"} 4\n",
        "req_total{route=\"c\"} 7\n",
        "# TYPE up gauge\n",
        "up 1\n",
        "# TYPE lat histogram\n",
        "lat_bucket{le=\"0.1\"} 9\n",
        "lat_bucket{le=\"+Inf\"} 30\n",
        "lat_sum 12\n",
        "lat_count 30\n",
    ))
    .unwrap();

    let delta = diff(&before, &after);

    assert_eq!(delta.value("req_total", &[("route", "a")]), Ok(15.0));
    assert_eq!(
        delta.value("req_total", &[("route", "b")]),
        Ok(4.0),
        "reset: counts from 0"
    );
    assert_eq!(
        delta.value("req_total", &[("route", "c")]),
        Ok(7.0),
        "new series"
    );
    assert!(delta.family("up").is_none(), "gauges have no delta");
    let lat = delta.histogram("lat", &[]).unwrap();
    let counts: Vec<f64> = lat.buckets.iter().map(|b| b.cumulative_count).collect();
    assert_eq!((counts, lat.count, lat.sum), (vec![4.0, 20.0], 20.0, 10.0));
}

#[test]
fn diff_resets_a_histogram_series_as_a_whole() {
    let before = MetricSet::parse(
        "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 10\nh_count 10\n",
    )
    .unwrap();
    // Restarted: the +Inf bucket went down, the le=1 bucket happens to be higher.
    let after = MetricSet::parse(
        "# TYPE h histogram\nh_bucket{le=\"1\"} 4\nh_bucket{le=\"+Inf\"} 5\nh_count 5\n",
    )
    .unwrap();
    let h = diff(&before, &after).histogram("h", &[]).unwrap();
    let counts: Vec<f64> = h.buckets.iter().map(|b| b.cumulative_count).collect();
    assert_eq!((counts, h.count), (vec![4.0, 5.0], 5.0));
}

// === round trip: format a random set, parse it back ===

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_filter("reserved for buckets/quantiles", |n| {
        n != "le" && n != "quantile"
    })
}

fn label_set() -> impl Strategy<Value = Labels> {
    // Any characters in values, escapes and newlines included.
    prop::collection::btree_map(label_name(), "(?s).{0,8}", 0..3)
}

fn help() -> impl Strategy<Value = Option<String>> {
    // A leading blank cannot survive: the format skips blanks before the docstring.
    prop::option::of("(?s)([^ \t].{0,20})?")
}

fn plain_family(index: usize) -> impl Strategy<Value = MetricFamily> {
    let kinds = prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Untyped)
    ];
    let series = prop::collection::btree_map(
        label_set(),
        (any::<f64>(), prop::option::of(any::<i64>())),
        1..4,
    );
    ("[a-z_:]{0,5}", help(), kinds, series).prop_map(move |(suffix, help, kind, series)| {
        let name = format!("fam{index}_{suffix}");
        let samples = series
            .into_iter()
            .map(|(labels, (value, timestamp_ms))| Sample {
                name: name.clone(),
                labels,
                value,
                timestamp_ms,
                exemplar: None,
            })
            .collect();
        MetricFamily {
            name,
            help,
            unit: None,
            kind,
            samples,
        }
    })
}

fn histogram_family(index: usize) -> impl Strategy<Value = MetricFamily> {
    let buckets = prop::collection::vec((0.001f64..100.0, 0u32..50), 0..5);
    let series = prop::collection::btree_map(label_set(), (buckets, 0u32..50, -1e6f64..1e6), 1..3);
    (help(), series).prop_map(move |(help, series)| {
        let name = format!("fam{index}_hist");
        let mut samples = Vec::new();
        for (labels, (steps, overflow, sum)) in series {
            let (mut bound, mut count) = (0.0, 0.0);
            let mut with_le = |le: String, value: f64| {
                let mut labels = labels.clone();
                labels.insert("le".into(), le);
                samples.push(Sample {
                    name: format!("{name}_bucket"),
                    labels,
                    value,
                    timestamp_ms: None,
                    exemplar: None,
                });
            };
            for (step, observed) in steps {
                bound += step;
                count += f64::from(observed);
                with_le(format!("{bound}"), count);
            }
            count += f64::from(overflow);
            with_le("+Inf".into(), count);
            for (suffix, value) in [("_sum", sum), ("_count", count)] {
                samples.push(Sample {
                    name: format!("{name}{suffix}"),
                    labels: labels.clone(),
                    value,
                    timestamp_ms: None,
                    exemplar: None,
                });
            }
        }
        MetricFamily {
            name,
            help,
            unit: None,
            kind: MetricType::Histogram,
            samples,
        }
    })
}

fn summary_family(index: usize) -> impl Strategy<Value = MetricFamily> {
    let quantiles = prop::sample::subsequence(vec!["0", "0.5", "0.9", "0.99", "1"], 0..5);
    let series = prop::collection::btree_map(
        label_set(),
        (quantiles, any::<f64>(), any::<f64>(), 0u32..1000),
        1..3,
    );
    (help(), series).prop_map(move |(help, series)| {
        let name = format!("fam{index}_summary");
        let mut samples = Vec::new();
        for (labels, (quantiles, q_value, sum, count)) in series {
            for q in quantiles {
                let mut labels = labels.clone();
                labels.insert("quantile".into(), q.into());
                samples.push(Sample {
                    name: name.clone(),
                    labels,
                    value: q_value,
                    timestamp_ms: None,
                    exemplar: None,
                });
            }
            for (suffix, value) in [("_sum", sum), ("_count", f64::from(count))] {
                samples.push(Sample {
                    name: format!("{name}{suffix}"),
                    labels: labels.clone(),
                    value,
                    timestamp_ms: None,
                    exemplar: None,
                });
            }
        }
        MetricFamily {
            name,
            help,
            unit: None,
            kind: MetricType::Summary,
            samples,
        }
    })
}

fn metric_set() -> impl Strategy<Value = MetricSet> {
    (0usize..5).prop_flat_map(|n| {
        let families: Vec<BoxedStrategy<MetricFamily>> = (0..n)
            .map(|i| prop_oneof![plain_family(i), histogram_family(i), summary_family(i)].boxed())
            .collect();
        families.prop_map(|families| MetricSet { families })
    })
}

proptest! {
    #[test]
    fn formatted_sets_parse_back_equal(set in metric_set()) {
        let text = set.to_string();
        let parsed = MetricSet::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(canonical(&parsed), canonical(&set), "text:\n{}", text);
    }
}
