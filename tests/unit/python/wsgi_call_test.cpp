// SPDX-License-Identifier: Apache-2.0
// WsgiCall through Runtime::handle: environ contents, start_response rules, write(), body
// iteration, close(), Content-Length, errors, wsgi.errors, print() and wsgi.file_wrapper.
#include "python/python.h"

#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "python/gil.h"
#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

// An app that runs `checks` (Python statements appending to `errors`) and answers "ok" or the
// list of failed checks.
std::string checkingApp(const std::string& checks) {
    return "def application(environ, start_response):\n"
           "    errors = []\n"
           "    def check(condition, what):\n"
           "        if not condition:\n"
           "            errors.append(what)\n" +
           checks +
           "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
           "    return [('; '.join(errors) or 'ok').encode()]\n";
}

python::WsgiRequest requestWith(std::vector<std::pair<std::string, std::string>> extra,
                                std::string requestId = "req-test") {
    python::WsgiRequest request;
    request.environ = basicEnviron();
    for (auto& kv : extra) {
        request.environ.push_back(std::move(kv));
    }
    request.requestId = std::move(requestId);
    return request;
}

TEST(WsgiEnviron, HasThePep3333Keys) {
    FakeRequestIo io;
    const auto outcome = runApp(checkingApp(R"PY(
    check(environ['wsgi.version'] == (1, 0), 'version')
    check(environ['wsgi.url_scheme'] == 'http', 'scheme')
    check(environ['wsgi.input_terminated'] is True, 'input_terminated')
    check(environ['wsgi.multithread'] is True, 'multithread')
    check(environ['wsgi.multiprocess'] is True, 'multiprocess')
    check(environ['wsgi.run_once'] is False, 'run_once')
    check(callable(environ['wsgi.file_wrapper']), 'file_wrapper')
    check(hasattr(environ['wsgi.input'], 'read'), 'input')
    check(hasattr(environ['wsgi.errors'], 'write'), 'errors')
    check(environ['REQUEST_METHOD'] == 'GET', 'method')
    check(environ['PATH_INFO'] == '/hello', 'path')
    check(environ['QUERY_STRING'] == 'a=1', 'query')
)PY"),
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
    EXPECT_EQ(io.status, "200 OK");
}

class HttpsValues : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(HttpsValues, SetUrlSchemeAndAreRemoved) {
    FakeRequestIo io;
    const auto [value, scheme] = GetParam();
    const auto outcome =
        runApp(checkingApp("    check(environ['wsgi.url_scheme'] == '" + std::string(scheme) +
                           "', 'scheme ' + environ['wsgi.url_scheme'])\n"
                           "    check('HTTPS' not in environ, 'HTTPS kept')\n"),
               io, requestWith({{"HTTPS", value}}));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

INSTANTIATE_TEST_SUITE_P(
    WsgiEnviron, HttpsValues,
    ::testing::Values(std::make_pair("on", "https"), std::make_pair("On", "https"),
                      std::make_pair("ON", "https"), std::make_pair("1", "https"),
                      std::make_pair("off", "http"), std::make_pair("0", "http")));

TEST(WsgiEnviron, ValuesAreLatin1Str) {
    FakeRequestIo io;
    const auto outcome = runApp(checkingApp(R"PY(
    check(environ['HTTP_X_NAME'] == '\xe9t\xe9', repr(environ['HTTP_X_NAME']))
    check(environ['HTTP_X_NAME'].encode('latin-1') == b'\xe9t\xe9', 'round trip')
    check(all(type(k) is str for k in environ), 'keys')
    check(all(type(v) is str for k, v in environ.items() if k.isupper()), 'values')
)PY"),
                                io, requestWith({{"HTTP_X_NAME", "\xe9t\xe9"}}));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

TEST(WsgiEnviron, HasTheModWsgiKeys) {
    FakeRequestIo io;
    python::WsgiRequest request = requestWith({}, "req-42");
    request.callableObject = "application";
    const auto outcome = runApp(checkingApp(R"PY(
    check(environ['mod_wsgi.process_group'] == 'test-group', 'process_group')
    check(environ['mod_wsgi.application_group'] == '', 'application_group')
    check(environ['mod_wsgi.callable_object'] == 'application', 'callable_object')
    check(environ['mod_wsgi.request_id'] == 'req-42', 'request_id')
    check(environ['mod_wsgi.script_name'] == '/app', 'script_name')
    check(environ['mod_wsgi.path_info'] == '/hello', 'path_info')
    check(environ['mod_wsgi.version'] == (5, 0, 0), 'mod_wsgi.version')
    check(environ['mod_wsgid.version'] == (0, 1, 0), 'mod_wsgid.version')
    check(environ['mod_wsgi.daemon_start'].isdigit(), 'daemon_start')
)PY"),
                                io, request);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

TEST(WsgiEnviron, ModuleSnapshotOfTheMappedPathWinsOverARewrittenScriptName) {
    // A trusted X-Forwarded-Script-Name rewrote SCRIPT_NAME in the module; mod_wsgi.script_name
    // keeps what httpd mapped (the module sends it).
    FakeRequestIo io;
    const auto outcome = runApp(checkingApp(R"PY(
    check(environ['SCRIPT_NAME'] == '/public', 'SCRIPT_NAME')
    check(environ['mod_wsgi.script_name'] == '/mapped', 'script_name')
    check(environ['mod_wsgi.path_info'] == '/x', 'path_info')
)PY"),
                                io,
                                requestWith({{"mod_wsgi.script_name", "/mapped"},
                                             {"mod_wsgi.path_info", "/x"},
                                             {"SCRIPT_NAME", "/public"}}));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

TEST(WsgiEnviron, RequestProcessGroupWinsOverTheDefault) {
    FakeRequestIo io;
    python::WsgiRequest request = requestWith({});
    request.processGroup = "site-a";
    const auto outcome =
        runApp(checkingApp("    check(environ['mod_wsgi.process_group'] == 'site-a', 'group')\n"),
               io, request);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

TEST(WsgiEnviron, KeysComeInTheRequestsOrderThenTheWsgiAndModWsgiOnes) {
    FakeRequestIo io;
    const auto outcome = runApp(checkingApp(R"PY(
    expected = ['REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME',
                'SERVER_PORT', 'SERVER_PROTOCOL', 'HTTP_X_OWN', 'wsgi.version', 'wsgi.url_scheme',
                'wsgi.input', 'wsgi.input_terminated', 'wsgi.errors', 'wsgi.multithread',
                'wsgi.multiprocess', 'wsgi.run_once', 'wsgi.file_wrapper', 'mod_wsgi.version',
                'mod_wsgid.version', 'mod_wsgi.process_group', 'mod_wsgi.application_group',
                'mod_wsgi.callable_object', 'mod_wsgi.request_id', 'mod_wsgi.daemon_start',
                'mod_wsgi.script_name', 'mod_wsgi.path_info']
    check(list(environ) == expected, repr(list(environ)))
)PY"),
                                io, requestWith({{"HTTP_X_OWN", "1"}}));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

// The checks of KnownKeysAreInternedInEveryInterpreter.
constexpr const char* kInternedKeyChecks = R"PY(
    import sys
    for key in environ:
        if key in ('REQUEST_METHOD', 'SERVER_NAME', 'HTTP_HOST', 'wsgi.version', 'wsgi.input',
                   'mod_wsgi.request_id', 'mod_wsgi.script_name'):
            check(sys.intern(key) is key, key + ' not interned')
    check(environ['HTTP_HOST'] == 'example.org', 'HTTP_HOST')
    check(environ['wsgi.version'] == (1, 0), 'version')
)PY";

class KnownKeys : public ::testing::TestWithParam<const char*> {};

TEST_P(KnownKeys, AreInternedInEveryInterpreter) {
    for (int round = 0; round < 2; ++round) {
        FakeRequestIo io;
        python::WsgiRequest request = requestWith({{"HTTP_HOST", "example.org"}});
        request.applicationGroup = GetParam();
        const auto outcome = runApp(checkingApp(kInternedKeyChecks), io, request);
        EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
        EXPECT_EQ(io.sent(), "ok") << "round " << round;
    }
}

INSTANTIATE_TEST_SUITE_P(WsgiEnviron, KnownKeys, ::testing::Values("", "environ-cache"));

// A Python str literal whose characters are `bytes` (latin-1), every byte escaped.
std::string latin1Literal(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "'";
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out + "'";
}

// An app that checks environ[key] == the latin-1 text of the bytes for each of `latin1`, and
// == os.fsdecode(bytes) for each of `paths`; and, if an earlier such app ran in this
// interpreter, that each of `shared` is the very object that app saw.
std::string repeatApp(const std::vector<std::pair<std::string, std::string>>& latin1,
                      const std::vector<std::pair<std::string, std::string>>& paths,
                      const std::vector<std::string>& shared) {
    std::string checks =
        "    import os, sys\n"
        "    previous = getattr(sys, '_wsgid_test_previous', None)\n"
        "    sys._wsgid_test_previous = dict(environ)\n";
    for (const auto& [key, bytes] : latin1) {
        checks += "    check(environ.get('" + key + "') == " + latin1Literal(bytes) + ", '" + key +
                  " ' + repr(environ.get('" + key + "')))\n";
    }
    for (const auto& [key, bytes] : paths) {
        checks += "    check(environ.get('" + key + "') == os.fsdecode(" + latin1Literal(bytes) +
                  ".encode('latin-1')), '" + key + " ' + repr(environ.get('" + key + "')))\n";
    }
    for (const auto& key : shared) {
        checks += "    check(previous is None or previous['" + key + "'] is environ['" + key +
                  "'], '" + key + " not shared')\n";
    }
    return checkingApp(checks);
}

TEST(WsgiEnviron, RepeatingValuesAreSharedWhileTheirBytesStayTheSameAndFollowEveryChange) {
    const std::string longAccept(300, 'a');  // above kMaxReusedValueBytes: never kept
    const std::vector<std::pair<std::string, std::string>> first = {
        {"HTTP_USER_AGENT", "agent/\xe9"},
        {"HTTP_ACCEPT", longAccept},
        {"HTTP_X_OWN", "own"},
        {"HTTP_COOKIE", "a=1"},
        {"DOCUMENT_ROOT", "/srv/caf\xc3\xa9"},
        {"SCRIPT_FILENAME", "/srv/app.wsgi"},
    };
    const std::vector<std::pair<std::string, std::string>> changed = {
        {"REQUEST_METHOD", "POST"},
        {"HTTP_USER_AGENT", "agent/\xe8"},
        {"HTTP_ACCEPT", std::string(300, 'b')},
        {"HTTP_X_OWN", "other"},
        {"HTTP_COOKIE", "a=2"},
        {"DOCUMENT_ROOT", "/srv/cafe"},
        {"SCRIPT_FILENAME", "/srv/app2.wsgi"},
    };
    const auto latin1Of = [](const std::vector<std::pair<std::string, std::string>>& entries) {
        std::vector<std::pair<std::string, std::string>> out = {{"REQUEST_METHOD", "GET"},
                                                                {"SERVER_NAME", "localhost"}};
        for (const auto& entry : entries) {
            if (entry.first == "REQUEST_METHOD") {
                out.front().second = entry.second;
            } else if (entry.first != "DOCUMENT_ROOT" && entry.first != "SCRIPT_FILENAME") {
                out.push_back(entry);
            }
        }
        return out;
    };
    const auto pathsOf = [](const std::vector<std::pair<std::string, std::string>>& entries) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& entry : entries) {
            if (entry.first == "DOCUMENT_ROOT" || entry.first == "SCRIPT_FILENAME") {
                out.push_back(entry);
            }
        }
        return out;
    };
    const std::vector<std::string> alwaysShared = {"SERVER_NAME", "SERVER_PROTOCOL",
                                                   "mod_wsgi.process_group", "wsgi.version",
                                                   "wsgi.url_scheme"};
    struct Round {
        const std::vector<std::pair<std::string, std::string>>& entries;
        std::vector<std::string> shared;
    };
    const Round rounds[] = {
        {first, alwaysShared},
        // The same bytes: the same objects (the ASCII path too; the non-ASCII one is decoded
        // again, which the checks of its value cover).
        {first, {"REQUEST_METHOD", "HTTP_USER_AGENT", "SCRIPT_FILENAME", "SERVER_NAME"}},
        {changed, alwaysShared},
        {changed, {"REQUEST_METHOD", "HTTP_USER_AGENT", "DOCUMENT_ROOT", "SCRIPT_FILENAME"}},
        {first, alwaysShared},
    };
    for (std::size_t i = 0; i < std::size(rounds); ++i) {
        FakeRequestIo io;
        python::WsgiRequest request = requestWith({});
        request.environ.erase(request.environ.begin());  // REQUEST_METHOD: set below
        request.environ.emplace_back("REQUEST_METHOD", "GET");
        for (const auto& entry : rounds[i].entries) {
            if (entry.first == "REQUEST_METHOD") {
                request.environ.back().second = entry.second;
            } else {
                request.environ.push_back(entry);
            }
        }
        const auto outcome = runApp(
            repeatApp(latin1Of(rounds[i].entries), pathsOf(rounds[i].entries), rounds[i].shared),
            io, request);
        EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
        EXPECT_EQ(io.sent(), "ok") << "round " << i;
    }
}

TEST(StartResponse, ListBodyIsSentWithStatusAndHeaders) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('201 Created', [('Content-Type', 'text/plain'), ('X-A', 'b\xe9')])
    return [b'hello ', b'world']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_EQ(io.startCalls, 1);
    EXPECT_EQ(io.status, "201 Created");
    ASSERT_EQ(io.headers.size(), 2u);
    EXPECT_EQ(io.header("Content-Type"), "text/plain");
    EXPECT_EQ(io.header("X-A"), "b\xe9");  // latin-1 bytes on the wire
    EXPECT_EQ(io.sent(), "hello world");
    EXPECT_FALSE(io.bodyBeforeStart);
}

TEST(StartResponse, SecondCallWithoutExcInfoRaises) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    try:
        start_response('500 Oops', [])
    except AssertionError as e:
        return [b'raised: ' + str(e).split(';')[0].encode()]
    return [b'no error']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.status, "200 OK");
    EXPECT_EQ(io.sent(), "raised: start_response() was already called");
}

TEST(StartResponse, ExcInfoBeforeHeadersSentReplacesStatus) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
import sys
def application(environ, start_response):
    start_response('200 OK', [('X-First', '1')])
    try:
        raise ValueError('boom')
    except ValueError:
        start_response('500 Internal Server Error', [('X-Second', '2')], sys.exc_info())
    return [b'error page']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.status, "500 Internal Server Error");
    EXPECT_FALSE(io.header("X-First"));
    EXPECT_EQ(io.header("X-Second"), "2");
    EXPECT_EQ(io.sent(), "error page");
}

