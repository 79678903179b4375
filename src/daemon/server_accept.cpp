// SPDX-License-Identifier: Apache-2.0
// Server, accepting connections: the accept loop, the accept gate (a worker's place taken before
// the accept, the listening socket unwatched while none is free), socket buffers, and the deadline
// for a new connection's handshake. No httpd headers here.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/duration_text.h"
#include "daemon/server.h"
#include "daemon/server_epoll.h"

namespace wsgid::daemon {

using common::LogLevel;
using detail::kConnectionEvents;
using detail::kListenEvents;

namespace {

// Connections accepted per readiness event before the I/O thread looks at its other sockets,
// so a connection storm cannot starve established connections.
constexpr int kMaxAcceptsPerWakeup = 64;

}  // namespace

void Server::applySocketBuffers(int fd) {
    const common::SocketBufferSizes& asked = config_.socketBuffers;
    if (!asked.any()) {
        return;
    }
    common::Status s = common::applySocketBufferSizes(fd, asked);
    // Read back once per process: the caps that shorten them (net.core.wmem_max / rmem_max) are
    // the same for every connection, and under saturation new connections come often enough for
    // the two getsockopt to count (docs/performance.md).
    if (socketBuffersChecked_) {
        return;
    }
    socketBuffersChecked_ = true;
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
    log_.log(LogLevel::Warning, "WG0298",
             "send-buffer-size=" + std::to_string(asked.send) +
                 " / receive-buffer-size=" + std::to_string(asked.receive) +
                 " not fully applied: " + s.message() + "; logged once per process");
}

void Server::acceptConnections() {
    // The worker is taken before the accept, not after: a pooled request admitted meanwhile on
    // a worker thread cannot take the same one (it would then wait here behind a request that
    // may run long, while a sibling has a free worker).
    for (int i = 0; i < kMaxAcceptsPerWakeup && (tryTakePlace() || takePlaceWhileAllFull()); ++i) {
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
        // Its place stays taken until its first request (retire() gives it back if none comes).
        // Room for this one: the oldest silent peers go first (kMaxPendingHandshakes).
        expireHandshakes(common::Clock::now(), kMaxPendingHandshakes - 1);
        trackHandshake(*conn);
        Connection* raw = conn.get();
        const std::lock_guard lock(idleMutex_);
        epoll_event ev{.events = kConnectionEvents, .data = {.ptr = raw}};
        if (::epoll_ctl(connEpollFd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            log_.log(LogLevel::Error, "WG0233",
                     "cannot watch a new connection: " + common::errnoText(errno));
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
    return !config_.siblings || places_.load() < config_.threads ||
           (usesLoadTable() && siblingsFreeWorkers() == 0);
}

bool Server::tryTakePlace() noexcept {
    if (!config_.siblings) {
        places_.fetch_add(1);
        return true;
    }
    int taken = places_.load();
    while (taken < config_.threads) {
        if (places_.compare_exchange_weak(taken, taken + 1)) {
            placesChanged();
            return true;
        }
    }
    return false;
}

void Server::releasePlace() noexcept {
    places_.fetch_sub(1);
    placesChanged();
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

}  // namespace wsgid::daemon
