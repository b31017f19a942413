//! A read-only, streaming reader of coverage.py's SQLite data file (schema version 7).
//!
//! Opening validates the file (exists, is SQLite, is coverage data of a schema we understand)
//! and reads only the small `meta` and `file` tables. Line data is read per file on demand
//! (`line_bits` and `arc` are indexed by file), so a question about a few changed files never
//! loads the whole data file. Context names are looked up by id only for the contexts that
//! matter. In branch mode (`meta.has_arcs = '1'`) lines are the positive endpoints of arcs,
//! exactly as coverage.py's `CoverageData.lines()` computes them.

pub mod context;
pub mod numbits;
pub mod paths;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{Error, Result};
pub use context::{ContextKind, Phase, parse_context};

/// The only schema version of coverage.py's data file that covshard reads (coverage 5.0 and later).
pub const SCHEMA_VERSION: i64 = 7;

/// How the data was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lines,
    Branches,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Lines => "line",
            Mode::Branches => "branch",
        }
    }
}

/// A measured source file as recorded (`file` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredFile {
    pub id: i64,
    pub path: String,
}

/// A context row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRecord {
    pub id: i64,
    pub name: String,
}

/// The lines of one file that one context executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextLines {
    pub context_id: i64,
    pub lines: Vec<u32>,
}

/// The rows of one measured file: a context id and a numbits blob each, in one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRows {
    contexts: Vec<i64>,
    ends: Vec<usize>,
    data: Vec<u8>,
}

impl FileRows {
    pub(crate) fn push(&mut self, context: i64, blob: &[u8]) {
        self.data.extend_from_slice(blob);
        self.contexts.push(context);
        self.ends.push(self.data.len());
    }

    pub fn len(&self) -> usize {
        self.contexts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }

    /// `(context id, numbits)` for every row, in context id order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &[u8])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.contexts
            .iter()
            .zip(starts.zip(self.ends.iter().copied()))
            .map(|(&c, (start, end))| (c, &self.data[start..end]))
    }

    /// The blob of one context, if it has a row.
    pub fn get(&self, context: i64) -> Option<&[u8]> {
        let index = self.contexts.binary_search(&context).ok()?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(&self.data[start..self.ends[index]])
    }
}

/// An open coverage.py data file.
pub struct CoverageDb {
    conn: Connection,
    path: PathBuf,
    mode: Mode,
    version: Option<String>,
    files: Vec<MeasuredFile>,
    /// File ids whose rows are read with another's: one source file recorded under several
    /// paths (`coverage combine` of Linux and Windows runners without `[paths]`). Set by
    /// whoever maps the recorded paths, after opening.
    aliases: RefCell<BTreeMap<i64, Vec<i64>>>,
}

