// SPDX-License-Identifier: Apache-2.0
// Fetching, describing and logging Python exceptions (see py_error.h).
#include "python/py_error.h"

#include <algorithm>
#include <iterator>

#include "python/gil.h"
#include "python/log_text.h"

namespace wsgid::python {

bool PyErrorInfo::matches(PyObject* excType) const noexcept {
    return type && PyErr_GivenExceptionMatches(type.get(), excType) != 0;
}

PyErrorInfo fetchError() noexcept {
    PyErrorInfo error;
#if PY_VERSION_HEX >= 0x030C0000
    PyObject* value = PyErr_GetRaisedException();
    if (value != nullptr) {
        error.type = PyRef::borrow(reinterpret_cast<PyObject*>(Py_TYPE(value)));
        error.traceback = PyRef::steal(PyException_GetTraceback(value));
        error.value = PyRef::steal(value);
    }
#else
    PyObject* type = nullptr;
    PyObject* value = nullptr;
    PyObject* traceback = nullptr;
    PyErr_Fetch(&type, &value, &traceback);
    if (type != nullptr) {
        PyErr_NormalizeException(&type, &value, &traceback);
        if (traceback != nullptr && value != nullptr) {
            PyException_SetTraceback(value, traceback);
        }
    }
    error.type = PyRef::steal(type);
    error.value = PyRef::steal(value);
    error.traceback = PyRef::steal(traceback);
#endif
    return error;
}

void restoreError(PyErrorInfo error) noexcept {
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(error.value.release());
#else
    PyErr_Restore(error.type.release(), error.value.release(), error.traceback.release());
#endif
}

std::string toUtf8(PyObject* obj) {
    if (obj == nullptr) {
        return {};
    }
    PyRef text = PyRef::steal(PyObject_Str(obj));
    if (!text) {
        PyErr_Clear();
        return {};
    }
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text.get(), &size);
    if (data != nullptr) {
        return {data, static_cast<std::size_t>(size)};
    }
    PyErr_Clear();
    PyRef encoded =
        PyRef::steal(PyUnicode_AsEncodedString(text.get(), "utf-8", "backslashreplace"));
    if (!encoded) {
        PyErr_Clear();
        return {};
    }
    return {PyBytes_AS_STRING(encoded.get()),
            static_cast<std::size_t>(PyBytes_GET_SIZE(encoded.get()))};
}

std::string describeError(const PyErrorInfo& error) {
    if (!error.present()) {
        return "unknown error (no Python exception was set)";
    }
    std::string name = PyType_Check(error.type.get())
                           ? reinterpret_cast<PyTypeObject*>(error.type.get())->tp_name
                           : "exception";
    if (!error.value || error.value.get() == Py_None) {
        return name;
    }
    PyRef text = PyRef::steal(PyObject_Str(error.value.get()));
    if (!text) {
        PyErr_Clear();
        return name + ": <unprintable " + name + " object>";
    }
    std::string message = escapeControl(toUtf8(text.get()));
    return message.empty() ? name : name + ": " + message;
}

std::vector<std::string> formatTraceback(const PyErrorInfo& error) {
    std::vector<std::string> lines;
    if (!error.present()) {
        return lines;
    }
    PyRef module = PyRef::steal(PyImport_ImportModule("traceback"));
    PyRef formatted;
    if (module) {
        formatted = PyRef::steal(
            PyObject_CallMethod(module.get(), "format_exception", "OOO", error.type.get(),
                                error.value ? error.value.get() : Py_None,
                                error.traceback ? error.traceback.get() : Py_None));
    }
    PyRef joined;
    if (formatted) {
        PyRef empty = PyRef::steal(PyUnicode_FromString(""));
        if (empty) {
            joined = PyRef::steal(PyUnicode_Join(empty.get(), formatted.get()));
        }
    }
    if (!joined) {
        PyErr_Clear();
        lines.push_back(describeError(error));
        return lines;
    }
    const std::string text = toUtf8(joined.get());
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        if (end > start) {
            lines.push_back(text.substr(start, end - start));
        }
        start = end + 1;
    }
    return lines;
}

void logLinesWithoutGil(common::LogSink& log, common::LogLevel level, std::string_view id,
                        const std::vector<std::string>& lines) {
    GilRelease unlocked;
    for (const std::string& line : lines) {
        log.log(level, id, escapeControl(line));
    }
}

void logError(common::LogSink& log, std::string_view id, const std::string& headline,
              const PyErrorInfo& error) {
    std::vector<std::string> lines;
    lines.push_back(headline);
    std::vector<std::string> traceback = formatTraceback(error);
    std::move(traceback.begin(), traceback.end(), std::back_inserter(lines));
    logLinesWithoutGil(log, common::LogLevel::Error, id, lines);
}

}  // namespace wsgid::python
