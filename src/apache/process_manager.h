// SPDX-License-Identifier: Apache-2.0
// The httpd parent's side of the daemon groups: one listening socket per group kept across
// restarts, fork+exec of wsgid-daemon, supervision through APR other-child callbacks with the
// restart policy, a draining handover at restart and a bounded kill-and-reap at stop.
// Parent only (root, single-threaded, never Python); docs/architecture.md tells the long story.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <sys/types.h>

#include "apache/death_records.h"

struct apr_pool_t;
struct server_rec;

namespace wsgid::apache {

class GroupRegistry;

/// Entry points of the process manager for hooks.cpp. The state lives in an object owned by pconf
/// (one per configuration generation) and in httpd's retained data (sockets and draining daemons,
/// which outlive a generation). Every function runs in the httpd parent on its only thread, except
/// closeInheritedListeners(), which runs in each child.
class ProcessManager {
public:
    ProcessManager() = delete;

    /// pre_config: registers a pconf cleanup that kills and reaps the daemons and removes the
    /// sockets if httpd exits before this generation's post_config (e.g. a restart whose new
    /// configuration fails). Harmless everywhere else.
    static void registerExitGuard(apr_pool_t* pconf) noexcept;

    /// post_config, real pass: sets GroupRegistry::managerPid/generation and each group's
    /// socketPath, reuses the sockets of groups that survived a restart, closes those of vanished
    /// groups, creates the new ones and starts every daemon process. On pconf cleanup the
    /// daemons get SIGTERM; at a restart they drain while the next generation starts its own, at
    /// a stop they are waited for (bounded), then killed and reaped. False (logged) on failure.
    static bool start(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry) noexcept;

    /// monitor hook: starts slots whose backoff after a failed fork has passed and SIGKILLs
    /// daemons of earlier generations that overran their shutdown-timeout.
    static void tick(apr_pool_t* pconf) noexcept;

    /// child_init: closes the listening sockets every child inherits from the parent (children
    /// connect, they never accept) and its copies of the log and status pipes, and makes the
    /// shared table of daemon deaths read-only in the child.
    static void closeInheritedListeners() noexcept;

    /// In an httpd child: why daemon `pid` died, as the parent recorded it at or after
    /// `notBefore` ("was killed by signal 9 (Killed)", ...), waiting up to `wait` for the record
    /// (the parent learns of a death within about a second). std::nullopt if none appeared.
    /// Request threads only: it sleeps.
    static std::optional<std::string> daemonDeathCause(pid_t pid, DeathClock::time_point notBefore,
                                                       std::chrono::milliseconds wait) noexcept;
};

}  // namespace wsgid::apache
