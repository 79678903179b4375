// SPDX-License-Identifier: Apache-2.0
// The module side of the wire protocol: connecting to a daemon group (retry, Hello/HelloAck), the
// per-child pool of idle connections, and the full-duplex relay of one request. No httpd calls:
// the client side is reached through BodySource/ResponseSink, so this is unit-tested over sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/handshake.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace wsgid::apache {

/// How long to keep retrying a connect that the daemon side refuses for now (ECONNREFUSED:
/// daemons restarting; EAGAIN: listen backlog full) when the group sets no connect-timeout.
/// mod_wsgi's default connect-timeout.
inline constexpr std::chrono::seconds kDefaultConnectTimeout{15};

/// Deadline for each wait on a daemon connection when the caller gives none: httpd's default
/// Timeout (the handler passes socket-timeout= or the server's Timeout).
inline constexpr std::chrono::seconds kDefaultIoTimeout{60};

/// Idle connections kept per socket path in one httpd child. A child never needs more idle
/// connections than requests it runs at once; 64 is httpd's default ThreadLimit, so the cap only
/// bites on unusual configurations and bounds the fds a child holds per daemon group.
inline constexpr std::size_t kMaxIdlePerPath = 64;

/// Largest request-body read from the client per BodyChunk frame: big enough to amortise frame
/// and syscall costs on uploads, small enough to bound memory per request (well under the
/// protocol's kMaxDataChunk).
inline constexpr std::size_t kBodyReadSize = std::size_t{64} * 1024;

/// One connection to a daemon group, past Hello/HelloAck. Owned by one request at a time, or by
/// the pool while idle. Not thread-safe.
class DaemonConnection {
public:
    /// Takes a connected socket that has completed Hello/HelloAck with daemon `daemonPid`.
    DaemonConnection(common::UniqueFd fd, std::string socketPath, std::uint32_t daemonPid)
        : fd_(std::move(fd)), socketPath_(std::move(socketPath)), daemonPid_(daemonPid) {}

    /// The socket, still owned by this object (closed with it).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The daemon group socket it was opened to: the pool key.
    [[nodiscard]] const std::string& socketPath() const noexcept { return socketPath_; }
    /// The daemon process at the other end (from HelloAck), for log lines.
    [[nodiscard]] std::uint32_t daemonPid() const noexcept { return daemonPid_; }
    /// True once the connection has carried a request (it came from the pool).
    [[nodiscard]] bool reused() const noexcept { return reused_; }
    /// Called by the pool when it hands the connection out again.
    void markReused() noexcept { reused_ = true; }

    /// An idle connection is healthy when nothing is readable: the daemon never speaks first, so
    /// readable means EOF (daemon gone or closed it) or garbage. Never blocks.
    [[nodiscard]] bool idleHealthy() const noexcept;

private:
    common::UniqueFd fd_;
    std::string socketPath_;
    std::uint32_t daemonPid_ = 0;
    bool reused_ = false;
};

/// Where and how to connect: one daemon group as seen by one request.
struct ConnectParams {
    /// The group's socket (DaemonGroup::socketPath); must outlive the connect call.
    std::string_view socketPath{};
    /// Total time to keep retrying ECONNREFUSED/EAGAIN and to wait for the HelloAck.
    std::chrono::milliseconds connectTimeout = kDefaultConnectTimeout;
    /// Deadline for every read or write after the handshake.
    std::chrono::milliseconds ioTimeout = kDefaultIoTimeout;
    /// The daemon group's name, manager pid, generation and that generation's secret: what the
    /// Hello's proof is made of (DaemonGroup and GroupRegistry hold them in httpd children).
    std::string_view group{};
    std::uint32_t managerPid = 0;
    std::uint32_t generation = 0;
    protocol::Secret secret{};
};

/// Opens a new connection: non-blocking connect with short sleeps while the daemon side refuses
/// (up to connectTimeout), then the handshake (Challenge, Hello with its proof, HelloAck). ENOENT,
/// EACCES and other errors fail at once. The message says what failed ("Connection refused after
/// 15s"), without the path or group.
common::Result<std::unique_ptr<DaemonConnection>> connectToDaemon(const ConnectParams& params);

/// Idle connections of one httpd child, per socket path. Thread-safe (event and worker MPMs run
/// handlers concurrently). Owned by pchild; connections still in use when it dies are closed by
/// their request.
class ConnectionPool {
public:
    /// An empty pool; connections are added by giveBack().
    ConnectionPool() = default;
    ~ConnectionPool() = default;
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;
    ConnectionPool(ConnectionPool&&) = delete;
    ConnectionPool& operator=(ConnectionPool&&) = delete;

