//! The Python-syntax layer selection stands on: which lines of a file run at import time, which
//! functions memoise, what each file imports, and which files depend on which.
//!
//! Everything here is infallible and tolerant: a file that does not parse yields the safe answer
//! (all of it import-time, its imports read as far as the parser recovers), never an error or a
//! panic, because a missed test is worse than an extra one (DESIGN.md, "Selection").
//! Parsing uses ruff's parser (`ruff_python_parser`), which reads current Python syntax.
//!
//! Known limits, shared by the submodules: dynamic imports (`importlib.import_module`,
//! `__import__`, plugins, entry points) and code run through `exec` are invisible; resolution is
//! static over the given source roots.

mod lines;

pub mod graph;
pub mod imports;
pub mod syntax;

pub use graph::ImportGraph;
pub use imports::{Import, ModuleResolver, infer_roots, is_test_file};
pub use syntax::{FunctionSpan, LineKind, ModuleSyntax, analyze};
