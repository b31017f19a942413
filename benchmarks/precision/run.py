#!/usr/bin/env python3
"""Issue 14's precision benchmark: covshard and pytest-testmon on real projects, judged by
real pytest runs.

For each project (pinned sdists from PyPI, see PROJECTS), and for two kinds of change:
- synthetic edits, seeded: a line changed, inserted or deleted in a function body, a module
  constant, a class attribute, a default argument, a decorator removed, a function deleted, a
  new import, a new function with a new test file;
- real commits of the project's own history, from a local clone of its public repository
  (`--history NAME=PATH`): each commit's parent is the base, its diff the change;

this script records the base the way CI does (one full run with `--cov=PKG
--cov-context=test` for covshard, one `--testmon` run for testmon), applies the change to the
working tree without committing it, runs the WHOLE suite to learn which tests fail (the ground
truth), and asks both tools what they would run: `covshard select --format json` and
`pytest --testmon --collect-only -q`. A failing test that a tool did not select is a miss.

Nothing of a project is kept in covshard's repository: the sdists are downloaded from PyPI
into the work directory, the histories are read from the clone given.

Usage: run.py [--work DIR] [--projects toolz,cachetools,marshmallow] [--edits N]
              [--commits N] [--history toolz=/path/to/clone ...] [--out results.json]
              [--python PYTHON] [--covshard BINARY]
Then: table.py results.json > RESULTS.md tables.
"""

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COVSHARD = REPO / "target" / "release" / "covshard"

# name: sdist pin, the package coverage measures, where the package lives, the test command's
# paths, extra pytest arguments, and the default clone of its history (the fetch mirror here).
PROJECTS = {
    "toolz": {
        "pin": "toolz==1.2.0",
        "package": "toolz",
        "src": ".",
        "tests": ["toolz"],
        "args": [],
        "history": "/work/.mirror/pytoolz+toolz/repo",
        "history_src": ".",
    },
    "cachetools": {
        "pin": "cachetools==8.0.2",
        "package": "cachetools",
        "src": "src",
        "tests": ["tests"],
        "args": [],
        "history": "/work/.mirror/tkem+cachetools/repo",
        "history_src": "src",
    },
    "marshmallow": {
        "pin": "marshmallow==3.26.2",
        "package": "marshmallow",
        "src": "src",
        "tests": ["tests"],
        # Needs the installed package's metadata, which a source tree does not have.
        "args": ["--deselect", "tests/test_version_attributes.py"],
        "history": "/work/.mirror/marshmallow-code+marshmallow/repo",
        "history_src": "src",
    },
}

# Kinds of synthetic edit, and whether each is import-time or class-level code (the issue's
# "import-time and class-level changes") or a function body.
KINDS = {
    "body-changed": "body",
    "body-inserted": "body",
    "body-deleted": "body",
    "module-constant": "import-time",
    "class-attribute": "import-time",
    "default-argument": "import-time",
    "decorator-removed": "import-time",
    "function-deleted": "import-time",
    "new-import": "import-time",
    "new-function-with-test": "import-time",
}


def sh(cmd, cwd, env=None, check=True, timeout=900):
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{cmd} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def git(cwd, *args, check=True):
    return sh(
        ["git", "-c", "user.email=bench@covshard.invalid", "-c", "user.name=bench", *args],
        cwd,
        check=check,
    )


def env_for(project, root):
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = str(root / project["src"])
    env.pop("COVERAGE_FILE", None)
    return env


