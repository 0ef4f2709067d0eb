//! Per-decision cost of the rate limiters.
//!
//! - Local limiter, token bucket (GCRA) and sliding window: one hot key, and keys drawn round
//!   robin from 10,000 (every decision a different map entry).
//! - Redis backend: one decision is one script round trip. When `redis-server` is on PATH the
//!   bench starts one on a free loopback port and measures sequential decisions (the latency
//!   a request pays); otherwise it prints why it skipped.
//!
//! Run: `cargo bench -p gateway --bench ratelimit` (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gateway::ratelimit::local::LocalLimiter;
use gateway::ratelimit::redis::RedisLimiter;
use gateway::ratelimit::sliding_window::SlidingWindow;
use gateway::ratelimit::token_bucket::Gcra;
use gateway::ratelimit::{Algorithm, OnError, RedisConfig};
use tokio::time::Instant;

const KEYS: usize = 10_000;

fn algorithms() -> [(&'static str, Algorithm); 2] {
    let burst = NonZeroU32::new(1_000_000).unwrap_or(NonZeroU32::MIN);
    [
        (
            "token_bucket",
            Algorithm::TokenBucket(Gcra::new(1e9, burst)),
        ),
        (
            "sliding_window",
            Algorithm::SlidingWindow(SlidingWindow::new(burst, Duration::from_secs(1))),
        ),
    ]
}

fn bench_local(c: &mut Criterion) {
    let keys: Vec<String> = (0..KEYS)
        .map(|i| format!("route\u{1f}10.0.{}.{}", i / 256, i % 256))
        .collect();
    let mut group = c.benchmark_group("local_decision");
    for (name, algorithm) in algorithms() {
        let limiter = LocalLimiter::new(algorithm, 100_000);
        group.bench_function(BenchmarkId::new(name, "one_key"), |b| {
            b.iter(|| black_box(limiter.check(black_box("route\u{1f}10.0.0.1"), Instant::now())))
        });
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new(name, "10k_keys"), |b| {
            b.iter(|| {
                i = (i + 1) % KEYS;
                black_box(limiter.check(&keys[i], Instant::now()))
            })
        });
    }
    group.finish();
}

fn bench_redis(c: &mut Criterion) {
    let Ok(port) = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
    else {
        eprintln!("redis bench skipped: no free port");
        return;
    };
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!(
            "redis bench skipped: redis-server is not on PATH (apt-get install redis-server)"
        );
        return;
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("redis bench skipped: no tokio runtime");
        let _ = child.kill();
        return;
    };
    let config = RedisConfig {
        url: format!("redis://127.0.0.1:{port}/0"),
        pool_size: 1,
        timeout: Duration::from_secs(1),
        on_error: OnError::FailClosed,
    };
    let gcra = Gcra::new(1e9, NonZeroU32::new(1_000_000).unwrap_or(NonZeroU32::MIN));
    let limiter = runtime.block_on(async {
        let limiter = RedisLimiter::new(gcra, &config).ok()?;
        // Wait (bounded) for the server to take connections.
        for _ in 0..250 {
            if limiter.check("warmup").await.is_ok() {
                return Some(limiter);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    });
    let Some(limiter) = limiter else {
        eprintln!("redis bench skipped: redis-server did not answer within 5s");
        let _ = child.kill();
        return;
    };
    c.bench_function("redis_decision_round_trip", |b| {
        b.iter(|| runtime.block_on(async { black_box(limiter.check("route\u{1f}10.0.0.1").await) }))
    });
    let _ = child.kill();
    let _ = child.wait();
}

criterion_group!(benches, bench_local, bench_redis);
criterion_main!(benches);
