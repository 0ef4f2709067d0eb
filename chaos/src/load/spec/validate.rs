//! [`LoadSpec::validate`]: raw [`LoadInput`] to a [`LoadSpec`], reporting every problem.

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use observability::tracecontext::{Sampler, TRACEPARENT, TRACESTATE};

use super::{
    DEFAULT_CANCEL_DRAIN, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT,
    LoadInput, LoadSpec, MAX_RATE, MAX_REQUESTS, Rate, RequestInput, SpecError, SpecProblem,
};
use crate::load::mix::{Mix, RequestTemplate};
use crate::load::schedule::Schedule;

// === impl LoadSpec ===

impl LoadSpec {
    /// Checks every field and returns the spec, or every problem found (not only the first).
    pub fn validate(input: LoadInput) -> Result<LoadSpec, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut problem = |path: String, problem: SpecProblem| {
            errors.push(SpecError { path, problem });
        };

        let authority = match parse_target(&input.target) {
            Ok(authority) => Some(authority),
            Err(expected) => {
                let value = input.target.clone();
                problem("target".into(), SpecProblem::Target { expected, value });
                None
            }
        };

        let mut rate_ok = check_rate(&input.rate, &mut problem);
        if input.duration.is_zero() {
            rate_ok = false;
            problem("duration".into(), SpecProblem::ZeroDuration);
        }
        let schedule = rate_ok.then(|| Schedule::new(&input.rate, input.duration));
        if let Some(schedule) = &schedule {
            let planned = schedule.len();
            if planned == 0 || planned > MAX_REQUESTS {
                let max = MAX_REQUESTS;
                problem("rate".into(), SpecProblem::RequestCount { planned, max });
            }
        }

        if input.mix.is_empty() {
            problem("mix".into(), SpecProblem::EmptyMix);
        }
        let mut templates = Vec::with_capacity(input.mix.len());
        for (i, entry) in input.mix.iter().enumerate() {
            match parse_request(entry, authority.as_ref()) {
                Ok(template) => templates.push(template),
                Err(found) => {
                    for (field, found) in found {
                        problem(format!("mix[{i}].{field}"), found);
                    }
                }
            }
        }

        let max_in_flight = input.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT);
        if max_in_flight == 0 {
            problem("max_in_flight".into(), SpecProblem::ZeroInFlight);
        }
        let timeout = input.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let connect_timeout = input.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        for (field, value) in [("timeout", timeout), ("connect_timeout", connect_timeout)] {
            if value.is_zero() {
                problem(field.into(), SpecProblem::ZeroDuration);
            }
        }
        let share = input.sample_traces.unwrap_or(1.0);
        let sampler = match Sampler::parent_based(share) {
            Ok(sampler) => Some(sampler),
            Err(_) => {
                problem(
                    "sample_traces".into(),
                    SpecProblem::SampleShare { value: share },
                );
                None
            }
        };

        match (authority, schedule, Mix::new(templates), sampler) {
            (Some(authority), Some(schedule), Some(mix), Some(sampler)) if errors.is_empty() => {
                Ok(LoadSpec {
                    authority,
                    schedule,
                    mix,
                    max_in_flight,
                    timeout,
                    connect_timeout,
                    max_idle_per_host: input.max_idle_per_host.unwrap_or(max_in_flight),
                    seed: input.seed,
                    sampler,
                    cancel_drain: input
                        .cancel_drain
                        .unwrap_or(DEFAULT_CANCEL_DRAIN)
                        .min(timeout),
                })
            }
            _ => Err(errors),
        }
    }
}