class Suite:
    """One project checked out as its own git repository at a base commit."""

    def __init__(self, python, name, project, root):
        self.python, self.name, self.project, self.root = python, name, project, Path(root)
        self.base = git(self.root, "rev-parse", "HEAD").stdout.strip()

    def pytest(self, *extra, env_extra=None):
        env = env_for(self.project, self.root)
        env.update(env_extra or {})
        cmd = [self.python, "-m", "pytest", "-q", "-W", "ignore", *self.project["args"], *extra, *self.project["tests"]]
        return sh(cmd, self.root, env=env, check=False)

    def outcome(self, log):
        """Run the whole suite; the tests it ran, and those that failed (or files that no longer
        collect). `None` for the failures when pytest could not start (a conftest or the package
        its plugins import no longer imports): then every test fails."""
        self.pytest("-p", "no:cacheprovider", "-p", "no:testmon", f"--report-log={log}")
        tests, failed = set(), set()
        if not Path(log).exists():
            return tests, None
        for line in Path(log).read_text().splitlines():
            record = json.loads(line)
            kind, nodeid = record.get("$report_type"), record.get("nodeid", "")
            if kind == "TestReport":
                tests.add(nodeid)
                if record["outcome"] == "failed":
                    failed.add(nodeid)
            elif kind == "CollectReport" and record["outcome"] == "failed" and nodeid:
                failed.add(nodeid)
        Path(log).unlink()
        return tests, failed

    def record_base(self, scratch):
        """The base as CI keeps it: covshard's data file (ingested) and testmon's."""
        db = scratch / f"{self.name}.coverage"
        for stale in [db, self.root / ".testmondata"]:
            if stale.exists():
                stale.unlink()
        log = scratch / f"{self.name}-base.jsonl"
        env = {"COVERAGE_FILE": str(db)}
        self.pytest(
            "-p", "no:cacheprovider", "-p", "no:testmon",
            f"--cov={self.project['package']}", "--cov-report=", "--cov-context=test",
            f"--report-log={log}", env_extra=env,
        )
        sh([COVSHARD, "ingest", "-q", "--db", db, "--commit", self.base, "--reportlog", log], self.root)
        tests, failed = self.outcome(log)
        self.pytest("--testmon")
        shutil.copy(self.root / ".testmondata", scratch / f"{self.name}.testmondata")
        self.db, self.testmon = db, scratch / f"{self.name}.testmondata"
        return tests, failed

    def reset(self):
        git(self.root, "reset", "-q", "--hard", self.base)
        git(self.root, "clean", "-fdq", "-e", ".testmondata")
        shutil.copy(self.testmon, self.root / ".testmondata")

    def covshard(self):
        start = time.perf_counter()
        out = sh([COVSHARD, "select", "-q", "--db", self.db, "--base", self.base, "--format", "json"], self.root)
        seconds = time.perf_counter() - start
        data = json.loads(out.stdout)
        return data, seconds

    def testmon_selection(self):
        start = time.perf_counter()
        out = self.pytest("--testmon", "--collect-only")
        seconds = time.perf_counter() - start
        ids = {line.strip() for line in out.stdout.splitlines() if "::" in line and not line.startswith(" ")}
        # testmon lists nothing when nothing is affected ("no tests ran").
        return ids, seconds


def covered(selection, suite):
    """The tests of `suite` a covshard selection stands for."""
    if selection["run_all"]:
        return set(suite)
    out = set()
    ids = selection["tests"]
    for test in suite:
        file = test.split("::")[0]
        for sel in ids:
            if sel == test or sel == "." or file == sel or file.startswith(sel.rstrip("/") + "/"):
                out.add(test)
                break
            if "::" in sel and test.startswith(sel + "["):
                out.add(test)
                break
    return out


def judge(name, kind, change, suite, failed, base_failed, covshard, testmon):
    selection, cs_seconds = covshard
    tm_ids, tm_seconds = testmon
    failing = failed - base_failed
    # New tests (a new test file's) and files that no longer collect count too.
    runnable = suite | failing
    cs = covered(selection, runnable)
    tm = set()
    for test in runnable:
        file = test.split("::")[0]
        if test in tm_ids or ("::" not in test and any(t.startswith(file + "::") for t in tm_ids)):
            tm.add(test)
    # A test file that no longer collects: testmon selects its tests or nothing.
    size = max(len(suite), 1)
    return {
        "project": name,
        "kind": kind,
        "group": KINDS.get(kind, "commit"),
        "change": change,
        "suite": len(suite),
        "failing": sorted(failing),
        "covshard_selected": len(cs & suite),
        "testmon_selected": len(tm & suite),
        "covshard_ratio": len(cs & suite) / size,
        "testmon_ratio": len(tm & suite) / size,
        "covshard_missed": sorted(failing - cs),
        "testmon_missed": sorted(failing - tm),
        "covshard_seconds": round(cs_seconds, 3),
        "testmon_seconds": round(tm_seconds, 3),
        "run_all": selection["run_all"],
    }


