//! Test-side code: test modules, conftests, test packages and helpers, which pytest imports
//! while collecting, before any test runs; and who can use what a test-side file defines.

use std::collections::BTreeSet;

use super::{Engine, Reason, is_conftest};
use crate::diff::FileChange;
use crate::python;

impl Engine<'_> {
    /// Code pytest imports while collecting: test modules, conftests, and any file in a
    /// directory that holds test modules or below it (test packages' `__init__.py`, helpers).
    pub(super) fn is_test_side(&self, path: &str) -> bool {
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

    /// A Python file tests run whatever the patterns say: measured code, a test module, a
    /// conftest, a file the suite has tests in. An ignore pattern (`docs/**`) does not drop it.
    pub(super) fn runs_as_code(&self, path: &str) -> bool {
        path.ends_with(".py")
            && (self.measured.contains_key(path)
                || is_conftest(path)
                || self.is_test_module(path)
                || self.holds_known_tests(path))
    }

    pub(super) fn is_test_module(&self, path: &str) -> bool {
        self.test_files.contains(path)
            || (!is_conftest(path) && self.patterns.test_files.is_match(path))
    }

    /// Changed lines (old or new side) of module-level statements that may reach other
    /// modules' state, in an unmeasured Python file; `None` when there are none.
    pub(super) fn collection_side_effects(&self, change: &FileChange) -> Option<BTreeSet<u32>> {
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

    /// The tests that can use what a test-side file defines: a test module's own tests, every
    /// test below a `conftest.py`.
    pub(super) fn select_test_side_users(&mut self, path: &str, reason: Reason) {
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
}
