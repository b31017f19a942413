#!/usr/bin/env python3
"""Check that two covshard binaries give the same outputs, byte for byte.

For refactors that must not change behaviour: every command (info, ingest, durations, select
in each format, explain, plan with each matrix, tests, tune, report) runs with both binaries on
the generated large set (its diff-1, diff-20 and diff-200 branches) and on the fixture project
(the real data file that pytest-cov wrote, with edits of a function body, a module-level
constant and a test file), and their stdout, stderr, exit codes and written files are compared.

    python3 benchmarks/same_outputs.py --before OLD_BINARY --after NEW_BINARY

The large set comes from `target/release/examples/generate --size large`. Exits 1 and prints
the first differing lines of each command that differs; `--allow NAME` lists commands whose
output is meant to change (say why in the commit).
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(binary: Path, args: list[str], cwd: Path) -> dict[str, bytes]:
    env = dict(os.environ, NO_COLOR="1", CI="true")
    env.pop("GITHUB_OUTPUT", None)
    proc = subprocess.run([str(binary), *args], cwd=cwd, capture_output=True, env=env)
    # The two runs work in different temporary directories.
    here = bytes(cwd)
    return {
        "stdout": proc.stdout.replace(here, b"<dir>"),
        "stderr": proc.stderr.replace(here, b"<dir>"),
        "exit": str(proc.returncode).encode(),
    }


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def commands(db: str, base: str, first_test: str | None) -> list[tuple[str, list[str]]]:
    common = ["--db", db, "--base", base]
    out = [
        ("info", ["info", "--db", db]),
        ("info-json", ["info", "--db", db, "--format", "json"]),
        ("durations", ["durations", "--db", db]),
        ("durations-json", ["durations", "--db", db, "--format", "json", "--top", "30"]),
        ("select-text", ["select", *common]),
        ("select-lines", ["select", *common, "--format", "lines"]),
        ("select-json", ["select", *common, "--format", "json"]),
        ("plan-github", ["plan", *common, "--shards", "8", "--out", "plan.json"]),
        ("tests-1", ["tests", "--plan", "plan.json", "--shard", "1"]),
        ("tests-json", ["tests", "--plan", "plan.json", "--shard", "2", "--format", "json"]),
        ("report-md", ["report", "--plan", "plan.json", "--markdown"]),
        ("plan-auto-gitlab", ["plan", *common, "--shards", "auto", "--out", "plan-auto.json",
                              "--matrix", "gitlab"]),
        ("plan-all", ["plan", "--db", db, "--all", "--shards", "16", "--out", "plan-all.json"]),
        ("tune", ["tune", *common]),
        ("tune-json", ["tune", *common, "--format", "json"]),
    ]
    if first_test:
        out.append(("explain", ["explain", *common, first_test]))
    return out


def compare_set(name: str, before: Path, after: Path, make: "callable", allow: set[str]) -> int:
    """Run every command in two fresh copies made by `make(dir)`; return the differences."""
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {}
        for side in ("before", "after"):
            dirs[side] = Path(tmp) / side
            make(dirs[side])
        db, base = ".coverage", "base"
        first = run(before, ["select", "--db", db, "--base", base, "--format", "lines"],
                    dirs["before"])["stdout"].decode().splitlines()
        results = {}
        for side, binary in (("before", before), ("after", after)):
            ingest = ["ingest", "--db", db, "--commit", base]
            reports = sorted(p.name for p in (dirs[side] / "reports").glob("junit-*.xml")) \
                if (dirs[side] / "reports").is_dir() else []
            if reports:
                ingest += ["--junit", "reports/junit-*.xml"]
            elif (dirs[side] / "junit.xml").exists():
                ingest += ["--junit", "junit.xml"]
            outputs = {"ingest": run(binary, ingest, dirs[side])}
            for label, args in commands(db, base, first[0] if first else None):
                outputs[label] = run(binary, args, dirs[side])
            for written in ("plan.json", "plan-auto.json", "plan-all.json"):
                path = dirs[side] / written
                outputs[f"file {written}"] = {"content": path.read_bytes() if path.exists() else b""}
            results[side] = outputs
        for label, streams in results["before"].items():
            for stream, old in streams.items():
                new = results["after"][label][stream]
                if old == new:
                    continue
                tag = f"{name}: {label} ({stream})"
                if label in allow:
                    print(f"changed as allowed: {tag}")
                    continue
                differences += 1
                print(f"DIFFERS: {tag}")
                diff = difflib.unified_diff(
                    old.decode(errors="replace").splitlines(),
                    new.decode(errors="replace").splitlines(),
                    "before", "after", lineterm="", n=1,
                )
                for line in list(diff)[:12]:
                    print(f"    {line}")
        checked = sum(len(s) for s in results["before"].values())
        failed = [label for label, s in results["before"].items() if s.get("exit", b"0") != b"0"]
        print(f"{name}: {len(results['before'])} commands, {checked} outputs compared"
              + (f"; non-zero exit (both sides compared): {', '.join(failed)}" if failed else ""))
    return differences


def large_set(source: Path, branch: str):
    def make(dir: Path) -> None:
        shutil.copytree(source, dir, symlinks=True)
        git(dir, "checkout", "-q", branch)
    return make


def fixture_project(dir: Path) -> None:
    shutil.copytree(REPO / "tests/fixtures/project", dir,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    (dir / ".gitignore").write_text(".coverage\njunit.xml\nplan*.json\n")
    git(dir, "init", "-q")
    git(dir, "add", "-A")
    git(dir, "commit", "-q", "-m", "base")
    git(dir, "tag", "base")
    shutil.copy(REPO / "tests/fixtures/data/lines.coverage", dir / ".coverage")
    shutil.copy(REPO / "tests/fixtures/data/junit.xml", dir / "junit.xml")
    edits = [
        ("src/shop/pricing.py", "item.total * 0.1", "item.total * 0.2"),
        ("src/shop/constants.py", None, "\nNEW_LIMIT = 3\n"),
        ("tests/test_models.py", None, "\n\ndef test_added():\n    assert True\n"),
    ]
    for path, old, new in edits:
        file = dir / path
        text = file.read_text()
        file.write_text(text.replace(old, new, 1) if old else text + new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--large", type=Path, default=REPO / "benchmarks/data/large")
    parser.add_argument("--allow", action="append", default=[])
    args = parser.parse_args()
    args.before, args.after = args.before.resolve(), args.after.resolve()
    allow = set(args.allow)
    differences = compare_set("fixture project", args.before, args.after, fixture_project, allow)
    if (args.large / ".coverage").exists():
        for branch in ("diff-1", "diff-20", "diff-200"):
            differences += compare_set(f"large {branch}", args.before, args.after,
                                       large_set(args.large, branch), allow)
    else:
        print(f"no large set at {args.large}: generate it with "
              "`target/release/examples/generate --size large`", file=sys.stderr)
        return 2
    print("identical" if differences == 0 else f"{differences} output(s) differ")
    return 0 if differences == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
