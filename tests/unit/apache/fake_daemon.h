// SPDX-License-Identifier: Apache-2.0
// Test helpers for the module side of the wire protocol: a scripted fake daemon on the other end
// of a real socket, socket pairs, a short socket directory, a handshake server, and the client
// side of a relay (a body source and a recording response sink).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "apache/relay.h"
#include "common/descriptor_passing.h"
#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/request_head.h"
#include "protocol/response.h"
#include "support/fd_tools.h"

namespace wsgid::apache::test {

using common::Deadline;
using common::UniqueFd;
using protocol::Frame;
using protocol::FrameType;
using namespace std::chrono_literals;

/// Generous bound for the fake daemon's waits: only reached when the code under test hangs.
inline constexpr auto kTestDeadline = 10s;
/// The relay's I/O timeout in tests that do not test timeouts.
inline constexpr std::chrono::milliseconds kIo = 10s;
/// Relay options with kIo, for tests that do not test timeouts or queueing.
inline constexpr RelayOptions kRelay{.ioTimeout = kIo};

inline std::pair<UniqueFd, UniqueFd> socketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// The daemon end of a connection: blocking frame reads and writes with a deadline.
class FakeDaemon {
public:
    explicit FakeDaemon(UniqueFd fd) : fd_(std::move(fd)) {}

    /// The next frame, or nullopt on EOF/error/timeout.
    std::optional<Frame> readFrame() {
        const Deadline deadline = Deadline::after(kTestDeadline);
        for (;;) {
            auto f = decoder_.next();
            if (!f) {
                return std::nullopt;
            }
            if (f.value()) {
                return std::move(*f.value());
            }
            char buf[65536];
            auto n = common::readSome(fd_.get(), buf, deadline);
            if (!n) {
                return std::nullopt;
            }
            decoder_.feed(std::string_view(buf, n.value()));
        }
    }

    /// One request as the daemon saw it.
    struct Request {
        protocol::RequestHead head;
        std::uint16_t headFlags = 0xffff;  ///< the RequestHead frame's flags
        bool headOk = false;               ///< a valid RequestHead arrived
        std::string body;
        std::uint16_t bodyEndFlags = 0xffff;
        bool complete = false;  ///< BodyEnd arrived
    };
    /// Reads a RequestHead only.
    Request readHead() {
        Request req;
        auto head = readFrame();
        if (!head || head->type != FrameType::RequestHead) {
            return req;
        }
        auto decoded = protocol::decodeRequestHead(head->payload);
        if (!decoded) {
            return req;
        }
        req.head = std::move(decoded.value());
        req.headFlags = head->flags;
        req.headOk = true;
        return req;
    }
    /// Reads a RequestHead and, when the request has a body, asks for it (SendBody) and reads it
    /// up to BodyEnd, as a daemon whose app reads its input does.
    Request readRequest() {
        Request req = readHead();
        if (req.headOk && req.head.contentLength != 0) {
            askBody(req);
        }
        return req;
    }
    /// Sends SendBody, then reads the body up to BodyEnd.
    void askBody(Request& req) {
        send(FrameType::SendBody);
        readBody(req);
    }
    /// Reads body frames up to BodyEnd: the body and BodyEnd's flags.
    void readBody(Request& req) {
        for (;;) {
            auto f = readFrame();
            if (!f) {
                return;
            }
            if (f->type == FrameType::BodyChunk) {
                req.body += f->payload;
                continue;
            }
            if (f->type == FrameType::BodyEnd) {
                req.bodyEndFlags = f->flags;
                req.complete = true;
            }
            return;
        }
    }

