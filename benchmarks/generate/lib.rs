//! Deterministic generator of realistic benchmark data sets for covshard.
//!
//! One data set is a directory that looks like the checkout of a Python project after a full CI
//! run on its main branch:
//! - a git repository (`main` branch, tag `base`) with a package tree `src/proj/pkg_NNN/mod_NNN.py`
//!   and test files `tests/pkg_NNN/test_mod_NNN.py`; modules import each other at module level,
//!   define constants, functions (some memoised) and classes, so covshard's Python parser sees
//!   real import-time code and function bodies;
//! - `.coverage`: a coverage.py schema-7 data file with the exact tables coverage.py 7.17 creates,
//!   recorded as `pytest --cov=proj --cov-context=test` would on a GitHub runner (absolute paths
//!   under `/home/runner/work/proj/proj`), whose line numbers match the generated sources:
//!   import-time lines in the empty context, a hot core of modules that most tests run,
//!   `|setup`/`|run`/`|teardown` phases, a few modules imported lazily by the first test that
//!   needed them, a few tests with no measured line at all, a few blobs with trailing zero bytes;
//! - `reports/junit-K.xml` (one per CI shard, pytest's xunit2 layout) and `.test_durations`
//!   (pytest-split) with log-normal durations and a few very long tests;
//! - branches `diff-1`, `diff-20`, `diff-200`, each one commit on top of `base` that edits that
//!   many modules (mostly function bodies, a few module-level constants); `edits.json` lists them.
//!
//! Everything derives from one seed (`StdRng`), so a size and a seed always give the same bytes
//! (except git's commit hashes, which carry no timestamps of ours: dates are fixed too).
//!
//! Known limits: line mode only (no branch/arc data); the Python is syntactically valid and its
//! import graph is real, but it is never executed, so the coverage is plausible, not measured.

// Shared by the `generate` example and the integration test, which use different parts.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};

/// Where the "CI machine" checked the project out: the prefix of every recorded path.
pub const RECORDED_ROOT: &str = "/home/runner/work/proj/proj";

/// The exact DDL of coverage.py 7.17 (`coverage/sqldata.py`, `SCHEMA`), comments included, so
/// `sqlite_master` reads the same as in a file coverage.py wrote.
const COVERAGE_SCHEMA: &str = "CREATE TABLE coverage_schema (
    -- One row, to record the version of the schema in this db.
    version integer
);

CREATE TABLE meta (
    -- Key-value pairs, to record metadata about the data
    key text,
    value text,
    unique (key)
    -- Possible keys:
    --  'has_arcs' boolean      -- Is this data recording branches?
    --  'sys_argv' text         -- The coverage command line that recorded the data.
    --  'version' text          -- The version of coverage.py that made the file.
    --  'when' text             -- Datetime when the file was created.
    --  'hash' text             -- Hash of the data.
);

CREATE TABLE file (
    -- A row per file measured.
    id integer primary key,
    path text,
    unique (path)
);

CREATE TABLE context (
    -- A row per context measured.
    id integer primary key,
    context text,
    unique (context)
);

CREATE TABLE line_bits (
    -- If recording lines, a row per context per file executed.
    -- All of the line numbers for that file/context are in one numbits.
    file_id integer,            -- foreign key to `file`.
    context_id integer,         -- foreign key to `context`.
    numbits blob,               -- see the numbits functions in coverage.numbits
    foreign key (file_id) references file (id),
    foreign key (context_id) references context (id),
    unique (file_id, context_id)
);

CREATE TABLE arc (
    -- If recording branches, a row per context per from/to line transition executed.
    file_id integer,            -- foreign key to `file`.
    context_id integer,         -- foreign key to `context`.
    fromno integer,             -- line number jumped from.
    tono integer,               -- line number jumped to.
    foreign key (file_id) references file (id),
    foreign key (context_id) references context (id),
    unique (file_id, context_id, fromno, tono)
);

CREATE TABLE tracer (
    -- A row per file indicating the tracer used for that file.
    file_id integer primary key,
    tracer text,
    foreign key (file_id) references file (id)
);
";

/// The shape of a data set.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: &'static str,
    /// Number of test node ids (parametrizations count one each).
    pub tests: usize,
    /// Number of measured source files, package `__init__.py` files included.
    pub files: usize,
    /// Modules related to a test file that its tests run (before sampling ~70% of them).
    pub related: usize,
    /// Whether tests run the hot and warm core, and have setup/teardown coverage.
    pub full_profile: bool,
    /// Number of JUnit files (CI shards of the full run).
    pub junit_shards: usize,
    /// Module counts of the edit branches to create (`diff-N`).
    pub diffs: &'static [usize],
    /// Modules in the core that most tests run (default: one module in a hundred, at least 8).
    pub core_modules: Option<usize>,
    /// How the tests are written.
    pub shape: TestShape,
    /// Also create `core-1`: one function-body edit in the hottest core module.
    pub core_branch: bool,
    pub seed: u64,
}

