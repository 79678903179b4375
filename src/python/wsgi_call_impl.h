// SPDX-License-Identifier: Apache-2.0
// WsgiCall, the class behind runWsgiCall (wsgi_call.h), shared by its two halves: wsgi_call.cpp
// (the call, start_response, errors and close()) and wsgi_call_body.cpp (the response body).
// Include it nowhere else. GIL held in every member unless it says otherwise.
#pragma once

#include "python/python.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "python/py_error.h"
#include "python/py_ref.h"
#include "python/request_gate.h"
#include "python/request_io.h"
#include "python/response_head.h"
#include "python/wsgi_call.h"

namespace wsgid::python {

/// How a body block fared. Ended: the request ended before the block got in; Interrupted: it
/// ended while the block was being written, and the connection was closed under it.
enum class Delivery { Sent, NotStarted, ClientGone, Busy, Ended, Interrupted };

/// One run of an app for one request: what runWsgiCall does. Lives on runWsgiCall's stack; the
/// start_response object points at it until run() returns.
class WsgiCall {
public:
    WsgiCall(const WsgiRequest& request, RequestIo& io, const CallContext& context)
        : request_(request), gate_(io), context_(context) {}

    CallOutcome run(PyObject* app);

    // start_response(status, response_headers, exc_info=None). GIL held.
    PyObject* startResponse(PyObject* self, PyObject* status, PyObject* headers, PyObject* excInfo);
    // write(data). GIL held.
    PyObject* write(PyObject* data);

private:
    CallOutcome respond(PyObject* app, PyObject* environ, PyObject* starter);
    CallOutcome iterate(PyObject* result);
    /// The file_wrapper bypass: the outcome when `result` went out as a passed file,
    /// std::nullopt when it must be iterated instead (nothing was sent then).
    std::optional<CallOutcome> passFile(PyObject* result);
    Delivery deliver(const char* data, std::size_t size, bool more, bool last = false);
    CallOutcome finish();
    void callClose(PyObject* result);
    CallOutcome appFailure(PyErrorInfo error);
    CallOutcome invalid(std::string message);
    CallOutcome clientGone();
    bool raiseInvalid(PyObject* type, const std::string& message);
    [[nodiscard]] bool lengthCheckApplies() const;
    [[nodiscard]] bool startCalled() const noexcept { return response_ != Response::AwaitingStart; }
    [[nodiscard]] bool headersSent() const noexcept { return response_ == Response::HeadersSent; }
    /// 204 and 304: no body is ever sent.
    [[nodiscard]] bool bodylessStatus() const {
        return status_.starts_with("204") || status_.starts_with("304");
    }
    /// The response's status code for the request_finished event: the app's, else 500.
    [[nodiscard]] int statusCode() const noexcept;

    const WsgiRequest& request_;
    RequestGate gate_;  // the only way to the request's RequestIo
    const CallContext& context_;

    /// How far the response got: start_response() not called yet; called, its status and headers
    /// not sent yet (a call with exc_info may still replace them); sent.
    enum class Response { AwaitingStart, HeadersPending, HeadersSent };
    Response response_ = Response::AwaitingStart;
    bool writing_ = false;  // a block is being written with the GIL released
    bool clientGone_ = false;
    std::string clientGoneMessage_;
    std::string status_;
    ResponseHeaders headers_;
    std::optional<std::int64_t> contentLength_;
    std::int64_t sent_ = 0;
    PyRef invalidError_;  // the exception start_response raised for a bad status/header
    std::string invalidMessage_;
};

}  // namespace wsgid::python
