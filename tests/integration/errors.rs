//! Every error a user can cause, as a table: the command, where it runs, the exit code the
//! README documents, and the parts of the message a person needs (the file, what is wrong, the
//! hint). An error never prints data: stdout stays empty.
//!
//! All cases share one scratch directory built once (a git copy of the fixture project, a
//! shallow clone of it, a plan, and broken inputs); no case writes to what another reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{copy_tree, covshard, fixtures, git, run_ok};

// The exit codes as the README documents them (not the crate's constants: this pins the docs).
const OK: i32 = 0;
const USAGE: i32 = 2;
const INPUT: i32 = 3;
const GIT: i32 = 4;
const CONFIG: i32 = 5;
const WRITE: i32 = 6;

/// Variables that would change which shard or CI covshard thinks it runs in.
const CI_VARS: &[&str] = &[
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
    "BUILDKITE_PARALLEL_JOB",
    "BUILDKITE_PARALLEL_JOB_COUNT",
    "CIRCLE_NODE_INDEX",
    "CIRCLE_NODE_TOTAL",
    "COVSHARD_SHARD",
    "COVSHARD_SHARD_COUNT",
    "NO_COLOR",
];

/// One user mistake. `args` is split on whitespace, then `{T}` (the scratch directory), `{D}`
/// (the fixture data) and `{BASE}` (the scratch repository's first commit) are substituted.
struct Case {
    name: &'static str,
    /// Directory under the scratch directory to run in.
    cwd: &'static str,
    args: &'static str,
    env: &'static [(&'static str, &'static str)],
    code: i32,
    /// Each must appear in stderr.
    stderr: &'static [&'static str],
}

