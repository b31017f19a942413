//! The suite covshard knows of: every test that the contexts, the durations history or the
//! collected list names. `covshard ingest` stores it ([`crate::history::suite`]), so that
//! selection reads only the census of test files and the names it selects; a data file that
//! was never ingested (or whose contexts changed since) is counted in one streaming pass that
//! keeps no names, so a small change costs memory for what the change reaches, not for the
//! suite (issue 3). The names are listed only when an output needs every one of them
//! (run-all, `plan`, `explain`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use crate::coverage::context::test_context;
use crate::coverage::{ContextKind, CoverageDb, parse_context};
use crate::error::Result;
use crate::history::suite::{self as stored, StoredSuite, Unavailable};

/// Where selection takes the suite from.
pub enum Suite {
    /// Counted from every context (and the history) of a data file never ingested, or whose
    /// contexts changed since.
    Scanned(Box<SuiteScan>, Unavailable),
    Stored(StoredSuite),
}

impl Suite {
    /// The stored suite when it is fresh, else a pass over the contexts and the history.
    pub fn read(db: &CoverageDb, collected: Option<&[String]>, list_names: bool) -> Result<Self> {
        Ok(match stored::open(db.connection())? {
            Ok(suite) => Suite::Stored(suite),
            Err(why) => Suite::Scanned(
                Box::new(SuiteScan::read_with_history(db, collected, list_names)?),
                why,
            ),
        })
    }
}

/// What the stored suite and the collected list tell: the counts, the collected ids nobody
/// knew, and every name when `list_names` (as [`Census::finish`] gives them).
pub fn stored_census(
    conn: &rusqlite::Connection,
    suite: &StoredSuite,
    collected: Option<&[String]>,
    list_names: bool,
) -> Result<(SuiteCounts, Vec<String>, Option<BTreeSet<String>>)> {
    let collected = collected.map(sorted_ids);
    let collected: &[String] = collected.as_deref().unwrap_or_default();
    let mut unseen = Vec::new();
    let mut names = list_names.then(Vec::new);
    if !collected.is_empty() || list_names {
        // Both lists are sorted: one merge.
        let mut next = 0;
        stored::for_each_name(conn, suite, |_, name| {
            while next < collected.len() && collected[next].as_str() < name {
                unseen.push(collected[next].clone());
                next += 1;
            }
            if next < collected.len() && collected[next] == name {
                next += 1;
            }
            if let Some(names) = &mut names {
                names.push(name.to_string());
            }
        })?;
        unseen.extend(collected[next..].iter().cloned());
    }
    let counts = SuiteCounts::stored(suite, &unseen);
    let names = names.map(|mut names| {
        names.extend(unseen.iter().cloned());
        names.into_iter().collect()
    });
    Ok((counts, unseen, names))
}

/// How many known tests each test file holds, and in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuiteCounts {
    /// Test file, as node ids spell it (rootdir-relative) -> its tally.
    files: BTreeMap<String, FileTally>,
    total: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FileTally {
    tests: usize,
    /// Named by a context (not only by the history or the collected list): the rootdir is
    /// inferred from these.
    measured: bool,
}

