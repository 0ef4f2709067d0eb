//! The process supervisor against real processes: `chaos upstream`, `sleep`, `sh`, real
//! signals, real sockets.

mod env_support;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant, SystemTime};

use chaos::env::{ExitKind, ProcessAction, ProcessError, ProcessSpec, Ready, Supervisor};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use env_support::{
    CHAOS, Connect, HELPER_ENV, Helper, WAIT, connect, eventually, get_status, is_dead, is_gone,
    read_status, reap, run_dir, send_get,
};

fn upstream(name: &str) -> ProcessSpec {
    ProcessSpec::chaos_upstream(CHAOS, name, "127.0.0.1:0".parse().unwrap())
}

fn free_port() -> SocketAddr {
    // Bound and released: the port is free for the next bind (no fixed ports in tests).
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

// --- spawn and readiness ----------------------------------------------------------------

#[tokio::test]
async fn spawn_upstream_waits_for_announcement_and_records_address() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let before = SystemTime::now();

    let process = supervisor.spawn(upstream("users-a")).await.unwrap();

    let addr = process.addr().expect("announced address");
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
    assert_eq!(get_status(addr, "/healthz").await, 200);
    let started = process.started();
    assert_eq!(started.action, ProcessAction::Started { addr: Some(addr) });
    assert_eq!(
        (started.process.as_str(), started.pid),
        ("users-a", process.pid())
    );
    assert!(started.at >= before && started.at <= SystemTime::now());
    assert!(process.is_running());
    let stdout = std::fs::read_to_string(process.stdout_path()).unwrap();
    assert_eq!(stdout, format!("listening on {addr}\n"));
    assert_eq!(process.stdout_path(), dir.path().join("users-a.stdout.log"));
}

#[tokio::test]
async fn spawn_with_tcp_and_http_readiness_waits_for_the_port() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let (tcp_addr, http_addr) = (free_port(), free_port());
    let tcp =
        ProcessSpec::chaos_upstream(CHAOS, "by-tcp", tcp_addr).ready(Ready::Tcp(tcp_addr), WAIT);
    let http = ProcessSpec::chaos_upstream(CHAOS, "by-http", http_addr).ready(
        Ready::Http {
            addr: http_addr,
            path: "/healthz".to_owned(),
        },
        WAIT,
    );

    let tcp = supervisor.spawn(tcp).await.unwrap();
    let http = supervisor.spawn(http).await.unwrap();

    // Those checks read no address; the port answers as soon as spawn returns.
    assert_eq!((tcp.addr(), http.addr()), (None, None));
    assert_eq!(get_status(tcp_addr, "/healthz").await, 200);
    assert_eq!(get_status(http_addr, "/healthz").await, 200);
}

#[tokio::test]
async fn readiness_timeout_names_process_check_and_stderr_and_kills_it() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let spec = ProcessSpec::new("slow", "sh")
        .args([
            "-c",
            "echo starting >&2; echo still booting >&2; exec sleep 1000",
        ])
        .ready(
            Ready::StdoutLine("listening on ".to_owned()),
            Duration::from_millis(300),
        );
    let began = Instant::now();

    let err = supervisor.spawn(spec).await.unwrap_err();

    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let ProcessError::NotReady {
        name,
        pid,
        waited_for,
        timeout,
        stderr_tail,
    } = &err
    else {
        panic!("expected NotReady, got {err:?}");
    };
    assert_eq!(name, "slow");
    assert_eq!(waited_for, &Ready::StdoutLine("listening on ".to_owned()));
    assert_eq!(*timeout, Duration::from_millis(300));
    assert_eq!(stderr_tail, "starting | still booting");
    assert_eq!(
        err.to_string(),
        format!(
            "process slow (pid {pid}) not ready after 300ms: waited for a stdout line starting \
             with \"listening on \"; stderr: starting | still booting"
        )
    );
    assert!(
        is_gone(*pid),
        "a process that missed its readiness deadline is killed"
    );
}

#[tokio::test]
async fn exit_before_ready_reports_exit_code_and_stderr() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let spec = upstream("bad").args(["--latency", "5"]);

    let err = supervisor.spawn(spec).await.unwrap_err();

    let ProcessError::ExitedBeforeReady {
        name,
        exit,
        stderr_tail,
        ..
    } = &err
    else {
        panic!("expected ExitedBeforeReady, got {err:?}");
    };
    assert_eq!((name.as_str(), *exit), ("bad", ExitKind::Code(2)));
    assert!(stderr_tail.contains("--latency"), "{stderr_tail}");
    // The name is free again.
    assert!(supervisor.spawn(upstream("bad")).await.is_ok());
}

