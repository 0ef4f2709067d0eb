//! Validated TLS settings as they sit in a [`Config`](crate::Config): what was written (paths,
//! names, versions) and the rustls configs built from it during validation.
//!
//! Equality compares what was written and the loaded certificate bytes, not the built rustls
//! objects (which have no equality); the built objects follow from the rest.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig};

/// Lowest TLS version the listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3 (the default).
    V1_2,
    /// TLS 1.3 only.
    V1_3,
}

impl TlsVersion {
    /// As written in the config: `1.2`, `1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_2 => "1.2",
            Self::V1_3 => "1.3",
        }
    }
}

/// An application protocol offered in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// `h2`: HTTP/2.
    H2,
    /// `http/1.1`.
    Http11,
}

impl Alpn {
    /// The protocol id on the wire and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::H2 => "h2",
            Self::Http11 => "http/1.1",
        }
    }
}

/// One listener certificate and the SNI names it answers for.
#[derive(Debug, Clone)]
pub struct CertificateConfig {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key of the leaf.
    pub key: PathBuf,
    /// Exact names (`api.example.com`) or one-label wildcards (`*.example.com`), lowercase.
    pub server_names: Vec<String>,
    /// The loaded chain and key.
    pub(crate) key_pair: Arc<CertifiedKey>,
}

impl PartialEq for CertificateConfig {
    fn eq(&self, other: &Self) -> bool {
        self.cert == other.cert
            && self.key == other.key
            && self.server_names == other.server_names
            && self.key_pair.cert == other.key_pair.cert
    }
}

/// `tls:` at the top level: the data-plane listener speaks TLS only.
#[derive(Debug, Clone)]
pub struct ListenerTlsConfig {
    /// At least one; the first is served when SNI is absent or matches no name.
    pub certificates: Vec<CertificateConfig>,
    /// Lowest accepted version. Default 1.2.
    pub min_version: TlsVersion,
    /// Protocols offered in ALPN, in preference order. Default `[h2, http/1.1]`.
    pub alpn: Vec<Alpn>,
    /// Longest a client may take to complete the handshake. Default 10s.
    pub handshake_timeout: Duration,
    /// Built from the fields above.
    pub(crate) server: Arc<ServerConfig>,
}

impl PartialEq for ListenerTlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.certificates == other.certificates
            && self.min_version == other.min_version
            && self.alpn == other.alpn
            && self.handshake_timeout == other.handshake_timeout
    }
}

/// How an upstream's certificate is verified.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamVerify {
    /// Against the CA certificates in `ca_file`.
    CaFile {
        /// The PEM bundle.
        path: PathBuf,
        /// Its certificates.
        roots: Vec<CertificateDer<'static>>,
    },
    /// Against the system's CA certificates (no `ca_file`).
    System,
    /// Not at all (`insecure_skip_verify: true`): encryption without authentication.
    Insecure,
}

/// `tls:` on an upstream: its endpoints are called over https.
#[derive(Debug, Clone)]
pub struct UpstreamTlsConfig {
    /// Name sent in SNI and checked against the certificate. `None`: the endpoint's host.
    pub server_name: Option<ServerName<'static>>,
    /// How the upstream's certificate is checked.
    pub verify: UpstreamVerify,
    /// Built from the fields above.
    pub(crate) client: Arc<ClientConfig>,
}

impl PartialEq for UpstreamTlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.server_name == other.server_name && self.verify == other.verify
    }
}
