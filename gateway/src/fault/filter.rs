//! The per-request fault decision, its seeded random source and the active-fault guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use observability::names;
use tracing::debug;

use super::config::{Abort, Delay, FaultConfig};
use crate::errors::json_response;
use crate::proxy::body::ProxyBody;

/// Request header asking for an abort with this status (200 to 599).
pub const ABORT_HEADER: &str = names::header::FAULT_ABORT;
/// Request header: percentage (0 to 100) of header-requested aborts applied, capped by the
/// configured ratio.
pub const ABORT_PERCENTAGE_HEADER: &str = names::header::FAULT_ABORT_PERCENTAGE;
/// Request header asking for a delay of this many milliseconds (1 to 60000).
pub const DELAY_HEADER: &str = names::header::FAULT_DELAY;
/// Request header: percentage (0 to 100) of header-requested delays applied, capped by the
/// configured ratio.
pub const DELAY_PERCENTAGE_HEADER: &str = names::header::FAULT_DELAY_PERCENTAGE;
/// Response header naming each fault injected into the exchange: `abort`, `delay`.
pub const FAULT_HEADER: &str = names::header::FAULT;

/// Longest delay a request header may ask for; longer values are invalid.
pub const MAX_HEADER_DELAY: Duration = Duration::from_secs(60);

/// `SplitMix64`'s increment (2^64 / golden ratio).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Which fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The request was answered by the gateway with the abort status.
    Abort,
    /// The request was held before being forwarded.
    Delay,
}

/// Injects a route's configured faults; built once per config version and shared by its
/// requests.
#[derive(Debug)]
pub struct FaultFilter {
    config: FaultConfig,
    /// `SplitMix64` state; see [`FaultFilter::decide`].
    draws: AtomicU64,
    active: Arc<AtomicU32>,
    delays: AtomicU64,
    aborts: AtomicU64,
    overflow: AtomicU64,
}

/// What to do to one request. Holds an active-fault slot while any fault was decided: keep
/// it until the faults are applied (after the delay, once the abort response is built).
#[derive(Debug, Default)]
pub struct FaultDecision {
    /// Hold the request this long before going on.
    pub delay: Option<Duration>,
    /// Answer with this status instead of forwarding.
    pub abort: Option<StatusCode>,
    _slot: Option<ActiveSlot>,
}

/// One slot of `max_active`, released on drop.
#[derive(Debug)]
struct ActiveSlot(Arc<AtomicU32>);

/// Counters of one [`FaultFilter`] (Envoy's fault-filter stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultStats {
    /// Decisions holding a slot now.
    pub active: u32,
    /// Delays decided.
    pub delays_injected: u64,
    /// Aborts decided.
    pub aborts_injected: u64,
    /// Faults not injected because `max_active` were in progress.
    pub overflow: u64,
}

// === impl FaultKind ===

impl FaultKind {
    /// The bounded label and [`FAULT_HEADER`] value: `abort` or `delay`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Abort => "abort",
            Self::Delay => "delay",
        }
    }
}

// === impl FaultFilter ===

impl FaultFilter {
    /// A filter whose draws start from the configured seed.
    pub fn new(config: FaultConfig) -> Self {
        Self {
            draws: AtomicU64::new(config.seed),
            config,
            active: Arc::new(AtomicU32::new(0)),
            delays: AtomicU64::new(0),
            aborts: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
        }
    }

    /// Decides the faults for a request with these headers.
    ///
    /// Randomness: each call reserves the next two outputs of a `SplitMix64` sequence seeded
    /// with `seed` by one atomic `fetch_add` on its state (no lock): the first decides the
    /// abort, the second the delay, whether or not they are configured. So the n-th call
    /// always draws the same pair for a seed, concurrent calls draw distinct pairs, and the
    /// two faults are independent. A fault hits when `draw / 2^64 < ratio` (53-bit
    /// precision), so ratio 0 never and ratio 1 always hits.
    ///
    /// Header control (when enabled, Envoy's rules with our names): a configured fault is
    /// injected only into requests carrying its value header ([`ABORT_HEADER`],
    /// [`DELAY_HEADER`]); a valid value replaces the configured status or duration, an
    /// invalid one is ignored and the configured value used. The percentage headers give
    /// the request's chance in percent (0 to 100), capped by the configured ratio; absent or
    /// invalid, the configured ratio applies. A header never enables a fault that is not
    /// configured. When disabled, the headers are ignored and the configured faults apply to
    /// every request.
    pub fn decide(&self, headers: &HeaderMap) -> FaultDecision {
        let (abort_draw, delay_draw) = self.next_pair();
        let abort = self
            .config
            .abort
            .and_then(|a| self.abort_for(&a, headers))
            .and_then(|(status, ratio)| hits(abort_draw, ratio).then_some(status));
        let delay = self
            .config
            .delay
            .and_then(|d| self.delay_for(&d, headers))
            .and_then(|(duration, ratio)| hits(delay_draw, ratio).then_some(duration));
        if abort.is_none() && delay.is_none() {
            return FaultDecision::default();
        }
        let Some(slot) = self.acquire() else {
            self.overflow.fetch_add(1, Ordering::Relaxed);
            debug!(max_active = ?self.config.max_active, "Fault skipped, too many active");
            return FaultDecision::default();
        };
        if abort.is_some() {
            self.aborts.fetch_add(1, Ordering::Relaxed);
        }
        if delay.is_some() {
            self.delays.fetch_add(1, Ordering::Relaxed);
        }
        debug!(abort = ?abort.map(|s| s.as_u16()), ?delay, "Fault injected");
        FaultDecision {
            delay,
            abort,
            _slot: Some(slot),
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            active: self.active.load(Ordering::Relaxed),
            delays_injected: self.delays.load(Ordering::Relaxed),
            aborts_injected: self.aborts.load(Ordering::Relaxed),
            overflow: self.overflow.load(Ordering::Relaxed),
        }
    }

