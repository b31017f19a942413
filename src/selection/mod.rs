//! Selection: from the changed files and the base coverage data to every test the change can
//! affect, each with its reasons (DESIGN.md, "Selection: safe first, then precise").
//!
//! The rules, applied per changed file, safest reading first:
//! - ignore patterns select nothing; run-all patterns select everything;
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
pub mod gone;
pub mod memo;
pub mod reason;
pub mod suite;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use globset::GlobSet;
use serde::{Deserialize, Serialize};

use crate::config::{self, Config, Granularity, Unmeasured};
use crate::coverage::context::function_context_to_node_id;
use crate::coverage::paths::{self, PathMap};
use crate::coverage::{CoverageDb, FileRows, numbits};
use crate::diff::{ChangeKind, FileChange};
use crate::error::Result;
use crate::nodeid;
use crate::python::{self, calls::MemoSites, dependents::Dependents};
pub use reason::{Reason, Rule, compact_ranges};
pub use suite::{SuiteCounts, SuiteScan};

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
    /// untracked files in the checkout that are not changes to the project.
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
    /// Test number -> one of its contexts, to read its name by.
    representative: Vec<i64>,
    global_context: Option<i64>,
    /// How many contexts the data file holds (to choose point lookups or one scan).
    contexts: usize,
    /// The rootdir that `test_function` contexts' module paths are relative to.
    function_rootdir: String,
}

struct Patterns {
    run_all: GlobSet,
    ignore: GlobSet,
    test_files: GlobSet,
    always_run: GlobSet,
    maps: Vec<(GlobSet, Vec<String>)>,
}

impl Patterns {
    fn new(config: &Config) -> Result<Self> {
        let s = &config.selection;
        let source = Path::new("covshard configuration");
        let joined = |a: &Vec<String>, b: &Vec<String>| -> Vec<String> {
            a.iter().chain(b).cloned().collect()
        };
        Ok(Patterns {
            run_all: config::compile(&joined(&s.run_all, &s.extra_run_all), source)?,
            ignore: config::compile(&joined(&s.ignore, &s.extra_ignore), source)?,
            test_files: config::compile(&s.test_files, source)?,
            always_run: globset_for_ids(&s.always_run, source)?,
            maps: s
                .map
                .iter()
                .map(|m| Ok((config::compile(&m.files, source)?, m.tests.clone())))
                .collect::<Result<_>>()?,
        })
    }
}

