//! Tests for the trace context codec, modeled on the W3C trace-context test suite
//! (`test/test.py`: `test_traceparent_*`, `test_tracestate_*`), plus the gateway's decisions.

use std::convert::Infallible;

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

const TRACE_ID: &str = "12345678901234567890123456789012";
const PARENT_ID: &str = "1234567890123456";
/// The suite's standard valid header.
const VALID: &str = "00-12345678901234567890123456789012-1234567890123456-01";

/// A request's headers, in order, names in any case (`HeaderName` lowercases them).
fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        map.append(name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn parse(value: &str) -> Result<TraceParent, InvalidTraceParent> {
    TraceParent::parse(value.as_bytes())
}

fn assert_invalid(values: &[&str], reason: InvalidTraceParent) {
    for value in values {
        assert_eq!(parse(value), Err(reason), "{value:?}");
        let extracted = extract(&headers(&[("traceparent", value), ("tracestate", "foo=1")]));
        assert_eq!(extracted, Extracted::Invalid(reason), "{value:?}");
    }
}

/// The context extracted from a valid `traceparent` plus these `tracestate` values.
fn with_states(states: &[&str]) -> Extracted {
    let mut pairs = vec![("traceparent", VALID)];
    pairs.extend(states.iter().map(|s| ("tracestate", *s)));
    extract(&headers(&pairs))
}

/// The state extracted with these `tracestate` values, or why it was discarded. The
/// `traceparent` must survive either way.
fn state_of(states: &[&str]) -> Result<TraceState, InvalidTraceState> {
    match with_states(states) {
        Extracted::Valid {
            context,
            discarded_state: None,
        } => Ok(context.state),
        Extracted::Valid {
            context,
            discarded_state: Some(reason),
        } => {
            assert!(context.state.is_empty(), "a discarded state must be empty");
            assert_eq!(context.trace_id().to_string(), TRACE_ID);
            Err(reason)
        }
        other => panic!("traceparent must stay valid, got {other:?}"),
    }
}

fn sampler(ratio: f64) -> Sampler {
    Sampler::parent_based(ratio).unwrap()
}

/// A trace id whose lower 8 bytes are `low` and upper 8 bytes `high`.
fn trace_id(high: u64, low: u64) -> TraceId {
    TraceId::from_bytes(((u128::from(high) << 64) | u128::from(low)).to_be_bytes())
}

// === traceparent: accepted ===

#[test]
fn traceparent_version_00_is_parsed_into_fields() {
    let tp = parse(VALID).unwrap();
    assert_eq!(tp.version(), 0);
    assert_eq!(tp.trace_id().to_string(), TRACE_ID);
    assert_eq!(tp.parent_id().to_string(), PARENT_ID);
    assert_eq!(tp.flags(), TraceFlags::SAMPLED);
    assert!(tp.flags().is_sampled());
}

#[test]
fn traceparent_header_name_in_any_case_is_accepted() {
    for name in ["traceparent", "TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
        let extracted = extract(&headers(&[(name, VALID)]));
        let context = extracted.context().unwrap();
        assert_eq!(context.trace_id().to_string(), TRACE_ID, "{name}");
    }
}

#[test]
fn traceparent_header_name_with_delimiter_is_missing() {
    for name in ["trace-parent", "trace.parent"] {
        assert_eq!(
            extract(&headers(&[(name, VALID)])),
            Extracted::Missing,
            "{name}"
        );
    }
}

#[test]
fn traceparent_future_version_is_parsed_by_its_first_fields() {
    for value in [
        "cc-12345678901234567890123456789012-1234567890123456-01",
        "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        "01-12345678901234567890123456789012-1234567890123456-01-",
        "fe-12345678901234567890123456789012-1234567890123456-00-\u{7f}anything",
    ] {
        let tp = parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(tp.trace_id().to_string(), TRACE_ID, "{value:?}");
        assert_eq!(tp.parent_id().to_string(), PARENT_ID, "{value:?}");
        assert_ne!(tp.version(), 0, "{value:?}");
    }
    assert_eq!(
        parse("cc-12345678901234567890123456789012-1234567890123456-01")
            .unwrap()
            .version(),
        0xcc
    );
}

#[test]
fn traceparent_ows_around_value_is_ignored() {
    for value in [
        " 00-12345678901234567890123456789012-1234567890123456-01",
        "\t00-12345678901234567890123456789012-1234567890123456-01",
        "00-12345678901234567890123456789012-1234567890123456-01 ",
        "00-12345678901234567890123456789012-1234567890123456-01\t",
        "\t 00-12345678901234567890123456789012-1234567890123456-01 \t",
    ] {
        let extracted = extract(&headers(&[("traceparent", value)]));
        let context = extracted.context().unwrap_or_else(|| panic!("{value:?}"));
        assert_eq!(context.trace_id().to_string(), TRACE_ID, "{value:?}");
    }
}

#[test]
fn traceparent_flags_are_parsed_as_hex_keeping_all_bits() {
    let cases = [
        ("00", 0x00, false, false),
        ("01", 0x01, true, false),
        ("02", 0x02, false, true),
        ("09", 0x09, true, false),
        ("10", 0x10, false, false),
        ("ff", 0xff, true, true),
    ];
    for (hex, bits, sampled, random) in cases {
        let tp = parse(&format!("00-{TRACE_ID}-{PARENT_ID}-{hex}")).unwrap();
        assert_eq!(tp.flags().bits(), bits, "{hex}");
        assert_eq!(tp.flags().is_sampled(), sampled, "{hex}");
        assert_eq!(tp.flags().is_random_trace_id(), random, "{hex}");
    }
}

// === traceparent: rejected ===

#[test]
fn traceparent_duplicated_is_invalid() {
    let other = "00-12345678901234567890123456789011-1234567890123456-01";
    for pair in [[other, VALID], [VALID, VALID]] {
        let map = headers(&[("traceparent", pair[0]), ("TraceParent", pair[1])]);
        assert_eq!(
            extract(&map),
            Extracted::Invalid(InvalidTraceParent::Duplicate)
        );
    }
}

#[test]
fn traceparent_version_00_with_trailing_data_is_invalid() {
    assert_invalid(
        &[
            "00-12345678901234567890123456789012-1234567890123456-01.",
            "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
            "00-12345678901234567890123456789012-1234567890123456-01-",
        ],
        InvalidTraceParent::Length,
    );
}

#[test]
fn traceparent_future_version_without_dash_after_flags_is_invalid() {
    assert_invalid(
        &["cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like"],
        InvalidTraceParent::Delimiter,
    );
}

#[test]
fn traceparent_future_version_shorter_than_55_is_invalid() {
    assert_invalid(
        &[
            "cc-12345678901234567890123456789012-1234567890123456-1",
            "cc-1234567890123456789012345678901-1234567890123456-01",
        ],
        InvalidTraceParent::Length,
    );
}

#[test]
fn traceparent_version_ff_is_invalid() {
    assert_invalid(
        &[
            "ff-12345678901234567890123456789012-1234567890123456-01",
            "ff-12345678901234567890123456789012-1234567890123456-01-more",
        ],
        InvalidTraceParent::VersionForbidden,
    );
}

#[test]
fn traceparent_version_illegal_characters_is_invalid() {
    assert_invalid(
        &[
            ".0-12345678901234567890123456789012-1234567890123456-01",
            "0.-12345678901234567890123456789012-1234567890123456-01",
            "0A-12345678901234567890123456789012-1234567890123456-01",
        ],
        InvalidTraceParent::Version,
    );
}

#[test]
fn traceparent_version_too_long_or_short_is_invalid() {
    assert_invalid(
        &[
            "000-12345678901234567890123456789012-1234567890123456-01",
            "0000-12345678901234567890123456789012-1234567890123456-01",
            "0-12345678901234567890123456789012-1234567890123456-01",
            "",
            "00",
        ],
        InvalidTraceParent::Version,
    );
}

#[test]
fn traceparent_uppercase_hex_is_invalid() {
    assert_invalid(
        &["00-ABCDEF78901234567890123456789012-1234567890123456-01"],
        InvalidTraceParent::TraceId,
    );
    assert_invalid(
        &["00-12345678901234567890123456789012-ABCDEF7890123456-01"],
        InvalidTraceParent::ParentId,
    );
    assert_invalid(
        &["00-12345678901234567890123456789012-1234567890123456-0A"],
        InvalidTraceParent::Flags,
    );
}

#[test]
fn traceparent_trace_id_all_zero_is_invalid() {
    assert_invalid(
        &["00-00000000000000000000000000000000-1234567890123456-01"],
        InvalidTraceParent::TraceIdZero,
    );
}

#[test]
fn traceparent_trace_id_illegal_characters_is_invalid() {
    assert_invalid(
        &[
            "00-.2345678901234567890123456789012-1234567890123456-01",
            "00-1234567890123456789012345678901.-1234567890123456-01",
            "00-1234567890123456789012345678901g-1234567890123456-01",
        ],
        InvalidTraceParent::TraceId,
    );
}

#[test]
fn traceparent_trace_id_too_long_or_short_is_invalid() {
    assert_invalid(
        &[
            "00-123456789012345678901234567890123-1234567890123456-01",
            "00-1234567890123456789012345678901-1234567890123456-01",
        ],
        InvalidTraceParent::Length,
    );
    // A future version has no exact length: the misplaced '-' gives it away.
    assert_invalid(
        &["cc-123456789012345678901234567890123-1234567890123456-01"],
        InvalidTraceParent::Delimiter,
    );
}

#[test]
fn traceparent_parent_id_all_zero_is_invalid() {
    assert_invalid(
        &["00-12345678901234567890123456789012-0000000000000000-01"],
        InvalidTraceParent::ParentIdZero,
    );
}

#[test]
fn traceparent_parent_id_illegal_characters_is_invalid() {
    assert_invalid(
        &[
            "00-12345678901234567890123456789012-.234567890123456-01",
            "00-12345678901234567890123456789012-123456789012345.-01",
        ],
        InvalidTraceParent::ParentId,
    );
}

#[test]
fn traceparent_parent_id_too_long_or_short_is_invalid() {
    assert_invalid(
        &[
            "00-12345678901234567890123456789012-12345678901234567-01",
            "00-12345678901234567890123456789012-123456789012345-01",
        ],
        InvalidTraceParent::Length,
    );
}

#[test]
fn traceparent_trace_flags_illegal_characters_is_invalid() {
    assert_invalid(
        &[
            "00-12345678901234567890123456789012-1234567890123456-.0",
            "00-12345678901234567890123456789012-1234567890123456-0.",
        ],
        InvalidTraceParent::Flags,
    );
}

#[test]
fn traceparent_trace_flags_too_long_or_short_is_invalid() {
    assert_invalid(
        &[
            "00-12345678901234567890123456789012-1234567890123456-001",
            "00-12345678901234567890123456789012-1234567890123456-1",
        ],
        InvalidTraceParent::Length,
    );
}

#[test]
fn traceparent_wrong_separator_is_invalid() {
    assert_invalid(
        &[
            "00-12345678901234567890123456789012_1234567890123456-01",
            "00-12345678901234567890123456789012-1234567890123456_01",
        ],
        InvalidTraceParent::Delimiter,
    );
    assert_invalid(
        &["00_12345678901234567890123456789012-1234567890123456-01"],
        InvalidTraceParent::Version,
    );
}

#[test]
fn traceparent_non_ascii_bytes_are_invalid() {
    let mut value = VALID.as_bytes().to_vec();
    value[10] = 0xc3;
    assert_eq!(TraceParent::parse(&value), Err(InvalidTraceParent::TraceId));
    let mut map = HeaderMap::new();
    map.insert(TRACEPARENT, HeaderValue::from_bytes(&value).unwrap());
    assert_eq!(
        extract(&map),
        Extracted::Invalid(InvalidTraceParent::TraceId)
    );
}

#[test]
fn traceparent_new_with_zero_id_is_rejected() {
    let tid: TraceId = TRACE_ID.parse().unwrap();
    let sid: SpanId = PARENT_ID.parse().unwrap();
    assert_eq!(
        TraceParent::new(TraceId::INVALID, sid, TraceFlags::NONE),
        Err(InvalidTraceParent::TraceIdZero)
    );
    assert_eq!(
        TraceParent::new(tid, SpanId::INVALID, TraceFlags::NONE),
        Err(InvalidTraceParent::ParentIdZero)
    );
    assert_eq!(
        TraceParent::new(tid, sid, TraceFlags::SAMPLED),
        Ok(parse(VALID).unwrap())
    );
}

// === extract ===

#[test]
fn extract_without_any_header_is_missing() {
    let extracted = extract(&HeaderMap::new());
    assert_eq!(extracted, Extracted::Missing);
    assert_eq!(extracted.context(), None);
    assert_eq!(extracted.invalid_reason(), None);
}

#[test]
fn extract_tracestate_without_traceparent_is_missing_and_ignored() {
    for state in ["foo=1", "foo=1,bar=2"] {
        let extracted = extract(&headers(&[("tracestate", state)]));
        assert_eq!(extracted, Extracted::Missing);
        let ours = extracted.continue_or_start(&sampler(1.0), &mut StdRng::seed_from_u64(1));
        assert!(ours.state.is_empty(), "{state}");
    }
}

#[test]
fn extract_valid_headers_keep_traceparent_and_tracestate() {
    let extracted = extract(&headers(&[
        (
            "traceparent",
            "00-12345678901234567890123456789012-1234567890123456-00",
        ),
        ("tracestate", "foo=1,bar=2"),
    ]));
    let Extracted::Valid {
        context,
        discarded_state,
    } = extracted
    else {
        panic!("expected valid, got {extracted:?}");
    };
    assert_eq!(discarded_state, None);
    assert_eq!(context.trace_id().to_string(), TRACE_ID);
    assert!(!context.parent.flags().is_sampled());
    assert_eq!(context.state.get("foo"), Some("1"));
    assert_eq!(context.state.get("bar"), Some("2"));
}

#[test]
fn extracted_invalid_reason_names_the_ignored_header() {
    let invalid = extract(&headers(&[("traceparent", "ff-x")]));
    assert_eq!(
        invalid.invalid_reason(),
        Some("traceparent_version_forbidden")
    );
    assert_eq!(
        with_states(&["FOO=1"]).invalid_reason(),
        Some("tracestate_key")
    );
    assert_eq!(with_states(&["foo=1"]).invalid_reason(), None);
}

#[test]
fn invalid_reason_labels_are_unique_prefixed_snake_case() {
    let labels: Vec<&str> = InvalidTraceParent::ALL
        .iter()
        .map(|r| r.as_str())
        .chain(InvalidTraceState::ALL.iter().map(|r| r.as_str()))
        .collect();
    for label in &labels {
        assert!(
            label.starts_with("traceparent_") || label.starts_with("tracestate_"),
            "{label}"
        );
        assert!(
            label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{label}"
        );
    }
    let mut unique = labels.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), labels.len());
    assert_eq!(labels.len(), 15);
}

