//! Test ids that pytest would refuse. The coverage contexts and the durations history name the
//! tests of the base; the change may have deleted or renamed a test file, or a test in a file.
//! Handed a node id that no longer exists, pytest stops with "not found" (exit code 4) and the
//! whole shard runs nothing, so such ids are settled before they reach a list:
//! - a test whose file the change deletes or renames is dropped: it cannot fail any more, and
//!   the renamed file is selected by its new path;
//! - with the collected list (`--collected`), a node id that it does not hold runs as its whole
//!   file when the file is still there (a test renamed in it, or a file that failed to collect,
//!   whose error must show), and is dropped when the file is gone;
//! - without it, a node id whose test name appears nowhere in its file's text runs as its whole
//!   file: a test the history remembers but the file no longer defines. A name defined
//!   elsewhere (an inherited test method, a generated test) also runs its whole file, which
//!   can only run more.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::{Reason, Selection};

/// What becomes of one node id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Keep,
    Drop,
    /// Run its whole file (the rootdir-relative path) instead.
    WholeFile(String),
}

/// Where the tests live now.
pub struct Present<'a> {
    /// The directories node ids may be relative to (the repository root joined with the
    /// rootdir; where pytest runs).
    pub roots: Vec<PathBuf>,
    /// Test files (rootdir-relative) that the change deletes or renames.
    pub gone_files: BTreeSet<String>,
    /// The collected list, sorted.
    pub collected: Option<&'a [String]>,
    /// The last test file read for the name check without a collected list, and the names it
    /// defines with `def` or `class` (`None`: unreadable). Ids come sorted, so file by file.
    pub last_file: RefCell<Option<(String, Option<HashSet<String>>)>>,
}

impl Present<'_> {
    /// `ran_at_base`: a context of the base names the test (its file, if the change touched
    /// it, runs whole by the test-file rule), so its name needs no check in the file's text.
    pub fn fate(&self, id: &str, ran_at_base: bool) -> Fate {
        if !id.contains("::") {
            return Fate::Keep;
        }
        let file = crate::nodeid::file_of(id);
        if self.gone_files.contains(file) {
            return Fate::Drop;
        }
        match self.collected {
            Some(collected) if !holds(collected, id) => {
                if self.roots.iter().any(|root| root.join(file).is_file()) {
                    Fate::WholeFile(file.to_string())
                } else {
                    Fate::Drop
                }
            }
            Some(_) => Fate::Keep,
            None if ran_at_base || self.defines(file, id) => Fate::Keep,
            None => Fate::WholeFile(file.to_string()),
        }
    }

    /// Whether the file's text names the test's function (or it cannot be read: then nothing
    /// is known).
    fn defines(&self, file: &str, id: &str) -> bool {
        let name = crate::nodeid::NodeId::parse(id).function;
        let mut last = self.last_file.borrow_mut();
        if last.as_ref().is_none_or(|(read, _)| read != file) {
            let defined = self
                .roots
                .iter()
                .find_map(|root| std::fs::read_to_string(root.join(file)).ok())
                .map(|text| defined_names(&text));
            *last = Some((file.to_string(), defined));
        }
        last.as_ref()
            .and_then(|(_, defined)| defined.as_ref())
            .is_none_or(|defined| defined.contains(name))
    }
}

/// The names a Python source defines with `def` or `class`, at any depth. Found by searching
/// for the keywords rather than by tokenizing the whole text: a suite's test files are read
/// in full here. A form this misses (`def\tname`) only makes its file run whole.
fn defined_names(text: &str) -> HashSet<String> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut out = HashSet::new();
    for keyword in ["def ", "class "] {
        for at in memchr::memmem::find_iter(text.as_bytes(), keyword) {
            if at > 0 && is_word(text.as_bytes()[at - 1]) {
                continue;
            }
            let rest = text[at + keyword.len()..].trim_start_matches(' ');
            let end = rest.bytes().position(|b| !is_word(b)).unwrap_or(rest.len());
            if end > 0 {
                out.insert(rest[..end].to_string());
            }
        }
    }
    out
}

/// Whether the sorted collected list holds the id itself, or tests it stands for: a function
/// without its parameters (`test_f` for `test_f[1]`), or a class (`T` for `T::test_f`).
fn holds(collected: &[String], id: &str) -> bool {
    let first_from = |from: &str| collected.get(collected.partition_point(|c| c.as_str() < from));
    if first_from(id).is_some_and(|c| c == id) {
        return true;
    }
    [format!("{id}["), format!("{id}::")]
        .iter()
        .any(|prefix| first_from(prefix).is_some_and(|c| c.starts_with(prefix.as_str())))
}