const CASES: &[Case] = &[
    // --- the data file -------------------------------------------------------------------
    Case {
        name: "info on a missing data file",
        cwd: "repo",
        args: "info --db {T}/missing.coverage",
        env: &[],
        code: INPUT,
        stderr: &[
            "error: {T}/missing.coverage: cannot read the data file",
            "hint: run `pytest --cov=PKG --cov-context=test` to create it",
        ],
    },
    Case {
        name: "audit without the previous baseline",
        cwd: "repo",
        args: "audit --junit junit.xml",
        env: &[],
        code: USAGE,
        stderr: &["--previous <OLD>"],
    },
    Case {
        name: "audit against a missing previous baseline",
        cwd: "repo",
        args: "audit --db {T}/work.coverage --previous {T}/missing.coverage --junit {D}/junit.xml",
        env: &[],
        code: INPUT,
        stderr: &["error: {T}/missing.coverage: cannot read the data file"],
    },
    Case {
        name: "audit of a missing report",
        cwd: "repo",
        args: "audit --db {T}/work.coverage --previous {T}/recorded.coverage --junit {T}/missing.xml",
        env: &[],
        code: INPUT,
        stderr: &["error: {T}/missing.xml: cannot read the report"],
    },
    Case {
        name: "audit against itself",
        cwd: "repo",
        args: "audit --db {T}/work.coverage --previous {T}/work.coverage --junit {D}/junit.xml",
        env: &[],
        code: USAGE,
        stderr: &[
            "is the audited data file itself",
            "hint: pass the baseline of an earlier full run",
        ],
    },
    Case {
        name: "audit history mixed with an audit's flags",
        cwd: "repo",
        args: "audit --history --strict",
        env: &[],
        code: USAGE,
        stderr: &["cannot be used with"],
    },
    Case {
        name: "select on a missing data file",
        cwd: "repo",
        args: "select --db {T}/missing.coverage --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &["{T}/missing.coverage: cannot read the data file", "hint:"],
    },
    Case {
        name: "info on a directory",
        cwd: "repo",
        args: "info --db {T}/dir",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/dir: this is a directory",
            "hint: pass the `.coverage` file itself",
        ],
    },
    Case {
        name: "select on a directory",
        cwd: "repo",
        args: "select --db {T}/dir --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &["{T}/dir: this is a directory"],
    },
    Case {
        name: "info on an empty file",
        cwd: "repo",
        args: "info --db {T}/empty",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/empty: the file is empty",
            "hint: record coverage with `pytest --cov=PKG --cov-context=test`",
        ],
    },
    Case {
        name: "select on an empty file",
        cwd: "repo",
        args: "select --db {T}/empty --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &["{T}/empty: the file is empty"],
    },
    Case {
        name: "info on a text file",
        cwd: "repo",
        args: "info --db {T}/text.txt",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/text.txt: not an SQLite database",
            "hint: pass the `.coverage` file written by pytest-cov",
        ],
    },
    Case {
        name: "select on a text file",
        cwd: "repo",
        args: "select --db {T}/text.txt --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &["{T}/text.txt: not an SQLite database"],
    },
    Case {
        name: "info on an SQLite database that is not coverage data",
        cwd: "repo",
        args: "info --db {T}/other.db",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/other.db: this is an SQLite database, but not a coverage.py data file",
            "hint: pass the `.coverage` file",
        ],
    },
    Case {
        name: "select on an SQLite database that is not coverage data",
        cwd: "repo",
        args: "select --db {T}/other.db --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &["{T}/other.db: this is an SQLite database, but not a coverage.py data file"],
    },
    Case {
        name: "info on an older coverage schema",
        cwd: "repo",
        args: "info --db {T}/v6.coverage",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/v6.coverage: coverage data schema version 6; covshard reads version 7",
            "hint: record the data with coverage.py 5.0 or later",
        ],
    },
    Case {
        name: "select on a newer coverage schema",
        cwd: "repo",
        args: "select --db {T}/v8.coverage --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/v8.coverage: coverage data schema version 8",
            "hint: the file was written by a newer coverage.py than covshard knows: upgrade covshard",
        ],
    },
    Case {
        name: "select on data without test contexts",
        cwd: "repo",
        args: "select --db {D}/nocontext.coverage --base HEAD",
        env: &[],
        code: INPUT,
        stderr: &[
            "{D}/nocontext.coverage: the data file has no per-test contexts",
            "hint: record it with `pytest --cov=PKG --cov-context=test`",
        ],
    },
    Case {
        name: "info on data without test contexts works and warns",
        cwd: "repo",
        args: "info --db {D}/nocontext.coverage",
        env: &[],
        code: OK,
        stderr: &["warning: no per-test contexts", "--cov-context=test"],
    },
    Case {
        name: "info on branch coverage works",
        cwd: "repo",
        args: "info --db {D}/branches.coverage",
        env: &[],
        code: OK,
        stderr: &[],
    },
    Case {
        name: "select on branch coverage works",
        cwd: "repo",
        args: "select --db {D}/branches.coverage --base HEAD --diff {T}/change.diff",
        env: &[],
        code: OK,
        stderr: &["known tests selected"],
    },
    Case {
        name: "select on corrupt numbits",
        cwd: "repo",
        args: "select --db {T}/corrupt.coverage --base HEAD --diff {T}/change.diff",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/corrupt.coverage: corrupt line data: numbits for file id",
            "instead of a blob",
            "hint: the data file is damaged; record it again",
        ],
    },
    // --- git and the base commit ---------------------------------------------------------
    Case {
        name: "select outside a git repository",
        cwd: "outside",
        args: "select --db {D}/lines.coverage --base HEAD",
        env: &[],
        code: GIT,
        stderr: &[
            "{T}/outside is not inside a git repository",
            "hint: run covshard from a checkout of the project",
        ],
    },
    Case {
        name: "select with a base commit that is not in the repository",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base 0123456789abcdef0123456789abcdef01234567",
        env: &[],
        code: GIT,
        stderr: &[
            "the commit `0123456789abcdef0123456789abcdef01234567` (the base, given with --base) is not in this clone",
            "hint: fetch it (`git fetch origin <commit>`) or pass another commit with --base",
        ],
    },
    Case {
        name: "select in a shallow clone without the base",
        cwd: "shallow",
        args: "select --db {D}/lines.coverage --base {BASE}",
        env: &[],
        code: GIT,
        stderr: &[
            "the commit `{BASE}` (the base, given with --base) is not in this clone",
            "hint: this is a shallow clone: fetch full history (`git fetch --unshallow`",
        ],
    },
    Case {
        name: "select with a recorded base that is not in the repository",
        cwd: "repo",
        args: "select --db {T}/recorded.coverage",
        env: &[],
        code: GIT,
        stderr: &[
            "the commit `0123456789abcdef0123456789abcdef01234567` (the base, recorded by `covshard ingest`) is not in this clone",
            "--base",
        ],
    },
    Case {
        name: "select with no base known",
        cwd: "repo",
        args: "select --db {D}/lines.coverage",
        env: &[],
        code: USAGE,
        stderr: &[
            "no base commit for {D}/lines.coverage",
            "hint: pass --base REV",
            "covshard ingest --db FILE --commit REV",
        ],
    },
    // --- other inputs of select ----------------------------------------------------------
    Case {
        name: "select with a --diff that is not a diff",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --diff {T}/text.txt",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/text.txt: no file changes found: this does not look like a unified diff",
            "hint: produce it with `git diff BASE`",
        ],
    },
    Case {
        // Found by the fuzz tests: line numbers past u32 overflowed.
        name: "select with a --diff whose hunk header numbers lines past what git writes",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --diff {T}/overflow.diff",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/overflow.diff: not a unified diff: line 3: malformed hunk header",
            "hint: produce it with `git diff BASE`",
        ],
    },
    Case {
        name: "select with a missing --diff",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --diff {T}/missing.diff",
        env: &[],
        code: INPUT,
        // The io error is kept as the cause, and printed as one.
        stderr: &["{T}/missing.diff: cannot read the diff\n  caused by: No such file or directory"],
    },
    Case {
        name: "select with a --collected file without test ids",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --collected {T}/text.txt",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/text.txt: no test ids found",
            "hint: write it with `pytest --collect-only -q > FILE`",
        ],
    },
    Case {
        name: "select with a missing --collected file",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --collected {T}/missing.txt",
        env: &[],
        code: INPUT,
        stderr: &["{T}/missing.txt: cannot read the collected test list"],
    },
    // --- configuration -------------------------------------------------------------------
    Case {
        name: "covshard.toml with an unknown key",
        cwd: "cfg-unknown",
        args: "select --db {D}/lines.coverage --base HEAD",
        env: &[],
        code: CONFIG,
        stderr: &[
            "{T}/cfg-unknown/covshard.toml: TOML parse error at line 2",
            "unknown field `run_al`",
            "hint: see config/covshard.toml",
        ],
    },
    Case {
        name: "--config with bad TOML",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --config {T}/badsyntax.toml",
        env: &[],
        code: CONFIG,
        stderr: &[
            "{T}/badsyntax.toml: TOML parse error at line 1",
            "unclosed table",
            "hint:",
        ],
    },
    Case {
        name: "--config that does not exist",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --config {T}/missing.toml",
        env: &[],
        code: CONFIG,
        stderr: &["{T}/missing.toml: cannot read the configuration"],
    },
    Case {
        name: "configuration with an invalid pattern",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --config {T}/badglob.toml",
        env: &[],
        code: CONFIG,
        stderr: &["{T}/badglob.toml: invalid pattern `a[`", "hint:"],
    },
    Case {
        name: "configuration with a value out of range",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --config {T}/history0.toml",
        env: &[],
        code: CONFIG,
        stderr: &[
            "{T}/history0.toml: durations.history must be at least 1",
            "hint:",
        ],
    },
    Case {
        name: "configuration with a bad duration",
        cwd: "repo",
        args: "select --db {D}/lines.coverage --base HEAD --config {T}/badtarget.toml",
        env: &[],
        code: CONFIG,
        stderr: &["{T}/badtarget.toml", "invalid duration `5x`"],
    },
    Case {
        name: "plan --all validates the configuration too",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --config {T}/maxshards0.toml --out {T}/unused.json",
        env: &[],
        code: CONFIG,
        stderr: &["{T}/maxshards0.toml: packing.max_shards must be at least 1"],
    },
    Case {
        name: "[tool.covshard] with an unknown key",
        cwd: "cfg-pyproject-key",
        args: "select --db {D}/lines.coverage --base HEAD",
        env: &[],
        code: CONFIG,
        stderr: &[
            "{T}/cfg-pyproject-key/pyproject.toml: in [tool.covshard]: unknown field `bogus`",
            "hint: see config/covshard.toml",
        ],
    },
    Case {
        name: "[tool.covshard] with a value of the wrong type",
        cwd: "cfg-pyproject-type",
        args: "select --db {D}/lines.coverage --base HEAD",
        env: &[],
        code: CONFIG,
        stderr: &[
            "{T}/cfg-pyproject-type/pyproject.toml: in [tool.covshard]: invalid type",
            "packing.max_shards",
        ],
    },
    Case {
        name: "pyproject.toml that is not TOML",
        cwd: "cfg-pyproject-syntax",
        args: "select --db {D}/lines.coverage --base HEAD",
        env: &[],
        code: CONFIG,
        stderr: &[
            "{T}/cfg-pyproject-syntax/pyproject.toml: invalid TOML",
            "hint: fix the syntax of pyproject.toml",
        ],
    },
    // --- ingest --------------------------------------------------------------------------
    Case {
        name: "ingest a malformed JUnit report",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/malformed.xml",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/malformed.xml: line 4: malformed XML",
            "hint: the report is damaged or truncated",
        ],
    },
    Case {
        name: "ingest a truncated JUnit report",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/truncated.xml",
        env: &[],
        code: INPUT,
        stderr: &["{T}/truncated.xml: line 3: malformed XML", "hint:"],
    },
    Case {
        name: "ingest a Maven Surefire report",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/surefire.xml",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/surefire.xml: this JUnit report does not come from pytest",
            "com.example.shop.CartTest",
            "hint: pass the report written by `pytest --junitxml=FILE`",
        ],
    },
    Case {
        name: "ingest a jest-junit report",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/jest.xml",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/jest.xml: this JUnit report does not come from pytest",
            "jest-junit",
        ],
    },
    Case {
        name: "ingest an XML file that is not JUnit",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/page.xml",
        env: &[],
        code: INPUT,
        stderr: &["{T}/page.xml: line 1: not a JUnit XML report: the root element is <html>"],
    },
    Case {
        name: "ingest an empty JUnit report",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/empty",
        env: &[],
        code: INPUT,
        stderr: &["{T}/empty: the file holds no XML element", "hint:"],
    },
    Case {
        name: "ingest a --junit glob that matches nothing",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/nothing-*.xml",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/nothing-*.xml: no file matches this pattern",
            "hint: check the path and that the test jobs uploaded their reports",
        ],
    },
    Case {
        name: "ingest a missing --junit file",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {T}/missing.xml",
        env: &[],
        code: INPUT,
        stderr: &["{T}/missing.xml: cannot read the report", "hint:"],
    },
    Case {
        name: "ingest a malformed .test_durations",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --durations {T}/bad.test_durations",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/bad.test_durations: line 3: malformed JSON",
            "hint: pass the `.test_durations` file written by `pytest --store-durations`",
        ],
    },
    Case {
        name: "ingest a .test_durations that is not an object",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --durations {T}/array.json",
        env: &[],
        code: INPUT,
        stderr: &["{T}/array.json: line 1: expected a JSON object mapping node ids to seconds"],
    },
    Case {
        name: "ingest a malformed report log",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --reportlog {T}/bad.jsonl",
        env: &[],
        code: INPUT,
        stderr: &["{T}/bad.jsonl: line 2: malformed JSON", "hint:"],
    },
    Case {
        name: "ingest into a read-only data file",
        cwd: "repo",
        args: "ingest --db {T}/readonly.coverage --junit {D}/junit.xml",
        env: &[],
        code: WRITE,
        stderr: &[
            "cannot write {T}/readonly.coverage: the data file is read-only",
            "hint: make it writable (`chmod u+w {T}/readonly.coverage`)",
        ],
    },
    Case {
        name: "ingest into a missing data file",
        cwd: "repo",
        args: "ingest --db {T}/missing.coverage --junit {D}/junit.xml",
        env: &[],
        code: INPUT,
        stderr: &["{T}/missing.coverage: cannot read the data file"],
    },
    Case {
        name: "ingest with nothing to ingest",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage",
        env: &[],
        code: USAGE,
        stderr: &[
            "nothing to ingest",
            "hint: pass reports with --junit, --durations or --reportlog",
        ],
    },
    Case {
        name: "ingest with a --commit that is not in the repository",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {D}/junit.xml --commit nosuchrev",
        env: &[],
        code: GIT,
        stderr: &[
            "the commit `nosuchrev` (given with --commit) is not in this clone",
            "pass another commit with --commit",
        ],
    },
    Case {
        name: "ingest outside a repository without --commit",
        cwd: "outside",
        args: "ingest --db {T}/work.coverage --junit {D}/junit.xml",
        env: &[],
        code: GIT,
        stderr: &[
            "is not inside a git repository",
            "pass the commit with --commit SHA",
        ],
    },
    Case {
        name: "ingest --carry-history-from a missing file",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {D}/junit.xml --carry-history-from {T}/old.coverage",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/old.coverage: the previous data file given with --carry-history-from does not exist",
            "hint: download the previous baseline",
        ],
    },
    Case {
        name: "ingest --keep 0",
        cwd: "repo",
        args: "ingest --db {T}/work.coverage --junit {D}/junit.xml --keep 0",
        env: &[],
        code: USAGE,
        stderr: &["invalid value '0' for '--keep <N>'"],
    },
    // --- tests ---------------------------------------------------------------------------
    Case {
        name: "tests with a missing plan",
        cwd: "repo",
        args: "tests --plan {T}/missing.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/missing.json: cannot read the plan",
            "hint: download the plan artifact",
        ],
    },
    Case {
        name: "tests with a plan from an older covshard",
        cwd: "repo",
        args: "tests --plan {T}/older.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/older.json: plan format version 1 is older than this covshard reads (2)",
            "hint: use the same covshard version in the plan job and the shard jobs",
        ],
    },
    Case {
        name: "tests with a plan from a newer covshard",
        cwd: "repo",
        args: "tests --plan {T}/newer.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/newer.json: plan format version 3 is newer than this covshard reads (2)",
            "hint: use the same covshard version in the plan job and the shard jobs",
        ],
    },
    Case {
        name: "tests with a JSON file that is not a plan",
        cwd: "repo",
        args: "tests --plan {T}/matrix.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/matrix.json: not a covshard plan (no supported `version`)",
            "hint: pass the plan.json written by `covshard plan --out plan.json`",
        ],
    },
    Case {
        name: "tests with a JSON array",
        cwd: "repo",
        args: "tests --plan {T}/array.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &["{T}/array.json: not a covshard plan: the file holds JSON, but not an object"],
    },
    Case {
        name: "tests with a plan that is not JSON",
        cwd: "repo",
        args: "tests --plan {T}/text.txt --shard 1",
        env: &[],
        code: INPUT,
        stderr: &["{T}/text.txt: not a covshard plan: invalid JSON at line 1"],
    },
    Case {
        name: "tests with a plan with an unknown field",
        cwd: "repo",
        args: "tests --plan {T}/extra.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/extra.json: invalid plan",
            "unknown field `extra`",
            "hint: regenerate it",
        ],
    },
    Case {
        name: "tests with a shard index out of range",
        cwd: "repo",
        args: "tests --plan {T}/plan.json --shard 4",
        env: &[],
        code: USAGE,
        stderr: &[
            "shard 4 does not exist: the plan has 3 shard(s), numbered 1 to 3",
            "hint:",
        ],
    },
    Case {
        name: "tests with a K/N whose N is not the plan's",
        cwd: "repo",
        args: "tests --plan {T}/plan.json --shard 2/5",
        env: &[],
        code: USAGE,
        stderr: &[
            "--shard 2/5 names 5 shards, but the plan has 3 shard(s)",
            "hint:",
        ],
    },
    Case {
        name: "tests with shard 0",
        cwd: "repo",
        args: "tests --plan {T}/plan.json --shard 0",
        env: &[],
        code: USAGE,
        stderr: &["shards are numbered from 1"],
    },
    Case {
        name: "tests --shard auto without CI variables",
        cwd: "repo",
        args: "tests --plan {T}/plan.json --shard auto",
        env: &[],
        code: USAGE,
        stderr: &[
            "--shard auto found no shard index in the environment",
            "hint: pass --shard K, or set COVSHARD_SHARD",
        ],
    },
    Case {
        name: "tests --shard auto with a CI parallelism unlike the plan",
        cwd: "repo",
        args: "tests --plan {T}/plan.json --shard auto",
        env: &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "5")],
        code: USAGE,
        stderr: &[
            "the CI runs 5 parallel jobs but the plan has 3 shard(s)",
            "hint:",
        ],
    },
    Case {
        name: "tests --shard auto with a CI index that is not a number",
        cwd: "repo",
        args: "tests --plan {T}/plan.json --shard auto",
        env: &[("CI_NODE_INDEX", "x")],
        code: USAGE,
        stderr: &["CI_NODE_INDEX=x is not a whole number"],
    },
    Case {
        name: "tests with a plan made for another commit",
        cwd: "repo",
        args: "tests --plan {T}/otherhead.json --shard 1",
        env: &[],
        code: INPUT,
        stderr: &[
            "{T}/otherhead.json: the plan was made for commit {BASE}",
            "hint: use the plan from this pipeline's setup job, or pass --any-commit",
        ],
    },
    // --- plan and tune -------------------------------------------------------------------
    Case {
        name: "plan --shards 0",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 0 --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &["invalid value '0' for '--shards <SHARDS>': the shard count must be at least 1"],
    },
    Case {
        name: "plan --shards over GitHub's matrix limit",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 300 --matrix github --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &[
            "--shards 300 is more than GitHub Actions allows: at most 256 parallel jobs",
            "hint: pass --shards 256 or fewer",
        ],
    },
    Case {
        name: "plan --shards over GitLab's parallel limit",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 201 --matrix gitlab --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &["--shards 201 is more than GitLab CI allows: at most 200 parallel jobs"],
    },
    Case {
        name: "plan --shards over the configured maximum",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 100 --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &[
            "--shards 100 is more than the configured maximum of 64 (packing.max_shards)",
            "hint: lower --shards, or raise --max-shards",
        ],
    },
    Case {
        name: "plan --shards over --max-shards",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 10 --max-shards 4 --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &["--shards 10 is more than --max-shards 4"],
    },
    Case {
        name: "plan --max-shards 0",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --max-shards 0 --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &["invalid value '0' for '--max-shards <N>'"],
    },
    Case {
        name: "plan --github-output without $GITHUB_OUTPUT",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 3 --github-output --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &[
            "--github-output needs $GITHUB_OUTPUT, which GitHub Actions sets",
            "hint: drop --github-output outside GitHub Actions",
        ],
    },
    Case {
        name: "plan --target 5x",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --target 5x --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &["invalid value '5x' for '--target <DURATION>': invalid duration `5x`"],
    },
    Case {
        name: "plan --shard-overhead with a negative duration",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shard-overhead -3s --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &["invalid duration `-3s`"],
    },
    Case {
        name: "plan with nothing to plan",
        cwd: "repo",
        args: "plan --db {T}/missing.coverage --out {T}/unused.json",
        env: &[],
        code: USAGE,
        stderr: &[
            "nothing to plan: no data file, no collected test list and no durations",
            "hint: pass --collected FILE",
        ],
    },
    Case {
        // A missing directory is created; a directory in the way is an error.
        name: "plan --out onto a directory",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 2 --out {T}",
        env: &[],
        code: WRITE,
        stderr: &["cannot write {T}", "hint: check that {T} can be written"],
    },
    Case {
        name: "plan --summary-markdown onto a directory",
        cwd: "repo",
        args: "plan --db {D}/lines.coverage --all --shards 2 --out {T}/unused.json --summary-markdown {T}",
        env: &[],
        code: WRITE,
        stderr: &["cannot write {T}", "hint:"],
    },
    Case {
        name: "plan with a malformed --durations file",
        cwd: "repo",
        args: "plan --db {T}/missing.coverage --durations {T}/bad.test_durations --out {T}/unused.json",
        env: &[],
        code: INPUT,
        stderr: &["{T}/bad.test_durations: line 3: malformed JSON"],
    },
    Case {
        name: "tune --shards 0",
        cwd: "repo",
        args: "tune --db {D}/lines.coverage --all --shards 0",
        env: &[],
        code: USAGE,
        stderr: &["the shard count must be at least 1"],
    },
    Case {
        name: "durations on a missing data file",
        cwd: "repo",
        args: "durations --db {T}/missing.coverage",
        env: &[],
        code: INPUT,
        stderr: &["{T}/missing.coverage: cannot read the data file"],
    },
    // --- report --------------------------------------------------------------------------
    Case {
        name: "report with nothing to do",
        cwd: "repo",
        args: "report --plan {T}/plan.json",
        env: &[],
        code: USAGE,
        stderr: &[
            "nothing to do: pass --html FILE and/or --markdown",
            "hint: covshard report --plan plan.json --html report.html",
        ],
    },
    Case {
        name: "report with a missing plan",
        cwd: "repo",
        args: "report --plan {T}/missing.json --html {T}/unused.html",
        env: &[],
        code: INPUT,
        stderr: &["{T}/missing.json: cannot read the plan"],
    },
    Case {
        name: "report --html onto a directory",
        cwd: "repo",
        args: "report --plan {T}/plan.json --html {T}",
        env: &[],
        code: WRITE,
        stderr: &["cannot write {T}", "hint:"],
    },
    // --- the command line ----------------------------------------------------------------
    Case {
        name: "an unknown flag",
        cwd: "repo",
        args: "select --bogus",
        env: &[],
        code: USAGE,
        stderr: &["unexpected argument '--bogus'"],
    },
    Case {
        name: "an unknown subcommand",
        cwd: "repo",
        args: "frobnicate",
        env: &[],
        code: USAGE,
        stderr: &["unrecognized subcommand 'frobnicate'"],
    },
    Case {
        name: "no subcommand",
        cwd: "repo",
        args: "",
        env: &[],
        code: USAGE,
        stderr: &["Usage: covshard"],
    },
    Case {
        name: "an unknown format",
        cwd: "repo",
        args: "info --format yaml",
        env: &[],
        code: USAGE,
        stderr: &["invalid value 'yaml' for '--format <FORMAT>'"],
    },
    Case {
        name: "a flag without its value",
        cwd: "repo",
        args: "info --db",
        env: &[],
        code: USAGE,
        stderr: &["a value is required for '--db <DB>'"],
    },
];

