//! Functions whose results a memoised function keeps (DESIGN.md, rule 3, and issue 13).
//!
//! A memoised function (`lru_cache`, `cache`, `cached_property`, a hand-written cache or
//! registry, see `python::syntax`) runs its body once, in whichever test calls it first; every
//! later test reads the kept value. The functions it calls run only in that first test too, so
//! a change to one of them (a header reader that a cached `detect` calls, in another module)
//! reaches tests that never ran a line of it. Such a change must count as a change to the
//! memoised function itself.
//!
//! Which functions a memoised one can reach is read from coverage, not from a call graph: when
//! the memoised body filled its cache during the base run, it ran under some context (a test's
//! phase, or the empty context at import), and every function it called ran under that same
//! context. So a changed function that shares a covering context with a memoised body may
//! have fed its cache; one that shares none did not, in the run the coverage records.
//!
//! The static half (`python::calls`) keeps that from connecting functions one test merely ran
//! side by side: the memoised body must also name a way to the changed function. A memoised
//! function in test-side code that coverage did not measure (a helper's cache, a
//! `scope="session"` fixture) has no rows to confirm anything, so a name that leads to the
//! changed function is enough, and for a fixture, that the changed function ran in some test's
//! setup; then every test that can use it is selected (its test file, or every test below its
//! `conftest.py`).
//!
//! Known limits: a cache filled in a run that coverage did not record (a cache on disk, a
//! process that outlives the test session) is not seen; a call made where no name leads
//! (`exec`, a computed import) is not followed, unless it happens through a call no name tells,
//! which makes the memoised function reach everything; two functions that one test ran side by
//! side also count as connected when a name leads from one to the other, which only selects
//! more.

use std::collections::BTreeSet;

use crate::coverage::{FileRows, numbits};

/// The contexts among `rows` that ran any line of `mask`.
pub fn covering(rows: &FileRows, mask: &[u8]) -> BTreeSet<i64> {
    rows.iter()
        .filter(|(_, blob)| numbits::any_intersection(blob, mask))
        .map(|(context, _)| context)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_contexts() {
        let mut rows = FileRows::default();
        rows.push(1, &numbits::encode([10, 11, 12]));
        rows.push(2, &numbits::encode([20]));
        rows.push(3, &numbits::encode([30]));
        assert_eq!(
            covering(&rows, &numbits::encode([12, 20])),
            BTreeSet::from([1, 2])
        );
    }
}
