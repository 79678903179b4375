// SPDX-License-Identifier: Apache-2.0
// Runtime: interpreter set-up (sys.path, sys.argv, stdout), application groups as
// sub-interpreters, Flask and Django in both kinds of interpreter, worker threads with their own
// WorkerScope, and python-home validation.
#include "python/python.h"

#include "python/runtime.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "python/interpreter.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

python::CallOutcome runIn(const std::string& group, const std::string& path, FakeRequestIo& io,
                          python::WorkerScope& worker = mainWorker()) {
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.applicationGroup = group;
    request.environ = basicEnviron();
    request.requestId = "req-runtime";
    return runtime().handle(worker, request, io);
}

std::string bodyOf(const std::string& group, const std::string& path) {
    FakeRequestIo io;
    const auto outcome = runIn(group, path, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    return io.sent();
}

// A group name not used before in this process (tests may run repeatedly: --gtest_repeat).
std::string uniqueGroup(const std::string& prefix) {
    static int counter = 0;
    return prefix + "-" + std::to_string(++counter);
}

std::string stdlibDir() {
    return "lib/python" + std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
}

TEST(ApplicationGroups, ModuleStateIsIsolatedBetweenInterpreters) {
    // The same script in three groups: each has its own copy of the module it mutates.
    const std::string path = writeScript(R"PY(
import wsgid_path_probe as probe
def application(environ, start_response):
    start_response('200 OK', [])
    before = getattr(probe, __name__, None)
    setattr(probe, __name__, environ['mod_wsgi.application_group'] or 'main')
    return [repr(before).encode()]
)PY");
    const std::string a = uniqueGroup("iso-a");
    const std::string b = uniqueGroup("iso-b");
    EXPECT_EQ(bodyOf(a, path), "None");
    EXPECT_EQ(bodyOf(b, path), "None");
    EXPECT_EQ(bodyOf("", path), "None");
    EXPECT_EQ(bodyOf(a, path), "'" + a + "'");
    EXPECT_EQ(bodyOf(b, path), "'" + b + "'");
    EXPECT_EQ(bodyOf("", path), "'main'");
}

TEST(ApplicationGroups, EmptyGroupIsTheMainInterpreter) {
    const std::string path = writeScript(R"PY(
import _xxsubinterpreters as interpreters
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'main' if interpreters.get_current() == interpreters.get_main() else b'sub']
)PY");
    EXPECT_EQ(bodyOf("", path), "main");
    EXPECT_EQ(bodyOf("which-one", path), "sub");
}

TEST(ApplicationGroups, ASubInterpreterIsCreatedOncePerGroup) {
    testLog().clear();
    const std::string path = writeScript(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'x']
)PY");
    const std::string group = uniqueGroup("created-once");
    bodyOf(group, path);
    bodyOf(group, path);
    int created = 0;
    for (const LogRecord& r : testLog().records()) {
        if (r.id == "WG0302" && r.message.find("'" + group + "'") != std::string::npos) {
            ++created;
        }
    }
    EXPECT_EQ(created, 1);
}

