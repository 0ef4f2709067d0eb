//! The Redis backend: GCRA run by a Lua script, one round trip per decision.
//!
//! The script reads the clock with Redis `TIME`, not the gateway's: every gateway replica
//! (and a Redis replica promoted after a failover) then judges against the same clock, and
//! gateway clock skew cannot hand out extra tokens. Scripts run atomically, so concurrent
//! decisions on one key never both take the last token. The key expires when its bucket is
//! full again, so idle keys cost Redis nothing.
//!
//! Connections are `redis::aio::ConnectionManager`s (multiplexed, reconnecting in the
//! background), `pool_size` of them used round robin, created lazily so a Redis that is down
//! at start or reload does not stop the gateway.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::config::RedisConfig;
use super::decision::Decision;
use super::error::BackendError;
use super::token_bucket::Gcra;

/// Prefix of every key the gateway writes.
const KEY_PREFIX: &str = "gateway:ratelimit:";

/// GCRA in microseconds. ARGV: emission interval, tolerance, burst. Returns
/// `{allowed (0|1), remaining, reset_us, retry_after_us}`. Lua numbers are doubles: epoch
/// microseconds (~2^51) stay exact.
const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local ahead = tat - now
if ahead > tolerance then
  return {0, 0, ahead, ahead - tolerance}
end
local new_tat = tat + interval
ahead = new_tat - now
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor(ahead / 1000) + 1)
return {1, math.floor((interval * burst - ahead) / interval), ahead, 0}
";

/// A route's Redis limiter.
pub struct RedisLimiter {
    gcra: Gcra,
    pool: Vec<ConnectionManager>,
    next: AtomicUsize,
    timeout: Duration,
    script: redis::Script,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("gcra", &self.gcra)
            .field("pool_size", &self.pool.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

// === impl RedisLimiter ===

impl RedisLimiter {
    /// A limiter for `gcra` on the Redis at `config.url`; connects lazily. Must run inside a
    /// Tokio runtime. Fails only on a URL that does not parse (validation checked it).
    pub fn new(gcra: Gcra, config: &RedisConfig) -> Result<Self, BackendError> {
        let client = redis::Client::open(config.url.as_str()).map_err(BackendError::Redis)?;
        // Reconnect quickly and give up quickly: a decision waits `timeout` at most anyway,
        // and the fallback answers meanwhile.
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(500));
        let pool = (0..config.pool_size.max(1))
            .map(|_| {
                ConnectionManager::new_lazy_with_config(client.clone(), manager_config.clone())
            })
            .collect::<Result<_, _>>()
            .map_err(BackendError::Redis)?;
        Ok(Self {
            gcra,
            pool,
            next: AtomicUsize::new(0),
            timeout: config.timeout,
            script: redis::Script::new(GCRA_SCRIPT),
        })
    }

    /// Decides one request for `key` within the timeout.
    pub async fn check(&self, key: &str) -> Result<Decision, BackendError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len().max(1);
        let Some(conn) = self.pool.get(index) else {
            return Err(BackendError::Reply);
        };
        let mut conn = conn.clone();
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let interval = micros(self.gcra.interval()).max(1);
        let tolerance = interval.saturating_mul(u64::from(self.gcra.burst().get() - 1));
        let mut invocation = self.script.key(format!("{KEY_PREFIX}{key}"));
        invocation
            .arg(interval)
            .arg(tolerance)
            .arg(self.gcra.burst().get());
        let reply: Vec<i64> =
            match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await {
                Err(_) => return Err(BackendError::Timeout(self.timeout)),
                Ok(Err(e)) => return Err(BackendError::Redis(e)),
                Ok(Ok(reply)) => reply,
            };
        let [allowed, remaining, reset, retry] = reply[..] else {
            return Err(BackendError::Reply);
        };
        let duration = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or_default());
        Ok(Decision {
            allowed: allowed == 1,
            remaining: u64::try_from(remaining).unwrap_or_default(),
            reset: duration(reset),
            retry_after: duration(retry),
        })
    }
}
