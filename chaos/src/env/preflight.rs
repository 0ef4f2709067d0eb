//! Checks, before anything is created, that this machine can host real partitions.

use nix::unistd::geteuid;

use super::command::Tool;
use super::error::EnvUnavailable;

/// Checks that network namespaces and nftables are usable here: Linux, root, and working
/// `ip` (iproute2) and `nft` (nftables) commands.
///
/// Runs `ip -j netns list` and `nft list tables`, which succeed only with the tools
/// installed, the kernel support present and enough privilege. Changes nothing. The
/// runner calls it first and maps an error to exit 3; the tests call it and fail with its
/// message rather than skip.
pub fn preflight() -> Result<(), EnvUnavailable> {
    if !cfg!(target_os = "linux") {
        return Err(EnvUnavailable::NotLinux {
            os: std::env::consts::OS,
        });
    }
    let euid = geteuid();
    if !euid.is_root() {
        return Err(EnvUnavailable::NotRoot {
            euid: euid.as_raw(),
        });
    }
    Tool::ip(["-j", "netns", "list"])
        .run()
        .map_err(|source| EnvUnavailable::Tool {
            tool: "ip",
            package: "iproute2",
            source,
        })?;
    Tool::nft(["list", "tables"])
        .run()
        .map_err(|source| EnvUnavailable::Tool {
            tool: "nft",
            package: "nftables",
            source,
        })?;
    Ok(())
}
