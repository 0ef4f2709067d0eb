//! The api_v3 routes (`/api/v3/...`), parameters read as Jaeger's HTTP gateway reads them:
//! canonical camelCase names (v2.19+) first, then the snake_case aliases every v2 release
//! accepts.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde_json::json;

use super::otlp_json;
use crate::store::adjust;
use crate::store::error::V3Error;
use crate::store::model::TraceId;
use crate::store::query::{
    ParamError, QueryParams, parse_bool, parse_go_duration, parse_i64, parse_rfc3339_ns,
};
use crate::store::respond::{self, Reply};
use crate::store::search::TraceQuery;
use crate::store::storage::{TraceSpans, TraceStore};

/// Traces per search when no depth is given (api_v3 default since v2.19).
const DEFAULT_SEARCH_DEPTH: usize = 100;

const SERVICE: &[&str] = &["query.serviceName", "query.service_name"];
const OPERATION: &[&str] = &["query.operationName", "query.operation_name"];
const TIME_MIN: &[&str] = &["query.startTimeMin", "query.start_time_min"];
const TIME_MAX: &[&str] = &["query.startTimeMax", "query.start_time_max"];
const SEARCH_DEPTH: &[&str] = &[
    "query.searchDepth",
    "query.num_traces",
    "query.search_depth",
];
const DURATION_MIN: &[&str] = &["query.durationMin", "query.duration_min"];
const DURATION_MAX: &[&str] = &["query.durationMax", "query.duration_max"];
const QUERY_RAW: &[&str] = &["query.rawTraces", "query.raw_traces"];
const ATTRIBUTES: &str = "query.attributes";
const START_TIME: &[&str] = &["startTime", "start_time"];
const END_TIME: &[&str] = &["endTime", "end_time"];
const RAW: &[&str] = &["rawTraces", "raw_traces"];
const SPAN_KIND: &[&str] = &["spanKind", "span_kind"];

