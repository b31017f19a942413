//! The Python-syntax layer selection stands on: which lines of a file run at import time, which
//! functions memoise, what each file imports, and which files depend on which.
//!
//! The analysis of source text is infallible and tolerant: a file that does not parse yields
//! the safe answer (all of it import-time, its imports read as far as the parser recovers),
//! never an error or a panic, because a missed test is worse than an extra one (DESIGN.md,
//! "Selection"). Only [`index`], which reads files from git at a commit and stores and reads the
//! import index in the data file's SQLite tables, returns errors, and those are about git and
//! the database, never about the Python it reads.
//! Parsing uses ruff's parser (`ruff_python_parser`), which reads current Python syntax.
//!
//! How selection uses it:
//! - For each changed Python file, `analyze(old_source)`; for each changed old-side line,
//!   [`ModuleSyntax::affects_dependents`] says whether the change reaches every dependent of the
//!   module (import-time or memoised) or only the tests covering the line. Added and replaced
//!   lines are classified in the new source with `analyze(new_source)`; selection charges a new
//!   body line to the old function it sits in, by position (`selection::align`).
//! - [`calls`]: what each function can call, by name, and so which functions each memoised
//!   function of the project may reach; `covshard ingest` records the memoised functions in the
//!   import [`index`].
//! - Once, [`dependents::Dependents`] over every Python file of the working tree (with deleted
//!   modules as phantoms; files unchanged since the base commit come parsed from the import
//!   [`index`] that `covshard ingest` records, so only changed files are read); its `closure` walks imports backwards from the files with a
//!   dependents change, parsing only files that name the module, and gives each reached file
//!   the next step of its import chain for `explain`. The test files and `conftest.py` files in
//!   the closure select their tests. In tests, `graph::ImportGraph` builds the whole graph at
//!   once: the reference the lazy walk is tested against.
//! - For changed test-side files, [`effects::side_effect_lines`]: module-level statements that
//!   pytest runs at collection and that can change other modules' state.
//!
//! Known limits, shared by the submodules: dynamic imports (`importlib.import_module`,
//! `__import__`, plugins, entry points) and code run through `exec` are invisible; resolution is
//! static over the given source roots.

mod lines;

pub mod calls;
pub mod dependents;
pub mod effects;
#[cfg(test)]
pub mod graph;
pub mod hand_on;
pub mod imports;
pub mod index;
pub mod names;
pub mod observes;
pub mod runtime;
pub mod syntax;
pub mod trivia;

pub use imports::{Import, ModuleResolver, infer_roots, is_test_file};
pub use syntax::{FunctionSpan, LineKind, ModuleSyntax, analyze};
