//! The timeline chart as inline SVG, drawn here so the HTML page loads nothing: throughput,
//! error rate and p99 latency per 100 ms interval in three stacked panels sharing one time
//! axis, fault windows shaded across all of them, and one band per upstream breaker
//! (closed, open, half-open) underneath.

use std::fmt::Write as _;
use std::time::Duration;

use super::DrillResult;
use super::html::escape;
use super::timeline::{BreakerState, IntervalPoint};

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 28.0;
const PANEL: f64 = 130.0;
const GAP: f64 = 26.0;
const BAND: f64 = 20.0;
const AXIS: f64 = 34.0;

/// Colour of a breaker state.
pub(crate) fn state_color(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "#16a34a",
        BreakerState::Open => "#dc2626",
        BreakerState::HalfOpen => "#f59e0b",
        BreakerState::Manual => "#6b7280",
    }
}

/// One panel: a title, a unit, a colour, and a value per interval.
struct Panel<'a> {
    title: &'a str,
    percent: bool,
    color: &'a str,
    format: fn(f64) -> String,
    values: Vec<Option<f64>>,
}

/// The chart of `result` as an `<svg>` element.
pub(crate) fn svg(result: &DrillResult) -> String {
    let points = &result.intervals;
    let panels = [
        Panel {
            title: "throughput (req/s)",
            percent: false,
            color: "#2563eb",
            format: |v| format!("{v:.0}"),
            values: points.iter().map(|p| Some(p.throughput())).collect(),
        },
        Panel {
            title: "error rate (%)",
            percent: true,
            color: "#dc2626",
            format: |v| format!("{v:.1}%"),
            values: points
                .iter()
                .map(|p| (p.requests > 0).then(|| p.error_rate() * 100.0))
                .collect(),
        },
        Panel {
            title: "p99 latency (ms)",
            percent: false,
            color: "#7c3aed",
            format: |v| format!("{v:.0}ms"),
            values: points
                .iter()
                .map(|p: &IntervalPoint| p.p99.map(|d| d.as_secs_f64() * 1e3))
                .collect(),
        },
    ];
    let bands = result.breakers.len() as f64;
    let height = TOP + 3.0 * (PANEL + GAP) + bands * (BAND + 6.0) + AXIS;
    let end = result
        .duration
        .max(Duration::from_millis(100))
        .as_secs_f64();
    let x = |t: f64| LEFT + (t / end).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT);
    let bottom = TOP + 3.0 * (PANEL + GAP) + bands * (BAND + 6.0);

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="drill timeline" font-family="system-ui, sans-serif" font-size="11">"#
    );
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );

    // Fault windows, behind everything.
    for f in &result.faults {
        let (x0, x1) = (x(f.start.as_secs_f64()), x(f.end.as_secs_f64()));
        let _ = write!(
            s,
            r##"<rect class="fault" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="#f97316" fill-opacity="0.14" stroke="#f97316" stroke-opacity="0.5"><title>{}</title></rect>"##,
            (x1 - x0).max(1.0),
            bottom - TOP,
            escape(&format!(
                "{} ({}) {:.2}s..{:.2}s",
                f.name,
                f.kind,
                f.start.as_secs_f64(),
                f.end.as_secs_f64()
            ))
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#c2410c" font-weight="600">{}</text>"##,
            x0 + 3.0,
            TOP - 8.0,
            escape(&f.name)
        );
    }

    for (i, panel) in panels.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL + GAP);
        draw_panel(&mut s, panel, top, end, &x);
    }

    // Breaker bands.
    for (i, band) in result.breakers.iter().enumerate() {
        let top = TOP + 3.0 * (PANEL + GAP) + i as f64 * (BAND + 6.0);
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#374151">{}</text>"##,
            LEFT - 6.0,
            top + BAND * 0.7,
            escape(&format!("breaker {}", band.upstream))
        );
        for seg in &band.segments {
            let (x0, x1) = (x(seg.start.as_secs_f64()), x(seg.end.as_secs_f64()));
            let _ = write!(
                s,
                r#"<rect class="breaker {}" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{BAND}" fill="{}"><title>{}</title></rect>"#,
                seg.state.label(),
                (x1 - x0).max(0.5),
                state_color(seg.state),
                escape(&format!(
                    "{} {}: {:.2}s..{:.2}s ({})",
                    band.upstream,
                    seg.state.label(),
                    seg.start.as_secs_f64(),
                    seg.end.as_secs_f64(),
                    band.source
                ))
            );
        }
    }

    // Time axis.
    let axis_y = bottom + 4.0;
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#9ca3af"/>"##,
        WIDTH - RIGHT
    );
    let tick = nice_step(end / 12.0);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let xt = x(t);
        let _ = write!(
            s,
            r##"<line x1="{xt:.1}" y1="{axis_y:.1}" x2="{xt:.1}" y2="{:.1}" stroke="#9ca3af"/><text x="{xt:.1}" y="{:.1}" text-anchor="middle" fill="#4b5563">{}s</text>"##,
            axis_y + 5.0,
            axis_y + 18.0,
            trim_number(t)
        );
        t += tick;
    }
    s.push_str("</svg>");
    s
}

