//! Route lookup latency and table build time.
//!
//! Tables of 10, 1,000 and 10,000 routes mix what real configs hold: per-service exact hosts,
//! wildcard tenant hosts, hosts shared by several services and host-less routes; `**` catch-alls,
//! `*` segments, exact paths, raw prefixes, method-split routes and a header-gated route. Each
//! lookup targets the middle service, so it sits among the others rather than first or last.
//!
//! Run: `cargo bench -p gateway --bench routing` (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gateway::routing::{
    HeaderMatcher, HeaderRule, HostPattern, PathMatch, RequestView, RouteMatch, RouteTable,
};
use http::{HeaderMap, Method};

/// Routes per service; services are numbered `0..routes / ROUTES_PER_SERVICE`.
const ROUTES_PER_SERVICE: usize = 10;

/// How a service's routes are addressed, by `service % 4`.
fn service_hosts(service: usize) -> Vec<String> {
    match service % 4 {
        0 => vec![format!("svc{service}.example.com")],
        1 => vec![format!("*.tenant{service}.example.com")],
        2 => Vec::new(),
        _ => vec![
            format!("api{service}.example.com"),
            format!("*.api{service}.example.org"),
        ],
    }
}

/// A host a request to `service` would carry.
fn request_host_for(service: usize) -> String {
    match service % 4 {
        0 => format!("svc{service}.example.com"),
        1 => format!("acme.tenant{service}.example.com"),
        2 => "www.example.net".to_owned(),
        _ => format!("api{service}.example.com"),
    }
}

fn pattern(text: &str) -> PathMatch {
    PathMatch::pattern(text).expect("bench patterns are valid")
}

fn route(index: usize) -> RouteMatch {
    let service = index / ROUTES_PER_SERVICE;
    let base = format!("/api/v1/svc{service}");
    let hosts = service_hosts(service)
        .iter()
        .map(|h| h.parse::<HostPattern>().expect("bench hosts are valid"))
        .collect();
    let (path, methods, headers) = match index % ROUTES_PER_SERVICE {
        0 => (pattern(&format!("{base}/**")), vec![], vec![]),
        1 => (pattern(&format!("{base}/users/*")), vec![], vec![]),
        2 => (pattern(&format!("{base}/users/*/orders/*")), vec![], vec![]),
        3 => (
            pattern(&format!("{base}/health")),
            vec![Method::GET],
            vec![],
        ),
        4 => (
            pattern(&format!("/api/v2/svc{service}/items/*/**")),
            vec![],
            vec![],
        ),
        5 => (
            PathMatch::prefix(&format!("/static/svc{service}/")).expect("valid prefix"),
            vec![Method::GET, Method::HEAD],
            vec![],
        ),
        6 => (pattern(&format!("/svc{service}/*")), vec![], vec![]),
        7 => (
            pattern(&format!("{base}/admin/**")),
            vec![],
            vec![HeaderMatcher::new("x-admin", HeaderRule::Present).expect("valid header")],
        ),
        8 => (pattern(&format!("{base}/users")), vec![Method::GET], vec![]),
        _ => (
            pattern(&format!("{base}/users")),
            vec![Method::POST],
            vec![],
        ),
    };
    RouteMatch {
        hosts,
        path,
        methods,
        headers,
    }
}

fn routes(count: usize) -> Vec<(RouteMatch, usize)> {
    (0..count).map(|i| (route(i), i)).collect()
}

/// (case name, host, method, path, expect a hit) for the middle service of a table.
fn lookups(count: usize) -> Vec<(&'static str, String, Method, String, bool)> {
    let service = count / ROUTES_PER_SERVICE / 2;
    let host = request_host_for(service);
    let base = format!("/api/v1/svc{service}");
    vec![
        (
            "hit_exact",
            host.clone(),
            Method::GET,
            format!("{base}/health"),
            true,
        ),
        (
            "hit_star_segments",
            host.clone(),
            Method::GET,
            format!("{base}/users/42/orders/7"),
            true,
        ),
        (
            "hit_catch_all_deep",
            host.clone(),
            Method::GET,
            format!("{base}/a/b/c/d/e"),
            true,
        ),
        // `/users` has GET- and POST-only routes; PUT falls through to `{base}/**`.
        (
            "hit_method_fallthrough",
            host.clone(),
            Method::PUT,
            format!("{base}/users"),
            true,
        ),
        (
            "hit_raw_prefix",
            host.clone(),
            Method::GET,
            format!("/static/svc{service}/app.js"),
            true,
        ),
        (
            "miss_known_host",
            host,
            Method::GET,
            "/nothing/here/at/all".to_owned(),
            false,
        ),
        (
            "miss_unknown_host",
            "unknown.example.net".to_owned(),
            Method::GET,
            "/nothing/here".to_owned(),
            false,
        ),
    ]
}

fn bench_find(c: &mut Criterion) {
    let mut group = c.benchmark_group("routing/find");
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    let headers = HeaderMap::new();
    for count in [10, 1_000, 10_000] {
        let table = RouteTable::new(routes(count));
        for (case, host, method, path, hit) in lookups(count) {
            let request = RequestView {
                host: Some(&host),
                path: &path,
                method: &method,
                headers: &headers,
            };
            // Guard the bench against measuring the wrong thing.
            assert_eq!(
                table.find(&request).is_some(),
                hit,
                "{case} with {count} routes"
            );
            group.bench_with_input(BenchmarkId::new(case, count), &request, |b, request| {
                b.iter(|| table.find(black_box(request)))
            });
        }
    }
    group.finish();
}

fn bench_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("routing/build");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for count in [1_000, 10_000] {
        let input = routes(count);
        group.bench_with_input(BenchmarkId::from_parameter(count), &input, |b, input| {
            b.iter(|| RouteTable::new(black_box(input.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_find, bench_build);
criterion_main!(benches);
