//! A changed file that is itself a test but not Python: a text doctest (`docs/usage.rst` run by
//! `--doctest-glob`, pytest's default `test*.txt`), a notebook or a YAML case that a plugin
//! collects. No coverage line leads to it, and the patterns that read `docs/**` or `*.rst` as
//! documentation would drop it, so it is selected whole first, by name: a file the suite has
//! tests in, or one whose name pytest's doctest globs match and that holds a `>>>` prompt (a
//! path no plugin collects would stop pytest: "found no collectors"). The selection adds to what the other rules decide about
//! the file (a doctest file may be data for other tests too).

use super::{Engine, Reason, Rule};
use crate::diff::FileChange;

/// The glob pytest's doctest plugin collects text files by when none is configured.
const DEFAULT_DOCTEST_GLOB: &str = "test*.txt";

impl Engine<'_> {
    /// Select `change`'s file as a test when it is a non-Python test file; whether it did.
    pub(super) fn select_text_test(&mut self, change: &FileChange) -> bool {
        let Some(new) = change.new_path.as_deref() else {
            return false;
        };
        if change.paths().iter().any(|p| p.ends_with(".py")) {
            return false;
        }
        let id = self.to_pytest_path(new);
        let why = if change.paths().iter().any(|p| self.holds_known_tests(p)) {
            "the suite has tests in it"
        } else if self.doctest_globs().iter().any(|g| glob_matches(g, new))
            && self.has_doctest_prompt(change)
        {
            "pytest's doctest globs collect it, and it holds a `>>>` prompt"
        } else {
            return false;
        };
        self.add(id, Reason::new(Rule::TestFileChanged).file(new).via(why));
        true
    }

    /// Select the doctests of a changed module that has some (a `>>>` prompt on either side)
    /// when pytest collects them: `--doctest-modules` in its configuration, or the suite has
    /// tests in the file. A doctest that runs no line of the package (`>>> 2 + 2`) has no
    /// context, so no other rule finds it.
    pub(super) fn select_module_doctests(&mut self, change: &FileChange) {
        let Some(new) = change.new_path.as_deref() else {
            return;
        };
        let collected = change.paths().iter().any(|p| self.holds_known_tests(p))
            || self.pytest_configuration().contains("doctest-modules");
        if collected && self.has_doctest_prompt(change) {
            let id = self.to_pytest_path(new);
            self.add(
                id,
                Reason::new(Rule::TestFileChanged)
                    .file(new)
                    .via("a module with doctests, which pytest collects"),
            );
        }
    }

    /// Whether the suite (contexts, history, collected list) has tests in `path`.
    pub(super) fn holds_known_tests(&self, path: &str) -> bool {
        let id = self.to_pytest_path(path);
        self.test_files.contains(path)
            || self
                .req
                .collected
                .iter()
                .flatten()
                .any(|test| crate::nodeid::file_of(test) == id)
    }

    /// The globs pytest collects text doctests by: its default and every `--doctest-glob`
    /// of its configuration, lowercase.
    fn doctest_globs(&mut self) -> Vec<String> {
        let mut globs = vec![DEFAULT_DOCTEST_GLOB.to_string()];
        globs.extend(doctest_globs_in(self.pytest_configuration()));
        globs
    }

    /// Whether either side of the change holds a doctest prompt: without one pytest collects
    /// no example from a text file.
    fn has_doctest_prompt(&self, change: &FileChange) -> bool {
        let new = change
            .new_path
            .as_deref()
            .and_then(|p| std::fs::read(self.req.repo_root.join(p)).ok());
        let old = change.old_path.as_deref().and_then(|p| {
            let base = self.req.base.as_deref()?;
            let blobs = crate::git::read_blobs(self.req.repo_root, base, &[p.to_string()]).ok()?;
            blobs.get(p).cloned()
        });
        [new, old]
            .iter()
            .flatten()
            .any(|bytes| memchr::memmem::find(bytes, b">>>").is_some())
    }
}

