// SPDX-License-Identifier: Apache-2.0
// The retry rule of one request (see request_attempts.h). No httpd calls.
#include "apache/request_attempts.h"

#include <array>
#include <cstddef>
#include <utility>

namespace wsgid::apache {

common::Result<RequestAttempt> runRequestAttempts(ConnectionPool& pool, const ConnectParams& params,
                                                  const protocol::RequestHead& head,
                                                  BodySource& source, ResponseSink& sink,
                                                  AttemptOptions options,
                                                  const RetryObserver& onRetry) {
    // Daemon processes that answered Busy or are going away: not asked again for this request.
    std::array<std::uint32_t, kMaxAttempts> avoid{};
    std::size_t avoided = 0;
    for (int attempt = 1;; ++attempt) {
        const bool last = attempt == kMaxAttempts;
        std::unique_ptr<DaemonConnection> idle;
        if (!last) {
            // A first attempt tries every process: most requests find a worker free where the
            // last one ended, even when others just said Busy.
            const auto busySince = attempt == 1 ? BusyMemory::Clock::time_point::max()
                                                : BusyMemory::Clock::now() - kBusyMemory;
            idle = pool.takeIdle(params.socketPath, std::span(avoid.data(), avoided), busySince);
        }
        common::Result<std::unique_ptr<DaemonConnection>> conn =
            idle ? std::move(idle) : connectToDaemon(params);
        if (!conn) {
            return conn.status();
        }
        // The result is made in place: a second RelayResult to move from would widen this
        // frame, which the response's filters run below (docs/performance.md "Memory").
        DaemonConnection& daemon = *conn.value();
        RequestAttempt current{
            .connection = std::move(conn.value()),
            .result = relayRequest(daemon, head, source, sink,
                                   RelayOptions{.ioTimeout = params.ioTimeout,
                                                .mayQueue = options.singleProcess || last,
                                                .buffering = options.buffering})};
        if (!current.result.retryable || last) {
            return current;
        }
        if (onRetry) {
            onRetry(current.result);
        }
        avoid[avoided++] = current.connection->daemonPid();
        if (current.result.error &&
            current.result.error->code == protocol::ResponseErrorCode::Busy) {
            pool.noteBusy(current.connection->daemonPid(), BusyMemory::Clock::now());
        }
        if (current.result.reusable) {
            // Its process is full (or stopping): the child's next requests try others first.
            pool.giveBack(std::move(current.connection), IdlePlace::Last);
        }
    }
}

}  // namespace wsgid::apache
