//! Monte Carlo estimate of a plan's makespan when test durations are uncertain.
//!
//! Each test's duration is log-normal: fitted to its samples when it has two or more positive
//! ones (mu and sigma of the logs, via statrs), taken as given when already fitted, and otherwise
//! centred on the estimate (median = estimate) with a configurable default sigma. Durations are
//! independent; overhead and group setups are fixed. A seeded `StdRng` makes the result
//! reproducible; normals are drawn with Box–Muller from the uniform stream because statrs 0.19's
//! distributions implement rand 0.10's traits, not the rand 0.8 the crate uses.
//!
//! Cost: runs × items samples. `simulate_many` reuses each run's draws for every plan (common
//! random numbers), so plans are compared on the same luck. Percentiles use the nearest rank.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use statrs::statistics::Statistics;

use super::PackError;
use super::model::{Assignment, Problem, Spread};

/// Knobs for the simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonteCarloOptions {
    /// Number of simulated runs (at least 1 is used).
    pub runs: usize,
    pub seed: u64,
    /// Sigma of ln(duration) for tests without enough samples (0.3 ≈ ±35% at one sigma).
    pub default_sigma: f64,
    /// xdist workers inside each shard: each draw is replayed through their scheduler.
    pub workers: super::Workers,
}

impl Default for MonteCarloOptions {
    fn default() -> Self {
        MonteCarloOptions {
            runs: 1000,
            seed: 0x00c0_5a4d,
            default_sigma: 0.3,
            workers: super::Workers::ONE,
        }
    }
}

/// Distribution of the simulated makespan, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MakespanDistribution {
    pub p50: f64,
    pub p95: f64,
    pub mean: f64,
    pub runs: usize,
}

/// `ln(duration) ~ Normal(mu, sigma)`, or always 0 for zero-length tests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Law {
    Zero,
    LogNormal { mu: f64, sigma: f64 },
}

fn fit(estimate: f64, spread: &Spread, default_sigma: f64) -> Law {
    let default = || {
        if estimate > 0.0 {
            Law::LogNormal {
                mu: estimate.ln(),
                sigma: default_sigma,
            }
        } else {
            Law::Zero
        }
    };
    match spread {
        Spread::Default => default(),
        Spread::LogNormal { mu, sigma } if mu.is_finite() && sigma.is_finite() && *sigma >= 0.0 => {
            Law::LogNormal {
                mu: *mu,
                sigma: *sigma,
            }
        }
        Spread::LogNormal { .. } => default(),
        Spread::Samples(samples) => {
            let logs: Vec<f64> = samples
                .iter()
                .filter(|s| s.is_finite() && **s > 0.0)
                .map(|s| s.ln())
                .collect();
            if logs.len() < 2 {
                return default();
            }
            let mu = logs.iter().mean();
            let sigma = logs.iter().std_dev();
            Law::LogNormal {
                mu,
                sigma: if sigma.is_finite() { sigma } else { 0.0 },
            }
        }
    }
}

/// Simulate one plan.
pub fn simulate(
    problem: &Problem,
    plan: &Assignment,
    options: &MonteCarloOptions,
) -> Result<MakespanDistribution, PackError> {
    Ok(simulate_many(problem, &[plan], options)?.remove(0))
}

