// SPDX-License-Identifier: Apache-2.0
// Connection: one persistent module connection on the daemon side. The thread that takes its
// readiness (an idle worker, or the I/O thread while every worker is busy) decodes frames up to a
// complete RequestHead; a worker then runs that request through an Application and writes the
// response frames (docs/protocol.md "Sessions"). No httpd headers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "common/log_sink.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "daemon/application.h"
#include "daemon/rejected_peers.h"
#include "protocol/daemon_args.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace wsgid::daemon {

class ResponseWriter;

/// Per-operation timeout of a worker's socket I/O: waiting for the next BodyChunk, or for the
/// module to take response bytes. 300 s is httpd's Timeout as Debian ships it (apache2.conf), which
/// is also what mod_wsgi's socket-timeout defaults to; the module gives up on its side then too.
inline constexpr std::chrono::milliseconds kSocketTimeout = std::chrono::seconds(300);

/// How long the I/O thread waits to write a HelloAck or an Error. Those are a few dozen bytes into
/// a socket the module is not sending a response on, so they fit its buffer at once; the bound only
/// keeps one broken peer from stalling the thread that serves every other connection.
inline constexpr std::chrono::milliseconds kControlWriteTimeout = std::chrono::seconds(1);

/// Most bytes read from one connection per readiness event, so one fast sender cannot starve the
/// others; epoll reports the connection again if more is waiting.
inline constexpr std::size_t kMaxReadPerWakeup = std::size_t{256} * 1024;

/// How long a new connection may take to answer the Challenge with a valid Hello. An httpd child
/// answers within microseconds; the bound only decides how long a peer that connects and stays
/// silent (or never reads) holds a descriptor of this daemon.
inline constexpr std::chrono::milliseconds kHandshakeTimeout = std::chrono::seconds(2);

/// Settings shared by every connection of a Server.
struct ConnectionConfig {
    /// Hello.managerPid must equal this (the httpd parent's pid).
    std::uint32_t managerPid = 0;
    /// The daemon group's name, part of every proof.
    std::string group;
    /// Keys of the accepted proofs by generation, newest last (protocol::DaemonArgs::secrets).
    /// Empty: no Hello is ever accepted.
    std::vector<protocol::GroupSecret> secrets;
    /// Only peers running as this uid (httpd's User) are served; std::nullopt accepts any uid
    /// (tests). Checked with SO_PEERCRED before the Challenge.
    std::optional<uid_t> peerUid;
    /// Where refused peers are remembered for log-once; owned by the Server (I/O thread only).
    /// nullptr logs every refusal.
    RejectedPeers* rejectedPeers = nullptr;
    /// See kSocketTimeout; tests shorten it.
    std::chrono::milliseconds socketTimeout = kSocketTimeout;
};

/// One accepted connection. Owned by exactly one thread at a time: the Server's idle set while it
/// waits, then the thread that took its readiness, the request queue if every worker is busy, and
/// one worker while a request runs. The fd is non-blocking.
class Connection {
public:
    /// What the owner does next with the connection.
    enum class Event {
        NeedMore,      ///< wait for more bytes (re-arm epoll)
        RequestReady,  ///< a RequestHead is decoded: queue the connection for a worker
        Close,         ///< drop it (peer EOF, protocol error, I/O failure)
    };

