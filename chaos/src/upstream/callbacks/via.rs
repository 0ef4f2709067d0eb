//! `--via HOST:PORT`: callbacks sent through a reverse proxy (the gateway), addressed the way
//! any client of that proxy addresses it.
//!
//! With `--via gw:8080`, a callback to `http://127.0.0.1:7777/callback/x?y` connects to
//! `gw:8080` and sends `POST /callback/x?y HTTP/1.1` with `Host: 127.0.0.1:7777`: origin-form
//! plus the callback's `Host`, so the gateway routes it by host and path like any other
//! request and forwards it to the callback's target.
//!
//! Why not a forward proxy's absolute-form (`POST http://127.0.0.1:7777/callback/x HTTP/1.1`):
//! the gateway is a reverse proxy, and the point of `--via` is to put the callback hop
//! through the gateway's ordinary request path, so the W3C harness can check the gateway's
//! own propagation end to end (harness -> gateway -> upstream -> gateway -> harness). A
//! forward proxy that only accepts absolute-form (squid without accelerator mode) is not
//! supported; neither is CONNECT.

use std::fmt;
use std::str::FromStr;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};
use thiserror::Error;

/// The proxy address callbacks are sent to: a host (name or IP) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViaAddress(Authority);

/// A `--via` value that is not `HOST:PORT`.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("via address {received:?} must be HOST:PORT, such as 127.0.0.1:8080 or gateway:8080")]
pub(crate) struct InvalidVia {
    received: String,
}

// === impl ViaAddress ===

impl ViaAddress {
    /// The address to connect to, as `HOST:PORT`.
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Where the request for `url` goes and the `Host` it carries: this address with the
    /// callback's path and query, and the callback's own authority.
    pub(crate) fn address(&self, url: &Uri) -> Result<(Uri, HeaderValue), http::Error> {
        let path = url
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.0.clone())
            .path_and_query(path)
            .build()?;
        let host = url
            .authority()
            .map(|authority| HeaderValue::from_str(authority.as_str()))
            .unwrap_or_else(|| Ok(HeaderValue::from_static("")))?;
        Ok((uri, host))
    }
}

impl FromStr for ViaAddress {
    type Err = InvalidVia;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidVia {
            received: text.to_owned(),
        };
        let authority = text.parse::<Authority>().map_err(|_| invalid())?;
        let has_host = !authority.host().is_empty();
        let has_port = authority.port_u16().is_some_and(|port| port != 0);
        if !has_host || !has_port || authority.as_str().contains('@') {
            return Err(invalid());
        }
        Ok(ViaAddress(authority))
    }
}

impl fmt::Display for ViaAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_host_and_port_is_accepted() {
        for text in ["127.0.0.1:8080", "gateway:80", "[::1]:9000"] {
            assert_eq!(text.parse::<ViaAddress>().unwrap().as_str(), text);
        }
    }

    #[test]
    fn via_without_port_or_host_or_with_more_is_rejected() {
        for text in [
            "127.0.0.1",
            "gateway:",
            ":8080",
            "gateway:0",
            "http://gateway:8080",
            "gateway:8080/x",
            "u@gateway:8080",
            "",
        ] {
            assert_eq!(
                text.parse::<ViaAddress>().unwrap_err(),
                InvalidVia {
                    received: text.into()
                },
                "{text}"
            );
        }
    }

    #[test]
    fn address_keeps_path_query_and_the_callbacks_host() {
        let via: ViaAddress = "127.0.0.1:8080".parse().unwrap();
        let (uri, host) = via
            .address(&"http://127.0.0.1:7777/callback/a.0?x=1".parse().unwrap())
            .unwrap();
        assert_eq!(uri, "http://127.0.0.1:8080/callback/a.0?x=1");
        assert_eq!(host, "127.0.0.1:7777");

        let (uri, host) = via.address(&"http://target".parse().unwrap()).unwrap();
        assert_eq!(uri, "http://127.0.0.1:8080/");
        assert_eq!(host, "target");
    }
}
