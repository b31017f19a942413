//! covshard's reader of coverage.py data files, checked against coverage.py itself.
//!
//! The reference is what coverage.py's own API says (`tests/fixtures/coverage_dump.py`:
//! `contexts_by_lineno`, `lines`, `has_arcs`, `measured_contexts`), dumped to JSON next to each
//! data file by `tests/fixtures/generate.sh`. For every measured file and every line, the set of
//! context names covering it must be the same whichever reader is asked.
//!
//! - The committed data files are checked on every `cargo test`.
//! - With `COVSHARD_PYTHON` set (CI sets it to the venv's python), the data files are produced
//!   afresh by the pinned pytest + coverage.py and checked too, so a new Python or a change to the
//!   fixture project cannot slip past. In CI (`CI=true`) its absence is a failure, not a skip.
//! - The numbits functions are checked against vectors from `coverage.numbits`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use covshard::coverage::{CoverageDb, Mode, numbits};
use serde_json::Value;

/// The data files generate.sh writes, each with its `NAME.dump.json` reference.
const DATA_FILES: [&str; 5] = ["lines", "branches", "function", "relative", "nocontext"];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn committed_data_dir() -> PathBuf {
    fixtures_dir().join("data")
}

/// What one data file says, in the shape of coverage_dump.py's output.
#[derive(Debug, PartialEq)]
struct Dump {
    has_arcs: bool,
    measured_contexts: BTreeSet<String>,
    files: BTreeMap<String, FileDump>,
}

#[derive(Debug, PartialEq)]
struct FileDump {
    lines: BTreeSet<u32>,
    contexts_by_line: BTreeMap<u32, BTreeSet<String>>,
}

/// Read a data file with covshard, through its public API only.
fn read_with_covshard(path: &Path) -> Dump {
    let db =
        CoverageDb::open(path).unwrap_or_else(|e| panic!("covshard cannot open {path:?}: {e}"));
    let contexts = db.contexts().expect("contexts");
    let names: BTreeMap<i64, String> = contexts.iter().map(|c| (c.id, c.name.clone())).collect();
    let mut files = BTreeMap::new();
    for file in db.files() {
        let mut dump = FileDump {
            lines: BTreeSet::new(),
            contexts_by_line: BTreeMap::new(),
        };
        for entry in db.lines_by_context(file.id).expect("lines_by_context") {
            let name = names.get(&entry.context_id).unwrap_or_else(|| {
                panic!(
                    "{path:?}: file {} has lines for context id {} that the context table lacks",
                    file.path, entry.context_id
                )
            });
            for &line in &entry.lines {
                dump.lines.insert(line);
                dump.contexts_by_line
                    .entry(line)
                    .or_default()
                    .insert(name.clone());
            }
        }
        let previous = files.insert(file.path.clone(), dump);
        assert!(
            previous.is_none(),
            "{path:?}: file {} listed twice",
            file.path
        );
    }
    Dump {
        has_arcs: db.mode() == Mode::Branches,
        measured_contexts: names.into_values().collect(),
        files,
    }
}

/// Read the JSON that coverage_dump.py wrote.
fn read_reference(path: &Path) -> Dump {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path:?}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("array of strings")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    };
    let line = |v: &Value| -> u32 { u32::try_from(v.as_u64().expect("line number")).unwrap() };
    let mut files = BTreeMap::new();
    for (name, file) in json["files"].as_object().expect("files object") {
        let lines = file["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(line)
            .collect();
        let contexts_by_line = file["contexts_by_lineno"]
            .as_array()
            .expect("contexts_by_lineno")
            .iter()
            .map(|pair| (line(&pair[0]), strings(&pair[1])))
            .collect();
        files.insert(
            name.clone(),
            FileDump {
                lines,
                contexts_by_line,
            },
        );
    }
    Dump {
        has_arcs: json["has_arcs"].as_bool().expect("has_arcs"),
        measured_contexts: strings(&json["measured_contexts"]),
        files,
    }
}

