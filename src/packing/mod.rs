//! Packing: assign tests to CI shards so the longest shard finishes as early as possible.
//!
//! Pure arithmetic on numbers and group labels; it knows nothing of SQLite, git or pytest, so it
//! can be tested and benchmarked alone. The cost model is in [`model`]; [`pack`] builds a plan for
//! a fixed shard count, [`choose_shard_count`] picks the count from a target wall time,
//! [`simulate`] estimates the makespan's p50/p95 under uncertain durations, and [`tune`] tabulates
//! shard counts for a person to choose from. [`xdist`] models shards that run pytest-xdist
//! workers inside and packs for that model.
//!
//! Determinism: items are sorted by (estimate desc, id asc) before anything, every tie is broken
//! by index or id, the local search is bounded by iterations (not time) and packing itself uses no
//! randomness; the Monte Carlo is seeded. The same input gives the same plan byte for byte.
//!
//! Limits: at most `items` shards are ever produced (a larger request is clamped) and no shard is
//! empty; an empty problem is an error ([`PackError::NoItems`]): the caller says "no tests"
//! instead of planning zero shards.

mod count;
mod exact;
mod improve;
mod lpt;
pub mod model;
mod montecarlo;
mod state;
mod tune;
pub mod xdist;

pub use count::{ShardChoice, choose_shard_count, choose_shard_count_with};
pub use model::{AssignedShard, Assignment, GroupCosts, Item, Problem, Spread};
pub use montecarlo::{MakespanDistribution, MonteCarloOptions, simulate, simulate_many};
pub use tune::{TuneRow, render_chart, tune};
pub use xdist::{Dist, Workers, pack_workers};

use state::{Granularity, State, Unit, build_units};

/// Errors a caller can cause; none of them is a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PackError {
    #[error("there are no tests to pack")]
    NoItems,
    #[error("the shard count must be at least 1")]
    NoShards,
    #[error("{what} must be a finite number of seconds, at least 0 (got {value})")]
    InvalidNumber { what: String, value: f64 },
    #[error("test id `{0}` appears twice")]
    DuplicateId(String),
    #[error("the plan was not made from this problem")]
    PlanMismatch,
}

impl From<PackError> for crate::Error {
    fn from(e: PackError) -> Self {
        crate::Error::usage(e.to_string())
    }
}

/// Which packer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Classic greedy LPT only, the baseline peers use.
    Lpt,
    /// The default: LPT and setup-aware greedy constructions for each grouping, each improved by
    /// local search, exact branch and bound on small instances; the best plan wins, so it is
    /// never worse than `Lpt` under the same cost model and grouping.
    #[default]
    Best,
}

/// Which tests must stay in one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// Try items, classes and files as units, and let local search split groups when balance
    /// needs it; keep the cheapest plan.
    #[default]
    Auto,
    /// Tests are placed individually (setup costs still count).
    None,
    /// A file's tests stay together (split only if there are fewer files than shards).
    File,
    /// A class's tests stay together (split only if there are fewer classes than shards).
    Class,
}

/// Knobs for [`pack`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackOptions {
    pub algorithm: Algorithm,
    pub group_by: GroupBy,
    /// Local-search steps per candidate plan; bounds the work deterministically.
    pub max_iterations: usize,
    /// Rounds of perturbed search on plans with shared setups (0 turns it off).
    pub perturb_rounds: usize,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            algorithm: Algorithm::Best,
            group_by: GroupBy::Auto,
            max_iterations: 1_000,
            perturb_rounds: PERTURB_ROUNDS,
        }
    }
}

/// Rounds of [`improve::perturbed_search`] on plans with shared setups, up to this many tests
/// (beyond it a round costs more than the search finds).
const PERTURB_ROUNDS: usize = 200;
const PERTURB_WORK: usize = 200_000;
const PERTURB_MAX_ITEMS: usize = 5_000;
const PERTURB_SEED: u64 = 0x5eed_c0de;
/// Chained [`improve::anneal`] runs, and steps per run and test up to a cap, for plans with
/// shared setups up to `PERTURB_MAX_ITEMS` tests; a step is about 1 µs, and small suites need
/// fewer. On the measured fixtures suite (224 tests, 16 shards) fewer, longer runs reach the
/// same plan less often.
const ANNEAL_RUNS: u64 = 8;
const ANNEAL_STEPS_PER_TEST: usize = 40;
const ANNEAL_MAX_STEPS: usize = 8_000;

