//! Trace export settings: values from the config file, then the standard `OTEL_*`
//! environment variables for anything the file leaves unset, then defaults.

use std::time::Duration;

/// Default service name when neither the file nor `OTEL_SERVICE_NAME` gives one.
const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_MAX_QUEUE_SPANS: usize = 8192;
const DEFAULT_MAX_BATCH_SPANS: usize = 512;

/// What the config file says (each `None` falls back to the environment, then a default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSettings {
    /// OTLP/HTTP collector base URL (`http://127.0.0.1:4318`) or full traces URL.
    pub otlp_endpoint: Option<String>,
    /// `service.name` resource attribute.
    pub service_name: Option<String>,
    /// Share of new traces to sample, 0.0 to 1.0.
    pub sampling_ratio: Option<f64>,
    /// Longest time a finished span waits before export.
    pub export_interval: Option<Duration>,
    /// Finished spans buffered for export; more are dropped (and counted).
    pub max_queue_spans: Option<usize>,
}

/// Resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Full OTLP/HTTP traces URL (`.../v1/traces`); `None` disables export (spans are still
    /// created, so trace context still propagates).
    pub traces_endpoint: Option<String>,
    /// `service.name`.
    pub service_name: String,
    /// `service.version`.
    pub service_version: String,
    /// Share of new traces (no incoming context) to sample; incoming sampled flags are honoured.
    pub sampling_ratio: f64,
    /// Longest time a finished span waits before export. Default 1s.
    pub export_interval: Duration,
    /// Longest time one export request may take. Default 5s.
    pub export_timeout: Duration,
    /// Finished spans buffered for export. Default 8192.
    pub max_queue_spans: usize,
    /// Spans per export request. Default 512.
    pub max_batch_spans: usize,
}

/// A setting from the environment that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: expected {expected}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is allowed.
    pub expected: &'static str,
}

impl Settings {
    /// Resolves `file` against the environment (`env` looks a variable up; pass
    /// `|k| std::env::var(k).ok()` in binaries). `default_service` names the binary.
    ///
    /// - endpoint: file, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used verbatim), else
    ///   `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended, else export is off. A file
    ///   value is a base URL unless it already ends in `/v1/traces`.
    /// - service name: file, else `OTEL_SERVICE_NAME`, else `default_service`.
    /// - sampling: file ratio, else `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`), else 1.0.
    ///   The gateway is always parent-based: a proxy must not break traces its callers chose
    ///   to sample (or not), so `always_on`/`traceidratio` map to the same ratio as their
    ///   `parentbased_*` forms; the ratio applies to new traces only.
    pub fn resolve(
        file: &FileSettings,
        default_service: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let traces_endpoint = match &file.otlp_endpoint {
            Some(url) => Some(traces_url(url)),
            None => match env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").filter(|v| !v.is_empty()) {
                Some(url) => Some(url),
                None => env("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .filter(|v| !v.is_empty())
                    .map(|base| format!("{}/v1/traces", base.trim_end_matches('/'))),
            },
        };
        let service_name = file
            .service_name
            .clone()
            .or_else(|| env("OTEL_SERVICE_NAME").filter(|v| !v.is_empty()))
            .unwrap_or_else(|| default_service.to_owned());
        let sampling_ratio = match file.sampling_ratio {
            Some(r) => r,
            None => env_ratio(&env)?,
        };
        Ok(Self {
            traces_endpoint,
            service_name,
            service_version: env!("CARGO_PKG_VERSION").to_owned(),
            sampling_ratio,
            export_interval: file.export_interval.unwrap_or(DEFAULT_EXPORT_INTERVAL),
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            max_queue_spans: file.max_queue_spans.unwrap_or(DEFAULT_MAX_QUEUE_SPANS),
            max_batch_spans: DEFAULT_MAX_BATCH_SPANS,
        })
    }
}

/// A base URL gets `/v1/traces`; a URL already naming it is kept.
fn traces_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    if trimmed.ends_with("/v1/traces") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/traces")
    }
}

