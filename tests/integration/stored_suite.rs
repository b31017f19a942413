//! The suite `covshard ingest` stores changes no output: on a generated project, `select`,
//! `explain` and `plan` print the same bytes from the stored suite as from a pass over every
//! context (the same data file with the stored suite dropped, as a file that was never
//! ingested by this version reads), and a file whose contexts changed since the ingest is
//! counted again rather than trusted.

use std::path::{Path, PathBuf};

use crate::bench_data::datagen;
use crate::util;

/// What one command printed.
#[derive(Debug, PartialEq, Eq)]
struct Printed {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    /// The plan written with `--out`, for `plan`.
    written: Option<String>,
}

/// Run `args` in `dir` against a copy of `db` at the same path every time, so the outputs
/// can be compared byte for byte.
fn run_with(dir: &Path, db: &Path, args: &[&str]) -> Printed {
    // `.coverage.*` is ignored by the project's git: the copy is no change to select for.
    let at = dir.join(".coverage.ci");
    std::fs::copy(db, &at).unwrap();
    let plan = dir.join("reports/plan.json");
    let _ = std::fs::remove_file(&plan);
    let out = util::covshard()
        .current_dir(dir)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_OUTPUT")
        .arg(args[0])
        .arg("--db")
        .arg(&at)
        .args(&args[1..])
        .output()
        .unwrap();
    Printed {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
        written: std::fs::read_to_string(&plan).ok(),
    }
}

fn copy_without_suite(from: &Path, to: &Path) -> PathBuf {
    std::fs::copy(from, to).unwrap();
    let conn = rusqlite::Connection::open(to).unwrap();
    conn.execute("DELETE FROM covshard_suite", []).unwrap();
    to.to_path_buf()
}

fn stored_suite_state(dir: &Path, db: &Path) -> String {
    let info = run_with(dir, db, &["info", "--format", "json"]);
    assert_eq!(info.code, Some(0), "{}", info.stderr);
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    info["stored_suite"].as_str().unwrap().to_string()
}

#[test]
fn the_stored_suite_gives_the_same_outputs_as_reading_every_context() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    let spec = datagen::Spec::preset("small").unwrap();
    datagen::generate(&spec, &dir, true).unwrap();
    let stored = tmp.path().join("stored.coverage");
    std::fs::copy(dir.join(".coverage"), &stored).unwrap();
    util::run_ok(
        util::covshard()
            .current_dir(&dir)
            .args([
                "ingest",
                "--commit",
                "base",
                "--junit",
                "reports/*.xml",
                "--db",
            ])
            .arg(&stored),
    );
    let scanned = copy_without_suite(&stored, &tmp.path().join("scanned.coverage"));
    assert_eq!(stored_suite_state(&dir, &stored), "stored");
    assert_eq!(stored_suite_state(&dir, &scanned), "none");

    // Some known tests, two new ones, for `--collected`.
    let conn = rusqlite::Connection::open(&stored).unwrap();
    let mut collected: Vec<String> = conn
        .prepare("SELECT node_id FROM covshard_suite_test WHERE number % 3 = 0")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    drop(conn);
    assert!(collected.len() > 100);
    collected.push("tests/pkg_000/test_new.py::test_added".into());
    collected.push("tests/zzz/test_new.py::test_added".into());
    let collected_file = dir.join("reports/collected.txt");
    std::fs::write(&collected_file, collected.join("\n") + "\n").unwrap();
    let collected_arg = collected_file.to_str().unwrap();

    let mut compared = 0;
    let branches = util::git(
        &dir,
        &["branch", "--list", "diff-*", "--format=%(refname:short)"],
    );
    let branches: Vec<&str> = branches.lines().collect();
    assert!(branches.len() >= 2, "{branches:?}");
    for branch in &branches {
        util::git(&dir, &["checkout", "-q", branch]);
        let selected = run_with(&dir, &stored, &["select", "--format", "lines"]);
        assert_eq!(selected.code, Some(0), "{}", selected.stderr);
        let first = selected.stdout.lines().next().unwrap_or("").to_string();
        let commands: Vec<Vec<&str>> = vec![
            vec!["select", "--format", "json"],
            vec!["select"],
            vec!["select", "--format", "json", "--collected", collected_arg],
            vec!["explain", first.as_str()],
            vec!["explain", collected[0].as_str()],
            vec!["plan", "--shards", "4", "--out", "reports/plan.json"],
            vec![
                "plan",
                "--shards",
                "3",
                "--collected",
                collected_arg,
                "--out",
                "reports/plan.json",
            ],
            vec![
                "plan",
                "--all",
                "--shards",
                "4",
                "--out",
                "reports/plan.json",
            ],
        ];
        for args in &commands {
            let ours = run_with(&dir, &stored, args);
            let theirs = run_with(&dir, &scanned, args);
            assert_eq!(ours, theirs, "{branch}: covshard {args:?}");
            assert!(
                !ours.stdout.is_empty() || ours.written.is_some(),
                "{args:?}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 8 * branches.len());

    // Contexts added since the ingest (a run appended to the file): the stored suite is not
    // trusted, and the outputs are those of a pass over the contexts.
    let appended = tmp.path().join("appended.coverage");
    std::fs::copy(&stored, &appended).unwrap();
    let conn = rusqlite::Connection::open(&appended).unwrap();
    conn.execute(
        "INSERT INTO context (context) VALUES ('tests/pkg_000/test_late.py::test_appended|run')",
        [],
    )
    .unwrap();
    drop(conn);
    assert_eq!(stored_suite_state(&dir, &appended), "stale");
    let appended_scanned =
        copy_without_suite(&appended, &tmp.path().join("appended-scan.coverage"));
    let args = ["select", "--format", "json"];
    let ours = run_with(&dir, &appended, &args);
    assert_eq!(ours, run_with(&dir, &appended_scanned, &args));
    let verbose = run_with(&dir, &appended, &["select", "-v"]);
    assert!(
        verbose
            .stderr
            .contains("the contexts changed since the last `covshard ingest`"),
        "{}",
        verbose.stderr
    );
}
