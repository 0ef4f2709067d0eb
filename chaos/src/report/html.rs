//! The HTML report (`--html FILE`): one self-contained page per drill (inline CSS and SVG,
//! no script, nothing loaded from anywhere) with the run's facts, the timeline chart and
//! the objective table; each objective's checks and evidence fold out below it.

use std::fmt::Write as _;
use std::path::Path;

use crate::verdict::{Status, Verdict, figures};

use super::error::{self, ReportError};
use super::{DrillResult, chart};

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#111827;background:#f9fafb}
h1{font-size:22px;margin:0 0 4px}
.meta{color:#4b5563;margin:0 0 16px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.badge.pass{background:#16a34a}.badge.fail{background:#dc2626}.badge.inconclusive{background:#d97706}
tr.fail td{background:#fef2f2}tr.inconclusive td{background:#fffbeb}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px;margin:0 0 16px}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{background:#f3f4f6}
td.s{white-space:nowrap}
details{margin:4px 0}
pre{background:#f3f4f6;padding:8px;overflow:auto;max-height:320px;font-size:12px}
";

/// Escapes text for HTML and SVG.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn badge(status: Status) -> String {
    format!(r#"<span class="badge {0}">{0}</span>"#, status.as_str())
}

/// The page of `result`.
pub fn html(result: &DrillResult) -> String {
    let mut s = String::new();
    let c = result.counts();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} - chaos drill</title><style>{STYLE}</style></head><body>",
        escape(&result.scenario)
    );
    let _ = write!(
        s,
        "<h1>{} {}</h1><p class=\"meta\">{}</p>",
        escape(&result.scenario),
        badge(result.status()),
        escape(&result.description)
    );
    let _ = write!(
        s,
        "<p class=\"meta\">{} &middot; seed {} &middot; started {} &middot; load {} &middot; {} \
         &middot; {} passed, {} failed, {} inconclusive &middot; exit {}</p>",
        escape(&result.path.display().to_string()),
        result.seed,
        escape(&super::utc(result.started_at)),
        escape(&figures::duration(result.duration)),
        escape(&result.outcome.describe()),
        c.passed,
        c.failed,
        c.inconclusive,
        result.exit_code()
    );

    s.push_str("<div class=\"card\"><h2>Timeline</h2>");
    s.push_str(&chart::svg(result));
    s.push_str("<p class=\"legend\">");
    for (color, label) in [
        ("#2563eb", "throughput"),
        ("#dc2626", "error rate"),
        ("#7c3aed", "p99 latency"),
        ("rgba(249,115,22,0.3)", "fault window"),
        (
            chart::state_color(super::BreakerState::Closed),
            "breaker closed",
        ),
        (
            chart::state_color(super::BreakerState::Open),
            "breaker open",
        ),
        (
            chart::state_color(super::BreakerState::HalfOpen),
            "breaker half-open",
        ),
    ] {
        let _ = write!(
            s,
            "<span><i style=\"background:{color}\"></i>{label}</span>"
        );
    }
    s.push_str("</p><p class=\"meta\">Per 100 ms interval, by intended start. Breaker bands: ");
    let sources: Vec<String> = result
        .breakers
        .iter()
        .map(|b| format!("{} from {}", escape(&b.upstream), b.source))
        .collect();
    s.push_str(&if sources.is_empty() {
        "none recorded".to_owned()
    } else {
        sources.join(", ")
    });
    s.push_str(".</p></div>");

    s.push_str(
        "<div class=\"card\"><h2>Objectives</h2><table><thead><tr><th>#</th><th>status</th>\
                <th>objective</th><th>measured</th><th>threshold</th><th>window</th><th>why</th>\
                </tr></thead><tbody>",
    );
    for v in &result.verdicts {
        row(&mut s, v);
    }
    s.push_str("</tbody></table></div>");

    s.push_str("<div class=\"card\"><h2>Evidence</h2>");
    for v in &result.verdicts {
        details(&mut s, v);
    }
    s.push_str("</div></body></html>\n");
    s
}

fn window_text(v: &Verdict) -> String {
    match &v.window {
        Some(w) => format!(
            "{} [{}, {})",
            w.name,
            figures::duration(w.start),
            figures::duration(w.end)
        ),
        None => "-".to_owned(),
    }
}

fn row(s: &mut String, v: &Verdict) {
    let _ = write!(
        s,
        "<tr class=\"verdict {}\"><td>{}</td><td class=\"s\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td></tr>",
        v.status.as_str(),
        v.index,
        badge(v.status),
        escape(&v.label),
        escape(&v.measured),
        escape(&v.threshold),
        escape(&window_text(v)),
        escape(&v.message)
    );
}

fn details(s: &mut String, v: &Verdict) {
    let _ = write!(
        s,
        "<details><summary>{} {} {}</summary><table><thead><tr><th>check</th><th>status</th>\
         <th>measured</th><th>threshold</th><th>why</th></tr></thead><tbody>",
        escape(&v.reference()),
        badge(v.status),
        escape(&v.label)
    );
    for c in &v.checks {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"s\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.name),
            badge(c.status),
            escape(&c.measured),
            escape(&c.threshold),
            escape(&c.message)
        );
    }
    let evidence = serde_json::to_string_pretty(&v.evidence).unwrap_or_default();
    let _ = write!(
        s,
        "</tbody></table><pre>{}</pre></details>",
        escape(&evidence)
    );
}

/// Writes the page of `result` to `path`.
pub fn write_html(path: &Path, result: &DrillResult) -> Result<(), ReportError> {
    error::write(path, html(result).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
