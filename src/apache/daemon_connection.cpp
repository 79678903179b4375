// SPDX-License-Identifier: Apache-2.0
// Connecting to a daemon group and the Hello/HelloAck handshake (see daemon_connection.h).
// No httpd calls; every wait is bounded.
#include "apache/daemon_connection.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/duration_text.h"
#include "common/socket_io.h"
#include "protocol/frame.h"
#include "protocol/response.h"

namespace wsgid::apache {

namespace {

using common::Deadline;
using common::durationText;
using common::ErrorCode;
using common::Result;
using common::Status;
using protocol::FrameType;

/// First pause between connect attempts the daemon side refused: a daemon that is being
/// respawned usually accepts again within milliseconds.
constexpr std::chrono::milliseconds kConnectRetryFirst{5};
/// Longest pause between connect attempts (doubling from kConnectRetryFirst): a few wake-ups a
/// second are cheap, and a freed backlog slot is found quickly.
constexpr std::chrono::milliseconds kConnectRetryMax{250};

/// Room the handshake asks of its decoder for each read (a Challenge is 44 bytes, a HelloAck 12;
/// an Error frame at most ~4 KiB).
constexpr std::size_t kHelloReadSize = 4096 + protocol::kFrameHeaderSize;

/// Connects `fd` to `addr`; 0 or an errno value. Waits for a pending connect up to `deadline`.
int connectOnce(int fd, const sockaddr_un& addr, Deadline deadline) noexcept {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
        return 0;
    }
    const int err = errno;
    if (err != EINPROGRESS && err != EINTR) {
        return err;
    }
    if (Status s = common::waitWritable(fd, deadline); !s) {
        return s.code() == ErrorCode::Timeout ? ETIMEDOUT : EIO;
    }
    int soError = 0;
    socklen_t len = sizeof(soError);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) != 0) {
        return errno;
    }
    return soError;
}

// The failures below are out of line: their strings would otherwise widen the frames of every
// new connection's handshake, and each page the deepest request reaches stays resident in every
// httpd worker thread (docs/performance.md "Memory").

/// A failed read of the handshake's next frame.
[[gnu::noinline]] Status handshakeReadFailed(const Status& read, const ConnectParams& params,
                                             const char* wantName) {
    if (read.code() == ErrorCode::Timeout) {
        return {ErrorCode::Timeout, "no daemon process took the connection within " +
                                        common::durationText(params.acceptTimeout) + " (" +
                                        std::string(params.acceptTimeoutName) +
                                        "): all of them busy, or failing to start"};
    }
    return {read.code(), std::string("waiting for ") + wantName + ": " + read.message()};
}

/// A handshake frame of another type than expected: an Error frame says why the daemon refused
/// (Closed for ShuttingDown, so the next connection goes to another process).
[[gnu::noinline]] Status unexpectedHandshakeFrame(const protocol::FrameView& f,
                                                  const char* wantName) {
    if (f.type == FrameType::Error) {
        auto err = protocol::decodeResponseError(f.payload);
        std::string why = err ? std::string(protocol::toString(err->code)) + ": " + err->message
                              : std::string("malformed Error frame");
        if (err && err->code == protocol::ResponseErrorCode::ShuttingDown) {
            return {ErrorCode::Closed, "daemon is stopping (" + why + ")"};
        }
        return {ErrorCode::ProtocolError, "daemon refused the connection (" + why + ")"};
    }
    return {ErrorCode::ProtocolError, std::string("expected ") + wantName + ", got frame type " +
                                          std::to_string(static_cast<unsigned>(f.type))};
}

/// What follows the HelloAck, which should be nothing. A daemon that began to drain while it
/// answered the Hello says goodbye right after its HelloAck (it recycles or httpd restarts): like
/// a goodbye instead of the Challenge, that is Closed, and the next connection goes to another
/// process.
[[gnu::noinline]] Status bytesAfterHelloAck(protocol::FrameDecoder& decoder) {
    auto next = decoder.nextView();
    if (next && next.value() && protocol::isGoodbye(*next.value()) && decoder.buffered() == 0) {
        return {ErrorCode::Closed, "daemon is stopping (goodbye after HelloAck)"};
    }
    return {ErrorCode::ProtocolError, "bytes after the HelloAck"};
}

/// The next handshake frame, of type `want`, read within `deadline`. An Error frame becomes a
/// failure: Closed for ShuttingDown (a draining daemon took the connection from the backlog: try
/// the next one), ProtocolError for a refusal; so does a frame of any other type.
Result<protocol::Frame> readHandshakeFrame(int fd, protocol::FrameDecoder& decoder,
                                           const ConnectParams& params, Deadline deadline,
                                           FrameType want, const char* wantName) {
    for (;;) {
        auto frame = decoder.nextView();
        if (!frame) {
            return Status(ErrorCode::ProtocolError,
                          std::string("bad ") + wantName + ": " + frame.status().message());
        }
        if (!frame.value()) {
            // Read in place into the decoder's heap buffer: a buffer on the stack would touch a
            // page of every httpd worker thread that ever opens a connection, and those pages
            // stay resident for the child's life (docs/performance.md "Memory").
            auto n = common::readSome(fd, decoder.prepare(kHelloReadSize), deadline);
            if (!n) {
                return handshakeReadFailed(n.status(), params, wantName);
            }
            decoder.commit(n.value());
            continue;
        }
        const protocol::FrameView& f = *frame.value();
        if (f.type != want) {
            return unexpectedHandshakeFrame(f, wantName);
        }
        return protocol::Frame{.type = f.type, .flags = f.flags, .payload = std::string(f.payload)};
    }
}

