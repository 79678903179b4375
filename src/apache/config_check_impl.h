// SPDX-License-Identifier: Apache-2.0
// What checkConfiguration (config.h) shares between its source files: config_check.cpp (the
// check itself: the default group, chroot=, references between directives, notices),
// config_identity.cpp (users and groups to ids) and config_daemon_paths.cpp (the daemon binary
// and the socket directory). Include it nowhere else. httpd parent only, at check_config.
#pragma once

#include <string>

#include "apache/config.h"

namespace wsgid::apache {

/// Collects configtest errors: each is logged at once (so all of them show, not just the first).
class ConfigErrors {
public:
    explicit ConfigErrors(server_rec* s) : s_(s) {}
    void add(const std::string& message);
    [[nodiscard]] bool any() const noexcept { return count_ > 0; }

private:
    server_rec* s_;
    int count_ = 0;
};

/// How error messages name a group: its WSGIDaemonProcess and where, or the implicit default.
std::string groupLabel(const DaemonGroup& g);

/// user=, group= and supplementary-groups= to ids (only meaningful when httpd runs as root).
void resolveIdentity(DaemonGroup& g, ConfigErrors& errors);

/// script-user= and script-group= to ids; checked whether or not httpd runs as root, since
/// they only compare a script file's owner.
void resolveScriptOwner(DaemonGroup& g, ConfigErrors& errors);

/// socket-user= to a uid (only when httpd runs as root: otherwise the socket stays its own).
void resolveSocketUser(DaemonGroup& g, ConfigErrors& errors);

/// Sets registry.daemonBinary: WSGIDaemonProgram, else the build tree's, else the installed one.
void chooseDaemonBinary(GroupRegistry& registry, ConfigErrors& errors);

/// Fills in the default socket prefix, checks the socket directory and each group's socket
/// path length.
void resolveSocketPrefix(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry,
                         ConfigErrors& errors, bool logNotices);

}  // namespace wsgid::apache
