//! Reading a fault kind's parameters against its row of the catalog: unknown and missing keys,
//! types, ranges and defaults, every problem located at the parameter it is about.
//!
//! A default is the catalog's text, parsed like a written value, so what `chaos list` shows is
//! what the validator applies.

use config_yaml::FieldPath;
use config_yaml::units::{ByteSize, Duration, Percent};

use super::catalog::{Granularity, Kind, Param, ParamDefault, ParamType};
use super::fault::{AfterKill, Target};
use super::raw::RawParam;
use super::report::{Report, did_you_mean, is_name, one_of};
use crate::faultproxy::Stream;

/// One kind's (or group's) parameters as written.
pub(crate) struct Params<'a> {
    kind: Kind,
    /// `faults[i].KIND`, or a group's path under it.
    path: FieldPath,
    /// `KIND: TARGET`: the target written alone.
    shorthand: Option<String>,
    entries: &'a [(String, RawParam)],
    specs: &'static [Param],
}

/// A parameter's value: written (at its path), the shorthand target, or the catalog's
/// default text.
enum Source<'v> {
    Written(&'v RawParam, FieldPath),
    Shorthand,
    Default(&'static str),
}

// === impl Params ===

impl<'a> Params<'a> {
    /// Reads the body of a kind key, reporting unknown and missing parameters; `None` when the
    /// body is not a target or a mapping.
    pub(crate) fn new(
        report: &mut Report<'_>,
        kind: Kind,
        path: FieldPath,
        body: &'a RawParam,
    ) -> Option<Params<'a>> {
        let spec = kind.spec();
        let mut params = Params {
            kind,
            path,
            shorthand: None,
            entries: &[],
            specs: spec.params,
        };
        let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        let mapping = format!("a mapping with: {}", names.join(", "));
        match body {
            RawParam::Map(entries) => params.entries = entries,
            RawParam::Str(_) | RawParam::Int(_) | RawParam::Float(_) if kind.has_shorthand() => {
                params.shorthand = scalar_text(body);
            }
            RawParam::Null if kind.has_shorthand() => {
                report
                    .invalid(
                        params.path.clone(),
                        "missing target",
                        format!("an upstream name, or {mapping}"),
                    )
                    .hint = Some(format!("write `{}: UPSTREAM`", kind.name()));
                return None;
            }
            _ => {
                let expected = if kind.has_shorthand() {
                    format!("an upstream name, or {mapping}")
                } else {
                    mapping
                };
                report.invalid(params.path.clone(), "invalid type", expected);
                return None;
            }
        }
        params.check_keys(report, &names);
        Some(params)
    }

    /// Reports unknown keys, missing required parameters and an unmet `needs_one_of`.
    fn check_keys(&self, report: &mut Report<'_>, names: &[&str]) {
        for (key, _) in self.entries {
            if !names.contains(&key.as_str()) {
                let diagnostic = report.invalid(
                    self.path.key(key),
                    format!("unknown parameter `{key}` of `{}`", self.kind.name()),
                    one_of(names.iter().copied()),
                );
                diagnostic.value = None;
                diagnostic.hint = did_you_mean(key, names.iter().copied());
            }
        }
        for spec in self.specs {
            if spec.default == ParamDefault::Required && self.source(spec).is_none() {
                let diagnostic = report.invalid(
                    self.path.clone(),
                    format!("missing parameter `{}`", spec.name),
                    spec.ty.expected(),
                );
                diagnostic.value = None;
                if let Some(target) = &self.shorthand {
                    diagnostic.hint = Some(format!(
                        "write `{}: {{ target: {target}, {}: ... }}`",
                        self.kind.name(),
                        spec.name
                    ));
                }
            }
        }
        let one_of_names = self.kind.spec().needs_one_of;
        // Groups have no `needs_one_of`; only the kind's own row does.
        if self.specs == self.kind.spec().params
            && !one_of_names.is_empty()
            && !one_of_names.iter().any(|n| self.written(n).is_some())
        {
            let quoted: Vec<String> = one_of_names.iter().map(|n| format!("`{n}`")).collect();
            report
                .invalid(
                    self.path.clone(),
                    format!("`{}` needs {}", self.kind.name(), quoted.join(" or ")),
                    format!("at least one of: {}", one_of_names.join(", ")),
                )
                .value = None;
        }
    }

    fn spec(&self, name: &str) -> Option<&'static Param> {
        self.specs.iter().find(|p| p.name == name)
    }

    fn written(&self, name: &str) -> Option<&'a RawParam> {
        self.entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Where the value of `spec` comes from, if anywhere.
    fn source(&self, spec: &Param) -> Option<Source<'_>> {
        if spec.ty == ParamType::Target && self.shorthand.is_some() {
            return Some(Source::Shorthand);
        }
        match (self.written(spec.name), spec.default) {
            (Some(value), _) => Some(Source::Written(value, self.path.key(spec.name))),
            (None, ParamDefault::Value(text)) => Some(Source::Default(text)),
            (None, ParamDefault::Required | ParamDefault::Unset) => None,
        }
    }

    /// The text of a scalar parameter, its path, and whether it was written; reports other
    /// types. `None` when absent (without default) or not a scalar.
    fn text(&self, report: &mut Report<'_>, name: &str) -> Option<(String, FieldPath)> {
        let spec = self.spec(name)?;
        match self.source(spec)? {
            Source::Shorthand => Some((self.shorthand.clone()?, self.path.clone())),
            Source::Default(text) => Some((text.to_owned(), self.path.clone())),
            Source::Written(value, path) => match scalar_text(value) {
                Some(text) => Some((text, path)),
                None => {
                    report.invalid(path, "invalid type", spec.ty.expected());
                    None
                }
            },
        }
    }

    /// `target`: `NAME` or `NAME.N`.
    pub(crate) fn target(&self, report: &mut Report<'_>) -> Option<(Target, FieldPath)> {
        let (text, path) = self.text(report, "target")?;
        let (upstream, replica) = match text.rsplit_once('.') {
            Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (name, n.parse::<u32>().ok())
            }
            _ => (text.as_str(), None),
        };
        if !is_name(upstream) || (text.contains('.') && replica.is_none()) {
            report.invalid(path, "invalid target", ParamType::Target.expected());
            return None;
        }
        let target = Target {
            upstream: upstream.to_owned(),
            replica,
        };
        Some((target, path))
    }

    /// `then`.
    pub(crate) fn then(&self, report: &mut Report<'_>) -> Option<AfterKill> {
        let (text, path) = self.text(report, "then")?;
        match text.as_str() {
            "restart" => Some(AfterKill::Restart),
            "stay_down" => Some(AfterKill::StayDown),
            _ => self.bad(report, path, "then"),
        }
    }

    /// `stream`.
    pub(crate) fn stream(&self, report: &mut Report<'_>) -> Option<Stream> {
        let (text, path) = self.text(report, "stream")?;
        match text.as_str() {
            "downstream" => Some(Stream::Downstream),
            "upstream" => Some(Stream::Upstream),
            _ => self.bad(report, path, "stream"),
        }
    }

    /// A percentage parameter.
    pub(crate) fn percent(&self, report: &mut Report<'_>, name: &str) -> Option<Percent> {
        let (text, path) = self.text(report, name)?;
        text.parse()
            .map_err(|e| {
                report.unit(path, &e);
            })
            .ok()
    }

    /// A duration parameter, checked against its granularity.
    pub(crate) fn duration(&self, report: &mut Report<'_>, name: &str) -> Option<Duration> {
        let spec = self.spec(name)?;
        let (text, path) = self.text(report, name)?;
        let duration: Duration = text
            .parse()
            .map_err(|e| {
                report.unit(path.clone(), &e);
            })
            .ok()?;
        let (unit, nanos) = match spec.ty {
            ParamType::Duration(Granularity::Millis) => ("milliseconds", 1_000_000),
            ParamType::Duration(Granularity::Micros) => ("microseconds", 1_000),
            _ => return Some(duration),
        };
        if !duration.get().as_nanos().is_multiple_of(nanos) {
            report.invalid(
                path,
                format!("not a whole number of {unit}"),
                spec.ty.expected(),
            );
            return None;
        }
        Some(duration)
    }

    /// A duration parameter in whole milliseconds, as Toxiproxy takes it.
    pub(crate) fn millis(&self, report: &mut Report<'_>, name: &str) -> Option<i64> {
        self.duration(report, name)
            .and_then(|d| i64::try_from(d.get().as_millis()).ok())
    }

    /// A duration parameter in whole microseconds, as Toxiproxy takes it.
    pub(crate) fn micros(&self, report: &mut Report<'_>, name: &str) -> Option<i64> {
        self.duration(report, name)
            .and_then(|d| i64::try_from(d.get().as_micros()).ok())
    }

    /// A byte-size parameter in bytes.
    pub(crate) fn bytes(&self, report: &mut Report<'_>, name: &str) -> Option<i64> {
        let (text, path) = self.text(report, name)?;
        let size: ByteSize = text
            .parse()
            .map_err(|e| {
                report.unit(path.clone(), &e);
            })
            .ok()?;
        i64::try_from(size.bytes()).ok()
    }

    /// A whole-number parameter (`Integer` or `Status`), checked against its range.
    pub(crate) fn integer(&self, report: &mut Report<'_>, name: &str) -> Option<i64> {
        let spec = self.spec(name)?;
        let (min, max) = match spec.ty {
            ParamType::Integer { min, .. } => (i128::from(min), i128::from(i64::MAX)),
            ParamType::Status { min, max } => (i128::from(min), i128::from(max)),
            _ => return None,
        };
        let (value, path) = match self.source(spec)? {
            Source::Written(RawParam::Int(n), path) => (*n, path),
            Source::Written(_, path) => {
                report.invalid(path, "invalid type", spec.ty.expected());
                return None;
            }
            Source::Default(text) => (text.parse().ok()?, self.path.clone()),
            Source::Shorthand => return None,
        };
        if !(min..=max).contains(&value) {
            report.invalid(path, "out of range", spec.ty.expected());
            return None;
        }
        i64::try_from(value).ok()
    }

    /// A boolean parameter.
    pub(crate) fn flag(&self, report: &mut Report<'_>, name: &str) -> Option<bool> {
        let spec = self.spec(name)?;
        match self.source(spec)? {
            Source::Written(RawParam::Bool(b), _) => Some(*b),
            Source::Written(_, path) => {
                report.invalid(path, "invalid type", spec.ty.expected());
                None
            }
            Source::Default(text) => text.parse().ok(),
            Source::Shorthand => None,
        }
    }

    /// A list of strings (program and arguments), each with its path; not empty.
    pub(crate) fn argv(
        &self,
        report: &mut Report<'_>,
        name: &str,
    ) -> Option<Vec<(String, FieldPath)>> {
        let spec = self.spec(name)?;
        let (value, path) = match self.source(spec)? {
            Source::Written(value, path) => (value, path),
            Source::Default(_) | Source::Shorthand => return None,
        };
        let RawParam::Seq(items) = value else {
            report.invalid(path, "invalid type", spec.ty.expected());
            return None;
        };
        if items.is_empty() {
            report.invalid(path, "empty command", spec.ty.expected());
            return None;
        }
        let mut argv = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match scalar_text(item) {
                Some(text) => argv.push((text, path.index(i))),
                None => {
                    report.invalid(path.index(i), "invalid type", "a string");
                }
            }
        }
        (argv.len() == items.len()).then_some(argv)
    }

    /// A group parameter (`abort: { status, percent }`), if written.
    pub(crate) fn group(&self, report: &mut Report<'_>, name: &str) -> Option<Params<'a>> {
        let spec = self.spec(name)?;
        let ParamType::Group(specs) = spec.ty else {
            return None;
        };
        let value = self.written(name)?;
        let path = self.path.key(name);
        let RawParam::Map(entries) = value else {
            report.invalid(path, "invalid type", spec.ty.expected());
            return None;
        };
        let group = Params {
            kind: self.kind,
            path,
            shorthand: None,
            entries,
            specs,
        };
        let names: Vec<&str> = specs.iter().map(|p| p.name).collect();
        group.check_keys(report, &names);
        Some(group)
    }

    /// Reports an invalid value of an enumerated parameter.
    fn bad<T>(&self, report: &mut Report<'_>, path: FieldPath, name: &str) -> Option<T> {
        let expected = self.spec(name).map(|s| s.ty.expected()).unwrap_or_default();
        report.invalid(path, "invalid value", expected);
        None
    }
}

/// The text of a scalar: strings as written, numbers in their shortest form.
fn scalar_text(value: &RawParam) -> Option<String> {
    match value {
        RawParam::Str(s) => Some(s.clone()),
        RawParam::Int(n) => Some(n.to_string()),
        RawParam::Float(f) => Some(f.to_string()),
        RawParam::Null | RawParam::Bool(_) | RawParam::Seq(_) | RawParam::Map(_) => None,
    }
}
