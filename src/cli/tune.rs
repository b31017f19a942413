//! `covshard tune`: a table of shard counts against predicted makespan (p50, p95), efficiency
//! and total runner time including overheads, with a small chart, so a person can pick a count.

use crate::cli::plan::{PackArgs, prepare};
use crate::cli::select::SelectionArgs;
use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::error::{Error, Result};
use crate::packing::{self, PackOptions};
use crate::units::format_seconds;

#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub pack: PackArgs,
    /// Shard counts to compare: `1-16`, `2,4,8,16` (default: powers of two up to --max-shards).
    #[arg(long, value_name = "LIST")]
    pub counts: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TuneFormat::Text)]
    pub format: TuneFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TuneFormat {
    Text,
    Json,
}

/// `1-4,8` -> [1, 2, 3, 4, 8].
pub fn parse_counts(text: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad =
            || format!("invalid shard counts `{text}`: expected a list like `1-16` or `2,4,8`");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a == 0 || b < a {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => {
                let n: usize = part.parse().map_err(|_| bad())?;
                if n == 0 {
                    return Err(bad());
                }
                out.push(n);
            }
        }
    }
    if out.is_empty() {
        return Err(format!("invalid shard counts `{text}`: the list is empty"));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub fn run(args: TuneArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    let prepared = prepare(&args.selection, &args.pack, None, &[], ws, ui)?;
    let ids = crate::plan::build::plan_ids(&prepared.selection, prepared.collected.as_ref());
    if ids.is_empty() {
        ui.info("no tests selected: nothing to tune");
        return Ok(());
    }
    let counts = match &args.counts {
        Some(text) => parse_counts(text).map_err(Error::usage)?,
        None => {
            let max = prepared.request.max_shards.min(ids.len()).max(1);
            let mut v: Vec<usize> = std::iter::successors(Some(1usize), |n| n.checked_mul(2))
                .take_while(|n| *n <= max)
                .collect();
            if v.last() != Some(&max) {
                v.push(max);
            }
            v
        }
    };
    let problem = crate::plan::build::problem(
        &ids,
        &prepared.estimates,
        &prepared.selection.known_tests,
        prepared.request.overhead_seconds,
    )?;
    let options = PackOptions {
        group_by: crate::plan::build::group_by(prepared.request.group_by),
        ..PackOptions::default()
    };
    // The trade-off over workers too: 1, 2, 4, ... up to the count asked for.
    let workers: Vec<packing::Workers> =
        crate::plan::build::worker_counts(prepared.request.workers.count)
            .into_iter()
            .map(|count| packing::Workers {
                count,
                ..prepared.request.workers
            })
            .collect();
    let rows = packing::tune(
        &problem,
        &counts,
        &workers,
        &options,
        &prepared.request.monte_carlo,
    )?;
    match args.format {
        TuneFormat::Json => {
            crate::cli::print_data(&crate::output::to_json(&crate::output::Tune {
                version: crate::output::VERSION,
                tests: ids.len(),
                overhead_seconds: prepared.request.overhead_seconds,
                rows: std::borrow::Cow::Borrowed(&rows),
            })?)
        }
        TuneFormat::Text => {
            let mut text = format!(
                "{} tests, overhead {} per shard{}\n{:>6}  {:>7}  {:>9}  {:>9}  {:>9}  {:>10}  {:>12}\n",
                ids.len(),
                format_seconds(prepared.request.overhead_seconds),
                if prepared.request.workers.is_parallel() {
                    format!(
                        ", xdist --dist {} with a {} start-up",
                        prepared.request.workers.dist.name(),
                        format_seconds(prepared.request.workers.startup)
                    )
                } else {
                    String::new()
                },
                "shards",
                "workers",
                "makespan",
                "p50",
                "p95",
                "efficiency",
                "runner time"
            );
            for row in &rows {
                text.push_str(&format!(
                    "{:>6}  {:>7}  {:>9}  {:>9}  {:>9}  {:>9.1}%  {:>12}\n",
                    row.shards,
                    row.workers,
                    format_seconds(row.makespan),
                    format_seconds(row.p50),
                    format_seconds(row.p95),
                    row.efficiency * 100.0,
                    format_seconds(row.runner_seconds)
                ));
            }
            text.push('\n');
            text.push_str(&packing::render_chart(&rows, 40));
            crate::cli::print_data(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_counts("1-4,8").unwrap(), vec![1, 2, 3, 4, 8]);
        assert_eq!(parse_counts("8, 2,2").unwrap(), vec![2, 8]);
        for bad in ["", "0", "4-2", "x", "1-"] {
            assert!(parse_counts(bad).is_err(), "{bad}");
        }
    }
}
