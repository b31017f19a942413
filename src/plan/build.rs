//! The plan: selection, estimates and packing tied together into a [`Plan`].
//!
//! Inputs are what the CLI resolved (a selection, or the whole suite), the durations history
//! and the packing options; the output is the versioned `plan.json` structure. Path items (a
//! changed test file, a directory under a changed `conftest.py`) are expanded into the
//! collected node ids under them when a collected list is known, so the packer can spread
//! them; otherwise a path stays one item, estimated as the sum of the known tests under it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::config::GroupByChoice;
use crate::error::{Error, Result};
use crate::history::estimate::{Estimate, Estimates, Source, Statistic};
use crate::nodeid;
use crate::packing::{
    self, GroupCosts, Item, MonteCarloOptions, PackOptions, Problem, Spread, Workers,
};
use crate::plan::{EstimateSummary, PackingSummary, Plan, PlannedTest, SelectionSummary, Shard};
use crate::selection::{Reason, Selection, tests_under_path};
use crate::units::ShardCount;

/// How to pack.
#[derive(Debug, Clone)]
pub struct PackRequest {
    pub shards: ShardCount,
    pub target_seconds: f64,
    pub max_shards: usize,
    pub overhead_seconds: f64,
    /// Where `overhead_seconds` came from, for the plan: `command line`, `configuration`,
    /// `default`.
    pub overhead_source: &'static str,
    pub group_by: GroupByChoice,
    /// pytest-xdist workers inside each shard (one: plain pytest).
    pub workers: Workers,
    /// `--workers auto`: also choose the worker count, from 1 up to `workers.count`.
    pub choose_workers: bool,
    pub monte_carlo: MonteCarloOptions,
    /// Also predict the makespan of the whole known suite on the same shard count.
    pub compare_full_suite: bool,
}

/// What to plan: the selected ids with their reasons, and what is known of the suite.
pub struct PlanInput<'a> {
    pub selection: &'a Selection,
    /// `false` for `--all` (the selection then lists every known test).
    pub selective: bool,
    pub estimates: &'a Estimates,
    pub statistic: Statistic,
    /// Node ids known to exist now (the collected list), for expanding path items.
    pub collected: Option<&'a BTreeSet<String>>,
    pub base: Option<String>,
    pub head: Option<String>,
}

/// The ids to plan: node ids, and paths expanded through the collected list when known.
pub fn plan_ids(selection: &Selection, collected: Option<&BTreeSet<String>>) -> Vec<String> {
    let Some(collected) = collected else {
        // Sorted, without duplicates, every path kept.
        return selection.test_ids();
    };
    let mut out: BTreeSet<String> = BTreeSet::new();
    for id in selection.test_ids() {
        if id.contains("::") {
            out.insert(id);
            continue;
        }
        let under: Vec<&String> = tests_under_path(collected, &id).collect();
        if under.is_empty() {
            // Nothing collected there: keep the path.
            out.insert(id);
        } else {
            out.extend(under.into_iter().cloned());
        }
    }
    out.into_iter().collect()
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Known => "history",
        Source::FilePrior => "file",
        Source::FolderPrior => "folder",
        Source::SuitePrior => "suite",
        Source::Default => "default",
    }
}

/// An item's estimate: its own, or for a path the sum over the known tests under it.
fn estimate_for<'a>(
    id: &str,
    estimates: &'a Estimates,
    known: &BTreeSet<String>,
) -> Cow<'a, Estimate> {
    if id.contains("::") {
        return estimates.lookup(id);
    }
    let under: Vec<Estimate> = tests_under_path(known, id)
        .map(|t| estimates.for_test(t))
        .collect();
    if under.is_empty() {
        // A new test file: its file prior, else the folder's, the suite's or the default.
        return Cow::Owned(estimates.for_test(&format!("{id}::<new>")));
    }
    let seconds: f64 = under.iter().map(|e| e.seconds).sum();
    let source = if under.iter().all(|e| e.source == Source::Known) {
        Source::Known
    } else {
        under
            .iter()
            .map(|e| e.source)
            .max()
            .unwrap_or(Source::Default)
    };
    let sigma = under.iter().map(|e| e.sigma).fold(0.0, f64::max);
    Cow::Owned(Estimate {
        seconds,
        samples: Vec::new(),
        mu: seconds.max(1e-3).ln(),
        sigma,
        source,
    })
}

