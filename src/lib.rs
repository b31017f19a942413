//! covshard: select the pytest tests a change can affect from the coverage.py data of the base
//! branch, estimate their durations from the history stored in the same file, and pack them into
//! balanced CI shards.
//!
//! The layers, top to bottom; each uses only those below it, and none below [`cli`] prints.
//! - [`cli`]: one file per subcommand, the settings resolved once per run (`cli::settings`),
//!   and the stderr UI (`cli::ui`: colour, verbosity, progress bars, error chains).
//! - [`plan`]: a plan made from a selection, estimates and a packing (`plan::build`), the whole
//!   suite and the estimates' fallbacks (`plan::inputs`), `plan.json` (`plan::format`) and the
//!   CI matrices (`plan::matrix`); [`report`]: the plan for people (text, Markdown, HTML);
//!   [`output`]: the versioned JSON of the other commands; [`audit`]: a full run held
//!   against what selection would have chosen for it.
//! - [`selection`]: from the changed files and the base coverage to every test the change can
//!   affect, with reasons; [`history`]: durations and outcomes from CI reports, stored in
//!   covshard's tables of the data file, and the estimates made from them.
//! - [`python`]: the Python-syntax layer (import-time lines, names, memoised functions, the
//!   imports and the import index); [`packing`]: pure arithmetic that packs tests into shards.
//! - [`coverage`]: the reader of coverage.py's SQLite data file and the mapping of its paths;
//!   [`diff`] and [`git`]: what changed, and what git tracks; [`config`]: `covshard.toml` or
//!   `[tool.covshard]`.
//! - Leaves: [`error`] (the one error type and its exit codes), [`nodeid`] (pytest node ids),
//!   [`units`] (durations and shard counts as typed), [`text`] (text files in the encodings
//!   other programs write), [`progress`] (how library work reports progress).

pub mod audit;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod diff;
pub mod error;
pub mod git;
pub mod history;
pub mod nodeid;
pub mod output;
pub mod packing;
pub mod plan;
pub mod progress;
pub mod python;
pub mod report;
pub mod selection;
pub mod text;
pub mod units;

pub use error::{Error, Result};
