// SPDX-License-Identifier: Apache-2.0
// What the Python layer sees of one request: its description (WsgiRequest) and its I/O
// (RequestIo). The daemon implements RequestIo over a protocol connection; unit tests use a fake.
// No httpd and no protocol types here: python depends on common only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace wsgid::python {

/// One request as the WSGI layer needs it. Strings are raw bytes (latin-1 for Python).
struct WsgiRequest {
    std::string scriptFilename;
    std::string callableObject = "application";
    std::string applicationGroup;  ///< "" = main interpreter
    std::string processGroup;
    std::string requestId;
    std::int64_t contentLength = -1;  ///< -1 = unknown (chunked)
    std::vector<std::pair<std::string, std::string>> environ;
};

/// The request's connection. Called on the worker thread WITHOUT the GIL held: the Python layer
/// releases the GIL around every call. Implementations bound every wait with a deadline.
class RequestIo {
public:
    virtual ~RequestIo() = default;

    /// Appends up to `max` body bytes to `out`. Returns the count appended; 0 means the body
    /// ended. A non-ok status means the body cannot be read (client gone, timeout, abandoned):
    /// wsgi.input raises OSError with the message.
    virtual common::Result<std::size_t> readBody(std::string& out, std::size_t max) = 0;

    /// Sends the status line and headers (already validated). Called once, before writeBody.
    virtual common::Status writeStart(
        std::string_view status,
        const std::vector<std::pair<std::string, std::string>>& headers) = 0;

    /// Sends body bytes (any size; the implementation splits into frames). A non-ok status
    /// means the client side is gone: the app sees OSError from write()/its iteration stops.
    virtual common::Status writeBody(std::string_view data) = 0;
};

/// How a WSGI call ended; the daemon turns it into an End or Error frame.
struct CallOutcome {
    enum class Kind {
        Completed,         ///< start_response called, iterable exhausted, close() called
        AppError,          ///< the app raised (before or after start) - traceback already logged
        ScriptLoadFailed,  ///< script missing, raised on import, or no such callable
        InvalidResponse,   ///< bad status/headers/body type, or fewer bytes than Content-Length
        ClientGone,        ///< RequestIo reported the connection broken; nothing more to send
    };
    Kind kind = Kind::Completed;
    bool headersSent = false;  ///< whether writeStart succeeded (errors after it abort the client)
    std::string message;       ///< one line for the Error frame and the log
};

}  // namespace wsgid::python
