//! Verification keys: their kinds (which algorithms each may verify), static keys from an
//! HMAC secret or a public key PEM, and key sets from a JWKS document.
//!
//! Kinds are decided from the key itself, never from a token: a PEM's label and algorithm
//! identifier (OID), a JWK's `kty` and `crv`. A token's `alg` must be one its key's kind
//! allows, which is what defeats HS/RS key confusion (a public key is never an HMAC secret).
//! PEM files must hold public keys; private keys and certificates are refused, so a gateway
//! config never holds signing material beyond HMAC secrets.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Shortest HMAC secret accepted: 256 bits (RFC 7518 section 3.2 asks for a key at least as
/// long as the hash output; 32 bytes is HS256's).
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest `kid` looked up.
pub(super) const MAX_KID_LEN: usize = 128;

/// What a key is, which decides the algorithms it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A shared secret: HS256, HS384, HS512.
    Hmac,
    /// An RSA public key: RS256/384/512, PS256/384/512.
    Rsa,
    /// An EC public key on P-256: ES256.
    EcP256,
    /// An EC public key on P-384: ES384.
    EcP384,
    /// An Ed25519 public key: EdDSA.
    Ed25519,
}

impl KeyKind {
    /// The algorithms a key of this kind verifies.
    pub fn algorithms(self) -> &'static [Algorithm] {
        match self {
            Self::Hmac => &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
            Self::Rsa => &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            Self::EcP256 => &[Algorithm::ES256],
            Self::EcP384 => &[Algorithm::ES384],
            Self::Ed25519 => &[Algorithm::EdDSA],
        }
    }

    /// Whether a key of this kind verifies `alg`.
    pub fn verifies(self, alg: Algorithm) -> bool {
        self.algorithms().contains(&alg)
    }

    /// A short name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hmac => "HMAC secret",
            Self::Rsa => "RSA public key",
            Self::EcP256 => "EC P-256 public key",
            Self::EcP384 => "EC P-384 public key",
            Self::Ed25519 => "Ed25519 public key",
        }
    }
}

/// Every algorithm the gateway accepts in an allowlist, by its JOSE name.
pub const ALGORITHMS: [(&str, Algorithm); 12] = [
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// The algorithm named `name` (case-sensitive, as JOSE writes it); `none` is never one.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    ALGORITHMS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// The JOSE name of `alg`.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    ALGORITHMS
        .iter()
        .find(|(_, a)| *a == alg)
        .map_or("?", |(n, _)| n)
}

/// Whether `kid` is a safe key identifier: 1 to [`MAX_KID_LEN`] characters from
/// `A-Z a-z 0-9 - _ . : + = ~`, with no `..`. Anything else (slashes, quotes, control
/// characters, spaces) is treated as an unknown key and never looked up or refetched for.
pub(super) fn safe_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && !kid.contains("..")
        && kid.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'+' | b'=' | b'~')
        })
}

/// Why key material was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// An HMAC secret below [`MIN_SECRET_BYTES`].
    #[error("HMAC secret is {len} bytes; at least {MIN_SECRET_BYTES} are required")]
    ShortSecret {
        /// Its length.
        len: usize,
    },
    /// Not a PEM document.
    #[error("not a PEM document (no `-----BEGIN ...-----` block with base64 content)")]
    NotPem,
    /// A PEM block that is not a public key.
    #[error("PEM block `{label}` is not a public key")]
    NotPublicKey {
        /// The PEM label.
        label: String,
    },
    /// A public key of an unsupported algorithm or curve.
    #[error("unsupported public key type (supported: RSA, EC P-256, EC P-384, Ed25519)")]
    UnsupportedKey,
    /// The key did not parse.
    #[error("invalid {kind} key: {detail}")]
    Invalid {
        /// What it claimed to be.
        kind: &'static str,
        /// The parser's error.
        detail: String,
    },
    /// Not a JWKS document.
    #[error("not a JWKS document: {0}")]
    NotJwks(String),
    /// A JWKS with no key this gateway can use.
    #[error("the JWKS has no usable signature key")]
    EmptyJwks,
}

