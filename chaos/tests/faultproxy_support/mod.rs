//! Harness for the fault proxy tests: an in-process API server, TCP upstreams that echo or
//! stream, and timing helpers. Every socket binds 127.0.0.1:0; every wait is bounded.

#![allow(dead_code, unreachable_pub)]

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chaos::faultproxy::{FaultProxy, ProxyConfig, ProxyState, ToxiproxyClient, serve_api};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Upper bound of any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// A fault proxy with its API served on a free port, and a client of that API.
pub struct Harness {
    pub proxy: FaultProxy,
    pub api: SocketAddr,
    pub client: ToxiproxyClient,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Harness {
    pub async fn start(seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap();
        let proxy = FaultProxy::new(seed);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve_api(listener, proxy.clone(), async {
            let _ = stopped.await;
        }));
        let client = ToxiproxyClient::new(&format!("http://{api}"), WAIT).unwrap();
        Harness {
            proxy,
            api,
            client,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Creates an enabled proxy `name` on a free port in front of `upstream`.
    pub async fn proxy_to(&self, name: &str, upstream: SocketAddr) -> ProxyState {
        self.proxy
            .create_proxy(config(name, upstream))
            .await
            .unwrap()
    }

    /// Stops the API server and every proxy.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            timeout(WAIT, server).await.unwrap().unwrap();
        }
        self.proxy.shutdown().await;
    }
}

pub fn config(name: &str, upstream: SocketAddr) -> ProxyConfig {
    ProxyConfig {
        name: name.into(),
        listen: "127.0.0.1:0".into(),
        upstream: upstream.to_string(),
        enabled: true,
    }
}

pub fn addr(state: &ProxyState) -> SocketAddr {
    state.listen.parse().unwrap()
}

/// What an upstream does with each accepted connection.
#[derive(Clone, Copy, Debug)]
pub enum Behavior {
    /// Writes back everything it reads, until EOF.
    Echo,
    /// Writes this many bytes (byte i = i mod 251) in one write, then closes.
    Send(usize),
    /// Writes these bytes, then closes.
    SendBytes(&'static [u8]),
}

/// A TCP upstream on a free port; records the bytes each connection received.
pub struct Upstream {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Upstream {
    pub async fn start(behavior: Behavior) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&received);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let record = Arc::clone(&record);
                tokio::spawn(serve(socket, behavior, record));
            }
        });
        Upstream {
            addr,
            received,
            task,
        }
    }

    /// Bytes received by each finished connection, in order of finishing.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut socket: TcpStream, behavior: Behavior, record: Arc<Mutex<Vec<Vec<u8>>>>) {
    socket.set_nodelay(true).unwrap();
    let mut got = Vec::new();
    match behavior {
        Behavior::Echo => {
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buffer[..n]);
                        if socket.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        Behavior::Send(len) => {
            let _ = socket.write_all(&pattern(len)).await;
        }
        Behavior::SendBytes(bytes) => {
            let _ = socket.write_all(bytes).await;
        }
    }
    record.lock().unwrap().push(got);
}

/// `len` bytes, byte i = i mod 251 (a prime, so shifted copies differ).
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

pub async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    stream.set_nodelay(true).unwrap();
    stream
}

/// Writes `data` and reads back as many bytes; returns the round-trip time.
pub async fn round_trip(stream: &mut TcpStream, data: &[u8]) -> Duration {
    let start = Instant::now();
    stream.write_all(data).await.unwrap();
    let mut back = vec![0u8; data.len()];
    timeout(WAIT, stream.read_exact(&mut back))
        .await
        .expect("echo in time")
        .expect("echo");
    assert_eq!(back, data);
    start.elapsed()
}

/// Reads until EOF (or an error); returns the bytes and how the stream ended.
pub async fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, io::Result<()>) {
    let mut data = Vec::new();
    let result = timeout(WAIT, stream.read_to_end(&mut data))
        .await
        .expect("stream ended in time");
    (data, result.map(drop))
}

/// Whether the peer closed: a read gives EOF or an error within `limit`.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        timeout(limit, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// The `q`-quantile (0..=1) of `samples`, nearest rank.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// A `chaos` command with `CHAOS_*` variables stripped from the environment, so a
/// developer's shell cannot change what a test sees; killed on drop.
pub fn chaos_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_chaos"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CHAOS_") {
            command.env_remove(key);
        }
    }
    command.kill_on_drop(true);
    command
}
