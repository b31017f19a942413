//! `covshard demo`: the whole loop on an example bundled with the binary.
//!
//! The example is the small real project covshard's own tests use (`tests/fixtures/project`),
//! with the coverage data and JUnit report that real pytest, pytest-cov and coverage.py wrote
//! for it. The demo unpacks it into a temporary git repository, stores the durations, makes two
//! changes a developer might make, and runs the same commands a CI would, explaining each
//! step. It needs git, but no Python and no network.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::ui::Ui;
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the example repository here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

macro_rules! bundled {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../tests/fixtures/project/", $path)) as &[u8])),*]
    };
}

/// The example project, as committed under tests/fixtures/project.
const PROJECT: &[(&str, &[u8])] = bundled!(
    "pyproject.toml",
    "src/shop/__init__.py",
    "src/shop/cart.py",
    "src/shop/constants.py",
    "src/shop/data/rates.json",
    "src/shop/data/shipping.csv",
    "src/shop/models.py",
    "src/shop/pricing.py",
    "src/shop/rates.py",
    "src/shop/registry.py",
    "src/shop/validation.py",
    "tests/__init__.py",
    "tests/checkout/__init__.py",
    "tests/checkout/conftest.py",
    "tests/checkout/test_checkout.py",
    "tests/checkout/test_shipping.py",
    "tests/conftest.py",
    "tests/test_constants.py",
    "tests/test_models.py",
    "tests/test_rates.py",
    "tests/test_registry.py",
    "tests/test_validation.py",
);

const COVERAGE: &[u8] = include_bytes!("../../tests/fixtures/data/lines.coverage");
const JUNIT: &[u8] = include_bytes!("../../tests/fixtures/data/junit.xml");

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e.to_string()))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::write(path, e.to_string()))
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.email=demo@covshard.invalid",
            "-c",
            "user.name=covshard demo",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .status()
        .map_err(|e| {
            Error::git("cannot run git")
                .caused_by(e)
                .with_hint("the demo needs git on PATH")
        })?;
    if !status.success() {
        return Err(Error::git(format!(
            "`git {}` failed in {}",
            args.join(" "),
            dir.display()
        )));
    }
    Ok(())
}

/// Run covshard itself, showing the command as a user would type it.
fn covshard(dir: &Path, args: &[&str], ui: &Ui) -> Result<()> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect();
    crate::cli::print_data(&format!(
        "\n{} covshard {}\n",
        ui.bold("$"),
        shown.join(" ")
    ))?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::other("cannot find covshard's own binary").caused_by(e))?;
    let mut cmd = Command::new(exe);
    cmd.current_dir(dir).args(args);
    if ui.color {
        cmd.arg("--color=always");
    }
    let status = cmd
        .status()
        .map_err(|e| Error::other("cannot run covshard").caused_by(e))?;
    if !status.success() {
        return Err(Error::other(format!(
            "`covshard {}` failed in the demo",
            args.join(" ")
        )));
    }
    Ok(())
}

fn replace(dir: &Path, file: &str, from: &str, to: &str) -> Result<()> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::input(&path, e.to_string()))?;
    if !text.contains(from) {
        return Err(Error::other(format!(
            "demo edit: `{from}` not found in {file}"
        )));
    }
    write(&path, text.replacen(from, to, 1).as_bytes())
}

fn say(ui: &Ui, heading: &str, text: &str) -> Result<()> {
    crate::cli::print_data(&format!(
        "\n{}\n{text}\n",
        ui.bold(&format!("== {heading}"))
    ))
}

pub fn run(args: DemoArgs, ui: &Ui) -> Result<()> {
    let (dir, _guard) = match &args.dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("covshard-demo-{}", std::process::id()));
            (dir.clone(), Some(TempDir(dir)))
        }
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return Err(Error::usage(format!("{} is not empty", dir.display()))
            .with_hint("pass an empty or new directory with --dir"));
    }
    for (path, bytes) in PROJECT {
        write(&dir.join(path), bytes)?;
    }
    write(
        &dir.join(".gitignore"),
        b".coverage\njunit.xml\nplan.json\nreport.html\n__pycache__/\n",
    )?;
    git(&dir, &["init", "-q"])?;
    git(&dir, &["add", "-A"])?;
    git(
        &dir,
        &[
            "commit",
            "-q",
            "-m",
            "base: the commit of the last full run",
        ],
    )?;
    write(&dir.join(".coverage"), COVERAGE)?;
    write(&dir.join("junit.xml"), JUNIT)?;

    say(
        ui,
        "The example",
        &format!(
            "A small shop package with 62 pytest tests, unpacked into a git repository at\n{}.\n\
         Its `.coverage` was written by `pytest --cov=shop --cov-context=test` on the base commit:\n\
         for every test, which lines it ran.",
            dir.display()
        ),
    )?;
    covshard(&dir, &["info", "--db", ".coverage"], ui)?;

    say(
        ui,
        "1. On the main branch: store durations",
        "The full run's JUnit report gives each test's duration; `ingest` keeps them, with the\ncommit, in covshard's own tables inside the same data file.",
    )?;
    covshard(
        &dir,
        &[
            "ingest",
            "--db",
            ".coverage",
            "--junit",
            "junit.xml",
            "--commit",
            "HEAD",
        ],
        ui,
    )?;

    say(
        ui,
        "2. A pull request changes a function body",
        "pricing.py: the bulk discount goes from 10% to 15%. Only the tests that ran\n`bulk_discount` can notice.",
    )?;
    replace(
        &dir,
        "src/shop/pricing.py",
        "item.total * 0.1 ",
        "item.total * 0.15 ",
    )?;
    covshard(&dir, &["select", "--db", ".coverage"], ui)?;

    say(
        ui,
        "3. The plan for CI",
        "`plan` selects, estimates each test from its history and packs the tests into shards\nthat finish together. stdout is the GitHub Actions matrix; the summary is on stderr;\nplan.json holds everything.",
    )?;
    covshard(
        &dir,
        &[
            "plan",
            "--db",
            ".coverage",
            "--shards",
            "2",
            "--shard-overhead",
            "5s",
            "--out",
            "plan.json",
        ],
        ui,
    )?;
    say(
        ui,
        "4. Each CI job asks for its shard",
        "The list goes to pytest as an argument file: `pytest @shard-1.txt`.",
    )?;
    covshard(&dir, &["tests", "--plan", "plan.json", "--shard", "1"], ui)?;

    git(&dir, &["checkout", "-q", "--", "."])?;
    say(
        ui,
        "5. A change to a module constant",
        "constants.py: TAX_RATE changes. It runs at import time, so every test that depends on\nthe module is selected, including tests that only read the constant and so have no\ncoverage of their own: covshard follows the imports.",
    )?;
    replace(
        &dir,
        "src/shop/constants.py",
        "TAX_RATE = 0.2",
        "TAX_RATE = 0.21",
    )?;
    covshard(
        &dir,
        &["select", "--db", ".coverage", "--format", "lines"],
        ui,
    )?;
    covshard(
        &dir,
        &[
            "explain",
            "--db",
            ".coverage",
            "tests/test_constants.py::test_tax_rate_is_a_fraction",
        ],
        ui,
    )?;

    say(
        ui,
        "Next",
        "Copy a workflow from ci-templates/ (GitHub Actions, GitLab CI, Buildkite, CircleCI),\nset your package name, and the loop above runs in your CI.",
    )?;
    Ok(())
}

/// Removes the demo's temporary directory when the demo ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
