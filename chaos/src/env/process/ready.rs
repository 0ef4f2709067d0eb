//! Readiness checks, and reading a process's captured output.
//!
//! Children write straight into their log files (no pipes), so a runner that stops reading
//! can never block them, and the logs survive the runner. Checks poll those files and the
//! network every [`POLL`] until the deadline or the process's exit, whichever comes first.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use super::child::Incarnation;
use super::event::ExitKind;
use super::spec::Ready;

/// Pause between two checks.
const POLL: Duration = Duration::from_millis(20);
/// Longest single network check, so a black-holed connect cannot eat the whole budget.
const PROBE: Duration = Duration::from_millis(500);
/// How much of a log is scanned for the announcement.
const ANNOUNCE_WINDOW: u64 = 64 * 1024;
/// How much of stderr, and how many of its lines, an error quotes.
const TAIL_BYTES: u64 = 4 * 1024;
const TAIL_LINES: usize = 5;

/// Why a process did not become ready.
#[derive(Debug)]
pub(crate) enum Unready {
    Exited(ExitKind),
    TimedOut,
}

/// Waits until `ready` passes; returns the announced address, if the check yields one.
pub(crate) async fn wait(
    ready: &Ready,
    incarnation: &Incarnation,
    stdout: &Path,
    stdout_offset: u64,
    limit: Duration,
) -> Result<Option<SocketAddr>, Unready> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(exit) = incarnation.exit() {
            return Err(Unready::Exited(exit));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(addr) = probe(ready, stdout, stdout_offset, left.min(PROBE)).await {
            return Ok(addr);
        }
        if Instant::now() >= deadline {
            return Err(Unready::TimedOut);
        }
        // Wakes early when the process exits, so a crash is reported at once.
        let _ = incarnation.wait(POLL.min(left)).await;
    }
}

/// One check: `Some(addr)` when it passed.
async fn probe(
    ready: &Ready,
    stdout: &Path,
    offset: u64,
    budget: Duration,
) -> Option<Option<SocketAddr>> {
    match ready {
        Ready::None => Some(None),
        Ready::StdoutLine(prefix) => {
            let rest = announced(stdout, offset, prefix)?;
            Some(rest.trim().parse().ok())
        }
        Ready::Tcp(addr) => {
            let connected = timeout(budget, TcpStream::connect(addr)).await;
            matches!(connected, Ok(Ok(_))).then_some(None)
        }
        Ready::Http { addr, path } => http_ok(*addr, path, budget).await.then_some(None),
    }
}

/// The rest of the first complete stdout line (written since `offset`) that starts with
/// `prefix`. A line still being written is ignored: it could cut an address short.
pub(crate) fn announced(stdout: &Path, offset: u64, prefix: &str) -> Option<String> {
    let text = read_from(stdout, offset, ANNOUNCE_WINDOW)?;
    let complete = &text[..=text.rfind('\n')?];
    complete
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(str::to_owned)
}

async fn http_ok(addr: SocketAddr, path: &str, budget: Duration) -> bool {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        // "HTTP/1.1 200" is 12 bytes.
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(status_is_success(&head))
    };
    matches!(timeout(budget, exchange).await, Ok(Some(true)))
}

fn status_is_success(head: &[u8; 12]) -> bool {
    head.starts_with(b"HTTP/1.") && head[8] == b' ' && head[9] == b'2'
}

/// The last lines of stderr written since `offset`, joined by ` | `.
pub(crate) fn stderr_tail(stderr: &Path, offset: u64) -> String {
    let len = std::fs::metadata(stderr).map(|m| m.len()).unwrap_or(0);
    let start = offset.max(len.saturating_sub(TAIL_BYTES));
    let text = read_from(stderr, start, TAIL_BYTES).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "(empty)".to_owned();
    }
    lines[lines.len().saturating_sub(TAIL_LINES)..].join(" | ")
}

fn read_from(path: &Path, offset: u64, limit: u64) -> Option<String> {
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn announced_finds_a_complete_prefixed_line_after_offset() {
        let log = file_with("listening on 127.0.0.1:1\nnoise\nlistening on 127.0.0.1:2\n");
        assert_eq!(
            announced(log.path(), 0, "listening on ").as_deref(),
            Some("127.0.0.1:1")
        );
        assert_eq!(
            announced(log.path(), 25, "listening on ").as_deref(),
            Some("127.0.0.1:2")
        );
    }

    #[test]
    fn announced_ignores_a_line_still_being_written() {
        let log = file_with("listening on 127.0.0.1:80");
        assert_eq!(announced(log.path(), 0, "listening on "), None);
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines_of_this_incarnation() {
        let log = file_with("old\n1\n2\n\n3\n4\n5\n6\n");
        assert_eq!(stderr_tail(log.path(), 4), "2 | 3 | 4 | 5 | 6");
        assert_eq!(stderr_tail(log.path(), 100), "(empty)");
    }

    #[test]
    fn status_line_2xx_is_success_others_are_not() {
        assert!(status_is_success(b"HTTP/1.1 204"));
        assert!(!status_is_success(b"HTTP/1.1 503"));
        assert!(!status_is_success(b"SSH-2.0-Open"));
    }
}