TEST(StartResponse, ExcInfoAfterHeadersSentReraisesTheAppException) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
import sys
class Failing(Exception):
    pass
def application(environ, start_response):
    start_response('200 OK', [])
    yield b'partial'
    try:
        raise Failing('after headers')
    except Failing:
        start_response('500 Oops', [], sys.exc_info())
    yield b'never'
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::AppError);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_NE(outcome.message.find("Failing: after headers"), std::string::npos) << outcome.message;
    EXPECT_EQ(io.status, "200 OK");
    EXPECT_EQ(io.sent(), "partial");
    EXPECT_TRUE(testLog().contains("WG0330", "Failing: after headers"));
    EXPECT_TRUE(testLog().contains("WG0330", "Traceback"));
}

TEST(StartResponse, ExcInfoMustBeATuple) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    try:
        start_response('200 OK', [], 'not a tuple')
    except TypeError:
        start_response('200 OK', [])
        return [b'type error']
    return [b'accepted']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "type error");
}

// Each app passes an invalid status or header list and lets the exception escape.
class InvalidStartResponse : public ::testing::TestWithParam<std::pair<const char*, const char*>> {
};

TEST_P(InvalidStartResponse, IsInvalidResponseAndNothingIsSent) {
    FakeRequestIo io;
    const auto [arguments, expectedText] = GetParam();
    const auto outcome = runApp(std::string("def application(environ, start_response):\n"
                                            "    start_response(") +
                                    arguments + ")\n    return [b'body']\n",
                                io);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse) << outcome.message;
    EXPECT_FALSE(outcome.headersSent);
    EXPECT_NE(outcome.message.find(expectedText), std::string::npos) << outcome.message;
    EXPECT_EQ(io.startCalls, 0);
    EXPECT_TRUE(io.blocks.empty());
}

