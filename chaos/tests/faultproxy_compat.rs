//! Compatibility: `toxiproxy_rust`, an independent blocking Toxiproxy client, drives our
//! API unchanged, and its toxics act on real traffic through the proxy.
//!
//! The client is blocking (reqwest 0.11 with its own runtime), so it runs on a blocking
//! thread; the traffic it checks uses std sockets with read timeouts.

mod faultproxy_support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use faultproxy_support::{Behavior, Harness, Upstream, WAIT};
use toxiproxy_rust::client::Client;
use toxiproxy_rust::proxy::ProxyPack;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// One echo round trip on a std socket; its duration.
fn round_trip(stream: &mut TcpStream, data: &[u8]) -> Duration {
    let start = Instant::now();
    stream.write_all(data).unwrap();
    let mut back = vec![0u8; data.len()];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(back, data);
    start.elapsed()
}

/// Runs `body` with a `toxiproxy_rust` client of a fresh fault proxy in front of an echo
/// upstream, on a blocking thread.
async fn with_client(body: impl FnOnce(Client, SocketAddr) + Send + 'static) {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let (api, echo) = (harness.api, upstream.addr);
    tokio::task::spawn_blocking(move || body(Client::new(api), echo))
        .await
        .expect("client thread");
    harness.stop().await;
}

fn populate_echo(client: &Client, echo: SocketAddr) -> SocketAddr {
    let pack = ProxyPack::new("echo".into(), "127.0.0.1:0".into(), echo.to_string());
    let proxies = client.populate(vec![pack]).expect("populate");
    assert_eq!(proxies.len(), 1);
    assert!(proxies[0].proxy_pack.enabled);
    proxies[0]
        .proxy_pack
        .listen
        .parse()
        .expect("bound listen address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_populates_finds_and_lists_proxies() {
    with_client(|client, echo| {
        assert!(client.is_running());
        assert_eq!(client.version().unwrap(), "{\"version\": \"2.12.0\"}\n");
        let listen = populate_echo(&client, echo);
        round_trip(&mut connect(listen), b"through the proxy");

        let found = client.find_proxy("echo").unwrap();
        assert_eq!(found.proxy_pack.upstream, echo.to_string());
        assert_eq!(found.proxy_pack.listen, listen.to_string());
        let all = client.all().unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["echo"]);
        assert!(client.find_proxy("nope").is_err(), "a 404 body is no proxy");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_latency_toxic_slows_round_trips_until_deleted() {
    with_client(|client, echo| {
        let listen = populate_echo(&client, echo);
        let proxy = client.find_proxy("echo").unwrap();
        proxy.with_latency("downstream".into(), 150, 0, 1.0);

        let toxics = proxy.toxics().unwrap();
        assert_eq!(toxics.len(), 1);
        assert_eq!(toxics[0].name, "latency_downstream");
        assert_eq!(toxics[0].r#type, "latency");
        assert_eq!(toxics[0].attributes["latency"], 150);
        assert_eq!(toxics[0].attributes["jitter"], 0);

        let mut stream = connect(listen);
        let slow = round_trip(&mut stream, b"x");
        assert!(slow >= MS(150) && slow < MS(200), "{slow:?}");
        proxy.delete_all_toxics().unwrap();
        assert!(proxy.toxics().unwrap().is_empty());
        let fast = round_trip(&mut stream, b"y");
        assert!(fast < MS(50), "same connection, toxic gone: {fast:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_timeout_toxic_hangs_and_reset_closes_and_clears() {
    with_client(|client, echo| {
        let listen = populate_echo(&client, echo);
        let proxy = client.find_proxy("echo").unwrap();
        proxy.with_timeout("upstream".into(), 0, 1.0);
        let mut stream = connect(listen);
        stream.set_read_timeout(Some(MS(300))).unwrap();
        stream.write_all(b"lost").unwrap();
        let mut byte = [0u8; 1];
        let err = stream.read(&mut byte).expect_err("no answer");
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err}"
        );

        client.reset().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            0,
            "removing timeout closes it"
        );
        assert!(
            client
                .find_proxy("echo")
                .unwrap()
                .toxics()
                .unwrap()
                .is_empty()
        );
        round_trip(&mut connect(listen), b"clean again");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_limit_data_and_slicer_act_on_traffic() {
    with_client(|client, echo| {
        let listen = populate_echo(&client, echo);
        let proxy = client.find_proxy("echo").unwrap();
        proxy.with_limit_data("downstream".into(), 4, 1.0);
        let mut stream = connect(listen);
        stream.write_all(b"abcdefgh").unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abcd");

        proxy.delete_all_toxics().unwrap();
        proxy
            .with_slicer("downstream".into(), 2, 1, 0, 1.0)
            .with_bandwidth("upstream".into(), 1000, 1.0);
        let names: Vec<_> = proxy
            .toxics()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["bandwidth_upstream", "slicer_downstream"]);
        round_trip(&mut connect(listen), b"sliced but intact");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_with_down_refuses_connects_then_restores() {
    with_client(|client, echo| {
        let listen = populate_echo(&client, echo);
        let proxy = client.find_proxy("echo").unwrap();
        let mut live = connect(listen);
        round_trip(&mut live, b"x");
        proxy
            .with_down(|| {
                let err = TcpStream::connect_timeout(&listen, WAIT).expect_err("refused");
                assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
                let mut byte = [0u8; 1];
                assert!(
                    matches!(live.read(&mut byte), Ok(0) | Err(_)),
                    "live one closed"
                );
            })
            .unwrap();
        round_trip(&mut connect(listen), b"back up");
        proxy.delete().unwrap();
        assert!(client.all().unwrap().is_empty());
        let err = TcpStream::connect_timeout(&listen, WAIT).expect_err("deleted");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    })
    .await;
}