/// The scratch directory every case runs against.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
    base: String,
}

impl Scratch {
    fn substitute(&self, text: &str) -> String {
        text.replace("{T}", &self.root.display().to_string())
            .replace("{D}", &fixtures().join("data").display().to_string())
            .replace("{BASE}", &self.base)
    }

    fn command(&self, cwd: &str) -> Command {
        let mut cmd = covshard();
        cmd.current_dir(self.root.join(cwd));
        for var in CI_VARS {
            cmd.env_remove(var);
        }
        // Keep git from finding a repository above the scratch directory.
        cmd.env("GIT_CEILING_DIRECTORIES", &self.root);
        cmd
    }
}

/// A copy of `data/NAME` with `sql` run on it.
fn edited_copy(root: &Path, name: &str, to: &str, sql: &str) {
    let path = root.join(to);
    std::fs::copy(fixtures().join("data").join(name), &path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn git_init(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
}

fn scratch() -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    // Canonical, so the paths covshard prints match the ones the table expects.
    let root = dir.path().canonicalize().unwrap();
    let data = fixtures().join("data");
    let write = |name: &str, text: &str| std::fs::write(root.join(name), text).unwrap();

    // The project, two commits; a shallow clone holds only the second.
    let repo = root.join("repo");
    copy_tree(&fixtures().join("project"), &repo);
    git_init(&repo);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(repo.join("NOTES.txt"), "second commit\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "second"]);
    git(
        &root,
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", repo.display()),
            "shallow",
        ],
    );
    std::fs::create_dir(root.join("outside")).unwrap();

    // Data files that are not what they should be.
    std::fs::create_dir(root.join("dir")).unwrap();
    write("empty", "");
    write("text.txt", "hello, not a database\n");
    write(
        "overflow.diff",
        "--- a/x.py\n+++ b/x.py\n@@ -4294967295,1 +1,1 @@\n-a\n+b\n",
    );
    rusqlite::Connection::open(root.join("other.db"))
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x');")
        .unwrap();
    edited_copy(
        &root,
        "lines.coverage",
        "v6.coverage",
        "UPDATE coverage_schema SET version = 6;",
    );
    edited_copy(
        &root,
        "lines.coverage",
        "v8.coverage",
        "UPDATE coverage_schema SET version = 8;",
    );
    edited_copy(
        &root,
        "lines.coverage",
        "corrupt.coverage",
        "UPDATE line_bits SET numbits = 'not a blob';",
    );
    std::fs::copy(data.join("lines.coverage"), root.join("work.coverage")).unwrap();
    let readonly = root.join("readonly.coverage");
    std::fs::copy(data.join("lines.coverage"), &readonly).unwrap();
    let mut perms = std::fs::metadata(&readonly).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&readonly, perms).unwrap();

    // A data file whose recorded commit is unknown to the repository (ingested outside one,
    // where covshard records --commit as given).
    std::fs::copy(data.join("lines.coverage"), root.join("recorded.coverage")).unwrap();
    let mut cmd = covshard();
    cmd.current_dir(root.join("outside"))
        .env("GIT_CEILING_DIRECTORIES", &root)
        .args(["ingest", "--db", "../recorded.coverage", "--junit"])
        .arg(data.join("junit.xml"))
        .args(["--commit", "0123456789abcdef0123456789abcdef01234567"]);
    run_ok(&mut cmd);

    // A change to a measured file, as a diff (so no case edits the shared checkout).
    let first_line = std::fs::read_to_string(repo.join("src/shop/cart.py"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    write(
        "change.diff",
        &format!(
            "diff --git a/src/shop/cart.py b/src/shop/cart.py\n--- a/src/shop/cart.py\n+++ b/src/shop/cart.py\n@@ -1 +1 @@\n-{first_line}\n+\"\"\"Changed.\"\"\"\n"
        ),
    );

    // Reports: broken, or from other tools.
    write(
        "malformed.xml",
        "<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"pytest\">\n<testcase classname=\"tests.test_a\" name=\"test_b\" time=\"1\"></testcas>\n</testsuite>\n</testsuites>\n",
    );
    write(
        "truncated.xml",
        "<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"pytest\"><testcase classname=\"tests.test_a\" name=\"test_b\"",
    );
    write(
        "surefire.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.shop.CartTest" time="0.05" tests="2" errors="0" skipped="0" failures="0">
  <properties><property name="java.version" value="17.0.2"/></properties>
  <testcase name="addsItem" classname="com.example.shop.CartTest" time="0.012"/>
  <testcase name="removesItem" classname="com.example.shop.CartTest" time="0.003"/>
</testsuite>
"#,
    );
    write(
        "jest.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="1" failures="0" errors="0" time="1.2">
  <testsuite name="cart" errors="0" failures="0" skipped="0" time="1.1" tests="1">
    <testcase classname="cart adds an item" name="cart adds an item" time="0.004"></testcase>
  </testsuite>
</testsuites>
"#,
    );
    write("page.xml", "<html><body>not a report</body></html>\n");
    write(
        "bad.test_durations",
        "{\n  \"tests/test_a.py::test_one\": 1.5,\n  \"tests/test_a.py::test_two\": oops\n}\n",
    );
    write("array.json", "[1, 2]\n");
    write(
        "bad.jsonl",
        "{\"pytest_version\": \"9.2.0\", \"$report_type\": \"SessionStart\"}\n{\"nodeid\": \"tests/test_a.py::test_one\", \n",
    );

    // Configurations.
    write("badsyntax.toml", "[selection\n");
    write("badglob.toml", "[selection]\nrun_all = [\"a[\"]\n");
    write("history0.toml", "[durations]\nhistory = 0\n");
    write("badtarget.toml", "[packing]\ntarget = \"5x\"\n");
    write("maxshards0.toml", "[packing]\nmax_shards = 0\n");
    for (name, file, text) in [
        ("cfg-unknown", "covshard.toml", "[selection]\nrun_al = []\n"),
        (
            "cfg-pyproject-key",
            "pyproject.toml",
            "[project]\nname = \"x\"\n[tool.covshard]\nbogus = 1\n",
        ),
        (
            "cfg-pyproject-type",
            "pyproject.toml",
            "[project]\nname = \"x\"\n[tool.covshard.packing]\nmax_shards = \"many\"\n",
        ),
        ("cfg-pyproject-syntax", "pyproject.toml", "[project\n"),
    ] {
        git_init(&root.join(name));
        std::fs::write(root.join(name).join(file), text).unwrap();
    }

    // A plan for the checkout's HEAD, and plans it must refuse.
    let mut cmd = covshard();
    cmd.current_dir(&repo)
        .env_remove("GITHUB_OUTPUT")
        .args(["plan", "--all", "--shards", "3", "-q", "--db"])
        .arg(data.join("lines.coverage"))
        .arg("--durations")
        .arg(data.join(".test_durations"))
        .arg("--out")
        .arg(root.join("plan.json"));
    run_ok(&mut cmd);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("plan.json")).unwrap()).unwrap();
    let variant = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut p = plan.clone();
        edit(&mut p);
        std::fs::write(root.join(name), serde_json::to_string_pretty(&p).unwrap()).unwrap();
    };
    variant("newer.json", &|p| {
        p["version"] = (covshard::plan::PLAN_VERSION + 1).into()
    });
    variant("older.json", &|p| p["version"] = 1.into());
    variant("extra.json", &|p| p["extra"] = true.into());
    variant("otherhead.json", &|p| p["head"] = base.clone().into());
    write("matrix.json", r#"{"include":[{"shard":1,"of":1}]}"#);

    Scratch {
        _dir: dir,
        root,
        base,
    }
}

