//! covshard's own tables inside the coverage.py data file: schema, migrations, writes, reads.
//!
//! Everything lives under the `covshard_` prefix and coverage.py's tables are never touched, so
//! `coverage report` and `coverage combine` keep working on a file covshard wrote to (coverage.py
//! ignores tables it does not know). `coverage combine` writes a new file and drops ours, which
//! is why [`carry_over`] exists.
//!
//! Schema version 1:
//! - `covshard_schema(version)`: one row.
//! - `covshard_run(id, commit_id, recorded_at, source, label)`: one row per `covshard ingest`;
//!   `recorded_at` is Unix seconds, `source` lists the report kinds and file counts.
//! - `covshard_test(id, node_id)`: each node id once, so samples stay small (a history of
//!   100,000 tests x 10 runs is about a quarter of the size it takes with the id in every row).
//! - `covshard_sample(run_id, test_id, part, seq, duration, outcome, setup, call, teardown,
//!   mapped)`, keyed by `(test_id, run_id)` and clustered that way (`WITHOUT ROWID`), so one
//!   test's history is contiguous: one row per test per run; `part` is the report file it came
//!   from (a shard) and `seq` its position there, which group setup costs need; the phase
//!   columns are NULL when the report has no split; `mapped = 0` marks a best-guess node id.
//!
//! Schema version 2 adds the import index of [`crate::python::index`], and a partial index of
//! failed samples by run, so that selection finds last run's failures without reading the run:
//! - `covshard_import_commit(commit_id)`: one row, the commit the index was read at;
//! - `covshard_import(path, imports)`: each Python file's imports in a compact text form;
//! - `covshard_import_word(word, path)`: the words each file's imports name, so that selection
//!   reads only the entries of files that can import a given module.
//!
//! Schema version 3 adds, beside the import index, what selection needs to know about memoised
//! functions across the whole project (`python::calls`):
//! - `covshard_import_commit.facts`: the version of those facts the index holds (0: imports
//!   only, as version 2 stored; selection then works them out from the sources);
//! - `covshard_memo(path, qualname, body_first, body_last, reach)`: every memoised function of
//!   the commit, its body's lines and the names it can reach, space-separated (`NULL`: it makes
//!   a call no name tells, and may reach anything), and whether it is a pytest fixture shared
//!   beyond one test;
//! - `covshard_effectful(name)`: the names whose callables may keep state when called at
//!   import time (`python::calls::ProjectFacts::effectful`).
//!
//! Schema version 4 adds the record of `covshard audit` ([`crate::history::audits`]):
//! `covshard_audit` and `covshard_audit_test`.
//!
//! Schema version 5 adds the suite as ingest counted it ([`crate::history::suite`]):
//! `covshard_suite`, `covshard_suite_test` and `covshard_suite_file`, so that selection does
//! not read every context.
//!
//! Schema version 6 adds, to the import index, where each file may hand a module on
//! ([`crate::python::hand_on`]), recorded for the commit's Python files:
//! - `covshard_import_commit.hand_on_files`: the fingerprint of those files (`NULL`: not
//!   recorded);
//! - `covshard_bare_word(word, path)`: the module names each file mentions bare;
//! - `covshard_finds_modules(path)`: the files that find modules without naming them.
//!
//! Schema version 7 adds, to the import index, the files that may observe code where coverage
//! does not ([`crate::python::observes`]), so that selection does not read every test file:
//! - `covshard_import_commit.observers`: the version of the words they were found by (`NULL`:
//!   not recorded);
//! - `covshard_observer(path, spawns, reads_lines)`: each Python file of the commit that spells
//!   one, and which kind.
//!
//! Concurrency: SQLite's locking with a busy timeout (set by `open_connection`) and
//! `BEGIN IMMEDIATE`, so two ingests queue instead of failing on a lock upgrade. The journal
//! mode is left as coverage.py set it (a rollback journal): switching the file to WAL would
//! be a persistent change coverage.py does not expect.
//!
//! Read-only files: tests and CI often run as root, which SQLite's own checks do not stop,
//! so a file whose permission bits allow no write at all is refused before opening, the way
//! a person would expect `chmod a-w` to work. A file made immutable with `chattr +i`, or one
//! on a read-only mount, is caught by SQLite itself and reported the same way.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::coverage::{open_connection, sqlite_error};
use crate::error::{Error, Result};
use crate::history::{Outcome, Phases, Sample};

