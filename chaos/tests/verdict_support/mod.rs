//! Shared helpers of the verdict and report tests: scenarios from YAML, synthetic client
//! records, evidence, metric scrapes, and an in-process trace store (the embedded Jaeger
//! query API on 127.0.0.1:0) fed hand-built OTLP spans with known times and attributes.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use chaos::evidence::{Evidence, FaultWindow, MetricsEvidence, TraceBackend};
use chaos::load::{ErrorKind, Outcome, RequestRecord};
use chaos::scenario::Plan;
use chaos::verdict::{Status, Verdict};
use http::StatusCode;
use observability::client::MetricSet;
use observability::store::{QueryApi, StoreLimits, TraceStore, serve_query};
use observability::tracecontext::TraceId;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, status};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The gateway's service name in these tests.
pub const GATEWAY: &str = "gw-test";

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A scenario: an attached gateway, upstreams `users` (2 replicas) and `orders`, a 30 s load,
/// and `rest` (faults and expect) appended.
pub fn plan(rest: &str) -> Plan {
    plan_with("", rest)
}

/// As [`plan`], with `backends` (e.g. `backends: { metrics: { prometheus: URL } }`) under
/// `system`.
pub fn plan_with(backends: &str, rest: &str) -> Plan {
    let text = format!(
        r#"
name: drill
description: synthetic drill for verdict tests
seed: 7
system:
  gateway: {{ url: "http://127.0.0.1:8080", admin: "http://127.0.0.1:9901" }}
  upstreams:
    users: {{ builtin: {{}}, replicas: 2, via: proxy }}
    orders: {{ builtin: {{}}, via: proxy }}
  {backends}
load: {{ rate: 100/s, duration: 30s, requests: [{{ get: /api/users/1 }}] }}
{rest}
"#
    );
    chaos::scenario::load_str(Path::new("drill.yaml"), &text)
        .unwrap_or_else(|e| panic!("invalid test scenario: {e}"))
}

/// The trace id of request `seq` (also used for its spans).
pub fn trace_id(seq: u64) -> u128 {
    0xabc0_0000_0000_0000_0000_0000_0000_0000 | u128::from(seq + 1)
}

/// A request due at `at` with `outcome` and `latency`.
pub fn record(seq: u64, at: Duration, outcome: Outcome, latency: Duration) -> RequestRecord {
    let sent = !matches!(
        outcome,
        Outcome::Failed {
            kind: ErrorKind::Dropped,
            ..
        }
    );
    RequestRecord {
        seq,
        template: 0,
        intended: at,
        sent: sent.then_some(at),
        latency_to_headers: matches!(outcome, Outcome::Response(_)).then_some(latency),
        latency_to_end: sent.then_some(latency),
        outcome,
        body_bytes: 0,
        fallback: None,
        upstream: None,
        trace_id: TraceId::from_bytes(trace_id(seq).to_be_bytes()),
        sampled: true,
    }
}

pub fn ok() -> Outcome {
    Outcome::Response(StatusCode::OK)
}

pub fn status(code: u16) -> Outcome {
    Outcome::Response(StatusCode::from_u16(code).unwrap())
}

pub fn refused() -> Outcome {
    Outcome::Failed {
        kind: ErrorKind::Refused,
        status: None,
    }
}

/// `rate` requests a second due from `from` to `to`, each shaped by `f(seq, at)`.
pub fn records(
    rate: u64,
    from: Duration,
    to: Duration,
    mut f: impl FnMut(u64, Duration) -> (Outcome, Duration),
) -> Vec<RequestRecord> {
    let gap = Duration::from_nanos(1_000_000_000 / rate);
    let mut out = Vec::new();
    let mut at = from;
    let mut seq = 0;
    while at < to {
        let (outcome, latency) = f(seq, at);
        out.push(record(seq, at, outcome, latency));
        seq += 1;
        at += gap;
    }
    out
}

/// Evidence of a 30 s load starting at `origin` with `records` and fault windows
/// `(name, applied, undone)`.
pub fn evidence(
    origin: SystemTime,
    records: Vec<RequestRecord>,
    faults: &[(&str, Duration, Option<Duration>)],
) -> Evidence {
    Evidence {
        load_started_at: origin,
        load_duration: secs(30),
        records,
        faults: faults
            .iter()
            .map(|(name, applied, undone)| {
                let window = FaultWindow {
                    applied: *applied,
                    undone: *undone,
                };
                ((*name).to_owned(), window)
            })
            .collect(),
        traces: None,
        metrics: MetricsEvidence::default(),
        endpoints: BTreeMap::from([
            (
                "users".to_owned(),
                vec!["127.0.0.1:9101".to_owned(), "127.0.0.1:9102".to_owned()],
            ),
            ("orders".to_owned(), vec!["127.0.0.1:9201".to_owned()]),
        ]),
        gateway_config: None,
    }
}

/// A fixed origin ten minutes ago (the store keeps what it is given; "now" keeps the times
/// realistic).
pub fn origin() -> SystemTime {
    SystemTime::now() - secs(600)
}

