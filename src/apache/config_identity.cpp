// SPDX-License-Identifier: Apache-2.0
// check_config's identity step (config_check_impl.h): user=, group=, supplementary-groups=,
// script-user=, script-group= and socket-user= of each daemon group to uids and gids. httpd
// parent only; getpwnam and friends are not thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include <grp.h>
#include <pwd.h>

#include "apache/config_check_impl.h"
#include "apache/config_parse.h"
#include "apache/httpd_includes.h"

namespace wsgid::apache {

namespace {

/// "#123" -> 123; otherwise std::nullopt.
std::optional<long> numericId(const std::string& value) {
    if (value.size() < 2 || value.front() != '#') {
        return std::nullopt;
    }
    auto n = parseInteger("id", std::string_view(value).substr(1), 0, 0x7fffffff);
    return n ? std::optional<long>(n.value()) : std::nullopt;
}

/// Resolves a group name or #gid; the error says what to change.
std::optional<gid_t> resolveGid(const std::string& value, const std::string& what,
                                ConfigErrors& errors) {
    if (auto n = numericId(value)) {
        return static_cast<gid_t>(*n);
    }
    const struct group* gr = ::getgrnam(value.c_str());  // NOLINT(concurrency-mt-unsafe): parent
    if (gr == nullptr) {
        errors.add(what + ": group '" + value + "' does not exist; create it or name another");
        return std::nullopt;
    }
    return gr->gr_gid;
}

}  // namespace

void resolveIdentity(DaemonGroup& g, ConfigErrors& errors) {
    const std::string what = groupLabel(g);
    if (!g.user.empty()) {
        const struct passwd* pw = nullptr;  // NOLINT(concurrency-mt-unsafe): single-threaded parent
        if (auto n = numericId(g.user)) {
            pw = ::getpwuid(static_cast<uid_t>(*n));  // NOLINT(concurrency-mt-unsafe)
            g.uid = static_cast<uid_t>(*n);
        } else {
            pw = ::getpwnam(g.user.c_str());  // NOLINT(concurrency-mt-unsafe)
            if (pw == nullptr) {
                errors.add(what + ": user '" + g.user +
                           "' does not exist; create it or change the user= option");
                return;
            }
            g.uid = pw->pw_uid;
        }
        if (*g.uid == 0 && !g.allowRoot) {
            errors.add(what + ": user '" + g.user +
                       "' is root; name an unprivileged user, or add allow-root=On if root is "
                       "really meant");
            return;
        }
        g.userName = pw != nullptr ? pw->pw_name : "";
        if (pw != nullptr) {
            g.gid = pw->pw_gid;
        } else if (g.group.empty()) {
            errors.add(what + ": user '" + g.user +
                       "' has no passwd entry, so its primary group is unknown; add group=");
            return;
        }
    } else {
        g.uid = ap_unixd_config.user_id;
        g.gid = ap_unixd_config.group_id;
        g.userName = ap_unixd_config.user_name != nullptr ? ap_unixd_config.user_name : "";
    }
    if (!g.group.empty()) {
        if (auto gid = resolveGid(g.group, what + " group=", errors)) {
            g.gid = *gid;
        }
    }
    g.supplementaryGids.clear();
    std::string_view rest = g.supplementaryGroups;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string item(rest.substr(0, comma));
        if (auto gid = resolveGid(item, what + " supplementary-groups=", errors)) {
            g.supplementaryGids.push_back(*gid);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
}

void resolveScriptOwner(DaemonGroup& g, ConfigErrors& errors) {
    const std::string what = groupLabel(g);
    if (!g.scriptUser.empty()) {
        if (auto n = numericId(g.scriptUser)) {
            g.scriptUid = static_cast<uid_t>(*n);
        } else if (const struct passwd* pw = ::getpwnam(g.scriptUser.c_str());  // NOLINT
                   pw != nullptr) {
            g.scriptUid = pw->pw_uid;
        } else {
            errors.add(what + ": script-user '" + g.scriptUser +
                       "' does not exist; name the user that owns the group's WSGI scripts");
        }
    }
    if (!g.scriptGroup.empty()) {
        g.scriptGid = resolveGid(g.scriptGroup, what + " script-group=", errors);
    }
}

void resolveSocketUser(DaemonGroup& g, ConfigErrors& errors) {
    if (g.socketUser.empty()) {
        return;
    }
    if (auto n = numericId(g.socketUser)) {
        g.socketUid = static_cast<uid_t>(*n);
    } else if (const struct passwd* pw = ::getpwnam(g.socketUser.c_str());  // NOLINT
               pw != nullptr) {
        g.socketUid = pw->pw_uid;
    } else {
        errors.add(groupLabel(g) + ": socket-user '" + g.socketUser +
                   "' does not exist; name the user the httpd children connect as");
    }
}

}  // namespace wsgid::apache