# --- Synthetic edits ---------------------------------------------------------------------------


def sites(root, package_dir):
    """Candidate places for each kind of edit, from the package's non-test modules."""
    out = {kind: [] for kind in KINDS}
    for path in sorted(Path(root, package_dir).rglob("*.py")):
        rel = str(path.relative_to(root))
        if "/tests/" in f"/{rel}" or path.name.startswith("test_"):
            continue
        text = path.read_text()
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(getattr(s, "value", None), ast.Constant))]
                if body and body[0].lineno > node.lineno:
                    first = body[0]
                    indent = " " * first.col_offset
                    out["body-inserted"].append((rel, first.lineno, indent))
                    for stmt in body:
                        if stmt.end_lineno == stmt.lineno and isinstance(stmt, (ast.Return, ast.Assign, ast.AugAssign)):
                            out["body-changed"].append((rel, stmt.lineno))
                        if len(body) > 1 and stmt.end_lineno == stmt.lineno and isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Expr)):
                            out["body-deleted"].append((rel, stmt.lineno))
                for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                    if isinstance(default, ast.Constant) and default.lineno == default.end_lineno:
                        out["default-argument"].append((rel, default.lineno, default.col_offset, default.end_col_offset))
                for deco in node.decorator_list:
                    if deco.lineno == deco.end_lineno:
                        out["decorator-removed"].append((rel, deco.lineno))
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.lineno == node.end_lineno:
                if not any(isinstance(t, ast.Name) and t.id.startswith("__") for t in node.targets):
                    out["module-constant"].append((rel, node.lineno))
            if isinstance(node, ast.FunctionDef) and node.end_lineno:
                out["function-deleted"].append((rel, node.lineno, node.end_lineno, len(node.decorator_list)))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant) and item.lineno == item.end_lineno:
                        out["class-attribute"].append((rel, item.lineno))
        out["new-import"].append((rel,))
        out["new-function-with-test"].append((rel,))
    return out


def mutate_constant(line):
    """Change the first literal of a line: a number grows by one, a string gains a letter,
    True and False swap, None becomes 0."""
    for pattern, repl in [
        (r"(?<![\w.])(\d+)(?![\w.])", lambda m: str(int(m.group(1)) + 1)),
        (r"(['\"])([^'\"]*)\1", lambda m: f"{m.group(1)}{m.group(2)}x{m.group(1)}"),
        (r"\bTrue\b", lambda m: "False"),
        (r"\bFalse\b", lambda m: "True"),
        (r"\bNone\b", lambda m: "0"),
    ]:
        new, n = re.subn(pattern, repl, line, count=1)
        if n:
            return new
    return None


