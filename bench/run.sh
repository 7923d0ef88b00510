#!/bin/sh
# make bench: builds the bench programs, runs every case next to its
# baseline (bench/main.rs), and writes the report to bench/results.md as
# well as stdout. Installs nothing: the peers and redis come from
# `make bench-setup` (bench/setup.sh); rows for what is missing say so.
# SANDLOCK_BENCH_QUICK=1 makes it a short smoke run; SANDLOCK_BENCH_CASES=1,4
# runs only those cases (1 2 2b 3 4 5 other).
set -eu
cd "$(dirname "$0")/.."
mkdir -p target/bench
CFLAGS="-O2 -Wall -Wextra -Werror"
${CC:-cc} $CFLAGS -o target/bench/wakeup bench/wakeup.c
${CC:-cc} $CFLAGS -o target/bench/workload bench/workload.c
cargo bench -q --bench bench --no-run 2>/dev/null || cargo bench --bench bench --no-run
out=target/bench/results.md
SANDLOCK_BENCH_WORKLOAD="$PWD/target/bench/workload" SANDLOCK_BENCH_WAKEUP="$PWD/target/bench/wakeup" \
    cargo bench -q --bench bench > "$out"
cat "$out"
# Only a full run of every case replaces the committed report.
if [ "${SANDLOCK_BENCH_QUICK:-0}" = 0 ] && [ -z "${SANDLOCK_BENCH_CASES:-}" ]; then
    cp "$out" bench/results.md
    echo "written to bench/results.md"
fi
