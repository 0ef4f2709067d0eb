//! Peak-EWMA latency estimate of one endpoint: the latency half of the P2C balancer's cost.
//!
//! Semantics follow tower's `load::PeakEwma` (which linkerd2-proxy uses, itself derived from
//! Finagle):
//!
//! - **Peak:** a sample above the current estimate replaces it at once, so one slow response
//!   makes the endpoint look slow immediately.
//! - **Decay:** a sample at or below the estimate is blended in with weight `1 - w`, where
//!   `w = exp(-elapsed / decay)` and `elapsed` is the time since the estimate was last updated.
//! - **Decay at read time:** reading the estimate (at pick time) is an update with a zero
//!   sample, so an endpoint that stops answering (or is not picked) drifts toward zero and is
//!   eventually tried again. Decay composes over time (`e^-a · e^-b = e^-(a+b)`), so how often
//!   the estimate is read does not change how fast it decays; it does mean a faster sample
//!   that arrives right after a read moves the estimate little, as in tower.
//! - **Default:** before any sample the estimate is the configured `default_rtt`, decaying from
//!   construction like any other estimate (tower does the same), so a new endpoint whose
//!   default is pessimistic still gets traffic.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::BalancerConfig;

/// Initial estimate for endpoints of upstreams not balanced by P2C (linkerd's default).
const DEFAULT_RTT: Duration = Duration::from_millis(30);

/// Decay for endpoints of upstreams not balanced by P2C (linkerd's default).
const DEFAULT_DECAY: Duration = Duration::from_secs(10);

/// The shortest decay accepted; a zero decay would make `elapsed / decay` NaN.
const MIN_DECAY_SECS: f64 = 1e-9;

/// Peak-sensitive exponentially weighted moving average of response latency.
///
/// Shared by every task picking or completing requests for the endpoint, hence the mutex: an
/// update reads and writes both the estimate and its timestamp, and the critical section is a
/// handful of float operations (no allocation, no `.await`).
#[derive(Debug)]
pub(crate) struct PeakEwma {
    state: Mutex<Estimate>,
    /// Time constant of the decay, in seconds (at least `MIN_DECAY_SECS`).
    decay_secs: f64,
}

/// The estimate and the instant it was last brought up to date.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    rtt_secs: f64,
    updated_at: Instant,
}

// === impl PeakEwma ===

impl PeakEwma {
    /// An estimate starting at `default_rtt` (now) that decays with time constant `decay`.
    pub(crate) fn new(default_rtt: Duration, decay: Duration) -> Self {
        Self {
            state: Mutex::new(Estimate {
                rtt_secs: default_rtt.as_secs_f64(),
                updated_at: Instant::now(),
            }),
            decay_secs: decay.as_secs_f64().max(MIN_DECAY_SECS),
        }
    }

    /// The estimate for an endpoint of an upstream balanced by `config`: P2C's `default_rtt`
    /// and `decay`, or linkerd's defaults (30ms, 10s) for the other algorithms, which never
    /// read it.
    pub(crate) fn for_balancer(config: &BalancerConfig) -> Self {
        match config {
            BalancerConfig::P2cPeakEwma { decay, default_rtt } => Self::new(*default_rtt, *decay),
            _ => Self::new(DEFAULT_RTT, DEFAULT_DECAY),
        }
    }

    /// Whether `other` decays the same way (its `default_rtt` only matters before the first
    /// sample, so it is not compared).
    pub(crate) fn same_decay(&self, other: &PeakEwma) -> bool {
        self.decay_secs == other.decay_secs
    }

    /// Records one response latency `rtt`, measured at `now`.
    pub(crate) fn observe(&self, rtt: Duration, now: Instant) {
        self.update(rtt.as_secs_f64(), now);
    }

    /// The estimate at `now` in seconds, after decaying it toward zero for the time elapsed
    /// since its last update (and storing the decayed value, as tower does).
    pub(crate) fn rtt_estimate_secs(&self, now: Instant) -> f64 {
        self.update(0.0, now)
    }

    fn update(&self, sample_secs: f64, now: Instant) -> f64 {
        // NOTE: a poisoned lock is recovered rather than propagated: every write leaves a
        // finite estimate and a timestamp, so the state is valid whatever panicked elsewhere.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.update(sample_secs, now, self.decay_secs)
    }
}

