//! The suite as `covshard ingest` stored it, so that `select` reads what a change reaches and
//! not every context of the data file (issue 19).
//!
//! Selection needs four facts about the whole suite: which test each context belongs to, the
//! known tests (contexts and history) by test file, the names of the tests it selects, and
//! the known set, to find the collected tests that are new. Counting them from the contexts
//! costs a pass over a table that grows with the suite (3 million rows for a million tests);
//! ingest reads that table anyway, so it works them out once and stores them:
//! - `covshard_suite`: one row; `context_tests`, a little-endian `u32` per context id (the
//!   number of its test, `u32::MAX` for none), read whole (4 bytes a context: 12 MB for a
//!   million tests, a few milliseconds); the id of the empty context; and the newest context's
//!   id and name, which tell whether the contexts are still the ones counted;
//! - `covshard_suite_test(number, node_id)`: every known test, numbered in name order, so a
//!   selected test's name is one lookup and the known set reads in order;
//! - `covshard_suite_file(file, tests, measured)`: the census of test files.
//!
//! coverage.py only ever adds contexts (`coverage combine --append`, a second run appending),
//! with ids after the newest, so a newest context that differs from the stored one means the
//! contexts changed: selection then counts them again, as for a data file never ingested. The
//! history changes only in `ingest`, which rebuilds all of this in the same transaction. A
//! data file whose contexts are coverage.py's own `test_function` ones stores nothing: their
//! tests are resolved against the checkout at selection time.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::coverage::context::test_context;
use crate::coverage::{ContextKind, CoverageDb, parse_context};
use crate::error::Result;
use crate::history::store::{self, sql_err};

/// Marks a context that names no test.
pub const NO_TEST: u32 = u32::MAX;

/// The first schema version with these tables.
const SINCE_VERSION: i64 = 5;

/// What one pass over the context table tells about the tests, before the history joins in.
#[derive(Debug, Clone, Default)]
pub struct ContextTests {
    /// The tests the contexts name, sorted, each once.
    pub names: Vec<String>,
    /// Context id -> index into `names` ([`NO_TEST`]: none).
    by_context: Vec<u32>,
    global_context: Option<i64>,
    /// Some context is a `test_function` one (`module.Qualname`).
    functions: bool,
    /// The newest context: its id and name.
    last: Option<(i64, String)>,
}

impl ContextTests {
    /// Read every context of `db` once.
    pub fn read(db: &CoverageDb) -> Result<Self> {
        let mut out = ContextTests::default();
        // Node id -> the order it was first seen in; ranked by name at the end.
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        let mut previous: Option<(String, u32)> = None;
        db.for_each_context(|id, name| {
            // The newest context as this pass saw it: one appended after it makes the
            // stored suite stale rather than silently incomplete.
            out.last = Some((id, name.to_string()));
            let Ok(slot) = usize::try_from(id) else {
                return;
            };
            if out.by_context.len() <= slot {
                out.by_context.resize(slot + 1, NO_TEST);
            }
            if let Some((node_id, _)) = test_context(name) {
                let local = match &previous {
                    // A test's phases come one after the other: no lookup for them.
                    Some((prev, local)) if prev == node_id => *local,
                    _ => {
                        let next = seen.len() as u32;
                        let local = *seen.entry(node_id.to_string()).or_insert(next);
                        previous = Some((node_id.to_string(), local));
                        local
                    }
                };
                out.by_context[slot] = local;
                return;
            }
            match parse_context(name) {
                ContextKind::Global => out.global_context = Some(id),
                ContextKind::Function { .. } => out.functions = true,
                ContextKind::Test { .. } | ContextKind::Other(_) => {}
            }
        })?;
        let mut rank = vec![0u32; seen.len()];
        for (r, local) in seen.values().enumerate() {
            rank[*local as usize] = r as u32;
        }
        for t in &mut out.by_context {
            if *t != NO_TEST {
                *t = rank[*t as usize];
            }
        }
        out.names = seen.into_keys().collect();
        Ok(out)
    }
}

/// The newest context's id and name (a name that is not UTF-8 reads as empty, as in
/// [`CoverageDb::for_each_context`]).
fn newest_context(conn: &Connection) -> Result<Option<(i64, String)>> {
    conn.query_row(
        "SELECT id, context FROM context ORDER BY id DESC LIMIT 1",
        [],
        |r| {
            let name = r.get_ref(1)?.as_str().unwrap_or("").to_string();
            Ok((r.get::<_, i64>(0)?, name))
        },
    )
    .optional()
    .map_err(sql_err(conn))
}

/// What [`store_suite`] stored, for the ingest summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// This many known tests.
    Tests(usize),
    /// Nothing: the contexts are `test_function` ones.
    FunctionContexts,
}