class EveryInterpreter : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryInterpreter, HasSysPathArgvAndStdoutSetUp) {
    const std::string path = writeScript(R"PY(
import sys
import wsgid_path_probe, wsgid_pth_probe, wsgid_home_probe
def log_stream(stream):
    # Django's colorama.init() (run by another test in this interpreter) wraps the streams.
    stream = getattr(stream, '_StreamWrapper__wrapped', stream)
    return type(stream).__name__ == 'LogStream'
def application(environ, start_response):
    start_response('200 OK', [])
    home, site = environ['TEST_HOME'], environ['TEST_SITE']
    stdlib = [p for p in sys.path if p.endswith('/lib/python%d.%d' % sys.version_info[:2])]
    checks = [
        sys.path[0] == home,
        sys.path.index(site) < sys.path.index(stdlib[0]),
        site + '/extra' in sys.path,
        sys.argv == ['mod_wsgi'],
        log_stream(sys.stdout),
        log_stream(sys.stderr),
        (wsgid_path_probe.WHERE, wsgid_pth_probe.WHERE, wsgid_home_probe.WHERE)
            == ('python-path', 'pth', 'home'),
    ]
    print('stdout from', environ['mod_wsgi.application_group'] or 'main')
    return [repr(checks).encode() if not all(checks) else b'ok']
)PY");
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.applicationGroup = GetParam();
    request.environ = basicEnviron();
    request.environ.emplace_back("TEST_HOME", configuredHome());
    request.environ.emplace_back("TEST_SITE", configuredPythonPath());
    testLog().clear();
    FakeRequestIo io;
    const auto outcome = runtime().handle(mainWorker(), request, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
    EXPECT_TRUE(testLog().contains(
        "WG0311", std::string("stdout from ") + (*GetParam() != 0 ? GetParam() : "main")));
}

TEST_P(EveryInterpreter, RunsAFlaskApp) {
    const std::string path = writeScript(R"PY(
from flask import Flask, request
app = Flask(__name__)
@app.route('/hello')
def hello():
    return 'flask says hi, a=' + request.args.get('a', '?') + ' ' + request.script_root
application = app
)PY");
    FakeRequestIo io;
    const auto outcome = runIn(GetParam(), path, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.status, "200 OK");
    EXPECT_EQ(io.sent(), "flask says hi, a=1 /app");
}

TEST_P(EveryInterpreter, RunsADjangoApp) {
    const std::string path = writeScript(R"PY(
from django.conf import settings
if not settings.configured:
    settings.configure(DEBUG=False, SECRET_KEY='unit-test', ROOT_URLCONF=__name__,
                       ALLOWED_HOSTS=['*'], MIDDLEWARE=[], INSTALLED_APPS=[])
from django.http import HttpResponse
from django.urls import path
def hello(request):
    return HttpResponse('django says hi, a=' + request.GET.get('a', '?'))
urlpatterns = [path('hello', hello)]
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
)PY");
    FakeRequestIo io;
    const auto outcome = runIn(GetParam(), path, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.status, "200 OK");
    EXPECT_EQ(io.sent(), "django says hi, a=1");
}

INSTANTIATE_TEST_SUITE_P(Interpreters, EveryInterpreter, ::testing::Values("", "frameworks-sub"));

TEST_P(EveryInterpreter, SignalRegistrationIsALoggedNoOp) {
    testLog().clear();
    const std::string path = writeScript(R"PY(
import signal
def on_usr2(signum, frame):
    pass
REGISTERED = signal.signal(signal.SIGUSR2, on_usr2)
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'ok' if REGISTERED is on_usr2 else repr(REGISTERED).encode()]
)PY");
    EXPECT_EQ(bodyOf(GetParam(), path), "ok");
    EXPECT_TRUE(testLog().contains("WG0313", "signal.signal(<Signals.SIGUSR2: 12>, ...) ignored"));
    EXPECT_TRUE(testLog().contains("WG0313", path));  // the caller's stack
}

TEST(Interpreters, TextAndFileNamesAreUtf8EvenUnderTheCLocale) {
    // httpd usually runs with LANG=C; like python3, we then use UTF-8 mode (PEP 540).
    const std::string path = writeScript(R"PY(
import sys, locale
def application(environ, start_response):
    start_response('200 OK', [])
    encodings = (sys.getfilesystemencoding(), locale.getpreferredencoding(False).lower())
    return [b'ok' if encodings in (('utf-8', 'utf-8'), ('utf-8', 'utf8')) else repr(encodings).encode()]
)PY");
    EXPECT_EQ(bodyOf("", path), "ok");
}

TEST(Workers, ConcurrentThreadsEachWithTheirOwnScope) {
    const std::string path = writeScript(R"PY(
def application(environ, start_response):
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Length', str(len(body) + 5))])
    yield b'echo:'
    yield body
)PY");
    constexpr int kThreads = 4;
    constexpr int kRequests = 40;
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            python::WorkerScope worker(runtime());
            for (int i = 0; i < kRequests; ++i) {
                FakeRequestIo io;
                io.body = "thread " + std::to_string(t) + " request " + std::to_string(i);
                io.maxReadChunk = 5;
                const std::string group = i % 2 == 0 ? "" : "workers-sub";
                const auto outcome = runIn(group, path, io, worker);
                if (outcome.kind != Kind::Completed || io.sent() != "echo:" + io.body) {
                    ++failures[t];
                }
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(failures[t], 0) << "thread " << t;
    }
}

TEST(Workers, ThreadLocalSurvivesBetweenRequestsOfOneWorker) {
    const std::string path = writeScript(R"PY(
import threading
local = threading.local()
def application(environ, start_response):
    local.count = getattr(local, 'count', 0) + 1
    start_response('200 OK', [])
    return [str(local.count).encode()]
)PY");
    for (const char* group : {"", "local-sub"}) {
        std::vector<std::string> seen;
        std::thread worker([&] {
            python::WorkerScope scope(runtime());
            for (int i = 0; i < 3; ++i) {
                FakeRequestIo io;
                runIn(group, path, io, scope);
                seen.push_back(io.sent());
            }
        });
        worker.join();
        EXPECT_EQ(seen, (std::vector<std::string>{"1", "2", "3"})) << "group '" << group << "'";
    }
}

