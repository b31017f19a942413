//! Changes to the files that configure many Python tools at once: `pyproject.toml`, `setup.cfg`
//! and `tox.ini`. They are run-all files, because pytest's, coverage.py's and the packaging's
//! settings live there; but most of their changes in real histories touch sections no test
//! reads: a linter's rules, a type checker's strictness, the release tooling, the classifiers.
//! Comparing the two sides section by section tells those apart.
//!
//! A changed section of a tool that does not run the tests ([`INERT_TOOLS`]), or a changed
//! metadata field of the package (the version, description, classifiers...), can still reach
//! a test: through a pytest plugin that runs the tool as test items (`--mypy`, `--ruff`), a test
//! that runs the tool or reads the file, or code that reads the installed metadata. So such a
//! change is followed to the code that mentions what changed ([`Readers`]); everything else
//! (and anything that fails to parse) runs every test, as before.

use std::collections::{BTreeMap, BTreeSet};

use super::{Engine, Reason, Rule, is_conftest};
use crate::config::ToolConfig;
use crate::diff::FileChange;
use crate::error::Result;

/// Tools whose configuration changes no test outcome unless a test runs the tool: linters,
/// formatters, type checkers, spell checkers and release tools. Compared without case and
/// without `-` and `_`.
pub const INERT_TOOLS: &[&str] = &[
    "autoflake",
    "autopep8",
    "bandit",
    "basedpyright",
    "black",
    "blackendocs",
    "bumpmyversion",
    "bumpversion",
    "bumpver",
    "checkmanifest",
    "codespell",
    "commitizen",
    "darglint",
    "deptry",
    "doc8",
    "docformatter",
    "flake8",
    "flynt",
    "interrogate",
    "isort",
    "mdformat",
    "mypy",
    "pycln",
    "pycodestyle",
    "pydoclint",
    "pydocstyle",
    "pylint",
    "pyprojectfmt",
    "pyrefly",
    "pyright",
    "pytype",
    "pyupgrade",
    "refurb",
    "repo-review",
    "rstcheck",
    "ruff",
    "scriv",
    "semanticrelease",
    "slotscheck",
    "towncrier",
    "ty",
    "typos",
    "validatepyproject",
    "vulture",
    "yapf",
];

/// `[project]` fields that only describe the package (read back only through its installed
/// metadata).
const METADATA_FIELDS: &[&str] = &[
    "authors",
    "classifiers",
    "description",
    "keywords",
    "license",
    "license-files",
    "maintainers",
    "readme",
    "urls",
    "version",
];

/// `[metadata]` keys of `setup.cfg` that only describe the package.
const SETUP_CFG_METADATA: &[&str] = &[
    "author",
    "author_email",
    "classifiers",
    "description",
    "keywords",
    "license",
    "license_files",
    "long_description",
    "long_description_content_type",
    "maintainer",
    "maintainer_email",
    "platforms",
    "project_urls",
    "url",
    "version",
];

/// Lowercase, without `-`, `_` and `.`: how tool names are compared.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_inert_tool(name: &str) -> bool {
    let name = normalise(name);
    INERT_TOOLS.iter().any(|t| normalise(t) == name)
}

/// What the code that could notice a change must mention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readers {
    /// Tools whose sections changed, normalised.
    pub tools: BTreeSet<String>,
    /// Whether package metadata changed (read through `importlib.metadata` and the like).
    pub metadata: bool,
}

/// The verdict on a changed configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Only inert sections changed: what the changes can reach through.
    Inert(Readers),
    /// This section (`[tool.pytest.ini_options]`, `[project] dependencies`) can change how the
    /// tests run or what is installed, or the file did not parse.
    Effective(String),
}

/// Compare the base and new text of a configuration file, by its name.
pub fn compare(file_name: &str, old: &str, new: &str) -> Verdict {
    match file_name {
        "pyproject.toml" => compare_pyproject(old, new),
        "setup.cfg" => compare_ini(old, new, true),
        "tox.ini" => compare_ini(old, new, false),
        other => Verdict::Effective(format!("{other} is not compared by section")),
    }
}

