//! Outlier detection (passive health): endpoints that fail real traffic are ejected from the
//! balancer for a while, Envoy-style (`consecutive_5xx` detector).
//!
//! # Pieces
//!
//! - [`OutlierConfig`] (built by [`OutlierParams::validate`]): the per-upstream settings.
//! - [`OutlierState`]: one endpoint's streak, multiplier and ejection. It lives in the endpoint
//!   (`Arc<OutlierState>`), so it survives config reloads like the active-health verdict does.
//! - [`OutlierDetector`]: one per upstream per config version, over the endpoints' states in
//!   endpoint order. It owns the upstream-wide rule (the ejection cap) and produces the
//!   [`Ejection`] and [`Uneject`] events the gateway turns into `endpoint.ejected` and
//!   `endpoint.returned` spans and metrics.
//!
//! # Decisions
//!
//! **What a failure is.** The shared classifier's [`CallOutcome`](crate::classify::CallOutcome):
//! connect failures and timeouts, resets, per-try timeouts and failure statuses all count, as
//! in Envoy's default (non-split) mode. There is one detector, consecutive failures.
//!
//! **When to eject.** The call that brings an endpoint's streak to `consecutive_failures`
//! (default 5) requests an ejection; any success in between restarts the streak. The request
//! restarts the streak whether or not it is granted (Envoy), so an endpoint the cap refused
//! needs another full streak to try again, and every ejection follows at least
//! `consecutive_failures` consecutive failures. Outcomes reported while an endpoint is
//! ejected are ignored.
//!
//! **How long.** The n-th ejection lasts `n × base_ejection` (default 10s, shorter than
//! Envoy's 30s so a chaos drill sees endpoints return), capped at `max_ejection` (default
//! 300s or `base_ejection`, whichever is larger; never below `base_ejection`). `n` is the
//! ejection count (multiplier); it stops growing once `n × base_ejection` reaches
//! `max_ejection`, so it never takes longer than necessary to decay back.
//!
//! **Decay.** A "healthy period" is a full `decay_interval` (default: `base_ejection`, which
//! equals Envoy's 10s sweep interval with our defaults) spent not ejected, counted from the
//! moment the endpoint came back. Each one lowers the multiplier by one, down to 0. Failures
//! below the threshold do not interrupt a healthy period (Envoy's rule too: only an ejection
//! does). Decay is computed lazily from timestamps, so no timer runs per endpoint.
//!
//! **The cap.** At most `max(1, floor(max_ejection_percent × endpoints))` endpoints of an
//! upstream are ejected at once (default share 0.5). That is Envoy's check
//! `(ejected + 1) / hosts <= max_ejection_percent` plus its "at least one host is always
//! ejectable" rule, applied unconditionally: 1 of 2 endpoints with 10% can be ejected, and a
//! share of 0 means "one at a time", not "never" (to disable, omit outlier detection). Only
//! outlier ejections count toward the cap; an endpoint down by active checks does not, but
//! every endpoint counts in the total. Refusals are counted ([`OutlierDetector::overflows_total`]).
//!
//! **Returns.** An ejection ends by time alone: [`OutlierDetector::is_ejected`] turns false at
//! the deadline with no sweep. The `endpoint.returned` event comes from
//! [`OutlierDetector::uneject_expired`] (or the [`OutlierDetector::returns`] future, which
//! sleeps until the next deadline); an ejection that ended unreported before the endpoint
//! was ejected again is carried in [`Ejection::returned`], so events always pair up.
//!
//! **Active checks.** With `uneject_on_active_check` (default true, Envoy's
//! `successful_active_health_check_uneject_host`), a passing probe ends a running ejection
//! early and restarts the streak; the multiplier is kept and starts decaying. A passing
//! probe on a non-ejected endpoint changes nothing.
//!
//! **Panic mode.** For balancing and for the panic threshold an endpoint is *available* when
//! it is healthy by active checks **and** not ejected. Ejected endpoints therefore count as
//! unavailable, and when too few are available panic mode sends traffic to every endpoint,
//! ejected ones included (Envoy does the same), rather than crushing the survivors.
//!
//! **Reloads.** States outlive detectors: a new config version builds a new detector over the
//! same `Arc<OutlierState>`s, which keeps ejections, multipliers and streaks. The cap is
//! enforced per detector, so while an old version drains, its in-flight calls may eject one
//! endpoint the new version's cap would have refused; the overlap lasts one request timeout.
//!
//! **Threads and time.** A call outcome is one atomic operation on the endpoint's state; the
//! upstream-wide lock is taken only when a streak reaches the threshold. `is_ejected` is one
//! atomic load. All time is `tokio::time::Instant`, passed in by the caller.

mod config;
mod detector;
mod state;

#[cfg(test)]
mod tests;

pub use config::{
    DEFAULT_BASE_EJECTION, DEFAULT_CONSECUTIVE_FAILURES, DEFAULT_MAX_EJECTION,
    DEFAULT_MAX_EJECTION_PERCENT, MAX_MAX_EJECTION, OutlierConfig, OutlierConfigError,
    OutlierParams,
};
pub use detector::{Ejection, EjectionReason, OutlierDetector, ReturnReason, Uneject};
pub use state::{OutlierSnapshot, OutlierState};