impl CoverageDb {
    /// Open and validate a data file, read-only.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Self::from_connection(conn, path)
    }

    /// Validate an already open connection (read-write callers such as `ingest`).
    pub fn from_connection(conn: Connection, path: &Path) -> Result<Self> {
        let sql_err = |e: rusqlite::Error| sqlite_error(path, e);
        let has_schema_table: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'coverage_schema'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(sql_err)?;
        if !has_schema_table {
            let table_count: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
                .map_err(sql_err)?;
            let problem = if table_count == 0 {
                "the file is empty: it holds no coverage data".to_string()
            } else {
                "this is an SQLite database, but not a coverage.py data file (no `coverage_schema` table)".to_string()
            };
            return Err(Error::input(path, problem).with_hint(
                "pass the `.coverage` file written by `pytest --cov=PKG --cov-context=test` (after `coverage combine` if the run was split)",
            ));
        }
        let version: Option<i64> = conn
            .query_row("SELECT version FROM coverage_schema", [], |row| row.get(0))
            .optional()
            .map_err(sql_err)?;
        if version != Some(SCHEMA_VERSION) {
            let found = version.map_or("none".to_string(), |v| v.to_string());
            let err = Error::input(
                path,
                format!(
                    "coverage data schema version {found}; covshard reads version {SCHEMA_VERSION}"
                ),
            );
            // A newer coverage.py is fixed by upgrading covshard, an older one by re-recording.
            return Err(if version.is_some_and(|v| v > SCHEMA_VERSION) {
                err.with_hint("the file was written by a newer coverage.py than covshard knows: upgrade covshard, or record the data with coverage.py 7.x")
            } else {
                err.with_hint("record the data with coverage.py 5.0 or later (`pip install -U coverage pytest-cov`)")
            });
        }
        let meta = |key: &str| -> Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql_err)
        };
        let mode = if meta("has_arcs")?.as_deref() == Some("1") {
            Mode::Branches
        } else {
            Mode::Lines
        };
        let version = meta("version")?;
        let mut files = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT id, path FROM file ORDER BY id")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(MeasuredFile {
                        id: row.get(0)?,
                        path: row.get(1)?,
                    })
                })
                .map_err(sql_err)?;
            for row in rows {
                files.push(row.map_err(sql_err)?);
            }
        }
        Ok(CoverageDb {
            conn,
            path: path.to_path_buf(),
            mode,
            version,
            files,
            aliases: RefCell::default(),
        })
    }

    /// Another read-only connection to the same file, for another thread, without validating
    /// it again.
    pub fn reopen(&self) -> Result<Self> {
        Ok(CoverageDb {
            conn: open_connection(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
            path: self.path.clone(),
            mode: self.mode,
            version: self.version.clone(),
            files: self.files.clone(),
            aliases: self.aliases.clone(),
        })
    }

    /// Read the rows of each group's files as one file's, under the group's first id: the
    /// recorded paths of each group map to the same source file. Readers of any other id of a
    /// group get that id's rows alone.
    pub fn merge_files(&self, groups: impl IntoIterator<Item = Vec<i64>>) {
        let mut aliases = BTreeMap::new();
        for group in groups {
            if let Some((&first, rest)) = group.split_first()
                && !rest.is_empty()
            {
                aliases.insert(first, rest.to_vec());
            }
        }
        *self.aliases.borrow_mut() = aliases;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The coverage.py version that wrote the file, as recorded in `meta`.
    pub fn coverage_version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn files(&self) -> &[MeasuredFile] {
        &self.files
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Number of context rows.
    pub fn context_count(&self) -> Result<u64> {
        self.count("SELECT count(*) FROM context")
    }

    /// Number of rows of line data (`line_bits` in line mode, `arc` in branch mode).
    pub fn line_row_count(&self) -> Result<u64> {
        match self.mode {
            Mode::Lines => self.count("SELECT count(*) FROM line_bits"),
            Mode::Branches => self.count("SELECT count(*) FROM arc"),
        }
    }

    fn count(&self, sql: &str) -> Result<u64> {
        self.conn
            .query_row(sql, [], |row| row.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sqlite_error(&self.path, e))
    }

    /// Every context, in id order. Reads the whole table; use for whole-file questions only.
    pub fn contexts(&self) -> Result<Vec<ContextRecord>> {
        let mut out = Vec::new();
        self.for_each_context(|id, name| {
            out.push(ContextRecord {
                id,
                name: name.to_string(),
            })
        })?;
        Ok(out)
    }

    /// Call `f(id, name)` for every context, in id order, without collecting them.
    pub fn for_each_context(&self, mut f: impl FnMut(i64, &str)) -> Result<()> {
        let sql_err = |e| sqlite_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT id, context FROM context ORDER BY id")
            .map_err(sql_err)?;
        let mut rows = stmt.query([]).map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let id: i64 = row.get(0).map_err(sql_err)?;
            let name = row.get_ref(1).map_err(sql_err)?.as_str().unwrap_or("");
            f(id, name);
        }
        Ok(())
    }

    /// The names of the given context ids (ids that do not exist are skipped).
    pub fn context_names(&self, ids: &BTreeSet<i64>) -> Result<Vec<ContextRecord>> {
        let sql_err = |e| sqlite_error(&self.path, e);
        // One read transaction for the batch: outside one, every lookup takes and releases the
        // file lock and revalidates SQLite's page cache, a few system calls each (4,500 names
        // took 30 ms instead of 8). Held for the batch only, so that a writer waiting to commit
        // (`ingest`) never waits on a connection that this process opens later.
        let _snapshot = self.conn.unchecked_transaction().map_err(sql_err)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT context FROM context WHERE id = ?1")
            .map_err(sql_err)?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(name) = stmt
                .query_row([id], |row| row.get::<_, String>(0))
                .optional()
                .map_err(sql_err)?
            {
                out.push(ContextRecord { id, name });
            }
        }
        Ok(out)
    }

    /// The pytest node ids named by the test contexts (all phases merged), sorted.
    pub fn test_ids(&self) -> Result<BTreeSet<String>> {
        self.test_ids_with(|_| None)
    }

    /// The same, with `test_function` contexts named through `resolve_function`.
    pub fn test_ids_with(
        &self,
        resolve_function: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeSet<String>> {
        let mut ids = BTreeSet::new();
        // Borrowed names: a test's phases allocate its id once.
        self.for_each_context(|_, name| {
            if let Some(node_id) = context::node_id_of(name, &resolve_function)
                && !ids.contains(node_id.as_ref())
            {
                ids.insert(node_id.into_owned());
            }
        })?;
        Ok(ids)
    }

    /// Whether any context names a test (pytest-cov or `test_function` style).
    pub fn has_test_contexts(&self) -> Result<bool> {
        // The usual pytest-cov phases answer without reading the whole table.
        let quick: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM context WHERE context LIKE '%|run' OR context LIKE '%|setup' OR context LIKE '%|teardown' LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| sqlite_error(&self.path, e))?;
        if quick.is_some() {
            return Ok(true);
        }
        Ok(self.contexts()?.iter().any(|c| {
            matches!(
                parse_context(&c.name),
                ContextKind::Test { .. } | ContextKind::Function { .. }
            )
        }))
    }

    /// Fail with a helpful message when the file has no per-test contexts.
    pub fn require_test_contexts(&self) -> Result<()> {
        if self.has_test_contexts()? {
            return Ok(());
        }
        Err(Error::input(
            &self.path,
            "the data file has no per-test contexts, so covshard cannot tell which test ran which line",
        )
        .with_hint("record it with `pytest --cov=PKG --cov-context=test` (pytest-cov), or set `dynamic_context = test_function` under [run] in .coveragerc"))
    }

    /// For one measured file, the lines each context executed. Reads only that file's rows.
    pub fn lines_by_context(&self, file_id: i64) -> Result<Vec<ContextLines>> {
        if self.mode == Mode::Branches && !self.aliases.borrow().contains_key(&file_id) {
            return self.arc_lines_for(file_id);
        }
        Ok(self
            .line_blobs(file_id)?
            .iter()
            .map(|(context_id, blob)| ContextLines {
                context_id,
                lines: numbits::decode(blob),
            })
            .collect())
    }

    /// The lines of `files` (repository paths) that one test ran, from its own contexts: the
    /// test's node id, or a test file's path for every test in it. A file recorded under
    /// several paths (runners on two systems) is one entry; a file the test ran nothing of is
    /// an empty set, and one the data file does not measure is absent.
    pub fn lines_run_by(
        &self,
        test: &str,
        files: &[&str],
    ) -> Result<BTreeMap<String, BTreeSet<u32>>> {
        let mine: BTreeSet<i64> = self
            .contexts()?
            .into_iter()
            .filter(|c| match parse_context(&c.name) {
                ContextKind::Test { node_id, .. } => {
                    node_id == test || crate::nodeid::file_of(&node_id) == test
                }
                _ => false,
            })
            .map(|c| c.id)
            .collect();
        let mut ran: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        if mine.is_empty() {
            return Ok(ran);
        }
        for file in self.files() {
            let recorded = paths::normalise(&file.path);
            let Some(path) = files
                .iter()
                .find(|p| recorded == **p || recorded.ends_with(&format!("/{p}")))
            else {
                continue;
            };
            let lines = ran.entry(path.to_string()).or_default();
            for (_, blob) in self.line_blobs_of(file.id, &mine)?.iter() {
                lines.extend(numbits::decode(blob));
            }
        }
        Ok(ran)
    }

    /// For one measured file, each context's lines as a numbits blob (encoded from arcs in
    /// branch mode), so that set questions need no decoding. The blobs share one buffer: a core
    /// module run by most tests has tens of thousands of rows.
    pub fn line_blobs(&self, file_id: i64) -> Result<FileRows> {
        self.merged(file_id, |id| self.line_blobs_alone(id))
    }

    /// The rows of `file_id` and of the files merged into it, one row per context.
    fn merged(&self, file_id: i64, read: impl Fn(i64) -> Result<FileRows>) -> Result<FileRows> {
        let first = read(file_id)?;
        let Some(others) = self.aliases.borrow().get(&file_id).cloned() else {
            return Ok(first);
        };
        let mut by_context: BTreeMap<i64, Vec<u8>> = first
            .iter()
            .map(|(context, blob)| (context, blob.to_vec()))
            .collect();
        for other in others {
            for (context, blob) in read(other)?.iter() {
                let entry = by_context.entry(context).or_default();
                *entry = numbits::union(entry, blob);
            }
        }
        let mut out = FileRows::default();
        for (context, blob) in &by_context {
            out.push(*context, blob);
        }
        Ok(out)
    }

    fn line_blobs_alone(&self, file_id: i64) -> Result<FileRows> {
        let mut out = FileRows::default();
        match self.mode {
            Mode::Lines => {
                let sql_err = |e| sqlite_error(&self.path, e);
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT context_id, numbits FROM line_bits WHERE file_id = ?1 ORDER BY context_id",
                    )
                    .map_err(sql_err)?;
                let mut rows = stmt.query([file_id]).map_err(sql_err)?;
                while let Some(row) = rows.next().map_err(sql_err)? {
                    let context_id: i64 = row.get(0).map_err(sql_err)?;
                    match row.get_ref(1).map_err(sql_err)? {
                        rusqlite::types::ValueRef::Blob(b) => out.push(context_id, b),
                        other => {
                            return Err(corrupt_numbits(&self.path, file_id, context_id, other));
                        }
                    }
                }
            }
            Mode::Branches => {
                for c in self.arc_lines_for(file_id)? {
                    out.push(c.context_id, &numbits::encode(c.lines));
                }
            }
        }
        Ok(out)
    }

    /// The rows of one file for the given contexts only: a point lookup each (the data file
    /// indexes rows by file and context), for when a few contexts matter and the file has many.
    pub fn line_blobs_of(&self, file_id: i64, contexts: &BTreeSet<i64>) -> Result<FileRows> {
        self.merged(file_id, |id| self.line_blobs_of_alone(id, contexts))
    }

    fn line_blobs_of_alone(&self, file_id: i64, contexts: &BTreeSet<i64>) -> Result<FileRows> {
        let sql_err = |e| sqlite_error(&self.path, e);
        let mut out = FileRows::default();
        match self.mode {
            Mode::Lines => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT numbits FROM line_bits WHERE file_id = ?1 AND context_id = ?2",
                    )
                    .map_err(sql_err)?;
                for &context_id in contexts {
                    let mut rows = stmt.query([file_id, context_id]).map_err(sql_err)?;
                    if let Some(row) = rows.next().map_err(sql_err)? {
                        match row.get_ref(0).map_err(sql_err)? {
                            rusqlite::types::ValueRef::Blob(b) => out.push(context_id, b),
                            other => {
                                return Err(corrupt_numbits(
                                    &self.path, file_id, context_id, other,
                                ));
                            }
                        }
                    }
                }
            }
            Mode::Branches => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT fromno, tono FROM arc WHERE file_id = ?1 AND context_id = ?2",
                    )
                    .map_err(sql_err)?;
                for &context_id in contexts {
                    let mut lines = BTreeSet::new();
                    let mut rows = stmt.query([file_id, context_id]).map_err(sql_err)?;
                    while let Some(row) = rows.next().map_err(sql_err)? {
                        for end in [
                            row.get::<_, i64>(0).map_err(sql_err)?,
                            row.get(1).map_err(sql_err)?,
                        ] {
                            if end > 0 {
                                lines.insert(end as u32);
                            }
                        }
                    }
                    if !lines.is_empty() {
                        out.push(context_id, &numbits::encode(lines));
                    }
                }
            }
        }
        Ok(out)
    }

    fn arc_lines_for(&self, file_id: i64) -> Result<Vec<ContextLines>> {
        let sql_err = |e| sqlite_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT context_id, fromno, tono FROM arc WHERE file_id = ?1 ORDER BY context_id",
            )
            .map_err(sql_err)?;
        let mut rows = stmt.query([file_id]).map_err(sql_err)?;
        let mut out: Vec<ContextLines> = Vec::new();
        let mut current: Option<(i64, BTreeSet<u32>)> = None;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let context_id: i64 = row.get(0).map_err(sql_err)?;
            let from: i64 = row.get(1).map_err(sql_err)?;
            let to: i64 = row.get(2).map_err(sql_err)?;
            if current.as_ref().is_some_and(|(id, _)| *id != context_id)
                && let Some((id, lines)) = current.take()
            {
                out.push(ContextLines {
                    context_id: id,
                    lines: lines.into_iter().collect(),
                });
            }
            let entry = current.get_or_insert_with(|| (context_id, BTreeSet::new()));
            for end in [from, to] {
                if end > 0 {
                    entry.1.insert(end as u32);
                }
            }
        }
        if let Some((id, lines)) = current {
            out.push(ContextLines {
                context_id: id,
                lines: lines.into_iter().collect(),
            });
        }
        Ok(out)
    }
}

