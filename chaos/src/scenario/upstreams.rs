//! `system.upstreams` → [`Upstream`]s: exactly one of `builtin`, `command`, `address`, with
//! the keys each allows, and the path between gateway and upstream (`via`).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use config_yaml::FieldPath;
use http::uri::Authority;

use super::placeholders::{Scope, template};
use super::plan::{Builtin, CommandUpstream, Ready, ReadyProbe, Upstream, UpstreamSource, Via};
use super::raw::{RawUpstream, RawVia};
use super::report::{NAME_RULE, Report, is_name};
use super::template::{Placeholder, Template};

/// How long a `command` upstream may take to become ready when `ready.timeout` is unset.
pub(crate) const DEFAULT_READY: Duration = Duration::from_secs(10);
const MAX_REPLICAS: u32 = 64;
const UPSTREAM_FORMS: &str =
    "exactly one of `builtin: {...}`, `command: [PROGRAM, ARGS...]` or `address: HOST:PORT`";

/// Every upstream declared; `None` for one that is declared but invalid (already reported),
/// so references to it are not reported again.
pub(crate) type Upstreams = BTreeMap<String, Option<Upstream>>;

/// Validates every upstream.
pub(crate) fn upstreams(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &BTreeMap<String, RawUpstream>,
) -> Upstreams {
    raw.iter()
        .map(|(name, up)| (name.clone(), upstream(report, path.key(name), name, up)))
        .collect()
}

