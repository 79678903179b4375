// SPDX-License-Identifier: Apache-2.0
// One WSGI request (see wsgi_call.h): the start_response type, lazy headers, Content-Length
// enforcement, body iteration and close(). The GIL is released only around the blocking RequestIo
// calls; a block the connection can take at once goes through its non-blocking try* calls. Every
// RequestIo call, from any thread, goes through the call's RequestGate.
#include "python/wsgi_call.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ascii.h"
#include "common/http_syntax.h"
#include "python/error_stream.h"
#include "python/file_bypass.h"
#include "python/file_wrapper.h"
#include "python/gil.h"
#include "python/input_stream.h"
#include "python/log_text.h"
#include "python/py_error.h"
#include "python/slot_guard.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdErrorsStream = "WG0310";
constexpr std::string_view kIdAppException = "WG0330";
constexpr std::string_view kIdInvalidResponse = "WG0331";
constexpr std::string_view kIdShortBody = "WG0332";
constexpr std::string_view kIdClientGone = "WG0333";
constexpr std::string_view kIdCloseFailed = "WG0334";
constexpr std::string_view kIdSubInterpreterHint = "WG0307";

using Headers = std::vector<std::pair<std::string, std::string>>;

// Why a start_response argument was rejected: the exception type to raise and its message.
// (cppcheck 2.10 misses reads through std::optional<Rejection>::operator->, hence the notes.)
struct Rejection {
    // cppcheck-suppress unusedStructMember
    PyObject* type;
    // cppcheck-suppress unusedStructMember
    std::string message;
};

// A str as latin-1 bytes into `out`; otherwise the rejection (`what` names the argument).
std::optional<Rejection> latin1Bytes(PyObject* value, const char* what, std::string& out) {
    if (!PyUnicode_Check(value)) {
        return Rejection{PyExc_TypeError,
                         std::string(what) + " must be str, not " + Py_TYPE(value)->tp_name};
    }
    if (PyUnicode_READY(value) != 0) {
        PyErr_Clear();  // the encoding below fails as well, and says why
    } else if (PyUnicode_KIND(value) == PyUnicode_1BYTE_KIND) {
        // One byte per character (code points below 256): the str's own data are its latin-1
        // encoding, so no bytes object is made for it.
        out.assign(reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(value)),
                   static_cast<std::size_t>(PyUnicode_GET_LENGTH(value)));
        return std::nullopt;
    }
    PyRef bytes = PyRef::steal(PyUnicode_AsLatin1String(value));
    if (!bytes) {
        PyErr_Clear();
        PyRef repr = PyRef::steal(PyObject_Repr(value));
        std::string shown = repr ? toUtf8(repr.get()) : std::string("?");
        PyErr_Clear();
        return Rejection{PyExc_ValueError, std::string(what) + " " + shown +
                                               " is not encodable as latin-1 (PEP 3333)"};
    }
    out.assign(PyBytes_AS_STRING(bytes.get()),
               static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.get())));
    return std::nullopt;
}

class WsgiCall;

struct StarterObject {
    PyObject_HEAD WsgiCall* call;  // nullptr once the request ended
};

// How a body block fared. Ended: the request ended before the block got in; Interrupted: it
// ended while the block was being written, and the connection was closed under it.
enum class Delivery { Sent, NotStarted, ClientGone, Busy, Ended, Interrupted };

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
    bool parseHeaders(PyObject* headers, Headers& out, std::optional<std::int64_t>& length);
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
    Headers headers_;
    std::optional<std::int64_t> contentLength_;
    std::int64_t sent_ = 0;
    PyRef invalidError_;  // the exception start_response raised for a bad status/header
    std::string invalidMessage_;
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

