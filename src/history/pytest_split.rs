//! pytest-split's `.test_durations`: one JSON object `{"node id": seconds, ...}`.
//!
//! The file holds pytest-split's own running record (it merges old and new durations when
//! `--store-durations` runs), so it has no outcomes and may hold tests that no longer run:
//! samples are stored with the outcome `unknown`. pytest-split sums setup, call and teardown.

use std::path::Path;

use crate::error::Result;
use crate::history::{Outcome, Sample, report_error};

/// Parse a `.test_durations` file held in memory; errors name the file and line.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Sample>> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        report_error(path, Some(e.line()), format!("malformed JSON: {e}")).with_hint(
            "pass the `.test_durations` file written by `pytest --store-durations` (pytest-split)",
        )
    })?;
    // Key order is not kept by serde_json's map; sorted keys keep the stored order stable.
    let serde_json::Value::Object(map) = value else {
        return Err(report_error(
            path,
            Some(1),
            "expected a JSON object mapping node ids to seconds",
        )
        .with_hint(
            "pass the `.test_durations` file written by `pytest --store-durations` (pytest-split)",
        ));
    };
    let mut out = Vec::with_capacity(map.len());
    for (node_id, seconds) in map {
        let Some(duration) = seconds.as_f64().filter(|d| d.is_finite() && *d >= 0.0) else {
            return Err(report_error(
                path,
                None,
                format!("the duration of `{node_id}` is {seconds}, not a number of seconds"),
            ));
        };
        out.push(Sample {
            node_id,
            duration,
            outcome: Outcome::Unknown,
            phases: None,
            mapped: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_durations() {
        let text = br#"{
    "tests/test_a.py::test_one": 0.5,
    "tests/test_a.py::TestK::test_two[x-y]": 2
}"#;
        let samples = parse(Path::new(".test_durations"), text).unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].node_id, "tests/test_a.py::TestK::test_two[x-y]");
        assert_eq!(samples[0].duration, 2.0);
        assert_eq!(samples[1].outcome, Outcome::Unknown);
    }

    #[test]
    fn errors_name_the_line() {
        let text = b"{\n  \"a\": 1,\n  \"b\": oops\n}";
        let msg = parse(Path::new("d.json"), text).unwrap_err().to_string();
        assert!(msg.starts_with("d.json: line 3: malformed JSON"), "{msg}");
        let msg = parse(Path::new("d.json"), b"[1, 2]")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("expected a JSON object"), "{msg}");
        let msg = parse(Path::new("d.json"), br#"{"a": "slow"}"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`a`"), "{msg}");
    }
}
