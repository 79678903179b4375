// SPDX-License-Identifier: Apache-2.0
// DaemonArgs: the contract between the httpd parent that fork+execs wsgid-daemon and the daemon.
// Both sides use this one encoder/parser, so they cannot drift. Pure: no syscalls, no httpd.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/status.h"

namespace wsgid::protocol {

/// The daemon's listening socket is always inherited on this descriptor.
inline constexpr int kListenFd = 3;

/// Exit status of a daemon that cannot start (bad python-home, unknown user, unloadable Python).
/// The parent backs off hard instead of respawning in a tight loop (mod_cgid's startup error).
/// 78 is EX_CONFIG from sysexits.h.
inline constexpr int kExitStartupFailure = 78;

/// Everything a daemon process needs to know. Ids are numeric: names are resolved at
/// configtest time in the parent, so a typo fails there, not in a respawn loop.
struct DaemonArgs {
    std::string group;             ///< WSGIDaemonProcess name
    int processIndex = 0;          ///< 0..processes-1 within the group
    int processes = 1;             ///< processes in the group
    bool multiprocess = false;     ///< wsgi.multiprocess (true if processes= was given at all)
    int threads = 15;              ///< worker threads
    std::uint32_t managerPid = 0;  ///< httpd parent pid (checked against Hello)
    std::uint32_t generation = 0;  ///< httpd generation (checked against Hello)
    std::optional<uid_t> uid;      ///< switch to this user (only when started as root)
    std::optional<gid_t> gid;      ///< and this primary group
    std::vector<gid_t> supplementaryGroups;  ///< empty: initgroups() of the user
    std::string userName;                    ///< for initgroups() and USER/HOME in os.environ
    std::string home;                        ///< chdir here; also sys.path[0]
    std::optional<mode_t> umask;             ///< umask() before Python starts
    std::string pythonHome;                  ///< PyConfig.home (a venv's sys.prefix)
    std::vector<std::string> pythonPath;     ///< prepended to sys.path (site dirs)
    std::string lang;                        ///< LANG
    std::string locale;                      ///< LC_ALL
    std::string displayName;                 ///< argv[0] as ps shows it
    std::string logLevel = "warn";           ///< httpd LogLevel name for this daemon's own lines
    int shutdownTimeoutSec = 5;              ///< bound on drain + finalize at stop
    std::vector<std::string> preload;        ///< "script|application-group" pairs to load at start
};

/// argv for execv(): argv[0] is displayName (or "wsgid-daemon"), then --key=value options.
std::vector<std::string> toArgv(const DaemonArgs& args);

/// Parses argv[1..]; InvalidArgument naming the bad option.
common::Result<DaemonArgs> parseArgv(std::span<const std::string_view> args);

}  // namespace wsgid::protocol
