//! Span export of `chaos upstream`: its flags and the `OTEL_*` variables resolved into the
//! trace pipeline, and the final flush when it stops.
//!
//! Where spans go, first match wins: `--otlp` (or `CHAOS_UPSTREAM_OTLP`), then
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`; with none of them
//! nothing is exported, but spans are still created so trace context still propagates. New
//! traces are sampled at `--sampling-ratio`, else per `OTEL_TRACES_SAMPLER`, else 100%; an
//! incoming `sampled` flag always wins (parent-based). `service.name` is always `--name`, so
//! every instance shows up as its own service.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use observability::telemetry::{FileSettings, Settings, Telemetry};
use thiserror::Error;
use tracing::{debug, info, warn};

use super::error::UpstreamError;
use super::name::UpstreamName;

/// Service name used by the pipeline before `--name` overrides it (never exported as such).
const DEFAULT_SERVICE: &str = "chaos-upstream";

/// How the upstream exports its spans, as given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExportSettings {
    /// OTLP/HTTP collector URL; `None` leaves it to the `OTEL_*` variables.
    pub(crate) otlp: Option<OtlpEndpoint>,
    /// Longest time a finished span waits before it is exported.
    pub(crate) interval: Duration,
    /// Share of new traces sampled; `None` leaves it to `OTEL_TRACES_SAMPLER`.
    pub(crate) sampling_ratio: Option<SamplingRatio>,
}

/// An OTLP/HTTP collector URL: a base (`http://127.0.0.1:4318`, which gets `/v1/traces`) or
/// the full traces URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtlpEndpoint(String);

/// A `--otlp` value that is not an absolute `http://` or `https://` URL.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "OTLP endpoint {url:?} must be an http:// or https:// URL with a host, such as http://127.0.0.1:4318"
)]
pub(crate) struct InvalidOtlpEndpoint {
    url: String,
}

/// The share of new traces (no valid incoming `traceparent`) to sample, 0.0 to 1.0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct SamplingRatio(f64);

/// A `--sampling-ratio` value outside 0.0 to 1.0, or not a number.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("sampling ratio must be a number from 0.0 to 1.0, got {received:?}")]
pub(crate) struct InvalidSamplingRatio {
    received: String,
}

/// Resolves `settings` against the environment (`env` looks a variable up) and starts the
/// pipeline.
///
/// Fails with [`UpstreamError::TraceSettings`] for unusable `OTEL_*` values and
/// [`UpstreamError::Telemetry`] when the pipeline cannot start.
pub(crate) fn start(
    settings: &ExportSettings,
    name: &UpstreamName,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Telemetry, UpstreamError> {
    let file = FileSettings {
        otlp_endpoint: settings.otlp.as_ref().map(|url| url.0.clone()),
        service_name: Some(name.as_str().to_owned()),
        sampling_ratio: settings.sampling_ratio.map(SamplingRatio::get),
        export_interval: Some(settings.interval),
        max_queue_spans: None,
    };
    let resolved =
        Settings::resolve(&file, DEFAULT_SERVICE, env).map_err(UpstreamError::TraceSettings)?;
    let telemetry = Telemetry::start(&resolved).map_err(UpstreamError::Telemetry)?;
    match &resolved.traces_endpoint {
        Some(endpoint) => info!(
            %endpoint,
            sampling_ratio = resolved.sampling_ratio,
            interval = ?resolved.export_interval,
            "Exporting spans"
        ),
        None => debug!(
            sampling_ratio = resolved.sampling_ratio,
            "No OTLP endpoint; spans are not exported"
        ),
    }
    Ok(telemetry)
}

/// Exports every span finished so far and stops the export thread.
///
/// Runs on a blocking thread (the pipeline's flush blocks); bounded by the exporter's own
/// timeouts. A failed flush is logged, not returned: the upstream itself stopped cleanly.
pub(crate) async fn stop(telemetry: Telemetry) {
    if !telemetry.is_exporting() {
        return;
    }
    let flushed = tokio::task::spawn_blocking(move || {
        let result = telemetry.shutdown();
        (result, telemetry.stats().exported.get())
    })
    .await;
    match flushed {
        Ok((Ok(()), exported)) => info!(exported, "Spans flushed"),
        Ok((Err(error), exported)) => warn!(%error, exported, "Span flush incomplete"),
        Err(error) => warn!(%error, "Span flush did not run"),
    }
}

// === impl OtlpEndpoint ===

impl FromStr for OtlpEndpoint {
    type Err = InvalidOtlpEndpoint;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidOtlpEndpoint {
            url: text.to_owned(),
        };
        let uri = text.parse::<http::Uri>().map_err(|_| invalid())?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let host_ok = uri.host().is_some_and(|host| !host.is_empty());
        if !scheme_ok || !host_ok || uri.query().is_some() {
            return Err(invalid());
        }
        Ok(OtlpEndpoint(text.to_owned()))
    }
}

