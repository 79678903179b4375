// SPDX-License-Identifier: Apache-2.0
// The retry rule of one request: a pooled connection first, and one more attempt on a fresh
// connection when the relay says the daemon cannot have started the request. No httpd calls.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "apache/connection_pool.h"
#include "apache/daemon_connection.h"
#include "apache/relay.h"
#include "common/status.h"
#include "protocol/request_head.h"

namespace wsgid::apache {

/// Attempts per request: the first on a pooled connection, one more on a fresh connection when
/// the pooled one turned out to be dead (or its daemon was shutting down) before anything of the
/// request was consumed.
inline constexpr int kMaxAttempts = 2;

/// The last attempt of a request: its connection (for the daemon pid in log lines, and to give
/// back to the pool when result.reusable) and how its relay ended.
struct RequestAttempt {
    std::unique_ptr<DaemonConnection> connection;
    RelayResult result;
};

/// Told about each retry, with the result that allowed it (for the log line).
using RetryObserver = std::function<void(const RelayResult&)>;

/// Runs `head` on a connection from `pool` (pool.acquire), and again on a fresh connection
/// (connectToDaemon) while RelayResult::retryable allows, up to kMaxAttempts. The connection of
/// a retried attempt goes back to the pool when it is reusable; the last one is the caller's.
/// A failed connect is returned as its status. Request thread only.
common::Result<RequestAttempt> runRequestAttempts(ConnectionPool& pool, const ConnectParams& params,
                                                  const protocol::RequestHead& head,
                                                  BodySource& source, ResponseSink& sink,
                                                  const RetryObserver& onRetry);

}  // namespace wsgid::apache
