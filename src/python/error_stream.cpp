// SPDX-License-Identifier: Apache-2.0
// The log-writing text stream type (see error_stream.h). Each complete line becomes one log
// record, at Error level for wsgi.errors and print(): mod_wsgi sends both to the error log as
// [wsgi:error], and operators look there, so we do the same (with our own ids).
#include "python/error_stream.h"

#include <vector>

#include "python/log_text.h"
#include "python/py_error.h"
#include "python/slot_guard.h"

namespace wsgid::python {

namespace {

// A line longer than this is logged in pieces: an app writing without newlines must not grow
// the buffer without bound, and httpd truncates log lines of about 8 KiB anyway.
constexpr std::size_t kMaxLineBytes = 8192;

struct StreamState {
    ErrorStreamTarget target;
    std::string pending;  // the unfinished last line, guarded by the GIL
};

struct StreamObject {
    PyObject_HEAD StreamState* state;
};

StreamState& stateOf(PyObject* self) {
    return *reinterpret_cast<StreamObject*>(self)->state;
}

// One log line: the tag, then the text with control bytes escaped (a CR must not forge a line).
std::string tagged(const StreamState& s, std::string_view line) {
    if (s.target.tag.empty()) {
        return escapeControl(line);
    }
    std::string out;
    out.reserve(s.target.tag.size() + 3 + line.size());
    out.append("[").append(s.target.tag).append("] ").append(escapeControl(line));
    return out;
}

// Moves complete lines (and over-long pieces) out of the buffer; with `all`, the rest too.
std::vector<std::string> takeLines(StreamState& s, bool all) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (;;) {
        const std::size_t nl = s.pending.find('\n', start);
        if (nl != std::string::npos && nl - start <= kMaxLineBytes) {
            lines.push_back(tagged(s, std::string_view(s.pending).substr(start, nl - start)));
            start = nl + 1;
        } else if (s.pending.size() - start > kMaxLineBytes) {
            lines.push_back(tagged(s, std::string_view(s.pending).substr(start, kMaxLineBytes)));
            start += kMaxLineBytes;
        } else {
            break;
        }
    }
    if (all && start < s.pending.size()) {
        lines.push_back(tagged(s, std::string_view(s.pending).substr(start)));
        start = s.pending.size();
    }
    s.pending.erase(0, start);
    return lines;
}

void emit(StreamState& s, bool all) {
    std::vector<std::string> lines = takeLines(s, all);
    if (!lines.empty()) {
        logLinesWithoutGil(*s.target.log, s.target.level, s.target.id, lines);
    }
}

// Appends one str to the buffer; false with TypeError when `text` is not a str.
bool append(StreamState& s, PyObject* text) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s",
                     Py_TYPE(text)->tp_name);
        return false;
    }
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text, &size);
    if (data != nullptr) {
        s.pending.append(data, static_cast<std::size_t>(size));
        return true;
    }
    // Lone surrogates cannot be UTF-8: log them escaped rather than fail the app's print().
    PyErr_Clear();
    PyRef encoded = PyRef::steal(PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace"));
    if (!encoded) {
        return false;
    }
    s.pending.append(PyBytes_AS_STRING(encoded.get()),
                     static_cast<std::size_t>(PyBytes_GET_SIZE(encoded.get())));
    return true;
}

PyObject* streamWrite(PyObject* self, PyObject* text) noexcept {
    return guardedObject([&]() -> PyObject* {
        StreamState& s = stateOf(self);
        if (!append(s, text)) {
            return nullptr;
        }
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        emit(s, false);
        return PyLong_FromSsize_t(length);
    });
}

PyObject* streamWritelines(PyObject* self, PyObject* lines) noexcept {
    return guardedObject([&]() -> PyObject* {
        StreamState& s = stateOf(self);
        PyRef iterator = PyRef::steal(PyObject_GetIter(lines));
        if (!iterator) {
            return nullptr;
        }
        while (PyRef item = PyRef::steal(PyIter_Next(iterator.get()))) {
            if (!append(s, item.get())) {
                return nullptr;
            }
        }
        if (PyErr_Occurred() != nullptr) {
            return nullptr;
        }
        emit(s, false);
        Py_RETURN_NONE;
    });
}

// flush() logs nothing new: complete lines went out in write(), and an unfinished line waits for
// its end (or the end of the request, or the stream's). Stream wrappers such as colorama's,
// which Django installs, flush after every write; logging then would split each print() into
// several records.
PyObject* streamFlush(PyObject* self, PyObject* /*unused*/) noexcept {
    return guardedObject([&]() -> PyObject* {
        emit(stateOf(self), false);
        Py_RETURN_NONE;
    });
}

