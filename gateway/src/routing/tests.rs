//! Tests for routing: pattern rules, priority, rewrites, and the index against a linear scan.

#![allow(clippy::indexing_slicing)]

use std::borrow::Cow;
use std::cmp::Reverse;

use http::header::{HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use proptest::prelude::*;

use super::*;

// === helpers ===

fn pattern(p: &str) -> PathMatch {
    PathMatch::pattern(p).unwrap()
}

fn prefix(p: &str) -> PathMatch {
    PathMatch::prefix(p).unwrap()
}

fn route(hosts: &[&str], path: PathMatch) -> RouteMatch {
    RouteMatch {
        hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
        ..RouteMatch::new(path)
    }
}

fn with_methods(mut route: RouteMatch, methods: &[Method]) -> RouteMatch {
    route.methods = methods.to_vec();
    route
}

fn with_header(mut route: RouteMatch, name: &str, rule: HeaderRule) -> RouteMatch {
    route.headers.push(HeaderMatcher::new(name, rule).unwrap());
    route
}

/// A table whose values are the routes' declaration indexes.
fn table(routes: Vec<RouteMatch>) -> RouteTable<usize> {
    RouteTable::new(
        routes
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r, i))
            .collect(),
    )
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn find(
    table: &RouteTable<usize>,
    host: Option<&str>,
    method: Method,
    path: &str,
) -> Option<usize> {
    find_with(table, host, method, path, &HeaderMap::new())
}

