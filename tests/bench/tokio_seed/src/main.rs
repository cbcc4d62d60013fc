//! The runtime benchmark from the tokio documentation, on tokio's current_thread runtime: spawn 10 000 tasks that
//! each sleep 1 us and return `i * 2`, join them all and check the sum; then the same without the sleep (pure
//! spawn + join). Same rounds as tests/bench/micro_bench.cc: one untimed warm-up round, then `rounds` timed ones
//! (default 7); prints the median with min..max, in the RESULT format of scripts/bench:
//!
//!   RESULT tokio_seed_10k_sleep_ms <median> ms # <min>..<max> (<n> rounds)
//!   RESULT tokio_spawn_join_ns <median> ns # <min>..<max> (<n> rounds)      (per task)
//!
//! Usage: tokio_seed [rounds]

use std::time::{Duration, Instant};

const TASKS: u64 = 10_000;
const SUM: u64 = TASKS * (TASKS - 1); // sum of 2i for i in [0, TASKS)

async fn sleep_round() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(1)).await;
                i * 2
            })
        })
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("task failed");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, SUM, "wrong sum");
    elapsed
}

async fn spawn_join_round() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS).map(|i| tokio::spawn(async move { i * 2 })).collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("task failed");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, SUM, "wrong sum");
    elapsed
}

fn report(name: &str, unit: &str, mut values: Vec<f64>) {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = values.len();
    let median = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
    println!("RESULT {} {:.3} {} # {:.3}..{:.3} ({} rounds)", name, median, unit, values[0], values[n - 1], n);
}

fn main() {
    let rounds: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().expect("usage: tokio_seed [rounds]"),
        None => 7,
    };
    assert!(rounds > 0, "rounds must be at least 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        sleep_round().await;
        let mut sleep_ms = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            sleep_ms.push(sleep_round().await.as_secs_f64() * 1e3);
        }
        spawn_join_round().await;
        let mut spawn_join_ns = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            spawn_join_ns.push(spawn_join_round().await.as_secs_f64() * 1e9 / TASKS as f64);
        }
        report("tokio_seed_10k_sleep_ms", "ms", sleep_ms);
        report("tokio_spawn_join_ns", "ns", spawn_join_ns);
    });
}