/// Pack `problem` into `shards` shards (clamped to the number of items).
pub fn pack(
    problem: &Problem,
    shards: usize,
    options: &PackOptions,
) -> Result<Assignment, PackError> {
    if problem.is_empty() {
        return Err(PackError::NoItems);
    }
    if shards == 0 {
        return Err(PackError::NoShards);
    }
    let shards = shards.min(problem.len());
    let grains = Granularity::for_group_by(options.group_by);

    // Candidates in a fixed order; a later one replaces the best only if strictly shorter.
    let mut best: Option<(f64, Vec<u32>, String)> = None;
    fn offer(
        best: &mut Option<(f64, Vec<u32>, String)>,
        makespan: f64,
        assign: Vec<u32>,
        name: String,
    ) {
        if best.as_ref().is_none_or(|(m, _, _)| makespan < *m) {
            *best = Some((makespan, assign, name));
        }
    }
    let evaluate = |assign: &[u32]| {
        problem
            .shard_seconds(assign, shards)
            .into_iter()
            .fold(0.0, f64::max)
    };

    let floor = problem.lower_bound(shards);
    let mut tried: Vec<Vec<Unit>> = Vec::new();
    for &grain in grains {
        let units = build_units(problem, grain, shards);
        // Without labels, classes and files give the same units as items: skip the repeat.
        if tried.iter().any(|t| same_units(t, &units)) {
            continue;
        }
        // Without setup costs the setup-aware greedy places exactly like LPT: build once.
        let independent = units.iter().all(|u| u.groups.is_empty());
        tried.push(units.clone());

        let mut st = State::new(problem, units.clone(), shards);
        lpt::lpt(&mut st);
        let assign = st.item_assignment();
        offer(
            &mut best,
            evaluate(&assign),
            assign,
            format!("lpt/{}", grain.name()),
        );
        if options.algorithm == Algorithm::Lpt {
            continue;
        }

        let mut name = if independent {
            format!("lpt+search/{}", grain.name())
        } else {
            st = State::new(problem, units, shards);
            lpt::greedy(&mut st);
            format!("greedy+search/{}", grain.name())
        };
        improve::local_search(&mut st, options.max_iterations, floor);
        let mut assign = st.item_assignment();
        if options.group_by == GroupBy::Auto && grain != Granularity::Items {
            // Split groups only where that shortens the longest shard.
            assign = refine_items(problem, &assign, shards, options.max_iterations, floor);
            name.push_str("+split");
        }
        if !independent
            && options.group_by == GroupBy::Auto
            && options.perturb_rounds > 0
            && problem.len() <= PERTURB_MAX_ITEMS
        {
            assign = improve::perturbed_search(
                problem,
                &assign,
                shards,
                options.max_iterations,
                floor,
                // Each round costs about one pass over the tests: keep the total flat.
                options
                    .perturb_rounds
                    .min(PERTURB_WORK / problem.len().max(1)),
                PERTURB_SEED,
            );
        }
        offer(&mut best, evaluate(&assign), assign, name);
    }

    // Shared setups: anneal the best plan in short chained runs, each from the best so far.
    let shared = (0..problem.len()).any(|i| problem.costly_groups(i).next().is_some());
    if let Some((makespan, assign, name)) = best.as_ref().filter(|_| {
        shared
            && options.algorithm == Algorithm::Best
            && options.group_by == GroupBy::Auto
            && options.perturb_rounds > 0
            && problem.len() <= PERTURB_MAX_ITEMS
    }) {
        let mut current = assign.clone();
        for run in 0..ANNEAL_RUNS {
            current = improve::anneal(
                problem,
                &current,
                shards,
                (ANNEAL_STEPS_PER_TEST * problem.len()).min(ANNEAL_MAX_STEPS),
                floor,
                PERTURB_SEED + run,
            );
        }
        let annealed = evaluate(&current);
        if annealed < *makespan {
            let name = format!("{name}+anneal");
            offer(&mut best, annealed, current, name);
        }
    }

    if options.algorithm == Algorithm::Best {
        let grain = match options.group_by {
            GroupBy::Auto | GroupBy::None => Granularity::Items,
            GroupBy::File => Granularity::Files,
            GroupBy::Class => Granularity::Classes,
        };
        let units = build_units(problem, grain, shards);
        if units.len() <= exact::MAX_UNITS {
            let incumbent = best.as_ref().map_or(f64::INFINITY, |b| b.0);
            let (found, _complete) = exact::solve(
                &units,
                &problem.setup,
                problem.overhead,
                shards,
                incumbent,
                floor,
            );
            if let Some(unit_shard) = found {
                let mut assign = vec![0; problem.len()];
                for (u, unit) in units.iter().enumerate() {
                    for &i in &unit.items {
                        assign[i as usize] = unit_shard[u];
                    }
                }
                offer(
                    &mut best,
                    evaluate(&assign),
                    assign,
                    format!("exact/{}", grain.name()),
                );
            }
        }
    }

    let (_, assign, name) = best.ok_or(PackError::NoItems)?;
    Ok(Assignment::from_assignment(problem, &assign, shards, name))
}

/// Item-level local search starting from an assignment (which may keep groups whole).
fn refine_items(
    problem: &Problem,
    assign: &[u32],
    shards: usize,
    budget: usize,
    floor: f64,
) -> Vec<u32> {
    let units = build_units(problem, Granularity::Items, shards);
    let mut st = State::with_assignment(problem, units, shards, assign);
    improve::local_search(&mut st, budget, floor);
    st.item_assignment()
}

fn same_units(a: &[Unit], b: &[Unit]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.items == y.items)
}

#[cfg(test)]
mod tests;