/// How a data set's tests are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestShape {
    /// 5 to 35 tests a file: functions, methods of test classes, a few parametrized.
    Functions,
    /// A small library's huge parametrized suite: 1,000 to 3,000 cases a file over a few test
    /// functions, four files in five testing the core module, one row or two a test.
    Parametrized,
}

impl Spec {
    /// The named presets: `small`, `medium`, `large`, `huge` (1,000,000 tests), `params` (a
    /// small library's parametrized suite of 64,000 tests), and `ingest` (100,000 tests with
    /// light coverage, for the ingest bench).
    pub fn preset(name: &str) -> Option<Spec> {
        let base = Spec {
            name: "small",
            tests: 1_000,
            files: 200,
            related: 20,
            full_profile: true,
            junit_shards: 4,
            diffs: &[1, 20, 200],
            core_modules: None,
            shape: TestShape::Functions,
            core_branch: false,
            seed: 8,
        };
        Some(match name {
            "small" => base,
            "medium" => Spec {
                name: "medium",
                tests: 10_000,
                files: 1_000,
                junit_shards: 8,
                ..base
            },
            "large" => Spec {
                name: "large",
                tests: 50_000,
                files: 5_000,
                related: 34,
                junit_shards: 16,
                ..base
            },
            // A monorepo: a million tests over 50,000 modules, with a core of the same size as
            // the large set's (a core that grows with the repository would put a hundred rows
            // in every test).
            "huge" => Spec {
                name: "huge",
                tests: 1_000_000,
                files: 50_000,
                related: 12,
                core_modules: Some(48),
                junit_shards: 64,
                ..base
            },
            "params" => Spec {
                name: "params",
                tests: 64_000,
                files: 24,
                related: 1,
                full_profile: false,
                core_modules: Some(1),
                shape: TestShape::Parametrized,
                core_branch: true,
                junit_shards: 8,
                diffs: &[1, 20],
                ..base
            },
            "ingest" => Spec {
                name: "ingest",
                tests: 100_000,
                files: 500,
                related: 2,
                full_profile: false,
                junit_shards: 16,
                diffs: &[],
                ..base
            },
            _ => return None,
        })
    }
}

/// What was generated, for the caller's summary.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: usize,
    pub test_files: usize,
    pub tests: usize,
    pub contexts: usize,
    pub line_bits_rows: usize,
    pub total_seconds: f64,
}

/// One function or method of a generated module, by line number.
#[derive(Debug, Clone)]
struct Function {
    /// Lines every caller runs.
    body: Vec<u32>,
    /// Lines only some calls run (inside an `if`).
    branch: Vec<u32>,
    /// The first body line, `result = value * N`, which body edits change.
    edit_line: u32,
}

/// A generated source file.
#[derive(Debug, Clone)]
struct Module {
    /// Repository path, `src/proj/pkg_003/mod_012.py`.
    path: String,
    /// Dotted name, `proj.pkg_003.mod_012`.
    dotted: String,
    package: usize,
    lines: Vec<String>,
    /// Lines executed at import time.
    module_level: Vec<u32>,
    functions: Vec<Function>,
    /// Lines of `NAME = value` constants (module-level edits change them).
    constants: Vec<u32>,
    is_init: bool,
    /// Imported lazily: its import-time lines land in the first importing test's setup.
    lazy: bool,
}

/// Appends lines and returns their 1-based numbers.
#[derive(Default)]
struct Lines(Vec<String>);

impl Lines {
    fn push(&mut self, text: impl Into<String>) -> u32 {
        self.0.push(text.into());
        self.0.len() as u32
    }
}

