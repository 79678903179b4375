// SPDX-License-Identifier: Apache-2.0
// The module's side of a daemon connection, for daemon tests: a temp dir with a listening Unix
// socket, and a client that speaks the protocol with the real encoders and common/socket_io.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace wsgid::daemon::testing {

/// Bound for every wait a test expects to succeed: generous for a loaded CI machine, and still a
/// bound, so a regression fails instead of hanging the suite. Never asserted on.
inline constexpr std::chrono::milliseconds kTestTimeout = std::chrono::seconds(10);

/// A short private directory under /tmp (Unix socket paths are capped at 108 bytes) holding a
/// listening socket. Removes both on destruction. Test thread only.
class SocketDir {
public:
    SocketDir();
    ~SocketDir();
    SocketDir(const SocketDir&) = delete;
    SocketDir& operator=(const SocketDir&) = delete;

    /// Creates, binds and listens; the caller owns the returned listening fd.
    common::UniqueFd listen();
    [[nodiscard]] const std::string& socketPath() const noexcept { return socketPath_; }

private:
    std::string dir_;
    std::string socketPath_;
};

/// What the daemon answered to one request.
struct Response {
    std::optional<protocol::ResponseStart> start;
    std::vector<std::string> bodyFrames;  ///< payload of each Body frame, in order
    bool ended = false;                   ///< End arrived
    bool bodyAsked = false;               ///< SendBody arrived (and the body was sent)
    std::optional<protocol::ResponseError> error;

    [[nodiscard]] std::string body() const;
};

/// The daemon group name the test servers are configured with.
inline constexpr std::string_view kTestGroup = "g";

/// A distinct secret per generation (tests configure servers with these).
protocol::Secret testSecret(std::uint32_t generation);

/// A RequestHead with the fields tests care about filled in.
protocol::RequestHead makeHead(std::string requestId, std::int64_t contentLength = -1);

/// One client connection. Every call is bounded by kTestTimeout. Test thread only.
class TestClient {
public:
    /// Connects to `path`; ok() is false when that fails.
    explicit TestClient(const std::string& path);

    [[nodiscard]] bool ok() const noexcept { return fd_.valid(); }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

    common::Status sendFrame(protocol::FrameType type, std::string_view payload = {},
                             std::uint16_t flags = 0);
    common::Status sendRaw(std::string_view bytes);

    /// Reads the daemon's Challenge (the first frame on every connection).
    common::Result<protocol::Challenge> challenge();

    /// Reads the Challenge, answers with a Hello signed by testSecret(generation) for kTestGroup
    /// and returns the HelloAck (or the error: an Error frame, EOF, ...).
    common::Result<protocol::HelloAck> hello(std::uint32_t managerPid,
                                             std::uint32_t generation = 1);

    /// After challenge(): sends `hello` as it is and returns the answer as hello() does.
    common::Result<protocol::HelloAck> sendHello(const protocol::Hello& hello);

    /// Sends the RequestHead (with `flags`), as the module does; the body in `chunks` and a
    /// BodyEnd (abandoned if asked) wait for the daemon's SendBody, which readResponse() answers.
    /// Requests may be sent back to back; their bodies are kept in order.
    common::Status sendRequest(const protocol::RequestHead& head,
                               const std::vector<std::string>& chunks, bool abandoned = false,
                               std::uint16_t flags = 0);

    /// The next frame from the daemon.
    common::Result<protocol::Frame> readFrame();

    /// Frames up to and including End or Error of the oldest request sent; a SendBody on the way
    /// is answered with that request's body, sent from another thread (as the module polls both
    /// directions, so a large body and a large response cannot block each other).
    common::Result<Response> readResponse();

    /// True when the daemon closed the connection (EOF, or a reset) with no further frame.
    bool closedByPeer();

    /// True when the server said goodbye to this idle connection: an Error{ShuttingDown} frame,
    /// then the close (what a stopping daemon does, so a module retries elsewhere).
    bool toldShuttingDownThenClosed();

private:
    /// The body of a request sent with sendRequest(), until the daemon asks for it.
    struct PendingBody {
        bool expected = true;  ///< the request has a body (CONTENT_LENGTH != 0)
        std::string bytes;     ///< its BodyChunk frames and the BodyEnd, encoded
    };

    common::UniqueFd fd_;
    protocol::FrameDecoder decoder_;
    std::deque<PendingBody> pending_;
};

}  // namespace wsgid::daemon::testing
