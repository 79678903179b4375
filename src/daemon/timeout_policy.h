// SPDX-License-Identifier: Apache-2.0
// TimeoutPolicy: the daemon's request-timeout, deadlock-timeout and startup-timeout rules. Given
// the time, the requests running on the workers, when the GIL was last seen free and when the
// oldest script load began, it says which requests to cut off (504) and whether the process must
// be recycled. Pure, with an injected clock (tests/unit/daemon/timeout_policy_test.cpp); the
// Supervisor performs what it decides. No httpd, no Python.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/socket_io.h"
#include "protocol/daemon_status.h"

namespace wsgid::daemon {

/// After a request was cut off at its request-timeout, how long its thread may take to leave the
/// app before the process asks to be recycled: the app sees its I/O fail at once (the connection
/// is shut down), so a thread that is not back within this is stuck in code that does no I/O.
inline constexpr std::chrono::seconds kLetGoGrace{5};

/// One request on a worker, as the Server reports it.
struct RunningRequest {
    std::size_t worker = 0;
    std::uint64_t serial = 0;  ///< tells requests on the same worker apart
    std::string requestId;
    common::Clock::time_point started{};
    unsigned long thread = 0;  ///< the worker's OS thread (Python's thread ident)
    /// When it was cut off at its request-timeout, if it was.
    std::optional<common::Clock::time_point> timedOutAt;
};

/// The options (0 turns each off).
struct TimeoutLimits {
    std::chrono::seconds requestTimeout{0};
    std::chrono::seconds deadlockTimeout{0};
    std::chrono::seconds startupTimeout{0};
    /// interrupt-timeout: with it, RequestTimeout is raised in a cut-off request's thread and
    /// this (instead of kLetGoGrace) is how long the thread may take to leave the app.
    std::chrono::seconds interruptTimeout{0};

    /// How long a cut-off request's thread may take to leave the app.
    [[nodiscard]] std::chrono::seconds letGoGrace() const noexcept {
        return interruptTimeout.count() > 0 ? interruptTimeout : kLetGoGrace;
    }
};

/// What to do now.
struct TimeoutActions {
    /// Requests past request-timeout to cut off (log their stack, answer 504).
    std::vector<RunningRequest> cutOff;
    /// The process must be replaced: a cut-off thread did not let go (RequestTimeout), the GIL is
    /// stuck (DeadlockTimeout) or a script load hangs (StartupTimeout).
    std::optional<protocol::StopReason> recycle;
    /// The request whose thread did not let go (for the log line), with RequestTimeout.
    std::optional<RunningRequest> stuck;
};

/// Decides once per supervision tick. Main thread only.
class TimeoutPolicy {
public:
    explicit TimeoutPolicy(TimeoutLimits limits) noexcept : limits_(limits) {}

    /// `gilBeat`: when the GIL was last taken by the heartbeat (std::nullopt: no heartbeat
    /// runs); `oldestLoad`: when the oldest script load in progress began.
    TimeoutActions check(common::Clock::time_point now, const std::vector<RunningRequest>& running,
                         std::optional<common::Clock::time_point> gilBeat,
                         std::optional<common::Clock::time_point> oldestLoad);

    [[nodiscard]] const TimeoutLimits& limits() const noexcept { return limits_; }

private:
    TimeoutLimits limits_;
    bool recycleDecided_ = false;
};

}  // namespace wsgid::daemon
