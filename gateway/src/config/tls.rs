//! `tls:` (the listener) and `upstreams.NAME.tls` -> validated TLS settings.
//!
//! Certificate, key and CA files are read and checked here (PEM, key matches certificate),
//! and the rustls configs are built here, so an invalid file rejects the config (or the
//! reload, which then keeps the running certificates). Relative paths are resolved against
//! the config file's folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use config_yaml::{FieldPath, units};
use rustls::pki_types::ServerName;
use tracing::warn;

use super::raw::{RawCertificate, RawListenerTls, RawUpstreamTls};
use super::report::Report;
use crate::errors::error_chain;
use crate::tls::certs::{self, CertError};
use crate::tls::server::{SniResolver, server_config};
use crate::tls::{
    Alpn, CertificateConfig, ListenerTlsConfig, TlsVersion, UpstreamTlsConfig, UpstreamVerify,
    client,
};

const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const PEM_FILE: &str =
    "a readable PEM file (a relative path is resolved against the config file's folder)";
const SERVER_NAME: &str =
    "a DNS name (api.example.com) or a one-label wildcard (\"*.example.com\"); no IP addresses";

/// The top-level `tls:` block.
pub(super) fn listener(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawListenerTls,
    base_dir: &Path,
) -> Option<ListenerTlsConfig> {
    let before = report.count();
    let mut certificates = Vec::new();
    match &raw.certificates {
        None => report.missing(
            path,
            "certificates",
            "a list of `{ cert: FILE, key: FILE, server_names: [NAME, ...] }`",
        ),
        Some(list) if list.is_empty() => report.invalid(
            path.key("certificates"),
            "the listener needs at least one certificate",
            "one or more `{ cert: FILE, key: FILE, server_names: [NAME, ...] }`",
        ),
        Some(list) => {
            // Name -> where it was first declared, to report duplicates.
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (i, c) in list.iter().enumerate() {
                let at = path.key("certificates").index(i);
                if let Some(c) = certificate(report, &at, c, base_dir, &mut seen, i) {
                    certificates.push(c);
                }
            }
        }
    }
    let min_version = match raw.min_version.as_deref() {
        None | Some("1.2") => TlsVersion::V1_2,
        Some("1.3") => TlsVersion::V1_3,
        Some(_) => {
            report.invalid(
                path.key("min_version"),
                "unknown TLS version",
                "\"1.2\" (the default: 1.2 and 1.3) or \"1.3\" (1.3 only)",
            );
            TlsVersion::V1_2
        }
    };
    let alpn = match &raw.alpn {
        None => vec![Alpn::H2, Alpn::Http11],
        Some(list) if list.is_empty() => {
            report.invalid(
                path.key("alpn"),
                "empty ALPN list",
                "one or both of h2, http/1.1 (or remove `alpn` for both)",
            );
            Vec::new()
        }
        Some(list) => {
            let mut alpn = Vec::new();
            for (i, name) in list.iter().enumerate() {
                let protocol = match name.as_str() {
                    "h2" => Alpn::H2,
                    "http/1.1" => Alpn::Http11,
                    _ => {
                        report.invalid(
                            path.key("alpn").index(i),
                            "unknown ALPN protocol",
                            "h2 or http/1.1",
                        );
                        continue;
                    }
                };
                if alpn.contains(&protocol) {
                    report.invalid(
                        path.key("alpn").index(i),
                        "duplicate ALPN protocol",
                        "each protocol once",
                    );
                }
                alpn.push(protocol);
            }
            alpn
        }
    };
    let handshake_timeout = raw
        .handshake_timeout
        .map_or(DEFAULT_HANDSHAKE_TIMEOUT, units::Duration::get);
    if handshake_timeout.is_zero() {
        report.invalid(
            path.key("handshake_timeout"),
            "must be above zero",
            "a positive duration, e.g. 10s",
        );
    }
    if report.count() != before {
        return None;
    }
    let resolver = SniResolver::new(&certificates)?;
    match server_config(resolver, min_version, &alpn) {
        Ok(server) => Some(ListenerTlsConfig {
            certificates,
            min_version,
            alpn,
            handshake_timeout,
            server: Arc::new(server),
        }),
        Err(e) => {
            report.error(
                path.clone(),
                format!("cannot build the TLS listener: {}", error_chain(&e)),
            );
            None
        }
    }
}