/// Settle the selection's node ids, and under run-all the listed known tests, that pytest
/// would refuse; say in its warnings how many.
pub fn settle(selection: &mut Selection, present: &Present<'_>) {
    // (id, its fate, whether it is a listed known test rather than a selected one)
    let mut settled: Vec<(String, Fate, bool)> = Vec::new();
    for (id, reasons) in selection
        .selected
        .iter()
        .filter(|(id, _)| id.contains("::"))
    {
        let ran_at_base = reasons.iter().any(|r| r.rule.reads_contexts());
        settled.push((id.clone(), present.fate(id, ran_at_base), false));
    }
    if selection.run_all {
        for id in &selection.known_tests {
            settled.push((id.clone(), present.fate(id, false), true));
        }
    }
    let why: Option<Reason> = selection.run_all_reasons.first().cloned();
    let (mut dropped, mut whole) = (0usize, 0usize);
    for (id, fate, listed) in settled {
        if fate == Fate::Keep {
            continue;
        }
        // A selected id carries its reasons to its file; a listed one, why everything runs.
        let reasons: BTreeSet<Reason> = if listed {
            selection.known_tests.remove(&id);
            why.iter().cloned().collect()
        } else {
            selection.selected.remove(&id).unwrap_or_default()
        };
        match fate {
            Fate::Keep => {}
            Fate::Drop => dropped += 1,
            Fate::WholeFile(file) => {
                selection.selected.entry(file).or_default().extend(reasons);
                whole += 1;
            }
        }
    }
    if dropped > 0 {
        selection.warnings.push(format!(
            "{dropped} test(s) of the base are gone (their files were deleted or renamed): left out, as pytest would refuse them"
        ));
    }
    if whole > 0 {
        selection.warnings.push(format!(
            "{whole} test(s) of the base are not found as they were (not in the collected list, or no longer named in their file): their files run whole"
        ));
    }
}

/// The rootdir-relative test files among the changed files that a change removes from the
/// working tree (deleted, or renamed away).
pub fn gone_files<'a>(removed: impl Iterator<Item = &'a str>, rootdir: &str) -> BTreeSet<String> {
    removed
        .filter_map(|path| path.strip_prefix(rootdir))
        .map(str::to_string)
        .collect()
}

/// The directory that node ids are relative to.
pub fn id_root(repo_root: &Path, rootdir: &str) -> PathBuf {
    repo_root.join(rootdir.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_gone_files_and_tests_missing_from_the_collected_list() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("tests")).unwrap();
        std::fs::write(tmp.path().join("tests/test_a.py"), "").unwrap();
        let collected: Vec<String> = [
            "tests/test_a.py::T::test_m",
            "tests/test_a.py::test_kept",
            "tests/test_a.py::test_p[1]",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let present = Present {
            roots: vec![tmp.path().to_path_buf()],
            gone_files: BTreeSet::from(["tests/test_gone.py".to_string()]),
            collected: Some(&collected),
            last_file: RefCell::default(),
        };
        assert_eq!(
            present.fate("tests/test_a.py::test_kept", false),
            Fate::Keep
        );
        assert_eq!(present.fate("tests/test_a.py::test_p", false), Fate::Keep);
        assert_eq!(present.fate("tests/test_a.py::T", false), Fate::Keep);
        assert_eq!(present.fate("tests/test_a.py", false), Fate::Keep);
        assert_eq!(
            present.fate("tests/test_a.py::test_renamed", false),
            Fate::WholeFile("tests/test_a.py".into())
        );
        assert_eq!(
            present.fate("tests/test_gone.py::test_x", false),
            Fate::Drop
        );
        assert_eq!(
            present.fate("tests/test_moved.py::test_x", false),
            Fate::Drop
        );
        // Without a collected list: the change's own deletions, and the file's text.
        std::fs::write(
            tmp.path().join("tests/test_a.py"),
            "class T(Base):\n    def test_m(self): ...\n@pytest.mark.parametrize('x', [1])\ndef test_p(x): ...\nasync def  test_été(): ...\nundef test_removed_long_ago\n",
        )
        .unwrap();
        let present = Present {
            collected: None,
            ..present
        };
        assert_eq!(
            present.fate("tests/test_gone.py::test_x", false),
            Fate::Drop
        );
        assert_eq!(
            present.fate("tests/test_moved.py::test_x", false),
            Fate::Keep
        );
        assert_eq!(
            present.fate("tests/test_a.py::T::test_m", false),
            Fate::Keep
        );
        assert_eq!(
            present.fate("tests/test_a.py::test_p[1]", false),
            Fate::Keep
        );
        assert_eq!(
            present.fate("tests/test_a.py::test_p[a::b]", false),
            Fate::Keep
        );
        assert_eq!(
            present.fate("tests/test_a.py::test_dynamic", true),
            Fate::Keep
        );
        assert_eq!(
            present.fate("tests/test_a.py::test_removed_long_ago", false),
            Fate::WholeFile("tests/test_a.py".into())
        );
    }
}
