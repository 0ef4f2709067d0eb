//! HTTP fault injection for drills, after Envoy's fault filter: abort requests with a status,
//! delay them, or both, for a seeded random fraction of requests or only for requests that
//! ask for it with headers.
//!
//! The route applies a decision before its upstream call:
//!
//! ```text
//! let decision = filter.decide(request.headers());  // holds a max_active slot if faulted
//! decision.apply_delay().await;                      // cancel-safe tokio sleep
//! if let Some(response) = decision.abort_response() { return response }  // x-gateway-fault
//! let mut response = forward(request).await?;
//! decision.mark(&mut response);                      // x-gateway-fault: delay
//! drop(decision);                                    // releases the slot
//! ```
//!
//! Decisions:
//! - **Seeded, lock-free randomness**: one `SplitMix64` state per filter advanced by an atomic
//!   add, two draws per request (see [`FaultFilter::decide`]); a seed fixes the sequence.
//! - **Header control is opt-in and Envoy-shaped**: with it, only requests carrying a fault
//!   header are faulted, header percentages are capped by the configured ratio, a header
//!   never enables an unconfigured fault, and invalid values fall back to the configured
//!   ones. Header percentages are 0 to 100 (Envoy's numerator over a hundred); configured
//!   ratios are 0.0 to 1.0 like other ratios in our config. Header delays are capped at
//!   [`MAX_HEADER_DELAY`].
//! - **`max_active`** bounds faults in progress (Envoy `max_active_faults`), so a client
//!   allowed to ask for faults cannot park every connection in a delay. Over the bound the
//!   request passes unfaulted and `overflow` counts it.
//! - The abort body is the gateway's usual JSON error with kind `fault_injected`.

mod config;
mod filter;

#[cfg(test)]
mod tests;

pub use config::{Abort, Delay, FaultConfig, FaultConfigError, FaultSettings};
pub use filter::{
    ABORT_HEADER, ABORT_PERCENTAGE_HEADER, DELAY_HEADER, DELAY_PERCENTAGE_HEADER, FAULT_HEADER,
    FaultDecision, FaultFilter, FaultKind, FaultStats, MAX_HEADER_DELAY,
};