fn find_with(
    table: &RouteTable<usize>,
    host: Option<&str>,
    method: Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<usize> {
    let view = RequestView {
        host,
        path,
        method: &method,
        headers,
    };
    table.find(&view).copied()
}

/// Recognises the expected error variant.
type IsCause<E> = fn(&E) -> bool;

// === host patterns ===

#[test]
fn host_pattern_exact_and_wildcard_are_accepted_lowercased() {
    let exact: HostPattern = "API.Example.com".parse().unwrap();
    assert_eq!(exact.as_str(), "api.example.com");
    assert!(!exact.is_wildcard());
    let wildcard: HostPattern = "*.Example.COM".parse().unwrap();
    assert_eq!(wildcard.to_string(), "*.example.com");
    assert!(wildcard.is_wildcard());
    let ipv6: HostPattern = "[2001:DB8:0::1]".parse().unwrap();
    assert_eq!(ipv6.as_str(), "[2001:db8::1]");
}

#[test]
fn host_pattern_invalid_forms_are_rejected_with_cause() {
    use HostPatternError as E;
    let cases: &[(&str, IsCause<E>)] = &[
        ("", |e| matches!(e, E::Empty)),
        ("*", |e| matches!(e, E::BareWildcard)),
        (
            "api.example.com:8080",
            |e| matches!(e, E::Port { port, .. } if port == "8080"),
        ),
        ("[::1]:80", |e| matches!(e, E::Port { .. })),
        ("::1", |e| matches!(e, E::InvalidIpv6 { .. })),
        ("[zz::1]", |e| matches!(e, E::InvalidIpv6 { .. })),
        ("a.*.com", |e| matches!(e, E::MisplacedWildcard { .. })),
        ("*example.com", |e| matches!(e, E::MisplacedWildcard { .. })),
        ("**.example.com", |e| {
            matches!(e, E::MisplacedWildcard { .. })
        }),
        ("example.*", |e| matches!(e, E::MisplacedWildcard { .. })),
        ("exa mple.com", |e| {
            matches!(e, E::InvalidCharacter { ch: ' ', .. })
        }),
        ("example.com/api", |e| {
            matches!(e, E::InvalidCharacter { ch: '/', .. })
        }),
        ("a..com", |e| matches!(e, E::EmptyLabel { .. })),
        (".a.com", |e| matches!(e, E::EmptyLabel { .. })),
        ("a.com.", |e| matches!(e, E::EmptyLabel { .. })),
        ("*.", |e| matches!(e, E::EmptyLabel { .. })),
        (&"a".repeat(64), |e| matches!(e, E::TooLong { .. })),
    ];
    for (input, is_expected) in cases {
        let err = HostPattern::parse(input).unwrap_err();
        assert!(is_expected(&err), "{input:?} gave {err:?}");
    }
}

#[test]
fn host_pattern_errors_say_what_is_allowed() {
    let port = HostPattern::parse("a.com:80").unwrap_err().to_string();
    assert!(port.contains("remove `:80`"), "{port}");
    let wildcard = HostPattern::parse("a.*.com").unwrap_err().to_string();
    assert!(wildcard.contains("`*.example.com`"), "{wildcard}");
    let bare = HostPattern::parse("*").unwrap_err().to_string();
    assert!(bare.contains("leave `hosts` empty"), "{bare}");
}

#[test]
fn host_wildcard_matches_one_or_more_labels_but_not_apex() {
    let wildcard: HostPattern = "*.example.com".parse().unwrap();
    assert!(wildcard.matches("a.example.com"));
    assert!(wildcard.matches("a.b.example.com"));
    assert!(wildcard.matches("A.EXAMPLE.com"));
    assert!(!wildcard.matches("example.com"));
    assert!(!wildcard.matches(".example.com"));
    assert!(!wildcard.matches("aexample.com"));
    assert!(!wildcard.matches("a.example.org"));
}

#[test]
fn host_exact_matches_ignoring_case_only() {
    let exact: HostPattern = "api.example.com".parse().unwrap();
    assert!(exact.matches("API.example.COM"));
    assert!(!exact.matches("x.api.example.com"));
    assert!(!exact.matches("api.example.com."));
}

// === request_host ===

fn host_of(uri: &str, host_headers: &[&str]) -> Option<String> {
    let uri: Uri = uri.parse().unwrap();
    let mut map = HeaderMap::new();
    for h in host_headers {
        map.append(HOST, HeaderValue::from_str(h).unwrap());
    }
    request_host(&uri, &map).map(Cow::into_owned)
}

#[test]
fn request_host_host_header_is_lowercased_without_port() {
    assert_eq!(
        host_of("/x", &["API.Example.com:8443"]).as_deref(),
        Some("api.example.com")
    );
    assert_eq!(
        host_of("/x", &["example.com."]).as_deref(),
        Some("example.com")
    );
    assert_eq!(host_of("/x", &["10.0.0.1:80"]).as_deref(), Some("10.0.0.1"));
}

#[test]
fn request_host_uri_authority_wins_over_host_header() {
    let host = host_of(
        "http://User@Origin.example.com:8080/x",
        &["other.example.com"],
    );
    assert_eq!(host.as_deref(), Some("origin.example.com"));
}

#[test]
fn request_host_ipv6_keeps_brackets_in_canonical_form() {
    assert_eq!(
        host_of("/x", &["[2001:DB8::0001]:8080"]).as_deref(),
        Some("[2001:db8::1]")
    );
    assert_eq!(host_of("http://[::1]:80/x", &[]).as_deref(), Some("[::1]"));
}

#[test]
fn request_host_lowercase_host_is_borrowed() {
    let uri = Uri::from_static("/x");
    let map = headers(&[("host", "api.example.com")]);
    assert!(matches!(
        request_host(&uri, &map),
        Some(Cow::Borrowed("api.example.com"))
    ));
}

#[test]
fn request_host_missing_duplicate_or_invalid_is_none() {
    assert_eq!(host_of("/x", &[]), None);
    assert_eq!(host_of("/x", &["a.com", "b.com"]), None);
    assert_eq!(host_of("/x", &[""]), None);
    assert_eq!(host_of("/x", &["exa mple.com"]), None);
    assert_eq!(host_of("/x", &["a.com:http"]), None);
    assert_eq!(host_of("/x", &["user@a.com"]), None);
    assert_eq!(host_of("/x", &["[::1"]), None);
    assert_eq!(host_of("/x", &["[::1]x"]), None);
    assert_eq!(host_of("/x", &["a..com"]), None);
}

// === path patterns ===

#[test]
fn path_pattern_valid_forms_are_accepted() {
    for p in [
        "/",
        "/api",
        "/api/",
        "/api/users/*",
        "/api/*/orders",
        "/api/**",
        "/**",
        "/*/x/**",
        "/a%20b/c:d@e",
        "/v1;x=y",
    ] {
        let parsed = PathPattern::parse(p).unwrap();
        assert_eq!(parsed.as_str(), p);
    }
    assert!(PathPattern::parse("/api/users").unwrap().is_exact());
    assert!(!PathPattern::parse("/api/*").unwrap().is_exact());
    assert!(!PathPattern::parse("/api/**").unwrap().is_exact());
}

#[test]
fn path_pattern_invalid_forms_are_rejected_with_cause() {
    use PathError as E;
    let cases: &[(&str, IsCause<E>)] = &[
        ("", |e| matches!(e, E::Empty)),
        ("api/users", |e| matches!(e, E::MissingLeadingSlash { .. })),
        ("*", |e| matches!(e, E::MissingLeadingSlash { .. })),
        ("//", |e| matches!(e, E::EmptySegment { .. })),
        ("/a//b", |e| matches!(e, E::EmptySegment { .. })),
        ("/**/a", |e| matches!(e, E::DoubleStarNotLast { .. })),
        ("/a/**/", |e| matches!(e, E::DoubleStarNotLast { .. })),
        (
            "/a*b",
            |e| matches!(e, E::WildcardInSegment { segment, .. } if segment == "a*b"),
        ),
        ("/a/**b", |e| matches!(e, E::WildcardInSegment { .. })),
        ("/***", |e| matches!(e, E::WildcardInSegment { .. })),
        ("/a/./b", |e| matches!(e, E::DotSegment { .. })),
        ("/a/..", |e| matches!(e, E::DotSegment { .. })),
        ("/a?b=1", |e| {
            matches!(e, E::InvalidCharacter { ch: '?', .. })
        }),
        ("/a#top", |e| {
            matches!(e, E::InvalidCharacter { ch: '#', .. })
        }),
        ("/a b", |e| matches!(e, E::InvalidCharacter { ch: ' ', .. })),
        ("/caf\u{e9}", |e| {
            matches!(e, E::InvalidCharacter { ch: '\u{e9}', .. })
        }),
        ("/a%2", |e| matches!(e, E::InvalidPercentEncoding { .. })),
        ("/a%zz", |e| matches!(e, E::InvalidPercentEncoding { .. })),
    ];
    for (input, is_expected) in cases {
        let err = PathPattern::parse(input).unwrap_err();
        assert!(is_expected(&err), "{input:?} gave {err:?}");
    }
}

#[test]
fn path_pattern_errors_say_what_is_allowed() {
    let not_last = PathPattern::parse("/**/a").unwrap_err().to_string();
    assert!(
        not_last.contains("only allowed as the last segment"),
        "{not_last}"
    );
    let inside = PathPattern::parse("/a*b").unwrap_err().to_string();
    assert!(inside.contains("must be whole segments"), "{inside}");
    let empty = PathPattern::parse("/a//b").unwrap_err().to_string();
    assert!(empty.contains("empty segment"), "{empty}");
}

#[test]
fn path_pattern_double_star_matches_zero_or_more_trailing_segments() {
    let users = PathPattern::parse("/api/users/**").unwrap();
    for yes in [
        "/api/users",
        "/api/users/",
        "/api/users/42",
        "/api/users/42/orders",
    ] {
        assert!(users.matches(yes), "{yes}");
    }
    for no in ["/api/usersX", "/api/user", "/api", "api/users", ""] {
        assert!(!users.matches(no), "{no}");
    }
    let root = PathPattern::parse("/**").unwrap();
    assert!(root.matches("/"));
    assert!(root.matches("/anything/at/all"));
    assert!(!root.matches("*"));
}

#[test]
fn path_pattern_star_matches_exactly_one_nonempty_segment() {
    let p = PathPattern::parse("/api/*/orders").unwrap();
    assert!(p.matches("/api/42/orders"));
    assert!(!p.matches("/api//orders"));
    assert!(!p.matches("/api/1/2/orders"));
    assert!(!p.matches("/api/42/orders/"));
    let tail = PathPattern::parse("/users/*").unwrap();
    assert!(tail.matches("/users/7"));
    assert!(!tail.matches("/users/"));
    assert!(!tail.matches("/users"));
}

#[test]
fn path_pattern_exact_respects_trailing_slash() {
    let plain = PathPattern::parse("/users").unwrap();
    let slash = PathPattern::parse("/users/").unwrap();
    assert!(plain.matches("/users") && !plain.matches("/users/"));
    assert!(slash.matches("/users/") && !slash.matches("/users"));
    let root = PathPattern::parse("/").unwrap();
    assert!(root.matches("/") && !root.matches("/x") && !root.matches(""));
}

#[test]
fn path_prefix_matches_raw_characters_like_envoy() {
    let api = prefix("/api");
    assert!(api.matches("/api"));
    assert!(api.matches("/api/users"));
    assert!(api.matches("/apiv2"));
    assert!(!api.matches("/ap"));
}

#[test]
fn path_prefix_invalid_forms_are_rejected_with_cause() {
    assert!(matches!(PathMatch::prefix(""), Err(PathError::Empty)));
    assert!(matches!(
        PathMatch::prefix("api"),
        Err(PathError::MissingLeadingSlash { .. })
    ));
    assert!(matches!(
        PathMatch::prefix("/api/*"),
        Err(PathError::WildcardInPrefix { .. })
    ));
    assert!(matches!(
        PathMatch::prefix("/a?x"),
        Err(PathError::InvalidCharacter { ch: '?', .. })
    ));
    assert_eq!(
        PathMatch::prefix("/api/").unwrap(),
        PathMatch::Prefix("/api/".into())
    );
}

// === header matchers ===

#[test]
fn header_matcher_any_value_of_repeated_header_may_match() {
    let map = headers(&[("x-tag", "a"), ("x-tag", "b2")]);
    let rule = |rule| HeaderMatcher::new("X-Tag", rule).unwrap();
    assert!(rule(HeaderRule::Exact("b2".into())).matches(&map));
    assert!(rule(HeaderRule::Prefix("b".into())).matches(&map));
    assert!(!rule(HeaderRule::Exact("b".into())).matches(&map));
    assert!(rule(HeaderRule::Present).matches(&map));
    assert!(!rule(HeaderRule::Absent).matches(&map));
    assert!(rule(HeaderRule::Absent).matches(&HeaderMap::new()));
    assert!(!rule(HeaderRule::Present).matches(&HeaderMap::new()));
}

#[test]
fn header_matcher_comma_list_is_one_value() {
    let map = headers(&[("x-tag", "a, b")]);
    let exact_b = HeaderMatcher::new("x-tag", HeaderRule::Exact("b".into())).unwrap();
    assert!(!exact_b.matches(&map));
}

#[test]
fn header_matcher_invalid_name_host_or_value_is_rejected() {
    assert!(matches!(
        HeaderMatcher::new("x tag", HeaderRule::Present),
        Err(HeaderMatcherError::InvalidName { .. })
    ));
    assert!(matches!(
        HeaderMatcher::new("Host", HeaderRule::Present),
        Err(HeaderMatcherError::Host)
    ));
    assert!(matches!(
        HeaderMatcher::new("x-tag", HeaderRule::Exact("a\nb".into())),
        Err(HeaderMatcherError::InvalidValue { .. })
    ));
}

// === rewrites ===

#[test]
fn rewrite_strip_prefix_is_segment_aware_and_keeps_leading_slash() {
    let strip = Rewrite::strip_prefix("/api").unwrap();
    assert_eq!(strip.apply("/api"), "/");
    assert_eq!(strip.apply("/api/"), "/");
    assert_eq!(strip.apply("/api/users"), "/users");
    assert_eq!(strip.apply("/api/users/42"), "/users/42");
    assert_eq!(strip.apply("/apiv2/users"), "/apiv2/users");
    assert!(matches!(strip.apply("/api/users"), Cow::Borrowed(_)));
    assert!(matches!(strip.apply("/other"), Cow::Borrowed("/other")));
}

#[test]
fn rewrite_replace_prefix_swaps_whole_segments() {
    let replace = Rewrite::replace_prefix("/api", "/v2").unwrap();
    assert_eq!(replace.apply("/api/users"), "/v2/users");
    assert_eq!(replace.apply("/api"), "/v2");
    assert_eq!(replace.apply("/apix"), "/apix");
    let to_root = Rewrite::replace_prefix("/api", "/").unwrap();
    assert_eq!(to_root.apply("/api/users"), "/users");
    assert_eq!(to_root.apply("/api"), "/");
    let from_root = Rewrite::replace_prefix("/", "/v1").unwrap();
    assert_eq!(from_root.apply("/users"), "/v1/users");
    assert_eq!(from_root.apply("/"), "/v1/");
}

#[test]
fn rewrite_unvalidated_values_still_yield_leading_slash() {
    let empty_to = Rewrite::ReplacePrefix {
        from: "/api".into(),
        to: String::new(),
    };
    assert_eq!(empty_to.apply("/api"), "/");
    assert_eq!(empty_to.apply("/api/x"), "/x");
    let relative_to = Rewrite::ReplacePrefix {
        from: "/api".into(),
        to: "v2".into(),
    };
    assert_eq!(relative_to.apply("/api/x"), "/v2/x");
    assert_eq!(Rewrite::StripPrefix("/api/".into()).apply("/api/x"), "/x");
    assert_eq!(Rewrite::StripPrefix("/api".into()).apply("*"), "/*");
}

#[test]
fn rewrite_invalid_prefixes_are_rejected_with_cause() {
    assert!(matches!(
        Rewrite::strip_prefix("/"),
        Err(RewriteError::StripRoot)
    ));
    assert!(matches!(
        Rewrite::strip_prefix("/api/"),
        Err(RewriteError::TrailingSlash {
            field: "strip_prefix",
            ..
        })
    ));
    assert!(matches!(
        Rewrite::strip_prefix("api"),
        Err(RewriteError::InvalidPrefix {
            source: PathError::MissingLeadingSlash { .. },
            ..
        })
    ));
    assert!(matches!(
        Rewrite::replace_prefix("/api", "/v2/"),
        Err(RewriteError::TrailingSlash {
            field: "replace_prefix.to",
            ..
        })
    ));
    assert!(matches!(
        Rewrite::replace_prefix("/a?b", "/v2"),
        Err(RewriteError::InvalidPrefix {
            field: "replace_prefix.from",
            ..
        })
    ));
}

#[test]
fn rewrite_check_against_accepts_paths_under_the_prefix() {
    let strip = Rewrite::strip_prefix("/api").unwrap();
    for path in [
        pattern("/api/users/**"),
        pattern("/api/**"),
        pattern("/api"),
        pattern("/api/"),
        pattern("/api/*/orders"),
        prefix("/api/"),
        prefix("/api/users"),
    ] {
        assert_eq!(strip.check_against(&path), Ok(()), "{path:?}");
    }
    let from_root = Rewrite::replace_prefix("/", "/v1").unwrap();
    assert_eq!(from_root.check_against(&pattern("/**")), Ok(()));
    assert_eq!(from_root.check_against(&prefix("/")), Ok(()));
}

#[test]
fn rewrite_check_against_rejects_paths_escaping_the_prefix_with_example() {
    let strip = Rewrite::strip_prefix("/api/v1").unwrap();
    let cases = [
        (pattern("/other/**"), "`/other`"),
        (pattern("/api/**"), "`/api`"),
        (pattern("/api/*/users"), "`/api/x/users`"),
        (pattern("/*/v1"), "`/x/v1`"),
        (pattern("/**"), "`/`"),
        (prefix("/api/v1"), "`/api/v1x`"),
        (prefix("/api"), "`/api`"),
    ];
    for (path, example) in cases {
        let err = strip.check_against(&path).unwrap_err();
        assert!(err.contains(example), "{path:?}: {err}");
        assert!(err.contains("strip_prefix `/api/v1`"), "{err}");
    }
    let star_named_x = Rewrite::strip_prefix("/x").unwrap();
    let err = star_named_x.check_against(&pattern("/*")).unwrap_err();
    assert!(err.contains("`/y`"), "{err}");
}

// === priority ===

#[test]
fn table_exact_host_beats_wildcard_beats_any_host() {
    let t = table(vec![
        route(&[], pattern("/users")),
        route(&["*.example.com"], pattern("/**")),
        route(&["*.eu.example.com"], pattern("/**")),
        route(&["api.eu.example.com"], prefix("/")),
    ]);
    assert_eq!(
        find(&t, Some("api.eu.example.com"), Method::GET, "/users"),
        Some(3)
    );
    assert_eq!(
        find(&t, Some("web.eu.example.com"), Method::GET, "/users"),
        Some(2)
    );
    assert_eq!(
        find(&t, Some("web.example.com"), Method::GET, "/users"),
        Some(1)
    );
    assert_eq!(
        find(&t, Some("example.com"), Method::GET, "/users"),
        Some(0)
    );
    assert_eq!(find(&t, None, Method::GET, "/users"), Some(0));
    assert_eq!(find(&t, None, Method::GET, "/other"), None);
}

#[test]
fn table_host_lookup_ignores_case() {
    let t = table(vec![route(&["api.example.com"], pattern("/**"))]);
    assert_eq!(
        find(&t, Some("API.Example.COM"), Method::GET, "/x"),
        Some(0)
    );
}

#[test]
fn table_path_tiers_exact_then_fixed_then_catch_all_then_prefix() {
    let t = table(vec![
        route(&[], prefix("/api/users/42/orders/x")),
        route(&[], pattern("/api/**")),
        route(&[], pattern("/api/users/*/orders")),
        route(&[], pattern("/api/users/42/orders")),
    ]);
    assert_eq!(find(&t, None, Method::GET, "/api/users/42/orders"), Some(3));
    assert_eq!(find(&t, None, Method::GET, "/api/users/7/orders"), Some(2));
    assert_eq!(
        find(&t, None, Method::GET, "/api/users/42/orders/x"),
        Some(1)
    );
    assert_eq!(find(&t, None, Method::GET, "/apiv2"), None);
}

#[test]
fn table_fixed_patterns_prefer_more_literals_then_later_wildcard() {
    let t = table(vec![
        route(&[], pattern("/*/*/c")),
        route(&[], pattern("/*/b/c")),
        route(&[], pattern("/a/*/c")),
    ]);
    // `/*/b/c` and `/a/*/c` both have two literals; `/a/*/c` has its `*` later.
    assert_eq!(find(&t, None, Method::GET, "/a/b/c"), Some(2));
    assert_eq!(find(&t, None, Method::GET, "/z/b/c"), Some(1));
    assert_eq!(find(&t, None, Method::GET, "/z/z/c"), Some(0));
}

#[test]
fn table_catch_all_prefers_deeper_then_more_literals() {
    let t = table(vec![
        route(&[], pattern("/**")),
        route(&[], pattern("/api/**")),
        route(&[], pattern("/api/*/**")),
        route(&[], pattern("/api/users/**")),
    ]);
    assert_eq!(find(&t, None, Method::GET, "/api/users/1"), Some(3));
    assert_eq!(find(&t, None, Method::GET, "/api/users"), Some(3));
    assert_eq!(find(&t, None, Method::GET, "/api/teams/1"), Some(2));
    assert_eq!(find(&t, None, Method::GET, "/api"), Some(1));
    assert_eq!(find(&t, None, Method::GET, "/"), Some(0));
}

#[test]
fn table_raw_prefixes_prefer_longer() {
    let t = table(vec![route(&[], prefix("/a")), route(&[], prefix("/api"))]);
    assert_eq!(find(&t, None, Method::GET, "/apiv2"), Some(1));
    assert_eq!(find(&t, None, Method::GET, "/ab"), Some(0));
    assert_eq!(find(&t, None, Method::GET, "/b"), None);
}

#[test]
fn table_method_mismatch_falls_through_to_next_route() {
    let t = table(vec![
        route(&[], pattern("/api/**")),
        with_methods(
            route(&["api.example.com"], pattern("/api/users")),
            &[Method::GET],
        ),
    ]);
    assert_eq!(
        find(&t, Some("api.example.com"), Method::GET, "/api/users"),
        Some(1)
    );
    assert_eq!(
        find(&t, Some("api.example.com"), Method::POST, "/api/users"),
        Some(0)
    );
}

#[test]
fn table_method_list_beats_any_method_on_same_path() {
    let t = table(vec![
        route(&[], pattern("/users")),
        with_methods(route(&[], pattern("/users")), &[Method::POST, Method::PUT]),
    ]);
    assert_eq!(find(&t, None, Method::PUT, "/users"), Some(1));
    assert_eq!(find(&t, None, Method::GET, "/users"), Some(0));
}

#[test]
fn table_header_mismatch_falls_through_and_more_headers_win() {
    let canary = with_header(
        route(&[], pattern("/x")),
        "x-canary",
        HeaderRule::Exact("1".into()),
    );
    let canary_beta = with_header(canary.clone(), "x-beta", HeaderRule::Present);
    let t = table(vec![route(&[], pattern("/x")), canary, canary_beta]);
    let both = headers(&[("x-canary", "1"), ("x-beta", "")]);
    let one = headers(&[("x-canary", "1")]);
    let other = headers(&[("x-canary", "0")]);
    assert_eq!(find_with(&t, None, Method::GET, "/x", &both), Some(2));
    assert_eq!(find_with(&t, None, Method::GET, "/x", &one), Some(1));
    assert_eq!(find_with(&t, None, Method::GET, "/x", &other), Some(0));
}

#[test]
fn table_equal_priority_goes_to_first_declared() {
    let t = table(vec![
        route(&[], pattern("/a/*")),
        route(&[], pattern("/a/*")),
        route(&[], pattern("/*/b")),
    ]);
    assert_eq!(find(&t, None, Method::GET, "/a/b"), Some(0));
}

#[test]
fn table_route_with_several_hosts_is_ranked_per_host() {
    let t = table(vec![
        route(&["*.example.com"], pattern("/**")),
        route(&["*.example.com", "api.example.com"], prefix("/")),
    ]);
    // Via `api.example.com` the second route has an exact host and wins despite its path.
    assert_eq!(
        find(&t, Some("api.example.com"), Method::GET, "/x"),
        Some(1)
    );
    assert_eq!(
        find(&t, Some("web.example.com"), Method::GET, "/x"),
        Some(0)
    );
    let entries: Vec<_> = t
        .iter_entries()
        .map(|e| (e.declared, e.host.map(|h| h.to_string())))
        .collect();
    assert_eq!(
        entries,
        [
            (1, Some("api.example.com".to_owned())),
            (0, Some("*.example.com".to_owned())),
            (1, Some("*.example.com".to_owned())),
        ]
    );
    let listed: Vec<usize> = t.iter_by_priority().map(|(_, v)| *v).collect();
    assert_eq!(listed, [1, 0]);
}

#[test]
fn table_iter_by_priority_lists_documented_order() {
    let t = table(vec![
        route(&[], prefix("/")),
        route(&[], pattern("/**")),
        route(&[], pattern("/a/*")),
        route(&[], pattern("/a/b")),
        route(&["*.com"], prefix("/")),
        route(&["*.a.com"], prefix("/")),
        route(&["x.a.com"], prefix("/")),
        with_methods(route(&[], pattern("/a/b")), &[Method::GET]),
    ]);
    let order: Vec<usize> = t.iter_by_priority().map(|(_, v)| *v).collect();
    assert_eq!(order, [6, 5, 4, 7, 3, 2, 1, 0]);
    assert_eq!(t.len(), 8);
}

#[test]
fn table_empty_matches_nothing() {
    let t = table(Vec::new());
    assert!(t.is_empty());
    assert_eq!(find(&t, Some("a.com"), Method::GET, "/"), None);
}

#[test]
fn table_non_origin_paths_match_only_raw_prefixes() {
    let t = table(vec![
        route(&[], pattern("/**")),
        RouteMatch::new(PathMatch::Prefix(String::new())),
    ]);
    assert_eq!(find(&t, None, Method::OPTIONS, "*"), Some(1));
    assert_eq!(find(&t, None, Method::GET, "/"), Some(0));
}

// === property tests ===

/// The documented priority, written independently of `priority.rs` from the pattern text.
type RefKey = (
    u8,
    Reverse<usize>,
    u8,
    Reverse<usize>,
    Reverse<usize>,
    Vec<bool>,
    Reverse<usize>,
    bool,
    Reverse<usize>,
    usize,
);

fn reference_key(route: &RouteMatch, host: Option<&HostPattern>, declared: usize) -> RefKey {
    let (host_tier, suffix) = match host {
        Some(h) if h.is_wildcard() => (1, h.as_str().len() - 2),
        Some(_) => (0, 0),
        None => (2, 0),
    };
    let (path_tier, a, b, shape, prefix_len) = match &route.path {
        PathMatch::Prefix(p) => (3, 0, 0, Vec::new(), p.len()),
        PathMatch::Pattern(p) => {
            let mut segments: Vec<&str> = p.as_str()[1..].split('/').collect();
            let catch_all = segments.last() == Some(&"**");
            if catch_all {
                segments.pop();
            }
            let shape: Vec<bool> = segments.iter().map(|s| *s == "*").collect();
            let literals = shape.iter().filter(|s| !**s).count();
            match (catch_all, literals == segments.len()) {
                (false, true) => (0, 0, 0, Vec::new(), 0),
                (false, false) => (1, literals, 0, shape, 0),
                (true, _) => (2, segments.len(), literals, shape, 0),
            }
        }
    };
    (
        host_tier,
        Reverse(suffix),
        path_tier,
        Reverse(a),
        Reverse(b),
        shape,
        Reverse(prefix_len),
        route.methods.is_empty(),
        Reverse(route.headers.len()),
        declared,
    )
}

/// Linear scan over (route, host) entries sorted by the documented priority.
fn reference_find(routes: &[RouteMatch], request: &RequestView<'_>) -> Option<usize> {
    let mut entries = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        if route.hosts.is_empty() {
            entries.push((reference_key(route, None, i), i, None));
        }
        for host in &route.hosts {
            entries.push((reference_key(route, Some(host), i), i, Some(host)));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().find_map(|(_, i, host)| {
        let route = &routes[i];
        let host_ok = match host {
            None => true,
            Some(pattern) => request.host.is_some_and(|h| pattern.matches(h)),
        };
        let ok = host_ok
            && route.path.matches(request.path)
            && (route.methods.is_empty() || route.methods.contains(request.method))
            && route.headers.iter().all(|m| m.matches(request.headers));
        ok.then_some(i)
    })
}

fn pattern_text() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec!["a", "b", "ab", "*"]);
    (prop::collection::vec(segment, 0..4), 0..3u8).prop_map(|(segments, end)| {
        let mut text: String = segments.iter().flat_map(|s| ["/", s]).collect();
        match end {
            0 if text.is_empty() => text.push('/'),
            0 => {}
            1 => text.push('/'),
            _ => text.push_str("/**"),
        }
        text
    })
}