    /// `config` and `log` must outlive the connection (the Server owns both). `serial` tells
    /// connections apart after one is freed and another gets its address (the Server's handshake
    /// deadlines).
    Connection(common::UniqueFd fd, const ConnectionConfig& config, common::LogSink& log,
               std::uint64_t serial = 0) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&&) = delete;
    Connection& operator=(Connection&&) = delete;
    ~Connection();

    /// The socket, owned by the connection (for epoll registration).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

    /// I/O thread, right after accept(): checks the peer's uid (SO_PEERCRED) and sends the
    /// Challenge. NeedMore: wait for the Hello (within kHandshakeTimeout); Close: refused.
    Event greet() noexcept;

    /// True once the peer proved it is an httpd child of this server (its Hello held).
    [[nodiscard]] bool authenticated() const noexcept { return state_ != State::AwaitHello; }

    /// Drops a connection whose handshake did not finish in time; logs the peer.
    void handshakeTimedOut() noexcept;

    /// The thread that took the readiness event (an idle worker, or the I/O thread while every
    /// worker is busy): reads what the socket has (at most kMaxReadPerWakeup) and processes the
    /// whole frames buffered so far (Hello, RequestHead, the body of a rejected request).
    Event onReadable() noexcept;

    /// Processes frames already buffered without reading: after a request finished, or after a
    /// request was rejected. A RequestHead already buffered yields RequestReady at once.
    Event processBuffered() noexcept;

    /// Refuses the decoded request (busy, queue full, shutting down): sends Error{code, message}.
    /// Nothing of its body was sent (the module waits for SendBody), so the connection is idle
    /// again at once. Returns NeedMore or Close.
    Event rejectRequest(protocol::ResponseErrorCode code, std::string_view message) noexcept;

    /// The decoded request's RequestHead said kHeadMayQueue: the module has no other process to
    /// try, so it waits here rather than being answered Busy.
    [[nodiscard]] bool mayQueue() const noexcept { return mayQueue_; }
    /// The pending request's kHeadMayReturn: it may be answered Busy while it waits in the queue.
    [[nodiscard]] bool mayReturn() const noexcept { return mayReturn_; }

    /// The decoded request is the first this connection carries: the module connected for it,
    /// and this process accepted the connection only while it had a worker free for it.
    [[nodiscard]] bool firstRequest() const noexcept { return requestsSeen_ == 1; }

    /// No request has been decoded on this connection yet.
    [[nodiscard]] bool unused() const noexcept { return requestsSeen_ == 0; }

    /// When httpd received the decoded request (RequestHead::receivedAtUs), for queue-timeout.
    [[nodiscard]] std::int64_t receivedAtUs() const noexcept { return receivedAtUs_; }

    /// True when the module has hung up (EOF or error pending on the socket) since the request was
    /// decoded: it gave up waiting, so the request must not run. Never blocks.
    [[nodiscard]] bool peerGone() const noexcept;

    /// When the decoded request was queued for a worker (set by the Server).
    [[nodiscard]] common::Clock::time_point queuedAt() const noexcept { return queuedAt_; }
    void setQueuedAt(common::Clock::time_point at) noexcept { queuedAt_ = at; }

    /// I/O thread, while the daemon stops: tells the module that this idle connection is going
    /// away before it is closed (an unsolicited Error{ShuttingDown}). A module that wrote a
    /// RequestHead meanwhile reads this as the answer and retries elsewhere: the request was
    /// never started. Bounded by kControlWriteTimeout.
    void sayShuttingDown() noexcept;

    /// Worker thread: runs the decoded request through `app` with the worker's state, writes End
    /// or Error, and discards the rest of the request body. True when the connection may carry
    /// another request (call processBuffered() next); false when it must be closed. The response
    /// goes out through `writer`, the calling worker thread's own; when serve() returns, that
    /// writer no longer uses the socket. `appDone` runs once, when the app has returned and
    /// before End or Error goes out: the module may send its next request as soon as it reads
    /// End, and the worker's place must already be free by then (docs/architecture.md,
    /// "Admission"). It does not run when serve() fails before the app is called.
    bool serve(Application& app, Worker& worker, ResponseWriter& writer,
               const std::function<void()>& appDone) noexcept;

    [[nodiscard]] std::uint64_t serial() const noexcept { return serial_; }

    /// The request id of the decoded request (for log lines), empty when there is none.
    [[nodiscard]] const std::string& requestId() const noexcept { return requestId_; }

    /// Any thread but the worker's (request-timeout, supervisor.h): ends the running request from
    /// outside. Before its response started, answers Error{RequestTimeout, message} (504 at the
    /// module); then, or when the response had started (the module aborts the client
    /// connection), shuts the connection down. The app's further I/O on it fails, and it carries
    /// no other request. Blocks at most kControlWriteTimeout. True when the 504 went out.
    bool timeOut(std::string_view message) noexcept;

