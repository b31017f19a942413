//! `covshard ingest` and `covshard durations` end to end: the real binary on data files built
//! with `src/history/testutil.rs` and report fixtures shaped like pytest 9's (the JUnit and
//! report-log fixtures in `tests/fixtures/reports/` were written by pytest 9.2 itself).
//!
//! The coverage.py compatibility test needs Python: it runs when `COVSHARD_PYTHON` names a
//! Python with coverage installed, and fails (rather than skipping) when `CI=true` lacks it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::testutil::coverage_file;
use crate::util::Expect as _;
use rusqlite::Connection;

const KNOWN: &[&str] = &[
    "tests/sub/test_mod.py::TestK::test_x[a-b]",
    "tests/sub/test_mod.py::TestK::test_x[c]",
    "tests/sub/test_mod.py::test_skip",
    "tests/sub/test_mod.py::test_err",
    "tests/v1.2/test_dots.py::test_a",
    "tests/v1/2/test_dots.py::test_a",
    "tests/sub/test_new.py::test_never_ran",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

fn covshard(dir: &Path) -> Command {
    let mut cmd = crate::util::covshard();
    cmd.current_dir(dir).env_remove("CI").env("NO_COLOR", "1");
    cmd
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "junit-shard1.xml",
        "junit-shard2.xml",
        "shard1.reportlog.jsonl",
        "test_durations.json",
        "surefire.xml",
        "broken.xml",
    ] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    let db = coverage_file(dir.path(), KNOWN);
    (dir, db)
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn has_covshard_tables(db: &Path) -> bool {
    count(
        db,
        "SELECT count(*) FROM sqlite_master WHERE name LIKE 'covshard_%'",
    ) > 0
}

fn durations_json(dir: &Path) -> serde_json::Value {
    let out = covshard(dir)
        .args(["durations", "--format", "json", "--top", "100"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ingest_merges_shards_maps_ids_and_reports_unmapped() {
    let (dir, db) = setup();
    covshard(dir.path())
        .args([
            "ingest",
            "--commit",
            "0123abcd",
            "--junit",
            "junit-shard*.xml",
            "--reportlog",
            "shard1.reportlog.jsonl",
            "--label",
            "linux-4cpu",
        ])
        .succeeds()
        .stdout_is("")
        .stderr_has("ingested run 1: 6 tests from 3 reports (2 failed or errored, 1 skipped)")
        .stderr_has(
            "1 JUnit test cases match no test in the coverage contexts",
        )
        .stderr_has(
            "tests.gone.test_old.TestGone / test_removed[x] -> tests/gone/test_old.py::TestGone::test_removed[x]",
        )
        .stderr_has("1 JUnit test cases matched several tests");
    assert_eq!(count(&db, "SELECT count(*) FROM covshard_run"), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM covshard_sample WHERE mapped = 0"),
        2
    );
    // reportlog's phase split wins over JUnit's total for the same test in the same run.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM covshard_sample WHERE setup IS NOT NULL"
        ),
        4
    );
    let report = durations_json(dir.path());
    assert_eq!(report["recorded_commit"], "0123abcd");
    assert_eq!(report["runs"], 1);
    // 7 known ids + 1 guessed id with history; the guessed-over `v1/2` twin and the never-run
    // test have no history.
    assert_eq!(report["known"], 6);
    assert_eq!(report["unknown"], 2);
    let slowest = &report["slowest"][0];
    assert_eq!(slowest["node_id"], "tests/v1.2/test_dots.py::test_a");
    assert_eq!(slowest["seconds"], 1.25);
    let never = report["slowest"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "tests/sub/test_new.py::test_never_ran")
        .unwrap();
    assert_eq!(never["source"], "folder-prior");
}

#[test]
fn last_failed_and_recorded_commit_follow_the_latest_run() {
    let (dir, db) = setup();
    for commit in ["c1", "c2"] {
        covshard(dir.path())
            .args(["ingest", "--commit", commit, "--junit", "junit-shard1.xml"])
            .succeeds();
    }
    covshard(dir.path())
        .args([
            "ingest",
            "--commit",
            "c3",
            "--durations",
            "test_durations.json",
        ])
        .succeeds();
    let conn = covshard::history::open_read(&db).unwrap();
    assert_eq!(
        covshard::history::recorded_commit(&conn)
            .unwrap()
            .as_deref(),
        Some("c3")
    );
    // .test_durations has no outcomes, so the latest run knows no failures.
    assert!(covshard::history::last_failed(&conn).unwrap().is_empty());
    covshard(dir.path())
        .args(["ingest", "--commit", "c4", "--junit", "junit-shard1.xml"])
        .succeeds();
    let failed = covshard::history::last_failed(&conn).unwrap();
    let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
    assert_eq!(
        failed,
        vec![
            "tests/sub/test_mod.py::TestK::test_x[c]",
            "tests/sub/test_mod.py::test_err"
        ]
    );
}

#[test]
fn keep_limits_the_samples_per_test() {
    let (dir, db) = setup();
    // Four runs (the same reports at the same commit would be one run, stored once).
    for commit in ["c0", "c1", "c2", "c3"] {
        covshard(dir.path())
            .args([
                "ingest",
                "--commit",
                commit,
                "--keep",
                "2",
                "--junit",
                "junit-shard1.xml",
            ])
            .succeeds();
    }
    assert_eq!(
        count(
            &db,
            "SELECT max(n) FROM (SELECT count(*) AS n FROM covshard_sample GROUP BY test_id)"
        ),
        2
    );
}

#[test]
fn malformed_reports_name_file_and_line_and_write_nothing() {
    let (dir, db) = setup();
    std::fs::write(dir.path().join("bad.jsonl"), "{\"nodeid\": \"a\",\n{oops\n").unwrap();
    for (flag, file, expected) in [
        ("--junit", "broken.xml", "broken.xml: line 5: malformed XML"),
        (
            "--reportlog",
            "bad.jsonl",
            "bad.jsonl: line 1: malformed JSON",
        ),
    ] {
        covshard(dir.path())
            .args([
                "ingest",
                "--commit",
                "c",
                "--junit",
                "junit-shard1.xml",
                flag,
                file,
            ])
            .exits_with(3)
            .stderr_has(expected);
    }
    assert!(!has_covshard_tables(&db));
}

#[test]
fn a_junit_report_from_another_tool_is_refused_clearly() {
    let (dir, db) = setup();
    covshard(dir.path())
        .args(["ingest", "--commit", "c", "--junit", "surefire.xml"])
        .exits_with(3)
        .stderr_has("does not come from pytest")
        .stderr_has("com.example.AppTest");
    assert!(!has_covshard_tables(&db));
}

#[test]
#[cfg(unix)] // Unix file modes
fn a_read_only_data_file_is_exit_6_and_still_readable() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, db) = setup();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    covshard(dir.path())
        .args(["ingest", "--commit", "c", "--junit", "junit-shard1.xml"])
        .exits_with(6)
        .stderr_has("read-only");
    assert!(!has_covshard_tables(&db));
    covshard(dir.path()).args(["durations"]).succeeds();
}

