#!/usr/bin/env python3
"""Generate a real pytest suite whose test and fixture costs are known in advance.

Why: issue 5's first target is measured, not simulated. Tests here do nothing but
`time.sleep`, so their cost is wall time that does not depend much on how busy the (shared,
2-core) machine is, and every cost is known before the suite runs: the generator writes it to
`manifest.json` next to the tests.

Three variants:
- `fixtures`: ~20 files; log-normal test durations; a few long tests; module-scoped fixtures
  (autouse, so every test in the file pays the setup once per pytest process that runs any of
  them) and class-scoped fixtures with known setup costs. This is the suite where splitting a
  module over many shards costs real time, which per-test sharding tools do not see.
- `modules`: 20 modules, each with a module-scoped fixture (0.2 to 1.0 s) and 5 to 25 tests;
  a class with a class-scoped fixture in every fourth module; three integration tests of 2 to
  3 s (issue 18's second shape, about 330 tests and 48 s).
- `plain`: independent tests only (no fixtures), for the "no worse than LPT" check.

Deterministic: everything comes from one seeded `random.Random`; the same seed writes the same
files byte for byte. Durations are rounded to milliseconds so the source is readable.

Usage: make_suite.py --out DIR [--variant fixtures|modules|plain] [--seed N]
"""

import argparse
import json
import math
import random
from pathlib import Path

# Shape of the suite. Chosen so the serial time is ~60 s (fixtures) / ~30 s (plain): long enough
# that a pytest start-up is small against a shard at N=16, short enough that running every shard
# of three tools at four shard counts one at a time finishes in about a quarter of an hour.
SHAPES = {
    "fixtures": dict(
        files=20,
        tests_per_file=(6, 14),
        median=0.12,  # seconds; log-normal median of an ordinary test
        sigma=0.9,  # log-normal sigma (a typical spread for unit tests)
        cap=1.2,  # ordinary tests are cut here so only the deliberate long tests are long
        long_tests=[2.0, 2.5, 3.0],  # a few long tests, placed in files without module fixtures
        module_fixture_files=12,  # this many files have an autouse module-scoped fixture
        module_setup=(0.5, 1.5),  # its setup cost, uniform in this range
        classes=6,  # this many classes with an autouse class-scoped fixture
        class_setup=(0.3, 0.8),
        class_tests=(3, 5),
    ),
    # Issue 18's second shape: every module has a module-scoped fixture, every fourth one a
    # class with a class-scoped fixture, and three integration tests of 2 to 3 s sit in
    # modules with fixtures (so no plan can dodge their setup).
    "modules": dict(
        files=20,
        tests_per_file=(5, 25),
        median=0.055,
        sigma=0.9,
        cap=1.2,
        long_tests=[2.0, 2.5, 3.0],
        module_fixture_files=20,
        module_setup=(0.2, 1.0),
        classes=5,
        class_setup=(0.3, 0.8),
        class_tests=(3, 5),
        class_every=4,
    ),
    "plain": dict(
        files=12,
        tests_per_file=(6, 14),
        median=0.12,
        sigma=0.9,
        cap=1.2,
        long_tests=[1.0, 1.4],  # below serial/16, so the ideal stays reachable at N=16
        module_fixture_files=0,
        module_setup=(0, 0),
        classes=0,
        class_setup=(0, 0),
        class_tests=(0, 0),
    ),
}


def lognormal(rng: random.Random, median: float, sigma: float, cap: float) -> float:
    # Round to ms; a floor of 5 ms keeps every test visibly non-zero in the reports.
    return round(min(cap, max(0.005, rng.lognormvariate(math.log(median), sigma))), 3)


def generate(out: Path, variant: str, seed: int) -> dict:
    shape = SHAPES[variant]
    rng = random.Random(seed)
    tests_dir = out / "tests"
    tests_dir.mkdir(parents=True, exist_ok=True)
    # A pytest.ini pins the rootdir to `out`, so node ids are `tests/test_NN.py::...` whatever
    # directory pytest is started from, and identical for covshard and pytest-split.
    (out / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")

    nfiles = shape["files"]
    # Module fixtures on the first files, long tests in the last ones: a long test plus a module
    # setup in one process could exceed serial/16 and make the ideal unreachable for everyone.
    fixture_files = set(range(shape["module_fixture_files"]))
    long_files = [nfiles - 1 - i for i in range(len(shape["long_tests"]))]
    if "class_every" in shape:
        class_files = list(range(0, nfiles, shape["class_every"]))[: shape["classes"]]
    else:
        assert not fixture_files & set(long_files), "long tests must not share a module fixture"
        class_files = sorted(rng.sample(range(nfiles), shape["classes"])) if shape["classes"] else []

    manifest = {"variant": variant, "seed": seed, "files": {}, "tests": {}, "module_setup": {},
                "class_setup": {}}
    for f in range(nfiles):
        name = f"tests/test_{f:02d}.py"
        lines = ['"""Generated by benchmarks/measured/make_suite.py: sleeps only."""',
                 "import time", "", "import pytest", ""]
        if f in fixture_files:
            setup = round(rng.uniform(*shape["module_setup"]), 3)
            manifest["module_setup"][name] = setup
            lines += ["", '@pytest.fixture(scope="module", autouse=True)',
                      "def module_resource():",
                      f"    time.sleep({setup})  # known module setup cost", "    yield", ""]
        ntests = rng.randint(*shape["tests_per_file"])
        # Module-level tests first, then the class: the first test of the file is then not also
        # the first test of a class, as in most real suites.
        for t in range(ntests):
            d = lognormal(rng, shape["median"], shape["sigma"], shape["cap"])
            manifest["tests"][f"{name}::test_{t:02d}"] = d
            lines += ["", f"def test_{t:02d}():", f"    time.sleep({d})", ""]
        if f in long_files:
            d = shape["long_tests"][long_files.index(f)]
            manifest["tests"][f"{name}::test_long"] = d
            lines += ["", "def test_long():", f"    time.sleep({d})", ""]
        if f in class_files:
            cls = f"TestGroup{f:02d}"
            setup = round(rng.uniform(*shape["class_setup"]), 3)
            manifest["class_setup"][f"{name}::{cls}"] = setup
            lines += ["", f"class {cls}:",
                      '    @pytest.fixture(scope="class", autouse=True)',
                      "    def class_resource(self):",
                      f"        time.sleep({setup})  # known class setup cost", "        yield", ""]
            for t in range(rng.randint(*shape["class_tests"])):
                d = lognormal(rng, shape["median"], shape["sigma"], shape["cap"])
                manifest["tests"][f"{name}::{cls}::test_{t:02d}"] = d
                lines += [f"    def test_{t:02d}(self):", f"        time.sleep({d})", ""]
        manifest["files"][name] = ntests
        (out / name).write_text("\n".join(lines).rstrip() + "\n")

    manifest["test_seconds"] = round(sum(manifest["tests"].values()), 3)
    manifest["setup_seconds"] = round(sum(manifest["module_setup"].values())
                                      + sum(manifest["class_setup"].values()), 3)
    manifest["serial_seconds"] = round(manifest["test_seconds"] + manifest["setup_seconds"], 3)
    manifest["test_count"] = len(manifest["tests"])
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variant", choices=sorted(SHAPES), default="fixtures")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    m = generate(args.out, args.variant, args.seed)
    print(f"{args.variant}: {m['test_count']} tests in {len(m['files'])} files, "
          f"tests {m['test_seconds']} s + setups {m['setup_seconds']} s = {m['serial_seconds']} s serial")


if __name__ == "__main__":
    main()
