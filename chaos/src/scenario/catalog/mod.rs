//! The fault kinds: one table row per kind, read by the validator and printed by `chaos list`.
//!
//! Each row names the kind's parameters with their type, default and meaning, what the
//! target must be for the kind to work, its observable effect, and the Toxiproxy toxic it
//! becomes (for toxic kinds). The validator checks written parameters against this table and
//! fills defaults by parsing the table's default text with the same parser as written values,
//! so `chaos list` and validation cannot disagree.

mod table;

pub use table::KINDS;

/// A fault kind: the key of a fault entry that says what the fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `kill`: SIGKILL a spawned upstream.
    Kill,
    /// `terminate`: SIGTERM a spawned upstream.
    Terminate,
    /// `pause`: SIGSTOP a spawned upstream, SIGCONT at the end.
    Pause,
    /// `restart`: kill and start a spawned upstream again at once.
    Restart,
    /// `latency`: Toxiproxy `latency` toxic.
    Latency,
    /// `bandwidth`: Toxiproxy `bandwidth` toxic.
    Bandwidth,
    /// `slow_close`: Toxiproxy `slow_close` toxic.
    SlowClose,
    /// `blackhole`: Toxiproxy `timeout` toxic with timeout 0 (data held until removed).
    Blackhole,
    /// `timeout`: Toxiproxy `timeout` toxic.
    Timeout,
    /// `reset_peer`: Toxiproxy `reset_peer` toxic.
    ResetPeer,
    /// `slicer`: Toxiproxy `slicer` toxic.
    Slicer,
    /// `limit_data`: Toxiproxy `limit_data` toxic.
    LimitData,
    /// `refuse`: the fault proxy stops listening.
    Refuse,
    /// `partition`: nftables drop between the gateway and a netns upstream.
    Partition,
    /// `http_errors`: `chaos upstream` answers with errors.
    HttpErrors,
    /// `gateway_fault`: the gateway's own fault filter, driven by request headers.
    GatewayFault,
    /// `command`: any program, started at `at` and stopped at the end.
    Command,
}

/// What a fault's target must be for its kind to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// No target.
    Nothing,
    /// An upstream the runner starts (`builtin` or `command`).
    SpawnedUpstream,
    /// An upstream reached through the fault proxy (`via: proxy`).
    ProxiedUpstream,
    /// An upstream in its own network namespace (`via: netns`).
    NetnsUpstream,
    /// A `builtin` upstream (`chaos upstream`).
    BuiltinUpstream,
}

/// Faults that cannot act on one upstream instance at the same time: two faults whose slots
/// [conflict](Slot::conflicts_with) must not overlap in time on a shared instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The process (kill, terminate, pause, restart): one signal story at a time.
    Process,
    /// The behaviour switch of `chaos upstream` (`http_errors`): undoing one would undo the
    /// other, and a restart resets it.
    Behaviour,
    /// The fault proxy's listener (`refuse`): the first to end would listen again.
    Listener,
    /// The nftables rules of the instance's namespace (`partition`).
    Partition,
    /// The request headers driving the gateway's fault filter (`gateway_fault`).
    GatewayFilter,
}

/// The type of a parameter, which decides how its value is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `NAME` or `NAME.N`: an upstream, or one replica of it.
    Target,
    /// `restart` or `stay_down`.
    Then,
    /// `upstream` or `downstream`.
    Stream,
    /// A percentage (`50%`).
    Percent,
    /// A duration; Toxiproxy attributes need it in whole units of `granularity`.
    Duration(Granularity),
    /// A byte size with a unit (`1KiB`).
    ByteSize,
    /// A whole number from `min` up, of `unit` (`KB/s`, `bytes`).
    Integer {
        /// Smallest value allowed.
        min: u64,
        /// What one unit is.
        unit: &'static str,
    },
    /// An HTTP status from `min` to `max`.
    Status {
        /// Smallest status allowed.
        min: u16,
        /// Largest status allowed.
        max: u16,
    },
    /// `true` or `false`.
    Bool,
    /// A non-empty list of strings: program and arguments.
    Argv,
    /// A mapping with its own parameters.
    Group(&'static [Param]),
}