#[tokio::test]
async fn spawn_rejects_invalid_duplicate_and_missing_programs() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let _first = supervisor
        .spawn(ProcessSpec::new("a", "sleep").args(["1000"]))
        .await
        .unwrap();

    let duplicate = supervisor
        .spawn(ProcessSpec::new("a", "sleep").args(["1000"]))
        .await;
    let invalid = supervisor.spawn(ProcessSpec::new("../a", "sleep")).await;
    let missing = supervisor
        .spawn(ProcessSpec::new("m", "/nonexistent/chaos-prog"))
        .await;

    assert!(matches!(duplicate, Err(ProcessError::DuplicateName { ref name }) if name == "a"));
    assert!(matches!(invalid, Err(ProcessError::InvalidName { .. })));
    let Err(ProcessError::Spawn {
        name,
        program,
        source,
    }) = missing
    else {
        panic!("expected Spawn, got {missing:?}");
    };
    assert_eq!(
        (name.as_str(), program.as_str()),
        ("m", "/nonexistent/chaos-prog")
    );
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
}

// --- faults -------------------------------------------------------------------------------

#[tokio::test]
async fn kill_makes_connections_refused() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let process = supervisor.spawn(upstream("victim")).await.unwrap();
    let addr = process.addr().unwrap();

    let event = process.kill().await.unwrap();

    assert_eq!(event.action, ProcessAction::Killed);
    assert_eq!(
        (event.pid, event.signal),
        (process.pid(), Some(Signal::SIGKILL))
    );
    assert_eq!(event.exit, Some(ExitKind::Signal(Signal::SIGKILL)));
    assert!(!process.is_running());
    assert_eq!(
        process.exit_status(),
        Some(ExitKind::Signal(Signal::SIGKILL))
    );
    assert!(matches!(connect(addr, WAIT).await, Connect::Refused));
    let again = process.kill().await;
    assert!(
        matches!(
            again,
            Err(ProcessError::NotRunning {
                exit: ExitKind::Signal(Signal::SIGKILL),
                ..
            })
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn pause_accepts_connections_but_answers_only_after_resume() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let process = supervisor.spawn(upstream("sleepy")).await.unwrap();
    let addr = process.addr().unwrap();

    let paused = process.pause().await.unwrap();

    assert_eq!(
        (paused.action, paused.signal),
        (ProcessAction::Paused, Some(Signal::SIGSTOP))
    );
    // The kernel completes the handshake from the listen backlog; nobody reads.
    let Connect::Connected(mut stream) = connect(addr, Duration::from_secs(1)).await else {
        panic!("a paused server still accepts connections");
    };
    send_get(&mut stream, addr, "/healthz").await;
    let hung_from = Instant::now();
    assert_eq!(
        read_status(&mut stream, Duration::from_millis(300)).await,
        None
    );
    assert!(hung_from.elapsed() >= Duration::from_millis(300));
    assert!(process.is_running(), "paused is not exited");

    let resumed = process.resume().await.unwrap();

    assert_eq!(
        (resumed.action, resumed.signal),
        (ProcessAction::Resumed, Some(Signal::SIGCONT))
    );
    assert_eq!(
        read_status(&mut stream, WAIT).await,
        Some(200),
        "the held request is answered"
    );
    assert_eq!(get_status(addr, "/healthz").await, 200);
}

#[tokio::test]
async fn terminate_lets_upstream_exit_cleanly_even_when_paused() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let process = supervisor.spawn(upstream("graceful")).await.unwrap();
    process.pause().await.unwrap();
    let began = Instant::now();

    let event = process.terminate(WAIT).await.unwrap();

    assert!(
        began.elapsed() < Duration::from_secs(5),
        "SIGCONT let it act on SIGTERM at once"
    );
    assert_eq!(event.action, ProcessAction::Terminated);
    assert_eq!(
        (event.signal, event.exit),
        (Some(Signal::SIGTERM), Some(ExitKind::Code(0)))
    );
}

#[tokio::test]
async fn terminate_escalates_to_sigkill_after_grace() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    // Ignored dispositions survive exec, so the sleep ignores SIGTERM too. Ready once the
    // trap is set: a SIGTERM before it would end sh at once.
    let spec = ProcessSpec::new("stubborn", "sh")
        .args(["-c", "trap '' TERM; echo trapped; exec sleep 1000"])
        .ready(Ready::StdoutLine("trapped".to_owned()), WAIT);
    let process = supervisor.spawn(spec).await.unwrap();
    let began = Instant::now();

    let event = process.terminate(Duration::from_millis(200)).await.unwrap();

    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(event.signal, Some(Signal::SIGKILL));
    assert_eq!(event.exit, Some(ExitKind::Signal(Signal::SIGKILL)));
}

#[tokio::test]
async fn kill_takes_the_whole_process_group() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let spec = ProcessSpec::new("family", "sh")
        .args(["-c", "sleep 1000 & echo \"child $!\"; wait"])
        .ready(Ready::StdoutLine("child ".to_owned()), WAIT);
    let process = supervisor.spawn(spec).await.unwrap();
    let stdout = std::fs::read_to_string(process.stdout_path()).unwrap();
    let grandchild: u32 = stdout
        .trim()
        .strip_prefix("child ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(!is_dead(grandchild));

    process.kill().await.unwrap();

    assert!(
        eventually(WAIT, || is_dead(grandchild)).await,
        "grandchild {grandchild} survived"
    );
}

