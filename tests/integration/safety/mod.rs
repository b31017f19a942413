//! The safety test of `covshard select`: real edits to a real project, judged by real pytest.
//!
//! Why it exists: a test that covshard fails to select is a bug that reaches main, and unit
//! tests of the selection rules only check the cases their authors thought of. Here the oracle
//! is pytest itself. Each fixture project ([`PROJECTS`]: the shop project of
//! `tests/fixtures/project`, table in [`shop`], and the constructs project of
//! `tests/fixtures/constructs`, table in [`constructs`]) is copied into a temporary git
//! repository, its base coverage is recorded ONCE with the pinned pytest + pytest-cov
//! (`--cov=PKG --cov-context=test`, as `generate.sh` does), and then, for each edit in its
//! table, starting from a clean checkout of the base every time:
//!
//! 1. the edit is applied to the working tree (text replacements, new, deleted and renamed
//!    files; nothing is committed, so covshard diffs the base commit against the working tree);
//! 2. the whole suite runs for real (`pytest --report-log`), which says which tests FAIL or
//!    ERROR (in setup, call or teardown) and which test files no longer collect;
//! 3. `covshard select --db BASE --base COMMIT --format json` runs in the repository;
//! 4. every failing test must be selected: `run_all`, or its exact node id in `tests`
//!    (parametrized ids must match exactly), or a path in `tests` that is its file or a
//!    directory above it. A file that no longer collects must be selected by path (or all of
//!    its base tests by id).
//!
//! Each edit also declares its reach, which sets the precision asked of covshard:
//! - `Local` (function bodies, lines added inside functions, test files, a nested conftest,
//!   comments and docstrings inside functions): the selection must be a strict subset of the
//!   suite, and the mean selection ratio of these edits is bounded, so a regression to "select
//!   everything" fails.
//! - `Module`: import-time or memoised code (DESIGN.md rules 2 and 3 send it to every test that
//!   depends on the module): any selection that holds the failing tests is fine. Comments and
//!   docstrings at module level are here too: covshard documents them as import-time
//!   (`src/python/syntax.rs`), a safe over-approximation.
//! - `Global`: the root conftest, data files no configuration maps, and test-side code that
//!   changes the package's state at import time (it runs during collection, before any test,
//!   so every test sees it): the whole suite is the correct answer.
//!
//! Four tests share one run of the tables: the table is meaningful (each breaking edit breaks
//! at least one test, each harmless one none), safety (no failing test is missed) and
//! precision (local edits), and the import index changing nothing. The safety test prints a table, one line per edit, and the mean
//! selection ratios (`cargo test --test integration safety -- --nocapture` shows it when it
//! passes); every miss is reported with the failing tests, covshard's selection, its reasons
//! and its changed files.
//!
//! Needs `COVSHARD_PYTHON` (the venv with `tests/requirements.txt`); without it the tests
//! return early with a note, except in CI where that is a failure.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::Value;

use crate::util;

mod constructs;
mod names;
mod shop;

/// A fixture project and its table of edits.
struct Project {
    /// Its folder under `tests/fixtures`.
    fixture: &'static str,
    /// The package coverage measures (`--cov=PKG`).
    package: &'static str,
    edits: fn() -> Vec<Edit>,
    /// The base run must collect at least this many tests.
    min_tests: usize,
    /// The table must hold at least this many edits.
    min_edits: usize,
    /// The mean selection ratio of the local edits must stay below this: a selector that
    /// answers "everything" for a few kinds of local edit doubles it; one that falls back to
    /// the whole suite lands near 1.0.
    max_mean_local_ratio: f64,
}

const PROJECTS: &[Project] = &[
    // Measured when the table was written: 0.17 over 24 local edits.
    Project {
        fixture: "project",
        package: "shop",
        edits: shop::edits,
        min_tests: 60,
        min_edits: 30,
        max_mean_local_ratio: 0.35,
    },
    // Measured when the table was written: 0.03 over 33 local edits.
    Project {
        fixture: "constructs",
        package: "kit",
        edits: constructs::edits,
        min_tests: 45,
        min_edits: 60,
        max_mean_local_ratio: 0.35,
    },
    // Every test imports `geo`, whose `__init__.py` imports every module: only following names
    // keeps import-time edits local. Measured when the table was written: see the report.
    Project {
        fixture: "names",
        package: "geo",
        edits: names::edits,
        min_tests: 25,
        min_edits: 25,
        max_mean_local_ratio: 0.35,
    },
];

