// SPDX-License-Identifier: Apache-2.0
// User switch, environment, working directory, umask and locale of the daemon process.
// No httpd headers here.
#include "daemon/privileges.h"

#include <cerrno>
#include <clocale>
#include <cstdlib>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/socket_io.h"

namespace wsgid::daemon {

using common::ErrorCode;
using common::LogLevel;
using common::Result;
using common::Status;

namespace {

// getpwuid_r buffer when sysconf gives no hint; passwd lines are far shorter.
constexpr std::size_t kDefaultPasswdBuffer = std::size_t{16} * 1024;

Status sysError(const std::string& what, int err) {
    return {ErrorCode::IoError, what + ": " + common::errnoText(err)};
}

/// What initgroups(name, gid) would set: the user's groups in the group database, with `gid`.
Result<std::vector<gid_t>> groupListOf(const std::string& name, gid_t gid) {
    // Far above any real membership count; getgrouplist says how many it needs anyway.
    constexpr int kMaxGroups = 65536;
    int count = 32;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    while (::getgrouplist(name.c_str(), gid, groups.data(), &count) < 0) {
        if (count <= static_cast<int>(groups.size()) || count > kMaxGroups) {
            return Status(ErrorCode::Internal, "getgrouplist(" + name + ") failed");
        }
        groups.resize(static_cast<std::size_t>(count));
    }
    groups.resize(static_cast<std::size_t>(count));
    return groups;
}

/// chroot() into `jail`, then chdir("/") inside it.
Status enterJail(const std::string& jail) {
    if (::chroot(jail.c_str()) != 0) {
        return sysError("chroot(" + jail + ")", errno);
    }
    // The working directory inherited from httpd is outside the jail: a way back out.
    if (::chdir("/") != 0) {
        return sysError("chdir(/) in the jail " + jail, errno);
    }
    return Status::ok();
}

}  // namespace

std::optional<PasswdEntry> lookupUser(uid_t uid) {
    const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : kDefaultPasswdBuffer);
    passwd pw{};
    passwd* found = nullptr;
    for (;;) {
        const int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
        if (rc == ERANGE && buf.size() < 64 * kDefaultPasswdBuffer) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0 || found == nullptr) {
            return std::nullopt;
        }
        return PasswdEntry{.name = pw.pw_name != nullptr ? pw.pw_name : "",
                           .home = pw.pw_dir != nullptr ? pw.pw_dir : "",
                           .gid = pw.pw_gid};
    }
}

Result<bool> switchUser(const protocol::DaemonArgs& args, common::LogSink& log) {
    if (!args.chroot.empty() && ::geteuid() != 0) {
        return Status(
            ErrorCode::InvalidArgument,
            "chroot=" + args.chroot + " needs the daemon started as root (httpd as root)");
    }
    if (!args.uid && !args.gid) {
        if (!args.chroot.empty()) {
            if (Status s = enterJail(args.chroot); !s) {
                return s;
            }
        }
        return false;
    }
    if (::geteuid() != 0) {
        if (args.uid && *args.uid != ::getuid()) {
            log.log(LogLevel::Warning, "WG0240",
                    "not started as root: cannot switch to uid " + std::to_string(*args.uid) +
                        ", running as uid " + std::to_string(::getuid()));
        }
        return false;
    }
    const std::optional<PasswdEntry> user = args.uid ? lookupUser(*args.uid) : std::nullopt;
    gid_t gid = ::getgid();
    if (args.gid) {
        gid = *args.gid;
    } else if (user) {
        gid = user->gid;
    }

    // The supplementary groups: the given list, else the user's from the group database, read
    // now, before a chroot= hides the system's /etc/group.
    std::vector<gid_t> groups = args.supplementaryGroups;
    if (groups.empty() && args.uid && (!args.userName.empty() || user)) {
        const std::string& name = args.userName.empty() ? user->name : args.userName;
        auto found = groupListOf(name, gid);
        if (!found) {
            return found.status();
        }
        groups = std::move(found.value());
    }
    if (groups.empty()) {
        groups.push_back(gid);
    }
    // mod_wsgi's order: chroot, then the groups and the gid, then the uid (chroot needs root).
    if (!args.chroot.empty()) {
        if (Status s = enterJail(args.chroot); !s) {
            return s;
        }
    }
    // Supplementary groups first: after setuid() we could no longer change them, and root's own
    // groups must not leak into the daemon.
    if (::setgroups(groups.size(), groups.data()) != 0) {
        return sysError("setgroups", errno);
    }
    if (::setgid(gid) != 0) {
        return sysError("setgid(" + std::to_string(gid) + ")", errno);
    }
    if (!args.uid) {
        return false;
    }
    const uid_t uid = *args.uid;
    if (::setuid(uid) != 0) {
        return sysError("setuid(" + std::to_string(uid) + ")", errno);
    }
    if (::getuid() != uid || ::geteuid() != uid) {
        return Status(ErrorCode::Internal, "setuid(" + std::to_string(uid) + ") left uid " +
                                               std::to_string(::getuid()) + ", euid " +
                                               std::to_string(::geteuid()));
    }
    if (uid != 0 && ::setuid(0) == 0) {
        return Status(ErrorCode::Internal, "root privileges could be regained after setuid(" +
                                               std::to_string(uid) + "); refusing to run");
    }
    return true;
}