fn draw_panel(s: &mut String, panel: &Panel<'_>, top: f64, end: f64, x: &dyn Fn(f64) -> f64) {
    let max = panel
        .values
        .iter()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max);
    // 5% headroom keeps a flat line off the frame; error rates stop at 100%.
    let floor = if panel.percent { 1.0 } else { 1e-9 };
    let mut ceiling = nice_ceiling((max * 1.05).max(floor));
    if panel.percent {
        ceiling = ceiling.min(100.0);
    }
    let y = |v: f64| top + PANEL - (v / ceiling).clamp(0.0, 1.0) * PANEL;
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{top:.1}" width="{:.1}" height="{PANEL}" fill="none" stroke="#e5e7eb"/>"##,
        WIDTH - LEFT - RIGHT
    );
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="{:.1}" fill="#111827" font-weight="600">{}</text>"##,
        top - 5.0,
        escape(panel.title)
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = ceiling * frac;
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#f3f4f6"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#6b7280">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            escape(&(panel.format)(v))
        );
    }
    // One polyline per stretch of intervals with a value (gaps stay gaps).
    let step = crate::load::INTERVAL.as_secs_f64();
    let mut run: Vec<String> = Vec::new();
    let flush = |s: &mut String, run: &mut Vec<String>| {
        if run.len() == 1 {
            // A lone point: a dot, so it is not lost.
            if let Some((px, py)) = run.first().and_then(|p| p.split_once(',')) {
                let _ = write!(
                    s,
                    r#"<circle cx="{px}" cy="{py}" r="1.5" fill="{}"/>"#,
                    panel.color
                );
            }
        } else if run.len() > 1 {
            let _ = write!(
                s,
                r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round" points="{}"/>"#,
                panel.color,
                run.join(" ")
            );
        }
        run.clear();
    };
    for (i, value) in panel.values.iter().enumerate() {
        let t = (i as f64 + 0.5) * step;
        match value {
            Some(v) if t <= end => run.push(format!("{:.1},{:.1}", x(t), y(*v))),
            _ => flush(s, &mut run),
        }
    }
    flush(s, &mut run);
}

/// The smallest "round" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten)
/// at or above `x`; 1 for anything not above 0.
pub(crate) fn nice_ceiling(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(x.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

/// A tick step in seconds: 1, 2 or 5 times a power of ten at or above `x`, at least 100 ms.
fn nice_step(x: f64) -> f64 {
    let x = x.max(0.1);
    let magnitude = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

fn trim_number(x: f64) -> String {
    let text = format!("{x:.1}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceiling_rounds_up_to_round_numbers() {
        assert_eq!(nice_ceiling(0.7), 0.8);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.3), 1.5);
        assert_eq!(nice_ceiling(105.0), 120.0);
        assert_eq!(nice_ceiling(230.0), 250.0);
        assert_eq!(nice_ceiling(900.0), 1000.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_step(2.5), 5.0);
        assert_eq!(nice_step(0.01), 0.1);
    }
}
