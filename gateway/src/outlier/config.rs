//! Validated outlier-detection settings and the checks that produce them.

use std::num::NonZeroU32;
use std::time::Duration;

use config_yaml::units;

/// Default consecutive failures that eject an endpoint (Envoy's `consecutive_5xx` default).
pub const DEFAULT_CONSECUTIVE_FAILURES: NonZeroU32 = match NonZeroU32::new(5) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};
/// Default first ejection time. Envoy uses 30s; ours is shorter so that a chaos drill sees an
/// ejected endpoint come back within one short scenario, while still shedding a dead
/// endpoint for long enough to matter (repeat ejections grow toward `max_ejection`).
pub const DEFAULT_BASE_EJECTION: Duration = Duration::from_secs(10);
/// Default cap on one ejection when `max_ejection` is not set: this or `base_ejection`,
/// whichever is larger (Envoy's rule).
pub const DEFAULT_MAX_EJECTION: Duration = Duration::from_secs(300);
/// Longest `max_ejection` accepted: an endpoint sidelined for more than a day is a config
/// mistake, and the bound keeps every deadline far from `Instant` overflow.
pub const MAX_MAX_EJECTION: Duration = Duration::from_secs(24 * 60 * 60);
/// Default share of an upstream's endpoints that may be ejected at once. Envoy's default is
/// 10%, which for the small upstreams a gateway fronts (2 to 10 endpoints) always means "one
/// at a time"; half keeps the survivors from carrying more than double load.
pub const DEFAULT_MAX_EJECTION_PERCENT: f64 = 0.5;

/// Slack when turning `max_ejection_percent × endpoints` into a count: a percentage read from
/// YAML (`29%` -> 0.29) times 100 endpoints is 28.999999999999996 in `f64`, which must count
/// as 29.
const PERCENT_EPSILON: f64 = 1e-9;

/// Outlier detection (passive health) settings of one upstream, validated.
///
/// Built only by [`OutlierParams::validate`], so every instance satisfies
/// `0 < base_ejection <= max_ejection <= 24h`, `0 <= max_ejection_percent <= 1` and
/// `decay_interval > 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierConfig {
    consecutive_failures: NonZeroU32,
    base_ejection: Duration,
    max_ejection: Duration,
    max_ejection_percent: f64,
    decay_interval: Duration,
    uneject_on_active_check: bool,
    max_multiplier: u32,
}

// === impl OutlierConfig ===

impl OutlierConfig {
    /// Consecutive failed calls (per the shared classifier) that eject an endpoint. Default 5.
    pub fn consecutive_failures(&self) -> NonZeroU32 {
        self.consecutive_failures
    }

    /// Ejection time of a first ejection; the n-th consecutive ejection lasts
    /// `n × base_ejection`, capped at [`max_ejection`](Self::max_ejection). Default 10s.
    pub fn base_ejection(&self) -> Duration {
        self.base_ejection
    }

    /// Longest single ejection. Default 300s or `base_ejection`, whichever is larger; at
    /// least `base_ejection`, at most 24h.
    pub fn max_ejection(&self) -> Duration {
        self.max_ejection
    }

    /// Share (0.0 to 1.0) of the upstream's endpoints that may be ejected at the same time;
    /// one endpoint is always ejectable whatever the share. Default 0.5.
    pub fn max_ejection_percent(&self) -> f64 {
        self.max_ejection_percent
    }

    /// The "healthy period": each full `decay_interval` an endpoint spends un-ejected lowers
    /// its ejection multiplier by one. Default `base_ejection`.
    pub fn decay_interval(&self) -> Duration {
        self.decay_interval
    }

    /// Whether a passing active health check ends an ejection early. Default true (Envoy's
    /// `successful_active_health_check_uneject_host`).
    pub fn uneject_on_active_check(&self) -> bool {
        self.uneject_on_active_check
    }

    /// The largest ejection multiplier: the first `n` with `n × base_ejection >=
    /// max_ejection`. Growing past it would only lengthen the decay back to normal.
    pub fn max_multiplier(&self) -> u32 {
        self.max_multiplier
    }

    /// How many of `endpoints` may be ejected at once: `floor(max_ejection_percent ×
    /// endpoints)`, but at least one.
    ///
    /// This is Envoy's check `100 × (ejected + 1) / hosts <= max_ejection_percent` combined
    /// with its "at least one host is always ejectable" rule (`ejected == 0` always passes).
    pub fn max_ejected(&self, endpoints: usize) -> usize {
        // Endpoint counts are far below 2^52, so the `f64` round trip is exact.
        let share = (self.max_ejection_percent * endpoints as f64 + PERCENT_EPSILON).floor();
        (share as usize).max(1)
    }

    /// How long the ejection with this multiplier lasts: `multiplier × base_ejection`,
    /// capped at `max_ejection`.
    pub fn ejection_time(&self, multiplier: u32) -> Duration {
        self.base_ejection
            .checked_mul(multiplier)
            .map_or(self.max_ejection, |d| d.min(self.max_ejection))
    }
}

impl Default for OutlierConfig {
    fn default() -> Self {
        let base = DEFAULT_BASE_EJECTION;
        let max = DEFAULT_MAX_EJECTION.max(base);
        Self {
            consecutive_failures: DEFAULT_CONSECUTIVE_FAILURES,
            base_ejection: base,
            max_ejection: max,
            max_ejection_percent: DEFAULT_MAX_EJECTION_PERCENT,
            decay_interval: base,
            uneject_on_active_check: true,
            max_multiplier: max_multiplier(base, max),
        }
    }
}