def apply_edit(root, kind, site, serial):
    """Apply one synthetic edit in the working tree; its description, or None if the site does
    not take it."""
    path = Path(root, site[0])
    lines = path.read_text().splitlines(keepends=True)
    if kind == "body-inserted":
        _, lineno, indent = site
        lines.insert(lineno - 1, f"{indent}raise RuntimeError('covshard mutation')\n")
        desc = f"{site[0]}:{lineno} raise inserted"
    elif kind in ("body-changed", "module-constant", "class-attribute"):
        _, lineno = site
        new = mutate_constant(lines[lineno - 1])
        if new is None:
            if kind != "body-changed":
                return None
            stripped = lines[lineno - 1].rstrip("\n")
            if stripped.strip().startswith("return "):
                new = stripped.replace("return ", "return None and ", 1) + "\n"
            else:
                return None
        lines[lineno - 1] = new
        desc = f"{site[0]}:{lineno} {lines[lineno - 1].strip()[:60]}"
    elif kind == "body-deleted":
        _, lineno = site
        desc = f"{site[0]}:{lineno} deleted: {lines[lineno - 1].strip()[:60]}"
        indent = re.match(r"\s*", lines[lineno - 1]).group(0)
        lines[lineno - 1] = f"{indent}pass\n"
    elif kind == "default-argument":
        _, lineno, start, end = site
        line = lines[lineno - 1]
        literal = line[start:end]
        new = mutate_constant(literal) or ("1" if literal == "None" else None)
        if new is None or new == literal:
            return None
        lines[lineno - 1] = line[:start] + new + line[end:]
        desc = f"{site[0]}:{lineno} default {literal} -> {new}"
    elif kind == "decorator-removed":
        _, lineno = site
        desc = f"{site[0]}:{lineno} removed {lines[lineno - 1].strip()[:60]}"
        del lines[lineno - 1]
    elif kind == "function-deleted":
        _, lineno, end, decorators = site
        start = lineno - decorators
        desc = f"{site[0]}:{lineno} deleted function {lines[lineno - 1].strip()[:50]}"
        del lines[start - 1 : end]
    elif kind == "new-import":
        # After the module docstring and `from __future__` imports, which must come first.
        tree = ast.parse("".join(lines))
        after = 0
        for node in tree.body:
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            if (docstring and after == 0) or future:
                after = node.end_lineno
            else:
                break
        lines.insert(after, "import os  # noqa: F401\n")
        desc = f"{site[0]}:{after + 1} import os"
    elif kind == "new-function-with-test":
        module = site[0][:-3].replace("/", ".")
        for prefix in ("src.",):
            module = module.removeprefix(prefix)
        module = module.removesuffix(".__init__")
        name = f"covshard_new_{serial}"
        lines.append(f"\n\ndef {name}(x):\n    return x + 1\n")
        test = Path(root, "tests", f"test_covshard_new_{serial}.py")
        if not test.parent.is_dir():
            test = Path(root, module.split(".")[0], "tests", f"test_covshard_new_{serial}.py")
        test.write_text(f"from {module} import {name}\n\n\ndef test_{name}():\n    assert {name}(1) == 3\n")
        desc = f"{site[0]}: new function {name} with {test.relative_to(root)}"
    else:
        return None
    path.write_text("".join(lines))
    return desc


def run_edits(python, name, project, work, count, seed):
    root = work / name
    suite = Suite(python, name, project, root)
    scratch = work / "scratch"
    tests, base_failed = suite.record_base(scratch)
    found = sites(root, project["src"] if project["src"] != "." else project["package"])
    rng = random.Random(seed)
    results = []
    per_kind = max(1, count // len(KINDS))
    for kind in KINDS:
        candidates = list(found[kind])
        rng.shuffle(candidates)
        done = 0
        for site in candidates:
            if done >= per_kind:
                break
            suite.reset()
            desc = apply_edit(root, kind, site, f"{kind}-{done}".replace("-", "_"))
            if desc is None:
                continue
            after, failed = suite.outcome(scratch / "edit.jsonl")
            failed = set(tests) if failed is None else failed
            if not after and not failed:
                continue
            result = judge(name, kind, desc, tests, failed, base_failed, suite.covshard(), suite.testmon_selection())
            results.append(result)
            print(f"  {name} {kind}: failing {len(result['failing'])}, covshard {result['covshard_selected']}, testmon {result['testmon_selected']} of {result['suite']}; missed {len(result['covshard_missed'])}/{len(result['testmon_missed'])}  {desc}", flush=True)
            done += 1
    suite.reset()
    return results


# --- Real commits ----------------------------------------------------------------------------


def run_commits(python, name, project, work, history, count):
    """Each of the last `count` commits that change Python files, replayed on its parent."""
    src = project["history_src"]
    pkg_path = f"{src}/{project['package']}" if src != "." else project["package"]
    log = git(history, "log", "--no-merges", "--format=%H", "-n", str(count * 4), "--", f"{pkg_path}/*.py", "tests").stdout.split()
    results = []
    for commit in log:
        if len(results) >= count:
            break
        parent = git(history, "rev-parse", f"{commit}^", check=False).stdout.strip()
        if not parent:
            continue
        root = work / f"{name}-commit"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        tar_path = work / "parent.tar"
        subprocess.run(["git", "-C", str(history), "archive", "--format=tar", "-o", str(tar_path), parent], check=True)
        with tarfile.open(tar_path) as tar:
            tar.extractall(root, filter="data")
        (root / ".gitignore").write_text(".coverage*\n.testmondata*\n__pycache__/\n.pytest_cache/\n")
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "parent")
        diff = git(history, "diff", "--binary", parent, commit).stdout
        suite = Suite(python, name, project, root)
        scratch = work / "scratch"
        try:
            tests, base_failed = suite.record_base(scratch)
        except Exception as error:  # noqa: BLE001
            # The command, then the end of what it said.
            said = str(error)
            print(f"  {name} {commit[:10]}: base not usable ({said[:120]} ... {said[-400:]})", flush=True)
            continue
        if not tests:
            continue
        # A parent whose suite mostly fails gives no ground truth (a test dependency the pinned
        # requirements lack, say, fails every test that imports it); a few failures at the
        # parent are left out of the change's failures (`judge`).
        if base_failed is None or len(base_failed) * 4 > len(tests):
            count_failed = "every test" if base_failed is None else f"{len(base_failed)} tests"
            print(f"  {name} {commit[:10]}: base not usable ({count_failed} fail at the parent)", flush=True)
            continue
        suite.reset()
        applied = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=root, input=diff, text=True, capture_output=True)
        if applied.returncode != 0:
            continue
        after, failed = suite.outcome(scratch / "commit.jsonl")
        failed = set(tests) if failed is None else failed
        subject = git(history, "log", "-1", "--format=%s", commit).stdout.strip()
        result = judge(name, "commit", f"{commit[:10]} {subject[:70]}", tests, failed, base_failed, suite.covshard(), suite.testmon_selection())
        results.append(result)
        print(f"  {name} commit {commit[:10]}: failing {len(result['failing'])}, covshard {result['covshard_selected']}, testmon {result['testmon_selected']} of {result['suite']}; missed {len(result['covshard_missed'])}/{len(result['testmon_missed'])}  {subject[:60]}", flush=True)
    return results


