#!/usr/bin/env python3
"""covshard's benchmarks, side by side with what users would pick instead.

    .venv/bin/python benchmarks/bench.py [--repeat N] [--sizes small,medium,large]

Reads the data sets under benchmarks/data/ (made by the `generate` example), runs every command
`--repeat` times after one warm-up run (so the page cache is warm, as on a CI runner that just
downloaded the artifact), and writes the raw numbers to benchmarks/results/results.json and the
tables into benchmarks/RESULTS.md (between the GENERATED markers; the prose around them is kept).

Times are wall-clock times of whole processes (start-up included, as a CI step pays them);
peak memory is the kernel's max RSS of each process, as `/usr/bin/time` prints it. Only the standard library is used here; the selectors and pytest-split run in the
venv's Python because they need coverage.py and pytest-split.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
PYDIR = ROOT / "benchmarks" / "py"
COVSHARD = ROOT / "target" / "release" / "covshard"
PYTHON = ROOT / ".venv" / "bin" / "python"
RECORDED_ROOT = "/home/runner/work/proj/proj"
RESULTS_JSON = ROOT / "benchmarks" / "results" / "results.json"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"

# The targets of issues 3, 4, 5 and 8.
TARGET_SELECT_MS = 150
TARGET_SELECT_RATIO = 30
TARGET_PLAN_MS = 500
TARGET_RSS_MB = 200
TARGET_INGEST_S = 2.0


def run_once(cmd, cwd):
    """(seconds, max RSS in MB, stdout) of one run; fails loudly on a non-zero exit.

    The peak memory comes from `/usr/bin/time -f %M`, not from this process's wait4(): Python
    spawns children with vfork, and Linux carries the parent's RSS high-water mark into the
    child's `ru_maxrss` across exec, so wait4() would report at least this script's own size.
    `time` is a small process, so the number it prints is the command's own.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "MAXRSS_KB %M", *[str(c) for c in cmd]], cwd=cwd, stdout=out, stderr=err
        )
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, cmd))} (in {cwd}) exited {proc.returncode}:\n{stderr}")
    rss_kb = int(stderr.rstrip().rsplit("MAXRSS_KB ", 1)[1])
    return elapsed, rss_kb / 1024, stdout


def measure(cmd, cwd, repeat, prepare=None):
    """Median of `repeat` runs after a warm-up; `prepare` runs (untimed) before each run."""
    times, rss = [], []
    stdout = ""
    for i in range(repeat + 1):
        if prepare:
            prepare()
        elapsed, peak, stdout = run_once(cmd, cwd)
        if i > 0:
            times.append(elapsed)
            rss.append(peak)
    return {
        "command": shlex.join(str(c) for c in cmd),
        "cwd": str(Path(cwd).relative_to(ROOT)) if str(cwd).startswith(str(ROOT)) else str(cwd),
        "times_s": [round(t, 5) for t in times],
        "median_s": round(statistics.median(times), 5),
        "min_s": round(min(times), 5),
        "max_rss_mb": round(max(rss), 1),
        "stdout": stdout,
    }


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def dataset(name):
    """A generated data set with its own git repository, or None (never a parent repository)."""
    path = DATA / name
    if (path / ".coverage").is_file() and (path / ".git").is_dir():
        return path
    return None


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    version = lambda *cmd: subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "rustc": version("rustc", "--version"),
        "python": version(str(PYTHON), "--version"),
        "coverage": version(str(PYTHON), "-c", "import coverage; print(coverage.__version__)"),
        "covshard_commit": version("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "load_average": os.getloadavg(),
    }


def data_facts(ds):
    out = run_once([COVSHARD, "info", "--db", ".coverage"], ds)[2]
    facts = {}
    for line in out.splitlines():
        key, _, value = line.partition("  ")
        facts[key.strip()] = value.strip()
    facts["size_mb"] = round((ds / ".coverage").stat().st_size / 1e6, 1)
    return facts


def bench_info(ds, repeat):
    return measure([COVSHARD, "info", "--db", ".coverage"], ds, repeat)


def node_ids(ds):
    """Every test node id named by the data file's contexts."""
    import sqlite3

    con = sqlite3.connect(f"file:{ds / '.coverage'}?mode=ro", uri=True)
    ids = {c.rsplit("|", 1)[0] for (c,) in con.execute("SELECT context FROM context") if c}
    con.close()
    return ids