fn path_match() -> impl Strategy<Value = PathMatch> {
    let prefixes = vec!["", "/", "/a", "/a/", "/ab", "/a/b", "/b", "/a/b/"];
    prop_oneof![
        3 => pattern_text().prop_map(|p| PathMatch::pattern(&p).unwrap()),
        1 => prop::sample::select(prefixes).prop_map(|p| PathMatch::Prefix(p.to_owned())),
    ]
}

fn header_matcher() -> impl Strategy<Value = HeaderMatcher> {
    prop::sample::select(vec![
        ("x", HeaderRule::Exact("1".into())),
        ("x", HeaderRule::Prefix("1".into())),
        ("x", HeaderRule::Present),
        ("x", HeaderRule::Absent),
        ("y", HeaderRule::Present),
        ("y", HeaderRule::Absent),
    ])
    .prop_map(|(name, rule)| HeaderMatcher::new(name, rule).unwrap())
}

fn route_match() -> impl Strategy<Value = RouteMatch> {
    let hosts = vec![
        "a.com",
        "b.a.com",
        "x.b.a.com",
        "*.a.com",
        "*.b.a.com",
        "*.com",
        "B.A.COM",
    ];
    (
        prop::collection::vec(prop::sample::select(hosts), 0..3),
        path_match(),
        prop::sample::subsequence(vec![Method::GET, Method::POST], 0..=2),
        prop::collection::vec(header_matcher(), 0..3),
    )
        .prop_map(|(hosts, path, methods, headers)| RouteMatch {
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
            path,
            methods,
            headers,
        })
}

