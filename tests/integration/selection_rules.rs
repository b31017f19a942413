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

/// A module's names can be read from code that never imports it, through the module object
/// handed on (`names_of(hooks.hook_a)` reads `hook_a.__globals__`, the module's namespace):
/// a new name there selects the tests that ran that read. Without such a route (the same new
/// name in a module nothing hands on, and no `__globals__`, `sys.modules` or
/// `importlib.import_module` in the project), reads of other objects' namespaces cannot see
/// it, and only the new test runs.
#[test]
fn names_read_through_a_module_object_handed_on() {
    let files: &[(&str, &str)] = &[
        ("src/kit/__init__.py", ""),
        ("src/kit/hooks.py", "def hook_a():\n    return 1\n"),
        (
            "src/kit/runner.py",
            "def names_of(func):\n    return sorted(n for n in func.__globals__ if n.startswith(\"hook_\"))\n\n\ndef snapshot(obj):\n    return dict(vars(obj))\n",
        ),
        (
            "tests/test_hooks.py",
            "from kit import hooks, runner\n\ndef test_names():\n    assert runner.names_of(hooks.hook_a) == [\"hook_a\"]\n",
        ),
        (
            "tests/test_snapshot.py",
            "from kit import runner\n\ndef test_snapshot():\n    class P:\n        x = 1\n    assert runner.snapshot(P()) == {}\n",
        ),
    ];
    let rows: &[(&str, &str, &[u32])] = &[
        ("src/kit/hooks.py", "", &[1]),
        (
            "src/kit/hooks.py",
            "tests/test_hooks.py::test_names|run",
            &[2],
        ),
        ("src/kit/runner.py", "", &[1, 5]),
        (
            "src/kit/runner.py",
            "tests/test_hooks.py::test_names|run",
            &[2],
        ),
        (
            "src/kit/runner.py",
            "tests/test_snapshot.py::test_snapshot|run",
            &[6],
        ),
    ];
    let tmp = repo(files);
    let dir = tmp.path();
    coverage_file_with(dir, rows);
    let hooks = dir.join("src/kit/hooks.py");
    std::fs::write(&hooks, "def hook_a():\n    return 1\n\n\nhook_b = hook_a\n").unwrap();
    let selection = select(dir);
    assert_eq!(selection["run_all"], false, "{selection:#}");
    let tests: Vec<&str> = selection["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tests.contains(&"tests/test_hooks.py::test_names"),
        "{selection:#}"
    );

    // The same project without the `__globals__` read: a new function and its test.
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|&(path, text)| match path {
            "src/kit/runner.py" => (path, "def snapshot(obj):\n    return dict(vars(obj))\n"),
            "tests/test_hooks.py" => (
                path,
                "from kit import hooks\n\ndef test_names():\n    assert hooks.hook_a() == 1\n",
            ),
            _ => (path, text),
        })
        .collect();
    let tmp = repo(&files);
    let dir = tmp.path();
    coverage_file_with(
        dir,
        &[
            ("src/kit/hooks.py", "", &[1]),
            (
                "src/kit/hooks.py",
                "tests/test_hooks.py::test_names|run",
                &[2],
            ),
            ("src/kit/runner.py", "", &[1]),
            (
                "src/kit/runner.py",
                "tests/test_snapshot.py::test_snapshot|run",
                &[2],
            ),
        ],
    );
    std::fs::write(
        dir.join("src/kit/hooks.py"),
        "def hook_a():\n    return 1\n\n\ndef hook_b():\n    return 2\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/test_hook_b.py"),
        "from kit.hooks import hook_b\n\ndef test_b():\n    assert hook_b() == 2\n",
    )
    .unwrap();
    let selection = select(dir);
    assert_eq!(
        selection["tests"],
        serde_json::json!(["tests/test_hook_b.py"]),
        "{selection:#}"
    );
}
