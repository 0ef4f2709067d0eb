//! TLS through the real binary on real sockets: HTTPS to the gateway, certificate choice by SNI,
//! ALPN deciding HTTP/2 or HTTP/1.1, plaintext and TLS 1.2 clients refused, certificates
//! reloaded (and kept when the new ones are invalid), and https to upstreams verified against
//! a CA file. Certificates are made by rcgen at test time in a temp dir.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use support::client::request;
use support::{Echo, Gateway, TestUpstream, WAIT, empty};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::CancellationToken;

// === certificates ===

/// A test CA that issues leaf certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate and its key, as PEM and DER.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// A leaf for `names` (DNS names or IP addresses as SANs).
    fn leaf(&self, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.as_ref().pem()
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.as_ref().der().clone()
    }
}

/// Files for the gateway, in their own temp dir (not the watched config folder).
struct Files {
    dir: TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `leaf` as `NAME.crt` and `NAME.key`; returns both paths.
    fn write_leaf(&self, name: &str, leaf: &Leaf) -> (PathBuf, PathBuf) {
        let (cert, key) = (
            self.path(&format!("{name}.crt")),
            self.path(&format!("{name}.key")),
        );
        std::fs::write(&cert, &leaf.cert_pem).unwrap();
        std::fs::write(&key, &leaf.key_pem).unwrap();
        (cert, key)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

// === clients ===

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS client trusting `ca`, offering `alpn`, speaking only `versions`.
fn client_config(
    ca: &Ca,
    alpn: &[&str],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
    Arc::new(config)
}

fn both_versions() -> Vec<&'static rustls::SupportedProtocolVersion> {
    vec![&rustls::version::TLS13, &rustls::version::TLS12]
}

/// Connects to `addr` and completes a handshake for `server_name` (an IP sends no SNI).
async fn connect(
    addr: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::other("handshake timed out"))?
}

