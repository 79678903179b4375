# SPDX-License-Identifier: Apache-2.0
# Shared by scripts/test.sh and scripts/demo.sh (sourced, not run): Debian package installation
# and the in-tree build. Needs bash.

# Everything the build, the unit tests and the integration tests need on a fresh Debian.
WSGID_BUILD_PACKAGES=(apache2 apache2-dev libapr1-dev libaprutil1-dev python3-dev pkg-config
    autoconf automake libtool g++ make)
# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes) build the fuzz targets.
# curl (built with nghttp2) is the integration tests' HTTP/2 client; openssl makes their TLS
# certificate; mod_http2 and mod_ssl come with apache2. libapache2-mod-wsgi-py3 (Debian's
# mod_wsgi) is the reference the drop-in test compares mod_wsgid with; it is never enabled.
WSGID_TEST_PACKAGES=(libgtest-dev clang-format clang-tidy cppcheck bear clang libclang-rt-14-dev
    python3-pytest python3-pytest-timeout python3-requests python3-flask python3-django wrk curl
    openssl libapache2-mod-wsgi-py3)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the packages that are not installed yet; does nothing (and needs no network or root)
# when all are there, so local runs stay fast while a fresh machine gets everything.
install_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "packages already installed"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing packages (${missing[*]}); run as root or install sudo"
        sudo=(sudo)
    fi
    log "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

# Configures (once, or always with WSGID_RECONFIGURE=1) and builds in the source tree.
build_tree() {
    local configure_args=("$@")
    if [ ! -f Makefile ] || [ "${WSGID_RECONFIGURE:-0}" = 1 ]; then
        log "autoreconf -fi"
        autoreconf -fi
        log "./configure ${configure_args[*]}"
        ./configure "${configure_args[@]}"
    fi
    log "make -j2"
    make -j2
}
