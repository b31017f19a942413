//! pytest-reportlog's JSON lines (`pytest --report-log=FILE`).
//!
//! Each line is one JSON object; covshard reads the `"$report_type": "TestReport"` lines (one per
//! phase: `when` = setup, call, teardown, each with `outcome` and `duration`) and ignores the
//! others (SessionStart, CollectReport, WarningMessage, SessionFinish). The phases give the setup
//! split that group setup costs need. A failed setup or teardown is an `error`, as pytest counts
//! it; a failed call is `failed`; a skip in any phase is `skipped`.
//!
//! Limits: with pytest-rerunfailures a test reports several times; the phases are summed, so a
//! rerun test's sample includes its reruns (which is what it cost).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::history::{Outcome, Phases, Sample, report_error};

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "$report_type")]
    report_type: Option<String>,
    nodeid: Option<String>,
    when: Option<String>,
    outcome: Option<String>,
    duration: Option<f64>,
}

/// Parse a report log held in memory; samples come in the order their tests started.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Sample>> {
    let mut out: Vec<Sample> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line: Line = serde_json::from_slice(raw).map_err(|e| {
            report_error(path, Some(line_no), format!("malformed JSON: {e}"))
                .with_hint("pass the file written by `pytest --report-log=FILE` (pytest-reportlog); a truncated last line means the run was cut short")
        })?;
        if line.report_type.as_deref() != Some("TestReport") {
            continue;
        }
        let (Some(node_id), Some(when), Some(outcome)) = (line.nodeid, line.when, line.outcome)
        else {
            return Err(report_error(
                path,
                Some(line_no),
                "a TestReport without `nodeid`, `when` or `outcome`",
            ));
        };
        let duration = line.duration.unwrap_or(0.0).max(0.0);
        let phase_outcome = match (when.as_str(), outcome.as_str()) {
            (_, "skipped") => Outcome::Skipped,
            ("call", "failed") => Outcome::Failed,
            (_, "failed") => Outcome::Error,
            (_, "passed") => Outcome::Passed,
            _ => {
                return Err(report_error(
                    path,
                    Some(line_no),
                    format!("unknown phase `{when}` or outcome `{outcome}`"),
                ));
            }
        };
        let idx = *position.entry(node_id.clone()).or_insert_with(|| {
            out.push(Sample {
                node_id,
                duration: 0.0,
                outcome: Outcome::Passed,
                phases: Some(Phases::default()),
                mapped: true,
            });
            out.len() - 1
        });
        let sample = &mut out[idx];
        sample.duration += duration;
        if let Some(p) = sample.phases.as_mut() {
            match when.as_str() {
                "setup" => p.setup += duration,
                "call" => p.call += duration,
                _ => p.teardown += duration,
            }
        }
        sample.outcome = if phase_outcome == Outcome::Skipped {
            // A skip replaces a passed setup, but never hides a failure.
            if sample.outcome.is_failure() {
                sample.outcome
            } else {
                Outcome::Skipped
            }
        } else if sample.outcome == Outcome::Skipped && phase_outcome == Outcome::Passed {
            Outcome::Skipped
        } else {
            sample.outcome.worst(phase_outcome)
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(nodeid: &str, when: &str, outcome: &str, duration: f64) -> String {
        format!(
            r#"{{"nodeid": "{nodeid}", "location": ["tests/test_a.py", 3, "test_one"], "keywords": {{}}, "outcome": "{outcome}", "longrepr": null, "when": "{when}", "user_properties": [], "sections": [], "duration": {duration}, "start": 1.0, "stop": 2.0, "$report_type": "TestReport"}}"#
        )
    }

    #[test]
    fn sums_phases_and_classifies_outcomes() {
        let lines = [
            r#"{"pytest_version": "9.2.0", "$report_type": "SessionStart"}"#.to_string(),
            r#"{"nodeid": "", "outcome": "passed", "longrepr": null, "result": null, "sections": [], "$report_type": "CollectReport"}"#.to_string(),
            report("t.py::a", "setup", "passed", 0.5),
            report("t.py::a", "call", "passed", 1.0),
            report("t.py::a", "teardown", "passed", 0.25),
            report("t.py::b", "setup", "passed", 0.0),
            report("t.py::b", "call", "failed", 2.0),
            report("t.py::b", "teardown", "passed", 0.0),
            report("t.py::c", "setup", "skipped", 0.0),
            report("t.py::c", "teardown", "passed", 0.0),
            report("t.py::d", "setup", "failed", 0.1),
            report("t.py::d", "teardown", "passed", 0.0),
            report("t.py::e", "setup", "passed", 0.0),
            report("t.py::e", "call", "passed", 0.0),
            report("t.py::e", "teardown", "failed", 0.0),
            r#"{"exitstatus": 1, "$report_type": "SessionFinish"}"#.to_string(),
        ];
        let samples = parse(Path::new("log.jsonl"), lines.join("\n").as_bytes()).unwrap();
        let got: Vec<(&str, Outcome)> = samples
            .iter()
            .map(|s| (s.node_id.as_str(), s.outcome))
            .collect();
        assert_eq!(
            got,
            vec![
                ("t.py::a", Outcome::Passed),
                ("t.py::b", Outcome::Failed),
                ("t.py::c", Outcome::Skipped),
                ("t.py::d", Outcome::Error),
                ("t.py::e", Outcome::Error),
            ]
        );
        assert_eq!(samples[0].duration, 1.75);
        assert_eq!(
            samples[0].phases,
            Some(Phases {
                setup: 0.5,
                call: 1.0,
                teardown: 0.25
            })
        );
    }

    #[test]
    fn a_truncated_line_names_its_number() {
        let text = format!(
            "{}\n{{\"nodeid\": \"t.py::a\", \"wh",
            report("t.py::a", "setup", "passed", 0.1)
        );
        let msg = parse(Path::new("log.jsonl"), text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("log.jsonl: line 2: malformed JSON"),
            "{msg}"
        );
    }
}