// === continue_or_start ===

#[test]
fn continue_or_start_valid_parent_keeps_trace_state_and_sampled_flag() {
    let extracted = with_states(&["congo=t61rcWkgMzE"]);
    // The caller sampled; a zero ratio must not override it (parent-based).
    let ours = extracted.continue_or_start(&sampler(0.0), &mut StdRng::seed_from_u64(7));
    assert_eq!(ours.trace_id().to_string(), TRACE_ID);
    assert_ne!(ours.parent.parent_id().to_string(), PARENT_ID);
    assert!(ours.parent.parent_id().is_valid());
    assert!(ours.parent.flags().is_sampled());
    assert_eq!(ours.parent.version(), 0);
    assert_eq!(ours.state.to_string(), "congo=t61rcWkgMzE");

    let unsampled = extract(&headers(&[(
        "traceparent",
        "cc-12345678901234567890123456789012-1234567890123456-00-x",
    )]));
    let ours = unsampled.continue_or_start(&sampler(1.0), &mut StdRng::seed_from_u64(7));
    assert!(!ours.parent.flags().is_sampled());
    assert_eq!(ours.parent.version(), 0);
}

#[test]
fn continue_or_start_gives_each_call_a_new_span_id() {
    let extracted = with_states(&[]);
    let mut rng = StdRng::seed_from_u64(3);
    let a = extracted.continue_or_start(&sampler(1.0), &mut rng);
    let b = extracted.continue_or_start(&sampler(1.0), &mut rng);
    assert_eq!(a.trace_id(), b.trace_id());
    assert_ne!(a.parent.parent_id(), b.parent.parent_id());
}

