//! Duration estimates for the packer: a robust statistic per test, the spread for the Monte
//! Carlo makespan, priors for tests without history, and group setup costs.
//!
//! - A test with history: the chosen statistic (median by default; mean; p90) of its kept
//!   samples. Skipped samples are ignored unless they are all the test has (a test that is
//!   always skipped costs what its skips cost, about nothing).
//! - The spread is the raw samples plus `mu`/`sigma` of their natural logs (durations are
//!   skewed; a log-normal is the usual model). `sigma` has a floor of [`MIN_SIGMA`] so one or two
//!   identical samples do not claim certainty.
//! - A test without history takes a prior: the median of the estimates of the tests in its
//!   file, else in its folder (walking up to the root), else in the whole suite, with `sigma`
//!   the spread of those estimates (floor [`MIN_PRIOR_SIGMA`]). With no history at all,
//!   [`DEFAULT_SECONDS`] with `sigma` [`DEFAULT_SIGMA`].
//! - Group setup cost: where reportlog gave phase splits, a module- or class-scoped fixture shows
//!   as the setup time of the first test of the file (or class) in a report, in excess of the
//!   median setup of the others. Per-test estimates already include it for whichever test ran
//!   first, so the packer should add it once for every *extra* shard a group is split over.
//!
//! Limits: the statistic treats all kept samples equally (no decay by age); failed tests'
//! durations count (a failure that stops early makes the estimate low).

use std::collections::BTreeMap;

use rusqlite::Connection;
use statrs::statistics::{Data, OrderStatistics, Statistics};

use crate::error::Result;
use crate::history::Outcome;
use crate::history::store::{self, StoredSample};
use crate::nodeid::{class_of, file_of};

/// Seconds assumed for a test when the data file holds no history at all.
pub const DEFAULT_SECONDS: f64 = 1.0;
/// Log-space spread assumed with no history at all (a factor of e either way).
pub const DEFAULT_SIGMA: f64 = 1.0;
/// Smallest log-space spread of a known test.
pub const MIN_SIGMA: f64 = 0.1;
/// Smallest log-space spread of a prior.
pub const MIN_PRIOR_SIGMA: f64 = 0.25;
/// Durations below this are clamped before taking logs (pytest reports 0.000 for trivial tests).
const MIN_SECONDS: f64 = 1e-3;

/// The per-test statistic.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    #[default]
    Median,
    Mean,
    P90,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EstimateOptions {
    pub statistic: Statistic,
    /// Seconds for a test when nothing at all is known.
    pub default_seconds: f64,
}

impl Default for EstimateOptions {
    fn default() -> Self {
        EstimateOptions {
            statistic: Statistic::Median,
            default_seconds: DEFAULT_SECONDS,
        }
    }
}

/// Where an estimate comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Known,
    FilePrior,
    FolderPrior,
    SuitePrior,
    Default,
}

/// A test's estimated duration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub seconds: f64,
    /// The samples behind a known estimate, newest first (empty for priors).
    pub samples: Vec<f64>,
    /// Mean of the log durations (for a log-normal draw).
    pub mu: f64,
    /// Standard deviation of the log durations.
    pub sigma: f64,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Prior {
    seconds: f64,
    mu: f64,
    sigma: f64,
}

/// All estimates derived from a data file's history.
#[derive(Debug, Clone, Default)]
pub struct Estimates {
    known: BTreeMap<String, Estimate>,
    files: BTreeMap<String, Prior>,
    folders: BTreeMap<String, Prior>,
    suite: Option<Prior>,
    setup: BTreeMap<String, f64>,
    default_seconds: f64,
}

fn folder_of(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(dir, _)| dir)
}

fn log_spread(values: &[f64]) -> (f64, f64) {
    let logs: Vec<f64> = values.iter().map(|v| v.max(MIN_SECONDS).ln()).collect();
    let mu = logs.iter().mean();
    let sigma = if logs.len() > 1 {
        logs.iter().std_dev()
    } else {
        0.0
    };
    (mu, sigma)
}

