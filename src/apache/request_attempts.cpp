// SPDX-License-Identifier: Apache-2.0
// The retry rule of one request (see request_attempts.h). No httpd calls.
#include "apache/request_attempts.h"

#include <utility>

namespace wsgid::apache {

common::Result<RequestAttempt> runRequestAttempts(ConnectionPool& pool, const ConnectParams& params,
                                                  const protocol::RequestHead& head,
                                                  BodySource& source, ResponseSink& sink,
                                                  const RetryObserver& onRetry) {
    for (int attempt = 1;; ++attempt) {
        auto conn = attempt == 1 ? pool.acquire(params) : connectToDaemon(params);
        if (!conn) {
            return conn.status();
        }
        RequestAttempt current{.connection = std::move(conn.value()), .result = {}};
        current.result = relayRequest(*current.connection, head, source, sink, params.ioTimeout);
        if (current.result.retryable && attempt < kMaxAttempts) {
            if (onRetry) {
                onRetry(current.result);
            }
            if (current.result.reusable) {
                pool.giveBack(std::move(current.connection));
            }
            continue;
        }
        return current;
    }
}

}  // namespace wsgid::apache
