//! The wait before a retry: capped exponential growth with full jitter, drawn from a caller's
//! seeded random source.
//!
//! Retry `n` (1 for the first retry) waits a uniform random time in `[0, ceiling(n))` where
//! `ceiling(n) = min(max, base × (2ⁿ − 1))`, Envoy's formula: with the defaults (25ms, 250ms)
//! the ceilings are 25ms, 75ms, 175ms, then 250ms for every later retry. Full jitter (the
//! whole range from zero, not `ceiling ± x%`) spreads the retries of many clients that failed
//! at the same moment, which is what keeps a blip from turning into synchronized retry waves.
//!
//! The arithmetic is done in `u128` nanoseconds with saturation, so no retry number or
//! duration overflows or panics; a base of zero means "retry at once".

use std::num::NonZeroU32;
use std::time::Duration;

use rand::Rng;

/// Exponential backoff with full jitter between retries of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Growth unit: the first retry waits up to `base`. Default 25ms (Envoy's); must be > 0.
    pub base: Duration,
    /// Cap on any single wait. Default 250ms (10 × base, Envoy's); must be >= `base`.
    pub max: Duration,
}

// === impl Backoff ===

impl Backoff {
    /// Envoy's default base interval.
    pub const DEFAULT_BASE: Duration = Duration::from_millis(25);
    /// Envoy's default cap (10 × the default base).
    pub const DEFAULT_MAX: Duration = Duration::from_millis(250);

    /// A backoff with these bounds.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The exclusive upper bound of the wait before retry `retry` (1 for the first retry):
    /// `min(max, base × (2^retry − 1))`. Never decreases as `retry` grows.
    pub fn ceiling(&self, retry: NonZeroU32) -> Duration {
        // 2^64 − 1 already saturates any `base` in nanoseconds past `u64::MAX`.
        let exponent = retry.get().min(64);
        let factor = (1u128 << exponent) - 1;
        let grown = self.base.as_nanos().saturating_mul(factor);
        let capped = grown.min(self.max.as_nanos());
        Duration::from_nanos(u64::try_from(capped).unwrap_or(u64::MAX))
    }

    /// The wait before retry `retry`: uniform in `[0, ceiling(retry))`, and zero when the
    /// ceiling is zero. Always within `[0, max]`. The same `rng` state gives the same waits.
    pub fn delay<R: Rng + ?Sized>(&self, retry: NonZeroU32, rng: &mut R) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        // Multiply-shift maps a uniform u64 onto 0..ceiling without a panicking empty-range
        // case; the bias is below ceiling / 2^64, far under a nanosecond.
        let nanos = (u128::from(rng.next_u64()) * u128::from(ceiling)) >> 64;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Self::DEFAULT_BASE, Self::DEFAULT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn retry(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn backoff_ceiling_follows_envoy_defaults() {
        let b = Backoff::default();
        let ms = |n| b.ceiling(retry(n)).as_millis();
        assert_eq!([ms(1), ms(2), ms(3), ms(4), ms(5)], [25, 75, 175, 250, 250]);
        assert_eq!(b.ceiling(retry(u32::MAX)), Duration::from_millis(250));
    }

    #[test]
    fn backoff_zero_base_never_waits() {
        let b = Backoff::new(Duration::ZERO, Duration::from_secs(1));
        let mut rng = SmallRng::seed_from_u64(7);
        for n in 1..10 {
            assert_eq!(b.delay(retry(n), &mut rng), Duration::ZERO);
        }
    }

    #[test]
    fn backoff_huge_durations_saturate_at_max() {
        let b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.ceiling(retry(40)), Duration::from_nanos(u64::MAX));
        let mut rng = SmallRng::seed_from_u64(1);
        assert!(b.delay(retry(40), &mut rng) < Duration::from_nanos(u64::MAX));
    }
}