/// Replace the stored suite with the one `contexts` and the history (as it stands in `tx`)
/// tell. Runs inside the ingest's transaction.
pub fn store_suite(tx: &Transaction<'_>, contexts: &ContextTests) -> Result<Stored> {
    let err = sql_err(tx);
    // Each store gets a new generation, so that a reader can tell that the numbers it holds
    // are no longer the stored ones (an ingest committed while it read).
    let generation: i64 = tx
        .query_row("SELECT max(generation) FROM covshard_suite", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .map_err(&err)?
        .unwrap_or(0);
    tx.execute_batch(
        "DELETE FROM covshard_suite; DELETE FROM covshard_suite_test; DELETE FROM covshard_suite_file;",
    )
    .map_err(&err)?;
    if contexts.functions {
        return Ok(Stored::FunctionContexts);
    }
    let generation = generation.max(0);
    let mut history: Vec<String> = Vec::new();
    crate::history::for_each_known_test(tx, |id| history.push(id.to_string()))?;
    history.sort_unstable();
    history.dedup();

    // Both lists are sorted and hold each name once: merge them, numbering as they go;
    // `renumber` takes a context test's rank to its number.
    let names = &contexts.names;
    let mut renumber = Vec::with_capacity(names.len());
    let mut files: BTreeMap<&str, (u64, bool)> = BTreeMap::new();
    let mut insert = tx
        .prepare("INSERT INTO covshard_suite_test (number, node_id) VALUES (?1, ?2)")
        .map_err(&err)?;
    let (mut i, mut j, mut number) = (0usize, 0usize, 0u32);
    while i < names.len() || j < history.len() {
        let take_context = j >= history.len() || (i < names.len() && names[i] <= history[j]);
        let name = if take_context {
            if j < history.len() && names[i] == history[j] {
                j += 1;
            }
            renumber.push(number);
            i += 1;
            &names[i - 1]
        } else {
            j += 1;
            &history[j - 1]
        };
        insert
            .execute(rusqlite::params![number, name])
            .map_err(&err)?;
        let tally = files.entry(crate::nodeid::file_of(name)).or_default();
        tally.0 += 1;
        tally.1 |= take_context;
        number += 1;
    }
    let mut insert = tx
        .prepare("INSERT INTO covshard_suite_file (file, tests, measured) VALUES (?1, ?2, ?3)")
        .map_err(&err)?;
    for (file, (tests, measured)) in &files {
        insert
            .execute(rusqlite::params![file, *tests as i64, measured])
            .map_err(&err)?;
    }
    let mut blob = Vec::with_capacity(contexts.by_context.len() * 4);
    for &t in &contexts.by_context {
        let t = if t == NO_TEST {
            t
        } else {
            renumber[t as usize]
        };
        blob.extend_from_slice(&t.to_le_bytes());
    }
    let (last_id, last_name) = contexts.last.clone().unwrap_or((0, String::new()));
    tx.execute(
        "INSERT INTO covshard_suite (last_context, last_context_name, global_context, tests, context_tests, generation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            last_id,
            last_name,
            contexts.global_context,
            number as i64,
            blob,
            generation + 1
        ],
    )
    .map_err(&err)?;
    Ok(Stored::Tests(number as usize))
}

/// The stored suite, read for a selection.
#[derive(Debug, Clone, Default)]
pub struct StoredSuite {
    /// Which store of the suite this is: the numbers below mean something only in it.
    pub generation: i64,
    /// Context id -> test number ([`NO_TEST`]: none).
    pub by_context: Vec<u32>,
    pub global_context: Option<i64>,
    /// Known tests in all.
    pub tests: usize,
    /// Test file -> (its known tests, whether a context names one of them), sorted.
    pub files: Vec<(String, usize, bool)>,
}

/// Why a data file's stored suite cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Never ingested by a covshard that stores it (or its contexts are `test_function` ones).
    Missing,
    /// Contexts were added since the ingest that stored it.
    Stale,
}

impl Unavailable {
    pub fn explain(self) -> &'static str {
        match self {
            Unavailable::Missing => {
                "no stored suite (`covshard ingest` records it): counting the suite from every context"
            }
            Unavailable::Stale => {
                "the contexts changed since the last `covshard ingest` (a `coverage combine --append`?): counting the suite from every context; ingest again to store it"
            }
        }
    }
}

fn has_suite_tables(conn: &Connection) -> Result<bool> {
    Ok(store::has_tables(conn)? && store::schema(conn)?.is_some_and(|v| v >= SINCE_VERSION))
}