INSTANTIATE_TEST_SUITE_P(
    StartResponse, InvalidStartResponse,
    ::testing::Values(
        std::make_pair("'200', []", "invalid status '200'"),
        std::make_pair("'2000 OK', []", "invalid status"),
        std::make_pair("'200 OK\\r\\nX: y', []", "invalid status"),
        std::make_pair("'103 Early Hints', []", "interim status '103 Early Hints'"),
        std::make_pair("'101 Switching Protocols', []", "interim status"),
        std::make_pair("b'200 OK', []", "status must be str, not bytes"),
        std::make_pair("'200 \\u20ac', []", "not encodable as latin-1"),
        std::make_pair("'200 OK', [('Bad Name', 'x')]", "invalid header name 'Bad Name'"),
        std::make_pair("'200 OK', [('', 'x')]", "invalid header name ''"),
        std::make_pair("'200 OK', [('X-A', 'a\\r\\nSet-Cookie: evil=1')]", "control character"),
        std::make_pair("'200 OK', [('X-A', 'a\\x00')]", "control character"),
        std::make_pair("'200 OK', [('X-A', b'bytes')]", "header value must be str, not bytes"),
        std::make_pair("'200 OK', [(b'X-A', 'v')]", "header name must be str, not bytes"),
        std::make_pair("'200 OK', [('X-A', 1)]", "header value must be str, not int"),
        std::make_pair("'200 OK', [('X-A', '\\u20ac')]", "not encodable as latin-1"),
        std::make_pair("'200 OK', [('Connection', 'close')]", "hop-by-hop header 'Connection'"),
        std::make_pair("'200 OK', [('Transfer-Encoding', 'chunked')]", "hop-by-hop"),
        std::make_pair("'200 OK', (('X-A', 'b'),)", "must be a list, not tuple"),
        std::make_pair("'200 OK', [('X-A', 'b', 'c')]", "(name, value) tuple"),
        std::make_pair("'200 OK', [['X-A', 'b']]", "(name, value) tuple"),
        std::make_pair("'200 OK', [('Content-Length', 'ten')]", "invalid Content-Length"),
        std::make_pair("'200 OK', [('Content-Length', '-1')]", "invalid Content-Length")));