/// How far an edit may reach, which decides what precision is asked of the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// Code that only some tests run: the selection must be a strict subset of the suite.
    Local,
    /// Import-time or memoised code (DESIGN.md rules 2 and 3 send it to every test that
    /// depends on the module), or a module-level comment covshard counts as such: any
    /// selection that holds the failing tests is fine, the whole suite too.
    Module,
    /// The root conftest, unmapped data files, test-side code that changes shared state at
    /// import time: the whole suite is the correct answer.
    Global,
}

/// What an edit is expected to do to the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// At least one test fails or errors (or a test file stops collecting).
    Breaks,
    /// Nothing fails: comments, docstrings.
    Harmless,
}

struct Edit {
    name: &'static str,
    reach: Reach,
    effect: Effect,
    apply: fn(&Tree),
    /// When set, the selection may hold nothing but these node ids and paths (and tests under
    /// them): the precision a rule promises for this edit.
    at_most: Option<&'static [&'static str]>,
}

/// A local edit that breaks nothing and must select at most `at_most`.
fn harmless(name: &'static str, at_most: &'static [&'static str], apply: fn(&Tree)) -> Edit {
    Edit {
        name,
        reach: Reach::Local,
        effect: Effect::Harmless,
        apply,
        at_most: Some(at_most),
    }
}

/// The working tree an edit is applied to.
struct Tree<'a> {
    root: &'a Path,
}

impl Tree<'_> {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    /// Replace the one occurrence of `from` in `rel` with `to`.
    fn replace(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        let count = text.matches(from).count();
        assert_eq!(
            count, 1,
            "edit table out of date: {from:?} occurs {count} times in {rel}"
        );
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// Insert `text` just before the one occurrence of `anchor` in `rel`.
    fn insert_before(&self, rel: &str, anchor: &str, text: &str) {
        self.replace(rel, anchor, &format!("{text}{anchor}"));
    }

    /// Insert `text` just after the one occurrence of `anchor` in `rel`.
    fn insert_after(&self, rel: &str, anchor: &str, text: &str) {
        self.replace(rel, anchor, &format!("{anchor}{text}"));
    }

    /// Delete the one occurrence of `text` in `rel`.
    fn delete(&self, rel: &str, text: &str) {
        self.replace(rel, text, "");
    }

    fn append(&self, rel: &str, text: &str) {
        let mut old = self.read(rel);
        old.push_str(text);
        self.write(rel, &old);
    }

    /// `git mv`, as a developer renaming a module would.
    fn git_mv(&self, from: &str, to: &str) {
        util::git(self.root, &["mv", from, to]);
    }
}

/// What one pytest run said.
#[derive(Debug, Default)]
struct Outcome {
    /// Every test that reported (setup at least): the suite as this run collected it.
    tests: BTreeSet<String>,
    /// Tests that failed or errored in any phase.
    failed: BTreeSet<String>,
    /// Collectors (test files) that failed to collect.
    uncollected: BTreeSet<String>,
    /// The directory of a conftest that no longer imports: pytest stops before running
    /// anything (exit code 4), and every test below it fails.
    broken_conftest: Option<String>,
}

