// SPDX-License-Identifier: Apache-2.0
// Server, admission and dispatch: what happens to a connection once it has something to say
// (admitted, queued, answered Busy, re-armed or retired), and the queue for when every worker is
// busy: its timeouts and the nudges that wake idle workers for it. No httpd headers here.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <sys/epoll.h>

#include "common/duration_text.h"
#include "daemon/server.h"
#include "daemon/server_epoll.h"

namespace wsgid::daemon {

using common::LogLevel;
using detail::addToEventFd;
using detail::kConnectionEvents;
using detail::kNudgeEvents;

namespace {

// Microseconds since the Unix epoch, the clock of RequestHead::receivedAtUs (httpd's
// r->request_time).
std::int64_t nowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

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
    if (!conn.firstRequest()) {
        if (!config_.siblings || conn.mayQueue()) {
            // Taken even beyond the workers: it may wait in the queue.
            places_.fetch_add(1);
            placesChanged();
        } else if (!tryTakePlace()) {
            event = conn.rejectRequest(protocol::ResponseErrorCode::Busy,
                                       "no free worker in this process");
            return false;
        }
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
        releasePlace();  // it never claimed the worker it was accepted for
    }
    // Explicit removal: a process forked by app code may hold a copy of the descriptor, and
    // then closing ours would leave the registration (and its pointer) in the epoll set.
    (void)::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_DEL, conn->fd(), nullptr);
    conn.reset();
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

}  // namespace wsgid::daemon
