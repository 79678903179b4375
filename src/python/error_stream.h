// SPDX-License-Identifier: Apache-2.0
// The log-writing text stream: wsgi.errors of each request, and sys.stdout/sys.stderr of every
// interpreter. Line-buffered into the LogSink: one record per line, never half a line (so
// flush() does not cut one; see error_stream.cpp). Python objects only; call with the GIL.
#pragma once

#include "python/python.h"

#include <string>
#include <string_view>

#include "common/log_sink.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// Where one stream's lines go.
struct ErrorStreamTarget {
    common::LogSink* log = nullptr;  ///< must outlive the stream (the daemon's sink lives forever)
    std::string_view id;             ///< log id of every line, a string literal ("WG0310")
    std::string tag;                 ///< prefix "[tag] " on each line, e.g. the request id
    int fd = -1;                     ///< what fileno() returns (faulthandler wants one); -1 raises
    common::LogLevel level = common::LogLevel::Error;  ///< level of every line
};

/// Creates the stream type in the current interpreter (one per interpreter). Empty PyRef with a
/// Python exception set on failure. GIL held.
PyRef createErrorStreamType();

/// A new stream of `type` (from createErrorStreamType in the current interpreter). Empty PyRef
/// with a Python exception set on failure. GIL held.
PyRef newErrorStream(PyObject* type, ErrorStreamTarget target);

/// Logs the stream's unfinished last line, if any (at the end of a request, at shutdown).
/// `stream` must come from newErrorStream. GIL held; released while the sink writes.
void drainErrorStream(PyObject* stream) noexcept;

}  // namespace wsgid::python
