//! Test harness shared by the workspace's process-level tests: spawning the project's
//! binaries (and Debian-packaged servers such as Prometheus) on free loopback ports, reading
//! their `listening ...` line, bounded waits, and cleanup on drop.
//!
//! The crate's own `tests/` hold the end-to-end tests that run the `gateway` and `chaos`
//! binaries together. Those binaries must be built first (`cargo build --workspace --bins`,
//! which `scripts/test.sh` does); [`binary`] says so when they are missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod process;
mod prometheus;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

pub use process::Process;
pub use prometheus::Prometheus;

/// Upper bound on any single wait (startup, a state change, an exit): generous, because a
/// bound that is only reached when something is broken costs nothing when it is not.
pub const WAIT: Duration = Duration::from_secs(20);

/// A workspace binary in the same target folder as the running test.
///
/// Test executables live in `target/<profile>/deps/`; the binaries in `target/<profile>/`.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, as scripts/test.sh does)",
        path.display()
    );
    path
}

/// Polls `condition` every 20ms until it holds or `limit` passes; returns whether it held.
pub async fn wait_until<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A program installed from a Debian package: `$<ENV>` if set, else the first on `PATH`.
/// Missing is a failure with the install command, never a skip: CI installs the package.
pub fn system_binary(name: &str, env: &str, package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is required by this test and is not on PATH (nor in ${env}): \
                 install it with `apt-get install --no-install-recommends {package}` \
                 (scripts/test.sh does this when run as root)"
            )
        })
}
