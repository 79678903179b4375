// SPDX-License-Identifier: Apache-2.0
// Server: accept loop, leader/follower workers over idle connections, the queue for when every
// worker is busy, and graceful drain.
// Thread model: docs/architecture.md "GIL and thread model". No httpd headers here.
#include "daemon/server.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <string>
#include <utility>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/duration_text.h"
#include "common/thread_name.h"
#include "daemon/response_writer.h"

namespace wsgid::daemon {

using common::Deadline;
using common::ErrorCode;
using common::LogLevel;
using common::Status;

namespace {

// Events taken per epoll_wait(); more simply wait for the next call.
constexpr int kMaxEventsPerWait = 64;

// Connections accepted per readiness event before the I/O thread looks at its other sockets,
// so a connection storm cannot starve established connections.
constexpr int kMaxAcceptsPerWakeup = 64;

// Connections wait for readable data, one readiness report at a time: while the I/O thread or a
// worker owns a connection, epoll stays silent about it, and two threads waiting on the set never
// get the same connection.
constexpr std::uint32_t kConnectionEvents = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;

// The connection set as the I/O thread watches it (nested in its own set while no worker is
// idle). Every item in the set is EPOLLONESHOT, so once taken it is not ready any more and a
// level-triggered watch cannot spin.
constexpr std::uint32_t kConnectionSetEvents = EPOLLIN;

// The nudge eventfd in the connection set: one report per arming, like a connection, so one
// idle worker wakes per nudge and the I/O thread, which may take one while it still watches the
// set, can hold it back (passNudge) instead of seeing it again and again.
constexpr std::uint32_t kNudgeEvents = EPOLLIN | EPOLLONESHOT;

// Every daemon of the group that has a free worker watches the group's socket, and a new
// connection wakes all of them: one accept() succeeds, the others see EAGAIN. Not EPOLLEXCLUSIVE:
// its single wake-up can go to a process that has just become full and stops watching without
// accepting, and the connection then waits for that process although a sibling is idle. A group
// has a handful of processes, and connections are persistent, so the extra wake-ups are rare.
constexpr std::uint32_t kListenEvents = EPOLLIN;

// Microseconds since the Unix epoch, the clock of RequestHead::receivedAtUs (httpd's
// r->request_time).
std::int64_t nowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Adds `count` to an eventfd's counter. Fails only if the counter would overflow, and then its
// waiters are woken already.
void addToEventFd(int fd, std::uint64_t count) noexcept {
    [[maybe_unused]] const ssize_t n = ::write(fd, &count, sizeof(count));
}

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
        ioWatchesConnections_ = true;