/// The leaf certificate the gateway presented.
fn peer_leaf(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// A fully read response over one TLS connection.
struct TlsReply {
    status: StatusCode,
    version: Version,
    body: Bytes,
}

/// Sends `GET path` with `Host: host` on `stream`, as HTTP/2 when ALPN chose `h2`, else
/// HTTP/1.1.
async fn get(stream: TlsStream<TcpStream>, host: &str, path: &str) -> TlsReply {
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = TokioIo::new(stream);
    let response = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get(format!("https://{host}{path}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        timeout(WAIT, sender.send_request(req))
            .await
            .unwrap()
            .unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let req = Request::get(path)
            .header(http::header::HOST, host)
            .body(Empty::<Bytes>::new())
            .unwrap();
        timeout(WAIT, sender.send_request(req))
            .await
            .unwrap()
            .unwrap()
    };
    let (parts, body) = response.into_parts();
    let body = timeout(WAIT, body.collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    TlsReply {
        status: parts.status,
        version: parts.version,
        body,
    }
}

// === gateway configs ===

/// A gateway config with listener TLS `tls` (YAML mapping lines, indented two spaces) and one
/// route `/**` to `upstream`.
fn config(tls: &str, upstream: &str) -> String {
    format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  watch: false
tls:
{tls}
upstreams:
{upstream}
routes:
  - name: all
    match:
      path: /**
    upstream: app
"
    )
}

fn plain_upstream(up: &TestUpstream) -> String {
    format!(
        "  app:\n    endpoints:\n      - address: {}\n",
        up.authority()
    )
}

fn certificate_entry(cert: &Path, key: &Path, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "    - cert: {}\n      key: {}\n      server_names: [{}]\n",
        cert.display(),
        key.display(),
        names.join(", ")
    )
}

/// The value of the counter `name` with `label` in the gateway's `/metrics` (0 when absent).
async fn counter(gw: &Gateway, name: &str, label: &str) -> f64 {
    let reply = gw.admin_get("/metrics").await;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    text.lines()
        .find(|l| l.starts_with(name) && l.contains(label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn admin_reload(gw: &Gateway) -> StatusCode {
    gw.http
        .send(
            request(Method::POST, &gw.admin_url("/admin/reload"))
                .body(empty())
                .unwrap(),
        )
        .await
        .status
}

/// One TLS gateway with a certificate for `api.test` (and 127.0.0.1) in front of a cleartext
/// upstream.
struct Setup {
    ca: Ca,
    files: Files,
    upstream: TestUpstream,
    leaf: Leaf,
    gw: Gateway,
}

async fn setup(extra: &str) -> Setup {
    let ca = Ca::new("test ca");
    let files = Files::new();
    let leaf = ca.leaf(&["api.test", "127.0.0.1"]);
    let (cert, key) = files.write_leaf("api", &leaf);
    let upstream = TestUpstream::start("app").await;
    let tls = format!(
        "  certificates:\n{}{extra}",
        certificate_entry(&cert, &key, &["api.test"])
    );
    let gw = Gateway::start(&config(&tls, &plain_upstream(&upstream))).await;
    Setup {
        ca,
        files,
        upstream,
        leaf,
        gw,
    }
}

// === listener ===

#[tokio::test]
async fn https_request_through_the_gateway_reaches_a_cleartext_upstream() {
    let s = setup("").await;
    let stream = connect(
        s.gw.data,
        "api.test",
        client_config(&s.ca, &["http/1.1"], &both_versions()),
    )
    .await
    .unwrap();
    let reply = get(stream, "api.test", "/orders/7").await;

    assert_eq!(reply.status, StatusCode::OK);
    let echo: Echo = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(echo.upstream, "app");
    assert_eq!(echo.path, "/orders/7");
    assert_eq!(echo.headers["x-forwarded-proto"], ["https"]);
    assert_eq!(s.upstream.requests(), 1);
    // The admin view shows the TLS settings in effect, without key material.
    let config = s.gw.admin_json("/admin/config").await;
    assert_eq!(
        config["tls"]["certificates"][0]["server_names"][0],
        "api.test"
    );
    assert_eq!(config["tls"]["min_version"], "1.2");
    assert_eq!(config["tls"]["alpn"], serde_json::json!(["h2", "http/1.1"]));
}

#[tokio::test]
async fn sni_selects_the_certificate_whose_server_names_match_and_the_first_is_the_default() {
    let ca = Ca::new("test ca");
    let files = Files::new();
    let (a, b) = (
        ca.leaf(&["a.test", "127.0.0.1"]),
        ca.leaf(&["b.test", "c.b.test"]),
    );
    let (a_cert, a_key) = files.write_leaf("a", &a);
    let (b_cert, b_key) = files.write_leaf("b", &b);
    let upstream = TestUpstream::start("app").await;
    let tls = format!(
        "  certificates:\n{}{}",
        certificate_entry(&a_cert, &a_key, &["a.test"]),
        certificate_entry(&b_cert, &b_key, &["b.test", "*.b.test"]),
    );
    let gw = Gateway::start(&config(&tls, &plain_upstream(&upstream))).await;
    let client = client_config(&ca, &["http/1.1"], &both_versions());

    let to_a = connect(gw.data, "a.test", Arc::clone(&client))
        .await
        .unwrap();
    assert_eq!(peer_leaf(&to_a), a.der, "SNI a.test gets a's certificate");
    let to_b = connect(gw.data, "b.test", Arc::clone(&client))
        .await
        .unwrap();
    assert_eq!(peer_leaf(&to_b), b.der, "SNI b.test gets b's certificate");
    let wildcard = connect(gw.data, "c.b.test", Arc::clone(&client))
        .await
        .unwrap();
    assert_eq!(peer_leaf(&wildcard), b.der, "*.b.test covers c.b.test");
    // An IP address as server name sends no SNI: the first certificate answers.
    let no_sni = connect(gw.data, "127.0.0.1", Arc::clone(&client))
        .await
        .unwrap();
    assert_eq!(
        peer_leaf(&no_sni),
        a.der,
        "no SNI gets the first certificate"
    );

    let reply = get(to_b, "b.test", "/x").await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn alpn_h2_is_served_as_http2_and_http11_as_http1() {
    let s = setup("").await;
    let h2 = connect(
        s.gw.data,
        "api.test",
        client_config(&s.ca, &["h2"], &both_versions()),
    )
    .await
    .unwrap();
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let reply = get(h2, "api.test", "/v2").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.version, Version::HTTP_2);

    let h1 = connect(
        s.gw.data,
        "api.test",
        client_config(&s.ca, &["http/1.1"], &both_versions()),
    )
    .await
    .unwrap();
    assert_eq!(h1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let reply = get(h1, "api.test", "/v1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.version, Version::HTTP_11);
    // Upstream calls are HTTP/1.1 whatever the client spoke.
    let echo: Echo = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(echo.version, "HTTP/1.1");
}

#[tokio::test]
async fn plaintext_client_on_the_tls_port_gets_no_http_response_and_the_gateway_keeps_serving() {
    let s = setup("").await;
    let mut tcp = TcpStream::connect(s.gw.data).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The gateway answers with a TLS alert at most, then closes.
    let _ = timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("the gateway closes the plaintext connection");
    assert!(
        !answer.starts_with(b"HTTP/"),
        "no HTTP response on the TLS port, got {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(
        counter(
            &s.gw,
            "gateway_tls_handshake_errors_total",
            "reason=\"not_tls\""
        )
        .await,
        1.0
    );

    let stream = connect(
        s.gw.data,
        "api.test",
        client_config(&s.ca, &["http/1.1"], &both_versions()),
    )
    .await
    .unwrap();
    assert_eq!(get(stream, "api.test", "/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn tls12_client_is_refused_when_min_version_is_13() {
    let s = setup("  min_version: \"1.3\"\n").await;
    let tls12 = connect(
        s.gw.data,
        "api.test",
        client_config(&s.ca, &["http/1.1"], &[&rustls::version::TLS12]),
    )
    .await;
    assert!(tls12.is_err(), "a TLS 1.2 client must be refused");
    let counted = support::wait_until(WAIT, "handshake error counted", || async {
        counter(
            &s.gw,
            "gateway_tls_handshake_errors_total",
            "reason=\"incompatible\"",
        )
        .await
            == 1.0
    });
    counted.await;

    let tls13 = connect(
        s.gw.data,
        "api.test",
        client_config(&s.ca, &["http/1.1"], &[&rustls::version::TLS13]),
    )
    .await
    .unwrap();
    assert_eq!(
        tls13.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(get(tls13, "api.test", "/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn reload_gives_new_connections_the_rewritten_certificate() {
    let s = setup("").await;
    let client = client_config(&s.ca, &["http/1.1"], &both_versions());
    let before = connect(s.gw.data, "api.test", Arc::clone(&client))
        .await
        .unwrap();
    assert_eq!(peer_leaf(&before), s.leaf.der);
    let version = s.gw.version().await;

    let renewed = s.ca.leaf(&["api.test", "127.0.0.1"]);
    s.files.write_leaf("api", &renewed);
    assert_eq!(admin_reload(&s.gw).await, StatusCode::OK);

    assert_eq!(s.gw.version().await, version + 1);
    let after = connect(s.gw.data, "api.test", Arc::clone(&client))
        .await
        .unwrap();
    assert_eq!(
        peer_leaf(&after),
        renewed.der,
        "new connection, new certificate"
    );
    assert_eq!(get(after, "api.test", "/").await.status, StatusCode::OK);
    // The connection made before the reload keeps working with the old certificate.
    assert_eq!(get(before, "api.test", "/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_certificate_on_reload_is_rejected_and_the_old_one_keeps_serving() {
    let s = setup("").await;
    let client = client_config(&s.ca, &["http/1.1"], &both_versions());
    let version = s.gw.version().await;

    // A key that belongs to another certificate.
    let other = s.ca.leaf(&["api.test"]);
    s.files.write("api.key", &other.key_pem);
    assert_ne!(admin_reload(&s.gw).await, StatusCode::OK);
    // Not PEM at all.
    s.files.write("api.crt", "not a certificate\n");
    assert_ne!(admin_reload(&s.gw).await, StatusCode::OK);

    assert_eq!(s.gw.version().await, version, "the running version stays");
    assert_eq!(
        counter(
            &s.gw,
            "gateway_config_reloads_total",
            "outcome=\"rejected\""
        )
        .await,
        2.0
    );
    let stream = connect(s.gw.data, "api.test", client).await.unwrap();
    assert_eq!(peer_leaf(&stream), s.leaf.der, "the old certificate serves");
    assert_eq!(get(stream, "api.test", "/").await.status, StatusCode::OK);
    let logs = s.gw.stderr_text();
    assert!(
        logs.contains("does not match the certificate"),
        "the rejection names the problem: {logs}"
    );
}

// === upstream TLS ===

/// An https upstream answering every request with 200 `secure`, until dropped.
struct TlsUpstream {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn tls_upstream(leaf: &Leaf) -> TlsUpstream {
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der.clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                () = token.cancelled() => return,
                accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"secure"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TlsUpstream { addr, stop }
}

/// A cleartext gateway whose upstream `app` is `addr` over https with `ca_file`.
fn upstream_tls_config(addr: SocketAddr, ca_file: &Path) -> String {
    format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
reload:
  watch: false
upstreams:
  app:
    endpoints:
      - address: {addr}
    tls:
      ca_file: {ca}
      server_name: upstream.test
routes:
  - name: all
    match:
      path: /**
    upstream: app
",
        ca = ca_file.display()
    )
}

#[tokio::test]
async fn upstream_tls_verified_against_a_custom_ca_reaches_the_upstream() {
    let ca = Ca::new("upstream ca");
    let files = Files::new();
    let ca_file = files.write("ca.pem", &ca.pem());
    let upstream = tls_upstream(&ca.leaf(&["upstream.test"])).await;
    let gw = Gateway::start(&upstream_tls_config(upstream.addr, &ca_file)).await;

    let reply = gw.http.get(&gw.url("/hello")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], b"secure");
}

#[tokio::test]
async fn upstream_tls_with_the_wrong_ca_fails_with_502() {
    let (ca, wrong) = (Ca::new("upstream ca"), Ca::new("someone else"));
    let files = Files::new();
    let ca_file = files.write("ca.pem", &wrong.pem());
    let upstream = tls_upstream(&ca.leaf(&["upstream.test"])).await;
    let gw = Gateway::start(&upstream_tls_config(upstream.addr, &ca_file)).await;

    let reply = gw.http.get(&gw.url("/hello")).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        counter(
            &gw,
            "gateway_upstream_requests_total",
            "outcome=\"connect_failure\""
        )
        .await,
        1.0
    );
}

// === measurement ===

/// Handshakes per second and requests per second over TLS against cleartext, through the
/// gateway (debug or release, whichever built the binary). Run with
/// `cargo nextest run -p gateway --test tls --run-ignored only` (add `--release` for figures).
#[tokio::test]
#[ignore = "measurement, not a check: prints figures"]
async fn measure_tls_against_cleartext() {
    const HANDSHAKES: u32 = 300;
    const REQUESTS: u32 = 2_000;
    let s = setup("").await;
    let client = client_config(&s.ca, &["http/1.1"], &both_versions());

    let started = Instant::now();
    for _ in 0..HANDSHAKES {
        let stream = connect(s.gw.data, "api.test", Arc::clone(&client))
            .await
            .unwrap();
        drop(stream);
    }
    let handshakes = f64::from(HANDSHAKES) / started.elapsed().as_secs_f64();

    let tls_rps = {
        let stream = connect(s.gw.data, "api.test", Arc::clone(&client))
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let started = Instant::now();
        for _ in 0..REQUESTS {
            let req = Request::get("/bench")
                .header(http::header::HOST, "api.test")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(req).await.unwrap();
            response.into_body().collect().await.unwrap();
        }
        f64::from(REQUESTS) / started.elapsed().as_secs_f64()
    };

    let plain = Gateway::start(&format!(
        "listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\nupstreams:\n{}routes:\n  - name: all\n    match:\n      path: /**\n    upstream: app\n",
        plain_upstream(&s.upstream)
    ))
    .await;
    let plain_rps = {
        let tcp = TcpStream::connect(plain.data).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        let started = Instant::now();
        for _ in 0..REQUESTS {
            let req = Request::get("/bench")
                .header(http::header::HOST, "api.test")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(req).await.unwrap();
            response.into_body().collect().await.unwrap();
        }
        f64::from(REQUESTS) / started.elapsed().as_secs_f64()
    };
    println!(
        "TLS handshakes/s (new connection each, ECDSA P-256, TLS 1.3): {handshakes:.0}\n\
         requests/s on one keep-alive connection: TLS {tls_rps:.0}, cleartext {plain_rps:.0}"
    );
}
