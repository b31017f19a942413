//! What covshard says to people, as snapshots (insta), so that every change of wording or
//! layout shows in review: the summaries on stderr of `ingest`, `select` and `plan`, and the
//! human tables of `select`, `info`, `durations` and `tune` on stdout. The fixture project runs
//! with its real data file and JUnit report; the temporary directory and the commit ids are
//! redacted.

use std::path::Path;

use crate::util::{Expect as _, copy_tree, covshard, fixtures, git};

/// The temporary repository's path and every commit id, replaced by placeholders.
fn redact(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "[repo]");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 40 {
            out.push_str("[commit]");
            rest = &rest[hex..];
        } else {
            let keep = hex.max(1);
            let keep = (keep..=rest.len())
                .find(|&i| rest.is_char_boundary(i))
                .unwrap_or(rest.len());
            out.push_str(&rest[..keep]);
            rest = &rest[keep..];
        }
    }
    out
}

#[test]
fn human_summaries() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_tree(&fixtures().join("project"), dir);
    std::fs::write(
        dir.join(".gitignore"),
        ".coverage\njunit.xml\nplan.json\n__pycache__/\n",
    )
    .unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    std::fs::copy(
        fixtures().join("data/lines.coverage"),
        dir.join(".coverage"),
    )
    .unwrap();
    std::fs::copy(fixtures().join("data/junit.xml"), dir.join("junit.xml")).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = covshard();
        cmd.current_dir(dir).env("NO_COLOR", "1").env_remove("CI");
        cmd.args(args).succeeds()
    };

    let ingest = run(&[
        "ingest",
        "--db",
        ".coverage",
        "--commit",
        "HEAD",
        "--junit",
        "junit.xml",
    ]);
    insta::assert_snapshot!("ingest_stderr", redact(&ingest.stderr, dir));

    // A changed function body and a new test.
    let pricing = dir.join("src/shop/pricing.py");
    let text = std::fs::read_to_string(&pricing).unwrap();
    std::fs::write(
        &pricing,
        text.replace("item.total * 0.1", "item.total * 0.2"),
    )
    .unwrap();
    let models = dir.join("tests/test_models.py");
    let text = std::fs::read_to_string(&models).unwrap();
    std::fs::write(
        &models,
        format!("{text}\n\ndef test_added():\n    assert True\n"),
    )
    .unwrap();

    let select = run(&["select", "--db", ".coverage"]);
    insta::assert_snapshot!("select_stdout", redact(&select.stdout, dir));
    insta::assert_snapshot!("select_stderr", redact(&select.stderr, dir));
    let plan = run(&[
        "plan",
        "--db",
        ".coverage",
        "--shards",
        "2",
        "--out",
        "plan.json",
    ]);
    insta::assert_snapshot!("plan_stderr", redact(&plan.stderr, dir));
    let info = run(&["info", "--db", ".coverage"]);
    insta::assert_snapshot!("info_stdout", redact(&info.stdout, dir));
    let durations = run(&["durations", "--db", ".coverage", "--top", "5"]);
    insta::assert_snapshot!("durations_stdout", redact(&durations.stdout, dir));
    let tune = run(&["tune", "--db", ".coverage", "--counts", "1,2,4"]);
    insta::assert_snapshot!("tune_stdout", redact(&tune.stdout, dir));
}
