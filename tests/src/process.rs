//! A child process that announces its addresses on its first stdout line, with stderr kept in
//! a file for failure messages, stopped (SIGTERM, then SIGKILL) on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::WAIT;

/// A running child process.
#[derive(Debug)]
pub struct Process {
    child: Option<Child>,
    name: String,
    first_line: String,
    stderr_path: PathBuf,
    dir: tempfile::TempDir,
}

impl Process {
    /// Starts `program` with `args` (in a fresh temp dir as working directory) and waits for
    /// its first stdout line. Later stdout is drained in the background so the child never
    /// blocks on a full pipe.
    pub fn start(program: &Path, args: &[&str]) -> Self {
        Self::start_with(program, args, &[])
    }

    /// Like [`start`](Self::start), with extra environment variables.
    pub fn start_with(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let name = program
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let stderr_path = dir.path().join(format!("{name}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        // A test controls telemetry explicitly; inherited OTEL_* settings would change it.
        for (key, _) in std::env::vars() {
            if key.starts_with("OTEL_") {
                command.env_remove(key);
            }
        }
        command.envs(env.iter().copied());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send(first);
            for _ in lines {}
        });
        let mut process = Self {
            child: Some(child),
            name,
            first_line: String::new(),
            stderr_path,
            dir,
        };
        match rx.recv_timeout(WAIT) {
            Ok(line) if !line.is_empty() => process.first_line = line,
            _ => panic!(
                "{} printed no first line within {WAIT:?}; stderr:\n{}",
                process.name,
                process.stderr()
            ),
        }
        process
    }

    /// The first stdout line (`listening ...`).
    pub fn first_line(&self) -> &str {
        &self.first_line
    }

    /// The value of `key=VALUE` in the first line (`listening data=A admin=B`).
    pub fn field(&self, key: &str) -> String {
        let prefix = format!("{key}=");
        self.first_line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key}= in {:?}", self.first_line))
            .to_owned()
    }

    /// The address in a `listening on ADDR` line.
    pub fn listening_on(&self) -> String {
        self.first_line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("not a `listening on` line: {:?}", self.first_line))
            .to_owned()
    }

    /// The process's working directory (a temp dir removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.as_ref().map_or(0, |c| c.id() as i32))
    }

    /// Sends `signal`.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap();
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("not yet waited");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {limit:?}; stderr:\n{}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