/// Whether the text may use TOML 1.1, which this parser reads and Python's `tomllib` (TOML
/// 1.0, what pytest and pip read) refuses: an inline table over several lines or with a
/// trailing comma, the `\e` and `\x` escapes. Judged on the text, erring towards yes.
fn may_be_toml_1_1(text: &str) -> bool {
    if text.contains("\\e") || text.contains("\\x") {
        return true;
    }
    let mut depth = 0usize;
    let mut last = ' ';
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                if depth > 0 && last == ',' {
                    return true;
                }
                depth = depth.saturating_sub(1);
            }
            '\n' if depth > 0 => return true,
            _ => {}
        }
        if !c.is_whitespace() {
            last = c;
        }
    }
    false
}

fn compare_pyproject(old: &str, new: &str) -> Verdict {
    if may_be_toml_1_1(old) || may_be_toml_1_1(new) {
        return Verdict::Effective("syntax that pytest's TOML reader may refuse".into());
    }
    let (Ok(old), Ok(new)) = (old.parse::<toml::Table>(), new.parse::<toml::Table>()) else {
        return Verdict::Effective("the file does not parse as TOML on both sides".into());
    };
    let mut readers = Readers::default();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        match key.as_str() {
            "tool" => {
                let (a, b) = (tables(a), tables(b));
                let tools: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for tool in tools {
                    if a.get(tool) == b.get(tool) {
                        continue;
                    }
                    if !is_inert_tool(tool) {
                        return Verdict::Effective(format!("[tool.{tool}]"));
                    }
                    readers.tools.insert(normalise(tool));
                }
            }
            "project" => {
                let (a, b) = (tables(a), tables(b));
                let fields: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for field in fields {
                    if a.get(field) == b.get(field) {
                        continue;
                    }
                    if !METADATA_FIELDS.contains(&field.as_str()) {
                        return Verdict::Effective(format!("[project] {field}"));
                    }
                    readers.metadata = true;
                }
            }
            other => return Verdict::Effective(format!("[{other}]")),
        }
    }
    Verdict::Inert(readers)
}

fn tables(value: Option<&toml::Value>) -> BTreeMap<String, toml::Value> {
    match value {
        Some(toml::Value::Table(t)) => t.clone().into_iter().collect(),
        // A key that is not a table on one side: compared as a whole under an empty name,
        // which no tool or field has, so it is effective.
        Some(other) => [(String::new(), other.clone())].into(),
        None => BTreeMap::new(),
    }
}

/// The sections of an INI file, each as its meaningful lines (comments and blank lines
/// dropped, whitespace trimmed), in order. Lines before the first section count as a section
/// of their own (named ``), which no tool has. `None` for a file pytest's or setuptools'
/// reader might take differently than this one: a header it cannot read, a section given
/// twice, a line that is neither a key nor a continuation.
fn ini_sections(text: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if !indented && trimmed.starts_with('[') {
            // `[name]`, perhaps followed by a comment.
            let (header, rest) = trimmed[1..].split_once(']')?;
            let rest = rest.trim();
            if !(rest.is_empty() || rest.starts_with('#') || rest.starts_with(';')) {
                return None;
            }
            current = header.trim().to_string();
            if out.insert(current.clone(), Vec::new()).is_some() {
                return None;
            }
            continue;
        }
        // Indentation marks a continuation line, which belongs to the key above.
        if !indented && !trimmed.contains(['=', ':']) {
            return None;
        }
        out.entry(current.clone())
            .or_default()
            .push(format!("{}{trimmed}", if indented { "  " } else { "" }));
    }
    Some(out)
}