    /// A healthy idle connection to `socketPath` (marked reused), or nullptr. Unhealthy ones met
    /// on the way are closed.
    std::unique_ptr<DaemonConnection> takeIdle(std::string_view socketPath);

    /// Keeps `conn` for a later request (closing it when kMaxIdlePerPath are already kept). Only
    /// for connections whose last request ended cleanly (RelayResult::reusable).
    void giveBack(std::unique_ptr<DaemonConnection> conn);

    /// takeIdle(), else connectToDaemon().
    common::Result<std::unique_ptr<DaemonConnection>> acquire(const ConnectParams& params);

    /// Idle connections kept for `socketPath` (for tests and the status page).
    [[nodiscard]] std::size_t idleCount(std::string_view socketPath) const;

private:
    mutable std::mutex mu_;
    /// Idle connections per socket path, most recently used last. Guarded by mu_.
    std::unordered_map<std::string, std::vector<std::unique_ptr<DaemonConnection>>> idle_;
};

/// The client's request body, as the relay pulls it. Request thread only.
class BodySource {
public:
    virtual ~BodySource() = default;
    /// Reads up to buf.size() bytes; 0 at the end of the body. May block (bounded by httpd's
    /// Timeout). An error means the body cannot be read (client gone, LimitRequestBody, ...).
    virtual common::Result<std::size_t> read(std::span<char> buf) = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    BodySource() = default;
    BodySource(const BodySource&) = default;
    BodySource& operator=(const BodySource&) = default;
    BodySource(BodySource&&) = default;
    BodySource& operator=(BodySource&&) = default;
};

/// The client's response, as the relay pushes it. Request thread only. Any error means the
/// client cannot be written to any more (it went away) and ends the relay.
class ResponseSink {
public:
    virtual ~ResponseSink() = default;
    /// The Start frame, already validated by decodeResponseStart.
    virtual common::Status start(protocol::ResponseStart&& start) = 0;
    /// Response bytes; may be held back until flush() or end().
    virtual common::Status body(std::string_view data) = 0;
    /// The daemon has nothing more for now: send what is held (coalescing everything that was
    /// readable at once into one write).
    virtual common::Status flush() = 0;
    /// The response is complete (End frame).
    virtual common::Status end() = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    ResponseSink() = default;
    ResponseSink(const ResponseSink&) = default;
    ResponseSink& operator=(const ResponseSink&) = default;
    ResponseSink(ResponseSink&&) = default;
    ResponseSink& operator=(ResponseSink&&) = default;
};

/// How a relay ended.
enum class RelayOutcome {
    Completed,         ///< Start, Body*, End: the sink got end()
    ErrorBeforeStart,  ///< an Error frame before Start: RelayResult::error says why
    FailedAfterStart,  ///< Error frame, broken connection, timeout or bad frame after Start
    Broken,            ///< the connection closed or failed before Start
    Timeout,           ///< the daemon did not answer within the I/O timeout before Start
    Malformed,         ///< a frame from the daemon violated the protocol before Start
    ClientBodyFailed,  ///< BodySource failed (the daemon got BodyEnd{abandoned})
    ClientGone,        ///< ResponseSink failed
    HeadTooLarge,      ///< the RequestHead exceeds the protocol limits; nothing was sent
};

/// The result of relayRequest().
struct RelayResult {
    RelayOutcome outcome = RelayOutcome::Broken;
    /// The Error frame, when the daemon sent one.
    std::optional<protocol::ResponseError> error;
    /// What went wrong, for the log (errno text, decoder message, ...).
    std::string detail;
    /// The BodySource or ResponseSink status for ClientBodyFailed/ClientGone.
    common::Status clientStatus;
    /// The sink got start() (so the status can no longer change).
    bool started = false;
    /// The connection ended in a clean state (End or an Error before Start, BodyEnd sent,
    /// nothing unexpected read) and may go back to the pool.
    bool reusable = false;
    /// The daemon cannot have started the request: a pooled connection that broke before it
    /// took the whole RequestHead, or Error{ShuttingDown} before any body byte was read. The
    /// caller may run the request again on a fresh connection.
    bool retryable = false;
};

/// Runs one request over `conn`: sends `head`, streams the body from `source` as BodyChunk frames
/// and relays response frames to `sink` at the same time, polling the daemon socket for both
/// directions so that an app answering before reading its input cannot deadlock (DESIGN.md
/// pitfall 10). Sends exactly one BodyEnd (abandoned when the response ended first or the client
/// body failed). Every wait on the daemon socket is bounded by `ioTimeout`. Request thread only.
RelayResult relayRequest(DaemonConnection& conn, const protocol::RequestHead& head,
                         BodySource& source, ResponseSink& sink,
                         std::chrono::milliseconds ioTimeout);

}  // namespace wsgid::apache
