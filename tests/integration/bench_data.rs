//! The benchmark generator writes real coverage.py data: coverage.py's own API reads the SMALL
//! data set, and its `contexts_by_lineno` agrees with covshard's reader on a sample of files.
//!
//! The generator's code is included from `benchmarks/generate/lib.rs` rather than run as the
//! `generate` example, so this test costs no extra build.

#[path = "../../benchmarks/generate/lib.rs"]
pub(crate) mod datagen;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use covshard::coverage::CoverageDb;

use crate::util;

/// `{recorded path: {line: [contexts, sorted]}}`, the shape both sides print.
type ByLine = BTreeMap<String, BTreeMap<u32, Vec<String>>>;

const READ_WITH_COVERAGE: &str = r#"
import json, sys
from coverage import CoverageData

data = CoverageData(basename=sys.argv[1])
data.read()
assert not data.has_arcs(), "the generator writes line data"
files = json.loads(sys.argv[2])
out = {
    "measured_files": len(data.measured_files()),
    "contexts": len(data.measured_contexts()),
    "by_line": {
        f: {str(line): sorted(ctxs) for line, ctxs in data.contexts_by_lineno(f).items()}
        for f in files
    },
    "lines": {f: sorted(data.lines(f) or []) for f in files},
}
print(json.dumps(out))
"#;

#[test]
fn coverage_py_reads_the_small_data_set_as_covshard_does() {
    let Some(python) = util::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = datagen::Spec::preset("small").unwrap();
    let summary = datagen::generate(&spec, dir.path(), false).unwrap();
    assert_eq!(summary.tests, spec.tests);
    let db_path = dir.path().join(".coverage");
    let db = CoverageDb::open(&db_path).unwrap();
    assert_eq!(db.files().len(), spec.files);

    // A package `__init__.py`, the hottest core module, and a spread of ordinary modules.
    let picks: Vec<_> = db
        .files()
        .iter()
        .enumerate()
        .filter(|(i, _)| [0, 1].contains(i) || i % 37 == 5)
        .map(|(_, f)| f.clone())
        .chain(
            db.files()
                .iter()
                .filter(|f| f.path.ends_with("mod_0000.py"))
                .cloned(),
        )
        .collect();
    assert!(picks.len() >= 5, "sample too small: {picks:?}");
    let mut ours: ByLine = BTreeMap::new();
    for file in &picks {
        let rows = db.lines_by_context(file.id).unwrap();
        let ids: BTreeSet<i64> = rows.iter().map(|r| r.context_id).collect();
        let names: BTreeMap<i64, String> = db
            .context_names(&ids)
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let by_line = ours.entry(file.path.clone()).or_default();
        for row in rows {
            for line in row.lines {
                by_line
                    .entry(line)
                    .or_default()
                    .push(names[&row.context_id].clone());
            }
        }
        for contexts in by_line.values_mut() {
            contexts.sort();
        }
    }

    let paths: Vec<&str> = picks.iter().map(|f| f.path.as_str()).collect();
    let out = util::run_ok(
        Command::new(&python)
            .arg("-c")
            .arg(READ_WITH_COVERAGE)
            .arg(&db_path)
            .arg(serde_json::to_string(&paths).unwrap()),
    );
    let theirs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(theirs["measured_files"], spec.files);
    assert_eq!(
        theirs["contexts"].as_u64().unwrap(),
        db.context_count().unwrap()
    );
    let theirs_by_line: ByLine = serde_json::from_value::<
        BTreeMap<String, BTreeMap<String, Vec<String>>>,
    >(theirs["by_line"].clone())
    .unwrap()
    .into_iter()
    .map(|(f, m)| {
        (
            f,
            m.into_iter()
                .map(|(l, c)| (l.parse().unwrap(), c))
                .collect(),
        )
    })
    .collect();
    assert_eq!(theirs_by_line, ours);
    for (path, by_line) in &ours {
        let lines: Vec<u32> = by_line.keys().copied().collect();
        assert_eq!(theirs["lines"][path], serde_json::json!(lines), "{path}");
        // The empty context holds the import-time lines of every eagerly imported module.
        assert!(
            by_line.values().any(|c| c.iter().any(|c| c.is_empty()))
                || by_line
                    .values()
                    .any(|c| c.iter().any(|c| c.ends_with("|setup"))),
            "{path}: no import-time lines"
        );
    }
}
