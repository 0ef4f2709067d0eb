//! Polling an observable condition, with a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use super::POLL;

/// Checks `condition` every [`POLL`] until it holds, and returns how long that took.
///
/// Panics naming `what` if it does not hold within `limit`. The check itself must be bounded
/// (every [`Http`](super::Http) request is).
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut condition: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
