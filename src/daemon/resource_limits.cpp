// SPDX-License-Identifier: Apache-2.0
// Kernel resource limits of a daemon (see resource_limits.h). No httpd, no Python.
#include "daemon/resource_limits.h"

#include <cerrno>
#include <string>

#include "common/socket_io.h"

namespace wsgid::daemon {

namespace {

const char* nameOf(int resource) noexcept {
    switch (resource) {
        case RLIMIT_CPU:
            return "cpu-time-limit (RLIMIT_CPU)";
        case RLIMIT_DATA:
            return "memory-limit (RLIMIT_DATA)";
        case RLIMIT_AS:
            return "virtual-memory-limit (RLIMIT_AS)";
        default:
            return "a resource limit";
    }
}

}  // namespace

std::vector<ResourceLimit> resourceLimitsFor(const protocol::DaemonArgs& args) {
    const protocol::DaemonLifecycle& l = args.lifecycle;
    std::vector<ResourceLimit> out;
    if (l.cpuTimeLimitSec > 0) {
        const auto soft = static_cast<rlim_t>(l.cpuTimeLimitSec);
        const auto room = static_cast<rlim_t>(l.gracefulTimeoutSec) +
                          static_cast<rlim_t>(args.shutdownTimeoutSec) + 1;
        out.push_back({RLIMIT_CPU, soft, soft + room});
    }
    if (l.memoryLimitBytes > 0) {
        out.push_back({RLIMIT_DATA, static_cast<rlim_t>(l.memoryLimitBytes),
                       static_cast<rlim_t>(l.memoryLimitBytes)});
    }
    if (l.virtualMemoryLimitBytes > 0) {
        out.push_back({RLIMIT_AS, static_cast<rlim_t>(l.virtualMemoryLimitBytes),
                       static_cast<rlim_t>(l.virtualMemoryLimitBytes)});
    }
    return out;
}

void applyResourceLimits(const std::vector<ResourceLimit>& limits, common::LogSink& log) {
    for (const ResourceLimit& limit : limits) {
        const rlimit value{limit.soft, limit.hard};
        if (::setrlimit(limit.resource, &value) != 0) {
            const int err = errno;
            log.log(common::LogLevel::Warning, "WG0291",
                    std::string("cannot set ") + nameOf(limit.resource) + " to " +
                        std::to_string(limit.soft) + ": " + common::errnoText(err) +
                        "; running without it");
        }
    }
}

}  // namespace wsgid::daemon
