//! pytest's JUnit XML (`pytest --junitxml=FILE`) and how its test cases map back to node ids.
//!
//! pytest writes each test as `<testcase classname="tests.sub.test_mod.TestK" name="test_x[a]"
//! time="0.1">`: the node id's path with `/` turned into `.` and `.py` dropped, then the classes,
//! joined by dots; the last `::` part (with its parameters) is `name`. That mangling loses
//! information (a dot in a folder name, a package vs a class), so mapping works against the ids
//! the coverage contexts know: each known id is mangled the same way and looked up exactly.
//! Only when no known id matches is the `file` attribute used (written by `junit_family=xunit1`
//! only; it names the file that *defines* the test function, which for an inherited test is not
//! the file of the node id, hence second), then a naming heuristic. Unmatched cases are stored
//! under that best-guess id and reported, never dropped: their durations still inform the file
//! and folder priors.
//!
//! Limits: `--junitprefix` classnames and custom `junit_suite_name`s are not undone; a JUnit
//! report from another tool (Maven surefire, jest-junit) is recognised and refused.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::error::Result;
use crate::history::{LineCounter, Outcome, line_of, report_error};

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub file: Option<String>,
    pub time: f64,
    pub outcome: Outcome,
    /// Line of the `<testcase>` tag in the report, for messages.
    pub line: usize,
}

/// A parsed report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub suite_names: Vec<String>,
    pub cases: Vec<Case>,
}

