//! `system:` → [`System`](super::plan::System): the gateway (spawned from a config template,
//! or attached), the upstreams (see `upstreams`) and the backends.

use std::path::Path;

use config_yaml::FieldPath;
use http::Uri;

use super::placeholders::{GatewayProbe, Scope, config_template, normalize, template};
use super::plan::{
    AttachGateway, Backends, FaultProxyBackend, Gateway, GatewayBinary, MetricsBackend,
    SpawnGateway, TracesBackend,
};
use super::raw::{NameOr, RawBackends, RawGateway, RawSystem};
use super::report::Report;
use super::template::Template;
use super::upstreams::{DEFAULT_READY, Upstreams, env, upstreams};

const JAEGER: &str = "http://127.0.0.1:16686";
const OTLP: &str = "http://127.0.0.1:4318";
const ADMIN: &str = "http://127.0.0.1:9901";
const GATEWAY_FORMS: &str = "`config: PATH` to spawn the gateway, or `url: http://HOST:PORT` with \
                             `admin: http://HOST:PORT` to attach to a running one";

/// What `system:` validated to, part by part (a part is `None` when it had problems).
pub(crate) struct SystemParts {
    pub(crate) gateway: Option<Gateway>,
    pub(crate) upstreams: Upstreams,
    pub(crate) backends: Option<Backends>,
    /// What the spawned gateway's config declares, when it could be read.
    pub(crate) probe: Option<GatewayProbe>,
}

/// Validates `system`; `base_dir` is the scenario's folder.
pub(crate) fn system(
    report: &mut Report<'_>,
    raw: Option<&RawSystem>,
    base_dir: &Path,
) -> SystemParts {
    let path = FieldPath::root().key("system");
    let Some(raw) = raw else {
        report.missing(
            &FieldPath::root(),
            "system",
            "the gateway and its upstreams",
        );
        return SystemParts {
            gateway: None,
            upstreams: Upstreams::new(),
            backends: None,
            probe: None,
        };
    };
    let upstreams = upstreams(report, &path.key("upstreams"), &raw.upstreams);
    let (gateway, probe) = match &raw.gateway {
        Some(g) => gateway(report, path.key("gateway"), g, &upstreams, base_dir),
        None => {
            report.missing(&path, "gateway", GATEWAY_FORMS);
            (None, None)
        }
    };
    let backends = backends(report, path.key("backends"), raw.backends.as_ref());
    SystemParts {
        gateway,
        upstreams,
        backends,
        probe,
    }
}

fn gateway(
    report: &mut Report<'_>,
    path: FieldPath,
    raw: &RawGateway,
    upstreams: &Upstreams,
    base_dir: &Path,
) -> (Option<Gateway>, Option<GatewayProbe>) {
    let before = report.count();
    match (&raw.config, &raw.url) {
        (Some(_), Some(_)) => {
            report.invalid(
                path.key("url"),
                "`config` and `url` are exclusive",
                GATEWAY_FORMS,
            );
            (None, None)
        }
        (None, None) => {
            report.missing(&path, "config", GATEWAY_FORMS).value = None;
            (None, None)
        }
        (None, Some(url)) => {
            let only_with_config = [
                ("binary", raw.binary.is_some()),
                ("ready", raw.ready.is_some()),
                ("args", raw.args.is_some()),
                ("env", raw.env.is_some()),
            ];
            for (key, _) in only_with_config.iter().filter(|(_, set)| *set) {
                report.invalid(
                    path.key(*key),
                    format!("`{key}` only applies to a spawned gateway"),
                    format!("`config: PATH` instead of `url`, or no `{key}`"),
                );
            }
            let url = base_url(report, path.key("url"), url, true, "http://127.0.0.1:8080");
            let admin = match &raw.admin {
                Some(admin) => base_url(report, path.key("admin"), admin, true, ADMIN),
                None => {
                    report.missing(
                        &path,
                        "admin",
                        "the admin base URL, e.g. http://127.0.0.1:9901",
                    );
                    None
                }
            };
            let gateway = match (url, admin) {
                (Some(url), Some(admin)) if report.count() == before => {
                    Some(Gateway::Attach(AttachGateway { url, admin }))
                }
                _ => None,
            };
            (gateway, None)
        }
        (Some(config), None) => {
            if raw.admin.is_some() {
                report.invalid(
                    path.key("admin"),
                    "`admin` only applies to an attached gateway",
                    "no `admin`: the runner reads a spawned gateway's admin address from its output",
                );
            }
            let file = normalize(&base_dir.join(config));
            let (config_text, probe) =
                config_template(report, path.key("config"), &file, upstreams);
            let ready = raw.ready.map_or(DEFAULT_READY, |d| d.get());
            if ready.is_zero() {
                report.invalid(
                    path.key("ready"),
                    "zero ready timeout",
                    "a duration above 0, e.g. `10s`",
                );
            }
            let binary = match raw.binary.as_deref() {
                None => GatewayBinary::Default,
                Some("") => {
                    report.invalid(
                        path.key("binary"),
                        "empty binary",
                        "a path or a program name",
                    );
                    GatewayBinary::Default
                }
                Some(b) if b.contains('/') => GatewayBinary::Path(normalize(&base_dir.join(b))),
                Some(b) => GatewayBinary::Program(b.to_owned()),
            };
            let args: Vec<Template> = raw
                .args
                .iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, arg)| {
                    template(
                        report,
                        upstreams,
                        Scope::Topology,
                        arg,
                        path.key("args").index(i),
                    )
                })
                .collect();
            let env = env(
                report,
                upstreams,
                Scope::Topology,
                raw.env.as_ref(),
                path.key("env"),
            );
            let gateway = match config_text {
                Some(template) if report.count() == before => Some(Gateway::Spawn(SpawnGateway {
                    config: file,
                    template,
                    binary,
                    ready,
                    args,
                    env,
                })),
                _ => None,
            };
            (gateway, probe)
        }
    }
}

