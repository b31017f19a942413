//! Local search that shortens the longest shard: move one of its units to a short shard, or swap
//! one of its units with a unit of a short shard, whichever lowers the pair's maximum the most.
//!
//! Every accepted step strictly lowers the longest shard (or the number of shards at the maximum),
//! so it terminates; it is also bounded by an iteration budget, never by the clock, so the result
//! is the same on every machine. Per iteration it looks at the `TARGETS` least loaded shards, and
//! for moves also at up to `HOSTS` shards that already pay one of the unit's setups:
//! O(units in the longest shard · (TARGETS + HOSTS)) for moves, plus sorts and binary searches
//! for swaps.
//! Swap partners are found by estimate, so a swap whose gain comes from setup costs alone can be
//! missed; moves see setup costs exactly. A move never empties a shard.

use super::state::State;

/// How many of the least loaded shards are tried as partners of the longest one.
const TARGETS: usize = 8;
const SWAP_TARGETS: usize = 4;
/// How many shards already holding one of a unit's groups are tried as move targets.
const HOSTS: usize = 16;

#[derive(Debug, Clone, Copy)]
enum Step {
    Move { unit: u32, to: u32 },
    Swap { unit: u32, with: u32 },
}

/// Relative distance from the lower bound at which searching further is not worth it (1 ms in
/// 1000 s); exact optimality on small instances comes from the exact search, not from here.
const GOOD_ENOUGH: f64 = 1e-6;

/// Improve `state` in place until no step helps, the budget is spent, or the longest shard is
/// within [`GOOD_ENOUGH`] of `floor` (a lower bound); returns the number of steps taken.
pub(crate) fn local_search(state: &mut State<'_>, max_iterations: usize, floor: f64) -> usize {
    let mut steps = 0;
    while steps < max_iterations {
        let top = state.order.last().map_or(0.0, |(l, _)| l.0);
        if top <= floor * (1.0 + GOOD_ENOUGH) {
            break;
        }
        let Some(step) = best_step(state) else {
            break;
        };
        match step {
            Step::Move { unit, to } => {
                state.unplace(unit);
                state.place(unit, to);
            }
            Step::Swap { unit, with } => {
                let (a, b) = (
                    state.unit_shard[unit as usize],
                    state.unit_shard[with as usize],
                );
                state.unplace(unit);
                state.unplace(with);
                state.place(unit, b);
                state.place(with, a);
            }
        }
        steps += 1;
    }
    steps
}

fn best_step(state: &State<'_>) -> Option<Step> {
    let &(top, longest) = state.order.last()?;
    let top = top.0;
    let eps = 1e-9 * top.max(1.0);
    let targets: Vec<u32> = state
        .order
        .iter()
        .map(|&(_, s)| s)
        .filter(|&s| s != longest)
        .take(TARGETS)
        .collect();
    let mut best: Option<Step> = None;
    let mut best_score = top - eps;
    let members = &state.members[longest as usize];

    if members.len() > 1 {
        for &u in members {
            let new_longest = top + state.exchange_delta(longest, Some(u), None);
            if new_longest >= best_score {
                continue;
            }
            // Shards already paying the unit's setups take it for its estimate alone.
            let hosts = state.units[u as usize]
                .groups
                .iter()
                .flat_map(|&(g, _)| state.holders(g).iter().take(HOSTS))
                .copied()
                .filter(|&s| s != longest);
            for s in targets.iter().copied().chain(hosts) {
                let new_target = state.loads[s as usize] + state.exchange_delta(s, None, Some(u));
                let score = new_longest.max(new_target);
                if score < best_score {
                    best_score = score;
                    best = Some(Step::Move { unit: u, to: s });
                }
            }
        }
    }
    if best.is_some() {
        return best;
    }

    for &s in targets.iter().take(SWAP_TARGETS) {
        let gap = top - state.loads[s as usize];
        let mut partners: Vec<(f64, u32)> = state.members[s as usize]
            .iter()
            .map(|&v| (state.units[v as usize].estimate, v))
            .collect();
        partners.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &u in members {
            let want = state.units[u as usize].estimate - gap / 2.0;
            let at = partners.partition_point(|&(e, _)| e < want);
            for &(_, v) in partners[at.saturating_sub(1)..partners.len().min(at + 1)].iter() {
                let new_longest = top + state.exchange_delta(longest, Some(u), Some(v));
                if new_longest >= best_score {
                    continue;
                }
                let new_target =
                    state.loads[s as usize] + state.exchange_delta(s, Some(v), Some(u));
                let score = new_longest.max(new_target);
                if score < best_score {
                    best_score = score;
                    best = Some(Step::Swap { unit: u, with: v });
                }
            }
        }
    }
    best
}

