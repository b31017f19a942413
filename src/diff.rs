//! What changed between the base commit and the working tree, as old-side line numbers.
//!
//! Selection asks "which recorded lines did this change touch?", and coverage was recorded on
//! the base commit, so lines are numbered on the *old* side of the diff. A pure insertion has
//! no old lines: it is recorded as the old line it follows, and selection widens it to the code
//! around it. Changes come from `git diff <base>` (committed, staged and unstaged changes of
//! tracked files, with rename detection) plus untracked files that git does not ignore, or from
//! a unified diff given with `--diff FILE` (git's format or plain `diff -u`).
//!
//! Binary files and files whose names git must quote are handled; a mode-only change is a
//! change with no lines (the content is the same).

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{Error, Result};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Deleted,
    Modified,
    Renamed,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileChange {
    /// The path at the base commit (`None` for an added file).
    pub old_path: Option<String>,
    /// The path in the working tree (`None` for a deleted file).
    pub new_path: Option<String>,
    /// Binary content: no line information.
    pub binary: bool,
    /// Old-side lines that were removed or replaced.
    pub old_lines: BTreeSet<u32>,
    /// Old-side lines after which new lines were inserted without replacing any (0 = top).
    pub insertions_after: BTreeSet<u32>,
    /// New-side lines that were added or replaced.
    pub new_lines: BTreeSet<u32>,
}

impl FileChange {
    pub fn kind(&self) -> ChangeKind {
        match (&self.old_path, &self.new_path) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Deleted,
            (Some(a), Some(b)) if a != b => ChangeKind::Renamed,
            _ => ChangeKind::Modified,
        }
    }

    /// The path to describe the change by: the new path, or the old one for a deletion.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }

    /// The old and the new path, whichever exist (one for most changes, two for a rename).
    pub fn paths(&self) -> Vec<&str> {
        [self.old_path.as_deref(), self.new_path.as_deref()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Whether the content changed at all (a mode-only change does not).
    pub fn content_changed(&self) -> bool {
        self.binary
            || self.kind() != ChangeKind::Modified
            || !self.old_lines.is_empty()
            || !self.insertions_after.is_empty()
    }
}

/// Parse a unified diff (git's extended format or plain `diff -u`).
pub fn parse_unified(text: &str) -> Result<Vec<FileChange>, String> {
    let mut changes: Vec<FileChange> = Vec::new();
    let mut current: Option<FileChange> = None;
    let mut in_git_header = false;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            if let Some(done) = current.take() {
                changes.push(done);
            }
            let mut change = FileChange::default();
            if let Some(name) = same_name_from_git_header(rest) {
                change.old_path = Some(name.clone());
                change.new_path = Some(name);
            }
            current = Some(change);
            in_git_header = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("--- ") {
            // A plain diff starts a new file at `---` (git's starts at `diff --git`).
            if !in_git_header {
                if let Some(done) = current.take() {
                    changes.push(done);
                }
                current = Some(FileChange::default());
            }
            in_git_header = false;
            let change = current.get_or_insert_with(FileChange::default);
            change.old_path = diff_path(rest, "a/");
            if let Some((_, next)) = lines.next() {
                let Some(rest) = next.strip_prefix("+++ ") else {
                    return Err(format!("line {}: `---` not followed by `+++`", number + 2));
                };
                change.new_path = diff_path(rest, "b/");
            }
            continue;
        }
        let Some(change) = current.as_mut() else {
            continue;
        };
        if in_git_header {
            if let Some(p) = line.strip_prefix("rename from ") {
                change.old_path = Some(unquote(p));
            } else if let Some(p) = line.strip_prefix("rename to ") {
                change.new_path = Some(unquote(p));
            } else if let Some(p) = line.strip_prefix("copy to ") {
                change.old_path = None;
                change.new_path = Some(unquote(p));
            } else if line.starts_with("new file mode") {
                change.old_path = None;
            } else if line.starts_with("deleted file mode") {
                change.new_path = None;
            } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
                change.binary = true;
            }
            continue;
        }
        if let Some(header) = line.strip_prefix("@@ ") {
            let (old_start, old_count, new_start, new_count) = parse_hunk_header(header)
                .ok_or_else(|| format!("line {}: malformed hunk header `{line}`", number + 1))?;
            // With no old lines, git numbers the hunk by the line it follows.
            let mut old_line = if old_count == 0 {
                old_start + 1
            } else {
                old_start
            };
            let mut new_line = if new_count == 0 {
                new_start + 1
            } else {
                new_start
            };
            let (mut old_left, mut new_left) = (old_count, new_count);
            // A run of `-`/`+` lines without `-` is a pure insertion after the line before it.
            let mut run: Option<(u32, bool)> = None;
            let end_run = |run: &mut Option<(u32, bool)>, change: &mut FileChange| {
                if let Some((start, removed)) = run.take()
                    && !removed
                {
                    change.insertions_after.insert(start - 1);
                }
            };
            while old_left > 0 || new_left > 0 {
                let Some((_, body)) = lines.next() else { break };
                match body.as_bytes().first() {
                    Some(b'-') => {
                        run.get_or_insert((old_line, true)).1 = true;
                        change.old_lines.insert(old_line);
                        old_line += 1;
                        old_left = old_left.saturating_sub(1);
                    }
                    Some(b'+') => {
                        run.get_or_insert((old_line, false));
                        change.new_lines.insert(new_line);
                        new_line += 1;
                        new_left = new_left.saturating_sub(1);
                    }
                    Some(b'\\') => {}
                    _ => {
                        end_run(&mut run, change);
                        old_line += 1;
                        new_line += 1;
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                    }
                }
            }
            end_run(&mut run, change);
        }
    }
    if let Some(done) = current.take() {
        changes.push(done);
    }
    changes.retain(|c| c.old_path.is_some() || c.new_path.is_some());
    Ok(changes)
}