impl fmt::Display for OtlpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// === impl SamplingRatio ===

impl SamplingRatio {
    pub(crate) fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for SamplingRatio {
    type Err = InvalidSamplingRatio;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse::<f64>()
            .ok()
            // `contains` is false for NaN, so NaN is rejected too.
            .filter(|ratio| (0.0..=1.0).contains(ratio))
            .map(SamplingRatio)
            .ok_or_else(|| InvalidSamplingRatio {
                received: text.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| map.get(key).cloned()
    }

    fn settings(otlp: Option<&str>, ratio: Option<&str>) -> ExportSettings {
        ExportSettings {
            otlp: otlp.map(|url| url.parse().unwrap()),
            interval: Duration::from_millis(200),
            sampling_ratio: ratio.map(|r| r.parse().unwrap()),
        }
    }

    #[test]
    fn otlp_endpoint_http_or_https_with_host_is_accepted() {
        for url in [
            "http://127.0.0.1:4318",
            "https://collector.example:4318/",
            "http://c:4318/v1/traces",
        ] {
            assert_eq!(url.parse::<OtlpEndpoint>().unwrap().to_string(), url);
        }
    }

    #[test]
    fn otlp_endpoint_without_scheme_host_or_with_query_is_rejected() {
        for url in [
            "127.0.0.1:4318",
            "grpc://c:4317",
            "http://",
            "/v1/traces",
            "http://c:4318?x=1",
            "",
        ] {
            let err = url.parse::<OtlpEndpoint>().unwrap_err();
            assert_eq!(err, InvalidOtlpEndpoint { url: url.into() });
            assert!(err.to_string().contains("http://127.0.0.1:4318"), "{err}");
        }
    }

    #[test]
    fn sampling_ratio_in_range_is_accepted_and_outside_rejected() {
        assert_eq!("0".parse::<SamplingRatio>().unwrap().get(), 0.0);
        assert_eq!("0.25".parse::<SamplingRatio>().unwrap().get(), 0.25);
        assert_eq!("1.0".parse::<SamplingRatio>().unwrap().get(), 1.0);
        for bad in ["1.5", "-0.1", "NaN", "half", ""] {
            let err = bad.parse::<SamplingRatio>().unwrap_err();
            assert_eq!(
                err,
                InvalidSamplingRatio {
                    received: bad.into()
                }
            );
        }
    }

    #[test]
    fn start_without_endpoint_or_env_does_not_export() {
        let name = "users".parse().unwrap();
        let telemetry = start(&settings(None, None), &name, env(&[])).unwrap();
        assert!(!telemetry.is_exporting());
    }

    #[test]
    fn start_with_otel_env_only_exports() {
        let name = "users".parse().unwrap();
        let endpoint = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")]);
        let telemetry = start(&settings(None, None), &name, endpoint).unwrap();
        assert!(telemetry.is_exporting());
        telemetry.shutdown().ok();
    }

    #[test]
    fn start_with_invalid_sampler_env_is_a_usage_error() {
        let name = "users".parse().unwrap();
        let bad = env(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
        let err = start(&settings(None, None), &name, bad).unwrap_err();
        assert!(matches!(err, UpstreamError::TraceSettings(_)), "{err:?}");
        assert_eq!(err.exit(), crate::Exit::Usage);

        // A --sampling-ratio makes the sampler variables irrelevant.
        let bad = env(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
        assert!(start(&settings(None, Some("0.5")), &name, bad).is_ok());
    }

    #[test]
    fn start_with_invalid_env_endpoint_is_a_usage_error() {
        let name = "users".parse().unwrap();
        let bad = env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://bad host")]);
        let err = start(&settings(None, None), &name, bad).unwrap_err();
        assert!(matches!(err, UpstreamError::Telemetry(_)), "{err:?}");
        assert_eq!(err.exit(), crate::Exit::Usage);
    }
}
