// SPDX-License-Identifier: Apache-2.0
// Python exceptions seen from C++: fetch, describe in one line, format a traceback, log it with
// an id. Everything here runs with the GIL held.
#pragma once

#include "python/python.h"

#include <string>
#include <string_view>
#include <vector>

#include "common/log_sink.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// A Python exception taken out of the thread's error indicator (so it is cleared), normalized.
/// Holds references: destroy with the GIL held.
struct PyErrorInfo {
    PyRef type;
    PyRef value;
    PyRef traceback;

    /// Whether an exception was pending when it was fetched.
    [[nodiscard]] bool present() const noexcept { return static_cast<bool>(type); }
    /// Whether the exception is an instance of `excType` (a class or tuple of classes).
    [[nodiscard]] bool matches(PyObject* excType) const noexcept;
};

/// Takes (and clears) the pending exception; empty when none is pending. GIL held.
PyErrorInfo fetchError() noexcept;

/// Puts an exception back as the pending one (for a slot returning nullptr). GIL held.
void restoreError(PyErrorInfo error) noexcept;

/// One line: "ValueError: bad value" (just the type name when the message is empty), control
/// bytes escaped. GIL held; never fails (an unprintable value gives "<unprintable ...>").
std::string describeError(const PyErrorInfo& error);

/// The traceback as text lines without newlines, as the interpreter would print it. GIL held;
/// falls back to describeError() when the traceback module fails.
std::vector<std::string> formatTraceback(const PyErrorInfo& error);

/// str(obj) as UTF-8 (undecodable code points backslash-escaped); "" and no pending error on
/// failure. GIL held.
std::string toUtf8(PyObject* obj);

/// Logs `headline` and the traceback lines, each line its own log record with the same id, at
/// Error level. Releases the GIL while the sink writes (the sink may block on a pipe).
/// GIL held on entry and on return.
void logError(common::LogSink& log, std::string_view id, const std::string& headline,
              const PyErrorInfo& error);

/// Logs `lines` (control bytes escaped) with the GIL released for the duration (GIL held on
/// entry and on return).
void logLinesWithoutGil(common::LogSink& log, common::LogLevel level, std::string_view id,
                        const std::vector<std::string>& lines);

}  // namespace wsgid::python