#[tokio::test]
async fn restart_answers_again_on_the_same_port() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let process = supervisor.spawn(upstream("phoenix")).await.unwrap();
    let addr = process.addr().unwrap();
    let old_pid = process.pid();
    // An open connection at kill time leaves the old port with a TIME_WAIT socket.
    let Connect::Connected(mut held) = connect(addr, WAIT).await else {
        panic!("connect")
    };
    send_get(&mut held, addr, "/healthz").await;
    assert_eq!(read_status(&mut held, WAIT).await, Some(200));

    let event = process.restart().await.unwrap();

    assert_eq!(
        event.action,
        ProcessAction::Restarted {
            previous_pid: old_pid,
            addr: Some(addr)
        }
    );
    assert_eq!(
        (event.signal, event.exit),
        (
            Some(Signal::SIGKILL),
            Some(ExitKind::Signal(Signal::SIGKILL))
        )
    );
    assert_ne!(process.pid(), old_pid);
    assert_eq!(event.pid, process.pid());
    assert_eq!(process.addr(), Some(addr));
    assert_eq!(get_status(addr, "/healthz").await, 200);
    let stdout = std::fs::read_to_string(process.stdout_path()).unwrap();
    assert_eq!(
        stdout,
        format!("listening on {addr}\nlistening on {addr}\n")
    );
}

#[tokio::test]
async fn restart_after_a_crash_starts_it_again_without_a_signal() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let process = supervisor.spawn(upstream("crashed")).await.unwrap();
    let addr = process.addr().unwrap();
    process.kill().await.unwrap();

    let event = process.restart().await.unwrap();

    assert_eq!(
        (event.signal, event.exit),
        (None, Some(ExitKind::Signal(Signal::SIGKILL)))
    );
    assert!(process.is_running());
    assert_eq!(get_status(addr, "/healthz").await, 200);
}

// --- cleanup ------------------------------------------------------------------------------

#[tokio::test]
async fn shutdown_leaves_no_process_and_is_idempotent() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let up = supervisor.spawn(upstream("up")).await.unwrap();
    let sleeper = supervisor
        .spawn(ProcessSpec::new("sleeper", "sleep").args(["1000"]))
        .await
        .unwrap();
    sleeper.pause().await.unwrap();
    let pids = [up.pid(), sleeper.pid()];

    let events = supervisor.shutdown();

    let mut stopped: Vec<u32> = events.iter().map(|event| event.pid).collect();
    stopped.sort_unstable();
    let mut expected = pids.to_vec();
    expected.sort_unstable();
    assert_eq!(stopped, expected);
    for event in &events {
        assert_eq!(event.action, ProcessAction::ShutDown);
        assert_eq!(event.exit, Some(ExitKind::Signal(Signal::SIGKILL)));
    }
    assert!(
        pids.iter().all(|&pid| is_gone(pid)),
        "reaped, not even zombies: {pids:?}"
    );
    assert!(supervisor.shutdown().is_empty());
    let late = supervisor
        .spawn(ProcessSpec::new("late", "sleep").args(["1000"]))
        .await;
    assert!(
        matches!(late, Err(ProcessError::ShutDown { .. })),
        "{late:?}"
    );
    assert!(matches!(
        up.kill().await,
        Err(ProcessError::NotRunning { .. })
    ));
}

#[tokio::test]
async fn dropping_the_supervisor_kills_its_processes() {
    let dir = run_dir();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let sleeper = supervisor
        .spawn(ProcessSpec::new("sleeper", "sleep").args(["1000"]))
        .await
        .unwrap();
    let pid = sleeper.pid();

    drop(supervisor);

    assert!(is_gone(pid));
    assert_eq!(
        sleeper.exit_status(),
        Some(ExitKind::Signal(Signal::SIGKILL))
    );
}

const CHILD_PID: &str = "supervised sleep pid ";

#[tokio::test]
async fn runner_killed_by_sigkill_takes_its_children_along() {
    // Orphans go to the nearest subreaper: this process, which can then reap the sleep
    // and read what killed it.
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let dir = run_dir();
    let mut helper = Helper::start("pdeathsig_helper", dir.path());
    let sleep_pid: u32 = helper.line(CHILD_PID).await.parse().unwrap();
    assert!(!is_dead(sleep_pid), "the sleep runs while its runner does");

    helper.sigkill().await;
    let began = Instant::now();
    let status = reap(sleep_pid, WAIT).await;

    assert_eq!(
        status,
        Some(WaitStatus::Signaled(
            env_support::pid_of(sleep_pid),
            Signal::SIGKILL,
            false
        ))
    );
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
}

/// Helper mode of `runner_killed_by_sigkill_takes_its_children_along`: a runner that
/// supervises a `sleep`, prints its pid and waits to be killed.
#[tokio::test]
#[ignore = "helper process, started by runner_killed_by_sigkill_takes_its_children_along"]
async fn pdeathsig_helper() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let supervisor = Supervisor::new(dir).unwrap();
    let sleeper = supervisor
        .spawn(ProcessSpec::new("sleeper", "sleep").args(["1000"]))
        .await
        .unwrap();
    println!("{CHILD_PID}{}", sleeper.pid());
    std::future::pending::<()>().await;
}