#[test]
fn every_user_error_has_its_exit_code_message_and_hint() {
    let scratch = scratch();
    let mut failures = Vec::new();
    for case in CASES {
        let mut cmd = scratch.command(case.cwd);
        for arg in case.args.split_whitespace() {
            cmd.arg(scratch.substitute(arg));
        }
        for (key, value) in case.env {
            cmd.env(key, value);
        }
        let out = cmd.output().expect("covshard runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut problems = Vec::new();
        if out.status.code() != Some(case.code) {
            problems.push(format!(
                "exit code {:?}, expected {}",
                out.status.code(),
                case.code
            ));
        }
        for want in case.stderr {
            let want = scratch.substitute(want);
            if !stderr.contains(&want) {
                problems.push(format!("stderr lacks {want:?}"));
            }
        }
        if case.code != OK {
            if !stdout.is_empty() {
                problems.push("stdout is not empty".to_string());
            }
            // clap's own usage errors have no `error:` line when no subcommand is given.
            if !stderr.contains("error:") && !case.args.is_empty() {
                problems.push("stderr has no `error:` line".to_string());
            }
            if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
                problems.push("covshard panicked".to_string());
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  covshard {}\n  stdout: {stdout}\n  stderr: {stderr}",
                case.name,
                problems.join("; "),
                case.args
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_failed_ingest_leaves_the_data_file_unchanged() {
    let scratch = scratch();
    let data = fixtures().join("data");
    let reports = [
        ("--junit", "malformed.xml"),
        ("--junit", "truncated.xml"),
        ("--junit", "surefire.xml"),
        ("--durations", "bad.test_durations"),
        ("--reportlog", "bad.jsonl"),
    ];
    // Once on a file covshard never wrote to, once on a file with a run in it already.
    for prior_ingest in [false, true] {
        for (flag, report) in reports {
            let db = scratch.root.join("unchanged.coverage");
            std::fs::copy(data.join("lines.coverage"), &db).unwrap();
            if prior_ingest {
                let mut cmd = scratch.command("repo");
                cmd.args(["ingest", "-q", "--db"])
                    .arg(&db)
                    .arg("--junit")
                    .arg(data.join("junit.xml"));
                run_ok(&mut cmd);
            }
            let before = std::fs::read(&db).unwrap();
            // A good report first: a bad one later in the same call must undo nothing.
            let out = scratch
                .command("repo")
                .args(["ingest", "--db"])
                .arg(&db)
                .arg("--durations")
                .arg(data.join(".test_durations"))
                .arg(flag)
                .arg(scratch.root.join(report))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(INPUT), "{report}");
            assert!(
                std::fs::read(&db).unwrap() == before,
                "{report} (prior ingest: {prior_ingest}) changed the data file"
            );
            assert!(
                !scratch.root.join("unchanged.coverage-journal").exists(),
                "{report} left a journal"
            );
        }
    }
}

#[test]
fn a_read_only_data_file_is_refused_even_for_root() {
    // CI runs as root, which SQLite's own checks let write anywhere: covshard checks the
    // permission bits itself, and must leave the file as it was.
    let scratch = scratch();
    let db = scratch.root.join("readonly.coverage");
    let before = std::fs::read(&db).unwrap();
    let out = scratch
        .command("repo")
        .args(["ingest", "--db"])
        .arg(&db)
        .arg("--junit")
        .arg(fixtures().join("data/junit.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(WRITE));
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // Reading a read-only file is fine.
    let out = scratch
        .command("repo")
        .args(["info", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(OK));
}
