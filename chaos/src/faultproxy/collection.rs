//! One proxy's toxics: the upstream and downstream chains, and every live link running
//! them, so a change reaches open connections at once (Toxiproxy's `ToxicCollection`).

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::connection::{LinkEnds, Sockets};
use super::error::FaultProxyError;
use super::link::LinkChain;
use super::model::{NewToxic, Stream, Toxic, ToxicUpdate, check_toxicity};
use super::toxics::ToxicKind;

/// The toxics of one proxy and the links of its live connections.
#[derive(Debug)]
pub(crate) struct ToxicCollection {
    proxy: String,
    seed: u64,
    // A tokio mutex: changes hold it while they interrupt stages on every link, which
    // awaits; new connections wait for it so they never start with half a change.
    inner: Mutex<Chains>,
}

#[derive(Debug)]
struct Chains {
    /// Per direction (`Stream::index`), the head noop followed by the toxics in order.
    chains: [Vec<Arc<Toxic>>; 2],
    /// Live links by connection id and direction index.
    links: HashMap<(u64, usize), LinkChain>,
}

// === impl ToxicCollection ===

impl ToxicCollection {
    pub(crate) fn new(proxy: &str, seed: u64) -> Self {
        let head = |stream| {
            Arc::new(Toxic {
                name: String::new(),
                stream,
                toxicity: 1.0,
                kind: ToxicKind::Noop,
            })
        };
        ToxicCollection {
            proxy: proxy.to_owned(),
            seed,
            inner: Mutex::new(Chains {
                chains: Stream::BOTH.map(|stream| vec![head(stream)]),
                links: HashMap::new(),
            }),
        }
    }

    /// Every toxic, upstream chain first, each in chain order.
    pub(crate) async fn list(&self) -> Vec<Toxic> {
        let inner = self.inner.lock().await;
        inner
            .chains
            .iter()
            .flat_map(|chain| chain.iter().skip(1))
            .map(|toxic| Toxic::clone(toxic))
            .collect()
    }

    pub(crate) async fn get(&self, name: &str) -> Result<Toxic, FaultProxyError> {
        let inner = self.inner.lock().await;
        let (direction, index) = inner.find(name).ok_or_else(|| self.not_found(name))?;
        inner
            .toxic(direction, index)
            .map(|toxic| Toxic::clone(toxic))
            .ok_or_else(|| self.not_found(name))
    }

    /// Appends a toxic to its direction's chain and splices it into every live link.
    pub(crate) async fn add(&self, new: NewToxic) -> Result<Toxic, FaultProxyError> {
        let mut inner = self.inner.lock().await;
        let name = new.default_name();
        if inner.find(&name).is_some() {
            return Err(FaultProxyError::ToxicExists {
                proxy: self.proxy.clone(),
                toxic: name,
            });
        }
        let toxic = Arc::new(Toxic {
            name,
            stream: new.stream,
            toxicity: check_toxicity(new.toxicity)?,
            kind: new.kind,
        });
        let direction = toxic.stream.index();
        if let Some(chain) = inner.chains.get_mut(direction) {
            chain.push(Arc::clone(&toxic));
        }
        join_all(
            inner
                .links_in(direction)
                .map(|link| link.add(Arc::clone(&toxic))),
        )
        .await;
        Ok(Toxic::clone(&toxic))
    }

    /// Merges `update` onto a toxic and restarts its stage on every live link.
    pub(crate) async fn update(
        &self,
        name: &str,
        update: &ToxicUpdate,
    ) -> Result<Toxic, FaultProxyError> {
        let mut inner = self.inner.lock().await;
        let (direction, index) = inner.find(name).ok_or_else(|| self.not_found(name))?;
        let current = inner
            .toxic(direction, index)
            .ok_or_else(|| self.not_found(name))?;
        let kind = current
            .kind
            .merged(&update.attributes)
            .map_err(FaultProxyError::BadBody)?;
        let toxicity = match update.toxicity {
            Some(toxicity) => check_toxicity(toxicity)?,
            None => current.toxicity,
        };
        let toxic = Arc::new(Toxic {
            name: current.name.clone(),
            stream: current.stream,
            toxicity,
            kind,
        });
        if let Some(slot) = inner
            .chains
            .get_mut(direction)
            .and_then(|c| c.get_mut(index))
        {
            *slot = Arc::clone(&toxic);
        }
        join_all(
            inner
                .links_in(direction)
                .map(|link| link.update(index, Arc::clone(&toxic))),
        )
        .await;
        Ok(Toxic::clone(&toxic))
    }

    /// Takes a toxic out of its chain and out of every live link.
    pub(crate) async fn remove(&self, name: &str) -> Result<(), FaultProxyError> {
        let mut inner = self.inner.lock().await;
        let (direction, index) = inner.find(name).ok_or_else(|| self.not_found(name))?;
        inner.remove(direction, index).await;
        Ok(())
    }

    /// Removes every toxic, front of each chain first (as Toxiproxy's reset).
    pub(crate) async fn reset(&self) {
        let mut inner = self.inner.lock().await;
        for stream in Stream::BOTH {
            let direction = stream.index();
            while inner
                .chains
                .get(direction)
                .is_some_and(|chain| chain.len() > 1)
            {
                inner.remove(direction, 1).await;
            }
        }
    }