    bool send(FrameType type, std::string_view payload = {}, std::uint16_t flags = 0) {
        std::string out;
        protocol::appendFrame(out, type, flags, payload);
        return sendRaw(out);
    }
    bool sendRaw(std::string_view bytes) {
        return common::writeFully(fd_.get(), bytes, Deadline::after(kTestDeadline)).isOk();
    }
    bool sendStart(std::string status = "200 OK",
                   std::vector<protocol::Header> headers = {{"Content-Type", "text/plain"}}) {
        return send(FrameType::Start,
                    protocol::encodeResponseStart(protocol::ResponseStart{
                        .status = std::move(status), .headers = std::move(headers)}));
    }
    /// A File frame with `descriptor` attached to its first byte, as the daemon sends it.
    bool sendFile(int descriptor, std::uint64_t offset, std::uint64_t length) {
        std::string out;
        protocol::appendFrame(out, FrameType::File, 0,
                              protocol::encodeResponseFile({.offset = offset, .length = length}));
        return sendWithDescriptor(out, descriptor);
    }
    /// Any bytes with `descriptor` attached to the first of them.
    bool sendWithDescriptor(std::string_view bytes, int descriptor) {
        return common::sendWithDescriptor(fd_.get(), bytes, descriptor,
                                          Deadline::after(kTestDeadline))
            .isOk();
    }
    bool sendError(protocol::ResponseErrorCode code, std::string message) {
        return send(FrameType::Error, protocol::encodeResponseError(protocol::ResponseError{
                                          .code = code, .message = std::move(message)}));
    }
    void close() { fd_.reset(); }
    [[nodiscard]] int fd() const { return fd_.get(); }

private:
    UniqueFd fd_;
    protocol::FrameDecoder decoder_;
};

/// A module connection (pid 4242) and the FakeDaemon at its other end.
struct RelayFixture {
    RelayFixture() {
        auto [a, b] = socketPair();
        conn = std::make_unique<DaemonConnection>(std::move(a), "/test.sock", 4242);
        daemon = std::make_unique<FakeDaemon>(std::move(b));
    }
    std::unique_ptr<DaemonConnection> conn;
    std::unique_ptr<FakeDaemon> daemon;
};

/// A short socket directory under /tmp (Unix socket paths are capped at 108 bytes).
class SocketDir {
public:
    SocketDir() {
        char tmpl[] = "/tmp/wg-dc-XXXXXX";
        const char* dir = ::mkdtemp(tmpl);
        EXPECT_NE(dir, nullptr);
        dir_ = dir != nullptr ? dir : "/tmp";
    }
    ~SocketDir() {
        for (const auto& p : paths_) {
            ::unlink(p.c_str());
        }
        ::rmdir(dir_.c_str());
    }
    SocketDir(const SocketDir&) = delete;
    SocketDir& operator=(const SocketDir&) = delete;

    std::string path(const std::string& name) {
        paths_.push_back(dir_ + "/" + name);
        return paths_.back();
    }

    /// A bound Unix socket; listening when `listen` is true.
    static UniqueFd bound(const std::string& path, bool listen) {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        if (listen) {
            EXPECT_EQ(::listen(fd.get(), 16), 0);
        }
        return fd;
    }

private:
    std::string dir_;
    std::vector<std::string> paths_;
};

/// The nonce the fake daemons send in their Challenge.
inline protocol::Nonce testNonce() {
    protocol::Nonce n{};
    n.fill(0x11);
    return n;
}

/// Sends a Challenge{pid, testNonce()} as a daemon does right after accept().
inline void sendChallenge(FakeDaemon& daemon, std::uint32_t pid) {
    daemon.send(FrameType::Challenge,
                protocol::encodeChallenge({.daemonPid = pid, .nonce = testNonce()}));
}

/// Accepts one connection on `listener`, sends the Challenge, reads the Hello and answers
/// HelloAck{pid}.
inline void serveHello(int listener, std::uint32_t pid, protocol::Hello* seen,
                       std::unique_ptr<FakeDaemon>* keep) {
    UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) {
        return;
    }
    auto daemon = std::make_unique<FakeDaemon>(std::move(conn));
    sendChallenge(*daemon, pid);
    auto hello = daemon->readFrame();
    if (!hello || hello->type != FrameType::Hello) {
        return;
    }
    if (auto h = protocol::decodeHello(hello->payload); h && seen != nullptr) {
        *seen = h.value();
    }
    daemon->send(FrameType::HelloAck, protocol::encodeHelloAck({.daemonPid = pid}));
    if (keep != nullptr) {
        *keep = std::move(daemon);
    }
}