/// A `/metrics` page with `gateway_breaker_state{upstream="users",route=""} value`.
pub fn breaker_scrape(value: f64) -> MetricSet {
    MetricSet::parse(&format!(
        "# TYPE gateway_breaker_state gauge\n\
         gateway_breaker_state{{upstream=\"users\",route=\"\"}} {value}\n"
    ))
    .unwrap()
}

/// The single verdict of `verdicts`.
pub fn only(verdicts: &[Verdict]) -> &Verdict {
    assert_eq!(verdicts.len(), 1, "{verdicts:#?}");
    &verdicts[0]
}

/// Asserts the status, printing the verdict when it differs.
#[track_caller]
pub fn assert_status(v: &Verdict, status: Status) {
    assert_eq!(
        v.status, status,
        "{}: {} -- {:#?}",
        v.label, v.message, v.checks
    );
}

// === trace store ===

/// One span to ingest.
#[derive(Debug, Clone)]
pub struct SpanSpec {
    pub service: String,
    pub name: String,
    pub trace_id: u128,
    pub span_id: u64,
    pub start: Duration,
    pub duration: Duration,
    pub attributes: Vec<(String, any_value::Value)>,
    pub error: bool,
}

impl SpanSpec {
    pub fn new(service: &str, name: &str, trace_id: u128, start: Duration) -> Self {
        SpanSpec {
            service: service.to_owned(),
            name: name.to_owned(),
            trace_id,
            span_id: (trace_id as u64) ^ 0x5a5a_0000 ^ start.as_nanos() as u64,
            start,
            duration: ms(5),
            attributes: Vec::new(),
            error: false,
        }
    }

    pub fn span_id(mut self, id: u64) -> Self {
        self.span_id = id;
        self
    }

    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.attributes.push((
            key.to_owned(),
            any_value::Value::StringValue(value.to_owned()),
        ));
        self
    }

    pub fn int(mut self, key: &str, value: i64) -> Self {
        self.attributes
            .push((key.to_owned(), any_value::Value::IntValue(value)));
        self
    }

    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = d;
        self
    }

    pub fn error(mut self) -> Self {
        self.error = true;
        self
    }
}

/// The embedded trace store serving Jaeger's query API on 127.0.0.1:0; stops when dropped.
pub struct Store {
    pub store: TraceStore,
    pub url: String,
    pub origin: SystemTime,
    stop: watch::Sender<bool>,
}

impl Store {
    pub async fn start(origin: SystemTime) -> Store {
        let store = TraceStore::new(StoreLimits::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(serve_query(
            listener,
            QueryApi::new(store.clone()),
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ));
        Store {
            store,
            url,
            origin,
            stop,
        }
    }

    /// The backend for evidence.
    pub fn backend(&self) -> TraceBackend {
        TraceBackend {
            query_url: self.url.clone(),
            gateway_service: GATEWAY.to_owned(),
        }
    }

    /// Ingests `spans`, one resource per service.
    pub fn ingest(&self, spans: &[SpanSpec]) {
        let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
        for s in spans {
            let start = self.origin + s.start;
            let start_ns = start
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            let span = Span {
                trace_id: s.trace_id.to_be_bytes().to_vec(),
                span_id: s.span_id.to_be_bytes().to_vec(),
                name: s.name.clone(),
                kind: 2,
                start_time_unix_nano: start_ns,
                end_time_unix_nano: start_ns + s.duration.as_nanos() as u64,
                attributes: s
                    .attributes
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: k.clone(),
                        value: Some(AnyValue {
                            value: Some(v.clone()),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                status: Some(opentelemetry_proto::tonic::trace::v1::Status {
                    code: if s.error {
                        status::StatusCode::Error as i32
                    } else {
                        status::StatusCode::Unset as i32
                    },
                    ..Default::default()
                }),
                ..Default::default()
            };
            by_service.entry(&s.service).or_default().push(span);
        }
        let request = ExportTraceServiceRequest {
            resource_spans: by_service
                .into_iter()
                .map(|(service, spans)| ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![KeyValue {
                            key: "service.name".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::StringValue(service.to_owned())),
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        };
        let summary = self.store.ingest(request);
        assert_eq!(summary.rejected, 0, "{summary:?}");
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Server spans (`gateway.request`) mirroring `records`: the same trace ids, the status
/// code of the client's outcome (502 for a failure without one), on `route`.
pub fn request_spans(records: &[RequestRecord], route: &str) -> Vec<SpanSpec> {
    records
        .iter()
        .map(|r| {
            let code = r.outcome.status().map_or(502, |s| s.as_u16());
            let mut s = SpanSpec::new(
                GATEWAY,
                "gateway.request",
                u128::from_be_bytes(r.trace_id.to_bytes()),
                r.intended,
            )
            .int("http.response.status_code", i64::from(code))
            .str("http.route", route)
            .duration(r.latency_to_end.unwrap_or(ms(5)));
            if let Some(kind) = &r.fallback {
                s = s.str("gateway.fallback", kind);
            }
            s
        })
        .collect()
}