fn certificate(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawCertificate,
    base_dir: &Path,
    seen: &mut HashMap<String, usize>,
    index: usize,
) -> Option<CertificateConfig> {
    let before = report.count();
    let cert = file(report, path, "cert", raw.cert.as_deref(), base_dir);
    let key = file(report, path, "key", raw.key.as_deref(), base_dir);
    let mut server_names = Vec::new();
    match &raw.server_names {
        None => report.missing(
            path,
            "server_names",
            "the SNI names this certificate serves, e.g. [api.example.com, \"*.example.com\"]",
        ),
        Some(names) if names.is_empty() => report.invalid(
            path.key("server_names"),
            "a certificate needs at least one server name",
            "one or more names, e.g. [api.example.com, \"*.example.com\"]",
        ),
        Some(names) => {
            for (i, name) in names.iter().enumerate() {
                let at = path.key("server_names").index(i);
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if !valid_server_name(&name) {
                    report.invalid(at, "not a server name", SERVER_NAME);
                    continue;
                }
                match seen.get(&name) {
                    Some(&first) => report.invalid(
                        at,
                        "duplicate server name",
                        format!(
                            "each name on one certificate only (already on certificates[{first}])"
                        ),
                    ),
                    None => {
                        seen.insert(name.clone(), index);
                    }
                }
                server_names.push(name);
            }
        }
    }
    let (cert, key) = (cert?, key?);
    let loaded = certs::load_certified_key(&cert, &key).map_err(|e| {
        let field = match &e {
            CertError::Read { path, .. }
            | CertError::Missing { path, .. }
            | CertError::Pem { path, .. }
                if *path == key =>
            {
                "key"
            }
            CertError::Key { .. } | CertError::Mismatch { .. } => "key",
            _ => "cert",
        };
        let expected = match &e {
            CertError::Mismatch { .. } => "the private key of the certificate's public key",
            CertError::Key { .. } => "a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key",
            _ => PEM_FILE,
        };
        report.invalid(path.key(field), error_chain(&e), expected);
    });
    if report.count() != before {
        return None;
    }
    Some(CertificateConfig {
        cert,
        key,
        server_names,
        key_pair: loaded.ok()?,
    })
}

/// `upstreams.NAME.tls`; `None` when disabled or invalid (then reported).
pub(super) fn upstream(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawUpstreamTls,
    base_dir: &Path,
) -> Option<UpstreamTlsConfig> {
    if raw.enabled == Some(false) {
        return None;
    }
    let before = report.count();
    let server_name =
        raw.server_name
            .as_ref()
            .and_then(|name| match ServerName::try_from(name.as_str()) {
                Ok(n) => Some(n.to_owned()),
                Err(_) => {
                    report.invalid(
                        path.key("server_name"),
                        "not a server name",
                        "a DNS name or an IP address, e.g. users.internal",
                    );
                    None
                }
            });
    let insecure = raw.insecure_skip_verify.unwrap_or(false);
    let verify = match (&raw.ca_file, insecure) {
        (Some(_), true) => {
            report.invalid(
                path.key("insecure_skip_verify"),
                "`ca_file` and `insecure_skip_verify: true` are exclusive",
                "remove `ca_file`, or set `insecure_skip_verify: false`",
            );
            None
        }
        (None, true) => Some(UpstreamVerify::Insecure),
        (Some(file), false) => {
            let at = path.key("ca_file");
            let full = base_dir.join(file);
            match certs::load_certificates(&full) {
                Ok(roots) => Some(UpstreamVerify::CaFile { path: full, roots }),
                Err(e) => {
                    report.invalid(at, error_chain(&e), "a PEM bundle of CA certificates");
                    None
                }
            }
        }
        (None, false) => Some(UpstreamVerify::System),
    };
    let verify = verify?;
    let client = match &verify {
        UpstreamVerify::CaFile { roots, .. } => client::verifying(roots),
        UpstreamVerify::System => {
            let native = rustls_native_certs::load_native_certs();
            client::verifying(&native.certs)
        }
        UpstreamVerify::Insecure => client::insecure(),
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            let (at, expected) = match verify {
                UpstreamVerify::System => (
                    path.clone(),
                    "system CA certificates, or `ca_file: FILE` with the upstream's CA",
                ),
                _ => (path.key("ca_file"), "a PEM bundle of CA certificates"),
            };
            report.invalid(at, error_chain(&e), expected);
            return None;
        }
    };
    if report.count() != before {
        return None;
    }
    Some(UpstreamTlsConfig {
        server_name,
        verify,
        client: Arc::new(client),
    })
}

/// Warns once per validated upstream that verification is off.
pub(super) fn warn_insecure(upstream: &str, tls: &UpstreamTlsConfig) {
    if tls.verify == UpstreamVerify::Insecure {
        warn!(
            upstream,
            "TLS certificate verification is OFF for this upstream (insecure_skip_verify: true)"
        );
    }
}

fn file(
    report: &mut Report<'_>,
    parent: &FieldPath,
    field: &str,
    value: Option<&str>,
    base_dir: &Path,
) -> Option<PathBuf> {
    match value {
        Some(v) if !v.is_empty() => Some(base_dir.join(v)),
        Some(_) => {
            report.invalid(parent.key(field), "empty file name", PEM_FILE);
            None
        }
        None => {
            report.missing(parent, field, PEM_FILE);
            None
        }
    }
}

/// A DNS name, or `*.` followed by one with at least two labels.
fn valid_server_name(name: &str) -> bool {
    let dns = |n: &str| matches!(ServerName::try_from(n), Ok(ServerName::DnsName(_)));
    match name.strip_prefix("*.") {
        Some(rest) => rest.contains('.') && !rest.contains('*') && dns(rest),
        None => !name.contains('*') && dns(name),
    }
}
