// SPDX-License-Identifier: Apache-2.0
// Connection: the request body on the worker side (docs/protocol.md "Sessions"): SendBody, the
// reads the app makes, and the drain of what it left unread. No httpd headers here.
#include <algorithm>

#include "common/duration_text.h"
#include "common/socket_io.h"
#include "daemon/connection.h"
#include "daemon/connection_impl.h"
#include "daemon/response_writer.h"
#include "protocol/limits.h"
#include "protocol/request_flags.h"

namespace wsgid::daemon {

using common::Deadline;
using common::ErrorCode;
using common::LogLevel;
using common::Result;
using common::Status;
using detail::frameTypeName;
using detail::kReadBufferSize;
using protocol::FrameType;

namespace {

/// The deadline of a read that must not wait (it has passed already): readSomeV then takes only
/// what the socket has, without a poll().
Deadline noWaitDeadline() noexcept {
    return Deadline(common::Clock::time_point::min());
}

}  // namespace

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

}  // namespace wsgid::daemon
