//! Property-based tests of the parsers of outside input (proptest): unified diffs, JUnit XML,
//! pytest-reportlog lines, pytest-split `.test_durations`, `plan.json`, configuration files,
//! `pytest --collect-only -q` output, numbits blobs, coverage context names and node ids.
//!
//! The property for each: no panic, and either a value or an error that names the input file.
//! Inputs are random bytes and, closer to what parsers meet, real-shaped inputs cut, spliced
//! and salted with the lines that trip parsers (CRLF, binary patches, renames, mode changes,
//! `\ No newline at end of file`, non-UTF-8 names). Each property runs proptest's default 256
//! cases in `cargo test`; `PROPTEST_CASES=20000 cargo test --test integration fuzz` runs longer.

use std::path::Path;

use proptest::prelude::*;

use covshard::coverage::{numbits, parse_context};
use covshard::history::{junit, pytest_split, reportlog};

/// A real-shaped input with random cuts, splices and salt lines.
fn mangled(seed: &'static str, salt: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let lines: Vec<&'static str> = seed.lines().collect();
    let n = lines.len();
    (
        proptest::collection::vec((0..=n, 0..salt.len()), 0..6),
        proptest::collection::vec(any::<u8>(), 0..24),
        0..=seed.len(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(inserts, noise, cut, crlf, truncate)| {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            for (at, which) in inserts {
                out.insert(at.min(out.len()), salt[which].to_string());
            }
            let sep = if crlf { "\r\n" } else { "\n" };
            let mut bytes = out.join(sep).into_bytes();
            if truncate {
                bytes.truncate(cut.min(bytes.len()));
            }
            let at = cut.min(bytes.len());
            bytes.splice(at..at, noise);
            bytes
        })
}

/// A JUnit case whose attribute runs to hundreds of kilobytes, its quote closed or not.
fn huge_attribute() -> impl Strategy<Value = Vec<u8>> {
    (1usize..400_000, any::<bool>()).prop_map(|(n, closed)| {
        let quote = if closed { "\"" } else { "" };
        format!(
            "<testsuite><testcase classname=\"tests.test_a\" name=\"{}{quote} time=\"1\" /></testsuite>",
            "x".repeat(n)
        )
        .into_bytes()
    })
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

/// Either a value, or an error whose message names `path`.
fn names_the_input<T>(result: covshard::Result<T>, path: &Path) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        let text = err.to_string();
        prop_assert!(
            text.contains(&path.display().to_string()),
            "the error does not name {}: {text}",
            path.display()
        );
    }
    Ok(())
}

const DIFF: &str = "diff --git a/src/shop/cart.py b/src/shop/cart.py
index 1111111..2222222 100644
--- a/src/shop/cart.py
+++ b/src/shop/cart.py
@@ -3,4 +3,5 @@ from .models import Item
 LIMIT = 10
-OLD = 1
+NEW = 2
+ADDED = 3
 def total(items):
     return sum(items)
diff --git \"a/src/shop/caf\\303\\251.py\" \"b/src/shop/caf\\303\\251.py\"
new file mode 100644
--- /dev/null
+++ b/src/shop/caf\u{e9}.py
@@ -0,0 +1,2 @@
+x = 1
+y = 2
";

const DIFF_SALT: &[&str] = &[
    "\\ No newline at end of file",
    "Binary files a/img.png and b/img.png differ",
    "GIT binary patch",
    "literal 12",
    "similarity index 90%",
    "rename from src/a.py",
    "rename to src/b.py",
    "old mode 100644",
    "new mode 100755",
    "deleted file mode 100644",
    "@@ -1 +1 @@",
    "@@ -0,0 +0,0 @@",
    "@@ -4294967295,4294967295 +1,1 @@",
    "@@ garbage @@",
    "--- a/x.py",
    "+++ b/x.py",
    "diff --git a/x.py",
    "-",
    "+",
    " ",
];

const JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.5">
<testcase classname="tests.test_a" name="test_one" time="0.01" file="tests/test_a.py" line="3" />
<testcase classname="tests.test_a.TestB" name="test_two[x-1]" time="0.2"><failure message="boom">trace</failure></testcase>
<testcase classname="tests.sub.test_c" name="test_three" time="1e-3"><skipped type="pytest.skip" message="no" /></testcase>
</testsuite></testsuites>
"#;

/// pytest's xunit1 dialect with nested suites (as other tools merge them).
const JUNIT_XUNIT1: &str = r#"<?xml version="1.0"?>
<testsuites><testsuite name="all"><testsuite name="pytest" tests="2">
<testcase classname="tests.test_a" name="test_one" file="tests/test_a.py" line="3" time="0.01"><properties><property name="k" value="v"/></properties><system-out>out</system-out></testcase>
<testcase classname="tests.test_a.TestB" name="test_two" time="0.2"><error message="e" type="E">trace</error></testcase>
</testsuite></testsuite></testsuites>
"#;

