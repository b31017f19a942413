//! One `covshard ingest`: read the reports, map their tests to node ids, and store them as one
//! run in a single transaction.
//!
//! All reports are read and parsed before the data file is locked, so a malformed report
//! writes nothing and a slow parse does not block other writers. Reports describing the same
//! test in the same run (a JUnit file and a report log of the same shard) merge: the entry with
//! a phase split gives the duration, otherwise the longer one; the more alarming outcome wins.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{Transaction, TransactionBehavior};

use crate::coverage::{CoverageDb, sqlite_error};
use crate::error::{Error, Result};
use crate::history::junit::{self, Mapping};
use crate::history::store::{self, Carried, Placed, RunInfo};
use crate::history::{Sample, pytest_split, reportlog};
use crate::progress::Progress;

/// The kinds of report covshard reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReportKind {
    Junit,
    Durations,
    Reportlog,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Junit => "junit",
            ReportKind::Durations => "test-durations",
            ReportKind::Reportlog => "reportlog",
        }
    }
}

/// What to ingest.
#[derive(Debug, Clone)]
pub struct Request {
    pub db: PathBuf,
    pub reports: Vec<(ReportKind, PathBuf)>,
    pub commit: Option<String>,
    pub label: Option<String>,
    pub carry_from: Option<PathBuf>,
    /// Samples kept per test.
    pub keep: usize,
    /// Unix seconds recorded for the run.
    pub recorded_at: i64,
    /// Record the import index of this commit, replacing any stored one.
    pub import_index: Option<IndexAt>,
}

/// Where to read the import index from: a repository and one of its commits (full id).
#[derive(Debug, Clone)]
pub struct IndexAt {
    pub root: PathBuf,
    pub commit: String,
}

/// A report entry stored under a guessed or ambiguous id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    pub report: PathBuf,
    pub line: usize,
    /// `classname` and `name` as the report wrote them.
    pub entry: String,
    pub stored_as: String,
    /// Other known ids that matched equally well (empty for a guess).
    pub candidates: Vec<String>,
}

/// What an ingest did, for the summary on stderr.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub run_id: Option<i64>,
    pub tests: usize,
    pub failed: usize,
    pub skipped: usize,
    /// JUnit cases that matched no known id.
    pub guessed: Vec<Unmapped>,
    /// JUnit cases that matched several known ids.
    pub ambiguous: Vec<Unmapped>,
    /// Tests in the reports that the coverage contexts do not know (ran no measured line, or
    /// the data file is from another run).
    pub not_in_contexts: usize,
    pub known_ids: usize,
    pub carried: Carried,
    pub pruned: u64,
    /// Python files whose imports were recorded, when an import index was.
    pub indexed_files: Option<usize>,
    /// What the user should know although nothing failed.
    pub warnings: Vec<String>,
    /// The suite stored for selection (`None` until the transaction ran).
    pub suite: Option<crate::history::suite::Stored>,
    /// The stored run these reports already are, when they were ingested before (nothing
    /// was added).
    pub already_stored: Option<i64>,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        let err = Error::input(path, "cannot read the report").caused_by(e);
        if missing {
            err.with_hint("check the path; glob patterns are accepted (quote them so the shell does not expand them)")
        } else {
            err
        }
    })
}

/// Run an ingest. Nothing is written unless everything succeeds.
///
/// The import index is read from git while the data file and the reports are: on a large
/// repository git spends seconds inflating every Python file's blob.
pub fn ingest(req: &Request, progress: &dyn Progress) -> Result<Summary> {
    std::thread::scope(|scope| {
        let index = req.import_index.as_ref().map(|at| {
            // Caught here: a panic left in an unjoined thread (ingest failing early) would
            // turn that ordinary error into a panic of the scope.
            scope.spawn(move || {
                std::panic::catch_unwind(|| crate::python::index::build(&at.root, &at.commit))
                    .unwrap_or_else(|_| Err(index_failed()))
            })
        });
        ingest_with(req, progress, index)
    })
}

fn index_failed() -> crate::Error {
    crate::Error::other("reading the import index failed")
}

type IndexBuild<'s> = std::thread::ScopedJoinHandle<'s, Result<crate::python::index::ImportIndex>>;