fn statistic(values: &[f64], which: Statistic) -> f64 {
    match which {
        Statistic::Median => Data::new(values.to_vec()).median(),
        Statistic::Mean => values.iter().mean(),
        Statistic::P90 => Data::new(values.to_vec()).percentile(90),
    }
}

fn prior(estimates: &[f64]) -> Prior {
    let (mu, sigma) = log_spread(estimates);
    Prior {
        seconds: Data::new(estimates.to_vec()).median(),
        mu,
        sigma: sigma.max(MIN_PRIOR_SIGMA),
    }
}

impl Estimates {
    /// Read the history (read-only is enough; a file without covshard tables gives priors only).
    pub fn load(conn: &Connection, options: &EstimateOptions) -> Result<Self> {
        Ok(Self::from_samples(&store::samples(conn)?, options))
    }

    /// Build from stored samples (each test's samples newest first, as `store::samples` gives).
    pub fn from_samples(samples: &[StoredSample], options: &EstimateOptions) -> Self {
        let mut by_test: BTreeMap<&str, Vec<&StoredSample>> = BTreeMap::new();
        for s in samples {
            by_test.entry(&s.sample.node_id).or_default().push(s);
        }
        let mut known: Vec<(String, Estimate)> = Vec::with_capacity(by_test.len());
        for (id, list) in by_test {
            let timed: Vec<f64> = list
                .iter()
                .filter(|s| s.sample.outcome != Outcome::Skipped)
                .map(|s| s.sample.duration)
                .collect();
            let values = if timed.is_empty() {
                list.iter().map(|s| s.sample.duration).collect()
            } else {
                timed
            };
            let (mu, sigma) = log_spread(&values);
            known.push((
                id.to_string(),
                Estimate {
                    seconds: statistic(&values, options.statistic),
                    mu,
                    sigma: sigma.max(MIN_SIGMA),
                    samples: values,
                    source: Source::Known,
                },
            ));
        }
        // In key order already: built in bulk.
        let known: BTreeMap<String, Estimate> = known.into_iter().collect();
        let mut per_file: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut per_folder: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut all = Vec::with_capacity(known.len());
        for (id, est) in &known {
            let file = file_of(id);
            per_file.entry(file).or_default().push(est.seconds);
            let mut dir = folder_of(file);
            while let Some(d) = dir {
                per_folder.entry(d).or_default().push(est.seconds);
                dir = folder_of(d);
            }
            all.push(est.seconds);
        }
        Estimates {
            files: per_file
                .into_iter()
                .map(|(k, v)| (k.to_string(), prior(&v)))
                .collect(),
            folders: per_folder
                .into_iter()
                .map(|(k, v)| (k.to_string(), prior(&v)))
                .collect(),
            suite: (!all.is_empty()).then(|| prior(&all)),
            setup: setup_costs(samples),
            known,
            default_seconds: options.default_seconds,
        }
    }