/// The version of covshard's tables this build reads and writes.
pub const SCHEMA_VERSION: i64 = 7;

/// `MIGRATIONS[i]` takes the tables from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["
CREATE TABLE covshard_test (
    id INTEGER PRIMARY KEY,
    node_id TEXT NOT NULL UNIQUE
);
CREATE TABLE covshard_run (
    id INTEGER PRIMARY KEY,
    commit_id TEXT,
    recorded_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    label TEXT
);
CREATE TABLE covshard_sample (
    run_id INTEGER NOT NULL REFERENCES covshard_run (id),
    test_id INTEGER NOT NULL REFERENCES covshard_test (id),
    part INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    duration REAL NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'skipped', 'error', 'unknown')),
    setup REAL,
    call REAL,
    teardown REAL,
    mapped INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (test_id, run_id)
) WITHOUT ROWID;
CREATE INDEX covshard_sample_run ON covshard_sample (run_id);
", "
CREATE TABLE covshard_import_commit (commit_id TEXT NOT NULL);
CREATE TABLE covshard_import (
    path TEXT PRIMARY KEY,
    imports TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE covshard_import_word (
    word TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (word, path)
) WITHOUT ROWID;
CREATE INDEX covshard_sample_failures ON covshard_sample (run_id) WHERE outcome IN ('failed', 'error');
", "
ALTER TABLE covshard_import_commit ADD COLUMN facts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE covshard_memo (
    path TEXT NOT NULL,
    qualname TEXT NOT NULL,
    body_first INTEGER NOT NULL,
    body_last INTEGER NOT NULL,
    reach TEXT,
    fixture INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (path, body_first, qualname)
) WITHOUT ROWID;
CREATE TABLE covshard_effectful (name TEXT PRIMARY KEY) WITHOUT ROWID;
", "
CREATE TABLE covshard_audit (
    id INTEGER PRIMARY KEY,
    commit_id TEXT,
    base_commit TEXT,
    recorded_at INTEGER NOT NULL,
    tests INTEGER NOT NULL,
    selected INTEGER NOT NULL,
    run_all INTEGER NOT NULL,
    failing INTEGER NOT NULL,
    seconds REAL NOT NULL,
    saved_seconds REAL NOT NULL,
    predicted_saved_seconds REAL NOT NULL
);
CREATE TABLE covshard_audit_test (
    audit_id INTEGER NOT NULL REFERENCES covshard_audit (id),
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('missed', 'failed-at-base', 'flaky')),
    PRIMARY KEY (audit_id, node_id)
) WITHOUT ROWID;
", "
CREATE TABLE covshard_suite (
    last_context INTEGER NOT NULL,
    last_context_name TEXT NOT NULL,
    global_context INTEGER,
    tests INTEGER NOT NULL,
    context_tests BLOB NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TABLE covshard_suite_test (
    number INTEGER PRIMARY KEY,
    node_id TEXT NOT NULL
);
CREATE TABLE covshard_suite_file (
    file TEXT PRIMARY KEY,
    tests INTEGER NOT NULL,
    measured INTEGER NOT NULL
) WITHOUT ROWID;
", "
ALTER TABLE covshard_import_commit ADD COLUMN hand_on_files INTEGER;
CREATE TABLE covshard_bare_word (
    word TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (word, path)
) WITHOUT ROWID;
CREATE TABLE covshard_finds_modules (path TEXT PRIMARY KEY) WITHOUT ROWID;
", "
ALTER TABLE covshard_import_commit ADD COLUMN observers INTEGER;
CREATE TABLE covshard_observer (
    path TEXT PRIMARY KEY,
    spawns INTEGER NOT NULL,
    reads_lines INTEGER NOT NULL
) WITHOUT ROWID;
"];

/// Map SQLite errors on `conn` to user errors naming its file.
pub(crate) fn sql_err(conn: &Connection) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| sqlite_error(Path::new(conn.path().unwrap_or("<data file>")), e)
}

