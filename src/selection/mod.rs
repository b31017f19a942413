//! Selection: from the changed files and the base coverage data to every test the change can
//! affect, each with its reasons (DESIGN.md, "Selection: safe first, then precise").
//!
//! The rules, applied per changed file, safest reading first:
//! - a changed file that is a test but not Python (a text doctest) runs whole ([`text_tests`]);
//! - ignore patterns select nothing (but never drop measured code or a file that holds tests);
//!   run-all patterns select everything;
//! - a changed `conftest.py` selects every test below its directory; a changed or added test
//!   file selects the whole file (by path, so new tests run);
//! - a measured Python module: a change to import-time code (module level, class bodies,
//!   `def`/`class` lines, decorators, defaults, lines the empty context covers) or to a memoised
//!   function (or one that keeps state between calls) selects every test that depends on the
//!   module: the tests whose contexts ran any line of it, and the test files and conftests that
//!   import it, directly or not. A change in a function body selects the tests that ran that
//!   function (or, with `granularity = "line"`, the changed lines). New-side lines (insertions
//!   and replacements) are charged to the old function they sit in by position in the aligned
//!   sources, not by name, since a getter and its setter share one ([`align`]); without the
//!   base source, every change is treated as import-time. A function the empty context ran (a
//!   decorator, a factory, `__init_subclass__` called while modules are imported), or one that
//!   tests ran while importing the module lazily (inside a test), is import-time code wherever
//!   the change lies in it: later tests rely on that run without covering it. A function that a
//!   memoised function may have called while filling its cache counts as a change to that
//!   memoised function ([`memo`]);
//! - a module-level statement of test-side code (test modules, conftests, test packages,
//!   measured or not) that can change another module's state runs everything: pytest imports
//!   all of them before any test runs;
//! - a deleted or renamed module selects every test that covered it or imports it;
//! - an unmeasured Python file that tests import selects those tests; any other unmeasured file
//!   selects everything unless `[[selection.map]]` maps it;
//! - then never-seen tests from `--collected`, `always_run` patterns and last run's failures.
//!
//! Known limits (documented for users): code loaded dynamically (importlib, entry points,
//! plugins) is only caught by the unmeasured-file rule; state shared between tests through
//! globals is modelled only where a function visibly keeps it (`python::syntax`).

pub mod align;
mod changes;
mod dependents;
pub mod gone;
mod handed_on;
pub mod memo;
mod module_change;
mod names;
mod observers;
mod patterns;
mod read_docs;
pub mod reason;
mod star_list;
mod stubs;
pub mod suite;
mod test_side;
mod text_tests;
pub mod tool_config;
mod tool_files;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::coverage::context::function_context_to_node_id;
use crate::coverage::paths::{self, PathMap};
use crate::coverage::{CoverageDb, FileRows};
use crate::diff::{ChangeKind, FileChange};
use crate::error::Result;
use crate::nodeid;
use crate::python::{self, calls::MemoSites, dependents::Dependents};
use patterns::Patterns;
pub use reason::{Reason, Rule, compact_ranges};
pub use suite::{Suite, SuiteCounts, SuiteScan};

/// What selection needs besides the data file.
pub struct Request<'a> {
    pub db: &'a CoverageDb,
    /// The repository root (absolute).
    pub repo_root: &'a Path,
    /// The resolved base commit, to read old sources; `None` when unknown.
    pub base: Option<String>,
    pub changes: Vec<FileChange>,
    pub config: &'a Config,
    /// Node ids from `pytest --collect-only -q`, when given.
    pub collected: Option<Vec<String>>,
    /// Tests that failed or errored in the last ingested run.
    pub failed_last_run: BTreeSet<String>,
    /// List every known test in [`Selection::known_tests`] (`plan` and `explain` need them);
    /// otherwise they are only counted, and listed under run-all.
    pub list_known: bool,
    /// The files of the working tree (tracked, and untracked but not ignored), when the caller
    /// already listed them; `None` asks git.
    pub tracked: Option<BTreeSet<String>>,
    /// Whether the data file's import index (recorded by `covshard ingest`) is for the base
    /// commit and `changes` come from git against it, so that every file they do not name is
    /// unchanged and its recorded imports hold.
    pub import_index: bool,
    /// covshard's own inputs and outputs (the data file, the collected list, the plan...):
    /// untracked files in the checkout that are not changes to the project. Absolute.
    pub own_files: Vec<std::path::PathBuf>,
}

