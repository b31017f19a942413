//! Why a test was selected: the rule, the changed file, the lines, and what connects them.
//! Every selected test carries at least one [`Reason`]; `explain` prints them for people and
//! `select --format json` for machines.

use serde::{Deserialize, Serialize};

/// The selection rules of DESIGN.md, one variant per way a test can be selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The test ran changed lines (or, by default, the function that holds them).
    CoversChange,
    /// The test ran, or its file holds, code that reads a name the change binds or unbinds
    /// (followed from import-time code, a memoised function or a function run at import).
    ReadsName,
    /// The change is in import-time code of a module the test depends on.
    ImportTime,
    /// The change is in a memoised function the test may rely on.
    Memoised,
    /// The test file (or a conftest above it) imports a changed module, directly or not.
    ImportsChanged,
    /// The test's own file changed or was added.
    TestFileChanged,
    /// A `conftest.py` above the test changed.
    ConftestChanged,
    /// The test covered a file that was deleted or renamed.
    DeletedFile,
    /// Module-level code that pytest runs at collection (in a test module, a conftest or a
    /// test package) changed in a way that can reach other modules' state.
    CollectionSideEffect,
    /// A changed file matches a run-all pattern.
    RunAllPattern,
    /// A changed file was never measured and nothing maps it to tests.
    Unmeasured,
    /// Configuration maps the changed file to this test.
    Mapped,
    /// The test's code mentions a tool that reads the changed file (a tool whose section of
    /// `pyproject.toml`, `setup.cfg` or `tox.ini` changed, the package metadata, a type
    /// stub's checkers and linters), or is a plugin's item for that tool.
    ToolConfig,
    /// covshard has never seen the test (it is in the collected list only).
    NewTest,
    /// The collected list names none of the tests of its file, which is still there: the file
    /// no longer collects (an import that fails, a fixture or parametrization error).
    NoLongerCollects,
    /// Configuration says the test always runs.
    AlwaysRun,
    /// The test failed or errored in the last ingested run.
    FailedLastRun,
    /// The whole suite was asked for (`plan --all`).
    WholeSuite,
    /// There is no coverage data to select with, so every test runs.
    NoCoverageData,
}

impl Rule {
    /// Whether the rule selects node ids from the base's coverage contexts (tests that ran
    /// then), rather than from the history, the collected list or configuration.
    pub fn reads_contexts(self) -> bool {
        matches!(
            self,
            Rule::CoversChange
                | Rule::ReadsName
                | Rule::ImportTime
                | Rule::Memoised
                | Rule::DeletedFile
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            Rule::CoversChange => "ran changed code",
            Rule::ReadsName => "reads a name the change binds",
            Rule::ImportTime => "depends on a module whose import-time code changed",
            Rule::Memoised => "depends on a changed memoised function",
            Rule::ImportsChanged => "imports a changed module",
            Rule::TestFileChanged => "its test file changed",
            Rule::ConftestChanged => "a conftest.py above it changed",
            Rule::DeletedFile => "covered a deleted or renamed file",
            Rule::CollectionSideEffect => {
                "module-level code that pytest runs at collection changed"
            }
            Rule::RunAllPattern => "a changed file matches a run-all pattern",
            Rule::Unmeasured => "a changed file was never measured",
            Rule::Mapped => "configuration maps a changed file to it",
            Rule::ToolConfig => "mentions a tool that reads a changed file",
            Rule::NewTest => "covshard has never seen it",
            Rule::NoLongerCollects => "its file no longer collects",
            Rule::AlwaysRun => "configured to always run",
            Rule::FailedLastRun => "failed in the last ingested run",
            Rule::WholeSuite => "the whole suite was asked for (--all)",
            Rule::NoCoverageData => "there is no coverage data to select with",
        }
    }

    /// The same for a count of tests: "12 ran changed code", "3 import a changed module".
    pub fn counted(self) -> &'static str {
        match self {
            Rule::CoversChange => "ran changed code",
            Rule::ReadsName => "read a name the change binds",
            Rule::ImportTime => "depend on changed import-time code",
            Rule::Memoised => "depend on a changed memoised function",
            Rule::ImportsChanged => "import a changed module",
            Rule::TestFileChanged => "are in changed test files",
            Rule::ConftestChanged => "are below a changed conftest.py",
            Rule::DeletedFile => "covered a deleted or renamed file",
            Rule::CollectionSideEffect => "follow a change to code run at collection",
            Rule::RunAllPattern => "follow a run-all file",
            Rule::Unmeasured => "follow an unmeasured file",
            Rule::Mapped => "are mapped to a changed file",
            Rule::ToolConfig => "mention a tool that reads a changed file",
            Rule::NewTest => "are new to covshard",
            Rule::NoLongerCollects => "are in files that no longer collect",
            Rule::AlwaysRun => "always run",
            Rule::FailedLastRun => "failed last time",
            Rule::WholeSuite => "are in the whole suite",
            Rule::NoCoverageData => "run without coverage data",
        }
    }
}

/// One reason a test (or a run of the whole suite) was selected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub rule: Rule,
    /// The changed file (repository-relative), when a file is involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Changed lines of that file (old side), compacted for people: `"3-5,9"`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lines: String,
    /// What connects the test to the change: a function, an import chain, a pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl Reason {
    pub fn new(rule: Rule) -> Self {
        Reason {
            rule,
            file: None,
            lines: String::new(),
            via: None,
        }
    }

    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn lines(mut self, lines: impl IntoIterator<Item = u32>) -> Self {
        self.lines = compact_ranges(lines);
        self
    }

    pub fn via(mut self, via: impl Into<String>) -> Self {
        self.via = Some(via.into());
        self
    }

    /// One line for people: `ran changed code: src/pkg/m.py:12-14 (in Cart.total)`.
    pub fn to_text(&self) -> String {
        let mut text = self.rule.describe().to_string();
        if let Some(file) = &self.file {
            text.push_str(": ");
            text.push_str(file);
            if !self.lines.is_empty() {
                text.push(':');
                text.push_str(&self.lines);
            }
        }
        if let Some(via) = &self.via {
            text.push_str(&format!(" ({via})"));
        }
        text
    }
}

/// `[1,2,3,5,7,8]` -> `"1-3,5,7-8"` (input in any order, duplicates ignored).
pub fn compact_ranges(lines: impl IntoIterator<Item = u32>) -> String {
    let mut sorted: Vec<u32> = lines.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compact() {
        assert_eq!(compact_ranges([5, 1, 2, 3, 7, 8, 2]), "1-3,5,7-8");
        assert_eq!(compact_ranges([]), "");
        assert_eq!(compact_ranges([4]), "4");
    }

    #[test]
    fn reasons_read_well() {
        let r = Reason::new(Rule::CoversChange)
            .file("src/pkg/m.py")
            .lines([12, 13, 14])
            .via("in Cart.total");
        assert_eq!(
            r.to_text(),
            "ran changed code: src/pkg/m.py:12-14 (in Cart.total)"
        );
    }
}
