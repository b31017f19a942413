//! `plan`'s outputs for each CI, `tests --shard auto` from each CI's variables, `tune` and
//! `report`, on the fixture data (no Python needed): the data file, JUnit durations and a
//! change in a throwaway git repository.

use std::path::Path;

use crate::util::{copy_tree, covshard, fixture_repo, fixtures, git, run_ok};

/// The fixture project as its own repository, with durations ingested and a body change.
fn repo_with_change() -> tempfile::TempDir {
    let tmp = fixture_repo();
    let dir = tmp.path();
    run_ok(covshard().current_dir(dir).args([
        "ingest",
        "--db",
        ".coverage",
        "--junit",
        "junit.xml",
        "--commit",
        "HEAD",
    ]));
    let pricing = dir.join("src/shop/pricing.py");
    let text = std::fs::read_to_string(&pricing).unwrap();
    std::fs::write(
        &pricing,
        text.replacen("item.total * 0.1 ", "item.total * 0.15 ", 1),
    )
    .unwrap();
    tmp
}

/// `covshard plan` on the repository's data file, writing `plan.json`.
fn plan_command(dir: &Path) -> std::process::Command {
    let mut command = covshard();
    command
        .current_dir(dir)
        .args(["plan", "--db", ".coverage", "--out", "plan.json"]);
    command
}

fn plan(dir: &Path, extra: &[&str]) -> String {
    run_ok(plan_command(dir).args(extra))
}

#[test]
fn github_matrix_outputs_and_summary() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    let output = dir.join("out/github_output");
    let summary = dir.join("out/summary.md");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let stdout = run_ok(
        plan_command(dir)
            .env("GITHUB_OUTPUT", &output)
            .args(["--shards", "2", "--github-output", "--summary-markdown"])
            .arg(&summary),
    );
    assert_eq!(
        stdout,
        "{\"include\":[{\"shard\":1,\"of\":2},{\"shard\":2,\"of\":2}]}\n"
    );
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(
        outputs.contains("has-tests=true\n") && outputs.contains("shard-count=2\n"),
        "{outputs}"
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.contains("### covshard plan")
            && markdown.contains("| shard | tests | predicted |")
    );
    assert!(markdown.contains("7 of 62 tests"), "{markdown}");
}

#[test]
fn nothing_selected_keeps_the_matrix_valid() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    git(dir, &["checkout", "-q", "--", "."]);
    std::fs::write(dir.join("NOTES.md"), "docs only\n").unwrap();
    let output = dir.join("gh_out");
    let stdout = run_ok(
        plan_command(dir)
            .env("GITHUB_OUTPUT", &output)
            .arg("--github-output"),
    );
    assert_eq!(stdout, "{\"include\":[{\"shard\":1,\"of\":1}]}\n");
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("has-tests=false\n") && outputs.contains("shard-count=0\n"));
    // The shard jobs are skipped by the workflow; asked anyway, a shard has nothing to run.
    let ids =
        run_ok(
            covshard()
                .current_dir(dir)
                .args(["tests", "--plan", "plan.json", "--shard", "1"]),
        );
    assert_eq!(ids, "");
}

#[test]
fn other_ci_formats() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    let gitlab = plan(
        dir,
        &[
            "--shards",
            "3",
            "--matrix",
            "gitlab",
            "--gitlab-include",
            "ci/shard.yml",
        ],
    );
    assert!(
        gitlab.contains("local: 'ci/shard.yml'") && gitlab.contains("parallel: 3"),
        "{gitlab}"
    );
    let buildkite = plan(dir, &["--shards", "2", "--matrix", "buildkite"]);
    assert!(buildkite.contains("parallelism: 2") && buildkite.contains("--shard auto"));
    let circle = plan(dir, &["--shards", "2", "--matrix", "circleci"]);
    assert_eq!(circle, "{\"shard-count\":2,\"has-tests\":true}\n");
}

