//! A changed file that only a program outside the test run reads: a linter's, formatter's or
//! type checker's own configuration file (`mypy.ini`, `.flake8`, `ruff.toml`), a documentation
//! host's or coverage service's (`.readthedocs.yaml`, `codecov.yml`), the forge's bookkeeping
//! (`.github/dependabot.yml`, issue templates, `CODEOWNERS`) and git's (`.mailmap`,
//! `.git-blame-ignore-revs`). The same settings in `pyproject.toml` are compared by section and
//! followed to the code that can notice them ([`super::tool_config`]); as files of their own
//! they were "never measured" and ran every test, so a commit that set up Read the Docs ran the
//! suite. They are followed the same way: the test files and conftests that mention the tool,
//! the file, a program runner or a directory listing, and the items of plugins that run tools;
//! every test where pytest's configuration or an installed plugin runs one, or code outside the
//! tests mentions one. Only the names below count, at the root (a file deeper down may be a
//! test's fixture project), besides the forge's files under `.github/`.

use super::tool_config::{Readers, normalise};
use super::{Engine, Reason, Rule};
use crate::diff::FileChange;
use crate::error::Result;

/// Files only a tool reads, by path from the repository root, and the tool (the word code
/// that runs it or reads the file would mention).
const TOOL_FILES: &[(&str, &str)] = &[
    (".flake8", "flake8"),
    ("mypy.ini", "mypy"),
    (".mypy.ini", "mypy"),
    (".pylintrc", "pylint"),
    ("pylintrc", "pylint"),
    ("ruff.toml", "ruff"),
    (".ruff.toml", "ruff"),
    (".isort.cfg", "isort"),
    ("pyrightconfig.json", "pyright"),
    ("ty.toml", "ty"),
    (".codespellrc", "codespell"),
    (".pydocstyle", "pydocstyle"),
    (".pydocstyle.ini", "pydocstyle"),
    (".bandit", "bandit"),
    ("_typos.toml", "typos"),
    ("typos.toml", "typos"),
    (".typos.toml", "typos"),
    (".style.yapf", "yapf"),
    ("towncrier.toml", "towncrier"),
    (".bumpversion.cfg", "bumpversion"),
    (".bumpversion.toml", "bumpversion"),
    (".cz.toml", "commitizen"),
    (".yamllint", "yamllint"),
    (".yamllint.yaml", "yamllint"),
    (".yamllint.yml", "yamllint"),
    (".markdownlint.json", "markdownlint"),
    (".markdownlint.yaml", "markdownlint"),
    (".readthedocs.yaml", "readthedocs"),
    (".readthedocs.yml", "readthedocs"),
    ("mkdocs.yml", "mkdocs"),
    ("mkdocs.yaml", "mkdocs"),
    ("codecov.yml", "codecov"),
    ("codecov.yaml", "codecov"),
    (".codecov.yml", "codecov"),
    (".codecov.yaml", "codecov"),
    (".mailmap", "mailmap"),
    (".git-blame-ignore-revs", "blame"),
    ("CITATION.cff", "citation"),
    (".zenodo.json", "zenodo"),
    ("renovate.json", "renovate"),
    (".renovaterc", "renovate"),
    (".renovaterc.json", "renovate"),
    ("CODEOWNERS", "codeowners"),
    (".github/CODEOWNERS", "codeowners"),
    (".github/dependabot.yml", "dependabot"),
    (".github/dependabot.yaml", "dependabot"),
    (".github/FUNDING.yml", "funding"),
    (".github/release.yml", "release"),
    (".github/labeler.yml", "labeler"),
    (".github/ISSUE_TEMPLATE/", "issue_template"),
    (".github/DISCUSSION_TEMPLATE/", "discussion_template"),
    (".github/PULL_REQUEST_TEMPLATE/", "pull_request_template"),
];

/// Words of code that lists a directory's files, and so may see a file it does not name.
/// (`glob(` and not `glob`, which `global` spells.)
pub(super) const LISTINGS: &[&str] = &[
    "glob(",
    "import glob",
    "from glob",
    "iterdir",
    "os.walk",
    "scandir",
    "listdir",
    "ls-files",
];

/// The tool that alone reads `path`, if the table names it (a folder entry, ending in `/`,
/// names every file below it).
fn tool_of(path: &str) -> Option<&'static str> {
    TOOL_FILES.iter().find_map(|(file, tool)| {
        let hit = match file.strip_suffix('/') {
            Some(dir) => path
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/')),
            None => path == *file,
        };
        hit.then_some(*tool)
    })
}

impl Engine<'_> {
    /// The tool that alone reads every path of `change`, if one does.
    pub(super) fn tool_file(&self, change: &FileChange) -> Option<&'static str> {
        let mut tools = change.paths().into_iter().map(tool_of);
        let first = tools.next()??;
        tools.all(|t| t.is_some()).then_some(first)
    }

    /// Follow a change to a file only `tool` reads to the code that can notice it.
    pub(super) fn apply_tool_file(&mut self, change: &FileChange, tool: &str) -> Result<()> {
        let readers = Readers {
            tools: [normalise(tool)].into_iter().collect(),
            metadata: false,
        };
        let name = change.path().rsplit('/').next().unwrap_or(change.path());
        let name = name.trim_start_matches('.').to_lowercase();
        let spellings: Vec<&str> = [name.as_str()]
            .into_iter()
            .chain(LISTINGS.iter().copied())
            .collect();
        match self.select_tool_readers(readers, &spellings, change.path())? {
            Some(why) => {
                self.run_all(Reason::new(Rule::ToolConfig).file(change.path()).via(why));
                self.note(
                    change,
                    format!("read by {tool}, which pytest runs: every test"),
                );
            }
            None => self.note(
                change,
                format!(
                    "read by {tool} alone: the tests that mention it, the file or a program runner"
                ),
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_files_of_the_table_are_tool_files() {
        assert_eq!(tool_of("mypy.ini"), Some("mypy"));
        assert_eq!(tool_of(".readthedocs.yaml"), Some("readthedocs"));
        assert_eq!(
            tool_of(".github/ISSUE_TEMPLATE/bug.yml"),
            Some("issue_template")
        );
        // A fixture project's configuration, and the forge's workflows, are not.
        assert_eq!(tool_of("tests/data/mypy.ini"), None);
        assert_eq!(tool_of(".github/workflows/test.yml"), None);
        assert_eq!(tool_of(".github/ISSUE_TEMPLATEX"), None);
    }
}
