#!/usr/bin/env python3
"""What selection and planning cost as the suite grows (issue 19), with the floor under each.

    .venv/bin/python benchmarks/suite_cost.py --sets large,params [--repeat 7]
    .venv/bin/python benchmarks/suite_cost.py --sets huge --repeat 3      # its own command

`benchmarks/run.sh` runs the first; the huge set (1,000,000 tests, a 2 to 3 GB data file) has the
second, after `target/release/examples/generate --size huge` (a few minutes). For each data set:

- `ingest` of its JUnit reports into a fresh copy of the data file (timed on the huge set, whose
  target is 1,000,000 cases; bench.py times it on the others);
- on every edit branch (`diff-N`, and `core-1` where the set has it), `covshard select` on the
  ingested file (`stored`: the suite as ingest stored it), on the same file with the stored
  suite dropped (`scan`: every context read, as before schema 5; the outputs must be the same
  bytes), and the floors: `rows`, the `floor` example reading the changed files' `line_bits`
  rows and nothing else; `git`, the two git commands selection cannot do without on a branch
  checked out (`git diff BASE` and `git ls-files --others --exclude-standard`, run side by side
  by covshard, so the floor is the longer);
- on the large set, the coverage.py-API selector (benchmarks/py/select_coverage_api.py) on the
  same change;
- `plan --all` from the stored suite.

Numbers go to benchmarks/results/suite-cost-SET.json and into benchmarks/RESULTS.md between the
`suite-cost` markers of the set. Wall times of whole processes, medians after a warm-up run;
peak memory from `/usr/bin/time`.
"""

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import COVSHARD, DATA, PYDIR, PYTHON, RECORDED_ROOT, ROOT, dataset, git, machine, measure, run_once  # noqa: E402

FLOOR = ROOT / "target" / "release" / "examples" / "floor"

# (set, branch) -> (milliseconds, MB) that select must stay under; plan and ingest per set.
SELECT_TARGETS = {
    ("large", "diff-1"): (20, None),
    ("large", "diff-20"): (60, None),
    ("params", "core-1"): (100, None),
    ("huge", "diff-20"): (300, 100),
}
PLAN_TARGETS = {"huge": (10_000, 1024)}
INGEST_TARGETS = {"huge": 30_000}


def branches(ds):
    edits = json.loads((ds / "edits.json").read_text())
    return sorted(edits, key=lambda b: (b.startswith("core"), int(b.split("-")[1])))


def floor_ms(db, diff_file, repeat):
    out = run_once([FLOOR, "--db", db, "--diff", diff_file, "--repeat", max(repeat, 3)], ROOT)[2]
    # "N files, R rows, B bytes of numbits: best of K X ms"
    rows = int(out.split(" rows,")[0].rsplit(" ", 1)[1])
    return {"ms": float(out.rsplit(" ", 2)[1]), "rows": rows, "output": out.strip()}


def git_floor_ms(ds, repeat):
    base = subprocess.run(["git", "-C", ds, "rev-parse", "base"], capture_output=True, text=True).stdout.strip()
    diff = measure(["git", "-C", ds, "diff", "--no-color", "-U0", "-M", base, "--"], ds, repeat)
    others = measure(["git", "-C", ds, "ls-files", "-z", "--others", "--exclude-standard"], ds, repeat)
    return {"diff_ms": diff["median_s"] * 1000, "others_ms": others["median_s"] * 1000}


def slim(r):
    return {k: v for k, v in r.items() if k != "stdout"}