#[test]
fn shard_auto_reads_each_ci_and_lists_partition_the_plan() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    plan(dir, &["--shards", "2"]);
    let by_index = |vars: &[(&str, &str)]| {
        let mut cmd = covshard();
        cmd.current_dir(dir)
            .args(["tests", "--plan", "plan.json", "--shard", "auto"]);
        for name in [
            "CI_NODE_INDEX",
            "CI_NODE_TOTAL",
            "BUILDKITE_PARALLEL_JOB",
            "BUILDKITE_PARALLEL_JOB_COUNT",
            "CIRCLE_NODE_INDEX",
            "CIRCLE_NODE_TOTAL",
            "COVSHARD_SHARD",
        ] {
            cmd.env_remove(name);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run_ok(&mut cmd)
    };
    let first = by_index(&[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "2")]);
    assert_eq!(
        first,
        by_index(&[
            ("BUILDKITE_PARALLEL_JOB", "0"),
            ("BUILDKITE_PARALLEL_JOB_COUNT", "2")
        ])
    );
    assert_eq!(
        first,
        by_index(&[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "2")])
    );
    let second = by_index(&[("COVSHARD_SHARD", "2")]);
    let mut all: Vec<&str> = first.lines().chain(second.lines()).collect();
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "a test is in two shards");
    assert_eq!(count, 7);
}

#[test]
fn tune_and_report() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    let tune = run_ok(covshard().current_dir(dir).args([
        "tune",
        "--db",
        ".coverage",
        "--all",
        "--counts",
        "1-4",
        "--shard-overhead",
        "2s",
        "--format",
        "json",
    ]));
    let tune: serde_json::Value = serde_json::from_str(&tune).unwrap();
    let rows = tune["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let runner: Vec<f64> = rows
        .iter()
        .map(|r| r["runner_seconds"].as_f64().unwrap())
        .collect();
    assert!(
        runner.windows(2).all(|w| w[1] >= w[0]),
        "more shards cost more runner time: {runner:?}"
    );
    let text = run_ok(covshard().current_dir(dir).args([
        "tune",
        "--db",
        ".coverage",
        "--all",
        "--counts",
        "1,2",
    ]));
    assert!(
        text.contains("shards") && text.contains("efficiency"),
        "{text}"
    );

    plan(dir, &["--shards", "2"]);
    run_ok(covshard().current_dir(dir).args([
        "report",
        "--plan",
        "plan.json",
        "--html",
        "out/report.html",
    ]));
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
    assert!(
        html.contains("test_slow_end_to_end"),
        "each test is a bar with its id"
    );
    let markdown =
        run_ok(
            covshard()
                .current_dir(dir)
                .args(["report", "--plan", "plan.json", "--markdown"]),
        );
    assert!(markdown.contains("| shard | tests | predicted |"));
}

#[test]
fn without_a_data_file_the_plan_uses_what_there_is_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_tree(&fixtures().join("project"), dir);
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    let durations = fixtures().join("data/.test_durations");
    let ids: Vec<String> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
        &std::fs::read_to_string(&durations).unwrap(),
    )
    .unwrap()
    .keys()
    .cloned()
    .collect();
    std::fs::write(
        dir.join("collected.txt"),
        ids.join("\n") + "\n\n62 tests collected\n",
    )
    .unwrap();
    let out = covshard()
        .current_dir(dir)
        .args([
            "plan",
            "--db",
            "missing.coverage",
            "--collected",
            "collected.txt",
            "--shards",
            "3",
        ])
        .arg("--durations")
        .arg(&durations)
        .args(["--out", "plan.json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no data file at missing.coverage"),
        "{stderr}"
    );
    let plan = covshard::plan::Plan::read(&dir.join("plan.json")).unwrap();
    assert_eq!(plan.test_count(), ids.len());
    assert_eq!(
        plan.estimates.known,
        ids.len(),
        "every test estimated from .test_durations"
    );
    assert!(plan.packing.efficiency > 0.9);
    // With only a test list, estimates are uniform but the plan still covers every test.
    run_ok(covshard().current_dir(dir).args([
        "plan",
        "--db",
        "missing.coverage",
        "--collected",
        "collected.txt",
        "--shards",
        "3",
        "--out",
        "plan2.json",
    ]));
    let plain = covshard::plan::Plan::read(&dir.join("plan2.json")).unwrap();
    assert_eq!(plain.test_count(), ids.len());
    assert_eq!(plain.estimates.known, 0);
}

