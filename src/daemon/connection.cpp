// SPDX-License-Identifier: Apache-2.0
// Connection: the daemon side of the session rules in docs/protocol.md. No httpd headers here.
// This file: reading and dispatching frames, rejecting requests and the control frames; the
// handshake, serving a request, the body and the response are in the connection_*.cpp files.
#include "daemon/connection.h"

#include <cerrno>
#include <string>

#include <poll.h>
#include <unistd.h>

#include "common/socket_io.h"
#include "daemon/connection_impl.h"
#include "protocol/request_flags.h"

namespace wsgid::daemon {

using common::Deadline;
using common::LogLevel;
using common::Status;
using detail::frameTypeName;
using detail::kReadBufferSize;
using protocol::Frame;
using protocol::FrameType;
using protocol::ResponseErrorCode;

Connection::Connection(common::UniqueFd fd, const ConnectionConfig& config, common::LogSink& log,
                       std::uint64_t serial) noexcept
    : fd_(std::move(fd)), config_(config), log_(log), serial_(serial) {}

Connection::~Connection() = default;

// ---- I/O thread side ----------------------------------------------------------------------

Connection::Event Connection::onReadable() noexcept {
    try {
        char buf[kReadBufferSize];
        std::size_t total = 0;
        while (total < kMaxReadPerWakeup) {
            const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
            if (n > 0) {
                decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
                total += static_cast<std::size_t>(n);
                if (static_cast<std::size_t>(n) < sizeof(buf)) {
                    // A short read emptied the socket: asking again would only say EAGAIN (a
                    // system call per request). What arrives later re-arms the connection.
                    break;
                }
                continue;
            }
            if (n == 0) {
                // The module closes pooled connections when its child exits: routine.
                log_.log(LogLevel::Debug, "WG0210", "connection closed by the module");
                return Event::Close;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            log_.log(LogLevel::Info, "WG0211",
                     "reading from a module connection failed: " + common::errnoText(errno));
            return Event::Close;
        }
        return processBuffered();
    } catch (...) {
        log_.log(LogLevel::Error, "WG0212", "out of memory reading a module connection");
        return Event::Close;
    }
}

Connection::Event Connection::processBuffered() noexcept {
    try {
        for (;;) {
            if (state_ == State::RequestPending) {
                return Event::RequestReady;
            }
            auto next = decoder_.next();
            if (!next && state_ == State::AwaitHello) {
                // Not even a frame of this protocol version (an old client, a probe): an
                // unauthenticated peer, refused like a bad Hello.
                return refuse(
                    "its first bytes are not a valid frame (" + next.status().message() + ")", {});
            }
            if (!next) {
                log_.log(LogLevel::Error, "WG0213",
                         "malformed frame from the module, closing the connection: " +
                             next.status().message());
                return Event::Close;
            }
            if (!next.value()) {
                return Event::NeedMore;
            }
            if (const Event e = handleFrame(*next.value()); e != Event::NeedMore) {
                return e;
            }
        }
    } catch (...) {
        log_.log(LogLevel::Error, "WG0212", "out of memory reading a module connection");
        return Event::Close;
    }
}

Connection::Event Connection::handleFrame(Frame& frame) {
    switch (state_) {
        case State::AwaitHello:
            return handleHello(frame);
        case State::Idle: {
            if (frame.type != FrameType::RequestHead) {
                log_.log(LogLevel::Error, "WG0214",
                         "unexpected " + frameTypeName(frame.type) +
                             " frame between requests, closing the connection");
                return Event::Close;
            }
            auto head = protocol::decodeRequestHead(frame.payload);
            if (!head) {
                log_.log(LogLevel::Error, "WG0215",
                         "invalid RequestHead from the module: " + head.status().message());
                // Nothing else of that request follows (its body waits for SendBody).
                if (!sendError(ResponseErrorCode::BadRequest,
                               "invalid RequestHead: " + head.status().message(),
                               Deadline::after(kControlWriteTimeout))) {
                    return Event::Close;
                }
                return Event::NeedMore;
            }
            requestId_ = head.value().requestId;
            mayQueue_ = (frame.flags & protocol::kHeadMayQueue) != 0;
            mayReturn_ = (frame.flags & protocol::kHeadMayReturn) != 0;
            receivedAtUs_ = head.value().receivedAtUs;
            ++requestsSeen_;
            pending_.emplace(std::move(head).value());
            state_ = State::RequestPending;
            return Event::RequestReady;
        }
        case State::RequestPending:
            break;
    }
    return Event::RequestReady;
}

Connection::Event Connection::rejectRequest(ResponseErrorCode code,
                                            std::string_view message) noexcept {
    pending_.reset();
    requestId_.clear();
    state_ = State::Idle;
    if (!sendError(code, message, Deadline::after(kControlWriteTimeout))) {
        return Event::Close;
    }
    return processBuffered();
}

bool Connection::peerGone() const noexcept {
    pollfd p{.fd = fd_.get(), .events = POLLRDHUP, .revents = 0};
    int rc = 0;
    do {
        rc = ::poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    // The module never half-closes a connection it still waits on, so a read-side hang-up means
    // it is gone; data that is merely readable (POLLIN alone) does not count.
    return rc > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void Connection::sayShuttingDown() noexcept {
    (void)sendError(ResponseErrorCode::ShuttingDown, "daemon is stopping",
                    Deadline::after(kControlWriteTimeout));
}

bool Connection::sendControl(FrameType type, std::string_view payload) noexcept {
    return sendFrame(type, payload, Deadline::after(kControlWriteTimeout));
}

bool Connection::sendError(ResponseErrorCode code, std::string_view message,
                           Deadline deadline) noexcept {
    try {
        return sendFrame(
            FrameType::Error,
            protocol::encodeResponseError({.code = code, .message = std::string(message)}),
            deadline);
    } catch (...) {
        return false;
    }
}

bool Connection::sendFrame(FrameType type, std::string_view payload, Deadline deadline) noexcept {
    try {
        std::string frame;
        protocol::appendFrame(frame, type, 0, payload);
        const Status s = common::writeFully(fd_.get(), frame, deadline);
        if (!s) {
            log_.log(LogLevel::Info, "WG0220",
                     "writing to a module connection failed: " + s.message());
        }
        return s.isOk();
    } catch (...) {
        return false;
    }
}

}  // namespace wsgid::daemon