#[test]
fn no_commit_outside_git_is_a_git_error() {
    let (dir, _db) = setup();
    covshard(dir.path())
        .args(["ingest", "--junit", "junit-shard1.xml"])
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .exits_with(4)
        .stderr_has("--commit");
}

#[test]
fn commit_defaults_to_head_in_a_repository() {
    let (dir, db) = setup();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        String::from_utf8(ok.stdout).unwrap()
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "base"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_string();
    covshard(dir.path())
        .args(["ingest", "--junit", "junit-shard1.xml"])
        .succeeds();
    let conn = covshard::history::open_read(&db).unwrap();
    assert_eq!(
        covshard::history::recorded_commit(&conn).unwrap(),
        Some(head)
    );
}

#[test]
fn history_is_carried_into_a_new_data_file() {
    let (dir, old) = setup();
    covshard(dir.path())
        .args(["ingest", "--commit", "old", "--junit", "junit-shard1.xml"])
        .succeeds();
    let new_dir = dir.path().join("combined");
    std::fs::create_dir(&new_dir).unwrap();
    let new = coverage_file(&new_dir, KNOWN);
    for _ in 0..2 {
        covshard(dir.path())
            .args(["ingest", "--db"])
            .arg(&new)
            .arg("--carry-history-from")
            .arg(&old)
            .succeeds();
    }
    assert_eq!(count(&new, "SELECT count(*) FROM covshard_run"), 1);
    assert_eq!(count(&new, "SELECT count(*) FROM covshard_sample"), 4);
}