fn corrupt_numbits(
    path: &Path,
    file_id: i64,
    context_id: i64,
    value: rusqlite::types::ValueRef<'_>,
) -> Error {
    Error::input(
        path,
        format!(
            "corrupt line data: numbits for file id {file_id}, context id {context_id} is {} instead of a blob",
            value.data_type()
        ),
    )
    .with_hint("the data file is damaged; record it again with `pytest --cov=PKG --cov-context=test`")
}

/// Open a connection with clear errors for a missing file or one that is not SQLite.
pub fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        let err = Error::input(path, "cannot read the data file").caused_by(e);
        if missing {
            err.with_hint("run `pytest --cov=PKG --cov-context=test` to create it, or pass its path with --db")
        } else {
            err
        }
    })?;
    if metadata.is_dir() {
        return Err(
            Error::input(path, "this is a directory, not a coverage data file")
                .with_hint("pass the `.coverage` file itself with --db"),
        );
    }
    if metadata.len() == 0 {
        return Err(Error::input(path, "the file is empty: it holds no coverage data")
            .with_hint("record coverage with `pytest --cov=PKG --cov-context=test`; an interrupted run can leave an empty file"));
    }
    match first_read(path, flags) {
        // A writer killed mid-transaction left a hot journal, which a read-only connection
        // may not roll back: a writable one does, restoring the file as it was before that
        // write (what coverage.py or the next ingest would do), and the read goes on.
        Err(e)
            if is_readonly_rollback(&e) && !flags.contains(OpenFlags::SQLITE_OPEN_READ_WRITE) =>
        {
            first_read(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(|e| {
                let journal = format!("{}-journal", path.display());
                Error::input(path, format!("an interrupted write left a journal ({journal}) that must be rolled back, and the file is not writable here"))
                    .with_hint("make the data file and its directory writable and run any covshard command once (SQLite rolls the write back), or use a copy made before the interrupted job")
                    .caused_by(e)
            })?;
            first_read(path, flags).map_err(|e| sqlite_error(path, e))
        }
        other => other.map_err(|e| sqlite_error(path, e)),
    }
}