/// How one changed file was handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangedFile {
    pub path: String,
    pub kind: ChangeKind,
    /// The rule that applied, in words (`"function body"`, `"import-time"`, `"ignored"`).
    pub handling: String,
}

/// The result: the tests to run and why.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run the whole suite.
    pub run_all: bool,
    pub run_all_reasons: Vec<Reason>,
    /// Selected node ids and paths (rootdir-relative, as pytest takes them) -> reasons.
    pub selected: BTreeMap<String, BTreeSet<Reason>>,
    /// Every test covshard knows of (contexts, history, collected list), node ids; listed
    /// only under run-all or when the request asked (`list_known`), else empty.
    pub known_tests: BTreeSet<String>,
    /// How many tests covshard knows of, per file and in all (always filled).
    pub suite: SuiteCounts,
    pub changed_files: Vec<ChangedFile>,
    pub warnings: Vec<String>,
    /// pytest's rootdir relative to the repository root (`""` or `"sub/dir/"`).
    pub rootdir: String,
}

impl Selection {
    /// The whole suite, without selection (`plan --all`, or no data file).
    pub fn whole_suite(known_tests: BTreeSet<String>, reason: Reason) -> Self {
        Selection {
            run_all: true,
            run_all_reasons: vec![reason],
            suite: SuiteCounts::from_names(&known_tests),
            known_tests,
            ..Selection::default()
        }
    }

    /// The ids to hand to pytest, sorted: node ids and paths. Under run-all, every known test
    /// plus any selected path; node ids under a selected path are left to the path.
    pub fn test_ids(&self) -> Vec<String> {
        // Both sides are sorted: merged in bulk, not inserted one by one (50,000 under
        // run-all).
        let mut ids: BTreeSet<String> = if self.run_all {
            let mut merged: Vec<&String> = self.selected.keys().chain(&self.known_tests).collect();
            merged.sort_unstable();
            merged.dedup();
            merged.into_iter().cloned().collect()
        } else {
            self.selected.keys().cloned().collect()
        };
        let paths: BTreeSet<String> = ids
            .iter()
            .filter(|id| !id.contains("::"))
            .cloned()
            .collect();
        if paths.is_empty() {
            return ids.into_iter().collect();
        }
        // A node id or a path under another selected path adds nothing for pytest.
        ids.retain(|id| {
            !covering_paths(nodeid::file_of(id))
                .iter()
                .any(|p| p != id && paths.contains(p))
        });
        ids.into_iter().collect()
    }

    /// How many tests a list of planned or selected ids stands for, in all and by the rule of
    /// each id's first reason (its own, or a path's above it): a node id counts one, a path the
    /// known tests under it, and at least one (a new test file). `select` and `plan` count this
    /// way, so one change reports one number.
    pub fn tally(&self, ids: &[String]) -> Tally {
        let mut tally = Tally::default();
        for id in ids {
            let tests = self.tests_under(id).max(1);
            tally.tests += tests;
            // Its own first reason; an id without any (a test listed under run-all) takes the
            // first of the paths above it.
            let first = match self.selected.get(id).and_then(|r| r.first()) {
                Some(own) => Some(own.clone()),
                None => self
                    .reasons_for(id)
                    .into_iter()
                    .flat_map(|(_, reasons)| reasons)
                    .min(),
            };
            if let Some(first) = first {
                *tally.by_rule.entry(first.rule).or_default() += tests;
            }
        }
        tally
    }

    /// How many known tests an id stands for: 1 for a node id, the known tests under a path.
    pub fn tests_under(&self, id: &str) -> usize {
        if id.contains("::") {
            return 1;
        }
        self.suite.count_under(id)
    }

    /// The reasons for one id (a node id, or a path that holds it).
    pub fn reasons_for(&self, test: &str) -> Vec<(String, Vec<Reason>)> {
        if self.selected.is_empty() {
            return Vec::new();
        }
        // Look up the id itself, the id without its parameters, its file and every directory
        // above it: a handful of lookups instead of a scan of the selection.
        let mut keys: Vec<String> = vec![test.to_string()];
        if nodeid::without_params(test) != test {
            keys.push(nodeid::without_params(test).to_string());
        }
        keys.extend(covering_paths(nodeid::file_of(test)));
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|key| {
                let reasons = self.selected.get(&key)?;
                Some((key, reasons.iter().cloned().collect()))
            })
            .collect()
    }
}