#[test]
fn continue_or_start_invalid_parent_starts_new_trace_without_state() {
    let extracted = extract(&headers(&[
        (
            "traceparent",
            "00-00000000000000000000000000000000-1234567890123456-01",
        ),
        ("tracestate", "foo=1"),
    ]));
    assert_eq!(
        extracted,
        Extracted::Invalid(InvalidTraceParent::TraceIdZero)
    );
    let mut rng = StdRng::seed_from_u64(11);
    let a = extracted.continue_or_start(&sampler(1.0), &mut rng);
    let b = extracted.continue_or_start(&sampler(1.0), &mut rng);
    for ours in [&a, &b] {
        assert!(ours.trace_id().is_valid());
        assert!(ours.parent.parent_id().is_valid());
        assert!(ours.state.is_empty());
        assert!(ours.parent.flags().is_random_trace_id());
        assert!(ours.parent.flags().is_sampled());
    }
    assert_ne!(a.trace_id(), b.trace_id());
}

#[test]
fn continue_or_start_new_trace_is_sampled_by_ratio() {
    let mut rng = StdRng::seed_from_u64(5);
    let ours = Extracted::Missing.continue_or_start(&sampler(0.0), &mut rng);
    assert!(!ours.parent.flags().is_sampled());
    assert_eq!(
        ours.parent.flags().bits(),
        TraceFlags::RANDOM_TRACE_ID.bits()
    );
    let ours = Extracted::Missing.continue_or_start(&sampler(1.0), &mut rng);
    assert_eq!(ours.parent.flags().bits(), 0x03);
}