    /// Starts both links of connection `id` with the current chains.
    ///
    /// Each link's RNG is seeded from the proxy's seed, the connection's sequence number
    /// and the direction, so the n-th connection rolls the same toxicity whatever the
    /// other connections do.
    pub(crate) async fn start_links(
        &self,
        id: u64,
        sockets: &Arc<Sockets>,
        kill: &CancellationToken,
    ) -> [LinkEnds; 2] {
        let mut inner = self.inner.lock().await;
        Stream::BOTH.map(|stream| {
            let direction = stream.index();
            let seed = mix(mix(self.seed, id), direction as u64);
            let chain = inner.chains.get(direction).map_or(&[][..], Vec::as_slice);
            let (link, ends) = LinkChain::start(chain, Arc::clone(sockets), kill.clone(), seed);
            inner.links.insert((id, direction), link);
            ends
        })
    }

    /// Forgets the links of a finished connection.
    pub(crate) async fn end_links(&self, id: u64) {
        let mut inner = self.inner.lock().await;
        for stream in Stream::BOTH {
            inner.links.remove(&(id, stream.index()));
        }
    }

    fn not_found(&self, name: &str) -> FaultProxyError {
        FaultProxyError::ToxicNotFound {
            proxy: self.proxy.clone(),
            toxic: name.to_owned(),
        }
    }
}

// === impl Chains ===

impl Chains {
    /// Direction and chain index of the toxic named `name` (heads excluded).
    fn find(&self, name: &str) -> Option<(usize, usize)> {
        self.chains
            .iter()
            .enumerate()
            .find_map(|(direction, chain)| {
                let index = chain.iter().skip(1).position(|toxic| toxic.name == name)?;
                Some((direction, index + 1))
            })
    }

    fn toxic(&self, direction: usize, index: usize) -> Option<&Arc<Toxic>> {
        self.chains.get(direction)?.get(index)
    }

    fn links_in(&mut self, direction: usize) -> impl Iterator<Item = &mut LinkChain> {
        self.links
            .iter_mut()
            .filter(move |((_, d), _)| *d == direction)
            .map(|(_, link)| link)
    }

    async fn remove(&mut self, direction: usize, index: usize) {
        if let Some(chain) = self.chains.get_mut(direction)
            && index < chain.len()
        {
            chain.remove(index);
        }
        join_all(self.links_in(direction).map(|link| link.remove(index))).await;
    }
}

/// SplitMix64 of `seed` and `value`: decorrelated seeds from related inputs.
pub(crate) fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed ^ value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faultproxy::toxics::Latency;

    fn latency(name: &str, stream: Stream) -> NewToxic {
        NewToxic::new(stream, ToxicKind::Latency(Latency::default())).named(name)
    }

    #[tokio::test]
    async fn collection_lists_upstream_first_in_chain_order() {
        let toxics = ToxicCollection::new("p", 0);
        toxics.add(latency("d1", Stream::Downstream)).await.unwrap();
        toxics.add(latency("u1", Stream::Upstream)).await.unwrap();
        toxics.add(latency("d2", Stream::Downstream)).await.unwrap();
        let names: Vec<_> = toxics.list().await.into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["u1", "d1", "d2"]);
    }

    #[tokio::test]
    async fn collection_names_are_unique_across_directions() {
        let toxics = ToxicCollection::new("p", 0);
        toxics.add(latency("x", Stream::Downstream)).await.unwrap();
        let err = toxics
            .add(latency("x", Stream::Upstream))
            .await
            .unwrap_err();
        assert!(matches!(err, FaultProxyError::ToxicExists { ref toxic, .. } if toxic == "x"));
        assert_eq!(toxics.list().await.len(), 1);
    }

    #[tokio::test]
    async fn collection_update_merges_and_reset_empties_both_chains() {
        let toxics = ToxicCollection::new("p", 0);
        toxics.add(latency("x", Stream::Downstream)).await.unwrap();
        toxics.add(latency("y", Stream::Upstream)).await.unwrap();
        let update = ToxicUpdate {
            toxicity: Some(0.25),
            attributes: serde_json::json!({"jitter": 4})
                .as_object()
                .unwrap()
                .clone(),
        };
        let updated = toxics.update("x", &update).await.unwrap();
        assert_eq!(updated.toxicity, 0.25);
        let expected = Latency {
            latency_ms: 0,
            jitter_ms: 4,
        };
        assert_eq!(updated.kind, ToxicKind::Latency(expected));
        assert_eq!(toxics.get("x").await.unwrap(), updated);
        toxics.reset().await;
        assert!(toxics.list().await.is_empty());
        assert!(matches!(
            toxics.remove("x").await,
            Err(FaultProxyError::ToxicNotFound { .. })
        ));
    }

    #[test]
    fn mix_differs_per_input() {
        assert_ne!(mix(1, 0), mix(1, 1));
        assert_ne!(mix(1, 0), mix(2, 0));
        assert_eq!(mix(7, 9), mix(7, 9));
    }
}
