//! Binary tests of `chaos proxy`: the real process, real sockets, real signals.

mod faultproxy_support;

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use chaos::faultproxy::ToxiproxyClient;
use faultproxy_support::{
    Behavior, Upstream, WAIT, addr, chaos_command, closed_within, config, connect, round_trip,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdout};
use tokio::time::timeout;

/// A running `chaos proxy`; killed on drop if the test did not stop it.
struct ProxyProcess {
    child: Child,
    _stdout: Lines<BufReader<ChildStdout>>,
    api: SocketAddr,
}

impl ProxyProcess {
    async fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = chaos_command()
            .args(["-q", "proxy"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn chaos proxy");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timeout(WAIT, stdout.next_line())
            .await
            .expect("listening line in time")
            .unwrap()
            .expect("a first stdout line");
        let api: SocketAddr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        assert_ne!(api.port(), 0, "the announced port is the bound one");
        ProxyProcess {
            child,
            _stdout: stdout,
            api,
        }
    }

    fn client(&self) -> ToxiproxyClient {
        ToxiproxyClient::new(&format!("http://{}", self.api), WAIT).unwrap()
    }

    async fn stop(mut self, signal: Signal) -> ExitStatus {
        let pid = Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        kill(pid, signal).unwrap();
        timeout(WAIT, self.child.wait())
            .await
            .expect("exit in time")
            .unwrap()
    }
}

async fn run_to_end(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = timeout(
        WAIT,
        chaos_command()
            .args(args)
            .envs(env.iter().copied())
            .output(),
    )
    .await
    .expect("exit in time")
    .unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_binary_serves_the_api_and_exits_0_on_sigterm_closing_connections() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let process = ProxyProcess::start(&["--listen", "127.0.0.1:0", "--seed", "5"], &[]).await;
    let client = process.client();
    assert_eq!(client.version().await.unwrap(), "2.12.0");
    let proxy = addr(
        &client
            .create_proxy(&config("echo", upstream.addr))
            .await
            .unwrap(),
    );
    let mut live = connect(proxy).await;
    round_trip(&mut live, b"through the binary").await;

    let api = process.api;
    let status = process.stop(Signal::SIGTERM).await;
    assert_eq!(status.code(), Some(0));
    assert!(
        closed_within(&mut live, Duration::from_millis(100)).await,
        "proxied connection closed"
    );
    assert!(
        TcpStream::connect(proxy).await.is_err(),
        "proxy listener closed"
    );
    assert!(
        TcpStream::connect(api).await.is_err(),
        "API listener closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_binary_exits_0_on_sigint() {
    let process = ProxyProcess::start(&["--listen", "127.0.0.1:0"], &[]).await;
    assert_eq!(process.stop(Signal::SIGINT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_binary_exits_3_when_the_api_address_is_taken() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stdout, stderr) = run_to_end(&["proxy", "--listen", &addr], &[]).await;
    assert_eq!(code, Some(3));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!("chaos: proxy failed: cannot listen on {addr}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_listen_env_applies_and_the_flag_overrides_it() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let env = [("CHAOS_PROXY_LISTEN", taken_addr.as_str())];
    let (code, _, _) = run_to_end(&["proxy"], &env).await;
    assert_eq!(code, Some(3), "the env address is used (and taken)");

    let process = ProxyProcess::start(&["--listen", "127.0.0.1:0"], &env).await;
    assert_ne!(
        process.api.to_string(),
        taken_addr,
        "the flag wins over the env"
    );
    assert_eq!(process.stop(Signal::SIGTERM).await.code(), Some(0));

    let env = [
        ("CHAOS_PROXY_LISTEN", "127.0.0.1:0"),
        ("CHAOS_PROXY_SEED", "9"),
    ];
    let process = ProxyProcess::start(&[], &env).await;
    assert_eq!(process.stop(Signal::SIGTERM).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_invalid_flags_are_usage_errors() {
    for args in [
        &["proxy", "--seed", "-1"][..],
        &["proxy", "--seed", "x"],
        &["proxy", "--listen", "localhost"],
    ] {
        let (code, stdout, _) = run_to_end(args, &[]).await;
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stdout.is_empty());
    }
    let (code, stdout, _) = run_to_end(&["proxy", "--help"], &[]).await;
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("CHAOS_PROXY_LISTEN") && stdout.contains("/populate"),
        "{stdout}"
    );
}
