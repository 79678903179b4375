// SPDX-License-Identifier: Apache-2.0
// Script loading through Runtime::handle/preload: module naming, caching, reload on mtime
// change, and the ScriptLoadFailed cases (missing file, exception on import, no callable).
#include "python/script_loader.h"

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

python::CallOutcome runScript(const std::string& path, FakeRequestIo& io,
                              const std::string& group = {}) {
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.applicationGroup = group;
    request.environ = basicEnviron();
    request.requestId = "req-loader";
    return runtime().handle(mainWorker(), request, io);
}

// Moves the file's mtime `seconds` into the future, so a rewrite within the same clock tick is
// still seen as a change.
void bumpMtime(const std::string& path, int seconds) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    timespec times[2] = {st.st_atim, st.st_mtim};
    times[1].tv_sec += seconds;
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

// A script that counts how often it was executed (in a counter kept on the sys module, which
// survives re-execution) and answers "<version> <count>".
std::string countingScript(const std::string& version) {
    return "import sys\n"
           "LOADS = getattr(sys, '_wsgid_test_loads', {})\n"
           "sys._wsgid_test_loads = LOADS\n"
           "LOADS[__file__] = LOADS.get(__file__, 0) + 1\n"
           "COUNT = LOADS[__file__]\n"
           "def application(environ, start_response):\n"
           "    start_response('200 OK', [])\n"
           "    return [b'" +
           version + " %d' % COUNT]\n";
}

TEST(ScriptModuleName, IsAStableHashOfThePath) {
    const std::string a = python::scriptModuleName("/srv/site/app.wsgi");
    EXPECT_EQ(a, python::scriptModuleName("/srv/site/app.wsgi"));
    EXPECT_NE(a, python::scriptModuleName("/srv/site/app2.wsgi"));
    ASSERT_EQ(a.size(), 7u + 16u);
    EXPECT_EQ(a.substr(0, 7), "_wsgid_");
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 7), std::string::npos);
}

TEST(ScriptLoader, ModuleHasFileNameAndIsInSysModules) {
    const std::string path = writeScript(R"PY(
import sys
def application(environ, start_response):
    start_response('200 OK', [])
    me = sys.modules[__name__]
    ok = (__file__ == environ['SCRIPT_FILENAME'] and __name__.startswith('_wsgid_')
          and me.application is application and isinstance(__mtime__, float))
    return [b'ok' if ok else repr((__file__, __name__)).encode()]
)PY");
    FakeRequestIo io;
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.environ = basicEnviron();
    request.environ.emplace_back("SCRIPT_FILENAME", path);
    const auto outcome = runtime().handle(mainWorker(), request, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "ok");
}

TEST(ScriptLoader, LoadsOnceWhileTheMtimeIsUnchanged) {
    const std::string path = writeScript(countingScript("v1"));
    for (int i = 0; i < 3; ++i) {
        FakeRequestIo io;
        EXPECT_EQ(runScript(path, io).kind, Kind::Completed);
        EXPECT_EQ(io.sent(), "v1 1");
    }
}

TEST(ScriptLoader, ReloadsAFreshModuleWhenTheMtimeChanges) {
    const std::string path = writeScript(countingScript("v1") + "STALE = 'from v1'\n");
    FakeRequestIo first;
    EXPECT_EQ(runScript(path, first).kind, Kind::Completed);
    EXPECT_EQ(first.sent(), "v1 1");

    testLog().clear();
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        const std::string v2 = countingScript("v2") +
                               "def stale(environ, start_response):\n"
                               "    start_response('200 OK', [])\n"
                               "    return [repr(globals().get('STALE')).encode()]\n";
        std::fputs(v2.c_str(), f);
        std::fclose(f);
    }
    bumpMtime(path, 10);
    FakeRequestIo second;
    EXPECT_EQ(runScript(path, second).kind, Kind::Completed);
    EXPECT_EQ(second.sent(), "v2 2");
    EXPECT_TRUE(testLog().contains("WG0323", path));

    // A fresh module: globals of the old version are gone.
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.callableObject = "stale";
    request.environ = basicEnviron();
    FakeRequestIo third;
    EXPECT_EQ(runtime().handle(mainWorker(), request, third).kind, Kind::Completed);
    EXPECT_EQ(third.sent(), "None");
}

TEST(ScriptLoader, KeepsTheLoadedModuleWithoutScriptReloading) {
    const std::string path = writeScript(countingScript("v1"));
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.environ = basicEnviron();
    request.scriptReloading = false;  // WSGIScriptReloading Off
    FakeRequestIo first;
    EXPECT_EQ(runtime().handle(mainWorker(), request, first).kind, Kind::Completed);
    EXPECT_EQ(first.sent(), "v1 1");
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(countingScript("v2").c_str(), f);
        std::fclose(f);
    }
    bumpMtime(path, 10);
    FakeRequestIo second;
    EXPECT_EQ(runtime().handle(mainWorker(), request, second).kind, Kind::Completed);
    EXPECT_EQ(second.sent(), "v1 1");
    // With reloading (the default) the next request sees the new file.
    request.scriptReloading = true;
    FakeRequestIo third;
    EXPECT_EQ(runtime().handle(mainWorker(), request, third).kind, Kind::Completed);
    EXPECT_EQ(third.sent(), "v2 2");
}

