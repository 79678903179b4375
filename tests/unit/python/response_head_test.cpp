// SPDX-License-Identifier: Apache-2.0
// start_response's argument checks (python/response_head.h): the status line, the headers, the
// latin-1 rule, and the exception type and message each rejection carries.
#include "python/python.h"

#include "python/response_head.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "python/gil.h"
#include "python/py_ref.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using python::PyRef;
using python::Rejection;

// Runs `body` with the GIL of the main interpreter, on a thread of its own (GilAcquire is for
// threads without a thread state; the test thread has the runtime's).
void withGil(const std::function<void()>& body) {
    (void)runtime();  // started by the environment
    std::thread thread([&] {
        const python::GilAcquire gil;
        body();
    });
    thread.join();
}

// The value of a Python expression (builtins only); fails the test and returns an empty PyRef
// when it raises.
PyRef eval(const char* expression) {
    PyRef globals = PyRef::steal(PyDict_New());
    if (!globals ||
        PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0) {
        PyErr_Clear();
        ADD_FAILURE() << "no globals for " << expression;
        return {};
    }
    PyRef value =
        PyRef::steal(PyRun_String(expression, Py_eval_input, globals.get(), globals.get()));
    if (!value) {
        PyErr_Clear();
        ADD_FAILURE() << "could not evaluate " << expression;
    }
    return value;
}

// The rejection of `status` (as a Python expression), or "ok: <line>" when accepted.
std::string statusResult(const char* status) {
    std::string result;
    withGil([&] {
        PyRef value = eval(status);
        if (!value) {
            return;
        }
        std::string line;
        std::optional<Rejection> rejected = python::parseStatusLine(value.get(), line);
        EXPECT_EQ(PyErr_Occurred(), nullptr);
        if (!rejected) {
            result = "ok: " + line;
            return;
        }
        result = std::string(reinterpret_cast<PyTypeObject*>(rejected->type)->tp_name) + ": " +
                 rejected->message;
    });
    return result;
}

// The rejection of `headers` (a Python expression), or "ok: n=<count> length=<Content-Length>".
std::string headersResult(const char* headers) {
    std::string result;
    withGil([&] {
        PyRef value = eval(headers);
        if (!value) {
            return;
        }
        python::ResponseHeaders out;
        std::optional<std::int64_t> length;
        std::optional<Rejection> rejected = python::parseResponseHeaders(value.get(), out, length);
        EXPECT_EQ(PyErr_Occurred(), nullptr);
        if (!rejected) {
            result = "ok: n=" + std::to_string(out.size()) +
                     " length=" + (length ? std::to_string(*length) : std::string("none"));
            return;
        }
        result = std::string(reinterpret_cast<PyTypeObject*>(rejected->type)->tp_name) + ": " +
                 rejected->message;
    });
    return result;
}

TEST(ResponseHead, AcceptsAFinalStatusLine) {
    EXPECT_EQ(statusResult("'200 OK'"), "ok: 200 OK");
    EXPECT_EQ(statusResult("'599 Whatever It Is'"), "ok: 599 Whatever It Is");
}

TEST(ResponseHead, RejectsAStatusThatIsNotAFinalStatusLine) {
    EXPECT_EQ(statusResult("b'200 OK'"), "TypeError: status must be str, not bytes");
    EXPECT_EQ(statusResult("'200'"),
              "ValueError: invalid status '200': expected '<3 digits> <reason>'");
    EXPECT_EQ(statusResult("'103 Early Hints'"),
              "ValueError: interim status '103 Early Hints' cannot be the response's status: a "
              "WSGI app answers with a final status (200-599)");
    EXPECT_EQ(statusResult("'200 \\u20ac'"),
              "ValueError: status '200 \xE2\x82\xAC' is not encodable as latin-1 (PEP 3333)");
}

TEST(ResponseHead, Latin1StrBecomesItsBytes) {
    withGil([] {
        PyRef value = eval("'caf\\xe9'");
        ASSERT_TRUE(value);
        std::string out;
        EXPECT_FALSE(python::latin1Bytes(value.get(), "header value", out));
        EXPECT_EQ(out, "caf\xe9");
    });
}

TEST(ResponseHead, AcceptsHeadersAndTakesTheContentLength) {
    EXPECT_EQ(headersResult("[]"), "ok: n=0 length=none");
    EXPECT_EQ(headersResult("[('Content-Type', 'text/plain'), ('content-length', '12')]"),
              "ok: n=2 length=12");
    EXPECT_EQ(headersResult("[('Content-Length', '12'), ('Content-Length', '12')]"),
              "ok: n=2 length=12");
}

TEST(ResponseHead, RejectsMalformedHeaders) {
    EXPECT_EQ(headersResult("(('A', 'b'),)"),
              "TypeError: response_headers must be a list, not tuple");
    EXPECT_EQ(headersResult("[('A', 'b', 'c')]"),
              "TypeError: each response header must be a (name, value) tuple, not tuple");
    EXPECT_EQ(headersResult("[('A', 1)]"), "TypeError: header value must be str, not int");
    EXPECT_EQ(headersResult("[('Bad Name', 'x')]"), "ValueError: invalid header name 'Bad Name'");
    EXPECT_EQ(headersResult("[('X-A', 'a\\r\\nX-B: b')]"),
              "ValueError: header 'X-A' has a value with a control character (CR, LF or NUL)");
    EXPECT_EQ(headersResult("[('Connection', 'close')]"),
              "ValueError: hop-by-hop header 'Connection' is not allowed in a WSGI response (PEP "
              "3333)");
    EXPECT_EQ(headersResult("[('Content-Length', '12'), ('Content-Length', '13')]"),
              "ValueError: invalid Content-Length '13'");
    EXPECT_EQ(headersResult("[('Content-Length', '-1')]"),
              "ValueError: invalid Content-Length '-1'");
}

}  // namespace
}  // namespace wsgid::testing