/// What a list of ids stands for (see [`Selection::tally`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tests in all.
    pub tests: usize,
    /// Tests by the rule of their id's first reason.
    pub by_rule: BTreeMap<Rule, usize>,
}

/// The path ids that hold `file`: the file itself, every directory above it (with and
/// without a trailing `/`), and `"."` and `""` for all.
fn covering_paths(file: &str) -> Vec<String> {
    let mut out = vec![file.to_string()];
    let mut dir = file;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        out.push(parent.to_string());
        out.push(format!("{parent}/"));
        dir = parent;
    }
    out.push(".".to_string());
    out.push(String::new());
    out
}

/// The tests of a sorted set that lie under a path id (a file, a directory, or `"."`): a range
/// of the set, not a scan.
pub fn tests_under_path<'a>(
    tests: &'a BTreeSet<String>,
    path: &str,
) -> Box<dyn Iterator<Item = &'a String> + 'a> {
    let dir = path.trim_end_matches('/');
    if path == "." || dir.is_empty() {
        return Box::new(tests.iter());
    }
    let (in_file, in_dir) = (format!("{dir}::"), format!("{dir}/"));
    let file = tests
        .range(in_file.clone()..)
        .take_while(move |t| t.starts_with(&in_file));
    let below = tests
        .range(in_dir.clone()..)
        .take_while(move |t| t.starts_with(&in_dir));
    Box::new(file.chain(below))
}

/// The tests that contexts name, numbered for the engine's sets. A test's name is read from
/// the data file only once it is selected (all in one batch, at the end), so memory follows
/// the change, not the suite.
struct TestIndex {
    /// Context id -> test number (`u32::MAX` for contexts that name no test).
    by_context: Vec<u32>,
    global_context: Option<i64>,
    names: TestNames,
    /// The rootdir that `test_function` contexts' module paths are relative to.
    function_rootdir: String,
}

/// Where a selected test's name is read from.
enum TestNames {
    /// From the contexts: test number -> one of its contexts; how many contexts there are (to
    /// choose point lookups or one scan).
    Contexts {
        representative: Vec<i64>,
        contexts: usize,
    },
    /// From the stored suite whose numbers these are (its per-context map taken out).
    Stored(crate::history::suite::StoredSuite),
}

/// The engine's working state for one request.
struct Engine<'a> {
    req: &'a Request<'a>,
    patterns: Patterns,
    tests: TestIndex,
    /// Repository path -> file id in the data file.
    measured: BTreeMap<String, i64>,
    /// Files (repository paths) that hold known tests.
    test_files: BTreeSet<String>,
    /// Directories that hold known test files.
    test_dirs: BTreeSet<String>,
    /// The working tree's files: borrowed from the request when the caller listed them.
    tracked: Cow<'a, BTreeSet<String>>,
    graph: Option<Dependents<'a>>,
    /// The non-Python files the suite has tests in, read on first use ([`text_tests`]).
    text_tests: Option<Vec<(String, Vec<u8>)>>,
    /// The test-side files that spawn processes or read lines ([`observers`]), read on first use.
    observers: Option<Vec<observers::Observer>>,
    /// pytest's configuration text, lowercase, read on first use.
    pytest_config: Option<String>,
    /// The memoised functions of every measured file, found once when a body change needs them.
    memo_sites: Option<MemoSites>,
    /// What the whole project's code tells, read once when a rule needs it.
    project: Option<python::calls::ProjectFacts>,
    /// The names rule's caches.
    names: names::NamesState,
    /// The base versions of the changed Python files, read in one git call.
    old_sources: BTreeMap<String, Vec<u8>>,
    /// The coverage rows of the changed measured files, by file id, read ahead.
    rows: BTreeMap<i64, FileRows>,
    /// Ids of the collected list that no context and no history sample names.
    unseen_collected: Vec<String>,
    /// Tests selected by their contexts, by number: named once, at the end, in one batch.
    hits: BTreeMap<usize, BTreeSet<Reason>>,
    out: Selection,
}

/// Run selection. `suite`: the stored suite, or the pass over the data file's contexts with
/// the history's tests merged in, when the caller read it already (beside git); `None` reads
/// it here.
pub fn select(req: &Request<'_>, suite: Option<Suite>) -> Result<Selection> {
    let mut engine = Engine::new(req, suite)?;
    for change in &req.changes {
        engine.apply(change)?;
    }
    engine.finish()?;
    Ok(engine.out)
}

