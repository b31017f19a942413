//! How each changed file is handled: the rules in the order they apply, the safest reading
//! first (see the module docs of [`super`]).

use super::tool_config::ToolConfigChange;
use super::{Engine, Reason, Rule, is_conftest};
use crate::config::{ToolConfig, Unmeasured};
use crate::diff::{ChangeKind, FileChange};
use crate::error::Result;

impl Engine<'_> {
    pub(super) fn apply(&mut self, change: &FileChange) -> Result<()> {
        if change.old_path.is_none() && self.is_own_file(change.path()) {
            self.note(change, "covshard's own input or output: ignored");
            return Ok(());
        }
        if !change.content_changed() {
            self.note(change, "mode change only: nothing selected");
            return Ok(());
        }
        let text_test = self.select_text_test(change);
        let paths = change.paths();
        let ignored = |p: &&str| {
            self.patterns.user_ignore.is_match(p)
                || (self.patterns.ignore.is_match(p)
                    && !self.runs_as_code(p)
                    // Data of the code beside it, unless it is a test itself (a doctest).
                    && (text_test || !self.in_code_folder(p)))
        };
        if paths.iter().all(ignored) {
            // Documentation read by name (a test that checks the README).
            let docs: Vec<&str> = paths
                .iter()
                .copied()
                .filter(|p| !self.patterns.user_ignore.is_match(p))
                .collect();
            let documentation = !docs.is_empty();
            for p in docs {
                self.select_doc_readers(p)?;
            }
            self.note(
                change,
                match (text_test, documentation) {
                    (true, _) => {
                        "a test file that is not Python: the whole file (ignored by pattern otherwise)"
                    }
                    (false, true) => "documentation: the tests that read it by name",
                    (false, false) => "ignored by pattern",
                },
            );
            return Ok(());
        }
        if let Some(p) = paths.iter().find(|p| self.patterns.run_all.is_match(p)) {
            let mut reason = Reason::new(Rule::RunAllPattern).file(*p);
            match self.apply_tool_config(change)? {
                ToolConfigChange::Followed(handling) => {
                    self.note(change, handling);
                    return Ok(());
                }
                ToolConfigChange::Effective(section) => {
                    reason = reason.via(format!("{section} changed"));
                }
                ToolConfigChange::NotCompared => {}
            }
            self.run_all(reason);
            self.note(change, "run-all pattern: every test");
            return Ok(());
        }
        // Configuration maps win over the generic rules for the files they name.
        let mut mapped = false;
        for (set, tests) in &self.patterns.maps {
            if paths.iter().any(|p| set.is_match(p)) {
                mapped = true;
                for t in tests.clone() {
                    self.out
                        .selected
                        .entry(t)
                        .or_default()
                        .insert(Reason::new(Rule::Mapped).file(change.path()));
                }
            }
        }
        if !mapped
            && paths.iter().all(|p| p.ends_with(".pyi"))
            && self.req.config.selection.tool_config == ToolConfig::Sections
        {
            return self.apply_stub(change);
        }
        if !mapped
            && self.req.config.selection.tool_config == ToolConfig::Sections
            && let Some(tool) = self.tool_file(change)
        {
            return self.apply_tool_file(change, tool);
        }
        let is_python = paths.iter().any(|p| p.ends_with(".py"));
        let measured_before = change
            .old_path
            .as_ref()
            .is_some_and(|p| self.measured.contains_key(p));
        // Test-side code runs at collection whether or not coverage measured it (`--cov=.`
        // measures the tests too).
        let test_side = !measured_before || paths.iter().any(|p| self.is_test_side(p));
        if is_python
            && test_side
            && let Some(lines) = self.collection_side_effects(change)
        {
            let reason = Reason::new(Rule::CollectionSideEffect)
                .file(change.path())
                .lines(lines)
                .via(
                    "pytest imports test modules, conftests and test packages before any test runs",
                );
            self.run_all(reason);
            self.note(change, "module-level side effect in test code: every test");
            return Ok(());
        }
        if is_python && paths.iter().any(|p| is_conftest(p)) {
            for p in &paths {
                let dir = p.rsplit_once('/').map_or("", |(d, _)| d);
                let reason = Reason::new(Rule::ConftestChanged).file(*p);
                if self.to_pytest_path(dir) == "." || dir.is_empty() {
                    self.run_all(reason);
                } else {
                    let id = self.to_pytest_path(dir);
                    self.add(id, reason);
                }
            }
            self.note(change, "conftest.py: every test below its directory");
            return Ok(());
        }
        let old_measured = change
            .old_path
            .as_ref()
            .and_then(|p| self.measured.get(p).copied());
        if is_python
            && let Some(new) = change.new_path.as_deref()
            && self.is_test_module(new)
        {
            // A test module: run the whole file (new tests included) and whatever imports it.
            let id = self.to_pytest_path(new);
            self.add(id, Reason::new(Rule::TestFileChanged).file(new));
            self.select_importers(&paths, Rule::ImportsChanged, change.path(), &[])?;
            self.note(change, "test file: the whole file");
            return Ok(());
        }
        if is_python && let Some(file_id) = old_measured {
            return self.apply_measured_python(change, file_id);
        }
        if mapped {
            self.note(change, "mapped by configuration");
            return Ok(());
        }
        if is_python {
            // Not measured: a helper module of the tests, a script, a new module.
            let importers =
                self.select_importers(&paths, Rule::ImportsChanged, change.path(), &[])?;
            let deleted_test =
                change.kind() == ChangeKind::Deleted && self.is_test_module(change.path());
            if importers > 0 || deleted_test {
                self.note(change, "unmeasured module: the tests that import it");
                return Ok(());
            }
        }
        match self.req.config.selection.unmeasured {
            Unmeasured::All => {
                self.run_all(Reason::new(Rule::Unmeasured).file(change.path()));
                self.note(change, "never measured, not mapped: every test");
            }
            Unmeasured::None => self.note(
                change,
                "never measured, not mapped: nothing (unmeasured = \"none\")",
            ),
        }
        Ok(())
    }
}
