// SPDX-License-Identifier: Apache-2.0
// The retry rule of one request (see request_attempts.h). No httpd calls.
#include "apache/request_attempts.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <utility>

#include "apache/process_choice.h"

namespace wsgid::apache {

namespace {

/// A pooled connection for an attempt as the load table says (process_choice.h), and whether
/// the request is to queue there; `decided` false when the table said nothing usable.
struct TableAttempt {
    std::unique_ptr<DaemonConnection> idle;
    bool queue = false;
    bool decided = false;
};

TableAttempt attemptByTable(ConnectionPool& pool, const ConnectParams& params,
                            const AttemptOptions& options, std::span<const std::uint32_t> avoid) {
    std::array<protocol::ProcessLoad, kMaxChoiceProcesses> loads{};
    const std::size_t n = protocol::readLoads(options.loadTable, loads);
    // Any number that differs from one request to the next will do to break ties: the clock's
    // low bits (a frame address would repeat in every request of a thread, and in every
    // prefork child, forked with one layout, so their ties would all go one way).
    const auto coin =
        static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const ProcessChoice choice =
        chooseProcess(std::span(loads).first(n), options.workers, avoid, coin);
    TableAttempt a;
    switch (choice.kind) {
        case ProcessChoice::Kind::NoInformation:
            return a;
        case ProcessChoice::Kind::FreeWorker:
            // Without a pooled connection to a free process: a new one, which only a process
            // with a free worker takes from the backlog.
            a.idle = pool.takeIdle(params.socketPath, choice.skipList());
            break;
        case ProcessChoice::Kind::QueueAtLeastLoaded:
            a.idle = pool.takeIdle(params.socketPath, choice.skipList(),
                                   BusyMemory::Clock::time_point::max(), choice.target);
            if (!a.idle) {
                a.idle = pool.takeIdle(params.socketPath, choice.skipList());
            }
            a.queue = a.idle != nullptr;
            break;
    }
    a.decided = true;
    return a;
}

}  // namespace

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
        bool queueHere = false;
        bool decided = false;
        if (!last && !options.singleProcess && !options.loadTable.empty()) {
            TableAttempt byTable =
                attemptByTable(pool, params, options, std::span(avoid.data(), avoided));
            idle = std::move(byTable.idle);
            queueHere = byTable.queue;
            decided = byTable.decided;
        }
        if (!last && !decided) {
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
            .result =
                relayRequest(daemon, head, source, sink,
                             RelayOptions{.ioTimeout = params.ioTimeout,
                                          .mayQueue = options.singleProcess || last || queueHere,
                                          .mayReturn = !last && !options.singleProcess &&
                                                       !options.loadTable.empty(),
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