#[test]
fn two_ingests_at_once_both_land() {
    let (dir, db) = setup();
    // A report big enough that the two processes overlap.
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite name=\"pytest\">",
    );
    for i in 0..20_000 {
        xml.push_str(&format!(
            "<testcase classname=\"tests.big.test_big\" name=\"test_{i}\" time=\"0.01\" />"
        ));
    }
    xml.push_str("</testsuite></testsuites>");
    std::fs::write(dir.path().join("big.xml"), xml).unwrap();
    let children: Vec<_> = (0..2)
        .map(|i| {
            covshard(dir.path())
                .args(["ingest", "--commit", &format!("c{i}"), "--junit", "big.xml"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(count(&db, "SELECT count(*) FROM covshard_run"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM covshard_sample"), 40_000);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"
        ),
        1
    );
}

#[test]
fn durations_on_a_file_without_history() {
    let (dir, _db) = setup();
    covshard(dir.path())
        .args(["durations"])
        .succeeds()
        .stderr_has("no durations history yet")
        .stdout_has("unknown 7 tests");
}

/// coverage.py must still read and combine a file covshard wrote to.
#[test]
fn coverage_py_still_reports_and_combines() {
    let python = match std::env::var_os("COVSHARD_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but COVSHARD_PYTHON is not set: this test must run in CI");
            }
            eprintln!("skipping: set COVSHARD_PYTHON to a Python with coverage installed");
            return;
        }
    };
    let (dir, db) = setup();
    std::fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
    std::fs::write(dir.path().join("src/pkg/mod.py"), "X = 1\n").unwrap();
    covshard(dir.path())
        .args(["ingest", "--commit", "c", "--junit", "junit-shard1.xml"])
        .succeeds();
    let coverage = |args: &[&str]| {
        let out = Command::new(&python)
            .args(["-m", "coverage"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "coverage {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let report = coverage(&["report", "--data-file", db.to_str().unwrap()]);
    assert!(report.contains("src/pkg/mod.py"), "{report}");
    // Keep the previous file aside, as a CI job would, before combine replaces `.coverage`.
    std::fs::copy(&db, dir.path().join("previous.coverage")).unwrap();
    std::fs::copy(&db, dir.path().join(".coverage.shard1")).unwrap();
    std::fs::copy(&db, dir.path().join(".coverage.shard2")).unwrap();
    std::fs::remove_file(&db).unwrap();
    coverage(&["combine"]);
    let report = coverage(&["report"]);
    assert!(report.contains("src/pkg/mod.py"), "{report}");
    // The combined file lost our tables; carrying them over brings the history back.
    assert!(!has_covshard_tables(&db));
    covshard(dir.path())
        .args(["ingest", "--carry-history-from", "previous.coverage"])
        .succeeds();
    assert_eq!(count(&db, "SELECT count(*) FROM covshard_sample"), 4);
    coverage(&["report"]);
}

/// The JSON output reads back into the documented shape, with nothing extra.
#[test]
fn durations_json_has_the_documented_shape() {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Slow {
        node_id: String,
        seconds: f64,
        samples: usize,
        source: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Report {
        version: u32,
        statistic: String,
        runs: usize,
        recorded_commit: Option<String>,
        known: usize,
        unknown: usize,
        known_seconds: f64,
        unknown_seconds: f64,
        total_seconds: f64,
        slowest: Vec<Slow>,
        group_setup: Vec<(String, f64)>,
    }
    let (dir, _db) = setup();
    covshard(dir.path())
        .args([
            "ingest",
            "--commit",
            "c",
            "--reportlog",
            "shard1.reportlog.jsonl",
        ])
        .succeeds();
    let out = covshard(dir.path())
        .args(["durations", "--format", "json", "--statistic", "p90"])
        .output()
        .unwrap();
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.version, 1);
    assert_eq!(report.statistic, "p90");
    assert_eq!(report.known, 4);
    assert!(!report.group_setup.is_empty());
}

/// An immutable file (`chattr +i`, which stops root too) is refused by SQLite itself; the
/// error is the same exit 6. Skipped where the file system has no immutable flag.
#[test]
fn an_immutable_data_file_is_exit_6() {
    let (dir, db) = setup();
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&db)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !chattr("+i") {
        eprintln!("skipping: chattr +i is not available here");
        return;
    }
    let out = covshard(dir.path())
        .args(["ingest", "--commit", "c", "--junit", "junit-shard1.xml"])
        .output()
        .unwrap();
    chattr("-i");
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!has_covshard_tables(&db));
}