/// One verification key with its kind. Compares by kind and source bytes; its `Debug` never
/// shows the material.
#[derive(Clone)]
pub struct Key {
    kind: KeyKind,
    decoding: DecodingKey,
    /// The bytes it was made from, for equality across config versions.
    source: Arc<[u8]>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kind", &self.kind)
            .field("material", &"[redacted]")
            .finish()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.source == other.source
    }
}

impl Key {
    /// An HMAC secret (raw bytes, used as they are).
    pub fn hmac(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::ShortSecret { len: secret.len() });
        }
        let decoding = DecodingKey::from_secret(secret).map_err(|e| KeyError::Invalid {
            kind: "HMAC",
            detail: e.to_string(),
        })?;
        Ok(Self {
            kind: KeyKind::Hmac,
            decoding,
            source: Arc::from(secret),
        })
    }

    /// A public key PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`): RSA, EC P-256/P-384 or Ed25519.
    pub fn public_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let (label, der) = pem_block(pem)?;
        let kind = match label.as_str() {
            "RSA PUBLIC KEY" => KeyKind::Rsa,
            "PUBLIC KEY" => spki_kind(&der)?,
            _ => return Err(KeyError::NotPublicKey { label }),
        };
        let invalid = |e: jsonwebtoken::errors::Error| KeyError::Invalid {
            kind: kind.as_str(),
            detail: e.to_string(),
        };
        let decoding = match kind {
            KeyKind::Rsa => DecodingKey::from_rsa_pem(pem).map_err(invalid)?,
            KeyKind::EcP256 | KeyKind::EcP384 => DecodingKey::from_ec_pem(pem).map_err(invalid)?,
            KeyKind::Ed25519 => DecodingKey::from_ed_pem(pem).map_err(invalid)?,
            KeyKind::Hmac => return Err(KeyError::UnsupportedKey),
        };
        Ok(Self {
            kind,
            decoding,
            source: Arc::from(pem),
        })
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key for `jsonwebtoken`.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// One key of a JWKS.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SetKey {
    /// Its `kid`, when it has a safe one.
    pub(super) kid: Option<String>,
    /// Its `alg`, when the JWK names one: tokens must then use exactly that.
    pub(super) alg: Option<Algorithm>,
    /// The key.
    pub(super) key: Key,
}

/// The usable signature keys of a JWKS document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeySet {
    keys: Vec<SetKey>,
}

impl KeySet {
    /// Parses a JWKS document. Keys that are not for signatures (`use` other than `sig`), of
    /// an unsupported type or curve, or with an unsafe `kid` are skipped; a document with no
    /// usable key is an error.
    pub fn from_jwks(json: &[u8]) -> Result<Self, KeyError> {
        let set: JwkSet =
            serde_json::from_slice(json).map_err(|e| KeyError::NotJwks(e.to_string()))?;
        let keys: Vec<SetKey> = set.keys.iter().filter_map(set_key).collect();
        if keys.is_empty() {
            return Err(KeyError::EmptyJwks);
        }
        Ok(Self { keys })
    }

    /// The key for a token signed with `alg` naming `kid`: the key with that `kid` (and a
    /// kind and `alg` that fit), or, for a token without `kid`, the only key that fits.
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Option<&Key> {
        let fits = |k: &&SetKey| k.key.kind().verifies(alg) && k.alg.is_none_or(|a| a == alg);
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(fits)
                .find(|k| k.kid.as_deref() == Some(kid))
                .map(|k| &k.key),
            None => {
                let mut fitting = self.keys.iter().filter(fits);
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => Some(&only.key),
                    _ => None,
                }
            }
        }
    }

    /// How many usable keys the set has.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The kinds of the set's keys.
    pub fn kinds(&self) -> impl Iterator<Item = KeyKind> + '_ {
        self.keys.iter().map(|k| k.key.kind())
    }
}

