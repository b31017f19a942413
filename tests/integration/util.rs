//! A small harness shared by the integration tests: paths to fixtures, the Python and Node tools
//! that `.ci/run` installs, and a temporary git repository to run covshard in.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root of covshard itself.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// A tool that `.ci/run` installs. Outside CI a missing tool makes the test return early with
/// a note on stderr; in CI it is a failure, so no gap hides behind a skipped test.
pub fn tool(env_var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(env_var) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if in_ci() => panic!("{env_var} is not set: `.ci/run` installs {what} and sets it"),
        _ => {
            eprintln!("note: {env_var} not set; run `bash .ci/run` to exercise {what}");
            None
        }
    }
}

/// The Python interpreter of the virtual environment with the pinned pytest, coverage, etc.
pub fn python() -> Option<PathBuf> {
    tool("COVSHARD_PYTHON", "the pinned Python tools")
}

/// A command from the same virtual environment as [`python`].
pub fn venv_bin(python: &Path, name: &str) -> PathBuf {
    python
        .parent()
        .expect("python lives in a bin directory")
        .join(name)
}

/// The fixture project as a repository of its own, committed, with the real data file
/// (`.coverage`) and JUnit report (`junit.xml`) that pytest wrote for it, both ignored by git
/// as covshard's outputs are (`plan*.json`, `out/`).
pub fn fixture_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_tree(&fixtures().join("project"), dir);
    std::fs::write(
        dir.join(".gitignore"),
        ".coverage\njunit.xml\nplan*.json\nout/\n__pycache__/\n",
    )
    .unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    std::fs::copy(
        fixtures().join("data/lines.coverage"),
        dir.join(".coverage"),
    )
    .unwrap();
    std::fs::copy(fixtures().join("data/junit.xml"), dir.join("junit.xml")).unwrap();
    tmp
}

/// The covshard binary under test: the one cargo built, or the one named by `COVSHARD_BIN`
/// (`.ci/run` runs the end-to-end test again against the binary a wheel installed).
pub fn covshard() -> Command {
    match std::env::var_os("COVSHARD_BIN") {
        Some(path) if !path.is_empty() => Command::new(path),
        _ => Command::new(env!("CARGO_BIN_EXE_covshard")),
    }
}

/// Run a command, panicking with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `git` in `dir`, with an identity so commits work on a fresh machine.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.email=test@covshard.invalid",
                "-c",
                "user.name=covshard test",
            ])
            .args(args),
    )
}

/// Copy a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            let name = entry.file_name();
            if name == "__pycache__" || name == ".pytest_cache" {
                continue;
            }
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What a finished command printed, for assertions chained on it.
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
}

/// Run a command and check its exit code, then what it printed.
pub trait Expect {
    /// Exit code 0.
    fn succeeds(&mut self) -> Finished;
    /// Exactly this exit code.
    fn exits_with(&mut self, code: i32) -> Finished;
}

impl Expect for Command {
    fn succeeds(&mut self) -> Finished {
        self.exits_with(0)
    }

    fn exits_with(&mut self, code: i32) -> Finished {
        let out = self
            .output()
            .unwrap_or_else(|e| panic!("cannot run {self:?}: {e}"));
        let finished = Finished {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(
            out.status.code(),
            Some(code),
            "{self:?}\nstdout:\n{}\nstderr:\n{}",
            finished.stdout,
            finished.stderr
        );
        finished
    }
}

impl Finished {
    pub fn stdout_is(self, expected: &str) -> Self {
        assert_eq!(self.stdout, expected, "stderr:\n{}", self.stderr);
        self
    }

    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }
}
