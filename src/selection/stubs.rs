//! A changed type stub (`.pyi`). Python never imports a stub, so no test can see one except
//! through something that reads it: a type checker, a linter that checks stubs, a tool that
//! reads stubs in-process, a loader that reads a package's names from its stub, code that
//! lists the files of a directory. The change is followed as one that only those read (see
//! [`super::tool_config`]): the test files and conftests that mention such a tool or one of
//! [`STUB_READERS`], a program runner, and the items of pytest plugins that run a tool as
//! tests; every test where pytest's configuration or an installed plugin runs one, or where
//! code outside the tests mentions one (it may read the stub while tests run: a package whose
//! `__init__.py` calls `lazy_loader.attach_stub` does at import). Libraries that ship stubs
//! beside their modules change them with every new function; without this each such change
//! would run every test.

use super::tool_config::{INERT_TOOLS, Readers, normalise};
use super::tool_files::LISTINGS;
use super::{Engine, Reason, Rule};
use crate::diff::FileChange;
use crate::error::Result;

/// Words of code that may read a stub besides the linters and type checkers: the suffix
/// itself, loaders that read a package's attributes from its stub at import time (SPEC 1's
/// `lazy_loader.attach_stub`), and tools that read stubs in-process (documentation builders,
/// completion engines, stub generators); with [`LISTINGS`], code that lists a directory's files.
const STUB_READERS: &[&str] = &[
    "pyi",
    "attach_stub",
    "lazy_loader",
    "griffe",
    "jedi",
    "pdoc",
    "autoapi",
    "mkdocstrings",
    "typeshed",
    "stubgen",
    "stubtest",
    "pyre",
];

impl Engine<'_> {
    pub(super) fn apply_stub(&mut self, change: &FileChange) -> Result<()> {
        let readers = Readers {
            tools: INERT_TOOLS.iter().map(|t| normalise(t)).collect(),
            metadata: false,
        };
        let spellings: Vec<&str> = STUB_READERS.iter().chain(LISTINGS).copied().collect();
        match self.select_tool_readers(readers, &spellings, change.path())? {
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