/// Answers a request under `/api/v3/`.
pub(crate) fn handle(
    store: &TraceStore,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Reply {
    let params = QueryParams::parse(query);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match segments.as_slice() {
        ["api", "v3", "services" | "operations" | "traces"] | ["api", "v3", "traces", _]
            if method != Method::GET =>
        {
            Err(V3Error::Method)
        }
        ["api", "v3", "services"] => Ok(respond::json(
            &json!({ "services": store.services() }),
            false,
        )),
        ["api", "v3", "operations"] => Ok(operations(store, &params)),
        ["api", "v3", "traces"] => find_traces(store, &params),
        ["api", "v3", "traces", id] => get_trace(store, id, &params),
        _ => Err(V3Error::NoRoute),
    };
    answer.unwrap_or_else(failure)
}

/// The one place a v3 error becomes a status; the body is Jaeger's gRPC-gateway error shape.
fn failure(error: V3Error) -> Reply {
    let status = match &error {
        V3Error::NoTraces => StatusCode::NOT_FOUND,
        V3Error::NoRoute => return respond::go_error(StatusCode::NOT_FOUND, "404 page not found"),
        V3Error::Method => return respond::method_not_allowed("GET"),
        V3Error::TimeWindowRequired
        | V3Error::Param { .. }
        | V3Error::Attributes(_)
        | V3Error::TraceId(_) => StatusCode::BAD_REQUEST,
    };
    tracing::debug!(%error, status = status.as_u16(), "Jaeger v3 query refused");
    let body = json!({ "error": { "httpCode": status.as_u16(), "message": error.to_string() } });
    respond::go_error(status, &body.to_string())
}

fn operations(store: &TraceStore, params: &QueryParams) -> Reply {
    let service = params.get("service").unwrap_or("");
    let kind = params.resolve(SPAN_KIND).map(|(_, kind)| kind);
    let operations: Vec<_> = store
        .operations(service, kind)
        .into_iter()
        .map(|operation| {
            // Jaeger reports an unspecified kind as `internal` here (not in v1).
            let span_kind = match operation.span_kind {
                "" => "internal",
                kind => kind,
            };
            json!({ "name": operation.name, "spanKind": span_kind })
        })
        .collect();
    respond::json(&json!({ "operations": operations }), false)
}

fn find_traces(store: &TraceStore, params: &QueryParams) -> Result<Reply, V3Error> {
    let service = params.resolve(SERVICE).map(|(_, v)| v.to_owned());
    let operation = params.resolve(OPERATION).map(|(_, v)| v.to_owned());
    let attributes: BTreeMap<String, String> = match params.get(ATTRIBUTES) {
        Some(text) => serde_json::from_str(text).map_err(V3Error::Attributes)?,
        None => BTreeMap::new(),
    };
    let (Some(min), Some(max)) = (params.resolve(TIME_MIN), params.resolve(TIME_MAX)) else {
        return Err(V3Error::TimeWindowRequired);
    };
    let start_min_ns = parse(min, parse_rfc3339_ns)?;
    let start_max_ns = parse(max, parse_rfc3339_ns)?;
    let depth = match params.resolve(SEARCH_DEPTH) {
        Some(depth) => parse(depth, parse_i64)?,
        None => 0,
    };
    let duration_min_ns = params
        .resolve(DURATION_MIN)
        .map(|d| parse(d, duration_ns))
        .transpose()?;
    let duration_max_ns = params
        .resolve(DURATION_MAX)
        .map(|d| parse(d, duration_ns))
        .transpose()?;
    let raw = params
        .resolve(QUERY_RAW)
        .map(|r| parse(r, parse_bool))
        .transpose()?
        .unwrap_or(false);

    let query = TraceQuery {
        service,
        operation,
        attributes: attributes.into_iter().collect(),
        start_min_ns: Some(start_min_ns),
        start_max_ns: Some(start_max_ns),
        // Zero means "no bound", as in Jaeger.
        duration_min_ns: duration_min_ns.filter(|&d| d > 0),
        duration_max_ns: duration_max_ns.filter(|&d| d > 0),
        depth: usize::try_from(depth)
            .ok()
            .filter(|&d| d > 0)
            .unwrap_or(DEFAULT_SEARCH_DEPTH),
    };
    answer(&store.find(&query), raw)
}

fn get_trace(store: &TraceStore, id: &str, params: &QueryParams) -> Result<Reply, V3Error> {
    let id = TraceId::parse(id).map_err(V3Error::TraceId)?;
    // Parsed for their errors only; a lookup by id in memory needs no time narrowing.
    if let Some(start) = params.resolve(START_TIME) {
        parse(start, parse_rfc3339_ns)?;
    }
    if let Some(end) = params.resolve(END_TIME) {
        parse(end, parse_rfc3339_ns)?;
    }
    let raw = params
        .resolve(RAW)
        .map(|r| parse(r, parse_bool))
        .transpose()?
        .unwrap_or(false);
    let traces: Vec<TraceSpans> = store.trace(id).into_iter().collect();
    answer(&traces, raw)
}

/// `{"result": TracesData}`, or 404 when there is nothing to show.
fn answer(traces: &[TraceSpans], raw: bool) -> Result<Reply, V3Error> {
    if traces.is_empty() {
        return Err(V3Error::NoTraces);
    }
    let views: Vec<_> = traces
        .iter()
        .map(|spans| adjust::view(spans, raw))
        .collect();
    Ok(respond::json(
        &json!({ "result": otlp_json::traces_data(&views) }),
        false,
    ))
}

/// Parses a resolved parameter, naming it as the client spelled it on failure.
fn parse<T>(
    (name, value): (&'static str, &str),
    parser: impl FnOnce(&str) -> Result<T, ParamError>,
) -> Result<T, V3Error> {
    parser(value).map_err(|source| V3Error::Param { name, source })
}

fn duration_ns(text: &str) -> Result<u64, ParamError> {
    parse_go_duration(text).map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
