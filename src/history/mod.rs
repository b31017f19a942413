//! The durations history covshard keeps next to the coverage contexts, in the same data file.
//!
//! CI reports (JUnit XML, pytest-split's `.test_durations`, pytest-reportlog) are parsed into
//! [`Sample`]s, mapped to pytest node ids, and stored as one run per `covshard ingest` in
//! covshard's own `covshard_*` tables ([`store`]). The read side ([`recorded_commit`],
//! [`last_failed`], [`estimate::Estimates::load`]) works on a read-only connection and on a file
//! that has no covshard tables yet, answering "nothing recorded" rather than failing.
//!
//! Limits: durations are what the reports say (wall time of setup + call + teardown on the CI
//! machine that ran them); a report from another runner's machine type is not normalised.

pub mod audits;
pub mod estimate;
pub mod ingest;
pub mod junit;
pub mod pytest_split;
pub mod reportlog;
pub mod store;
pub mod suite;
#[cfg(test)]
pub(crate) mod testutil;

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// How many samples per test are kept when the caller does not say.
pub const DEFAULT_KEEP: usize = 10;

/// The outcome of one test in one run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
    /// An error outside the test body (setup or teardown), as pytest counts it.
    Error,
    /// The report does not say (pytest-split's `.test_durations`).
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
            Outcome::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "passed" => Outcome::Passed,
            "failed" => Outcome::Failed,
            "skipped" => Outcome::Skipped,
            "error" => Outcome::Error,
            "unknown" => Outcome::Unknown,
            _ => return None,
        })
    }

    /// When two reports describe the same test in one run, the more alarming outcome wins:
    /// a failure must never be hidden by a second report that lacks it.
    fn severity(self) -> u8 {
        match self {
            Outcome::Skipped => 0,
            Outcome::Unknown => 1,
            Outcome::Passed => 2,
            Outcome::Failed => 3,
            Outcome::Error => 4,
        }
    }

    pub fn worst(self, other: Outcome) -> Outcome {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Error)
    }
}

/// Seconds spent in each pytest phase, when the report gives them (reportlog does, JUnit not).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Phases {
    pub setup: f64,
    pub call: f64,
    pub teardown: f64,
}

/// One test's result in one run, as read from a report and mapped to a node id.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub node_id: String,
    /// Total seconds (setup + call + teardown).
    pub duration: f64,
    pub outcome: Outcome,
    pub phases: Option<Phases>,
    /// False when the id is covshard's best guess for a report entry that matched no known id.
    pub mapped: bool,
}

/// Open a data file for the read side: read-only, so a read never takes a write lock and works
/// on a file the process may not write.
pub fn open_read(path: &Path) -> Result<Connection> {
    crate::coverage::open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
}

/// The commit of the most recent ingested run, which selection uses as its default base.
/// `None` when nothing was ingested (or the file has no covshard tables).
pub fn recorded_commit(conn: &Connection) -> Result<Option<String>> {
    if !store::has_tables(conn)? {
        return Ok(None);
    }
    store::latest_run(conn).map(|run| run.and_then(|r| r.commit))
}

/// Tests that failed or errored in the most recent run (selection always re-runs them).
pub fn last_failed(conn: &Connection) -> Result<BTreeSet<String>> {
    if !store::has_tables(conn)? {
        return Ok(BTreeSet::new());
    }
    let Some(run) = store::latest_run(conn)? else {
        return Ok(BTreeSet::new());
    };
    let mut stmt = conn
        .prepare(
            "SELECT t.node_id FROM covshard_sample AS s JOIN covshard_test AS t ON t.id = s.test_id
             WHERE s.run_id = ?1 AND s.outcome IN ('failed', 'error')",
        )
        .map_err(store::sql_err(conn))?;
    let rows = stmt
        .query_map([run.id], |row| row.get::<_, String>(0))
        .map_err(store::sql_err(conn))?;
    rows.map(|r| r.map_err(store::sql_err(conn))).collect()
}

/// Line number (1-based) of a byte offset, for error messages about report files.
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Line numbers of increasing byte offsets in one pass: a report with 100,000 test cases on
/// one line must not be rescanned from the start for each case.
pub(crate) struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line of `offset`; offsets before the last one asked are counted from the start.
    pub(crate) fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            return line_of(self.bytes, offset);
        }
        self.line += self.bytes[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

/// A report that cannot be parsed: names the file and line, and what to do.
pub(crate) fn report_error(path: &Path, line: Option<usize>, problem: impl Into<String>) -> Error {
    let problem = problem.into();
    let problem = match line {
        Some(line) => format!("line {line}: {problem}"),
        None => problem,
    };
    Error::input(path, problem)
}

/// Stream the tests the history has a sample of (selection counts them as seen), without
/// collecting them.
pub fn for_each_known_test(conn: &Connection, mut f: impl FnMut(&str)) -> Result<()> {
    if !store::has_tables(conn)? {
        return Ok(());
    }
    let mut stmt = conn
        .prepare("SELECT t.node_id FROM covshard_test t WHERE EXISTS (SELECT 1 FROM covshard_sample s WHERE s.test_id = t.id)")
        .map_err(store::sql_err(conn))?;
    let mut rows = stmt.query([]).map_err(store::sql_err(conn))?;
    while let Some(row) = rows.next().map_err(store::sql_err(conn))? {
        let value = row.get_ref(0).map_err(store::sql_err(conn))?;
        let id = value.as_str().map_err(|_| {
            store::sql_err(conn)(rusqlite::Error::InvalidColumnType(
                0,
                "covshard_test.node_id".into(),
                value.data_type(),
            ))
        })?;
        f(id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_outcome_never_hides_a_failure() {
        assert_eq!(Outcome::Passed.worst(Outcome::Failed), Outcome::Failed);
        assert_eq!(Outcome::Error.worst(Outcome::Passed), Outcome::Error);
        assert_eq!(Outcome::Skipped.worst(Outcome::Unknown), Outcome::Unknown);
        for o in [
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Skipped,
            Outcome::Error,
            Outcome::Unknown,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 99), 3);
        let mut counter = LineCounter::new(b"a\nb\nc\nd");
        assert_eq!(counter.line_at(2), 2);
        assert_eq!(counter.line_at(6), 4);
        assert_eq!(counter.line_at(0), 1);
    }

    #[test]
    fn read_side_on_a_file_without_covshard_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = testutil::coverage_file(dir.path(), &["tests/test_a.py::test_one"]);
        let conn = open_read(&path).unwrap();
        assert_eq!(recorded_commit(&conn).unwrap(), None);
        assert!(last_failed(&conn).unwrap().is_empty());
    }
}
