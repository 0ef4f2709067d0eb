//! [`TestUpstream`]: an in-process HTTP/1.1 server on `127.0.0.1:0` that echoes what it
//! received as JSON, counts what it saw, and changes behavior at runtime (health, delay).
//!
//! Paths:
//! - `/healthz`: 200 or 503 per [`TestUpstream::set_healthy`]; held while
//!   [`TestUpstream::hold_probes`] is on. Counted as probes, not requests.
//! - `/bytes/N`: answers N bytes of `x`, generated chunk by chunk.
//! - `/hop`: the echo, with hop-by-hop response headers a proxy must remove.
//! - anything else: the echo `{"upstream", "method", "version", "path", "query", "headers",
//!   "body_bytes"}`, after reading the body as a stream (counted, never kept).
//!
//! Every request except probes waits while requests are held ([`TestUpstream::hold_requests`]),
//! then for the current delay ([`TestUpstream::set_delay`]), before answering.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::body::GeneratedBody;
use super::client::{TestBody, full};

/// A running upstream; stops accepting and closes its connections when dropped.
#[derive(Debug)]
pub struct TestUpstream {
    pub name: String,
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: CancellationToken,
}

#[derive(Debug)]
struct State {
    name: String,
    /// Requests other than probes whose head arrived.
    requests: AtomicU64,
    /// Of those, how many waited for a delay.
    delayed: AtomicU64,
    /// Requests answered (the response head was produced).
    answered: AtomicU64,
    /// Connections currently open.
    connections: AtomicU64,
    probes: AtomicU64,
    probes_ok: AtomicU64,
    probes_failed: AtomicU64,
    healthy: AtomicBool,
    delay: std::sync::Mutex<Duration>,
    /// `true` while probes are held unanswered.
    hold_probes: watch::Sender<bool>,
    /// `true` while requests other than probes are held unanswered.
    hold_requests: watch::Sender<bool>,
}

// === impl TestUpstream ===

