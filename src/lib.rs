//! covshard: select the pytest tests a change can affect from the coverage.py data of the base
//! branch, estimate their durations from the history stored in the same file, and pack them into
//! balanced CI shards.
//!
//! The pipeline, top to bottom (dependencies run one way):
//! - [`cli`]: one file per subcommand; resolves arguments and configuration, calls the pipeline.
//! - [`coverage`]: a read-only, streaming reader of coverage.py's SQLite data file.
//! - [`python`]: the Python-syntax layer: import-time lines, memoised functions, the import graph.
//! - [`packing`]: pure arithmetic that packs tests into balanced shards and picks the shard count.
//! - [`history`]: durations history from CI reports, stored in covshard's own tables of the same
//!   file, and the estimates the packer uses.

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