impl SuiteCounts {
    /// The census `covshard ingest` stored, with the collected ids it did not know added.
    fn stored(stored: &StoredSuite, unseen: &[String]) -> Self {
        let mut files: BTreeMap<String, FileTally> = stored
            .files
            .iter()
            .map(|(file, tests, measured)| {
                let tally = FileTally {
                    tests: *tests,
                    measured: *measured,
                };
                (file.clone(), tally)
            })
            .collect();
        for id in unseen {
            let file = crate::nodeid::file_of(id);
            match files.get_mut(file) {
                Some(tally) => tally.tests += 1,
                None => {
                    let tally = FileTally {
                        tests: 1,
                        measured: false,
                    };
                    files.insert(file.to_string(), tally);
                }
            }
        }
        SuiteCounts {
            files,
            total: stored.tests + unseen.len(),
        }
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a String>) -> Self {
        let mut census = Census::new(None, false);
        for name in names {
            census.add(name, false);
        }
        census.finish().0
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// The known tests under a path id: a file, a directory (with or without a trailing `/`),
    /// or `"."` and `""` for all.
    pub fn count_under(&self, path: &str) -> usize {
        let dir = path.trim_end_matches('/');
        if path == "." || dir.is_empty() {
            return self.total;
        }
        let in_file = self.files.get(dir).map_or(0, |t| t.tests);
        let prefix = format!("{dir}/");
        let below: usize = self
            .files
            .range(prefix.clone()..)
            .take_while(|(file, _)| file.starts_with(&prefix))
            .map(|(_, t)| t.tests)
            .sum();
        in_file + below
    }

    /// Every file that holds a known test, sorted.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The files that a context names a test of.
    pub fn measured_files(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .filter(|(_, t)| t.measured)
            .map(|(f, _)| f.as_str())
    }
}

/// Counts distinct tests as they stream past, keeping a 64-bit hash of each instead of its
/// name (a collision could only make a count one short: what selection relies on, the test
/// files and which collected ids were seen, is exact), and notes which ids of the collected
/// list were seen, by exact comparison.
pub struct Census {
    /// Test hash -> the number of its file. A fixed hasher, not a randomly keyed one: the same
    /// inputs give the same counts.
    seen: HashMap<u64, u32, BuildHasherDefault<DefaultHasher>>,
    /// Test file -> its tally, by the file's number.
    files: Vec<(String, FileTally)>,
    file_ids: HashMap<String, u32, BuildHasherDefault<DefaultHasher>>,
    /// The last file looked up: tests stream past file by file.
    last_file: Option<u32>,
    /// The collected list (sorted, without duplicates) and which of its ids were seen.
    collected: Vec<String>,
    collected_seen: Vec<bool>,
    /// Every name, when the caller needs them all (`plan`, `explain`): listed in the same
    /// pass rather than in a second one.
    names: Option<BTreeSet<String>>,
}

impl Census {
    /// `list_names`: keep every name too.
    pub fn new(collected: Option<&[String]>, list_names: bool) -> Self {
        let collected: Vec<String> =
            collected.map_or_else(Vec::new, |c| sorted_ids(c).into_owned());
        Census {
            seen: HashMap::default(),
            files: Vec::new(),
            file_ids: HashMap::default(),
            last_file: None,
            collected_seen: vec![false; collected.len()],
            collected,
            names: list_names.then(BTreeSet::new),
        }
    }

    /// Count a node id; `measured`: a context names it.
    pub fn add(&mut self, node_id: &str, measured: bool) {
        if let Some(names) = &mut self.names
            && !names.contains(node_id)
        {
            names.insert(node_id.to_string());
        }
        if let Ok(i) = self.collected.binary_search_by(|c| c.as_str().cmp(node_id)) {
            self.collected_seen[i] = true;
        }
        // The file is recorded whatever the hash says: selection takes the test files from
        // here, and only the counts may rest on hashes.
        let file = self.file_id(crate::nodeid::file_of(node_id));
        let tally = &mut self.files[file as usize].1;
        tally.measured |= measured;
        let hash = hash64(node_id);
        if let std::collections::hash_map::Entry::Vacant(entry) = self.seen.entry(hash) {
            entry.insert(file);
            tally.tests += 1;
        }
    }

    fn file_id(&mut self, file: &str) -> u32 {
        if let Some(last) = self.last_file
            && self.files[last as usize].0 == file
        {
            return last;
        }
        let id = match self.file_ids.get(file) {
            Some(&id) => id,
            None => {
                let id = self.files.len() as u32;
                self.files.push((file.to_string(), FileTally::default()));
                self.file_ids.insert(file.to_string(), id);
                id
            }
        };
        self.last_file = Some(id);
        id
    }

