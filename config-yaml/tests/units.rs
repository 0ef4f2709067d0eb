//! Unit-bearing values: accepted forms, rejected forms with their messages, and round trips.

use std::time::Duration as StdDuration;

use config_yaml::units::{ByteSize, Duration, Percent, Rate, UnitError};
use config_yaml::{Document, from_str};
use proptest::prelude::*;
use serde::Deserialize;

const DURATION_EXPECTED: &str = "a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`";

fn duration(text: &str) -> StdDuration {
    text.parse::<Duration>().map(Duration::get).expect(text)
}

fn error<T: std::str::FromStr<Err = UnitError> + std::fmt::Debug>(
    text: &str,
) -> (String, Option<String>) {
    let error = text.parse::<T>().expect_err(text);
    (error.problem().to_owned(), error.hint().map(str::to_owned))
}

fn problem(text: &str, hint: Option<&str>) -> (String, Option<String>) {
    (text.to_owned(), hint.map(str::to_owned))
}

// === Duration ===

#[test]
fn duration_with_each_unit_is_accepted() {
    assert_eq!(duration("500us"), StdDuration::from_micros(500));
    assert_eq!(duration("250ms"), StdDuration::from_millis(250));
    assert_eq!(duration("2s"), StdDuration::from_secs(2));
    assert_eq!(duration("1m"), StdDuration::from_secs(60));
    assert_eq!(duration("1h"), StdDuration::from_secs(3600));
    assert_eq!(duration("0s"), StdDuration::ZERO);
}

#[test]
fn duration_with_decimal_number_is_exact() {
    assert_eq!(duration("1.5s"), StdDuration::from_millis(1500));
    assert_eq!(duration("0.25m"), StdDuration::from_secs(15));
    assert_eq!(duration("1.001us"), StdDuration::from_nanos(1001));
}

#[test]
fn duration_without_unit_is_rejected() {
    assert_eq!(
        error::<Duration>("5"),
        problem("missing unit", Some("add a unit, e.g. `5s`"))
    );
    assert_eq!(
        error::<Duration>("0"),
        problem("missing unit", Some("add a unit, e.g. `0s`"))
    );
}

#[test]
fn duration_negative_is_rejected() {
    assert_eq!(
        error::<Duration>("-5s"),
        problem("must not be negative", None)
    );
}

#[test]
fn duration_with_unknown_unit_is_rejected_with_the_meant_unit() {
    assert_eq!(
        error::<Duration>("5sec"),
        problem("unknown unit `sec`", Some("write `5s`"))
    );
    assert_eq!(
        error::<Duration>("2min"),
        problem("unknown unit `min`", Some("write `2m`"))
    );
    assert_eq!(
        error::<Duration>("10MS"),
        problem("unknown unit `MS`", Some("write `10ms`"))
    );
    assert_eq!(
        error::<Duration>("10ns"),
        problem(
            "unknown unit `ns`",
            Some("nanoseconds are not supported: use `us`")
        )
    );
    assert_eq!(
        error::<Duration>("1d"),
        problem(
            "unknown unit `d`",
            Some("days are not supported: use hours, e.g. `24h`")
        )
    );
    assert_eq!(
        error::<Duration>("5x"),
        problem("unknown unit `x`", Some("use one of: us, ms, s, m, h"))
    );
}

#[test]
fn duration_malformed_text_is_rejected() {
    assert_eq!(
        error::<Duration>(""),
        problem("empty value", Some("write a value such as `250ms`"))
    );
    assert_eq!(
        error::<Duration>("5 s"),
        problem(
            "unexpected whitespace",
            Some("write it without spaces: `5s`")
        )
    );
    assert_eq!(
        error::<Duration>("s"),
        problem("missing number", Some("start with a number, e.g. `250ms`"))
    );
    assert_eq!(
        error::<Duration>("1.2.3s"),
        problem("invalid number `1.2.3`", None)
    );
    assert_eq!(
        error::<Duration>(".5s"),
        problem("invalid number `.5`", Some("write a leading zero: `0.5s`"))
    );
}

#[test]
fn duration_beyond_range_or_precision_is_rejected() {
    assert_eq!(
        error::<Duration>("0.0001us"),
        problem("more precise than a nanosecond", None)
    );
    assert_eq!(
        error::<Duration>("99999999999999999999h"),
        problem("too large", None)
    );
}

