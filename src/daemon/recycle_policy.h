// SPDX-License-Identifier: Apache-2.0
// RecyclePolicy: when a daemon process should ask the httpd parent for a replacement
// (maximum-requests, restart-interval, inactivity-timeout, maximum-memory), and how long a
// recycled process may drain. Pure: the time, the server's activity and the resident set size
// are passed in (tests/unit/daemon/recycle_policy_test.cpp). No httpd, no Python.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/socket_io.h"
#include "daemon/server_activity.h"
#include "protocol/daemon_status.h"

namespace wsgid::daemon {

/// The recycling options of the group (DaemonLifecycle); zero turns each off.
struct RecycleLimits {
    std::uint64_t maximumRequests = 0;
    std::chrono::seconds restartInterval{0};
    std::chrono::seconds inactivityTimeout{0};
    std::uint64_t maximumMemoryBytes = 0;
};

/// Decides once per process that it should be recycled, and says why. Main thread only.
class RecyclePolicy {
public:
    RecyclePolicy(RecycleLimits limits, common::Clock::time_point startedAt) noexcept
        : limits_(limits), startedAt_(startedAt) {}

    /// The reason to ask for a replacement now, or std::nullopt: the first limit reached, once
    /// (later calls return std::nullopt). `residentBytes` is the process's resident set size,
    /// if it could be read. A process that has served nothing is never recycled for
    /// inactivity: a fresh process has nothing to give back.
    std::optional<protocol::StopReason> check(common::Clock::time_point now,
                                              const ServerActivity& activity,
                                              std::optional<std::uint64_t> residentBytes) noexcept;

    /// A trigger from outside the limits above (SIGUSR1, SIGXCPU, a stuck request): true the
    /// first time a reason is noted (ask the parent then), false if one already was.
    bool note(protocol::StopReason reason) noexcept;

    /// The reason a replacement was asked for, if one was.
    [[nodiscard]] std::optional<protocol::StopReason> reason() const noexcept { return reason_; }

    /// What the log line says about the limit `reason` stands for ("after 100 requests",
    /// "resident set size 210 MB above maximum-memory=200 MB", ...).
    [[nodiscard]] std::string describe(protocol::StopReason reason, const ServerActivity& activity,
                                       std::optional<std::uint64_t> residentBytes) const;

private:
    RecycleLimits limits_;
    common::Clock::time_point startedAt_;
    std::optional<protocol::StopReason> reason_;
};

/// How long a process that asked for `reason` (or none: httpd restarts or stops) may take to
/// finish its requests once told to stop: graceful-timeout for a recycle, eviction-timeout for
/// an eviction, nothing after a deadlock (no request can finish), shutdown-timeout otherwise
/// (which then also bounds Python's finalization).
std::chrono::seconds drainBound(std::optional<protocol::StopReason> reason,
                                std::chrono::seconds gracefulTimeout,
                                std::chrono::seconds evictionTimeout,
                                std::chrono::seconds shutdownTimeout) noexcept;

/// The resident set size of this process from /proc/self/statm, or std::nullopt.
std::optional<std::uint64_t> residentBytes() noexcept;

}  // namespace wsgid::daemon
