//! Placeholders such as `{{upstream.users-a}}`: parsed once at validation, replaced with the
//! runner's actual addresses when the run starts.
//!
//! They appear in the gateway config template, in trace attribute values, in command
//! arguments and environment values. Text substitution, not YAML: the template is not YAML
//! until rendered (`endpoints: {{endpoints.users}}`). `{{` always opens a placeholder (there
//! is no escape), spaces inside the braces are ignored, and an unknown or unclosed one is an
//! error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// One placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{{upstream.NAME}}` or `{{upstream.NAME.N}}`: the address the gateway uses for the
    /// upstream (its only instance) or for replica N (from 0).
    Upstream {
        /// The upstream.
        name: String,
        /// The replica, if written.
        replica: Option<u32>,
    },
    /// `{{endpoints.NAME}}`: a YAML flow list of every replica's address.
    Endpoints(String),
    /// `{{otlp}}`: the OTLP/HTTP base URL of the trace backend.
    Otlp,
    /// `{{run_dir}}`: the run folder.
    RunDir,
    /// `{{port}}`: the free port a `command` upstream must listen on.
    Port,
}

/// Text with placeholders, ready to render.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Placeholder(Placeholder),
}

/// A placeholder found while parsing, with where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) placeholder: Placeholder,
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// As written, braces included.
    pub(crate) text: String,
}

/// What [`Template::parse`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The template (malformed placeholders kept as text).
    pub(crate) template: Template,
    /// Every placeholder, in order.
    pub(crate) found: Vec<Found>,
    /// Every `{{` that is not a placeholder, in order; the template is only usable when empty.
    pub(crate) malformed: Vec<Malformed>,
}

/// A `{{` that is not a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// As written, braces included (up to the end of the line when unclosed).
    pub(crate) text: String,
    /// `false` when the closing `}}` is missing.
    pub(crate) closed: bool,
}

/// The addresses and places the runner chose, which placeholders are replaced with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topology {
    /// Upstream name to the address (`host:port`) of each replica, in replica order: what
    /// the gateway must use (the proxy's listen address with `via: proxy`, the namespace
    /// address with `via: netns`).
    pub upstreams: BTreeMap<String, Vec<String>>,
    /// The OTLP/HTTP base URL of the trace backend, e.g. `http://127.0.0.1:4318`.
    pub otlp: String,
    /// The run folder.
    pub run_dir: PathBuf,
}

/// Why a template could not be rendered with a topology.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The topology has no addresses for the upstream.
    #[error("no addresses for upstream `{name}`")]
    UnknownUpstream {
        /// The upstream.
        name: String,
    },
    /// `{{upstream.NAME}}` where the upstream does not have exactly one address.
    #[error("`{{{{upstream.{name}}}}}` needs exactly one address, upstream `{name}` has {count}")]
    NotOneAddress {
        /// The upstream.
        name: String,
        /// How many addresses it has.
        count: usize,
    },
    /// `{{upstream.NAME.N}}` beyond the upstream's replicas.
    #[error("upstream `{name}` has {count} addresses, no replica {replica}")]
    NoReplica {
        /// The upstream.
        name: String,
        /// The replica asked for.
        replica: u32,
        /// How many addresses it has.
        count: usize,
    },
    /// A placeholder that has no value in this context (e.g. `{{port}}` in the gateway
    /// config).
    #[error("`{placeholder}` has no value here")]
    Unavailable {
        /// The placeholder, as written.
        placeholder: String,
    },
    /// The gateway is attached, so there is no config to render.
    #[error("the gateway is attached (`system.gateway.url`): there is no config to render")]
    NotSpawned,
}

// === impl Placeholder ===

impl Placeholder {
    /// Every form, for messages.
    pub const FORMS: &'static str =
        "{{upstream.NAME}}, {{upstream.NAME.N}}, {{endpoints.NAME}}, {{otlp}}, {{run_dir}}";