/// Answers the daemon's Challenge with a Hello that proves this child holds the group's secret,
/// and waits for HelloAck; the daemon pid on success. The parent's socket accepts connections
/// even while no daemon can take them (they wait in its backlog), so the Challenge is the moment
/// a daemon process really took the connection: `deadline` bounds that wait.
Result<std::uint32_t> handshake(int fd, const ConnectParams& params, Deadline deadline) {
    // On the heap, like the relay's (relay.cpp): the handshake runs deep in a request.
    const auto decoder = std::make_unique<protocol::FrameDecoder>();
    auto first =
        readHandshakeFrame(fd, *decoder, params, deadline, FrameType::Challenge, "Challenge");
    if (!first) {
        return first.status();
    }
    auto challenge = protocol::decodeChallenge(first->payload);
    if (!challenge) {
        return Status(ErrorCode::ProtocolError, "bad Challenge: " + challenge.status().message());
    }
    const protocol::Hello hello{
        .managerPid = params.managerPid,
        .generation = params.generation,
        .proof = protocol::helloProof(params.secret, params.group, challenge->nonce,
                                      params.managerPid, params.generation)};
    std::string out;
    protocol::appendFrame(out, FrameType::Hello, 0, protocol::encodeHello(hello));
    if (Status s = common::writeFully(fd, out, deadline); !s) {
        return Status(s.code(), "sending Hello: " + s.message());
    }
    auto second =
        readHandshakeFrame(fd, *decoder, params, deadline, FrameType::HelloAck, "HelloAck");
    if (!second) {
        return second.status();
    }
    auto ack = protocol::decodeHelloAck(second->payload);
    if (!ack) {
        return Status(ErrorCode::ProtocolError, "bad HelloAck: " + ack.status().message());
    }
    if (ack->daemonPid != challenge->daemonPid) {
        return Status(ErrorCode::ProtocolError, "HelloAck does not match the Challenge");
    }
    if (decoder->buffered() != 0) {
        return bytesAfterHelloAck(*decoder);
    }
    return ack->daemonPid;
}

}  // namespace

Result<std::unique_ptr<DaemonConnection>> openSession(common::UniqueFd fd,
                                                      const ConnectParams& params,
                                                      Deadline deadline) {
    auto pid = handshake(fd.get(), params, deadline);
    if (!pid) {
        return pid.status();
    }
    return std::make_unique<DaemonConnection>(std::move(fd), std::string(params.socketPath),
                                              pid.value());
}

bool DaemonConnection::idleHealthy() const noexcept {
    pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    int rc = 0;
    do {
        rc = ::poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    return rc == 0;
}

Result<std::unique_ptr<DaemonConnection>> connectToDaemon(const ConnectParams& params) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (params.socketPath.empty() || params.socketPath.size() >= sizeof(addr.sun_path)) {
        return Status(ErrorCode::InvalidArgument, "socket path is empty or too long");
    }
    std::memcpy(addr.sun_path, params.socketPath.data(), params.socketPath.size());

    const Deadline deadline = Deadline::after(params.connectTimeout);
    auto pause = kConnectRetryFirst;
    for (;;) {
        common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) {
            return Status(ErrorCode::IoError, "socket: " + common::errnoText(errno));
        }
        if (Status s = common::applySocketBufferSizes(fd.get(), params.socketBuffers); !s) {
            return s;
        }
        Status failure;
        if (const int err = connectOnce(fd.get(), addr, deadline); err != 0) {
            const bool refusedForNow = err == ECONNREFUSED || err == EAGAIN || err == ETIMEDOUT;
            if (!refusedForNow) {
                return Status(err == ENOENT ? ErrorCode::NotFound : ErrorCode::IoError,
                              common::errnoText(err));
            }
            failure = Status(ErrorCode::Timeout, common::errnoText(err) + " after " +
                                                     durationText(params.connectTimeout));
        } else {
            auto conn = openSession(std::move(fd), params, Deadline::after(params.acceptTimeout));
            if (conn) {
                return conn;
            }
            // Closed: the daemon that accepted is stopping (graceful restart) or died; the
            // listening socket outlives it, so another daemon will take the next attempt.
            if (conn.status().code() != ErrorCode::Closed) {
                return conn.status();
            }
            failure = conn.status();
        }
        if (deadline.expired()) {
            return failure;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline.at() - common::Clock::now());
        std::this_thread::sleep_for(std::clamp(left, std::chrono::milliseconds(0), pause));
        pause = std::min(pause * 2, kConnectRetryMax);
    }
}

}  // namespace wsgid::apache
