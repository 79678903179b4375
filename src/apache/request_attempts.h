// SPDX-License-Identifier: Apache-2.0
// The retry rule of one request: where it goes first, and where it goes next when the daemon
// cannot have started it (busy, stopping, or a pooled connection that turned out dead). No httpd
// calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "apache/connection_pool.h"
#include "apache/daemon_connection.h"
#include "apache/relay.h"
#include "common/status.h"
#include "protocol/load_table.h"
#include "protocol/request_head.h"

namespace wsgid::apache {

/// Attempts per request (docs/architecture.md "Admission"): a pooled connection; after a Busy (or
/// a dead or stopping daemon), an idle connection to another process of the group, or a new
/// connection; and last a new connection, which only a process with a free worker takes from the
/// group's socket, so it waits there (within queue-timeout) until one is free.
inline constexpr int kMaxAttempts = 3;

/// After a Busy, a process that answered Busy to this child this recently is not tried on a
/// pooled connection: under saturation it is almost always still full (docs/performance.md), and
/// a new connection, which only a process with a free worker accepts, costs less than another
/// Busy round trip followed by one. A stale memory costs at most that new connection.
inline constexpr std::chrono::milliseconds kBusyMemory{10};

/// How one request is run.
struct AttemptOptions {
    /// The group has one process: nobody else could take the request, so it may queue in that
    /// process from the start (kHeadMayQueue) instead of hearing Busy.
    bool singleProcess = false;
    /// header-buffer-size=, response-buffer-size= and response-flush-delay= of the group.
    ResponseBuffering buffering{};
    /// The group's load table (GroupLoadTable::slots()) and its threads per process; empty
    /// without one: then where a request goes is learnt from Busy answers alone.
    std::span<const protocol::LoadSlot> loadTable{};
    int workers = 0;
};

/// The last attempt of a request: its connection (for the daemon pid in log lines, and to give
/// back to the pool when result.reusable) and how its relay ended.
struct RequestAttempt {
    std::unique_ptr<DaemonConnection> connection;
    RelayResult result;
};

/// Told about each retry, with the result that allowed it (for the log line).
using RetryObserver = std::function<void(const RelayResult&)>;

/// Runs `head` on a connection to the group of `params`, and again elsewhere while
/// RelayResult::retryable allows, up to kMaxAttempts: never again on a process that answered
/// Busy or is stopping, and after a first attempt not on a pooled connection to a process that
/// answered Busy within kBusyMemory (ConnectionPool::noteBusy). The connection of a retried attempt
/// goes back to the pool when it is reusable; the last one is the caller's. A failed connect is
/// returned as its status (a Timeout means no process took the connection within
/// params.acceptTimeout). Request thread only.
common::Result<RequestAttempt> runRequestAttempts(ConnectionPool& pool, const ConnectParams& params,
                                                  const protocol::RequestHead& head,
                                                  BodySource& source, ResponseSink& sink,
                                                  AttemptOptions options,
                                                  const RetryObserver& onRetry);

}  // namespace wsgid::apache