/// Simulate several plans of the same problem on the same random draws. Each plan must come from
/// [`pack`](super::pack) on this `problem` ([`PackError::PlanMismatch`] otherwise).
pub fn simulate_many(
    problem: &Problem,
    plans: &[&Assignment],
    options: &MonteCarloOptions,
) -> Result<Vec<MakespanDistribution>, PackError> {
    if !(options.default_sigma.is_finite() && options.default_sigma >= 0.0) {
        return Err(PackError::InvalidNumber {
            what: "the default spread (sigma)".into(),
            value: options.default_sigma,
        });
    }
    let fits = plans.iter().all(|plan| {
        plan.shards
            .iter()
            .flat_map(|s| &s.items)
            .all(|&i| (i as usize) < problem.items.len())
    });
    if !fits {
        return Err(PackError::PlanMismatch);
    }
    let runs = options.runs.max(1);
    let laws: Vec<Law> = problem
        .items
        .iter()
        .map(|i| fit(i.estimate, &i.spread, options.default_sigma))
        .collect();
    // Fixed seconds of each shard: overhead and setups.
    let fixed: Vec<Vec<f64>> = plans
        .iter()
        .map(|plan| {
            plan.shards
                .iter()
                .map(|s| {
                    s.seconds
                        - s.items
                            .iter()
                            .map(|&i| problem.items[i as usize].estimate)
                            .sum::<f64>()
                })
                .collect()
        })
        .collect();

    let mut rng = StdRng::seed_from_u64(options.seed);
    // Each log-normal item takes the next standard normal of the run, two to a pair of
    // uniforms (Box-Muller): its rank among them says which.
    let mut ranks: Vec<u32> = Vec::with_capacity(laws.len());
    let mut normals = 0u32;
    for law in &laws {
        ranks.push(normals);
        if matches!(law, Law::LogNormal { .. }) {
            normals += 1;
        }
    }
    let mut uniforms = vec![0.0; 2 * (normals as usize).div_ceil(2)];
    let threads = if laws.len() >= PARALLEL_DRAWS {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    let mut durations = vec![0.0; laws.len()];
    let mut makespans: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); plans.len()];
    for _ in 0..runs {
        // The uniforms in one stream, as drawn one pair at a time; the transforms, which
        // cost most, in parallel: the same numbers on any number of threads.
        for u in uniforms.iter_mut() {
            *u = rng.r#gen::<f64>();
        }
        if threads == 1 {
            draw(&mut durations, &laws, &ranks, &uniforms);
        } else {
            let chunk = laws.len().div_ceil(threads).max(1);
            std::thread::scope(|scope| {
                for ((d, law), rank) in durations
                    .chunks_mut(chunk)
                    .zip(laws.chunks(chunk))
                    .zip(ranks.chunks(chunk))
                {
                    let uniforms = &uniforms;
                    scope.spawn(move || draw(d, law, rank, uniforms));
                }
            });
        }
        for (p, plan) in plans.iter().enumerate() {
            if options.workers.is_parallel() {
                let longest = plan
                    .shards
                    .iter()
                    .map(|s| {
                        problem.overhead
                            + super::xdist::replay(problem, &s.items, &durations, &options.workers)
                                .seconds
                    })
                    .fold(0.0, f64::max);
                makespans[p].push(longest);
                continue;
            }
            let longest = plan
                .shards
                .iter()
                .zip(&fixed[p])
                .map(|(s, f)| f + s.items.iter().map(|&i| durations[i as usize]).sum::<f64>())
                .fold(0.0, f64::max);
            makespans[p].push(longest);
        }
    }
    Ok(makespans
        .into_iter()
        .map(|mut m| {
            m.sort_by(f64::total_cmp);
            MakespanDistribution {
                p50: percentile(&m, 0.50),
                p95: percentile(&m, 0.95),
                mean: m.iter().sum::<f64>() / m.len() as f64,
                runs,
            }
        })
        .collect())
}

/// Items from which the draws of a run are spread over threads.
const PARALLEL_DRAWS: usize = 100_000;

/// One run's durations of `laws`, the `k`-th log-normal one from the `k`-th standard normal of
/// the run's `uniforms` (Box-Muller: pair `k / 2`, its cosine or its sine).
fn draw(durations: &mut [f64], laws: &[Law], ranks: &[u32], uniforms: &[f64]) {
    for ((d, law), &k) in durations.iter_mut().zip(laws).zip(ranks) {
        *d = match *law {
            Law::Zero => 0.0,
            Law::LogNormal { mu, sigma } => {
                let pair = 2 * (k as usize / 2);
                // 1 - U lies in (0, 1], so the logarithm is finite.
                let r = (-2.0 * (1.0 - uniforms[pair]).ln()).sqrt();
                let t = std::f64::consts::TAU * uniforms[pair + 1];
                let z = if k % 2 == 0 { r * t.cos() } else { r * t.sin() };
                (mu + sigma * z).exp()
            }
        };
    }
}

