//! The /30 each namespace host gets, picked from 10.200.0.0/16 where the host has nothing.
//!
//! A /30 holds exactly the two addresses a veth pair needs: `.1` on the host side, `.2` in
//! the namespace. Picking scans the host's addresses and routes (`ip -j -4 addr`, `ip -j
//! -4 route show table all`) and skips any /30 that overlaps one, so leftovers of crashed
//! runs and unrelated networks in the same range are never shadowed. Routes broader than
//! the pool (say a VPN's 10.0.0.0/8) are ignored: a /30 is more specific and wins for its
//! four addresses, and refusing would make the pool unusable on such machines.
//!
//! Scan and assignment must be atomic across threads and processes, or two runners pick
//! the same /30: [`AllocationLock`] is an exclusive `flock` on a file in `/run`, held from
//! the scan until the host-side address is assigned.

use std::fs::{File, OpenOptions};
use std::net::Ipv4Addr;
use std::path::Path;

use serde_json::Value;

use super::command::Tool;
use super::error::NetnsError;

/// The pool, as shown in errors.
pub(crate) const POOL: &str = "10.200.0.0/16";
const POOL_BASE: u32 = u32::from_be_bytes([10, 200, 0, 0]);
const POOL_PREFIX: u8 = 16;
const SLOTS: u32 = 1 << (32 - POOL_PREFIX - 2);
const LOCK_PATH: &str = "/run/chaos-netns.lock";

/// One /30 of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subnet {
    network: u32,
}

/// An IPv4 network present on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    addr: u32,
    prefix: u8,
}

/// Held while picking a /30 and assigning it; released on drop.
#[derive(Debug)]
pub(crate) struct AllocationLock {
    _file: File,
}

// === impl Subnet ===

impl Subnet {
    /// The host side's address, `.1`.
    pub(crate) fn host(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    /// The namespace side's address, `.2`.
    pub(crate) fn netns(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 2)
    }

    /// `ADDR/30` for `ip addr add`.
    pub(crate) fn with_prefix(addr: Ipv4Addr) -> String {
        format!("{addr}/30")
    }

    fn as_net(self) -> Net {
        Net {
            addr: self.network,
            prefix: 30,
        }
    }
}

/// The first /30 that overlaps nothing in `used`, starting at slot `start` and wrapping,
/// so a lone run gets a predictable subnet per index.
pub(crate) fn pick(start: u32, used: &[Net]) -> Option<Subnet> {
    (0..SLOTS)
        .map(|offset| Subnet {
            network: POOL_BASE + ((start + offset) % SLOTS) * 4,
        })
        .find(|candidate| {
            used.iter()
                .filter(|net| net.prefix >= POOL_PREFIX)
                .all(|net| !net.overlaps(candidate.as_net()))
        })
}

// === impl Net ===

impl Net {
    fn overlaps(self, other: Net) -> bool {
        let prefix = self.prefix.min(other.prefix);
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        };
        self.addr & mask == other.addr & mask
    }

    /// Parses `A.B.C.D` or `A.B.C.D/N`.
    fn parse(text: &str) -> Option<Net> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, prefix.parse().ok()?),
            None => (text, 32),
        };
        let addr: Ipv4Addr = addr.parse().ok()?;
        (prefix <= 32).then_some(Net {
            addr: u32::from(addr),
            prefix,
        })
    }
}

/// Every IPv4 address (as a /32 and with its prefix) and route destination on the host.
pub(crate) fn used_networks() -> Result<Vec<Net>, NetnsError> {
    let mut used = Vec::new();
    let addrs = Tool::ip(["-j", "-4", "addr", "show"]);
    for link in json_array(&addrs)? {
        let infos = link["addr_info"].as_array().into_iter().flatten();
        for info in infos {
            let Some(local) = info["local"].as_str().and_then(Net::parse) else {
                continue;
            };
            used.push(local);
            if let Some(prefix) = info["prefixlen"]
                .as_u64()
                .and_then(|p| u8::try_from(p).ok())
            {
                used.push(Net { prefix, ..local });
            }
        }
    }
    let routes = Tool::ip(["-j", "-4", "route", "show", "table", "all"]);
    for route in json_array(&routes)? {
        // "default" and other non-address destinations do not parse and are skipped.
        if let Some(net) = route["dst"].as_str().and_then(Net::parse) {
            used.push(net);
        }
    }
    Ok(used)
}

/// Runs an `ip -j` listing and returns its top-level array (empty output counts as `[]`,
/// which older iproute2 prints for an empty `netns list`).
pub(crate) fn json_array(tool: &Tool) -> Result<Vec<Value>, NetnsError> {
    let text = tool.run().map_err(|source| NetnsError::Step {
        step: "list the host's network state",
        name: tool.line(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str(&text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err(NetnsError::Output {
            command: tool.line(),
            problem: "expected a JSON array".to_owned(),
        }),
        Err(err) => Err(NetnsError::Output {
            command: tool.line(),
            problem: err.to_string(),
        }),
    }
}

// === impl AllocationLock ===

impl AllocationLock {
    /// Blocks until no other thread or process is allocating.
    pub(crate) fn acquire() -> Result<AllocationLock, NetnsError> {
        let path = Path::new(LOCK_PATH);
        let error = |source| NetnsError::Lock {
            path: path.to_owned(),
            source,
        };
        // Each call opens its own file description, so the flock also excludes threads of
        // this process.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(error)?;
        file.lock().map_err(error)?;
        Ok(AllocationLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Net {
        Net::parse(text).unwrap()
    }

    #[test]
    fn pick_on_an_empty_host_starts_at_the_given_slot() {
        let subnet = pick(3, &[]).unwrap();
        assert_eq!(subnet.host(), Ipv4Addr::new(10, 200, 0, 13));
        assert_eq!(subnet.netns(), Ipv4Addr::new(10, 200, 0, 14));
    }

    #[test]
    fn pick_skips_slots_overlapping_addresses_and_routes() {
        let used = [
            net("10.200.0.1/30"),
            net("10.200.0.6"),
            net("10.200.0.8/29"),
        ];
        let subnet = pick(0, &used).unwrap();
        assert_eq!(subnet.host(), Ipv4Addr::new(10, 200, 0, 17));
    }

    #[test]
    fn pick_ignores_routes_broader_than_the_pool() {
        let used = [net("10.0.0.0/8"), net("0.0.0.0/0")];
        assert_eq!(pick(0, &used).unwrap().host(), Ipv4Addr::new(10, 200, 0, 1));
    }

    #[test]
    fn pick_wraps_around_and_gives_up_when_the_pool_is_full() {
        let last = pick(SLOTS - 1, &[]).unwrap();
        assert_eq!(last.host(), Ipv4Addr::new(10, 200, 255, 253));
        assert_eq!(
            pick(SLOTS - 1, &[net("10.200.255.252/30")]).unwrap().host(),
            Ipv4Addr::new(10, 200, 0, 1)
        );
        assert_eq!(pick(0, &[net("10.200.0.0/16")]), None);
    }

    #[test]
    fn net_parse_rejects_non_addresses() {
        assert_eq!(Net::parse("default"), None);
        assert_eq!(Net::parse("10.1.2.3/33"), None);
        assert_eq!(
            net("10.1.2.3"),
            Net {
                addr: u32::from(Ipv4Addr::new(10, 1, 2, 3)),
                prefix: 32
            }
        );
    }
}
