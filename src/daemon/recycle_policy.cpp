// SPDX-License-Identifier: Apache-2.0
// When a daemon asks to be recycled (see recycle_policy.h). No httpd, no Python.
#include "daemon/recycle_policy.h"

#include <array>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

#include "common/duration_text.h"

namespace wsgid::daemon {

using protocol::StopReason;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1024} * 1024;

std::string mib(std::uint64_t bytes) {
    return std::to_string((bytes + kMiB / 2) / kMiB) + " MiB";
}

}  // namespace

std::optional<StopReason> RecyclePolicy::check(
    common::Clock::time_point now, const ServerActivity& activity,
    std::optional<std::uint64_t> residentBytes) noexcept {
    if (reason_) {
        return std::nullopt;
    }
    std::optional<StopReason> due;
    if (limits_.maximumRequests > 0 && activity.requestsDone >= limits_.maximumRequests) {
        due = StopReason::MaximumRequests;
    } else if (limits_.maximumMemoryBytes > 0 && residentBytes &&
               *residentBytes > limits_.maximumMemoryBytes) {
        due = StopReason::MaximumMemory;
    } else if (limits_.restartInterval.count() > 0 && now - startedAt_ >= limits_.restartInterval) {
        due = StopReason::RestartInterval;
    } else if (limits_.inactivityTimeout.count() > 0 && activity.requestsDone > 0 &&
               activity.inFlight == 0 &&
               now - std::max(activity.lastActivity, startedAt_) >= limits_.inactivityTimeout) {
        due = StopReason::InactivityTimeout;
    }
    if (due) {
        reason_ = due;
    }
    return due;
}

bool RecyclePolicy::note(StopReason reason) noexcept {
    if (reason_) {
        return false;
    }
    reason_ = reason;
    return true;
}

std::string RecyclePolicy::describe(StopReason reason, const ServerActivity& activity,
                                    std::optional<std::uint64_t> residentBytes) const {
    switch (reason) {
        case StopReason::MaximumRequests:
            return "maximum-requests=" + std::to_string(limits_.maximumRequests) + " reached (" +
                   std::to_string(activity.requestsDone) + " requests served)";
        case StopReason::MaximumMemory:
            return "resident set size " + (residentBytes ? mib(*residentBytes) : "?") +
                   " is above maximum-memory=" + mib(limits_.maximumMemoryBytes);
        case StopReason::RestartInterval:
            return "restart-interval=" + common::durationText(limits_.restartInterval) + " passed";
        case StopReason::InactivityTimeout:
            return "no request for inactivity-timeout=" +
                   common::durationText(limits_.inactivityTimeout);
        case StopReason::Evicted:
            return "evicted with SIGUSR1";
        case StopReason::CpuTimeLimit:
            return "cpu-time-limit reached (SIGXCPU)";
        default:
            return std::string(protocol::toString(reason));
    }
}

std::chrono::seconds drainBound(std::optional<StopReason> reason,
                                std::chrono::seconds gracefulTimeout,
                                std::chrono::seconds evictionTimeout,
                                std::chrono::seconds shutdownTimeout) noexcept {
    if (!reason) {
        return shutdownTimeout;
    }
    switch (*reason) {
        case StopReason::Evicted:
            return evictionTimeout;
        case StopReason::DeadlockTimeout:
            return std::chrono::seconds(0);  // the GIL is stuck: no request can finish anyway
        default:
            return gracefulTimeout;
    }
}

std::optional<std::uint64_t> residentBytes() noexcept {
    const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    // "size resident shared text lib data dt", in pages; 128 bytes hold the first two fields.
    std::array<char, 128> buf{};
    const ssize_t n = ::read(fd, buf.data(), buf.size() - 1);
    (void)::close(fd);
    if (n <= 0) {
        return std::nullopt;
    }
    unsigned long long size = 0;
    unsigned long long resident = 0;
    // NOLINTNEXTLINE(cert-err34-c): both fields are checked by the count sscanf returns
    if (std::sscanf(buf.data(), "%llu %llu", &size, &resident) != 2) {
        return std::nullopt;
    }
    const long page = ::sysconf(_SC_PAGESIZE);
    return page > 0 ? std::optional<std::uint64_t>(resident * static_cast<std::uint64_t>(page))
                    : std::nullopt;
}

}  // namespace wsgid::daemon