std::optional<CallOutcome> WsgiCall::passFile(PyObject* result) {
    PyObject* wrapperType = context_.types.fileWrapper.get();
    if (!request_.passFiles || Py_TYPE(result) != reinterpret_cast<PyTypeObject*>(wrapperType) ||
        !startCalled() || writing_ || clientGone_ || bodylessStatus()) {
        return std::nullopt;  // iterating reports what is wrong, or sends what is right
    }
    const RequestGate::Pass pass = gate_.enter();  // open: the call has not ended
    if (!pass || !pass.io().canPassFiles()) {
        return std::nullopt;
    }
    std::optional<std::uint64_t> room;
    if (contentLength_) {
        room = static_cast<std::uint64_t>(std::max<std::int64_t>(*contentLength_ - sent_, 0));
    }
    std::optional<PassableFile> file =
        findPassableFile(result, wrapperType, context_.types.textIoBase.get(), room);
    if (!file) {
        return std::nullopt;
    }
    bool startPending = !headersSent();
    if (startPending && !contentLength_) {
        // As mod_wsgi does: the length is known, so the client need not get a chunked body.
        headers_.emplace_back("Content-Length", std::to_string(file->length));
        contentLength_ = static_cast<std::int64_t>(file->length);
    }
    if (startPending) {
        // Queued without waking the connection's writer thread: the File frame's write takes it
        // along at once, so the response costs no hand-off between threads (no application code
        // runs in between, as `more` requires).
        if (std::optional<common::Status> quick =
                pass.io().tryWriteStart(status_, headers_, /*more=*/true);
            quick && quick->isOk()) {
            startPending = false;
            response_ = Response::HeadersSent;
        }
    }
    bool started = false;
    writing_ = true;
    const common::Status status = pass.withoutGil([&](RequestIo& io) {
        common::Status written;
        if (startPending) {
            written = io.writeStart(status_, headers_);
            started = written.isOk();
        }
        if (written.isOk()) {
            written = io.writeFile(std::move(file->fd), file->offset, file->length);
        }
        return written;
    });
    writing_ = false;
    if (started) {
        response_ = Response::HeadersSent;
    }
    if (!status.isOk()) {
        clientGone_ = true;
        clientGoneMessage_ =
            pass.interrupted() ? "the request ended while the file was sent" : status.message();
        return clientGone();
    }
    sent_ += static_cast<std::int64_t>(file->length);
    return finish();
}

CallOutcome WsgiCall::iterate(PyObject* result) {
    if (Py_TYPE(result)->tp_iter == nullptr && PySequence_Check(result) == 0) {
        return invalid(std::string("the application returned a '") + Py_TYPE(result)->tp_name +
                       "' object, which is not iterable");
    }
    PyRef iterator = PyRef::steal(PyObject_GetIter(result));
    if (!iterator) {
        return appFailure(fetchError());
    }
    // Iterating an exact list or tuple runs no application code, and neither does the rest of
    // the call (such results have no close()): their blocks may go out together with End.
    const bool allAtOnce = PyList_CheckExact(result) || PyTuple_CheckExact(result);
    Py_ssize_t index = 0;
    for (;;) {
        PyRef item = PyRef::steal(PyIter_Next(iterator.get()));
        if (!item) {
            if (PyErr_Occurred() != nullptr) {
                return appFailure(fetchError());
            }
            break;
        }
        if (!PyBytes_Check(item.get())) {
            return invalid(std::string("response body items must be bytes, not '") +
                           Py_TYPE(item.get())->tp_name + "'");
        }
        const bool more = allAtOnce && PyBytes_CheckExact(item.get());
        // The last item of an exact list or tuple (read with the GIL held: nothing but another
        // app thread could change the list, and one appending while this block is written is
        // as if it appended a moment later) may go out together with the End.
        ++index;
        const bool last = more && index >= Py_SIZE(result);
        switch (deliver(PyBytes_AS_STRING(item.get()),
                        static_cast<std::size_t>(PyBytes_GET_SIZE(item.get())), more, last)) {
            case Delivery::Sent:
                if (last) {
                    return finish();
                }
                break;
            case Delivery::NotStarted:
                return invalid("the application yielded body data before calling start_response()");
            case Delivery::ClientGone:
                return clientGone();
            case Delivery::Busy:
                return invalid("the response body was written by two threads at once");
            case Delivery::Ended:
            case Delivery::Interrupted:
                // Only write() from another thread can outlive the call; iteration cannot.
                return clientGone();
        }
    }
    return finish();
}

