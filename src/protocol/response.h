// SPDX-License-Identifier: Apache-2.0
// Response frames from the daemon: Start{status, headers}, File{offset, length} and
// Error{code, message}.
// Pure: no syscalls, no httpd, no Python.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "protocol/frame.h"

namespace wsgid::protocol {

/// One response header: name and value as latin-1 bytes.
using Header = std::pair<std::string, std::string>;

/// The Start frame: the status line the app passed to start_response, and its headers.
struct ResponseStart {
    std::string status;  ///< "200 OK"
    std::vector<Header> headers;

    /// The numeric status (first three digits). Only meaningful on a validated status.
    [[nodiscard]] int statusCode() const noexcept;
    /// The Content-Length header's value, when there is one. Only meaningful on a validated
    /// Start (where every Content-Length header is valid and they all agree).
    [[nodiscard]] std::optional<std::int64_t> contentLength() const noexcept;
};

std::string encodeResponseStart(const ResponseStart& start);

/// Decodes and validates: the status line must be valid (common::isValidStatusLine: 100-599 and
/// a safe reason phrase), header names tokens, values free of CR/LF/NUL
/// (common::isSafeHeaderValue), every Content-Length a valid number (common::parseContentLength)
/// and all of them equal, at most kMaxResponseHeaders headers in at most kMaxResponseHeadBytes.
/// Anything else is a ProtocolError or LimitExceeded, so nothing an app or a forged frame
/// smuggles past the daemon reaches the client. The module runs this on every Start it relays.
common::Result<ResponseStart> decodeResponseStart(std::string_view payload);

/// The File frame: the next `length` bytes of the response body are the bytes of the file whose
/// descriptor comes with the frame, from `offset` (docs/protocol.md "File frames").
struct ResponseFile {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

std::string encodeResponseFile(const ResponseFile& file);

/// Decodes a File payload: exactly kFilePayloadBytes, offset and length each at most
/// kMaxFileRangeEnd and so is their sum. Anything else is a ProtocolError.
common::Result<ResponseFile> decodeResponseFile(std::string_view payload);

/// Why a request failed, carried in an Error frame. Values are part of the wire format.
enum class ResponseErrorCode : std::uint16_t {
    AppError = 1,               ///< the application raised (traceback in the error log)
    ScriptLoadFailed = 2,       ///< the WSGI script could not be loaded, or has no such callable
    InvalidResponse = 3,        ///< the app's status, headers or body violated PEP 3333
    BadRequest = 4,             ///< the module sent something the daemon could not accept
    ShuttingDown = 5,           ///< the daemon is stopping and did not start the request
    ContentLengthMismatch = 6,  ///< the app sent fewer bytes than its own Content-Length
    Internal = 7,               ///< a daemon-side failure not caused by the app
    /// No worker of this process is free and the RequestHead did not say kHeadMayQueue: nothing of
    /// the request was consumed; the module tries another process of the group.
    Busy = 8,
    /// The request waited queue-timeout for a worker and was not run (503 with Retry-After).
    QueueTimeout = 9,
    /// The request ran longer than request-timeout and was cut off before its response started
    /// (504); its thread may still be running in the app.
    RequestTimeout = 10,
};

/// The highest code in use: decoders refuse anything above it.
inline constexpr ResponseErrorCode kLastResponseErrorCode = ResponseErrorCode::RequestTimeout;

/// The Error frame.
struct ResponseError {
    ResponseErrorCode code = ResponseErrorCode::Internal;
    std::string message;
};

/// Encodes an Error payload; messages longer than kMaxErrorMessage are truncated.
std::string encodeResponseError(const ResponseError& error);
common::Result<ResponseError> decodeResponseError(std::string_view payload);

/// Whether `frame` is a daemon's goodbye: a whole Error frame saying ShuttingDown, which a
/// draining daemon sends unasked before it closes an idle connection (docs/protocol.md).
[[nodiscard]] bool isGoodbye(const FrameView& frame);

/// The HTTP status the module answers with when the error arrives before any Start frame.
int httpStatusFor(ResponseErrorCode code) noexcept;

/// A short name for logs ("app-error").
std::string_view toString(ResponseErrorCode code) noexcept;

}  // namespace wsgid::protocol
