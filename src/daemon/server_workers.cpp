// SPDX-License-Identifier: Apache-2.0
// Server, the worker threads: the leader/follower wait on the idle connections, running a request,
// and what the watchdog and the status reporter see of them (running requests, activity). Thread
// model: docs/architecture.md "GIL and thread model". No httpd headers here.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/thread_name.h"
#include "daemon/response_writer.h"
#include "daemon/server.h"
#include "daemon/server_epoll.h"

namespace wsgid::daemon {

using common::LogLevel;
using detail::kConnectionSetEvents;

void Server::beginRunning(std::size_t index, Connection& conn) noexcept {
    try {
        const std::lock_guard lock(runningMutex_);
        if (index >= running_.size()) {
            return;
        }
        Running& r = running_[index];
        r.conn = &conn;
        r.info = RunningRequest{.worker = index,
                                .serial = nextRunSerial_++,
                                .requestId = conn.requestId(),
                                .started = common::Clock::now(),
                                .thread = static_cast<unsigned long>(::pthread_self()),
                                .timedOutAt = std::nullopt};
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory: request-timeout skips it
    }
}

void Server::endRunning(std::size_t index) noexcept {
    const std::lock_guard lock(runningMutex_);
    if (index < running_.size()) {
        running_[index].conn = nullptr;
    }
}

std::vector<RunningRequest> Server::runningRequests() const {
    std::vector<RunningRequest> out;
    const std::lock_guard lock(runningMutex_);
    for (const Running& r : running_) {
        if (r.conn != nullptr) {
            out.push_back(r.info);
        }
    }
    return out;
}

bool Server::timeOut(const RunningRequest& request, std::string_view message) noexcept {
    // Under the lock: the worker cannot finish the request and drop its connection meanwhile.
    const std::lock_guard lock(runningMutex_);
    if (request.worker >= running_.size()) {
        return false;
    }
    Running& r = running_[request.worker];
    if (r.conn == nullptr || r.info.serial != request.serial || r.info.timedOutAt) {
        return false;
    }
    r.info.timedOutAt = common::Clock::now();
    return r.conn->timeOut(message);
}

void Server::noteActivity() noexcept {
    lastActivity_.store(common::Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

ServerActivity Server::activity() const {
    ServerActivity a;
    a.requestsDone = requestsDone_.load(std::memory_order_relaxed);
    a.inFlight = static_cast<std::size_t>(std::max(busyWorkers_.load(), 0)) + queue_.size();
    a.lastActivity = common::Clock::time_point(
        common::Clock::duration(lastActivity_.load(std::memory_order_relaxed)));
    return a;
}

void Server::enterIdle() {
    const std::lock_guard lock(idleWorkersMutex_);
    if (++idleWorkers_ == 1) {
        // A worker waits on the connections now: the I/O thread need not read them.
        if (watch_ == ConnectionWatch::IoThread) {
            (void)::epoll_ctl(epollFd_.get(), EPOLL_CTL_DEL, connEpollFd_.get(), nullptr);
        }
        watch_ = ConnectionWatch::Workers;
    }
    if (nudgeParked_) {
        armNudge();
    }
}

void Server::leaveIdle() {
    const std::lock_guard lock(idleWorkersMutex_);
    if (--idleWorkers_ != 0 || watch_ != ConnectionWatch::Workers) {
        return;
    }
    if (!config_.siblings) {
        // Every worker is busy and there is no sibling to send a request to: requests that
        // arrive now wait unread, in arrival order (EPOLLONESHOT's ready list), for the next
        // worker to finish, and the I/O thread looks at them every kUnreadScanInterval for
        // queue-timeout. Reading each one as it arrives cost the I/O thread a wake-up per
        // request under saturation (docs/performance.md).
        watch_ = ConnectionWatch::IoScan;
        if (!unreadScanArmed_) {
            nextUnreadScan_ = common::Clock::now() + kUnreadScanInterval;
            wakeIoThread();  // its wait has no deadline yet: it takes the scan's
        }
        return;
    }
    // Every worker is busy: requests that arrive now are read by the I/O thread, which
    // answers Busy at once (the module tries a sibling) or queues them.
    epoll_event connSet{.events = kConnectionSetEvents, .data = {.ptr = &connEpollFd_}};
    if (::epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, connEpollFd_.get(), &connSet) != 0) {
        // Only for lack of kernel memory. Requests still run as workers free up; only the
        // Busy answers and queue-timeout's early 503 wait for them meanwhile.
        log_.log(LogLevel::Error, "WG0233",
                 "cannot watch the connections from the I/O thread: " + common::errnoText(errno));
        return;
    }
    watch_ = ConnectionWatch::IoThread;
}

Server::ConnectionPtr Server::nextRequest() {
    for (;;) {
        // Requests the I/O thread queued while every worker was busy come first.
        if (auto queued = queue_.tryPop()) {
            return std::move(*queued);
        }
        if (queue_.closed()) {
            return nullptr;
        }
        enterIdle();
        // Looked at again once counted idle: a request queued before the count rose is taken
        // here, and one queued after it sends a nudge (nudgeIdleWorker), so none waits unseen.
        if (auto queued = queue_.tryPop()) {
            leaveIdle();
            return std::move(*queued);
        }
        epoll_event ready{};
        // No deadline: a request, a nudge or closeQueue() (stop) wakes the worker; it has
        // nothing else to do meanwhile. One event: a worker runs one request at a time.
        const int n = ::epoll_wait(connEpollFd_.get(), &ready, 1, -1);
        const int err = errno;
        leaveIdle();
        if (n < 0) {
            if (err == EINTR) {
                continue;
            }
            log_.log(LogLevel::Critical, "WG0239",
                     "a worker could not wait for requests (epoll_wait: " + common::errnoText(err) +
                         "); the daemon will exit");
            healthy_ = false;
            return nullptr;
        }
        if (n == 0) {
            continue;
        }
        if (ready.data.ptr == &nudgeFd_) {
            if (!queue_.closed()) {
                std::uint64_t one = 0;
                // Takes one count (semaphore mode); EAGAIN when the counts are used up.
                [[maybe_unused]] const ssize_t taken = ::read(nudgeFd_.get(), &one, sizeof(one));
            }
            // Armed again for the next idle worker: counts left (more requests queued, or stop)
            // wake it at once.
            const std::lock_guard lock(idleWorkersMutex_);
            armNudge();
            continue;
        }
        ConnectionPtr conn = takeIdle(static_cast<Connection*>(ready.data.ptr));
        if (!conn) {
            continue;
        }
        Connection::Event next = conn->onReadable();
        if (next == Connection::Event::RequestReady && admitRequest(*conn, next)) {
            return conn;  // read by this worker, run by it: no hand-off
        }
        dispatch(std::move(conn), next);
    }
}

void Server::workerMain(std::size_t index) noexcept {
    try {
        // Cut past 99 workers (Linux keeps 15 bytes); the name is only a diagnostic aid.
        common::nameThisThread("wsgid-worker-" + std::to_string(index));
        std::unique_ptr<Worker> worker = app_.makeWorker();
        if (!worker) {
            log_.log(LogLevel::Critical, "WG0237",
                     "a worker thread could not set up its application state; the daemon "
                     "will exit");
            healthy_ = false;
        } else {
            // This worker's response writer (and its thread) lives as long as the worker loop.
            ResponseWriter writer;
            if (!writer.usesThread()) {
                log_.log(LogLevel::Warning, "WG0228",
                         "could not start a response writer thread; this worker writes "
                         "responses synchronously");
            }
            while (ConnectionPtr conn = nextRequest()) {
                if (refuseStale(conn)) {
                    continue;
                }
                ++busyWorkers_;
                noteActivity();
                beginRunning(index, *conn);
                bool placeFreed = false;
                const bool keep = conn->serve(app_, *worker, writer, [&]() noexcept {
                    placeFreed = true;
                    finished();
                });
                endRunning(index);
                ++requestsDone_;
                noteActivity();
                --busyWorkers_;
                if (!placeFreed) {
                    finished();
                }
                if (keep) {
                    const Connection::Event next = conn->processBuffered();
                    dispatch(std::move(conn), next);
                } else {
                    retire(std::move(conn));
                }
            }
            worker.reset();  // on this thread, as Worker requires
        }
    } catch (...) {
        log_.log(LogLevel::Critical, "WG0238", "a worker thread failed (out of memory)");
        healthy_ = false;
    }
    {
        const std::lock_guard lock(exitMutex_);
        --liveWorkers_;
    }
    exitCv_.notify_all();
}

}  // namespace wsgid::daemon
