//! The record of `covshard audit` runs, kept in covshard's tables beside the durations, so that
//! a team sees over weeks of full runs whether selection would ever have let a failing test
//! through (schema version 4):
//! - `covshard_audit(id, commit_id, base_commit, recorded_at, tests, selected, run_all,
//!   failing, seconds, saved_seconds, predicted_saved_seconds)`: one row per audited run;
//! - `covshard_audit_test(audit_id, node_id, kind)`: the failing tests selection would have
//!   left out, `kind` telling a real miss from a test that also failed at the base or is
//!   known to be flaky.
//!
//! One record per (commit, base): auditing the same run again replaces it. Records travel
//! with `--carry-history-from` like the runs, and the newest [`KEEP`] are kept.

use std::collections::BTreeSet;

use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::history::store::{self, sql_err};

/// Audit records kept (a few hundred bytes each).
pub const KEEP: usize = 200;

/// Why a failing test that selection left out does not count against it, or that it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissKind {
    /// Selection would have let this failure through: it counts.
    Missed,
    /// It failed at the base commit too: the change did not break it.
    FailedAtBase,
    /// It failed and passed at one commit in the history: its outcome does not follow code.
    Flaky,
}

impl MissKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MissKind::Missed => "missed",
            MissKind::FailedAtBase => "failed-at-base",
            MissKind::Flaky => "flaky",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [MissKind::Missed, MissKind::FailedAtBase, MissKind::Flaky]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// What one audit found, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// The audited commit (the full run).
    pub commit: Option<String>,
    /// The baseline's commit, against which selection would have diffed.
    pub base: Option<String>,
    /// Unix seconds.
    pub recorded_at: i64,
    /// Tests in the run's reports.
    pub tests: usize,
    /// Of those, the tests selection would have run.
    pub selected: usize,
    pub run_all: bool,
    /// Tests that failed or errored in the run.
    pub failing: usize,
    /// Failing tests selection would have left out, each with why it does or does not count,
    /// sorted by id.
    pub left_out: Vec<(String, MissKind)>,
    /// The run's test time (the reports' durations).
    pub seconds: f64,
    /// The reports' time of the tests selection would have left out.
    pub saved_seconds: f64,
    /// The same, as the baseline's history predicted it.
    pub predicted_saved_seconds: f64,
}

impl AuditRecord {
    /// The failing tests that count as misses.
    pub fn misses(&self) -> impl Iterator<Item = &str> {
        self.left_out
            .iter()
            .filter(|(_, kind)| *kind == MissKind::Missed)
            .map(|(id, _)| id.as_str())
    }

    /// The fraction of the run's tests selection would have run.
    pub fn fraction_selected(&self) -> f64 {
        if self.tests == 0 {
            return 0.0;
        }
        self.selected as f64 / self.tests as f64
    }
}

fn has_table(conn: &Connection) -> Result<bool> {
    Ok(store::schema(conn)?.is_some_and(|v| v >= 4))
}

/// Store a record, replacing the one for the same commit and base, and keep the newest
/// [`KEEP`]. The caller's transaction has migrated the tables.
pub fn record(tx: &Transaction<'_>, audit: &AuditRecord) -> Result<()> {
    let err = sql_err(tx);
    let same: Vec<i64> = {
        let mut stmt = tx
            .prepare("SELECT id FROM covshard_audit WHERE commit_id IS ?1 AND base_commit IS ?2")
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![audit.commit, audit.base], |r| r.get(0))
            .map_err(&err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(&err)?
    };
    for id in same {
        delete(tx, id)?;
    }
    insert(tx, audit)?;
    prune(tx)
}

