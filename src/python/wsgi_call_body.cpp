// SPDX-License-Identifier: Apache-2.0
// WsgiCall's response body (see wsgi_call_impl.h): the write() callable, iterating the result,
// the wsgi.file_wrapper file pass, delivering blocks, and finish() with its Content-Length check.
// The GIL is released only around the blocking RequestIo calls; a block the connection can take at
// once goes through its non-blocking try* calls. Every RequestIo call, from any thread, goes
// through the call's RequestGate.
#include "python/python.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "python/file_bypass.h"
#include "python/log_text.h"
#include "python/py_error.h"
#include "python/wsgi_call_impl.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdShortBody = "WG0332";

}  // namespace

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

}  // namespace wsgid::python
