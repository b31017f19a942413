//! The import index: what every Python file of one commit imports, kept in the data file.
//!
//! Why: an import-time change reaches every test that imports the module, directly or not, and
//! finding those importers means reading every Python file of the checkout. On a large
//! repository that read (tens of MB through the page cache) costs more than the rest of
//! selection together. `covshard ingest` runs once per main-branch build, on the commit the
//! coverage data belongs to, so it records each file's imports there, with the words they name;
//! selection then reads only the files the change touched, and asks the index only for the
//! files that name a module it follows ([`IndexReader`]).
//!
//! Exactness: the index is built from the commit's objects (`git ls-tree`, `git cat-file`), not
//! from the working tree, and selection uses it only when its base is that same commit and the
//! changes come from git: every file git does not report as changed is then byte for byte the
//! committed one, so its imports are the recorded ones. Symlinks, files whose imports the text
//! format cannot hold, and files missing from the index are read from disk, as without an index.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::calls::{self, MemoSite, ProjectFacts, Reach};
use super::hand_on;
use super::imports::Import;
use super::imports::read_imports;
use super::observes::{self, Observes};
use crate::error::{Error, Result};
use crate::history::store;

/// The version of the project facts beside the imports that [`build`] records (the memoised
/// functions and their reach). Raise it when their analysis changes, so that an index recorded
/// by an older build is not trusted for them.
pub const FACTS_VERSION: i64 = 4;

/// The imports of every indexed Python file at `commit`, and the project's memoised functions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportIndex {
    /// The full commit id the files were read at.
    pub commit: String,
    /// Repository-relative path -> its imports, in source order.
    pub files: HashMap<String, Vec<Import>>,
    /// What selection needs to know about the whole commit: its memoised functions, and the
    /// names of callables that may keep state.
    pub project: ProjectFacts,
    /// Where each file may hand a module on, when every Python path of the commit is a
    /// regular file (a symlink's blob is its target's name, not the code the checkout reads).
    pub hand_on: Option<HandOnFacts>,
    /// The Python files that may observe code where coverage does not, sorted (see
    /// [`super::observes`]), when every Python file of the commit was read as the checkout
    /// reads it.
    pub observers: Option<Vec<(String, Observes)>>,
}

/// [`super::hand_on`] for every file of the commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandOnFacts {
    /// [`super::hand_on::files_fingerprint`] of the commit's Python files.
    pub fingerprint: i64,
    /// Path -> the module names it mentions bare (files that mention none are left out).
    pub bare: Vec<(String, Vec<String>)>,
    pub finds_modules: Vec<String>,
}

/// Read every regular Python file of `commit` from git and parse its imports.
pub fn build(root: &Path, commit: &str) -> Result<ImportIndex> {
    let listing = crate::git::run(root, &["ls-tree", "-r", "-z", "--full-tree", commit])?;
    // `<mode> <type> <sha>\t<path>`; mode 100644/100755 are files, 120000 symlinks (their blob is
    // the link's target, not the module), 160000 submodules.
    let mut symlinked = false;
    // (path, blob id) of every regular Python file.
    let entries: Vec<(String, String)> = listing
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = std::str::from_utf8(entry).ok()?;
            let (meta, path) = entry.split_once('\t')?;
            let regular = meta.starts_with("100644 blob") || meta.starts_with("100755 blob");
            symlinked |= !regular && meta.starts_with("120000") && path.ends_with(".py");
            let id = meta.rsplit(' ').next()?;
            (regular && path.ends_with(".py")).then(|| (path.to_string(), id.to_string()))
        })
        .collect();
    let paths: Vec<String> = entries.iter().map(|(path, _)| path.clone()).collect();
    let blobs: Vec<(String, Vec<u8>)> = crate::git::read_objects(root, entries)?
        .into_iter()
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let chunk = blobs.len().div_ceil(workers).max(1);
    let files = std::thread::scope(|scope| {
        let handles: Vec<_> = blobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(path, bytes)| {
                            (path.clone(), read_imports(&String::from_utf8_lossy(bytes)))
                        })
                        .filter(|(_, imports)| imports.iter().all(encodable))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parsing imports does not panic"))
            .collect()
    });
    let texts: Vec<(&str, String)> = blobs
        .iter()
        .map(|(path, bytes)| (path.as_str(), String::from_utf8_lossy(bytes).into_owned()))
        .collect();
    let project = calls::project_facts(texts.iter().map(|(p, t)| (*p, t.as_str())));
    // Facts for fewer files than the commit has (git could not read one) would be taken for
    // the whole commit's.
    let hand_on = (!symlinked && blobs.len() == paths.len()).then(|| hand_on_facts(&paths, &blobs));
    // Only for every Python file of the commit, as read by the checkout: a symlink's blob is
    // its target's name, and a file git could not read would be taken for one that observes
    // nothing.
    let observers = (!symlinked && blobs.len() == paths.len()).then(|| {
        let scanner = observes::Scanner::default();
        let mut observers: Vec<(String, Observes)> = blobs
            .iter()
            .map(|(path, bytes)| (path.clone(), scanner.scan(bytes)))
            .filter(|(_, o)| o.any())
            .collect();
        observers.sort_by(|a, b| a.0.cmp(&b.0));
        observers
    });
    Ok(ImportIndex {
        commit: commit.to_string(),
        files,
        project,
        hand_on,
        observers,
    })
}

