// SPDX-License-Identifier: Apache-2.0
// Server: construction, start and graceful drain (stop), and the I/O thread's loop; accepting,
// admission and the workers are in server_accept.cpp, server_admission.cpp, server_workers.cpp.
// Thread model: docs/architecture.md "GIL and thread model". No httpd headers here.
#include "daemon/server.h"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/thread_name.h"
#include "daemon/server_epoll.h"

namespace wsgid::daemon {

using common::Deadline;
using common::ErrorCode;
using common::LogLevel;
using common::Status;
using detail::addToEventFd;
using detail::kConnectionSetEvents;
using detail::kListenEvents;
using detail::kNudgeEvents;

namespace {

// Events taken per epoll_wait(); more simply wait for the next call.
constexpr int kMaxEventsPerWait = 64;

Status sysError(const char* what, int err) {
    return {ErrorCode::IoError, std::string(what) + ": " + common::errnoText(err)};
}

}  // namespace

Server::Server(common::UniqueFd listenFd, ServerConfig config, Application& app,
               common::LogSink& log)
    : listenFd_(std::move(listenFd)),
      config_(std::move(config)),
      app_(app),
      log_(log),
      queue_(config_.queueCapacity),
      connectionConfig_(config_.connection) {
    connectionConfig_.rejectedPeers = &rejectedPeers_;
    if (config_.siblings && config_.loadSlot < config_.loadTable.size()) {
        load_ = protocol::LoadSlotWriter(&config_.loadTable[config_.loadSlot]);
    }
}

Server::~Server() {
    if (phase_ == Phase::Started) {
        (void)stop(Deadline::never());
    }
    if (ioThread_.joinable()) {
        ioThread_.join();
    }
    for (auto& t : workers_) {
        if (t.joinable()) {
            t.join();
        }
    }
    // Connections handed back by workers that finished after an unclean stop() were retired by
    // dispatch(); nothing else can be left in idle_ once every thread has been joined.
}

Status Server::start() noexcept {
    try {
        if (phase_ != Phase::Created) {
            return {ErrorCode::Internal, "Server::start called twice"};
        }
        if (Status s = common::setNonBlocking(listenFd_.get(), true); !s) {
            return s;
        }
        epollFd_.reset(::epoll_create1(EPOLL_CLOEXEC));
        if (!epollFd_) {
            return sysError("epoll_create1", errno);
        }
        wakeFd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!wakeFd_) {
            return sysError("eventfd", errno);
        }
        epoll_event wake{.events = EPOLLIN, .data = {.ptr = &wakeFd_}};
        if (::epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, wakeFd_.get(), &wake) != 0) {
            return sysError("epoll_ctl(eventfd)", errno);
        }
        epoll_event listen{.events = kListenEvents, .data = {.ptr = &listenFd_}};
        if (::epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, listenFd_.get(), &listen) != 0) {
            return sysError("epoll_ctl(listening socket)", errno);
        }
        // Leader/follower (docs/architecture.md "GIL and thread model"): idle workers wait on
        // the connection set; the I/O thread watches it until a worker is idle (every worker
        // starts busy: none has reached its wait yet).
        connEpollFd_.reset(::epoll_create1(EPOLL_CLOEXEC));
        nudgeFd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE));
        if (!connEpollFd_ || !nudgeFd_) {
            return sysError("epoll_create1/eventfd (connection set)", errno);
        }
        epoll_event nudge{.events = kNudgeEvents, .data = {.ptr = &nudgeFd_}};
        epoll_event connSet{.events = kConnectionSetEvents, .data = {.ptr = &connEpollFd_}};
        if (::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_ADD, nudgeFd_.get(), &nudge) != 0 ||
            ::epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, connEpollFd_.get(), &connSet) != 0) {
            return sysError("epoll_ctl(connection set)", errno);
        }
        watch_ = ConnectionWatch::IoThread;

        // The threads keep the signal mask of the caller. Blocking the stop signals in them
        // would leak into every program app code starts from a worker (exec keeps the mask);
        // the handlers only write to the self-pipe, so whichever thread runs one is fine.
        phase_ = Phase::Started;
        ownPid_ = static_cast<std::uint32_t>(::getpid());
        load_.announce(ownPid_);  // siblings and httpd children see this process from now on
        {
            const std::lock_guard lock(exitMutex_);
            liveWorkers_ = config_.threads;
        }
        workers_.reserve(static_cast<std::size_t>(config_.threads));
        {
            const std::lock_guard lock(runningMutex_);
            running_.resize(static_cast<std::size_t>(config_.threads));
        }
        for (int i = 0; i < config_.threads; ++i) {
            try {
                workers_.emplace_back([this, i] { workerMain(static_cast<std::size_t>(i)); });
            } catch (...) {
                {
                    const std::lock_guard lock(exitMutex_);
                    liveWorkers_ -= config_.threads - i;
                }
                (void)stop(Deadline::never());
                return {ErrorCode::IoError, "cannot start worker thread " + std::to_string(i)};
            }
        }
        try {
            ioThread_ = std::thread([this] { ioMain(); });
        } catch (...) {
            (void)stop(Deadline::never());
            return {ErrorCode::IoError, "cannot start the I/O thread"};
        }
        return Status::ok();
    } catch (...) {
        return {ErrorCode::Internal, "out of memory starting the server"};
    }
}