const JUNIT_SALT: &[&str] = &[
    "<testsuite name=\"nested\">",
    "</testsuite>",
    "<testcase classname=\"\" name=\"\" time=\"-1\" />",
    "<testcase classname=\"a\" name=\"b\" time=\"NaN\" />",
    "<testcase classname=\"a\" name=\"b\" time=\"1e400\" />",
    "<properties><property name=\"k\" value=\"v\" /></properties>",
    "<![CDATA[ <testcase> ]]>",
    "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]>",
    "&a;&a;&a;",
    "<error message=\"&lt;&gt;\" />",
    "<system-out>\u{0}</system-out>",
];

const REPORTLOG: &str = r#"{"pytest_version": "9.2.0", "$report_type": "SessionStart"}
{"nodeid": "tests/test_a.py::test_one", "location": ["tests/test_a.py", 2, "test_one"], "keywords": {}, "outcome": "passed", "longrepr": null, "when": "setup", "user_properties": [], "sections": [], "duration": 0.001, "start": 1.0, "stop": 1.001, "$report_type": "TestReport"}
{"nodeid": "tests/test_a.py::test_one", "location": ["tests/test_a.py", 2, "test_one"], "keywords": {}, "outcome": "passed", "longrepr": null, "when": "call", "user_properties": [], "sections": [], "duration": 0.5, "start": 1.001, "stop": 1.501, "$report_type": "TestReport"}
{"exitstatus": 0, "$report_type": "SessionFinish"}
"#;

const REPORTLOG_SALT: &[&str] = &[
    "{}",
    "[]",
    "null",
    "{\"$report_type\": \"TestReport\"}",
    "{\"$report_type\": \"TestReport\", \"nodeid\": 3, \"when\": \"call\", \"duration\": \"x\"}",
    "{\"$report_type\": \"TestReport\", \"nodeid\": \"a::b\", \"when\": \"call\", \"duration\": -1, \"outcome\": \"weird\"}",
    "{\"$report_type\": \"CollectReport\", \"nodeid\": \"\", \"outcome\": \"failed\"}",
];

const DURATIONS: &str = r#"{
    "tests/test_a.py::test_one": 0.01,
    "tests/test_a.py::TestB::test_two[x-1]": 2.5
}"#;

const DURATIONS_SALT: &[&str] = &[
    "\"k\": -1,",
    "\"k\": null,",
    "\"k\": \"1\",",
    "\"k\": 1e999,",
    "[1, 2]",
    "}",
    "{",
];

const COLLECTED: &str = "tests/test_a.py::test_one
tests/test_a.py::TestB::test_two[x-1]
<Module test_a.py>

3 tests collected in 0.01s
";

