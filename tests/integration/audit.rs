//! `covshard audit` with real pytest, pytest-cov and coverage.py on the fixture project: full
//! runs on successive commits of a main branch, each ingested on top of the previous baseline,
//! then audited against it. A change that breaks tests is caught by the default rules and
//! reported as a miss under a deliberately narrowed configuration (`--strict` fails); a flaky
//! test that fails where selection would not have run it is told apart from a miss; the record
//! accumulates in the data file and travels with `--carry-history-from`.

use std::path::Path;
use std::process::Command;

use covshard::history::audits::MissKind;
use covshard::output;

use crate::util::{Expect, copy_tree, covshard, fixtures, git, python, run_ok, venv_bin};

/// One full run of the suite at the checkout, as a main-branch job runs it: every test, with
/// per-test contexts; `flip` makes the flaky test fail. Writes `.coverage` and `junit-TAG.xml`.
fn full_run(python: &Path, dir: &Path, tag: &str, flip: bool) {
    let status = Command::new(venv_bin(python, "pytest"))
        .current_dir(dir)
        .args(["-q", "-p", "no:cacheprovider", "-p", "no:randomly"])
        .args(["--cov=shop", "--cov-context=test", "--cov-report="])
        .arg(format!("--junitxml=junit-{tag}.xml"))
        .env("COVERAGE_FILE", dir.join(".coverage"))
        .env("FLIP", if flip { "1" } else { "0" })
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    // Failing tests are the point here; a crash (exit 2 and up) is not.
    assert!(matches!(status.code(), Some(0 | 1)), "pytest: {status}");
}

fn ingest(dir: &Path, db: &str, junit: &str, carry: Option<&str>) {
    let mut cmd = covshard();
    cmd.current_dir(dir)
        .args(["ingest", "--db", db, "--junit", junit]);
    if let Some(old) = carry {
        cmd.args(["--carry-history-from", old]);
    }
    run_ok(&mut cmd);
}

fn audit_json(stdout: &str) -> output::Audit<'static> {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"))
}