/// Run the suite; with `coverage`, record it (`--cov=PACKAGE`) into that data file.
fn pytest(python: &Path, repo: &Path, log: &Path, coverage: Option<(&Path, &str)>) -> Outcome {
    let mut cmd = Command::new(python);
    cmd.current_dir(repo)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0")
        .env_remove("PYTEST_ADDOPTS")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg("--continue-on-collection-errors")
        .arg(format!("--report-log={}", log.display()));
    match coverage {
        Some((data, package)) => {
            cmd.env("COVERAGE_FILE", data)
                .arg(format!("--cov={package}"))
                .args(["--cov-report=", "--cov-context=test"]);
        }
        None => {
            cmd.env_remove("COVERAGE_FILE");
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run pytest: {e}"));
    // 0: all passed, 1: some failed, 4 with a conftest that no longer imports: nothing runs.
    // Anything else (interrupted, another usage error, no tests) means the run says nothing
    // reliable about which tests fail.
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if code == Some(4)
        && let Some(rest) = stderr.split("ImportError while loading conftest '").nth(1)
        && let Some(conftest) = rest.split('\'').next()
    {
        let real = repo.canonicalize().expect("the repository exists");
        let conftest = Path::new(conftest)
            .strip_prefix(repo)
            .or_else(|_| Path::new(conftest).strip_prefix(&real))
            .expect("the conftest lies in the repository");
        let dir = conftest.parent().unwrap_or(Path::new(""));
        return Outcome {
            broken_conftest: Some(dir.to_string_lossy().into_owned()),
            ..Outcome::default()
        };
    }
    assert!(
        matches!(code, Some(0 | 1)),
        "pytest in {repo:?} exited with {code:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(log).expect("pytest wrote its report log");
    let mut outcome = Outcome::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line).expect("report log is JSON lines");
        let nodeid = record["nodeid"].as_str().unwrap_or_default().to_string();
        let failed = record["outcome"] == "failed";
        match record["$report_type"].as_str() {
            Some("TestReport") => {
                if failed {
                    outcome.failed.insert(nodeid.clone());
                }
                outcome.tests.insert(nodeid);
            }
            Some("CollectReport") if failed => {
                outcome.uncollected.insert(nodeid);
            }
            _ => {}
        }
    }
    assert_eq!(
        code == Some(1),
        !outcome.failed.is_empty() || !outcome.uncollected.is_empty(),
        "pytest's exit code and its report log disagree in {repo:?}"
    );
    outcome
}

/// covshard's answer, as `select --format json` prints it.
struct Selected {
    run_all: bool,
    ids: Vec<String>,
    json: Value,
}

impl Selected {
    fn covers_file(&self, file: &str) -> bool {
        self.ids
            .iter()
            .any(|id| !id.contains("::") && path_holds(id, file))
    }

    fn holds(&self, node_id: &str) -> bool {
        self.run_all
            || self.ids.iter().any(|id| id == node_id)
            || self.covers_file(file_of(node_id))
    }
}

fn file_of(node_id: &str) -> &str {
    node_id.split("::").next().unwrap_or(node_id)
}

/// Whether a selected path (a file or a directory) holds `file`.
fn path_holds(path: &str, file: &str) -> bool {
    let dir = path.trim_end_matches('/');
    matches!(dir, "" | ".") || file == dir || file.starts_with(&format!("{dir}/"))
}

fn select(repo: &Path, db: &Path, base: &str) -> Selected {
    let stdout = util::run_ok(
        util::covshard()
            .current_dir(repo)
            .arg("select")
            .arg("--db")
            .arg(db)
            .args(["--base", base, "--format", "json"]),
    );
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("select --format json printed no JSON ({e}):\n{stdout}"));
    let run_all = json["run_all"].as_bool().expect("`run_all` is a boolean");
    let ids = json["tests"]
        .as_array()
        .expect("`tests` is an array")
        .iter()
        .map(|v| v.as_str().expect("test ids are strings").to_string())
        .collect();
    Selected { run_all, ids, json }
}

/// The result of one edit.
struct Verdict {
    index: usize,
    failed: usize,
    suite: usize,
    selected: usize,
    run_all: bool,
    /// Failing tests covshard did not select, with its explanation: the safety property.
    missed: Option<String>,
    /// A local edit that selected the whole suite: the precision property.
    too_wide: Option<String>,
    /// The edit did not do what the table says (breaks nothing, or breaks a harmless edit).
    table_error: Option<String>,
    /// Selection with the import index differed from selection without it.
    index_differs: Option<String>,
}

/// Where one edit runs: a checkout of the base commit and the shared base data.
struct Setup {
    python: PathBuf,
    scratch: PathBuf,
    db: PathBuf,
    /// The same data, with history and the import index `covshard ingest` records.
    indexed_db: PathBuf,
    base: String,
    base_tests: BTreeSet<String>,
}