StopReport Server::stop(Deadline deadline) noexcept {
    StopReport report;
    if (phase_ != Phase::Started) {
        return report;
    }
    phase_ = Phase::Stopped;
    load_.withdraw();  // draining: no request should be sent or handed here any more
    {
        const std::lock_guard lock(idleMutex_);
        stopping_ = true;
    }
    if (ioThread_.joinable()) {
        wakeIoThread();
        // The I/O thread never blocks on a peer (control writes are bounded by
        // kControlWriteTimeout), so it reaches the wake-up promptly.
        ioThread_.join();
    } else {
        closeForStop();
    }
    closeQueue();

    bool allExited = false;
    {
        std::unique_lock lock(exitMutex_);
        const auto done = [this] { return liveWorkers_ == 0; };
        if (deadline.at() == common::Clock::time_point::max()) {
            exitCv_.wait(lock, done);
            allExited = true;
        } else {
            allExited = exitCv_.wait_until(lock, deadline.at(), done);
        }
    }
    if (allExited) {
        for (auto& t : workers_) {
            t.join();
        }
        return report;
    }

    // Deadline passed: refuse what is still queued, count what is still running.
    report.clean = false;
    while (auto conn = queue_.tryPop()) {
        (void)(*conn)->rejectRequest(protocol::ResponseErrorCode::ShuttingDown,
                                     "daemon is shutting down");
        retire(std::move(*conn));
        ++report.cutOff;
    }
    report.cutOff += static_cast<std::size_t>(busyWorkers_.load());
    try {
        log_.log(LogLevel::Error, "WG0230",
                 "shutdown timeout passed with " + std::to_string(report.cutOff) +
                     " request(s) still queued or running; they are cut off");
    } catch (...) {  // NOLINT(bugprone-empty-catch)
        // Building the message failed; the report still carries the count.
    }
    return report;
}

void Server::wakeIoThread() noexcept {
    addToEventFd(wakeFd_.get(), 1);
}

// ---- I/O thread ---------------------------------------------------------------------------

void Server::ioMain() noexcept {
    common::nameThisThread("wsgid-io");
    try {
        std::array<epoll_event, kMaxEventsPerWait> events{};
        for (;;) {
            const int n =
                ::epoll_wait(epollFd_.get(), events.data(), kMaxEventsPerWait, ioWaitTimeoutMs());
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                log_.log(LogLevel::Critical, "WG0231",
                         "epoll_wait failed: " + common::errnoText(errno));
                healthy_ = false;
                closeForStop();
                return;
            }
            const auto now = common::Clock::now();
            expireHandshakes(now, kMaxPendingHandshakes);
            for (int i = 0; i < n; ++i) {
                void* tag = events[static_cast<std::size_t>(i)].data.ptr;
                if (tag == &wakeFd_) {
                    std::uint64_t count = 0;
                    // Resets the counter; a failure leaves it set, which only wakes us again.
                    [[maybe_unused]] const ssize_t drained =
                        ::read(wakeFd_.get(), &count, sizeof(count));
                    bool stopping = false;
                    {
                        const std::lock_guard lock(idleMutex_);
                        stopping = stopping_;
                    }
                    if (stopping) {
                        closeForStop();
                        return;
                    }
                } else if (tag == &listenFd_) {
                    acceptConnections();
                } else if (tag == &connEpollFd_) {
                    takeReadyConnections();
                }
            }
            scanUnreadRequests();
            expireQueued();
            handBackQueued();
            updateAcceptGate();
        }
    } catch (...) {
        log_.log(LogLevel::Critical, "WG0232", "the I/O thread failed (out of memory)");
        healthy_ = false;
        closeForStop();
    }
}

