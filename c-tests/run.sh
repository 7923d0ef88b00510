#!/bin/sh
# Runs each C test binary and totals their "N passed, M failed" lines.
passed=0; failed=0; broken=0
for t in "$@"; do
    echo "== $(basename "$t")"
    out=$("$t" 2>&1); status=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
    if [ -z "$line" ]; then
        echo "   (no summary line: exit status $status)"; broken=$((broken + 1)); continue
    fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
    [ "$status" -ne 0 ] && [ "$f" -eq 0 ] && broken=$((broken + 1))
done
failed=$((failed + broken))
echo "c-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
