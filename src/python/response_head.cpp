// SPDX-License-Identifier: Apache-2.0
// The checks of start_response's status and response_headers (see response_head.h). No request
// state here: the call raises what these return.
#include "python/response_head.h"

#include "common/ascii.h"
#include "common/http_syntax.h"
#include "python/log_text.h"
#include "python/py_error.h"
#include "python/py_ref.h"

namespace wsgid::python {

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

std::optional<Rejection> parseStatusLine(PyObject* status, std::string& out) {
    if (std::optional<Rejection> rejected = latin1Bytes(status, "status", out)) {
        return rejected;
    }
    if (!common::isValidStatusLine(out)) {
        return Rejection{PyExc_ValueError, "invalid status '" + escapeControl(out) +
                                               "': expected '<3 digits> <reason>'"};
    }
    if (!common::isFinalStatusLine(out)) {
        return Rejection{PyExc_ValueError, "interim status '" + escapeControl(out) +
                                               "' cannot be the response's status: a WSGI app "
                                               "answers with a final status (200-599)"};
    }
    return std::nullopt;
}

std::optional<Rejection> parseResponseHeaders(PyObject* headers, ResponseHeaders& out,
                                              std::optional<std::int64_t>& length) {
    if (!PyList_Check(headers)) {
        return Rejection{PyExc_TypeError, std::string("response_headers must be a list, not ") +
                                              Py_TYPE(headers)->tp_name};
    }
    const Py_ssize_t count = PyList_GET_SIZE(headers);
    out.reserve(static_cast<std::size_t>(count));
    for (Py_ssize_t i = 0; i < count; ++i) {
        PyObject* item = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            return Rejection{PyExc_TypeError,
                             "each response header must be a (name, value) tuple, not " +
                                 std::string(Py_TYPE(item)->tp_name)};
        }
        std::string name;
        std::string value;
        std::optional<Rejection> rejected =
            latin1Bytes(PyTuple_GET_ITEM(item, 0), "header name", name);
        if (!rejected) {
            rejected = latin1Bytes(PyTuple_GET_ITEM(item, 1), "header value", value);
        }
        if (rejected) {
            return rejected;
        }
        if (!common::isHttpToken(name)) {
            return Rejection{PyExc_ValueError, "invalid header name '" + escapeControl(name) + "'"};
        }
        if (!common::isSafeHeaderValue(value)) {
            return Rejection{PyExc_ValueError, "header '" + name +
                                                   "' has a value with a control character "
                                                   "(CR, LF or NUL)"};
        }
        if (common::isHopByHopHeader(name)) {
            return Rejection{PyExc_ValueError, "hop-by-hop header '" + name +
                                                   "' is not allowed in a WSGI response "
                                                   "(PEP 3333)"};
        }
        if (common::equalsIgnoreCase(name, "Content-Length")) {
            // The rule the module applies to the Start frame again (decodeResponseStart).
            const std::optional<std::int64_t> parsed = common::parseContentLength(value);
            if (!parsed || (length && *length != *parsed)) {
                return Rejection{PyExc_ValueError,
                                 "invalid Content-Length '" + escapeControl(value) + "'"};
            }
            length = parsed;
        }
        out.emplace_back(std::move(name), std::move(value));
    }
    return std::nullopt;
}

}  // namespace wsgid::python