#[test]
fn audits_of_full_runs_tell_misses_from_flaky_tests() {
    let Some(python) = python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    copy_tree(&fixtures().join("project"), &dir);
    // The reports and data files stay untracked and not ignored, as in a CI checkout: the
    // audit reads what was committed, not what the job left in the checkout.
    std::fs::write(dir.join(".gitignore"), "__pycache__/\n").unwrap();
    // A test whose outcome follows the environment, not the code, and one broken all along.
    std::fs::write(
        dir.join("tests/test_flaky.py"),
        "import os\n\n\ndef test_depends_on_the_weather():\n    assert os.environ.get(\"FLIP\") != \"1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/test_broken.py"),
        "def test_broken_all_along():\n    assert False\n",
    )
    .unwrap();
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "base"]);
    let base = git(&dir, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::create_dir(dir.join("baseline")).unwrap();

    // The first baseline.
    full_run(&python, &dir, "b", false);
    ingest(&dir, ".coverage", "junit-b.xml", None);
    std::fs::rename(dir.join(".coverage"), dir.join("baseline/b.coverage")).unwrap();

    // Commit m1 breaks pricing.
    let pricing = dir.join("src/shop/pricing.py");
    let original = std::fs::read_to_string(&pricing).unwrap();
    let broken = original.replacen("item.total * 0.1 ", "item.total * 0.15 ", 1);
    assert_ne!(broken, original, "the fixture's discount line moved");
    std::fs::write(&pricing, &broken).unwrap();
    git(
        &dir,
        &["commit", "-q", "-am", "m1: a discount that breaks tests"],
    );
    let m1 = git(&dir, &["rev-parse", "HEAD"]).trim().to_string();
    // Its full run was retried: the flaky test failed once and passed once at m1.
    full_run(&python, &dir, "m1-first", true);
    full_run(&python, &dir, "m1", false);
    ingest(
        &dir,
        ".coverage",
        "junit-m1-first.xml",
        Some("baseline/b.coverage"),
    );
    ingest(&dir, ".coverage", "junit-m1.xml", None);

    let audit = |extra: &[&str]| {
        let mut cmd = covshard();
        cmd.current_dir(&dir).args([
            "audit",
            "--db",
            ".coverage",
            "--previous",
            "baseline/b.coverage",
            "--junit",
            "junit-m1.xml",
        ]);
        cmd.args(extra);
        if !extra.contains(&"--format") {
            cmd.args(["--format", "json"]);
        }
        cmd
    };
    // The default rules select every test the change broke.
    let found = audit_json(&audit(&["--strict"]).succeeds().stdout);
    assert_eq!(found.commit.as_deref(), Some(m1.as_str()));
    assert_eq!(found.base.as_deref(), Some(base.as_str()));
    assert!(found.failing > 0, "the change broke no test");
    assert_eq!(found.missed, 0, "{:?}", found.left_out);
    assert!(found.left_out.is_empty(), "{:?}", found.left_out);
    assert!(!found.run_all);
    assert!(found.selected < found.tests, "selection ran everything");
    assert!(found.saved_seconds > 0.0 && found.saved_seconds < found.seconds);
    assert!(found.stored);

    // A configuration that ignores the changed module would have let the failures through.
    let narrowed = tmp.path().join("narrowed.toml");
    std::fs::write(
        &narrowed,
        "[selection]\nextra_ignore = [\"src/shop/pricing.py\"]\n",
    )
    .unwrap();
    let narrowed = narrowed.display().to_string();
    let strict = audit(&["--config", &narrowed, "--no-record", "--strict"]).exits_with(7);
    assert!(
        strict.stderr.contains("would have missed"),
        "{}",
        strict.stderr
    );
    let missed = audit_json(&strict.stdout);
    // Every failure but the one broken all along, which failed last run and so is selected.
    assert_eq!(missed.missed + 1, found.failing);
    assert!(!missed.stored);
    for m in missed.left_out.iter() {
        assert_eq!(m.kind, MissKind::Missed, "{m:?}");
        let pricing = m.ran.iter().find(|f| f.path == "src/shop/pricing.py");
        let pricing = pricing.unwrap_or_else(|| panic!("{m:?}"));
        assert_eq!(pricing.handling, "ignored by pattern", "{m:?}");
        assert!(!pricing.lines.is_empty(), "{m:?}");
    }
    // The text and Markdown forms name the miss and the rule; without --strict, exit 0.
    let text = audit(&["--config", &narrowed, "--no-record", "--format", "text"])
        .succeeds()
        .stdout;
    let first = &missed.left_out[0].test;
    assert!(text.contains(&format!("MISSED {first}")), "{text}");
    assert!(text.contains("ignored by pattern"), "{text}");
    let markdown = audit(&["--config", &narrowed, "--no-record", "--format", "markdown"])
        .succeeds()
        .stdout;
    assert!(markdown.contains("would have been missed"), "{markdown}");
    assert!(markdown.contains(&format!("`{first}`")), "{markdown}");

    // Commit m2 repairs pricing; its full run meets the flaky test failing again, which a
    // change to pricing would not have run.
    std::fs::write(&pricing, &original).unwrap();
    git(&dir, &["commit", "-q", "-am", "m2: repair the discount"]);
    std::fs::rename(dir.join(".coverage"), dir.join("baseline/m1.coverage")).unwrap();
    full_run(&python, &dir, "m2", true);
    ingest(
        &dir,
        ".coverage",
        "junit-m2.xml",
        Some("baseline/m1.coverage"),
    );
    let flaky = covshard()
        .current_dir(&dir)
        .args(["audit", "--previous", "baseline/m1.coverage"])
        .args(["--junit", "junit-m2.xml", "--format", "json", "--strict"])
        .succeeds();
    let flaky = audit_json(&flaky.stdout);
    assert_eq!(flaky.missed, 0, "{:?}", flaky.left_out);
    let ids: Vec<(&str, MissKind)> = flaky
        .left_out
        .iter()
        .map(|m| (m.test.as_str(), m.kind))
        .collect();
    assert_eq!(
        ids,
        vec![(
            "tests/test_flaky.py::test_depends_on_the_weather",
            MissKind::Flaky
        )]
    );

    // Without re-running last run's failures, the test broken all along is left out too,
    // and told apart: it failed at the base and never passed there.
    let rerun = tmp.path().join("no-rerun.toml");
    std::fs::write(&rerun, "[selection]\nrerun_failed = false\n").unwrap();
    let broken = covshard()
        .current_dir(&dir)
        .args([
            "audit",
            "--previous",
            "baseline/m1.coverage",
            "--junit",
            "junit-m2.xml",
        ])
        .args(["--format", "json", "--strict", "--no-record", "--config"])
        .arg(&rerun)
        .succeeds();
    let broken = audit_json(&broken.stdout);
    let kinds: Vec<(&str, MissKind)> = broken
        .left_out
        .iter()
        .map(|m| (m.test.as_str(), m.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "tests/test_broken.py::test_broken_all_along",
                MissKind::FailedAtBase
            ),
            (
                "tests/test_flaky.py::test_depends_on_the_weather",
                MissKind::Flaky
            ),
        ]
    );

    // The record came along with the carried history: the m1 audit and the m2 audit.
    let history =
        run_ok(
            covshard()
                .current_dir(&dir)
                .args(["audit", "--history", "--format", "json"]),
        );
    let history: output::AuditHistory = serde_json::from_str(&history).unwrap();
    let commits: Vec<Option<&str>> = history.audits.iter().map(|a| a.commit.as_deref()).collect();
    assert_eq!(
        commits,
        vec![
            Some(m1.as_str()),
            Some(git(&dir, &["rev-parse", "HEAD"]).trim())
        ]
    );
    assert_eq!(history.totals.audits, 2);
    assert_eq!(history.totals.misses, 0);
    let text = run_ok(covshard().current_dir(&dir).args(["audit", "--history"]));
    assert!(text.contains("Over 2 audited runs: no miss"), "{text}");
}

#[test]
fn an_audit_away_from_its_commit_is_refused() {
    let Some(python) = python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    copy_tree(&fixtures().join("project"), &dir);
    std::fs::write(dir.join(".gitignore"), ".coverage*\n*.xml\n__pycache__/\n").unwrap();
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "base"]);
    full_run(&python, &dir, "b", false);
    ingest(&dir, ".coverage", "junit-b.xml", None);
    std::fs::copy(dir.join(".coverage"), dir.join(".coverage.old")).unwrap();
    git(&dir, &["commit", "-q", "--allow-empty", "-m", "later"]);
    // The data file says it was recorded at the first commit; HEAD has moved on.
    let refused = covshard()
        .current_dir(&dir)
        .args([
            "audit",
            "--previous",
            ".coverage.old",
            "--junit",
            "junit-b.xml",
        ])
        .exits_with(2);
    assert!(
        refused.stderr.contains("is not the checkout"),
        "{}",
        refused.stderr
    );
    // No reports: a usage error that says what to pass.
    covshard()
        .current_dir(&dir)
        .args(["audit", "--previous", ".coverage.old"])
        .exits_with(2)
        .stderr_has("--junit");
}
