//! Upstream side: the rustls `ClientConfig` for an upstream with `tls:`, verifying the
//! upstream's certificate against `ca_file`, the system roots, or (on explicit request) not at
//! all. The connector itself is hyper-rustls' (see `proxy::client`).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why an upstream's client config could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientTlsError {
    /// None of the CA certificates could be used as a trust anchor.
    #[error("no usable CA certificate ({rejected} rejected)")]
    NoRoots {
        /// Certificates that could not be parsed as trust anchors.
        rejected: usize,
    },
    /// rustls refused the settings.
    #[error("cannot build the TLS client config")]
    Build(#[from] rustls::Error),
}

/// A client config trusting `roots`.
pub(crate) fn verifying(roots: &[CertificateDer<'static>]) -> Result<ClientConfig, ClientTlsError> {
    let mut store = RootCertStore::empty();
    let (added, rejected) = store.add_parsable_certificates(roots.iter().cloned());
    if added == 0 {
        return Err(ClientTlsError::NoRoots { rejected });
    }
    Ok(ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth())
}

/// A client config that accepts any certificate (signatures are still checked, so the
/// handshake is sound, but the peer is not authenticated).
pub(crate) fn insecure() -> Result<ClientConfig, ClientTlsError> {
    let provider = super::provider();
    Ok(ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        .with_no_client_auth())
}

/// Accepts every certificate chain and name; used only for `insecure_skip_verify: true`.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