/// The unit a duration parameter must be a whole multiple of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Any duration.
    Any,
    /// Whole milliseconds (Toxiproxy's unit for most attributes).
    Millis,
    /// Whole microseconds (the slicer's `delay`).
    Micros,
}

/// Whether a parameter must be written, and its value when it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamDefault {
    /// Must be written.
    Required,
    /// May be left out, and then means "not set" (e.g. keep the current latency).
    Unset,
    /// May be left out, and then has this value (parsed like a written one).
    Value(&'static str),
}

/// One parameter of a fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its key.
    pub name: &'static str,
    /// How its value is parsed.
    pub ty: ParamType,
    /// Whether it is required, or its default.
    pub default: ParamDefault,
    /// What it means, one line.
    pub doc: &'static str,
}

/// One row of the table: everything known about a fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// The kind.
    pub kind: Kind,
    /// What it does, one line.
    pub summary: &'static str,
    /// Its parameters, in the order `chaos list` shows them.
    pub params: &'static [Param],
    /// Of these optional parameters, at least one must be written (e.g. `gateway_fault`
    /// needs `abort` or `delay`); empty for most kinds.
    pub needs_one_of: &'static [&'static str],
    /// What its target must be.
    pub requires: Requirement,
    /// Which faults it cannot overlap with on one instance.
    pub slot: Option<Slot>,
    /// What clients and the gateway observe while it is applied.
    pub on_wire: &'static str,
    /// How it is applied: the Toxiproxy toxic and attributes, signal, or API call.
    pub mechanism: &'static str,
}

// === impl Kind ===

impl Kind {
    /// Every kind, in table order.
    pub const ALL: [Kind; 17] = [
        Kind::Kill,
        Kind::Terminate,
        Kind::Pause,
        Kind::Restart,
        Kind::Latency,
        Kind::Bandwidth,
        Kind::SlowClose,
        Kind::Blackhole,
        Kind::Timeout,
        Kind::ResetPeer,
        Kind::Slicer,
        Kind::LimitData,
        Kind::Refuse,
        Kind::Partition,
        Kind::HttpErrors,
        Kind::GatewayFault,
        Kind::Command,
    ];

    /// The key written in a scenario, e.g. `slow_close`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Kill => "kill",
            Kind::Terminate => "terminate",
            Kind::Pause => "pause",
            Kind::Restart => "restart",
            Kind::Latency => "latency",
            Kind::Bandwidth => "bandwidth",
            Kind::SlowClose => "slow_close",
            Kind::Blackhole => "blackhole",
            Kind::Timeout => "timeout",
            Kind::ResetPeer => "reset_peer",
            Kind::Slicer => "slicer",
            Kind::LimitData => "limit_data",
            Kind::Refuse => "refuse",
            Kind::Partition => "partition",
            Kind::HttpErrors => "http_errors",
            Kind::GatewayFault => "gateway_fault",
            Kind::Command => "command",
        }
    }

    /// The kind written as `name`, if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Its row of the table.
    pub fn spec(self) -> &'static KindSpec {
        // `KINDS` lists the kinds in declaration order; the test below proves it.
        let index = self as usize;
        match KINDS.get(index) {
            Some(spec) => spec,
            None => &KINDS[0],
        }
    }

    /// Whether it acts on a target, and so may be written `KIND: TARGET` (complete only when
    /// the target is its one required parameter, see [`Kind::shorthand_is_complete`]).
    pub fn has_shorthand(self) -> bool {
        self.spec()
            .params
            .first()
            .is_some_and(|p| p.ty == ParamType::Target)
    }

    /// Whether `KIND: TARGET` alone is a complete fault (every other parameter has a
    /// default), e.g. `kill: users-a`, but not `latency: users-a`.
    pub fn shorthand_is_complete(self) -> bool {
        self.has_shorthand()
            && self
                .spec()
                .params
                .iter()
                .all(|p| p.ty == ParamType::Target || p.default != ParamDefault::Required)
    }

    /// The names of every kind, comma-separated, for messages.
    pub fn names() -> String {
        Kind::ALL.map(Kind::name).join(", ")
    }
}

