//! `chaos list`: every fault kind with its parameters, defaults, target requirement and
//! on-wire effect, printed from the same table the validator reads.

use std::fmt::Write as _;
use std::io::Write;

use serde_json::{Value, json};

use super::catalog::{KINDS, KindSpec, Param, ParamDefault, ParamType, Slot};

/// Output format of `chaos list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Aligned text for people.
    Text,
    /// One JSON array for machines.
    Json,
}

/// Writes the catalog to `out`; write errors (a closed pipe) end the listing quietly.
pub(crate) fn run(format: Format, out: &mut impl Write) {
    let text = match format {
        Format::Text => text(),
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&json_value()).unwrap_or_default();
            json.push('\n');
            json
        }
    };
    let _ = out.write_all(text.as_bytes());
}

/// The catalog as text: a block per kind.
pub(crate) fn text() -> String {
    let mut out = String::new();
    for (i, spec) in KINDS.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_kind(&mut out, spec);
    }
    out
}

fn write_kind(out: &mut String, spec: &KindSpec) {
    let name = spec.kind.name();
    let keys: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
    let form = if spec.kind.shorthand_is_complete() {
        format!("{name}: TARGET | {{ {} }}", keys.join(", "))
    } else {
        format!("{name}: {{ {} }}", keys.join(", "))
    };
    let _ = writeln!(out, "{form}");
    let _ = writeln!(out, "  {}", spec.summary);
    let mut rows = Vec::new();
    flatten(spec.params, "", &mut rows);
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let defaults: Vec<String> = rows.iter().map(|(_, p)| default_text(p)).collect();
    let default_width = defaults.iter().map(String::len).max().unwrap_or(0);
    for ((key, param), default) in rows.iter().zip(&defaults) {
        let _ = writeln!(
            out,
            "    {key:width$}  {default:default_width$}  {}; {}",
            param.doc,
            param.ty.expected()
        );
    }
    if !spec.needs_one_of.is_empty() {
        let _ = writeln!(
            out,
            "    (at least one of: {})",
            spec.needs_one_of.join(", ")
        );
    }
    let _ = writeln!(out, "  target:      {}", spec.requires.describe());
    let _ = writeln!(out, "  on the wire: {}", spec.on_wire);
    let _ = writeln!(out, "  applied as:  {}", spec.mechanism);
    if let Some(slot) = spec.slot {
        let _ = writeln!(out, "  exclusive:   {}", exclusive(slot));
    }
}

/// Parameters with their dotted key, groups expanded (`abort.status`).
fn flatten(params: &'static [Param], prefix: &str, rows: &mut Vec<(String, &'static Param)>) {
    for param in params {
        let key = format!("{prefix}{}", param.name);
        rows.push((key.clone(), param));
        if let ParamType::Group(inner) = param.ty {
            flatten(inner, &format!("{key}."), rows);
        }
    }
}

fn default_text(param: &Param) -> String {
    match param.default {
        ParamDefault::Required => "required".to_owned(),
        ParamDefault::Unset => "optional".to_owned(),
        ParamDefault::Value(value) => format!("default {value}"),
    }
}

fn exclusive(slot: Slot) -> &'static str {
    match slot {
        Slot::Process => "no other process fault or http_errors on the same instance at once",
        Slot::Behaviour => "no other http_errors or process fault on the same instance at once",
        Slot::Listener => "no other refuse on the same instance at once",
        Slot::Partition => "no other partition on the same instance at once",
        Slot::GatewayFilter => "no other gateway_fault at once",
    }
}

fn json_value() -> Value {
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|spec| {
            json!({
                "kind": spec.kind.name(),
                "summary": spec.summary,
                "shorthand": spec.kind.shorthand_is_complete(),
                "parameters": params_json(spec.params),
                "needs_one_of": spec.needs_one_of,
                "target": spec.requires.describe(),
                "on_wire": spec.on_wire,
                "applied_as": spec.mechanism,
                "exclusive": spec.slot.map(exclusive),
            })
        })
        .collect();
    Value::Array(kinds)
}

fn params_json(params: &'static [Param]) -> Vec<Value> {
    params
        .iter()
        .map(|p| {
            let mut value = json!({
                "name": p.name,
                "type": p.ty.expected(),
                "required": p.default == ParamDefault::Required,
                "default": match p.default {
                    ParamDefault::Value(v) => Value::from(v),
                    ParamDefault::Required | ParamDefault::Unset => Value::Null,
                },
                "doc": p.doc,
            });
            if let (ParamType::Group(inner), Some(map)) = (p.ty, value.as_object_mut()) {
                map.insert("parameters".to_owned(), Value::from(params_json(inner)));
            }
            value
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::catalog::Kind;

    #[test]
    fn list_text_has_a_block_per_kind_with_every_parameter() {
        let text = text();
        for spec in KINDS {
            let header = text
                .lines()
                .find(|l| l.starts_with(&format!("{}: ", spec.kind.name())))
                .unwrap_or_else(|| panic!("no block for {:?}", spec.kind));
            for param in spec.params {
                assert!(header.contains(param.name), "{header}");
            }
            assert!(text.contains(spec.on_wire), "{:?}", spec.kind);
        }
        assert!(text.contains(
            "\n    jitter    default 0ms         random spread around `latency`; \
             a duration in whole milliseconds, e.g. `100ms`\n"
        ));
        assert!(text.contains("\n    abort.status    required      "));
        assert!(text.contains("\n  target:      an upstream with `via: proxy`\n"));
    }

    #[test]
    fn list_json_lists_every_kind_with_defaults() {
        let value = json_value();
        let kinds = value.as_array().unwrap();
        assert_eq!(kinds.len(), Kind::ALL.len());
        let latency = kinds.iter().find(|k| k["kind"] == "latency").unwrap();
        let jitter = &latency["parameters"][2];
        assert_eq!(jitter["name"], "jitter");
        assert_eq!(jitter["default"], "0ms");
        assert_eq!(latency["parameters"][1]["required"], true);
        let gateway = kinds.iter().find(|k| k["kind"] == "gateway_fault").unwrap();
        assert_eq!(gateway["parameters"][0]["parameters"][0]["name"], "status");
    }
}