TEST(StartResponse, Latin1TextAndStrSubclassesAreSentAsTheirLatin1Bytes) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
class Text(str):
    pass
def application(environ, start_response):
    start_response(Text('200 OK'), [('X-Latin', 'caf\xe9'), (Text('X-Sub'), Text('v\xff')),
                                    ('X-Ascii', 'plain'), ('X-Empty', '')])
    return [b'x']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.status, "200 OK");
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"X-Latin", "caf\xe9"}, {"X-Sub", "v\xff"}, {"X-Ascii", "plain"}, {"X-Empty", ""}};
    EXPECT_EQ(io.headers, expected);
}

TEST(StartResponse, InvalidResponseLogsTheAppsTraceback) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [('Bad Name', 'x')])
    return []
)PY",
                                io, requestWith({}, "req-invalid-log"));
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_TRUE(testLog().contains("WG0331", "req-invalid-log"));
    EXPECT_TRUE(testLog().contains("WG0331", "in application"));
}

TEST(StartResponse, AppMayCatchAValidationErrorAndRetry) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    try:
        start_response('200 OK', [('Bad Name', 'x')])
    except ValueError:
        start_response('200 OK', [('Good-Name', 'x')])
    return [b'retried']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.header("Good-Name"), "x");
    EXPECT_EQ(io.sent(), "retried");
}

