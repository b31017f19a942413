//! covshard's configuration: `covshard.toml` at the repository root, or `[tool.covshard]` in
//! `pyproject.toml`. Every key has a default, documented in `config/covshard.toml` (a test keeps
//! that file and [`Config::default`] equal). Unknown keys are errors, so a typo never silently
//! turns a safety rule off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::coverage::paths::Remap;
use crate::error::{Error, Result};
use crate::packing::Dist;
use crate::units::{Seconds, WorkerCount};

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub selection: SelectionConfig,
    pub paths: PathsConfig,
    pub durations: DurationsConfig,
    pub packing: PackingConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Function,
    Line,
}

/// What a change to import-time code (module-level and class-level statements, memoised
/// functions, functions run while modules are imported) selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportTime {
    /// Follow the names the change binds to the code that reads them; every dependent of the
    /// module only where names cannot be followed.
    Names,
    /// Every test that depends on the module (the rule before names were followed).
    Dependents,
}

/// What a change to `pyproject.toml`, `setup.cfg` or `tox.ini` that matches `run_all` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolConfig {
    /// Compare the file by section: a change only to sections of tools that do not run the
    /// tests, or to the package's metadata, selects the tests that mention them.
    Sections,
    /// Every change runs every test.
    RunAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmeasured {
    All,
    None,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileMap {
    pub files: Vec<String>,
    pub tests: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelectionConfig {
    pub run_all: Vec<String>,
    pub extra_run_all: Vec<String>,
    pub ignore: Vec<String>,
    pub extra_ignore: Vec<String>,
    pub test_files: Vec<String>,
    pub always_run: Vec<String>,
    pub rerun_failed: bool,
    pub granularity: Granularity,
    pub import_time: ImportTime,
    pub tool_config: ToolConfig,
    pub unmeasured: Unmeasured,
    pub map: Vec<FileMap>,
    pub source_roots: Vec<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Default for SelectionConfig {
    fn default() -> Self {
        SelectionConfig {
            run_all: strings(&[
                "pyproject.toml",
                "setup.py",
                "setup.cfg",
                "MANIFEST.in",
                "requirements*.txt",
                "requirements/**",
                "constraints*.txt",
                "*.lock",
                "Pipfile",
                "Pipfile.lock",
                "poetry.lock",
                "uv.lock",
                "pdm.lock",
                "tox.ini",
                "noxfile.py",
                "pytest.ini",
                ".coveragerc",
                "covshard.toml",
                ".github/workflows/**",
                ".github/actions/**",
                ".gitlab-ci.yml",
                ".gitlab/**",
                ".buildkite/**",
                ".circleci/**",
            ]),
            extra_run_all: Vec::new(),
            ignore: strings(&[
                ".coverage",
                ".coverage.*",
                "docs/**",
                "doc/**",
                "*.md",
                "*.rst",
                "LICENSE*",
                "AUTHORS*",
                "CHANGELOG*",
                "CHANGES*",
                ".gitignore",
                ".editorconfig",
                ".pre-commit-config.yaml",
            ]),
            extra_ignore: Vec::new(),
            test_files: strings(&["test_*.py", "*_test.py"]),
            always_run: Vec::new(),
            rerun_failed: true,
            granularity: Granularity::Function,
            import_time: ImportTime::Names,
            tool_config: ToolConfig::Sections,
            unmeasured: Unmeasured::All,
            map: Vec::new(),
            source_roots: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathsConfig {
    pub remap: Vec<Remap>,
    pub rootdir: Option<String>,
}

pub use crate::history::estimate::Statistic;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DurationsConfig {
    pub history: usize,
    pub statistic: Statistic,
    pub default_seconds: f64,
}

impl Default for DurationsConfig {
    fn default() -> Self {
        DurationsConfig {
            history: 10,
            statistic: Statistic::Median,
            default_seconds: 1.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GroupByChoice {
    Auto,
    None,
    File,
    Class,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PackingConfig {
    #[serde(with = "seconds_text")]
    pub shard_overhead: Seconds,
    #[serde(with = "seconds_text")]
    pub target: Seconds,
    pub max_shards: usize,
    pub group_by: GroupByChoice,
    /// Fixture setup costs set by hand: a glob over group keys (a test file as in node ids,
    /// `tests/test_db.py`, or a class, `tests/test_api.py::TestClient`) -> seconds. They win over
    /// the costs measured from report logs.
    pub setup: BTreeMap<String, SetupCost>,
    /// pytest-xdist worker processes per shard (`-n`): 1 (no xdist), a number, or `"auto"`
    /// (the runner's cores: `runner_cores`, else the CI's standard runner).
    pub workers: WorkerCount,
    /// pytest-xdist's `--dist` mode the shards run with.
    pub dist: Dist,
    /// Seconds from a shard's pytest start until its workers run tests (their start-up and
    /// collection); paid once per shard, the workers starting together.
    #[serde(with = "seconds_text")]
    pub worker_startup: Seconds,
    /// Cores of the runners the shards run on, for `workers = "auto"`.
    pub runner_cores: Option<usize>,
}

/// One configured setup cost (`"20s"`, `"1m"` or a number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SetupCost(#[serde(with = "seconds_text")] pub Seconds);

impl Default for PackingConfig {
    fn default() -> Self {
        PackingConfig {
            shard_overhead: Seconds(30.0),
            target: Seconds(300.0),
            max_shards: 64,
            group_by: GroupByChoice::Auto,
            setup: BTreeMap::new(),
            workers: WorkerCount::Fixed(1),
            dist: Dist::Load,
            worker_startup: Seconds(2.0),
            runner_cores: None,
        }
    }
}

/// Durations in configuration are written like on the command line (`"30s"`, `"5m"`) or as
/// a number of seconds.
mod seconds_text {
    use super::Seconds;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Seconds, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(value.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) if n.is_finite() && n >= 0.0 => Ok(Seconds(n)),
            Raw::Number(n) => Err(serde::de::Error::custom(format!("invalid duration {n}"))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Where a configuration was read from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Defaults,
    File(PathBuf),
}

impl Config {
    /// Load the configuration for the repository at `root`: `covshard.toml`, else
    /// `[tool.covshard]` of `pyproject.toml`, else the defaults. `explicit` overrides both.
    pub fn load(root: &Path, explicit: Option<&Path>) -> Result<(Config, Source)> {
        if let Some(path) = explicit {
            return Ok((
                Self::from_file(path, false)?,
                Source::File(path.to_path_buf()),
            ));
        }
        let own = root.join("covshard.toml");
        if own.is_file() {
            return Ok((Self::from_file(&own, false)?, Source::File(own)));
        }
        let pyproject = root.join("pyproject.toml");
        if pyproject.is_file() {
            let text = read(&pyproject)?;
            let value: toml::Table = toml::from_str(&text).map_err(|e| {
                Error::config(
                    &pyproject,
                    format!("invalid TOML: {}", e.to_string().trim_end()),
                )
                .with_hint(
                    "fix the syntax of pyproject.toml (covshard reads its [tool.covshard] section)",
                )
            })?;
            if let Some(section) = value.get("tool").and_then(|t| t.get("covshard")).cloned() {
                let config = section.try_into().map_err(|e: toml::de::Error| {
                    Error::config(&pyproject, format!("in [tool.covshard]: {}", e.to_string().trim_end()))
                        .with_hint("see config/covshard.toml in covshard's repository for every key and its default")
                })?;
                return Ok((config, Source::File(pyproject)));
            }
        }
        Ok((Config::default(), Source::Defaults))
    }

    fn from_file(path: &Path, _pyproject: bool) -> Result<Config> {
        let text = read(path)?;
        toml::from_str(&text).map_err(|e| {
            Error::config(path, e.to_string().trim_end()).with_hint(
                "see config/covshard.toml in covshard's repository for every key and its default",
            )
        })
    }

    /// Check what serde cannot: patterns compile, values are in range.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let s = &self.selection;
        for list in [
            &s.run_all,
            &s.extra_run_all,
            &s.ignore,
            &s.extra_ignore,
            &s.test_files,
            &s.always_run,
        ] {
            compile(list, path)?;
        }
        for entry in &s.map {
            compile(&entry.files, path)?;
        }
        if self.durations.history == 0 {
            return Err(Error::config(path, "durations.history must be at least 1")
                .with_hint("it is how many samples per test are kept; the default is 10"));
        }
        setup_patterns(&self.packing.setup, path)?;
        if self.packing.max_shards == 0 {
            return Err(Error::config(path, "packing.max_shards must be at least 1")
                .with_hint("it caps `--shards auto`; the default is 64"));
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<String> {
    crate::text::read(path)
        .map_err(|e| Error::config(path, "cannot read the configuration").caused_by(e))
}

/// `[packing.setup]` patterns, compiled: `*` stays within a path segment, `**` crosses them, and
/// the whole group key must match.
pub fn setup_patterns(
    setup: &BTreeMap<String, SetupCost>,
    source: &Path,
) -> Result<Vec<(globset::GlobMatcher, String, f64)>> {
    setup
        .iter()
        .map(|(pattern, cost)| {
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    Error::config(
                        source,
                        format!("invalid packing.setup pattern `{pattern}`: {e}"),
                    )
                })?;
            Ok((glob.compile_matcher(), pattern.clone(), cost.0.0))
        })
        .collect()
}

/// Compile gitignore-style patterns: a pattern without `/` matches a file name at any depth.
pub fn compile(patterns: &[String], source: &Path) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let anchored = pattern.trim_start_matches('/');
        let full = if anchored.contains('/') || pattern.starts_with('/') {
            anchored.to_string()
        } else {
            format!("**/{anchored}")
        };
        let glob = Glob::new(&full).map_err(|e| {
            Error::config(source, format!("invalid pattern `{pattern}`: {e}"))
                .with_hint("patterns are gitignore-style globs; write a literal `[` as `[[]`")
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| Error::config(source, format!("invalid patterns: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_defaults_equal_the_code() {
        let text = include_str!("../config/covshard.toml");
        let parsed: Config = toml::from_str(text).expect("config/covshard.toml parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = toml::from_str::<Config>("[selection]\nrun_al = []\n").unwrap_err();
        assert!(err.to_string().contains("run_al"), "{err}");
    }

    #[test]
    fn durations_in_config_accept_units() {
        let c: Config =
            toml::from_str("[packing]\nshard_overhead = \"1m\"\ntarget = 90\n").unwrap();
        assert_eq!(c.packing.shard_overhead, Seconds(60.0));
        assert_eq!(c.packing.target, Seconds(90.0));
    }

    #[test]
    fn setup_costs_take_durations_and_valid_patterns() {
        let c: Config =
            toml::from_str("[packing.setup]\n\"tests/db/*.py\" = \"20s\"\n\"tests/a.py::K\" = 3\n")
                .unwrap();
        assert_eq!(c.packing.setup["tests/db/*.py"], SetupCost(Seconds(20.0)));
        assert_eq!(c.packing.setup["tests/a.py::K"], SetupCost(Seconds(3.0)));
        assert!(c.validate(Path::new("covshard.toml")).is_ok());
        assert!(toml::from_str::<Config>("[packing.setup]\n\"a.py\" = \"soon\"\n").is_err());
        let bad: Config = toml::from_str("[packing.setup]\n\"a[.py\" = 1\n").unwrap();
        let err = bad.validate(Path::new("covshard.toml")).unwrap_err();
        assert!(err.to_string().contains("a[.py"), "{err}");
    }

    #[test]
    fn patterns_without_slash_match_at_any_depth() {
        let set = compile(&strings(&["*.md", "docs/**", "/setup.py"]), Path::new("x")).unwrap();
        assert!(set.is_match("README.md"));
        assert!(set.is_match("a/b/NOTES.md"));
        assert!(set.is_match("docs/x/y.py"));
        assert!(!set.is_match("src/docs/y.py"));
        assert!(set.is_match("setup.py"));
        assert!(!set.is_match("sub/setup.py"));
    }

    #[test]
    fn pyproject_section_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname='x'\n[tool.covshard.selection]\nalways_run = ['tests/smoke/**']\n",
        )
        .unwrap();
        let (config, source) = Config::load(dir.path(), None).unwrap();
        assert_eq!(config.selection.always_run, vec!["tests/smoke/**"]);
        assert!(matches!(source, Source::File(_)));
        std::fs::write(dir.path().join("covshard.toml"), "[selection]\nbogus = 1\n").unwrap();
        let err = Config::load(dir.path(), None).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::CONFIG);
    }
}