impl<'a> Engine<'a> {
    fn new(req: &'a Request<'a>, suite: Option<Suite>) -> Result<Self> {
        let old_paths: Vec<String> = req
            .changes
            .iter()
            .filter_map(|c| c.old_path.clone())
            .filter(|p| p.ends_with(".py"))
            .collect();
        let (tracked, path_map) = map_files(req)?;
        // A file recorded under several paths (runners on two systems) is read as one.
        let mut recorded_as: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for file in req.db.files() {
            if let Some(path) = path_map.get(&file.path) {
                recorded_as
                    .entry(path.to_string())
                    .or_default()
                    .push(file.id);
            }
        }
        // A path that could not be mapped may be the twin of a file that did: its rows count for
        // each file it may be that is measured, never for one nothing else measured.
        for file in req.db.files() {
            for path in path_map.may_be(&file.path) {
                if let Some(ids) = recorded_as.get_mut(path) {
                    ids.push(file.id);
                }
            }
        }
        req.db.merge_files(recorded_as.values().cloned());
        let measured: BTreeMap<String, i64> = recorded_as
            .into_iter()
            .map(|(path, ids)| (path, ids[0]))
            .collect();
        let changed_ids: Vec<i64> = req
            .changes
            .iter()
            .filter_map(|c| measured.get(c.old_path.as_ref()?).copied())
            .collect();
        // The base sources (git) and the changed files' coverage rows are read side by side;
        // the rows by two workers, one on a connection of its own, taking files in turn.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let read_rows = |db: &CoverageDb| -> Result<BTreeMap<i64, FileRows>> {
            let mut out = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&id) = changed_ids.get(i) else {
                    return Ok(out);
                };
                out.insert(id, db.line_blobs(id)?);
            }
        };
        let read_rows = &read_rows;
        std::thread::scope(|scope| {
            let (root, base) = (req.repo_root, req.base.as_deref());
            let old_sources = scope.spawn(move || match base {
                Some(base) => crate::git::read_blobs(root, base, &old_paths),
                None => Ok(BTreeMap::new()),
            });
            let second = match changed_ids.len() > 1 {
                true => Some(req.db.reopen()?),
                false => None,
            };
            let helper = scope.spawn(move || match second {
                Some(db) => read_rows(&db),
                None => Ok(BTreeMap::new()),
            });
            let suite = match suite {
                Some(suite) => suite,
                None => Suite::read(req.db, req.collected.as_deref(), req.list_known)?,
            };
            let mut engine = Self::from_data_file(req, suite, path_map, measured, tracked)?;
            engine.rows = read_rows(req.db)?;
            let joined = |what: &str| crate::Error::other(format!("{what} failed"));
            engine.rows.extend(
                helper
                    .join()
                    .map_err(|_| joined("reading coverage rows"))??,
            );
            engine.old_sources = old_sources
                .join()
                .map_err(|_| joined("reading the base sources"))??;
            Ok(engine)
        })
    }

    /// Everything the pass over the contexts and the history tells.
    fn from_data_file(
        req: &'a Request<'a>,
        suite: Suite,
        path_map: PathMap,
        measured: BTreeMap<String, i64>,
        tracked: Cow<'a, BTreeSet<String>>,
    ) -> Result<Self> {
        let config = req.config;
        let patterns = Patterns::new(config)?;
        let mut out = Selection::default();
        if !path_map.unmapped.is_empty() {
            out.warnings.push(format!(
                "{} measured file(s) could not be mapped to the repository (see `covshard info`); their coverage counts for every measured file of the same name, and a file measured under no other path is treated as unmeasured",
                path_map.unmapped.len()
            ));
        }

        let function_rootdir = match &config.paths.rootdir {
            Some(dir) if !dir.trim_matches('/').is_empty() => {
                format!("{}/", dir.trim_matches('/'))
            }
            _ => String::new(),
        };
        let (suite, unseen_collected, names, by_context, global_context, test_names) = match suite {
            Suite::Scanned(scan, _) => {
                let (scan, unresolved) = resolve_functions(*scan, &function_rootdir, &tracked);
                if unresolved > 0 {
                    out.warnings.push(format!(
                        "{unresolved} `test_function` context(s) name no test file of the repository; their tests cannot be selected by coverage"
                    ));
                }
                let (suite, unseen, names) = scan.census.finish();
                let test_names = TestNames::Contexts {
                    representative: scan.representative,
                    contexts: scan.contexts,
                };
                let (by_context, global) = (scan.by_context, scan.global_context);
                (suite, unseen, names, by_context, global, test_names)
            }
            Suite::Stored(mut stored) => {
                let (suite, unseen, names) = suite::stored_census(
                    req.db.connection(),
                    &stored,
                    req.collected.as_deref(),
                    req.list_known,
                )?;
                let (by_context, global) = (
                    std::mem::take(&mut stored.by_context),
                    stored.global_context,
                );
                let test_names = TestNames::Stored(stored);
                (suite, unseen, names, by_context, global, test_names)
            }
        };
        let rootdir = if config.paths.rootdir.is_some() {
            function_rootdir.clone()
        } else {
            infer_rootdir(suite.measured_files(), &tracked)
        };
        let test_files: BTreeSet<String> = suite
            .files()
            .map(|file| format!("{rootdir}{file}"))
            .collect();
        // A package module whose doctests run (`--doctest-modules`) makes its folder one of
        // test code too: pytest imports what lies there while it collects.
        let test_dirs: BTreeSet<String> = test_files
            .iter()
            .map(|f| f.rsplit_once('/').map_or("", |(d, _)| d).to_string())
            .collect();
        out.suite = suite;
        out.known_tests = names.unwrap_or_default();
        out.rootdir = rootdir;
        Ok(Engine {
            old_sources: BTreeMap::new(),
            rows: BTreeMap::new(),
            req,
            patterns,
            tests: TestIndex {
                by_context,
                global_context,
                names: test_names,
                function_rootdir,
            },
            measured,
            test_dirs,
            test_files,
            tracked,
            graph: None,
            text_tests: None,
            observers: None,
            pytest_config: None,
            memo_sites: None,
            project: None,
            names: names::NamesState::default(),
            unseen_collected,
            hits: BTreeMap::new(),
            out,
        })
    }

    /// The names of the given tests, in order, read from the data file: a lookup each, in
    /// context order, for a few; one pass over the context table for many.
    fn test_names(&self, tests: &BTreeSet<usize>) -> Result<Vec<String>> {
        let (representative, contexts) = match &self.tests.names {
            TestNames::Stored(suite) => {
                let numbers: Vec<u32> = tests.iter().map(|&t| t as u32).collect();
                return crate::history::suite::names_of(self.req.db.connection(), suite, &numbers);
            }
            TestNames::Contexts {
                representative,
                contexts,
            } => (representative, *contexts),
        };
        let wanted: BTreeSet<i64> = tests.iter().map(|&t| representative[t]).collect();
        let mut named: Vec<(i64, String)> = Vec::with_capacity(wanted.len());
        if wanted.len() * 8 < contexts {
            for record in self.req.db.context_names(&wanted)? {
                named.push((record.id, record.name));
            }
        } else if !wanted.is_empty() {
            self.req.db.for_each_context(|id, name| {
                if wanted.contains(&id) {
                    named.push((id, name.to_string()));
                }
            })?;
        }
        let mut names: HashMap<usize, String> = HashMap::with_capacity(named.len());
        for (context, name) in named {
            let node_id = crate::coverage::context::node_id_of(&name, |dotted| {
                resolve_function(dotted, &self.tests.function_rootdir, &self.tracked)
            });
            if let (Some(node_id), Some(number)) = (node_id, self.context_test(context)) {
                names.insert(number, node_id.into_owned());
            }
        }
        tests
            .iter()
            .map(|t| {
                names.remove(t).ok_or_else(|| {
                    crate::Error::other(format!(
                        "{}: context {} changed while it was read",
                        self.req.db.path().display(),
                        representative[*t]
                    ))
                })
            })
            .collect()
    }

    /// A repository path as pytest takes it (relative to the rootdir).
    fn to_pytest_path(&self, repo_path: &str) -> String {
        let rel = repo_path
            .strip_prefix(&self.out.rootdir)
            .unwrap_or(repo_path);
        if rel.is_empty() {
            ".".into()
        } else {
            rel.into()
        }
    }

    fn add(&mut self, id: String, reason: Reason) {
        self.out.selected.entry(id).or_default().insert(reason);
    }

    fn run_all(&mut self, reason: Reason) {
        self.out.run_all = true;
        self.out.run_all_reasons.push(reason);
    }

    fn note(&mut self, change: &FileChange, handling: impl Into<String>) {
        self.out.changed_files.push(ChangedFile {
            path: change.path().to_string(),
            kind: change.kind(),
            handling: handling.into(),
        });
    }

    fn is_own_file(&self, repo_path: &str) -> bool {
        let here = self.req.repo_root.join(repo_path);
        let here = here.canonicalize().unwrap_or(here);
        // The caller made them absolute against the working directory.
        self.req
            .own_files
            .iter()
            .any(|own| own.canonicalize().unwrap_or_else(|_| own.clone()) == here)
    }

    fn old_source(&self, path: &str) -> Option<String> {
        self.old_sources
            .get(path)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    /// With a collected list: a test file covshard knows tests of, still in the tree, of which
    /// the list names none, no longer collects. Whatever broke it (an import that fails at
    /// import time, a fixture or parametrization error) fails every one of its tests, so it is
    /// selected by path, and its run shows the error.
    fn select_uncollected(&mut self) {
        let Some(collected) = self.req.collected.as_deref() else {
            return;
        };
        let collected_files: BTreeSet<&str> =
            collected.iter().map(|id| nodeid::file_of(id)).collect();
        let gone: BTreeSet<&str> = self
            .req
            .changes
            .iter()
            .filter(|c| matches!(c.kind(), ChangeKind::Deleted | ChangeKind::Renamed))
            .filter_map(|c| c.old_path.as_deref())
            .collect();
        let uncollected: Vec<String> = self
            .test_files
            .iter()
            .filter(|f| self.tracked.contains(*f) && !gone.contains(f.as_str()))
            .map(|f| self.to_pytest_path(f))
            .filter(|id| !collected_files.contains(id.as_str()))
            .collect();
        for id in uncollected {
            self.add(id, Reason::new(Rule::NoLongerCollects));
        }
    }

    fn finish(&mut self) -> Result<()> {
        let hits = std::mem::take(&mut self.hits);
        let numbers: BTreeSet<usize> = hits.keys().copied().collect();
        for (name, (_, reasons)) in self.test_names(&numbers)?.into_iter().zip(hits) {
            self.out.selected.entry(name).or_default().extend(reasons);
        }
        for id in std::mem::take(&mut self.unseen_collected) {
            self.add(id, Reason::new(Rule::NewTest));
        }
        self.select_uncollected();
        let always_run = !self.patterns.always_run.is_empty();
        if (self.out.run_all || always_run) && !self.req.list_known {
            let (rootdir, tracked) = (&self.tests.function_rootdir, &self.tracked);
            self.out.known_tests =
                suite::list_known(self.req.db, self.req.collected.as_deref(), |dotted| {
                    resolve_function(dotted, rootdir, tracked)
                })?;
        }
        if always_run {
            let always: Vec<String> = self
                .out
                .known_tests
                .iter()
                .filter(|id| self.patterns.always_run.is_match(id.as_str()))
                .cloned()
                .collect();
            for id in always {
                self.add(id, Reason::new(Rule::AlwaysRun));
            }
        }
        if self.req.config.selection.rerun_failed {
            for id in self.req.failed_last_run.clone() {
                self.add(id, Reason::new(Rule::FailedLastRun));
            }
        }
        let removed = self
            .req
            .changes
            .iter()
            .filter(|c| matches!(c.kind(), ChangeKind::Deleted | ChangeKind::Renamed))
            .filter_map(|c| c.old_path.as_deref());
        let collected = self.req.collected.as_deref().map(suite::sorted_ids);
        let present = gone::Present {
            roots: vec![gone::id_root(self.req.repo_root, &self.out.rootdir)],
            gone_files: gone::gone_files(removed, &self.out.rootdir),
            collected: collected.as_deref(),
            last_file: Default::default(),
        };
        gone::settle(&mut self.out, &present);
        Ok(())
    }
}