TEST(StartResponse, NeverCalledIsInvalidResponse) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    return []
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_FALSE(outcome.headersSent);
    EXPECT_NE(outcome.message.find("without calling start_response"), std::string::npos);
    EXPECT_EQ(io.startCalls, 0);
}

TEST(StartResponse, BodyBeforeStartResponseIsInvalidResponse) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    yield b'too early'
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_EQ(io.startCalls, 0);
    EXPECT_TRUE(io.blocks.empty());
}

TEST(Write, SendsImmediatelyBeforeTheIterable) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    write = start_response('200 OK', [])
    write(b'first ')
    write(b'')
    write(b'second ')
    return [b'third']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    ASSERT_EQ(io.blocks.size(), 3u);
    EXPECT_EQ(io.blocks[0], "first ");
    EXPECT_EQ(io.blocks[1], "second ");
    EXPECT_EQ(io.blocks[2], "third");
    EXPECT_EQ(io.startCalls, 1);
}

TEST(Write, RejectsStr) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    write = start_response('200 OK', [])
    try:
        write('text')
    except TypeError as e:
        return [str(e).encode()]
    return [b'accepted']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "write() argument must be bytes, not str");
}

TEST(Write, AfterTheRequestEndedRaisesOSError) {
    const std::string script = writeScript(R"PY(
saved = []
def application(environ, start_response):
    if saved:
        try:
            saved[0](b'late')
        except OSError as e:
            start_response('200 OK', [])
            return [str(e).encode()]
    saved.append(start_response('200 OK', []))
    return [b'first']
)PY");
    python::WsgiRequest request = requestWith({});
    request.scriptFilename = script;
    FakeRequestIo first;
    EXPECT_EQ(runtime().handle(mainWorker(), request, first).kind, Kind::Completed);
    FakeRequestIo second;
    const auto outcome = runtime().handle(mainWorker(), request, second);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(second.sent(), "write() called after its request ended");
    EXPECT_EQ(first.sent(), "first");
}

TEST(Body, GeneratorBlocksAreSentInOrderSkippingEmptyOnes) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    yield b'a'
    yield b''
    yield b'bb'
    yield b'ccc'
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    ASSERT_EQ(io.blocks.size(), 3u);
    EXPECT_EQ(io.blocks[0], "a");
    EXPECT_EQ(io.blocks[1], "bb");
    EXPECT_EQ(io.blocks[2], "ccc");
}

// The last block of an exact list or tuple may carry the End (RequestIo::writeLastBody); any
// other block, and every block of an iterable that runs code, goes out with writeBody.
TEST(Body, TheLastBlockOfAnExactListOrTupleIsWrittenAsTheLast) {
    for (const char* result : {"[b'a', b'bb', BIG]", "(b'a', b'bb', BIG)"}) {
        FakeRequestIo io;
        const auto outcome = runApp(std::string(R"PY(
BIG = b'x' * 65536
def application(environ, start_response):
    start_response('200 OK', [])
    return )PY") + result + "\n",
                                    io);
        EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
        ASSERT_EQ(io.blocks.size(), 3u) << result;
        EXPECT_EQ(io.blocks[2].size(), 65536u);
        EXPECT_EQ(io.lastBodyCalls, 1) << result;
        EXPECT_EQ(io.lastBodyAt, 2u) << result;
    }
}

TEST(Body, StreamedAndIncompleteResponsesNeverWriteALastBlock) {
    const char* apps[] = {
        // A generator runs application code up to its end.
        R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    yield b'a'
    yield b'x' * 65536
)PY",
        // A list subclass may run code while it is iterated.
        R"PY(
class Body(list):
    pass
def application(environ, start_response):
    start_response('200 OK', [])
    return Body([b'a', b'x' * 65536])
)PY",
        // Short of its Content-Length: the response ends with an Error, not End.
        R"PY(
