//! Arms a child's parent-death signal, the one `unsafe` block of this crate.
//!
//! `PR_SET_PDEATHSIG` can only be set by the child itself, between `fork` and `exec`, and
//! std reaches that window only through `CommandExt::pre_exec`, which is `unsafe` because
//! the closure runs in a forked copy of a multi-threaded process where only
//! async-signal-safe calls are sound. There is no safe wrapper for it in std, tokio or nix;
//! the alternative, `setpriv --pdeathsig`, adds a program dependency and leaves a window
//! where the runner can die before the signal is armed.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid};

/// Makes the kernel SIGKILL the child when the thread that spawns it exits, including
/// when the whole runner dies by SIGKILL.
///
/// The "parent" is the spawning *thread*: callers spawn from a thread that outlives the
/// child (see `child::launch`). If the runner died before the signal was armed, the child
/// is already orphaned (its parent pid changed), so it refuses to exec.
#[allow(unsafe_code)]
pub(super) fn kill_with_parent(command: &mut Command) {
    let parent = getpid();
    // SAFETY: the closure runs in the child after fork, before exec. It only makes the
    // prctl(2) and getppid(2) system calls through nix's thin wrappers, which neither
    // allocate nor take locks (both async-signal-safe), and builds `io::Error`s from raw
    // errno values, which does not allocate. It captures `parent` by copy and touches no
    // state shared with other threads.
    unsafe {
        command.pre_exec(move || {
            prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            if getppid() != parent {
                return Err(io::Error::from(Errno::ESRCH));
            }
            Ok(())
        });
    }
}