/// The tool an INI section configures: `[flake8]`, `[mypy]`, `[mypy-pkg.*]`,
/// `[pydocstyle]`, `[tool:isort]`. `None` for a section of anything else.
fn ini_tool(section: &str) -> Option<&str> {
    let name = section.strip_prefix("tool:").unwrap_or(section);
    let name = name.split(['-', ':']).next().unwrap_or(name);
    is_inert_tool(name).then_some(name)
}

fn compare_ini(old: &str, new: &str, setup_cfg: bool) -> Verdict {
    // setuptools reads every section of setup.cfg with `%` interpolation; tox substitutes
    // `{[section]key}` from one section into another.
    let substitutes = |text: &str| {
        if setup_cfg {
            text.contains('%')
        } else {
            text.contains("{[")
        }
    };
    if substitutes(old) || substitutes(new) {
        return Verdict::Effective("a value taken from another section".into());
    }
    let (Some(old), Some(new)) = (ini_sections(old), ini_sections(new)) else {
        return Verdict::Effective("the file does not parse as INI on both sides".into());
    };
    let mut readers = Readers::default();
    let sections: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for section in sections {
        let (a, b) = (old.get(section), new.get(section));
        if a == b {
            continue;
        }
        if let Some(tool) = ini_tool(section) {
            readers.tools.insert(normalise(tool));
            continue;
        }
        if setup_cfg && section == "metadata" && metadata_only(a, b) {
            readers.metadata = true;
            continue;
        }
        return Verdict::Effective(format!("[{section}]"));
    }
    Verdict::Inert(readers)
}

/// Whether two versions of `setup.cfg`'s `[metadata]` differ only in describing keys.
fn metadata_only(a: Option<&Vec<String>>, b: Option<&Vec<String>>) -> bool {
    let keyed = |lines: Option<&Vec<String>>| -> Option<BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut key: Option<String> = None;
        for line in lines.into_iter().flatten() {
            if let Some(rest) = line.strip_prefix("  ") {
                out.get_mut(key.as_ref()?)?.push(rest.to_string());
            } else {
                let (k, v) = line.split_once(['=', ':'])?;
                let k = k.trim().to_string();
                out.entry(k.clone()).or_default().push(v.trim().to_string());
                key = Some(k);
            }
        }
        Some(out)
    };
    let (Some(a), Some(b)) = (keyed(a), keyed(b)) else {
        return false;
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .all(|k| SETUP_CFG_METADATA.contains(&k.as_str()))
}

/// Whether a word of source names a tool: one of its parts (split at `-`, `_` and `.`) is the
/// tool's name (`pytest-mypy`, `ruff.toml`, `ty`), or, for names of four letters or more,
/// the word holds it (`flake-8`, `TestMypy`, `pyrightconfig`).
fn names_tool(word: &str, tool: &str) -> bool {
    word.split(['-', '_', '.'])
        .any(|part| normalise(part) == tool)
        || (tool.len() >= 4 && normalise(word).contains(tool))
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .filter(|w| !w.is_empty())
}

/// Whether Python source mentions what a change can reach it through: a changed tool's name,
/// one of `spellings` (lowercase: the file's name, or what else names what changed), or, for
/// metadata, the APIs that read installed metadata.
pub fn mentions(source: &str, readers: &Readers, spellings: &[&str]) -> bool {
    mentions_lowercase(&source.to_lowercase(), readers, spellings)
}

fn mentions_lowercase(lower: &str, readers: &Readers, spellings: &[&str]) -> bool {
    if spellings.iter().any(|s| lower.contains(s)) {
        return true;
    }
    if readers.metadata
        && [
            "metadata",
            "pkg_resources",
            "version_option",
            "dist-info",
            "pkg-info",
        ]
        .iter()
        .any(|api| lower.contains(api))
    {
        return true;
    }
    !readers.tools.is_empty()
        && words(lower).any(|word| readers.tools.iter().any(|t| names_tool(word, t)))
}