def application(environ, start_response):
    start_response('200 OK', [('Content-Length', '70000')])
    return [b'x' * 65536]
)PY",
    };
    for (const char* app : apps) {
        FakeRequestIo io;
        (void)runApp(app, io);
        EXPECT_EQ(io.sent().size(), 65536u + (io.blocks.size() == 2 ? 1 : 0)) << app;
        EXPECT_EQ(io.lastBodyCalls, 0) << app;
    }
}

TEST(Body, ALastBlockThatReachesTheContentLengthIsWrittenAsTheLast) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [('Content-Length', '65537')])
    return [b'a', b'x' * 65536]
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.lastBodyCalls, 1);
    EXPECT_EQ(io.lastBodyAt, 1u);
}

TEST(Body, HeadersWaitForTheFirstNonEmptyBlock) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    yield b''
    raise RuntimeError('failed before any body')
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::AppError);
    EXPECT_FALSE(outcome.headersSent);  // so the daemon can still answer 500
    EXPECT_EQ(io.startCalls, 0);
}

TEST(Body, EmptyBodySendsTheHeadersAtTheEnd) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('204 No Content', [('X-Empty', 'yes')])
    return []
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_EQ(io.startCalls, 1);
    EXPECT_EQ(io.status, "204 No Content");
    EXPECT_TRUE(io.blocks.empty());
}

TEST(Body, NonBytesItemIsInvalidResponse) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'fine', 'not bytes']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_NE(outcome.message.find("must be bytes, not 'str'"), std::string::npos)
        << outcome.message;
    EXPECT_EQ(io.sent(), "fine");
}

TEST(Body, NonIterableResultIsInvalidResponse) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return 42
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_NE(outcome.message.find("'int' object, which is not iterable"), std::string::npos);
    EXPECT_EQ(io.startCalls, 0);
}

// The app's result logs "closed" through wsgi.errors from close(), tagged with the request id.
constexpr const char* kClosingResult = R"PY(
class Result:
    def __init__(self, environ, blocks, fail_at=None):
        self.errors = environ['wsgi.errors']
        self.blocks = blocks
        self.fail_at = fail_at
    def __iter__(self):
        for i, block in enumerate(self.blocks):
            if i == self.fail_at:
                raise KeyError('iteration failed')
            yield block
    def close(self):
        self.errors.write('closed\n')
)PY";

TEST(Close, IsCalledAfterASuccessfulResponse) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(std::string(kClosingResult) + R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return Result(environ, [b'x', b'y'])
)PY",
                                io, requestWith({}, "req-close-ok"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "xy");
    EXPECT_TRUE(testLog().contains("WG0310", "[req-close-ok] closed"));
}

TEST(Close, IsCalledWhenIterationRaises) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(std::string(kClosingResult) + R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return Result(environ, [b'x', b'y'], fail_at=1)
)PY",
                                io, requestWith({}, "req-close-raise"));
    EXPECT_EQ(outcome.kind, Kind::AppError);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_TRUE(testLog().contains("WG0310", "[req-close-raise] closed"));
    EXPECT_TRUE(testLog().contains("WG0330", "KeyError"));
}

TEST(Close, IsCalledWhenTheClientIsGone) {
    FakeRequestIo io;
    io.failBodyAt = 0;
    testLog().clear();
    const auto outcome = runApp(std::string(kClosingResult) + R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return Result(environ, [b'x', b'y', b'z'])
)PY",
                                io, requestWith({}, "req-close-gone"));
    EXPECT_EQ(outcome.kind, Kind::ClientGone);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_TRUE(io.blocks.empty());
    EXPECT_TRUE(testLog().contains("WG0310", "[req-close-gone] closed"));
    EXPECT_TRUE(testLog().contains("WG0333", "req-close-gone"));
}

TEST(Close, IsCalledOnAnInvalidBodyItem) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(std::string(kClosingResult) + R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return Result(environ, [b'x', 7])
)PY",
                                io, requestWith({}, "req-close-invalid"));
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_TRUE(testLog().contains("WG0310", "[req-close-invalid] closed"));
}

TEST(Close, GeneratorFinallyRunsWhenTheClientIsGone) {
    FakeRequestIo io;
    io.failBodyAt = 1;
    testLog().clear();
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    try:
        yield b'one'
        yield b'two'
        yield b'three'
    finally:
        environ['wsgi.errors'].write('generator closed\n')
)PY",
                                io, requestWith({}, "req-gen-gone"));
    EXPECT_EQ(outcome.kind, Kind::ClientGone);
    EXPECT_EQ(io.sent(), "one");
    EXPECT_TRUE(testLog().contains("WG0310", "[req-gen-gone] generator closed"));
}

TEST(Close, ExceptionInCloseIsLoggedAndTheResponseStands) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
class Result:
    def __iter__(self):
        return iter([b'done'])
    def close(self):
        raise IOError('close failed')
def application(environ, start_response):
    start_response('200 OK', [])
    return Result()
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "done");
    EXPECT_TRUE(testLog().contains("WG0334", "close failed"));
}