// === impl Estimate ===

impl Estimate {
    fn update(&mut self, sample_secs: f64, now: Instant, decay_secs: f64) -> f64 {
        if sample_secs > self.rtt_secs {
            self.rtt_secs = sample_secs;
        } else {
            // Concurrent callers may pass a `now` slightly older than `updated_at`; that
            // counts as no time elapsed rather than a negative one.
            let elapsed = now.saturating_duration_since(self.updated_at).as_secs_f64();
            let w = (-elapsed / decay_secs).exp();
            self.rtt_secs = self.rtt_secs * w + sample_secs * (1.0 - w);
        }
        self.updated_at = self.updated_at.max(now);
        self.rtt_secs
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::{self, Instant};

    use super::PeakEwma;

    const DECAY: Duration = Duration::from_secs(1);

    fn assert_close(actual: f64, expected: f64) {
        let tolerance = expected.abs() * 1e-9;
        assert!(
            (actual - expected).abs() <= tolerance,
            "estimate {actual} is not {expected} (±{tolerance})"
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn peak_ewma_before_any_sample_is_default_rtt() {
        let ewma = PeakEwma::new(Duration::from_millis(30), DECAY);

        assert_close(ewma.rtt_estimate_secs(Instant::now()), 0.030);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn peak_ewma_slower_sample_raises_estimate_immediately() {
        let ewma = PeakEwma::new(Duration::from_millis(10), DECAY);
        time::advance(Duration::from_millis(5)).await;

        ewma.observe(Duration::from_millis(500), Instant::now());

        // No blending with the old 10ms: the peak is taken as is, whatever the elapsed time.
        assert_close(ewma.rtt_estimate_secs(Instant::now()), 0.500);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn peak_ewma_faster_sample_blends_by_elapsed_time() {
        let ewma = PeakEwma::new(Duration::from_millis(500), DECAY);
        time::advance(DECAY).await;

        ewma.observe(Duration::from_millis(10), Instant::now());

        // One time constant elapsed: w = e^-1.
        let w = (-1.0f64).exp();
        assert_close(
            ewma.rtt_estimate_secs(Instant::now()),
            0.500 * w + 0.010 * (1.0 - w),
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn peak_ewma_idle_estimate_decays_toward_zero() {
        let ewma = PeakEwma::new(Duration::from_millis(100), DECAY);

        time::advance(DECAY).await;
        assert_close(
            ewma.rtt_estimate_secs(Instant::now()),
            0.100 * (-1.0f64).exp(),
        );

        // Reading again later continues the same curve: reads do not speed the decay up.
        time::advance(DECAY).await;
        assert_close(
            ewma.rtt_estimate_secs(Instant::now()),
            0.100 * (-2.0f64).exp(),
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn peak_ewma_after_peak_decays_back_toward_new_samples() {
        let ewma = PeakEwma::new(Duration::from_millis(10), DECAY);
        ewma.observe(Duration::from_millis(500), Instant::now());

        // 10ms samples every 100ms for 5s: est_k = 10ms + 490ms · e^(-0.1·k).
        for _ in 0..50 {
            time::advance(Duration::from_millis(100)).await;
            ewma.observe(Duration::from_millis(10), Instant::now());
        }

        let estimate = ewma.rtt_estimate_secs(Instant::now());
        assert_close(estimate, 0.010 + 0.490 * (-5.0f64).exp());
        assert!(
            (0.010..0.014).contains(&estimate),
            "estimate {estimate} not back near 10ms"
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn peak_ewma_stale_now_counts_as_no_elapsed_time() {
        let ewma = PeakEwma::new(Duration::from_millis(100), DECAY);
        let before = Instant::now();
        time::advance(DECAY).await;
        let decayed = ewma.rtt_estimate_secs(Instant::now());

        // A caller that read the clock before the last update neither decays nor rewinds it.
        ewma.observe(Duration::ZERO, before);
        assert_close(ewma.rtt_estimate_secs(before), decayed);
    }

    #[test]
    fn peak_ewma_zero_decay_keeps_no_memory() {
        let ewma = PeakEwma::new(Duration::from_millis(100), Duration::ZERO);
        let later = Instant::now() + Duration::from_millis(1);

        ewma.observe(Duration::from_millis(20), later);

        assert_close(ewma.rtt_estimate_secs(later), 0.020);
    }
}