fn max_multiplier(base: Duration, max: Duration) -> u32 {
    let n = max.as_nanos().div_ceil(base.as_nanos().max(1));
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// Outlier settings as written, every field optional: the input to validation.
///
/// `config::validate` fills this from the YAML and reports each [`OutlierConfigError`] at
/// `upstreams.<name>.outlier_detection.<field>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutlierParams {
    /// See [`OutlierConfig::consecutive_failures`]. Default 5; at least 1.
    pub consecutive_failures: Option<u32>,
    /// See [`OutlierConfig::base_ejection`]. Default 10s; above zero.
    pub base_ejection: Option<Duration>,
    /// See [`OutlierConfig::max_ejection`]. Default max(300s, base); base to 24h.
    pub max_ejection: Option<Duration>,
    /// See [`OutlierConfig::max_ejection_percent`]. Default 0.5; 0.0 to 1.0.
    pub max_ejection_percent: Option<f64>,
    /// See [`OutlierConfig::decay_interval`]. Default `base_ejection`; above zero.
    pub decay_interval: Option<Duration>,
    /// See [`OutlierConfig::uneject_on_active_check`]. Default true.
    pub uneject_on_active_check: Option<bool>,
}

// === impl OutlierParams ===

impl OutlierParams {
    /// Applies defaults and checks ranges, reporting every problem rather than the first.
    pub fn validate(&self) -> Result<OutlierConfig, Vec<OutlierConfigError>> {
        let mut errors = Vec::new();
        let consecutive_failures = self
            .consecutive_failures
            .map_or(Some(DEFAULT_CONSECUTIVE_FAILURES), NonZeroU32::new);
        if consecutive_failures.is_none() {
            errors.push(OutlierConfigError::ConsecutiveFailuresZero);
        }
        let base = self.base_ejection.unwrap_or(DEFAULT_BASE_EJECTION);
        if base.is_zero() {
            errors.push(OutlierConfigError::BaseEjectionZero);
        }
        let max = self.max_ejection.unwrap_or(DEFAULT_MAX_EJECTION.max(base));
        if max < base {
            errors.push(OutlierConfigError::MaxEjectionBelowBase { max, base });
        } else if max > MAX_MAX_EJECTION {
            errors.push(OutlierConfigError::MaxEjectionTooLong { max });
        }
        let percent = self
            .max_ejection_percent
            .unwrap_or(DEFAULT_MAX_EJECTION_PERCENT);
        if !(0.0..=1.0).contains(&percent) {
            errors.push(OutlierConfigError::MaxEjectionPercentOutOfRange { value: percent });
        }
        let decay = self.decay_interval.unwrap_or(base);
        if decay.is_zero() {
            errors.push(OutlierConfigError::DecayIntervalZero);
        }
        match consecutive_failures {
            Some(consecutive_failures) if errors.is_empty() => Ok(OutlierConfig {
                consecutive_failures,
                base_ejection: base,
                max_ejection: max,
                max_ejection_percent: percent,
                decay_interval: decay,
                uneject_on_active_check: self.uneject_on_active_check.unwrap_or(true),
                max_multiplier: max_multiplier(base, max),
            }),
            _ => Err(errors),
        }
    }
}

/// One invalid outlier-detection setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutlierConfigError {
    /// `consecutive_failures` is 0.
    #[error("consecutive failures must be at least 1")]
    ConsecutiveFailuresZero,
    /// `base_ejection` is zero.
    #[error("base ejection time is zero")]
    BaseEjectionZero,
    /// `max_ejection` is below `base_ejection`.
    #[error(
        "max ejection time {} is below the base ejection time {}",
        units::Duration::from(*max),
        units::Duration::from(*base)
    )]
    MaxEjectionBelowBase {
        /// The max ejection time received.
        max: Duration,
        /// The base ejection time in effect.
        base: Duration,
    },
    /// `max_ejection` is above 24h.
    #[error("max ejection time {} is too long", units::Duration::from(*max))]
    MaxEjectionTooLong {
        /// The max ejection time received.
        max: Duration,
    },
    /// `max_ejection_percent` is outside 0.0 to 1.0 (or not a number).
    #[error("max ejection share {value} is out of range")]
    MaxEjectionPercentOutOfRange {
        /// The share received.
        value: f64,
    },
    /// `decay_interval` is zero.
    #[error("decay interval is zero")]
    DecayIntervalZero,
}

// === impl OutlierConfigError ===

impl OutlierConfigError {
    /// The config key at fault, relative to the upstream's `outlier_detection` mapping.
    pub fn field(&self) -> &'static str {
        match self {
            Self::ConsecutiveFailuresZero => "consecutive_failures",
            Self::BaseEjectionZero => "base_ejection",
            Self::MaxEjectionBelowBase { .. } | Self::MaxEjectionTooLong { .. } => "max_ejection",
            Self::MaxEjectionPercentOutOfRange { .. } => "max_ejection_percent",
            Self::DecayIntervalZero => "decay_interval",
        }
    }

    /// What is allowed, with an example, for the diagnostic's "expected" line.
    pub fn expected(&self) -> String {
        match self {
            Self::ConsecutiveFailuresZero => "a count of at least 1, e.g. 5".to_owned(),
            Self::BaseEjectionZero => "a duration above zero, e.g. 10s".to_owned(),
            Self::MaxEjectionBelowBase { base, .. } => format!(
                "at least the base ejection time ({}), e.g. 300s",
                units::Duration::from(*base)
            ),
            Self::MaxEjectionTooLong { .. } => format!(
                "at most {}, e.g. 300s",
                units::Duration::from(MAX_MAX_EJECTION)
            ),
            Self::MaxEjectionPercentOutOfRange { .. } => "0% to 100%, e.g. 50%".to_owned(),
            Self::DecayIntervalZero => "a duration above zero, e.g. 10s".to_owned(),
        }
    }
}
