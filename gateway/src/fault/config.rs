//! Validated fault-injection settings for one route.
//!
//! The config module fills [`FaultSettings`] from its raw types and maps each
//! [`FaultConfigError`] to a diagnostic at `<route path>.fault.<`[`FaultConfigError::field`]`>`.

use std::time::Duration;

use http::StatusCode;

/// Abort requests with a status instead of forwarding them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Abort {
    /// Status of the aborted response: 200 to 599 (Envoy's range).
    pub status: StatusCode,
    /// Fraction of requests aborted: 0.0 to 1.0 (1.0 = every request).
    pub ratio: f64,
}

/// Delay requests before forwarding them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delay {
    /// How long. Above zero.
    pub duration: Duration,
    /// Fraction of requests delayed: 0.0 to 1.0.
    pub ratio: f64,
}

/// Fault settings before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSettings {
    /// Abort fault, if any.
    pub abort: Option<Abort>,
    /// Delay fault, if any. Applied before the abort when both hit.
    pub delay: Option<Delay>,
    /// When true, a configured fault is injected only into requests that ask for it with
    /// the `x-fault-*` headers (see [`FaultFilter`](super::FaultFilter)). Default false.
    pub header_control: bool,
    /// Most faults in progress at once (Envoy `max_active_faults`); further requests pass
    /// unfaulted. `None` = unbounded; otherwise at least 1.
    pub max_active: Option<u32>,
    /// Seed of the fault draws: the same seed gives the same sequence of decisions.
    pub seed: u64,
}

/// Validated fault settings; see [`FaultSettings`] for each field.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    pub(super) abort: Option<Abort>,
    pub(super) delay: Option<Delay>,
    pub(super) header_control: bool,
    pub(super) max_active: Option<u32>,
    pub(super) seed: u64,
}

/// A fault setting that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultConfigError {
    /// A ratio outside 0.0..=1.0 (or not a number).
    #[error("fault {field} {value} is out of range (0.0 to 1.0)")]
    Ratio {
        /// `abort.ratio` or `delay.ratio`.
        field: &'static str,
        /// The value received.
        value: f64,
    },
    /// The abort status is outside 200..=599.
    #[error("fault abort status {status} is out of range (200 to 599)")]
    AbortStatus {
        /// The status received.
        status: u16,
    },
    /// A zero delay injects nothing.
    #[error("fault delay duration must be above zero")]
    ZeroDelay,
    /// `max_active: 0` would silently disable the faults.
    #[error("fault max_active must be at least 1 (remove the fault block to disable faults)")]
    ZeroMaxActive,
    /// Neither an abort nor a delay is configured.
    #[error("fault block configures no fault (add `abort` or `delay`)")]
    Empty,
}

// === impl FaultConfigError ===

impl FaultConfigError {
    /// The config key the problem is about, relative to the fault block (empty: the block
    /// itself).
    pub fn field(&self) -> &'static str {
        match self {
            Self::Ratio { field, .. } => field,
            Self::AbortStatus { .. } => "abort.status",
            Self::ZeroDelay => "delay.duration",
            Self::ZeroMaxActive => "max_active",
            Self::Empty => "",
        }
    }
}

// === impl FaultSettings ===

impl FaultSettings {
    /// Checks every range; all problems are reported.
    pub fn validate(self) -> Result<FaultConfig, Vec<FaultConfigError>> {
        let mut errors = Vec::new();
        let mut ratio = |field, value: f64| {
            if !(0.0..=1.0).contains(&value) {
                errors.push(FaultConfigError::Ratio { field, value });
            }
        };
        if let Some(abort) = &self.abort {
            ratio("abort.ratio", abort.ratio);
        }
        if let Some(delay) = &self.delay {
            ratio("delay.ratio", delay.ratio);
        }
        if let Some(abort) = &self.abort
            && !(200..=599).contains(&abort.status.as_u16())
        {
            errors.push(FaultConfigError::AbortStatus {
                status: abort.status.as_u16(),
            });
        }
        if self.delay.is_some_and(|d| d.duration.is_zero()) {
            errors.push(FaultConfigError::ZeroDelay);
        }
        if self.max_active == Some(0) {
            errors.push(FaultConfigError::ZeroMaxActive);
        }
        if self.abort.is_none() && self.delay.is_none() {
            errors.push(FaultConfigError::Empty);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(FaultConfig {
            abort: self.abort,
            delay: self.delay,
            header_control: self.header_control,
            max_active: self.max_active,
            seed: self.seed,
        })
    }
}

// === impl FaultConfig ===

impl FaultConfig {
    /// The abort fault.
    pub fn abort(&self) -> Option<&Abort> {
        self.abort.as_ref()
    }

    /// The delay fault.
    pub fn delay(&self) -> Option<&Delay> {
        self.delay.as_ref()
    }

    /// Whether faults are injected only on request (headers).
    pub fn header_control(&self) -> bool {
        self.header_control
    }

    /// Most faults in progress at once.
    pub fn max_active(&self) -> Option<u32> {
        self.max_active
    }
}
