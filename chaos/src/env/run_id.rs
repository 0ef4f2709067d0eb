//! Run ids and the names they put on every namespace, interface and nftables table.
//!
//! A run id is 6 characters of `[0-9a-z]`: the runner's pid in base 36 (5 characters,
//! zero-padded; Linux pids stay below 2^22, which needs 5) and a per-process sequence
//! character. Embedding the pid lets [`sweep`](super::sweep) tell a crashed run's leftovers
//! (owner gone) from a live run's objects, so concurrent runners never sweep each other.
//! Fixed width keeps names parseable and short: interface names must fit in 15 bytes.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

/// Length of a run id.
const LEN: usize = 6;
/// Characters of the pid part.
const PID_LEN: usize = 5;
/// Largest host index: `chv` + 6 + 2 digits + `h` = 12 of the 15 bytes an interface name may use.
pub(crate) const MAX_INDEX: u8 = 99;

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const NETNS_PREFIX: &str = "chaos-";
const VETH_PREFIX: &str = "chv";

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Identifies one drill run in the names of everything it creates on the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunId(String);

/// A string that is not a run id (6 characters of `[0-9a-z]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid run id {0:?}: expected 6 characters from 0-9 a-z")]
pub struct InvalidRunId(String);

// === impl RunId ===

impl RunId {
    /// A fresh id owned by this process: its pid plus the next of 36 sequence values, so
    /// up to 36 runs (or tests) of one process can exist at once without clashing.
    pub fn generate() -> RunId {
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 36;
        RunId::from_parts(std::process::id(), sequence)
    }

    fn from_parts(pid: u32, sequence: u32) -> RunId {
        let mut text = [b'0'; LEN];
        let mut rest = pid;
        for slot in text[..PID_LEN].iter_mut().rev() {
            *slot = DIGITS[(rest % 36) as usize];
            rest /= 36;
        }
        text[PID_LEN] = DIGITS[(sequence % 36) as usize];
        RunId(String::from_utf8_lossy(&text).into_owned())
    }

    /// The pid of the process that generated this id.
    pub fn owner_pid(&self) -> u32 {
        self.0[..PID_LEN]
            .bytes()
            .fold(0, |pid, digit| pid * 36 + digit_value(digit))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn digit_value(digit: u8) -> u32 {
    match digit {
        b'0'..=b'9' => u32::from(digit - b'0'),
        _ => u32::from(digit - b'a') + 10,
    }
}

impl FromStr for RunId {
    type Err = InvalidRunId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = text.len() == LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
        if valid {
            Ok(RunId(text.to_owned()))
        } else {
            Err(InvalidRunId(text.to_owned()))
        }
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every name one host of one run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostNames {
    /// `chaos-<run>-<n>`.
    pub(crate) netns: String,
    /// `chv<run><n>h`, in the host's namespace.
    pub(crate) host_veth: String,
    /// `chv<run><n>n`, inside the namespace.
    pub(crate) ns_veth: String,
    /// `chaos_<run>_<n>`, an `inet` table inside the namespace.
    pub(crate) table: String,
}

impl HostNames {
    pub(crate) fn new(run: &RunId, index: u8) -> HostNames {
        HostNames {
            netns: format!("{NETNS_PREFIX}{run}-{index}"),
            host_veth: format!("{VETH_PREFIX}{run}{index}h"),
            ns_veth: format!("{VETH_PREFIX}{run}{index}n"),
            table: format!("chaos_{run}_{index}"),
        }
    }
}

/// The run that owns a namespace named by [`HostNames`], if the name is one of ours.
pub(crate) fn netns_owner(name: &str) -> Option<RunId> {
    let rest = name.strip_prefix(NETNS_PREFIX)?;
    let (run, index) = rest.split_at_checked(LEN)?;
    owner(run, index.strip_prefix('-')?)
}

/// The run that owns a host-side veth named by [`HostNames`], if the name is one of ours.
pub(crate) fn host_veth_owner(name: &str) -> Option<RunId> {
    let rest = name.strip_prefix(VETH_PREFIX)?.strip_suffix('h')?;
    let (run, index) = rest.split_at_checked(LEN)?;
    owner(run, index)
}

fn owner(run: &str, index: &str) -> Option<RunId> {
    // Exactly the decimal form `HostNames` writes: no sign, no leading zero.
    let value: u8 = index.parse().ok()?;
    (value <= MAX_INDEX && value.to_string() == index).then_some(())?;
    run.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_encodes_pid_and_sequence_in_six_chars() {
        let id = RunId::from_parts(4_194_304, 35);
        assert_eq!(id.as_str().len(), 6);
        assert_eq!(id.owner_pid(), 4_194_304);
        assert!(id.as_str().ends_with('z'), "{id}");
        assert_eq!(RunId::from_parts(1, 0).as_str(), "000010");
    }

    #[test]
    fn run_id_generate_is_owned_by_this_process_and_differs_each_time() {
        let a = RunId::generate();
        let b = RunId::generate();
        assert_eq!(a.owner_pid(), std::process::id());
        assert_ne!(a, b);
    }

    #[test]
    fn run_id_parse_rejects_wrong_length_and_characters() {
        // "00abc" in base 36: 10 * 36^2 + 11 * 36 + 12.
        assert_eq!(
            "00abc1".parse::<RunId>().map(|id| id.owner_pid()),
            Ok(13_368)
        );
        assert!("00abc".parse::<RunId>().is_err());
        assert!("00ABC1".parse::<RunId>().is_err());
        assert!("00-bc1".parse::<RunId>().is_err());
    }

    #[test]
    fn host_names_fit_interface_limit_at_max_index() {
        let names = HostNames::new(&RunId::from_parts(4_194_304, 35), MAX_INDEX);
        // 4194304 = 2^22, above Linux's largest pid, is "2hwcg" in base 36.
        assert_eq!(names.netns, "chaos-2hwcgz-99");
        assert_eq!(names.host_veth, "chv2hwcgz99h");
        assert_eq!(names.ns_veth, "chv2hwcgz99n");
        assert_eq!(names.table, "chaos_2hwcgz_99");
        assert!(names.host_veth.len() <= 15);
    }

    #[test]
    fn owners_parse_back_from_names_and_reject_foreign_ones() {
        let run = RunId::from_parts(4242, 3);
        let names = HostNames::new(&run, 7);
        assert_eq!(netns_owner(&names.netns), Some(run.clone()));
        assert_eq!(host_veth_owner(&names.host_veth), Some(run));
        assert_eq!(host_veth_owner(&names.ns_veth), None);
        assert_eq!(netns_owner("chaos-monkey"), None);
        assert_eq!(netns_owner("chaos-00abc1-100"), None);
        assert_eq!(netns_owner("chaos-00abc1-07"), None);
        assert_eq!(netns_owner("chaos-00abc1-+7"), None);
        assert_eq!(host_veth_owner("chvabc"), None);
        assert_eq!(host_veth_owner("eth0"), None);
    }
}