def tests_behind(ids, known):
    """The known tests that the ids covshard prints stand for (a path stands for the tests under it)."""
    by_file = {}
    for t in known:
        by_file.setdefault(t.split("::", 1)[0], []).append(t)
    out = set()
    for i in ids:
        if "::" in i:
            out.add(i)
        else:
            prefix = i.rstrip("/")
            for f, tests in by_file.items():
                if prefix in ("", ".") or f == prefix or f.startswith(prefix + "/"):
                    out.update(tests)
    return out


def bench_select(ds, workdir, repeat):
    """covshard select and the two Python selectors on each diff-N branch.

    covshard reads the data file as CI hands it over: ingested on the base commit (history and
    the import index). `covshard_raw` is the same command on the file as pytest wrote it."""
    edits = json.loads((ds / "edits.json").read_text())
    known = node_ids(ds)
    db = ingested_copy(ds, workdir, f"select-{ds.name}")
    results = {}
    for branch in sorted(edits, key=lambda b: int(b.split("-")[1])):
        git(ds, "checkout", "-q", branch)
        try:
            row = {"edits": edits[branch]}
            raw = measure([COVSHARD, "select", "--db", ".coverage", "--base", "base", "--format", "json"], ds, repeat)
            row["covshard_raw"] = {k: v for k, v in raw.items() if k != "stdout"}
            cs = measure([COVSHARD, "select", "--db", db, "--base", "base", "--format", "json"], ds, repeat)
            selected = json.loads(cs.pop("stdout"))
            cs["selected_ids"] = len(selected["tests"])
            ours = set(known) if selected["run_all"] else tests_behind(selected["tests"], known)
            cs["selected_tests"] = len(ours)
            cs["run_all"] = selected["run_all"]
            row["covshard"] = cs
            for name in ("coverage_api", "numbits_sql"):
                script = PYDIR / ("select_coverage_api.py" if name == "coverage_api" else "select_numbits.py")
                r = measure([PYTHON, script, ".coverage", ".", "base", RECORDED_ROOT], ds, repeat)
                out = json.loads(r.pop("stdout"))
                r["selected_ids"] = out["count"]
                r["import_time_hit"] = out["import_time_hit"]
                # Safety check: a test that ran a changed line must be in covshard's selection.
                r["missed_by_covshard"] = sorted(set(out["tests"]) - ours)[:20]
                r["missed_by_covshard_count"] = len(set(out["tests"]) - ours)
                row[name] = r
            results[branch] = row
        finally:
            git(ds, "checkout", "-q", "main")
    return results


def ingested_copy(ds, workdir, name):
    """A copy of the data set's .coverage with its JUnit reports ingested (the baseline a PR sees)."""
    db = workdir / f"{name}.coverage"
    shutil.copyfile(ds / ".coverage", db)
    run_once([COVSHARD, "ingest", "--db", db, "--commit", "base", "--junit", "reports/junit-*.xml"], ds)
    return db


def bench_ingest(ds, workdir, repeat):
    db = workdir / "ingest.coverage"

    def fresh():
        shutil.copyfile(ds / ".coverage", db)

    cases = sum(open(p).read().count("<testcase ") for p in sorted((ds / "reports").glob("junit-*.xml")))
    r = measure(
        [COVSHARD, "ingest", "--db", db, "--commit", "base", "--junit", "reports/junit-*.xml"], ds, repeat, fresh
    )
    r.pop("stdout")
    r["cases"] = cases
    r["files"] = len(list((ds / "reports").glob("junit-*.xml")))
    return r


def bench_plan(ds, db, workdir, repeat):
    """`plan` end to end on the diff-20 branch, and for the whole suite."""
    out = {}
    plan_json = workdir / "plan.json"
    git(ds, "checkout", "-q", "diff-20")
    try:
        r = measure(
            [COVSHARD, "plan", "--db", db, "--base", "base", "--shards", "auto", "--out", plan_json], ds, repeat
        )
        r.pop("stdout")
        plan = json.loads(plan_json.read_text())
        r["selected"] = plan["selection"]["selected"]
        r["shards"] = plan["packing"]["shard_count"]
        r["efficiency"] = plan["packing"]["efficiency"]
        out["diff-20"] = r
    finally:
        git(ds, "checkout", "-q", "main")
    r = measure([COVSHARD, "plan", "--db", db, "--all", "--shards", "auto", "--out", plan_json], ds, repeat)
    r.pop("stdout")
    plan = json.loads(plan_json.read_text())
    r["selected"] = plan["selection"]["selected"]
    r["shards"] = plan["packing"]["shard_count"]
    r["efficiency"] = plan["packing"]["efficiency"]
    out["all"] = r
    return out


