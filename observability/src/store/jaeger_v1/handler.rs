//! The v1 routes (`/api/...`): parameters parsed as Jaeger's `query_parser.go` does, answers in
//! the v1 envelope, errors as Jaeger's `handleError` writes them.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode};

use super::convert;
use super::model::{Operation, Response, ResponseError, Trace};
use crate::store::adjust;
use crate::store::error::V1Error;
use crate::store::model::TraceId;
use crate::store::query::{QueryParams, parse_bool, parse_go_duration, parse_i64, unescape};
use crate::store::respond::{self, Reply};
use crate::store::search::TraceQuery;
use crate::store::storage::TraceStore;

/// Search window when `start` is absent: Jaeger's default trace query lookback.
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(48 * 3600);

/// Traces per search when `limit` is absent.
const DEFAULT_LIMIT: i64 = 100;

/// Answers a request under `/api/` (but not `/api/v3/`).
pub(crate) fn handle(
    store: &TraceStore,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Reply {
    let params = QueryParams::parse(query);
    let pretty = params
        .get("prettyPrint")
        .is_some_and(|value| value != "false");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match segments.as_slice() {
        ["api", "services"]
        | ["api", "operations"]
        | ["api", "traces"]
        | ["api", "services", _, "operations"]
        | ["api", "traces", _]
            if method != Method::GET =>
        {
            Err(V1Error::Method)
        }
        ["api", "services"] => Ok(services(store, pretty)),
        ["api", "services", service, "operations"] => operations_legacy(store, service, pretty),
        ["api", "operations"] => operations(store, &params, pretty),
        ["api", "traces"] => search(store, &params, pretty),
        ["api", "traces", id] => trace(store, id, &params, pretty),
        _ => Err(V1Error::NoRoute),
    };
    answer.unwrap_or_else(failure)
}

/// The one place a v1 error becomes a status: Jaeger's envelope with the code repeated inside.
fn failure(error: V1Error) -> Reply {
    let status = match &error {
        V1Error::TraceNotFound => StatusCode::NOT_FOUND,
        V1Error::NoRoute => return respond::go_error(StatusCode::NOT_FOUND, "404 page not found"),
        V1Error::Method => return respond::method_not_allowed("GET"),
        V1Error::ServiceRequired
        | V1Error::Param { .. }
        | V1Error::Limit(_)
        | V1Error::LimitNotPositive
        | V1Error::StartAfterEnd
        | V1Error::DurationBounds
        | V1Error::Tag(_)
        | V1Error::Tags(_)
        | V1Error::TraceIdParam(_)
        | V1Error::TraceId(_) => StatusCode::BAD_REQUEST,
    };
    tracing::debug!(%error, status = status.as_u16(), "Jaeger v1 query refused");
    let envelope = Response::<Option<()>> {
        data: None,
        total: 0,
        limit: 0,
        offset: 0,
        errors: Some(vec![ResponseError {
            code: Some(status.as_u16()),
            msg: error.to_string(),
            trace_id: None,
        }]),
    };
    let body = serde_json::to_string(&envelope).unwrap_or_default();
    respond::go_error(status, &body)
}

fn listing<T: serde::Serialize>(data: Vec<T>, pretty: bool) -> Reply {
    let total = data.len();
    respond::json(
        &Response {
            data,
            total,
            limit: 0,
            offset: 0,
            errors: None,
        },
        pretty,
    )
}

fn services(store: &TraceStore, pretty: bool) -> Reply {
    listing(store.services(), pretty)
}

fn operations_legacy(store: &TraceStore, service: &str, pretty: bool) -> Result<Reply, V1Error> {
    // Jaeger matches the raw path and unescapes the segment itself.
    let service = unescape(service).unwrap_or_else(|| service.to_owned());
    let mut names: Vec<String> = store
        .operations(&service, None)
        .into_iter()
        .map(|operation| operation.name)
        .collect();
    names.dedup();
    Ok(listing(names, pretty))
}

fn operations(store: &TraceStore, params: &QueryParams, pretty: bool) -> Result<Reply, V1Error> {
    let service = params.get("service").ok_or(V1Error::ServiceRequired)?;
    let data: Vec<Operation> = store
        .operations(service, params.get("spanKind"))
        .into_iter()
        .map(|operation| Operation {
            name: operation.name,
            span_kind: operation.span_kind.to_owned(),
        })
        .collect();
    Ok(listing(data, pretty))
}

fn search(store: &TraceStore, params: &QueryParams, pretty: bool) -> Result<Reply, V1Error> {
    let now_us = now_us();
    let start_us = micros(params, "start")?
        .unwrap_or(now_us.saturating_sub(DEFAULT_LOOKBACK.as_micros() as i64));
    let end_us = micros(params, "end")?.unwrap_or(now_us);
    let attributes = tags(params)?;
    let limit = match params.get("limit") {
        Some(text) => parse_i64(text).map_err(V1Error::Limit)?,
        None => DEFAULT_LIMIT,
    };
    let duration_min = duration(params, "minDuration")?;
    let duration_max = duration(params, "maxDuration")?;
    let trace_ids = params
        .all("traceID")
        .map(|id| TraceId::parse(id).map_err(V1Error::TraceIdParam))
        .collect::<Result<Vec<_>, _>>()?;
    let raw = raw(params)?;

    let service = params.get("service");
    if trace_ids.is_empty() && service.is_none() {
        return Err(V1Error::ServiceRequired);
    }
    if limit <= 0 {
        return Err(V1Error::LimitNotPositive);
    }
    if start_us > end_us {
        return Err(V1Error::StartAfterEnd);
    }
    if let (Some(min), Some(max)) = (duration_min, duration_max)
        && max < min
    {
        return Err(V1Error::DurationBounds);
    }

    let mut errors = Vec::new();
    let data: Vec<Trace> = if trace_ids.is_empty() {
        let query = TraceQuery {
            service: service.map(str::to_owned),
            operation: params.get("operation").map(str::to_owned),
            attributes: attributes.into_iter().collect(),
            start_min_ns: Some(to_ns(start_us)),
            start_max_ns: Some(to_ns(end_us)),
            duration_min_ns: duration_min,
            duration_max_ns: duration_max,
            depth: usize::try_from(limit).unwrap_or(usize::MAX),
        };
        store
            .find(&query)
            .iter()
            .filter_map(|spans| convert::trace(&adjust::view(spans, raw)))
            .collect()
    } else {
        let mut found = Vec::new();
        for id in trace_ids {
            match store.trace(id) {
                Some(spans) => found.extend(convert::trace(&adjust::view(&spans, raw))),
                None => errors.push(ResponseError {
                    code: None,
                    msg: V1Error::TraceNotFound.to_string(),
                    trace_id: Some(id.to_jaeger()),
                }),
            }
        }
        found
    };
    Ok(respond::json(
        &Response {
            data,
            total: 0,
            limit: 0,
            offset: 0,
            errors: (!errors.is_empty()).then_some(errors),
        },
        pretty,
    ))
}

fn trace(
    store: &TraceStore,
    id: &str,
    params: &QueryParams,
    pretty: bool,
) -> Result<Reply, V1Error> {
    let id = TraceId::parse(id).map_err(V1Error::TraceId)?;
    // Parsed for their errors only: `start`/`end` narrow the lookup in some storage backends,
    // and an in-memory lookup by id needs no narrowing.
    micros(params, "start")?;
    micros(params, "end")?;
    let raw = raw(params)?;
    let spans = store.trace(id).ok_or(V1Error::TraceNotFound)?;
    let trace = convert::trace(&adjust::view(&spans, raw)).ok_or(V1Error::TraceNotFound)?;
    Ok(respond::json(
        &Response {
            data: vec![trace],
            total: 0,
            limit: 0,
            offset: 0,
            errors: None,
        },
        pretty,
    ))
}

/// A microseconds-since-epoch parameter.
fn micros(params: &QueryParams, name: &'static str) -> Result<Option<i64>, V1Error> {
    params
        .get(name)
        .map(|text| parse_i64(text).map_err(|source| V1Error::Param { name, source }))
        .transpose()
}

/// A Go duration parameter in nanoseconds; `0` means unset, as in Jaeger.
fn duration(params: &QueryParams, name: &'static str) -> Result<Option<u64>, V1Error> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    let value = parse_go_duration(text).map_err(|source| V1Error::Param { name, source })?;
    Ok((!value.is_zero()).then(|| u64::try_from(value.as_nanos()).unwrap_or(u64::MAX)))
}

fn raw(params: &QueryParams) -> Result<bool, V1Error> {
    params
        .get("raw")
        .map(|text| {
            parse_bool(text).map_err(|source| V1Error::Param {
                name: "raw",
                source,
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// `tag=k:v` (split at the first `:`) then `tags={JSON}`; later values win, as Go's
/// `maps.Copy` does.
fn tags(params: &QueryParams) -> Result<BTreeMap<String, String>, V1Error> {
    let mut out = BTreeMap::new();
    for tag in params.all("tag") {
        let (key, value) = tag
            .split_once(':')
            .ok_or_else(|| V1Error::Tag(tag.to_owned()))?;
        out.insert(key.to_owned(), value.to_owned());
    }
    for json in params.all("tags") {
        let map: BTreeMap<String, String> = serde_json::from_str(json).map_err(V1Error::Tags)?;
        out.extend(map);
    }
    Ok(out)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn to_ns(us: i64) -> u64 {
    u64::try_from(us).unwrap_or(0).saturating_mul(1_000)
}
