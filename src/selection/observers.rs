//! Tests that observe code without coverage seeing them do it:
//! - a test that runs a program or a process pool (`subprocess.run([sys.executable, "-m",
//!   "pkg.cli"])`, `ProcessPoolExecutor`) runs the package in a child process, which
//!   pytest-cov does not measure by default, so no context names the test;
//! - a test that reads line numbers or source text (a warning's `lineno`, `inspect.getsource`,
//!   a traceback) sees a change that moves lines or rewrites a comment, which no rule calls a
//!   change of behaviour.
//!
//! Such a test file is selected when the changed module's package is one it spells (a test
//! that runs the package imports it or names it: `import pkg`, `"-m", "pkg.cli"`): for a code
//! change, the files that spawn processes (a child may run any module of the package: a
//! console script names none) and those that read lines and import the module, directly or
//! not; for a change of comments and blank lines only, the latter.

use super::{Engine, Reason, Rule, is_conftest};
use crate::error::Result;
use crate::python::index::IndexReader;
use crate::python::observes::Scanner;

/// A test-side file that observes code one of these ways.
#[derive(Debug, Clone)]
pub(super) struct Observer {
    path: String,
    text: Vec<u8>,
    spawns: bool,
    reads_lines: bool,
}

impl Engine<'_> {
    /// Select the observers of `module` (a changed measured module): the spawning ones too
    /// when its code changed, not only its comments and blank lines.
    pub(super) fn select_observers(&mut self, module: &str, code_changed: bool) -> Result<()> {
        let package = top_package(module, &self.req.config.selection.source_roots).to_string();
        if package.is_empty() {
            return Ok(());
        }
        let candidates: Vec<(String, bool)> = self
            .observers()?
            .iter()
            .filter(|o| (code_changed && o.spawns) || o.reads_lines)
            .filter(|o| spells_word(&o.text, &package))
            .map(|o| (o.path.clone(), code_changed && o.spawns))
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        // A child process may run any module of the package (a console script names none);
        // line numbers are read from the modules a test imports.
        let importers: std::collections::BTreeSet<String> = if candidates.iter().all(|c| c.1) {
            Default::default()
        } else {
            self.ensure_graph()?;
            let graph = self.graph.as_mut().expect("built above");
            graph.closure(&[module])?.into_keys().collect()
        };
        let found: Vec<(String, &'static str)> = candidates
            .into_iter()
            .filter(|(path, spawns)| *spawns || importers.contains(path))
            .map(|(path, spawns)| {
                let how = if spawns {
                    "runs a program or process, which coverage does not measure"
                } else {
                    "reads line numbers or source text"
                };
                (path, how)
            })
            .collect();
        for (path, how) in found {
            let reason = Reason::new(Rule::CoversChange)
                .file(module)
                .via(format!("{path} {how}, and names `{package}`"));
            if is_conftest(&path) || self.is_test_module(&path) {
                self.select_test_side_users(&path, reason);
            } else {
                // A helper of the tests: the tests that import it.
                self.select_importers(&[path.as_str()], Rule::CoversChange, module, &[])?;
            }
        }
        Ok(())
    }

    /// The test-side Python files that spawn processes or read lines, read once: those the
    /// import index names and the ones the change touched, or without the index every
    /// test-side file.
    fn observers(&mut self) -> Result<&[Observer]> {
        if self.observers.is_none() {
            let indexed = self.indexed_observers()?;
            let candidates: Vec<String> = match indexed {
                Some(indexed) => {
                    let mut paths: std::collections::BTreeSet<String> = indexed;
                    paths.extend(
                        self.req
                            .changes
                            .iter()
                            .filter_map(|c| c.new_path.clone())
                            .filter(|p| p.ends_with(".py")),
                    );
                    paths
                        .into_iter()
                        .filter(|p| self.tracked.contains(p) && self.is_test_side(p))
                        .collect()
                }
                None => self
                    .tracked
                    .iter()
                    .filter(|p| p.ends_with(".py") && self.is_test_side(p))
                    .cloned()
                    .collect(),
            };
            let scanner = Scanner::default();
            let root = self.req.repo_root;
            let read = |paths: &[String]| -> Vec<Observer> {
                paths
                    .iter()
                    .filter_map(|path| {
                        let text = std::fs::read(root.join(path)).ok()?;
                        let observes = scanner.scan(&text);
                        observes.any().then(|| Observer {
                            path: path.clone(),
                            text,
                            spawns: observes.spawns,
                            reads_lines: observes.reads_lines,
                        })
                    })
                    .collect()
            };
            // Without the index every test file is read: on two threads, as selection's other
            // reads are.
            let (first, second) = candidates.split_at(candidates.len() / 2);
            let found: Vec<Observer> = std::thread::scope(|scope| {
                let other = scope.spawn(|| read(second));
                let mut found = read(first);
                found.extend(other.join().expect("reading test files does not panic"));
                found
            });
            self.observers = Some(found);
        }
        Ok(self.observers.as_deref().expect("read above"))
    }

    /// The files of the base that may observe code, when the import index recorded them for
    /// the base (every file git does not report as changed is then the indexed one).
    fn indexed_observers(&self) -> Result<Option<std::collections::BTreeSet<String>>> {
        if !self.req.import_index {
            return Ok(None);
        }
        let Some(base) = &self.req.base else {
            return Ok(None);
        };
        let Some(reader) = IndexReader::open_for(self.req.db.connection(), base)? else {
            return Ok(None);
        };
        Ok(reader
            .observers()?
            .map(|files| files.into_iter().map(|(path, _)| path).collect()))
    }
}

/// The top-level package (or module) of a repository path: `pkg` of `src/pkg/cli.py`, of
/// `pkg/cli.py` and of `pkg.py`.
fn top_package<'p>(path: &'p str, source_roots: &[String]) -> &'p str {
    let mut rest = path;
    for root in source_roots.iter().map(String::as_str).chain(["src"]) {
        let root = root.trim_end_matches('/');
        if let Some(below) = rest.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
            rest = below;
            break;
        }
    }
    let first = rest.split('/').next().unwrap_or(rest);
    first.strip_suffix(".py").unwrap_or(first)
}

/// Whether `text` spells `word` as a whole identifier.
fn spells_word(text: &[u8], word: &str) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    memchr::memmem::find_iter(text, word.as_bytes()).any(|at| {
        !at.checked_sub(1).is_some_and(|i| ident(text[i]))
            && !text.get(at + word.len()).is_some_and(|&c| ident(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_the_first_folder_below_a_source_root() {
        assert_eq!(top_package("src/pkg/cli.py", &[]), "pkg");
        assert_eq!(top_package("pkg/sub/cli.py", &[]), "pkg");
        assert_eq!(top_package("single.py", &[]), "single");
        assert_eq!(top_package("lib/pkg/a.py", &["lib".into()]), "pkg");
    }

    #[test]
    fn a_package_is_spelled_as_a_whole_word() {
        assert!(spells_word(b"from pkg.cli import main", "pkg"));
        assert!(spells_word(b"[sys.executable, \"-m\", \"pkg\"]", "pkg"));
        assert!(!spells_word(b"import mypkg", "pkg"));
    }
}