/// Apply one edit to a clean checkout of the base, run pytest and covshard, judge.
fn check_edit(index: usize, edit: &Edit, repo: &Path, setup: &Setup) -> Verdict {
    util::git(repo, &["reset", "-q", "--hard", &setup.base]);
    util::git(repo, &["clean", "-fdq"]);
    assert!(
        util::git(repo, &["status", "--porcelain"]).is_empty(),
        "the checkout is not clean before edit `{}`",
        edit.name
    );
    (edit.apply)(&Tree { root: repo });
    let log = setup.scratch.join(format!("edit-{index}.jsonl"));
    let mut outcome = pytest(&setup.python, repo, &log, None);
    if let Some(dir) = &outcome.broken_conftest {
        let below: BTreeSet<String> = setup
            .base_tests
            .iter()
            .filter(|t| path_holds(dir, file_of(t)))
            .cloned()
            .collect();
        outcome.failed = below.clone();
        outcome.tests = setup.base_tests.clone();
    }
    let selected = select(repo, &setup.db, &setup.base);
    // The import index saves reading the tree; it must not change a single answer.
    let indexed = select(repo, &setup.indexed_db, &setup.base);
    let index_differs = (indexed.json != selected.json).then(|| {
        format!(
            "the import index changed the selection:\n    without: {}\n    with: {}",
            serde_json::to_string(&selected.json).unwrap(),
            serde_json::to_string(&indexed.json).unwrap()
        )
    });

    let mut missed: Vec<String> = outcome
        .failed
        .iter()
        .filter(|t| !selected.holds(t))
        .cloned()
        .collect();
    for file in &outcome.uncollected {
        let base_in_file: Vec<&String> = setup
            .base_tests
            .iter()
            .filter(|t| file_of(t) == file)
            .collect();
        let by_ids = !base_in_file.is_empty() && base_in_file.iter().all(|t| selected.holds(t));
        if !(selected.run_all || selected.covers_file(file) || by_ids) {
            missed.push(format!("{file} (no longer collects)"));
        }
    }
    let missed = (!missed.is_empty()).then(|| {
        format!(
            "MISSED {} failing test(s):\n      {}\n    run_all: {}\n    selected: {}\n    changed_files: {}\n    reasons: {}",
            missed.len(),
            missed.join("\n      "),
            selected.run_all,
            serde_json::to_string(&selected.ids).unwrap(),
            selected.json["changed_files"],
            serde_json::to_string_pretty(&selected.json["reasons"]).unwrap(),
        )
    });

    let broke = !outcome.failed.is_empty() || !outcome.uncollected.is_empty();
    let table_error = match edit.effect {
        Effect::Breaks if !broke => {
            Some("meant to break a test, but the suite passes: fix the table".to_string())
        }
        Effect::Harmless if broke => Some(format!(
            "meant to be harmless, but these fail: {:?} {:?}",
            outcome.failed, outcome.uncollected
        )),
        _ => None,
    };

    // The suite of this edit: what ran, plus the base tests of files that no longer collect.
    let mut suite = outcome.tests.clone();
    suite.extend(
        setup
            .base_tests
            .iter()
            .filter(|t| outcome.uncollected.contains(file_of(t)))
            .cloned(),
    );
    let count = suite.iter().filter(|t| selected.holds(t)).count();
    let beyond: Vec<&String> = match edit.at_most {
        Some(allowed) => selected
            .ids
            .iter()
            .filter(|id| {
                !allowed
                    .iter()
                    .any(|a| *a == id.as_str() || path_holds(a, file_of(id)) && !a.contains("::"))
            })
            .collect(),
        None => Vec::new(),
    };
    let too_wide = if !beyond.is_empty() || (edit.at_most.is_some() && selected.run_all) {
        Some(format!(
            "selected more than the edit allows ({:?}): run_all {}, beyond: {beyond:?}\n    reasons: {}",
            edit.at_most.unwrap_or_default(),
            selected.run_all,
            serde_json::to_string_pretty(&selected.json["reasons"]).unwrap(),
        ))
    } else {
        (edit.reach == Reach::Local && (selected.run_all || count >= suite.len())).then(|| {
            format!(
                "a local edit selected the whole suite ({count} of {}, run_all: {})\n    changed_files: {}\n    run_all_reasons: {}",
                suite.len(),
                selected.run_all,
                selected.json["changed_files"],
                selected.json["run_all_reasons"],
            )
        })
    };
    Verdict {
        index,
        failed: outcome.failed.len() + outcome.uncollected.len(),
        suite: suite.len(),
        selected: count,
        run_all: selected.run_all,
        missed,
        too_wide,
        table_error,
        index_differs,
    }
}

/// Everything the tests below assert on, computed once per test run.
struct Results {
    project: &'static Project,
    table: Vec<Edit>,
    verdicts: Vec<Verdict>,
    mean_local_ratio: f64,
    /// One line per edit and the mean ratios, for people.
    report: String,
}