        // The threads keep the signal mask of the caller. Blocking the stop signals in them
        // would leak into every program app code starts from a worker (exec keeps the mask);
        // the handlers only write to the self-pipe, so whichever thread runs one is fine.
        phase_ = Phase::Started;
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

void Server::closeQueue() noexcept {
    queue_.close();
    // Counts are never taken once the queue is closed (nextRequest), and each worker that wakes
    // to find it closed arms the nudge again for the next, so every idle worker, now or later,
    // wakes and exits. One count per worker: a worker that saw the queue open just before may
    // still take one.
    const std::lock_guard lock(idleWorkersMutex_);
    addToEventFd(nudgeFd_.get(), static_cast<std::uint64_t>(config_.threads) + 1);
    if (nudgeParked_) {
        armNudge();
    }
}

void Server::nudgeIdleWorker() noexcept {
    // Under the lock that enterIdle holds while it counts a worker idle: either that worker looks
    // at the queue after this push, or this sees it idle and wakes it.
    const std::lock_guard lock(idleWorkersMutex_);
    if (idleWorkers_ == 0) {
        return;  // the next worker to finish pops the queue before it waits
    }
    addToEventFd(nudgeFd_.get(), 1);
}

void Server::armNudge() noexcept {
    nudgeParked_ = false;
    epoll_event nudge{.events = kNudgeEvents, .data = {.ptr = &nudgeFd_}};
    // Only fails for lack of kernel memory; then idle workers see queued requests when a
    // request or a finished one wakes them.
    (void)::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_MOD, nudgeFd_.get(), &nudge);
}

void Server::passNudge() noexcept {
    const std::lock_guard lock(idleWorkersMutex_);
    if (idleWorkers_ > 0) {
        armNudge();  // a worker waits on the set now, and this thread no longer watches it
    } else {
        // Armed now, it would be ready again at once for this thread, which watches the set
        // while no worker is idle. Every worker is busy and pops the queue before it waits.
        nudgeParked_ = true;
    }
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
            expireQueued();
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

void Server::applySocketBuffers(int fd) {
    const common::SocketBufferSizes& asked = config_.socketBuffers;
    if (!asked.any()) {
        return;
    }
    common::Status s = common::applySocketBufferSizes(fd, asked);
    if (socketBuffersReported_) {
        return;
    }
    if (s) {
        auto applied = common::socketBufferSizes(fd);
        if (applied && common::honours(*applied, asked)) {
            return;
        }
        s = applied
                ? common::Status(common::ErrorCode::LimitExceeded,
                                 "the kernel applied SO_SNDBUF " + std::to_string(applied->send) +
                                     " and SO_RCVBUF " + std::to_string(applied->receive) +
                                     " (capped by net.core.wmem_max / rmem_max)")
                : applied.status();
    }
    socketBuffersReported_ = true;
    log_.log(LogLevel::Warning, "WG0298",
             "send-buffer-size=" + std::to_string(asked.send) +
                 " / receive-buffer-size=" + std::to_string(asked.receive) +
                 " not fully applied: " + s.message() + "; logged once per process");
}

void Server::acceptConnections() {
    // The worker is taken before the accept, not after: a pooled request admitted meanwhile on
    // a worker thread cannot take the same one (it would then wait here behind a request that
    // may run long, while a sibling has a free worker).
    for (int i = 0; i < kMaxAcceptsPerWakeup && tryTakePlace(); ++i) {
        const int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            releasePlace();
            if (err == EINTR || err == ECONNABORTED) {
                continue;
            }
            if (err == EAGAIN || err == EWOULDBLOCK) {
                return;  // another daemon of the group took it, or the backlog is empty
            }
            pauseAccepting(err);
            return;
        }
        applySocketBuffers(fd);
        auto conn = std::make_unique<Connection>(common::UniqueFd(fd), connectionConfig_, log_,
                                                 nextSerial_++);
        if (conn->greet() != Connection::Event::NeedMore) {
            releasePlace();
            continue;  // refused (and logged) or gone; closing it is all that is left
        }
        ++unclaimed_;  // holds its place until its first request (retire() gives it back)
        // Room for this one: the oldest silent peers go first (kMaxPendingHandshakes).
        expireHandshakes(common::Clock::now(), kMaxPendingHandshakes - 1);
        trackHandshake(*conn);
        Connection* raw = conn.get();
        const std::lock_guard lock(idleMutex_);
        epoll_event ev{.events = kConnectionEvents, .data = {.ptr = raw}};
        if (::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            log_.log(LogLevel::Error, "WG0233",
                     "cannot watch a new connection: " + common::errnoText(errno));
            --unclaimed_;
            releasePlace();
            continue;
        }
        idle_.emplace(raw, std::move(conn));
    }
}

void Server::pauseAccepting(int err) {
    log_.log(LogLevel::Error, "WG0234",
             "accept() failed: " + common::errnoText(err) + "; pausing new connections for " +
                 common::durationText(kAcceptBackoff));
    if (acceptState_ == AcceptState::Accepting) {
        (void)watchListener(false);
    }
    acceptState_ = AcceptState::Backoff;
    acceptResumeAt_ = common::Clock::now() + kAcceptBackoff;
}

bool Server::hasRoomForConnection() const noexcept {
    return !config_.siblings || places_.load() < config_.threads;
}

bool Server::tryTakePlace() noexcept {
    if (!config_.siblings) {
        places_.fetch_add(1);
        return true;
    }
    int taken = places_.load();
    while (taken < config_.threads) {
        if (places_.compare_exchange_weak(taken, taken + 1)) {
            return true;
        }
    }
    return false;
}

void Server::releasePlace() noexcept {
    places_.fetch_sub(1);
}

bool Server::watchListener(bool on) {
    if (!on) {
        (void)::epoll_ctl(epollFd_.get(), EPOLL_CTL_DEL, listenFd_.get(), nullptr);
        return true;
    }
    epoll_event listen{.events = kListenEvents, .data = {.ptr = &listenFd_}};
    if (::epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, listenFd_.get(), &listen) != 0) {
        log_.log(LogLevel::Error, "WG0235",
                 "cannot watch the listening socket again: " + common::errnoText(errno));
        return false;
    }
    return true;
}

