#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The one command that runs every test, from a clean clone on a fresh Debian machine: installs
# the packages (skipped when present), configures with warnings as errors, builds in the source
# tree, checks formatting, runs the GoogleTest suites, the libFuzzer targets for a bounded time
# and the pytest integration suite against a real apache2. Exits non-zero on any failure.
#   scripts/test.sh                    everything
#   PYTEST_ARGS="-k environ" scripts/test.sh   extra pytest arguments
#   MPM=prefork scripts/test.sh        integration tests under one MPM only (default: event,
#                                      then worker, then prefork)
#   WSGID_SANITIZE=0 scripts/test.sh   skip the final ASan/UBSan pass
#   WSGID_FUZZ_SECONDS=120 scripts/test.sh   fuzz each target longer (default 25 s)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# Seconds each libFuzzer target runs: enough to replay the seeds and the learned corpus and to
# find shallow bugs; three targets plus their build stay around two minutes of the CI budget.
FUZZ_SECONDS=${WSGID_FUZZ_SECONDS:-25}

# Bound on one integration test (every wait inside is bounded already; this catches the rest).
PYTEST_TEST_TIMEOUT=300

install_packages "${WSGID_BUILD_PACKAGES[@]}" "${WSGID_TEST_PACKAGES[@]}"

# Always configure here: a fresh clone has no configure script, and a stale Makefile from another
# configuration must not decide what is tested.
log "autoreconf -fi"
autoreconf -fi
log "./configure --enable-werror"
./configure --enable-werror
log "make -j2"
make -j2

status=0

log "formatting (make format-check)"
if ! make format-check; then
    echo "FAILED: clang-format (run 'make format')" >&2
    status=1
fi

log "unit tests (make check)"
unit_status=0
make -j2 check || unit_status=$?
# The GoogleTest summaries, one per suite binary.
passed=0
failed=0
for t in $(sed -n 's/^check_PROGRAMS += //p' Makefile.am); do
    if [ -f "$t.log" ]; then
        n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$t.log" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\?, listed below:.*/\1/p' "$t.log" | tail -n 1)
        printf 'gtest %-14s %s\n' "$t:" "$(grep -E '^\[==========\] [0-9]+ tests? from .* ran' "$t.log" | tail -n 1)"
        grep -E '^\[  (PASSED|FAILED)  \]' "$t.log" || true
        passed=$((passed + ${n:-0}))
        failed=$((failed + ${f:-0}))
    else
        echo "gtest $t: no log (did not build or run)"
        failed=$((failed + 1))
    fi
done
echo "GoogleTest: ${passed} passed, ${failed} failed"
if [ "$unit_status" -ne 0 ] || [ "$failed" -ne 0 ]; then
    tail -n 200 test-suite.log 2>/dev/null || true
    echo "FAILED: unit tests" >&2
    status=1
fi

# Fuzzing (clang++ libFuzzer with ASan and UBSan): a target that cannot be built fails CI, and so
# does any crash, leak, timeout or sanitizer report (fuzz-run.sh prints the reproducer path).
log "fuzz (make fuzz-run, ${FUZZ_SECONDS}s per target)"
if ! make fuzz; then
    echo "FAILED: could not build the fuzz targets (make fuzz)" >&2
    status=1
elif ! make fuzz-run FUZZ_SECONDS="$FUZZ_SECONDS"; then
    echo "FAILED: fuzzing found a problem (reproducers listed above; see docs/development.md)" >&2
    status=1
fi

# Lint over a compilation database (a bear rebuild, so every file is checked with its own flags).
# The rebuild starts with `make clean`; whatever bear does, the tree must come out of this stage
# built, or every later stage would fail for a reason that is not its own ("module not built").
log "lint (make tidy, make cppcheck)"
rm -f compile_commands.json
lint_log=$(mktemp /tmp/wsgid-lint-XXXXXX.log)
if ! make -j2 compile_commands.json >"$lint_log" 2>&1; then
    tail -n 40 "$lint_log" >&2
    echo "FAILED: could not build the compilation database (bear -- make)" >&2
    status=1
    log "rebuilding the tree for the stages that follow"
    make -j2 || echo "FAILED: the tree does not build after the lint stage" >&2