impl Results {
    /// The problems of one kind, one paragraph per edit; empty when there are none.
    fn problems(&self, which: impl Fn(&Verdict) -> &Option<String>) -> String {
        let mut out = String::new();
        for v in &self.verdicts {
            if let Some(problem) = which(v) {
                let _ = writeln!(
                    out,
                    "{} edit {} `{}`:\n  - {problem}",
                    self.project.fixture,
                    v.index + 1,
                    self.table[v.index].name
                );
            }
        }
        out
    }
}

/// The problems of one kind over every project's table.
fn all_problems(results: &[Results], which: impl Fn(&Verdict) -> &Option<String>) -> String {
    results.iter().map(|r| r.problems(&which)).collect()
}

/// Build each project's base once, run its whole table. `None` without Python.
fn results() -> Option<&'static [Results]> {
    static RESULTS: OnceLock<Option<Vec<Results>>> = OnceLock::new();
    RESULTS
        .get_or_init(|| {
            let python = util::python()?;
            Some(PROJECTS.iter().map(|p| run_table(&python, p)).collect())
        })
        .as_deref()
}

fn run_table(python: &Path, project: &'static Project) -> Results {
    let started = Instant::now();
    // Kept for the whole test run: the tests share the results, not the directories.
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();

    // The base: the fixture project as its own repository, committed.
    let repo = tmp.path().join("project");
    util::copy_tree(&util::fixtures().join(project.fixture), &repo);
    std::fs::write(repo.join(".gitignore"), "__pycache__/\n.coverage\n").unwrap();
    util::git(&repo, &["init", "-q", "-b", "main"]);
    util::git(&repo, &["add", "-A"]);
    util::git(&repo, &["commit", "-q", "-m", "base"]);
    let base = util::git(&repo, &["rev-parse", "HEAD"]).trim().to_string();

    // Base coverage, recorded once, outside the repository.
    let db = tmp.path().join("base.coverage");
    let base_run = pytest(
        python,
        &repo,
        &scratch.join("base.jsonl"),
        Some((&db, project.package)),
    );
    assert!(
        base_run.failed.is_empty() && base_run.uncollected.is_empty(),
        "the {} suite must pass at the base: {:?} {:?}",
        project.fixture,
        base_run.failed,
        base_run.uncollected
    );
    assert!(
        base_run.tests.len() >= project.min_tests,
        "too few tests at the base of {}: {:?}",
        project.fixture,
        base_run.tests
    );
    assert!(
        util::git(&repo, &["status", "--porcelain"]).is_empty(),
        "the base run left files that git sees"
    );
    // Both data files get the base run's history, as `covshard ingest` stores it in CI; only
    // one gets the import index.
    let indexed_db = tmp.path().join("indexed.coverage");
    std::fs::copy(&db, &indexed_db).unwrap();
    for (file, flags) in [(&db, &["--no-import-index"][..]), (&indexed_db, &[][..])] {
        util::run_ok(
            util::covshard()
                .current_dir(&repo)
                .arg("ingest")
                .arg("--db")
                .arg(file)
                .arg("--reportlog")
                .arg(scratch.join("base.jsonl"))
                .args(flags),
        );
    }
    let indexed_files: i64 = rusqlite::Connection::open(&indexed_db)
        .unwrap()
        .query_row("SELECT count(*) FROM covshard_import", [], |r| r.get(0))
        .unwrap();
    let python_files = util::git(&repo, &["ls-files", "*.py"]).lines().count();
    assert_eq!(
        indexed_files as usize, python_files,
        "ingest recorded the imports of every Python file"
    );
    let setup = Setup {
        python: python.to_path_buf(),
        scratch,
        db,
        indexed_db,
        base,
        base_tests: base_run.tests,
    };

    // More checkouts of the same commit, so edits run side by side: a pytest run of the shop
    // project spends about half of its wall time asleep (the fixture's `time.sleep`s), so two
    // runs per core keep each table well under a minute.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2)) * 2;
    let mut checkouts = vec![repo.clone()];
    for k in 1..workers {
        let clone = tmp.path().join(format!("project-{k}"));
        util::run_ok(
            Command::new("git")
                .args(["clone", "-q"])
                .arg(&repo)
                .arg(&clone),
        );
        checkouts.push(clone);
    }

    let table = (project.edits)();
    let next = AtomicUsize::new(0);
    let verdicts = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for checkout in &checkouts {
            let (table, next, verdicts, setup) = (&table, &next, &verdicts, &setup);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(edit) = table.get(index) else { break };
                    let verdict = check_edit(index, edit, checkout, setup);
                    verdicts.lock().unwrap().push(verdict);
                }
            });
        }
    });
    let mut verdicts = verdicts.into_inner().unwrap();
    verdicts.sort_by_key(|v| v.index);
    assert_eq!(verdicts.len(), table.len(), "a worker stopped early");

    // The report: one line per edit, then the means.
    let mut report = format!(
        "covshard safety table of {} (failing tests vs selection):\n",
        project.fixture
    );
    let mut local_ratios = Vec::new();
    let mut all_ratios = Vec::new();
    for v in &verdicts {
        let edit = &table[v.index];
        let ratio = v.selected as f64 / v.suite as f64;
        all_ratios.push(ratio);
        if edit.reach == Reach::Local {
            local_ratios.push(ratio);
        }
        let status = match (&v.missed, &v.too_wide, &v.table_error) {
            (Some(_), _, _) => "MISS",
            (_, Some(_), _) => "WIDE",
            (_, _, Some(_)) => "TABLE",
            _ => "ok",
        };
        let _ = writeln!(
            report,
            "{:>2} {status:<5} {:<6} failing {:>2}  selected {:>2}/{:<2} ({:>3.0}%){}  {}",
            v.index + 1,
            format!("{:?}", edit.reach),
            v.failed,
            v.selected,
            v.suite,
            ratio * 100.0,
            if v.run_all { " run_all" } else { "        " },
            edit.name
        );
    }
    let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
    let mean_local_ratio = mean(&local_ratios);
    let _ = writeln!(
        report,
        "mean selection ratio: {mean_local_ratio:.3} over {} local edits, {:.3} over all {} edits; {} checkouts, {:.1} s",
        local_ratios.len(),
        mean(&all_ratios),
        all_ratios.len(),
        workers,
        started.elapsed().as_secs_f64()
    );
    Results {
        project,
        table,
        verdicts,
        mean_local_ratio,
        report,
    }
}

