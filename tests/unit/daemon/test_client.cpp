// SPDX-License-Identifier: Apache-2.0
// The module's side of a daemon connection, for daemon tests.
#include "test_client.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <utility>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace wsgid::daemon::testing {

using common::Deadline;
using common::ErrorCode;
using common::Result;
using common::Status;
using protocol::Frame;
using protocol::FrameType;

namespace {

sockaddr_un addressOf(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    return addr;
}

}  // namespace

SocketDir::SocketDir() {
    char tmpl[] = "/tmp/wgd-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) {
        dir_ = tmpl;
        socketPath_ = dir_ + "/d.sock";
    }
}

SocketDir::~SocketDir() {
    if (!dir_.empty()) {
        ::unlink(socketPath_.c_str());
        ::rmdir(dir_.c_str());
    }
}

common::UniqueFd SocketDir::listen() {
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_un addr = addressOf(socketPath_);
    ::unlink(socketPath_.c_str());
    if (!fd || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd.get(), 64) != 0) {
        return {};
    }
    return fd;
}

std::string Response::body() const {
    std::string out;
    for (const auto& b : bodyFrames) {
        out += b;
    }
    return out;
}

protocol::RequestHead makeHead(std::string requestId, std::int64_t contentLength) {
    protocol::RequestHead head;
    head.scriptFilename = "/srv/app.wsgi";
    head.applicationGroup = "app";
    head.processGroup = "group";
    head.contentLength = contentLength;
    head.requestId = std::move(requestId);
    head.environ = {{"REQUEST_METHOD", "POST"}, {"PATH_INFO", "/echo"}};
    return head;
}

TestClient::TestClient(const std::string& path) {
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    const sockaddr_un addr = addressOf(path);
    if (!fd) {
        return;
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            return;
        }
        if (!common::waitWritable(fd.get(), Deadline::after(kTestTimeout))) {
            return;
        }
    }
    fd_ = std::move(fd);
}

Status TestClient::sendFrame(FrameType type, std::string_view payload, std::uint16_t flags) {
    std::string bytes;
    protocol::appendFrame(bytes, type, flags, payload);
    return sendRaw(bytes);
}

Status TestClient::sendRaw(std::string_view bytes) {
    return common::writeFully(fd_.get(), bytes, Deadline::after(kTestTimeout));
}

protocol::Secret testSecret(std::uint32_t generation) {
    protocol::Secret s{};
    for (std::size_t i = 0; i < s.size(); ++i) {
        s[i] = static_cast<std::uint8_t>(generation * 31 + i);
    }
    return s;
}

Result<protocol::Challenge> TestClient::challenge() {
    auto frame = readFrame();
    if (!frame) {
        return frame.status();
    }
    if (frame.value().type != FrameType::Challenge) {
        return Status(ErrorCode::ProtocolError, "expected Challenge");
    }
    return protocol::decodeChallenge(frame.value().payload);
}

Result<protocol::HelloAck> TestClient::hello(std::uint32_t managerPid, std::uint32_t generation) {
    auto c = challenge();
    if (!c) {
        return c.status();
    }
    return sendHello({.managerPid = managerPid,
                      .generation = generation,
                      .proof = protocol::helloProof(testSecret(generation), kTestGroup,
                                                    c.value().nonce, managerPid, generation)});
}

Result<protocol::HelloAck> TestClient::sendHello(const protocol::Hello& hello) {
    if (Status s = sendFrame(FrameType::Hello, protocol::encodeHello(hello)); !s) {
        return s;
    }
    auto frame = readFrame();
    if (!frame) {
        return frame.status();
    }
    if (frame.value().type == FrameType::Error) {
        auto err = protocol::decodeResponseError(frame.value().payload);
        return Status(ErrorCode::ProtocolError,
                      "Error frame: " + (err ? err.value().message : std::string("?")));
    }
    if (frame.value().type != FrameType::HelloAck) {
        return Status(ErrorCode::ProtocolError, "expected HelloAck");
    }
    return protocol::decodeHelloAck(frame.value().payload);
}

Status TestClient::sendRequest(const protocol::RequestHead& head,
                               const std::vector<std::string>& chunks, bool abandoned,
                               std::uint16_t flags) {
    PendingBody body{.expected = head.contentLength != 0, .bytes = {}};
    for (const auto& c : chunks) {
        protocol::appendFrame(body.bytes, FrameType::BodyChunk, 0, c);
    }
    protocol::appendFrame(body.bytes, FrameType::BodyEnd, abandoned ? protocol::kBodyAbandoned : 0,
                          {});
    pending_.push_back(std::move(body));
    std::string headBytes;
    protocol::appendFrame(headBytes, FrameType::RequestHead, flags,
                          protocol::encodeRequestHead(head));
    return sendRaw(headBytes);
}

Result<Frame> TestClient::readFrame() {
    const Deadline deadline = Deadline::after(kTestTimeout);
    for (;;) {
        auto next = decoder_.next();
        if (!next) {
            return next.status();
        }
        if (next.value()) {
            return std::move(*next.value());
        }
        char buf[64 * 1024];
        auto n = common::readSome(fd_.get(), buf, deadline);
        if (!n) {
            return n.status();
        }
        decoder_.feed(std::string_view(buf, n.value()));
    }
}

Result<Response> TestClient::readResponse() {
    Response r;
    PendingBody body;
    if (!pending_.empty()) {
        body = std::move(pending_.front());
        pending_.pop_front();
    }
    std::future<Status> sending;
    // Whatever way this returns, a body being sent has finished with the socket first.
    const auto done = [&sending](auto&& result) {
        if (sending.valid()) {
            (void)sending.get();
        }
        return std::forward<decltype(result)>(result);
    };
    for (;;) {
        auto frame = readFrame();
        if (!frame) {
            return done(Result<Response>(frame.status()));
        }
        Frame& f = frame.value();
        switch (f.type) {
            case FrameType::SendBody:
                if (!body.expected || r.bodyAsked) {
                    return done(Result<Response>(
                        Status(ErrorCode::ProtocolError, "SendBody for no pending body")));
                }
                r.bodyAsked = true;
                sending = std::async(std::launch::async, [this, bytes = std::move(body.bytes)] {
                    return sendRaw(bytes);
                });
                break;
            case FrameType::Start: {
                auto start = protocol::decodeResponseStart(f.payload);
                if (!start) {
                    return done(Result<Response>(start.status()));
                }
                r.start = std::move(start).value();
                break;
            }
            case FrameType::Body:
                r.bodyFrames.push_back(std::move(f.payload));
                break;
            case FrameType::End:
                r.ended = true;
                return done(Result<Response>(std::move(r)));
            case FrameType::Error: {
                auto err = protocol::decodeResponseError(f.payload);
                if (!err) {
                    return done(Result<Response>(err.status()));
                }
                r.error = std::move(err).value();
                return done(Result<Response>(std::move(r)));
            }
            default:
                return done(Result<Response>(
                    Status(ErrorCode::ProtocolError, "unexpected frame from the daemon")));
        }
    }
}

bool TestClient::closedByPeer() {
    auto frame = readFrame();
    return !frame && (frame.status().code() == ErrorCode::Closed ||
                      frame.status().message().find("reset") != std::string::npos);
}

bool TestClient::toldShuttingDownThenClosed() {
    auto frame = readFrame();
    if (!frame || frame.value().type != protocol::FrameType::Error) {
        return false;
    }
    auto error = protocol::decodeResponseError(frame.value().payload);
    return error && error->code == protocol::ResponseErrorCode::ShuttingDown && closedByPeer();
}

}  // namespace wsgid::daemon::testing
