// SPDX-License-Identifier: Apache-2.0
// Connection: the daemon side of the session rules in docs/protocol.md. No httpd headers here.
#include "daemon/connection.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/duration_text.h"
#include "common/random.h"
#include "common/socket_io.h"
#include "daemon/response_writer.h"
#include "protocol/limits.h"
#include "protocol/request_flags.h"

namespace wsgid::daemon {

using common::Deadline;
using common::ErrorCode;
using common::LogLevel;
using common::Result;
using common::Status;
using protocol::Frame;
using protocol::FrameType;
using protocol::ResponseErrorCode;

namespace {

// Size of one read() from the socket into a buffer of our own (frames between requests, and a
// body the app left unread, which is discarded); lives on the stack of the I/O thread or worker.
// The body the app reads goes straight from the socket into the app's buffer instead.
constexpr std::size_t kReadBufferSize = std::size_t{64} * 1024;

/// The deadline of a read that must not wait (it has passed already): readSomeV then takes only
/// what the socket has, without a poll().
Deadline noWaitDeadline() noexcept {
    return Deadline(common::Clock::time_point::min());
}

std::string frameTypeName(FrameType type) {
    switch (type) {
        case FrameType::Hello:
            return "Hello";
        case FrameType::RequestHead:
            return "RequestHead";
        case FrameType::BodyChunk:
            return "BodyChunk";
        case FrameType::BodyEnd:
            return "BodyEnd";
        case FrameType::HelloAck:
            return "HelloAck";
        case FrameType::Start:
            return "Start";
        case FrameType::Body:
            return "Body";
        case FrameType::End:
            return "End";
        case FrameType::Error:
            return "Error";
        case FrameType::Challenge:
            return "Challenge";
        case FrameType::SendBody:
            return "SendBody";
        case FrameType::File:
            return "File";
    }
    return "type " + std::to_string(static_cast<int>(type));
}

ResponseErrorCode errorCodeFor(const python::CallOutcome& outcome) {
    switch (outcome.kind) {
        case python::CallOutcome::Kind::AppError:
            return ResponseErrorCode::AppError;
        case python::CallOutcome::Kind::ScriptLoadFailed:
            return ResponseErrorCode::ScriptLoadFailed;
        case python::CallOutcome::Kind::InvalidResponse:
            // The Python layer reports a short body against the app's own Content-Length as an
            // invalid response; the module maps the dedicated code differently in its log.
            if (outcome.message.find("Content-Length") != std::string::npos) {
                return ResponseErrorCode::ContentLengthMismatch;
            }
            return ResponseErrorCode::InvalidResponse;
        case python::CallOutcome::Kind::Completed:
        case python::CallOutcome::Kind::ClientGone:
            break;
    }
    return ResponseErrorCode::Internal;
}

// Releases the socket from the writer when serve() leaves, however it leaves.
class WriterRelease {
public:
    explicit WriterRelease(ResponseWriter& writer) noexcept : writer_(writer) {}
    WriterRelease(const WriterRelease&) = delete;
    WriterRelease& operator=(const WriterRelease&) = delete;
    WriterRelease(WriterRelease&&) = delete;
    WriterRelease& operator=(WriterRelease&&) = delete;
    ~WriterRelease() { writer_.abandon(); }

private:
    ResponseWriter& writer_;
};

python::WsgiRequest toWsgiRequest(protocol::RequestHead&& head) {
    python::WsgiRequest request;
    request.scriptFilename = std::move(head.scriptFilename);
    request.callableObject = std::move(head.callableObject);
    request.applicationGroup = std::move(head.applicationGroup);
    request.processGroup = std::move(head.processGroup);
    request.requestId = std::move(head.requestId);
    request.contentLength = head.contentLength;
    request.scriptReloading = protocol::scriptReloading(head);
    request.passFiles = protocol::passesFiles(head);
    request.environ = std::move(head.environ);
    return request;
}

}  // namespace

/// RequestIo over the connection; lives on the worker's stack for one Application::handle call.
class Connection::BodyIo final : public python::RequestIo {
public:
    explicit BodyIo(Connection& conn) noexcept : conn_(conn) {}

