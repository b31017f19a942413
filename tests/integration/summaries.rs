//! What covshard prints, checked as users and programs read it: the human summaries (stderr
//! of `ingest`, `select` and `plan`; the tables of `select`, `info`, `durations` and `tune`) as
//! insta snapshots, so that every change of wording or layout shows in review, with the
//! temporary directory and the commit ids redacted; and every JSON output read back into its
//! type in `covshard::output`. The fixture project runs with its real data file and JUnit
//! report.

use std::path::Path;

use covshard::selection::Rule;

use crate::util::{Expect as _, Finished, covshard, fixture_repo};

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

/// The fixture repository with its JUnit report ingested (what `ingest` said, for its
/// snapshot), then a changed function body and a new test.
fn project() -> (tempfile::TempDir, Finished) {
    let tmp = fixture_repo();
    let dir = tmp.path();
    let ingest = run(
        dir,
        &[
            "ingest",
            "--db",
            ".coverage",
            "--commit",
            "HEAD",
            "--junit",
            "junit.xml",
        ],
    );
    edit(dir);
    (tmp, ingest)
}

fn edit(dir: &Path) {
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
}

fn run(dir: &Path, args: &[&str]) -> Finished {
    let mut cmd = covshard();
    cmd.current_dir(dir).env("NO_COLOR", "1").env_remove("CI");
    cmd.args(args).succeeds()
}

#[test]
fn human_summaries() {
    let (tmp, ingest) = project();
    let dir = tmp.path();
    let run = |args: &[&str]| run(dir, args);
    insta::assert_snapshot!("ingest_stderr", redact(&ingest.stderr, dir));

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

/// Every JSON output reads back into its declared type, which denies unknown fields, at the
/// current version; `plan.json` keys its rule counts by the rules' stable names.
#[test]
fn json_outputs_read_back_into_their_types() {
    use covshard::output;
    let (tmp, _) = project();
    let dir = tmp.path();
    let run = |args: &[&str]| run(dir, args).stdout;

    let select: output::Select =
        serde_json::from_str(&run(&["select", "--format", "json"])).unwrap();
    assert_eq!(select.version, output::VERSION);
    assert!(select.tests.contains(&"tests/test_models.py".to_string()));
    let info: output::Info = serde_json::from_str(&run(&["info", "--format", "json"])).unwrap();
    assert_eq!((info.version, info.tests), (output::VERSION, 49));
    let durations: output::Durations =
        serde_json::from_str(&run(&["durations", "--format", "json"])).unwrap();
    assert_eq!((durations.version, durations.runs), (output::VERSION, 1));
    let tune: output::Tune =
        serde_json::from_str(&run(&["tune", "--format", "json", "--counts", "1,2"])).unwrap();
    assert_eq!(tune.rows.len(), 2);
    run(&["plan", "--shards", "2", "--out", "plan.json"]);
    let shard: output::ShardTests = serde_json::from_str(&run(&[
        "tests",
        "--plan",
        "plan.json",
        "--shard",
        "1",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        (shard.version, shard.shard, shard.of),
        (output::VERSION, 1, 2)
    );

    let plan = covshard::plan::Plan::read(&dir.join("plan.json")).unwrap();
    let rules: Vec<Rule> = plan.selection.by_rule.keys().copied().collect();
    assert_eq!(rules, [Rule::CoversChange, Rule::TestFileChanged]);
    let text = std::fs::read_to_string(dir.join("plan.json")).unwrap();
    assert!(text.contains("\"covers-change\": 7"), "{text}");
    assert!(text.contains("\"statistic\": \"median\"") && text.contains("\"group_by\": \"auto\""));
}
