//! Shared harness of the `env_*` tests: preflight, helper processes, raw HTTP and TCP
//! probes, process liveness.
//!
//! Helper processes are this test binary run again on one `#[ignore]`d test (the helper
//! mode), so a test can kill a real runner with SIGKILL and watch what it leaves behind.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::{Instant, sleep, timeout};

/// The `chaos` binary under test.
pub const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");

/// Upper bound on any single wait (startup, one request, exit).
pub const WAIT: Duration = Duration::from_secs(10);

/// Set (to a value the helper needs) when this binary runs as a helper process.
pub const HELPER_ENV: &str = "CHAOS_ENV_TEST_HELPER";

/// Fails the test, never skips it, when the machine cannot host namespaces.
pub fn require_netns() {
    if let Err(err) = chaos::env::preflight() {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        panic!("these tests need real network namespaces (run as root on Linux): {message}");
    }
}

/// A scratch run directory, removed on drop.
pub fn run_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary run directory")
}

/// How a TCP connect attempt ended.
#[derive(Debug)]
pub enum Connect {
    Connected(TcpStream),
    Refused,
    TimedOut,
    Failed(io::Error),
}

/// Connects to `addr`, giving up after `limit`.
pub async fn connect(addr: SocketAddr, limit: Duration) -> Connect {
    match timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Connect::Connected(stream),
        Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionRefused => Connect::Refused,
        Ok(Err(err)) => Connect::Failed(err),
        Err(_) => Connect::TimedOut,
    }
}

/// Writes `GET path` on an open connection.
pub async fn send_get(stream: &mut TcpStream, addr: SocketAddr, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
}

/// Reads the status code of a response on `stream`, or `None` after `limit`.
pub async fn read_status(stream: &mut TcpStream, limit: Duration) -> Option<u16> {
    let mut head = [0u8; 12];
    match timeout(limit, stream.read_exact(&mut head)).await {
        Ok(Ok(_)) => std::str::from_utf8(&head[9..12]).ok()?.parse().ok(),
        _ => None,
    }
}

/// `GET path` on a fresh connection; the status code, all bounded by [`WAIT`].
pub async fn get_status(addr: SocketAddr, path: &str) -> u16 {
    let Connect::Connected(mut stream) = connect(addr, WAIT).await else {
        panic!("cannot connect to {addr}");
    };
    send_get(&mut stream, addr, path).await;
    read_status(&mut stream, WAIT)
        .await
        .expect("a response status")
}

/// Whether `pid` no longer exists (`kill(pid, 0)` fails with ESRCH).
pub fn is_gone(pid: u32) -> bool {
    kill(pid_of(pid), None) == Err(Errno::ESRCH)
}

/// Whether `pid` is gone or a zombie: dead, though maybe not reaped by its new parent.
pub fn is_dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].trim_start().chars().next())
            .is_some_and(|state| state == 'Z' || state == 'X'),
    }
}

/// Polls `check` every 10ms until it holds or `limit` passes; whether it held.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

pub fn pid_of(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).expect("pid fits i32"))
}

/// This test binary, run again on the ignored test `test_name` only.
pub struct Helper {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Helper {
    /// Starts the helper with [`HELPER_ENV`] set to `value`.
    pub fn start(test_name: &str, value: impl AsRef<OsStr>) -> Helper {
        let exe = std::env::current_exe().expect("current test binary");
        let mut child = Command::new(exe)
            .args([
                test_name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_ENV, value)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start helper process");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Helper { child, stdout }
    }

    /// What follows `prefix` on the first stdout line containing it, within [`WAIT`].
    pub async fn line(&mut self, prefix: &str) -> String {
        let found = timeout(WAIT, async {
            while let Some(line) = self.stdout.next_line().await.expect("helper stdout") {
                // Anywhere in the line: libtest prints "test NAME ... " without a newline.
                if let Some((_, rest)) = line.split_once(prefix) {
                    return Some(rest.to_owned());
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(rest)) => rest,
            Ok(None) => panic!("helper exited without printing {prefix:?}"),
            Err(_) => panic!("helper printed no {prefix:?} within {WAIT:?}"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("helper still running")
    }

    /// SIGKILLs the helper and reaps it, asserting SIGKILL is what ended it.
    pub async fn sigkill(mut self) {
        kill(pid_of(self.pid()), Signal::SIGKILL).expect("SIGKILL the helper");
        let status = timeout(WAIT, self.child.wait())
            .await
            .expect("helper reaped in time")
            .expect("wait for helper");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(Signal::SIGKILL as i32), "{status:?}");
    }
}

/// Waits up to `limit` for `pid`, a child of this process, to end; its status.
pub async fn reap(pid: u32, limit: Duration) -> Option<WaitStatus> {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    let deadline = Instant::now() + limit;
    loop {
        match waitpid(pid_of(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                sleep(Duration::from_millis(10)).await;
            }
            Ok(WaitStatus::StillAlive) => return None,
            Ok(status) => return Some(status),
            Err(err) => panic!("waitpid({pid}): {err}"),
        }
    }
}
