#!/bin/sh
# make bench: every measurement next to its baseline, in one run.
# Writes the table to bench/results.md as well as stdout.
set -eu
cd "$(dirname "$0")/.."
mkdir -p target/bench
cc -O2 -o target/bench/wakeup bench/wakeup.c
cc -O2 -o target/bench/limits bench/limits.c
make -s target/c-tests/probe >/dev/null

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
raw_flag=$(for i in 1 2 3 4 5; do target/bench/wakeup bench A 1 | awk '{print $3}'; done | median)
raw_noflag=$(for i in 1 2 3 4 5; do target/bench/wakeup bench A 0 | awk '{print $3}'; done | median)

out=$(SANDLOCK_PROBE="$PWD/target/c-tests/probe" SANDLOCK_BENCH_LIMITS="$PWD/target/bench/limits" cargo bench -q --bench foundation 2>/dev/null)
{
    echo "# libsandlock benchmarks"
    echo
    echo "$(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
    echo
    echo "$out" | sed -n '/^|/p'
    echo "| raw seccomp round trip, blocking RECV, same-CPU wake-up (bench/wakeup.c) | ${raw_flag} us | |"
    echo "| raw seccomp round trip, blocking RECV, no wake-up hint (bench/wakeup.c) | ${raw_noflag} us | |"
} | tee bench/results.md
