#!/usr/bin/env python3
"""Issue 5, first target: run real shards of a generated pytest suite and time them.

For each suite (`fixtures`, `plain`) this script
1. generates the suite (make_suite.py, seeded) in a scratch directory outside any git repo;
2. measures one pytest start-up: the median wall time of `pytest -k <nothing>` (start-up plus
   collecting the whole suite, then deselecting everything);
3. records durations the way a main-branch CI run would, in ONE serial run:
   `pytest --cov --cov-context=test --junitxml --store-durations --report-log`, so covshard and
   pytest-split get durations of the same run;
4. builds covshard's data file as its README's CI loop does: the `.coverage` file of that run
   (per-test contexts) plus `covshard ingest --junit`; a second data file ingests the
   `--reportlog` of the same run instead (phase splits, so group setup costs can be estimated);
5. for N in 2, 4, 8, 16 and each tool, runs the N shards ONE AT A TIME (in CI every shard has a
   machine of its own) and times each shard's pytest process from spawn to exit.

Why one at a time and not in parallel: this machine has 2 cores shared with other builds; shards
in parallel would measure contention, not the plan.

Tools:
- covshard / covshard-reportlog: `covshard plan --all --shards N --shard-overhead STARTUP
  --group-by auto`, then `covshard tests --shard K` -> `pytest @ids`.
- ps-least: pytest-split `--splitting-algorithm least_duration` (greedy LPT by test).
- ps-chunks: pytest-split's default `duration_based_chunks` (contiguous chunks in suite order).

Output: results.json (every shard's time, every plan's prediction) and a summary on stdout.
RESULTS.md is written by hand from results.json.

Usage: run.py [--work DIR] [--ns 2,4,8,16] [--suites fixtures,modules,plain] [--tools T,...]
              [--workers W [--dist MODE]] [--out results.json]

With --workers W every shard runs `pytest -n W` (covshard plans for W workers with --dist
MODE and passes the options `covshard tests --format args` prints; pytest-split's groups run
with `-n W`, xdist's default `load`), each shard still alone on the machine.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PY = REPO / ".venv" / "bin" / "python"
COVSHARD = REPO / "target" / "release" / "covshard"
# Every pytest call: no cache plugin (so no run depends on the previous one's .pytest_cache),
# quiet output, and no warnings summary to parse around.
PYTEST = [str(PY), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-W", "ignore"]

TOOLS = {
    "fixtures": ["covshard", "covshard-reportlog", "ps-least", "ps-chunks"],
    "modules": ["covshard", "covshard-reportlog", "ps-least", "ps-chunks"],
    # Without fixtures the check is "no worse than LPT": pytest-split's least_duration is LPT.
    "plain": ["covshard", "ps-least"],
}


def sh(cmd, cwd, **kw):
    """Run a command, fail loudly with its output if it fails."""
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout}\n{p.stderr}")
    return p


def timed_pytest(args, cwd):
    """Wall time of one pytest process, and how many tests passed / did not.

    pytest's exit code 5 (nothing collected) is fine for the start-up measurement only.
    """
    t0 = time.perf_counter()
    p = subprocess.run(PYTEST + args, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    tail = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|errors?|deselected)", tail)}
    return wall, p.returncode, counts, tail


# Each suite's seed: `modules` at seed 7 has the size (about 340 tests, 48 s).
SEEDS = {"fixtures": 5, "modules": 7, "plain": 5}


def measure_startup(suite, repeats=7, xdist=()):
    """Median wall time of pytest selecting nothing: interpreter, plugins, collection (with
    `xdist`, e.g. `-n 2`: also the workers' start-up and their own collection)."""
    walls = [timed_pytest([*xdist, "-k", "no_such_test_anywhere"], suite)[0]
             for _ in range(repeats)]
    return statistics.median(walls), walls


def record(suite):
    """One serial run that writes every duration format; returns its wall time and work."""
    for f in ["junit.xml", "report.jsonl", ".test_durations", ".coverage"]:
        (suite / f).unlink(missing_ok=True)
    wall, rc, counts, tail = timed_pytest(
        ["--cov", "--cov-context=test", "--cov-report=", "--junitxml=junit.xml",
         "--store-durations", "--durations-path=.test_durations", "--report-log=report.jsonl"],
        suite)
    assert rc == 0, tail
    # Serial work: the sum of every test's setup + call + teardown, as pytest measured it.
    work = 0.0
    for line in (suite / "report.jsonl").read_text().splitlines():
        ev = json.loads(line)
        if ev.get("$report_type") == "TestReport":
            work += ev["duration"]
    return {"wall": wall, "work": work, "passed": counts.get("passed", 0)}


def make_db(suite, kind):
    """A covshard data file: the recording run's .coverage plus one ingested report."""
    db = suite / f"data-{kind}.coverage"
    shutil.copy(suite / ".coverage", db)
    flag = {"junit": ["--junit", "junit.xml"], "reportlog": ["--reportlog", "report.jsonl"]}[kind]
    sh([COVSHARD, "-q", "ingest", "--db", db.name, "--commit", "measured-run"] + flag, suite)
    return db


def covshard_shards(suite, db, n, overhead, tag, xdist):
    """Plan with covshard, and the pytest arguments of each shard (the xdist options as
    `covshard tests --format args` prints them for the plan)."""
    plan = suite / f"plan-{tag}-{n}.json"
    workers = []
    if xdist:
        workers = ["--workers", str(xdist["workers"]), "--dist", xdist["dist"],
                   "--worker-startup", f"{xdist['startup']:.3f}"]
    sh([COVSHARD, "-q", "plan", "--db", db.name, "--all", "--shards", str(n),
        "--shard-overhead", f"{overhead:.3f}", "--group-by", "auto", *workers,
        "--out", plan.name], suite)
    doc = json.loads(plan.read_text())
    shards = []
    for k in range(1, len(doc["shards"]) + 1):
        base = [COVSHARD, "-q", "tests", "--plan", plan.name, "--shard", str(k), "--any-commit"]
        ids = sh(base, suite).stdout
        args = sh(base + ["--format", "args"], suite).stdout.split()
        f = suite / f"ids-{tag}-{n}-{k}.txt"
        f.write_text(ids)
        shards.append([*args, f"@{f.name}"])
    return shards, doc


def run_tool(suite, tool, n, overhead, dbs, xdist):
    if tool.startswith("covshard"):
        kind = "reportlog" if tool.endswith("reportlog") else "junit"
        shards, doc = covshard_shards(suite, dbs[kind], n, overhead, kind, xdist)
        packing = doc["packing"]
        predicted = {k: packing.get(k) for k in
                     ["makespan_seconds", "p50_seconds", "p95_seconds", "lower_bound_seconds",
                      "efficiency"]}
        predicted["shards"] = [s.get("predicted_seconds") for s in doc["shards"]]
        predicted["group_by"] = packing.get("group_by")
        predicted["algorithm"] = packing.get("algorithm")
    else:
        algo = {"ps-least": "least_duration", "ps-chunks": "duration_based_chunks"}[tool]
        # With workers, pytest-split's group runs under xdist's default `--dist load`.
        extra = ["-n", str(xdist["workers"])] if xdist else []
        shards = [["--splits", str(n), "--group", str(k), "--splitting-algorithm", algo,
                   "--durations-path", ".test_durations", *extra] for k in range(1, n + 1)]
        predicted = None
    walls, passed = [], 0
    for args in shards:  # one at a time
        wall, rc, counts, tail = timed_pytest(args, suite)
        # pytest-split's duration_based_chunks can leave a group empty (pytest exits 5, no
        # tests ran): that shard costs its start-up, and the others hold every test.
        empty = rc == 5 and tool == "ps-chunks" and counts.get("passed", 0) == 0
        assert rc == 0 or empty, f"{tool} N={n} {args}: {tail}"
        walls.append(round(wall, 3))
        passed += counts.get("passed", 0)
    return {"walls": walls, "passed": passed, "predicted": predicted}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/covshard-measured"))
    ap.add_argument("--ns", default="2,4,8,16")
    ap.add_argument("--suites", default="fixtures,plain")
    ap.add_argument("--seed", type=int, default=None, help="one seed for every suite")
    ap.add_argument("--workers", type=int, default=1,
                    help="pytest-xdist workers in every shard (-n); 1 runs plain pytest")
    ap.add_argument("--dist", default="loadscope", help="covshard's --dist with --workers")
    ap.add_argument("--tools", default="", help="comma-separated subset of the tools (a rerun)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    versions = sh([PY, "-m", "pip", "freeze"], REPO).stdout.split()
    results = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "loadavg_at_start": os.getloadavg()},
        "covshard": sh([COVSHARD, "--version"], REPO).stdout.strip(),
        "packages": [v for v in versions if v.split("==")[0].lower() in
                     {"pytest", "pytest-split", "pytest-cov", "coverage", "pytest-reportlog",
                      "pytest-xdist", "execnet"}],
        "seeds": {name: args.seed or SEEDS[name] for name in args.suites.split(",")},
        "workers": args.workers,
        "dist": args.dist if args.workers > 1 else None,
        "suites": {},
    }
    for name in args.suites.split(","):
        suite = args.work / name
        shutil.rmtree(suite, ignore_errors=True)
        sh([sys.executable, HERE / "make_suite.py", "--out", suite, "--variant", name,
            "--seed", str(args.seed or SEEDS[name])], REPO)
        manifest = json.loads((suite / "manifest.json").read_text())
        startup, startup_samples = measure_startup(suite)
        xdist = None
        if args.workers > 1:
            # The workers' start-up: what `-n W` adds to pytest's start-up when it runs nothing.
            with_workers, _ = measure_startup(suite, xdist=["-n", str(args.workers)])
            xdist = {"workers": args.workers, "dist": args.dist,
                     "startup": max(0.0, with_workers - startup),
                     "startup_with_workers": with_workers}
        rec = record(suite)
        assert rec["passed"] == manifest["test_count"], rec
        dbs = {k: make_db(suite, k) for k in ["junit", "reportlog"]}
        print(f"[{name}] {manifest['test_count']} tests, generated serial "
              f"{manifest['serial_seconds']} s, measured work {rec['work']:.2f} s, "
              f"recording wall {rec['wall']:.2f} s, start-up {startup:.3f} s", flush=True)
        out = {"manifest": {k: manifest[k] for k in
                            ["test_count", "test_seconds", "setup_seconds", "serial_seconds"]},
               "startup_seconds": startup, "startup_samples": startup_samples,
               "xdist": xdist,
               "recording": rec, "runs": {}}
        results["suites"][name] = out
        for n in ns:
            # Tools interleaved per N, so slow drifts in the machine's load hit them alike.
            for tool in [t for t in TOOLS[name] if not args.tools or t in args.tools.split(",")]:
                r = run_tool(suite, tool, n, startup, dbs, xdist)
                assert r["passed"] == manifest["test_count"], (tool, n, r["passed"])
                makespan = max(r["walls"])
                # The ideal: serial work over every process, plus one start-up (with workers:
                # pytest's and the workers').
                ideal = rec["work"] / (n * args.workers)
                one_startup = xdist["startup_with_workers"] if xdist else startup
                r.update(makespan=makespan, ideal=ideal, ratio=makespan / ideal,
                         ratio_with_startup=makespan / (ideal + one_startup))
                if r["predicted"]:
                    pred = r["predicted"]["makespan_seconds"]
                    r["prediction_error"] = (pred - makespan) / makespan
                out["runs"].setdefault(str(n), {})[tool] = r
                pe = f" predicted {r['predicted']['makespan_seconds']:.2f} " \
                     f"({r['prediction_error']:+.1%})" if r["predicted"] else ""
                print(f"[{name}] N={n:2d} {tool:18s} makespan {makespan:6.2f} s  ideal "
                      f"{ideal:5.2f}+{one_startup:.2f}  ratio {r['ratio']:.3f} "
                      f"(vs ideal+start-up {r['ratio_with_startup']:.3f}){pe}", flush=True)
                args.out.write_text(json.dumps(results, indent=1) + "\n")
    results["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