#[test]
fn select_json_reads_back_into_strict_types() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    let out = run_ok(covshard().current_dir(dir).args([
        "select",
        "--db",
        ".coverage",
        "--format",
        "json",
    ]));
    // Every field known, nothing extra (`covshard::output` denies unknown fields).
    let parsed: covshard::output::Select = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed.version, 1);
    assert!(!parsed.run_all);
    assert_eq!(parsed.tests.len(), 7);
    assert_eq!(parsed.total, 62);
    assert!(
        parsed
            .tests
            .iter()
            .all(|t| parsed.reasons.contains_key(t.as_str())),
        "every test has reasons"
    );
    assert_eq!(parsed.changed_files.len(), 1);
    let lines = run_ok(covshard().current_dir(dir).args([
        "select",
        "--db",
        ".coverage",
        "--format",
        "lines",
    ]));
    assert_eq!(lines.lines().collect::<Vec<_>>(), parsed.tests);
}

/// The shard index of every planned test of `file`, from plan.json.
fn shards_of_file(dir: &Path, file: &str) -> std::collections::BTreeSet<usize> {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for (k, shard) in plan["shards"].as_array().unwrap().iter().enumerate() {
        for test in shard["tests"].as_array().unwrap() {
            if test["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{file}::"))
            {
                out.insert(k);
            }
        }
    }
    out
}

#[test]
fn configured_setup_costs_are_charged_once_per_shard() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    let args = [
        "--all",
        "--shards",
        "3",
        "--shard-overhead",
        "0s",
        "--group-by",
        "auto",
    ];
    // The seconds of the shards that hold tests/test_rates.py, and the makespan.
    let rates_shards = |dir: &Path| -> (Vec<f64>, f64) {
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
        let held = shards_of_file(dir, "tests/test_rates.py");
        let shards = plan["shards"].as_array().unwrap();
        let seconds = held
            .iter()
            .map(|&k| shards[k]["predicted_seconds"].as_f64().unwrap())
            .collect();
        (
            seconds,
            plan["packing"]["makespan_seconds"].as_f64().unwrap(),
        )
    };
    // JUnit history has no setup costs: the file's shard is light (the longest test is 408 ms).
    plan(dir, &args);
    let (without, _) = rates_shards(dir);
    assert!(without.iter().all(|&s| s < 0.3), "{without:?}");

    // The most specific pattern wins (300 ms, not the hour of the glob), and the packer keeps
    // the file whole: paying 300 ms in a second shard would push past the longest test.
    std::fs::write(
        dir.join("covshard.toml"),
        "[packing.setup]\n\"tests/test_ra*.py\" = \"1h\"\n\"tests/test_rates.py\" = \"300ms\"\n",
    )
    .unwrap();
    plan(dir, &args);
    let (with, makespan) = rates_shards(dir);
    assert_eq!(with.len(), 1, "{with:?}");
    assert!(with[0] >= 0.3, "{with:?}");
    assert!(makespan < 0.5, "{makespan}");

    std::fs::write(
        dir.join("covshard.toml"),
        "[packing.setup]\n\"[\" = \"1m\"\n",
    )
    .unwrap();
    let out = plan_command(dir).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "an invalid pattern is a configuration error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("packing.setup pattern `[`"), "{stderr}");
}

