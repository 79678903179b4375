// SPDX-License-Identifier: Apache-2.0
// ModWsgiModule: the `mod_wsgi` module apps and libraries import inside a daemon (one per
// interpreter): process_group, application_group, maximum_processes, threads_per_process,
// version, FileWrapper, RequestTimeout, subscribe_events, subscribe_shutdown, request_data,
// active_requests, and the hooks through which requests and the process's stop publish their
// events. Python objects only; every member runs with the GIL held and the owning interpreter
// current.
#pragma once

#include "python/python.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "python/process_metrics.h"
#include "python/py_error.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// What the module tells apps about where they run.
struct ModWsgiFacts {
    std::string processGroup;           ///< mod_wsgi.process_group
    std::string applicationGroup;       ///< mod_wsgi.application_group ("" = %{GLOBAL})
    int maximumProcesses = 1;           ///< processes= of the group
    int threadsPerProcess = 1;          ///< threads= of the group
    PyObject* fileWrapper = nullptr;    ///< mod_wsgi.FileWrapper (borrowed; the module keeps one)
    ProcessMetrics* metrics = nullptr;  ///< the process's accounting (outlives the module)
    bool serverMetrics = false;         ///< server-metrics=On: server_metrics() answers
    int processIndex = 0;               ///< server_metrics()'s process_num
    std::uint32_t generation = 0;       ///< server_metrics()'s generation
};

/// The per-interpreter `mod_wsgi` module. Holds references: clear() or abandon() them with the
/// GIL of their interpreter.
class ModWsgiModule {
public:
    /// Creates the module in the current interpreter and puts it in sys.modules["mod_wsgi"].
    common::Status create(const ModWsgiFacts& facts);

    /// What requestStarted hands to requestFinished.
    struct Request {
        PyRef application;  ///< what to call: the app, or what a request_started subscriber put
        PyRef state;        ///< opaque: the request_data token and start time
        PyRef id;           ///< the request id as a str, made once for both hooks
    };

    /// A request begins on this thread: a fresh request_data() dict, filed in active_requests,
    /// and (with subscribers) the request_started event, whose subscribers may wrap the app.
    /// Falls back to `application` itself if the module's own code fails (logged to sys.stderr).
    /// Without subscribers the work is done here, without running the module's Python code.
    Request requestStarted(std::string_view requestId, PyObject* environ, PyObject* application);
    /// The response_started event (start_response was accepted); only with subscribers.
    void responseStarted(std::string_view requestId, PyObject* status, PyObject* headers,
                         PyObject* excInfo);
    /// The request_exception event (the app raised); only with subscribers.
    void requestException(std::string_view requestId, const PyErrorInfo& error);
    /// The request ended: the request_finished event (with subscribers), then the request is
    /// removed from active_requests and request_data() no longer answers on this thread.
    /// Without subscribers (by then) the work is done here, as in requestStarted.
    void requestFinished(std::string_view requestId, const Request& request, int status);
    /// The process stops: the process_stopping event to subscribe_shutdown and subscribe_events
    /// callbacks, with `reason` as shutdown_reason (mod_wsgi's names, e.g. "shutdown_signal").
    void processStopping(std::string_view reason);

    /// mod_wsgi.RequestTimeout of this interpreter (borrowed; nullptr before create()).
    [[nodiscard]] PyObject* requestTimeoutType() const noexcept { return requestTimeout_.get(); }

    /// A signal for subscribe_signals callbacks (and subscribe_events ones, as process_signal).
    void processSignal(int signo, std::string_view name);

    /// Drops the references (GIL held, the owning interpreter current).
    void clear() noexcept;
    /// Forgets the references without touching Python.
    void abandon() noexcept;

private:
    [[nodiscard]] bool hasSubscribers() const noexcept;
    /// Calls the module function `fn` with `args` (a new tuple, stolen); a failure of our own
    /// code is reported through sys.stderr and cleared. The result, or an empty PyRef.
    PyRef call(const PyRef& fn, PyObject* args) noexcept;
    /// _begin without subscribers: the same state, no Python frame. An empty state (no
    /// exception set, nothing changed) when it failed.
    Request beginHere(PyRef id, PyObject* application) noexcept;
    /// _finish without subscribers; false (nothing done) when the module's code must run.
    bool finishHere(const Request& request) noexcept;

    PyRef begin_;
    PyRef responseStarted_;
    PyRef exception_;
    PyRef finish_;
    PyRef stopping_;
    PyRef signal_;
    PyRef eventCallbacks_;  ///< the module's event_callbacks list
    PyRef requestTimeout_;  ///< the module's RequestTimeout class
    PyRef current_;         ///< the module's _current ContextVar (request_data())
    PyRef activeRequests_;  ///< the module's active_requests dict
};

}  // namespace wsgid::python