    Result<std::size_t> readBody(std::span<char> out) override { return conn_.readBody(out); }
    std::optional<Result<std::size_t>> tryReadBody(std::span<char> out) override {
        return conn_.tryReadBody(out);
    }
    Status writeStart(std::string_view status,
                      const std::vector<std::pair<std::string, std::string>>& headers) override {
        return conn_.writeStart(status, headers);
    }
    Status writeBody(std::string_view data) override { return conn_.writeBody(data); }
    Status writeLastBody(std::string_view data) override { return conn_.writeLastBody(data); }
    [[nodiscard]] bool canPassFiles() const noexcept override { return true; }
    Status writeFile(common::UniqueFd fd, std::uint64_t offset, std::uint64_t length) override {
        return conn_.writeFile(std::move(fd), offset, length);
    }
    std::optional<Status> tryWriteStart(
        std::string_view status, const std::vector<std::pair<std::string, std::string>>& headers,
        bool more) override {
        return conn_.tryWriteStart(status, headers, more);
    }
    std::optional<Status> tryWriteBody(std::string_view data, bool more) override {
        return conn_.tryWriteBody(data, more);
    }
    void interrupt() noexcept override { conn_.interrupt(); }

private:
    Connection& conn_;
};

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

Connection::Event Connection::greet() noexcept {
    try {
        ucred cred{};
        socklen_t len = sizeof(cred);
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            log_.log(
                LogLevel::Info, "WG0211",
                "cannot read the credentials of a new connection: " + common::errnoText(errno));
            return Event::Close;
        }
        peerPid_ = cred.pid;
        peerUid_ = cred.uid;
        if (config_.peerUid && cred.uid != *config_.peerUid) {
            return refuse(
                "it does not run as httpd's User (uid " + std::to_string(*config_.peerUid) + ")",
                {});
        }
        if (Status s = common::fillRandom(nonce_); !s) {
            log_.log(LogLevel::Critical, "WG0273", "cannot make a nonce: " + s.message());
            return Event::Close;
        }
        const std::string challenge = protocol::encodeChallenge(
            {.daemonPid = static_cast<std::uint32_t>(::getpid()), .nonce = nonce_});
        // 44 bytes into a socket nothing was written to yet: never waits on the peer.
        return sendControl(FrameType::Challenge, challenge) ? Event::NeedMore : Event::Close;
    } catch (...) {
        return Event::Close;
    }
}

void Connection::handshakeTimedOut() noexcept {
    try {
        if (config_.rejectedPeers == nullptr || config_.rejectedPeers->firstRejection(peerPid_)) {
            log_.log(LogLevel::Warning, "WG0274",
                     "dropped a connection from " + peerText() + ": no valid Hello within " +
                         common::durationText(kHandshakeTimeout));
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch)
        // The connection is dropped either way; only the log line is lost.
    }
}

std::string Connection::peerText() const {
    return "pid " + std::to_string(peerPid_) + " uid " + std::to_string(peerUid_);
}

Connection::Event Connection::refuse(std::string_view why, std::string_view answer) {
    if (config_.rejectedPeers == nullptr || config_.rejectedPeers->firstRejection(peerPid_)) {
        log_.log(LogLevel::Error, "WG0219",
                 "refused a connection from " + peerText() + ": " + std::string(why) +
                     "; not an httpd child of this server (further attempts by this process are "
                     "not logged)");
    }
    if (!answer.empty()) {
        // Says why to a module with a stale secret; tells an impostor nothing it did not know.
        (void)sendError(ResponseErrorCode::BadRequest, answer,
                        Deadline::after(kControlWriteTimeout));
    }
    return Event::Close;
}

