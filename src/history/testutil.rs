//! Build coverage.py data files in tests without Python: the schema-7 tables exactly as
//! coverage.py 7 creates them, with one `NODEID|run` context per test.
//!
//! Test code only, for the unit tests and (through `#[path]`) the integration tests: it needs
//! nothing of the crate, and encodes numbits itself, so a fixture never depends on the code it
//! tests.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// coverage.py 7's `SCHEMA`, verbatim apart from comments.
pub const COVERAGE_SCHEMA: &str = "
CREATE TABLE coverage_schema (
    version integer
);
CREATE TABLE meta (
    key text,
    value text,
    unique (key)
);
CREATE TABLE file (
    id integer primary key,
    path text,
    unique (path)
);
CREATE TABLE context (
    id integer primary key,
    context text,
    unique (context)
);
CREATE TABLE line_bits (
    file_id integer,
    context_id integer,
    numbits blob,
    foreign key (file_id) references file (id),
    foreign key (context_id) references context (id),
    unique (file_id, context_id)
);
CREATE TABLE arc (
    file_id integer,
    context_id integer,
    fromno integer,
    tono integer,
    foreign key (file_id) references file (id),
    foreign key (context_id) references context (id),
    unique (file_id, context_id, fromno, tono)
);
CREATE TABLE tracer (
    file_id integer primary key,
    tracer text,
    foreign key (file_id) references file (id)
);
";

/// Write `dir/.coverage` in line mode where each test's `run` context executed line 1 of
/// `src/pkg/mod.py` (the path is relative, as with `relative_files = true`).
pub fn coverage_file(dir: &Path, tests: &[&str]) -> PathBuf {
    let contexts: Vec<String> = tests.iter().map(|t| format!("{t}|run")).collect();
    let mut rows: Vec<(&str, &str, &[u32])> = vec![("src/pkg/mod.py", "", &[1])];
    rows.extend(
        contexts
            .iter()
            .map(|c| ("src/pkg/mod.py", c.as_str(), &[1][..])),
    );
    coverage_file_with(dir, &rows)
}

/// Write `dir/.coverage` in line mode from `(file, context, lines)` rows (relative paths).
pub fn coverage_file_with(dir: &Path, rows: &[(&str, &str, &[u32])]) -> PathBuf {
    let path = dir.join(".coverage");
    let conn = Connection::open(&path).expect("create coverage file");
    conn.execute_batch(COVERAGE_SCHEMA).expect("schema");
    conn.execute_batch(
        "INSERT INTO coverage_schema (version) VALUES (7);
         INSERT INTO meta (key, value) VALUES ('version', '7.17.3'), ('has_arcs', '0'),
             ('sys_argv', '[''pytest'']'), ('when', '2026-11-26 20:00:00');",
    )
    .expect("meta");
    for (file, context, lines) in rows {
        conn.execute("INSERT OR IGNORE INTO file (path) VALUES (?1)", [file])
            .expect("file");
        conn.execute(
            "INSERT OR IGNORE INTO context (context) VALUES (?1)",
            [context],
        )
        .expect("context");
        conn.execute(
            "INSERT INTO line_bits (file_id, context_id, numbits)
             VALUES ((SELECT id FROM file WHERE path = ?1), (SELECT id FROM context WHERE context = ?2), ?3)",
            rusqlite::params![file, context, numbits(lines)],
        )
        .expect("line_bits");
    }
    path
}

/// coverage.py's numbits: bit `n % 8` of byte `n / 8` is set for line `n`.
fn numbits(lines: &[u32]) -> Vec<u8> {
    let mut out = vec![0u8; lines.iter().max().map_or(0, |&n| n as usize / 8 + 1)];
    for &n in lines {
        out[n as usize / 8] |= 1 << (n % 8);
    }
    out
}