TEST(ContentLength, ShortBodyIsInvalidResponseAfterTheHeaders) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [('Content-Length', '10')])
    return [b'12345']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_EQ(outcome.message, "app sent 5 of 10 bytes of its Content-Length");
    EXPECT_EQ(io.sent(), "12345");
    EXPECT_TRUE(testLog().contains("WG0332", "app sent 5 of 10"));
}

TEST(ContentLength, BytesBeyondItAreDropped) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    write = start_response('200 OK', [('content-length', '4')])
    write(b'ab')
    return [b'cdef', b'gh']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "abcd");
}

TEST(ContentLength, ZeroWithABodySendsOnlyTheHeaders) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [('Content-Length', '0')])
    return [b'ignored']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.startCalls, 1);
    EXPECT_EQ(io.sent(), "");
}

TEST(ContentLength, HeadRequestsAndNotModifiedAreNotChecked) {
    const char* app = R"PY(
def application(environ, start_response):
    status = '304 Not Modified' if environ['PATH_INFO'] == '/304' else '200 OK'
    start_response(status, [('Content-Length', '100')])
    return []
)PY";
    FakeRequestIo head;
    python::WsgiRequest request = requestWith({});
    request.environ[0] = {"REQUEST_METHOD", "HEAD"};
    EXPECT_EQ(runApp(app, head, request).kind, Kind::Completed);
    FakeRequestIo notModified;
    python::WsgiRequest request304 = requestWith({});
    request304.environ[2] = {"PATH_INFO", "/304"};
    EXPECT_EQ(runApp(app, notModified, request304).kind, Kind::Completed);
    EXPECT_EQ(notModified.status, "304 Not Modified");
}

TEST(ContentLength, NoContentAndNotModifiedSendNoBody) {
    // The module refuses body bytes on 204/304, so an app that yields some anyway must not
    // have them forwarded.
    const char* app = R"PY(
def application(environ, start_response):
    status = '304 Not Modified' if environ['PATH_INFO'] == '/304' else '204 No Content'
    start_response(status, [('Content-Length', '4')])
    return [b'body', b'more']
)PY";
    FakeRequestIo noContent;
    EXPECT_EQ(runApp(app, noContent).kind, Kind::Completed);
    EXPECT_EQ(noContent.status, "204 No Content");
    EXPECT_EQ(noContent.startCalls, 1);
    EXPECT_EQ(noContent.sent(), "");
    FakeRequestIo notModified;
    python::WsgiRequest request304 = requestWith({});
    request304.environ[2] = {"PATH_INFO", "/304"};
    EXPECT_EQ(runApp(app, notModified, request304).kind, Kind::Completed);
    EXPECT_EQ(notModified.status, "304 Not Modified");
    EXPECT_EQ(notModified.sent(), "");
}

TEST(AppError, ExceptionBeforeStartResponse) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
def helper_that_fails():
    raise ZeroDivisionError('division by zero in the app')
def application(environ, start_response):
    helper_that_fails()
)PY",
                                io, requestWith({}, "req-app-error"));
    EXPECT_EQ(outcome.kind, Kind::AppError);
    EXPECT_FALSE(outcome.headersSent);
    EXPECT_EQ(outcome.message, "ZeroDivisionError: division by zero in the app");
    EXPECT_EQ(io.startCalls, 0);
    EXPECT_TRUE(testLog().contains("WG0330", "req-app-error"));
    EXPECT_TRUE(testLog().contains("WG0330", "in helper_that_fails"));
}

TEST(AppError, ExceptionAfterTheHeaders) {
    FakeRequestIo io;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    yield b'part'
    raise LookupError('late')
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::AppError);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_EQ(outcome.message, "LookupError: late");
    EXPECT_EQ(io.sent(), "part");
}

TEST(ClientGone, WriteRaisesOSErrorIntoTheApp) {
    FakeRequestIo io;
    io.failBodyAt = 0;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    write = start_response('200 OK', [])
    try:
        write(b'x')
    except OSError as e:
        environ['wsgi.errors'].write('caught: %s\n' % e)
        raise
    return []
)PY",
                                io, requestWith({}, "req-write-gone"));
    EXPECT_EQ(outcome.kind, Kind::ClientGone);
    EXPECT_TRUE(outcome.headersSent);
    EXPECT_TRUE(testLog().contains("WG0310", "caught: client connection closed"));
}

TEST(ClientGone, FailedStartIsClientGoneWithoutHeaders) {
    FakeRequestIo io;
    io.failStart = true;
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'x']
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::ClientGone);
    EXPECT_FALSE(outcome.headersSent);
    EXPECT_TRUE(io.blocks.empty());
}