#[test]
fn continue_or_start_same_seed_is_deterministic() {
    let a = Extracted::Missing.continue_or_start(&sampler(0.5), &mut StdRng::seed_from_u64(9));
    let b = Extracted::Missing.continue_or_start(&sampler(0.5), &mut StdRng::seed_from_u64(9));
    assert_eq!(a, b);
}

// === inject and child ===

#[test]
fn inject_writes_version_00_for_future_version() {
    let extracted = extract(&headers(&[(
        "traceparent",
        "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
    )]));
    let mut out = HeaderMap::new();
    inject(extracted.context().unwrap(), &mut out);
    assert_eq!(out[TRACEPARENT], VALID);
    assert!(out.get(TRACESTATE).is_none());
}

#[test]
fn inject_clears_undefined_flag_bits() {
    let context = extract(&headers(&[(
        "traceparent",
        "00-12345678901234567890123456789012-1234567890123456-ff",
    )]));
    let mut out = HeaderMap::new();
    inject(context.context().unwrap(), &mut out);
    assert_eq!(
        out[TRACEPARENT],
        "00-12345678901234567890123456789012-1234567890123456-03"
    );
}

#[test]
fn inject_replaces_existing_headers_and_omits_empty_state() {
    let mut out = headers(&[
        (
            "traceparent",
            "00-11111111111111111111111111111111-1111111111111111-01",
        ),
        ("traceparent", "garbage"),
        ("tracestate", "stale=1"),
        ("tracestate", "stale2=2"),
    ]);
    let parent = parse(VALID).unwrap();
    inject(&TraceContext::new(parent, TraceState::new()), &mut out);
    assert_eq!(out.get_all(TRACEPARENT).iter().count(), 1);
    assert_eq!(out[TRACEPARENT], VALID);
    assert!(out.get(TRACESTATE).is_none());

    let state = TraceState::parse("a=1,b=2").unwrap();
    inject(&TraceContext::new(parent, state), &mut out);
    assert_eq!(out.get_all(TRACESTATE).iter().count(), 1);
    assert_eq!(out[TRACESTATE], "a=1,b=2");
}

#[test]
fn inject_joins_combined_tracestate_into_one_header() {
    let extracted = with_states(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]);
    let mut out = HeaderMap::new();
    inject(extracted.context().unwrap(), &mut out);
    assert_eq!(out.get_all(TRACESTATE).iter().count(), 1);
    assert_eq!(out[TRACESTATE], "foo=1,bar=2,rojo=1,congo=2,baz=3");
}

#[test]
fn child_replaces_parent_id_and_keeps_the_rest() {
    let extracted = extract(&headers(&[
        (
            "traceparent",
            "01-12345678901234567890123456789012-1234567890123456-07-x",
        ),
        ("tracestate", "foo=1"),
    ]));
    let span: SpanId = "00f067aa0ba902b7".parse().unwrap();
    let child = extracted.context().unwrap().child(span).unwrap();
    assert_eq!(child.parent.version(), 0);
    assert_eq!(child.trace_id().to_string(), TRACE_ID);
    assert_eq!(child.parent.parent_id(), span);
    assert_eq!(child.parent.flags().bits(), 0x03);
    assert_eq!(child.state.to_string(), "foo=1");
}

#[test]
fn child_with_invalid_span_id_is_rejected() {
    let context = TraceContext::new(parse(VALID).unwrap(), TraceState::new());
    assert_eq!(
        context.child(SpanId::INVALID),
        Err(InvalidTraceParent::ParentIdZero)
    );
}

// === ids ===

#[test]
fn ids_display_lowercase_hex_and_parse_back() {
    let tid = TraceId::from_bytes([0xab; 16]);
    assert_eq!(tid.to_string(), "ab".repeat(16));
    assert_eq!(tid.to_string().parse::<TraceId>(), Ok(tid));
    assert_eq!(format!("{tid:?}"), format!("TraceId({})", "ab".repeat(16)));
    let sid = SpanId::from_bytes([0x0f; 8]);
    assert_eq!(sid.to_string(), "0f".repeat(8));
    assert_eq!(sid.to_string().parse::<SpanId>(), Ok(sid));
}

