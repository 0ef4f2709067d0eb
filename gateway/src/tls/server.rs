//! Listener side: the SNI certificate resolver, the `ServerConfig` built from the validated
//! settings, and the handshake run for each accepted connection.
//!
//! Certificate choice: an exact `server_names` match first, then a one-label wildcard
//! (`*.example.com` matches `api.example.com`, not `example.com` nor `a.b.example.com`), and
//! otherwise the first configured certificate, also when the client sends no SNI (IP-address
//! clients, old clients). Serving a default rather than aborting keeps such clients working;
//! they then fail verification on their side if the default does not cover the name they used.
//!
//! Reload: the listener reads the settings of the current config version for every new
//! connection (one atomic load of the runtime), so a reload that loaded new certificates is
//! used by the next handshake, while established connections keep theirs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use observability::names::tls_handshake_error as reason;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedProtocolVersion};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::debug;

use super::settings::{Alpn, CertificateConfig, TlsVersion};
use crate::metrics::ReasonLabels;

/// Picks the certificate for a handshake from the client's SNI name.
#[derive(Debug)]
pub(crate) struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the wildcard's parent domain: `*.example.com` under `example.com`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl SniResolver {
    /// `None` for an empty list (validation requires at least one certificate).
    pub(crate) fn new(certificates: &[CertificateConfig]) -> Option<Self> {
        let default = Arc::clone(&certificates.first()?.key_pair);
        let mut exact = HashMap::new();
        let mut wildcard = HashMap::new();
        for certificate in certificates {
            for name in &certificate.server_names {
                let key = Arc::clone(&certificate.key_pair);
                match name.strip_prefix("*.") {
                    Some(parent) => wildcard.insert(parent.to_owned(), key),
                    None => exact.insert(name.clone(), key),
                };
            }
        }
        Some(Self {
            exact,
            wildcard,
            default,
        })
    }

    /// The certificate for `server_name` (SNI as sent; matched case-insensitively).
    pub(crate) fn pick(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(name) = server_name else {
            return &self.default;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.exact
            .get(&name)
            .or_else(|| {
                let (_, parent) = name.split_once('.')?;
                self.wildcard.get(parent)
            })
            .unwrap_or(&self.default)
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(self.pick(client_hello.server_name())))
    }
}

/// The rustls server config for the listener settings.
pub(crate) fn server_config(
    resolver: SniResolver,
    min_version: TlsVersion,
    alpn: &[Alpn],
) -> Result<ServerConfig, rustls::Error> {
    let versions: &[&'static SupportedProtocolVersion] = match min_version {
        TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let mut config = ServerConfig::builder_with_provider(super::provider())
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = alpn
        .iter()
        .map(|a| a.as_str().as_bytes().to_vec())
        .collect();
    Ok(config)
}

/// What the listener needs for one handshake, read from the current config version.
#[derive(Debug, Clone)]
pub(crate) struct ServerTls {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) handshake_timeout: Duration,
}

/// Where the listener gets the current TLS settings from.
pub(crate) type CurrentTls = Arc<dyn Fn() -> Option<ServerTls> + Send + Sync>;

/// Terminates TLS on accepted connections with the settings current at accept time.
#[derive(Clone)]
pub(crate) struct TlsTerminator {
    current: CurrentTls,
    handshake_errors: Family<ReasonLabels, Counter>,
}

impl std::fmt::Debug for TlsTerminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTerminator").finish_non_exhaustive()
    }
}

/// The protocol the client and the listener agreed on in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Negotiated {
    Http1,
    Http2,
    /// The client sent no ALPN: the listener detects the protocol from the first bytes.
    None,
}

impl TlsTerminator {
    pub(crate) fn new(
        current: CurrentTls,
        handshake_errors: Family<ReasonLabels, Counter>,
    ) -> Self {
        Self {
            current,
            handshake_errors,
        }
    }

