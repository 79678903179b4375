// SPDX-License-Identifier: Apache-2.0
// wsgi.input (see input_stream.h): read/readline/readlines/iteration. Body bytes already here
// are taken with the GIL held (RequestIo::tryReadBody); only a read that has to wait releases it
// around RequestIo::readBody, each read made with a pass of the request's gate. A large read goes
// straight into the bytes object it returns; readline and small reads go through a read-ahead
// buffer.
#include "python/input_stream.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <string_view>

#include "common/byte_buffer.h"
#include "python/request_gate.h"
#include "python/slot_guard.h"

namespace wsgid::python {

namespace {

// Bytes asked of RequestIo per refill when the app wants less (readline, small reads): one
// protocol body frame's worth, so small reads do not cost one RequestIo call each. A read that
// still needs this much or more goes straight into the bytes object it returns instead.
constexpr std::size_t kRefillBytes = std::size_t{64} * 1024;
// Upper bound of one refill: a read-ahead never holds more than this beyond what was asked for.
// Also the first allocation of a large read whose end is unknown (a chunked body), which then
// grows by doubling.
constexpr std::size_t kMaxRefillBytes = std::size_t{1024} * 1024;
// Most bytes allocated ahead for one read whose end the Content-Length tells: it is the client's
// claim, so a huge one is not allocated before its bytes arrive; beyond this the result grows as
// they do.
constexpr std::size_t kMaxReserveBytes = std::size_t{16} * 1024 * 1024;

constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

struct InputState {
    RequestGate* gate = nullptr;  // nullptr once detached
    std::int64_t remaining = -1;  // body bytes not yet asked of io; -1 = unknown
    common::ByteBuffer buffer;    // read-ahead: bytes read from io and not yet returned
    bool eof = false;
    bool busy = false;  // a read has the GIL released; guards the state against a second thread
};

struct InputObject {
    PyObject_HEAD InputState* state;
};

InputState& stateOf(PyObject* self) {
    return *reinterpret_cast<InputObject*>(self)->state;
}

std::size_t available(const InputState& s) {
    return s.buffer.size();
}

// Reads body bytes into `out` (not empty): those already here with the GIL held, or else with
// the GIL released while it waits. Sets `got` (0 with eof set when the body ended). False with
// OSError set when the body cannot be read.
bool readIo(InputState& s, std::span<char> out, std::size_t& got) {
    got = 0;
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
    if (s.remaining > 0) {
        out = out.first(std::min<std::size_t>(out.size(), static_cast<std::size_t>(s.remaining)));
    }
    std::optional<common::Result<std::size_t>> quick = pass.io().tryReadBody(out);
    if (!quick) {
        s.busy = true;
        quick = pass.withoutGil([&](RequestIo& io) { return io.readBody(out); });
        s.busy = false;
    }
    const common::Result<std::size_t>& r = *quick;
    if (!r.isOk() && pass.interrupted()) {
        PyErr_SetString(PyExc_OSError,
                        "the request ended while wsgi.input was being read; its connection was "
                        "closed");
        return false;
    }
    if (!r.isOk()) {
        PyErr_Format(PyExc_OSError, "failed to read the request body: %s",
                     r.status().message().c_str());
        return false;
    }
    got = std::min(r.value(), out.size());
    if (got == 0) {
        s.eof = true;
    } else if (s.remaining > 0) {
        s.remaining -= static_cast<std::int64_t>(got);
    }
    return true;
}

// Reads more body into the read-ahead buffer, at least `want` bytes' worth of room. False with
// an exception set when the body cannot be read; sets eof when it ended.
bool refill(InputState& s, std::size_t want) {
    if (s.eof) {
        return true;
    }
    std::size_t got = 0;
    if (s.remaining == 0) {
        return readIo(s, {}, got);  // checks the pass, then sets eof
    }
    std::size_t ask = std::clamp(want, kRefillBytes, kMaxRefillBytes);
    if (s.remaining > 0) {
        ask = std::min<std::size_t>(ask, static_cast<std::size_t>(s.remaining));
    }
    if (!readIo(s, s.buffer.prepare(ask), got)) {
        return false;
    }
    s.buffer.commit(got);
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
    PyObject* out = PyBytes_FromStringAndSize(s.buffer.data(), static_cast<Py_ssize_t>(count));
    if (out != nullptr) {
        s.buffer.consume(count);
    }
    return out;
}

// Parses an optional size argument: None or negative = unlimited (kUnlimited).
bool parseSize(PyObject* args, const char* format, std::size_t& size) {
    PyObject* arg = Py_None;
    if (PyArg_ParseTuple(args, format, &arg) == 0) {
        return false;
    }
    size = kUnlimited;
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

// A read of up to `most` bytes (more than are buffered, at least kRefillBytes more) straight
// into the bytes object it returns: the buffered bytes first, then the body as it comes, with no
// copy in between. The object is allocated at once as far as the Content-Length vouches for the
// bytes (up to kMaxReserveBytes more), else grows by doubling. Bytes read before a failure go
// back to the buffer, so a later read still sees them, as with the buffered path.
PyObject* readDirect(InputState& s, std::size_t most) {
    const std::size_t have = available(s);
    const std::size_t ahead = s.remaining >= 0 ? kMaxReserveBytes : kMaxRefillBytes;
    std::size_t allocated = most - have <= ahead ? most : have + ahead;
    PyRef out =
        PyRef::steal(PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(allocated)));
    if (!out) {
        return nullptr;
    }
    if (have > 0) {
        std::memcpy(PyBytes_AS_STRING(out.get()), s.buffer.data(), have);
        s.buffer.consume(have);
    }
    std::size_t filled = have;
    bool failed = false;
    while (filled < most && !s.eof && !failed) {
        if (filled == allocated) {
            // Only without a Content-Length (or past kMaxReserveBytes): copies at most as many
            // bytes as the body has, once each doubling.
            allocated = most - allocated <= allocated ? most : 2 * allocated;
            PyRef grown = PyRef::steal(
                PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(allocated)));
            if (!grown) {
                failed = true;  // MemoryError: keep what was read
                break;
            }
            std::memcpy(PyBytes_AS_STRING(grown.get()), PyBytes_AS_STRING(out.get()), filled);
            out = std::move(grown);
        }
        std::size_t got = 0;
        failed = !readIo(
            s, std::span<char>(PyBytes_AS_STRING(out.get()) + filled, allocated - filled), got);
        filled += got;
    }
    if (failed) {
        // The buffer is still empty (no other read ran meanwhile: busy). Best effort: the read
        // raises anyway.
        PyObject* type = nullptr;
        PyObject* value = nullptr;
        PyObject* traceback = nullptr;
        PyErr_Fetch(&type, &value, &traceback);
        try {
            s.buffer.append(std::string_view(PyBytes_AS_STRING(out.get()), filled));
        } catch (const std::bad_alloc&) {
            // The bytes are lost; the read's own error is what the app sees.
        }
        PyErr_Restore(type, value, traceback);
        return nullptr;
    }
    if (filled == allocated) {
        return out.release();
    }
    PyObject* result = out.release();
    if (_PyBytes_Resize(&result, static_cast<Py_ssize_t>(filled)) != 0) {
        return nullptr;
    }
    return result;
}

PyObject* readImpl(InputState& s, std::size_t size) {
    if (!enter(s)) {
        return nullptr;
    }
    if (available(s) >= size || s.eof) {
        return take(s, size);
    }
    // The most this read can return: what is asked, as far as the body still has it.
    std::size_t most = size;
    if (s.remaining >= 0) {
        most = std::min(size, available(s) + static_cast<std::size_t>(s.remaining));
    }
    if (most - available(s) >= kRefillBytes) {
        return readDirect(s, most);
    }
    while (available(s) < size && !s.eof) {
        const std::size_t need = size == kUnlimited ? kMaxRefillBytes : size - available(s);
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
        const char* begin = s.buffer.data();
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
            PyRef line = PyRef::steal(readlineImpl(s, kUnlimited));
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
        PyObject* line = readlineImpl(stateOf(self), kUnlimited);
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
