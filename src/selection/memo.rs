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

use std::collections::BTreeMap;

use super::{Engine, Reason, Rule};
use crate::coverage::{FileRows, numbits};
use crate::error::Result;
use crate::python::{self, calls::MemoSites};

/// The contexts among `rows` that ran any line of `mask`.
pub fn covering(rows: &FileRows, mask: &[u8]) -> BTreeSet<i64> {
    rows.iter()
        .filter(|(_, blob)| numbits::any_intersection(blob, mask))
        .map(|(context, _)| context)
        .collect()
}

/// A memoised function a changed function may run inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reached {
    /// The memoised function's file.
    pub path: String,
    pub memoised: String,
    /// Its body's first and last lines.
    pub body: (u32, u32),
    /// The changed function it may run.
    pub callee: String,
    /// Whether coverage showed a test running both (else the file is test-side code coverage
    /// did not measure, connected by name).
    pub measured: bool,
}

impl Reached {
    pub(super) fn reason(&self, old_path: &str, lines: &[u32]) -> Reason {
        Reason::new(Rule::Memoised)
            .file(old_path)
            .lines(lines.iter().copied())
            .via(format!(
                "{} may run inside memoised {} of {}, which keeps its result",
                self.callee, self.memoised, self.path
            ))
    }
}

impl Engine<'_> {
    /// A changed function that a memoised function may have called while it filled its cache
    /// reaches what that memoised function reaches: every dependent of its module. "May have
    /// called" is both: the memoised body names a way to it (`python::calls`), and some test
    /// ran both (`memo`).
    pub(super) fn memo_reach(
        &mut self,
        old_path: &str,
        rows: &FileRows,
        by_function: &BTreeMap<(u32, u32, String), BTreeSet<u32>>,
    ) -> Result<Vec<Reached>> {
        // The empty context ran every function called at import time: such a function was
        // sent to every dependent before this, and it connects nothing here.
        let mut changed: Vec<(&str, BTreeSet<i64>)> = Vec::new();
        for (start, end, qualname) in by_function.keys() {
            let mut contexts = covering(rows, &numbits::encode(*start..=*end));
            if let Some(global) = self.tests.global_context {
                contexts.remove(&global);
            }
            if !contexts.is_empty() {
                changed.push((qualname, contexts));
            }
        }
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_memo_sites()?;
        let sites = self.memo_sites.take().expect("read above");
        // Site -> context -> the changed functions it ran; and the sites whose reach names a
        // function, for sites no coverage can confirm.
        let mut wanted: BTreeMap<usize, BTreeMap<i64, Vec<&str>>> = BTreeMap::new();
        let mut named: BTreeSet<(usize, &str)> = BTreeSet::new();
        for (qualname, contexts) in &changed {
            named.extend(sites.naming(qualname).into_iter().map(|i| (i, *qualname)));
            for site in sites.reaching(qualname) {
                let entry = wanted.entry(site).or_default();
                for &c in contexts {
                    entry.entry(c).or_default().push(qualname);
                }
            }
        }
        // A shared fixture runs in the setup of the first test that asks for it.
        let all: BTreeSet<i64> = changed
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        let mut in_setup: Option<BTreeSet<i64>> = None;
        // Path -> (memoised function, its body, a changed function it may run, whether coverage
        // shows it).
        let mut reached: BTreeMap<String, (String, (u32, u32), String, bool)> = BTreeMap::new();
        for (index, wanted) in wanted {
            let site = &sites.sites()[index];
            if reached.contains_key(&site.path) {
                continue;
            }
            // A memoised function's own body changing is the memoised rule, decided before.
            let own = |q: &str| {
                site.path == old_path
                    && q.strip_prefix(site.qualname.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            };
            let wanted: BTreeMap<i64, &str> = wanted
                .into_iter()
                .filter_map(|(c, qs)| Some((c, qs.into_iter().find(|q| !own(q))?)))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let Some(&file_id) = self.measured.get(&site.path) else {
                // Test-side code coverage did not measure (a helper's cache, a shared fixture):
                // no rows tell whether it ran the changed function, so a name that leads to it
                // is enough, and for a fixture, that the function ran in some test's setup.
                if site.fixture && in_setup.is_none() {
                    in_setup = Some(self.setup_contexts(&all)?);
                }
                let callee = wanted.iter().find_map(|(c, q)| {
                    let setup = !site.fixture || in_setup.as_ref().is_some_and(|s| s.contains(c));
                    (setup && named.contains(&(index, *q))).then_some(*q)
                });
                if let Some(callee) = callee {
                    reached.insert(
                        site.path.clone(),
                        (site.qualname.clone(), site.body, callee.to_string(), false),
                    );
                }
                continue;
            };
            let ids: BTreeSet<i64> = wanted.keys().copied().collect();
            let site_rows = match site.path == old_path {
                true => rows.clone(),
                false => self.req.db.line_blobs_of(file_id, &ids)?,
            };
            let body = site.body_mask();
            let via = wanted.iter().find_map(|(c, q)| {
                site_rows
                    .get(*c)
                    .is_some_and(|b| numbits::any_intersection(b, &body))
                    .then_some(*q)
            });
            if let Some(callee) = via {
                reached.insert(
                    site.path.clone(),
                    (site.qualname.clone(), site.body, callee.to_string(), true),
                );
            }
        }
        self.memo_sites = Some(sites);
        Ok(reached
            .into_iter()
            .map(|(path, (memoised, body, callee, measured))| Reached {
                path,
                memoised,
                body,
                callee,
                measured,
            })
            .collect())
    }

    /// Every dependent of the modules of memoised functions a change reached (the rule with
    /// `import_time = "dependents"`).
    pub(super) fn select_memo_dependents(
        &mut self,
        old_path: &str,
        rows: &FileRows,
        reached: &[Reached],
        lines: &[u32],
    ) -> Result<()> {
        for r in reached {
            let reason = r.reason(old_path, lines);
            if r.measured {
                let site_rows = match r.path == old_path {
                    true => rows.clone(),
                    false => self.req.db.line_blobs(self.measured[&r.path])?,
                };
                self.select_rows(&site_rows, None, &reason);
            }
            self.select_test_side_users(&r.path, reason.clone());
            self.select_importers(&[r.path.as_str()], Rule::Memoised, old_path, lines)?;
        }
        Ok(())
    }

    /// The contexts among `ids` that are a test's setup, or of a kind that does not tell its
    /// phase (`test_function` contexts).
    pub(super) fn setup_contexts(&self, ids: &BTreeSet<i64>) -> Result<BTreeSet<i64>> {
        use crate::coverage::context::{Phase, test_context};
        Ok(self
            .req
            .db
            .context_names(ids)?
            .into_iter()
            .filter(|c| test_context(&c.name).is_none_or(|(_, phase)| phase == Phase::Setup))
            .map(|c| c.id)
            .collect())
    }

    /// Every memoised function of the base's Python files, with what each can reach: from the
    /// base sources of the changed files and the working tree for the others (unchanged since
    /// the base).
    pub(super) fn ensure_memo_sites(&mut self) -> Result<()> {
        if self.memo_sites.is_none() {
            self.ensure_project_facts()?;
            let memo = self
                .project
                .as_ref()
                .map(|p| p.memo.clone())
                .unwrap_or_default();
            self.memo_sites = Some(MemoSites::new(memo));
        }
        Ok(())
    }

    /// What the whole project's code tells (`python::calls::ProjectFacts`): from the import
    /// index when it holds them for the base, else from the base's Python files (the changed
    /// files' base sources, the others from the working tree).
    pub(super) fn ensure_project_facts(&mut self) -> Result<()> {
        if self.project.is_some() {
            return Ok(());
        }
        if self.req.import_index
            && let Some(base) = &self.req.base
            && let Some(reader) =
                python::index::IndexReader::open_for(self.req.db.connection(), base)?
        {
            self.project = reader.project_facts()?;
        }
        if self.project.is_none() {
            let mut sources: BTreeMap<String, String> = BTreeMap::new();
            for path in self.base_python_files() {
                let text = match self.old_sources.get(&path) {
                    Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    None => match std::fs::read(self.req.repo_root.join(&path)) {
                        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                        Err(_) => continue,
                    },
                };
                sources.insert(path, text);
            }
            self.project = Some(python::calls::project_facts(
                sources.iter().map(|(p, s)| (p.as_str(), s.as_str())),
            ));
        }
        Ok(())
    }
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