/// The stored suite of `conn`'s data file, when there is one and the contexts are still the
/// ones it counted.
pub fn open(conn: &Connection) -> Result<std::result::Result<StoredSuite, Unavailable>> {
    if !has_suite_tables(conn)? {
        return Ok(Err(Unavailable::Missing));
    }
    let err = sql_err(conn);
    let row = conn
        .query_row(
            "SELECT last_context, last_context_name, global_context, tests, context_tests, generation FROM covshard_suite",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()
        .map_err(&err)?;
    let Some((last_id, last_name, global_context, tests, blob, generation)) = row else {
        return Ok(Err(Unavailable::Missing));
    };
    let now = newest_context(conn)?.unwrap_or((0, String::new()));
    if now != (last_id, last_name) || blob.len() % 4 != 0 {
        return Ok(Err(Unavailable::Stale));
    }
    let by_context = blob
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut stmt = conn
        .prepare("SELECT file, tests, measured FROM covshard_suite_file ORDER BY file")
        .map_err(&err)?;
    let files = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as usize,
                r.get::<_, bool>(2)?,
            ))
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)?;
    Ok(Ok(StoredSuite {
        generation,
        by_context,
        global_context,
        tests: tests as usize,
        files,
    }))
}

/// Fails unless the stored suite is still `generation`: an ingest that committed since
/// renumbered the tests.
fn same_generation(conn: &Connection, generation: i64) -> Result<()> {
    let now: Option<i64> = conn
        .query_row("SELECT generation FROM covshard_suite", [], |r| r.get(0))
        .optional()
        .map_err(sql_err(conn))?;
    if now == Some(generation) {
        return Ok(());
    }
    Err(crate::Error::other(format!(
        "{}: `covshard ingest` stored the suite again while this command read it",
        conn.path().unwrap_or("<data file>")
    ))
    .with_hint("run the command again"))
}

/// The names of the given test numbers of `suite`, in the same order: a lookup each for a
/// few, one pass over the table for many (a number that does not exist is an error: the file
/// changed).
pub fn names_of(conn: &Connection, suite: &StoredSuite, numbers: &[u32]) -> Result<Vec<String>> {
    let err = sql_err(conn);
    let missing = |n: u32| {
        crate::Error::other(format!(
            "{}: stored test {n} is missing; run `covshard ingest` again",
            conn.path().unwrap_or("<data file>")
        ))
    };
    if numbers.len() * 8 >= suite.tests {
        let mut wanted: Vec<(u32, usize)> = numbers.iter().copied().zip(0..).collect();
        wanted.sort_unstable();
        let mut found: Vec<Option<String>> = vec![None; numbers.len()];
        let mut next = wanted.iter().peekable();
        for_each_name(conn, suite, |n, name| {
            while let Some(&&(w, slot)) = next.peek() {
                if w > n {
                    break;
                }
                if w == n {
                    found[slot] = Some(name.to_string());
                }
                next.next();
            }
        })?;
        return found
            .into_iter()
            .zip(numbers)
            .map(|(name, &n)| name.ok_or_else(|| missing(n)))
            .collect();
    }
    // One read transaction for the batch (see `CoverageDb::context_names`), in which the
    // generation is checked.
    let _snapshot = conn.unchecked_transaction().map_err(&err)?;
    same_generation(conn, suite.generation)?;
    let mut stmt = conn
        .prepare_cached("SELECT node_id FROM covshard_suite_test WHERE number = ?1")
        .map_err(&err)?;
    let mut out = Vec::with_capacity(numbers.len());
    for &n in numbers {
        let name = stmt
            .query_row([n], |r| r.get::<_, String>(0))
            .optional()
            .map_err(&err)?;
        out.push(name.ok_or_else(|| missing(n))?);
    }
    Ok(out)
}

