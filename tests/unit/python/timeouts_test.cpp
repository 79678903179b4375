// SPDX-License-Identifier: Apache-2.0
// Tests of what the daemon's timeouts read from Python: a thread's stack without the GIL
// (stack_dump.h, through Runtime::stackOf), the GIL heartbeat (gil_watch.h) and the script loads
// in progress (load_tracker.h).
#include "python/python.h"

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "python/gil_watch.h"
#include "python/load_tracker.h"
#include "python/runtime.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

std::string bodyOf(const std::string& path, const std::string& query) {
    FakeRequestIo io;
    python::WsgiRequest request;
    request.scriptFilename = path;
    request.applicationGroup = "timeouts-stack";  // a sub-interpreter, as most apps run
    request.environ = basicEnviron();
    request.environ.emplace_back("QUERY_STRING", query);
    request.requestId = "req-timeouts";
    const auto outcome = runtime().handle(mainWorker(), request, io);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    return io.sent();
}

TEST(StackOf, ShowsTheFramesOfAnotherThreadWithoutTheGil) {
    const std::string path = writeScript(R"PY(
import threading
ev = threading.Event()
parked_thread = None
def parked_here():
    ev.wait(30)
def application(environ, start_response):
    global parked_thread
    if environ.get('QUERY_STRING') == 'release':
        ev.set()
        parked_thread.join()
        body = b'released'
    else:
        parked_thread = threading.Thread(target=parked_here, daemon=True)
        parked_thread.start()
        body = str(parked_thread.ident).encode()
    start_response('200 OK', [])
    return [body]
)PY");
    const unsigned long ident = std::stoul(bodyOf(path, "park"));
    std::vector<std::string> stack;
    for (int i = 0; i < 200; ++i) {  // until the thread sits in its wait
        stack = runtime().stackOf(ident);
        bool parked = false;
        for (const auto& line : stack) {
            parked = parked || line.find("in parked_here") != std::string::npos;
        }
        if (parked) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(stack.empty());
    bool sawParked = false;
    for (const auto& line : stack) {
        EXPECT_EQ(line.rfind("  File \"", 0), 0U) << line;
        sawParked = sawParked || line.find("in parked_here") != std::string::npos;
    }
    EXPECT_TRUE(sawParked);
    EXPECT_EQ(bodyOf(path, "release"), "released");
    EXPECT_TRUE(runtime().stackOf(ident).empty());  // the thread is gone
}

TEST(GilWatch, BeatsWhileTheGilIsFree) {
    python::GilWatch watch;
    EXPECT_FALSE(watch.lastBeat().has_value());
    ASSERT_TRUE(watch.start());
    const auto started = python::GilWatch::Clock::now();
    std::optional<python::GilWatch::Clock::time_point> beat;
    for (int i = 0; i < 300; ++i) {
        beat = watch.lastBeat();
        if (beat && *beat >= started) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(beat.has_value());
    EXPECT_GE(*beat, started);
    watch.stop();
    EXPECT_FALSE(watch.lastBeat().has_value());
}

TEST(LoadTracker, CountsLoadsInProgress) {
    EXPECT_FALSE(python::LoadTracker::oldestInProgress().has_value());
    const auto before = python::LoadTracker::Clock::now();
    {
        const python::LoadTracker::Scope first;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        const python::LoadTracker::Scope second;
        const auto oldest = python::LoadTracker::oldestInProgress();
        ASSERT_TRUE(oldest.has_value());
        EXPECT_GE(*oldest, before);
        EXPECT_LT(*oldest, python::LoadTracker::Clock::now() - std::chrono::milliseconds(1));
    }
    EXPECT_FALSE(python::LoadTracker::oldestInProgress().has_value());
}

}  // namespace
}  // namespace wsgid::testing