// Sends one block: the headers first if they are still pending, at most what Content-Length
// allows (nothing for 204 and 304). An empty block sends nothing (headers stay lazy). `more`: no
// application code runs before the next block or the end of the request (RequestIo::tryWriteBody).
// `last`: the block ends an exact list or tuple (and so the response); when it completes the
// response (its Content-Length, if any, is reached), a block that is not queued goes out with
// RequestIo::writeLastBody, which may send the End along.
Delivery WsgiCall::deliver(const char* data, std::size_t size, bool more, bool last) {
    if (!startCalled()) {
        return Delivery::NotStarted;
    }
    if (writing_) {
        return Delivery::Busy;
    }
    if (clientGone_) {
        return Delivery::ClientGone;
    }
    std::size_t count = size;
    if (bodylessStatus()) {
        // No body, ever (RFC 9110 §15.3.5, §15.4.5): httpd would strip it, and the module takes
        // body bytes on these for a daemon breaking its framing.
        count = 0;
    } else if (contentLength_) {
        // Bytes beyond the app's own Content-Length are dropped, as mod_wsgi does.
        const std::int64_t room = *contentLength_ - sent_;
        count = room <= 0 ? 0 : std::min<std::size_t>(size, static_cast<std::size_t>(room));
    }
    if (count == 0 && (size == 0 || headersSent())) {
        return Delivery::Sent;
    }
    const RequestGate::Pass pass = gate_.enter();
    if (!pass) {
        return Delivery::Ended;
    }
    const std::string_view block(data, count);
    common::Status status;
    // First without releasing the GIL: a small block is only queued for the connection's writer.
    bool startPending = !headersSent();
    if (startPending) {
        // The body block follows at once, if there is one.
        if (std::optional<common::Status> quick =
                pass.io().tryWriteStart(status_, headers_, more || count > 0)) {
            status = std::move(*quick);
            startPending = false;
            if (status.isOk()) {
                response_ = Response::HeadersSent;
            }
        }
    }
    bool bodyPending = count > 0 && status.isOk();
    if (bodyPending && !startPending) {
        if (std::optional<common::Status> quick = pass.io().tryWriteBody(block, more)) {
            status = std::move(*quick);
            bodyPending = false;
        }
    }
    if (status.isOk() && (startPending || bodyPending)) {
        // finish() will find nothing wrong: the length check passes after this block.
        const bool completes =
            last &&
            (!contentLength_ || sent_ + static_cast<std::int64_t>(count) >= *contentLength_ ||
             !lengthCheckApplies());
        bool started = false;
        writing_ = true;
        status = pass.withoutGil([&](RequestIo& io) {
            common::Status written;
            if (startPending) {
                written = io.writeStart(status_, headers_);
                started = written.isOk();
            }
            if (written.isOk() && bodyPending) {
                written = completes ? io.writeLastBody(block) : io.writeBody(block);
            }
            return written;
        });
        writing_ = false;
        if (started) {
            response_ = Response::HeadersSent;
        }
    }
    if (!status.isOk() && pass.interrupted()) {
        clientGone_ = true;
        clientGoneMessage_ = "the request ended while write() was sending";
        return Delivery::Interrupted;
    }
    if (!status.isOk()) {
        clientGone_ = true;
        clientGoneMessage_ = status.message();
        return Delivery::ClientGone;
    }
    sent_ += static_cast<std::int64_t>(count);
    return Delivery::Sent;
}

// After the iterable is exhausted: start_response must have been called; empty bodies still
// send their headers; a Content-Length the body did not reach makes the response invalid.
CallOutcome WsgiCall::finish() {
    if (!startCalled()) {
        return invalid("the application returned without calling start_response()");
    }
    if (!headersSent()) {
        if (writing_) {
            return invalid("the response body was written by two threads at once");
        }
        const RequestGate::Pass pass = gate_.enter();  // open: the call has not ended
        common::Status status;
        // close() (application code) may still run after this: the start goes out at once.
        if (std::optional<common::Status> quick =
                pass.io().tryWriteStart(status_, headers_, false)) {
            status = std::move(*quick);
        } else {
            writing_ = true;
            status =
                pass.withoutGil([&](RequestIo& io) { return io.writeStart(status_, headers_); });
            writing_ = false;
        }
        if (!status.isOk()) {
            clientGone_ = true;
            clientGoneMessage_ = status.message();
            return clientGone();
        }
        response_ = Response::HeadersSent;
    }
    if (contentLength_ && sent_ < *contentLength_ && lengthCheckApplies()) {
        std::string message = "app sent " + std::to_string(sent_) + " of " +
                              std::to_string(*contentLength_) + " bytes of its Content-Length";
        logLinesWithoutGil(
            context_.log, common::LogLevel::Error, kIdShortBody,
            {request_.scriptFilename + ": " + message + " (request " + request_.requestId + ")"});
        return {CallOutcome::Kind::InvalidResponse, true, std::move(message)};
    }
    return {CallOutcome::Kind::Completed, true, {}};
}