    /// Parses the inside of the braces.
    fn parse(inner: &str) -> Option<Placeholder> {
        let inner = inner.trim();
        match inner {
            "otlp" => return Some(Placeholder::Otlp),
            "run_dir" => return Some(Placeholder::RunDir),
            "port" => return Some(Placeholder::Port),
            _ => {}
        }
        if let Some(name) = inner.strip_prefix("endpoints.") {
            return (!name.is_empty()).then(|| Placeholder::Endpoints(name.to_owned()));
        }
        let rest = inner.strip_prefix("upstream.")?;
        let (name, replica) = match rest.rsplit_once('.') {
            Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (name, Some(n.parse().ok()?))
            }
            _ => (rest, None),
        };
        (!name.is_empty()).then(|| Placeholder::Upstream {
            name: name.to_owned(),
            replica,
        })
    }

    /// The upstream it refers to, if any.
    pub fn upstream(&self) -> Option<&str> {
        match self {
            Placeholder::Upstream { name, .. } | Placeholder::Endpoints(name) => Some(name),
            Placeholder::Otlp | Placeholder::RunDir | Placeholder::Port => None,
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placeholder::Upstream {
                name,
                replica: None,
            } => write!(f, "{{{{upstream.{name}}}}}"),
            Placeholder::Upstream {
                name,
                replica: Some(n),
            } => write!(f, "{{{{upstream.{name}.{n}}}}}"),
            Placeholder::Endpoints(name) => write!(f, "{{{{endpoints.{name}}}}}"),
            Placeholder::Otlp => f.write_str("{{otlp}}"),
            Placeholder::RunDir => f.write_str("{{run_dir}}"),
            Placeholder::Port => f.write_str("{{port}}"),
        }
    }
}

// === impl Template ===

impl Template {
    /// Splits `text` into text and placeholders; a malformed `{{` (unknown or unclosed) is
    /// kept as text in the template and listed in [`Parsed::malformed`].
    pub(crate) fn parse(text: &str) -> Parsed {
        let mut parts = Vec::new();
        let mut found = Vec::new();
        let mut malformed = Vec::new();
        let mut rest = text;
        let mut consumed = 0;
        // Indexes below come from `find` on ASCII patterns, so they are char boundaries.
        while let Some(open) = rest.find("{{") {
            let (line, column) = line_column(text, consumed + open);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                let shown = rest[open..].lines().next().unwrap_or_default().to_owned();
                malformed.push(Malformed {
                    line,
                    column,
                    text: shown,
                    closed: false,
                });
                break;
            };
            let end = open + 2 + close + 2;
            let written = &rest[open..end];
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            match Placeholder::parse(&after[..close]) {
                Some(placeholder) => {
                    found.push(Found {
                        placeholder: placeholder.clone(),
                        line,
                        column,
                        text: written.to_owned(),
                    });
                    parts.push(Part::Placeholder(placeholder));
                }
                None => {
                    malformed.push(Malformed {
                        line,
                        column,
                        text: written.to_owned(),
                        closed: true,
                    });
                    parts.push(Part::Text(written.to_owned()));
                }
            }
            consumed += end;
            rest = &rest[end..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Parsed {
            template: Template { parts },
            found,
            malformed,
        }
    }

    /// Text without placeholders.
    pub fn literal(text: impl Into<String>) -> Template {
        Template {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// The placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|part| match part {
            Part::Placeholder(p) => Some(p),
            Part::Text(_) => None,
        })
    }

    /// The text with each placeholder replaced by `resolve`'s answer.
    pub fn render_with(
        &self,
        mut resolve: impl FnMut(&Placeholder) -> Result<String, RenderError>,
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Placeholder(p) => out.push_str(&resolve(p)?),
            }
        }
        Ok(out)
    }

    /// The text with the topology's values (`{{port}}` has none).
    pub fn render(&self, topology: &Topology) -> Result<String, RenderError> {
        self.render_with(|p| topology.resolve(p))
    }
}

/// The template as written.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(text)?,
                Part::Placeholder(p) => write!(f, "{p}")?,
            }
        }
        Ok(())
    }
}

// === impl Topology ===

