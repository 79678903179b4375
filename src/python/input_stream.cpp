// SPDX-License-Identifier: Apache-2.0
// wsgi.input (see input_stream.h): read/readline/readlines/iteration with an internal buffer,
// the GIL released around every RequestIo::readBody, each made with a pass of the request's gate.
#include "python/input_stream.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "python/request_gate.h"
#include "python/slot_guard.h"

namespace wsgid::python {

namespace {

// Bytes asked of RequestIo per refill when the app wants less (readline, small reads): one
// protocol body frame's worth, so small reads do not cost one round through the GIL each.
constexpr std::size_t kRefillBytes = std::size_t{64} * 1024;
// Upper bound of one refill: read(huge) is served in pieces so one call to readBody never has
// to produce an unbounded amount of data.
constexpr std::size_t kMaxRefillBytes = std::size_t{1024} * 1024;
// Most bytes reserved ahead for one read (reserveFor): a Content-Length is the client's claim,
// so a huge one is not allocated before its bytes arrive; beyond this the buffer grows as they do.
constexpr std::size_t kMaxReserveBytes = std::size_t{16} * 1024 * 1024;

// Once this much consumed data sits at the buffer's front, it is dropped (amortised O(1)).
constexpr std::size_t kCompactBytes = std::size_t{256} * 1024;

struct InputState {
    RequestGate* gate = nullptr;  // nullptr once detached
    std::int64_t remaining = -1;  // body bytes not yet asked of io; -1 = unknown
    std::string buffer;           // buffer[pos..] is unread data
    std::size_t pos = 0;
    bool eof = false;
    bool busy = false;  // a read has the GIL released; guards buffer against a second thread
};

struct InputObject {
    PyObject_HEAD InputState* state;
};

InputState& stateOf(PyObject* self) {
    return *reinterpret_cast<InputObject*>(self)->state;
}

std::size_t available(const InputState& s) {
    return s.buffer.size() - s.pos;
}

// Reads more body into the buffer (GIL released during the read). False with OSError set when
// the body cannot be read; sets eof when it ended.
bool refill(InputState& s, std::size_t want) {
    if (s.eof) {
        return true;
    }
    // The pass keeps the request (and its RequestIo) alive until this read has returned.
    const RequestGate::Pass pass = s.gate != nullptr ? s.gate->enter() : RequestGate::Pass();
    if (!pass) {
        PyErr_SetString(PyExc_OSError, "wsgi.input used after its request ended");
        return false;
    }
    if (s.remaining == 0) {
        s.eof = true;
        return true;
    }
    if (s.pos >= kCompactBytes && s.pos * 2 >= s.buffer.size()) {
        s.buffer.erase(0, s.pos);
        s.pos = 0;
    }
    std::size_t ask = std::clamp(want, kRefillBytes, kMaxRefillBytes);
    if (s.remaining > 0) {
        ask = std::min<std::size_t>(ask, static_cast<std::size_t>(s.remaining));
    }
    s.busy = true;
    common::Result<std::size_t> got =
        pass.withoutGil([&](RequestIo& io) { return io.readBody(s.buffer, ask); });
    s.busy = false;
    if (!got.isOk() && pass.interrupted()) {
        PyErr_SetString(PyExc_OSError,
                        "the request ended while wsgi.input was being read; its connection was "
                        "closed");
        return false;
    }
    if (!got.isOk()) {
        PyErr_Format(PyExc_OSError, "failed to read the request body: %s",
                     got.status().message().c_str());
        return false;
    }
    if (got.value() == 0) {
        s.eof = true;
    } else if (s.remaining > 0) {
        s.remaining -= static_cast<std::int64_t>(
            std::min<std::size_t>(got.value(), static_cast<std::size_t>(s.remaining)));
    }
    return true;
}

// Common entry check of every read method: false with an exception set when unusable now.
bool enter(const InputState& s) {
    if (s.busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "wsgi.input is being read by another thread at the same time");
        return false;
    }
    return true;
}

PyObject* take(InputState& s, std::size_t count) {
    count = std::min(count, available(s));
    PyObject* out =
        PyBytes_FromStringAndSize(s.buffer.data() + s.pos, static_cast<Py_ssize_t>(count));
    if (out != nullptr) {
        s.pos += count;
        if (s.pos == s.buffer.size()) {
            s.buffer.clear();
            s.pos = 0;
        }
    }
    return out;
}

// Parses an optional size argument: None or negative = unlimited (SIZE_MAX).
bool parseSize(PyObject* args, const char* format, std::size_t& size) {
    PyObject* arg = Py_None;
    if (PyArg_ParseTuple(args, format, &arg) == 0) {
        return false;
    }
    size = std::numeric_limits<std::size_t>::max();
    if (arg == Py_None) {
        return true;
    }
    const Py_ssize_t value = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (value == -1 && PyErr_Occurred() != nullptr) {
        return false;
    }
    if (value >= 0) {
        size = static_cast<std::size_t>(value);
    }
    return true;
}

// Makes room in the buffer for a read of `size` bytes at once, as far as the body's known
// length says they will come: the buffer then grows once instead of doubling (and copying) its
// way up to a large body.
void reserveFor(InputState& s, std::size_t size) {
    if (s.remaining <= 0 || available(s) >= size) {
        return;
    }
    const std::size_t coming =
        std::min({size - available(s), static_cast<std::size_t>(s.remaining), kMaxReserveBytes});
    s.buffer.reserve(s.buffer.size() + coming);
}

PyObject* readImpl(InputState& s, std::size_t size) {
    if (!enter(s)) {
        return nullptr;
    }
    reserveFor(s, size);
    while (available(s) < size && !s.eof) {
        const std::size_t need =
            size == std::numeric_limits<std::size_t>::max() ? kMaxRefillBytes : size - available(s);
        if (!refill(s, need)) {
            return nullptr;
        }
    }
    return take(s, size);
}

// One line including its '\n' (or up to `limit` bytes, or the rest of the body).
PyObject* readlineImpl(InputState& s, std::size_t limit) {
    if (!enter(s)) {
        return nullptr;
    }
    std::size_t scanned = 0;
    for (;;) {
        const std::size_t window = std::min(available(s), limit);
        const char* begin = s.buffer.data() + s.pos;
        const void* nl =
            scanned < window ? std::memchr(begin + scanned, '\n', window - scanned) : nullptr;
        if (nl != nullptr) {
            return take(s, static_cast<const char*>(nl) - begin + 1);
        }
        if (window >= limit || s.eof) {
            return take(s, window);
        }
        scanned = window;
        if (!refill(s, kRefillBytes)) {
            return nullptr;
        }
    }
}

PyObject* inputRead(PyObject* self, PyObject* args) noexcept {
    return guardedObject([&]() -> PyObject* {
        std::size_t size = 0;
        if (!parseSize(args, "|O:read", size)) {
            return nullptr;
        }
        return readImpl(stateOf(self), size);
    });
}

PyObject* inputReadline(PyObject* self, PyObject* args) noexcept {
    return guardedObject([&]() -> PyObject* {
        std::size_t size = 0;
        if (!parseSize(args, "|O:readline", size)) {
            return nullptr;
        }
        return readlineImpl(stateOf(self), size);
    });
}

PyObject* inputReadlines(PyObject* self, PyObject* args) noexcept {
    return guardedObject([&]() -> PyObject* {
        std::size_t hint = 0;
        if (!parseSize(args, "|O:readlines", hint)) {
            return nullptr;
        }
        InputState& s = stateOf(self);
        PyRef lines = PyRef::steal(PyList_New(0));
        if (!lines) {
            return nullptr;
        }
        std::size_t total = 0;
        for (;;) {
            PyRef line = PyRef::steal(readlineImpl(s, std::numeric_limits<std::size_t>::max()));
            if (!line) {
                return nullptr;
            }
            const auto length = static_cast<std::size_t>(PyBytes_GET_SIZE(line.get()));
            if (length == 0) {
                break;
            }
            if (PyList_Append(lines.get(), line.get()) != 0) {
                return nullptr;
            }
            total += length;
            if (hint != 0 && total >= hint) {
                break;
            }
        }
        return lines.release();
    });
}

PyObject* inputIter(PyObject* self) noexcept {
    Py_INCREF(self);
    return self;
}

PyObject* inputNext(PyObject* self) noexcept {
    return guardedObject([&]() -> PyObject* {
        PyObject* line = readlineImpl(stateOf(self), std::numeric_limits<std::size_t>::max());
        if (line != nullptr && PyBytes_GET_SIZE(line) == 0) {
            Py_DECREF(line);
            return nullptr;  // no exception set: StopIteration
        }
        return line;
    });
}

PyObject* returnTrue(PyObject* /*self*/, PyObject* /*unused*/) noexcept {
    Py_RETURN_TRUE;
}
PyObject* returnFalse(PyObject* /*self*/, PyObject* /*unused*/) noexcept {
    Py_RETURN_FALSE;
}

void inputDealloc(PyObject* self) noexcept {
    PyTypeObject* type = Py_TYPE(self);
    auto* object = reinterpret_cast<InputObject*>(self);
    delete object->state;
    object->state = nullptr;
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef kMethods[] = {
    {"read", inputRead, METH_VARARGS,
     "read(size=-1): up to size bytes (fewer only at the end of the body); all when -1."},
    {"readline", inputReadline, METH_VARARGS,
     "readline(size=-1): one line with its newline, at most size bytes."},
    {"readlines", inputReadlines, METH_VARARGS,
     "readlines(hint=-1): the remaining lines, stopping once hint bytes were read."},
    {"readable", returnTrue, METH_NOARGS, "Always True."},
    {"seekable", returnFalse, METH_NOARGS, "Always False."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot kSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(inputDealloc)},
    {Py_tp_iter, reinterpret_cast<void*>(inputIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(inputNext)},
    {Py_tp_methods, kMethods},
    {Py_tp_doc, const_cast<char*>("wsgi.input: the request body as a binary stream.")},
    {0, nullptr},
};

PyType_Spec kSpec = {
    "mod_wsgid.InputStream",
    sizeof(InputObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kSlots,
};

}  // namespace

PyRef createInputStreamType() {
    return PyRef::steal(PyType_FromSpec(&kSpec));
}

PyRef newInputStream(PyObject* type, RequestGate& gate, std::int64_t contentLength) {
    auto* typeObject = reinterpret_cast<PyTypeObject*>(type);
    PyRef self = PyRef::steal(typeObject->tp_alloc(typeObject, 0));
    if (!self) {
        return self;
    }
    auto* state = new (std::nothrow) InputState;
    if (state == nullptr) {
        PyErr_NoMemory();
        return {};
    }
    state->gate = &gate;
    state->remaining = contentLength < 0 ? -1 : contentLength;
    reinterpret_cast<InputObject*>(self.get())->state = state;
    return self;
}

void detachInputStream(PyObject* stream) noexcept {
    InputState* state = reinterpret_cast<InputObject*>(stream)->state;
    if (state != nullptr) {
        state->gate = nullptr;
    }
}

}  // namespace wsgid::python