/// Whether the file has covshard tables; an error when a newer covshard wrote them.
pub fn has_tables(conn: &Connection) -> Result<bool> {
    match schema_version(conn)? {
        None => Ok(false),
        Some(v) if v > SCHEMA_VERSION => Err(newer_schema(conn, v)),
        Some(_) => Ok(true),
    }
}

fn newer_schema(conn: &Connection, version: i64) -> Error {
    Error::input(
        conn.path().unwrap_or("<data file>"),
        format!("covshard's tables are at schema version {version}; this covshard understands up to {SCHEMA_VERSION}"),
    )
    .with_hint("upgrade covshard (the file was written by a newer version)")
}

/// The version of covshard's tables in this file, `None` when it has none.
pub fn schema(conn: &Connection) -> Result<Option<i64>> {
    schema_version(conn)
}

fn schema_version(conn: &Connection) -> Result<Option<i64>> {
    let err = sql_err(conn);
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'covshard_schema'",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    if exists == 0 {
        return Ok(None);
    }
    conn.query_row("SELECT max(version) FROM covshard_schema", [], |r| r.get(0))
        .map_err(err)
}

/// Create or upgrade covshard's tables. Runs inside the caller's transaction, so a failed
/// migration leaves the file as it was.
pub fn migrate(tx: &Transaction<'_>) -> Result<()> {
    let err = sql_err(tx);
    let current = match schema_version(tx)? {
        Some(v) if v > SCHEMA_VERSION => return Err(newer_schema(tx, v)),
        Some(v) => v,
        None => {
            tx.execute_batch("CREATE TABLE covshard_schema (version INTEGER NOT NULL); INSERT INTO covshard_schema (version) VALUES (0);")
                .map_err(&err)?;
            0
        }
    };
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql).map_err(&err)?;
        tx.execute("UPDATE covshard_schema SET version = ?1", [i as i64 + 1])
            .map_err(&err)?;
    }
    Ok(())
}

/// Open the data file for writing, refusing a read-only file with exit code 6.
pub fn open_write(path: &Path) -> Result<Connection> {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.permissions().readonly()
    {
        return Err(
            Error::write(path, "the data file is read-only").with_hint(format!(
                "make it writable (`chmod u+w {}`) or ingest into a copy",
                path.display()
            )),
        );
    }
    let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    // An ingest touches the sample index all over; SQLite's default 2 MB page cache made a
    // 100,000-test ingest spill and re-read pages. Per connection, nothing is persisted.
    conn.execute_batch("PRAGMA cache_size = -65536")
        .map_err(|e| sqlite_error(path, e))?;
    Ok(conn)
}

/// Begin the one transaction an ingest runs in, taking the write lock up front.
pub fn begin(conn: &mut Connection) -> Result<Transaction<'_>> {
    let path = conn.path().unwrap_or("<data file>").to_string();
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sqlite_error(Path::new(&path), e))
}

/// What a run records about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub commit: Option<String>,
    /// Unix seconds.
    pub recorded_at: i64,
    pub source: String,
    pub label: Option<String>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub id: i64,
    pub commit: Option<String>,
    pub recorded_at: i64,
    pub source: String,
    pub label: Option<String>,
}

/// A sample ready to store: where it sat in its report, for group setup costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub sample: Sample,
    pub part: i64,
    pub seq: i64,
}

/// Writes samples, finding or creating each node id's row in `covshard_test`. The known ids
/// are read once up front: one query per test made a 100,000-test ingest half again slower.
struct SampleWriter<'t> {
    ids: HashMap<String, i64>,
    create: rusqlite::CachedStatement<'t>,
    insert: rusqlite::CachedStatement<'t>,
}

