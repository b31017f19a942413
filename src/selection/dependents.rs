//! Every test that depends on a module: the tests whose contexts ran any line of it, and the
//! test files and conftests that import it, directly or not (DESIGN.md, rule 2). The rule that
//! import-time changes fall back to where names cannot be followed, and the one deleted and
//! renamed modules take.

use std::collections::{BTreeMap, BTreeSet};

use super::{Engine, Reason, Request, Rule, is_conftest};
use crate::coverage::{FileRows, numbits};
use crate::diff::FileChange;
use crate::error::Result;
use crate::python::{self, dependents::Dependents};

impl Engine<'_> {
    /// Every test that depends on the changed module: those whose contexts ran any of it, and
    /// the test files and conftests that import it, directly or not.
    pub(super) fn select_dependents(
        &mut self,
        change: &FileChange,
        rows: &FileRows,
        reason: Reason,
        import_rule: Rule,
        lines: &[u32],
        handling: &str,
    ) -> Result<()> {
        self.select_rows(rows, None, &reason);
        let changed = reason.file.clone().unwrap_or_default();
        let importers = self.select_importers(&change.paths(), import_rule, &changed, lines)?;
        if !change.paths().iter().any(|p| self.is_test_side(p)) {
            self.loaded_unseen(rows, importers, &reason);
        }
        self.note(change, handling);
        Ok(())
    }

    /// A module that ran in the base run (while pytest imported the tests, or inside a test)
    /// though no test file or conftest imports it, directly or not, was loaded by code that
    /// imports modules by computed names (a plugin loader reading a list, `pkgutil`,
    /// `import_module(name)`): any test may rely on what its import did (a registration), so
    /// every test runs.
    pub(super) fn loaded_unseen(&mut self, rows: &FileRows, importers: usize, reason: &Reason) {
        if importers > 0 {
            return;
        }
        if rows.iter().any(|(_, blob)| blob.iter().any(|&b| b != 0)) {
            let mut reason = reason.clone();
            let via = "it ran in the base run, yet no test imports it: a loader imported it by \
                       a computed name";
            reason.via = Some(match reason.via.take() {
                Some(before) => format!("{before}; {via}"),
                None => via.to_string(),
            });
            self.run_all(reason);
        }
    }

    /// Select the tests whose contexts ran any line of `mask` (any line at all when `None`).
    /// The test a context belongs to, if it names one.
    pub(super) fn context_test(&self, context: i64) -> Option<usize> {
        match usize::try_from(context)
            .ok()
            .and_then(|c| self.tests.by_context.get(c))
        {
            Some(&t) if t != u32::MAX => Some(t as usize),
            _ => None,
        }
    }

    pub(super) fn select_rows(&mut self, rows: &FileRows, mask: Option<&[u8]>, reason: &Reason) {
        let mut previous = None;
        for (context, blob) in rows.iter() {
            let Some(test) = self.context_test(context) else {
                continue;
            };
            // A test's phases are usually consecutive rows: one insertion is enough.
            if previous != Some(test) && mask.is_none_or(|m| numbits::any_intersection(blob, m)) {
                self.hits.entry(test).or_default().insert(reason.clone());
                previous = Some(test);
            }
        }
    }

    /// Select the test files and conftests that import any of `paths`, directly or not.
    /// Returns how many test files or conftests were found.
    pub(super) fn select_importers(
        &mut self,
        paths: &[&str],
        rule: Rule,
        changed: &str,
        lines: &[u32],
    ) -> Result<usize> {
        self.ensure_graph()?;
        let graph = self.graph.as_mut().expect("built above");
        let closure = graph.closure(paths)?;
        let mut found = Vec::new();
        for file in closure.keys() {
            if paths.contains(&file.as_str()) {
                continue;
            }
            let is_test =
                self.test_files.contains(file.as_str()) || self.patterns.test_files.is_match(file);
            if is_test || is_conftest(file) {
                let mut chain = vec![file.as_str()];
                while let Some(Some(next)) = closure.get(*chain.last().expect("not empty")) {
                    chain.push(next);
                }
                found.push((file.clone(), Some(chain.join(" -> "))));
            }
        }
        let modules: Vec<String> = closure.into_keys().collect();
        let modules: Vec<&str> = modules.iter().map(String::as_str).collect();
        let text_reason = Reason::new(rule).file(changed).lines(lines.iter().copied());
        // Text tests are selected too, but do not count as importers: a module only they
        // spell may be run by others unseen (and then runs everything, as unmeasured).
        self.select_text_test_importers(&modules, &text_reason);
        let count = found.len();
        for (file, chain) in found {
            let mut reason = Reason::new(rule).file(changed).lines(lines.iter().copied());
            if let Some(chain) = chain {
                reason = reason.via(format!("imports: {chain}"));
            }
            if is_conftest(&file) {
                let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
                let id = self.to_pytest_path(dir);
                if id == "." {
                    self.run_all(reason);
                } else {
                    self.add(id, reason);
                }
            } else {
                let id = self.to_pytest_path(&file);
                self.add(id, reason);
            }
        }
        Ok(count)
    }

    pub(super) fn ensure_graph(&mut self) -> Result<()> {
        if self.graph.is_none() {
            self.graph = Some(build_graph(self.req, &self.tracked)?);
        }
        Ok(())
    }
}

/// The reverse import walk over the working tree's Python files. Files the change touched are
/// read from disk; with the import index, the others' imports are looked up in it as the walk
/// needs them, so nothing else is read.
fn build_graph<'a>(req: &'a Request<'a>, tracked: &BTreeSet<String>) -> Result<Dependents<'a>> {
    let changed: BTreeSet<&str> = req.changes.iter().flat_map(|c| c.paths()).collect();
    let reader = match (req.import_index, &req.base) {
        (true, Some(base)) => python::index::IndexReader::open_for(req.db.connection(), base)?,
        _ => None,
    };
    let indexed: BTreeSet<String> = match &reader {
        Some(reader) => reader
            .paths()?
            .into_iter()
            .filter(|p| tracked.contains(p) && !changed.contains(p.as_str()))
            .collect(),
        None => BTreeSet::new(),
    };
    let mut sources: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for path in tracked.iter().filter(|p| p.ends_with(".py")) {
        if indexed.contains(path) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(req.repo_root.join(path)) {
            sources.insert(path.clone(), bytes);
        }
    }
    let phantoms: Vec<String> = req
        .changes
        .iter()
        .filter_map(|c| c.old_path.clone())
        .filter(|p| p.ends_with(".py") && !tracked.contains(p))
        .collect();
    let lookup = reader.map(|reader| -> python::dependents::Lookup<'a> {
        Box::new(move |word: &str| reader.files_naming(word))
    });
    Ok(Dependents::new(
        sources,
        indexed,
        lookup,
        &phantoms,
        &req.config.selection.source_roots,
    ))
}
