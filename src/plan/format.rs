//! `plan.json`: the whole plan, versioned and self-describing, written by `covshard plan` and
//! read by `covshard tests` and `covshard report`.
//!
//! The file holds no timestamps and sorts everything, so the same inputs give the same bytes.
//! Readers reject a newer major version with a clear message instead of guessing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::GroupByChoice;
use crate::error::{Error, Result};
use crate::history::estimate::Statistic;
use crate::packing::Dist;
use crate::selection::{ChangedFile, Reason, Rule};

/// The version of the plan format; bumped on any incompatible change (2: `by_rule` keyed by
/// the rules' stable names instead of sentences).
pub const PLAN_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub version: u32,
    /// `covshard X.Y.Z` that wrote it.
    pub generator: String,
    /// The commit the coverage data was recorded on (the diff's base), when known.
    pub base: Option<String>,
    /// The commit the plan was made for (`HEAD` of the checkout), when known.
    pub head: Option<String>,
    pub selection: SelectionSummary,
    pub estimates: EstimateSummary,
    pub packing: PackingSummary,
    pub shards: Vec<Shard>,
    /// The newest records of `covshard audit` in the data file, oldest first, for the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audits: Vec<crate::history::audits::AuditRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionSummary {
    /// `false` when the plan covers the whole suite without selecting (`--all`).
    pub selective: bool,
    pub run_all: bool,
    pub run_all_reasons: Vec<Reason>,
    /// Tests the planned ids stand for: a node id counts one, a path the known tests under it
    /// (at least one), as `covshard select` counts them.
    pub selected: usize,
    /// Tests covshard knows of.
    pub total: usize,
    /// How many of those tests each rule selected (an id's tests count under its first
    /// reason), by the rule's stable name.
    pub by_rule: BTreeMap<Rule, usize>,
    pub changed_files: Vec<ChangedFile>,
    /// Every planned id's reasons.
    pub reasons: BTreeMap<String, Vec<Reason>>,
    pub warnings: Vec<String>,
}

impl SelectionSummary {
    /// `by_rule` as people read it: each rule's count phrase ("ran changed code"), in the
    /// order of the phrases.
    pub fn by_rule_counted(&self) -> Vec<(&'static str, usize)> {
        let mut out: Vec<(&'static str, usize)> = self
            .by_rule
            .iter()
            .map(|(rule, n)| (rule.counted(), *n))
            .collect();
        out.sort();
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimateSummary {
    pub statistic: Statistic,
    /// Planned ids with their own history.
    pub known: usize,
    /// Planned ids estimated from a prior (file, folder, suite, default).
    pub estimated: usize,
    /// Predicted serial time of the planned tests, seconds.
    pub total_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackingSummary {
    pub algorithm: String,
    pub group_by: GroupByChoice,
    pub shard_count: usize,
    pub shard_overhead_seconds: f64,
    /// Where the overhead came from: `command line` (`--shard-overhead`), `configuration`
    /// (`packing.shard_overhead`) or `default`.
    #[serde(default = "default_source")]
    pub shard_overhead_source: String,
    /// pytest-xdist worker processes per shard (`-n`); 1 is plain pytest.
    #[serde(default = "one")]
    pub workers: usize,
    /// pytest-xdist's `--dist` mode the prediction replays (meaningful with workers > 1).
    #[serde(default)]
    pub dist: Dist,
    /// Seconds until a shard's workers run tests, in every shard's prediction (0 without xdist).
    #[serde(default)]
    pub worker_startup_seconds: f64,
    /// Predicted makespan: the longest shard, overhead and group setup included.
    pub makespan_seconds: f64,
    /// No plan can finish sooner than this.
    pub lower_bound_seconds: f64,
    /// lower bound / makespan (1.0 is perfect).
    pub efficiency: f64,
    /// Monte Carlo makespan percentiles.
    pub p50_seconds: f64,
    pub p95_seconds: f64,
    /// What the whole suite would take on the same shard count (its lower bound), for
    /// comparison.
    pub full_suite_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub predicted_seconds: f64,
    pub tests: Vec<PlannedTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedTest {
    /// A pytest node id, or a path (every test under it).
    pub id: String,
    pub seconds: f64,
    /// Where the estimate came from: `history`, `file`, `folder`, `suite`, `default`.
    pub estimate: String,
}

fn default_source() -> String {
    "default".into()
}

fn one() -> usize {
    1
}

impl PackingSummary {
    /// The pytest options a shard passes for this plan's workers: `-n N --dist MODE`, nothing
    /// for one process.
    pub fn pytest_args(&self) -> Vec<String> {
        if self.workers <= 1 {
            return Vec::new();
        }
        vec![
            "-n".into(),
            self.workers.to_string(),
            "--dist".into(),
            self.dist.name().into(),
        ]
    }
}

impl Plan {
    pub fn test_count(&self) -> usize {
        self.shards.iter().map(|s| s.tests.len()).sum()
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan serialises");
        text.push('\n');
        text
    }

    pub fn read(path: &Path) -> Result<Plan> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| {
                let missing = e.kind() == std::io::ErrorKind::NotFound;
        let err = Error::input(path, "cannot read the plan").caused_by(e);
                if missing {
                    err.with_hint("download the plan artifact that `covshard plan --out plan.json` wrote in the setup job")
                } else {
                    err
                }
            })?;
        let not_a_plan = |problem: String| {
            Error::input(path, format!("not a covshard plan: {problem}"))
                .with_hint("pass the plan.json written by `covshard plan --out plan.json`")
        };
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| not_a_plan(format!("invalid JSON at line {}: {e}", e.line())))?;
        let Some(object) = value.as_object() else {
            return Err(not_a_plan("the file holds JSON, but not an object".into()));
        };
        let version = object
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .and_then(|v| u32::try_from(v).ok());
        match version {
            Some(PLAN_VERSION) => {}
            Some(v) if v > PLAN_VERSION => {
                return Err(Error::input(
                    path,
                    format!(
                        "plan format version {v} is newer than this covshard reads ({PLAN_VERSION})"
                    ),
                )
                .with_hint("use the same covshard version in the plan job and the shard jobs"));
            }
            Some(v) => {
                return Err(Error::input(
                    path,
                    format!(
                        "plan format version {v} is older than this covshard reads ({PLAN_VERSION})"
                    ),
                )
                .with_hint("use the same covshard version in the plan job and the shard jobs"));
            }
            None => {
                return Err(
                    Error::input(path, "not a covshard plan (no supported `version`)")
                        .with_hint("pass the plan.json written by `covshard plan --out plan.json`"),
                );
            }
        }
        serde_json::from_str(&text).map_err(|e| {
            Error::input(path, format!("invalid plan (line {}: {e})", e.line()))
                .with_hint("regenerate it with `covshard plan --out plan.json`")
        })
    }

    /// Write atomically: a temporary file in the same directory, then a rename.
    /// Streamed to the file, the same bytes as [`Plan::to_json`]: a plan of a million tests is
    /// not held as text too.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically_with(path, |out| {
            serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        })
    }
}

/// Write a file so that readers see the old content or the new, never half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// [`write_atomically`] with the content written by `fill`, through a buffer.
fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.covshard-tmp-{}", std::process::id()));
    std::fs::create_dir_all(dir)
        .and_then(|()| {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            fill(&mut out)?;
            out.flush()
        })
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::write(path, e.to_string()).with_hint(format!(
                "check that {} can be written: a file path (not a directory) in a writable directory",
                path.display()
            ))
        })
}
