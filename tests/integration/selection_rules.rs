//! Selection rules that the fixture project cannot show, on tiny repositories with hand-made
//! coverage data: each test makes a change that breaks a test covshard could only find through
//! that rule, and asserts the test is selected.

use std::path::Path;

use crate::testutil::coverage_file_with;

use crate::util::{covshard, git, run_ok};

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = tmp.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::write(tmp.path().join(".gitignore"), ".coverage\n").unwrap();
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "base"]);
    tmp
}

fn select(dir: &Path) -> serde_json::Value {
    let out = run_ok(covshard().current_dir(dir).args([
        "select",
        "--db",
        ".coverage",
        "--base",
        "HEAD",
        "--format",
        "json",
    ]));
    serde_json::from_str(&out).unwrap()
}

/// With `--cov=.` the tests are measured too; a test module that patches shop state at import
/// still reaches every test, because pytest imports all test modules before running any.
#[test]
fn a_measured_test_module_patching_state_at_import_runs_everything() {
    let tmp = repo(&[
        ("src/shop/__init__.py", ""),
        (
            "src/shop/rates.py",
            "LIMIT = 10\n\ndef over(x):\n    return x > LIMIT\n",
        ),
        (
            "tests/test_a.py",
            "from shop import rates\n\ndef test_a():\n    assert rates.over(11)\n",
        ),
        (
            "tests/test_b.py",
            "from shop.rates import over\n\ndef test_b():\n    assert over(11)\n",
        ),
    ]);
    let dir = tmp.path();
    coverage_file_with(
        dir,
        &[
            ("src/shop/rates.py", "", &[1, 3]),
            ("src/shop/rates.py", "tests/test_a.py::test_a|run", &[4]),
            ("src/shop/rates.py", "tests/test_b.py::test_b|run", &[4]),
            ("tests/test_b.py", "", &[1, 3]),
            ("tests/test_b.py", "tests/test_b.py::test_b|run", &[4]),
        ],
    );
    let test_b = dir.join("tests/test_b.py");
    let text = std::fs::read_to_string(&test_b).unwrap();
    std::fs::write(
        &test_b,
        format!("{text}\nimport shop.rates\nshop.rates.LIMIT = 100\n"),
    )
    .unwrap();
    let selection = select(dir);
    assert_eq!(selection["run_all"], true, "{selection:#}");
    assert_eq!(
        selection["run_all_reasons"][0]["rule"],
        "collection-side-effect"
    );
}

/// A module imported inside a test credits its import-time run to that test, including the
/// function it calls while importing; a later test that relies on that run covers nothing.
#[test]
fn a_function_run_at_a_lazy_import_reaches_every_dependent() {
    let registry =
        "REG = []\n\ndef register(x):\n    REG.append(x)\n    return x\n\nregister('a')\n";
    let tmp = repo(&[
        ("src/shop/__init__.py", ""),
        ("src/shop/registry.py", registry),
        (
            "tests/test_x.py",
            "def test_x():\n    from shop import registry\n    assert registry.REG == ['a']\n",
        ),
        (
            "tests/test_y.py",
            "def test_y():\n    from shop import registry\n    assert registry.REG[0] == 'a'\n",
        ),
    ]);
    let dir = tmp.path();
    // test_x imported the module first: all of it ran under its context; test_y ran no line.
    coverage_file_with(
        dir,
        &[(
            "src/shop/registry.py",
            "tests/test_x.py::test_x|run",
            &[1, 3, 4, 5, 7],
        )],
    );
    std::fs::write(
        dir.join("src/shop/registry.py"),
        registry.replace("REG.append(x)", "REG.append(x.upper())"),
    )
    .unwrap();
    let selection = select(dir);
    let tests: Vec<&str> = selection["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tests.contains(&"tests/test_y.py"), "{selection:#}");
    assert!(
        tests.contains(&"tests/test_x.py") || tests.contains(&"tests/test_x.py::test_x"),
        "{selection:#}"
    );
}
