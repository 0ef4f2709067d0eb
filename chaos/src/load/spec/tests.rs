//! Validation of [`LoadInput`]: defaults, and every problem reported with its path.

use super::*;

fn valid() -> LoadInput {
    let mut input = LoadInput::new(
        "http://127.0.0.1:8080",
        Rate::Constant { per_second: 50.0 },
        Duration::from_secs(2),
    );
    input.mix.push(RequestInput::new("GET", "/items?page=1"));
    input
}

fn problems(input: LoadInput) -> Vec<(String, SpecProblem)> {
    match LoadSpec::validate(input) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.path, e.problem)).collect(),
    }
}

fn paths(input: LoadInput) -> Vec<String> {
    problems(input).into_iter().map(|(path, _)| path).collect()
}

#[test]
fn valid_input_gets_the_documented_defaults() {
    let spec = LoadSpec::validate(valid()).unwrap();
    assert_eq!(spec.target().as_str(), "127.0.0.1:8080");
    assert_eq!(spec.planned(), 100);
    assert_eq!(spec.duration(), Duration::from_secs(2));
    assert_eq!(spec.timeout(), DEFAULT_TIMEOUT);
    assert_eq!(spec.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    assert_eq!(spec.max_in_flight(), DEFAULT_MAX_IN_FLIGHT);
    assert_eq!(spec.max_idle_per_host, DEFAULT_MAX_IN_FLIGHT);
    assert_eq!(spec.cancel_drain, DEFAULT_CANCEL_DRAIN);
    assert_eq!(spec.sampler.ratio(), 1.0);
    let template = spec.mix.get(0).unwrap();
    assert_eq!(template.uri, "http://127.0.0.1:8080/items?page=1");
}

#[test]
fn cancel_drain_is_capped_by_the_timeout() {
    let mut input = valid();
    input.timeout = Some(Duration::from_millis(200));
    let spec = LoadSpec::validate(input).unwrap();
    assert_eq!(spec.cancel_drain, Duration::from_millis(200));
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let mut input = valid();
    input.target = "https://127.0.0.1:8080".into();
    input.rate = Rate::Constant { per_second: 0.0 };
    input.mix = vec![
        RequestInput::new("G E T", "items"),
        RequestInput::new("GET", "/"),
    ];
    input.mix[1].weight = 0;
    input.mix[1].headers = vec![
        ("traceparent".into(), "00-…".into()),
        ("bad name".into(), "x".into()),
        ("x-ok".into(), "line\nbreak".into()),
    ];
    input.max_in_flight = Some(0);
    input.timeout = Some(Duration::ZERO);
    input.sample_traces = Some(1.5);
    assert_eq!(
        paths(input),
        [
            "target",
            "rate.per_second",
            "mix[0].method",
            "mix[0].path",
            "mix[1].weight",
            "mix[1].headers[0]",
            "mix[1].headers[1]",
            "mix[1].headers[2]",
            "max_in_flight",
            "timeout",
            "sample_traces",
        ]
    );
}

#[test]
fn target_must_be_http_with_host_and_port_only() {
    for (target, expected) in [
        ("127.0.0.1:8080", "scheme http"),
        ("http://127.0.0.1", "an explicit port"),
        ("http://user@127.0.0.1:80", "no user info"),
        (
            "http://127.0.0.1:80/api",
            "no path or query; put them in the mix",
        ),
        (
            "http://127.0.0.1:80/?q=1",
            "no path or query; put them in the mix",
        ),
        ("not a url", "a valid URL"),
    ] {
        let mut input = valid();
        input.target = target.into();
        let value = target.to_owned();
        assert_eq!(
            problems(input),
            [("target".to_owned(), SpecProblem::Target { expected, value })],
            "{target}"
        );
    }
    let mut input = valid();
    input.target = "http://localhost:9/".into();
    assert!(problems(input).is_empty());
}

#[test]
fn ramp_stages_are_checked_one_by_one() {
    let mut input = valid();
    input.rate = Rate::Ramp(vec![
        Stage {
            rate_from: -1.0,
            rate_to: f64::NAN,
            duration: Duration::from_secs(1),
        },
        Stage {
            rate_from: 10.0,
            rate_to: 10.0,
            duration: Duration::ZERO,
        },
    ]);
    assert_eq!(
        paths(input),
        [
            "rate.stages[0].rate_from",
            "rate.stages[0].rate_to",
            "rate.stages[1].duration"
        ]
    );
    let mut empty = valid();
    empty.rate = Rate::Ramp(Vec::new());
    assert_eq!(
        problems(empty),
        [("rate.stages".to_owned(), SpecProblem::NoStages)]
    );
}

#[test]
fn request_count_must_be_between_one_and_the_maximum() {
    let mut input = valid();
    input.rate = Rate::Constant {
        per_second: MAX_RATE,
    };
    input.duration = Duration::from_secs(11);
    let planned = 1_100_000;
    let max = MAX_REQUESTS;
    assert_eq!(
        problems(input),
        [(
            "rate".to_owned(),
            SpecProblem::RequestCount { planned, max }
        )]
    );
    let mut none = valid();
    none.rate = Rate::Constant { per_second: 0.5 };
    none.duration = Duration::from_secs(1);
    let planned = 0;
    assert_eq!(
        problems(none),
        [(
            "rate".to_owned(),
            SpecProblem::RequestCount { planned, max }
        )]
    );
}

#[test]
fn spec_error_names_path_expectation_and_value() {
    let mut input = valid();
    input.sample_traces = Some(2.0);
    let errors = LoadSpec::validate(input).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "sample_traces: expected a share between 0 and 1, got 2"
    );
}
