//! Thresholds in objectives and guards: a comparison and a value (`< 1%`, `== 0`), or a
//! statistic, a comparison and a duration (`p(99) < 250ms`).
//!
//! Grammar (spaces optional between the parts):
//!
//! ```text
//! threshold      = comparison value          "< 1%"   ">= 99%"   "== 0"   "< 1.5"
//! stat-threshold = statistic comparison duration     "p(99) < 250ms"   "avg <= 20ms"
//! comparison     = "<" | "<=" | ">" | ">=" | "==" | "!="
//! statistic      = "p(" N ")" (0 < N <= 100, decimals allowed) | "avg" | "max"
//! ```
//!
//! Each parses from and displays as that text; display then parse gives the same value.

use std::fmt;
use std::str::FromStr;

use config_yaml::units::{Duration, Percent, UnitError};

/// How a measured value is compared with a threshold's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// What is computed over a set of durations before comparing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// `p(N)`: the N-th percentile, N above 0 and at most 100.
    Percentile(f64),
    /// `avg`: the mean.
    Avg,
    /// `max`: the largest.
    Max,
}

/// A finite number, written without a unit (`0`, `1.5`, `-2`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Number(f64);

/// `comparison value`, e.g. `< 1%` (`V` = [`Percent`]) or `== 0` (`V` = [`Number`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold<V> {
    /// The comparison.
    pub op: Comparison,
    /// The value the measurement is compared with.
    pub value: V,
}

/// `statistic comparison duration`, e.g. `p(99) < 250ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatThreshold {
    /// What is computed over the durations.
    pub stat: Statistic,
    /// The comparison.
    pub op: Comparison,
    /// The duration the statistic is compared with.
    pub limit: Duration,
}

/// Why a threshold did not parse: what is wrong, what is allowed, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (expected {expected})")]
pub struct ThresholdError {
    /// What is wrong, e.g. `missing comparison`.
    pub problem: String,
    /// What is allowed.
    pub expected: &'static str,
    /// How to fix it, when obvious.
    pub hint: Option<String>,
}

/// A value a [`Threshold`] compares with: parsed from text, with a description for errors.
///
/// ```
/// use chaos::scenario::{Comparison, Number, Threshold};
/// use config_yaml::units::Percent;
///
/// let errors: Threshold<Percent> = "< 1%".parse().unwrap();
/// assert!(errors.holds_ratio(0.004));
/// let count: Threshold<Number> = "== 0".parse().unwrap();
/// assert_eq!(count.op, Comparison::Eq);
/// assert_eq!(count.to_string(), "== 0");
/// let e = "< 1".parse::<Threshold<Percent>>().unwrap_err();
/// assert_eq!(e.problem, "invalid percentage `1`: missing `%`");
/// ```
pub trait ThresholdValue: Sized + fmt::Display {
    /// What a whole threshold with this value looks like, for error messages.
    const EXPECTED: &'static str;
    /// Parses the value part.
    fn parse_value(text: &str) -> Result<Self, ThresholdError>;
    /// Whether `op value` can never hold for any measurement (e.g. `< 0%`).
    fn never_holds(&self, op: Comparison) -> bool;
}

// === impl Comparison ===

impl Comparison {
    /// Every comparison, two-character ones first (the order the parser tries them in).
    pub const ALL: [Comparison; 6] = [
        Comparison::Le,
        Comparison::Ge,
        Comparison::Eq,
        Comparison::Ne,
        Comparison::Lt,
        Comparison::Gt,
    ];

