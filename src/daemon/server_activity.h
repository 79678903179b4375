// SPDX-License-Identifier: Apache-2.0
// ServerActivity: what a daemon's server has done, as the recycling and timeout rules need it
// (a snapshot taken by Server::activity()). No httpd, no Python.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/socket_io.h"

namespace wsgid::daemon {

/// A snapshot of the server's work so far.
struct ServerActivity {
    std::uint64_t requestsDone = 0;            ///< requests that finished (answered or failed)
    std::size_t inFlight = 0;                  ///< requests running or queued
    common::Clock::time_point lastActivity{};  ///< when a request last started or finished
};

}  // namespace wsgid::daemon