/// `a/NAME b/NAME` with the same NAME on both sides (spaces allowed).
fn same_name_from_git_header(rest: &str) -> Option<String> {
    if rest.starts_with('"') {
        let (first, second) = split_quoted_pair(rest)?;
        let a = first.strip_prefix("a/")?;
        let b = second.strip_prefix("b/")?;
        return (a == b).then(|| a.to_string());
    }
    let len = rest.len();
    if len < 5 || !(len - 5).is_multiple_of(2) {
        return None;
    }
    let n = (len - 5) / 2;
    let (a, b) = (rest.get(2..2 + n)?, rest.get(n + 5..)?);
    (rest.starts_with("a/") && rest.get(2 + n..n + 5) == Some(" b/") && a == b)
        .then(|| a.to_string())
}

fn split_quoted_pair(rest: &str) -> Option<(String, String)> {
    let end = find_closing_quote(rest)?;
    let first = unquote(&rest[..=end]);
    let second = unquote(rest[end + 1..].trim_start());
    Some((first, second))
}

fn find_closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A path from a `---`/`+++` line: unquoted, prefix removed, `/dev/null` as `None`, and a
/// plain diff's trailing timestamp dropped.
fn diff_path(raw: &str, prefix: &str) -> Option<String> {
    let raw = raw.trim_end_matches('\r');
    let name = if raw.starts_with('"') {
        unquote(raw)
    } else {
        raw.split('\t').next().unwrap_or(raw).to_string()
    };
    if name == "/dev/null" {
        return None;
    }
    Some(name.strip_prefix(prefix).unwrap_or(&name).to_string())
}

