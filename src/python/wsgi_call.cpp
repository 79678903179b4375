// SPDX-License-Identifier: Apache-2.0
// One WSGI request (see wsgi_call.h): the start_response type, lazy headers, the call and its
// outcome, close(). The response body goes out in wsgi_call_body.cpp. Every RequestIo call, from
// any thread, goes through the call's RequestGate.
#include "python/wsgi_call.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "python/error_stream.h"
#include "python/file_bypass.h"
#include "python/file_wrapper.h"
#include "python/gil.h"
#include "python/input_stream.h"
#include "python/log_text.h"
#include "python/py_error.h"
#include "python/response_head.h"
#include "python/slot_guard.h"
#include "python/wsgi_call_impl.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdErrorsStream = "WG0310";
constexpr std::string_view kIdAppException = "WG0330";
constexpr std::string_view kIdInvalidResponse = "WG0331";
constexpr std::string_view kIdClientGone = "WG0333";
constexpr std::string_view kIdCloseFailed = "WG0334";
constexpr std::string_view kIdSubInterpreterHint = "WG0307";

struct StarterObject {
    PyObject_HEAD WsgiCall* call;  // nullptr once the request ended
};

PyObject* starterCall(PyObject* self, PyObject* args, PyObject* kwargs) noexcept {
    return guardedObject([&]() -> PyObject* {
        static const char* keywords[] = {"status", "response_headers", "exc_info", nullptr};
        PyObject* status = nullptr;
        PyObject* headers = nullptr;
        PyObject* excInfo = Py_None;
        if (PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response",
                                        const_cast<char**>(keywords), &status, &headers,
                                        &excInfo) == 0) {
            return nullptr;
        }
        WsgiCall* call = reinterpret_cast<StarterObject*>(self)->call;
        if (call == nullptr) {
            PyErr_SetString(PyExc_RuntimeError, "start_response() called after its request ended");
            return nullptr;
        }
        return call->startResponse(self, status, headers, excInfo);
    });
}

PyObject* starterWrite(PyObject* self, PyObject* data) noexcept {
    return guardedObject([&]() -> PyObject* {
        WsgiCall* call = reinterpret_cast<StarterObject*>(self)->call;
        if (call == nullptr) {
            PyErr_SetString(PyExc_OSError, "write() called after its request ended");
            return nullptr;
        }
        return call->write(data);
    });
}

