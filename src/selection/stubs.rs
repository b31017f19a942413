//! A changed type stub (`.pyi`). Python never imports a stub, so no test can see one except
//! through a tool that reads it: a type checker, or a linter that checks stubs. The change is
//! followed as one that only those tools read (see [`super::tool_config`]): the test files
//! and conftests that mention such a tool, a program runner or stubs (`pyi`), and the items of
//! pytest plugins that run a tool as tests; every test where pytest's configuration or an
//! installed plugin runs one, or where code outside the tests mentions one (it may run the
//! tool while tests run). Libraries that ship stubs beside their modules change them with
//! every new function; without this each such change would run every test.

use super::tool_config::{INERT_TOOLS, Readers, normalise};
use super::{Engine, Reason, Rule};
use crate::diff::FileChange;
use crate::error::Result;

impl Engine<'_> {
    pub(super) fn apply_stub(&mut self, change: &FileChange) -> Result<()> {
        let readers = Readers {
            tools: INERT_TOOLS.iter().map(|t| normalise(t)).collect(),
            metadata: false,
        };
        match self.select_tool_readers(readers, "pyi", change.path())? {
            Some(why) => {
                self.run_all(Reason::new(Rule::ToolConfig).file(change.path()).via(why));
                self.note(change, "type stub, read by a tool pytest runs: every test");
            }
            None => self.note(
                change,
                "type stub: the tests that mention a tool that reads stubs, or stubs",
            ),
        }
        Ok(())
    }
}