/// Serves a fixed body in reads of at most `step` bytes; optionally fails after `failAfter`.
class StringSource final : public BodySource {
public:
    explicit StringSource(std::string body, std::size_t step = kBodyReadSize)
        : body_(std::move(body)), step_(step) {}
    common::Result<std::size_t> read(std::span<char> buf) override {
        ++reads_;
        if (failAfter_ && pos_ >= *failAfter_) {
            return common::Status(common::ErrorCode::IoError, "client went away");
        }
        const std::size_t n = std::min({buf.size(), step_, body_.size() - pos_});
        std::memcpy(buf.data(), body_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    std::optional<std::size_t> failAfter_;
    std::size_t pos_ = 0;
    int reads_ = 0;

private:
    std::string body_;
    std::size_t step_;
};

/// Records what the relay delivers; can be told to fail. Holds body() data as views, as the
/// httpd sink does for large blocks, until settle(), flush(), release(), end() or file(), and
/// fails the test if the relay changed the viewed bytes before then (ResponseSink::body).
class RecordingSink final : public ResponseSink {
public:
    RecordingSink() = default;
    RecordingSink(const RecordingSink&) = delete;
    RecordingSink& operator=(const RecordingSink&) = delete;
    RecordingSink(RecordingSink&&) = delete;
    RecordingSink& operator=(RecordingSink&&) = delete;
    ~RecordingSink() override {
        EXPECT_EQ(stale_, 0) << "the relay changed bytes a body() view was still held on";
    }

    common::Status start(protocol::ResponseStart&& s) override {
        status_ = s.status;
        headers_ = s.headers;
        return failStart_ ? common::Status(common::ErrorCode::Closed, "client gone")
                          : common::Status::ok();
    }
    common::Status body(std::string_view data) override {
        ++bodies_;
        largestBody_ = std::max(largestBody_, data.size());
        borrowed_.push_back({data, std::string(data)});
        return common::Status::ok();
    }
    /// Reads the range into the body (as httpd would send it) and closes the descriptor.
    common::Status file(UniqueFd fd, const protocol::ResponseFile& range) override {
        takeBorrowed();
        ++files_;
        held_ += testing::readRange(fd.get(), range.offset, range.length);
        return failFile_ ? common::Status(common::ErrorCode::Closed, "client gone")
                         : common::Status::ok();
    }
    common::Status flush() override {
        takeBorrowed();
        ++flushes_;
        flushedChunks_.push_back(held_);
        body_ += held_;
        held_.clear();
        return common::Status::ok();
    }
    /// Passes what is held on without a flush (response-buffer-size= not reached yet).
    common::Status release() override {
        takeBorrowed();
        ++releases_;
        body_ += held_;
        held_.clear();
        return common::Status::ok();
    }
    common::Status end() override {
        takeBorrowed();
        ended_ = true;
        body_ += held_;
        held_.clear();
        return common::Status::ok();
    }
    common::Status settle() override {
        takeBorrowed();
        return common::Status::ok();
    }
    /// Counts the calls that came while body() views were held, then settles.
    common::Status beforeRead() override {
        if (!borrowed_.empty()) {
            ++handOnsWithViews_;
        }
        return settle();
    }
    bool failStart_ = false;
    bool failFile_ = false;
    int files_ = 0;
    std::string status_;
    std::vector<protocol::Header> headers_;
    std::string body_;
    std::string held_;
    std::vector<std::string> flushedChunks_;
    int flushes_ = 0;
    int releases_ = 0;
    bool ended_ = false;
    int bodies_ = 0;               ///< body() calls
    int handOnsWithViews_ = 0;     ///< beforeRead() calls while body() views were held
    std::size_t largestBody_ = 0;  ///< the most bytes one body() call got

private:
    struct Borrowed {
        std::string_view view;  ///< what body() got
        std::string copy;       ///< its bytes then
    };
    void takeBorrowed() {
        for (const Borrowed& b : borrowed_) {
            if (b.view != b.copy) {
                ++stale_;
            }
            held_ += b.copy;
        }
        borrowed_.clear();
    }
    std::vector<Borrowed> borrowed_;
    int stale_ = 0;
};

inline protocol::RequestHead getHead() {
    protocol::RequestHead head;
    head.scriptFilename = "/srv/app.wsgi";
    head.processGroup = "g";
    head.contentLength = 0;
    head.requestId = "r1";
    head.environ = {{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/"}};
    return head;
}

}  // namespace wsgid::apache::test