/// Whether a test's node id names a changed tool after its file: the items of pytest plugins
/// that run a tool as tests (`src/m.py::mypy`, `src/m.py::ruff::format`,
/// `src/m.py::flake-8::FLAKE8`).
pub fn plugin_item(node_id: &str, readers: &Readers) -> bool {
    let Some((_, items)) = node_id.split_once("::") else {
        return false;
    };
    let items = items.to_lowercase();
    words(&items).any(|word| readers.tools.iter().any(|t| names_tool(word, t)))
}

/// The text of pytest's configuration files in `dirs` (the repository root and pytest's
/// rootdir), lowercase: `pytest.ini`, `.pytest.ini`, `pytest.toml`, `.pytest.toml`, the
/// `[tool.pytest...]` tables of `pyproject.toml`, `[pytest]` of `tox.ini`, `[tool:pytest]` of
/// `setup.cfg`; the whole file where it does not parse.
fn pytest_configuration(dirs: &[std::path::PathBuf]) -> String {
    let mut text = String::new();
    for dir in dirs {
        let read = |name: &str| crate::text::read(&dir.join(name)).unwrap_or_default();
        for name in ["pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"] {
            text.push_str(&read(name));
            text.push('\n');
        }
        let pyproject = read("pyproject.toml");
        match pyproject.parse::<toml::Table>() {
            Ok(table) => {
                if let Some(pytest) = table.get("tool").and_then(|t| t.get("pytest")) {
                    text.push_str(&pytest.to_string());
                }
            }
            Err(_) => text.push_str(&pyproject),
        }
        text.push('\n');
        for (file, section) in [("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")] {
            let ini = read(file);
            match ini_sections(&ini) {
                Some(sections) => {
                    if let Some(lines) = sections.get(section) {
                        text.push_str(&lines.join("\n"));
                    }
                }
                None => text.push_str(&ini),
            }
            text.push('\n');
        }
    }
    text.to_lowercase()
}

/// Words of code that runs other programs: a test that does may run a changed tool under
/// another name (`pre-commit run`, `tox -e lint`, a script).
const RUNS_PROGRAMS: &[&str] = &[
    "subprocess",
    "popen",
    "os.system",
    "check_call",
    "check_output",
    "spawn",
    "pexpect",
    "plumbum",
];

/// Names under which tools are run for one another.
const TOOL_RUNNERS: &[&str] = &["lint", "precommit", "tox", "nox", "makefile"];

/// How a changed run-all file was read by [`Engine::apply_tool_config`].
pub(super) enum ToolConfigChange {
    /// Not a configuration file compared by section (or comparing is off, or the file was
    /// added, deleted or renamed).
    NotCompared,
    /// Compared: this section can change how tests run.
    Effective(String),
    /// Only inert sections changed; the tests that can notice are selected. The handling.
    Followed(String),
}