impl Topology {
    /// The value of one placeholder.
    pub fn resolve(&self, placeholder: &Placeholder) -> Result<String, RenderError> {
        let addresses = |name: &str| {
            self.upstreams
                .get(name)
                .ok_or_else(|| RenderError::UnknownUpstream {
                    name: name.to_owned(),
                })
        };
        match placeholder {
            Placeholder::Upstream {
                name,
                replica: None,
            } => match addresses(name)?.as_slice() {
                [only] => Ok(only.clone()),
                all => Err(RenderError::NotOneAddress {
                    name: name.clone(),
                    count: all.len(),
                }),
            },
            Placeholder::Upstream {
                name,
                replica: Some(n),
            } => {
                let all = addresses(name)?;
                usize::try_from(*n)
                    .ok()
                    .and_then(|i| all.get(i))
                    .cloned()
                    .ok_or(RenderError::NoReplica {
                        name: name.clone(),
                        replica: *n,
                        count: all.len(),
                    })
            }
            Placeholder::Endpoints(name) => {
                let items: Vec<String> = addresses(name)?
                    .iter()
                    .map(|a| format!("{{ address: {a:?} }}"))
                    .collect();
                Ok(format!("[{}]", items.join(", ")))
            }
            Placeholder::Otlp => Ok(self.otlp.clone()),
            Placeholder::RunDir => Ok(self.run_dir.display().to_string()),
            Placeholder::Port => Err(RenderError::Unavailable {
                placeholder: placeholder.to_string(),
            }),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> Template {
        let parsed = Template::parse(text);
        assert!(parsed.malformed.is_empty(), "{text}");
        parsed.template
    }

    fn topology() -> Topology {
        let mut upstreams = BTreeMap::new();
        upstreams.insert("users-a".to_owned(), vec!["127.0.0.1:4001".to_owned()]);
        upstreams.insert(
            "orders".to_owned(),
            vec!["127.0.0.1:5000".to_owned(), "127.0.0.1:5001".to_owned()],
        );
        Topology {
            upstreams,
            otlp: "http://127.0.0.1:4318".to_owned(),
            run_dir: PathBuf::from("/tmp/run-1"),
        }
    }

    #[test]
    fn template_renders_every_placeholder_form() {
        let text = "a: \"{{upstream.users-a}}\"\nb: \"{{ upstream.orders.1 }}\"\n\
                    endpoints: {{endpoints.orders}}\notlp: {{otlp}}\ndir: {{run_dir}}/x\n";
        let Parsed {
            template,
            found,
            malformed,
        } = Template::parse(text);
        assert!(malformed.is_empty());
        assert_eq!(found.len(), 5);
        assert_eq!((found[1].line, found[1].column), (2, 5));
        assert_eq!(
            template.render(&topology()).unwrap(),
            "a: \"127.0.0.1:4001\"\nb: \"127.0.0.1:5001\"\n\
             endpoints: [{ address: \"127.0.0.1:5000\" }, { address: \"127.0.0.1:5001\" }]\n\
             otlp: http://127.0.0.1:4318\ndir: /tmp/run-1/x\n"
        );
        assert_eq!(
            template.to_string(),
            text.replace("{{ upstream.orders.1 }}", "{{upstream.orders.1}}")
        );
    }

    #[test]
    fn template_without_placeholders_renders_unchanged() {
        let parsed = Template::parse("listen: 127.0.0.1:0\n");
        let (template, found) = (parsed.template, parsed.found);
        assert!(found.is_empty());
        assert_eq!(
            template.render(&Topology::default()).unwrap(),
            "listen: 127.0.0.1:0\n"
        );
    }

    #[test]
    fn template_unknown_and_unclosed_placeholders_are_located() {
        let text = "x: {{upstreams.a}}\ny: é {{otlp\n";
        let parsed = Template::parse(text);
        assert_eq!(parsed.found.len(), 0);
        let malformed = parsed.malformed;
        assert_eq!(malformed.len(), 2);
        assert_eq!((malformed[0].line, malformed[0].column), (1, 4));
        assert_eq!(malformed[0].text, "{{upstreams.a}}");
        assert!(malformed[0].closed);
        assert_eq!((malformed[1].line, malformed[1].column), (2, 6));
        assert_eq!(malformed[1].text, "{{otlp");
        assert!(!malformed[1].closed);
    }

    #[test]
    fn template_render_errors_name_the_missing_address() {
        let t = template("{{upstream.orders}}");
        assert_eq!(
            t.render(&topology()),
            Err(RenderError::NotOneAddress {
                name: "orders".into(),
                count: 2
            })
        );
        let t = template("{{upstream.orders.2}}");
        assert!(matches!(
            t.render(&topology()),
            Err(RenderError::NoReplica { replica: 2, .. })
        ));
        let t = template("{{endpoints.nope}}");
        assert!(matches!(
            t.render(&topology()),
            Err(RenderError::UnknownUpstream { .. })
        ));
        let t = template("--port={{port}}");
        assert!(matches!(
            t.render(&topology()),
            Err(RenderError::Unavailable { .. })
        ));
        let argv = t.render_with(|p| match p {
            Placeholder::Port => Ok("8080".into()),
            other => topology().resolve(other),
        });
        assert_eq!(argv.unwrap(), "--port=8080");
    }
}