/// The body of a function at `indent`, with some lines only run on one side of an `if`.
fn function_body(rng: &mut StdRng, out: &mut Lines, indent: &str, f: &mut Function) {
    let factor = rng.gen_range(2..97);
    let first = out.push(format!("{indent}result = value * {factor}"));
    f.body.push(first);
    f.edit_line = first;
    for _ in 0..rng.gen_range(1..5) {
        match rng.gen_range(0..4) {
            0 => {
                f.body.push(out.push(format!("{indent}if result > LIMIT:")));
                f.branch
                    .push(out.push(format!("{indent}    result = result - LIMIT")));
            }
            1 => {
                f.body
                    .push(out.push(format!("{indent}for step in range(SCALE):")));
                f.body.push(out.push(format!("{indent}    result += step")));
            }
            2 => {
                let n = rng.gen_range(0..1000);
                f.body
                    .push(out.push(format!("{indent}items = [result, {n}, len(NAME)]")));
                f.body
                    .push(out.push(format!("{indent}result = sum(items)")));
            }
            _ => {
                f.body
                    .push(out.push(format!("{indent}result = abs(result) % (LIMIT + 1)")));
            }
        }
    }
    f.body.push(out.push(format!("{indent}return result")));
}

/// The source of one module, importing some of `imports` (dotted module names).
fn module_source(rng: &mut StdRng, dotted: &str, imports: &[String], core: bool) -> Module {
    let mut out = Lines::default();
    let mut m = Module {
        path: String::new(),
        dotted: dotted.to_string(),
        package: 0,
        lines: Vec::new(),
        module_level: Vec::new(),
        functions: Vec::new(),
        constants: Vec::new(),
        is_init: false,
        lazy: false,
    };
    let memoise = rng.gen_bool(0.3);
    m.module_level.push(out.push(format!(
        "\"\"\"{dotted}: generated for covshard's benchmarks.\"\"\""
    )));
    if memoise {
        m.module_level.push(out.push("import functools"));
    }
    for imp in imports {
        let (parent, leaf) = imp.rsplit_once('.').expect("dotted module names");
        m.module_level
            .push(out.push(format!("from {parent} import {leaf}")));
    }
    out.push("");
    let limit = rng.gen_range(10..500);
    m.constants.push(out.push(format!("LIMIT = {limit}")));
    m.constants
        .push(out.push(format!("SCALE = {}", rng.gen_range(2..6))));
    m.constants
        .push(out.push(format!("NAME = \"{}\"", dotted.rsplit('.').next().unwrap())));
    m.constants.push(out.push(format!(
        "DEPENDENCIES = ({})",
        imports
            .iter()
            .map(|i| format!("{}.NAME, ", i.rsplit('.').next().unwrap()))
            .collect::<String>()
    )));
    m.module_level.extend(m.constants.iter().copied());
    // Core modules are bigger: they hold the helpers everything calls.
    let functions = if core {
        rng.gen_range(12..24)
    } else {
        rng.gen_range(4..12)
    };
    let mut class_open = false;
    for k in 0..functions {
        out.push("");
        if !class_open && k >= 2 && rng.gen_bool(0.15) {
            out.push("");
            m.module_level.push(out.push(format!("class Widget{k}:")));
            m.module_level
                .push(out.push(format!("    kind = \"{dotted}.Widget{k}\"")));
            out.push("");
            class_open = true;
        } else if class_open && rng.gen_bool(0.3) {
            class_open = false;
            out.push("");
        }
        let mut f = Function {
            body: Vec::new(),
            branch: Vec::new(),
            edit_line: 0,
        };
        let indent = if class_open { "    " } else { "" };
        if memoise && rng.gen_bool(0.2) {
            m.module_level
                .push(out.push(format!("{indent}@functools.cache")));
        }
        let args = if class_open { "self, value" } else { "value" };
        let default = rng.gen_range(1..9);
        m.module_level.push(out.push(format!(
            "{indent}def {}_{k}({args}, factor={default}):",
            if class_open { "method" } else { "compute" }
        )));
        function_body(rng, &mut out, &format!("{indent}    "), &mut f);
        m.functions.push(f);
    }
    m.lines = out.0;
    m
}

/// A package's `__init__.py`: a docstring, run at import.
fn init_module(path: &str, dotted: &str, package: usize) -> Module {
    Module {
        path: path.to_string(),
        dotted: dotted.to_string(),
        package,
        lines: vec![format!("\"\"\"Package {dotted}.\"\"\"")],
        module_level: vec![1],
        functions: Vec::new(),
        constants: Vec::new(),
        is_init: true,
        lazy: false,
    }
}

/// A test file: its path, the module it targets, the modules its tests run.
struct TestFile {
    path: String,
    /// The dotted name pytest's JUnit `classname` starts with.
    dotted: String,
    target: usize,
    related: Vec<usize>,
    fixtures: Vec<usize>,
    /// Node ids (relative to the repository root) with their class, if any.
    tests: Vec<(String, Option<String>, String)>,
}