/// Compare field by field, file by file, line by line, so a failure names exactly what differs.
fn assert_same(label: &str, ours: &Dump, reference: &Dump) {
    assert_eq!(ours.has_arcs, reference.has_arcs, "{label}: has_arcs");
    assert_eq!(
        ours.measured_contexts, reference.measured_contexts,
        "{label}: measured contexts (covshard left, coverage.py right)"
    );
    let our_files: BTreeSet<&String> = ours.files.keys().collect();
    let their_files: BTreeSet<&String> = reference.files.keys().collect();
    assert_eq!(our_files, their_files, "{label}: measured files");
    for (path, theirs) in &reference.files {
        let mine = &ours.files[path];
        assert_eq!(mine.lines, theirs.lines, "{label}: lines() of {path}");
        let all_lines: BTreeSet<u32> = mine
            .contexts_by_line
            .keys()
            .chain(theirs.contexts_by_line.keys())
            .copied()
            .collect();
        for line in all_lines {
            assert_eq!(
                mine.contexts_by_line.get(&line),
                theirs.contexts_by_line.get(&line),
                "{label}: contexts covering {path}:{line} (covshard left, coverage.py right)"
            );
        }
    }
}

fn check_dir(dir: &Path) -> BTreeMap<&'static str, Dump> {
    let mut dumps = BTreeMap::new();
    for name in DATA_FILES {
        let data = dir.join(format!("{name}.coverage"));
        let reference = read_reference(&dir.join(format!("{name}.dump.json")));
        let ours = read_with_covshard(&data);
        assert_same(&data.display().to_string(), &ours, &reference);
        dumps.insert(name, ours);
    }
    dumps
}

#[test]
fn committed_data_files_match_coverage_py() {
    let dumps = check_dir(&committed_data_dir());

    // Guard against a vacuous comparison: the fixtures must hold what they are meant to exercise.
    let lines = &dumps["lines"];
    assert!(!lines.has_arcs && dumps["branches"].has_arcs);
    assert!(lines.files.len() >= 8, "files: {:?}", lines.files.keys());
    let line_total: usize = lines.files.values().map(|f| f.lines.len()).sum();
    assert!(line_total > 100, "only {line_total} measured lines");
    for needle in [
        "",
        "tests/test_validation.py::test_invalid_sku[pipe|inside]|run",
        "tests/test_validation.py::test_invalid_sku[colons::inside]|run",
        "tests/test_validation.py::test_invalid_sku[[brackets]]|run",
        "tests/test_validation.py::test_invalid_sku[café]|run",
        "tests/test_validation.py::test_invalid_sku[ends with |run]|run",
        "tests/test_models.py::TestProduct::test_repr|run",
        "tests/checkout/test_checkout.py::test_total|teardown",
        "tests/checkout/test_checkout.py::test_total|setup",
    ] {
        assert!(
            lines.measured_contexts.contains(needle),
            "lines.coverage lacks context {needle:?}"
        );
    }
    // Tests that only read module-level values execute no measured line: no context at all.
    assert!(
        !lines
            .measured_contexts
            .iter()
            .any(|c| c.contains("test_sku_pattern_accepts_two_letters_four_digits")),
        "the regex-only test should have no context"
    );
    // The memoisation hazard of DESIGN.md rule 3, for real: the session-scoped catalog's
    // `cached_property` was first computed by a checkout test, so these tests, which rely on
    // `Product.price_with_tax`, execute no measured line and leave no context.
    for test in [
        "tests/test_models.py::TestProduct::test_price_with_tax_is_cached",
        "tests/test_models.py::TestProduct::test_digital_products_are_not_taxed",
    ] {
        assert!(
            !lines.measured_contexts.iter().any(|c| c.starts_with(test)),
            "{test} now has a context: the fixture no longer shows the memoisation hazard"
        );
    }
    // Same tests, same contexts, whether lines or arcs were measured.
    assert_eq!(lines.measured_contexts, dumps["branches"].measured_contexts);
    assert!(
        dumps["function"]
            .measured_contexts
            .contains("tests.test_models.TestProduct.test_repr")
    );
    assert_eq!(
        dumps["nocontext"].measured_contexts,
        BTreeSet::from([String::new()])
    );
    assert!(
        dumps["relative"].files.contains_key("src/shop/cart.py"),
        "relative_files paths: {:?}",
        dumps["relative"].files.keys()
    );
    assert!(
        lines
            .files
            .contains_key("/tmp/covshard-fixture/project/src/shop/cart.py")
    );
}

