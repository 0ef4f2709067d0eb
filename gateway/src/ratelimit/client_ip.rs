//! Which address a request comes from: the socket peer, or, when the peer is a trusted
//! proxy, the right-most address in `X-Forwarded-For` that is not a trusted proxy.
//!
//! Right-most, not left-most: every proxy appends the address it received the request from,
//! so only the entries added by trusted proxies can be believed; the left part of the header
//! is whatever the client chose to send. CIDR parsing is written here (thirty lines) rather
//! than pulled in from a crate: prefix matching on `u128` is all the gateway needs.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use http::HeaderMap;

/// An address block: `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7` means `/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IP address.
    #[error("`{0}` is not an IP address")]
    Address(String),
    /// The prefix length is not a number within the family's bits.
    #[error("prefix length `{0}` is not 0..=32 (IPv4) or 0..=128 (IPv6)")]
    Prefix(String),
    /// Bits are set beyond the prefix length (`10.1.0.0/8`): probably a typo.
    #[error("host bits are set beyond the prefix (did you mean {0}?)")]
    HostBits(String),
}

// === impl Cidr ===

impl Cidr {
    /// Whether `ip` is inside this block. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`)
    /// match IPv4 blocks: a dual-stack listener reports IPv4 peers that way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u128::from(u32::from(a)), 32, self.prefix) == u128::from(u32::from(n))
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(a), 128, self.prefix) == u128::from(n)
            }
            _ => false,
        }
    }
}

/// `bits`-wide `value` with everything after the first `prefix` bits cleared.
fn masked(value: u128, bits: u8, prefix: u8) -> u128 {
    let host = bits.saturating_sub(prefix);
    if host >= 128 {
        0
    } else {
        (value >> host) << host
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| CidrError::Address(addr.to_owned()))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| CidrError::Prefix(p.to_owned()))?,
        };
        let value = match network {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        };
        let cleared = masked(value, bits, prefix);
        if cleared != value {
            let fixed = match network {
                IpAddr::V4(_) => {
                    IpAddr::from(u32::try_from(cleared).unwrap_or_default().to_be_bytes())
                }
                IpAddr::V6(_) => IpAddr::from(cleared.to_be_bytes()),
            };
            return Err(CidrError::HostBits(format!("{fixed}/{prefix}")));
        }
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Top-level `client_ip:` settings: whose `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientIpConfig {
    /// Proxies whose `X-Forwarded-For` entries are believed. Default: none (the socket peer
    /// is always the client).
    pub trusted_proxies: Vec<Cidr>,
}

// === impl ClientIpConfig ===

impl ClientIpConfig {
    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }

    /// The client of a request from socket peer `peer` with `headers`.
    ///
    /// Walks from the peer leftwards through `X-Forwarded-For` while the hop is trusted; the
    /// first untrusted hop is the client. An entry that is not an IP address stops the walk
    /// at the last trusted hop (it cannot be attributed to anyone). When every hop is
    /// trusted, the left-most one is the client.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all(&crate::proxy::headers::X_FORWARDED_FOR)
            .iter()
            .rev();
        for value in hops {
            let Ok(text) = value.to_str() else {
                return client;
            };
            for hop in text.rsplit(',') {
                let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                    return client;
                };
                client = ip;
                if !self.trusted(ip) {
                    return ip;
                }
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        h
    }

    fn trusting(cidrs: &[&str]) -> ClientIpConfig {
        ClientIpConfig {
            trusted_proxies: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn cidr_parses_blocks_and_single_addresses_and_matches_by_prefix() {
        let block: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains(ip("10.200.3.4")));
        assert!(!block.contains(ip("11.0.0.1")));
        assert!(
            block.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped peers match"
        );
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
    }

    #[test]
    fn cidr_rejects_bad_addresses_prefixes_and_host_bits() {
        assert_eq!(
            "10.0.0/8".parse::<Cidr>(),
            Err(CidrError::Address("10.0.0".into()))
        );
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::Prefix("33".into()))
        );
        assert_eq!(
            "10.1.0.0/8".parse::<Cidr>(),
            Err(CidrError::HostBits("10.0.0.0/8".into()))
        );
    }

    #[test]
    fn client_ip_is_the_peer_unless_the_peer_is_trusted() {
        let config = trusting(&["10.0.0.0/8"]);
        let headers = xff("203.0.113.9");
        assert_eq!(
            config.client_ip(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
        assert_eq!(
            config.client_ip(ip("10.0.0.2"), &headers),
            ip("203.0.113.9")
        );
        assert_eq!(
            ClientIpConfig::default().client_ip(ip("10.0.0.2"), &headers),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn client_ip_takes_the_right_most_untrusted_hop_not_the_spoofable_left_most() {
        let config = trusting(&["10.0.0.0/8"]);
        // The client claims 1.1.1.1; 203.0.113.9 is who connected to our first proxy.
        let headers = xff("1.1.1.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(
            config.client_ip(ip("10.0.0.2"), &headers),
            ip("203.0.113.9")
        );
        // The gateway appends the peer itself before the limiter runs: same answer.
        let appended = xff("1.1.1.1, 203.0.113.9, 10.0.0.5, 10.0.0.2");
        assert_eq!(
            config.client_ip(ip("10.0.0.2"), &appended),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn client_ip_stops_at_garbage_and_uses_the_left_most_when_all_are_trusted() {
        let config = trusting(&["10.0.0.0/8"]);
        assert_eq!(
            config.client_ip(ip("10.0.0.2"), &xff("junk, 10.0.0.5")),
            ip("10.0.0.5")
        );
        assert_eq!(
            config.client_ip(ip("10.0.0.2"), &xff("10.9.9.9, 10.0.0.5")),
            ip("10.9.9.9")
        );
        assert_eq!(
            config.client_ip(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
    }
}
