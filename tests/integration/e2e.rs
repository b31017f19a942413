//! The whole loop on the fixture project with real pytest, pytest-cov and coverage.py, as a CI
//! would run it: a full run on the base commit across parallel shards, `coverage combine`,
//! `covshard ingest`; then a change, `covshard plan`, and every shard run in parallel with
//! `pytest @list`. The union of what the shards ran must equal the selection, no test may run
//! twice, and the shards' reports must ingest back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::util::{copy_tree, covshard, fixtures, git, python, run_ok, venv_bin};

/// Node ids a pytest-reportlog file says ran (every test has a `setup` report), with counts.
fn ran(reportlog: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let text = std::fs::read_to_string(reportlog).unwrap();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        if value["$report_type"] == "TestReport" && value["when"] == "setup" {
            *out.entry(value["nodeid"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    out
}

fn collect(pytest: &Path, dir: &Path) -> BTreeSet<String> {
    let out = run_ok(Command::new(pytest).current_dir(dir).args([
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
    ]));
    std::fs::write(dir.join("collected.txt"), &out).unwrap();
    out.lines()
        .filter(|l| l.contains("::"))
        .map(str::to_string)
        .collect()
}

/// Start one shard's pytest on its list, as a CI job would.
fn start_shard(pytest: &Path, dir: &Path, list: &Path, tag: &str, coverage: bool) -> Child {
    let mut cmd = Command::new(pytest);
    cmd.current_dir(dir)
        .arg(format!("@{}", list.display()))
        .args(["-q", "-p", "no:cacheprovider", "-p", "no:randomly"])
        .arg(format!("--junitxml=junit-{tag}.xml"))
        .arg(format!("--report-log=log-{tag}.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if coverage {
        cmd.args(["--cov=shop", "--cov-context=test", "--cov-report="])
            .env("COVERAGE_FILE", dir.join(format!(".coverage.shard-{tag}")));
    }
    cmd.spawn().unwrap()
}

/// Write each shard's list with `covshard tests` and run all shards at once.
fn run_shards(
    pytest: &Path,
    dir: &Path,
    shards: usize,
    prefix: &str,
    coverage: bool,
) -> Vec<PathBuf> {
    let mut children = Vec::new();
    for k in 1..=shards {
        let list = dir.join(format!("{prefix}-ids-{k}.txt"));
        let ids = run_ok(covshard().current_dir(dir).args([
            "tests",
            "--plan",
            "plan.json",
            "--shard",
            &k.to_string(),
        ]));
        assert!(!ids.trim().is_empty(), "shard {k} is empty");
        std::fs::write(&list, ids).unwrap();
        children.push(start_shard(
            pytest,
            dir,
            &list,
            &format!("{prefix}{k}"),
            coverage,
        ));
    }
    for mut child in children {
        // Test failures are allowed here (the change may break tests); crashes are not.
        let status = child.wait().unwrap();
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "pytest crashed: {status}"
        );
    }
    (1..=shards)
        .map(|k| dir.join(format!("log-{prefix}{k}.jsonl")))
        .collect()
}

fn plan_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap()
}

#[test]
fn the_whole_loop_with_real_pytest() {
    let Some(python) = python() else {
        return;
    };
    // The binary under test is cargo's or, with COVSHARD_BIN, a wheel's: either way this one.
    let version = run_ok(covshard().arg("--version"));
    assert_eq!(
        version.trim(),
        format!("covshard {}", env!("CARGO_PKG_VERSION"))
    );
    let pytest = venv_bin(&python, "pytest");
    let coverage = venv_bin(&python, "coverage");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    copy_tree(&fixtures().join("project"), &dir);
    std::fs::write(
        dir.join(".gitignore"),
        ".coverage*\n*.xml\n*.jsonl\n*.txt\nplan.json\n__pycache__/\n",
    )
    .unwrap();
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "base"]);

    // Main branch: the full run, sharded by covshard itself (no data file yet).
    let all = collect(&pytest, &dir);
    run_ok(covshard().current_dir(&dir).args([
        "plan",
        "--db",
        ".coverage",
        "--all",
        "--collected",
        "collected.txt",
        "--shards",
        "3",
        "--out",
        "plan.json",
    ]));
    let logs = run_shards(&pytest, &dir, 3, "base", true);
    let mut base_ran: BTreeMap<String, usize> = BTreeMap::new();
    for log in &logs {
        for (id, n) in ran(log) {
            *base_ran.entry(id).or_default() += n;
        }
    }
    assert_eq!(
        base_ran.keys().cloned().collect::<BTreeSet<_>>(),
        all,
        "the full run ran every test"
    );
    assert!(
        base_ran.values().all(|n| *n == 1),
        "a test ran twice in the full run"
    );

    let shard_files: Vec<String> = (1..=3)
        .map(|k| format!(".coverage.shard-base{k}"))
        .collect();
    run_ok(
        Command::new(&coverage)
            .current_dir(&dir)
            .arg("combine")
            .args(&shard_files),
    );
    run_ok(covshard().current_dir(&dir).args([
        "ingest",
        "--db",
        ".coverage",
        "--commit",
        "HEAD",
        "--junit",
        "junit-base*.xml",
        "--reportlog",
        "log-base*.jsonl",
    ]));
    let info = run_ok(covshard().current_dir(&dir).args([
        "info",
        "--db",
        ".coverage",
        "--format",
        "json",
    ]));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["has_test_contexts"], true);
    assert_eq!(info["history_runs"], 1);
    let head = git(&dir, &["rev-parse", "HEAD"]).trim().to_string();
    assert_eq!(info["recorded_commit"], head.as_str());
    assert_eq!(info["import_index"]["commit"], head.as_str());
    let python_files = git(&dir, &["ls-files", "*.py"]).lines().count();
    assert_eq!(info["import_index"]["files"], python_files);

    // A pull request: a body change that breaks tests, and a new test in an existing file.
    let pricing = dir.join("src/shop/pricing.py");
    let text = std::fs::read_to_string(&pricing).unwrap();
    std::fs::write(
        &pricing,
        text.replacen("item.total * 0.1 ", "item.total * 0.15 ", 1),
    )
    .unwrap();
    let test_file = dir.join("tests/test_registry.py");
    let mut text = std::fs::read_to_string(&test_file).unwrap();
    text.push_str("\n\ndef test_added_in_the_pull_request():\n    assert True\n");
    std::fs::write(&test_file, text).unwrap();
    let now = collect(&pytest, &dir);

    let plan = [
        "plan",
        "--db",
        ".coverage",
        "--collected",
        "collected.txt",
        "--shards",
        "2",
        "--out",
        "plan.json",
    ];
    run_ok(covshard().current_dir(&dir).args(plan));
    // Same inputs, same plan, byte for byte; and the plan reads back into its strict types.
    let first = std::fs::read(dir.join("plan.json")).unwrap();
    run_ok(covshard().current_dir(&dir).args(plan));
    assert_eq!(
        first,
        std::fs::read(dir.join("plan.json")).unwrap(),
        "plan is not deterministic"
    );
    let typed = covshard::plan::Plan::read(&dir.join("plan.json")).unwrap();
    assert_eq!(typed.shards.len(), 2);
    assert!(typed.packing.efficiency > 0.0 && typed.packing.efficiency <= 1.0);
    let plan = plan_json(&dir);
    let planned: BTreeSet<String> = plan["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["tests"].as_array().unwrap().iter())
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert!(planned.contains("tests/test_registry.py::test_added_in_the_pull_request"));
    assert!(
        planned.len() < now.len(),
        "a body change must not select the whole suite"
    );
    let shards = plan["shards"].as_array().unwrap().len();
    let logs = run_shards(&pytest, &dir, shards, "pr", false);
    let mut pr_ran: BTreeMap<String, usize> = BTreeMap::new();
    for log in &logs {
        for (id, n) in ran(log) {
            *pr_ran.entry(id).or_default() += n;
        }
    }
    assert!(
        pr_ran.values().all(|n| *n == 1),
        "a test ran twice: {pr_ran:?}"
    );
    // Path items (a changed test file) expand to the tests under them.
    let expected: BTreeSet<String> = now
        .iter()
        .filter(|id| {
            planned.contains(*id)
                || planned
                    .iter()
                    .any(|p| !p.contains("::") && id.starts_with(&format!("{p}::")))
        })
        .cloned()
        .collect();
    assert_eq!(pr_ran.keys().cloned().collect::<BTreeSet<_>>(), expected);

    // The shards' reports feed the next estimates.
    let before = run_ok(covshard().current_dir(&dir).args([
        "durations",
        "--db",
        ".coverage",
        "--format",
        "json",
    ]));
    run_ok(covshard().current_dir(&dir).args([
        "ingest",
        "--db",
        ".coverage",
        "--commit",
        "HEAD",
        "--junit",
        "junit-pr*.xml",
    ]));
    let after = run_ok(covshard().current_dir(&dir).args([
        "durations",
        "--db",
        ".coverage",
        "--format",
        "json",
    ]));
    assert_ne!(
        before, after,
        "ingesting the shards' reports changed nothing"
    );
}
