//! Consistent hashing on a ketama-style ring: the same key reaches the same endpoint while it
//! stays eligible.
//!
//! Every endpoint owns `160 × weight` points on a 64-bit ring (ketama's 160 per unit of
//! weight), placed by hashing its address with the point's replica number. A key is hashed onto
//! the ring and served by the owner of the first point at or after it (clockwise, wrapping),
//! skipping owners that are not eligible. So when an endpoint becomes ineligible, exactly the
//! keys it owned move, each to the next eligible owner along the ring, and the rest stay put;
//! with equal weights that is about `1/N` of the keys.
//!
//! Why a ring rather than Maglev: Maglev's table would have to be rebuilt for every distinct
//! eligible set (the balancer sees eligibility per pick), and even then it moves some keys
//! between surviving endpoints (about twice the minimal disruption, per Envoy's docs); the
//! ring gives minimal disruption with one immutable structure and a short walk.
//!
//! Why our own hash: every gateway replica, and every restart, must place points and keys
//! identically or sessions stop sticking during a rollout. `DefaultHasher`'s algorithm may
//! change between Rust releases, so we use FNV-1a followed by the murmur3 `fmix64` finalizer
//! (FNV alone mixes the last bytes poorly, and the replica number is the last bytes); both are
//! fixed, published algorithms, and a golden-value test pins them.

use std::net::IpAddr;
use std::sync::Arc;

use super::{HashKey, PickContext};
use crate::upstream::Endpoint;

/// Ring points per unit of endpoint weight (ketama's value).
pub(super) const POINTS_PER_WEIGHT: usize = 160;

/// Upper bound on ring points (12 bytes each: about 12 MiB), reached only with large weights
/// times many endpoints; beyond it every endpoint's point count is scaled down proportionally.
pub(super) const MAX_RING_POINTS: usize = 1 << 20;

/// An immutable ring built once per endpoint list.
#[derive(Debug)]
pub(super) struct ConsistentHash {
    key: HashKey,
    /// Ring positions, ascending.
    points: Box<[u64]>,
    /// `owners[i]` is the index (into the endpoint list) of the endpoint at `points[i]`.
    owners: Box<[u32]>,
}

// === impl ConsistentHash ===

impl ConsistentHash {
    /// Builds the ring for `endpoints`, hashing requests by `key`.
    pub(super) fn new(key: HashKey, endpoints: &[Arc<Endpoint>]) -> Self {
        let total_weight: u64 = endpoints.iter().map(|e| u64::from(e.weight())).sum();
        let wanted = total_weight.saturating_mul(POINTS_PER_WEIGHT as u64);
        let budget = wanted.min(MAX_RING_POINTS as u64);

        let mut ring: Vec<(u64, u32)> = Vec::with_capacity(budget as usize);
        // Endpoint lists are far shorter than u32::MAX; zipping with u32 indices makes that
        // explicit instead of truncating them.
        for (owner, endpoint) in (0..=u32::MAX).zip(endpoints) {
            let address = fnv1a(FNV_OFFSET_BASIS, endpoint.address().as_bytes());
            let points = points_for(u64::from(endpoint.weight()), wanted, budget);
            ring.extend((0..points).map(|replica| (ring_point(address, replica), owner)));
        }
        // Sorting by owner too makes colliding points (practically never) deterministic.
        ring.sort_unstable();

        let (points, owners): (Vec<u64>, Vec<u32>) = ring.into_iter().unzip();
        Self {
            key,
            points: points.into_boxed_slice(),
            owners: owners.into_boxed_slice(),
        }
    }

    /// The endpoint owning the request's key among `eligible`, or `None` when `eligible` is
    /// empty.
    pub(super) fn pick(&self, eligible: &[usize], ctx: &PickContext<'_>) -> Option<usize> {
        if eligible.is_empty() {
            return None;
        }
        let hash = self.key_hash(ctx);
        self.owner_at(hash, eligible)
            // Only reached when no eligible index is on the ring (a contract breach: the
            // caller passes the list the ring was built from); stay deterministic per key.
            .or_else(|| eligible.get(bounded(hash, eligible.len())).copied())
    }

    /// Walks clockwise from `hash` to the first point whose owner is eligible.
    fn owner_at(&self, hash: u64, eligible: &[usize]) -> Option<usize> {
        let start = self.points.partition_point(|&point| point < hash);
        // `partition_point` returns at most `len`, so the split cannot fail; the fallback only
        // keeps this free of a panicking path.
        let (before, after) = self
            .owners
            .split_at_checked(start)
            .unwrap_or((&[], &self.owners));
        after
            .iter()
            .chain(before)
            .map(|&owner| owner as usize)
            .find(|owner| eligible.binary_search(owner).is_ok())
    }