private:
    class BodyIo;

    enum class State {
        AwaitHello,      ///< the first frame must be Hello
        Idle,            ///< between requests: the next frame must be RequestHead
        RequestPending,  ///< a RequestHead is decoded and waits for (or runs in) a worker
    };

    /// Where the request body stands. The module sends it only after SendBody (docs/protocol.md
    /// "Sessions"), so a request the app never reads from costs no body transfer at all.
    enum class BodyState {
        None,       ///< the request has no body (CONTENT_LENGTH 0)
        NotAsked,   ///< the request has a body; SendBody not sent yet
        Streaming,  ///< SendBody sent; BodyChunk frames arrive until BodyEnd
        Ended,      ///< BodyEnd seen
        Abandoned,  ///< BodyEnd with kBodyAbandoned seen: the module stopped early
    };

    Event handleFrame(protocol::Frame& frame);
    Event handleHello(const protocol::Frame& frame);
    /// Logs (once per peer pid) and answers a failed handshake; always Close.
    Event refuse(std::string_view why, std::string_view answer);
    [[nodiscard]] std::string peerText() const;
    bool sendControl(protocol::FrameType type, std::string_view payload) noexcept;
    /// Writes one frame; false (logged) when the peer is gone or the deadline passes.
    bool sendFrame(protocol::FrameType type, std::string_view payload,
                   common::Deadline deadline) noexcept;
    bool sendError(protocol::ResponseErrorCode code, std::string_view message,
                   common::Deadline deadline) noexcept;

    // Worker side (Deadline-bounded, blocking on the non-blocking fd through common/socket_io).
    // The helpers without noexcept may throw only std::bad_alloc; serve() and the RequestIo
    // entry points catch it.
    // python::RequestIo::readBody and tryReadBody.
    common::Result<std::size_t> readBody(std::span<char> out) noexcept;
    std::optional<common::Result<std::size_t>> tryReadBody(std::span<char> out) noexcept;
    /// What takeBody got: `got` bytes, then `status` (ok; Timeout when `got` is 0 and nothing came
    /// by the deadline; or the failure that stopped it, which the next call meets again).
    struct BodyRead {
        std::size_t got = 0;
        common::Status status;
    };
    /// The body reader under readBody, tryReadBody and drainBody: copies body bytes into `out`,
    /// a BodyChunk's payload straight from the socket (docs/architecture.md "The request body"),
    /// waiting until `firstByte` for the first byte and never for later ones. Stops at the body's
    /// end (body_ leaves Streaming). Logs malformed frames (WG0213, WG0216); nothing else.
    BodyRead takeBody(std::span<char> out, common::Deadline firstByte);
    /// takeBody's result as readBody returns it: a failure is logged and breaks the connection
    /// (reported now, or by the next call when bytes came before it).
    common::Result<std::size_t> bodyResult(const BodyRead& read);
    common::Status writeStart(
        std::string_view status,
        const std::vector<std::pair<std::string, std::string>>& headers) noexcept;
    common::Status writeBody(std::string_view data) noexcept;
    // The last body bytes of a completed response, with the End (python::RequestIo).
    common::Status writeLastBody(std::string_view data) noexcept;
    // A File frame with `fd` attached (python::RequestIo::writeFile).
    common::Status writeFile(common::UniqueFd fd, std::uint64_t offset,
                             std::uint64_t length) noexcept;
    // The same without blocking, with the GIL held: std::nullopt when the caller must use the
    // blocking call (back-pressure, a large block, or a failure that call reports and logs).
    // `more`: see python::RequestIo::tryWriteStart.
    std::optional<common::Status> tryWriteStart(
        std::string_view status, const std::vector<std::pair<std::string, std::string>>& headers,
        bool more) noexcept;
    std::optional<common::Status> tryWriteBody(std::string_view data, bool more) noexcept;
    // RequestIo::interrupt, from the worker while an app thread may be blocked on the socket.
    void interrupt() noexcept;
    common::Status endResponse(protocol::FrameType type, std::string_view payload);
    common::Status writeFailed(common::Status status);
    // broken_ under its mutex: the body is read and the response written by different threads.
    [[nodiscard]] bool isBroken() const noexcept;
    [[nodiscard]] std::optional<common::Status> brokenStatus() const;
    common::Status fail(common::Status status);
    /// Sends SendBody once, when the app first wants body bytes.
    common::Status askForBody() noexcept;
    bool finishRequest(const python::CallOutcome& outcome);
    bool drainBody();

    common::UniqueFd fd_;
    const ConnectionConfig& config_;
    common::LogSink& log_;
    const std::uint64_t serial_;
    protocol::FrameDecoder decoder_;
    State state_ = State::AwaitHello;
    protocol::Nonce nonce_{};  // what the peer's Hello must sign
    pid_t peerPid_ = 0;        // SO_PEERCRED at accept, for log lines
    uid_t peerUid_ = 0;

    // The request between decode and serve(); then its per-request state.
    std::optional<protocol::RequestHead> pending_;
    std::string requestId_;
    bool mayReturn_ = false;                // the pending RequestHead's kHeadMayReturn flag
    bool mayQueue_ = false;                 // the pending RequestHead's kHeadMayQueue flag
    std::int64_t receivedAtUs_ = 0;         // the pending RequestHead's receivedAtUs
    std::uint64_t requestsSeen_ = 0;        // RequestHeads decoded on this connection
    common::Clock::time_point queuedAt_{};  // when the pending request was queued
    // Payload bytes of the current BodyChunk not yet handed out: in decoder_'s buffer first,
    // then in the socket. Reading thread only, as body_.
    std::uint32_t chunkLeft_ = 0;
    BodyState body_ = BodyState::None;  // worker side, with the reading thread
    bool startSent_ = false;            // written under startMutex_
    // Held while the response start is written or queued, and by timeOut(), which so never
    // writes its Error into the middle of a start.
    std::mutex startMutex_;
    ResponseWriter* writer_ = nullptr;  // the worker thread's writer while serve() runs
    // First I/O or protocol failure during the request; guarded by brokenMutex_ (a reading and a
    // writing thread may both fail at once).
    mutable std::mutex brokenMutex_;
    std::optional<common::Status> broken_;
    std::atomic<bool> interrupted_{false};  // the socket was shut down under the request
};

}  // namespace wsgid::daemon
