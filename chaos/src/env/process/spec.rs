//! What to run for a drill and how to tell it is ready.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default [`ProcessSpec::ready_timeout`].
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The stdout prefix `chaos upstream` announces its bound address with.
pub const LISTENING_ON: &str = "listening on ";

/// One process of a drill: the command, its environment and its readiness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Unique among one supervisor's processes; names its log files. 1 to 64 characters
    /// from `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// The program, found on `PATH` when not a path.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables added to the runner's environment.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory; the runner's when `None`.
    pub cwd: Option<PathBuf>,
    /// What must happen before `spawn` returns.
    pub ready: Ready,
    /// How long `ready` may take before the process is killed and `spawn` fails.
    /// Default 10s.
    pub ready_timeout: Duration,
    /// Network namespace to run in (`ip netns exec NAME ...`), e.g. a `NetnsHost`'s.
    pub netns: Option<String>,
    /// The flag that takes the listen address, e.g. `--listen`. On restart, the address
    /// the previous incarnation announced replaces its value (or is appended), so the new
    /// process binds the same port. `None`: restart reuses the arguments as they are.
    pub listen_flag: Option<String>,
}

/// How a supervisor decides that a freshly started process is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// Ready as soon as it has started.
    None,
    /// A complete stdout line starts with this prefix, e.g. [`LISTENING_ON`]. The rest of
    /// the line, if it is a socket address, becomes the process's announced address.
    StdoutLine(String),
    /// `GET path` on `addr` answers with a 2xx status.
    Http {
        /// Where to connect.
        addr: SocketAddr,
        /// Request path, starting with `/`.
        path: String,
    },
    /// A TCP connection to this address is accepted.
    Tcp(SocketAddr),
}

// === impl ProcessSpec ===

impl ProcessSpec {
    /// Runs `program` with no arguments, ready once started.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            ready: Ready::None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            netns: None,
            listen_flag: None,
        }
    }

    /// `chaos upstream --name NAME --listen LISTEN` from the `chaos` binary at `exe`,
    /// ready when it announces its address, restarted on the same address.
    pub fn chaos_upstream(exe: impl Into<PathBuf>, name: &str, listen: SocketAddr) -> ProcessSpec {
        ProcessSpec {
            args: ["upstream", "--name", name, "--listen", &listen.to_string()]
                .map(OsString::from)
                .into(),
            ready: Ready::StdoutLine(LISTENING_ON.to_owned()),
            listen_flag: Some("--listen".to_owned()),
            ..ProcessSpec::new(name, exe)
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> ProcessSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the readiness check and its timeout.
    pub fn ready(mut self, ready: Ready, timeout: Duration) -> ProcessSpec {
        self.ready = ready;
        self.ready_timeout = timeout;
        self
    }

    /// Runs it inside network namespace `netns`.
    pub fn in_netns(mut self, netns: impl Into<String>) -> ProcessSpec {
        self.netns = Some(netns.into());
        self
    }

    /// The program and arguments actually executed, with the `ip netns exec` wrapper.
    /// `ip netns exec` execs the program in place (no fork), so the pid is the program's.
    pub(crate) fn command_line(&self) -> (OsString, Vec<OsString>) {
        match &self.netns {
            None => (self.program.clone().into(), self.args.clone()),
            Some(netns) => {
                let mut args: Vec<OsString> =
                    ["netns", "exec", netns.as_str()].map(OsString::from).into();
                args.push(self.program.clone().into());
                args.extend(self.args.iter().cloned());
                ("ip".into(), args)
            }
        }
    }

    /// This spec with `addr` as the value of [`listen_flag`](Self::listen_flag).
    pub(crate) fn with_listen(&self, addr: SocketAddr) -> ProcessSpec {
        let Some(flag) = &self.listen_flag else {
            return self.clone();
        };
        let value = OsString::from(addr.to_string());
        let joined = format!("{flag}=");
        let mut args = Vec::with_capacity(self.args.len() + 2);
        let mut replaced = false;
        let mut given = self.args.iter();
        while let Some(arg) = given.next() {
            if arg.to_str() == Some(flag.as_str()) {
                args.push(arg.clone());
                args.push(value.clone());
                given.next();
                replaced = true;
            } else if arg.to_str().is_some_and(|arg| arg.starts_with(&joined)) {
                args.push(OsString::from(format!("{joined}{addr}")));
                replaced = true;
            } else {
                args.push(arg.clone());
            }
        }
        if !replaced {
            args.push(flag.into());
            args.push(value);
        }
        ProcessSpec {
            args,
            ..self.clone()
        }
    }
}

/// Whether `name` is usable as a process name (and so as a log file name).
pub(crate) fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

// === impl Ready ===

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ready::None => f.write_str("nothing"),
            Ready::StdoutLine(prefix) => write!(f, "a stdout line starting with {prefix:?}"),
            Ready::Http { addr, path } => write!(f, "HTTP 2xx from GET http://{addr}{path}"),
            Ready::Tcp(addr) => write!(f, "a TCP connection to {addr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(spec: &ProcessSpec) -> Vec<&str> {
        spec.args.iter().map(|arg| arg.to_str().unwrap()).collect()
    }

    #[test]
    fn with_listen_replaces_the_flag_value() {
        let spec = ProcessSpec::chaos_upstream("chaos", "a", "127.0.0.1:0".parse().unwrap());
        let again = spec.with_listen("127.0.0.1:4321".parse().unwrap());
        assert_eq!(
            args(&again),
            ["upstream", "--name", "a", "--listen", "127.0.0.1:4321"]
        );
    }

    #[test]
    fn with_listen_replaces_joined_form_and_appends_when_absent() {
        let mut spec = ProcessSpec::new("a", "srv").args(["--listen=127.0.0.1:0", "-v"]);
        spec.listen_flag = Some("--listen".to_owned());
        let addr = "10.200.0.2:80".parse().unwrap();
        assert_eq!(
            args(&spec.with_listen(addr)),
            ["--listen=10.200.0.2:80", "-v"]
        );
        spec.args = vec!["-v".into()];
        assert_eq!(
            args(&spec.with_listen(addr)),
            ["-v", "--listen", "10.200.0.2:80"]
        );
    }

    #[test]
    fn with_listen_without_flag_keeps_arguments() {
        let spec = ProcessSpec::new("a", "srv").args(["--listen", "127.0.0.1:0"]);
        assert_eq!(spec.with_listen("127.0.0.1:9".parse().unwrap()), spec);
    }

    #[test]
    fn command_line_in_netns_wraps_with_ip_netns_exec() {
        let spec = ProcessSpec::new("a", "/bin/sleep")
            .args(["5"])
            .in_netns("chaos-x-0");
        let (program, args) = spec.command_line();
        assert_eq!(program, "ip");
        assert_eq!(args, ["netns", "exec", "chaos-x-0", "/bin/sleep", "5"]);
    }

    #[test]
    fn process_names_are_restricted_to_file_safe_characters() {
        assert!(is_valid_name("users-a.1_b"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("../etc"));
        assert!(!is_valid_name("a/b"));
        assert!(!is_valid_name(&"a".repeat(65)));
    }

    #[test]
    fn ready_display_names_what_is_awaited() {
        assert_eq!(
            Ready::StdoutLine(LISTENING_ON.to_owned()).to_string(),
            "a stdout line starting with \"listening on \""
        );
        let http = Ready::Http {
            addr: "127.0.0.1:80".parse().unwrap(),
            path: "/healthz".to_owned(),
        };
        assert_eq!(
            http.to_string(),
            "HTTP 2xx from GET http://127.0.0.1:80/healthz"
        );
    }
}