    fn key_hash(&self, ctx: &PickContext<'_>) -> u64 {
        if let HashKey::Header(name) = &self.key
            && let Some(value) = ctx.headers.get(name)
        {
            return hash_bytes(value.as_bytes());
        }
        // An IPv4 client seen through a dual-stack socket (`::ffff:a.b.c.d`) hashes like the
        // same client over IPv4.
        match ctx.client_ip.to_canonical() {
            IpAddr::V4(ip) => hash_bytes(&ip.octets()),
            IpAddr::V6(ip) => hash_bytes(&ip.octets()),
        }
    }
}

/// Ring points for an endpoint of `weight`: `160 × weight`, scaled by `budget / wanted` when the
/// ring would exceed `MAX_RING_POINTS` (at least one point, so every endpoint is reachable).
fn points_for(weight: u64, wanted: u64, budget: u64) -> u64 {
    let points = weight.saturating_mul(POINTS_PER_WEIGHT as u64);
    if wanted <= budget {
        return points;
    }
    let scaled = u128::from(points) * u128::from(budget) / u128::from(wanted.max(1));
    u64::try_from(scaled).unwrap_or(u64::MAX).max(1)
}

/// Position of an endpoint's `replica`-th point: `hash_bytes(address ++ replica as u64 LE)`,
/// with the address part (`address_fnv`, FNV-1a state after the address) computed once.
fn ring_point(address_fnv: u64, replica: u64) -> u64 {
    fmix64(fnv1a(address_fnv, &replica.to_le_bytes()))
}

/// Stable 64-bit hash of `bytes` (FNV-1a, then `fmix64`).
pub(super) fn hash_bytes(bytes: &[u8]) -> u64 {
    fmix64(fnv1a(FNV_OFFSET_BASIS, bytes))
}

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `state`.
fn fnv1a(state: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(state, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    })
}

/// murmur3's 64-bit finalizer: every input bit affects every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// Maps a 64-bit hash onto `0..len` (multiply-shift; bias below `len / 2^64`).
fn bounded(hash: u64, len: usize) -> usize {
    ((u128::from(hash) * len as u128) >> 64) as usize
}

#[cfg(test)]
impl ConsistentHash {
    /// Fraction of the ring (hence of uniformly hashed keys) owned by each endpoint when all
    /// are eligible, indexed like the endpoint list of length `len`.
    pub(super) fn ring_shares(&self, len: usize) -> Vec<f64> {
        let mut shares = vec![0.0; len];
        let Some(&last) = self.points.last() else {
            return shares;
        };
        // A point owns the arc from its predecessor (exclusive) to itself; the first point's
        // predecessor is the last one, across zero.
        let mut previous = last;
        for (&point, &owner) in self.points.iter().zip(self.owners.iter()) {
            let arc = point.wrapping_sub(previous);
            shares[owner as usize] += arc as f64 / 2f64.powi(64);
            previous = point;
        }
        if self.points.len() == 1 {
            shares[self.owners[0] as usize] = 1.0;
        }
        shares
    }