/// Undo git's C-style quoting of unusual file names (octal escapes are UTF-8 bytes).
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut iter = inner.bytes().peekable();
    while let Some(b) = iter.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match iter.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut value = (d - b'0') as u32;
                for _ in 0..2 {
                    if let Some(&next @ b'0'..=b'7') = iter.peek() {
                        value = value * 8 + (next - b'0') as u32;
                        iter.next();
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `-12,3 +14,0 @@ ...` -> (12, 3, 14, 0). A missing count means 1.
fn parse_hunk_header(header: &str) -> Option<(u32, u32, u32, u32)> {
    let mut parts = header.split_whitespace();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let range = |s: &str| -> Option<(u32, u32)> {
        match s.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((s.parse().ok()?, 1)),
        }
    };
    let (os, oc) = range(old)?;
    let (ns, nc) = range(new)?;
    // Numbering starts at 1 where a side has lines, and every line the hunk can count, on
    // either side, must have a number: a header beyond that is not git's.
    let fits = |start: u32, count: u32| {
        (count == 0 || start >= 1)
            && u64::from(start) + u64::from(oc) + u64::from(nc) < u64::from(u32::MAX)
    };
    (fits(os, oc) && fits(ns, nc)).then_some((os, oc, ns, nc))
}

/// Which changes [`from_git`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// The working tree against the base, untracked files included: what a pull request's
    /// checkout holds.
    WorkingTree,
    /// The commits from the base to `HEAD` only: what was merged (an audit of a main-branch
    /// run, whose checkout also holds the run's reports and caches).
    Committed,
}