    /// [`Estimates::for_test`], borrowed when the test has a history of its own.
    pub fn lookup(&self, node_id: &str) -> std::borrow::Cow<'_, Estimate> {
        match self.known.get(node_id) {
            Some(e) => std::borrow::Cow::Borrowed(e),
            None => std::borrow::Cow::Owned(self.for_test(node_id)),
        }
    }

    /// The estimate for one test: its own history, else the nearest prior.
    pub fn for_test(&self, node_id: &str) -> Estimate {
        if let Some(e) = self.known.get(node_id) {
            return e.clone();
        }
        let from = |p: &Prior, source| Estimate {
            seconds: p.seconds,
            samples: Vec::new(),
            mu: p.mu,
            sigma: p.sigma,
            source,
        };
        let file = file_of(node_id);
        if let Some(p) = self.files.get(file) {
            return from(p, Source::FilePrior);
        }
        let mut dir = folder_of(file);
        while let Some(d) = dir {
            if let Some(p) = self.folders.get(d) {
                return from(p, Source::FolderPrior);
            }
            dir = folder_of(d);
        }
        if let Some(p) = &self.suite {
            return from(p, Source::SuitePrior);
        }
        Estimate {
            seconds: self.default_seconds,
            samples: Vec::new(),
            mu: self.default_seconds.max(MIN_SECONDS).ln(),
            sigma: DEFAULT_SIGMA,
            source: Source::Default,
        }
    }

    /// Tests with history, by node id.
    pub fn known(&self) -> &BTreeMap<String, Estimate> {
        &self.known
    }

    /// Setup cost of a group: a file (`tests/a.py`) or a class (`tests/a.py::TestK`).
    pub fn group_setup(&self, group: &str) -> Option<f64> {
        self.setup.get(group).copied()
    }

    /// Every group with a setup cost (measured, or set by configuration).
    pub fn setup_costs(&self) -> &BTreeMap<String, f64> {
        &self.setup
    }

    /// Set groups' setup costs by hand (`[packing.setup]`), over any measured ones.
    pub fn set_group_setups(&mut self, setups: BTreeMap<String, f64>) {
        self.setup.extend(setups);
    }
}

/// (run, part, group): one group's tests within one report, whose members are (seq, setup).
type GroupInReport<'a> = (i64, i64, &'a str);