/// Iterated local search for plans with shared setups, where one-step moves get stuck: from the
/// best assignment so far, move a block (all of the longest shard's items of one costly group,
/// or one item) to another shard, search again, and keep the result only if it is strictly
/// shorter. Seeded and bounded by `rounds`, so the same input gives the same plan.
pub(crate) fn perturbed_search(
    problem: &super::model::Problem,
    assign: &[u32],
    shards: usize,
    budget: usize,
    floor: f64,
    rounds: usize,
    seed: u64,
) -> Vec<u32> {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::state::{Granularity, build_units};

    let units = build_units(problem, Granularity::Items, shards);
    let load = |assign: &[u32]| State::with_assignment(problem, units.clone(), shards, assign);
    // Accept on loads recomputed from scratch, as the plan reports them.
    let exact = |assign: &[u32]| {
        problem
            .shard_seconds(assign, shards)
            .into_iter()
            .fold(0.0, f64::max)
    };
    let mut best = assign.to_vec();
    let mut best_makespan = exact(&best);
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..rounds {
        if best_makespan <= floor * (1.0 + GOOD_ENOUGH) {
            break;
        }
        let mut st = load(&best);
        let Some(&(_, top)) = st.order.last() else {
            break;
        };
        let members = st.members[top as usize].clone();
        if members.len() < 2 || shards < 2 {
            break;
        }
        let pick = members[rng.gen_range(0..members.len())];
        // The block: the picked unit's costly group within the longest shard, or the unit alone.
        let block: Vec<u32> = match st.units[pick as usize].groups.first() {
            Some(&(group, _)) if rng.gen_bool(0.5) => members
                .iter()
                .copied()
                .filter(|&u| st.units[u as usize].groups.iter().any(|&(g, _)| g == group))
                .collect(),
            _ => vec![pick],
        };
        if block.len() >= members.len() {
            continue;
        }
        let mut to = rng.gen_range(0..shards as u32 - 1);
        if to >= top {
            to += 1;
        }
        for &u in &block {
            st.unplace(u);
            st.place(u, to);
        }
        local_search(&mut st, budget, floor);
        let candidate = st.item_assignment();
        let makespan = exact(&candidate);
        if makespan < best_makespan {
            best_makespan = makespan;
            best = candidate;
        }
    }
    best
}

/// Simulated annealing for plans with shared setups, where even the perturbed search stalls
/// short of the bound: a fixed-seed walk of `iterations` steps that moves one test, or all of a
/// shard's tests of one costly group, from a shard (the longest half of the time) to another;
/// it accepts a worse plan with a probability that falls as the temperature cools, so it can
/// leave the local optima where a split group's pieces are badly placed. The objective is the
/// longest shard plus a small sum of squared loads, so ties still move toward balance. Returns
/// the best assignment seen (by the longest shard), never worse than `assign`.
pub(crate) fn anneal(
    problem: &super::model::Problem,
    assign: &[u32],
    shards: usize,
    iterations: usize,
    floor: f64,
    seed: u64,
) -> Vec<u32> {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::state::{Granularity, build_units};

    if shards < 2 || iterations == 0 {
        return assign.to_vec();
    }
    let units = build_units(problem, Granularity::Items, shards);
    let mut st = State::with_assignment(problem, units, shards, assign);
    let overhead = problem.overhead;
    let mean = st.loads.iter().map(|l| l - overhead).sum::<f64>() / shards as f64;
    if mean <= 0.0 {
        return assign.to_vec();
    }
    // Scale-free settings, tuned on the measured fixtures suite (`benchmarks/measured/`) from an
    // already searched plan: start at 2 % of a mean shard (hotter undoes the plan), cool a
    // thousandfold; squares weigh as in pack_check.py (1 % for shards of 4 s).
    let start = 0.02 * mean;
    let cooling = (1e-3f64).ln() / iterations as f64;
    let weight = 0.04 / mean;
    let top = |st: &State<'_>| st.order.last().map_or(0.0, |(l, _)| l.0);

    let mut best = assign.to_vec();
    let mut best_top = top(&st);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut block: Vec<u32> = Vec::new();
    for step in 0..iterations {
        if best_top <= floor * (1.0 + GOOD_ENOUGH) {
            break;
        }
        let before = top(&st);
        let from = if rng.gen_bool(0.5) {
            st.order.last().map_or(0, |&(_, s)| s)
        } else {
            rng.gen_range(0..shards as u32)
        };
        let mut to = rng.gen_range(0..shards as u32 - 1);
        if to >= from {
            to += 1;
        }
        let members = &st.members[from as usize];
        if members.len() < 2 {
            continue;
        }
        let pick = members[rng.gen_range(0..members.len())];
        block.clear();
        match st.units[pick as usize].groups.first() {
            Some(&(group, _)) if rng.gen_bool(0.4) => block.extend(
                members
                    .iter()
                    .copied()
                    .filter(|&u| st.units[u as usize].groups.iter().any(|&(g, _)| g == group)),
            ),
            _ => block.push(pick),
        }
        if block.len() >= members.len() {
            continue;
        }
        let (a0, b0) = (st.loads[from as usize], st.loads[to as usize]);
        for &u in &block {
            st.unplace(u);
            st.place(u, to);
        }
        let (a1, b1) = (st.loads[from as usize], st.loads[to as usize]);
        let after = top(&st);
        let sq = |x: f64| (x - overhead) * (x - overhead);
        let delta = (after - before) + weight * (sq(a1) + sq(b1) - sq(a0) - sq(b0));
        let temperature = start * (cooling * step as f64).exp();
        if delta < 0.0 || rng.r#gen::<f64>() < (-delta / temperature).exp() {
            if after < best_top {
                best_top = after;
                best = st.item_assignment();
            }
        } else {
            for &u in &block {
                st.unplace(u);
                st.place(u, from);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packing::lpt::lpt;
    use crate::packing::state::{Granularity, build_units};
    use crate::packing::tests::lpt_worst_case;

    #[test]
    fn fixes_lpt_worst_case() {
        let p = lpt_worst_case(0.0);
        let mut st = State::new(&p, build_units(&p, Granularity::Items, 2), 2);
        lpt(&mut st);
        assert_eq!(st.makespan(), 7.0);
        local_search(&mut st, 100, 0.0);
        // 3+3 vs 2+2+2 after a swap.
        assert_eq!(st.makespan(), 6.0);
        assert!(st.members.iter().all(|m| !m.is_empty()));
    }

    #[test]
    fn respects_the_budget() {
        let p = lpt_worst_case(0.0);
        let mut st = State::new(&p, build_units(&p, Granularity::Items, 2), 2);
        lpt(&mut st);
        assert_eq!(local_search(&mut st, 0, 0.0), 0);
        assert_eq!(st.makespan(), 7.0);
    }
}
