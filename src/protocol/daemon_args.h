// SPDX-License-Identifier: Apache-2.0
// DaemonArgs: the contract between the httpd parent that fork+execs wsgid-daemon and the daemon.
// The parent writes them, with the group's secrets, into a pipe the daemon inherits as kArgsFd
// and reads once at start: never argv (ps shows it to every user), the environment or a file.
// Both sides use this one encoder/decoder, so they cannot drift. Pure: no syscalls, no httpd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/interpreter_options.h"
#include "common/python_settings.h"
#include "common/socket_buffers.h"
#include "common/status.h"
#include "protocol/handshake.h"

namespace wsgid::protocol {

/// The daemon's listening socket is always inherited on this descriptor.
inline constexpr int kListenFd = 3;

/// The read end of the pipe that carries the encoded DaemonArgs (read to EOF, then closed).
inline constexpr int kArgsFd = 4;

/// The group's load table (a memfd, protocol/load_table.h), when DaemonArgs::loadSlot is set.
/// (Descriptor 5 is the status pipe: daemon_status.h.)
inline constexpr int kLoadTableFd = 6;

/// Largest encoded DaemonArgs. The parent writes them into the pipe before it forks, so they must
/// fit the pipe's buffer without a reader: Linux gives a pipe 64 KiB (16 pages) by default, and
/// real settings (paths, a few python-path entries, secrets) take well under 4 KiB.
inline constexpr std::size_t kMaxDaemonArgsBytes = std::size_t{64} * 1024;

/// Generations whose secrets a daemon accepts: its own and the ones before it, so httpd children
/// of earlier generations that still run requests after graceful restarts can open new
/// connections. A child more than this many restarts old gets 503 for a new connection.
inline constexpr std::size_t kRetainedSecretGenerations = 8;

/// One generation's secret of a group.
struct GroupSecret {
    std::uint32_t generation = 0;
    Secret secret{};
};

/// Exit status of a daemon that cannot start (bad python-home, unknown user, unloadable Python).
/// The parent backs off hard instead of respawning in a tight loop (mod_cgid's startup error).
/// 78 is EX_CONFIG from sysexits.h.
inline constexpr int kExitStartupFailure = 78;

/// When a daemon process asks to be recycled, how long it drains, its resource limits and its
/// timeouts (WSGIDaemonProcess options of the same names; 0 turns each off). Seconds and bytes.
struct DaemonLifecycle {
    std::uint64_t maximumRequests = 0;
    int restartIntervalSec = 0;
    int inactivityTimeoutSec = 0;
    std::uint64_t maximumMemoryBytes = 0;       ///< resident set size
    int cpuTimeLimitSec = 0;                    ///< RLIMIT_CPU soft limit
    std::uint64_t memoryLimitBytes = 0;         ///< RLIMIT_DATA
    std::uint64_t virtualMemoryLimitBytes = 0;  ///< RLIMIT_AS
    int gracefulTimeoutSec = 15;                ///< drain bound of a recycled process
    int evictionTimeoutSec = 15;                ///< drain bound of a process evicted with SIGUSR1
    int startupTimeoutSec = 0;     ///< the script must load within this (docs/operations.md)
    int requestTimeoutSec = 0;     ///< a request may run this long
    int deadlockTimeoutSec = 300;  ///< the GIL may be held this long (mod_wsgi default)
    int interruptTimeoutSec = 0;   ///< after request-timeout, RequestTimeout and this long to go
};

/// Everything a daemon process needs to know. Ids are numeric: names are resolved at
/// configtest time in the parent, so a typo fails there, not in a respawn loop.
struct DaemonArgs {
    std::string group;                 ///< WSGIDaemonProcess name
    int processIndex = 0;              ///< 0..processes-1 within the group
    int processes = 1;                 ///< processes in the group
    bool multiprocess = false;         ///< wsgi.multiprocess (true if processes= was given at all)
    int threads = 15;                  ///< worker threads; 0: run `preload` as service scripts
    std::uint32_t managerPid = 0;      ///< httpd parent pid (checked against Hello)
    std::uint32_t generation = 0;      ///< httpd generation that started this daemon
    std::vector<GroupSecret> secrets;  ///< accepted proofs' keys, newest last (kRetained...)
    std::optional<uid_t> peerUid;      ///< the uid httpd children run as (SO_PEERCRED check)
    bool allowRoot = false;            ///< allow-root=On: Python may run as uid 0
    std::optional<uid_t> uid;          ///< switch to this user (only when started as root)
    std::optional<gid_t> gid;          ///< and this primary group
    std::vector<gid_t> supplementaryGroups;  ///< empty: initgroups() of the user
    std::string userName;                    ///< for initgroups() and USER/HOME in os.environ
    std::string home;                        ///< chdir here; also sys.path[0]
    std::string chroot;                      ///< chroot= jail ("" = none), entered as root
    std::optional<mode_t> umask;             ///< umask() before Python starts
    std::string pythonHome;                  ///< PyConfig.home (a venv's sys.prefix)
    std::vector<std::string> pythonPath;     ///< prepended to sys.path (site dirs)
    std::string lang;                        ///< LANG
    std::string locale;                      ///< LC_ALL
    std::string displayName;                 ///< argv[0] as ps shows it
    std::string logLevel = "warn";           ///< httpd LogLevel name for this daemon's own lines
    int shutdownTimeoutSec = 5;              ///< bound on drain + finalize at stop
    int socketTimeoutSec = 300;  ///< socket-timeout: bound on each wait on a module connection
    int queueTimeoutSec = 0;     ///< queue-timeout: a request not started this long after httpd
                                 ///< received it gets Error{QueueTimeout}; 0 = no bound
    std::vector<std::string> preload;  ///< "script|application-group" pairs to load at start
    DaemonLifecycle lifecycle;         ///< recycling, limits and timeouts (format 3)
    common::PythonSettings python;     ///< WSGIPython*/WSGIRestrict*, and switch-interval=
    int cpuPriority = 0;               ///< cpu-priority=: setpriority() at start (0: inherited)
    std::uint64_t stackSize = 0;  ///< stack-size=: bytes of each new thread's stack (0: libc's)
    std::string pythonEggs;       ///< python-eggs=: PYTHON_EGG_CACHE ("" = not set)
    /// SO_SNDBUF (send-buffer-size=) and SO_RCVBUF (receive-buffer-size=) of every accepted
    /// connection; zeros leave the kernel's defaults.
    common::SocketBufferSizes socketBuffers;
    bool serverMetrics = false;       ///< server-metrics=On: mod_wsgi.server_metrics() answers
    std::string newrelicConfigFile;   ///< newrelic-config-file= ("" = no agent)
    std::string newrelicEnvironment;  ///< newrelic-environment= ("" = the file's default)
    /// The <WSGIInterpreterOptions> sections that match this group, least specific first (the
    /// daemon applies them in this order when it creates each interpreter).
    std::vector<common::InterpreterOptions> interpreterOptions;
    /// This process's entry in the group's load table (protocol/load_table.h, mapped from
    /// descriptor kLoadTableFd); -1: no table (one process, or the parent made none).
    int loadSlot = -1;
};

/// Bounds of cpu-priority= (nice values).
inline constexpr int kMinCpuPriority = -20;
inline constexpr int kMaxCpuPriority = 19;

/// argv[0] for execv(), the only argument: what ps shows (display-name=, or "wsgid-daemon").
std::string processTitle(const DaemonArgs& args);

/// The bytes written to the kArgsFd pipe. A versioned binary record (see daemon_args.cpp).
std::string encodeDaemonArgs(const DaemonArgs& args);

/// Decodes encodeDaemonArgs() output; InvalidArgument naming what is wrong.
common::Result<DaemonArgs> decodeDaemonArgs(std::string_view bytes);

}  // namespace wsgid::protocol
