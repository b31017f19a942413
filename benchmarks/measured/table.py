#!/usr/bin/env python3
"""Print results.json as the Markdown tables of RESULTS.md, with each target checked.

Kept separate from run.py so the tables can be regenerated from stored results without rerunning
the (15-minute) measurement, and so every number in RESULTS.md comes from results.json.

Targets (issue 5):
- covshard's measured makespan <= 1.10 * ideal + one pytest start-up, at every N
  (ideal = serial work / N; serial work = the sum of setup+call+teardown of the recording run);
- below both pytest-split algorithms wherever they are more than 10% above that bound;
- without fixtures: no worse than LPT (pytest-split least_duration), allowing for timing noise;
- predicted makespan within 10% of the measured one.

With workers (issue 18: every shard runs `pytest -n W`) the ideal is serial work / (N·W), the
start-up is pytest's plus the workers' (`pytest -n W -k nothing`), and the target is the
stricter reading of the issue: measured <= 1.10 * (ideal + start-up).

Usage: table.py [results.json]
"""

import json
import sys
from pathlib import Path


def fmt(x, spec=".2f"):
    return "—" if x is None else format(x, spec)


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("results.json")
    res = json.loads(path.read_text())
    for name, suite in res["suites"].items():
        xdist = suite.get("xdist")
        workers = xdist["workers"] if xdist else 1
        st = xdist["startup_with_workers"] if xdist else suite["startup_seconds"]
        work = suite["recording"]["work"]
        with_workers = (f", every shard `-n {workers}` (covshard `--dist {xdist['dist']}`), "
                        f"start-up with workers {st:.3f} s" if xdist else "")
        print(f"\n### Suite `{name}`: {suite['manifest']['test_count']} tests, serial work "
              f"{work:.2f} s (generated {suite['manifest']['serial_seconds']} s, of which setups "
              f"{suite['manifest']['setup_seconds']} s), pytest start-up "
              f"{suite['startup_seconds']:.3f} s{with_workers}\n")
        tools = list(next(iter(suite["runs"].values())).keys())
        print("| N | ideal | ideal+start-up | " + " | ".join(
            f"{t} measured (× ideal+start-up)" for t in tools) + " | covshard predicted (error) |")
        print("|---|---|---|" + "---|" * len(tools) + "---|")
        for n, runs in suite["runs"].items():
            ideal = work / (int(n) * workers)
            cells = [f"{r['makespan']:.2f} ({r['makespan'] / (ideal + st):.3f}×)"
                     for r in runs.values()]
            preds = [f"{t}: {r['predicted']['makespan_seconds']:.2f} ({r['prediction_error']:+.1%})"
                     for t, r in runs.items() if r.get("predicted")]
            print(f"| {n} | {ideal:.2f} | {ideal + st:.2f} | " + " | ".join(cells) +
                  " | " + "; ".join(preds) + " |")
        print("\nTargets:\n")
        for t in [t for t in tools if t.startswith("covshard")]:
            for n, runs in suite["runs"].items():
                r = runs[t]
                bound = 1.10 * (r["ideal"] + st) if xdist else 1.10 * r["ideal"] + st
                ok1 = r["makespan"] <= bound
                what = "1.1·(ideal+start-up)" if xdist else "1.1·ideal+start-up"
                line = [f"N={n} {t}: measured {r['makespan']:.2f} vs {what} "
                        f"{bound:.2f} {'MET' if ok1 else 'MISSED'}"]
                for ps in ["ps-least", "ps-chunks"]:
                    if ps in runs:
                        p = runs[ps]
                        if p["makespan"] > bound:
                            ok = r["makespan"] < p["makespan"]
                            line.append(f"below {ps} ({p['makespan']:.2f}): "
                                        f"{'MET' if ok else 'MISSED'}")
                        else:
                            line.append(f"{ps} within 10% ({p['makespan']:.2f}): n/a")
                if name == "plain" and "ps-least" in runs:
                    p = runs["ps-least"]["makespan"]
                    line.append(f"vs LPT {p:.2f}: {r['makespan'] / p - 1:+.1%}")
                pe = r.get("prediction_error")
                line.append(f"prediction {pe:+.1%} {'MET' if abs(pe) <= 0.10 else 'MISSED'}")
                print("- " + "; ".join(line))


if __name__ == "__main__":
    main()
