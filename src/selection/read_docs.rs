//! Documentation that code reads as data. The default ignore patterns (`*.md`, `*.rst`,
//! `docs/**`) name documentation, which no test runs, but two kinds of it are read:
//! - a file inside a package or a test folder is package data or test data (a template
//!   `pkg/templates/greet.md`, an expected output `tests/data/report.rst`), loaded by a
//!   computed path: the defaults do not apply to it, and it is an unmeasured file like any
//!   other data;
//! - a file elsewhere may be read by name (`Path(...) / "README.md"`, a test that checks the
//!   changelog names the version): the test files and conftests that spell its name, or list
//!   files of its kind (`glob("*.md")`), are selected, and every test when code the tests run
//!   (a measured module) spells it.

use std::collections::BTreeSet;

use super::{Engine, Reason, Rule, is_conftest};
use crate::error::Result;

impl Engine<'_> {
    /// Whether `path` lies in a package (a folder with an `__init__.py` or with measured
    /// modules, up to the root) or in a folder of tests: data for the code there.
    pub(super) fn in_code_folder(&self, path: &str) -> bool {
        let measured_dirs: BTreeSet<&str> = self
            .measured
            .keys()
            .map(|f| f.rsplit_once('/').map_or("", |(d, _)| d))
            .collect();
        let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        while !dir.is_empty() {
            if measured_dirs.contains(dir)
                || self.test_dirs.contains(dir)
                || self.tracked.contains(&format!("{dir}/__init__.py"))
            {
                return true;
            }
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
        }
        false
    }

    /// Select what may read the documentation file `path` by name (see the module docs).
    pub(super) fn select_doc_readers(&mut self, path: &str) -> Result<()> {
        let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
        let extension = name.rsplit_once('.').map(|(_, e)| format!(".{e}"));
        let reason = Reason::new(Rule::ReadsName).file(path);
        let candidates: Vec<String> = self
            .tracked
            .iter()
            .filter(|p| p.ends_with(".py"))
            .filter(|p| self.is_test_side(p) || self.measured.contains_key(p.as_str()))
            .cloned()
            .collect();
        for file in candidates {
            let Ok(text) = crate::text::read(&self.req.repo_root.join(&file)) else {
                continue;
            };
            let text = text.to_lowercase();
            let lists = extension.as_ref().is_some_and(|e| ends_a_string(&text, e))
                && super::tool_files::LISTINGS.iter().any(|w| text.contains(w));
            if !names_in_a_string(&text, &name) && !lists {
                continue;
            }
            let via = format!("{file} may read it by name");
            if is_conftest(&file) || self.is_test_module(&file) {
                self.select_test_side_users(&file, reason.clone().via(via));
            } else if self.is_test_side(&file) {
                // A helper of the tests: the tests that import it.
                self.select_importers(&[file.as_str()], Rule::ReadsName, path, &[])?;
            } else {
                // Code the tests run: it may read the file while any test runs.
                self.run_all(reason.clone().via(format!("{via}, while tests run")));
            }
        }
        Ok(())
    }
}

/// Whether `text` spells the file name `name` at the end of a string, as a path does:
/// `"README.md"`, `root / "docs/usage.rst"`, `f"{here}/LICENSE"` (not `license` in prose).
fn names_in_a_string(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        matches!(before, Some('"' | '\'' | '/' | '\\')) && matches!(after, Some('"' | '\''))
    })
}

/// Whether `text` ends a string with `tail` (`"*.md"`, `'.rst'`).
fn ends_a_string(text: &str, tail: &str) -> bool {
    text.match_indices(tail)
        .any(|(at, _)| matches!(text[at + tail.len()..].chars().next(), Some('"' | '\'')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_count_where_a_path_spells_them() {
        assert!(names_in_a_string("p = root / \"readme.md\"", "readme.md"));
        assert!(names_in_a_string("open('docs/usage.rst')", "usage.rst"));
        assert!(names_in_a_string("f\"{here}/license\"", "license"));
        assert!(!names_in_a_string(
            "# licensed under the mit license.",
            "license"
        ));
        assert!(!names_in_a_string("\"my_readme.md\"", "readme.md"));
        assert!(ends_a_string("glob(\"*.md\")", ".md"));
        assert!(!ends_a_string("x.md_file", ".md"));
    }
}