    /// How it is written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Eq => "==",
            Comparison::Ne => "!=",
        }
    }

    /// Whether `measured OP limit` holds.
    pub fn holds<T: PartialOrd>(self, measured: T, limit: T) -> bool {
        match self {
            Comparison::Lt => measured < limit,
            Comparison::Le => measured <= limit,
            Comparison::Gt => measured > limit,
            Comparison::Ge => measured >= limit,
            Comparison::Eq => measured == limit,
            Comparison::Ne => measured != limit,
        }
    }

    /// Splits a leading comparison off `text`.
    fn split(text: &str) -> Option<(Comparison, &str)> {
        Comparison::ALL
            .into_iter()
            .find_map(|op| text.strip_prefix(op.symbol()).map(|rest| (op, rest)))
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

// === impl Statistic ===

impl Statistic {
    /// Splits a leading statistic off `text`.
    fn split(text: &str) -> Result<(Statistic, &str), ThresholdError> {
        let expected = StatThreshold::EXPECTED;
        if let Some(rest) = text.strip_prefix("avg") {
            return Ok((Statistic::Avg, rest));
        }
        if let Some(rest) = text.strip_prefix("max") {
            return Ok((Statistic::Max, rest));
        }
        let Some(inner) = text.strip_prefix("p(") else {
            let hint = if Comparison::split(text).is_some() {
                format!("start with a statistic, e.g. `p(99) {text}`")
            } else {
                "write e.g. `p(99) < 250ms`".to_owned()
            };
            return Err(error("missing statistic `p(N)`, `avg` or `max`", expected).hint(hint));
        };
        let Some((number, rest)) = inner.split_once(')') else {
            return Err(error("unclosed `p(`", expected).hint("write e.g. `p(99)`"));
        };
        let n = parse_decimal(number.trim())
            .filter(|n| *n > 0.0 && *n <= 100.0)
            .ok_or_else(|| {
                error(format!("invalid percentile `p({number})`"), expected)
                    .hint("N is a number above 0 and at most 100, e.g. `p(99)` or `p(99.9)`")
            })?;
        Ok((Statistic::Percentile(n), rest))
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::Percentile(n) => write!(f, "p({n})"),
            Statistic::Avg => f.write_str("avg"),
            Statistic::Max => f.write_str("max"),
        }
    }
}

// === impl Number ===

impl Number {
    /// A number, if finite.
    pub fn new(value: f64) -> Option<Number> {
        value.is_finite().then_some(Number(value))
    }

    /// Its value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

// === impl ThresholdValue ===

impl ThresholdValue for Percent {
    const EXPECTED: &'static str =
        "a comparison (<, <=, >, >=, ==, !=) and a percentage, e.g. `< 1%`";

    fn parse_value(text: &str) -> Result<Self, ThresholdError> {
        text.parse().map_err(|e| unit_error(e, Self::EXPECTED))
    }

    fn never_holds(&self, op: Comparison) -> bool {
        match op {
            Comparison::Lt => self.value() <= 0.0,
            Comparison::Gt => self.value() >= 100.0,
            _ => false,
        }
    }
}

impl ThresholdValue for Number {
    const EXPECTED: &'static str = "a comparison (<, <=, >, >=, ==, !=) and a number, e.g. `== 0`";

    fn parse_value(text: &str) -> Result<Self, ThresholdError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let value = parse_decimal(digits).ok_or_else(|| {
            let e = error(format!("invalid number `{text}`"), Self::EXPECTED);
            if text.ends_with('%') || text.ends_with('s') {
                e.hint("this threshold takes a plain number, without a unit")
            } else {
                e
            }
        })?;
        Ok(Number(if negative { -value } else { value }))
    }

    fn never_holds(&self, _op: Comparison) -> bool {
        false
    }
}

impl ThresholdValue for Duration {
    const EXPECTED: &'static str =
        "a comparison (<, <=, >, >=, ==, !=) and a duration, e.g. `< 250ms`";

    fn parse_value(text: &str) -> Result<Self, ThresholdError> {
        text.parse().map_err(|e| unit_error(e, Self::EXPECTED))
    }

    fn never_holds(&self, op: Comparison) -> bool {
        op == Comparison::Lt && self.get().is_zero()
    }
}

// === impl Threshold ===

impl<V: ThresholdValue> Threshold<V> {
    /// Whether `measured OP value` holds.
    pub fn holds(&self, measured: V) -> bool
    where
        V: PartialOrd + Copy,
    {
        self.op.holds(measured, self.value)
    }
}

impl Threshold<Percent> {
    /// Whether a measured ratio (0.0 to 1.0) satisfies this percentage threshold.
    pub fn holds_ratio(&self, ratio: f64) -> bool {
        self.op.holds(ratio, self.value.ratio())
    }
}

impl<V: ThresholdValue> FromStr for Threshold<V> {
    type Err = ThresholdError;

    fn from_str(text: &str) -> Result<Self, ThresholdError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(error("empty threshold", V::EXPECTED));
        }
        if Statistic::split(text).is_ok() {
            return Err(error("a statistic is not allowed here", V::EXPECTED)
                .hint("only latency thresholds take `p(N)`, `avg` or `max`"));
        }
        let (op, rest) = split_comparison(text, V::EXPECTED)?;
        let value = V::parse_value(rest.trim())?;
        if value.never_holds(op) {
            return Err(error(format!("`{op} {value}` can never hold"), V::EXPECTED));
        }
        Ok(Threshold { op, value })
    }
}

