//! Hot reload: on SIGHUP, on a change of the config file (debounced), or on
//! `POST /admin/reload`: read, validate, build, then swap atomically. A config that fails any
//! step is rejected whole, every problem is logged, and the running version stays.
//!
//! Listener addresses are bound once at start, and the trace pipeline is started once; a
//! reload that changes them is applied except for those settings, with a warning (rebinding
//! would drop connections). The same holds for turning listener TLS on or off; certificates,
//! `min_version`, `alpn` and `handshake_timeout` of a TLS listener do reload (new connections
//! use them). Certificate files are read during validation, so an unreadable or invalid one
//! rejects the reload like any invalid config. Every reload, applied or rejected, is counted in
//! `gateway_config_reloads_total{outcome}` and recorded as a `config.reload` evidence span.

use std::ffi::OsString;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use observability::names::{attr, span};
use opentelemetry::KeyValue;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::config::{LoadError, load_str};
use crate::errors::error_chain;
use crate::metrics::OutcomeLabels;
use crate::state::{Applied, GatewayState};

/// Why a reload was rejected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReloadError {
    /// The file could not be read or is not a valid config.
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl ReloadError {
    /// One line per problem, for logs and the admin API.
    pub(crate) fn lines(&self) -> Vec<String> {
        match self {
            Self::Load(LoadError::Invalid(diagnostics)) => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            Self::Load(e @ LoadError::Read { .. }) => vec![error_chain(e)],
        }
    }
}

/// Reloads one config file into one gateway.
#[derive(Debug)]
pub(crate) struct Reloader {
    path: PathBuf,
    state: Arc<GatewayState>,
    /// Hash of the text last applied; serializes reloads from all triggers.
    applied: Mutex<u64>,
}

impl Reloader {
    /// `text` is the config text already running, so an unchanged file is not reapplied.
    pub(crate) fn new(path: &Path, state: Arc<GatewayState>, text: &str) -> Self {
        Self {
            path: path.to_owned(),
            state,
            applied: Mutex::new(hash(text)),
        }
    }

    /// Reloads unconditionally (SIGHUP, admin API). Returns the new version.
    pub(crate) async fn reload(&self) -> Result<u64, ReloadError> {
        self.reload_inner(true)
            .await
            .map(|v| v.unwrap_or_else(|| self.state.runtime().version))
    }

    /// Reloads only if the file's content differs from what is running (file watcher).
    async fn reload_if_changed(&self) -> Result<Option<u64>, ReloadError> {
        self.reload_inner(false).await
    }

    async fn reload_inner(&self, force: bool) -> Result<Option<u64>, ReloadError> {
        let mut applied = self.applied.lock().await;
        let result = self.try_reload(force, &mut applied).await;
        let instruments = self.state.instruments();
        match &result {
            Ok(Some(applied)) => {
                instruments
                    .metrics
                    .reloads
                    .get_or_create(&OutcomeLabels { outcome: "applied" })
                    .inc();
                let evidence = instruments.state_change(
                    span::CONFIG_RELOAD,
                    vec![
                        KeyValue::new(attr::RELOAD_OUTCOME, "applied"),
                        KeyValue::new(
                            attr::CONFIG_VERSION,
                            i64::try_from(applied.version).unwrap_or(i64::MAX),
                        ),
                        KeyValue::new(attr::RELOAD_CHANGED, applied.changed_upstreams.join(",")),
                        KeyValue::new(
                            attr::RELOAD_FRESH_BREAKERS,
                            applied.fresh_breakers.join(","),
                        ),
                    ],
                );
                info!(
                    version = applied.version,
                    changed_upstreams = %applied.changed_upstreams.join(","),
                    fresh_breakers = %applied.fresh_breakers.join(","),
                    path = %self.path.display(),
                    trace_id = %evidence.trace_id(),
                    "Config reloaded"
                );
            }
            Ok(None) => {}
            Err(e) => {
                instruments
                    .metrics
                    .reloads
                    .get_or_create(&OutcomeLabels {
                        outcome: "rejected",
                    })
                    .inc();
                let lines = e.lines();
                let evidence = instruments.state_change(
                    span::CONFIG_RELOAD,
                    vec![
                        KeyValue::new(attr::RELOAD_OUTCOME, "rejected"),
                        KeyValue::new(attr::REASON, lines.first().cloned().unwrap_or_default()),
                    ],
                );
                for line in &lines {
                    error!(problem = %line, trace_id = %evidence.trace_id(), "Config reload rejected");
                }
            }
        }
        result.map(|applied| applied.map(|a| a.version))
    }