def bench_set(name, workdir, repeat):
    ds = dataset(name)
    out = {"branches": {}}
    stored = workdir / f"{name}-stored.coverage"
    subprocess.run(["cp", ds / ".coverage", stored], check=True)
    ingest = [COVSHARD, "ingest", "--db", stored, "--commit", "base", "--junit", "reports/junit-*.xml"]
    if name in INGEST_TARGETS:
        fresh = lambda: subprocess.run(["cp", ds / ".coverage", stored], check=True)  # noqa: E731
        r = measure(ingest, ds, max(1, repeat // 3), fresh)
        r["cases"] = sum(p.read_text().count("<testcase ") for p in (ds / "reports").glob("junit-*.xml"))
        out["ingest"] = slim(r)
    else:
        run_once(ingest, ds)
    scan = workdir / f"{name}-scan.coverage"
    subprocess.run(["cp", stored, scan], check=True)
    with sqlite3.connect(scan) as conn:
        conn.execute("DELETE FROM covshard_suite")
    select = ["select", "--base", "base", "--format", "json"]
    for branch in branches(ds):
        git(ds, "checkout", "-q", branch)
        try:
            row = {}
            diff_file = workdir / f"{name}-{branch}.diff"
            diff_file.write_bytes(subprocess.run(["git", "-C", ds, "diff", "base"], capture_output=True).stdout)
            ours = measure([COVSHARD, *select[:1], "--db", stored, *select[1:]], ds, repeat)
            theirs = measure([COVSHARD, *select[:1], "--db", scan, *select[1:]], ds, max(1, repeat // 2))
            selection = json.loads(ours["stdout"])
            row["selected_ids"] = len(selection["tests"])
            row["run_all"] = selection["run_all"]
            row["same_output"] = ours["stdout"] == theirs["stdout"]
            row["stored"], row["scan"] = slim(ours), slim(theirs)
            row["rows_floor"] = floor_ms(stored, diff_file, repeat)
            row["git_floor"] = git_floor_ms(ds, repeat)
            if name == "large":
                api = measure([PYTHON, PYDIR / "select_coverage_api.py", ".coverage", ".", "base", RECORDED_ROOT], ds, repeat)
                row["coverage_api"] = {**slim(api), "selected_ids": json.loads(api["stdout"])["count"]}
            out["branches"][branch] = row
        finally:
            git(ds, "checkout", "-q", "main")
    plan = measure([COVSHARD, "plan", "--db", stored, "--all", "--shards", "auto", "--out", workdir / "plan.json"], ds, max(1, repeat // 2))
    out["plan_all"] = slim(plan)
    return out


def ms(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def verdict(ok):
    return "met" if ok else "**MISSED**"


def render(name, res):
    facts = res["data_set"]
    lines = [
        f"### {name}: {facts['tests']:,} tests, {facts['files']:,} source files, {facts['contexts']:,} contexts, "
        f"{facts['line_rows']:,} line rows, {facts['size_mb']:,.0f} MB",
        "",
        "| change | selected | stored | RSS | scan | rows floor | rows | git floor | same output |"
        + (" coverage.py API |" if name == "large" else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|---|" + ("---:|" if name == "large" else ""),
    ]
    for branch, row in res["branches"].items():
        git_ms = max(row["git_floor"]["diff_ms"], row["git_floor"]["others_ms"])
        cells = [
            branch,
            "all" if row["run_all"] else f"{row['selected_ids']:,}",
            ms(row["stored"]["median_s"]),
            f"{row['stored']['max_rss_mb']:.0f} MB",
            ms(row["scan"]["median_s"]),
            f"{row['rows_floor']['ms']:.0f} ms",
            f"{row['rows_floor']['rows']:,}",
            f"{git_ms:.0f} ms",
            "yes" if row["same_output"] else "**NO**",
        ]
        if name == "large":
            cells.append(ms(row["coverage_api"]["median_s"]))
        lines.append("| " + " | ".join(cells) + " |")
    plan = res["plan_all"]
    lines += ["", f"`plan --all`: {ms(plan['median_s'])}, {plan['max_rss_mb']:.0f} MB."]
    if "ingest" in res:
        ing = res["ingest"]
        lines.append(f"`ingest` of {ing['cases']:,} JUnit cases: {ms(ing['median_s'])}, {ing['max_rss_mb']:.0f} MB.")
    lines += ["", "Targets:", ""]
    for (set_name, branch), (limit_ms, limit_mb) in SELECT_TARGETS.items():
        if set_name != name or branch not in res["branches"]:
            continue
        r = res["branches"][branch]["stored"]
        got = f"{r['median_s'] * 1000:.0f} ms"
        ok = r["median_s"] * 1000 < limit_ms
        if limit_mb:
            got += f", {r['max_rss_mb']:.0f} MB"
            ok = ok and r["max_rss_mb"] < limit_mb
        lines.append(f"- `select` {branch} under {limit_ms} ms" + (f" and {limit_mb} MB" if limit_mb else "") + f": {verdict(ok)} ({got})")
    if name in PLAN_TARGETS:
        limit_ms, limit_mb = PLAN_TARGETS[name]
        ok = plan["median_s"] * 1000 < limit_ms and plan["max_rss_mb"] < limit_mb
        lines.append(f"- `plan --all` under {limit_ms // 1000} s and {limit_mb} MB: {verdict(ok)} ({ms(plan['median_s'])}, {plan['max_rss_mb']:.0f} MB)")
    if name in INGEST_TARGETS:
        ok = res["ingest"]["median_s"] * 1000 < INGEST_TARGETS[name]
        lines.append(f"- `ingest` under {INGEST_TARGETS[name] // 1000} s: {verdict(ok)} ({ms(res['ingest']['median_s'])})")
    lines += ["", f"Command: `{res['command']}` (covshard at {res['commit']}, {res['repeat']} runs each)."]
    return "\n".join(lines) + "\n"


def render_into(path, name, res):
    begin, end = f"<!-- BEGIN suite-cost:{name} -->", f"<!-- END suite-cost:{name} -->"
    text = path.read_text()
    block = f"{begin}\n{render(name, res)}{end}"
    if begin in text:
        start, stop = text.index(begin), text.index(end) + len(end)
        text = text[:start] + block + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def data_set_facts(ds):
    with sqlite3.connect(f"file:{ds / '.coverage'}?mode=ro", uri=True) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        contexts, files, rows = one("SELECT count(*) FROM context"), one("SELECT count(*) FROM file"), one("SELECT count(*) FROM line_bits")
    tests = sum(p.read_text().count("<testcase ") for p in (ds / "reports").glob("junit-*.xml"))
    return {"tests": tests, "files": files, "contexts": contexts, "line_rows": rows, "size_mb": (ds / ".coverage").stat().st_size / 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="large,params")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    for name in args.sets.split(","):
        if dataset(name) is None:
            print(f"skip {name}: no data set (target/release/examples/generate --size {name})", file=sys.stderr)
            continue
        print(f"== suite cost: {name}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="covshard-suite-cost-", dir=DATA) as tmp:
            res = bench_set(name, Path(tmp), args.repeat)
        res.update(
            data_set=data_set_facts(dataset(name)),
            machine=machine(),
            repeat=args.repeat,
            commit=commit,
            command=f".venv/bin/python benchmarks/suite_cost.py --sets {name} --repeat {args.repeat}",
        )
        out = ROOT / "benchmarks" / "results" / f"suite-cost-{name}.json"
        out.write_text(json.dumps(res, indent=1) + "\n")
        render_into(ROOT / "benchmarks" / "RESULTS.md", name, res)
        print(f"wrote {out.relative_to(ROOT)} and benchmarks/RESULTS.md", file=sys.stderr)


if __name__ == "__main__":
    main()