PyObject* streamFileno(PyObject* self, PyObject* /*unused*/) noexcept {
    const int fd = stateOf(self).target.fd;
    if (fd < 0) {
        PyErr_SetString(PyExc_OSError, "this log stream has no file descriptor");
        return nullptr;
    }
    return PyLong_FromLong(fd);
}

PyObject* returnFalse(PyObject* /*self*/, PyObject* /*unused*/) noexcept {
    Py_RETURN_FALSE;
}
PyObject* returnTrue(PyObject* /*self*/, PyObject* /*unused*/) noexcept {
    Py_RETURN_TRUE;
}
PyObject* returnNone(PyObject* /*self*/, PyObject* /*unused*/) noexcept {
    Py_RETURN_NONE;
}

PyObject* getEncoding(PyObject* /*self*/, void* /*closure*/) noexcept {
    return PyUnicode_FromString("utf-8");
}
PyObject* getErrors(PyObject* /*self*/, void* /*closure*/) noexcept {
    return PyUnicode_FromString("backslashreplace");
}
PyObject* getClosed(PyObject* /*self*/, void* /*closure*/) noexcept {
    Py_RETURN_FALSE;
}

void streamDealloc(PyObject* self) noexcept {
    PyTypeObject* type = Py_TYPE(self);
    auto* object = reinterpret_cast<StreamObject*>(self);
    if (object->state != nullptr) {
        // Log an unfinished last line with the GIL held: a dealloc may run anywhere.
        try {
            for (const std::string& line : takeLines(*object->state, true)) {
                object->state->target.log->log(object->state->target.level,
                                               object->state->target.id, line);
            }
        } catch (...) {
            // Out of memory while tearing down: the unfinished line is lost.
        }
        delete object->state;
        object->state = nullptr;
    }
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef kMethods[] = {
    {"write", streamWrite, METH_O, "Log complete lines of the text; keep the rest buffered."},
    {"writelines", streamWritelines, METH_O, "write() each string of an iterable."},
    {"flush", streamFlush, METH_NOARGS, "Nothing to do: lines are logged as they complete."},
    {"fileno", streamFileno, METH_NOARGS, "The descriptor of the error log, when there is one."},
    {"isatty", returnFalse, METH_NOARGS, "Always False."},
    {"readable", returnFalse, METH_NOARGS, "Always False."},
    {"seekable", returnFalse, METH_NOARGS, "Always False."},
    {"writable", returnTrue, METH_NOARGS, "Always True."},
    {"close", returnNone, METH_NOARGS, "Does nothing: the log stays open for the process."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef kGetSet[] = {
    {"encoding", getEncoding, nullptr, "Always 'utf-8'.", nullptr},
    {"errors", getErrors, nullptr, "Always 'backslashreplace'.", nullptr},
    {"closed", getClosed, nullptr, "Always False.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot kSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(streamDealloc)},
    {Py_tp_methods, kMethods},
    {Py_tp_getset, kGetSet},
    {Py_tp_doc, const_cast<char*>("Text stream that writes lines to the Apache error log.")},
    {0, nullptr},
};

PyType_Spec kSpec = {
    "mod_wsgid.LogStream",
    sizeof(StreamObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kSlots,
};

}  // namespace

void drainErrorStream(PyObject* stream) noexcept {
    StreamState* state = reinterpret_cast<StreamObject*>(stream)->state;
    if (state == nullptr) {
        return;
    }
    try {
        emit(*state, true);
    } catch (...) {
        // Out of memory while logging: the unfinished line is lost.
    }
}

PyRef createErrorStreamType() {
    return PyRef::steal(PyType_FromSpec(&kSpec));
}

PyRef newErrorStream(PyObject* type, ErrorStreamTarget target) {
    auto* typeObject = reinterpret_cast<PyTypeObject*>(type);
    PyRef self = PyRef::steal(typeObject->tp_alloc(typeObject, 0));
    if (!self) {
        return self;
    }
    // False positive: cppcheck loses `state` through the nothrow new; it is stored below.
    // cppcheck-suppress unreadVariable
    auto* state = new (std::nothrow) StreamState{std::move(target), {}};
    if (state == nullptr) {
        PyErr_NoMemory();
        return {};
    }
    reinterpret_cast<StreamObject*>(self.get())->state = state;
    return self;
}

}  // namespace wsgid::python
