//! The gateway's sampling decision: follow the caller's `sampled` flag, else a ratio on the
//! trace id.

use super::ids::TraceId;
use super::traceparent::TraceParent;

/// Parent-based sampling with a trace-id ratio for new traces. Pure: the same inputs give the
/// same decision, so every hop using the same ratio agrees on a trace.
///
/// - With a valid incoming `traceparent`, the caller's `sampled` flag decides (the spec: a
///   component making a recording decision SHOULD respect it).
/// - For a new trace, the trace id's lower 8 bytes, read as a big-endian integer, are compared
///   with `ratio × 2^64`, as OpenTelemetry's `TraceIdRatioBased` does (it shifts out one bit
///   and compares with `ratio × 2^63`; same idea). Those are the bytes the Level 2
///   `random-trace-id` flag promises random (all but the first).
///
/// Deciding by threshold makes decisions monotone in the ratio: a trace sampled at `r` is
/// sampled at every `r' > r`.
///
/// ```
/// use observability::tracecontext::{Sampler, TraceId};
///
/// let sampler = Sampler::parent_based(0.5).unwrap();
/// let low = TraceId::from_bytes([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/// assert!(sampler.should_sample(None, low));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    ratio: f64,
    /// `ratio × 2^64`: sample a new trace when its lower 8 bytes are below this. A `u128` so
    /// that ratio 1 (threshold 2^64) samples every id.
    threshold: u128,
}

/// A sampling ratio outside `[0, 1]` (or NaN).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("sampling ratio must be between 0 and 1, got {0}")]
pub struct InvalidRatio(pub f64);

// === impl Sampler ===

impl Sampler {
    /// Follows the caller's `sampled` flag and samples `ratio` of new traces (0 = none,
    /// 1 = all).
    pub fn parent_based(ratio: f64) -> Result<Self, InvalidRatio> {
        if !(0.0..=1.0).contains(&ratio) {
            return Err(InvalidRatio(ratio));
        }
        // Exact: multiplying by a power of two only changes the exponent, and the cast of a
        // value in [0, 2^64] to u128 truncates toward zero, which keeps the order.
        let threshold = (ratio * 2f64.powi(64)) as u128;
        Ok(Sampler { ratio, threshold })
    }

    /// The ratio of new traces sampled.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// Whether to sample: the `parent`'s flag when there is one, else the ratio decision for
    /// `trace_id` (the new trace's id).
    pub fn should_sample(&self, parent: Option<&TraceParent>, trace_id: TraceId) -> bool {
        match parent {
            Some(parent) => parent.flags().is_sampled(),
            None => self.samples_new_trace(trace_id),
        }
    }

    /// The ratio decision alone.
    pub fn samples_new_trace(&self, trace_id: TraceId) -> bool {
        u128::from(trace_id.low_u64()) < self.threshold
    }
}
