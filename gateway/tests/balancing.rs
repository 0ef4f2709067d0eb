//! Load balancing through the real binary, counted at the upstreams: smooth weighted round
//! robin, round robin and consistent hashing on a header.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use support::client::request;
use support::{Gateway, TestUpstream, empty};

/// A gateway with one upstream `pool` over `endpoints` (`(upstream, weight)`) and `balancer`,
/// and one route `/**` to it.
async fn pool_gateway(endpoints: &[(&TestUpstream, u32)], balancer: &str) -> Gateway {
    let endpoints: String = endpoints
        .iter()
        .map(|(u, weight)| {
            format!(
                "      - address: {}\n        weight: {weight}\n",
                u.authority()
            )
        })
        .collect();
    Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
upstreams:
  pool:
    balancer: {balancer}
    endpoints:
{endpoints}routes:
  - name: all
    match:
      path: /**
    upstream: pool
"
    ))
    .await
}

/// Sends `n` sequential requests and returns which upstream answered each.
async fn sequence(gw: &Gateway, n: usize) -> Vec<String> {
    let mut answered = Vec::with_capacity(n);
    for i in 0..n {
        answered.push(
            gw.http
                .get(&gw.url(&format!("/r/{i}")))
                .await
                .echo()
                .upstream,
        );
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancer_smooth_weighted_3_to_1_gives_exactly_30_and_10_of_40() {
    let (heavy, light) = (
        TestUpstream::start("heavy").await,
        TestUpstream::start("light").await,
    );
    let gw = pool_gateway(&[(&heavy, 3), (&light, 1)], "smooth_weighted_round_robin").await;

    let picks = sequence(&gw, 40).await;

    assert_eq!((heavy.requests(), light.requests()), (30, 10));
    // Smooth: the light endpoint's turn is spread out (nginx: heavy heavy light heavy).
    let cycle = ["heavy", "heavy", "light", "heavy"];
    assert_eq!(picks, cycle.repeat(10), "{picks:?}");
    let upstream = gw.upstream("pool").await;
    assert_eq!(upstream["balancer"]["type"], "smooth_weighted_round_robin");
    let weights: Vec<_> = upstream["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["weight"].as_u64().unwrap(),
                e["in_flight"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(weights, [(3, 0), (1, 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancer_round_robin_alternates_between_endpoints() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    // Weights are ignored by round robin.
    let gw = pool_gateway(&[(&a, 5), (&b, 1)], "round_robin").await;

    let picks = sequence(&gw, 20).await;

    assert!(
        picks.windows(2).all(|pair| pair[0] != pair[1]),
        "not alternating: {picks:?}"
    );
    assert_eq!((a.requests(), b.requests()), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancer_consistent_hash_on_header_keeps_each_user_on_one_endpoint() {
    let (a, b, c) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
        TestUpstream::start("c").await,
    );
    let gw = pool_gateway(
        &[(&a, 1), (&b, 1), (&c, 1)],
        "{ type: consistent_hash, hash_key: \"header:x-user\" }",
    )
    .await;
    let users: Vec<String> = (0..24).map(|i| format!("user-{i}")).collect();

    // Five rounds over all users, interleaved, so stickiness is not an artifact of order.
    let mut seen: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for _ in 0..5 {
        for user in &users {
            let echo = gw
                .http
                .send(
                    request(Method::GET, &gw.url("/profile"))
                        .header("x-user", user)
                        .body(empty())
                        .unwrap(),
                )
                .await
                .echo();
            seen.entry(user).or_default().insert(echo.upstream);
        }
    }

    for (user, upstreams) in &seen {
        assert_eq!(upstreams.len(), 1, "{user} went to {upstreams:?}");
    }
    let used: BTreeSet<&String> = seen.values().flatten().collect();
    // 24 users on 3 endpoints all landing on one would be a broken hash (odds ~1e-11).
    assert!(used.len() >= 2, "all users on {used:?}");
    for upstream in [&a, &b, &c] {
        let its_users = seen.values().filter(|u| u.contains(&upstream.name)).count();
        assert_eq!(
            upstream.requests(),
            5 * its_users as u64,
            "{}",
            upstream.name
        );
    }
    let upstream = gw.upstream("pool").await;
    assert_eq!(upstream["balancer"]["hash_key"], "header:x-user");
}
