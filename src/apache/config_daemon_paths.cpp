// SPDX-License-Identifier: Apache-2.0
// check_config's choice of the files the daemons need (config_check_impl.h): the wsgid-daemon
// binary (WSGIDaemonProgram, the build tree's, the installed one) and the directory and length
// of the daemon sockets (WSGISocketPrefix). httpd parent only.
#include <climits>
#include <cstdlib>
#include <string>
#include <string_view>

#include <dlfcn.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apache/config_check_impl.h"
#include "apache/config_parse.h"
#include "apache/httpd_includes.h"
#include "apache/socket_directory.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

bool isExecutableFile(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

/// A module loaded from a libtool build tree (<builddir>/.libs/mod_wsgid.so) uses the daemon of
/// that tree (<builddir>/wsgid-daemon), so tests and development never need `make install`.
std::string buildTreeDaemon() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&checkConfiguration), &info) == 0 ||
        info.dli_fname == nullptr) {
        return {};
    }
    std::string so = info.dli_fname;
    const auto slash = so.rfind('/');
    if (slash == std::string::npos) {
        return {};
    }
    const std::string dir = so.substr(0, slash);
    static constexpr std::string_view kLibtoolDir = "/.libs";
    if (dir.size() < kLibtoolDir.size() ||
        dir.compare(dir.size() - kLibtoolDir.size(), kLibtoolDir.size(), kLibtoolDir) != 0) {
        return {};
    }
    const std::string candidate = dir.substr(0, dir.size() - kLibtoolDir.size()) + "/wsgid-daemon";
    if (!isExecutableFile(candidate)) {
        return {};
    }
    char resolved[PATH_MAX];
    return ::realpath(candidate.c_str(), resolved) != nullptr ? std::string(resolved) : candidate;
}

/// Who may own the socket directory: root, and the user of a httpd not started as root.
TrustedOwners trustedSocketOwners() {
    TrustedOwners trusted;
    if (const uid_t self = ::geteuid(); self != 0) {
        trusted.extraUid = self;
        const struct passwd* pw = ::getpwuid(self);  // NOLINT(concurrency-mt-unsafe): parent
        trusted.extraName = pw != nullptr ? pw->pw_name : "";
    }
    return trusted;
}

}  // namespace

void chooseDaemonBinary(GroupRegistry& registry, ConfigErrors& errors) {
    if (!registry.daemonProgram.empty()) {
        if (!isExecutableFile(registry.daemonProgram)) {
            errors.add("WSGIDaemonProgram '" + registry.daemonProgram +
                       "' is not an executable file; fix the path or remove the directive to "
                       "use the installed wsgid-daemon");
        }
        registry.daemonBinary = registry.daemonProgram;
        return;
    }
    if (std::string fromTree = buildTreeDaemon(); !fromTree.empty()) {
        registry.daemonBinary = fromTree;
        return;
    }
    registry.daemonBinary = WSGID_DAEMON_PATH;
    if (!isExecutableFile(registry.daemonBinary)) {
        errors.add("the daemon program " + registry.daemonBinary +
                   " is missing or not executable; run `make install`, or point "
                   "WSGIDaemonProgram at a wsgid-daemon binary");
    }
}

void resolveSocketPrefix(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry,
                         ConfigErrors& errors, bool logNotices) {
    const bool configured = !registry.socketPrefix.empty();
    if (!configured) {
        registry.socketPrefix = ap_runtime_dir_relative(pconf, "wsgid");
    }
    const std::string dir = socketDirectoryOf(registry.socketPrefix);
    const std::string what = configured ? "WSGISocketPrefix " + registry.socketPrefix
                                        : "DefaultRuntimeDir " + dir + " (the daemon sockets)";
    const TrustedOwners trusted = trustedSocketOwners();
    const auto verdict =
        checkSocketDirectory(what, dir, trusted, socketDirectoryAdvice(configured, trusted));
    if (verdict.code() == common::ErrorCode::NotFound) {
        // Not an error: Debian's apache2ctl creates the runtime directory just before start,
        // and the check runs again then.
        if (logNotices) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                         "WG0011: the directory of the daemon sockets, %s, does not exist yet; "
                         "create it or change WSGISocketPrefix / DefaultRuntimeDir",
                         dir.c_str());
        }
    } else if (!verdict) {
        errors.add(verdict.message());
    }
    for (const auto& g : registry.groups()) {
        const std::size_t len = worstCaseSocketPathLength(registry.socketPrefix, g->name);
        if (len > kMaxSocketPathBytes) {
            errors.add(groupLabel(*g) + ": its socket path would be up to " + std::to_string(len) +
                       " bytes, above the " + std::to_string(kMaxSocketPathBytes) +
                       "-byte limit of Unix socket paths; shorten WSGISocketPrefix (now '" +
                       registry.socketPrefix + "') or the group name");
        }
    }
}

}  // namespace wsgid::apache