impl<V: fmt::Display> fmt::Display for Threshold<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.value)
    }
}

// === impl StatThreshold ===

impl StatThreshold {
    /// What a statistic threshold looks like, for error messages.
    pub const EXPECTED: &'static str = "`p(N)`, `avg` or `max`, a comparison (<, <=, >, >=, ==, !=) \
                                        and a duration, e.g. `p(99) < 250ms`";

    /// Whether the statistic's measured value satisfies this threshold.
    pub fn holds(&self, measured: std::time::Duration) -> bool {
        self.op.holds(measured, self.limit.get())
    }
}

impl FromStr for StatThreshold {
    type Err = ThresholdError;

    fn from_str(text: &str) -> Result<Self, ThresholdError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(error("empty threshold", Self::EXPECTED));
        }
        let (stat, rest) = Statistic::split(text)?;
        let rest = rest.trim_start();
        let (op, rest) = split_comparison(rest, Self::EXPECTED).map_err(|mut e| {
            if !rest.starts_with('=') {
                e.hint = Some(format!(
                    "put a comparison after the statistic, e.g. `{stat} < {rest}`"
                ));
            }
            e
        })?;
        let limit: Duration = rest
            .trim()
            .parse()
            .map_err(|e| unit_error(e, Self::EXPECTED))?;
        if limit.never_holds(op) {
            return Err(error(
                format!("`{op} {limit}` can never hold"),
                Self::EXPECTED,
            ));
        }
        Ok(StatThreshold { stat, op, limit })
    }
}

impl fmt::Display for StatThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.stat, self.op, self.limit)
    }
}

// === impl ThresholdError ===

impl ThresholdError {
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

fn error(problem: impl Into<String>, expected: &'static str) -> ThresholdError {
    ThresholdError {
        problem: problem.into(),
        expected,
        hint: None,
    }
}

/// A unit error inside a threshold, keeping its problem and hint.
fn unit_error(e: UnitError, expected: &'static str) -> ThresholdError {
    let problem = format!("invalid {} `{}`: {}", e.kind(), e.input(), e.problem());
    let err = error(problem, expected);
    match e.hint() {
        Some(hint) => err.hint(hint),
        None => err,
    }
}

fn split_comparison<'a>(
    text: &'a str,
    expected: &'static str,
) -> Result<(Comparison, &'a str), ThresholdError> {
    if let Some(found) = Comparison::split(text) {
        return Ok(found);
    }
    let err = error("missing comparison", expected);
    Err(if let Some(rest) = text.strip_prefix("=<") {
        err.hint(format!("write `<={rest}`"))
    } else if let Some(rest) = text.strip_prefix("=>") {
        err.hint(format!("write `>={rest}`"))
    } else if let Some(rest) = text.strip_prefix('=') {
        err.hint(format!("write `=={rest}`"))
    } else {
        err.hint(format!("start with a comparison, e.g. `< {text}`"))
    })
}