/// Number the tests of the scan's `test_function` contexts, now that the repository's files
/// are known; how many name no test file of it.
fn resolve_functions(
    mut scan: SuiteScan,
    rootdir: &str,
    tracked: &BTreeSet<String>,
) -> (SuiteScan, usize) {
    let mut unresolved = 0usize;
    for (id, dotted) in std::mem::take(&mut scan.functions) {
        let Some(node_id) = resolve_function(&dotted, rootdir, tracked) else {
            unresolved += 1;
            continue;
        };
        scan.census.add(&node_id, true);
        scan.representative.push(id);
        scan.number(id, scan.representative.len() as u32 - 1);
    }
    (scan, unresolved)
}

/// The node id of a `test_function` context (`tests.test_a.test_x`), when a test file of the
/// repository holds it.
fn resolve_function(dotted: &str, rootdir: &str, tracked: &BTreeSet<String>) -> Option<String> {
    function_context_to_node_id(dotted, |p| tracked.contains(&format!("{rootdir}{p}")))
}

/// The repository's files and the data file's paths mapped onto them.
fn map_files<'a>(req: &'a Request<'a>) -> Result<(Cow<'a, BTreeSet<String>>, PathMap)> {
    // A monorepo lists 100,000 files: copied only when the caller did not list them.
    let tracked = match &req.tracked {
        Some(files) => Cow::Borrowed(files),
        None => Cow::Owned(crate::git::tracked_files(req.repo_root)?),
    };
    // Deleted and renamed files are gone from the working tree but are in the data file.
    let gone: Vec<&String> = req
        .changes
        .iter()
        .filter_map(|c| c.old_path.as_ref())
        .filter(|old| !tracked.contains(*old))
        .collect();
    let mappable = match gone.is_empty() {
        true => Cow::Borrowed(&*tracked),
        false => {
            let mut all = tracked.clone().into_owned();
            all.extend(gone.into_iter().cloned());
            Cow::Owned(all)
        }
    };
    let recorded: Vec<String> = req.db.files().iter().map(|f| f.path.clone()).collect();
    let path_map = paths::map_paths(
        &recorded,
        &mappable,
        req.repo_root.to_str(),
        &req.config.paths.remap,
    );
    Ok((tracked, path_map))
}