#[test]
fn ids_from_str_reject_uppercase_and_wrong_length() {
    assert_eq!(
        "AB".repeat(16).parse::<TraceId>(),
        Err(ParseIdError::NotLowercaseHex)
    );
    assert_eq!(
        "ab".repeat(15).parse::<TraceId>(),
        Err(ParseIdError::Length {
            expected: 32,
            actual: 30
        })
    );
    assert_eq!(
        "0g".repeat(8).parse::<SpanId>(),
        Err(ParseIdError::NotLowercaseHex)
    );
    assert_eq!(
        "ab".repeat(9).parse::<SpanId>(),
        Err(ParseIdError::Length {
            expected: 16,
            actual: 18
        })
    );
}

#[test]
fn ids_all_zero_are_invalid() {
    assert!(!TraceId::INVALID.is_valid());
    assert!(!SpanId::INVALID.is_valid());
    assert_eq!("0".repeat(32).parse::<TraceId>(), Ok(TraceId::INVALID));
    assert!(TraceId::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).is_valid());
    assert!(SpanId::from_bytes([1, 0, 0, 0, 0, 0, 0, 0]).is_valid());
}

#[test]
fn ids_random_from_seed_are_valid_and_reproducible() {
    let a = TraceId::random_from(&mut StdRng::seed_from_u64(42));
    let b = TraceId::random_from(&mut StdRng::seed_from_u64(42));
    assert_eq!(a, b);
    assert!(a.is_valid());
    assert_ne!(TraceId::random(), TraceId::random());
    assert!(SpanId::random().is_valid());
}

/// A generator stuck at zero: ids must still come out valid (and not loop forever).
struct ZeroRng;

impl rand::TryRng for ZeroRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(0)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(0)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.fill(0);
        Ok(())
    }
}

#[test]
fn ids_random_from_stuck_generator_are_still_valid() {
    let tid = TraceId::random_from(&mut ZeroRng);
    let sid = SpanId::random_from(&mut ZeroRng);
    assert_eq!(tid.to_string(), format!("{}01", "0".repeat(30)));
    assert_eq!(sid.to_string(), "0000000000000001");
    let ours = Extracted::Missing.continue_or_start(&sampler(1.0), &mut ZeroRng);
    assert!(ours.trace_id().is_valid());
    assert!(ours.parent.parent_id().is_valid());
}

#[test]
fn ids_convert_to_and_from_opentelemetry() {
    let tid: TraceId = TRACE_ID.parse().unwrap();
    let sid: SpanId = PARENT_ID.parse().unwrap();
    let otel_tid = opentelemetry::TraceId::from(tid);
    let otel_sid = opentelemetry::SpanId::from(sid);
    assert_eq!(otel_tid.to_string(), TRACE_ID);
    assert_eq!(otel_sid.to_string(), PARENT_ID);
    assert_eq!(TraceId::from(otel_tid), tid);
    assert_eq!(SpanId::from(otel_sid), sid);
}

// === tracestate: accepted ===

#[test]
fn tracestate_multiple_headers_are_combined_in_order() {
    let state = state_of(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).unwrap();
    assert_eq!(state.to_string(), "foo=1,bar=2,rojo=1,congo=2,baz=3");
    let keys: Vec<&str> = state.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["foo", "bar", "rojo", "congo", "baz"]);
}

#[test]
fn tracestate_empty_header_is_accepted() {
    assert_eq!(state_of(&[""]), Ok(TraceState::new()));
    assert_eq!(state_of(&["foo=1", ""]).unwrap().to_string(), "foo=1");
    assert_eq!(state_of(&["", "foo=1"]).unwrap().to_string(), "foo=1");
}

#[test]
fn tracestate_empty_members_are_ignored() {
    for header in [
        "foo=1,,bar=2",
        ",foo=1,bar=2,",
        "foo=1, ,\t,bar=2",
        " , foo=1 ,, bar=2",
    ] {
        assert_eq!(
            state_of(&[header]).unwrap().to_string(),
            "foo=1,bar=2",
            "{header:?}"
        );
    }
    assert_eq!(state_of(&[" , \t,"]), Ok(TraceState::new()));
}

#[test]
fn tracestate_ows_around_members_is_ignored() {
    for header in [
        "foo=1 \t , \t bar=2, \t baz=3",
        "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
    ] {
        let state = state_of(&[header]).unwrap();
        assert_eq!(state.to_string(), "foo=1,bar=2,baz=3", "{header:?}");
    }
    for header in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        let state = state_of(&[header]).unwrap();
        assert_eq!(state.get("foo"), Some("1"), "{header:?}");
    }
}

#[test]
fn tracestate_value_leading_space_is_kept() {
    let state = state_of(&["foo= 1 "]).unwrap();
    assert_eq!(state.get("foo"), Some(" 1"));
}

#[test]
fn tracestate_all_allowed_characters_are_accepted() {
    let key_without_vendor = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let key_with_vendor = format!("{key_without_vendor}@a-z0-9_-*/");
    let value: String = (0x20u8..=0x7e)
        .filter(|b| *b != b',' && *b != b'=')
        .map(char::from)
        .collect();
    for key in [key_without_vendor, key_with_vendor.as_str()] {
        let state = state_of(&[&format!("{key}={value}")]).unwrap();
        assert_eq!(state.get(key), Some(value.as_str()), "{key}");
    }
}

#[test]
fn tracestate_32_members_are_accepted() {
    let state = state_of(&[
        "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10",
        "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20",
        "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30",
        "bar31=31,bar32=32",
    ])
    .unwrap();
    assert_eq!(state.len(), 32);
    assert_eq!(state.get("bar01"), Some("01"));
    assert_eq!(state.get("bar32"), Some("32"));
}