/// Write a data set for `spec` into `out` (created; must not exist or be empty).
pub fn generate(spec: &Spec, out: &Path, with_git: bool) -> Result<Summary> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty: remove it first, the generator never overwrites",
            out.display()
        );
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);

    // ---- the source tree -------------------------------------------------------------------
    let packages = spec.files.div_ceil(25).max(2);
    let module_count = spec.files - packages - 1;
    let core = spec
        .core_modules
        .unwrap_or((module_count / 100).max(8))
        .min(module_count);
    let hot = (core / 5).clamp(4, 10).min(core);
    let mut modules: Vec<Module> = Vec::with_capacity(spec.files);
    modules.push(init_module("src/proj/__init__.py", "proj", 0));
    for p in 0..packages {
        modules.push(init_module(
            &format!("src/proj/pkg_{p:03}/__init__.py"),
            &format!("proj.pkg_{p:03}"),
            p,
        ));
    }
    let first_module = modules.len();
    for i in 0..module_count {
        // Modules are spread round-robin over packages, so the core (the first modules) lives
        // in several packages, as `utils`, `models` and `db` would.
        let package = i % packages;
        let dotted = format!("proj.pkg_{package:03}.mod_{i:04}");
        let mut imports: BTreeSet<usize> = BTreeSet::new();
        if i > 0 {
            for _ in 0..rng.gen_range(1..3) {
                imports.insert(rng.gen_range(0..i.min(core)));
            }
            // Same-package modules defined earlier: the layered imports of a real package.
            let siblings: Vec<usize> = (0..i).filter(|j| j % packages == package).collect();
            if let Some(&s) = siblings.choose(&mut rng)
                && rng.gen_bool(0.6)
            {
                imports.insert(s);
            }
        }
        let names: Vec<String> = imports
            .iter()
            .map(|&j| format!("proj.pkg_{:03}.mod_{j:04}", j % packages))
            .collect();
        let mut m = module_source(&mut rng, &dotted, &names, i < core);
        m.path = format!("src/proj/pkg_{package:03}/mod_{i:04}.py");
        m.package = package;
        m.lazy = i >= core && rng.gen_bool(0.03);
        modules.push(m);
    }
    let mod_index = |i: usize| first_module + i;

    // ---- test files and node ids -------------------------------------------------------------
    let mut test_files: Vec<TestFile> = Vec::new();
    let mut remaining = spec.tests;
    let mut per_target: BTreeMap<usize, usize> = BTreeMap::new();
    let test_file_estimate = spec.tests.div_ceil(20);
    while remaining > 0 {
        let j = test_files.len();
        // Even spread of targets over the modules, so every area has tests.
        let target = match spec.shape {
            TestShape::Parametrized if rng.gen_bool(0.8) => 0,
            TestShape::Parametrized => rng.gen_range(0..module_count),
            TestShape::Functions => (j * module_count / test_file_estimate.max(1)) % module_count,
        };
        let m = &modules[mod_index(target)];
        let nth = per_target.entry(target).or_default();
        *nth += 1;
        let stem = m.dotted.rsplit('.').next().unwrap().to_string();
        let name = if *nth == 1 {
            format!("test_{stem}")
        } else {
            format!("test_{stem}_{nth}")
        };
        let dir = format!("tests/pkg_{:03}", m.package);
        let path = format!("{dir}/{name}.py");
        let dotted = format!("tests.pkg_{:03}.{name}", m.package);
        let mut related: BTreeSet<usize> = BTreeSet::new();
        while related.len() < spec.related.min(module_count - 1) {
            // Mostly the same and the next packages, some anywhere.
            let r = if rng.gen_bool(0.7) {
                let p = (m.package + rng.gen_range(0..3)) % packages;
                let k = rng.gen_range(0..module_count.div_ceil(packages));
                (k * packages + p).min(module_count - 1)
            } else {
                rng.gen_range(0..module_count)
            };
            if r != target {
                related.insert(r);
            }
        }
        let fixtures: Vec<usize> = (0..rng.gen_range(3..7))
            .map(|_| rng.gen_range(0..core))
            .chain(related.iter().take(2).copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let count = match spec.shape {
            TestShape::Functions => rng.gen_range(5..36),
            TestShape::Parametrized => rng.gen_range(1000..3000),
        }
        .min(remaining);
        remaining -= count;
        let mut tests = Vec::with_capacity(count);
        let mut k = 0;
        while spec.shape == TestShape::Parametrized && tests.len() < count {
            for n in 0..rng.gen_range(100..600).min(count - tests.len()) {
                let id = format!("{}-{}-{}", n % 7, n / 7 % 11, n / 77);
                tests.push((
                    format!("{path}::test_param_{k}[{id}]"),
                    None,
                    format!("test_param_{k}[{id}]"),
                ));
            }
            k += 1;
        }
        while tests.len() < count {
            let left = count - tests.len();
            match rng.gen_range(0..10) {
                0..=5 => tests.push((
                    format!("{path}::test_case_{k}"),
                    None,
                    format!("test_case_{k}"),
                )),
                6..=7 => {
                    let class = format!("TestWidget{k}");
                    for n in 0..rng.gen_range(1..5).min(left) {
                        tests.push((
                            format!("{path}::{class}::test_method_{n}"),
                            Some(class.clone()),
                            format!("test_method_{n}"),
                        ));
                    }
                }
                _ => {
                    for n in 0..rng.gen_range(2..6).min(left) {
                        let id = if n % 2 == 0 {
                            format!("{n}")
                        } else {
                            format!("case-{n}")
                        };
                        tests.push((
                            format!("{path}::test_param_{k}[{id}]"),
                            None,
                            format!("test_param_{k}[{id}]"),
                        ));
                    }
                }
            }
            k += 1;
        }
        test_files.push(TestFile {
            path,
            dotted,
            target,
            related: related.into_iter().collect(),
            fixtures,
            tests,
        });
    }

    // ---- sources on disk -----------------------------------------------------------------------
    for m in &modules {
        write_lines(&out.join(&m.path), &m.lines)?;
    }
    let mut test_dirs: BTreeSet<String> = BTreeSet::new();
    for tf in &test_files {
        test_dirs.insert(tf.path.rsplit_once('/').unwrap().0.to_string());
        let source = test_source(tf, &modules, first_module);
        std::fs::create_dir_all(out.join(tf.path.rsplit_once('/').unwrap().0))?;
        std::fs::write(out.join(&tf.path), source)?;
    }
    for dir in &test_dirs {
        std::fs::write(out.join(dir).join("__init__.py"), "")?;
    }
    std::fs::write(out.join("tests/__init__.py"), "")?;
    std::fs::write(
        out.join("tests/conftest.py"),
        format!(
            "\"\"\"Fixtures shared by every test.\"\"\"\nimport pytest\n\nfrom {} import {}\n\n\n@pytest.fixture\ndef settings():\n    return {{\"name\": {}.NAME}}\n",
            modules[mod_index(0)].dotted.rsplit_once('.').unwrap().0,
            modules[mod_index(0)].dotted.rsplit('.').next().unwrap(),
            modules[mod_index(0)].dotted.rsplit('.').next().unwrap(),
        ),
    )?;
    std::fs::write(
        out.join("pyproject.toml"),
        "[project]\nname = \"proj\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\npythonpath = [\"src\"]\n",
    )?;
    std::fs::write(
        out.join(".gitignore"),
        "# The artifacts of the full CI run are not part of the project.\n.coverage\n.coverage.*\n.test_durations\nreports/\nedits.json\n",
    )?;

    // ---- coverage data ---------------------------------------------------------------------------
    let mut summary = write_coverage(
        spec,
        &mut rng,
        &out.join(".coverage"),
        &modules,
        first_module,
        core,
        hot,
        &test_files,
    )?;
    summary.test_files = test_files.len();

    // ---- durations: JUnit shards and .test_durations ---------------------------------------------
    summary.total_seconds = write_durations(spec, &mut rng, out, &test_files)?;

    if with_git {
        git_repo(spec, &mut rng, out, &mut modules, first_module, core)?;
    }
    Ok(summary)
}

