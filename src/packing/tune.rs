//! `covshard tune`'s engine: for a set of shard counts, the predicted makespan, its Monte Carlo
//! p50/p95, the efficiency and the total runner time (what the CI bills, overheads included), and
//! a plain-text chart of that table so a person can pick a count.
//!
//! Counts above the number of items are clamped and duplicates dropped, so every row is a plan
//! that can really run. All plans are simulated on the same random draws. The chart is plain
//! text with Unicode block characters; it never prints, it returns a `String`.

use std::fmt::Write as _;

use super::model::Problem;
use super::montecarlo::{MonteCarloOptions, simulate_many};
use super::xdist::{Workers, pack_workers};
use super::{PackError, PackOptions};
use crate::units::format_seconds;

/// One shard count's outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneRow {
    pub shards: usize,
    /// xdist worker processes per shard (1: plain pytest).
    pub workers: usize,
    /// Predicted makespan (seconds).
    pub makespan: f64,
    pub lower_bound: f64,
    /// Simulated makespan percentiles (seconds).
    pub p50: f64,
    pub p95: f64,
    /// `lower_bound / makespan`.
    pub efficiency: f64,
    /// Sum of every shard's predicted seconds, overheads and setups included.
    pub runner_seconds: f64,
}

/// Plan and simulate each shard count in `counts` (in increasing order, clamped, deduplicated)
/// for each of `workers` (rows by workers, then shards).
pub fn tune(
    problem: &Problem,
    counts: &[usize],
    workers: &[Workers],
    pack_options: &PackOptions,
    mc_options: &MonteCarloOptions,
) -> Result<Vec<TuneRow>, PackError> {
    if problem.is_empty() {
        return Err(PackError::NoItems);
    }
    if counts.contains(&0) {
        return Err(PackError::NoShards);
    }
    let mut counts: Vec<usize> = counts.iter().map(|&n| n.min(problem.len())).collect();
    counts.sort_unstable();
    counts.dedup();
    let mut rows = Vec::new();
    for w in workers {
        let plans = counts
            .iter()
            .map(|&n| pack_workers(problem, n, pack_options, w))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<_> = plans.iter().collect();
        let options = MonteCarloOptions {
            workers: *w,
            ..*mc_options
        };
        let sims = simulate_many(problem, &refs, &options)?;
        rows.extend(
            counts
                .iter()
                .zip(plans)
                .zip(sims)
                .map(|((&shards, plan), sim)| TuneRow {
                    shards,
                    workers: w.count,
                    makespan: plan.makespan,
                    lower_bound: plan.lower_bound,
                    p50: sim.p50,
                    p95: sim.p95,
                    efficiency: plan.efficiency,
                    runner_seconds: plan.runner_seconds,
                }),
        );
    }
    Ok(rows)
}

/// The table with a bar per row: `█` up to the predicted makespan, `░` on to the p95, scaled to
/// the largest p95. `bar_width` is the bar's width at that maximum (at least 1).
pub fn render_chart(rows: &[TuneRow], bar_width: usize) -> String {
    let bar_width = bar_width.max(1);
    let scale = rows
        .iter()
        .map(|r| r.p95.max(r.makespan))
        .fold(0.0, f64::max);
    let cells = |secs: f64| {
        if scale > 0.0 {
            ((secs / scale) * bar_width as f64).round() as usize
        } else {
            0
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {:>7}  {:>9}  {:>9}  {:>9}  {:>6}  {:>9}  makespan (█ predicted, ░ to p95)",
        "shards", "workers", "predicted", "p50", "p95", "eff.", "runner"
    );
    for r in rows {
        let solid = cells(r.makespan).min(bar_width);
        let light = cells(r.p95).min(bar_width).saturating_sub(solid);
        let _ = writeln!(
            out,
            "{:>6}  {:>7}  {:>9}  {:>9}  {:>9}  {:>5.1}%  {:>9}  {}{}",
            r.shards,
            r.workers,
            format_seconds(r.makespan),
            format_seconds(r.p50),
            format_seconds(r.p95),
            r.efficiency * 100.0,
            format_seconds(r.runner_seconds),
            "█".repeat(solid),
            "░".repeat(light),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packing::model::{GroupCosts, Item};

    fn problem() -> Problem {
        let items = (0..20)
            .map(|i| Item::new(format!("t{i:02}"), 3.0 + i as f64))
            .collect();
        Problem::new(items, &GroupCosts::default(), 20.0).unwrap()
    }

    #[test]
    fn rows_trade_makespan_for_runner_time() {
        let mc = MonteCarloOptions {
            runs: 200,
            ..Default::default()
        };
        let rows = tune(
            &problem(),
            &[8, 1, 2, 4, 50],
            &[Workers::ONE],
            &PackOptions::default(),
            &mc,
        )
        .unwrap();
        let shards: Vec<_> = rows.iter().map(|r| r.shards).collect();
        assert_eq!(shards, [1, 2, 4, 8, 20]);
        for pair in rows.windows(2) {
            assert!(pair[1].makespan <= pair[0].makespan);
            assert!(pair[1].runner_seconds > pair[0].runner_seconds);
        }
        // One shard: 20 s overhead + sum(3..=22) = 270 s.
        assert_eq!(rows[0].makespan, 270.0);
        assert_eq!(rows[0].runner_seconds, 270.0);
    }

    #[test]
    fn rows_cover_shards_by_workers() {
        let mc = MonteCarloOptions {
            runs: 20,
            default_sigma: 0.0,
            ..Default::default()
        };
        let two = Workers {
            count: 2,
            dist: crate::packing::Dist::Load,
            startup: 1.0,
        };
        let rows = tune(
            &problem(),
            &[1, 2],
            &[Workers::ONE, two],
            &PackOptions::default(),
            &mc,
        )
        .unwrap();
        let grid: Vec<(usize, usize)> = rows.iter().map(|r| (r.workers, r.shards)).collect();
        assert_eq!(grid, [(1, 1), (1, 2), (2, 1), (2, 2)]);
        // Two workers in one shard beat one process: 20 s overhead + 1 s start-up + about half
        // of the 250 s of tests, against 270 s.
        assert!(rows[2].makespan < rows[0].makespan - 100.0, "{rows:?}");
        assert!(rows[2].makespan >= 20.0 + 1.0 + 125.0, "{rows:?}");
        assert_eq!(rows[2].p50, rows[2].makespan);
    }

    #[test]
    fn chart_has_a_header_and_one_line_per_row() {
        let mc = MonteCarloOptions {
            runs: 50,
            ..Default::default()
        };
        let rows = tune(
            &problem(),
            &[1, 4],
            &[Workers::ONE],
            &PackOptions::default(),
            &mc,
        )
        .unwrap();
        let chart = render_chart(&rows, 30);
        assert_eq!(chart.lines().count(), 3);
        assert!(chart.lines().nth(1).unwrap().contains('█'));
        assert_eq!(render_chart(&[], 10).lines().count(), 1);
    }

    #[test]
    fn rejects_zero_and_empty() {
        let mc = MonteCarloOptions::default();
        let opts = PackOptions::default();
        assert_eq!(
            tune(&problem(), &[0], &[Workers::ONE], &opts, &mc),
            Err(PackError::NoShards)
        );
        let empty = Problem::new(vec![], &GroupCosts::default(), 0.0).unwrap();
        assert_eq!(
            tune(&empty, &[1], &[Workers::ONE], &opts, &mc),
            Err(PackError::NoItems)
        );
    }
}
