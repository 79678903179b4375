#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks DESIGN.md's dependency rules on the source tree: every `#include "<layer>/..."` in a file
# under src/<layer>/ must name a layer that layer may use. All libraries are built with
# -I$(srcdir)/src, so the compiler would accept any include; this script is what enforces the
# layering (`make check` runs it, and its self-test).
#   scripts/check_layers.sh [SRC_DIR]    check SRC_DIR (default: the src/ next to this script)
#   scripts/check_layers.sh --self-test  check the checker on a small temporary tree
# Prints each violation as `file:line: ...` and exits 1 when there is any; 2 on a usage error.
#
# The rules (DESIGN.md "dependency rules"):
#   common:   the standard library only
#   protocol: common
#   apache:   common, protocol, plus httpd and APR
#   python:   common, plus Python
#   daemon:   common, protocol, python
# and (DESIGN.md house style, "Headers") httpd/APR headers are included only by
# apache/httpd_includes.h, <Python.h> only by python/python.h. A quoted include must name its
# layer ("common/status.h", never "status.h" or "../common/status.h"), so the rule sees it.
set -uo pipefail

# The layers each layer may include (itself included).
allowed_layers() {
    case "$1" in
        common) echo "common" ;;
        protocol) echo "common protocol" ;;
        apache) echo "common protocol apache" ;;
        python) echo "common python" ;;
        daemon) echo "common protocol python daemon" ;;
        *) return 1 ;;
    esac
}

# Checks the tree under $1; prints violations, returns 1 if any.
check_tree() {
    local src=$1
    local status=0 layer file
    if [ ! -d "$src" ]; then
        echo "check_layers: no such directory: $src" >&2
        return 2
    fi
    for dir in "$src"/*/; do
        layer=$(basename "$dir")
        if ! allowed_layers "$layer" >/dev/null; then
            echo "$dir: unknown layer '$layer' (DESIGN.md names common, protocol, apache," \
                "python, daemon; add its rule to scripts/check_layers.sh)"
            status=1
            continue
        fi
    done
    while IFS= read -r -d '' file; do
        local rel=${file#"$src"/}
        layer=${rel%%/*}
        allowed_layers "$layer" >/dev/null || continue
        if ! awk -v layer="$layer" -v allowed=" $(allowed_layers "$layer") " -v rel="$rel" '
            function fail(msg) { print FILENAME ":" FNR ": " msg; bad = 1 }
            /^[ \t]*#[ \t]*include[ \t]*"/ {
                target = $0
                sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", target)
                sub(/".*/, "", target)
                if (target !~ /^[a-z_]+\//) {
                    fail("includes \"" target "\": a quoted include must name its layer" \
                         " (\"<layer>/file.h\") so the dependency rules can be checked")
                    next
                }
                inc = target
                sub(/\/.*/, "", inc)
                if (index(allowed, " " inc " ") == 0) {
                    fail("includes \"" target "\" (layer " inc "), but " layer \
                         " may include only" allowed "(DESIGN.md dependency rules)")
                }
                next
            }
            /^[ \t]*#[ \t]*include[ \t]*</ {
                target = $0
                sub(/^[ \t]*#[ \t]*include[ \t]*</, "", target)
                sub(/>.*/, "", target)
                if (target == "Python.h" && rel != "python/python.h") {
                    fail("includes <" target ">, but only python/python.h includes" \
                         " <Python.h> (DESIGN.md house style: Headers)")
                } else if (target ~ /^(apr|apu|ap|http|mod|mpm|util)_[a-z_]*\.h$|^(httpd|scoreboard|unixd)\.h$/ \
                           && rel != "apache/httpd_includes.h") {
                    fail("includes <" target ">, but only apache/httpd_includes.h includes httpd" \
                         " and APR headers (DESIGN.md house style: Headers)")
                }
            }
            END { exit bad }
        ' "$file"; then
            status=1
        fi
    done < <(find "$src" -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cc' \) -print0 | sort -z)
    return $status
}

# Builds a small tree with known allowed and forbidden includes and checks each verdict.
self_test() {
    local tmp out failures=0
    tmp=$(mktemp -d) || return 2
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp/ok/common" "$tmp/ok/protocol" "$tmp/ok/daemon" "$tmp/ok/python" "$tmp/ok/apache"
    printf '#include <string>\n#include "common/status.h"\n' >"$tmp/ok/protocol/allowed.cpp"
    printf '#include "python/request_io.h"\n#include "protocol/frame.h"\n' >"$tmp/ok/daemon/d.h"
    printf '#include <Python.h>\n' >"$tmp/ok/python/python.h"
    printf '#include <httpd.h>\n#include <apr_pools.h>\n' >"$tmp/ok/apache/httpd_includes.h"
    printf '// #include "apache/x.h" in a comment is not an include\n' >"$tmp/ok/common/c.h"

    cp -r "$tmp/ok" "$tmp/bad"
    printf '#include "common/status.h"\n\n#include "apache/config.h"\n' \
        >"$tmp/bad/protocol/forbidden.cpp"
    printf '#include "protocol/frame.h"\n' >"$tmp/bad/python/p.cpp"
    printf '#include "status.h"\n' >"$tmp/bad/common/relative.h"
    printf '#include <Python.h>\n' >"$tmp/bad/daemon/py.cpp"
    printf '#include <http_log.h>\n' >"$tmp/bad/apache/direct.cpp"

    expect() {  # expect DESCRIPTION COMMAND...: the command must succeed
        local what=$1
        shift
        if ! "$@"; then
            echo "check_layers self-test FAILED: $what" >&2
            failures=$((failures + 1))
        fi
    }
    out=$(check_tree "$tmp/ok")
    expect "a tree of allowed includes passes (got: $out)" test $? -eq 0 -a -z "$out"
    out=$(check_tree "$tmp/bad")
    expect "a tree with forbidden includes fails" test $? -eq 1
    expect "protocol including apache is reported with file:line" \
        grep -q "/protocol/forbidden.cpp:3: includes \"apache/config.h\" (layer apache)" <<<"$out"
    expect "the rule is named" grep -q "but protocol may include only common protocol" <<<"$out"
    expect "python including protocol is reported" grep -q "/python/p.cpp:1: " <<<"$out"
    expect "a quoted include without its layer is reported" \
        grep -q "/common/relative.h:1: includes \"status.h\"" <<<"$out"
    expect "<Python.h> outside python/python.h is reported" \
        grep -q "/daemon/py.cpp:1: includes <Python.h>" <<<"$out"
    expect "an httpd header outside httpd_includes.h is reported" \
        grep -q "/apache/direct.cpp:1: includes <http_log.h>" <<<"$out"
    expect "allowed includes are not reported" \
        test "$(grep -c -e allowed.cpp -e /d.h: -e /c.h: -e python.h: -e httpd_includes.h: \
            <<<"$out")" -eq 0
    expect "exactly the five violations are reported" test "$(grep -c . <<<"$out")" -eq 5
    if [ $failures -ne 0 ]; then
        printf '%s\n' "$out" >&2
        return 1
    fi
    echo "check_layers self-test: ok"
}

case "${1:-}" in
    --self-test) self_test ;;
    -h | --help) sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//' ;;
    -*)
        echo "usage: $0 [SRC_DIR] | --self-test" >&2
        exit 2
        ;;
    *)
        src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
        check_tree "$src"
        rc=$?
        [ $rc -eq 0 ] && echo "check_layers: $src follows the dependency rules"
        exit $rc
        ;;
esac
