//! JWT authentication through the real binary: the attack suite (each forged, stale or
//! malformed token is refused with the right status and challenge and never reaches the
//! upstream), claim forwarding and header hygiene, and JWKS rotation against an in-test JWKS
//! server that counts its fetches.
//!
//! Keys are committed fixtures (`tests/fixtures/auth`, see its README); tokens are signed at
//! test time with `jsonwebtoken`.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use support::client::request;
use support::{Gateway, Reply, TestUpstream, empty};
use tokio::net::TcpListener;

const ISSUER: &str = "https://issuer.test/";
const AUDIENCE: &str = "api";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/auth")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).expect("timestamp")
}

/// Claims of a token the `rsa` route accepts.
fn good_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "role": "admin",
        "iat": now(),
        "exp": now() + 600,
    })
}

fn claims_with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().expect("object") {
        claims[k] = v.clone();
    }
    claims
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).expect("sign")
}

fn rsa1() -> EncodingKey {
    EncodingKey::from_rsa_pem(&read("rsa1.key.pem")).expect("rsa1 key")
}

fn rsa2() -> EncodingKey {
    EncodingKey::from_rsa_pem(&read("rsa2.key.pem")).expect("rsa2 key")
}

fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, &rsa1(), None, claims)
}

/// A token with `header` and `claims` as given and a signature of garbage.
fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A gateway in front of `upstream` with routes `/rsa/**` (RSA public key, RS256, rules and
/// forwarded claims), `/keep/**` (same provider, `Authorization` kept), `/hmac/**` (secret
/// file, HS256) and, when `jwks` is given, `/jwks/**` (JWKS URL, RS256).
async fn gateway(upstream: &TestUpstream, jwks: Option<SocketAddr>) -> Gateway {
    let jwks_provider = jwks.map_or(String::new(), |addr| {
        format!(
            "
    remote:
      issuer: {ISSUER}
      audiences: [{AUDIENCE}]
      algorithms: [RS256]
      jwks_url: http://{addr}/jwks.json
      jwks_min_refresh: 30s"
        )
    });
    let jwks_route = if jwks.is_some() {
        "
  - name: jwks
    match: { path: /jwks/** }
    upstream: a
    auth: { provider: remote }"
    } else {
        ""
    };
    Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
auth:
  providers:
    rsa:
      issuer: {ISSUER}
      audiences: [other, {AUDIENCE}]
      algorithms: [RS256]
      public_key_file: {rsa}
    hmac:
      issuer: {ISSUER}
      audiences: [{AUDIENCE}]
      algorithms: [HS256]
      secret_file: {secret}{jwks_provider}
upstreams:
  a:
    endpoints:
      - address: {a}
routes:
  - name: rsa
    match: {{ path: /rsa/** }}
    upstream: a
    auth:
      provider: rsa
      required_claims: [sub]
      rules:
        - {{ claim: role, any_of: [admin, user] }}
      forward_claims: {{ sub: x-user-id, role: x-user-role }}
  - name: keep
    match: {{ path: /keep/** }}
    upstream: a
    auth: {{ provider: rsa, strip_authorization: false }}
  - name: hmac
    match: {{ path: /hmac/** }}
    upstream: a
    auth: {{ provider: hmac }}
  - name: per-user
    match: {{ path: /per-user/** }}
    upstream: a
    auth: {{ provider: rsa }}
    rate_limit: {{ rate: 1/m, burst: 2, key: [\"claim:sub\"] }}{jwks_route}
",
        rsa = fixture("rsa1.pub.pem").display(),
        secret = fixture("hmac.secret").display(),
        a = upstream.authority(),
    ))
    .await
}

async fn get(gw: &Gateway, path: &str, authorization: Option<&str>) -> Reply {
    let mut builder = request(Method::GET, &gw.url(path));
    if let Some(value) = authorization {
        builder = builder.header(http::header::AUTHORIZATION, value);
    }
    gw.http.send(builder.body(empty()).expect("request")).await
}

async fn bearer(gw: &Gateway, path: &str, token: &str) -> Reply {
    get(gw, path, Some(&format!("Bearer {token}"))).await
}

/// `gateway_auth_rejections_total{route, reason}` from the admin `/metrics`.
async fn rejections(gw: &Gateway, route: &str, reason: &str) -> u64 {
    let text = String::from_utf8_lossy(&gw.admin_get("/metrics").await.body).into_owned();
    let series = format!("gateway_auth_rejections_total{{route=\"{route}\",reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map_or(0, |v| v.trim().parse().expect("counter value"))
}

/// Asserts a 401 `invalid_token` for the reason given, that nothing reached the upstream, and
/// that the body is the gateway's generic JSON error (which never echoes the token).
async fn assert_invalid_token(
    gw: &Gateway,
    upstream: &TestUpstream,
    reply: &Reply,
    route: &str,
    reason: &str,
    token: &str,
) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="gateway", error="invalid_token""#)
    );
    assert_generic_body(reply, "unauthorized", token);
    assert_eq!(
        upstream.requests(),
        0,
        "a rejected request reached the upstream"
    );
    assert_eq!(rejections(gw, route, reason).await, 1, "reason {reason}");
}

fn assert_generic_body(reply: &Reply, kind: &str, token: &str) {
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["error"], kind, "{body}");
    assert_eq!(body["status"], reply.status.as_u16(), "{body}");
    let text = body.to_string();
    if !token.is_empty() {
        assert!(!text.contains(token), "body echoes the token: {text}");
    }
}

/// One token on the `rsa` route: refused as `reason`.
async fn refused_on_rsa(token: &str, reason: &str) {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let reply = bearer(&gw, "/rsa/x", token).await;
    assert_invalid_token(&gw, &a, &reply, "rsa", reason, token).await;
    assert!(
        !gw.stderr_text().contains(token),
        "the gateway logged the token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_valid_token_passes_with_claims_forwarded_and_authorization_stripped() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let token = rs256(&good_claims());

    let echo = bearer(&gw, "/rsa/x", &token).await.echo();

    assert_eq!(echo.header("x-user-id"), Some("user-42"));
    assert_eq!(echo.header("x-user-role"), Some("admin"));
    assert_eq!(echo.header("authorization"), None);
    assert_eq!(a.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_spoofed_claim_headers_are_replaced_by_the_token_claims() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let token = rs256(&claims_with(json!({ "role": "user" })));
    let spoofed = request(Method::GET, &gw.url("/rsa/x"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-user-id", "admin-1")
        .header("x-user-id", "root")
        .header("x-user-role", "admin")
        .body(empty())
        .expect("request");

    let echo = gw.http.send(spoofed).await.echo();

    assert_eq!(echo.header("x-user-id"), Some("user-42"));
    assert_eq!(echo.header("x-user-role"), Some("user"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_route_with_strip_authorization_false_forwards_the_token() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let token = rs256(&good_claims());

    let echo = bearer(&gw, "/keep/x", &token).await.echo();

    assert_eq!(
        echo.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    // `/keep` forwards no claims.
    assert_eq!(echo.header("x-user-id"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_admin_config_names_key_sources_but_never_shows_key_material() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;

    let config = gw.admin_json("/admin/config").await;

    let providers = config["auth"]["providers"].as_array().expect("providers");
    let hmac = providers
        .iter()
        .find(|p| p["name"] == "hmac")
        .expect("hmac");
    assert_eq!(hmac["algorithms"], json!(["HS256"]));
    assert!(hmac["keys"]["secret_file"].is_string(), "{hmac}");
    let text = config.to_string();
    let secret = String::from_utf8(read("hmac.secret")).expect("text secret");
    assert!(!text.contains(secret.trim()), "secret in /admin/config");
    assert!(
        !text.contains("BEGIN PUBLIC KEY"),
        "key material in /admin/config"
    );
    let rsa_route = config["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["name"] == "rsa")
        .expect("rsa route");
    assert_eq!(rsa_route["auth"]["forward_claims"]["sub"], "x-user-id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_hmac_provider_accepts_its_own_tokens() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let key = EncodingKey::from_secret(&read("hmac.secret")).expect("hmac key");
    let token = sign(Algorithm::HS256, &key, None, &good_claims());

    let reply = bearer(&gw, "/hmac/x", &token).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(a.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_missing_token_is_401_without_error_attribute() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;

    let reply = get(&gw, "/rsa/x", None).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="gateway""#)
    );
    assert_generic_body(&reply, "unauthorized", "");
    assert_eq!(a.requests(), 0);
    assert_eq!(rejections(&gw, "rsa", "missing").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_basic_scheme_is_401_as_a_missing_bearer_token() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;

    let reply = get(&gw, "/rsa/x", Some("Basic dXNlcjpwYXNzd29yZA==")).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="gateway""#)
    );
    assert_eq!(a.requests(), 0);
    assert_eq!(rejections(&gw, "rsa", "missing").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_alg_none_is_refused() {
    let token = unsigned(&json!({ "alg": "none", "typ": "JWT" }), &good_claims(), "");
    refused_on_rsa(&token, "algorithm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_algorithm_outside_the_allowlist_is_refused() {
    // PS256 verifies with the same RSA key, but the provider allows only RS256.
    let token = sign(Algorithm::PS256, &rsa1(), None, &good_claims());
    refused_on_rsa(&token, "algorithm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_hs256_signed_with_the_rsa_public_key_is_refused() {
    // Key confusion: the public key PEM bytes used as an HMAC secret.
    let key = EncodingKey::from_secret(&read("rsa1.pub.pem")).expect("confused key");
    let token = sign(Algorithm::HS256, &key, None, &good_claims());
    refused_on_rsa(&token, "algorithm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_expired_token_is_refused() {
    let claims = claims_with(json!({ "iat": now() - 7200, "exp": now() - 3600 }));
    refused_on_rsa(&rs256(&claims), "expired").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_not_yet_valid_is_refused() {
    let claims = claims_with(json!({ "nbf": now() + 3600 }));
    refused_on_rsa(&rs256(&claims), "not_yet_valid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_issued_in_the_future_is_refused() {
    let claims = claims_with(json!({ "iat": now() + 3600 }));
    refused_on_rsa(&rs256(&claims), "not_yet_valid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_wrong_issuer_is_refused() {
    let claims = claims_with(json!({ "iss": "https://evil.test/" }));
    refused_on_rsa(&rs256(&claims), "issuer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_wrong_audience_is_refused() {
    let claims = claims_with(json!({ "aud": ["someone-else"] }));
    refused_on_rsa(&rs256(&claims), "audience").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_tampered_payload_is_refused() {
    let token = rs256(&claims_with(json!({ "role": "user" })));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    refused_on_rsa(&parts.join("."), "bad_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_tampered_signature_is_refused() {
    let token = rs256(&good_claims());
    let (message, signature) = token.rsplit_once('.').expect("three segments");
    let mut sig = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    sig[0] ^= 0x01;
    let tampered = format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig));
    refused_on_rsa(&tampered, "bad_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_signed_by_another_key_is_refused() {
    let token = sign(Algorithm::RS256, &rsa2(), None, &good_claims());
    refused_on_rsa(&token, "bad_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_oversized_token_is_refused_before_parsing() {
    let claims = claims_with(json!({ "padding": "x".repeat(9 * 1024) }));
    refused_on_rsa(&rs256(&claims), "malformed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_bad_base64_is_refused() {
    let token = rs256(&good_claims());
    let (header, rest) = token.split_once('.').expect("segments");
    refused_on_rsa(&format!("{header}.*{rest}"), "malformed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_extra_segments_are_refused() {
    let token = rs256(&good_claims());
    refused_on_rsa(
        &format!("{token}.{}", token.split('.').nth(1).expect("payload")),
        "malformed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_missing_required_claim_is_401() {
    let mut claims = good_claims();
    claims.as_object_mut().expect("object").remove("sub");
    refused_on_rsa(&rs256(&claims), "claims").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failed_rule_is_403_insufficient_scope() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let token = rs256(&claims_with(json!({ "role": "guest" })));

    let reply = bearer(&gw, "/rsa/x", &token).await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="gateway", error="insufficient_scope""#)
    );
    assert_generic_body(&reply, "forbidden", &token);
    assert_eq!(a.requests(), 0);
    assert_eq!(rejections(&gw, "rsa", "forbidden").await, 1);
}

/// A JWKS server on `127.0.0.1:0` whose document can be swapped, counting fetches.
struct JwksServer {
    addr: SocketAddr,
    document: Arc<Mutex<Vec<u8>>>,
    fetches: Arc<AtomicU64>,
}

impl JwksServer {
    async fn start(document: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let document = Arc::new(Mutex::new(document));
        let fetches = Arc::new(AtomicU64::new(0));
        let (doc, count) = (Arc::clone(&document), Arc::clone(&fetches));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (doc, count) = (Arc::clone(&doc), Arc::clone(&count));
                tokio::spawn(async move {
                    let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                        count.fetch_add(1, Ordering::SeqCst);
                        let body = doc.lock().expect("document").clone();
                        async move {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body)))
                                    .expect("response"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            document,
            fetches,
        }
    }

    fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    fn serve(&self, document: Vec<u8>) {
        *self.document.lock().expect("document") = document;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_jwks_unknown_kid_triggers_one_refresh_then_is_rate_limited() {
    let a = TestUpstream::start("a").await;
    let jwks = JwksServer::start(read("jwks-k1.json")).await;
    let gw = gateway(&a, Some(jwks.addr)).await;
    let k1 = sign(Algorithm::RS256, &rsa1(), Some("k1"), &good_claims());
    let k2 = sign(Algorithm::RS256, &rsa2(), Some("k2"), &good_claims());
    let k3 = sign(Algorithm::RS256, &rsa2(), Some("k3"), &good_claims());

    // After the startup fetch (so no request spends the on-demand refetch), k1 is served.
    support::wait_until(support::WAIT, "startup JWKS fetch", || async {
        jwks.fetches() >= 1
    })
    .await;
    assert_eq!(bearer(&gw, "/jwks/x", &k1).await.status, StatusCode::OK);
    let before = jwks.fetches();

    // The provider rotates: k2 appears. A token naming it triggers exactly one refetch.
    jwks.serve(read("jwks-k1-k2.json"));
    let rotated = bearer(&gw, "/jwks/x", &k2).await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    assert_eq!(jwks.fetches(), before + 1);

    // Another unknown kid within jwks_min_refresh (30s): refused without fetching.
    let unknown = bearer(&gw, "/jwks/x", &k3).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(jwks.fetches(), before + 1);
    assert_eq!(rejections(&gw, "jwks", "unknown_kid").await, 1);
    assert_eq!(a.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_kid_with_path_or_quote_characters_is_unknown_and_never_fetched_for() {
    let a = TestUpstream::start("a").await;
    let jwks = JwksServer::start(read("jwks-k1.json")).await;
    let gw = gateway(&a, Some(jwks.addr)).await;
    support::wait_until(support::WAIT, "startup JWKS fetch", || async {
        jwks.fetches() >= 1
    })
    .await;
    let before = jwks.fetches();

    for kid in ["../../etc/passwd", "k1\"", "k1' OR '1'='1", "k1/../k1"] {
        let token = sign(Algorithm::RS256, &rsa1(), Some(kid), &good_claims());
        let reply = bearer(&gw, "/jwks/x", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "kid {kid}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="gateway", error="invalid_token""#)
        );
    }

    assert_eq!(jwks.fetches(), before, "an unsafe kid caused a fetch");
    assert_eq!(rejections(&gw, "jwks", "unknown_kid").await, 4);
    assert_eq!(a.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_claims_key_the_rate_limit_per_user() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, None).await;
    let alice = rs256(&claims_with(json!({ "sub": "alice" })));
    let bob = rs256(&claims_with(json!({ "sub": "bob" })));

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(bearer(&gw, "/per-user/x", &alice).await.status);
    }
    let other = bearer(&gw, "/per-user/x", &bob).await;

    // Alice spends her burst of 2; Bob's bucket is his own.
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(a.requests(), 3);
}