#[test]
fn duration_error_displays_input_problem_expected_and_hint() {
    let error = "5".parse::<Duration>().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "invalid duration \"5\": missing unit (expected {DURATION_EXPECTED}; hint: add a unit, e.g. `5s`)"
        )
    );
    assert_eq!(
        (error.kind(), error.input(), error.expected()),
        ("duration", "5", DURATION_EXPECTED)
    );
}

#[test]
fn duration_displays_in_largest_whole_unit() {
    let cases = [
        ("0s", "0s"),
        ("1.5s", "1500ms"),
        ("60s", "1m"),
        ("90s", "90s"),
        ("7200s", "2h"),
        ("1000us", "1ms"),
        ("1.5us", "1.5us"),
        ("0.001us", "0.001us"),
    ];
    for (input, shown) in cases {
        assert_eq!(
            input.parse::<Duration>().unwrap().to_string(),
            shown,
            "{input}"
        );
    }
}

proptest! {
    #[test]
    fn duration_display_then_parse_round_trips(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
        let original = Duration::new(StdDuration::new(secs, nanos));
        let text = original.to_string();
        prop_assert_eq!(text.parse::<Duration>(), Ok(original), "{}", text);
    }
}

// === Percent ===

#[test]
fn percent_with_sign_is_accepted() {
    let p: Percent = "50%".parse().unwrap();
    assert_eq!((p.value(), p.ratio()), (50.0, 0.5));
    assert_eq!("0.5%".parse::<Percent>().map(Percent::ratio), Ok(0.005));
    assert_eq!("0%".parse::<Percent>().map(Percent::value), Ok(0.0));
    assert_eq!("100%".parse::<Percent>().map(Percent::value), Ok(100.0));
    assert_eq!("0.5%".parse::<Percent>().unwrap().to_string(), "0.5%");
}

#[test]
fn percent_without_sign_is_rejected() {
    assert_eq!(
        error::<Percent>("50"),
        problem("missing `%`", Some("add `%`: `50%`"))
    );
    assert_eq!(
        error::<Percent>("0.5"),
        problem(
            "missing `%`",
            Some("add `%`: `0.5%`, or `50%` for a ratio of 0.5")
        )
    );
}

#[test]
fn percent_out_of_range_or_other_unit_is_rejected() {
    assert_eq!(error::<Percent>("101%"), problem("more than 100%", None));
    assert_eq!(
        error::<Percent>("-1%"),
        problem("must not be negative", None)
    );
    assert_eq!(
        error::<Percent>("5pc"),
        problem("unknown unit `pc`", Some("write `5%`"))
    );
}

// === Rate ===

#[test]
fn rate_per_each_unit_is_accepted() {
    assert_eq!("200/s".parse::<Rate>().map(Rate::per_second), Ok(200.0));
    assert_eq!("30/m".parse::<Rate>().map(Rate::per_second), Ok(0.5));
    assert_eq!("7200/h".parse::<Rate>().map(Rate::per_second), Ok(2.0));
    assert_eq!("2.5/s".parse::<Rate>().unwrap().to_string(), "2.5/s");
    assert_eq!("30/m".parse::<Rate>().unwrap().to_string(), "30/m");
}

#[test]
fn rate_without_unit_or_zero_is_rejected() {
    assert_eq!(
        error::<Rate>("200"),
        problem("missing unit", Some("add a unit, e.g. `200/s`"))
    );
    assert_eq!(error::<Rate>("0/s"), problem("must be above zero", None));
    assert_eq!(error::<Rate>("0.0/m"), problem("must be above zero", None));
    assert_eq!(
        error::<Rate>("10rps"),
        problem("unknown unit `rps`", Some("write `10/s`"))
    );
    assert_eq!(
        error::<Rate>("10/min"),
        problem("unknown unit `/min`", Some("write `10/m`"))
    );
    assert_eq!(
        error::<Rate>("10/d"),
        problem("unknown unit `/d`", Some("use one of: /s, /m, /h"))
    );
}

// === ByteSize ===

#[test]
fn byte_size_binary_and_decimal_units_are_accepted() {
    let bytes = |text: &str| text.parse::<ByteSize>().map(ByteSize::bytes);
    assert_eq!(bytes("512B"), Ok(512));
    assert_eq!(bytes("64KiB"), Ok(64 * 1024));
    assert_eq!(bytes("1MiB"), Ok(1 << 20));
    assert_eq!(bytes("2GiB"), Ok(2 << 30));
    assert_eq!(bytes("1TiB"), Ok(1 << 40));
    assert_eq!(bytes("3kB"), Ok(3_000));
    assert_eq!(bytes("1MB"), Ok(1_000_000));
    assert_eq!(bytes("1GB"), Ok(1_000_000_000));
    assert_eq!(bytes("1.5KiB"), Ok(1536));
}

