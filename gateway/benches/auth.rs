//! Per-request JWT verification cost: header checks, key selection, signature and claims, as a
//! route's authentication pays it for every request, with HS256, RS256 (2048-bit) and ES256
//! (P-256) keys from the test fixtures.
//!
//! Run: `cargo bench -p gateway --bench auth` (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::auth::{Key, KeySource, Provider, ProviderConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/auth")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn provider(alg: Algorithm, keys: KeySource) -> Provider {
    Provider::new(
        ProviderConfig {
            name: "bench".into(),
            issuer: "https://issuer.test/".into(),
            audiences: vec!["api".into()],
            algorithms: vec![alg],
            keys,
            leeway: Duration::from_secs(30),
        },
        None,
    )
}

fn token(alg: Algorithm, key: &EncodingKey) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": "https://issuer.test/", "aud": "api", "sub": "user-42", "role": "admin",
        "iat": now, "exp": now + 3600,
    });
    encode(&Header::new(alg), &claims, key).expect("sign")
}

fn bench_verify(c: &mut Criterion) {
    let secret = fixture("hmac.secret");
    let cases = [
        (
            "HS256",
            provider(
                Algorithm::HS256,
                KeySource::SecretFile {
                    path: "hmac.secret".into(),
                    key: Key::hmac(&secret).expect("secret"),
                },
            ),
            token(
                Algorithm::HS256,
                &EncodingKey::from_secret(&secret).expect("hmac"),
            ),
        ),
        (
            "RS256",
            provider(
                Algorithm::RS256,
                KeySource::PublicKeyFile {
                    path: "rsa1.pub.pem".into(),
                    key: Key::public_pem(&fixture("rsa1.pub.pem")).expect("rsa"),
                },
            ),
            token(
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(&fixture("rsa1.key.pem")).expect("rsa"),
            ),
        ),
        (
            "ES256",
            provider(
                Algorithm::ES256,
                KeySource::PublicKeyFile {
                    path: "ec256.pub.pem".into(),
                    key: Key::public_pem(&fixture("ec256.pub.pem")).expect("ec"),
                },
            ),
            token(
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(&fixture("ec256.key.pem")).expect("ec"),
            ),
        ),
    ];
    let mut group = c.benchmark_group("auth_verify");
    for (name, provider, token) in &cases {
        // A benchmark of a rejected token would measure nothing useful.
        assert!(
            provider.verify_cached(token).is_ok(),
            "{name} token rejected"
        );
        group.bench_function(*name, |b| {
            b.iter(|| black_box(provider.verify_cached(black_box(token))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