impl Engine<'_> {
    /// A tracked file other than Python source that names a pytest plugin running a tool as
    /// tests (`pytest-mypy` in requirements, `--mypy` in a CI workflow or `tox.ini`).
    fn plugin_enabled(&self) -> Result<Option<String>> {
        let needles: Vec<String> = INERT_TOOLS
            .iter()
            .flat_map(|t| {
                [
                    format!("pytest-{t}"),
                    format!("pytest_{t}"),
                    format!("--{t}"),
                ]
            })
            .collect();
        for path in self.tracked.iter().filter(|p| !p.ends_with(".py")) {
            let full = self.req.repo_root.join(path);
            let Ok(meta) = std::fs::metadata(&full) else {
                continue;
            };
            if !meta.is_file() || meta.len() > 1 << 20 {
                continue;
            }
            let Ok(bytes) = std::fs::read(&full) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes).to_lowercase();
            if needles.iter().any(|n| {
                text.match_indices(n.as_str()).any(|(at, _)| {
                    // `--mypy` but not `--mypy-ini-file`'s prefix of another word.
                    !text[at + n.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            }) {
                return Ok(Some(path.clone()));
            }
        }
        Ok(None)
    }

    /// pytest's configuration at the repository root and the rootdir, lowercase.
    /// Read once per selection: several rules ask for it, per changed file.
    pub(super) fn pytest_configuration(&mut self) -> &str {
        if self.pytest_config.is_none() {
            self.pytest_config = Some(pytest_configuration(&[
                self.req.repo_root.to_path_buf(),
                self.req.repo_root.join(&self.out.rootdir),
            ]));
        }
        self.pytest_config.as_deref().expect("read above")
    }

    /// A modified `pyproject.toml`, `setup.cfg` or `tox.ini`: compared by section, and when
    /// only inert sections changed, the tests that can notice them are selected.
    pub(super) fn apply_tool_config(&mut self, change: &FileChange) -> Result<ToolConfigChange> {
        let (Some(old_path), Some(new_path)) = (&change.old_path, &change.new_path) else {
            return Ok(ToolConfigChange::NotCompared);
        };
        // Only the files at the root: one deeper down may be a test's fixture project, or
        // another package's configuration.
        let file_name = new_path.as_str();
        let compared = ["pyproject.toml", "setup.cfg", "tox.ini"].contains(&file_name);
        if old_path != new_path
            || !compared
            || self.req.config.selection.tool_config != ToolConfig::Sections
        {
            return Ok(ToolConfigChange::NotCompared);
        }
        let Some(base) = self.req.base.as_deref() else {
            return Ok(ToolConfigChange::Effective(format!(
                "{file_name} (no base commit to compare it with)"
            )));
        };
        let old = crate::git::read_blobs(self.req.repo_root, base, std::slice::from_ref(old_path))?;
        let new = crate::text::read(&self.req.repo_root.join(new_path));
        let (Some(old), Ok(new)) = (old.get(old_path.as_str()), new) else {
            return Ok(ToolConfigChange::Effective(format!(
                "{file_name} (unreadable on one side)"
            )));
        };
        let readers = match compare(file_name, &String::from_utf8_lossy(old), &new) {
            Verdict::Effective(section) => return Ok(ToolConfigChange::Effective(section)),
            Verdict::Inert(readers) => readers,
        };
        let mention = match file_name {
            "pyproject.toml" => "pyproject",
            other => other,
        };
        if let Some(effective) = self.select_tool_readers(readers.clone(), &[mention], new_path)? {
            return Ok(ToolConfigChange::Effective(effective));
        }
        let mut what: Vec<String> = readers.tools.iter().cloned().collect();
        if readers.metadata {
            what.push("package metadata".into());
        }
        Ok(ToolConfigChange::Followed(if what.is_empty() {
            format!("{file_name}: comments and layout only; the tests that mention the file")
        } else {
            format!(
                "{file_name}: only {} changed; the tests that mention them",
                what.join(", ")
            )
        }))
    }

    /// Select what can notice a change that only `readers` read (`changed`, a file that code
    /// reading it mentions by one of `spellings`): the test files and conftests that mention
    /// a tool, one of the spellings or the metadata APIs, and the items of pytest plugins
    /// that run the tools. `Some` says why every test must run instead (pytest runs a tool as
    /// tests).
    pub(super) fn select_tool_readers(
        &mut self,
        mut readers: Readers,
        spellings: &[&str],
        changed: &str,
    ) -> Result<Option<String>> {
        // pytest's own configuration may run a changed tool as tests (`addopts = "--mypy"`),
        // and so may a plugin the project installs (`pytest-mypy`) with flags given in CI.
        let pytest_config = self.pytest_configuration().to_string();
        if let Some(tool) = readers
            .tools
            .iter()
            .find(|t| words(&pytest_config).any(|w| names_tool(w, t)))
        {
            return Ok(Some(format!(
                "{changed}, read by {tool}, which pytest's configuration names"
            )));
        }
        if !readers.tools.is_empty() {
            // One tool reads another's configuration (flake8 plugins read isort's and
            // black's, autopep8 pycodestyle's): any of them may be affected.
            readers.tools = INERT_TOOLS
                .iter()
                .chain(TOOL_RUNNERS)
                .map(|t| normalise(t))
                .collect();
            if let Some(place) = self.plugin_enabled()? {
                return Ok(Some(format!(
                    "{changed}, read by tools, and {place} installs or enables a pytest plugin that runs tools as tests"
                )));
            }
        }
        let reason = Reason::new(Rule::ToolConfig).file(changed);
        // Code that mentions a changed tool, the file or the metadata APIs.
        let python: Vec<String> = self
            .tracked
            .iter()
            .filter(|p| p.ends_with(".py"))
            .cloned()
            .collect();
        let mut readers_found = Vec::new();
        for path in python {
            let source = match crate::text::read(&self.req.repo_root.join(&path)) {
                Ok(source) => source,
                // Unreadable here (another encoding): it may mention anything.
                Err(_) => {
                    readers_found.push(path);
                    continue;
                }
            };
            let lower = source.to_lowercase();
            let spawns =
                !readers.tools.is_empty() && RUNS_PROGRAMS.iter().any(|w| lower.contains(w));
            if mentions_lowercase(&lower, &readers, spellings)
                || (spawns && (is_conftest(&path) || self.is_test_side(&path)))
            {
                readers_found.push(path);
            }
        }
        for path in readers_found {
            if is_conftest(&path) {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                let id = self.to_pytest_path(dir);
                if id == "." {
                    self.run_all(reason.clone().via(format!("{path} mentions it")));
                } else {
                    self.add(id, reason.clone().via(format!("{path} mentions it")));
                }
            } else if self.is_test_module(&path) {
                let id = self.to_pytest_path(&path);
                self.add(id, reason.clone().via("its file mentions it"));
                self.select_importers(&[path.as_str()], Rule::ToolConfig, changed, &[])?;
            } else {
                // Code outside the tests that mentions it may read it while tests run.
                self.run_all(reason.clone().via(format!(
                    "{path} mentions it and may read it while tests run"
                )));
            }
        }
        // The items of plugins that run a changed tool as tests.
        if !readers.tools.is_empty() {
            let mut items = BTreeSet::new();
            // Items of files that are not Python (text doctests, YAML cases) are collected by
            // plugins too, and may run anything.
            let mut consider = |id: &str| {
                let file = crate::nodeid::file_of(id);
                if plugin_item(id, &readers) || !file.ends_with(".py") {
                    items.insert(id.to_string());
                }
            };
            for id in self.req.db.test_ids()? {
                consider(&id);
            }
            crate::history::for_each_known_test(self.req.db.connection(), &mut consider)?;
            for id in self.req.collected.iter().flatten() {
                consider(id);
            }
            for id in items {
                self.add(id, reason.clone().via("a plugin's item for the tool"));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inert(tools: &[&str], metadata: bool) -> Verdict {
        Verdict::Inert(Readers {
            tools: tools.iter().map(|t| t.to_string()).collect(),
            metadata,
        })
    }

    const PYPROJECT: &str = r#"
[project]
name = "pkg"
version = "1.0"
dependencies = ["attrs"]
classifiers = ["Programming Language :: Python :: 3.12"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E"]

[tool.pytest.ini_options]
addopts = "-ra"

[tool.mypy]
strict = true
"#;

    #[test]
    fn linter_and_metadata_changes_in_pyproject_are_inert() {
        let ruff = PYPROJECT.replace("select = [\"E\"]", "select = [\"E\", \"F\"]");
        assert_eq!(
            compare("pyproject.toml", PYPROJECT, &ruff),
            inert(&["ruff"], false)
        );
        let both = ruff.replace("strict = true", "strict = false");
        assert_eq!(
            compare("pyproject.toml", PYPROJECT, &both),
            inert(&["mypy", "ruff"], false)
        );
        let release = PYPROJECT
            .replace("version = \"1.0\"", "version = \"1.1\"")
            .replace(
                "3.12\"]",
                "3.12\", \"Programming Language :: Python :: 3.13\"]",
            );
        assert_eq!(
            compare("pyproject.toml", PYPROJECT, &release),
            inert(&[], true)
        );
        // Comments and layout only: nothing changed that anything reads.
        let comment = PYPROJECT.replace("[tool.mypy]", "# type checking\n[tool.mypy]");
        assert_eq!(
            compare("pyproject.toml", PYPROJECT, &comment),
            inert(&[], false)
        );
    }

    #[test]
    fn sections_that_change_how_tests_run_are_effective() {
        let cases = [
            ("addopts = \"-ra\"", "addopts = \"-ra -x\"", "[tool.pytest]"),
            (
                "dependencies = [\"attrs\"]",
                "dependencies = [\"attrs>=23\"]",
                "[project] dependencies",
            ),
            ("name = \"pkg\"", "name = \"pkg2\"", "[project] name"),
            (
                "[tool.mypy]",
                "[tool.coverage.run]\nbranch = true\n\n[tool.mypy]",
                "[tool.coverage]",
            ),
            (
                "[tool.mypy]",
                "[build-system]\nrequires = [\"hatchling\"]\n\n[tool.mypy]",
                "[build-system]",
            ),
            (
                "[tool.mypy]",
                "[tool.hatch.build]\ninclude = [\"src\"]\n\n[tool.mypy]",
                "[tool.hatch]",
            ),
        ];
        for (from, to, section) in cases {
            let new = PYPROJECT.replace(from, to);
            assert_ne!(new, PYPROJECT);
            assert_eq!(
                compare("pyproject.toml", PYPROJECT, &new),
                Verdict::Effective(section.into()),
                "{from} -> {to}"
            );
        }
        assert!(matches!(
            compare("pyproject.toml", PYPROJECT, "[project\nbroken"),
            Verdict::Effective(_)
        ));
    }

    const SETUP_CFG: &str = "[metadata]\nname = pkg\nversion = 1.0\nclassifiers =\n    A\n    B\n\n[options]\ninstall_requires = attrs\n\n[flake8]\nmax-line-length = 88\n\n[mypy-pkg.*]\nignore_errors = True\n\n[tool:pytest]\naddopts = -ra\n";

    #[test]
    fn ini_files_are_compared_by_section() {
        let flake8 = SETUP_CFG.replace("88", "100");
        assert_eq!(
            compare("setup.cfg", SETUP_CFG, &flake8),
            inert(&["flake8"], false)
        );
        let mypy = SETUP_CFG.replace("ignore_errors = True", "ignore_errors = False");
        assert_eq!(
            compare("setup.cfg", SETUP_CFG, &mypy),
            inert(&["mypy"], false)
        );
        let release = SETUP_CFG
            .replace("version = 1.0", "version = 1.1")
            .replace("    B", "    B\n    C");
        assert_eq!(compare("setup.cfg", SETUP_CFG, &release), inert(&[], true));
        for (from, to, section) in [
            ("name = pkg", "name = other", "[metadata]"),
            (
                "install_requires = attrs",
                "install_requires = attrs>=23",
                "[options]",
            ),
            ("addopts = -ra", "addopts = -x", "[tool:pytest]"),
        ] {
            let new = SETUP_CFG.replace(from, to);
            assert_eq!(
                compare("setup.cfg", SETUP_CFG, &new),
                Verdict::Effective(section.into()),
                "{from} -> {to}"
            );
        }
        let tox =
            "[tox]\nenvlist = py312\n\n[testenv]\ncommands = pytest\n\n[isort]\nprofile = black\n";
        assert_eq!(
            compare("tox.ini", tox, &tox.replace("black", "google")),
            inert(&["isort"], false)
        );
        assert_eq!(
            compare(
                "tox.ini",
                tox,
                &tox.replace("commands = pytest", "commands = pytest -x")
            ),
            Verdict::Effective("[testenv]".into())
        );
    }

    #[test]
    fn files_the_python_readers_may_read_otherwise_are_effective() {
        let flake8 = "[flake8]\nmax-line-length = 88\n\n[tool:pytest]\naddopts = -ra\n";
        // A header with a comment is a header: the pytest section's change is seen.
        let commented = flake8.replace("[tool:pytest]", "[tool:pytest]  # pytest");
        assert_eq!(
            compare("setup.cfg", &commented, &commented.replace("-ra", "-x")),
            Verdict::Effective("[tool:pytest]".into())
        );
        for broken in [
            flake8.replace("[tool:pytest]", "[tool:pytest] junk"),
            format!("{flake8}\n[flake8]\nselect = E\n"),
            flake8.replace("max-line-length = 88", "max-line-length = 88\nnot a key"),
            flake8.replace("88", "%(width)s"),
        ] {
            assert!(
                matches!(compare("setup.cfg", flake8, &broken), Verdict::Effective(_)),
                "{broken}"
            );
        }
        let tox = "[tox]\nenvlist = lint\n\n[flake8]\nmax-line-length = 88\n";
        let substituted =
            format!("{tox}\n[testenv:lint]\ncommands = flake8 {{[flake8]max-line-length}}\n");
        assert!(matches!(
            compare("tox.ini", tox, &substituted),
            Verdict::Effective(_)
        ));
        let pyproject = "[tool.ruff]\nline-length = 100\n";
        for toml_1_1 in [
            "[tool.ruff]\nline-length = 100\nlint = {\n  select = [\"E\"]\n}\n",
            "[tool.ruff]\nline-length = 100\nlint = { select = [\"E\"], }\n",
        ] {
            assert!(
                matches!(
                    compare("pyproject.toml", pyproject, toml_1_1),
                    Verdict::Effective(_)
                ),
                "{toml_1_1}"
            );
        }
    }

    #[test]
    fn readers_are_found_by_the_words_they_use() {
        let ruff = Readers {
            tools: ["ruff".to_string()].into(),
            metadata: false,
        };
        assert!(mentions(
            "subprocess.run([\"ruff\", \"check\"])",
            &ruff,
            &["pyproject.toml"]
        ));
        assert!(mentions(
            "import tomllib\ntomllib.load(open('PyProject.toml', 'rb'))",
            &ruff,
            &["pyproject.toml"]
        ));
        assert!(!mentions(
            "def test_over():\n    assert over(11)\n",
            &ruff,
            &["pyproject.toml"]
        ));
        // Camel case and words that hold the name count (erring towards selecting).
        assert!(mentions(
            "class TestRuffClean:\n    pass\n",
            &ruff,
            &["pyproject.toml"]
        ));
        let metadata = Readers {
            tools: BTreeSet::new(),
            metadata: true,
        };
        assert!(mentions(
            "from importlib.metadata import version",
            &metadata,
            &["setup.cfg"]
        ));
        assert!(mentions(
            "from importlib import metadata",
            &metadata,
            &["setup.cfg"]
        ));
        assert!(mentions("open('setup.cfg')", &metadata, &["setup.cfg"]));
        assert!(!mentions("import json", &metadata, &["setup.cfg"]));
        let flake8 = Readers {
            tools: ["flake8".to_string()].into(),
            metadata: false,
        };
        assert!(plugin_item("src/m.py::flake-8::FLAKE8", &flake8));
        assert!(plugin_item("src/m.py::ruff::format", &ruff));
        assert!(!plugin_item("tests/test_ruff.py", &ruff));
        assert!(!plugin_item("tests/test_m.py::test_x", &ruff));
    }
}
