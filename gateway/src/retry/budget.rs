//! The retry budget: retries may add at most `ratio` extra load on top of the original
//! requests seen in a sliding window, plus a small floor for quiet routes.
//!
//! Every original request deposits one token; every retry withdraws one. A retry is allowed
//! while, over the window,
//!
//! ```text
//! withdrawals + 1 <= ratio × deposits + min_per_second × window
//! ```
//!
//! This is the budget of Finagle and linkerd (tower's `TpsBudget`): a limit on the *fraction*
//! of traffic that is retries, so a failing upstream sees at most `1 + ratio` times its normal
//! load instead of `attempts` times, and nested retrying layers cannot multiply each other into
//! a retry storm. The `min_per_second × window` reserve lets a quiet route still retry a
//! trickle; like tower's, it can be spent as one burst.
//!
//! # Window
//!
//! The window is cut into ten time slots (`SLOTS`); each slot counts its deposits and withdrawals
//! and running totals are kept, so every operation is O(1): advance to the current slot
//! (clearing at most `SLOTS` expired ones), then add. A count therefore lives between
//! `window × (SLOTS − 1) / SLOTS` and `window`. Deposits and withdrawals expire alike, and a
//! withdrawal is never older than the deposits that allowed it, which makes the bound hold over
//! any run, not only per window: total withdrawals ≤ ratio × total deposits (with `min = 0`).
//!
//! # Why a mutex, not atomics
//!
//! tower checks the balance and then subtracts with separate atomic operations, so concurrent
//! retries can overdraw it, and its ratio is rounded to `1 / n`. Here check-and-withdraw is
//! one step under a small `Mutex` (a few integer operations, never held across `.await`), and
//! the ratio is exact to a millionth. One uncontended lock per request is noise next to
//! proxying it.
//!
//! # Scope
//!
//! One budget per route (the retry config lives on the route, and `gateway_retries_total` is
//! labelled by route): a misbehaving route cannot spend the retries of a healthy route to the
//! same upstream. The ratio bound still holds for an upstream as a whole (the sum of
//! `ratio × deposits` over its routes is `ratio × all its requests`); only the reserve adds up
//! per route. Nothing here is route-specific, so sharing one budget per upstream is a matter of
//! handing the same `Arc` to several routes. The state is kept across reloads when the
//! budget config is unchanged ([`RetryBudget::keep_or_rebuild`]), so a reload neither resets
//! a depleted budget nor forgets recent traffic.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Number of time slots the window is cut into (as tower and Finagle do).
const SLOTS: usize = 10;

/// Parts per million: the fixed-point scale of the ratio.
const PPM: u128 = 1_000_000;

/// Retry budget settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Retries allowed per original request in the window, e.g. 0.2 = one retry per five
    /// requests. Default 0.2; valid range 0.0..=1.0.
    pub ratio: f64,
    /// Retries allowed per second of window on top of the ratio, so quiet routes can retry.
    /// Default 10 (tower's and linkerd's).
    pub min_per_second: u32,
    /// How long a request or retry counts. Default 10s; valid range 1s..=60s (Finagle's).
    pub window: Duration,
}

// === impl BudgetConfig ===

impl BudgetConfig {
    /// Shortest valid window.
    pub const MIN_WINDOW: Duration = Duration::from_secs(1);
    /// Longest valid window.
    pub const MAX_WINDOW: Duration = Duration::from_secs(60);

    /// The retries the reserve allows per window: `min_per_second × window`, rounded down.
    pub fn reserve(&self) -> u64 {
        let window = self.window.clamp(Self::MIN_WINDOW, Self::MAX_WINDOW);
        let per_window = u128::from(self.min_per_second) * window.as_millis() / 1000;
        u64::try_from(per_window).unwrap_or(u64::MAX)
    }
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_per_second: 10,
            window: Duration::from_secs(10),
        }
    }
}

/// The budget's counts over the current window, for the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSnapshot {
    /// Original requests counted in the window.
    pub deposits: u64,
    /// Retries counted in the window.
    pub withdrawals: u64,
    /// Retries still allowed now.
    pub remaining: u64,
}

/// A retry budget shared by every request of a route (see the module docs).
pub struct RetryBudget {
    config: BudgetConfig,
    /// `ratio` in parts per million (clamped to 0..=1).
    ratio_ppm: u128,
    /// Withdrawals allowed without deposits, per window.
    reserve: u64,
    /// Length of one slot (`window / SLOTS`, at least 100ms).
    slot: Duration,
    /// Slot 0 starts here.
    epoch: Instant,
    counts: Mutex<Counts>,
}

/// Per-slot counts and their totals.
#[derive(Debug, Default)]
struct Counts {
    /// Absolute number of the current slot since `epoch`.
    tick: u64,
    slots: [Slot; SLOTS],
    deposits: u64,
    withdrawals: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    deposits: u64,
    withdrawals: u64,
}

