// SPDX-License-Identifier: Apache-2.0
// The per-child pool of idle daemon connections, keyed by socket path. No httpd calls.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "apache/busy_memory.h"
#include "apache/daemon_connection.h"
#include "common/status.h"

namespace wsgid::apache {

/// Idle connections kept per socket path in one httpd child. A child never needs more idle
/// connections than requests it runs at once; 64 is httpd's default ThreadLimit, so the cap only
/// bites on unusual configurations and bounds the fds a child holds per daemon group.
inline constexpr std::size_t kMaxIdlePerPath = 64;

/// Where a connection given back goes among the idle ones of its path.
enum class IdlePlace {
    /// Tried first: its request ended, so its process has just freed a worker.
    First,
    /// Tried after every other: its process has just answered Busy, and a request sent there
    /// soon would most likely hear Busy again.
    Last,
};

/// Idle connections of one httpd child, per socket path. Thread-safe (event and worker MPMs run
/// handlers concurrently). Owned by pchild; connections still in use when it dies are closed by
/// their request.
class ConnectionPool {
public:
    /// An empty pool; connections are added by giveBack().
    ConnectionPool() = default;
    ~ConnectionPool() = default;
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;
    ConnectionPool(ConnectionPool&&) = delete;
    ConnectionPool& operator=(ConnectionPool&&) = delete;

    /// A healthy idle connection to `socketPath` (marked reused), the most recently used first,
    /// skipping connections to the daemon processes in `avoidPids` (they just answered Busy or
    /// are stopping) and to processes that answered Busy (noteBusy) at or after `busySince`
    /// (the default skips none), and, when `onlyPid` is not 0, to any other process than that
    /// one; nullptr when there is none. Unhealthy ones met on the way are closed.
    std::unique_ptr<DaemonConnection> takeIdle(
        std::string_view socketPath, std::span<const std::uint32_t> avoidPids = {},
        BusyMemory::Clock::time_point busySince = BusyMemory::Clock::time_point::max(),
        std::uint32_t onlyPid = 0);

    /// Daemon process `pid` answered Busy to a request of this child at `at`.
    void noteBusy(std::uint32_t pid, BusyMemory::Clock::time_point at);

    /// Keeps `conn` for a later request at `place`. When kMaxIdlePerPath are already kept, the
    /// one tried last is closed (`conn` itself when it goes last). Only for connections whose
    /// last request ended cleanly (RelayResult::reusable).
    void giveBack(std::unique_ptr<DaemonConnection> conn, IdlePlace place = IdlePlace::First);

    /// takeIdle(), else connectToDaemon().
    common::Result<std::unique_ptr<DaemonConnection>> acquire(const ConnectParams& params);

    /// Idle connections kept for `socketPath` (for tests and the status page).
    [[nodiscard]] std::size_t idleCount(std::string_view socketPath) const;

private:
    mutable std::mutex mu_;
    /// Idle connections per socket path, in the reverse of the order takeIdle() tries them:
    /// the one tried first is last. Guarded by mu_.
    std::unordered_map<std::string, std::vector<std::unique_ptr<DaemonConnection>>> idle_;
    BusyMemory busy_;  // guarded by mu_
};

}  // namespace wsgid::apache