impl Engine<'_> {
    /// The non-Python files the suite has tests in, as the working tree has them.
    fn text_tests(&mut self) -> &[(String, Vec<u8>)] {
        if self.text_tests.is_none() {
            let rootdir = self.out.rootdir.clone();
            let collected = self.req.collected.iter().flatten();
            let files: std::collections::BTreeSet<String> = self
                .test_files
                .iter()
                .cloned()
                .chain(collected.map(|id| format!("{rootdir}{}", crate::nodeid::file_of(id))))
                .filter(|file| !file.ends_with(".py"))
                .collect();
            let read = files
                .into_iter()
                .filter_map(|f| Some((f.clone(), std::fs::read(self.req.repo_root.join(&f)).ok()?)))
                .collect();
            self.text_tests = Some(read);
        }
        self.text_tests.as_deref().expect("read above")
    }

    /// Select the text tests that may import one of `modules`: their examples run imports the
    /// import graph does not read, so one that spells `import` and a module's name counts.
    /// Returns how many it selected.
    pub(super) fn select_text_test_importers(
        &mut self,
        modules: &[&str],
        reason: &Reason,
    ) -> usize {
        let words: Vec<&str> = modules
            .iter()
            .filter(|m| m.ends_with(".py"))
            .map(|m| crate::python::dependents::module_word(m))
            .filter(|w| !w.is_empty())
            .collect();
        let found: Vec<(String, String)> = self
            .text_tests()
            .iter()
            .filter(|(_, text)| memchr::memmem::find(text, b"import").is_some())
            .filter_map(|(file, text)| {
                let word = words.iter().find(|w| spells(text, w))?;
                Some((file.clone(), word.to_string()))
            })
            .collect();
        for (file, word) in &found {
            let id = self.to_pytest_path(file);
            self.add(
                id,
                reason.clone().via(format!(
                    "imports: {file}, a text test, spells `import` and `{word}` (the import graph does not read it)"
                )),
            );
        }
        found.len()
    }

    /// Select the text tests that spell `name`, or that may read any name (a star import,
    /// `getattr`, `dir()`...); `chain` says how the change reaches the name.
    pub(super) fn select_text_tests_reading(&mut self, name: &str, chain: &str, reason: &Reason) {
        let found: Vec<String> = self
            .text_tests()
            .iter()
            .filter(|(_, text)| {
                spells(text, name)
                    || DYNAMIC_READS
                        .iter()
                        .any(|w| memchr::memmem::find(text, w.as_bytes()).is_some())
            })
            .map(|(file, _)| file.clone())
            .collect();
        for file in found {
            let id = self.to_pytest_path(&file);
            self.add(
                id,
                reason
                    .clone()
                    .via(format!("{chain} may be read by {file}, a text test")),
            );
        }
    }
}

/// Words of code that reads names it does not spell.
const DYNAMIC_READS: &[&str] = &[
    "import *",
    "getattr",
    "hasattr",
    "dir(",
    "vars(",
    "globals(",
    "__dict__",
    "inspect",
    "import_module",
    "__import__",
];

/// Whether `text` spells `word` as a whole identifier.
fn spells(text: &[u8], word: &str) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    memchr::memmem::find_iter(text, word.as_bytes()).any(|at| {
        let before = at.checked_sub(1).map(|i| text[i]);
        let after = text.get(at + word.len()).copied();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// pytest matches a glob without a `/` against the file name, one with a `/` against the path.
fn glob_matches(glob: &str, path: &str) -> bool {
    let Ok(matcher) = globset::Glob::new(glob).map(|g| g.compile_matcher()) else {
        // Not a glob this crate reads: it may match anything.
        return true;
    };
    let lower = path.to_lowercase();
    if glob.contains('/') {
        // pytest puts `*/` before a relative one: it matches below any folder.
        let mut tails = std::iter::once(lower.as_str())
            .chain(lower.match_indices('/').map(|(at, _)| &lower[at + 1..]));
        tails.any(|tail| matcher.is_match(tail))
    } else {
        matcher.is_match(lower.rsplit('/').next().unwrap_or(&lower))
    }
}

/// The values of `--doctest-glob` in pytest's configuration text, in any of its spellings
/// (`--doctest-glob=*.rst`, `--doctest-glob "*.rst"`, a TOML list `["--doctest-glob", "*.md"]`).
fn doctest_globs_in(config: &str) -> Vec<String> {
    const FLAG: &str = "--doctest-glob";
    config
        .match_indices(FLAG)
        .filter_map(|(at, _)| {
            let rest = config[at + FLAG.len()..].trim_start_matches(|c: char| {
                matches!(c, '=' | ',' | '"' | '\'') || c.is_whitespace()
            });
            let value: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ',' | ']'))
                .collect();
            (!value.is_empty()).then_some(value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctest_globs_are_read_in_every_spelling() {
        let config = "addopts = \"--doctest-glob=*.rst --doctest-glob 'docs/*.md'\"\n\
                      [tool.pytest]\naddopts = [\"--doctest-glob\", \"*.txt\", \"-ra\"]";
        assert_eq!(doctest_globs_in(config), ["*.rst", "docs/*.md", "*.txt"]);
        assert!(doctest_globs_in("addopts = -ra --doctest-modules").is_empty());
    }

    #[test]
    fn globs_match_the_file_name_or_the_path() {
        assert!(glob_matches("*.rst", "docs/guide/usage.rst"));
        assert!(glob_matches("test*.txt", "tests/test_usage.txt"));
        assert!(!glob_matches("test*.txt", "tests/usage.txt"));
        assert!(glob_matches("docs/*.md", "docs/intro.md"));
        assert!(glob_matches("docs/*.md", "sub/docs/intro.md"));
        assert!(!glob_matches("docs/*.md", "intro.md"));
        assert!(glob_matches("*.rst", "README.RST"));
    }

    #[test]
    fn spelling_is_by_whole_identifier() {
        assert!(spells(b">>> int(Color.GREEN)", "Color"));
        assert!(spells(b"Color", "Color"));
        assert!(!spells(b">>> Colors", "Color"));
        assert!(!spells(b">>> my_Color", "Color"));
    }
}