fn upstream(
    report: &mut Report<'_>,
    path: FieldPath,
    name: &str,
    raw: &RawUpstream,
) -> Option<Upstream> {
    let before = report.count();
    if !is_name(name) {
        report
            .invalid(path.clone(), "invalid upstream name", NAME_RULE)
            .value = Some(format!("{name:?}"));
    }
    let written: Vec<&str> = [
        ("builtin", raw.builtin.is_some()),
        ("command", raw.command.is_some()),
        ("address", raw.address.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    match written.as_slice() {
        [] => {
            report
                .invalid(path.clone(), "missing upstream kind", UPSTREAM_FORMS)
                .value = None;
        }
        [first, second, ..] => {
            report.invalid(
                path.key(*second),
                format!("`{first}` and `{second}` are exclusive"),
                UPSTREAM_FORMS,
            );
        }
        [_] => {}
    }
    let is = |key: &str| written.first() == Some(&key);
    for (key, set, kind) in [
        ("replicas", raw.replicas.is_some(), "builtin"),
        ("ready", raw.ready.is_some(), "command"),
        ("env", raw.env.is_some(), "command"),
    ] {
        if set && !is(kind) {
            report.invalid(
                path.key(key),
                format!("`{key}` only applies to a `{kind}` upstream"),
                format!("a `{kind}` upstream, or no `{key}`"),
            );
        }
    }
    let via = match raw.via {
        None | Some(RawVia::Direct) => Via::Direct,
        Some(RawVia::Proxy) => Via::Proxy,
        Some(RawVia::Netns) => Via::Netns,
    };
    let source = if let Some(b) = raw.builtin.as_ref().filter(|_| is("builtin")) {
        let status = b.error_status.unwrap_or(500);
        if !(400..=599).contains(&status) {
            report.invalid(
                path.key("builtin").key("error_status"),
                "out of range",
                "an HTTP status from 400 to 599",
            );
        }
        let replicas = raw.replicas.unwrap_or(1);
        let replicas = NonZeroU32::new(replicas).filter(|n| n.get() <= MAX_REPLICAS);
        if replicas.is_none() {
            report.invalid(
                path.key("replicas"),
                "out of range",
                format!("1 to {MAX_REPLICAS}"),
            );
        }
        replicas.map(|replicas| {
            UpstreamSource::Builtin(Builtin {
                latency: b.latency.map_or(Duration::ZERO, |d| d.get()),
                error_rate: b.error_rate.map_or(0.0, |p| p.ratio()),
                error_status: status,
                healthy: b.healthy.unwrap_or(true),
                replicas,
            })
        })
    } else if let Some(argv) = raw.command.as_ref().filter(|_| is("command")) {
        command(report, &path, argv, raw)
    } else if let Some(address) = raw.address.as_ref().filter(|_| is("address")) {
        if via == Via::Netns {
            report.invalid(
                path.key("via"),
                "`via: netns` needs an upstream the runner starts",
                "`direct` or `proxy` for an `address` upstream",
            );
        }
        authority(address)
            .or_else(|| {
                report.invalid(
                    path.key("address"),
                    "invalid address",
                    "HOST:PORT with a port above 0",
                );
                None
            })
            .map(UpstreamSource::Address)
    } else {
        None
    };
    match source {
        Some(source) if report.count() == before => Some(Upstream {
            name: name.to_owned(),
            source,
            via,
        }),
        _ => None,
    }
}

fn command(
    report: &mut Report<'_>,
    path: &FieldPath,
    argv: &[String],
    raw: &RawUpstream,
) -> Option<UpstreamSource> {
    let none = Upstreams::new();
    if argv.is_empty() {
        report.invalid(path.key("command"), "empty command", "[PROGRAM, ARGS...]");
    }
    let argv: Vec<Template> = argv
        .iter()
        .enumerate()
        .filter_map(|(i, arg)| {
            template(
                report,
                &none,
                Scope::Process,
                arg,
                path.key("command").index(i),
            )
        })
        .collect();
    let env = env(
        report,
        &none,
        Scope::Process,
        raw.env.as_ref(),
        path.key("env"),
    );
    let uses_port = argv
        .iter()
        .chain(env.values())
        .any(|t| t.placeholders().any(|p| *p == Placeholder::Port));
    if !uses_port {
        report
            .invalid(
                path.key("command"),
                "the command does not say where to listen",
                "`{{port}}` in an argument or an `env` value (the runner picks a free port)",
            )
            .value = None;
    }
    let ready_path = path.key("ready");
    let ready = match &raw.ready {
        None => Some(Ready {
            probe: ReadyProbe::Tcp,
            timeout: DEFAULT_READY,
        }),
        Some(r) => {
            let timeout = r.timeout.map_or(DEFAULT_READY, |d| d.get());
            if timeout.is_zero() {
                report.invalid(
                    ready_path.key("timeout"),
                    "zero timeout",
                    "a duration above 0",
                );
            }
            let probe = match (&r.http, r.tcp) {
                (Some(_), Some(_)) => {
                    report.invalid(
                        ready_path.key("tcp"),
                        "`http` and `tcp` are exclusive",
                        "one check",
                    );
                    None
                }
                (Some(p), None) if p.starts_with('/') => Some(ReadyProbe::Http(p.clone())),
                (Some(_), None) => {
                    report.invalid(
                        ready_path.key("http"),
                        "invalid path",
                        "a path starting with /",
                    );
                    None
                }
                (None, Some(true)) => Some(ReadyProbe::Tcp),
                (None, Some(false)) => {
                    report.invalid(
                        ready_path.key("tcp"),
                        "invalid value",
                        "`tcp: true`, or `http: PATH`",
                    );
                    None
                }
                (None, None) => {
                    report
                        .invalid(ready_path, "missing check", "`http: PATH` or `tcp: true`")
                        .value = None;
                    None
                }
            };
            probe.map(|probe| Ready { probe, timeout })
        }
    };
    ready.map(|ready| UpstreamSource::Command(CommandUpstream { argv, ready, env }))
}

/// Environment variables: valid names, templated values.
pub(crate) fn env(
    report: &mut Report<'_>,
    upstreams: &Upstreams,
    scope: Scope,
    raw: Option<&BTreeMap<String, String>>,
    path: FieldPath,
) -> BTreeMap<String, Template> {
    let mut env = BTreeMap::new();
    for (key, value) in raw.into_iter().flatten() {
        if key.is_empty() || key.contains(['=', '\0']) {
            report.invalid(path.key(key), "invalid variable name", "a name without `=`");
            continue;
        }
        if let Some(t) = template(report, upstreams, scope, value, path.key(key)) {
            env.insert(key.clone(), t);
        }
    }
    env
}

/// `HOST:PORT` with a port above 0 and no user info.
fn authority(text: &str) -> Option<Authority> {
    text.parse::<Authority>().ok().filter(|a| {
        a.port_u16().is_some_and(|p| p != 0) && !a.host().is_empty() && !text.contains('@')
    })
}
