// SPDX-License-Identifier: Apache-2.0
// Connection: serving one request on a worker (serve, finishRequest, timeOut, interrupt), the
// RequestIo the app sees, and the request's broken state. No httpd headers here.
#include <string>
#include <vector>

#include <sys/socket.h>

#include "daemon/connection.h"
#include "daemon/response_writer.h"
#include "protocol/request_flags.h"

namespace wsgid::daemon {

using common::Deadline;
using common::ErrorCode;
using common::LogLevel;
using common::Result;
using common::Status;
using protocol::FrameType;
using protocol::ResponseErrorCode;

namespace {

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

}  // namespace wsgid::daemon