void Server::takeReadyConnections() {
    std::array<epoll_event, kMaxEventsPerWait> ready{};
    // No wait: the outer epoll_wait said the set is ready; an idle worker may have taken the
    // events meanwhile, and then there is nothing to do.
    const int n = ::epoll_wait(connEpollFd_.get(), ready.data(), kMaxEventsPerWait, 0);
    for (int i = 0; i < n; ++i) {
        void* tag = ready[static_cast<std::size_t>(i)].data.ptr;
        if (tag == &nudgeFd_) {
            passNudge();
        } else {
            onConnectionEvent(static_cast<Connection*>(tag));
        }
    }
}

void Server::closeForStop() {
    acceptState_ = AcceptState::Closed;
    if (listenFd_) {
        // Our copy only: the httpd parent and the other daemons keep the socket listening, and
        // its path is the parent's to unlink.
        (void)::epoll_ctl(epollFd_.get(), EPOLL_CTL_DEL, listenFd_.get(), nullptr);
        listenFd_.reset();
    }
    std::unordered_map<Connection*, ConnectionPtr> idle;
    {
        const std::lock_guard lock(idleMutex_);
        stopping_ = true;
        idle.swap(idle_);
    }
    for (auto& entry : idle) {
        ConnectionPtr conn = std::move(entry.second);
        // A request that already reached an idle connection is served, not refused: the module
        // may have sent its body too, which it cannot send again elsewhere. Only a connection
        // with nothing pending gets the goodbye (docs/operations.md, "Recycling").
        if (conn->authenticated() &&
            common::waitReadable(conn->fd(), Deadline::after(std::chrono::milliseconds(0)))) {
            const Connection::Event event = conn->onReadable();
            if (event == Connection::Event::RequestReady) {
                dispatch(std::move(conn), event);  // admitted (or Busy) as any request
                continue;
            }
        }
        conn->sayShuttingDown();
        retire(std::move(conn));
    }
    closeQueue();
}

void Server::scanUnreadRequests() {
    {
        const std::lock_guard lock(idleWorkersMutex_);
        if (watch_ != ConnectionWatch::IoScan) {
            return;
        }
        const auto now = common::Clock::now();
        if (now < nextUnreadScan_) {
            return;
        }
        nextUnreadScan_ = now + kUnreadScanInterval;
    }
    takeReadyConnections();
}

int Server::ioWaitTimeoutMs() {
    // Woken by connections or by stop() through the eventfd; otherwise by the nearest deadline.
    std::optional<common::Clock::time_point> next;
    {
        const std::lock_guard lock(idleWorkersMutex_);
        unreadScanArmed_ = watch_ == ConnectionWatch::IoScan;
        if (unreadScanArmed_) {
            next = nextUnreadScan_;
        }
    }
    if (acceptState_ == AcceptState::Backoff && (!next || acceptResumeAt_ < *next)) {
        next = acceptResumeAt_;
    }
    if (!handshakes_.empty() && (!next || handshakes_.front().deadline < *next)) {
        next = handshakes_.front().deadline;
    }
    std::optional<std::chrono::milliseconds> scanEvery;
    if (usesLoadTable() && (queue_.size() > 0 || acceptState_ == AcceptState::Full)) {
        // The siblings' load decides the hand-back and, while this process is full, whether
        // it takes the backlog's connections (all full) or leaves them to a free sibling.
        scanEvery = kHandBackScanInterval;
    } else if (config_.queueTimeout.count() > 0 && queue_.size() > 0) {
        scanEvery = kQueueScanInterval;
    }
    if (scanEvery) {
        const auto scan = common::Clock::now() + *scanEvery;
        if (!next || scan < *next) {
            next = scan;
        }
    }
    return next ? Deadline(*next).pollTimeoutMs() : -1;
}

}  // namespace wsgid::daemon
