//! Network faults: toxics and `refuse` on the instance's fault-proxy proxy, `partition`
//! with nftables in its namespace.

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::join_all;

use super::{FaultContext, Partial, Undo, blocking, finish, split_names};
use crate::faultproxy::{NewToxic, ToxiproxyClient};
use crate::run::environment::lock_host;
use crate::run::error::FaultError;
use crate::scenario::{Target, ToxicFault};
pub(super) async fn add_toxic(ctx: &FaultContext, name: &str, toxic: &ToxicFault) -> Partial {
    let (client, proxies) = match proxies_of(ctx, &toxic.target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    let new = NewToxic::new(toxic.stream, toxic.toxic.clone())
        .named(name)
        .with_toxicity(toxic.toxicity);
    let results = join_all(proxies.iter().map(|p| client.add_toxic(p, &new))).await;
    let (done, error) = split_names(&proxies, results);
    finish(
        Undo::RemoveToxic {
            proxies: done,
            toxic: name.to_owned(),
        },
        error,
    )
}

pub(super) async fn refuse(ctx: &FaultContext, target: &Target) -> Partial {
    let (client, proxies) = match proxies_of(ctx, target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    let results = join_all(proxies.iter().map(|p| client.set_enabled(p, false))).await;
    let (done, error) = split_names(&proxies, results);
    finish(Undo::Enable(done), error)
}

pub(super) async fn partition(ctx: &FaultContext, target: &Target) -> Partial {
    let instances = match ctx.targets(target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    let mut hosts = Vec::new();
    for instance in &instances {
        match &instance.host {
            Some(host) => hosts.push(Arc::clone(host)),
            None => {
                return Partial::failed(FaultError::NoNamespace {
                    instance: instance.name.clone(),
                });
            }
        }
    }
    let applied = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::clone(&applied);
    let result = blocking(move || {
        for host in hosts {
            lock_host(&host).partition()?;
            done.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(host);
        }
        Ok(())
    })
    .await;
    let healed = std::mem::take(&mut *applied.lock().unwrap_or_else(PoisonError::into_inner));
    finish(Undo::Heal(healed), result.err())
}

pub(super) fn proxy_client(ctx: &FaultContext) -> Result<&ToxiproxyClient, FaultError> {
    ctx.proxy.as_ref().ok_or_else(|| FaultError::NoProxy {
        instance: "(any)".to_owned(),
    })
}

pub(super) fn proxies_of(
    ctx: &FaultContext,
    target: &Target,
) -> Result<(ToxiproxyClient, Vec<String>), FaultError> {
    let instances = ctx.targets(target)?;
    let mut proxies = Vec::new();
    for instance in &instances {
        match (&instance.proxy, &ctx.proxy) {
            (Some(proxy), Some(_)) => proxies.push(proxy.clone()),
            _ => {
                return Err(FaultError::NoProxy {
                    instance: instance.name.clone(),
                });
            }
        }
    }
    Ok((proxy_client(ctx)?.clone(), proxies))
}