void Server::updateAcceptGate() {
    if (acceptState_ == AcceptState::Closed ||
        (acceptState_ == AcceptState::Backoff && common::Clock::now() < acceptResumeAt_)) {
        return;
    }
    if (!hasRoomForConnection()) {
        // Publish first, then look again: a worker finishing meanwhile either is seen here or
        // sees the flag and wakes this thread (both sides use sequentially consistent atomics).
        gateClosed_.store(true);
        if (!hasRoomForConnection()) {
            if (acceptState_ == AcceptState::Accepting) {
                (void)watchListener(false);
            }
            acceptState_ = AcceptState::Full;
            return;
        }
    }
    gateClosed_.store(false);
    if (acceptState_ == AcceptState::Accepting) {
        return;
    }
    if (watchListener(true)) {
        acceptState_ = AcceptState::Accepting;
    } else {
        acceptState_ = AcceptState::Backoff;
        acceptResumeAt_ = common::Clock::now() + kAcceptBackoff;
    }
}

int Server::ioWaitTimeoutMs() const {
    // Woken by connections or by stop() through the eventfd; otherwise by the nearest deadline.
    std::optional<common::Clock::time_point> next;
    if (acceptState_ == AcceptState::Backoff) {
        next = acceptResumeAt_;
    }
    if (!handshakes_.empty() && (!next || handshakes_.front().deadline < *next)) {
        next = handshakes_.front().deadline;
    }
    if (config_.queueTimeout.count() > 0 && queue_.size() > 0) {
        const auto scan = common::Clock::now() + kQueueScanInterval;
        if (!next || scan < *next) {
            next = scan;
        }
    }
    return next ? Deadline(*next).pollTimeoutMs() : -1;
}

void Server::trackHandshake(Connection& conn) {
    handshakes_.push_back({.deadline = common::Clock::now() + kHandshakeTimeout,
                           .conn = &conn,
                           .serial = conn.serial()});
}

void Server::expireHandshakes(common::Clock::time_point now, std::size_t keep) {
    // Entries are in deadline order (one timeout for all). An entry whose connection finished
    // its handshake, or is gone, is just forgotten; one still waiting past its deadline, or
    // beyond `keep` waiting entries, is dropped.
    while (!handshakes_.empty() &&
           (handshakes_.front().deadline <= now || handshakes_.size() > keep)) {
        const PendingHandshake entry = handshakes_.front();
        handshakes_.pop_front();
        ConnectionPtr owned;
        {
            const std::lock_guard lock(idleMutex_);
            const auto it = idle_.find(entry.conn);
            if (it == idle_.end() || it->second->serial() != entry.serial ||
                it->second->authenticated()) {
                continue;
            }
            owned = std::move(it->second);
            idle_.erase(it);
        }
        owned->handshakeTimedOut();
        retire(std::move(owned));
    }
}