/// Parse a JUnit XML report held in memory; errors name the file and line.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Report> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut report = Report::default();
    let mut current: Option<Case> = None;
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut lines = LineCounter::new(bytes);
    let xml_err = |reader: &quick_xml::Reader<&[u8]>, e: &dyn std::fmt::Display| {
        report_error(
            path,
            Some(line_of(bytes, reader.error_position() as usize)),
            format!("malformed XML: {e}"),
        )
        .with_hint("the report is damaged or truncated (did the test job time out?); regenerate it with `pytest --junitxml=FILE`")
    };
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| xml_err(&reader, &e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let tag = e.local_name();
                let tag: &str = tag.as_ref();
                if !seen_root {
                    seen_root = true;
                    if tag != "testsuites" && tag != "testsuite" {
                        return Err(report_error(
                            path,
                            Some(line_of(bytes, start)),
                            format!(
                                "not a JUnit XML report: the root element is <{}>, not <testsuites> or <testsuite>",
                                tag
                            ),
                        )
                        .with_hint("pass the file written by `pytest --junitxml=FILE`"));
                    }
                }
                let tag_line = lines.line_at(start);
                let line = || tag_line;
                match tag {
                    "testsuite" => {
                        report
                            .suite_names
                            .push(attr(path, e, "name", line)?.unwrap_or_default());
                    }
                    "testcase" => {
                        let time = match attr(path, e, "time", line)? {
                            None => 0.0,
                            Some(t) => match t.trim().parse::<f64>() {
                                Ok(v) if v.is_finite() && v >= 0.0 => v,
                                _ => {
                                    return Err(report_error(
                                        path,
                                        Some(line()),
                                        format!(
                                            "<testcase> has time=\"{t}\", not a number of seconds"
                                        ),
                                    ));
                                }
                            },
                        };
                        let case = Case {
                            classname: attr(path, e, "classname", line)?.unwrap_or_default(),
                            name: attr(path, e, "name", line)?.unwrap_or_default(),
                            file: attr(path, e, "file", line)?.map(|f| f.replace('\\', "/")),
                            time,
                            outcome: Outcome::Passed,
                            line: line(),
                        };
                        if empty {
                            report.cases.push(case);
                        } else {
                            current = Some(case);
                        }
                    }
                    "skipped" | "failure" | "error" => {
                        if let Some(case) = current.as_mut() {
                            let outcome = match tag {
                                "skipped" => Outcome::Skipped,
                                "failure" => Outcome::Failed,
                                _ => Outcome::Error,
                            };
                            // A test that failed and then errored in teardown is an error;
                            // a skip replaces the initial pass but never hides a failure.
                            case.outcome = if outcome == Outcome::Skipped {
                                if case.outcome.is_failure() {
                                    case.outcome
                                } else {
                                    Outcome::Skipped
                                }
                            } else {
                                case.outcome.worst(outcome)
                            };
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                if e.local_name().as_ref() == "testcase"
                    && let Some(case) = current.take()
                {
                    report.cases.push(case);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(
            report_error(path, None, "the file holds no XML element").with_hint(
                "the report is empty or truncated; regenerate it with `pytest --junitxml=FILE`",
            ),
        );
    }
    if depth != 0 {
        return Err(report_error(
            path,
            Some(line_of(bytes, bytes.len())),
            "malformed XML: the file ends before its elements are closed",
        )
        .with_hint("the report is truncated (did the test job time out?); regenerate it"));
    }
    Ok(report)
}

fn attr(
    path: &Path,
    e: &BytesStart<'_>,
    key: &str,
    line: impl Fn() -> usize,
) -> Result<Option<String>> {
    for a in e.attributes() {
        let a = a.map_err(|err| {
            report_error(
                path,
                Some(line()),
                format!("malformed XML attribute: {err}"),
            )
        })?;
        if a.key.local_name().as_ref() == key {
            let value = a.normalized_value(XmlVersion::Implicit1_0).map_err(|err| {
                report_error(
                    path,
                    Some(line()),
                    format!("malformed XML attribute: {err}"),
                )
            })?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// pytest's `mangle_test_address`: node id -> (classname, name). It cuts the id at its first
/// `[` wherever that is, unlike `crate::nodeid`, and is kept that way to give pytest's answer.
pub fn junit_key(node_id: &str) -> (String, String) {
    let (path, params) = match node_id.find('[') {
        Some(i) => node_id.split_at(i),
        None => (node_id, ""),
    };
    let mut names: Vec<String> = path.split("::").map(str::to_string).collect();
    let first = names[0].replace('/', ".");
    names[0] = first.strip_suffix(".py").unwrap_or(&first).to_string();
    let mut name = names.pop().unwrap_or_default();
    name.push_str(params);
    (names.join("."), name)
}

/// Known node ids, indexed by their JUnit (classname, name).
#[derive(Debug, Default)]
pub struct Index {
    /// classname -> name -> ids; nested so a lookup borrows the case's strings, no allocation.
    by_key: HashMap<String, HashMap<String, Vec<String>>>,
}

/// How a case was mapped to a node id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Exactly one known id matches.
    Known(String),
    /// Several known ids match (a dot in a folder name); the one chosen is first.
    Ambiguous(String, Vec<String>),
    /// No known id matches: a guess from the `file` attribute or the naming conventions.
    Guess(String),
}

impl Mapping {
    pub fn node_id(&self) -> &str {
        match self {
            Mapping::Known(id) | Mapping::Ambiguous(id, _) | Mapping::Guess(id) => id,
        }
    }
}

impl Index {
    pub fn new(known: &BTreeSet<String>) -> Self {
        let mut by_key: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
        for id in known {
            let (classname, name) = junit_key(id);
            by_key
                .entry(classname)
                .or_default()
                .entry(name)
                .or_default()
                .push(id.clone());
        }
        Index { by_key }
    }

    fn get(&self, case: &Case) -> Option<&Vec<String>> {
        self.by_key.get(&case.classname)?.get(&case.name)
    }

    pub fn map(&self, case: &Case) -> Mapping {
        if let Some(ids) = self.get(case) {
            if ids.len() == 1 {
                return Mapping::Known(ids[0].clone());
            }
            let chosen = case
                .file
                .as_deref()
                .and_then(|f| ids.iter().find(|id| crate::nodeid::file_of(id) == f));
            return match chosen {
                Some(id) => Mapping::Known(id.clone()),
                None => Mapping::Ambiguous(ids[0].clone(), ids.clone()),
            };
        }
        Mapping::Guess(guess(case))
    }

    /// Whether a case matches a known id (used to recognise pytest reports).
    pub fn knows(&self, case: &Case) -> bool {
        self.get(case).is_some()
    }
}

/// The best node id for a case that matches no known id.
pub fn guess(case: &Case) -> String {
    if let Some(file) = case.file.as_deref()
        && let Some(module) = file.strip_suffix(".py")
    {
        let dotted = module.replace('/', ".");
        if case.classname == dotted {
            return format!("{file}::{}", case.name);
        }
        if let Some(classes) = case.classname.strip_prefix(&format!("{dotted}.")) {
            return format!("{file}::{}::{}", classes.replace('.', "::"), case.name);
        }
    }
    let segments: Vec<&str> = case.classname.split('.').collect();
    // The module is the last segment named like a pytest test module; failing that, the last
    // lower-case segment (classes are CamelCase by convention).
    let module = segments
        .iter()
        .rposition(|s| is_test_module(s))
        .or_else(|| {
            segments
                .iter()
                .rposition(|s| !s.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .unwrap_or(segments.len() - 1);
    let mut id = format!("{}.py", segments[..=module].join("/"));
    for class in &segments[module + 1..] {
        id.push_str("::");
        id.push_str(class);
    }
    id.push_str("::");
    id.push_str(&case.name);
    id
}

/// pytest's default `python_files`: `test_*.py` and `*_test.py`.
fn is_test_module(segment: &str) -> bool {
    segment.starts_with("test_") || segment.ends_with("_test")
}

/// Whether a report looks like pytest's rather than another tool's (Maven surefire, jest):
/// pytest names its suite `pytest` by default, xunit1 reports carry `.py` files, and pytest
/// classnames contain a test module segment or match a known id.
pub fn looks_like_pytest(report: &Report, index: &Index) -> bool {
    report.cases.is_empty()
        || report.suite_names.iter().any(|n| n == "pytest")
        || report.cases.iter().any(|c| {
            c.file.as_deref().is_some_and(|f| f.ends_with(".py"))
                || index.knows(c)
                || c.classname.split('.').any(is_test_module)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYTEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="1.2" timestamp="2026-11-26T20:00:00.000000+00:00" hostname="ci">
<testcase classname="tests.test_mod" name="test_plain" time="0.100" />
<testcase classname="tests.sub.test_mod.TestK" name="test_x[a-b]" time="0.200"><failure message="assert 1 == 2">def test_x():
&gt;       assert 1 == 2</failure></testcase>
<testcase classname="tests.test_mod" name="test_skip" time="0.000"><skipped type="pytest.skip" message="no">tests/test_mod.py:9: no</skipped></testcase>
<testcase classname="tests.test_mod" name="test_err" time="0.010"><error message="failed on setup with &quot;boom&quot;">boom</error></testcase>
<testcase classname="tests.test_mod.TestA.TestB" name="test_nested[1.5-x]" time="0.3"/>
</testsuite></testsuites>"#;

    fn parsed() -> Report {
        parse(Path::new("r.xml"), PYTEST.as_bytes()).unwrap()
    }

    #[test]
    fn parses_outcomes_and_times() {
        let r = parsed();
        assert_eq!(r.suite_names, vec!["pytest"]);
        let got: Vec<(&str, Outcome, f64)> = r
            .cases
            .iter()
            .map(|c| (c.name.as_str(), c.outcome, c.time))
            .collect();
        assert_eq!(
            got,
            vec![
                ("test_plain", Outcome::Passed, 0.1),
                ("test_x[a-b]", Outcome::Failed, 0.2),
                ("test_skip", Outcome::Skipped, 0.0),
                ("test_err", Outcome::Error, 0.01),
                ("test_nested[1.5-x]", Outcome::Passed, 0.3),
            ]
        );
        assert_eq!(r.cases[1].line, 4);
    }

    #[test]
    fn mangling_matches_pytest() {
        let table = [
            (
                "tests/test_mod.py::test_plain",
                "tests.test_mod",
                "test_plain",
            ),
            (
                "tests/sub/test_mod.py::TestK::test_x[a-b]",
                "tests.sub.test_mod.TestK",
                "test_x[a-b]",
            ),
            (
                "tests/test_mod.py::test_p[a::b/c.py]",
                "tests.test_mod",
                "test_p[a::b/c.py]",
            ),
            ("test_top.py::test_a", "test_top", "test_a"),
        ];
        for (id, classname, name) in table {
            assert_eq!(
                junit_key(id),
                (classname.to_string(), name.to_string()),
                "{id}"
            );
        }
    }

    #[test]
    fn maps_against_known_ids_including_dotted_folders() {
        let known: BTreeSet<String> = [
            "tests/test_mod.py::test_plain",
            "tests/sub/test_mod.py::TestK::test_x[a-b]",
            "tests/v1.2/test_a.py::test_a",
            "tests/v1/2/test_a.py::test_a",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let index = Index::new(&known);
        let r = parsed();
        assert_eq!(
            index.map(&r.cases[1]),
            Mapping::Known("tests/sub/test_mod.py::TestK::test_x[a-b]".into())
        );
        let mut case = Case {
            classname: "tests.v1.2.test_a".into(),
            name: "test_a".into(),
            file: None,
            time: 0.0,
            outcome: Outcome::Passed,
            line: 1,
        };
        assert!(matches!(index.map(&case), Mapping::Ambiguous(_, ref c) if c.len() == 2));
        case.file = Some("tests/v1.2/test_a.py".into());
        assert_eq!(
            index.map(&case),
            Mapping::Known("tests/v1.2/test_a.py::test_a".into())
        );
    }

    #[test]
    fn guesses_without_known_ids() {
        let index = Index::new(&BTreeSet::new());
        let r = parsed();
        let ids: Vec<String> = r
            .cases
            .iter()
            .map(|c| index.map(c).node_id().to_string())
            .collect();
        assert_eq!(
            ids,
            vec![
                "tests/test_mod.py::test_plain",
                "tests/sub/test_mod.py::TestK::test_x[a-b]",
                "tests/test_mod.py::test_skip",
                "tests/test_mod.py::test_err",
                "tests/test_mod.py::TestA::TestB::test_nested[1.5-x]",
            ]
        );
        let with_file = Case {
            classname: "pkg.checks.TestK".into(),
            name: "test_y".into(),
            file: Some("pkg/checks.py".into()),
            time: 0.0,
            outcome: Outcome::Passed,
            line: 1,
        };
        assert_eq!(guess(&with_file), "pkg/checks.py::TestK::test_y");
    }

    #[test]
    fn malformed_xml_names_the_line() {
        let text = "<testsuites>\n<testsuite name=\"pytest\">\n<testcase name=\"a\" time=\"0.1\">\n</testsuite>\n";
        let err = parse(Path::new("bad.xml"), text.as_bytes()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.xml: line 4: malformed XML"), "{msg}");
        let truncated =
            "<testsuites>\n<testsuite name=\"pytest\">\n<testcase name=\"a\" time=\"0.1\"/>\n";
        let msg = parse(Path::new("t.xml"), truncated.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("ends before"), "{msg}");
        let msg = parse(Path::new("h.xml"), b"<html><body/></html>")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not a JUnit XML report"), "{msg}");
        let msg = parse(
            Path::new("t.xml"),
            b"<testsuite><testcase classname=\"a\" name=\"b\" time=\"fast\"/></testsuite>",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("time=\"fast\""), "{msg}");
    }

    #[test]
    fn other_tools_reports_are_recognised() {
        let surefire = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.AppTest" time="0.01" tests="1" errors="0" skipped="0" failures="0">
  <properties><property name="java.version" value="21"/></properties>
  <testcase name="testApp" classname="com.example.AppTest" time="0.003"/>
</testsuite>"#;
        let jest = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="1" failures="0" errors="0" time="0.5">
  <testsuite name="sum" errors="0" failures="0" skipped="0" timestamp="2026-11-26T20:00:00" time="0.4" tests="1">
    <testcase classname="sum adds 1 + 2 to equal 3" name="sum adds 1 + 2 to equal 3" time="0.002"></testcase>
  </testsuite>
</testsuites>"#;
        let index = Index::new(&BTreeSet::new());
        for text in [surefire, jest] {
            let r = parse(Path::new("x.xml"), text.as_bytes()).unwrap();
            assert!(!looks_like_pytest(&r, &index));
        }
        assert!(looks_like_pytest(&parsed(), &index));
    }
}