    /// Take in the tests another census counted (the history's, read beside the contexts).
    pub fn merge(&mut self, other: Census) {
        let files: Vec<u32> = other
            .files
            .iter()
            .map(|(name, _)| self.file_id(name))
            .collect();
        for (hash, theirs) in other.seen {
            if let std::collections::hash_map::Entry::Vacant(entry) = self.seen.entry(hash) {
                let file = files[theirs as usize];
                entry.insert(file);
                self.files[file as usize].1.tests += 1;
            }
        }
        for (mine, theirs) in self.collected_seen.iter_mut().zip(other.collected_seen) {
            *mine |= theirs;
        }
        if let (Some(mine), Some(theirs)) = (&mut self.names, other.names) {
            mine.extend(theirs);
        }
    }

    /// Count the collected list itself, and return the counts, the collected ids that no
    /// context and no history sample names (tests new since the base), and every name when
    /// they were kept.
    pub fn finish(mut self) -> (SuiteCounts, Vec<String>, Option<BTreeSet<String>>) {
        let collected = std::mem::take(&mut self.collected);
        let seen = std::mem::take(&mut self.collected_seen);
        let mut unseen = Vec::new();
        for (id, seen) in collected.into_iter().zip(seen) {
            self.add(&id, false);
            if !seen {
                unseen.push(id);
            }
        }
        let counts = SuiteCounts {
            total: self.seen.len(),
            files: self.files.into_iter().collect(),
        };
        (counts, unseen, self.names)
    }
}

/// Ids sorted and without duplicates, as the collected list comes (`read_collected`); copied
/// only when they are not.
pub fn sorted_ids(ids: &[String]) -> std::borrow::Cow<'_, [String]> {
    if ids.windows(2).all(|pair| pair[0] < pair[1]) {
        return std::borrow::Cow::Borrowed(ids);
    }
    let mut owned = ids.to_vec();
    owned.sort_unstable();
    owned.dedup();
    std::borrow::Cow::Owned(owned)
}

