//! TLS: the data-plane listener's termination (certificates chosen by SNI, ALPN, minimum
//! version, handshake timeout) and https to upstreams through the pooled client.
//!
//! - `settings`: the validated TLS settings carried by a [`Config`](crate::Config), with the
//!   rustls configs built from them at validation, so a `Config` that exists can be served.
//! - `certs`: PEM files -> certificate chains, private keys (checked to match) and CA bundles.
//! - `server`: the SNI certificate resolver, the listener's `ServerConfig`, and the handshake
//!   run per accepted connection (timeout, error reasons counted).
//! - `client`: the upstream `ClientConfig` (CA roots, or verification off on request).
//!
//! One crypto provider, aws-lc-rs, is named explicitly everywhere (never the process default),
//! so a second provider entering the dependency tree cannot make a builder panic.

pub(crate) mod certs;
pub(crate) mod client;
pub(crate) mod server;
mod settings;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

pub use settings::{
    Alpn, CertificateConfig, ListenerTlsConfig, TlsVersion, UpstreamTlsConfig, UpstreamVerify,
};

/// The one crypto provider the gateway uses.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
