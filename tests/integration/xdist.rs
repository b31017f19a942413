//! Shards that run pytest-xdist inside, with real pytest, pytest-xdist, pytest-cov and
//! coverage.py on the fixture project: a main-branch run under `-n 2` records per-test
//! contexts and one JUnit file whose every case maps to a test with its own duration; a plan
//! for two shards of two workers records them, `covshard tests --format args` hands pytest the
//! options, and the two shards run every test once.

use std::path::Path;
use std::process::Command;

use crate::util::{copy_tree, covshard, fixtures, git, python, run_ok, venv_bin};

/// Sum of the `time` of every `<testcase>` and their count.
fn junit_cases(path: &Path) -> (usize, f64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut count = 0;
    let mut total = 0.0;
    for case in text.split("<testcase ").skip(1) {
        count += 1;
        let time = case.split("time=\"").nth(1).unwrap();
        total += time[..time.find('"').unwrap()].parse::<f64>().unwrap();
    }
    (count, total)
}

fn pytest(python: &Path, dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(venv_bin(python, "pytest"))
        .current_dir(dir)
        .args(["-q", "-p", "no:cacheprovider", "-p", "no:randomly"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// pytest's `N passed` from its last line.
fn passed(stdout: &str) -> usize {
    let last = stdout.trim().lines().last().unwrap_or_default();
    let words: Vec<&str> = last.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].starts_with("passed"))
        .map_or(0, |w| w[0].parse().unwrap())
}

#[test]
fn plans_for_xdist_workers_run_every_test_once() {
    let Some(python) = python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    copy_tree(&fixtures().join("project"), &dir);
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "base"]);

    // The main branch's full run, itself under xdist.
    let (code, out) = pytest(
        &python,
        &dir,
        &[
            "-n",
            "2",
            "--cov=shop",
            "--cov-context=test",
            "--cov-report=",
            "--junitxml=junit.xml",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let tests = passed(&out);
    assert!(tests > 50, "{out}");
    run_ok(covshard().current_dir(&dir).args([
        "ingest",
        "--db",
        ".coverage",
        "--commit",
        "HEAD",
        "--junit",
        "junit.xml",
    ]));

    // Every case of the one JUnit file maps to a test, with the case's own time.
    let (cases, case_seconds) = junit_cases(&dir.join("junit.xml"));
    assert_eq!(cases, tests);
    let durations: serde_json::Value =
        serde_json::from_str(&run_ok(covshard().current_dir(&dir).args([
            "durations",
            "--format",
            "json",
            "--top",
            "1000",
        ])))
        .unwrap();
    assert_eq!(durations["known"], tests, "{durations}");
    assert_eq!(durations["unknown"], 0, "{durations}");
    let known = durations["known_seconds"].as_f64().unwrap();
    assert!(
        (known - case_seconds).abs() < 1e-3 * tests as f64,
        "{known} vs {case_seconds}"
    );

    // Two shards of two workers, whole files to a worker.
    run_ok(covshard().current_dir(&dir).args([
        "plan",
        "--all",
        "--shards",
        "2",
        "--workers",
        "2",
        "--dist",
        "loadfile",
        "--worker-startup",
        "0.5s",
        "--out",
        "plan.json",
    ]));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["packing"]["workers"], 2);
    assert_eq!(plan["packing"]["dist"], "loadfile");
    assert_eq!(plan["packing"]["worker_startup_seconds"], 0.5);
    assert!(
        plan["packing"]["algorithm"]
            .as_str()
            .unwrap()
            .contains("xdist-loadfilex2"),
        "{}",
        plan["packing"]
    );
    let mut ran = 0;
    for k in ["1", "2"] {
        let args = run_ok(
            covshard()
                .current_dir(&dir)
                .args(["tests", "--shard", k, "--format", "args"]),
        );
        assert_eq!(args, "-n 2 --dist loadfile\n");
        let ids = run_ok(covshard().current_dir(&dir).args(["tests", "--shard", k]));
        std::fs::write(dir.join(format!("ids-{k}.txt")), ids).unwrap();
        let mut argv: Vec<String> = args.split_whitespace().map(String::from).collect();
        argv.push(format!("@ids-{k}.txt"));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (code, out) = pytest(&python, &dir, &argv);
        assert_eq!(code, 0, "{out}");
        ran += passed(&out);
    }
    assert_eq!(ran, tests);

    // One process per shard: no xdist options.
    run_ok(covshard().current_dir(&dir).args([
        "plan",
        "--all",
        "--shards",
        "2",
        "--out",
        "plan1.json",
    ]));
    let args = run_ok(covshard().current_dir(&dir).args([
        "tests",
        "--plan",
        "plan1.json",
        "--shard",
        "1",
        "--format",
        "args",
    ]));
    assert_eq!(args, "");

    // `auto` takes the CI's standard runner (GitLab's has 2 cores), or the configured cores,
    // and plans the count that does best, at most that.
    for (extra, most) in [(&["--matrix", "gitlab"][..], 2), (&[][..], 3)] {
        if most == 3 {
            std::fs::write(
                dir.join("covshard.toml"),
                "[packing]\nworkers = \"auto\"\nrunner_cores = 3\n",
            )
            .unwrap();
        }
        let mut cmd = covshard();
        cmd.current_dir(&dir)
            .args(["plan", "--all", "--shards", "2", "--out", "auto.json"]);
        if most == 2 {
            cmd.args(["--workers", "auto"]);
        }
        run_ok(cmd.args(extra));
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("auto.json")).unwrap()).unwrap();
        let workers = plan["packing"]["workers"].as_u64().unwrap();
        assert!((1..=most).contains(&workers), "{}", plan["packing"]);
    }
}