PYTEST_SPLIT = r"""
import json, sys, time
from pytest_split.algorithms import Algorithms

class Item:
    # pytest-split only reads `nodeid`.
    __slots__ = ("nodeid",)
    def __init__(self, nodeid):
        self.nodeid = nodeid

durations = json.load(open(sys.argv[1]))
splits = int(sys.argv[2])
# Collection order: sorted node ids (pytest collects files in sorted order).
items = [Item(i) for i in sorted(durations)]
out = {}
for algo in ("least_duration", "duration_based_chunks"):
    start = time.perf_counter()
    groups = Algorithms[algo].value(splits, items, durations)
    out[algo] = {"seconds": time.perf_counter() - start,
                 "makespan": max(g.duration for g in groups),
                 "empty_shards": sum(1 for g in groups if not g.selected)}
print(json.dumps(out))
"""


def bench_packing(sizes, workdir, repeat):
    """covshard's packer (through `plan --all --shards N`, no overhead, no groups) and
    pytest-split's two algorithms on exactly the same items and estimates (read back from
    covshard's plan), reporting makespan / lower bound."""
    results = []
    for name in sizes:
        ds = dataset(name)
        if ds is None:
            continue
        db = ingested_copy(ds, workdir, f"pack-{name}")
        for shards in (8, 64, 256):
            plan_json = workdir / f"pack-{name}-{shards}.json"
            cmd = [COVSHARD, "plan", "--db", db, "--all", "--shards", shards, "--max-shards", 256,
                   "--shard-overhead", "0s", "--group-by", "none", "--out", plan_json]
            r = measure(cmd, ds, repeat)
            r.pop("stdout")
            plan = json.loads(plan_json.read_text())
            durations = {t["id"]: t["seconds"] for s in plan["shards"] for t in s["tests"]}
            total = sum(durations.values())
            lower = max(max(durations.values()), total / shards)
            ours = max(sum(t["seconds"] for t in s["tests"]) for s in plan["shards"])
            dfile = workdir / "items.json"
            dfile.write_text(json.dumps(durations))
            peers = json.loads(run_once([PYTHON, "-c", PYTEST_SPLIT, dfile, shards], ROOT)[2])
            row = {
                "data_set": name,
                "items": len(durations),
                "shards": shards,
                "lower_bound_s": round(lower, 3),
                "covshard": {**r, "makespan_s": round(ours, 3), "ratio": round(ours / lower, 5),
                             "algorithm": plan["packing"]["algorithm"]},
            }
            for algo, v in peers.items():
                row[algo] = {"seconds": round(v["seconds"], 4), "makespan_s": round(v["makespan"], 3),
                             "ratio": round(v["makespan"] / lower, 5), "empty_shards": v["empty_shards"]}
            results.append(row)
    return results


def has_command(cmd):
    return subprocess.run([COVSHARD, cmd, "--help"], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", default="small,medium,large")
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    results = {"machine": machine(), "repeat": args.repeat, "data_sets": {}, "info": {}, "select": {}}
    with tempfile.TemporaryDirectory(prefix="covshard-bench-") as tmp:
        workdir = Path(tmp)
        for name in sizes:
            ds = dataset(name)
            if ds is None:
                print(f"skip {name}: no data set (run the generate example)", file=sys.stderr)
                continue
            print(f"== {name}", file=sys.stderr)
            results["data_sets"][name] = data_facts(ds)
            results["info"][name] = bench_info(ds, args.repeat)
            results["select"][name] = bench_select(ds, workdir, args.repeat)
        ingest_ds = dataset("ingest")
        if ingest_ds and has_command("ingest"):
            print("== ingest", file=sys.stderr)
            results["ingest"] = {"ingest": bench_ingest(ingest_ds, workdir, max(3, args.repeat // 2))}
            if dataset("large"):
                results["ingest"]["large"] = bench_ingest(dataset("large"), workdir, max(3, args.repeat // 2))
        if dataset("large") and has_command("plan") and has_command("ingest"):
            print("== plan", file=sys.stderr)
            db = ingested_copy(dataset("large"), workdir, "plan-large")
            results["plan"] = bench_plan(dataset("large"), db, workdir, args.repeat)
        if has_command("plan") and has_command("ingest"):
            print("== packing", file=sys.stderr)
            results["packing"] = bench_packing(["small", "medium", "ingest"], workdir, max(3, args.repeat // 2))
        # The packer alone, without reading a data file: the packing branch's own example.
        pack_speed = ROOT / "target" / "release" / "examples" / "pack_speed"
        if pack_speed.exists():
            print("== pack_speed", file=sys.stderr)
            results["pack_speed"] = run_once([pack_speed], ROOT)[2]
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from render import render_into

    render_into(RESULTS_MD, results)
    print(f"wrote {RESULTS_JSON.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
