//! Exact branch and bound for small instances, so tiny suites (where every second shows) get the
//! true optimum rather than a heuristic's.
//!
//! Units are tried longest first; shards are interchangeable, so a unit may open at most one new
//! shard (the lowest empty one); a branch is cut when a shard would reach the incumbent, when too
//! few units remain to fill the empty shards, or when the incumbent already meets the lower bound.
//! The search is bounded by a node count, not by time: if the budget runs out, the caller keeps
//! its heuristic plan and the result is not claimed optimal.

use super::state::Unit;

/// Largest number of units the exact search is attempted for.
pub(crate) const MAX_UNITS: usize = 14;
/// Nodes visited before giving up; ample for 12 units in 4 shards with a good incumbent.
const MAX_NODES: u64 = 5_000_000;

pub(crate) struct Exact<'a> {
    units: &'a [Unit],
    setup: &'a [f64],
    shards: usize,
    /// counts[shard * groups + g]: items of costly group `g` (densely renumbered) in the shard.
    counts: Vec<u32>,
    groups: usize,
    dense: Vec<Vec<(usize, u32)>>,
    loads: Vec<f64>,
    assign: Vec<u32>,
    best: f64,
    best_assign: Option<Vec<u32>>,
    floor: f64,
    nodes: u64,
    eps: f64,
}

/// Search for an assignment of units to `shards` non-empty shards with makespan strictly below
/// `incumbent`. Returns the best one found and whether the search completed (then it is optimal).
pub(crate) fn solve(
    units: &[Unit],
    setup: &[f64],
    overhead: f64,
    shards: usize,
    incumbent: f64,
    lower_bound: f64,
) -> (Option<Vec<u32>>, bool) {
    if units.len() < shards || shards == 0 {
        return (None, true);
    }
    let mut ids: Vec<u32> = units
        .iter()
        .flat_map(|u| u.groups.iter().map(|&(g, _)| g))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let dense: Vec<Vec<(usize, u32)>> = units
        .iter()
        .map(|u| {
            u.groups
                .iter()
                .map(|&(g, c)| (ids.binary_search(&g).unwrap_or(0), c))
                .collect()
        })
        .collect();
    let dense_setup: Vec<f64> = ids.iter().map(|&g| setup[g as usize]).collect();
    let mut search = Exact {
        units,
        setup: &dense_setup,
        shards,
        counts: vec![0; shards * ids.len()],
        groups: ids.len(),
        dense,
        loads: vec![overhead; shards],
        assign: vec![0; units.len()],
        best: incumbent,
        best_assign: None,
        floor: lower_bound,
        nodes: 0,
        eps: if incumbent.is_finite() {
            1e-9 * incumbent.max(1.0)
        } else {
            1e-9
        },
    };
    let complete = search.dfs(0, 0);
    (search.best_assign, complete)
}

impl Exact<'_> {
    fn add_cost(&self, u: usize, s: usize) -> f64 {
        let mut cost = self.units[u].estimate;
        for &(g, _) in &self.dense[u] {
            if self.counts[s * self.groups + g] == 0 {
                cost += self.setup[g];
            }
        }
        cost
    }

    /// Returns false when the node budget ran out.
    fn dfs(&mut self, u: usize, used: usize) -> bool {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return false;
        }
        if u == self.units.len() {
            let makespan = self.loads.iter().copied().fold(0.0, f64::max);
            if makespan < self.best - self.eps {
                self.best = makespan;
                self.best_assign = Some(self.assign.clone());
            }
            return true;
        }
        let remaining = self.units.len() - u;
        let empty = self.shards - used;
        // Every remaining unit must open a new shard: only the lowest empty one is tried.
        let first = if remaining <= empty { used } else { 0 };
        let last = (used + 1).min(self.shards);
        for s in first..last {
            if self.best <= self.floor + self.eps {
                return true;
            }
            let cost = self.add_cost(u, s);
            let load = self.loads[s] + cost;
            if load >= self.best - self.eps {
                continue;
            }
            self.loads[s] += cost;
            for &(g, c) in &self.dense[u] {
                self.counts[s * self.groups + g] += c;
            }
            self.assign[u] = s as u32;
            let ok = self.dfs(u + 1, used.max(s + 1));
            for &(g, c) in &self.dense[u] {
                self.counts[s * self.groups + g] -= c;
            }
            self.loads[s] -= cost;
            if !ok {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packing::state::{Granularity, build_units};
    use crate::packing::tests::lpt_worst_case;

    #[test]
    fn finds_the_optimum_lpt_misses() {
        let p = lpt_worst_case(1.0);
        let units = build_units(&p, Granularity::Items, 2);
        let (assign, complete) = solve(&units, &p.setup, 1.0, 2, 8.0, p.lower_bound(2));
        assert!(complete);
        let assign = assign.unwrap();
        let loads = p.shard_seconds(
            &{
                let mut a = vec![0; 5];
                for (u, unit) in units.iter().enumerate() {
                    a[unit.items[0] as usize] = assign[u];
                }
                a
            },
            2,
        );
        assert_eq!(loads.iter().copied().fold(0.0, f64::max), 7.0);
    }
}