Server::ConnectionPtr Server::takeIdle(Connection* conn) {
    // Looked up by address only: with several threads taking events, the connection an event
    // named may be gone (retired at its handshake deadline, or at stop) before its taker gets
    // here. If another connection now lives at that address, reading it finds nothing to read
    // and re-arms it, which loses nothing.
    const std::lock_guard lock(idleMutex_);
    const auto it = idle_.find(conn);
    if (it == idle_.end()) {
        return nullptr;
    }
    ConnectionPtr owned = std::move(it->second);
    idle_.erase(it);
    return owned;
}

void Server::onConnectionEvent(Connection* conn) {
    ConnectionPtr owned = takeIdle(conn);
    if (!owned) {
        return;
    }
    const Connection::Event event = owned->onReadable();
    dispatch(std::move(owned), event);
}

bool Server::admitRequest(Connection& conn, Connection::Event& event) {
    // The first request of a connection this process accepted has its worker reserved; with
    // siblings, any other request is taken only while a worker is free and not reserved for
    // such a request, unless the module has nowhere else to go.
    const bool reserved = conn.firstRequest();
    if (reserved) {
        --unclaimed_;  // its place passes to the request
    } else if (!config_.siblings || conn.mayQueue()) {
        places_.fetch_add(1);  // taken even beyond the workers: it may wait in the queue
    } else if (!tryTakePlace()) {
        event =
            conn.rejectRequest(protocol::ResponseErrorCode::Busy, "no free worker in this process");
        return false;
    }
    ++admitted_;
    conn.setQueuedAt(common::Clock::now());
    return true;
}

void Server::dispatch(ConnectionPtr conn, Connection::Event event) {
    for (;;) {
        switch (event) {
            case Connection::Event::Close:
                retire(std::move(conn));
                return;
            case Connection::Event::RequestReady: {
                if (!admitRequest(*conn, event)) {
                    break;  // answered Busy; `event` is what the connection does next
                }
                const PushResult pushed = queue_.tryPush(conn);
                if (pushed == PushResult::Pushed) {
                    nudgeIdleWorker();
                    return;
                }
                --admitted_;
                releasePlace();
                if (pushed == PushResult::Closed) {
                    (void)conn->rejectRequest(protocol::ResponseErrorCode::ShuttingDown,
                                              "daemon is shutting down");
                    retire(std::move(conn));
                    return;
                }
                log_.log(LogLevel::Error, "WG0236",
                         "request queue full (" + std::to_string(queue_.capacity()) +
                             " requests); refusing request " + conn->requestId());
                event = conn->rejectRequest(protocol::ResponseErrorCode::ShuttingDown,
                                            "request queue full");
                break;
            }
            case Connection::Event::NeedMore: {
                Connection* raw = conn.get();
                const std::lock_guard lock(idleMutex_);
                if (stopping_) {
                    conn->sayShuttingDown();
                    retire(std::move(conn));
                    return;
                }
                epoll_event ev{.events = kConnectionEvents, .data = {.ptr = raw}};
                if (::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_MOD, raw->fd(), &ev) != 0) {
                    log_.log(LogLevel::Error, "WG0233",
                             "cannot watch a connection: " + common::errnoText(errno));
                    retire(std::move(conn));
                    return;
                }
                idle_.emplace(raw, std::move(conn));
                return;
            }
        }
    }
}

void Server::retire(ConnectionPtr conn) noexcept {
    if (!conn) {
        return;
    }
    if (conn->unused()) {
        --unclaimed_;  // it never claimed the worker it was accepted for
        releasePlace();
    }
    // Explicit removal: a process forked by app code may hold a copy of the descriptor, and
    // then closing ours would leave the registration (and its pointer) in the epoll set.
    (void)::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_DEL, conn->fd(), nullptr);
    conn.reset();
}

// ---- workers ------------------------------------------------------------------------------

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

