//! Choosing the shard count from a wall-time target, a maximum and the per-shard overhead.
//!
//! The answer is the smallest count whose plan meets the target; when none does, the count with
//! the shortest makespan (ties: fewer shards, since every shard costs its overhead again).
//! Counts whose lower bound already exceeds the target are skipped without packing (the bound
//! only falls as shards are added), so usually one or two plans are built. The scan also stops
//! once a plan reaches the best lower bound any count allows. Never more shards than items.

use super::model::{Assignment, Problem};
use super::xdist::{Workers, lower_bound, pack_workers};
use super::{PackError, PackOptions};

/// The chosen count and its plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardChoice {
    pub shards: usize,
    pub plan: Assignment,
    /// Whether `plan.makespan <= target_seconds`.
    pub meets_target: bool,
}

/// Smallest `n` in `1..=hi` with `lower_bound(n) <= limit`, if any (the bound is non-increasing).
fn first_within(problem: &Problem, workers: &Workers, hi: usize, limit: f64) -> Option<usize> {
    if lower_bound(problem, hi, workers) > limit {
        return None;
    }
    let (mut lo, mut hi) = (1, hi);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if lower_bound(problem, mid, workers) <= limit {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// Choose how many shards to use; see the module docs. `max_shards` is clamped to the number of
/// items. An empty problem is [`PackError::NoItems`] (the caller reports "no tests").
pub fn choose_shard_count(
    problem: &Problem,
    target_seconds: f64,
    max_shards: usize,
    options: &PackOptions,
) -> Result<ShardChoice, PackError> {
    choose_shard_count_with(problem, target_seconds, max_shards, options, &Workers::ONE)
}

/// [`choose_shard_count`] for shards that run `workers` xdist workers each.
pub fn choose_shard_count_with(
    problem: &Problem,
    target_seconds: f64,
    max_shards: usize,
    options: &PackOptions,
    workers: &Workers,
) -> Result<ShardChoice, PackError> {
    if problem.is_empty() {
        return Err(PackError::NoItems);
    }
    if max_shards == 0 {
        return Err(PackError::NoShards);
    }
    if !(target_seconds.is_finite() && target_seconds >= 0.0) {
        return Err(PackError::InvalidNumber {
            what: "the target wall time".into(),
            value: target_seconds,
        });
    }
    let hi = max_shards.min(problem.len());
    let floor = lower_bound(problem, hi, workers);
    let eps = 1e-9 * floor.max(1.0);
    let start = first_within(problem, workers, hi, target_seconds)
        .or_else(|| first_within(problem, workers, hi, floor + eps))
        .unwrap_or(hi);

    let mut best: Option<ShardChoice> = None;
    for n in start..=hi {
        let plan = pack_workers(problem, n, options, workers)?;
        let makespan = plan.makespan;
        let meets_target = makespan <= target_seconds;
        if best.as_ref().is_none_or(|b| makespan < b.plan.makespan) {
            best = Some(ShardChoice {
                shards: n,
                plan,
                meets_target,
            });
        }
        if meets_target || makespan <= floor + eps {
            break;
        }
    }
    best.ok_or(PackError::NoItems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packing::model::{GroupCosts, Item};

    fn problem(n: usize, each: f64, overhead: f64) -> Problem {
        let items = (0..n)
            .map(|i| Item::new(format!("t{i:03}"), each))
            .collect();
        Problem::new(items, &GroupCosts::default(), overhead).unwrap()
    }

    #[test]
    fn smallest_count_meeting_the_target() {
        // 100 tests of 6 s, 30 s overhead: n shards take 30 + 600/n (when n divides 100).
        let p = problem(100, 6.0, 30.0);
        let c = choose_shard_count(&p, 90.0, 64, &PackOptions::default()).unwrap();
        assert_eq!(c.shards, 10);
        assert!(c.meets_target);
        assert_eq!(c.plan.makespan, 90.0);
    }

    #[test]
    fn best_count_when_target_is_out_of_reach() {
        let p = problem(4, 10.0, 5.0);
        let c = choose_shard_count(&p, 1.0, 64, &PackOptions::default()).unwrap();
        assert_eq!(c.shards, 4);
        assert!(!c.meets_target);
        assert_eq!(c.plan.makespan, 15.0);
        assert!(c.plan.shards.iter().all(|s| !s.tests.is_empty()));
    }

    #[test]
    fn errors_instead_of_panics() {
        let empty = Problem::new(vec![], &GroupCosts::default(), 0.0).unwrap();
        let opts = PackOptions::default();
        assert_eq!(
            choose_shard_count(&empty, 10.0, 4, &opts),
            Err(PackError::NoItems)
        );
        let p = problem(3, 1.0, 0.0);
        assert_eq!(
            choose_shard_count(&p, 10.0, 0, &opts),
            Err(PackError::NoShards)
        );
        assert!(choose_shard_count(&p, f64::NAN, 2, &opts).is_err());
    }
}