#[test]
fn tracestate_key_length_limits_are_accepted() {
    let simple = "z".repeat(256);
    let tenant = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    for key in [simple.as_str(), tenant.as_str(), "1tenant@system"] {
        let state = state_of(&["foo=1", &format!("{key}=1")]).unwrap();
        assert_eq!(state.get("foo"), Some("1"));
        assert_eq!(state.get(key), Some("1"));
    }
}

#[test]
fn tracestate_value_of_256_characters_is_accepted() {
    let value = "v".repeat(256);
    assert_eq!(
        state_of(&[&format!("foo={value}")]).unwrap().get("foo"),
        Some(value.as_str())
    );
}

// === tracestate: discarded ===

#[test]
fn tracestate_33_members_are_discarded() {
    let discarded = state_of(&[
        "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10",
        "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20",
        "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30",
        "bar31=31,bar32=32,bar33=33",
    ]);
    assert_eq!(discarded, Err(InvalidTraceState::TooManyMembers));
}

#[test]
fn tracestate_duplicated_keys_are_discarded() {
    for headers in [
        &["foo=1,foo=1"][..],
        &["foo=1,foo=2"],
        &["foo=1", "foo=1"],
        &["foo=1", "foo=2"],
    ] {
        assert_eq!(
            state_of(headers),
            Err(InvalidTraceState::DuplicateKey),
            "{headers:?}"
        );
    }
}

#[test]
fn tracestate_key_illegal_characters_are_discarded() {
    for header in [
        "foo =1",
        "FOO=1",
        "foo.bar=1",
        "bar=2,1foo=1",
        "=1",
        "fo\u{e9}=1",
    ] {
        assert_eq!(
            state_of(&[header]),
            Err(InvalidTraceState::Key),
            "{header:?}"
        );
    }
}

#[test]
fn tracestate_key_illegal_vendor_format_is_discarded() {
    for header in [
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
        "foo@1bar=1",
    ] {
        assert_eq!(
            state_of(&[header]),
            Err(InvalidTraceState::Key),
            "{header:?}"
        );
    }
}

#[test]
fn tracestate_key_over_length_limits_is_discarded() {
    let simple = "z".repeat(257);
    let tenant = format!("{}@v", "t".repeat(242));
    let system = format!("t@{}", "v".repeat(15));
    for key in [simple, tenant, system] {
        let discarded = state_of(&["foo=1", &format!("{key}=1")]);
        assert_eq!(discarded, Err(InvalidTraceState::Key), "{key}");
    }
}

#[test]
fn tracestate_value_illegal_characters_are_discarded() {
    let too_long = format!("foo={}", "v".repeat(257));
    for header in [
        "foo=bar=baz",
        "foo=,bar=3",
        "foo=a\tb",
        "foo=caf\u{e9}",
        &too_long,
    ] {
        assert_eq!(
            state_of(&[header]),
            Err(InvalidTraceState::Value),
            "{header:?}"
        );
    }
    // DEL cannot be in a `HeaderValue`; the parser rejects it on its own.
    assert_eq!(
        TraceState::parse("foo=\u{7f}"),
        Err(InvalidTraceState::Value)
    );
}

#[test]
fn tracestate_member_without_equals_is_discarded() {
    for header in ["foo", "foo=1,bar", "foo=1, bar ,baz=2"] {
        assert_eq!(
            state_of(&[header]),
            Err(InvalidTraceState::Member),
            "{header:?}"
        );
    }
}

#[test]
fn tracestate_invalid_member_discards_the_whole_list() {
    let discarded = state_of(&["foo=1,bar=2", "rojo=1,BAD=2,congo=3"]);
    assert_eq!(discarded, Err(InvalidTraceState::Key));
    assert_eq!(
        TraceState::parse("foo=1,bar=2,BAD=3"),
        Err(InvalidTraceState::Key)
    );
}

// === tracestate: mutation and output ===