fn write_lines(path: &Path, lines: &[String]) -> Result<()> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A test module that imports its target and a few related modules at module level.
fn test_source(tf: &TestFile, modules: &[Module], first_module: usize) -> String {
    let target = &modules[first_module + tf.target];
    let mut s = format!(
        "\"\"\"Tests for {}.\"\"\"\nimport pytest\n\n",
        target.dotted
    );
    let mut imported = vec![target];
    imported.extend(
        tf.related
            .iter()
            .take(2)
            .map(|&r| &modules[first_module + r]),
    );
    for m in &imported {
        let (parent, leaf) = m.dotted.rsplit_once('.').unwrap();
        let _ = writeln!(s, "from {parent} import {leaf}");
    }
    let leaf = target.dotted.rsplit('.').next().unwrap();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut open_class: Option<String> = None;
    for (_, class, name) in &tf.tests {
        let base = name.split('[').next().unwrap().to_string();
        if !seen.insert(format!("{class:?}{base}")) {
            continue;
        }
        match class {
            Some(c) => {
                if open_class.as_ref() != Some(c) {
                    let _ = write!(s, "\n\nclass {c}:\n");
                    open_class = Some(c.clone());
                }
                let _ = write!(
                    s,
                    "    def {base}(self, settings):\n        assert {leaf}.compute_0(1) is not None\n\n"
                );
            }
            None => {
                open_class = None;
                if name.contains('[') {
                    let _ = write!(
                        s,
                        "\n\n@pytest.mark.parametrize(\"case\", [0, \"case-1\", 2, \"case-3\", 4])\ndef {base}(case):\n    assert {leaf}.NAME\n"
                    );
                } else {
                    let _ = write!(
                        s,
                        "\n\ndef {base}(settings):\n    assert {leaf}.compute_0(2) is not None\n"
                    );
                }
            }
        }
    }
    s
}

