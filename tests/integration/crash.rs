//! A data file survives an ingest killed half-way (issue 20, item 2): CI systems kill jobs on
//! timeouts and cancellations. An ingest writes in one SQLite transaction, so after SIGKILL at
//! any point the file must still be read by coverage.py, hold the history as it was before or
//! after the killed run (never part of one), and take the next ingest.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::bench_data::datagen;
use crate::util::{Expect as _, covshard, venv_bin};

fn history_runs(dir: &Path) -> u64 {
    let out = covshard()
        .current_dir(dir)
        .args(["info", "--db", ".coverage", "--format", "json"])
        .succeeds();
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    info["history_runs"].as_u64().unwrap()
}

fn samples(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join(".coverage")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    conn.query_row("SELECT count(*) FROM covshard_sample", [], |r| r.get(0))
        .unwrap()
}

fn ingest(dir: &Path, commit: &str) -> Command {
    let mut cmd = covshard();
    cmd.current_dir(dir).env("NO_COLOR", "1").args([
        "ingest",
        "--db",
        ".coverage",
        "--commit",
        commit,
        "--junit",
        "reports/junit-*.xml",
    ]);
    cmd
}

/// The medium generated set (10,000 tests) with one run ingested, and its spec.
fn medium_set_ingested() -> (tempfile::TempDir, datagen::Spec) {
    let tmp = tempfile::tempdir().unwrap();
    let spec = datagen::Spec::preset("medium").unwrap();
    datagen::generate(&spec, tmp.path(), false).unwrap();
    ingest(tmp.path(), "c0").succeeds();
    (tmp, spec)
}

