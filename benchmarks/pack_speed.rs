//! Quick packing benchmark: wall time of `pack` on large synthetic log-normal suites, and the
//! efficiency reached for every shard count from 2 to 64 on 10,000 tests.
//!
//! Run with `cargo run --release --example pack_speed`. Timings are for people, never asserted
//! in tests; the efficiencies are deterministic (seeded suites, deterministic packer).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use covshard::packing::{
    GroupCosts, Item, MonteCarloOptions, PackOptions, Problem, pack, simulate,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `count` tests with ln(duration) ~ Normal(0, sigma); with `files`, tests are spread over that
/// many files whose fixtures cost `setup` seconds each.
fn suite(count: usize, sigma: f64, seed: u64, files: usize, setup: f64) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut costs = GroupCosts::default();
    let items = (0..count)
        .map(|i| {
            let u1: f64 = 1.0 - rng.r#gen::<f64>();
            let u2: f64 = rng.r#gen::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let item = Item::new(format!("tests/t{i:06}"), (sigma * z).exp());
            if files > 0 {
                let file = format!("tests/test_{:04}.py", i % files);
                costs.file.insert(file.clone(), setup);
                item.with_file(file)
            } else {
                item
            }
        })
        .collect();
    Problem::new(items, &costs, 30.0).expect("generated suite is valid")
}

fn time_pack(label: &str, problem: &Problem, shards: usize) {
    let options = PackOptions::default();
    let mut best = f64::INFINITY;
    let mut plan = None;
    for _ in 0..3 {
        let start = Instant::now();
        plan = Some(pack(problem, shards, &options).expect("non-empty suite"));
        best = best.min(start.elapsed().as_secs_f64());
    }
    let plan = plan.expect("ran at least once");
    println!(
        "{label}: {} tests -> {shards} shards: best of 3 {:.1} ms, makespan {:.1}s, lower bound {:.1}s, efficiency {:.6} ({})",
        problem.len(),
        best * 1e3,
        plan.makespan,
        plan.lower_bound,
        plan.efficiency,
        plan.strategy
    );
}

fn main() {
    let big = suite(100_000, 1.5, 1, 0, 0.0);
    time_pack("independent", &big, 256);
    let plan = pack(&big, 256, &PackOptions::default()).expect("non-empty suite");
    let mc = MonteCarloOptions {
        runs: 100,
        ..MonteCarloOptions::default()
    };
    let start = Instant::now();
    let dist = simulate(&big, &plan, &mc).expect("plan of this suite");
    println!(
        "monte carlo: {} runs x {} tests: {:.0} ms, p50 {:.1}s, p95 {:.1}s (predicted {:.1}s)",
        mc.runs,
        big.len(),
        start.elapsed().as_secs_f64() * 1e3,
        dist.p50,
        dist.p95,
        plan.makespan
    );
    time_pack(
        "2000 files, 5s setup",
        &suite(100_000, 1.5, 1, 2_000, 5.0),
        256,
    );

    let problem = suite(10_000, 1.5, 42, 0, 0.0);
    let mut worst: (f64, usize) = (1.0, 0);
    for shards in 2..=64 {
        let plan = pack(&problem, shards, &PackOptions::default()).expect("non-empty suite");
        if plan.efficiency < worst.0 {
            worst = (plan.efficiency, shards);
        }
        if [2, 4, 8, 16, 32, 64].contains(&shards) {
            println!(
                "10k log-normal(1.5), N={shards}: efficiency {:.6}",
                plan.efficiency
            );
        }
    }
    println!(
        "10k log-normal(1.5), N=2..=64: worst efficiency {:.6} at N={}",
        worst.0, worst.1
    );
}
