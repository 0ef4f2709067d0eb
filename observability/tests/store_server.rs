//! The two listeners over real sockets: ingest on one, query on the other, HTTP/1.1 and h2c,
//! and a clean stop when the shutdown future resolves.

mod store_support;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use observability::store::{
    OtlpReceiver, QueryApi, ReceiverConfig, StoreLimits, TraceStore, serve_otlp, serve_query,
};
use serde_json::Value as Json;
use store_support::OTLP_TRACE;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn listeners_ingest_answer_queries_and_stop_on_shutdown() {
    let store = TraceStore::new(StoreLimits::default());
    let otlp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let query = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (otlp_addr, query_addr) = (otlp.local_addr().unwrap(), query.local_addr().unwrap());
    let (stop, stopped) = watch::channel(());
    let mut stopped_otlp = stopped.clone();
    let mut stopped_query = stopped;
    let otlp_task = tokio::spawn(serve_otlp(
        otlp,
        OtlpReceiver::new(store.clone(), ReceiverConfig::default()),
        async move {
            let _ = stopped_otlp.changed().await;
        },
    ));
    let query_task = tokio::spawn(serve_query(
        query,
        QueryApi::new(store.clone()),
        async move {
            let _ = stopped_query.changed().await;
        },
    ));
    let http1 = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let h2c = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();

    let post = Request::post(format!("http://{otlp_addr}/v1/traces"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(OTLP_TRACE)))
        .unwrap();
    let posted = timeout(WAIT, http1.request(post)).await.unwrap().unwrap();
    assert_eq!(posted.status(), StatusCode::OK);

    for (client, path) in [
        (&http1, "/api/traces/5b8efff798038103d269b633813fc60c"),
        (&h2c, "/api/v3/traces/5b8efff798038103d269b633813fc60c"),
    ] {
        let get = Request::get(format!("http://{query_addr}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = timeout(WAIT, client.request(get)).await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: Json = serde_json::from_slice(&body).unwrap();
        assert!(
            json.get("data").or_else(|| json.get("result")).is_some(),
            "{json}"
        );
    }

    drop(stop);
    timeout(WAIT, otlp_task).await.unwrap().unwrap();
    timeout(WAIT, query_task).await.unwrap().unwrap();
    assert_eq!(store.stats().spans_stored, 1);
}
