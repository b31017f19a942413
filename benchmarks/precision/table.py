#!/usr/bin/env python3
"""Markdown tables of the precision benchmark's results (written by run.py).

Usage: table.py [results.json]   (default: the results.json beside this script)

For each project and group of change (function bodies, import-time and class-level code, real
commits), and over all: how many changes, how many failing tests each tool missed, and the mean
fraction of the suite each tool selected, with covshard's mean over testmon's. A change where a
tool missed a failing test is listed after the tables with the tests it missed.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROUPS = [("body", "function bodies"), ("import-time", "import-time and class-level"), ("commit", "real commits")]


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def row(label, results):
    if not results:
        return None
    cs = mean(r["covshard_ratio"] for r in results)
    tm = mean(r["testmon_ratio"] for r in results)
    relative = f"{cs / tm:.2f}x" if tm else "-"
    failing = sum(1 for r in results if r["failing"])
    return (
        f"| {label} | {len(results)} | {failing} "
        f"| {sum(len(r['covshard_missed']) for r in results)} "
        f"| {sum(len(r['testmon_missed']) for r in results)} "
        f"| {cs:.3f} | {tm:.3f} | {relative} |"
    )


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results.json"
    data = json.loads(path.read_text())
    results = data["results"]
    print(f"Command: `{data['command']}`  ")
    print(f"covshard {data['covshard']}; {len(results)} changes in {data['seconds']} s.  ")
    tools = [t for t in data["tools"] if t.split("==")[0].lower() in {"pytest", "pytest-cov", "coverage", "pytest-testmon"}]
    print("Tools: " + ", ".join(tools) + ".")
    print()
    print("| project / group | changes | with failures | covshard missed | testmon missed | covshard mean selected | testmon mean selected | covshard / testmon |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    projects = sorted({r["project"] for r in results})
    for project in projects:
        mine = [r for r in results if r["project"] == project]
        for group, label in GROUPS:
            line = row(f"{project}: {label}", [r for r in mine if r["group"] == group])
            if line:
                print(line)
        print(row(f"**{project}: all**", mine))
    for group, label in GROUPS:
        line = row(f"**all projects: {label}**", [r for r in results if r["group"] == group])
        if line:
            print(line)
    print(row("**all projects, all changes**", results))
    print()
    print("Mean selected by kind of synthetic edit (all projects):")
    print()
    print("| kind | changes | covshard mean selected | testmon mean selected | covshard missed | testmon missed |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in sorted({r["kind"] for r in results}):
        mine = [r for r in results if r["kind"] == kind]
        print(
            f"| {kind} | {len(mine)} | {mean(r['covshard_ratio'] for r in mine):.3f} "
            f"| {mean(r['testmon_ratio'] for r in mine):.3f} "
            f"| {sum(len(r['covshard_missed']) for r in mine)} "
            f"| {sum(len(r['testmon_missed']) for r in mine)} |"
        )
    misses = [r for r in results if r["covshard_missed"] or r["testmon_missed"]]
    if misses:
        print()
        print("Changes where a tool missed a failing test:")
        print()
        for r in misses:
            who = []
            if r["covshard_missed"]:
                who.append(f"covshard missed {len(r['covshard_missed'])} ({', '.join(r['covshard_missed'][:3])})")
            if r["testmon_missed"]:
                who.append(f"testmon missed {len(r['testmon_missed'])} ({', '.join(r['testmon_missed'][:3])})")
            print(f"- {r['project']} {r['kind']}: {r['change']}: " + "; ".join(who))


if __name__ == "__main__":
    main()