impl TestUpstream {
    /// Binds `127.0.0.1:0` and serves until dropped; healthy, no delay.
    pub async fn start(name: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind test upstream");
        let addr = listener.local_addr().expect("test upstream address");
        let state = Arc::new(State {
            name: name.to_owned(),
            requests: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            probes: AtomicU64::new(0),
            probes_ok: AtomicU64::new(0),
            probes_failed: AtomicU64::new(0),
            healthy: AtomicBool::new(true),
            delay: std::sync::Mutex::new(Duration::ZERO),
            hold_probes: watch::Sender::new(false),
            hold_requests: watch::Sender::new(false),
        });
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, Arc::clone(&state), stop.clone()));
        Self {
            name: name.to_owned(),
            addr,
            state,
            stop,
        }
    }

    /// Requests other than probes received so far (counted when the head arrives).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests that waited for the configured delay.
    pub fn delayed(&self) -> u64 {
        self.state.delayed.load(Ordering::SeqCst)
    }

    /// Requests answered (after any delay).
    pub fn answered(&self) -> u64 {
        self.state.answered.load(Ordering::SeqCst)
    }

    /// Connections currently open (from the gateway's pool, its probes, or tests).
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// `/healthz` requests received.
    pub fn probes(&self) -> u64 {
        self.state.probes.load(Ordering::SeqCst)
    }

    /// `/healthz` requests answered 200.
    pub fn probes_ok(&self) -> u64 {
        self.state.probes_ok.load(Ordering::SeqCst)
    }

    /// `/healthz` requests answered 503.
    pub fn probes_failed(&self) -> u64 {
        self.state.probes_failed.load(Ordering::SeqCst)
    }

    /// Whether `/healthz` answers 200 (`true`) or 503.
    pub fn set_healthy(&self, healthy: bool) {
        self.state.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Delay before answering each later request other than probes.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// While `true`, probes get no answer (they wait); `false` answers the waiting ones.
    pub fn hold_probes(&self, hold: bool) {
        self.state.hold_probes.send_replace(hold);
    }

    /// While `true`, requests other than probes get no answer (they wait, counted in
    /// [`requests`](Self::requests)); `false` lets the waiting ones go on.
    pub fn hold_requests(&self, hold: bool) {
        self.state.hold_requests.send_replace(hold);
    }

    /// `127.0.0.1:PORT`, as written in a gateway config.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT{path}`, to talk to the upstream directly.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, stop: CancellationToken) {
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let state = Arc::clone(&state);
        let stop = stop.clone();
        state.connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let service = service_fn({
                let state = Arc::clone(&state);
                move |request| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(handle(&state, request).await) }
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = stop.cancelled() => {}
                _ = connection => {}
            }
            state.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn handle(state: &State, request: Request<Incoming>) -> Response<TestBody> {
    if request.uri().path() == "/healthz" {
        return probe(state).await;
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let mut hold = state.hold_requests.subscribe();
    // The sender lives in `state`, so the channel cannot close while we wait.
    let _ = hold.wait_for(|held| !*held).await;
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        state.delayed.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(delay).await;
    }
    let path = request.uri().path().to_owned();
    let response = if let Some(len) = path.strip_prefix("/bytes/") {
        let len: u64 = len.parse().expect("/bytes/N with N a number");
        Response::new(BodyExt::boxed(GeneratedBody::new(len)))
    } else {
        let mut response = echo(state, request).await;
        if path == "/hop" {
            let headers = response.headers_mut();
            headers.insert(
                header::CONNECTION,
                HeaderValue::from_static("x-upstream-hop"),
            );
            headers.insert("x-upstream-hop", HeaderValue::from_static("secret"));
            headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
            headers.insert(
                header::PROXY_AUTHENTICATE,
                HeaderValue::from_static("Basic"),
            );
            headers.insert("x-upstream-end", HeaderValue::from_static("kept"));
        }
        response
    };
    state.answered.fetch_add(1, Ordering::SeqCst);
    response
}

async fn probe(state: &State) -> Response<TestBody> {
    state.probes.fetch_add(1, Ordering::SeqCst);
    let mut hold = state.hold_probes.subscribe();
    // The sender lives in `state`, so the channel cannot close while we wait.
    let _ = hold.wait_for(|held| !*held).await;
    let status = if state.healthy.load(Ordering::SeqCst) {
        state.probes_ok.fetch_add(1, Ordering::SeqCst);
        StatusCode::OK
    } else {
        state.probes_failed.fetch_add(1, Ordering::SeqCst);
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = Response::new(full(Bytes::from_static(b"{}")));
    *response.status_mut() = status;
    response
}

async fn echo(state: &State, request: Request<Incoming>) -> Response<TestBody> {
    let (parts, mut body) = request.into_parts();
    let mut body_bytes = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    body_bytes += data.len() as u64;
                }
            }
            Err(_) => break,
        }
    }
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let echo = json!({
        "upstream": state.name,
        "method": parts.method.as_str(),
        "version": format!("{:?}", parts.version),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_bytes": body_bytes,
    });
    let mut response = Response::new(full(echo.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A raw TCP upstream for misbehaviour no HTTP server library produces: each accepted
/// connection is handed to `script`. Stops accepting when the returned guard is dropped.
pub async fn scripted_upstream<F, Fut>(script: F) -> (SocketAddr, ScriptedUpstream)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind scripted upstream");
    let addr = listener.local_addr().expect("scripted upstream address");
    let stop = CancellationToken::new();
    let accept_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = accept_stop.cancelled() => return,
                accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                    tokio::spawn(script(stream));
                },
            }
        }
    });
    (addr, ScriptedUpstream { stop })
}

/// Keeps a [`scripted_upstream`] accepting until dropped.
#[derive(Debug)]
pub struct ScriptedUpstream {
    stop: CancellationToken,
}

impl Drop for ScriptedUpstream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