/// Keep the newest [`KEEP`] records.
fn prune(tx: &Transaction<'_>) -> Result<()> {
    let err = sql_err(tx);
    let old: Vec<i64> = {
        let mut stmt = tx
            .prepare("SELECT id FROM covshard_audit ORDER BY recorded_at DESC, id DESC LIMIT -1 OFFSET ?1")
            .map_err(&err)?;
        let rows = stmt.query_map([KEEP as i64], |r| r.get(0)).map_err(&err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(&err)?
    };
    for id in old {
        delete(tx, id)?;
    }
    Ok(())
}

fn delete(tx: &Transaction<'_>, id: i64) -> Result<()> {
    let err = sql_err(tx);
    tx.execute("DELETE FROM covshard_audit_test WHERE audit_id = ?1", [id])
        .map_err(&err)?;
    tx.execute("DELETE FROM covshard_audit WHERE id = ?1", [id])
        .map_err(&err)?;
    Ok(())
}

fn insert(tx: &Transaction<'_>, a: &AuditRecord) -> Result<()> {
    let err = sql_err(tx);
    tx.execute(
        "INSERT INTO covshard_audit (commit_id, base_commit, recorded_at, tests, selected, run_all,
             failing, seconds, saved_seconds, predicted_saved_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            a.commit,
            a.base,
            a.recorded_at,
            a.tests as i64,
            a.selected as i64,
            a.run_all,
            a.failing as i64,
            a.seconds,
            a.saved_seconds,
            a.predicted_saved_seconds
        ],
    )
    .map_err(&err)?;
    let id = tx.last_insert_rowid();
    let mut stmt = tx
        .prepare("INSERT INTO covshard_audit_test (audit_id, node_id, kind) VALUES (?1, ?2, ?3)")
        .map_err(&err)?;
    for (test, kind) in &a.left_out {
        stmt.execute(params![id, test, kind.as_str()])
            .map_err(&err)?;
    }
    Ok(())
}

/// Store a record in a data file, in a transaction of its own.
pub fn record_in(path: &std::path::Path, audit: &AuditRecord) -> Result<()> {
    let mut conn = store::open_write(path)?;
    let tx = store::begin(&mut conn)?;
    store::migrate(&tx)?;
    record(&tx, audit)?;
    tx.commit()
        .map_err(|e| crate::coverage::sqlite_error(path, e))
}

/// Every stored record, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<AuditRecord>> {
    if !has_table(conn)? {
        return Ok(Vec::new());
    }
    let err = sql_err(conn);
    let mut stmt = conn
        .prepare(
            "SELECT id, commit_id, base_commit, recorded_at, tests, selected, run_all, failing,
                    seconds, saved_seconds, predicted_saved_seconds
             FROM covshard_audit ORDER BY recorded_at, id",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                AuditRecord {
                    commit: r.get(1)?,
                    base: r.get(2)?,
                    recorded_at: r.get(3)?,
                    tests: r.get::<_, i64>(4)? as usize,
                    selected: r.get::<_, i64>(5)? as usize,
                    run_all: r.get(6)?,
                    failing: r.get::<_, i64>(7)? as usize,
                    left_out: Vec::new(),
                    seconds: r.get(8)?,
                    saved_seconds: r.get(9)?,
                    predicted_saved_seconds: r.get(10)?,
                },
            ))
        })
        .map_err(&err)?;
    let mut records: Vec<(i64, AuditRecord)> =
        rows.collect::<rusqlite::Result<_>>().map_err(&err)?;
    let mut tests = conn
        .prepare(
            "SELECT node_id, kind FROM covshard_audit_test WHERE audit_id = ?1 ORDER BY node_id",
        )
        .map_err(&err)?;
    for (id, record) in &mut records {
        let rows = tests
            .query_map([*id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        for row in rows {
            let (test, kind) = row.map_err(&err)?;
            // The CHECK constraint of the table admits only the kinds above.
            let kind = MissKind::parse(&kind).unwrap_or(MissKind::Missed);
            record.left_out.push((test, kind));
        }
    }
    Ok(records.into_iter().map(|(_, r)| r).collect())
}

/// Copy the records of an older data file that the destination lacks; returns how many.
pub fn carry_over(tx: &Transaction<'_>, old: &Connection) -> Result<usize> {
    let present: BTreeSet<(Option<String>, Option<String>)> =
        list(tx)?.into_iter().map(|r| (r.commit, r.base)).collect();
    let mut carried = 0;
    for record in list(old)? {
        if !present.contains(&(record.commit.clone(), record.base.clone())) {
            insert(tx, &record)?;
            carried += 1;
        }
    }
    prune(tx)?;
    Ok(carried)
}

/// The newest `n` records, oldest first.
pub fn newest(conn: &Connection, n: usize) -> Result<Vec<AuditRecord>> {
    let mut all = list(conn)?;
    let skip = all.len().saturating_sub(n);
    Ok(all.split_off(skip))
}

/// How the stored records add up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub audits: usize,
    /// Audits with at least one real miss.
    pub audits_with_misses: usize,
    pub misses: usize,
    pub mean_fraction_selected: f64,
    pub seconds: f64,
    pub saved_seconds: f64,
}