#[test]
fn byte_size_without_or_with_ambiguous_unit_is_rejected() {
    assert_eq!(
        error::<ByteSize>("1024"),
        problem(
            "missing unit",
            Some("add a unit, e.g. `1024B` or `1024KiB`")
        )
    );
    assert_eq!(
        error::<ByteSize>("64KB"),
        problem(
            "unknown unit `KB`",
            Some("write `64KiB` (powers of 1024) or `64kB` (powers of 1000)")
        )
    );
    assert_eq!(
        error::<ByteSize>("10bytes"),
        problem("unknown unit `bytes`", Some("write `10B`"))
    );
    assert_eq!(
        error::<ByteSize>("0.5B"),
        problem("not a whole number of bytes", None)
    );
    assert_eq!(
        error::<ByteSize>("16EiB"),
        problem(
            "unknown unit `EiB`",
            Some("use one of: B, KiB, MiB, GiB, TiB, kB, MB, GB, TB")
        )
    );
    assert_eq!(error::<ByteSize>("20000000TiB"), problem("too large", None));
}

#[test]
fn byte_size_displays_in_largest_whole_unit() {
    let shown = |bytes| ByteSize::new(bytes).to_string();
    assert_eq!(shown(0), "0B");
    assert_eq!(shown(65_536), "64KiB");
    assert_eq!(shown(2_000_000), "2MB");
    assert_eq!(shown(1_000), "1kB");
    assert_eq!(shown(1_001), "1001B");
}

// === serde ===

#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct Limits {
    timeout: Duration,
    share: Percent,
    rate: Rate,
    body: ByteSize,
}

#[test]
fn units_deserialize_from_yaml_strings() {
    let limits: Limits =
        from_str("t.yaml", "timeout: 2s\nshare: 5%\nrate: 10/s\nbody: 1MiB\n").unwrap();
    assert_eq!(limits.timeout.get(), StdDuration::from_secs(2));
    assert_eq!(limits.share.ratio(), 0.05);
    assert_eq!(limits.rate.per_second(), 10.0);
    assert_eq!(limits.body.bytes(), 1 << 20);
}

#[test]
fn units_invalid_in_yaml_are_each_located_with_expected_and_hint() {
    let text = "timeout: 5\nshare: \"50\"\nrate: 0/s\nbody: [1]\n";
    let document = Document::parse("t.yaml", text).unwrap();
    let lines: Vec<String> = document
        .deserialize::<Limits>()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            format!("t.yaml:1:10: timeout: invalid duration: missing unit (got 5; expected {DURATION_EXPECTED}; hint: add a unit, e.g. `5s`)"),
            "t.yaml:2:8: share: invalid percentage: missing `%` (got \"50\"; expected a number from 0 to 100 followed by `%`, e.g. `50%` or `0.5%`; hint: add `%`: `50%`)".to_owned(),
            "t.yaml:3:7: rate: invalid rate: must be above zero (got \"0/s\"; expected a number above zero per `/s`, `/m` or `/h`, e.g. `200/s`)".to_owned(),
            "t.yaml:4:7: body: invalid type (got a sequence; expected a number with a unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000), e.g. `64KiB`)".to_owned(),
        ]
    );
}

#[test]
fn units_serialize_as_their_text() {
    let limits = Limits {
        timeout: Duration::new(StdDuration::from_millis(250)),
        share: "12.5%".parse().unwrap(),
        rate: "30/m".parse().unwrap(),
        body: ByteSize::new(4096),
    };
    let json = serde_json::to_string(&limits).unwrap();
    assert_eq!(
        json,
        r#"{"timeout":"250ms","share":"12.5%","rate":"30/m","body":"4KiB"}"#
    );
    assert_eq!(serde_json::from_str::<Limits>(&json).unwrap(), limits);
}

#[test]
fn units_from_other_formats_keep_the_message() {
    let error = serde_json::from_str::<Limits>(r#"{"timeout":5}"#).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid duration \"5\": missing unit (expected "),
        "{error}"
    );
}
