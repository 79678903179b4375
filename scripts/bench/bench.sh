#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The benchmark, in one command (docs/performance.md): installs the Debian packages the selected
# targets need (apt-get update first), puts back the one piece of system config a package changes
# (libapache2-mod-wsgi-py3 enables mod_wsgi in /etc/apache2), checks that mod_wsgid is built in
# this tree, then runs bench.py. Every option is bench.py's; `--help` lists them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# Debian's interpreter: it has Flask and Django from Debian packages and is the one mod_wsgi,
# uWSGI's plugin, gunicorn and mod_wsgid run. The python3 first on PATH may be another one.
python=/usr/bin/python3

install=1
args=()
for arg in "$@"; do
    case "$arg" in
        --no-install) install=0 ;;
        *) args+=("$arg") ;;
    esac
done

usage_extra() {
    cat <<'EOF'

bench.sh also takes:
  --no-install          never call apt-get; a target whose software is missing fails (and is
                        reported as failed), the others run
EOF
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install() {
    if [ "$install" = 0 ] || [ "$(id -u)" != 0 ]; then
        echo "bench.sh: missing packages: $*" >&2
        echo "install them with: apt-get update && apt-get install -y $*" >&2
        return 1
    fi
    echo "bench.sh: installing $*" >&2
    local wsgi_was_enabled=0
    [ -e /etc/apache2/mods-enabled/wsgi.load ] && wsgi_was_enabled=1
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "$@"
    # The package's postinst enables mod_wsgi in the system's apache2 config. The benchmark
    # never uses that config (every server gets its own), so put it back as it was: a system
    # apache2 that later loads mod_wsgid must not also load mod_wsgi.
    if [ "$wsgi_was_enabled" = 0 ] && [ -e /etc/apache2/mods-enabled/wsgi.load ] &&
        command -v a2dismod >/dev/null 2>&1; then
        a2dismod -q wsgi || true
    fi
}

for arg in "${args[@]}"; do
    case "$arg" in
        -h | --help)
            [ -x "$python" ] && "$python" "$here/bench.py" --help
            usage_extra
            exit 0
            ;;
    esac
done

# The driver itself needs Debian's python3 to say which packages the chosen targets need.
if [ ! -x "$python" ]; then
    apt_install python3 || exit 2
fi
read -r -a wanted <<<"$("$python" "$here/bench.py" --list-packages "${args[@]}")"
missing=()
for pkg in "${wanted[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if ! apt_install "${missing[@]}"; then
        # Without wrk or apache2 nothing can run; a missing peer only fails its own target.
        for pkg in "${missing[@]}"; do
            case "$pkg" in wrk | apache2) exit 2 ;; esac
        done
    fi
fi

exec "$python" "$here/bench.py" --repo "$repo" "${args[@]}"