/// The tables themselves must be meaningful: enough edits, each doing what it says.
#[test]
fn safety_edits_do_what_the_table_says() {
    for project in PROJECTS {
        let count = (project.edits)().len();
        assert!(
            count >= project.min_edits,
            "the {} safety table needs at least {} edits, has {count}",
            project.fixture,
            project.min_edits
        );
    }
    let Some(results) = results() else { return };
    let problems = all_problems(results, |v| &v.table_error);
    assert!(
        problems.is_empty(),
        "the edit table is out of date:\n{problems}"
    );
}

/// The import index recorded by `ingest` gives the same selection, byte for byte, as reading
/// the whole tree: on every edit of the tables (renames, deletions, new files, conftests).
#[test]
fn safety_the_import_index_changes_no_selection() {
    let Some(results) = results() else { return };
    let problems = all_problems(results, |v| &v.index_differs);
    assert!(problems.is_empty(), "{problems}");
}

/// Safety: every test that fails after an edit is selected by covshard.
#[test]
fn safety_every_failing_test_is_selected() {
    let Some(results) = results() else { return };
    // Shown when this test fails, or always with `-- --nocapture`.
    for r in results {
        eprintln!("{}", r.report);
    }
    let problems = all_problems(results, |v| &v.missed);
    assert!(
        problems.is_empty(),
        "covshard missed failing tests:\n{problems}"
    );
}

/// Precision: local edits select a strict subset of the suite, and few tests on average.
#[test]
fn safety_local_edits_select_a_strict_subset() {
    let Some(results) = results() else { return };
    let problems = all_problems(results, |v| &v.too_wide);
    assert!(
        problems.is_empty(),
        "local edits selected the whole suite:\n{problems}"
    );
    for r in results {
        assert!(
            r.mean_local_ratio < r.project.max_mean_local_ratio,
            "local edits of {} select {:.0}% of the suite on average (bound {:.0}%): selection has become too coarse\n{}",
            r.project.fixture,
            r.mean_local_ratio * 100.0,
            r.project.max_mean_local_ratio * 100.0,
            r.report
        );
    }
}
