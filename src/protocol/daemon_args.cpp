// SPDX-License-Identifier: Apache-2.0
// DaemonArgs <-> argv. Pure: no syscalls, no httpd, no Python.
#include "protocol/daemon_args.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <limits>

namespace wsgid::protocol {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

std::string joinList(const std::vector<std::string>& items, char sep) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) {
            out.push_back(sep);
        }
        out += s;
    }
    return out;
}

std::vector<std::string> splitList(std::string_view s, char sep) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const auto pos = s.find(sep);
        const auto item = s.substr(0, pos);
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (pos == std::string_view::npos) {
            break;
        }
        s.remove_prefix(pos + 1);
    }
    return out;
}

template <typename T>
bool parseNumber(std::string_view s, T& out, int base = 10) {
    if (s.empty()) {
        return false;
    }
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, out, base);
    return ec == std::errc() && p == end;
}

Status bad(std::string_view key, std::string_view value) {
    return {ErrorCode::InvalidArgument,
            "invalid value '" + std::string(value) + "' for --" + std::string(key)};
}

}  // namespace

std::vector<std::string> toArgv(const DaemonArgs& a) {
    std::vector<std::string> v;
    v.push_back(a.displayName.empty() ? "wsgid-daemon" : a.displayName);
    auto opt = [&v](std::string_view key, const std::string& value) {
        v.push_back("--" + std::string(key) + "=" + value);
    };
    opt("group", a.group);
    opt("process-index", std::to_string(a.processIndex));
    opt("processes", std::to_string(a.processes));
    opt("multiprocess", a.multiprocess ? "1" : "0");
    opt("threads", std::to_string(a.threads));
    opt("manager-pid", std::to_string(a.managerPid));
    opt("generation", std::to_string(a.generation));
    if (a.uid) {
        opt("uid", std::to_string(*a.uid));
    }
    if (a.gid) {
        opt("gid", std::to_string(*a.gid));
    }
    if (!a.supplementaryGroups.empty()) {
        std::vector<std::string> ids;
        std::transform(a.supplementaryGroups.begin(), a.supplementaryGroups.end(),
                       std::back_inserter(ids), [](gid_t g) { return std::to_string(g); });
        opt("supplementary-groups", joinList(ids, ','));
    }
    if (!a.userName.empty()) {
        opt("user-name", a.userName);
    }
    if (!a.home.empty()) {
        opt("home", a.home);
    }
    if (a.umask) {
        char buf[16];
        auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), *a.umask, 8);
        (void)ec;
        opt("umask", std::string(buf, p));
    }
    if (!a.pythonHome.empty()) {
        opt("python-home", a.pythonHome);
    }
    if (!a.pythonPath.empty()) {
        opt("python-path", joinList(a.pythonPath, ':'));
    }
    if (!a.lang.empty()) {
        opt("lang", a.lang);
    }
    if (!a.locale.empty()) {
        opt("locale", a.locale);
    }
    opt("log-level", a.logLevel);
    opt("shutdown-timeout", std::to_string(a.shutdownTimeoutSec));
    for (const auto& p : a.preload) {
        opt("preload", p);
    }
    return v;
}

Result<DaemonArgs> parseArgv(std::span<const std::string_view> args) {
    DaemonArgs a;
    bool haveGroup = false;
    for (const std::string_view arg : args) {
        if (arg.substr(0, 2) != "--" || arg.find('=') == std::string_view::npos) {
            return Status(ErrorCode::InvalidArgument,
                          "expected --key=value, got '" + std::string(arg) + "'");
        }
        const auto eq = arg.find('=');
        const std::string_view key = arg.substr(2, eq - 2);
        const std::string_view value = arg.substr(eq + 1);
        if (key == "group") {
            if (value.empty()) {
                return bad(key, value);
            }
            a.group.assign(value);
            haveGroup = true;
        } else if (key == "process-index") {
            if (!parseNumber(value, a.processIndex) || a.processIndex < 0) {
                return bad(key, value);
            }
        } else if (key == "processes") {
            if (!parseNumber(value, a.processes) || a.processes < 1) {
                return bad(key, value);
            }
        } else if (key == "multiprocess") {
            if (value != "0" && value != "1") {
                return bad(key, value);
            }
            a.multiprocess = value == "1";
        } else if (key == "threads") {
            if (!parseNumber(value, a.threads) || a.threads < 1) {
                return bad(key, value);
            }
        } else if (key == "manager-pid") {
            if (!parseNumber(value, a.managerPid)) {
                return bad(key, value);
            }
        } else if (key == "generation") {
            if (!parseNumber(value, a.generation)) {
                return bad(key, value);
            }
        } else if (key == "uid") {
            uid_t u = 0;
            if (!parseNumber(value, u)) {
                return bad(key, value);
            }
            a.uid = u;
        } else if (key == "gid") {
            gid_t g = 0;
            if (!parseNumber(value, g)) {
                return bad(key, value);
            }
            a.gid = g;
        } else if (key == "supplementary-groups") {
            for (const auto& item : splitList(value, ',')) {
                gid_t g = 0;
                if (!parseNumber(std::string_view(item), g)) {
                    return bad(key, value);
                }
                a.supplementaryGroups.push_back(g);
            }
        } else if (key == "user-name") {
            a.userName.assign(value);
        } else if (key == "home") {
            a.home.assign(value);
        } else if (key == "umask") {
            mode_t m = 0;
            if (!parseNumber(value, m, 8) || m > 0777) {
                return bad(key, value);
            }
            a.umask = m;
        } else if (key == "python-home") {
            a.pythonHome.assign(value);
        } else if (key == "python-path") {
            a.pythonPath = splitList(value, ':');
        } else if (key == "lang") {
            a.lang.assign(value);
        } else if (key == "locale") {
            a.locale.assign(value);
        } else if (key == "log-level") {
            a.logLevel.assign(value);
        } else if (key == "shutdown-timeout") {
            if (!parseNumber(value, a.shutdownTimeoutSec) || a.shutdownTimeoutSec < 0) {
                return bad(key, value);
            }
        } else if (key == "preload") {
            a.preload.emplace_back(value);
        } else {
            return Status(ErrorCode::InvalidArgument, "unknown option --" + std::string(key));
        }
    }
    if (!haveGroup) {
        return Status(ErrorCode::InvalidArgument, "missing --group");
    }
    return a;
}

}  // namespace wsgid::protocol
