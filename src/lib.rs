//! covshard: select the pytest tests a change can affect from the coverage.py data of the base
//! branch, estimate their durations from the history stored in the same file, and pack them into
//! balanced CI shards.
//!
//! The pipeline, top to bottom (dependencies run one way):
//! - [`cli`]: one file per subcommand; resolves arguments and configuration, calls the pipeline.
//! - [`coverage`]: a read-only, streaming reader of coverage.py's SQLite data file.
//! - [`history`]: durations history from CI reports, stored in covshard's own tables of the same
//!   file, and the estimates the packer uses.

pub mod cli;
pub mod coverage;
pub mod error;
pub mod git;
pub mod history;
pub mod output;
pub mod units;

pub use error::{Error, Result};
