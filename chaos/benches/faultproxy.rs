//! Fault proxy overhead with no toxics, against a direct connection on loopback:
//! download throughput (MB/s) and added echo round-trip latency (µs).
//!
//! `cargo bench -p chaos --bench faultproxy` prints one line per measurement. Each
//! throughput figure is the median of 5 downloads of 256 MiB; latency comes from 5000
//! sequential 16-byte round trips on one connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chaos::faultproxy::{FaultProxy, ProxyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DOWNLOAD_BYTES: usize = 256 << 20;
const DOWNLOADS: usize = 5;
const ROUND_TRIPS: usize = 5000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let source = spawn_server(Mode::Download).await;
    let echo = spawn_server(Mode::Echo).await;
    let proxies = FaultProxy::new(0);
    let proxied_source = proxy(&proxies, "download", source).await;
    let proxied_echo = proxy(&proxies, "echo", echo).await;

    let direct = throughput(source).await;
    let through = throughput(proxied_source).await;
    println!(
        "throughput  direct {direct:8.0} MB/s  proxy {through:8.0} MB/s  ({:.0}% of direct)",
        100.0 * through / direct
    );

    let direct = latency(echo).await;
    let through = latency(proxied_echo).await;
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        let (d, p) = (quantile(&direct, q), quantile(&through, q));
        println!(
            "round trip {name}  direct {:7.1} µs  proxy {:7.1} µs  added {:7.1} µs",
            micros(d),
            micros(p),
            micros(p) - micros(d)
        );
    }
    let mean = |samples: &[Duration]| samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "round trip mean direct {:7.1} µs  proxy {:7.1} µs  added {:7.1} µs",
        micros(mean(&direct)),
        micros(mean(&through)),
        micros(mean(&through)) - micros(mean(&direct))
    );
    proxies.shutdown().await;
}

#[derive(Clone, Copy)]
enum Mode {
    Download,
    Echo,
}

async fn spawn_server(mode: Mode) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            socket.set_nodelay(true).expect("nodelay");
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                match mode {
                    Mode::Download => {
                        let mut left = DOWNLOAD_BYTES;
                        while left > 0 {
                            let n = left.min(buffer.len());
                            if socket.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                            left -= n;
                        }
                    }
                    Mode::Echo => loop {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if socket.write_all(&buffer[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    },
                }
            });
        }
    });
    addr
}

async fn proxy(proxies: &FaultProxy, name: &str, upstream: SocketAddr) -> SocketAddr {
    let config = ProxyConfig {
        name: name.into(),
        listen: "127.0.0.1:0".into(),
        upstream: upstream.to_string(),
        enabled: true,
    };
    let state = proxies.create_proxy(config).await.expect("proxy");
    state.listen.parse().expect("listen")
}

/// Median MB/s (10^6 bytes) over `DOWNLOADS` downloads.
async fn throughput(addr: SocketAddr) -> f64 {
    let mut rates = Vec::with_capacity(DOWNLOADS);
    let mut buffer = vec![0u8; 256 * 1024];
    for _ in 0..DOWNLOADS {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let start = Instant::now();
        let mut total = 0;
        loop {
            match stream.read(&mut buffer).await.expect("read") {
                0 => break,
                n => total += n,
            }
        }
        assert_eq!(total, DOWNLOAD_BYTES);
        rates.push(total as f64 / 1e6 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

async fn latency(addr: SocketAddr) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut back = [0u8; 16];
    // Warm up the connection and the proxy's tasks.
    for _ in 0..100 {
        stream.write_all(b"0123456789abcdef").await.expect("write");
        stream.read_exact(&mut back).await.expect("read");
    }
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let start = Instant::now();
        stream.write_all(b"0123456789abcdef").await.expect("write");
        stream.read_exact(&mut back).await.expect("read");
        samples.push(start.elapsed());
    }
    samples.sort();
    samples
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