/// The changes between `base` and the working tree of the repository at `root` (or `HEAD`,
/// with [`Since::Committed`]), including, for the working tree, untracked files that git
/// does not ignore.
///
/// `base` must already be a resolved commit id ([`crate::git::resolve_commit`]). Also returns
/// the files of the working tree (tracked, and untracked but not ignored; tracked only for
/// [`Since::Committed`]), which selection needs too, so that git walks the tree once.
pub fn from_git(
    root: &Path,
    base: &str,
    since: Since,
) -> Result<(Vec<FileChange>, BTreeSet<String>)> {
    let head = match since {
        Since::WorkingTree => None,
        Since::Committed => Some("HEAD"),
    };
    let diff_args: Vec<&str> = [
        "-c",
        "core.quotePath=false",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "-U0",
        "-M",
        base,
    ]
    .into_iter()
    .chain(head)
    .chain(["--"])
    .collect();
    // Three independent git processes, each mostly waiting on the file system: run together.
    let (diff, cached, untracked) = std::thread::scope(|scope| {
        let diff = scope.spawn(|| crate::git::run(root, &diff_args));
        let cached = scope.spawn(|| crate::git::run(root, &["ls-files", "-z", "--cached"]));
        let untracked = match since {
            Since::WorkingTree => {
                crate::git::run(root, &["ls-files", "-z", "--others", "--exclude-standard"])
            }
            Since::Committed => Ok(Vec::new()),
        };
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<Vec<u8>>>| {
            h.join()
                .unwrap_or_else(|_| Err(Error::git("git did not answer")))
        };
        (join(diff), join(cached), untracked)
    });
    let out = diff?;
    let text = String::from_utf8_lossy(&out);
    let mut changes = parse_unified(&text).map_err(|e| {
        Error::git(format!("cannot read the output of `git diff {base}`")).caused_by(e)
    })?;
    let mut files: BTreeSet<String> = crate::git::split_nul(&cached?).collect();
    for path in crate::git::split_nul(&untracked?) {
        files.insert(path.clone());
        changes.push(FileChange {
            old_path: None,
            new_path: Some(path),
            ..FileChange::default()
        });
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Ok((changes, files))
}

/// The changes described by a unified diff file (`--diff FILE`; `-` reads stdin).
pub fn from_file(path: &Path) -> Result<Vec<FileChange>> {
    let text = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .and_then(|_| crate::text::decode(bytes))
            .map_err(|e| Error::input(path, "cannot read stdin").caused_by(e))?
    } else {
        crate::text::read(path)
            .map_err(|e| Error::input(path, "cannot read the diff").caused_by(e))?
    };
    let mut changes = parse_unified(&text).map_err(|e| {
        Error::input(path, format!("not a unified diff: {e}"))
            .with_hint("produce it with `git diff BASE` or `diff -u`")
    })?;
    if changes.is_empty() && !text.trim().is_empty() {
        return Err(Error::input(
            path,
            "no file changes found: this does not look like a unified diff",
        )
        .with_hint("produce it with `git diff BASE` or `diff -u`"));
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[u32]) -> BTreeSet<u32> {
        items.iter().copied().collect()
    }

    #[test]
    fn hunk_headers_beyond_what_git_writes_are_malformed() {
        // Found by the fuzz tests: line numbers past u32 overflowed, and a side numbered from
        // 0 that has lines underflowed.
        for header in [
            "@@ -4294967295,1 +1,1 @@",
            "@@ -1,1 +4294967290,9 @@",
            "@@ -0,1 +1,1 @@",
        ] {
            let diff = format!("--- a/x.py\n+++ b/x.py\n{header}\n-a\n+b\n");
            let err = parse_unified(&diff).unwrap_err();
            assert!(err.contains("malformed hunk header"), "{header}: {err}");
        }
        assert!(parse_unified("--- a/x.py\n+++ b/x.py\n@@ -0,0 +1,1 @@\n+b\n").is_ok());
    }

    #[test]
    fn zero_context_hunks_give_old_lines_and_insertions() {
        let diff = "\
diff --git a/pkg/m.py b/pkg/m.py
index 111..222 100644
--- a/pkg/m.py
+++ b/pkg/m.py
@@ -3 +3 @@ X = 1
-A = 1
+A = 2
@@ -10,0 +11,2 @@ def f():
+    x = 1
+    y = 2
@@ -20,2 +22,0 @@
-    a
-    b
";
        let changes = parse_unified(diff).unwrap();
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.kind(), ChangeKind::Modified);
        assert_eq!(c.path(), "pkg/m.py");
        assert_eq!(c.old_lines, set(&[3, 20, 21]));
        assert_eq!(c.insertions_after, set(&[10]));
        assert_eq!(c.new_lines, set(&[3, 11, 12]));
    }

    #[test]
    fn context_hunks_count_only_changed_lines() {
        let diff = "\
--- a/m.py\t2024-01-01
+++ b/m.py\t2024-01-02
@@ -1,5 +1,6 @@
 a
 b
+new
 c
-d
+D
 e
";
        let c = &parse_unified(diff).unwrap()[0];
        assert_eq!(c.old_lines, set(&[4]));
        assert_eq!(c.insertions_after, set(&[2]));
        assert_eq!(c.new_lines, set(&[3, 5]));
    }

    #[test]
    fn renames_deletions_additions_binaries_and_odd_names() {
        let diff = "\
diff --git a/old name.py b/new name.py
similarity index 90%
rename from old name.py
rename to new name.py
--- a/old name.py
+++ b/new name.py
@@ -2 +2 @@
-x
+y
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/added.py b/added.py
new file mode 100644
--- /dev/null
+++ b/added.py
@@ -0,0 +1 @@
+x
diff --git a/img one.png b/img one.png
index 1..2 100644
Binary files a/img one.png and b/img one.png differ
diff --git \"a/caf\\303\\251 \\\"q\\\".py\" \"b/caf\\303\\251 \\\"q\\\".py\"
index 1..2 100644
--- \"a/caf\\303\\251 \\\"q\\\".py\"
+++ \"b/caf\\303\\251 \\\"q\\\".py\"
@@ -1 +1 @@
-a
+b
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
";
        let changes = parse_unified(diff).unwrap();
        let kinds: Vec<(ChangeKind, &str)> = changes.iter().map(|c| (c.kind(), c.path())).collect();
        assert_eq!(
            kinds,
            vec![
                (ChangeKind::Renamed, "new name.py"),
                (ChangeKind::Deleted, "gone.py"),
                (ChangeKind::Added, "added.py"),
                (ChangeKind::Modified, "img one.png"),
                (ChangeKind::Modified, "café \"q\".py"),
                (ChangeKind::Modified, "run.sh"),
            ]
        );
        assert_eq!(changes[0].old_path.as_deref(), Some("old name.py"));
        assert_eq!(changes[1].old_lines, set(&[1, 2]));
        assert!(changes[3].binary && changes[3].content_changed());
        assert_eq!(changes[4].old_lines, set(&[1]));
        assert!(!changes[5].content_changed());
    }

    #[test]
    fn garbage_is_not_a_diff() {
        assert!(parse_unified("--- a/x\nnot plus\n").is_err());
        assert!(parse_unified("--- a/x\n+++ b/x\n@@ bogus @@\n").is_err());
        assert!(parse_unified("hello\n").unwrap().is_empty());
    }
}