/// A little-endian bitset of line numbers, as `coverage.numbits.nums_to_numbits` writes it
/// (coverage.py itself reads the result back in the test suite, so this is checked).
pub fn numbits(lines: impl IntoIterator<Item = u32>) -> Vec<u8> {
    covshard::coverage::numbits::encode(lines)
}

/// The lines a call of some functions of `m` runs.
fn run_functions(rng: &mut StdRng, m: &Module, count: usize, lines: &mut BTreeSet<u32>) {
    if m.functions.is_empty() {
        return;
    }
    for _ in 0..count {
        let f = &m.functions[rng.gen_range(0..m.functions.len())];
        lines.extend(f.body.iter().copied());
        if rng.gen_bool(0.5) {
            lines.extend(f.branch.iter().copied());
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn write_coverage(
    spec: &Spec,
    rng: &mut StdRng,
    path: &Path,
    modules: &[Module],
    first_module: usize,
    core: usize,
    hot: usize,
    test_files: &[TestFile],
) -> Result<Summary> {
    let mut conn = Connection::open(path)?;
    // Speed only: these pragmas are not stored in the file, which stays an ordinary database.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
    )?;
    conn.execute_batch(COVERAGE_SCHEMA)?;
    let tx = conn.transaction()?;
    let mut summary = Summary::default();
    {
        tx.execute("INSERT INTO coverage_schema (version) VALUES (7)", [])?;
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('version', '7.17.3')",
            [],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('has_arcs', '0')",
            [],
        )?;
        let mut file_stmt = tx.prepare("INSERT INTO file (id, path) VALUES (?1, ?2)")?;
        for (i, m) in modules.iter().enumerate() {
            file_stmt.execute(params![i as i64 + 1, format!("{RECORDED_ROOT}/{}", m.path)])?;
        }
        let mut ctx_stmt = tx.prepare("INSERT INTO context (id, context) VALUES (?1, ?2)")?;
        let mut row_stmt =
            tx.prepare("INSERT INTO line_bits (file_id, context_id, numbits) VALUES (?1, ?2, ?3)")?;
        let mut next_context = 1i64;
        // Collection imports every eagerly imported module under the empty context.
        ctx_stmt.execute(params![next_context, ""])?;
        for (i, m) in modules.iter().enumerate() {
            if !m.lazy {
                row_stmt.execute(params![
                    i as i64 + 1,
                    next_context,
                    numbits(m.module_level.iter().copied())
                ])?;
                summary.line_bits_rows += 1;
            }
        }
        next_context += 1;
        summary.contexts = 1;
        let mut lazy_done = vec![false; modules.len()];
        let mut trailing_zeros = 0usize;
        for tf in test_files {
            for (node_id, _, _) in &tf.tests {
                summary.tests += 1;
                // A few tests execute no measured line: no context row at all.
                if rng.gen_bool(0.01) {
                    continue;
                }
                let mut phases: [BTreeMap<usize, BTreeSet<u32>>; 3] = Default::default();
                let run = &mut phases[1];
                let m = first_module + tf.target;
                let n = match spec.shape {
                    TestShape::Functions => rng.gen_range(2..6),
                    TestShape::Parametrized => rng.gen_range(1..3),
                };
                run_functions(rng, &modules[m], n, run.entry(m).or_default());
                for &r in &tf.related {
                    if rng.gen_bool(0.7) {
                        let m = first_module + r;
                        let n = rng.gen_range(1..4);
                        run_functions(rng, &modules[m], n, run.entry(m).or_default());
                    }
                }
                if spec.full_profile {
                    for c in 0..core {
                        let p = if c < hot { 0.9 } else { 0.25 };
                        if rng.gen_bool(p) {
                            let m = first_module + c;
                            let n = rng.gen_range(1..4);
                            run_functions(rng, &modules[m], n, run.entry(m).or_default());
                        }
                    }
                    for &f in &tf.fixtures {
                        let m = first_module + f;
                        let lines = phases[0].entry(m).or_default();
                        lines.extend(modules[m].functions[0].body.iter().copied());
                    }
                    if rng.gen_bool(0.7) {
                        for c in 0..2.min(hot) {
                            let m = first_module + c;
                            let lines = phases[2].entry(m).or_default();
                            lines.extend(modules[m].functions[1].body.iter().copied());
                        }
                    }
                }
                // The first test that runs a lazily imported module pays for its import.
                let lazy: Vec<usize> = phases[1]
                    .keys()
                    .copied()
                    .filter(|&m| modules[m].lazy && !lazy_done[m])
                    .collect();
                for m in lazy {
                    lazy_done[m] = true;
                    phases[0]
                        .entry(m)
                        .or_default()
                        .extend(modules[m].module_level.iter().copied());
                }
                for (phase, rows) in ["setup", "run", "teardown"].iter().zip(&phases) {
                    if rows.is_empty() {
                        continue;
                    }
                    ctx_stmt.execute(params![next_context, format!("{node_id}|{phase}")])?;
                    summary.contexts += 1;
                    for (&file, lines) in rows {
                        let mut blob = numbits(lines.iter().copied());
                        // Combined data sometimes carries trailing zero bytes; readers must cope.
                        if rng.gen_bool(0.005) {
                            blob.extend([0, 0]);
                            trailing_zeros += 1;
                        }
                        row_stmt.execute(params![file as i64 + 1, next_context, blob])?;
                        summary.line_bits_rows += 1;
                    }
                    next_context += 1;
                }
            }
        }
        let _ = trailing_zeros;
    }
    tx.commit()?;
    summary.files = modules.len();
    Ok(summary)
}

/// A log-normal sample by Box-Muller (rand 0.8 has no distributions crate here).
fn log_normal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

/// Write `reports/junit-K.xml` (pytest xunit2 layout) and `.test_durations`; return the total.
fn write_durations(
    spec: &Spec,
    rng: &mut StdRng,
    out: &Path,
    test_files: &[TestFile],
) -> Result<f64> {
    // (test file, node id, class, name, seconds, outcome)
    type Case<'a> = (&'a TestFile, &'a str, &'a Option<String>, &'a str, f64, u8);
    let mut cases: Vec<Case> = Vec::new();
    for tf in test_files {
        for (node_id, class, name) in &tf.tests {
            // Log-normal around 80 ms; one test in 500 is an integration test of 20 s to 3 min.
            let seconds = if rng.gen_bool(0.002) {
                rng.gen_range(20.0..180.0)
            } else {
                log_normal(rng, 0.08, 1.3)
            };
            // 0: passed, 1: failed, 2: skipped.
            let outcome = match rng.gen_range(0..1000) {
                0..=1 => 1,
                2..=11 => 2,
                _ => 0,
            };
            cases.push((tf, node_id, class, name, seconds, outcome));
        }
    }
    let reports = out.join("reports");
    std::fs::create_dir_all(&reports)?;
    let per_shard = cases.len().div_ceil(spec.junit_shards);
    for (k, chunk) in cases.chunks(per_shard.max(1)).enumerate() {
        let failures = chunk.iter().filter(|c| c.5 == 1).count();
        let skipped = chunk.iter().filter(|c| c.5 == 2).count();
        let time: f64 = chunk.iter().map(|c| c.4).sum();
        let mut xml = String::with_capacity(chunk.len() * 120);
        let _ = write!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite name=\"pytest\" errors=\"0\" failures=\"{failures}\" skipped=\"{skipped}\" tests=\"{}\" time=\"{time:.3}\" timestamp=\"2026-11-26T03:00:00.000000+00:00\" hostname=\"runner-{}\">",
            chunk.len(),
            k + 1
        );
        for (tf, _, class, name, seconds, outcome) in chunk {
            let classname = match class {
                Some(c) => format!("{}.{c}", tf.dotted),
                None => tf.dotted.clone(),
            };
            let _ = write!(
                xml,
                "<testcase classname=\"{classname}\" name=\"{name}\" time=\"{seconds:.3}\""
            );
            match outcome {
                1 => {
                    let _ = write!(
                        xml,
                        "><failure message=\"assert 41 == 42\">{}:12: in {name}\n    assert 41 == 42\nE   assert 41 == 42</failure></testcase>",
                        tf.path
                    );
                }
                2 => {
                    let _ = write!(
                        xml,
                        "><skipped type=\"pytest.skip\" message=\"needs network\">{}:7: needs network</skipped></testcase>",
                        tf.path
                    );
                }
                _ => xml.push_str(" />"),
            }
        }
        xml.push_str("</testsuite></testsuites>");
        std::fs::write(reports.join(format!("junit-{}.xml", k + 1)), xml)?;
    }
    let durations: BTreeMap<&str, f64> = cases
        .iter()
        .filter(|c| c.5 != 2)
        .map(|c| (c.1, (c.4 * 1000.0).round() / 1000.0))
        .collect();
    std::fs::write(
        out.join(".test_durations"),
        serde_json::to_string_pretty(&durations)?,
    )?;
    Ok(cases.iter().map(|c| c.4).sum())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.email=bench@covshard.invalid",
            "-c",
            "user.name=covshard bench",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        // Fixed dates: the same seed gives the same commits.
        .env("GIT_AUTHOR_DATE", "2026-11-26T03:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-26T03:00:00Z")
        .status()
        .with_context(|| format!("running git {args:?}"))?;
    if !status.success() {
        bail!("git {args:?} failed in {}", dir.display());
    }
    Ok(())
}