/// Nearest-rank percentile of sorted, non-empty values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packing::model::{GroupCosts, Item};
    use crate::packing::{PackOptions, pack};

    #[test]
    fn draws_are_the_same_in_chunks_as_in_one_go() {
        let laws: Vec<Law> = (0..7)
            .map(|k| match k {
                2 => Law::Zero,
                _ => Law::LogNormal {
                    mu: k as f64 * 0.1,
                    sigma: 0.5,
                },
            })
            .collect();
        let ranks = [0, 1, 2, 2, 3, 4, 5];
        let uniforms = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let mut whole = vec![0.0; 7];
        draw(&mut whole, &laws, &ranks, &uniforms);
        let mut parts = vec![0.0; 7];
        let (a, b) = parts.split_at_mut(3);
        draw(a, &laws[..3], &ranks[..3], &uniforms);
        draw(b, &laws[3..], &ranks[3..], &uniforms);
        assert_eq!(whole, parts);
        assert_eq!(whole[2], 0.0);
        // The first pair of normals, Box-Muller of the first two uniforms.
        let r = (-2.0 * (1.0f64 - 0.1).ln()).sqrt();
        let t = std::f64::consts::TAU * 0.2;
        assert_eq!(whole[0], (r * t.cos() * 0.5).exp());
        assert_eq!(whole[1], (0.1 + r * t.sin() * 0.5).exp());
        // The item after the zero takes the third normal.
        let r = (-2.0 * (1.0f64 - 0.3).ln()).sqrt();
        let t = std::f64::consts::TAU * 0.4;
        assert_eq!(whole[3], (0.3 + r * t.cos() * 0.5).exp());
    }

    #[test]
    fn fits_lognormal_to_samples() {
        let law = fit(
            1.0,
            &Spread::Samples(vec![1.0, std::f64::consts::E.powi(2)]),
            0.3,
        );
        let Law::LogNormal { mu, sigma } = law else {
            panic!("expected a log-normal, got {law:?}")
        };
        assert!((mu - 1.0).abs() < 1e-12);
        assert!((sigma - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(fit(0.0, &Spread::Samples(vec![2.0]), 0.3), Law::Zero);
        assert_eq!(
            fit(2.0, &Spread::Samples(vec![2.0]), 0.3),
            Law::LogNormal {
                mu: 2f64.ln(),
                sigma: 0.3
            }
        );
    }

    #[test]
    fn percentiles_bracket_the_prediction_and_are_seeded() {
        let items = (0..40)
            .map(|i| Item::new(format!("t{i:02}"), 1.0 + (i % 5) as f64))
            .collect();
        let p = Problem::new(items, &GroupCosts::default(), 10.0).unwrap();
        let plan = pack(&p, 4, &PackOptions::default()).unwrap();
        let opts = MonteCarloOptions {
            runs: 400,
            ..Default::default()
        };
        let a = simulate(&p, &plan, &opts).unwrap();
        let b = simulate(&p, &plan, &opts).unwrap();
        assert_eq!(a, b);
        assert!(a.p50 <= a.p95);
        // The makespan of noisy shards sits above the deterministic prediction, but not far.
        assert!(a.p50 > plan.makespan * 0.95 && a.p50 < plan.makespan * 1.3);
    }

    #[test]
    fn zero_spread_reproduces_the_prediction() {
        let items = (0..10).map(|i| Item::new(format!("t{i}"), 2.0)).collect();
        let p = Problem::new(items, &GroupCosts::default(), 1.0).unwrap();
        let plan = pack(&p, 3, &PackOptions::default()).unwrap();
        let opts = MonteCarloOptions {
            runs: 10,
            default_sigma: 0.0,
            ..Default::default()
        };
        let d = simulate(&p, &plan, &opts).unwrap();
        assert!((d.p95 - plan.makespan).abs() < 1e-9);
        assert!(
            simulate(
                &p,
                &plan,
                &MonteCarloOptions {
                    default_sigma: -1.0,
                    ..opts
                }
            )
            .is_err()
        );
    }
}
