// SPDX-License-Identifier: Apache-2.0
// The per-child pool of idle daemon connections (see connection_pool.h). No httpd calls.
#include "apache/connection_pool.h"

#include <algorithm>
#include <iterator>

namespace wsgid::apache {

using common::Result;

std::unique_ptr<DaemonConnection> ConnectionPool::takeIdle(std::string_view socketPath,
                                                           std::span<const std::uint32_t> avoidPids,
                                                           BusyMemory::Clock::time_point busySince,
                                                           std::uint32_t onlyPid) {
    // Called under mu_ (busy_).
    const auto wanted = [this, avoidPids, busySince,
                         onlyPid](const std::unique_ptr<DaemonConnection>& c) {
        const std::uint32_t pid = c->daemonPid();
        return (onlyPid == 0 || pid == onlyPid) &&
               std::find(avoidPids.begin(), avoidPids.end(), pid) == avoidPids.end() &&
               !busy_.busySince(pid, busySince);
    };
    for (;;) {
        std::unique_ptr<DaemonConnection> conn;
        {
            std::lock_guard<std::mutex> lock(mu_);
            auto it = idle_.find(std::string(socketPath));
            if (it == idle_.end()) {
                return nullptr;
            }
            auto& list = it->second;
            const auto found = std::find_if(list.rbegin(), list.rend(), wanted);
            if (found == list.rend()) {
                return nullptr;
            }
            conn = std::move(*found);
            list.erase(std::next(found).base());
        }
        // Checked outside the lock: a poll() per candidate, and a dead one is simply dropped.
        if (conn->idleHealthy()) {
            conn->markReused();
            return conn;
        }
    }
}

void ConnectionPool::noteBusy(std::uint32_t pid, BusyMemory::Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu_);
    busy_.note(pid, at);
}

void ConnectionPool::giveBack(std::unique_ptr<DaemonConnection> conn, IdlePlace place) {
    if (!conn) {
        return;
    }
    // Only its destructor matters: declared before the lock, it closes after the unlock.
    std::unique_ptr<DaemonConnection> surplus;
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = idle_[conn->socketPath()];
    if (list.size() >= kMaxIdlePerPath) {
        if (place == IdlePlace::Last) {
            // cppcheck-suppress unreadVariable
            surplus = std::move(conn);
            return;
        }
        // The one that would be tried last makes room.
        // cppcheck-suppress unreadVariable
        surplus = std::move(list.front());
        list.erase(list.begin());
    }
    if (place == IdlePlace::Last) {
        list.insert(list.begin(), std::move(conn));
    } else {
        list.push_back(std::move(conn));
    }
}

Result<std::unique_ptr<DaemonConnection>> ConnectionPool::acquire(const ConnectParams& params) {
    if (auto conn = takeIdle(params.socketPath)) {
        return conn;
    }
    return connectToDaemon(params);
}

std::size_t ConnectionPool::idleCount(std::string_view socketPath) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(std::string(socketPath));
    return it == idle_.end() ? 0 : it->second.size();
}

}  // namespace wsgid::apache
