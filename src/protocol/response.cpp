// SPDX-License-Identifier: Apache-2.0
// Start, File and Error frame payloads. Pure: no syscalls, no httpd, no Python.
#include "protocol/response.h"

#include "common/ascii.h"
#include "common/http_syntax.h"
#include "protocol/codec.h"
#include "protocol/limits.h"

namespace wsgid::protocol {

using common::ErrorCode;
using common::Result;
using common::Status;

int ResponseStart::statusCode() const noexcept {
    if (status.size() < 3) {
        return 0;
    }
    return (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
}

std::optional<std::int64_t> ResponseStart::contentLength() const noexcept {
    for (const auto& [name, value] : headers) {
        if (common::equalsIgnoreCase(name, "Content-Length")) {
            return common::parseContentLength(value);
        }
    }
    return std::nullopt;
}

std::string encodeResponseStart(const ResponseStart& start) {
    std::string out;
    std::size_t size = 8 + start.status.size();
    for (const auto& [k, v] : start.headers) {
        size += 8 + k.size() + v.size();
    }
    out.reserve(size);
    ByteWriter w(out);
    w.str(start.status);
    w.u32(static_cast<std::uint32_t>(start.headers.size()));
    for (const auto& [k, v] : start.headers) {
        w.str(k);
        w.str(v);
    }
    return out;
}

Result<ResponseStart> decodeResponseStart(std::string_view payload) {
    if (payload.size() > kMaxResponseHeadBytes) {
        return Status(ErrorCode::LimitExceeded, "response head too large");
    }
    ByteReader r(payload);
    ResponseStart start;
    std::string_view s;
    std::uint32_t count = 0;
    if (!r.str(s) || !r.u32(count)) {
        return Status(ErrorCode::ProtocolError, "malformed Start frame");
    }
    if (!common::isValidStatusLine(s)) {
        return Status(ErrorCode::ProtocolError, "invalid status line in Start frame");
    }
    start.status.assign(s);
    if (count > kMaxResponseHeaders) {
        return Status(ErrorCode::LimitExceeded, "too many response headers");
    }
    if (static_cast<std::size_t>(count) * 8 > r.remaining()) {
        return Status(ErrorCode::ProtocolError, "malformed Start frame");
    }
    start.headers.reserve(count);
    std::optional<std::int64_t> length;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view k;
        std::string_view v;
        if (!r.str(k) || !r.str(v)) {
            return Status(ErrorCode::ProtocolError, "malformed Start frame");
        }
        if (!common::isHttpToken(k) || !common::isSafeHeaderValue(v)) {
            return Status(ErrorCode::ProtocolError, "invalid header in Start frame");
        }
        if (common::equalsIgnoreCase(k, "Content-Length")) {
            const auto parsed = common::parseContentLength(v);
            if (!parsed || (length && *length != *parsed)) {
                return Status(ErrorCode::ProtocolError, "invalid Content-Length in Start frame");
            }
            length = parsed;
        }
        start.headers.emplace_back(std::string(k), std::string(v));
    }
    if (!r.done()) {
        return Status(ErrorCode::ProtocolError, "malformed Start frame");
    }
    return start;
}

std::string encodeResponseFile(const ResponseFile& file) {
    std::string out;
    out.reserve(kFilePayloadBytes);
    ByteWriter w(out);
    w.u64(file.offset);
    w.u64(file.length);
    return out;
}

Result<ResponseFile> decodeResponseFile(std::string_view payload) {
    ByteReader r(payload);
    ResponseFile file;
    if (!r.u64(file.offset) || !r.u64(file.length) || !r.done()) {
        return Status(ErrorCode::ProtocolError, "malformed File frame");
    }
    if (file.offset > kMaxFileRangeEnd || file.length > kMaxFileRangeEnd - file.offset) {
        return Status(ErrorCode::ProtocolError, "File frame range beyond 2^63-1");
    }
    return file;
}

std::string encodeResponseError(const ResponseError& error) {
    std::string out;
    ByteWriter w(out);
    w.u16(static_cast<std::uint16_t>(error.code));
    std::string_view msg = error.message;
    if (msg.size() > kMaxErrorMessage) {
        msg = msg.substr(0, kMaxErrorMessage);
    }
    w.str(msg);
    return out;
}

Result<ResponseError> decodeResponseError(std::string_view payload) {
    ByteReader r(payload);
    std::uint16_t code = 0;
    std::string_view msg;
    if (!r.u16(code) || !r.str(msg, kMaxErrorMessage) || !r.done()) {
        return Status(ErrorCode::ProtocolError, "malformed Error frame");
    }
    if (code < 1 || code > static_cast<std::uint16_t>(kLastResponseErrorCode)) {
        return Status(ErrorCode::ProtocolError, "unknown error code in Error frame");
    }
    return ResponseError{static_cast<ResponseErrorCode>(code), std::string(msg)};
}

bool isGoodbye(const FrameView& frame) {
    if (frame.type != FrameType::Error || !frame.first || !frame.lastPiece()) {
        return false;
    }
    const auto error = decodeResponseError(frame.payload);
    return error && error->code == ResponseErrorCode::ShuttingDown;
}

int httpStatusFor(ResponseErrorCode code) noexcept {
    switch (code) {
        case ResponseErrorCode::ShuttingDown:
        case ResponseErrorCode::Busy:
        case ResponseErrorCode::QueueTimeout:
            return 503;
        case ResponseErrorCode::BadRequest:
            return 400;
        case ResponseErrorCode::RequestTimeout:
            return 504;
        case ResponseErrorCode::AppError:
        case ResponseErrorCode::ScriptLoadFailed:
        case ResponseErrorCode::InvalidResponse:
        case ResponseErrorCode::ContentLengthMismatch:
        case ResponseErrorCode::Internal:
            return 500;
    }
    return 500;
}

std::string_view toString(ResponseErrorCode code) noexcept {
    switch (code) {
        case ResponseErrorCode::AppError:
            return "app-error";
        case ResponseErrorCode::ScriptLoadFailed:
            return "script-load-failed";
        case ResponseErrorCode::InvalidResponse:
            return "invalid-response";
        case ResponseErrorCode::BadRequest:
            return "bad-request";
        case ResponseErrorCode::ShuttingDown:
            return "shutting-down";
        case ResponseErrorCode::ContentLengthMismatch:
            return "content-length-mismatch";
        case ResponseErrorCode::Internal:
            return "internal";
        case ResponseErrorCode::Busy:
            return "busy";
        case ResponseErrorCode::QueueTimeout:
            return "queue-timeout";
        case ResponseErrorCode::RequestTimeout:
            return "request-timeout";
    }
    return "unknown";
}

}  // namespace wsgid::protocol