pub fn group_by(choice: GroupByChoice) -> packing::GroupBy {
    match choice {
        GroupByChoice::Auto => packing::GroupBy::Auto,
        GroupByChoice::None => packing::GroupBy::None,
        GroupByChoice::File => packing::GroupBy::File,
        GroupByChoice::Class => packing::GroupBy::Class,
    }
}

/// The setup costs configuration gives the file and class groups of the `known` tests: each
/// group takes the value of the longest pattern that matches its key (the most specific one).
pub fn configured_setups(
    patterns: &[(globset::GlobMatcher, String, f64)],
    known: &BTreeSet<String>,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if patterns.is_empty() {
        return out;
    }
    let mut groups: BTreeSet<&str> = BTreeSet::new();
    for id in known.iter().filter(|id| id.contains("::")) {
        groups.insert(nodeid::file_of(id));
        groups.extend(nodeid::class_of(id));
    }
    for group in groups {
        let best = patterns
            .iter()
            .filter(|(glob, _, _)| glob.is_match(group))
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.1.cmp(&a.1)));
        if let Some((_, _, seconds)) = best {
            out.insert(group.to_string(), *seconds);
        }
    }
    out
}

/// The packing problem for `ids` (for `tune`).
pub fn problem(
    ids: &[String],
    estimates: &Estimates,
    known: &BTreeSet<String>,
    overhead: f64,
) -> Result<Problem> {
    Ok(problem_for(ids, estimates, known, overhead)?.0)
}

/// Build the packing problem for `ids`. Measured group setup costs are charged per shard by the
/// packer; the history's per-test estimates already hold one setup (in the group's first test),
/// so it is taken out of the group's longest test to avoid counting it twice.
fn problem_for<'a>(
    ids: &'a [String],
    estimates: &'a Estimates,
    known: &BTreeSet<String>,
    overhead: f64,
) -> Result<(Problem, BTreeMap<&'a str, Cow<'a, Estimate>>)> {
    // Borrowed where the history knows the test: a million tests are not copied twice.
    let by_id: BTreeMap<&str, Cow<'_, Estimate>> = ids
        .iter()
        .map(|id| (id.as_str(), estimate_for(id, estimates, known)))
        .collect();
    let mut costs = GroupCosts::default();
    let mut adjust: BTreeMap<&str, f64> = BTreeMap::new();
    // Index the planned tests by their file and class groups once: linear, not groups x tests.
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &id in by_id.keys().filter(|id| id.contains("::")) {
        members.entry(nodeid::file_of(id)).or_default().push(id);
        if let Some(class) = nodeid::class_of(id) {
            members.entry(class).or_default().push(id);
        }
    }
    for (group, &setup) in estimates.setup_costs() {
        let Some(&longest) = members.get(group.as_str()).and_then(|ids| {
            ids.iter().max_by(|a, b| {
                by_id[**a]
                    .seconds
                    .total_cmp(&by_id[**b].seconds)
                    .then(b.cmp(a))
            })
        }) else {
            continue;
        };
        *adjust.entry(longest).or_default() += setup;
        if group.contains("::") {
            costs.class.insert(group.clone(), setup);
        } else {
            costs.file.insert(group.clone(), setup);
        }
    }
    let items: Vec<Item> = by_id
        .iter()
        .map(|(id, est)| {
            let seconds = (est.seconds - adjust.get(id).copied().unwrap_or(0.0)).max(0.0);
            let spread = if est.samples.len() >= 2 {
                Spread::Samples(est.samples.clone())
            } else {
                Spread::LogNormal {
                    mu: seconds.max(1e-3).ln(),
                    sigma: est.sigma,
                }
            };
            let mut item = Item::new(id.to_string(), seconds)
                .with_spread(spread)
                .with_file(nodeid::file_of(id).to_string());
            if let Some(class) = nodeid::class_of(id) {
                item = item.with_class(class.to_string());
            }
            item
        })
        .collect();
    let problem = Problem::new(items, &costs, overhead).map_err(Error::from)?;
    Ok((problem, by_id))
}

