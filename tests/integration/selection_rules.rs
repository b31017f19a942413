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

/// `pyproject.toml` is compared by section: a linter's section selects only the tests that
/// mention the linter (one that runs it, and the items of a plugin that runs it as tests), a
/// release's version bump only those that read metadata; pytest's own section runs everything
/// and says which section did; and code outside the tests that reads the file runs everything.
#[test]
fn pyproject_changes_are_compared_by_section() {
    let pyproject = "[project]\nname = \"shop\"\nversion = \"1.0\"\n\n[tool.ruff]\nline-length = 100\n\n[tool.pytest.ini_options]\naddopts = \"-ra\"\n";
    let tmp = repo(&[
        ("pyproject.toml", pyproject),
        ("src/shop/__init__.py", ""),
        ("src/shop/rates.py", "def over(x):\n    return x > 10\n"),
        (
            "tests/test_rates.py",
            "from shop.rates import over\n\ndef test_over():\n    assert over(11)\n",
        ),
        (
            "tests/test_lint.py",
            "import subprocess\n\ndef test_ruff_is_clean():\n    subprocess.run([\"ruff\", \"check\"], check=True)\n",
        ),
        (
            "tests/test_meta.py",
            "from importlib.metadata import version\n\ndef test_version():\n    assert version(\"shop\")\n",
        ),
    ]);
    let dir = tmp.path();
    coverage_file_with(
        dir,
        &[
            ("src/shop/rates.py", "", &[1]),
            (
                "src/shop/rates.py",
                "tests/test_rates.py::test_over|run",
                &[2],
            ),
        ],
    );
    // A plugin's item that runs ruff, known from the history of a run.
    let reports = tempfile::tempdir().unwrap();
    let junit = reports.path().join("junit.xml");
    let junit = junit.to_str().unwrap();
    std::fs::write(
        junit,
        "<testsuites><testsuite name=\"pytest\"><testcase classname=\"tests.test_rates\" name=\"test_over\" time=\"0.1\"/><testcase classname=\"src.shop.rates\" name=\"ruff\" file=\"src/shop/rates.py\" time=\"0.1\"/></testsuite></testsuites>\n",
    )
    .unwrap();
    run_ok(
        covshard()
            .current_dir(dir)
            .args(["ingest", "--db", ".coverage", "--junit", junit]),
    );
    let write = |text: &str| std::fs::write(dir.join("pyproject.toml"), text).unwrap();
    let selected = |selection: &serde_json::Value| -> Vec<String> {
        assert_eq!(selection["run_all"], false, "{selection:#}");
        let tests = selection["tests"].as_array().unwrap();
        tests
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };

    write(&pyproject.replace("line-length = 100", "line-length = 120"));
    let lint = select(dir);
    let ids = selected(&lint);
    assert!(ids.contains(&"tests/test_lint.py".to_string()), "{lint:#}");
    // The plugin's item (run by its file, as pytest finds no function of that name there).
    assert!(
        ids.iter().any(|id| id.starts_with("src/shop/rates.py")),
        "{lint:#}"
    );
    assert!(
        !ids.iter()
            .any(|id| id.contains("test_rates") || id.contains("test_meta")),
        "{lint:#}"
    );
    assert_eq!(
        lint["reasons"]["tests/test_lint.py"][0]["rule"],
        "tool-config"
    );

    write(&pyproject.replace("version = \"1.0\"", "version = \"1.1\""));
    let release = select(dir);
    assert_eq!(
        selected(&release),
        vec!["tests/test_meta.py".to_string()],
        "{release:#}"
    );

    write(&pyproject.replace("-ra", "-ra -x"));
    let pytest = select(dir);
    assert_eq!(pytest["run_all"], true, "{pytest:#}");
    let via = pytest["run_all_reasons"][0]["via"].as_str().unwrap();
    assert_eq!(via, "[tool.pytest] changed");

    // pytest's configuration runs ruff as tests: a ruff change may fail any file.
    write(
        &pyproject
            .replace("-ra", "-ra --ruff")
            .replace("line-length = 100", "line-length = 120"),
    );
    git(dir, &["commit", "-q", "-am", "ruff runs as tests"]);
    run_ok(
        covshard()
            .current_dir(dir)
            .args(["ingest", "--db", ".coverage", "--junit", junit]),
    );
    write(
        &pyproject
            .replace("-ra", "-ra --ruff")
            .replace("line-length = 100", "line-length = 140"),
    );
    let plugin = select(dir);
    assert_eq!(plugin["run_all"], true, "{plugin:#}");

    // A file deeper down (a test's fixture project) is not pytest's: any change runs all.
    std::fs::create_dir_all(dir.join("tests/fixtures/proj")).unwrap();
    std::fs::write(dir.join("tests/fixtures/proj/pyproject.toml"), pyproject).unwrap();
    std::fs::write(
        dir.join("tox.ini"),
        "[tox]\nenvlist = py312\n\n[flake8]\nmax-line-length = 88\n",
    )
    .unwrap();
    write(pyproject);
    git(dir, &["add", "-A"]);
    git(
        dir,
        &["commit", "-q", "-m", "a fixture project and tox.ini"],
    );
    run_ok(
        covshard()
            .current_dir(dir)
            .args(["ingest", "--db", ".coverage", "--junit", junit]),
    );
    std::fs::write(
        dir.join("tests/fixtures/proj/pyproject.toml"),
        pyproject.replace("version = \"1.0\"", "version = \"1.1\""),
    )
    .unwrap();
    let nested = select(dir);
    assert_eq!(nested["run_all"], true, "{nested:#}");
    git(
        dir,
        &["checkout", "-q", "--", "tests/fixtures/proj/pyproject.toml"],
    );
    // tox.ini's flake8 section: the test that runs a linter, nothing else.
    std::fs::write(
        dir.join("tox.ini"),
        "[tox]\nenvlist = py312\n\n[flake8]\nmax-line-length = 100\n",
    )
    .unwrap();
    let flake8 = select(dir);
    let ids = selected(&flake8);
    assert!(
        ids.contains(&"tests/test_lint.py".to_string()),
        "{flake8:#}"
    );
    assert!(
        !ids.iter()
            .any(|id| id.contains("test_rates") || id.contains("test_meta")),
        "{flake8:#}"
    );
    git(dir, &["checkout", "-q", "--", "tox.ini"]);

    // The package itself reads the file: any change to it may reach any test.
    write(&pyproject.replace("line-length = 100", "line-length = 120"));
    std::fs::write(
        dir.join("src/shop/__init__.py"),
        "import tomllib\nCONFIG = tomllib.load(open(\"pyproject.toml\", \"rb\"))\n",
    )
    .unwrap();
    git(
        dir,
        &["commit", "-q", "-am", "the package reads its pyproject"],
    );
    run_ok(
        covshard()
            .current_dir(dir)
            .args(["ingest", "--db", ".coverage", "--junit", junit]),
    );
    write(&pyproject.replace("line-length = 100", "line-length = 130"));
    let reader = select(dir);
    assert_eq!(reader["run_all"], true, "{reader:#}");
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