/// An edit made on a `diff-N` branch.
#[derive(Debug, Clone, serde::Serialize)]
struct Edit {
    path: String,
    line: u32,
    kind: &'static str,
}

/// Commit the tree as `base` on `main`, then one branch per diff size.
fn git_repo(
    spec: &Spec,
    rng: &mut StdRng,
    out: &Path,
    modules: &mut [Module],
    first_module: usize,
    core: usize,
) -> Result<()> {
    git(out, &["init", "-q", "-b", "main"])?;
    git(out, &["add", "-A"])?;
    git(
        out,
        &["commit", "-q", "-m", "base: the commit of the full run"],
    )?;
    git(out, &["tag", "base"])?;
    let module_count = modules.len() - first_module;
    let mut all_edits: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    for &n in spec.diffs {
        let n = n.min(module_count);
        // One module in ten a pull request touches is a core module; one edit in ten changes a
        // module-level constant, the rest change a function body.
        let core_edits = (n / 10).min(core);
        let mut chosen: BTreeSet<usize> = BTreeSet::new();
        while chosen.len() < core_edits {
            chosen.insert(rng.gen_range(0..core));
        }
        while chosen.len() < n {
            chosen.insert(rng.gen_range(core..module_count));
        }
        let constant_edits = n / 10;
        let mut order: Vec<usize> = chosen.into_iter().collect();
        order.shuffle(rng);
        let mut edits = Vec::new();
        let mut edited: Vec<(usize, Vec<String>)> = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            let m = &modules[first_module + i];
            let mut lines = m.lines.clone();
            let (line, kind) = if k < constant_edits && i >= core {
                let line = m.constants[0];
                lines[line as usize - 1] = format!("LIMIT = {}", rng.gen_range(500..900));
                (line, "constant")
            } else {
                let f = &m.functions[rng.gen_range(0..m.functions.len())];
                let text = &mut lines[f.edit_line as usize - 1];
                text.push_str(" + 1");
                (f.edit_line, "function body")
            };
            edits.push(Edit {
                path: m.path.clone(),
                line,
                kind,
            });
            edited.push((first_module + i, lines));
        }
        let branch = format!("diff-{n}");
        git(out, &["checkout", "-q", "-b", &branch, "base"])?;
        for (i, lines) in &edited {
            write_lines(&out.join(&modules[*i].path), lines)?;
        }
        git(
            out,
            &["commit", "-q", "-a", "-m", &format!("edit {n} modules")],
        )?;
        git(out, &["checkout", "-q", "main"])?;
        all_edits.insert(branch, edits);
    }
    if spec.core_branch {
        let m = &modules[first_module];
        let f = &m.functions[rng.gen_range(0..m.functions.len())];
        let mut lines = m.lines.clone();
        lines[f.edit_line as usize - 1].push_str(" + 1");
        git(out, &["checkout", "-q", "-b", "core-1", "base"])?;
        write_lines(&out.join(&m.path), &lines)?;
        git(out, &["commit", "-q", "-a", "-m", "edit the core module"])?;
        git(out, &["checkout", "-q", "main"])?;
        let edit = Edit {
            path: m.path.clone(),
            line: f.edit_line,
            kind: "function body",
        };
        all_edits.insert("core-1".into(), vec![edit]);
    }
    std::fs::write(
        out.join("edits.json"),
        serde_json::to_string_pretty(&all_edits)?,
    )?;
    Ok(())
}