/// Every test of `suite`, in number (and so name) order.
pub fn for_each_name(
    conn: &Connection,
    suite: &StoredSuite,
    mut f: impl FnMut(u32, &str),
) -> Result<()> {
    let err = sql_err(conn);
    let _snapshot = conn.unchecked_transaction().map_err(&err)?;
    same_generation(conn, suite.generation)?;
    let mut stmt = conn
        .prepare("SELECT number, node_id FROM covshard_suite_test ORDER BY number")
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    while let Some(row) = rows.next().map_err(&err)? {
        let number: u32 = row.get(0).map_err(&err)?;
        let name = row.get_ref(1).map_err(&err)?.as_str().unwrap_or("");
        f(number, name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::ingest::{ReportKind, Request, ingest};
    use crate::history::testutil::coverage_file_with;

    fn ingest_with_durations(db: &std::path::Path, durations: &str) {
        let report = db.with_file_name(".test_durations");
        std::fs::write(&report, durations).unwrap();
        let request = Request {
            db: db.to_path_buf(),
            reports: vec![(ReportKind::Durations, report)],
            commit: Some("abc".into()),
            label: None,
            carry_from: None,
            keep: 5,
            recorded_at: 1,
            import_index: None,
        };
        ingest(&request, &crate::progress::Silent).unwrap();
    }

    #[test]
    fn ingest_stores_every_known_test_and_which_test_each_context_is() {
        let dir = tempfile::tempdir().unwrap();
        let db = coverage_file_with(
            dir.path(),
            &[
                ("src/m.py", "", &[1]),
                ("src/m.py", "t/test_b.py::y|run", &[2]),
                ("src/m.py", "t/test_a.py::x|setup", &[2]),
                ("src/m.py", "t/test_a.py::x|run", &[3]),
                ("src/m.py", "a static label", &[3]),
                // Not next to its other phases: still the same test.
                ("src/m.py", "t/test_a.py::x|teardown", &[3]),
            ],
        );
        let conn = Connection::open(&db).unwrap();
        let ids: std::collections::HashMap<String, i64> = conn
            .prepare("SELECT context, id FROM context")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(open(&conn).unwrap().unwrap_err(), Unavailable::Missing);
        // History alone names t/test_c.py::z; t/test_a.py::x is in both.
        ingest_with_durations(&db, r#"{"t/test_c.py::z": 1.5, "t/test_a.py::x": 0.5}"#);

        let suite = open(&conn).unwrap().unwrap();
        assert_eq!(suite.tests, 3);
        assert_eq!(suite.global_context, Some(ids[""]));
        assert_eq!(
            suite.files,
            [
                ("t/test_a.py".to_string(), 1, true),
                ("t/test_b.py".to_string(), 1, true),
                ("t/test_c.py".to_string(), 1, false),
            ]
        );
        let test_of = |context: &str| suite.by_context[ids[context] as usize];
        assert_eq!(
            test_of("t/test_a.py::x|setup"),
            test_of("t/test_a.py::x|teardown")
        );
        assert_eq!(
            test_of("t/test_a.py::x|run"),
            test_of("t/test_a.py::x|setup")
        );
        assert_eq!(test_of(""), NO_TEST);
        assert_eq!(test_of("a static label"), NO_TEST);
        let (a, b) = (test_of("t/test_a.py::x|run"), test_of("t/test_b.py::y|run"));
        // A few take a lookup each (as in a suite of thousands), many one pass: same answer.
        let as_if_large = StoredSuite {
            tests: 1000,
            ..suite.clone()
        };
        for suite in [&as_if_large, &suite] {
            assert_eq!(
                names_of(&conn, suite, &[b, a]).unwrap(),
                ["t/test_b.py::y", "t/test_a.py::x"]
            );
            assert!(names_of(&conn, suite, &[7]).is_err());
        }
        assert_eq!(
            names_of(&conn, &suite, &[b, a, 2]).unwrap(),
            ["t/test_b.py::y", "t/test_a.py::x", "t/test_c.py::z"]
        );
        let mut listed = Vec::new();
        for_each_name(&conn, &suite, |n, name| listed.push((n, name.to_string()))).unwrap();
        assert_eq!(
            listed,
            [
                (0, "t/test_a.py::x".to_string()),
                (1, "t/test_b.py::y".to_string()),
                (2, "t/test_c.py::z".to_string())
            ]
        );

        // A context added since (a second run appended) makes it stale, until the next ingest.
        conn.execute(
            "INSERT INTO context (context) VALUES ('t/test_d.py::w|run')",
            [],
        )
        .unwrap();
        assert_eq!(open(&conn).unwrap().unwrap_err(), Unavailable::Stale);
        ingest_with_durations(&db, r#"{"t/test_c.py::z": 1.5}"#);
        let again = open(&conn).unwrap().unwrap();
        assert_eq!(again.tests, 4);
        // Numbers read before that ingest are not looked up in its store.
        assert!(names_of(&conn, &suite, &[0]).is_err());
        assert!(names_of(&conn, &as_if_large, &[0]).is_err());
        assert!(for_each_name(&conn, &suite, |_, _| {}).is_err());
        assert_eq!(names_of(&conn, &again, &[3]).unwrap(), ["t/test_d.py::w"]);
    }

    #[test]
    fn test_function_contexts_store_no_suite() {
        let dir = tempfile::tempdir().unwrap();
        let db = coverage_file_with(
            dir.path(),
            &[
                ("src/m.py", "", &[1]),
                ("src/m.py", "tests.test_a.test_x", &[2]),
            ],
        );
        ingest_with_durations(&db, r#"{"tests/test_a.py::test_x": 1.0}"#);
        let conn = Connection::open(&db).unwrap();
        assert_eq!(open(&conn).unwrap().unwrap_err(), Unavailable::Missing);
    }
}