fn pack_options(req: &PackRequest) -> PackOptions {
    PackOptions {
        group_by: group_by(req.group_by),
        ..PackOptions::default()
    }
}

/// The worker counts `--workers auto` chooses from: powers of two below the cores, and the
/// cores.
pub fn worker_counts(cores: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |n| n.checked_mul(2))
        .take_while(|&n| n < cores)
        .collect();
    counts.push(cores.max(1));
    counts
}

/// Pack `problem` with the requested shard count and workers; with `choose_workers`, the
/// worker count too: the fewest shards that meet the target, then the shortest makespan, then
/// fewer workers.
fn pack(problem: &Problem, req: &PackRequest) -> Result<(packing::Assignment, Workers)> {
    let options = pack_options(req);
    let counts = if req.choose_workers {
        worker_counts(req.workers.count)
    } else {
        vec![req.workers.count]
    };
    let mut best: Option<(bool, usize, packing::Assignment, Workers)> = None;
    for count in counts {
        let workers = Workers {
            count,
            ..req.workers
        };
        let (meets, shards, plan) = match req.shards {
            ShardCount::Fixed(n) => {
                let plan = packing::pack_workers(
                    problem,
                    n.min(req.max_shards.max(1)),
                    &options,
                    &workers,
                )?;
                (true, n, plan)
            }
            ShardCount::Auto => {
                let choice = packing::choose_shard_count_with(
                    problem,
                    req.target_seconds,
                    req.max_shards,
                    &options,
                    &workers,
                )?;
                (choice.meets_target, choice.shards, choice.plan)
            }
        };
        let better = best.as_ref().is_none_or(|(m, s, p, _)| {
            (meets, std::cmp::Reverse(shards)) > (*m, std::cmp::Reverse(*s))
                || (meets == *m && shards == *s && plan.makespan < p.makespan)
        });
        if better {
            best = Some((meets, shards, plan, workers));
        }
    }
    let (_, _, plan, workers) = best.expect("at least one worker count");
    Ok((plan, workers))
}

