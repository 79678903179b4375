// SPDX-License-Identifier: Apache-2.0
// One connection from an httpd child to a daemon group: connecting (retry while the daemon side
// refuses for now) and the handshake (docs/protocol.md). No httpd calls, so this is unit-tested
// over sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/socket_buffers.h"
#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/handshake.h"

namespace wsgid::apache {

/// How long to keep retrying a connect that the daemon side refuses for now (ECONNREFUSED:
/// daemons restarting; EAGAIN: listen backlog full) when the group sets no connect-timeout.
/// mod_wsgi's default connect-timeout.
inline constexpr std::chrono::seconds kDefaultConnectTimeout{15};

/// Deadline for each wait on a daemon connection when the caller gives none: httpd's default
/// Timeout (the handler passes socket-timeout= or the server's Timeout).
inline constexpr std::chrono::seconds kDefaultIoTimeout{60};

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
    /// Total time to keep retrying connect() while it is refused (ECONNREFUSED: no listener;
    /// EAGAIN: the listen backlog is full): mod_wsgi's connect-timeout.
    std::chrono::milliseconds connectTimeout = kDefaultConnectTimeout;
    /// How long a connection may then wait in the socket's backlog for a daemon process to take
    /// it (a process takes one only while it has a worker free for it): what is left of the
    /// request's queue-timeout, or the I/O timeout without one.
    std::chrono::milliseconds acceptTimeout = kDefaultIoTimeout;
    /// Names acceptTimeout in messages ("queue-timeout", "socket-timeout").
    std::string_view acceptTimeoutName = "socket-timeout";
    /// Deadline for every read or write after the handshake.
    std::chrono::milliseconds ioTimeout = kDefaultIoTimeout;
    /// The daemon group's name, manager pid, generation and that generation's secret: what the
    /// Hello's proof is made of (DaemonGroup and GroupRegistry hold them in httpd children).
    std::string_view group{};
    std::uint32_t managerPid = 0;
    std::uint32_t generation = 0;
    protocol::Secret secret{};
    /// SO_SNDBUF / SO_RCVBUF of the new socket (receive-buffer-size= and send-buffer-size=:
    /// the module sends what the daemon receives); zeros leave the kernel's defaults.
    common::SocketBufferSizes socketBuffers{};
};

/// Opens a new connection: non-blocking connect with short sleeps while the daemon side refuses
/// (up to connectTimeout), then the handshake (Challenge, Hello with its proof, HelloAck), whose
/// Challenge may take up to acceptTimeout to come. ENOENT, EACCES and other errors fail at once.
/// The message says what failed ("Connection refused after 15s"), without the path or group;
/// a Timeout status means no daemon process took the connection in time.
common::Result<std::unique_ptr<DaemonConnection>> connectToDaemon(const ConnectParams& params);

/// The handshake on a connected socket `fd` (what connectToDaemon does once connect() succeeded;
/// the fuzz target drives it over a socketpair): waits for the Challenge until `deadline`,
/// answers with the Hello, checks the HelloAck. Closed when the daemon that took the connection is
/// stopping (connect again), ProtocolError when it refused or broke the handshake.
common::Result<std::unique_ptr<DaemonConnection>> openSession(common::UniqueFd fd,
                                                              const ConnectParams& params,
                                                              common::Deadline deadline);

}  // namespace wsgid::apache
