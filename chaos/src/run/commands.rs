//! Programs run by `command` faults: `start` at the fault's start, `stop` at its end (and at
//! teardown), each bounded by the fault's timeout and killed past it, with their output kept
//! for the journal.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use super::error::FaultError;
use super::faults::{Applied, FaultContext, Undo};
use crate::journal::{CommandRecord, micros};
use crate::scenario::{CommandFault, Template};

/// Most output kept per stream of a command.
const MAX_OUTPUT: usize = 64 * 1024;

pub(crate) async fn start_command(ctx: &FaultContext, command: &CommandFault) -> Applied {
    let render = |argv: &[Template]| -> Result<Vec<String>, FaultError> {
        argv.iter()
            .map(|t| t.render(&ctx.topology))
            .collect::<Result<_, _>>()
            .map_err(FaultError::Render)
    };
    let stop = match command.stop.as_deref().map(render).transpose() {
        Ok(stop) => stop,
        Err(error) => {
            return Applied {
                undo: Undo::Nothing,
                commands: Vec::new(),
                error: Some(error),
            };
        }
    };
    let undo = match stop {
        Some(argv) => Undo::Command {
            argv,
            timeout: command.timeout,
        },
        None => Undo::Nothing,
    };
    let start = match render(&command.start) {
        Ok(argv) => argv,
        Err(error) => {
            return Applied {
                undo: Undo::Nothing,
                commands: Vec::new(),
                error: Some(error),
            };
        }
    };
    let record = run_command("start", start, command.timeout).await;
    let error = command_result(&record).err();
    Applied {
        // A start that failed may still have changed something: its stop runs anyway.
        undo,
        commands: vec![record],
        error,
    }
}

/// Runs `argv` to its end or `timeout` (then killed), keeping its output.
pub(crate) async fn run_command(
    phase: &str,
    argv: Vec<String>,
    timeout: Duration,
) -> CommandRecord {
    let began = Instant::now();
    let mut record = CommandRecord {
        phase: phase.to_owned(),
        argv: argv.clone(),
        exit_code: None,
        timed_out: false,
        stdout: String::new(),
        stderr: String::new(),
        took_us: 0,
    };
    let Some((program, args)) = argv.split_first() else {
        record.stderr = "empty command".to_owned();
        return record;
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // fork + exec blocks for a millisecond or two: off the async workers, so faults due at
    // the same instant are not held up.
    let spawned = match tokio::task::spawn_blocking(move || command.spawn()).await {
        Ok(spawned) => spawned,
        Err(join) => Err(std::io::Error::other(join.to_string())),
    };
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            record.stderr = format!("cannot start: {err}");
            record.took_us = micros(began.elapsed());
            return record;
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read = |pipe: Option<tokio::process::ChildStdout>| async move {
        let mut text = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(MAX_OUTPUT as u64).read_to_end(&mut text).await;
        }
        String::from_utf8_lossy(&text).into_owned()
    };
    let read_err = |pipe: Option<tokio::process::ChildStderr>| async move {
        let mut text = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(MAX_OUTPUT as u64).read_to_end(&mut text).await;
        }
        String::from_utf8_lossy(&text).into_owned()
    };
    let finished = tokio::time::timeout(timeout, async {
        let (out, err, status) = tokio::join!(read(stdout), read_err(stderr), child.wait());
        (out, err, status)
    })
    .await;
    match finished {
        Ok((out, err, status)) => {
            record.stdout = out;
            record.stderr = err;
            record.exit_code = status.ok().and_then(|s| s.code());
        }
        Err(_) => {
            record.timed_out = true;
            let _ = child.kill().await;
        }
    }
    record.took_us = micros(began.elapsed());
    record
}

pub(crate) fn command_result(record: &CommandRecord) -> Result<(), FaultError> {
    let problem = if record.timed_out {
        "ran past its timeout and was killed".to_owned()
    } else {
        match record.exit_code {
            Some(0) => return Ok(()),
            Some(code) => format!("exited with code {code}: {}", record.stderr.trim()),
            None => format!("did not exit normally: {}", record.stderr.trim()),
        }
    };
    Err(FaultError::Command {
        argv: record.argv.join(" "),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn command_output_and_exit_code_are_kept() {
        let record = run_command(
            "start",
            vec![
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(record.stdout, "out\n");
        assert_eq!(record.stderr, "err\n");
        assert_eq!(record.exit_code, Some(3));
        assert!(!record.timed_out);
        let err = command_result(&record).unwrap_err();
        assert!(matches!(err, FaultError::Command { .. }), "{err}");
    }

    #[tokio::test]
    async fn command_past_its_timeout_is_killed() {
        let began = Instant::now();
        let record = run_command(
            "stop",
            vec!["sleep".into(), "10".into()],
            Duration::from_millis(200),
        )
        .await;
        assert!(record.timed_out);
        assert_eq!(record.exit_code, None);
        let took = began.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(command_result(&record).is_err());
    }
}
