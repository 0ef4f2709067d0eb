//! The number in front of a unit: split off, checked, and scaled without rounding.

use super::UnitError;

/// What one unit-bearing type is called and what it accepts, for its error messages.
pub(super) struct Kind {
    /// e.g. `duration`.
    pub(super) name: &'static str,
    /// e.g. ``a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s` ``.
    pub(super) expected: &'static str,
    /// A valid example, shown when there is nothing better to suggest.
    pub(super) example: &'static str,
}

/// A non-negative decimal number as written: `12`, `1.5`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decimal<'a> {
    int: &'a str,
    frac: &'a str,
    text: &'a str,
}

/// Why a decimal could not be scaled to a whole number of base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScaleError {
    TooLarge,
    TooPrecise,
}

// === impl Kind ===

impl Kind {
    pub(super) fn error(&self, input: &str, problem: impl Into<String>) -> UnitError {
        UnitError::new(self.name, self.expected, input, problem)
    }

    /// Splits `input` into its number and its unit, rejecting what no unit could fix.
    pub(super) fn split<'a>(&self, input: &'a str) -> Result<(Decimal<'a>, &'a str), UnitError> {
        if input.is_empty() {
            let hint = format!("write a value such as `{}`", self.example);
            return Err(self.error(input, "empty value").with_hint(hint));
        }
        if input.contains(char::is_whitespace) {
            let compact: String = input.split_whitespace().collect();
            let hint = format!("write it without spaces: `{compact}`");
            return Err(self.error(input, "unexpected whitespace").with_hint(hint));
        }
        if input.starts_with('-') {
            return Err(self.error(input, "must not be negative"));
        }
        let at = input
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(input.len());
        let (number, unit) = input.split_at(at);
        if number.is_empty() {
            let hint = format!("start with a number, e.g. `{}`", self.example);
            return Err(self.error(input, "missing number").with_hint(hint));
        }
        let Some(decimal) = Decimal::parse(number) else {
            let error = self.error(input, format!("invalid number `{number}`"));
            return Err(if number.starts_with('.') {
                error.with_hint(format!("write a leading zero: `0{input}`"))
            } else {
                error
            });
        };
        Ok((decimal, unit))
    }
}

// === impl Decimal ===

impl<'a> Decimal<'a> {
    /// `[0-9]+(\.[0-9]+)?`
    fn parse(text: &'a str) -> Option<Self> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) if digits(frac) => (int, frac),
            Some(_) => return None,
            None => (text, ""),
        };
        digits(int).then_some(Self { int, frac, text })
    }

    /// The number as written.
    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    pub(super) fn is_zero(&self) -> bool {
        self.text.bytes().all(|b| b == b'0' || b == b'.')
    }

    /// `self * factor` as a whole number, refusing to round.
    pub(super) fn scale(&self, factor: u128) -> Result<u128, ScaleError> {
        let int: u128 = self.int.parse().map_err(|_| ScaleError::TooLarge)?;
        let whole = int.checked_mul(factor).ok_or(ScaleError::TooLarge)?;
        let frac = self.frac.trim_end_matches('0');
        if frac.is_empty() {
            return Ok(whole);
        }
        let digits = u32::try_from(frac.len()).map_err(|_| ScaleError::TooPrecise)?;
        let denominator = 10u128.checked_pow(digits).ok_or(ScaleError::TooPrecise)?;
        let numerator: u128 = frac.parse().map_err(|_| ScaleError::TooPrecise)?;
        let scaled = numerator
            .checked_mul(factor)
            .ok_or(ScaleError::TooPrecise)?;
        if scaled % denominator != 0 {
            return Err(ScaleError::TooPrecise);
        }
        whole
            .checked_add(scaled / denominator)
            .ok_or(ScaleError::TooLarge)
    }

    pub(super) fn to_f64(self) -> f64 {
        // The grammar is a subset of Rust's float syntax, so this parse cannot fail.
        self.text.parse().unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parse_accepts_plain_decimals_only() {
        assert!(Decimal::parse("12").is_some());
        assert!(Decimal::parse("1.5").is_some());
        for text in ["", ".5", "5.", "1.2.3", "1e3", "+1"] {
            assert!(Decimal::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn decimal_scale_is_exact_or_refuses() {
        let scale = |text: &str, factor| Decimal::parse(text).map(|d| d.scale(factor));
        assert_eq!(scale("1.5", 1000), Some(Ok(1500)));
        assert_eq!(scale("0.001", 1000), Some(Ok(1)));
        assert_eq!(scale("2.50", 10), Some(Ok(25)));
        assert_eq!(scale("0.0001", 1000), Some(Err(ScaleError::TooPrecise)));
        let huge = "9".repeat(40);
        assert_eq!(scale(&huge, 1), Some(Err(ScaleError::TooLarge)));
    }
}