fn hand_on_facts(paths: &[String], blobs: &[(String, Vec<u8>)]) -> HandOnFacts {
    let words = hand_on::module_words(paths.iter().map(String::as_str));
    let mut facts = HandOnFacts {
        fingerprint: hand_on::files_fingerprint(paths.iter().map(String::as_str)),
        ..HandOnFacts::default()
    };
    let words = hand_on::WordSet::new(words);
    for (path, bytes) in blobs {
        let file = hand_on::scan(bytes, &words);
        if file.finds_modules {
            facts.finds_modules.push(path.clone());
        }
        if !file.bare.is_empty() {
            facts.bare.push((path.clone(), file.bare));
        }
    }
    facts
}

/// The words a file's imports name: every dotted component of modules and imported names.
/// An import of `a/b/c.py` names `c` (see [`super::dependents`]), so a file whose words lack it
/// cannot import it.
pub fn words(imports: &[Import]) -> BTreeSet<&str> {
    imports
        .iter()
        .flat_map(|i| std::iter::once(&i.module).chain(&i.names))
        .flat_map(|name| name.split('.'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Replace the stored index with `index`, inside the caller's transaction.
pub fn store(tx: &Transaction<'_>, index: &ImportIndex) -> Result<()> {
    let err = store::sql_err(tx);
    tx.execute_batch(
        "DELETE FROM covshard_import; DELETE FROM covshard_import_word; DELETE FROM covshard_import_commit; DELETE FROM covshard_memo; DELETE FROM covshard_effectful; DELETE FROM covshard_bare_word; DELETE FROM covshard_finds_modules; DELETE FROM covshard_observer;",
    )
    .map_err(&err)?;
    tx.execute(
        "INSERT INTO covshard_import_commit (commit_id, facts, hand_on_files, observers) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![
            &index.commit,
            FACTS_VERSION,
            index.hand_on.as_ref().map(|h| h.fingerprint),
            index.observers.as_ref().map(|_| observes::VERSION)
        ],
    )
    .map_err(&err)?;
    let mut insert = tx
        .prepare("INSERT INTO covshard_observer (path, spawns, reads_lines) VALUES (?1, ?2, ?3)")
        .map_err(&err)?;
    for (path, o) in index.observers.iter().flatten() {
        insert
            .execute(rusqlite::params![path, o.spawns, o.reads_lines])
            .map_err(&err)?;
    }
    if let Some(hand_on) = &index.hand_on {
        let mut insert = tx
            .prepare("INSERT INTO covshard_bare_word (word, path) VALUES (?1, ?2)")
            .map_err(&err)?;
        for (path, words) in &hand_on.bare {
            for word in words {
                insert.execute([word, path]).map_err(&err)?;
            }
        }
        let mut insert = tx
            .prepare("INSERT INTO covshard_finds_modules (path) VALUES (?1)")
            .map_err(&err)?;
        for path in &hand_on.finds_modules {
            insert.execute([path]).map_err(&err)?;
        }
    }
    let mut insert_memo = tx
        .prepare(
            "INSERT OR IGNORE INTO covshard_memo (path, qualname, body_first, body_last, reach, fixture) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(&err)?;
    let mut insert_effectful = tx
        .prepare("INSERT OR IGNORE INTO covshard_effectful (name) VALUES (?1)")
        .map_err(&err)?;
    for name in &index.project.effectful {
        insert_effectful.execute([name]).map_err(&err)?;
    }
    for site in &index.project.memo {
        let reach = match &site.reach {
            Reach::Opaque => None,
            Reach::Names(names) => Some(
                names
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        };
        insert_memo
            .execute(rusqlite::params![
                &site.path,
                &site.qualname,
                site.body.0,
                site.body.1,
                reach,
                site.fixture
            ])
            .map_err(&err)?;
    }
    let mut insert = tx
        .prepare("INSERT INTO covshard_import (path, imports) VALUES (?1, ?2)")
        .map_err(&err)?;
    let mut insert_word = tx
        .prepare("INSERT INTO covshard_import_word (word, path) VALUES (?1, ?2)")
        .map_err(&err)?;
    let mut paths: Vec<&String> = index.files.keys().collect();
    paths.sort();
    for path in paths {
        let imports = &index.files[path];
        insert.execute([path, &encode(imports)]).map_err(&err)?;
        for word in words(imports) {
            insert_word.execute([word, path]).map_err(&err)?;
        }
    }
    Ok(())
}

/// Reads the stored index of one commit lazily: selection asks only for the files that name
/// the modules it follows, so memory and time follow the change, not the repository.
pub struct IndexReader<'c> {
    conn: &'c Connection,
}

impl<'c> IndexReader<'c> {
    /// The stored index, when there is one for `commit` (a full commit id).
    pub fn open_for(conn: &'c Connection, commit: &str) -> Result<Option<Self>> {
        Ok((stored_commit(conn)?.as_deref() == Some(commit)).then_some(IndexReader { conn }))
    }

    /// The project's facts, when the index holds this build's version of them
    /// ([`FACTS_VERSION`]); `None` when it was recorded without them.
    pub fn project_facts(&self) -> Result<Option<ProjectFacts>> {
        let Some(memo) = self.memo_sites()? else {
            return Ok(None);
        };
        let err = store::sql_err(self.conn);
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM covshard_effectful ORDER BY name")
            .map_err(&err)?;
        let effectful = stmt
            .query_map([], |r| r.get(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(err)?;
        Ok(Some(ProjectFacts { memo, effectful }))
    }

    /// The project's memoised functions, when the index holds this build's version of them
    /// ([`FACTS_VERSION`]); `None` when it was recorded without them.
    pub fn memo_sites(&self) -> Result<Option<Vec<MemoSite>>> {
        if store::schema(self.conn)?.is_none_or(|v| v < 3) {
            return Ok(None);
        }
        let err = store::sql_err(self.conn);
        let facts: i64 = self
            .conn
            .query_row("SELECT facts FROM covshard_import_commit", [], |r| r.get(0))
            .map_err(&err)?;
        if facts != FACTS_VERSION {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, qualname, body_first, body_last, reach, fixture FROM covshard_memo ORDER BY path, body_first, qualname",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| {
                let reach: Option<String> = r.get(4)?;
                Ok(MemoSite {
                    path: r.get(0)?,
                    qualname: r.get(1)?,
                    body: (r.get(2)?, r.get(3)?),
                    reach: match reach {
                        None => Reach::Opaque,
                        Some(text) => Reach::Names(
                            text.split(' ')
                                .filter(|w| !w.is_empty())
                                .map(str::to_string)
                                .collect(),
                        ),
                    },
                    fixture: r.get(5)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<rusqlite::Result<_>>().map(Some).map_err(err)
    }

    /// Whether some file of the commit finds modules without naming them, when the index
    /// recorded where files hand modules on for the Python files of `files` (a
    /// [`hand_on::files_fingerprint`]); `None` when it did not, or for other files.
    pub fn hand_on_finds_modules(&self, files: i64) -> Result<Option<bool>> {
        if store::schema(self.conn)?.is_none_or(|v| v < 6) {
            return Ok(None);
        }
        let err = store::sql_err(self.conn);
        let recorded: Option<i64> = self
            .conn
            .query_row(
                "SELECT hand_on_files FROM covshard_import_commit",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        if recorded != Some(files) {
            return Ok(None);
        }
        let any: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM covshard_finds_modules LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&err)?;
        Ok(Some(any.is_some()))
    }

    /// The files of the commit that may observe code where coverage does not, sorted, when
    /// the index recorded them with this build's words ([`observes::VERSION`]).
    pub fn observers(&self) -> Result<Option<Vec<(String, Observes)>>> {
        if store::schema(self.conn)?.is_none_or(|v| v < 7) {
            return Ok(None);
        }
        let err = store::sql_err(self.conn);
        let recorded: Option<i64> = self
            .conn
            .query_row("SELECT observers FROM covshard_import_commit", [], |r| {
                r.get(0)
            })
            .map_err(&err)?;
        if recorded != Some(observes::VERSION) {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT path, spawns, reads_lines FROM covshard_observer ORDER BY path")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Observes {
                        spawns: r.get(1)?,
                        reads_lines: r.get(2)?,
                    },
                ))
            })
            .map_err(&err)?;
        rows.collect::<rusqlite::Result<_>>().map(Some).map_err(err)
    }

    /// The files of the commit that mention one of `words` bare, sorted, each once (see
    /// [`hand_on`]; only meaningful after [`Self::hand_on_finds_modules`] said `Some`).
    pub fn bare_mentions(&self, words: &[String]) -> Result<Vec<String>> {
        let err = store::sql_err(self.conn);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM covshard_bare_word WHERE word = ?1")
            .map_err(&err)?;
        let mut out = BTreeSet::new();
        for word in words {
            let rows = stmt
                .query_map([word], |r| r.get::<_, String>(0))
                .map_err(&err)?;
            for row in rows {
                out.insert(row.map_err(&err)?);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Every indexed path.
    pub fn paths(&self) -> Result<BTreeSet<String>> {
        let err = store::sql_err(self.conn);
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM covshard_import")
            .map_err(&err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(&err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// The indexed files whose imports name `word`, with their imports. An entry this build
    /// cannot read is an error: the file would otherwise drop out of the import graph.
    pub fn files_naming(&self, word: &str) -> Result<Vec<(String, Vec<Import>)>> {
        let err = store::sql_err(self.conn);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.path, i.imports FROM covshard_import_word AS w
                 JOIN covshard_import AS i ON i.path = w.path
                 WHERE w.word = ?1 ORDER BY i.path",
            )
            .map_err(&err)?;
        let mut rows = stmt.query([word]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            let path: String = row.get(0).map_err(&err)?;
            let text: String = row.get(1).map_err(&err)?;
            let imports = decode(&text).ok_or_else(|| {
                Error::input(
                    self.conn.path().unwrap_or("<data file>"),
                    format!("the import index entry of {path} cannot be read"),
                )
                .with_hint(
                    "record it again with `covshard ingest`, or drop it with `--no-import-index`",
                )
            })?;
            out.push((path, imports));
        }
        Ok(out)
    }
}

/// The commit and file count of the stored index, if there is one (for `covshard info`).
pub fn summary(conn: &Connection) -> Result<Option<(String, usize)>> {
    let Some(commit) = stored_commit(conn)? else {
        return Ok(None);
    };
    let files: i64 = conn
        .query_row("SELECT count(*) FROM covshard_import", [], |r| r.get(0))
        .map_err(store::sql_err(conn))?;
    Ok(Some((commit, files as usize)))
}

/// The commit the stored index was read at, if there is an index.
fn stored_commit(conn: &Connection) -> Result<Option<String>> {
    if store::schema(conn)?.is_none_or(|v| v < 2) {
        return Ok(None);
    }
    conn.query_row("SELECT commit_id FROM covshard_import_commit", [], |r| {
        r.get(0)
    })
    .optional()
    .map_err(store::sql_err(conn))
}

/// Text format, one import a line: `line level flags module names`, tab-separated, `names`
/// comma-separated, `flags` any of `f` (from), `n` (in a function), `t` (type checking).
/// Compact and quick to read back: the index of a 7,000-file repository loads in milliseconds.
fn encode(imports: &[Import]) -> String {
    let mut out = String::new();
    for i in imports {
        let flags: String = [
            (i.is_from, 'f'),
            (i.in_function, 'n'),
            (i.type_checking, 't'),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            i.line,
            i.level,
            flags,
            i.module,
            i.names.join(",")
        ));
    }
    out
}

/// Whether [`encode`] holds this import faithfully (`pytest_plugins` strings may hold anything).
fn encodable(import: &Import) -> bool {
    let clean = |s: &str| !s.contains(['\t', '\n', '\r', ',']);
    clean(&import.module) && import.names.iter().all(|n| clean(n) && !n.is_empty())
}

fn decode(text: &str) -> Option<Vec<Import>> {
    text.lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let line_no = fields.next()?.parse().ok()?;
            let level = fields.next()?.parse().ok()?;
            let flags = fields.next()?;
            let module = fields.next()?.to_string();
            let names = fields.next()?;
            if fields.next().is_some() {
                return None;
            }
            Some(Import {
                line: line_no,
                level,
                module,
                names: if names.is_empty() {
                    Vec::new()
                } else {
                    names.split(',').map(str::to_string).collect()
                },
                is_from: flags.contains('f'),
                in_function: flags.contains('n'),
                type_checking: flags.contains('t'),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_round_trips() {
        let source = "import os, a.b as c\nfrom . import x, y\nfrom ..p.q import *\n\
                      if TYPE_CHECKING:\n    import t\ndef f():\n    from z import w\n\
                      pytest_plugins = ['fix.a']\n";
        let imports = read_imports(source);
        assert!(imports.len() >= 6, "{imports:?}");
        assert!(imports.iter().all(encodable));
        assert_eq!(decode(&encode(&imports)), Some(imports));
        assert_eq!(decode(""), Some(Vec::new()));
        assert_eq!(decode("1\t0\tf\ta\tb\textra\n"), None);
        assert_eq!(decode("x\t0\t\ta\t\n"), None);
    }

    #[test]
    #[cfg(unix)] // makes a symlink
    fn built_from_the_commit_not_the_working_tree_and_without_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(root)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(root.join("pkg")).unwrap();
        std::fs::write(root.join("pkg/a.py"), "from .b import x\n").unwrap();
        std::fs::write(root.join("pkg/b.py"), "x = 1\n").unwrap();
        std::fs::write(root.join("notes.txt"), "import os\n").unwrap();
        std::os::unix::fs::symlink("a.py", root.join("pkg/link.py")).unwrap();
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "base"]);
        // A later edit in the working tree is not the commit's content.
        std::fs::write(root.join("pkg/a.py"), "import json\n").unwrap();
        let commit = crate::git::resolve_commit(root, "HEAD").unwrap();
        let index = build(root, &commit).unwrap();
        let mut paths: Vec<&str> = index.files.keys().map(String::as_str).collect();
        paths.sort();
        assert_eq!(paths, ["pkg/a.py", "pkg/b.py"]);
        assert_eq!(index.files["pkg/a.py"], read_imports("from .b import x\n"));
        assert_eq!(index.commit, commit);
        // A symlinked module's blob is not the code it runs: no hand-on facts are recorded.
        assert_eq!(index.hand_on, None);
    }

    #[test]
    fn hand_on_facts_are_stored_for_the_module_names_they_were_read_for() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(root)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(root.join("pkg")).unwrap();
        let files = [
            ("pkg/__init__.py", ""),
            ("pkg/keys.py", "LIMIT = 1\n"),
            // Hands the module on as a value, and mentions `pkg` only in an import.
            ("pkg/use.py", "from pkg import keys\nrun(keys)\n"),
            ("pkg/attr.py", "from pkg import keys\nprint(keys.LIMIT)\n"),
            ("pkg/finder.py", "import sys\nm = sys.modules['pkg.keys']\n"),
            (
                "pkg/spawn.py",
                "import subprocess\nsubprocess.run(['true'])\n",
            ),
        ];
        for (path, text) in files {
            std::fs::write(root.join(path), text).unwrap();
        }
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "base"]);
        let commit = crate::git::resolve_commit(root, "HEAD").unwrap();
        let index = build(root, &commit).unwrap();
        let facts = index.hand_on.clone().unwrap();
        assert_eq!(facts.finds_modules, ["pkg/finder.py"]);
        let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            facts.fingerprint,
            hand_on::files_fingerprint(paths.iter().copied())
        );

        let db = dir.path().join("data.sqlite");
        let mut conn = Connection::open(&db).unwrap();
        let tx = conn.transaction().unwrap();
        store::migrate(&tx).unwrap();
        super::store(&tx, &index).unwrap();
        tx.commit().unwrap();
        let reader = IndexReader::open_for(&conn, &commit).unwrap().unwrap();
        assert_eq!(
            reader.hand_on_finds_modules(facts.fingerprint).unwrap(),
            Some(true)
        );
        // The files that may observe code where coverage does not, by kind.
        let spawns = Observes {
            spawns: true,
            reads_lines: false,
        };
        assert_eq!(
            reader.observers().unwrap(),
            Some(vec![("pkg/spawn.py".to_string(), spawns)])
        );
        // Recorded for other files (one added since), it answers nothing.
        let other = hand_on::files_fingerprint(paths.iter().copied().chain(["pkg/extra.py"]));
        assert_ne!(other, facts.fingerprint);
        assert_eq!(reader.hand_on_finds_modules(other).unwrap(), None);
        let mentions = |w: &[&str]| {
            let w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            reader.bare_mentions(&w).unwrap()
        };
        // Strings count (erring towards yes): `'pkg.keys'` mentions `keys` bare.
        assert_eq!(mentions(&["keys"]), ["pkg/finder.py", "pkg/use.py"]);
        assert_eq!(
            mentions(&["keys", "pkg", "nothing"]),
            ["pkg/finder.py", "pkg/use.py"]
        );
        assert!(mentions(&["attr"]).is_empty());
    }

    #[test]
    fn the_stored_index_serves_only_its_own_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::history::testutil::coverage_file(dir.path(), &["tests/test_a.py::t"]);
        let mut conn = Connection::open(&path).unwrap();
        assert!(
            IndexReader::open_for(&conn, "c1").unwrap().is_none(),
            "no tables yet"
        );
        let index = ImportIndex {
            commit: "c1".into(),
            files: [
                ("pkg/a.py".to_string(), read_imports("from .b import x\n")),
                ("pkg/c.py".to_string(), read_imports("import pkg.b.d\n")),
                ("pkg/e.py".to_string(), Vec::new()),
            ]
            .into(),
            project: calls::project_facts([
                (
                    "pkg/m.py",
                    "import functools\n@functools.cache\ndef f():\n    return g()\n",
                ),
                ("pkg/n.py", "_C = {}\ndef h(k, make):\n    _C[k] = make()\n"),
            ]),
            hand_on: None,
            observers: None,
        };
        assert_eq!(index.project.memo.len(), 2);
        assert!(index.project.effectful.contains("h"));
        let tx = store::begin(&mut conn).unwrap();
        store::migrate(&tx).unwrap();
        store(&tx, &index).unwrap();
        tx.commit().unwrap();
        assert_eq!(summary(&conn).unwrap(), Some(("c1".to_string(), 3)));
        let reader = IndexReader::open_for(&conn, "c1").unwrap().unwrap();
        assert_eq!(reader.project_facts().unwrap(), Some(index.project.clone()));
        // An index recorded without the memoised functions' facts does not answer for them.
        conn.execute("UPDATE covshard_import_commit SET facts = 0", [])
            .unwrap();
        let reader = IndexReader::open_for(&conn, "c1").unwrap().unwrap();
        assert_eq!(reader.memo_sites().unwrap(), None);
        conn.execute(
            "UPDATE covshard_import_commit SET facts = ?1",
            [FACTS_VERSION],
        )
        .unwrap();
        assert!(
            IndexReader::open_for(&conn, "c2").unwrap().is_none(),
            "another commit"
        );
        let reader = IndexReader::open_for(&conn, "c1").unwrap().unwrap();
        let paths: Vec<String> = reader.paths().unwrap().into_iter().collect();
        assert_eq!(paths, ["pkg/a.py", "pkg/c.py", "pkg/e.py"]);
        let naming =
            |word: &str| -> Vec<(String, Vec<Import>)> { reader.files_naming(word).unwrap() };
        assert_eq!(
            naming("b"),
            [
                ("pkg/a.py".to_string(), index.files["pkg/a.py"].clone()),
                ("pkg/c.py".to_string(), index.files["pkg/c.py"].clone()),
            ]
        );
        assert_eq!(naming("x").len(), 1);
        assert!(naming("e").is_empty());

        // Storing again replaces the index: one commit, its files only.
        let newer = ImportIndex {
            commit: "c2".into(),
            files: [("pkg/b.py".to_string(), Vec::new())].into(),
            project: ProjectFacts::default(),
            hand_on: None,
            observers: None,
        };
        let tx = store::begin(&mut conn).unwrap();
        store(&tx, &newer).unwrap();
        tx.commit().unwrap();
        assert!(IndexReader::open_for(&conn, "c1").unwrap().is_none());
        let reader = IndexReader::open_for(&conn, "c2").unwrap().unwrap();
        assert_eq!(reader.paths().unwrap().len(), 1);
        assert!(reader.files_naming("b").unwrap().is_empty());
        assert_eq!(reader.memo_sites().unwrap(), Some(Vec::new()));
    }

    #[test]
    fn imports_the_format_cannot_hold_are_not_indexed() {
        let imports = read_imports("pytest_plugins = ['a,b']\n");
        assert!(!imports.iter().all(encodable), "{imports:?}");
    }
}