TEST(ErrorStream, WholeLinesAreLoggedWithTheRequestId) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    errors = environ['wsgi.errors']
    errors.write('first line\nsecond ')
    errors.write('half\n')
    errors.writelines(['third\n', 'unfinished'])
    errors.flush()
    errors.write(' line\n')
    print('via', 'print', file=errors, flush=True)
    try:
        errors.write(b'bytes')
    except TypeError:
        errors.write('bytes rejected\n')
    errors.write('control \r char\n')
    errors.write('partial at the end')
    start_response('200 OK', [])
    return []
)PY",
                                io, requestWith({}, "req-errors"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    std::vector<std::string> lines;
    for (const LogRecord& r : testLog().records()) {
        if (r.id == "WG0310") {
            EXPECT_EQ(r.level, common::LogLevel::Error);
            lines.push_back(r.message);
        }
    }
    const std::vector<std::string> expected = {"[req-errors] first line",
                                               "[req-errors] second half",
                                               "[req-errors] third",
                                               "[req-errors] unfinished line",
                                               "[req-errors] via print",
                                               "[req-errors] bytes rejected",
                                               "[req-errors] control \\x0d char",
                                               "[req-errors] partial at the end"};
    EXPECT_EQ(lines, expected);
}

TEST(ErrorStream, PartialLineIsFlushedAtTheEndOfTheRequest) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    environ['wsgi.errors'].write('no newline')
    start_response('200 OK', [])
    return []
)PY",
                                io, requestWith({}, "req-partial"));
    EXPECT_EQ(outcome.kind, Kind::Completed);
    EXPECT_TRUE(testLog().contains("WG0310", "[req-partial] no newline"));
}

TEST(Stdout, PrintAndStderrGoToTheLog) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
import sys
def application(environ, start_response):
    print('hello from print')
    sys.stderr.write('hello from stderr\n')
    start_response('200 OK', [])
    return [str(sys.stdout.isatty()).encode(), b' ', str(sys.stderr.fileno()).encode()]
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "False 2");
    EXPECT_TRUE(testLog().contains("WG0311", "hello from print"));
    EXPECT_TRUE(testLog().contains("WG0312", "hello from stderr"));
}

TEST(FileWrapper, IteratesBlocksAndClosesTheFile) {
    FakeRequestIo io;
    testLog().clear();
    const auto outcome = runApp(R"PY(
import io
class Tracked(io.BytesIO):
    def close(self):
        self.errors.write('file closed\n')
        super().close()
def application(environ, start_response):
    f = Tracked(b'x' * 20000)
    f.errors = environ['wsgi.errors']
    start_response('200 OK', [])
    wrapper = environ['wsgi.file_wrapper'](f, 8192)
    assert wrapper.blksize == 8192 and wrapper.filelike is f
    return wrapper
)PY",
                                io, requestWith({}, "req-file"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    ASSERT_EQ(io.blocks.size(), 3u);
    EXPECT_EQ(io.blocks[0].size(), 8192u);
    EXPECT_EQ(io.blocks[1].size(), 8192u);
    EXPECT_EQ(io.blocks[2].size(), 20000u - 2 * 8192u);
    EXPECT_TRUE(testLog().contains("WG0310", "[req-file] file closed"));
}

TEST(FileWrapper, DefaultBlockSizeAndValidation) {
    FakeRequestIo io;
    const auto outcome = runApp(checkingApp(R"PY(
    import io
    w = environ['wsgi.file_wrapper'](io.BytesIO(b''))
    check(w.blksize == 8192, 'default blksize')
    check(list(w) == [], 'empty file')
    try:
        environ['wsgi.file_wrapper'](io.BytesIO(b''), 0)
        check(False, 'blksize 0 accepted')
    except ValueError:
        pass
    w.close()
    environ['wsgi.file_wrapper'](object()).close()
)PY"),
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

// A RequestIo that records whether any call arrived with a Python thread state current.
class GilCheckingIo : public FakeRequestIo {
public:
    bool calledWithGil = false;
    int calls = 0;
    common::Result<std::size_t> readBody(std::span<char> out) override {
        note();
        return FakeRequestIo::readBody(out);
    }
    common::Status writeStart(
        std::string_view statusLine,
        const std::vector<std::pair<std::string, std::string>>& responseHeaders) override {
        note();
        return FakeRequestIo::writeStart(statusLine, responseHeaders);
    }
    common::Status writeBody(std::string_view data) override {
        note();
        return FakeRequestIo::writeBody(data);
    }

private:
    void note() {
        ++calls;
        calledWithGil = calledWithGil || python::thisThreadHoldsGil();
    }
};

TEST(Gil, IsReleasedAroundEveryRequestIoCall) {
    GilCheckingIo io;
    io.body = "line one\nline two\n";
    const auto outcome = runApp(R"PY(
def application(environ, start_response):
    data = environ['wsgi.input'].read()
    write = start_response('200 OK', [])
    write(data[:4])
    return [data[4:]]
)PY",
                                io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "line one\nline two\n");
    EXPECT_GE(io.calls, 4);
    EXPECT_FALSE(io.calledWithGil);
}

}  // namespace
}  // namespace wsgid::testing