/// Open and run the first query: SQLite opens lazily, so it tells whether this is a database
/// at all (and rolls back a hot journal when it may write).
fn first_read(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    })?;
    Ok(conn)
}

/// SQLITE_READONLY_ROLLBACK: a hot journal that a read-only connection cannot roll back.
fn is_readonly_rollback(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == 776)
}

/// Turn an SQLite error into a user-facing error about `path`.
pub fn sqlite_error(path: &Path, err: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode;
    let (code, extended) = match &err {
        rusqlite::Error::SqliteFailure(e, _) => (Some(e.code), e.extended_code),
        _ => (None, 0),
    };
    // SQLITE_IOERR_WRITE, _FSYNC, _DIR_FSYNC, _TRUNCATE and _DELETE: writing itself failed.
    let write_failed = matches!(extended, 778 | 1034 | 1290 | 1546 | 2570);
    if code == Some(ErrorCode::DiskFull) || write_failed {
        return Error::write(
            path,
            "writing failed: the disk is full, the file may not grow any larger, or an I/O error",
        )
        .caused_by(err)
        .with_hint("free space (or raise the file-size limit; SQLite's temporary files go to SQLITE_TMPDIR) and run again: a failed write leaves the data file as it was");
    }
    match code {
        Some(ErrorCode::NotADatabase) => Error::input(path, "not an SQLite database, so not a coverage.py data file").caused_by(err)
            .with_hint("pass the `.coverage` file written by pytest-cov; a `.coverage` file in JSON (coverage 4.x) or a report (XML, JSON, LCOV) will not do"),
        Some(ErrorCode::DatabaseCorrupt) => Error::input(path, "the database is corrupt").caused_by(err)
            .with_hint("record the coverage data again"),
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            Error::write(path, "the database is locked by another process").caused_by(err)
                .with_hint("wait for the other covshard or coverage process to finish, then retry")
        }
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => {
            Error::write(path, "SQLite cannot open it for writing")
                .caused_by(err)
                .with_hint("check that the file and its directory are writable")
        }
        _ => Error::input(path, "SQLite cannot read it").caused_by(err),
    }
}
