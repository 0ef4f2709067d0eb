//! Partitions: nftables rules inside a host's namespace that drop all traffic on its veth.
//!
//! The table lives in the namespace, not in the host's ruleset: the host's firewall is
//! never touched, and the rules die with the namespace, so a crashed run cannot leave the
//! host partitioned. One `inet` table per host holds one chain per direction:
//!
//! - `from_gateway` (hook `input`): drops what arrives over the veth, so a SYN from the
//!   host gets no SYN-ACK and the gateway sees connect timeouts (DESIGN's tested
//!   signature); established connections stall the same way.
//! - `to_gateway` (hook `output`): drops what the namespace sends over the veth, so
//!   answers and the upstream's own calls out are cut too.
//!
//! Both load in one `nft -f` transaction. Healing is deleting the table, which removes
//! exactly these rules. Both scripts begin with `add table` + `delete table`, the nftables
//! idiom that makes them idempotent: partitioning twice replaces, healing twice succeeds.

use std::time::SystemTime;

use super::command::Tool;
use super::error::CommandError;

/// A change of a host's reachability, for the drill's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionEvent {
    /// When the rules were loaded or deleted (after `nft` returned).
    pub at: SystemTime,
    /// The namespace affected.
    pub netns: String,
    /// What happened.
    pub action: PartitionAction,
}

/// What a [`PartitionEvent`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionAction {
    /// All traffic between the host and the namespace is now dropped.
    Partitioned,
    /// The drop rules are gone.
    Healed,
}

/// Loads the drop rules for `interface` into `table` inside `netns`, replacing any.
pub(crate) fn install(netns: &str, table: &str, interface: &str) -> Result<(), CommandError> {
    Tool::nft_in(netns, ["-f", "-"])
        .stdin(install_script(table, interface))
        .run()
        .map(drop)
}

/// Deletes `table` inside `netns`; succeeds when it is already gone.
pub(crate) fn remove(netns: &str, table: &str) -> Result<(), CommandError> {
    Tool::nft_in(netns, ["-f", "-"])
        .stdin(remove_script(table))
        .run()
        .map(drop)
}

/// Whether `table` exists inside `netns`.
pub(crate) fn is_installed(netns: &str, table: &str) -> Result<bool, CommandError> {
    let tables = Tool::nft_in(netns, ["list", "tables"]).run()?;
    let wanted = format!("table inet {table}");
    Ok(tables.lines().any(|line| line.trim() == wanted))
}

fn install_script(table: &str, interface: &str) -> String {
    format!(
        "add table inet {table}\n\
         delete table inet {table}\n\
         table inet {table} {{\n\
         \tchain from_gateway {{\n\
         \t\ttype filter hook input priority filter; policy accept;\n\
         \t\tiifname \"{interface}\" drop\n\
         \t}}\n\
         \tchain to_gateway {{\n\
         \t\ttype filter hook output priority filter; policy accept;\n\
         \t\toifname \"{interface}\" drop\n\
         \t}}\n\
         }}\n"
    )
}

fn remove_script(table: &str) -> String {
    format!("add table inet {table}\ndelete table inet {table}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_script_replaces_the_table_and_drops_both_directions() {
        let script = install_script("chaos_00abc1_0", "chv00abc10n");
        let lines: Vec<&str> = script.lines().map(str::trim).collect();
        assert_eq!(
            lines[..2],
            [
                "add table inet chaos_00abc1_0",
                "delete table inet chaos_00abc1_0"
            ]
        );
        assert!(lines.contains(&"type filter hook input priority filter; policy accept;"));
        assert!(lines.contains(&"iifname \"chv00abc10n\" drop"));
        assert!(lines.contains(&"type filter hook output priority filter; policy accept;"));
        assert!(lines.contains(&"oifname \"chv00abc10n\" drop"));
    }

    #[test]
    fn remove_script_is_idempotent_form() {
        assert_eq!(
            remove_script("chaos_00abc1_0"),
            "add table inet chaos_00abc1_0\ndelete table inet chaos_00abc1_0\n"
        );
    }
}
