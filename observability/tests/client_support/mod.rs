//! Socket-level doubles shared by the `client_*` tests: a stub HTTP server with canned
//! answers that records what it was asked, a server that accepts and never answers, and a
//! port nobody listens on. Included by each test crate with `mod client_support;`; each
//! uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A canned answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }

    pub(crate) fn text(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
        }
    }
}

/// An HTTP/1 server on 127.0.0.1:0 answering by exact path; unknown paths get Go's
/// `404 page not found`. Aborted on drop.
pub(crate) struct StubServer {
    pub(crate) addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Answer>>>,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl StubServer {
    pub(crate) async fn start(routes: &[(&str, Answer)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(Mutex::new(
            routes
                .iter()
                .map(|(p, a)| ((*p).to_owned(), a.clone()))
                .collect::<HashMap<_, _>>(),
        ));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (routes.clone(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (routes, requests) = (r.clone(), q.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (routes, requests) = (routes.clone(), requests.clone());
                        async move { Ok::<_, Infallible>(answer(&routes, &requests, &req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            routes,
            requests,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces (or adds) the answer for `path`.
    pub(crate) fn set(&self, path: &str, answer: Answer) {
        self.routes.lock().unwrap().insert(path.to_owned(), answer);
    }

    /// Paths with query strings, in arrival order.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The decoded query parameters of the requests to `path`.
    pub(crate) fn params_of(&self, path: &str) -> Vec<Vec<(String, String)>> {
        self.requests()
            .iter()
            .filter(|r| r.split('?').next() == Some(path))
            .map(|r| {
                let url = reqwest::Url::parse(&format!("http://x{r}")).unwrap();
                url.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .collect()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(
    routes: &Mutex<HashMap<String, Answer>>,
    requests: &Mutex<Vec<String>>,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let uri = req.uri();
    requests.lock().unwrap().push(
        uri.path_and_query()
            .map_or(uri.path(), |pq| pq.as_str())
            .to_owned(),
    );
    let found = routes.lock().unwrap().get(uri.path()).cloned();
    let answer = found
        .unwrap_or_else(|| Answer::text(404, "text/plain; charset=utf-8", "404 page not found\n"));
    Response::builder()
        .status(answer.status)
        .header("content-type", answer.content_type)
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap()
}

/// Accepts connections and holds them open without ever reading or answering.
pub(crate) struct SilentServer {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SilentServer {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held: Vec<TcpStream> = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Self { addr, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback address that refuses connections: bound, then released. (Another process
/// could grab the port in between; on a test machine that is rare enough to accept.)
pub(crate) fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