fn ingest_with(
    req: &Request,
    progress: &dyn Progress,
    index: Option<IndexBuild<'_>>,
) -> Result<Summary> {
    let conn = store::open_write(&req.db)?;
    let db = CoverageDb::from_connection(conn, &req.db)?;
    let contexts = crate::history::suite::ContextTests::read(&db)?;
    let known: BTreeSet<String> = contexts.names.iter().cloned().collect();
    let mut summary = Summary {
        known_ids: known.len(),
        ..Summary::default()
    };

    let reports = read_reports(&req.reports, &known, progress)?;
    summary.guessed = reports.guessed;
    summary.ambiguous = reports.ambiguous;
    let (merged, sources) = (reports.samples, reports.sources);

    let old = match &req.carry_from {
        Some(old) => {
            if same_file(old, &req.db) {
                summary.warnings.push(format!(
                    "--carry-history-from {} is the data file itself; nothing to carry",
                    old.display()
                ));
                None
            } else {
                Some(crate::history::open_read(old)?)
            }
        }
        None => None,
    };

    for p in &merged {
        summary.tests += 1;
        if p.sample.outcome.is_failure() {
            summary.failed += 1;
        }
        if p.sample.outcome == crate::history::Outcome::Skipped {
            summary.skipped += 1;
        }
        if !known.contains(&p.sample.node_id) {
            summary.not_in_contexts += 1;
        }
    }

    let import_index = match index.map(|h| h.join().unwrap_or_else(|_| Err(index_failed()))) {
        Some(Ok(index)) => Some(index),
        // The index only saves selection time: without it selection reads the files.
        Some(Err(e)) => {
            summary
                .warnings
                .push(format!("no import index recorded: {e}"));
            None
        }
        None => None,
    };
    let conn = db.connection();
    let sql_err = |e| sqlite_error(&req.db, e);
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(sql_err)?;
    store::migrate(&tx)?;
    if let Some(old) = &old {
        summary.carried = store::carry_over(&tx, old)?;
    }
    let mut test_ids = Vec::new();
    if !req.reports.is_empty() {
        let source = sources
            .iter()
            .map(|(k, n)| format!("{}:{n}", k.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let run = RunInfo {
            commit: req.commit.clone(),
            recorded_at: req.recorded_at,
            source,
            label: req.label.clone(),
        };
        if let Some(id) = store::same_run(&tx, &run, &merged)? {
            summary.already_stored = Some(id);
        } else {
            progress.start("storing samples", merged.len() as u64);
            let inserted = store::insert_run(&tx, &run, &merged, progress)?;
            progress.finish();
            summary.run_id = Some(inserted.run_id);
            test_ids = inserted.test_ids;
        }
    }
    // A run already stored brought its commit's import index with it.
    if let Some(index) = import_index
        .as_ref()
        .filter(|_| summary.already_stored.is_none())
    {
        crate::python::index::store(&tx, index)?;
        summary.indexed_files = Some(index.files.len());
    }
    summary.pruned = if summary.carried.runs > 0 {
        store::prune(&tx, req.keep)?
    } else {
        store::prune_tests(&tx, req.keep, &test_ids)?
    };
    summary.suite = Some(crate::history::suite::store_suite(&tx, &contexts)?);
    tx.commit().map_err(sql_err)?;
    Ok(summary)
}

/// One run's reports, read, mapped to node ids and merged (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct RunReports {
    pub samples: Vec<Placed>,
    /// How many report files of each kind.
    pub sources: BTreeMap<ReportKind, usize>,
    /// JUnit cases that matched no known id.
    pub guessed: Vec<Unmapped>,
    /// JUnit cases that matched several known ids.
    pub ambiguous: Vec<Unmapped>,
}

/// Read and merge the reports of one run; JUnit cases are mapped against `known` (the node
/// ids of the data file's contexts). Reads only: nothing is written.
pub fn read_reports(
    reports: &[(ReportKind, PathBuf)],
    known: &BTreeSet<String>,
    progress: &dyn Progress,
) -> Result<RunReports> {
    let index = junit::Index::new(known);
    let total_bytes: u64 = reports
        .iter()
        .map(|(_, p)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    progress.start("reading reports", total_bytes);
    let mut bytes_read = 0;
    let mut out = RunReports::default();
    let mut position: HashMap<String, usize> = HashMap::new();
    for (part, (kind, path)) in reports.iter().enumerate() {
        let bytes = read(path)?;
        *out.sources.entry(*kind).or_default() += 1;
        let samples = match kind {
            ReportKind::Junit => junit_samples(path, &bytes, &index, &mut out)?,
            ReportKind::Durations => pytest_split::parse(path, &bytes)?,
            ReportKind::Reportlog => reportlog::parse(path, &bytes)?,
        };
        for (seq, sample) in samples.into_iter().enumerate() {
            merge(
                &mut out.samples,
                &mut position,
                Placed {
                    sample,
                    part: part as i64,
                    seq: seq as i64,
                },
            );
        }
        bytes_read += bytes.len() as u64;
        progress.advance(bytes_read);
    }
    progress.finish();
    Ok(out)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn junit_samples(
    path: &Path,
    bytes: &[u8],
    index: &junit::Index,
    run: &mut RunReports,
) -> Result<Vec<Sample>> {
    let report = junit::parse(path, bytes)?;
    if !junit::looks_like_pytest(&report, index) {
        let first = &report.cases[0];
        return Err(Error::input(
            path,
            format!(
                "this JUnit report does not come from pytest (suite `{}`, first test `{}` / `{}`): covshard maps pytest's dotted classnames to node ids, which this report does not have",
                report.suite_names.first().map(String::as_str).unwrap_or(""),
                first.classname,
                first.name
            ),
        )
        .with_hint("pass the report written by `pytest --junitxml=FILE`; reports from Maven surefire, jest-junit and other tools cannot be matched to pytest tests"));
    }
    let mut out = Vec::with_capacity(report.cases.len());
    for case in report.cases {
        let mapping = index.map(&case);
        let mapped = matches!(mapping, Mapping::Known(_));
        let unmapped = |stored_as: &str, candidates: Vec<String>| Unmapped {
            report: path.to_path_buf(),
            line: case.line,
            entry: format!("{} / {}", case.classname, case.name),
            stored_as: stored_as.to_string(),
            candidates,
        };
        match &mapping {
            Mapping::Known(_) => {}
            Mapping::Ambiguous(id, candidates) => {
                run.ambiguous.push(unmapped(id, candidates.clone()))
            }
            Mapping::Guess(id) => run.guessed.push(unmapped(id, Vec::new())),
        }
        out.push(Sample {
            node_id: mapping.node_id().to_string(),
            duration: case.time,
            outcome: case.outcome,
            phases: None,
            mapped,
        });
    }
    Ok(out)
}

fn merge(merged: &mut Vec<Placed>, position: &mut HashMap<String, usize>, new: Placed) {
    match position.get(&new.sample.node_id) {
        None => {
            position.insert(new.sample.node_id.clone(), merged.len());
            merged.push(new);
        }
        Some(&i) => {
            let old = &mut merged[i];
            let outcome = old.sample.outcome.worst(new.sample.outcome);
            let mapped = old.sample.mapped || new.sample.mapped;
            let new_wins = match (old.sample.phases.is_some(), new.sample.phases.is_some()) {
                (false, true) => true,
                (true, false) => false,
                _ => new.sample.duration > old.sample.duration,
            };
            if new_wins {
                *old = new;
            }
            old.sample.outcome = outcome;
            old.sample.mapped = mapped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Outcome, Phases};

    fn placed(id: &str, d: f64, o: Outcome, phases: bool) -> Placed {
        Placed {
            sample: Sample {
                node_id: id.into(),
                duration: d,
                outcome: o,
                phases: phases.then(Phases::default),
                mapped: true,
            },
            part: 0,
            seq: 0,
        }
    }

    #[test]
    fn merging_prefers_phase_splits_and_keeps_failures() {
        let mut merged = Vec::new();
        let mut pos = HashMap::new();
        merge(
            &mut merged,
            &mut pos,
            placed("a", 5.0, Outcome::Failed, false),
        );
        merge(
            &mut merged,
            &mut pos,
            placed("a", 1.0, Outcome::Passed, true),
        );
        merge(
            &mut merged,
            &mut pos,
            placed("a", 9.0, Outcome::Passed, false),
        );
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].sample.duration, 1.0);
        assert_eq!(merged[0].sample.outcome, Outcome::Failed);
    }
}