fn hash64(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// What one pass over the context table (and the history's test list) tells selection.
///
/// Tests are numbered by runs of consecutive contexts that name one test (its setup, run
/// and teardown), exactly, by comparing names; a test whose contexts are not consecutive gets
/// two numbers, which name it twice, harmlessly.
pub struct SuiteScan {
    pub census: Census,
    /// Context id -> the number of the test it names (`u32::MAX`: none, or not yet known for
    /// `test_function` contexts).
    pub by_context: Vec<u32>,
    /// Test number -> one of its contexts, to read its name by once it is selected.
    pub representative: Vec<i64>,
    /// The empty context: code run outside any test.
    pub global_context: Option<i64>,
    /// `test_function` contexts (`tests.test_a.test_x`), resolved once the repository's files
    /// are known.
    pub functions: Vec<(i64, String)>,
    /// How many contexts the table holds.
    pub contexts: usize,
}

impl SuiteScan {
    /// Read the contexts of `db`, noting which of `collected` they name; `list_names`: keep
    /// every test's name too.
    pub fn read(db: &CoverageDb, collected: Option<&[String]>, list_names: bool) -> Result<Self> {
        let mut out = SuiteScan {
            census: Census::new(collected, list_names),
            by_context: Vec::new(),
            representative: Vec::new(),
            global_context: None,
            functions: Vec::new(),
            contexts: 0,
        };
        let mut previous = String::new();
        db.for_each_context(|id, name| {
            out.contexts += 1;
            if let Some((node_id, _)) = test_context(name) {
                if node_id != previous {
                    out.census.add(node_id, true);
                    out.representative.push(id);
                    previous.clear();
                    previous.push_str(node_id);
                }
                let number = out.representative.len() as u32 - 1;
                out.number(id, number);
                return;
            }
            match parse_context(name) {
                ContextKind::Global => out.global_context = Some(id),
                ContextKind::Function { dotted } => out.functions.push((id, dotted)),
                ContextKind::Test { .. } | ContextKind::Other(_) => {}
            }
        })?;
        Ok(out)
    }

    /// Give a context (of a test, or of a `test_function` resolved later) a test number.
    pub fn number(&mut self, context: i64, number: u32) {
        let Ok(slot) = usize::try_from(context) else {
            return;
        };
        if self.by_context.len() <= slot {
            self.by_context.resize(slot + 1, u32::MAX);
        }
        self.by_context[slot] = number;
    }

    /// The contexts' pass and the history's tests of one data file, one after the other.
    pub fn read_with_history(
        db: &CoverageDb,
        collected: Option<&[String]>,
        list_names: bool,
    ) -> Result<Self> {
        let mut scan = Self::read(db, collected, list_names)?;
        let history = history_census(db.connection(), collected, list_names)?;
        scan.census.merge(history);
        Ok(scan)
    }
}

/// The history's tests, counted on the caller's connection (beside the contexts' pass).
pub fn history_census(
    conn: &rusqlite::Connection,
    collected: Option<&[String]>,
    list_names: bool,
) -> Result<Census> {
    let mut census = Census::new(collected, list_names);
    crate::history::for_each_known_test(conn, |id| census.add(id, false))?;
    Ok(census)
}

/// Every known test, listed: the contexts' node ids (`test_function` contexts through
/// `resolve_function`), the history's tests and the collected list.
pub fn list_known(
    db: &CoverageDb,
    collected: Option<&[String]>,
    resolve_function: impl Fn(&str) -> Option<String>,
) -> Result<BTreeSet<String>> {
    if let Ok(suite) = stored::open(db.connection())? {
        let (_, _, names) = stored_census(db.connection(), &suite, collected, true)?;
        return Ok(names.unwrap_or_default());
    }
    let mut names = db.test_ids_with(resolve_function)?;
    crate::history::for_each_known_test(db.connection(), |id| {
        if !names.contains(id) {
            names.insert(id.to_string());
        }
    })?;
    names.extend(collected.into_iter().flatten().cloned());
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(ids: &[&str]) -> SuiteCounts {
        let names: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        SuiteCounts::from_names(&names)
    }

    #[test]
    fn counts_under_files_and_directories() {
        let c = counts(&[
            "tests/a/test_x.py::test_1",
            "tests/a/test_x.py::test_2",
            "tests/a/test_x.py::test_2",
            "tests/a/test_y.py::T::test_1",
            "tests/ab/test_z.py::test_1",
            "test_root.py::test_1",
        ]);
        assert_eq!(c.total(), 5);
        assert_eq!(c.count_under("tests/a/test_x.py"), 2);
        assert_eq!(c.count_under("tests/a"), 3);
        assert_eq!(c.count_under("tests/a/"), 3);
        assert_eq!(c.count_under("tests"), 4);
        assert_eq!(c.count_under("."), 5);
        assert_eq!(c.count_under(""), 5);
        assert_eq!(c.count_under("tests/b"), 0);
        assert_eq!(
            c.files().collect::<Vec<_>>(),
            [
                "test_root.py",
                "tests/a/test_x.py",
                "tests/a/test_y.py",
                "tests/ab/test_z.py"
            ]
        );
    }

    #[test]
    fn census_finds_the_collected_ids_nobody_named() {
        let collected: Vec<String> = ["t.py::new", "t.py::old", "t.py::from_history"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut census = Census::new(Some(&collected), true);
        census.add("t.py::old", true);
        census.add("t.py::gone", true);
        census.add("t.py::old", true);
        let mut history = Census::new(Some(&collected), true);
        history.add("t.py::from_history", false);
        history.add("u.py::from_history", false);
        census.merge(history);
        let (counts, unseen, names) = census.finish();
        assert_eq!(unseen, ["t.py::new"]);
        assert_eq!(
            names.unwrap().into_iter().collect::<Vec<_>>(),
            [
                "t.py::from_history",
                "t.py::gone",
                "t.py::new",
                "t.py::old",
                "u.py::from_history"
            ]
        );
        assert_eq!(counts.count_under("u.py"), 1);
        assert_eq!(counts.total(), 5);
        assert_eq!(counts.measured_files().collect::<Vec<_>>(), ["t.py"]);
    }
}
