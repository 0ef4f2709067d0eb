//! A trace search and how it is encoded for each Jaeger API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::super::transport::rfc3339;
use super::ApiVersion;

/// A trace search. Build with [`TraceQuery::new`] and the `with_*` methods.
///
/// api_v3 search uses the snake_case parameter names every Jaeger v2 accepts
/// (`query.service_name`, `query.start_time_min` in RFC 3339, …, `query.search_depth`).
/// Attribute filters go in `query.attributes` as a JSON object, which Jaeger honours from
/// v2.19.0; older v2 releases ignore it. Durations are sent as Go duration strings in whole
/// nanoseconds (`"1500000ns"`). v1 search sends `tags` as a JSON object and `start`/`end` in
/// microseconds. All ids are sent as 32 hex digits, which both APIs accept.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQuery {
    /// Service name (required by both APIs).
    pub service: String,
    /// Operation (span) name; `None` matches all.
    pub operation: Option<String>,
    /// Attributes (v1: tags) a span must carry, compared as strings.
    pub attributes: Vec<(String, String)>,
    /// Earliest trace start (inclusive).
    pub start_min: SystemTime,
    /// Latest trace start; must be after `start_min`.
    pub start_max: SystemTime,
    /// Minimum span duration.
    pub duration_min: Option<Duration>,
    /// Maximum span duration; at least `duration_min`.
    pub duration_max: Option<Duration>,
    /// Maximum number of traces (Jaeger's search depth). Default 100, must be positive.
    pub limit: u32,
}

// === impl TraceQuery ===

impl TraceQuery {
    /// A search for `service` traces that started within `[start_min, start_max]`.
    pub fn new(service: impl Into<String>, start_min: SystemTime, start_max: SystemTime) -> Self {
        Self {
            service: service.into(),
            operation: None,
            attributes: Vec::new(),
            start_min,
            start_max,
            duration_min: None,
            duration_max: None,
            limit: 100,
        }
    }

    /// Only spans named `operation`.
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Only traces with a span carrying `key` = `value`.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// Only spans lasting within `[min, max]` (either bound optional).
    pub fn with_duration(mut self, min: Option<Duration>, max: Option<Duration>) -> Self {
        self.duration_min = min;
        self.duration_max = max;
        self
    }

    /// At most `limit` traces.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The query string for `api`, after checking the query makes sense.
    pub(super) fn params(
        &self,
        api: ApiVersion,
        raw: bool,
    ) -> Result<Vec<(&'static str, String)>, String> {
        self.validate()?;
        match api {
            ApiVersion::V3 => self.v3_params(raw),
            ApiVersion::V1 => self.v1_params(raw),
        }
    }

    fn v3_params(&self, raw: bool) -> Result<Vec<(&'static str, String)>, String> {
        let mut params = vec![
            ("query.service_name", self.service.clone()),
            ("query.start_time_min", rfc3339(self.start_min)?),
            ("query.start_time_max", rfc3339(self.start_max)?),
            ("query.search_depth", self.limit.to_string()),
        ];
        params.extend(self.operation.clone().map(|o| ("query.operation_name", o)));
        if !self.attributes.is_empty() {
            params.push(("query.attributes", self.attributes_json()));
        }
        params.extend(
            self.duration_min
                .map(|d| ("query.duration_min", go_duration(d))),
        );
        params.extend(
            self.duration_max
                .map(|d| ("query.duration_max", go_duration(d))),
        );
        if raw {
            params.push(("query.raw_traces", "true".to_owned()));
        }
        Ok(params)
    }

    fn v1_params(&self, raw: bool) -> Result<Vec<(&'static str, String)>, String> {
        let mut params = vec![
            ("service", self.service.clone()),
            ("start", unix_micros(self.start_min)?.to_string()),
            ("end", unix_micros(self.start_max)?.to_string()),
            ("limit", self.limit.to_string()),
        ];
        params.extend(self.operation.clone().map(|o| ("operation", o)));
        if !self.attributes.is_empty() {
            params.push(("tags", self.attributes_json()));
        }
        params.extend(self.duration_min.map(|d| ("minDuration", go_duration(d))));
        params.extend(self.duration_max.map(|d| ("maxDuration", go_duration(d))));
        if raw {
            params.push(("raw", "true".to_owned()));
        }
        Ok(params)
    }

    fn validate(&self) -> Result<(), String> {
        if self.service.is_empty() {
            return Err("service is empty".to_owned());
        }
        if self.start_max <= self.start_min {
            return Err("start_max must be after start_min".to_owned());
        }
        if let (Some(min), Some(max)) = (self.duration_min, self.duration_max)
            && max < min
        {
            return Err(format!(
                "duration_max {max:?} is below duration_min {min:?}"
            ));
        }
        if self.limit == 0 {
            return Err("limit must be positive".to_owned());
        }
        Ok(())
    }

    fn attributes_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

fn unix_micros(time: SystemTime) -> Result<u128, String> {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .map_err(|_| format!("time {time:?} is before the Unix epoch"))
}

/// A Go `time.ParseDuration` string; whole nanoseconds keep every duration exact.
fn go_duration(duration: Duration) -> String {
    format!("{}ns", duration.as_nanos())
}