/// Per group, the median over reports of (first test's setup - median setup of the others).
fn setup_costs(samples: &[StoredSample]) -> BTreeMap<String, f64> {
    let mut groups: BTreeMap<GroupInReport<'_>, Vec<(i64, f64)>> = BTreeMap::new();
    for s in samples {
        let Some(p) = s.sample.phases else { continue };
        if !matches!(s.sample.outcome, Outcome::Passed | Outcome::Failed) {
            continue;
        }
        let id = s.sample.node_id.as_str();
        groups
            .entry((s.run_id, s.part, file_of(id)))
            .or_default()
            .push((s.seq, p.setup));
        if let Some(class) = class_of(id) {
            groups
                .entry((s.run_id, s.part, class))
                .or_default()
                .push((s.seq, p.setup));
        }
    }
    let mut excess: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((_, _, group), mut members) in groups {
        if members.len() < 2 {
            continue;
        }
        members.sort_by_key(|&(seq, _)| seq);
        let others: Vec<f64> = members[1..].iter().map(|&(_, s)| s).collect();
        let extra = (members[0].1 - Data::new(others).median()).max(0.0);
        excess.entry(group).or_default().push(extra);
    }
    excess
        .into_iter()
        .map(|(g, v)| (g.to_string(), Data::new(v).median()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Phases, Sample};

    fn stored(
        run: i64,
        seq: i64,
        id: &str,
        d: f64,
        outcome: Outcome,
        setup: Option<f64>,
    ) -> StoredSample {
        StoredSample {
            run_id: run,
            part: 0,
            seq,
            sample: Sample {
                node_id: id.into(),
                duration: d,
                outcome,
                phases: setup.map(|s| Phases {
                    setup: s,
                    call: d - s,
                    teardown: 0.0,
                }),
                mapped: true,
            },
        }
    }

    #[test]
    fn statistics_ignore_skips() {
        let samples = vec![
            stored(3, 0, "t/a.py::x", 1.0, Outcome::Passed, None),
            stored(2, 0, "t/a.py::x", 0.0, Outcome::Skipped, None),
            stored(1, 0, "t/a.py::x", 3.0, Outcome::Failed, None),
            stored(0, 0, "t/a.py::x", 2.0, Outcome::Passed, None),
        ];
        let med = Estimates::from_samples(&samples, &EstimateOptions::default());
        let e = med.for_test("t/a.py::x");
        assert_eq!(e.seconds, 2.0);
        assert_eq!(e.samples, vec![1.0, 3.0, 2.0]);
        assert_eq!(e.source, Source::Known);
        let mean = Estimates::from_samples(
            &samples,
            &EstimateOptions {
                statistic: Statistic::Mean,
                ..Default::default()
            },
        );
        assert_eq!(mean.for_test("t/a.py::x").seconds, 2.0);
        let p90 = Estimates::from_samples(
            &samples,
            &EstimateOptions {
                statistic: Statistic::P90,
                ..Default::default()
            },
        );
        assert_eq!(p90.for_test("t/a.py::x").seconds, 3.0);
    }

    #[test]
    fn always_skipped_tests_cost_their_skips() {
        let samples = vec![stored(1, 0, "t/a.py::s", 0.001, Outcome::Skipped, None)];
        let e = Estimates::from_samples(&samples, &EstimateOptions::default());
        assert_eq!(e.for_test("t/a.py::s").seconds, 0.001);
    }

    #[test]
    fn priors_go_file_then_folder_then_suite_then_default() {
        let samples = vec![
            stored(1, 0, "t/u/a.py::x", 1.0, Outcome::Passed, None),
            stored(1, 1, "t/u/a.py::y", 3.0, Outcome::Passed, None),
            stored(1, 2, "t/u/b.py::z", 10.0, Outcome::Passed, None),
            stored(1, 3, "o/c.py::w", 100.0, Outcome::Passed, None),
        ];
        let e = Estimates::from_samples(&samples, &EstimateOptions::default());
        let new_in_a = e.for_test("t/u/a.py::new");
        assert_eq!(
            (new_in_a.source, new_in_a.seconds),
            (Source::FilePrior, 2.0)
        );
        let new_in_u = e.for_test("t/u/d.py::new");
        assert_eq!(
            (new_in_u.source, new_in_u.seconds),
            (Source::FolderPrior, 3.0)
        );
        let new_in_t = e.for_test("t/v/e.py::new");
        assert_eq!(
            (new_in_t.source, new_in_t.seconds),
            (Source::FolderPrior, 3.0)
        );
        let elsewhere = e.for_test("z.py::new");
        assert_eq!(
            (elsewhere.source, elsewhere.seconds),
            (Source::SuitePrior, 6.5)
        );
        assert!(elsewhere.sigma >= MIN_PRIOR_SIGMA);
        let none = Estimates::default().for_test("z.py::new");
        assert_eq!(none.source, Source::Default);
        let none = Estimates::from_samples(&[], &EstimateOptions::default()).for_test("z.py::n");
        assert_eq!(
            (none.source, none.seconds),
            (Source::Default, DEFAULT_SECONDS)
        );
    }

    #[test]
    fn group_setup_is_the_first_tests_excess() {
        let samples = vec![
            stored(1, 0, "t/a.py::K::x", 5.0, Outcome::Passed, Some(4.0)),
            stored(1, 1, "t/a.py::K::y", 1.0, Outcome::Passed, Some(0.1)),
            stored(1, 2, "t/a.py::K::z", 1.0, Outcome::Passed, Some(0.1)),
            stored(1, 3, "t/a.py::w", 1.0, Outcome::Passed, Some(0.1)),
            stored(1, 4, "t/b.py::only", 1.0, Outcome::Passed, Some(0.5)),
        ];
        let e = Estimates::from_samples(&samples, &EstimateOptions::default());
        assert!((e.group_setup("t/a.py::K").unwrap() - 3.9).abs() < 1e-9);
        assert!((e.group_setup("t/a.py").unwrap() - 3.9).abs() < 1e-9);
        assert_eq!(e.group_setup("t/b.py"), None);
    }

    #[test]
    fn spread_has_a_floor() {
        let samples = vec![stored(1, 0, "t/a.py::x", 2.0, Outcome::Passed, None)];
        let e =
            Estimates::from_samples(&samples, &EstimateOptions::default()).for_test("t/a.py::x");
        assert_eq!(e.sigma, MIN_SIGMA);
        assert!((e.mu - 2f64.ln()).abs() < 1e-12);
    }
}