def prepare(python, name, project, work):
    """Download the pinned sdist, unpack it as a git repository."""
    downloads = work / "sdists"
    downloads.mkdir(parents=True, exist_ok=True)
    sh([python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", project["pin"], "-d", downloads], work)
    base = project["pin"].replace("==", "-")
    tarball = next(downloads.glob(f"{base}.tar.gz"))
    root = work / name
    if root.exists():
        shutil.rmtree(root)
    with tarfile.open(tarball) as tar:
        tar.extractall(work, filter="data")
    (work / base).rename(root)
    (root / ".gitignore").write_text(".coverage*\n.testmondata*\n__pycache__/\n.pytest_cache/\n*.egg-info/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")


def main():
    global COVSHARD
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/covshard-precision"))
    parser.add_argument("--projects", default=",".join(PROJECTS))
    parser.add_argument("--edits", type=int, default=40, help="synthetic edits per project")
    parser.add_argument("--commits", type=int, default=12, help="real commits per project")
    parser.add_argument("--history", action="append", default=[], help="NAME=PATH of a clone")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--covshard", type=Path, default=COVSHARD, help="the binary to measure")
    args = parser.parse_args()
    COVSHARD = args.covshard.resolve()
    histories = dict(h.split("=", 1) for h in args.history)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "scratch").mkdir(exist_ok=True)
    versions = sh([args.python, "-m", "pip", "freeze"], args.work).stdout.split()
    results = []
    started = time.time()
    covshard_version = sh([COVSHARD, "--version"], args.work).stdout.strip()
    commit = git(REPO, "rev-parse", "--short", "HEAD").stdout.strip()

    def write():
        # After each project, so that a run that stops half-way keeps what it measured.
        args.out.write_text(json.dumps({
            "command": "python benchmarks/precision/run.py " + " ".join(sys.argv[1:]),
            "covshard": f"{covshard_version} ({commit})",
            "tools": versions,
            "seconds": round(time.time() - started),
            "results": results,
        }, indent=1) + "\n")

    for name in args.projects.split(","):
        project = PROJECTS[name]
        print(f"== {name}", flush=True)
        prepare(args.python, name, project, args.work)
        results += run_edits(args.python, name, project, args.work, args.edits, args.seed)
        history = histories.get(name, project["history"])
        if args.commits and (Path(history, ".git").exists() or Path(history, "HEAD").exists()):
            results += run_commits(args.python, name, project, args.work, history, args.commits)
        else:
            print(f"  no history at {history}: real commits skipped", flush=True)
        write()
    print(f"wrote {args.out} ({len(results)} changes, {round(time.time() - started)} s)")


if __name__ == "__main__":
    main()