/// Reports every out-of-range rate and empty stage of `rate`; whether it is usable.
fn check_rate(rate: &Rate, problem: &mut impl FnMut(String, SpecProblem)) -> bool {
    let mut ok = true;
    match rate {
        Rate::Constant { per_second } => {
            if !(*per_second > 0.0 && *per_second <= MAX_RATE) {
                ok = false;
                let (range, value) = ("above 0 and at most 100000", *per_second);
                problem("rate.per_second".into(), SpecProblem::Rate { range, value });
            }
        }
        Rate::Ramp(stages) => {
            if stages.is_empty() {
                ok = false;
                problem("rate.stages".into(), SpecProblem::NoStages);
            }
            for (i, stage) in stages.iter().enumerate() {
                for (field, value) in [("rate_from", stage.rate_from), ("rate_to", stage.rate_to)] {
                    if !(0.0..=MAX_RATE).contains(&value) {
                        ok = false;
                        let range = "from 0 to 100000";
                        let path = format!("rate.stages[{i}].{field}");
                        problem(path, SpecProblem::Rate { range, value });
                    }
                }
                if stage.duration.is_zero() {
                    ok = false;
                    let path = format!("rate.stages[{i}].duration");
                    problem(path, SpecProblem::ZeroDuration);
                }
            }
        }
    }
    ok
}

/// The authority of `http://host:port[/]`, or what the URL is missing.
fn parse_target(target: &str) -> Result<Authority, &'static str> {
    let uri: Uri = target.parse().map_err(|_| "a valid URL")?;
    if uri.scheme() != Some(&Scheme::HTTP) {
        return Err("scheme http");
    }
    let authority = uri.authority().ok_or("a host")?;
    if authority.port_u16().is_none() {
        return Err("an explicit port");
    }
    if authority.as_str().contains('@') {
        return Err("no user info");
    }
    match uri.path_and_query().map(PathAndQuery::as_str) {
        None | Some("/") | Some("") => Ok(authority.clone()),
        Some(_) => Err("no path or query; put them in the mix"),
    }
}

/// One mix entry as a request template, or every problem with it (field, problem).
fn parse_request(
    entry: &RequestInput,
    authority: Option<&Authority>,
) -> Result<RequestTemplate, Vec<(String, SpecProblem)>> {
    let mut found = Vec::new();
    let method = Method::from_bytes(entry.method.as_bytes()).ok();
    if method.is_none() {
        let value = entry.method.clone();
        found.push(("method".into(), SpecProblem::Method { value }));
    }
    let path = entry
        .path
        .parse::<PathAndQuery>()
        .ok()
        .filter(|p| entry.path.starts_with('/') && p.as_str() == entry.path);
    if path.is_none() {
        let value = entry.path.clone();
        found.push(("path".into(), SpecProblem::Path { value }));
    }
    if entry.weight == 0 {
        found.push(("weight".into(), SpecProblem::ZeroWeight));
    }
    let mut headers = HeaderMap::new();
    for (i, (name, value)) in entry.headers.iter().enumerate() {
        let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
            let problem = SpecProblem::HeaderName {
                value: name.clone(),
            };
            found.push((format!("headers[{i}]"), problem));
            continue;
        };
        let reserved = [
            TRACEPARENT,
            TRACESTATE,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ];
        if reserved.contains(&header_name) {
            let problem = SpecProblem::ReservedHeader {
                name: header_name.to_string(),
            };
            found.push((format!("headers[{i}]"), problem));
            continue;
        }
        match HeaderValue::from_str(value) {
            Ok(value) => {
                headers.append(header_name, value);
            }
            Err(_) => {
                let problem = SpecProblem::HeaderValue {
                    name: header_name.to_string(),
                };
                found.push((format!("headers[{i}]"), problem));
            }
        }
    }
    let uri = match (authority, path) {
        (Some(authority), Some(path)) => Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(authority.clone())
            .path_and_query(path)
            .build()
            .ok(),
        _ => None,
    };
    match (method, uri) {
        (Some(method), Some(uri)) if found.is_empty() => Ok(RequestTemplate {
            method,
            uri,
            headers,
            body: entry.body.clone(),
            weight: entry.weight,
        }),
        _ => Err(found),
    }
}
