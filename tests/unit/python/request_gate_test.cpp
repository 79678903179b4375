// SPDX-License-Identifier: Apache-2.0
// The end-of-request fence (RequestGate) through Runtime::handle: an app thread inside write() or
// wsgi.input when its request ends is waited for or interrupted, never outlives the call, and
// every later use fails with OSError.
#include "python/python.h"

#include "python/request_gate.h"

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;
using std::chrono::steady_clock;

// The app of every test: the first request starts a background thread that runs `use` twice
// (Python statements using `write` and `inp`), recording 'ok <value>' or the OSError, after
// waiting (bounded) until that thread is held inside the RequestIo; it then returns at once.
// A request with FENCE_MODE=report joins the thread and answers with what it recorded.
std::string fenceApp(const std::string& use) {
    return R"PY(
import os, select, threading
state = {}
def application(environ, start_response):
    if environ.get('FENCE_MODE') == 'report':
        state['thread'].join(10)
        start_response('200 OK', [])
        return [' | '.join(state['results']).encode()]
    inp = environ['wsgi.input']
    write = start_response('200 OK', [])
    write(b'first')
    results = []
    def background():
        for n in range(2):
            try:
)PY" + use +
           R"PY(
                results.append('ok %r' % (value,))
            except OSError as e:
                results.append(str(e))
    thread = threading.Thread(target=background)
    state.update(thread=thread, results=results)
    thread.start()
    fd = int(environ['FENCE_NOTIFY_FD'])
    if select.select([fd], [], [], 10)[0]:
        os.read(fd, 1)
    return []
)PY";
}

TEST(RequestGate, PassesEndAndEnterAfterCloseIsRefused) {
    // No pass is held at close(), so it neither waits nor needs the GIL.
    FakeRequestIo io;
    python::RequestGate gate(io);
    {
        const python::RequestGate::Pass first = gate.enter();
        const python::RequestGate::Pass second = gate.enter();
        EXPECT_TRUE(first);
        EXPECT_TRUE(second);
        EXPECT_EQ(&first.io(), &io);
    }
    EXPECT_EQ(gate.close(std::chrono::milliseconds(0), testLog(), "script", "req"),
              python::RequestGate::Closed::Idle);
    EXPECT_FALSE(gate.enter());
}

constexpr const char* kWriteLate = "                value = write(b'late')\n";
constexpr const char* kRead4 = "                value = inp.read(4)\n";

class Fence : public ::testing::Test {
protected:
    void SetUp() override {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        readEnd_ = common::UniqueFd(fds[0]);
        writeEnd_ = common::UniqueFd(fds[1]);
        testLog().clear();
    }

    // Runs the first request against `io` (notifying through the pipe), then the report request.
    python::CallOutcome run(const std::string& use, HoldingRequestIo& io) {
        script_ = writeScript(fenceApp(use));
        io.notifyFd = writeEnd_.get();
        python::WsgiRequest request;
        request.scriptFilename = script_;
        request.environ = basicEnviron();
        request.environ.emplace_back("FENCE_NOTIFY_FD", std::to_string(readEnd_.get()));
        request.requestId = "req-fence";
        return runtime().handle(mainWorker(), request, io);
    }

    std::string report() {
        FakeRequestIo io;
        python::WsgiRequest request;
        request.scriptFilename = script_;
        request.environ = basicEnviron();
        request.environ.emplace_back("FENCE_MODE", "report");
        request.requestId = "req-report";
        const auto outcome = runtime().handle(mainWorker(), request, io);
        EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
        return io.sent();
    }

    common::UniqueFd readEnd_;
    common::UniqueFd writeEnd_;
    std::string script_;
};

TEST_F(Fence, EndOfRequestWaitsForAWriteInFlight) {
    HoldingRequestIo io;
    io.holdWriteFrom = 1;  // b'first' goes through; the thread's write is held
    std::thread releaser([&] {
        if (io.waitHeld(1)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            io.release();
        }
    });
    const auto outcome = run(kWriteLate, io);
    const int insideAtReturn = io.inside();
    releaser.join();
    // The call returned only after the write in flight finished, inside this response.
    EXPECT_EQ(insideAtReturn, 0);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_FALSE(io.wasInterrupted());
    EXPECT_EQ(io.sent(), "firstlate");
    EXPECT_EQ(report(), "ok None | write() called after its request ended");
    EXPECT_FALSE(testLog().contains("WG0337"));
}