#[test]
fn test_function_contexts_select_the_same_functions_as_pytest_cov_contexts() {
    // coverage.py's own `dynamic_context = test_function` names `module.Qualname`, one context
    // for all parametrizations: the same change selects the same test functions.
    let tmp = repo_with_change();
    let dir = tmp.path();
    // Outside the checkout: an untracked data file would be a change to the project.
    let elsewhere = tempfile::tempdir().unwrap();
    let function_db = elsewhere.path().join("function.coverage");
    std::fs::copy(fixtures().join("data/function.coverage"), &function_db).unwrap();
    let select = |db: &str| -> Vec<String> {
        let out = run_ok(
            covshard()
                .current_dir(dir)
                .args(["select", "--db", db, "--base", "HEAD", "--format", "lines"]),
        );
        out.lines().map(str::to_string).collect()
    };
    let by_pytest_cov = select(".coverage");
    let by_function = select(function_db.to_str().unwrap());
    let mut functions: Vec<String> = by_pytest_cov
        .iter()
        .map(|id| id.split('[').next().unwrap().to_string())
        .collect();
    functions.dedup();
    assert!(by_pytest_cov.len() > functions.len(), "{by_pytest_cov:?}");
    assert_eq!(by_function, functions);
}

/// `select --format lines` in the repository, with extra arguments.
fn select_lines(dir: &Path, extra: &[&str]) -> Vec<String> {
    let out = run_ok(
        covshard()
            .current_dir(dir)
            .args(["select", "--db", ".coverage", "--format", "lines"])
            .args(extra),
    );
    out.lines().map(str::to_string).collect()
}

#[test]
fn tests_of_a_renamed_test_file_are_not_listed_by_their_old_ids() {
    // pytest refuses a node id whose file is gone (exit code 4, nothing runs): the tests that
    // ran the changed code are in the renamed file, which runs by its new path instead.
    let tmp = repo_with_change();
    let dir = tmp.path();
    git(
        dir,
        &[
            "mv",
            "tests/checkout/test_checkout.py",
            "tests/checkout/test_checkout_moved.py",
        ],
    );
    let ids = select_lines(dir, &[]);
    assert!(
        ids.iter()
            .all(|id| !id.starts_with("tests/checkout/test_checkout.py")),
        "{ids:?}"
    );
    assert!(ids.contains(&"tests/checkout/test_checkout_moved.py".to_string()));
    // Under run-all too (an unmeasured file changed): every known test is listed, but not
    // those of the file that is gone.
    std::fs::write(dir.join("notes.txt"), "unmeasured\n").unwrap();
    let all = select_lines(dir, &[]);
    assert!(all.len() > 40, "{all:?}");
    assert!(
        all.iter()
            .all(|id| !id.starts_with("tests/checkout/test_checkout.py")),
        "{all:?}"
    );
}

#[test]
fn a_selected_test_missing_from_the_collected_list_runs_as_its_whole_file() {
    // The base's `test_total` was renamed in its file: the collected list (the head's tests)
    // no longer names it, so the file runs whole rather than hand pytest an id it refuses.
    let tmp = repo_with_change();
    let dir = tmp.path();
    let before = select_lines(dir, &[]);
    assert!(before.contains(&"tests/checkout/test_checkout.py::test_total".to_string()));
    // The head's whole collection: every known test (an unmeasured change runs them all).
    std::fs::write(dir.join("notes.txt"), "unmeasured\n").unwrap();
    let every = select_lines(dir, &[]);
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    let collected: Vec<String> = every
        .iter()
        .map(|id| match id.as_str() {
            "tests/checkout/test_checkout.py::test_total" => format!("{id}_renamed"),
            _ => id.clone(),
        })
        .collect();
    let elsewhere = tempfile::tempdir().unwrap();
    let list = elsewhere.path().join("collected.txt");
    std::fs::write(&list, collected.join("\n") + "\n").unwrap();
    let after = select_lines(dir, &["--collected", list.to_str().unwrap()]);
    assert_eq!(after, ["tests/checkout/test_checkout.py"]);
}