impl<'t> SampleWriter<'t> {
    fn new(tx: &'t Transaction<'_>) -> Result<Self> {
        let err = sql_err(tx);
        let mut ids = HashMap::new();
        {
            let mut stmt = tx
                .prepare("SELECT node_id, id FROM covshard_test")
                .map_err(&err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(&err)?;
            for row in rows {
                let (name, id) = row.map_err(&err)?;
                ids.insert(name, id);
            }
        }
        Ok(SampleWriter {
            ids,
            create: tx
                .prepare_cached("INSERT INTO covshard_test (node_id) VALUES (?1)")
                .map_err(&err)?,
            insert: tx
                .prepare_cached(
                    "INSERT INTO covshard_sample (run_id, test_id, part, seq, duration, outcome, setup, call, teardown, mapped)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(&err)?,
        })
    }

    fn write(
        &mut self,
        tx: &Transaction<'_>,
        run_id: i64,
        placed: &Placed,
    ) -> rusqlite::Result<i64> {
        let s = &placed.sample;
        let test_id = match self.ids.get(&s.node_id) {
            Some(&id) => id,
            None => {
                self.create.execute([&s.node_id])?;
                let id = tx.last_insert_rowid();
                self.ids.insert(s.node_id.clone(), id);
                id
            }
        };
        let p = s.phases;
        self.insert.execute(rusqlite::params![
            run_id,
            test_id,
            placed.part,
            placed.seq,
            s.duration,
            s.outcome.as_str(),
            p.map(|p| p.setup),
            p.map(|p| p.call),
            p.map(|p| p.teardown),
            s.mapped,
        ])?;
        Ok(test_id)
    }
}

/// A run just written: its id and the ids of its tests (for [`prune_tests`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub run_id: i64,
    pub test_ids: Vec<i64>,
}

/// The newest stored run, when it has the same commit, label and source as `run` and exactly
/// these samples (ids, durations, outcomes): the same reports ingested again, as by a retried
/// CI job or two jobs that raced. Called inside the write transaction (after any carry-over),
/// so racing ingests see each other. Only the newest run counts, so that a match never makes
/// an older run the latest; an empty run never matches.
pub fn same_run(tx: &Transaction<'_>, run: &RunInfo, samples: &[Placed]) -> Result<Option<i64>> {
    if samples.is_empty() {
        return Ok(None);
    }
    let err = sql_err(tx);
    let mut candidates = tx
        .prepare(
            "SELECT r.id FROM (SELECT * FROM covshard_run ORDER BY id DESC LIMIT 1) r
             WHERE r.commit_id IS ?1 AND r.label IS ?2 AND r.source = ?3
             AND (SELECT count(*) FROM covshard_sample s WHERE s.run_id = r.id) = ?4",
        )
        .map_err(&err)?;
    let ids: Vec<i64> = candidates
        .query_map(
            rusqlite::params![run.commit, run.label, run.source, samples.len() as i64],
            |row| row.get(0),
        )
        .map_err(&err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(&err)?;
    if ids.is_empty() {
        return Ok(None);
    }
    let key = |id: &str, duration: f64, outcome: &str| {
        (id.to_string(), duration.to_bits(), outcome.to_string())
    };
    let mut new: Vec<_> = samples
        .iter()
        .map(|p| {
            key(
                &p.sample.node_id,
                p.sample.duration,
                p.sample.outcome.as_str(),
            )
        })
        .collect();
    new.sort();
    let mut stored = tx
        .prepare(
            "SELECT t.node_id, s.duration, s.outcome FROM covshard_sample s
             JOIN covshard_test t ON t.id = s.test_id WHERE s.run_id = ?1",
        )
        .map_err(&err)?;
    for id in ids {
        let mut old: Vec<_> = stored
            .query_map([id], |row| {
                Ok(key(
                    &row.get::<_, String>(0)?,
                    row.get(1)?,
                    &row.get::<_, String>(2)?,
                ))
            })
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?;
        old.sort();
        if old == new {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Insert one run and its samples (call inside [`begin`]'s transaction, after [`migrate`]).
pub fn insert_run(
    tx: &Transaction<'_>,
    run: &RunInfo,
    samples: &[Placed],
    progress: &dyn crate::progress::Progress,
) -> Result<Inserted> {
    let err = sql_err(tx);
    tx.execute(
        "INSERT INTO covshard_run (commit_id, recorded_at, source, label) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![run.commit, run.recorded_at, run.source, run.label],
    )
    .map_err(&err)?;
    let run_id = tx.last_insert_rowid();
    let mut writer = SampleWriter::new(tx)?;
    let mut test_ids = Vec::with_capacity(samples.len());
    for (i, placed) in samples.iter().enumerate() {
        test_ids.push(writer.write(tx, run_id, placed).map_err(&err)?);
        if i % 4096 == 0 {
            progress.advance(i as u64);
        }
    }
    progress.advance(samples.len() as u64);
    Ok(Inserted { run_id, test_ids })
}

/// Keep the newest `keep` samples of each test, and drop runs left without samples (except
/// the newest run, whose commit selection still needs). Sorts the whole table: use after a
/// carry-over; an ordinary ingest only grows the tests it ran ([`prune_tests`]).
pub fn prune(tx: &Transaction<'_>, keep: usize) -> Result<u64> {
    let err = sql_err(tx);
    let removed = tx
        .execute(
            "DELETE FROM covshard_sample WHERE (test_id, run_id) IN (
                 SELECT test_id, run_id FROM (
                     SELECT test_id, run_id,
                         row_number() OVER (PARTITION BY test_id ORDER BY run_id DESC) AS rn
                     FROM covshard_sample)
                 WHERE rn > ?1)",
            [keep as i64],
        )
        .map_err(&err)?;
    drop_empty_runs(tx)?;
    Ok(removed as u64)
}

/// [`prune`] for the given tests only: one index seek per test, so an ingest costs what it
/// adds, not what the history holds.
pub fn prune_tests(tx: &Transaction<'_>, keep: usize, test_ids: &[i64]) -> Result<u64> {
    let err = sql_err(tx);
    let mut stmt = tx
        .prepare_cached(
            "DELETE FROM covshard_sample WHERE test_id = ?1 AND run_id <= (
                 SELECT run_id FROM covshard_sample WHERE test_id = ?1
                 ORDER BY run_id DESC LIMIT 1 OFFSET ?2)",
        )
        .map_err(&err)?;
    let mut removed = 0;
    for id in test_ids {
        removed += stmt
            .execute(rusqlite::params![id, keep as i64])
            .map_err(&err)? as u64;
    }
    if removed > 0 {
        drop_empty_runs(tx)?;
    }
    Ok(removed)
}

fn drop_empty_runs(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "DELETE FROM covshard_run WHERE id <> (SELECT max(id) FROM covshard_run)
             AND NOT EXISTS (SELECT 1 FROM covshard_sample WHERE run_id = covshard_run.id)",
        [],
    )
    .map_err(sql_err(tx))?;
    Ok(())
}

/// The most recent run (highest id: ids follow ingest order, clocks may not).
pub fn latest_run(conn: &Connection) -> Result<Option<StoredRun>> {
    conn.query_row(
        "SELECT id, commit_id, recorded_at, source, label FROM covshard_run ORDER BY id DESC LIMIT 1",
        [],
        read_run,
    )
    .optional()
    .map_err(sql_err(conn))
}

fn read_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRun> {
    Ok(StoredRun {
        id: r.get(0)?,
        commit: r.get(1)?,
        recorded_at: r.get(2)?,
        source: r.get(3)?,
        label: r.get(4)?,
    })
}

/// Every run, oldest first (empty when the file has no covshard tables).
pub fn runs(conn: &Connection) -> Result<Vec<StoredRun>> {
    if !has_tables(conn)? {
        return Ok(Vec::new());
    }
    let err = sql_err(conn);
    let mut stmt = conn
        .prepare("SELECT id, commit_id, recorded_at, source, label FROM covshard_run ORDER BY id")
        .map_err(&err)?;
    let rows = stmt.query_map([], read_run).map_err(&err)?;
    rows.map(|r| r.map_err(&err)).collect()
}

/// A stored sample with its run.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSample {
    pub run_id: i64,
    pub part: i64,
    pub seq: i64,
    pub sample: Sample,
}

/// Every sample, grouped by test (groups in no particular order), newest run first within a
/// group. Empty when the file has no covshard tables.
pub fn samples(conn: &Connection) -> Result<Vec<StoredSample>> {
    if !has_tables(conn)? {
        return Ok(Vec::new());
    }
    let err = sql_err(conn);
    let mut names: HashMap<i64, std::rc::Rc<str>> = HashMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, node_id FROM covshard_test")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(&err)?;
        for row in rows {
            let (id, name) = row.map_err(&err)?;
            names.insert(id, name.into());
        }
    }
    // Scanning the primary key backwards gives each test's samples together, newest first,
    // without the on-disk sort an ORDER BY on the node id costs.
    let mut stmt = conn
        .prepare(
            "SELECT run_id, part, seq, test_id, duration, outcome, setup, call, teardown, mapped
             FROM covshard_sample ORDER BY test_id DESC, run_id DESC",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| {
            let outcome: String = r.get(5)?;
            let setup: Option<f64> = r.get(6)?;
            let call: Option<f64> = r.get(7)?;
            let teardown: Option<f64> = r.get(8)?;
            let phases = match (setup, call, teardown) {
                (Some(setup), Some(call), Some(teardown)) => Some(Phases {
                    setup,
                    call,
                    teardown,
                }),
                _ => None,
            };
            let test_id: i64 = r.get(3)?;
            Ok(StoredSample {
                run_id: r.get(0)?,
                part: r.get(1)?,
                seq: r.get(2)?,
                sample: Sample {
                    node_id: names
                        .get(&test_id)
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    duration: r.get(4)?,
                    outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Unknown),
                    phases,
                    mapped: r.get(9)?,
                },
            })
        })
        .map_err(&err)?;
    rows.map(|r| r.map_err(&err).and_then(|s| checked(conn, s)))
        .collect()
}