#[test]
fn an_ingest_killed_at_any_point_leaves_the_history_whole() {
    let (tmp, spec) = medium_set_ingested();
    let dir = tmp.path();
    let (mut runs, mut stored) = (history_runs(dir), samples(dir));
    assert_eq!(runs, 1);
    let per_run = stored;

    // How long a whole ingest takes here, to kill at points spread over it.
    let started = Instant::now();
    ingest(dir, "c1").succeeds();
    let whole = started.elapsed();
    (runs, stored) = (history_runs(dir), samples(dir));
    assert_eq!((runs, stored), (2, 2 * per_run));

    let mut killed_running = 0;
    for (k, eighths) in (0..8u32).enumerate() {
        let mut child = ingest(dir, &format!("k{k}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * eighths / 8);
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (now_runs, now_stored) = (history_runs(dir), samples(dir));
        // Before the killed run, or after it whole.
        assert!(
            (now_runs, now_stored) == (runs, stored)
                || (now_runs, now_stored) == (runs + 1, stored + per_run),
            "killed at {eighths}/8: {now_runs} runs, {now_stored} samples (was {runs}, {stored})"
        );
        (runs, stored) = (now_runs, now_stored);
    }
    assert!(
        killed_running >= 4,
        "only {killed_running} kills landed while ingest ran"
    );

    ingest(dir, "after").succeeds();
    assert_eq!(history_runs(dir), runs + 1);
    if let Some(python) = crate::util::python() {
        // coverage.py still reads the file, contexts and all.
        let out = Command::new(venv_bin(&python, "python"))
            .current_dir(dir)
            .args([
                "-c",
                "from coverage import CoverageData; d = CoverageData(); d.read(); \
                 print(len(d.measured_files()), len(d.measured_contexts()))",
            ])
            .succeeds();
        let counts: Vec<usize> = out
            .stdout
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(counts[0], spec.files);
        assert!(counts[1] > spec.tests, "{counts:?}");
    }
}

/// Readers while an ingest writes: two `plan`s and an `info` wait for the write to finish
/// (SQLite's busy timeout) instead of failing with `database is locked`, and see the history
/// before or after the run.
#[test]
fn plans_read_while_an_ingest_writes() {
    let (tmp, _) = medium_set_ingested();
    let dir = tmp.path();
    let mut writer = ingest(dir, "c1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reads = 0;
    let mut overlapped = 0;
    while reads < 60 {
        let running = writer.try_wait().unwrap().is_none();
        // Two plans and an info at once.
        let readers: Vec<_> = (0..3)
            .map(|i| {
                let mut cmd = covshard();
                cmd.current_dir(dir);
                if i < 2 {
                    cmd.args(["plan", "--db", ".coverage", "--all", "--shards", "4"])
                        .args(["--out", &format!("plan-{i}.json")]);
                } else {
                    cmd.args(["info", "--db", ".coverage", "--format", "json"]);
                }
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for reader in readers {
            let out = reader.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "a reader failed while ingest wrote: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            reads += 1;
        }
        if running {
            overlapped += 1;
        } else {
            break;
        }
    }
    let out = writer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(overlapped >= 1, "no read overlapped the ingest");
    assert_eq!(history_runs(dir), 2);
}

/// A full disk, simulated by a file-size limit (`ulimit -f`, with SIGXFSZ ignored so writes
/// fail with EFBIG as on a full disk): the ingest fails with the write error's exit code and a
/// message, the data file keeps its history, and the ingest succeeds once there is room.
#[test]
#[cfg(unix)]
fn an_ingest_on_a_full_disk_fails_cleanly_and_loses_nothing() {
    let (tmp, _) = medium_set_ingested();
    let dir = tmp.path();
    let (runs, stored) = (history_runs(dir), samples(dir));
    let size_kib = std::fs::metadata(dir.join(".coverage")).unwrap().len() / 1024;
    let binary = ingest(dir, "full").get_program().to_owned();
    let out = Command::new("bash")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args([
            "-c",
            &format!(
                "ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"",
                size_kib + 4
            ),
        ])
        .arg(&binary)
        .args(["ingest", "--db", ".coverage", "--commit", "full"])
        .args(["--junit", "reports/junit-*.xml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(covshard::error::exit::WRITE),
        "{stderr}"
    );
    assert!(
        stderr.contains(".coverage"),
        "the error names the file: {stderr}"
    );
    assert_eq!((history_runs(dir), samples(dir)), (runs, stored));
    ingest(dir, "room").succeeds();
    assert_eq!(history_runs(dir), runs + 1);
}

/// The same reports ingested twice at once (two jobs that raced) or again later (a retried
/// job): one run is stored, no run is lost and none is doubled; other reports still add runs.
#[test]
fn the_same_run_ingested_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let spec = datagen::Spec::preset("small").unwrap();
    datagen::generate(&spec, dir, false).unwrap();
    let racing: Vec<_> = (0..2)
        .map(|_| {
            ingest(dir, "c1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let stderr: Vec<String> = racing
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
        .collect();
    assert_eq!(history_runs(dir), 1, "{stderr:?}");
    assert_eq!(
        stderr
            .iter()
            .filter(|e| e.contains("already stored as run 1"))
            .count(),
        1,
        "{stderr:?}"
    );
    ingest(dir, "c1")
        .succeeds()
        .stderr_has("these reports are already stored as run 1");
    assert_eq!(history_runs(dir), 1);
    // The same reports at another commit are another run.
    ingest(dir, "c2").succeeds();
    assert_eq!(history_runs(dir), 2);
}

/// A writer killed in the middle of its transaction leaves a hot journal beside the data
/// file. The next read (`info`, `plan`: read-only connections, which SQLite does not let roll
/// a journal back) must not fail on it: covshard rolls it back and reads the history as it
/// was before the killed write.
#[test]
fn a_read_after_a_killed_writer_rolls_its_journal_back() {
    let Some(python) = crate::util::python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = crate::util::fixtures().join("data");
    std::fs::copy(data.join("lines.coverage"), dir.join(".coverage")).unwrap();
    covshard()
        .current_dir(dir)
        .args(["ingest", "--db", ".coverage", "--commit", "c0", "--junit"])
        .arg(data.join("junit.xml"))
        .succeeds();
    let (runs, stored) = (history_runs(dir), samples(dir));
    assert!(stored > 0);
    // A writer that dies with its transaction open, its changes spilled to the file.
    Command::new(venv_bin(&python, "python"))
        .current_dir(dir)
        .args([
            "-c",
            "import os, sqlite3\n\
             c = sqlite3.connect('.coverage', isolation_level=None)\n\
             c.execute('PRAGMA cache_size = 1')\n\
             c.execute('BEGIN IMMEDIATE')\n\
             c.execute('DELETE FROM covshard_sample')\n\
             c.execute('DELETE FROM line_bits')\n\
             os._exit(0)",
        ])
        .succeeds();
    assert!(
        dir.join(".coverage-journal").is_file(),
        "the killed writer left no journal: this test no longer sets the scene"
    );
    assert_eq!(
        history_runs(dir),
        runs,
        "the read failed or saw the killed write"
    );
    assert_eq!(samples(dir), stored);
    let plan = covshard()
        .current_dir(dir)
        .args(["plan", "--db", ".coverage", "--all", "--shards", "2"])
        .args(["--out", "plan.json", "-q"])
        .succeeds();
    assert!(plan.stdout.contains("\"shard\":2"), "{}", plan.stdout);
}
