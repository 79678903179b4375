// SPDX-License-Identifier: Apache-2.0
// The kernel resource limits of a daemon process (cpu-time-limit=, memory-limit=,
// virtual-memory-limit=), set before Python starts. What to set is a pure rule
// (tests/unit/daemon/resource_limits_test.cpp); applying it is one setrlimit() each.
// No httpd, no Python.
#pragma once

#include <vector>

#include <sys/resource.h>

#include "common/log_sink.h"
#include "protocol/daemon_args.h"

namespace wsgid::daemon {

/// One limit to set.
struct ResourceLimit {
    int resource = 0;  ///< RLIMIT_CPU, RLIMIT_DATA, RLIMIT_AS
    rlim_t soft = 0;
    rlim_t hard = 0;
};

/// The limits the options ask for. cpu-time-limit=N: soft N (SIGXCPU, and the daemon asks for a
/// replacement), hard N + graceful-timeout + shutdown-timeout + 1 (SIGKILL): room, in CPU seconds,
/// for the replacement to start and this process to drain, as mod_wsgi leaves 1 +
/// shutdown-timeout. memory-limit= is RLIMIT_DATA and virtual-memory-limit= RLIMIT_AS, soft and
/// hard alike: allocations beyond them fail (MemoryError), as under mod_wsgi; maximum-memory= is
/// the graceful alternative.
std::vector<ResourceLimit> resourceLimitsFor(const protocol::DaemonArgs& args);

/// Sets each limit; one that cannot be set (above the inherited hard limit, say) is logged
/// (WG0291) and skipped: the daemon runs without it rather than not at all.
void applyResourceLimits(const std::vector<ResourceLimit>& limits, common::LogSink& log);

}  // namespace wsgid::daemon