TEST(ScriptLoader, MissingCallableIsScriptLoadFailed) {
    testLog().clear();
    const std::string path = writeScript("def app(environ, start_response):\n    pass\n");
    FakeRequestIo io;
    const auto outcome = runScript(path, io);
    EXPECT_EQ(outcome.kind, Kind::ScriptLoadFailed);
    EXPECT_FALSE(outcome.headersSent);
    EXPECT_EQ(outcome.message, "WSGI script " + path + " has no callable 'application'");
    EXPECT_TRUE(testLog().contains("WG0322", path));
    EXPECT_EQ(io.startCalls, 0);
}

TEST(ScriptLoader, NonCallableGlobalIsScriptLoadFailed) {
    const std::string path = writeScript("application = 42\n");
    FakeRequestIo io;
    const auto outcome = runScript(path, io);
    EXPECT_EQ(outcome.kind, Kind::ScriptLoadFailed);
    EXPECT_NE(outcome.message.find("(it is a 'int')"), std::string::npos) << outcome.message;
}

TEST(ScriptLoader, CallableObjectNameIsConfigurable) {
    const std::string path = writeScript(R"PY(
def app(environ, start_response):
    start_response('200 OK', [])
    return [environ['mod_wsgi.callable_object'].encode()]
)PY");
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.callableObject = "app";
    request.environ = basicEnviron();
    FakeRequestIo io;
    const auto outcome = runtime().handle(mainWorker(), request, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "app");
}

TEST(ScriptLoader, MissingFileIsScriptLoadFailed) {
    testLog().clear();
    FakeRequestIo io;
    const auto outcome = runScript("/nonexistent/dir/app.wsgi", io);
    EXPECT_EQ(outcome.kind, Kind::ScriptLoadFailed);
    EXPECT_NE(outcome.message.find("/nonexistent/dir/app.wsgi cannot be loaded"), std::string::npos)
        << outcome.message;
    EXPECT_TRUE(testLog().contains("WG0321", "/nonexistent/dir/app.wsgi"));
}

TEST(ScriptLoader, ExceptionDuringImportIsScriptLoadFailedWithTraceback) {
    testLog().clear();
    const std::string path = writeScript("def broken():\n    return 1 / 0\nbroken()\n");
    FakeRequestIo io;
    const auto outcome = runScript(path, io);
    EXPECT_EQ(outcome.kind, Kind::ScriptLoadFailed);
    EXPECT_NE(outcome.message.find("ZeroDivisionError"), std::string::npos) << outcome.message;
    EXPECT_TRUE(testLog().contains("WG0320", "Traceback"));
    EXPECT_TRUE(testLog().contains("WG0320", "in broken"));
    EXPECT_FALSE(testLog().contains("WG0307"));  // main interpreter: no sub-interpreter hint
}

TEST(ScriptLoader, SyntaxErrorIsScriptLoadFailed) {
    const std::string path = writeScript("def application(:\n");
    FakeRequestIo io;
    const auto outcome = runScript(path, io);
    EXPECT_EQ(outcome.kind, Kind::ScriptLoadFailed);
    EXPECT_NE(outcome.message.find("SyntaxError"), std::string::npos) << outcome.message;
}

TEST(ScriptLoader, FailedLoadIsRetriedOnTheNextRequest) {
    const std::string path = writeScript(
        "import sys\n"
        "SEEN = sys.__dict__.setdefault('_wsgid_retry_seen', set())\n"
        "if __file__ not in SEEN:\n"
        "    SEEN.add(__file__)\n"
        "    raise RuntimeError('first load fails')\n" +
        countingScript("retry"));
    FakeRequestIo first;
    EXPECT_EQ(runScript(path, first).kind, Kind::ScriptLoadFailed);
    FakeRequestIo second;
    EXPECT_EQ(runScript(path, second).kind, Kind::Completed);
    EXPECT_EQ(second.sent(), "retry 1");
}

TEST(ScriptLoader, ImportErrorInASubInterpreterLogsTheGlobalHint) {
    testLog().clear();
    const std::string path = writeScript("import wsgid_no_such_module_anywhere\n");
    FakeRequestIo io;
    const auto outcome = runScript(path, io, "hint-group");
    EXPECT_EQ(outcome.kind, Kind::ScriptLoadFailed);
    EXPECT_NE(outcome.message.find("ModuleNotFoundError"), std::string::npos);
    EXPECT_TRUE(testLog().contains("WG0307", "%{GLOBAL}"));
}

TEST(ScriptLoader, PreloadLoadsAheadOfTheFirstRequest) {
    const std::string path = writeScript(countingScript("pre"));
    EXPECT_TRUE(runtime().preload(mainWorker(), path, "").isOk());
    FakeRequestIo io;
    EXPECT_EQ(runScript(path, io).kind, Kind::Completed);
    EXPECT_EQ(io.sent(), "pre 1");
    const common::Status missing = runtime().preload(mainWorker(), "/nonexistent.wsgi", "");
    EXPECT_FALSE(missing.isOk());
}

TEST(ScriptLoader, ConcurrentFirstRequestsLoadTheScriptOnce) {
    const std::string path = writeScript("import time\ntime.sleep(0.2)\n" + countingScript("once"));
    constexpr int kThreads = 4;
    std::vector<std::string> bodies(kThreads);
    std::vector<python::CallOutcome::Kind> kinds(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            python::WorkerScope worker(runtime());
            python::WsgiRequest request;
            request.scriptFilename = path;
            request.applicationGroup = "concurrent-load";
            request.environ = basicEnviron();
            FakeRequestIo io;
            kinds[t] = runtime().handle(worker, request, io).kind;
            bodies[t] = io.sent();
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(kinds[t], Kind::Completed);
        EXPECT_EQ(bodies[t], "once 1");
    }
}

}  // namespace
}  // namespace wsgid::testing