// === impl Slot ===

impl Slot {
    /// Whether faults in these slots cannot overlap on one instance: the same slot, or a
    /// process fault and the behaviour switch (a restart resets the behaviour `http_errors`
    /// set, and undoing `http_errors` would then restore a stale one).
    pub fn conflicts_with(self, other: Slot) -> bool {
        self == other
            || matches!(
                (self, other),
                (Slot::Process, Slot::Behaviour) | (Slot::Behaviour, Slot::Process)
            )
    }
}

// === impl Requirement ===

impl Requirement {
    /// What the target must be, for messages and `chaos list`.
    pub fn describe(self) -> &'static str {
        match self {
            Requirement::Nothing => "no target",
            Requirement::SpawnedUpstream => "an upstream the runner starts (builtin or command)",
            Requirement::ProxiedUpstream => "an upstream with `via: proxy`",
            Requirement::NetnsUpstream => "an upstream with `via: netns`",
            Requirement::BuiltinUpstream => "a builtin upstream",
        }
    }
}

// === impl ParamType ===

impl ParamType {
    /// What a value of this type looks like, for messages and `chaos list`.
    pub fn expected(self) -> String {
        match self {
            ParamType::Target => "an upstream name, or NAME.N for one replica".to_owned(),
            ParamType::Then => "`restart` or `stay_down`".to_owned(),
            ParamType::Stream => "`downstream` or `upstream`".to_owned(),
            ParamType::Percent => "a percentage, e.g. `50%`".to_owned(),
            ParamType::Duration(Granularity::Any) => "a duration, e.g. `2s`".to_owned(),
            ParamType::Duration(Granularity::Millis) => {
                "a duration in whole milliseconds, e.g. `100ms`".to_owned()
            }
            ParamType::Duration(Granularity::Micros) => {
                "a duration in whole microseconds, e.g. `500us`".to_owned()
            }
            ParamType::ByteSize => "a byte size, e.g. `1KiB` or `100B`".to_owned(),
            ParamType::Integer { min, unit } => format!("a whole number of {unit}, at least {min}"),
            ParamType::Status { min, max } => format!("an HTTP status from {min} to {max}"),
            ParamType::Bool => "true or false".to_owned(),
            ParamType::Argv => "a list: [PROGRAM, ARGS...]".to_owned(),
            ParamType::Group(params) => {
                let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                format!("a mapping with: {}", names.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_rows_follow_kind_order() {
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(KINDS[i].kind, kind);
            assert_eq!(kind.spec().kind, kind);
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(Kind::from_name("kil"), None);
    }

    #[test]
    fn catalog_params_are_unique_per_kind() {
        for spec in KINDS {
            let mut names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), spec.params.len(), "{}", spec.kind.name());
            for name in spec.needs_one_of {
                assert!(
                    spec.params
                        .iter()
                        .any(|p| p.name == *name && p.default == ParamDefault::Unset),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn kinds_with_a_target_need_one_and_have_the_shorthand() {
        for spec in KINDS {
            let has_target = spec.params.iter().any(|p| p.ty == ParamType::Target);
            assert_eq!(
                has_target,
                spec.requires != Requirement::Nothing,
                "{:?}",
                spec.kind
            );
            assert_eq!(has_target, spec.kind.has_shorthand(), "{:?}", spec.kind);
        }
    }

    #[test]
    fn slot_conflicts_are_symmetric() {
        let slots = [
            Slot::Process,
            Slot::Behaviour,
            Slot::Listener,
            Slot::Partition,
            Slot::GatewayFilter,
        ];
        for a in slots {
            for b in slots {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a:?} {b:?}");
            }
        }
        assert!(Slot::Process.conflicts_with(Slot::Behaviour));
        assert!(!Slot::Process.conflicts_with(Slot::Listener));
    }
}