else
    make tidy || { echo "FAILED: clang-tidy" >&2; status=1; }
    make cppcheck || { echo "FAILED: cppcheck" >&2; status=1; }
fi
rm -f "$lint_log"

timeout_args=()
if /usr/bin/python3 -c 'import pytest_timeout' 2>/dev/null; then
    timeout_args=(--timeout="$PYTEST_TEST_TIMEOUT")  # the plugin loads by itself
fi

# The benchmark driver (scripts/bench): its report code, options and configs, and two runs of a
# second against a real apache2 (mod_wsgid and Apache alone). About 10 s; no timed assertions.
log "benchmark driver (pytest tests/bench)"
bench_status=0
/usr/bin/python3 -m pytest tests/bench -q -rfEs -p no:cacheprovider "${timeout_args[@]}" ||
    bench_status=$?
if [ "$bench_status" -ne 0 ]; then
    echo "FAILED: benchmark driver tests (pytest exit $bench_status)" >&2
    status=1
fi
# The whole suite under each MPM (event first: Debian's default); MPM=name runs just that one.
for mpm in ${MPM:-event worker prefork}; do
    log "integration tests (pytest against apache2 with mpm_$mpm)"
    pytest_status=0
    # shellcheck disable=SC2086
    MPM=$mpm /usr/bin/python3 -m pytest tests/integration -q -rfEs --maxfail=5 \
        -p no:cacheprovider "${timeout_args[@]}" ${PYTEST_ARGS:-} || pytest_status=$?
    if [ "$pytest_status" -eq 5 ]; then
        echo "FAILED: pytest collected no tests (mpm_$mpm)" >&2
        status=1
    elif [ "$pytest_status" -ne 0 ]; then
        echo "FAILED: integration tests under mpm_$mpm (pytest exit $pytest_status)" >&2
        status=1
    fi
done

# Sanitizer pass (DESIGN.md, CI step 6): a copy of the tree - tracked and new files as they are
# in the work tree - built with ASan and UBSan; unit tests with leak checking, then the pytest
# suite under mpm_event. A copy, so this tree stays configured as above (demo.sh uses it).
# A release tarball is no git checkout: there the copy is the whole tree, cleaned of this build.
if [ "${WSGID_SANITIZE:-1}" != 0 ]; then
    log "sanitizer pass (address,undefined) in a copy of the tree"
    san_dir=$(mktemp -d /tmp/wsgid-san-XXXXXX)
    san_status=0
    if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
        git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$san_dir"
    else
        cp -a . "$san_dir"
        if [ -f "$san_dir/Makefile" ]; then
            make -C "$san_dir" distclean >/dev/null || san_status=$?
        fi
    fi
    [ "$san_status" -ne 0 ] || (
        cd "$san_dir"
        autoreconf -fi >/dev/null
        # No -Werror here: the main build above enforces it, and GCC 12's -Wmaybe-uninitialized
        # misfires inside <regex> when ASan instruments it.
        ./configure --enable-sanitizers=address,undefined >/dev/null
        make -j2 >/dev/null
        make -j2 check || { tail -n 100 test-suite.log; exit 1; }
        # shellcheck disable=SC2086
        MPM=event /usr/bin/python3 -m pytest tests/integration -q -rfEs --maxfail=5 \
            -p no:cacheprovider "${timeout_args[@]}" ${PYTEST_ARGS:-}
    ) || san_status=$?
    if [ "$san_status" -ne 0 ]; then
        echo "FAILED: sanitizer pass (exit $san_status; tree kept in $san_dir)" >&2
        status=1
    else
        rm -rf "$san_dir"
    fi
fi

if [ "$status" -eq 0 ]; then
    log "all tests passed"
fi
exit "$status"
