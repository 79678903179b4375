#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Entry point of the benchmark: installs what it needs (Debian packages), checks that mod_wsgid
# is built in this tree, then runs bench.py, which compares mod_wsgid with Debian's mod_wsgi in
# daemon mode. See docs/benchmarks.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# Debian's interpreter: it has Flask and Django from Debian packages and is the one mod_wsgi and
# mod_wsgid embed. The python3 first on PATH may be another one.
python=/usr/bin/python3

usage() {
    cat <<EOF
usage: scripts/bench/bench.sh [options]

Runs each scenario with wrk against /usr/sbin/apache2 (mpm_event) on 127.0.0.1, once with
Debian's mod_wsgi in daemon mode and once with mod_wsgid from this build tree, each in its own
freshly started server, and prints requests/s, p50/p99 latency, server CPU per request and the
ratio mod_wsgid / mod_wsgi. Expects \`make\` to have been run in the build tree.

options (all passed to bench.py):
  --scenarios LIST      hello,file,post,yields,flask,django,logline (default: all)
  --servers LIST        mod_wsgi,mod_wsgid (default: both)
  --duration SECONDS    measured seconds per run (default 10)
  --warmup SECONDS      unmeasured warm-up per run (default 2)
  --connections N       wrk connections (default 8)
  --threads N           wrk threads (default 2)
  --repeat N            runs per server and scenario; medians reported (default 1)
  --processes N         daemon processes (default 1)
  --daemon-threads N    threads per daemon process (default 15)
  --wsgid-daemon-options STR  extra WSGIDaemonProcess options, mod_wsgid only (e.g. log-rate=0)
  --server-cpus LIST    pin apache2 and its daemons with taskset (default: no pinning)
  --client-cpus LIST    pin wrk with taskset (default: no pinning)
  --out DIR             where the JSON results file goes (default /tmp)
  --build-dir DIR       build tree holding .libs/mod_wsgid.so and wsgid-daemon (default: $repo)
  --markdown            also print the table in Markdown
  --baseline            file scenario: also measure httpd serving the same file itself
  --keep                keep the temp dir with the generated configs and error logs
  --no-install          never call apt-get; fail if something is missing
EOF
}

install=1
build_dir="$repo"
servers="mod_wsgi,mod_wsgid"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --no-install)
            install=0
            ;;
        --build-dir)
            build_dir="$2"
            args+=("$1" "$2")
            shift
            ;;
        --build-dir=*)
            build_dir="${1#*=}"
            args+=("$1")
            ;;
        --servers)
            servers="$2"
            args+=("$1" "$2")
            shift
            ;;
        --servers=*)
            servers="${1#*=}"
            args+=("$1")
            ;;
        *)
            args+=("$1")
            ;;
    esac
    shift
done

# ---- packages ---------------------------------------------------------------------------------

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/sbin/apache2 ] && [ -e /usr/lib/apache2/modules/mod_mpm_event.so ] || missing+=(apache2)
[ -e /usr/lib/apache2/modules/mod_wsgi.so ] || missing+=(libapache2-mod-wsgi-py3)
[ -x "$python" ] || missing+=(python3)
if [ -x "$python" ]; then
    "$python" -c 'import flask' >/dev/null 2>&1 || missing+=(python3-flask)
    "$python" -c 'import django' >/dev/null 2>&1 || missing+=(python3-django)
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$install" = 0 ] || [ "$(id -u)" != 0 ]; then
        echo "bench.sh: missing packages: ${missing[*]}" >&2
        echo "install them with: apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 2
    fi
    echo "bench.sh: installing ${missing[*]}" >&2
    wsgi_was_enabled=0
    [ -e /etc/apache2/mods-enabled/wsgi.load ] && wsgi_was_enabled=1
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
    # The package's postinst enables mod_wsgi in the system's apache2 config. The benchmark
    # never uses that config (every server gets its own), so put the system back as it was:
    # a system apache2 that later loads mod_wsgid must not also load mod_wsgi.
    if [ "$wsgi_was_enabled" = 0 ] && [ -e /etc/apache2/mods-enabled/wsgi.load ] &&
        command -v a2dismod >/dev/null 2>&1; then
        a2dismod -q wsgi || true
    fi
fi

# ---- build tree -------------------------------------------------------------------------------

case ",$servers," in
    *,mod_wsgid,*)
        absent=()
        [ -e "$build_dir/.libs/mod_wsgid.so" ] || absent+=("$build_dir/.libs/mod_wsgid.so")
        [ -x "$build_dir/wsgid-daemon" ] || absent+=("$build_dir/wsgid-daemon")
        if [ ${#absent[@]} -gt 0 ]; then
            echo "bench.sh: mod_wsgid is not built; missing: ${absent[*]}" >&2
            echo "bench.sh: run \`make -j2\` in $build_dir first" \
                "(or pass --servers mod_wsgi to measure mod_wsgi alone)" >&2
            exit 2
        fi
        ;;
esac

exec "$python" "$here/bench.py" --repo "$repo" "${args[@]}"