const CONFIG: &str = "[selection]
run_all = [\"setup.cfg\"]
unmeasured = \"all\"

[packing]
shard_overhead = \"30s\"
max_shards = 64
group_by = \"auto\"

[paths]
remap = [{ from = 'D:\\a\\proj\\proj\\', to = \"\" }]
";

const CONFIG_SALT: &[&str] = &[
    "[selection]",
    "unknown_key = 1",
    "max_shards = -1",
    "max_shards = 18446744073709551616",
    "shard_overhead = \"forever\"",
    "run_all = [\"a[\"]",
    "[tool.covshard]",
    "= = =",
];

/// Write `bytes` to a fresh file named `name` and run `parse` on its path.
fn on_file<T>(
    name: &str,
    bytes: &[u8],
    parse: impl FnOnce(&Path) -> covshard::Result<T>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    names_the_input(parse(&path), &path)
}

proptest! {
    #[test]
    fn diffs_parse_or_say_why(bytes in prop_oneof![any_bytes(), mangled(DIFF, DIFF_SALT)]) {
        // Through the file reader (encodings, the error naming the file) and the parser.
        on_file("change.diff", &bytes, covshard::diff::from_file)?;
        if let Ok(changes) = covshard::diff::parse_unified(&String::from_utf8_lossy(&bytes)) {
            for change in changes {
                prop_assert!(change.old_path.is_some() || change.new_path.is_some());
            }
        }
    }

    #[test]
    fn junit_reports_parse_or_say_why(bytes in prop_oneof![
        any_bytes(),
        mangled(JUNIT, JUNIT_SALT),
        mangled(JUNIT_XUNIT1, JUNIT_SALT),
        huge_attribute(),
    ]) {
        let path = Path::new("reports/junit-1.xml");
        names_the_input(junit::parse(path, &bytes), path)?;
    }

    #[test]
    fn reportlogs_parse_or_say_why(bytes in prop_oneof![any_bytes(), mangled(REPORTLOG, REPORTLOG_SALT)]) {
        let path = Path::new("report-1.jsonl");
        names_the_input(reportlog::parse(path, &bytes), path)?;
    }

    #[test]
    fn test_durations_parse_or_say_why(bytes in prop_oneof![any_bytes(), mangled(DURATIONS, DURATIONS_SALT)]) {
        let path = Path::new(".test_durations");
        names_the_input(pytest_split::parse(path, &bytes), path)?;
    }

    #[test]
    fn collected_lists_parse_or_say_why(bytes in prop_oneof![any_bytes(), mangled(COLLECTED, &["", "  ", "::", "<Package x>"])]) {
        on_file("collected.txt", &bytes, covshard::cli::select::read_collected)?;
    }

    #[test]
    fn configuration_files_parse_or_say_why(bytes in prop_oneof![any_bytes(), mangled(CONFIG, CONFIG_SALT)]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("covshard.toml");
        std::fs::write(&path, &bytes).unwrap();
        let loaded = covshard::config::Config::load(dir.path(), None);
        let loaded = loaded.and_then(|(config, _)| config.validate(&path).map(|()| config));
        names_the_input(loaded, &path)?;
    }

    #[test]
    fn plans_read_or_say_why(bytes in prop_oneof![any_bytes(), mangled(PLAN, &["{", "}", "\"version\": 99,", "\"shards\": null,", "\"extra\": 1,"])]) {
        on_file("plan.json", &bytes, covshard::plan::Plan::read)?;
    }

    #[test]
    fn numbits_decode_anything_and_encode_back(blob in any_bytes()) {
        let lines = numbits::decode(&blob);
        prop_assert!(lines.windows(2).all(|w| w[0] < w[1]), "lines are sorted and unique");
        let mut trimmed = blob.clone();
        while trimmed.last() == Some(&0) {
            trimmed.pop();
        }
        prop_assert_eq!(numbits::encode(lines.iter().copied()), trimmed);
        for &line in &lines {
            prop_assert!(numbits::contains(&blob, line));
        }
    }

    #[test]
    fn node_ids_and_contexts_take_apart_anything(id in "\\PC{0,40}(::\\PC{0,20}){0,3}(\\[\\PC{0,10}\\])?(\\|(run|setup|teardown))?") {
        let _ = parse_context(&id);
        let file = covshard::nodeid::file_of(&id);
        prop_assert!(id.starts_with(file));
        prop_assert!(id.starts_with(covshard::nodeid::without_params(&id)));
        if let Some(class) = covshard::nodeid::class_of(&id) {
            prop_assert!(id.contains(class));
        }
    }
}

/// The seeds the properties mangle are themselves valid, so mangling starts from the inputs
/// the parsers meet.
#[test]
fn the_seeds_parse() {
    assert_eq!(covshard::diff::parse_unified(DIFF).unwrap().len(), 2);
    let report = junit::parse(Path::new("j.xml"), JUNIT.as_bytes()).unwrap();
    assert_eq!(report.cases.len(), 3);
    let report = junit::parse(Path::new("j.xml"), JUNIT_XUNIT1.as_bytes()).unwrap();
    assert_eq!(report.cases.len(), 2);
    assert!(
        !reportlog::parse(Path::new("r.jsonl"), REPORTLOG.as_bytes())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        pytest_split::parse(Path::new("d"), DURATIONS.as_bytes())
            .unwrap()
            .len(),
        2
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("plan.json", PLAN),
        ("collected.txt", COLLECTED),
        ("covshard.toml", CONFIG),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    covshard::plan::Plan::read(&dir.path().join("plan.json")).unwrap();
    let collected =
        covshard::cli::select::read_collected(&dir.path().join("collected.txt")).unwrap();
    assert_eq!(collected.len(), 2);
    let (config, _) = covshard::config::Config::load(dir.path(), None).unwrap();
    config.validate(&dir.path().join("covshard.toml")).unwrap();
}

/// A real plan's shape: what `plans_read_or_say_why` mangles.
const PLAN: &str = r#"{
  "version": 2,
  "generator": "covshard 0.1.0",
  "base": null,
  "head": null,
  "selection": {
    "selective": false,
    "run_all": true,
    "run_all_reasons": [{"rule": "whole-suite"}],
    "selected": 1,
    "total": 1,
    "by_rule": {"whole-suite": 1},
    "changed_files": [],
    "reasons": {},
    "warnings": []
  },
  "estimates": {"statistic": "median", "known": 0, "estimated": 1, "total_seconds": 1.0},
  "packing": {
    "algorithm": "lpt/items",
    "group_by": "auto",
    "shard_count": 1,
    "shard_overhead_seconds": 30.0,
    "makespan_seconds": 31.0,
    "lower_bound_seconds": 31.0,
    "efficiency": 1.0,
    "p50_seconds": 31.0,
    "p95_seconds": 31.0,
    "full_suite_seconds": null
  },
  "shards": [
    {"index": 1, "predicted_seconds": 31.0, "tests": [{"id": "tests/test_a.py::test_one", "seconds": 1.0, "estimate": "history"}]}
  ]
}
"#;