    /// The status and ratio for this request, `None` when header control leaves it out.
    fn abort_for(&self, abort: &Abort, headers: &HeaderMap) -> Option<(StatusCode, f64)> {
        if !self.config.header_control {
            return Some((abort.status, abort.ratio));
        }
        let status = header_str(headers, ABORT_HEADER)?
            .parse::<u16>()
            .ok()
            .filter(|s| (200..=599).contains(s))
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(abort.status);
        Some((
            status,
            capped(headers, ABORT_PERCENTAGE_HEADER, abort.ratio),
        ))
    }

    /// The duration and ratio for this request, `None` when header control leaves it out.
    fn delay_for(&self, delay: &Delay, headers: &HeaderMap) -> Option<(Duration, f64)> {
        if !self.config.header_control {
            return Some((delay.duration, delay.ratio));
        }
        let duration = header_str(headers, DELAY_HEADER)?
            .parse::<u64>()
            .ok()
            .map(Duration::from_millis)
            .filter(|d| !d.is_zero() && *d <= MAX_HEADER_DELAY)
            .unwrap_or(delay.duration);
        Some((
            duration,
            capped(headers, DELAY_PERCENTAGE_HEADER, delay.ratio),
        ))
    }

    /// A slot if fewer than `max_active` faults are in progress.
    fn acquire(&self) -> Option<ActiveSlot> {
        let admitted = match self.config.max_active {
            // Check and increment in one atomic step, so two racing requests cannot both take
            // the last slot.
            Some(max) => self
                .active
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                })
                .is_ok(),
            None => {
                self.active.fetch_add(1, Ordering::AcqRel);
                true
            }
        };
        admitted.then(|| ActiveSlot(Arc::clone(&self.active)))
    }

    /// The next two outputs of the sequence, reserved with one atomic add.
    fn next_pair(&self) -> (u64, u64) {
        // Relaxed: only the counter's atomicity matters; distinct callers get distinct states.
        let state = self
            .draws
            .fetch_add(GOLDEN_GAMMA.wrapping_mul(2), Ordering::Relaxed);
        (
            mix(state.wrapping_add(GOLDEN_GAMMA)),
            mix(state.wrapping_add(GOLDEN_GAMMA.wrapping_mul(2))),
        )
    }
}

/// A header's value as text, if present and visible ASCII.
fn header_str<'a>(headers: &'a HeaderMap, name: &'static str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// The header's percentage as a ratio capped by `configured`; `configured` when the header
/// is absent or not a number in 0..=100.
fn capped(headers: &HeaderMap, name: &'static str, configured: f64) -> f64 {
    header_str(headers, name)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|p| (0.0..=100.0).contains(p))
        .map_or(configured, |p| (p / 100.0).min(configured))
}

/// Whether a draw hits a fault of probability `ratio`.
fn hits(draw: u64, ratio: f64) -> bool {
    // The top 53 bits as a uniform value in [0, 1).
    let unit = (draw >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    unit < ratio
}

/// `SplitMix64`'s output function (Stafford's mix13).
// NOTE(lead): same generator as `balance::p2c`; a shared `random` module could own both.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

// === impl FaultDecision ===

impl FaultDecision {
    /// Whether no fault was decided.
    pub fn is_empty(&self) -> bool {
        self.delay.is_none() && self.abort.is_none()
    }

    /// The faults decided, delay first (the order they are applied).
    pub fn kinds(&self) -> impl Iterator<Item = FaultKind> + '_ {
        let delay = self.delay.map(|_| FaultKind::Delay);
        let abort = self.abort.map(|_| FaultKind::Abort);
        delay.into_iter().chain(abort)
    }

    /// Waits out the delay, if any, on the tokio clock. Cancel-safe: dropping the future
    /// (client gone, request timeout) ends the wait and nothing else.
    pub async fn apply_delay(&self) {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
    }

    /// The response that replaces the upstream call when an abort was decided:
    /// `{"error":"fault_injected","status":N,"message":...}` with [`FAULT_HEADER`] values.
    pub fn abort_response(&self) -> Option<Response<ProxyBody>> {
        let status = self.abort?;
        let mut response = json_response(status, "fault_injected", "fault injected by the gateway");
        self.mark(&mut response);
        Some(response)
    }

    /// Appends one [`FAULT_HEADER`] value per fault decided (for a delayed response that was
    /// forwarded, `delay`).
    pub fn mark<B>(&self, response: &mut Response<B>) {
        for kind in self.kinds() {
            response.headers_mut().append(
                HeaderName::from_static(FAULT_HEADER),
                HeaderValue::from_static(kind.as_str()),
            );
        }
    }
}

// === impl ActiveSlot ===

impl Drop for ActiveSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