void Server::finished() noexcept {
    --admitted_;
    releasePlace();  // before the flag is read (see updateAcceptGate)
    if (gateClosed_.load()) {
        wakeIoThread();  // a worker is free again: the I/O thread watches the socket again
    }
}

bool Server::refuseStale(ConnectionPtr& conn) {
    if (common::Clock::now() - conn->queuedAt() >= kHangUpCheckAfter && conn->peerGone()) {
        // The module gave up waiting (its socket-timeout, or its client went away): never run.
        log_.log(LogLevel::Info, "WG0280",
                 "request " + conn->requestId() +
                     " was not run: the module hung up while it waited for a worker");
        finished();
        retire(std::move(conn));
        return true;
    }
    if (!pastQueueTimeout(*conn)) {
        return false;
    }
    const std::string limit = common::durationText(config_.queueTimeout);
    log_.log(LogLevel::Warning, "WG0281",
             "request " + conn->requestId() + " waited more than queue-timeout (" + limit +
                 ") for a worker; answered 503, not run");
    const Connection::Event next =
        conn->rejectRequest(protocol::ResponseErrorCode::QueueTimeout,
                            "no worker became free within queue-timeout (" + limit + ")");
    finished();
    dispatch(std::move(conn), next);
    return true;
}

bool Server::pastQueueTimeout(const Connection& conn) const {
    const std::int64_t received = conn.receivedAtUs();
    return config_.queueTimeout.count() > 0 && received != 0 &&
           std::chrono::microseconds(nowUs() - received) > config_.queueTimeout;
}

void Server::expireQueued() {
    if (config_.queueTimeout.count() == 0 || queue_.size() == 0) {
        return;
    }
    std::vector<ConnectionPtr> stale =
        queue_.takeIf([this](const ConnectionPtr& conn) { return pastQueueTimeout(*conn); });
    if (stale.empty()) {
        return;
    }
    const std::string limit = common::durationText(config_.queueTimeout);
    // One line per scan, not per request: a flood must not flood the log too.
    log_.log(LogLevel::Warning, "WG0281",
             std::to_string(stale.size()) + " request(s) (first: " + stale.front()->requestId() +
                 ") waited more than queue-timeout (" + limit +
                 ") for a worker; answered 503, not run");
    for (ConnectionPtr& conn : stale) {
        const Connection::Event next =
            conn->rejectRequest(protocol::ResponseErrorCode::QueueTimeout,
                                "no worker became free within queue-timeout (" + limit + ")");
        finished();
        dispatch(std::move(conn), next);
    }
}

void Server::enterIdle() {
    const std::lock_guard lock(idleWorkersMutex_);
    if (++idleWorkers_ == 1 && ioWatchesConnections_) {
        // A worker waits on the connections now: the I/O thread need not read them.
        (void)::epoll_ctl(epollFd_.get(), EPOLL_CTL_DEL, connEpollFd_.get(), nullptr);
        ioWatchesConnections_ = false;
    }
    if (nudgeParked_) {
        armNudge();
    }
}

void Server::leaveIdle() {
    const std::lock_guard lock(idleWorkersMutex_);
    if (--idleWorkers_ == 0 && !ioWatchesConnections_) {
        // Every worker is busy: requests that arrive now are read by the I/O thread, which
        // queues them or answers Busy (siblings) and expires them at queue-timeout.
        epoll_event connSet{.events = kConnectionSetEvents, .data = {.ptr = &connEpollFd_}};
        if (::epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, connEpollFd_.get(), &connSet) != 0) {
            // Only for lack of kernel memory. Requests still run as workers free up; only the
            // Busy answers and queue-timeout's early 503 wait for them meanwhile.
            log_.log(
                LogLevel::Error, "WG0233",
                "cannot watch the connections from the I/O thread: " + common::errnoText(errno));
            return;
        }
        ioWatchesConnections_ = true;
    }
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
