//! Harness for the gateway's binary tests: the real `gateway` process, in-process upstreams on
//! real sockets, and an HTTP client whose every request is bounded.
//!
//! Nothing here picks a port: configs say `127.0.0.1:0` for both gateway listeners and the
//! harness reads the bound addresses from the `listening data=ADDR admin=ADDR` line; upstreams
//! bind `127.0.0.1:0`. Every wait is bounded, by [`WAIT`] or an explicit limit, and waits for
//! an observable condition ([`wait_until`]) rather than sleeping.
//!
//! - [`gateway`]: spawn `gateway run` ([`Gateway`]) or run a short-lived command to its end.
//! - [`upstream`]: [`TestUpstream`], an echo server with counters and runtime toggles.
//! - [`client`]: [`Http`] (HTTP/1.1 pooled, HTTP/1.1 one connection per request, HTTP/2) and
//!   the fully read [`Reply`] / parsed [`Echo`].
//! - [`body`]: [`GeneratedBody`], a body of N bytes produced chunk by chunk, never buffered.
//! - [`wait`]: [`wait_until`], to poll a condition with a deadline.

// Each test file uses a different part of the harness.
#![allow(dead_code, unreachable_pub, unused_imports)]

pub mod body;
pub mod client;
pub mod gateway;
pub mod upstream;
pub mod wait;

use std::time::Duration;

pub use body::GeneratedBody;
pub use client::{Echo, Http, Reply, TestBody, empty, full};
pub use gateway::{Finished, Gateway, gateway_command, run_to_end};
pub use nix::sys::signal::Signal;
pub use upstream::{TestUpstream, scripted_upstream};
pub use wait::wait_until;

/// Upper bound on any single wait: startup, one request, one state change, an exit.
///
/// Generous on purpose: tests run on loaded two-core CI machines, and a bound that is only hit
/// when something is broken costs nothing when it is not.
pub const WAIT: Duration = Duration::from_secs(10);

/// Interval between two checks of a polled condition.
pub const POLL: Duration = Duration::from_millis(20);