#[test]
fn tracestate_with_entry_adds_new_key_at_front() {
    let state = TraceState::parse("congo=t61rcWkgMzE").unwrap();
    let ours = state.with_entry("rojo", "00f067aa0ba902b7").unwrap();
    assert_eq!(ours.to_string(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_eq!(state.to_string(), "congo=t61rcWkgMzE");
}

#[test]
fn tracestate_with_entry_moves_existing_key_to_front() {
    let state = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tango=1").unwrap();
    let ours = state.with_entry("congo", "ucfJifl5GOE").unwrap();
    assert_eq!(
        ours.to_string(),
        "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7,tango=1"
    );
    assert_eq!(ours.len(), 3);
}

#[test]
fn tracestate_with_invalid_entry_is_rejected_and_state_kept() {
    let state = TraceState::parse("foo=1").unwrap();
    assert_eq!(state.with_entry("Bad", "1"), Err(InvalidTraceState::Key));
    assert_eq!(state.with_entry("ok", "a,b"), Err(InvalidTraceState::Value));
    assert_eq!(
        state.with_entry("ok", "trailing "),
        Err(InvalidTraceState::Value)
    );
    assert_eq!(state.with_entry("ok", ""), Err(InvalidTraceState::Value));
    assert_eq!(state.to_string(), "foo=1");
}

#[test]
fn tracestate_with_entry_on_full_list_drops_right_most() {
    let full: Vec<String> = (1..=32).map(|i| format!("k{i}={i}")).collect();
    let state = TraceState::parse(&full.join(",")).unwrap();
    let ours = state.with_entry("gw", "1").unwrap();
    assert_eq!(ours.len(), 32);
    assert_eq!(ours.iter().next(), Some(("gw", "1")));
    assert_eq!(ours.get("k31"), Some("31"));
    assert_eq!(ours.get("k32"), None);
    // Updating a key already present frees its slot: nothing is dropped.
    let updated = state.with_entry("k32", "new").unwrap();
    assert_eq!(updated.len(), 32);
    assert_eq!(updated.iter().next(), Some(("k32", "new")));
    assert_eq!(updated.get("k31"), Some("31"));
}

#[test]
fn tracestate_without_entry_removes_only_that_key() {
    let state = TraceState::parse("a=1,b=2,c=3").unwrap();
    assert_eq!(state.without_entry("b").to_string(), "a=1,c=3");
    assert_eq!(state.without_entry("zz"), state);
}

#[test]
fn tracestate_truncation_removes_long_entries_first() {
    // 4 short entries of 102 characters, one of 131 in the middle: 4*102 + 131 + 4 = 543.
    let short = |k: &str| format!("{k}={}", "s".repeat(100));
    let long = format!("long={}", "l".repeat(126));
    let header = [short("a"), short("b"), long, short("c"), short("d")].join(",");
    assert_eq!(header.len(), 543);
    let state = TraceState::parse(&header).unwrap();
    let cut = state.truncated(TraceState::MAX_PROPAGATED_LEN);
    assert_eq!(
        cut.to_string(),
        [short("a"), short("b"), short("c"), short("d")].join(",")
    );
    assert_eq!(state.header_value(), Some(cut.to_string()));
}

#[test]
fn tracestate_truncation_removes_from_the_end_when_no_entry_is_long() {
    // 32 entries of 20 characters: 32*20 + 31 = 671; 24 entries make 503, 25 make 524.
    let entries: Vec<String> = (10..42)
        .map(|i| format!("key{i}={}", "v".repeat(14)))
        .collect();
    let state = TraceState::parse(&entries.join(",")).unwrap();
    let value = state.header_value().unwrap();
    assert_eq!(value, entries[..24].join(","));
    assert_eq!(value.len(), 503);
}

#[test]
fn tracestate_within_limit_is_sent_unchanged() {
    // 16 entries of 31 characters and one extra character in the first: 16*31 + 15 + 1 = 512.
    let entry = |i: usize| format!("k{i:02}={}", "x".repeat(if i == 0 { 28 } else { 27 }));
    let header = (0..16).map(entry).collect::<Vec<_>>().join(",");
    assert_eq!(header.len(), 512);
    let state = TraceState::parse(&header).unwrap();
    assert_eq!(state.header_value(), Some(header));
    assert_eq!(TraceState::new().header_value(), None);
}

#[test]
fn tracestate_single_entry_over_512_is_not_sent() {
    let state = TraceState::parse(&format!("{}={}", "k".repeat(256), "v".repeat(256))).unwrap();
    assert_eq!(state.len(), 1);
    assert_eq!(state.header_value(), None);
    let mut out = HeaderMap::new();
    inject(&TraceContext::new(parse(VALID).unwrap(), state), &mut out);
    assert!(out.get(TRACESTATE).is_none());
    assert_eq!(out[TRACEPARENT], VALID);
}

// === sampler ===

#[test]
fn sampler_ratio_outside_unit_interval_is_rejected() {
    for ratio in [-0.1, 1.000_001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Sampler::parent_based(ratio).unwrap_err();
        assert_eq!(err.0.to_bits(), ratio.to_bits(), "{ratio}");
    }
    assert_eq!(sampler(0.25).ratio(), 0.25);
}

#[test]
fn sampler_ratio_zero_samples_none_and_one_samples_all() {
    for id in [trace_id(0, 1), trace_id(1, 0), trace_id(u64::MAX, u64::MAX)] {
        assert!(!sampler(0.0).should_sample(None, id), "{id}");
        assert!(sampler(1.0).should_sample(None, id), "{id}");
    }
}

#[test]
fn sampler_compares_lower_8_bytes_with_ratio_times_2_pow_64() {
    let half = sampler(0.5);
    assert!(half.samples_new_trace(trace_id(u64::MAX, (1 << 63) - 1)));
    assert!(!half.samples_new_trace(trace_id(0, 1 << 63)));
    let quarter = sampler(0.25);
    assert!(quarter.samples_new_trace(trace_id(7, (1 << 62) - 1)));
    assert!(!quarter.samples_new_trace(trace_id(7, 1 << 62)));
}

#[test]
fn sampler_follows_parent_flag_over_ratio() {
    let sampled = parse(VALID).unwrap();
    let unsampled = parse(&format!("00-{TRACE_ID}-{PARENT_ID}-00")).unwrap();
    let id = sampled.trace_id();
    assert!(sampler(0.0).should_sample(Some(&sampled), id));
    assert!(!sampler(1.0).should_sample(Some(&unsampled), id));
}

#[test]
fn sampler_samples_about_the_ratio_of_random_traces() {
    let mut rng = StdRng::seed_from_u64(2024);
    let quarter = sampler(0.25);
    let sampled = (0..10_000)
        .filter(|_| quarter.samples_new_trace(TraceId::random_from(&mut rng)))
        .count();
    assert!((2_200..=2_800).contains(&sampled), "{sampled}");
}

// === properties ===

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_*/-]{0,255}",
        "[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13}",
        "[a-z][a-z0-9]{0,6}",
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]",
        "[a-zA-Z0-9]{1,12}",
    ]
}

fn state_strategy() -> impl Strategy<Value = TraceState> {
    prop::collection::vec((key_strategy(), value_strategy()), 0..=32).prop_map(|entries| {
        // with_entry puts each entry first: insert right to left to keep the generated order.
        entries
            .iter()
            .rev()
            .fold(TraceState::new(), |state, (k, v)| {
                state.with_entry(k, v).expect("generated entries are valid")
            })
    })
}