pub fn totals(records: &[AuditRecord]) -> Totals {
    let mut t = Totals {
        audits: records.len(),
        ..Totals::default()
    };
    for r in records {
        let misses = r.misses().count();
        t.misses += misses;
        t.audits_with_misses += usize::from(misses > 0);
        t.mean_fraction_selected += r.fraction_selected();
        t.seconds += r.seconds;
        t.saved_seconds += r.saved_seconds;
    }
    if !records.is_empty() {
        t.mean_fraction_selected /= records.len() as f64;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::{begin, migrate, open_write};
    use crate::history::testutil::coverage_file;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM covshard_audit", [], |r| r.get(0))
            .unwrap()
    }

    fn audit(commit: &str, at: i64, left_out: &[(&str, MissKind)]) -> AuditRecord {
        AuditRecord {
            commit: Some(commit.into()),
            base: Some("b".into()),
            recorded_at: at,
            tests: 10,
            selected: 4,
            run_all: false,
            failing: left_out.len(),
            left_out: left_out.iter().map(|(t, k)| (t.to_string(), *k)).collect(),
            seconds: 10.0,
            saved_seconds: 6.0,
            predicted_saved_seconds: 5.5,
        }
    }

    fn write(path: &std::path::Path, records: &[AuditRecord]) {
        let mut conn = open_write(path).unwrap();
        let tx = begin(&mut conn).unwrap();
        migrate(&tx).unwrap();
        for r in records {
            record(&tx, r).unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn records_read_back_and_a_second_audit_of_a_run_replaces_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &["t.py::a"]);
        let first = audit("m1", 1, &[("t.py::a", MissKind::Missed)]);
        let again = audit("m1", 2, &[("t.py::a", MissKind::Flaky)]);
        let other = audit("m2", 3, &[]);
        write(&path, &[first, again.clone(), other.clone()]);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(list(&conn).unwrap(), vec![again.clone(), other.clone()]);
        assert_eq!(count(&conn), 2);
        let t = totals(&list(&conn).unwrap());
        assert_eq!((t.audits, t.misses, t.audits_with_misses), (2, 0, 0));
        assert!((t.mean_fraction_selected - 0.4).abs() < 1e-9);
    }

    #[test]
    fn carrying_copies_only_the_records_the_destination_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let old = coverage_file(dir.path(), &["t.py::a"]);
        let new_dir = dir.path().join("new");
        std::fs::create_dir(&new_dir).unwrap();
        let new = coverage_file(&new_dir, &["t.py::a"]);
        let shared = audit("m1", 1, &[("t.py::a", MissKind::Missed)]);
        write(&old, &[shared.clone(), audit("m0", 0, &[])]);
        write(&new, &[shared]);
        let mut conn = open_write(&new).unwrap();
        let tx = begin(&mut conn).unwrap();
        let carried = carry_over(&tx, &Connection::open(&old).unwrap()).unwrap();
        tx.commit().unwrap();
        assert_eq!(carried, 1);
        let commits: Vec<_> = list(&conn).unwrap().into_iter().map(|r| r.commit).collect();
        assert_eq!(commits, vec![Some("m0".into()), Some("m1".into())]);
        assert_eq!(
            list(&conn).unwrap()[1].misses().collect::<Vec<_>>(),
            vec!["t.py::a"]
        );
    }

    #[test]
    fn only_the_newest_records_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &["t.py::a"]);
        let records: Vec<_> = (0..KEEP as i64 + 3)
            .map(|i| audit(&format!("m{i}"), i, &[]))
            .collect();
        write(&path, &records);
        let kept = list(&Connection::open(&path).unwrap()).unwrap();
        assert_eq!(kept.len(), KEEP);
        assert_eq!(kept[0].commit.as_deref(), Some("m3"));
    }

    #[test]
    fn a_file_without_the_tables_has_no_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &["t.py::a"]);
        assert!(list(&Connection::open(&path).unwrap()).unwrap().is_empty());
    }
}