/// `[0-9]+(\.[0-9]+)?` as a number.
fn parse_decimal(text: &str) -> Option<f64> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match text.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(text),
    };
    if ok { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn percent(text: &str) -> Threshold<Percent> {
        text.parse().unwrap()
    }

    #[test]
    fn threshold_percent_parses_comparison_and_value() {
        let t = percent("< 1%");
        assert_eq!(t.op, Comparison::Lt);
        assert_eq!(t.value.value(), 1.0);
        assert_eq!(percent(">=99%").op, Comparison::Ge);
        assert_eq!(percent("  != 0.5%  ").value.value(), 0.5);
        assert!(t.holds_ratio(0.005));
        assert!(!t.holds_ratio(0.01));
    }

    #[test]
    fn threshold_without_comparison_is_rejected_with_a_hint() {
        let e = "1%".parse::<Threshold<Percent>>().unwrap_err();
        assert_eq!(e.problem, "missing comparison");
        assert_eq!(
            e.hint.as_deref(),
            Some("start with a comparison, e.g. `< 1%`")
        );
        let e = "= 0".parse::<Threshold<Number>>().unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("write `== 0`"));
        let e = "=< 5%".parse::<Threshold<Percent>>().unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("write `<= 5%`"));
        let e = "p(99) 2s".parse::<StatThreshold>().unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("put a comparison after the statistic, e.g. `p(99) < 2s`")
        );
    }

    #[test]
    fn threshold_percent_without_percent_sign_is_rejected() {
        let e = "< 1".parse::<Threshold<Percent>>().unwrap_err();
        assert_eq!(e.problem, "invalid percentage `1`: missing `%`");
        assert_eq!(e.expected, Percent::EXPECTED);
    }

    #[test]
    fn threshold_that_can_never_hold_is_rejected() {
        let e = "< 0%".parse::<Threshold<Percent>>().unwrap_err();
        assert_eq!(e.problem, "`< 0%` can never hold");
        let e = "p(99) < 0ms".parse::<StatThreshold>().unwrap_err();
        assert_eq!(e.problem, "`< 0s` can never hold");
    }

    #[test]
    fn threshold_number_accepts_signed_decimals_only() {
        let t: Threshold<Number> = "== 0".parse().unwrap();
        assert_eq!((t.op, t.value.get()), (Comparison::Eq, 0.0));
        let t: Threshold<Number> = "> -1.5".parse().unwrap();
        assert_eq!(t.value.get(), -1.5);
        let e = "< 5%".parse::<Threshold<Number>>().unwrap_err();
        assert_eq!(e.problem, "invalid number `5%`");
        assert!(e.hint.is_some());
    }

    #[test]
    fn threshold_with_statistic_where_none_is_allowed_is_rejected() {
        let e = "p(99) < 1%".parse::<Threshold<Percent>>().unwrap_err();
        assert_eq!(e.problem, "a statistic is not allowed here");
    }

    #[test]
    fn stat_threshold_parses_percentiles_avg_and_max() {
        let t: StatThreshold = "p(99) < 250ms".parse().unwrap();
        assert_eq!(t.stat, Statistic::Percentile(99.0));
        assert_eq!(t.op, Comparison::Lt);
        assert_eq!(t.limit.get(), std::time::Duration::from_millis(250));
        assert!(t.holds(std::time::Duration::from_millis(249)));
        assert!(!t.holds(std::time::Duration::from_millis(250)));
        let t: StatThreshold = "p(99.9)<=1s".parse().unwrap();
        assert_eq!(t.stat, Statistic::Percentile(99.9));
        assert_eq!(
            "avg > 2s".parse::<StatThreshold>().unwrap().stat,
            Statistic::Avg
        );
        assert_eq!(
            "max < 2s".parse::<StatThreshold>().unwrap().stat,
            Statistic::Max
        );
    }

    #[test]
    fn stat_threshold_errors_name_the_part_that_is_wrong() {
        let problem = |text: &str| text.parse::<StatThreshold>().unwrap_err().problem;
        assert_eq!(
            problem("< 250ms"),
            "missing statistic `p(N)`, `avg` or `max`"
        );
        assert_eq!(problem("p(0) < 1s"), "invalid percentile `p(0)`");
        assert_eq!(problem("p(101) < 1s"), "invalid percentile `p(101)`");
        assert_eq!(problem("p(99 < 1s"), "unclosed `p(`");
        assert_eq!(problem("p(99) 1s"), "missing comparison");
        assert_eq!(
            problem("p(99) < 250"),
            "invalid duration `250`: missing unit"
        );
        assert_eq!(problem(""), "empty threshold");
    }

    fn comparison() -> impl Strategy<Value = Comparison> {
        prop::sample::select(Comparison::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn threshold_percent_display_parses_back(op in comparison(), hundredths in 1u32..=9_999) {
            let text = format!("{op} {}%", f64::from(hundredths) / 100.0);
            let t: Threshold<Percent> = text.parse().unwrap();
            prop_assert_eq!(t.to_string().parse::<Threshold<Percent>>().unwrap(), t);
        }

        #[test]
        fn threshold_number_display_parses_back(op in comparison(), value in -1e12f64..1e12) {
            let t = Threshold { op, value: Number::new(value).unwrap() };
            prop_assert_eq!(t.to_string().parse::<Threshold<Number>>().unwrap(), t);
        }

        #[test]
        fn stat_threshold_display_parses_back(
            op in comparison(),
            stat in prop_oneof![
                (1u32..=1000).prop_map(|n| Statistic::Percentile(f64::from(n) / 10.0)),
                Just(Statistic::Avg),
                Just(Statistic::Max),
            ],
            nanos in 1u64..=3_600_000_000_000,
        ) {
            let limit = Duration::new(std::time::Duration::from_nanos(nanos));
            let t = StatThreshold { stat, op, limit };
            prop_assert_eq!(t.to_string().parse::<StatThreshold>().unwrap(), t);
        }
    }
}
