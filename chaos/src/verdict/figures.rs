//! Measured figures as text: percentages, durations, numbers and timeline offsets, written
//! the same way in every report.

use std::time::Duration;

/// A ratio (0.0 to 1.0) as a percentage: `0.44%`, `99.5%`, `100%`; small non-zero values
/// keep four decimals so they never read as `0%`.
pub(crate) fn ratio(r: f64) -> String {
    let p = r * 100.0;
    let text = if p != 0.0 && p.abs() < 0.1 {
        format!("{p:.4}")
    } else {
        format!("{p:.2}")
    };
    format!("{}%", trim(&text))
}

/// A duration: `1.25s` from a second up, `42.5ms` below, `0s` for zero.
pub(crate) fn duration(d: Duration) -> String {
    if d.is_zero() {
        "0s".to_owned()
    } else if d >= Duration::from_secs(1) {
        format!("{}s", trim(&format!("{:.3}", d.as_secs_f64())))
    } else if d >= Duration::from_millis(1) {
        format!("{}ms", trim(&format!("{:.1}", d.as_secs_f64() * 1e3)))
    } else {
        format!("{}us", trim(&format!("{:.1}", d.as_secs_f64() * 1e6)))
    }
}

/// A point on the timeline: `t=5.2s`.
pub(crate) fn at(t: Duration) -> String {
    format!("t={}", duration(t))
}

/// A signed difference between two durations: `+0.1s`, `-250ms`, `0s`.
pub(crate) fn difference(a: Duration, b: Duration) -> String {
    if a >= b {
        let d = a - b;
        if d.is_zero() {
            "0s".to_owned()
        } else {
            format!("+{}", duration(d))
        }
    } else {
        format!("-{}", duration(b - a))
    }
}

/// A plain number: integers without decimals, others with up to four.
pub(crate) fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        trim(&format!("{x:.4}")).to_owned()
    }
}

/// Seconds with millisecond precision, for JSON figures.
pub(crate) fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e3).round() / 1e3
}

fn trim(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_keeps_small_values_visible() {
        assert_eq!(ratio(0.0044), "0.44%");
        assert_eq!(ratio(1.0), "100%");
        assert_eq!(ratio(0.995), "99.5%");
        assert_eq!(ratio(0.0), "0%");
        assert_eq!(ratio(0.00005), "0.005%");
    }

    #[test]
    fn duration_picks_a_readable_unit() {
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_secs(3)), "3s");
        assert_eq!(duration(Duration::from_micros(42_500)), "42.5ms");
        assert_eq!(duration(Duration::from_micros(250)), "250us");
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(at(Duration::from_millis(5200)), "t=5.2s");
        assert_eq!(
            difference(Duration::from_millis(100), Duration::from_millis(350)),
            "-250ms"
        );
    }

    #[test]
    fn number_drops_needless_decimals() {
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(-1.5), "-1.5");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