#[test]
fn regenerated_data_files_match_coverage_py() {
    let Some(python) = std::env::var_os("COVSHARD_PYTHON") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but COVSHARD_PYTHON is unset: set it to a python with tests/requirements.txt \
                 installed, so the fixtures are regenerated and checked against coverage.py"
            );
        }
        eprintln!(
            "regenerated_data_files_match_coverage_py: COVSHARD_PYTHON unset, only the committed files were checked"
        );
        return;
    };
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new("bash")
        .arg(fixtures_dir().join("generate.sh"))
        .arg(out.path())
        .env("COVSHARD_PYTHON", &python)
        .status()
        .expect("run generate.sh");
    assert!(status.success(), "generate.sh failed: {status}");

    let fresh = check_dir(out.path());

    // The committed files must come from the current fixture project: the same tests produce the
    // same contexts and measure the same files (line numbers and timings may differ by Python).
    let committed = check_dir(&committed_data_dir());
    for name in DATA_FILES {
        assert_eq!(
            fresh[name].measured_contexts, committed[name].measured_contexts,
            "{name}.coverage: contexts differ from the committed file; run tests/fixtures/generate.sh and commit"
        );
        let fresh_files: Vec<&String> = fresh[name].files.keys().collect();
        let committed_files: Vec<&String> = committed[name].files.keys().collect();
        assert_eq!(
            fresh_files, committed_files,
            "{name}.coverage: measured files differ from the committed file"
        );
    }
    let vectors = |dir: &Path| std::fs::read_to_string(dir.join("numbits_vectors.json")).unwrap();
    assert_eq!(
        vectors(out.path()),
        vectors(&committed_data_dir()),
        "numbits_vectors.json is seeded and must not change; regenerate and commit"
    );
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn trim_zeros(mut blob: Vec<u8>) -> Vec<u8> {
    while blob.last() == Some(&0) {
        blob.pop();
    }
    blob
}

#[test]
fn numbits_match_coverage_py() {
    let path = committed_data_dir().join("numbits_vectors.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = json["cases"].as_array().expect("cases");
    assert!(cases.len() >= 100);
    let nums = |v: &Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| u32::try_from(n.as_u64().unwrap()).unwrap())
            .collect()
    };
    let (mut padded, mut intersecting) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let a = hex(case["a"].as_str().unwrap());
        let b = hex(case["b"].as_str().unwrap());
        let a_nums = nums(&case["a_nums"]);
        let b_nums = nums(&case["b_nums"]);
        padded += usize::from(a.last() == Some(&0) || b.last() == Some(&0));

        // numbits_to_nums and nums_to_numbits.
        assert_eq!(
            numbits::decode(&a),
            nums(&case["a_decoded"]),
            "case {i}: decode(a)"
        );
        assert_eq!(numbits::decode(&b), b_nums, "case {i}: decode(b)");
        assert_eq!(
            numbits::encode(a_nums.iter().copied()),
            hex(case["a_encoded"].as_str().unwrap()),
            "case {i}: encode(a_nums)"
        );

        // numbits_union: coverage.py keeps the longer input's trailing zero bytes, covshard
        // trims them; the sets are equal, and so are the bytes once trimmed.
        let union = hex(case["union"].as_str().unwrap());
        let ours = numbits::union(&a, &b);
        assert_eq!(
            numbits::decode(&ours),
            numbits::decode(&union),
            "case {i}: union set"
        );
        assert_eq!(ours, trim_zeros(union), "case {i}: union bytes (trimmed)");

        // numbits_intersection trims trailing zeros in coverage.py too: bytes must match exactly.
        let intersection = hex(case["intersection"].as_str().unwrap());
        assert_eq!(
            numbits::intersection(&a, &b),
            intersection,
            "case {i}: intersection"
        );

        let any = case["any_intersection"].as_bool().unwrap();
        intersecting += usize::from(any);
        assert_eq!(
            numbits::any_intersection(&a, &b),
            any,
            "case {i}: any_intersection"
        );

        for &line in &a_nums {
            assert!(numbits::contains(&a, line), "case {i}: contains(a, {line})");
        }
        for line in b_nums.iter().map(|n| n + 1).filter(|n| !b_nums.contains(n)) {
            assert!(
                !numbits::contains(&b, line),
                "case {i}: !contains(b, {line})"
            );
        }
    }
    // The vectors exercise what they claim to: padded blobs, and both answers of any_intersection.
    assert!(padded > 10, "only {padded} cases with trailing zero bytes");
    assert!(intersecting > 10 && intersecting < cases.len() - 10);
}
