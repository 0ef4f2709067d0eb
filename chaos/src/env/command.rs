//! Runs `ip` and `nft` with a deadline, capturing what they print.
//!
//! These tools normally answer in milliseconds, but a wedged netlink socket or a stuck
//! namespace mount must not hang a drill (or its cleanup), so every call has a deadline
//! after which the tool is killed. Calls are blocking: they run from `Drop` and from setup
//! code alike; async callers wrap them in `spawn_blocking` when latency matters.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::error::CommandError;

/// Deadline of one `ip` or `nft` call.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// Extra time to reap a tool killed at its deadline.
const REAP: Duration = Duration::from_secs(1);

/// One invocation of a system tool.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    program: &'static str,
    args: Vec<String>,
    stdin: Option<String>,
    deadline: Duration,
}

// === impl Tool ===

impl Tool {
    /// `ip ARGS`.
    pub(crate) fn ip<I, S>(args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Tool::new("ip", args)
    }

    /// `nft ARGS`, in the host's namespace.
    pub(crate) fn nft<I, S>(args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Tool::new("nft", args)
    }

    /// `ip netns exec NETNS nft ARGS`: nft has no namespace option of its own.
    pub(crate) fn nft_in<I, S>(netns: &str, args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all = vec!["netns".to_owned(), "exec".to_owned(), netns.to_owned()];
        all.push("nft".to_owned());
        all.extend(args.into_iter().map(Into::into));
        Tool::new("ip", all)
    }

    fn new<I, S>(program: &'static str, args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Tool {
            program,
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            deadline: DEADLINE,
        }
    }

    /// Feeds `input` on stdin (an `nft -f -` script).
    pub(crate) fn stdin(mut self, input: String) -> Tool {
        self.stdin = Some(input);
        self
    }

    /// The command line, as shown in errors.
    pub(crate) fn line(&self) -> String {
        let mut line = self.program.to_owned();
        for arg in &self.args {
            line.push(' ');
            line.push_str(arg);
        }
        if self.stdin.is_some() {
            line.push_str(" <script>");
        }
        line
    }

    /// Runs the tool to completion and returns its stdout; a non-zero exit is an error
    /// carrying its stderr.
    pub(crate) fn run(&self) -> Result<String, CommandError> {
        let command = self.line();
        let mut child = Command::new(self.program)
            .args(&self.args)
            // Stable, parseable messages whatever the operator's locale.
            .env("LC_ALL", "C")
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| CommandError::Spawn {
                command: command.clone(),
                source,
            })?;
        let pid = Pid::from_raw(child.id() as i32);
        let input = self.stdin.clone();
        let (done, outcome) = mpsc::channel();
        // A reader thread drains both pipes while this one keeps the clock, so a chatty
        // tool cannot block on a full pipe and a silent one cannot outlive its deadline.
        let reader = thread::Builder::new()
            .name("chaos-env-tool".to_owned())
            .spawn(move || {
                if let (Some(mut pipe), Some(input)) = (child.stdin.take(), input) {
                    // A tool that exits without reading closes the pipe; its exit status
                    // then says what went wrong, so this write error carries nothing new.
                    let _ = pipe.write_all(input.as_bytes());
                }
                let _ = done.send(child.wait_with_output());
            });
        if let Err(source) = reader {
            let _ = kill(pid, Signal::SIGKILL);
            return Err(CommandError::Wait { command, source });
        }
        let output = match outcome.recv_timeout(self.deadline) {
            Ok(output) => output,
            Err(RecvTimeoutError::Timeout) => {
                let _ = kill(pid, Signal::SIGKILL);
                // Let the reader reap it; it ends soon after SIGKILL.
                let _ = outcome.recv_timeout(REAP);
                return Err(CommandError::TimedOut {
                    command,
                    after: self.deadline,
                });
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(CommandError::Wait {
                    command,
                    source: std::io::Error::other("the output reader ended without a result"),
                });
            }
        };
        let output = output.map_err(|source| CommandError::Wait {
            command: command.clone(),
            source,
        })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(CommandError::Failed {
                command,
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_line_shows_netns_wrapper_and_script() {
        let tool = Tool::nft_in("chaos-x", ["-f", "-"]).stdin("flush ruleset".to_owned());
        assert_eq!(tool.line(), "ip netns exec chaos-x nft -f - <script>");
    }

    #[test]
    fn tool_failure_carries_status_and_stderr() {
        let mut tool = Tool::new("sh", ["-c", "echo nope >&2; exit 4"]);
        tool.deadline = Duration::from_secs(5);
        match tool.run() {
            Err(CommandError::Failed { status, stderr, .. }) => {
                assert_eq!(status.code(), Some(4));
                assert_eq!(stderr, "nope");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[test]
    fn tool_past_deadline_is_killed_and_reported() {
        let mut tool = Tool::new("sleep", ["30"]);
        tool.deadline = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let result = tool.run();
        let took = started.elapsed();
        assert!(
            matches!(result, Err(CommandError::TimedOut { after, .. }) if after == tool.deadline),
            "{result:?}"
        );
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[test]
    fn tool_stdin_reaches_the_program_and_stdout_comes_back() {
        let tool = Tool::new("cat", Vec::<String>::new()).stdin("table inet t".to_owned());
        assert_eq!(tool.run().unwrap(), "table inet t");
    }

    #[test]
    fn tool_missing_program_is_a_spawn_error() {
        let tool = Tool::new("chaos-no-such-tool", Vec::<String>::new());
        assert!(matches!(tool.run(), Err(CommandError::Spawn { .. })));
    }
}