/// Node-id globs match the whole id literally (no `**/` prefix).
fn globset_for_ids(patterns: &[String], source: &Path) -> Result<GlobSet> {
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(false)
            .build()
            .map_err(|e| crate::Error::config(source, format!("invalid pattern `{p}`: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| crate::Error::config(source, format!("invalid patterns: {e}")))
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
    tracked: BTreeSet<String>,
    graph: Option<Dependents<'a>>,
    /// The memoised functions of every measured file, found once when a body change needs them.
    memo_sites: Option<MemoSites>,
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

/// Run selection. `scan`: the pass over the data file's contexts, with the history's tests
/// merged in, when the caller made it already (beside git); `None` makes it here.
pub fn select(req: &Request<'_>, scan: Option<SuiteScan>) -> Result<Selection> {
    let mut engine = Engine::new(req, scan)?;
    for change in &req.changes {
        engine.apply(change)?;
    }
    engine.finish()?;
    Ok(engine.out)
}

impl<'a> Engine<'a> {
    fn new(req: &'a Request<'a>, scan: Option<SuiteScan>) -> Result<Self> {
        let old_paths: Vec<String> = req
            .changes
            .iter()
            .filter_map(|c| c.old_path.clone())
            .filter(|p| p.ends_with(".py"))
            .collect();
        let (tracked, path_map) = map_files(req)?;
        let measured: BTreeMap<String, i64> = req
            .db
            .files()
            .iter()
            .filter_map(|file| Some((path_map.get(&file.path)?.to_string(), file.id)))
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
            let scan = match scan {
                Some(scan) => scan,
                None => {
                    SuiteScan::read_with_history(req.db, req.collected.as_deref(), req.list_known)?
                }
            };
            let mut engine = Self::from_data_file(req, scan, path_map, measured, tracked)?;
            engine.rows = read_rows(req.db)?;
            let joined = |what: &str| crate::Error::Other(format!("{what} failed"));
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
        scan: SuiteScan,
        path_map: PathMap,
        measured: BTreeMap<String, i64>,
        tracked: BTreeSet<String>,
    ) -> Result<Self> {
        let config = req.config;
        let patterns = Patterns::new(config)?;
        let mut out = Selection::default();
        if !path_map.unmapped.is_empty() {
            out.warnings.push(format!(
                "{} measured file(s) could not be mapped to the repository (see `covshard info`); changes to them are treated as unmeasured",
                path_map.unmapped.len()
            ));
        }

        let function_rootdir = match &config.paths.rootdir {
            Some(dir) if !dir.trim_matches('/').is_empty() => {
                format!("{}/", dir.trim_matches('/'))
            }
            _ => String::new(),
        };
        let mut scan = scan;
        let mut unresolved_functions = 0usize;
        for (id, dotted) in std::mem::take(&mut scan.functions) {
            let Some(node_id) = resolve_function(&dotted, &function_rootdir, &tracked) else {
                unresolved_functions += 1;
                continue;
            };
            scan.census.add(&node_id, true);
            scan.representative.push(id);
            scan.number(id, scan.representative.len() as u32 - 1);
        }
        let SuiteScan {
            census,
            by_context,
            representative,
            global_context,
            contexts,
            ..
        } = scan;
        if unresolved_functions > 0 {
            out.warnings.push(format!(
                "{unresolved_functions} `test_function` context(s) name no test file of the repository; their tests cannot be selected by coverage"
            ));
        }
        let (suite, unseen_collected, names) = census.finish();
        let rootdir = if config.paths.rootdir.is_some() {
            function_rootdir.clone()
        } else {
            infer_rootdir(suite.measured_files(), &tracked)
        };
        let test_files: BTreeSet<String> = suite
            .files()
            .map(|file| format!("{rootdir}{file}"))
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
                representative,
                global_context,
                contexts,
                function_rootdir,
            },
            measured,
            test_dirs: test_files
                .iter()
                .map(|f| f.rsplit_once('/').map_or("", |(d, _)| d).to_string())
                .collect(),
            test_files,
            tracked,
            graph: None,
            memo_sites: None,
            unseen_collected,
            hits: BTreeMap::new(),
            out,
        })
    }

    /// The names of the given tests, in order, read from the data file: a lookup each, in
    /// context order, for a few; one pass over the context table for many.
    fn test_names(&self, tests: &BTreeSet<usize>) -> Result<Vec<String>> {
        let wanted: BTreeSet<i64> = tests
            .iter()
            .map(|&t| self.tests.representative[t])
            .collect();
        let mut named: Vec<(i64, String)> = Vec::with_capacity(wanted.len());
        if wanted.len() * 8 < self.tests.contexts {
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
                    crate::Error::Other(format!(
                        "{}: context {} changed while it was read",
                        self.req.db.path().display(),
                        self.tests.representative[*t]
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
        self.req.own_files.iter().any(|own| {
            let own = if own.is_absolute() {
                own.clone()
            } else {
                std::env::current_dir().unwrap_or_default().join(own)
            };
            own.canonicalize().unwrap_or(own) == here
        })
    }

    /// Code pytest imports while collecting: test modules, conftests, and any file in a
    /// directory that holds test modules or below it (test packages' `__init__.py`, helpers).
    fn is_test_side(&self, path: &str) -> bool {
        if is_conftest(path) || self.is_test_module(path) {
            return true;
        }
        let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        loop {
            // The repository root counts only for files directly in it.
            if self.test_dirs.contains(dir) && (!dir.is_empty() || !path.contains('/')) {
                return true;
            }
            match dir.rsplit_once('/') {
                Some((parent, _)) => dir = parent,
                None if !dir.is_empty() => dir = "",
                None => return false,
            }
        }
    }

    fn is_test_module(&self, path: &str) -> bool {
        self.test_files.contains(path)
            || (!is_conftest(path) && self.patterns.test_files.is_match(path))
    }

    fn apply(&mut self, change: &FileChange) -> Result<()> {
        if change.old_path.is_none() && self.is_own_file(change.path()) {
            self.note(change, "covshard's own input or output: ignored");
            return Ok(());
        }
        if !change.content_changed() {
            self.note(change, "mode change only: nothing selected");
            return Ok(());
        }
        let paths = change.paths();
        if paths.iter().all(|p| self.patterns.ignore.is_match(p)) {
            self.note(change, "ignored by pattern");
            return Ok(());
        }
        if let Some(p) = paths.iter().find(|p| self.patterns.run_all.is_match(p)) {
            let reason = Reason::new(Rule::RunAllPattern).file(*p);
            self.run_all(reason);
            self.note(change, "run-all pattern: every test");
            return Ok(());
        }
        // Configuration maps win over the generic rules for the files they name.
        let mut mapped = false;
        for (set, tests) in &self.patterns.maps {
            if paths.iter().any(|p| set.is_match(p)) {
                mapped = true;
                for t in tests.clone() {
                    self.out
                        .selected
                        .entry(t)
                        .or_default()
                        .insert(Reason::new(Rule::Mapped).file(change.path()));
                }
            }
        }
        let is_python = paths.iter().any(|p| p.ends_with(".py"));
        let measured_before = change
            .old_path
            .as_ref()
            .is_some_and(|p| self.measured.contains_key(p));
        // Test-side code runs at collection whether or not coverage measured it (`--cov=.`
        // measures the tests too).
        let test_side = !measured_before || paths.iter().any(|p| self.is_test_side(p));
        if is_python
            && test_side
            && let Some(lines) = self.collection_side_effects(change)
        {
            let reason = Reason::new(Rule::CollectionSideEffect)
                .file(change.path())
                .lines(lines)
                .via(
                    "pytest imports test modules, conftests and test packages before any test runs",
                );
            self.run_all(reason);
            self.note(change, "module-level side effect in test code: every test");
            return Ok(());
        }
        if is_python && paths.iter().any(|p| is_conftest(p)) {
            for p in &paths {
                let dir = p.rsplit_once('/').map_or("", |(d, _)| d);
                let reason = Reason::new(Rule::ConftestChanged).file(*p);
                if self.to_pytest_path(dir) == "." || dir.is_empty() {
                    self.run_all(reason);
                } else {
                    let id = self.to_pytest_path(dir);
                    self.add(id, reason);
                }
            }
            self.note(change, "conftest.py: every test below its directory");
            return Ok(());
        }
        let old_measured = change
            .old_path
            .as_ref()
            .and_then(|p| self.measured.get(p).copied());
        if is_python
            && let Some(new) = change.new_path.as_deref()
            && self.is_test_module(new)
        {
            // A test module: run the whole file (new tests included) and whatever imports it.
            let id = self.to_pytest_path(new);
            self.add(id, Reason::new(Rule::TestFileChanged).file(new));
            self.select_importers(&paths, Rule::ImportsChanged, change.path(), &[])?;
            self.note(change, "test file: the whole file");
            return Ok(());
        }
        if is_python && let Some(file_id) = old_measured {
            return self.apply_measured_python(change, file_id);
        }
        if mapped {
            self.note(change, "mapped by configuration");
            return Ok(());
        }
        if is_python {
            // Not measured: a helper module of the tests, a script, a new module.
            let importers =
                self.select_importers(&paths, Rule::ImportsChanged, change.path(), &[])?;
            let deleted_test =
                change.kind() == ChangeKind::Deleted && self.is_test_module(change.path());
            if importers > 0 || deleted_test {
                self.note(change, "unmeasured module: the tests that import it");
                return Ok(());
            }
        }
        match self.req.config.selection.unmeasured {
            Unmeasured::All => {
                self.run_all(Reason::new(Rule::Unmeasured).file(change.path()));
                self.note(change, "never measured, not mapped: every test");
            }
            Unmeasured::None => self.note(
                change,
                "never measured, not mapped: nothing (unmeasured = \"none\")",
            ),
        }
        Ok(())
    }

    /// Changed lines (old or new side) of module-level statements that may reach other
    /// modules' state, in an unmeasured Python file; `None` when there are none.
    fn collection_side_effects(&self, change: &FileChange) -> Option<BTreeSet<u32>> {
        let mut hits = BTreeSet::new();
        if let Some(old) = change.old_path.as_deref()
            && let Some(source) = self.old_source(old)
        {
            let effects = python::effects::side_effect_lines(&source);
            let lines: Box<dyn Iterator<Item = &u32>> = if change.new_path.is_none() {
                Box::new(effects.iter())
            } else {
                Box::new(change.old_lines.iter())
            };
            hits.extend(lines.filter(|l| effects.contains(l)));
        }
        if let Some(new) = change.new_path.as_deref()
            && let Ok(source) = std::fs::read_to_string(self.req.repo_root.join(new))
        {
            let effects = python::effects::side_effect_lines(&source);
            // An untracked file has no diff lines: all of it is new.
            if change.old_path.is_none() && change.new_lines.is_empty() {
                hits.extend(effects.iter().copied());
            } else {
                hits.extend(change.new_lines.iter().filter(|l| effects.contains(l)));
            }
        }
        (!hits.is_empty()).then_some(hits)
    }

    fn apply_measured_python(&mut self, change: &FileChange, file_id: i64) -> Result<()> {
        let old_path = change.old_path.clone().unwrap_or_default();
        let rows = match self.rows.remove(&file_id) {
            Some(rows) => rows,
            None => self.req.db.line_blobs(file_id)?,
        };
        if matches!(change.kind(), ChangeKind::Deleted | ChangeKind::Renamed) {
            let reason = Reason::new(Rule::DeletedFile).file(old_path.clone());
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportsChanged,
                &[],
                "deleted or renamed: every test that covered or imports it",
            );
        }
        let old_source = self.old_source(&old_path);
        let new_source = change
            .new_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(self.req.repo_root.join(p)).ok());
        let old_syntax = old_source.as_deref().map(python::analyze);
        let new_syntax = new_source.as_deref().map(python::analyze);
        let alignment = match (&old_syntax, &new_syntax) {
            (Some(old), Some(new)) => {
                align::Alignment::new(change, old.line_count(), new.line_count())
            }
            _ => align::Alignment::new(change, 0, 0),
        };
        // Blank lines and comments cannot change what runs: drop them from the change.
        let mut change = change.clone();
        if let (Some(old_src), Some(new_src)) = (&old_source, &new_source) {
            let old_code = python::trivia::code_lines(old_src);
            let new_code = python::trivia::code_lines(new_src);
            change.old_lines.retain(|l| old_code.contains(l));
            change.new_lines.retain(|l| new_code.contains(l));
            if change.old_lines.is_empty() && change.new_lines.is_empty() {
                self.note(&change, "comments and blank lines only: nothing selected");
                return Ok(());
            }
        }
        let change = &change;
        let global_blob: Option<&[u8]> = self.tests.global_context.and_then(|g| rows.get(g));

        // Which changed lines reach every dependent of the module?
        let mut module_level: BTreeSet<u32> = BTreeSet::new();
        let mut memoised = false;
        let mut unknown_syntax = false;
        let misfit = old_syntax.is_some() && new_syntax.is_some() && !alignment.fits();
        if misfit {
            self.out.warnings.push(format!(
                "the diff of {} does not fit its base and working-tree versions: every change to it is treated as import-time",
                change.path()
            ));
        }
        match (&old_syntax, &new_syntax) {
            (Some(old), Some(new)) if !misfit => {
                for &line in &change.old_lines {
                    if old.affects_dependents(line) {
                        memoised |= old.is_memoised(line);
                        module_level.insert(line);
                    }
                    if global_blob.is_some_and(|b| numbits::contains(b, line)) {
                        module_level.insert(line);
                    }
                }
                for &line in &change.new_lines {
                    if new.affects_dependents(line) {
                        memoised |= new.is_memoised(line);
                        module_level.extend(changed_old_lines(change));
                    }
                }
            }
            _ => unknown_syntax = true,
        }
        let all_old = changed_old_lines(change);
        if unknown_syntax || !module_level.is_empty() {
            let rule = if memoised && !unknown_syntax {
                Rule::Memoised
            } else {
                Rule::ImportTime
            };
            let lines: Vec<u32> = if module_level.is_empty() {
                all_old.clone()
            } else {
                module_level.into_iter().collect()
            };
            let reason = Reason::new(rule)
                .file(old_path.clone())
                .lines(lines.iter().copied());
            let handling = if misfit {
                "the diff does not fit the sources: treated as import-time"
            } else if unknown_syntax {
                "base source unavailable: treated as import-time"
            } else if rule == Rule::Memoised {
                "memoised function: every dependent"
            } else {
                "import-time code: every dependent"
            };
            return self.select_dependents(change, &rows, reason, rule, &lines, handling);
        }
        let old = old_syntax.as_ref().expect("checked above");
        let new = new_syntax.as_ref().expect("checked above");
        // Function bodies only. Old lines name their function directly; new lines (insertions
        // and replacements) are placed by position in the aligned sources, since several
        // definitions can share a qualified name (`align`).
        let mut by_function: BTreeMap<(u32, u32, String), BTreeSet<u32>> = BTreeMap::new();
        let mut unplaced: BTreeSet<u32> = BTreeSet::new();
        for &line in &change.old_lines {
            match old.enclosing_bodies(line).next() {
                Some(f) => {
                    by_function
                        .entry((f.start, f.end, f.qualname.clone()))
                        .or_default()
                        .insert(line);
                }
                None => {
                    unplaced.insert(line);
                }
            }
        }
        for &line in &change.new_lines {
            match align::place(line, old, new, &alignment) {
                align::Placement::Functions(functions) => {
                    for f in functions {
                        let near: Vec<u32> = changed_old_lines(change)
                            .into_iter()
                            .filter(|l| (f.start..=f.end).contains(l))
                            .collect();
                        by_function
                            .entry((f.start, f.end, f.qualname.clone()))
                            .or_default()
                            .extend(near);
                    }
                }
                align::Placement::NewFunction => {
                    unplaced.insert(line);
                }
            }
        }
        if !unplaced.is_empty() {
            // A body line whose function the base does not have: be safe, reach every dependent.
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.clone())
                .lines(all_old.iter().copied());
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "body of a function new to the file: every dependent",
            );
        }
        // A function the empty context ran (a decorator, a factory, `__init_subclass__`, a
        // metaclass called while modules are imported) changes what importing does, wherever
        // in its body the change lies: a line coverage does not record (the second line of a
        // statement, an insertion) runs at import too.
        if let Some(global) = global_blob
            && let Some((_, _, qualname)) = by_function.keys().find(|(start, end, _)| {
                old.functions()
                    .iter()
                    .find(|f| f.start == *start && f.end == *end)
                    .is_some_and(|f| {
                        numbits::any_intersection(global, &numbits::encode(f.body_lines()))
                    })
            })
        {
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.clone())
                .lines(all_old.iter().copied())
                .via(format!("{qualname} runs while modules are imported"));
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "function run at import time: every dependent",
            );
        }
        // A module imported lazily, inside a test, credits its import-time code to that test,
        // and so any function it called while importing (a registry, a factory): later tests
        // rely on that run without covering it. Tests whose contexts ran import-time lines of
        // the module are its importers; a changed function they also ran reaches every
        // dependent.
        let import_time =
            numbits::encode((1..=old.line_count()).filter(|&l| old.is_import_time(l)));
        let importers: Vec<&[u8]> = rows
            .iter()
            .filter(|&(context, blob)| {
                self.context_test(context).is_some()
                    && numbits::any_intersection(blob, &import_time)
            })
            .map(|(_, blob)| blob)
            .collect();
        if let Some((_, _, qualname)) = by_function.keys().find(|(start, end, _)| {
            let mask = numbits::encode(*start..=*end);
            importers
                .iter()
                .any(|blob| numbits::any_intersection(blob, &mask))
        }) {
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.clone())
                .lines(all_old.iter().copied())
                .via(format!("{qualname} ran while a test imported the module"));
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "function run at a lazy import: every dependent",
            );
        }
        self.select_memo_reach(&old_path, &rows, &by_function, &all_old)?;
        let granularity = self.req.config.selection.granularity;
        for ((start, end, qualname), lines) in by_function {
            let mask = match granularity {
                Granularity::Line if !lines.is_empty() => numbits::encode(lines.iter().copied()),
                _ => numbits::encode(start..=end),
            };
            let reason = Reason::new(Rule::CoversChange)
                .file(old_path.clone())
                .lines(lines.iter().copied())
                .via(format!("in {qualname}"));
            self.select_rows(&rows, Some(&mask), &reason);
        }
        self.note(
            change,
            match granularity {
                Granularity::Function => "function bodies: the tests that ran those functions",
                Granularity::Line => "function bodies: the tests that ran the changed lines",
            },
        );
        Ok(())
    }

    /// A changed function that a memoised function may have called while it filled its cache
    /// reaches what that memoised function reaches: every dependent of its module. "May have
    /// called" is both: the memoised body names a way to it (`python::calls`), and some test
    /// ran both (`memo`).
    fn select_memo_reach(
        &mut self,
        old_path: &str,
        rows: &FileRows,
        by_function: &BTreeMap<(u32, u32, String), BTreeSet<u32>>,
        lines: &[u32],
    ) -> Result<()> {
        // The empty context ran every function called at import time: such a function was
        // sent to every dependent before this, and it connects nothing here.
        let mut changed: Vec<(&str, BTreeSet<i64>)> = Vec::new();
        for (start, end, qualname) in by_function.keys() {
            let mut contexts = memo::covering(rows, &numbits::encode(*start..=*end));
            if let Some(global) = self.tests.global_context {
                contexts.remove(&global);
            }
            if !contexts.is_empty() {
                changed.push((qualname, contexts));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        self.ensure_memo_sites()?;
        let sites = self.memo_sites.take().expect("read above");
        // Site -> context -> the changed functions it ran; and the sites whose reach names a
        // function, for sites no coverage can confirm.
        let mut wanted: BTreeMap<usize, BTreeMap<i64, Vec<&str>>> = BTreeMap::new();
        let mut named: BTreeSet<(usize, &str)> = BTreeSet::new();
        for (qualname, contexts) in &changed {
            named.extend(sites.naming(qualname).into_iter().map(|i| (i, *qualname)));
            for site in sites.reaching(qualname) {
                let entry = wanted.entry(site).or_default();
                for &c in contexts {
                    entry.entry(c).or_default().push(qualname);
                }
            }
        }
        // A shared fixture runs in the setup of the first test that asks for it.
        let all: BTreeSet<i64> = changed
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        let mut in_setup: Option<BTreeSet<i64>> = None;
        // Path -> (memoised function, a changed function it may run, whether coverage shows it).
        let mut reached: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
        for (index, wanted) in wanted {
            let site = &sites.sites()[index];
            if reached.contains_key(&site.path) {
                continue;
            }
            // A memoised function's own body changing is the memoised rule, decided before.
            let own = |q: &str| {
                site.path == old_path
                    && q.strip_prefix(site.qualname.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            };
            let wanted: BTreeMap<i64, &str> = wanted
                .into_iter()
                .filter_map(|(c, qs)| Some((c, qs.into_iter().find(|q| !own(q))?)))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let Some(&file_id) = self.measured.get(&site.path) else {
                // Test-side code coverage did not measure (a helper's cache, a shared fixture):
                // no rows tell whether it ran the changed function, so a name that leads to it
                // is enough, and for a fixture, that the function ran in some test's setup.
                if site.fixture && in_setup.is_none() {
                    in_setup = Some(self.setup_contexts(&all)?);
                }
                let callee = wanted.iter().find_map(|(c, q)| {
                    let setup = !site.fixture || in_setup.as_ref().is_some_and(|s| s.contains(c));
                    (setup && named.contains(&(index, *q))).then_some(*q)
                });
                if let Some(callee) = callee {
                    reached.insert(
                        site.path.clone(),
                        (site.qualname.clone(), callee.to_string(), false),
                    );
                }
                continue;
            };
            let ids: BTreeSet<i64> = wanted.keys().copied().collect();
            let site_rows = match site.path == old_path {
                true => rows.clone(),
                false => self.req.db.line_blobs_of(file_id, &ids)?,
            };
            let body = site.body_mask();
            let via = wanted.iter().find_map(|(c, q)| {
                site_rows
                    .get(*c)
                    .is_some_and(|b| numbits::any_intersection(b, &body))
                    .then_some(*q)
            });
            if let Some(callee) = via {
                reached.insert(
                    site.path.clone(),
                    (site.qualname.clone(), callee.to_string(), true),
                );
            }
        }
        self.memo_sites = Some(sites);
        for (path, (memoised, callee, measured)) in reached {
            let reason = Reason::new(Rule::Memoised)
                .file(old_path)
                .lines(lines.iter().copied())
                .via(format!(
                    "{callee} may run inside memoised {memoised} of {path}, which keeps its result"
                ));
            if measured {
                let site_rows = match path == old_path {
                    true => rows.clone(),
                    false => self.req.db.line_blobs(self.measured[&path])?,
                };
                self.select_rows(&site_rows, None, &reason);
            }
            self.select_test_side_users(&path, reason.clone());
            self.select_importers(&[path.as_str()], Rule::Memoised, old_path, lines)?;
        }
        Ok(())
    }

    /// The contexts among `ids` that are a test's setup, or of a kind that does not tell its
    /// phase (`test_function` contexts).
    fn setup_contexts(&self, ids: &BTreeSet<i64>) -> Result<BTreeSet<i64>> {
        use crate::coverage::context::{Phase, test_context};
        Ok(self
            .req
            .db
            .context_names(ids)?
            .into_iter()
            .filter(|c| test_context(&c.name).is_none_or(|(_, phase)| phase == Phase::Setup))
            .map(|c| c.id)
            .collect())
    }

    /// Every memoised function of the base's Python files, with what each can reach: from the
    /// base sources of the changed files and the working tree for the others (unchanged since
    /// the base).
    fn ensure_memo_sites(&mut self) -> Result<()> {
        if self.memo_sites.is_none()
            && self.req.import_index
            && let Some(base) = &self.req.base
            && let Some(reader) =
                python::index::IndexReader::open_for(self.req.db.connection(), base)?
        {
            self.memo_sites = reader.memo_sites()?.map(MemoSites::new);
        }
        if self.memo_sites.is_none() {
            // Files the base did not have under that name: added, or the new side of a rename.
            let added: BTreeSet<&str> = self
                .req
                .changes
                .iter()
                .filter(|c| c.old_path != c.new_path)
                .filter_map(|c| c.new_path.as_deref())
                .collect();
            let mut sources: BTreeMap<String, String> = BTreeMap::new();
            for path in self.tracked.iter().filter(|p| p.ends_with(".py")) {
                if added.contains(path.as_str()) || self.old_sources.contains_key(path) {
                    continue;
                }
                if let Ok(bytes) = std::fs::read(self.req.repo_root.join(path)) {
                    sources.insert(path.clone(), String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            for (path, bytes) in &self.old_sources {
                sources.insert(path.clone(), String::from_utf8_lossy(bytes).into_owned());
            }
            self.memo_sites = Some(MemoSites::new(python::calls::project_sites(
                sources.iter().map(|(p, s)| (p.as_str(), s.as_str())),
            )));
        }
        Ok(())
    }

    /// The tests that can use what a test-side file defines: a test module's own tests, every
    /// test below a `conftest.py`.
    fn select_test_side_users(&mut self, path: &str, reason: Reason) {
        if is_conftest(path) {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            let id = self.to_pytest_path(dir);
            if id == "." {
                self.run_all(reason);
            } else {
                self.add(id, reason);
            }
        } else if self.is_test_module(path) {
            let id = self.to_pytest_path(path);
            self.add(id, reason);
        }
    }

    /// Every test that depends on the changed module: those whose contexts ran any of it, and
    /// the test files and conftests that import it, directly or not.
    fn select_dependents(
        &mut self,
        change: &FileChange,
        rows: &FileRows,
        reason: Reason,
        import_rule: Rule,
        lines: &[u32],
        handling: &str,
    ) -> Result<()> {
        self.select_rows(rows, None, &reason);
        let changed = reason.file.clone().unwrap_or_default();
        self.select_importers(&change.paths(), import_rule, &changed, lines)?;
        self.note(change, handling);
        Ok(())
    }

    /// Select the tests whose contexts ran any line of `mask` (any line at all when `None`).
    /// The test a context belongs to, if it names one.
    fn context_test(&self, context: i64) -> Option<usize> {
        match usize::try_from(context)
            .ok()
            .and_then(|c| self.tests.by_context.get(c))
        {
            Some(&t) if t != u32::MAX => Some(t as usize),
            _ => None,
        }
    }

    fn select_rows(&mut self, rows: &FileRows, mask: Option<&[u8]>, reason: &Reason) {
        let mut previous = None;
        for (context, blob) in rows.iter() {
            let Some(test) = self.context_test(context) else {
                continue;
            };
            // A test's phases are usually consecutive rows: one insertion is enough.
            if previous != Some(test) && mask.is_none_or(|m| numbits::any_intersection(blob, m)) {
                self.hits.entry(test).or_default().insert(reason.clone());
                previous = Some(test);
            }
        }
    }

    /// Select the test files and conftests that import any of `paths`, directly or not.
    /// Returns how many test files or conftests were found.
    fn select_importers(
        &mut self,
        paths: &[&str],
        rule: Rule,
        changed: &str,
        lines: &[u32],
    ) -> Result<usize> {
        self.ensure_graph()?;
        let graph = self.graph.as_mut().expect("built above");
        let closure = graph.closure(paths)?;
        let mut found = Vec::new();
        for file in closure.keys() {
            if paths.contains(&file.as_str()) {
                continue;
            }
            let is_test =
                self.test_files.contains(file.as_str()) || self.patterns.test_files.is_match(file);
            if is_test || is_conftest(file) {
                let mut chain = vec![file.as_str()];
                while let Some(Some(next)) = closure.get(*chain.last().expect("not empty")) {
                    chain.push(next);
                }
                found.push((file.clone(), Some(chain.join(" -> "))));
            }
        }
        let count = found.len();
        for (file, chain) in found {
            let mut reason = Reason::new(rule).file(changed).lines(lines.iter().copied());
            if let Some(chain) = chain {
                reason = reason.via(format!("imports: {chain}"));
            }
            if is_conftest(&file) {
                let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
                let id = self.to_pytest_path(dir);
                if id == "." {
                    self.run_all(reason);
                } else {
                    self.add(id, reason);
                }
            } else {
                let id = self.to_pytest_path(&file);
                self.add(id, reason);
            }
        }
        Ok(count)
    }

    fn ensure_graph(&mut self) -> Result<()> {
        if self.graph.is_none() {
            self.graph = Some(build_graph(self.req, &self.tracked)?);
        }
        Ok(())
    }

    fn old_source(&self, path: &str) -> Option<String> {
        self.old_sources
            .get(path)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
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

/// The node id of a `test_function` context (`tests.test_a.test_x`), when a test file of the
/// repository holds it.
fn resolve_function(dotted: &str, rootdir: &str, tracked: &BTreeSet<String>) -> Option<String> {
    function_context_to_node_id(dotted, |p| tracked.contains(&format!("{rootdir}{p}")))
}

/// The repository's files and the data file's paths mapped onto them.
fn map_files(req: &Request<'_>) -> Result<(BTreeSet<String>, PathMap)> {
    let tracked = match &req.tracked {
        Some(files) => files.clone(),
        None => crate::git::tracked_files(req.repo_root)?,
    };
    // Deleted and renamed files are gone from the working tree but are in the data file.
    let mut mappable = tracked.clone();
    for change in &req.changes {
        if let Some(old) = &change.old_path {
            mappable.insert(old.clone());
        }
    }
    let recorded: Vec<String> = req.db.files().iter().map(|f| f.path.clone()).collect();
    let path_map = paths::map_paths(
        &recorded,
        &mappable,
        req.repo_root.to_str(),
        &req.config.paths.remap,
    );
    Ok((tracked, path_map))
}

/// The reverse import walk over the working tree's Python files. Files the change touched are
/// read from disk; with the import index, the others' imports are looked up in it as the walk
/// needs them, so nothing else is read.
fn build_graph<'a>(req: &'a Request<'a>, tracked: &BTreeSet<String>) -> Result<Dependents<'a>> {
    let changed: BTreeSet<&str> = req.changes.iter().flat_map(|c| c.paths()).collect();
    let reader = match (req.import_index, &req.base) {
        (true, Some(base)) => python::index::IndexReader::open_for(req.db.connection(), base)?,
        _ => None,
    };
    let indexed: BTreeSet<String> = match &reader {
        Some(reader) => reader
            .paths()?
            .into_iter()
            .filter(|p| tracked.contains(p) && !changed.contains(p.as_str()))
            .collect(),
        None => BTreeSet::new(),
    };
    let mut sources: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for path in tracked.iter().filter(|p| p.ends_with(".py")) {
        if indexed.contains(path) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(req.repo_root.join(path)) {
            sources.insert(path.clone(), bytes);
        }
    }
    let phantoms: Vec<String> = req
        .changes
        .iter()
        .filter_map(|c| c.old_path.clone())
        .filter(|p| p.ends_with(".py") && !tracked.contains(p))
        .collect();
    let lookup = reader.map(|reader| -> python::dependents::Lookup<'a> {
        Box::new(move |word: &str| reader.files_naming(word))
    });
    Ok(Dependents::new(
        sources,
        indexed,
        lookup,
        &phantoms,
        &req.config.selection.source_roots,
    ))
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