/// Make the plan.
pub fn make_plan(input: &PlanInput<'_>, req: &PackRequest) -> Result<Plan> {
    let selection = input.selection;
    let ids = plan_ids(selection, input.collected);
    let summary_reasons: BTreeMap<String, Vec<Reason>> = ids
        .iter()
        .filter_map(|id| {
            let reasons: Vec<Reason> = selection
                .reasons_for(id)
                .into_iter()
                .flat_map(|(_, r)| r)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            (!reasons.is_empty()).then(|| (id.clone(), reasons))
        })
        .collect();
    let tally = selection.tally(&ids);
    let selection_summary = SelectionSummary {
        selective: input.selective,
        run_all: selection.run_all,
        run_all_reasons: selection.run_all_reasons.clone(),
        selected: tally.tests,
        total: selection.suite.total(),
        by_rule: tally.by_rule.clone(),
        changed_files: selection.changed_files.clone(),
        reasons: summary_reasons,
        warnings: selection.warnings.clone(),
    };
    let known = &selection.known_tests;
    if ids.is_empty() {
        return Ok(Plan {
            version: crate::plan::PLAN_VERSION,
            generator: generator(),
            base: input.base.clone(),
            head: input.head.clone(),
            selection: selection_summary,
            estimates: EstimateSummary {
                statistic: input.statistic,
                known: 0,
                estimated: 0,
                total_seconds: 0.0,
            },
            packing: PackingSummary {
                algorithm: "none".into(),
                group_by: req.group_by,
                shard_count: 0,
                shard_overhead_seconds: req.overhead_seconds,
                shard_overhead_source: req.overhead_source.to_string(),
                workers: req.workers.count,
                dist: req.workers.dist,
                worker_startup_seconds: 0.0,
                makespan_seconds: 0.0,
                lower_bound_seconds: 0.0,
                efficiency: 1.0,
                p50_seconds: 0.0,
                p95_seconds: 0.0,
                full_suite_seconds: None,
            },
            shards: Vec::new(),
            audits: Vec::new(),
        });
    }
    let (problem, by_id) = problem_for(&ids, input.estimates, known, req.overhead_seconds)?;
    let (mut packed, workers) = pack(&problem, req)?;
    // Each run draws every test once: keep the simulation's cost flat on large suites.
    let mut monte_carlo = req.monte_carlo;
    monte_carlo.workers = workers;
    monte_carlo.runs = (2_000_000 / problem.len().max(1)).clamp(50, monte_carlo.runs.max(50));
    let distribution = packing::simulate(&problem, &packed, &monte_carlo)?;
    let shard_count = packed.shards.len();

    // What the whole suite would take on as many shards: its lower bound, which the packer
    // reaches within a fraction of a percent on suites of that size (packing it as well would
    // double the cost of a plan for a comparison).
    let full_suite_seconds = if req.compare_full_suite && input.selective && !selection.run_all {
        let all: Vec<&String> = match input.collected {
            Some(c) if !c.is_empty() => c.iter().collect(),
            _ => known.iter().collect(),
        };
        if all.len() > ids.len() {
            let (mut total, mut longest) = (0.0f64, 0.0f64);
            for id in all {
                let seconds = input.estimates.for_test(id).seconds;
                total += seconds;
                longest = longest.max(seconds);
            }
            let processes = (shard_count * workers.count) as f64;
            let startup = if workers.is_parallel() {
                workers.startup
            } else {
                0.0
            };
            Some(longest.max(total / processes) + req.overhead_seconds + startup)
        } else {
            None
        }
    } else {
        None
    };

    // Each planned test's estimate through its place in the problem, not a search by id.
    let in_order: Vec<&Cow<'_, Estimate>> = by_id.values().collect();
    let estimate_of = |id: &str, item: Option<&u32>| -> &Estimate {
        match item.map(|&i| i as usize) {
            Some(i) if problem.items[i].id == id => in_order[problem.origins[i] as usize],
            _ => &by_id[id],
        }
    };
    let shards: Vec<Shard> = std::mem::take(&mut packed.shards)
        .into_iter()
        .enumerate()
        .map(|(index, shard)| Shard {
            index: index + 1,
            predicted_seconds: round(shard.seconds),
            tests: shard
                .tests
                .into_iter()
                .enumerate()
                .map(|(k, id)| {
                    let estimate = estimate_of(&id, shard.items.get(k));
                    PlannedTest {
                        seconds: round(estimate.seconds),
                        estimate: source_name(estimate.source).to_string(),
                        id,
                    }
                })
                .collect(),
        })
        .collect();
    let known_count = by_id.values().filter(|e| e.source == Source::Known).count();
    Ok(Plan {
        version: crate::plan::PLAN_VERSION,
        generator: generator(),
        base: input.base.clone(),
        head: input.head.clone(),
        selection: selection_summary,
        estimates: EstimateSummary {
            statistic: input.statistic,
            known: known_count,
            estimated: by_id.len() - known_count,
            total_seconds: round(by_id.values().map(|e| e.seconds).sum()),
        },
        packing: PackingSummary {
            algorithm: packed.strategy.clone(),
            group_by: req.group_by,
            shard_count,
            shard_overhead_seconds: req.overhead_seconds,
            shard_overhead_source: req.overhead_source.to_string(),
            workers: workers.count,
            dist: workers.dist,
            worker_startup_seconds: if workers.is_parallel() {
                workers.startup
            } else {
                0.0
            },
            makespan_seconds: round(packed.makespan),
            lower_bound_seconds: round(packed.lower_bound),
            efficiency: (packed.efficiency * 10_000.0).round() / 10_000.0,
            p50_seconds: round(distribution.p50),
            p95_seconds: round(distribution.p95),
            full_suite_seconds: full_suite_seconds.map(round),
        },
        shards,
        audits: Vec::new(),
    })
}

