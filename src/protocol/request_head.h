// SPDX-License-Identifier: Apache-2.0
// RequestHead: what the module tells the daemon about one request.
// Pure: no syscalls, no httpd, no Python.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace wsgid::protocol {

/// One CGI/WSGI environ entry. Values are raw bytes (latin-1 when shown to Python, PEP 3333).
using EnvEntry = std::pair<std::string, std::string>;

/// Everything the daemon needs to run one request. A request with a body (contentLength != 0)
/// sends it as BodyChunk frames and a BodyEnd only after the daemon asked with SendBody.
struct RequestHead {
    /// Absolute path of the WSGI script file to load.
    std::string scriptFilename;
    /// Name of the WSGI callable in the script ("application" by default).
    std::string callableObject = "application";
    /// Interpreter to run in: "" is the main interpreter (%{GLOBAL}), anything else names a
    /// sub-interpreter, created on first use.
    std::string applicationGroup;
    /// The daemon group this request was routed to (for mod_wsgi.process_group).
    std::string processGroup;
    /// CONTENT_LENGTH of the body, or -1 when unknown (chunked). The body frames are authoritative.
    std::int64_t contentLength = -1;
    /// When httpd received the request, in microseconds since the Unix epoch (r->request_time);
    /// 0 when unknown. queue-timeout is measured from it, as in mod_wsgi.
    std::int64_t receivedAtUs = 0;
    /// Request id (httpd's log id), for log lines on both sides.
    std::string requestId;
    /// CGI variables and HTTP_* headers, in order. wsgi.* keys are made by the daemon.
    std::vector<EnvEntry> environ;
};

/// Encodes the payload of a RequestHead frame.
std::string encodeRequestHead(const RequestHead& head);

/// Decodes a RequestHead payload; ProtocolError or LimitExceeded when malformed.
common::Result<RequestHead> decodeRequestHead(std::string_view payload);

}  // namespace wsgid::protocol