/// A stored sample whose durations are numbers a plan can use: finite and at least 0. SQLite
/// stores an infinity or a negative number written into the table by hand or by another tool;
/// that is bad input data in the data file (exit code 3), not a wrong command line.
fn checked(conn: &Connection, stored: StoredSample) -> Result<StoredSample> {
    let s = &stored.sample;
    let phases = s.phases.map(|p| [p.setup, p.call, p.teardown]);
    let bad = std::iter::once(s.duration)
        .chain(phases.into_iter().flatten())
        .find(|d| !d.is_finite() || *d < 0.0);
    match bad {
        None => Ok(stored),
        Some(value) => Err(Error::input(
            conn.path().unwrap_or("<data file>"),
            format!(
                "the stored history holds a duration of {value} s for `{}` (run {}): durations must be finite and at least 0",
                s.node_id, stored.run_id
            ),
        )
        .with_hint(
            "record the history again with `covshard ingest` on a fresh copy of the data file, or remove that run's samples from covshard_sample",
        )),
    }
}

/// What [`carry_over`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Carried {
    pub runs: usize,
    pub samples: usize,
    /// Runs already present in the destination (carrying twice is harmless).
    pub skipped_runs: usize,
    /// `covshard audit` records.
    pub audits: usize,
}

/// Copy runs and samples from an older data file (opened read-only) into `tx`.
pub fn carry_over(tx: &Transaction<'_>, old: &Connection) -> Result<Carried> {
    let mut carried = Carried {
        audits: crate::history::audits::carry_over(tx, old)?,
        ..Carried::default()
    };
    let old_runs = runs(old)?;
    if old_runs.is_empty() {
        return Ok(carried);
    }
    let err = sql_err(tx);
    let mut existing = std::collections::HashSet::new();
    for run in runs(tx)? {
        existing.insert((run.commit, run.recorded_at, run.source, run.label));
    }
    let mut new_ids: HashMap<i64, i64> = HashMap::new();
    for run in &old_runs {
        let key = (
            run.commit.clone(),
            run.recorded_at,
            run.source.clone(),
            run.label.clone(),
        );
        if existing.contains(&key) {
            carried.skipped_runs += 1;
            continue;
        }
        tx.execute(
            "INSERT INTO covshard_run (commit_id, recorded_at, source, label) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![run.commit, run.recorded_at, run.source, run.label],
        )
        .map_err(&err)?;
        new_ids.insert(run.id, tx.last_insert_rowid());
        carried.runs += 1;
    }
    let mut by_run: BTreeMap<i64, Vec<StoredSample>> = BTreeMap::new();
    for s in samples(old)? {
        if new_ids.contains_key(&s.run_id) {
            by_run.entry(s.run_id).or_default().push(s);
        }
    }
    let mut writer = SampleWriter::new(tx)?;
    for (old_id, list) in by_run {
        let run_id = new_ids[&old_id];
        for s in list {
            let placed = Placed {
                sample: s.sample,
                part: s.part,
                seq: s.seq,
            };
            writer.write(tx, run_id, &placed).map_err(&err)?;
            carried.samples += 1;
        }
    }
    Ok(carried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testutil::coverage_file;

    fn sample(id: &str, d: f64, outcome: Outcome) -> Placed {
        Placed {
            sample: Sample {
                node_id: id.into(),
                duration: d,
                outcome,
                phases: None,
                mapped: true,
            },
            part: 0,
            seq: 0,
        }
    }

    fn run(commit: &str, t: i64) -> RunInfo {
        RunInfo {
            commit: Some(commit.into()),
            recorded_at: t,
            source: "junit:1".into(),
            label: None,
        }
    }

    #[test]
    fn migrate_is_idempotent_and_leaves_coverage_tables_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &["t.py::a"]);
        let before: Vec<String> = table_sql(&path);
        for _ in 0..2 {
            let mut conn = open_write(&path).unwrap();
            let tx = begin(&mut conn).unwrap();
            migrate(&tx).unwrap();
            tx.commit().unwrap();
        }
        let after = table_sql(&path);
        for sql in &before {
            assert!(after.contains(sql), "coverage table changed: {sql}");
        }
        let conn = Connection::open(&path).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_version_3_file_keeps_its_runs_and_gains_the_audit_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &["t.py::a"]);
        let mut conn = open_write(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE covshard_schema (version INTEGER NOT NULL); INSERT INTO covshard_schema VALUES (3);",
        )
        .unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        let tx = begin(&mut conn).unwrap();
        insert_run(
            &tx,
            &run("c1", 1),
            &[sample("t.py::a", 1.0, Outcome::Passed)],
            &crate::progress::Silent,
        )
        .unwrap();
        tx.commit().unwrap();
        let tx = begin(&mut conn).unwrap();
        migrate(&tx).unwrap();
        tx.commit().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), Some(SCHEMA_VERSION));
        assert_eq!(runs(&conn).unwrap().len(), 1);
        assert!(crate::history::audits::list(&conn).unwrap().is_empty());
    }

    #[test]
    fn an_import_index_of_version_2_keeps_its_imports_and_is_not_trusted_for_memo_facts() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &["t.py::a"]);
        let mut conn = open_write(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE covshard_schema (version INTEGER NOT NULL); INSERT INTO covshard_schema VALUES (2);",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.execute_batch(
            "INSERT INTO covshard_import_commit (commit_id) VALUES ('c1');
             INSERT INTO covshard_import (path, imports) VALUES ('pkg/a.py', '');",
        )
        .unwrap();
        let tx = begin(&mut conn).unwrap();
        migrate(&tx).unwrap();
        tx.commit().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), Some(SCHEMA_VERSION));
        let reader = crate::python::index::IndexReader::open_for(&conn, "c1")
            .unwrap()
            .expect("the index survives the migration");
        assert_eq!(reader.paths().unwrap().len(), 1);
        assert_eq!(reader.memo_sites().unwrap(), None);
    }

    fn table_sql(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn prune_keeps_the_newest_samples_per_test() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &[]);
        let mut conn = open_write(&path).unwrap();
        let bar = crate::progress::Silent;
        for i in 0..5 {
            let tx = begin(&mut conn).unwrap();
            migrate(&tx).unwrap();
            let inserted = insert_run(
                &tx,
                &run(&format!("c{i}"), i),
                &[sample("t.py::a", i as f64, Outcome::Passed)],
                &bar,
            )
            .unwrap();
            if i % 2 == 0 {
                prune(&tx, 3).unwrap();
            } else {
                prune_tests(&tx, 3, &inserted.test_ids).unwrap();
            }
            tx.commit().unwrap();
        }
        let kept: Vec<f64> = samples(&conn)
            .unwrap()
            .iter()
            .map(|s| s.sample.duration)
            .collect();
        assert_eq!(kept, vec![4.0, 3.0, 2.0]);
        assert_eq!(runs(&conn).unwrap().len(), 3);
        assert_eq!(
            latest_run(&conn).unwrap().unwrap().commit.as_deref(),
            Some("c4")
        );
    }

    #[test]
    fn carry_over_copies_runs_once() {
        let dir = tempfile::tempdir().unwrap();
        let old_dir = dir.path().join("old");
        let new_dir = dir.path().join("new");
        std::fs::create_dir_all(&old_dir).unwrap();
        std::fs::create_dir_all(&new_dir).unwrap();
        let old = coverage_file(&old_dir, &[]);
        let new = coverage_file(&new_dir, &[]);
        let bar = crate::progress::Silent;
        {
            let mut conn = open_write(&old).unwrap();
            let tx = begin(&mut conn).unwrap();
            migrate(&tx).unwrap();
            insert_run(
                &tx,
                &run("c1", 1),
                &[sample("t.py::a", 1.0, Outcome::Failed)],
                &bar,
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let old_conn = crate::history::open_read(&old).unwrap();
        let mut conn = open_write(&new).unwrap();
        for expected_runs in [1, 0] {
            let tx = begin(&mut conn).unwrap();
            migrate(&tx).unwrap();
            let carried = carry_over(&tx, &old_conn).unwrap();
            assert_eq!(carried.runs, expected_runs);
            tx.commit().unwrap();
        }
        assert_eq!(samples(&conn).unwrap().len(), 1);
        assert_eq!(
            crate::history::recorded_commit(&conn).unwrap().as_deref(),
            Some("c1")
        );
        assert!(
            crate::history::last_failed(&conn)
                .unwrap()
                .contains("t.py::a")
        );
    }

    #[test]
    fn a_non_finite_stored_duration_is_bad_input_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &[]);
        let bar = crate::progress::Silent;
        let mut conn = open_write(&path).unwrap();
        let tx = begin(&mut conn).unwrap();
        migrate(&tx).unwrap();
        insert_run(
            &tx,
            &run("c1", 1),
            &[sample("t.py::a", 1.0, Outcome::Passed)],
            &bar,
        )
        .unwrap();
        tx.commit().unwrap();
        assert_eq!(samples(&conn).unwrap().len(), 1);
        for bad in ["9e999", "-1.0"] {
            conn.execute_batch(&format!("UPDATE covshard_sample SET duration = {bad}"))
                .unwrap();
            let err = samples(&conn).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::INPUT, "{err}");
            let text = err.to_string();
            assert!(
                text.contains(path.to_str().unwrap()) && text.contains("t.py::a"),
                "{text}"
            );
            assert!(err.hint().is_some());
        }
    }

    #[test]
    fn a_newer_schema_is_refused_by_readers_and_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &[]);
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE covshard_schema (version INTEGER NOT NULL); INSERT INTO covshard_schema VALUES (99);")
            .unwrap();
        let conn = crate::history::open_read(&path).unwrap();
        let msg = crate::history::recorded_commit(&conn)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("schema version 99"), "{msg}");
        let mut conn = open_write(&path).unwrap();
        let tx = begin(&mut conn).unwrap();
        assert!(migrate(&tx).is_err());
    }

    #[test]
    #[cfg(unix)] // Unix file modes; Windows marks files read-only otherwise
    fn read_only_permissions_are_a_write_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = coverage_file(dir.path(), &[]);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = open_write(&path).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::WRITE);
    }
}