// === impl RetryBudget ===

impl RetryBudget {
    /// An empty budget (only the reserve is available). Out-of-range settings are clamped:
    /// the ratio to 0..=1 (NaN to 0), the window to 1s..=60s.
    pub fn new(config: BudgetConfig) -> Self {
        let ratio = if config.ratio.is_nan() {
            0.0
        } else {
            config.ratio.clamp(0.0, 1.0)
        };
        // In 0..=1e6 after the clamp, so the cast is exact.
        let ratio_ppm = (ratio * 1e6).round() as u128;
        let window = config
            .window
            .clamp(BudgetConfig::MIN_WINDOW, BudgetConfig::MAX_WINDOW);
        Self {
            config,
            ratio_ppm,
            reserve: config.reserve(),
            slot: window / SLOTS as u32,
            epoch: Instant::now(),
            counts: Mutex::new(Counts::default()),
        }
    }

    /// The previous budget when its config equals `config` (its counts carry over a reload),
    /// otherwise a new one.
    pub fn keep_or_rebuild(previous: Option<&Arc<Self>>, config: &BudgetConfig) -> Arc<Self> {
        match previous {
            Some(budget) if budget.config == *config => Arc::clone(budget),
            _ => Arc::new(Self::new(*config)),
        }
    }

    /// The settings this budget was built from.
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// Counts an original request (never a retry).
    pub fn deposit(&self) {
        self.deposit_at(Instant::now());
    }

    /// Takes one retry from the budget; `false` (and nothing taken) when it is spent.
    pub fn try_withdraw(&self) -> bool {
        self.try_withdraw_at(Instant::now())
    }

    /// The counts over the current window.
    pub fn snapshot(&self) -> BudgetSnapshot {
        self.snapshot_at(Instant::now())
    }

    pub(super) fn deposit_at(&self, now: Instant) {
        let mut counts = self.lock_at(now);
        counts.add(1, 0);
    }

    pub(super) fn try_withdraw_at(&self, now: Instant) -> bool {
        let mut counts = self.lock_at(now);
        if self.allowed(&counts) > u128::from(counts.withdrawals) {
            counts.add(0, 1);
            true
        } else {
            false
        }
    }

    pub(super) fn snapshot_at(&self, now: Instant) -> BudgetSnapshot {
        let counts = self.lock_at(now);
        let remaining = self
            .allowed(&counts)
            .saturating_sub(u128::from(counts.withdrawals));
        BudgetSnapshot {
            deposits: counts.deposits,
            withdrawals: counts.withdrawals,
            remaining: u64::try_from(remaining).unwrap_or(u64::MAX),
        }
    }

    /// Total withdrawals the window allows: `floor(ratio × deposits) + reserve`.
    fn allowed(&self, counts: &Counts) -> u128 {
        self.ratio_ppm * u128::from(counts.deposits) / PPM + u128::from(self.reserve)
    }

    /// Locks the counts, first expiring the slots that ended before `now`.
    fn lock_at(&self, now: Instant) -> std::sync::MutexGuard<'_, Counts> {
        // The critical sections cannot panic (saturating integer ops only), so a poisoned
        // lock still holds consistent counts.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(self.epoch).as_nanos();
        let tick = elapsed / self.slot.as_nanos().max(1);
        counts.advance(u64::try_from(tick).unwrap_or(u64::MAX));
        counts
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("config", &self.config)
            .field("snapshot", &self.snapshot())
            .finish()
    }
}

// === impl Counts ===

impl Counts {
    /// Moves to slot `tick`, clearing every slot that left the window on the way. Time that
    /// runs backwards (it cannot with `Instant`, but be total) changes nothing.
    fn advance(&mut self, tick: u64) {
        if tick <= self.tick {
            return;
        }
        let expired = (tick - self.tick).min(SLOTS as u64);
        for step in 1..=expired {
            let index = usize::try_from((self.tick + step) % SLOTS as u64).unwrap_or(0);
            if let Some(slot) = self.slots.get_mut(index) {
                self.deposits = self.deposits.saturating_sub(slot.deposits);
                self.withdrawals = self.withdrawals.saturating_sub(slot.withdrawals);
                *slot = Slot::default();
            }
        }
        self.tick = tick;
    }

    fn add(&mut self, deposits: u64, withdrawals: u64) {
        let index = usize::try_from(self.tick % SLOTS as u64).unwrap_or(0);
        if let Some(slot) = self.slots.get_mut(index) {
            slot.deposits = slot.deposits.saturating_add(deposits);
            slot.withdrawals = slot.withdrawals.saturating_add(withdrawals);
            self.deposits = self.deposits.saturating_add(deposits);
            self.withdrawals = self.withdrawals.saturating_add(withdrawals);
        }
    }
}
