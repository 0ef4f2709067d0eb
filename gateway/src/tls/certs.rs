//! PEM files -> rustls key material: a listener certificate chain with its private key (the
//! key must match the chain's first certificate), and an upstream CA bundle.
//!
//! PEM is read with `rustls_pki_types::pem::PemObject` (rustls-pemfile is unmaintained).
//! Files are read whole at validation time, so a reload reads them again and a bad file
//! rejects the reload while the running version keeps its certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{Error as RustlsError, InconsistentKeys};

/// Why a certificate, key or CA bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no PEM item of the kind needed.
    #[error("{} holds no PEM {what}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// `CERTIFICATE` or `PRIVATE KEY`.
        what: &'static str,
    },
    /// The file is not valid PEM.
    #[error("{} is not valid PEM", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: pem::Error,
    },
    /// The private key is of a kind the crypto provider cannot use.
    #[error("unusable private key in {}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why rustls refused it.
        #[source]
        source: RustlsError,
    },
    /// The certificate is not a parsable X.509 certificate.
    #[error("unusable certificate in {}", path.display())]
    Certificate {
        /// The certificate file.
        path: PathBuf,
        /// Why rustls refused it.
        #[source]
        source: RustlsError,
    },
    /// The private key does not belong to the certificate.
    #[error("the key in {} does not match the certificate in {}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Every `CERTIFICATE` in the PEM file at `path`, in file order; at least one.
pub(crate) fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| CertError::Pem {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(CertError::Missing {
            path: path.to_owned(),
            what: "CERTIFICATE",
        });
    }
    Ok(certs)
}

/// A certificate chain (leaf first) from `cert` with the private key from `key`, checked to
/// belong together.
pub(crate) fn load_certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, CertError> {
    let chain = load_certificates(cert)?;
    let key_bytes = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|source| match source {
        pem::Error::NoItemsFound => CertError::Missing {
            path: key.to_owned(),
            what: "PRIVATE KEY",
        },
        source => CertError::Pem {
            path: key.to_owned(),
            source,
        },
    })?;
    let signing = super::provider()
        .key_provider
        .load_private_key(private)
        .map_err(|source| CertError::Key {
            path: key.to_owned(),
            source,
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        // Unknown: the key type cannot expose its public key; rustls accepts that too.
        Ok(()) | Err(RustlsError::InconsistentKeys(InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(CertError::Mismatch {
                cert: cert.to_owned(),
                key: key.to_owned(),
            })
        }
        Err(source) => Err(CertError::Certificate {
            path: cert.to_owned(),
            source,
        }),
    }
}
