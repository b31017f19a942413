//! A change to a measured Python module: which functions' bodies it touches, which names it
//! binds or unbinds at import time, and where neither can be followed.

use std::collections::{BTreeMap, BTreeSet};

use super::{Engine, Reason, Rule, align, changed_old_lines};
use crate::config::Granularity;
use crate::coverage::numbits;
use crate::diff::{ChangeKind, FileChange};
use crate::error::Result;
use crate::python;

impl Engine<'_> {
    pub(super) fn apply_measured_python(
        &mut self,
        change: &FileChange,
        file_id: i64,
    ) -> Result<()> {
        let old_path = change.old_path.clone().unwrap_or_default();
        let rows = match self.rows.remove(&file_id) {
            Some(rows) => rows,
            None => self.req.db.line_blobs(file_id)?,
        };
        if matches!(change.kind(), ChangeKind::Deleted | ChangeKind::Renamed) {
            let reason = Reason::new(Rule::DeletedFile).file(old_path.clone());
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportsChanged,
                &[],
                "deleted or renamed: every test that covered or imports it",
            );
        }
        let old_source = self.old_source(&old_path);
        let new_source = change
            .new_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(self.req.repo_root.join(p)).ok());
        let old_syntax = old_source.as_deref().map(python::analyze);
        let new_syntax = new_source.as_deref().map(python::analyze);
        let alignment = match (&old_syntax, &new_syntax) {
            (Some(old), Some(new)) => {
                align::Alignment::new(change, old.line_count(), new.line_count())
            }
            _ => align::Alignment::new(change, 0, 0),
        };
        // Blank lines and comments cannot change what runs: drop them from the change.
        let mut change = change.clone();
        if let (Some(old_src), Some(new_src)) = (&old_source, &new_source) {
            let old_code = python::trivia::code_lines(old_src);
            let new_code = python::trivia::code_lines(new_src);
            change.old_lines.retain(|l| old_code.contains(l));
            change.new_lines.retain(|l| new_code.contains(l));
            if change.old_lines.is_empty() && change.new_lines.is_empty() {
                self.note(&change, "comments and blank lines only: nothing selected");
                return Ok(());
            }
        }
        let change = &change;
        let global_blob: Option<&[u8]> = self.tests.global_context.and_then(|g| rows.get(g));

        // Which changed lines reach every dependent of the module?
        let mut module_level: BTreeSet<u32> = BTreeSet::new();
        let mut memoised = false;
        let mut unknown_syntax = false;
        let misfit = old_syntax.is_some() && new_syntax.is_some() && !alignment.fits();
        if misfit {
            self.out.warnings.push(format!(
                "the diff of {} does not fit its base and working-tree versions: every change to it is treated as import-time",
                change.path()
            ));
        }
        match (&old_syntax, &new_syntax) {
            (Some(old), Some(new)) if !misfit => {
                for &line in &change.old_lines {
                    if old.affects_dependents(line) {
                        memoised |= old.is_memoised(line);
                        module_level.insert(line);
                    }
                    if global_blob.is_some_and(|b| numbits::contains(b, line)) {
                        module_level.insert(line);
                    }
                }
                for &line in &change.new_lines {
                    if new.affects_dependents(line) {
                        memoised |= new.is_memoised(line);
                        module_level.extend(changed_old_lines(change));
                    }
                }
            }
            _ => unknown_syntax = true,
        }
        let all_old = changed_old_lines(change);
        if unknown_syntax || !module_level.is_empty() {
            let rule = if memoised && !unknown_syntax {
                Rule::Memoised
            } else {
                Rule::ImportTime
            };
            let lines: Vec<u32> = if module_level.is_empty() {
                all_old.clone()
            } else {
                module_level.into_iter().collect()
            };
            let reason = Reason::new(rule)
                .file(old_path.clone())
                .lines(lines.iter().copied());
            let handling = if misfit {
                "the diff does not fit the sources: treated as import-time"
            } else if unknown_syntax {
                "base source unavailable: treated as import-time"
            } else if rule == Rule::Memoised {
                "memoised function: every dependent"
            } else {
                "import-time code: every dependent"
            };
            return self.select_dependents(change, &rows, reason, rule, &lines, handling);
        }
        let old = old_syntax.as_ref().expect("checked above");
        let new = new_syntax.as_ref().expect("checked above");
        // Function bodies only. Old lines name their function directly; new lines (insertions
        // and replacements) are placed by position in the aligned sources, since several
        // definitions can share a qualified name (`align`).
        let mut by_function: BTreeMap<(u32, u32, String), BTreeSet<u32>> = BTreeMap::new();
        let mut unplaced: BTreeSet<u32> = BTreeSet::new();
        for &line in &change.old_lines {
            match old.enclosing_bodies(line).next() {
                Some(f) => {
                    by_function
                        .entry((f.start, f.end, f.qualname.clone()))
                        .or_default()
                        .insert(line);
                }
                None => {
                    unplaced.insert(line);
                }
            }
        }
        for &line in &change.new_lines {
            match align::place(line, old, new, &alignment) {
                align::Placement::Functions(functions) => {
                    for f in functions {
                        let near: Vec<u32> = changed_old_lines(change)
                            .into_iter()
                            .filter(|l| (f.start..=f.end).contains(l))
                            .collect();
                        by_function
                            .entry((f.start, f.end, f.qualname.clone()))
                            .or_default()
                            .extend(near);
                    }
                }
                align::Placement::NewFunction => {
                    unplaced.insert(line);
                }
            }
        }
        if !unplaced.is_empty() {
            // A body line whose function the base does not have: be safe, reach every dependent.
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.clone())
                .lines(all_old.iter().copied());
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "body of a function new to the file: every dependent",
            );
        }
        // A function the empty context ran (a decorator, a factory, `__init_subclass__`, a
        // metaclass called while modules are imported) changes what importing does, wherever
        // in its body the change lies: a line coverage does not record (the second line of a
        // statement, an insertion) runs at import too.
        if let Some(global) = global_blob
            && let Some((_, _, qualname)) = by_function.keys().find(|(start, end, _)| {
                old.functions()
                    .iter()
                    .find(|f| f.start == *start && f.end == *end)
                    .is_some_and(|f| {
                        numbits::any_intersection(global, &numbits::encode(f.body_lines()))
                    })
            })
        {
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.clone())
                .lines(all_old.iter().copied())
                .via(format!("{qualname} runs while modules are imported"));
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "function run at import time: every dependent",
            );
        }
        // A module imported lazily, inside a test, credits its import-time code to that test,
        // and so any function it called while importing (a registry, a factory): later tests
        // rely on that run without covering it. Tests whose contexts ran import-time lines of
        // the module are its importers; a changed function they also ran reaches every
        // dependent.
        let import_time =
            numbits::encode((1..=old.line_count()).filter(|&l| old.is_import_time(l)));
        let importers: Vec<&[u8]> = rows
            .iter()
            .filter(|&(context, blob)| {
                self.context_test(context).is_some()
                    && numbits::any_intersection(blob, &import_time)
            })
            .map(|(_, blob)| blob)
            .collect();
        if let Some((_, _, qualname)) = by_function.keys().find(|(start, end, _)| {
            let mask = numbits::encode(*start..=*end);
            importers
                .iter()
                .any(|blob| numbits::any_intersection(blob, &mask))
        }) {
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.clone())
                .lines(all_old.iter().copied())
                .via(format!("{qualname} ran while a test imported the module"));
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "function run at a lazy import: every dependent",
            );
        }
        self.select_memo_reach(&old_path, &rows, &by_function, &all_old)?;
        let granularity = self.req.config.selection.granularity;
        for ((start, end, qualname), lines) in by_function {
            let mask = match granularity {
                Granularity::Line if !lines.is_empty() => numbits::encode(lines.iter().copied()),
                _ => numbits::encode(start..=end),
            };
            let reason = Reason::new(Rule::CoversChange)
                .file(old_path.clone())
                .lines(lines.iter().copied())
                .via(format!("in {qualname}"));
            self.select_rows(&rows, Some(&mask), &reason);
        }
        self.note(
            change,
            match granularity {
                Granularity::Function => "function bodies: the tests that ran those functions",
                Granularity::Line => "function bodies: the tests that ran the changed lines",
            },
        );
        Ok(())
    }
}