Connection::Event Connection::handleHello(const Frame& frame) {
    if (frame.type != FrameType::Hello) {
        return refuse("its first frame was " + frameTypeName(frame.type) + ", not Hello",
                      "expected Hello");
    }
    auto hello = protocol::decodeHello(frame.payload);
    if (!hello) {
        return refuse("invalid Hello (" + hello.status().message() + ")", "invalid Hello");
    }
    const protocol::Hello& h = hello.value();
    if (h.managerPid != config_.managerPid) {
        return refuse("its Hello names manager pid " + std::to_string(h.managerPid) +
                          ", this server's is " + std::to_string(config_.managerPid),
                      "authentication failed");
    }
    const auto key =
        std::find_if(config_.secrets.begin(), config_.secrets.end(),
                     [&](const protocol::GroupSecret& s) { return s.generation == h.generation; });
    if (key == config_.secrets.end()) {
        if (!config_.secrets.empty() && h.generation > config_.secrets.back().generation) {
            // An httpd child of a newer generation met this daemon while it retires (it was
            // accepted from the shared backlog just before the stop): the module retries.
            log_.log(LogLevel::Info, "WG0271",
                     "Hello for generation " + std::to_string(h.generation) +
                         ", newer than this daemon's; it is retiring");
            (void)sendError(ResponseErrorCode::ShuttingDown, "daemon is stopping",
                            Deadline::after(kControlWriteTimeout));
            return Event::Close;
        }
        return refuse("its Hello names generation " + std::to_string(h.generation) +
                          ", which has no secret here",
                      "authentication failed");
    }
    const protocol::Proof want =
        protocol::helloProof(key->secret, config_.group, nonce_, h.managerPid, h.generation);
    if (!protocol::proofsEqual(want, h.proof)) {
        return refuse("its Hello carries a wrong proof", "authentication failed");
    }
    const std::string ack =
        protocol::encodeHelloAck({.daemonPid = static_cast<std::uint32_t>(::getpid())});
    if (!sendControl(FrameType::HelloAck, ack)) {
        return Event::Close;
    }
    state_ = State::Idle;
    return Event::NeedMore;
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

// ---- worker side ----------------------------------------------------------------------------

bool Connection::serve(Application& app, Worker& worker, ResponseWriter& writer,
                       const std::function<void()>& appDone) noexcept {
    try {
        if (!pending_) {
            log_.log(LogLevel::Critical, "WG0221", "serve() without a decoded request");
            return false;
        }
        const python::WsgiRequest request = toWsgiRequest(std::move(*pending_));
        pending_.reset();
        chunkLeft_ = 0;
        body_ = request.contentLength == 0 ? BodyState::None : BodyState::NotAsked;
        startSent_ = false;
        {
            const std::lock_guard lock(brokenMutex_);
            broken_.reset();
        }
        interrupted_.store(false);

        writer.begin(fd_.get(), config_.socketTimeout);
        writer_ = &writer;
        bool finished = false;
        {
            const WriterRelease release(writer);
            BodyIo io(*this);
            const python::CallOutcome outcome = app.handle(worker, request, io);
            appDone();
            finished = finishRequest(outcome);
        }
        writer_ = nullptr;
        const bool keep = finished && drainBody();
        requestId_.clear();
        if (keep) {
            state_ = State::Idle;
        }
        return keep;
    } catch (...) {
        writer_ = nullptr;
        log_.log(LogLevel::Error, "WG0222", "out of memory serving request " + requestId_);
        return false;
    }
}

bool Connection::timeOut(std::string_view message) noexcept {
    bool answered = false;
    {
        // try_lock: a start being written right now means the response is starting; then the
        // connection is only cut.
        const std::unique_lock lock(startMutex_, std::try_to_lock);
        if (lock.owns_lock() && !startSent_ && !isBroken()) {
            (void)fail(Status(ErrorCode::Timeout, std::string(message)));
            answered = sendError(ResponseErrorCode::RequestTimeout, message,
                                 Deadline::after(kControlWriteTimeout));
        }
    }
    interrupt();
    return answered;
}

void Connection::interrupt() noexcept {
    // shutdown(), not close(): the fd stays ours (no reuse by another open), while a poll() or
    // read()/write() blocked on it in another thread returns at once with EOF or EPIPE.
    interrupted_.store(true);
    (void)::shutdown(fd_.get(), SHUT_RDWR);
}

bool Connection::finishRequest(const python::CallOutcome& outcome) {
    if (interrupted_.load()) {
        // Shut down under an application thread (the Python layer logged WG0337).
        return false;
    }
    if (isBroken()) {
        // The connection failed under the app; what failed was logged where it happened.
        return false;
    }
    if (outcome.kind == python::CallOutcome::Kind::ClientGone) {
        return false;
    }
    Status sent;
    if (outcome.kind == python::CallOutcome::Kind::Completed) {
        if (startSent_) {
            sent = endResponse(FrameType::End, {});
        } else {
            log_.log(LogLevel::Error, "WG0223",
                     "request " + requestId_ + " completed without a response start");
            sent =
                endResponse(FrameType::Error,
                            protocol::encodeResponseError(
                                {.code = ResponseErrorCode::InvalidResponse,
                                 .message = "application returned without starting a response"}));
        }
    } else {
        std::string message = outcome.message;
        if (message.empty()) {
            message =
                "request failed (" + std::string(protocol::toString(errorCodeFor(outcome))) + ")";
        }
        sent = endResponse(FrameType::Error,
                           protocol::encodeResponseError(
                               {.code = errorCodeFor(outcome), .message = std::move(message)}));
    }
    return sent.isOk();
}

bool Connection::drainBody() {
    // Only a body the daemon asked for is on its way (docs/protocol.md "Sessions"). One deadline
    // for the whole drain: after End/Error the module sends at most what was in flight and then
    // BodyEnd (abandoned), so this is quick unless the module is stuck.
    const Deadline deadline = Deadline::after(config_.socketTimeout);
    char scratch[kReadBufferSize];
    while (body_ == BodyState::Streaming) {
        const BodyRead read = takeBody(scratch, deadline);
        if (!read.status.isOk()) {
            const ErrorCode code = read.status.code();
            if (code != ErrorCode::ProtocolError && code != ErrorCode::LimitExceeded) {
                log_.log(LogLevel::Info, "WG0224",
                         "request " + requestId_ +
                             ": discarding the rest of the body failed: " + read.status.message());
            }
            return false;
        }
    }
    return true;
}

bool Connection::isBroken() const noexcept {
    const std::lock_guard lock(brokenMutex_);
    return broken_.has_value();
}

std::optional<Status> Connection::brokenStatus() const {
    const std::lock_guard lock(brokenMutex_);
    return broken_;
}

Status Connection::fail(Status status) {
    const std::lock_guard lock(brokenMutex_);
    if (!broken_) {
        broken_ = status;
    }
    return status;
}

Result<std::size_t> Connection::readBody(std::span<char> out) noexcept {
    try {
        if (std::optional<Status> broken = brokenStatus()) {
            return *broken;
        }
        if (out.empty()) {
            return std::size_t{0};
        }
        if (body_ == BodyState::NotAsked) {
            if (Status s = askForBody(); !s) {
                return s;
            }
        }
        return bodyResult(takeBody(out, Deadline::after(config_.socketTimeout)));
    } catch (...) {
        return fail(Status(ErrorCode::Internal, "out of memory reading the request body"));
    }
}

std::optional<Result<std::size_t>> Connection::tryReadBody(std::span<char> out) noexcept {
    try {
        // SendBody is a write that may wait: readBody sends it.
        if (out.empty() || body_ == BodyState::NotAsked || isBroken()) {
            return std::nullopt;
        }
        const BodyRead read = takeBody(out, noWaitDeadline());
        if (read.got == 0 && read.status.code() == ErrorCode::Timeout) {
            return std::nullopt;  // nothing here yet: readBody waits for it
        }
        return bodyResult(read);
    } catch (...) {
        return fail(Status(ErrorCode::Internal, "out of memory reading the request body"));
    }
}

Connection::BodyRead Connection::takeBody(std::span<char> out, Deadline firstByte) {
    const Deadline noWait = noWaitDeadline();
    std::size_t got = 0;
    // Ends the call on a read's failure; a timeout after some bytes is no failure.
    const auto stop = [&got](Status status) {
        if (got != 0 && status.code() == ErrorCode::Timeout) {
            return BodyRead{.got = got, .status = Status::ok()};
        }
        return BodyRead{.got = got, .status = std::move(status)};
    };
    while (got < out.size()) {
        if (chunkLeft_ > 0) {
            const std::span<char> into =
                out.subspan(got, std::min<std::size_t>(chunkLeft_, out.size() - got));
            std::size_t n = decoder_.takeBuffered(into);
            if (n == 0) {
                // The rest of the payload is in the socket: read it straight into `out`, and
                // when all of it fits, the next frame's header with it (one read per frame).
                char header[protocol::kFrameHeaderSize];
                const iovec iov[2] = {{into.data(), into.size()}, {header, sizeof(header)}};
                const std::size_t parts = into.size() == chunkLeft_ ? 2 : 1;
                auto r = common::readSomeV(fd_.get(), std::span(iov, parts),
                                           got == 0 ? firstByte : noWait);
                if (!r) {
                    return stop(r.status());
                }
                n = std::min(r.value(), into.size());
                if (r.value() > n) {
                    decoder_.feed(std::string_view(header, r.value() - n));
                }
            }
            got += n;
            chunkLeft_ -= static_cast<std::uint32_t>(n);
            continue;
        }
        if (body_ != BodyState::Streaming) {
            break;
        }
        auto next = decoder_.nextHeader();
        if (!next) {
            log_.log(LogLevel::Error, "WG0213",
                     "malformed frame from the module, closing the connection: " +
                         next.status().message());
            return stop(next.status());
        }
        if (!next.value()) {
            // Only the header's missing bytes: the payload behind it goes straight to `out`.
            char header[protocol::kFrameHeaderSize];
            const iovec iov[1] = {{header, protocol::kFrameHeaderSize - decoder_.buffered()}};
            auto r = common::readSomeV(fd_.get(), iov, got == 0 ? firstByte : noWait);
            if (!r) {
                return stop(r.status());
            }
            decoder_.feed(std::string_view(header, r.value()));
            continue;
        }
        const protocol::FrameHeader& header = *next.value();
        if (header.type == FrameType::BodyChunk) {
            chunkLeft_ = header.length;
        } else if (header.type == FrameType::BodyEnd) {
            body_ = (header.flags & protocol::kBodyAbandoned) != 0 ? BodyState::Abandoned
                                                                   : BodyState::Ended;
        } else {
            log_.log(LogLevel::Error, "WG0216",
                     "unexpected " + frameTypeName(header.type) +
                         " frame in a request body, closing the connection");
            return stop(
                Status(ErrorCode::ProtocolError,
                       "unexpected " + frameTypeName(header.type) + " in the request body"));
        }
    }
    return {.got = got, .status = Status::ok()};
}

Result<std::size_t> Connection::bodyResult(const BodyRead& read) {
    if (!read.status.isOk()) {
        Status failed;
        const Status& s = read.status;
        if (s.code() == ErrorCode::Timeout) {
            log_.log(LogLevel::Warning, "WG0225",
                     "request " + requestId_ + ": timed out after " +
                         common::durationText(config_.socketTimeout) +
                         " waiting for the request body");
            failed = fail(Status(ErrorCode::Timeout, "timed out reading the request body"));
        } else {
            if (s.code() != ErrorCode::ProtocolError && s.code() != ErrorCode::LimitExceeded) {
                log_.log(
                    LogLevel::Info, "WG0226",
                    "request " + requestId_ + ": reading the request body failed: " + s.message());
            }
            failed = fail(Status(s.code(), "reading the request body failed: " + s.message()));
        }
        if (read.got != 0) {
            return read.got;  // the next call reports the failure
        }
        return failed;
    }
    if (read.got == 0 && body_ == BodyState::Abandoned) {
        return Status(ErrorCode::Closed, "request body abandoned by client");
    }
    return read.got;
}

Status Connection::askForBody() noexcept {
    Status s = writer_->control(FrameType::SendBody);
    if (!s) {
        return writeFailed(std::move(s));
    }
    body_ = BodyState::Streaming;
    return s;
}

Status Connection::writeStart(
    std::string_view status,
    const std::vector<std::pair<std::string, std::string>>& headers) noexcept {
    try {
        const std::lock_guard lock(startMutex_);
        if (std::optional<Status> broken = brokenStatus()) {
            return *broken;
        }
        if (startSent_) {
            return {ErrorCode::Internal, "response start sent twice"};
        }
        protocol::ResponseStart start;
        start.status.assign(status);
        start.headers = headers;
        const std::string payload = protocol::encodeResponseStart(start);
        if (payload.size() > protocol::kMaxResponseHeadBytes) {
            // The app's response is at fault, not the connection: it stays usable.
            return {ErrorCode::LimitExceeded, "response headers exceed " +
                                                  std::to_string(protocol::kMaxResponseHeadBytes) +
                                                  " bytes"};
        }
        Status s = writer_->write(FrameType::Start, payload);
        if (!s) {
            return writeFailed(std::move(s));
        }
        startSent_ = true;
        return s;
    } catch (...) {
        return fail(Status(ErrorCode::Internal, "out of memory writing the response start"));
    }
}

std::optional<Status> Connection::tryWriteStart(
    std::string_view status, const std::vector<std::pair<std::string, std::string>>& headers,
    bool more) noexcept {
    try {
        const std::lock_guard lock(startMutex_);
        if (startSent_ || isBroken()) {
            return std::nullopt;
        }
        protocol::ResponseStart start;
        start.status.assign(status);
        start.headers = headers;
        const std::string payload = protocol::encodeResponseStart(start);
        if (payload.size() > protocol::kMaxResponseHeadBytes) {
            return std::nullopt;
        }
        std::optional<Status> s = writer_->tryQueue(FrameType::Start, payload, more);
        if (!s || !s->isOk()) {
            return std::nullopt;
        }
        startSent_ = true;
        return s;
    } catch (...) {
        return std::nullopt;
    }
}

Status Connection::writeBody(std::string_view data) noexcept {
    try {
        if (std::optional<Status> broken = brokenStatus()) {
            return *broken;
        }
        Status s = writer_->write(FrameType::Body, data);
        if (!s) {
            return writeFailed(std::move(s));
        }
        return s;
    } catch (...) {
        return fail(Status(ErrorCode::Internal, "out of memory writing the response"));
    }
}

Status Connection::writeLastBody(std::string_view data) noexcept {
    try {
        if (std::optional<Status> broken = brokenStatus()) {
            return *broken;
        }
        // The End goes out with the block; finishRequest's End then writes nothing more.
        Status s = writer_->writeLast(FrameType::Body, data, FrameType::End);
        if (!s) {
            return writeFailed(std::move(s));
        }
        return s;
    } catch (...) {
        return fail(Status(ErrorCode::Internal, "out of memory writing the response"));
    }
}

Status Connection::writeFile(common::UniqueFd fd, std::uint64_t offset,
                             std::uint64_t length) noexcept {
    try {
        if (std::optional<Status> broken = brokenStatus()) {
            return *broken;
        }
        const std::string payload =
            protocol::encodeResponseFile({.offset = offset, .length = length});
        // Goes out with End (or Error), in one write: see ResponseWriter::holdWithDescriptor.
        Status s = writer_->holdWithDescriptor(FrameType::File, payload, std::move(fd));
        if (!s) {
            return writeFailed(std::move(s));
        }
        return s;
    } catch (...) {
        return fail(Status(ErrorCode::Internal, "out of memory writing the response"));
    }
}

std::optional<Status> Connection::tryWriteBody(std::string_view data, bool more) noexcept {
    if (isBroken()) {
        return std::nullopt;
    }
    std::optional<Status> s = writer_->tryQueue(FrameType::Body, data, more);
    if (!s || !s->isOk()) {
        return std::nullopt;
    }
    return s;
}

Status Connection::endResponse(FrameType type, std::string_view payload) {
    Status s = writer_->finish(type, payload);
    if (!s) {
        return writeFailed(std::move(s));
    }
    return s;
}

Status Connection::writeFailed(Status status) {
    if (!isBroken()) {
        log_.log(LogLevel::Info, "WG0227",
                 "request " + requestId_ + ": writing the response failed: " + status.message());
    }
    return fail(std::move(status));
}

}  // namespace wsgid::daemon
