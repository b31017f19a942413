//! Data files recorded on Windows runners: the real data file of the fixture project, with its
//! paths rewritten as coverage.py writes them on a GitHub-hosted Windows runner
//! (`D:\a\shop\shop\src\shop\cart.py`), and combined with a Linux run without `[paths]` rules,
//! so that one source file appears under two recorded paths with the tests split between them.
//! Each must select exactly what the Linux-recorded file selects.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::Connection;

use crate::util::{copy_tree, covshard, fixtures, git, run_ok};

const LINUX_ROOT: &str = "/tmp/covshard-fixture/project/";

/// The recorded root with backslashes and a lower-case drive letter: both spellings occur
/// (coverage.py upper-cases it, tools that pass paths through do not always).
fn windows_path(linux: &str, drive: &str) -> String {
    let relative = linux
        .strip_prefix(LINUX_ROOT)
        .expect("fixture paths share the root");
    format!("{drive}:\\a\\shop\\shop\\{}", relative.replace('/', "\\"))
}

fn recorded_files(conn: &Connection) -> Vec<(i64, String)> {
    conn.prepare("SELECT id, path FROM file")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn rewrite_paths(db: &Path, drive: &str) {
    let conn = Connection::open(db).unwrap();
    let files = recorded_files(&conn);
    for (id, path) in files {
        conn.execute(
            "UPDATE file SET path = ?1 WHERE id = ?2",
            rusqlite::params![windows_path(&path, drive), id],
        )
        .unwrap();
    }
}

/// Every file also recorded as on Windows, and the rows of every other context moved to that
/// copy: what `coverage combine` makes of one Linux and one Windows shard.
fn split_between_systems(db: &Path) -> usize {
    let conn = Connection::open(db).unwrap();
    let files = recorded_files(&conn);
    let mut moved = 0;
    for (id, path) in files {
        conn.execute(
            "INSERT INTO file (path) VALUES (?1)",
            [windows_path(&path, "D")],
        )
        .unwrap();
        let copy = conn.last_insert_rowid();
        moved += conn
            .execute(
                "UPDATE line_bits SET file_id = ?1 WHERE file_id = ?2 AND context_id % 2 = 0",
                [copy, id],
            )
            .unwrap();
    }
    moved
}

fn selected(dir: &Path, db: &str) -> BTreeSet<String> {
    let out = run_ok(
        covshard()
            .current_dir(dir)
            .args(["select", "--db", db, "--base", "HEAD", "--format", "json"]),
    );
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["run_all"], false, "{db}: {value:#}");
    value["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn windows_recorded_paths_select_as_linux_recorded_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_tree(&fixtures().join("project"), dir);
    std::fs::write(dir.join(".gitignore"), "*.coverage\n__pycache__/\n").unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);

    let data = fixtures().join("data/lines.coverage");
    for name in [
        "linux",
        "windows",
        "windows-lower",
        "combined",
        "combined-unmapped",
    ] {
        std::fs::copy(&data, dir.join(format!("{name}.coverage"))).unwrap();
    }
    rewrite_paths(&dir.join("windows.coverage"), "D");
    rewrite_paths(&dir.join("windows-lower.coverage"), "d");
    let moved = split_between_systems(&dir.join("combined.coverage"));
    assert!(moved > 20, "only {moved} rows moved to the Windows paths");
    // The changed module's Windows twin recorded where nothing maps it: only its name agrees
    // with the repository, so it stays unmapped, and its rows still count for the module.
    split_between_systems(&dir.join("combined-unmapped.coverage"));
    Connection::open(dir.join("combined-unmapped.coverage"))
        .unwrap()
        .execute(
            "UPDATE file SET path = 'E:\\elsewhere\\pricing.py' WHERE path LIKE 'D:%pricing.py'",
            [],
        )
        .unwrap();

    for (db, unmapped) in [
        ("windows.coverage", 0),
        ("windows-lower.coverage", 0),
        ("combined.coverage", 0),
        ("combined-unmapped.coverage", 1),
    ] {
        let info = run_ok(
            covshard()
                .current_dir(dir)
                .args(["info", "--db", db, "--format", "json"]),
        );
        let info: serde_json::Value = serde_json::from_str(&info).unwrap();
        let listed = info["unmapped_files"].as_array().unwrap().len();
        assert_eq!(listed, unmapped, "{db}: {info:#}");
    }

    // A changed line in a function body, an inserted one in another, and a deleted one.
    let edit = |path: &str, from: &str, to: &str| {
        let path = dir.join(path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from:?} is not in {}", path.display());
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "src/shop/pricing.py",
        "item.total * 0.1",
        "item.total * 0.2",
    );
    edit(
        "src/shop/pricing.py",
        "    return round(sum(func(items) for _, _, func in RULES), 2)",
        "    items = list(items)\n    return round(sum(func(items) for _, _, func in RULES), 2)",
    );
    edit(
        "src/shop/pricing.py",
        "    \"\"\"5 off when three different products are bought together.\"\"\"\n",
        "",
    );

    let linux = selected(dir, "linux.coverage");
    assert!(!linux.is_empty());
    for db in [
        "windows.coverage",
        "windows-lower.coverage",
        "combined.coverage",
        "combined-unmapped.coverage",
    ] {
        assert_eq!(
            selected(dir, db),
            linux,
            "{db} selects otherwise than linux.coverage"
        );
    }
}
