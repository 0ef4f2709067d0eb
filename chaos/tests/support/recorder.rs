//! An HTTP/1.1 server that records every request it gets (method, request-target as sent,
//! headers, body) and answers 200 `null`, like the W3C harness's callback endpoint. Used as
//! a callback target and as the `--via` proxy.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// The request-target as received: origin-form (`/path?q`) or absolute-form.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The running recorder; stops when dropped.
pub struct Recorder {
    pub addr: SocketAddr,
    requests: watch::Receiver<Vec<Recorded>>,
    task: JoinHandle<()>,
}

impl Recorder {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let addr = listener.local_addr().expect("recorder address");
        let (sender, requests) = watch::channel(Vec::new());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let sender = sender.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let sender = sender.clone();
                        async move { Ok::<_, Infallible>(record(&sender, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Recorder {
            addr,
            requests,
            task,
        }
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.borrow().clone()
    }

    /// Waits (at most `limit`) for `count` requests and returns them all.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Recorded> {
        let mut requests = self.requests.clone();
        match timeout(limit, requests.wait_for(|got| got.len() >= count)).await {
            Ok(Ok(got)) => got.clone(),
            _ => panic!(
                "{count} requests not received within {limit:?}; got {:#?}",
                self.requests()
            ),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }
}

async fn record(
    sender: &watch::Sender<Vec<Recorded>>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.expect("read body").to_bytes();
    sender.send_modify(|requests| {
        requests.push(Recorded {
            method: parts.method,
            target: parts.uri.to_string(),
            headers: parts.headers,
            body,
        });
    });
    let mut response = Response::new(Full::new(Bytes::from_static(b"null")));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
