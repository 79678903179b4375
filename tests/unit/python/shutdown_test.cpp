// SPDX-License-Identifier: Apache-2.0
// Runtime::shutdown in child processes (gtest death tests re-run this binary, so each child has
// its own Python): a hung finalization is cut short by the watchdog, and a sub-interpreter with
// a daemon thread still running is left alone instead of aborting Py_EndInterpreter.
#include <chrono>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

// Short: the finalization in these children is known to hang (or not), nothing needs time.
constexpr auto kShortTimeout = std::chrono::milliseconds(300);
// Long enough for a normal finalization on a loaded machine.
constexpr auto kLongTimeout = std::chrono::seconds(60);
// Exit code a child uses to show that shutdown() returned.
constexpr int kReturned = 3;

void runInGroup(const std::string& group, const char* source) {
    python::WsgiRequest request;
    request.scriptFilename = writeScript(source);
    request.applicationGroup = group;
    request.environ = basicEnviron();
    FakeRequestIo io;
    // A scope of its own, gone before shutdown() as the contract requires (the shared
    // mainWorker never enters these groups).
    python::WorkerScope worker(runtime());
    const auto outcome = runtime().handle(worker, request, io);
    if (outcome.kind != python::CallOutcome::Kind::Completed) {
        std::fprintf(stderr, "request failed: %s\n", outcome.message.c_str());
        ::_exit(1);
    }
}

TEST(RuntimeShutdownDeathTest, WatchdogExitsWhenFinalizationHangs) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            ::setenv("WSGID_TEST_VERBOSE", "1", 1);
            runInGroup("hangs", R"PY(
import threading, time
def application(environ, start_response):
    threading.Thread(target=time.sleep, args=(3600,)).start()
    start_response('200 OK', [])
    return [b'started a thread that never ends']
)PY");
            removeTempFiles();
            runtime().shutdown(kShortTimeout);
            ::_exit(kReturned);
        },
        ::testing::ExitedWithCode(0), "WG0304");
}

TEST(RuntimeShutdownDeathTest, SubInterpreterWithADaemonThreadIsLeftAlone) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            ::setenv("WSGID_TEST_VERBOSE", "1", 1);
            runInGroup("daemon-thread", R"PY(
import threading, time
def spin():
    while True:
        time.sleep(0.01)
def application(environ, start_response):
    threading.Thread(target=spin, daemon=True).start()
    start_response('200 OK', [])
    return [b'started a daemon thread']
)PY");
            removeTempFiles();
            runtime().shutdown(kLongTimeout);
            ::_exit(kReturned);
        },
        ::testing::ExitedWithCode(kReturned), "WG0305");
}

TEST(RuntimeShutdownDeathTest, ShutdownSubscribersHearWhy) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            ::setenv("WSGID_TEST_VERBOSE", "1", 1);
            runInGroup("subscribed", R"PY(
import mod_wsgi, sys
@mod_wsgi.subscribe_shutdown
def stopping(name, **event):
    sys.stderr.write('subscriber heard %s %s\n' % (name, event['shutdown_reason']))
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'subscribed']
)PY");
            removeTempFiles();
            runtime().shutdown(kLongTimeout, "maximum_requests");
            ::_exit(kReturned);
        },
        ::testing::ExitedWithCode(kReturned), "subscriber heard process_stopping maximum_requests");
}

}  // namespace
}  // namespace wsgid::testing
