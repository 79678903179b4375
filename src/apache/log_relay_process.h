// SPDX-License-Identifier: Apache-2.0
// What the log relay's two source files share: log_relay.cpp (the parent side, LogRelay) forks
// and calls runRelay, which log_relay_process.cpp (the relay process) defines. Include it nowhere
// else. Runs in the forked relay only.
#pragma once

#include <chrono>
#include <vector>

#include "apache/log_relay.h"

struct server_rec;

namespace wsgid::apache {

/// The relay process's main: serveRelay, then _exit with its status (kRelayExitSetupFailure when
/// it threw).
[[noreturn]] void runRelay(server_rec* s, const std::vector<RelayRoute>& routes,
                           const std::vector<int>& readFds, std::chrono::nanoseconds delay);

}  // namespace wsgid::apache