    /// Runs the handshake on `stream` within the configured timeout. A failure is counted by
    /// reason, logged at debug (a scanner or a misconfigured client is not the operator's
    /// problem) and yields `None`.
    pub(crate) async fn handshake(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<(TlsStream<TcpStream>, Negotiated)> {
        let Some(tls) = (self.current)() else {
            // The listener was started with TLS and reloads keep it; nothing to serve with.
            self.fail(peer, reason::OTHER, "no TLS settings in the running config");
            return None;
        };
        let accept = TlsAcceptor::from(tls.config).accept(stream);
        match tokio::time::timeout(tls.handshake_timeout, accept).await {
            Err(_) => {
                self.fail(peer, reason::TIMEOUT, "handshake timed out");
                None
            }
            Ok(Err(error)) => {
                self.fail(peer, classify(&error), &error.to_string());
                None
            }
            Ok(Ok(stream)) => {
                let negotiated = match stream.get_ref().1.alpn_protocol() {
                    Some(b"h2") => Negotiated::Http2,
                    Some(b"http/1.1") => Negotiated::Http1,
                    _ => Negotiated::None,
                };
                Some((stream, negotiated))
            }
        }
    }

    fn fail(&self, peer: SocketAddr, why: &'static str, detail: &str) {
        self.handshake_errors
            .get_or_create(&ReasonLabels { reason: why })
            .inc();
        debug!(%peer, reason = why, error = detail, "TLS handshake failed");
    }
}

/// A bounded reason for a failed handshake.
fn classify(error: &std::io::Error) -> &'static str {
    use rustls::Error as E;
    match error.get_ref().and_then(|e| e.downcast_ref::<E>()) {
        Some(E::InvalidMessage(_)) => reason::NOT_TLS,
        Some(E::NoApplicationProtocol) => reason::NO_ALPN,
        Some(E::PeerIncompatible(_)) => reason::INCOMPATIBLE,
        Some(E::AlertReceived(_)) => reason::ALERT_RECEIVED,
        Some(_) => reason::OTHER,
        None => match error.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => reason::CLOSED,
            _ => reason::OTHER,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_pair(name: &str) -> Arc<CertifiedKey> {
        let generated = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let der = rustls::pki_types::PrivateKeyDer::try_from(generated.signing_key.serialize_der())
            .unwrap();
        let key = super::super::provider()
            .key_provider
            .load_private_key(der)
            .unwrap();
        Arc::new(CertifiedKey::new(vec![generated.cert.der().clone()], key))
    }

    fn certificate(names: &[&str]) -> CertificateConfig {
        CertificateConfig {
            cert: "cert.pem".into(),
            key: "key.pem".into(),
            server_names: names.iter().map(|n| (*n).to_owned()).collect(),
            key_pair: key_pair(names[0].trim_start_matches("*.")),
        }
    }

    #[test]
    fn sni_prefers_exact_name_then_wildcard_then_first_certificate() {
        let default = certificate(&["api.example.com"]);
        let wildcard = certificate(&["*.example.com"]);
        let exact = certificate(&["admin.example.com"]);
        let resolver =
            SniResolver::new(&[default.clone(), wildcard.clone(), exact.clone()]).unwrap();
        let picked = |name: Option<&str>| resolver.pick(name).cert.clone();
        assert_eq!(picked(Some("admin.example.com")), exact.key_pair.cert);
        assert_eq!(picked(Some("ADMIN.example.com.")), exact.key_pair.cert);
        assert_eq!(picked(Some("shop.example.com")), wildcard.key_pair.cert);
        assert_eq!(picked(Some("api.example.com")), default.key_pair.cert);
        // A wildcard covers one label only.
        assert_eq!(picked(Some("a.b.example.com")), default.key_pair.cert);
        assert_eq!(picked(Some("example.com")), default.key_pair.cert);
        assert_eq!(picked(Some("other.org")), default.key_pair.cert);
        assert_eq!(picked(None), default.key_pair.cert);
    }

    #[test]
    fn classify_maps_rustls_errors_to_bounded_reasons() {
        let io = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        assert_eq!(
            classify(&io(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))),
            reason::NOT_TLS
        );
        assert_eq!(
            classify(&io(rustls::Error::NoApplicationProtocol)),
            reason::NO_ALPN
        );
        assert_eq!(
            classify(&std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            reason::CLOSED
        );
    }
}