    async fn try_reload(
        &self,
        force: bool,
        applied: &mut u64,
    ) -> Result<Option<Applied>, ReloadError> {
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|source| LoadError::Read {
                path: self.path.display().to_string(),
                source,
            })?;
        let digest = hash(&text);
        if !force && digest == *applied {
            return Ok(None);
        }
        let mut config = load_str(&self.path.display().to_string(), &text)?;
        let running = self.state.runtime();
        if config.listen != running.config.listen
            || config.admin.listen != running.config.admin.listen
        {
            warn!(
                listen = %running.config.listen,
                admin = %running.config.admin.listen,
                "Listener addresses changed in the config; they apply after a restart"
            );
        }
        if config.telemetry != running.config.telemetry {
            warn!("Telemetry settings changed in the config; they apply after a restart");
        }
        if config.reload != running.config.reload {
            warn!("Reload settings changed in the config; they apply after a restart");
        }
        // Whether the listener speaks TLS is fixed at start (clients would otherwise see the
        // port change protocol); its certificates and settings do reload.
        if config.tls.is_some() != running.config.tls.is_some() {
            warn!(
                tls = running.config.tls.is_some(),
                "TLS was turned on or off in the config; that applies after a restart"
            );
            config.tls = running.config.tls.clone();
        }
        // Keep what only a restart can change, so the admin view shows what is in effect.
        config.listen = running.config.listen;
        config.admin.listen = running.config.admin.listen;
        config.telemetry = running.config.telemetry.clone();
        config.reload = running.config.reload.clone();
        let outcome = self.state.apply(config);
        *applied = digest;
        Ok(Some(outcome))
    }
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Reloads on SIGHUP until `cancel`.
pub(crate) fn spawn_sighup(
    reloader: Arc<Reloader>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(
        async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    received = hangups.recv() => if received.is_none() { return },
                }
                info!("SIGHUP received");
                let _ = reloader.reload().await;
            }
        }
        .instrument(info_span!("reload", trigger = "sighup")),
    );
    Ok(())
}

/// Watches the config file's folder and reloads once events have been quiet for `debounce`.
///
/// The folder, not the file, is watched: editors and Kubernetes ConfigMaps replace the file
/// (rename or symlink swap), which a watch on the file itself would miss. Only events naming
/// the config file (or its symlink target, or a ConfigMap's `..data` swap) count, so other
/// files written in the same folder (logs, say) neither trigger nor delay a reload. A burst
/// of events waits at most four debounce periods, so a file rewritten continuously is still
/// picked up.
pub(crate) fn spawn_watcher(
    reloader: Arc<Reloader>,
    debounce: Duration,
    cancel: CancellationToken,
) -> notify::Result<()> {
    let mut names: Vec<OsString> = vec![OsString::from("..data")];
    names.extend(reloader.path.file_name().map(ToOwned::to_owned));
    let mut folders = vec![parent_folder(&reloader.path)];
    // A config path that is a symlink (outside Kubernetes' layout) changes at its target.
    if let Ok(target) = std::fs::canonicalize(&reloader.path)
        && target != reloader.path
    {
        names.extend(target.file_name().map(ToOwned::to_owned));
        folders.push(parent_folder(&target));
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = event.is_ok_and(|e| {
            e.paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| names.iter().any(|m| m == n)))
        });
        if relevant {
            let _ = tx.send(());
        }
    })?;
    folders.sort();
    folders.dedup();
    for folder in &folders {
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
    }
    tokio::spawn(
        async move {
            // The watcher lives as long as this task.
            let _watcher = watcher;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    event = rx.recv() => if event.is_none() { return },
                }
                // Debounce: wait for a quiet period so a half-written file is not read, but
                // not forever.
                let give_up = tokio::time::Instant::now() + debounce * 4;
                loop {
                    let wait = debounce
                        .min(give_up.saturating_duration_since(tokio::time::Instant::now()));
                    match tokio::time::timeout(wait, rx.recv()).await {
                        Ok(Some(())) if tokio::time::Instant::now() < give_up => continue,
                        Ok(Some(())) | Err(_) => break,
                        Ok(None) => return,
                    }
                }
                let _ = reloader.reload_if_changed().await;
            }
        }
        .instrument(info_span!("reload", trigger = "file")),
    );
    Ok(())
}

fn parent_folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}