fn set_key(jwk: &Jwk) -> Option<SetKey> {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let kid = match &jwk.common.key_id {
        Some(kid) if safe_kid(kid) => Some(kid.clone()),
        Some(_) => return None,
        None => None,
    };
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => KeyKind::EcP256,
            EllipticCurve::P384 => KeyKind::EcP384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed25519
        }
        AlgorithmParameters::OctetKey(_) => KeyKind::Hmac,
        _ => return None,
    };
    let alg = match &jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(algorithm(&a.to_string())?),
    };
    if alg.is_some_and(|a| !kind.verifies(a)) {
        return None;
    }
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    let source = serde_json::to_vec(jwk).ok()?;
    Some(SetKey {
        kid,
        alg,
        key: Key {
            kind,
            decoding,
            source: Arc::from(source),
        },
    })
}

/// The first PEM block: its label and DER content.
fn pem_block(pem: &[u8]) -> Result<(String, Vec<u8>), KeyError> {
    let text = std::str::from_utf8(pem).map_err(|_| KeyError::NotPem)?;
    let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest.split_once("-----").ok_or(KeyError::NotPem)?;
    let end_marker = format!("-----END {label}-----");
    let body = &rest[..rest.find(&end_marker).ok_or(KeyError::NotPem)?];
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| KeyError::NotPem)?;
    if der.is_empty() {
        return Err(KeyError::NotPem);
    }
    Ok((label.to_owned(), der))
}

/// The key kind of a SubjectPublicKeyInfo, from its algorithm (and curve) OIDs.
fn spki_kind(der: &[u8]) -> Result<KeyKind, KeyError> {
    // DER encodings of the OIDs (tag, length, value).
    const RSA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    const EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    // The algorithm identifier is at the start of the SPKI, well within its first 32 bytes.
    let head = &der[..der.len().min(32)];
    let has = |oid: &[u8]| head.windows(oid.len()).any(|w| w == oid);
    if has(RSA) {
        Ok(KeyKind::Rsa)
    } else if has(EC) && has(P256) {
        Ok(KeyKind::EcP256)
    } else if has(EC) && has(P384) {
        Ok(KeyKind::EcP384)
    } else if has(ED25519) {
        Ok(KeyKind::Ed25519)
    } else {
        Err(KeyError::UnsupportedKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_kid_refuses_paths_quotes_and_control_characters() {
        for good in ["k1", "2024-05-rsa", "a.b_c:d+e=f~g"] {
            assert!(safe_kid(good), "{good}");
        }
        for bad in [
            "",
            "../../etc/passwd",
            "a/b",
            "..",
            "k\"1",
            "k'1",
            "k 1",
            "k\n1",
            "k%2f",
            "k?x=1",
            &"k".repeat(MAX_KID_LEN + 1),
        ] {
            assert!(!safe_kid(bad), "{bad:?}");
        }
    }

    #[test]
    fn short_hmac_secrets_are_refused() {
        assert_eq!(
            Key::hmac(b"short").unwrap_err(),
            KeyError::ShortSecret { len: 5 }
        );
        assert_eq!(Key::hmac(&[7; 32]).unwrap().kind(), KeyKind::Hmac);
    }

    #[test]
    fn algorithm_names_are_jose_names_and_none_is_not_one() {
        assert_eq!(algorithm("RS256"), Some(Algorithm::RS256));
        assert_eq!(algorithm("EdDSA"), Some(Algorithm::EdDSA));
        assert_eq!(algorithm("none"), None);
        assert_eq!(algorithm("rs256"), None);
        assert_eq!(algorithm_name(Algorithm::PS384), "PS384");
    }

    #[test]
    fn key_kinds_verify_only_their_family() {
        assert!(KeyKind::Hmac.verifies(Algorithm::HS256));
        assert!(!KeyKind::Rsa.verifies(Algorithm::HS256));
        assert!(!KeyKind::EcP256.verifies(Algorithm::ES384));
        assert!(KeyKind::Ed25519.verifies(Algorithm::EdDSA));
    }

    #[test]
    fn pem_that_is_not_a_public_key_is_refused() {
        let private = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            Key::public_pem(private),
            Err(KeyError::NotPublicKey { .. })
        ));
        assert_eq!(Key::public_pem(b"not a pem"), Err(KeyError::NotPem));
    }
}