fn env_ratio(env: &impl Fn(&str) -> Option<String>) -> Result<f64, SettingsError> {
    const SAMPLERS: &str = "always_on, always_off, traceidratio, parentbased_always_on, \
                            parentbased_always_off or parentbased_traceidratio";
    let Some(sampler) = env("OTEL_TRACES_SAMPLER").filter(|v| !v.is_empty()) else {
        return Ok(1.0);
    };
    match sampler.as_str() {
        "always_on" | "parentbased_always_on" => Ok(1.0),
        "always_off" | "parentbased_always_off" => Ok(0.0),
        "traceidratio" | "parentbased_traceidratio" => match env("OTEL_TRACES_SAMPLER_ARG") {
            None => Ok(1.0),
            Some(arg) => match arg.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(SettingsError {
                    name: "OTEL_TRACES_SAMPLER_ARG",
                    value: arg,
                    expected: "a ratio from 0.0 to 1.0",
                }),
            },
        },
        _ => Err(SettingsError {
            name: "OTEL_TRACES_SAMPLER",
            value: sampler,
            expected: SAMPLERS,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn settings_without_file_or_env_disable_export_and_sample_everything() {
        let s = Settings::resolve(&FileSettings::default(), "gateway", env(&[])).unwrap();
        assert_eq!(s.traces_endpoint, None);
        assert_eq!(s.service_name, "gateway");
        assert_eq!(s.sampling_ratio, 1.0);
        assert_eq!(s.export_interval, Duration::from_secs(1));
        assert_eq!(s.max_queue_spans, 8192);
    }

    #[test]
    fn settings_env_base_endpoint_gets_traces_path_and_signal_endpoint_is_verbatim() {
        let base = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]);
        let s = Settings::resolve(&FileSettings::default(), "g", base).unwrap();
        assert_eq!(
            s.traces_endpoint.as_deref(),
            Some("http://c:4318/v1/traces")
        );
        let both = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9999/custom"),
        ]);
        let s = Settings::resolve(&FileSettings::default(), "g", both).unwrap();
        assert_eq!(s.traces_endpoint.as_deref(), Some("http://t:9999/custom"));
    }

    #[test]
    fn settings_file_values_win_over_env() {
        let file = FileSettings {
            otlp_endpoint: Some("http://file:4318".into()),
            service_name: Some("edge".into()),
            sampling_ratio: Some(0.25),
            ..FileSettings::default()
        };
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            ("OTEL_SERVICE_NAME", "from-env"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
        ]);
        let s = Settings::resolve(&file, "gateway", e).unwrap();
        assert_eq!(
            s.traces_endpoint.as_deref(),
            Some("http://file:4318/v1/traces")
        );
        assert_eq!(s.service_name, "edge");
        assert_eq!(s.sampling_ratio, 0.25);
    }

    #[test]
    fn settings_file_url_with_traces_path_is_kept() {
        let file = FileSettings {
            otlp_endpoint: Some("http://c:4318/v1/traces".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&file, "g", env(&[])).unwrap();
        assert_eq!(
            s.traces_endpoint.as_deref(),
            Some("http://c:4318/v1/traces")
        );
    }

    #[test]
    fn settings_env_service_name_and_sampler_apply_when_file_is_silent() {
        let e = env(&[
            ("OTEL_SERVICE_NAME", "edge-eu"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.01"),
        ]);
        let s = Settings::resolve(&FileSettings::default(), "gateway", e).unwrap();
        assert_eq!(s.service_name, "edge-eu");
        assert_eq!(s.sampling_ratio, 0.01);
        for (sampler, ratio) in [
            ("always_on", 1.0),
            ("always_off", 0.0),
            ("parentbased_always_off", 0.0),
        ] {
            let s = Settings::resolve(
                &FileSettings::default(),
                "g",
                env(&[("OTEL_TRACES_SAMPLER", sampler)]),
            )
            .unwrap();
            assert_eq!(s.sampling_ratio, ratio, "{sampler}");
        }
    }

    #[test]
    fn settings_invalid_sampler_env_is_an_error_naming_the_variable() {
        let err = Settings::resolve(
            &FileSettings::default(),
            "g",
            env(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]),
        )
        .unwrap_err();
        assert_eq!(err.name, "OTEL_TRACES_SAMPLER");
        let err = Settings::resolve(
            &FileSettings::default(),
            "g",
            env(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.name, "OTEL_TRACES_SAMPLER_ARG");
        assert!(err.to_string().contains("0.0 to 1.0"), "{err}");
    }
}
