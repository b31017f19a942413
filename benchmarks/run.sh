#!/usr/bin/env bash
# Regenerate every benchmark number in one command:
#   bash benchmarks/run.sh            (REPEAT=7 runs per command; FRESH=1 regenerates the data)
# Builds covshard in release mode (benchmarks of a debug build say nothing), makes the pinned
# venv and the data sets when they are missing, runs benchmarks/bench.py, which writes
# benchmarks/results/results.json (committed) and the tables of benchmarks/RESULTS.md, then
# benchmarks/suite_cost.py for the cost of select and plan against their floors.
# Not part of CI: it takes minutes and its numbers depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT="${REPEAT:-7}"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

# nice: the machine is shared with other builds.
nice -n 10 cargo build --release --bins --example generate --example pack_speed --example floor

for size in small medium large ingest params; do
    dir="benchmarks/data/$size"
    # A data set is complete when it has its data file and its own git repository; anything
    # else (an interrupted run, FRESH=1) is regenerated from scratch.
    if [ "${FRESH:-0}" = 1 ] || [ ! -f "$dir/.coverage" ] || [ ! -d "$dir/.git" ]; then
        rm -rf "$dir"
        target/release/examples/generate --size "$size"
    fi
done

.venv/bin/python benchmarks/bench.py --repeat "$REPEAT"
# What select and plan cost against their floors (issue 19). The huge set (1,000,000 tests, about
# 2 GB) has its own command: target/release/examples/generate --size huge, then
#   .venv/bin/python benchmarks/suite_cost.py --sets huge --repeat 3
.venv/bin/python benchmarks/suite_cost.py --sets large,params --repeat "$REPEAT"