#[test]
fn a_test_file_that_collects_nothing_any_more_is_selected() {
    // The head's collection names no test of a known file that is still there: it may fail to
    // import now, so it runs (and pytest reports why) even though no changed line reaches it.
    let tmp = repo_with_change();
    let dir = tmp.path();
    std::fs::write(dir.join("notes.txt"), "unmeasured\n").unwrap();
    let every = select_lines(dir, &[]);
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    let collected: Vec<&String> = every
        .iter()
        .filter(|id| !id.starts_with("tests/test_registry.py"))
        .collect();
    let before = select_lines(dir, &[]);
    assert!(
        before
            .iter()
            .all(|id| !id.starts_with("tests/test_registry.py")),
        "{before:?}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let list = elsewhere.path().join("collected.txt");
    let text: Vec<&str> = collected.iter().map(|s| s.as_str()).collect();
    std::fs::write(&list, text.join("\n") + "\n").unwrap();
    let after = select_lines(dir, &["--collected", list.to_str().unwrap()]);
    assert!(
        after.contains(&"tests/test_registry.py".to_string()),
        "{after:?}"
    );
    let json = run_ok(covshard().current_dir(dir).args([
        "select",
        "--db",
        ".coverage",
        "--format",
        "json",
        "--collected",
        list.to_str().unwrap(),
    ]));
    assert!(json.contains("no-longer-collects"), "{json}");
}

#[test]
fn plan_all_leaves_out_tests_whose_file_is_gone() {
    let tmp = repo_with_change();
    let dir = tmp.path();
    git(dir, &["rm", "-q", "tests/test_validation.py"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let list = elsewhere.path().join("collected.txt");
    std::fs::write(
        &list,
        "tests/test_constants.py::test_version\ntests/test_rates.py::test_convert_defaults_to_base_currency\n",
    )
    .unwrap();
    plan(
        dir,
        &[
            "--all",
            "--shards",
            "2",
            "--collected",
            list.to_str().unwrap(),
        ],
    );
    let mut listed = Vec::new();
    for shard in ["1", "2"] {
        let out = run_ok(covshard().current_dir(dir).args([
            "tests",
            "--plan",
            "plan.json",
            "--shard",
            shard,
        ]));
        listed.extend(out.lines().map(str::to_string));
    }
    assert!(
        listed.iter().all(|id| !id.contains("test_validation")),
        "{listed:?}"
    );
    // A file the list does not name at all runs whole (it may have failed to collect); in a
    // file it names, its listed tests run.
    assert!(
        listed.contains(&"tests/test_models.py".to_string()),
        "{listed:?}"
    );
    assert!(listed.contains(&"tests/test_constants.py::test_version".to_string()));
    assert!(!listed.contains(&"tests/test_constants.py".to_string()));
}

#[test]
fn a_test_the_history_remembers_but_its_file_no_longer_defines_runs_as_its_file() {
    // A test deleted long ago keeps its samples in the history. Without a collected list,
    // run-all would hand pytest its id; its file's text no longer names it, so the file runs.
    let tmp = repo_with_change();
    let dir = tmp.path();
    let old_run = dir.join("old-junit.xml");
    std::fs::write(
        &old_run,
        "<?xml version=\"1.0\"?><testsuites><testsuite name=\"pytest\" tests=\"1\"><testcase classname=\"tests.test_models\" name=\"test_long_gone\" time=\"0.5\" /></testsuite></testsuites>",
    )
    .unwrap();
    run_ok(covshard().current_dir(dir).args([
        "ingest",
        "--db",
        ".coverage",
        "--junit",
        old_run.to_str().unwrap(),
        "--commit",
        "HEAD",
    ]));
    std::fs::remove_file(&old_run).unwrap();
    std::fs::write(dir.join("notes.txt"), "unmeasured: run everything\n").unwrap();
    let all = select_lines(dir, &[]);
    assert!(
        !all.iter().any(|id| id.contains("test_long_gone")),
        "{all:?}"
    );
    assert!(all.contains(&"tests/test_models.py".to_string()), "{all:?}");
    assert!(all.contains(&"tests/test_rates.py::test_rate_is_memoised".to_string()));
}