fn is_conftest(path: &str) -> bool {
    path == "conftest.py" || path.ends_with("/conftest.py")
}

/// The old-side lines a change touches (replaced lines, and both neighbours of an insertion),
/// to name new-side changes in reasons; line 0 when there are none.
fn changed_old_lines(change: &FileChange) -> Vec<u32> {
    let mut lines: Vec<u32> = change.old_lines.iter().copied().collect();
    lines.extend(change.insertions_after.iter().flat_map(|&l| [l, l + 1]));
    if lines.is_empty() {
        lines.push(0);
    }
    lines
}

/// pytest's rootdir relative to the repository: the prefix under which the node ids' files
/// are tracked. Empty when the node ids are repository-relative (the usual case).
fn infer_rootdir<'s>(files: impl Iterator<Item = &'s str>, tracked: &BTreeSet<String>) -> String {
    let mut votes: BTreeMap<String, usize> = BTreeMap::new();
    for file in files.collect::<BTreeSet<_>>() {
        if tracked.contains(file) {
            *votes.entry(String::new()).or_default() += 1;
            continue;
        }
        let suffix = format!("/{file}");
        for t in tracked.iter().filter(|t| t.ends_with(&suffix)) {
            *votes
                .entry(t[..t.len() - file.len()].to_string())
                .or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(prefix, _)| prefix)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootdir_is_inferred_from_node_ids() {
        let tracked: BTreeSet<String> = ["py/tests/test_a.py", "py/tests/test_b.py", "README.md"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            infer_rootdir(["tests/test_a.py", "tests/test_b.py"].into_iter(), &tracked),
            "py/"
        );
        assert_eq!(
            infer_rootdir(["py/tests/test_a.py"].into_iter(), &tracked),
            ""
        );
    }

    #[test]
    fn paths_cover_their_files() {
        let covers = |path: &str, file: &str| covering_paths(file).iter().any(|p| p == path);
        assert!(covers("tests", "tests/test_a.py"));
        assert!(covers("tests/", "tests/test_a.py"));
        assert!(covers("tests/test_a.py", "tests/test_a.py"));
        assert!(!covers("tests/test_a.py", "tests/test_ab.py"));
        assert!(!covers("test", "tests/test_a.py"));
        assert!(covers(".", "x/y.py"));
        let known: BTreeSet<String> = [
            "a/t.py::x",
            "a/t.py::y",
            "a/tb.py::z",
            "a/b/u.py::w",
            "c.py::v",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let under = |path: &str| tests_under_path(&known, path).count();
        assert_eq!(under("a/t.py"), 2);
        assert_eq!(under("a"), 4);
        assert_eq!(under("a/b/"), 1);
        assert_eq!(under("."), 5);
        assert_eq!(under("a/t"), 0);
    }
}
