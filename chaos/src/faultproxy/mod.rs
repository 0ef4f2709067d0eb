//! An embedded TCP fault proxy that speaks Toxiproxy's REST API, and a client for it.
//!
//! [`FaultProxy`] runs named proxies (`listen` → `upstream`) whose connections pass through
//! chains of toxics; [`serve_api`] exposes it as Toxiproxy 2.12's HTTP API (so
//! `toxiproxy-cli`, `toxiproxy_rust` and other clients work unchanged), and
//! [`ToxiproxyClient`] drives it, or a real Toxiproxy, from a drill. `chaos proxy` serves
//! it standalone.
//!
//! ```text
//! client ──► proxy listener ──► connection ─┬─ upstream link:   read client ─► noop ─► toxics… ─► write server
//!                                            └─ downstream link: read server ─► noop ─► toxics… ─► write client
//! API (hyper) ──► FaultProxy ──► Proxy (listener, live connections) ──► ToxicCollection (chains + live links)
//! ```
//!
//! # Semantics (Toxiproxy's, from its source; deviations are marked)
//!
//! - **Chunks.** A chunk is what one socket read returned (at most 32 KiB), not a protocol
//!   message; toxics are protocol-blind.
//! - **Streams.** `upstream` toxics act on client→server bytes, `downstream` (the default)
//!   on server→client bytes; each direction of each connection is a *link* with its own
//!   chain, in order of creation. Names are unique across both directions.
//! - **Toxicity.** Each time a toxic's stage starts on a link (connection start, toxic
//!   added or updated, or a neighbouring toxic added or removed) one draw decides whether
//!   the toxic or a noop runs on that link until the next restart. Draws come from a
//!   per-link RNG seeded by (seed, proxy name, connection sequence number, direction), so
//!   for a fixed `--seed` the n-th connection of a proxy gets the same decisions whatever
//!   else runs concurrently (Toxiproxy uses one global RNG, reproducible only under
//!   identical global ordering). Jitter and slicer draws use per-stage RNGs derived from
//!   the same link RNG. `toxicity` outside 0..=1 is refused with 400 (Toxiproxy accepts it).
//! - **Live connections.** Adding a toxic splices it into every live link of its
//!   direction; updating restarts its stage with the new attributes; removing flushes what
//!   the toxic holds onward (a held latency chunk leaves at once) and rewires the chain.
//!   A chain change also restarts the stage before the changed one, so its toxicity is
//!   re-rolled and a `timeout` countdown starts again. Removing a `timeout` closes the
//!   links it ran on (the stream lost data), as Toxiproxy's cleanup does.
//! - **Closing.** No half-close, as in Toxiproxy: when a link's chain ends, the socket it
//!   writes to is closed, and the other link then ends after flushing what its toxics
//!   hold (so a downstream `slow_close` delays the client's close).
//! - **Disable / delete.** Closes the listener (connects are then refused by the kernel)
//!   and both sockets of every live connection at once; toxics survive disable/enable, and
//!   enabling binds the same address again. Changing `listen` or `upstream` restarts the
//!   proxy (connections dropped). A failed upstream dial closes the accepted client: it
//!   sees a connect, then EOF.
//! - **`reset_peer`.** `SO_LINGER` 0 is set on both sockets when the toxic fires, so every
//!   connection it fires on is reset, including connections older than the toxic.
//!   Deviation: Toxiproxy sets the linger when a connection opens while the toxic exists,
//!   so it resets connections even where toxicity skipped it (its bug #603) and closes
//!   older ones with FIN.
//! - **Timers.** tokio's timer has 1 ms resolution: latency adds up to ~1 ms on top of the
//!   requested delay, and slicer delays below 1 ms become 1 ms.
//! - **API.** Routes, JSON shapes, status codes and error texts are Toxiproxy 2.12's
//!   (see [`serve_api`]); `GET /version` answers [`TOXIPROXY_API_VERSION`]; `/metrics` is
//!   404, as in Toxiproxy without `-proxy-metrics`. An empty `listen` binds `127.0.0.1:0`
//!   (Toxiproxy binds every interface).
//!
//! Files: `engine` ([`FaultProxy`]), `proxy` (listener, lifecycle, live connections),
//! `collection` (a proxy's chains and live links), `link` (one link's stages and
//! rewiring), `connection` (socket readers/writers, close propagation), `toxics/` (one file
//! per toxic), `model` (JSON shapes), `api` (HTTP server), `client`, `error`, `command`
//! (`chaos proxy`).

mod api;
mod client;
mod collection;
mod command;
mod connection;
mod engine;
mod error;
mod link;
mod model;
mod proxy;
mod toxics;

pub use self::api::{TOXIPROXY_API_VERSION, serve_api};
pub use self::client::{RetryPolicy, ToxiproxyClient};
pub use self::engine::FaultProxy;
pub use self::error::{ClientError, FaultProxyError, PopulateError};
pub use self::model::{NewToxic, ProxyConfig, ProxyState, ProxyUpdate, Stream, Toxic, ToxicUpdate};
pub use self::toxics::{
    Bandwidth, Latency, LimitData, ResetPeer, Slicer, SlowClose, Timeout, ToxicKind,
};

pub(crate) use self::command::{Settings, run};
