// SPDX-License-Identifier: Apache-2.0
// One WSGI request per PEP 3333: environ, start_response, write(), iterating the result,
// close(), and the outcome the daemon turns into End or Error. Runs with the GIL held; every
// RequestIo call happens with the GIL released.
#pragma once

#include "python/python.h"

#include <chrono>

#include "common/log_sink.h"
#include "python/environ.h"
#include "python/mod_wsgi_module.h"
#include "python/py_ref.h"
#include "python/request_gate.h"
#include "python/request_io.h"

namespace wsgid::python {

/// The type objects and shared strings a request needs, made once per interpreter (heap types
/// are per interpreter). Holds references: clear() or abandon() them with the GIL of their
/// interpreter.
struct WsgiTypes {
    PyRef inputStream;
    PyRef errorStream;
    PyRef fileWrapper;
    PyRef startResponse;
    EnvironCache environ;
    PyRef writeName;  ///< "write", interned: the attribute start_response returns
    PyRef closeName;  ///< "close", interned: the method of a response called at its end
    /// io.TextIOBase of the interpreter: a file_wrapper over a text file is never passed. Looked
    /// up once here, not with an import per file response.
    PyRef textIoBase;

    /// Creates all types in the current interpreter; false with a Python exception on failure.
    bool create();
    /// Drops the references (GIL held, the owning interpreter current).
    void clear() noexcept;
    /// Forgets the references without touching Python (for a process that ends without
    /// finalizing Python).
    void abandon() noexcept;
};

/// Creates the start_response type in the current interpreter. Empty PyRef with a Python
/// exception set on failure. GIL held.
PyRef createStartResponseType();

/// What a call needs besides the request: the current interpreter's types, the log and the
/// per-process environ facts. Everything must outlive the call.
struct CallContext {
    WsgiTypes& types;
    common::LogSink& log;
    EnvironSettings environ;
    bool subInterpreter = false;  ///< add the %{GLOBAL} hint to ImportErrors
    /// How long the end of the call waits for application threads still inside `io` (see
    /// RequestGate::close); tests shorten it.
    std::chrono::milliseconds inFlightGrace = kInFlightGrace;
    /// The interpreter's mod_wsgi module (request_data(), events); nullptr: none.
    ModWsgiModule* modWsgi = nullptr;
};

/// Runs `app(environ, start_response)` for `request` and relays the response to `io`.
/// Precondition: the GIL is held with the app's interpreter current; returns with it held.
/// Logs failures (with WG ids) and tracebacks; logs nothing on success. close() of the result is
/// always called when the app returned one. Returns only when no thread uses `io` any more:
/// write() and wsgi.input fail with OSError from then on (docs/architecture.md "GIL and thread
/// model"). Never throws except std::bad_alloc.
CallOutcome runWsgiCall(PyObject* app, const WsgiRequest& request, RequestIo& io,
                        const CallContext& context);

}  // namespace wsgid::python
