//! Machine-readable output: the JSON that `select`, `tests`, `info`, `tune`, `durations` and `audit`
//! print on stdout, as serde types in one place (`plan.json` is [`crate::plan::format`]).
//!
//! Each output carries a `version`; within a version fields are only added, never renamed or
//! removed. Rules are keyed by their stable names (`covers-change`), not by sentences. The
//! integration tests read every command's output back into these types with
//! `deny_unknown_fields`, so a field printed but not declared here fails them. Large parts
//! are borrowed (`Cow`) when printing and owned when read back.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::LeftOut;
use crate::error::{Error, Result};
use crate::history::audits::{AuditRecord, Totals};
use crate::history::estimate::{Source, Statistic};
use crate::packing::TuneRow;
use crate::selection::{ChangedFile, Reason};

/// The version of every output below; bumped on an incompatible change.
pub const VERSION: u32 = 1;

/// `covshard select --format json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select<'a> {
    pub version: u32,
    pub base: Option<Cow<'a, str>>,
    pub run_all: bool,
    pub run_all_reasons: Cow<'a, [Reason]>,
    pub tests: Vec<String>,
    pub total: usize,
    /// Every selected id's reasons.
    pub reasons: BTreeMap<Cow<'a, str>, Vec<Cow<'a, Reason>>>,
    pub changed_files: Cow<'a, [ChangedFile]>,
    pub warnings: Cow<'a, [String]>,
}

/// `covshard tests --format json`: one shard of a plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardTests<'a> {
    pub version: u32,
    /// 1-based.
    pub shard: usize,
    pub of: usize,
    pub predicted_seconds: f64,
    /// The pytest options the plan was made for (`-n N --dist MODE`; empty without xdist).
    pub pytest_args: Vec<String>,
    pub tests: Vec<Cow<'a, str>>,
}

/// `covshard info --format json`: what the data file holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    pub version: u32,
    pub path: String,
    pub coverage_version: Option<String>,
    /// `line` or `branch`.
    pub mode: Cow<'static, str>,
    pub files: usize,
    pub contexts: u64,
    pub tests: usize,
    pub line_rows: u64,
    pub has_test_contexts: bool,
    pub global_context: bool,
    pub unmapped_files: Vec<String>,
    pub repository: Option<String>,
    /// Runs `covshard ingest` stored, and the commit of the latest (selection's default base).
    pub history_runs: usize,
    pub recorded_commit: Option<String>,
    /// The record of `covshard audit`, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audits: Option<Totals>,
    /// The import index `covshard ingest` recorded: its commit and how many Python files.
    pub import_index: Option<ImportIndexInfo>,
    /// The suite `covshard ingest` stored for selection: `stored` (fresh), `stale` (contexts
    /// were added since) or `none`.
    pub stored_suite: Cow<'static, str>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportIndexInfo {
    pub commit: String,
    pub files: usize,
}

/// `covshard tune --format json`: shard counts compared.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tune<'a> {
    pub version: u32,
    pub tests: usize,
    pub overhead_seconds: f64,
    pub rows: Cow<'a, [TuneRow]>,
}

/// `covshard durations --format json`: the estimates.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Durations {
    pub version: u32,
    pub statistic: Statistic,
    pub runs: usize,
    pub recorded_commit: Option<String>,
    /// Tests with history.
    pub known: usize,
    /// Tests in the coverage contexts without history (estimated from priors).
    pub unknown: usize,
    pub known_seconds: f64,
    pub unknown_seconds: f64,
    pub total_seconds: f64,
    pub slowest: Vec<SlowTest>,
    /// Measured setup cost per file or class group, largest first.
    pub group_setup: Vec<(String, f64)>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowTest {
    pub node_id: String,
    pub seconds: f64,
    pub samples: usize,
    pub source: Source,
}

/// `covshard audit --format json`: one full run against what selection would have run.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit<'a> {
    pub version: u32,
    pub commit: Option<Cow<'a, str>>,
    pub base: Option<Cow<'a, str>>,
    pub tests: usize,
    pub selected: usize,
    pub run_all: bool,
    /// Why every test would have run, under run-all.
    pub run_all_reasons: Cow<'a, [Reason]>,
    pub failing: usize,
    /// Real misses: failing tests selection would have let through.
    pub missed: usize,
    /// Every failing test selection would have left out, real misses first.
    pub left_out: Cow<'a, [LeftOut]>,
    pub seconds: f64,
    pub saved_seconds: f64,
    pub predicted_saved_seconds: f64,
    pub changed_files: Cow<'a, [ChangedFile]>,
    /// Whether the result was stored in the data file.
    pub stored: bool,
}

/// `covshard audit --history --format json`: the stored record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHistory<'a> {
    pub version: u32,
    pub totals: Totals,
    /// Oldest first.
    pub audits: Cow<'a, [AuditRecord]>,
}

/// Pretty JSON and a final newline, as every command prints it.
pub fn to_json(value: &impl Serialize) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::other("cannot encode JSON").caused_by(e))?;
    text.push('\n');
    Ok(text)
}
