#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs libFuzzer targets one after the other, each for a bounded time from its checked-in seeds,
# and fails on any crash, leak, timeout or sanitizer report, printing the reproducer. Called by
# `make fuzz-run` (and so by scripts/test.sh) from the build directory:
#   scripts/fuzz-run.sh SECONDS SEEDS_DIR TARGET...
# What a target learns goes to fuzz-corpus/<target>/ and what it finds to
# fuzz-artifacts/<target>/ (both ignored by git).
set -uo pipefail

[ $# -ge 3 ] || { echo "usage: $0 SECONDS SEEDS_DIR TARGET..." >&2; exit 2; }
seconds=$1
seeds_root=$2
shift 2

# Grace beyond -max_total_time before `timeout` kills a target: libFuzzer checks its budget only
# between inputs and then writes its final stats, so a healthy run ends well within this.
HARD_TIMEOUT_GRACE=60
# One input taking longer than this is a hang (libFuzzer writes it as a timeout-* artifact);
# every decoder here is linear in its input, which is at most a few KiB.
PER_INPUT_TIMEOUT=10

status=0
for target in "$@"; do
    seeds="$seeds_root/$target"
    corpus="fuzz-corpus/$target"
    artifacts="fuzz-artifacts/$target"
    log="fuzz-artifacts/$target.log"
    if [ ! -x "./$target" ]; then
        echo "FAILED: fuzz target ./$target was not built" >&2
        status=1
        continue
    fi
    if ! compgen -G "$seeds/*" >/dev/null; then
        echo "FAILED: no seeds for $target in $seeds" >&2
        status=1
        continue
    fi
    mkdir -p "$corpus" "$artifacts"
    stamp=$(mktemp)
    start=$(date +%s)
    rc=0
    # detect_leaks is libFuzzer's default under ASan; spelled out because a leak must fail CI.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        timeout -k 10 $((seconds + HARD_TIMEOUT_GRACE)) "./$target" \
        -max_total_time="$seconds" -timeout="$PER_INPUT_TIMEOUT" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    found=$(find "$artifacts" -type f -newer "$stamp" | sort)
    rm -f "$stamp"
    reports=$(grep -E -c 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|invariant violated' "$log")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" -eq 0 ] && [ -z "$found" ] && [ "$reports" -eq 0 ]; then
        echo "fuzz $target: ok, ${runs:-?} inputs in ${elapsed}s (corpus $(find "$corpus" -type f | wc -l) files)"
        continue
    fi
    status=1
    tail -n 60 "$log" >&2
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "FAILED: fuzz $target did not stop within $((seconds + HARD_TIMEOUT_GRACE))s (killed by timeout)" >&2
    else
        echo "FAILED: fuzz $target (exit $rc, $reports sanitizer/invariant report(s); full log $log)" >&2
    fi
    for f in $found; do
        echo "  reproducer: $f   (run: ./$target $f)" >&2
    done
done
exit "$status"
