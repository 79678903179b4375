// SPDX-License-Identifier: Apache-2.0
// Connection: the response frames on the worker side (Start, Body, File, then End or Error),
// through the worker's ResponseWriter. No httpd headers here.
#include <string>
#include <vector>

#include "daemon/connection.h"
#include "daemon/response_writer.h"
#include "protocol/limits.h"

namespace wsgid::daemon {

using common::ErrorCode;
using common::LogLevel;
using common::Status;
using protocol::FrameType;

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