/// Millisecond precision keeps plan.json stable and readable.
fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn generator() -> String {
    format!("covshard {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `select` and `plan` count one selection alike: a path stands for the known tests under
    /// it, not for one test.
    #[test]
    fn the_plan_counts_tests_as_select_does() {
        let known: BTreeSet<String> = ["t/a.py::x", "t/a.py::y", "t/a.py::z", "t/b.py::w"]
            .into_iter()
            .map(String::from)
            .collect();
        let mut selection = Selection::whole_suite(
            known.clone(),
            Reason::new(crate::selection::Rule::WholeSuite),
        );
        selection.run_all = false;
        selection.run_all_reasons.clear();
        selection.selected.insert(
            "t/a.py".into(),
            [Reason::new(crate::selection::Rule::TestFileChanged).file("t/a.py")].into(),
        );
        selection.selected.insert(
            "t/b.py::w".into(),
            [Reason::new(crate::selection::Rule::CoversChange)].into(),
        );
        let estimates = Estimates::default();
        let input = PlanInput {
            selection: &selection,
            selective: true,
            estimates: &estimates,
            statistic: Statistic::Median,
            collected: None,
            base: None,
            head: None,
        };
        let req = PackRequest {
            shards: ShardCount::Fixed(2),
            target_seconds: 600.0,
            max_shards: 8,
            overhead_seconds: 0.0,
            overhead_source: "command line",
            group_by: GroupByChoice::None,
            workers: Workers::ONE,
            choose_workers: false,
            monte_carlo: MonteCarloOptions {
                runs: 5,
                ..MonteCarloOptions::default()
            },
            compare_full_suite: false,
        };
        let plan = make_plan(&input, &req).unwrap();
        assert_eq!(plan.selection.selected, 4);
        assert_eq!(plan.selection.by_rule.values().sum::<usize>(), 4);
        assert!(
            crate::cli::select::summary_line(&selection).starts_with("4 of 4 known tests"),
            "{}",
            crate::cli::select::summary_line(&selection)
        );
    }

    #[test]
    fn configured_setups_go_to_the_most_specific_pattern() {
        let setup: BTreeMap<String, crate::config::SetupCost> = [
            ("tests/**", 1.0),
            ("tests/db/*.py", 20.0),
            ("tests/db/test_pg.py", 30.0),
            ("tests/api/test_c.py::TestClient", 5.0),
        ]
        .into_iter()
        .map(|(p, s)| {
            (
                p.to_string(),
                crate::config::SetupCost(crate::units::Seconds(s)),
            )
        })
        .collect();
        let patterns =
            crate::config::setup_patterns(&setup, std::path::Path::new("covshard.toml")).unwrap();
        let known: BTreeSet<String> = [
            "tests/db/test_pg.py::test_a",
            "tests/db/test_lite.py::test_b",
            "tests/db/deep/test_x.py::test_c",
            "tests/api/test_c.py::TestClient::test_get[1]",
            "other/test_o.py::test_d",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let got = configured_setups(&patterns, &known);
        let want: BTreeMap<String, f64> = [
            ("tests/db/test_pg.py", 30.0),
            ("tests/db/test_lite.py", 20.0),
            // `*` does not cross `/`: only `tests/**` reaches the deeper file.
            ("tests/db/deep/test_x.py", 1.0),
            ("tests/api/test_c.py", 1.0),
            ("tests/api/test_c.py::TestClient", 5.0),
        ]
        .into_iter()
        .map(|(g, s)| (g.to_string(), s))
        .collect();
        assert_eq!(got, want);
        assert!(configured_setups(&[], &known).is_empty());
    }
}