fn request_path() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec!["a", "b", "ab", "", "abc"]);
    prop_oneof![
        4 => prop::collection::vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/"))),
        1 => "[/ab*]{0,8}",
    ]
}

fn request_host_strategy() -> impl Strategy<Value = Option<String>> {
    let hosts = vec![
        "a.com",
        "b.a.com",
        "x.b.a.com",
        "y.x.b.a.com",
        "c.com",
        "com",
        "B.A.com",
        ".a.com",
        "a.com.",
        "a..b.a.com",
    ];
    prop_oneof![
        1 => Just(None),
        6 => prop::sample::select(hosts).prop_map(|h| Some(h.to_owned())),
    ]
}

fn request_headers() -> impl Strategy<Value = HeaderMap> {
    (
        prop::sample::subsequence(vec!["1", "12", "2"], 0..=3),
        any::<bool>(),
    )
        .prop_map(|(x, y)| {
            let mut pairs: Vec<(&str, &str)> = x.into_iter().map(|v| ("x", v)).collect();
            if y {
                pairs.push(("y", "on"));
            }
            headers(&pairs)
        })
}

fn assert_same_as_reference(routes: &[RouteMatch], request: &RequestView<'_>) {
    let t = table(routes.to_vec());
    let expected = reference_find(routes, request);
    let found = t.find(request).copied();
    assert_eq!(found, expected, "request {request:?}");
    if let Some(i) = found {
        assert!(routes[i].matches(request));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn table_find_equals_linear_scan_in_priority_order(
        routes in prop::collection::vec(route_match(), 0..40),
        host in request_host_strategy(),
        path in request_path(),
        method in prop::sample::select(vec![Method::GET, Method::POST, Method::PUT]),
        headers in request_headers(),
    ) {
        let request = RequestView { host: host.as_deref(), path: &path, method: &method, headers: &headers };
        assert_same_as_reference(&routes, &request);
    }
}

proptest! {
    #[test]
    fn table_find_arbitrary_strings_equals_linear_scan(
        routes in prop::collection::vec(route_match(), 0..20),
        host in proptest::option::of(any::<String>()),
        path in any::<String>(),
    ) {
        let headers = HeaderMap::new();
        let request = RequestView { host: host.as_deref(), path: &path, method: &Method::GET, headers: &headers };
        assert_same_as_reference(&routes, &request);
    }

    #[test]
    fn path_pattern_parse_arbitrary_string_roundtrips_or_errs(input in any::<String>()) {
        if let Ok(p) = PathPattern::parse(&input) {
            prop_assert_eq!(p.as_str(), input.as_str());
            prop_assert!(input.starts_with('/'));
            prop_assert_eq!(PathPattern::parse(p.as_str()), Ok(p));
        }
    }

    #[test]
    fn path_pattern_parse_pattern_alphabet_roundtrips_or_errs(input in "[/ab*.%?]{0,12}") {
        match PathPattern::parse(&input) {
            Ok(p) => prop_assert_eq!(p.as_str(), input.as_str()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn host_pattern_parse_arbitrary_string_is_lowercase_or_errs(input in any::<String>()) {
        if let Ok(p) = HostPattern::parse(&input) {
            prop_assert_eq!(p.as_str(), p.as_str().to_ascii_lowercase());
        }
    }

    #[test]
    fn rewrite_output_always_starts_with_slash(
        from in any::<String>(),
        to in any::<String>(),
        path in any::<String>(),
    ) {
        let strip = Rewrite::StripPrefix(from.clone());
        prop_assert!(strip.apply(&path).starts_with('/'));
        let replace = Rewrite::ReplacePrefix { from, to };
        prop_assert!(replace.apply(&path).starts_with('/'));
    }

    #[test]
    fn rewrite_validated_strip_removes_exactly_the_prefix(
        prefix in "(/[ab]{1,2}){1,3}",
        path in "(/[ab]{0,2}){1,4}",
    ) {
        let strip = Rewrite::strip_prefix(&prefix).unwrap();
        let out = strip.apply(&path);
        prop_assert!(out.starts_with('/'));
        if strip.applies_to(&path) {
            let rest = &path[prefix.len()..];
            prop_assert_eq!(out.as_ref(), if rest.is_empty() { "/" } else { rest });
        } else {
            prop_assert_eq!(out.as_ref(), path.as_str());
        }
    }

    #[test]
    fn rewrite_check_against_ok_means_it_applies_to_every_matched_path(
        prefix in "(/[ab]{1,2}){1,2}",
        path_match in path_match(),
        path in request_path(),
    ) {
        let strip = Rewrite::strip_prefix(&prefix).unwrap();
        if strip.check_against(&path_match).is_ok() && path_match.matches(&path) {
            prop_assert!(strip.applies_to(&path), "{:?} matched {} outside {}", path_match, path, prefix);
        }
    }
}