    /// Number of ring points owned by each endpoint.
    pub(super) fn point_counts(&self, len: usize) -> Vec<usize> {
        let mut counts = vec![0; len];
        for &owner in self.owners.iter() {
            counts[owner as usize] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use http::{HeaderMap, HeaderName, HeaderValue};

    use super::{ConsistentHash, FNV_OFFSET_BASIS, MAX_RING_POINTS, fnv1a, hash_bytes};
    use crate::balance::tests::{endpoints, weighted_endpoint};
    use crate::balance::{HashKey, PickContext};

    const USER: HeaderName = HeaderName::from_static("x-user");

    fn ctx(client_ip: IpAddr, headers: &HeaderMap) -> PickContext<'_> {
        PickContext { client_ip, headers }
    }

    fn user(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(USER, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn consistent_hash_fnv1a_matches_published_vectors() {
        assert_eq!(fnv1a(FNV_OFFSET_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET_BASIS, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn consistent_hash_placement_is_pinned_across_builds() {
        // Golden values (computed with an independent Python FNV-1a + fmix64): if these
        // change, replicas rolled out with the change map keys differently from the old ones,
        // and sticky sessions break mid-rollout.
        let ring = ConsistentHash::new(
            HashKey::Header(USER),
            &[weighted_endpoint("10.0.0.1:8080", 1)],
        );
        let mut first_point = b"10.0.0.1:8080".to_vec();
        first_point.extend_from_slice(&0u64.to_le_bytes());
        let headers = user("user-42");

        assert_eq!(hash_bytes(&first_point), 0xe13e_6d3e_f6ea_c171);
        assert!(ring.points.contains(&0xe13e_6d3e_f6ea_c171));
        assert_eq!(
            ring.key_hash(&ctx(Ipv4Addr::LOCALHOST.into(), &headers)),
            0xa395_32c7_ab05_1e8d
        );
        assert_eq!(
            ring.key_hash(&ctx(Ipv4Addr::new(192, 0, 2, 1).into(), &HeaderMap::new())),
            0x8039_3182_6a22_88ea
        );
    }

    #[test]
    fn consistent_hash_ring_has_160_points_per_unit_of_weight() {
        let upstream = endpoints(&[1, 3, 2]);

        let ring = ConsistentHash::new(HashKey::ClientIp, &upstream);

        assert_eq!(ring.point_counts(3), [160, 480, 320]);
        assert!(ring.points.is_sorted());
    }

    #[test]
    fn consistent_hash_large_weights_scale_ring_to_cap() {
        let upstream: Vec<_> = (0..4)
            .map(|i| weighted_endpoint(&format!("10.0.0.{i}:80"), 4096))
            .collect();

        let ring = ConsistentHash::new(HashKey::ClientIp, &upstream);

        // 4 × 4096 × 160 points wanted, 2^20 allowed: each gets a quarter of the cap.
        assert_eq!(ring.point_counts(4), [MAX_RING_POINTS / 4; 4]);
    }

    #[test]
    fn consistent_hash_same_header_value_maps_to_same_endpoint() {
        let upstream = endpoints(&[1, 1, 1, 1, 1]);
        let ring = ConsistentHash::new(HashKey::Header(USER), &upstream);
        let headers = user("alice");
        let all = [0, 1, 2, 3, 4];

        let first = ring.pick(&all, &ctx(Ipv4Addr::new(192, 0, 2, 1).into(), &headers));
        // A different client IP with the same header value: the header decides.
        let second = ring.pick(&all, &ctx(Ipv4Addr::new(198, 51, 100, 7).into(), &headers));

        assert!(first.is_some());
        assert_eq!(first, second);
    }

    #[test]
    fn consistent_hash_missing_header_falls_back_to_client_ip() {
        let upstream = endpoints(&[1, 1, 1, 1, 1]);
        let by_header = ConsistentHash::new(HashKey::Header(USER), &upstream);
        let by_ip = ConsistentHash::new(HashKey::ClientIp, &upstream);
        let no_headers = HeaderMap::new();
        let all = [0, 1, 2, 3, 4];

        for last in 0..=255 {
            let request = ctx(Ipv4Addr::new(203, 0, 113, last).into(), &no_headers);
            assert_eq!(by_header.pick(&all, &request), by_ip.pick(&all, &request));
        }
    }

    #[test]
    fn consistent_hash_ipv4_mapped_ipv6_hashes_as_ipv4() {
        let upstream = endpoints(&[1, 1, 1, 1, 1, 1, 1]);
        let ring = ConsistentHash::new(HashKey::ClientIp, &upstream);
        let headers = HeaderMap::new();
        let all = [0, 1, 2, 3, 4, 5, 6];

        for last in 0..=255 {
            let v4 = Ipv4Addr::new(203, 0, 113, last);
            let mapped: Ipv6Addr = v4.to_ipv6_mapped();
            assert_eq!(
                ring.pick(&all, &ctx(v4.into(), &headers)),
                ring.pick(&all, &ctx(mapped.into(), &headers)),
            );
        }
    }

    #[test]
    fn consistent_hash_ineligible_owner_hands_keys_to_ring_successor() {
        let upstream = endpoints(&[1, 1, 1, 1]);
        let ring = ConsistentHash::new(HashKey::Header(USER), &upstream);
        let headers = user("bob");
        let request = ctx(Ipv4Addr::LOCALHOST.into(), &headers);
        let owner = ring.pick(&[0, 1, 2, 3], &request).unwrap();

        // The successor is the owner of the next point clockwise that is not `owner`'s.
        let hash = hash_bytes(b"bob");
        let start = ring.points.partition_point(|&point| point < hash);
        let successor = ring.owners[start..]
            .iter()
            .chain(&ring.owners[..start])
            .map(|&o| o as usize)
            .find(|&o| o != owner)
            .unwrap();
        let rest: Vec<_> = (0..4).filter(|&i| i != owner).collect();

        assert_eq!(ring.pick(&rest, &request), Some(successor));
    }

    #[test]
    fn consistent_hash_index_not_on_ring_still_returns_eligible() {
        let upstream = endpoints(&[1, 1]);
        let ring = ConsistentHash::new(HashKey::ClientIp, &upstream);
        let headers = HeaderMap::new();
        let request = ctx(Ipv4Addr::LOCALHOST.into(), &headers);

        assert_eq!(ring.pick(&[9], &request), Some(9));
        assert_eq!(ring.pick(&[], &request), None);
    }

    #[test]
    fn consistent_hash_empty_endpoint_list_builds_empty_ring() {
        let ring = ConsistentHash::new(HashKey::ClientIp, &Vec::<Arc<_>>::new());
        let headers = HeaderMap::new();

        assert!(ring.points.is_empty());
        assert_eq!(
            ring.pick(&[], &ctx(Ipv4Addr::LOCALHOST.into(), &headers)),
            None
        );
    }
}
