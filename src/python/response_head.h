// SPDX-License-Identifier: Apache-2.0
// The status line and headers an app passes to start_response: checked per PEP 3333 and the HTTP
// syntax rules, and converted to latin-1 bytes. Pure checks: no request state. Call with the GIL
// held.
#pragma once

#include "python/python.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wsgid::python {

/// A response's headers as latin-1 bytes, in the app's order.
using ResponseHeaders = std::vector<std::pair<std::string, std::string>>;

/// Why a start_response argument was rejected: the exception type to raise and its message.
/// (cppcheck 2.10 misses reads through std::optional<Rejection>::operator->, hence the notes.)
struct Rejection {
    // cppcheck-suppress unusedStructMember
    PyObject* type;
    // cppcheck-suppress unusedStructMember
    std::string message;
};

/// A str as latin-1 bytes into `out`; otherwise the rejection (`what` names the argument).
/// Leaves no Python exception set.
std::optional<Rejection> latin1Bytes(PyObject* value, const char* what, std::string& out);

/// start_response's `status` as a final status line ("<3 digits> <reason>", 200-599) into
/// `out`; otherwise the rejection. Leaves no Python exception set.
std::optional<Rejection> parseStatusLine(PyObject* status, std::string& out);

/// start_response's `response_headers` (a list of (name, value) str tuples) into `out`, and a
/// Content-Length header's value into `length`; otherwise the rejection of the first bad item
/// (`out` and `length` then hold what came before it). Leaves no Python exception set.
std::optional<Rejection> parseResponseHeaders(PyObject* headers, ResponseHeaders& out,
                                              std::optional<std::int64_t>& length);

}  // namespace wsgid::python