TEST_F(Fence, StuckWriteIsInterruptedAfterTheGraceAndFails) {
    HoldingRequestIo io;
    io.holdWriteFrom = 1;  // never released
    const auto started = steady_clock::now();
    const auto outcome = run(kWriteLate, io);
    const auto took = steady_clock::now() - started;
    EXPECT_EQ(outcome.kind, Kind::ClientGone) << outcome.message;
    EXPECT_TRUE(io.wasInterrupted());
    EXPECT_EQ(io.inside(), 0);
    EXPECT_EQ(io.sent(), "first");
    EXPECT_GE(took, std::chrono::milliseconds(300));  // the test runtime's grace
    EXPECT_LT(took, std::chrono::seconds(5));
    EXPECT_EQ(report(),
              "the request ended while write() was sending; its connection was closed | "
              "write() called after its request ended");
    EXPECT_TRUE(testLog().contains("WG0337", "req-fence"));
}

TEST_F(Fence, EndOfRequestWaitsForAReadInFlight) {
    HoldingRequestIo io;
    io.body = "abcdefgh";
    io.maxReadChunk = 4;  // the second read needs the connection again
    io.holdReads = true;
    std::thread releaser([&] {
        if (io.waitHeld(1)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            io.release();
        }
    });
    const auto outcome = run(kRead4, io);
    const int insideAtReturn = io.inside();
    releaser.join();
    EXPECT_EQ(insideAtReturn, 0);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.bodyRead(), 4u);  // the next bytes were never taken from the connection
    EXPECT_EQ(report(), "ok b'abcd' | wsgi.input used after its request ended");
}

TEST_F(Fence, StuckReadIsInterruptedAfterTheGraceAndFails) {
    HoldingRequestIo io;
    io.body = "abcdefgh";
    io.holdReads = true;  // never released
    const auto outcome = run(kRead4, io);
    EXPECT_EQ(outcome.kind, Kind::ClientGone) << outcome.message;
    EXPECT_TRUE(io.wasInterrupted());
    EXPECT_EQ(io.inside(), 0);
    EXPECT_EQ(io.bodyRead(), 0u);
    EXPECT_EQ(report(),
              "the request ended while wsgi.input was being read; its connection was closed | "
              "wsgi.input used after its request ended");
    EXPECT_TRUE(testLog().contains("WG0337", "req-fence"));
}

TEST_F(Fence, BlockYieldedWhileAThreadWritesIsRejectedAndTheWriteIsWaitedFor) {
    // The main app thread yields while another thread's write() is in flight: the block is
    // refused (one writer at a time), and the end of the call still waits for that write.
    HoldingRequestIo io;
    io.holdWriteFrom = 1;
    io.notifyFd = writeEnd_.get();
    std::thread releaser([&] {
        if (io.waitHeld(1)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            io.release();
        }
    });
    script_ = writeScript(R"PY(
import os, select, threading
def application(environ, start_response):
    write = start_response('200 OK', [])
    write(b'first')
    threading.Thread(target=write, args=(b'late',)).start()
    fd = int(environ['FENCE_NOTIFY_FD'])
    if select.select([fd], [], [], 10)[0]:
        os.read(fd, 1)
    yield b'main'
)PY");
    python::WsgiRequest request;
    request.scriptFilename = script_;
    request.environ = basicEnviron();
    request.environ.emplace_back("FENCE_NOTIFY_FD", std::to_string(readEnd_.get()));
    request.requestId = "req-two-writers";
    const auto outcome = runtime().handle(mainWorker(), request, io);
    const int insideAtReturn = io.inside();
    releaser.join();
    EXPECT_EQ(insideAtReturn, 0);
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse) << outcome.message;
    EXPECT_EQ(outcome.message, "the response body was written by two threads at once");
    EXPECT_EQ(io.sent(), "firstlate");
}

}  // namespace
}  // namespace wsgid::testing
