//! The in-process backend: one bucket per key in a sharded map with a bounded number of
//! keys.
//!
//! Sixteen shards, each behind its own `std::sync::Mutex` held only for one decision (never
//! across an await), keep contention low on many cores. When a shard is full, keys that are
//! idle (their state is the same as a key never seen, so forgetting them changes nothing) are
//! evicted; if none is idle, the least recently used key goes, which can only make the
//! limiter more lenient for that key.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;

use super::config::Algorithm;
use super::decision::Decision;
use super::sliding_window::WindowState;
use super::token_bucket::Gcra;

const SHARDS: usize = 16;

#[derive(Debug)]
struct Slot {
    state: State,
    last_seen: Instant,
}

#[derive(Debug)]
enum State {
    Tat(Instant),
    Window(Option<WindowState>),
}

type Shard = HashMap<Box<str>, Slot>;

/// A local limiter for one route.
#[derive(Debug)]
pub struct LocalLimiter {
    algorithm: Algorithm,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    per_shard: usize,
}

// === impl LocalLimiter ===

impl LocalLimiter {
    /// A limiter keeping at most about `max_keys` keys (rounded up to a multiple of 16).
    pub fn new(algorithm: Algorithm, max_keys: usize) -> Self {
        Self {
            algorithm,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
        }
    }

    /// Decides one request for `key` at `now`.
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        let index = usize::try_from(self.hasher.hash_one(key)).unwrap_or_default() % SHARDS;
        // The index is below SHARDS by construction; `get` keeps the request path panic-free.
        let Some(shard) = self.shards.get(index) else {
            return self.decide(&mut self.fresh(now), now);
        };
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = shard.get_mut(key) {
            slot.last_seen = now;
            return self.decide(&mut slot.state, now);
        }
        if shard.len() >= self.per_shard {
            self.evict(&mut shard, now);
        }
        let mut state = self.fresh(now);
        let decision = self.decide(&mut state, now);
        shard.insert(
            key.into(),
            Slot {
                state,
                last_seen: now,
            },
        );
        decision
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A never-seen key's state: a full bucket at `now`.
    fn fresh(&self, now: Instant) -> State {
        match self.algorithm {
            Algorithm::TokenBucket(_) => State::Tat(now),
            Algorithm::SlidingWindow(_) => State::Window(None),
        }
    }

    fn decide(&self, state: &mut State, now: Instant) -> Decision {
        match (&self.algorithm, state) {
            (Algorithm::TokenBucket(g), State::Tat(tat)) => {
                let (decision, new_tat) = g.check(Some(*tat), now);
                *tat = new_tat;
                decision
            }
            (Algorithm::SlidingWindow(sw), State::Window(w)) => sw.check(w, now),
            // A limiter's algorithm never changes (a new config builds a new limiter).
            (Algorithm::TokenBucket(g), state) => {
                let (decision, new_tat) = g.check(None, now);
                *state = State::Tat(new_tat);
                decision
            }
            (Algorithm::SlidingWindow(sw), state) => {
                let mut w = None;
                let decision = sw.check(&mut w, now);
                *state = State::Window(w);
                decision
            }
        }
    }

    fn is_idle(&self, state: &State, now: Instant) -> bool {
        match (&self.algorithm, state) {
            (_, State::Tat(tat)) => Gcra::is_idle(*tat, now),
            (Algorithm::SlidingWindow(sw), State::Window(Some(w))) => sw.is_idle(w, now),
            (_, State::Window(_)) => true,
        }
    }

    /// Makes room for one key: every idle key goes; if none was idle, the least recently
    /// seen one.
    fn evict(&self, shard: &mut Shard, now: Instant) {
        shard.retain(|_, slot| !self.is_idle(&slot.state, now));
        if shard.len() < self.per_shard {
            return;
        }
        let oldest = shard
            .iter()
            .min_by_key(|(_, slot)| slot.last_seen)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            shard.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::*;
    use crate::ratelimit::sliding_window::SlidingWindow;

    fn bucket(burst: u32) -> Algorithm {
        Algorithm::TokenBucket(Gcra::new(1.0, NonZeroU32::new(burst).unwrap()))
    }

    #[tokio::test(start_paused = true)]
    async fn local_limiter_new_key_starts_with_a_full_bucket() {
        let limiter = LocalLimiter::new(bucket(3), 100);
        let first = limiter.check("k", Instant::now());
        assert_eq!((first.allowed, first.remaining), (true, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn local_limiter_keeps_one_bucket_per_key() {
        let limiter = LocalLimiter::new(bucket(2), 1_000);
        let now = Instant::now();
        let admitted = |key: &str| (0..5).filter(|_| limiter.check(key, now).allowed).count();
        assert_eq!(admitted("a"), 2);
        assert_eq!(admitted("b"), 2);
        assert_eq!(limiter.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn local_limiter_evicts_idle_keys_first_and_stays_bounded() {
        let limiter = LocalLimiter::new(bucket(1), 16);
        let start = Instant::now();
        for i in 0..16 {
            limiter.check(&format!("old-{i}"), start);
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        let now = Instant::now();
        for i in 0..64 {
            assert!(limiter.check(&format!("new-{i}"), now).allowed);
        }
        assert!(limiter.len() <= 16, "bounded: {}", limiter.len());
        // A busy key that survived still remembers its use.
        let last = "new-63";
        assert!(
            !limiter.check(last, now).allowed,
            "burst of 1 already spent"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn local_limiter_runs_the_sliding_window_per_key() {
        let sw = SlidingWindow::new(NonZeroU32::new(3).unwrap(), Duration::from_secs(1));
        let limiter = LocalLimiter::new(Algorithm::SlidingWindow(sw), 100);
        let now = Instant::now();
        assert_eq!(
            (0..5).filter(|_| limiter.check("k", now).allowed).count(),
            3
        );
        assert_eq!(
            (0..5).filter(|_| limiter.check("j", now).allowed).count(),
            3
        );
    }
}