/// Lowercase hex written independently of the code under test.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The reference rule for a 55-character header: `-` at 2, 35 and 52, lowercase hex elsewhere,
/// version not `ff`, ids not all zero.
fn reference_valid(s: &[u8]) -> bool {
    let hexdig = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    s.len() == 55
        && s.iter().enumerate().all(|(i, b)| {
            if [2, 35, 52].contains(&i) {
                *b == b'-'
            } else {
                hexdig(b)
            }
        })
        && &s[..2] != b"ff"
        && s[3..35].iter().any(|b| *b != b'0')
        && s[36..52].iter().any(|b| *b != b'0')
}

proptest! {
    #[test]
    fn context_format_then_parse_round_trips(
        tid in any::<[u8; 16]>().prop_filter("valid", |b| *b != [0; 16]),
        sid in any::<[u8; 8]>().prop_filter("valid", |b| *b != [0; 8]),
        flags in any::<u8>(),
        state in state_strategy(),
    ) {
        let (tid, sid) = (TraceId::from_bytes(tid), SpanId::from_bytes(sid));
        let parent = TraceParent::new(tid, sid, TraceFlags::from_bits(flags)).unwrap();
        let mut headers = HeaderMap::new();
        inject(&TraceContext::new(parent, state.clone()), &mut headers);

        let expected_header = format!("00-{}-{}-{:02x}", hex(&tid.to_bytes()), hex(&sid.to_bytes()), flags & 0x03);
        prop_assert_eq!(headers[TRACEPARENT].to_str().unwrap(), expected_header.as_str());
        let expected = TraceContext::new(
            TraceParent::new(tid, sid, TraceFlags::from_bits(flags & 0x03)).unwrap(),
            state.truncated(TraceState::MAX_PROPAGATED_LEN),
        );
        prop_assert!(expected.state.to_string().len() <= TraceState::MAX_PROPAGATED_LEN);
        prop_assert_eq!(
            extract(&headers),
            Extracted::Valid { context: expected, discarded_state: None }
        );
    }

    #[test]
    fn traceparent_parse_matches_reference_on_mutated_headers(
        tid in any::<[u8; 16]>(),
        sid in any::<[u8; 8]>(),
        flags in any::<u8>(),
        at in 0usize..55,
        byte in prop_oneof![any::<u8>(), Just(b'0'), Just(b'-'), Just(b'f'), Just(b'F')],
        kind in 0u8..3,
    ) {
        let mut value = format!("00-{}-{}-{:02x}", hex(&tid), hex(&sid), flags).into_bytes();
        match kind {
            0 => value[at] = byte,
            1 => { value.remove(at); }
            _ => value.insert(at, byte),
        }
        let parsed = TraceParent::parse(&value);
        prop_assert_eq!(parsed.is_ok(), reference_valid(&value), "{:?} -> {:?}", String::from_utf8_lossy(&value), parsed);
        if let Ok(tp) = parsed {
            let text = String::from_utf8_lossy(&value).into_owned();
            prop_assert_eq!(tp.trace_id().to_string(), &text[3..35]);
            prop_assert_eq!(tp.parent_id().to_string(), &text[36..52]);
            prop_assert_eq!(format!("{:02x}", tp.flags().bits()), &text[53..55]);
        }
    }

    #[test]
    fn extract_on_arbitrary_header_bytes_returns_consistent_result(
        traceparents in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..70), 0..3),
        tracestates in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..60), 0..4),
    ) {
        let mut headers = HeaderMap::new();
        let mut accepted_parents = 0;
        for value in &traceparents {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                headers.append(TRACEPARENT, v);
                accepted_parents += 1;
            }
        }
        for value in &tracestates {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                headers.append(TRACESTATE, v);
            }
        }
        match extract(&headers) {
            Extracted::Missing => prop_assert_eq!(accepted_parents, 0),
            Extracted::Invalid(InvalidTraceParent::Duplicate) => prop_assert!(accepted_parents > 1),
            Extracted::Invalid(_) => prop_assert_eq!(accepted_parents, 1),
            Extracted::Valid { context, discarded_state } => {
                prop_assert_eq!(accepted_parents, 1);
                prop_assert!(context.trace_id().is_valid() && context.parent.parent_id().is_valid());
                prop_assert!(context.state.len() <= TraceState::MAX_MEMBERS);
                if discarded_state.is_some() {
                    prop_assert!(context.state.is_empty());
                }
                // What we would send parses back to the same context.
                let mut out = HeaderMap::new();
                inject(&context, &mut out);
                let again = extract(&out);
                prop_assert_eq!(again.context().map(|c| c.trace_id()), Some(context.trace_id()));
            }
        }
        // The raw parsers, without HeaderValue's filtering, agree on what they accept.
        for value in &traceparents {
            if let Ok(tp) = TraceParent::parse(value) {
                let reparsed = TraceParent::parse(tp.to_string().as_bytes()).unwrap();
                prop_assert_eq!(reparsed.trace_id(), tp.trace_id());
                prop_assert_eq!(reparsed.flags(), tp.flags().propagated());
            }
        }
        if let Ok(state) = TraceState::parse_header_values(tracestates.iter().map(Vec::as_slice)) {
            prop_assert_eq!(TraceState::parse(&state.to_string()), Ok(state));
        }
    }

    #[test]
    fn sampler_decision_is_monotone_in_ratio(
        id in any::<[u8; 16]>(),
        a in 0.0f64..=1.0,
        b in 0.0f64..=1.0,
    ) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let id = TraceId::from_bytes(id);
        if sampler(low).samples_new_trace(id) {
            prop_assert!(sampler(high).samples_new_trace(id), "sampled at {} but not at {}", low, high);
        }
        if !sampler(high).samples_new_trace(id) {
            prop_assert!(!sampler(low).samples_new_trace(id));
        }
    }
}