fn backends(
    report: &mut Report<'_>,
    path: FieldPath,
    raw: Option<&RawBackends>,
) -> Option<Backends> {
    let before = report.count();
    let mut backends = Backends {
        traces: TracesBackend::Embedded,
        metrics: MetricsBackend::Scrape,
        fault_proxy: FaultProxyBackend::Embedded,
    };
    let Some(raw) = raw else {
        return Some(backends);
    };
    let name =
        |report: &mut Report<'_>, key: &str, written: &str, allowed: &str, map_form: &str| {
            if written != allowed {
                report.invalid(
                    path.key(key),
                    "unknown backend",
                    format!("`{allowed}`, or {map_form}"),
                );
            }
        };
    let traces_form = "`{ jaeger: URL, otlp: URL }`";
    match &raw.traces {
        None => {}
        Some(NameOr::Name(n)) => name(report, "traces", n, "embedded", traces_form),
        Some(NameOr::Map(m)) => {
            let p = path.key("traces");
            let query = required_url(report, &p, "jaeger", m.jaeger.as_deref(), JAEGER);
            let otlp = required_url(report, &p, "otlp", m.otlp.as_deref(), OTLP);
            if let (Some(query), Some(otlp)) = (query, otlp) {
                backends.traces = TracesBackend::Jaeger { query, otlp };
            }
        }
    }
    match &raw.metrics {
        None => {}
        Some(NameOr::Name(n)) => name(report, "metrics", n, "scrape", "`{ prometheus: URL }`"),
        Some(NameOr::Map(m)) => {
            let url = required_url(
                report,
                &path.key("metrics"),
                "prometheus",
                m.prometheus.as_deref(),
                "http://127.0.0.1:9090",
            );
            backends.metrics = url.map_or(MetricsBackend::Scrape, MetricsBackend::Prometheus);
        }
    }
    match &raw.fault_proxy {
        None => {}
        Some(NameOr::Name(n)) => name(report, "fault_proxy", n, "embedded", "`{ toxiproxy: URL }`"),
        Some(NameOr::Map(m)) => {
            let url = required_url(
                report,
                &path.key("fault_proxy"),
                "toxiproxy",
                m.toxiproxy.as_deref(),
                "http://127.0.0.1:8474",
            );
            backends.fault_proxy =
                url.map_or(FaultProxyBackend::Embedded, FaultProxyBackend::Toxiproxy);
        }
    }
    (report.count() == before).then_some(backends)
}

fn required_url(
    report: &mut Report<'_>,
    parent: &FieldPath,
    key: &str,
    url: Option<&str>,
    example: &str,
) -> Option<Uri> {
    match url {
        Some(url) => base_url(report, parent.key(key), url, false, example),
        None => {
            report
                .missing(parent, key, format!("a base URL, e.g. {example}"))
                .value = None;
            None
        }
    }
}

/// `http://HOST[:PORT]` (https allowed unless `gateway`; a port required when `gateway`),
/// without path beyond `/` or query.
fn base_url(
    report: &mut Report<'_>,
    path: FieldPath,
    text: &str,
    gateway: bool,
    example: &str,
) -> Option<Uri> {
    let uri = text.parse::<Uri>().ok().filter(|u| {
        let scheme_ok = match u.scheme_str() {
            Some("http") => true,
            Some("https") => !gateway,
            _ => false,
        };
        let port_ok = !gateway || u.port_u16().is_some_and(|p| p != 0);
        let path_ok = u
            .path_and_query()
            .is_none_or(|p| p.as_str() == "/" || p.as_str().is_empty());
        scheme_ok && port_ok && path_ok && u.host().is_some_and(|h| !h.is_empty())
    });
    if uri.is_none() {
        let expected = if gateway {
            format!("a base URL http://HOST:PORT, e.g. {example}")
        } else {
            format!("a base URL http(s)://HOST[:PORT], e.g. {example}")
        };
        report.invalid(path, "invalid URL", expected);
    }
    uri
}