void starterDealloc(PyObject* self) noexcept {
    PyTypeObject* type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef kStarterMethods[] = {
    {"write", starterWrite, METH_O,
     "write(data): send bytes now (PEP 3333's imperative write callable)."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot kStarterSlots[] = {
    {Py_tp_call, reinterpret_cast<void*>(starterCall)},
    {Py_tp_dealloc, reinterpret_cast<void*>(starterDealloc)},
    {Py_tp_methods, kStarterMethods},
    {Py_tp_doc, const_cast<char*>("start_response(status, response_headers, exc_info=None)")},
    {0, nullptr},
};

PyType_Spec kStarterSpec = {
    "mod_wsgid.StartResponse",
    sizeof(StarterObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kStarterSlots,
};

}  // namespace

CallOutcome WsgiCall::run(PyObject* app) {
    PyRef input = newInputStream(context_.types.inputStream.get(), gate_, request_.contentLength);
    PyRef errors;
    PyRef environ;
    PyRef starter;
    if (input) {
        errors = newErrorStream(context_.types.errorStream.get(),
                                {&context_.log, kIdErrorsStream, request_.requestId, -1});
    }
    if (errors) {
        environ = buildEnviron(request_, context_.environ,
                               {input.get(), errors.get(), context_.types.fileWrapper.get()},
                               context_.types.environ);
    }
    if (environ) {
        auto* type = reinterpret_cast<PyTypeObject*>(context_.types.startResponse.get());
        starter = PyRef::steal(type->tp_alloc(type, 0));
    }
    CallOutcome outcome;
    if (starter) {
        reinterpret_cast<StarterObject*>(starter.get())->call = this;
        ModWsgiModule::Request tracked;
        if (context_.modWsgi != nullptr) {
            tracked = context_.modWsgi->requestStarted(request_.requestId, environ.get(), app);
        }
        outcome = respond(tracked.application ? tracked.application.get() : app, environ.get(),
                          starter.get());
        if (context_.modWsgi != nullptr) {
            context_.modWsgi->requestFinished(request_.requestId, tracked, statusCode());
        }
        outcome.status = statusCode();
        // The app may keep these objects; they must not reach this call or the RequestIo any
        // more. Threads already inside them hold passes, which close() waits for.
        reinterpret_cast<StarterObject*>(starter.get())->call = nullptr;
    } else {
        PyErrorInfo error = fetchError();
        outcome = {CallOutcome::Kind::AppError, false,
                   "could not set up the request: " + describeError(error)};
        logError(context_.log, kIdAppException, outcome.message, error);
    }
    if (input) {
        detachInputStream(input.get());
    }
    if (gate_.close(context_.inFlightGrace, context_.log, request_.scriptFilename,
                    request_.requestId) == RequestGate::Closed::Interrupted) {
        // The connection was closed under a thread (WG0337): nothing more can be sent on it.
        outcome = {CallOutcome::Kind::ClientGone, headersSent(),
                   "the connection was closed under an application thread still using it after "
                   "the request ended"};
    }
    if (errors) {
        drainErrorStream(errors.get());
    }
    invalidError_.reset();
    return outcome;
}

CallOutcome WsgiCall::respond(PyObject* app, PyObject* environ, PyObject* starter) {
    PyRef result = PyRef::steal(PyObject_CallFunctionObjArgs(app, environ, starter, nullptr));
    if (!result) {
        return appFailure(fetchError());
    }
    std::optional<CallOutcome> passed = passFile(result.get());
    CallOutcome outcome = passed ? std::move(*passed) : iterate(result.get());
    callClose(result.get());
    return outcome;
}

void WsgiCall::callClose(PyObject* result) {
    if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) {
        return;
    }
    PyRef close = PyRef::steal(PyObject_GetAttr(result, context_.types.closeName.get()));
    if (!close) {
        PyErrorInfo error = fetchError();
        if (!error.matches(PyExc_AttributeError)) {
            logError(context_.log, kIdCloseFailed,
                     request_.scriptFilename +
                         ": looking up close() of the response failed (request " +
                         request_.requestId + "): " + describeError(error),
                     error);
        }
        return;
    }
    PyRef closed = PyRef::steal(PyObject_CallNoArgs(close.get()));
    if (!closed) {
        // The response already went out (or already failed); a failing close() is reported but
        // does not turn a complete response into an aborted one.
        PyErrorInfo error = fetchError();
        logError(context_.log, kIdCloseFailed,
                 request_.scriptFilename + ": close() of the response raised (request " +
                     request_.requestId + "): " + describeError(error),
                 error);
    }
}

int WsgiCall::statusCode() const noexcept {
    if (!startCalled() || status_.size() < 3) {
        return 500;
    }
    return (status_[0] - '0') * 100 + (status_[1] - '0') * 10 + (status_[2] - '0');
}

CallOutcome WsgiCall::appFailure(PyErrorInfo error) {
    if (context_.modWsgi != nullptr) {
        context_.modWsgi->requestException(request_.requestId, error);
    }
    if (clientGone_) {
        return clientGone();
    }
    if (invalidError_ && error.value.get() == invalidError_.get()) {
        logError(context_.log, kIdInvalidResponse,
                 request_.scriptFilename + ": invalid response (request " + request_.requestId +
                     "): " + invalidMessage_,
                 error);
        return {CallOutcome::Kind::InvalidResponse, headersSent(), invalidMessage_};
    }
    std::string message = describeError(error);
    logError(context_.log, kIdAppException,
             "exception in WSGI application " + request_.scriptFilename + " (request " +
                 request_.requestId + "): " + message,
             error);
    if (context_.subInterpreter && error.matches(PyExc_ImportError)) {
        logLinesWithoutGil(
            context_.log, common::LogLevel::Error, kIdSubInterpreterHint,
            {"the ImportError happened in application group '" + request_.applicationGroup +
             "', a sub-interpreter; C extensions such as numpy may need WSGIApplicationGroup "
             "%{GLOBAL}"});
    }
    return {CallOutcome::Kind::AppError, headersSent(), std::move(message)};
}

CallOutcome WsgiCall::invalid(std::string message) {
    logLinesWithoutGil(context_.log, common::LogLevel::Error, kIdInvalidResponse,
                       {request_.scriptFilename + ": invalid response (request " +
                        request_.requestId + "): " + message});
    return {CallOutcome::Kind::InvalidResponse, headersSent(), std::move(message)};
}

CallOutcome WsgiCall::clientGone() {
    std::string message = "client connection closed: " + clientGoneMessage_;
    logLinesWithoutGil(
        context_.log, common::LogLevel::Info, kIdClientGone,
        {request_.scriptFilename + ": " + message + " (request " + request_.requestId + ")"});
    return {CallOutcome::Kind::ClientGone, headersSent(), std::move(message)};
}

// Raises `type`(message) and remembers the instance: if the app lets it escape, the outcome is
// InvalidResponse rather than AppError. Always returns false.
bool WsgiCall::raiseInvalid(PyObject* type, const std::string& message) {
    PyRef error = PyRef::steal(PyObject_CallFunction(type, "s", message.c_str()));
    if (!error) {
        return false;
    }
    PyErr_SetObject(type, error.get());
    invalidError_ = std::move(error);
    invalidMessage_ = message;
    return false;
}

PyObject* WsgiCall::startResponse(PyObject* self, PyObject* status, PyObject* headers,
                                  PyObject* excInfo) {
    if (writing_) {
        PyErr_SetString(PyExc_RuntimeError,
                        "start_response() called while another thread writes the response");
        return nullptr;
    }
    if (excInfo != Py_None) {
        if (!PyTuple_Check(excInfo) || PyTuple_GET_SIZE(excInfo) != 3) {
            PyErr_SetString(PyExc_TypeError,
                            "exc_info must be None or a (type, value, traceback) tuple");
            return nullptr;
        }
        if (headersSent()) {
            // PEP 3333: too late to change the status; re-raise the app's exception.
            PyObject* type = PyTuple_GET_ITEM(excInfo, 0);
            PyObject* value = PyTuple_GET_ITEM(excInfo, 1);
            PyObject* traceback = PyTuple_GET_ITEM(excInfo, 2);
            if (traceback == Py_None) {
                traceback = nullptr;
            }
            Py_INCREF(type);
            Py_INCREF(value);
            Py_XINCREF(traceback);
            PyErr_Restore(type, value, traceback);
            return nullptr;
        }
    } else if (startCalled()) {
        PyErr_SetString(PyExc_AssertionError,
                        "start_response() was already called; only a call with exc_info may "
                        "replace the status and headers");
        return nullptr;
    }
    std::string statusLine;
    if (std::optional<Rejection> rejected = parseStatusLine(status, statusLine)) {
        raiseInvalid(rejected->type, rejected->message);
        return nullptr;
    }
    ResponseHeaders parsed;
    std::optional<std::int64_t> length;
    if (std::optional<Rejection> rejected = parseResponseHeaders(headers, parsed, length)) {
        raiseInvalid(rejected->type, rejected->message);
        return nullptr;
    }
    if (context_.modWsgi != nullptr) {
        context_.modWsgi->responseStarted(request_.requestId, status, headers, excInfo);
    }
    status_ = std::move(statusLine);
    headers_ = std::move(parsed);
    contentLength_ = length;
    response_ = Response::HeadersPending;
    invalidError_.reset();
    invalidMessage_.clear();
    return PyObject_GetAttr(self, context_.types.writeName.get());
}

bool WsgiTypes::create() {
    // Each step runs only if the previous one succeeded (no call with an exception pending).
    return (inputStream = createInputStreamType()) && (errorStream = createErrorStreamType()) &&
           (fileWrapper = createFileWrapperType()) && (startResponse = createStartResponseType()) &&
           environ.create() && (writeName = PyRef::steal(PyUnicode_InternFromString("write"))) &&
           (closeName = PyRef::steal(PyUnicode_InternFromString("close"))) &&
           (textIoBase = textIoBaseType());
}

void WsgiTypes::clear() noexcept {
    inputStream.reset();
    errorStream.reset();
    fileWrapper.reset();
    startResponse.reset();
    environ.clear();
    writeName.reset();
    closeName.reset();
    textIoBase.reset();
}

void WsgiTypes::abandon() noexcept {
    (void)inputStream.release();
    (void)errorStream.release();
    (void)fileWrapper.release();
    (void)startResponse.release();
    environ.abandon();
    (void)writeName.release();
    (void)closeName.release();
    (void)textIoBase.release();
}

PyRef createStartResponseType() {
    return PyRef::steal(PyType_FromSpec(&kStarterSpec));
}

CallOutcome runWsgiCall(PyObject* app, const WsgiRequest& request, RequestIo& io,
                        const CallContext& context) {
    WsgiCall call(request, io, context);
    return call.run(app);
}

}  // namespace wsgid::python