TEST(Workers, AppThreadsWorkInASubInterpreter) {
    const std::string path = writeScript(R"PY(
import threading
def application(environ, start_response):
    results = []
    workers = [threading.Thread(target=lambda n=n: results.append(n * n)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    start_response('200 OK', [])
    return [repr(sorted(results)).encode()]
)PY");
    EXPECT_EQ(bodyOf("app-threads", path), "[0, 1, 4, 9]");
}

TEST(Workers, AScopeIsRefusedOnAnotherThread) {
    const std::string path = writeScript(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'x']
)PY");
    testLog().clear();
    python::WorkerScope mainThreadScope(runtime());
    python::CallOutcome outcome;
    std::thread other([&] {
        FakeRequestIo io;
        outcome = runIn("", path, io, mainThreadScope);
    });
    other.join();
    EXPECT_EQ(outcome.kind, Kind::AppError);
    EXPECT_TRUE(testLog().contains("WG0336"));
}

TEST(RuntimeStart, SecondStartInTheSameProcessFails) {
    python::RuntimeConfig config;
    config.log = &testLog();
    auto second = python::Runtime::start(config);
    ASSERT_FALSE(second.isOk());
    EXPECT_NE(second.status().message().find("already initialised"), std::string::npos);
    // The running runtime is unaffected.
    const std::string path = writeScript(R"PY(
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'still fine']
)PY");
    EXPECT_EQ(bodyOf("", path), "still fine");
}

TEST(PythonHome, EmptyMeansTheBuiltInPrefix) {
    auto settings = python::resolvePythonHome("");
    ASSERT_TRUE(settings.isOk());
    EXPECT_EQ(settings->home, "");
    ASSERT_FALSE(settings->programName.empty());
    EXPECT_EQ(settings->programName.front(), '/');
}

TEST(PythonHome, MissingDirectorySaysWhatToChange) {
    auto settings = python::resolvePythonHome("/nope");
    ASSERT_FALSE(settings.isOk());
    EXPECT_EQ(settings.status().message(),
              "python-home '/nope' is not a directory; check python-home=/WSGIPythonHome");
}

TEST(PythonHome, RelativePathIsRejected) {
    auto settings = python::resolvePythonHome("venv");
    ASSERT_FALSE(settings.isOk());
    EXPECT_NE(settings.status().message().find("not an absolute path"), std::string::npos);
}

TEST(PythonHome, DirectoryWithoutTheStandardLibraryIsRejected) {
    TempDir dir;
    auto settings = python::resolvePythonHome(dir.path());
    ASSERT_FALSE(settings.isOk());
    EXPECT_EQ(settings.status().message(),
              "python-home '" + dir.path() + "' does not contain " + stdlibDir() +
                  "/encodings (the standard library of Python " + std::to_string(PY_MAJOR_VERSION) +
                  "." + std::to_string(PY_MINOR_VERSION) + "); check python-home=/WSGIPythonHome");
}

TEST(PythonHome, SystemPrefixIsAccepted) {
    auto settings = python::resolvePythonHome("/usr");
    ASSERT_TRUE(settings.isOk()) << settings.status().message();
    EXPECT_EQ(settings->home, "/usr");
}

TEST(PythonHome, VirtualenvStartsThroughItsInterpreter) {
    TempDir venv;
    venv.write("pyvenv.cfg", "home = /usr/bin\n");
    venv.write(stdlibDir() + "/site-packages/.keep", "");
    auto settings = python::resolvePythonHome(venv.path());
    ASSERT_TRUE(settings.isOk()) << settings.status().message();
    EXPECT_EQ(settings->home, "");
    EXPECT_EQ(settings->programName, venv.path() + "/bin/python");
}

TEST(PythonHome, VirtualenvOfAnotherVersionIsRejected) {
    TempDir venv;
    venv.write("pyvenv.cfg", "home = /usr/bin\n");
    venv.write("lib/python2.7/site-packages/.keep", "");
    auto settings = python::resolvePythonHome(venv.path());
    ASSERT_FALSE(settings.isOk());
    EXPECT_NE(settings.status().message().find("made for another Python version"),
              std::string::npos)
        << settings.status().message();
}

}  // namespace
}  // namespace wsgid::testing