WorkingDirectory chooseWorkingDirectory(const std::string& homeOption, bool userSwitched,
                                        const std::optional<PasswdEntry>& user) {
    if (!homeOption.empty()) {
        return {.path = homeOption, .fromHomeOption = true};
    }
    if (userSwitched && user && !user->home.empty()) {
        return {.path = user->home, .fromHomeOption = false};
    }
    return {};
}

Status applyProcessSettings(const protocol::DaemonArgs& args, bool userSwitched,
                            common::LogSink& log) {
    const std::optional<PasswdEntry> user = lookupUser(::getuid());
    // The parent scrubs the environment (docs/security.md), so HOME/USER/LOGNAME are set here
    // whether or not the uid changed: they must describe the user we run as.
    {
        const std::string name =
            !args.userName.empty() ? args.userName : (user ? user->name : std::string());
        std::string home = user ? user->home : std::string();
        if (home.empty()) {
            home = args.home.empty() ? "/" : args.home;
        }
        // NOLINTBEGIN(concurrency-mt-unsafe): single-threaded start-up, see privileges.h
        if (::setenv("HOME", home.c_str(), 1) != 0 ||
            (!name.empty() && (::setenv("USER", name.c_str(), 1) != 0 ||
                               ::setenv("LOGNAME", name.c_str(), 1) != 0))) {
            return sysError("setenv", errno);
        }
        // NOLINTEND(concurrency-mt-unsafe)
    }

    const WorkingDirectory wd = chooseWorkingDirectory(args.home, userSwitched, user);
    if (!wd.path.empty() && ::chdir(wd.path.c_str()) != 0) {
        const int err = errno;
        if (wd.fromHomeOption) {
            return sysError("cannot enter home directory '" + wd.path + "'", err);
        }
        log.log(LogLevel::Warning, "WG0241",
                "cannot enter the user's home directory '" + wd.path +
                    "': " + common::errnoText(err) + "; working in /");
        if (::chdir("/") != 0) {
            return sysError("chdir(/)", errno);
        }
    }

    if (args.umask) {
        ::umask(*args.umask);
    }

    // NOLINTBEGIN(concurrency-mt-unsafe): single-threaded start-up, see privileges.h
    if (!args.lang.empty() && ::setenv("LANG", args.lang.c_str(), 1) != 0) {
        return sysError("setenv(LANG)", errno);
    }
    if (!args.locale.empty() && ::setenv("LC_ALL", args.locale.c_str(), 1) != 0) {
        return sysError("setenv(LC_ALL)", errno);
    }
    if ((!args.lang.empty() || !args.locale.empty()) && std::setlocale(LC_ALL, "") == nullptr) {
        // Python still starts (it falls back to the C locale and UTF-8 mode), so only warn.
        log.log(LogLevel::Warning, "WG0242",
                "locale '" + (args.locale.empty() ? args.lang : args.locale) +
                    "' is not available on this system (see locale -a)");
    }
    // NOLINTEND(concurrency-mt-unsafe)
    return Status::ok();
}

}  // namespace wsgid::daemon