// HEAD responses and 1xx/204/304 carry the Content-Length of a body they never send.
bool WsgiCall::lengthCheckApplies() const {
    for (const auto& [key, value] : request_.environ) {
        if (key == "REQUEST_METHOD" && value == "HEAD") {
            return false;
        }
    }
    return !(status_[0] == '1' || status_.starts_with("204") || status_.starts_with("304"));
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

bool WsgiCall::parseHeaders(PyObject* headers, Headers& out, std::optional<std::int64_t>& length) {
    if (!PyList_Check(headers)) {
        return raiseInvalid(PyExc_TypeError, std::string("response_headers must be a list, not ") +
                                                 Py_TYPE(headers)->tp_name);
    }
    const Py_ssize_t count = PyList_GET_SIZE(headers);
    out.reserve(static_cast<std::size_t>(count));
    for (Py_ssize_t i = 0; i < count; ++i) {
        PyObject* item = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            return raiseInvalid(PyExc_TypeError,
                                "each response header must be a (name, value) tuple, not " +
                                    std::string(Py_TYPE(item)->tp_name));
        }
        std::string name;
        std::string value;
        std::optional<Rejection> rejected =
            latin1Bytes(PyTuple_GET_ITEM(item, 0), "header name", name);
        if (!rejected) {
            rejected = latin1Bytes(PyTuple_GET_ITEM(item, 1), "header value", value);
        }
        if (rejected) {
            return raiseInvalid(rejected->type, rejected->message);
        }
        if (!common::isHttpToken(name)) {
            return raiseInvalid(PyExc_ValueError,
                                "invalid header name '" + escapeControl(name) + "'");
        }
        if (!common::isSafeHeaderValue(value)) {
            return raiseInvalid(PyExc_ValueError, "header '" + name +
                                                      "' has a value with a control character "
                                                      "(CR, LF or NUL)");
        }
        if (common::isHopByHopHeader(name)) {
            return raiseInvalid(PyExc_ValueError, "hop-by-hop header '" + name +
                                                      "' is not allowed in a WSGI response "
                                                      "(PEP 3333)");
        }
        if (common::equalsIgnoreCase(name, "Content-Length")) {
            // The rule the module applies to the Start frame again (decodeResponseStart).
            const std::optional<std::int64_t> parsed = common::parseContentLength(value);
            if (!parsed || (length && *length != *parsed)) {
                return raiseInvalid(PyExc_ValueError,
                                    "invalid Content-Length '" + escapeControl(value) + "'");
            }
            length = parsed;
        }
        out.emplace_back(std::move(name), std::move(value));
    }
    return true;
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
    if (std::optional<Rejection> rejected = latin1Bytes(status, "status", statusLine)) {
        raiseInvalid(rejected->type, rejected->message);
        return nullptr;
    }
    if (!common::isValidStatusLine(statusLine)) {
        raiseInvalid(PyExc_ValueError, "invalid status '" + escapeControl(statusLine) +
                                           "': expected '<3 digits> <reason>'");
        return nullptr;
    }
    if (!common::isFinalStatusLine(statusLine)) {
        raiseInvalid(PyExc_ValueError, "interim status '" + escapeControl(statusLine) +
                                           "' cannot be the response's status: a WSGI app "
                                           "answers with a final status (200-599)");
        return nullptr;
    }
    Headers parsed;
    std::optional<std::int64_t> length;
    if (!parseHeaders(headers, parsed, length)) {
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

PyObject* WsgiCall::write(PyObject* data) {
    // Held to the end: the messages below read this call's state, which close() waits for.
    const RequestGate::Pass pass = gate_.enter();
    if (!pass) {
        PyErr_SetString(PyExc_OSError, "write() called after its request ended");
        return nullptr;
    }
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %.100s",
                     Py_TYPE(data)->tp_name);
        return nullptr;
    }
    switch (
        deliver(PyBytes_AS_STRING(data), static_cast<std::size_t>(PyBytes_GET_SIZE(data)), false)) {
        case Delivery::Sent:
            Py_RETURN_NONE;
        case Delivery::NotStarted:
            PyErr_SetString(PyExc_RuntimeError, "write() called before start_response()");
            return nullptr;
        case Delivery::ClientGone:
            PyErr_Format(PyExc_OSError, "client connection closed: %s", clientGoneMessage_.c_str());
            return nullptr;
        case Delivery::Busy:
            PyErr_SetString(PyExc_RuntimeError,
                            "write() called while another thread writes the response");
            return nullptr;
        case Delivery::Ended:
            PyErr_SetString(PyExc_OSError, "write() called after its request ended");
            return nullptr;
        case Delivery::Interrupted:
            PyErr_SetString(PyExc_OSError,
                            "the request ended while write() was sending; its connection was "
                            "closed");
            return nullptr;
    }
    Py_RETURN_NONE;
}

}  // namespace

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
